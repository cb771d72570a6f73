/* The simulator's internals, shared by sim.c (nodes, events, control) and
 * sim_net.c (connections and the link model). Not a public interface. */
#ifndef WARD_SIM_INTERNAL_H
#define WARD_SIM_INTERNAL_H

#include <sodium.h>

#include "core.h"
#include "eventq.h"
#include "rng.h"
#include "roster.h"
#include "sim.h"
#include "u64map.h"

#define SIM_BASE_PORT 10000
#define SIM_MAX_EVENTS 8000000
#define SIM_MSS 1460                 /* bytes per packet, for loss per write */
#define SIM_RTO_MIN_US 200000ULL
#define SIM_SYN_RTO_US 1000000ULL
#define SIM_MAX_HELD 200000          /* events waiting for a stalled node; beyond, dropped
                                        as by a full receive buffer */

enum { EV_SYN = 1, EV_SEG, EV_NOTIFY, EV_TIMER, EV_CTL, EV_CALL };
enum { SEG_DATA = 1, SEG_FIN, SEG_RST };
enum { CONN_FREE = 0, CONN_SYN, CONN_EST };

/* An event in the queue. */
typedef struct {
    int kind;
    uint32_t node;
    uint32_t conn, cgen;      /* EV_SYN, EV_SEG, EV_NOTIFY */
    uint8_t side;             /* EV_SEG: the sending side; EV_NOTIFY: the side told */
    int what;                 /* EV_NOTIFY: WARD_EV_CONN_OPEN or WARD_EV_CONN_CLOSED */
    uint64_t id;              /* EV_TIMER: timer id; EV_CTL: client */
    uint64_t tgen;            /* EV_TIMER */
    uint64_t incarnation;     /* EV_TIMER, EV_CTL, EV_NOTIFY: the node's life it belongs to */
    uint8_t *data;
    size_t len;
    ward_sim_fn fn;           /* EV_CALL */
    void *ctx;
    uint64_t arg;
} sim_msg;

/* One thing for a node's core: a connection event, a timer, a control
 * request. Kept in order while the node is stalled. */
typedef struct {
    int what;                 /* a ward_event_kind */
    uint32_t conn, cgen;
    uint8_t side, tampered;
    uint64_t id;              /* connection id, timer id or client */
    uint64_t tgen;
    uint8_t *data;
    size_t len;
} sim_app_ev;

typedef struct {
    uint8_t *data;
    size_t len;
    uint64_t ready;           /* earliest arrival (us) */
    uint8_t kind, tampered;
} sim_seg;

/* One direction of a connection: segments in flight, in order. */
typedef struct {
    sim_seg *q;
    size_t head, len, cap;    /* a ring */
    uint64_t busy_until;      /* the sender's link is serialising until then */
    uint64_t last_ready;      /* keeps arrivals in order */
    uint32_t attempts;        /* lost attempts of the head segment */
    int armed;                /* an EV_SEG is queued */
    sim_seg held;             /* the adversary's reordered write */
    int has_held;
    uint8_t *last;            /* the adversary's copy of an earlier write */
    size_t last_len;
} sim_pipe;

typedef struct {
    int state;
    uint32_t gen;
    uint32_t node[2];         /* node[0] dialled node[1] */
    uint64_t id[2];           /* each side's connection id */
    uint8_t open[2];          /* the side's socket exists (its core knows it) */
    uint32_t syn_attempts;
    uint64_t tamper_at[2];    /* us + 1 when the side received tampered bytes; 0: none */
    uint8_t tamper_reported[2];
    sim_pipe pipe[2];         /* pipe[s]: from node[s] to node[1-s] */
} sim_conn;

typedef struct {
    ward_core *core;          /* NULL while crashed */
    ward_store store;
    int store_open;
    ward_rng rng;
    uint8_t priv[32];
    char name[WARD_NAME_MAX + 1];
    const ward_roster *roster;/* the city's, or an outsider's own */
    ward_roster own_roster;
    int outsider;             /* 0, or its ward_sim_outsider_mode */
    uint64_t next_inbound;    /* even ids */
    uint64_t incarnation;     /* bumps on crash: stale events are dropped */
    int stalled;
    sim_app_ev *held;
    size_t n_held, cap_held;
    int64_t skew_us;
    int32_t drift_ppm;
    Ward__Control__Response *reply;
    uint64_t waiting_client;
} sim_node;

typedef struct {
    uint32_t a, b;            /* a < b */
    ward_sim_link link;
    uint64_t loss_threshold;
} sim_link_override;

typedef struct {
    uint32_t from, to;
    int mode;
    uint64_t threshold;       /* rate scaled to 2^64 */
} sim_tamper;

struct ward_sim {
    ward_sim_config cfg;
    char dir[512];
    ward_roster roster;
    char *roster_text;
    size_t roster_len;
    ward_rng rng;             /* link behaviour and the adversary */
    ward_rng spawn_rng;       /* outsiders' keys */
    sim_node *nodes;
    size_t n_nodes;           /* roster nodes, then outsiders */
    ward_eventq q;
    uint64_t now;             /* us */
    crypto_hash_sha256_state trace;
    ward_actions actions;
    uint64_t next_client;
    ward_sim_reply_fn reply_fn;
    void *reply_ctx;
    /* network */
    sim_conn *conns;
    size_t n_conns, cap_conns;
    uint32_t *free_conns;
    size_t n_free;
    ward_u64map conn_map;     /* (node, conn id) -> conn index */
    ward_u64map timer_map;    /* (node, timer id) -> generation */
    ward_sim_link link;       /* default */
    uint64_t loss_threshold;
    sim_link_override *links;
    size_t n_links;
    uint32_t *group;
    int partitioned;
    sim_tamper *tampers;
    size_t n_tampers;
    int log;                  /* WARD_SIM_LOG is set: print the cores' log lines */
    ward_sim_stats stats;
};

/* sim.c */
void sim_trace(ward_sim *sim, const char *what, size_t node, uint64_t a, const uint8_t *data,
               size_t len);
int sim_schedule(ward_sim *sim, uint64_t at_us, sim_msg *m);
/* Hands an event to a node's core, or keeps it while the node is stalled. */
void sim_app_deliver(ward_sim *sim, uint32_t node, const sim_app_ev *ev);
uint64_t sim_draw_below(ward_sim *sim, uint64_t bound);
uint64_t sim_threshold(double p);

/* sim_net.c */
void net_init(ward_sim *sim);
void net_free(ward_sim *sim);
void net_connect(ward_sim *sim, uint32_t node, uint64_t id, uint16_t port);
void net_send(ward_sim *sim, uint32_t node, uint64_t id, const uint8_t *data, size_t len);
void net_close(ward_sim *sim, uint32_t node, uint64_t id);
void net_on_event(ward_sim *sim, const sim_msg *m);
/* The core was told the connection closed: forget the side. */
void net_side_closed(ward_sim *sim, uint32_t conn, int side);
void net_crash(ward_sim *sim, uint32_t node);
sim_conn *net_conn(ward_sim *sim, uint32_t idx, uint32_t gen);
void net_mark_tampered(ward_sim *sim, uint32_t conn, int side);
const ward_sim_link *net_link(const ward_sim *sim, uint32_t a, uint32_t b, uint64_t *loss_thr);

#endif
