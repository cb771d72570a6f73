/* Federated training (ward train, node/session_fl.c) between four real
 * cores in the deterministic simulator, on synthetic logistic data: a run
 * learns the rule and every party ends with the bit-identical model (the
 * hash in each node's audit record); a party crashed mid-training leaves
 * the run to the t = 3 that remain, also over lossy links; a party that
 * stalls is left out of the rounds it misses and catches up or rejoins;
 * a party partitioned away for several rounds (exact and DP) rejoins
 * through the coordinator and ends with the same model; personalisation
 * reports every party's own figures before and after fine-tuning (table
 * "h", where node4's rule differs); two crashes stop it with a clear error; a party that labels its shares with the
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

/* Table "h": parties that differ. node1..node3 label as in "t"
 * (2 x1 - x2 > 5); node4 labels y = 1 when x2 > 5, a rule the shared
 * model cannot fit for it. */
static void make_hetero(const char *dir, ward_sim *sim, uint64_t seed) {
    ward_rng rng;
    ward_rng_init_u64(&rng, seed);
    for (int i = 0; i < NODES; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/h%d.csv", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) return;
        fputs("x1,x2,y\n", f);
        for (int r = 0; r < ROWS; r++) {
            int64_t a = (int64_t)ward_rng_uniform(&rng, 1000);
            int64_t b = (int64_t)ward_rng_uniform(&rng, 1000);
            int y = i == NODES - 1 ? b > 500 : 2 * a - b > 500;
            fprintf(f, "%lld.%02lld,%lld.%02lld,%d\n", (long long)(a / 100), (long long)(a % 100),
                    (long long)(b / 100), (long long)(b % 100), y);
        }
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, (size_t)i), &rep, "h", path, &opt), WARD_OK);
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
    int done, aborted, rejoined;
    unsigned contributed;
} audit_find;

static int find_audit(void *ctx, const ward_audit_entry *e) {
    audit_find *a = ctx;
    if (strcmp(e->session, a->session) != 0) return 0;
    if (strcmp(e->kind, "session-aborted") == 0) a->aborted++;
    if (strcmp(e->kind, "session-rejoined") == 0) a->rejoined++;
    if (strcmp(e->kind, "session-done") != 0) return 0;
    a->done++;
    const char *h = strstr(e->details, "\"model_sha256\":\"");
    if (h) snprintf(a->hash, sizeof a->hash, "%.64s", h + 16);
    const char *k = strstr(e->details, "\"contributed\":");
    if (k) a->contributed = (unsigned)strtoul(k + 14, NULL, 10);
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

/* Personalisation on table "h": every party reports its own validation
 * figures of the global model and of its fine-tuned one; node4, whose
 * rule differs, gains from fine-tuning, and its figures differ from the
 * global model's (pooled) ones; the model all parties record is the
 * global one, the same everywhere. */
static void test_personalize(ward_sim *sim) {
    train_req q;
    make_req(&q, 8, 0);
    q.tr.table = (char *)"h";
    q.tr.personalize_epochs = 10;
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, 0, &q.req, 120000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        CHECK_EQ_U64(x->n_personal, NODES);
        double glob = x->metrics[0]->value;
        fprintf(stderr, "  personalised (global accuracy %.4f):", glob);
        for (size_t i = 0; i < x->n_personal; i++) {
            const Ward__Control__PartyMetrics *pm = x->personal[i];
            CHECK(pm->n_before == 2 && pm->n_after == 2);
            if (pm->n_before != 2 || pm->n_after != 2) continue;
            CHECK(strcmp(pm->before[0]->name, "accuracy") == 0 && strcmp(pm->after[1]->name, "f1") == 0);
            CHECK(strcmp(pm->party, ward_sim_node_name(sim, i)) == 0);
            fprintf(stderr, " %s %.4f -> %.4f", pm->party, pm->before[0]->value, pm->after[0]->value);
            if (i == NODES - 1) {
                CHECK(pm->after[0]->value > pm->before[0]->value + 0.1);
                CHECK(pm->after[0]->value > 0.85);
                CHECK(pm->before[0]->value < glob - 0.05);
            } else {
                CHECK(pm->before[0]->value > 0.6);
            }
        }
        fprintf(stderr, "\n");
        settle(sim);
        for (size_t i = 0; i < NODES; i++) {
            audit_find a;
            node_hash(sim, i, x->session, &a);
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    /* Without the option, nothing personal is reported. */
    make_req(&q, 3, 0);
    r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, 0, &q.req, 120000), WARD_OK);
    CHECK(ok(r) && r->train->n_personal == 0);
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
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
 * it contributes again) or has fallen further behind, leaves the rounds
 * and rejoins through the coordinator; all four finish with the same
 * model. */
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
        CHECK(x->n_finished == NODES); /* caught up, or rejoined */
        settle(sim);
        for (size_t i = 0; i < NODES; i++) {
            audit_find a;
            node_hash(sim, i, x->session, &a);
            CHECK(a.done == 1 && strcmp(a.hash, x->model_hash) == 0);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
    check_idle(sim);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
}

/* node3 is partitioned away from the others from 1 s into a paced run
 * until heal_ms: the rounds go on without it (it is left out of S, then
 * dropped when it gives up or its channels close); when the partition
 * heals it asks the coordinator back in, receives the current model and
 * contributes again; all four finish with the bit-identical model, and
 * node3 contributed to fewer rounds than node1 but to some after the heal. */
static void test_partition(ward_sim *sim, uint32_t heal_ms, uint32_t rounds, double epsilon) {
    train_req q;
    make_req(&q, rounds, 300);
    Ward__Control__Number eps;
    ward__control__number__init(&eps);
    eps.value = epsilon;
    if (epsilon > 0) q.tr.epsilon = &eps;
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + 1000);
    uint32_t group[NODES] = {0, 0, 1, 0};
    CHECK_RC(ward_sim_partition(sim, group, NODES), WARD_OK);
    ward_sim_run_until(sim, t0 + heal_ms);
    CHECK_RC(ward_sim_heal(sim), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 300000), WARD_OK);
    CHECK(ok(r));
    if (ok(r)) {
        const Ward__Control__TrainResult *x = r->train;
        CHECK_EQ_U64(x->n_finished, NODES);
        settle(sim);
        audit_find a[NODES];
        for (size_t i = 0; i < NODES; i++) {
            node_hash(sim, i, x->session, &a[i]);
            CHECK(a[i].done == 1 && strcmp(a[i].hash, x->model_hash) == 0);
        }
        fprintf(stderr, "  %snode3 partitioned 1..%u s: %zu parties at the end, accuracy %.4f after "
                "%llu ms; node3 contributed to %u of %u rounds\n", epsilon > 0 ? "DP: " : "",
                heal_ms / 1000, x->n_finished,
                x->metrics[0]->value, (unsigned long long)(ward_sim_now(sim) - t0), a[2].contributed,
                a[0].contributed);
        CHECK(a[0].contributed == rounds + 2);
        CHECK(a[2].contributed < a[0].contributed && a[2].contributed >= 3);
        CHECK(a[2].rejoined >= 1); /* by the coordinator's SYNC, not by catching up */
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    settle(sim);
    check_idle(sim);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
}

/* node3 partitioned away from 1 s until after the run: the other three
 * finish without it; node3, detached, gives up after 10 session timeouts
 * with "could not rejoin", records no model and leaves no session open. */
static void test_partition_too_long(ward_sim *sim) {
    train_req q;
    make_req(&q, 10, 300);
    uint64_t t0 = ward_sim_now(sim);
    CHECK_RC(ward_sim_control_send(sim, 0, &q.req), WARD_OK);
    ward_sim_run_until(sim, t0 + 1000);
    uint32_t group[NODES] = {0, 0, 1, 0};
    CHECK_RC(ward_sim_partition(sim, group, NODES), WARD_OK);
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &r, 0, 300000), WARD_OK);
    CHECK(ok(r));
    ward_sim_run_until(sim, t0 + 60000);
    CHECK_RC(ward_sim_heal(sim), WARD_OK);
    if (ok(r)) {
        CHECK_EQ_U64(r->train->n_finished, NODES - 1);
        audit_find a;
        node_hash(sim, 2, r->train->session, &a);
        CHECK(a.done == 0 && a.aborted == 1);
        fprintf(stderr, "  node3 partitioned from 1 s past the end: 3 finish, node3 gave up\n");
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    check_idle(sim);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 60000), WARD_OK);
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
    q.tr.personalize_epochs = 5;
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
        /* Under DP only the proposer's own personalised figures. */
        CHECK(x->n_personal == 1 && strcmp(x->personal[0]->party, "node1") == 0);
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
        make_hetero(dir, sim, 5);
        test_plain(sim);
        test_personalize(sim);
        test_crash(sim, 3, 1000);
        test_crash(sim, 1, 2500);
        test_two_crash(sim);
        test_stall(sim, 6000);
        test_stall(sim, 9000);
        test_partition(sim, 7000, 16, 0);
        test_partition(sim, 14000, 40, 0);
        test_partition_too_long(sim);
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
    /* DP training with a partition (fresh ledgers): the momentum travels
     * with the model when node3 rejoins. */
    snprintf(sub, sizeof sub, "%s/dp", dir);
    CHECK(mkdir(sub, 0700) == 0);
    cfg.dir = sub;
    cfg.test_fault = 0;
    sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) {
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        make_data(sub, sim, 6);
        test_partition(sim, 7000, 16, 1.0);
        ward_sim_free(sim);
    }
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("fl-sim");
}
