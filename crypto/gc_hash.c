#include "gc_hash.h"

#include <sodium.h>
#include <string.h>

#include "error.h"
#include "gc_hash_impl.h"

int ward_gc_cpu_check(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("aes") || !__builtin_cpu_supports("pclmul") ||
        !__builtin_cpu_supports("ssse3"))
        return WARD_EUNSUPPORTED;
    return WARD_OK;
}

/* One step of the AES-128 key schedule (FIPS-197 5.2): gen is
 * aeskeygenassist(prev, rcon), whose top word is SubWord(RotWord(w3)) ^ rcon. */
static __m128i expand_step(__m128i key, __m128i gen) {
    gen = _mm_shuffle_epi32(gen, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, gen);
}

#define EXPAND(i, rcon) \
    rk[i] = expand_step(rk[(i) - 1], _mm_aeskeygenassist_si128(rk[(i) - 1], rcon))

int ward_aes128_init(ward_aes128 *k, const uint8_t key[16]) {
    WARD_ARG_CHECK(k != NULL && key != NULL);
    if (ward_gc_cpu_check() != WARD_OK) {
        memset(k, 0, sizeof *k);
        return WARD_EUNSUPPORTED;
    }
    __m128i rk[11];
    rk[0] = _mm_loadu_si128((const __m128i *)key);
    EXPAND(1, 0x01);
    EXPAND(2, 0x02);
    EXPAND(3, 0x04);
    EXPAND(4, 0x08);
    EXPAND(5, 0x10);
    EXPAND(6, 0x20);
    EXPAND(7, 0x40);
    EXPAND(8, 0x80);
    EXPAND(9, 0x1b);
    EXPAND(10, 0x36);
    for (int i = 0; i < 11; i++) _mm_store_si128((__m128i *)k->rk[i], rk[i]);
    sodium_memzero(rk, sizeof rk);
    return WARD_OK;
}

void ward_aes128_ecb(const ward_aes128 *k, ward_block *out, const ward_block *in,
                     size_t n) {
    gch_keys rk;
    gch_keys_load(&rk, k);
    __m128i b[8];
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) b[j] = blk_ld(&in[i + j]);
        gch_aes8(&rk, b);
        for (int j = 0; j < 8; j++) blk_st(&out[i + j], b[j]);
    }
    size_t r = n - i;
    for (size_t j = 0; j < r; j++) b[j] = blk_ld(&in[i + j]);
    gch_aes_n(&rk, b, r);
    for (size_t j = 0; j < r; j++) blk_st(&out[i + j], b[j]);
    sodium_memzero(&rk, sizeof rk);
    sodium_memzero(b, sizeof b);
}

void ward_aes128_ctr(const ward_aes128 *k, ward_block *out, size_t n, uint64_t ctr) {
    gch_keys rk;
    gch_keys_load(&rk, k);
    __m128i b[8];
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) b[j] = blk_u64(ctr + i + (uint64_t)j);
        gch_aes8(&rk, b);
        for (int j = 0; j < 8; j++) blk_st(&out[i + j], b[j]);
    }
    size_t r = n - i;
    for (size_t j = 0; j < r; j++) b[j] = blk_u64(ctr + i + j);
    gch_aes_n(&rk, b, r);
    for (size_t j = 0; j < r; j++) blk_st(&out[i + j], b[j]);
    sodium_memzero(&rk, sizeof rk);
    sodium_memzero(b, sizeof b);
}

void ward_aes128_clear(ward_aes128 *k) {
    if (k) sodium_memzero(k, sizeof *k);
}

int ward_tccrh_init(ward_tccrh *h, const uint8_t key[16]) {
    WARD_ARG_CHECK(h != NULL && key != NULL);
    return ward_aes128_init(&h->pi, key);
}

void ward_tccrh_hash(const ward_tccrh *h, ward_block *out, const ward_block *in,
                     const ward_block *tweaks, size_t n) {
    gch_keys rk;
    gch_keys_load(&rk, &h->pi);
    __m128i b[8], t[8];
    for (size_t i = 0; i < n; i += 8) {
        size_t m = n - i < 8 ? n - i : 8;
        for (size_t j = 0; j < m; j++) {
            b[j] = blk_ld(&in[i + j]);
            t[j] = blk_ld(&tweaks[i + j]);
        }
        gch_tccr8(&rk, b, t, m);
        for (size_t j = 0; j < m; j++) blk_st(&out[i + j], b[j]);
    }
    sodium_memzero(b, sizeof b);
}

void ward_tccrh_hash_seq(const ward_tccrh *h, ward_block *out, const ward_block *in,
                         size_t n, uint64_t tweak0) {
    gch_keys rk;
    gch_keys_load(&rk, &h->pi);
    __m128i b[8], t[8];
    size_t i = 0;
    /* Whole groups of eight: sigma(x) is recomputed after the cipher
     * rather than kept, so the eight blocks and a round key fit the
     * sixteen registers. */
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++)
            b[j] = _mm_xor_si128(blk_sigma(blk_ld(&in[i + j])), blk_u64(tweak0 + i + (size_t)j));
        gch_aes8(&rk, b);
        for (int j = 0; j < 8; j++)
            blk_st(&out[i + j], _mm_xor_si128(b[j], blk_sigma(blk_ld(&in[i + j]))));
    }
    size_t m = n - i;
    if (m) {
        for (size_t j = 0; j < m; j++) {
            b[j] = blk_ld(&in[i + j]);
            t[j] = blk_u64(tweak0 + i + j);
        }
        gch_tccr8(&rk, b, t, m);
        for (size_t j = 0; j < m; j++) blk_st(&out[i + j], b[j]);
    }
    sodium_memzero(b, sizeof b);
}

void ward_block_sigma(ward_block *out, const ward_block *x) {
    blk_st(out, blk_sigma(blk_ld(x)));
}
