/* OT extension: IKNP with the KOS15 consistency check, kappa = 128.
 *
 * From 128 base OTs (crypto/ot_base.h) run once, the two parties make any
 * number of correlated, random or chosen-message OTs with symmetric
 * crypto only (Ishai, Kilian, Nissim and Petrank, CRYPTO 2003), and the
 * receiver's extension message is checked for consistency as in Keller,
 * Orsini and Scholl ("Actively secure OT extension with optimal overhead",
 * CRYPTO 2015), which catches a receiver that uses different choice bits
 * in different columns (the attack that would let it learn bits of Delta).
 *
 * Roles. The extension SENDER S holds Delta (128 bits; for garbling, the
 * garbler's Delta, lsb 1) and plays base-OT RECEIVER with choice bits
 * Delta, keeping seeds k_j = k_j^{Delta_j}. The extension RECEIVER R plays
 * base-OT SENDER and keeps both seeds (k_j^0, k_j^1) of each j < 128.
 *
 * One extension of m OTs (1 <= m <= WARD_OTX_MAX) with choice bits r:
 *
 *   m' = 128 * ceil(m / 128) + 256 rows; rows m .. m'-1 get random choice
 *   bits (the KOS padding that hides r in the check).
 *   G_j(t) = AES-128 under key k_j^* of the counter block t; every column
 *   j uses the counter range [ctr, ctr + m'/128), and ctr advances by
 *   m'/128 after each extension on both sides.
 *
 *   1. R -> S  "U", 16 * m' bytes (ward_otx_u_bytes): for each group g of
 *      128 rows, for each column j < 128, the 16 bytes
 *          u_j[g] = G^0_j(ctr+g) ^ G^1_j(ctr+g) ^ r[128g .. 128g+127].
 *      R's row i is t_i = bit-transpose of (G^0_j(ctr+g))_j.
 *   2. S computes q_j[g] = G_j(ctr+g) ^ Delta_j * u_j[g] and transposes:
 *      q_i = t_i ^ r_i * Delta. S draws a 16-byte challenge seed w,
 *      computes qs = sum chi_i * q_i over all m' rows with chi_i =
 *      AES_w(i) in GF(2^128), and sends
 *      S -> R  "challenge", 16 bytes: w.
 *   3. R -> S  "check", 32 bytes: x = sum chi_i * r_i,  t = sum chi_i * t_i.
 *   4. S accepts when qs = t + x * Delta, else refuses (WARD_EDECRYPT) and
 *      fails closed. S must not use its rows before step 4 succeeds.
 *
 * GF(2^128) is GF(2)[X] / (X^128 + X^7 + X^2 + X + 1) with bit k of a
 * block the coefficient of X^k.
 *
 * Outputs (index i of the extension, tweak = index0 + i chosen by the
 * caller; an index must never be hashed twice in a session):
 *   correlated  S: q_i (message 0), q_i ^ Delta (message 1); R: t_i,
 *               which equals q_i ^ r_i * Delta.
 *   random      S: H(q_i, idx), H(q_i ^ Delta, idx); R: H(t_i, idx), with
 *               H the tweakable hash of crypto/gc_hash.h keyed from sid.
 *   chosen      S sends y0_i = m0_i ^ H(q_i, idx), y1_i = m1_i ^ H(q_i ^
 *               Delta, idx) (32 bytes per OT); R outputs y_{r_i} ^ H(t_i).
 *
 * All messages are byte strings produced and consumed here; nothing does
 * I/O. Lengths of peer messages are checked exactly (short: WARD_ETRUNC,
 * long: WARD_EPARSE) and a failure closes the object (WARD_ECLOSED after),
 * except in ward_otx_recv_chosen, which keeps no state about the message
 * and only refuses it.
 *
 * Throughput: each extension costs two transposes and about eight AES
 * blocks per OT over both parties; extensions of 2^16 OTs keep both
 * parties' rows in cache and spend 0.4% on the KOS padding, so a long run
 * is best made of many such extensions.
 *
 * Constant time: Delta and r select by masks only; no branch or index
 * depends on a seed, a row, Delta or a choice bit.
 *
 * Packed bits (choices, Delta as a block) are least significant bit first:
 * bit i is bit i % 8 of byte i / 8.
 */
#ifndef WARD_OT_EXT_H
#define WARD_OT_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "gc_hash.h"
#include "rng.h"

#define WARD_OTX_KAPPA 128
#define WARD_OTX_SIDBYTES 32
#define WARD_OTX_MAX (1u << 24)          /* OTs per extension */
#define WARD_OTX_CHALLENGE_BYTES 16
#define WARD_OTX_CHECK_BYTES 32

typedef struct {
    ward_aes128 *prg;       /* 128 expanded seeds k_j^{Delta_j} (secret) */
    ward_tccrh hash;        /* public key derived from sid */
    ward_block delta;
    ward_block qsum;        /* the check value of the pending extension */
    uint8_t sid[WARD_OTX_SIDBYTES];
    uint64_t ctr;
    size_t pending_m;       /* rows awaiting ward_otx_send_verify */
    int state;
} ward_otx_sender;

typedef struct {
    ward_aes128 *prg;       /* 256 expanded seeds: k_j^0 at j, k_j^1 at 128 + j */
    ward_tccrh hash;
    uint8_t sid[WARD_OTX_SIDBYTES];
    uint64_t ctr;
    size_t pending_m;       /* rows awaiting ward_otx_recv_check */
    ward_block pad_t[383];  /* t rows m .. m'-1 of the pending extension */
    uint8_t pad_r[48];      /* their random choice bits */
    int state;
} ward_otx_receiver;

/* Bytes of the U message for m OTs: 16 * m'. */
size_t ward_otx_u_bytes(size_t m);

/* The extension sender with its Delta and its base-OT outputs seeds[j] =
 * k_j^{Delta_j}. Returns 0, WARD_EINVAL, WARD_ENOMEM or WARD_EUNSUPPORTED. */
int ward_otx_sender_init(ward_otx_sender *s, const uint8_t sid[WARD_OTX_SIDBYTES],
                         const ward_block *delta, const ward_block seeds[WARD_OTX_KAPPA]);

/* The extension receiver with both seeds of every base OT it sent. */
int ward_otx_receiver_init(ward_otx_receiver *r, const uint8_t sid[WARD_OTX_SIDBYTES],
                           const ward_block seeds0[WARD_OTX_KAPPA],
                           const ward_block seeds1[WARD_OTX_KAPPA]);

/* Step 1. choices: (m + 7) / 8 bytes (bits beyond m ignored). Writes U
 * (ward_otx_u_bytes(m) bytes; cap must be at least that) and the m rows
 * t_i. The caller keeps t and choices unchanged for ward_otx_recv_check.
 * Returns 0, WARD_EINVAL, WARD_ESTATE (a check still pending), WARD_ECLOSED. */
int ward_otx_recv_extend(ward_otx_receiver *r, ward_rng *rng, uint8_t *u, size_t cap,
                         ward_block *t, const uint8_t *choices, size_t m);

/* Step 2. Consumes U for m OTs, writes the m rows q_i and the 16-byte
 * challenge (drawn from rng). Returns 0, WARD_ETRUNC/WARD_EPARSE (wrong
 * length), WARD_EINVAL, WARD_ESTATE (a verification still pending),
 * WARD_ECLOSED. */
int ward_otx_send_extend(ward_otx_sender *s, ward_rng *rng, ward_block *q,
                         uint8_t challenge[WARD_OTX_CHALLENGE_BYTES], size_t m,
                         const uint8_t *u, size_t u_len);

/* Step 3. Consumes the challenge; writes the 32-byte check message. */
int ward_otx_recv_check(ward_otx_receiver *r, uint8_t check[WARD_OTX_CHECK_BYTES],
                        const ward_block *t, const uint8_t *choices, size_t m,
                        const uint8_t *challenge, size_t challenge_len);

/* Step 4. Consumes the check message. Returns 0 when consistent; on
 * WARD_EDECRYPT (inconsistent) or a wrong length, q[0..m) is wiped and
 * *s is closed. */
int ward_otx_send_verify(ward_otx_sender *s, ward_block *q, size_t m,
                         const uint8_t *check, size_t check_len);

/* Random OT, sender: out0[i] = H(q_i, index0 + i), out1[i] = H(q_i ^
 * Delta, index0 + i). out0/out1 may equal q. */
int ward_otx_send_random(const ward_otx_sender *s, ward_block *out0, ward_block *out1,
                         const ward_block *q, size_t m, uint64_t index0);

/* Random OT, receiver: out[i] = H(t_i, index0 + i). out may equal t. */
int ward_otx_recv_random(const ward_otx_receiver *r, ward_block *out, const ward_block *t,
                         size_t m, uint64_t index0);

/* Chosen-message OT, sender: y (32 * m bytes, y0_i || y1_i per OT) from the
 * messages m0, m1. */
int ward_otx_send_chosen(const ward_otx_sender *s, uint8_t *y, size_t y_cap,
                         const ward_block *m0, const ward_block *m1,
                         const ward_block *q, size_t m, uint64_t index0);

/* Chosen-message OT, receiver: out[i] = m_{r_i}[i] from the sender's y
 * (outside input; must be exactly 32 * m bytes). */
int ward_otx_recv_chosen(const ward_otx_receiver *r, ward_block *out,
                         const uint8_t *choices, const ward_block *t, size_t m,
                         uint64_t index0, const uint8_t *y, size_t y_len);

/* Wipes and frees. NULL is fine. */
void ward_otx_sender_clear(ward_otx_sender *s);
void ward_otx_receiver_clear(ward_otx_receiver *r);

/* Building blocks, exposed for tests. */

/* Transposes the 128 x 128 bit matrix in m in place: bit j of block i
 * becomes bit i of block j. */
void ward_bitmatrix_transpose128(ward_block m[128]);

/* out = a * b in GF(2^128) as above. */
void ward_gf128_mul(ward_block *out, const ward_block *a, const ward_block *b);

#endif
