#include "fuzz_city.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"
#include "error.h"
#include "store.h"

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

static void import_tables(ward_sim *sim) {
    for (size_t i = 0; i < FUZZ_CITY_NODES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/t-%zu.csv", dir, i);
        FILE *f = fopen(path, "w");
        if (!f) abort();
        fprintf(f, "ts,k,v,w\n");
        for (int r = 0; r < 40; r++)
            fprintf(f, "2024-03-%02d %02d:00:00,%d,%d,%d.%d\n", 1 + r % 28, r % 24, r % 3,
                    (int)((r * 37 + (int)i * 11) % 101), r % 7, r % 10);
        if (fclose(f) != 0) abort();
        ward_import_options opt;
        memset(&opt, 0, sizeof opt);
        opt.schema = "k:integer[0,2],v:integer[0,100],w:decimal(1)[0,10]";
        opt.now_ms = (int64_t)WARD_SIM_EPOCH_MS;
        ward_import_report rep;
        if (ward_store_import(ward_sim_store(sim, i), &rep, "t", path, &opt) != WARD_OK) abort();
        remove(path);
    }
}

ward_sim *fuzz_city_new(uint64_t seed,
                        void (*rx)(void *ctx, const char *self, const char *peer,
                                   const uint8_t *msg, size_t len),
                        void *rx_ctx) {
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", "/tmp/ward-fuzz-city-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    clean_dir();
    ward_sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nodes = FUZZ_CITY_NODES;
    cfg.seed = seed;
    cfg.dir = dir;
    cfg.allow_exact = 1;
    cfg.session_timeout_ms = 3000;
    cfg.rx_hook = rx;
    cfg.rx_ctx = rx_ctx;
    ward_sim *sim = NULL;
    if (ward_sim_new(&sim, &cfg) != WARD_OK) abort();
    import_tables(sim);
    if (ward_sim_run_connected(sim, 5000) != WARD_OK) abort();
    return sim;
}

int fuzz_city_drain(ward_sim *sim, size_t node, uint64_t limit_ms) {
    uint64_t end = ward_sim_now(sim) + limit_ms;
    for (;;) {
        ward_core_stats st;
        if (ward_sim_node_stats(sim, node, &st) != WARD_OK) return 0;
        if (st.sessions_active == 0) return 1;
        if (ward_sim_now(sim) >= end) return 0;
        ward_sim_run_until(sim, ward_sim_now(sim) + 500);
    }
}

void fuzz_city_free(ward_sim *sim) {
    ward_sim_free(sim);
    clean_dir();
}

enum { KIND_AGG = 1, KIND_DECIDE, KIND_TRAIN };

void fuzz_request_make(fuzz_request *r, const char *op, const char *const *args) {
    memset(r, 0, sizeof *r);
    ward__control__request__init(&r->req);
    r->req.version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    r->req.id = 1;
    char **argv = r->argv;
    int argc = 0;
    while (argc < 32 && args[argc]) argv[argc] = (char *)args[argc], argc++;
    char msg[600];
    int bad;
    if (strcmp(op, "train") == 0) {
        ward_ctl_train_req *q = calloc(1, sizeof *q);
        if (!q) abort();
        bad = ward_ctl_train_parse(q, msg, sizeof msg, argc, argv);
        r->req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
        r->req.train = &q->tr;
        r->parsed = q;
        r->kind = KIND_TRAIN;
    } else if (ward_ctl_is_aggregate(op)) {
        ward_ctl_agg_req *q = calloc(1, sizeof *q);
        if (!q) abort();
        bad = ward_ctl_agg_parse(q, msg, sizeof msg, op, argc, argv);
        r->req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
        r->req.aggregate = &q->ag;
        r->parsed = q;
        r->kind = KIND_AGG;
    } else {
        ward_ctl_decide_req *q = calloc(1, sizeof *q);
        if (!q) abort();
        bad = ward_ctl_decide_parse(q, msg, sizeof msg, op, argc, argv);
        r->req.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
        r->req.decide = &q->dr;
        r->parsed = q;
        r->kind = KIND_DECIDE;
    }
    if (bad) {
        fprintf(stderr, "fuzz seed %s: %s\n", op, msg);
        abort();
    }
}

void fuzz_request_clear(fuzz_request *r) {
    if (r->kind == KIND_TRAIN) ward_ctl_train_req_clear(r->parsed);
    if (r->kind == KIND_AGG) ward_ctl_agg_req_clear(r->parsed);
    if (r->kind == KIND_DECIDE) ward_ctl_decide_req_clear(r->parsed);
    free(r->parsed);
    memset(r, 0, sizeof *r);
}
