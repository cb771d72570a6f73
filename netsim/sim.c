#include "sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core.h"
#include "error.h"
#include "eventq.h"
#include "hex.h"
#include "noise.h"
#include "rng.h"
#include "roster.h"

#define SIM_BASE_PORT 10000
#define SIM_MAX_EVENTS 4000000

enum { EV_OPEN = 1, EV_DATA, EV_CLOSED, EV_TIMER, EV_CTL };

typedef struct {
    uint64_t local_id;        /* the id this node knows the stream by */
    size_t peer_node;
    uint64_t peer_id;
    uint64_t last_delivery;   /* keeps each direction in order */
    int open;
} sim_stream;

typedef struct {
    uint64_t id, gen;
} sim_timer;

typedef struct {
    ward_core *core;          /* NULL while crashed */
    ward_store store;
    int store_open;
    ward_rng rng;
    uint8_t priv[32];
    char name[32];
    sim_stream *streams;
    size_t n_streams, cap_streams;
    uint64_t next_inbound;    /* even ids */
    sim_timer *timers;
    size_t n_timers, cap_timers;
    uint64_t incarnation;     /* bumps on crash: stale events are dropped */
    Ward__Control__Response *reply;
    uint64_t waiting_client;
} sim_node;

typedef struct {
    int kind;
    size_t node;
    uint64_t conn, timer, gen, incarnation;
    uint8_t *data;
    size_t len;
} sim_msg;

struct ward_sim {
    ward_sim_config cfg;
    char dir[512];
    ward_roster roster;
    char *roster_text;
    ward_rng rng;             /* link behaviour */
    sim_node *nodes;
    ward_eventq q;
    uint64_t now;
    crypto_hash_sha256_state trace;
    ward_actions actions;
    uint64_t next_client;
};

/* ---- streams and timers ------------------------------------------------ */

static sim_stream *find_stream(sim_node *n, uint64_t id) {
    for (size_t i = 0; i < n->n_streams; i++)
        if (n->streams[i].local_id == id && n->streams[i].open) return &n->streams[i];
    return NULL;
}

static sim_stream *add_stream(sim_node *n, uint64_t id, size_t peer, uint64_t peer_id) {
    if (n->n_streams == n->cap_streams) {
        size_t cap = n->cap_streams ? 2 * n->cap_streams : 16;
        sim_stream *s = realloc(n->streams, cap * sizeof *s);
        if (!s) return NULL;
        n->streams = s;
        n->cap_streams = cap;
    }
    sim_stream *s = &n->streams[n->n_streams++];
    *s = (sim_stream){.local_id = id, .peer_node = peer, .peer_id = peer_id, .open = 1};
    return s;
}

static void remove_stream(sim_node *n, uint64_t id) {
    for (size_t i = 0; i < n->n_streams; i++) {
        if (n->streams[i].local_id == id) {
            n->streams[i] = n->streams[--n->n_streams];
            return;
        }
    }
}

static sim_timer *timer_slot(sim_node *n, uint64_t id) {
    for (size_t i = 0; i < n->n_timers; i++)
        if (n->timers[i].id == id) return &n->timers[i];
    if (n->n_timers == n->cap_timers) {
        size_t cap = n->cap_timers ? 2 * n->cap_timers : 16;
        sim_timer *t = realloc(n->timers, cap * sizeof *t);
        if (!t) return NULL;
        n->timers = t;
        n->cap_timers = cap;
    }
    sim_timer *t = &n->timers[n->n_timers++];
    t->id = id;
    t->gen = 0;
    return t;
}

static int schedule(ward_sim *sim, uint64_t at, int kind, size_t node, uint64_t conn,
                    const uint8_t *data, size_t len) {
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) return WARD_ENOMEM;
    m->kind = kind;
    m->node = node;
    m->conn = conn;
    m->incarnation = sim->nodes[node].incarnation;
    if (len) {
        m->data = malloc(len);
        if (!m->data) {
            free(m);
            return WARD_ENOMEM;
        }
        memcpy(m->data, data, len);
        m->len = len;
    }
    int rc = ward_eventq_push(&sim->q, NULL, at, kind, (uint32_t)node, m);
    if (rc != WARD_OK) {
        free(m->data);
        free(m);
    }
    return rc;
}

static uint64_t link_delay(ward_sim *sim) {
    uint64_t d = sim->cfg.latency_ms;
    if (sim->cfg.jitter_ms) d += ward_rng_uniform(&sim->rng, sim->cfg.jitter_ms + 1);
    return d;
}

/* Schedules delivery on the far side of a stream, in stream order. */
static void send_on(ward_sim *sim, sim_stream *s, int kind, const uint8_t *data, size_t len) {
    uint64_t at = sim->now + link_delay(sim);
    if (at < s->last_delivery) at = s->last_delivery;
    s->last_delivery = at;
    schedule(sim, at, kind, s->peer_node, s->peer_id, data, len);
}

/* ---- executing a core's actions ---------------------------------------- */

static void trace(ward_sim *sim, const char *what, size_t node, uint64_t a, const uint8_t *data,
                  size_t len) {
    uint8_t hdr[8 * 4];
    uint64_t v[4] = {sim->now, node, a, len};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) hdr[8 * i + j] = (uint8_t)(v[i] >> (8 * j));
    crypto_hash_sha256_update(&sim->trace, (const uint8_t *)what, strlen(what));
    crypto_hash_sha256_update(&sim->trace, hdr, sizeof hdr);
    if (len) crypto_hash_sha256_update(&sim->trace, data, len);
}

static long node_by_port(const ward_sim *sim, uint16_t port) {
    long i = (long)port - SIM_BASE_PORT - 1;
    return i >= 0 && (size_t)i < sim->cfg.nodes ? i : -1;
}

static void run_actions(ward_sim *sim, size_t node) {
    sim_node *n = &sim->nodes[node];
    for (size_t i = 0; i < sim->actions.len; i++) {
        ward_action *a = &sim->actions.items[i];
        switch (a->kind) {
        case WARD_ACT_CONNECT: {
            long target = node_by_port(sim, a->port);
            sim_stream *s = add_stream(n, a->conn, target < 0 ? node : (size_t)target, 0);
            if (!s) break;
            if (target < 0 || !sim->nodes[target].core) {
                s->open = 0;
                schedule(sim, sim->now + link_delay(sim), EV_CLOSED, node, a->conn, NULL, 0);
                remove_stream(n, a->conn);
                break;
            }
            sim_node *t = &sim->nodes[target];
            uint64_t in_id = t->next_inbound;
            t->next_inbound += 2;
            s->peer_id = in_id;
            add_stream(t, in_id, node, a->conn);
            uint64_t at = sim->now + link_delay(sim);
            schedule(sim, at, EV_OPEN, (size_t)target, in_id, NULL, 0);
            schedule(sim, at, EV_OPEN, node, a->conn, NULL, 0);
            s->last_delivery = at;
            sim_stream *back = find_stream(t, in_id);
            if (back) back->last_delivery = at;
            break;
        }
        case WARD_ACT_SEND: {
            sim_stream *s = find_stream(n, a->conn);
            if (s) send_on(sim, s, EV_DATA, a->data, a->len);
            break;
        }
        case WARD_ACT_CLOSE: {
            sim_stream *s = find_stream(n, a->conn);
            if (s) {
                send_on(sim, s, EV_CLOSED, NULL, 0);
                remove_stream(n, a->conn);
            }
            break;
        }
        case WARD_ACT_TIMER_SET: {
            sim_timer *t = timer_slot(n, a->timer);
            if (!t) break;
            t->gen++;
            sim_msg *m = calloc(1, sizeof *m);
            if (!m) break;
            m->kind = EV_TIMER;
            m->node = node;
            m->timer = a->timer;
            m->gen = t->gen;
            m->incarnation = n->incarnation;
            if (ward_eventq_push(&sim->q, NULL, a->at_ms < sim->now ? sim->now : a->at_ms, EV_TIMER,
                                 (uint32_t)node, m) != WARD_OK)
                free(m);
            break;
        }
        case WARD_ACT_TIMER_CANCEL: {
            sim_timer *t = timer_slot(n, a->timer);
            if (t) t->gen++;
            break;
        }
        case WARD_ACT_CTL_REPLY:
            if (a->client == n->waiting_client && !n->reply)
                n->reply = ward__control__response__unpack(NULL, a->len, a->data);
            break;
        case WARD_ACT_LOG:
            if (getenv("WARD_SIM_LOG"))
                fprintf(stderr, "[%8llu ms] %s: %s\n", (unsigned long long)sim->now, n->name, a->text);
            break;
        default:
            break;
        }
    }
    ward_actions_reset(&sim->actions);
}

static void deliver(ward_sim *sim, sim_msg *m) {
    sim_node *n = &sim->nodes[m->node];
    if (!n->core || m->incarnation != n->incarnation) return;
    ward_core_event ev;
    memset(&ev, 0, sizeof ev);
    switch (m->kind) {
    case EV_OPEN:
        if (!find_stream(n, m->conn)) return;
        ev.kind = WARD_EV_CONN_OPEN;
        ev.conn = m->conn;
        trace(sim, "open", m->node, m->conn, NULL, 0);
        break;
    case EV_DATA:
        if (!find_stream(n, m->conn)) return;
        ev.kind = WARD_EV_CONN_DATA;
        ev.conn = m->conn;
        ev.data = m->data;
        ev.len = m->len;
        trace(sim, "data", m->node, m->conn, m->data, m->len);
        break;
    case EV_CLOSED:
        remove_stream(n, m->conn);
        ev.kind = WARD_EV_CONN_CLOSED;
        ev.conn = m->conn;
        trace(sim, "closed", m->node, m->conn, NULL, 0);
        break;
    case EV_TIMER: {
        sim_timer *t = timer_slot(n, m->timer);
        if (!t || t->gen != m->gen) return;
        ev.kind = WARD_EV_TIMER;
        ev.timer = m->timer;
        trace(sim, "timer", m->node, m->timer, NULL, 0);
        break;
    }
    case EV_CTL:
        ev.kind = WARD_EV_CTL_REQUEST;
        ev.client = m->conn;
        ev.data = m->data;
        ev.len = m->len;
        trace(sim, "ctl", m->node, m->conn, m->data, m->len);
        break;
    default:
        return;
    }
    ward_core_handle(n->core, &sim->actions, &ev, sim->now);
    run_actions(sim, m->node);
}

static int step(ward_sim *sim, uint64_t until) {
    const ward_event *top = ward_eventq_peek(&sim->q);
    if (!top || top->time > until) return 0;
    ward_event e;
    ward_eventq_pop(&sim->q, &e);
    if (e.time > sim->now) sim->now = e.time;
    sim_msg *m = e.data;
    deliver(sim, m);
    free(m->data);
    free(m);
    return 1;
}

/* ---- nodes ------------------------------------------------------------- */

static int start_core(ward_sim *sim, size_t i) {
    sim_node *n = &sim->nodes[i];
    ward_core_config cc;
    memset(&cc, 0, sizeof cc);
    cc.name = n->name;
    cc.roster = &sim->roster;
    cc.static_priv = n->priv;
    cc.store = n->store_open ? &n->store : NULL;
    cc.allow_exact = sim->cfg.allow_exact;
    cc.session_timeout_ms = sim->cfg.session_timeout_ms;
    int rc = ward_core_new(&n->core, &sim->actions, &cc, &n->rng, sim->now);
    if (rc != WARD_OK) return rc;
    run_actions(sim, i);
    return WARD_OK;
}

int ward_sim_new(ward_sim **out, const ward_sim_config *cfg) {
    WARD_ARG_CHECK(out != NULL && cfg != NULL && cfg->nodes >= 1 && cfg->nodes <= 999);
    WARD_ARG_CHECK(cfg->dir != NULL);
    *out = NULL;
    ward_sim *sim = calloc(1, sizeof *sim);
    if (!sim) return WARD_ENOMEM;
    sim->cfg = *cfg;
    if (!sim->cfg.latency_ms) sim->cfg.latency_ms = 1;
    snprintf(sim->dir, sizeof sim->dir, "%s", cfg->dir);
    sim->cfg.dir = sim->dir;
    crypto_hash_sha256_init(&sim->trace);
    ward_eventq_init(&sim->q, SIM_MAX_EVENTS);
    ward_actions_init(&sim->actions);
    ward_rng master;
    ward_rng_init_u64(&master, cfg->seed);
    ward_rng_fork(&sim->rng, &master, 0);
    sim->nodes = calloc(cfg->nodes, sizeof *sim->nodes);
    size_t cap = 64 + cfg->nodes * 120;
    sim->roster_text = malloc(cap);
    if (!sim->nodes || !sim->roster_text) {
        ward_rng_clear(&master);
        ward_sim_free(sim);
        return WARD_ENOMEM;
    }
    size_t off = (size_t)snprintf(sim->roster_text, cap, "federation sim\nepoch 1\n");
    for (size_t i = 0; i < cfg->nodes; i++) {
        sim_node *n = &sim->nodes[i];
        snprintf(n->name, sizeof n->name, "node%u", (unsigned)(i + 1));
        ward_rng_fork(&n->rng, &master, 1000 + i);
        uint8_t pub[32];
        ward_noise_keypair(&n->rng, n->priv, pub);
        char hex[65];
        ward_hex_encode_var(hex, sizeof hex, pub, 32);
        off += (size_t)snprintf(sim->roster_text + off, cap - off, "node %s 127.0.0.1:%zu %s\n",
                                n->name, SIM_BASE_PORT + i + 1, hex);
        n->next_inbound = 2;
    }
    ward_rng_clear(&master);
    ward_roster_error err;
    int rc = ward_roster_parse(&sim->roster, &err, sim->roster_text, off);
    for (size_t i = 0; rc == WARD_OK && i < cfg->nodes; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s.db", sim->dir, sim->nodes[i].name);
        rc = ward_store_open(&sim->nodes[i].store, path);
        sim->nodes[i].store_open = rc == WARD_OK;
    }
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
    for (size_t i = 0; sim->nodes && i < sim->cfg.nodes; i++) {
        sim_node *n = &sim->nodes[i];
        ward_core_free(n->core);
        if (n->store_open) ward_store_close(&n->store);
        if (n->reply) ward__control__response__free_unpacked(n->reply, NULL);
        free(n->streams);
        free(n->timers);
        ward_rng_clear(&n->rng);
        sodium_memzero(n->priv, sizeof n->priv);
    }
    free(sim->nodes);
    ward_roster_free(&sim->roster);
    free(sim->roster_text);
    ward_actions_free(&sim->actions);
    ward_rng_clear(&sim->rng);
    free(sim);
}

int ward_sim_run_until(ward_sim *sim, uint64_t until) {
    while (step(sim, until)) {
    }
    if (sim->now < until) sim->now = until;
    return WARD_OK;
}

size_t ward_sim_connected_peers(const ward_sim *sim, size_t node) {
    if (node >= sim->cfg.nodes || !sim->nodes[node].core) return 0;
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

int ward_sim_run_connected(ward_sim *sim, uint64_t deadline) {
    while (!all_connected(sim)) {
        if (!step(sim, deadline)) return WARD_ESTATE;
    }
    return WARD_OK;
}

int ward_sim_control_send(ward_sim *sim, size_t node, Ward__Control__Request *req) {
    WARD_ARG_CHECK(sim != NULL && req != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core) return WARD_ESTATE;
    if (n->reply) {
        ward__control__response__free_unpacked(n->reply, NULL);
        n->reply = NULL;
    }
    req->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    size_t len = ward__control__request__get_packed_size(req);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return WARD_ENOMEM;
    ward__control__request__pack(req, buf);
    n->waiting_client = ++sim->next_client;
    int rc = schedule(sim, sim->now, EV_CTL, node, n->waiting_client, buf, len);
    free(buf);
    return rc;
}

int ward_sim_control_wait(ward_sim *sim, Ward__Control__Response **resp, size_t node,
                          uint64_t timeout_ms) {
    WARD_ARG_CHECK(sim != NULL && resp != NULL && node < sim->cfg.nodes);
    *resp = NULL;
    sim_node *n = &sim->nodes[node];
    uint64_t deadline = sim->now + timeout_ms;
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

ward_store *ward_sim_store(ward_sim *sim, size_t node) {
    if (node >= sim->cfg.nodes || !sim->nodes[node].store_open) return NULL;
    return &sim->nodes[node].store;
}

int ward_sim_crash(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    sim_node *n = &sim->nodes[node];
    if (!n->core) return WARD_ESTATE;
    ward_core_free(n->core);
    n->core = NULL;
    n->incarnation++;
    /* TCP resets: every peer sees its stream close. */
    for (size_t i = 0; i < n->n_streams; i++) {
        sim_stream *s = &n->streams[i];
        schedule(sim, sim->now + link_delay(sim), EV_CLOSED, s->peer_node, s->peer_id, NULL, 0);
    }
    n->n_streams = 0;
    n->n_timers = 0;
    trace(sim, "crash", node, 0, NULL, 0);
    return WARD_OK;
}

int ward_sim_restart(ward_sim *sim, size_t node) {
    WARD_ARG_CHECK(sim != NULL && node < sim->cfg.nodes);
    if (sim->nodes[node].core) return WARD_ESTATE;
    trace(sim, "restart", node, 0, NULL, 0);
    return start_core(sim, node);
}

uint64_t ward_sim_now(const ward_sim *sim) { return sim->now; }

void ward_sim_digest(const ward_sim *sim, uint8_t out[32]) {
    crypto_hash_sha256_state copy = sim->trace;
    crypto_hash_sha256_final(&copy, out);
}
