/* Simulated TCP connections and the link model: latency, jitter,
 * bandwidth, loss with retransmission and reset, partitions, the adversary
 * on a link, and what a crash does to a node's sockets.
 *
 * Each direction of a connection is a pipe of segments (one per write).
 * Only the head segment of a pipe has an event in the queue: when it fires,
 * the attempt is lost (partition, loss) and retried after a doubling RTO,
 * or the segment arrives and the next one is scheduled no earlier than
 * now. That keeps every stream in order without looking ahead, and lets a
 * partition that heals later release what waited behind it.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sim_internal.h"

/* ---- connections ----------------------------------------------------------- */

void net_init(ward_sim *sim) {
    ward_u64map_init(&sim->conn_map);
    ward_u64map_init(&sim->timer_map);
}

static void pipe_clear(sim_pipe *p) {
    for (size_t i = 0; i < p->len; i++) free(p->q[(p->head + i) % p->cap].data);
    free(p->q);
    if (p->has_held) free(p->held.data);
    free(p->last);
    memset(p, 0, sizeof *p);
}

/* Drops what is queued but keeps the pipe usable. */
static void pipe_drop(sim_pipe *p) {
    for (size_t i = 0; i < p->len; i++) free(p->q[(p->head + i) % p->cap].data);
    p->head = p->len = 0;
    if (p->has_held) free(p->held.data);
    p->has_held = 0;
}

void net_free(ward_sim *sim) {
    for (size_t i = 0; sim->conns && i < sim->n_conns; i++) {
        pipe_clear(&sim->conns[i].pipe[0]);
        pipe_clear(&sim->conns[i].pipe[1]);
    }
    free(sim->conns);
    free(sim->free_conns);
    free(sim->links);
    free(sim->tampers);
    ward_u64map_free(&sim->conn_map);
    ward_u64map_free(&sim->timer_map);
}

sim_conn *net_conn(ward_sim *sim, uint32_t idx, uint32_t gen) {
    if (idx >= sim->n_conns) return NULL;
    sim_conn *c = &sim->conns[idx];
    return c->state != CONN_FREE && c->gen == gen ? c : NULL;
}

static uint32_t new_conn(ward_sim *sim) {
    uint32_t idx;
    if (sim->n_free) {
        idx = sim->free_conns[--sim->n_free];
    } else {
        if (sim->n_conns == sim->cap_conns) {
            size_t cap = sim->cap_conns ? 2 * sim->cap_conns : 256;
            if (cap > UINT32_MAX / 2) return UINT32_MAX;
            sim_conn *c = realloc(sim->conns, cap * sizeof *c);
            if (!c) return UINT32_MAX;
            uint32_t *f = realloc(sim->free_conns, cap * sizeof *f);
            if (!f) {
                sim->conns = c;
                return UINT32_MAX;
            }
            sim->conns = c;
            sim->free_conns = f;
            sim->cap_conns = cap;
        }
        idx = (uint32_t)sim->n_conns++;
        memset(&sim->conns[idx], 0, sizeof sim->conns[idx]);
    }
    sim_conn *c = &sim->conns[idx];
    uint32_t gen = c->gen;
    memset(c, 0, sizeof *c);
    c->gen = gen + 1;
    return idx;
}

static void free_conn(ward_sim *sim, uint32_t idx) {
    sim_conn *c = &sim->conns[idx];
    for (int s = 0; s < 2; s++) {
        if (c->open[s]) ward_u64map_del(&sim->conn_map, c->node[s], c->id[s]);
        c->open[s] = 0;
        pipe_clear(&c->pipe[s]);
    }
    c->state = CONN_FREE;
    c->gen++;
    sim->free_conns[sim->n_free++] = idx;
}

static int side_of(const sim_conn *c, uint32_t node, uint64_t id) {
    return c->node[0] == node && c->id[0] == id && c->open[0] ? 0 : 1;
}

static long lookup(ward_sim *sim, uint32_t node, uint64_t id) {
    uint64_t v;
    if (ward_u64map_get(&sim->conn_map, node, id, &v) != WARD_OK) return -1;
    return (long)v;
}

/* ---- the link model ------------------------------------------------------------ */

const ward_sim_link *net_link(const ward_sim *sim, uint32_t a, uint32_t b, uint64_t *loss_thr) {
    if (sim->n_links && a < sim->cfg.nodes && b < sim->cfg.nodes) {
        uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
        for (size_t i = 0; i < sim->n_links; i++) {
            if (sim->links[i].a == lo && sim->links[i].b == hi) {
                *loss_thr = sim->links[i].loss_threshold;
                return &sim->links[i].link;
            }
        }
    }
    *loss_thr = sim->loss_threshold;
    return &sim->link;
}

static int cut(const ward_sim *sim, uint32_t a, uint32_t b) {
    return sim->partitioned && a < sim->cfg.nodes && b < sim->cfg.nodes && sim->group[a] != sim->group[b];
}

static uint64_t one_way(ward_sim *sim, const ward_sim_link *l) {
    uint64_t d = (uint64_t)l->latency_ms * 1000;
    if (l->jitter_ms) d += sim_draw_below(sim, (uint64_t)l->jitter_ms * 1000 + 1);
    return d;
}

/* Whether one attempt to carry `packets` packets loses at least one. */
static int attempt_lost(ward_sim *sim, uint64_t thr, size_t packets) {
    if (thr == 0) return 0;
    if (thr == UINT64_MAX) return 1;
    for (size_t i = 0; i < packets; i++)
        if (ward_rng_u64(&sim->rng) < thr) return 1;
    return 0;
}

static uint64_t rto_us(const ward_sim_link *l) {
    uint64_t rtt = 2 * ((uint64_t)l->latency_ms + l->jitter_ms) * 1000;
    return rtt > SIM_RTO_MIN_US ? rtt : SIM_RTO_MIN_US;
}

static void notify(ward_sim *sim, uint32_t idx, int side, int what, uint64_t at) {
    sim_conn *c = &sim->conns[idx];
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) return;
    m->kind = EV_NOTIFY;
    m->node = c->node[side];
    m->conn = idx;
    m->cgen = c->gen;
    m->side = (uint8_t)side;
    m->what = what;
    sim_schedule(sim, at, m);
}

static void arm(ward_sim *sim, uint32_t idx, int side, uint64_t at) {
    sim_conn *c = &sim->conns[idx];
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) return;
    m->kind = EV_SEG;
    m->node = c->node[1 - side];
    m->conn = idx;
    m->cgen = c->gen;
    m->side = (uint8_t)side;
    if (sim_schedule(sim, at, m) == WARD_OK) c->pipe[side].armed = 1;
}

/* Queues a segment (taking ownership of data) behind what is in flight. */
static void enqueue(ward_sim *sim, uint32_t idx, int side, int kind, uint8_t *data, size_t len,
                    int tampered) {
    sim_conn *c = &sim->conns[idx];
    sim_pipe *p = &c->pipe[side];
    if (p->len == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        sim_seg *q = malloc(cap * sizeof *q);
        if (!q) {
            free(data);
            return;
        }
        for (size_t i = 0; i < p->len; i++) q[i] = p->q[(p->head + i) % p->cap];
        free(p->q);
        p->q = q;
        p->cap = cap;
        p->head = 0;
    }
    uint64_t thr;
    const ward_sim_link *l = net_link(sim, c->node[side], c->node[1 - side], &thr);
    uint64_t start = p->busy_until > sim->now ? p->busy_until : sim->now;
    uint64_t ser = l->bandwidth_kbps ? (uint64_t)len * 8000 / l->bandwidth_kbps : 0;
    p->busy_until = start + ser;
    uint64_t ready = p->busy_until + one_way(sim, l);
    if (ready < p->last_ready) ready = p->last_ready;
    p->last_ready = ready;
    p->q[(p->head + p->len) % p->cap] = (sim_seg){.data = data, .len = len, .ready = ready,
                                                  .kind = (uint8_t)kind,
                                                  .tampered = (uint8_t)tampered};
    p->len++;
    if (tampered) sim->stats.tampered_writes++;
    if (c->state == CONN_EST && !p->armed) arm(sim, idx, side, ready);
}

static uint8_t *dup_bytes(const uint8_t *data, size_t len) {
    uint8_t *b = malloc(len ? len : 1);
    if (b && len) memcpy(b, data, len);
    return b;
}

static void flush_held(ward_sim *sim, uint32_t idx, int side) {
    sim_pipe *p = &sim->conns[idx].pipe[side];
    if (!p->has_held) return;
    sim_seg h = p->held;
    p->has_held = 0;
    enqueue(sim, idx, side, SEG_DATA, h.data, h.len, 1);
}

static const sim_tamper *tamper_of(const ward_sim *sim, uint32_t from, uint32_t to) {
    for (size_t i = 0; i < sim->n_tampers; i++)
        if (sim->tampers[i].from == from && sim->tampers[i].to == to) return &sim->tampers[i];
    return NULL;
}

/* A write, through the adversary when this direction has one. */
static void send_write(ward_sim *sim, uint32_t idx, int side, const uint8_t *data, size_t len) {
    sim_conn *c = &sim->conns[idx];
    const sim_tamper *t = tamper_of(sim, c->node[side], c->node[1 - side]);
    sim_pipe *p = &c->pipe[side];
    if (!t) {
        if (p->has_held) {
            /* The write that overtakes the held one arrives out of order. */
            uint8_t *b = dup_bytes(data, len);
            if (b) enqueue(sim, idx, side, SEG_DATA, b, len, 1);
            flush_held(sim, idx, side);
            return;
        }
        uint8_t *b = dup_bytes(data, len);
        if (b) enqueue(sim, idx, side, SEG_DATA, b, len, 0);
        return;
    }
    int mode = t->mode;
    if (mode == WARD_SIM_TAMPER_MIX) mode = WARD_SIM_TAMPER_FLIP + (int)sim_draw_below(sim, 4);
    int hit = t->threshold == UINT64_MAX || ward_rng_u64(&sim->rng) < t->threshold;
    if (mode == WARD_SIM_TAMPER_TRUNCATE && len < 2) mode = WARD_SIM_TAMPER_FLIP;
    uint8_t *b = dup_bytes(data, len);
    if (!b) return;
    /* Keep a copy of this write for a later replay. */
    uint8_t *prev = p->last;
    size_t prev_len = p->last_len;
    p->last = dup_bytes(data, len);
    p->last_len = p->last ? len : 0;
    if (!hit || len == 0) {
        free(prev);
        if (p->has_held) {
            enqueue(sim, idx, side, SEG_DATA, b, len, 1);
            flush_held(sim, idx, side);
        } else {
            enqueue(sim, idx, side, SEG_DATA, b, len, 0);
        }
        return;
    }
    switch (mode) {
    case WARD_SIM_TAMPER_FLIP: {
        size_t pos = (size_t)sim_draw_below(sim, len);
        b[pos] ^= (uint8_t)(1u << sim_draw_below(sim, 8));
        enqueue(sim, idx, side, SEG_DATA, b, len, 1);
        break;
    }
    case WARD_SIM_TAMPER_TRUNCATE:
        enqueue(sim, idx, side, SEG_DATA, b, 1 + (size_t)sim_draw_below(sim, len - 1), 1);
        break;
    case WARD_SIM_TAMPER_REPLAY:
        enqueue(sim, idx, side, SEG_DATA, b, len, 0);
        if (prev) {
            enqueue(sim, idx, side, SEG_DATA, prev, prev_len, 1);
            prev = NULL;
        } else {
            uint8_t *again = dup_bytes(data, len);
            if (again) enqueue(sim, idx, side, SEG_DATA, again, len, 1);
        }
        break;
    case WARD_SIM_TAMPER_REORDER:
    default:
        if (p->has_held) {
            enqueue(sim, idx, side, SEG_DATA, b, len, 1);
            flush_held(sim, idx, side);
        } else {
            p->held = (sim_seg){.data = b, .len = len};
            p->has_held = 1;
            sim->stats.tampered_writes++;
        }
        break;
    }
    free(prev);
}

/* ---- actions from a core --------------------------------------------------------- */

void net_connect(ward_sim *sim, uint32_t node, uint64_t id, uint16_t port) {
    long target = (long)port - SIM_BASE_PORT - 1;
    if (target < 0 || (size_t)target >= sim->cfg.nodes || (uint32_t)target == node) target = -1;
    uint32_t idx = new_conn(sim);
    if (idx == UINT32_MAX) return;
    sim_conn *c = &sim->conns[idx];
    c->state = CONN_SYN;
    c->node[0] = node;
    c->id[0] = id;
    c->open[0] = 1;
    c->node[1] = target < 0 ? node : (uint32_t)target;
    if (ward_u64map_put(&sim->conn_map, node, id, idx) != WARD_OK) {
        c->open[0] = 0;
        free_conn(sim, idx);
        return;
    }
    if (node >= sim->cfg.nodes) sim->stats.outsider_dials++;
    uint64_t thr;
    const ward_sim_link *l = net_link(sim, node, c->node[1], &thr);
    if (target < 0) {
        sim->stats.refused++;
        notify(sim, idx, 0, WARD_EV_CONN_CLOSED, sim->now + (uint64_t)l->latency_ms * 1000);
        return;
    }
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) return;
    m->kind = EV_SYN;
    m->node = (uint32_t)target;
    m->conn = idx;
    m->cgen = c->gen;
    sim_schedule(sim, sim->now + one_way(sim, l), m);
}

void net_send(ward_sim *sim, uint32_t node, uint64_t id, const uint8_t *data, size_t len) {
    long idx = lookup(sim, node, id);
    if (idx < 0) return;
    sim_conn *c = &sim->conns[idx];
    int side = side_of(c, node, id);
    if (!c->open[side]) return;
    if (c->node[1 - side] >= sim->cfg.nodes && node < sim->cfg.nodes) sim->stats.bytes_to_outsiders += len;
    send_write(sim, (uint32_t)idx, side, data, len);
}

void net_close(ward_sim *sim, uint32_t node, uint64_t id) {
    long li = lookup(sim, node, id);
    if (li < 0) return;
    uint32_t idx = (uint32_t)li;
    sim_conn *c = &sim->conns[idx];
    int side = side_of(c, node, id);
    if (c->state == CONN_SYN) {
        free_conn(sim, idx);
        return;
    }
    flush_held(sim, idx, side);
    enqueue(sim, idx, side, SEG_FIN, NULL, 0, 0);
    c = &sim->conns[idx];
    c->open[side] = 0;
    ward_u64map_del(&sim->conn_map, node, id);
    if (c->tamper_at[side]) sim->stats.tampered_closed++;
    if (!c->open[1 - side]) free_conn(sim, idx);
}

void net_side_closed(ward_sim *sim, uint32_t idx, int side) {
    sim_conn *c = &sim->conns[idx];
    if (!c->open[side]) return;
    c->open[side] = 0;
    ward_u64map_del(&sim->conn_map, c->node[side], c->id[side]);
    if (c->tamper_at[side]) sim->stats.tampered_closed++;
    pipe_drop(&c->pipe[side]);
    if (!c->open[1 - side]) free_conn(sim, idx);
}

void net_mark_tampered(ward_sim *sim, uint32_t idx, int side) {
    sim_conn *c = &sim->conns[idx];
    if (!c->tamper_at[side]) c->tamper_at[side] = sim->now + 1;
}

void net_crash(ward_sim *sim, uint32_t node) {
    for (uint32_t idx = 0; idx < sim->n_conns; idx++) {
        for (int s = 0; s < 2; s++) {
            sim_conn *c = &sim->conns[idx];
            if (c->state == CONN_FREE || c->node[s] != node || !c->open[s]) continue;
            if (c->state == CONN_SYN) {
                free_conn(sim, idx);
                break;
            }
            /* The kernel resets the dead process's connections, after what
             * it had already sent. */
            c->open[s] = 0;
            ward_u64map_del(&sim->conn_map, node, c->id[s]);
            if (c->tamper_at[s]) sim->stats.tampered_closed++;
            flush_held(sim, idx, s);
            enqueue(sim, idx, s, SEG_RST, NULL, 0, 0);
            c = &sim->conns[idx];
            if (!c->open[1 - s]) {
                free_conn(sim, idx);
                break;
            }
        }
    }
}

/* ---- events ------------------------------------------------------------------------ */

static void on_syn(ward_sim *sim, const sim_msg *m) {
    sim_conn *c = net_conn(sim, m->conn, m->cgen);
    if (!c || c->state != CONN_SYN) return;
    uint32_t idx = m->conn, d = c->node[0], l = c->node[1];
    uint64_t thr;
    const ward_sim_link *lk = net_link(sim, d, l, &thr);
    if (cut(sim, d, l) || attempt_lost(sim, thr, 1)) {
        if (++c->syn_attempts > WARD_SIM_SYN_RETRIES) {
            sim->stats.syn_timeouts++;
            notify(sim, idx, 0, WARD_EV_CONN_CLOSED, sim->now);
            return;
        }
        sim->stats.retransmits++;
        sim_msg *r = calloc(1, sizeof *r);
        if (!r) return;
        *r = *m;
        r->data = NULL;
        sim_schedule(sim, sim->now + (SIM_SYN_RTO_US << (c->syn_attempts - 1)), r);
        return;
    }
    sim_node *L = &sim->nodes[l];
    if (!L->core) {
        /* Nothing listens: the host answers with a reset. */
        sim->stats.refused++;
        notify(sim, idx, 0, WARD_EV_CONN_CLOSED, sim->now + (uint64_t)lk->latency_ms * 1000);
        return;
    }
    uint64_t in_id = L->next_inbound;
    L->next_inbound += 2;
    if (ward_u64map_put(&sim->conn_map, l, in_id, idx) != WARD_OK) return;
    c->id[1] = in_id;
    c->open[1] = 1;
    c->state = CONN_EST;
    uint64_t back = sim->now + one_way(sim, lk);
    notify(sim, idx, 0, WARD_EV_CONN_OPEN, back);
    if (c->pipe[0].len && !c->pipe[0].armed) arm(sim, idx, 0, c->pipe[0].q[c->pipe[0].head].ready);
    sim_app_ev ev;
    memset(&ev, 0, sizeof ev);
    ev.what = WARD_EV_CONN_OPEN;
    ev.conn = idx;
    ev.cgen = c->gen;
    ev.side = 1;
    ev.id = in_id;
    sim_app_deliver(sim, l, &ev);
}

static void on_seg(ward_sim *sim, const sim_msg *m) {
    sim_conn *c = net_conn(sim, m->conn, m->cgen);
    if (!c) return;
    uint32_t idx = m->conn;
    int s = m->side, d = 1 - s;
    sim_pipe *p = &c->pipe[s];
    p->armed = 0;
    if (p->len == 0) return;
    uint64_t thr;
    const ward_sim_link *l = net_link(sim, c->node[s], c->node[d], &thr);
    sim_seg *head = &p->q[p->head];
    size_t packets = head->len / SIM_MSS + 1;
    if (cut(sim, c->node[s], c->node[d]) || attempt_lost(sim, thr, packets)) {
        sim->stats.retransmits++;
        if (++p->attempts > WARD_SIM_MAX_RETX) {
            /* The sender's stack gives up: its side resets; the far side
             * stays half-open until it sends and meets a reset. */
            sim->stats.resets++;
            p->attempts = 0;
            pipe_drop(p);
            if (c->open[s]) notify(sim, idx, s, WARD_EV_CONN_CLOSED, sim->now);
            else if (!c->open[d]) free_conn(sim, idx);
            return;
        }
        arm(sim, idx, s, sim->now + (rto_us(l) << (p->attempts - 1)));
        return;
    }
    p->attempts = 0;
    sim_seg seg = *head;
    p->head = (p->head + 1) % p->cap;
    p->len--;
    uint32_t gen = c->gen;
    if (!c->open[d] || !sim->nodes[c->node[d]].core) {
        /* No socket on the far side any more: data meets a reset. */
        if (seg.kind == SEG_DATA && c->open[s])
            notify(sim, idx, s, WARD_EV_CONN_CLOSED, sim->now + one_way(sim, l));
    } else {
        sim_app_ev ev;
        memset(&ev, 0, sizeof ev);
        ev.what = seg.kind == SEG_DATA ? WARD_EV_CONN_DATA : WARD_EV_CONN_CLOSED;
        ev.conn = idx;
        ev.cgen = gen;
        ev.side = (uint8_t)d;
        ev.tampered = seg.tampered;
        ev.id = c->id[d];
        ev.data = seg.data;
        ev.len = seg.len;
        sim_app_deliver(sim, c->node[d], &ev);
    }
    free(seg.data);
    c = net_conn(sim, idx, gen);
    if (!c) return;
    p = &c->pipe[s];
    if (!c->open[s] && !c->open[d] && p->len == 0) {
        free_conn(sim, idx);
        return;
    }
    if (p->len && !p->armed) {
        uint64_t next = p->q[p->head].ready;
        arm(sim, idx, s, next > sim->now ? next : sim->now);
    }
}

static void on_notify(ward_sim *sim, const sim_msg *m) {
    sim_conn *c = net_conn(sim, m->conn, m->cgen);
    if (!c || !c->open[m->side]) return;
    sim_app_ev ev;
    memset(&ev, 0, sizeof ev);
    ev.what = m->what;
    ev.conn = m->conn;
    ev.cgen = m->cgen;
    ev.side = m->side;
    ev.id = c->id[m->side];
    sim_app_deliver(sim, c->node[m->side], &ev);
}

void net_on_event(ward_sim *sim, const sim_msg *m) {
    switch (m->kind) {
    case EV_SYN: on_syn(sim, m); break;
    case EV_SEG: on_seg(sim, m); break;
    case EV_NOTIFY: on_notify(sim, m); break;
    default: break;
    }
}
