/* The node core's internals, shared by core.c (channels, peers, control)
 * and session_agg.c (aggregate sessions). Not a public interface. */
#ifndef WARD_CORE_INTERNAL_H
#define WARD_CORE_INTERNAL_H

#include "circuit.h"
#include "control.pb-c.h"
#include "core.h"
#include "envelope.h"
#include "frame.h"
#include "ledger.h"
#include "noise.h"
#include "noise_cipher.h"
#include "store.h"
#include "wire.pb-c.h"

/* Timer ids: the kind in the top byte, an index below. */
#define TIMER_KIND(t) ((t) >> 56)
#define TIMER_INDEX(t) ((t) & ((1ULL << 56) - 1))
#define TIMER_ID(kind, index) (((uint64_t)(kind) << 56) | (uint64_t)(index))
enum { TIMER_RECONNECT = 1, TIMER_TICK = 2, TIMER_GC = 3 };

#define CORE_TICK_MS 250
#define CORE_HANDSHAKE_TIMEOUT_MS 5000
#define PREAMBLE_MAGIC "ward-channel-v1\n" /* 16 bytes, then the dialer's name */
#define PREAMBLE_MAGIC_LEN 16

typedef enum {
    CONN_PREAMBLE = 1,  /* inbound: waiting for the dialer's name */
    CONN_HANDSHAKE,     /* Noise_KK in progress */
    CONN_HELLO,         /* keys agreed, waiting for the peer's HELLO */
    CONN_OPEN,          /* authenticated and in use */
    CONN_CLOSED
} conn_state;

typedef struct conn {
    uint64_t id;
    int outbound;
    long peer;                   /* roster index, -1 until known */
    conn_state state;
    uint64_t opened_ms, last_rx_ms, last_ping_ms;
    ward_frame_reader reader;
    ward_noise_handshake hs;
    ward_noise_cipherstate tx, rx;
    uint8_t preamble[PREAMBLE_MAGIC_LEN + WARD_NAME_MAX];
    size_t preamble_len;
} conn;

typedef struct {
    long idx;                    /* roster index */
    int dialer;                  /* this node dials the peer */
    conn *c;                     /* the channel past HELLO, or NULL */
    conn *pending;               /* outbound attempt in progress, or NULL */
    uint32_t backoff_ms;
    int reconnect_armed;
    uint64_t last_seen_ms;
    char wire_version[16];
    ward_reasm reasm;            /* chunks arrive back to back per peer */
    uint64_t next_seq;           /* our message counter towards this peer */
} peer;

struct session_base; /* session_common.h: the head of agg, decide and fl sessions */
struct gc_state;

struct ward_core {
    ward_core_config cfg;
    char name[WARD_NAME_MAX + 1];
    long self;                   /* our roster index */
    const ward_roster *roster;
    uint8_t static_priv[32];
    ward_rng *rng;
    ward_store *store;
    peer *peers;                 /* indexed by roster index; peers[self] unused */
    conn **conns;
    size_t n_conns, cap_conns;
    uint64_t next_conn_id;       /* odd ids for outbound */
    struct session_base *sessions; /* aggregates (session_agg.c) */
    ward_ledger ledger;          /* the privacy ledger (on the store) */
    int ledger_open;             /* opened (sound or broken) */
    uint64_t started_ms;
    int stopping;
    ward_core_stats stats;
    struct gc_state *gc;         /* garbled-circuit sessions and OT state (session_gc.c) */
    struct session_base *decides; /* decisions across departments (session_decide.c) */
    struct session_base *fls;    /* federated training (session_fl.c) */
    struct import_wait *imports; /* imports waiting or being staged, first running (core_import.c) */
    uint64_t next_job;
    uint8_t scratch[WARD_FRAME_MAX];
};

/* ---- shared helpers (core.c) ---- */
void core_log(ward_core *c, ward_actions *out, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Sends an envelope to a connected peer (chunked when large). Returns 0 or
 * WARD_ENOTFOUND when the peer has no open channel. */
int core_send_envelope(ward_core *c, ward_actions *out, long peer_idx, const ward_envelope *e);
/* Replies to a control client with an encoded Response (freed by caller). */
void core_reply(ward_core *c, ward_actions *out, uint64_t client,
                Ward__Control__Response *resp);
void core_reply_error(ward_core *c, ward_actions *out, uint64_t client, uint64_t id, int code,
                      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int core_peer_connected(const ward_core *c, long idx);
/* Arms (or re-arms) a one-shot timer. */
void core_set_timer(ward_actions *out, uint64_t timer, uint64_t at_ms);
/* A session's id (DECISIONS.md, Sessions): SHA-256 of the proposer's
 * name, the proposal's nonce and the spec's exact bytes. */
void core_session_id(uint8_t id[32], const char *proposer, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *spec, size_t spec_len);
/* Asks the driver to run a job (data: owned by the action list from now). */
int core_push_job(ward_actions *out, uint64_t job, uint8_t *data, size_t len);
/* The columns of a table as control messages (core.c; freed by the caller). */
int core_fill_columns(Ward__Control__Column ***out_cols, Ward__Control__Column **store_cols,
                      char (**types)[16], const ward_table_info *t);

/* ---- imports (core_import.c) ---- */
void core_import_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                       const Ward__Control__ImportRequest *req, uint64_t now);
void core_import_done(ward_core *c, ward_actions *out, uint64_t job, const uint8_t *data,
                      size_t len, uint64_t now);
void core_import_client_closed(ward_core *c, uint64_t client);
void core_import_free_all(ward_core *c);

/* ---- local-DP reports (core_ldp.c) ---- */
void core_ldp_import(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                     const Ward__Control__LdpImportRequest *req, uint64_t now);
void core_ldp_estimate(ward_core *c, ward_actions *out, uint64_t client, uint64_t id,
                       const Ward__Control__LdpEstimateRequest *req);

/* ---- privacy budget (session_agg.c) ---- */
typedef struct {
    double epsilon_total, delta_total;   /* the class's share of the policy's totals */
    double rho_total;                    /* its zCDP allowance at delta_total */
    double rho_spent;                    /* the ledger's spends of the class */
    double epsilon_spent, delta_spent;   /* rho_spent at delta_total (0, 0 when nothing) */
} core_budget;
ward_dp_class core_dp_class(ward_sensitivity s);
/* The class's budget under this node's policy (the default policy when it
 * has none) and what its ledger has spent. Returns 0 or a ward_err. */
int core_class_budget(const ward_core *c, core_budget *b, ward_dp_class cls);

/* ---- aggregate sessions (session_agg.c) ---- */
void agg_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
               const Ward__Control__AggregateRequest *req, uint64_t now_ms);
void agg_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                     uint64_t now_ms);
void agg_on_tick(ward_core *c, ward_actions *out, uint64_t now_ms);
void agg_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now_ms);
void agg_on_client_closed(ward_core *c, uint64_t client);
void agg_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now_ms);
void agg_free_all(ward_core *c);
/* A PROPOSE that would open a new session here (a first proposal, or a
 * garbled-circuit join no local command waits for) from a peer that already
 * holds max_peer_sessions sessions at this node: answered with a REJECT
 * (REASON_BUSY, naming the node, the peer and the count) and logged, so a
 * roster peer cannot fill a node's memory with sessions. Returns 1 when it
 * refused, 0 when the session may open. Counts every kind's sessions that
 * the peer proposed (agg_from, decide_from, fl_from, gc_from). */
int core_peer_busy(ward_core *c, ward_actions *out, long from, const ward_envelope *e);
uint32_t agg_active(const ward_core *c);
/* Sessions here that peer `who` proposed (peer_busy in core.c). */
uint32_t agg_from(const ward_core *c, long who);

/* ---- garbled-circuit sessions (session_gc.c) ---- */
void gc_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
              const Ward__Control__GcRequest *req, uint64_t now_ms);
/* Returns 1 when the envelope belonged to a gc session (a GC_DATA, a
 * PROPOSE carrying a GcSpec, an ABORT of a gc session), else 0. */
int gc_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                   uint64_t now_ms);
void gc_on_timer(ward_core *c, ward_actions *out, uint64_t index, uint64_t now_ms);
void gc_on_tick(ward_core *c, ward_actions *out, uint64_t now_ms);
void gc_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now_ms);
void gc_on_client_closed(ward_core *c, uint64_t client);
/* Writes the audit records of finished gc sessions that are waiting to
 * share a commit (before the audit log is read). */
void gc_flush_audit(ward_core *c, ward_actions *out);
void gc_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now_ms);
void gc_free_all(ward_core *c);
uint32_t gc_active(const ward_core *c);
/* Joins from peer `who` that no local command has taken yet. */
uint32_t gc_from(const ward_core *c, long who);
/* A gc session run for another session kind (a decide session): no
 * control client; `done` is called exactly once when it ends, with rc 0
 * and the output bits (one byte per bit, nbits of them) or with an error
 * code and why, unless gc_cancel_owned ends it first. `done` may run
 * inside gc_start_owned (a failure right at the rendezvous). The circuit
 * is taken over (*circ is zeroed or freed in every case); bits are this
 * node's input bits, one byte per bit: input 0 for the garbler, inputs
 * 1.. for the evaluator. Returns 0, or an error with why filled, nothing
 * started and `done` never called. */
typedef void (*gc_owner_fn)(ward_core *c, ward_actions *out, const uint8_t owner[32], int rc,
                            const uint8_t *obits, size_t nbits, const char *why, uint64_t now);
int gc_start_owned(ward_core *c, ward_actions *out, long pidx, const char *name,
                   ward_circuit *circ, int garbler, const uint8_t *bits, size_t nbits,
                   gc_owner_fn done, const uint8_t owner[32], char *why, size_t why_cap,
                   uint64_t now);
/* Ends the owner's gc session, if one is running, telling the peer why;
 * its `done` is not called. */
void gc_cancel_owned(ward_core *c, ward_actions *out, const uint8_t owner[32], const char *why,
                     uint64_t now);

/* ---- decisions across many departments (session_decide.c) ---- */
void decide_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
                  const Ward__Control__DecideRequest *req, uint64_t now);
/* Returns 1 when the envelope belonged to a decide session (a PROPOSE
 * carrying a DecideSpec, or any envelope with a decide session's id). */
int decide_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                       uint64_t now);
void decide_on_tick(ward_core *c, ward_actions *out, uint64_t now);
void decide_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now);
void decide_on_client_closed(ward_core *c, uint64_t client);
void decide_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now);
void decide_free_all(ward_core *c);
uint32_t decide_active(const ward_core *c);
uint32_t decide_from(const ward_core *c, long who);

/* ---- federated training (session_fl.c) ---- */
void fl_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
              const Ward__Control__TrainRequest *req, uint64_t now);
/* Returns 1 when the envelope belonged to a training session (a PROPOSE
 * carrying a TrainSpec, or any envelope with a training session's id). */
int fl_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                   uint64_t now);
void fl_on_tick(ward_core *c, ward_actions *out, uint64_t now);
void fl_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now);
void fl_on_peer_up(ward_core *c, ward_actions *out, long idx, uint64_t now);
void fl_on_client_closed(ward_core *c, uint64_t client);
void fl_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now);
void fl_free_all(ward_core *c);
uint32_t fl_active(const ward_core *c);
uint32_t fl_from(const ward_core *c, long who);

#endif
