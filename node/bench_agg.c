/* `ward bench agg`: exact secret-shared aggregates between real node
 * processes on 127.0.0.1, timed by a client on the proposer's control
 * socket (connect, request, the whole session, reply), as an analyst sees
 * them.
 *
 * Figures:
 *   histogram24_p50_ms_nN, histogram24_p95_ms_nN, histogram24_mean_ms_nN
 *       an exact 24-bucket histogram (`histogram trips.duration_s
 *       --group-by hour(ts) --parties all --exact`) with N node processes,
 *       N = 3, 5, 10, 20, 40 (--quick: 3, 10, 40); 100 sessions each after
 *       3 unmeasured ones (--quick: 20). The table: 24,000 synthetic trips
 *       (ts, duration_s) split round-robin across the N nodes, the size of
 *       the demo city's trips. Anchored by the paper's SMPC figures.
 *   histogram24_p50_ms_n40_output1, histogram24_p95_ms_n40_output1
 *       the same at 40 nodes with --output node1 (half as many sessions):
 *       the result goes to the proposer only.
 *   sum24_script_seq_ms_n10, sum24_script_ms_n10
 *       100 back-to-back 24-bucket sums (`sum ... --group-by hour(ts)`) from
 *       one session script at 10 nodes: the script's wall time / 100, with
 *       the lines run one after the other, and with `--parallel 16`.
 *       Anchored by MP-SPDZ's 24-element sum, 100 back to back.
 *   rows_per_s_n40
 *       rows aggregated per second across 40 sources: the rows of a larger
 *       synthetic table (50,000 per node; --quick 10,000) over the wall time
 *       of one exact sum session over it (the median of 5 sessions).
 *   idle_rss_mib_n40, idle_rss_mib_n40_max
 *       resident memory (VmRSS) of an idle node with 39 peers after the
 *       sessions above: the median and the largest over the 40 nodes.
 *   city_up_s_n40
 *       start of 40 processes until every node has all 39 peers connected.
 * Every result is checked against the plaintext answer of the generated
 * data; a wrong one fails the benchmark.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"
#include "rng.h"
#include "sim_city.h"

#define HIST_ROWS 24000u
#define WARMUP 3
#define PROBE_PORT 27400u

static const char anchor_smpc_avg[] = "the paper's SMPC, Table 3 (avg)";
static const char anchor_smpc[] = "the paper's SMPC, Table 3";
static const char anchor_rows[] = "the paper, Table 3: records/s over 40 sources";
static const char anchor_mpspdz[] =
    "MP-SPDZ Shamir+TLS, 10 parties, same machine type, REFERENCE-FIGURES.md";
static const char anchor_rss[] = "goal";

/* The city being measured, for the signal handler: its nodes run in their
 * own sessions and would outlive an interrupted benchmark. */
static ward_sim_city *live_city;

static void on_signal(int sig) {
    ward_sim_city *c = live_city;
    for (unsigned k = 1; c && k <= c->n; k++)
        if (c->pids[k] > 0) kill(c->pids[k], SIGTERM);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ---- data ------------------------------------------------------------------ */

typedef struct {
    uint64_t rows;
    int64_t sum;            /* of duration_s */
    uint64_t per_hour[24];
    int64_t sum_per_hour[24];
} truth;

/* Writes DIR/NAME-K.csv for K = 1..n: `rows` synthetic trips (a timestamp in
 * March 2019, a duration of 60..3599 s) dealt round-robin, and their
 * plaintext aggregates into *t. */
static int write_tables(truth *t, const char *dir, const char *name, unsigned n, uint64_t rows,
                        uint64_t seed) {
    memset(t, 0, sizeof *t);
    FILE **f = calloc(n, sizeof *f);
    if (!f) return WARD_ENOMEM;
    int rc = WARD_OK;
    for (unsigned k = 0; k < n && rc == WARD_OK; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s-%u.csv", dir, name, k + 1);
        f[k] = fopen(p, "w");
        if (!f[k] || fprintf(f[k], "ts,duration_s\n") < 0) rc = WARD_EIO;
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, seed);
    for (uint64_t i = 0; i < rows && rc == WARD_OK; i++) {
        unsigned day = 1 + (unsigned)ward_rng_uniform(&rng, 28);
        unsigned hour = (unsigned)ward_rng_uniform(&rng, 24);
        unsigned sec = (unsigned)ward_rng_uniform(&rng, 3600);
        int64_t dur = 60 + (int64_t)ward_rng_uniform(&rng, 3540);
        if (fprintf(f[i % n], "2019-03-%02u %02u:%02u:%02u,%" PRId64 "\n", day, hour, sec / 60,
                    sec % 60, dur) < 0)
            rc = WARD_EIO;
        t->rows++;
        t->sum += dur;
        t->per_hour[hour]++;
        t->sum_per_hour[hour] += dur;
    }
    ward_rng_clear(&rng);
    for (unsigned k = 0; k < n; k++)
        if (f[k] && fclose(f[k]) != 0) rc = WARD_EIO;
    free(f);
    return rc;
}

static int import_all(const ward_sim_city *c, const char *dir, const char *table) {
    for (unsigned k = 1; k <= c->n; k++) {
        char nd[PATH_MAX + 64], sock[PATH_MAX + 64], msg[1024], file[700];
        ward_sim_city_node_dir(nd, sizeof nd, c, k);
        if (ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, nd) != WARD_OK)
            return WARD_ETOOBIG;
        snprintf(file, sizeof file, "%s/%s-%u.csv", dir, table, k);
        uint64_t rows;
        if (ward_ctl_import(&rows, msg, sizeof msg, sock, table, file, "medium", NULL) != 0) {
            fprintf(stderr, "ward: bench agg: import at %s: %s\n", c->names[k], msg);
            return WARD_EIO;
        }
    }
    return WARD_OK;
}

/* ---- sessions ---------------------------------------------------------------- */

/* One aggregate from node1; *ms is the client's wall time. Checks the
 * result against the plaintext answer. */
static int one_session(double *ms, const char *sock, const char *op, const char *target,
                       const char *group_by, const char *output, const truth *t) {
    char *argv[10];
    int argc = 0;
    argv[argc++] = (char *)target;
    if (group_by) {
        argv[argc++] = "--group-by";
        argv[argc++] = (char *)group_by;
    }
    if (output) {
        argv[argc++] = "--output";
        argv[argc++] = (char *)output;
    }
    argv[argc++] = "--parties";
    argv[argc++] = "all";
    argv[argc++] = "--exact";
    char msg[1024];
    ward_ctl_agg_req q;
    int rc = ward_ctl_agg_parse(&q, msg, sizeof msg, op, argc, argv) == 0 ? WARD_OK : WARD_EINVAL;
    ward_ctl_agg res;
    memset(&res, 0, sizeof res);
    if (rc == WARD_OK && ward_ctl_agg_send(&res, msg, sizeof msg, sock, &q) != 0) {
        fprintf(stderr, "ward: bench agg: %s failed: %s\n", op, msg);
        rc = WARD_EIO;
    }
    ward_ctl_agg_req_clear(&q);
    if (rc != WARD_OK) return rc;
    *ms = res.wall_ms;
    const Ward__Control__AggregateResult *x = res.resp->aggregate;
    int ok;
    if (group_by) {
        ok = x->grouped && x->n_groups == 24;
        for (size_t i = 0; ok && i < x->n_groups; i++) {
            int h = atoi(x->groups[i]->key);
            ok = h >= 0 && h < 24 &&
                 x->groups[i]->value == (strcmp(op, "sum") == 0 ? (double)t->sum_per_hour[h]
                                                                : (double)t->per_hour[h]);
        }
    } else {
        ok = x->value && x->value->value == (double)t->sum;
    }
    ward_ctl_agg_clear(&res);
    if (!ok) {
        fprintf(stderr, "ward: bench agg: %s %s: the result differs from the plaintext answer\n",
                op, target);
        return WARD_ESTATE;
    }
    return WARD_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double p) {
    size_t r = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (r < 1) r = 1;
    if (r > n) r = n;
    return v[r - 1];
}

static double rss_mib(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    double v = -1;
    if (!f) return v;
    while (fgets(line, sizeof line, f)) {
        unsigned long kb;
        if (sscanf(line, "VmRSS: %lu kB", &kb) == 1) {
            v = (double)kb / 1024.0;
            break;
        }
    }
    fclose(f);
    return v;
}

/* ---- one city size ---------------------------------------------------------------- */

static int run_size(ward_bench_report *r, unsigned n, int quick) {
    char tmpl[] = "/tmp/ward-bench-agg-XXXXXX";
    if (!mkdtemp(tmpl)) return WARD_EIO;
    char cdir[64], ddir[64];
    snprintf(cdir, sizeof cdir, "%s/city", tmpl);
    snprintf(ddir, sizeof ddir, "%s/data", tmpl);
    static ward_sim_city c;
    int rc = mkdir(ddir, 0700) == 0 ? WARD_OK : WARD_EIO;
    truth t;
    if (rc == WARD_OK) rc = write_tables(&t, ddir, "trips", n, HIST_ROWS, 1000 + n);
    if (rc == WARD_OK && ward_sim_city_init(&c, cdir, n, NULL) != 0) rc = WARD_EIO;
    if (rc == WARD_OK) {
        live_city = &c;
        if (ward_sim_city_up(&c, 0, PROBE_PORT, NULL) != 0) rc = WARD_EIO;
    }
    int up = rc == WARD_OK;
    if (rc == WARD_OK) rc = import_all(&c, ddir, "trips");
    char nd[PATH_MAX + 64], sock[PATH_MAX + 64], msg[1024];
    if (rc == WARD_OK) {
        ward_sim_city_node_dir(nd, sizeof nd, &c, 1);
        if (ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, nd) != WARD_OK)
            rc = WARD_ETOOBIG;
    }
    size_t sessions = quick ? 20 : 100;
    double *ms = calloc(sessions, sizeof *ms);
    if (!ms && rc == WARD_OK) rc = WARD_ENOMEM;
    for (size_t i = 0; rc == WARD_OK && i < WARMUP + sessions; i++) {
        double x;
        rc = one_session(&x, sock, "histogram", "trips.duration_s", "hour(ts)", NULL, &t);
        if (rc == WARD_OK && i >= WARMUP) ms[i - WARMUP] = x;
    }
    if (rc == WARD_OK) {
        double mean = 0;
        for (size_t i = 0; i < sessions; i++) mean += ms[i];
        mean /= (double)sessions;
        qsort(ms, sessions, sizeof *ms, cmp_double);
        char name[64];
        snprintf(name, sizeof name, "histogram24_p50_ms_n%u", n);
        ward_bench_add(r, name, pct(ms, sessions, 50), "ms", anchor_smpc_avg, 342.8);
        snprintf(name, sizeof name, "histogram24_p95_ms_n%u", n);
        ward_bench_add(r, name, pct(ms, sessions, 95), "ms", anchor_smpc, 621.4);
        snprintf(name, sizeof name, "histogram24_mean_ms_n%u", n);
        ward_bench_add(r, name, mean, "ms", anchor_smpc_avg, 342.8);
    }
    free(ms);

    if (rc == WARD_OK && n == 10) {
        /* 100 back-to-back 24-bucket sums from one session script. */
        char script[96];
        snprintf(script, sizeof script, "%s/sums.ward", ddir);
        FILE *f = fopen(script, "w");
        if (!f) rc = WARD_EIO;
        for (int i = 0; f && i < 100; i++)
            fprintf(f, "sum %d: sum trips.duration_s --group-by hour(ts) --parties all --exact\n",
                    i + 1);
        if (f && fclose(f) != 0) rc = WARD_EIO;
        /* In order, one after the other; then as `ward run --parallel 16`
         * runs it, sixteen lines in flight. */
        static const unsigned par[2] = {1, 16};
        static const char *const fig[2] = {"sum24_script_seq_ms_n10", "sum24_script_ms_n10"};
        for (int k = 0; k < 2 && rc == WARD_OK; k++) {
            ward_run_summary sum;
            if (ward_run_script(&sum, nd, sock, script, par[k]) != 0) {
                fprintf(stderr, "ward: bench agg: the script of 100 sums failed at line %zu: %s\n",
                        sum.first_failed_line, sum.first_failed_msg);
                rc = WARD_EIO;
                break;
            }
            ward_bench_add(r, fig[k], sum.wall_ms / 100.0, "ms", anchor_mpspdz, 2.73);
        }
    }

    if (rc == WARD_OK && n == 40) {
        /* The same histogram with one output party (--output node1): the
         * partial sums then go to node1 alone, n - 1 messages instead of
         * n(n - 1), which shows what the all-to-all reveal costs. */
        size_t k = sessions / 2;
        double *o = calloc(k, sizeof *o);
        if (!o) rc = WARD_ENOMEM;
        for (size_t i = 0; rc == WARD_OK && i < WARMUP + k; i++) {
            double x;
            rc = one_session(&x, sock, "histogram", "trips.duration_s", "hour(ts)", "node1", &t);
            if (rc == WARD_OK && i >= WARMUP) o[i - WARMUP] = x;
        }
        if (rc == WARD_OK) {
            qsort(o, k, sizeof *o, cmp_double);
            ward_bench_add(r, "histogram24_p50_ms_n40_output1", pct(o, k, 50), "ms",
                           anchor_smpc_avg, 342.8);
            ward_bench_add(r, "histogram24_p95_ms_n40_output1", pct(o, k, 95), "ms", anchor_smpc,
                           621.4);
        }
        free(o);
    }

    if (rc == WARD_OK && n == 40) {
        /* Idle memory: after the sessions, with nothing going on. */
        struct timespec ts = {.tv_sec = 1, .tv_nsec = 0};
        nanosleep(&ts, NULL);
        double v[WARD_SIM_MAX_NODES];
        unsigned m = 0;
        for (unsigned k = 1; k <= c.n; k++) {
            double x = rss_mib(c.pids[k]);
            if (x > 0) v[m++] = x;
        }
        if (m == 0) {
            rc = WARD_EIO;
        } else {
            qsort(v, m, sizeof *v, cmp_double);
            ward_bench_add(r, "idle_rss_mib_n40", pct(v, m, 50), "MiB", anchor_rss, 20);
            ward_bench_add(r, "idle_rss_mib_n40_max", v[m - 1], "MiB", anchor_rss, 20);
        }
        ward_bench_add(r, "city_up_s_n40", c.up_s, "s", NULL, 0);

        /* Throughput: a larger table, one exact sum over all of it. */
        uint64_t per_node = quick ? 10000 : 50000;
        truth big;
        if (rc == WARD_OK) rc = write_tables(&big, ddir, "big", n, per_node * n, 77);
        if (rc == WARD_OK) rc = import_all(&c, ddir, "big");
        double w[5];
        for (int i = 0; rc == WARD_OK && i < 1 + 5; i++) {
            double x;
            rc = one_session(&x, sock, "sum", "big.duration_s", NULL, NULL, &big);
            if (rc == WARD_OK && i >= 1) w[i - 1] = x;
        }
        if (rc == WARD_OK) {
            qsort(w, 5, sizeof *w, cmp_double);
            ward_bench_add(r, "rows_per_s_n40", (double)big.rows / (w[2] / 1000.0), "rows/s",
                           anchor_rows, 25000);
            char name[64];
            snprintf(name, sizeof name, "sum_ms_n40_%" PRIu64 "k_rows", big.rows / 1000);
            ward_bench_add(r, name, w[2], "ms", NULL, 0);
        }
    }

    if (up) ward_sim_city_stop(&c);
    live_city = NULL;
    rm_tree(tmpl);
    return rc;
}

int ward_bench_agg(ward_bench_report *r) {
    static const unsigned full[] = {3, 5, 10, 20, 40};
    static const unsigned quick[] = {3, 10, 40};
    const unsigned *sizes = r->quick ? quick : full;
    size_t n_sizes = r->quick ? sizeof quick / sizeof quick[0] : sizeof full / sizeof full[0];
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = WARD_OK;
    for (size_t i = 0; i < n_sizes && rc == WARD_OK; i++) rc = run_size(r, sizes[i], r->quick);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
