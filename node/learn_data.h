/* A learning task's data at one party: which columns make the features
 * and the label, loading them from a CSV file (or from rows of text, as a
 * node's store returns them), the per-party train/validation split, and the
 * joint standardisation from sums that a secure sum combines
 * (docs/learning.md, "Data", "Standardisation").
 *
 * Features: a comma-separated list of terms, each a column of the party's
 * table or a function of columns, each with a declared range that every
 * value is clamped to (the ranges bound the DP sensitivities and make the
 * wrap check possible from declared numbers):
 *   COL[LO,HI]      a numeric column (the range is required)
 *   hour(TS)        0..23, from a timestamp (YYYY-MM-DD HH:MM:SS[.fff],
 *                   or with 'T')
 *   weekday(TS)     0..6, Sunday = 0 (as in group-by keys)
 *   weekend(TS)     1 on Saturday and Sunday, else 0
 *   sin_hour(TS), cos_hour(TS)   the hour on the unit circle, [-1, 1]
 *   sin_deg(COL), cos_deg(COL)   an angle in degrees (wind direction)
 *   eq(COL,VALUE)   1 when the field's text equals VALUE, else 0
 *   same(A,B)       1 when the two fields' texts are equal, else 0
 * Label: COL[LO,HI] (regression), COL>T (binary: 1 when the value exceeds
 * T), A/B>T (binary on a ratio; B must be positive), class(COL,K)
 * (multiclass, integer values 0..K-1).
 *
 * Values: an empty field, NA or NULL is missing and the row is skipped
 * (counted); a value that is not a decimal number (text, hex, "nan",
 * "inf") is an error naming the column and line, as is a column that does
 * not exist.
 */
#ifndef WARD_LEARN_DATA_H
#define WARD_LEARN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "learn.h"
#include "rng.h"

#define WARD_LEARN_MAX_TERMS WARD_LEARN_MAX_FEATURES
#define WARD_LEARN_NAME_MAX 64

typedef struct ward_learn_spec ward_learn_spec;

/* Parses the feature and label lists. On error returns WARD_EPARSE with a
 * one-line reason in err. *out is freed with ward_learn_spec_free. */
int ward_learn_spec_parse(ward_learn_spec **out, char *err, size_t err_cap,
                          const char *features, const char *label);
void ward_learn_spec_free(ward_learn_spec *s);

size_t ward_learn_spec_features(const ward_learn_spec *s);
ward_learn_head ward_learn_spec_head(const ward_learn_spec *s);
size_t ward_learn_spec_classes(const ward_learn_spec *s); /* 1, 2 or K */
/* The declared range of feature j (j < features) or, for j == features,
 * of the label (regression; [0, 1] or [0, K-1] for classes). */
void ward_learn_spec_range(const ward_learn_spec *s, size_t j, double *lo, double *hi);
/* The columns the spec reads, for a SELECT (names[0..*n)); pointers valid
 * while s lives. */
void ward_learn_spec_columns(const ward_learn_spec *s, const char *const **names, size_t *n);

typedef struct {
    uint64_t rows;    /* data rows read */
    uint64_t kept;    /* rows with every value present */
    uint64_t missing; /* rows skipped for a missing value */
    uint64_t clamped; /* values clamped to a declared range */
} ward_learn_load_report;

/* Loads FILE (a CSV with a header) into *out (freed with
 * ward_learn_data_free). Errors: WARD_ENOTFOUND (a column named by the spec
 * is not in the header), WARD_EPARSE (a non-numeric or non-finite value, a
 * class out of range, a malformed file), WARD_EIO, WARD_ETOOBIG (more than
 * max_rows rows kept); err says which. */
int ward_learn_load_csv(ward_learn_data *out, ward_learn_load_report *rep, char *err,
                        size_t err_cap, const ward_learn_spec *s, const char *path,
                        uint64_t max_rows);

/* The same from rows of text: header[0..ncols) names the columns and each
 * row gives ncols fields (NULL for SQL NULL), as a node's store returns
 * them. Call begin once, row per row, then finish. */
typedef struct ward_learn_loader ward_learn_loader;
int ward_learn_loader_begin(ward_learn_loader **out, char *err, size_t err_cap,
                            const ward_learn_spec *s, const char *const *header, size_t ncols,
                            uint64_t max_rows);
int ward_learn_loader_row(ward_learn_loader *l, char *err, size_t err_cap,
                          const char *const *fields, uint64_t line);
/* Moves the rows into *out and frees the loader (also on error). */
int ward_learn_loader_finish(ward_learn_loader *l, ward_learn_data *out,
                             ward_learn_load_report *rep);
void ward_learn_loader_free(ward_learn_loader *l);

void ward_learn_data_free(ward_learn_data *d);

/* A party's train/validation split: a uniformly random permutation of
 * 0..n-1 (from rng), the first n - floor(n * val_frac) rows for training.
 * *idx (n entries, malloc'd) holds the training rows then the validation
 * rows. val_frac in [0, 1). */
int ward_learn_split(size_t **idx, size_t *ntrain, size_t *nval, size_t n, double val_frac,
                     ward_rng *rng);

/* ---- joint standardisation ---- */

/* Per-party sums, in integers: count, and for every feature j and the
 * label (coordinate d; for a binary head its sum counts the positives,
 * which tells a label with one class) the sum of round(x * 10^k_j) and the
 * sum of round(x * 10^k_j)^2 over the party's training rows. The scales
 * k_j (possibly negative) come from the declared ranges and rows_max (the
 * declared most rows per party): the largest k in [-9, 6] such that
 * max|x| 10^k <= max_units and parties * rows_max * (max|x| 10^k + 1)^2 <
 * (p - 1)/2 in F_(2^61-1), so that the secure sum of every coordinate
 * passes the wrap check. max_units limits the resolution where noise is
 * added (DP: 1000 keeps the sensitivity of the squares at 10^6). */
typedef struct {
    size_t dims;     /* d + 1: the features, then the label */
    int k[WARD_LEARN_MAX_FEATURES + 1];
    int64_t count;
    int64_t s1[WARD_LEARN_MAX_FEATURES + 1];
    int64_t s2[WARD_LEARN_MAX_FEATURES + 1];
} ward_learn_stats;

/* The scales for a task: WARD_EOVERFLOW if even k = -9 cannot pass. */
int ward_learn_stats_scales(ward_learn_stats *st, const ward_learn_spec *s, uint32_t parties,
                            uint64_t rows_max, double max_units);

/* DP statistics: each of the 2 * dims + 1 coordinates is released with
 * its own distributed discrete Gaussian noise, calibrated for an equal
 * share of rho against the coordinate's sensitivity (1 for the count,
 * ceil(max|x| 10^k) for a sum, its square for a sum of squares) with
 * `honest` parties' noise; zCDP adds over the coordinates, and `rho_spent`
 * (<= rho) is the sum of their costs (ward_dp_ddg_rho). */
typedef struct {
    size_t ncoords;
    uint32_t honest;
    uint64_t num[2 * (WARD_LEARN_MAX_FEATURES + 1) + 1];
    uint64_t den[2 * (WARD_LEARN_MAX_FEATURES + 1) + 1];
    double rho_spent;
} ward_learn_stats_dp;

int ward_learn_stats_dp_plan(ward_learn_stats_dp *dp, const ward_learn_stats *scales,
                             const ward_learn_spec *s, double rho, uint32_t honest);

/* A party adds its noise shares to its own sums (before they are shared).
 * Variable-time, like every sampler (crypto/dp_sample.h). */
int ward_learn_stats_add_noise_var(ward_learn_stats *st, const ward_learn_stats_dp *dp,
                                   ward_rng *rng);

/* A party's sums over its rows idx[0..nidx) (all when idx is NULL). st's
 * scales must be set (ward_learn_stats_scales); the sums are overwritten.
 * WARD_ETOOBIG when nidx > rows_max. */
int ward_learn_stats_local(ward_learn_stats *st, const ward_learn_data *d, const size_t *idx,
                           size_t nidx, uint64_t rows_max);

/* total = the coordinate-wise sum of the k parties' sums (same scales):
 * what the secret-shared sum of the vectors (count, s1, s2) reconstructs.
 * WARD_EOVERFLOW if a sum would leave int64_t. */
int ward_learn_stats_combine(ward_learn_stats *total, const ward_learn_stats *const *parts,
                             size_t k);

/* Means and standard deviations from (possibly noisy, DP) totals: mean =
 * s1 / (count 10^k), var = s2 / (count 10^2k) - mean^2; the mean is kept
 * within the declared range and the sd within [sd_floor, 1] times its
 * width (sd_floor in (0, 1]: 1e-3 for exact totals; larger for noisy ones,
 * whose variance can come out tiny or negative), so that noisy totals still
 * give a usable standardisation. count must be positive (WARD_EINVAL
 * otherwise). */
typedef struct {
    size_t dims;
    double mean[WARD_LEARN_MAX_FEATURES + 1];
    double sd[WARD_LEARN_MAX_FEATURES + 1];
    double count;
} ward_learn_standardizer;

int ward_learn_standardizer_make(ward_learn_standardizer *z, const ward_learn_stats *total,
                                 const ward_learn_spec *s, double sd_floor);

/* Checks the joint label from the combined (possibly noisy) totals: a
 * binary label whose positives are 0 or all rows, or a label whose
 * variance is zero (regression, classes), has one class or one value and
 * nothing to learn: WARD_EINVAL with the reason in err. */
int ward_learn_stats_label_check(const ward_learn_stats *total, const ward_learn_spec *s,
                                 char *err, size_t err_cap);

/* x <- (x - mean) / sd for every feature, and the label too when `label`
 * is non-zero (a regression head). */
int ward_learn_standardize(const ward_learn_standardizer *z, ward_learn_data *d, int label);

#endif
