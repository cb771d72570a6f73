/* Arithmetic in F_q, q = 2^127 - 1 (a Mersenne prime): the wide field.
 *
 * Sessions whose declared bounds could wrap F_(2^61-1) use this field
 * instead (see fixedpoint.h, ward_fixed_pick_field()). An element is an
 * unsigned __int128 in canonical form, 0 <= x < q. Functions take canonical
 * inputs and return canonical outputs; all are constant time (masks, no
 * branches or indices on element values).
 *
 * Reduction: 2^127 = 1 (mod q). A product of two elements has at most 254
 * bits; it is computed from four 64x64-bit products and folded once.
 */
#ifndef WARD_FIELD127_H
#define WARD_FIELD127_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef unsigned __int128 ward_f127;

#define WARD_F127_Q ((((ward_f127)1) << 127) - 1)   /* 2^127 - 1 */
#define WARD_F127_HALF ((((ward_f127)1) << 126) - 1) /* (q - 1) / 2 */

/* x < 2q  ->  x mod q. */
static inline ward_f127 ward_f127_reduce_once(ward_f127 x) {
    ward_f127 t = x - WARD_F127_Q;
    /* t wrapped (top bit set) exactly when x < q. */
    ward_f127 mask = 0 - (t >> 127);
    return t + (WARD_F127_Q & mask);
}

static inline ward_f127 ward_f127_add(ward_f127 a, ward_f127 b) {
    return ward_f127_reduce_once(a + b); /* a + b < 2^128 */
}

static inline ward_f127 ward_f127_sub(ward_f127 a, ward_f127 b) {
    ward_f127 t = a - b;
    ward_f127 mask = 0 - (t >> 127); /* |a - b| < 2^127 */
    return t + (WARD_F127_Q & mask);
}

static inline ward_f127 ward_f127_neg(ward_f127 a) { return ward_f127_sub(0, a); }

static inline ward_f127 ward_f127_mul(ward_f127 a, ward_f127 b) {
    uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
    uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
    ward_f127 p00 = (ward_f127)a0 * b0;
    /* a1, b1 < 2^63: each cross product is below 2^127, their sum below
     * 2^128, and a1 * b1 below 2^126. */
    ward_f127 mid = (ward_f127)a0 * b1 + (ward_f127)a1 * b0;
    ward_f127 p11 = (ward_f127)a1 * b1;
    ward_f127 lo = p00 + (mid << 64);
    ward_f127 carry = lo < p00; /* compiles to a flag, not a branch */
    ward_f127 hi = p11 + (mid >> 64) + carry;
    /* x = hi * 2^128 + lo <= (q-1)^2; x mod q = (x mod 2^127) + (x >> 127),
     * where x >> 127 <= q - 3, so the sum is below 2q. */
    ward_f127 low127 = lo & WARD_F127_Q;
    ward_f127 top = (hi << 1) | (lo >> 127);
    return ward_f127_reduce_once(low127 + top);
}

static inline ward_f127 ward_f127_sqr(ward_f127 a) { return ward_f127_mul(a, a); }

/* mask ? a : b, for mask in {0, all ones}. */
static inline ward_f127 ward_f127_select(ward_f127 mask, ward_f127 a, ward_f127 b) {
    return b ^ (mask & (a ^ b));
}

static inline ward_f127 ward_f127_from_u64(uint64_t x) { return x; }

/* Signed integer -> residue (negative v -> q - |v|). */
static inline ward_f127 ward_f127_from_i64(int64_t v) {
    uint64_t u = (uint64_t)v;
    uint64_t neg = 0 - (u >> 63);
    uint64_t mag = (u ^ neg) - neg;
    ward_f127 r = mag;
    return ward_f127_select((ward_f127)0 - (neg & 1), ward_f127_neg(r), r);
}

/* Centered lift: the representative of a in [-(q-1)/2, (q-1)/2]. */
static inline __int128 ward_f127_to_i128(ward_f127 a) {
    ward_f127 neg = 0 - ((WARD_F127_HALF - a) >> 127);
    return (__int128)a - (__int128)(WARD_F127_Q & neg);
}

/* 1 if a == b, else 0. */
static inline int ward_f127_eq(ward_f127 a, ward_f127 b) {
    ward_f127 d = a ^ b;
    uint64_t f = (uint64_t)d | (uint64_t)(d >> 64);
    return (int)(1 ^ ((f | (0 - f)) >> 63));
}

static inline int ward_f127_is_zero(ward_f127 a) { return ward_f127_eq(a, 0); }

/* a^e, constant time in a and e (128 squarings). */
ward_f127 ward_f127_pow(ward_f127 a, ward_f127 e);

/* *out = 1/a by Fermat (a^(q-2)). Returns 0, or WARD_EINVAL when a == 0
 * (then *out = 0). */
int ward_f127_inv(ward_f127 *out, ward_f127 a);

/* out[i] = a[i] + b[i] (resp. -); out may alias an input. */
void ward_f127_vec_add(ward_f127 *out, const ward_f127 *a, const ward_f127 *b, size_t n);
void ward_f127_vec_sub(ward_f127 *out, const ward_f127 *a, const ward_f127 *b, size_t n);

/* Uniform elements, by rejection of the single 127-bit value equal to q. */
ward_f127 ward_f127_random(ward_rng *rng);
void ward_f127_vec_random(ward_rng *rng, ward_f127 *out, size_t n);

#endif
