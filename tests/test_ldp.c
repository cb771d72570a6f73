/* Local DP (crypto/ldp.h): unbiasedness and variance of the GRR, OUE and
 * OLH estimators against the closed forms, with a power check (an encoder
 * run at 1.3 eps must fail the same tests), the Lambert W_{-1}
 * implementation against known values, and planar Laplace's radius law. */
#include <math.h>

#include "check.h"
#include "error.h"
#include "ldp.h"
#include "rng.h"

#define N_USERS 20000u
#define TRIALS 200u
/* The sample variance over TRIALS trials has a relative standard error of
 * about sqrt(2 / (TRIALS - 1)) = 0.10; 0.3 is three of them. An encoder at
 * 1.3 eps changes the summed variance by 40% or more at the configurations
 * of the power check. */
#define VAR_TOL 0.3
/* Bias: z-score bound per value. */
#define BIAS_Z 4.5

/* The true value of user i: half the users hold 0, the rest are spread
 * evenly, so both the f = 0-ish and the large-f terms of the variance are
 * exercised. */
static uint32_t user_value(uint32_t i, uint32_t d) { return i < N_USERS / 2 ? 0 : i % d; }

typedef struct {
    double mean[64], var[64], f[64];
} trial_stats;

static void run_trials(trial_stats *st, ward_ldp_mech mech, double eps_enc, double eps_est,
                       uint32_t d, uint64_t seed) {
    ward_rng rng;
    ward_rng_init_u64(&rng, seed);
    uint64_t counts[64];
    double est[64], sum[64] = {0}, sum2[64] = {0};
    uint8_t bits[64];
    memset(st, 0, sizeof *st);
    for (uint32_t i = 0; i < N_USERS; i++) st->f[user_value(i, d)] += 1.0;
    for (uint32_t t = 0; t < TRIALS; t++) {
        ward_ldp_est e;
        CHECK_RC(ward_ldp_est_init(&e, counts, d, mech, eps_est), WARD_OK);
        for (uint32_t i = 0; i < N_USERS; i++) {
            uint32_t v = user_value(i, d), y = 0;
            uint64_t s = 0;
            int rc = WARD_OK;
            if (mech == WARD_LDP_GRR) {
                rc = ward_ldp_grr_encode(&rng, &y, eps_enc, d, v);
                if (rc == WARD_OK) rc = ward_ldp_est_add_grr(&e, y);
            } else if (mech == WARD_LDP_OUE) {
                rc = ward_ldp_oue_encode(&rng, bits, d, eps_enc, v);
                if (rc == WARD_OK) rc = ward_ldp_est_add_oue(&e, bits, d);
            } else {
                rc = ward_ldp_olh_encode(&rng, &s, &y, eps_enc, d, v);
                /* The estimator's g may differ from the encoder's in the
                 * power check; fold the report into its range. */
                if (rc == WARD_OK) rc = ward_ldp_est_add_olh(&e, s, y % e.g);
            }
            if (rc != WARD_OK) {
                CHECK_RC(rc, WARD_OK);
                return;
            }
        }
        CHECK_RC(ward_ldp_est_finish(&e, est, d), WARD_OK);
        for (uint32_t v = 0; v < d; v++) {
            sum[v] += est[v];
            sum2[v] += est[v] * est[v];
        }
    }
    for (uint32_t v = 0; v < d; v++) {
        st->mean[v] = sum[v] / TRIALS;
        st->var[v] = (sum2[v] - TRIALS * st->mean[v] * st->mean[v]) / (TRIALS - 1);
    }
    ward_rng_clear(&rng);
}

/* Max |mean - f| / SE over the values, and the summed empirical variance
 * over the summed formula variance (at eps_formula). */
static void judge(const trial_stats *st, ward_ldp_mech mech, double eps_formula, uint32_t d,
                  double *max_z, double *ratio) {
    double se = 0, sf = 0;
    *max_z = 0;
    for (uint32_t v = 0; v < d; v++) {
        double var;
        CHECK_RC(ward_ldp_variance_at(&var, mech, eps_formula, d, N_USERS, st->f[v]), WARD_OK);
        double z = fabs(st->mean[v] - st->f[v]) / sqrt(var / TRIALS);
        if (z > *max_z) *max_z = z;
        se += st->var[v];
        sf += var;
    }
    *ratio = se / sf;
}

static const char *mname(ward_ldp_mech m) {
    return m == WARD_LDP_GRR ? "grr" : m == WARD_LDP_OUE ? "oue" : "olh";
}

static void test_estimator(ward_ldp_mech mech, double eps, uint32_t d, uint64_t seed) {
    trial_stats st;
    double z, r;
    run_trials(&st, mech, eps, eps, d, seed);
    judge(&st, mech, eps, d, &z, &r);
    printf("  %s eps=%.2f d=%u: max bias z=%.2f, var ratio=%.3f\n", mname(mech), eps, d, z, r);
    CHECK(z < BIAS_Z);
    CHECK(fabs(r - 1.0) < VAR_TOL);
}

/* Power: an encoder at 1.3 eps. Estimated at 1.3 eps (so unbiased), its
 * variance must fail the test against the formula at eps; estimated at eps,
 * its bias must show. */
static void test_power(ward_ldp_mech mech, double eps, uint32_t d, uint64_t seed) {
    trial_stats st;
    double z, r;
    run_trials(&st, mech, 1.3 * eps, 1.3 * eps, d, seed);
    judge(&st, mech, eps, d, &z, &r);
    printf("  power %s eps=%.2f d=%u at 1.3 eps: var ratio=%.3f\n", mname(mech), eps, d, r);
    CHECK(fabs(r - 1.0) >= VAR_TOL);
    run_trials(&st, mech, 1.3 * eps, eps, d, seed + 1);
    judge(&st, mech, eps, d, &z, &r);
    printf("  power %s eps=%.2f d=%u at 1.3 eps, estimated at eps: max bias z=%.1f\n",
           mname(mech), eps, d, z);
    CHECK(z >= BIAS_Z);
}

static void test_formulas(void) {
    const double epss[] = {0.5, 1.0, 2.0, 4.0};
    const uint32_t ds[] = {2, 8, 100};
    for (size_t i = 0; i < 4; i++) {
        double e = exp(epss[i]);
        for (size_t j = 0; j < 3; j++) {
            double var, ref;
            uint32_t d = ds[j];
            CHECK_RC(ward_ldp_variance(&var, WARD_LDP_GRR, epss[i], d, 1000), WARD_OK);
            ref = 1000.0 * (d - 2 + e) / ((e - 1) * (e - 1));
            CHECK(fabs(var / ref - 1) < 1e-12);
            CHECK_RC(ward_ldp_variance(&var, WARD_LDP_OUE, epss[i], d, 1000), WARD_OK);
            ref = 1000.0 * 4 * e / ((e - 1) * (e - 1));
            CHECK(fabs(var / ref - 1) < 1e-12);
            /* OLH at the integer g is close to the ideal g = e^eps + 1. */
            CHECK_RC(ward_ldp_variance(&var, WARD_LDP_OLH, epss[i], d, 1000), WARD_OK);
            CHECK(fabs(var / ref - 1) < 0.1);
        }
    }
    /* At eps = ln 3, g = 4 = e^eps + 1 exactly: OLH matches to rounding. */
    double var;
    uint32_t g;
    CHECK_RC(ward_ldp_variance(&var, WARD_LDP_OLH, log(3.0), 10, 1000), WARD_OK);
    CHECK(fabs(var / (1000.0 * 4 * 3 / 4) - 1) < 1e-12);
    CHECK_RC(ward_ldp_olh_g(&g, 2.0), WARD_OK);
    CHECK_EQ_U64(g, 8); /* round(7.389) + 1 */
    double p, q;
    CHECK_RC(ward_ldp_probs(&p, &q, WARD_LDP_GRR, 1.0, 4), WARD_OK);
    CHECK(fabs(p - M_E / (M_E + 3)) < 1e-15 && fabs(q - 1 / (M_E + 3)) < 1e-15);
    CHECK(fabs(log(p / q) - 1.0) < 1e-13);
}

static void test_misuse(void) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 1);
    uint32_t y;
    uint64_t s, counts[4];
    uint8_t bits[4];
    CHECK_RC(ward_ldp_grr_encode(&rng, &y, 1.0, 4, 4), WARD_EINVAL);
    CHECK_RC(ward_ldp_grr_encode(&rng, &y, 0.0, 4, 0), WARD_EINVAL);
    CHECK_RC(ward_ldp_grr_encode(&rng, &y, NAN, 4, 0), WARD_EINVAL);
    CHECK_RC(ward_ldp_grr_encode(&rng, &y, 21.0, 4, 0), WARD_EINVAL);
    CHECK_RC(ward_ldp_grr_encode(&rng, &y, 1.0, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_ldp_grr_encode(NULL, &y, 1.0, 4, 0), WARD_EINVAL);
    CHECK_RC(ward_ldp_oue_encode(&rng, bits, 4, 1.0, 9), WARD_EINVAL);
    CHECK_RC(ward_ldp_olh_encode(&rng, &s, &y, 1.0, 4, 4), WARD_EINVAL);
    ward_ldp_est e;
    CHECK_RC(ward_ldp_est_init(&e, counts, 4, WARD_LDP_GRR, 1.0), WARD_OK);
    CHECK_RC(ward_ldp_est_add_grr(&e, 4), WARD_EINVAL);
    CHECK_RC(ward_ldp_est_add_olh(&e, 0, 0), WARD_EINVAL);
    CHECK_EQ_U64(e.n, 0);
    CHECK_RC(ward_ldp_est_init(&e, counts, 4, WARD_LDP_OUE, 1.0), WARD_OK);
    bits[0] = 2;
    CHECK_RC(ward_ldp_est_add_oue(&e, bits, 4), WARD_EINVAL);
    /* Same seed, same stream, same reports; reports stay in range. */
    ward_rng a, b;
    ward_rng_init_u64(&a, 7);
    ward_rng_init_u64(&b, 7);
    for (int i = 0; i < 100; i++) {
        uint32_t ya, yb;
        CHECK_RC(ward_ldp_grr_encode(&a, &ya, 0.7, 5, (uint32_t)i % 5), WARD_OK);
        CHECK_RC(ward_ldp_grr_encode(&b, &yb, 0.7, 5, (uint32_t)i % 5), WARD_OK);
        CHECK(ya == yb && ya < 5);
    }
    CHECK(ward_ldp_olh_hash(1, 2, 8) == ward_ldp_olh_hash(1, 2, 8));
    CHECK(ward_ldp_olh_hash(1, 2, 8) < 8);
    ward_rng_clear(&rng);
}

static void test_lambertw(void) {
    struct { double x, w; } kv[] = {
        {-0.1, -3.577152063957297},
        {-0.2, -2.5426413577735264},
        {-1e-10, -26.295238819246926},
        {-0.36, -1.2227701339785060},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        double w = ward_ldp_lambertw_m1(kv[i].x);
        CHECK(fabs(w - kv[i].w) <= 1e-13 * fabs(kv[i].w));
    }
    CHECK(ward_ldp_lambertw_m1(-exp(-1.0)) == -1.0);
    CHECK(fabs(ward_ldp_lambertw_m1(-0.36787944117144) + 1.0) < 1e-5);
    CHECK(isnan(ward_ldp_lambertw_m1(0.0)));
    CHECK(isnan(ward_ldp_lambertw_m1(-0.5)));
    CHECK(isnan(ward_ldp_lambertw_m1(0.1)));
    /* Residual w e^w = x over the domain, on the lower branch. */
    int ok = 1;
    for (int k = 1; k < 2000; k++) {
        double x = -exp(-1.0) * k / 2000.0;
        double w = ward_ldp_lambertw_m1(x);
        if (!(w <= -1.0) || fabs(w * exp(w) - x) > 1e-14 * fabs(x) + 1e-17) ok = 0;
    }
    CHECK(ok);
}

/* Radius law Gamma(2, 1/eps): mean 2/eps (SE sqrt(2)/eps/sqrt(N)), and
 * P(r <= 2/eps) = 1 - 3 e^-2. */
static double mean_radius(double eps_draw, double *below) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 99);
    const int n = 200000;
    double s = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        double r;
        CHECK_RC(ward_ldp_planar_radius_var(&rng, &r, eps_draw), WARD_OK);
        s += r;
        cnt += r <= 2.0 / 0.01;
    }
    *below = (double)cnt / n;
    ward_rng_clear(&rng);
    return s / n;
}

static void test_planar(void) {
    const double eps = 0.01; /* per metre: mean radius 200 m */
    double below;
    double m = mean_radius(eps, &below);
    double se = sqrt(2.0) / eps / sqrt(200000.0);
    printf("  planar eps=%.3f/m: mean radius %.2f m (2/eps = %.0f), P(r <= 2/eps) = %.4f\n",
           eps, m, 2 / eps, below);
    CHECK(fabs(m - 2 / eps) < 4 * se);
    CHECK(fabs(below - (1 - 3 * exp(-2.0))) < 0.005);
    m = mean_radius(1.3 * eps, &below);
    CHECK(fabs(m - 2 / eps) >= 4 * se); /* power */

    ward_ldp_geo_box box = {52.0, 13.0, 53.0, 14.0, 0.001};
    CHECK_RC(ward_ldp_geo_box_check(&box), WARD_OK);
    ward_rng rng;
    ward_rng_init_u64(&rng, 5);
    double la, lo;
    /* Negligible noise: the output is the nearest grid point. */
    CHECK_RC(ward_ldp_planar_encode_var(&rng, &la, &lo, 1000.0, &box, 52.5204, 13.4049),
             WARD_OK);
    CHECK(fabs(la - 52.520) < 1e-9 && fabs(lo - 13.405) < 1e-9);
    /* Strong noise at a corner: every output on the grid, inside the box. */
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        CHECK_RC(ward_ldp_planar_encode_var(&rng, &la, &lo, 1e-4, &box, 52.0, 13.0), WARD_OK);
        double kl = (la - 52.0) / 0.001, ko = (lo - 13.0) / 0.001;
        if (la < 52.0 || la > 53.0 + 1e-9 || lo < 13.0 || lo > 14.0 + 1e-9) ok = 0;
        if (fabs(kl - nearbyint(kl)) > 1e-6 || fabs(ko - nearbyint(ko)) > 1e-6) ok = 0;
    }
    CHECK(ok);
    CHECK_RC(ward_ldp_planar_encode_var(&rng, &la, &lo, 0.01, &box, 51.0, 13.5), WARD_EINVAL);
    ward_ldp_geo_box bad = {53.0, 13.0, 52.0, 14.0, 0.001};
    CHECK_RC(ward_ldp_geo_box_check(&bad), WARD_EINVAL);
    ward_rng_clear(&rng);
}

int main(void) {
    test_formulas();
    test_misuse();
    test_lambertw();
    test_planar();
    test_estimator(WARD_LDP_GRR, 0.5, 2, 101);
    test_estimator(WARD_LDP_GRR, 1.0, 8, 102);
    test_estimator(WARD_LDP_GRR, 2.0, 32, 103);
    test_estimator(WARD_LDP_OUE, 0.5, 4, 201);
    test_estimator(WARD_LDP_OUE, 2.0, 8, 202);
    test_estimator(WARD_LDP_OLH, 1.0, 8, 301);
    test_estimator(WARD_LDP_OLH, 2.0, 16, 302);
    test_power(WARD_LDP_GRR, 1.0, 8, 401);
    test_power(WARD_LDP_OUE, 1.0, 4, 402);
    test_power(WARD_LDP_OLH, 1.0, 8, 403);
    return check_done("ldp");
}
