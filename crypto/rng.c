#include "rng.h"

#include <sodium.h>
#include <string.h>

#include "error.h"

enum { RNG_UNSET = 0, RNG_SYSTEM = 1, RNG_SEEDED = 2 };

#define RNG_RESEED_BYTES (1u << 20)

static void rng_refill(ward_rng *rng) {
    /* Keystream block b is ChaCha20-IETF(key, nonce = high 32 bits of b,
     * counter = low 32 bits of b): 2^64 blocks before any repetition. The
     * buffer holds 4 consecutive blocks. */
    static const uint8_t zero[sizeof rng->buf];
    uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
    if (rng->kind == RNG_SYSTEM) {
        if (rng->since_reseed >= RNG_RESEED_BYTES) {
            randombytes_buf(rng->key, sizeof rng->key);
            rng->since_reseed = 0;
        }
        /* Fast key erasure: the first 32 bytes become the next key and
         * are never output. */
        crypto_stream_chacha20_ietf_xor_ic(rng->buf, zero, sizeof rng->buf, nonce, 0, rng->key);
        memcpy(rng->key, rng->buf, sizeof rng->key);
        sodium_memzero(rng->buf, sizeof rng->key);
        rng->buf_pos = sizeof rng->key;
        rng->since_reseed += sizeof rng->buf - sizeof rng->key;
        return;
    }
    uint32_t hi = (uint32_t)(rng->block >> 32);
    for (int i = 0; i < 4; i++) nonce[i] = (uint8_t)(hi >> (8 * i));
    crypto_stream_chacha20_ietf_xor_ic(rng->buf, zero, sizeof rng->buf, nonce,
                                       (uint32_t)rng->block, rng->key);
    rng->block += sizeof rng->buf / 64;
    rng->buf_pos = 0;
}

int ward_rng_init_system(ward_rng *rng) {
    WARD_ARG_CHECK(rng != NULL);
    memset(rng, 0, sizeof *rng);
    if (sodium_init() < 0) return WARD_EINVAL;
    rng->kind = RNG_SYSTEM;
    randombytes_buf(rng->key, sizeof rng->key);
    rng->buf_pos = sizeof rng->buf;
    return WARD_OK;
}

int ward_rng_init_seeded(ward_rng *rng, const uint8_t seed[WARD_RNG_SEEDBYTES]) {
    WARD_ARG_CHECK(rng != NULL && seed != NULL);
    memset(rng, 0, sizeof *rng);
    if (sodium_init() < 0) return WARD_EINVAL;
    rng->kind = RNG_SEEDED;
    memcpy(rng->key, seed, WARD_RNG_SEEDBYTES);
    rng->buf_pos = sizeof rng->buf;
    return WARD_OK;
}

int ward_rng_init_u64(ward_rng *rng, uint64_t seed) {
    static const char label[] = "ward rng seed v1";
    uint8_t in[sizeof label + 8], key[WARD_RNG_SEEDBYTES];
    memcpy(in, label, sizeof label);
    for (int i = 0; i < 8; i++) in[sizeof label + i] = (uint8_t)(seed >> (8 * i));
    if (sodium_init() < 0) return WARD_EINVAL;
    crypto_hash_sha256(key, in, sizeof in);
    int rc = ward_rng_init_seeded(rng, key);
    sodium_memzero(key, sizeof key);
    return rc;
}

void ward_rng_bytes(ward_rng *rng, uint8_t *out, size_t len) {
    while (len > 0) {
        if (rng->buf_pos == sizeof rng->buf) rng_refill(rng);
        size_t take = sizeof rng->buf - rng->buf_pos;
        if (take > len) take = len;
        memcpy(out, rng->buf + rng->buf_pos, take);
        sodium_memzero(rng->buf + rng->buf_pos, take);
        rng->buf_pos += (uint32_t)take;
        out += take;
        len -= take;
    }
}

uint64_t ward_rng_u64(ward_rng *rng) {
    uint8_t b[8];
    ward_rng_bytes(rng, b, sizeof b);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint64_t ward_rng_uniform(ward_rng *rng, uint64_t bound) {
    if (bound <= 1) return 0;
    /* Reject the top (2^64 mod bound) values so every residue is equally
     * likely; at most half the draws are rejected. */
    uint64_t limit = -bound % bound; /* = 2^64 mod bound */
    for (;;) {
        uint64_t v = ward_rng_u64(rng);
        if (v >= limit) return v % bound;
    }
}

void ward_rng_fork(ward_rng *child, ward_rng *parent, uint64_t label) {
    if (parent->kind != RNG_SEEDED) {
        ward_rng_init_system(child);
        return;
    }
    uint8_t material[32 + 8], key[WARD_RNG_SEEDBYTES];
    ward_rng_bytes(parent, material, 32);
    for (int i = 0; i < 8; i++) material[32 + i] = (uint8_t)(label >> (8 * i));
    crypto_hash_sha256(key, material, sizeof material);
    ward_rng_init_seeded(child, key);
    sodium_memzero(material, sizeof material);
    sodium_memzero(key, sizeof key);
}

void ward_rng_clear(ward_rng *rng) {
    sodium_memzero(rng, sizeof *rng);
}

/* ---- libsodium randombytes implementation backed by a seeded stream ---- */

static ward_rng sodium_seeded_rng;

static const char *sodium_seeded_name(void) { return "ward-seeded"; }
static uint32_t sodium_seeded_random(void) {
    uint8_t b[4];
    ward_rng_bytes(&sodium_seeded_rng, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void sodium_seeded_buf(void *const buf, const size_t size) {
    ward_rng_bytes(&sodium_seeded_rng, buf, size);
}

static struct randombytes_implementation sodium_seeded_impl = {
    .implementation_name = sodium_seeded_name,
    .random = sodium_seeded_random,
    .stir = NULL,
    .uniform = NULL,
    .buf = sodium_seeded_buf,
    .close = NULL,
};

int ward_rng_install_sodium_seeded(const uint8_t seed[WARD_RNG_SEEDBYTES]) {
    WARD_ARG_CHECK(seed != NULL);
    /* Fill the state by hand: ward_rng_init_seeded would call sodium_init(). */
    memset(&sodium_seeded_rng, 0, sizeof sodium_seeded_rng);
    sodium_seeded_rng.kind = RNG_SEEDED;
    memcpy(sodium_seeded_rng.key, seed, WARD_RNG_SEEDBYTES);
    sodium_seeded_rng.buf_pos = sizeof sodium_seeded_rng.buf;
    if (randombytes_set_implementation(&sodium_seeded_impl) != 0) return WARD_ESTATE;
    return WARD_OK;
}
