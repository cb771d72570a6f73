/* FedAvg rounds as pure functions (fedavg.h). */
#include "fedavg.h"

#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dp_account.h"
#include "dp_release.h"
#include "dp_sample.h"
#include "error.h"
#include "field127.h"
#include "field61.h"

static int scale_ok(double scale) {
    if (!(scale >= 1 && scale <= 0x1p40)) return 0;
    int e;
    return frexp(scale, &e) == 0.5; /* a power of two: v * scale is exact */
}

int ward_fedavg_bound_update(uint64_t *bound, double clip, double scale) {
    WARD_ARG_CHECK(bound && isfinite(clip) && clip > 0 && scale_ok(scale));
    double b = ceil(clip * scale);
    if (!(b < 0x1p62)) return WARD_EOVERFLOW;
    *bound = (uint64_t)b;
    return WARD_OK;
}

int ward_fedavg_bound_examples(uint64_t *bound, double clip, double scale, uint64_t rows_max) {
    WARD_ARG_CHECK(bound && rows_max >= 1);
    uint64_t one;
    int rc = ward_fedavg_bound_update(&one, clip, scale);
    if (rc != WARD_OK) return rc;
    if (one > (((uint64_t)1 << 62) / rows_max)) return WARD_EOVERFLOW;
    *bound = one * rows_max;
    return WARD_OK;
}

int ward_fedavg_plan_make(ward_fedavg_plan *p, size_t nparams, uint32_t parties, double scale,
                          uint64_t bound, uint64_t sigma2_num, uint64_t sigma2_den) {
    WARD_ARG_CHECK(p && nparams >= 1 && nparams <= WARD_FEDAVG_MAX_PARAMS);
    WARD_ARG_CHECK(parties >= 1 && parties <= WARD_FEDAVG_MAX_PARTIES && scale_ok(scale));
    WARD_ARG_CHECK(bound >= 1);
    WARD_ARG_CHECK((sigma2_num == 0 && sigma2_den == 0) || (sigma2_num >= 1 && sigma2_den >= 1));
    memset(p, 0, sizeof *p);
    uint64_t tail = 0;
    if (sigma2_num) {
        double s2 = (double)sigma2_num / (double)sigma2_den;
        WARD_ARG_CHECK(s2 <= (double)WARD_DP_MAX_GAUSS_SIGMA2);
        double t = ceil(WARD_DP_TAIL_SIGMAS * sqrt((double)parties * s2));
        if (!(t < 0x1p62)) return WARD_EOVERFLOW;
        tail = (uint64_t)t + 1;
    }
    /* parties * bound + tail must fit an int64_t (the decoded sum) and the
     * field's half range: the per-party share of the tail is rounded up. */
    if (bound > (uint64_t)INT64_MAX / parties) return WARD_EOVERFLOW;
    uint64_t per = bound + (tail + parties - 1) / parties;
    if (per < bound || per > (uint64_t)INT64_MAX / parties) return WARD_EOVERFLOW;
    ward_field_id f;
    int rc = ward_fixed_pick_field(&f, parties, per);
    if (rc != WARD_OK) return rc;
    p->nparams = nparams;
    p->parties = parties;
    p->scale = scale;
    p->bound = bound;
    p->sigma2_num = sigma2_num;
    p->sigma2_den = sigma2_den;
    p->noise_tail = tail;
    p->field = f;
    return WARD_OK;
}

static int plan_ok(const ward_fedavg_plan *p) {
    return p && p->nparams >= 1 && p->parties >= 1 && scale_ok(p->scale) && p->bound >= 1 &&
           (p->field == WARD_FIELD_F61 || p->field == WARD_FIELD_F127);
}

int ward_fedavg_encode_update(const ward_fedavg_plan *p, int64_t *out, const double *update,
                              double weight, double clip) {
    WARD_ARG_CHECK(plan_ok(p) && out && update);
    WARD_ARG_CHECK(isfinite(weight) && weight >= 0 && weight <= 1);
    WARD_ARG_CHECK(isfinite(clip) && clip > 0 && ceil(clip * p->scale) <= (double)p->bound);
    size_t n = p->nparams;
    double norm = ward_learn_norm(update, n);
    if (!isfinite(norm)) return WARD_EOVERFLOW;
    double c = norm > clip ? clip / norm : 1.0;
    for (size_t j = 0; j < n; j++) {
        /* |v| <= clip * scale <= bound, and rounding to nearest never moves
         * past the integer bound; the check guards the arithmetic anyway. */
        double v = nearbyint(update[j] * c * weight * p->scale);
        if (!(fabs(v) <= (double)p->bound)) {
            sodium_memzero(out, n * sizeof *out);
            return WARD_EOVERFLOW;
        }
        out[j] = (int64_t)v;
    }
    return WARD_OK;
}

int ward_fedavg_add_example(const ward_fedavg_plan *p, int64_t *acc, const double *grad,
                            double clip) {
    WARD_ARG_CHECK(plan_ok(p) && acc && grad && isfinite(clip) && clip > 0);
    WARD_ARG_CHECK(ceil(clip * p->scale) <= (double)p->bound);
    size_t n = p->nparams;
    double norm = ward_learn_norm(grad, n);
    if (!isfinite(norm)) return WARD_EOVERFLOW;
    double c = norm > clip ? clip / norm : 1.0;
    int64_t lim = (int64_t)p->bound;
    /* Two passes so that a refused example leaves acc unchanged. */
    for (size_t j = 0; j < n; j++) {
        int64_t q = (int64_t)nearbyint(grad[j] * c * p->scale);
        int64_t s = acc[j] + q;
        if (s > lim || s < -lim) return WARD_EOVERFLOW;
    }
    for (size_t j = 0; j < n; j++) acc[j] += (int64_t)nearbyint(grad[j] * c * p->scale);
    return WARD_OK;
}

int ward_fedavg_add_noise_var(const ward_fedavg_plan *p, int64_t *acc, ward_rng *rng) {
    WARD_ARG_CHECK(plan_ok(p) && acc && rng);
    if (!p->sigma2_num) return WARD_OK;
    size_t n = p->nparams;
    int64_t *z = malloc(n * sizeof *z);
    if (!z) return WARD_ENOMEM;
    int rc = ward_dp_ddg_share_var(rng, z, n, p->sigma2_num, p->sigma2_den);
    if (rc == WARD_OK)
        for (size_t j = 0; j < n; j++) acc[j] += z[j];
    sodium_memzero(z, n * sizeof *z);
    free(z);
    return rc;
}

int ward_fedavg_local_update(const ward_learn_model *m, double *update, const double *g,
                             const ward_learn_data *data, const size_t *idx, size_t nidx,
                             const ward_learn_sgd *cfg, ward_rng *rng) {
    WARD_ARG_CHECK(m && update && g && cfg);
    size_t n = m->nparams;
    double *w = malloc(n * sizeof *w);
    if (!w) return WARD_ENOMEM;
    memcpy(w, g, n * sizeof *w);
    int rc = ward_learn_sgd_train(m, w, g, data, idx, nidx, cfg, rng, NULL);
    if (rc == WARD_OK)
        for (size_t j = 0; j < n; j++) update[j] = w[j] - g[j];
    free(w);
    return rc;
}

int ward_fedavg_dp_contribution(const ward_fedavg_plan *p, int64_t *acc,
                                const ward_learn_model *m, const double *w,
                                const ward_learn_data *data, const size_t *idx, size_t nidx,
                                double clip) {
    WARD_ARG_CHECK(plan_ok(p) && acc && m && w && data && p->nparams == m->nparams);
    WARD_ARG_CHECK(idx || nidx == data->n);
    size_t n = m->nparams;
    memset(acc, 0, n * sizeof *acc);
    double *g = malloc(n * sizeof *g);
    if (!g) return WARD_ENOMEM;
    int rc = WARD_OK;
    for (size_t t = 0; t < nidx && rc == WARD_OK; t++) {
        size_t i = idx ? idx[t] : t;
        if (i >= data->n) {
            rc = WARD_EINVAL;
            break;
        }
        rc = ward_learn_example_grad(m, NULL, g, w, data->x + i * data->d, data->y[i]);
        if (rc == WARD_OK) rc = ward_fedavg_add_example(p, acc, g, clip);
    }
    sodium_memzero(g, n * sizeof *g);
    free(g);
    if (rc != WARD_OK) sodium_memzero(acc, n * sizeof *acc);
    return rc;
}

int ward_fedavg_sum(const ward_fedavg_plan *p, int64_t *sum, const int64_t *const *contrib,
                    uint32_t k) {
    WARD_ARG_CHECK(plan_ok(p) && sum && contrib && k >= 1 && k <= p->parties);
    size_t n = p->nparams;
    uint64_t lim = p->bound + p->noise_tail;
    for (uint32_t i = 0; i < k; i++) {
        WARD_ARG_CHECK(contrib[i]);
        for (size_t j = 0; j < n; j++) {
            int64_t v = contrib[i][j];
            uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            if (a > lim) return WARD_EOVERFLOW;
        }
    }
    /* In the field, as the reconstruction of the shares' sum gives it. */
    for (size_t j = 0; j < n; j++) {
        if (p->field == WARD_FIELD_F61) {
            ward_f61 acc = 0, x;
            for (uint32_t i = 0; i < k; i++) {
                int rc = ward_fixed_to_f61(&x, contrib[i][j]);
                if (rc != WARD_OK) return rc;
                acc = ward_f61_add(acc, x);
            }
            sum[j] = ward_fixed_from_f61(acc);
        } else {
            ward_f127 acc = 0;
            for (uint32_t i = 0; i < k; i++)
                acc = ward_f127_add(acc, ward_fixed_to_f127(contrib[i][j]));
            int rc = ward_fixed_from_f127(&sum[j], acc);
            if (rc != WARD_OK) return rc;
        }
    }
    return WARD_OK;
}

int ward_fedavg_decode(const ward_fedavg_plan *p, double *out, const int64_t *sum,
                       double divisor) {
    WARD_ARG_CHECK(plan_ok(p) && out && sum && isfinite(divisor) && divisor > 0);
    double f = 1.0 / (p->scale * divisor);
    for (size_t j = 0; j < p->nparams; j++) out[j] = (double)sum[j] * f;
    return WARD_OK;
}

int ward_fedavg_round(const ward_fedavg_plan *p, double *avg, const double *const *updates,
                      const double *weights, uint32_t k, double clip, double divisor) {
    WARD_ARG_CHECK(plan_ok(p) && avg && updates && weights && k >= 1 && k <= p->parties);
    WARD_ARG_CHECK(isfinite(divisor) && divisor > 0);
    size_t n = p->nparams;
    for (uint32_t i = 0; i < k; i++)
        WARD_ARG_CHECK(updates[i] && isfinite(weights[i]) && weights[i] >= 0 && weights[i] <= 1);
    int64_t *enc = malloc((size_t)k * n * sizeof *enc);
    int64_t *sum = malloc(n * sizeof *sum);
    const int64_t **rows = malloc(k * sizeof *rows);
    int rc = WARD_ENOMEM;
    if (enc && sum && rows) {
        rc = WARD_OK;
        for (uint32_t i = 0; i < k && rc == WARD_OK; i++) {
            rc = ward_fedavg_encode_update(p, enc + (size_t)i * n, updates[i], weights[i], clip);
            rows[i] = enc + (size_t)i * n;
        }
        if (rc == WARD_OK) rc = ward_fedavg_sum(p, sum, rows, k);
        if (rc == WARD_OK) rc = ward_fedavg_decode(p, avg, sum, divisor);
    }
    if (enc) sodium_memzero(enc, (size_t)k * n * sizeof *enc);
    free(enc);
    free(sum);
    free(rows);
    return rc;
}

double ward_fedavg_dp_sensitivity(double clip, double scale, size_t nparams) {
    double d = clip * scale + 0.5 * sqrt((double)nparams);
    return nextafter(d, INFINITY);
}

int ward_fedavg_dp_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                       double sensitivity, size_t nparams, uint32_t honest) {
    WARD_ARG_CHECK(rho && sigma2_num >= 1 && sigma2_den >= 1 && nparams >= 1 && honest >= 1);
    WARD_ARG_CHECK(isfinite(sensitivity) && sensitivity > 0);
    double tau;
    int rc = ward_dp_ddg_tau(&tau, sigma2_num, sigma2_den, honest);
    if (rc != WARD_OK) return rc;
    long double s2 = (long double)sigma2_num / (long double)sigma2_den;
    if (honest >= 2 && s2 < 0.25L) return WARD_EINVAL; /* KLS needs sigma >= 1/2 */
    long double a = (long double)sensitivity / sqrtl((long double)honest * s2) +
                    (long double)tau * sqrtl((long double)nparams);
    long double r = a * a / 2;
    double out = (double)r;
    /* Round up past the evaluation error (a few ulps in long double). */
    out = nextafter(out * (1 + 0x1p-40), INFINITY);
    if (!isfinite(out)) return WARD_EOVERFLOW;
    *rho = out;
    return WARD_OK;
}

int ward_fedavg_ddg_sigma2(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho,
                           double sensitivity, uint32_t honest) {
    WARD_ARG_CHECK(sigma2_num && sigma2_den && isfinite(rho) && rho > 0);
    WARD_ARG_CHECK(isfinite(sensitivity) && sensitivity > 0 && honest >= 1);
    uint64_t num, den;
    int rc = ward_dp_ddg_sigma2_for_rho(&num, &den, rho, sensitivity, honest);
    for (uint64_t k = 2; rc == WARD_EOVERFLOW && k <= 1024; k *= 2) {
        rc = ward_dp_ddg_sigma2_for_rho(&num, &den, rho, sensitivity / (double)k, honest);
        if (rc != WARD_OK) continue;
        if (num > UINT64_MAX / (k * k)) return WARD_EOVERFLOW;
        num *= k * k;
    }
    if (rc != WARD_OK) return rc;
    if ((double)num / (double)den > (double)WARD_DP_MAX_GAUSS_SIGMA2) return WARD_EOVERFLOW;
    double r;
    rc = ward_dp_ddg_rho(&r, num, den, sensitivity, honest);
    if (rc != WARD_OK) return rc;
    if (r > rho) return WARD_EOVERFLOW;
    *sigma2_num = num;
    *sigma2_den = den;
    return WARD_OK;
}

int ward_fedavg_dp_calibrate(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho_round,
                             double sensitivity, size_t nparams, uint32_t honest) {
    WARD_ARG_CHECK(sigma2_num && sigma2_den && isfinite(rho_round) && rho_round > 0);
    uint64_t num, den;
    int rc = ward_fedavg_ddg_sigma2(&num, &den, rho_round, sensitivity, honest);
    if (rc != WARD_OK) return rc;
    /* The search above is for one coordinate (tau, not tau sqrt(d)) and
     * rounds rho differently: step up until the d-coordinate bound fits. */
    for (int it = 0; it < 4096; it++) {
        double r;
        rc = ward_fedavg_dp_rho(&r, num, den, sensitivity, nparams, honest);
        if (rc != WARD_OK) return rc;
        if (r <= rho_round) {
            *sigma2_num = num;
            *sigma2_den = den;
            return WARD_OK;
        }
        uint64_t step = num / 100000 + 1;
        if (num > UINT64_MAX - step) return WARD_EOVERFLOW;
        num += step;
        if ((double)num / (double)den > (double)WARD_DP_MAX_GAUSS_SIGMA2) return WARD_EOVERFLOW;
    }
    return WARD_EOVERFLOW;
}
