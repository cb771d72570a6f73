/* `ward eval utility`: how useful the demo city's private releases are to
 * a city analyst (docs/privacy.md, "Utility"; docs/results.md).
 *
 * An in-process run of the release path the nodes use: each department's
 * CSV is imported into a temporary store of its own with the import the
 * nodes run for `ward sim up --city` (ward_store_import with city.txt's
 * table, class and declared schema); for each query of a fixed set, every
 * department holding the table is a party; the proposer (the first of
 * them in city.txt) chooses epsilon with the allocator from its ledger
 * (or the set's even split), makes the plan (ward_dp_plan_make, n parties,
 * t = 1 colluding, or 0 for a party of one), every party checks it can pay
 * and is debited; each party computes its clamped local aggregate
 * (ward_store_aggregate_clamped, the proposer's declared bounds and
 * scale) and draws its noise share (ward_dp_plan_noise_var); the shares
 * are added and decoded as the output party does (a mean is the noisy sum
 * over the noisy count, clamped to the bounds, absent below one row). The
 * result is compared with the exact answer (ward_store_aggregate, nothing
 * clamped) over the declared domain.
 *
 * Per query, averaged over trials: utility = max(0, 1 - L1(error) /
 * L1(true answer)) over the groups (for a mean, the groups with rows; a
 * group whose private mean is absent counts its whole true value as
 * error), and the share of the true top-5 groups that are in the private
 * top 5. Overall: the mean over the queries.
 *
 * The ceiling of a query (docs/privacy.md, "How far utility can go"): the
 * utility of the best release of its form if this one query alone spent
 * the whole class budget of its departments (pure epsilon, delta unused),
 * computed exactly rather than sampled: a count per group with two-sided
 * geometric noise (the optimal epsilon-DP count, Ghosh, Roughgarden and
 * Sundararajan 2009) and negative answers raised to 0; a mean per group
 * from its exact row count (free) and a sum centred on the middle of the
 * declared bounds, so sensitivity (upper - lower) / 2, with Laplace noise,
 * clamped to the bounds; a sum with Laplace noise at max(|lower|, upper).
 * No pure epsilon-DP release of the set's form does better at its class
 * budget whatever the allocator, split or noise distribution (up to
 * epsilon / (2 sinh(epsilon / 2)), at least 0.95 here, for the L1-optimal
 * staircase noise), unless it is tuned to this data and so worse on other
 * data its policy admits; an (epsilon, delta) release may do a little
 * better by trimming its noise's tails.
 */
#ifndef WARD_EVAL_UTILITY_H
#define WARD_EVAL_UTILITY_H

#include <stddef.h>
#include <stdint.h>

#include "dp_release.h"

#define WARD_EVAL_MAX_QUERIES 16
#define WARD_EVAL_MAX_DEPTS 16
#define WARD_EVAL_TOP 5

/* One analyst query: data, not code. */
typedef struct {
    const char *name;         /* short id, [a-z0-9_] */
    const char *what;         /* one line for people */
    const char *table;
    ward_dp_rel_op op;        /* COUNT, SUM or MEAN */
    const char *column;       /* "" for COUNT */
    const char *group_by;     /* node/group_key.h */
    const char *domain;       /* declared domain of the open part ("PART=LIST"), or NULL */
    const char *parties;      /* comma-separated departments, or NULL: all holding the table */
} ward_eval_query;

/* The documented set (docs/privacy.md, "Utility"). */
extern const ward_eval_query ward_eval_queries[];
extern const size_t ward_eval_nqueries;

typedef enum { WARD_EVAL_ALLOCATOR = 0, WARD_EVAL_EVEN = 1 } ward_eval_split;

typedef struct {
    double epsilon_total;     /* the department's total; INFINITY: exact (no noise) */
    double delta_total;       /* 1e-5 */
    ward_eval_split split;
    unsigned trials;          /* >= 1 */
    uint64_t seed;
} ward_eval_params;

typedef struct {
    const ward_eval_query *q;
    char parties[160];        /* "a,b,c" */
    unsigned n_parties;
    size_t groups;            /* the declared domain */
    size_t groups_with_rows;
    int refused;              /* a party could not pay: nothing released (utility 0) */
    double epsilon, delta;    /* what the release costs (the plan's), 0 when exact */
    double noise_sd;          /* total noise sd of a value (count_sd for counts) */
    double utility, utility_sd; /* mean over trials and its standard deviation */
    double top5;              /* mean share of the true top 5 kept */
    double ceiling_epsilon;   /* the class's whole epsilon (INFINITY when exact) */
    double ceiling;           /* the best utility of this query at ceiling_epsilon (below) */
} ward_eval_result;

typedef struct ward_eval ward_eval;

/* Imports the city of data_dir (its city.txt) into temporary stores under
 * tmp_dir (created and removed by the caller) and prepares the queries
 * queries[0..n) (their exact answers and each party's clamped local
 * aggregates, which do not depend on epsilon). Returns 0 or a ward_err
 * with a one-line message in msg. */
int ward_eval_open(ward_eval **out, char *msg, size_t msg_cap, const char *data_dir,
                   const char *tmp_dir, const ward_eval_query *queries, size_t n);

/* Runs the set once at params: res[0..n) and the overall means. */
int ward_eval_run(ward_eval *ev, ward_eval_result *res, double *utility, double *top5,
                  char *msg, size_t msg_cap, const ward_eval_params *params);

/* Closes the stores and frees. */
void ward_eval_close(ward_eval *ev);

#endif
