#include "noise_cipher.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "error.h"

enum { CS_UNSET = 0, CS_EMPTY = 1, CS_KEYED = 2, CS_CLOSED = 3 };

#define NONCE_MAX UINT64_MAX

static void nonce_chachapoly(uint8_t npub[12], uint64_t n) {
    memset(npub, 0, 4);
    for (int i = 0; i < 8; i++) npub[4 + i] = (uint8_t)(n >> (8 * i));
}

static void nonce_aesgcm(uint8_t npub[12], uint64_t n) {
    memset(npub, 0, 4);
    for (int i = 0; i < 8; i++) npub[11 - i] = (uint8_t)(n >> (8 * i));
}

/* An AEAD through OpenSSL's EVP interface (AES-256-GCM, and
 * ChaCha20-Poly1305 for longer messages, see raw_encrypt). Lengths are at
 * most 65535 (checked by the callers), so the int conversions below are
 * exact. */
static int evp_encrypt(const EVP_CIPHER *aead, uint8_t *out, const uint8_t key[32],
                       const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                       const uint8_t *in, size_t in_len) {
    int len = 0, ok;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return WARD_ENOMEM;
    ok = EVP_EncryptInit_ex(ctx, aead, NULL, key, iv) == 1;
    if (ok && ad_len > 0)
        ok = EVP_EncryptUpdate(ctx, NULL, &len, ad, (int)ad_len) == 1;
    if (ok && in_len > 0)
        ok = EVP_EncryptUpdate(ctx, out, &len, in, (int)in_len) == 1;
    if (ok) ok = EVP_EncryptFinal_ex(ctx, out + in_len, &len) == 1;
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, WARD_NOISE_TAGLEN,
                                 out + in_len) == 1;
    EVP_CIPHER_CTX_free(ctx); /* cleanses the expanded key */
    if (!ok) {
        sodium_memzero(out, in_len + WARD_NOISE_TAGLEN);
        return WARD_ENOMEM;
    }
    return WARD_OK;
}

/* OpenSSL writes the plaintext before it checks the tag: on a bad tag the
 * plaintext is wiped before returning. */
static int evp_decrypt(const EVP_CIPHER *aead, uint8_t *out, const uint8_t key[32],
                       const uint8_t iv[12], const uint8_t *ad, size_t ad_len,
                       const uint8_t *in, size_t in_len) {
    uint8_t tag[WARD_NOISE_TAGLEN];
    size_t pt_len = in_len - WARD_NOISE_TAGLEN;
    int len = 0, ok, rc = WARD_OK;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return WARD_ENOMEM;
    /* Copy the tag first: with in-place decryption out overwrites in. */
    memcpy(tag, in + pt_len, WARD_NOISE_TAGLEN);
    ok = EVP_DecryptInit_ex(ctx, aead, NULL, key, iv) == 1;
    if (ok && ad_len > 0)
        ok = EVP_DecryptUpdate(ctx, NULL, &len, ad, (int)ad_len) == 1;
    if (ok && pt_len > 0)
        ok = EVP_DecryptUpdate(ctx, out, &len, in, (int)pt_len) == 1;
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, WARD_NOISE_TAGLEN,
                                 tag) == 1;
    if (!ok) {
        rc = WARD_ENOMEM;
    } else if (EVP_DecryptFinal_ex(ctx, out + pt_len, &len) != 1) {
        rc = WARD_EDECRYPT;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (rc != WARD_OK && pt_len > 0) sodium_memzero(out, pt_len);
    return rc;
}

/* ChaChaPoly messages from this many plaintext bytes up go through
 * OpenSSL, whose ChaCha20-Poly1305 uses the AVX-512/AVX2 code paths and
 * runs several times faster on large messages than libsodium 1.0.18's
 * (docs/crypto.md, "ChaChaPoly: two implementations"); below it
 * libsodium's, which has no per-message context to set up. Both compute
 * RFC 8439's AEAD, so the choice never shows on the wire (tested against
 * each other in tests/test_noise.c). */
#define CHACHAPOLY_EVP_MIN 1024

/* The ciphers fetched once: an implicit fetch (EVP_chacha20_poly1305()
 * passed to EncryptInit) looks the algorithm up in OpenSSL 3's provider
 * tables on every message, which costs as much as encrypting kilobytes. */
static EVP_CIPHER *fetched_chachapoly, *fetched_aesgcm;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_ciphers(void) {
    fetched_chachapoly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    fetched_aesgcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static const EVP_CIPHER *cipher_chachapoly(void) {
    pthread_once(&fetch_once, fetch_ciphers);
    return fetched_chachapoly ? fetched_chachapoly : EVP_chacha20_poly1305();
}

static const EVP_CIPHER *cipher_aesgcm(void) {
    pthread_once(&fetch_once, fetch_ciphers);
    return fetched_aesgcm ? fetched_aesgcm : EVP_aes_256_gcm();
}

static int raw_encrypt(int cipher, uint8_t *out, const uint8_t key[32],
                       uint64_t n, const uint8_t *ad, size_t ad_len,
                       const uint8_t *in, size_t in_len) {
    uint8_t npub[12];
    if (cipher == WARD_NOISE_CIPHER_CHACHAPOLY) {
        nonce_chachapoly(npub, n);
        if (in_len >= CHACHAPOLY_EVP_MIN)
            return evp_encrypt(cipher_chachapoly(), out, key, npub, ad, ad_len, in, in_len);
        crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, in_len, ad,
                                                  ad_len, NULL, npub, key);
        return WARD_OK;
    }
    nonce_aesgcm(npub, n);
    return evp_encrypt(cipher_aesgcm(), out, key, npub, ad, ad_len, in, in_len);
}

static void cs_close(ward_noise_cipherstate *cs) {
    sodium_memzero(cs, sizeof *cs);
    cs->status = CS_CLOSED;
}

int ward_noise_cipher_init(ward_noise_cipherstate *cs, int cipher,
                           const uint8_t *key) {
    WARD_ARG_CHECK(cs != NULL);
    sodium_memzero(cs, sizeof *cs);
    if (cipher != WARD_NOISE_CIPHER_CHACHAPOLY &&
        cipher != WARD_NOISE_CIPHER_AESGCM) {
        cs->status = CS_CLOSED;
        return WARD_EUNSUPPORTED;
    }
    cs->cipher = cipher;
    if (key != NULL) {
        memcpy(cs->k, key, WARD_NOISE_KEYLEN);
        cs->status = CS_KEYED;
    } else {
        cs->status = CS_EMPTY;
    }
    return WARD_OK;
}

int ward_noise_cipher_has_key(const ward_noise_cipherstate *cs) {
    return cs != NULL && cs->status == CS_KEYED;
}

int ward_noise_cipher_is_closed(const ward_noise_cipherstate *cs) {
    return cs != NULL && cs->status == CS_CLOSED;
}

int ward_noise_cipher_encrypt(ward_noise_cipherstate *cs,
                              uint8_t *out, size_t out_cap, size_t *out_len,
                              const uint8_t *ad, size_t ad_len,
                              const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(cs != NULL && out_len != NULL);
    *out_len = 0;
    if (cs->status == CS_CLOSED) return WARD_ECLOSED;
    WARD_ARG_CHECK(cs->status == CS_EMPTY || cs->status == CS_KEYED);
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    WARD_ARG_CHECK(ad != NULL || ad_len == 0);
    WARD_ARG_CHECK(out != NULL || (in_len == 0 && cs->status == CS_EMPTY));

    if (cs->status == CS_EMPTY) {
        if (in_len > WARD_NOISE_MAX_MSG) return WARD_ETOOBIG;
        WARD_ARG_CHECK(out_cap >= in_len);
        if (in_len > 0 && out != in) memmove(out, in, in_len);
        *out_len = in_len;
        return WARD_OK;
    }
    if (in_len > WARD_NOISE_MAX_PLAINTEXT) return WARD_ETOOBIG;
    WARD_ARG_CHECK(out_cap >= in_len + WARD_NOISE_TAGLEN);
    if (cs->n == NONCE_MAX) return WARD_ENONCE;

    int rc = raw_encrypt(cs->cipher, out, cs->k, cs->n, ad, ad_len, in, in_len);
    if (rc != WARD_OK) return rc;
    cs->n++;
    *out_len = in_len + WARD_NOISE_TAGLEN;
    return WARD_OK;
}

int ward_noise_cipher_decrypt(ward_noise_cipherstate *cs,
                              uint8_t *out, size_t out_cap, size_t *out_len,
                              const uint8_t *ad, size_t ad_len,
                              const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(cs != NULL && out_len != NULL);
    *out_len = 0;
    if (cs->status == CS_CLOSED) return WARD_ECLOSED;
    WARD_ARG_CHECK(cs->status == CS_EMPTY || cs->status == CS_KEYED);
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    WARD_ARG_CHECK(ad != NULL || ad_len == 0);

    if (in_len > WARD_NOISE_MAX_MSG) {
        cs_close(cs);
        return WARD_ETOOBIG;
    }
    if (cs->status == CS_EMPTY) {
        WARD_ARG_CHECK(out != NULL || in_len == 0);
        WARD_ARG_CHECK(out_cap >= in_len);
        if (in_len > 0 && out != in) memmove(out, in, in_len);
        *out_len = in_len;
        return WARD_OK;
    }
    if (in_len < WARD_NOISE_TAGLEN) {
        cs_close(cs);
        return WARD_ETRUNC;
    }
    size_t pt_len = in_len - WARD_NOISE_TAGLEN;
    WARD_ARG_CHECK(out != NULL || pt_len == 0);
    WARD_ARG_CHECK(out_cap >= pt_len);
    if (cs->n == NONCE_MAX) return WARD_ENONCE;

    int rc;
    uint8_t npub[12];
    if (cs->cipher == WARD_NOISE_CIPHER_CHACHAPOLY && pt_len >= CHACHAPOLY_EVP_MIN) {
        nonce_chachapoly(npub, cs->n);
        rc = evp_decrypt(cipher_chachapoly(), out, cs->k, npub, ad, ad_len, in, in_len);
    } else if (cs->cipher == WARD_NOISE_CIPHER_CHACHAPOLY) {
        uint8_t dummy;
        nonce_chachapoly(npub, cs->n);
        /* libsodium checks the tag before it writes any plaintext. */
        rc = crypto_aead_chacha20poly1305_ietf_decrypt(
                 out != NULL ? out : &dummy, NULL, NULL, in, in_len, ad,
                 ad_len, npub, cs->k) == 0
                 ? WARD_OK
                 : WARD_EDECRYPT;
    } else {
        nonce_aesgcm(npub, cs->n);
        rc = evp_decrypt(cipher_aesgcm(), out, cs->k, npub, ad, ad_len, in, in_len);
    }
    if (rc == WARD_EDECRYPT) {
        cs_close(cs);
        return rc;
    }
    if (rc != WARD_OK) return rc;
    cs->n++;
    *out_len = pt_len;
    return WARD_OK;
}

int ward_noise_cipher_rekey(ward_noise_cipherstate *cs) {
    WARD_ARG_CHECK(cs != NULL);
    if (cs->status == CS_CLOSED) return WARD_ECLOSED;
    if (cs->status != CS_KEYED) return WARD_ESTATE;
    static const uint8_t zeros[32];
    uint8_t buf[32 + WARD_NOISE_TAGLEN];
    int rc = raw_encrypt(cs->cipher, buf, cs->k, NONCE_MAX, NULL, 0, zeros,
                         sizeof zeros);
    if (rc == WARD_OK) memcpy(cs->k, buf, WARD_NOISE_KEYLEN);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int ward_noise_cipher_set_nonce(ward_noise_cipherstate *cs, uint64_t n) {
    WARD_ARG_CHECK(cs != NULL);
    if (cs->status == CS_CLOSED) return WARD_ECLOSED;
    WARD_ARG_CHECK(cs->status == CS_EMPTY || cs->status == CS_KEYED);
    cs->n = n;
    return WARD_OK;
}

void ward_noise_cipher_clear(ward_noise_cipherstate *cs) {
    if (cs == NULL) return;
    cs_close(cs);
}
