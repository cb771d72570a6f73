/* Fuzzes the control requests a node takes from its local clients (the
 * `ward --node X ...` commands, session scripts, tools; control.proto): any
 * bytes must get one answer, an error naming what is wrong or a result,
 * never a crash, a hang or a spend without a release. The input is one
 * encoded Request. For each input a fresh simulated city of three nodes
 * (netsim/sim.h, each holding a small table `t`) connects; node1 handles
 * the request and the city runs until it answers (sessions included) or
 * 30 s of virtual time pass. node1 must answer, end every session the
 * request started within 40 s more, and keep a sound ledger. Requests that
 * name files (imports, a gc session's circuit) are not sent: the harness
 * would read whatever path the fuzzer made up; nor are training runs
 * longer than the harness waits.
 *
 * The committed seeds (tests/fuzz/corpus/ctl) are requests of every kind,
 * written by the first call when WARD_FUZZ_CTL_SEEDS=DIR is set. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_city.h"
#include "ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- seeds ----------------------------------------------------------------------- */

static void write_seed(const char *out_dir, const char *name, Ward__Control__Request *req) {
    req->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    req->id = 1;
    size_t len = ward__control__request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) abort();
    ward__control__request__pack(req, buf);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", out_dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
}

static void make_seeds(const char *out_dir) {
    static const struct {
        const char *name, *op;
        const char *args[20];
    } jobs[] = {
        {"sum_exact", "sum", {"t.v", "--parties", "all", "--exact"}},
        {"mean_dp", "mean", {"t.v", "--parties", "all", "--group-by", "k", "--domain", "0,1,2", "--epsilon", "0.5"}},
        {"count_alloc", "count", {"t", "--parties", "node1,node2", "--where", "v > 10 and k = 1"}},
        {"histogram", "histogram", {"t.v", "--parties", "all", "--group-by", "weekday(ts),hour(ts)", "--output", "node1"}},
        {"max_gc", "max", {"t.v", "--agg", "sum", "--parties", "all", "--compute", "node1,node2"}},
        {"threshold_gc", "threshold", {"t.v", "--agg", "count", "--threshold", "5", "--parties", "all", "--compute", "node1,node3"}},
        {"train", "train", {"--table", "t", "--features", "w[0,10]", "--label", "v[0,100]", "--model", "linear",
                            "--parties", "all", "--rounds", "2", "--epsilon", "1", "--clip", "1"}},
    };
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        fuzz_request r;
        fuzz_request_make(&r, jobs[j].op, jobs[j].args);
        write_seed(out_dir, jobs[j].name, &r.req);
        fuzz_request_clear(&r);
    }
    /* The requests without arguments, and the audit with --verify. */
    {
        Ward__Control__Request req;
        Ward__Control__StatusRequest st;
        Ward__Control__PeersRequest pe;
        Ward__Control__TablesRequest ta;
        Ward__Control__BudgetRequest bu;
        ward__control__status_request__init(&st);
        ward__control__peers_request__init(&pe);
        ward__control__tables_request__init(&ta);
        ward__control__budget_request__init(&bu);
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_STATUS;
        req.status = &st;
        write_seed(out_dir, "status", &req);
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_PEERS;
        req.peers = &pe;
        write_seed(out_dir, "peers", &req);
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_TABLES;
        req.tables = &ta;
        write_seed(out_dir, "tables", &req);
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_BUDGET;
        req.budget = &bu;
        write_seed(out_dir, "budget", &req);
    }
    Ward__Control__Request req;
    ward__control__request__init(&req);
    Ward__Control__AuditRequest ar;
    ward__control__audit_request__init(&ar);
    ar.verify = 1;
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AUDIT;
    req.audit = &ar;
    write_seed(out_dir, "audit_verify", &req);
}

/* ---- the harness ------------------------------------------------------------------ */

static int answered;

static void on_reply(void *ctx, size_t node, uint64_t client, const uint8_t *data, size_t len) {
    (void)ctx;
    (void)client;
    if (node != 0) return;
    Ward__Control__Response *r = ward__control__response__unpack(NULL, len, data);
    if (!r) abort(); /* a node answers in its own protocol */
    if (r->error != 0 && r->message[0] == '\0') abort(); /* an error says what */
    ward__control__response__free_unpacked(r, NULL);
    answered++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *seeds = getenv("WARD_FUZZ_CTL_SEEDS");
    if (seeds && *seeds) {
        make_seeds(seeds);
        exit(0);
    }
    Ward__Control__Request *req = ward__control__request__unpack(NULL, size, data);
    if (!req) return 0; /* the node answers "malformed control request"; nothing deeper */
    /* Not sent: requests that make the node read a path (imports, a gc
     * session's circuit file), and training runs longer than the harness
     * waits (their answer comes at the end). */
    int skip = req->command_case == WARD__CONTROL__REQUEST__COMMAND_IMPORT_TABLE ||
               req->command_case == WARD__CONTROL__REQUEST__COMMAND_LDP_IMPORT ||
               req->command_case == WARD__CONTROL__REQUEST__COMMAND_GC;
    if (req->command_case == WARD__CONTROL__REQUEST__COMMAND_TRAIN && req->train &&
        (req->train->rounds > 20 || (uint64_t)req->train->pace_ms * req->train->rounds > 10000))
        skip = 1;
    if (skip) {
        ward__control__request__free_unpacked(req, NULL);
        return 0;
    }
    ward_sim *sim = fuzz_city_new(11, NULL, NULL);
    ward_sim_set_reply_handler(sim, on_reply, NULL);
    answered = 0;
    uint64_t client = 0;
    int rc = ward_sim_control_submit(sim, &client, 0, req);
    ward__control__request__free_unpacked(req, NULL);
    if (rc != WARD_OK) abort();
    uint64_t end = ward_sim_now(sim) + 30000;
    while (!answered && ward_sim_now(sim) < end) ward_sim_run_until(sim, ward_sim_now(sim) + 500);
    if (!answered && ward_sim_node_up(sim, 0)) abort(); /* every request gets an answer */
    /* Every session it started ends (a detached training party waits ten
     * session timeouts, 30 s, to rejoin), and the ledger stays sound. */
    if (ward_sim_node_up(sim, 0) && !fuzz_city_drain(sim, 0, 40000)) abort();
    if (ward_sim_node_up(sim, 0)) {
        ward_ledger l;
        if (ward_ledger_open(&l, ward_sim_store(sim, 0)) != WARD_OK) abort();
    }
    fuzz_city_free(sim);
    return 0;
}
