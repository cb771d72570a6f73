#include "field61.h"

#include <sodium.h>

#include "error.h"

ward_f61 ward_f61_pow(ward_f61 a, uint64_t e) {
    ward_f61 r = 1;
    for (int i = 63; i >= 0; i--) {
        r = ward_f61_sqr(r);
        ward_f61 t = ward_f61_mul(r, a);
        r = ward_f61_select(0 - ((e >> i) & 1), t, r);
    }
    return r;
}

/* x^(2^k) */
static ward_f61 sqr_n(ward_f61 x, int k) {
    for (int i = 0; i < k; i++) x = ward_f61_sqr(x);
    return x;
}

int ward_f61_inv(ward_f61 *out, ward_f61 a) {
    WARD_ARG_CHECK(out != NULL);
    /* p - 2 = 2^61 - 3 = (2^59 - 1) * 4 + 1. Build a^(2^59 - 1) from runs
     * of ones: x_k = a^(2^k - 1); 60 squarings and 10 multiplications. */
    ward_f61 x2 = ward_f61_mul(ward_f61_sqr(a), a);
    ward_f61 x3 = ward_f61_mul(ward_f61_sqr(x2), a);
    ward_f61 x6 = ward_f61_mul(sqr_n(x3, 3), x3);
    ward_f61 x12 = ward_f61_mul(sqr_n(x6, 6), x6);
    ward_f61 x24 = ward_f61_mul(sqr_n(x12, 12), x12);
    ward_f61 x48 = ward_f61_mul(sqr_n(x24, 24), x24);
    ward_f61 x54 = ward_f61_mul(sqr_n(x48, 6), x6);
    ward_f61 x57 = ward_f61_mul(sqr_n(x54, 3), x3);
    ward_f61 x59 = ward_f61_mul(sqr_n(x57, 2), x2);
    *out = ward_f61_mul(sqr_n(x59, 2), a);
    /* 0^(p-2) = 0, so *out is already 0 for a zero input. */
    return WARD_EINVAL & -(int)ward_f61_is_zero(a);
}

void ward_f61_vec_add(ward_f61 *out, const ward_f61 *a, const ward_f61 *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_add(a[i], b[i]);
}

void ward_f61_vec_sub(ward_f61 *out, const ward_f61 *a, const ward_f61 *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_sub(a[i], b[i]);
}

void ward_f61_vec_neg(ward_f61 *out, const ward_f61 *a, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_neg(a[i]);
}

void ward_f61_vec_scale(ward_f61 *out, ward_f61 s, const ward_f61 *a, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_mul(s, a[i]);
}

static void muladd_scalar(ward_f61 *out, ward_f61 s, const ward_f61 *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_muladd(out[i], s, b[i]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_MULADD_AVX2 1

/* Four lanes at a time from 32x32-bit products (x86 has no vector 64x64
 * multiply). With s = sh 2^32 + sl and b = bh 2^32 + bl (sh, bh < 2^29):
 *   s b = lo + mid 2^32 + hi 2^64,  lo = sl bl, mid = sl bh + sh bl, hi = sh bh,
 * and mod p, 2^64 = 8 and mid 2^32 = (mid mod 2^29) 2^32 + (mid >> 29). The
 * six terms plus out[i] stay below 2^63 + 2^34; one fold leaves at most
 * p + 4, and one conditional subtraction (by mask) makes it canonical. */
__attribute__((target("avx2"))) static void muladd_avx2(ward_f61 *out, ward_f61 s,
                                                       const ward_f61 *b, size_t n) {
    const __m256i p = _mm256_set1_epi64x((long long)WARD_F61_P);
    const __m256i m29 = _mm256_set1_epi64x((1ll << 29) - 1);
    const __m256i sl = _mm256_set1_epi64x((long long)(s & 0xffffffffu));
    const __m256i sh = _mm256_set1_epi64x((long long)(s >> 32));
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i bv = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i ov = _mm256_loadu_si256((const __m256i *)(out + i));
        __m256i bh = _mm256_srli_epi64(bv, 32);
        __m256i lo = _mm256_mul_epu32(sl, bv);
        __m256i mid = _mm256_add_epi64(_mm256_mul_epu32(sl, bh), _mm256_mul_epu32(sh, bv));
        __m256i hi = _mm256_mul_epu32(sh, bh);
        __m256i x = _mm256_add_epi64(_mm256_and_si256(lo, p), _mm256_srli_epi64(lo, 61));
        x = _mm256_add_epi64(x, _mm256_slli_epi64(_mm256_and_si256(mid, m29), 32));
        x = _mm256_add_epi64(x, _mm256_srli_epi64(mid, 29));
        x = _mm256_add_epi64(x, _mm256_slli_epi64(hi, 3));
        x = _mm256_add_epi64(x, ov);
        x = _mm256_add_epi64(_mm256_and_si256(x, p), _mm256_srli_epi64(x, 61));
        /* x < 2p < 2^63, so the signed compare is exact: subtract p where
         * x >= p, i.e. where not (p > x). */
        __m256i lt = _mm256_cmpgt_epi64(p, x);
        x = _mm256_sub_epi64(x, _mm256_andnot_si256(lt, p));
        _mm256_storeu_si256((__m256i *)(out + i), x);
    }
    muladd_scalar(out + i, s, b + i, n - i);
}
#endif

void ward_f61_vec_muladd(ward_f61 *out, ward_f61 s, const ward_f61 *b, size_t n) {
#ifdef HAVE_MULADD_AVX2
    /* Dispatch on the CPU (public), never on the data. */
    if (n >= 8 && __builtin_cpu_supports("avx2")) {
        muladd_avx2(out, s, b, n);
        return;
    }
#endif
    muladd_scalar(out, s, b, n);
}

ward_f61 ward_f61_vec_dot(const ward_f61 *a, const ward_f61 *b, size_t n) {
    ward_f61 r = 0;
    size_t i = 0;
    while (i < n) {
        size_t end = n - i > WARD_F61_LAZY_PRODUCTS ? i + WARD_F61_LAZY_PRODUCTS : n;
        /* The residue r plus at most WARD_F61_LAZY_PRODUCTS products stays
         * below 2^128 (see field61.h). */
        unsigned __int128 acc = r;
        for (; i < end; i++) acc += (unsigned __int128)a[i] * b[i];
        r = ward_f61_reduce128(acc);
    }
    return r;
}

int ward_f61_vec_inv(ward_f61 *out, const ward_f61 *in, size_t n) {
    WARD_ARG_CHECK(n == 0 || (out != NULL && in != NULL));
    WARD_ARG_CHECK(n == 0 || out + n <= in || in + n <= out);
    if (n == 0) return WARD_OK;
    /* out[i] = in[0] * ... * in[i]; a zero anywhere makes the total zero. */
    out[0] = in[0];
    for (size_t i = 1; i < n; i++) out[i] = ward_f61_mul(out[i - 1], in[i]);
    ward_f61 inv;
    int rc = ward_f61_inv(&inv, out[n - 1]);
    /* On a zero input inv is 0, so the backward pass writes zeros
     * everywhere without a branch. */
    for (size_t i = n - 1; i > 0; i--) {
        ward_f61 x = in[i];
        out[i] = ward_f61_mul(inv, out[i - 1]);
        inv = ward_f61_mul(inv, x);
    }
    out[0] = inv;
    return rc;
}

static uint64_t load64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

ward_f61 ward_f61_random(ward_rng *rng) {
    uint8_t b[8];
    ward_f61 v;
    do {
        ward_rng_bytes(rng, b, sizeof b);
        v = load64_le(b) & WARD_F61_P;
    } while (v == WARD_F61_P); /* rejects a value that is then discarded */
    sodium_memzero(b, sizeof b);
    return v;
}

void ward_f61_vec_random(ward_rng *rng, ward_f61 *out, size_t n) {
    /* One request for the whole vector (a system generator makes one
     * syscall per request), then decoded in place. */
    ward_rng_bytes(rng, (uint8_t *)out, n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        ward_f61 v = load64_le((const uint8_t *)(out + i)) & WARD_F61_P;
        /* Probability 2^-61: redraw only the rejected element. */
        if (v == WARD_F61_P) v = ward_f61_random(rng);
        out[i] = v;
    }
}
