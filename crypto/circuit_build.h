/* Building Boolean circuits in code.
 *
 * A ward_circuit_builder collects gates over its own wire handles and
 * ward_cb_finish() turns them into a ward_circuit (crypto/circuit.h) in
 * Bristol Fashion layout: inputs first, outputs last, gates in topological
 * order, dead gates removed.
 *
 * Handles are uint32_t. Two handles are constants: WARD_CB_ZERO and
 * WARD_CB_ONE. Gates on constants are folded away (x ^ 0 = x, x ^ 1 = NOT x,
 * x & 0 = 0, x & 1 = x, x ^ x = 0, x & x = x), so a public constant costs
 * no gates, and AND gates (the ones that cost in a garbled circuit) appear
 * only where both inputs are unknown. A constant only becomes a gate (EQ)
 * when it is an output.
 *
 * Values are arrays of handles, least significant bit first, as in Bristol
 * Fashion. The gadgets below say how many AND gates they emit when every
 * input bit is a distinct unknown wire; constants only lower the count.
 *
 * Usage:
 *     ward_circuit_builder b;
 *     ward_cb_init(&b);
 *     uint32_t x[8], y[8], s[8];
 *     ward_cb_input(&b, x, 8);
 *     ward_cb_input(&b, y, 8);
 *     ward_cb_add(&b, s, x, y, 8);
 *     uint32_t w = 8;
 *     ward_cb_finish(&b, &circuit, s, &w, 1);
 *     ward_cb_free(&b);
 *
 * Errors are sticky: after a failure every later call returns the same
 * code, so a caller may check only ward_cb_finish(). Building is not
 * data-dependent (it depends only on the circuit's shape), but the result
 * is a public circuit like any other.
 */
#ifndef WARD_CIRCUIT_BUILD_H
#define WARD_CIRCUIT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define WARD_CB_ZERO ((uint32_t)0xFFFFFFFEu)
#define WARD_CB_ONE ((uint32_t)0xFFFFFFFFu)

/* Limits on what one builder makes; larger requests get WARD_ETOOBIG. */
#define WARD_CB_MAX_WIRES (1u << 26)

typedef struct {
    ward_gate *gates;      /* over builder handles */
    size_t ngates, gates_cap;
    uint32_t nwires;       /* handles 0 .. nwires-1 are in use */
    uint32_t *inputs;      /* per input value: first handle, width */
    size_t ninputs, inputs_cap;
    int err;               /* first failure, sticky */
} ward_circuit_builder;

/* Starts an empty builder. Returns 0 or WARD_EINVAL. */
int ward_cb_init(ward_circuit_builder *b);

/* Frees the builder's memory. b may be NULL. */
void ward_cb_free(ward_circuit_builder *b);

/* Declares the next input value of `width` bits (1 .. WARD_CB_MAX_WIRES)
 * and stores its handles in wires[0..width). Inputs are numbered in the
 * order they are declared, and may be declared at any time. */
int ward_cb_input(ward_circuit_builder *b, uint32_t *wires, size_t width);

/* Fills wires[0..width) with the constant handles of `value` (bits beyond
 * 64 are zero). Cannot fail. */
void ward_cb_const(uint32_t *wires, size_t width, uint64_t value);

/* Single gates: *out = x ^ y, x & y, NOT x. */
int ward_cb_xor(ward_circuit_builder *b, uint32_t *out, uint32_t x, uint32_t y);
int ward_cb_and(ward_circuit_builder *b, uint32_t *out, uint32_t x, uint32_t y);
int ward_cb_not(ward_circuit_builder *b, uint32_t *out, uint32_t x);

/* *out = s ? y : x (bit select). 1 AND. */
int ward_cb_mux(ward_circuit_builder *b, uint32_t *out, uint32_t s, uint32_t x,
                uint32_t y);

/* The n-bit functions below take x and y of n bits each (1 <= n); outputs
 * may not overlap inputs. */

/* sum = x + y mod 2^n. Ripple carry, n - 1 AND. */
int ward_cb_add(ward_circuit_builder *b, uint32_t *sum, const uint32_t *x,
                const uint32_t *y, size_t n);

/* diff = x - y mod 2^n. n - 1 AND. */
int ward_cb_sub(ward_circuit_builder *b, uint32_t *diff, const uint32_t *x,
                const uint32_t *y, size_t n);

/* *lt = (x < y), unsigned. n AND. */
int ward_cb_lt(ward_circuit_builder *b, uint32_t *lt, const uint32_t *x,
               const uint32_t *y, size_t n);

/* *gt = (x > y), unsigned. n AND. */
int ward_cb_gt(ward_circuit_builder *b, uint32_t *gt, const uint32_t *x,
               const uint32_t *y, size_t n);

/* *ge = (x >= y), unsigned. n AND. */
int ward_cb_ge(ward_circuit_builder *b, uint32_t *ge, const uint32_t *x,
               const uint32_t *y, size_t n);

/* *eq = (x == y). n - 1 AND. */
int ward_cb_eq(ward_circuit_builder *b, uint32_t *eq, const uint32_t *x,
               const uint32_t *y, size_t n);

/* out[i] = s ? y[i] : x[i]. n AND. */
int ward_cb_mux_n(ward_circuit_builder *b, uint32_t *out, uint32_t s,
                  const uint32_t *x, const uint32_t *y, size_t n);

/* The index width of argmax over k values: the bits of k - 1, at least 1. */
size_t ward_cb_index_bits(size_t k);

/* Maximum over k >= 1 unsigned values of n bits, vals[j*n .. j*n+n) being
 * value j. max (NULL or n handles) receives the maximum; idx (NULL or
 * w = ward_cb_index_bits(k) handles) the index of its first occurrence.
 * With I = sum over b < w of max(0, k - 1 - 2^b), the AND gates that an
 * output needs number 2n(k-1) for max alone, n(2k-3) + I for idx alone
 * (k >= 2) and 2n(k-1) + I for both (ward_cb_finish drops the rest). */
int ward_cb_max(ward_circuit_builder *b, uint32_t *max, uint32_t *idx,
                const uint32_t *vals, size_t k, size_t n);

/* The width of the sum of k values of n bits: the bits of k * (2^n - 1). */
size_t ward_cb_sum_bits(size_t k, size_t n);

/* sum (ward_cb_sum_bits(k, n) handles) = the sum of k >= 1 values of n
 * bits, without overflow. Sum over j = 1 .. k-1 of (bits of
 * (j+1)(2^n - 1)) - 1 AND. */
int ward_cb_sum(ward_circuit_builder *b, uint32_t *sum, const uint32_t *vals,
                size_t k, size_t n);

/* *out = (sum of the k values of n bits >= T), T given as t_width handles
 * (an input, or constants from ward_cb_const for a public T). With W the
 * sum width: the sum's AND count plus max(W, t_width) AND for an unknown
 * T; for a public T with 0 < T < 2^W, the sum's count plus W - z - 1
 * where z counts T's trailing zero bits; for T = 0 or T >= 2^W the result
 * is a constant and needs no gate at all. */
int ward_cb_threshold(ward_circuit_builder *b, uint32_t *out, const uint32_t *vals,
                      size_t k, size_t n, const uint32_t *t, size_t t_width);

/* Makes the circuit: output value j is out_widths[j] handles, taken in
 * order from `outs` (sum of out_widths handles; constants and repeats are
 * allowed). Gates that no output depends on are dropped; outputs that are
 * not a fresh gate result (an input, a constant, a repeat) get an EQW or
 * EQ gate. At least one input must have been declared. *c is the caller's
 * to free with ward_circuit_free(). The builder can be finished again or
 * extended afterwards. Returns 0, WARD_ENOMEM, WARD_ETOOBIG, WARD_EINVAL,
 * or the builder's earlier error. */
int ward_cb_finish(ward_circuit_builder *b, ward_circuit *c, const uint32_t *outs,
                   const uint32_t *out_widths, size_t nout);

/* Whole circuits with the functions above, inputs in the order named.
 * n, k >= 1; n * k and the results stay within WARD_CB_MAX_WIRES. */

/* inputs x, y (n bits); output x + y mod 2^n (n bits). n - 1 AND. */
int ward_circuit_build_add(ward_circuit *c, size_t n);
/* inputs x, y; output x - y mod 2^n. n - 1 AND. */
int ward_circuit_build_sub(ward_circuit *c, size_t n);
/* inputs x, y; output 1 bit x < y. n AND. */
int ward_circuit_build_lt(ward_circuit *c, size_t n);
/* inputs x, y; output 1 bit x > y. n AND. */
int ward_circuit_build_gt(ward_circuit *c, size_t n);
/* inputs x, y; output 1 bit x == y. n - 1 AND. */
int ward_circuit_build_eq(ward_circuit *c, size_t n);
/* inputs v_0 .. v_{k-1} (n bits); output the maximum (n bits). */
int ward_circuit_build_max(ward_circuit *c, size_t k, size_t n);
/* inputs v_0 .. v_{k-1}; output the index of the first maximum
 * (ward_cb_index_bits(k) bits). */
int ward_circuit_build_argmax(ward_circuit *c, size_t k, size_t n);
/* inputs v_0 .. v_{k-1}; output 1 bit: sum >= t (t public). */
int ward_circuit_build_threshold(ward_circuit *c, size_t k, size_t n, uint64_t t);
/* inputs v_0 .. v_{k-1}, then T (t_width bits); output 1 bit: sum >= T. */
int ward_circuit_build_threshold_input(ward_circuit *c, size_t k, size_t n,
                                       size_t t_width);

/* Decisions on values that two parties hold as additive shares mod 2^n
 * (the many-department decisions of docs/garbled-circuits.md). Input 0 is
 * x_0 .. x_{k-1} and input 1 is y_0 .. y_{k-1}, each one input value of
 * k * n bits (value j in bits j*n .. j*n + n - 1); v_j = x_j + y_j mod 2^n
 * is read as a signed (two's complement) n-bit integer. The sign bit of
 * each v_j is flipped (free) so that unsigned comparisons order them as
 * signed values. 1 <= n <= 64, k >= 1, k * n within WARD_CB_MAX_WIRES / 4.
 * AND gates: k(n - 1) for the k additions, then the function's own (the
 * table above, with the same n and k). */

/* output: max_j v_j (n bits, two's complement). */
int ward_circuit_build_shared_max(ward_circuit *c, size_t k, size_t n);
/* output: the lowest j with v_j = max_j v_j (ward_cb_index_bits(k) bits):
 * ties go to the lowest index. */
int ward_circuit_build_shared_argmax(ward_circuit *c, size_t k, size_t n);
/* output 1 bit: (sum over j of v_j) > t, the sum computed exactly (it
 * cannot wrap: it is ward_cb_sum_bits(k, n) bits wide). When no sum of k
 * values can exceed t, or every sum does, the output is a constant. */
int ward_circuit_build_shared_threshold(ward_circuit *c, size_t k, size_t n, int64_t t);

#endif
