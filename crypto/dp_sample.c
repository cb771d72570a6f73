#include "dp_sample.h"

#include <gmp.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>

#include "error.h"

/* GMP's *_ui functions take unsigned long; this module passes uint64_t. */
_Static_assert(ULONG_MAX >= UINT64_MAX, "unsigned long must hold 64 bits");

typedef unsigned __int128 u128;

/* ---- uniform integers ---- */

/* Uniform in [0, bound), 1 <= bound < 2^128. Bounds that fit 64 bits go to
 * ward_rng_uniform; wider ones are drawn as two words with the high word
 * masked to the bound's bit length and rejected when too large (fewer than
 * two tries on average). */
static u128 uniform_u128(ward_rng *rng, u128 bound) {
    if ((bound >> 64) == 0) return ward_rng_uniform(rng, (uint64_t)bound);
    uint64_t top = (uint64_t)((bound - 1) >> 64);
    uint64_t mask = top == 0 ? 0 : ~(uint64_t)0 >> __builtin_clzll(top);
    for (;;) {
        uint64_t lo = ward_rng_u64(rng);
        uint64_t hi = ward_rng_u64(rng) & mask;
        u128 v = ((u128)hi << 64) | lo;
        if (v < bound) return v;
    }
}

/* The limbs of every mpz below are allocated once, at this size, so GMP
 * never reallocates (and so never frees an unwiped copy of) a secret. The
 * largest value is (|Y| d t - n)^2 < 2^(2 * (63 + 64 + 32)) = 2^318. */
#define BIG_BITS 512
#define BIG_WORDS (BIG_BITS / 64)

/* Temporaries for the GMP path of Algorithm 3, set up on first use. */
typedef struct {
    int ready;
    mpz_t num, den, q, r, bound, u;
} bigtmp;

static void big_setup(bigtmp *b) {
    if (b->ready) return;
    mpz_init2(b->num, BIG_BITS);
    mpz_init2(b->den, BIG_BITS);
    mpz_init2(b->q, BIG_BITS);
    mpz_init2(b->r, BIG_BITS);
    mpz_init2(b->bound, BIG_BITS);
    mpz_init2(b->u, BIG_BITS);
    b->ready = 1;
}

static void mpz_wipe_clear(mpz_t x) {
    sodium_memzero(x->_mp_d, (size_t)x->_mp_alloc * sizeof(mp_limb_t));
    mpz_clear(x);
}

static void big_wipe(bigtmp *b) {
    if (!b->ready) return;
    mpz_wipe_clear(b->num);
    mpz_wipe_clear(b->den);
    mpz_wipe_clear(b->q);
    mpz_wipe_clear(b->r);
    mpz_wipe_clear(b->bound);
    mpz_wipe_clear(b->u);
    b->ready = 0;
}

/* u uniform in [0, bound), 1 <= bound < 2^BIG_BITS. */
static void uniform_mpz(ward_rng *rng, mpz_t u, const mpz_t bound) {
    uint64_t w[BIG_WORDS];
    size_t bits = mpz_sizeinbase(bound, 2);
    size_t words = (bits + 63) / 64;
    uint64_t mask = bits % 64 == 0 ? ~(uint64_t)0 : ((uint64_t)1 << (bits % 64)) - 1;
    do {
        for (size_t i = 0; i < words; i++) w[i] = ward_rng_u64(rng);
        w[words - 1] &= mask;
        mpz_import(u, words, -1, sizeof w[0], 0, 0, w);
    } while (mpz_cmp(u, bound) >= 0);
    sodium_memzero(w, sizeof w);
}

/* ---- Algorithm 1: Bernoulli(exp(-gamma)) ---- */

/* gamma = r/d in [0, 1], d >= 1. K counts Bernoulli(gamma/K) successes
 * until the first failure; P(K > k) = gamma^k / k!, so P(K odd) =
 * sum_j (-gamma)^j / j! = exp(-gamma). E[K] = e^gamma. */
static int bexp_unit(ward_rng *rng, uint64_t r, uint64_t d) {
    uint64_t k = 1;
    while (uniform_u128(rng, (u128)d * k) < r) k++;
    int bit = (int)(k & 1);
    sodium_memzero(&k, sizeof k);
    return bit;
}

/* gamma = q + r/d with r < d: floor(gamma) Bernoulli(exp(-1)) trials, the
 * first failure deciding 0, then Bernoulli(exp(-r/d)). */
static int bexp_split(ward_rng *rng, u128 q, uint64_t r, uint64_t d) {
    for (u128 i = 0; i < q; i++)
        if (!bexp_unit(rng, 1, 1)) return 0;
    return bexp_unit(rng, r, d);
}

/* The same with gamma = num/den as mpz (num >= 0, den >= 1); b->num and
 * b->den are consumed. The fractional part runs Algorithm 1 with mpz
 * bounds d * K. */
static int bexp_mpz(ward_rng *rng, bigtmp *b) {
    mpz_fdiv_qr(b->q, b->r, b->num, b->den);
    while (mpz_sgn(b->q) > 0) {
        if (!bexp_unit(rng, 1, 1)) return 0;
        mpz_sub_ui(b->q, b->q, 1);
    }
    uint64_t k = 1;
    for (;;) {
        mpz_mul_ui(b->bound, b->den, k);
        uniform_mpz(rng, b->u, b->bound);
        if (mpz_cmp(b->u, b->r) >= 0) break;
        k++;
    }
    int bit = (int)(k & 1);
    sodium_memzero(&k, sizeof k);
    return bit;
}

/* ---- Algorithm 2: discrete Laplace of scale t/s ---- */

/* X = U + t V is geometric: P(X = x) proportional to exp(-x/t), built from
 * U uniform in [0, t) accepted with probability exp(-U/t) and V counting
 * Bernoulli(exp(-1)) successes. Y = floor(X/s) is geometric with ratio
 * exp(-s/t); a random sign, rejecting -0, gives the two-sided law. */
static int dlap(ward_rng *rng, int64_t *out, uint64_t t, uint64_t s) {
    uint64_t u = 0, v = 0, neg = 0;
    u128 y = 0;
    int rc = WARD_OK;
    for (;;) {
        u = ward_rng_uniform(rng, t);
        if (!bexp_unit(rng, u, t)) continue;
        v = 0;
        while (bexp_unit(rng, 1, 1)) v++;
        y = ((u128)u + (u128)t * v) / s;
        neg = ward_rng_uniform(rng, 2);
        if (neg && y == 0) continue;
        break;
    }
    if (y > (u128)INT64_MAX) {
        rc = WARD_EOVERFLOW;
        *out = 0;
    } else {
        *out = neg ? -(int64_t)y : (int64_t)y;
    }
    sodium_memzero(&u, sizeof u);
    sodium_memzero(&v, sizeof v);
    sodium_memzero(&neg, sizeof neg);
    sodium_memzero(&y, sizeof y);
    return rc;
}

/* ---- Algorithm 3: discrete Gaussian ---- */

static uint64_t isqrt_u64(uint64_t x) {
    uint64_t r = 0, bit = (uint64_t)1 << 62;
    while (bit > x) bit >>= 2;
    while (bit != 0) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

typedef struct {
    uint64_t n, d; /* sigma^2 = n/d */
    uint64_t t;    /* floor(sigma) + 1 */
    uint64_t den;  /* 2 n d t^2 when it fits 64 bits, else 0 */
} gauss_params;

static void gauss_setup(gauss_params *g, uint64_t n, uint64_t d) {
    g->n = n;
    g->d = d;
    /* floor(sqrt(n/d)) = floor(sqrt(floor(n/d))) */
    g->t = isqrt_u64(n / d) + 1;
    uint64_t den;
    if (__builtin_mul_overflow(n, d, &den) || __builtin_mul_overflow(den, g->t, &den) ||
        __builtin_mul_overflow(den, g->t, &den) || __builtin_mul_overflow(den, 2, &den))
        den = 0;
    g->den = den;
}

/* Bernoulli(exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))). With sigma^2 = n/d
 * the exponent is (|y| d t - n)^2 / (2 n d t^2): in 128-bit words when the
 * numerator's root fits 64 bits and the denominator 64 bits, else in GMP. */
static int gauss_accept(ward_rng *rng, const gauss_params *g, uint64_t ay, bigtmp *b) {
    if (g->den != 0) {
        u128 p;
        if (!__builtin_mul_overflow((u128)ay * g->d, (u128)g->t, &p)) {
            u128 a = p >= g->n ? p - g->n : g->n - p;
            if ((a >> 64) == 0) {
                u128 a2 = a * a;
                u128 q = a2 / g->den;
                uint64_t r = (uint64_t)(a2 % g->den);
                int bit = bexp_split(rng, q, r, g->den);
                sodium_memzero(&p, sizeof p);
                sodium_memzero(&a, sizeof a);
                sodium_memzero(&a2, sizeof a2);
                sodium_memzero(&q, sizeof q);
                sodium_memzero(&r, sizeof r);
                return bit;
            }
        }
        sodium_memzero(&p, sizeof p);
    }
    big_setup(b);
    mpz_set_ui(b->num, ay);
    mpz_mul_ui(b->num, b->num, g->d);
    mpz_mul_ui(b->num, b->num, g->t);
    mpz_sub_ui(b->num, b->num, g->n);
    mpz_mul(b->u, b->num, b->num); /* not in place: no aliased temporary */
    mpz_swap(b->num, b->u);
    mpz_set_ui(b->den, g->n);
    mpz_mul_ui(b->den, b->den, g->d);
    mpz_mul_ui(b->den, b->den, g->t);
    mpz_mul_ui(b->den, b->den, g->t);
    mpz_mul_2exp(b->den, b->den, 1);
    return bexp_mpz(rng, b);
}

static int dgauss(ward_rng *rng, int64_t *out, const gauss_params *g, bigtmp *b) {
    int64_t y = 0;
    uint64_t ay = 0;
    int rc;
    for (;;) {
        rc = dlap(rng, &y, g->t, 1);
        if (rc != WARD_OK) break;
        ay = y < 0 ? (uint64_t)0 - (uint64_t)y : (uint64_t)y;
        if (gauss_accept(rng, g, ay, b)) break;
    }
    *out = rc == WARD_OK ? y : 0;
    sodium_memzero(&y, sizeof y);
    sodium_memzero(&ay, sizeof ay);
    return rc;
}

/* ---- API ---- */

int ward_dp_bernoulli(ward_rng *rng, int *out, uint64_t num, uint64_t den) {
    WARD_ARG_CHECK(rng != NULL && out != NULL);
    WARD_ARG_CHECK(den >= 1 && num <= den);
    uint64_t u = ward_rng_uniform(rng, den);
    *out = (int)(u < num);
    sodium_memzero(&u, sizeof u);
    return WARD_OK;
}

int ward_dp_bernoulli_exp_var(ward_rng *rng, int *out, uint64_t num, uint64_t den) {
    WARD_ARG_CHECK(rng != NULL && out != NULL);
    WARD_ARG_CHECK(den >= 1);
    *out = bexp_split(rng, num / den, num % den, den);
    return WARD_OK;
}

static int laplace_args_ok(uint64_t num, uint64_t den) {
    return num >= 1 && den >= 1 && (u128)num <= (u128)den * WARD_DP_MAX_LAPLACE_SCALE;
}

int ward_dp_discrete_laplace_vec_var(ward_rng *rng, int64_t *out, size_t m,
                                     uint64_t scale_num, uint64_t scale_den) {
    WARD_ARG_CHECK(rng != NULL && (out != NULL || m == 0));
    WARD_ARG_CHECK(laplace_args_ok(scale_num, scale_den));
    for (size_t i = 0; i < m; i++) {
        int rc = dlap(rng, &out[i], scale_num, scale_den);
        if (rc != WARD_OK) {
            sodium_memzero(out, m * sizeof *out);
            return rc;
        }
    }
    return WARD_OK;
}

int ward_dp_discrete_laplace_var(ward_rng *rng, int64_t *out, uint64_t scale_num,
                                 uint64_t scale_den) {
    WARD_ARG_CHECK(out != NULL);
    return ward_dp_discrete_laplace_vec_var(rng, out, 1, scale_num, scale_den);
}

int ward_dp_discrete_gaussian_vec_var(ward_rng *rng, int64_t *out, size_t m,
                                      uint64_t sigma2_num, uint64_t sigma2_den) {
    WARD_ARG_CHECK(rng != NULL && (out != NULL || m == 0));
    WARD_ARG_CHECK(sigma2_num >= 1 && sigma2_den >= 1);
    WARD_ARG_CHECK((u128)sigma2_num <= (u128)sigma2_den * WARD_DP_MAX_GAUSS_SIGMA2);
    gauss_params g;
    gauss_setup(&g, sigma2_num, sigma2_den);
    bigtmp b;
    b.ready = 0;
    int rc = WARD_OK;
    for (size_t i = 0; i < m && rc == WARD_OK; i++) rc = dgauss(rng, &out[i], &g, &b);
    if (rc != WARD_OK) sodium_memzero(out, m * sizeof *out);
    big_wipe(&b);
    return rc;
}

int ward_dp_discrete_gaussian_var(ward_rng *rng, int64_t *out, uint64_t sigma2_num,
                                  uint64_t sigma2_den) {
    WARD_ARG_CHECK(out != NULL);
    return ward_dp_discrete_gaussian_vec_var(rng, out, 1, sigma2_num, sigma2_den);
}

int ward_dp_ddg_share_var(ward_rng *rng, int64_t *out, size_t m, uint64_t sigma2_num,
                          uint64_t sigma2_den) {
    return ward_dp_discrete_gaussian_vec_var(rng, out, m, sigma2_num, sigma2_den);
}
