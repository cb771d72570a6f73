/* `ward bench fl`: federated-training rounds (node/session_fl.c) between
 * 10 real node processes on 127.0.0.1, timed by a client on the
 * proposer's control socket.
 *
 * Figures:
 *   round_ms_n10_p10k, round_ms_n10_p100k
 *       the wall time of one training round with 10 parties and a
 *       10,000- or 100,000-coordinate update: every party Shamir-shares its
 *       clipped fixed-point update (t = 6) to the 9 others, reports to the
 *       coordinator, receives the contributor set, sends its share of the
 *       sum to the 9 others, and opens the sum from 6 of them. The updates
 *       are random vectors within the declared bound (TrainSpec
 *       .synthetic_params: the models of node/learn.h stop near 66,000
 *       parameters), so local training is not included. Measured as the
 *       difference between a run of R + K rounds and one of R rounds,
 *       divided by K (session setup, statistics and metrics rounds cancel);
 *       the median of 3 such pairs. Anchored by the goal (50 ms)
 *       and the paper's FL average (134.2 ms).
 *   bytes_per_party_round_n10_p10k, ..._p100k
 *       what one party sends per round: 9 share messages and 9 sum messages
 *       of p field elements (the envelopes' encoded sizes, chunking and the
 *       Noise tag and frame header of every 65,519-byte piece included),
 *       plus its report; computed from the message sizes, not sniffed.
 *       Anchored by the raw payload, 2 x 9 x 8p bytes.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "envelope.h"
#include "error.h"
#include "rng.h"
#include "sim_city.h"
#include "wire.pb-c.h"

#define FL_NODES 10u
#define FL_ROWS 200u
#define PROBE_PORT 27600u

static const char anchor_goal[] = "goal (issue)";
static const char anchor_paper[] = "the paper's FL round (avg)";
static const char anchor_raw[] = "raw payload 2(n-1) x 8p bytes";

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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One training run from node1 with p synthetic coordinates; *ms its wall time. */
static int one_run(double *ms, const char *sock, unsigned rounds, unsigned p) {
    Ward__Control__TrainRequest tr;
    ward__control__train_request__init(&tr);
    char *feat[1] = {(char *)"x[0,1]"};
    Ward__Control__Parties pp;
    ward__control__parties__init(&pp);
    pp.all = 1;
    tr.table = (char *)"fl";
    tr.n_features = 1;
    tr.features = feat;
    tr.label = (char *)"y>0.5";
    tr.model = WARD__CONTROL__MODEL__MODEL_LOGREG;
    tr.parties = &pp;
    tr.rounds = rounds;
    tr.synthetic_params = p;
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
    req.train = &tr;
    Ward__Control__Response *r = NULL;
    char msg[1024];
    double t0 = ward_bench_now();
    int rc = ward_ctl_call(&r, msg, sizeof msg, sock, &req, 600000);
    *ms = (ward_bench_now() - t0) * 1000.0;
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: bench fl: %s\n", msg);
        return rc;
    }
    if (r->error != 0 || r->result_case != WARD__CONTROL__RESPONSE__RESULT_TRAIN) {
        fprintf(stderr, "ward: bench fl: %s\n", r->message && r->message[0] ? r->message : "no result");
        rc = r->error ? r->error : WARD_EPARSE;
    }
    ward__control__response__free_unpacked(r, NULL);
    return rc;
}

/* Bytes on the wire for one FlUpdate of p elements: the envelope, cut into
 * pieces of at most WARD_WIRE_MAX_MSG, each with a 16-byte tag and a
 * 4-byte frame header (a chunk's own header fields are counted as 40). */
static double wire_bytes(unsigned p, int vec, unsigned nparties) {
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    uint64_t *el = calloc(p ? p : 1, sizeof *el);
    char *names[FL_NODES];
    char nm[FL_NODES][8];
    for (unsigned i = 0; i < FL_NODES; i++) {
        snprintf(nm[i], sizeof nm[i], "node%u", i + 1);
        names[i] = nm[i];
    }
    uint8_t sid[32] = {0}, hash[32] = {0};
    u.fl_round = 7;
    u.step = vec ? WARD__WIRE__FL_STEP__FL_STEP_SHARE : WARD__WIRE__FL_STEP__FL_STEP_HOLD;
    if (vec) {
        for (unsigned i = 0; el && i < p; i++) el[i] = (1ULL << 61) - 2 - i; /* full-width values */
        u.field = WARD__WIRE__FIELD__FIELD_P61;
        u.n_elements = el ? p : 0;
        u.elements = el;
    } else {
        u.n_parties = nparties;
        u.parties = names;
        u.model_hash.data = hash;
        u.model_hash.len = 32;
    }
    ward_envelope e;
    ward__wire__envelope__init(&e);
    e.version_major = WARD_WIRE_VERSION_MAJOR;
    e.version_minor = WARD_WIRE_VERSION_MINOR;
    e.session_id.data = sid;
    e.session_id.len = 32;
    e.kind = WARD__WIRE__KIND__KIND_FL_UPDATE;
    e.round = 7;
    e.sender = (char *)"node10";
    e.seq = 1000;
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_FL_UPDATE;
    e.fl_update = &u;
    double len = (double)ward__wire__envelope__get_packed_size(&e) + 3; /* Message wrapper */
    free(el);
    double pieces = len <= WARD_WIRE_MAX_MSG ? 1 : (double)((uint64_t)len / (WARD_WIRE_MAX_MSG - 120) + 1);
    return len + pieces * (16 + 4 + (pieces > 1 ? 40 : 0));
}

static int measure(ward_bench_report *r, const char *sock, unsigned p, const char *tag, int quick) {
    unsigned base = 2, extra = quick ? 5 : 20;
    double d[3];
    int pairs = quick ? 1 : 3;
    for (int i = 0; i < pairs; i++) {
        double a, b;
        int rc = one_run(&a, sock, base, p);
        if (rc == WARD_OK) rc = one_run(&b, sock, base + extra, p);
        if (rc != WARD_OK) return rc;
        d[i] = (b - a) / extra;
    }
    qsort(d, (size_t)pairs, sizeof d[0], cmp_double);
    char name[64];
    snprintf(name, sizeof name, "round_ms_n%u_%s", FL_NODES, tag);
    ward_bench_add(r, name, d[pairs / 2], "ms", anchor_paper, 134.2);
    /* The goal (<= 50 ms) is for 10,000 parameters only. */
    if (p == 10000) {
        snprintf(name, sizeof name, "round_ms_n%u_%s_goal", FL_NODES, tag);
        ward_bench_add(r, name, d[pairs / 2], "ms", anchor_goal, 50);
    }
    double per = 2.0 * (FL_NODES - 1) * wire_bytes(p, 1, 0) + wire_bytes(0, 0, FL_NODES);
    snprintf(name, sizeof name, "bytes_per_party_round_n%u_%s", FL_NODES, tag);
    ward_bench_add(r, name, per, "bytes", anchor_raw, 2.0 * (FL_NODES - 1) * 8.0 * p);
    return WARD_OK;
}

int ward_bench_fl(ward_bench_report *r) {
    char tmpl[] = "/tmp/ward-bench-fl-XXXXXX";
    if (!mkdtemp(tmpl)) return WARD_EIO;
    char cdir[64], ddir[64];
    snprintf(cdir, sizeof cdir, "%s/city", tmpl);
    snprintf(ddir, sizeof ddir, "%s/data", tmpl);
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    static ward_sim_city c;
    int rc = mkdir(ddir, 0700) == 0 ? WARD_OK : WARD_EIO;
    /* A small table per node: x uniform, y = 1 when x > 0.5, with noise. */
    ward_rng rng;
    ward_rng_init_u64(&rng, 42);
    for (unsigned k = 1; rc == WARD_OK && k <= FL_NODES; k++) {
        char path[700];
        snprintf(path, sizeof path, "%s/fl-%u.csv", ddir, k);
        FILE *f = fopen(path, "w");
        if (!f) {
            rc = WARD_EIO;
            break;
        }
        fputs("x,y\n", f);
        for (unsigned i = 0; i < FL_ROWS; i++) {
            unsigned x = (unsigned)ward_rng_uniform(&rng, 1000);
            unsigned y = (x > 500) ^ (ward_rng_uniform(&rng, 10) == 0);
            fprintf(f, "0.%03u,%u\n", x, y);
        }
        if (fclose(f) != 0) rc = WARD_EIO;
    }
    ward_rng_clear(&rng);
    if (rc == WARD_OK && ward_sim_city_init(&c, cdir, FL_NODES, NULL) != 0) rc = WARD_EIO;
    if (rc == WARD_OK) {
        live_city = &c;
        if (ward_sim_city_up(&c, 0, PROBE_PORT, NULL) != 0) rc = WARD_EIO;
    }
    int up = rc == WARD_OK;
    for (unsigned k = 1; rc == WARD_OK && k <= FL_NODES; k++) {
        char nd[PATH_MAX + 64], sock[PATH_MAX + 64], msg[1024], file[700];
        ward_sim_city_node_dir(nd, sizeof nd, &c, k);
        if (ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, nd) != WARD_OK) rc = WARD_ETOOBIG;
        snprintf(file, sizeof file, "%s/fl-%u.csv", ddir, k);
        uint64_t rows;
        if (rc == WARD_OK && ward_ctl_import(&rows, msg, sizeof msg, sock, "fl", file, "medium", NULL) != 0) {
            fprintf(stderr, "ward: bench fl: import at %s: %s\n", c.names[k], msg);
            rc = WARD_EIO;
        }
    }
    char nd[PATH_MAX + 64], sock[PATH_MAX + 64], msg[1024];
    if (rc == WARD_OK) {
        ward_sim_city_node_dir(nd, sizeof nd, &c, 1);
        if (ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, nd) != WARD_OK) rc = WARD_ETOOBIG;
    }
    if (rc == WARD_OK) rc = measure(r, sock, 10000, "p10k", r->quick);
    if (rc == WARD_OK) rc = measure(r, sock, 100000, "p100k", r->quick);
    if (up) ward_sim_city_stop(&c);
    live_city = NULL;
    nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}
