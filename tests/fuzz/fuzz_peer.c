/* Fuzzes what an authenticated peer can send a node: the messages of its
 * channel after decryption (HELLO done; envelopes of every session kind,
 * chunks, pings, closes). The input is up to 32 messages, each a 2-byte
 * little-endian length and its bytes. For each input a fresh simulated city
 * of three nodes (netsim/sim.h; node1, node2, node3, each holding a small
 * table `t`) connects; node1 then receives the messages as if node2 had
 * sent them (ward_sim_test_deliver), 20 ms of virtual time apart, and the
 * city runs 12 s more so that every session the messages started times out
 * or ends. A bad message must close the channel or be refused, never crash
 * or leak; node1 must still be up, and its ledger sound.
 *
 * The committed seeds are real conversations: with WARD_FUZZ_PEER_SEEDS=DIR
 * set, the first call runs sessions of every kind proposed by node2 (an
 * exact sum, a private mean per group, a private count, a histogram, a
 * garbled-circuit max, a federated training run) and writes, per session,
 * the messages node1 received from node2, then exits. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_cmd.h"
#include "error.h"
#include "ledger.h"
#include "sim.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 32
#define NODES 3

static char dir[64];

static void clean_dir(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
    }
    closedir(d);
}

/* Each node's table t: ts, k (a group), v in [0, 100], w (a feature). */
static int import_tables(ward_sim *sim) {
    for (size_t i = 0; i < NODES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/t-%zu.csv", dir, i);
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        fprintf(f, "ts,k,v,w\n");
        for (int r = 0; r < 40; r++)
            fprintf(f, "2024-03-%02d %02d:00:00,%d,%d,%d.%d\n", 1 + r % 28, r % 24, r % 3,
                    (int)((r * 37 + (int)i * 11) % 101), r % 7, r % 10);
        fclose(f);
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        opt.schema = "k:integer[0,2],v:integer[0,100],w:decimal(1)[0,10]";
        opt.now_ms = (int64_t)WARD_SIM_EPOCH_MS;
        ward_import_report rep;
        int rc = ward_store_import(ward_sim_store(sim, i), &rep, "t", path, &opt);
        remove(path);
        if (rc != WARD_OK) return -1;
    }
    return 0;
}

static ward_sim *city(void (*rx)(void *, const char *, const char *, const uint8_t *, size_t),
                      void *rx_ctx) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", "/tmp/ward-fuzz-peer-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    clean_dir();
    ward_sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nodes = NODES;
    cfg.seed = 7;
    cfg.dir = dir;
    cfg.allow_exact = 1;
    cfg.session_timeout_ms = 3000;
    cfg.rx_hook = rx;
    cfg.rx_ctx = rx_ctx;
    ward_sim *sim = NULL;
    if (ward_sim_new(&sim, &cfg) != WARD_OK) abort();
    if (import_tables(sim) != 0) abort();
    if (ward_sim_run_connected(sim, 5000) != WARD_OK) abort();
    return sim;
}

/* ---- seeds ----------------------------------------------------------------------- */

typedef struct {
    uint8_t buf[1 << 16];
    size_t len, msgs;
} recording;

static void record(void *ctx, const char *self, const char *peer, const uint8_t *msg, size_t len) {
    recording *r = ctx;
    if (strcmp(self, "node1") != 0 || strcmp(peer, "node2") != 0) return;
    if (r->msgs >= MAX_MSGS || len > 0xffff || r->len + 2 + len > sizeof r->buf) return;
    r->buf[r->len++] = (uint8_t)len;
    r->buf[r->len++] = (uint8_t)(len >> 8);
    memcpy(r->buf + r->len, msg, len);
    r->len += len;
    r->msgs++;
}

static void run_request(ward_sim *sim, Ward__Control__Request *req) {
    Ward__Control__Response *resp = NULL;
    req->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    req->id = 1;
    if (ward_sim_control(sim, &resp, 1, req, 60000) == WARD_OK && resp) {
        if (resp->error != 0) fprintf(stderr, "seed session refused: %s\n", resp->message);
        ward__control__response__free_unpacked(resp, NULL);
    } else {
        fprintf(stderr, "seed session: no answer\n");
    }
    ward_sim_run_until(sim, ward_sim_now(sim) + 4000);
}

static void write_seed(const char *out_dir, const char *name, const recording *r) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", out_dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fwrite(r->buf, 1, r->len, f);
    fclose(f);
    fprintf(stderr, "seed %s: %zu messages, %zu bytes\n", name, r->msgs, r->len);
}

static void make_seeds(const char *out_dir) {
    static const struct {
        const char *name, *op;
        const char *args[16];
    } jobs[] = {
        {"sum_exact", "sum", {"t.v", "--parties", "all", "--exact"}},
        {"mean_dp", "mean", {"t.v", "--parties", "all", "--group-by", "k", "--domain", "0,1,2", "--epsilon", "0.5"}},
        {"count_dp", "count", {"t", "--parties", "node1,node2", "--where", "v > 10", "--epsilon", "0.3"}},
        {"histogram", "histogram", {"t.v", "--parties", "all", "--group-by", "hour(ts)", "--exact"}},
        {"max_gc", "max", {"t.v", "--agg", "sum", "--parties", "all", "--compute", "node1,node2"}},
        {"train", "train", {"--table", "t", "--features", "w[0,10]", "--label", "v[0,100]", "--model", "linear",
                            "--parties", "all", "--rounds", "2"}},
    };
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        static recording rec;
        memset(&rec, 0, sizeof rec);
        ward_sim *sim = city(record, &rec);
        rec.len = rec.msgs = 0; /* only the session's own messages */
        char *argv[16];
        int argc = 0;
        while (argc < 16 && jobs[j].args[argc]) argv[argc] = (char *)jobs[j].args[argc], argc++;
        char msg[600];
        Ward__Control__Request req;
        ward__control__request__init(&req);
        if (strcmp(jobs[j].op, "train") == 0) {
            ward_ctl_train_req q;
            if (ward_ctl_train_parse(&q, msg, sizeof msg, argc, argv) != 0) {
                fprintf(stderr, "%s: %s\n", jobs[j].name, msg);
                abort();
            }
            req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
            req.train = &q.tr;
            run_request(sim, &req);
            ward_ctl_train_req_clear(&q);
        } else if (strcmp(jobs[j].op, "max") == 0) {
            ward_ctl_decide_req q;
            if (ward_ctl_decide_parse(&q, msg, sizeof msg, jobs[j].op, argc, argv) != 0) {
                fprintf(stderr, "%s: %s\n", jobs[j].name, msg);
                abort();
            }
            req.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
            req.decide = &q.dr;
            run_request(sim, &req);
            ward_ctl_decide_req_clear(&q);
        } else {
            ward_ctl_agg_req q;
            if (ward_ctl_agg_parse(&q, msg, sizeof msg, jobs[j].op, argc, argv) != 0) {
                fprintf(stderr, "%s: %s\n", jobs[j].name, msg);
                abort();
            }
            req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
            req.aggregate = &q.ag;
            run_request(sim, &req);
            ward_ctl_agg_req_clear(&q);
        }
        write_seed(out_dir, jobs[j].name, &rec);
        ward_sim_free(sim);
    }
    clean_dir();
    rmdir(dir);
}

/* ---- the harness ------------------------------------------------------------------ */

static int check_ledger(ward_sim *sim) {
    ward_store *st = ward_sim_store(sim, 0);
    if (!st) return -1;
    ward_ledger l;
    int rc = ward_ledger_open(&l, st);
    return rc == WARD_OK ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *seeds = getenv("WARD_FUZZ_PEER_SEEDS");
    if (seeds && *seeds) {
        make_seeds(seeds);
        exit(0);
    }
    ward_sim *sim = city(NULL, NULL);
    size_t off = 0;
    for (int m = 0; m < MAX_MSGS && off + 2 <= size; m++) {
        size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (len > size - off) len = size - off;
        int rc = ward_sim_test_deliver(sim, 0, "node2", data + off, len);
        off += len;
        if (rc != WARD_OK) break; /* the channel is closed: the rest would go nowhere */
        ward_sim_run_until(sim, ward_sim_now(sim) + 20);
    }
    ward_sim_run_until(sim, ward_sim_now(sim) + 12000);
    if (!ward_sim_node_up(sim, 0)) abort();
    if (check_ledger(sim) != 0) abort();
    ward_sim_free(sim);
    return 0;
}
