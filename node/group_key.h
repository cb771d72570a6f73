/* Group-by keys: what `--group-by KEY` means, the label each row gets,
 * and the declared domains of labels (DECISIONS.md, "Queries").
 *
 * A key is one to WARD_KEY_MAX_PARTS parts separated by commas; each part
 * is one of
 *   COL              the column's value: text and timestamps as stored,
 *                    integers in decimal, decimals in canonical form
 *   hour(COL)        "0".."23"   (COL a timestamp)
 *   weekday(COL)     "0".."6", Sunday = 0
 *   date(COL)        "YYYY-MM-DD"
 *   bucket(COL, W)   the bucket's lower end floor(v / W) * W in canonical
 *                    form (COL integer or decimal, W > 0 with at most the
 *                    column's decimals)
 * and a row's label is its parts' labels joined by '/'. Canonical decimal
 * form has no trailing zeros after the point and no point for whole
 * numbers ("2.5", "-3", "0"), so parties whose columns have different
 * scales agree on labels.
 *
 * A domain is the ordered list of labels a release reports. Differentially
 * private releases take it from what is declared, never from the data:
 * hour and weekday have fixed domains, a bucket's comes from its column's
 * declared bounds, and the caller declares the rest with --domain (a list
 * "a,b,c" or a range "LO..HI" of integers or dates). Exact results may
 * instead use the union of the keys the parties hold.
 *
 *     ward_group_key k;
 *     if (ward_group_key_parse(&k, err, sizeof err, "lot,hour(ts)") == 0) ...
 */
#ifndef WARD_GROUP_KEY_H
#define WARD_GROUP_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define WARD_KEY_MAX_PARTS 3
#define WARD_KEY_LABEL_MAX 64 /* bytes of a label, its NUL included */
#define WARD_KEY_MAX_GROUPS 1024

typedef enum {
    WARD_KEY_COLUMN,
    WARD_KEY_HOUR,
    WARD_KEY_WEEKDAY,
    WARD_KEY_DATE,
    WARD_KEY_BUCKET
} ward_key_fn;

typedef struct {
    ward_key_fn fn;
    char text[WARD_STORE_NAME_MAX + 48];  /* the part as written, spaces trimmed */
    char column[WARD_STORE_NAME_MAX + 1];
    char width[32];                       /* bucket: the width as written */
} ward_key_part;

typedef struct {
    size_t n;                             /* 0: no grouping */
    ward_key_part part[WARD_KEY_MAX_PARTS];
} ward_group_key;

typedef char ward_key_label[WARD_KEY_LABEL_MAX];

/* Parses a key ("" gives n = 0). Returns 0 or WARD_EPARSE with err saying
 * what is wrong. */
int ward_group_key_parse(ward_group_key *k, char *err, size_t err_cap, const char *text);

/* Checks the key's columns against a table (exist; timestamps for hour,
 * weekday and date; integer or decimal for bucket, whose width must be a
 * positive decimal with at most the column's decimals). Writes each
 * bucket's width at its column's scale into widths (may be NULL).
 * Returns 0, WARD_ENOTFOUND or WARD_EINVAL with err filled. */
int ward_group_key_bind(int64_t widths[WARD_KEY_MAX_PARTS], char *err, size_t err_cap,
                        const ward_group_key *k, const ward_table_info *t);

/* Writes v / 10^scale in canonical form. */
void ward_key_decimal(char *out, size_t out_cap, int64_t v, unsigned scale);

/* Expands the declared domain of key k over table t (the proposer's) into
 * labels[0..*n): the cartesian product of the parts' domains, first part
 * outermost. part_domains are the caller's --domain texts: "LIST" when
 * exactly one part lacks a fixed domain, else "PART=LIST" naming the part
 * as written (e.g. "lot=A,B", "date(ts)=2024-03-01..2024-03-07").
 * Returns 0 with *open = 0; 0 with *open = 1 and *n = 0 when some part
 * has no declared domain (an exact result may take the union of the
 * parties' keys); WARD_EPARSE, WARD_EINVAL or WARD_ETOOBIG (more than
 * cap labels) with err filled. */
int ward_group_domain_expand(ward_key_label *labels, size_t *n, int *open, size_t cap, char *err,
                             size_t err_cap, const ward_group_key *k, const ward_table_info *t,
                             const char *const *part_domains, size_t n_part_domains);

/* Days since 1970-01-01 (a Thursday) of the proleptic Gregorian date
 * y-m-d (Howard Hinnant's days_from_civil); negative before. */
long ward_days_from_civil(long y, int m, int d);

/* Orders labels as people expect: part by part, numerically where both
 * parts are numbers, else bytewise. */
int ward_group_label_cmp(const char *a, const char *b);

#endif
