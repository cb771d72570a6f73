/* `ward sim run`: one deterministic in-process run (INTERFACE.md). */
#include "cmd_sim_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "run.h"
#include "scenario.h"
#include "swarm.h"

#define RUN_DEFAULT_SESSIONS 10
#define RUN_MAX_SPECS 64

static void usage(FILE *out) {
    fputs("usage: ward sim run --nodes N --seed S [--latency MS] [--jitter MS] [--loss P]\n"
          "                    [--bandwidth KBPS] [--partition GROUPS@START-END]...\n"
          "                    [--crash NODE@START[-RESTART]]... [--scenario FILE]\n"
          "                    [--sessions K] [--session-timeout MS] [--json]\n"
          "       ward sim run --swarm --seed S [--json]   (the swarm test's run for seed S)\n"
          "  --partition 1,2/3,4,5@2000-9000   nodes 1,2 and 3,4,5 apart from 2 s to 9 s\n"
          "  --crash 3@4000-9000               node3 crashes at 4 s, restarts at 9 s\n"
          "  --sessions K                      K random sessions (default 10 without a\n"
          "                                    scenario that has sessions)\n"
          "  --print-scenario                  print the run's scenario and exit\n"
          "  --bug corrupt-share|skip-share|skip-debit|noise-off-by-one  node1 misbehaves (to test the invariants)\n"
          "  prints trace_digest, results and violations; exit status 1 on a violation\n",
          out);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    fputs("ward: error: sim run: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    return 2;
}

static int parse_u64(uint64_t *out, const char *flag, const char *v, uint64_t max) {
    if (!v || ward_scenario_parse_uint(out, v, max) != WARD_OK) {
        fprintf(stderr, "ward: error: sim run: %s: '%s' is not an integer in 0..%llu\n", flag, v ? v : "",
                (unsigned long long)max);
        return 2;
    }
    return 0;
}

int ward_cmd_sim_run(int argc, char **argv) {
    ward_run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.link.latency_ms = 2;
    opt.link.jitter_ms = 1;
    int json = 0, swarm = 0, print = 0, have_nodes = 0, have_seed = 0, have_link = 0;
    uint64_t sessions = 0, v = 0;
    int have_sessions = 0;
    const char *scenario = NULL, *bug = NULL;
    const char *partitions[RUN_MAX_SPECS], *crashes[RUN_MAX_SPECS];
    size_t n_part = 0, n_crash = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(a, "--json") == 0) json = 1, takes = 0;
        else if (strcmp(a, "--swarm") == 0) swarm = 1, takes = 0;
        else if (strcmp(a, "--print-scenario") == 0) print = 1, takes = 0;
        else if (strcmp(a, "--keep") == 0) opt.keep_dir = 1, takes = 0;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (!val) {
            return usage_error("%s needs a value", a);
        } else if (strcmp(a, "--nodes") == 0) {
            if (parse_u64(&v, a, val, WARD_SIM_MAX_NODES)) return 2;
            if (v < 1) return usage_error("--nodes: at least %s", "1");
            opt.nodes = (size_t)v;
            have_nodes = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(&opt.seed, a, val, UINT64_MAX)) return 2;
            have_seed = 1;
        } else if (strcmp(a, "--latency") == 0) {
            if (parse_u64(&v, a, val, 60000)) return 2;
            opt.link.latency_ms = (uint32_t)v;
            have_link = 1;
        } else if (strcmp(a, "--jitter") == 0) {
            if (parse_u64(&v, a, val, 60000)) return 2;
            opt.link.jitter_ms = (uint32_t)v;
            have_link = 1;
        } else if (strcmp(a, "--bandwidth") == 0) {
            if (parse_u64(&v, a, val, 100000000)) return 2;
            opt.link.bandwidth_kbps = (uint32_t)v;
            have_link = 1;
        } else if (strcmp(a, "--loss") == 0) {
            if (ward_scenario_parse_prob(&opt.link.loss, val) != WARD_OK)
                return usage_error("--loss: '%s' is not a probability in [0, 1]", val);
            have_link = 1;
        } else if (strcmp(a, "--session-timeout") == 0) {
            if (parse_u64(&v, a, val, 600000)) return 2;
            opt.session_timeout_ms = (uint32_t)v;
        } else if (strcmp(a, "--sessions") == 0) {
            if (parse_u64(&sessions, a, val, 100000)) return 2;
            have_sessions = 1;
        } else if (strcmp(a, "--scenario") == 0) {
            scenario = val;
        } else if (strcmp(a, "--partition") == 0) {
            if (n_part == RUN_MAX_SPECS) return usage_error("too many %s flags", a);
            partitions[n_part++] = val;
        } else if (strcmp(a, "--crash") == 0) {
            if (n_crash == RUN_MAX_SPECS) return usage_error("too many %s flags", a);
            crashes[n_crash++] = val;
        } else if (strcmp(a, "--bug") == 0) {
            bug = val;
        } else {
            return usage_error("unknown argument '%s'", a);
        }
        i += takes;
    }
    if (!have_seed) return usage_error("%s", "--seed S is required");
    if (bug) {
        if (strcmp(bug, "corrupt-share") == 0) opt.bug = WARD_RUN_BUG_CORRUPT_SHARE;
        else if (strcmp(bug, "skip-share") == 0) opt.bug = WARD_RUN_BUG_SKIP_SHARE;
        else if (strcmp(bug, "skip-debit") == 0) opt.bug = WARD_RUN_BUG_SKIP_DEBIT;
        else if (strcmp(bug, "noise-off-by-one") == 0) opt.bug = WARD_RUN_BUG_NOISE_OFF_BY_ONE;
        else if (strcmp(bug, "fl-wrong-round") == 0) opt.bug = WARD_RUN_BUG_FL_WRONG_ROUND;
        else return usage_error("--bug: '%s' is not corrupt-share, skip-share, skip-debit, noise-off-by-one "
                                "or fl-wrong-round", bug);
    }
    ward_scenario sc;
    ward_scenario_error err;
    int rc;
    if (swarm) {
        if (have_nodes || have_link || scenario || n_part || n_crash || have_sessions)
            return usage_error("%s", "--swarm takes only --seed (and --json, --bug, --print-scenario)");
        ward_run_bug b = opt.bug;
        rc = ward_swarm_plan(&opt, &sc, opt.seed);
        opt.bug = b;
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: sim run: %s\n", ward_strerror(rc));
            return 1;
        }
    } else {
        if (!have_nodes) return usage_error("%s", "--nodes N is required");
        ward_scenario_init(&sc, opt.nodes);
        if (scenario && (rc = ward_scenario_load(&sc, &err, scenario)) != WARD_OK) {
            if (err.line) fprintf(stderr, "ward: error: %s:%zu: %s\n", scenario, err.line, err.reason);
            else fprintf(stderr, "ward: error: %s\n", err.reason);
            ward_scenario_free(&sc);
            return 2;
        }
        for (size_t i = 0; i < n_part; i++) {
            if (ward_scenario_add_partition_spec(&sc, &err, partitions[i]) != WARD_OK) {
                fprintf(stderr, "ward: error: sim run: %s\n", err.reason);
                ward_scenario_free(&sc);
                return 2;
            }
        }
        for (size_t i = 0; i < n_crash; i++) {
            if (ward_scenario_add_crash_spec(&sc, &err, crashes[i]) != WARD_OK) {
                fprintf(stderr, "ward: error: sim run: %s\n", err.reason);
                ward_scenario_free(&sc);
                return 2;
            }
        }
        size_t have = 0;
        for (size_t i = 0; i < sc.n; i++) have += sc.items[i].kind == WARD_SC_SESSION;
        if (!have_sessions && have == 0) sessions = RUN_DEFAULT_SESSIONS;
        if (sessions) {
            ward_rng master, rng;
            ward_rng_init_u64(&master, opt.seed);
            ward_rng_fork(&rng, &master, 102);
            ward_rng_clear(&master);
            uint64_t last = ward_scenario_last_ms(&sc);
            uint64_t span = 2000 + 400 * sessions;
            if (last > 2000 + span) span = last - 2000;
            rc = ward_swarm_sessions(&sc, &rng, (size_t)sessions, 2000, 2000 + span, 0);
            ward_rng_clear(&rng);
            if (rc != WARD_OK) {
                fprintf(stderr, "ward: error: sim run: %s\n", ward_strerror(rc));
                ward_scenario_free(&sc);
                return 1;
            }
        }
    }
    if (print) {
        char loss[32];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(loss, sizeof loss, "%.*g", prec, opt.link.loss);
            if (strtod(loss, NULL) == opt.link.loss) break;
        }
        printf("# replay: ward sim run --nodes %zu --seed %llu --latency %u --jitter %u --loss %s --bandwidth %u"
               " --session-timeout %u%s --scenario FILE\n",
               opt.nodes, (unsigned long long)opt.seed, opt.link.latency_ms, opt.link.jitter_ms, loss,
               opt.link.bandwidth_kbps, opt.session_timeout_ms,
               opt.bug == WARD_RUN_BUG_CORRUPT_SHARE ? " --bug corrupt-share"
               : opt.bug == WARD_RUN_BUG_SKIP_SHARE  ? " --bug skip-share"
               : opt.bug == WARD_RUN_BUG_SKIP_DEBIT  ? " --bug skip-debit"
                                                     : "");
        ward_scenario_write(&sc, stdout);
        ward_scenario_free(&sc);
        return 0;
    }
    ward_run_report rep;
    char why[256];
    rc = ward_run(&rep, why, sizeof why, &opt, &sc);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: sim run: %s\n", why[0] ? why : ward_strerror(rc));
        ward_run_report_free(&rep);
        ward_scenario_free(&sc);
        return 1;
    }
    if (json) ward_run_write_json(&rep, &opt, stdout);
    else ward_run_write_text(&rep, &opt, stdout);
    int status = rep.n_violations ? 1 : 0;
    if (status && !json)
        fprintf(stderr, "ward: sim run: %zu invariant violation%s\n", rep.n_violations,
                rep.n_violations == 1 ? "" : "s");
    ward_run_report_free(&rep);
    ward_scenario_free(&sc);
    return status;
}
