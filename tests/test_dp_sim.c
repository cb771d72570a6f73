/* Differentially private aggregates end to end in the deterministic
 * simulator: real node cores release noisy sums, counts, means and
 * histograms, charge their ledgers before their first share, refuse what
 * their budget cannot pay, refund a session that ends before its release,
 * keep a charge across a crash right after the debit (before any share
 * left) and right after the send, and refuse to release from a ledger
 * that no longer matches its audit log. */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dp_account.h"
#include "error.h"
#include "ledger.h"
#include "sim.h"
#include "store.h"

static char dir[] = "/tmp/ward-dp-sim-XXXXXX";

#define ROWS 60

/* Node i's rows: v in 0..100, one hour each; the true sum is returned. */
static int64_t make_csv(const char *path, size_t node) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return 0;
    fputs("ts,v,x\n", f);
    int64_t sum = 0;
    for (int j = 0; j < ROWS; j++) {
        int v = (int)((node * 7 + (size_t)j * 13) % 101);
        sum += v;
        fprintf(f, "2024-03-%02d %02d:15:00,%d,%d\n", 1 + j % 28, j % 24, v, j);
    }
    fclose(f);
    return sum;
}

static int64_t import_all(ward_sim *sim, size_t nodes, const char *sub) {
    int64_t total = 0;
    for (size_t i = 0; i < nodes; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s-%zu.csv", dir, sub, i);
        total += make_csv(path, i);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        opt.schema = "v:integer[0,100],ts:timestamp";
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, i), &rep, "trips", path, &opt), WARD_OK);
        memset(&opt, 0, sizeof opt);
        CHECK_RC(ward_store_import(ward_sim_store(sim, i), &rep, "raw", path, &opt), WARD_OK);
    }
    return total;
}

typedef struct {
    Ward__Control__AggregateOp op;
    const char *table, *column, *group_by;
    int exact;
    double epsilon, delta; /* 0: absent */
    int nan_epsilon;
    Ward__Control__Importance importance;
    const char *parties;   /* NULL: all; else comma list */
} query;

static Ward__Control__Response *run_query(ward_sim *sim, size_t node, const query *q) {
    Ward__Control__Request req;
    Ward__Control__AggregateRequest agg;
    Ward__Control__Parties parties;
    Ward__Control__Number eps, del;
    ward__control__request__init(&req);
    ward__control__aggregate_request__init(&agg);
    ward__control__parties__init(&parties);
    ward__control__number__init(&eps);
    ward__control__number__init(&del);
    char list[200], *names[8];
    if (q->parties) {
        snprintf(list, sizeof list, "%s", q->parties);
        char *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t && parties.n_names < 8;
             t = strtok_r(NULL, ",", &save))
            names[parties.n_names++] = t;
        parties.names = names;
    } else {
        parties.all = 1;
    }
    agg.op = q->op;
    agg.table = (char *)q->table;
    agg.column = (char *)(q->column ? q->column : "");
    agg.group_by = (char *)(q->group_by ? q->group_by : "");
    agg.parties = &parties;
    agg.exact = q->exact;
    agg.importance = q->importance;
    if (q->epsilon != 0 || q->nan_epsilon) {
        eps.value = q->nan_epsilon ? NAN : q->epsilon;
        agg.epsilon = &eps;
    }
    if (q->delta != 0) {
        del.value = q->delta;
        agg.delta = &del;
    }
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req.aggregate = &agg;
    Ward__Control__Response *resp = NULL;
    CHECK_RC(ward_sim_control(sim, &resp, node, &req, 60000), WARD_OK);
    return resp;
}

/* 1 when the query failed and its message holds every given word. */
static int refused_with(ward_sim *sim, size_t node, const query *q, const char *w1, const char *w2,
                        const char *w3) {
    Ward__Control__Response *r = run_query(sim, node, q);
    int ok = r && r->error != 0 && r->message && strstr(r->message, w1) &&
             (!w2 || strstr(r->message, w2)) && (!w3 || strstr(r->message, w3));
    if (!ok) fprintf(stderr, "unexpected answer: %s\n", r && r->message ? r->message : "(success)");
    if (r) ward__control__response__free_unpacked(r, NULL);
    return ok;
}

typedef struct {
    double rho_spent, rho_total, epsilon_spent, epsilon_total, delta_spent, delta_total;
    uint64_t releases;
    int error;
    char message[400];
} budget_row;

static budget_row budget(ward_sim *sim, size_t node, const char *table) {
    budget_row b;
    memset(&b, 0, sizeof b);
    Ward__Control__Request req;
    Ward__Control__BudgetRequest br;
    ward__control__request__init(&req);
    ward__control__budget_request__init(&br);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_BUDGET;
    req.budget = &br;
    Ward__Control__Response *r = NULL;
    CHECK_RC(ward_sim_control(sim, &r, node, &req, 5000), WARD_OK);
    if (!r) {
        b.error = 1;
        return b;
    }
    b.error = r->error;
    snprintf(b.message, sizeof b.message, "%s", r->message ? r->message : "");
    for (size_t i = 0; r->budget && i < r->budget->n_tables; i++) {
        const Ward__Control__BudgetRow *x = r->budget->tables[i];
        if (strcmp(x->table, table) != 0) continue;
        b.rho_spent = x->rho_spent;
        b.rho_total = x->rho_total;
        b.epsilon_spent = x->epsilon_spent;
        b.epsilon_total = x->epsilon_total;
        b.delta_spent = x->delta_spent;
        b.delta_total = x->delta_total;
        b.releases = x->table_releases;
    }
    ward__control__response__free_unpacked(r, NULL);
    return b;
}

typedef struct {
    const char *session;
    int found;
} find_ctx;

static int find_session(void *ctx, uint64_t seq, const char *session, const char *table,
                        ward_dp_class cls, double rho) {
    (void)seq, (void)table, (void)cls, (void)rho;
    find_ctx *f = ctx;
    if (strcmp(session, f->session) == 0) f->found++;
    return 0;
}

/* How many times the node's ledger holds the session (reads its store). */
static int charged(ward_sim *sim, size_t node, const char *session) {
    ward_store *st = ward_sim_store(sim, node);
    if (!st) return -1;
    ward_ledger l;
    if (ward_ledger_open(&l, st) != WARD_OK) return -1;
    find_ctx f = {session, 0};
    CHECK_RC(ward_ledger_list(&l, find_session, &f), WARD_OK);
    return f.found;
}

static uint64_t releases(ward_sim *sim, size_t node) {
    ward_store *st = ward_sim_store(sim, node);
    ward_ledger l;
    if (!st || ward_ledger_open(&l, st) != WARD_OK) return UINT64_MAX;
    return l.releases;
}

static void edit_db(const char *path, const char *text) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "sql: %s\n", err ? err : "?");
    CHECK(rc == SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

#define NODES 4
#define SUM WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM
#define COUNT WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT
#define MEAN WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN
#define HIST WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM

static void test_releases(void) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/main", dir);
    CHECK(mkdir(sub, 0700) == 0);
    ward_sim_config cfg = {.nodes = NODES, .seed = 3, .dir = sub, .latency_ms = 1, .jitter_ms = 2,
                           .allow_exact = 1, .session_timeout_ms = 3000};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    int64_t truth = import_all(sim, NODES, "main");

    /* A private sum at a named epsilon. */
    query q = {.op = SUM, .table = "trips", .column = "v", .epsilon = 0.5, .delta = 1e-6};
    Ward__Control__Response *r = run_query(sim, 0, &q);
    CHECK(r && r->error == 0);
    if (r && r->error) fprintf(stderr, "dp sum: %s\n", r->message);
    char first[65] = "";
    double first_eps = 0;
    if (r && r->aggregate) {
        const Ward__Control__AggregateResult *x = r->aggregate;
        CHECK(x->value && x->epsilon && x->delta && x->noise_sd && !x->count_noise_sd);
        if (x->value && x->epsilon && x->delta && x->noise_sd) {
            CHECK(x->epsilon->value <= 0.5 && x->epsilon->value > 0.49);
            CHECK(x->delta->value == 1e-6);
            first_eps = x->epsilon->value;
            /* sd: sqrt(4) sigma with sigma from D = 100, h = 3 */
            CHECK(x->noise_sd->value > 50 && x->noise_sd->value < 2000);
            CHECK(fabs(x->value->value - (double)truth) <= 40 * x->noise_sd->value);
            /* it is noisy: the chance of exactly the truth is below 1/sd */
            CHECK(x->value->value != (double)truth);
        }
        snprintf(first, sizeof first, "%s", x->session);
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    /* Every party charged the same cost, once, in its ledger and audit log. */
    budget_row b0 = budget(sim, 0, "trips");
    CHECK(b0.error == 0 && b0.rho_spent > 0 && b0.releases == 1);
    CHECK(b0.epsilon_spent > 0 && b0.epsilon_spent <= b0.epsilon_total);
    CHECK(b0.delta_spent == b0.delta_total && fabs(b0.delta_total - 5e-6) < 1e-18);
    double target;
    CHECK_RC(ward_dp_cdp_rho(&target, 0.5, 1e-6), WARD_OK);
    CHECK(b0.rho_spent <= target && b0.rho_spent > 0.999 * target);
    for (size_t i = 0; i < NODES; i++) {
        budget_row b = budget(sim, i, "trips");
        CHECK(b.rho_spent == b0.rho_spent && b.releases == 1);
        CHECK_EQ_U64(charged(sim, i, first), 1);
    }
    /* Each output party keeps the released result in its audit log. */
    ward_sim_run_until(sim, ward_sim_now(sim) + 200); /* the others' last partials */
    for (size_t i = 0; i < NODES; i++) {
        Ward__Control__Request req;
        Ward__Control__AuditRequest ar;
        ward__control__request__init(&req);
        ward__control__audit_request__init(&ar);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_AUDIT;
        req.audit = &ar;
        Ward__Control__Response *ra = NULL;
        CHECK_RC(ward_sim_control(sim, &ra, i, &req, 5000), WARD_OK);
        int results = 0, spends = 0;
        for (size_t k = 0; ra && ra->audit && k < ra->audit->n_entries; k++) {
            const Ward__Control__AuditEntry *e = ra->audit->entries[k];
            if (strcmp(e->session, first) != 0) continue;
            results += strcmp(e->event, "result") == 0 && strstr(e->detail, "\"epsilon\":") &&
                       strstr(e->detail, "\"groups\":{\"all\":");
            spends += strcmp(e->event, "spend") == 0;
        }
        CHECK(results == 1 && spends == 1);
        if (results != 1 || spends != 1)
            for (size_t k = 0; ra && ra->audit && k < ra->audit->n_entries; k++)
                fprintf(stderr, "node%zu: %s %.16s %s\n", i + 1, ra->audit->entries[k]->event,
                        ra->audit->entries[k]->session, ra->audit->entries[k]->detail);
        if (ra) ward__control__response__free_unpacked(ra, NULL);
    }
    /* The raw table shares the medium class: same class totals, no releases. */
    budget_row braw = budget(sim, 0, "raw");
    CHECK(braw.rho_spent == b0.rho_spent && braw.releases == 0);
    CHECK(first_eps > 0);

    /* The allocator picks epsilon; count, histogram and mean. */
    query qc = {.op = COUNT, .table = "trips"};
    r = run_query(sim, 1, &qc);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->value && r->aggregate->epsilon);
    if (r && r->error) fprintf(stderr, "dp count: %s\n", r->message);
    if (r && r->aggregate && r->aggregate->value && r->aggregate->noise_sd)
        CHECK(fabs(r->aggregate->value->value - NODES * ROWS) <= 40 * r->aggregate->noise_sd->value);
    double eps_count = r && r->aggregate && r->aggregate->epsilon ? r->aggregate->epsilon->value : 0;
    CHECK(eps_count > 0.05 && eps_count < 1.05);
    if (r) ward__control__response__free_unpacked(r, NULL);

    query qh = {.op = HIST, .table = "trips", .column = "v", .group_by = "hour(ts)",
                .importance = WARD__CONTROL__IMPORTANCE__IMPORTANCE_LOW};
    r = run_query(sim, 2, &qh);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->grouped);
    if (r && r->error) fprintf(stderr, "dp histogram: %s\n", r->message);
    if (r && r->aggregate) {
        CHECK_EQ_U64(r->aggregate->n_groups, 24); /* empty and full groups alike */
        double eps_h = r->aggregate->epsilon ? r->aggregate->epsilon->value : 0;
        CHECK(eps_h > 0 && eps_h < eps_count); /* low importance, less budget left */
    }
    if (r) ward__control__response__free_unpacked(r, NULL);

    query qm = {.op = MEAN, .table = "trips", .column = "v",
                .importance = WARD__CONTROL__IMPORTANCE__IMPORTANCE_HIGH};
    r = run_query(sim, 3, &qm);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->count_noise_sd);
    if (r && r->error) fprintf(stderr, "dp mean: %s\n", r->message);
    if (r && r->aggregate && r->aggregate->value)
        CHECK(r->aggregate->value->value >= 0 && r->aggregate->value->value <= 100);
    if (r) ward__control__response__free_unpacked(r, NULL);

    b0 = budget(sim, 0, "trips");
    CHECK_EQ_U64(b0.releases, 4);
    for (size_t i = 1; i < NODES; i++) CHECK(budget(sim, i, "trips").rho_spent == b0.rho_spent);
    CHECK(b0.rho_spent <= b0.rho_total);

    /* Exact results still run where policy allows. */
    query qe = {.op = SUM, .table = "trips", .column = "v", .exact = 1};
    r = run_query(sim, 0, &qe);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->value && !r->aggregate->epsilon &&
          r->aggregate->value->value == (double)truth);
    if (r) ward__control__response__free_unpacked(r, NULL);
    CHECK_EQ_U64(budget(sim, 0, "trips").releases, 4);

    /* Refusals name what refused. */
    query qn = {.op = SUM, .table = "raw", .column = "v"};
    CHECK(refused_with(sim, 0, &qn, "raw.v", "no declared bounds", "--schema 'v:integer[MIN,MAX]'"));
    /* Declared bounds that do not contain 0 cannot clamp a private sum. */
    for (size_t i = 0; i < NODES; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/pos-%zu.csv", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) continue;
        fputs("ts,w\n2024-01-01 10:00:00,12\n2024-01-01 11:00:00,25\n", f);
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        opt.schema = "w:integer[5,30]";
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, i), &rep, "pos", path, &opt), WARD_OK);
    }
    query qp = {.op = MEAN, .table = "pos", .column = "w"};
    CHECK(refused_with(sim, 0, &qp, "bounds [5,30]", "must contain 0", "[0,30]"));
    query qpc = {.op = COUNT, .table = "pos"};
    r = run_query(sim, 0, &qpc);
    CHECK(r && r->error == 0); /* a count needs no bounds */
    if (r) ward__control__response__free_unpacked(r, NULL);
    query bad = {.op = SUM, .table = "trips", .column = "v", .nan_epsilon = 1};
    CHECK(refused_with(sim, 0, &bad, "epsilon must be", NULL, NULL));
    bad.nan_epsilon = 0;
    bad.epsilon = -1;
    CHECK(refused_with(sim, 0, &bad, "epsilon must be", NULL, NULL));
    bad.epsilon = 0.1;
    bad.delta = 1.5;
    CHECK(refused_with(sim, 0, &bad, "delta must", NULL, NULL));
    bad.delta = -1e-6;
    CHECK(refused_with(sim, 0, &bad, "delta must", NULL, NULL));
    bad.delta = 0;
    bad.exact = 1;
    CHECK(refused_with(sim, 0, &bad, "--exact cannot", NULL, NULL));
    query qg = {.op = SUM, .table = "trips", .column = "v", .group_by = "date(ts)"};
    CHECK(refused_with(sim, 0, &qg, "date(ts)", NULL, NULL));
    /* A whole class's epsilon after spending: the proposer refuses. */
    query qall = {.op = SUM, .table = "trips", .column = "v", .epsilon = 1.05, .delta = 5e-6};
    CHECK(refused_with(sim, 0, &qall, "budget of class medium", "table trips", "node1"));
    CHECK_EQ_U64(budget(sim, 0, "trips").releases, 4);

    /* A party whose own budget cannot pay refuses (REASON_BUDGET), and
     * nobody is charged. node3 and node4 spend among themselves first. */
    query q34 = {.op = COUNT, .table = "trips", .epsilon = 0.3, .delta = 5e-6,
                 .parties = "node3,node4"};
    int spent34 = 0;
    for (int k = 0; k < 20; k++) {
        r = run_query(sim, 2, &q34);
        int ok = r && r->error == 0;
        if (r) ward__control__response__free_unpacked(r, NULL);
        if (!ok) break;
        spent34++;
    }
    CHECK(spent34 >= 1 && spent34 < 20);
    budget_row b1 = budget(sim, 0, "trips"), b3 = budget(sim, 2, "trips");
    double left1 = b1.rho_total - b1.rho_spent, left3 = b3.rho_total - b3.rho_spent;
    CHECK(left3 < left1 / 2);
    double eps_mid;
    CHECK_RC(ward_dp_cdp_epsilon(&eps_mid, (left1 + left3) / 2, 5e-6), WARD_OK);
    query qmid = {.op = COUNT, .table = "trips", .epsilon = eps_mid, .delta = 5e-6};
    /* node3 or node4, whichever answers first, names itself */
    CHECK(refused_with(sim, 0, &qmid, "budget of class medium", "table trips", ": refused by node"));
    for (size_t i = 0; i < NODES; i++) {
        budget_row b = budget(sim, i, "trips");
        CHECK(b.rho_spent == (i >= 2 ? b3.rho_spent : b1.rho_spent));
    }
    /* ...while node1 and node2 alone can still pay it. */
    qmid.parties = "node1,node2";
    r = run_query(sim, 0, &qmid);
    CHECK(r && r->error == 0);
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* An abort before the release refunds: a party crashes right after
     * the proposal, before anyone committed. */
    uint64_t rel[NODES];
    for (size_t i = 0; i < NODES; i++) rel[i] = releases(sim, i);
    {
        query qa = {.op = COUNT, .table = "trips", .epsilon = 0.01, .delta = 1e-6,
                    .parties = "node1,node2,node3"};
        Ward__Control__Request req;
        Ward__Control__AggregateRequest agg;
        Ward__Control__Parties parties;
        Ward__Control__Number eps, del;
        ward__control__request__init(&req);
        ward__control__aggregate_request__init(&agg);
        ward__control__parties__init(&parties);
        ward__control__number__init(&eps);
        ward__control__number__init(&del);
        char *names[] = {"node1", "node2", "node3"};
        parties.names = names;
        parties.n_names = 3;
        agg.op = qa.op;
        agg.table = "trips";
        agg.column = "";
        agg.group_by = "";
        agg.parties = &parties;
        eps.value = qa.epsilon;
        del.value = qa.delta;
        agg.epsilon = &eps;
        agg.delta = &del;
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
        req.aggregate = &agg;
        CHECK_RC(ward_sim_control_send(sim, 0, &req), WARD_OK);
        CHECK_RC(ward_sim_crash(sim, 1), WARD_OK);
        r = NULL;
        CHECK_RC(ward_sim_control_wait(sim, &r, 0, 20000), WARD_OK);
        CHECK(r && r->error != 0 && strstr(r->message, "node2"));
        if (r) ward__control__response__free_unpacked(r, NULL);
        ward_sim_run_until(sim, ward_sim_now(sim) + 7000);
        CHECK_EQ_U64(releases(sim, 0), rel[0]);
        CHECK_EQ_U64(releases(sim, 2), rel[2]);
        CHECK_RC(ward_sim_restart(sim, 1), WARD_OK);
        CHECK_EQ_U64(releases(sim, 1), rel[1]);
        CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
    }

    /* A crash right after a party's debit and send: the charge stands. */
    {
        Ward__Control__Request req;
        Ward__Control__AggregateRequest agg;
        Ward__Control__Parties parties;
        Ward__Control__Number eps, del;
        ward__control__request__init(&req);
        ward__control__aggregate_request__init(&agg);
        ward__control__parties__init(&parties);
        ward__control__number__init(&eps);
        ward__control__number__init(&del);
        char *names[] = {"node1", "node2"};
        parties.names = names;
        parties.n_names = 2;
        agg.op = COUNT;
        agg.table = "trips";
        agg.column = "";
        agg.group_by = "";
        agg.parties = &parties;
        eps.value = 0.01;
        del.value = 1e-6;
        agg.epsilon = &eps;
        agg.delta = &del;
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
        req.aggregate = &agg;
        uint64_t before = releases(sim, 1);
        CHECK_RC(ward_sim_control_send(sim, 0, &req), WARD_OK);
        int seen = 0;
        for (int k = 0; k < 2000 && !seen; k++) {
            ward_sim_run_until(sim, ward_sim_now(sim) + 1);
            seen = releases(sim, 1) == before + 1;
        }
        CHECK(seen);
        CHECK_RC(ward_sim_crash(sim, 1), WARD_OK);
        r = NULL;
        CHECK_RC(ward_sim_control_wait(sim, &r, 0, 20000), WARD_OK);
        if (r) ward__control__response__free_unpacked(r, NULL);
        CHECK_RC(ward_sim_restart(sim, 1), WARD_OK);
        CHECK_EQ_U64(releases(sim, 1), before + 1);
        CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
        budget_row b = budget(sim, 1, "trips");
        CHECK(b.error == 0 && b.releases >= 1);
    }

    /* A tampered ledger: node4's ledger row halved while it was down. It
     * restarts, says so, and releases nothing until restored; exact
     * results (no budget) still run. */
    {
        CHECK_RC(ward_sim_crash(sim, 3), WARD_OK);
        char db[700];
        snprintf(db, sizeof db, "%s/node4.db", sub);
        edit_db(db, "UPDATE ward_ledger SET amount = amount / 2 WHERE seq = 1");
        CHECK_RC(ward_sim_restart(sim, 3), WARD_OK);
        CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
        budget_row b = budget(sim, 3, "trips");
        CHECK(b.error != 0 && strstr(b.message, "privacy ledger refused") &&
              strstr(b.message, "ledger row 1"));
        query qt = {.op = COUNT, .table = "trips", .epsilon = 0.01, .delta = 1e-6};
        CHECK(refused_with(sim, 0, &qt, "refused by node4", "privacy ledger refused", NULL));
        r = run_query(sim, 0, &qe);
        CHECK(r && r->error == 0);
        if (r) ward__control__response__free_unpacked(r, NULL);
    }
    /* An altered spend in the audit log: the chain check names it. */
    {
        CHECK_RC(ward_sim_crash(sim, 2), WARD_OK);
        char db[700];
        snprintf(db, sizeof db, "%s/node3.db", sub);
        edit_db(db, "DROP TRIGGER ward_audit_no_update; UPDATE ward_audit SET details = "
                    "replace(details, '\"rho\":', '\"rho\":0') WHERE kind = 'spend' AND seq = "
                    "(SELECT min(seq) FROM ward_audit WHERE kind = 'spend')");
        CHECK_RC(ward_sim_restart(sim, 2), WARD_OK);
        Ward__Control__Request req;
        Ward__Control__AuditRequest ar;
        ward__control__request__init(&req);
        ward__control__audit_request__init(&ar);
        ar.verify = 1;
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_AUDIT;
        req.audit = &ar;
        r = NULL;
        CHECK_RC(ward_sim_control(sim, &r, 2, &req, 5000), WARD_OK);
        CHECK(r && r->audit && r->audit->verified && !r->audit->chain_ok &&
              r->audit->first_bad_seq > 0);
        if (r) ward__control__response__free_unpacked(r, NULL);
        budget_row b = budget(sim, 2, "trips");
        CHECK(b.error != 0 && strstr(b.message, "not intact"));
    }
    ward_sim_free(sim);
}

/* A party that dies between its ledger commit and its first share: it
 * was charged though nothing of its data left, the session fails for
 * everyone, and the charge survives its restart. */
static void test_halt_after_debit(void) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/halt", dir);
    CHECK(mkdir(sub, 0700) == 0);
    ward_sim_config cfg = {.nodes = 3, .seed = 5, .dir = sub, .latency_ms = 1, .jitter_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 2000,
                           .test_fault = WARD_TEST_FAULT_HALT_AFTER_DEBIT, .test_fault_node = 2};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    import_all(sim, 3, "halt");
    query q = {.op = HIST, .table = "trips", .column = "v", .group_by = "weekday(ts)",
               .epsilon = 0.2, .delta = 1e-6};
    Ward__Control__Response *r = run_query(sim, 0, &q);
    CHECK(r && r->error != 0 && strstr(r->message, "node3"));
    if (r) ward__control__response__free_unpacked(r, NULL);
    ward_sim_run_until(sim, ward_sim_now(sim) + 5000);
    for (size_t i = 0; i < 3; i++) CHECK_EQ_U64(releases(sim, i), 1);
    CHECK_RC(ward_sim_crash(sim, 2), WARD_OK);
    CHECK_RC(ward_sim_restart(sim, 2), WARD_OK);
    CHECK_EQ_U64(releases(sim, 2), 1);
    budget_row b = budget(sim, 2, "trips");
    CHECK(b.error == 0 && b.releases == 1 && b.rho_spent > 0);
    /* Exact sessions are not charged and not halted. */
    CHECK_RC(ward_sim_run_connected(sim, ward_sim_now(sim) + 30000), WARD_OK);
    query qe = {.op = COUNT, .table = "trips", .exact = 1};
    r = run_query(sim, 0, &qe);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->value &&
          r->aggregate->value->value == 3 * ROWS);
    if (r) ward__control__response__free_unpacked(r, NULL);
    CHECK_EQ_U64(releases(sim, 2), 1);
    ward_sim_free(sim);
}

/* A table where one person may own several rows (the policy's
 * rows-per-person): the noise must cover that many. node1 and node2 declare
 * 3 rows per person for trips, node3 and node4 nothing (one row). A release
 * node4 proposes plans for one row and is refused by node1, which says how
 * many it needs; one that node1 proposes carries 3, which the others
 * accept (3 >= 1), and its noise sd is three times that of the same
 * release over `raw`, where every unit is one row. Private training on the
 * table is refused: its clipping bounds one row. */
/* The noise every node adds to a private release's first coordinate. */
static void add_noise(void *ctx, const uint8_t session_id[32], const int64_t *noise, size_t len) {
    (void)session_id;
    if (len > 0) *(int64_t *)ctx += noise[0];
}

static void test_rows_per_person(void) {
    char sub[600];
    snprintf(sub, sizeof sub, "%s/persons", dir);
    CHECK(mkdir(sub, 0700) == 0);
    ward_policy three, plain;
    size_t line;
    char err[128];
    const char *t3 = "exact yes\nrows-per-person trips 3\nrows-per-person rides 2 rider\n"
                     "allow * * * *\n";
    const char *t1 = "exact yes\nallow * * * *\n";
    CHECK_RC(ward_policy_parse(&three, &line, err, sizeof err, t3, strlen(t3)), WARD_OK);
    CHECK_RC(ward_policy_parse(&plain, &line, err, sizeof err, t1, strlen(t1)), WARD_OK);
    const ward_policy *pol[NODES] = {&three, &three, &plain, &plain};
    int64_t noise = 0;
    ward_sim_config cfg = {.nodes = NODES, .seed = 5, .dir = sub, .latency_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 3000, .policies = pol,
                           .noise_hook = add_noise, .noise_ctx = &noise};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    (void)import_all(sim, NODES, "persons");

    query q = {.op = SUM, .table = "trips", .column = "v", .epsilon = 0.5, .delta = 1e-6};
    CHECK(refused_with(sim, 3, &q, "node1", "up to 3 rows of table trips", "covers 1"));
    /* A count of each table: the same release but for its unit. */
    q.op = COUNT;
    q.column = NULL;

    Ward__Control__Response *r = run_query(sim, 0, &q);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->noise_sd && r->aggregate->value);
    double sd3 = 0;
    if (r && r->error) fprintf(stderr, "rows-per-person count: %s\n", r->message);
    if (r && r->aggregate && r->aggregate->noise_sd && r->aggregate->value) {
        sd3 = r->aggregate->noise_sd->value;
        CHECK(fabs(r->aggregate->value->value - (double)(NODES * ROWS)) <= 40 * sd3);
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    query raw = q;
    raw.table = "raw";
    r = run_query(sim, 0, &raw);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->noise_sd);
    if (r && r->error) fprintf(stderr, "raw count: %s\n", r->message);
    if (r && r->aggregate && r->aggregate->noise_sd)
        CHECK(fabs(sd3 / r->aggregate->noise_sd->value - 3) < 0.01);
    if (r) ward__control__response__free_unpacked(r, NULL);

    /* With a person column the nodes that declare it keep each rider's
     * first 2 rows: rider a has 4 rides, b 1, c 3 at every node. node1 and
     * node2 count 2 + 1 + 2, node3 and node4 (no declaration) all 8; the
     * released count less the noise the four drew is exactly that. */
    for (size_t i = 0; i < NODES; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/rides-%zu.csv", dir, i);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f) continue;
        fputs("rider,v\na,1\nb,2\na,3\nc,4\na,5\nc,6\na,7\nc,8\n", f);
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        ward_import_report rep;
        CHECK_RC(ward_store_import(ward_sim_store(sim, i), &rep, "rides", path, &opt), WARD_OK);
    }
    query rides = {.op = COUNT, .table = "rides", .epsilon = 0.2, .delta = 1e-6};
    noise = 0;
    r = run_query(sim, 0, &rides);
    CHECK(r && r->error == 0 && r->aggregate && r->aggregate->value);
    if (r && r->error) fprintf(stderr, "rides count: %s\n", r->message);
    if (r && r->aggregate && r->aggregate->value)
        CHECK(r->aggregate->value->value - (double)noise == 2 * 5 + 2 * 8);
    if (r) ward__control__response__free_unpacked(r, NULL);
    ward_sim_free(sim);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    test_releases();
    test_rows_per_person();
    test_halt_after_debit();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("dp-sim");
}
