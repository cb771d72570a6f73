/* Local aggregates over one table: the plaintext half of a secret-shared
 * aggregate. Each party computes its own per-group sums and counts here,
 * then encodes and shares them; nothing of this leaves the node unshared.
 *
 * Groups are the labels of a group-by key (node/group_key.h), compound
 * keys such as "lot,hour(ts)" included (labels "A/17"). With a
 * domain, exactly its labels are reported, in its order, empty ones
 * included, and rows whose label is outside it are skipped: that is how a
 * private release keeps its groups independent of the data. Without one
 * (domain NULL), the labels found in the data are collected, in the order
 * first seen (the union mode of exact results). Rows whose key or value is
 * NULL are not counted.
 */
#ifndef WARD_STORE_QUERY_H
#define WARD_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "group_key.h"
#include "store.h"

#define WARD_AGG_MAX_GROUPS WARD_KEY_MAX_GROUPS

typedef struct {
    size_t n_groups;
    ward_key_label labels[WARD_AGG_MAX_GROUPS];
    int64_t sums[WARD_AGG_MAX_GROUPS];    /* sum of values at the column's scale */
    int64_t counts[WARD_AGG_MAX_GROUPS];  /* rows with a non-NULL value */
    unsigned scale;                       /* the column's decimal scale k */
} ward_agg_local;

/* Computes sums and counts of `column` (empty: count rows, sums 0) per
 * group of `group_by` (empty: one group "all"; domain ignored), over the
 * rows that satisfy `where` (node/query_expr.h; empty for every row; a bad
 * expression gives its code and the message says where). domain: the
 * n_domain labels to report, or NULL to collect the data's own.
 * Returns 0, WARD_ENOTFOUND (no such table or column; ward_store_errmsg
 * names it), WARD_EPARSE (a key that does not parse), WARD_EINVAL (a text
 * column summed, a key that does not fit its column, a domain too large),
 * WARD_ETOOBIG (more than WARD_AGG_MAX_GROUPS labels in the data),
 * WARD_EOVERFLOW (a sum leaves int64), WARD_EIO. */
int ward_store_aggregate(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by,
                         const ward_key_label *domain, size_t n_domain);

/* Counts per group of the rows whose `column` (of any type) is not NULL;
 * sums are 0. Otherwise as ward_store_aggregate. */
int ward_store_histogram(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by,
                         const ward_key_label *domain, size_t n_domain);

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
                                 const ward_key_label *domain, size_t n_domain, unsigned scale,
                                 int64_t lower, int64_t upper);

/* One function for the three above, with one more option for private
 * releases: at most person_rows rows of each person, the rows that share a
 * value of the column `person` (rows whose person is NULL count as one
 * person), the first in the table's order among those `where` keeps. That
 * is how a party holds each person to its policy's rows-per-person
 * (node/policy.h) before it adds anything up. histogram: as
 * ward_store_histogram; clamped: as ward_store_aggregate_clamped at scale
 * and [lower, upper] (not both); neither: as ward_store_aggregate. person
 * NULL: no limit. A person column the table lacks is WARD_ENOTFOUND. */
typedef struct {
    int histogram;
    int clamped;
    unsigned scale;
    int64_t lower, upper;
    const char *person;
    uint32_t person_rows;     /* >= 1 when person is set */
} ward_store_release;

int ward_store_aggregate_release(ward_store *st, ward_agg_local *out, const char *table,
                                 const char *column, const char *where, const char *group_by,
                                 const ward_key_label *domain, size_t n_domain,
                                 const ward_store_release *r);

/* The largest value of the numeric `column` over the rows that satisfy
 * `where` (as ward_store_aggregate), at the column's own decimal scale
 * (*scale). *found is 0, and *max 0, when no such row has a non-NULL
 * value. Returns 0, WARD_ENOTFOUND (no such table or column), WARD_EINVAL
 * (a text or timestamp column), a bad expression's code, WARD_EIO. */
int ward_store_column_max(ward_store *st, int64_t *max, int *found, unsigned *scale,
                          const char *table, const char *column, const char *where);

/* The default domain of group_by over the table: fixed where every part
 * has one (hour, weekday, buckets of a column with declared bounds; ""
 * gives "all"), else *open = 1 and *n = 0. Returns as
 * ward_group_domain_expand, with the message in ward_store_errmsg. */
int ward_store_default_domain(ward_store *st, ward_key_label *labels, size_t *n, int *open,
                              const char *table, const char *group_by);

#endif
