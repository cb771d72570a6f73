/* Two-party garbled-circuit sessions (`ward gc`), over the node's channels.
 *
 * Both parties run the same command with the same session name. Each sends
 * a JOIN (a PROPOSE whose spec is a GcSpec: session name, circuit hash,
 * role wish, peer) and waits up to session_timeout_ms for the other's. The
 * two meet by (peer, session name); mismatched circuits or roles end both
 * sides with an error naming the difference. The session id is the
 * garbler's join id, SHA-256(garbler name || its nonce || its spec bytes),
 * as DECISIONS.md defines session ids.
 *
 * Then, in GC_DATA envelopes (G garbler, E evaluator; docs/protocol.md):
 *   G -> E  GARBLER_LABELS   hash key (16 bytes) || G's input labels
 *   E's input labels by chosen-message OT from IKNP extension (KOS check,
 *   its challenge by Fiat-Shamir, see fs_rng):
 *   E -> G  OT_EXT_MATRIX    U
 *   E -> G  OT_EXT_CHECK     the check (batch 1)
 *   G -> E  OT_EXT_PAYLOAD   (L0 ^ H(q_i), L1 ^ H(q_i ^ D)) per input bit
 *   G -> E  GARBLED_TABLES   the half-gates tables, at most 59,968 bytes
 *                            (1,874 tables) per envelope, batch = 0, 1, ...,
 *                            one piece per timer event so that E evaluates
 *                            a piece while G garbles the next; G starts
 *                            right after its labels, without waiting for
 *                            the OT, but sends at most GC_AHEAD pieces
 *                            before the OT payload (E keeps them until its
 *                            labels arrive)
 *   G -> E  DECODE_INFO      the output decoding bits, packed
 *   E -> G  OUTPUT           the decoded output bits, packed
 * The garbling offset is fresh per session; the OT extension's own offset
 * and seeds belong to the connection: the 128 base OTs (Masny-Rindal) run
 * once per peer and direction, on the first session that needs them
 *   E -> G  BASE_OT_SENDER   B
 *   G -> E  BASE_OT_RECEIVER message 1 (its choice bits are G's OT offset)
 * and every later session on the same connection only extends. The state
 * is dropped when the channel closes, and by both sides when a session
 * fails in the middle of an extension; E decides (it sends B when it has
 * no state), so the two sides never use different seeds.
 *
 * Semi-honest (DECISIONS.md, Threat model). Secrets: input bits, labels,
 * the garbling and OT offsets, OT rows and seeds; all wiped on every exit.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "audit.h"
#include "circuit.h"
#include "core_internal.h"
#include "error.h"
#include "garble.h"
#include "hex.h"
#include "ot_base.h"
#include "ot_ext.h"
#include "readfile.h"

#define GC_TABLE_CHUNK (1874u * WARD_GC_TABLE_BYTES) /* 59,968 bytes a GC_DATA */
/* Pieces of tables the garbler sends before the evaluator's OT is over
 * (the evaluator keeps them until its labels arrive): enough for AES-128
 * whole, little enough that a large circuit never sits at the evaluator. */
#define GC_AHEAD 4u
#define GC_NAME_MAX 64
#define GC_CIRCUIT_FILE_MAX (256u << 20)
#define GC_CACHE_MAX 4
#define GC_BASE_OTS WARD_OTX_KAPPA

enum { GS_WAIT = 1, GS_ORPHAN, GS_RUN };
enum { ROLE_AUTO = 0, ROLE_GARBLER = 1, ROLE_EVALUATOR = 2 };
enum { DIR_SEND = 0, DIR_RECV = 1 };
/* The receiving side of a peer's OT state. */
enum { R_NONE = 0, R_BASE, R_READY };

/* A parsed, reordered circuit, shared by the sessions that use it. */
typedef struct gc_circ {
    struct gc_circ *next;
    char *path;
    struct stat st;
    ward_circuit c;
    ward_gc_plan plan;           /* c compiled for garbling, once for all its sessions */
    uint8_t hash[32];
    unsigned refs;
    int builtin;                 /* built in memory for an owned session: freed when unused */
} gc_circ;

typedef struct gc_session {
    struct gc_session *next;
    long peer;
    int state;
    char name[GC_NAME_MAX + 1];
    int has_client;
    uint64_t client, req_id;
    uint64_t t0, deadline, t_done;
    /* run for another session kind (gc_start_owned): its callback instead
     * of a control client, its input bits given directly */
    int owned;
    gc_owner_fn owner_done;
    uint8_t owner[32];
    /* our join */
    int my_role;
    uint8_t my_id[32];
    char **inputs;               /* the hex values given (secret) */
    size_t n_inputs;
    gc_circ *circ;
    /* the peer's join */
    int has_peer_join;
    uint8_t peer_id[32], peer_hash[32];
    int peer_role;
    /* the run */
    uint8_t id[32];
    char id_hex[65];
    int garbler;
    uint32_t w0, m;              /* garbler's and evaluator's input bits */
    uint8_t *bits;               /* our input bits, one a byte (secret) */
    uint32_t round;
    uint64_t bytes_sent;
    int base_ots;
    const char *step;            /* what we are waiting for, for a timeout */
    /* OT: set while this session's extension is not finished on our side */
    int ot_active;
    uint32_t ot_gen;
    int ot_wait;                 /* evaluator: queued behind another session's OT */
    uint64_t ot_index0;
    ward_block *ot_rows;         /* t (evaluator) or q (garbler), m rows (secret) */
    uint8_t *ot_choices;         /* evaluator: packed input bits (secret) */
    ward_block *ot_labels;       /* evaluator: labels from OT, until the evaluator exists */
    /* garbler */
    ward_garbler g;
    int g_init;
    ward_block *l0;              /* 0-labels of the evaluator's wires (secret) */
    uint64_t serial;             /* names the session's garbling timer */
    uint64_t tables_left;        /* table bytes still to garble */
    uint32_t batch;              /* next GARBLED_TABLES batch */
    int garbling;
    int g_paused;                /* waiting for the OT to finish, GC_AHEAD pieces out */
    /* evaluator */
    ward_evaluator e;
    int e_init, ot_labels_set;
    uint8_t *glabels;            /* GARBLER_LABELS until the evaluator starts (secret) */
    size_t glabels_len;
    uint8_t *tbuf;               /* tables that came before our labels */
    size_t tbuf_len;
    uint64_t tables_rx;
    uint32_t next_batch;
    uint8_t *decode;             /* output_bits bytes once received */
} gc_session;

typedef struct {
    /* we are the extension sender (garbler) */
    ward_otx_sender s;
    uint8_t s_sid[32];
    int s_ready;
    uint64_t s_index;
    uint32_t s_gen;
    /* deferred second half of base OT (receiver), see gc_on_timer */
    ward_baseot_receiver br;
    int br_pending;
    ward_block br_delta;
    uint8_t br_sid[32];
    uint8_t br_msg2[WARD_BASEOT_SEND_MSG_BYTES];
    gc_session *br_owner;
    /* we are the extension receiver (evaluator) */
    ward_otx_receiver r;
    ward_baseot_sender bs;
    int r_state;
    uint64_t r_index;
    uint32_t r_gen;
    gc_session *r_owner;
    uint8_t r_sid[32];
} gc_peer;

struct gc_state {
    gc_peer *peers;
    gc_session *sessions;
    gc_session *done;            /* finished, waiting for their audit record and wipe */
    int flush_armed;
    uint64_t next_serial;
    gc_circ *circs;
};

/* Timer indices below the roster size are a peer's deferred base OT; this
 * one is the clean-up of finished sessions, which runs after their last
 * message has gone out. */
#define GC_TIMER_FLUSH (1ULL << 48)
/* How long a finished session's audit record may wait for others to share
 * its commit. A crash of the process in that window loses the record (a gc
 * session spends no budget; its outcome was delivered); a stop writes it. */
#define GC_AUDIT_DELAY_MS 20
/* ... and GC_TIMER_SESSION | serial the next step of a session's garbling. */
#define GC_TIMER_SESSION (1ULL << 47)

/* ---- state -------------------------------------------------------------- */

static struct gc_state *state(ward_core *c) {
    if (c->gc) return c->gc;
    struct gc_state *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->peers = calloc(c->roster->n_members, sizeof *g->peers);
    if (!g->peers) {
        free(g);
        return NULL;
    }
    c->gc = g;
    return g;
}

static const char *pname(const ward_core *c, long idx) { return c->roster->members[idx].name; }

/* Keeps at most GC_CACHE_MAX circuits that no session uses. */
static void circ_trim(struct gc_state *g) {
    size_t n = 0;
    for (gc_circ *k = g->circs; k; k = k->next)
        if (k->refs == 0) n++;
    for (gc_circ **pp = &g->circs; *pp && n > GC_CACHE_MAX;) {
        gc_circ *k = *pp;
        if (k->refs == 0) {
            *pp = k->next;
            ward_circuit_free(&k->c);
            ward_gc_plan_free(&k->plan);
            free(k->path);
            free(k);
            n--;
        } else {
            pp = &k->next;
        }
    }
}

static void circ_release(struct gc_state *g, gc_circ *x) {
    if (!x) return;
    if (x->refs > 0) x->refs--;
    if (x->builtin && x->refs == 0) {
        for (gc_circ **pp = &g->circs; *pp; pp = &(*pp)->next)
            if (*pp == x) {
                *pp = x->next;
                break;
            }
        ward_circuit_free(&x->c);
        ward_gc_plan_free(&x->plan);
        free(x->path);
        free(x);
        return;
    }
    circ_trim(g);
}

/* The canonical hash of a circuit: its shape and gates in file order,
 * so that the same circuit written differently (CRLF, MAND) matches. */
static void circ_hash(uint8_t out[32], const ward_circuit *c) {
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    uint32_t hdr[4] = {c->ngates, c->nwires, c->ninputs, c->noutputs};
    crypto_hash_sha256_update(&h, (const uint8_t *)"ward gc circuit v1", 18);
    crypto_hash_sha256_update(&h, (const uint8_t *)hdr, sizeof hdr);
    crypto_hash_sha256_update(&h, (const uint8_t *)c->input_widths, c->ninputs * sizeof(uint32_t));
    crypto_hash_sha256_update(&h, (const uint8_t *)c->output_widths, c->noutputs * sizeof(uint32_t));
    crypto_hash_sha256_update(&h, (const uint8_t *)c->gates, (size_t)c->ngates * sizeof(ward_gate));
    crypto_hash_sha256_final(&h, out);
}

/* Loads a circuit through the cache (keyed by path, device, inode, size
 * and modification time). On failure writes the reason into why. */
static int circ_load(struct gc_state *g, gc_circ **out, const char *path, char *why, size_t cap) {
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(why, cap, "%s: cannot read the circuit file", path);
        return WARD_ENOTFOUND;
    }
    for (gc_circ *k = g->circs; k; k = k->next) {
        if (strcmp(k->path, path) == 0 && k->st.st_dev == st.st_dev && k->st.st_ino == st.st_ino &&
            k->st.st_size == st.st_size && k->st.st_mtim.tv_sec == st.st_mtim.tv_sec &&
            k->st.st_mtim.tv_nsec == st.st_mtim.tv_nsec) {
            k->refs++;
            *out = k;
            return WARD_OK;
        }
    }
    char *text = NULL;
    size_t len = 0;
    int rc = ward_read_file(&text, &len, path, GC_CIRCUIT_FILE_MAX);
    if (rc != WARD_OK) {
        snprintf(why, cap, "%s: %s", path,
                 rc == WARD_ETOOBIG ? "larger than 256 MiB" : "cannot read the circuit file");
        return rc;
    }
    gc_circ *k = calloc(1, sizeof *k);
    char *p = strdup(path);
    if (!k || !p) {
        free(k);
        free(p);
        free(text);
        snprintf(why, cap, "out of memory");
        return WARD_ENOMEM;
    }
    ward_circuit_error err;
    memset(&err, 0, sizeof err);
    rc = ward_circuit_parse_var(&k->c, &err, text, len);
    free(text);
    if (rc == WARD_OK) {
        circ_hash(k->hash, &k->c);
        rc = ward_gc_reorder_var(&k->c);
        if (rc == WARD_OK) rc = ward_gc_compile_var(&k->plan, &k->c);
        if (rc != WARD_OK) snprintf(why, cap, "%s: the circuit cannot be garbled (%s)", path, ward_strerror(rc));
    } else if (err.line > 0) {
        snprintf(why, cap, "%s:%zu: %s", path, err.line, err.msg);
    } else {
        snprintf(why, cap, "%s: %s", path, err.msg[0] ? err.msg : ward_strerror(rc));
    }
    if (rc != WARD_OK) {
        ward_circuit_free(&k->c);
        free(k);
        free(p);
        return rc;
    }
    k->path = p;
    k->st = st;
    k->refs = 1;
    k->next = g->circs;
    g->circs = k;
    circ_trim(g);
    *out = k;
    return WARD_OK;
}

/* Wipes and frees the run's secrets (inputs, labels, offsets, OT rows);
 * what is left describes the session for its audit record. */
static void drop_secrets(gc_session *s) {
    for (size_t i = 0; i < s->n_inputs; i++) {
        sodium_memzero(s->inputs[i], strlen(s->inputs[i]));
        free(s->inputs[i]);
    }
    free(s->inputs);
    if (s->bits) sodium_memzero(s->bits, (size_t)s->w0 + s->m);
    free(s->bits);
    if (s->ot_rows) sodium_memzero(s->ot_rows, (size_t)s->m * sizeof *s->ot_rows);
    free(s->ot_rows);
    if (s->ot_choices) sodium_memzero(s->ot_choices, ((size_t)s->m + 7) / 8);
    free(s->ot_choices);
    if (s->ot_labels) sodium_memzero(s->ot_labels, (size_t)s->m * sizeof *s->ot_labels);
    free(s->ot_labels);
    if (s->l0) sodium_memzero(s->l0, (size_t)s->m * sizeof *s->l0);
    free(s->l0);
    if (s->g_init) ward_garbler_free(&s->g);
    if (s->e_init) ward_evaluator_free(&s->e);
    s->g_init = s->e_init = 0;
    if (s->glabels) sodium_memzero(s->glabels, s->glabels_len);
    free(s->glabels);
    free(s->tbuf);
    free(s->decode);
    s->inputs = NULL;
    s->n_inputs = 0;
    s->bits = NULL;
    s->ot_rows = NULL;
    s->ot_choices = NULL;
    s->ot_labels = NULL;
    s->l0 = NULL;
    s->glabels = NULL;
    s->tbuf = NULL;
    s->decode = NULL;
}

static void free_session(ward_core *c, gc_session *s) {
    if (!s) return;
    drop_secrets(s);
    if (c->gc) {
        gc_peer *gp = &c->gc->peers[s->peer];
        if (gp->r_owner == s) gp->r_owner = NULL;
        if (gp->br_owner == s) gp->br_owner = NULL;
        circ_release(c->gc, s->circ);
    }
    sodium_memzero(s, sizeof *s);
    free(s);
}

static void unlink_session(ward_core *c, gc_session *s) {
    for (gc_session **pp = &c->gc->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            return;
        }
    }
}

static void append_session(struct gc_state *g, gc_session *s) {
    gc_session **pp = &g->sessions;
    while (*pp) pp = &(*pp)->next;
    *pp = s;
}

static const char *role_name(int garbler) { return garbler ? "garbler" : "evaluator"; }

/* ---- sending ------------------------------------------------------------ */

/* Sends env to the session's peer, adding the bytes it put on the wire to
 * the session's count. */
static int send_env(ward_core *c, ward_actions *out, gc_session *s, ward_envelope *e) {
    size_t before = out->len;
    e->sender = c->name;
    e->seq = c->peers[s->peer].next_seq++;
    int rc = core_send_envelope(c, out, s->peer, e);
    for (size_t i = before; i < out->len; i++)
        if (out->items[i].kind == WARD_ACT_SEND) s->bytes_sent += out->items[i].len;
    return rc;
}

static int send_gc(ward_core *c, ward_actions *out, gc_session *s, int sub, uint32_t batch,
                   const uint8_t *data, size_t len) {
    ward_envelope e;
    Ward__Wire__GcData gd;
    ward__wire__envelope__init(&e);
    ward__wire__gc_data__init(&gd);
    gd.sub_kind = sub;
    gd.batch = batch;
    gd.data.data = (uint8_t *)data;
    gd.data.len = len;
    e.session_id.data = s->id;
    e.session_id.len = 32;
    e.kind = WARD__WIRE__KIND__KIND_GC_DATA;
    e.round = s->round++;
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_GC_DATA;
    e.gc_data = &gd;
    return send_env(c, out, s, &e);
}

/* The id the peer knows this session by. */
static const uint8_t *peer_known_id(const gc_session *s) {
    if (s->state == GS_RUN) return s->id;
    if (s->has_peer_join) return s->peer_id;
    return s->my_id;
}

static void send_abort(ward_core *c, ward_actions *out, gc_session *s, int code, const char *text) {
    if (!core_peer_connected(c, s->peer)) return;
    Ward__Wire__Abort ab;
    ward__wire__abort__init(&ab);
    ab.code = code;
    ab.text = (char *)text;
    ward_envelope e;
    ward__wire__envelope__init(&e);
    e.session_id.data = (uint8_t *)peer_known_id(s);
    e.session_id.len = 32;
    e.kind = WARD__WIRE__KIND__KIND_ABORT;
    e.round = s->round;
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_ABORT;
    e.abort = &ab;
    send_env(c, out, s, &e);
}

/* Appends the session's audit record; returns 0 or the store's error. */
static int audit_rc(ward_core *c, gc_session *s, const char *kind, const char *outcome,
                    uint64_t now) {
    if (!c->store) return WARD_OK;
    char hash[65] = "", details[1024], esc[512];
    if (s->circ) ward_hex_encode_var(hash, sizeof hash, s->circ->hash, 32);
    /* The outcome text is ours, but may quote names and paths: keep it
     * JSON-safe by dropping quotes and backslashes. */
    size_t j = 0;
    for (size_t i = 0; outcome[i] && j + 1 < sizeof esc; i++)
        if (outcome[i] != '"' && outcome[i] != '\\' && (unsigned char)outcome[i] >= 0x20)
            esc[j++] = outcome[i];
    esc[j] = '\0';
    snprintf(details, sizeof details,
             "{\"kind\":\"gc\",\"name\":\"%s\",\"peer\":\"%s\",\"role\":\"%s\",\"circuit\":\"%s\","
             "\"and_gates\":%u,\"bytes_sent\":%llu,\"base_ots\":%s,\"outcome\":\"%s\"}",
             s->name, pname(c, s->peer),
             s->state == GS_RUN ? role_name(s->garbler) : "undecided", hash,
             s->circ ? s->circ->c.and_count : 0, (unsigned long long)s->bytes_sent,
             s->base_ots ? "true" : "false", esc);
    char idh[65];
    ward_hex_encode_var(idh, sizeof idh, s->state == GS_RUN ? s->id : s->my_id, 32);
    return ward_audit_append_relaxed(c->store, NULL, NULL, (int64_t)now, kind, idh, details);
}

static void audit(ward_core *c, ward_actions *out, gc_session *s, const char *kind,
                  const char *outcome, uint64_t now) {
    int rc = audit_rc(c, s, kind, outcome, now);
    if (rc != WARD_OK)
        core_log(c, out, WARD_LOG_ERROR, "gc session %s: audit append failed: %s", s->name,
                 ward_strerror(rc));
}

/* ---- OT state ------------------------------------------------------------ */

static void fail_session(ward_core *c, ward_actions *out, gc_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* Drops our OT state with peer in one direction and fails the other
 * sessions that were in the middle of using it (except `except`). */
static void ot_reset(ward_core *c, ward_actions *out, long pidx, int dir, gc_session *except,
                     uint64_t now) {
    gc_peer *gp = &c->gc->peers[pidx];
    uint32_t old;
    if (dir == DIR_SEND) {
        ward_otx_sender_clear(&gp->s);
        ward_baseot_receiver_clear(&gp->br);
        sodium_memzero(&gp->br_delta, sizeof gp->br_delta);
        gp->s_ready = gp->br_pending = 0;
        gp->br_owner = NULL;
        gp->s_index = 0;
        old = gp->s_gen++;
    } else {
        ward_otx_receiver_clear(&gp->r);
        ward_baseot_sender_clear(&gp->bs);
        gp->r_state = R_NONE;
        gp->r_owner = NULL;
        gp->r_index = 0;
        old = gp->r_gen++;
    }
    for (int again = 1; again;) {
        again = 0;
        for (gc_session *t = c->gc->sessions; t; t = t->next) {
            if (t == except || t->peer != pidx || t->state != GS_RUN || !t->ot_active ||
                t->ot_gen != old || t->garbler != (dir == DIR_SEND))
                continue;
            t->ot_active = 0; /* the state is gone already: no second reset */
            fail_session(c, out, t, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_ESTATE, now,
                         "the OT state with %s was reset by another session's failure",
                         pname(c, pidx));
            again = 1;
            break;
        }
    }
}

static void kick_waiting(ward_core *c, ward_actions *out, long pidx, uint64_t now);

/* Ends a session in failure: tells the peer (when asked), replies to the
 * caller, records it. */
static void fail_session(ward_core *c, ward_actions *out, gc_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (notify) send_abort(c, out, s, reason, msg);
    unlink_session(c, s);
    if (s->ot_active) {
        gc_peer *gp = &c->gc->peers[s->peer];
        if (s->ot_gen == (s->garbler ? gp->s_gen : gp->r_gen))
            ot_reset(c, out, s->peer, s->garbler ? DIR_SEND : DIR_RECV, s, now);
    }
    gc_owner_fn done = s->owned ? s->owner_done : NULL;
    uint8_t owner[32];
    memcpy(owner, s->owner, 32);
    if (s->state != GS_ORPHAN) {
        if (s->has_client)
            core_reply_error(c, out, s->client, s->req_id, code, "gc session %s with %s: %s", s->name,
                             pname(c, s->peer), msg);
        core_log(c, out, WARD_LOG_WARN, "gc session %s with %s aborted: %s", s->name,
                 pname(c, s->peer), msg);
        audit(c, out, s, "session-aborted", msg, now);
        c->stats.sessions_failed++;
    }
    long pidx = s->peer;
    free_session(c, s);
    kick_waiting(c, out, pidx, now);
    /* Last: the owner may start or cancel gc sessions from its callback. */
    if (done) done(c, out, owner, code, NULL, 0, msg, now);
}

/* ---- the evaluator ------------------------------------------------------- */

static void pack_bits(uint8_t *out, const uint8_t *bits, size_t n) {
    memset(out, 0, (n + 7) / 8);
    for (size_t i = 0; i < n; i++) out[i / 8] |= (uint8_t)((bits[i] & 1) << (i % 8));
}

static void unpack_bits(uint8_t *bits, const uint8_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) bits[i] = (in[i / 8] >> (i % 8)) & 1;
}

static void flush_done(ward_core *c, ward_actions *out);

static void finish_session(ward_core *c, ward_actions *out, gc_session *s, const uint8_t *obits,
                           uint64_t now);

static void e_start_ot(ward_core *c, ward_actions *out, gc_session *s, uint64_t now);

/* The KOS challenge by Fiat-Shamir: a ChaCha20 stream seeded with the hash
 * of the extension's transcript (OT sid, session id, first OT index and U)
 * stands in for the sender's generator, whose only draw in
 * ward_otx_send_extend is the challenge. Both sides compute it, so the
 * receiver sends its check with U and the extension takes one message each
 * way instead of two round trips. */
static void fs_rng(ward_rng *rng, const uint8_t sid[32], const uint8_t id[32], uint64_t index0,
                   const uint8_t *u, size_t ulen) {
    uint8_t seed[WARD_RNG_SEEDBYTES], idx[8];
    for (int i = 0; i < 8; i++) idx[i] = (uint8_t)(index0 >> (8 * i));
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)"ward gc kos fs v1", 17);
    crypto_hash_sha256_update(&h, sid, 32);
    crypto_hash_sha256_update(&h, id, 32);
    crypto_hash_sha256_update(&h, idx, sizeof idx);
    crypto_hash_sha256_update(&h, u, ulen);
    crypto_hash_sha256_final(&h, seed);
    ward_rng_init_seeded(rng, seed);
    sodium_memzero(seed, sizeof seed);
}

/* Base OT done or the state ready: runs our extension (sends U and the
 * check). */
static void e_extend(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    gc_peer *gp = &c->gc->peers[s->peer];
    size_t ulen = ward_otx_u_bytes(s->m);
    uint8_t *u = malloc(ulen);
    s->ot_rows = calloc(s->m, sizeof *s->ot_rows);
    s->ot_choices = calloc(((size_t)s->m + 7) / 8, 1);
    if (!u || !s->ot_rows || !s->ot_choices) {
        free(u);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now, "out of memory");
        return;
    }
    pack_bits(s->ot_choices, s->bits + s->w0, s->m);
    int rc = ward_otx_recv_extend(&gp->r, c->rng, u, ulen, s->ot_rows, s->ot_choices, s->m);
    if (rc != WARD_OK) {
        free(u);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "OT extension failed: %s", ward_strerror(rc));
        return;
    }
    s->ot_index0 = gp->r_index;
    gp->r_index += s->m;
    uint8_t ch[WARD_OTX_CHALLENGE_BYTES], check[WARD_OTX_CHECK_BYTES];
    ward_rng fs;
    fs_rng(&fs, gp->r_sid, s->id, s->ot_index0, u, ulen);
    ward_rng_bytes(&fs, ch, sizeof ch);
    ward_rng_clear(&fs);
    rc = ward_otx_recv_check(&gp->r, check, s->ot_rows, s->ot_choices, s->m, ch, sizeof ch);
    if (rc != WARD_OK) {
        free(u);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "OT extension check failed: %s", ward_strerror(rc));
        return;
    }
    s->step = "the OT payload";
    send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_MATRIX, 0, u, ulen);
    send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_CHECK, 1, check, sizeof check);
    free(u);
    /* Our receiver is idle again: the next session may extend. */
    gp->r_owner = NULL;
    kick_waiting(c, out, s->peer, now);
}

/* Starts the evaluator's OT, or queues it behind another session's. */
static void e_start_ot(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    gc_peer *gp = &c->gc->peers[s->peer];
    if (gp->r_owner && gp->r_owner != s) {
        s->ot_wait = 1;
        s->step = "another session's OT with the same peer";
        return;
    }
    s->ot_wait = 0;
    gp->r_owner = s;
    s->ot_active = 1;
    s->ot_gen = gp->r_gen;
    if (gp->r_state == R_READY) {
        e_extend(c, out, s, now);
        return;
    }
    /* First session with this peer on this connection: base OTs, with us
     * as their sender. */
    ward_baseot_sender_clear(&gp->bs);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)"ward gc ot v1", 13);
    crypto_hash_sha256_update(&h, s->id, 32);
    crypto_hash_sha256_final(&h, gp->r_sid);
    uint8_t B[WARD_BASEOT_SEND_MSG_BYTES];
    int rc = ward_baseot_sender_init(&gp->bs, c->rng, gp->r_sid, GC_BASE_OTS);
    if (rc == WARD_OK) rc = ward_baseot_sender_msg(&gp->bs, B);
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now, "base OT failed: %s",
                     ward_strerror(rc));
        return;
    }
    gp->r_state = R_BASE;
    s->base_ots = 1;
    s->step = "the base OTs";
    send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_BASE_OT_SENDER, 0, B, sizeof B);
}

static void kick_waiting(ward_core *c, ward_actions *out, long pidx, uint64_t now) {
    if (!c->gc || c->gc->peers[pidx].r_owner) return;
    for (gc_session *t = c->gc->sessions; t; t = t->next) {
        if (t->peer == pidx && t->state == GS_RUN && t->ot_wait) {
            e_start_ot(c, out, t, now);
            return;
        }
    }
}

/* Feeds what can be fed; decodes and finishes when everything is in. */
static void e_progress(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    if (!s->e_init) return;
    if (s->m && !s->ot_labels_set) {
        if (!s->ot_labels) return;
        int rc = ward_evaluator_set_input_labels(&s->e, s->w0, s->ot_labels, s->m);
        sodium_memzero(s->ot_labels, (size_t)s->m * sizeof *s->ot_labels);
        free(s->ot_labels);
        s->ot_labels = NULL;
        if (rc != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                         "cannot set the OT labels: %s", ward_strerror(rc));
            return;
        }
        s->ot_labels_set = 1;
    }
    int rc = ward_evaluator_feed(&s->e, s->tbuf, s->tbuf_len);
    free(s->tbuf);
    s->tbuf = NULL;
    s->tbuf_len = 0;
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                     "%s sent garbled tables that do not fit the circuit (%s)", pname(c, s->peer),
                     ward_strerror(rc));
        return;
    }
    if (!s->decode) {
        s->step = "the garbled tables";
        return;
    }
    if (!ward_evaluator_done(&s->e)) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_ETRUNC, now,
                     "%s sent truncated garbled tables: %llu of %llu bytes", pname(c, s->peer),
                     (unsigned long long)s->tables_rx, (unsigned long long)ward_gc_table_bytes(ci));
        return;
    }
    uint8_t *obits = malloc(ci->output_bits ? ci->output_bits : 1);
    uint8_t *packed = calloc((ci->output_bits + 7) / 8 + 1, 1);
    if (!obits || !packed) {
        free(obits);
        free(packed);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now, "out of memory");
        return;
    }
    rc = ward_evaluator_decode(&s->e, obits, ci->output_bits, s->decode, ci->output_bits);
    if (rc != WARD_OK) {
        free(obits);
        free(packed);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                     "cannot decode the output: %s", ward_strerror(rc));
        return;
    }
    pack_bits(packed, obits, ci->output_bits);
    send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_OUTPUT, 0, packed, (ci->output_bits + 7) / 8);
    free(packed);
    finish_session(c, out, s, obits, now);
    free(obits);
}

/* Starts the evaluator from the garbler's labels, once. Returns 1 when it
 * runs, 0 when the labels have not come yet, -1 when the session failed. */
static int e_begin(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    if (s->e_init) return 1;
    if (!s->glabels) return 0;
    int rc = ward_evaluator_init(&s->e, &s->circ->plan, s->glabels);
    if (rc == WARD_OK) {
        s->e_init = 1;
        ward_block *lab = malloc((size_t)s->w0 * sizeof *lab);
        if (!lab) rc = WARD_ENOMEM;
        else {
            memcpy(lab, s->glabels + WARD_GC_KEY_BYTES, (size_t)s->w0 * sizeof *lab);
            rc = ward_evaluator_set_input_labels(&s->e, 0, lab, s->w0);
            sodium_memzero(lab, (size_t)s->w0 * sizeof *lab);
            free(lab);
        }
    }
    sodium_memzero(s->glabels, s->glabels_len);
    free(s->glabels);
    s->glabels = NULL;
    s->glabels_len = 0;
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "cannot start the evaluator: %s", ward_strerror(rc));
        return -1;
    }
    return 1;
}

static void e_on_data(ward_core *c, ward_actions *out, gc_session *s, const Ward__Wire__GcData *d,
                      uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    gc_peer *gp = &c->gc->peers[s->peer];
    const char *who = pname(c, s->peer);
    int rc;
    switch (d->sub_kind) {
    case WARD__WIRE__GC_SUB_KIND__GC_GARBLER_LABELS: {
        if (s->e_init || s->glabels) break; /* a repeat */
        size_t want = WARD_GC_KEY_BYTES + (size_t)s->w0 * WARD_BLOCK_BYTES;
        if (d->data.len != want) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent %zu bytes of garbler input labels; input 0 of the circuit needs "
                         "%u labels (%zu bytes)",
                         who, d->data.len, s->w0, want);
            return;
        }
        /* The evaluator starts on the next pass of the loop (or when a
         * message needs it first), so that our OT extension, queued in
         * this same event, leaves before that work. */
        s->glabels = malloc(want);
        if (!s->glabels) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "out of memory");
            return;
        }
        memcpy(s->glabels, d->data.data, want);
        s->glabels_len = want;
        core_set_timer(out, TIMER_ID(TIMER_GC, GC_TIMER_SESSION | s->serial), now);
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_GARBLED_TABLES: {
        uint64_t total = ward_gc_table_bytes(ci);
        if (e_begin(c, out, s, now) < 0) return;
        if (!s->e_init || d->batch != s->next_batch || s->decode) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent garbled tables out of order (batch %u)", who, d->batch);
            return;
        }
        if (d->data.len > total - s->tables_rx) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent more garbled tables than the circuit has (%llu bytes)", who,
                         (unsigned long long)total);
            return;
        }
        s->next_batch++;
        s->tables_rx += d->data.len;
        if (s->m && !s->ot_labels_set) {
            /* Our labels are still in OT: keep the tables. */
            uint8_t *nb = realloc(s->tbuf, s->tbuf_len + d->data.len);
            if (!nb) {
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                             "out of memory");
                return;
            }
            memcpy(nb + s->tbuf_len, d->data.data, d->data.len);
            s->tbuf = nb;
            s->tbuf_len += d->data.len;
            return;
        }
        rc = ward_evaluator_feed(&s->e, d->data.data, d->data.len);
        if (rc != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         "%s sent garbled tables that do not fit the circuit (%s)", who,
                         ward_strerror(rc));
        }
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_DECODE_INFO: {
        size_t want = ((size_t)ci->output_bits + 7) / 8;
        if (s->decode) break;
        if (e_begin(c, out, s, now) < 0) return;
        if (!s->e_init || d->data.len != want) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent %zu bytes of output decoding bits; the circuit needs %zu", who,
                         d->data.len, want);
            return;
        }
        s->decode = malloc(ci->output_bits ? ci->output_bits : 1);
        if (!s->decode) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "out of memory");
            return;
        }
        unpack_bits(s->decode, d->data.data, ci->output_bits);
        if (s->tables_rx != ward_gc_table_bytes(ci)) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_ETRUNC, now,
                         "%s sent truncated garbled tables: %llu of %llu bytes", who,
                         (unsigned long long)s->tables_rx,
                         (unsigned long long)ward_gc_table_bytes(ci));
            return;
        }
        e_progress(c, out, s, now);
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_BASE_OT_RECEIVER: {
        if (gp->r_owner != s || gp->r_state != R_BASE) break;
        ward_block *k0 = malloc(GC_BASE_OTS * sizeof *k0), *k1 = malloc(GC_BASE_OTS * sizeof *k1);
        rc = k0 && k1 ? ward_baseot_sender_finish(&gp->bs, k0, k1, GC_BASE_OTS, d->data.data, d->data.len)
                      : WARD_ENOMEM;
        if (rc == WARD_OK) rc = ward_otx_receiver_init(&gp->r, gp->r_sid, k0, k1);
        if (k0) sodium_memzero(k0, GC_BASE_OTS * sizeof *k0);
        if (k1) sodium_memzero(k1, GC_BASE_OTS * sizeof *k1);
        free(k0);
        free(k1);
        ward_baseot_sender_clear(&gp->bs);
        if (rc != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         "base OT with %s failed: %s", who, ward_strerror(rc));
            return;
        }
        gp->r_state = R_READY;
        e_extend(c, out, s, now);
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_PAYLOAD: {
        if (!s->ot_rows || s->ot_labels || s->ot_labels_set || gp->r_owner == s) break;
        if (s->ot_gen != gp->r_gen || gp->r_state != R_READY) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_ESTATE, now,
                         "the OT state with %s was reset during the session", who);
            return;
        }
        s->ot_labels = calloc(s->m, sizeof *s->ot_labels);
        rc = s->ot_labels ? ward_otx_recv_chosen(&gp->r, s->ot_labels, s->ot_choices, s->ot_rows, s->m,
                                                 s->ot_index0, d->data.data, d->data.len)
                          : WARD_ENOMEM;
        sodium_memzero(s->ot_rows, (size_t)s->m * sizeof *s->ot_rows);
        free(s->ot_rows);
        s->ot_rows = NULL;
        if (rc != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         "%s sent a bad OT payload (%zu bytes for %u input bits): %s", who,
                         d->data.len, s->m, ward_strerror(rc));
            return;
        }
        s->ot_active = 0; /* our part of the extension is over */
        if (e_begin(c, out, s, now) < 0) return;
        e_progress(c, out, s, now);
        return;
    }
    default:
        break;
    }
    fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                 "%s sent an unexpected garbled-circuit message (sub-kind %d, batch %u)", who,
                 (int)d->sub_kind, d->batch);
}

/* ---- the garbler ----------------------------------------------------------- */

static void g_garble_step(ward_core *c, ward_actions *out, gc_session *s, uint64_t now);

static void g_start(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    int rc = ward_garbler_init(&s->g, &s->circ->plan, c->rng); /* a fresh offset per session */
    if (rc == WARD_OK) s->g_init = 1;
    size_t llen = WARD_GC_KEY_BYTES + (size_t)s->w0 * WARD_BLOCK_BYTES;
    uint8_t *buf = rc == WARD_OK ? malloc(llen > GC_TABLE_CHUNK ? llen : GC_TABLE_CHUNK) : NULL;
    ward_block *lab = rc == WARD_OK ? malloc((size_t)s->w0 * sizeof *lab) : NULL;
    if (rc == WARD_OK && (!buf || !lab)) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_garbler_hash_key(&s->g, buf);
    if (rc == WARD_OK) rc = ward_garbler_encode(&s->g, lab, 0, s->bits, s->w0);
    if (rc == WARD_OK && s->m) {
        s->l0 = malloc((size_t)s->m * sizeof *s->l0);
        if (!s->l0) rc = WARD_ENOMEM;
        else rc = ward_garbler_input_labels(&s->g, s->l0, s->w0, s->m);
    }
    if (rc != WARD_OK) {
        if (lab) sodium_memzero(lab, (size_t)s->w0 * sizeof *lab);
        free(lab);
        free(buf);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "cannot start the garbler: %s", ward_strerror(rc));
        return;
    }
    memcpy(buf + WARD_GC_KEY_BYTES, lab, (size_t)s->w0 * sizeof *lab);
    sodium_memzero(lab, (size_t)s->w0 * sizeof *lab);
    free(lab);
    size_t send_len = llen;
    if (c->cfg.test_fault == WARD_TEST_FAULT_GC_LABELS) send_len -= WARD_BLOCK_BYTES;
    send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_GARBLER_LABELS, 0, buf, send_len);
    sodium_memzero(buf, llen);
    free(buf);
    s->tables_left = ward_gc_table_bytes(ci);
    /* Garbling needs no input of the evaluator's: it starts now, while the
     * evaluator's OT makes its round trip, and runs at most GC_AHEAD pieces
     * ahead of it. It starts on the next pass of the loop, after our
     * labels have left. */
    s->garbling = 1;
    core_set_timer(out, TIMER_ID(TIMER_GC, GC_TIMER_SESSION | s->serial), now);
}

/* Garbles and sends one piece of the tables; arms a timer for the next, so
 * that each piece goes out (and the evaluator works on it) while we garble
 * the following one. After the last, the decoding bits. */
static void g_garble_step(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    uint8_t *buf = malloc(GC_TABLE_CHUNK);
    int rc = buf ? WARD_OK : WARD_ENOMEM;
    s->garbling = 1;
    s->step = "the output";
    while (rc == WARD_OK && !ward_garbler_done(&s->g)) {
        if (s->m && s->l0 && s->batch >= GC_AHEAD) {
            /* The OT payload has not gone out yet (it frees l0). */
            s->garbling = 0;
            s->g_paused = 1;
            s->step = "the evaluator's OT";
            free(buf);
            return;
        }
        size_t len = 0;
        rc = ward_garbler_next(&s->g, buf, GC_TABLE_CHUNK, &len);
        if (rc != WARD_OK || len == 0) continue;
        s->tables_left -= len;
        if (s->tables_left == 0 && c->cfg.test_fault == WARD_TEST_FAULT_GC_TRUNCATE)
            len -= WARD_GC_TABLE_BYTES;
        if (len) send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_GARBLED_TABLES, s->batch++, buf, len);
        if (!ward_garbler_done(&s->g)) {
            core_set_timer(out, TIMER_ID(TIMER_GC, GC_TIMER_SESSION | s->serial), now);
            free(buf);
            return;
        }
    }
    s->garbling = 0;
    if (rc == WARD_OK) {
        uint8_t *d = malloc(ci->output_bits ? ci->output_bits : 1);
        if (!d) rc = WARD_ENOMEM;
        else rc = ward_garbler_decode_bits(&s->g, d, ci->output_bits);
        if (rc == WARD_OK) {
            pack_bits(buf, d, ci->output_bits);
            send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_DECODE_INFO, 0, buf,
                    ((size_t)ci->output_bits + 7) / 8);
        }
        free(d);
    }
    free(buf);
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "garbling failed: %s", ward_strerror(rc));
        return;
    }
}

/* The deferred half of the base OTs: our receiver's keys, computed after
 * message 1 went out so that both parties' scalar multiplications run at
 * the same time. */
void gc_on_timer(ward_core *c, ward_actions *out, uint64_t index, uint64_t now) {
    if (!c->gc) return;
    if (index == GC_TIMER_FLUSH) {
        flush_done(c, out);
        return;
    }
    if (index & GC_TIMER_SESSION) {
        for (gc_session *s = c->gc->sessions; s; s = s->next)
            if (s->serial == (index & ~GC_TIMER_SESSION) && s->state == GS_RUN) {
                if (s->garbling) g_garble_step(c, out, s, now);
                else if (!s->garbler && e_begin(c, out, s, now) > 0) e_progress(c, out, s, now);
                return;
            }
        return;
    }
    if (index >= c->roster->n_members) return;
    gc_peer *gp = &c->gc->peers[index];
    if (!gp->br_pending) return;
    gp->br_pending = 0;
    gc_session *s = gp->br_owner;
    gp->br_owner = NULL;
    ward_block *seeds = malloc(GC_BASE_OTS * sizeof *seeds);
    int rc = seeds ? ward_baseot_receiver_finish(&gp->br, seeds, GC_BASE_OTS, gp->br_msg2,
                                                 sizeof gp->br_msg2)
                   : WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_otx_sender_init(&gp->s, gp->br_sid, &gp->br_delta, seeds);
    if (rc == WARD_OK) memcpy(gp->s_sid, gp->br_sid, 32);
    if (seeds) sodium_memzero(seeds, GC_BASE_OTS * sizeof *seeds);
    free(seeds);
    ward_baseot_receiver_clear(&gp->br);
    sodium_memzero(&gp->br_delta, sizeof gp->br_delta);
    if (rc == WARD_OK) {
        gp->s_ready = 1;
        return;
    }
    if (s) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                     "base OT with %s failed: %s", pname(c, (long)index), ward_strerror(rc));
    } else {
        ot_reset(c, out, (long)index, DIR_SEND, NULL, now);
    }
}

/* Makes sure the deferred base-OT half has run (a message that needs the
 * sender state may overtake the timer). */
static void g_settle(ward_core *c, ward_actions *out, long pidx, uint64_t now) {
    if (c->gc->peers[pidx].br_pending) gc_on_timer(c, out, (uint64_t)pidx, now);
}

static void g_on_data(ward_core *c, ward_actions *out, gc_session *s, const Ward__Wire__GcData *d,
                      uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    gc_peer *gp = &c->gc->peers[s->peer];
    const char *who = pname(c, s->peer);
    int rc;
    switch (d->sub_kind) {
    case WARD__WIRE__GC_SUB_KIND__GC_BASE_OT_SENDER: {
        if (!s->m || s->ot_active) break;
        /* The evaluator has no OT state with us: start over, whatever we
         * held, with a fresh OT offset as our choice bits. */
        ot_reset(c, out, s->peer, DIR_SEND, s, now);
        s->ot_active = 1;
        s->ot_gen = gp->s_gen;
        s->base_ots = 1;
        crypto_hash_sha256_state h;
        crypto_hash_sha256_init(&h);
        crypto_hash_sha256_update(&h, (const uint8_t *)"ward gc ot v1", 13);
        crypto_hash_sha256_update(&h, s->id, 32);
        crypto_hash_sha256_final(&h, gp->br_sid);
        ward_rng_bytes(c->rng, gp->br_delta.b, sizeof gp->br_delta.b);
        size_t mlen = WARD_BASEOT_RECV_MSG_BYTES(GC_BASE_OTS), got = 0;
        uint8_t *m1 = malloc(mlen);
        rc = m1 ? ward_baseot_receiver_init(&gp->br, c->rng, gp->br_sid, gp->br_delta.b, GC_BASE_OTS)
                : WARD_ENOMEM;
        if (rc == WARD_OK) rc = ward_baseot_receiver_msg(&gp->br, m1, mlen, &got);
        if (rc == WARD_OK && d->data.len != sizeof gp->br_msg2)
            rc = d->data.len < sizeof gp->br_msg2 ? WARD_ETRUNC : WARD_EPARSE;
        if (rc != WARD_OK) {
            free(m1);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         "base OT with %s failed: %s", who, ward_strerror(rc));
            return;
        }
        memcpy(gp->br_msg2, d->data.data, sizeof gp->br_msg2);
        send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_BASE_OT_RECEIVER, 0, m1, got);
        free(m1);
        gp->br_pending = 1;
        gp->br_owner = s;
        core_set_timer(out, TIMER_ID(TIMER_GC, (uint64_t)s->peer), now);
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_MATRIX: {
        if (!s->m || s->ot_rows) break;
        g_settle(c, out, s->peer, now);
        if (!c->gc || !gp->s_ready) {
            s->ot_active = 0;
            ot_reset(c, out, s->peer, DIR_SEND, s, now);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_ESTATE, now,
                         "%s extended OTs that this node has no base OTs for; run the session again",
                         who);
            return;
        }
        if (!s->ot_active) {
            s->ot_active = 1;
            s->ot_gen = gp->s_gen;
        }
        uint8_t ch[WARD_OTX_CHALLENGE_BYTES];
        ward_rng fs;
        fs_rng(&fs, gp->s_sid, s->id, gp->s_index, d->data.data, d->data.len);
        s->ot_rows = calloc(s->m, sizeof *s->ot_rows);
        rc = s->ot_rows ? ward_otx_send_extend(&gp->s, &fs, s->ot_rows, ch, s->m, d->data.data,
                                               d->data.len)
                        : WARD_ENOMEM;
        ward_rng_clear(&fs);
        if (rc != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         "%s sent a bad OT extension matrix (%zu bytes for %u input bits): %s", who,
                         d->data.len, s->m, ward_strerror(rc));
            return;
        }
        s->ot_index0 = gp->s_index;
        gp->s_index += s->m;
        s->step = "the OT check";
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_CHECK: {
        if (!s->ot_rows || !s->l0 || d->batch != 1) break;
        rc = ward_otx_send_verify(&gp->s, s->ot_rows, s->m, d->data.data, d->data.len);
        size_t ylen = (size_t)s->m * 32;
        uint8_t *y = rc == WARD_OK ? malloc(ylen) : NULL;
        ward_block *l1 = rc == WARD_OK ? malloc((size_t)s->m * sizeof *l1) : NULL;
        if (rc == WARD_OK && (!y || !l1)) rc = WARD_ENOMEM;
        if (rc == WARD_OK) {
            ward_block delta;
            rc = ward_garbler_delta(&s->g, &delta);
            for (uint32_t i = 0; rc == WARD_OK && i < s->m; i++)
                for (size_t k = 0; k < WARD_BLOCK_BYTES; k++) l1[i].b[k] = s->l0[i].b[k] ^ delta.b[k];
            sodium_memzero(&delta, sizeof delta);
            if (rc == WARD_OK)
                rc = ward_otx_send_chosen(&gp->s, y, ylen, s->l0, l1, s->ot_rows, s->m, s->ot_index0);
        }
        if (l1) sodium_memzero(l1, (size_t)s->m * sizeof *l1);
        free(l1);
        sodium_memzero(s->ot_rows, (size_t)s->m * sizeof *s->ot_rows);
        free(s->ot_rows);
        s->ot_rows = NULL;
        sodium_memzero(s->l0, (size_t)s->m * sizeof *s->l0);
        free(s->l0);
        s->l0 = NULL;
        if (rc != WARD_OK) {
            free(y);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                         rc == WARD_EDECRYPT ? "%s failed the OT consistency check (KOS): %s"
                                             : "OT with %s failed: %s",
                         who, ward_strerror(rc));
            return;
        }
        s->ot_active = 0;
        s->step = "the output";
        send_gc(c, out, s, WARD__WIRE__GC_SUB_KIND__GC_OT_EXT_PAYLOAD, 0, y, ylen);
        sodium_memzero(y, ylen);
        free(y);
        if (s->g_paused) {
            /* Resumes after the payload has left. */
            s->g_paused = 0;
            s->garbling = 1;
            core_set_timer(out, TIMER_ID(TIMER_GC, GC_TIMER_SESSION | s->serial), now);
        }
        return;
    }
    case WARD__WIRE__GC_SUB_KIND__GC_OUTPUT: {
        size_t want = ((size_t)ci->output_bits + 7) / 8;
        if (s->m && (s->l0 || s->ot_active)) break; /* before the OT finished */
        if (d->data.len != want) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent %zu bytes of output; the circuit has %u output bits", who,
                         d->data.len, ci->output_bits);
            return;
        }
        uint8_t *obits = malloc(ci->output_bits ? ci->output_bits : 1);
        if (!obits) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "out of memory");
            return;
        }
        unpack_bits(obits, d->data.data, ci->output_bits);
        finish_session(c, out, s, obits, now);
        free(obits);
        return;
    }
    default:
        break;
    }
    fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                 "%s sent an unexpected garbled-circuit message (sub-kind %d, batch %u)", who,
                 (int)d->sub_kind, d->batch);
}

/* ---- the end --------------------------------------------------------------- */

static void finish_session(ward_core *c, ward_actions *out, gc_session *s, const uint8_t *obits,
                           uint64_t now) {
    const ward_circuit *ci = &s->circ->c;
    char **hex = calloc(ci->noutputs, sizeof *hex);
    int ok = hex != NULL;
    size_t off = 0;
    for (uint32_t j = 0; ok && j < ci->noutputs; j++) {
        size_t w = ci->output_widths[j], cap = (w + 3) / 4 + 1;
        hex[j] = malloc(cap);
        ok = hex[j] && ward_circuit_bits_to_hex_var(hex[j], cap, obits + off, w) == WARD_OK;
        off += w;
    }
    if (s->has_client && ok) {
        Ward__Control__GcResult res;
        ward__control__gc_result__init(&res);
        res.n_outputs = ci->noutputs;
        res.outputs = hex;
        res.and_gates = ci->and_count;
        res.bytes_sent = s->bytes_sent;
        res.latency_ms = (double)(now - s->t0);
        res.session = s->id_hex;
        res.base_ots = s->base_ots;
        res.garbler = s->garbler;
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = s->req_id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_GC;
        r.gc = &res;
        core_reply(c, out, s->client, &r);
    } else if (s->has_client) {
        core_reply_error(c, out, s->client, s->req_id, WARD_ENOMEM, "out of memory");
    }
    for (uint32_t j = 0; hex && j < ci->noutputs; j++) free(hex[j]);
    free(hex);
    core_log(c, out, WARD_LOG_INFO,
             "gc session %s with %s done as %s: %u AND gates, %llu bytes sent%s", s->name,
             pname(c, s->peer), role_name(s->garbler), ci->and_count,
             (unsigned long long)s->bytes_sent, s->base_ots ? ", base OTs run" : "");
    c->stats.sessions_done++;
    unlink_session(c, s);
    drop_secrets(s);
    /* The audit record waits up to GC_AUDIT_DELAY_MS, to be written with
     * the records of the sessions that ended meanwhile in one commit. */
    gc_peer *gp = &c->gc->peers[s->peer];
    if (gp->r_owner == s) gp->r_owner = NULL;
    if (gp->br_owner == s) gp->br_owner = NULL;
    s->t_done = now;
    s->next = c->gc->done;
    c->gc->done = s;
    if (!c->gc->flush_armed) {
        c->gc->flush_armed = 1;
        core_set_timer(out, TIMER_ID(TIMER_GC, GC_TIMER_FLUSH), now + GC_AUDIT_DELAY_MS);
    }
    kick_waiting(c, out, s->peer, now);
    if (s->owned && s->owner_done) {
        gc_owner_fn done = s->owner_done;
        s->owner_done = NULL;
        done(c, out, s->owner, WARD_OK, obits, ci->output_bits, NULL, now);
    }
}

/* Writes the waiting records, oldest first, in one commit. */
static void flush_done(ward_core *c, ward_actions *out) {
    c->gc->flush_armed = 0;
    gc_session *rev = NULL;
    while (c->gc->done) {
        gc_session *s = c->gc->done;
        c->gc->done = s->next;
        s->next = rev;
        rev = s;
    }
    static const char done_text[] = "output delivered to both parties";
    int batched = 0;
    if (rev && rev->next && c->store && ward_audit_batch_begin(c->store) == WARD_OK) {
        int rc = WARD_OK;
        for (gc_session *s = rev; s && rc == WARD_OK; s = s->next)
            rc = audit_rc(c, s, "session-done", done_text, s->t_done);
        /* A failure may have rolled the whole batch back: then nothing of
         * it stands, and every record is written again on its own. */
        batched = ward_audit_batch_end(c->store, rc == WARD_OK) == WARD_OK && rc == WARD_OK;
    }
    for (gc_session *s = rev; s && !batched; s = s->next)
        audit(c, out, s, "session-done", done_text, s->t_done);
    while (rev) {
        gc_session *s = rev;
        rev = s->next;
        free_session(c, s);
    }
}

/* ---- meeting ------------------------------------------------------------------ */

/* Parses our hex inputs for our final role. */
static int parse_inputs(gc_session *s, char *why, size_t cap) {
    const ward_circuit *ci = &s->circ->c;
    uint32_t first = s->garbler ? 0 : 1, nvals = s->garbler ? 1 : ci->ninputs - 1;
    if (s->n_inputs != nvals) {
        if (s->garbler)
            snprintf(why, cap, "the garbler supplies input 0 of the circuit: one --input, not %zu",
                     s->n_inputs);
        else if (nvals == 0)
            snprintf(why, cap, "the circuit has one input, the garbler's: the evaluator gives no --input");
        else
            snprintf(why, cap, "the evaluator supplies inputs 1..%u of the circuit: %u --input value%s, not %zu",
                     ci->ninputs - 1, nvals, nvals == 1 ? "" : "s", s->n_inputs);
        return WARD_EINVAL;
    }
    s->w0 = ci->input_widths[0];
    s->m = ci->input_bits - s->w0;
    if (s->m > WARD_OTX_MAX) {
        snprintf(why, cap, "the evaluator's inputs have %u bits; at most %u are supported", s->m,
                 WARD_OTX_MAX);
        return WARD_ETOOBIG;
    }
    if (s->bits) sodium_memzero(s->bits, (size_t)s->w0 + s->m);
    free(s->bits);
    s->bits = calloc((size_t)s->w0 + s->m + 1, 1);
    if (!s->bits) {
        snprintf(why, cap, "out of memory");
        return WARD_ENOMEM;
    }
    size_t off = s->garbler ? 0 : s->w0;
    for (uint32_t j = 0; j < nvals; j++) {
        uint32_t w = ci->input_widths[first + j];
        const char *h = s->inputs[j];
        int rc = ward_circuit_hex_to_bits_var(s->bits + off, w, h, strlen(h));
        if (rc != WARD_OK) {
            if (rc == WARD_EOVERFLOW)
                snprintf(why, cap, "input %u: '%.80s' does not fit in %u bits", first + j, h, w);
            else
                snprintf(why, cap, "input %u: '%.80s' is not a hex number", first + j, h);
            return rc == WARD_EOVERFLOW ? WARD_EOVERFLOW : WARD_EPARSE;
        }
        off += w;
    }
    return WARD_OK;
}

static int resolve_role(const ward_core *c, long pidx, int mine, int theirs) {
    if (mine == ROLE_GARBLER) return 1;
    if (mine == ROLE_EVALUATOR) return 0;
    if (theirs == ROLE_GARBLER) return 0;
    if (theirs == ROLE_EVALUATOR) return 1;
    return strcmp(c->name, pname(c, pidx)) < 0;
}

static void try_match(ward_core *c, ward_actions *out, gc_session *s, uint64_t now) {
    const char *who = pname(c, s->peer);
    if (sodium_memcmp(s->peer_hash, s->circ->hash, 32) != 0) {
        char a[17], b[17];
        ward_hex_encode_var(a, sizeof a, s->circ->hash, 8);
        ward_hex_encode_var(b, sizeof b, s->peer_hash, 8);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_BAD_SPEC, WARD_EINVAL, now,
                     "circuit mismatch: %s's circuit has hash %s..., this node's %s %s...", who, b,
                     s->circ->path, a);
        return;
    }
    if (s->my_role != ROLE_AUTO && s->my_role == s->peer_role) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_BAD_SPEC, WARD_EINVAL, now,
                     "both parties asked to be the %s", s->my_role == ROLE_GARBLER ? "garbler" : "evaluator");
        return;
    }
    s->garbler = resolve_role(c, s->peer, s->my_role, s->peer_role);
    char why[300];
    int rc = s->owned ? WARD_OK : parse_inputs(s, why, sizeof why); /* owned: bits given */
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_BAD_SPEC, rc, now, "as %s: %s",
                     role_name(s->garbler), why);
        return;
    }
    memcpy(s->id, s->garbler ? s->my_id : s->peer_id, 32);
    s->serial = c->gc->next_serial++;
    ward_hex_encode_var(s->id_hex, sizeof s->id_hex, s->id, 32);
    s->state = GS_RUN;
    s->deadline = now + c->cfg.session_timeout_ms;
    core_log(c, out, WARD_LOG_DEBUG, "gc session %s with %s: %s, id %.16s", s->name, who,
             role_name(s->garbler), s->id_hex);
    if (s->garbler) {
        g_start(c, out, s, now);
    } else {
        s->step = "the garbler's labels";
        if (s->m) e_start_ot(c, out, s, now);
    }
}

static gc_session *find_named(struct gc_state *g, long pidx, const char *name, int local) {
    for (gc_session *s = g->sessions; s; s = s->next)
        if (s->peer == pidx && strcmp(s->name, name) == 0 && (s->state != GS_ORPHAN) == local)
            return s;
    return NULL;
}

static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > GC_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return 0;
    return 1;
}

/* Sends our join for s (its circuit and role set) and, when the peer's
 * join is already here (orphan), meets it. Returns WARD_ENOMEM with
 * nothing sent and s not listed (the caller frees it); otherwise s is
 * listed and any later failure goes through fail_session. */
static int send_join(ward_core *c, ward_actions *out, struct gc_state *g, gc_session *s,
                     gc_session *orphan, uint64_t now) {
    long pidx = s->peer;
    int rc;
    Ward__Wire__GcSpec gs;
    Ward__Wire__SessionSpec spec;
    ward__wire__gc_spec__init(&gs);
    ward__wire__session_spec__init(&spec);
    gs.name = s->name;
    gs.circuit_hash.data = s->circ->hash;
    gs.circuit_hash.len = 32;
    gs.role = (uint32_t)s->my_role;
    gs.peer = (char *)pname(c, pidx);
    gs.and_gates = s->circ->c.and_count;
    spec.spec_case = WARD__WIRE__SESSION_SPEC__SPEC_GC;
    spec.gc = &gs;
    size_t slen = ward__wire__session_spec__get_packed_size(&spec);
    uint8_t *sbytes = malloc(slen);
    if (!sbytes) return WARD_ENOMEM;
    ward__wire__session_spec__pack(&spec, sbytes);
    uint8_t nonce[WARD_WIRE_NONCE_BYTES];
    ward_rng_bytes(c->rng, nonce, sizeof nonce);
    core_session_id(s->my_id, c->name, nonce, sizeof nonce, sbytes, slen);
    append_session(g, s);
    Ward__Wire__Propose pr;
    ward__wire__propose__init(&pr);
    pr.spec.data = sbytes;
    pr.spec.len = slen;
    pr.nonce.data = nonce;
    pr.nonce.len = sizeof nonce;
    ward_envelope e;
    ward__wire__envelope__init(&e);
    e.session_id.data = s->my_id;
    e.session_id.len = 32;
    e.kind = WARD__WIRE__KIND__KIND_PROPOSE;
    e.round = 0;
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_PROPOSE;
    e.propose = &pr;
    rc = send_env(c, out, s, &e);
    free(sbytes);
    s->round = 1;
    if (rc != WARD_OK) {
        fail_session(c, out, s, 0, 0, rc, now, "cannot send the join to %s: %s", pname(c, pidx),
                     ward_strerror(rc));
        return WARD_OK;
    }
    core_log(c, out, WARD_LOG_DEBUG, "gc session %s: waiting for %s", s->name, pname(c, pidx));
    if (orphan) {
        s->has_peer_join = 1;
        memcpy(s->peer_id, orphan->peer_id, 32);
        memcpy(s->peer_hash, orphan->peer_hash, 32);
        s->peer_role = orphan->peer_role;
        unlink_session(c, orphan);
        free_session(c, orphan);
        try_match(c, out, s, now);
    }
    return WARD_OK;
}

void gc_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
              const Ward__Control__GcRequest *req, uint64_t now) {
    struct gc_state *g = state(c);
    if (!g) {
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        return;
    }
    long pidx = ward_name_valid(req->peer) ? ward_roster_find(c->roster, req->peer) : -1;
    if (pidx < 0 || pidx == c->self) {
        core_reply_error(c, out, client, id, WARD_ENOTFOUND,
                         pidx == c->self ? "--peer %s is this node" : "--peer %s is not in the roster",
                         req->peer);
        return;
    }
    if (!name_ok(req->session)) {
        core_reply_error(c, out, client, id, WARD_EINVAL,
                         "--session must be 1 to %d printable characters without spaces", GC_NAME_MAX);
        return;
    }
    if (req->circuit_path[0] != '/') {
        core_reply_error(c, out, client, id, WARD_EINVAL, "the circuit path must be absolute");
        return;
    }
    if (req->role != WARD__CONTROL__GC_ROLE__GC_ROLE_AUTO &&
        req->role != WARD__CONTROL__GC_ROLE__GC_ROLE_GARBLER &&
        req->role != WARD__CONTROL__GC_ROLE__GC_ROLE_EVALUATOR) {
        core_reply_error(c, out, client, id, WARD_EINVAL, "unknown role %d", (int)req->role);
        return;
    }
    if (find_named(g, pidx, req->session, 1)) {
        core_reply_error(c, out, client, id, WARD_ESTATE,
                         "a gc session named %s with %s is already waiting or running", req->session,
                         req->peer);
        return;
    }
    if (!core_peer_connected(c, pidx)) {
        core_reply_error(c, out, client, id, WARD_ESTATE,
                         "peer %s is not connected; the session was not started", req->peer);
        return;
    }
    gc_session *s = calloc(1, sizeof *s);
    if (!s) {
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        return;
    }
    s->peer = pidx;
    s->state = GS_WAIT;
    snprintf(s->name, sizeof s->name, "%s", req->session);
    s->has_client = 1;
    s->client = client;
    s->req_id = id;
    s->t0 = now;
    s->deadline = now + c->cfg.session_timeout_ms;
    s->my_role = (int)req->role;
    s->step = "the peer to join";
    char why[400];
    int rc = circ_load(g, &s->circ, req->circuit_path, why, sizeof why);
    if (rc == WARD_OK) {
        s->inputs = calloc(req->n_inputs + 1, sizeof *s->inputs);
        if (!s->inputs) rc = WARD_ENOMEM;
        for (size_t i = 0; rc == WARD_OK && i < req->n_inputs; i++) {
            s->inputs[i] = strdup(req->inputs[i]);
            if (!s->inputs[i]) rc = WARD_ENOMEM;
            else s->n_inputs++;
        }
        if (rc != WARD_OK) snprintf(why, sizeof why, "out of memory");
    }
    gc_session *orphan = rc == WARD_OK ? find_named(g, pidx, req->session, 0) : NULL;
    if (rc == WARD_OK) {
        /* Check our inputs now, against the role we will have as far as we
         * can tell (the peer's wish may still settle an "auto"). */
        s->garbler = resolve_role(c, pidx, s->my_role, orphan ? orphan->peer_role : ROLE_AUTO);
        char tmp[300];
        rc = parse_inputs(s, tmp, sizeof tmp);
        if (rc != WARD_OK) snprintf(why, sizeof why, "as %s: %s", role_name(s->garbler), tmp);
    }
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, id, rc, "%s", why);
        if (orphan) {
            /* The peer is waiting for us: tell it why we will not come. */
            char msg[500];
            snprintf(msg, sizeof msg, "%s refused: %s", c->name, why);
            fail_session(c, out, orphan, 1, WARD__WIRE__REASON__REASON_BAD_SPEC, rc, now, "%s", msg);
        }
        s->has_client = 0;
        free_session(c, s);
        return;
    }
    if (send_join(c, out, g, s, orphan, now) != WARD_OK) {
        core_reply_error(c, out, client, id, WARD_ENOMEM, "out of memory");
        s->has_client = 0;
        free_session(c, s);
    }
}

int gc_start_owned(ward_core *c, ward_actions *out, long pidx, const char *name,
                   ward_circuit *circ, int garbler, const uint8_t *bits, size_t nbits,
                   gc_owner_fn done, const uint8_t owner[32], char *why, size_t why_cap,
                   uint64_t now) {
    struct gc_state *g = state(c);
    if (!g) {
        ward_circuit_free(circ);
        snprintf(why, why_cap, "out of memory");
        return WARD_ENOMEM;
    }
    if (pidx < 0 || pidx == c->self || (size_t)pidx >= c->roster->n_members || !name_ok(name) ||
        circ->ninputs < 1 || find_named(g, pidx, name, 1)) {
        ward_circuit_free(circ);
        snprintf(why, why_cap, "bad garbled-circuit session %s", name);
        return WARD_EINVAL;
    }
    uint32_t w0 = circ->input_widths[0], m = circ->input_bits - w0;
    if (nbits != (garbler ? w0 : m) || m > WARD_OTX_MAX) {
        ward_circuit_free(circ);
        snprintf(why, why_cap, "%zu input bits do not fit the circuit", nbits);
        return WARD_EINVAL;
    }
    if (!core_peer_connected(c, pidx)) {
        ward_circuit_free(circ);
        snprintf(why, why_cap, "%s is not connected", pname(c, pidx));
        return WARD_ESTATE;
    }
    gc_session *s = calloc(1, sizeof *s);
    gc_circ *k = calloc(1, sizeof *k);
    char *path = strdup("(built in)");
    uint8_t *b = calloc((size_t)w0 + m + 1, 1);
    if (!s || !k || !path || !b) {
        free(s);
        free(k);
        free(path);
        free(b);
        ward_circuit_free(circ);
        snprintf(why, why_cap, "out of memory");
        return WARD_ENOMEM;
    }
    /* The circuit: hashed as a parsed file would be, reordered alike on
     * both sides, and freed with its last session. */
    k->c = *circ;
    memset(circ, 0, sizeof *circ);
    circ_hash(k->hash, &k->c);
    int rc = ward_gc_reorder_var(&k->c);
    if (rc == WARD_OK) rc = ward_gc_compile_var(&k->plan, &k->c);
    if (rc != WARD_OK) {
        ward_circuit_free(&k->c);
        free(k);
        free(path);
        free(s);
        free(b);
        snprintf(why, why_cap, "the circuit cannot be garbled (%s)", ward_strerror(rc));
        return rc;
    }
    k->path = path;
    k->refs = 1;
    k->builtin = 1;
    k->next = g->circs;
    g->circs = k;
    memcpy(b + (garbler ? 0 : w0), bits, nbits);
    s->peer = pidx;
    s->state = GS_WAIT;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->owned = 1;
    s->owner_done = done;
    memcpy(s->owner, owner, 32);
    s->t0 = now;
    s->deadline = now + c->cfg.session_timeout_ms;
    s->my_role = garbler ? ROLE_GARBLER : ROLE_EVALUATOR;
    s->garbler = garbler;
    s->circ = k;
    s->bits = b;
    s->w0 = w0;
    s->m = m;
    s->step = "the peer to join";
    gc_session *orphan = find_named(g, pidx, name, 0);
    if (send_join(c, out, g, s, orphan, now) != WARD_OK) {
        free_session(c, s);
        snprintf(why, why_cap, "out of memory");
        return WARD_ENOMEM;
    }
    return WARD_OK;
}

void gc_cancel_owned(ward_core *c, ward_actions *out, const uint8_t owner[32], const char *why,
                     uint64_t now) {
    if (!c->gc) return;
    for (gc_session *s = c->gc->sessions; s; s = s->next) {
        if (!s->owned || sodium_memcmp(s->owner, owner, 32) != 0) continue;
        s->owner_done = NULL;
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_CANCELLED, WARD_ESTATE, now, "%s", why);
        return;
    }
}

/* A peer's join. */
static void on_join(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                    const Ward__Wire__GcSpec *gs, uint64_t now) {
    struct gc_state *g = state(c);
    if (!g) return;
    const char *who = pname(c, from);
    uint8_t id[32];
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)who, strlen(who));
    crypto_hash_sha256_update(&h, e->propose->nonce.data, e->propose->nonce.len);
    crypto_hash_sha256_update(&h, e->propose->spec.data, e->propose->spec.len);
    crypto_hash_sha256_final(&h, id);
    if (memcmp(id, e->session_id.data, 32) != 0 || !name_ok(gs->name) || gs->circuit_hash.len != 32 ||
        gs->role > ROLE_EVALUATOR || strcmp(gs->peer, c->name) != 0) {
        core_log(c, out, WARD_LOG_WARN, "gc join from %s dropped: malformed or not for this node", who);
        return;
    }
    gc_session *s = find_named(g, from, gs->name, 1);
    if (s && s->state == GS_WAIT && !s->has_peer_join) {
        s->has_peer_join = 1;
        memcpy(s->peer_id, id, 32);
        memcpy(s->peer_hash, gs->circuit_hash.data, 32);
        s->peer_role = (int)gs->role;
        try_match(c, out, s, now);
        return;
    }
    if (s && s->state == GS_WAIT) return; /* a repeat */
    /* Otherwise nothing local waits for it (or a session of that name is
     * still finishing here): keep it for the next local command. */
    gc_session *o = find_named(g, from, gs->name, 0);
    if (o) return; /* keep the first */
    if (core_peer_busy(c, out, from, e)) return;
    o = calloc(1, sizeof *o);
    if (!o) return;
    o->peer = from;
    o->state = GS_ORPHAN;
    snprintf(o->name, sizeof o->name, "%s", gs->name);
    o->has_peer_join = 1;
    memcpy(o->peer_id, id, 32);
    memcpy(o->peer_hash, gs->circuit_hash.data, 32);
    o->peer_role = (int)gs->role;
    o->t0 = now;
    /* The peer waits session_timeout_ms for us; so do we, a little longer. */
    o->deadline = now + c->cfg.session_timeout_ms + CORE_TICK_MS;
    append_session(g, o);
}

int gc_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e, uint64_t now) {
    if (e->kind == WARD__WIRE__KIND__KIND_PROPOSE) {
        Ward__Wire__SessionSpec *sp =
            ward__wire__session_spec__unpack(NULL, e->propose->spec.len, e->propose->spec.data);
        if (!sp) return 0;
        int mine = sp->spec_case == WARD__WIRE__SESSION_SPEC__SPEC_GC && sp->gc;
        if (mine) on_join(c, out, from, e, sp->gc, now);
        ward__wire__session_spec__free_unpacked(sp, NULL);
        return mine;
    }
    if (!c->gc || e->session_id.len != 32) return e->kind == WARD__WIRE__KIND__KIND_GC_DATA;
    gc_session *s = NULL;
    for (gc_session *t = c->gc->sessions; t && !s; t = t->next) {
        if (t->peer != from) continue;
        if ((t->state == GS_RUN && memcmp(t->id, e->session_id.data, 32) == 0) ||
            (t->state != GS_ORPHAN && memcmp(t->my_id, e->session_id.data, 32) == 0) ||
            (t->has_peer_join && memcmp(t->peer_id, e->session_id.data, 32) == 0))
            s = t;
    }
    if (!s) return e->kind == WARD__WIRE__KIND__KIND_GC_DATA;
    if (e->kind == WARD__WIRE__KIND__KIND_ABORT || e->kind == WARD__WIRE__KIND__KIND_REJECT) {
        const char *text = e->kind == WARD__WIRE__KIND__KIND_ABORT ? e->abort->text : e->reject->text;
        fail_session(c, out, s, 0, 0, WARD_ESTATE, now, "aborted by %s: %s", pname(c, from),
                     text && text[0] ? text : "no reason given");
        return 1;
    }
    if (e->kind != WARD__WIRE__KIND__KIND_GC_DATA) return 1;
    if (s->state != GS_RUN || memcmp(s->id, e->session_id.data, 32) != 0) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                     "%s sent garbled-circuit data before the session started", pname(c, from));
        return 1;
    }
    s->deadline = now + c->cfg.session_timeout_ms;
    if (s->garbler) g_on_data(c, out, s, e->gc_data, now);
    else e_on_data(c, out, s, e->gc_data, now);
    return 1;
}

void gc_on_tick(ward_core *c, ward_actions *out, uint64_t now) {
    if (!c->gc) return;
    for (int again = 1; again;) {
        again = 0;
        for (gc_session *s = c->gc->sessions; s; s = s->next) {
            if (now < s->deadline) continue;
            if (s->state == GS_ORPHAN)
                fail_session(c, out, s, 0, 0, WARD_ESTATE, now, "nobody joined");
            else if (s->state == GS_WAIT)
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_TIMEOUT, WARD_ESTATE, now,
                             "timed out after %u ms waiting for %s to join session %s",
                             c->cfg.session_timeout_ms, pname(c, s->peer), s->name);
            else
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_TIMEOUT, WARD_ESTATE, now,
                             "timed out after %u ms waiting for %s (%s)", c->cfg.session_timeout_ms,
                             pname(c, s->peer), s->step ? s->step : "its next message");
            again = 1;
            break;
        }
    }
}

void gc_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now) {
    if (!c->gc) return;
    for (int again = 1; again;) {
        again = 0;
        for (gc_session *s = c->gc->sessions; s; s = s->next) {
            if (s->peer != idx) continue;
            s->ot_active = 0;
            fail_session(c, out, s, 0, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                         "lost the connection to %s", pname(c, idx));
            again = 1;
            break;
        }
    }
    /* A new connection starts with new base OTs. */
    ot_reset(c, out, idx, DIR_SEND, NULL, now);
    ot_reset(c, out, idx, DIR_RECV, NULL, now);
}

void gc_on_client_closed(ward_core *c, uint64_t client) {
    if (!c->gc) return;
    for (gc_session *s = c->gc->sessions; s; s = s->next)
        if (s->has_client && s->client == client) s->has_client = 0;
}

void gc_flush_audit(ward_core *c, ward_actions *out) {
    if (c->gc && c->gc->done) flush_done(c, out);
}

void gc_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now) {
    if (!c->gc) return;
    flush_done(c, out);
    while (c->gc->sessions)
        fail_session(c, out, c->gc->sessions, 1, WARD__WIRE__REASON__REASON_CANCELLED, WARD_ESTATE, now,
                     "%s", why);
}

void gc_free_all(ward_core *c) {
    struct gc_state *g = c->gc;
    if (!g) return;
    while (g->sessions) {
        gc_session *s = g->sessions;
        g->sessions = s->next;
        free_session(c, s);
    }
    while (g->done) {
        gc_session *s = g->done;
        g->done = s->next;
        free_session(c, s);
    }
    for (size_t i = 0; i < c->roster->n_members; i++) {
        gc_peer *gp = &g->peers[i];
        ward_otx_sender_clear(&gp->s);
        ward_otx_receiver_clear(&gp->r);
        ward_baseot_sender_clear(&gp->bs);
        ward_baseot_receiver_clear(&gp->br);
    }
    sodium_memzero(g->peers, c->roster->n_members * sizeof *g->peers);
    free(g->peers);
    while (g->circs) {
        gc_circ *k = g->circs;
        g->circs = k->next;
        ward_circuit_free(&k->c);
        ward_gc_plan_free(&k->plan);
        free(k->path);
        free(k);
    }
    free(g);
    c->gc = NULL;
}

uint32_t gc_from(const ward_core *c, long who) {
    uint32_t n = 0;
    if (c->gc)
        for (const gc_session *s = c->gc->sessions; s; s = s->next)
            n += s->state == GS_ORPHAN && s->peer == who;
    return n;
}

uint32_t gc_active(const ward_core *c) {
    uint32_t n = 0;
    if (c->gc)
        for (const gc_session *s = c->gc->sessions; s; s = s->next)
            if (s->state != GS_ORPHAN) n++;
    return n;
}
