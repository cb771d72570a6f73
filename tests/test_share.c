/* Secret sharing over the real fields: round trips for many (t, n), random
 * subsets in random order, misuse, tampering, long vectors, and a
 * chi-square test (with a power check) that shares look uniform. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "error.h"
#include "field127.h"
#include "field61.h"
#include "rng.h"
#include "share.h"

#define P WARD_F61_P

/* n vectors of m elements in one block, with the pointer array. */
typedef struct {
    ward_f61 *buf;
    ward_f61 **v;
    size_t n, m;
} vecset;

static int vecset_alloc(vecset *s, size_t n, size_t m) {
    s->n = n;
    s->m = m;
    s->buf = calloc(n * m + 1, sizeof *s->buf);
    s->v = calloc(n + 1, sizeof *s->v);
    if (!s->buf || !s->v) return -1;
    for (size_t i = 0; i < n; i++) s->v[i] = s->buf + i * m;
    return 0;
}

static void vecset_free(vecset *s) {
    free(s->buf);
    free(s->v);
}

static void shuffle(size_t *idx, size_t n, ward_rng *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ward_rng_uniform(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static void test_additive_f61(ward_rng *rng) {
    static const size_t ns[] = {1, 2, 3, 5, 10, 40, 255};
    static const size_t ms[] = {0, 1, 17, 10000};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            size_t n = ns[ni], m = ms[mi];
            if (n == 255 && m == 10000) continue; /* 20 MB: covered by smaller m */
            vecset sh;
            ward_f61 *secret = calloc(m + 1, sizeof *secret), *rec = calloc(m + 1, sizeof *rec);
            if (vecset_alloc(&sh, n, m) || !secret || !rec) {
                CHECK(0);
                goto next;
            }
            ward_f61_vec_random(rng, secret, m);
            if (m > 2) secret[0] = 0, secret[1] = P - 1;
            CHECK_RC(ward_additive_f61_share(rng, sh.v, n, secret, m), WARD_OK);
            CHECK_RC(ward_additive_f61_reconstruct(rec, m, (const ward_f61 *const *)sh.v, n), WARD_OK);
            CHECK_MEM(rec, secret, m * sizeof *rec);
            int canon = 0;
            for (size_t i = 0; i < n * m; i++) canon += sh.buf[i] >= P;
            CHECK(canon == 0);
            if (n >= 2 && m >= 17) CHECK(memcmp(sh.v[0], secret, m * sizeof *secret) != 0);
            if (n == 1) CHECK_MEM(sh.v[0], secret, m * sizeof *secret);
            /* order does not matter; a missing share changes every element */
            if (n >= 2 && m >= 1) {
                size_t idx[255];
                const ward_f61 *perm[255];
                for (size_t i = 0; i < n; i++) idx[i] = i;
                shuffle(idx, n, rng);
                for (size_t i = 0; i < n; i++) perm[i] = sh.v[idx[i]];
                CHECK_RC(ward_additive_f61_reconstruct(rec, m, perm, n), WARD_OK);
                CHECK_MEM(rec, secret, m * sizeof *rec);
                CHECK_RC(ward_additive_f61_reconstruct(rec, m, perm, n - 1), WARD_OK);
                size_t same = 0;
                for (size_t j = 0; j < m; j++) same += rec[j] == secret[j];
                CHECK(same == 0);
            }
        next:
            vecset_free(&sh);
            free(secret);
            free(rec);
        }
    }
    /* the deterministic completion, by hand */
    ward_f61 secret[3] = {5, 0, P - 1}, a[3] = {1, 2, 3}, b[3] = {P - 1, P - 1, P - 1}, last[3];
    const ward_f61 *others[2] = {a, b};
    CHECK_RC(ward_additive_f61_complete(last, secret, 3, others, 2), WARD_OK);
    CHECK_EQ_U64(last[0], 5);      /* 5 - 1 + 1 */
    CHECK_EQ_U64(last[1], P - 1);  /* 0 - 2 + 1 */
    CHECK_EQ_U64(last[2], P - 3);  /* -1 - 3 + 1 */
    CHECK_RC(ward_additive_f61_complete(last, secret, 3, NULL, 0), WARD_OK);
    CHECK_MEM(last, secret, sizeof last);
    /* in place: the sum may land on shares[0] */
    ward_f61 s0[3] = {1, 2, 3}, s1[3] = {P - 1, 5, 6};
    const ward_f61 *two[2] = {s0, s1};
    CHECK_RC(ward_additive_f61_reconstruct(s0, 3, two, 2), WARD_OK);
    CHECK_EQ_U64(s0[0], 0);
    CHECK_EQ_U64(s0[1], 7);
    CHECK_EQ_U64(s0[2], 9);
    /* misuse */
    ward_f61 *one[1] = {last};
    CHECK_RC(ward_additive_f61_share(rng, one, 0, secret, 3), WARD_EINVAL);
    CHECK_RC(ward_additive_f61_share(NULL, one, 1, secret, 3), WARD_EINVAL);
    CHECK_RC(ward_additive_f61_share(rng, NULL, 1, secret, 3), WARD_EINVAL);
    CHECK_RC(ward_additive_f61_share(rng, one, WARD_SHARE_MAX_PARTIES + 1, secret, 3), WARD_EINVAL);
    ward_f61 *holes[2] = {last, NULL};
    CHECK_RC(ward_additive_f61_share(rng, holes, 2, secret, 3), WARD_EINVAL);
    CHECK_RC(ward_additive_f61_reconstruct(last, 3, (const ward_f61 *const *)holes, 2), WARD_EINVAL);
    CHECK_RC(ward_additive_f61_reconstruct(last, 3, (const ward_f61 *const *)one, 0), WARD_EINVAL);
}

static void test_additive_f127(ward_rng *rng) {
    static const size_t ns[] = {1, 2, 7, 40, 255};
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
        size_t n = ns[ni], m = n == 255 ? 50 : 1000;
        ward_f127 *buf = calloc(n * m, sizeof *buf), *secret = calloc(m, sizeof *secret),
                  *rec = calloc(m, sizeof *rec);
        ward_f127 **v = calloc(n, sizeof *v);
        CHECK(buf && secret && rec && v);
        if (buf && secret && rec && v) {
            for (size_t i = 0; i < n; i++) v[i] = buf + i * m;
            ward_f127_vec_random(rng, secret, m);
            secret[0] = WARD_F127_Q - 1;
            secret[1] = 0;
            CHECK_RC(ward_additive_f127_share(rng, v, n, secret, m), WARD_OK);
            CHECK_RC(ward_additive_f127_reconstruct(rec, m, (const ward_f127 *const *)v, n), WARD_OK);
            CHECK_MEM(rec, secret, m * sizeof *rec);
            int canon = 0;
            for (size_t i = 0; i < n * m; i++) canon += buf[i] >= WARD_F127_Q;
            CHECK(canon == 0);
            if (n >= 2) {
                CHECK_RC(ward_additive_f127_reconstruct(rec, m, (const ward_f127 *const *)v, n - 1),
                         WARD_OK);
                size_t same = 0;
                for (size_t j = 0; j < m; j++) same += rec[j] == secret[j];
                CHECK(same == 0);
            }
            /* completion is the secret minus the others */
            CHECK_RC(ward_additive_f127_complete(rec, secret, m, (const ward_f127 *const *)v, n - 1),
                     WARD_OK);
            CHECK_MEM(rec, v[n - 1], m * sizeof *rec);
        }
        free(buf);
        free(secret);
        free(rec);
        free(v);
    }
    ward_f127 s[1] = {1}, *one[1] = {s};
    CHECK_RC(ward_additive_f127_share(rng, one, 0, s, 1), WARD_EINVAL);
    CHECK_RC(ward_additive_f127_reconstruct(s, 1, (const ward_f127 *const *)one, 0), WARD_EINVAL);
}

/* p(x) = secret + sum coef[k-1] x^k, by Horner with the scalar ops. */
static ward_f61 horner(ward_f61 secret, const ward_f61 *coef, size_t stride, size_t t, uint64_t x) {
    ward_f61 y = 0;
    for (size_t k = t - 1; k >= 1; k--) y = ward_f61_add(ward_f61_mul(y, x), coef[(k - 1) * stride]);
    return ward_f61_add(ward_f61_mul(y, x), secret);
}

static void test_shamir_eval(ward_rng *rng) {
    static const size_t ts[] = {1, 2, 3, 64, 65, 66, 130};
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        size_t t = ts[ti], n = t + 3, m = 11;
        vecset sh;
        ward_f61 secret[11], *coef = malloc((t * m + 1) * sizeof *coef);
        if (vecset_alloc(&sh, n, m) || !coef) {
            CHECK(0);
            vecset_free(&sh);
            free(coef);
            continue;
        }
        ward_f61_vec_random(rng, secret, m);
        ward_f61_vec_random(rng, coef, (t - 1) * m);
        for (size_t i = 0; i < (t - 1) * m; i += 3) coef[i] = P - 1; /* maximal terms */
        CHECK_RC(ward_shamir_f61_eval(sh.v, n, t, secret, m, coef), WARD_OK);
        int bad = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) bad += sh.v[i][j] != horner(secret[j], coef + j, m, t, i + 1);
        CHECK(bad == 0);
        vecset_free(&sh);
        free(coef);
    }
}

static void test_shamir(ward_rng *rng) {
    static const size_t tn[][2] = {
        {1, 1}, {1, 2}, {1, 5}, {2, 2}, {2, 3}, {3, 5}, {5, 5}, {6, 10}, {1, 40}, {20, 40},
        {21, 40}, {40, 40}, {64, 100}, {65, 100}, {66, 100}, {2, 255}, {128, 255}, {255, 255},
    };
    for (size_t c = 0; c < sizeof tn / sizeof tn[0]; c++) {
        size_t t = tn[c][0], n = tn[c][1], m = 23;
        vecset sh;
        ward_f61 secret[23], rec[23];
        const ward_f61 *sub[256];
        uint64_t xs[256];
        size_t idx[256];
        if (vecset_alloc(&sh, n, m)) {
            CHECK(0);
            vecset_free(&sh);
            continue;
        }
        ward_f61_vec_random(rng, secret, m);
        secret[0] = 0;
        secret[1] = P - 1;
        CHECK_RC(ward_shamir_f61_share(rng, sh.v, n, t, secret, m), WARD_OK);
        if (t == 1)
            for (size_t i = 0; i < n; i++) CHECK_MEM(sh.v[i], secret, sizeof secret);
        /* random t-subsets in random order */
        int bad = 0;
        for (int rep = 0; rep < 8; rep++) {
            for (size_t i = 0; i < n; i++) idx[i] = i;
            shuffle(idx, n, rng);
            for (size_t i = 0; i < n; i++) sub[i] = sh.v[idx[i]], xs[i] = idx[i] + 1;
            CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_OK);
            bad += memcmp(rec, secret, sizeof rec) != 0;
            /* more than t shares: the first t are used */
            CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, n, t), WARD_OK);
            bad += memcmp(rec, secret, sizeof rec) != 0;
        }
        CHECK(bad == 0);
        /* Lagrange once, combine many times */
        ward_f61 lambda[256];
        CHECK_RC(ward_shamir_f61_lagrange(lambda, xs, t), WARD_OK);
        CHECK_RC(ward_shamir_f61_combine(rec, m, sub, lambda, t), WARD_OK);
        CHECK_MEM(rec, secret, sizeof rec);
        /* sum of Lagrange coefficients at 0 is 1 (interpolating a constant) */
        ward_f61 sum = 0;
        for (size_t i = 0; i < t; i++) sum = ward_f61_add(sum, lambda[i]);
        CHECK_EQ_U64(sum, 1);
        /* fewer than t shares */
        CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t - 1, t), WARD_EINVAL);
        if (t >= 2) {
            /* duplicate x */
            uint64_t saved = xs[t - 1];
            xs[t - 1] = xs[0];
            CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_EINVAL);
            CHECK_RC(ward_shamir_f61_lagrange(lambda, xs, t), WARD_EINVAL);
            /* right values, wrong x: a different value in every element */
            xs[t - 1] = n + 1;
            CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_OK);
            size_t same = 0;
            for (size_t j = 0; j < m; j++) same += rec[j] == secret[j];
            CHECK(same == 0);
            xs[t - 1] = saved;
        }
        /* t-1 right shares and a wrong one: every element differs */
        ward_f61 wrong[23];
        for (size_t j = 0; j < m; j++) wrong[j] = ward_f61_add(sub[t - 1][j], 1 + (j % 5));
        const ward_f61 *keep = sub[t - 1];
        sub[t - 1] = wrong;
        CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_OK);
        size_t same = 0;
        for (size_t j = 0; j < m; j++) same += rec[j] == secret[j];
        CHECK(same == 0);
        sub[t - 1] = keep;
        /* x = 0 and out-of-range x */
        uint64_t saved0 = xs[0];
        xs[0] = 0;
        CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_EINVAL);
        xs[0] = (uint64_t)WARD_SHARE_MAX_PARTIES + 1;
        CHECK_RC(ward_shamir_f61_reconstruct(rec, m, sub, xs, t, t), WARD_EINVAL);
        xs[0] = saved0;
        /* reconstruction in place over the first share */
        memcpy(wrong, sub[0], sizeof wrong);
        sub[0] = wrong;
        CHECK_RC(ward_shamir_f61_reconstruct(wrong, m, sub, xs, t, t), WARD_OK);
        CHECK_MEM(wrong, secret, sizeof wrong);
        vecset_free(&sh);
    }
    /* misuse */
    ward_f61 s[1] = {3}, o[2][1];
    ward_f61 *two[2] = {o[0], o[1]};
    uint64_t xs2[2] = {1, 2};
    CHECK_RC(ward_shamir_f61_share(rng, two, 2, 0, s, 1), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_share(rng, two, 2, 3, s, 1), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_share(rng, two, 0, 1, s, 1), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_share(NULL, two, 2, 2, s, 1), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_share(rng, two, 2, 2, NULL, 1), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_eval(two, 2, 2, s, 1, NULL), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_reconstruct(s, 1, (const ward_f61 *const *)two, xs2, 2, 0), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_lagrange(s, xs2, 0), WARD_EINVAL);
    CHECK_RC(ward_shamir_f61_combine(s, 1, (const ward_f61 *const *)two, NULL, 2), WARD_EINVAL);
}

/* 10,000-element vectors, n = 10, t = 6, every one of several subsets. */
static void test_long(ward_rng *rng) {
    enum { M = 10000, N = 10, T = 6 };
    vecset sh;
    ward_f61 *secret = malloc(M * sizeof *secret), *rec = malloc(M * sizeof *rec);
    if (vecset_alloc(&sh, N, M) || !secret || !rec) {
        CHECK(0);
        goto out;
    }
    ward_f61_vec_random(rng, secret, M);
    CHECK_RC(ward_shamir_f61_share(rng, sh.v, N, T, secret, M), WARD_OK);
    for (int rep = 0; rep < 5; rep++) {
        size_t idx[N];
        const ward_f61 *sub[N];
        uint64_t xs[N];
        for (size_t i = 0; i < N; i++) idx[i] = i;
        shuffle(idx, N, rng);
        for (size_t i = 0; i < T; i++) sub[i] = sh.v[idx[i]], xs[i] = idx[i] + 1;
        CHECK_RC(ward_shamir_f61_reconstruct(rec, M, sub, xs, T, T), WARD_OK);
        CHECK_MEM(rec, secret, M * sizeof *rec);
    }
    CHECK_RC(ward_additive_f61_share(rng, sh.v, N, secret, M), WARD_OK);
    CHECK_RC(ward_additive_f61_reconstruct(rec, M, (const ward_f61 *const *)sh.v, N), WARD_OK);
    CHECK_MEM(rec, secret, M * sizeof *rec);
    /* the same seed gives the same shares */
    ward_rng a, b;
    ward_rng_init_u64(&a, 5);
    ward_rng_init_u64(&b, 5);
    vecset sh2;
    if (vecset_alloc(&sh2, N, M) == 0) {
        CHECK_RC(ward_shamir_f61_share(&a, sh.v, N, T, secret, M), WARD_OK);
        CHECK_RC(ward_shamir_f61_share(&b, sh2.v, N, T, secret, M), WARD_OK);
        CHECK_MEM(sh.buf, sh2.buf, (size_t)N * M * sizeof *sh.buf);
    }
    vecset_free(&sh2);
    ward_rng_clear(&a);
    ward_rng_clear(&b);
out:
    vecset_free(&sh);
    free(secret);
    free(rec);
}

/* ---- uniformity ---- */

#define BINS 16
/* Upper 1e-6 quantile of chi-square with 15 degrees of freedom. */
#define CHI2_CRIT_15 56.49

static double chi2_top_bits(const ward_f61 *v, size_t n) {
    size_t cnt[BINS] = {0};
    for (size_t i = 0; i < n; i++) cnt[v[i] >> 57]++; /* top 4 of 61 bits */
    double e = (double)n / BINS, x = 0;
    for (int b = 0; b < BINS; b++) x += ((double)cnt[b] - e) * ((double)cnt[b] - e) / e;
    return x;
}

static void test_uniform(ward_rng *rng) {
    enum { M = 160000 };
    ward_f61 *secret = malloc(M * sizeof *secret), *sample = malloc(M * sizeof *sample);
    vecset sh;
    if (vecset_alloc(&sh, 5, M) || !secret || !sample) {
        CHECK(0);
        goto out;
    }
    /* Every element of the vector is an independent sharing of the same
     * fixed secret, so one share vector is M draws of that share. */
    static const ward_f61 fixed[] = {0, 42, P - 1};
    for (size_t f = 0; f < sizeof fixed / sizeof fixed[0]; f++) {
        for (size_t j = 0; j < M; j++) secret[j] = fixed[f];
        CHECK_RC(ward_additive_f61_share(rng, sh.v, 3, secret, M), WARD_OK);
        double x_add = chi2_top_bits(sh.v[2], M); /* the computed share */
        CHECK(x_add < CHI2_CRIT_15);
        CHECK_RC(ward_shamir_f61_share(rng, sh.v, 5, 3, secret, M), WARD_OK);
        double x_sh = chi2_top_bits(sh.v[4], M);
        CHECK(x_sh < CHI2_CRIT_15);
        double x_sh1 = chi2_top_bits(sh.v[0], M);
        CHECK(x_sh1 < CHI2_CRIT_15);
        printf("chi2 (15 df, crit %.2f): additive %.2f, shamir x=5 %.2f, x=1 %.2f\n",
               CHI2_CRIT_15, x_add, x_sh, x_sh1);
    }
    /* Power: the same test must reject a visibly biased generator. */
    for (size_t j = 0; j < M; j++) sample[j] = ward_rng_uniform(rng, P / 2);
    double x_bias = chi2_top_bits(sample, M);
    CHECK(x_bias > CHI2_CRIT_15);
    /* and a milder one: a share of 7/8 uniform, 1/8 stuck in [0, p/16) */
    for (size_t j = 0; j < M; j++)
        sample[j] = ward_rng_uniform(rng, 8) == 0 ? ward_rng_uniform(rng, P / 16) : ward_f61_random(rng);
    double x_mild = chi2_top_bits(sample, M);
    CHECK(x_mild > CHI2_CRIT_15);
    printf("chi2 of biased generators: [0,p/2) %.0f, mild %.0f\n", x_bias, x_mild);
out:
    vecset_free(&sh);
    free(secret);
    free(sample);
}

int main(void) {
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 0x5ea1), WARD_OK);
    test_additive_f61(&rng);
    test_additive_f127(&rng);
    test_shamir_eval(&rng);
    test_shamir(&rng);
    test_long(&rng);
    test_uniform(&rng);
    ward_rng_clear(&rng);
    return check_done("share");
}
