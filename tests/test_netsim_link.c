/* The simulator's network and fault model, one fault at a time, with real
 * node cores on both ends: streams stay in order under jitter, bandwidth
 * delays, loss retransmits and past a threshold resets, partitions cut and
 * heal, stalled nodes accept bytes but answer nothing, clocks skew and
 * drift, every adversarial mode is rejected by the channel, outsiders never
 * get a channel, and a crashed node keeps its database. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "sim.h"

static char base[] = "/tmp/ward-netsim-link-XXXXXX";
static int n_dirs;

static ward_sim *city(size_t nodes, uint64_t seed, uint32_t latency, uint32_t jitter, double loss,
                      uint32_t bw, const ward_sim_clock *clocks) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s/%d", base, n_dirs++);
    CHECK(mkdir(dir, 0700) == 0);
    ward_sim_config cfg = {.nodes = nodes, .seed = seed, .dir = dir, .latency_ms = latency,
                           .jitter_ms = jitter, .allow_exact = 1, .loss = loss,
                           .bandwidth_kbps = bw, .clocks = clocks};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    return sim;
}

static uint64_t rejected(ward_sim *sim, size_t node) {
    ward_core_stats st;
    if (ward_sim_node_stats(sim, node, &st) != WARD_OK) return 0;
    return st.frames_rejected;
}

static int whole(ward_sim *sim, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ward_sim_connected_peers(sim, i) != n - 1) return 0;
    return 1;
}

/* Runs until every node is connected to every other or the deadline. */
static int reconnects(ward_sim *sim, size_t n, uint64_t within_ms) {
    uint64_t end = ward_sim_now(sim) + within_ms;
    while (ward_sim_now(sim) < end) {
        if (whole(sim, n)) return 1;
        ward_sim_run_until(sim, ward_sim_now(sim) + 100);
    }
    return whole(sim, n);
}

static void test_order_under_jitter(void) {
    /* Jitter far above latency: writes would overtake each other if the
     * stream did not keep them in order, and the channel would fail. */
    ward_sim *sim = city(4, 1, 1, 80, 0, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 30000);
    CHECK(whole(sim, 4));
    for (size_t i = 0; i < 4; i++) CHECK_EQ_U64(rejected(sim, i), 0);
    ward_sim_stats st;
    ward_sim_get_stats(sim, &st);
    CHECK_EQ_U64(st.resets, 0);
    CHECK(st.deliveries > 100);
    ward_sim_free(sim);
}

static void test_bandwidth(void) {
    /* At 8 kbit/s a byte takes a millisecond: the handshake's few hundred
     * bytes take visibly longer than on an unlimited link. */
    ward_sim *fast = city(2, 2, 1, 0, 0, 0, NULL), *slow = city(2, 2, 1, 0, 0, 8, NULL);
    if (!fast || !slow) return;
    CHECK_RC(ward_sim_run_connected(fast, 30000), WARD_OK);
    CHECK_RC(ward_sim_run_connected(slow, 30000), WARD_OK);
    printf("connect: %llu ms unlimited, %llu ms at 8 kbit/s\n", (unsigned long long)ward_sim_now(fast),
           (unsigned long long)ward_sim_now(slow));
    CHECK(ward_sim_now(fast) < 20);
    CHECK(ward_sim_now(slow) > 200);
    ward_sim_free(fast);
    ward_sim_free(slow);
}

static void test_loss(void) {
    /* 30% loss: retransmissions, but the city connects and stays sane. */
    ward_sim *sim = city(3, 3, 2, 1, 0.3, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 60000), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 20000);
    ward_sim_stats st;
    ward_sim_get_stats(sim, &st);
    CHECK(st.retransmits > 10);
    for (size_t i = 0; i < 3; i++) CHECK_EQ_U64(rejected(sim, i), 0);
    ward_sim_free(sim);

    /* Total loss: no channel ever forms; connects time out. */
    sim = city(2, 4, 2, 0, 1.0, 0, NULL);
    if (!sim) return;
    ward_sim_run_until(sim, 30000);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 0), 0);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 1), 0);
    ward_sim_get_stats(sim, &st);
    CHECK(st.retransmits > 0);
    ward_sim_free(sim);
}

static void test_reset_threshold(void) {
    /* A link that loses everything for long enough: the sender's side gives
     * up after its retransmissions and resets; once the link is good again
     * the nodes reconnect. */
    ward_sim *sim = city(2, 5, 5, 0, 0, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    ward_sim_link dead = {.latency_ms = 5, .loss = 1.0}, good = {.latency_ms = 5};
    CHECK_RC(ward_sim_set_link(sim, 0, 1, &dead), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 40000);
    ward_sim_stats st;
    ward_sim_get_stats(sim, &st);
    CHECK(st.resets > 0);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 0), 0);
    CHECK_RC(ward_sim_set_link(sim, 1, 0, &good), WARD_OK);
    CHECK(reconnects(sim, 2, 45000));
    ward_sim_free(sim);
}

static void test_partition(void) {
    ward_sim *sim = city(4, 6, 2, 2, 0, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    uint32_t groups[4] = {1, 1, 2, 2};
    CHECK_RC(ward_sim_partition(sim, groups, 4), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 40000);
    for (size_t i = 0; i < 4; i++) CHECK_EQ_U64(ward_sim_connected_peers(sim, i), 1);
    CHECK_RC(ward_sim_heal(sim), WARD_OK);
    CHECK(reconnects(sim, 4, 45000));
    for (size_t i = 0; i < 4; i++) CHECK_EQ_U64(rejected(sim, i), 0);

    /* A short partition: connections stall, then carry on where they were
     * (what waited is delivered after the heal, in order). */
    ward_sim_stats before, after;
    ward_sim_get_stats(sim, &before);
    CHECK_RC(ward_sim_partition(sim, groups, 4), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 3000);
    CHECK_RC(ward_sim_heal(sim), WARD_OK);
    ward_sim_run_until(sim, ward_sim_now(sim) + 10000);
    ward_sim_get_stats(sim, &after);
    CHECK(after.retransmits > before.retransmits);
    CHECK_EQ_U64(after.resets, before.resets);
    CHECK(whole(sim, 4));
    for (size_t i = 0; i < 4; i++) CHECK_EQ_U64(rejected(sim, i), 0);
    ward_sim_free(sim);
}

static void test_stall(void) {
    ward_sim *sim = city(3, 7, 2, 1, 0, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    CHECK_RC(ward_sim_stall(sim, 1), WARD_OK);
    CHECK_RC(ward_sim_stall(sim, 1), WARD_ESTATE);
    ward_sim_run_until(sim, ward_sim_now(sim) + 20000);
    /* The others gave up on it (it never answered their pings); it knows
     * nothing yet, having run nothing. */
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 0), 1);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 2), 1);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 1), 2);
    ward_sim_stats st;
    ward_sim_get_stats(sim, &st);
    /* Its kernel still accepted connections: nothing was refused. */
    CHECK_EQ_U64(st.refused, 0);
    CHECK_RC(ward_sim_resume(sim, 1), WARD_OK);
    CHECK(reconnects(sim, 3, 45000));
    for (size_t i = 0; i < 3; i++) CHECK_EQ_U64(rejected(sim, i), 0);
    ward_sim_free(sim);
}

static void test_clocks(void) {
    ward_sim_clock clocks[3] = {{0, 0}, {-5000, 100000}, {123456, -100000}};
    ward_sim *sim = city(3, 8, 2, 1, 0, 0, clocks);
    if (!sim) return;
    uint64_t l0 = ward_sim_local_ms(sim, 0), l1 = ward_sim_local_ms(sim, 1), l2 = ward_sim_local_ms(sim, 2);
    CHECK_EQ_U64(l0, WARD_SIM_EPOCH_MS);
    CHECK_EQ_U64(l1, WARD_SIM_EPOCH_MS - 5000);
    CHECK_EQ_U64(l2, WARD_SIM_EPOCH_MS + 123456);
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    uint64_t t0 = ward_sim_now(sim);
    l1 = ward_sim_local_ms(sim, 1);
    l2 = ward_sim_local_ms(sim, 2);
    ward_sim_run_until(sim, t0 + 60000);
    /* 10% fast and 10% slow: 66 and 54 local seconds in 60 virtual. */
    uint64_t d1 = ward_sim_local_ms(sim, 1) - l1, d2 = ward_sim_local_ms(sim, 2) - l2;
    CHECK(d1 >= 65999 && d1 <= 66001);
    CHECK(d2 >= 53999 && d2 <= 54001);
    /* Keepalives and timeouts run on each node's own clock: all still fine. */
    CHECK(whole(sim, 3));
    ward_sim_free(sim);
}

static void test_tamper(void) {
    for (int mode = WARD_SIM_TAMPER_FLIP; mode <= WARD_SIM_TAMPER_MIX; mode++) {
        ward_sim *sim = city(3, 100 + (uint64_t)mode, 2, 1, 0, 0, NULL);
        if (!sim) return;
        CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
        CHECK_RC(ward_sim_tamper(sim, 0, 1, (ward_sim_tamper_mode)mode, 1.0), WARD_OK);
        ward_sim_run_until(sim, ward_sim_now(sim) + 30000);
        ward_sim_stats st;
        ward_sim_get_stats(sim, &st);
        /* Every tampered connection was closed by its receiver in time,
         * and the channel never came up while the adversary was there. */
        CHECK(st.tampered_writes > 0);
        CHECK(st.tampered_closed > 0);
        CHECK_EQ_U64(ward_sim_tamper_check(sim, 15000, NULL, NULL), 0);
        CHECK(ward_sim_connected_peers(sim, 1) <= 1);
        printf("tamper %d: %llu tampered writes, %llu connections closed, node2 rejected %llu frames\n", mode,
               (unsigned long long)st.tampered_writes, (unsigned long long)st.tampered_closed,
               (unsigned long long)rejected(sim, 1));
        if (mode != WARD_SIM_TAMPER_TRUNCATE) CHECK(rejected(sim, 1) > 0);
        /* The other channels were never touched. */
        CHECK_EQ_U64(rejected(sim, 2), 0);
        CHECK_RC(ward_sim_tamper(sim, 0, 1, WARD_SIM_TAMPER_NONE, 0), WARD_OK);
        CHECK(reconnects(sim, 3, 45000));
        ward_sim_free(sim);
    }
}

static void test_outsiders(void) {
    ward_sim *sim = city(4, 9, 2, 1, 0, 0, NULL);
    if (!sim) return;
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    size_t imp = 0, unk = 0;
    CHECK_RC(ward_sim_outsider_spawn(sim, &imp, WARD_SIM_OUTSIDER_IMPERSONATE), WARD_OK);
    CHECK_RC(ward_sim_outsider_spawn(sim, &unk, WARD_SIM_OUTSIDER_UNKNOWN), WARD_OK);
    CHECK(imp >= 4 && unk >= 4 && imp != unk);
    CHECK(strcmp(ward_sim_node_name(sim, imp), "node1") == 0);
    ward_sim_run_until(sim, ward_sim_now(sim) + 30000);
    ward_sim_stats st;
    ward_sim_get_stats(sim, &st);
    CHECK(st.outsider_dials >= 6);
    CHECK_EQ_U64(st.outsider_channels, 0);
    CHECK_EQ_U64(st.bytes_to_outsiders, 0);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, imp), 0);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, unk), 0);
    CHECK(whole(sim, 4)); /* the city is undisturbed */
    CHECK_RC(ward_sim_outsider_stop(sim, imp), WARD_OK);
    CHECK_RC(ward_sim_outsider_stop(sim, unk), WARD_OK);
    ward_sim_free(sim);
}

static void test_crash_keeps_store(void) {
    ward_sim *sim = city(2, 10, 2, 0, 0, 0, NULL);
    if (!sim) return;
    char path[700];
    snprintf(path, sizeof path, "%s/t.csv", base);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("a,b\n1,2\n3,4\n", f);
    fclose(f);
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    ward_import_report rep;
    CHECK_RC(ward_store_import(ward_sim_store(sim, 1), &rep, "t", path, &opt), WARD_OK);
    CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    CHECK_RC(ward_sim_crash(sim, 1), WARD_OK);
    CHECK(ward_sim_store(sim, 1) == NULL);
    CHECK(!ward_sim_node_up(sim, 1));
    ward_sim_run_until(sim, ward_sim_now(sim) + 1000);
    CHECK_EQ_U64(ward_sim_connected_peers(sim, 0), 0);
    CHECK_RC(ward_sim_restart(sim, 1), WARD_OK);
    CHECK(ward_sim_store(sim, 1) != NULL);
    ward_table_info t;
    CHECK_RC(ward_store_table_info(ward_sim_store(sim, 1), &t, "t"), WARD_OK);
    CHECK_EQ_U64(t.rows, 2);
    ward_table_info_clear(&t);
    CHECK(reconnects(sim, 2, 45000));
    ward_sim_free(sim);
}

static void digest_of(uint8_t out[32], uint64_t seed) {
    ward_sim_clock clocks[3] = {{100, 50}, {-200, -70}, {0, 0}};
    ward_sim *sim = city(3, seed, 3, 5, 0.05, 5000, clocks);
    if (!sim) return;
    ward_sim_run_connected(sim, 30000);
    uint32_t groups[3] = {1, 2, 2};
    ward_sim_partition(sim, groups, 3);
    ward_sim_tamper(sim, 1, 2, WARD_SIM_TAMPER_MIX, 0.5);
    size_t o;
    ward_sim_outsider_spawn(sim, &o, WARD_SIM_OUTSIDER_UNKNOWN);
    ward_sim_run_until(sim, ward_sim_now(sim) + 5000);
    ward_sim_stall(sim, 2);
    ward_sim_crash(sim, 0);
    ward_sim_run_until(sim, ward_sim_now(sim) + 5000);
    ward_sim_heal(sim);
    ward_sim_resume(sim, 2);
    ward_sim_restart(sim, 0);
    ward_sim_run_until(sim, ward_sim_now(sim) + 20000);
    ward_sim_digest(sim, out);
    ward_sim_free(sim);
}

static void test_determinism(void) {
    uint8_t a[32], b[32], c[32];
    digest_of(a, 42);
    digest_of(b, 42);
    digest_of(c, 43);
    CHECK_MEM(a, b, 32);
    CHECK(memcmp(a, c, 32) != 0);
}

static void test_bad_calls(void) {
    ward_sim *sim = city(2, 11, 1, 0, 0, 0, NULL);
    if (!sim) return;
    ward_sim_link bad = {.loss = 1.5};
    CHECK_RC(ward_sim_set_link(sim, -1, -1, &bad), WARD_EINVAL);
    CHECK_RC(ward_sim_tamper(sim, 0, 0, WARD_SIM_TAMPER_FLIP, 1), WARD_EINVAL);
    CHECK_RC(ward_sim_tamper(sim, 0, 1, WARD_SIM_TAMPER_FLIP, 2), WARD_EINVAL);
    uint32_t g[1] = {0};
    CHECK_RC(ward_sim_partition(sim, g, 1), WARD_EINVAL);
    CHECK_RC(ward_sim_resume(sim, 0), WARD_ESTATE);
    CHECK_RC(ward_sim_restart(sim, 0), WARD_ESTATE);
    ward_sim_free(sim);
    ward_sim_config cfg = {.nodes = 2, .seed = 1, .dir = base, .loss = -0.1};
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_EINVAL);
}

int main(void) {
    CHECK(mkdtemp(base) != NULL);
    test_order_under_jitter();
    test_bandwidth();
    test_loss();
    test_reset_threshold();
    test_partition();
    test_stall();
    test_clocks();
    test_tamper();
    test_outsiders();
    test_crash_keeps_store();
    test_determinism();
    test_bad_calls();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
    return check_done("netsim-link");
}
