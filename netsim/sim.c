/* The simulator: nodes, the event loop, timers, control requests, crash,
 * restart, stall, outsiders and the trace digest. Connections and the link
 * model are in sim_net.c. */
#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "hex.h"
#include "noise.h"
#include "sim_internal.h"

/* ---- trace, scheduling, randomness -------------------------------------- */

void sim_trace(ward_sim *sim, const char *what, size_t node, uint64_t a, const uint8_t *data,
               size_t len) {
    uint8_t hdr[8 * 4];
    uint64_t v[4] = {sim->now, node, a, len};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) hdr[8 * i + j] = (uint8_t)(v[i] >> (8 * j));
    crypto_hash_sha256_update(&sim->trace, (const uint8_t *)what, strlen(what));
    crypto_hash_sha256_update(&sim->trace, hdr, sizeof hdr);
    if (len) crypto_hash_sha256_update(&sim->trace, data, len);
}

int sim_schedule(ward_sim *sim, uint64_t at_us, sim_msg *m) {
    if (at_us < sim->now) at_us = sim->now;
    int rc = ward_eventq_push(&sim->q, NULL, at_us, m->kind, m->node, m);
    if (rc != WARD_OK) {
        free(m->data);
        free(m);
        return rc;
    }
    size_t len = ward_eventq_len(&sim->q);
    if (len > sim->stats.max_queue) sim->stats.max_queue = len;
    return WARD_OK;
}

uint64_t sim_draw_below(ward_sim *sim, uint64_t bound) {
    return bound <= 1 ? 0 : ward_rng_uniform(&sim->rng, bound);
}

uint64_t sim_threshold(double p) {
    if (!(p > 0)) return 0;
    if (p >= 1) return UINT64_MAX;
    return (uint64_t)(p * 18446744073709551616.0);
}

/* ---- clocks ---------------------------------------------------------------- */

static uint64_t local_us(const sim_node *n, uint64_t t) {
    __int128 v = (__int128)WARD_SIM_EPOCH_MS * 1000 + n->skew_us + (__int128)t +
                 ((__int128)t * n->drift_ppm) / 1000000;
    return v < 0 ? 0 : (uint64_t)v;
}

static uint64_t local_ms(const sim_node *n, uint64_t t) { return local_us(n, t) / 1000; }

/* The earliest virtual time, not before now, at which the node's clock
 * reads at least at_ms. */
static uint64_t virtual_for_local(const ward_sim *sim, const sim_node *n, uint64_t at_ms) {
    __int128 want = (__int128)at_ms * 1000;
    __int128 target = want - ((__int128)WARD_SIM_EPOCH_MS * 1000 + n->skew_us);
    if (target <= 0) return sim->now;
    __int128 rate = 1000000 + n->drift_ppm;
    __int128 t = (target * 1000000 + rate - 1) / rate;
    /* Integer rounding of the drift term: settle on the exact boundary. */
    for (int i = 0; i < 4 && t > 0 && (__int128)local_us(n, (uint64_t)(t - 1)) >= want; i++) t--;
    for (int i = 0; i < 4 && (__int128)local_us(n, (uint64_t)t) < want; i++) t++;
    return (uint64_t)t < sim->now ? sim->now : (uint64_t)t;
}

uint64_t ward_sim_local_ms(const ward_sim *sim, size_t node) {
    return node < sim->n_nodes ? local_ms(&sim->nodes[node], sim->now) : 0;
}

/* ---- executing a core's actions -------------------------------------------- */

static void trace_action(ward_sim *sim, size_t node, const ward_action *a) {
    uint8_t meta[8 * 4];
    uint64_t v[4] = {(uint64_t)a->kind, a->conn ^ a->timer ^ a->client, a->at_ms, a->len};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) meta[8 * i + j] = (uint8_t)(v[i] >> (8 * j));
    sim_trace(sim, "act", node, a->kind == WARD_ACT_CONNECT ? a->port : 0, meta, sizeof meta);
    if (a->kind == WARD_ACT_CTL_REPLY && a->len)
        crypto_hash_sha256_update(&sim->trace, a->data, a->len);
}

static void run_actions(ward_sim *sim, uint32_t node) {
    sim_node *n = &sim->nodes[node];
    for (size_t i = 0; i < sim->actions.len; i++) {
        ward_action *a = &sim->actions.items[i];
        if (a->kind != WARD_ACT_LOG) trace_action(sim, node, a);
        switch (a->kind) {
        case WARD_ACT_CONNECT:
            net_connect(sim, node, a->conn, a->port);
            break;
        case WARD_ACT_SEND:
            net_send(sim, node, a->conn, a->data, a->len);
            break;
        case WARD_ACT_CLOSE:
            net_close(sim, node, a->conn);
            break;
        case WARD_ACT_TIMER_SET: {
            uint64_t gen = 0;
            ward_u64map_get(&sim->timer_map, node, a->timer, &gen);
            gen++;
            if (ward_u64map_put(&sim->timer_map, node, a->timer, gen) != WARD_OK) break;
            sim_msg *m = calloc(1, sizeof *m);
            if (!m) break;
            m->kind = EV_TIMER;
            m->node = node;
            m->id = a->timer;
            m->tgen = gen;
            m->incarnation = n->incarnation;
            sim_schedule(sim, virtual_for_local(sim, n, a->at_ms), m);
            break;
        }
        case WARD_ACT_TIMER_CANCEL: {
            uint64_t gen = 0;
            if (ward_u64map_get(&sim->timer_map, node, a->timer, &gen) == WARD_OK)
                ward_u64map_put(&sim->timer_map, node, a->timer, gen + 1);
            break;
        }
        case WARD_ACT_CTL_REPLY:
            if (a->client == n->waiting_client && n->waiting_client && !n->reply)
                n->reply = ward__control__response__unpack(NULL, a->len, a->data);
            else if (sim->reply_fn)
                sim->reply_fn(sim->reply_ctx, node, a->client, a->data, a->len);
            break;
        case WARD_ACT_LOG:
            if (sim->log)
                fprintf(stderr, "[%10.3f ms] %s: %s\n", (double)sim->now / 1000.0, n->name, a->text);
            break;
        default:
            break;
        }
    }
    ward_actions_reset(&sim->actions);
}

static void dispatch(ward_sim *sim, uint32_t node, const sim_app_ev *ev) {
    sim_node *n = &sim->nodes[node];
    if (!n->core) return;
    ward_core_event ce;
    memset(&ce, 0, sizeof ce);
    ce.kind = (ward_event_kind)ev->what;
    switch (ev->what) {
    case WARD_EV_CONN_OPEN:
    case WARD_EV_CONN_DATA:
    case WARD_EV_CONN_CLOSED: {
        sim_conn *c = net_conn(sim, ev->conn, ev->cgen);
        if (!c || !c->open[ev->side] || c->id[ev->side] != ev->id) return;
        if (ev->what == WARD_EV_CONN_CLOSED) net_side_closed(sim, ev->conn, ev->side);
        else if (ev->tampered) net_mark_tampered(sim, ev->conn, ev->side);
        ce.conn = ev->id;
        ce.data = ev->data;
        ce.len = ev->len;
        sim_trace(sim,
                  ev->what == WARD_EV_CONN_OPEN   ? "open"
                  : ev->what == WARD_EV_CONN_DATA ? "data"
                                                  : "closed",
                  node, ev->id, ev->data, ev->len);
        sim->stats.bytes_delivered += ev->len;
        break;
    }
    case WARD_EV_TIMER: {
        uint64_t gen = 0;
        if (ward_u64map_get(&sim->timer_map, node, ev->id, &gen) != WARD_OK || gen != ev->tgen)
            return;
        ce.timer = ev->id;
        sim_trace(sim, "timer", node, ev->id, NULL, 0);
        break;
    }
    case WARD_EV_CTL_REQUEST:
        ce.client = ev->id;
        ce.data = ev->data;
        ce.len = ev->len;
        sim_trace(sim, "ctl", node, ev->id, ev->data, ev->len);
        break;
    default:
        return;
    }
    sim->stats.deliveries++;
    ward_core_handle(n->core, &sim->actions, &ce, local_ms(n, sim->now));
    run_actions(sim, node);
    if (n->outsider && n->core) {
        ward_core_stats st;
        ward_core_get_stats(n->core, &st);
        if (st.peers_connected > 0) sim->stats.outsider_channels++;
    }
}

void sim_app_deliver(ward_sim *sim, uint32_t node, const sim_app_ev *ev) {
    sim_node *n = &sim->nodes[node];
    if (!n->core) return;
    if (!n->stalled) {
        dispatch(sim, node, ev);
        return;
    }
    if (n->n_held >= SIM_MAX_HELD) return; /* a kernel buffer that is full */
    if (n->n_held == n->cap_held) {
        size_t cap = n->cap_held ? 2 * n->cap_held : 64;
        sim_app_ev *h = realloc(n->held, cap * sizeof *h);
        if (!h) return;
        n->held = h;
        n->cap_held = cap;
    }
    sim_app_ev *h = &n->held[n->n_held];
    *h = *ev;
    h->data = NULL;
    if (ev->len) {
        h->data = malloc(ev->len);
        if (!h->data) return;
        memcpy(h->data, ev->data, ev->len);
    }
    n->n_held++;
}

static void drop_held(sim_node *n) {
    for (size_t i = 0; i < n->n_held; i++) free(n->held[i].data);
    free(n->held);
    n->held = NULL;
    n->n_held = n->cap_held = 0;
}

static int step(ward_sim *sim, uint64_t until_us) {
    const ward_event *top = ward_eventq_peek(&sim->q);
    if (!top || top->time > until_us) return 0;
    ward_event e;
    ward_eventq_pop(&sim->q, &e);
    if (e.time > sim->now) sim->now = e.time;
    sim->stats.events++;
    sim_msg *m = e.data;
    sim_node *n = &sim->nodes[m->node];
    switch (m->kind) {
    case EV_SYN:
    case EV_SEG:
    case EV_NOTIFY:
        net_on_event(sim, m);
        break;
    case EV_TIMER:
    case EV_CTL:
        if (n->core && m->incarnation == n->incarnation) {
            sim_app_ev ev;
            memset(&ev, 0, sizeof ev);
            ev.what = m->kind == EV_TIMER ? WARD_EV_TIMER : WARD_EV_CTL_REQUEST;
            ev.id = m->id;
            ev.tgen = m->tgen;
            ev.data = m->data;
            ev.len = m->len;
            sim_app_deliver(sim, m->node, &ev);
        }
        break;
    case EV_CALL:
        m->fn(sim, m->ctx, m->arg);
        break;
    default:
        break;
    }
    free(m->data);
    free(m);
    return 1;
}

/* ---- nodes ------------------------------------------------------------------ */

static int start_core(ward_sim *sim, size_t i) {
    sim_node *n = &sim->nodes[i];
    ward_core_config cc;
    memset(&cc, 0, sizeof cc);
    cc.name = n->name;
    cc.roster = n->roster;
    cc.static_priv = n->priv;
    cc.store = n->store_open ? &n->store : NULL;
    cc.allow_exact = n->outsider ? 0 : sim->cfg.allow_exact;
    cc.session_timeout_ms = sim->cfg.session_timeout_ms;
    cc.max_peer_sessions = sim->cfg.max_peer_sessions;
    if (sim->cfg.policies && !n->outsider && i < sim->cfg.nodes) cc.policy = sim->cfg.policies[i];
    if (sim->cfg.test_fault && i == sim->cfg.test_fault_node) cc.test_fault = sim->cfg.test_fault;
    cc.test_noise_hook = sim->cfg.noise_hook;
    cc.test_rx_hook = sim->cfg.rx_hook;
    cc.test_rx_ctx = sim->cfg.rx_ctx;
    cc.test_noise_ctx = sim->cfg.noise_ctx;
    int rc = ward_core_new(&n->core, &sim->actions, &cc, &n->rng, local_ms(n, sim->now));
    if (rc != WARD_OK) {
        ward_actions_reset(&sim->actions);
        return rc;
    }
    run_actions(sim, (uint32_t)i);
    return WARD_OK;
}

static int open_store(ward_sim *sim, size_t i) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s.db", sim->dir, sim->nodes[i].name);
    int rc = ward_store_open(&sim->nodes[i].store, path);
    sim->nodes[i].store_open = rc == WARD_OK;
    return rc;
}

/* The roster text: node i's key replaced by replace_hex when replace >= 0,
 * and an extra line appended when given. */
static int roster_text(const ward_sim *sim, char **out, size_t *out_len, long replace,
                       const char *replace_hex, const char *extra) {
    size_t cap = 128 + (sim->cfg.nodes + 1) * 128 + (extra ? strlen(extra) : 0);
    char *t = malloc(cap);
    if (!t) return WARD_ENOMEM;
    size_t off = (size_t)snprintf(t, cap, "federation sim\nepoch 1\n");
    for (size_t i = 0; i < sim->cfg.nodes; i++) {
        char hex[65];
        uint8_t pub[32];
        if ((long)i == replace) {
            snprintf(hex, sizeof hex, "%s", replace_hex);
        } else {
            ward_noise_public_key(pub, sim->nodes[i].priv);
            ward_hex_encode_var(hex, sizeof hex, pub, 32);
        }
        off += (size_t)snprintf(t + off, cap - off, "node %s 127.0.0.1:%zu %s\n", sim->nodes[i].name,
                                (size_t)SIM_BASE_PORT + i + 1, hex);
    }
    if (extra) off += (size_t)snprintf(t + off, cap - off, "%s", extra);
    *out = t;
    *out_len = off;
    return WARD_OK;
}

int ward_sim_new(ward_sim **out, const ward_sim_config *cfg) {
    WARD_ARG_CHECK(out != NULL && cfg != NULL && cfg->nodes >= 1 && cfg->nodes <= WARD_SIM_MAX_NODES);
    WARD_ARG_CHECK(cfg->dir != NULL && cfg->loss >= 0 && cfg->loss <= 1);
    for (size_t i = 0; cfg->clocks && i < cfg->nodes; i++)
        WARD_ARG_CHECK(cfg->clocks[i].drift_ppm >= -WARD_SIM_MAX_DRIFT_PPM &&
                       cfg->clocks[i].drift_ppm <= WARD_SIM_MAX_DRIFT_PPM &&
                       cfg->clocks[i].skew_ms >= -1000000000LL &&
                       cfg->clocks[i].skew_ms <= 1000000000LL);
    *out = NULL;
    ward_sim *sim = calloc(1, sizeof *sim);
    if (!sim) return WARD_ENOMEM;
    sim->cfg = *cfg;
    sim->cfg.clocks = NULL;
    if (!sim->cfg.latency_ms) sim->cfg.latency_ms = 1;
    snprintf(sim->dir, sizeof sim->dir, "%s", cfg->dir);
    sim->cfg.dir = sim->dir;
    sim->log = getenv("WARD_SIM_LOG") != NULL;
    crypto_hash_sha256_init(&sim->trace);
    ward_eventq_init(&sim->q, SIM_MAX_EVENTS);
    ward_actions_init(&sim->actions);
    net_init(sim);
    sim->link = (ward_sim_link){.latency_ms = sim->cfg.latency_ms, .jitter_ms = cfg->jitter_ms,
                                .loss = cfg->loss, .bandwidth_kbps = cfg->bandwidth_kbps};
    sim->loss_threshold = sim_threshold(cfg->loss);
    ward_rng master;
    ward_rng_init_u64(&master, cfg->seed);
    ward_rng_fork(&sim->rng, &master, 0);
    ward_rng_fork(&sim->spawn_rng, &master, 2);
    sim->nodes = calloc(cfg->nodes + WARD_SIM_MAX_OUTSIDERS, sizeof *sim->nodes);
    sim->group = calloc(cfg->nodes, sizeof *sim->group);
    if (!sim->nodes || !sim->group) {
        ward_rng_clear(&master);
        ward_sim_free(sim);
        return WARD_ENOMEM;
    }
    sim->n_nodes = cfg->nodes;
    for (size_t i = 0; i < cfg->nodes; i++) {
        sim_node *n = &sim->nodes[i];
        snprintf(n->name, sizeof n->name, "node%u", (unsigned)(i + 1));
        ward_rng_fork(&n->rng, &master, 1000 + i);
        uint8_t pub[32];
        ward_noise_keypair(&n->rng, n->priv, pub);
        n->next_inbound = 2;
        n->roster = &sim->roster;
        if (cfg->clocks) {
            n->skew_us = cfg->clocks[i].skew_ms * 1000;
            n->drift_ppm = cfg->clocks[i].drift_ppm;
        }
    }
    ward_rng_clear(&master);
    int rc = roster_text(sim, &sim->roster_text, &sim->roster_len, -1, NULL, NULL);
    ward_roster_error err;
    if (rc == WARD_OK) rc = ward_roster_parse(&sim->roster, &err, sim->roster_text, sim->roster_len);
    for (size_t i = 0; rc == WARD_OK && i < cfg->nodes; i++) rc = open_store(sim, i);
    for (size_t i = 0; rc == WARD_OK && i < cfg->nodes; i++) rc = start_core(sim, i);
    if (rc != WARD_OK) {
        ward_sim_free(sim);
        return rc;
    }
    *out = sim;
    return WARD_OK;
}

void ward_sim_free(ward_sim *sim) {
    if (!sim) return;
    ward_event e;
    while (ward_eventq_pop(&sim->q, &e) == WARD_OK) {
        sim_msg *m = e.data;
        free(m->data);
        free(m);
    }
    ward_eventq_free(&sim->q);
    for (size_t i = 0; sim->nodes && i < sim->n_nodes; i++) {
        sim_node *n = &sim->nodes[i];
        ward_core_free(n->core);
        if (n->store_open) ward_store_close(&n->store);
        if (n->reply) ward__control__response__free_unpacked(n->reply, NULL);
        drop_held(n);
        if (n->outsider) ward_roster_free(&n->own_roster);
        ward_rng_clear(&n->rng);
        sodium_memzero(n->priv, sizeof n->priv);
    }
    net_free(sim);
    free(sim->nodes);
    free(sim->group);
    ward_roster_free(&sim->roster);
    free(sim->roster_text);
    ward_actions_free(&sim->actions);
    ward_rng_clear(&sim->rng);
    ward_rng_clear(&sim->spawn_rng);
    free(sim);
}

int ward_sim_run_until(ward_sim *sim, uint64_t until_ms) {
    WARD_ARG_CHECK(sim != NULL);
    uint64_t until = until_ms * 1000;
    while (step(sim, until)) {
    }
    if (sim->now < until) sim->now = until;
    return WARD_OK;
}

size_t ward_sim_connected_peers(const ward_sim *sim, size_t node) {
    if (node >= sim->n_nodes || !sim->nodes[node].core) return 0;
    ward_core_stats st;
    ward_core_get_stats(sim->nodes[node].core, &st);
    return st.peers_connected;
}

static int all_connected(const ward_sim *sim) {
    size_t live = 0;
    for (size_t i = 0; i < sim->cfg.nodes; i++) live += sim->nodes[i].core != NULL;
    for (size_t i = 0; i < sim->cfg.nodes; i++)
        if (sim->nodes[i].core && ward_sim_connected_peers(sim, i) != live - 1) return 0;
    return 1;
}

int ward_sim_run_connected(ward_sim *sim, uint64_t deadline_ms) {
    WARD_ARG_CHECK(sim != NULL);
    while (!all_connected(sim)) {
        if (!step(sim, deadline_ms * 1000)) return WARD_ESTATE;
    }
    return WARD_OK;
}

/* ---- control ------------------------------------------------------------------ */

static int schedule_ctl(ward_sim *sim, size_t node, uint64_t client, Ward__Control__Request *req) {
    req->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    size_t len = ward__control__request__get_packed_size(req);
    sim_msg *m = calloc(1, sizeof *m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!m || !buf) {
        free(m);
        free(buf);
        return WARD_ENOMEM;
    }
    ward__control__request__pack(req, buf);
    m->kind = EV_CTL;
    m->node = (uint32_t)node;
    m->id = client;
    m->incarnation = sim->nodes[node].incarnation;
    m->data = buf;
    m->len = len;
    return sim_schedule(sim, sim->now, m);
}

int ward_sim_control_send(ward_sim *sim, size_t node, Ward__Control__Request *req) {
    WARD_ARG_CHECK(sim != NULL && req != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core) return WARD_ESTATE;
    if (n->reply) {
        ward__control__response__free_unpacked(n->reply, NULL);
        n->reply = NULL;
    }
    n->waiting_client = ++sim->next_client;
    return schedule_ctl(sim, node, n->waiting_client, req);
}

int ward_sim_control_wait(ward_sim *sim, Ward__Control__Response **resp, size_t node,
                          uint64_t timeout_ms) {
    WARD_ARG_CHECK(sim != NULL && resp != NULL && node < sim->cfg.nodes);
    *resp = NULL;
    sim_node *n = &sim->nodes[node];
    uint64_t deadline = sim->now + timeout_ms * 1000;
    while (!n->reply && step(sim, deadline)) {
    }
    n->waiting_client = 0;
    if (!n->reply) return WARD_ETRUNC;
    *resp = n->reply;
    n->reply = NULL;
    return WARD_OK;
}

int ward_sim_control(ward_sim *sim, Ward__Control__Response **resp, size_t node,
                     Ward__Control__Request *req, uint64_t timeout_ms) {
    WARD_ARG_CHECK(resp != NULL);
    *resp = NULL;
    int rc = ward_sim_control_send(sim, node, req);
    return rc == WARD_OK ? ward_sim_control_wait(sim, resp, node, timeout_ms) : rc;
}

void ward_sim_set_reply_handler(ward_sim *sim, ward_sim_reply_fn fn, void *ctx) {
    sim->reply_fn = fn;
    sim->reply_ctx = ctx;
}

int ward_sim_control_submit(ward_sim *sim, uint64_t *client, size_t node,
                            Ward__Control__Request *req) {
    WARD_ARG_CHECK(sim != NULL && client != NULL && req != NULL && node < sim->cfg.nodes);
    if (!sim->nodes[node].core) return WARD_ESTATE;
    *client = ++sim->next_client;
    return schedule_ctl(sim, node, *client, req);
}

int ward_sim_at(ward_sim *sim, uint64_t at_ms, ward_sim_fn fn, void *ctx, uint64_t arg) {
    WARD_ARG_CHECK(sim != NULL && fn != NULL);
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) return WARD_ENOMEM;
    m->kind = EV_CALL;
    m->fn = fn;
    m->ctx = ctx;
    m->arg = arg;
    return sim_schedule(sim, at_ms * 1000, m);
}

ward_store *ward_sim_store(ward_sim *sim, size_t node) {
    if (!sim || node >= sim->cfg.nodes || !sim->nodes[node].store_open) return NULL;
    return &sim->nodes[node].store;
}

/* ---- faults --------------------------------------------------------------------- */

static void kill_node(ward_sim *sim, size_t node) {
    sim_node *n = &sim->nodes[node];
    ward_core_free(n->core);
    n->core = NULL;
    n->incarnation++;
    n->stalled = 0;
    drop_held(n);
    net_crash(sim, (uint32_t)node);
}

int ward_sim_crash(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core) return WARD_ESTATE;
    kill_node(sim, node);
    if (n->store_open) ward_store_close(&n->store);
    n->store_open = 0;
    sim->stats.crashes++;
    sim_trace(sim, "crash", node, 0, NULL, 0);
    return WARD_OK;
}

int ward_sim_restart(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    if (sim->nodes[node].core) return WARD_ESTATE;
    sim_trace(sim, "restart", node, 0, NULL, 0);
    int rc = sim->nodes[node].store_open ? WARD_OK : open_store(sim, node);
    if (rc == WARD_OK) rc = start_core(sim, node);
    if (rc == WARD_OK) sim->stats.restarts++;
    return rc;
}

int ward_sim_stall(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core || n->stalled) return WARD_ESTATE;
    n->stalled = 1;
    sim->stats.stalls++;
    sim_trace(sim, "stall", node, 0, NULL, 0);
    return WARD_OK;
}

int ward_sim_resume(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core || !n->stalled) return WARD_ESTATE;
    sim_trace(sim, "resume", node, n->n_held, NULL, 0);
    n->stalled = 0;
    sim_app_ev *held = n->held;
    size_t n_held = n->n_held;
    n->held = NULL;
    n->n_held = n->cap_held = 0;
    /* Everything that waited, in arrival order, before anything new. */
    for (size_t i = 0; i < n_held; i++) {
        if (n->core) dispatch(sim, (uint32_t)node, &held[i]);
        free(held[i].data);
    }
    free(held);
    return WARD_OK;
}

int ward_sim_partition(ward_sim *sim, const uint32_t *group, size_t n) {
    WARD_ARG_CHECK(sim != NULL && group != NULL && n == sim->cfg.nodes);
    /* Groups are renumbered in order of first appearance, so that the same
     * split traces the same whatever its labels. */
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < i && group[j] != group[i]) j++;
        sim->group[i] = j < i ? sim->group[j] : next++;
    }
    sim->partitioned = 1;
    sim->stats.partitions++;
    uint8_t buf[4 * WARD_SIM_MAX_NODES];
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 4; j++) buf[4 * i + (size_t)j] = (uint8_t)(sim->group[i] >> (8 * j));
    sim_trace(sim, "partition", 0, n, buf, 4 * n);
    return WARD_OK;
}

int ward_sim_heal(ward_sim *sim) {
    WARD_ARG_CHECK(sim != NULL);
    sim->partitioned = 0;
    memset(sim->group, 0, sim->cfg.nodes * sizeof *sim->group);
    sim_trace(sim, "heal", 0, 0, NULL, 0);
    return WARD_OK;
}

int ward_sim_set_link(ward_sim *sim, long a, long b, const ward_sim_link *link) {
    WARD_ARG_CHECK(sim != NULL && link != NULL && link->loss >= 0 && link->loss <= 1);
    uint64_t thr = sim_threshold(link->loss);
    sim_trace(sim, "link", a < 0 ? UINT32_MAX : (size_t)a, b < 0 ? UINT64_MAX : (uint64_t)b,
              NULL, 0);
    if (a < 0) {
        sim->link = *link;
        sim->loss_threshold = thr;
        return WARD_OK;
    }
    WARD_ARG_CHECK(b >= 0 && (size_t)a < sim->cfg.nodes && (size_t)b < sim->cfg.nodes && a != b);
    uint32_t lo = (uint32_t)(a < b ? a : b), hi = (uint32_t)(a < b ? b : a);
    for (size_t i = 0; i < sim->n_links; i++) {
        if (sim->links[i].a == lo && sim->links[i].b == hi) {
            sim->links[i].link = *link;
            sim->links[i].loss_threshold = thr;
            return WARD_OK;
        }
    }
    sim_link_override *l = realloc(sim->links, (sim->n_links + 1) * sizeof *l);
    if (!l) return WARD_ENOMEM;
    sim->links = l;
    sim->links[sim->n_links++] = (sim_link_override){.a = lo, .b = hi, .link = *link,
                                                      .loss_threshold = thr};
    return WARD_OK;
}

int ward_sim_tamper(ward_sim *sim, size_t from, size_t to, ward_sim_tamper_mode mode, double rate) {
    WARD_ARG_CHECK(sim != NULL && from < sim->cfg.nodes && to < sim->cfg.nodes && from != to);
    WARD_ARG_CHECK(mode >= WARD_SIM_TAMPER_NONE && mode <= WARD_SIM_TAMPER_MIX);
    WARD_ARG_CHECK(rate >= 0 && rate <= 1);
    sim_trace(sim, "tamper", from, to * 16 + (uint64_t)mode, NULL, 0);
    for (size_t i = 0; i < sim->n_tampers; i++) {
        if (sim->tampers[i].from == from && sim->tampers[i].to == to) {
            if (mode == WARD_SIM_TAMPER_NONE) {
                sim->tampers[i] = sim->tampers[--sim->n_tampers];
            } else {
                sim->tampers[i].mode = (int)mode;
                sim->tampers[i].threshold = sim_threshold(rate);
            }
            return WARD_OK;
        }
    }
    if (mode == WARD_SIM_TAMPER_NONE) return WARD_OK;
    sim_tamper *t = realloc(sim->tampers, (sim->n_tampers + 1) * sizeof *t);
    if (!t) return WARD_ENOMEM;
    sim->tampers = t;
    sim->tampers[sim->n_tampers++] = (sim_tamper){.from = (uint32_t)from, .to = (uint32_t)to,
                                                  .mode = (int)mode,
                                                  .threshold = sim_threshold(rate)};
    return WARD_OK;
}

int ward_sim_outsider_spawn(ward_sim *sim, size_t *idx, ward_sim_outsider_mode mode) {
    WARD_ARG_CHECK(sim != NULL && idx != NULL);
    WARD_ARG_CHECK(mode == WARD_SIM_OUTSIDER_IMPERSONATE || mode == WARD_SIM_OUTSIDER_UNKNOWN);
    if (sim->n_nodes >= sim->cfg.nodes + WARD_SIM_MAX_OUTSIDERS) return WARD_ETOOBIG;
    size_t i = sim->n_nodes;
    size_t k = i - sim->cfg.nodes;
    sim_node *n = &sim->nodes[i];
    memset(n, 0, sizeof *n);
    ward_rng_fork(&n->rng, &sim->spawn_rng, k);
    uint8_t pub[32];
    ward_noise_keypair(&n->rng, n->priv, pub);
    char hex[65];
    ward_hex_encode_var(hex, sizeof hex, pub, 32);
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (mode == WARD_SIM_OUTSIDER_IMPERSONATE) {
        /* The city's roster, but node1's entry carries the outsider's key:
         * it believes it is node1 and dials everyone else as node1. */
        snprintf(n->name, sizeof n->name, "%s", sim->nodes[0].name);
        rc = roster_text(sim, &text, &len, 0, hex, NULL);
    } else {
        char extra[160];
        snprintf(n->name, sizeof n->name, "a-outsider%zu", k + 1);
        snprintf(extra, sizeof extra, "node %s 127.0.0.1:%zu %s\n", n->name,
                 (size_t)SIM_BASE_PORT + 9000 + k, hex);
        rc = roster_text(sim, &text, &len, -1, NULL, extra);
    }
    ward_roster_error err;
    if (rc == WARD_OK) rc = ward_roster_parse(&n->own_roster, &err, text, len);
    free(text);
    if (rc != WARD_OK) {
        ward_rng_clear(&n->rng);
        return rc;
    }
    n->roster = &n->own_roster;
    n->outsider = (int)mode;
    n->next_inbound = 2;
    sim->n_nodes++;
    sim_trace(sim, "outsider", i, (uint64_t)mode, pub, 32);
    rc = start_core(sim, i);
    if (rc != WARD_OK) return rc;
    *idx = i;
    return WARD_OK;
}

int ward_sim_outsider_stop(ward_sim *sim, size_t idx) {
    WARD_ARG_CHECK(sim != NULL && idx >= sim->cfg.nodes && idx < sim->n_nodes);
    if (!sim->nodes[idx].core) return WARD_ESTATE;
    sim_trace(sim, "outsider-stop", idx, 0, NULL, 0);
    kill_node(sim, idx);
    return WARD_OK;
}

size_t ward_sim_tamper_check(ward_sim *sim, uint64_t bound_ms, ward_sim_tamper_fn fn, void *ctx) {
    if (!sim || sim->stats.tampered_writes == 0) return 0;
    size_t reported = 0;
    for (size_t i = 0; i < sim->n_conns; i++) {
        sim_conn *c = &sim->conns[i];
        if (c->state == CONN_FREE) continue;
        for (int s = 0; s < 2; s++) {
            if (!c->tamper_at[s] || c->tamper_reported[s] || !c->open[s]) continue;
            sim_node *n = &sim->nodes[c->node[s]];
            if (!n->core || n->stalled) continue;
            uint64_t since = c->tamper_at[s] - 1;
            if (sim->now - since <= bound_ms * 1000) continue;
            c->tamper_reported[s] = 1;
            reported++;
            if (fn) fn(ctx, c->node[s], sim->nodes[c->node[1 - s]].name, since / 1000);
        }
    }
    return reported;
}

/* ---- observation ------------------------------------------------------------------ */

uint64_t ward_sim_now(const ward_sim *sim) { return sim->now / 1000; }

size_t ward_sim_nodes(const ward_sim *sim) { return sim->cfg.nodes; }

int ward_sim_node_up(const ward_sim *sim, size_t node) {
    return node < sim->n_nodes && sim->nodes[node].core != NULL;
}

int ward_sim_node_stalled(const ward_sim *sim, size_t node) {
    return node < sim->n_nodes && sim->nodes[node].stalled;
}

int ward_sim_node_stats(const ward_sim *sim, size_t node, ward_core_stats *st) {
    WARD_ARG_CHECK(sim != NULL && st != NULL && node < sim->n_nodes);
    if (!sim->nodes[node].core) return WARD_ESTATE;
    ward_core_get_stats(sim->nodes[node].core, st);
    return WARD_OK;
}

const char *ward_sim_node_name(const ward_sim *sim, size_t node) {
    return node < sim->n_nodes ? sim->nodes[node].name : "?";
}

void ward_sim_get_stats(const ward_sim *sim, ward_sim_stats *st) { *st = sim->stats; }

void ward_sim_digest(const ward_sim *sim, uint8_t out[32]) {
    crypto_hash_sha256_state copy = sim->trace;
    crypto_hash_sha256_final(&copy, out);
}

int ward_sim_test_deliver(ward_sim *sim, size_t node, const char *peer, const uint8_t *msg,
                          size_t len) {
    if (!sim || node >= sim->n_nodes || !sim->nodes[node].core || sim->nodes[node].stalled)
        return WARD_ESTATE;
    sim_node *n = &sim->nodes[node];
    int rc = ward_core_test_deliver(n->core, &sim->actions, peer, msg, len, local_ms(n, sim->now));
    run_actions(sim, (uint32_t)node);
    return rc;
}
