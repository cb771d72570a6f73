/* Fixed-point encoding: exact half-even parsing and double conversion,
 * overflow limits, malformed text, field round trips, the wrap check. GMP
 * computes the reference roundings of the randomized cases. */
#include <float.h>
#include <gmp.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "error.h"
#include "fixedpoint.h"
#include "rng.h"

typedef unsigned __int128 u128;

static int parse(int64_t *v, const char *s, unsigned k, uint64_t max) {
    return ward_fixed_parse_decimal(v, s, strlen(s), k, max);
}

#define PARSE_OK(str, k, want)                                                 \
    do {                                                                       \
        int64_t v_ = 12345;                                                    \
        CHECK_RC(parse(&v_, (str), (k), UINT64_MAX), WARD_OK);                 \
        CHECK(v_ == (int64_t)(want));                                          \
        if (v_ != (int64_t)(want))                                             \
            fprintf(stderr, "  parse(\"%s\", %u) = %" PRId64 "\n", (str), (unsigned)(k), v_); \
    } while (0)

#define PARSE_ERR(str, k, max, err)                                            \
    do {                                                                       \
        int64_t v_ = 12345;                                                    \
        CHECK_RC(parse(&v_, (str), (k), (max)), (err));                        \
        CHECK(v_ == 0);                                                        \
    } while (0)

static void test_parse_fixed(void) {
    /* half-even on the dropped digits */
    PARSE_OK("0.0125", 3, 12);
    PARSE_OK("0.0135", 3, 14);
    PARSE_OK("-0.0125", 3, -12);
    PARSE_OK("-0.0135", 3, -14);
    PARSE_OK("2.5", 0, 2);
    PARSE_OK("3.5", 0, 4);
    PARSE_OK("-2.5", 0, -2);
    PARSE_OK("-3.5", 0, -4);
    PARSE_OK("0.5", 0, 0);
    PARSE_OK("1.5", 0, 2);
    PARSE_OK("0.0005", 3, 0);
    PARSE_OK("0.0015", 3, 2);
    PARSE_OK("0.00051", 3, 1);
    PARSE_OK("0.0125000000000000000000000000", 3, 12);
    PARSE_OK("0.0125000000000000000000000001", 3, 13);
    PARSE_OK("2.4999999999999999999999", 0, 2);
    PARSE_OK("2.5000000000000000000001", 0, 3);
    PARSE_OK("0.0124999", 3, 12);
    PARSE_OK("9.5", 0, 10);
    PARSE_OK("0.9995", 3, 1000);
    PARSE_OK("0.9985", 3, 998);
    /* plain values */
    PARSE_OK("7", 0, 7);
    PARSE_OK("7", 3, 7000);
    PARSE_OK("-12.345", 3, -12345);
    PARSE_OK("-12.345", 5, -1234500);
    PARSE_OK("0.0005", 4, 5);
    PARSE_OK("+1.5", 1, 15);
    PARSE_OK(".5", 1, 5);
    PARSE_OK("-.5", 2, -50);
    PARSE_OK("5.", 0, 5);
    PARSE_OK("5.", 2, 500);
    PARSE_OK("-0", 0, 0);
    PARSE_OK("-0.0001", 3, 0);
    PARSE_OK("0", 18, 0);
    PARSE_OK("000000000000000000000000000000000000001", 0, 1);
    PARSE_OK("000000000000000000000000000000000000001.25", 1, 12);
    PARSE_OK("1.5", 18, 1500000000000000000ll);
    PARSE_OK("1234567890123", 6, 1234567890123000000ll);
    /* int64 limits */
    PARSE_OK("9223372036854775807", 0, INT64_MAX);
    PARSE_OK("-9223372036854775807", 0, -INT64_MAX);
    PARSE_OK("9.223372036854775807", 18, INT64_MAX);
    PARSE_OK("9.2233720368547758065", 18, INT64_MAX - 1); /* ...6|5: even, stays */
    PARSE_OK("9223372036854775806.5", 0, INT64_MAX - 1);
    PARSE_OK("9223372036854775807.4999", 0, INT64_MAX);
    PARSE_ERR("9223372036854775808", 0, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("-9223372036854775808", 0, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("9.223372036854775808", 18, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("9.2233720368547758075", 18, UINT64_MAX, WARD_EOVERFLOW); /* rounds up */
    PARSE_ERR("9223372036854775807.5", 0, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("10", 18, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("18446744073709551615", 0, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("18446744073709551616", 0, UINT64_MAX, WARD_EOVERFLOW);
    PARSE_ERR("184467440737095516160", 0, UINT64_MAX, WARD_EOVERFLOW); /* wraps to 0 mod 2^64 */
    PARSE_ERR("99999999999999999999999999999999999999999", 0, UINT64_MAX, WARD_EOVERFLOW);
    /* declared bounds */
    int64_t v;
    CHECK_RC(parse(&v, "100", 0, 100), WARD_OK);
    CHECK(v == 100);
    CHECK_RC(parse(&v, "-100", 0, 100), WARD_OK);
    CHECK(v == -100);
    CHECK_RC(parse(&v, "100.5", 0, 100), WARD_OK); /* rounds to 100 */
    CHECK(v == 100);
    PARSE_ERR("100.51", 0, 100, WARD_EOVERFLOW);
    PARSE_ERR("101.5", 0, 100, WARD_EOVERFLOW);
    PARSE_ERR("-100.6", 0, 100, WARD_EOVERFLOW);
    PARSE_ERR("0.001", 3, 0, WARD_EOVERFLOW);
    CHECK_RC(parse(&v, "0.0005", 3, 0), WARD_OK);
    CHECK(v == 0);
    /* malformed */
    static const char *garbage[] = {
        "", "-", "+", ".", "-.", "1.2.3", "1..2", "1e5", "1E5", " 1", "1 ", "0x10", "NaN", "nan",
        "inf", "-inf", "--1", "+-1", "-+1", "1-", "1+", "1,5", "12a", "/", ":", "\xd9\xa1",
        "1/2", "\t1", "1.5.", "..5",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        v = 7;
        int rc = parse(&v, garbage[i], 3, UINT64_MAX);
        CHECK_RC(rc, WARD_EPARSE);
        if (rc != WARD_EPARSE) fprintf(stderr, "  garbage \"%s\" accepted\n", garbage[i]);
        CHECK(v == 0);
    }
    /* malformed beats overflow */
    PARSE_ERR("99999999999999999999999x", 0, UINT64_MAX, WARD_EPARSE);
    /* an embedded NUL is a character like any other: rejected */
    CHECK_RC(ward_fixed_parse_decimal(&v, "1\0", 2, 0, UINT64_MAX), WARD_EPARSE);
    /* the length is honoured: no terminator needed */
    CHECK_RC(ward_fixed_parse_decimal(&v, "12345", 3, 0, UINT64_MAX), WARD_OK);
    CHECK(v == 123);
    CHECK_RC(ward_fixed_parse_decimal(&v, "2.5x", 3, 0, UINT64_MAX), WARD_OK);
    CHECK(v == 2);
    CHECK_RC(ward_fixed_parse_decimal(&v, NULL, 0, 0, UINT64_MAX), WARD_EPARSE);
    /* misuse */
    CHECK_RC(parse(&v, "1", 19, UINT64_MAX), WARD_EINVAL);
    CHECK_RC(parse(NULL, "1", 0, UINT64_MAX), WARD_EINVAL);
    CHECK_RC(ward_fixed_parse_decimal(&v, NULL, 1, 0, UINT64_MAX), WARD_EINVAL);
}

/* Reference: round_half_even(N / 10^f * 10^k) with GMP, sign applied;
 * returns 0 or WARD_EOVERFLOW. */
static int ref_round(int64_t *out, const mpz_t N, unsigned f, unsigned k, int neg, uint64_t max) {
    mpz_t num, den, q, r;
    mpz_inits(num, den, q, r, NULL);
    mpz_ui_pow_ui(den, 10, f);
    mpz_ui_pow_ui(num, 10, k);
    mpz_mul(num, num, N);
    mpz_fdiv_qr(q, r, num, den);
    mpz_mul_2exp(r, r, 1);
    int c = mpz_cmp(r, den);
    if (c > 0 || (c == 0 && mpz_odd_p(q))) mpz_add_ui(q, q, 1);
    uint64_t bound = max > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : max;
    int rc = 0;
    *out = 0;
    if (mpz_cmp_ui(q, (unsigned long)bound) > 0) {
        rc = WARD_EOVERFLOW;
    } else {
        int64_t m = (int64_t)mpz_get_ui(q);
        *out = neg ? -m : m;
    }
    mpz_clears(num, den, q, r, NULL);
    return rc;
}

static void test_parse_random(ward_rng *rng) {
    char buf[96];
    mpz_t N;
    mpz_init(N);
    int bad = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned k = (unsigned)ward_rng_uniform(rng, 19);
        size_t nint = (size_t)ward_rng_uniform(rng, 22);
        size_t nfrac = (size_t)ward_rng_uniform(rng, 26);
        int neg = (int)ward_rng_uniform(rng, 2);
        int dot = nfrac > 0 || ward_rng_uniform(rng, 4) == 0;
        if (nint == 0 && nfrac == 0) nint = 1;
        size_t pos = 0;
        if (neg) buf[pos++] = '-';
        else if (ward_rng_uniform(rng, 8) == 0) buf[pos++] = '+';
        size_t dstart = pos;
        /* digits skewed towards 0, 4, 5, 9 to hit rounding ties and carries */
        static const char skew[] = "0123456789004559";
        for (size_t i = 0; i < nint; i++) buf[pos++] = skew[ward_rng_uniform(rng, 16)];
        if (dot) buf[pos++] = '.';
        for (size_t i = 0; i < nfrac; i++) buf[pos++] = skew[ward_rng_uniform(rng, 16)];
        if (nfrac > k && ward_rng_uniform(rng, 3) == 0) { /* force an exact tie */
            buf[pos - nfrac + k] = '5';
            for (size_t i = k + 1; i < nfrac; i++) buf[pos - nfrac + i] = '0';
        }
        buf[pos] = 0;
        /* reference value: all digits as one integer over 10^nfrac */
        char digits[96];
        size_t nd = 0;
        for (size_t i = dstart; i < pos; i++)
            if (buf[i] != '.') digits[nd++] = buf[i];
        digits[nd] = 0;
        mpz_set_str(N, digits, 10);
        uint64_t max = ward_rng_uniform(rng, 2) ? UINT64_MAX : ward_rng_u64(rng) >> ward_rng_uniform(rng, 64);
        int64_t want, got;
        int rc_want = ref_round(&want, N, (unsigned)nfrac, k, neg, max);
        int rc_got = parse(&got, buf, k, max);
        if (rc_want != rc_got || want != got) {
            if (bad < 5)
                fprintf(stderr, "  parse(\"%s\", %u): got %d/%" PRId64 " want %d/%" PRId64 "\n",
                        buf, k, rc_got, got, rc_want, want);
            bad++;
        }
    }
    CHECK(bad == 0);
    mpz_clear(N);
}

#define DBL_OK(x, k, want)                                                     \
    do {                                                                       \
        int64_t v_ = 7;                                                        \
        CHECK_RC(ward_fixed_from_double(&v_, (x), (k), UINT64_MAX), WARD_OK);  \
        CHECK(v_ == (int64_t)(want));                                          \
    } while (0)

static void test_double_fixed(void) {
    DBL_OK(0.5, 0, 0);
    DBL_OK(1.5, 0, 2);
    DBL_OK(2.5, 0, 2);
    DBL_OK(3.5, 0, 4);
    DBL_OK(-2.5, 0, -2);
    DBL_OK(-3.5, 0, -4);
    DBL_OK(0.125, 2, 12);  /* exact tie */
    DBL_OK(0.375, 2, 38);
    DBL_OK(-0.125, 2, -12);
    DBL_OK(0.1, 1, 1);
    DBL_OK(0.15, 1, 1);    /* 0.1499999999999999944... */
    DBL_OK(0.25, 1, 2);    /* exact tie, even */
    DBL_OK(0.35, 1, 3);    /* 0.34999999999999997780... */
    DBL_OK(0.45, 1, 5);    /* 0.45000000000000001110... */
    DBL_OK(-12.345, 3, -12345);
    DBL_OK(0.0, 5, 0);
    DBL_OK(-0.0, 5, 0);
    DBL_OK(5e-324, 18, 0);
    DBL_OK(DBL_MIN, 18, 0);
    DBL_OK(1.0, 18, 1000000000000000000ll);
    DBL_OK(9.0, 18, 9000000000000000000ll);
    DBL_OK(9223372036854774784.0, 0, 9223372036854774784ll); /* largest double < 2^63 */
    DBL_OK(-9223372036854774784.0, 0, -9223372036854774784ll);
    DBL_OK(4503599627370496.5, 0, 4503599627370496ll);        /* 2^52 + 0.5: tie, even */
    DBL_OK(4503599627370497.5, 0, 4503599627370498ll);
    DBL_OK(0.49999999999999994, 0, 0);                        /* largest double < 0.5 */
    DBL_OK(1e18, 0, 1000000000000000000ll);
    int64_t v = 7;
    CHECK_RC(ward_fixed_from_double(&v, 9223372036854775808.0, 0, UINT64_MAX), WARD_EOVERFLOW);
    CHECK(v == 0);
    CHECK_RC(ward_fixed_from_double(&v, -9223372036854775808.0, 0, UINT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, 10.0, 18, UINT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, 1e300, 0, UINT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, DBL_MAX, 3, UINT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, INFINITY, 0, UINT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, -INFINITY, 0, UINT64_MAX), WARD_EOVERFLOW);
    v = 7;
    CHECK_RC(ward_fixed_from_double(&v, NAN, 0, UINT64_MAX), WARD_EINVAL);
    CHECK(v == 0);
    CHECK_RC(ward_fixed_from_double(&v, -NAN, 3, UINT64_MAX), WARD_EINVAL);
    CHECK_RC(ward_fixed_from_double(&v, 100.5, 0, 100), WARD_OK);
    CHECK(v == 100);
    CHECK_RC(ward_fixed_from_double(&v, 101.5, 0, 100), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_double(&v, 1.0, 19, UINT64_MAX), WARD_EINVAL);
    CHECK_RC(ward_fixed_from_double(NULL, 1.0, 0, UINT64_MAX), WARD_EINVAL);
}

/* Random doubles against an exact GMP reference built with frexp(). */
static void test_double_random(ward_rng *rng) {
    mpz_t N;
    mpz_init(N);
    int bad = 0;
    for (int it = 0; it < 20000; it++) {
        uint64_t bits = ward_rng_u64(rng);
        /* exponents concentrated where results are interesting */
        uint64_t ex = 1023 - 80 + ward_rng_uniform(rng, 150);
        if (it % 50 == 0) ex = ward_rng_uniform(rng, 2047);
        bits = (bits & ~(0x7ffull << 52)) | (ex << 52);
        if (it % 7 == 0) bits &= ~((1ull << ward_rng_uniform(rng, 52)) - 1); /* short mantissas */
        double x;
        memcpy(&x, &bits, sizeof x);
        unsigned k = (unsigned)ward_rng_uniform(rng, 19);
        uint64_t max = ward_rng_uniform(rng, 2) ? UINT64_MAX : ward_rng_u64(rng) >> ward_rng_uniform(rng, 64);
        int e;
        double fr = frexp(fabs(x), &e); /* |x| = fr * 2^e, 0.5 <= fr < 1 */
        uint64_t mant = (uint64_t)ldexp(fr, 53);
        e -= 53;
        int64_t want = 0;
        int rc_want;
        mpz_set_ui(N, (unsigned long)mant);
        if (e >= 0) {
            mpz_mul_2exp(N, N, (mp_bitcnt_t)e);
            rc_want = ref_round(&want, N, 0, k, x < 0, max);
        } else {
            /* N / 2^-e = N * 5^-e / 10^-e: the reference rounds over 10^f */
            mpz_t five;
            mpz_init(five);
            mpz_ui_pow_ui(five, 5, (unsigned long)-e);
            mpz_mul(N, N, five);
            mpz_clear(five);
            rc_want = ref_round(&want, N, (unsigned)-e, k, x < 0, max);
        }
        int64_t got;
        int rc_got = ward_fixed_from_double(&got, x, k, max);
        if (rc_got != rc_want || got != want) {
            if (bad < 5)
                fprintf(stderr, "  from_double(%.17g, %u): got %d/%" PRId64 " want %d/%" PRId64 "\n",
                        x, k, rc_got, got, rc_want, want);
            bad++;
        }
    }
    CHECK(bad == 0);
    mpz_clear(N);
}

static void test_fields(ward_rng *rng) {
    const int64_t lim = (int64_t)WARD_F61_HALF;
    static const int64_t ok[] = {0, 1, -1, 2, -2, 12345, -12345, (1ll << 60) - 1, -(1ll << 60) + 1};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ward_f61 e = 99;
        CHECK_RC(ward_fixed_to_f61(&e, ok[i]), WARD_OK);
        CHECK(e < WARD_F61_P);
        CHECK(ward_fixed_from_f61(e) == ok[i]);
        ward_f127 w = ward_fixed_to_f127(ok[i]);
        int64_t back = 5;
        CHECK_RC(ward_fixed_from_f127(&back, w), WARD_OK);
        CHECK(back == ok[i]);
    }
    ward_f61 e = 5;
    CHECK_RC(ward_fixed_to_f61(&e, -1), WARD_OK);
    CHECK_EQ_U64(e, WARD_F61_P - 1);
    CHECK_RC(ward_fixed_to_f61(&e, lim + 1), WARD_EOVERFLOW);
    CHECK_EQ_U64(e, 0);
    CHECK_RC(ward_fixed_to_f61(&e, -lim - 1), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_to_f61(&e, INT64_MIN), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_to_f61(&e, INT64_MAX), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_to_f61(NULL, 1), WARD_EINVAL);
    /* every int64 fits F127 */
    static const int64_t wide[] = {INT64_MIN, INT64_MIN + 1, INT64_MAX, -lim - 1, lim + 1};
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) {
        int64_t back = 5;
        CHECK_RC(ward_fixed_from_f127(&back, ward_fixed_to_f127(wide[i])), WARD_OK);
        CHECK(back == wide[i]);
    }
    CHECK(ward_fixed_to_f127(-1) == WARD_F127_Q - 1);
    int64_t back = 5;
    CHECK_RC(ward_fixed_from_f127(&back, (ward_f127)1 << 63), WARD_EOVERFLOW);
    CHECK(back == 0);
    CHECK_RC(ward_fixed_from_f127(&back, WARD_F127_Q - ((ward_f127)1 << 63)), WARD_OK);
    CHECK(back == INT64_MIN);
    CHECK_RC(ward_fixed_from_f127(&back, WARD_F127_Q - ((ward_f127)1 << 63) - 1), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_f127(&back, (ward_f127)1 << 100), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_from_f127(&back, WARD_F127_HALF), WARD_EOVERFLOW);

    /* vectors, and sums of mixed signs decode to the signed sum */
    enum { N = 500 };
    int64_t in[N], out[N];
    ward_f61 f[N];
    ward_f127 g[N];
    int64_t sum = 0;
    for (size_t i = 0; i < N; i++) {
        in[i] = (int64_t)(ward_rng_u64(rng) >> 16) - (int64_t)(1ll << 47);
        sum += in[i];
    }
    CHECK_RC(ward_fixed_vec_to_f61(f, in, N), WARD_OK);
    ward_fixed_vec_from_f61(out, f, N);
    CHECK_MEM(in, out, sizeof in);
    ward_f61 acc = 0;
    for (size_t i = 0; i < N; i++) acc = ward_f61_add(acc, f[i]);
    CHECK(ward_fixed_from_f61(acc) == sum);
    ward_fixed_vec_to_f127(g, in, N);
    CHECK_RC(ward_fixed_vec_from_f127(out, g, N), WARD_OK);
    CHECK_MEM(in, out, sizeof in);
    /* one out-of-range element fails the whole vector, which is zeroed */
    in[N / 2] = lim + 1;
    CHECK_RC(ward_fixed_vec_to_f61(f, in, N), WARD_EOVERFLOW);
    int nz = 0;
    for (size_t i = 0; i < N; i++) nz += f[i] != 0;
    CHECK(nz == 0);
    g[3] = (ward_f127)1 << 64;
    CHECK_RC(ward_fixed_vec_from_f127(out, g, N), WARD_EOVERFLOW);
    nz = 0;
    for (size_t i = 0; i < N; i++) nz += out[i] != 0;
    CHECK(nz == 0);
    /* wide sums beyond int64 wrap back only through F127's centered lift */
    ward_f127 big = 0;
    for (int i = 0; i < 4; i++) big = ward_f127_add(big, ward_fixed_to_f127(INT64_MIN));
    CHECK(ward_f127_to_i128(big) == (__int128)INT64_MIN * 4);
}

static void test_wrap(void) {
    const uint64_t h61 = WARD_F61_HALF; /* 2^60 - 1 */
    /* parties * max < (p-1)/2, exactly at the edge */
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 1, h61 - 1), WARD_OK);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 1, h61), WARD_EOVERFLOW);
    uint64_t m10 = (h61 - 1) / 10; /* largest max with 10 * max <= h61 - 1 */
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 10, m10), WARD_OK);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 10, m10 + 1), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 1000, 1000000000000ull), WARD_OK);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 5, 0), WARD_OK);
    /* F127: (q-1)/2 = 2^126 - 1; products of 64-bit factors must not wrap */
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, 1ull << 63, (1ull << 63) - 1), WARD_OK);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, 1ull << 63, 1ull << 63), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, UINT64_MAX, UINT64_MAX), WARD_EOVERFLOW);
    u128 h127 = WARD_F127_HALF;
    uint64_t m127 = (uint64_t)((h127 - 1) / UINT64_MAX);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, UINT64_MAX, m127), WARD_OK);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, UINT64_MAX, m127 + 1), WARD_EOVERFLOW);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F127, 10, m10 + 1), WARD_OK);
    /* misuse */
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_F61, 0, 1), WARD_EINVAL);
    CHECK_RC(ward_fixed_wrap_check(WARD_FIELD_NONE, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_fixed_wrap_check((ward_field_id)7, 1, 1), WARD_EINVAL);

    /* decimal bounds: h61 - 1 = 1152921504606846974 */
#define WRAPD(f, n, s, k, want) CHECK_RC(ward_fixed_wrap_check_decimal((f), (n), (s), strlen(s), (k)), (want))
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846974", 0, WARD_OK);
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846975", 0, WARD_EOVERFLOW);
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846.974", 3, WARD_OK);
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846.975", 3, WARD_EOVERFLOW);
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846.9745", 3, WARD_OK);       /* -> .974 */
    WRAPD(WARD_FIELD_F61, 1, "1152921504606846.97451", 3, WARD_EOVERFLOW); /* -> .975 */
    WRAPD(WARD_FIELD_F61, 2, "576460752303423.487", 3, WARD_OK);          /* 2 * that = h61 - 1 */
    WRAPD(WARD_FIELD_F61, 2, "576460752303423.488", 3, WARD_EOVERFLOW);
    WRAPD(WARD_FIELD_F127, 2, "576460752303423.488", 3, WARD_OK);
    WRAPD(WARD_FIELD_F61, 3, "1000.5", 0, WARD_OK);
    WRAPD(WARD_FIELD_F61, 3, "-5", 0, WARD_EPARSE);
    WRAPD(WARD_FIELD_F61, 3, "5 ", 0, WARD_EPARSE);
    WRAPD(WARD_FIELD_F61, 3, "", 0, WARD_EPARSE);
    WRAPD(WARD_FIELD_F127, 3, "100000000000000000000", 0, WARD_EOVERFLOW); /* beyond int64 */
    WRAPD(WARD_FIELD_F61, 0, "1", 0, WARD_EINVAL);
#undef WRAPD

    /* the picker */
    ward_field_id f = WARD_FIELD_NONE;
    CHECK_RC(ward_fixed_pick_field(&f, 10, 1000), WARD_OK);
    CHECK(f == WARD_FIELD_F61);
    CHECK_RC(ward_fixed_pick_field(&f, 10, m10), WARD_OK);
    CHECK(f == WARD_FIELD_F61);
    CHECK_RC(ward_fixed_pick_field(&f, 10, m10 + 1), WARD_OK);
    CHECK(f == WARD_FIELD_F127);
    CHECK_RC(ward_fixed_pick_field(&f, 1000, (uint64_t)INT64_MAX), WARD_OK);
    CHECK(f == WARD_FIELD_F127);
    CHECK_RC(ward_fixed_pick_field(&f, UINT64_MAX, m127), WARD_OK);
    CHECK(f == WARD_FIELD_F127);
    CHECK_RC(ward_fixed_pick_field(&f, UINT64_MAX, m127 + 1), WARD_EOVERFLOW);
    CHECK(f == WARD_FIELD_NONE);
    f = WARD_FIELD_F61;
    CHECK_RC(ward_fixed_pick_field(&f, UINT64_MAX, UINT64_MAX), WARD_EOVERFLOW);
    CHECK(f == WARD_FIELD_NONE);
    CHECK_RC(ward_fixed_pick_field(&f, 0, 1), WARD_EINVAL);
    CHECK_RC(ward_fixed_pick_field(NULL, 1, 1), WARD_EINVAL);
    CHECK_EQ_U64(ward_fixed_pow10(0), 1);
    CHECK_EQ_U64(ward_fixed_pow10(18), 1000000000000000000ull);
    CHECK_EQ_U64(ward_fixed_pow10(20), 0);
}

int main(void) {
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 1018), WARD_OK);
    test_parse_fixed();
    test_parse_random(&rng);
    test_double_fixed();
    test_double_random(&rng);
    test_fields(&rng);
    test_wrap();
    ward_rng_clear(&rng);
    return check_done("fixedpoint");
}
