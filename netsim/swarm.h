/* Swarm testing: every seed picks its own city and fault mix (the size of
 * the city, link quality, clocks, which faults and when, which sessions),
 * so that many seeds cover many combinations no one would write by hand.
 * `ward sim run --swarm --seed S` replays one.
 */
#ifndef WARD_SWARM_H
#define WARD_SWARM_H

#include <stdint.h>

#include "run.h"
#include "scenario.h"

/* Fills *opt (nodes, seed, links) and an initialised *sc from the seed.
 * The caller frees sc with ward_scenario_free. */
int ward_swarm_plan(ward_run_options *opt, ward_scenario *sc, uint64_t seed);

/* Appends `count` random sessions between from_ms and to_ms (the default
 * workload of `ward sim run`), drawn from rng. */
int ward_swarm_sessions(ward_scenario *sc, ward_rng *rng, size_t count, uint64_t from_ms, uint64_t to_ms,
                        int output_proposer_only);

#endif
