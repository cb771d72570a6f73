/* `ward bench field`: F_(2^61-1) arithmetic, sharing and reconstruction.
 *
 * Figures:
 *   fp_muladd_per_s      out[i] += s * b[i] in F_p over vectors that stay
 *                        in cache, anchored by the plain 64-bit loop
 *                        (mod 2^64) measured the same way in the same run;
 *   fp_dot_per_s         products per second of the lazily reduced dot
 *                        product, same anchor;
 *   share_*_10k_n10_ms   one sharing of a 10,000-element vector among 10
 *                        parties (Shamir with threshold t = 6 = n/2 + 1),
 *                        anchored by drawing the same randomness alone;
 *   reconstruct_*_10k_n10_ms   the reverse (Shamir from 6 shares, Lagrange
 *                        coefficients included), anchored by a plain
 *                        64-bit sum of the same shares.
 * Each figure is the best of several timed batches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "error.h"
#include "field61.h"
#include "rng.h"
#include "share.h"

#define VEC_LEN 2048 /* two vectors of 16 KiB: both stay in L1/L2 */
#define BATCHES 3

static void plain_muladd(uint64_t *out, uint64_t s, const uint64_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] += s * b[i];
}

static uint64_t plain_dot(const uint64_t *a, const uint64_t *b, size_t n) {
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) r += a[i] * b[i];
    return r;
}

/* Best time of BATCHES runs of `reps` calls to op(ctx, rep). */
typedef void (*bench_op)(void *ctx, size_t rep);

static double best_time(bench_op op, void *ctx, size_t reps) {
    double best = 1e300;
    for (int b = 0; b < BATCHES; b++) {
        double t0 = ward_bench_now();
        for (size_t i = 0; i < reps; i++) op(ctx, i);
        double dt = ward_bench_now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

typedef struct {
    ward_f61 *out, *a, *b;
    uint64_t sink;
} arith_ctx;

static void op_f61_muladd(void *c, size_t rep) {
    arith_ctx *x = c;
    ward_f61_vec_muladd(x->out, x->a[rep % VEC_LEN], x->b, VEC_LEN);
    ward_bench_sink(x->out, VEC_LEN * sizeof *x->out);
}

static void op_plain_muladd(void *c, size_t rep) {
    arith_ctx *x = c;
    plain_muladd(x->out, x->a[rep % VEC_LEN], x->b, VEC_LEN);
    ward_bench_sink(x->out, VEC_LEN * sizeof *x->out);
}

static void op_f61_dot(void *c, size_t rep) {
    arith_ctx *x = c;
    (void)rep;
    ward_bench_sink(x->a, 0); /* the inputs may have changed: recompute */
    x->sink += ward_f61_vec_dot(x->a, x->b, VEC_LEN);
}

static void op_plain_dot(void *c, size_t rep) {
    arith_ctx *x = c;
    (void)rep;
    ward_bench_sink(x->a, 0);
    x->sink += plain_dot(x->a, x->b, VEC_LEN);
}

typedef struct {
    ward_rng *rng;
    ward_f61 *secret, *rec, *rnd;
    ward_f61 **shares;
    const ward_f61 *sub[10];
    uint64_t xs[10];
    size_t n, t, m;
    int rc;
} share_ctx;

static void op_additive_share(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    x->rc |= ward_additive_f61_share(x->rng, x->shares, x->n, x->secret, x->m);
    ward_bench_sink(x->shares[x->n - 1], x->m * sizeof(ward_f61));
}

static void op_shamir_share(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    x->rc |= ward_shamir_f61_share(x->rng, x->shares, x->n, x->t, x->secret, x->m);
    ward_bench_sink(x->shares[x->n - 1], x->m * sizeof(ward_f61));
}

static void op_random_additive(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    for (size_t i = 0; i + 1 < x->n; i++) ward_f61_vec_random(x->rng, x->rnd, x->m);
    ward_bench_sink(x->rnd, x->m * sizeof(ward_f61));
}

static void op_random_shamir(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    for (size_t k = 1; k < x->t; k++) ward_f61_vec_random(x->rng, x->rnd, x->m);
    ward_bench_sink(x->rnd, x->m * sizeof(ward_f61));
}

static void op_additive_rec(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    x->rc |= ward_additive_f61_reconstruct(x->rec, x->m, (const ward_f61 *const *)x->shares, x->n);
    ward_bench_sink(x->rec, x->m * sizeof(ward_f61));
}

static void op_shamir_rec(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    x->rc |= ward_shamir_f61_reconstruct(x->rec, x->m, x->sub, x->xs, x->t, x->t);
    ward_bench_sink(x->rec, x->m * sizeof(ward_f61));
}

/* Plain 64-bit sum of k share vectors: the memory-bound floor. */
static void plain_sum(share_ctx *x, const ward_f61 *const *v, size_t k) {
    memcpy(x->rec, v[0], x->m * sizeof(ward_f61));
    for (size_t i = 1; i < k; i++)
        for (size_t j = 0; j < x->m; j++) x->rec[j] += v[i][j];
    ward_bench_sink(x->rec, x->m * sizeof(ward_f61));
}

static void op_plain_sum_all(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    plain_sum(x, (const ward_f61 *const *)x->shares, x->n);
}

static void op_plain_sum_sub(void *c, size_t rep) {
    share_ctx *x = c;
    (void)rep;
    plain_sum(x, x->sub, x->t);
}

static int bench_arith(ward_bench_report *r, ward_rng *rng) {
    arith_ctx x = {0};
    x.out = malloc(VEC_LEN * sizeof *x.out);
    x.a = malloc(VEC_LEN * sizeof *x.a);
    x.b = malloc(VEC_LEN * sizeof *x.b);
    if (!x.out || !x.a || !x.b) {
        free(x.out);
        free(x.a);
        free(x.b);
        return WARD_ENOMEM;
    }
    ward_f61_vec_random(rng, x.out, VEC_LEN);
    ward_f61_vec_random(rng, x.a, VEC_LEN);
    ward_f61_vec_random(rng, x.b, VEC_LEN);
    size_t reps = r->quick ? 10000 : 100000; /* x 2048 elements */
    double ops = (double)reps * VEC_LEN;

    double t_f = best_time(op_f61_muladd, &x, reps);
    double t_p = best_time(op_plain_muladd, &x, reps);
    ward_bench_add(r, "fp_muladd_per_s", ops / t_f, "ops/s",
                   "plain 64-bit multiply-add (mod 2^64), same run", ops / t_p);

    t_f = best_time(op_f61_dot, &x, reps);
    t_p = best_time(op_plain_dot, &x, reps);
    ward_bench_add(r, "fp_dot_per_s", ops / t_f, "ops/s",
                   "plain 64-bit dot product (mod 2^64), same run", ops / t_p);
    ward_bench_sink(&x.sink, sizeof x.sink);
    free(x.out);
    free(x.a);
    free(x.b);
    return WARD_OK;
}

static int bench_share(ward_bench_report *r, ward_rng *rng) {
    enum { N = 10, T = N / 2 + 1, M = 10000 };
    share_ctx x = {0};
    x.rng = rng;
    x.n = N;
    x.t = T;
    x.m = M;
    ward_f61 *buf = malloc((size_t)N * M * sizeof *buf);
    x.secret = malloc(M * sizeof *x.secret);
    x.rec = malloc(M * sizeof *x.rec);
    x.rnd = malloc(M * sizeof *x.rnd);
    x.shares = malloc(N * sizeof *x.shares);
    int rc = WARD_ENOMEM;
    if (!buf || !x.secret || !x.rec || !x.rnd || !x.shares) goto out;
    for (size_t i = 0; i < N; i++) x.shares[i] = buf + i * M;
    ward_f61_vec_random(rng, x.secret, M);
    size_t reps = r->quick ? 10 : 100;

    double t = best_time(op_additive_share, &x, reps) / (double)reps;
    double a = best_time(op_random_additive, &x, reps) / (double)reps;
    ward_bench_add(r, "share_additive_10k_n10_ms", t * 1e3, "ms",
                   "drawing the 9 x 10k random elements alone, same run", a * 1e3);

    t = best_time(op_additive_rec, &x, reps) / (double)reps;
    a = best_time(op_plain_sum_all, &x, reps) / (double)reps;
    ward_bench_add(r, "reconstruct_additive_10k_n10_ms", t * 1e3, "ms",
                   "plain 64-bit sum of the same 10 vectors, same run", a * 1e3);

    t = best_time(op_shamir_share, &x, reps) / (double)reps;
    a = best_time(op_random_shamir, &x, reps) / (double)reps;
    ward_bench_add(r, "share_shamir_10k_n10_t6_ms", t * 1e3, "ms",
                   "drawing the 5 x 10k coefficients alone, same run", a * 1e3);

    /* shares of the parties at x = 10, 8, 6, 4, 2, 1 */
    for (size_t i = 0; i < T; i++) {
        size_t party = i + 1 < T ? N - 2 * i : 1;
        x.sub[i] = x.shares[party - 1];
        x.xs[i] = party;
    }
    t = best_time(op_shamir_rec, &x, reps) / (double)reps;
    a = best_time(op_plain_sum_sub, &x, reps) / (double)reps;
    ward_bench_add(r, "reconstruct_shamir_10k_n10_t6_ms", t * 1e3, "ms",
                   "plain 64-bit sum of the same 6 vectors, same run", a * 1e3);
    rc = x.rc;
out:
    free(buf);
    free(x.secret);
    free(x.rec);
    free(x.rnd);
    free(x.shares);
    return rc;
}

int ward_bench_field(ward_bench_report *r) {
    WARD_ARG_CHECK(r != NULL);
    ward_rng rng;
    int rc = ward_rng_init_system(&rng);
    if (rc != WARD_OK) return rc;
    rc = bench_arith(r, &rng);
    if (rc == WARD_OK) rc = bench_share(r, &rng);
    ward_rng_clear(&rng);
    return rc;
}
