#include "fixedpoint.h"

#include <string.h>

#include "error.h"

/* ---- constant-time helpers on 64-bit words (masks: 0 or all ones) ---- */

static inline uint64_t mask_bit(uint64_t b) { return 0 - (b & 1); }

static inline uint64_t mask_eq(uint64_t a, uint64_t b) {
    uint64_t d = a ^ b;
    return ((d | (0 - d)) >> 63) - 1;
}

static inline uint64_t mask_nonzero(uint64_t a) { return ~mask_eq(a, 0); }

/* a < b, for any 64-bit a and b. */
static inline uint64_t mask_lt(uint64_t a, uint64_t b) {
    return mask_bit((a ^ ((a ^ b) | ((a - b) ^ b))) >> 63);
}

static inline uint64_t sel64(uint64_t m, uint64_t a, uint64_t b) { return b ^ (m & (a ^ b)); }

/* Hides a value from the optimiser, so it cannot fold a public loop
 * counter into arithmetic on a secret (and then branch on the result). */
static inline uint64_t opaque(uint64_t x) {
    __asm__("" : "+r"(x));
    return x;
}

typedef unsigned __int128 u128;

static inline u128 mask128(uint64_t m) { return ((u128)m << 64) | m; }

static inline u128 sel128(uint64_t m, u128 a, u128 b) { return b ^ (mask128(m) & (a ^ b)); }

/* a < b for 128-bit values. */
static inline uint64_t mask_lt128(u128 a, u128 b) {
    uint64_t ah = (uint64_t)(a >> 64), bh = (uint64_t)(b >> 64);
    return mask_lt(ah, bh) | (mask_eq(ah, bh) & mask_lt((uint64_t)a, (uint64_t)b));
}

static const uint64_t pow10_table[20] = {
    1ull,
    10ull,
    100ull,
    1000ull,
    10000ull,
    100000ull,
    1000000ull,
    10000000ull,
    100000000ull,
    1000000000ull,
    10000000000ull,
    100000000000ull,
    1000000000000ull,
    10000000000000ull,
    100000000000000ull,
    1000000000000000ull,
    10000000000000000ull,
    100000000000000000ull,
    1000000000000000000ull,
    10000000000000000000ull,
};

uint64_t ward_fixed_pow10(unsigned k) { return k < 20 ? pow10_table[k] : 0; }

/* Applies the bound and the sign to an exact magnitude: the common tail of
 * both converters. Returns the value (0 when it does not fit) and adds the
 * overflow condition to *ovf. */
static int64_t finish(u128 mag, uint64_t neg, uint64_t *ovf, uint64_t max_abs) {
    uint64_t bound = max_abs > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : max_abs; /* public */
    *ovf |= mask_lt128((u128)bound, mag);
    uint64_t m = (uint64_t)mag & ~*ovf;
    return (int64_t)((m ^ neg) - neg); /* two's-complement negation under the mask */
}

/* The result of a conversion without a branch: `first` (a mask) selects
 * code `first_code`, else `second` selects `second_code`, else 0; the value
 * is cleared on either error. */
static int settle(int64_t *out, int64_t v, uint64_t first, int first_code, uint64_t second,
                  int second_code) {
    uint64_t err = first | second;
    *out = (int64_t)((uint64_t)v & ~err);
    return (first_code & -(int)(first & 1)) | (second_code & -(int)(~first & second & 1));
}

int ward_fixed_parse_decimal(int64_t *out, const char *s, size_t len, unsigned scale,
                             uint64_t max_abs) {
    WARD_ARG_CHECK(out != NULL);
    *out = 0;
    WARD_ARG_CHECK(s != NULL || len == 0);
    WARD_ARG_CHECK(scale <= WARD_FIXED_MAX_SCALE);

    /* The integer part accumulates while it stays below this limit, so
     * ip * 10 + 9 cannot wrap; beyond it the value cannot fit anyway. */
    const uint64_t ip_limit = (UINT64_MAX - 9) / 10;
    uint64_t ip = 0, fr = 0;     /* integer part; first `scale` fraction digits */
    uint64_t fidx = 0;           /* fraction digits seen */
    uint64_t rd = 0, sticky = 0; /* first dropped digit; any later non-zero */
    uint64_t ndigits = 0, ndots = 0;
    uint64_t neg = 0, bad = 0, ovf = 0, seen_dot = 0;

    for (size_t i = 0; i < len; i++) {
        uint64_t c = (unsigned char)s[i];
        uint64_t d = c - '0';
        uint64_t isdig = mask_lt(d, 10); /* c < '0' wraps to a huge d */
        uint64_t isdot = mask_eq(c, '.');
        uint64_t first = mask_bit(i == 0); /* i is public */
        uint64_t isminus = first & mask_eq(c, '-');
        uint64_t issign = isminus | (first & mask_eq(c, '+'));
        neg |= isminus;
        bad |= ~(isdig | isdot | issign);
        d &= isdig;

        uint64_t mi = isdig & ~seen_dot;
        ovf |= mi & mask_lt(ip_limit, ip);
        ip = sel64(mi, ip * 10 + d, ip);

        uint64_t mf = isdig & seen_dot;
        uint64_t keep = mf & mask_lt(fidx, scale);
        uint64_t rpos = mf & mask_eq(fidx, scale);
        uint64_t drop = mf & mask_lt(scale, fidx);
        fr = sel64(keep, fr * 10 + d, fr);
        rd = sel64(rpos, d, rd);
        sticky |= drop & mask_nonzero(d);
        fidx += mf & 1;

        ndigits += isdig & 1;
        ndots += isdot & 1;
        seen_dot |= isdot;
    }
    bad |= mask_eq(ndigits, 0) | ~mask_lt(ndots, 2);

    /* Pad the kept fraction to exactly `scale` digits. */
    for (unsigned r = 0; r < scale; r++) fr = sel64(~mask_lt(opaque(r), fidx), fr * 10, fr);

    u128 mag = (u128)ip * pow10_table[scale] + fr; /* < 2^64 * 10^18 + 10^18 */
    uint64_t up = mask_lt(5, rd) | (mask_eq(rd, 5) & (sticky | mask_bit((uint64_t)mag)));
    mag += up & 1;

    int64_t v = finish(mag, neg, &ovf, max_abs);
    /* malformed text takes precedence over overflow */
    return settle(out, v, mask_bit(bad), WARD_EPARSE, ovf, WARD_EOVERFLOW);
}

int ward_fixed_from_double(int64_t *out, double x, unsigned scale, uint64_t max_abs) {
    WARD_ARG_CHECK(out != NULL);
    *out = 0;
    WARD_ARG_CHECK(scale <= WARD_FIXED_MAX_SCALE);

    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    uint64_t neg = mask_bit(bits >> 63);
    uint64_t ex = (bits >> 52) & 0x7ff;
    uint64_t frac = bits & ((1ull << 52) - 1);
    uint64_t special = mask_eq(ex, 0x7ff);
    uint64_t is_nan = special & mask_nonzero(frac);
    uint64_t sub = mask_eq(ex, 0); /* zero or subnormal: no implicit bit */

    /* |x| = mant * 2^e2 exactly, so |x| * 10^k = M * 2^e2 with M < 2^113. */
    uint64_t mant = frac | (~sub & (1ull << 52));
    int64_t e2 = (int64_t)sel64(sub, 1, ex) - 1075;
    u128 M = (u128)mant * pow10_table[scale];

    /* e2 >= 0: the result M * 2^e2 fits int64 only when M <= INT64_MAX >> e2
     * (so e2 <= 62, M being non-zero). The shift is clamped to stay
     * defined; a clamped result is discarded through the overflow mask. */
    uint64_t left = mask_bit(~((uint64_t)e2 >> 63));
    uint64_t shl = sel64(mask_lt((uint64_t)e2, 63), (uint64_t)e2, 63); /* e2 < 0: 63, unused */
    uint64_t ovf_l = left & mask_lt128((u128)INT64_MAX >> shl, M);
    u128 res_l = M << shl;

    /* e2 < 0: shift right by s = min(-e2, 127), rounding half to even. */
    uint64_t negsh = (uint64_t)(-e2);
    uint64_t shr = sel64(mask_lt(negsh, 127), negsh, 127);
    shr |= mask_eq(shr, 0) & 1; /* keep 1 <= shr when e2 >= 0 (result unused) */
    u128 q = M >> shr;
    u128 rem = M & ((((u128)1) << shr) - 1);
    u128 half = ((u128)1) << (shr - 1);
    uint64_t up = mask_lt128(half, rem) | (~(mask_lt128(rem, half) | mask_lt128(half, rem)) &
                                           mask_bit((uint64_t)q));
    u128 res_r = q + (up & 1);

    u128 mag = sel128(left, res_l, res_r);
    uint64_t ovf = ovf_l | (special & ~is_nan);
    int64_t v = finish(mag, neg, &ovf, max_abs);
    return settle(out, v, is_nan, WARD_EINVAL, ovf, WARD_EOVERFLOW);
}

/* ---- field encoding ---- */

static inline uint64_t abs_u64(int64_t v) {
    uint64_t u = (uint64_t)v;
    uint64_t neg = 0 - (u >> 63);
    return (u ^ neg) - neg;
}

int ward_fixed_to_f61(ward_f61 *out, int64_t v) {
    WARD_ARG_CHECK(out != NULL);
    uint64_t bad = mask_lt(WARD_F61_HALF, abs_u64(v));
    *out = ward_f61_from_i64(v) & ~bad;
    return WARD_EOVERFLOW & -(int)(bad & 1);
}

int64_t ward_fixed_from_f61(ward_f61 x) { return ward_f61_to_i64(x); }

int ward_fixed_vec_to_f61(ward_f61 *out, const int64_t *in, size_t n) {
    WARD_ARG_CHECK(n == 0 || (out != NULL && in != NULL));
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= mask_lt(WARD_F61_HALF, abs_u64(in[i]));
        out[i] = ward_f61_from_i64(in[i]);
    }
    /* Clear everything on any failure, without branching on which. */
    for (size_t i = 0; i < n; i++) out[i] &= ~bad;
    return WARD_EOVERFLOW & -(int)(bad & 1);
}

void ward_fixed_vec_from_f61(int64_t *out, const ward_f61 *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f61_to_i64(in[i]);
}

ward_f127 ward_fixed_to_f127(int64_t v) { return ward_f127_from_i64(v); }

/* Centered lift of x into int64 and an overflow mask. */
static inline int64_t f127_to_i64(ward_f127 x, uint64_t *bad) {
    __int128 c = ward_f127_to_i128(x);
    /* c fits int64 iff c + 2^63 < 2^64 (as an unsigned 128-bit value). */
    u128 shifted = (u128)c + ((u128)1 << 63);
    *bad |= mask_nonzero((uint64_t)(shifted >> 64));
    return (int64_t)(uint64_t)c;
}

int ward_fixed_from_f127(int64_t *out, ward_f127 x) {
    WARD_ARG_CHECK(out != NULL);
    uint64_t bad = 0;
    int64_t v = f127_to_i64(x, &bad);
    *out = (int64_t)((uint64_t)v & ~bad);
    return WARD_EOVERFLOW & -(int)(bad & 1);
}

void ward_fixed_vec_to_f127(ward_f127 *out, const int64_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = ward_f127_from_i64(in[i]);
}

int ward_fixed_vec_from_f127(int64_t *out, const ward_f127 *in, size_t n) {
    WARD_ARG_CHECK(n == 0 || (out != NULL && in != NULL));
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) out[i] = f127_to_i64(in[i], &bad);
    for (size_t i = 0; i < n; i++) out[i] = (int64_t)((uint64_t)out[i] & ~bad);
    return WARD_EOVERFLOW & -(int)(bad & 1);
}

/* ---- wrap check ---- */

int ward_fixed_wrap_check(ward_field_id field, uint64_t parties, uint64_t max_abs_scaled) {
    WARD_ARG_CHECK(parties >= 1);
    u128 half;
    switch (field) {
    case WARD_FIELD_F61: half = WARD_F61_HALF; break;
    case WARD_FIELD_F127: half = WARD_F127_HALF; break;
    default: return WARD_EINVAL;
    }
    /* Two 64-bit factors: the product is exact in 128 bits. */
    u128 total = (u128)parties * max_abs_scaled;
    return total < half ? WARD_OK : WARD_EOVERFLOW;
}

int ward_fixed_wrap_check_decimal(ward_field_id field, uint64_t parties, const char *max_abs,
                                  size_t len, unsigned scale) {
    int64_t bound;
    int rc = ward_fixed_parse_decimal(&bound, max_abs, len, scale, (uint64_t)INT64_MAX);
    if (rc != WARD_OK) return rc;
    if (bound < 0) return WARD_EPARSE;
    return ward_fixed_wrap_check(field, parties, (uint64_t)bound);
}

int ward_fixed_pick_field(ward_field_id *out, uint64_t parties, uint64_t max_abs_scaled) {
    WARD_ARG_CHECK(out != NULL);
    *out = WARD_FIELD_NONE;
    WARD_ARG_CHECK(parties >= 1);
    if (ward_fixed_wrap_check(WARD_FIELD_F61, parties, max_abs_scaled) == WARD_OK) {
        *out = WARD_FIELD_F61;
        return WARD_OK;
    }
    if (ward_fixed_wrap_check(WARD_FIELD_F127, parties, max_abs_scaled) == WARD_OK) {
        *out = WARD_FIELD_F127;
        return WARD_OK;
    }
    return WARD_EOVERFLOW;
}
