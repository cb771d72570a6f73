/* The node core: a single-threaded, sans-I/O state machine.
 *
 *     ward_core_handle(core, &actions, &event, now_ms)
 *
 * Events come in (a connection opened, bytes arrived, a connection closed,
 * a timer fired, a control request arrived); actions come out (connect,
 * send bytes, close, set or cancel a timer, reply to a control client, log
 * a line). The core reads no clock, socket or global RNG: time arrives with
 * every event and randomness from the ward_rng given at creation. The libuv
 * driver (node/driver.c) runs it in production; the simulator (netsim/)
 * runs many cores on a virtual clock. Both see exactly the same behaviour.
 *
 * Connections are named by ids the core chooses (for outbound ones) or the
 * driver chooses (for inbound ones): outbound ids are odd, inbound ids even,
 * so they never collide. The bytes of a connection are the raw TCP stream:
 * the core does framing, the Noise handshake and encryption itself.
 *
 * Storage (SQLite) is the one thing the core calls synchronously, through
 * the store handle given at creation: local queries and ledger commits are
 * short, and keeping them inside the core keeps it deterministic.
 */
#ifndef WARD_CORE_H
#define WARD_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "roster.h"
#include "policy.h"
#include "store.h"

typedef struct ward_core ward_core;

typedef enum {
    WARD_EV_CONN_OPEN = 1,   /* conn: connected (outbound) or accepted (inbound) */
    WARD_EV_CONN_DATA,       /* conn: data/len bytes arrived */
    WARD_EV_CONN_CLOSED,     /* conn: closed or failed to connect (by the peer or the network) */
    WARD_EV_TIMER,           /* timer: fired */
    WARD_EV_CTL_REQUEST,     /* client: one control request (control.proto bytes) */
    WARD_EV_CTL_CLOSED,      /* client: the control client went away */
    WARD_EV_TICK,            /* nothing happened; lets the core look at the time */
    WARD_EV_JOB_DONE         /* job: a job the core asked for ended; data/len its result */
} ward_event_kind;

typedef struct {
    ward_event_kind kind;
    uint64_t conn;           /* connection id */
    uint64_t timer;          /* timer id */
    uint64_t client;         /* control client id */
    uint64_t job;            /* job id */
    const uint8_t *data;
    size_t len;
} ward_core_event;

typedef enum {
    WARD_ACT_CONNECT = 1,    /* conn, host, port: open a TCP connection */
    WARD_ACT_SEND,           /* conn, data/len: write bytes */
    WARD_ACT_CLOSE,          /* conn: close after pending writes */
    WARD_ACT_TIMER_SET,      /* timer, at_ms: (re)arm a one-shot timer */
    WARD_ACT_TIMER_CANCEL,   /* timer */
    WARD_ACT_CTL_REPLY,      /* client, data/len: one control response */
    WARD_ACT_LOG,            /* level, text: one log line */
    WARD_ACT_STOP,           /* the node asks its driver to shut down */
    WARD_ACT_JOB             /* job, data/len: a job to run off the event loop (an
                                ImportJob of control.proto: node/import_job.h), whose
                                result comes back as WARD_EV_JOB_DONE */
} ward_action_kind;

enum { WARD_LOG_ERROR = 0, WARD_LOG_WARN = 1, WARD_LOG_INFO = 2, WARD_LOG_DEBUG = 3 };

typedef struct {
    ward_action_kind kind;
    uint64_t conn, timer, client, job;
    uint64_t at_ms;
    int level;
    const char *host;        /* CONNECT: valid until the next ward_core_handle */
    uint16_t port;
    uint8_t *data;           /* SEND, CTL_REPLY: owned by the action list */
    size_t len;
    char *text;              /* LOG: owned by the action list */
} ward_action;

/* Actions produced by one call. The caller owns the list and must call
 * ward_actions_reset() before reusing it (that frees the data buffers). */
typedef struct {
    ward_action *items;
    size_t len, cap;
} ward_actions;

void ward_actions_init(ward_actions *a);
void ward_actions_reset(ward_actions *a);
void ward_actions_free(ward_actions *a);

/* How many sessions one peer's proposals may hold open at a node at once
 * (aggregates, decisions and training runs it proposed, garbled-circuit
 * joins nobody here has asked for yet). A proposal beyond it is refused
 * with REASON_BUSY; the peer may propose again once some have ended. */
#define WARD_CORE_MAX_PEER_SESSIONS 256

typedef struct {
    const char *name;                 /* this node's roster name */
    const ward_roster *roster;        /* borrowed; must outlive the core */
    const uint8_t *static_priv;       /* 32 bytes; copied, caller may wipe */
    ward_store *store;                /* borrowed; may be NULL (no tables) */
    uint32_t keepalive_ms;            /* ping interval (default 2000) */
    uint32_t idle_timeout_ms;         /* close a silent channel (default 10000) */
    uint32_t backoff_min_ms;          /* reconnect backoff (default 100) */
    uint32_t backoff_max_ms;          /* cap (default 5000) */
    uint32_t session_timeout_ms;      /* a phase of a session (default 10000) */
    uint32_t max_peer_sessions;       /* sessions one peer may have open here at once
                                         (default WARD_CORE_MAX_PEER_SESSIONS) */
    int allow_exact;                  /* exact (non-DP) results may leave (no policy) */
    int jobs;                         /* the driver runs WARD_ACT_JOB off its loop; 0: the
                                         core does the work inline (the simulator) */
    const ward_policy *policy;        /* borrowed; NULL: allow every roster peer,
                                         exact results per allow_exact */
    /* Tests of the simulator's invariants only; 0 in every real node. A
     * deliberately broken node: WARD_TEST_FAULT_CORRUPT_SHARE adds 1 to the
     * share it sends its first peer, WARD_TEST_FAULT_SKIP_SHARE never sends
     * its last peer a share. */
    uint32_t test_fault;
    /* Simulator only; NULL in every real node. Called with a private
     * session's id and this node's noise vector (its encoded units, the
     * session's vector layout) as the noise joins the local vector, before
     * it is wiped. */
    void (*test_noise_hook)(void *ctx, const uint8_t session_id[32], const int64_t *noise, size_t len);
    void *test_noise_ctx;
    /* Tests only; NULL in every real node. Called with every message a
     * peer's channel delivers after decryption, before it is handled (the
     * seeds of tests/fuzz/fuzz_peer.c are recorded with it). */
    void (*test_rx_hook)(void *ctx, const char *self, const char *peer, const uint8_t *msg,
                         size_t len);
    void *test_rx_ctx;
} ward_core_config;

/* WARD_TEST_FAULT_SKIP_DEBIT releases a DP session's noisy shares without
 * charging the ledger (the privacy_budget invariant must catch it).
 * WARD_TEST_FAULT_HALT_AFTER_DEBIT commits a DP session's ledger debit and
 * then sends nothing more for it, as a process killed between its ledger
 * commit and its first share would (the test then crashes the node).
 * WARD_TEST_FAULT_NOISE_OFF_BY_ONE adds its noise plus 1 to the first
 * coordinate of a private session's vector but reports the noise it drew to
 * test_noise_hook (the dp_result invariant must catch it). */
enum {
    WARD_TEST_FAULT_NONE = 0,
    WARD_TEST_FAULT_CORRUPT_SHARE = 1,
    WARD_TEST_FAULT_SKIP_SHARE = 2,
    WARD_TEST_FAULT_HALT_AFTER_DEBIT = 3,
    WARD_TEST_FAULT_SKIP_DEBIT = 4,
    WARD_TEST_FAULT_NOISE_OFF_BY_ONE = 5,
    /* Garbled circuits (session_gc.c), as garbler: send the garbled tables
     * 32 bytes short; send one input label too few. */
    WARD_TEST_FAULT_GC_TRUNCATE = 6,
    WARD_TEST_FAULT_GC_LABELS = 7,
    /* Federated training (session_fl.c): label round 2's shares as round 4. */
    WARD_TEST_FAULT_FL_WRONG_ROUND = 8
};

/* Creates a core. rng is borrowed and must outlive the core (the driver
 * gives a system rng, the simulator a seeded one). Emits the first actions
 * (connects to lower-named peers, timers) into *out. */
int ward_core_new(ward_core **core, ward_actions *out, const ward_core_config *cfg,
                  ward_rng *rng, uint64_t now_ms);

/* Feeds one event. Returns 0 or a negative ward_err for API misuse; errors
 * caused by peers or clients never fail the call, they become actions (a
 * close, an error reply, a log line). */
int ward_core_handle(ward_core *core, ward_actions *out, const ward_core_event *ev,
                     uint64_t now_ms);

/* Begins an orderly stop: Close messages to every peer, aborts of open
 * sessions, then a WARD_ACT_STOP. */
int ward_core_shutdown(ward_core *core, ward_actions *out, uint64_t now_ms);

/* Frees the core and wipes its keys. */
void ward_core_free(ward_core *core);

/* Counters for `ward status` and the simulator's invariants. */
typedef struct {
    uint32_t peers_total;      /* roster members other than this node */
    uint32_t peers_connected;  /* channels past HELLO */
    uint32_t sessions_active;
    uint64_t sessions_done, sessions_failed;
    uint64_t frames_rejected;  /* bad frames, failed decryptions, bad messages */
} ward_core_stats;

void ward_core_get_stats(const ward_core *core, ward_core_stats *st);

/* Tests only (tests/fuzz/fuzz_peer.c): handles msg, one wire Message as
 * the peer's channel would carry it after decryption, as if `peer` had
 * sent it over its open channel, exactly as a real one would be (a bad
 * message closes the channel). Returns 0, or WARD_ENOTFOUND when that
 * peer has no open channel. */
int ward_core_test_deliver(ward_core *core, ward_actions *out, const char *peer,
                           const uint8_t *msg, size_t len, uint64_t now_ms);

#endif
