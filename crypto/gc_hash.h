/* Fixed-key AES-128 and the tweakable hash built on it.
 *
 * Garbling (crypto/garble.h) and OT extension (crypto/ot_ext.h) spend
 * nearly all their time hashing 128-bit blocks. Both use
 *
 *     H(x, i) = pi(sigma(x) ^ i) ^ sigma(x)
 *
 * where pi is AES-128 under a fixed, public, per-session random key, i is
 * a 128-bit tweak and sigma is the linear orthomorphism
 *
 *     sigma(x_hi || x_lo) = (x_hi ^ x_lo) || x_hi      (64-bit halves).
 *
 * Guo, Katz, Wang and Yu ("Better concrete security for half-gates
 * garbling (in the multi-instance setting)", CRYPTO 2020) prove this a
 * tweakable circular-correlation-robust hash when pi is modelled as a
 * random permutation, which is what half-gates and IKNP need: an adversary
 * that sees H(x ^ a*Delta, i) for chosen a and never-repeated tweaks i
 * learns nothing of the secret offset Delta. Each session draws its own AES
 * key, so the multi-instance bound of that paper applies.
 *
 * Blocks. A ward_block is 16 bytes, 16-byte aligned. Bit k of a block is
 * bit k % 8 of byte k / 8 (little endian); "lsb" is bit 0; the low 64-bit
 * half x_lo is bytes 0..7 read little endian, x_hi bytes 8..15. A tweak
 * built from an integer t is the block with x_lo = t, x_hi = 0.
 *
 * The code uses AES-NI (and SSSE3/PCLMUL elsewhere); there is no portable
 * fallback. Every init function checks the CPU and returns
 * WARD_EUNSUPPORTED when AES-NI is missing, so the rest can assume it.
 *
 * Constant time: AES-NI has no table lookups; nothing here branches on
 * block contents. Keys of the PRG use (ot_ext.c) are secret and wiped with
 * ward_aes128_clear(); a hash key is public.
 */
#ifndef WARD_GC_HASH_H
#define WARD_GC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WARD_BLOCK_BYTES 16

typedef struct {
    _Alignas(16) uint8_t b[WARD_BLOCK_BYTES];
} ward_block;

/* An expanded AES-128 encryption key (11 round keys). */
typedef struct {
    _Alignas(16) uint8_t rk[11][16];
} ward_aes128;

/* The tweakable hash H above, keyed by its public AES key. */
typedef struct {
    ward_aes128 pi;
} ward_tccrh;

/* WARD_OK when the CPU has AES-NI, SSSE3 and PCLMULQDQ (what garbling and
 * OT extension need), WARD_EUNSUPPORTED otherwise. */
int ward_gc_cpu_check(void);

/* Expands key into *k. Returns 0, WARD_EINVAL (NULL), or
 * WARD_EUNSUPPORTED (no AES-NI; *k is then zeroed). */
int ward_aes128_init(ward_aes128 *k, const uint8_t key[16]);

/* out[i] = AES_k(in[i]) for i < n (ECB). out may equal in. Blocks go
 * through the cipher eight at a time. k must have been initialised. */
void ward_aes128_ecb(const ward_aes128 *k, ward_block *out, const ward_block *in,
                     size_t n);

/* Counter mode as a PRG: out[i] = AES_k(block(ctr + i)), where block(t)
 * has x_lo = t, x_hi = 0. */
void ward_aes128_ctr(const ward_aes128 *k, ward_block *out, size_t n, uint64_t ctr);

/* Wipes an expanded key. k may be NULL. */
void ward_aes128_clear(ward_aes128 *k);

/* Sets the hash's public key (16 random bytes, fresh per session).
 * Returns 0, WARD_EINVAL, or WARD_EUNSUPPORTED. */
int ward_tccrh_init(ward_tccrh *h, const uint8_t key[16]);

/* out[i] = H(in[i], tweaks[i]) for i < n. out may equal in. */
void ward_tccrh_hash(const ward_tccrh *h, ward_block *out, const ward_block *in,
                     const ward_block *tweaks, size_t n);

/* out[i] = H(in[i], tweak0 + i) for i < n, tweaks as integers. */
void ward_tccrh_hash_seq(const ward_tccrh *h, ward_block *out, const ward_block *in,
                         size_t n, uint64_t tweak0);

/* sigma(x) as defined above (for tests and documentation). */
void ward_block_sigma(ward_block *out, const ward_block *x);

#endif
