/* Report lines of local DP (ldp_report.h). Everything here handles
 * public data; the parser is strict so that the import and the estimator
 * agree on what a report is. */
#include "ldp_report.h"

#include <string.h>

#include "error.h"

int ward_ldp_format_init(ward_ldp_format *f, ward_ldp_mech mech, double eps, uint32_t d) {
    WARD_ARG_CHECK(f != NULL);
    memset(f, 0, sizeof *f);
    if (!(eps > 0.0) || !(eps <= WARD_LDP_MAX_EPSILON) || d < 2 || d > WARD_LDP_MAX_DOMAIN)
        return WARD_EINVAL;
    if (mech != WARD_LDP_GRR && mech != WARD_LDP_OUE && mech != WARD_LDP_OLH) return WARD_EINVAL;
    f->mech = mech;
    f->d = d;
    if (mech == WARD_LDP_OLH) {
        int rc = ward_ldp_olh_g(&f->g, eps);
        if (rc != WARD_OK) return rc;
    }
    return WARD_OK;
}

const char *ward_ldp_mech_name(ward_ldp_mech mech) {
    switch (mech) {
    case WARD_LDP_GRR: return "rr";
    case WARD_LDP_OUE: return "oue";
    case WARD_LDP_OLH: return "olh";
    }
    return NULL;
}

int ward_ldp_mech_parse(ward_ldp_mech *out, const char *name) {
    WARD_ARG_CHECK(out != NULL && name != NULL);
    if (strcmp(name, "rr") == 0) *out = WARD_LDP_GRR;
    else if (strcmp(name, "oue") == 0) *out = WARD_LDP_OUE;
    else if (strcmp(name, "olh") == 0) *out = WARD_LDP_OLH;
    else return WARD_EPARSE;
    return WARD_OK;
}

/* s[0..n) as a decimal uint64: digits only, at least one, no overflow. */
static int parse_u64(uint64_t *out, const char *s, size_t n) {
    if (n == 0) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10) return 0;
        v = v * 10 + dgt;
    }
    *out = v;
    return 1;
}

static int fail(const char **why, const char *reason) {
    if (why) *why = reason;
    return WARD_EPARSE;
}

int ward_ldp_report_parse(ward_ldp_report *r, const char **why, const ward_ldp_format *f,
                          const char *line, size_t len) {
    WARD_ARG_CHECK(r != NULL && f != NULL && (line != NULL || len == 0));
    WARD_ARG_CHECK(f->mech != WARD_LDP_OUE || r->bits != NULL);
    if (why) *why = "";
    switch (f->mech) {
    case WARD_LDP_GRR: {
        uint64_t y;
        if (len > WARD_LDP_REPORT_MAX_SHORT || !parse_u64(&y, line, len) || y >= f->d)
            return fail(why, "expected a report: an integer in [0, domain)");
        r->y = (uint32_t)y;
        return WARD_OK;
    }
    case WARD_LDP_OUE:
        if (len != f->d) return fail(why, "expected a report: exactly domain characters 0 or 1");
        for (size_t i = 0; i < len; i++) {
            if (line[i] != '0' && line[i] != '1')
                return fail(why, "expected a report: exactly domain characters 0 or 1");
            r->bits[i] = (uint8_t)(line[i] - '0');
        }
        return WARD_OK;
    case WARD_LDP_OLH: {
        const char *comma = len <= WARD_LDP_REPORT_MAX_SHORT ? memchr(line, ',', len) : NULL;
        uint64_t s, y;
        if (comma == NULL || !parse_u64(&s, line, (size_t)(comma - line)) ||
            !parse_u64(&y, comma + 1, len - (size_t)(comma - line) - 1) || y >= f->g)
            return fail(why, "expected a report: SEED,VALUE with VALUE < g = round(e^eps) + 1");
        r->seed = s;
        r->y = (uint32_t)y;
        return WARD_OK;
    }
    }
    return WARD_EINVAL;
}

int ward_ldp_report_add(ward_ldp_est *e, const ward_ldp_format *f, const ward_ldp_report *r) {
    WARD_ARG_CHECK(e != NULL && f != NULL && r != NULL && e->mech == f->mech && e->d == f->d);
    switch (f->mech) {
    case WARD_LDP_GRR: return ward_ldp_est_add_grr(e, r->y);
    case WARD_LDP_OUE: return ward_ldp_est_add_oue(e, r->bits, f->d);
    case WARD_LDP_OLH: return ward_ldp_est_add_olh(e, r->seed, r->y);
    }
    return WARD_EINVAL;
}
