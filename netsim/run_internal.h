/* The runner's state, shared by run.c (scheduling the scenario, sessions,
 * reports) and run_inv.c (the invariants). Not a public interface. */
#ifndef WARD_RUN_INTERNAL_H
#define WARD_RUN_INTERNAL_H

#include "run.h"

typedef struct {
    uint32_t a, b;
    ward_sim_link link;
} run_link;

/* The noise the parties of one private session drew: the element-wise sum
 * of every party's vector (ward_core_config.test_noise_hook), in the
 * session's encoded units and layout. */
typedef struct {
    char id[65];                    /* the session id, hex */
    size_t len;
    int64_t *sum;
    size_t parties;                 /* how many vectors were added */
    int mismatch;                   /* two parties gave vectors of different lengths */
} run_noise;

/* One `train` directive (federated training, node/session_fl.c). */
typedef struct {
    const ward_sc_item *item;
    uint64_t client, submit_ms, reply_ms;
    ward_run_status status;
    char session_id[65], model_hash[65], error[256];
    uint8_t *finished;              /* per node: listed as finishing by the result */
    uint8_t *lost;                  /* per node: crashed or stalled while the training ran */
    size_t n_parties, n_finished;
    uint32_t threshold;
    int disturbed;                  /* a partition, tamper or outsider overlapped it */
} run_train;

typedef struct {
    const ward_run_options *opt;
    const ward_scenario *sc;
    ward_run_report *rep;
    ward_sim *sim;
    ward_city city;
    size_t n;                       /* roster nodes */
    uint32_t timeout_ms;            /* the cores' session timeout */
    uint64_t session_bound_ms;      /* session_ends: the longest a proposer may take */
    /* faults */
    uint8_t *item_active;           /* per scenario item */
    size_t *outsider_of;            /* per item: the outsider's sim index */
    uint32_t *crash_count, *stall_count;
    uint64_t *stall_since;          /* ms + 1 while stalled */
    size_t active;                  /* disruptive items in progress */
    uint64_t epoch;                 /* bumps whenever a disruption begins */
    uint64_t last_change_ms;
    ward_sim_link cur_link;
    run_link *links;
    size_t n_links;
    int loss_high;                  /* some link too lossy to promise reconnection */
    int net_calm;                   /* every link lossless, fast enough */
    uint64_t heal_ms, end_ms;
    int healed;
    /* reconnect watch */
    int watch;
    uint64_t watch_start, watch_deadline;
    uint8_t *watch_ok;
    /* roster_only bookkeeping */
    uint64_t seen_outsider_channels, seen_outsider_bytes;
    int32_t max_drift;
    /* dp_result: the noise drawn per private session */
    run_noise *noise;
    size_t n_noise;
    int noise_lost;                 /* a draw could not be recorded (memory) */
    /* train directives */
    run_train *trains;
    size_t n_trains;
} run_ctx;

/* run.c */
const run_noise *run_noise_of(const run_ctx *r, const char *session_id);

/* run_inv.c */
void inv_violation(run_ctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void inv_watch_begin(run_ctx *r);
void inv_periodic(run_ctx *r);
void inv_session_answered(run_ctx *r, ward_run_session *s);
void inv_final(run_ctx *r);
void inv_trains_final(run_ctx *r);
int inv_fully_connected(const run_ctx *r, size_t node);

#endif
