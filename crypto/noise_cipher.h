/* Noise CipherState (spec revision 34, sections 4.2 and 5.1).
 *
 * A CipherState holds a 32-byte key k (or no key) and a 64-bit nonce n.
 * Two cipher functions:
 *   ChaChaPoly: ChaCha20-Poly1305 (RFC 8439, libsodium's _ietf variant),
 *               96-bit nonce = 4 zero bytes || n as 64-bit little-endian.
 *   AESGCM:     AES-256-GCM (OpenSSL), 96-bit nonce = 4 zero bytes || n as
 *               64-bit big-endian.
 * Both append a 16-byte tag.
 *
 * Limits and failure behaviour:
 *  - A Noise message is at most 65535 bytes (WARD_NOISE_MAX_MSG), tag
 *    included; longer inputs give WARD_ETOOBIG.
 *  - Nonce 2^64-1 is reserved (it keys Rekey): once n reaches it, encrypt and
 *    decrypt return WARD_ENONCE.
 *  - Decryption that fails (bad tag: wrong key, tampering, a replayed,
 *    reordered or truncated message) returns WARD_EDECRYPT (WARD_ETRUNC for
 *    inputs shorter than a tag, WARD_ETOOBIG for oversized ones) and closes
 *    the CipherState for good: the key is wiped and every later call returns
 *    WARD_ECLOSED. Transport nonces are implicit, so after a lost or
 *    reordered message the channel cannot recover anyway.
 *
 * The state is caller-allocated and fixed-size; it holds a key, so call
 * ward_noise_cipher_clear() when done. Not thread-safe.
 */
#ifndef WARD_NOISE_CIPHER_H
#define WARD_NOISE_CIPHER_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WARD_NOISE_CIPHER_CHACHAPOLY = 1,
    WARD_NOISE_CIPHER_AESGCM = 2
} ward_noise_cipher_id;

#define WARD_NOISE_KEYLEN 32
#define WARD_NOISE_TAGLEN 16
#define WARD_NOISE_MAX_MSG 65535
/* The largest plaintext a keyed CipherState can encrypt into one message. */
#define WARD_NOISE_MAX_PLAINTEXT (WARD_NOISE_MAX_MSG - WARD_NOISE_TAGLEN)

typedef struct {
    uint8_t k[WARD_NOISE_KEYLEN];
    uint64_t n;
    int cipher;   /* ward_noise_cipher_id */
    int status;   /* internal: 0 unset, 1 no key, 2 keyed, 3 closed */
} ward_noise_cipherstate;

/* InitializeKey: sets the cipher, k = key (32 bytes) or empty when key is
 * NULL, and n = 0. Returns 0, WARD_EINVAL (NULL cs) or WARD_EUNSUPPORTED
 * (unknown cipher id). */
int ward_noise_cipher_init(ward_noise_cipherstate *cs, int cipher,
                           const uint8_t *key);

/* HasKey: 1 when the state holds a key, 0 otherwise (also when closed). */
int ward_noise_cipher_has_key(const ward_noise_cipherstate *cs);

/* 1 when the state was closed by a failure or by ward_noise_cipher_clear. */
int ward_noise_cipher_is_closed(const ward_noise_cipherstate *cs);

/* EncryptWithAd(ad, plaintext). Writes in_len + 16 bytes to out (in_len
 * bytes, a plain copy, when the state has no key) and sets *out_len.
 * out may equal in (in-place) but must not otherwise overlap it. ad may be
 * NULL when ad_len is 0.
 * Returns 0, WARD_ETOOBIG (output would exceed 65535 bytes), WARD_ENONCE,
 * WARD_ECLOSED, WARD_ENOMEM (AESGCM context allocation), or WARD_EINVAL
 * (NULL pointers, out_cap too small; the state is unchanged). */
int ward_noise_cipher_encrypt(ward_noise_cipherstate *cs,
                              uint8_t *out, size_t out_cap, size_t *out_len,
                              const uint8_t *ad, size_t ad_len,
                              const uint8_t *in, size_t in_len);

/* DecryptWithAd(ad, ciphertext). Writes in_len - 16 bytes to out (in_len,
 * a plain copy, without a key) and sets *out_len. out may equal in.
 * Returns 0, WARD_EDECRYPT, WARD_ETRUNC, WARD_ETOOBIG (these three close the
 * state), WARD_ENONCE, WARD_ECLOSED, WARD_ENOMEM or WARD_EINVAL (state
 * unchanged). On failure nothing of the plaintext is left in out. */
int ward_noise_cipher_decrypt(ward_noise_cipherstate *cs,
                              uint8_t *out, size_t out_cap, size_t *out_len,
                              const uint8_t *ad, size_t ad_len,
                              const uint8_t *in, size_t in_len);

/* Rekey: k = first 32 bytes of ENCRYPT(k, 2^64-1, empty, 32 zero bytes).
 * n is unchanged. Returns 0, WARD_ESTATE (no key), WARD_ECLOSED or
 * WARD_ENOMEM. */
int ward_noise_cipher_rekey(ward_noise_cipherstate *cs);

/* SetNonce, for tests (nonce exhaustion) and the test vectors only: the
 * protocol never needs it, and reusing a nonce breaks the cipher. */
int ward_noise_cipher_set_nonce(ward_noise_cipherstate *cs, uint64_t n);

/* Wipes the state; later calls return WARD_ECLOSED. Safe on NULL. */
void ward_noise_cipher_clear(ward_noise_cipherstate *cs);

#endif
