#include "noise_hash.h"

#include <sodium.h>
#include <string.h>

#include "error.h"

/* One incremental hash (or HMAC) of any supported kind. The union keeps the
 * HMAC code generic without heap state; its contents are key material when
 * keyed, so every user wipes it before returning. */
typedef union {
    crypto_hash_sha256_state sha256;
    crypto_hash_sha512_state sha512;
    crypto_generichash_blake2b_state b2b;
} hash_ctx;

typedef struct {
    int hash;
    union {
        crypto_auth_hmacsha256_state sha256;
        crypto_auth_hmacsha512_state sha512;
        struct {
            crypto_generichash_blake2b_state inner;
            uint8_t opad_key[128];
        } b2b;
    } u;
} hmac_ctx;

size_t ward_noise_hash_len(int hash) {
    switch (hash) {
    case WARD_NOISE_HASH_SHA256: return 32;
    case WARD_NOISE_HASH_SHA512: return 64;
    case WARD_NOISE_HASH_BLAKE2B: return 64;
    default: return 0;
    }
}

size_t ward_noise_hash_blocklen(int hash) {
    switch (hash) {
    case WARD_NOISE_HASH_SHA256: return 64;
    case WARD_NOISE_HASH_SHA512: return 128;
    case WARD_NOISE_HASH_BLAKE2B: return 128;
    default: return 0;
    }
}

static void hash_init(int hash, hash_ctx *c) {
    switch (hash) {
    case WARD_NOISE_HASH_SHA256: crypto_hash_sha256_init(&c->sha256); break;
    case WARD_NOISE_HASH_SHA512: crypto_hash_sha512_init(&c->sha512); break;
    default: crypto_generichash_blake2b_init(&c->b2b, NULL, 0, 64); break;
    }
}

static void hash_update(int hash, hash_ctx *c, const uint8_t *in, size_t len) {
    if (len == 0) return;
    switch (hash) {
    case WARD_NOISE_HASH_SHA256: crypto_hash_sha256_update(&c->sha256, in, len); break;
    case WARD_NOISE_HASH_SHA512: crypto_hash_sha512_update(&c->sha512, in, len); break;
    default: crypto_generichash_blake2b_update(&c->b2b, in, len); break;
    }
}

static void hash_final(int hash, hash_ctx *c, uint8_t *out) {
    switch (hash) {
    case WARD_NOISE_HASH_SHA256: crypto_hash_sha256_final(&c->sha256, out); break;
    case WARD_NOISE_HASH_SHA512: crypto_hash_sha512_final(&c->sha512, out); break;
    default: crypto_generichash_blake2b_final(&c->b2b, out, 64); break;
    }
}

int ward_noise_hash2(int hash, uint8_t *out, size_t out_len,
                     const uint8_t *a, size_t a_len,
                     const uint8_t *b, size_t b_len) {
    size_t hl = ward_noise_hash_len(hash);
    WARD_ARG_CHECK(hl != 0 && out != NULL && out_len == hl);
    WARD_ARG_CHECK(a != NULL || a_len == 0);
    WARD_ARG_CHECK(b != NULL || b_len == 0);
    hash_ctx c;
    hash_init(hash, &c);
    hash_update(hash, &c, a, a_len);
    hash_update(hash, &c, b, b_len);
    hash_final(hash, &c, out);
    sodium_memzero(&c, sizeof c);
    return WARD_OK;
}

int ward_noise_hash(int hash, uint8_t *out, size_t out_len,
                    const uint8_t *in, size_t in_len) {
    return ward_noise_hash2(hash, out, out_len, in, in_len, NULL, 0);
}

/* HMAC for BLAKE2b, RFC 2104 with B = 128: the inner hash is started here,
 * the outer key block is kept for hmac_final. */
static void b2b_hmac_init(hmac_ctx *m, const uint8_t *key, size_t key_len) {
    uint8_t kb[128];
    uint8_t ipad[128];
    memset(kb, 0, sizeof kb);
    if (key_len > sizeof kb) {
        crypto_generichash_blake2b(kb, 64, key, key_len, NULL, 0);
    } else if (key_len > 0) {
        memcpy(kb, key, key_len);
    }
    for (size_t i = 0; i < sizeof kb; i++) {
        ipad[i] = (uint8_t)(kb[i] ^ 0x36);
        m->u.b2b.opad_key[i] = (uint8_t)(kb[i] ^ 0x5c);
    }
    crypto_generichash_blake2b_init(&m->u.b2b.inner, NULL, 0, 64);
    crypto_generichash_blake2b_update(&m->u.b2b.inner, ipad, sizeof ipad);
    sodium_memzero(kb, sizeof kb);
    sodium_memzero(ipad, sizeof ipad);
}

static void hmac_init(hmac_ctx *m, int hash, const uint8_t *key, size_t key_len) {
    m->hash = hash;
    switch (hash) {
    case WARD_NOISE_HASH_SHA256:
        crypto_auth_hmacsha256_init(&m->u.sha256, key, key_len);
        break;
    case WARD_NOISE_HASH_SHA512:
        crypto_auth_hmacsha512_init(&m->u.sha512, key, key_len);
        break;
    default:
        b2b_hmac_init(m, key, key_len);
        break;
    }
}

static void hmac_update(hmac_ctx *m, const uint8_t *in, size_t len) {
    if (len == 0) return;
    switch (m->hash) {
    case WARD_NOISE_HASH_SHA256: crypto_auth_hmacsha256_update(&m->u.sha256, in, len); break;
    case WARD_NOISE_HASH_SHA512: crypto_auth_hmacsha512_update(&m->u.sha512, in, len); break;
    default: crypto_generichash_blake2b_update(&m->u.b2b.inner, in, len); break;
    }
}

/* Writes HASHLEN bytes to out and wipes the context. */
static void hmac_final(hmac_ctx *m, uint8_t *out) {
    switch (m->hash) {
    case WARD_NOISE_HASH_SHA256:
        crypto_auth_hmacsha256_final(&m->u.sha256, out);
        break;
    case WARD_NOISE_HASH_SHA512:
        crypto_auth_hmacsha512_final(&m->u.sha512, out);
        break;
    default: {
        uint8_t inner[64];
        crypto_generichash_blake2b_state outer;
        crypto_generichash_blake2b_final(&m->u.b2b.inner, inner, sizeof inner);
        crypto_generichash_blake2b_init(&outer, NULL, 0, 64);
        crypto_generichash_blake2b_update(&outer, m->u.b2b.opad_key, 128);
        crypto_generichash_blake2b_update(&outer, inner, sizeof inner);
        crypto_generichash_blake2b_final(&outer, out, 64);
        sodium_memzero(inner, sizeof inner);
        sodium_memzero(&outer, sizeof outer);
        break;
    }
    }
    sodium_memzero(m, sizeof *m);
}

int ward_noise_hmac(int hash, uint8_t *out, size_t out_len,
                    const uint8_t *key, size_t key_len,
                    const uint8_t *in, size_t in_len) {
    size_t hl = ward_noise_hash_len(hash);
    WARD_ARG_CHECK(hl != 0 && out != NULL && out_len == hl);
    WARD_ARG_CHECK(key != NULL || key_len == 0);
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    hmac_ctx m;
    hmac_init(&m, hash, key, key_len);
    hmac_update(&m, in, in_len);
    hmac_final(&m, out);
    return WARD_OK;
}

int ward_noise_hkdf(int hash, uint8_t *out1, uint8_t *out2, uint8_t *out3,
                    const uint8_t *ck, const uint8_t *ikm, size_t ikm_len) {
    size_t hl = ward_noise_hash_len(hash);
    WARD_ARG_CHECK(hl != 0 && out1 != NULL && out2 != NULL && ck != NULL);
    WARD_ARG_CHECK(ikm != NULL || ikm_len == 0);
    WARD_ARG_CHECK(out1 != out2 && out1 != out3 && out2 != out3);

    uint8_t temp_key[WARD_NOISE_MAXHASHLEN];
    uint8_t t[WARD_NOISE_MAXHASHLEN];
    hmac_ctx m;
    static const uint8_t one = 1, two = 2, three = 3;

    hmac_init(&m, hash, ck, hl);
    hmac_update(&m, ikm, ikm_len);
    hmac_final(&m, temp_key);

    hmac_init(&m, hash, temp_key, hl);
    hmac_update(&m, &one, 1);
    hmac_final(&m, t);
    memcpy(out1, t, hl);

    hmac_init(&m, hash, temp_key, hl);
    hmac_update(&m, t, hl);
    hmac_update(&m, &two, 1);
    hmac_final(&m, t);
    memcpy(out2, t, hl);

    if (out3 != NULL) {
        hmac_init(&m, hash, temp_key, hl);
        hmac_update(&m, t, hl);
        hmac_update(&m, &three, 1);
        hmac_final(&m, out3);
    }
    sodium_memzero(temp_key, sizeof temp_key);
    sodium_memzero(t, sizeof t);
    return WARD_OK;
}
