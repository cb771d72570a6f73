/* Boolean circuits in Bristol Fashion.
 *
 * A ward_circuit is the in-memory form of a Bristol Fashion circuit: one
 * flat array of 16-byte gates in topological order, plus the input and
 * output widths. MAND lines are expanded into single AND gates, so a garbler
 * or evaluator streams over `gates` with one switch and no indirection.
 *
 * Wires: input value j occupies the next input_widths[j] wires after the
 * inputs before it, starting at wire 0; the outputs are the last
 * output_bits wires, in order. Wire i of a value is bit i of it, least
 * significant bit first. Every wire is assigned once (an input, or the
 * output of exactly one gate) before any gate reads it.
 *
 * Circuits are public: everything here branches on the circuit and on the
 * values it is evaluated on, hence the `_var` suffixes. Nothing here does
 * I/O; callers read files and hand over the bytes.
 */
#ifndef WARD_CIRCUIT_H
#define WARD_CIRCUIT_H

#include <stddef.h>
#include <stdint.h>

/* Upper bounds on the wire count, the gate-line count and the number of
 * gates after MAND expansion; larger circuits are refused with
 * WARD_ETOOBIG. */
#define WARD_CIRCUIT_MAX_WIRES (1u << 28)
#define WARD_CIRCUIT_MAX_GATES (1u << 28)

typedef enum {
    WARD_GATE_XOR = 0, /* out = in0 ^ in1 */
    WARD_GATE_AND = 1, /* out = in0 & in1 */
    WARD_GATE_INV = 2, /* out = !in0 */
    WARD_GATE_EQ = 3,  /* out = constant in0 (0 or 1); in0 is not a wire */
    WARD_GATE_EQW = 4  /* out = in0 (a copy) */
} ward_gate_op;

/* One gate. in1 is 0 for the one-input kinds. */
typedef struct {
    uint32_t op; /* a ward_gate_op */
    uint32_t in0;
    uint32_t in1;
    uint32_t out;
} ward_gate;

typedef struct {
    ward_gate *gates;        /* ngates gates, topological order */
    uint32_t ngates;         /* after MAND expansion */
    uint32_t nwires;
    uint32_t ninputs;        /* number of input values */
    uint32_t noutputs;       /* number of output values */
    uint32_t *input_widths;  /* ninputs entries, each >= 1 */
    uint32_t *output_widths; /* noutputs entries, each >= 1 */
    uint32_t input_bits;     /* sum of input_widths */
    uint32_t output_bits;    /* sum of output_widths */
    /* Gate counts by kind; they sum to ngates. */
    uint32_t and_count;
    uint32_t xor_count;
    uint32_t inv_count;
    uint32_t eq_count;
    uint32_t eqw_count;
} ward_circuit;

/* Where and why a parse failed. line is 1-based (0 when the failure is not
 * tied to a line, e.g. out of memory); msg is a short phrase without the
 * file name or line, NUL-terminated. */
typedef struct {
    size_t line;
    char msg[120];
} ward_circuit_error;

/* Parses Bristol Fashion text text[0..len) (no NUL needed) into *c, which
 * the caller frees with ward_circuit_free() on success. On failure *c is
 * left empty (freeing it is harmless) and, if err is not NULL, *err says
 * where and why.
 *
 * Accepted: tokens separated by spaces, tabs or CR; blank lines anywhere;
 * gate lines `nin nout in... out... OP` with OP one of XOR and AND (2 in,
 * 1 out), INV and EQW (1 in, 1 out), EQ (1 in, 1 out; the "input" is the
 * literal 0 or 1) and MAND (2k in, k out: out[i] = in[i] AND in[k+i]).
 * The header's gate count counts lines, so a MAND line is one gate there.
 *
 * Returns 0; WARD_EPARSE for malformed text (bad or missing numbers, counts
 * that disagree with the lines, wires out of range, a wire read before it
 * is assigned or assigned twice, unknown operations, text after the last
 * gate, an output wire never assigned); WARD_ETOOBIG when the file asks for
 * more than WARD_CIRCUIT_MAX_WIRES wires or WARD_CIRCUIT_MAX_GATES gates;
 * WARD_ENOMEM; WARD_EINVAL for NULL c or text. */
int ward_circuit_parse_var(ward_circuit *c, ward_circuit_error *err,
                           const char *text, size_t len);

/* Frees what *c holds and leaves it empty. c may be NULL. */
void ward_circuit_free(ward_circuit *c);

/* The first wire of output value j is nwires - output_bits + (sum of the
 * widths before j); of input value j, the sum of the widths before j. */

/* Evaluates c in the clear. in_bits holds c->input_bits bytes, each 0 or 1:
 * the bits of input 0 (least significant first), then input 1, and so on;
 * out_bits receives c->output_bits bytes in the same layout. Allocates a
 * scratch array of c->nwires bytes.
 * Returns 0, WARD_ENOMEM, or WARD_EINVAL (NULL pointers, in_len !=
 * input_bits, out_len != output_bits, an input byte other than 0 or 1). */
int ward_circuit_eval_var(const ward_circuit *c, uint8_t *out_bits,
                          size_t out_len, const uint8_t *in_bits,
                          size_t in_len);

/* As ward_circuit_eval_var, with values packed into bytes: each value
 * takes (width + 7) / 8 bytes, little-endian (bit i of the value is bit
 * i % 8 of byte i / 8), and the values follow one another. Unused high bits
 * of an input's last byte must be zero (WARD_EINVAL otherwise); those of an
 * output's last byte are written as zero. in_len and out_len must equal
 * ward_circuit_packed_len() of the inputs and outputs. */
int ward_circuit_eval_bytes_var(const ward_circuit *c, uint8_t *out,
                                size_t out_len, const uint8_t *in,
                                size_t in_len);

/* The byte count of `n` values of the given widths packed as above. */
size_t ward_circuit_packed_len(const uint32_t *widths, size_t n);

/* Parses a big-endian hexadecimal integer (optional "0x" or "0X" prefix,
 * upper or lower case digits, any number of leading zeros) into the width
 * bits of a circuit value, least significant first, one byte (0 or 1) per
 * bit. Returns 0; WARD_EPARSE for empty text or a non-hex character;
 * WARD_EOVERFLOW when the value needs more than width bits; WARD_EINVAL
 * for NULL pointers. */
int ward_circuit_hex_to_bits_var(uint8_t *bits, size_t width,
                                 const char *hex, size_t hex_len);

/* Writes the width bits (least significant first, each 0 or 1) as
 * lowercase hex, zero-padded to (width + 3) / 4 digits, plus a NUL.
 * Returns 0, or WARD_EINVAL when out_cap < (width + 3) / 4 + 1 or a bit is
 * not 0 or 1. */
int ward_circuit_bits_to_hex_var(char *out, size_t out_cap,
                                 const uint8_t *bits, size_t width);

/* Writes c as Bristol Fashion text (no MAND lines: one line a gate, so the
 * header's gate count is c->ngates). With out == NULL only *out_len is set,
 * to the text's length; otherwise out receives the text (not
 * NUL-terminated) and *out_len its length. ward_circuit_parse_var() of the
 * text gives back c. Returns 0, WARD_ETOOBIG when out_cap is too small, or
 * WARD_EINVAL. */
int ward_circuit_write_var(const ward_circuit *c, char *out, size_t out_cap,
                           size_t *out_len);

#endif
