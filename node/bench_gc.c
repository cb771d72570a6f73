/* `ward bench gc` and `ward bench ot`: garbling and oblivious transfer.
 *
 * gc figures (the AES-128 circuit of tests/vectors/bristol, 6400 AND):
 *   garble_and_per_s     AND gates per second garbling the whole circuit on
 *                        one core (ward_garbler_next over every gate, XOR
 *                        and INV included; setup excluded), anchored by the
 *                        bound of 4 fixed-key AES blocks per AND: the
 *                        blocks/s of the same hash code (ward_tccrh_hash_seq
 *                        over 16 KiB batches) measured in the same run, / 4;
 *   eval_and_per_s       the same for evaluation, bound blocks/s / 2;
 *   garble_ns_per_and, eval_ns_per_and   the same runs in ns per AND, beside
 *                        EMP-toolkit's figures on this machine type
 *                        (quoted, REFERENCE-FIGURES.md);
 *   hash_blocks_per_s    the AES bound itself;
 *   garble_aes128_us, eval_aes128_us   one whole garbling / evaluation of
 *                        the circuit including a session's setup (label
 *                        allocation, input labels, wiping), from a plan
 *                        compiled beforehand;
 *   compile_aes128_us    compiling the circuit into that plan
 *                        (ward_gc_compile_var: checks, steps, label
 *                        slots), once per circuit rather than per session
 *                        (median of a tenth as many runs as the rates).
 * ot figures (one process: both parties' work on one core, no network):
 *   base_ot_128_ms       128 Masny-Rindal base OTs, both sides;
 *   iknp_ot_per_s        random OTs per second through IKNP with the KOS
 *                        check (extension, check, and hashing on both
 *                        sides), beside EMP's two-process figure (quoted);
 *   iknp_cot_per_s, iknp_chosen_ot_per_s   correlated (no hashing) and
 *                        chosen-message OTs the same way;
 *   iknp_2proc_ot_per_s  random OTs per second between two processes over
 *                        TCP on 127.0.0.1 (a fork; the receiver sends U,
 *                        the sender its challenge, the receiver its check,
 *                        per extension of 2^16), plain TCP as in EMP's
 *                        figure; the base-OT seeds are set up before the
 *                        fork (base OTs are timed above). The last
 *                        extension's outputs are compared across the two.
 * The gc rates are medians over 1000 runs (100 with --quick) of one whole
 * pass over the circuit; the AES bound is the best of several 16 KiB-batch
 * timings, taken before, between and after them. The circuit is first put
 * in the batch-friendly gate order of ward_gc_reorder_var() and compiled,
 * as a session would; *_file_order figures give the same measurements in
 * the file's order. base OT is the median of several runs, IKNP the best
 * of several batches of 2^16-OT extensions; --quick runs fewer.
 */
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "readfile.h"
#include "bench.h"
#include "circuit.h"
#include "error.h"
#include "garble.h"
#include "gc_hash.h"
#include "ot_base.h"
#include "ot_ext.h"
#include "rng.h"

static const char anchor_emp_gc[] = "EMP-toolkit 0.3.0, same machine type (REFERENCE-FIGURES.md), quoted";
static const char anchor_garble[] = "4 fixed-key AES blocks per AND (same AES code), same run";
static const char anchor_eval[] = "2 fixed-key AES blocks per AND (same AES code), same run";
static const char anchor_emp_ot[] =
    "EMP 0.3.0, 2 processes on loopback, quoted; ours: one process, no network";
static const char anchor_emp_ot2[] =
    "EMP 0.3.0, 2 processes on loopback, quoted; ours: 2 processes, plain TCP on loopback";
static const char anchor_emp_base[] = "EMP 0.3.0, 2 processes on loopback, quoted (REFERENCE-FIGURES.md)";

/* ---- loading the AES circuit -------------------------------------------- */

static char *read_file(const char *path, size_t *len) {
    char *buf = NULL;
    return ward_read_file(&buf, len, path, (size_t)1 << 30) == 0 ? buf : NULL;
}

/* $WARD_VECTORS/bristol, then tests/vectors/bristol from the working
 * directory, then from the source tree the executable was built in. */
static int load_aes(ward_circuit *c) {
    char path[PATH_MAX + 64];
    char *text = NULL;
    size_t len = 0;
    const char *env = getenv("WARD_VECTORS");
    if (env) {
        snprintf(path, sizeof path, "%s/bristol/aes_128.txt", env);
        text = read_file(path, &len);
    }
    if (!text) text = read_file("tests/vectors/bristol/aes_128.txt", &len);
    if (!text) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) *slash = '\0';
            snprintf(path, sizeof path, "%s/../../tests/vectors/bristol/aes_128.txt", exe);
            text = read_file(path, &len);
        }
    }
    if (!text) {
        fprintf(stderr, "ward: bench gc: cannot find tests/vectors/bristol/aes_128.txt "
                        "(run from the source tree or set WARD_VECTORS)\n");
        return WARD_ENOTFOUND;
    }
    int rc = ward_circuit_parse_var(c, NULL, text, len);
    free(text);
    return rc;
}

/* ---- gc -------------------------------------------------------------------- */

static double time_hash_blocks(size_t reps, int batches) {
    enum { NB = 1024 }; /* 16 KiB */
    ward_block *buf = aligned_alloc(64, NB * sizeof(ward_block));
    if (!buf) return 0;
    memset(buf, 0x5a, NB * sizeof(ward_block));
    uint8_t key[16] = {1};
    ward_tccrh h;
    if (ward_tccrh_init(&h, key) != WARD_OK) {
        free(buf);
        return 0;
    }
    double best = 1e300;
    for (int b = 0; b < batches; b++) {
        double t0 = ward_bench_now();
        for (size_t i = 0; i < reps; i++) {
            ward_tccrh_hash_seq(&h, buf, buf, NB, i * NB);
            ward_bench_sink(buf, NB * sizeof(ward_block));
        }
        double dt = ward_bench_now() - t0;
        if (dt < best) best = dt;
    }
    free(buf);
    return (double)reps * NB / best;
}

typedef struct {
    const ward_circuit *c;
    const ward_gc_plan *p;
    uint8_t *tables;
    uint8_t key[WARD_GC_KEY_BYTES];
    ward_block *inputs; /* active labels of every input wire */
    uint8_t *decode;
} gc_run;

/* Garbles c once, keeping tables, key, active input labels, decoding bits. */
static int garble_once(gc_run *g, ward_rng *rng) {
    ward_garbler gb;
    const ward_circuit *c = g->c;
    int rc = ward_garbler_init(&gb, g->p, rng);
    if (rc != WARD_OK) return rc;
    uint8_t *bits = calloc(c->input_bits, 1);
    if (!bits) {
        ward_garbler_free(&gb);
        return WARD_ENOMEM;
    }
    for (uint32_t i = 0; i < c->input_bits; i++) bits[i] = (uint8_t)(ward_rng_u64(rng) & 1);
    rc = ward_garbler_encode(&gb, g->inputs, 0, bits, c->input_bits);
    free(bits);
    size_t len = 0;
    if (rc == WARD_OK) rc = ward_garbler_hash_key(&gb, g->key);
    if (rc == WARD_OK)
        rc = ward_garbler_next(&gb, g->tables, ward_gc_table_bytes(c) + WARD_GC_TABLE_BYTES, &len);
    if (rc == WARD_OK && !ward_garbler_done(&gb)) rc = WARD_ESTATE;
    if (rc == WARD_OK) rc = ward_garbler_decode_bits(&gb, g->decode, c->output_bits);
    ward_garbler_free(&gb);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Median seconds of one ward_garbler_next over the whole circuit (setup
 * outside the clock), and of one whole garbling with setup, over n runs.
 * Medians rather than sums: on a shared machine a run that another process
 * interrupts then moves the figure by one sample, not by its delay. */
static int time_garble(gc_run *g, ward_rng *rng, size_t n, double *run, double *whole) {
    const ward_circuit *c = g->c;
    size_t cap = ward_gc_table_bytes(c) + WARD_GC_TABLE_BYTES;
    double *tr = malloc(n * sizeof *tr), *tw = malloc(n * sizeof *tw);
    int rc = tr && tw ? WARD_OK : WARD_ENOMEM;
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        ward_garbler gb;
        double t0 = ward_bench_now();
        rc = ward_garbler_init(&gb, g->p, rng);
        if (rc != WARD_OK) break;
        double t1 = ward_bench_now();
        size_t len = 0;
        rc = ward_garbler_next(&gb, g->tables, cap, &len);
        double t2 = ward_bench_now();
        ward_bench_sink(g->tables, len);
        ward_garbler_free(&gb);
        double t3 = ward_bench_now();
        tr[i] = t2 - t1;
        tw[i] = t3 - t0;
    }
    if (rc == WARD_OK) {
        *run = median(tr, n);
        *whole = median(tw, n);
    }
    free(tr);
    free(tw);
    return rc;
}

/* The same for evaluation; *correct is cleared if two runs disagree. */
static int time_eval(gc_run *g, size_t n, double *run, double *whole, int *correct) {
    const ward_circuit *c = g->c;
    size_t bytes = ward_gc_table_bytes(c);
    uint8_t *out = malloc(c->output_bits), *want = malloc(c->output_bits);
    double *tr = malloc(n * sizeof *tr), *tw = malloc(n * sizeof *tw);
    int rc = out && want && tr && tw ? WARD_OK : WARD_ENOMEM;
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        ward_evaluator ev;
        double t0 = ward_bench_now();
        rc = ward_evaluator_init(&ev, g->p, g->key);
        if (rc == WARD_OK) rc = ward_evaluator_set_input_labels(&ev, 0, g->inputs, c->input_bits);
        double t1 = ward_bench_now();
        if (rc == WARD_OK) rc = ward_evaluator_feed(&ev, g->tables, bytes);
        double t2 = ward_bench_now();
        if (rc == WARD_OK) rc = ward_evaluator_decode(&ev, out, c->output_bits, g->decode, c->output_bits);
        ward_evaluator_free(&ev);
        double t3 = ward_bench_now();
        if (i == 0) memcpy(want, out, c->output_bits);
        else *correct &= memcmp(want, out, c->output_bits) == 0;
        tr[i] = t2 - t1;
        tw[i] = t3 - t0;
    }
    if (rc == WARD_OK) {
        *run = median(tr, n);
        *whole = median(tw, n);
    }
    free(out);
    free(want);
    free(tr);
    free(tw);
    return rc;
}

/* Garbling and evaluation rates (AND/s) of c, one whole run of each
 * including setup, and the compilation (seconds, medians). */
typedef struct {
    double garble, eval, garble_whole, eval_whole, compile;
} gc_rates;

static int time_compile(const ward_circuit *c, size_t n, ward_gc_plan *plan, double *secs) {
    double *tc = malloc(n * sizeof *tc);
    int rc = tc ? WARD_OK : WARD_ENOMEM;
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        ward_gc_plan_free(plan);
        double t0 = ward_bench_now();
        rc = ward_gc_compile_var(plan, c);
        tc[i] = ward_bench_now() - t0;
    }
    if (rc == WARD_OK) *secs = median(tc, n);
    free(tc);
    return rc;
}

static int measure_gc(const ward_circuit *c, ward_rng *rng, size_t runs, gc_rates *out) {
    ward_gc_plan plan = {0};
    int rc = time_compile(c, runs / 10 ? runs / 10 : 1, &plan, &out->compile);
    gc_run g = {c, &plan, NULL, {0}, NULL, NULL};
    g.tables = malloc(ward_gc_table_bytes(c) + WARD_GC_TABLE_BYTES);
    g.inputs = aligned_alloc(64, ((size_t)c->input_bits * sizeof(ward_block) + 63) & ~(size_t)63);
    g.decode = malloc(c->output_bits);
    if (!g.tables || !g.inputs || !g.decode) rc = WARD_ENOMEM;
    double tg = 0, te = 0;
    int correct = 1;
    if (rc == WARD_OK) rc = time_garble(&g, rng, runs, &tg, &out->garble_whole);
    if (rc == WARD_OK) rc = garble_once(&g, rng);
    if (rc == WARD_OK) rc = time_eval(&g, runs, &te, &out->eval_whole, &correct);
    if (rc == WARD_OK && !correct) {
        fprintf(stderr, "ward: bench gc: evaluations disagree\n");
        rc = WARD_ESTATE;
    }
    out->garble = (double)c->and_count / tg;
    out->eval = (double)c->and_count / te;
    free(g.tables);
    free(g.inputs);
    free(g.decode);
    ward_gc_plan_free(&plan);
    return rc;
}

int ward_bench_gc(ward_bench_report *r) {
    int rc = ward_gc_cpu_check();
    if (rc != WARD_OK) return rc;
    ward_circuit file, c;
    rc = load_aes(&file);
    if (rc != WARD_OK) return rc;
    rc = load_aes(&c);
    if (rc == WARD_OK) rc = ward_gc_reorder_var(&c);
    if (rc != WARD_OK) {
        ward_circuit_free(&file);
        ward_circuit_free(&c);
        return rc;
    }
    const int batches = r->quick ? 3 : 5;
    const size_t reps = r->quick ? 30 : 200, runs = r->quick ? 100 : 1000;

    ward_rng rng;
    ward_rng_init_u64(&rng, 0x62656e6367ull);
    /* The AES bound is measured before, between and after the garbling
     * runs and the best counts: on a shared machine a burst of load on
     * the sibling core would otherwise lower the bound and flatter the
     * ratios. */
    double blocks = time_hash_blocks(reps * 4, batches), b2;
    gc_rates ro, fo;
    rc = measure_gc(&c, &rng, runs, &ro);
    b2 = time_hash_blocks(reps * 4, batches);
    if (b2 > blocks) blocks = b2;
    if (rc == WARD_OK) rc = measure_gc(&file, &rng, runs, &fo);
    b2 = time_hash_blocks(reps * 4, batches);
    if (b2 > blocks) blocks = b2;
    if (rc == WARD_OK) {
        ward_bench_add(r, "garble_and_per_s", ro.garble, "AND/s", anchor_garble, blocks / 4);
        ward_bench_add(r, "eval_and_per_s", ro.eval, "AND/s", anchor_eval, blocks / 2);
        ward_bench_add(r, "garble_ns_per_and", 1e9 / ro.garble, "ns", anchor_emp_gc, 30.4);
        ward_bench_add(r, "eval_ns_per_and", 1e9 / ro.eval, "ns", anchor_emp_gc, 27.0);
        ward_bench_add(r, "hash_blocks_per_s", blocks, "blocks/s", NULL, 0);
        ward_bench_add(r, "garble_aes128_us", ro.garble_whole * 1e6, "us", NULL, 0);
        ward_bench_add(r, "eval_aes128_us", ro.eval_whole * 1e6, "us", NULL, 0);
        ward_bench_add(r, "compile_aes128_us", ro.compile * 1e6, "us", NULL, 0);
        ward_bench_add(r, "garble_and_per_s_file_order", fo.garble, "AND/s", anchor_garble,
                       blocks / 4);
        ward_bench_add(r, "eval_and_per_s_file_order", fo.eval, "AND/s", anchor_eval, blocks / 2);
    }
    ward_rng_clear(&rng);
    ward_circuit_free(&c);
    ward_circuit_free(&file);
    return rc;
}

/* ---- ot -------------------------------------------------------------------- */

static int base_ot_once(ward_rng *rng, double *secs) {
    uint8_t sid[32] = {'b', 'e', 'n', 'c', 'h'}, delta[16], B[32];
    ward_block k0[128], k1[128], kr[128];
    uint8_t *msg = malloc(WARD_BASEOT_RECV_MSG_BYTES(128));
    if (!msg) return WARD_ENOMEM;
    ward_rng_bytes(rng, delta, sizeof delta);
    ward_baseot_sender s;
    ward_baseot_receiver rv;
    size_t len = 0;
    double t0 = ward_bench_now();
    int rc = ward_baseot_sender_init(&s, rng, sid, 128);
    if (rc == WARD_OK) rc = ward_baseot_receiver_init(&rv, rng, sid, delta, 128);
    if (rc == WARD_OK) rc = ward_baseot_receiver_msg(&rv, msg, WARD_BASEOT_RECV_MSG_BYTES(128), &len);
    if (rc == WARD_OK) rc = ward_baseot_sender_msg(&s, B);
    if (rc == WARD_OK) rc = ward_baseot_sender_finish(&s, k0, k1, 128, msg, len);
    if (rc == WARD_OK) rc = ward_baseot_receiver_finish(&rv, kr, 128, B, 32);
    *secs = ward_bench_now() - t0;
    ward_baseot_sender_clear(&s);
    ward_baseot_receiver_clear(&rv);
    free(msg);
    return rc;
}

enum { OT_COT = 0, OT_RANDOM = 1, OT_CHOSEN = 2 };

typedef struct {
    ward_otx_sender s;
    ward_otx_receiver rv;
    size_t m;
    uint8_t *u, *choices, *y;
    ward_block *t, *q, *o0, *o1;
    uint64_t index;
} ot_ctx;

/* One extension of x->m OTs of the given kind, both sides. */
static int ot_round(ot_ctx *x, ward_rng *rng, int kind) {
    uint8_t chal[16], chk[32];
    size_t m = x->m, ulen = ward_otx_u_bytes(m);
    int rc = ward_otx_recv_extend(&x->rv, rng, x->u, ulen, x->t, x->choices, m);
    if (rc == WARD_OK) rc = ward_otx_send_extend(&x->s, rng, x->q, chal, m, x->u, ulen);
    if (rc == WARD_OK) rc = ward_otx_recv_check(&x->rv, chk, x->t, x->choices, m, chal, 16);
    if (rc == WARD_OK) rc = ward_otx_send_verify(&x->s, x->q, m, chk, 32);
    if (rc == WARD_OK && kind == OT_RANDOM) {
        rc = ward_otx_send_random(&x->s, x->o0, x->o1, x->q, m, x->index);
        if (rc == WARD_OK) rc = ward_otx_recv_random(&x->rv, x->t, x->t, m, x->index);
    }
    if (rc == WARD_OK && kind == OT_CHOSEN) {
        /* the messages: whatever o0 and o1 hold */
        rc = ward_otx_send_chosen(&x->s, x->y, 32 * m, x->o0, x->o1, x->q, m, x->index);
        if (rc == WARD_OK)
            rc = ward_otx_recv_chosen(&x->rv, x->t, x->choices, x->t, m, x->index, x->y, 32 * m);
    }
    x->index += m;
    ward_bench_sink(x->t, m * sizeof(ward_block));
    ward_bench_sink(x->o1, m * sizeof(ward_block));
    return rc;
}

static int time_ot(ot_ctx *x, ward_rng *rng, int kind, int reps, int batches, double *rate) {
    double best = 1e300;
    for (int b = 0; b < batches; b++) {
        double t0 = ward_bench_now();
        for (int i = 0; i < reps; i++) {
            int rc = ot_round(x, rng, kind);
            if (rc != WARD_OK) return rc;
        }
        double dt = ward_bench_now() - t0;
        if (dt < best) best = dt;
    }
    *rate = (double)x->m * reps / best;
    return WARD_OK;
}

/* ---- IKNP between two processes ----------------------------------------- */

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n) {
    uint8_t *b = p;
    while (n > 0) {
        ssize_t k = read(fd, b, n);
        if (k <= 0) return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static uint64_t fold(const ward_block *b, size_t n) {
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w[2];
        memcpy(w, b[i].b, 16);
        h ^= (w[0] + 0x9e3779b97f4a7c15ull * (i + 1)) ^ (w[1] << 1);
    }
    return h;
}

/* The receiver's side, in the child: `warm + timed` extensions of m, then
 * the last extension's choices and a fold of its outputs for the check. */
static int iknp_child(int fd, const uint8_t sid[32], const ward_block *s0, const ward_block *s1,
                      size_t m, int total) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x63686c64ull);
    ward_otx_receiver rv;
    size_t ulen = ward_otx_u_bytes(m);
    uint8_t *u = malloc(ulen), *choices = malloc(m / 8);
    ward_block *t = aligned_alloc(64, m * sizeof(ward_block));
    int rc = u && choices && t ? ward_otx_receiver_init(&rv, sid, s0, s1) : WARD_ENOMEM;
    uint64_t index = 0;
    for (int e = 0; e < total && rc == WARD_OK; e++) {
        uint8_t chal[16], chk[32];
        ward_rng_bytes(&rng, choices, m / 8);
        rc = ward_otx_recv_extend(&rv, &rng, u, ulen, t, choices, m);
        if (rc == WARD_OK && write_all(fd, u, ulen) != 0) rc = WARD_EIO;
        if (rc == WARD_OK && read_all(fd, chal, 16) != 0) rc = WARD_EIO;
        if (rc == WARD_OK) rc = ward_otx_recv_check(&rv, chk, t, choices, m, chal, 16);
        if (rc == WARD_OK && write_all(fd, chk, 32) != 0) rc = WARD_EIO;
        if (rc == WARD_OK) rc = ward_otx_recv_random(&rv, t, t, m, index);
        index += m;
    }
    if (rc == WARD_OK) {
        uint64_t h = fold(t, m);
        if (write_all(fd, choices, m / 8) != 0 || write_all(fd, &h, 8) != 0) rc = WARD_EIO;
    }
    if (rc == WARD_OK) ward_otx_receiver_clear(&rv);
    free(u);
    free(choices);
    free(t);
    ward_rng_clear(&rng);
    return rc;
}

static int iknp_two_process(double *rate, int quick) {
    const size_t m = (size_t)1 << 16;
    const int warm = 4, timed = quick ? 64 : 256;
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x32707263ull);
    ward_block s0[128], s1[128], ss[128], delta;
    uint8_t sid[32] = {'i', 'k', 'n', 'p', '2'};
    ward_rng_bytes(&rng, delta.b, 16);
    delta.b[0] |= 1;
    ward_rng_bytes(&rng, (uint8_t *)s0, sizeof s0);
    ward_rng_bytes(&rng, (uint8_t *)s1, sizeof s1);
    for (int j = 0; j < 128; j++) ss[j] = ((delta.b[j / 8] >> (j % 8)) & 1) ? s1[j] : s0[j];

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
        if (ls >= 0) close(ls);
        ward_rng_clear(&rng);
        return WARD_EIO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(ls);
        ward_rng_clear(&rng);
        return WARD_EIO;
    }
    int one = 1;
    if (pid == 0) {
        close(ls);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (ok) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int rc = ok ? iknp_child(fd, sid, s0, s1, m, warm + timed) : WARD_EIO;
        _exit(rc == WARD_OK ? 0 : 1);
    }
    int fd = accept(ls, NULL, NULL);
    close(ls);
    int rc = fd >= 0 ? WARD_OK : WARD_EIO;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ward_otx_sender s;
    size_t ulen = ward_otx_u_bytes(m);
    uint8_t *u = malloc(ulen), *choices = malloc(m / 8);
    ward_block *q = aligned_alloc(64, m * sizeof(ward_block));
    ward_block *o0 = aligned_alloc(64, m * sizeof(ward_block));
    ward_block *o1 = aligned_alloc(64, m * sizeof(ward_block));
    if (rc == WARD_OK && (!u || !choices || !q || !o0 || !o1)) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_otx_sender_init(&s, sid, &delta, ss);
    uint64_t index = 0;
    double t0 = 0;
    for (int e = 0; e < warm + timed && rc == WARD_OK; e++) {
        if (e == warm) t0 = ward_bench_now();
        uint8_t chal[16], chk[32];
        if (read_all(fd, u, ulen) != 0) rc = WARD_EIO;
        if (rc == WARD_OK) rc = ward_otx_send_extend(&s, &rng, q, chal, m, u, ulen);
        if (rc == WARD_OK && write_all(fd, chal, 16) != 0) rc = WARD_EIO;
        if (rc == WARD_OK && read_all(fd, chk, 32) != 0) rc = WARD_EIO;
        if (rc == WARD_OK) rc = ward_otx_send_verify(&s, q, m, chk, 32);
        if (rc == WARD_OK) rc = ward_otx_send_random(&s, o0, o1, q, m, index);
        index += m;
    }
    double dt = ward_bench_now() - t0;
    uint64_t h = 0;
    if (rc == WARD_OK && (read_all(fd, choices, m / 8) != 0 || read_all(fd, &h, 8) != 0)) rc = WARD_EIO;
    if (rc == WARD_OK) {
        /* The receiver got message r_i of every OT of the last extension. */
        for (size_t i = 0; i < m; i++)
            if ((choices[i / 8] >> (i % 8)) & 1) o0[i] = o1[i];
        if (fold(o0, m) != h) rc = WARD_EDECRYPT;
        ward_otx_sender_clear(&s);
    }
    if (fd >= 0) close(fd);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (rc == WARD_OK) rc = WARD_EIO;
    }
    free(u);
    free(choices);
    free(q);
    free(o0);
    free(o1);
    ward_rng_clear(&rng);
    if (rc == WARD_OK) *rate = (double)m * timed / dt;
    return rc;
}

int ward_bench_ot(ward_bench_report *r) {
    int rc = ward_gc_cpu_check();
    if (rc != WARD_OK) return rc;
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x62656e636f74ull);

    /* base OT: median of several runs */
    enum { MAX_RUNS = 15 };
    double runs[MAX_RUNS];
    int nruns = r->quick ? 5 : MAX_RUNS;
    for (int i = 0; i < nruns && rc == WARD_OK; i++) rc = base_ot_once(&rng, &runs[i]);
    if (rc != WARD_OK) {
        ward_rng_clear(&rng);
        return rc;
    }
    qsort(runs, (size_t)nruns, sizeof runs[0], cmp_double);
    ward_bench_add(r, "base_ot_128_ms", runs[nruns / 2] * 1e3, "ms", anchor_emp_base, 10.1);

    /* IKNP: extensions of 2^16 OTs, each with its own KOS check (the
     * padding costs 0.4%), so that both parties' rows stay in cache as
     * they would in a pipelined run; 2^22 OTs per timed batch (2^20 with
     * --quick). */
    ot_ctx x;
    memset(&x, 0, sizeof x);
    x.m = 1u << 16;
    size_t m = x.m;
    x.u = malloc(ward_otx_u_bytes(m));
    x.choices = malloc(m / 8);
    x.y = malloc(32 * m);
    x.t = aligned_alloc(64, m * sizeof(ward_block));
    x.q = aligned_alloc(64, m * sizeof(ward_block));
    x.o0 = aligned_alloc(64, m * sizeof(ward_block));
    x.o1 = aligned_alloc(64, m * sizeof(ward_block));
    if (!x.u || !x.choices || !x.y || !x.t || !x.q || !x.o0 || !x.o1) rc = WARD_ENOMEM;
    if (rc == WARD_OK) {
        ward_block s0[128], s1[128], ss[128], delta;
        uint8_t sid[32] = {'b', 'e', 'n', 'c', 'h'};
        ward_rng_bytes(&rng, delta.b, 16);
        delta.b[0] |= 1;
        ward_rng_bytes(&rng, (uint8_t *)s0, sizeof s0);
        ward_rng_bytes(&rng, (uint8_t *)s1, sizeof s1);
        for (int j = 0; j < 128; j++) ss[j] = ((delta.b[j / 8] >> (j % 8)) & 1) ? s1[j] : s0[j];
        ward_rng_bytes(&rng, x.choices, m / 8);
        memset(x.o0, 0x11, m * sizeof(ward_block));
        memset(x.o1, 0x22, m * sizeof(ward_block));
        rc = ward_otx_sender_init(&x.s, sid, &delta, ss);
        if (rc == WARD_OK) rc = ward_otx_receiver_init(&x.rv, sid, s0, s1);
    }
    const int batches = r->quick ? 2 : 5, reps = r->quick ? 16 : 64;
    double cot = 0, rot = 0, chosen = 0;
    if (rc == WARD_OK) rc = ot_round(&x, &rng, OT_RANDOM); /* warm up */
    if (rc == WARD_OK) rc = time_ot(&x, &rng, OT_RANDOM, reps, batches, &rot);
    if (rc == WARD_OK) rc = time_ot(&x, &rng, OT_COT, reps, batches, &cot);
    if (rc == WARD_OK) rc = time_ot(&x, &rng, OT_CHOSEN, reps, batches, &chosen);
    if (rc == WARD_OK) {
        ward_bench_add(r, "iknp_ot_per_s", rot, "OT/s", anchor_emp_ot, 34.6e6);
        ward_bench_add(r, "iknp_cot_per_s", cot, "OT/s", anchor_emp_ot, 56.3e6);
        ward_bench_add(r, "iknp_chosen_ot_per_s", chosen, "OT/s", anchor_emp_ot, 24.1e6);
    }
    double two = 0;
    if (rc == WARD_OK) rc = iknp_two_process(&two, r->quick);
    if (rc == WARD_OK)
        ward_bench_add(r, "iknp_2proc_ot_per_s", two, "OT/s", anchor_emp_ot2, 34.6e6);
    ward_otx_sender_clear(&x.s);
    ward_otx_receiver_clear(&x.rv);
    free(x.u);
    free(x.choices);
    free(x.y);
    free(x.t);
    free(x.q);
    free(x.o0);
    free(x.o1);
    ward_rng_clear(&rng);
    return rc;
}
