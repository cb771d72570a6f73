/* Scenario files and the command-line fault specs: every directive parses
 * to what it says, every malformed line is rejected with its line number
 * and a reason, a rejected file leaves nothing behind, writing and parsing
 * again is the identity, and the example scenarios in netsim/scenarios/
 * all parse. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "scenario.h"

#define NODES 5

static int parse(ward_scenario *sc, ward_scenario_error *err, const char *text) {
    ward_scenario_init(sc, NODES);
    return ward_scenario_parse(sc, err, text, strlen(text));
}

static void test_good(void) {
    const char *text =
        "# a comment\n"
        "\n"
        "link latency=5 jitter=2 loss=0.001 bandwidth=100000   # trailing comment\n"
        "link a=1 b=node2 latency=80 loss=0.02 at=5000\n"
        "clock node=3 skew=-1500 drift=-200\n"
        "session at=2s op=sum table=parking column=Occupancy from=2 parties=all\n"
        "session at=2500ms op=count table=trips from=node1 parties=1,3 output=3 epsilon=0.25\n"
        "session at=3000 op=histogram table=air column=nox group_by=hour(date) where=\"nox > 100\" from=4\n"
        "partition at=4000 until=12000 groups=1,2/3,4\n"
        "crash at=6000 node=3 restart=9000\n"
        "crash at=6500 node=4\n"
        "stall at=7000 node=5 until=15000\n"
        "tamper at=3000 until=8000 from=1 to=2 mode=flip rate=0.5\n"
        "tamper at=3000 from=2 to=1\n"
        "outsider at=1000 until=20000 mode=unknown\n"
        "end at=30000\n";
    ward_scenario sc;
    ward_scenario_error err;
    CHECK_RC(parse(&sc, &err, text), WARD_OK);
    if (err.line) printf("line %zu: %s\n", err.line, err.reason);
    CHECK_EQ_U64(sc.n, 13);
    CHECK(sc.has_end && sc.end_ms == 30000);
    if (sc.n != 13) {
        ward_scenario_free(&sc);
        return;
    }
    const ward_sc_item *it = sc.items;
    CHECK(it[0].kind == WARD_SC_LINK && it[0].a == -1 && it[0].link.latency_ms == 5 && it[0].link.jitter_ms == 2 &&
          it[0].link.loss == 0.001 && it[0].link.bandwidth_kbps == 100000 && it[0].link_set == 15);
    CHECK(it[1].kind == WARD_SC_LINK && it[1].a == 0 && it[1].b == 1 && it[1].at_ms == 5000 &&
          it[1].link_set == (WARD_SC_SET_LATENCY | WARD_SC_SET_LOSS));
    CHECK(it[2].kind == WARD_SC_CLOCK && it[2].node == 2 && it[2].clock.skew_ms == -1500 &&
          it[2].clock.drift_ppm == -200);
    CHECK(it[3].kind == WARD_SC_SESSION && it[3].at_ms == 2000 && it[3].node == 1 && it[3].parties == NULL &&
          it[3].query.op == WARD_CITY_SUM && strcmp(it[3].query.column, "Occupancy") == 0);
    CHECK(it[4].at_ms == 2500 && it[4].node == 0 && it[4].parties && it[4].parties[0] && it[4].parties[2] &&
          !it[4].parties[1] && it[4].output && it[4].output[2] && !it[4].output[0]);
    CHECK(it[3].epsilon == 0 && it[4].epsilon == 0.25);
    CHECK(strcmp(it[5].query.where, "nox > 100") == 0 && strcmp(it[5].query.group_by, "hour(date)") == 0);
    CHECK(it[6].kind == WARD_SC_PARTITION && it[6].has_until && it[6].until_ms == 12000 && it[6].groups &&
          it[6].groups[0] == it[6].groups[1] && it[6].groups[2] == it[6].groups[3] &&
          it[6].groups[0] != it[6].groups[2] && it[6].groups[4] != it[6].groups[0] &&
          it[6].groups[4] != it[6].groups[2]);
    CHECK(it[7].kind == WARD_SC_CRASH && it[7].node == 2 && it[7].has_until && it[7].until_ms == 9000);
    CHECK(it[8].kind == WARD_SC_CRASH && !it[8].has_until);
    CHECK(it[9].kind == WARD_SC_STALL && it[9].node == 4 && it[9].until_ms == 15000);
    CHECK(it[10].kind == WARD_SC_TAMPER && it[10].node == 0 && it[10].to == 1 && it[10].mode == WARD_SIM_TAMPER_FLIP &&
          it[10].rate == 0.5);
    CHECK(it[11].mode == WARD_SIM_TAMPER_MIX && it[11].rate == 0.2 && !it[11].has_until);
    CHECK(it[12].kind == WARD_SC_OUTSIDER && it[12].mode == WARD_SIM_OUTSIDER_UNKNOWN);
    CHECK_EQ_U64(ward_scenario_last_ms(&sc), 20000);

    /* Writing and parsing again gives the same scenario. */
    char *buf1 = NULL, *buf2 = NULL;
    size_t len1 = 0, len2 = 0;
    FILE *f = open_memstream(&buf1, &len1);
    CHECK_RC(ward_scenario_write(&sc, f), WARD_OK);
    fclose(f);
    ward_scenario again;
    CHECK_RC(parse(&again, &err, buf1), WARD_OK);
    if (err.line) printf("rewritten line %zu: %s\n%s", err.line, err.reason, buf1);
    f = open_memstream(&buf2, &len2);
    CHECK_RC(ward_scenario_write(&again, f), WARD_OK);
    fclose(f);
    CHECK(len1 == len2 && strcmp(buf1, buf2) == 0);
    CHECK_EQ_U64(again.n, sc.n);
    free(buf1);
    free(buf2);
    ward_scenario_free(&again);
    ward_scenario_free(&sc);
}

/* Each bad line is rejected at its own line number, with a reason that
 * names the problem. */
static void test_bad(void) {
    static const struct {
        const char *text;
        size_t line;
        const char *reason;
    } cases[] = {
        {"crash at=1000 node=2 color=red\n", 1, "unknown key 'color'"},
        {"link latency=1\n\nsession at=-5 op=count table=trips from=1\n", 3, "negative time"},
        {"crash at=1000 node=6\n", 1, "out of range"},
        {"crash at=1000 node=0\n", 1, "out of range"},
        {"stall at=1000 node=node9 until=2000\n", 1, "out of range"},
        {"link loss=1.5\n", 1, "loss"},
        {"link loss=nan\n", 1, "loss"},
        {"link loss=-0.1\n", 1, "loss"},
        {"explode at=5\n", 1, "unknown directive"},
        {"# ok\nsession at=100 op=sum table=parking from=1\n", 2, "needs column"},
        {"session at=100 op=median table=parking column=Occupancy from=1\n", 1, "op"},
        {"session at=100 op=sum table=nosuch column=x from=1\n", 1, "no table"},
        {"session at=100 op=sum table=parking column=nosuch from=1\n", 1, "no numeric column"},
        {"session at=100 op=histogram table=parking column=Occupancy from=1\n", 1, "group_by"},
        {"session at=100 op=sum table=parking column=Occupancy group_by=hour(x) from=1\n", 1, "group_by"},
        {"session at=100 op=sum table=parking column=Occupancy where=\"Occupancy ~ 3\" from=1\n", 1, "where"},
        {"session at=100 op=sum table=parking column=Occupancy parties=1,2 output=3 from=1\n", 1, "not a party"},
        {"session at=100 op=sum table=parking column=Occupancy from=1 parties=1,1\n", 1, "twice"},
        {"session at=100 op=count table=trips from=1 epsilon=0\n", 1, "epsilon"},
        {"session at=100 op=count table=trips from=1 epsilon=nan\n", 1, "epsilon"},
        {"session at=100 op=count table=trips from=1 epsilon=11\n", 1, "epsilon"},
        {"partition at=100 until=50 groups=1/2\n", 1, "not after"},
        {"partition at=100 groups=1,2,3,4,5\n", 1, "two groups"},
        {"partition at=100 groups=1,2/2,3\n", 1, "two groups"},
        {"partition at=100\n", 1, "groups="},
        {"crash node=1\n", 1, "at="},
        {"crash at=1000 at=2000 node=1\n", 1, "twice"},
        {"crash at=1000 node\n", 1, "key=value"},
        {"session at=100 op=count table=trips where=\"oops from=1\n", 1, "unterminated"},
        {"clock node=1 drift=200000\n", 1, "drift"},
        {"clock node=1 at=5 skew=1\n", 1, "unknown key 'at'"},
        {"tamper at=1 from=1 to=1\n", 1, "same node"},
        {"tamper at=1 from=1 to=2 mode=bitrot\n", 1, "mode"},
        {"tamper at=1 from=1 to=2 rate=2\n", 1, "rate"},
        {"outsider at=1 mode=friendly\n", 1, "mode"},
        {"link a=1 latency=3\n", 1, "both a= and b="},
        {"link at=100\n", 1, "sets nothing"},
        {"link latency=99999999\n", 1, "latency"},
        {"crash at=99999999999 node=1\n", 1, "not a time"},
        {"crash at=1x node=1\n", 1, "not a time"},
        {"end at=5000\ncrash at=6000 node=1\n", 2, "after end"},
        {"end at=5000\nend at=6000\n", 2, "second"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ward_scenario sc;
        ward_scenario_error err;
        int rc = parse(&sc, &err, cases[i].text);
        int ok = rc != WARD_OK && err.line == cases[i].line && strstr(err.reason, cases[i].reason) != NULL &&
                 sc.n == 0;
        if (!ok)
            printf("case %zu: rc %d, line %zu (want %zu), reason '%s' (want '%s')\n", i, rc, err.line,
                   cases[i].line, err.reason, cases[i].reason);
        CHECK(ok);
        ward_scenario_free(&sc);
    }

    /* A long line, a NUL byte. */
    char big[WARD_SC_MAX_LINE + 20];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ward_scenario sc;
    ward_scenario_error err;
    CHECK_RC(parse(&sc, &err, big), WARD_ETOOBIG);
    CHECK_EQ_U64(err.line, 1);
    ward_scenario_free(&sc);
    ward_scenario_init(&sc, NODES);
    CHECK_RC(ward_scenario_parse(&sc, &err, "end at=5\0x\n", 11), WARD_EPARSE);
    ward_scenario_free(&sc);

    /* A rejected file leaves the scenario as it was. */
    CHECK_RC(parse(&sc, &err, "crash at=1000 node=1\n"), WARD_OK);
    CHECK_RC(ward_scenario_parse(&sc, &err, "crash at=2000 node=2\nfoo\n", 25), WARD_EPARSE);
    CHECK_EQ_U64(sc.n, 1);
    CHECK(!sc.has_end);
    ward_scenario_free(&sc);
}

static void test_specs(void) {
    ward_scenario sc;
    ward_scenario_error err;
    ward_scenario_init(&sc, NODES);
    CHECK_RC(ward_scenario_add_partition_spec(&sc, &err, "1,2/3,4,5@2000-9000"), WARD_OK);
    CHECK_RC(ward_scenario_add_crash_spec(&sc, &err, "3@4000-9000"), WARD_OK);
    CHECK_RC(ward_scenario_add_crash_spec(&sc, &err, "node4@4s"), WARD_OK);
    CHECK_EQ_U64(sc.n, 3);
    if (sc.n == 3) {
        CHECK(sc.items[0].at_ms == 2000 && sc.items[0].until_ms == 9000 && sc.items[0].groups[0] == sc.items[0].groups[1]);
        CHECK(sc.items[1].node == 2 && sc.items[1].has_until && sc.items[1].until_ms == 9000);
        CHECK(sc.items[2].node == 3 && !sc.items[2].has_until && sc.items[2].at_ms == 4000);
    }
    static const char *bad_partitions[] = {"1,2/3", "1,2/3@2000", "1,2/3@-5-10", "1,2/3@9000-2000",
                                           "1,9/3@1-2", "@1-2", "1,2,3,4,5@1-2"};
    for (size_t i = 0; i < sizeof bad_partitions / sizeof bad_partitions[0]; i++)
        CHECK_RC(ward_scenario_add_partition_spec(&sc, &err, bad_partitions[i]), WARD_EPARSE);
    static const char *bad_crashes[] = {"3", "7@100", "3@x", "3@200-100", "@100", "0@100"};
    for (size_t i = 0; i < sizeof bad_crashes / sizeof bad_crashes[0]; i++)
        CHECK_RC(ward_scenario_add_crash_spec(&sc, &err, bad_crashes[i]), WARD_EPARSE);
    CHECK_EQ_U64(sc.n, 3);
    ward_scenario_free(&sc);

    double p;
    CHECK_RC(ward_scenario_parse_prob(&p, "0.25"), WARD_OK);
    CHECK(p == 0.25);
    CHECK_RC(ward_scenario_parse_prob(&p, "1"), WARD_OK);
    CHECK_RC(ward_scenario_parse_prob(&p, "0"), WARD_OK);
    static const char *bad_probs[] = {"1.5", "-0.1", "nan", "inf", "", "0.5x", "1e3", "0x1p-2"};
    for (size_t i = 0; i < sizeof bad_probs / sizeof bad_probs[0]; i++)
        CHECK_RC(ward_scenario_parse_prob(&p, bad_probs[i]), WARD_EPARSE);
}

/* netsim/scenarios/: every example parses for the 5-node city it names. */
static void test_examples(void) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/../../netsim/scenarios", check_vectors_dir());
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0) continue;
        char path[900];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ward_scenario sc;
        ward_scenario_error err;
        ward_scenario_init(&sc, NODES);
        int rc = ward_scenario_load(&sc, &err, path);
        if (rc != WARD_OK) printf("%s:%zu: %s\n", e->d_name, err.line, err.reason);
        CHECK_RC(rc, WARD_OK);
        CHECK(sc.n > 0);
        ward_scenario_free(&sc);
        n++;
    }
    closedir(d);
    CHECK(n >= 5);
    ward_scenario sc;
    ward_scenario_error err;
    ward_scenario_init(&sc, NODES);
    CHECK_RC(ward_scenario_load(&sc, &err, "/nonexistent/scenario.txt"), WARD_ENOTFOUND);
    ward_scenario_free(&sc);
}

int main(void) {
    test_good();
    test_bad();
    test_specs();
    test_examples();
    return check_done("netsim-scenario");
}
