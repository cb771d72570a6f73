/* The node core end to end, in the deterministic simulator: five real
 * cores authenticate each other, import real data split across them, and
 * compute exact secret-shared aggregates that must equal the plaintext
 * answers computed here from the CSV text itself. Also: a crash during a
 * session, a restart, refusals, and bit-for-bit determinism of a seed. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ctl_cmd.h"
#include "error.h"
#include "sim.h"
#include "store.h"

#define NODES 5

/* Splits tests/data/NAME round-robin into NODES files under dir; returns
 * the data lines (without header) in *lines for the reference answers. */
static size_t split_csv(char lines[][256], size_t max, const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/../data/%s", check_vectors_dir(), name);
    FILE *in = fopen(path, "r");
    CHECK(in != NULL);
    if (!in) return 0;
    char header[512];
    if (!fgets(header, sizeof header, in)) header[0] = '\0';
    FILE *out[NODES];
    for (int i = 0; i < NODES; i++) {
        snprintf(path, sizeof path, "%s/%s.%d", dir, name, i);
        out[i] = fopen(path, "w");
        fputs(header, out[i]);
    }
    size_t n = 0;
    char line[256];
    while (fgets(line, sizeof line, in) && n < max) {
        fputs(line, out[n % NODES]);
        snprintf(lines[n], sizeof lines[n], "%s", line);
        n++;
    }
    fclose(in);
    for (int i = 0; i < NODES; i++) fclose(out[i]);
    return n;
}

static void import_split(ward_sim *sim, const char *dir, const char *name, const char *table) {
    for (int i = 0; i < NODES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.%d", dir, name, i);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, (size_t)i), &rep, table, path, &opt), WARD_OK);
    }
}

/* An aggregate request over every party: req points into agg and parties. */
static void agg_request(Ward__Control__Request *req, Ward__Control__AggregateRequest *agg,
                        Ward__Control__Parties *parties, Ward__Control__AggregateOp op,
                        const char *table, const char *column, const char *group_by, int exact) {
    ward__control__request__init(req);
    ward__control__aggregate_request__init(agg);
    ward__control__parties__init(parties);
    parties->all = 1;
    agg->op = op;
    agg->table = (char *)table;
    agg->column = (char *)column;
    agg->group_by = (char *)group_by;
    agg->parties = parties;
    agg->exact = exact;
    req->command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req->aggregate = agg;
}

static Ward__Control__Response *aggregate(ward_sim *sim, size_t node, Ward__Control__AggregateOp op,
                                          const char *table, const char *column,
                                          const char *group_by, int exact) {
    Ward__Control__Request req;
    Ward__Control__AggregateRequest agg;
    Ward__Control__Parties parties;
    agg_request(&req, &agg, &parties, op, table, column, group_by, exact);
    Ward__Control__Response *resp = NULL;
    CHECK_RC(ward_sim_control(sim, &resp, node, &req, 60000), WARD_OK);
    return resp;
}

static void digest_run(uint8_t out[32], const char *dir, uint64_t seed) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/det-%llu-%d", dir, (unsigned long long)seed, rand());
    CHECK(mkdir(sub, 0700) == 0);
    ward_sim_config cfg = {.nodes = 4, .seed = seed, .dir = sub, .latency_ms = 2, .jitter_ms = 3,
                           .allow_exact = 1};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 5000); /* keepalives */
    ward_sim_digest(sim, out);
    ward_sim_free(sim);
}


/* Beyond ten parties, shares go to a committee of three aggregators: the
 * result must be the same, whoever proposes, and a committee member that
 * crashes fails the session with its name. */
static void committee_run(const char *dir) {
    enum { BIG = 12 };
    char sub[600];
    snprintf(sub, sizeof sub, "%s/committee", dir);
    CHECK(mkdir(sub, 0700) == 0);
    ward_sim_config cfg = {.nodes = BIG, .seed = 99, .dir = sub, .latency_ms = 1, .jitter_ms = 2,
                           .allow_exact = 1, .session_timeout_ms = 3000};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 60000), WARD_OK);
    int64_t want = 0;
    for (int i = 0; i < BIG; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/v%d.csv", sub, i);
        FILE *f = fopen(path, "w");
        fputs("v,ts\n", f);
        for (int r = 0; r < 5 + i; r++) {
            int v = (i + 1) * 100 - r * 7;
            fprintf(f, "%d,2020-01-0%d 0%d:00:00\n", v, 1 + r % 7, r % 10);
            want += v;
        }
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, (size_t)i), &rep, "t", path, &opt), WARD_OK);
    }
    for (size_t proposer = 0; proposer < BIG; proposer += 5) {
        Ward__Control__Response *resp =
            aggregate(sim, proposer, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "t", "v", "", 1);
        CHECK(resp && resp->error == 0 && resp->aggregate && resp->aggregate->value &&
              resp->aggregate->value->value == (double)want);
        if (resp && resp->error) fprintf(stderr, "committee sum failed: %s\n", resp->message);
        if (resp) ward__control__response__free_unpacked(resp, NULL);
    }
    /* node2 proposes: the committee is the three parties from the proposer
     * on, in name order (node1 < node10 < node11 < node12 < node2 < node3
     * < node4), so node2, node3 and node4 aggregate. A crash of node3
     * after the proposal fails the session naming it. */
    Ward__Control__Request r2;
    Ward__Control__AggregateRequest agg;
    Ward__Control__Parties parties;
    ward__control__request__init(&r2);
    ward__control__aggregate_request__init(&agg);
    ward__control__parties__init(&parties);
    parties.all = 1;
    agg.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM;
    agg.table = "t";
    agg.column = "v";
    agg.parties = &parties;
    agg.exact = 1;
    r2.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    r2.aggregate = &agg;
    CHECK_RC(ward_sim_control_send(sim, 1, &r2), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 1);
    CHECK_RC(ward_sim_crash(sim, 2), WARD_OK);
    Ward__Control__Response *resp = NULL;
    CHECK_RC(ward_sim_control_wait(sim, &resp, 1, 10000), WARD_OK);
    CHECK(resp && resp->error != 0 && strstr(resp->message, "node3"));
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    ward_sim_free(sim);
}

/* A peer may hold at most max_peer_sessions sessions at a node: with 2,
 * four exact sums that node2 proposes at once get two results and two
 * refusals that say the others are busy, and once they have ended node2
 * can propose again. */
typedef struct {
    int answers, ok, busy;
} busy_tally;

static void busy_reply(void *ctx, size_t node, uint64_t client, const uint8_t *data, size_t len) {
    (void)client;
    busy_tally *t = ctx;
    if (node != 1) return;
    Ward__Control__Response *r = ward__control__response__unpack(NULL, len, data);
    CHECK(r != NULL);
    if (!r) return;
    t->answers++;
    if (r->error == 0 && (r->result_case == WARD__CONTROL__RESPONSE__RESULT_AGGREGATE ||
                          r->result_case == WARD__CONTROL__RESPONSE__RESULT_DECIDE))
        t->ok++;
    else if (strstr(r->message, "is busy") && strstr(r->message, "node2 already holds 2 sessions"))
        t->busy++;
    else
        fprintf(stderr, "unexpected answer: %s\n", r->message);
    ward__control__response__free_unpacked(r, NULL);
}

static void busy_run(const char *dir) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/busy", dir);
    CHECK(mkdir(sub, 0700) == 0);
    ward_sim_config cfg = {.nodes = NODES, .seed = 9, .dir = sub, .latency_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 3000, .max_peer_sessions = 2};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    import_split(sim, dir, "birmingham-parking.csv", "parking");
    busy_tally t = {0, 0, 0};
    ward_sim_set_reply_handler(sim, busy_reply, &t);
    Ward__Control__Request req;
    Ward__Control__AggregateRequest agg;
    Ward__Control__Parties parties;
    agg_request(&req, &agg, &parties, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "parking",
                "Occupancy", "", 1);
    for (int i = 0; i < 4; i++) {
        uint64_t client = 0;
        req.id = (uint64_t)i + 1;
        CHECK_RC(ward_sim_control_submit(sim, &client, 1, &req), WARD_OK);
    }
    for (int step = 0; step < 100 && t.answers < 4; step++)
        ward_sim_run_until(sim, ward_sim_now(sim) + 100);
    CHECK_EQ_U64((uint64_t)t.answers, 4);
    CHECK_EQ_U64((uint64_t)t.ok, 2);
    CHECK_EQ_U64((uint64_t)t.busy, 2);
    /* The two that ran have ended: the next one goes through. */
    memset(&t, 0, sizeof t);
    uint64_t client = 0;
    req.id = 9;
    CHECK_RC(ward_sim_control_submit(sim, &client, 1, &req), WARD_OK);
    for (int step = 0; step < 100 && t.answers < 1; step++)
        ward_sim_run_until(sim, ward_sim_now(sim) + 100);
    CHECK_EQ_U64((uint64_t)t.ok, 1);
    /* A decision that node2 and node1 compute holds one session at node1;
     * the garbled circuit's join that follows belongs to it and is not a
     * second one: beside a sum, at the cap of 2, both go through. */
    memset(&t, 0, sizeof t);
    char *words[] = {"parking.Occupancy", "--agg", "sum", "--parties", "all", "--compute", "node1,node2"};
    ward_ctl_decide_req dq;
    char msg[600];
    CHECK(ward_ctl_decide_parse(&dq, msg, sizeof msg, "max", 7, words) == 0);
    Ward__Control__Request dreq;
    ward__control__request__init(&dreq);
    dreq.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
    dreq.decide = &dq.dr;
    dreq.id = 20;
    req.id = 21;
    CHECK_RC(ward_sim_control_submit(sim, &client, 1, &dreq), WARD_OK);
    CHECK_RC(ward_sim_control_submit(sim, &client, 1, &req), WARD_OK);
    for (int step = 0; step < 200 && t.answers < 2; step++)
        ward_sim_run_until(sim, ward_sim_now(sim) + 100);
    CHECK_EQ_U64((uint64_t)t.ok, 2);
    CHECK_EQ_U64((uint64_t)t.busy, 0);
    ward_ctl_decide_req_clear(&dq);
    ward_sim_free(sim);
}

int main(void) {
    char dir[] = "/tmp/ward-core-sim-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ward_sim_config cfg = {.nodes = NODES, .seed = 7, .dir = dir, .latency_ms = 1, .jitter_ms = 2,
                           .allow_exact = 1, .session_timeout_ms = 3000};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return check_done("core-sim");

    /* Every node authenticates every other. */
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    for (size_t i = 0; i < NODES; i++) CHECK_EQ_U64(ward_sim_connected_peers(sim, i), NODES - 1);

    Ward__Control__Request req;
    Ward__Control__StatusRequest sreq;
    ward__control__request__init(&req);
    ward__control__status_request__init(&sreq);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_STATUS;
    req.status = &sreq;
    Ward__Control__Response *resp = NULL;
    CHECK_RC(ward_sim_control(sim, &resp, 2, &req, 1000), WARD_OK);
    CHECK(resp && resp->error == 0 && resp->result_case == WARD__CONTROL__RESPONSE__RESULT_STATUS);
    if (resp && resp->status) {
        CHECK(strcmp(resp->status->name, "node3") == 0);
        CHECK_EQ_U64(resp->status->peers_connected, NODES - 1);
        CHECK_EQ_U64(resp->status->peers_total, NODES - 1);
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);

    /* Real data, split across the nodes. */
    static char lines[400][256];
    size_t n = split_csv(lines, 400, dir, "birmingham-parking.csv");
    CHECK(n >= 100);
    import_split(sim, dir, "birmingham-parking.csv", "parking");
    int64_t want_sum = 0;
    int64_t want_hour[24] = {0};
    for (size_t i = 0; i < n; i++) {
        /* SystemCodeNumber,Capacity,Occupancy,LastUpdated */
        char *f1 = strchr(lines[i], ','), *f2 = f1 ? strchr(f1 + 1, ',') : NULL;
        char *f3 = f2 ? strchr(f2 + 1, ',') : NULL;
        CHECK(f3 != NULL);
        if (!f3) continue;
        want_sum += strtoll(f2 + 1, NULL, 10);
        want_hour[atoi(f3 + 1 + 11)]++;
    }

    resp = aggregate(sim, 0, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "parking", "Occupancy", "", 1);
    CHECK(resp && resp->error == 0);
    if (resp && resp->error) fprintf(stderr, "sum failed: %s\n", resp->message);
    if (resp && resp->aggregate) {
        CHECK(resp->aggregate->value != NULL);
        if (resp->aggregate->value) CHECK(resp->aggregate->value->value == (double)want_sum);
        CHECK_EQ_U64(resp->aggregate->n_parties, NODES);
        CHECK(strlen(resp->aggregate->session) == 64);
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);

    /* A 24-bucket histogram from another proposer. */
    resp = aggregate(sim, 3, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM, "parking",
                     "Occupancy", "hour(LastUpdated)", 1);
    CHECK(resp && resp->error == 0);
    if (resp && resp->error) fprintf(stderr, "histogram failed: %s\n", resp->message);
    if (resp && resp->aggregate) {
        CHECK(resp->aggregate->grouped);
        int all_match = 1;
        size_t nonzero = 0;
        for (int h = 0; h < 24; h++) nonzero += want_hour[h] != 0;
        CHECK_EQ_U64(resp->aggregate->n_groups, 24);
        for (size_t g = 0; g < resp->aggregate->n_groups; g++) {
            int h = atoi(resp->aggregate->groups[g]->key);
            all_match &= resp->aggregate->groups[g]->value == (double)want_hour[h];
        }
        CHECK(all_match);
        CHECK(nonzero > 3);
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);

    /* Mean of a decimal column: taxi fares, exact to the cent. */
    static char taxi[400][256];
    size_t nt = split_csv(taxi, 400, dir, "nyc-taxi.csv");
    import_split(sim, dir, "nyc-taxi.csv", "taxi");
    int64_t cents = 0;
    size_t trips = 0;
    for (size_t i = 0; i < nt; i++) {
        /* fare_amount is the 11th field */
        char *p = taxi[i];
        for (int f = 0; f < 10 && p; f++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        if (!p || *p == ',') continue;
        double fare = strtod(p, NULL);
        cents += (int64_t)(fare * 100 + (fare >= 0 ? 0.5 : -0.5));
        trips++;
    }
    resp = aggregate(sim, 1, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN, "taxi", "fare_amount", "", 1);
    CHECK(resp && resp->error == 0);
    if (resp && resp->error) fprintf(stderr, "mean failed: %s\n", resp->message);
    if (resp && resp->aggregate && resp->aggregate->value) {
        double want = (double)cents / 100.0 / (double)trips;
        double got = resp->aggregate->value->value;
        CHECK(got > want - 1e-9 && got < want + 1e-9);
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);

    /* Without --exact a release is differentially private: a count needs
     * nothing declared and comes back noisy with its epsilon; a sum needs
     * declared bounds on its column, and the refusal says how to declare
     * them (tests/test_dp_sim.c covers the rest). */
    resp = aggregate(sim, 0, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT, "parking", "", "", 0);
    CHECK(resp && resp->error == 0 && resp->aggregate && resp->aggregate->epsilon &&
          resp->aggregate->value && resp->aggregate->noise_sd);
    if (resp && resp->aggregate && resp->aggregate->value && resp->aggregate->noise_sd)
        CHECK(fabs(resp->aggregate->value->value - (double)n) <= 40 * resp->aggregate->noise_sd->value);
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    /* Refusals name who and what. */
    resp = aggregate(sim, 0, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "parking", "Occupancy", "", 0);
    CHECK(resp && resp->error != 0 && strstr(resp->message, "parking.Occupancy") &&
          strstr(resp->message, "no declared bounds") && strstr(resp->message, "--schema"));
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    resp = aggregate(sim, 0, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "nosuch", "x", "", 1);
    CHECK(resp && resp->error != 0 && strstr(resp->message, "nosuch"));
    if (resp) ward__control__response__free_unpacked(resp, NULL);

    /* A party crashes after the proposal: the caller gets a clear error
     * within the session timeout, the others stay connected. */
    {
        Ward__Control__Request r2;
        Ward__Control__AggregateRequest agg;
        Ward__Control__Parties parties;
        ward__control__request__init(&r2);
        ward__control__aggregate_request__init(&agg);
        ward__control__parties__init(&parties);
        parties.all = 1;
        agg.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM;
        agg.table = "parking";
        agg.column = "Occupancy";
        agg.parties = &parties;
        agg.exact = 1;
        r2.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
        r2.aggregate = &agg;
        CHECK_RC(ward_sim_control_send(sim, 0, &r2), WARD_OK);
        ward_sim_run_until(sim, ward_sim_now(sim) + 1);
        CHECK_RC(ward_sim_crash(sim, 2), WARD_OK);
        uint64_t t0 = ward_sim_now(sim);
        resp = NULL;
        CHECK_RC(ward_sim_control_wait(sim, &resp, 0, 10000), WARD_OK);
        CHECK(resp && resp->error != 0 && strstr(resp->message, "node3"));
        CHECK(ward_sim_now(sim) - t0 <= 3000 + 500);
        if (resp) ward__control__response__free_unpacked(resp, NULL);
        ward_sim_run_until(sim, ward_sim_now(sim) + 100);
        for (size_t i = 0; i < NODES; i++)
            if (i != 2) CHECK_EQ_U64(ward_sim_connected_peers(sim, i), NODES - 2);
        /* A party that is down: refused before anything starts. */
        resp = aggregate(sim, 0, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "parking", "Occupancy",
                         "", 1);
        CHECK(resp && resp->error != 0 && strstr(resp->message, "node3") &&
              strstr(resp->message, "not connected"));
        if (resp) ward__control__response__free_unpacked(resp, NULL);
    }

    /* It restarts from its storage, rejoins, and the next session works. */
    CHECK_RC(ward_sim_restart(sim, 2), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
    resp = aggregate(sim, 4, WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM, "parking", "Occupancy", "", 1);
    if (resp && resp->error) fprintf(stderr, "sum after restart failed: %s\n", resp->message);
    CHECK(resp && resp->error == 0 && resp->aggregate && resp->aggregate->value &&
          resp->aggregate->value->value == (double)want_sum);
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    ward_sim_free(sim);

    committee_run(dir);
    busy_run(dir);

    /* The same seed gives the same run; another seed another. */
    uint8_t d1[32], d2[32], d3[32];
    digest_run(d1, dir, 11);
    digest_run(d2, dir, 11);
    digest_run(d3, dir, 12);
    CHECK_MEM(d1, d2, 32);
    CHECK(memcmp(d1, d3, 32) != 0);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("core-sim");
}
