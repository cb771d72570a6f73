#include "swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define SWARM_RNG 101

static uint64_t pick(ward_rng *rng, uint64_t bound) { return bound <= 1 ? 0 : ward_rng_uniform(rng, bound); }

/* A filter per table that keeps roughly half of its rows. */
static const struct {
    const char *table, *where;
} filters[] = {
    {"parking", "Occupancy > 300"}, {"trips", "duration > 600"},
    {"taxi", "fare_amount >= 9"},   {"air", "nox > 200"},
};

int ward_swarm_sessions(ward_scenario *sc, ward_rng *rng, size_t count, uint64_t from_ms, uint64_t to_ms,
                        int output_proposer_only) {
    WARD_ARG_CHECK(sc != NULL && rng != NULL && to_ms >= from_ms);
    size_t n = sc->nodes;
    uint8_t *parties = calloc(n, 1), *output = calloc(n, 1);
    if (!parties || !output) {
        free(parties);
        free(output);
        return WARD_ENOMEM;
    }
    int rc = WARD_OK;
    for (size_t k = 0; k < count && rc == WARD_OK; k++) {
        ward_sc_item it;
        memset(&it, 0, sizeof it);
        it.kind = WARD_SC_SESSION;
        it.a = it.b = -1;
        it.at_ms = from_ms + pick(rng, to_ms - from_ms + 1);
        it.node = (uint32_t)pick(rng, n);
        const ward_city_table_def *d = &ward_city_defs[pick(rng, WARD_CITY_TABLES)];
        ward_city_query *q = &it.query;
        q->op = (ward_city_op)(WARD_CITY_SUM + (int)pick(rng, 4));
        snprintf(q->table, sizeof q->table, "%s", d->table);
        if (q->op != WARD_CITY_COUNT || pick(rng, 2))
            snprintf(q->column, sizeof q->column, "%s", d->values[pick(rng, d->n_values)].name);
        uint64_t g = pick(rng, 3);
        if (q->op == WARD_CITY_HISTOGRAM && g == 0) g = 1 + pick(rng, 2);
        if (g) snprintf(q->group_by, sizeof q->group_by, "%s(%s)", g == 1 ? "hour" : "weekday", d->ts);
        /* One exact session in six groups by date: no declared domain,
         * so the parties exchange their keys (the open groups of
         * session_agg.c, whose round the faults then hit too). */
        int by_date = pick(rng, 6) == 0;
        uint64_t w = pick(rng, 10);
        if (w < 2) {
            for (size_t f = 0; f < sizeof filters / sizeof filters[0]; f++)
                if (strcmp(filters[f].table, d->table) == 0) snprintf(q->where, sizeof q->where, "%s", filters[f].where);
        } else if (w == 2) {
            snprintf(q->where, sizeof q->where, "hour(%s) >= %u", d->ts, (unsigned)pick(rng, 24));
        }
        if (pick(rng, 10) < 3 && n > 2) {
            memset(parties, 0, n);
            for (size_t i = 0; i < n; i++) parties[i] = pick(rng, 10) < 6;
            parties[it.node] = 1;
            it.parties = parties;
        }
        uint64_t o = output_proposer_only ? 1 : pick(rng, 20);
        if (o < 5) {
            memset(output, 0, n);
            output[it.node] = 1;
            it.output = output;
        } else if (o < 8) {
            memset(output, 0, n);
            size_t any = 0;
            for (size_t i = 0; i < n; i++) any += output[i] = (!it.parties || it.parties[i]) && pick(rng, 2);
            if (!any) output[it.node] = 1;
            it.output = output;
        }
        /* Two in five are differentially private releases, at an epsilon
         * small enough for many of them to fit in a class's budget. */
        if (pick(rng, 5) < 2) it.epsilon = 0.05 * (double)(1 + pick(rng, 4));
        if (by_date && it.epsilon == 0)
            snprintf(q->group_by, sizeof q->group_by, "date(%s)", d->ts);
        char why[160];
        if (ward_city_query_check(q, why, sizeof why) != WARD_OK) continue;
        rc = ward_scenario_add(sc, &it);
    }
    free(parties);
    free(output);
    return rc;
}

static int add_fault(ward_scenario *sc, ward_rng *rng, size_t n, int kind) {
    ward_sc_item it;
    memset(&it, 0, sizeof it);
    it.a = it.b = -1;
    it.at_ms = 2000 + pick(rng, 20000);
    it.until_ms = it.at_ms + 1000 + pick(rng, 15000);
    it.has_until = 1;
    int rc = WARD_OK;
    switch (kind) {
    case 0: { /* partition into two or three groups */
        uint32_t *groups = calloc(n, sizeof *groups);
        if (!groups) return WARD_ENOMEM;
        uint32_t ng = 2 + (uint32_t)pick(rng, 2);
        for (size_t i = 0; i < n; i++) groups[i] = (uint32_t)pick(rng, ng);
        groups[pick(rng, n)] = ng; /* never all in one group */
        it.kind = WARD_SC_PARTITION;
        it.groups = groups;
        rc = ward_scenario_add(sc, &it);
        free(groups);
        return rc;
    }
    case 1:
        it.kind = WARD_SC_CRASH;
        it.node = (uint32_t)pick(rng, n);
        it.has_until = pick(rng, 10) < 8;
        break;
    case 2:
        it.kind = WARD_SC_STALL;
        it.node = (uint32_t)pick(rng, n);
        break;
    case 3:
        it.kind = WARD_SC_TAMPER;
        it.node = (uint32_t)pick(rng, n);
        it.to = (uint32_t)((it.node + 1 + pick(rng, n - 1)) % n);
        it.mode = WARD_SIM_TAMPER_FLIP + (int)pick(rng, 5);
        it.rate = (double)(1 + pick(rng, 10)) / 10.0;
        break;
    case 4:
        it.kind = WARD_SC_OUTSIDER;
        it.mode = pick(rng, 2) ? WARD_SIM_OUTSIDER_IMPERSONATE : WARD_SIM_OUTSIDER_UNKNOWN;
        break;
    case 5: /* one bad link */
        it.kind = WARD_SC_LINK;
        it.has_until = 0;
        it.a = (long)pick(rng, n);
        it.b = (long)((size_t)(it.a + 1 + (long)pick(rng, n - 1)) % n);
        it.link.latency_ms = 20 + (uint32_t)pick(rng, 300);
        it.link.jitter_ms = (uint32_t)pick(rng, 50);
        it.link.loss = (double)pick(rng, 11) / 100.0;
        it.link_set = WARD_SC_SET_LATENCY | WARD_SC_SET_JITTER | WARD_SC_SET_LOSS;
        break;
    default: { /* a burst of loss everywhere, then back to none */
        it.kind = WARD_SC_LINK;
        it.has_until = 0;
        it.link.loss = (double)(1 + pick(rng, 15)) / 100.0;
        it.link_set = WARD_SC_SET_LOSS;
        uint64_t end = it.until_ms;
        rc = ward_scenario_add(sc, &it);
        if (rc != WARD_OK) return rc;
        it.at_ms = end;
        it.link.loss = 0;
        break;
    }
    }
    return ward_scenario_add(sc, &it);
}

int ward_swarm_plan(ward_run_options *opt, ward_scenario *sc, uint64_t seed) {
    WARD_ARG_CHECK(opt != NULL && sc != NULL);
    ward_rng master, rng;
    ward_rng_init_u64(&master, seed);
    ward_rng_fork(&rng, &master, SWARM_RNG);
    ward_rng_clear(&master);
    memset(opt, 0, sizeof *opt);
    opt->seed = seed;
    opt->nodes = 3 + (size_t)pick(&rng, 10);
    size_t n = opt->nodes;
    opt->link.latency_ms = 1 + (uint32_t)pick(&rng, 20);
    opt->link.jitter_ms = (uint32_t)pick(&rng, opt->link.latency_ms + 1);
    int calm = pick(&rng, 3) == 0;
    static const double losses[] = {0.001, 0.01, 0.03, 0.08};
    if (!calm && pick(&rng, 5) < 2) opt->link.loss = losses[pick(&rng, 4)];
    static const uint32_t bws[] = {2000, 10000, 100000};
    if (pick(&rng, 2)) opt->link.bandwidth_kbps = bws[pick(&rng, 3)];
    static const uint32_t timeouts[] = {0, 3000, 6000}; /* 0: the core's 10 s */
    opt->session_timeout_ms = timeouts[pick(&rng, 3)];
    ward_scenario_init(sc, n);
    int rc = WARD_OK;
    if (pick(&rng, 2)) {
        for (size_t i = 0; i < n && rc == WARD_OK; i++) {
            ward_sc_item it;
            memset(&it, 0, sizeof it);
            it.kind = WARD_SC_CLOCK;
            it.a = it.b = -1;
            it.node = (uint32_t)i;
            it.clock.skew_ms = (int64_t)pick(&rng, 20001) - 10000;
            it.clock.drift_ppm = (int32_t)pick(&rng, 1001) - 500;
            rc = ward_scenario_add(sc, &it);
        }
    }
    size_t faults = calm ? 0 : 1 + (size_t)pick(&rng, 5);
    for (size_t f = 0; f < faults && rc == WARD_OK; f++) rc = add_fault(sc, &rng, n, (int)pick(&rng, 7));
    if (rc == WARD_OK) rc = ward_swarm_sessions(sc, &rng, 2 + (size_t)pick(&rng, 8), 1500, 30000, 0);
    /* Sessions after the faults have settled: they must succeed. */
    if (rc == WARD_OK && faults && pick(&rng, 2)) {
        uint64_t after = ward_scenario_last_ms(sc) + WARD_RUN_SETTLE_MS + 5000;
        rc = ward_swarm_sessions(sc, &rng, 1 + (size_t)pick(&rng, 2), after, after + 3000, 0);
    }
    ward_rng_clear(&rng);
    if (rc != WARD_OK) ward_scenario_free(sc);
    return rc;
}
