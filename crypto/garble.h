/* Half-gates garbling and evaluation of a Bristol Fashion circuit.
 *
 * Scheme: half-gates (Zahur, Rosulek and Evans, "Two halves make a whole",
 * EUROCRYPT 2015) with free-XOR and point-and-permute. The garbler draws a
 * global offset Delta with lsb(Delta) = 1; wire w has the 0-label L_w and
 * the 1-label L_w ^ Delta, and the permute bit of w is lsb(L_w). An AND
 * gate costs two ciphertexts (32 bytes), four hash calls to garble and two
 * to evaluate; XOR, INV and EQW cost nothing. The hash is the tweakable
 * circular-correlation-robust H of crypto/gc_hash.h under a public key the
 * garbler draws per session and sends to the evaluator.
 *
 * AND gate number g (its index in c->gates, not its rank among ANDs), with
 * inputs a, b and output c, garbler side (A = L_a, B = L_b, pa = lsb(A),
 * pb = lsb(B), j0 = 2g, j1 = 2g + 1 as tweaks):
 *
 *     T_G = H(A, j0) ^ H(A ^ Delta, j0) ^ pb * Delta
 *     T_E = H(B, j1) ^ H(B ^ Delta, j1) ^ A
 *     L_c = H(A, j0) ^ pa * T_G  ^  H(B, j1) ^ pb * (T_E ^ A)
 *
 * and the table is T_G || T_E (16 + 16 bytes). The evaluator, holding
 * W_a, W_b with sa = lsb(W_a), sb = lsb(W_b), computes
 *
 *     W_c = H(W_a, j0) ^ sa * T_G  ^  H(W_b, j1) ^ sb * (T_E ^ W_a).
 *
 * Tweaks are unique per AND gate and per half within a session; the hash
 * key is fresh per session, so they never repeat under one key.
 *
 * Other gates:
 *   XOR  L_c = L_a ^ L_b on both sides.
 *   INV  garbler L_c = L_a ^ Delta; the evaluator copies its label (it now
 *        stands for the other truth value).
 *   EQW  copy on both sides.
 *   EQ   constant wires use a public label: the evaluator's label is the
 *        all-zero block and the garbler sets L_c = v * Delta for the
 *        constant v, so the zero block is the label of v. Nothing is
 *        sent; the value is public anyway (it is in the circuit).
 *
 * Output decoding: the garbler publishes d_i = lsb(L_w) for each output
 * wire w; the evaluator's bit is lsb(W_w) ^ d_i. The evaluator may instead
 * send lsb(W_w) to the garbler, who decodes the same way.
 *
 * Streaming. Tables come out in the order of the AND gates in c->gates,
 * 32 bytes each, one concatenated stream whose chunking is free: the
 * garbler fills whatever buffer it is given with whole tables
 * (ward_garbler_next), the evaluator accepts any number of bytes at a time
 * (ward_evaluator_feed) and keeps an incomplete table until the rest
 * arrives. Only the label array (16 bytes per wire) and one byte per wire
 * of bookkeeping grow with the circuit; no table is held longer than one
 * call. Internally consecutive AND gates that do not depend on each other
 * are hashed in batches (several gates' AES calls in flight at once); the
 * order of the stream does not depend on it. ward_gc_reorder_var() puts
 * independent AND gates next to each other, which is what makes batches
 * long; both parties must apply it (or not) alike.
 *
 * Inputs. All input wires get labels before garbling starts:
 *   - ward_garbler_init draws random 0-labels for every input wire;
 *     ward_garbler_set_input_labels may replace some (for instance with the
 *     sender's rows of a correlated OT whose correlation is this Delta, see
 *     ward_garbler_init_delta and crypto/ot_ext.h).
 *   - The garbler's own inputs: ward_garbler_encode gives the labels for
 *     the garbler's bits, to send as they are.
 *   - The evaluator's inputs: by oblivious transfer of (L_w, L_w ^ Delta);
 *     ward_garbler_input_labels exports the 0-labels, ward_garbler_delta
 *     Delta.
 *   - The evaluator sets every input label (ward_evaluator_set_input_labels)
 *     before its first ward_evaluator_feed.
 *
 * Security (semi-honest): the evaluator learns the output and nothing else
 * about the garbler's inputs as long as it never learns Delta or both
 * labels of a wire; nothing here protects against a garbler that garbles a
 * different circuit, or against an evaluator that lies about the output.
 *
 * The circuit is public; code that branches on it is fine. No branch or
 * index depends on Delta, a label or an input bit. The caller keeps the
 * circuit alive and unchanged until the garbler or evaluator is freed.
 * Secrets (Delta, labels) are wiped by ward_garbler_free /
 * ward_evaluator_free and when an object fails closed.
 */
#ifndef WARD_GARBLE_H
#define WARD_GARBLE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "gc_hash.h"
#include "rng.h"

#define WARD_GC_TABLE_BYTES 32 /* per AND gate */
#define WARD_GC_KEY_BYTES 16   /* the public hash key */

typedef struct {
    const ward_circuit *c;
    ward_block *labels;    /* nwires 0-labels, 64-byte aligned */
    uint8_t *pending;      /* per wire: an AND output not yet computed */
    ward_tccrh hash;
    ward_block delta;
    uint8_t hash_key[WARD_GC_KEY_BYTES];
    uint32_t pos;          /* next gate to process */
    uint32_t ands_left;    /* AND gates not yet garbled */
    int state;
} ward_garbler;

typedef struct {
    const ward_circuit *c;
    ward_block *labels;    /* nwires active labels, 64-byte aligned */
    uint8_t *pending;
    uint8_t *input_set;    /* per input wire, until garbling starts */
    ward_tccrh hash;
    uint32_t pos;
    uint32_t ands_left;
    uint32_t inputs_missing;
    uint32_t stash_len;    /* bytes of an incomplete table */
    _Alignas(16) uint8_t stash[WARD_GC_TABLE_BYTES];
    int state;
} ward_evaluator;

/* Total table bytes for c: 32 * c->and_count. */
uint64_t ward_gc_table_bytes(const ward_circuit *c);

/* Reorders c->gates into another topological order of the same circuit
 * that garbles faster: within windows of WARD_GC_WINDOW consecutive gates,
 * gates are sorted (stably) by AND depth counted from the window's start,
 * each depth's AND gates before the free gates that use them. Gates at
 * one depth are independent, so their hashes run through AES together
 * instead of one gate's latency at a time. Wire numbers, inputs and
 * outputs, and the function computed are unchanged; only the order (and
 * so the AND gate indices used as tweaks, and the order of tables in the
 * stream) changes. The result depends only on the circuit, so both parties
 * get the same order by calling this on the same circuit; they must agree
 * on whether it is called. Uses O(nwires + WARD_GC_WINDOW) scratch.
 * Returns 0, WARD_EINVAL (NULL, or a circuit ward_garbler_init would
 * refuse), or WARD_ENOMEM (c unchanged). Public data only, hence _var. */
#define WARD_GC_WINDOW 4096
int ward_gc_reorder_var(ward_circuit *c);

/* Prepares to garble c: checks the circuit (wires in range, each assigned
 * once before it is read, outputs assigned: the rules of
 * ward_circuit_parse_var; also in1 of an INV or EQW gate must name an
 * assigned wire, as the parser's and the builder's 0 does), draws Delta,
 * the hash key and a random 0-label for every input wire from rng.
 * Returns 0, WARD_EINVAL (NULL, or a circuit that breaks those rules),
 * WARD_ENOMEM or WARD_EUNSUPPORTED (no AES-NI). On failure *g is left
 * closed and holds nothing. */
int ward_garbler_init(ward_garbler *g, const ward_circuit *c, ward_rng *rng);

/* As ward_garbler_init with the caller's Delta (lsb must be 1, else
 * WARD_EINVAL), e.g. the correlation of an IKNP sender. */
int ward_garbler_init_delta(ward_garbler *g, const ward_circuit *c, ward_rng *rng,
                            const ward_block *delta);

/* The public hash key, to send to the evaluator before any table. */
int ward_garbler_hash_key(const ward_garbler *g, uint8_t key[WARD_GC_KEY_BYTES]);

/* Delta (secret: only for the garbler's side of OT; wipe it after use). */
int ward_garbler_delta(const ward_garbler *g, ward_block *delta);

/* The 0-labels of input wires first .. first+n-1 (wires as numbered in
 * the circuit: input value j starts after the widths before it). Returns
 * 0, WARD_EINVAL (range outside the input wires, NULL) or WARD_ECLOSED. */
int ward_garbler_input_labels(const ward_garbler *g, ward_block *labels0,
                              uint32_t first, size_t n);

/* Replaces the 0-labels of input wires first .. first+n-1. Only before the
 * first ward_garbler_next (WARD_ESTATE after). */
int ward_garbler_set_input_labels(ward_garbler *g, uint32_t first,
                                  const ward_block *labels0, size_t n);

/* labels[i] = the label of input wire first+i for bit bits[i] (0 or 1;
 * anything else is WARD_EINVAL), i.e. L ^ bits[i] * Delta, in constant
 * time. Used for the garbler's own inputs. */
int ward_garbler_encode(const ward_garbler *g, ward_block *labels, uint32_t first,
                        const uint8_t *bits, size_t n);

/* Garbles the next gates and writes their AND tables to out: as many whole
 * tables as fit in cap bytes (cap >= 32 while AND gates remain, else
 * WARD_EINVAL), or fewer at the end. *len receives the bytes written (a
 * multiple of 32; 0 once done). Gates without tables after the last AND
 * are processed in the same call, so ward_garbler_done() is true after
 * the call that writes the last table. Returns 0, WARD_EINVAL, WARD_ESTATE
 * or WARD_ECLOSED. */
int ward_garbler_next(ward_garbler *g, uint8_t *out, size_t cap, size_t *len);

/* 1 once every gate has been garbled, else 0. */
int ward_garbler_done(const ward_garbler *g);

/* The output decoding bits (c->output_bits bytes, each 0 or 1), in output
 * order; only once done (WARD_ESTATE before). n must be c->output_bits. */
int ward_garbler_decode_bits(const ward_garbler *g, uint8_t *d, size_t n);

/* The garbler learns the output from the evaluator's lsb bits (outside
 * input: a byte other than 0 or 1 is WARD_EPARSE): out[i] = lsb[i] ^ d_i.
 * Only once done. */
int ward_garbler_decode(const ward_garbler *g, uint8_t *out, size_t out_len,
                        const uint8_t *lsb, size_t lsb_len);

/* Wipes and frees what *g holds. g may be NULL. */
void ward_garbler_free(ward_garbler *g);

/* Prepares to evaluate c with the garbler's public hash key; checks the
 * circuit as ward_garbler_init does. Returns 0, WARD_EINVAL, WARD_ENOMEM
 * or WARD_EUNSUPPORTED. */
int ward_evaluator_init(ward_evaluator *e, const ward_circuit *c,
                        const uint8_t key[WARD_GC_KEY_BYTES]);

/* Sets the active labels of input wires first .. first+n-1 (from the
 * garbler for its inputs, from OT for the evaluator's). Only before the
 * first ward_evaluator_feed (WARD_ESTATE after). */
int ward_evaluator_set_input_labels(ward_evaluator *e, uint32_t first,
                                    const ward_block *labels, size_t n);

/* Consumes the next len bytes of the table stream (any split; in may be
 * NULL when len is 0) and evaluates every gate it can. Returns 0;
 * WARD_ESTATE when an input label is still missing; WARD_EPARSE when the
 * bytes run past the circuit's last table (the evaluator then fails
 * closed); WARD_ECLOSED after a failure. Call with len = 0 to run a
 * circuit without AND gates. */
int ward_evaluator_feed(ward_evaluator *e, const uint8_t *in, size_t len);

/* 1 once every gate has been evaluated. */
int ward_evaluator_done(const ward_evaluator *e);

/* out[i] = lsb(active label of output wire i) ^ d[i], with the garbler's
 * decoding bits d (outside input: bytes other than 0 or 1 are
 * WARD_EPARSE). d may be NULL for the raw lsb bits, to send to the
 * garbler instead. Only once done (WARD_ESTATE before). */
int ward_evaluator_decode(const ward_evaluator *e, uint8_t *out, size_t out_len,
                          const uint8_t *d, size_t d_len);

/* Wipes and frees what *e holds. e may be NULL. */
void ward_evaluator_free(ward_evaluator *e);

#endif
