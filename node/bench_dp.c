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
 * Each rate is the best of several timed batches.
 *
 *   release_ms     one party's release of a 24-group histogram among 7
 *                  parties at the medium class's budget, as the node does it
 *                  between the COMMIT and its first share: its noise share
 *                  and the ledger debit with its audit entry, committed
 *                  (fsync: the database's synchronous = FULL) in a database
 *                  in $TMPDIR (or /tmp); the mean, beside the seed paper's
 *                  8.7 ms (Table 3, "DP"); release_p50_ms, release_p95_ms;
 *                  the parts release_noise_ms and release_commit_ms; and
 *                  release_plan_ms, the noise calibration the proposer runs
 *                  when it builds the spec (before anything is committed),
 *                  fsync_ms, one fdatasync of a 4 KiB write in the same
 *                  directory (what a durable commit cannot beat).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "dp_release.h"
#include "dp_sample.h"
#include "error.h"
#include "ledger.h"
#include "rng.h"
#include "store.h"

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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The mean time of fdatasync after a 4 KiB write to a fresh file in dir. */
static double fsync_ms(const char *dir, size_t n) {
    char path[600];
    snprintf(path, sizeof path, "%s/fsync", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    char block[4096];
    memset(block, 0x5a, sizeof block);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (pwrite(fd, block, sizeof block, (off_t)(i * sizeof block)) != (ssize_t)sizeof block) break;
        double t0 = ward_bench_now();
        if (fdatasync(fd) != 0) break;
        total += ward_bench_now() - t0;
    }
    close(fd);
    unlink(path);
    return total * 1e3 / (double)n;
}

static int measure_release(ward_bench_report *r) {
    size_t n = r->quick ? 40 : 200;
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ward-bench-dp-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) return WARD_EIO;
    char path[600];
    snprintf(path, sizeof path, "%s/node.db", dir);
    ward_store st;
    memset(&st, 0, sizeof st);
    int rc = ward_store_open(&st, path);
    ward_ledger l;
    if (rc == WARD_OK) rc = ward_ledger_open(&l, &st);
    ward_rng sys;
    int have_rng = rc == WARD_OK && ward_rng_init_system(&sys) == WARD_OK;
    if (rc == WARD_OK && !have_rng) rc = WARD_EIO;
    double *t = calloc(n, sizeof *t);
    double plan_s = 0, noise_s = 0, commit_s = 0;
    int64_t noise[24];
    if (!t && rc == WARD_OK) rc = WARD_ENOMEM;
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        double t0 = ward_bench_now();
        ward_dp_plan p;
        rc = ward_dp_plan_make(&p, WARD_DP_REL_HISTOGRAM, 24, 7, 1, 0, 0, 1.05, 5e-6);
        double t1 = ward_bench_now();
        if (rc == WARD_OK) rc = ward_dp_plan_noise_var(&p, &sys, noise, 24);
        ward_bench_sink(noise, sizeof noise);
        double t2 = ward_bench_now();
        char sess[32];
        snprintf(sess, sizeof sess, "%016zx", i + 1);
        ward_ledger_spend sp = {sess, "trips", WARD_DP_CLASS_MEDIUM, p.rho, p.epsilon_spent, p.delta};
        /* a limit no bench run reaches: the release's work, not a refusal */
        if (rc == WARD_OK) rc = ward_ledger_debit(&l, NULL, &sp, 1e9, (int64_t)i);
        double t3 = ward_bench_now();
        t[i] = (t3 - t1) * 1e3;
        plan_s += t1 - t0;
        noise_s += t2 - t1;
        commit_s += t3 - t2;
    }
    if (rc == WARD_OK) {
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += t[i];
        qsort(t, n, sizeof *t, cmp_double);
        ward_bench_add(r, "release_ms", sum / (double)n, "ms",
                       "the seed paper's DP release, Table 3 (avg)", 8.7);
        ward_bench_add(r, "fsync_ms", fsync_ms(dir, n), "ms", NULL, 0);
        ward_bench_add(r, "release_p50_ms", t[n / 2], "ms", NULL, 0);
        ward_bench_add(r, "release_p95_ms", t[n * 95 / 100], "ms", NULL, 0);
        ward_bench_add(r, "release_plan_ms", plan_s * 1e3 / (double)n, "ms", NULL, 0);
        ward_bench_add(r, "release_noise_ms", noise_s * 1e3 / (double)n, "ms", NULL, 0);
        ward_bench_add(r, "release_commit_ms", commit_s * 1e3 / (double)n, "ms", NULL, 0);
    }
    free(t);
    if (have_rng) ward_rng_clear(&sys);
    ward_store_close(&st);
    unlink(path);
    snprintf(path, sizeof path, "%s/node.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/node.db-shm", dir);
    unlink(path);
    rmdir(dir);
    return rc;
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
    if (rc == WARD_OK) rc = measure_release(r);
    return rc;
}
