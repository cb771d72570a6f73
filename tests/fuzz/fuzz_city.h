/* A small simulated city for the harnesses that fuzz a running node
 * (fuzz_peer.c, fuzz_ctl.c): three nodes, node1..node3, each holding a
 * table `t` (ts, k in 0..2, v in [0, 100], w a decimal feature in [0, 10])
 * of 40 rows, connected and ready. Each call of fuzz_city_new starts from
 * empty databases in one temporary directory per process. */
#ifndef WARD_FUZZ_CITY_H
#define WARD_FUZZ_CITY_H

#include <stdint.h>

#include "control.pb-c.h"
#include "sim.h"

#define FUZZ_CITY_NODES 3

/* A connected city; aborts on any failure (the harness cannot go on).
 * rx, when not NULL, sees every message a channel delivers
 * (ward_sim_config.rx_hook). */
ward_sim *fuzz_city_new(uint64_t seed,
                        void (*rx)(void *ctx, const char *self, const char *peer,
                                   const uint8_t *msg, size_t len),
                        void *rx_ctx);

/* Runs the city until node `node` holds no session, for at most limit_ms
 * of virtual time. Returns 1 when it holds none, 0 otherwise. */
int fuzz_city_drain(ward_sim *sim, size_t node, uint64_t limit_ms);

/* Frees the city and empties its directory. */
void fuzz_city_free(ward_sim *sim);

/* A control request from the words a command line gives after
 * `ward --node X`: OP ARGS... with OP an aggregate's, a decision's or
 * train (the parsers of node/ctl_cmd.h). Aborts on a usage error (the
 * seeds are fixed). Release it with fuzz_request_clear. */
typedef struct {
    Ward__Control__Request req;
    void *parsed;   /* the parser's request, which req points into */
    int kind;       /* which parser */
    char *argv[32]; /* the words, which the parser's request may point into */
} fuzz_request;

void fuzz_request_make(fuzz_request *r, const char *op, const char *const *args);
void fuzz_request_clear(fuzz_request *r);

#endif
