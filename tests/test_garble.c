/* Half-gates garbling: every published circuit garbled and evaluated gives
 * its known answer (REFERENCE-FIGURES.md) and agrees with plaintext
 * evaluation on thousands of random inputs; the table stream is the same
 * byte for byte whatever the chunking on either side; a damaged table never
 * crashes the evaluator and usually changes the output; circuits from the
 * builder (with EQ constants, EQW copies and INV) work too; the evaluator's
 * inputs can come from IKNP correlated OT with the garbler's Delta; misuse
 * and peer errors get the documented codes. The compiled plans (label
 * slots reused, gates grouped into steps) give the very table streams that
 * walking the gates one by one gave, pinned by digests; random circuits
 * with outputs anywhere among the wires agree with plaintext evaluation. */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readfile.h"
#include "check.h"
#include "circuit.h"
#include "circuit_build.h"
#include "error.h"
#include "garble.h"
#include "ot_ext.h"
#include "rng.h"

/* ---- helpers ------------------------------------------------------------ */

static char *read_all(const char *path, size_t *len) {
    char *buf = NULL;
    return ward_read_file(&buf, len, path, (size_t)1 << 30) == 0 ? buf : NULL;
}

static int load_vector(ward_circuit *c, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bristol/%s", check_vectors_dir(), name);
    size_t len;
    char *t = read_all(path, &len);
    if (!t) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    ward_circuit_error err;
    int rc = ward_circuit_parse_var(c, &err, t, len);
    if (rc != WARD_OK) fprintf(stderr, "%s:%zu: %s\n", name, err.line, err.msg);
    free(t);
    return rc;
}

/* Compiles c, which the tests expect to succeed. */
static void compile(ward_gc_plan *p, const ward_circuit *c) {
    CHECK_RC(ward_gc_compile_var(p, c), WARD_OK);
}

static int parse_text(ward_circuit *c, const char *text) {
    ward_circuit_error err;
    int rc = ward_circuit_parse_var(c, &err, text, strlen(text));
    if (rc != WARD_OK) fprintf(stderr, "inline circuit:%zu: %s\n", err.line, err.msg);
    return rc;
}

/* How a run is chunked: tables per garbler call (0 = all at once), an
 * extra number of bytes added to the garbler's capacity (not a whole
 * table, so it must be ignored), and the evaluator's split: 0 = each
 * garbler chunk as it comes, k > 0 = pieces of k bytes, -1 = random
 * sizes. */
typedef struct {
    size_t tables_per_call;
    size_t cap_extra;
    long feed_split;
} chunking;

/* The whole table stream of one run, when `stream` is not NULL. */
typedef struct {
    uint8_t *bytes;
    size_t len;
} stream_copy;

/* Garbles c with rng, gives the evaluator the labels of in_bits (all
 * inputs encoded by the garbler), evaluates and decodes into out_bits.
 * flip_at: when < stream length, the byte at that offset is XORed with
 * flip_mask before the evaluator sees it. Returns 0 or the first error. */
static int run_gc(const ward_circuit *c, ward_rng *rng, const uint8_t *in_bits,
                  uint8_t *out_bits, chunking ch, stream_copy *stream, size_t flip_at,
                  uint8_t flip_mask) {
    ward_garbler g;
    ward_evaluator e;
    ward_gc_plan plan;
    uint8_t key[WARD_GC_KEY_BYTES];
    int rc = ward_gc_compile_var(&plan, c);
    if (rc != WARD_OK) return rc;
    rc = ward_garbler_init(&g, &plan, rng);
    if (rc != WARD_OK) {
        ward_gc_plan_free(&plan);
        return rc;
    }
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    rc = ward_evaluator_init(&e, &plan, key);
    if (rc != WARD_OK) {
        ward_garbler_free(&g);
        ward_gc_plan_free(&plan);
        return rc;
    }
    ward_block *labels = malloc((c->input_bits + 1) * sizeof(ward_block));
    CHECK_RC(ward_garbler_encode(&g, labels, 0, in_bits, c->input_bits), WARD_OK);
    CHECK_RC(ward_evaluator_set_input_labels(&e, 0, labels, c->input_bits), WARD_OK);
    free(labels);

    uint64_t total = ward_gc_table_bytes(c);
    size_t tables = ch.tables_per_call ? ch.tables_per_call : (size_t)c->and_count + 1;
    size_t cap = tables * WARD_GC_TABLE_BYTES + ch.cap_extra;
    uint8_t *buf = malloc(cap);
    size_t sent = 0;
    if (stream) {
        stream->bytes = malloc(total + 1);
        stream->len = 0;
    }
    int calls = 0;
    while (!ward_garbler_done(&g)) {
        size_t len = 0;
        rc = ward_garbler_next(&g, buf, cap, &len);
        if (rc != WARD_OK) break;
        CHECK(len % WARD_GC_TABLE_BYTES == 0);
        CHECK(len <= tables * WARD_GC_TABLE_BYTES);
        if (flip_at >= sent && flip_at < sent + len) buf[flip_at - sent] ^= flip_mask;
        if (stream) {
            memcpy(stream->bytes + stream->len, buf, len);
            stream->len += len;
        }
        sent += len;
        size_t off = 0;
        while (off < len) {
            size_t piece = len - off;
            if (ch.feed_split > 0 && (size_t)ch.feed_split < piece) piece = (size_t)ch.feed_split;
            if (ch.feed_split < 0) {
                size_t r = 1 + (size_t)ward_rng_uniform(rng, 100);
                if (r < piece) piece = r;
            }
            rc = ward_evaluator_feed(&e, buf + off, piece);
            if (rc != WARD_OK) break;
            off += piece;
        }
        if (rc != WARD_OK) break;
        calls++;
        if (calls > (int)c->ngates + 10) {
            rc = WARD_ESTATE; /* no progress */
            break;
        }
    }
    if (rc == WARD_OK) {
        CHECK_EQ_U64(sent, total);
        if (c->and_count == 0) rc = ward_evaluator_feed(&e, NULL, 0);
    }
    if (rc == WARD_OK) {
        CHECK(ward_evaluator_done(&e));
        uint8_t *d = malloc(c->output_bits);
        CHECK_RC(ward_garbler_decode_bits(&g, d, c->output_bits), WARD_OK);
        rc = ward_evaluator_decode(&e, out_bits, c->output_bits, d, c->output_bits);
        /* The garbler decoding the evaluator's raw bits gets the same. */
        uint8_t *raw = malloc(c->output_bits), *viag = malloc(c->output_bits);
        CHECK_RC(ward_evaluator_decode(&e, raw, c->output_bits, NULL, 0), WARD_OK);
        CHECK_RC(ward_garbler_decode(&g, viag, c->output_bits, raw, c->output_bits), WARD_OK);
        CHECK_MEM(viag, out_bits, c->output_bits);
        free(raw);
        free(viag);
        free(d);
    }
    free(buf);
    ward_garbler_free(&g);
    ward_evaluator_free(&e);
    ward_gc_plan_free(&plan);
    return rc;
}

static const chunking WHOLE = {0, 0, 0};

static void hex_inputs(const ward_circuit *c, uint8_t *bits, const char *const *hex) {
    size_t off = 0;
    for (uint32_t i = 0; i < c->ninputs; i++) {
        CHECK_RC(ward_circuit_hex_to_bits_var(bits + off, c->input_widths[i], hex[i],
                                              strlen(hex[i])),
                 WARD_OK);
        off += c->input_widths[i];
    }
}

/* Garbled output j of c on hex inputs, as hex, in `out`. */
static void gc_hex(const ward_circuit *c, ward_rng *rng, const char *const *hex, char *out,
                   size_t cap) {
    uint8_t *ib = calloc(c->input_bits, 1), *ob = calloc(c->output_bits, 1);
    hex_inputs(c, ib, hex);
    CHECK_RC(run_gc(c, rng, ib, ob, WHOLE, NULL, SIZE_MAX, 0), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, cap, ob, c->output_widths[0]), WARD_OK);
    free(ib);
    free(ob);
}

/* ---- known answers ------------------------------------------------------ */

static void test_known_answers(ward_rng *rng) {
    ward_circuit c;
    char out[200];
    const char *a = "0x0123456789abcdef", *b = "0xfedcba9876543210";
    if (load_vector(&c, "aes_128.txt") == WARD_OK) {
        const char *z[] = {"0", "0"};
        gc_hex(&c, rng, z, out, sizeof out);
        CHECK(strcmp(out, "66e94bd4ef8a2c3b884cfa59ca342b2e") == 0);
        const char *fips[] = {"000102030405060708090a0b0c0d0e0f",
                              "00112233445566778899aabbccddeeff"};
        gc_hex(&c, rng, fips, out, sizeof out);
        CHECK(strcmp(out, "69c4e0d86a7b0430d8cdb78070b4c55a") == 0);
        CHECK_EQ_U64(ward_gc_table_bytes(&c), 6400 * 32);
        ward_circuit_free(&c);
    } else {
        CHECK(!"aes_128.txt");
    }
    static const struct {
        const char *file, *want;
        int two;
    } arith[] = {
        {"adder64.txt", "ffffffffffffffff", 1},
        {"mult64.txt", "2236d88fe5618cf0", 1},
        {"sub64.txt", "02468acf13579bdf", 1},
        {"neg64.txt", "fedcba9876543211", 0},
    };
    for (size_t i = 0; i < sizeof arith / sizeof arith[0]; i++) {
        if (load_vector(&c, arith[i].file) != WARD_OK) {
            CHECK(!"vector missing");
            continue;
        }
        const char *in[] = {a, b};
        gc_hex(&c, rng, in, out, sizeof out);
        if (strcmp(out, arith[i].want) != 0)
            fprintf(stderr, "%s: got %s, want %s\n", arith[i].file, out, arith[i].want);
        CHECK(strcmp(out, arith[i].want) == 0);
        ward_circuit_free(&c);
    }
    if (load_vector(&c, "zero_equal.txt") == WARD_OK) {
        const char *zero[] = {"0"}, *one[] = {"1"}, *big[] = {"8000000000000000"};
        gc_hex(&c, rng, zero, out, sizeof out);
        CHECK(strcmp(out, "1") == 0);
        gc_hex(&c, rng, one, out, sizeof out);
        CHECK(strcmp(out, "0") == 0);
        gc_hex(&c, rng, big, out, sizeof out);
        CHECK(strcmp(out, "0") == 0);
        ward_circuit_free(&c);
    }
}

/* ---- random inputs against plaintext evaluation -------------------------- */

static int agree_random(const ward_circuit *c, ward_rng *rng, int trials, chunking ch) {
    uint8_t *ib = malloc(c->input_bits), *ob = malloc(c->output_bits),
            *want = malloc(c->output_bits);
    int bad = 0;
    for (int t = 0; t < trials; t++) {
        for (uint32_t i = 0; i < c->input_bits; i++) ib[i] = (uint8_t)(ward_rng_u64(rng) & 1);
        if (t == 0) memset(ib, 0, c->input_bits);
        if (t == 1) memset(ib, 1, c->input_bits);
        CHECK_RC(ward_circuit_eval_var(c, want, c->output_bits, ib, c->input_bits), WARD_OK);
        CHECK_RC(run_gc(c, rng, ib, ob, ch, NULL, SIZE_MAX, 0), WARD_OK);
        if (memcmp(ob, want, c->output_bits) != 0) bad++;
    }
    CHECK(bad == 0);
    free(ib);
    free(ob);
    free(want);
    return trials;
}

static void test_random_vectors(ward_rng *rng) {
    static const struct {
        const char *file;
        int trials;
    } files[] = {
        {"aes_128.txt", 300}, {"adder64.txt", 1000}, {"sub64.txt", 1000},
        {"neg64.txt", 1000},  {"mult64.txt", 300},   {"zero_equal.txt", 1000},
    };
    long total = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        ward_circuit c;
        if (load_vector(&c, files[i].file) != WARD_OK) {
            CHECK(!"vector missing");
            continue;
        }
        total += agree_random(&c, rng, files[i].trials, WHOLE);
        ward_circuit_free(&c);
    }
    printf("garble: %ld random inputs on the published circuits\n", total);
}

/* ---- chunking ------------------------------------------------------------ */

static void test_chunking(void) {
    static const char *const files[] = {"aes_128.txt", "neg64.txt", "zero_equal.txt"};
    static const chunking cases[] = {
        {0, 0, 0},    {1, 0, 0},   {1, 31, 0},  {7, 5, 0},  {3, 0, 1},
        {0, 0, 31},   {0, 0, 33},  {5, 17, -1}, {64, 0, 1000}, {100000, 0, 0},
        {2, 1, 7},
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        ward_circuit c;
        if (load_vector(&c, files[f]) != WARD_OK) {
            CHECK(!"vector missing");
            continue;
        }
        uint8_t *ib = malloc(c.input_bits), *ref = malloc(c.output_bits),
                *ob = malloc(c.output_bits);
        ward_rng in_rng;
        ward_rng_init_u64(&in_rng, 99 + f);
        for (uint32_t i = 0; i < c.input_bits; i++) ib[i] = (uint8_t)(ward_rng_u64(&in_rng) & 1);
        stream_copy ref_stream = {0}, s = {0};
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            /* The same seed: the same Delta, labels and hash key, so the
             * table stream must be identical byte for byte. */
            ward_rng rng;
            ward_rng_init_u64(&rng, 12345);
            stream_copy *sc = k == 0 ? &ref_stream : &s;
            CHECK_RC(run_gc(&c, &rng, ib, k == 0 ? ref : ob, cases[k], sc, SIZE_MAX, 0), WARD_OK);
            if (k > 0) {
                CHECK_MEM(ob, ref, c.output_bits);
                CHECK_EQ_U64(s.len, ref_stream.len);
                CHECK(s.len == ref_stream.len && memcmp(s.bytes, ref_stream.bytes, s.len) == 0);
                free(s.bytes);
                s.bytes = NULL;
            }
            ward_rng_clear(&rng);
        }
        uint8_t *want = malloc(c.output_bits);
        CHECK_RC(ward_circuit_eval_var(&c, want, c.output_bits, ib, c.input_bits), WARD_OK);
        CHECK_MEM(want, ref, c.output_bits);
        free(want);
        free(ref_stream.bytes);
        free(ib);
        free(ref);
        free(ob);
        ward_circuit_free(&c);
    }
}

/* Feeding the evaluator byte by byte across a garbler's whole stream, and
 * asking the garbler for tables with a capacity below one table. */
static void test_stream_edges(ward_rng *rng) {
    ward_circuit c;
    if (load_vector(&c, "adder64.txt") != WARD_OK) return;
    ward_gc_plan plan;
    compile(&plan, &c);
    ward_garbler g;
    ward_evaluator e;
    uint8_t key[16];
    CHECK_RC(ward_garbler_init(&g, &plan, rng), WARD_OK);
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    CHECK_RC(ward_evaluator_init(&e, &plan, key), WARD_OK);
    uint8_t bits[128] = {0};
    ward_block lab[128];
    CHECK_RC(ward_garbler_encode(&g, lab, 0, bits, 128), WARD_OK);
    /* feed before every input is set */
    CHECK_RC(ward_evaluator_set_input_labels(&e, 0, lab, 127), WARD_OK);
    CHECK_RC(ward_evaluator_feed(&e, NULL, 0), WARD_ESTATE);
    CHECK_RC(ward_evaluator_set_input_labels(&e, 127, lab + 127, 1), WARD_OK);
    size_t len = 99;
    uint8_t small[31];
    CHECK_RC(ward_garbler_next(&g, small, sizeof small, &len), WARD_EINVAL);
    CHECK_EQ_U64(len, 0);
    uint8_t *all = malloc(64 * 32);
    CHECK_RC(ward_garbler_next(&g, all, 64 * 32, &len), WARD_OK);
    CHECK_EQ_U64(len, 63 * 32);
    CHECK(ward_garbler_done(&g));
    CHECK_RC(ward_garbler_next(&g, all, 64 * 32, &len), WARD_OK);
    CHECK_EQ_U64(len, 0);
    CHECK_RC(ward_garbler_set_input_labels(&g, 0, lab, 1), WARD_ESTATE);
    for (size_t i = 0; i < 63 * 32; i++) {
        CHECK(!ward_evaluator_done(&e));
        CHECK_RC(ward_evaluator_feed(&e, all + i, 1), WARD_OK);
    }
    CHECK(ward_evaluator_done(&e));
    CHECK_RC(ward_evaluator_set_input_labels(&e, 0, lab, 1), WARD_ESTATE);
    uint8_t d[64], out[64];
    CHECK_RC(ward_garbler_decode_bits(&g, d, 64), WARD_OK);
    CHECK_RC(ward_evaluator_decode(&e, out, 64, d, 64), WARD_OK);
    for (int i = 0; i < 64; i++) CHECK(out[i] == 0);
    /* bad decoding bits from the peer */
    d[3] = 2;
    CHECK_RC(ward_evaluator_decode(&e, out, 64, d, 64), WARD_EPARSE);
    CHECK_RC(ward_evaluator_decode(&e, out, 64, d, 63), WARD_EPARSE);
    CHECK_RC(ward_garbler_decode(&g, out, 64, d, 64), WARD_EPARSE);
    /* one byte too many: refused, and the evaluator is closed */
    CHECK_RC(ward_evaluator_feed(&e, all, 1), WARD_EPARSE);
    CHECK_RC(ward_evaluator_feed(&e, NULL, 0), WARD_ECLOSED);
    CHECK_RC(ward_evaluator_decode(&e, out, 64, NULL, 0), WARD_ECLOSED);
    ward_evaluator_free(&e);
    ward_garbler_free(&g);

    /* Too many bytes in the middle of the stream. */
    CHECK_RC(ward_garbler_init(&g, &plan, rng), WARD_OK);
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    CHECK_RC(ward_evaluator_init(&e, &plan, key), WARD_OK);
    CHECK_RC(ward_garbler_encode(&g, lab, 0, bits, 128), WARD_OK);
    CHECK_RC(ward_evaluator_set_input_labels(&e, 0, lab, 128), WARD_OK);
    CHECK_RC(ward_evaluator_feed(&e, all, 40), WARD_OK);
    uint8_t *big = calloc(63 * 32, 1);
    CHECK_RC(ward_evaluator_feed(&e, big, 63 * 32 - 40 + 1), WARD_EPARSE);
    CHECK_RC(ward_evaluator_feed(&e, big, 1), WARD_ECLOSED);
    free(big);
    free(all);
    ward_evaluator_free(&e);
    ward_garbler_free(&g);
    ward_gc_plan_free(&plan);
    ward_circuit_free(&c);
}

/* ---- damaged tables ------------------------------------------------------- */

static void test_flipped_bytes(ward_rng *rng) {
    ward_circuit c;
    if (load_vector(&c, "aes_128.txt") != WARD_OK) return;
    uint8_t ib[256], ref[128], ob[128];
    for (int i = 0; i < 256; i++) ib[i] = (uint8_t)(ward_rng_u64(rng) & 1);
    CHECK_RC(ward_circuit_eval_var(&c, ref, 128, ib, 256), WARD_OK);
    int changed = 0, trials = 64;
    for (int t = 0; t < trials; t++) {
        size_t at = (size_t)ward_rng_uniform(rng, 6400 * 32);
        uint8_t mask = (uint8_t)(1u << ward_rng_uniform(rng, 8));
        if (t == 0) at = 0;
        if (t == 1) at = 6400 * 32 - 1;
        CHECK_RC(run_gc(&c, rng, ib, ob, WHOLE, NULL, at, mask), WARD_OK);
        for (int i = 0; i < 128; i++) CHECK(ob[i] <= 1);
        changed += memcmp(ob, ref, 128) != 0;
    }
    /* A flipped bit changes the evaluator's label when the evaluator uses
     * that ciphertext (probability 1/2 per gate half), and a wrong label
     * spreads through the rest of AES; expect about half of the flips to
     * show, and at least a quarter. */
    printf("garble: %d of %d flipped table bits changed the AES output\n", changed, trials);
    CHECK(changed >= trials / 4);
    ward_circuit_free(&c);
}

/* ---- built circuits and hand-written ones -------------------------------- */

static void test_built(ward_rng *rng) {
    ward_circuit c;
    for (size_t n = 1; n <= 9; n += 4) {
        int (*two[])(ward_circuit *, size_t) = {
            ward_circuit_build_add, ward_circuit_build_sub, ward_circuit_build_lt,
            ward_circuit_build_gt, ward_circuit_build_eq,
        };
        for (size_t f = 0; f < sizeof two / sizeof two[0]; f++) {
            CHECK_RC(two[f](&c, n), WARD_OK);
            agree_random(&c, rng, 60, f % 2 ? WHOLE : (chunking){1, 3, -1});
            ward_circuit_free(&c);
        }
    }
    CHECK_RC(ward_circuit_build_max(&c, 5, 6), WARD_OK);
    agree_random(&c, rng, 200, WHOLE);
    ward_circuit_free(&c);
    CHECK_RC(ward_circuit_build_argmax(&c, 7, 4), WARD_OK);
    agree_random(&c, rng, 200, (chunking){2, 0, 5});
    ward_circuit_free(&c);
    CHECK_RC(ward_circuit_build_threshold(&c, 10, 8, 1000), WARD_OK);
    agree_random(&c, rng, 200, WHOLE);
    ward_circuit_free(&c);
    CHECK_RC(ward_circuit_build_threshold_input(&c, 4, 5, 7), WARD_OK);
    agree_random(&c, rng, 200, WHOLE);
    ward_circuit_free(&c);
    /* T = 0: the output is the constant 1, an EQ gate and no AND at all. */
    CHECK_RC(ward_circuit_build_threshold(&c, 3, 4, 0), WARD_OK);
    CHECK(c.eq_count >= 1);
    CHECK_EQ_U64(c.and_count, 0);
    agree_random(&c, rng, 20, WHOLE);
    ward_circuit_free(&c);

    /* A builder circuit whose outputs are a constant 0, a constant 1, an
     * input copied (EQW), a NOT and an AND. */
    ward_circuit_builder b;
    CHECK_RC(ward_cb_init(&b), WARD_OK);
    uint32_t x[2], nx, a, outs[5];
    ward_cb_input(&b, x, 2);
    ward_cb_not(&b, &nx, x[0]);
    ward_cb_and(&b, &a, x[0], x[1]);
    outs[0] = WARD_CB_ZERO;
    outs[1] = WARD_CB_ONE;
    outs[2] = x[1];
    outs[3] = nx;
    outs[4] = a;
    uint32_t w[5] = {1, 1, 1, 1, 1};
    CHECK_RC(ward_cb_finish(&b, &c, outs, w, 5), WARD_OK);
    ward_cb_free(&b);
    for (int v = 0; v < 4; v++) {
        uint8_t ib[2] = {(uint8_t)(v & 1), (uint8_t)(v >> 1)}, ob[5], want[5];
        CHECK_RC(ward_circuit_eval_var(&c, want, 5, ib, 2), WARD_OK);
        CHECK_RC(run_gc(&c, rng, ib, ob, WHOLE, NULL, SIZE_MAX, 0), WARD_OK);
        CHECK_MEM(ob, want, 5);
        CHECK(ob[0] == 0 && ob[1] == 1 && ob[2] == ib[1] && ob[3] == !ib[0] &&
              ob[4] == (ib[0] & ib[1]));
    }
    ward_circuit_free(&c);

    /* Hand-written Bristol: constants feeding AND and XOR, MAND, EQW, INV
     * of an AND output (so INV waits for a batched AND). */
    static const char text[] =
        "8 13\n"
        "2 2 2\n"
        "3 1 1 1\n"
        "1 1 1 4 EQ\n"
        "1 1 0 5 EQ\n"
        "4 2 0 1 2 3 6 7 MAND\n"
        "2 1 6 4 8 AND\n"
        "1 1 7 9 INV\n"
        "2 1 5 8 10 XOR\n"
        "1 1 9 11 EQW\n"
        "2 1 10 11 12 AND\n";
    CHECK_RC(parse_text(&c, text), WARD_OK);
    for (int v = 0; v < 16; v++) {
        uint8_t ib[4], ob[3], want[3];
        for (int i = 0; i < 4; i++) ib[i] = (uint8_t)((v >> i) & 1);
        CHECK_RC(ward_circuit_eval_var(&c, want, 3, ib, 4), WARD_OK);
        CHECK_RC(run_gc(&c, rng, ib, ob, (chunking){1, 0, 1}, NULL, SIZE_MAX, 0), WARD_OK);
        CHECK_MEM(ob, want, 3);
    }
    ward_circuit_free(&c);
}

/* ---- reordering ---------------------------------------------------------- */

static int gate_cmp(const void *a, const void *b) {
    return memcmp(a, b, sizeof(ward_gate));
}

static void test_reorder(ward_rng *rng) {
    static const char *const files[] = {"aes_128.txt", "adder64.txt", "sub64.txt",
                                        "neg64.txt",   "mult64.txt",  "zero_equal.txt"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        ward_circuit a, b, c;
        if (load_vector(&a, files[f]) != WARD_OK || load_vector(&b, files[f]) != WARD_OK ||
            load_vector(&c, files[f]) != WARD_OK) {
            CHECK(!"vector missing");
            continue;
        }
        CHECK_RC(ward_gc_reorder_var(&b), WARD_OK);
        CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
        /* deterministic, and a permutation of the same gates */
        CHECK(memcmp(b.gates, c.gates, (size_t)b.ngates * sizeof(ward_gate)) == 0);
        CHECK_EQ_U64(b.and_count, a.and_count);
        qsort(c.gates, c.ngates, sizeof(ward_gate), gate_cmp);
        ward_gate *sorted = malloc((size_t)a.ngates * sizeof(ward_gate));
        memcpy(sorted, a.gates, (size_t)a.ngates * sizeof(ward_gate));
        qsort(sorted, a.ngates, sizeof(ward_gate), gate_cmp);
        CHECK(memcmp(sorted, c.gates, (size_t)a.ngates * sizeof(ward_gate)) == 0);
        free(sorted);
        /* still a valid Bristol Fashion circuit (topological order) */
        size_t len = 0;
        CHECK_RC(ward_circuit_write_var(&b, NULL, 0, &len), WARD_OK);
        char *text = malloc(len);
        CHECK_RC(ward_circuit_write_var(&b, text, len, &len), WARD_OK);
        ward_circuit d;
        CHECK_RC(ward_circuit_parse_var(&d, NULL, text, len), WARD_OK);
        ward_circuit_free(&d);
        free(text);
        /* the same function, in the clear and garbled */
        uint8_t *ib = malloc(a.input_bits), *o1 = malloc(a.output_bits), *o2 = malloc(a.output_bits);
        int bad = 0;
        for (int t = 0; t < 40; t++) {
            for (uint32_t i = 0; i < a.input_bits; i++) ib[i] = (uint8_t)(ward_rng_u64(rng) & 1);
            CHECK_RC(ward_circuit_eval_var(&a, o1, a.output_bits, ib, a.input_bits), WARD_OK);
            CHECK_RC(ward_circuit_eval_var(&b, o2, b.output_bits, ib, b.input_bits), WARD_OK);
            bad += memcmp(o1, o2, a.output_bits) != 0;
        }
        CHECK(bad == 0);
        agree_random(&b, rng, 100, (chunking){3, 5, -1});
        agree_random(&b, rng, 20, WHOLE);
        free(ib);
        free(o1);
        free(o2);
        if (f == 0) {
            char out[64];
            const char *fips[] = {"000102030405060708090a0b0c0d0e0f",
                                  "00112233445566778899aabbccddeeff"};
            gc_hex(&b, rng, fips, out, sizeof out);
            CHECK(strcmp(out, "69c4e0d86a7b0430d8cdb78070b4c55a") == 0);
            /* the reordered AES has its AND gates in runs: count the gates
             * that follow another AND directly */
            uint32_t runs = 0;
            for (uint32_t i = 1; i < b.ngates; i++)
                runs += b.gates[i].op == WARD_GATE_AND && b.gates[i - 1].op == WARD_GATE_AND;
            uint32_t runs_before = 0;
            for (uint32_t i = 1; i < a.ngates; i++)
                runs_before += a.gates[i].op == WARD_GATE_AND && a.gates[i - 1].op == WARD_GATE_AND;
            printf("garble: AES AND gates following an AND: %u in file order, %u reordered\n",
                   runs_before, runs);
            CHECK(runs > runs_before);
        }
        ward_circuit_free(&a);
        ward_circuit_free(&b);
        ward_circuit_free(&c);
    }
    /* built circuits, EQ constants included */
    ward_circuit c;
    CHECK_RC(ward_circuit_build_argmax(&c, 9, 5), WARD_OK);
    CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
    agree_random(&c, rng, 100, WHOLE);
    ward_circuit_free(&c);
    CHECK_RC(ward_circuit_build_threshold(&c, 3, 4, 0), WARD_OK);
    CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
    agree_random(&c, rng, 10, WHOLE);
    ward_circuit_free(&c);
    CHECK_RC(ward_gc_reorder_var(NULL), WARD_EINVAL);
    /* refused: a gate that reads a wire before it is assigned */
    ward_gate gates[2] = {{WARD_GATE_XOR, 0, 3, 2}, {WARD_GATE_XOR, 0, 1, 3}};
    ward_gate copy[2];
    memcpy(copy, gates, sizeof gates);
    uint32_t iw[1] = {2}, ow[1] = {1};
    ward_circuit bad = {0};
    bad.gates = gates;
    bad.ngates = 2;
    bad.nwires = 4;
    bad.ninputs = bad.noutputs = 1;
    bad.input_widths = iw;
    bad.output_widths = ow;
    bad.input_bits = 2;
    bad.output_bits = 1;
    CHECK_RC(ward_gc_reorder_var(&bad), WARD_EINVAL);
    CHECK_MEM(gates, copy, sizeof gates);
}

/* ---- plans ------------------------------------------------------------------ */

/* SHA-256 over the hash key, the labels of fixed input bits, the whole table
 * stream (garbled seven tables per call) and the decoding bits, with the
 * garbler's rng seeded 0x6b6174 and the input bits from seed 7. */
static void stream_digest(const ward_circuit *c, char hex[65]) {
    ward_rng rng, in;
    ward_rng_init_u64(&rng, 0x6b6174ull);
    ward_rng_init_u64(&in, 7);
    ward_gc_plan plan;
    compile(&plan, c);
    ward_garbler g;
    CHECK_RC(ward_garbler_init(&g, &plan, &rng), WARD_OK);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    uint8_t key[16], buf[7 * 32], out[32];
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    crypto_hash_sha256_update(&h, key, 16);
    uint8_t *bits = malloc(c->input_bits + 1), *d = malloc(c->output_bits);
    ward_block *lab = malloc((c->input_bits + 1) * sizeof *lab);
    for (uint32_t i = 0; i < c->input_bits; i++) bits[i] = (uint8_t)(ward_rng_u64(&in) & 1);
    CHECK_RC(ward_garbler_encode(&g, lab, 0, bits, c->input_bits), WARD_OK);
    crypto_hash_sha256_update(&h, (const uint8_t *)lab, c->input_bits * sizeof *lab);
    for (int calls = 0; !ward_garbler_done(&g) && calls <= (int)c->ngates; calls++) {
        size_t len = 0;
        CHECK_RC(ward_garbler_next(&g, buf, sizeof buf, &len), WARD_OK);
        crypto_hash_sha256_update(&h, buf, len);
    }
    CHECK_RC(ward_garbler_decode_bits(&g, d, c->output_bits), WARD_OK);
    crypto_hash_sha256_update(&h, d, c->output_bits);
    crypto_hash_sha256_final(&h, out);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", out[i]);
    ward_garbler_free(&g);
    ward_gc_plan_free(&plan);
    free(bits);
    free(lab);
    free(d);
    ward_rng_clear(&rng);
    ward_rng_clear(&in);
}

/* The digests were taken from the garbler as it was before plans, which
 * walked c->gates one gate at a time over one label per wire: a peer
 * running that code (or any gate-by-gate half-gates garbler with the same
 * tweaks) exchanges the very same bytes with this one. */
static void test_stream_digests(void) {
    /* AES file order, AES reordered, mult64 reordered, neg64 (EQW), argmax
     * 9 x 5 reordered, threshold T = 0 (EQ), shared argmax 3 x 64
     * reordered, hand-written */
    static const char *const want[] = {
        "5f8d008181235825c04216e9f35337acd2ec1cdeb0f297ee76ff73d0cc76ff14",
        "4905f5f1c67ce9b802fa79165ca6c9e53aa577881743263a6d747662e5b20dfe",
        "bbb1b088c1fff35618bd9f764f8794408d7bc4324634cc4a71f0f12cd9d82939",
        "fdf38e65d1252dae16f08d7f6649da1bc4116b7e4f770e7115fce6d59eed16e5",
        "c1137be55e635171e651aaf9b6ff396a4d1a128873c7a7a22de356fe6d8314b0",
        "5c53dd9c9605defdb5990d9f43bebbec4b5ddcfdedf9e64197abcb59ce68bfd8",
        "6c7b1afae2253dd1a6f6ab3c9698f667e92ef53474eab111acea7f36a21a8d58",
        "ca178877aaded89a0eab0b285c540f5c90dd2accf1002736f2a6a0a57a041197",
    };
    static const char text[] =
        "8 13\n2 2 2\n3 1 1 1\n1 1 1 4 EQ\n1 1 0 5 EQ\n4 2 0 1 2 3 6 7 MAND\n2 1 6 4 8 AND\n"
        "1 1 7 9 INV\n2 1 5 8 10 XOR\n1 1 9 11 EQW\n2 1 10 11 12 AND\n";
    char hex[65];
    for (int k = 0; k < 8; k++) {
        ward_circuit c;
        int rc;
        switch (k) {
        case 0: case 1: rc = load_vector(&c, "aes_128.txt"); break;
        case 2: rc = load_vector(&c, "mult64.txt"); break;
        case 3: rc = load_vector(&c, "neg64.txt"); break;
        case 4: rc = ward_circuit_build_argmax(&c, 9, 5); break;
        case 5: rc = ward_circuit_build_threshold(&c, 3, 4, 0); break;
        case 6: rc = ward_circuit_build_shared_argmax(&c, 3, 64); break;
        default: rc = parse_text(&c, text); break;
        }
        CHECK_RC(rc, WARD_OK);
        if (rc != WARD_OK) continue;
        if (k == 1 || k == 2 || k == 4 || k == 6) CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
        stream_digest(&c, hex);
        if (strcmp(hex, want[k]) != 0)
            fprintf(stderr, "stream %d: digest %s, want %s\n", k, hex, want[k]);
        CHECK(strcmp(hex, want[k]) == 0);
        ward_circuit_free(&c);
    }
}

/* A random circuit of ng gates on inputs of widths w0 and w1 (w1 may be 0:
 * one input), all kinds of gate, some reading one wire twice, some never
 * read; the gate outputs take the wire numbers after the inputs in a
 * random order, so output wires (the last ob) are written anywhere in the
 * gate list and read by later gates. With overlap the outputs are the
 * last input wire and every gate's (ng = ob - 1). */
static void random_circuit(ward_circuit *c, ward_rng *rng, uint32_t w0, uint32_t w1,
                           uint32_t ng, uint32_t ob, int overlap) {
    memset(c, 0, sizeof *c);
    uint32_t ib = w0 + w1;
    if (overlap) ng = ob - 1;
    else if (ob > ng) ob = ng;
    c->nwires = ib + ng;
    c->ninputs = w1 ? 2 : 1;
    c->noutputs = 1;
    c->input_widths = malloc(2 * sizeof(uint32_t));
    c->output_widths = malloc(sizeof(uint32_t));
    c->input_widths[0] = w0;
    c->input_widths[1] = w1;
    c->input_bits = ib;
    c->output_bits = ob;
    c->output_widths[0] = ob;
    uint32_t *num = malloc((ng + 1) * sizeof *num);
    for (uint32_t i = 0; i < ng; i++) num[i] = ib + i;
    for (uint32_t i = ng; i > 1; i--) {
        uint32_t j = (uint32_t)ward_rng_uniform(rng, i);
        uint32_t t = num[i - 1];
        num[i - 1] = num[j];
        num[j] = t;
    }
    c->ngates = ng;
    c->gates = malloc((ng ? ng : 1) * sizeof(ward_gate));
    uint32_t *avail = malloc((ib + ng) * sizeof *avail), navail = ib;
    for (uint32_t i = 0; i < ib; i++) avail[i] = i;
    for (uint32_t i = 0; i < ng; i++) {
        ward_gate *g = &c->gates[i];
        uint32_t r = (uint32_t)ward_rng_uniform(rng, 16);
        /* often a recent wire: chains of dependent gates */
        uint32_t span = navail < 12 ? navail : 12;
        uint32_t a = ward_rng_uniform(rng, 2)
                         ? avail[navail - 1 - (uint32_t)ward_rng_uniform(rng, span)]
                         : avail[ward_rng_uniform(rng, navail)];
        uint32_t b = ward_rng_uniform(rng, 8) == 0 ? a : avail[ward_rng_uniform(rng, navail)];
        if (r < 6) {
            g->op = WARD_GATE_AND;
            c->and_count++;
        } else if (r < 11) {
            g->op = WARD_GATE_XOR;
            c->xor_count++;
        } else if (r < 13) {
            g->op = WARD_GATE_INV;
            c->inv_count++;
            b = 0;
        } else if (r < 15) {
            g->op = WARD_GATE_EQW;
            c->eqw_count++;
            b = 0;
        } else {
            g->op = WARD_GATE_EQ;
            c->eq_count++;
            a = (uint32_t)ward_rng_uniform(rng, 2);
            b = 0;
        }
        g->in0 = a;
        g->in1 = b;
        g->out = num[i];
        avail[navail++] = g->out;
    }
    free(avail);
    free(num);
}

static void test_plans(ward_rng *rng) {
    /* AES-128: few slots, inputs at their wire numbers, long steps */
    ward_circuit c;
    if (load_vector(&c, "aes_128.txt") == WARD_OK) {
        CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
        ward_gc_plan p;
        compile(&p, &c);
        CHECK_EQ_U64(p.and_count, 6400);
        CHECK_EQ_U64(p.xor_count, c.xor_count); /* INV costs nothing */
        CHECK(p.zero_slot == UINT32_MAX);
        CHECK_EQ_U64(p.input_bits, 256);
        CHECK_EQ_U64(p.output_bits, 128);
        CHECK(p.nslots >= 256 + 128 && p.nslots < 4096);
        uint64_t a = 0, f = 0, ov = 0;
        for (uint32_t t = 0; t < p.nsteps; t++) {
            a += p.steps[t].nand;
            f += p.steps[t].nxor;
            if (t > 0) CHECK(p.steps[t].nand > 0);
            CHECK(p.steps[t].nand <= WARD_GC_STEP_ANDS);
            CHECK(p.steps[t].overlap <= 1);
            if (p.steps[t].overlap) ov += p.steps[t].nxor;
        }
        CHECK(p.steps[p.nsteps - 1].overlap == 0);
        CHECK_EQ_U64(a, p.and_count);
        CHECK_EQ_U64(f, p.xor_count);
        CHECK(ov > f / 2);
        /* AND gates in the circuit's order, tweak = gate index */
        uint32_t k = 0;
        for (uint32_t i = 0; i < c.ngates; i++)
            if (c.gates[i].op == WARD_GATE_AND) CHECK(WARD_GC_GATE_INDEX(p.ands[k++].gate) == i);
        /* outputs: distinct slots of their own */
        uint8_t *seen = calloc(p.nslots, 1);
        for (uint32_t i = 0; i < 128; i++) {
            CHECK(p.out_slots[i] >= 256 && p.out_slots[i] < p.nslots && !seen[p.out_slots[i]]);
            if (p.out_slots[i] < p.nslots) seen[p.out_slots[i]] = 1;
        }
        free(seen);
        printf("garble: AES plan: %u label slots for %u wires, %u steps, %llu of %u XOR gates "
               "during AES\n",
               p.nslots, c.nwires, p.nsteps, (unsigned long long)ov, p.xor_count);
        /* the plan needs the circuit no more */
        uint8_t ib[256], want[128], ob[128];
        for (int i = 0; i < 256; i++) ib[i] = (uint8_t)(ward_rng_u64(rng) & 1);
        CHECK_RC(ward_circuit_eval_var(&c, want, 128, ib, 256), WARD_OK);
        ward_circuit_free(&c);
        ward_garbler g;
        ward_evaluator e;
        uint8_t key[16], d[128];
        ward_block lab[256];
        uint8_t *tab = malloc(6400 * 32);
        size_t len = 0;
        CHECK_RC(ward_garbler_init(&g, &p, rng), WARD_OK);
        CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
        CHECK_RC(ward_garbler_encode(&g, lab, 0, ib, 256), WARD_OK);
        CHECK_RC(ward_garbler_next(&g, tab, 6400 * 32, &len), WARD_OK);
        CHECK_EQ_U64(len, 6400 * 32);
        CHECK_RC(ward_garbler_decode_bits(&g, d, 128), WARD_OK);
        CHECK_RC(ward_evaluator_init(&e, &p, key), WARD_OK);
        CHECK_RC(ward_evaluator_set_input_labels(&e, 0, lab, 256), WARD_OK);
        CHECK_RC(ward_evaluator_feed(&e, tab, len), WARD_OK);
        CHECK_RC(ward_evaluator_decode(&e, ob, 128, d, 128), WARD_OK);
        CHECK_MEM(ob, want, 128);
        /* one plan, two sessions at once */
        ward_garbler g2;
        CHECK_RC(ward_garbler_init(&g2, &p, rng), WARD_OK);
        ward_garbler_free(&g2);
        free(tab);
        ward_garbler_free(&g);
        ward_evaluator_free(&e);
        ward_gc_plan_free(&p);
    }

    /* Random circuits against plaintext evaluation, whole and in pieces,
     * file order and reordered. */
    int n = 0;
    uint64_t overlapped = 0;
    for (int t = 0; t < 300; t++) {
        uint32_t w0 = 1 + (uint32_t)ward_rng_uniform(rng, 12);
        uint32_t w1 = (uint32_t)ward_rng_uniform(rng, 12);
        uint32_t ng = (uint32_t)ward_rng_uniform(rng, t < 250 ? 60 : 3000);
        uint32_t ob = 1 + (uint32_t)ward_rng_uniform(rng, 20);
        int overlap = t % 10 == 9;
        random_circuit(&c, rng, w0, w1, ng, ob, overlap);
        if (c.output_bits == 0) {
            ward_circuit_free(&c);
            continue;
        }
        ward_gc_plan p;
        CHECK_RC(ward_gc_compile_var(&p, &c), WARD_OK);
        CHECK(p.nslots <= c.input_bits + 1 + c.ngates);
        CHECK(p.xor_count <= c.xor_count);
        for (uint32_t s = 0; s < p.nsteps; s++) overlapped += p.steps[s].overlap;
        ward_gc_plan_free(&p);
        chunking ch = t % 3 == 0 ? WHOLE : t % 3 == 1 ? (chunking){1, 7, 1} : (chunking){3, 0, -1};
        agree_random(&c, rng, 4, ch);
        if (t % 2) {
            CHECK_RC(ward_gc_reorder_var(&c), WARD_OK);
            agree_random(&c, rng, 4, ch);
        }
        ward_circuit_free(&c);
        n++;
    }
    printf("garble: %d random circuits (%llu steps whose XOR gates run during AES)\n", n,
           (unsigned long long)overlapped);
    CHECK(overlapped > 100);

    /* no gates: the output is an input wire */
    uint32_t iw[2] = {1, 1}, ow[1] = {1};
    ward_circuit id = {0};
    id.nwires = 2;
    id.ninputs = 2;
    id.noutputs = 1;
    id.input_widths = iw;
    id.output_widths = ow;
    id.input_bits = 2;
    id.output_bits = 1;
    for (int v = 0; v < 4; v++) {
        uint8_t in[2] = {(uint8_t)(v & 1), (uint8_t)(v >> 1)}, out[1];
        CHECK_RC(run_gc(&id, rng, in, out, WHOLE, NULL, SIZE_MAX, 0), WARD_OK);
        CHECK(out[0] == in[1]);
    }
}

/* ---- labels, Delta, and misuse ------------------------------------------ */

static void test_api(ward_rng *rng) {
    ward_circuit c;
    CHECK_RC(ward_circuit_build_add(&c, 8), WARD_OK);
    ward_gc_plan plan;
    compile(&plan, &c);
    ward_garbler g;
    ward_evaluator e;
    ward_block d, l0[16], l1[16], enc[16];
    uint8_t ones[16], zeros[16] = {0}, key[16] = {0};
    memset(ones, 1, sizeof ones);
    CHECK_RC(ward_garbler_init(&g, &plan, rng), WARD_OK);
    CHECK_RC(ward_garbler_delta(&g, &d), WARD_OK);
    CHECK(d.b[0] & 1);
    CHECK_RC(ward_garbler_input_labels(&g, l0, 0, 16), WARD_OK);
    CHECK_RC(ward_garbler_encode(&g, l1, 0, ones, 16), WARD_OK);
    CHECK_RC(ward_garbler_encode(&g, enc, 0, zeros, 16), WARD_OK);
    for (int i = 0; i < 16; i++) {
        CHECK_MEM(enc[i].b, l0[i].b, 16);
        for (int k = 0; k < 16; k++) CHECK(l1[i].b[k] == (l0[i].b[k] ^ d.b[k]));
    }
    CHECK_RC(ward_garbler_input_labels(&g, l0, 10, 7), WARD_EINVAL);
    CHECK_RC(ward_garbler_input_labels(&g, l0, 17, 0), WARD_EINVAL);
    uint8_t two[1] = {2};
    CHECK_RC(ward_garbler_encode(&g, l1, 0, two, 1), WARD_EINVAL);
    uint8_t dec[8];
    CHECK_RC(ward_garbler_decode_bits(&g, dec, 8), WARD_ESTATE);
    /* replacing input labels before garbling */
    ward_block mine[16];
    ward_rng_bytes(rng, (uint8_t *)mine, sizeof mine);
    CHECK_RC(ward_garbler_set_input_labels(&g, 0, mine, 16), WARD_OK);
    CHECK_RC(ward_garbler_input_labels(&g, l0, 0, 16), WARD_OK);
    CHECK_MEM(l0, mine, sizeof mine);
    /* input labels stay readable (their slots are never reused) after
     * garbling */
    uint8_t tabs[8 * 32];
    size_t len = 0;
    while (!ward_garbler_done(&g))
        CHECK_RC(ward_garbler_next(&g, tabs, sizeof tabs, &len), WARD_OK);
    CHECK_RC(ward_garbler_input_labels(&g, l0, 0, 16), WARD_OK);
    CHECK_MEM(l0, mine, sizeof mine);
    CHECK_RC(ward_garbler_encode(&g, enc, 0, zeros, 16), WARD_OK);
    CHECK_MEM(enc, mine, sizeof mine);
    ward_garbler_free(&g);
    CHECK_RC(ward_garbler_delta(&g, &d), WARD_EINVAL);

    /* Delta given: its lsb must be 1 */
    d.b[0] &= 0xFE;
    CHECK_RC(ward_garbler_init_delta(&g, &plan, rng, &d), WARD_EINVAL);
    CHECK_RC(ward_garbler_delta(&g, &d), WARD_ECLOSED);
    d.b[0] |= 1;
    CHECK_RC(ward_garbler_init_delta(&g, &plan, rng, &d), WARD_OK);
    ward_block d2;
    CHECK_RC(ward_garbler_delta(&g, &d2), WARD_OK);
    CHECK_MEM(d2.b, d.b, 16);
    ward_garbler_free(&g);

    /* NULLs */
    CHECK_RC(ward_garbler_init(NULL, &plan, rng), WARD_EINVAL);
    CHECK_RC(ward_garbler_init(&g, NULL, rng), WARD_EINVAL);
    CHECK_RC(ward_garbler_init(&g, &plan, NULL), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, &plan, NULL), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, NULL, key), WARD_EINVAL);
    CHECK_RC(ward_gc_compile_var(NULL, &c), WARD_EINVAL);
    ward_gc_plan none;
    CHECK_RC(ward_gc_compile_var(&none, NULL), WARD_EINVAL);
    ward_garbler_free(NULL);
    ward_evaluator_free(NULL);
    ward_gc_plan_free(NULL);
    /* a plan that was never compiled, or has been freed */
    memset(&none, 0, sizeof none);
    CHECK_RC(ward_garbler_init(&g, &none, rng), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, &none, key), WARD_EINVAL);
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_ECLOSED);
    ward_gc_plan_free(&plan);
    CHECK_RC(ward_garbler_init(&g, &plan, rng), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, &plan, key), WARD_EINVAL);
    ward_gc_plan_free(&plan); /* twice is harmless */
    ward_circuit_free(&c);

    /* A circuit that breaks the rules (hand-made, not parsed) is refused
     * when it is compiled, and the plan is left empty. */
    ward_gate gates[2] = {{WARD_GATE_AND, 0, 5, 2, }, {WARD_GATE_XOR, 0, 1, 3}};
    uint32_t iw[1] = {2}, ow[1] = {1};
    ward_circuit bad = {0};
    bad.gates = gates;
    bad.ngates = 2;
    bad.nwires = 4;
    bad.ninputs = 1;
    bad.noutputs = 1;
    bad.input_widths = iw;
    bad.output_widths = ow;
    bad.input_bits = 2;
    bad.output_bits = 1;
    bad.and_count = 1;
    bad.xor_count = 1;
    ward_gc_plan bp;
    const ward_gc_plan empty = {0};
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL); /* wire 5 out of range */
    CHECK_MEM(&bp, &empty, sizeof bp);
    CHECK_RC(ward_garbler_init(&g, &bp, rng), WARD_EINVAL);
    gates[0].in1 = 3;                                        /* read before assigned */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    gates[0].in1 = 1;
    gates[1].out = 2;                                        /* assigned twice */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, &bp, key), WARD_EINVAL);
    gates[1].out = 3;
    gates[1].op = 9;                                         /* unknown op */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    gates[1].op = WARD_GATE_INV;
    gates[1].in1 = 4;                                        /* in1 not a wire */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    gates[1].in1 = 3;                                        /* not yet assigned */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    gates[1].in1 = 0;
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_OK);
    CHECK_RC(ward_garbler_init(&g, &bp, rng), WARD_OK);
    ward_garbler_free(&g);
    ward_gc_plan_free(&bp);
    gates[1].op = WARD_GATE_XOR;
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_OK);
    CHECK_RC(ward_garbler_init(&g, &bp, rng), WARD_OK);
    ward_garbler_free(&g);
    ward_gc_plan_free(&bp);
    bad.output_bits = 0;                                     /* no output */
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
    bad.output_bits = 1;
    bad.nwires = 0;
    CHECK_RC(ward_gc_compile_var(&bp, &bad), WARD_EINVAL);
}

/* ---- the evaluator's inputs by correlated OT ----------------------------- */

static void test_with_cot(ward_rng *rng) {
    ward_circuit c;
    if (load_vector(&c, "aes_128.txt") != WARD_OK) return;
    ward_gc_plan plan;
    compile(&plan, &c);
    ward_garbler g;
    ward_evaluator e;
    CHECK_RC(ward_garbler_init(&g, &plan, rng), WARD_OK);
    ward_block delta;
    CHECK_RC(ward_garbler_delta(&g, &delta), WARD_OK);

    /* Base-OT outputs stand in for a real base OT here (test_ot.c runs the
     * real one): the garbler (OT sender) knows seeds k_j^{Delta_j}, the
     * evaluator both. */
    ward_block s0[128], s1[128], ss[128];
    ward_rng_bytes(rng, (uint8_t *)s0, sizeof s0);
    ward_rng_bytes(rng, (uint8_t *)s1, sizeof s1);
    for (int j = 0; j < 128; j++) ss[j] = ((delta.b[j / 8] >> (j % 8)) & 1) ? s1[j] : s0[j];
    uint8_t sid[32] = {1, 2, 3};
    ward_otx_sender os;
    ward_otx_receiver orx;
    CHECK_RC(ward_otx_sender_init(&os, sid, &delta, ss), WARD_OK);
    CHECK_RC(ward_otx_receiver_init(&orx, sid, s0, s1), WARD_OK);

    /* key = garbler's input 0, plaintext = evaluator's input 1 */
    const char *key_hex = "000102030405060708090a0b0c0d0e0f";
    const char *pt_hex = "00112233445566778899aabbccddeeff";
    uint8_t kb[128], pb[128], choices[16] = {0};
    CHECK_RC(ward_circuit_hex_to_bits_var(kb, 128, key_hex, 32), WARD_OK);
    CHECK_RC(ward_circuit_hex_to_bits_var(pb, 128, pt_hex, 32), WARD_OK);
    for (int i = 0; i < 128; i++) choices[i / 8] |= (uint8_t)(pb[i] << (i % 8));

    size_t ulen = ward_otx_u_bytes(128);
    uint8_t *u = malloc(ulen), chal[16], chk[32];
    ward_block t[128], q[128], lab[128];
    CHECK_RC(ward_otx_recv_extend(&orx, rng, u, ulen, t, choices, 128), WARD_OK);
    CHECK_RC(ward_otx_send_extend(&os, rng, q, chal, 128, u, ulen), WARD_OK);
    CHECK_RC(ward_otx_recv_check(&orx, chk, t, choices, 128, chal, 16), WARD_OK);
    CHECK_RC(ward_otx_send_verify(&os, q, 128, chk, 32), WARD_OK);
    free(u);

    /* q rows are the 0-labels of the evaluator's wires, t rows its labels */
    CHECK_RC(ward_garbler_set_input_labels(&g, 128, q, 128), WARD_OK);
    uint8_t key[16];
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    CHECK_RC(ward_evaluator_init(&e, &plan, key), WARD_OK);
    CHECK_RC(ward_garbler_encode(&g, lab, 0, kb, 128), WARD_OK);
    CHECK_RC(ward_evaluator_set_input_labels(&e, 0, lab, 128), WARD_OK);
    CHECK_RC(ward_evaluator_set_input_labels(&e, 128, t, 128), WARD_OK);
    uint8_t *buf = malloc(4096);
    while (!ward_garbler_done(&g)) {
        size_t len;
        CHECK_RC(ward_garbler_next(&g, buf, 4096, &len), WARD_OK);
        CHECK_RC(ward_evaluator_feed(&e, buf, len), WARD_OK);
    }
    free(buf);
    uint8_t d[128], ob[128];
    char hex[40];
    CHECK_RC(ward_garbler_decode_bits(&g, d, 128), WARD_OK);
    CHECK_RC(ward_evaluator_decode(&e, ob, 128, d, 128), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(hex, sizeof hex, ob, 128), WARD_OK);
    CHECK(strcmp(hex, "69c4e0d86a7b0430d8cdb78070b4c55a") == 0);
    ward_garbler_free(&g);
    ward_evaluator_free(&e);
    ward_otx_sender_clear(&os);
    ward_otx_receiver_clear(&orx);
    ward_gc_plan_free(&plan);
    ward_circuit_free(&c);
}

int main(void) {
    if (ward_gc_cpu_check() != WARD_OK) {
        printf("garble: CPU without AES-NI/PCLMUL, nothing to test\n");
        return check_done("garble");
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x6761726231ull);
    test_known_answers(&rng);
    test_random_vectors(&rng);
    test_chunking();
    test_stream_edges(&rng);
    test_flipped_bytes(&rng);
    test_built(&rng);
    test_reorder(&rng);
    test_stream_digests();
    test_plans(&rng);
    test_api(&rng);
    test_with_cot(&rng);
    ward_rng_clear(&rng);
    return check_done("garble");
}
