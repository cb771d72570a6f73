/* Secret sharing of vectors: additive n-of-n (F_(2^61-1) and F_(2^127-1))
 * and Shamir t-of-n (F_(2^61-1)).
 *
 * A secret is a vector of m field elements. A set of n shares is an array
 * of n pointers, each to a caller-allocated vector of m elements; share i
 * goes to the party with x-coordinate i + 1. Shares are secrets: callers
 * wipe them with sodium_memzero when done.
 *
 * Additive: n shares whose sum is the secret. Any n - 1 of them are
 * uniformly distributed and independent of the secret; all n are needed.
 *
 * Shamir: the shares are the values at x = 1..n of a polynomial of degree
 * t - 1 whose constant term is the secret and whose other coefficients are
 * uniform. Any t shares determine the secret (Lagrange interpolation at 0);
 * any t - 1 are uniform and independent of the secret.
 *
 * Each sharing has a randomised entry point (takes a ward_rng, draws the
 * randomness, wipes its temporaries) and a deterministic one that takes the
 * randomness as input; the first calls the second. The algorithms live in
 * share_impl.h, which the exhaustive test runs over a toy prime.
 *
 * Constant time in the shared values and the randomness. Sizes n, t, m and
 * x-coordinates are public. Errors: WARD_EINVAL for misuse (NULL vectors,
 * n == 0, t == 0, t > n, n > WARD_SHARE_MAX_PARTIES, fewer than t shares,
 * an x-coordinate that is 0, repeated or out of range); WARD_ENOMEM.
 */
#ifndef WARD_SHARE_H
#define WARD_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "field127.h"
#include "field61.h"
#include "rng.h"

/* Upper bound on n (and so on t and on x-coordinates). */
#define WARD_SHARE_MAX_PARTIES 65535

/* ---- additive n-of-n over F_(2^61-1) ---- */

/* Writes n shares of secret[0..m): shares[0..n-1) uniform, shares[n-1]
 * the secret minus their sum. No share vector may overlap secret. */
int ward_additive_f61_share(ward_rng *rng, ward_f61 *const *shares, size_t n,
                            const ward_f61 *secret, size_t m);

/* The deterministic part: last = secret - sum(others[0..n_others)). last
 * may alias secret, not a vector of others. n_others may be 0. */
int ward_additive_f61_complete(ward_f61 *last, const ward_f61 *secret, size_t m,
                               const ward_f61 *const *others, size_t n_others);

/* secret = sum of the n >= 1 shares. secret may alias shares[0] only. */
int ward_additive_f61_reconstruct(ward_f61 *secret, size_t m,
                                  const ward_f61 *const *shares, size_t n);

/* ---- additive n-of-n over F_(2^127-1): same contracts ---- */

int ward_additive_f127_share(ward_rng *rng, ward_f127 *const *shares, size_t n,
                             const ward_f127 *secret, size_t m);
int ward_additive_f127_complete(ward_f127 *last, const ward_f127 *secret, size_t m,
                                const ward_f127 *const *others, size_t n_others);
int ward_additive_f127_reconstruct(ward_f127 *secret, size_t m,
                                   const ward_f127 *const *shares, size_t n);

/* ---- Shamir t-of-n over F_(2^61-1) ---- */

/* Writes n shares (x = 1..n) of secret[0..m) with threshold t, 1 <= t <= n:
 * draws the (t-1) * m coefficients from rng, in blocks, and wipes them.
 * No share vector may overlap secret. */
int ward_shamir_f61_share(ward_rng *rng, ward_f61 *const *shares, size_t n, size_t t,
                          const ward_f61 *secret, size_t m);

/* The deterministic part: shares[i][j] = secret[j] +
 * sum_{k=1}^{t-1} coef[(k-1)*m + j] * (i+1)^k. coef holds (t-1) * m
 * elements (may be NULL when t == 1). */
int ward_shamir_f61_eval(ward_f61 *const *shares, size_t n, size_t t,
                         const ward_f61 *secret, size_t m, const ward_f61 *coef);

/* Lagrange coefficients at 0 for the t distinct x-coordinates xs[0..t),
 * each in [1, WARD_SHARE_MAX_PARTIES]. Compute them once per set of
 * parties, then use ward_shamir_f61_combine() for any number of vectors. */
int ward_shamir_f61_lagrange(ward_f61 *lambda, const uint64_t *xs, size_t t);

/* secret[j] = sum_{i<t} lambda[i] * shares[i][j]. secret may alias a share. */
int ward_shamir_f61_combine(ward_f61 *secret, size_t m, const ward_f61 *const *shares,
                            const ward_f61 *lambda, size_t t);

/* Reconstructs secret[0..m) from k shares, shares[i] held by the party at
 * x-coordinate xs[i], in any order. Needs k >= t and uses the first t.
 * secret may alias a share. */
int ward_shamir_f61_reconstruct(ward_f61 *secret, size_t m, const ward_f61 *const *shares,
                                const uint64_t *xs, size_t k, size_t t);

#endif
