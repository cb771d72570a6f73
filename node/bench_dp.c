/* `ward bench dp`: the exact DP samplers.
 *
 * Figures (the production generator, libsodium's CSPRNG):
 *   discrete_gaussian_samples_per_s   N_Z(0, sigma^2) with sigma = 3.5686, the
 *                                     medium class's sigma (sigma^2 =
 *                                     12.73490596), in vectors of 1024;
 *   discrete_laplace_samples_per_s    discrete Laplace of scale 20/21 (the
 *                                     medium class's Laplace scale 1/1.05);
 *   bernoulli_exp_samples_per_s       Bernoulli(exp(-1/2));
 *       each anchored by the randomness it consumes: ward_rng_u64 words per
 *       second alone, divided by the words per sample, measured in the same
 *       run (a bound the sampler cannot beat);
 *   *_words_per_sample                64-bit words drawn per sample, counted
 *                                     on a seeded generator over the same
 *                                     number of samples.
 * Each rate is the best of several timed batches. The time of a whole DP
 * release (release_ms) needs the ledger and the node integration and is not
 * measured here.
 */
#include <stdint.h>
#include <stdlib.h>

#include "bench.h"
#include "dp_sample.h"
#include "error.h"
#include "rng.h"

#define VEC 1024
#define BATCHES 3
#define BATCHES_FULL 5

#define GAUSS_NUM 1273490596ull /* 3.5686^2 = 12.73490596 */
#define GAUSS_DEN 100000000ull

static const char anchor_rng[] = "ward_rng_u64 words/s / words per sample, same run";

typedef int (*sampler)(ward_rng *rng, int64_t *out, size_t m);

static int s_gauss(ward_rng *rng, int64_t *out, size_t m) {
    return ward_dp_discrete_gaussian_vec_var(rng, out, m, GAUSS_NUM, GAUSS_DEN);
}

static int s_laplace(ward_rng *rng, int64_t *out, size_t m) {
    return ward_dp_discrete_laplace_vec_var(rng, out, m, 20, 21);
}

static int s_bexp(ward_rng *rng, int64_t *out, size_t m) {
    for (size_t i = 0; i < m; i++) {
        int b;
        int rc = ward_dp_bernoulli_exp_var(rng, &b, 1, 2);
        if (rc != WARD_OK) return rc;
        out[i] = b;
    }
    return WARD_OK;
}

/* 64-bit words a seeded generator has handed out (its keystream position;
 * every draw in ward_dp_* is whole words). */
static double words_used(const ward_rng *r) {
    if (r->block == 0) return 0;
    return ((double)r->block * 64 - (64 - (double)r->buf_pos)) / 8;
}

static int measure(ward_bench_report *r, const char *name, const char *words_name,
                   sampler fn, int64_t *buf, size_t n, int batches, double words_per_s) {
    /* randomness per sample, on a seeded generator */
    ward_rng seeded;
    int rc = ward_rng_init_u64(&seeded, 0x62656e6368ull);
    if (rc != WARD_OK) return rc;
    for (size_t done = 0; done < n && rc == WARD_OK; done += VEC) rc = fn(&seeded, buf, VEC);
    double words = words_used(&seeded) / (double)n;
    ward_rng_clear(&seeded);
    if (rc != WARD_OK) return rc;

    ward_rng sys;
    if ((rc = ward_rng_init_system(&sys)) != WARD_OK) return rc;
    double best = 1e300;
    for (int b = 0; b < batches && rc == WARD_OK; b++) {
        double t0 = ward_bench_now();
        for (size_t done = 0; done < n && rc == WARD_OK; done += VEC) {
            rc = fn(&sys, buf, VEC);
            ward_bench_sink(buf, VEC * sizeof *buf);
        }
        double dt = ward_bench_now() - t0;
        if (dt < best) best = dt;
    }
    ward_rng_clear(&sys);
    if (rc != WARD_OK) return rc;
    ward_bench_add(r, name, (double)n / best, "samples/s", anchor_rng, words_per_s / words);
    ward_bench_add(r, words_name, words, "words", NULL, 0);
    return WARD_OK;
}

int ward_bench_dp(ward_bench_report *r) {
    size_t n = r->quick ? 50 * VEC : 400 * VEC;
    int batches = r->quick ? BATCHES : BATCHES_FULL;
    int64_t *buf = calloc(VEC, sizeof *buf);
    if (!buf) return WARD_ENOMEM;

    /* the generator alone: u64 words per second */
    ward_rng sys;
    int rc = ward_rng_init_system(&sys);
    double words_per_s = 0;
    if (rc == WARD_OK) {
        double best = 1e300;
        uint64_t acc = 0;
        for (int b = 0; b < batches; b++) {
            double t0 = ward_bench_now();
            for (size_t i = 0; i < 4 * n; i++) acc += ward_rng_u64(&sys);
            double dt = ward_bench_now() - t0;
            if (dt < best) best = dt;
        }
        ward_bench_sink(&acc, sizeof acc);
        words_per_s = (double)(4 * n) / best;
        ward_rng_clear(&sys);
    }
    if (rc == WARD_OK)
        rc = measure(r, "discrete_gaussian_samples_per_s", "discrete_gaussian_words_per_sample",
                     s_gauss, buf, n, batches, words_per_s);
    if (rc == WARD_OK)
        rc = measure(r, "discrete_laplace_samples_per_s", "discrete_laplace_words_per_sample",
                     s_laplace, buf, n, batches, words_per_s);
    if (rc == WARD_OK)
        rc = measure(r, "bernoulli_exp_samples_per_s", "bernoulli_exp_words_per_sample", s_bexp,
                     buf, n, batches, words_per_s);
    if (rc == WARD_OK) ward_bench_add(r, "rng_words_per_s", words_per_s, "words/s", NULL, 0);
    free(buf);
    return rc;
}
