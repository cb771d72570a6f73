/* Local differential privacy for citizen-contributed data.
 *
 * The perturbation runs on the citizen's device (the encoders); a node only
 * ever sees perturbed reports and turns n of them into unbiased frequency
 * estimates (the estimators). docs/privacy.md, "Local DP for
 * citizen-contributed data", derives everything stated here.
 *
 * Mechanisms (Wang, Blocki, Li, Jha, "Locally Differentially Private
 * Protocols for Frequency Estimation", USENIX Security 2017), each
 * eps-LDP, over a domain [0, d):
 *   GRR  generalized randomized response: report the true value with
 *        probability p = e^eps / (e^eps + d - 1), otherwise a uniform other
 *        value (each with q = 1 / (e^eps + d - 1)).
 *   OUE  optimal unary encoding: d bits; the true value's bit is 1 with
 *        p = 1/2, every other bit is 1 with q = 1 / (e^eps + 1).
 *   OLH  optimal local hashing: g = round(e^eps) + 1; a fresh 64-bit seed s
 *        per report, x = H_s(v) in [0, g), then GRR over [0, g); the report
 *        is (s, perturbed x). H_s(v) = SipHash-2-4 under the 16-byte key
 *        (s as 8 little-endian bytes, then 8 zero bytes) of v as 8
 *        little-endian bytes, reduced mod g (ward_ldp_olh_hash).
 *
 * Estimator (all three): with C(v) the number of reports that "support" v
 * (GRR: report == v; OUE: bit v set; OLH: H_s(v) == reported value),
 *   est(v) = (C(v) - n q) / (p - q),   unbiased,
 *   Var[est(v)] = (n q (1 - q) + f_v (p (1 - p) - q (1 - q))) / (p - q)^2,
 * f_v the true count of v; OLH has q = 1/g. ward_ldp_variance gives the
 * f-independent term n q (1 - q) / (p - q)^2 of Wang et al., which is
 * n (d - 2 + e^eps) / (e^eps - 1)^2 for GRR, n 4 e^eps / (e^eps - 1)^2 for
 * OUE, and about that for OLH (exactly, at the integer g used).
 *
 * Irrational probabilities. p and q above are irrational for most eps. The
 * encoders draw Bernoulli(p) as the exact rational Bernoulli(T / 2^53) of
 * crypto/dp_sample.h with T = round(p * 2^53), p computed in double. So the
 * realised probability p' satisfies |p' - p| <= p 2^-50 + 2^-54, and the
 * realised privacy loss is at most eps + 2 (2^-50 + 2^-54 (e^eps + d)):
 * below 2e-13 for eps <= 5 and d <= 1000, below 6e-8 at the limits
 * (eps = 20, d = 2^24). The estimators use the realised p', q'
 * (ward_ldp_probs), so they stay exactly unbiased. Uniform choices
 * (GRR's "other value", OLH's seed) are exact integer draws.
 *
 * Planar Laplace (Andres, Bordenabe, Chatzikokolakis, Palamidessi,
 * "Geo-indistinguishability", CCS 2013) perturbs a location: angle uniform
 * in [0, 2 pi), radius r = -(W_{-1}((u - 1)/e) + 1) / eps for u uniform in
 * (0, 1) (the inverse of the radial CDF 1 - (1 + eps r) e^(-eps r)); eps is
 * per metre (eps d(x, x')-geo-indistinguishability), E[r] = 2 / eps. This
 * part uses floating point (double), unlike the exact samplers: it is a
 * client-side geo mechanism, and its output is then snapped to a grid of
 * declared cell size and clamped into a declared bounding box, both pure
 * post-processing of the noisy point (no extra privacy cost). Snapping to a
 * cell far coarser than double precision also hides the gaps of the
 * floating-point output set that Mironov-style attacks use; Andres et al.
 * (Section 4.2) bound the residual loss of a discretised, truncated
 * mechanism. Clamping biases points near the edge of the box inward.
 *
 * Timing and secrets: the true value is a secret. GRR and OUE draw the same
 * amount of randomness and branch on nothing derived from the value; OLH
 * hashes the value with a data-independent SipHash. Planar Laplace's
 * Lambert W iteration count depends on the random radius, not on the
 * location. Parameters (eps, d, box) and reports are public.
 *
 * Errors: WARD_EINVAL for misuse (NULL, eps not in (0, WARD_LDP_MAX_EPSILON],
 * d not in [2, WARD_LDP_MAX_DOMAIN], a value >= d, a location outside the
 * box); WARD_EOVERFLOW if a count would overflow (never, in practice).
 */
#ifndef WARD_LDP_H
#define WARD_LDP_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define WARD_LDP_MAX_EPSILON 20.0
#define WARD_LDP_MAX_DOMAIN ((uint32_t)1 << 24)

typedef enum { WARD_LDP_GRR = 1, WARD_LDP_OUE = 2, WARD_LDP_OLH = 3 } ward_ldp_mech;

/* The realised support probabilities of a mechanism (see above): *p for a
 * report from a user holding v, *q for a user holding another value. */
int ward_ldp_probs(double *p, double *q, ward_ldp_mech mech, double eps, uint32_t d);

/* OLH's hash range g = round(e^eps) + 1. */
int ward_ldp_olh_g(uint32_t *g, double eps);

/* H_s(v) in [0, g); g >= 2. Public data only. */
uint32_t ward_ldp_olh_hash(uint64_t seed, uint32_t v, uint32_t g);

/* ---- client side: encoders (one report per call) ---- */

/* *out = a GRR report of v in [0, d). */
int ward_ldp_grr_encode(ward_rng *rng, uint32_t *out, double eps, uint32_t d, uint32_t v);

/* bits[0..d) = an OUE report of v (each byte 0 or 1). */
int ward_ldp_oue_encode(ward_rng *rng, uint8_t *bits, size_t d, double eps, uint32_t v);

/* (*seed, *y) = an OLH report of v in [0, d); *y < g. */
int ward_ldp_olh_encode(ward_rng *rng, uint64_t *seed, uint32_t *y, double eps, uint32_t d,
                        uint32_t v);

/* ---- node side: estimators ---- */

/* Caller-allocated accumulator; counts[0..d) is caller memory too. */
typedef struct {
    ward_ldp_mech mech;
    double eps;
    uint32_t d;
    uint32_t g;        /* OLH hash range */
    uint64_t n;        /* reports added */
    uint64_t *counts;  /* C(v) */
} ward_ldp_est;

int ward_ldp_est_init(ward_ldp_est *e, uint64_t *counts, size_t d, ward_ldp_mech mech,
                      double eps);

/* Add one report; WARD_EINVAL if it is out of range (y >= d for GRR,
 * y >= g for OLH, a byte other than 0/1 for OUE). Reports are public. */
int ward_ldp_est_add_grr(ward_ldp_est *e, uint32_t y);
int ward_ldp_est_add_oue(ward_ldp_est *e, const uint8_t *bits, size_t d);
int ward_ldp_est_add_olh(ward_ldp_est *e, uint64_t seed, uint32_t y);

/* est[v] = (C(v) - n q) / (p - q) for v in [0, d). */
int ward_ldp_est_finish(const ward_ldp_est *e, double *est, size_t d);

/* n q (1 - q) / (p - q)^2 with the realised p, q: the variance of each
 * estimate when its true count is small (Wang et al.). */
int ward_ldp_variance(double *var, ward_ldp_mech mech, double eps, uint32_t d, uint64_t n);

/* The exact variance of est(v) given its true count f (0 <= f <= n). */
int ward_ldp_variance_at(double *var, ward_ldp_mech mech, double eps, uint32_t d, uint64_t n,
                         double f);

/* ---- planar Laplace ---- */

/* The lower branch W_{-1}(x) of the Lambert W function for x in
 * [-1/e, 0): the solution w <= -1 of w e^w = x. Halley's iteration
 * w <- w - f / (e^w (w + 1) - (w + 2) f / (2 w + 2)), f = w e^w - x, from
 * the branch-point series w = -1 + s - s^2/3 + 11 s^3/72,
 * s = -sqrt(2 (1 + e x)), for x < -0.25, and from
 * w = L1 - L2 + L2/L1 (L1 = ln(-x), L2 = ln(-L1)) otherwise; it stops when
 * a step is below 4 ulp of w (at most 32 steps; 3-5 in practice). About
 * 1e-15 relative accuracy; near -1/e the problem itself is ill-conditioned
 * and x's rounding dominates. Returns NaN outside the domain. */
double ward_ldp_lambertw_m1(double x);

/* A planar Laplace radius in metres for eps per metre (eps > 0). */
int ward_ldp_planar_radius_var(ward_rng *rng, double *r, double eps);

/* The declared grid: latitudes and longitudes in degrees, cell in degrees
 * (> 0). Outputs are min + k * cell, clamped into the box. */
typedef struct {
    double min_lat, min_lon, max_lat, max_lon;
    double cell;
} ward_ldp_geo_box;

/* Checks a box: finite, min < max, |lat| < 90, |lon| <= 180, cell > 0. */
int ward_ldp_geo_box_check(const ward_ldp_geo_box *box);

/* (out_lat, out_lon) = the true point (inside the box) moved by a planar
 * Laplace displacement (metres, converted with a local equirectangular
 * projection, earth radius 6371008.8 m), snapped to the grid and clamped
 * into the box. */
int ward_ldp_planar_encode_var(ward_rng *rng, double *out_lat, double *out_lon, double eps,
                               const ward_ldp_geo_box *box, double lat, double lon);

#endif
