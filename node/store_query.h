/* Local aggregates over one table: the plaintext half of a secret-shared
 * aggregate. Each party computes its own per-group sums and counts here,
 * then encodes and shares them; nothing of this leaves the node unshared.
 *
 * Group keys come from a declared domain, never from the data:
 *   ""            one group
 *   hour(COL)     24 groups "0".."23"   (COL a timestamp column)
 *   weekday(COL)  7 groups "0".."6", Sunday = 0 (SQLite's %w)
 * Rows whose key or value is NULL are not counted.
 */
#ifndef WARD_STORE_QUERY_H
#define WARD_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define WARD_AGG_MAX_GROUPS 1024

typedef struct {
    size_t n_groups;
    char labels[WARD_AGG_MAX_GROUPS][16];
    int64_t sums[WARD_AGG_MAX_GROUPS];    /* sum of values at the column's scale */
    int64_t counts[WARD_AGG_MAX_GROUPS];  /* rows with a non-NULL value */
    unsigned scale;                       /* the column's decimal scale k */
} ward_agg_local;

/* The number of groups and their labels for a group-by key, without
 * touching the data (all parties derive the same domain from the spec).
 * Returns 0, WARD_EPARSE (unknown key form) or WARD_EUNSUPPORTED. */
int ward_agg_domain(ward_agg_local *out, const char *group_by);

/* Computes sums and counts of `column` (empty: count rows, sums 0) per
 * group, over the rows that satisfy `where` (node/query_expr.h; empty for
 * every row; a bad expression gives its code and the message says where).
 * Returns 0, WARD_ENOTFOUND (no such table or column; ward_store_errmsg
 * names it), WARD_EINVAL (a text column summed, a group-by column that is
 * not a timestamp), WARD_EOVERFLOW (a sum leaves int64), WARD_EIO. */
int ward_store_aggregate(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by);

/* The same for a differentially private release: each row's value is
 * first brought to the decimal scale `scale` (multiplied up exactly when
 * the column has fewer decimals, rounded half away from zero when it has
 * more), then clamped to [lower, upper] at that scale, and only then added,
 * so that one row moves a group's sum by at most max(-lower, upper) whatever
 * the data. The bounds are public (declared), never taken from the data.
 * out->scale is `scale`; counts are as above. Requires lower <= upper and
 * scale <= 18. Same errors as ward_store_aggregate. */
int ward_store_aggregate_clamped(ward_store *st, ward_agg_local *out, const char *table,
                                 const char *column, const char *where, const char *group_by,
                                 unsigned scale, int64_t lower, int64_t upper);

#endif
