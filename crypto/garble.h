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
 * arrives. No table is held longer than one call. ward_gc_reorder_var()
 * puts independent AND gates next to each other, which makes the batches
 * below long; both parties must apply it (or not) alike.
 *
 * Plans. The garbler and the evaluator do not walk c->gates: they run a
 * plan (ward_gc_compile_var), made once per circuit and shared by every
 * session on it. Compiling checks the circuit, groups the gates into
 * steps (up to 16 AND gates none of which uses another's output, then the
 * XOR gates that can run after them; XOR gates move to the earliest step
 * their inputs allow, AND gates keep their order), marks the XOR gates
 * that can run while the next AND gates are hashed, and renumbers the
 * wires into label slots that are reused once a wire has been read for
 * the last time; INV, EQW and EQ cost no work at all (see ward_gc_plan).
 * A session then allocates one 16-byte label per slot (1,806 for AES-128,
 * which has 36,919 wires), so its labels stay in the first-level cache,
 * and no per-wire bookkeeping: the AND gates of a step are hashed in
 * batches (several gates' AES calls in flight at once) without looking
 * for dependencies. None of this changes what is computed or sent: every
 * label is the one defined above, and the AND gates keep their indices in
 * c->gates (the tweaks) and their order (the table stream), so a peer
 * that garbles or evaluates the same circuit gate by gate gets the same
 * bytes.
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
 * The circuit is public; code that branches on it (or on the plan) is
 * fine. No branch or index depends on Delta, a label or an input bit. The
 * caller keeps the plan alive and unchanged until the garbler or
 * evaluator is freed; the circuit itself may go once it is compiled.
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

/* One AND gate of a plan: where the labels of its inputs and output are
 * (byte offsets into the label array: 16 * slot), and in `gate` its index
 * in c->gates (WARD_GC_GATE_INDEX; its tweaks are 2 * index and
 * 2 * index + 1) with WARD_GC_FLIP_A / WARD_GC_FLIP_B set when the
 * garbler's 0-label of that input is its slot's content XOR Delta. */
typedef struct {
    uint32_t a, b, out, gate;
} ward_gc_and;
#define WARD_GC_FLIP_A (1u << 31)
#define WARD_GC_FLIP_B (1u << 30)
#define WARD_GC_GATE_INDEX(gate) ((gate) & ((1u << 30) - 1))
#define WARD_GC_MAX_SLOTS (1u << 28) /* 4 GiB of labels a session */

/* One XOR gate of a plan: label out = label a XOR label b on both sides
 * (byte offsets, as for AND gates). */
typedef struct {
    uint32_t a, b, out;
} ward_gc_xor;

/* A step of a plan: nand AND gates (at most WARD_GC_STEP_ANDS), none of
 * which reads another's output, then nxor XOR gates in order. overlap is
 * 1 when no AND gate of the next step reads an output of these XOR gates:
 * they may then run while the next step's AND gates are being hashed
 * (between reading their inputs and writing their outputs), which is
 * where the AES units leave time to spare. */
typedef struct {
    uint32_t nand, nxor, overlap;
} ward_gc_step;
#define WARD_GC_STEP_ANDS 16

/* A circuit compiled for garbling and evaluation (ward_gc_compile_var).
 *
 * Only AND and XOR gates are left: INV, EQW and EQ become bookkeeping. Each
 * wire is a label slot plus a public flip bit f: the evaluator's label is
 * the slot's content, the garbler's 0-label is the content XOR f * Delta.
 * EQW gives its output its input's slot and bit, INV the slot and the
 * other bit, EQ c the zero slot (the all-zero block on both sides) and
 * bit c: exactly the labels defined above, computed without a gate. An XOR
 * is stored as a XOR of slots with the XOR of the bits as its bit, so it
 * never touches Delta; an AND output has bit 0. Delta is applied only at
 * AND inputs (WARD_GC_FLIP_A/B) and at output decoding (out_flip).
 *
 * Slots: 0 .. input_bits-1 are the input wires, in order (input wire i is
 * slot i, before and after garbling); output k is slot out_slots[k] with
 * bit out_flip[k]; the other slots are reused once their wire has been
 * read for the last time; at most WARD_GC_MAX_SLOTS. The plan holds
 * everything the garbler and evaluator need: the circuit may be freed
 * once compiled. Read-only for callers. */
typedef struct {
    ward_gc_step *steps;
    ward_gc_and *ands;     /* and_count, in the order of c->gates */
    ward_gc_xor *xors;     /* xor_count, step by step */
    uint32_t *out_slots;   /* output_bits */
    uint8_t *out_flip;     /* output_bits, each 0 or 1 */
    uint32_t nsteps, and_count, xor_count;
    uint32_t nslots;       /* labels a garbler or evaluator allocates */
    uint32_t zero_slot;    /* the constants' slot, or UINT32_MAX when none */
    uint32_t ngates, nwires, input_bits, output_bits;
    uint32_t ready;        /* set by a successful compile */
} ward_gc_plan;

typedef struct {
    const ward_gc_plan *p;
    ward_block *labels;    /* p->nslots slots (ward_gc_plan) and scratch, 64-byte aligned */
    ward_tccrh hash;
    ward_block delta;
    uint8_t hash_key[WARD_GC_KEY_BYTES];
    uint32_t step;         /* next step of the plan to finish */
    uint32_t step_and;     /* its AND gates already garbled */
    uint32_t and_pos;      /* next AND gate (plan order = stream order) */
    uint32_t xor_pos;      /* next XOR gate not yet run */
    uint32_t xor_pend;     /* XOR gates of the step before, to run with this one's ANDs */
    uint32_t ands_left;    /* AND gates not yet garbled */
    int state;
} ward_garbler;

typedef struct {
    const ward_gc_plan *p;
    ward_block *labels;    /* p->nslots active labels and scratch, 64-byte aligned */
    uint8_t *input_set;    /* per input wire, until evaluation starts */
    ward_tccrh hash;
    uint32_t step, step_and, and_pos, xor_pos, xor_pend;
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
 * Returns 0, WARD_EINVAL (NULL, or a circuit ward_gc_compile_var would
 * refuse), or WARD_ENOMEM (c unchanged). Public data only, hence _var. */
#define WARD_GC_WINDOW 4096
int ward_gc_reorder_var(ward_circuit *c);

/* Compiles c, in its current gate order (reorder first, if at all), into
 * the plan *p that ward_garbler_init and ward_evaluator_init run; once
 * per circuit, not per session. Checks the circuit: wires in range, each
 * assigned once before it is read, outputs assigned (the rules of
 * ward_circuit_parse_var); also in1 of an INV or EQW gate must name an
 * assigned wire, as the parser's and the builder's 0 does. The plan
 * depends only on the circuit. Uses O(nwires + ngates) scratch. Returns 0,
 * WARD_EINVAL (NULL, or a circuit that breaks those rules), WARD_ETOOBIG
 * (more than WARD_GC_MAX_SLOTS labels live at once) or WARD_ENOMEM;
 * on failure *p is left empty (ward_gc_plan_free of it is harmless).
 * Public data only, hence _var. */
int ward_gc_compile_var(ward_gc_plan *p, const ward_circuit *c);

/* Frees what *p holds and leaves it empty. p may be NULL. Only once no
 * garbler or evaluator uses it. */
void ward_gc_plan_free(ward_gc_plan *p);

/* Prepares to garble the compiled circuit p: draws Delta, the hash key and
 * a random 0-label for every input wire from rng (in that order), and
 * allocates p->nslots labels. The circuit was checked when it was
 * compiled; this checks only that p is a compiled plan. Returns 0,
 * WARD_EINVAL (NULL, or p not compiled), WARD_ENOMEM or WARD_EUNSUPPORTED
 * (no AES-NI). On failure *g is left closed and holds nothing. */
int ward_garbler_init(ward_garbler *g, const ward_gc_plan *p, ward_rng *rng);

/* As ward_garbler_init with the caller's Delta (lsb must be 1, else
 * WARD_EINVAL), e.g. the correlation of an IKNP sender. */
int ward_garbler_init_delta(ward_garbler *g, const ward_gc_plan *p, ward_rng *rng,
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

/* The output decoding bits (output_bits bytes, each 0 or 1), in output
 * order; only once done (WARD_ESTATE before). n must be the circuit's
 * output_bits. */
int ward_garbler_decode_bits(const ward_garbler *g, uint8_t *d, size_t n);

/* The garbler learns the output from the evaluator's lsb bits (outside
 * input: a byte other than 0 or 1 is WARD_EPARSE): out[i] = lsb[i] ^ d_i.
 * Only once done. */
int ward_garbler_decode(const ward_garbler *g, uint8_t *out, size_t out_len,
                        const uint8_t *lsb, size_t lsb_len);

/* Wipes and frees what *g holds. g may be NULL. */
void ward_garbler_free(ward_garbler *g);

/* Prepares to evaluate the compiled circuit p with the garbler's public
 * hash key; allocates p->nslots labels. Returns 0, WARD_EINVAL (NULL, or p
 * not compiled), WARD_ENOMEM or WARD_EUNSUPPORTED. */
int ward_evaluator_init(ward_evaluator *e, const ward_gc_plan *p,
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
