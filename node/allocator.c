#include "allocator.h"

#include <math.h>
#include <string.h>

#include "error.h"

const char *ward_importance_name(ward_importance imp) {
    switch (imp) {
    case WARD_IMPORTANCE_NORMAL: return "normal";
    case WARD_IMPORTANCE_LOW: return "low";
    case WARD_IMPORTANCE_HIGH: return "high";
    default: return "?";
    }
}

static int amount_ok(double x) { return isfinite(x) && x >= 0; }

int ward_alloc_choose(ward_alloc_result *out, const ward_alloc_input *in, ward_importance imp) {
    WARD_ARG_CHECK(out != NULL && in != NULL);
    WARD_ARG_CHECK(amount_ok(in->class_total) && in->class_total > 0);
    WARD_ARG_CHECK(amount_ok(in->class_spent) && amount_ok(in->table_spent));
    WARD_ARG_CHECK(in->tables >= 1 && in->recent_table <= in->recent_class);
    double w;
    switch (imp) {
    case WARD_IMPORTANCE_NORMAL: w = 1; break;
    case WARD_IMPORTANCE_LOW: w = 0.5; break;
    case WARD_IMPORTANCE_HIGH: w = 2; break;
    default: return WARD_EINVAL;
    }
    memset(out, 0, sizeof *out);
    double k = in->tables, c = in->class_total;
    double share = ((double)in->recent_table + 1) / ((double)in->recent_class + k);
    out->entitlement = c * (0.5 / k + share / 2);
    double avail = out->entitlement - in->table_spent;
    double class_left = c - in->class_spent;
    if (class_left < avail) avail = class_left;
    if (!(avail > 0)) avail = 0;
    out->available = avail;
    /* Rounded down, like every allowance: the product and quotient are
     * nudged below their computed values. */
    double rho = avail * w / (w + 3 + (double)in->recent_table);
    rho = nextafter(rho * (1 - 4 * 1.1102230246251565e-16), 0);
    if (rho > class_left) rho = class_left;
    if (!(rho >= c * WARD_ALLOC_MIN_FRACTION)) return WARD_EOVERFLOW;
    out->rho = rho;
    return WARD_OK;
}
