/* Exact samplers for differential privacy.
 *
 * The algorithms of Canonne, Kamath and Steinke, "The Discrete Gaussian for
 * Differential Privacy" (NeurIPS 2020), Algorithms 1-3, with every
 * parameter a rational number and every step integer arithmetic: uniform
 * integers from ward_rng_uniform (or, for bounds wider than 64 bits, by
 * rejection from ward_rng_u64 words), comparisons, and uint64/128-bit or GMP
 * (mpz) arithmetic where numerators and denominators can grow. No floating
 * point is used anywhere in this module, so the output distribution is
 * exactly the stated one (given a uniform random stream); a floating-point
 * sampler leaks through the gaps in its output set (Mironov 2012).
 *
 * Distributions (all symmetric about 0):
 *   Bernoulli(p)          P(1) = p, p = num/den rational;
 *   Bernoulli(exp(-x))    P(1) = exp(-x), x = num/den >= 0;
 *   discrete Laplace      P(z) = (1 - a)/(1 + a) * a^|z|, a = exp(-1/scale),
 *                         scale = num/den > 0;
 *   discrete Gaussian     P(z) proportional to exp(-z^2 / (2 sigma^2)),
 *                         sigma^2 = num/den > 0.
 *
 * Expected randomness, in 64-bit words from the generator (a uniform draw
 * with bound b costs one word, plus a retry with probability
 * (2^64 mod b)/2^64, negligible for the bounds used here; a draw with
 * bound 1 costs nothing). docs/privacy.md derives these:
 *   Bernoulli(p): one word.
 *   Bernoulli(exp(-x)), 0 < x <= 1: at most e^x words (1.65 at x = 1/2).
 *   Bernoulli(exp(-x)), x > 1: fewer than e + 1 = 3.72 words whatever x:
 *       each whole unit of x is a Bernoulli(exp(-1)) costing e - 1 words,
 *       and the first failure ends the loop.
 *   Discrete Laplace, scale t/s (Algorithm 2): rounds of at most 1 + E[e^(U/t)]
 *       + P(D = 1)(e + 1) words, 1/(P(D = 1)(1 + e^(-s/t))/2) rounds, where
 *       P(D = 1) = (1 - e^-1)/(t (1 - e^(-1/t))): 11.6 words at scale 20/21.
 *   Discrete Gaussian (Algorithm 3): rounds of one discrete Laplace of
 *       integer scale t = floor(sigma) + 1 and one Bernoulli(exp(-x));
 *       1.75 rounds for sigma^2 = 1, 1.39 for 4.5, 1.27 for sigma = 3.5686
 *       (13.0 words), 1.28 for 30, about 1.32 for large sigma.
 *
 * Timing. The CKS samplers are NOT constant-time, and cannot be made so
 * without giving up exactness: they are rejection samplers whose loops run
 * a number of times that depends on the random stream and, through it, on
 * the sample. In particular the geometric loop of Algorithm 2 runs about
 * |z| / scale times for output z, so a precise clock on one call reveals
 * roughly the magnitude of the noise it returned. They carry the `_var`
 * suffix for that reason. What keeps this from weakening a release: the
 * samplers are called by a party on its own machine, before anything that
 * depends on the noise leaves it, and the caller must make the time at
 * which it sends anything independent of the sampling time (the node
 * samples a session's noise when the session is committed, before the data
 * are read, and sends its first share at the protocol's pace, not at the
 * sampler's). A co-resident attacker who can time this process is outside
 * the threat model (docs/privacy.md, "Timing").
 *
 * Secrets: samples are secrets. Temporaries (including GMP limbs, which are
 * sized once so that GMP never reallocates them) are wiped before return;
 * on any error an output vector is wiped. Parameters are public.
 *
 * Errors: WARD_EINVAL for misuse (NULL pointers, den == 0, p > 1, a zero
 * or out-of-range scale); WARD_EOVERFLOW if a sample does not fit int64_t,
 * which the parameter limits make happen with probability below
 * exp(-2^22), i.e. never.
 */
#ifndef WARD_DP_SAMPLE_H
#define WARD_DP_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Largest discrete Laplace scale (num/den <= 2^40). */
#define WARD_DP_MAX_LAPLACE_SCALE ((uint64_t)1 << 40)
/* Largest discrete Gaussian sigma^2 (num/den <= 2^62, sigma < 2^31). */
#define WARD_DP_MAX_GAUSS_SIGMA2 ((uint64_t)1 << 62)

/* *out = 1 with probability num/den, else 0. Requires den >= 1 and
 * num <= den. One uniform draw; constant time in the result. */
int ward_dp_bernoulli(ward_rng *rng, int *out, uint64_t num, uint64_t den);

/* *out = 1 with probability exp(-num/den), else 0 (CKS Algorithm 1).
 * Requires den >= 1; any num (x = 0 gives 1 without drawing). */
int ward_dp_bernoulli_exp_var(ward_rng *rng, int *out, uint64_t num, uint64_t den);

/* One discrete Laplace sample of scale num/den (CKS Algorithm 2 with
 * t = num, s = den). Requires num, den >= 1 and
 * num/den <= WARD_DP_MAX_LAPLACE_SCALE. Adding it to an integer query of
 * sensitivity D gives (D * den / num)-DP. */
int ward_dp_discrete_laplace_var(ward_rng *rng, int64_t *out, uint64_t scale_num,
                                 uint64_t scale_den);

/* out[0..m) independent discrete Laplace samples; same contract. m may be
 * 0. On error out[0..m) is zero. */
int ward_dp_discrete_laplace_vec_var(ward_rng *rng, int64_t *out, size_t m,
                                     uint64_t scale_num, uint64_t scale_den);

/* One discrete Gaussian sample with sigma^2 = num/den (CKS Algorithm 3).
 * Requires num, den >= 1 and num/den <= WARD_DP_MAX_GAUSS_SIGMA2. Its
 * variance is at most sigma^2; adding it to an integer query of
 * sensitivity D gives D^2 / (2 sigma^2)-zCDP (CKS 2020). */
int ward_dp_discrete_gaussian_var(ward_rng *rng, int64_t *out, uint64_t sigma2_num,
                                  uint64_t sigma2_den);

/* out[0..m) independent discrete Gaussian samples; same contract. m may be
 * 0. On error out[0..m) is zero. */
int ward_dp_discrete_gaussian_vec_var(ward_rng *rng, int64_t *out, size_t m,
                                      uint64_t sigma2_num, uint64_t sigma2_den);

/* ---- distributed noise ---- */

/* One party's noise share for a vector query of m coordinates under the
 * distributed discrete Gaussian (docs/privacy.md): m independent
 * N_Z(0, sigma^2) samples with sigma^2 = sigma2_num / sigma2_den, the
 * per-party parameter from ward_dp_ddg_calibrate() (crypto/dp_account.h).
 * The party adds out[i] to its own (encoded) value of coordinate i before
 * sharing it; the sum of the n shares is the n-fold convolution of
 * N_Z(0, sigma^2), and the sum of any n - t of them alone already gives the
 * calibrated guarantee. Same contract as ward_dp_discrete_gaussian_vec_var. */
int ward_dp_ddg_share_var(ward_rng *rng, int64_t *out, size_t m, uint64_t sigma2_num,
                          uint64_t sigma2_den);

#endif
