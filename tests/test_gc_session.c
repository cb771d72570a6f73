/* Two-party garbled-circuit sessions (`ward gc`, node/session_gc.c)
 * between two real cores in the deterministic simulator: AES-128 with the
 * FIPS-197 known answer, base OTs run once per connection and direction
 * and reused afterwards, a 64-bit adder against plaintext evaluation, and
 * the failures: mismatched circuits, mismatched roles, a wrong input width,
 * a circuit that does not parse, a session nobody joins, and a garbler
 * that sends truncated tables or too few input labels (test faults). */
#include <limits.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "circuit.h"
#include "error.h"
#include "readfile.h"
#include "sim.h"

static char vec[PATH_MAX - 64];

static const char *circ_path(char *out, size_t cap, const char *name) {
    if ((size_t)snprintf(out, cap, "%.3000s/bristol/%.64s", vec, name) >= cap) out[0] = 0;
    return out;
}

typedef struct {
    Ward__Control__Request req;
    Ward__Control__GcRequest gc;
    char *inputs[4];
    char path[PATH_MAX];
} gc_req;

static void make_req(gc_req *r, const char *peer, const char *session, const char *circuit,
                     Ward__Control__GcRole role, const char *in0, const char *in1) {
    memset(r, 0, sizeof *r);
    ward__control__request__init(&r->req);
    ward__control__gc_request__init(&r->gc);
    circ_path(r->path, sizeof r->path, circuit);
    r->gc.peer = (char *)peer;
    r->gc.session = (char *)session;
    r->gc.circuit_path = r->path;
    r->gc.role = role;
    size_t n = 0;
    if (in0) r->inputs[n++] = (char *)in0;
    if (in1) r->inputs[n++] = (char *)in1;
    r->gc.inputs = r->inputs;
    r->gc.n_inputs = n;
    r->req.command_case = WARD__CONTROL__REQUEST__COMMAND_GC;
    r->req.gc = &r->gc;
}

/* Runs one session: node 0 with in0, node 1 with in1 (NULL: node 1 does
 * not take part). Fills resp[0..1]; the caller frees them. */
static void run_pair(ward_sim *sim, Ward__Control__Response *resp[2], const char *session,
                     const char *circ0, const char *circ1, Ward__Control__GcRole r0,
                     Ward__Control__GcRole r1, const char *in0, const char *in1) {
    gc_req a, b;
    resp[0] = resp[1] = NULL;
    make_req(&a, "node2", session, circ0, r0, in0, NULL);
    CHECK_RC(ward_sim_control_send(sim, 0, &a.req), WARD_OK);
    if (in1) {
        make_req(&b, "node1", session, circ1, r1, in1, NULL);
        CHECK_RC(ward_sim_control_send(sim, 1, &b.req), WARD_OK);
    }
    CHECK_RC(ward_sim_control_wait(sim, &resp[0], 0, 60000), WARD_OK);
    if (in1) CHECK_RC(ward_sim_control_wait(sim, &resp[1], 1, 60000), WARD_OK);
}

static void free_pair(Ward__Control__Response *resp[2]) {
    for (int i = 0; i < 2; i++)
        if (resp[i]) ward__control__response__free_unpacked(resp[i], NULL);
}

static int ok_gc(const Ward__Control__Response *r) {
    if (!r) return 0;
    if (r->error) fprintf(stderr, "  gc failed: %s\n", r->message);
    return r->error == 0 && r->result_case == WARD__CONTROL__RESPONSE__RESULT_GC && r->gc->n_outputs >= 1;
}

static int err_has(const Ward__Control__Response *r, const char *text) {
    int ok = r && r->error != 0 && r->message && strstr(r->message, text) != NULL;
    if (!ok) fprintf(stderr, "  wanted an error with '%s', got: %s\n", text,
                     r ? (r->error ? r->message : "success") : "(no response)");
    return ok;
}

static ward_sim *new_sim(const char *dir, uint64_t seed, uint32_t fault) {
    ward_sim_config cfg = {.nodes = 2, .seed = seed, .dir = dir, .latency_ms = 1, .jitter_ms = 1,
                           .allow_exact = 1, .session_timeout_ms = 2000, .test_fault = fault,
                           .test_fault_node = 0};
    ward_sim *sim = NULL;
    CHECK_RC(ward_sim_new(&sim, &cfg), WARD_OK);
    if (sim) CHECK_RC(ward_sim_run_connected(sim, 30000), WARD_OK);
    return sim;
}

static const char aes_key[] = "000102030405060708090a0b0c0d0e0f";
static const char aes_pt[] = "00112233445566778899aabbccddeeff";
static const char aes_ct[] = "69c4e0d86a7b0430d8cdb78070b4c55a"; /* FIPS-197 C.1 */

static void test_sessions(const char *dir) {
    ward_sim *sim = new_sim(dir, 11, 0);
    if (!sim) return;
    Ward__Control__Response *r[2];
    const Ward__Control__GcRole AUTO = WARD__CONTROL__GC_ROLE__GC_ROLE_AUTO;

    /* AES-128, node1 (lower name) garbles the key, node2 evaluates the
     * plaintext: both learn the ciphertext; base OTs run. */
    run_pair(sim, r, "aes-1", "aes_128.txt", "aes_128.txt", AUTO, AUTO, aes_key, aes_pt);
    CHECK(ok_gc(r[0]) && ok_gc(r[1]));
    if (ok_gc(r[0]) && ok_gc(r[1])) {
        CHECK(strcmp(r[0]->gc->outputs[0], aes_ct) == 0);
        CHECK(strcmp(r[1]->gc->outputs[0], aes_ct) == 0);
        CHECK(r[0]->gc->garbler && !r[1]->gc->garbler);
        CHECK(r[0]->gc->base_ots && r[1]->gc->base_ots);
        CHECK_EQ_U64(r[0]->gc->and_gates, 6400);
        CHECK(r[0]->gc->bytes_sent > 6400u * 32u);   /* the tables */
        CHECK(r[1]->gc->bytes_sent < 64u * 1024u);   /* OT messages and the output */
        CHECK(strcmp(r[0]->gc->session, r[1]->gc->session) == 0);
    }
    free_pair(r);

    /* Same pair again: the OT extension state is reused. */
    for (int k = 0; k < 3; k++) {
        run_pair(sim, r, k == 0 ? "aes-2" : k == 1 ? "aes-3" : "aes-4", "aes_128.txt", "aes_128.txt",
                 AUTO, AUTO, aes_key, aes_pt);
        CHECK(ok_gc(r[0]) && ok_gc(r[1]));
        if (ok_gc(r[0]) && ok_gc(r[1])) {
            CHECK(strcmp(r[0]->gc->outputs[0], aes_ct) == 0);
            CHECK(strcmp(r[1]->gc->outputs[0], aes_ct) == 0);
            CHECK(!r[0]->gc->base_ots && !r[1]->gc->base_ots);
        }
        free_pair(r);
    }

    /* The other direction (node2 garbles) has its own base OTs. */
    run_pair(sim, r, "flip", "aes_128.txt", "aes_128.txt", WARD__CONTROL__GC_ROLE__GC_ROLE_EVALUATOR,
             AUTO, aes_pt, aes_key);
    CHECK(ok_gc(r[0]) && ok_gc(r[1]));
    if (ok_gc(r[0]) && ok_gc(r[1])) {
        CHECK(!r[0]->gc->garbler && r[1]->gc->garbler);
        CHECK(r[0]->gc->base_ots && r[1]->gc->base_ots);
        CHECK(strcmp(r[0]->gc->outputs[0], aes_ct) == 0);
    }
    free_pair(r);

    /* A 64-bit adder against plaintext evaluation, random inputs. */
    ward_circuit adder;
    memset(&adder, 0, sizeof adder);
    char p[PATH_MAX], *text = NULL;
    size_t len = 0;
    CHECK_RC(ward_read_file(&text, &len, circ_path(p, sizeof p, "adder64.txt"), 1u << 24), WARD_OK);
    CHECK_RC(ward_circuit_parse_var(&adder, NULL, text, len), WARD_OK);
    free(text);
    ward_rng rng;
    ward_rng_init_u64(&rng, 99);
    for (int k = 0; k < 4; k++) {
        uint64_t x = ward_rng_u64(&rng), y = ward_rng_u64(&rng);
        char hx[20], hy[20], want[20], name[16];
        snprintf(hx, sizeof hx, "%016llx", (unsigned long long)x);
        snprintf(hy, sizeof hy, "%016llx", (unsigned long long)y);
        snprintf(name, sizeof name, "add-%d", k);
        uint8_t in[16], o[8];
        for (int i = 0; i < 8; i++) {
            in[i] = (uint8_t)(x >> (8 * i));
            in[8 + i] = (uint8_t)(y >> (8 * i));
        }
        CHECK_RC(ward_circuit_eval_bytes_var(&adder, o, sizeof o, in, sizeof in), WARD_OK);
        uint64_t z = 0;
        for (int i = 0; i < 8; i++) z |= (uint64_t)o[i] << (8 * i);
        snprintf(want, sizeof want, "%016llx", (unsigned long long)z);
        CHECK(z == x + y);
        run_pair(sim, r, name, "adder64.txt", "adder64.txt", AUTO, AUTO, hx, hy);
        CHECK(ok_gc(r[0]) && ok_gc(r[1]));
        if (ok_gc(r[0]) && ok_gc(r[1])) {
            CHECK(strcmp(r[0]->gc->outputs[0], want) == 0);
            CHECK(strcmp(r[1]->gc->outputs[0], want) == 0);
        }
        free_pair(r);
    }
    ward_circuit_free(&adder);
    ward_rng_clear(&rng);

    /* Mismatched circuits: both sides say so. */
    run_pair(sim, r, "mismatch", "adder64.txt", "sub64.txt", AUTO, AUTO, "1", "2");
    CHECK(err_has(r[0], "circuit mismatch") && err_has(r[1], "circuit mismatch"));
    free_pair(r);

    /* Both want to garble. */
    run_pair(sim, r, "roles", "adder64.txt", "adder64.txt", WARD__CONTROL__GC_ROLE__GC_ROLE_GARBLER,
             WARD__CONTROL__GC_ROLE__GC_ROLE_GARBLER, "1", "2");
    CHECK(err_has(r[0], "both parties asked to be the garbler"));
    CHECK(err_has(r[1], "both parties asked to be the garbler"));
    free_pair(r);

    /* An input wider than its width: refused before anything is sent. */
    run_pair(sim, r, "wide", "adder64.txt", NULL, AUTO, AUTO, "1ffffffffffffffff", NULL);
    CHECK(err_has(r[0], "does not fit in 64 bits"));
    free_pair(r);

    /* A session nobody joins: a timeout naming the peer. */
    run_pair(sim, r, "lonely", "adder64.txt", NULL, AUTO, AUTO, "1", NULL);
    CHECK(err_has(r[0], "waiting for node2 to join session lonely"));
    free_pair(r);

    /* A circuit that does not parse: the file and line. */
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/bad.txt", dir);
    FILE *f = fopen(bad, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("2 5\n2 1 1\n1 1\n\n2 1 0 1 3 AND\n2 1 3 9 4 XOR\n", f);
        fclose(f);
    }
    gc_req q;
    make_req(&q, "node2", "bad", "adder64.txt", AUTO, "1", NULL);
    snprintf(q.path, sizeof q.path, "%s", bad);
    Ward__Control__Response *one = NULL;
    CHECK_RC(ward_sim_control(sim, &one, 0, &q.req, 60000), WARD_OK);
    CHECK(err_has(one, "bad.txt:6:"));
    if (one) ward__control__response__free_unpacked(one, NULL);

    /* And the pair still works afterwards. */
    run_pair(sim, r, "after", "aes_128.txt", "aes_128.txt", AUTO, AUTO, aes_key, aes_pt);
    CHECK(ok_gc(r[0]) && ok_gc(r[1]));
    if (ok_gc(r[1])) CHECK(strcmp(r[1]->gc->outputs[0], aes_ct) == 0);
    free_pair(r);

    ward_core_stats st;
    CHECK_RC(ward_sim_node_stats(sim, 0, &st), WARD_OK);
    CHECK_EQ_U64(st.sessions_active, 0);
    ward_sim_free(sim);
}

/* A garbler (node1, by the test fault) that cheats on the message sizes. */
static void test_fault(const char *dir, uint32_t fault, const char *want1) {
    ward_sim *sim = new_sim(dir, 23, fault);
    if (!sim) return;
    Ward__Control__Response *r[2];
    const Ward__Control__GcRole AUTO = WARD__CONTROL__GC_ROLE__GC_ROLE_AUTO;
    run_pair(sim, r, "cheat", "aes_128.txt", "aes_128.txt", AUTO, AUTO, aes_key, aes_pt);
    CHECK(err_has(r[1], want1));            /* the evaluator notices */
    CHECK(err_has(r[0], "aborted by node2")); /* and tells the garbler */
    free_pair(r);
    ward_core_stats st;
    CHECK_RC(ward_sim_node_stats(sim, 1, &st), WARD_OK);
    CHECK_EQ_U64(st.sessions_active, 0);
    ward_sim_free(sim);
}

int main(void) {
    char full[PATH_MAX];
    if (!realpath(check_vectors_dir(), full) || strlen(full) >= sizeof vec) {
        fprintf(stderr, "no vectors directory\n");
        return 1;
    }
    snprintf(vec, sizeof vec, "%s", full);
    char dir[] = "/tmp/ward-gc-session-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_sessions(dir);
    char d2[PATH_MAX], d3[PATH_MAX];
    snprintf(d2, sizeof d2, "%s/t", dir);
    snprintf(d3, sizeof d3, "%s/l", dir);
    CHECK(mkdir(d2, 0700) == 0 && mkdir(d3, 0700) == 0);
    test_fault(d2, WARD_TEST_FAULT_GC_TRUNCATE, "truncated garbled tables: 204768 of 204800 bytes");
    test_fault(d3, WARD_TEST_FAULT_GC_LABELS, "garbler input labels");
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("gc-session");
}
