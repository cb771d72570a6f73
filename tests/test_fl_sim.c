/* Federated training (ward train, node/session_fl.c) between four real
 * cores in the deterministic simulator, on synthetic logistic data: a run
 * learns the rule and every party ends with the bit-identical model (the
 * hash in each node's audit record); a party crashed mid-training leaves
 * the run to the t = 3 that remain, also over lossy links; a party that
 * stalls is left out of the rounds it misses and leaves; two crashes
 * stop it with a clear error; a party that labels its shares with the
 * wrong round stops the run with a clear error and no model is recorded;
 * DP training charges every party's ledger before its first share and
 * survives a crash; afterwards no session is left open anywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "check.h"
#include "core.h"
#include "error.h"
#include "rng.h"
#include "sim.h"
#include "store.h"

#define NODES 4
#define ROWS 300

static void make_data(const char *dir, ward_sim *sim, uint64_t seed) {
    ward_rng rng;
    ward_rng_init_u64(&rng, seed);
    for (int i = 0; i < NODES; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/n%d.csv", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs("x1,x2,y\n", f);
        for (int r = 0; r < ROWS; r++) {
            /* x in [0, 10) with 2 decimals; y = 1 when 2 x1 - x2 > 5 (10% flipped);
             * the parties' x1 ranges differ (non-iid). */
            int64_t a = (int64_t)ward_rng_uniform(&rng, 1000) / (i == 0 ? 2 : 1);
            int64_t b = (int64_t)ward_rng_uniform(&rng, 1000);
            int y = 2 * a - b > 500;
            if (ward_rng_uniform(&rng, 10) == 0) y = !y;
            fprintf(f, "%lld.%02lld,%lld.%02lld,%d\n", (long long)(a / 100), (long long)(a % 100),
                    (long long)(b / 100), (long long)(b % 100), y);
        }
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, (size_t)i), &rep, "t", path, &opt), WARD_OK);
    }
    ward_rng_clear(&rng);
}

typedef struct {
    Ward__Control__Request req;
    Ward__Control__TrainRequest tr;
    Ward__Control__Parties parties;
    char *feat[1];
} train_req;

static void make_req(train_req *q, uint32_t rounds, uint32_t pace) {
    memset(q, 0, sizeof *q);
    ward__control__request__init(&q->req);
    ward__control__train_request__init(&q->tr);
    ward__control__parties__init(&q->parties);
    q->parties.all = 1;
    q->feat[0] = (char *)"x1[0,10],x2[0,10]";
    q->tr.table = (char *)"t";
    q->tr.n_features = 1;
    q->tr.features = q->feat;
    q->tr.label = (char *)"y>0.5";
    q->tr.model = WARD__CONTROL__MODEL__MODEL_LOGREG;
    q->tr.parties = &q->parties;
    q->tr.rounds = rounds;
    q->tr.pace_ms = pace;
    q->req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
    q->req.train = &q->tr;
}

static int ok(const Ward__Control__Response *r) {
    int good = r && r->error == 0 && r->result_case == WARD__CONTROL__RESPONSE__RESULT_TRAIN;
    if (!good) fprintf(stderr, "  train failed: %s\n", r ? r->message : "(no response)");
    return good;
}

static int err_has(const Ward__Control__Response *r, const char *text) {
    int good = r && r->error != 0 && r->message && strstr(r->message, text) != NULL;
    if (!good)
        fprintf(stderr, "  wanted an error with '%s', got: %s\n", text,
                r ? (r->error ? r->message : "success") : "(no response)");
    return good;
}

typedef struct {
    const char *session;
    char hash[65];
    int done, aborted;
} audit_find;

static int find_audit(void *ctx, const ward_audit_entry *e) {
    audit_find *a = ctx;
    if (strcmp(e->session, a->session) != 0) return 0;
    if (strcmp(e->kind, "session-aborted") == 0) a->aborted++;
    if (strcmp(e->kind, "session-done") != 0) return 0;
    a->done++;
    const char *h = strstr(e->details, "\"model_sha256\":\"");
    if (h) snprintf(a->hash, sizeof a->hash, "%.64s", h + 16);
    return 0;
}

static int count_done(void *ctx, const ward_audit_entry *e) {
    if (strcmp(e->kind, "session-done") == 0 && strstr(e->details, "\"kind\":\"train\""))
        ++*(int *)ctx;
    return 0;
}

/* The model hash node i recorded for the session ("" if none). */
static void node_hash(ward_sim *sim, size_t i, const char *session, audit_find *a) {
    memset(a, 0, sizeof *a);
    a->session = session;
    ward_audit_list(ward_sim_store(sim, i), 0, 0, find_audit, a);
}

static void settle(ward_sim *sim) {
    ward_sim_run_until(sim, ward_sim_now(sim) + 3000);
}

static void check_idle(ward_sim *sim) {
    ward_core_stats st;
    for (size_t i = 0; i < NODES; i++) {
        if (!ward_sim_node_up(sim, i)) continue;
        CHECK_RC(ward_sim_node_stats(sim, i, &st), WARD_OK);
        CHECK_EQ_U64(st.sessions_active, 0);
    }
}

/* A run with every party: learns, identical models everywhere. */
static void test_plain(ward_sim *sim) {
    train_req q;
    make_req(&q, 8, 0);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, 1, &q.req, 120000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        CHECK(x->n_finished == NODES && x->threshold == 3 && x->rounds == 8);
        CHECK(x->n_metrics >= 2 && strcmp(x->metrics[0]->name, "accuracy") == 0);
        fprintf(stderr, "  accuracy %.4f, f1 %.4f\n", x->metrics[0]->value, x->metrics[1]->value);
        CHECK(x->metrics[0]->value > 0.8);
        settle(sim);
        for (size_t i = 0; i < NODES; i++) {
            audit_find a;
            node_hash(sim, i, x->session, &a);
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    check_idle(sim);
}

/* node `victim` crashes at t0 + at_ms of a paced run; the rest finish. */
static void test_crash(ward_sim *sim, size_t victim, uint32_t at_ms) {
    train_req q;
    make_req(&q, 10, 300);
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + at_ms);
    CHECK_RC(ward_sim_crash(sim, victim), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 120000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        CHECK(x->n_finished == NODES - 1);
        for (size_t k = 0; k < x->n_finished; k++)
            CHECK(strcmp(x->finished[k], ward_sim_node_name(sim, victim)) != 0);
        CHECK(x->metrics[0]->value > 0.75);
        fprintf(stderr, "  crash of %s at %u ms: accuracy %.4f after %llu ms\n",
                ward_sim_node_name(sim, victim), at_ms, x->metrics[0]->value,
                (unsigned long long)(ward_sim_now(sim) - t0));
        settle(sim);
        for (size_t i = 0; i < NODES; i++) {
            if (i == victim) continue;
            audit_find a;
            node_hash(sim, i, x->session, &a);
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    check_idle(sim);
    CHECK_RC(ward_sim_restart(sim, victim), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
}

/* node3 stalls (its channels stay open, it answers nothing) from 1 s into
 * a paced run until until_ms: the rounds go on without it after each
 * timeout; when it resumes it either catches up (one round behind at most:
 * it contributes again) or has fallen further behind and leaves the run;
 * every party that finishes holds the same model. */
static void test_stall(ward_sim *sim, uint32_t until_ms) {
    train_req q;
    make_req(&q, 12, 300);
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + 1000);
    CHECK_RC(ward_sim_stall(sim, 2), WARD_OK);
    ward_sim_run_until(sim, t0 + until_ms);
    CHECK_RC(ward_sim_resume(sim, 2), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 120000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        fprintf(stderr, "  node3 stalled 1..%u s: %zu parties at the end, accuracy %.4f after %llu ms\n",
                until_ms / 1000, x->n_finished, x->metrics[0]->value,
                (unsigned long long)(ward_sim_now(sim) - t0));
        CHECK(x->n_finished >= 3);
        settle(sim);
        for (size_t i = 0; i < NODES; i++) {
            audit_find a;
            node_hash(sim, i, x->session, &a);
            if (i == 2 && a.done == 0) continue; /* it left the run */
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
    check_idle(sim);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
}

/* Two of four crash: fewer than t remain, a clear error. */
static void test_two_crash(ward_sim *sim) {
    train_req q;
    make_req(&q, 10, 300);
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + 900);
    CHECK_RC(ward_sim_crash(sim, 2), WARD_OK);
    CHECK_RC(ward_sim_crash(sim, 3), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 120000), WARD_OK);
    CHECK(err_has(r, "remain"));
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
    check_idle(sim);
    CHECK_RC(ward_sim_restart(sim, 2), WARD_OK);
    CHECK_RC(ward_sim_restart(sim, 3), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
}

typedef struct {
    const char *session;
    int spends;
} spend_find;

static int find_spend(void *ctx, const ward_audit_entry *e) {
    spend_find *f = ctx;
    if (strcmp(e->kind, "spend") == 0 && strcmp(e->session, f->session) == 0) f->spends++;
    return 0;
}

/* DP training (epsilon 1): each party's ledger is charged once for the
 * session, before its first share; a crash mid-run leaves t = 3 to finish
 * with the same model; the epsilon reported stays within the target; a
 * second run is refused by the budget (medium class: epsilon 1.05). */
static void test_dp(ward_sim *sim) {
    train_req q;
    make_req(&q, 15, 300);
    Ward__Control__Number eps;
    ward__control__number__init(&eps);
    eps.value = 1.0;
    q.tr.epsilon = &eps;
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + 2000);
    CHECK_RC(ward_sim_crash(sim, 3), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 120000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        CHECK(x->epsilon && x->epsilon->value <= 1.0 && x->epsilon->value > 0.9);
        CHECK(x->n_finished == NODES - 1);
        fprintf(stderr, "  DP epsilon %.4f: accuracy %.4f (node1's own validation rows)\n",
                x->epsilon ? x->epsilon->value : -1, x->metrics[0]->value);
        CHECK(x->metrics[0]->value > 0.7);
        settle(sim);
        for (size_t i = 0; i < NODES - 1; i++) {
            spend_find f = {x->session, 0};
            ward_audit_list(ward_sim_store(sim, i), 0, 0, find_spend, &f);
            CHECK_EQ_U64(f.spends, 1);
            audit_find a;
            node_hash(sim, i, x->session, &a);
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    CHECK_RC(ward_sim_restart(sim, 3), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
    if (ok(r)) {
        /* node4 too: it was charged before its first share, before it crashed. */
        spend_find f = {r->train->session, 0};
        ward_audit_list(ward_sim_store(sim, 3), 0, 0, find_spend, &f);
        CHECK_EQ_U64(f.spends, 1);
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    make_req(&q, 15, 0);
    q.tr.epsilon = &eps;
    r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, 1, &q.req, 120000), WARD_OK);
    CHECK(err_has(r, "cannot pay"));
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
    check_idle(sim);
}

int main(void) {
    char dir[] = "/tmp/ward-fl-sim-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    ward_sim_config cfg = {.nodes = NODES, .seed = 11, .dir = dir, .latency_ms = 1, .jitter_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 2000};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) {
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        make_data(dir, sim, 3);
        test_plain(sim);
        test_crash(sim, 3, 1000);
        test_crash(sim, 1, 2500);
        test_two_crash(sim);
        test_stall(sim, 6000);
        test_stall(sim, 9000);
        /* Lossy links (2% of packets lost, retransmitted) and one crash. */
        ward_sim_link lossy = {.latency_ms = 2, .jitter_ms = 2, .loss = 0.02, .bandwidth_kbps = 0};
        CHECK_RC(ward_sim_set_link(sim, -1, -1, &lossy), WARD_OK);
        test_plain(sim);
        test_crash(sim, 2, 1500);
        test_dp(sim);
        ward_sim_free(sim);
    }
    /* A party that labels its round-2 shares as round 4. */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/fault", dir);
    CHECK(mkdir(sub, 0700) == 0);
    cfg.dir = sub;
    cfg.test_fault = WARD_TEST_FAULT_FL_WRONG_ROUND;
    cfg.test_fault_node = 2;
    sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) {
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        make_data(sub, sim, 4);
        train_req q;
        make_req(&q, 5, 0);
        Ward__Control__Response *r = NULL;
        CHECK_RC(ward_sim_control(sim, &r, 0, &q.req, 120000), WARD_OK);
        CHECK(err_has(r, "node3 sent data for round 4 while this node is at round"));
        if (r) ward__control__response__free_unpacked(r, NULL);
        settle(sim);
        check_idle(sim);
        /* No party recorded a model. */
        for (size_t i = 0; i < NODES; i++) {
            int done = 0;
            ward_audit_list(ward_sim_store(sim, i), 0, 0, count_done, &done);
            CHECK_EQ_U64(done, 0);
        }
        ward_sim_free(sim);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("fl-sim");
}
