/* Fixed-point encoding of signed reals, and the wrap check.
 *
 * A column of decimal scale k (0 <= k <= WARD_FIXED_MAX_SCALE) stores the
 * real r as the int64_t round(r * 10^k), rounded half to even. The scaled
 * integer is then lifted into a field (F_(2^61-1) by default, F_(2^127-1)
 * when the aggregate could wrap the small field) with negatives as p - |v|,
 * and decoded by the centered lift: residues above (p-1)/2 are negative.
 *
 * Values are secrets: the parsers and converters are constant time in the
 * value (they branch on the length of the input and on k, which are public,
 * and on the final error code only). Bounds, party counts and scales are
 * public.
 *
 * The wrap check (docs/crypto.md, "Numbers" in DECISIONS.md): a sum over
 * `parties` values, each |value + noise| <= max (scaled by 10^k), cannot
 * wrap the field when parties * max < (p - 1) / 2. It is checked from the
 * declared bounds before any share leaves, never from the data.
 */
#ifndef WARD_FIXEDPOINT_H
#define WARD_FIXEDPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "field127.h"
#include "field61.h"

#define WARD_FIXED_MAX_SCALE 18

typedef enum {
    WARD_FIELD_NONE = 0,
    WARD_FIELD_F61 = 1,  /* p = 2^61 - 1 */
    WARD_FIELD_F127 = 2  /* q = 2^127 - 1 */
} ward_field_id;

/* 10^k for 0 <= k <= 19 (public table). */
uint64_t ward_fixed_pow10(unsigned k);

/* Parses the decimal text s[0..len) (not necessarily NUL-terminated) into
 * *out = round_half_even(value * 10^scale). Accepted: an optional leading
 * '+' or '-', decimal digits, at most one '.', at least one digit ("7",
 * "-12.345", "0.0005", ".5", "5."). No spaces, exponents, hex, "inf" or
 * "nan". Any number of digits is accepted; rounding is exact.
 * Returns 0; WARD_EPARSE for malformed text; WARD_EOVERFLOW when
 * |*out| > max_abs or does not fit an int64_t (|*out| <= INT64_MAX);
 * WARD_EINVAL for scale > WARD_FIXED_MAX_SCALE or NULL pointers.
 * *out is 0 on any error. Constant time in the characters of s. */
int ward_fixed_parse_decimal(int64_t *out, const char *s, size_t len, unsigned scale,
                             uint64_t max_abs);

/* *out = round_half_even(x * 10^scale), computed exactly from the binary
 * value of x (no floating-point rounding). Returns 0; WARD_EINVAL for NaN
 * or a bad scale; WARD_EOVERFLOW for an infinity or |*out| > max_abs (or
 * beyond int64_t). *out is 0 on any error. Constant time in x (for finite
 * values). */
int ward_fixed_from_double(int64_t *out, double x, unsigned scale, uint64_t max_abs);

/* ---- field encoding ---- */

/* *out = v mod p. Returns WARD_EOVERFLOW (and *out = 0) when
 * |v| > (p-1)/2, which the centered lift could not decode. */
int ward_fixed_to_f61(ward_f61 *out, int64_t v);

/* The centered lift of x (always fits an int64_t). */
int64_t ward_fixed_from_f61(ward_f61 x);

/* Vector forms. The conversion to F61 checks every element and returns
 * WARD_EOVERFLOW if any is out of range (without saying which; out is then
 * all zero). out and in must not overlap. */
int ward_fixed_vec_to_f61(ward_f61 *out, const int64_t *in, size_t n);
void ward_fixed_vec_from_f61(int64_t *out, const ward_f61 *in, size_t n);

/* v mod q (every int64_t fits). */
ward_f127 ward_fixed_to_f127(int64_t v);

/* *out = centered lift of x; WARD_EOVERFLOW (and *out = 0) when it lies
 * outside int64_t. */
int ward_fixed_from_f127(int64_t *out, ward_f127 x);

void ward_fixed_vec_to_f127(ward_f127 *out, const int64_t *in, size_t n);
int ward_fixed_vec_from_f127(int64_t *out, const ward_f127 *in, size_t n);

/* ---- wrap check (public, declared bounds) ---- */

/* 0 when parties * max_abs_scaled < (p - 1) / 2 for the field's modulus p,
 * WARD_EOVERFLOW otherwise. max_abs_scaled bounds |value + noise| already
 * multiplied by 10^k. The product is computed exactly (128 bits).
 * WARD_EINVAL for parties == 0 or an unknown field. */
int ward_fixed_wrap_check(ward_field_id field, uint64_t parties, uint64_t max_abs_scaled);

/* The same with the bound given as decimal text at scale k ("2500.75").
 * The bound is rounded like the values are; rounding is monotone, so no
 * value within the bound encodes above the rounded bound. A malformed or
 * negative bound is WARD_EPARSE; one whose scaled form exceeds int64_t is
 * WARD_EOVERFLOW. */
int ward_fixed_wrap_check_decimal(ward_field_id field, uint64_t parties, const char *max_abs,
                                  size_t len, unsigned scale);

/* Picks WARD_FIELD_F61 when its wrap check passes, else WARD_FIELD_F127
 * when that one passes; otherwise sets *out = WARD_FIELD_NONE and returns
 * WARD_EOVERFLOW. */
int ward_fixed_pick_field(ward_field_id *out, uint64_t parties, uint64_t max_abs_scaled);

#endif
