/* Federated averaging rounds as pure functions (docs/learning.md,
 * "FedAvg and FedProx", "DP-FedAvg").
 *
 * A round is: every party computes its local contribution (a model update,
 * or for DP training the sum of its clipped per-example gradients), encodes
 * it as integers at a fixed-point scale, adds its share of the noise (DP),
 * and the parties compute the sum of the integer vectors by secret sharing;
 * the sum is decoded and divided by a public or DP count. This module does
 * every step but the secret sharing: ward_fedavg_sum() computes exactly
 * what the secret-shared sum in F_p reconstructs (it sums in the field the
 * plan picked and takes the centered lift), so the node protocol (built on
 * Shamir shares, docs/learning.md "Protocol (to be built)") calls the same
 * encode and decode functions around its shares, and the in-process
 * evaluation (`ward eval learning`) calls ward_fedavg_sum() in their place.
 *
 * The wrap check (DECISIONS.md, "Numbers") is made from declared numbers
 * only, in ward_fedavg_plan_make: every coordinate of a party's encoded
 * contribution is at most `bound` in absolute value (the encoders enforce
 * it: an update is clipped to the declared L2 bound before it is encoded),
 * the noise of all parties together at most `noise_tail` (40 standard
 * deviations, as for releases, node/dp_release.h), and
 * parties * bound + noise_tail < (p - 1) / 2 in the field picked (F_(2^61-1),
 * else F_(2^127-1)); otherwise the plan fails with WARD_EOVERFLOW, never a
 * silent wrap.
 *
 * Averaging weights are public numbers (or DP counts), never exact row
 * counts: FedAvg's weight of party i is w_i in [0, 1] with the weights
 * summing to 1, taken from public or DP counts by the caller.
 *
 * Secrets: contributions and noise are a party's secrets; the functions
 * that produce them wipe their temporaries.
 */
#ifndef WARD_FEDAVG_H
#define WARD_FEDAVG_H

#include <stddef.h>
#include <stdint.h>

#include "fixedpoint.h"
#include "learn.h"
#include "rng.h"

/* Most parties in one round (the simulator's and the roster's scale). */
#define WARD_FEDAVG_MAX_PARTIES 1024
/* Largest parameter vector. */
#define WARD_FEDAVG_MAX_PARAMS ((size_t)1 << 24)

typedef struct {
    size_t nparams;
    uint32_t parties;         /* n: contributions summed per round */
    double scale;             /* fixed point: v is encoded as round(v * scale) */
    uint64_t bound;           /* declared max |coordinate| of one encoded contribution */
    uint64_t sigma2_num;      /* per-party noise N_Z(0, num/den); 0/0: none */
    uint64_t sigma2_den;
    uint64_t noise_tail;      /* ceil(40 sqrt(n) sigma): bound on the total noise */
    ward_field_id field;      /* where the sum is computed */
} ward_fedavg_plan;

/* The declared bound of a FedAvg update clipped to L2 norm `clip` and
 * multiplied by a weight in [0, 1]: ceil(clip * scale). */
int ward_fedavg_bound_update(uint64_t *bound, double clip, double scale);

/* The declared bound of a sum of at most rows_max per-example gradients,
 * each clipped to L2 norm `clip`: rows_max * ceil(clip * scale). */
int ward_fedavg_bound_examples(uint64_t *bound, double clip, double scale, uint64_t rows_max);

/* Fills *p after the wrap check. scale is a power of two in [1, 2^40];
 * sigma2 (per-party discrete Gaussian, num/den) is 0/0 for no noise.
 * WARD_EOVERFLOW when no field can hold the sum; WARD_EINVAL for misuse. */
int ward_fedavg_plan_make(ward_fedavg_plan *p, size_t nparams, uint32_t parties, double scale,
                          uint64_t bound, uint64_t sigma2_num, uint64_t sigma2_den);

/* ---- a party's side ---- */

/* FedAvg/FedProx: out[j] = round(weight * c * update[j] * scale) with
 * c = min(1, clip / ||update||_2) (the update clipped to the plan's L2
 * bound), rounded half to even. weight in [0, 1]; clip with
 * ceil(clip * scale) <= p->bound. */
int ward_fedavg_encode_update(const ward_fedavg_plan *p, int64_t *out, const double *update,
                              double weight, double clip);

/* DP: adds one example's gradient, clipped to L2 norm `clip` and rounded
 * at the plan's scale, to acc[0..nparams). The rounded vector has L2 norm
 * at most clip * scale + sqrt(nparams)/2 (ward_fedavg_dp_sensitivity).
 * WARD_EOVERFLOW if a coordinate of acc would exceed p->bound (more rows
 * than declared); acc is then unchanged. */
int ward_fedavg_add_example(const ward_fedavg_plan *p, int64_t *acc, const double *grad,
                            double clip);

/* Adds this party's noise share, N_Z(0, sigma^2) per coordinate
 * (ward_dp_ddg_share_var), to acc. Variable-time (crypto/dp_sample.h): a
 * node samples before it reads its data and sends at the protocol's pace. */
int ward_fedavg_add_noise_var(const ward_fedavg_plan *p, int64_t *acc, ward_rng *rng);

/* A FedAvg/FedProx party's local round: starting from the global model g,
 * runs ward_learn_sgd_train on its rows (with g as the FedProx anchor when
 * cfg->prox_mu > 0) and writes the update (local - g) to update. */
int ward_fedavg_local_update(const ward_learn_model *m, double *update, const double *g,
                             const ward_learn_data *data, const size_t *idx, size_t nidx,
                             const ward_learn_sgd *cfg, ward_rng *rng);

/* A DP party's local contribution: the sum over rows idx[0..nidx) of the
 * per-example gradients at w, each clipped to `clip` and encoded
 * (ward_fedavg_add_example), written to acc (which is zeroed first). No
 * noise: add it with ward_fedavg_add_noise_var. */
int ward_fedavg_dp_contribution(const ward_fedavg_plan *p, int64_t *acc,
                                const ward_learn_model *m, const double *w,
                                const ward_learn_data *data, const size_t *idx, size_t nidx,
                                double clip);

/* ---- the sum and the decoding ---- */

/* sum = the sum of the k contributions (1 <= k <= p->parties; fewer than
 * n when parties dropped out before sharing) computed in the plan's field
 * and centered-lifted: exactly what the secret-shared sum reconstructs.
 * Each contribution must be within bound + noise_tail per coordinate (the
 * check a party makes before its shares leave): WARD_EOVERFLOW otherwise. */
int ward_fedavg_sum(const ward_fedavg_plan *p, int64_t *sum, const int64_t *const *contrib,
                    uint32_t k);

/* out[j] = sum[j] / (scale * divisor), divisor > 0 (1 for weighted
 * FedAvg; the public or DP row count for a DP gradient sum). */
int ward_fedavg_decode(const ward_fedavg_plan *p, double *out, const int64_t *sum,
                       double divisor);

/* One FedAvg/FedProx aggregation in full: encodes the k updates with their
 * weights (in [0, 1]), sums them as the secret-shared sum would, and
 * decodes the sum divided by `divisor`. Two ways to weight:
 *  - public weights (public counts, or equal weights): pass divisor = the
 *    sum of the k weights, so that dropouts renormalise;
 *  - private weights n_i / N, with N the released (exact or DP) total count
 *    of the round's standardisation statistics: each party's weight stays
 *    inside its secret-shared contribution and only the weighted sum is
 *    revealed; pass divisor = 1 (docs/learning.md: dropouts then add the
 *    weights as one more coordinate).
 * No noise. */
int ward_fedavg_round(const ward_fedavg_plan *p, double *avg, const double *const *updates,
                      const double *weights, uint32_t k, double clip, double divisor);

/* ---- DP accounting of a gradient-sum round ---- */

/* The L2 sensitivity, in integer units, of one row's encoded gradient:
 * clip * scale + sqrt(nparams) / 2 (rounding adds at most 1/2 per
 * coordinate), rounded up. */
double ward_fedavg_dp_sensitivity(double clip, double scale, size_t nparams);

/* The zCDP of one round whose sum carries the noise of `honest` parties,
 * each N_Z(0, sigma2_num/sigma2_den) per coordinate, against a change of
 * one row (L2 sensitivity D, d = nparams coordinates): KLS Proposition 14,
 * rho = (D / (sqrt(h) sigma) + tau sqrt(d))^2 / 2, rounded up. */
int ward_fedavg_dp_rho(double *rho, uint64_t sigma2_num, uint64_t sigma2_den,
                       double sensitivity, size_t nparams, uint32_t honest);

/* ward_dp_ddg_sigma2_for_rho (crypto/dp_account.h), and when it reports
 * WARD_EOVERFLOW for a sigma^2 that is in fact in range (its doubling
 * search can overshoot its numerator limit for sigma^2 between about 9e12
 * and 1.8e13 at denominator 10^6), the same search at sensitivity D/k with
 * the numerator multiplied by k^2: the same sigma/D, and tau falls as
 * sigma grows, so the result meets rho too. The result is always checked
 * with ward_dp_ddg_rho. */
int ward_fedavg_ddg_sigma2(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho,
                           double sensitivity, uint32_t honest);

/* The smallest per-party sigma^2 (the resolution of ward_dp_ddg_sigma2_for_rho)
 * whose ward_fedavg_dp_rho is <= rho_round. */
int ward_fedavg_dp_calibrate(uint64_t *sigma2_num, uint64_t *sigma2_den, double rho_round,
                             double sensitivity, size_t nparams, uint32_t honest);

#endif
