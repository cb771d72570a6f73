/* One simulated run: a city of N nodes with real data, a scenario of
 * faults and sessions, and the invariants checked while it runs.
 *
 * The run: cores start at virtual time 0; every scenario item happens at its
 * time; at the scenario's end (its `end`, or just after its last item) every
 * fault still active is healed (partitions healed, stalled nodes resumed,
 * crashed nodes restarted, adversaries and outsiders stopped); the city
 * then drains for WARD_RUN_DRAIN_MS and the final invariants are checked.
 *
 * Invariants (run_inv.c; each violation is one line "NAME: details"):
 *   session_ends     every session request is answered within its bound
 *                    (2 session timeouts + 2 ticks + slack, plus any time its
 *                    proposer was stalled), unless the proposer crashed;
 *   exact_result     every exact result equals the plaintext answer over
 *                    the parties' rows (ward_city_answer_query);
 *   dp_result        a private session's result is private, and each value
 *                    is the plaintext answer plus the noise the parties
 *                    drew (ward_core_config.test_noise_hook), exactly;
 *                    without a record of the draws, within
 *                    WARD_RUN_DP_SIGMAS noise sd of it (a mean: of the
 *                    interval its noisy sum and count allow);
 *   calm_session     a session started in a calm network (no fault for
 *                    WARD_RUN_SETTLE_MS, no loss, every node connected to
 *                    every other) and not disturbed before its answer
 *                    succeeds;
 *   sessions_drain   after the drain no live node has a session open;
 *   reconnect        within WARD_RUN_RECONNECT_MS of the network becoming
 *                    whole again every node is connected to every other;
 *   roster_only      an outsider never gets a channel and no roster node
 *                    sends it a byte;
 *   tamper_rejected  a connection that delivered tampered bytes is closed
 *                    by its receiver within WARD_RUN_TAMPER_MS;
 *   privacy_budget   after the drain each node's ledger, read from its
 *                    store, is sound, within every class's total, charges
 *                    no session twice, and charges exactly once every
 *                    private session whose result names the node a party.
 */
#ifndef WARD_RUN_H
#define WARD_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "city.h"
#include "scenario.h"
#include "sim.h"

#define WARD_RUN_DRAIN_MS 45000
#define WARD_RUN_RECONNECT_MS 45000
#define WARD_RUN_SETTLE_MS 20000
#define WARD_RUN_TAMPER_MS 15000
#define WARD_RUN_CHECK_MS 500
/* dp_result, when no draw was recorded: how many noise standard deviations
 * a private result may be from the plaintext answer. */
#define WARD_RUN_DP_SIGMAS 12
/* Links lossier than this do not promise reconnection. */
#define WARD_RUN_RECONNECT_MAX_LOSS 0.2

typedef enum {
    WARD_RUN_BUG_NONE = 0,
    WARD_RUN_BUG_CORRUPT_SHARE = 1,  /* = WARD_TEST_FAULT_CORRUPT_SHARE */
    WARD_RUN_BUG_SKIP_SHARE = 2,     /* = WARD_TEST_FAULT_SKIP_SHARE */
    WARD_RUN_BUG_SKIP_DEBIT = 4,     /* = WARD_TEST_FAULT_SKIP_DEBIT */
    WARD_RUN_BUG_NOISE_OFF_BY_ONE = 5, /* = WARD_TEST_FAULT_NOISE_OFF_BY_ONE */
    WARD_RUN_BUG_FL_WRONG_ROUND = 8  /* = WARD_TEST_FAULT_FL_WRONG_ROUND */
} ward_run_bug;

typedef struct {
    size_t nodes;
    uint64_t seed;
    ward_sim_link link;            /* every link, before the scenario's `link` lines */
    uint32_t session_timeout_ms;   /* 0: the core's default */
    const char *tmpdir;            /* NULL: $WARD_SIM_TMPDIR, /dev/shm, $TMPDIR, /tmp */
    ward_run_bug bug;              /* a deliberately broken node (tests of the tester) */
    size_t bug_node;
    int keep_dir;                  /* leave the node databases behind */
} ward_run_options;

typedef enum {
    WARD_RUN_NOT_RUN = 0,          /* the proposer was down */
    WARD_RUN_PENDING,
    WARD_RUN_OK,
    WARD_RUN_ERROR,
    WARD_RUN_LOST                  /* the proposer crashed before answering */
} ward_run_status;

typedef struct {
    const ward_sc_item *item;
    ward_run_status status;
    uint64_t client;
    uint64_t submit_ms, reply_ms, stalled_ms;
    int calm, reported;
    uint64_t epoch;
    char error[240];
    char session[17];
    char session_id[129];          /* the whole id, as the ledgers record it */
    int dp;                        /* a differentially private result */
    double noise_sd, count_noise_sd; /* the result's bounds on the noise's sd */
    uint8_t *is_party;             /* per node: named in the result's parties */
    size_t n_parties;
    int has_value;
    double value;
    size_t n_groups;
    char label[WARD_CITY_MAX_GROUPS][12];
    double gvalue[WARD_CITY_MAX_GROUPS];
    int checked;
    ward_city_answer expected;
} ward_run_session;

typedef struct {
    uint8_t digest[32];
    uint64_t virtual_ms;
    double wall_s;
    double rss_end_mib;            /* resident memory at the end of the run, before teardown */
    size_t rows;                   /* rows of real data across the city */
    ward_run_session *sessions;
    size_t n_sessions;
    char **violations;
    size_t n_violations;
    size_t faults;                 /* fault items in the scenario */
    size_t ok, failed, lost, not_run, calm;
    size_t dp, dp_ok;              /* sessions asking for a private release; those answered */
    size_t trains, trains_ok;      /* train directives; those that finished with a model */
    ward_sim_stats net;
} ward_run_report;

/* Runs the scenario. Returns 0 when the run could be carried out (its
 * invariants may still have failed: see rep->n_violations), or an error
 * that stopped it (a temporary directory, an import, memory); *why says
 * what. rep's sessions point into sc's items: keep sc until rep is freed.
 * Free rep with ward_run_report_free in every case. */
int ward_run(ward_run_report *rep, char *why, size_t why_cap, const ward_run_options *opt,
             const ward_scenario *sc);
void ward_run_report_free(ward_run_report *rep);

/* The `ward sim run --json` object: {"trace_digest","seed","results",
 * "violations", ...}. */
int ward_run_write_json(const ward_run_report *rep, const ward_run_options *opt, FILE *out);

/* A short human-readable report. */
int ward_run_write_text(const ward_run_report *rep, const ward_run_options *opt, FILE *out);

#endif
