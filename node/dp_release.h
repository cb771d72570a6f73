/* The differentially private release of one secret-shared aggregate: how
 * much noise each party adds, to which coordinates, and what the release
 * costs (docs/privacy.md, "Releases").
 *
 * A release is a vector over a declared group domain: sums (sum), counts
 * (count, histogram), or sums then counts (mean). The privacy unit is one
 * row: adding or removing a row moves one group's sum by at most
 * D = max(-lower, upper) (each row's value is clamped to the declared
 * [lower, upper] first) and one group's count by 1. Every party adds
 * N_Z(0, sigma^2) to each value coordinate and N_Z(0, sigma_c^2) to each
 * count coordinate of its encoded vector before sharing it
 * (ward_dp_ddg_share_var). Against t colluding parties, who know their own
 * shares, the n - t others' noise must suffice; its zCDP for a vector
 * whose L1 change is at most D is KLS Proposition 14, ward_dp_ddg_rho
 * (crypto/dp_account.h). A mean spends half its allowance on the sums and
 * half on the counts (rho adds).
 *
 * Where one person may own up to K rows of a party's table (the policy's
 * rows-per-person, DECISIONS.md "Privacy unit"), the unit is the person:
 * adding or removing one moves the vector by at most K D in L1 (and in
 * L2), and K for the counts, so the noise is calibrated to K D and K. The
 * spec carries K; a party whose own table declares more refuses it.
 *
 * The proposer makes the plan (ward_dp_plan_make) and puts the noise
 * parameters in the session spec; every party, the proposer included,
 * recomputes the cost from them (ward_dp_plan_check), so the parties agree
 * on the noise whatever their floating point, and a party never trusts the
 * proposer's arithmetic for its own budget.
 *
 * No secrets here except the noise vector of ward_dp_plan_noise_var.
 */
#ifndef WARD_DP_RELEASE_H
#define WARD_DP_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

typedef enum {
    WARD_DP_REL_SUM = 1,
    WARD_DP_REL_COUNT = 2,
    WARD_DP_REL_MEAN = 3,
    WARD_DP_REL_HISTOGRAM = 4
} ward_dp_rel_op;

/* The wrap check allows this many standard deviations of the total noise:
 * the sum of n shares is subgaussian with parameter sqrt(n) sigma, so it
 * exceeds 40 sqrt(n) sigma with probability below 2 exp(-800). */
#define WARD_DP_TAIL_SIGMAS 40

/* Rows one person may own, at most (policy.h). */
#define WARD_DP_MAX_ROWS_PER_PERSON 1000000u

/* Bounds must lie within +-2^53 (so that D is exact in a double). */
#define WARD_DP_MAX_BOUND ((int64_t)1 << 53)

typedef struct {
    /* the spec */
    ward_dp_rel_op op;
    size_t groups;                       /* >= 1 */
    uint32_t parties;                    /* n >= 1 */
    uint32_t colluding;                  /* t < n */
    int64_t lower, upper;                /* sum, mean: lower <= 0 <= upper, lower < upper */
    uint64_t sigma2_num, sigma2_den;     /* value coordinates (sum, mean); 0, 0 otherwise */
    uint64_t count_sigma2_num, count_sigma2_den; /* count coordinates; 0, 0 for sum */
    double epsilon, delta;               /* what the proposer states */
    uint32_t rows_per_person;            /* K: the privacy unit's rows (0 is read as 1) */
    /* derived by ward_dp_plan_check */
    double sensitivity;                  /* D of the sums (1 for counts), per row */
    double rho;                          /* zCDP of one party's rows: the cost */
    double epsilon_spent;                /* rho as (epsilon, delta), <= epsilon */
    double value_sd, count_sd;           /* sqrt(n) sigma: bounds on the total noise's sd */
    uint64_t value_tail, count_tail;     /* ceil(40 sqrt(n) sigma), 0 when unused */
} ward_dp_plan;

/* The vector length of a release: groups, or 2 * groups for a mean. */
size_t ward_dp_plan_len(const ward_dp_plan *p);

/* The proposer's plan: fills *p and chooses the smallest noise (per-party
 * sigma^2 at a resolution of 10^-6) whose cost is within
 * ward_dp_cdp_rho(epsilon, delta). lower and upper are ignored for count
 * and histogram. Returns 0; WARD_EINVAL for a bad argument (epsilon not
 * finite and > 0, delta outside (0, 1), t >= n, bounds that do not contain
 * 0 or are empty or beyond WARD_DP_MAX_BOUND); WARD_EOVERFLOW when the
 * noise would exceed the sampler's range (epsilon far too small for the
 * bounds). The plan is then checked as by ward_dp_plan_check. */
int ward_dp_plan_make(ward_dp_plan *p, ward_dp_rel_op op, size_t groups, uint32_t parties,
                      uint32_t colluding, int64_t lower, int64_t upper, double epsilon,
                      double delta);

/* The same for a privacy unit of up to rows_per_person rows (1 ..
 * WARD_DP_MAX_ROWS_PER_PERSON; ward_dp_plan_make is this with 1). */
int ward_dp_plan_make_persons(ward_dp_plan *p, ward_dp_rel_op op, size_t groups, uint32_t parties,
                              uint32_t colluding, int64_t lower, int64_t upper, double epsilon,
                              double delta, uint32_t rows_per_person);

/* A party's check of a plan taken from a spec (the spec fields of *p set,
 * the derived ones are overwritten): every parameter in range, the noise
 * parameters present exactly where the operation uses them, and the cost
 * (rho, from the noise) within ward_dp_cdp_rho(epsilon, delta). Fills the
 * derived fields. Returns 0, or WARD_EINVAL with a one-line reason in why. */
int ward_dp_plan_check(ward_dp_plan *p, char *why, size_t why_cap);

/* One party's noise: out[0..len) with len = ward_dp_plan_len(p), each
 * coordinate N_Z(0, sigma^2) of its kind. Variable-time (see
 * crypto/dp_sample.h): call it before the local query runs and never send
 * at a time that depends on it. The output is a secret; it is wiped on
 * error. */
int ward_dp_plan_noise_var(const ward_dp_plan *p, ward_rng *rng, int64_t *out, size_t len);

#endif
