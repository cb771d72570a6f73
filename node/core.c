/* The node core: channels, peers, keepalive, reconnects and control
 * requests. Aggregate sessions live in session_agg.c.
 *
 * A channel is a TCP stream of frames (4-byte length, then a message):
 *   1. the dialer sends a preamble frame: PREAMBLE_MAGIC and its name, in
 *      the clear, so the listener knows which roster key to expect (KK
 *      needs both static keys before the first message); the preamble is
 *      also the Noise prologue, so tampering with it fails the handshake;
 *   2. Noise_KK_25519_ChaChaPoly_SHA256, two messages, empty payloads;
 *   3. each side's first transport message is a HELLO; a mismatch closes
 *      with an explicit reason on both sides;
 *   4. envelopes (sessions, pings) until either side closes.
 */
#include "core_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "error.h"

#ifndef WARD_VERSION
#define WARD_VERSION "0.1.0"
#endif

/* ---- actions ---------------------------------------------------------- */

void ward_actions_init(ward_actions *a) { memset(a, 0, sizeof *a); }

void ward_actions_reset(ward_actions *a) {
    for (size_t i = 0; i < a->len; i++) {
        if (a->items[i].data) {
            sodium_memzero(a->items[i].data, a->items[i].len);
            free(a->items[i].data);
        }
        free(a->items[i].text);
    }
    a->len = 0;
}

void ward_actions_free(ward_actions *a) {
    ward_actions_reset(a);
    free(a->items);
    memset(a, 0, sizeof *a);
}

static ward_action *push_action(ward_actions *a, ward_action_kind kind) {
    if (a->len == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        ward_action *n = realloc(a->items, cap * sizeof *n);
        if (!n) return NULL;
        a->items = n;
        a->cap = cap;
    }
    ward_action *x = &a->items[a->len++];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    return x;
}

void core_log(ward_core *c, ward_actions *out, int level, const char *fmt, ...) {
    (void)c;
    ward_action *x = push_action(out, WARD_ACT_LOG);
    if (!x) return;
    x->level = level;
    x->text = malloc(512);
    if (!x->text) {
        out->len--;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->text, 512, fmt, ap);
    va_end(ap);
}

static void set_timer(ward_actions *out, uint64_t timer, uint64_t at_ms) {
    ward_action *x = push_action(out, WARD_ACT_TIMER_SET);
    if (!x) return;
    x->timer = timer;
    x->at_ms = at_ms;
}

void core_set_timer(ward_actions *out, uint64_t timer, uint64_t at_ms) { set_timer(out, timer, at_ms); }

void core_session_id(uint8_t id[32], const char *proposer, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *spec, size_t spec_len) {
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)proposer, strlen(proposer));
    crypto_hash_sha256_update(&h, nonce, nonce_len);
    crypto_hash_sha256_update(&h, spec, spec_len);
    crypto_hash_sha256_final(&h, id);
}

int core_push_job(ward_actions *out, uint64_t job, uint8_t *data, size_t len) {
    ward_action *x = push_action(out, WARD_ACT_JOB);
    if (!x) return WARD_ENOMEM;
    x->job = job;
    x->data = data;
    x->len = len;
    return WARD_OK;
}

static void emit_send(ward_actions *out, uint64_t conn_id, uint8_t *data, size_t len) {
    ward_action *x = push_action(out, WARD_ACT_SEND);
    if (!x) {
        free(data);
        return;
    }
    x->conn = conn_id;
    x->data = data;
    x->len = len;
}

static void emit_close(ward_actions *out, uint64_t conn_id) {
    ward_action *x = push_action(out, WARD_ACT_CLOSE);
    if (x) x->conn = conn_id;
}

/* ---- connections ------------------------------------------------------ */

static conn *find_conn(ward_core *c, uint64_t id) {
    for (size_t i = 0; i < c->n_conns; i++)
        if (c->conns[i]->id == id) return c->conns[i];
    return NULL;
}

static conn *new_conn(ward_core *c, uint64_t id, int outbound, long peer_idx, uint64_t now) {
    if (c->n_conns == c->cap_conns) {
        size_t cap = c->cap_conns ? 2 * c->cap_conns : 16;
        conn **n = realloc(c->conns, cap * sizeof *n);
        if (!n) return NULL;
        c->conns = n;
        c->cap_conns = cap;
    }
    conn *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->id = id;
    k->outbound = outbound;
    k->peer = peer_idx;
    k->state = outbound ? CONN_HANDSHAKE : CONN_PREAMBLE;
    k->opened_ms = k->last_rx_ms = k->last_ping_ms = now;
    ward_frame_reader_init(&k->reader);
    c->conns[c->n_conns++] = k;
    return k;
}

static void free_conn(ward_core *c, conn *k) {
    for (size_t i = 0; i < c->n_conns; i++) {
        if (c->conns[i] == k) {
            c->conns[i] = c->conns[--c->n_conns];
            break;
        }
    }
    ward_noise_handshake_clear(&k->hs);
    ward_noise_cipher_clear(&k->tx);
    ward_noise_cipher_clear(&k->rx);
    sodium_memzero(k, sizeof *k);
    free(k);
}

static const char *peer_name(const ward_core *c, long idx) {
    return idx >= 0 ? c->roster->members[idx].name : "(unknown)";
}

int core_peer_connected(const ward_core *c, long idx) {
    return idx == c->self || (idx >= 0 && c->peers[idx].c != NULL);
}

static void arm_reconnect(ward_core *c, ward_actions *out, peer *p, uint64_t now) {
    if (!p->dialer || p->reconnect_armed || c->stopping) return;
    /* Capped exponential backoff with +-25% jitter, so a restarted city
     * does not reconnect in lockstep. */
    uint32_t b = p->backoff_ms;
    uint64_t jitter = ward_rng_uniform(c->rng, b / 2 + 1);
    uint64_t delay = b - b / 4 + jitter;
    p->backoff_ms = b * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms : b * 2;
    p->reconnect_armed = 1;
    set_timer(out, TIMER_ID(TIMER_RECONNECT, p->idx), now + delay);
}

/* Forgets a connection: on the peer (if attached), in sessions, and
 * schedules a reconnect when we are the dialer. */
static void drop_conn(ward_core *c, ward_actions *out, conn *k, int send_close, uint64_t now) {
    if (send_close) emit_close(out, k->id);
    long idx = k->peer;
    int was_open = k->state == CONN_OPEN;
    if (idx >= 0 && idx != c->self) {
        peer *p = &c->peers[idx];
        if (p->c == k) {
            p->c = NULL;
            ward_reasm_clear(&p->reasm);
            ward_reasm_init(&p->reasm, 0);
        }
        if (p->pending == k) p->pending = NULL;
        if (p->c == NULL && p->pending == NULL) arm_reconnect(c, out, p, now);
    }
    free_conn(c, k);
    if (was_open && idx >= 0) {
        core_log(c, out, WARD_LOG_INFO, "peer %s disconnected", peer_name(c, idx));
        agg_on_peer_lost(c, out, idx, now);
        decide_on_peer_lost(c, out, idx, now);
        fl_on_peer_lost(c, out, idx, now);
    }
    if (idx >= 0 && idx != c->self && c->peers[idx].c == NULL) gc_on_peer_lost(c, out, idx, now);
}

/* Frames and sends bytes in the clear (preamble, handshake messages). */
static void send_plain_frame(ward_actions *out, conn *k, const uint8_t *msg, size_t len) {
    uint8_t *buf = malloc(WARD_FRAME_HEADER_BYTES + len);
    if (!buf) return;
    if (ward_frame_write_header(buf, len) != WARD_OK) {
        free(buf);
        return;
    }
    memcpy(buf + WARD_FRAME_HEADER_BYTES, msg, len);
    emit_send(out, k->id, buf, WARD_FRAME_HEADER_BYTES + len);
}

/* Encrypts one transport plaintext into a frame. */
static int send_transport(ward_actions *out, conn *k, const uint8_t *msg, size_t len) {
    size_t ct_len = len + WARD_NOISE_TAGLEN;
    uint8_t *buf = malloc(WARD_FRAME_HEADER_BYTES + ct_len);
    if (!buf) return WARD_ENOMEM;
    size_t got = 0;
    int rc = ward_noise_cipher_encrypt(&k->tx, buf + WARD_FRAME_HEADER_BYTES, ct_len, &got, NULL,
                                       0, msg, len);
    if (rc == WARD_OK) rc = ward_frame_write_header(buf, got);
    if (rc != WARD_OK) {
        free(buf);
        return rc;
    }
    emit_send(out, k->id, buf, WARD_FRAME_HEADER_BYTES + got);
    return WARD_OK;
}

static void send_close_msg(ward_core *c, ward_actions *out, conn *k, int reason, const char *text) {
    size_t len = 0;
    if (ward_close_encode(c->scratch, sizeof c->scratch, &len, reason, text) == WARD_OK)
        send_transport(out, k, c->scratch, len);
}

static void fill_hello(const ward_core *c, ward_hello *h) {
    ward__wire__hello__init(h);
    h->version_major = WARD_WIRE_VERSION_MAJOR;
    h->version_minor = WARD_WIRE_VERSION_MINOR;
    h->federation_id = (char *)c->roster->federation;
    h->roster_epoch = c->roster->epoch;
    h->roster_hash.data = (uint8_t *)c->roster->hash;
    h->roster_hash.len = 32;
    h->node_name = (char *)c->name;
}

static int start_transport(ward_core *c, ward_actions *out, conn *k) {
    int rc = ward_noise_handshake_split(&k->hs, &k->tx, &k->rx);
    ward_noise_handshake_clear(&k->hs);
    if (rc != WARD_OK) return rc;
    ward_hello h;
    fill_hello(c, &h);
    size_t len = 0;
    rc = ward_hello_encode(c->scratch, sizeof c->scratch, &len, &h);
    if (rc == WARD_OK) rc = send_transport(out, k, c->scratch, len);
    k->state = CONN_HELLO;
    return rc;
}

static int begin_dial(ward_core *c, ward_actions *out, peer *p, uint64_t now) {
    const ward_roster_member *m = &c->roster->members[p->idx];
    uint64_t id = c->next_conn_id;
    c->next_conn_id += 2;
    conn *k = new_conn(c, id, 1, p->idx, now);
    if (!k) return WARD_ENOMEM;
    p->pending = k;
    ward_action *x = push_action(out, WARD_ACT_CONNECT);
    if (!x) return WARD_ENOMEM;
    x->conn = id;
    x->host = m->host;
    x->port = m->port;
    return WARD_OK;
}

/* The dialer's side once TCP is up: preamble, then KK message 1. */
static void on_outbound_open(ward_core *c, ward_actions *out, conn *k) {
    size_t nl = strlen(c->name);
    memcpy(k->preamble, PREAMBLE_MAGIC, PREAMBLE_MAGIC_LEN);
    memcpy(k->preamble + PREAMBLE_MAGIC_LEN, c->name, nl);
    k->preamble_len = PREAMBLE_MAGIC_LEN + nl;
    send_plain_frame(out, k, k->preamble, k->preamble_len);
    int rc = ward_noise_kk_init(&k->hs, 1, c->static_priv, c->roster->members[k->peer].pub,
                                k->preamble, k->preamble_len, c->rng);
    size_t len = 0;
    if (rc == WARD_OK) rc = ward_noise_handshake_write(&k->hs, c->scratch, sizeof c->scratch, &len, NULL, 0);
    if (rc == WARD_OK) send_plain_frame(out, k, c->scratch, len);
    else core_log(c, out, WARD_LOG_ERROR, "handshake with %s could not start: %s",
                  peer_name(c, k->peer), ward_strerror(rc));
}

static void attach_open(ward_core *c, ward_actions *out, conn *k, const ward_hello *h, uint64_t now) {
    peer *p = &c->peers[k->peer];
    if (p->c && p->c != k) {
        /* A newer channel replaces an older one (the old one is usually a
         * half-dead TCP connection the peer already gave up on). */
        conn *old = p->c;
        p->c = NULL;
        drop_conn(c, out, old, 1, now);
    }
    if (p->pending == k) p->pending = NULL;
    p->c = k;
    p->backoff_ms = c->cfg.backoff_min_ms;
    p->last_seen_ms = now;
    snprintf(p->wire_version, sizeof p->wire_version, "%u.%u", h->version_major, h->version_minor);
    k->state = CONN_OPEN;
    core_log(c, out, WARD_LOG_INFO, "peer %s connected (%s)", peer_name(c, k->peer),
             k->outbound ? "outbound" : "inbound");
    fl_on_peer_up(c, out, k->peer, now);
}

/* A Ping (pong = 0) or the Pong that answers one: session id all zero,
 * never chunked (docs/protocol.md, "Envelopes"). */
static void send_keepalive(ward_core *c, ward_actions *out, long to, int pong, uint64_t nonce,
                           uint64_t time_ms) {
    static const uint8_t zero_id[32];
    ward_envelope e;
    Ward__Wire__Ping pi;
    Ward__Wire__Pong po;
    ward__wire__envelope__init(&e);
    e.session_id.data = (uint8_t *)zero_id;
    e.session_id.len = 32;
    e.sender = c->name;
    if (pong) {
        ward__wire__pong__init(&po);
        po.nonce = nonce;
        po.time_ms = time_ms;
        e.kind = WARD__WIRE__KIND__KIND_PONG;
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_PONG;
        e.pong = &po;
    } else {
        ward__wire__ping__init(&pi);
        pi.nonce = nonce;
        pi.time_ms = time_ms;
        e.kind = WARD__WIRE__KIND__KIND_PING;
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_PING;
        e.ping = &pi;
    }
    core_send_envelope(c, out, to, &e);
}

int core_peer_busy(ward_core *c, ward_actions *out, long from, const ward_envelope *e) {
    uint32_t held = agg_from(c, from) + decide_from(c, from) + fl_from(c, from) + gc_from(c, from);
    if (held < c->cfg.max_peer_sessions) return 0;
    char text[160];
    snprintf(text, sizeof text, "%s is busy: %s already holds %u sessions there; try again later",
             c->name, peer_name(c, from), held);
    ward_envelope r;
    Ward__Wire__Reject rej;
    ward__wire__envelope__init(&r);
    ward__wire__reject__init(&rej);
    rej.code = WARD__WIRE__REASON__REASON_BUSY;
    rej.text = text;
    r.session_id = e->session_id;
    r.kind = WARD__WIRE__KIND__KIND_REJECT;
    r.round = e->round;
    r.sender = c->name;
    r.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_REJECT;
    r.reject = &rej;
    core_send_envelope(c, out, from, &r);
    core_log(c, out, WARD_LOG_WARN, "proposal from %s refused: it holds %u sessions here (at most %u)",
             peer_name(c, from), held, c->cfg.max_peer_sessions);
    return 1;
}

/* A whole envelope from a peer (reassembled when it came in chunks): a
 * Ping is answered, a Pong only proves the channel alive, and everything
 * else goes to the session kind that owns it. */
static void dispatch_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                              uint64_t now) {
    if (e->kind == WARD__WIRE__KIND__KIND_PING) {
        send_keepalive(c, out, from, 1, e->ping->nonce, e->ping->time_ms);
        return;
    }
    if (e->kind == WARD__WIRE__KIND__KIND_PONG) return;
    if (!decide_on_envelope(c, out, from, e, now) && !fl_on_envelope(c, out, from, e, now) &&
        !gc_on_envelope(c, out, from, e, now))
        agg_on_envelope(c, out, from, e, now);
}

/* One decrypted message of a channel past its handshake (HELLO first,
 * then envelopes). Wipes msg. Returns 1 to keep the channel, 0 to drop it
 * (the caller drops it). */
static int on_plaintext(ward_core *c, ward_actions *out, conn *k, uint8_t *msg, size_t plen,
                        uint64_t now) {
    k->last_rx_ms = now;
    if (c->cfg.test_rx_hook) c->cfg.test_rx_hook(c->cfg.test_rx_ctx, c->name, peer_name(c, k->peer), msg, plen);
    ward_wire_msg *m = NULL;
    int rc = ward_wire_decode(&m, msg, plen);
    sodium_memzero(msg, plen);
    if (rc != WARD_OK) {
        c->stats.frames_rejected++;
        core_log(c, out, WARD_LOG_WARN, "channel with %s: bad message (%s); closing",
                 peer_name(c, k->peer), ward_strerror(rc));
        send_close_msg(c, out, k, WARD__WIRE__CLOSE_REASON__CLOSE_PROTOCOL_ERROR, ward_strerror(rc));
        return 0;
    }
    int keep = 1;
    if (m->body_case == WARD__WIRE__MESSAGE__BODY_CLOSE) {
        core_log(c, out, WARD_LOG_WARN, "peer %s closed the channel: %s%s%s",
                 peer_name(c, k->peer), ward_close_reason_str(m->close->reason),
                 m->close->text[0] ? ": " : "", m->close->text);
        keep = 0;
    } else if (k->state == CONN_HELLO) {
        if (m->body_case != WARD__WIRE__MESSAGE__BODY_HELLO) {
            core_log(c, out, WARD_LOG_WARN, "peer %s sent data before HELLO; closing",
                     peer_name(c, k->peer));
            keep = 0;
        } else {
            ward_hello mine;
            fill_hello(c, &mine);
            Ward__Wire__CloseReason why = WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED;
            ward_hello_match(&why, &mine, m->hello, peer_name(c, k->peer));
            if (why != WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED) {
                core_log(c, out, WARD_LOG_WARN, "refused peer %s: %s", peer_name(c, k->peer),
                         ward_close_reason_str(why));
                send_close_msg(c, out, k, why, ward_close_reason_str(why));
                keep = 0;
            } else {
                attach_open(c, out, k, m->hello, now);
            }
        }
    } else if (m->body_case == WARD__WIRE__MESSAGE__BODY_ENVELOPE) {
        ward_envelope *e = m->envelope;
        peer *p = &c->peers[k->peer];
        p->last_seen_ms = now;
        if (strcmp(e->sender, peer_name(c, k->peer)) != 0) {
            core_log(c, out, WARD_LOG_WARN, "peer %s sent an envelope as '%s'; closing",
                     peer_name(c, k->peer), e->sender);
            keep = 0;
        } else if (e->chunk) {
            ward_envelope *whole = NULL;
            if (p->reasm.state == 2) {
                ward_reasm_clear(&p->reasm);
                ward_reasm_init(&p->reasm, 0);
            }
            rc = ward_reasm_add(&p->reasm, &whole, e);
            if (rc != WARD_OK) {
                core_log(c, out, WARD_LOG_WARN, "peer %s: bad chunk (%s); closing",
                         peer_name(c, k->peer), ward_strerror(rc));
                keep = 0;
            } else if (whole) {
                dispatch_envelope(c, out, k->peer, whole, now);
                ward_envelope_free(whole);
                ward_reasm_clear(&p->reasm);
                ward_reasm_init(&p->reasm, 0);
            }
        } else {
            dispatch_envelope(c, out, k->peer, e, now);
        }
    } else {
        core_log(c, out, WARD_LOG_WARN, "peer %s sent an unexpected message; closing",
                 peer_name(c, k->peer));
        keep = 0;
    }
    ward_wire_free(m);
    return keep;
}

/* One frame of a connection. Returns 0 to go on, non-zero once the
 * connection was dropped. */
static int on_frame(ward_core *c, ward_actions *out, conn *k, uint8_t *msg, size_t len, uint64_t now) {
    int rc;
    size_t plen = 0;
    switch (k->state) {
    case CONN_PREAMBLE: {
        if (len <= PREAMBLE_MAGIC_LEN || len > sizeof k->preamble ||
            memcmp(msg, PREAMBLE_MAGIC, PREAMBLE_MAGIC_LEN) != 0) {
            core_log(c, out, WARD_LOG_WARN, "refused connection %llu: not a ward channel",
                     (unsigned long long)k->id);
            break;
        }
        char name[WARD_NAME_MAX + 1];
        size_t nl = len - PREAMBLE_MAGIC_LEN;
        memcpy(name, msg + PREAMBLE_MAGIC_LEN, nl);
        name[nl] = '\0';
        long idx = ward_name_valid(name) ? ward_roster_find(c->roster, name) : -1;
        if (idx < 0 || idx == c->self) {
            core_log(c, out, WARD_LOG_WARN, "refused connection: unknown peer '%.32s' (not in roster)",
                     ward_name_valid(name) ? name : "(invalid name)");
            break;
        }
        if (c->peers[idx].dialer) {
            /* We dial this peer; it must not dial us. */
            core_log(c, out, WARD_LOG_WARN, "refused connection from %s: the lower name dials", name);
            break;
        }
        memcpy(k->preamble, msg, len);
        k->preamble_len = len;
        k->peer = idx;
        rc = ward_noise_kk_init(&k->hs, 0, c->static_priv, c->roster->members[idx].pub, k->preamble,
                                k->preamble_len, c->rng);
        if (rc != WARD_OK) break;
        k->state = CONN_HANDSHAKE;
        return 0;
    }
    case CONN_HANDSHAKE:
        rc = ward_noise_handshake_read(&k->hs, NULL, 0, &plen, msg, len);
        if (rc != WARD_OK) {
            core_log(c, out, WARD_LOG_WARN,
                     "refused connection from %s: handshake failed (%s): its key is not the roster's",
                     peer_name(c, k->peer), ward_strerror(rc));
            c->stats.frames_rejected++;
            break;
        }
        if (!k->outbound) {
            size_t wl = 0;
            rc = ward_noise_handshake_write(&k->hs, c->scratch, sizeof c->scratch, &wl, NULL, 0);
            if (rc != WARD_OK) break;
            send_plain_frame(out, k, c->scratch, wl);
        }
        if (start_transport(c, out, k) != WARD_OK) break;
        return 0;
    case CONN_HELLO:
    case CONN_OPEN: {
        rc = ward_noise_cipher_decrypt(&k->rx, msg, len, &plen, NULL, 0, msg, len);
        if (rc != WARD_OK) {
            core_log(c, out, WARD_LOG_WARN, "channel with %s: %s; closing", peer_name(c, k->peer),
                     ward_strerror(rc));
            c->stats.frames_rejected++;
            break;
        }
        if (on_plaintext(c, out, k, msg, plen, now)) return 0;
        break;
    }
    default:
        break;
    }
    drop_conn(c, out, k, 1, now);
    return 1;
}

static void on_data(ward_core *c, ward_actions *out, conn *k, const uint8_t *data, size_t len,
                    uint64_t now) {
    while (len > 0) {
        uint8_t *msg = NULL;
        size_t mlen = 0, used = 0;
        int rc = ward_frame_read(&k->reader, &msg, &mlen, &used, data, len);
        if (rc != WARD_OK) {
            core_log(c, out, WARD_LOG_WARN, "connection from %s: bad frame (%s); closing",
                     peer_name(c, k->peer), ward_strerror(rc));
            c->stats.frames_rejected++;
            drop_conn(c, out, k, 1, now);
            return;
        }
        data += used;
        len -= used;
        if (msg && on_frame(c, out, k, msg, mlen, now) != 0) return;
    }
}

int core_send_envelope(ward_core *c, ward_actions *out, long idx, const ward_envelope *e) {
    if (idx < 0 || idx == c->self || !c->peers[idx].c) return WARD_ENOTFOUND;
    conn *k = c->peers[idx].c;
    ward_chunker ch;
    int rc = ward_chunker_init(&ch, e);
    if (rc != WARD_OK) return rc;
    for (;;) {
        size_t len = 0;
        rc = ward_chunker_next(&ch, c->scratch, sizeof c->scratch, &len);
        if (rc != WARD_OK || len == 0) break;
        rc = send_transport(out, k, c->scratch, len);
        if (rc != WARD_OK) break;
    }
    ward_chunker_clear(&ch);
    return rc;
}

/* ---- keepalive -------------------------------------------------------- */

static void on_tick(ward_core *c, ward_actions *out, uint64_t now) {
    for (size_t i = 0; i < c->n_conns;) {
        conn *k = c->conns[i];
        if (k->state != CONN_OPEN) {
            if (now - k->opened_ms > CORE_HANDSHAKE_TIMEOUT_MS) {
                core_log(c, out, WARD_LOG_WARN, "connection to %s: handshake timed out",
                         peer_name(c, k->peer));
                drop_conn(c, out, k, 1, now);
                continue;
            }
        } else if (now - k->last_rx_ms > c->cfg.idle_timeout_ms) {
            core_log(c, out, WARD_LOG_WARN, "peer %s silent for %u ms; closing",
                     peer_name(c, k->peer), c->cfg.idle_timeout_ms);
            send_close_msg(c, out, k, WARD__WIRE__CLOSE_REASON__CLOSE_IDLE_TIMEOUT, NULL);
            drop_conn(c, out, k, 1, now);
            continue;
        } else if (now - k->last_ping_ms >= c->cfg.keepalive_ms) {
            k->last_ping_ms = now;
            send_keepalive(c, out, k->peer, 0, ward_rng_u64(c->rng), now);
        }
        i++;
    }
    agg_on_tick(c, out, now);
    gc_on_tick(c, out, now);
    decide_on_tick(c, out, now);
    fl_on_tick(c, out, now);
    if (!c->stopping) set_timer(out, TIMER_ID(TIMER_TICK, 0), now + CORE_TICK_MS);
}

/* ---- control requests ------------------------------------------------- */

void core_reply(ward_core *c, ward_actions *out, uint64_t client, Ward__Control__Response *resp) {
    (void)c;
    resp->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    size_t len = ward__control__response__get_packed_size(resp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return;
    ward__control__response__pack(resp, buf);
    ward_action *x = push_action(out, WARD_ACT_CTL_REPLY);
    if (!x) {
        free(buf);
        return;
    }
    x->client = client;
    x->data = buf;
    x->len = len;
}

void core_reply_error(ward_core *c, ward_actions *out, uint64_t client, uint64_t id, int code,
                      const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.error = code;
    r.message = msg;
    core_reply(c, out, client, &r);
}

static void ctl_status(ward_core *c, ward_actions *out, uint64_t client, uint64_t id, uint64_t now) {
    ward_core_stats st;
    ward_core_get_stats(c, &st);
    Ward__Control__StatusResult s;
    ward__control__status_result__init(&s);
    s.name = c->name;
    s.peers_connected = st.peers_connected;
    s.peers_total = st.peers_total;
    s.sessions_active = st.sessions_active;
    s.federation_id = (char *)c->roster->federation;
    s.roster_epoch = c->roster->epoch;
    s.version = WARD_VERSION;
    s.uptime_ms = now - c->started_ms;
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.result_case = WARD__CONTROL__RESPONSE__RESULT_STATUS;
    r.status = &s;
    core_reply(c, out, client, &r);
}

static void ctl_peers(ward_core *c, ward_actions *out, uint64_t client, uint64_t id) {
    size_t n = c->roster->n_members;
    Ward__Control__Peer *pv = calloc(n, sizeof *pv);
    Ward__Control__Peer **pp = calloc(n, sizeof *pp);
    char (*addr)[WARD_HOST_MAX + 10] = calloc(n, sizeof *addr);
    if (!pv || !pp || !addr) {
        free(pv);
        free(pp);
        free(addr);
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((long)i == c->self) continue;
        const ward_roster_member *m = &c->roster->members[i];
        peer *p = &c->peers[i];
        Ward__Control__Peer *x = &pv[k];
        ward__control__peer__init(x);
        x->name = (char *)m->name;
        snprintf(addr[k], sizeof addr[k], strchr(m->host, ':') ? "[%s]:%u" : "%s:%u", m->host,
                 (unsigned)m->port);
        x->address = addr[k];
        x->connected = p->c != NULL;
        x->public_key.data = (uint8_t *)m->pub;
        x->public_key.len = 32;
        x->wire_version = p->wire_version;
        x->last_seen_ms = p->last_seen_ms;
        pp[k] = x;
        k++;
    }
    Ward__Control__PeersResult res;
    ward__control__peers_result__init(&res);
    res.n_peers = k;
    res.peers = pp;
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.result_case = WARD__CONTROL__RESPONSE__RESULT_PEERS;
    r.peers = &res;
    core_reply(c, out, client, &r);
    free(pv);
    free(pp);
    free(addr);
}

static Ward__Control__Sensitivity to_ctl_sensitivity(ward_sensitivity s) {
    switch (s) {
    case WARD_SENSITIVITY_HIGH: return WARD__CONTROL__SENSITIVITY__SENSITIVITY_HIGH;
    case WARD_SENSITIVITY_LOW: return WARD__CONTROL__SENSITIVITY__SENSITIVITY_LOW;
    default: return WARD__CONTROL__SENSITIVITY__SENSITIVITY_MEDIUM;
    }
}

/* Fills protobuf columns from table info; arrays owned by the caller. */
int core_fill_columns(Ward__Control__Column ***out_cols, Ward__Control__Column **store_cols,
                        char (**types)[16], const ward_table_info *t) {
    Ward__Control__Column *cv = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *cv);
    Ward__Control__Column **cp = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *cp);
    char (*ty)[16] = calloc(t->ncolumns ? t->ncolumns : 1, sizeof *ty);
    if (!cv || !cp || !ty) {
        free(cv);
        free(cp);
        free(ty);
        return WARD_ENOMEM;
    }
    for (size_t j = 0; j < t->ncolumns; j++) {
        ward__control__column__init(&cv[j]);
        cv[j].name = (char *)t->columns[j].name;
        snprintf(ty[j], sizeof ty[j], "%s", ward_coltype_name(t->columns[j].type));
        cv[j].type = ty[j];
        cv[j].scale = t->columns[j].scale;
        cp[j] = &cv[j];
    }
    *out_cols = cp;
    *store_cols = cv;
    *types = ty;
    return WARD_OK;
}

static void ctl_tables(ward_core *c, ward_actions *out, uint64_t client, uint64_t id) {
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    ward_table_info *tabs = NULL;
    size_t n = 0;
    int rc = ward_store_tables(c->store, &tabs, &n);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, id, rc, "cannot list tables: %s", ward_store_errmsg(c->store));
        return;
    }
    Ward__Control__Table *tv = calloc(n ? n : 1, sizeof *tv);
    Ward__Control__Table **tp = calloc(n ? n : 1, sizeof *tp);
    Ward__Control__Column **colv = calloc(n ? n : 1, sizeof *colv);
    char (**types)[16] = calloc(n ? n : 1, sizeof *types);
    int ok = tv && tp && colv && types;
    for (size_t i = 0; ok && i < n; i++) {
        ward__control__table__init(&tv[i]);
        tv[i].name = tabs[i].name;
        tv[i].sensitivity = to_ctl_sensitivity(tabs[i].sensitivity);
        tv[i].rows = tabs[i].rows;
        if (core_fill_columns(&tv[i].columns, &colv[i], &types[i], &tabs[i]) != WARD_OK) {
            ok = 0;
            break;
        }
        tv[i].n_columns = tabs[i].ncolumns;
        tp[i] = &tv[i];
    }
    if (ok) {
        Ward__Control__TablesResult res;
        ward__control__tables_result__init(&res);
        res.n_tables = n;
        res.tables = tp;
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_TABLES;
        r.tables = &res;
        core_reply(c, out, client, &r);
    } else {
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
    }
    for (size_t i = 0; tv && i < n; i++) {
        free(tv[i].columns);
        if (colv) free(colv[i]);
        if (types) free(types[i]);
    }
    free(tv);
    free(tp);
    free(colv);
    free(types);
    ward_store_tables_free(tabs, n);
}

static void ctl_budget(ward_core *c, ward_actions *out, uint64_t client, uint64_t id) {
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    if (!c->ledger_open || c->ledger.broken) {
        core_reply_error(c, out, client, id, WARD_ESTATE, "%s: privacy ledger refused: %s", c->name,
                         c->ledger_open ? c->ledger.problem : c->ledger.msg);
        return;
    }
    ward_table_info *tabs = NULL;
    size_t n = 0;
    int rc = ward_store_tables(c->store, &tabs, &n);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, id, rc, "cannot list tables: %s", ward_store_errmsg(c->store));
        return;
    }
    Ward__Control__BudgetRow *rv = calloc(n ? n : 1, sizeof *rv);
    Ward__Control__BudgetRow **rp = calloc(n ? n : 1, sizeof *rp);
    if (!rv || !rp) {
        free(rv);
        free(rp);
        ward_store_tables_free(tabs, n);
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        return;
    }
    /* Each row shows its class's totals and spends (tables of a class
     * share its budget), converted at the class's delta, plus the table's
     * own share of the spends. */
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        ward__control__budget_row__init(&rv[i]);
        rv[i].table = tabs[i].name;
        rv[i].sensitivity = to_ctl_sensitivity(tabs[i].sensitivity);
        core_budget b;
        rc = core_class_budget(c, &b, core_dp_class(tabs[i].sensitivity));
        ward_ledger_stats ts;
        if (rc == WARD_OK)
            rc = ward_ledger_table_stats(&c->ledger, &ts, tabs[i].name,
                                         core_dp_class(tabs[i].sensitivity), 1);
        if (rc != WARD_OK) break;
        rv[i].epsilon_total = b.epsilon_total;
        rv[i].delta_total = b.delta_total;
        rv[i].epsilon_spent = b.epsilon_spent;
        rv[i].delta_spent = b.delta_spent;
        rv[i].rho_total = b.rho_total;
        rv[i].rho_spent = b.rho_spent;
        rv[i].table_rho_spent = ts.table_spent;
        rv[i].table_releases = ts.table_releases;
        rp[i] = &rv[i];
    }
    if (rc != WARD_OK) {
        free(rv);
        free(rp);
        ward_store_tables_free(tabs, n);
        core_reply_error(c, out, client, id, rc, "cannot compute the budget: %s",
                         c->ledger.msg[0] ? c->ledger.msg : ward_strerror(rc));
        return;
    }
    Ward__Control__BudgetResult res;
    ward__control__budget_result__init(&res);
    res.n_tables = n;
    res.tables = rp;
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    r.result_case = WARD__CONTROL__RESPONSE__RESULT_BUDGET;
    r.budget = &res;
    core_reply(c, out, client, &r);
    free(rv);
    free(rp);
    ward_store_tables_free(tabs, n);
}

typedef struct {
    Ward__Control__AuditEntry **items;
    size_t n, cap;
} audit_list;

static int collect_audit(void *ctx, const ward_audit_entry *e) {
    audit_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        Ward__Control__AuditEntry **v = realloc(l->items, cap * sizeof *v);
        if (!v) return WARD_ENOMEM;
        l->items = v;
        l->cap = cap;
    }
    Ward__Control__AuditEntry *x = calloc(1, sizeof *x);
    uint8_t *hash = malloc(32);
    char *kind = strdup(e->kind), *sess = strdup(e->session), *det = strdup(e->details);
    if (!x || !hash || !kind || !sess || !det) {
        free(x);
        free(hash);
        free(kind);
        free(sess);
        free(det);
        return WARD_ENOMEM;
    }
    ward__control__audit_entry__init(x);
    x->seq = e->seq;
    x->time_ms = (uint64_t)e->time_ms;
    x->event = kind;
    x->session = sess;
    x->detail = det;
    memcpy(hash, e->hash, 32);
    x->hash.data = hash;
    x->hash.len = 32;
    l->items[l->n++] = x;
    return 0;
}

static void ctl_audit(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                      const Ward__Control__AuditRequest *req) {
    gc_flush_audit(c, out); /* records still waiting to share a commit */
    if (!c->store) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND, "this node has no database");
        return;
    }
    Ward__Control__AuditResult res;
    ward__control__audit_result__init(&res);
    ward_audit_report rep;
    if (req->verify) {
        int rc = ward_audit_verify(c->store, &rep);
        if (rc != WARD_OK) {
            core_reply_error(c, out, client, id, rc, "cannot verify the audit log: %s",
                             ward_store_errmsg(c->store));
            return;
        }
        res.verified = 1;
        res.chain_ok = rep.intact;
        res.first_bad_seq = rep.first_bad_seq;
    }
    audit_list l = {0};
    int rc = ward_audit_list(c->store, req->since_seq, req->limit, collect_audit, &l);
    Ward__Control__Response r;
    ward__control__response__init(&r);
    r.id = id;
    if (rc != WARD_OK) {
        r.error = rc;
        r.message = (char *)"cannot read the audit log";
    } else {
        res.n_entries = l.n;
        res.entries = l.items;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_AUDIT;
        r.audit = &res;
        if (req->verify && !rep.intact) r.message = rep.reason;
    }
    core_reply(c, out, client, &r);
    for (size_t i = 0; i < l.n; i++) {
        free(l.items[i]->event);
        free(l.items[i]->session);
        free(l.items[i]->detail);
        free(l.items[i]->hash.data);
        free(l.items[i]);
    }
    free(l.items);
}

static void on_ctl_request(ward_core *c, ward_actions *out, uint64_t client, const uint8_t *data,
                           size_t len, uint64_t now) {
    Ward__Control__Request *req = ward__control__request__unpack(NULL, len, data);
    if (!req) {
        core_reply_error(c, out, client, 0, WARD_EPARSE, "malformed control request");
        return;
    }
    if (req->version != WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION) {
        core_reply_error(c, out, client, req->id, WARD_EVERSION,
                         "control protocol version %u is not %d", req->version,
                         WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION);
    } else if (c->stopping) {
        core_reply_error(c, out, client, req->id, WARD_ESTATE, "node %s is shutting down", c->name);
    } else {
        switch (req->command_case) {
        case WARD__CONTROL__REQUEST__COMMAND_STATUS: ctl_status(c, out, client, req->id, now); break;
        case WARD__CONTROL__REQUEST__COMMAND_PEERS: ctl_peers(c, out, client, req->id); break;
        case WARD__CONTROL__REQUEST__COMMAND_TABLES: ctl_tables(c, out, client, req->id); break;
        case WARD__CONTROL__REQUEST__COMMAND_IMPORT_TABLE:
            core_import_start(c, out, client, req->id, req->import_table, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_AGGREGATE:
            agg_start(c, out, client, req->id, req->aggregate, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_GC:
            gc_start(c, out, client, req->id, req->gc, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_DECIDE:
            decide_start(c, out, client, req->id, req->decide, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_TRAIN:
            fl_start(c, out, client, req->id, req->train, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_BUDGET: ctl_budget(c, out, client, req->id); break;
        case WARD__CONTROL__REQUEST__COMMAND_AUDIT:
            ctl_audit(c, out, client, req->id, req->audit);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_LDP_IMPORT:
            core_ldp_import(c, out, client, req->id, req->ldp_import, now);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_LDP_ESTIMATE:
            core_ldp_estimate(c, out, client, req->id, req->ldp_estimate);
            break;
        case WARD__CONTROL__REQUEST__COMMAND_SHUTDOWN: {
            Ward__Control__ShutdownResult sr;
            ward__control__shutdown_result__init(&sr);
            Ward__Control__Response r;
            ward__control__response__init(&r);
            r.id = req->id;
            r.result_case = WARD__CONTROL__RESPONSE__RESULT_SHUTDOWN;
            r.shutdown = &sr;
            core_reply(c, out, client, &r);
            ward_core_shutdown(c, out, now);
            break;
        }
        default:
            core_reply_error(c, out, client, req->id, WARD_EUNSUPPORTED,
                             "this node does not implement that command yet");
            break;
        }
    }
    ward__control__request__free_unpacked(req, NULL);
}

/* ---- the public interface --------------------------------------------- */

int ward_core_new(ward_core **core, ward_actions *out, const ward_core_config *cfg, ward_rng *rng,
                  uint64_t now_ms) {
    WARD_ARG_CHECK(core != NULL && out != NULL && cfg != NULL && rng != NULL);
    WARD_ARG_CHECK(cfg->name != NULL && cfg->roster != NULL && cfg->static_priv != NULL);
    *core = NULL;
    long self = ward_roster_find(cfg->roster, cfg->name);
    if (self < 0) return WARD_ENOTFOUND;
    uint8_t pub[32];
    if (ward_noise_public_key(pub, cfg->static_priv) != WARD_OK ||
        sodium_memcmp(pub, cfg->roster->members[self].pub, 32) != 0)
        return WARD_EKEY; /* the key does not belong to this roster entry */
    ward_core *c = calloc(1, sizeof *c);
    if (!c) return WARD_ENOMEM;
    c->cfg = *cfg;
    if (!c->cfg.keepalive_ms) c->cfg.keepalive_ms = 2000;
    if (!c->cfg.idle_timeout_ms) c->cfg.idle_timeout_ms = 10000;
    if (!c->cfg.backoff_min_ms) c->cfg.backoff_min_ms = 100;
    if (!c->cfg.backoff_max_ms) c->cfg.backoff_max_ms = 5000;
    if (!c->cfg.session_timeout_ms) c->cfg.session_timeout_ms = 10000;
    if (!c->cfg.max_peer_sessions) c->cfg.max_peer_sessions = WARD_CORE_MAX_PEER_SESSIONS;
    snprintf(c->name, sizeof c->name, "%s", cfg->name);
    c->cfg.name = c->name;
    c->self = self;
    c->roster = cfg->roster;
    memcpy(c->static_priv, cfg->static_priv, 32);
    c->cfg.static_priv = NULL;
    c->rng = rng;
    c->store = cfg->store;
    c->started_ms = now_ms;
    c->next_conn_id = 1;
    c->peers = calloc(cfg->roster->n_members, sizeof *c->peers);
    if (!c->peers) {
        ward_core_free(c);
        return WARD_ENOMEM;
    }
    for (size_t i = 0; i < cfg->roster->n_members; i++) {
        peer *p = &c->peers[i];
        p->idx = (long)i;
        p->dialer = strcmp(c->name, cfg->roster->members[i].name) < 0;
        p->backoff_ms = c->cfg.backoff_min_ms;
        ward_reasm_init(&p->reasm, 0);
        if ((long)i != self && p->dialer) begin_dial(c, out, p, now_ms);
    }
    set_timer(out, TIMER_ID(TIMER_TICK, 0), now_ms + CORE_TICK_MS);
    core_log(c, out, WARD_LOG_INFO, "node %s started: federation %s, epoch %llu, %zu peers", c->name,
             c->roster->federation, (unsigned long long)c->roster->epoch,
             c->roster->n_members - 1);
    if (c->store) {
        /* The ledger is checked against the audit log on every start; a
         * mismatch leaves the node running (status, audit, budget work)
         * but refuses every differentially private release. */
        int lrc = ward_ledger_open(&c->ledger, c->store);
        c->ledger_open = lrc == WARD_OK || lrc == WARD_ESTATE;
        if (lrc == WARD_OK)
            core_log(c, out, WARD_LOG_INFO, "privacy ledger: %llu spends, matching the audit log",
                     (unsigned long long)c->ledger.releases);
        else if (lrc == WARD_ESTATE)
            core_log(c, out, WARD_LOG_ERROR, "privacy ledger refused: %s", c->ledger.problem);
        else
            core_log(c, out, WARD_LOG_ERROR, "privacy ledger unavailable: %s", c->ledger.msg);
    }
    *core = c;
    return WARD_OK;
}

int ward_core_handle(ward_core *c, ward_actions *out, const ward_core_event *ev, uint64_t now) {
    WARD_ARG_CHECK(c != NULL && out != NULL && ev != NULL);
    conn *k;
    switch (ev->kind) {
    case WARD_EV_CONN_OPEN:
        k = find_conn(c, ev->conn);
        if (k && k->outbound) {
            on_outbound_open(c, out, k);
        } else if (!k && !(ev->conn & 1)) {
            if (c->stopping) emit_close(out, ev->conn);
            else if (!new_conn(c, ev->conn, 0, -1, now)) emit_close(out, ev->conn);
        }
        break;
    case WARD_EV_CONN_DATA:
        k = find_conn(c, ev->conn);
        if (k) on_data(c, out, k, ev->data, ev->len, now);
        break;
    case WARD_EV_CONN_CLOSED:
        k = find_conn(c, ev->conn);
        if (k) {
            if (k->outbound && k->state == CONN_HANDSHAKE && k->peer >= 0 && c->peers[k->peer].pending == k)
                core_log(c, out, WARD_LOG_DEBUG, "cannot reach %s", peer_name(c, k->peer));
            drop_conn(c, out, k, 0, now);
        }
        break;
    case WARD_EV_TIMER:
        if (TIMER_KIND(ev->timer) == TIMER_TICK) {
            on_tick(c, out, now);
        } else if (TIMER_KIND(ev->timer) == TIMER_RECONNECT) {
            uint64_t idx = TIMER_INDEX(ev->timer);
            if (idx < c->roster->n_members && (long)idx != c->self) {
                peer *p = &c->peers[idx];
                p->reconnect_armed = 0;
                if (!c->stopping && !p->c && !p->pending) begin_dial(c, out, p, now);
            }
        } else if (TIMER_KIND(ev->timer) == TIMER_GC) {
            gc_on_timer(c, out, TIMER_INDEX(ev->timer), now);
        }
        break;
    case WARD_EV_CTL_REQUEST:
        on_ctl_request(c, out, ev->client, ev->data, ev->len, now);
        break;
    case WARD_EV_CTL_CLOSED:
        agg_on_client_closed(c, ev->client);
        core_import_client_closed(c, ev->client);
        gc_on_client_closed(c, ev->client);
        decide_on_client_closed(c, ev->client);
        fl_on_client_closed(c, ev->client);
        break;
    case WARD_EV_TICK:
        break;
    case WARD_EV_JOB_DONE:
        core_import_done(c, out, ev->job, ev->data, ev->len, now);
        break;
    default:
        return WARD_EINVAL;
    }
    return WARD_OK;
}

int ward_core_shutdown(ward_core *c, ward_actions *out, uint64_t now) {
    WARD_ARG_CHECK(c != NULL && out != NULL);
    if (c->stopping) return WARD_OK;
    agg_abort_all(c, out, "node shutting down", now);
    decide_abort_all(c, out, "node shutting down", now);
    fl_abort_all(c, out, "node shutting down", now);
    gc_abort_all(c, out, "node shutting down", now);
    c->stopping = 1;
    while (c->n_conns > 0) {
        conn *k = c->conns[0];
        if (k->state == CONN_OPEN || k->state == CONN_HELLO)
            send_close_msg(c, out, k, WARD__WIRE__CLOSE_REASON__CLOSE_SHUTTING_DOWN, NULL);
        drop_conn(c, out, k, 1, now);
    }
    core_log(c, out, WARD_LOG_INFO, "node %s stopping", c->name);
    push_action(out, WARD_ACT_STOP);
    return WARD_OK;
}

void ward_core_free(ward_core *c) {
    if (!c) return;
    agg_free_all(c);
    decide_free_all(c);
    fl_free_all(c);
    gc_free_all(c);
    core_import_free_all(c);
    while (c->n_conns > 0) free_conn(c, c->conns[0]);
    free(c->conns);
    if (c->peers)
        for (size_t i = 0; i < c->roster->n_members; i++) ward_reasm_clear(&c->peers[i].reasm);
    free(c->peers);
    sodium_memzero(c, sizeof *c);
    free(c);
}

void ward_core_get_stats(const ward_core *c, ward_core_stats *st) {
    *st = c->stats;
    st->peers_total = (uint32_t)(c->roster->n_members - 1);
    st->peers_connected = 0;
    for (size_t i = 0; i < c->roster->n_members; i++)
        if ((long)i != c->self && c->peers[i].c) st->peers_connected++;
    st->sessions_active = agg_active(c) + gc_active(c) + decide_active(c) + fl_active(c);
}

int ward_core_test_deliver(ward_core *c, ward_actions *out, const char *peer_name_in, const uint8_t *msg,
                           size_t len, uint64_t now_ms) {
    WARD_ARG_CHECK(c != NULL && out != NULL && peer_name_in != NULL && (msg != NULL || len == 0));
    long idx = ward_roster_find(c->roster, peer_name_in);
    if (idx < 0 || idx == c->self || !c->peers[idx].c || c->peers[idx].c->state != CONN_OPEN)
        return WARD_ENOTFOUND;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return WARD_ENOMEM;
    if (len) memcpy(copy, msg, len);
    conn *k = c->peers[idx].c;
    if (!on_plaintext(c, out, k, copy, len, now_ms)) drop_conn(c, out, k, 1, now_ms);
    free(copy);
    return WARD_OK;
}
