/* Running a scenario: the city's data, the schedule of faults and sessions,
 * the final heal and drain, and the reports. The invariants are in
 * run_inv.c. */
#include "run.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "hex.h"
#include "run_internal.h"

#define RUN_RNG_CITY 100

_Static_assert((int)WARD_RUN_BUG_CORRUPT_SHARE == (int)WARD_TEST_FAULT_CORRUPT_SHARE &&
                   (int)WARD_RUN_BUG_SKIP_SHARE == (int)WARD_TEST_FAULT_SKIP_SHARE &&
                   (int)WARD_RUN_BUG_SKIP_DEBIT == (int)WARD_TEST_FAULT_SKIP_DEBIT &&
                   (int)WARD_RUN_BUG_NOISE_OFF_BY_ONE == (int)WARD_TEST_FAULT_NOISE_OFF_BY_ONE &&
                   (int)WARD_RUN_BUG_FL_WRONG_ROUND == (int)WARD_TEST_FAULT_FL_WRONG_ROUND,
               "ward_run_bug values are ward_core_config.test_fault values");

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the temporary directory --------------------------------------------------- */

static int make_dir(char *out, size_t cap, const char *base) {
    const char *cands[4] = {base, getenv("WARD_SIM_TMPDIR"), "/dev/shm", getenv("TMPDIR")};
    for (size_t i = 0; i < 5; i++) {
        const char *b = i < 4 ? cands[i] : "/tmp";
        if (!b || !*b || access(b, W_OK | X_OK) != 0) continue;
        if ((size_t)snprintf(out, cap, "%s/ward-sim-XXXXXX", b) >= cap) continue;
        if (mkdtemp(out)) return WARD_OK;
    }
    return WARD_EIO;
}

/* Resident memory now (Linux), in MiB; 0 when unknown. */
static double rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0 : 0;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char path[1024];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path) unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- links ----------------------------------------------------------------------- */

static int link_calm(const ward_sim_link *l) {
    return l->loss == 0 && l->latency_ms + l->jitter_ms <= 500 &&
           (l->bandwidth_kbps == 0 || l->bandwidth_kbps >= 1000);
}

static void recompute_links(run_ctx *r) {
    r->net_calm = link_calm(&r->cur_link);
    if (r->cur_link.loss > WARD_RUN_RECONNECT_MAX_LOSS) r->loss_high = 1;
    for (size_t i = 0; i < r->n_links; i++) {
        r->net_calm &= link_calm(&r->links[i].link);
        if (r->links[i].link.loss > WARD_RUN_RECONNECT_MAX_LOSS) r->loss_high = 1;
    }
}

static void apply_set(ward_sim_link *l, const ward_sc_item *it) {
    if (it->link_set & WARD_SC_SET_LATENCY) l->latency_ms = it->link.latency_ms;
    if (it->link_set & WARD_SC_SET_JITTER) l->jitter_ms = it->link.jitter_ms;
    if (it->link_set & WARD_SC_SET_LOSS) l->loss = it->link.loss;
    if (it->link_set & WARD_SC_SET_BANDWIDTH) l->bandwidth_kbps = it->link.bandwidth_kbps;
}

static void apply_link(run_ctx *r, const ward_sc_item *it) {
    if (it->a < 0) {
        apply_set(&r->cur_link, it);
        ward_sim_set_link(r->sim, -1, -1, &r->cur_link);
    } else {
        uint32_t a = (uint32_t)(it->a < it->b ? it->a : it->b), b = (uint32_t)(it->a < it->b ? it->b : it->a);
        run_link *l = NULL;
        for (size_t i = 0; i < r->n_links; i++)
            if (r->links[i].a == a && r->links[i].b == b) l = &r->links[i];
        if (!l) {
            run_link *nl = realloc(r->links, (r->n_links + 1) * sizeof *nl);
            if (!nl) return;
            r->links = nl;
            l = &r->links[r->n_links++];
            *l = (run_link){.a = a, .b = b, .link = r->cur_link};
        }
        apply_set(&l->link, it);
        ward_sim_set_link(r->sim, a, b, &l->link);
    }
    recompute_links(r);
    /* A change of the network restarts the clock of calm. */
    r->epoch++;
    r->last_change_ms = ward_sim_now(r->sim);
    if (r->active == 0) inv_watch_begin(r);
}

/* ---- faults ------------------------------------------------------------------------ */

static void disruption_begin(run_ctx *r) {
    r->active++;
    r->epoch++;
    r->last_change_ms = ward_sim_now(r->sim);
    r->watch = 0;
}

static void disruption_end(run_ctx *r) {
    if (r->active) r->active--;
    r->last_change_ms = ward_sim_now(r->sim);
    if (r->active == 0) inv_watch_begin(r);
}

static ward_run_session *session_of_item(run_ctx *r, size_t item) {
    for (size_t i = 0; i < r->rep->n_sessions; i++)
        if (r->rep->sessions[i].item == &r->sc->items[item]) return &r->rep->sessions[i];
    return NULL;
}

static void lose_sessions(run_ctx *r, uint32_t node) {
    for (size_t i = 0; i < r->rep->n_sessions; i++) {
        ward_run_session *s = &r->rep->sessions[i];
        if (s->status == WARD_RUN_PENDING && s->item->node == node) {
            s->status = WARD_RUN_LOST;
            s->reply_ms = ward_sim_now(r->sim);
            snprintf(s->error, sizeof s->error, "the proposer crashed before answering");
        }
    }
    for (size_t k = 0; k < r->n_trains; k++) {
        run_train *t = &r->trains[k];
        if (t->status == WARD_RUN_PENDING && t->item->node == node) {
            t->status = WARD_RUN_LOST;
            t->reply_ms = ward_sim_now(r->sim);
            snprintf(t->error, sizeof t->error, "the proposer crashed before answering");
        }
    }
}

/* The latest active partition other than `except`, or -1. */
static long active_partition(run_ctx *r, size_t except) {
    long best = -1;
    for (size_t i = 0; i < r->sc->n; i++) {
        if (i == except || !r->item_active[i] || r->sc->items[i].kind != WARD_SC_PARTITION) continue;
        if (best < 0 || r->sc->items[i].at_ms >= r->sc->items[best].at_ms) best = (long)i;
    }
    return best;
}

static long active_tamper(run_ctx *r, size_t except, uint32_t from, uint32_t to) {
    long best = -1;
    for (size_t i = 0; i < r->sc->n; i++) {
        const ward_sc_item *it = &r->sc->items[i];
        if (i == except || !r->item_active[i] || it->kind != WARD_SC_TAMPER || it->node != from || it->to != to)
            continue;
        if (best < 0 || it->at_ms >= r->sc->items[best].at_ms) best = (long)i;
    }
    return best;
}

static void submit_session(run_ctx *r, size_t item);
static void submit_train(run_ctx *r, size_t item);

/* A fault begins: the trains running mark the parties it takes away, or
 * that the network is no longer whole. */
static void trains_fault(run_ctx *r, const ward_sc_item *it) {
    for (size_t k = 0; k < r->n_trains; k++) {
        run_train *t = &r->trains[k];
        if (t->status != WARD_RUN_PENDING) continue;
        if (it->kind == WARD_SC_CRASH || it->kind == WARD_SC_STALL) t->lost[it->node] = 1;
        else t->disturbed = 1;
    }
}

static void item_start(run_ctx *r, size_t i) {
    const ward_sc_item *it = &r->sc->items[i];
    uint64_t now = ward_sim_now(r->sim);
    if (it->kind == WARD_SC_CRASH || it->kind == WARD_SC_STALL || it->kind == WARD_SC_PARTITION ||
        it->kind == WARD_SC_TAMPER || it->kind == WARD_SC_OUTSIDER)
        trains_fault(r, it);
    switch (it->kind) {
    case WARD_SC_LINK:
        apply_link(r, it);
        break;
    case WARD_SC_SESSION:
        submit_session(r, i);
        break;
    case WARD_SC_TRAIN:
        submit_train(r, i);
        break;
    case WARD_SC_PARTITION:
        r->item_active[i] = 1;
        disruption_begin(r);
        ward_sim_partition(r->sim, it->groups, r->n);
        break;
    case WARD_SC_CRASH:
        r->item_active[i] = 1;
        disruption_begin(r);
        if (r->crash_count[it->node]++ == 0) {
            if (r->stall_count[it->node]) {
                r->stall_count[it->node] = 0;
                r->stall_since[it->node] = 0;
            }
            lose_sessions(r, it->node);
            ward_sim_crash(r->sim, it->node);
        }
        break;
    case WARD_SC_STALL:
        r->item_active[i] = 1;
        disruption_begin(r);
        if (r->crash_count[it->node] == 0 && r->stall_count[it->node]++ == 0) {
            r->stall_since[it->node] = now + 1;
            ward_sim_stall(r->sim, it->node);
        }
        break;
    case WARD_SC_TAMPER:
        r->item_active[i] = 1;
        disruption_begin(r);
        ward_sim_tamper(r->sim, it->node, it->to, (ward_sim_tamper_mode)it->mode, it->rate);
        break;
    case WARD_SC_OUTSIDER: {
        size_t idx;
        if (ward_sim_outsider_spawn(r->sim, &idx, (ward_sim_outsider_mode)it->mode) == WARD_OK) {
            r->outsider_of[i] = idx;
            r->item_active[i] = 1;
        }
        break;
    }
    default:
        break;
    }
}

static void item_end(run_ctx *r, size_t i) {
    if (!r->item_active[i]) return;
    const ward_sc_item *it = &r->sc->items[i];
    uint64_t now = ward_sim_now(r->sim);
    r->item_active[i] = 0;
    switch (it->kind) {
    case WARD_SC_PARTITION: {
        long other = active_partition(r, i);
        if (other >= 0) ward_sim_partition(r->sim, r->sc->items[other].groups, r->n);
        else ward_sim_heal(r->sim);
        disruption_end(r);
        break;
    }
    case WARD_SC_CRASH:
        if (r->crash_count[it->node] && --r->crash_count[it->node] == 0)
            ward_sim_restart(r->sim, it->node);
        disruption_end(r);
        break;
    case WARD_SC_STALL:
        if (r->stall_count[it->node] && --r->stall_count[it->node] == 0) {
            uint64_t since = r->stall_since[it->node] - 1;
            for (size_t k = 0; k < r->rep->n_sessions; k++) {
                ward_run_session *s = &r->rep->sessions[k];
                if (s->status == WARD_RUN_PENDING && s->item->node == it->node)
                    s->stalled_ms += now - (since > s->submit_ms ? since : s->submit_ms);
            }
            r->stall_since[it->node] = 0;
            ward_sim_resume(r->sim, it->node);
        }
        disruption_end(r);
        break;
    case WARD_SC_TAMPER: {
        long other = active_tamper(r, i, it->node, it->to);
        if (other >= 0) {
            const ward_sc_item *o = &r->sc->items[other];
            ward_sim_tamper(r->sim, o->node, o->to, (ward_sim_tamper_mode)o->mode, o->rate);
        } else {
            ward_sim_tamper(r->sim, it->node, it->to, WARD_SIM_TAMPER_NONE, 0);
        }
        disruption_end(r);
        break;
    }
    case WARD_SC_OUTSIDER:
        ward_sim_outsider_stop(r->sim, r->outsider_of[i]);
        break;
    default:
        break;
    }
}

static void on_item(ward_sim *sim, void *ctx, uint64_t arg) {
    (void)sim;
    run_ctx *r = ctx;
    if (r->healed) return;
    if (arg & 1) item_end(r, (size_t)(arg >> 1));
    else item_start(r, (size_t)(arg >> 1));
}

/* The end of the scenario: every fault still in force ends now. */
static void on_heal(ward_sim *sim, void *ctx, uint64_t arg) {
    (void)sim;
    (void)arg;
    run_ctx *r = ctx;
    for (size_t i = 0; i < r->sc->n; i++) item_end(r, i);
    r->healed = 1;
    if (r->active == 0 && !r->watch) inv_watch_begin(r);
}

static void on_check(ward_sim *sim, void *ctx, uint64_t arg) {
    (void)arg;
    run_ctx *r = ctx;
    inv_periodic(r);
    uint64_t next = ward_sim_now(sim) + WARD_RUN_CHECK_MS;
    if (next < r->end_ms) ward_sim_at(sim, next, on_check, r, 0);
}

static void on_final(ward_sim *sim, void *ctx, uint64_t arg) {
    (void)sim;
    (void)arg;
    inv_final(ctx);
}

/* ---- sessions ------------------------------------------------------------------------ */

static Ward__Control__AggregateOp control_op(ward_city_op op) {
    switch (op) {
    case WARD_CITY_SUM: return WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM;
    case WARD_CITY_COUNT: return WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT;
    case WARD_CITY_MEAN: return WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN;
    default: return WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM;
    }
}

static int network_whole(const run_ctx *r) {
    for (size_t i = 0; i < r->n; i++)
        if (!inv_fully_connected(r, i)) return 0;
    return 1;
}

static void submit_session(run_ctx *r, size_t item) {
    ward_run_session *s = session_of_item(r, item);
    if (!s) return;
    const ward_sc_item *it = s->item;
    uint64_t now = ward_sim_now(r->sim);
    s->submit_ms = now;
    if (!ward_sim_node_up(r->sim, it->node)) {
        s->status = WARD_RUN_NOT_RUN;
        snprintf(s->error, sizeof s->error, "the proposer was down");
        return;
    }
    s->calm = r->net_calm && r->active == 0 && (r->epoch == 0 || now >= r->last_change_ms + WARD_RUN_SETTLE_MS) &&
              network_whole(r);
    s->epoch = r->epoch;
    Ward__Control__Request req;
    Ward__Control__AggregateRequest agg;
    Ward__Control__Parties parties;
    ward__control__request__init(&req);
    ward__control__aggregate_request__init(&agg);
    ward__control__parties__init(&parties);
    char **names = calloc(r->n, sizeof *names), **outs = calloc(r->n, sizeof *outs);
    if (!names || !outs) {
        free(names);
        free(outs);
        s->status = WARD_RUN_NOT_RUN;
        snprintf(s->error, sizeof s->error, "out of memory");
        return;
    }
    parties.all = it->parties == NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (it->parties && it->parties[i]) names[parties.n_names++] = (char *)ward_sim_node_name(r->sim, i);
        if (it->output && it->output[i]) outs[agg.n_output++] = (char *)ward_sim_node_name(r->sim, i);
    }
    parties.names = names;
    agg.op = control_op(it->query.op);
    agg.table = (char *)it->query.table;
    agg.column = (char *)it->query.column;
    agg.where = (char *)it->query.where;
    agg.group_by = (char *)it->query.group_by;
    agg.parties = &parties;
    agg.output = outs;
    Ward__Control__Number eps;
    ward__control__number__init(&eps);
    if (it->epsilon > 0) {
        eps.value = it->epsilon;
        agg.epsilon = &eps;
    } else {
        agg.exact = 1;
    }
    req.id = (uint64_t)(s - r->rep->sessions) + 1;
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req.aggregate = &agg;
    int rc = ward_sim_control_submit(r->sim, &s->client, it->node, &req);
    free(names);
    free(outs);
    if (rc != WARD_OK) {
        s->status = WARD_RUN_NOT_RUN;
        snprintf(s->error, sizeof s->error, "could not submit: %s", ward_strerror(rc));
        return;
    }
    s->status = WARD_RUN_PENDING;
}

static void submit_train(run_ctx *r, size_t item) {
    run_train *t = NULL;
    for (size_t k = 0; k < r->n_trains && !t; k++)
        if (r->trains[k].item == &r->sc->items[item]) t = &r->trains[k];
    if (!t) return;
    const ward_sc_item *it = t->item;
    t->submit_ms = ward_sim_now(r->sim);
    if (!ward_sim_node_up(r->sim, it->node)) {
        t->status = WARD_RUN_NOT_RUN;
        snprintf(t->error, sizeof t->error, "the proposer was down");
        return;
    }
    /* Faults already in progress count as if they began now. */
    for (size_t i = 0; i < r->sc->n; i++) {
        if (!r->item_active[i]) continue;
        const ward_sc_item *f = &r->sc->items[i];
        if (f->kind == WARD_SC_CRASH || f->kind == WARD_SC_STALL) t->lost[f->node] = 1;
        else if (f->kind == WARD_SC_PARTITION || f->kind == WARD_SC_TAMPER || f->kind == WARD_SC_OUTSIDER)
            t->disturbed = 1;
    }
    Ward__Control__Request req;
    Ward__Control__TrainRequest tr;
    Ward__Control__Parties parties;
    ward__control__request__init(&req);
    ward__control__train_request__init(&tr);
    ward__control__parties__init(&parties);
    char **names = calloc(r->n, sizeof *names);
    if (!names) {
        t->status = WARD_RUN_NOT_RUN;
        snprintf(t->error, sizeof t->error, "out of memory");
        return;
    }
    parties.all = it->parties == NULL;
    for (size_t i = 0; i < r->n; i++)
        if (it->parties && it->parties[i]) names[parties.n_names++] = (char *)ward_sim_node_name(r->sim, i);
    parties.names = names;
    char *feat[1] = {(char *)it->features};
    tr.table = (char *)it->query.table;
    tr.n_features = 1;
    tr.features = feat;
    tr.label = (char *)it->label;
    tr.model = (Ward__Control__Model)it->model; /* the same numbers as ward_learn_kind */
    tr.parties = &parties;
    tr.rounds = it->rounds;
    tr.pace_ms = it->pace_ms;
    req.id = 1000000 + (uint64_t)(t - r->trains);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
    req.train = &tr;
    int rc = ward_sim_control_submit(r->sim, &t->client, it->node, &req);
    free(names);
    if (rc != WARD_OK) {
        t->status = WARD_RUN_NOT_RUN;
        snprintf(t->error, sizeof t->error, "could not submit: %s", ward_strerror(rc));
        return;
    }
    t->status = WARD_RUN_PENDING;
}

/* The answer to a train directive; 1 if the reply was one. */
static int train_reply(run_ctx *r, size_t node, uint64_t client, const uint8_t *data, size_t len) {
    run_train *t = NULL;
    for (size_t k = 0; k < r->n_trains && !t; k++) {
        run_train *x = &r->trains[k];
        if (x->status == WARD_RUN_PENDING && x->client == client && x->item->node == node) t = x;
    }
    if (!t) return 0;
    t->reply_ms = ward_sim_now(r->sim);
    Ward__Control__Response *resp = ward__control__response__unpack(NULL, len, data);
    if (!resp) {
        t->status = WARD_RUN_ERROR;
        snprintf(t->error, sizeof t->error, "the reply does not parse");
    } else if (resp->error != 0) {
        t->status = WARD_RUN_ERROR;
        snprintf(t->error, sizeof t->error, "%s", resp->message ? resp->message : "(no message)");
    } else if (resp->result_case != WARD__CONTROL__RESPONSE__RESULT_TRAIN || !resp->train) {
        t->status = WARD_RUN_ERROR;
        snprintf(t->error, sizeof t->error, "an answer that is not a training result");
    } else {
        const Ward__Control__TrainResult *x = resp->train;
        t->status = WARD_RUN_OK;
        snprintf(t->session_id, sizeof t->session_id, "%s", x->session ? x->session : "");
        snprintf(t->model_hash, sizeof t->model_hash, "%s", x->model_hash ? x->model_hash : "");
        t->threshold = x->threshold;
        t->n_parties = x->n_parties;
        t->n_finished = x->n_finished;
        for (size_t p = 0; p < x->n_finished; p++) {
            uint64_t k = 0;
            if (strncmp(x->finished[p], "node", 4) == 0 &&
                ward_scenario_parse_uint(&k, x->finished[p] + 4, r->n) == WARD_OK && k >= 1)
                t->finished[k - 1] = 1;
        }
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    return 1;
}

/* Every node's noise for a private session, as it joins the node's
 * vector: summed per session for the dp_result invariant. */
static void on_noise(void *ctx, const uint8_t session_id[32], const int64_t *noise, size_t len) {
    run_ctx *r = ctx;
    char id[65];
    if (ward_hex_encode_var(id, sizeof id, session_id, 32) != WARD_OK) {
        r->noise_lost = 1;
        return;
    }
    run_noise *e = NULL;
    for (size_t i = 0; i < r->n_noise && !e; i++)
        if (strcmp(r->noise[i].id, id) == 0) e = &r->noise[i];
    if (!e) {
        run_noise *v = realloc(r->noise, (r->n_noise + 1) * sizeof *v);
        int64_t *sum = calloc(len ? len : 1, sizeof *sum);
        if (!v || !sum) {
            if (v) r->noise = v;
            free(sum);
            r->noise_lost = 1;
            return;
        }
        r->noise = v;
        e = &r->noise[r->n_noise++];
        memset(e, 0, sizeof *e);
        memcpy(e->id, id, sizeof id);
        e->len = len;
        e->sum = sum;
    }
    if (e->len != len) {
        e->mismatch = 1;
        return;
    }
    for (size_t i = 0; i < len; i++) e->sum[i] += noise[i];
    e->parties++;
}

const run_noise *run_noise_of(const run_ctx *r, const char *session_id) {
    for (size_t i = 0; i < r->n_noise; i++)
        if (strcmp(r->noise[i].id, session_id) == 0) return &r->noise[i];
    return NULL;
}

static void on_reply(void *ctx, size_t node, uint64_t client, const uint8_t *data, size_t len) {
    run_ctx *r = ctx;
    if (train_reply(r, node, client, data, len)) return;
    ward_run_session *s = NULL;
    for (size_t i = 0; i < r->rep->n_sessions && !s; i++) {
        ward_run_session *x = &r->rep->sessions[i];
        if (x->status == WARD_RUN_PENDING && x->client == client && x->item->node == node) s = x;
    }
    if (!s) return;
    s->reply_ms = ward_sim_now(r->sim);
    Ward__Control__Response *resp = ward__control__response__unpack(NULL, len, data);
    if (!resp) {
        s->status = WARD_RUN_ERROR;
        snprintf(s->error, sizeof s->error, "the reply does not parse");
    } else if (resp->error != 0) {
        s->status = WARD_RUN_ERROR;
        snprintf(s->error, sizeof s->error, "%s", resp->message ? resp->message : "(no message)");
    } else if (resp->result_case != WARD__CONTROL__RESPONSE__RESULT_AGGREGATE || !resp->aggregate) {
        s->status = WARD_RUN_ERROR;
        snprintf(s->error, sizeof s->error, "an answer that is not an aggregate result");
    } else {
        const Ward__Control__AggregateResult *a = resp->aggregate;
        s->status = WARD_RUN_OK;
        snprintf(s->session, sizeof s->session, "%.16s", a->session ? a->session : "");
        snprintf(s->session_id, sizeof s->session_id, "%s", a->session ? a->session : "");
        s->dp = a->epsilon != NULL;
        s->noise_sd = a->noise_sd ? a->noise_sd->value : 0;
        s->count_noise_sd = a->count_noise_sd ? a->count_noise_sd->value : 0;
        s->has_value = a->value != NULL;
        s->value = a->value ? a->value->value : 0;
        s->n_groups = 0;
        for (size_t g = 0; g < a->n_groups && g < WARD_CITY_MAX_GROUPS; g++) {
            snprintf(s->label[g], sizeof s->label[g], "%.11s", a->groups[g]->key);
            s->gvalue[g] = a->groups[g]->value;
            s->n_groups++;
        }
        if (a->n_groups > WARD_CITY_MAX_GROUPS) s->n_groups = WARD_CITY_MAX_GROUPS + 1;
        s->n_parties = a->n_parties;
        uint8_t *is_party = calloc(r->n, 1);
        int names_ok = is_party != NULL;
        for (size_t p = 0; names_ok && p < a->n_parties; p++) {
            const char *nm = a->parties[p];
            uint64_t k = 0;
            if (strncmp(nm, "node", 4) != 0 || ward_scenario_parse_uint(&k, nm + 4, r->n) != WARD_OK || k == 0)
                names_ok = 0;
            else is_party[k - 1] = 1;
        }
        if (names_ok &&
            ward_city_answer_query(&r->city, &s->expected, &s->item->query, is_party) == WARD_OK)
            s->checked = 1;
        else if (!names_ok) snprintf(s->error, sizeof s->error, "the result names an unknown party");
        free(s->is_party);
        s->is_party = names_ok ? is_party : NULL;
        if (!names_ok) free(is_party);
    }
    if (resp) ward__control__response__free_unpacked(resp, NULL);
    inv_session_answered(r, s);
}

/* ---- the run ------------------------------------------------------------------------------ */

static size_t count_faults(const ward_scenario *sc) {
    size_t n = 0;
    for (size_t i = 0; i < sc->n; i++) {
        const ward_sc_item *it = &sc->items[i];
        switch (it->kind) {
        case WARD_SC_SESSION: break;
        case WARD_SC_CLOCK: n += it->clock.skew_ms != 0 || it->clock.drift_ppm != 0; break;
        case WARD_SC_LINK: n += it->a >= 0 || it->at_ms > 0 || it->link.loss > 0; break;
        default: n++; break;
        }
    }
    return n;
}

static int setup(run_ctx *r, char *why, size_t why_cap, char *dir) {
    const ward_run_options *opt = r->opt;
    const ward_scenario *sc = r->sc;
    size_t n = opt->nodes;
    r->n = n;
    r->timeout_ms = opt->session_timeout_ms ? opt->session_timeout_ms : 10000;
    r->item_active = calloc(sc->n + 1, 1);
    r->outsider_of = calloc(sc->n + 1, sizeof *r->outsider_of);
    r->crash_count = calloc(n, sizeof *r->crash_count);
    r->stall_count = calloc(n, sizeof *r->stall_count);
    r->stall_since = calloc(n, sizeof *r->stall_since);
    r->watch_ok = calloc(n, 1);
    ward_sim_clock *clocks = calloc(n, sizeof *clocks);
    size_t n_sessions = 0;
    for (size_t i = 0; i < sc->n; i++) n_sessions += sc->items[i].kind == WARD_SC_SESSION;
    r->rep->sessions = calloc(n_sessions + 1, sizeof *r->rep->sessions);
    size_t n_trains = 0;
    for (size_t i = 0; i < sc->n; i++) n_trains += sc->items[i].kind == WARD_SC_TRAIN;
    r->trains = calloc(n_trains + 1, sizeof *r->trains);
    for (size_t i = 0, k = 0; r->trains && i < sc->n; i++) {
        if (sc->items[i].kind != WARD_SC_TRAIN) continue;
        run_train *t = &r->trains[k++];
        t->item = &sc->items[i];
        t->finished = calloc(n, 1);
        t->lost = calloc(n, 1);
        r->n_trains = k;
        if (!t->finished || !t->lost) {
            free(clocks);
            snprintf(why, why_cap, "out of memory");
            return WARD_ENOMEM;
        }
    }
    if (!r->trains || !r->item_active || !r->outsider_of || !r->crash_count || !r->stall_count || !r->stall_since ||
        !r->watch_ok || !clocks || !r->rep->sessions) {
        free(clocks);
        snprintf(why, why_cap, "out of memory");
        return WARD_ENOMEM;
    }
    for (size_t i = 0; i < sc->n; i++) {
        const ward_sc_item *it = &sc->items[i];
        if (it->kind == WARD_SC_SESSION) r->rep->sessions[r->rep->n_sessions++].item = it;
        if (it->kind == WARD_SC_CLOCK) {
            clocks[it->node] = it->clock;
            int32_t d = it->clock.drift_ppm < 0 ? -it->clock.drift_ppm : it->clock.drift_ppm;
            if (d > r->max_drift) r->max_drift = d;
        }
    }
    /* Proposer: proposed phase, then committed phase, each one timeout by
     * its own clock, noticed on a tick; the rest is slack for delivery. */
    double rate = 1.0 + 2.0 * (double)r->max_drift / 1e6;
    r->session_bound_ms = (uint64_t)((2.0 * r->timeout_ms + 500.0) * rate) + 500;
    r->cur_link = opt->link;
    for (size_t i = 0; i < sc->n; i++) {
        const ward_sc_item *it = &sc->items[i];
        if (it->kind == WARD_SC_LINK && it->a < 0 && it->at_ms == 0) apply_set(&r->cur_link, it);
    }
    int rc = make_dir(dir, 512, opt->tmpdir);
    if (rc != WARD_OK) {
        free(clocks);
        snprintf(why, why_cap, "cannot make a temporary directory for the node databases");
        return rc;
    }
    ward_rng master, city_rng;
    ward_rng_init_u64(&master, opt->seed);
    ward_rng_fork(&city_rng, &master, RUN_RNG_CITY);
    ward_rng_clear(&master);
    rc = ward_city_load(&r->city, n, &city_rng);
    ward_rng_clear(&city_rng);
    if (rc != WARD_OK) {
        free(clocks);
        snprintf(why, why_cap, "the built-in city data does not load: %s", ward_strerror(rc));
        return rc;
    }
    ward_sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nodes = n;
    cfg.seed = opt->seed;
    cfg.dir = dir;
    cfg.latency_ms = r->cur_link.latency_ms;
    cfg.jitter_ms = r->cur_link.jitter_ms;
    cfg.loss = r->cur_link.loss;
    cfg.bandwidth_kbps = r->cur_link.bandwidth_kbps;
    cfg.allow_exact = 1;
    cfg.session_timeout_ms = opt->session_timeout_ms;
    cfg.clocks = clocks;
    cfg.test_fault = (uint32_t)opt->bug;
    cfg.test_fault_node = opt->bug_node;
    cfg.noise_hook = on_noise;
    cfg.noise_ctx = r;
    rc = ward_sim_new(&r->sim, &cfg);
    free(clocks);
    if (rc != WARD_OK) {
        snprintf(why, why_cap, "the simulator did not start: %s", ward_strerror(rc));
        return rc;
    }
    /* Latency 0 is honoured from here on (the config's 0 means 1 ms). */
    ward_sim_set_link(r->sim, -1, -1, &r->cur_link);
    ward_sim_set_reply_handler(r->sim, on_reply, r);
    rc = ward_city_import(&r->city, r->sim, dir, why, why_cap);
    if (rc != WARD_OK) return rc;
    recompute_links(r);
    return WARD_OK;
}

int ward_run(ward_run_report *rep, char *why, size_t why_cap, const ward_run_options *opt,
             const ward_scenario *sc) {
    WARD_ARG_CHECK(rep != NULL && why != NULL && opt != NULL && sc != NULL);
    memset(rep, 0, sizeof *rep);
    why[0] = '\0';
    WARD_ARG_CHECK(opt->nodes >= 1 && opt->nodes <= WARD_SIM_MAX_NODES && sc->nodes == opt->nodes);
    WARD_ARG_CHECK(opt->bug == WARD_RUN_BUG_NONE || opt->bug_node < opt->nodes);
    double t0 = wall_now();
    run_ctx r;
    memset(&r, 0, sizeof r);
    r.opt = opt;
    r.sc = sc;
    r.rep = rep;
    char dir[512] = "";
    int rc = setup(&r, why, why_cap, dir);
    if (rc == WARD_OK) {
        rep->rows = ward_city_rows(&r.city);
        rep->faults = count_faults(sc);
        uint64_t last = ward_scenario_last_ms(sc);
        r.heal_ms = sc->has_end && sc->end_ms > last ? sc->end_ms : last + 1000;
        r.end_ms = r.heal_ms + WARD_RUN_DRAIN_MS;
        for (size_t i = 0; i < sc->n && rc == WARD_OK; i++) {
            const ward_sc_item *it = &sc->items[i];
            if (it->kind == WARD_SC_CLOCK || (it->kind == WARD_SC_LINK && it->a < 0 && it->at_ms == 0))
                continue;
            rc = ward_sim_at(r.sim, it->at_ms, on_item, &r, (uint64_t)i << 1);
            if (rc == WARD_OK && it->has_until)
                rc = ward_sim_at(r.sim, it->until_ms, on_item, &r, ((uint64_t)i << 1) | 1);
        }
        if (rc == WARD_OK) rc = ward_sim_at(r.sim, r.heal_ms, on_heal, &r, 0);
        if (rc == WARD_OK) rc = ward_sim_at(r.sim, WARD_RUN_CHECK_MS, on_check, &r, 0);
        if (rc == WARD_OK) rc = ward_sim_at(r.sim, r.end_ms, on_final, &r, 0);
        if (rc != WARD_OK) snprintf(why, why_cap, "cannot schedule the scenario: %s", ward_strerror(rc));
    }
    if (rc == WARD_OK) {
        inv_watch_begin(&r);
        ward_sim_run_until(r.sim, r.end_ms);
        ward_sim_digest(r.sim, rep->digest);
        ward_sim_get_stats(r.sim, &rep->net);
        rep->virtual_ms = ward_sim_now(r.sim);
        rep->rss_end_mib = rss_mib();
        for (size_t i = 0; i < rep->n_sessions; i++) {
            ward_run_session *s = &rep->sessions[i];
            rep->ok += s->status == WARD_RUN_OK;
            rep->failed += s->status == WARD_RUN_ERROR || s->status == WARD_RUN_PENDING;
            rep->lost += s->status == WARD_RUN_LOST;
            rep->not_run += s->status == WARD_RUN_NOT_RUN;
            rep->calm += s->calm && s->epoch == r.epoch;
            rep->dp += s->item->epsilon > 0;
            rep->dp_ok += s->item->epsilon > 0 && s->status == WARD_RUN_OK;
        }
        rep->trains = r.n_trains;
        for (size_t k = 0; k < r.n_trains; k++) rep->trains_ok += r.trains[k].status == WARD_RUN_OK;
    }
    ward_sim_free(r.sim);
    ward_city_free(&r.city);
    if (dir[0] && !opt->keep_dir) remove_dir(dir);
    free(r.item_active);
    free(r.outsider_of);
    free(r.crash_count);
    free(r.stall_count);
    free(r.stall_since);
    free(r.watch_ok);
    free(r.links);
    for (size_t i = 0; i < r.n_noise; i++) free(r.noise[i].sum);
    free(r.noise);
    for (size_t k = 0; k < r.n_trains; k++) {
        free(r.trains[k].finished);
        free(r.trains[k].lost);
    }
    free(r.trains);
    rep->wall_s = wall_now() - t0;
    return rc;
}

void ward_run_report_free(ward_run_report *rep) {
    if (!rep) return;
    for (size_t i = 0; i < rep->n_violations; i++) free(rep->violations[i]);
    free(rep->violations);
    for (size_t i = 0; rep->sessions && i < rep->n_sessions; i++) free(rep->sessions[i].is_party);
    free(rep->sessions);
    memset(rep, 0, sizeof *rep);
}

/* ---- reports ------------------------------------------------------------------------------- */

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20) fprintf(out, "\\u%04x", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static const char *status_name(ward_run_status s) {
    switch (s) {
    case WARD_RUN_OK: return "ok";
    case WARD_RUN_ERROR: return "error";
    case WARD_RUN_LOST: return "lost";
    case WARD_RUN_PENDING: return "no-answer";
    default: return "not-run";
    }
}

static void json_answer(FILE *out, const ward_city_answer *a) {
    if (!a->grouped) {
        if (a->present[0]) fprintf(out, "%.17g", a->value[0]);
        else fputs("null", out);
        return;
    }
    fputc('{', out);
    int first = 1;
    for (size_t g = 0; g < a->n_groups; g++) {
        if (!a->present[g]) continue;
        fprintf(out, "%s\"%s\": %.17g", first ? "" : ", ", a->label[g], a->value[g]);
        first = 0;
    }
    fputc('}', out);
}

int ward_run_write_json(const ward_run_report *rep, const ward_run_options *opt, FILE *out) {
    WARD_ARG_CHECK(rep != NULL && opt != NULL && out != NULL);
    char hex[65];
    ward_hex_encode_var(hex, sizeof hex, rep->digest, 32);
    fprintf(out, "{\"trace_digest\": \"%s\", \"seed\": %llu, \"nodes\": %zu, \"virtual_ms\": %llu, ",
            hex, (unsigned long long)opt->seed, opt->nodes, (unsigned long long)rep->virtual_ms);
    fprintf(out,
            "\"counts\": {\"sessions\": %zu, \"ok\": %zu, \"failed\": %zu, \"lost\": %zu, "
            "\"not_run\": %zu, \"calm\": %zu, \"dp\": %zu, \"faults\": %zu, \"rows\": %zu, \"events\": %llu, "
            "\"retransmits\": %llu, \"resets\": %llu, \"tampered_writes\": %llu, "
            "\"outsider_dials\": %llu, \"crashes\": %llu, \"stalls\": %llu, \"partitions\": %llu},\n",
            rep->n_sessions, rep->ok, rep->failed, rep->lost, rep->not_run, rep->calm, rep->dp, rep->faults,
            rep->rows, (unsigned long long)rep->net.events, (unsigned long long)rep->net.retransmits,
            (unsigned long long)rep->net.resets, (unsigned long long)rep->net.tampered_writes,
            (unsigned long long)rep->net.outsider_dials, (unsigned long long)rep->net.crashes,
            (unsigned long long)rep->net.stalls, (unsigned long long)rep->net.partitions);
    fputs(" \"results\": [", out);
    for (size_t i = 0; i < rep->n_sessions; i++) {
        const ward_run_session *s = &rep->sessions[i];
        const ward_city_query *q = &s->item->query;
        fprintf(out, "%s\n  {\"index\": %zu, \"at_ms\": %llu, \"from\": \"node%u\", \"op\": \"%s\", ",
                i ? "," : "", i, (unsigned long long)s->item->at_ms, s->item->node + 1,
                ward_scenario_op_name(q->op));
        fputs("\"table\": ", out);
        json_str(out, q->table);
        fputs(", \"column\": ", out);
        json_str(out, q->column);
        fputs(", \"group_by\": ", out);
        json_str(out, q->group_by);
        fputs(", \"where\": ", out);
        json_str(out, q->where);
        fprintf(out, ", \"status\": \"%s\", \"calm\": %s", status_name(s->status), s->calm ? "true" : "false");
        if (s->item->epsilon > 0) fprintf(out, ", \"epsilon\": %.17g", s->item->epsilon);
        if (s->status == WARD_RUN_OK) {
            fprintf(out, ", \"session\": \"%s\", \"parties\": %zu, \"latency_ms\": %llu, \"value\": ", s->session,
                    s->n_parties, (unsigned long long)(s->reply_ms - s->submit_ms));
            if (s->has_value) fprintf(out, "%.17g", s->value);
            else fputs("null", out);
            fputs(", \"groups\": ", out);
            if (s->n_groups || s->expected.grouped) {
                fputc('{', out);
                for (size_t g = 0; g < s->n_groups && g < WARD_CITY_MAX_GROUPS; g++)
                    fprintf(out, "%s\"%s\": %.17g", g ? ", " : "", s->label[g], s->gvalue[g]);
                fputc('}', out);
            } else {
                fputs("null", out);
            }
            if (s->checked) {
                fputs(", \"expected\": ", out);
                json_answer(out, &s->expected);
            }
        } else if (s->error[0]) {
            fputs(", \"error\": ", out);
            json_str(out, s->error);
        }
        fputc('}', out);
    }
    fputs("],\n \"violations\": [", out);
    for (size_t i = 0; i < rep->n_violations; i++) {
        fputs(i ? ",\n  " : "\n  ", out);
        json_str(out, rep->violations[i]);
    }
    fputs("]}\n", out);
    return ferror(out) ? WARD_EIO : WARD_OK;
}

int ward_run_write_text(const ward_run_report *rep, const ward_run_options *opt, FILE *out) {
    WARD_ARG_CHECK(rep != NULL && opt != NULL && out != NULL);
    char hex[65];
    ward_hex_encode_var(hex, sizeof hex, rep->digest, 32);
    fprintf(out, "ward sim run: %zu nodes, seed %llu, %.1f s virtual in %.2f s\n", opt->nodes,
            (unsigned long long)opt->seed, (double)rep->virtual_ms / 1000.0, rep->wall_s);
    fprintf(out, "trace_digest %s\n", hex);
    fprintf(out,
            "sessions: %zu (%zu ok, %zu failed, %zu lost with their proposer, %zu not run; %zu calm; "
            "%zu private, %zu of them ok)\n",
            rep->n_sessions, rep->ok, rep->failed, rep->lost, rep->not_run, rep->calm, rep->dp, rep->dp_ok);
    if (rep->trains) fprintf(out, "training: %zu runs, %zu finished with a model\n", rep->trains, rep->trains_ok);
    fprintf(out,
            "faults: %zu scheduled; network: %llu retransmissions, %llu resets, %llu tampered writes, "
            "%llu outsider dials\n",
            rep->faults, (unsigned long long)rep->net.retransmits, (unsigned long long)rep->net.resets,
            (unsigned long long)rep->net.tampered_writes, (unsigned long long)rep->net.outsider_dials);
    for (size_t i = 0; i < rep->n_sessions; i++) {
        const ward_run_session *s = &rep->sessions[i];
        const ward_city_query *q = &s->item->query;
        fprintf(out, "  [%zu] %6llu ms node%u %s %s%s%s%s%s: %s", i, (unsigned long long)s->item->at_ms,
                s->item->node + 1, ward_scenario_op_name(q->op), q->table, q->column[0] ? "." : "", q->column,
                q->group_by[0] ? " by " : "", q->group_by, status_name(s->status));
        if (s->item->epsilon > 0) fprintf(out, " [dp epsilon %g]", s->item->epsilon);
        if (s->status == WARD_RUN_OK && s->has_value) fprintf(out, " %.10g", s->value);
        else if (s->status == WARD_RUN_OK && s->n_groups) fprintf(out, " %zu groups", s->n_groups);
        else if (s->status == WARD_RUN_OK && s->item->output && !s->item->output[s->item->node])
            fprintf(out, " (contributed; the result went to the output parties)");
        else if (s->status == WARD_RUN_OK) fprintf(out, " null (no rows)");
        else if (s->error[0]) fprintf(out, " (%s)", s->error);
        fputc('\n', out);
    }
    fprintf(out, "violations: %zu\n", rep->n_violations);
    for (size_t i = 0; i < rep->n_violations; i++) fprintf(out, "  %s\n", rep->violations[i]);
    return ferror(out) ? WARD_EIO : WARD_OK;
}
