/* Privacy accounting: what a mechanism spends, how spends compose, and how
 * a spend in one unit converts to (epsilon, delta)-DP.
 *
 * This is accounting, not sampling: it works in double (internally long
 * double), and every result is rounded toward more spending. A function
 * that returns a privacy loss (epsilon, rho, delta, an RDP curve) returns
 * an upper bound on the exact value, nudged up by at least one unit in the
 * last place beyond the evaluation error; a function that returns a noise
 * parameter (a scale, a sigma, a variance) returns one at least as large as
 * needed; a function that returns an allowance (the largest rho meeting a
 * target) returns a lower bound. Every result is finite: no function
 * returns NaN or infinity.
 *
 * Inputs: epsilons are finite and >= 0 (a target epsilon of a calibration
 * is > 0 where 0 cannot be met); a target delta lies in the open interval
 * (0, 1); a spent delta in [0, 1); sensitivities, scales and sigmas are
 * finite and > 0; rho >= 0. Anything else (negative, NaN, infinite, zero
 * sensitivity) is WARD_EINVAL, and no output is written. WARD_EOVERFLOW
 * when a result would not be a finite double (a sigma beyond 1e300).
 * Accountant objects are left unchanged by a call that fails. They hold no
 * secrets.
 *
 * Formulas and sources are in docs/privacy.md.
 */
#ifndef WARD_DP_ACCOUNT_H
#define WARD_DP_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

/* ---- mechanisms ---- */

/* Laplace (and discrete Laplace) of scale b, sensitivity D: epsilon = D/b. */
int ward_dp_laplace_epsilon(double *epsilon, double scale, double sensitivity);
/* The scale b = D/epsilon (epsilon > 0), rounded up. */
int ward_dp_laplace_scale(double *scale, double epsilon, double sensitivity);

/* Gaussian (and discrete Gaussian, CKS 2020) of parameter sigma:
 * rho = D^2 / (2 sigma^2). */
int ward_dp_gaussian_rho(double *rho, double sigma, double sensitivity);
/* The same for a discrete Gaussian with sigma^2 = num/den (num, den >= 1). */
int ward_dp_dgauss_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                       double sensitivity);
/* The sigma = D / sqrt(2 rho) (rho > 0), rounded up. */
int ward_dp_gaussian_sigma_for_rho(double *sigma, double rho, double sensitivity);

/* Analytic Gaussian (Balle and Wang 2018): the Gaussian
 * mechanism of std. dev. sigma is (epsilon, delta)-DP exactly for
 * delta = Phi(D/(2 sigma) - epsilon sigma/D)
 *         - e^epsilon Phi(-D/(2 sigma) - epsilon sigma/D).
 * For the continuous Gaussian; the discrete Gaussian is accounted in zCDP. */
int ward_dp_analytic_gaussian_delta(double *delta, double sigma, double epsilon,
                                    double sensitivity);
/* The smallest sigma with delta(sigma) <= delta, by bisection to relative
 * 1e-15 (the upper end is returned). */
int ward_dp_analytic_gaussian_sigma(double *sigma, double epsilon, double delta,
                                    double sensitivity);

/* ---- zCDP to (epsilon, delta) ---- */

/* The tight conversion (Canonne, Kamath and Steinke 2020, Proposition 12
 * applied to rho-zCDP; opendp's cdp_delta): delta = min over alpha > 1 of
 * exp((alpha - 1)(alpha rho - epsilon)) / (alpha - 1) * (1 - 1/alpha)^alpha,
 * capped at 1. rho >= 0, epsilon >= 0; rho = 0 gives delta = 0. */
int ward_dp_cdp_delta(double *delta, double rho, double epsilon);
/* The smallest epsilon >= 0 with cdp_delta(rho, epsilon) <= delta, by
 * bisection (rounded up). */
int ward_dp_cdp_epsilon(double *epsilon, double rho, double delta);
/* The largest rho with cdp_delta(rho, epsilon) <= delta, by bisection
 * (rounded down; > 0). */
int ward_dp_cdp_rho(double *rho, double epsilon, double delta);

/* ---- RDP to (epsilon, delta) ---- */

/* CKS Proposition 12: an (a, r)-RDP mechanism is (epsilon, delta)-DP with
 * epsilon = r + ln(1 - 1/a) - ln(delta a)/(a - 1), clamped at 0; the result
 * is the minimum over the n >= 1 given orders (each > 1 and finite; an
 * infinite r skips its order; NaN or negative r is WARD_EINVAL). *best_order
 * (may be NULL) receives the order that attains it. WARD_EOVERFLOW if every
 * r is infinite. */
int ward_dp_rdp_to_dp(double *epsilon, double *best_order, const double *orders,
                      const double *rdp, size_t n, double delta);

/* ---- pure composition: (sum epsilon_i, sum delta_i) ---- */

typedef struct {
    double epsilon;
    double delta;
    uint64_t count;
} ward_dp_pure;

int ward_dp_pure_init(ward_dp_pure *a);
/* Adds an (epsilon, delta) spend, delta in [0, 1). The total delta is
 * capped at 1. */
int ward_dp_pure_add(ward_dp_pure *a, double epsilon, double delta);

/* ---- zCDP composition: rho adds ---- */

typedef struct {
    double rho;
    uint64_t count;
} ward_dp_zcdp;

int ward_dp_zcdp_init(ward_dp_zcdp *a);
int ward_dp_zcdp_add(ward_dp_zcdp *a, double rho);
/* The (epsilon, delta) equivalent of the total (ward_dp_cdp_epsilon). */
int ward_dp_zcdp_epsilon(const ward_dp_zcdp *a, double *epsilon, double delta);

/* ---- RDP composition: curves add order by order ---- */

/* Orders 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, ..., 7, 7.5, 8, 9, ..., 64. */
#define WARD_DP_RDP_NORDERS 72

typedef struct {
    double rdp[WARD_DP_RDP_NORDERS];
    uint64_t count;
} ward_dp_rdp;

/* The orders, ascending (a static table of WARD_DP_RDP_NORDERS values). */
const double *ward_dp_rdp_orders(void);

int ward_dp_rdp_init(ward_dp_rdp *a);
/* Adds a curve given at the accountant's orders (each >= 0; +inf allowed). */
int ward_dp_rdp_add_curve(ward_dp_rdp *a, const double rdp[WARD_DP_RDP_NORDERS]);
/* rho-zCDP: r(alpha) = alpha rho. */
int ward_dp_rdp_add_zcdp(ward_dp_rdp *a, double rho);
/* Gaussian or discrete Gaussian: r(alpha) = alpha D^2 / (2 sigma^2). */
int ward_dp_rdp_add_gaussian(ward_dp_rdp *a, double sigma, double sensitivity);
/* epsilon-DP: r(alpha) = min(epsilon, alpha epsilon^2 / 2). */
int ward_dp_rdp_add_pure(ward_dp_rdp *a, double epsilon);
/* The (epsilon, delta) equivalent of the total (ward_dp_rdp_to_dp over the
 * accountant's orders). */
int ward_dp_rdp_epsilon(const ward_dp_rdp *a, double *epsilon, double delta);

/* ---- advanced composition of (epsilon_i, delta_i) spends ---- */

typedef struct {
    double sum_eps;   /* sum epsilon_i */
    double sum_sq;    /* sum epsilon_i^2 */
    double sum_drv;   /* sum epsilon_i (e^epsilon_i - 1) */
    double sum_kov;   /* sum epsilon_i (e^epsilon_i - 1)/(e^epsilon_i + 1) */
    double sum_delta; /* sum delta_i */
    double log_keep;  /* sum ln(1 - delta_i), rounded down */
    uint64_t count;
} ward_dp_adv;

typedef struct {
    double naive;   /* sum epsilon_i */
    double drv;     /* Dwork-Rothblum-Vadhan: sqrt(2 sum eps_i^2 ln(1/slack))
                       + sum eps_i (e^eps_i - 1) */
    double kov;     /* Kairouz-Oh-Viswanath (heterogeneous), the smaller of its
                       two slack terms */
    double epsilon; /* min(naive, drv, kov) */
    double delta;   /* sum delta_i if naive is the minimum, else
                       1 - (1 - slack) prod (1 - delta_i) */
} ward_dp_adv_total;

int ward_dp_adv_init(ward_dp_adv *a);
int ward_dp_adv_add(ward_dp_adv *a, double epsilon, double delta);
/* The composed guarantee with slack in (0, 1). */
int ward_dp_adv_compose(ward_dp_adv_total *out, const ward_dp_adv *a, double slack);

/* ---- the budget model of DECISIONS.md ---- */

typedef enum {
    WARD_DP_CLASS_HIGH = 0,   /* 30% of the department's budget */
    WARD_DP_CLASS_MEDIUM = 1, /* 50% */
    WARD_DP_CLASS_LOW = 2     /* 20% */
} ward_dp_class;

/* The class's share of a department's total (epsilon, delta), rounded
 * down (a smaller allowance spends less). */
int ward_dp_class_budget(double *epsilon, double *delta, ward_dp_class cls,
                         double epsilon_total, double delta_total);

/* ---- distributed discrete Gaussian (Kairouz, Liu and Steinke 2021) ---- */

/* Upper bound on parties in one noise computation (= WARD_SHARE_MAX_PARTIES). */
#define WARD_DP_MAX_PARTIES 65535

/* tau = 10 sum_{k=1}^{h-1} exp(-2 pi^2 sigma^2 k/(k+1)) for h honest
 * parties (h >= 1; tau = 0 when h = 1), rounded up. */
int ward_dp_ddg_tau(double *tau, uint64_t sigma2_num, uint64_t sigma2_den, uint32_t honest);

/* The zCDP of the sum of h independent N_Z(0, sigma^2) against a shift of
 * an integer of absolute value <= sensitivity (KLS Proposition 14, d = 1):
 * rho = (D/(sqrt(h) sigma) + tau)^2 / 2, rounded up. For h >= 2 the bound
 * needs sigma >= 1/2 (WARD_EINVAL otherwise); for h = 1 it is CKS's
 * D^2/(2 sigma^2). */
int ward_dp_ddg_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                    double sensitivity, uint32_t honest);

typedef struct {
    uint64_t sigma2_num;  /* each party samples N_Z(0, sigma2_num/sigma2_den) */
    uint64_t sigma2_den;
    uint32_t parties;     /* n */
    uint32_t colluding;   /* t: the guarantee holds for any n - t honest */
    double sensitivity;
    double tau;           /* tau for the n - t honest parties */
    double rho;           /* zCDP of the n - t honest parties' noise, <= rho_target */
    double rho_target;    /* ward_dp_cdp_rho(epsilon, delta) */
    double epsilon;       /* (epsilon, delta) equivalent of rho: <= the request */
    double delta;
} ward_dp_ddg;

/* Per-party noise for a sum over n parties such that the noise of any
 * n - t of them alone makes the release (epsilon, delta)-DP for an integer
 * query of the given sensitivity, against the t colluding parties who know
 * their own shares (t = 1: every party knows its own share; t = 0 only
 * for an outside observer). Requires 1 <= n <= WARD_DP_MAX_PARTIES,
 * t < n, epsilon >= 0, delta in (0, 1), sensitivity > 0.
 *
 * sigma^2 is the smallest rational with denominator 10^6 (1 above 1.8e13)
 * whose ward_dp_ddg_rho is <= ward_dp_cdp_rho(epsilon, delta), and at
 * least 1/4 when n - t >= 2. WARD_EOVERFLOW if it exceeds
 * WARD_DP_MAX_GAUSS_SIGMA2. */
int ward_dp_ddg_calibrate(ward_dp_ddg *out, double epsilon, double delta,
                          double sensitivity, uint32_t parties, uint32_t colluding);

/* The same search for an allowance given in zCDP: the smallest sigma^2 =
 * num/den (denominators as above) whose ward_dp_ddg_rho for `honest`
 * parties is <= rho (rho > 0). For splitting one release's allowance
 * between several noisy vectors (rho adds). WARD_EOVERFLOW as above. */
int ward_dp_ddg_sigma2_for_rho(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho,
                               double sensitivity, uint32_t honest);

#endif
