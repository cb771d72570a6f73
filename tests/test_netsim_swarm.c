/* Swarm testing of the node core in the simulator: many seeds, each its
 * own city and fault mix (netsim/swarm.c), every invariant checked on every
 * run. WARD_SWARM_SEEDS sets how many seeds (default 500; 250 under
 * AddressSanitizer), WARD_SWARM_START the first. `make soak` runs 10,000.
 *
 * Then the test of the tester: a node that corrupts one share, one that
 * skips one, and one that releases DP shares without charging its ledger
 * must each be caught by the invariants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "run.h"
#include "swarm.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_SEEDS 250
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEFAULT_SEEDS 250
#endif
#endif
#ifndef DEFAULT_SEEDS
#define DEFAULT_SEEDS 500
#endif

#define BUG_SEEDS 40

typedef struct {
    size_t runs, sessions, dp, dp_ok, ok, failed, lost, not_run, calm, faults, violations, failing_seeds;
    uint64_t retransmits, resets, tampered, outsider_dials, crashes, stalls, partitions;
    double wall, virtual_s;
} tally;

static uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end = NULL;
    unsigned long long x = strtoull(v, &end, 10);
    return end && *end == '\0' ? (uint64_t)x : dflt;
}

/* One seed; returns its number of violations, or -1 if it could not run. */
static long run_seed(tally *t, uint64_t seed, ward_run_bug bug, int print_failures) {
    ward_run_options opt;
    ward_scenario sc;
    if (ward_swarm_plan(&opt, &sc, seed) != WARD_OK) return -1;
    opt.bug = bug;
    opt.bug_node = 0;
    ward_run_report rep;
    char why[256];
    int rc = ward_run(&rep, why, sizeof why, &opt, &sc);
    long v = -1;
    if (rc == WARD_OK) {
        v = (long)rep.n_violations;
        t->runs++;
        t->sessions += rep.n_sessions;
        t->dp += rep.dp;
        t->dp_ok += rep.dp_ok;
        t->ok += rep.ok;
        t->failed += rep.failed;
        t->lost += rep.lost;
        t->not_run += rep.not_run;
        t->calm += rep.calm;
        t->faults += rep.faults;
        t->violations += rep.n_violations;
        t->retransmits += rep.net.retransmits;
        t->resets += rep.net.resets;
        t->tampered += rep.net.tampered_writes;
        t->outsider_dials += rep.net.outsider_dials;
        t->crashes += rep.net.crashes;
        t->stalls += rep.net.stalls;
        t->partitions += rep.net.partitions;
        t->wall += rep.wall_s;
        t->virtual_s += (double)rep.virtual_ms / 1000.0;
        if (rep.n_violations) {
            t->failing_seeds++;
            if (print_failures) {
                printf("FAIL seed %llu: %zu violation%s; replay: ward sim run --swarm --seed %llu%s\n",
                       (unsigned long long)seed, rep.n_violations, rep.n_violations == 1 ? "" : "s",
                       (unsigned long long)seed,
                       bug == WARD_RUN_BUG_CORRUPT_SHARE ? " --bug corrupt-share"
                       : bug == WARD_RUN_BUG_SKIP_SHARE  ? " --bug skip-share"
                       : bug == WARD_RUN_BUG_SKIP_DEBIT  ? " --bug skip-debit"
                                                         : "");
                for (size_t i = 0; i < rep.n_violations && i < 5; i++) printf("  %s\n", rep.violations[i]);
            }
        }
    } else {
        printf("seed %llu could not run: %s\n", (unsigned long long)seed, why);
    }
    ward_run_report_free(&rep);
    ward_scenario_free(&sc);
    return v;
}

static void print_tally(const char *what, const tally *t) {
    printf("%s: %zu runs, %zu sessions (%zu ok, %zu failed under faults, %zu lost with a crashed proposer, "
           "%zu not run, %zu calm; %zu private, %zu of them ok), %zu faults injected (%llu partitions, %llu crashes, %llu stalls, "
           "%llu tampered writes, %llu outsider dials, %llu retransmissions, %llu resets), %zu violations "
           "in %zu seeds; %.0f s virtual in %.1f s\n",
           what, t->runs, t->sessions, t->ok, t->failed, t->lost, t->not_run, t->calm, t->dp, t->dp_ok, t->faults,
           (unsigned long long)t->partitions, (unsigned long long)t->crashes, (unsigned long long)t->stalls,
           (unsigned long long)t->tampered, (unsigned long long)t->outsider_dials,
           (unsigned long long)t->retransmits, (unsigned long long)t->resets, t->violations, t->failing_seeds,
           t->virtual_s, t->wall);
}

int main(void) {
    uint64_t seeds = env_u64("WARD_SWARM_SEEDS", DEFAULT_SEEDS);
    uint64_t start = env_u64("WARD_SWARM_START", 1);
    printf("swarm: %llu seeds from %llu (WARD_SWARM_SEEDS, WARD_SWARM_START)\n", (unsigned long long)seeds,
           (unsigned long long)start);
    fflush(stdout);
    tally t;
    memset(&t, 0, sizeof t);
    for (uint64_t s = start; s < start + seeds; s++) {
        long v = run_seed(&t, s, WARD_RUN_BUG_NONE, 1);
        CHECK(v == 0);
        if ((s - start + 1) % 100 == 0) {
            print_tally("  so far", &t);
            fflush(stdout);
        }
    }
    print_tally("swarm", &t);
    CHECK_EQ_U64(t.runs, seeds);
    CHECK(t.calm > 0 && t.faults > 0 && t.dp_ok > 0);

    /* The test of the tester: the same seeds with node1 broken. */
    uint64_t bug_seeds = seeds < BUG_SEEDS ? seeds : BUG_SEEDS;
    static const struct {
        ward_run_bug bug;
        const char *name;
    } bugs[] = {{WARD_RUN_BUG_CORRUPT_SHARE, "corrupt-share"},
                {WARD_RUN_BUG_SKIP_SHARE, "skip-share"},
                {WARD_RUN_BUG_SKIP_DEBIT, "skip-debit"}};
    for (size_t b = 0; b < sizeof bugs / sizeof bugs[0]; b++) {
        tally bt;
        memset(&bt, 0, sizeof bt);
        for (uint64_t s = start; s < start + bug_seeds; s++) run_seed(&bt, s, bugs[b].bug, 0);
        char what[64];
        snprintf(what, sizeof what, "injected bug %s", bugs[b].name);
        print_tally(what, &bt);
        /* Caught: some seeds fail, and only because of it. */
        CHECK(bt.failing_seeds > 0);
        printf("injected bug %s: caught in %zu of %llu seeds\n", bugs[b].name, bt.failing_seeds,
               (unsigned long long)bug_seeds);
    }
    return check_done("swarm");
}
