/* A deterministic, in-process city: N real node cores (node/core.h) on a
 * virtual clock, connected by simulated TCP connections.
 *
 * Everything random in a run (keys, nonces, shares, link behaviour, the
 * adversary's choices) comes from the seed, and events are ordered by
 * (virtual time, sequence), so a seed gives the same run, bit for bit:
 * ward_sim_digest() hashes every event delivered, every timer fired and
 * every action a core emitted, in order. Node databases live under a
 * directory the caller gives (one SQLite file per node), so a crashed node
 * restarts from its storage like a real one.
 *
 * The network model (docs/simulation.md has the details):
 *   - a connection is two ordered byte streams; each write is one segment
 *     that leaves after the link's serialisation delay (bandwidth), then
 *     takes latency + a uniform 0..jitter delay, never overtaking the
 *     segment before it;
 *   - loss drops a transmission attempt of a segment; the sender
 *     retransmits after an RTO that doubles (from max(200 ms, 2 RTT));
 *     after WARD_SIM_MAX_RETX retransmissions the sender's side resets
 *     (its core sees the connection close; the far side finds out when it
 *     next sends, as with a real half-open connection);
 *   - a partition drops every attempt between groups, so connections across
 *     it stall, then heal or reset; a connect across it times out;
 *   - crash: the core's memory is gone, its sockets reset, its database is
 *     closed; restart: a new core from the same database, key and clock;
 *   - stall: the node's kernel still accepts connections and bytes, but the
 *     process handles nothing (events wait) until it is resumed;
 *   - a per-node clock: an offset (skew) and a rate error (drift);
 *   - an adversarial direction of a link flips bits in, truncates, replays
 *     or reorders writes;
 *   - outsiders: extra cores whose keys are not in the roster, dialling the
 *     city.
 * Time in this interface is in milliseconds of virtual time; the simulator
 * keeps microseconds inside.
 */
#ifndef WARD_SIM_H
#define WARD_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "core.h"
#include "store.h"

typedef struct ward_sim ward_sim;

#define WARD_SIM_MAX_NODES 999
#define WARD_SIM_MAX_OUTSIDERS 8
#define WARD_SIM_MAX_RETX 5        /* retransmissions before a reset */
#define WARD_SIM_SYN_RETRIES 4     /* SYN retransmissions (1, 2, 4, 8 s) */
#define WARD_SIM_MAX_DRIFT_PPM 100000
/* Every node's clock starts here (Unix ms, 2023-11-14), plus its skew. */
#define WARD_SIM_EPOCH_MS 1700000000000ULL

typedef struct {
    uint32_t latency_ms;      /* one-way */
    uint32_t jitter_ms;       /* uniform extra delay 0..jitter per write */
    double loss;              /* probability a packet is lost, 0..1 */
    uint32_t bandwidth_kbps;  /* 0: unlimited */
} ward_sim_link;

typedef struct {
    int64_t skew_ms;          /* offset of the node's clock */
    int32_t drift_ppm;        /* rate error, |drift| <= WARD_SIM_MAX_DRIFT_PPM */
} ward_sim_clock;

typedef struct {
    size_t nodes;             /* named node1 .. nodeN */
    uint64_t seed;
    const char *dir;          /* existing directory for the node databases */
    uint32_t latency_ms;      /* one-way link latency (0: 1 ms) */
    uint32_t jitter_ms;       /* uniform extra delay 0..jitter (order kept per stream) */
    int allow_exact;          /* the permissive test policy */
    uint32_t session_timeout_ms; /* 0: the core's default */
    uint32_t max_peer_sessions;  /* 0: the core's default (WARD_CORE_MAX_PEER_SESSIONS) */
    /* `nodes` policies, one per roster node (an entry may be NULL: no
     * policy), or NULL: none for any (allow_exact decides). Borrowed. */
    const ward_policy *const *policies;
    double loss;              /* default packet loss, 0..1 */
    uint32_t bandwidth_kbps;  /* default bandwidth, 0: unlimited */
    const ward_sim_clock *clocks; /* `nodes` entries, or NULL: all exact */
    /* Tests of the tester: node test_fault_node runs with
     * ward_core_config.test_fault = test_fault (0: none). */
    uint32_t test_fault;
    size_t test_fault_node;
    /* Given to every node as ward_core_config.test_noise_hook (NULL: none):
     * the noise each node draws for a private session. */
    void (*noise_hook)(void *ctx, const uint8_t session_id[32], const int64_t *noise, size_t len);
    void *noise_ctx;
    /* Given to every node as ward_core_config.test_rx_hook (NULL: none). */
    void (*rx_hook)(void *ctx, const char *self, const char *peer, const uint8_t *msg, size_t len);
    void *rx_ctx;
} ward_sim_config;

typedef enum {
    WARD_SIM_TAMPER_NONE = 0,
    WARD_SIM_TAMPER_FLIP,      /* flip one bit of a write */
    WARD_SIM_TAMPER_TRUNCATE,  /* drop the tail of a write */
    WARD_SIM_TAMPER_REPLAY,    /* send an earlier write again after this one */
    WARD_SIM_TAMPER_REORDER,   /* hold a write and send it after the next one */
    WARD_SIM_TAMPER_MIX        /* one of the four at random, per write */
} ward_sim_tamper_mode;

typedef enum {
    WARD_SIM_OUTSIDER_IMPERSONATE = 1, /* claims node1's name, with its own key */
    WARD_SIM_OUTSIDER_UNKNOWN = 2      /* a name that is not in the roster */
} ward_sim_outsider_mode;

/* Counters over the whole run (faults seen by the network, for reports). */
typedef struct {
    uint64_t events, deliveries, bytes_delivered;
    uint64_t retransmits, resets, syn_timeouts, refused;
    uint64_t tampered_writes, tampered_closed;
    uint64_t outsider_dials, outsider_channels, bytes_to_outsiders;
    uint64_t crashes, restarts, stalls, partitions;
    uint64_t max_queue;
} ward_sim_stats;

int ward_sim_new(ward_sim **sim, const ward_sim_config *cfg);
void ward_sim_free(ward_sim *sim);

/* Runs events until virtual time `until_ms` or until the queue is empty. */
int ward_sim_run_until(ward_sim *sim, uint64_t until_ms);

/* Runs until every live roster node has all its live peers connected, or
 * until `deadline_ms`. Returns 0 or WARD_ESTATE (not connected by then). */
int ward_sim_run_connected(ward_sim *sim, uint64_t deadline_ms);

/* Sends a control request to node i (0-based) and runs until it answers or
 * `timeout_ms` of virtual time pass. *resp must be freed with
 * ward__control__response__free_unpacked. Returns 0, WARD_ESTATE (node
 * down) or WARD_ETRUNC (no answer in time). */
int ward_sim_control(ward_sim *sim, Ward__Control__Response **resp, size_t node,
                     Ward__Control__Request *req, uint64_t timeout_ms);

/* The same in two steps, to act (crash a node, say) while it runs. */
int ward_sim_control_send(ward_sim *sim, size_t node, Ward__Control__Request *req);
int ward_sim_control_wait(ward_sim *sim, Ward__Control__Response **resp, size_t node,
                          uint64_t timeout_ms);

/* Asynchronous control: the request is delivered now (held while the node
 * is stalled); the answer goes to the reply handler with *client. Returns 0,
 * WARD_ESTATE (node crashed) or WARD_ENOMEM. */
typedef void (*ward_sim_reply_fn)(void *ctx, size_t node, uint64_t client, const uint8_t *data,
                                  size_t len);
void ward_sim_set_reply_handler(ward_sim *sim, ward_sim_reply_fn fn, void *ctx);
int ward_sim_control_submit(ward_sim *sim, uint64_t *client, size_t node,
                            Ward__Control__Request *req);

/* Calls fn(sim, ctx, arg) at virtual time at_ms (now if earlier), in event
 * order: how a scenario schedules faults and sessions. */
typedef void (*ward_sim_fn)(ward_sim *sim, void *ctx, uint64_t arg);
int ward_sim_at(ward_sim *sim, uint64_t at_ms, ward_sim_fn fn, void *ctx, uint64_t arg);

/* Node i's store (for importing test data), or NULL when it is down. */
ward_store *ward_sim_store(ward_sim *sim, size_t node);

/* Crash: the node's memory is gone, its connections reset, its database
 * closed. Restart: a new core from the same storage, key and clock. */
int ward_sim_crash(ward_sim *sim, size_t node);
int ward_sim_restart(ward_sim *sim, size_t node);

/* Stall: the process stops handling anything (connections are still
 * accepted and bytes received by its kernel); resume hands it everything
 * that arrived, in order. */
int ward_sim_stall(ward_sim *sim, size_t node);
int ward_sim_resume(ward_sim *sim, size_t node);

/* Partition: group[i] for each roster node i; nodes in different groups
 * cannot exchange packets until ward_sim_heal. A new partition replaces the
 * previous one. */
int ward_sim_partition(ward_sim *sim, const uint32_t *group, size_t n);
int ward_sim_heal(ward_sim *sim);

/* Link parameters: a < 0 sets the default (links without their own
 * settings); otherwise the link between roster nodes a and b (both
 * directions). Writes already queued keep the delays they were given. */
int ward_sim_set_link(ward_sim *sim, long a, long b, const ward_sim_link *link);

/* Makes writes from node `from` to node `to` adversarial: each write is
 * tampered with probability `rate` (0..1). WARD_SIM_TAMPER_NONE stops it. */
int ward_sim_tamper(ward_sim *sim, size_t from, size_t to, ward_sim_tamper_mode mode, double rate);

/* Starts an outsider core (index >= nodes) that dials the city; stop it
 * with ward_sim_outsider_stop. */
int ward_sim_outsider_spawn(ward_sim *sim, size_t *idx, ward_sim_outsider_mode mode);
int ward_sim_outsider_stop(ward_sim *sim, size_t idx);

/* Reports every receiving side of a connection that got tampered bytes
 * more than bound_ms ago and is still open on a running (not stalled)
 * node, once each. Returns how many it reported. */
typedef void (*ward_sim_tamper_fn)(void *ctx, size_t node, const char *peer, uint64_t since_ms);
size_t ward_sim_tamper_check(ward_sim *sim, uint64_t bound_ms, ward_sim_tamper_fn fn, void *ctx);

uint64_t ward_sim_now(const ward_sim *sim);
size_t ward_sim_nodes(const ward_sim *sim);
size_t ward_sim_connected_peers(const ward_sim *sim, size_t node);
/* 1 when the node has a core (not crashed), 0 otherwise. */
int ward_sim_node_up(const ward_sim *sim, size_t node);
int ward_sim_node_stalled(const ward_sim *sim, size_t node);
/* The core's counters; WARD_ESTATE when the node is down. */
int ward_sim_node_stats(const ward_sim *sim, size_t node, ward_core_stats *st);
/* The node's clock reading now (Unix ms). */
uint64_t ward_sim_local_ms(const ward_sim *sim, size_t node);
const char *ward_sim_node_name(const ward_sim *sim, size_t node);
void ward_sim_get_stats(const ward_sim *sim, ward_sim_stats *st);

/* Tests only: node `node` handles msg, a decrypted wire Message, as if
 * roster node `peer` had sent it over their open channel
 * (ward_core_test_deliver), and its actions run. Returns 0, WARD_ESTATE
 * (node down) or WARD_ENOTFOUND (no open channel). */
int ward_sim_test_deliver(ward_sim *sim, size_t node, const char *peer, const uint8_t *msg,
                          size_t len);

/* SHA-256 over every event delivered and action taken so far, in order. */
void ward_sim_digest(const ward_sim *sim, uint8_t out[32]);

#endif
