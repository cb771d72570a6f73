/* Fuzzes what an authenticated peer can send a node: the messages of its
 * channel after decryption (HELLO done; envelopes of every session kind,
 * chunks, pings, closes). The input is up to 32 messages, each a 2-byte
 * little-endian length and its bytes. For each input a fresh simulated city
 * of three nodes (netsim/sim.h; node1, node2, node3, each holding a small
 * table `t`) connects; node1 then receives the messages as if node2 had
 * sent them (ward_sim_test_deliver), 20 ms of virtual time apart, and the
 * city runs 40 s more (a detached training party waits ten session
 * timeouts, 30 s, to rejoin). A bad message must close the channel or be
 * refused, never crash or leak; every session the messages started must
 * have ended, and node1's ledger must be sound.
 *
 * The committed seeds are real conversations: with WARD_FUZZ_PEER_SEEDS=DIR
 * set, the first call runs sessions of every kind proposed by node2 (an
 * exact sum, a private mean per group, a private count, a histogram, a
 * garbled-circuit max, a federated training run) and writes, per session,
 * the messages node1 received from node2, then exits. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fuzz_city.h"
#include "ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS 32

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

static void write_seed(const char *out_dir, const char *name, const recording *r) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", out_dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(r->buf, 1, r->len, f) != r->len || fclose(f) != 0) abort();
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
    static recording rec;
    for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
        memset(&rec, 0, sizeof rec);
        ward_sim *sim = fuzz_city_new(7, record, &rec);
        rec.len = rec.msgs = 0; /* only the session's own messages */
        fuzz_request r;
        fuzz_request_make(&r, jobs[j].op, jobs[j].args);
        Ward__Control__Response *resp = NULL;
        if (ward_sim_control(sim, &resp, 1, &r.req, 60000) != WARD_OK || !resp || resp->error != 0) {
            fprintf(stderr, "seed %s: %s\n", jobs[j].name, resp ? resp->message : "no answer");
            abort();
        }
        ward__control__response__free_unpacked(resp, NULL);
        ward_sim_run_until(sim, ward_sim_now(sim) + 4000);
        fuzz_request_clear(&r);
        write_seed(out_dir, jobs[j].name, &rec);
        fuzz_city_free(sim);
    }
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
    ward_sim *sim = fuzz_city_new(7, NULL, NULL);
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
    if (!fuzz_city_drain(sim, 0, 40000)) abort();
    if (check_ledger(sim) != 0) abort();
    fuzz_city_free(sim);
    return 0;
}
