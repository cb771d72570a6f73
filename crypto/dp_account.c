#include "dp_account.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "dp_sample.h"
#include "error.h"

typedef long double ld;

#define PI_L 3.141592653589793238462643383279502884L
#define E_L 2.718281828459045235360287471352662498L
#define SQRT1_2_L 0.707106781186547524400844362104849039L

/* ---- rounding toward more spending ----
 *
 * Quantities are evaluated in long double (64-bit significand) and handed
 * out as doubles (53 bits). up() returns the smallest double >= x, then one
 * more step: the extra ulp of a double is 2^11 ulps of a long double, more
 * than the few-ulp evaluation error of the formulas below, whose larger
 * error terms (cancellation, large exponents) get explicit margins. */

static double up(ld x) {
    double d = (double)x;
    if ((ld)d < x) d = nextafter(d, INFINITY);
    return nextafter(d, INFINITY);
}

static double down(ld x) {
    double d = (double)x;
    if ((ld)d > x) d = nextafter(d, -INFINITY);
    return nextafter(d, -INFINITY);
}

/* a + b rounded up exactly (TwoSum gives the rounding error of a + b). */
static double add_up(double a, double b) {
    double s = a + b;
    if (!isfinite(s)) return s;
    double bb = s - a;
    double err = (a - (s - bb)) + (b - bb);
    return err > 0 ? nextafter(s, INFINITY) : s;
}

static double add_down(double a, double b) {
    double s = a + b;
    if (!isfinite(s)) return s;
    double bb = s - a;
    double err = (a - (s - bb)) + (b - bb);
    return err < 0 ? nextafter(s, -INFINITY) : s;
}

/* a * b rounded up exactly (fma gives the rounding error). */
static double mul_up(double a, double b) {
    double p = a * b;
    if (!isfinite(p)) return p;
    double err = fma(a, b, -p);
    return err > 0 ? nextafter(p, INFINITY) : p;
}

static int fin_nonneg(double x) { return isfinite(x) && x >= 0; }
static int fin_pos(double x) { return isfinite(x) && x > 0; }
static int open01(double x) { return x > 0 && x < 1; }
static int spent_delta_ok(double x) { return x >= 0 && x < 1; }

/* Hands out an upper-rounded value; a result beyond DBL_MAX overflows. */
static int out_up(double *out, ld x) {
    double d = up(x);
    if (!isfinite(d)) return WARD_EOVERFLOW;
    *out = d;
    return WARD_OK;
}

/* ---- mechanisms ---- */

int ward_dp_laplace_epsilon(double *epsilon, double scale, double sensitivity) {
    WARD_ARG_CHECK(epsilon != NULL && fin_pos(scale) && fin_pos(sensitivity));
    return out_up(epsilon, (ld)sensitivity / scale);
}

int ward_dp_laplace_scale(double *scale, double epsilon, double sensitivity) {
    WARD_ARG_CHECK(scale != NULL && fin_pos(epsilon) && fin_pos(sensitivity));
    return out_up(scale, (ld)sensitivity / epsilon);
}

int ward_dp_gaussian_rho(double *rho, double sigma, double sensitivity) {
    WARD_ARG_CHECK(rho != NULL && fin_pos(sigma) && fin_pos(sensitivity));
    ld s = sigma, d = sensitivity;
    return out_up(rho, d * d / (2 * s * s));
}

int ward_dp_dgauss_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                       double sensitivity) {
    WARD_ARG_CHECK(rho != NULL && sigma2_num >= 1 && sigma2_den >= 1);
    WARD_ARG_CHECK(fin_pos(sensitivity));
    ld d = sensitivity;
    return out_up(rho, d * d * (ld)sigma2_den / (2 * (ld)sigma2_num));
}

int ward_dp_gaussian_sigma_for_rho(double *sigma, double rho, double sensitivity) {
    WARD_ARG_CHECK(sigma != NULL && fin_pos(rho) && fin_pos(sensitivity));
    return out_up(sigma, (ld)sensitivity / sqrtl(2 * (ld)rho));
}

/* ---- analytic Gaussian ---- */

static ld phi(ld x) { return 0.5L * erfcl(-x * SQRT1_2_L); }

/* An upper bound on Balle-Wang's delta, in [0, 1]. The error of Phi(x)
 * relative to itself grows like x^2 times the error of x (the Mills
 * ratio), and the subtraction turns errors relative to the first term into
 * errors relative to delta: the margin covers both. */
static ld ag_delta_up(ld s, ld e, ld d) {
    ld a = d / (2 * s) - e * s / d;
    ld b = -d / (2 * s) - e * s / d;
    ld t1 = phi(a);
    ld pb = phi(b);
    ld lpb = pb > 0 ? logl(pb) : 0;
    ld t2 = pb > 0 ? expl(e + lpb) : 0;
    ld margin = LDBL_EPSILON * (16 + 4 * (a * a + b * b) + 4 * (e + fabsl(lpb))) * t1;
    ld delta = t1 - t2 + margin;
    if (delta < 0) delta = 0;
    if (delta > 1) delta = 1;
    return delta;
}

int ward_dp_analytic_gaussian_delta(double *delta, double sigma, double epsilon,
                                    double sensitivity) {
    WARD_ARG_CHECK(delta != NULL && fin_pos(sigma) && fin_nonneg(epsilon));
    WARD_ARG_CHECK(fin_pos(sensitivity));
    double d = up(ag_delta_up(sigma, epsilon, sensitivity));
    *delta = d > 1 ? 1 : d;
    return WARD_OK;
}

int ward_dp_analytic_gaussian_sigma(double *sigma, double epsilon, double delta,
                                    double sensitivity) {
    WARD_ARG_CHECK(sigma != NULL && fin_nonneg(epsilon) && open01(delta));
    WARD_ARG_CHECK(fin_pos(sensitivity));
    ld e = epsilon, d = sensitivity;
    /* delta(sigma) falls from 1 (sigma -> 0) to 0: bracket, then bisect. */
    ld hi = d;
    while (ag_delta_up(hi, e, d) > delta) {
        hi *= 2;
        if (hi > (ld)DBL_MAX) return WARD_EOVERFLOW;
    }
    ld lo = hi / 2;
    while (ag_delta_up(lo, e, d) <= delta) {
        hi = lo;
        lo /= 2;
        if (lo < (ld)DBL_MIN) return WARD_EOVERFLOW;
    }
    for (int i = 0; i < 200 && hi - lo > hi * 1e-16L; i++) {
        ld mid = lo + (hi - lo) / 2;
        if (ag_delta_up(mid, e, d) <= delta) hi = mid;
        else lo = mid;
    }
    return out_up(sigma, hi);
}

/* ---- zCDP to (epsilon, delta) ---- */

/* ln of CKS's bound at order a, plus a margin for its evaluation error. */
static ld cdp_logdelta_at(ld rho, ld eps, ld a) {
    ld t1 = (a - 1) * (a * rho - eps);
    ld t2 = a * log1pl(-1 / a);
    ld t3 = -logl(a - 1);
    return t1 + t2 + t3 + 16 * LDBL_EPSILON * (fabsl(t1) + fabsl(t2) + fabsl(t3) + 1);
}

/* The minimising order: the bound's log is convex in a, with derivative
 * (2a - 1) rho - eps + ln(1 - 1/a), negative near 1 and positive at
 * (eps + 1)/(2 rho) + 2. Bisection (geometric while the bracket is wide). */
static ld cdp_alpha(ld rho, ld eps) {
    ld lo = 1 + 1e-15L, hi = (eps + 1) / (2 * rho) + 2;
    for (int i = 0; i < 4000; i++) {
        ld mid = hi > 4 * lo ? sqrtl(lo) * sqrtl(hi) : lo + (hi - lo) / 2;
        if (!(mid > lo && mid < hi)) break;
        ld der = (2 * mid - 1) * rho - eps + log1pl(-1 / mid);
        if (der < 0) lo = mid;
        else hi = mid;
    }
    return lo + (hi - lo) / 2;
}

/* An upper bound on cdp_delta, in [0, 1]; any order gives a valid bound,
 * so only the evaluation error needs a margin. */
static ld cdp_delta_up(ld rho, ld eps) {
    if (rho == 0) return 0;
    ld l = cdp_logdelta_at(rho, eps, cdp_alpha(rho, eps));
    if (l >= 0) return 1;
    return expl(l) * (1 + 4 * LDBL_EPSILON);
}

int ward_dp_cdp_delta(double *delta, double rho, double epsilon) {
    WARD_ARG_CHECK(delta != NULL && fin_nonneg(rho) && fin_nonneg(epsilon));
    if (rho == 0) {
        *delta = 0;
        return WARD_OK;
    }
    double d = up(cdp_delta_up(rho, epsilon));
    *delta = d > 1 ? 1 : d;
    return WARD_OK;
}

/* Smallest eps with cdp_delta_up(rho, eps) <= delta, as a long double. */
static int cdp_epsilon_ld(ld *out, ld rho, ld delta) {
    if (rho == 0 || cdp_delta_up(rho, 0) <= delta) {
        *out = 0;
        return WARD_OK;
    }
    /* Bun-Steinke's eps = rho + 2 sqrt(rho ln(1/delta)) meets delta (CKS's
     * bound is never larger); doubling guards the margins. */
    ld hi = rho + 2 * sqrtl(rho * logl(1 / delta));
    while (cdp_delta_up(rho, hi) > delta) {
        hi *= 2;
        if (hi > (ld)DBL_MAX) return WARD_EOVERFLOW;
    }
    ld lo = 0;
    for (int i = 0; i < 400 && hi - lo > hi * 1e-17L; i++) {
        ld mid = lo + (hi - lo) / 2;
        if (cdp_delta_up(rho, mid) <= delta) hi = mid;
        else lo = mid;
    }
    *out = hi;
    return WARD_OK;
}

int ward_dp_cdp_epsilon(double *epsilon, double rho, double delta) {
    WARD_ARG_CHECK(epsilon != NULL && fin_nonneg(rho) && open01(delta));
    ld e;
    int rc = cdp_epsilon_ld(&e, rho, delta);
    if (rc != WARD_OK) return rc;
    if (e == 0) {
        *epsilon = 0;
        return WARD_OK;
    }
    return out_up(epsilon, e);
}

int ward_dp_cdp_rho(double *rho, double epsilon, double delta) {
    WARD_ARG_CHECK(rho != NULL && fin_nonneg(epsilon) && open01(delta));
    ld e = epsilon, lo, hi;
    if (cdp_delta_up(1, e) <= delta) {
        lo = 1;
        hi = 2;
        while (cdp_delta_up(hi, e) <= delta) {
            lo = hi;
            hi *= 2;
            if (hi > (ld)DBL_MAX) return WARD_EOVERFLOW;
        }
    } else {
        hi = 1;
        lo = 0.5L;
        while (cdp_delta_up(lo, e) > delta) {
            hi = lo;
            lo /= 2;
            if (lo < (ld)DBL_MIN) return WARD_EOVERFLOW;
        }
    }
    for (int i = 0; i < 400 && hi - lo > hi * 1e-17L; i++) {
        ld mid = lo + (hi - lo) / 2;
        if (cdp_delta_up(mid, e) <= delta) lo = mid;
        else hi = mid;
    }
    double r = down(lo);
    if (!(r > 0)) return WARD_EOVERFLOW;
    *rho = r;
    return WARD_OK;
}

/* ---- RDP to (epsilon, delta) ---- */

int ward_dp_rdp_to_dp(double *epsilon, double *best_order, const double *orders,
                      const double *rdp, size_t n, double delta) {
    WARD_ARG_CHECK(epsilon != NULL && orders != NULL && rdp != NULL && n >= 1);
    WARD_ARG_CHECK(open01(delta));
    for (size_t i = 0; i < n; i++) {
        WARD_ARG_CHECK(isfinite(orders[i]) && orders[i] > 1);
        WARD_ARG_CHECK(rdp[i] >= 0); /* false for NaN; +inf passes */
    }
    ld best = 0;
    double best_a = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(rdp[i])) continue;
        ld a = orders[i], r = rdp[i];
        ld t2 = log1pl(-1 / a);
        ld t3 = (logl(delta) + logl(a)) / (a - 1);
        ld e = r + t2 - t3 + 8 * LDBL_EPSILON * (r + fabsl(t2) + fabsl(t3) + 1);
        if (e < 0) e = 0;
        if (!found || e < best) {
            best = e;
            best_a = orders[i];
            found = 1;
        }
    }
    if (!found) return WARD_EOVERFLOW;
    double out = 0;
    if (best > 0) {
        out = up(best);
        if (!isfinite(out)) return WARD_EOVERFLOW;
    }
    *epsilon = out;
    if (best_order) *best_order = best_a;
    return WARD_OK;
}

/* ---- pure composition ---- */

int ward_dp_pure_init(ward_dp_pure *a) {
    WARD_ARG_CHECK(a != NULL);
    memset(a, 0, sizeof *a);
    return WARD_OK;
}

int ward_dp_pure_add(ward_dp_pure *a, double epsilon, double delta) {
    WARD_ARG_CHECK(a != NULL && fin_nonneg(epsilon) && spent_delta_ok(delta));
    double e = add_up(a->epsilon, epsilon);
    if (!isfinite(e)) return WARD_EOVERFLOW;
    double d = add_up(a->delta, delta);
    a->epsilon = e;
    a->delta = d > 1 ? 1 : d;
    a->count++;
    return WARD_OK;
}

/* ---- zCDP composition ---- */

int ward_dp_zcdp_init(ward_dp_zcdp *a) {
    WARD_ARG_CHECK(a != NULL);
    memset(a, 0, sizeof *a);
    return WARD_OK;
}

int ward_dp_zcdp_add(ward_dp_zcdp *a, double rho) {
    WARD_ARG_CHECK(a != NULL && fin_nonneg(rho));
    double r = add_up(a->rho, rho);
    if (!isfinite(r)) return WARD_EOVERFLOW;
    a->rho = r;
    a->count++;
    return WARD_OK;
}

int ward_dp_zcdp_epsilon(const ward_dp_zcdp *a, double *epsilon, double delta) {
    WARD_ARG_CHECK(a != NULL);
    return ward_dp_cdp_epsilon(epsilon, a->rho, delta);
}

/* ---- RDP composition ---- */

static const double rdp_orders[WARD_DP_RDP_NORDERS] = {
    1.25, 1.5, 1.75, 2,  2.5, 3,  3.5, 4,  4.5, 5,  5.5, 6,  6.5, 7,  7.5, 8,  9,  10,
    11,   12,  13,   14, 15,  16, 17,  18, 19,  20, 21,  22, 23,  24, 25,  26, 27, 28,
    29,   30,  31,   32, 33,  34, 35,  36, 37,  38, 39,  40, 41,  42, 43,  44, 45, 46,
    47,   48,  49,   50, 51,  52, 53,  54, 55,  56, 57,  58, 59,  60, 61,  62, 63, 64,
};

const double *ward_dp_rdp_orders(void) { return rdp_orders; }

int ward_dp_rdp_init(ward_dp_rdp *a) {
    WARD_ARG_CHECK(a != NULL);
    memset(a, 0, sizeof *a);
    return WARD_OK;
}

int ward_dp_rdp_add_curve(ward_dp_rdp *a, const double rdp[WARD_DP_RDP_NORDERS]) {
    WARD_ARG_CHECK(a != NULL && rdp != NULL);
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) WARD_ARG_CHECK(rdp[i] >= 0);
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) a->rdp[i] = add_up(a->rdp[i], rdp[i]);
    a->count++;
    return WARD_OK;
}

int ward_dp_rdp_add_zcdp(ward_dp_rdp *a, double rho) {
    WARD_ARG_CHECK(a != NULL && fin_nonneg(rho));
    double c[WARD_DP_RDP_NORDERS];
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) c[i] = mul_up(rdp_orders[i], rho);
    return ward_dp_rdp_add_curve(a, c);
}

int ward_dp_rdp_add_gaussian(ward_dp_rdp *a, double sigma, double sensitivity) {
    WARD_ARG_CHECK(a != NULL && fin_pos(sigma) && fin_pos(sensitivity));
    ld s = sigma, d = sensitivity;
    double c[WARD_DP_RDP_NORDERS];
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++)
        c[i] = up((ld)rdp_orders[i] * d * d / (2 * s * s));
    return ward_dp_rdp_add_curve(a, c);
}

int ward_dp_rdp_add_pure(ward_dp_rdp *a, double epsilon) {
    WARD_ARG_CHECK(a != NULL && fin_nonneg(epsilon));
    ld e = epsilon;
    double c[WARD_DP_RDP_NORDERS];
    for (size_t i = 0; i < WARD_DP_RDP_NORDERS; i++) {
        ld z = (ld)rdp_orders[i] * e * e / 2;
        c[i] = epsilon == 0 ? 0 : up(z < e ? z : e);
    }
    return ward_dp_rdp_add_curve(a, c);
}

int ward_dp_rdp_epsilon(const ward_dp_rdp *a, double *epsilon, double delta) {
    WARD_ARG_CHECK(a != NULL);
    return ward_dp_rdp_to_dp(epsilon, NULL, rdp_orders, a->rdp, WARD_DP_RDP_NORDERS, delta);
}

/* ---- advanced composition ---- */

int ward_dp_adv_init(ward_dp_adv *a) {
    WARD_ARG_CHECK(a != NULL);
    memset(a, 0, sizeof *a);
    return WARD_OK;
}

int ward_dp_adv_add(ward_dp_adv *a, double epsilon, double delta) {
    WARD_ARG_CHECK(a != NULL && fin_nonneg(epsilon) && spent_delta_ok(delta));
    ld e = epsilon;
    ward_dp_adv n = *a;
    n.sum_eps = add_up(n.sum_eps, epsilon);
    n.sum_sq = add_up(n.sum_sq, mul_up(epsilon, epsilon));
    n.sum_drv = add_up(n.sum_drv, epsilon == 0 ? 0 : up(e * expm1l(e)));
    n.sum_kov = add_up(n.sum_kov, epsilon == 0 ? 0 : up(e * tanhl(e / 2)));
    n.sum_delta = add_up(n.sum_delta, delta);
    n.log_keep = add_down(n.log_keep, delta == 0 ? 0 : down(log1pl(-(ld)delta)));
    if (!isfinite(n.sum_eps) || !isfinite(n.sum_sq) || !isfinite(n.sum_drv) ||
        !isfinite(n.sum_kov))
        return WARD_EOVERFLOW;
    n.count++;
    *a = n;
    return WARD_OK;
}

int ward_dp_adv_compose(ward_dp_adv_total *out, const ward_dp_adv *a, double slack) {
    WARD_ARG_CHECK(out != NULL && a != NULL && open01(slack));
    ld sq = a->sum_sq, s = slack;
    ld log_inv = -logl(s);
    double naive = a->sum_eps;
    double drv = up(sqrtl(2 * sq * log_inv) + (ld)a->sum_drv);
    double kov1 = up((ld)a->sum_kov + sqrtl(2 * sq * logl(E_L + sqrtl(sq) / s)));
    double kov2 = up((ld)a->sum_kov + sqrtl(2 * sq * log_inv));
    double kov = kov1 < kov2 ? kov1 : kov2;
    if (!isfinite(drv) || !isfinite(kov)) return WARD_EOVERFLOW;
    ward_dp_adv_total t;
    t.naive = naive;
    t.drv = drv;
    t.kov = kov;
    if (naive <= drv && naive <= kov) {
        t.epsilon = naive;
        t.delta = a->sum_delta > 1 ? 1 : a->sum_delta;
    } else {
        t.epsilon = drv < kov ? drv : kov;
        double d = up(-expm1l(log1pl(-s) + (ld)a->log_keep));
        t.delta = d > 1 ? 1 : d;
    }
    *out = t;
    return WARD_OK;
}

/* ---- budget classes ---- */

int ward_dp_class_budget(double *epsilon, double *delta, ward_dp_class cls,
                         double epsilon_total, double delta_total) {
    static const int percent[3] = {30, 50, 20};
    WARD_ARG_CHECK(epsilon != NULL && delta != NULL);
    WARD_ARG_CHECK(cls == WARD_DP_CLASS_HIGH || cls == WARD_DP_CLASS_MEDIUM ||
                   cls == WARD_DP_CLASS_LOW);
    WARD_ARG_CHECK(fin_pos(epsilon_total) && open01(delta_total));
    ld p = percent[cls];
    double e = down((ld)epsilon_total * p / 100);
    double d = down((ld)delta_total * p / 100);
    *epsilon = e > 0 ? e : 0;
    *delta = d > 0 ? d : 0;
    return WARD_OK;
}

/* ---- distributed discrete Gaussian ---- */

static ld ddg_tau_ld(ld s2, uint32_t honest) {
    if (honest <= 1) return 0;
    ld c = 2 * PI_L * PI_L * s2, sum = 0;
    for (uint32_t k = 1; k < honest; k++) sum += expl(-c * (ld)k / (ld)(k + 1));
    /* each term's exponent is off by at most c ulps; the sum by honest ulps */
    return 10 * sum * (1 + LDBL_EPSILON * (4 * c + honest + 8));
}

int ward_dp_ddg_tau(double *tau, uint64_t sigma2_num, uint64_t sigma2_den, uint32_t honest) {
    WARD_ARG_CHECK(tau != NULL && sigma2_num >= 1 && sigma2_den >= 1);
    WARD_ARG_CHECK(honest >= 1 && honest <= WARD_DP_MAX_PARTIES);
    if (honest == 1) {
        *tau = 0;
        return WARD_OK;
    }
    *tau = up(ddg_tau_ld((ld)sigma2_num / (ld)sigma2_den, honest));
    return WARD_OK;
}

int ward_dp_ddg_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                    double sensitivity, uint32_t honest) {
    WARD_ARG_CHECK(rho != NULL && sigma2_num >= 1 && sigma2_den >= 1);
    WARD_ARG_CHECK(fin_pos(sensitivity) && honest >= 1 && honest <= WARD_DP_MAX_PARTIES);
    /* KLS Proposition 14 assumes sigma >= 1/2, i.e. 4 num >= den. */
    WARD_ARG_CHECK(honest == 1 || (unsigned __int128)sigma2_num * 4 >= sigma2_den);
    ld s2 = (ld)sigma2_num / (ld)sigma2_den;
    ld z = (ld)sensitivity / sqrtl((ld)honest * s2) + ddg_tau_ld(s2, honest);
    return out_up(rho, z * z / 2);
}

/* The search of ward_dp_ddg_calibrate for an allowance rho_t > 0. */
/* The search of ddg_sigma2_for_rho at one denominator: WARD_EOVERFLOW
 * when the answer is beyond what num/den can hold. */
static int ddg_search(uint64_t *num, ld s2_lo, uint64_t den, double rho_t, double sensitivity,
                      uint32_t h) {
    ld num_max = (ld)WARD_DP_MAX_GAUSS_SIGMA2 * (ld)den;
    if (num_max > 18446744073709551615.0L) num_max = 18446744073709551615.0L;
    if (s2_lo * (ld)den >= num_max) return WARD_EOVERFLOW;
    double r;
    uint64_t lo = (uint64_t)floorl(s2_lo * (ld)den);
    if (lo >= 1) lo -= 1; /* below the bound: infeasible (or 0) */
    uint64_t hi = lo + 1;
    for (;;) {
        if (ward_dp_ddg_rho(&r, hi, den, sensitivity, h) == WARD_OK && r <= rho_t) break;
        lo = hi;
        if ((ld)hi >= num_max) return WARD_EOVERFLOW;
        /* Double, but never past what num can hold: the last step tries
         * the largest value itself. */
        hi = (ld)hi * 2 > num_max ? (uint64_t)num_max : hi * 2;
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ward_dp_ddg_rho(&r, mid, den, sensitivity, h) == WARD_OK && r <= rho_t) hi = mid;
        else lo = mid;
    }
    *num = hi;
    return WARD_OK;
}

static int ddg_sigma2_for_rho(uint64_t *num, uint64_t *den_out, double rho_t, double sensitivity,
                              uint32_t h) {
    /* tau >= 0, so sigma^2 >= D^2 / (2 h rho_t); then search the rationals
     * num/den above that bound for the smallest that meets rho_t (rho
     * falls as sigma grows). Denominator 10^6 while num can hold the
     * answer; integers beyond (sigma^2 above about 1.8e13, where a part in
     * 10^13 is finer than anything the accounting resolves). */
    ld d = sensitivity;
    ld s2_lo = d * d / (2 * (ld)h * (ld)rho_t);
    if (h >= 2 && s2_lo < 0.25L) s2_lo = 0.25L;
    if (s2_lo > (ld)WARD_DP_MAX_GAUSS_SIGMA2) return WARD_EOVERFLOW;
    int rc = WARD_EOVERFLOW;
    if (s2_lo <= 1.8e13L && (rc = ddg_search(num, s2_lo, 1000000, rho_t, sensitivity, h)) == WARD_OK) {
        *den_out = 1000000;
        return WARD_OK;
    }
    rc = ddg_search(num, s2_lo, 1, rho_t, sensitivity, h);
    if (rc == WARD_OK) *den_out = 1;
    return rc;
}

int ward_dp_ddg_sigma2_for_rho(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho,
                               double sensitivity, uint32_t honest) {
    WARD_ARG_CHECK(sigma2_num != NULL && sigma2_den != NULL && fin_pos(rho));
    WARD_ARG_CHECK(fin_pos(sensitivity) && honest >= 1 && honest <= WARD_DP_MAX_PARTIES);
    uint64_t num, den;
    int rc = ddg_sigma2_for_rho(&num, &den, rho, sensitivity, honest);
    if (rc != WARD_OK) return rc;
    *sigma2_num = num;
    *sigma2_den = den;
    return WARD_OK;
}

int ward_dp_ddg_calibrate(ward_dp_ddg *out, double epsilon, double delta,
                          double sensitivity, uint32_t parties, uint32_t colluding) {
    WARD_ARG_CHECK(out != NULL && fin_nonneg(epsilon) && open01(delta));
    WARD_ARG_CHECK(fin_pos(sensitivity));
    WARD_ARG_CHECK(parties >= 1 && parties <= WARD_DP_MAX_PARTIES && colluding < parties);
    uint32_t h = parties - colluding;
    double rho_t;
    int rc = ward_dp_cdp_rho(&rho_t, epsilon, delta);
    if (rc != WARD_OK) return rc;
    uint64_t hi, den;
    if ((rc = ddg_sigma2_for_rho(&hi, &den, rho_t, sensitivity, h)) != WARD_OK) return rc;

    ward_dp_ddg o;
    memset(&o, 0, sizeof o);
    o.sigma2_num = hi;
    o.sigma2_den = den;
    o.parties = parties;
    o.colluding = colluding;
    o.sensitivity = sensitivity;
    o.rho_target = rho_t;
    o.delta = delta;
    if ((rc = ward_dp_ddg_tau(&o.tau, hi, den, h)) != WARD_OK) return rc;
    if ((rc = ward_dp_ddg_rho(&o.rho, hi, den, sensitivity, h)) != WARD_OK) return rc;
    if ((rc = ward_dp_cdp_epsilon(&o.epsilon, o.rho, delta)) != WARD_OK) return rc;
    /* rho <= rho_t and cdp_delta(rho_t, epsilon) <= delta: the request is
     * itself a valid bound, and the smaller of two valid bounds is one. */
    if (o.epsilon > epsilon) o.epsilon = epsilon;
    *out = o;
    return WARD_OK;
}
