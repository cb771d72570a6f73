/* Hash functions for the Noise Protocol Framework (spec revision 34, 4.3).
 *
 * HASH, HMAC-HASH and HKDF for the three hash functions ward implements:
 * SHA256 and SHA512 (libsodium, HMAC from libsodium) and BLAKE2b (libsodium's
 * crypto_generichash with a 64-byte output; HMAC built from it with a
 * 128-byte block as in RFC 2104). BLAKE2s is not in libsodium and is not
 * implemented.
 *
 * Every output is exactly HASHLEN bytes (ward_noise_hash_len()). Inputs and
 * outputs may not overlap unless stated. All functions wipe their internal
 * state (keyed hash states, padded keys, intermediate HKDF values) before
 * they return.
 */
#ifndef WARD_NOISE_HASH_H
#define WARD_NOISE_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WARD_NOISE_HASH_SHA256 = 1,
    WARD_NOISE_HASH_SHA512 = 2,
    WARD_NOISE_HASH_BLAKE2B = 3
} ward_noise_hash_id;

/* The largest HASHLEN of any supported hash. */
#define WARD_NOISE_MAXHASHLEN 64
/* The largest HMAC block length of any supported hash. */
#define WARD_NOISE_MAXBLOCKLEN 128

/* HASHLEN of `hash` (32 or 64), or 0 when `hash` is not a supported id. */
size_t ward_noise_hash_len(int hash);

/* BLOCKLEN of `hash` (64 or 128), or 0 when `hash` is not supported. */
size_t ward_noise_hash_blocklen(int hash);

/* out = HASH(a || b). b may be NULL when b_len is 0. out_len must be
 * HASHLEN. out may alias a or b (the inputs are absorbed before the output is
 * written). Returns 0 or WARD_EINVAL. */
int ward_noise_hash2(int hash, uint8_t *out, size_t out_len,
                     const uint8_t *a, size_t a_len,
                     const uint8_t *b, size_t b_len);

/* out = HASH(in). Same rules as ward_noise_hash2. */
int ward_noise_hash(int hash, uint8_t *out, size_t out_len,
                    const uint8_t *in, size_t in_len);

/* out = HMAC-HASH(key, in) (RFC 2104). Keys longer than BLOCKLEN are hashed
 * first. out_len must be HASHLEN. out may alias key or in. */
int ward_noise_hmac(int hash, uint8_t *out, size_t out_len,
                    const uint8_t *key, size_t key_len,
                    const uint8_t *in, size_t in_len);

/* Noise HKDF(chaining_key, input_key_material, num_outputs):
 *   temp_key = HMAC-HASH(ck, ikm)
 *   out1 = HMAC-HASH(temp_key, 0x01)
 *   out2 = HMAC-HASH(temp_key, out1 || 0x02)
 *   out3 = HMAC-HASH(temp_key, out2 || 0x03)
 * ck is HASHLEN bytes. out1 and out2 are required (HASHLEN bytes each), out3
 * may be NULL (two outputs). Outputs may alias ck but not each other or ikm.
 * Returns 0 or WARD_EINVAL. */
int ward_noise_hkdf(int hash, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                    const uint8_t *ck, const uint8_t *ikm, size_t ikm_len);

#endif
