/* A local city of real node processes on 127.0.0.1, for `ward sim up`,
 * `ward sim down` and `ward bench agg` (implemented in cmd_sim.c): one
 * node directory per node under one directory, a shared roster, the
 * permissive test policy, detached `ward node` processes.
 *
 *     static ward_sim_city c;
 *     ward_sim_city_init(&c, "/tmp/city", 5, NULL);      // node1..node5
 *     if (ward_sim_city_up(&c, 0, 0, NULL) == 0) {
 *         ... talk to the nodes (ward_sim_city_node_dir) ...
 *         ward_sim_city_stop(&c);
 *     }
 */
#ifndef WARD_SIM_CITY_H
#define WARD_SIM_CITY_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "roster.h"

#define WARD_SIM_MAX_NODES 256
#define WARD_SIM_DEFAULT_BASE_PORT 17400

typedef struct {
    char dir[PATH_MAX];                                   /* absolute */
    unsigned n;                                           /* nodes */
    unsigned base_port;                                   /* node k listens on base_port + k */
    char names[WARD_SIM_MAX_NODES + 1][WARD_NAME_MAX + 1];/* 1..n */
    pid_t pids[WARD_SIM_MAX_NODES + 1];                   /* 1..n; 0: not started by us */
    double up_s;                                          /* start until all connected */
} ward_sim_city;

/* Prepares c for n nodes named node1..nodeN (names NULL) or names[0..n-1]
 * (valid roster names) in dir, which is created if missing. Returns 0, or
 * an exit status after printing a `ward: error: ...` line. */
int ward_sim_city_init(ward_sim_city *c, const char *dir, unsigned n, const char *const *names);

/* Creates the city in c->dir, or reuses the one already there (same
 * names; its keys, roster and databases are kept), starts every node
 * detached and waits until each is connected to all its peers (at most
 * 30 s plus 0.5 s per node). base_port 0 looks for n free ports from
 * probe_from (0: WARD_SIM_DEFAULT_BASE_PORT) in steps of 100. *fresh (may
 * be NULL) is set to 1 when the city was created now. Returns 0, or an
 * exit status (1; 2 for a usage error) after printing one
 * `ward: error: ...` line, having stopped whatever it started. */
int ward_sim_city_up(ward_sim_city *c, unsigned base_port, unsigned probe_from, int *fresh);

/* Stops the nodes c started: SIGTERM, up to 5 s for them to exit, then
 * SIGKILL; removes their pid files. Returns how many had to be killed. */
unsigned ward_sim_city_stop(ward_sim_city *c);

/* The directory of node k (1..n). */
void ward_sim_city_node_dir(char *out, size_t cap, const ward_sim_city *c, unsigned k);

#endif
