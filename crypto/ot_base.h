/* Base oblivious transfer: Masny-Rindal endemic OT over ristretto255.
 *
 * A batch of n random 1-out-of-2 OTs: the sender ends with two keys
 * (k0[i], k1[i]) per OT, the receiver with k_{c_i}[i] for its choice bit
 * c_i, and neither learns more (semi-honest; the construction is UC-secure
 * in the random-oracle model, see below). OT extension (crypto/ot_ext.h)
 * runs 128 of these once per session and derives every other OT from them.
 *
 * Protocol (Masny and Rindal, "Endemic oblivious transfer", ACM CCS 2019,
 * the OT from a key agreement with uniformly random messages, instantiated
 * with Diffie-Hellman in the prime-order group ristretto255). G is the
 * generator, sid the 32-byte session id both parties already share (e.g.
 * from the Noise handshake), i the OT index (a 64-bit little-endian
 * integer), and
 *
 *     Hg(sid, i, P) = ristretto255_from_hash(BLAKE2b-512("ward mr19 h2g" ||
 *                     sid || i || P))           hash to the group
 *     Hk(sid, n, i, j, R0, R1, B, K) = BLAKE2b-128("ward mr19 key" || sid ||
 *                     n || i || j || R0 || R1 || B || K)   key derivation
 *
 * (strings without NUL; points as their 32-byte encodings; j one byte).
 *
 *  1. Receiver, for each i with choice c = c_i: draws a scalar a_i and a
 *     uniform point R_{1-c} (from 64 random bytes via from_hash), sets
 *     R_c = a_i G - Hg(sid, i, R_{1-c}), and sends (R0_i, R1_i).
 *     Message 1: n * 64 bytes, R0 || R1 per OT, in index order.
 *  2. Sender: draws one scalar b for the batch and sends B = b G.
 *     Message 2: 32 bytes. B does not depend on message 1, so the sender
 *     may send it first.
 *  3. Sender, for j = 0, 1: P_j = R_j + Hg(sid, i, R_{1-j}) and
 *     k_j[i] = Hk(sid, n, i, j, R0_i, R1_i, B, b P_j).
 *  4. Receiver: k_c[i] = Hk(sid, n, i, c, R0_i, R1_i, B, a_i B).
 *
 * Correctness: P_c = a_i G, so b P_c = a_i B. Receiver privacy: (R0, R1)
 * is a pair of uniform points whatever c is (one is uniform, the other is a
 * uniform a_i G masked by a hash). Sender privacy: the receiver knows the
 * discrete log of at most one of P_0, P_1 (P_{1-c} is fixed by a hash of
 * R_c, which it had to choose first), so b P_{1-c} is a CDH value it cannot
 * compute and k_{1-c} is a random-oracle output on an unknown input.
 * Indices, n, sid and the transcript go into every hash, so keys of
 * different OTs, batches and sessions are independent even though one b
 * serves the whole batch.
 *
 * Why not Chou-Orlandi ("The simplest protocol for OT", 2015): its
 * published UC proof was found flawed (Genc, Iovino and Rial, "The simplest
 * protocol for oblivious transfer revisited", 2017) and the protocol does
 * not realise the UC OT functionality it was claimed to; the repaired
 * variants cost about as much as this one. See docs/crypto-ot.md.
 *
 * Input checks: every point from the peer must be a canonical ristretto255
 * encoding of a point other than the identity; anything else, and a
 * message of the wrong length, is refused (WARD_EPARSE; a short message
 * WARD_ETRUNC) and the object fails closed. A DH result equal to the
 * identity is refused the same way.
 *
 * Constant time: the receiver's choice bits select points by masked swaps,
 * not branches; scalar multiplication is libsodium's constant-time ladder.
 * Scalars and keys are wiped on every path.
 *
 * Threads: ward_baseot_receiver_init, ward_baseot_sender_finish and
 * ward_baseot_receiver_finish spread the OTs of a batch over
 * WARD_BASEOT_THREADS threads (a constant in ot_base.c, 2: the caller's and
 * one more) and join them before they return. All randomness is drawn
 * from rng by the calling thread first, in OT order, so messages and keys
 * are the same bytes as with one thread. When no thread can be created the
 * caller does all the work; that is not an error. Helper threads block
 * asynchronous signals. An object is still used by one call at a time.
 *
 * Choice bits are packed, least significant bit first: c_i is bit i % 8 of
 * byte i / 8.
 */
#ifndef WARD_OT_BASE_H
#define WARD_OT_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "gc_hash.h"
#include "rng.h"

#define WARD_BASEOT_SIDBYTES 32
#define WARD_BASEOT_POINTBYTES 32
#define WARD_BASEOT_MAX 4096 /* OTs per batch */

/* Message sizes. */
#define WARD_BASEOT_RECV_MSG_BYTES(n) ((size_t)(n) * 2 * WARD_BASEOT_POINTBYTES)
#define WARD_BASEOT_SEND_MSG_BYTES WARD_BASEOT_POINTBYTES

typedef struct {
    uint8_t sid[WARD_BASEOT_SIDBYTES];
    uint8_t b[32];                          /* secret scalar */
    uint8_t B[WARD_BASEOT_POINTBYTES];      /* b G */
    size_t n;
    int state;
} ward_baseot_sender;

typedef struct {
    uint8_t sid[WARD_BASEOT_SIDBYTES];
    uint8_t *msg;       /* n * 64 bytes: R0 || R1 per OT */
    uint8_t *scalars;   /* n * 32 bytes: a_i (secret) */
    uint8_t *choices;   /* (n + 7) / 8 bytes (secret) */
    size_t n;
    int state;
} ward_baseot_receiver;

/* Starts a sender for a batch of n OTs (1 <= n <= WARD_BASEOT_MAX) in
 * session sid. Returns 0, WARD_EINVAL or WARD_ENOMEM. */
int ward_baseot_sender_init(ward_baseot_sender *s, ward_rng *rng,
                            const uint8_t sid[WARD_BASEOT_SIDBYTES], size_t n);

/* Message 2 (B), 32 bytes. May be sent before message 1 arrives. */
int ward_baseot_sender_msg(const ward_baseot_sender *s,
                           uint8_t out[WARD_BASEOT_SEND_MSG_BYTES]);

/* Consumes message 1 (len must be WARD_BASEOT_RECV_MSG_BYTES(n)) and writes
 * the n key pairs. Returns 0; WARD_ETRUNC (short), WARD_EPARSE (long, a
 * non-canonical or identity point, an identity DH result); WARD_EINVAL;
 * WARD_ECLOSED. On any failure k0 and k1 are zeroed and *s is closed; on
 * success *s is spent (later calls return WARD_ESTATE). */
int ward_baseot_sender_finish(ward_baseot_sender *s, ward_block *k0, ward_block *k1,
                              size_t n, const uint8_t *msg, size_t len);

/* Wipes *s. s may be NULL. */
void ward_baseot_sender_clear(ward_baseot_sender *s);

/* Starts a receiver for n OTs with packed choice bits (bits beyond n are
 * ignored) and computes message 1. Returns 0, WARD_EINVAL or WARD_ENOMEM. */
int ward_baseot_receiver_init(ward_baseot_receiver *r, ward_rng *rng,
                              const uint8_t sid[WARD_BASEOT_SIDBYTES],
                              const uint8_t *choices, size_t n);

/* Copies message 1 (WARD_BASEOT_RECV_MSG_BYTES(n) bytes) to out; *len
 * receives its length. WARD_ETOOBIG when cap is smaller. */
int ward_baseot_receiver_msg(const ward_baseot_receiver *r, uint8_t *out, size_t cap,
                             size_t *len);

/* Consumes message 2 and writes keys[i] = k_{c_i}[i]. Errors as for the
 * sender (keys zeroed, *r closed). */
int ward_baseot_receiver_finish(ward_baseot_receiver *r, ward_block *keys, size_t n,
                                const uint8_t *msg, size_t len);

/* Wipes and frees what *r holds. r may be NULL. */
void ward_baseot_receiver_clear(ward_baseot_receiver *r);

#endif
