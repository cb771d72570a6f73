/* Whole simulated runs: the example scenarios run clean, a seed gives the
 * same trace digest every time and another seed another, a deliberately
 * broken node is caught, and `ward sim run` behaves as INTERFACE.md says
 * (JSON, digests, exit statuses, bad input rejected with its line). */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "hex.h"
#include "run.h"

#define NODES 5

static char scenarios[600];

static int load(ward_scenario *sc, const char *name) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", scenarios, name);
    ward_scenario_error err;
    ward_scenario_init(sc, NODES);
    int rc = ward_scenario_load(sc, &err, path);
    if (rc != WARD_OK) printf("%s:%zu: %s\n", name, err.line, err.reason);
    return rc;
}

static int run(ward_run_report *rep, const char *name, uint64_t seed, ward_run_bug bug) {
    ward_scenario sc;
    int rc = load(&sc, name);
    if (rc != WARD_OK) {
        memset(rep, 0, sizeof *rep);
        return rc;
    }
    ward_run_options opt;
    memset(&opt, 0, sizeof opt);
    opt.nodes = NODES;
    opt.seed = seed;
    opt.link.latency_ms = 2;
    opt.link.jitter_ms = 1;
    opt.bug = bug;
    char why[256];
    rc = ward_run(rep, why, sizeof why, &opt, &sc);
    if (rc != WARD_OK) printf("%s: %s\n", name, why);
    ward_scenario_free(&sc);
    return rc;
}

static int has_violation(const ward_run_report *rep, const char *name) {
    for (size_t i = 0; i < rep->n_violations; i++)
        if (strncmp(rep->violations[i], name, strlen(name)) == 0) return 1;
    return 0;
}

static void test_examples(void) {
    static const char *names[] = {"basic.txt", "partition.txt", "crash-restart.txt", "stall.txt",
                                  "adversary.txt", "rough-network.txt", "private.txt", "train.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ward_run_report rep;
        CHECK_RC(run(&rep, names[i], 1, WARD_RUN_BUG_NONE), WARD_OK);
        printf("%-18s %zu sessions: %zu ok, %zu failed, %zu lost, %zu not run, %zu calm; %zu violations; "
               "%llu retransmissions, %llu tampered writes, %llu outsider dials\n",
               names[i], rep.n_sessions, rep.ok, rep.failed, rep.lost, rep.not_run, rep.calm, rep.n_violations,
               (unsigned long long)rep.net.retransmits, (unsigned long long)rep.net.tampered_writes,
               (unsigned long long)rep.net.outsider_dials);
        for (size_t v = 0; v < rep.n_violations; v++) printf("  %s\n", rep.violations[v]);
        CHECK_EQ_U64(rep.n_violations, 0);
        CHECK(rep.ok > 0);
        if (strcmp(names[i], "basic.txt") == 0) CHECK(rep.ok == rep.n_sessions && rep.calm == rep.n_sessions);
        if (strcmp(names[i], "private.txt") == 0)
            CHECK(rep.ok == rep.n_sessions && rep.dp == rep.n_sessions && rep.dp_ok == rep.dp &&
                  rep.net.crashes == 1 && rep.net.restarts == 1);
        if (strcmp(names[i], "adversary.txt") == 0)
            CHECK(rep.net.tampered_writes > 0 && rep.net.tampered_closed > 0 && rep.net.outsider_dials > 0);
        if (strcmp(names[i], "crash-restart.txt") == 0) CHECK(rep.net.crashes == 2 && rep.net.restarts == 2);
        /* Training over lossy links with one crash: finished, invariants
         * train_model and train_completes hold (no violation above). */
        if (strcmp(names[i], "train.txt") == 0)
            CHECK(rep.trains == 1 && rep.trains_ok == 1 && rep.net.crashes == 1 && rep.net.retransmits > 0);
        else
            CHECK_EQ_U64(rep.trains, 0);
        ward_run_report_free(&rep);
    }
}

static void test_determinism(void) {
    ward_run_report a, b, c;
    CHECK_RC(run(&a, "adversary.txt", 7, WARD_RUN_BUG_NONE), WARD_OK);
    CHECK_RC(run(&b, "adversary.txt", 7, WARD_RUN_BUG_NONE), WARD_OK);
    CHECK_RC(run(&c, "adversary.txt", 8, WARD_RUN_BUG_NONE), WARD_OK);
    CHECK_MEM(a.digest, b.digest, 32);
    CHECK(memcmp(a.digest, c.digest, 32) != 0);
    CHECK_EQ_U64(a.net.events, b.net.events);
    ward_run_report_free(&a);
    ward_run_report_free(&b);
    ward_run_report_free(&c);
}

/* The test of the tester, on a calm scenario where every session must
 * succeed: a corrupted share makes a wrong result, a skipped one a session
 * that never completes; a skipped ledger debit a release the ledger does
 * not hold; noise other than the noise drawn a private result the drawn
 * noise does not explain; all are violations. */
static void test_injected_bugs(void) {
    ward_run_report rep;
    CHECK_RC(run(&rep, "basic.txt", 1, WARD_RUN_BUG_CORRUPT_SHARE), WARD_OK);
    CHECK(has_violation(&rep, "exact_result"));
    printf("corrupt-share: %zu violations, first: %s\n", rep.n_violations,
           rep.n_violations ? rep.violations[0] : "-");
    ward_run_report_free(&rep);
    CHECK_RC(run(&rep, "basic.txt", 1, WARD_RUN_BUG_SKIP_SHARE), WARD_OK);
    CHECK(has_violation(&rep, "calm_session"));
    printf("skip-share: %zu violations, first: %s\n", rep.n_violations, rep.n_violations ? rep.violations[0] : "-");
    ward_run_report_free(&rep);
    /* A node that releases private shares without charging its ledger:
     * every private session it took part in is a privacy_budget violation,
     * and nothing else is. */
    CHECK_RC(run(&rep, "private.txt", 1, WARD_RUN_BUG_SKIP_DEBIT), WARD_OK);
    CHECK(has_violation(&rep, "privacy_budget"));
    CHECK(rep.n_violations >= rep.dp_ok - 1);
    for (size_t v = 0; v < rep.n_violations; v++)
        CHECK(strncmp(rep.violations[v], "privacy_budget", 14) == 0);
    printf("skip-debit: %zu violations, first: %s\n", rep.n_violations, rep.n_violations ? rep.violations[0] : "-");
    ward_run_report_free(&rep);
    /* A node that adds one unit more noise than it drew: every private
     * result it took part in is off by one encoded unit, which only the
     * exact dp_result check sees (the clean run of private.txt in
     * test_examples has no violation). */
    CHECK_RC(run(&rep, "private.txt", 1, WARD_RUN_BUG_NOISE_OFF_BY_ONE), WARD_OK);
    CHECK(has_violation(&rep, "dp_result"));
    /* Each of the four sums, counts and histograms whose result reaches its
     * proposer is caught (a mean may hide the unit in its clamping or in a
     * group with no mean). */
    CHECK(rep.dp_ok == rep.n_sessions && rep.n_violations >= 4);
    for (size_t v = 0; v < rep.n_violations; v++)
        CHECK(strncmp(rep.violations[v], "dp_result", 9) == 0);
    printf("noise-off-by-one: %zu violations, first: %s\n", rep.n_violations,
           rep.n_violations ? rep.violations[0] : "-");
    ward_run_report_free(&rep);
    /* A coordinator that labels its round-2 shares as round 4 stops the
     * training with four of five parties up: train_completes. */
    CHECK_RC(run(&rep, "train.txt", 1, WARD_RUN_BUG_FL_WRONG_ROUND), WARD_OK);
    CHECK(has_violation(&rep, "train_completes"));
    CHECK(rep.trains == 1 && rep.trains_ok == 0 && rep.n_violations == 1);
    printf("fl-wrong-round: %zu violations, first: %s\n", rep.n_violations,
           rep.n_violations ? rep.violations[0] : "-");
    ward_run_report_free(&rep);
}

/* ---- the command -------------------------------------------------------------------- */

static char ward[600];

/* Runs `ward ARGS`, returns the exit status; stdout into out, stderr into err. */
static int sh(char *out, size_t out_cap, char *err, size_t err_cap, const char *args) {
    char errfile[] = "/tmp/ward-netsim-run-err-XXXXXX";
    int fd = mkstemp(errfile);
    if (fd < 0) return -1;
    close(fd);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", ward, args, errfile);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, out_cap - 1, p);
    out[n] = '\0';
    while (fgetc(p) != EOF) {
    }
    int st = pclose(p);
    FILE *e = fopen(errfile, "r");
    n = e ? fread(err, 1, err_cap - 1, e) : 0;
    err[n] = '\0';
    if (e) fclose(e);
    unlink(errfile);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void digest_field(char out[65], const char *json) {
    const char *p = strstr(json, "\"trace_digest\": \"");
    out[0] = '\0';
    if (p) snprintf(out, 65, "%.64s", p + 17);
}

static void test_command(void) {
    static char out[1 << 20], err[1 << 14];
    char d1[65], d2[65], d3[65];
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 9 --loss 0.01 --json"), 0);
    CHECK(strstr(out, "\"seed\": 9,") && strstr(out, "\"results\": [") && strstr(out, "\"violations\": []"));
    digest_field(d1, out);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 9 --loss 0.01 --json"), 0);
    digest_field(d2, out);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 10 --loss 0.01 --json"), 0);
    digest_field(d3, out);
    CHECK(strlen(d1) == 64 && strcmp(d1, d2) == 0 && strcmp(d1, d3) != 0);
    printf("ward sim run --nodes 4 --seed 9: %s (twice), seed 10: %s\n", d1, d3);

    /* Faults from flags, and the swarm's replay command. */
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err,
                    "sim run --nodes 5 --seed 3 --partition 1,2/3,4,5@3000-12000 --crash 5@4000-9000 --json"),
                 0);
    CHECK(strstr(out, "\"partitions\": 1") && strstr(out, "\"crashes\": 1"));
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --swarm --seed 12 --json"), 0);
    CHECK(strstr(out, "\"violations\": []") != NULL);

    /* A seed's whole run printed as a scenario file replays to the same
     * digest (--print-scenario names the flags that go with it). */
    for (int seed = 20; seed < 23; seed++) {
        char args0[200], path[] = "/tmp/ward-netsim-run-replay-XXXXXX";
        snprintf(args0, sizeof args0, "sim run --swarm --seed %d --json", seed);
        CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args0), 0);
        digest_field(d1, out);
        snprintf(args0, sizeof args0, "sim run --swarm --seed %d --print-scenario", seed);
        CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args0), 0);
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        FILE *f = fdopen(fd, "w");
        if (!f) continue;
        fputs(out, f);
        fclose(f);
        const char *from = strstr(out, "ward sim run "), *to = strstr(out, " --scenario FILE");
        char flags[400] = "";
        if (from && to && to > from) snprintf(flags, sizeof flags, "%.*s", (int)(to - from - 5), from + 5);
        char args1[1000];
        snprintf(args1, sizeof args1, "%s --scenario '%s' --json", flags, path);
        CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args1), 0);
        digest_field(d2, out);
        CHECK(strlen(d1) == 64 && strcmp(d1, d2) == 0);
        unlink(path);
    }

    /* Bad input: usage errors, exit status 2, the reason named. */
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 1 --loss 1.5"), 2);
    CHECK(strstr(err, "--loss") && strstr(err, "1.5"));
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 1 --loss -0.5"), 2);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4"), 2);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --seed 1"), 2);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 1 --crash 9@100"), 2);
    CHECK(strstr(err, "out of range") != NULL);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, "sim run --nodes 4 --seed 1 --frobnicate"), 2);
    char bad[] = "/tmp/ward-netsim-run-bad-XXXXXX";
    int fd = mkstemp(bad);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    if (f) {
        fputs("# a scenario\nlink latency=3\ncrash at=100 node=2 colour=red\n", f);
        fclose(f);
    }
    char args[800], want[800];
    snprintf(args, sizeof args, "sim run --nodes 4 --seed 1 --scenario '%s'", bad);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args), 2);
    snprintf(want, sizeof want, "%s:3: unknown key 'colour'", bad);
    CHECK(strstr(err, want) != NULL);
    f = fopen(bad, "w");
    if (f) {
        fputs("session at=-100 op=count table=trips from=1\n", f);
        fclose(f);
    }
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args), 2);
    snprintf(want, sizeof want, "%s:1: at: negative time", bad);
    CHECK(strstr(err, want) != NULL);
    f = fopen(bad, "w");
    if (f) {
        fputs("\n\nstall at=100 node=5\n", f);
        fclose(f);
    }
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args), 2);
    snprintf(want, sizeof want, "%s:3: node: node 5 is out of range", bad);
    CHECK(strstr(err, want) != NULL);
    unlink(bad);

    /* A violation makes the run fail (exit 1) and is listed. */
    snprintf(args, sizeof args, "sim run --nodes 5 --seed 1 --scenario '%s/basic.txt' --bug corrupt-share --json",
             scenarios);
    CHECK_EQ_U64(sh(out, sizeof out, err, sizeof err, args), 1);
    CHECK(strstr(out, "\"violations\": [\n  \"exact_result: ") != NULL);
}

int main(int argc, char **argv) {
    (void)argc;
    snprintf(scenarios, sizeof scenarios, "%s/../../netsim/scenarios", check_vectors_dir());
    char self[600];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(ward, sizeof ward, "%s/../ward", dirname(self));
    test_examples();
    test_determinism();
    test_injected_bugs();
    if (access(ward, X_OK) == 0) test_command();
    else CHECK(!"the ward executable is not next to the tests");
    return check_done("netsim-run");
}
