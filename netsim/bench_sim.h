/* `ward bench sim`: a simulated city, timed. Registered from node/main.c
 * with ward_bench_register (node/ cannot depend on netsim/). */
#ifndef WARD_BENCH_SIM_H
#define WARD_BENCH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "run.h"

/* 100 nodes and 50 exact aggregate sessions over real data (30 and 15
 * with --quick): wall_s_n100_s50, virtual_per_wall, events_per_s,
 * peak_rss_mib, sessions_ok. */
int ward_bench_sim(ward_bench_report *r);

/* One city run with `sessions` sessions spread from 3 s, every node a
 * party and the proposer the output party; fills the wall time, the
 * virtual time and the report. Used by the benchmark and the table in
 * docs/simulation.md. */
int ward_bench_sim_city(ward_run_report *rep, size_t nodes, size_t sessions, uint64_t seed);

#endif
