/* F_(2^127-1): known answers, algebraic laws, GMP as the reference. */
#include <gmp.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "field127.h"
#include "rng.h"

typedef unsigned __int128 u128;
#define Q WARD_F127_Q
#define U128(hi, lo) (((u128)(hi) << 64) | (u128)(lo))

#define CHECK_EQ_U128(a, b)                                                    \
    do {                                                                       \
        u128 ca_ = (a), cb_ = (b);                                             \
        CHECK_EQ_U64((uint64_t)(ca_ >> 64), (uint64_t)(cb_ >> 64));            \
        CHECK_EQ_U64((uint64_t)ca_, (uint64_t)cb_);                            \
    } while (0)

static const u128 edges[] = {
    0, 1, 2, 3, Q - 1, Q - 2, Q - 3, (Q - 1) / 2, (Q + 1) / 2, (u128)1 << 126,
    (u128)1 << 64, ((u128)1 << 64) - 1, U128(0x0123456789abcdefull, 0xfedcba9876543210ull) & Q,
    (u128)UINT64_MAX, U128(0x7fffffffffffffffull, 0),
};
#define N_EDGES (sizeof edges / sizeof edges[0])

static mpz_t zq;

static u128 pick(ward_rng *rng) {
    if (ward_rng_uniform(rng, 4) == 0) return edges[ward_rng_uniform(rng, N_EDGES)];
    return ward_f127_random(rng);
}

static void set_u128(mpz_t z, u128 v) {
    mpz_set_ui(z, (unsigned long)(uint64_t)(v >> 64));
    mpz_mul_2exp(z, z, 64);
    mpz_add_ui(z, z, (unsigned long)(uint64_t)v);
}

static u128 get_u128(mpz_t z) {
    mpz_t t;
    mpz_init(t);
    mpz_fdiv_q_2exp(t, z, 64);
    u128 hi = mpz_get_ui(t);
    mpz_fdiv_r_2exp(t, z, 64);
    u128 lo = mpz_get_ui(t);
    mpz_clear(t);
    return (hi << 64) | lo;
}

static u128 z_mod(mpz_t z) {
    mpz_mod(z, z, zq);
    return get_u128(z);
}

static void test_known_answers(void) {
    CHECK_EQ_U128(Q, U128(0x7fffffffffffffffull, 0xffffffffffffffffull));
    CHECK_EQ_U128(ward_f127_add(Q - 1, 1), 0);
    CHECK_EQ_U128(ward_f127_add(Q - 1, Q - 1), Q - 2);
    CHECK_EQ_U128(ward_f127_sub(0, 1), Q - 1);
    CHECK_EQ_U128(ward_f127_neg(0), 0);
    CHECK_EQ_U128(ward_f127_mul((u128)1 << 126, 2), 1);
    CHECK_EQ_U128(ward_f127_mul((u128)1 << 64, (u128)1 << 64), 2); /* 2^128 = 2 */
    CHECK_EQ_U128(ward_f127_mul(Q - 1, Q - 1), 1);
    CHECK_EQ_U128(ward_f127_mul(Q - 1, 2), Q - 2);
    CHECK_EQ_U128(ward_f127_from_u64(UINT64_MAX), UINT64_MAX);
    CHECK_EQ_U128(ward_f127_from_i64(-1), Q - 1);
    CHECK_EQ_U128(ward_f127_from_i64(INT64_MIN), Q - ((u128)1 << 63));
    CHECK_EQ_U128(ward_f127_from_i64(INT64_MAX), (u128)INT64_MAX);
    CHECK(ward_f127_to_i128(Q - 1) == -1);
    CHECK(ward_f127_to_i128((Q - 1) / 2) == (__int128)((Q - 1) / 2));
    CHECK(ward_f127_to_i128((Q + 1) / 2) == -(__int128)((Q - 1) / 2));
    CHECK(ward_f127_to_i128(ward_f127_from_i64(INT64_MIN)) == (__int128)INT64_MIN);
    u128 inv;
    CHECK_RC(ward_f127_inv(&inv, 2), WARD_OK);
    CHECK_EQ_U128(inv, (u128)1 << 126);
    CHECK_RC(ward_f127_inv(&inv, Q - 1), WARD_OK);
    CHECK_EQ_U128(inv, Q - 1);
    inv = 99;
    CHECK_RC(ward_f127_inv(&inv, 0), WARD_EINVAL);
    CHECK_EQ_U128(inv, 0);
    CHECK_EQ_U128(ward_f127_pow(3, 5), 243);
    CHECK_EQ_U128(ward_f127_pow(2, 127), 1);
    CHECK_EQ_U128(ward_f127_pow(5, Q - 1), 1);
    CHECK(ward_f127_eq(Q - 1, Q - 1) == 1);
    CHECK(ward_f127_eq((u128)1 << 64, 1) == 0);
    CHECK(ward_f127_eq(0, (u128)1 << 100) == 0);
    CHECK(ward_f127_is_zero(0) == 1);
}

static void test_laws_edges(void) {
    for (size_t i = 0; i < N_EDGES; i++) {
        u128 a = edges[i];
        CHECK_EQ_U128(ward_f127_add(a, ward_f127_neg(a)), 0);
        CHECK_EQ_U128(ward_f127_mul(a, 1), a);
        CHECK(ward_f127_from_i64((int64_t)ward_f127_to_i128(a)) == a ||
              ward_f127_to_i128(a) != (__int128)(int64_t)ward_f127_to_i128(a));
        if (a != 0) {
            u128 inv;
            CHECK_RC(ward_f127_inv(&inv, a), WARD_OK);
            CHECK_EQ_U128(ward_f127_mul(a, inv), 1);
        }
        for (size_t j = 0; j < N_EDGES; j++) {
            u128 b = edges[j];
            CHECK_EQ_U128(ward_f127_add(a, b), ward_f127_add(b, a));
            CHECK_EQ_U128(ward_f127_mul(a, b), ward_f127_mul(b, a));
            CHECK_EQ_U128(ward_f127_add(ward_f127_sub(a, b), b), a);
            CHECK(ward_f127_eq(a, b) == (a == b));
            for (size_t k = 0; k < N_EDGES; k++) {
                u128 c = edges[k];
                CHECK_EQ_U128(ward_f127_mul(a, ward_f127_add(b, c)),
                              ward_f127_add(ward_f127_mul(a, b), ward_f127_mul(a, c)));
                CHECK_EQ_U128(ward_f127_mul(ward_f127_mul(a, b), c),
                              ward_f127_mul(a, ward_f127_mul(b, c)));
            }
        }
    }
}

static void test_vs_gmp(ward_rng *rng) {
    mpz_t x, y, z;
    mpz_inits(x, y, z, NULL);
    int bad_add = 0, bad_sub = 0, bad_mul = 0, bad_inv = 0, bad_i64 = 0, bad_pow = 0,
        bad_canon = 0, bad_lift = 0;
    for (int it = 0; it < 20000; it++) {
        u128 a = pick(rng), b = pick(rng);
        set_u128(x, a);
        set_u128(y, b);
        mpz_add(z, x, y);
        bad_add += z_mod(z) != ward_f127_add(a, b);
        mpz_sub(z, x, y);
        bad_sub += z_mod(z) != ward_f127_sub(a, b);
        mpz_mul(z, x, y);
        bad_mul += z_mod(z) != ward_f127_mul(a, b);
        bad_canon += ward_f127_mul(a, b) >= Q || ward_f127_add(a, b) >= Q ||
                     ward_f127_sub(a, b) >= Q;
        if (a != 0 && it % 4 == 0) {
            u128 inv;
            mpz_invert(z, x, zq);
            bad_inv += ward_f127_inv(&inv, a) != WARD_OK || inv != get_u128(z);
        }
        if (it % 64 == 0) {
            u128 e = pick(rng);
            mpz_t ze;
            mpz_init(ze);
            set_u128(ze, e);
            mpz_powm(z, x, ze, zq);
            bad_pow += get_u128(z) != ward_f127_pow(a, e);
            mpz_clear(ze);
        }
        int64_t s = (int64_t)ward_rng_u64(rng);
        mpz_set_si(z, s);
        bad_i64 += z_mod(z) != ward_f127_from_i64(s);
        bad_lift += ward_f127_to_i128(ward_f127_from_i64(s)) != (__int128)s;
    }
    CHECK(bad_add == 0);
    CHECK(bad_sub == 0);
    CHECK(bad_mul == 0);
    CHECK(bad_inv == 0);
    CHECK(bad_i64 == 0);
    CHECK(bad_pow == 0);
    CHECK(bad_canon == 0);
    CHECK(bad_lift == 0);
    mpz_clears(x, y, z, NULL);
}

static void test_vectors(ward_rng *rng) {
    enum { N = 1000 };
    u128 *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *o = malloc(N * sizeof *o);
    CHECK(a && b && o);
    if (a && b && o) {
        for (size_t i = 0; i < N; i++) a[i] = pick(rng), b[i] = pick(rng);
        int bad = 0;
        ward_f127_vec_add(o, a, b, N);
        for (size_t i = 0; i < N; i++) bad += o[i] != ward_f127_add(a[i], b[i]);
        ward_f127_vec_sub(o, a, b, N);
        for (size_t i = 0; i < N; i++) bad += o[i] != ward_f127_sub(a[i], b[i]);
        ward_f127_vec_random(rng, o, N);
        for (size_t i = 0; i < N; i++) bad += o[i] >= Q;
        CHECK(bad == 0);
        /* the top bit of 127 is used: some element has bit 126 set */
        int top = 0;
        for (size_t i = 0; i < N; i++) top |= (int)(o[i] >> 126);
        CHECK(top == 1);
    }
    free(a);
    free(b);
    free(o);
}

int main(void) {
    ward_rng rng;
    mpz_init(zq);
    set_u128(zq, Q);
    CHECK_RC(ward_rng_init_u64(&rng, 127), WARD_OK);
    test_known_answers();
    test_laws_edges();
    test_vs_gmp(&rng);
    test_vectors(&rng);
    ward_rng_clear(&rng);
    mpz_clear(zq);
    return check_done("field127");
}
