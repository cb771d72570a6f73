/* F_(2^61-1): known answers, algebraic laws, GMP as the reference, vector
 * operations against the scalar ones, lazy-reduction bounds. */
#include <gmp.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "field61.h"
#include "rng.h"

#define P WARD_F61_P

static const uint64_t edges[] = {
    0, 1, 2, 3, P - 1, P - 2, P - 3, (P - 1) / 2, (P + 1) / 2, (1ull << 60), (1ull << 32),
    (1ull << 32) - 1, 0x0123456789abcdefull & P,
};
#define N_EDGES (sizeof edges / sizeof edges[0])

static mpz_t zp;

/* A canonical element: an edge value a quarter of the time, else uniform. */
static ward_f61 pick(ward_rng *rng) {
    if (ward_rng_uniform(rng, 4) == 0) return edges[ward_rng_uniform(rng, N_EDGES)];
    return ward_f61_random(rng);
}

static uint64_t z_mod(mpz_t z) {
    mpz_mod(z, z, zp);
    return (uint64_t)mpz_get_ui(z);
}

static void set_u128(mpz_t z, unsigned __int128 v) {
    mpz_set_ui(z, (unsigned long)(uint64_t)(v >> 64));
    mpz_mul_2exp(z, z, 64);
    mpz_add_ui(z, z, (unsigned long)(uint64_t)v);
}

static void test_known_answers(void) {
    CHECK_EQ_U64(P, 2305843009213693951ull);
    CHECK_EQ_U64(ward_f61_from_u64(P), 0);
    CHECK_EQ_U64(ward_f61_from_u64(P + 1), 1);
    CHECK_EQ_U64(ward_f61_from_u64(2 * P), 0);
    CHECK_EQ_U64(ward_f61_from_u64(2 * P - 1), P - 1);
    CHECK_EQ_U64(ward_f61_from_u64(UINT64_MAX), 7);      /* 2^64 - 1 = 8 * 2^61 - 1 */
    CHECK_EQ_U64(ward_f61_from_u64(UINT64_MAX - 7), 0);  /* 2^64 - 8 = 8p */
    CHECK_EQ_U64(ward_f61_from_u64(1ull << 63), 4);
    CHECK_EQ_U64(ward_f61_from_u64(P - 1), P - 1);
    CHECK_EQ_U64(ward_f61_from_i64(-1), P - 1);
    CHECK_EQ_U64(ward_f61_from_i64(INT64_MIN), P - 4);
    CHECK_EQ_U64(ward_f61_from_i64(INT64_MAX), 3);       /* 2^63 - 1 = 4p + 3 */
    CHECK_EQ_U64(ward_f61_from_i64(-(int64_t)P), 0);
    CHECK_EQ_U64(ward_f61_from_i64(0), 0);
    CHECK(ward_f61_to_i64(P - 1) == -1);
    CHECK(ward_f61_to_i64((P - 1) / 2) == (int64_t)((P - 1) / 2));
    CHECK(ward_f61_to_i64((P + 1) / 2) == -(int64_t)((P - 1) / 2));
    CHECK(ward_f61_to_i64(0) == 0);
    CHECK_EQ_U64(ward_f61_add(P - 1, 1), 0);
    CHECK_EQ_U64(ward_f61_add(P - 1, P - 1), P - 2);
    CHECK_EQ_U64(ward_f61_sub(0, 1), P - 1);
    CHECK_EQ_U64(ward_f61_sub(1, P - 1), 2);
    CHECK_EQ_U64(ward_f61_neg(0), 0);
    CHECK_EQ_U64(ward_f61_neg(1), P - 1);
    CHECK_EQ_U64(ward_f61_mul(1ull << 60, 2), 1);
    CHECK_EQ_U64(ward_f61_mul(P - 1, P - 1), 1);
    CHECK_EQ_U64(ward_f61_mul(P - 1, 2), P - 2);
    CHECK_EQ_U64(ward_f61_muladd(P - 1, P - 1, P - 1), 0);
    CHECK_EQ_U64(ward_f61_reduce128(~(unsigned __int128)0), 63); /* 2^128 = 2^(2*61+6) = 2^6 */
    ward_f61 inv;
    CHECK_RC(ward_f61_inv(&inv, 2), WARD_OK);
    CHECK_EQ_U64(inv, 1ull << 60);
    CHECK_RC(ward_f61_inv(&inv, P - 1), WARD_OK);
    CHECK_EQ_U64(inv, P - 1);
    CHECK_RC(ward_f61_inv(&inv, 1), WARD_OK);
    CHECK_EQ_U64(inv, 1);
    inv = 12345;
    CHECK_RC(ward_f61_inv(&inv, 0), WARD_EINVAL);
    CHECK_EQ_U64(inv, 0);
    CHECK_RC(ward_f61_inv(NULL, 5), WARD_EINVAL);
    CHECK_EQ_U64(ward_f61_pow(3, 0), 1);
    CHECK_EQ_U64(ward_f61_pow(0, 0), 1);
    CHECK_EQ_U64(ward_f61_pow(3, 5), 243);
    CHECK_EQ_U64(ward_f61_pow(2, 61), 1);
    CHECK_EQ_U64(ward_f61_pow(37, P - 1), 1); /* Fermat */
    CHECK_EQ_U64(ward_f61_pow(7, UINT64_MAX), ward_f61_pow(7, UINT64_MAX % (P - 1)));
    CHECK(ward_f61_eq(5, 5) == 1);
    CHECK(ward_f61_eq(5, 6) == 0);
    CHECK(ward_f61_eq(0, P - 1) == 0);
    CHECK(ward_f61_is_zero(0) == 1);
    CHECK(ward_f61_is_zero(1ull << 60) == 0);
    CHECK_EQ_U64(ward_f61_select(~0ull, 4, 9), 4);
    CHECK_EQ_U64(ward_f61_select(0, 4, 9), 9);
}

/* Laws on every pair (and triple) of edge values. */
static void test_laws_edges(void) {
    for (size_t i = 0; i < N_EDGES; i++) {
        ward_f61 a = edges[i];
        CHECK_EQ_U64(ward_f61_add(a, ward_f61_neg(a)), 0);
        CHECK_EQ_U64(ward_f61_sub(a, a), 0);
        CHECK_EQ_U64(ward_f61_mul(a, 1), a);
        CHECK_EQ_U64(ward_f61_mul(a, 0), 0);
        CHECK_EQ_U64(ward_f61_from_u64(a), a);
        CHECK(ward_f61_from_i64(ward_f61_to_i64(a)) == a);
        if (a != 0) {
            ward_f61 inv;
            CHECK_RC(ward_f61_inv(&inv, a), WARD_OK);
            CHECK_EQ_U64(ward_f61_mul(a, inv), 1);
        }
        for (size_t j = 0; j < N_EDGES; j++) {
            ward_f61 b = edges[j];
            CHECK_EQ_U64(ward_f61_add(a, b), ward_f61_add(b, a));
            CHECK_EQ_U64(ward_f61_mul(a, b), ward_f61_mul(b, a));
            CHECK_EQ_U64(ward_f61_add(ward_f61_sub(a, b), b), a);
            CHECK(ward_f61_add(a, b) < P && ward_f61_sub(a, b) < P && ward_f61_mul(a, b) < P);
            CHECK(ward_f61_eq(a, b) == (a == b));
            for (size_t k = 0; k < N_EDGES; k++) {
                ward_f61 c = edges[k];
                CHECK_EQ_U64(ward_f61_mul(a, ward_f61_add(b, c)),
                             ward_f61_add(ward_f61_mul(a, b), ward_f61_mul(a, c)));
                CHECK_EQ_U64(ward_f61_mul(ward_f61_mul(a, b), c),
                             ward_f61_mul(a, ward_f61_mul(b, c)));
                CHECK_EQ_U64(ward_f61_muladd(c, a, b), ward_f61_add(c, ward_f61_mul(a, b)));
            }
        }
    }
}

/* Thousands of random operations against GMP. */
static void test_vs_gmp(ward_rng *rng) {
    mpz_t x, y, z;
    mpz_inits(x, y, z, NULL);
    int bad_add = 0, bad_sub = 0, bad_mul = 0, bad_inv = 0, bad_u64 = 0, bad_i64 = 0;
    int bad_pow = 0, bad_red = 0, bad_laws = 0;
    for (int it = 0; it < 20000; it++) {
        ward_f61 a = pick(rng), b = pick(rng), c = pick(rng);
        mpz_set_ui(x, a);
        mpz_set_ui(y, b);
        mpz_add(z, x, y);
        bad_add += z_mod(z) != ward_f61_add(a, b);
        mpz_sub(z, x, y);
        bad_sub += z_mod(z) != ward_f61_sub(a, b);
        mpz_mul(z, x, y);
        bad_mul += z_mod(z) != ward_f61_mul(a, b);
        if (a != 0) {
            ward_f61 inv;
            mpz_invert(z, x, zp);
            bad_inv += ward_f61_inv(&inv, a) != WARD_OK || inv != mpz_get_ui(z);
        }
        uint64_t u = ward_rng_u64(rng);
        if (it % 8 == 0) u = UINT64_MAX - ward_rng_uniform(rng, 64);
        mpz_set_ui(z, u);
        bad_u64 += z_mod(z) != ward_f61_from_u64(u);
        int64_t s = (int64_t)u;
        mpz_set_si(z, s);
        bad_i64 += z_mod(z) != ward_f61_from_i64(s);
        if (it % 16 == 0) {
            mpz_powm_ui(z, x, u, zp);
            bad_pow += mpz_get_ui(z) != ward_f61_pow(a, u);
        }
        unsigned __int128 w = ((unsigned __int128)ward_rng_u64(rng) << 64) | ward_rng_u64(rng);
        set_u128(z, w);
        bad_red += z_mod(z) != ward_f61_reduce128(w);
        /* laws on random elements */
        bad_laws += ward_f61_mul(a, ward_f61_sub(b, c)) !=
                    ward_f61_sub(ward_f61_mul(a, b), ward_f61_mul(a, c));
        bad_laws += ward_f61_add(ward_f61_add(a, b), c) != ward_f61_add(a, ward_f61_add(b, c));
        bad_laws += ward_f61_to_i64(a) != (a > (P - 1) / 2 ? (int64_t)a - (int64_t)P : (int64_t)a);
    }
    CHECK(bad_add == 0);
    CHECK(bad_sub == 0);
    CHECK(bad_mul == 0);
    CHECK(bad_inv == 0);
    CHECK(bad_u64 == 0);
    CHECK(bad_i64 == 0);
    CHECK(bad_pow == 0);
    CHECK(bad_red == 0);
    CHECK(bad_laws == 0);
    mpz_clears(x, y, z, NULL);
}

static void test_vectors(ward_rng *rng) {
    enum { N = 1000 };
    ward_f61 *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *o = malloc(N * sizeof *o);
    ward_f61 *o2 = malloc(N * sizeof *o2);
    CHECK(a && b && o && o2);
    if (!a || !b || !o || !o2) goto out;
    for (size_t i = 0; i < N; i++) a[i] = pick(rng), b[i] = pick(rng);
    ward_f61 s = pick(rng);
    int bad = 0;
    ward_f61_vec_add(o, a, b, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_add(a[i], b[i]);
    ward_f61_vec_sub(o, a, b, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_sub(a[i], b[i]);
    ward_f61_vec_neg(o, a, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_neg(a[i]);
    ward_f61_vec_scale(o, s, a, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_mul(s, a[i]);
    memcpy(o, a, N * sizeof *o);
    ward_f61_vec_muladd(o, s, b, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_add(a[i], ward_f61_mul(s, b[i]));
    /* every length around the 4-lane vector path and its scalar tail */
    for (size_t n = 0; n <= 37; n++) {
        ward_f61 *o3 = o2 + (n % 3); /* unaligned starts too */
        memcpy(o3, a, n * sizeof *o3);
        ward_f61_vec_muladd(o3, s, b + 1, n);
        for (size_t i = 0; i < n; i++) bad += o3[i] != ward_f61_muladd(a[i], s, b[1 + i]);
    }
    /* maximal operands in every lane: (p-1) + (p-1)(p-1) = p-1 + 1 = 0 */
    for (size_t i = 0; i < 64; i++) o[i] = P - 1, o2[i] = P - 1;
    ward_f61_vec_muladd(o, P - 1, o2, 64);
    for (size_t i = 0; i < 64; i++) bad += o[i] != 0;
    /* out aliasing b */
    memcpy(o, a, N * sizeof *o);
    ward_f61_vec_muladd(o, s, o, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_muladd(a[i], s, a[i]);
    /* in place */
    memcpy(o, a, N * sizeof *o);
    ward_f61_vec_add(o, o, b, N);
    for (size_t i = 0; i < N; i++) bad += o[i] != ward_f61_add(a[i], b[i]);
    CHECK(bad == 0);

    /* dot product at lengths around the lazy-reduction block, vs scalar */
    static const size_t lens[] = {0, 1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 999, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        ward_f61 ref = 0;
        for (size_t i = 0; i < n; i++) ref = ward_f61_add(ref, ward_f61_mul(a[i], b[i]));
        CHECK_EQ_U64(ward_f61_vec_dot(a, b, n), ref);
    }

    /* batch inverse */
    for (size_t i = 0; i < N; i++) a[i] = a[i] == 0 ? 1 : a[i];
    CHECK_RC(ward_f61_vec_inv(o, a, N), WARD_OK);
    bad = 0;
    for (size_t i = 0; i < N; i++) {
        ward_f61 inv;
        ward_f61_inv(&inv, a[i]);
        bad += o[i] != inv;
    }
    CHECK(bad == 0);
    CHECK_RC(ward_f61_vec_inv(o, a, 1), WARD_OK);
    CHECK(ward_f61_mul(o[0], a[0]) == 1);
    CHECK_RC(ward_f61_vec_inv(o, a, 0), WARD_OK);
    CHECK_RC(ward_f61_vec_inv(a, a, N), WARD_EINVAL); /* overlap */
    CHECK_RC(ward_f61_vec_inv(a + 1, a, 2), WARD_EINVAL);
    /* a zero anywhere: error, and every output zero */
    static const size_t zpos[] = {0, 1, N / 2, N - 1};
    for (size_t zi = 0; zi < sizeof zpos / sizeof zpos[0]; zi++) {
        ward_f61 saved = a[zpos[zi]];
        a[zpos[zi]] = 0;
        for (size_t i = 0; i < N; i++) o[i] = 77;
        CHECK_RC(ward_f61_vec_inv(o, a, N), WARD_EINVAL);
        bad = 0;
        for (size_t i = 0; i < N; i++) bad += o[i] != 0;
        CHECK(bad == 0);
        a[zpos[zi]] = saved;
    }
    a[0] = 0;
    CHECK_RC(ward_f61_vec_inv(o, a, 1), WARD_EINVAL);

    /* random vectors are canonical and reproducible from the seed */
    ward_rng r1, r2;
    ward_rng_init_u64(&r1, 99);
    ward_rng_init_u64(&r2, 99);
    ward_f61_vec_random(&r1, o, N);
    ward_f61_vec_random(&r2, o2, N);
    CHECK_MEM(o, o2, N * sizeof *o);
    bad = 0;
    for (size_t i = 0; i < N; i++) bad += o[i] >= P;
    CHECK(bad == 0);
    ward_rng_clear(&r1);
    ward_rng_clear(&r2);
out:
    free(a);
    free(b);
    free(o);
    free(o2);
}

/* Long vectors of maximal elements: every block of the lazy accumulator is
 * full of the largest possible products. */
static void test_dot_bound(void) {
    enum { N = 100000 };
    ward_f61 *a = malloc(N * sizeof *a);
    CHECK(a != NULL);
    if (!a) return;
    for (size_t i = 0; i < N; i++) a[i] = P - 1;
    /* (p-1)^2 = 1, so the dot product of length n is n mod p. */
    static const size_t lens[] = {64, 65, 128, 4096, 4097, N};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        CHECK_EQ_U64(ward_f61_vec_dot(a, a, lens[li]), lens[li]);
    /* and with one factor p-1, the other p-2: (p-1)(p-2) = 2 */
    ward_f61 *b = malloc(N * sizeof *b);
    CHECK(b != NULL);
    if (b) {
        for (size_t i = 0; i < N; i++) b[i] = P - 2;
        CHECK_EQ_U64(ward_f61_vec_dot(a, b, N), 2 * (uint64_t)N);
        /* muladd of maximal elements into a maximal accumulator */
        ward_f61_vec_muladd(b, P - 1, a, N); /* (p-2) + 1 = p-1 */
        int bad = 0;
        for (size_t i = 0; i < N; i++) bad += b[i] != P - 1;
        CHECK(bad == 0);
    }
    /* the bound itself: 64 maximal products plus a maximal residue */
    unsigned __int128 acc = P - 1;
    for (int i = 0; i < WARD_F61_LAZY_PRODUCTS; i++) {
        unsigned __int128 before = acc;
        acc += (unsigned __int128)(P - 1) * (P - 1);
        CHECK(acc > before); /* no wrap */
    }
    CHECK_EQ_U64(ward_f61_reduce128(acc), (P - 1 + WARD_F61_LAZY_PRODUCTS) % P);
    free(a);
    free(b);
}

int main(void) {
    ward_rng rng;
    mpz_init_set_ui(zp, P);
    CHECK_RC(ward_rng_init_u64(&rng, 61), WARD_OK);
    test_known_answers();
    test_laws_edges();
    test_vs_gmp(&rng);
    test_vectors(&rng);
    test_dot_bound();
    ward_rng_clear(&rng);
    mpz_clear(zp);
    return check_done("field61");
}
