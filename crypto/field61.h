/* Arithmetic in F_p, p = 2^61 - 1 (a Mersenne prime).
 *
 * An element is a uint64_t in canonical form, 0 <= x < p. Every function
 * below takes canonical inputs and returns canonical outputs, except
 * ward_f61_from_u64(), which accepts any 64-bit integer. Passing a value
 * >= p elsewhere is a precondition violation: results are then unspecified
 * (but memory safe).
 *
 * All functions are constant time: no branch and no memory index depends on
 * an element's value. Conditional corrections use masks. Vector lengths and
 * exponents of ward_f61_pow() are public.
 *
 * Reduction: 2^61 = 1 (mod p), so a product x < 2^122 reduces as
 * (x mod 2^61) + (x >> 61), followed by at most one subtraction of p.
 */
#ifndef WARD_FIELD61_H
#define WARD_FIELD61_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef uint64_t ward_f61;

#define WARD_F61_P ((uint64_t)0x1FFFFFFFFFFFFFFFull) /* 2^61 - 1 */
#define WARD_F61_HALF ((uint64_t)0x0FFFFFFFFFFFFFFFull) /* (p - 1) / 2 */

/* The most products of two canonical elements that may be summed, on top of
 * one canonical residue, in an unsigned __int128 before it must be reduced:
 * 64 * (p-1)^2 + (p-1) = 2^128 - 2^69 + 2^61 + 254 < 2^128. */
#define WARD_F61_LAZY_PRODUCTS 64

/* ---- scalar operations (inline) ---- */

/* x < 2p (and so x < 2^63)  ->  x mod p. */
static inline ward_f61 ward_f61_reduce_once(uint64_t x) {
    uint64_t t = x - WARD_F61_P;
    /* t wrapped (top bit set) exactly when x < p: add p back in that case. */
    return t + (WARD_F61_P & (0 - (t >> 63)));
}

/* Any 64-bit integer -> its residue mod p. */
static inline ward_f61 ward_f61_from_u64(uint64_t x) {
    /* (x & p) <= p and x >> 61 <= 7, so the sum is below 2p. */
    return ward_f61_reduce_once((x & WARD_F61_P) + (x >> 61));
}

/* Any x < 2^128 -> x mod p (for lazily accumulated sums of products). */
static inline ward_f61 ward_f61_reduce128(unsigned __int128 x) {
    uint64_t lo = (uint64_t)x & WARD_F61_P;
    uint64_t mid = (uint64_t)(x >> 61) & WARD_F61_P;
    uint64_t hi = (uint64_t)(x >> 122); /* < 64 */
    /* lo + mid + hi < 2^62 + 64: fold the bits above 2^61 once more. */
    return ward_f61_from_u64(lo + mid + hi);
}

/* The product of two canonical elements, reduced. Multiplying 8a (< 2^64)
 * by b puts floor(ab / 2^61) in the high word and (ab mod 2^61) * 8 in the
 * low word, so the Mersenne split needs no double-word shift. */
static inline ward_f61 ward_f61_mul(ward_f61 a, ward_f61 b) {
    unsigned __int128 x = (unsigned __int128)(a << 3) * b;
    /* ab <= (p-1)^2: high part <= p - 3, low part <= p, sum below 2p. */
    return ward_f61_reduce_once((uint64_t)(x >> 64) + ((uint64_t)x >> 3));
}

static inline ward_f61 ward_f61_add(ward_f61 a, ward_f61 b) {
    return ward_f61_reduce_once(a + b);
}

static inline ward_f61 ward_f61_sub(ward_f61 a, ward_f61 b) {
    uint64_t t = a - b;
    /* |a - b| < 2^61, so the top bit is set exactly when a < b. */
    return t + (WARD_F61_P & (0 - (t >> 63)));
}

static inline ward_f61 ward_f61_neg(ward_f61 a) { return ward_f61_sub(0, a); }

static inline ward_f61 ward_f61_sqr(ward_f61 a) { return ward_f61_mul(a, a); }

/* acc + a * b: one multiply-add with a single reduction. */
static inline ward_f61 ward_f61_muladd(ward_f61 acc, ward_f61 a, ward_f61 b) {
    /* 8(ab + acc) < 2^125. ab + acc <= (p-1)^2 + (p-1) = p(p-1): the high
     * part is at most p - 2 and the low part at most p, so one conditional
     * subtraction suffices. */
    unsigned __int128 x = (unsigned __int128)(a << 3) * b + (acc << 3);
    return ward_f61_reduce_once((uint64_t)(x >> 64) + ((uint64_t)x >> 3));
}

/* mask ? a : b, for mask in {0, all ones}. */
static inline ward_f61 ward_f61_select(uint64_t mask, ward_f61 a, ward_f61 b) {
    return b ^ (mask & (a ^ b));
}

/* Signed integer -> residue: v >= 0 maps to v mod p, v < 0 to -(|v| mod p).
 * Defined for every int64_t, including INT64_MIN. */
static inline ward_f61 ward_f61_from_i64(int64_t v) {
    uint64_t u = (uint64_t)v;
    uint64_t neg = 0 - (u >> 63);
    uint64_t mag = (u ^ neg) - neg; /* |v| as an unsigned value */
    ward_f61 r = ward_f61_from_u64(mag);
    return ward_f61_select(neg, ward_f61_neg(r), r);
}

/* Centered lift: the representative of a in [-(p-1)/2, (p-1)/2]. */
static inline int64_t ward_f61_to_i64(ward_f61 a) {
    /* a > (p-1)/2  <=>  (p-1)/2 - a wraps. */
    uint64_t neg = 0 - ((WARD_F61_HALF - a) >> 63);
    return (int64_t)a - (int64_t)(WARD_F61_P & neg);
}

/* 1 if a == b, else 0. */
static inline int ward_f61_eq(ward_f61 a, ward_f61 b) {
    uint64_t d = a ^ b;
    return (int)(1 ^ ((d | (0 - d)) >> 63));
}

/* 1 if a == 0, else 0. */
static inline int ward_f61_is_zero(ward_f61 a) { return ward_f61_eq(a, 0); }

/* ---- scalar operations (out of line) ---- */

/* a^e. Constant time in both a and e (always 64 squarings). */
ward_f61 ward_f61_pow(ward_f61 a, uint64_t e);

/* *out = 1/a by Fermat (a^(p-2)). Returns 0, or WARD_EINVAL when a == 0
 * (then *out = 0). The work done does not depend on a. */
int ward_f61_inv(ward_f61 *out, ward_f61 a);

/* ---- vector operations ----
 * Lengths are public. out may be the same array as an input unless stated
 * otherwise (partial overlap is not allowed). */

void ward_f61_vec_add(ward_f61 *out, const ward_f61 *a, const ward_f61 *b, size_t n);
void ward_f61_vec_sub(ward_f61 *out, const ward_f61 *a, const ward_f61 *b, size_t n);
void ward_f61_vec_neg(ward_f61 *out, const ward_f61 *a, size_t n);

/* out[i] = s * a[i] */
void ward_f61_vec_scale(ward_f61 *out, ward_f61 s, const ward_f61 *a, size_t n);

/* out[i] += s * b[i]. Uses AVX2 when the CPU has it (same results). out may
 * equal b but must not partially overlap it. */
void ward_f61_vec_muladd(ward_f61 *out, ward_f61 s, const ward_f61 *b, size_t n);

/* sum_i a[i] * b[i], reduced lazily (WARD_F61_LAZY_PRODUCTS at a time). */
ward_f61 ward_f61_vec_dot(const ward_f61 *a, const ward_f61 *b, size_t n);

/* out[i] = 1 / in[i] by Montgomery's trick (one inversion, 3(n-1)
 * multiplications). out and in must not overlap. Returns 0, or
 * WARD_EINVAL when any in[i] is zero; then every out[i] is set to 0. Which
 * element was zero is not revealed. */
int ward_f61_vec_inv(ward_f61 *out, const ward_f61 *in, size_t n);

/* ---- uniform elements ---- */

/* A uniform element, by rejection of the single 61-bit value equal to p. */
ward_f61 ward_f61_random(ward_rng *rng);

/* out[i] uniform and independent. */
void ward_f61_vec_random(ward_rng *rng, ward_f61 *out, size_t n);

#endif
