/* Exact DP samplers: statistical tests that can fail, with power checks.
 *
 * Method (REFERENCE-FIGURES.md, "Differential privacy"): 60,000 samples
 * per distribution, seeded so that every run is the same run. Against the
 * exact pmf (long double):
 *   - every value in the central window (expected count >= 10) by a Wilson
 *     score interval at alpha 1e-6, Bonferroni-corrected over the window;
 *   - a chi-square over the window's values plus the two tails, each tail
 *     merged into its neighbour when its expected count is below 5, at
 *     p < 1e-6;
 *   - the mean (0) and the second moment (the exact variance) against
 *     normal intervals at alpha 1e-6 built from the exact moments.
 * The power check applies the same tests, against the same nominal pmf,
 * to samples drawn with the scale 30% too large and 30% too small, and
 * asserts that the Wilson, chi-square and variance tests each reject.
 * Then Bernoulli(p) and Bernoulli(exp(-x)) frequencies, the distributed
 * noise (n shares summed against the n-fold convolution), known-answer
 * streams for a fixed seed, and misuse. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "dp_account.h"
#include "dp_sample.h"
#include "error.h"
#include "rng.h"

typedef long double ld;

#define N_SAMPLES 60000
#define ALPHA 1e-6L

/* ---- statistics (test side, long double) ---- */

/* z with P(|Z| > z) = alpha. */
static ld z_two_sided(ld alpha) {
    ld lo = 0, hi = 40;
    for (int i = 0; i < 200; i++) {
        ld mid = (lo + hi) / 2;
        if (erfcl(mid / sqrtl(2.0L)) > alpha) lo = mid;
        else hi = mid;
    }
    return hi;
}

/* Regularized upper incomplete gamma Q(a, x). */
static ld gamma_q(ld a, ld x) {
    if (x <= 0) return 1;
    ld lpre = -x + a * logl(x) - lgammal(a);
    if (x < a + 1) {
        ld term = 1 / a, sum = term;
        for (int n = 1; n < 100000; n++) {
            term *= x / (a + n);
            sum += term;
            if (term < sum * 1e-21L) break;
        }
        return 1 - sum * expl(lpre);
    }
    const ld tiny = 1e-4000L;
    ld b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 100000; i++) {
        ld an = -(ld)i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabsl(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabsl(c) < tiny) c = tiny;
        d = 1 / d;
        ld del = d * c;
        h *= del;
        if (fabsl(del - 1) < 1e-21L) break;
    }
    return expl(lpre) * h;
}

/* A pmf on [lo, hi] (mass outside below 1e-30). */
typedef struct {
    int64_t lo, hi;
    ld *p;
} pmf;

static ld pmf_at(const pmf *f, int64_t k) { return k < f->lo || k > f->hi ? 0 : f->p[k - f->lo]; }

static void pmf_free(pmf *f) {
    free(f->p);
    f->p = NULL;
}

static int pmf_dlap(pmf *f, uint64_t num, uint64_t den) {
    ld scale = (ld)num / den, a = expl(-1 / scale);
    int64_t k = (int64_t)(80 * scale) + 20;
    f->lo = -k;
    f->hi = k;
    f->p = calloc((size_t)(2 * k + 1), sizeof *f->p);
    if (!f->p) return -1;
    for (int64_t i = -k; i <= k; i++) f->p[i + k] = (1 - a) / (1 + a) * powl(a, (ld)llabs(i));
    return 0;
}

static int pmf_dgauss(pmf *f, ld s2) {
    int64_t k = (int64_t)(14 * sqrtl(s2)) + 20;
    f->lo = -k;
    f->hi = k;
    f->p = calloc((size_t)(2 * k + 1), sizeof *f->p);
    if (!f->p) return -1;
    ld z = 0;
    for (int64_t i = -k; i <= k; i++) z += f->p[i + k] = expl(-(ld)i * i / (2 * s2));
    for (int64_t i = -k; i <= k; i++) f->p[i + k] /= z;
    return 0;
}

/* f * g */
static int pmf_conv(pmf *out, const pmf *f, const pmf *g) {
    out->lo = f->lo + g->lo;
    out->hi = f->hi + g->hi;
    out->p = calloc((size_t)(out->hi - out->lo + 1), sizeof *out->p);
    if (!out->p) return -1;
    for (int64_t i = f->lo; i <= f->hi; i++)
        for (int64_t j = g->lo; j <= g->hi; j++)
            out->p[i + j - out->lo] += f->p[i - f->lo] * g->p[j - g->lo];
    return 0;
}

static void pmf_moments(const pmf *f, ld *mean, ld *var, ld *m4) {
    ld m = 0, v = 0, q = 0;
    for (int64_t i = f->lo; i <= f->hi; i++) {
        ld p = f->p[i - f->lo], x = (ld)i;
        m += p * x;
        v += p * x * x;
        q += p * x * x * x * x;
    }
    *mean = m;
    *var = v;
    *m4 = q;
}

typedef struct {
    int wilson_reject, chi2_reject, mean_reject, var_reject;
    int bins;
    ld chi2_p;
} verdict;

static verdict run_tests(const int64_t *x, size_t n, const pmf *f) {
    verdict v = {0, 0, 0, 0, 0, 1};
    /* window: expected count >= 10 (contiguous: the pmfs are unimodal) */
    int64_t wlo = 0, whi = 0;
    while (pmf_at(f, wlo - 1) * n >= 10) wlo--;
    while (pmf_at(f, whi + 1) * n >= 10) whi++;
    size_t w = (size_t)(whi - wlo + 1);
    uint64_t *cnt = calloc(w, sizeof *cnt);
    uint64_t left = 0, right = 0;
    ld s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < wlo) left++;
        else if (x[i] > whi) right++;
        else cnt[x[i] - wlo]++;
        s1 += (ld)x[i];
        s2 += (ld)x[i] * (ld)x[i];
    }
    /* Wilson score intervals, Bonferroni over the window */
    ld z = z_two_sided(ALPHA / w), z2 = z * z, nn = (ld)n;
    for (size_t i = 0; i < w; i++) {
        ld ph = (ld)cnt[i] / nn, p = pmf_at(f, wlo + (int64_t)i);
        ld centre = (ph + z2 / (2 * nn)) / (1 + z2 / nn);
        ld half = z / (1 + z2 / nn) * sqrtl(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
        if (p < centre - half || p > centre + half) v.wilson_reject = 1;
    }
    /* chi-square: window values and the two tails */
    ld pl = 0, pr = 0;
    for (int64_t k = f->lo; k < wlo; k++) pl += pmf_at(f, k);
    for (int64_t k = whi + 1; k <= f->hi; k++) pr += pmf_at(f, k);
    ld chi = 0;
    int bins = 0;
    for (size_t i = 0; i < w; i++) {
        ld e = pmf_at(f, wlo + (int64_t)i) * nn, o = (ld)cnt[i];
        if (i == 0 && pl * nn < 5) {
            e += pl * nn;
            o += (ld)left;
        }
        if (i == w - 1 && pr * nn < 5) {
            e += pr * nn;
            o += (ld)right;
        }
        chi += (o - e) * (o - e) / e;
        bins++;
    }
    if (pl * nn >= 5) {
        chi += ((ld)left - pl * nn) * ((ld)left - pl * nn) / (pl * nn);
        bins++;
    }
    if (pr * nn >= 5) {
        chi += ((ld)right - pr * nn) * ((ld)right - pr * nn) / (pr * nn);
        bins++;
    }
    v.bins = bins;
    v.chi2_p = gamma_q((ld)(bins - 1) / 2, chi / 2);
    v.chi2_reject = v.chi2_p < ALPHA;
    /* moments */
    ld mean, var, m4;
    pmf_moments(f, &mean, &var, &m4);
    ld zm = z_two_sided(ALPHA);
    v.mean_reject = fabsl(s1 / nn - mean) > zm * sqrtl(var / nn);
    v.var_reject = fabsl(s2 / nn - var) > zm * sqrtl((m4 - var * var) / nn);
    free(cnt);
    return v;
}

static int verdict_pass(verdict v) {
    return !v.wilson_reject && !v.chi2_reject && !v.mean_reject && !v.var_reject;
}

static void report(const char *what, verdict v) {
    printf("  %-40s bins %3d  chi2 p %.3Lg  wilson %s  mean %s  var %s\n", what, v.bins, v.chi2_p,
           v.wilson_reject ? "REJECT" : "ok", v.mean_reject ? "REJECT" : "ok",
           v.var_reject ? "REJECT" : "ok");
}

/* ---- samplers under test ---- */

typedef int (*gen_fn)(ward_rng *, int64_t *, size_t, uint64_t, uint64_t);

typedef struct {
    const char *name;
    uint64_t num, den;           /* nominal */
    uint64_t num_hi, den_hi;     /* scale 30% too large */
    uint64_t num_lo, den_lo;     /* scale 30% too small */
} case_t;

static void check_case(const case_t *c, gen_fn gen, int gauss, ward_rng *rng, int64_t *buf) {
    pmf f;
    int rc = gauss ? pmf_dgauss(&f, (ld)c->num / c->den) : pmf_dlap(&f, c->num, c->den);
    CHECK(rc == 0);
    if (rc != 0) return;
    char what[96];

    CHECK_RC(gen(rng, buf, N_SAMPLES, c->num, c->den), WARD_OK);
    verdict v = run_tests(buf, N_SAMPLES, &f);
    snprintf(what, sizeof what, "%s", c->name);
    report(what, v);
    CHECK(verdict_pass(v));

    /* the exact variance: 2a/(1-a)^2 for the discrete Laplace; at most
     * sigma^2 for the discrete Gaussian */
    ld mean, var, m4;
    pmf_moments(&f, &mean, &var, &m4);
    if (gauss) {
        CHECK(var <= (ld)c->num / c->den * (1 + 1e-15L));
    } else {
        ld a = expl(-(ld)c->den / c->num);
        CHECK(fabsl(var - 2 * a / ((1 - a) * (1 - a))) <= 1e-15L * var);
    }

    const uint64_t pn[2] = {c->num_hi, c->num_lo}, pd[2] = {c->den_hi, c->den_lo};
    for (int k = 0; k < 2; k++) {
        CHECK_RC(gen(rng, buf, N_SAMPLES, pn[k], pd[k]), WARD_OK);
        v = run_tests(buf, N_SAMPLES, &f);
        snprintf(what, sizeof what, "  power: scale %s 30%%", k == 0 ? "+" : "-");
        report(what, v);
        CHECK(v.wilson_reject);
        CHECK(v.chi2_reject);
        CHECK(v.var_reject);
    }
    pmf_free(&f);
}

static void test_discrete_laplace(int64_t *buf) {
    static const case_t cases[] = {
        {"discrete Laplace scale 1/2", 1, 2, 13, 20, 7, 20},
        {"discrete Laplace scale 1", 1, 1, 13, 10, 7, 10},
        {"discrete Laplace scale 37/10", 37, 10, 481, 100, 259, 100},
        {"discrete Laplace scale 20/21", 20, 21, 260, 210, 140, 210},
        {"discrete Laplace scale 25", 25, 1, 325, 10, 175, 10},
    };
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x4c61706c616365ull);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], ward_dp_discrete_laplace_vec_var, 0, &rng, buf);
    ward_rng_clear(&rng);
}

static void test_discrete_gaussian(int64_t *buf) {
    /* sigma off by 30%: sigma^2 times 1.69 and 0.49. The last case has
     * 2 n d t^2 beyond 64 bits, so it runs the GMP path. */
    static const case_t cases[] = {
        {"discrete Gaussian sigma^2 1", 1, 1, 169, 100, 49, 100},
        {"discrete Gaussian sigma^2 9/2", 9, 2, 1521, 200, 441, 200},
        {"discrete Gaussian sigma^2 30", 30, 1, 5070, 100, 1470, 100},
        {"discrete Gaussian sigma 3.5686", 1273490596, 100000000, 169 * 1273490596ull,
         10000000000ull, 49 * 1273490596ull, 10000000000ull},
        {"discrete Gaussian sigma^2 2+1e-18 (GMP)", 2000000000000000001ull,
         1000000000000000000ull, 3380000000000000000ull, 1000000000000000000ull,
         980000000000000000ull, 1000000000000000000ull},
    };
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x4761757373ull);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], ward_dp_discrete_gaussian_vec_var, 1, &rng, buf);
    ward_rng_clear(&rng);
}

/* ---- Bernoulli ---- */

static int wilson_contains(uint64_t ones, uint64_t n, ld p, ld z) {
    ld nn = (ld)n, ph = (ld)ones / nn, z2 = z * z;
    ld centre = (ph + z2 / (2 * nn)) / (1 + z2 / nn);
    ld half = z / (1 + z2 / nn) * sqrtl(ph * (1 - ph) / nn + z2 / (4 * nn * nn));
    return p >= centre - half - 1e-15L && p <= centre + half + 1e-15L;
}

static void test_bernoulli(void) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x4265726eull);
    static const struct {
        uint64_t num, den;
    } xs[] = {
        {0, 1},  {1, 3},   {1, 1},   {3, 2},   {5, 1},   {22, 7},
        {1000000000001ull, 1000000000000ull},
        {0xfffffffffffffffdull, 0xffffffffffffffffull}, /* bounds d K beyond 64 bits */
    };
    const size_t nx = sizeof xs / sizeof xs[0];
    ld z = z_two_sided(ALPHA / (2 * nx));
    for (size_t i = 0; i < nx; i++) {
        ld x = (ld)xs[i].num / xs[i].den, p = expl(-x);
        uint64_t ones = 0, ones_hi = 0;
        int bit, ok = 1;
        for (int j = 0; j < N_SAMPLES; j++) {
            ok &= ward_dp_bernoulli_exp_var(&rng, &bit, xs[i].num, xs[i].den) == WARD_OK;
            ones += (uint64_t)bit;
        }
        CHECK(ok);
        printf("  Bernoulli(exp(-%.6Lg)): %.5f (exact %.5Lf)\n", x, (double)ones / N_SAMPLES, p);
        CHECK(wilson_contains(ones, N_SAMPLES, p, z));
        if (xs[i].num == 0) {
            CHECK(ones == N_SAMPLES);
            continue;
        }
        /* power: x 30% too large */
        unsigned __int128 n13 = (unsigned __int128)xs[i].num * 13;
        unsigned __int128 d10 = (unsigned __int128)xs[i].den * 10;
        while (n13 > UINT64_MAX || d10 > UINT64_MAX) {
            n13 >>= 1;
            d10 >>= 1;
        }
        uint64_t pnum = (uint64_t)n13, pden = (uint64_t)d10;
        for (int j = 0; j < N_SAMPLES; j++) {
            ok &= ward_dp_bernoulli_exp_var(&rng, &bit, pnum, pden) == WARD_OK;
            ones_hi += (uint64_t)bit;
        }
        CHECK(ok);
        CHECK(!wilson_contains(ones_hi, N_SAMPLES, p, z));
    }

    static const struct {
        uint64_t num, den;
    } ps[] = {{0, 1}, {1, 1}, {1, 3}, {7, 10}, {1, 1000},
              {0x7fffffffffffffffull, 0xffffffffffffffffull}};
    const size_t np = sizeof ps / sizeof ps[0];
    z = z_two_sided(ALPHA / np);
    for (size_t i = 0; i < np; i++) {
        uint64_t ones = 0;
        int bit, ok = 1;
        for (int j = 0; j < N_SAMPLES; j++) {
            ok &= ward_dp_bernoulli(&rng, &bit, ps[i].num, ps[i].den) == WARD_OK;
            ones += (uint64_t)bit;
        }
        CHECK(ok);
        CHECK(wilson_contains(ones, N_SAMPLES, (ld)ps[i].num / ps[i].den, z));
        if (ps[i].num == 0) CHECK(ones == 0);
        if (ps[i].num == ps[i].den) CHECK(ones == N_SAMPLES);
        /* power: p 30% too small (where 60,000 draws can see it) */
        ld pv = (ld)ps[i].num / ps[i].den;
        if (N_SAMPLES * pv * (1 - pv) < 600) continue;
        unsigned __int128 n7 = (unsigned __int128)ps[i].num * 7;
        unsigned __int128 d10 = (unsigned __int128)ps[i].den * 10;
        while (d10 > UINT64_MAX) {
            n7 >>= 1;
            d10 >>= 1;
        }
        ones = 0;
        for (int j = 0; j < N_SAMPLES; j++) {
            ok &= ward_dp_bernoulli(&rng, &bit, (uint64_t)n7, (uint64_t)d10) == WARD_OK;
            ones += (uint64_t)bit;
        }
        CHECK(ok);
        CHECK(!wilson_contains(ones, N_SAMPLES, (ld)ps[i].num / ps[i].den, z));
    }
    ward_rng_clear(&rng);
}

/* ---- distributed noise ---- */

static void test_distributed(int64_t *buf) {
    enum { PARTIES = 4 };
    ward_dp_ddg par;
    CHECK_RC(ward_dp_ddg_calibrate(&par, 1.05, 5e-6, 1, PARTIES, 1), WARD_OK);
    uint64_t num = par.sigma2_num, den = par.sigma2_den;
    printf("  ddg: n = %d, t = 1, sigma^2 = %llu/%llu, rho = %.6g, tau = %.3g\n", PARTIES,
           (unsigned long long)num, (unsigned long long)den, par.rho, par.tau);

    int64_t *share = calloc(N_SAMPLES, sizeof *share);
    CHECK(share != NULL);
    if (!share) return;
    ward_rng root;
    ward_rng_init_u64(&root, 0x646467ull);
    /* scale: nominal, sigma 30% up, 30% down */
    const uint64_t mul[3] = {100, 169, 49};
    pmf one, two, three, four;
    CHECK(pmf_dgauss(&one, (ld)num / den) == 0);
    CHECK(pmf_conv(&two, &one, &one) == 0);
    CHECK(pmf_conv(&three, &two, &one) == 0);
    CHECK(pmf_conv(&four, &three, &one) == 0);
    for (int s = 0; s < 3; s++) {
        int64_t *honest = calloc(N_SAMPLES, sizeof *honest);
        CHECK(honest != NULL);
        if (!honest) break;
        for (size_t i = 0; i < N_SAMPLES; i++) buf[i] = 0;
        for (int p = 0; p < PARTIES; p++) {
            ward_rng party;
            ward_rng_fork(&party, &root, (uint64_t)p);
            CHECK_RC(ward_dp_ddg_share_var(&party, share, N_SAMPLES, num * mul[s], den * 100),
                     WARD_OK);
            for (size_t i = 0; i < N_SAMPLES; i++) {
                buf[i] += share[i];
                if (p > 0) honest[i] += share[i];
            }
            ward_rng_clear(&party);
        }
        verdict all = run_tests(buf, N_SAMPLES, &four);
        verdict hon = run_tests(honest, N_SAMPLES, &three);
        if (s == 0) {
            report("sum of 4 shares vs 4-fold convolution", all);
            report("3 honest shares vs 3-fold convolution", hon);
            CHECK(verdict_pass(all));
            CHECK(verdict_pass(hon));
        } else {
            report(s == 1 ? "  power: sigma + 30%" : "  power: sigma - 30%", all);
            CHECK(all.wilson_reject && all.chi2_reject && all.var_reject);
            CHECK(hon.wilson_reject && hon.chi2_reject && hon.var_reject);
        }
        free(honest);
    }
    /* the convolution's variance is n times the share's, and the sum is
     * close to N_Z(0, n sigma^2) (KLS): compare the pmfs */
    ld m1, v1, q1, m4, v4, q4;
    pmf_moments(&one, &m1, &v1, &q1);
    pmf_moments(&four, &m4, &v4, &q4);
    CHECK(fabsl(v4 - 4 * v1) < 1e-12L * v4);
    pmf wide;
    CHECK(pmf_dgauss(&wide, 4 * (ld)num / den) == 0);
    ld tv = 0;
    for (int64_t k = four.lo; k <= four.hi; k++) tv += fabsl(pmf_at(&four, k) - pmf_at(&wide, k));
    CHECK(tv / 2 < 1e-6L);
    pmf_free(&wide);
    pmf_free(&one);
    pmf_free(&two);
    pmf_free(&three);
    pmf_free(&four);
    free(share);
    ward_rng_clear(&root);
}

/* ---- known-answer streams ---- */

static const int64_t kat_dlap[20] = {
    -1, 8, -9, -5, -3, 1, 7, -5, -3, -1, -1, -7, -1, -4, -2, -6, 3, -11, -4, 1,
};
static const int64_t kat_dgauss[20] = {
    3, -4, 1, -1, 3, 0, -2, 1, 3, 1, 1, -1, -3, -4, -3, -1, -1, -4, 1, 0,
};
static const int64_t kat_dgauss_big[20] = {
    0, 1, -1, -2, 0, 2, 0, 2, 1, 0, 3, -1, 2, -2, 0, 2, 1, -2, 2, 0,
};
static const int kat_bexp[20] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};
static const int kat_bern[20] = {
    0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0,
};

static void print_kat(const char *name, const int64_t *v) {
    printf("static const int64_t %s[20] = {\n   ", name);
    for (int i = 0; i < 20; i++) printf(" %lld,", (long long)v[i]);
    printf("\n};\n");
}

static void test_kat(void) {
    int print = getenv("WARD_DP_PRINT_KAT") != NULL;
    ward_rng rng;
    int64_t v[20];
    int b[20];

    ward_rng_init_u64(&rng, 1);
    CHECK_RC(ward_dp_discrete_laplace_vec_var(&rng, v, 20, 37, 10), WARD_OK);
    if (print) print_kat("kat_dlap", v);
    CHECK_MEM(v, kat_dlap, sizeof v);

    ward_rng_init_u64(&rng, 2);
    CHECK_RC(ward_dp_discrete_gaussian_vec_var(&rng, v, 20, 9, 2), WARD_OK);
    if (print) print_kat("kat_dgauss", v);
    CHECK_MEM(v, kat_dgauss, sizeof v);

    ward_rng_init_u64(&rng, 3);
    for (int i = 0; i < 20; i++)
        CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v[i], 2000000000000000001ull,
                                               1000000000000000000ull),
                 WARD_OK);
    if (print) print_kat("kat_dgauss_big", v);
    CHECK_MEM(v, kat_dgauss_big, sizeof v);

    ward_rng_init_u64(&rng, 4);
    for (int i = 0; i < 20; i++) {
        CHECK_RC(ward_dp_bernoulli_exp_var(&rng, &b[i], 22, 7), WARD_OK);
        v[i] = b[i];
    }
    if (print) print_kat("kat_bexp", v);
    CHECK_MEM(b, kat_bexp, sizeof b);

    ward_rng_init_u64(&rng, 5);
    for (int i = 0; i < 20; i++) {
        CHECK_RC(ward_dp_bernoulli(&rng, &b[i], 1, 3), WARD_OK);
        v[i] = b[i];
    }
    if (print) print_kat("kat_bern", v);
    CHECK_MEM(b, kat_bern, sizeof b);

    /* the single-value and vector entry points give the same stream */
    int64_t w[20];
    ward_rng_init_u64(&rng, 2);
    for (int i = 0; i < 20; i++)
        CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &w[i], 9, 2), WARD_OK);
    CHECK_MEM(w, kat_dgauss, sizeof w);
    ward_rng_init_u64(&rng, 1);
    for (int i = 0; i < 20; i++)
        CHECK_RC(ward_dp_discrete_laplace_var(&rng, &w[i], 37, 10), WARD_OK);
    CHECK_MEM(w, kat_dlap, sizeof w);
    ward_rng_clear(&rng);
}

/* ---- misuse ---- */

static void test_misuse(void) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 9);
    int b = 7;
    int64_t v = 7, vec[4] = {1, 2, 3, 4};
    CHECK_RC(ward_dp_bernoulli(&rng, &b, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_bernoulli(&rng, &b, 3, 2), WARD_EINVAL);
    CHECK_RC(ward_dp_bernoulli(NULL, &b, 1, 2), WARD_EINVAL);
    CHECK_RC(ward_dp_bernoulli(&rng, NULL, 1, 2), WARD_EINVAL);
    CHECK_RC(ward_dp_bernoulli_exp_var(&rng, &b, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_bernoulli_exp_var(&rng, NULL, 1, 1), WARD_EINVAL);
    CHECK(b == 7);
    CHECK_RC(ward_dp_discrete_laplace_var(&rng, &v, 0, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_laplace_var(&rng, &v, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_laplace_var(&rng, NULL, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_laplace_var(&rng, &v, WARD_DP_MAX_LAPLACE_SCALE + 1, 1),
             WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_laplace_var(&rng, &v, WARD_DP_MAX_LAPLACE_SCALE, 1), WARD_OK);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v, 0, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, NULL, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v, WARD_DP_MAX_GAUSS_SIGMA2 + 1, 1),
             WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v, WARD_DP_MAX_GAUSS_SIGMA2, 1), WARD_OK);
    CHECK_RC(ward_dp_discrete_gaussian_var(&rng, &v, 1, 1000000000ull), WARD_OK); /* tiny */
    CHECK(v == 0);
    CHECK_RC(ward_dp_discrete_gaussian_vec_var(&rng, NULL, 4, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_discrete_gaussian_vec_var(&rng, NULL, 0, 1, 1), WARD_OK);
    CHECK_RC(ward_dp_discrete_laplace_vec_var(&rng, vec, 0, 1, 1), WARD_OK);
    CHECK(vec[0] == 1 && vec[3] == 4);
    CHECK_RC(ward_dp_ddg_share_var(&rng, vec, 4, 0, 1), WARD_EINVAL);
    ward_rng_clear(&rng);
}

int main(void) {
    int64_t *buf = calloc(N_SAMPLES, sizeof *buf);
    if (!buf) return 1;
    test_kat();
    test_misuse();
    test_bernoulli();
    test_discrete_laplace(buf);
    test_discrete_gaussian(buf);
    test_distributed(buf);
    free(buf);
    return check_done("dp-sample");
}
