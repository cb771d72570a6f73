#include "dp_release.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "dp_account.h"
#include "dp_sample.h"
#include "error.h"

size_t ward_dp_plan_len(const ward_dp_plan *p) {
    return p->op == WARD_DP_REL_MEAN ? 2 * p->groups : p->groups;
}

static int has_values(ward_dp_rel_op op) { return op == WARD_DP_REL_SUM || op == WARD_DP_REL_MEAN; }
static int has_counts(ward_dp_rel_op op) { return op != WARD_DP_REL_SUM; }

static int fail(char *why, size_t cap, const char *msg) {
    if (why && cap) snprintf(why, cap, "%s", msg);
    return WARD_EINVAL;
}

/* a + b rounded up (costs only ever round toward more spending). */
static double add_up(double a, double b) {
    double s = a + b;
    return nextafter(s, INFINITY);
}

/* ceil(40 * sqrt(n * num / den)), computed so that it is never below the
 * exact value: the double estimate is nudged up and then rounded up. */
static uint64_t tail_of(uint32_t n, uint64_t num, uint64_t den, double *sd) {
    long double v = (long double)n * (long double)num / (long double)den;
    long double s = sqrtl(v) * (1 + 1e-15L);
    *sd = (double)s;
    if (*sd < s) *sd = nextafter(*sd, INFINITY);
    long double t = ceill(s * WARD_DP_TAIL_SIGMAS) + 1;
    return t >= 1.8e19L ? UINT64_MAX : (uint64_t)t;
}

static int sigma_ok(uint64_t num, uint64_t den) {
    return num >= 1 && den >= 1 && num / den <= WARD_DP_MAX_GAUSS_SIGMA2 &&
           !(num / den == WARD_DP_MAX_GAUSS_SIGMA2 && num % den != 0);
}

int ward_dp_plan_check(ward_dp_plan *p, char *why, size_t why_cap) {
    WARD_ARG_CHECK(p != NULL);
    if (p->op < WARD_DP_REL_SUM || p->op > WARD_DP_REL_HISTOGRAM)
        return fail(why, why_cap, "unknown aggregate");
    if (p->groups == 0) return fail(why, why_cap, "no groups");
    if (!isfinite(p->epsilon) || p->epsilon <= 0)
        return fail(why, why_cap, "epsilon must be a finite number above 0");
    if (!(p->delta > 0 && p->delta < 1)) return fail(why, why_cap, "delta must lie in (0, 1)");
    if (p->parties < 1 || p->parties > WARD_DP_MAX_PARTIES || p->colluding >= p->parties)
        return fail(why, why_cap, "the number of colluding parties must be below the number of parties");
    uint32_t h = p->parties - p->colluding;
    if (p->rows_per_person > WARD_DP_MAX_ROWS_PER_PERSON)
        return fail(why, why_cap, "rows per person must lie in 1..1000000");
    double k = p->rows_per_person > 1 ? (double)p->rows_per_person : 1.0;
    p->sensitivity = 1;
    if (has_values(p->op)) {
        if (p->lower > 0 || p->upper < 0 || p->lower >= p->upper)
            return fail(why, why_cap, "the clamping bounds [MIN,MAX] must contain 0 and MIN < MAX");
        if (p->lower < -WARD_DP_MAX_BOUND || p->upper > WARD_DP_MAX_BOUND)
            return fail(why, why_cap, "the clamping bounds exceed 2^53 at the session's scale");
        p->sensitivity = (double)(-p->lower > p->upper ? -p->lower : p->upper);
        if (!sigma_ok(p->sigma2_num, p->sigma2_den))
            return fail(why, why_cap, "the spec lacks the noise of the sums");
    } else if (p->sigma2_num || p->sigma2_den) {
        return fail(why, why_cap, "the spec gives sum noise to an aggregate without sums");
    }
    if (has_counts(p->op)) {
        if (!sigma_ok(p->count_sigma2_num, p->count_sigma2_den))
            return fail(why, why_cap, "the spec lacks the noise of the counts");
    } else if (p->count_sigma2_num || p->count_sigma2_den) {
        return fail(why, why_cap, "the spec gives count noise to a sum");
    }
    double rho = 0, r;
    if (has_values(p->op)) {
        if (ward_dp_ddg_rho(&r, p->sigma2_num, p->sigma2_den, k * p->sensitivity, h) != WARD_OK)
            return fail(why, why_cap, "the noise of the sums is below the bound's minimum (sigma >= 1/2)");
        rho = r;
    }
    if (has_counts(p->op)) {
        if (ward_dp_ddg_rho(&r, p->count_sigma2_num, p->count_sigma2_den, k, h) != WARD_OK)
            return fail(why, why_cap, "the noise of the counts is below the bound's minimum (sigma >= 1/2)");
        rho = rho > 0 ? add_up(rho, r) : r;
    }
    double target;
    if (ward_dp_cdp_rho(&target, p->epsilon, p->delta) != WARD_OK)
        return fail(why, why_cap, "epsilon and delta give no zCDP allowance");
    if (!(rho <= target)) {
        if (why && why_cap)
            snprintf(why, why_cap, "the spec's noise costs rho %.6g, more than its epsilon %.6g "
                     "and delta %.3g allow (rho %.6g)", rho, p->epsilon, p->delta, target);
        return WARD_EINVAL;
    }
    double eps;
    if (ward_dp_cdp_epsilon(&eps, rho, p->delta) != WARD_OK)
        return fail(why, why_cap, "cannot convert the cost to (epsilon, delta)");
    p->rho = rho;
    p->epsilon_spent = eps < p->epsilon ? eps : p->epsilon;
    p->value_sd = p->count_sd = 0;
    p->value_tail = p->count_tail = 0;
    if (has_values(p->op))
        p->value_tail = tail_of(p->parties, p->sigma2_num, p->sigma2_den, &p->value_sd);
    if (has_counts(p->op))
        p->count_tail = tail_of(p->parties, p->count_sigma2_num, p->count_sigma2_den, &p->count_sd);
    return WARD_OK;
}

int ward_dp_plan_make(ward_dp_plan *p, ward_dp_rel_op op, size_t groups, uint32_t parties,
                      uint32_t colluding, int64_t lower, int64_t upper, double epsilon,
                      double delta) {
    return ward_dp_plan_make_persons(p, op, groups, parties, colluding, lower, upper, epsilon, delta,
                                     1);
}

int ward_dp_plan_make_persons(ward_dp_plan *p, ward_dp_rel_op op, size_t groups, uint32_t parties,
                              uint32_t colluding, int64_t lower, int64_t upper, double epsilon,
                              double delta, uint32_t rows_per_person) {
    WARD_ARG_CHECK(p != NULL && op >= WARD_DP_REL_SUM && op <= WARD_DP_REL_HISTOGRAM);
    WARD_ARG_CHECK(rows_per_person >= 1 && rows_per_person <= WARD_DP_MAX_ROWS_PER_PERSON);
    WARD_ARG_CHECK(groups >= 1 && isfinite(epsilon) && epsilon > 0 && delta > 0 && delta < 1);
    WARD_ARG_CHECK(parties >= 1 && parties <= WARD_DP_MAX_PARTIES && colluding < parties);
    memset(p, 0, sizeof *p);
    p->op = op;
    p->groups = groups;
    p->parties = parties;
    p->colluding = colluding;
    p->epsilon = epsilon;
    p->delta = delta;
    p->rows_per_person = rows_per_person;
    double k = (double)rows_per_person;
    uint32_t h = parties - colluding;
    double target;
    int rc = ward_dp_cdp_rho(&target, epsilon, delta);
    if (rc != WARD_OK) return rc;
    /* A mean splits its allowance between its sums and its counts. The
     * halves are rounded down, so their sum stays within the target. */
    double part = op == WARD_DP_REL_MEAN ? nextafter(target / 2, 0) : target;
    if (has_values(op)) {
        WARD_ARG_CHECK(lower <= 0 && upper >= 0 && lower < upper);
        WARD_ARG_CHECK(lower >= -WARD_DP_MAX_BOUND && upper <= WARD_DP_MAX_BOUND);
        p->lower = lower;
        p->upper = upper;
        double d = (double)(-lower > upper ? -lower : upper);
        rc = ward_dp_ddg_sigma2_for_rho(&p->sigma2_num, &p->sigma2_den, part, k * d, h);
        if (rc != WARD_OK) return rc;
    }
    if (has_counts(op)) {
        rc = ward_dp_ddg_sigma2_for_rho(&p->count_sigma2_num, &p->count_sigma2_den, part, k, h);
        if (rc != WARD_OK) return rc;
    }
    char why[200];
    rc = ward_dp_plan_check(p, why, sizeof why);
    return rc;
}

int ward_dp_plan_noise_var(const ward_dp_plan *p, ward_rng *rng, int64_t *out, size_t len) {
    WARD_ARG_CHECK(p != NULL && rng != NULL && out != NULL && len == ward_dp_plan_len(p));
    int rc = WARD_OK;
    size_t g = p->groups;
    switch (p->op) {
    case WARD_DP_REL_SUM:
        rc = ward_dp_ddg_share_var(rng, out, g, p->sigma2_num, p->sigma2_den);
        break;
    case WARD_DP_REL_MEAN:
        rc = ward_dp_ddg_share_var(rng, out, g, p->sigma2_num, p->sigma2_den);
        if (rc == WARD_OK)
            rc = ward_dp_ddg_share_var(rng, out + g, g, p->count_sigma2_num, p->count_sigma2_den);
        break;
    default:
        rc = ward_dp_ddg_share_var(rng, out, g, p->count_sigma2_num, p->count_sigma2_den);
        break;
    }
    if (rc != WARD_OK) sodium_memzero(out, len * sizeof *out);
    return rc;
}
