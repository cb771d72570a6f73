#include "ot_ext.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gc_hash_impl.h"

enum { ST_NONE = 0, ST_READY = 1, ST_PENDING = 2, ST_CLOSED = 3 };

#define K WARD_OTX_KAPPA
#define GROUP_BYTES (K * 16) /* one group: 128 columns x 16 bytes */
#define TILE 8               /* groups expanded together: 8 AES blocks per key */
#define PAD_ROWS 256         /* KOS padding beyond the rounded-up m */

static const char HASH_LABEL[] = "ward otx hash";

static size_t padded_rows(size_t m) { return ((m + K - 1) / K) * K + PAD_ROWS; }

size_t ward_otx_u_bytes(size_t m) { return padded_rows(m) * 16; }

/* ---- building blocks ---------------------------------------------------- */

/* One level of the recursive transpose: for rows i and i + s with
 * (i & s) == 0, swap the high s-bit half of every 2s-bit group of row i
 * with the low half of the same group of row i + s (64-bit lanes keep the
 * groups apart for s <= 32). */
static inline void transpose_level(__m128i *x, int s, uint64_t mask64) {
    const __m128i mask = _mm_set1_epi64x((long long)mask64);
    for (int base = 0; base < K; base += 2 * s) {
        for (int i = base; i < base + s; i++) {
            __m128i a = x[i], b = x[i + s];
            __m128i t = _mm_and_si128(_mm_xor_si128(_mm_srli_epi64(a, s), b), mask);
            x[i + s] = _mm_xor_si128(b, t);
            x[i] = _mm_xor_si128(a, _mm_slli_epi64(t, s));
        }
    }
}

/* Eklundh's transpose: swap the off-diagonal quadrants, then recurse into
 * all four at once; seven levels for 128 x 128. */
static void transpose128(__m128i *x) {
    for (int i = 0; i < 64; i++) {
        __m128i a = x[i], b = x[i + 64];
        x[i] = _mm_unpacklo_epi64(a, b);
        x[i + 64] = _mm_unpackhi_epi64(a, b);
    }
    transpose_level(x, 32, 0x00000000FFFFFFFFull);
    transpose_level(x, 16, 0x0000FFFF0000FFFFull);
    transpose_level(x, 8, 0x00FF00FF00FF00FFull);
    transpose_level(x, 4, 0x0F0F0F0F0F0F0F0Full);
    transpose_level(x, 2, 0x3333333333333333ull);
    transpose_level(x, 1, 0x5555555555555555ull);
}

void ward_bitmatrix_transpose128(ward_block m[128]) {
    transpose128((__m128i *)(void *)m);
}

void ward_gf128_mul(ward_block *out, const ward_block *a, const ward_block *b) {
    gch_acc acc;
    gch_acc_zero(&acc);
    gch_clmul_acc(&acc, blk_ld(a), blk_ld(b));
    blk_st(out, gch_gf_reduce(&acc));
}

/* The 128 choice bits of rows 128g .. 128g+127: the caller's bits below m,
 * the padding bits (pad, bit i - m) from m on. m is public. */
static __m128i row_bits(size_t g, size_t m, const uint8_t *choices, const uint8_t *pad) {
    size_t first = g * K;
    if (first + K <= m) return blk_ldu(choices + first / 8);
    _Alignas(16) uint8_t b[16] = {0};
    for (size_t k = 0; k < K; k++) {
        size_t i = first + k;
        uint8_t bit = i < m ? (uint8_t)((choices[i / 8] >> (i % 8)) & 1)
                            : (uint8_t)((pad[(i - m) / 8] >> ((i - m) % 8)) & 1);
        b[k / 8] |= (uint8_t)(bit << (k % 8));
    }
    __m128i v = _mm_load_si128((const __m128i *)b);
    sodium_memzero(b, sizeof b);
    return v;
}

/* Bit i of the padded choice vector, as a mask. */
static __m128i row_bit_mask(size_t i, size_t m, const uint8_t *choices, const uint8_t *pad) {
    uint8_t bit = i < m ? (uint8_t)((choices[i / 8] >> (i % 8)) & 1)
                        : (uint8_t)((pad[(i - m) / 8] >> ((i - m) % 8)) & 1);
    return blk_bit_mask(bit);
}

/* The hash key of a session: BLAKE2b("ward otx hash" || sid), 16 bytes. */
static int init_hash(ward_tccrh *h, const uint8_t sid[WARD_OTX_SIDBYTES]) {
    uint8_t key[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof key);
    crypto_generichash_update(&st, (const uint8_t *)HASH_LABEL, sizeof HASH_LABEL - 1);
    crypto_generichash_update(&st, sid, WARD_OTX_SIDBYTES);
    crypto_generichash_final(&st, key, sizeof key);
    return ward_tccrh_init(h, key);
}

static ward_aes128 *alloc_keys(size_t n) {
    return aligned_alloc(64, n * sizeof(ward_aes128));
}

static void free_keys(ward_aes128 *k, size_t n) {
    if (!k) return;
    sodium_memzero(k, n * sizeof *k);
    free(k);
}

/* Sender, groups g0 .. g0+nt-1: column j of group k is
 * G_j(ctr + g0 + k) ^ (Delta_j ? u_j : 0). Inlined with nt = TILE for
 * the full tiles so the eight blocks stay in registers. */
static inline __attribute__((always_inline)) void send_columns(
    const ward_aes128 *prg, const __m128i *dmask, __m128i (*cols)[K], const uint8_t *u,
    uint64_t ctr, size_t g0, size_t nt, __m128i *b) {
    for (int j = 0; j < K; j++) {
        gch_keys rk;
        gch_keys_load(&rk, &prg[j]);
        for (size_t k = 0; k < nt; k++) b[k] = blk_u64(ctr + g0 + k);
        if (nt == TILE) gch_aes8(&rk, b);
        else gch_aes_n(&rk, b, nt);
        for (size_t k = 0; k < nt; k++) {
            __m128i uu = blk_ldu(u + (g0 + k) * GROUP_BYTES + (size_t)j * 16);
            cols[k][j] = _mm_xor_si128(b[k], _mm_and_si128(uu, dmask[j]));
        }
    }
}

/* Receiver, groups g0 .. g0+nt-1: t column G0_j, and u_j = G0_j ^ G1_j ^ r
 * written to the message. */
static inline __attribute__((always_inline)) void recv_columns(
    const ward_aes128 *prg, const __m128i *rb, __m128i (*cols)[K], uint8_t *u, uint64_t ctr,
    size_t g0, size_t nt, __m128i *b0, __m128i *b1) {
    for (int j = 0; j < K; j++) {
        gch_keys rk0, rk1;
        gch_keys_load(&rk0, &prg[j]);
        gch_keys_load(&rk1, &prg[K + j]);
        for (size_t k = 0; k < nt; k++) b0[k] = b1[k] = blk_u64(ctr + g0 + k);
        if (nt == TILE) {
            gch_aes8(&rk0, b0);
            gch_aes8(&rk1, b1);
        } else {
            gch_aes_n(&rk0, b0, nt);
            gch_aes_n(&rk1, b1, nt);
        }
        for (size_t k = 0; k < nt; k++) {
            cols[k][j] = b0[k];
            blk_stu(u + (g0 + k) * GROUP_BYTES + (size_t)j * 16,
                    _mm_xor_si128(_mm_xor_si128(b0[k], b1[k]), rb[k]));
        }
    }
}

/* ---- sender ------------------------------------------------------------- */

static void sender_wipe(ward_otx_sender *s, int state) {
    free_keys(s->prg, K);
    sodium_memzero(s, sizeof *s);
    s->state = state;
}

int ward_otx_sender_init(ward_otx_sender *s, const uint8_t sid[WARD_OTX_SIDBYTES],
                         const ward_block *delta, const ward_block seeds[WARD_OTX_KAPPA]) {
    WARD_ARG_CHECK(s != NULL);
    memset(s, 0, sizeof *s);
    s->state = ST_CLOSED;
    WARD_ARG_CHECK(sid != NULL && delta != NULL && seeds != NULL);
    if (sodium_init() < 0) return WARD_EINVAL;
    int rc = init_hash(&s->hash, sid);
    if (rc != WARD_OK) return rc;
    s->prg = alloc_keys(K);
    if (!s->prg) return WARD_ENOMEM;
    for (int j = 0; j < K; j++) ward_aes128_init(&s->prg[j], seeds[j].b);
    memcpy(s->sid, sid, sizeof s->sid);
    s->delta = *delta;
    s->state = ST_READY;
    return WARD_OK;
}

static int sender_fail(ward_otx_sender *s, int rc) {
    sender_wipe(s, ST_CLOSED);
    return rc;
}

int ward_otx_send_extend(ward_otx_sender *s, ward_rng *rng, ward_block *q,
                         uint8_t challenge[WARD_OTX_CHALLENGE_BYTES], size_t m,
                         const uint8_t *u, size_t u_len) {
    WARD_ARG_CHECK(s != NULL);
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state == ST_PENDING) return WARD_ESTATE;
    if (s->state != ST_READY) return WARD_EINVAL;
    WARD_ARG_CHECK(rng != NULL && q != NULL && challenge != NULL && m >= 1 &&
                   m <= WARD_OTX_MAX && (u != NULL || u_len == 0));
    const size_t mp = padded_rows(m), groups = mp / K;
    if (u_len < mp * 16) return sender_fail(s, WARD_ETRUNC);
    if (u_len > mp * 16) return sender_fail(s, WARD_EPARSE);

    ward_aes128 chi_key;
    ward_block w;
    ward_rng_bytes(rng, w.b, sizeof w.b);
    ward_aes128_init(&chi_key, w.b);
    gch_keys ck;
    gch_keys_load(&ck, &chi_key);

    __m128i dmask[K];
    for (int j = 0; j < K; j++) dmask[j] = blk_bit_mask((uint32_t)(s->delta.b[j / 8] >> (j % 8)));
    _Alignas(64) __m128i cols[TILE][K];
    __m128i prg_out[TILE];
    gch_acc acc;
    gch_acc_zero(&acc);

    for (size_t g0 = 0; g0 < groups; g0 += TILE) {
        size_t nt = groups - g0 < TILE ? groups - g0 : TILE;
        if (nt == TILE) send_columns(s->prg, dmask, cols, u, s->ctr, g0, TILE, prg_out);
        else send_columns(s->prg, dmask, cols, u, s->ctr, g0, nt, prg_out);
        for (size_t k = 0; k < nt; k++) {
            transpose128(cols[k]);
            size_t row0 = (g0 + k) * K;
            for (int i = 0; i < K; i += 8) {
                __m128i chi[8];
                for (int z = 0; z < 8; z++) chi[z] = blk_u64(row0 + (size_t)i + (size_t)z);
                gch_aes8(&ck, chi);
                for (int z = 0; z < 8; z++) gch_clmul_acc(&acc, chi[z], cols[k][i + z]);
            }
            if (row0 + K <= m) {
                memcpy(&q[row0], cols[k], GROUP_BYTES);
            } else {
                for (size_t i = row0; i < m; i++) blk_st(&q[i], cols[k][i - row0]);
            }
        }
    }
    blk_st(&s->qsum, gch_gf_reduce(&acc));
    s->ctr += groups;
    s->pending_m = m;
    s->state = ST_PENDING;
    memcpy(challenge, w.b, WARD_OTX_CHALLENGE_BYTES);
    sodium_memzero(cols, sizeof cols);
    sodium_memzero(prg_out, sizeof prg_out);
    sodium_memzero(dmask, sizeof dmask);
    sodium_memzero(&chi_key, sizeof chi_key);
    sodium_memzero(&acc, sizeof acc);
    return WARD_OK;
}

int ward_otx_send_verify(ward_otx_sender *s, ward_block *q, size_t m,
                         const uint8_t *check, size_t check_len) {
    WARD_ARG_CHECK(s != NULL);
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state != ST_PENDING) return WARD_ESTATE;
    WARD_ARG_CHECK(q != NULL && m == s->pending_m && (check != NULL || check_len == 0));
    int rc = WARD_OK;
    if (check_len < WARD_OTX_CHECK_BYTES) rc = WARD_ETRUNC;
    else if (check_len > WARD_OTX_CHECK_BYTES) rc = WARD_EPARSE;
    if (rc == WARD_OK) {
        ward_block x, t, xd, want;
        memcpy(x.b, check, 16);
        memcpy(t.b, check + 16, 16);
        ward_gf128_mul(&xd, &x, &s->delta);
        blk_st(&want, _mm_xor_si128(blk_ld(&t), blk_ld(&xd)));
        if (sodium_memcmp(want.b, s->qsum.b, 16) != 0) rc = WARD_EDECRYPT;
        sodium_memzero(&xd, sizeof xd);
        sodium_memzero(&want, sizeof want);
    }
    if (rc != WARD_OK) {
        sodium_memzero(q, m * sizeof *q);
        return sender_fail(s, rc);
    }
    sodium_memzero(&s->qsum, sizeof s->qsum);
    s->pending_m = 0;
    s->state = ST_READY;
    return WARD_OK;
}

static int sender_ready(const ward_otx_sender *s) {
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state == ST_PENDING) return WARD_ESTATE;
    if (s->state != ST_READY) return WARD_EINVAL;
    return WARD_OK;
}

/* For rows q[0..n) (n <= 4): h0[k] = H(q_k, idx_k), h1[k] = H(q_k ^ Delta,
 * idx_k), eight blocks through AES at once; sigma(q ^ Delta) = sigma(q) ^
 * sigma(Delta). The n = 4 case is written out so the blocks stay in
 * registers. */
static inline __attribute__((always_inline)) void hash_pairs(const gch_keys *rk, __m128i sD,
                                                             const ward_block *q, size_t n,
                                                             uint64_t idx0, __m128i *h0,
                                                             __m128i *h1, __m128i *b) {
    if (n == 4) {
        __m128i s0 = blk_sigma(blk_ld(&q[0])), s1 = blk_sigma(blk_ld(&q[1]));
        __m128i s2 = blk_sigma(blk_ld(&q[2])), s3 = blk_sigma(blk_ld(&q[3]));
        b[0] = _mm_xor_si128(s0, blk_u64(idx0));
        b[2] = _mm_xor_si128(s1, blk_u64(idx0 + 1));
        b[4] = _mm_xor_si128(s2, blk_u64(idx0 + 2));
        b[6] = _mm_xor_si128(s3, blk_u64(idx0 + 3));
        b[1] = _mm_xor_si128(b[0], sD);
        b[3] = _mm_xor_si128(b[2], sD);
        b[5] = _mm_xor_si128(b[4], sD);
        b[7] = _mm_xor_si128(b[6], sD);
        gch_aes8(rk, b);
        h0[0] = _mm_xor_si128(b[0], s0);
        h0[1] = _mm_xor_si128(b[2], s1);
        h0[2] = _mm_xor_si128(b[4], s2);
        h0[3] = _mm_xor_si128(b[6], s3);
        h1[0] = _mm_xor_si128(b[1], _mm_xor_si128(s0, sD));
        h1[1] = _mm_xor_si128(b[3], _mm_xor_si128(s1, sD));
        h1[2] = _mm_xor_si128(b[5], _mm_xor_si128(s2, sD));
        h1[3] = _mm_xor_si128(b[7], _mm_xor_si128(s3, sD));
        return;
    }
    __m128i sq[4];
    for (size_t k = 0; k < n; k++) {
        sq[k] = blk_sigma(blk_ld(&q[k]));
        b[2 * k] = _mm_xor_si128(sq[k], blk_u64(idx0 + k));
        b[2 * k + 1] = _mm_xor_si128(b[2 * k], sD);
    }
    gch_aes_n(rk, b, 2 * n);
    for (size_t k = 0; k < n; k++) {
        h0[k] = _mm_xor_si128(b[2 * k], sq[k]);
        h1[k] = _mm_xor_si128(b[2 * k + 1], _mm_xor_si128(sq[k], sD));
    }
}

int ward_otx_send_random(const ward_otx_sender *s, ward_block *out0, ward_block *out1,
                         const ward_block *q, size_t m, uint64_t index0) {
    WARD_ARG_CHECK(s != NULL && out0 != NULL && out1 != NULL && (q != NULL || m == 0));
    int rc = sender_ready(s);
    if (rc != WARD_OK) return rc;
    gch_keys rk;
    gch_keys_load(&rk, &s->hash.pi);
    const __m128i sD = blk_sigma(blk_ld(&s->delta));
    __m128i h0[4], h1[4], b[8];
    for (size_t i = 0; i < m; i += 4) {
        size_t n = m - i < 4 ? m - i : 4;
        if (n == 4) hash_pairs(&rk, sD, q + i, 4, index0 + i, h0, h1, b);
        else hash_pairs(&rk, sD, q + i, n, index0 + i, h0, h1, b);
        for (size_t k = 0; k < n; k++) {
            blk_st(&out0[i + k], h0[k]);
            blk_st(&out1[i + k], h1[k]);
        }
    }
    sodium_memzero(h0, sizeof h0);
    sodium_memzero(h1, sizeof h1);
    sodium_memzero(b, sizeof b);
    return WARD_OK;
}

int ward_otx_send_chosen(const ward_otx_sender *s, uint8_t *y, size_t y_cap,
                         const ward_block *m0, const ward_block *m1,
                         const ward_block *q, size_t m, uint64_t index0) {
    WARD_ARG_CHECK(s != NULL && ((y != NULL && m0 != NULL && m1 != NULL && q != NULL) || m == 0));
    WARD_ARG_CHECK(m <= WARD_OTX_MAX && y_cap >= 32 * m);
    int rc = sender_ready(s);
    if (rc != WARD_OK) return rc;
    gch_keys rk;
    gch_keys_load(&rk, &s->hash.pi);
    const __m128i sD = blk_sigma(blk_ld(&s->delta));
    __m128i h0[4], h1[4], b[8];
    for (size_t i = 0; i < m; i += 4) {
        size_t n = m - i < 4 ? m - i : 4;
        if (n == 4) hash_pairs(&rk, sD, q + i, 4, index0 + i, h0, h1, b);
        else hash_pairs(&rk, sD, q + i, n, index0 + i, h0, h1, b);
        for (size_t k = 0; k < n; k++) {
            blk_stu(y + 32 * (i + k), _mm_xor_si128(h0[k], blk_ld(&m0[i + k])));
            blk_stu(y + 32 * (i + k) + 16, _mm_xor_si128(h1[k], blk_ld(&m1[i + k])));
        }
    }
    sodium_memzero(h0, sizeof h0);
    sodium_memzero(h1, sizeof h1);
    sodium_memzero(b, sizeof b);
    return WARD_OK;
}

void ward_otx_sender_clear(ward_otx_sender *s) {
    if (s) sender_wipe(s, ST_NONE);
}

/* ---- receiver ----------------------------------------------------------- */

static void receiver_wipe(ward_otx_receiver *r, int state) {
    free_keys(r->prg, 2 * K);
    sodium_memzero(r, sizeof *r);
    r->state = state;
}

int ward_otx_receiver_init(ward_otx_receiver *r, const uint8_t sid[WARD_OTX_SIDBYTES],
                           const ward_block seeds0[WARD_OTX_KAPPA],
                           const ward_block seeds1[WARD_OTX_KAPPA]) {
    WARD_ARG_CHECK(r != NULL);
    memset(r, 0, sizeof *r);
    r->state = ST_CLOSED;
    WARD_ARG_CHECK(sid != NULL && seeds0 != NULL && seeds1 != NULL);
    if (sodium_init() < 0) return WARD_EINVAL;
    int rc = init_hash(&r->hash, sid);
    if (rc != WARD_OK) return rc;
    r->prg = alloc_keys(2 * K);
    if (!r->prg) return WARD_ENOMEM;
    for (int j = 0; j < K; j++) {
        ward_aes128_init(&r->prg[j], seeds0[j].b);
        ward_aes128_init(&r->prg[K + j], seeds1[j].b);
    }
    memcpy(r->sid, sid, sizeof r->sid);
    r->state = ST_READY;
    return WARD_OK;
}

int ward_otx_recv_extend(ward_otx_receiver *r, ward_rng *rng, uint8_t *u, size_t cap,
                         ward_block *t, const uint8_t *choices, size_t m) {
    WARD_ARG_CHECK(r != NULL);
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state == ST_PENDING) return WARD_ESTATE;
    if (r->state != ST_READY) return WARD_EINVAL;
    WARD_ARG_CHECK(rng != NULL && u != NULL && t != NULL && choices != NULL && m >= 1 &&
                   m <= WARD_OTX_MAX);
    const size_t mp = padded_rows(m), groups = mp / K;
    WARD_ARG_CHECK(cap >= mp * 16);

    ward_rng_bytes(rng, r->pad_r, sizeof r->pad_r);
    _Alignas(64) __m128i cols[TILE][K];
    __m128i rb[TILE], prg0[TILE], prg1[TILE];

    for (size_t g0 = 0; g0 < groups; g0 += TILE) {
        size_t nt = groups - g0 < TILE ? groups - g0 : TILE;
        for (size_t k = 0; k < nt; k++) rb[k] = row_bits(g0 + k, m, choices, r->pad_r);
        if (nt == TILE) recv_columns(r->prg, rb, cols, u, r->ctr, g0, TILE, prg0, prg1);
        else recv_columns(r->prg, rb, cols, u, r->ctr, g0, nt, prg0, prg1);
        for (size_t k = 0; k < nt; k++) {
            transpose128(cols[k]);
            size_t row0 = (g0 + k) * K;
            if (row0 + K <= m) {
                memcpy(&t[row0], cols[k], GROUP_BYTES);
            } else {
                for (size_t i = row0; i < row0 + K; i++) {
                    if (i < m) blk_st(&t[i], cols[k][i - row0]);
                    else blk_st(&r->pad_t[i - m], cols[k][i - row0]);
                }
            }
        }
    }
    r->ctr += groups;
    r->pending_m = m;
    r->state = ST_PENDING;
    sodium_memzero(cols, sizeof cols);
    sodium_memzero(rb, sizeof rb);
    sodium_memzero(prg0, sizeof prg0);
    sodium_memzero(prg1, sizeof prg1);
    return WARD_OK;
}

int ward_otx_recv_check(ward_otx_receiver *r, uint8_t check[WARD_OTX_CHECK_BYTES],
                        const ward_block *t, const uint8_t *choices, size_t m,
                        const uint8_t *challenge, size_t challenge_len) {
    WARD_ARG_CHECK(r != NULL);
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_PENDING) return WARD_ESTATE;
    WARD_ARG_CHECK(check != NULL && t != NULL && choices != NULL && m == r->pending_m &&
                   (challenge != NULL || challenge_len == 0));
    if (challenge_len < WARD_OTX_CHALLENGE_BYTES) {
        receiver_wipe(r, ST_CLOSED);
        return WARD_ETRUNC;
    }
    if (challenge_len > WARD_OTX_CHALLENGE_BYTES) {
        receiver_wipe(r, ST_CLOSED);
        return WARD_EPARSE;
    }
    const size_t mp = padded_rows(m);
    ward_aes128 chi_key;
    ward_aes128_init(&chi_key, challenge);
    gch_keys ck;
    gch_keys_load(&ck, &chi_key);
    __m128i x = _mm_setzero_si128();
    gch_acc acc;
    gch_acc_zero(&acc);
    size_t full = (m / 8) * 8;
    for (size_t i = 0; i < full; i += 8) {
        __m128i chi[8];
        for (int z = 0; z < 8; z++) chi[z] = blk_u64(i + (size_t)z);
        gch_aes8(&ck, chi);
        uint8_t byte = choices[i / 8];
        for (int z = 0; z < 8; z++) {
            x = _mm_xor_si128(x, _mm_and_si128(chi[z], blk_bit_mask((uint32_t)(byte >> z))));
            gch_clmul_acc(&acc, chi[z], blk_ld(&t[i + (size_t)z]));
        }
    }
    for (size_t i = full; i < mp; i++) {
        __m128i chi = gch_aes1(&ck, blk_u64(i));
        __m128i row = i < m ? blk_ld(&t[i]) : blk_ld(&r->pad_t[i - m]);
        x = _mm_xor_si128(x, _mm_and_si128(chi, row_bit_mask(i, m, choices, r->pad_r)));
        gch_clmul_acc(&acc, chi, row);
    }
    blk_stu(check, x);
    blk_stu(check + 16, gch_gf_reduce(&acc));
    sodium_memzero(&chi_key, sizeof chi_key);
    sodium_memzero(r->pad_t, sizeof r->pad_t);
    sodium_memzero(r->pad_r, sizeof r->pad_r);
    r->pending_m = 0;
    r->state = ST_READY;
    return WARD_OK;
}

static int receiver_ready(const ward_otx_receiver *r) {
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_READY && r->state != ST_PENDING) return WARD_EINVAL;
    return WARD_OK;
}

int ward_otx_recv_random(const ward_otx_receiver *r, ward_block *out, const ward_block *t,
                         size_t m, uint64_t index0) {
    WARD_ARG_CHECK(r != NULL && ((out != NULL && t != NULL) || m == 0));
    int rc = receiver_ready(r);
    if (rc != WARD_OK) return rc;
    ward_tccrh_hash_seq(&r->hash, out, t, m, index0);
    return WARD_OK;
}

int ward_otx_recv_chosen(const ward_otx_receiver *r, ward_block *out,
                         const uint8_t *choices, const ward_block *t, size_t m,
                         uint64_t index0, const uint8_t *y, size_t y_len) {
    WARD_ARG_CHECK(r != NULL && ((out != NULL && choices != NULL && t != NULL) || m == 0));
    WARD_ARG_CHECK(m <= WARD_OTX_MAX && (y != NULL || y_len == 0));
    int rc = receiver_ready(r);
    if (rc != WARD_OK) return rc;
    if (y_len < 32 * m) return WARD_ETRUNC;
    if (y_len > 32 * m) return WARD_EPARSE;
    ward_tccrh_hash_seq(&r->hash, out, t, m, index0);
    for (size_t i = 0; i < m; i++) {
        __m128i sel = blk_bit_mask((uint32_t)(choices[i / 8] >> (i % 8)));
        __m128i y0 = blk_ldu(y + 32 * i), y1 = blk_ldu(y + 32 * i + 16);
        __m128i yy = _mm_xor_si128(y0, _mm_and_si128(sel, _mm_xor_si128(y0, y1)));
        blk_st(&out[i], _mm_xor_si128(blk_ld(&out[i]), yy));
    }
    return WARD_OK;
}

void ward_otx_receiver_clear(ward_otx_receiver *r) {
    if (r) receiver_wipe(r, ST_NONE);
}
