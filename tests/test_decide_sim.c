/* Decisions across many departments (ward max | argmax | threshold,
 * node/session_decide.c) between four real cores in the deterministic
 * simulator: every party shares its local aggregate to two computing
 * nodes, which garble the decision. Checked against the plaintext answer
 * computed here from the same rows: max, argmax (ties go to the lowest
 * name) and threshold (strictly greater) over sums, maxima and counts, with
 * --where, negative values and decimals; the proposer inside and outside
 * the computing pair; the refusals (--compute naming a non-party or the
 * same node twice, a missing column, a party whose policy forbids exact
 * results, a computing node that is down or crashes mid-session) and the
 * completion notice of the other parties. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "check.h"
#include "error.h"
#include "rng.h"
#include "sim.h"
#include "store.h"

#define NODES 4
#define ROWS 30

/* The plaintext, per node: v (integer), d (2 decimals, in hundredths), g. */
typedef struct {
    int64_t v[ROWS], d[ROWS];
    char g[ROWS];
} node_rows;

static node_rows data[NODES];

static void make_data(const char *dir, ward_sim *sim) {
    ward_rng rng;
    uint8_t seed[WARD_RNG_SEEDBYTES] = {7};
    ward_rng_init_seeded(&rng, seed);
    for (int i = 0; i < NODES; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/n%d.csv", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs("v,d,g\n", f);
        for (int r = 0; r < ROWS; r++) {
            node_rows *x = &data[i];
            x->g[r] = r < 3 ? 't' : (char)('a' + ward_rng_uniform(&rng, 3));
            /* Rows of group t sum to 7 at node2..node4 and to 3 at node1:
             * a tie for the largest sum of group t. */
            if (x->g[r] == 't') x->v[r] = i == 0 ? 1 : (r == 0 ? 5 : 1);
            else x->v[r] = (int64_t)ward_rng_uniform(&rng, 2001) - 1000;
            x->d[r] = (int64_t)ward_rng_uniform(&rng, 100001) - 50000;
            fprintf(f, "%lld,%s%lld.%02lld,%c\n", (long long)x->v[r], x->d[r] < 0 ? "-" : "",
                    (long long)(llabs(x->d[r]) / 100), (long long)(llabs(x->d[r]) % 100), x->g[r]);
        }
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, (size_t)i), &rep, "t", path, &opt), WARD_OK);
    }
    ward_rng_clear(&rng);
}

enum { A_SUM, A_MAX, A_COUNT };

/* The local aggregate of node i over rows of group g (0: all rows). */
static int64_t local_agg(int i, int agg, int dec, char g, int *found) {
    int64_t acc = 0;
    *found = 0;
    for (int r = 0; r < ROWS; r++) {
        if (g && data[i].g[r] != g) continue;
        int64_t x = dec ? data[i].d[r] : data[i].v[r];
        if (agg == A_SUM) acc += x;
        else if (agg == A_COUNT) acc++;
        else if (!*found || x > acc) acc = x;
        *found = 1;
    }
    return acc;
}

typedef struct {
    Ward__Control__Request req;
    Ward__Control__DecideRequest dr;
    Ward__Control__Parties parties;
    char *compute[2];
    char where[64];
} decide_req;

static void make_req(decide_req *q, Ward__Control__DecideOp op, Ward__Control__DecideAgg agg,
                     const char *column, char g, const char *a, const char *b, const char *t) {
    memset(q, 0, sizeof *q);
    ward__control__request__init(&q->req);
    ward__control__decide_request__init(&q->dr);
    ward__control__parties__init(&q->parties);
    q->parties.all = 1;
    q->dr.op = op;
    q->dr.agg = agg;
    q->dr.table = (char *)"t";
    q->dr.column = (char *)column;
    if (g) snprintf(q->where, sizeof q->where, "g = '%c'", g);
    q->dr.where = q->where;
    q->dr.parties = &q->parties;
    q->compute[0] = (char *)a;
    q->compute[1] = (char *)b;
    q->dr.compute = q->compute;
    q->dr.n_compute = 2;
    q->dr.threshold = (char *)(t ? t : "");
    q->req.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
    q->req.decide = &q->dr;
}

static Ward__Control__Response *run(ward_sim *sim, size_t node, decide_req *q) {
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, node, &q->req, 120000), WARD_OK);
    if (r && r->error) fprintf(stderr, "  decide failed: %s\n", r->message);
    return r;
}

static int ok(const Ward__Control__Response *r) {
    return r && r->error == 0 && r->result_case == WARD__CONTROL__RESPONSE__RESULT_DECIDE;
}

static int err_has(const Ward__Control__Response *r, const char *text) {
    int good = r && r->error != 0 && r->message && strstr(r->message, text) != NULL;
    if (!good)
        fprintf(stderr, "  wanted an error with '%s', got: %s\n", text,
                r ? (r->error ? r->message : "success") : "(no response)");
    return good;
}

static const char *names[NODES] = {"node1", "node2", "node3", "node4"};

/* Plain answers over all four nodes. */
static int64_t want_max(int agg, int dec, char g, int *any) {
    int64_t best = 0;
    *any = 0;
    for (int i = 0; i < NODES; i++) {
        int f;
        int64_t x = local_agg(i, agg, dec, g, &f);
        if (agg == A_MAX && !f) continue;
        if (!*any || x > best) best = x;
        *any = 1;
    }
    return best;
}

static int want_argmax(int agg, int dec, char g) {
    int best = 0, f;
    int64_t bv = local_agg(0, agg, dec, g, &f);
    for (int i = 1; i < NODES; i++) {
        int64_t x = local_agg(i, agg, dec, g, &f);
        if (x > bv) best = i, bv = x; /* strict: the lowest name keeps a tie */
    }
    return best;
}

static int64_t want_total(int agg, int dec, char g) {
    int64_t s = 0;
    int f;
    for (int i = 0; i < NODES; i++) s += local_agg(i, agg, dec, g, &f);
    return s;
}

static void test_answers(ward_sim *sim) {
    decide_req q;
    Ward__Control__Response *r;
    char buf[64];
    int any;

    /* max of per-node sums; node3 proposes, node1 and node2 compute. */
    for (char g = 0; g <= 'c'; g = g ? (char)(g + 1) : 'a') {
        make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_MAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM,
                 "v", g, "node1", "node2", NULL);
        r = run(sim, 2, &q);
        CHECK(ok(r));
        if (ok(r)) {
            snprintf(buf, sizeof buf, "%lld", (long long)want_max(A_SUM, 0, g, &any));
            CHECK(r->decide->value && strcmp(r->decide->value_text, buf) == 0);
            if (strcmp(r->decide->value_text, buf) != 0)
                fprintf(stderr, "  max sum g=%c: %s, want %s\n", g ? g : '*', r->decide->value_text, buf);
            CHECK(r->decide->n_parties == NODES && r->decide->n_compute == 2);
            CHECK(r->decide->and_gates > 0);
        }
        if (r) ward__control__response__free_unpacked(r, NULL);
    }

    /* argmax of sums (the proposer computes, as the garbler), then of the
     * tied group t: node2, node3 and node4 tie; node2 is named. */
    for (char g = 0; g <= 't'; g = g == 0 ? 'a' : g == 'c' ? 't' : (char)(g + 1)) {
        make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM,
                 "v", g, "node1", "node4", NULL);
        r = run(sim, 0, &q);
        CHECK(ok(r));
        if (ok(r)) {
            const char *want = names[want_argmax(A_SUM, 0, g)];
            CHECK(strcmp(r->decide->name, want) == 0);
            if (strcmp(r->decide->name, want) != 0)
                fprintf(stderr, "  argmax g=%c: %s, want %s\n", g ? g : '*', r->decide->name, want);
            if (g == 't') CHECK(strcmp(r->decide->name, "node2") == 0);
        }
        if (r) ward__control__response__free_unpacked(r, NULL);
    }

    /* argmax of the column's maxima, decimals; the proposer evaluates. */
    make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX,
             "d", 'b', "node3", "node4", NULL);
    r = run(sim, 3, &q);
    CHECK(ok(r) && strcmp(r->decide->name, names[want_argmax(A_MAX, 1, 'b')]) == 0);
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* max of maxima, decimals: the exact decimal at the session's scale. */
    make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_MAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX, "d",
             'a', "node4", "node2", NULL);
    r = run(sim, 0, &q);
    CHECK(ok(r));
    if (ok(r)) {
        int64_t m = want_max(A_MAX, 1, 'a', &any);
        CHECK(r->decide->value && r->decide->value->value == (double)m / 100.0);
        char want[40];
        snprintf(want, sizeof want, "%s%lld", m < 0 ? "-" : "", (long long)(llabs(m) / 100));
        CHECK(strncmp(r->decide->value_text, want, strlen(want)) == 0);
    }
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* max of maxima where no party has a row: no value. */
    make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_MAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX, "v",
             'z', "node1", "node2", NULL);
    r = run(sim, 1, &q);
    CHECK(ok(r) && r->decide->value == NULL);
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* threshold on the total count: strictly greater. */
    int64_t total = want_total(A_COUNT, 0, 'a');
    for (int64_t t = total - 1; t <= total; t++) {
        snprintf(buf, sizeof buf, "%lld", (long long)t);
        make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD,
                 WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT, "", 'a', "node2", "node3", buf);
        r = run(sim, 3, &q);
        CHECK(ok(r) && r->decide->exceeds == (total > t));
        if (r) ward__control__response__free_unpacked(r, NULL);
    }

    /* threshold on the total of a decimal column, T in decimals, each side
     * of the true total by one hundredth. */
    int64_t tot = want_total(A_SUM, 1, 0);
    for (int k = -1; k <= 1; k++) {
        int64_t t = tot + k;
        snprintf(buf, sizeof buf, "%s%lld.%02lld", t < 0 ? "-" : "", (long long)(llabs(t) / 100),
                 (long long)(llabs(t) % 100));
        make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD,
                 WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM, "d", 0, "node4", "node1", buf);
        r = run(sim, 1, &q);
        CHECK(ok(r) && r->decide->exceeds == (tot > t));
        if (ok(r) && r->decide->exceeds != (tot > t))
            fprintf(stderr, "  threshold %s: total %lld\n", buf, (long long)tot);
        if (r) ward__control__response__free_unpacked(r, NULL);
    }
}

static void test_refusals(ward_sim *sim) {
    decide_req q;
    Ward__Control__Response *r;
    Ward__Control__DecideOp MAX = WARD__CONTROL__DECIDE_OP__DECIDE_MAX;
    Ward__Control__DecideAgg SUM = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM;

    make_req(&q, MAX, SUM, "v", 0, "node2", "node2", NULL);
    r = run(sim, 0, &q);
    CHECK(err_has(r, "--compute names node2 twice"));
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* A computing node that is not a party. */
    make_req(&q, MAX, SUM, "v", 0, "node2", "node4", NULL);
    q.parties.all = 0;
    char *some[2] = {(char *)"node1", (char *)"node2"};
    q.parties.names = some;
    q.parties.n_names = 2;
    r = run(sim, 0, &q);
    CHECK(err_has(r, "--compute: node4 is not one of the parties"));
    if (r) ward__control__response__free_unpacked(r, NULL);

    make_req(&q, MAX, SUM, "v", 0, "node2", "node9", NULL);
    r = run(sim, 0, &q);
    CHECK(err_has(r, "'node9' is not in the roster"));
    if (r) ward__control__response__free_unpacked(r, NULL);

    make_req(&q, MAX, SUM, "nosuch", 0, "node2", "node3", NULL);
    r = run(sim, 1, &q);
    CHECK(err_has(r, "has no column 'nosuch'"));
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* A bad --where is refused by the proposer before anything is sent. */
    make_req(&q, MAX, SUM, "v", 0, "node2", "node3", NULL);
    q.dr.where = (char *)"g = ";
    r = run(sim, 1, &q);
    CHECK(r && r->error != 0);
    if (r) ward__control__response__free_unpacked(r, NULL);

    make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD, SUM, "d", 0, "node2", "node3", "1.0000005");
    r = run(sim, 0, &q);
    CHECK(err_has(r, "decimals"));
    if (r) ward__control__response__free_unpacked(r, NULL);
}

/* Down and crashing computing nodes: a clear error in bounded time. */
static void test_failures(ward_sim *sim) {
    decide_req q;
    Ward__Control__Response *r;
    Ward__Control__DecideOp ARGMAX = WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX;
    Ward__Control__DecideAgg SUM = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM;

    /* node4 is down: nothing starts. */
    CHECK_RC(ward_sim_crash(sim, 3), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 3000);
    make_req(&q, ARGMAX, SUM, "v", 0, "node2", "node4", NULL);
    r = run(sim, 0, &q);
    CHECK(err_has(r, "party node4 is not connected; the session was not started"));
    if (r) ward__control__response__free_unpacked(r, NULL);
    CHECK_RC(ward_sim_restart(sim, 3), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);

    /* A computing node crashes at some moment of the session (before the
     * commit, during the shares, during the garbled circuit): the
     * proposer's caller gets an error naming it, well within its timeouts,
     * or the output when the session was already over. */
    static const uint32_t at[] = {2, 5, 8, 11, 15, 25};
    int failed = 0;
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        size_t victim = 1 + k % 2; /* node2 (garbler), node3 (evaluator) */
        make_req(&q, ARGMAX, SUM, "v", 0, "node2", "node3", NULL);
        uint64_t t0 = ward_sim_now(sim);
        CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
        ward_sim_run_until(sim, t0 + at[k]);
        CHECK_RC(ward_sim_crash(sim, victim), WARD_OK);
        r = NULL;
        CHECK_RC(ward_sim_control_wait(sim, &r, 0, 60000), WARD_OK);
        CHECK(r != NULL);
        if (r && r->error) {
            failed++;
            CHECK(r->message && strstr(r->message, names[victim]) != NULL);
            fprintf(stderr, "  (crash of %s at %u ms: %s, after %llu ms)\n", names[victim], at[k],
                    r->message, (unsigned long long)(ward_sim_now(sim) - t0));
        } else if (r) {
            CHECK(ok(r) && strcmp(r->decide->name, names[want_argmax(A_SUM, 0, 0)]) == 0);
        }
        CHECK(ward_sim_now(sim) - t0 < 5 * 2000);
        if (r) ward__control__response__free_unpacked(r, NULL);
        CHECK_RC(ward_sim_restart(sim, victim), WARD_OK);
        CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
        ward_sim_run_until(sim, ward_sim_now(sim) + 5000); /* let every side settle */
    }
    CHECK(failed >= 3);

    /* A computing node that stops answering without closing its channels
     * (stalled): the session ends on timeouts, naming it. */
    for (int k = 0; k < 2; k++) {
        make_req(&q, ARGMAX, SUM, "v", 0, "node2", "node3", NULL);
        uint64_t t0 = ward_sim_now(sim);
        CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
        ward_sim_run_until(sim, t0 + (k ? 9 : 1));
        CHECK_RC(ward_sim_stall(sim, 2), WARD_OK);
        r = NULL;
        CHECK_RC(ward_sim_control_wait(sim, &r, 0, 60000), WARD_OK);
        CHECK(r && r->error && r->message && strstr(r->message, "node3") != NULL);
        if (r) fprintf(stderr, "  (node3 stalled at %d ms: %s, after %llu ms)\n", k ? 9 : 1,
                       r->error ? r->message : "success",
                       (unsigned long long)(ward_sim_now(sim) - t0));
        CHECK(ward_sim_now(sim) - t0 <= 5 * 2000);
        if (r) ward__control__response__free_unpacked(r, NULL);
        CHECK_RC(ward_sim_resume(sim, 2), WARD_OK);
        CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
        ward_sim_run_until(sim, ward_sim_now(sim) + 12000);
    }

    /* And all is well again. */
    make_req(&q, ARGMAX, SUM, "v", 't', "node2", "node3", NULL);
    r = run(sim, 0, &q);
    CHECK(ok(r) && strcmp(r->decide->name, "node2") == 0);
    if (r) ward__control__response__free_unpacked(r, NULL);
}

typedef struct {
    int done, aborted, decide;
} audit_count;

static int count_audit(void *ctx, const ward_audit_entry *e) {
    audit_count *a = ctx;
    if (!strstr(e->details, "\"kind\":\"decide\"")) return 0;
    a->decide++;
    if (strcmp(e->kind, "session-done") == 0) a->done++;
    if (strcmp(e->kind, "session-aborted") == 0) a->aborted++;
    return 0;
}

int main(void) {
    char dir[] = "/tmp/ward-decide-sim-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    ward_sim_config cfg = {.nodes = NODES, .seed = 5, .dir = dir, .latency_ms = 1, .jitter_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 2000};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) {
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        make_data(dir, sim);
        test_answers(sim);
        test_refusals(sim);
        test_failures(sim);
        /* The other parties got the completion notice: node3 was neither
         * proposer nor computing node in the first sessions. */
        ward_sim_run_until(sim, ward_sim_now(sim) + 1000);
        audit_count a = {0, 0, 0};
        ward_audit_list(ward_sim_store(sim, 2), 0, 0, count_audit, &a);
        CHECK(a.done >= 8);
        ward_core_stats st;
        for (size_t i = 0; i < NODES; i++) {
            CHECK_RC(ward_sim_node_stats(sim, i, &st), WARD_OK);
            CHECK_EQ_U64(st.sessions_active, 0);
        }
        ward_sim_free(sim);
    }
    /* A party whose policy forbids exact results refuses. */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/strict", dir);
    CHECK(mkdir(sub, 0700) == 0);
    cfg.dir = sub;
    cfg.allow_exact = 0;
    sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) {
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        make_data(sub, sim);
        decide_req q;
        make_req(&q, WARD__CONTROL__DECIDE_OP__DECIDE_MAX, WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM,
                 "v", 0, "node1", "node2", NULL);
        Ward__Control__Response *r = run(sim, 0, &q);
        CHECK(err_has(r, "policy forbids exact results"));
        if (r) ward__control__response__free_unpacked(r, NULL);
        ward_sim_free(sim);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("decide-sim");
}
