#include "bench_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "error.h"
#include "run.h"
#include "swarm.h"

int ward_bench_sim_city(ward_run_report *rep, size_t nodes, size_t sessions, uint64_t seed) {
    WARD_ARG_CHECK(rep != NULL && nodes >= 2 && nodes <= WARD_SIM_MAX_NODES);
    ward_run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.nodes = nodes;
    opt.seed = seed;
    opt.link.latency_ms = 2;
    opt.link.jitter_ms = 1;
    ward_scenario sc;
    ward_scenario_init(&sc, nodes);
    ward_rng master, rng;
    ward_rng_init_u64(&master, seed);
    ward_rng_fork(&rng, &master, 103);
    ward_rng_clear(&master);
    /* Sessions start once the city has connected (a few seconds for the
     * handshakes of a few hundred nodes), 200 ms apart. */
    int rc = ward_swarm_sessions(&sc, &rng, sessions, 3000, 3000 + 200 * sessions, 1);
    ward_rng_clear(&rng);
    for (size_t i = 0; i < sc.n; i++) {
        free(sc.items[i].parties);
        sc.items[i].parties = NULL; /* every node takes part */
    }
    char why[256];
    if (rc == WARD_OK) rc = ward_run(rep, why, sizeof why, &opt, &sc);
    if (rc != WARD_OK) fprintf(stderr, "ward: bench sim: %s\n", why);
    ward_scenario_free(&sc);
    return rc;
}

int ward_bench_sim(ward_bench_report *r) {
    WARD_ARG_CHECK(r != NULL);
    size_t nodes = r->quick ? 30 : 100, sessions = r->quick ? 15 : 50;
    /* Other city sizes, for the table in docs/simulation.md (one process
     * per size, so that peak_rss_mib is that size's). */
    const char *en = getenv("WARD_BENCH_SIM_NODES"), *es = getenv("WARD_BENCH_SIM_SESSIONS");
    if (en && atoi(en) >= 2 && atoi(en) <= WARD_SIM_MAX_NODES) nodes = (size_t)atoi(en);
    if (es && atoi(es) >= 1 && atoi(es) <= 10000) sessions = (size_t)atoi(es);
    ward_run_report rep;
    int rc = ward_bench_sim_city(&rep, nodes, sessions, 1);
    if (rc != WARD_OK) {
        ward_run_report_free(&rep);
        return rc;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char name[64];
    snprintf(name, sizeof name, "wall_s_n%zu_s%zu", nodes, sessions);
    int target = nodes == 100 && sessions == 50;
    ward_bench_add(r, name, rep.wall_s, "s", target ? "target: under 60 s" : NULL, target ? 60 : 0);
    ward_bench_add(r, "virtual_per_wall", (double)rep.virtual_ms / 1000.0 / rep.wall_s, "x", NULL, 0);
    ward_bench_add(r, "virtual_s", (double)rep.virtual_ms / 1000.0, "s", NULL, 0);
    ward_bench_add(r, "events_per_s", (double)rep.net.events / rep.wall_s, "ev/s", NULL, 0);
    ward_bench_add(r, "sessions_ok", (double)rep.ok, "sessions", NULL, 0);
    ward_bench_add(r, "violations", (double)rep.n_violations, "", NULL, 0);
    ward_bench_add(r, "rss_end_mib", rep.rss_end_mib, "MiB", NULL, 0);
    /* The process peak includes the teardown, when the cores wipe every
     * connection's buffers (touching pages the run never used). */
    ward_bench_add(r, "peak_rss_mib", (double)ru.ru_maxrss / 1024.0, "MiB", NULL, 0);
    for (size_t i = 0; i < rep.n_violations && i < 5; i++) fprintf(stderr, "violation: %s\n", rep.violations[i]);
    ward_run_report_free(&rep);
    return WARD_OK;
}
