/* Privacy accounting: every known answer of REFERENCE-FIGURES.md
 * ("Differential privacy") to 1e-9 relative, the direction of every
 * rounding (checked against independent long double evaluations), the
 * monotonicity of composition, the distributed discrete Gaussian
 * calibration against a direct computation, and rejection of bad input. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "dp_account.h"
#include "dp_sample.h"
#include "error.h"

typedef long double ld;

static int near_rel(double got, double want, double tol) {
    if (!isfinite(got)) return 0;
    if (want == 0) return fabs(got) <= tol;
    return fabs(got - want) <= tol * fabs(want);
}

#define CHECK_NEAR(got, want, tol)                                             \
    do {                                                                       \
        double got_ = (got), want_ = (want);                                   \
        check_count++;                                                         \
        if (!near_rel(got_, want_, (tol))) {                                   \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: %s = %.17g, wanted %.17g (rel %.1e)\n",    \
                    __FILE__, __LINE__, #got, got_, want_, (double)(tol));     \
        }                                                                      \
    } while (0)

/* ---- independent evaluations (test side, long double) ---- */

static ld t_phi(ld x) { return 0.5L * erfcl(-x / sqrtl(2.0L)); }

static ld t_ag_delta(ld s, ld e, ld d) {
    return t_phi(d / (2 * s) - e * s / d) - expl(e) * t_phi(-d / (2 * s) - e * s / d);
}

/* CKS's zCDP conversion minimised by golden-section search over ln(a - 1). */
static ld t_cdp_logdelta(ld rho, ld eps, ld a) {
    return (a - 1) * (a * rho - eps) + a * log1pl(-1 / a) - logl(a - 1);
}

static ld t_cdp_delta(ld rho, ld eps) {
    ld lo = -40, hi = logl((eps + 1) / (2 * rho) + 2);
    const ld g = 0.6180339887498948482L;
    for (int i = 0; i < 300; i++) {
        ld x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
        if (t_cdp_logdelta(rho, eps, 1 + expl(x1)) < t_cdp_logdelta(rho, eps, 1 + expl(x2)))
            hi = x2;
        else
            lo = x1;
    }
    ld l = t_cdp_logdelta(rho, eps, 1 + expl((lo + hi) / 2));
    return l >= 0 ? 1 : expl(l);
}

/* ---- known answers ---- */

static void test_analytic_gaussian(void) {
    static const struct {
        double sigma, eps, sens, delta;
    } rows[] = {
        {10, 0.1, 1, 0.008751768145810},
        {10, 1.0986122886681098, 5, 0.004159742234000802},
        {0.5, 0, 1, 0.6826894921370859},
        {1, 1.0986122886681098, 1, 0.10985556344445052},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double d = -1;
        CHECK_RC(ward_dp_analytic_gaussian_delta(&d, rows[i].sigma, rows[i].eps, rows[i].sens),
                 WARD_OK);
        CHECK_NEAR(d, rows[i].delta, 1e-9);
        /* an upper bound on the exact value */
        CHECK((ld)d >= t_ag_delta(rows[i].sigma, rows[i].eps, rows[i].sens) * (1 - 1e-15L));
    }

    /* smallest sigma: tight values (computed at 50 digits) and the figures
     * quoted to 6 digits; Google's calculator answers are upper ends */
    double s = 0;
    CHECK_RC(ward_dp_analytic_gaussian_sigma(&s, log(3.0), 1e-5, 1), WARD_OK);
    CHECK_NEAR(s, 3.4246623979089508, 1e-9);
    CHECK(fabs(s - 3.42466) < 5e-6);
    CHECK(s <= 3.42578125);
    CHECK(t_ag_delta(s, logl(3), 1) <= 1e-5L);
    CHECK(t_ag_delta(s * (1 - 1e-9), logl(3), 1) > 1e-5L);
    CHECK_RC(ward_dp_analytic_gaussian_sigma(&s, log(4.0), 2e-5, 3), WARD_OK);
    CHECK_NEAR(s, 7.9849116155470214, 1e-9);
    CHECK(fabs(s - 7.98491) < 5e-6);
    CHECK(s <= 7.986328125);
    CHECK(t_ag_delta(s, logl(4), 3) <= 2e-5L);
    CHECK(t_ag_delta(s * (1 - 1e-9), logl(4), 3) > 2e-5L);
}

static void test_zcdp_known(void) {
    double d = -1, e = -1;
    CHECK_RC(ward_dp_cdp_delta(&d, 0.05, 0.25), WARD_OK);
    CHECK_NEAR(d, 0.0817727531036956, 1e-9);
    CHECK((ld)d >= t_cdp_delta(0.05L, 0.25L));
    CHECK_RC(ward_dp_cdp_delta(&d, 0.5, 0), WARD_OK);
    CHECK_NEAR(d, 0.5588356393474351, 1e-9);
    CHECK((ld)d >= t_cdp_delta(0.5L, 0));
    CHECK_RC(ward_dp_cdp_epsilon(&e, 1.0 / 32, 1e-3), WARD_OK);
    CHECK_NEAR(e, 0.6880024554878086, 1e-9);
    CHECK(t_cdp_delta(1.0L / 32, e) <= 1e-3L);
    CHECK(t_cdp_delta(1.0L / 32, e * (1 - 1e-9)) > 1e-3L);
    CHECK_RC(ward_dp_cdp_delta(&d, 0, 0.3), WARD_OK);
    CHECK(d == 0);
    CHECK_RC(ward_dp_cdp_epsilon(&e, 0, 1e-5), WARD_OK);
    CHECK(e == 0);

    /* the zCDP accountant gives the same answer */
    ward_dp_zcdp z;
    CHECK_RC(ward_dp_zcdp_init(&z), WARD_OK);
    for (int i = 0; i < 4; i++) CHECK_RC(ward_dp_zcdp_add(&z, 1.0 / 128), WARD_OK);
    CHECK(z.rho == 1.0 / 32 && z.count == 4);
    CHECK_RC(ward_dp_zcdp_epsilon(&z, &e, 1e-3), WARD_OK);
    CHECK_NEAR(e, 0.6880024554878086, 1e-9);
}

static void test_rdp_known(void) {
    double orders[31], rdp[31], e = -1, best = 0;
    for (int i = 0; i < 31; i++) {
        orders[i] = 2 + i;
        rdp[i] = 1.1;
    }
    CHECK_RC(ward_dp_rdp_to_dp(&e, &best, orders, rdp, 31, 1e-5), WARD_OK);
    CHECK_NEAR(e, 1.32783806176, 1e-11 / 1.3278);
    CHECK_NEAR(e, 1.3278380617554359, 1e-9);
    CHECK(best == 32);
    /* every order's value, recomputed, is >= the minimum returned */
    for (int i = 0; i < 31; i++) {
        ld a = orders[i];
        ld v = 1.1L + log1pl(-1 / a) - logl(1e-5L * a) / (a - 1);
        CHECK((ld)e >= v || i != 30);
        CHECK(v >= (ld)e * (1 - 1e-12L));
    }

    /* the accountant at its orders: Gaussian sigma 10 composed 100 times
     * equals zCDP rho = 100/200 = 0.5 on the same grid */
    ward_dp_rdp a, b;
    CHECK_RC(ward_dp_rdp_init(&a), WARD_OK);
    CHECK_RC(ward_dp_rdp_init(&b), WARD_OK);
    for (int i = 0; i < 100; i++) CHECK_RC(ward_dp_rdp_add_gaussian(&a, 10, 1), WARD_OK);
    CHECK_RC(ward_dp_rdp_add_zcdp(&b, 0.5), WARD_OK);
    const double *ord = ward_dp_rdp_orders();
    int all_close = 1, sorted = 1, has_ints = 1;
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) {
        if (!near_rel(a.rdp[i], ord[i] * 0.5, 1e-12)) all_close = 0;
        if (!(a.rdp[i] >= ord[i] * 0.5)) all_close = 0;
        if (i > 0 && !(ord[i] > ord[i - 1])) sorted = 0;
    }
    for (int k = 2; k <= 64; k++) {
        int found = 0;
        for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) found |= ord[i] == k;
        has_ints &= found;
    }
    CHECK(all_close);
    CHECK(sorted && ord[0] > 1 && ord[WARD_DP_RDP_NORDERS - 1] == 64);
    CHECK(has_ints);
    double ea, eb;
    CHECK_RC(ward_dp_rdp_epsilon(&a, &ea, 1e-5), WARD_OK);
    CHECK_RC(ward_dp_rdp_epsilon(&b, &eb, 1e-5), WARD_OK);
    CHECK_NEAR(ea, eb, 1e-12);
    /* RDP over a grid is never better than the tight zCDP conversion */
    double ez;
    CHECK_RC(ward_dp_cdp_epsilon(&ez, 0.5, 1e-5), WARD_OK);
    CHECK(ea >= ez);
}

static void test_advanced_known(void) {
    ward_dp_adv a;
    ward_dp_adv_total t;
    CHECK_RC(ward_dp_adv_init(&a), WARD_OK);
    for (int i = 0; i < 700; i++) CHECK_RC(ward_dp_adv_add(&a, ldexp(1, -9), 0), WARD_OK);
    CHECK_RC(ward_dp_adv_compose(&t, &a, ldexp(1, -25)), WARD_OK);
    CHECK_NEAR(t.epsilon, 0.27832280615743646, 1e-9);
    CHECK_NEAR(t.kov, 0.27832280615743646, 1e-9);
    CHECK_NEAR(t.drv, 0.30688521298876422, 1e-9);
    CHECK(fabs(t.drv - 0.30689) < 5e-6);
    CHECK(t.naive == 700.0 / 512);
    CHECK_NEAR(t.delta, ldexp(1, -25), 1e-12);
    CHECK(t.delta >= ldexp(1, -25));

    /* with a few large spends the naive sum wins and needs no slack */
    CHECK_RC(ward_dp_adv_init(&a), WARD_OK);
    CHECK_RC(ward_dp_adv_add(&a, 1, 1e-6), WARD_OK);
    CHECK_RC(ward_dp_adv_add(&a, 1, 2e-6), WARD_OK);
    CHECK_RC(ward_dp_adv_compose(&t, &a, 1e-6), WARD_OK);
    CHECK(t.epsilon == 2 && t.naive == 2);
    CHECK_NEAR(t.delta, 3e-6, 1e-12);
}

static void test_class_table(void) {
    static const struct {
        ward_dp_class cls;
        double eps, lap, sigma, lap_fig, sigma_fig, delta;
    } rows[] = {
        {WARD_DP_CLASS_HIGH, 0.63, 1.0 / 0.63, 5.6895572280189878, 1.5873, 5.68956, 3e-6},
        {WARD_DP_CLASS_MEDIUM, 1.05, 1.0 / 1.05, 3.5685727247037770, 0.95238, 3.56857, 5e-6},
        {WARD_DP_CLASS_LOW, 0.42, 1.0 / 0.42, 8.2516546432823784, 2.38095, 8.25165, 2e-6},
    };
    double sum_e = 0;
    for (size_t i = 0; i < 3; i++) {
        double e, d, lap, sigma;
        CHECK_RC(ward_dp_class_budget(&e, &d, rows[i].cls, 2.1, 1e-5), WARD_OK);
        CHECK_NEAR(e, rows[i].eps, 1e-9);
        CHECK((ld)e <= 2.1L * (i == 0 ? 30 : i == 1 ? 50 : 20) / 100);
        CHECK_NEAR(d, rows[i].delta, 1e-9);
        CHECK(d <= rows[i].delta);
        sum_e += e;
        CHECK_RC(ward_dp_laplace_scale(&lap, e, 1), WARD_OK);
        CHECK_NEAR(lap, rows[i].lap, 1e-9);
        CHECK(fabs(lap - rows[i].lap_fig) < 5e-5 * rows[i].lap_fig);
        /* the table's sigma is the analytic Gaussian at the department's
         * delta 1e-5 */
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&sigma, e, 1e-5, 1), WARD_OK);
        CHECK_NEAR(sigma, rows[i].sigma, 1e-9);
        CHECK(fabs(sigma - rows[i].sigma_fig) < 5e-6);
        double lap_eps;
        CHECK_RC(ward_dp_laplace_epsilon(&lap_eps, lap, 1), WARD_OK);
        CHECK(lap_eps <= e * (1 + 1e-12));
    }
    CHECK(sum_e <= 2.1);
}

/* ---- rounding direction and monotonicity ---- */

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static double unit(uint64_t *s) { return (double)lcg(s) / 9007199254740992.0; }

static void test_rounding(void) {
    uint64_t st = 12345;
    for (int i = 0; i < 200; i++) {
        double rho = 1e-4 + 3 * unit(&st), eps = 5 * unit(&st);
        double delta = pow(10, -1 - 9 * unit(&st));
        double sens = 0.5 + 10 * unit(&st), sigma = 0.3 + 20 * unit(&st);
        double d, e, r, s;

        CHECK_RC(ward_dp_cdp_delta(&d, rho, eps), WARD_OK);
        CHECK((ld)d >= t_cdp_delta(rho, eps) && d <= 1);

        CHECK_RC(ward_dp_cdp_epsilon(&e, rho, delta), WARD_OK);
        CHECK(t_cdp_delta(rho, e) <= (ld)delta);
        CHECK(e == 0 || t_cdp_delta(rho, e * (1 - 1e-8)) > (ld)delta);

        CHECK_RC(ward_dp_cdp_rho(&r, eps + 0.01, delta), WARD_OK);
        CHECK(t_cdp_delta(r, eps + 0.01) <= (ld)delta);
        CHECK(t_cdp_delta(r * (1 + 1e-8), eps + 0.01) > (ld)delta);

        CHECK_RC(ward_dp_analytic_gaussian_sigma(&s, eps + 0.01, delta, sens), WARD_OK);
        CHECK(t_ag_delta(s, eps + 0.01, sens) <= (ld)delta);
        CHECK(t_ag_delta(s * (1 - 1e-8), eps + 0.01, sens) > (ld)delta);

        CHECK_RC(ward_dp_analytic_gaussian_delta(&d, sigma, eps, sens), WARD_OK);
        CHECK((ld)d >= t_ag_delta(sigma, eps, sens));

        CHECK_RC(ward_dp_gaussian_rho(&r, sigma, sens), WARD_OK);
        CHECK((ld)r >= (ld)sens * sens / (2 * (ld)sigma * sigma));
        CHECK_RC(ward_dp_gaussian_sigma_for_rho(&s, rho, sens), WARD_OK);
        CHECK((ld)sens * sens / (2 * (ld)s * s) <= (ld)rho);
        CHECK_RC(ward_dp_laplace_scale(&s, eps + 0.01, sens), WARD_OK);
        CHECK((ld)s * (eps + 0.01) >= (ld)sens);
        CHECK_RC(ward_dp_laplace_epsilon(&e, sigma, sens), WARD_OK);
        CHECK((ld)e * sigma >= (ld)sens);

        double orders[3] = {1.5, 7, 33}, rdp[3] = {rho * 1.5, rho * 7, rho * 33};
        CHECK_RC(ward_dp_rdp_to_dp(&e, NULL, orders, rdp, 3, delta), WARD_OK);
        ld vmin = 1e30L;
        for (int k = 0; k < 3; k++) {
            ld a = orders[k];
            ld v = rdp[k] + log1pl(-1 / a) - logl(delta * a) / (a - 1);
            if (v < vmin) vmin = v;
        }
        if (vmin < 0) vmin = 0;
        CHECK((ld)e >= vmin && (ld)e <= vmin + 1e-12L);
    }

    /* monotonicity in the arguments */
    double prev = 0, cur;
    for (int i = 1; i <= 50; i++) {
        CHECK_RC(ward_dp_cdp_delta(&cur, 0.02 * i, 1), WARD_OK);
        CHECK(cur >= prev);
        prev = cur;
    }
    prev = 1;
    for (int i = 0; i <= 50; i++) {
        CHECK_RC(ward_dp_cdp_delta(&cur, 0.3, 0.1 * i), WARD_OK);
        CHECK(cur <= prev);
        prev = cur;
    }
    prev = 1e300;
    for (int i = 1; i <= 40; i++) {
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&cur, 0.05 * i, 1e-5, 1), WARD_OK);
        CHECK(cur <= prev);
        prev = cur;
    }
    prev = 1e300;
    for (int i = 1; i <= 40; i++) {
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&cur, 1, 1e-9 * pow(1.5, i), 1), WARD_OK);
        CHECK(cur <= prev);
        prev = cur;
    }
}

static void test_composition_monotone(void) {
    uint64_t st = 777;
    ward_dp_pure p;
    ward_dp_zcdp z;
    ward_dp_rdp r;
    ward_dp_adv a;
    CHECK_RC(ward_dp_pure_init(&p), WARD_OK);
    CHECK_RC(ward_dp_zcdp_init(&z), WARD_OK);
    CHECK_RC(ward_dp_rdp_init(&r), WARD_OK);
    CHECK_RC(ward_dp_adv_init(&a), WARD_OK);
    double pe = 0, pd = 0, ze = 0, re = 0, ae = 0, ad = 0;
    int ok_p = 1, ok_z = 1, ok_r = 1, ok_a = 1, ok_exact = 1;
    ld exact_e = 0, exact_rho = 0;
    for (int i = 0; i < 300; i++) {
        double e = 0.2 * unit(&st), d = 1e-7 * unit(&st), rho = e * e / 2;
        if (i % 17 == 0) e = 0, d = 0, rho = 0; /* free spends change nothing */
        exact_e += e;
        exact_rho += rho;
        ward_dp_rdp before = r;
        CHECK_RC(ward_dp_pure_add(&p, e, d), WARD_OK);
        CHECK_RC(ward_dp_zcdp_add(&z, rho), WARD_OK);
        CHECK_RC(ward_dp_rdp_add_pure(&r, e), WARD_OK);
        CHECK_RC(ward_dp_adv_add(&a, e, d), WARD_OK);
        for (size_t k = 0; k < WARD_DP_RDP_NORDERS; k++)
            if (r.rdp[k] < before.rdp[k]) ok_r = 0;
        double v, w;
        ward_dp_adv_total t;
        if (p.epsilon < pe || p.delta < pd) ok_p = 0;
        pe = p.epsilon;
        pd = p.delta;
        if (ward_dp_zcdp_epsilon(&z, &v, 1e-5) != WARD_OK || v < ze) ok_z = 0;
        ze = v;
        if (ward_dp_rdp_epsilon(&r, &w, 1e-5) != WARD_OK || w < re) ok_r = 0;
        re = w;
        if (ward_dp_adv_compose(&t, &a, 1e-6) != WARD_OK || t.epsilon < ae ||
            (t.epsilon == ae && t.delta < ad))
            ok_a = 0;
        ae = t.epsilon;
        ad = t.delta;
        /* the totals are upper bounds on the exact sums */
        if ((ld)p.epsilon < exact_e || (ld)z.rho < exact_rho) ok_exact = 0;
        if ((ld)p.epsilon > exact_e * (1 + 1e-12L) + 1e-300L) ok_exact = 0;
    }
    CHECK(ok_p);
    CHECK(ok_z);
    CHECK(ok_r);
    CHECK(ok_a);
    CHECK(ok_exact);
    CHECK(p.count == 300 && z.count == 300 && r.count == 300 && a.count == 300);
}

/* ---- distributed discrete Gaussian: constants against direct computation ---- */

#define T_PI 3.14159265358979323846264338327950288L

static ld t_tau(ld s2, uint32_t h) {
    ld sum = 0;
    for (uint32_t k = 1; k < h; k++) sum += expl(-2 * T_PI * T_PI * s2 * k / (k + 1));
    return 10 * sum;
}

static ld t_rho(ld s2, ld sens, uint32_t h) {
    ld z = sens / sqrtl(h * s2) + t_tau(s2, h);
    return z * z / 2;
}

static void test_ddg(void) {
    /* expected numerators at denominator 10^6, computed independently at
     * 50 digits (mpmath) by the same definition */
    static const struct {
        double eps, delta, sens;
        uint32_t n, t;
        uint64_t num;
    } cases[] = {
        {1.05, 5e-6, 1, 5, 1, 4022543},   {1.0, 1e-5, 1, 2, 1, 16363080},
        {0.63, 3e-6, 1, 3, 1, 21882180},  {2.0, 1e-5, 1, 10, 2, 637766},
        {8.0, 1e-5, 1, 40, 1, 335385},    {0.42, 2e-6, 100, 7, 3, 243539276337},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ward_dp_ddg p;
        CHECK_RC(ward_dp_ddg_calibrate(&p, cases[i].eps, cases[i].delta, cases[i].sens,
                                       cases[i].n, cases[i].t),
                 WARD_OK);
        uint32_t h = cases[i].n - cases[i].t;
        CHECK(p.sigma2_den == 1000000);
        CHECK_EQ_U64(p.sigma2_num, cases[i].num);
        CHECK(p.parties == cases[i].n && p.colluding == cases[i].t);
        ld s2 = (ld)p.sigma2_num / p.sigma2_den;
        ld tau = t_tau(s2, h), rho = t_rho(s2, cases[i].sens, h);
        CHECK((ld)p.tau >= tau && (ld)p.tau <= tau * (1 + 1e-12L) + 1e-300L);
        CHECK((ld)p.rho >= rho && (ld)p.rho <= rho * (1 + 1e-12L));
        CHECK(p.rho <= p.rho_target);
        CHECK(t_cdp_delta(p.rho_target, cases[i].eps) <= (ld)cases[i].delta);
        CHECK(t_cdp_delta(p.rho, p.epsilon) <= (ld)cases[i].delta);
        CHECK(p.epsilon <= cases[i].eps && p.epsilon > 0.9 * cases[i].eps);
        /* minimal: one step down misses the target */
        double r;
        int rc = ward_dp_ddg_rho(&r, p.sigma2_num - 1, p.sigma2_den, cases[i].sens, h);
        CHECK(rc == WARD_EINVAL || r > p.rho_target);
        /* h = 1 is exactly the discrete Gaussian's rho */
        if (h == 1) {
            double r1;
            CHECK_RC(ward_dp_dgauss_rho(&r1, p.sigma2_num, p.sigma2_den, cases[i].sens), WARD_OK);
            CHECK_NEAR(r1, p.rho, 1e-15);
        }
    }
    /* more colluders need more noise per party; more parties need less */
    ward_dp_ddg a, b, c;
    CHECK_RC(ward_dp_ddg_calibrate(&a, 1.05, 5e-6, 1, 10, 1), WARD_OK);
    CHECK_RC(ward_dp_ddg_calibrate(&b, 1.05, 5e-6, 1, 10, 5), WARD_OK);
    CHECK_RC(ward_dp_ddg_calibrate(&c, 1.05, 5e-6, 1, 20, 1), WARD_OK);
    CHECK(b.sigma2_num > a.sigma2_num && c.sigma2_num < a.sigma2_num);
    /* tau: direct values */
    double tau;
    CHECK_RC(ward_dp_ddg_tau(&tau, 1, 4, 2), WARD_OK);
    CHECK_NEAR(tau, (double)(10 * expl(-T_PI * T_PI / 4)), 1e-12);
    CHECK_RC(ward_dp_ddg_tau(&tau, 5, 1, 1), WARD_OK);
    CHECK(tau == 0);
    /* large sigma: den 1 */
    CHECK_RC(ward_dp_ddg_calibrate(&a, 1e-3, 1e-5, 1e6, 3, 1), WARD_OK);
    CHECK(a.sigma2_den == 1 && a.sigma2_num > 1000000000000000ull);
    CHECK(a.rho <= a.rho_target);
    CHECK_RC(ward_dp_ddg_calibrate(&a, 1e-9, 1e-5, 1e9, 3, 1), WARD_EOVERFLOW);
}

/* ---- bad input ---- */

/* The calibration finds sigma^2 at every magnitude up to the sampler's
 * limit, tight: the rho of each sigma^2 from 1e2 to 1e17 is asked back for
 * (a search that overshot its numerator's limit once refused everything
 * between about 9e12 and 1.8e13). */
static void test_ddg_search_range(void) {
    int bad = 0;
    for (double s2 = 100; s2 < 1e17; s2 *= 1.37) {
        for (uint32_t h = 1; h <= 16; h *= 4) {
            double rho;
            uint64_t num = (uint64_t)s2, den = 1, n2, d2;
            if (ward_dp_ddg_rho(&rho, num, den, 65537.0, h) != WARD_OK) continue;
            int rc = ward_dp_ddg_sigma2_for_rho(&n2, &d2, rho, 65537.0, h);
            double back = 0;
            if (rc == WARD_OK) ward_dp_ddg_rho(&back, n2, d2, 65537.0, h);
            double found = rc == WARD_OK ? (double)n2 / (double)d2 : 0;
            if (rc != WARD_OK || back > rho || found > s2 * (1 + 1e-9) + 1) {
                if (bad++ < 5)
                    fprintf(stderr, "  sigma^2 %.6g h %u: rc %d, found %.6g (rho %.6g vs %.6g)\n",
                            s2, h, rc, found, back, rho);
            }
        }
    }
    CHECK(bad == 0);
}

static void test_bad_input(void) {
    const double bad_eps[] = {-1, -1e-300, NAN, INFINITY, -INFINITY};
    const double bad_delta[] = {0, 1, -0.1, 1.5, NAN, INFINITY};
    const double bad_sens[] = {0, -1, NAN, INFINITY};
    double x = 42;
    for (size_t i = 0; i < sizeof bad_eps / sizeof bad_eps[0]; i++) {
        double e = bad_eps[i];
        CHECK_RC(ward_dp_cdp_delta(&x, 0.1, e), WARD_EINVAL);
        CHECK_RC(ward_dp_cdp_delta(&x, e, 0.1), WARD_EINVAL); /* as rho */
        CHECK_RC(ward_dp_cdp_rho(&x, e, 1e-5), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&x, e, 1e-5, 1), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_delta(&x, 1, e, 1), WARD_EINVAL);
        CHECK_RC(ward_dp_laplace_scale(&x, e, 1), WARD_EINVAL);
        CHECK_RC(ward_dp_ddg_calibrate(NULL, e, 1e-5, 1, 3, 1), WARD_EINVAL);
        ward_dp_ddg p;
        CHECK_RC(ward_dp_ddg_calibrate(&p, e, 1e-5, 1, 3, 1), WARD_EINVAL);
        ward_dp_pure pa;
        ward_dp_zcdp za;
        ward_dp_adv aa;
        ward_dp_rdp ra;
        ward_dp_pure_init(&pa);
        ward_dp_zcdp_init(&za);
        ward_dp_adv_init(&aa);
        ward_dp_rdp_init(&ra);
        CHECK_RC(ward_dp_pure_add(&pa, e, 0), WARD_EINVAL);
        CHECK_RC(ward_dp_zcdp_add(&za, e), WARD_EINVAL);
        CHECK_RC(ward_dp_adv_add(&aa, e, 0), WARD_EINVAL);
        CHECK_RC(ward_dp_rdp_add_pure(&ra, e), WARD_EINVAL);
        CHECK_RC(ward_dp_rdp_add_zcdp(&ra, e), WARD_EINVAL);
        CHECK(pa.epsilon == 0 && pa.count == 0 && za.rho == 0 && aa.count == 0 && ra.count == 0);
        double orders[2] = {2, 3}, rdp[2] = {e, 1};
        CHECK_RC(ward_dp_rdp_to_dp(&x, NULL, orders, rdp, 2, 1e-5),
                 isinf(e) && e > 0 ? WARD_OK : WARD_EINVAL);
    }
    x = 42;
    CHECK_RC(ward_dp_laplace_scale(&x, 0, 1), WARD_EINVAL); /* epsilon 0 cannot be met */
    for (size_t i = 0; i < sizeof bad_delta / sizeof bad_delta[0]; i++) {
        double d = bad_delta[i];
        CHECK_RC(ward_dp_cdp_epsilon(&x, 0.1, d), WARD_EINVAL);
        CHECK_RC(ward_dp_cdp_rho(&x, 1, d), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&x, 1, d, 1), WARD_EINVAL);
        double orders[1] = {2}, rdp[1] = {1};
        CHECK_RC(ward_dp_rdp_to_dp(&x, NULL, orders, rdp, 1, d), WARD_EINVAL);
        ward_dp_ddg p;
        CHECK_RC(ward_dp_ddg_calibrate(&p, 1, d, 1, 3, 1), WARD_EINVAL);
        ward_dp_adv aa;
        ward_dp_adv_total t;
        ward_dp_adv_init(&aa);
        CHECK_RC(ward_dp_adv_compose(&t, &aa, d), WARD_EINVAL);
        double cb, cd;
        CHECK_RC(ward_dp_class_budget(&cb, &cd, WARD_DP_CLASS_LOW, 2.1, d), WARD_EINVAL);
        ward_dp_zcdp za;
        ward_dp_zcdp_init(&za);
        CHECK_RC(ward_dp_zcdp_epsilon(&za, &x, d), WARD_EINVAL);
        /* a spent delta may be 0 but not 1 or beyond */
        ward_dp_pure pa;
        ward_dp_pure_init(&pa);
        CHECK_RC(ward_dp_pure_add(&pa, 1, d), d == 0 ? WARD_OK : WARD_EINVAL);
    }
    for (size_t i = 0; i < sizeof bad_sens / sizeof bad_sens[0]; i++) {
        double s = bad_sens[i];
        CHECK_RC(ward_dp_laplace_scale(&x, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_laplace_epsilon(&x, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_laplace_epsilon(&x, s, 1), WARD_EINVAL); /* as scale */
        CHECK_RC(ward_dp_gaussian_rho(&x, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_gaussian_rho(&x, s, 1), WARD_EINVAL); /* as sigma */
        CHECK_RC(ward_dp_gaussian_sigma_for_rho(&x, 0.1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_delta(&x, 1, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_delta(&x, s, 1, 1), WARD_EINVAL);
        CHECK_RC(ward_dp_analytic_gaussian_sigma(&x, 1, 1e-5, s), WARD_EINVAL);
        CHECK_RC(ward_dp_dgauss_rho(&x, 1, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_ddg_rho(&x, 1, 1, s, 2), WARD_EINVAL);
        ward_dp_ddg p;
        CHECK_RC(ward_dp_ddg_calibrate(&p, 1, 1e-5, s, 3, 1), WARD_EINVAL);
        ward_dp_rdp ra;
        ward_dp_rdp_init(&ra);
        CHECK_RC(ward_dp_rdp_add_gaussian(&ra, 1, s), WARD_EINVAL);
        CHECK_RC(ward_dp_rdp_add_gaussian(&ra, s, 1), WARD_EINVAL);
    }
    CHECK(x == 42); /* nothing was written by a rejected call */

    /* structural misuse */
    double orders[2] = {1, 2}, rdp[2] = {1, 1};
    CHECK_RC(ward_dp_rdp_to_dp(&x, NULL, orders, rdp, 2, 1e-5), WARD_EINVAL); /* order 1 */
    CHECK_RC(ward_dp_rdp_to_dp(&x, NULL, orders + 1, rdp, 0, 1e-5), WARD_EINVAL);
    double inf2[2] = {INFINITY, INFINITY};
    CHECK_RC(ward_dp_rdp_to_dp(&x, NULL, orders + 1, inf2, 1, 1e-5), WARD_EOVERFLOW);
    ward_dp_ddg p;
    CHECK_RC(ward_dp_ddg_calibrate(&p, 1, 1e-5, 1, 3, 3), WARD_EINVAL);
    CHECK_RC(ward_dp_ddg_calibrate(&p, 1, 1e-5, 1, 0, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_ddg_calibrate(&p, 1, 1e-5, 1, WARD_DP_MAX_PARTIES + 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_ddg_rho(&x, 1, 5, 1, 2), WARD_EINVAL); /* sigma < 1/2, h >= 2 */
    CHECK_RC(ward_dp_ddg_rho(&x, 1, 5, 1, 1), WARD_OK);     /* fine for h = 1 */
    CHECK_RC(ward_dp_ddg_rho(&x, 1, 0, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_ddg_tau(&x, 1, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_dgauss_rho(&x, 0, 1, 1), WARD_EINVAL);
    double cb, cd;
    CHECK_RC(ward_dp_class_budget(&cb, &cd, (ward_dp_class)3, 2.1, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_class_budget(&cb, &cd, WARD_DP_CLASS_LOW, 0, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_pure_init(NULL), WARD_EINVAL);
    CHECK_RC(ward_dp_cdp_delta(NULL, 1, 1), WARD_EINVAL);

    /* extreme but valid input: finite answers, never NaN */
    double v;
    CHECK_RC(ward_dp_cdp_delta(&v, 1e-300, 0), WARD_OK);
    CHECK(isfinite(v) && v >= 0 && v <= 1);
    CHECK_RC(ward_dp_cdp_delta(&v, 1e-8, 1), WARD_OK);
    CHECK(isfinite(v) && v > 0 && v < 1e-300);
    CHECK_RC(ward_dp_cdp_delta(&v, 1e300, 1e300), WARD_OK);
    CHECK(isfinite(v) && v >= 0 && v <= 1);
    CHECK_RC(ward_dp_cdp_delta(&v, 1e6, 0), WARD_OK);
    CHECK(v == 1);
    CHECK_RC(ward_dp_analytic_gaussian_delta(&v, 1e-300, 1e4, 1), WARD_OK);
    CHECK(isfinite(v) && v >= 0 && v <= 1);
    CHECK_RC(ward_dp_analytic_gaussian_delta(&v, 1e300, 0, 1), WARD_OK);
    CHECK(isfinite(v) && v >= 0 && v <= 1);
    CHECK_RC(ward_dp_analytic_gaussian_delta(&v, 0.01, 700, 1), WARD_OK);
    CHECK(isfinite(v) && v >= 0 && v <= 1);
    CHECK_RC(ward_dp_cdp_epsilon(&v, 1e300, 1e-5), WARD_OK);
    CHECK(isfinite(v) && v >= 1e300);
    int rc = ward_dp_analytic_gaussian_sigma(&v, 0, 1e-300, 1e10);
    CHECK(rc == WARD_EOVERFLOW || (rc == WARD_OK && isfinite(v)));
    rc = ward_dp_cdp_rho(&v, 0, 1e-300);
    CHECK(rc == WARD_EOVERFLOW || (rc == WARD_OK && isfinite(v) && v > 0));
    CHECK_RC(ward_dp_laplace_epsilon(&v, 1e-300, 1e300), WARD_EOVERFLOW);
    ward_dp_zcdp z;
    ward_dp_zcdp_init(&z);
    CHECK_RC(ward_dp_zcdp_add(&z, 1e308), WARD_OK);
    CHECK_RC(ward_dp_zcdp_add(&z, 1e308), WARD_EOVERFLOW);
    CHECK(z.rho == 1e308 && z.count == 1);
}

int main(void) {
    test_ddg_search_range();
    test_analytic_gaussian();
    test_zcdp_known();
    test_rdp_known();
    test_advanced_known();
    test_class_table();
    test_rounding();
    test_composition_monotone();
    test_ddg();
    test_bad_input();
    return check_done("dp-account");
}
