/* Local DP encoders and estimators (ldp.h). */
#include "ldp.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include <sodium.h>

#include "dp_sample.h"
#include "error.h"

#define ONE53 ((uint64_t)1 << 53)
#define EARTH_RADIUS_M 6371008.8
#define PI_D 3.14159265358979323846

static int eps_ok(double eps) {
    return isfinite(eps) && eps > 0.0 && eps <= WARD_LDP_MAX_EPSILON;
}

static int domain_ok(uint64_t d) { return d >= 2 && d <= WARD_LDP_MAX_DOMAIN; }

/* The 53-bit rationalisation of a probability (ldp.h, "Irrational
 * probabilities"): Bernoulli(p) is drawn as the exact Bernoulli(T / 2^53). */
static uint64_t thr53(double p) {
    if (!(p > 0.0)) return 0;
    if (p >= 1.0) return ONE53;
    return (uint64_t)llround(ldexp(p, 53));
}

static uint32_t olh_g(double eps) { return (uint32_t)llround(exp(eps)) + 1; }

int ward_ldp_olh_g(uint32_t *g, double eps) {
    WARD_ARG_CHECK(g != NULL && eps_ok(eps));
    *g = olh_g(eps);
    return WARD_OK;
}

uint32_t ward_ldp_olh_hash(uint64_t seed, uint32_t v, uint32_t g) {
    uint8_t key[crypto_shorthash_siphash24_KEYBYTES] = {0};
    uint8_t in[8], out[crypto_shorthash_siphash24_BYTES];
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(seed >> (8 * i));
        in[i] = (uint8_t)((uint64_t)v >> (8 * i));
    }
    crypto_shorthash_siphash24(out, in, sizeof in, key);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h |= (uint64_t)out[i] << (8 * i);
    /* The bias of the reduction is below g / 2^64, far under 2^-30. */
    return g == 0 ? 0 : (uint32_t)(h % g);
}

/* Thresholds T_p, T_q of the realised probabilities p' = T_p / 2^53; for GRR
 * and OLH the "other value" probability is (1 - p') / (k - 1) exactly. */
static void grr_threshold(uint64_t *tp, double eps, uint32_t k) {
    double e = exp(eps);
    *tp = thr53(e / (e + (double)k - 1.0));
}

int ward_ldp_probs(double *p, double *q, ward_ldp_mech mech, double eps, uint32_t d) {
    WARD_ARG_CHECK(p != NULL && q != NULL && eps_ok(eps) && domain_ok(d));
    uint64_t t;
    switch (mech) {
    case WARD_LDP_GRR:
        grr_threshold(&t, eps, d);
        *p = ldexp((double)t, -53);
        *q = ldexp((double)(ONE53 - t), -53) / (double)(d - 1);
        return WARD_OK;
    case WARD_LDP_OUE:
        *p = 0.5;
        *q = ldexp((double)thr53(1.0 / (exp(eps) + 1.0)), -53);
        return WARD_OK;
    case WARD_LDP_OLH: {
        uint32_t g = olh_g(eps);
        grr_threshold(&t, eps, g);
        *p = ldexp((double)t, -53);
        *q = 1.0 / (double)g;
        return WARD_OK;
    }
    }
    return WARD_EINVAL;
}

/* GRR over [0, k) with the same draws whatever v: one Bernoulli and one
 * uniform other value, selected by a mask. */
static int grr_core(ward_rng *rng, uint32_t *out, uint64_t tp, uint32_t k, uint32_t v) {
    int keep = 0;
    int rc = ward_dp_bernoulli(rng, &keep, tp, ONE53);
    if (rc != WARD_OK) return rc;
    uint32_t other = (uint32_t)ward_rng_uniform(rng, (uint64_t)k - 1);
    other += (uint32_t)(other >= v);
    uint32_t mask = (uint32_t)0 - (uint32_t)keep;
    *out = (v & mask) | (other & ~mask);
    keep = 0;
    other = 0;
    return WARD_OK;
}

int ward_ldp_grr_encode(ward_rng *rng, uint32_t *out, double eps, uint32_t d, uint32_t v) {
    WARD_ARG_CHECK(rng != NULL && out != NULL && eps_ok(eps) && domain_ok(d) && v < d);
    uint64_t tp;
    grr_threshold(&tp, eps, d);
    return grr_core(rng, out, tp, d, v);
}

int ward_ldp_oue_encode(ward_rng *rng, uint8_t *bits, size_t d, double eps, uint32_t v) {
    WARD_ARG_CHECK(rng != NULL && bits != NULL && eps_ok(eps) && domain_ok(d) && v < d);
    const uint64_t th = ONE53 / 2, tq = thr53(1.0 / (exp(eps) + 1.0));
    for (size_t i = 0; i < d; i++) {
        uint64_t m = (uint64_t)0 - (uint64_t)(i == (size_t)v);
        int b = 0;
        int rc = ward_dp_bernoulli(rng, &b, (th & m) | (tq & ~m), ONE53);
        if (rc != WARD_OK) {
            sodium_memzero(bits, d);
            return rc;
        }
        bits[i] = (uint8_t)b;
    }
    return WARD_OK;
}

int ward_ldp_olh_encode(ward_rng *rng, uint64_t *seed, uint32_t *y, double eps, uint32_t d,
                        uint32_t v) {
    WARD_ARG_CHECK(rng != NULL && seed != NULL && y != NULL);
    WARD_ARG_CHECK(eps_ok(eps) && domain_ok(d) && v < d);
    uint32_t g = olh_g(eps);
    uint64_t tp;
    grr_threshold(&tp, eps, g);
    *seed = ward_rng_u64(rng);
    uint32_t x = ward_ldp_olh_hash(*seed, v, g);
    int rc = grr_core(rng, y, tp, g, x);
    x = 0;
    return rc;
}

int ward_ldp_est_init(ward_ldp_est *e, uint64_t *counts, size_t d, ward_ldp_mech mech,
                      double eps) {
    WARD_ARG_CHECK(e != NULL && counts != NULL && eps_ok(eps) && domain_ok(d));
    WARD_ARG_CHECK(mech == WARD_LDP_GRR || mech == WARD_LDP_OUE || mech == WARD_LDP_OLH);
    memset(e, 0, sizeof *e);
    e->mech = mech;
    e->eps = eps;
    e->d = (uint32_t)d;
    e->g = olh_g(eps);
    e->counts = counts;
    memset(counts, 0, d * sizeof *counts);
    return WARD_OK;
}

int ward_ldp_est_add_grr(ward_ldp_est *e, uint32_t y) {
    WARD_ARG_CHECK(e != NULL && e->mech == WARD_LDP_GRR && y < e->d);
    if (e->n == UINT64_MAX) return WARD_EOVERFLOW;
    e->counts[y]++;
    e->n++;
    return WARD_OK;
}

int ward_ldp_est_add_oue(ward_ldp_est *e, const uint8_t *bits, size_t d) {
    WARD_ARG_CHECK(e != NULL && e->mech == WARD_LDP_OUE && bits != NULL && d == e->d);
    for (size_t i = 0; i < d; i++) WARD_ARG_CHECK(bits[i] <= 1);
    if (e->n == UINT64_MAX) return WARD_EOVERFLOW;
    for (size_t i = 0; i < d; i++) e->counts[i] += bits[i];
    e->n++;
    return WARD_OK;
}

int ward_ldp_est_add_olh(ward_ldp_est *e, uint64_t seed, uint32_t y) {
    WARD_ARG_CHECK(e != NULL && e->mech == WARD_LDP_OLH && y < e->g);
    if (e->n == UINT64_MAX) return WARD_EOVERFLOW;
    for (uint32_t v = 0; v < e->d; v++) e->counts[v] += (ward_ldp_olh_hash(seed, v, e->g) == y);
    e->n++;
    return WARD_OK;
}

int ward_ldp_est_finish(const ward_ldp_est *e, double *est, size_t d) {
    WARD_ARG_CHECK(e != NULL && est != NULL && d == e->d);
    double p, q;
    int rc = ward_ldp_probs(&p, &q, e->mech, e->eps, e->d);
    if (rc != WARD_OK) return rc;
    for (size_t v = 0; v < d; v++)
        est[v] = ((double)e->counts[v] - (double)e->n * q) / (p - q);
    return WARD_OK;
}

int ward_ldp_variance_at(double *var, ward_ldp_mech mech, double eps, uint32_t d, uint64_t n,
                         double f) {
    WARD_ARG_CHECK(var != NULL && isfinite(f) && f >= 0.0 && f <= (double)n);
    double p, q;
    int rc = ward_ldp_probs(&p, &q, mech, eps, d);
    if (rc != WARD_OK) return rc;
    *var = ((double)n * q * (1.0 - q) + f * (p * (1.0 - p) - q * (1.0 - q))) /
           ((p - q) * (p - q));
    return WARD_OK;
}

int ward_ldp_variance(double *var, ward_ldp_mech mech, double eps, uint32_t d, uint64_t n) {
    return ward_ldp_variance_at(var, mech, eps, d, n, 0.0);
}

/* ---- planar Laplace ---- */

double ward_ldp_lambertw_m1(double x) {
    const double em1 = 0.36787944117144233; /* 1/e */
    if (!(x >= -em1 && x < 0.0)) {
        /* -1/e itself may round just below the double nearest it. */
        if (x < -em1 && x > -em1 - 1e-16) return -1.0;
        return NAN;
    }
    double w;
    if (x < -0.25) {
        double s = -sqrt(fmax(0.0, 2.0 * (1.0 + M_E * x)));
        w = -1.0 + s - s * s / 3.0 + 11.0 * s * s * s / 72.0;
    } else {
        double l1 = log(-x), l2 = log(-l1);
        w = l1 - l2 + l2 / l1;
    }
    if (w > -1.0) w = -1.0;
    for (int i = 0; i < 32; i++) {
        if (w == -1.0 && x <= -em1) break; /* the branch point: f' = 0 */
        double ew = exp(w);
        double f = w * ew - x;
        double wp1 = w + 1.0;
        if (wp1 == 0.0) break;
        double step = f / (ew * wp1 - (w + 2.0) * f / (2.0 * wp1));
        double nw = w - step;
        if (nw > -1.0) nw = -1.0; /* stay on the lower branch */
        int done = fabs(nw - w) <= 4.0 * DBL_EPSILON * fabs(nw);
        w = nw;
        if (done) break;
    }
    return w;
}

/* A uniform double in (0, 1): (k + 1/2) / 2^53 for a uniform 53-bit k. */
static double unit_open(ward_rng *rng) {
    return ((double)(ward_rng_u64(rng) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

int ward_ldp_planar_radius_var(ward_rng *rng, double *r, double eps) {
    WARD_ARG_CHECK(rng != NULL && r != NULL && isfinite(eps) && eps > 0.0);
    double u = unit_open(rng);
    double w = ward_ldp_lambertw_m1((u - 1.0) / M_E);
    *r = -(w + 1.0) / eps;
    if (*r < 0.0) *r = 0.0;
    return WARD_OK;
}

int ward_ldp_geo_box_check(const ward_ldp_geo_box *b) {
    WARD_ARG_CHECK(b != NULL);
    if (!isfinite(b->min_lat) || !isfinite(b->max_lat) || !isfinite(b->min_lon) ||
        !isfinite(b->max_lon) || !isfinite(b->cell))
        return WARD_EINVAL;
    if (!(b->min_lat < b->max_lat && b->min_lon < b->max_lon && b->cell > 0.0)) return WARD_EINVAL;
    if (b->min_lat <= -90.0 || b->max_lat >= 90.0 || b->min_lon < -180.0 || b->max_lon > 180.0)
        return WARD_EINVAL;
    return WARD_OK;
}

/* Nearest grid coordinate min + k * cell, k clamped to the box. */
static double snap(double x, double lo, double hi, double cell) {
    double kmax = floor((hi - lo) / cell + 1e-9);
    double k = (x - lo) / cell;
    if (!(k > 0.0)) k = 0.0; /* also catches NaN */
    if (k > kmax) k = kmax;
    return lo + nearbyint(k) * cell;
}

int ward_ldp_planar_encode_var(ward_rng *rng, double *out_lat, double *out_lon, double eps,
                               const ward_ldp_geo_box *box, double lat, double lon) {
    WARD_ARG_CHECK(rng != NULL && out_lat != NULL && out_lon != NULL);
    WARD_ARG_CHECK(isfinite(eps) && eps > 0.0 && ward_ldp_geo_box_check(box) == WARD_OK);
    WARD_ARG_CHECK(lat >= box->min_lat && lat <= box->max_lat);
    WARD_ARG_CHECK(lon >= box->min_lon && lon <= box->max_lon);
    double theta = 2.0 * PI_D * unit_open(rng);
    double r;
    int rc = ward_ldp_planar_radius_var(rng, &r, eps);
    if (rc != WARD_OK) return rc;
    const double deg = 180.0 / PI_D;
    double nlat = lat + r * sin(theta) / EARTH_RADIUS_M * deg;
    double nlon = lon + r * cos(theta) / (EARTH_RADIUS_M * cos(lat / deg)) * deg;
    *out_lat = snap(nlat, box->min_lat, box->max_lat, box->cell);
    *out_lon = snap(nlon, box->min_lon, box->max_lon, box->cell);
    return WARD_OK;
}
