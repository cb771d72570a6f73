/* `ward bench gc2pc`: two-party garbled-circuit sessions (`ward gc`)
 * between real node processes on 127.0.0.1, timed by a client of the two
 * nodes' control sockets (one thread sends both requests, one after the
 * other, then waits for both answers; the time until both are in), as the
 * two parties see them.
 *
 * Figures:
 *   aes128_2pc_cold_ms  AES-128 on a connection that has run no session in
 *                       that direction yet: the 128 base OTs included. The
 *                       median over every ordered pair of a 5-node city
 *                       (20 first sessions; --quick: 3 nodes, 6).
 *   aes128_2pc_ms       AES-128, steady state: the median of 50 sessions
 *                       (--quick 20) on one pair after 5 unmeasured ones.
 *   cmp64_2pc_ms        x < y for 64-bit x, y (ward_circuit_build_lt, 64
 *                       AND gates), the same way.
 *   aes128_2pc_p95_ms   the 95th percentile of the steady AES sessions.
 * Every output is checked (FIPS-197 C.1; the comparison in C); a wrong one
 * fails the benchmark.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "circuit.h"
#include "circuit_build.h"
#include "ctl_client.h"
#include "error.h"
#include "rng.h"
#include "sim_city.h"

#define PROBE_PORT 28400u
#define WARMUP 5

static const char anchor_emp_steady[] =
    "EMP 0.3.0 AES-128 2PC after base OTs, quoted (REFERENCE-FIGURES.md); goal <= 0.8 ms";
static const char anchor_emp_cold[] =
    "EMP 0.3.0 AES-128 2PC with base OTs, quoted (REFERENCE-FIGURES.md); goal <= 20 ms";
static const char anchor_emp_cmp[] =
    "EMP 0.3.0 AES-128 2PC after base OTs, quoted: a bound (AES has 100x the ANDs)";

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

/* ---- one session ------------------------------------------------------------- */

typedef struct {
    const char *sock;
    Ward__Control__Request req;
    Ward__Control__GcRequest gc;
    char *input;
    Ward__Control__Response *resp;
    int rc;
    char msg[512];
} party;

static void setup_party(party *a, const char *sock, const char *peer, const char *session,
                        const char *circuit, const char *input, Ward__Control__GcRole role) {
    memset(a, 0, sizeof *a);
    a->sock = sock;
    a->input = (char *)input;
    ward__control__request__init(&a->req);
    ward__control__gc_request__init(&a->gc);
    a->gc.peer = (char *)peer;
    a->gc.session = (char *)session;
    a->gc.circuit_path = (char *)circuit;
    a->gc.inputs = &a->input;
    a->gc.n_inputs = 1;
    a->gc.role = role;
    a->req.command_case = WARD__CONTROL__REQUEST__COMMAND_GC;
    a->req.gc = &a->gc;
}

static int party_ok(const party *a, const char *want, int *base_ots) {
    if (a->rc != WARD_OK || !a->resp) {
        fprintf(stderr, "ward: bench gc2pc: %s\n", a->msg);
        return 0;
    }
    if (a->resp->error || a->resp->result_case != WARD__CONTROL__RESPONSE__RESULT_GC ||
        a->resp->gc->n_outputs != 1) {
        fprintf(stderr, "ward: bench gc2pc: session failed: %s\n",
                a->resp->message ? a->resp->message : "unexpected answer");
        return 0;
    }
    if (strcmp(a->resp->gc->outputs[0], want) != 0) {
        fprintf(stderr, "ward: bench gc2pc: output %s, wanted %s\n", a->resp->gc->outputs[0], want);
        return 0;
    }
    if (base_ots) *base_ots = a->resp->gc->base_ots;
    return 1;
}

/* Node g garbles (input in_g), node e evaluates (in_e); *ms is the time
 * from the first request to the last answer. */
static int session(double *ms, int *base_ots, const ward_sim_city *c, char socks[][PATH_MAX + 64],
                   unsigned g, unsigned e, const char *circuit, const char *in_g, const char *in_e,
                   const char *want) {
    static unsigned counter;
    char name[32];
    snprintf(name, sizeof name, "bench-%u", counter++);
    party pg, pe;
    setup_party(&pg, socks[g], c->names[e], name, circuit, in_g, WARD__CONTROL__GC_ROLE__GC_ROLE_GARBLER);
    setup_party(&pe, socks[e], c->names[g], name, circuit, in_e, WARD__CONTROL__GC_ROLE__GC_ROLE_EVALUATOR);
    /* One thread sends both requests, then collects both answers: a
     * second thread per session would put its start-up (tens of
     * microseconds) into the figure. */
    ward_ctl_pending qg, qe;
    double t0 = ward_bench_now();
    pg.rc = ward_ctl_send(&qg, pg.msg, sizeof pg.msg, pg.sock, &pg.req, 60000);
    pe.rc = ward_ctl_send(&qe, pe.msg, sizeof pe.msg, pe.sock, &pe.req, 60000);
    if (pg.rc == WARD_OK) pg.rc = ward_ctl_wait(&qg, &pg.resp, pg.msg, sizeof pg.msg);
    if (pe.rc == WARD_OK) pe.rc = ward_ctl_wait(&qe, &pe.resp, pe.msg, sizeof pe.msg);
    *ms = (ward_bench_now() - t0) * 1e3;
    int gb = 0, eb = 0;
    int ok = party_ok(&pg, want, &gb) && party_ok(&pe, want, &eb);
    if (pg.resp) ward__control__response__free_unpacked(pg.resp, NULL);
    if (pe.resp) ward__control__response__free_unpacked(pe.resp, NULL);
    if (base_ots) *base_ots = gb && eb;
    return ok ? WARD_OK : WARD_ESTATE;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* ---- circuits ------------------------------------------------------------------ */

static int find_aes(char *out, size_t cap) {
    const char *env = getenv("WARD_VECTORS");
    char p[PATH_MAX + 64];
    if (env) {
        snprintf(p, sizeof p, "%s/bristol/aes_128.txt", env);
        if (realpath(p, out) && strlen(out) < cap) return WARD_OK;
    }
    if (realpath("tests/vectors/bristol/aes_128.txt", out)) return WARD_OK;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(p, sizeof p, "%s/../../tests/vectors/bristol/aes_128.txt", exe);
        if (realpath(p, out)) return WARD_OK;
    }
    fprintf(stderr, "ward: bench gc2pc: cannot find tests/vectors/bristol/aes_128.txt "
                    "(run from the source tree or set WARD_VECTORS)\n");
    return WARD_ENOTFOUND;
}

static int write_cmp64(const char *path) {
    ward_circuit c;
    memset(&c, 0, sizeof c);
    int rc = ward_circuit_build_lt(&c, 64);
    size_t len = 0;
    char *text = NULL;
    if (rc == WARD_OK) rc = ward_circuit_write_var(&c, NULL, 0, &len);
    if (rc == WARD_OK && !(text = malloc(len))) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_circuit_write_var(&c, text, len, &len);
    FILE *f = rc == WARD_OK ? fopen(path, "w") : NULL;
    if (rc == WARD_OK && (!f || fwrite(text, 1, len, f) != len)) rc = WARD_EIO;
    if (f && fclose(f) != 0) rc = WARD_EIO;
    free(text);
    ward_circuit_free(&c);
    return rc;
}

/* ---- the benchmark ----------------------------------------------------------- */

int ward_bench_gc2pc(ward_bench_report *r) {
    static const char key[] = "000102030405060708090a0b0c0d0e0f";
    static const char pt[] = "00112233445566778899aabbccddeeff";
    static const char ct[] = "69c4e0d86a7b0430d8cdb78070b4c55a";
    char aes[PATH_MAX], base[] = "/tmp/ward-bench-gc2pc-XXXXXX", cmp[PATH_MAX + 64], cdir[PATH_MAX + 64];
    int rc = find_aes(aes, sizeof aes);
    if (rc != WARD_OK) return rc;
    if (!mkdtemp(base)) return WARD_EIO;
    snprintf(cmp, sizeof cmp, "%s/cmp64.txt", base);
    snprintf(cdir, sizeof cdir, "%s/city", base);
    rc = write_cmp64(cmp);
    unsigned n = r->quick ? 3 : 5;
    size_t steady = r->quick ? 20 : 50;
    static ward_sim_city c;
    int up = 0;
    if (rc == WARD_OK && ward_sim_city_init(&c, cdir, n, NULL) != 0) rc = WARD_EIO;
    if (rc == WARD_OK) {
        live_city = &c;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        if (ward_sim_city_up(&c, 0, PROBE_PORT, NULL) != 0) rc = WARD_EIO;
        else up = 1;
    }
    static char socks[WARD_SIM_MAX_NODES + 1][PATH_MAX + 64];
    for (unsigned k = 1; rc == WARD_OK && k <= n; k++) {
        char nd[PATH_MAX + 64], msg[512];
        ward_sim_city_node_dir(nd, sizeof nd, &c, k);
        if (ward_ctl_socket_path(socks[k], sizeof socks[k], msg, sizeof msg, nd) != WARD_OK)
            rc = WARD_ETOOBIG;
    }
    /* Cold: the first session of every ordered pair. */
    double *v = calloc(steady + (size_t)n * n, sizeof *v);
    if (!v) rc = WARD_ENOMEM;
    size_t nv = 0;
    for (unsigned g = 1; rc == WARD_OK && g <= n; g++) {
        for (unsigned e = 1; rc == WARD_OK && e <= n; e++) {
            if (g == e) continue;
            int b = 0;
            rc = session(&v[nv], &b, &c, socks, g, e, aes, key, pt, ct);
            if (rc == WARD_OK && !b) {
                fprintf(stderr, "ward: bench gc2pc: the first session of a pair ran no base OTs\n");
                rc = WARD_ESTATE;
            }
            nv++;
        }
    }
    if (rc == WARD_OK) {
        double cold = pct(v, nv, 0.5);
        ward_bench_add(r, "aes128_2pc_cold_ms", cold, "ms", anchor_emp_cold, 20.8);
        ward_bench_add(r, "aes128_2pc_cold_sessions", (double)nv, "sessions", NULL, 0);
    }
    /* Steady state on node1 -> node2. */
    for (size_t i = 0; rc == WARD_OK && i < WARMUP + steady; i++) {
        double ms = 0;
        int b = 1;
        rc = session(&ms, &b, &c, socks, 1, 2, aes, key, pt, ct);
        if (rc == WARD_OK && b) {
            fprintf(stderr, "ward: bench gc2pc: a later session ran base OTs again\n");
            rc = WARD_ESTATE;
        }
        if (i >= WARMUP) v[i - WARMUP] = ms;
    }
    if (rc == WARD_OK) {
        ward_bench_add(r, "aes128_2pc_ms", pct(v, steady, 0.5), "ms", anchor_emp_steady, 0.81);
        ward_bench_add(r, "aes128_2pc_p95_ms", pct(v, steady, 0.95), "ms", NULL, 0);
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 5);
    for (size_t i = 0; rc == WARD_OK && i < WARMUP + steady; i++) {
        uint64_t x = ward_rng_u64(&rng), y = ward_rng_u64(&rng);
        char hx[20], hy[20];
        snprintf(hx, sizeof hx, "%016llx", (unsigned long long)x);
        snprintf(hy, sizeof hy, "%016llx", (unsigned long long)y);
        double ms = 0;
        rc = session(&ms, NULL, &c, socks, 1, 2, cmp, hx, hy, x < y ? "1" : "0");
        if (i >= WARMUP) v[i - WARMUP] = ms;
    }
    ward_rng_clear(&rng);
    if (rc == WARD_OK) ward_bench_add(r, "cmp64_2pc_ms", pct(v, steady, 0.5), "ms", anchor_emp_cmp, 0.81);
    free(v);
    if (up) ward_sim_city_stop(&c);
    live_city = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
