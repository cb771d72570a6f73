/* A deterministic, in-process city: N real node cores (node/core.h) on a
 * virtual clock, connected by simulated TCP streams.
 *
 * Everything random in a run (keys, nonces, shares, link jitter) comes from
 * the seed, and events are ordered by (virtual time, sequence), so a seed
 * gives the same run, bit for bit: ward_sim_digest() hashes every event
 * delivered, in order. Node databases live under a directory the caller
 * gives (one SQLite file per node), so a crashed node restarts from its
 * storage like a real one.
 */
#ifndef WARD_SIM_H
#define WARD_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "store.h"

typedef struct ward_sim ward_sim;

typedef struct {
    size_t nodes;             /* named node1 .. nodeN */
    uint64_t seed;
    const char *dir;          /* existing directory for the node databases */
    uint32_t latency_ms;      /* one-way link latency (default 1) */
    uint32_t jitter_ms;       /* uniform extra delay 0..jitter (order kept per stream) */
    int allow_exact;          /* the permissive test policy */
    uint32_t session_timeout_ms; /* 0: the core's default */
} ward_sim_config;

int ward_sim_new(ward_sim **sim, const ward_sim_config *cfg);
void ward_sim_free(ward_sim *sim);

/* Runs events until virtual time `until_ms` or until the queue is empty. */
int ward_sim_run_until(ward_sim *sim, uint64_t until_ms);

/* Runs until every live node has all its live peers connected, or until
 * `deadline_ms`. Returns 0 or WARD_ESTATE (not connected by then). */
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

/* Node i's store (for importing test data), or NULL when it is down. */
ward_store *ward_sim_store(ward_sim *sim, size_t node);

/* Crash: the node's memory is gone, its connections reset. Restart: a new
 * core from the same storage and key. */
int ward_sim_crash(ward_sim *sim, size_t node);
int ward_sim_restart(ward_sim *sim, size_t node);

uint64_t ward_sim_now(const ward_sim *sim);
size_t ward_sim_connected_peers(const ward_sim *sim, size_t node);

/* SHA-256 over every event delivered so far, in order. */
void ward_sim_digest(const ward_sim *sim, uint8_t out[32]);

#endif
