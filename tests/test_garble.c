/* Half-gates garbling: every published circuit garbled and evaluated gives
 * its known answer (REFERENCE-FIGURES.md) and agrees with plaintext
 * evaluation on thousands of random inputs; the table stream is the same
 * byte for byte whatever the chunking on either side; a damaged table never
 * crashes the evaluator and usually changes the output; circuits from the
 * builder (with EQ constants, EQW copies and INV) work too; the evaluator's
 * inputs can come from IKNP correlated OT with the garbler's Delta; misuse
 * and peer errors get the documented codes. */
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
    uint8_t key[WARD_GC_KEY_BYTES];
    int rc = ward_garbler_init(&g, c, rng);
    if (rc != WARD_OK) return rc;
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    rc = ward_evaluator_init(&e, c, key);
    if (rc != WARD_OK) {
        ward_garbler_free(&g);
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
    ward_garbler g;
    ward_evaluator e;
    uint8_t key[16];
    CHECK_RC(ward_garbler_init(&g, &c, rng), WARD_OK);
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    CHECK_RC(ward_evaluator_init(&e, &c, key), WARD_OK);
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
    CHECK_RC(ward_garbler_init(&g, &c, rng), WARD_OK);
    CHECK_RC(ward_garbler_hash_key(&g, key), WARD_OK);
    CHECK_RC(ward_evaluator_init(&e, &c, key), WARD_OK);
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

/* ---- labels, Delta, and misuse ------------------------------------------ */

static void test_api(ward_rng *rng) {
    ward_circuit c;
    CHECK_RC(ward_circuit_build_add(&c, 8), WARD_OK);
    ward_garbler g;
    ward_evaluator e;
    ward_block d, l0[16], l1[16], enc[16];
    uint8_t ones[16], zeros[16] = {0};
    memset(ones, 1, sizeof ones);
    CHECK_RC(ward_garbler_init(&g, &c, rng), WARD_OK);
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
    ward_garbler_free(&g);
    CHECK_RC(ward_garbler_delta(&g, &d), WARD_EINVAL);

    /* Delta given: its lsb must be 1 */
    d.b[0] &= 0xFE;
    CHECK_RC(ward_garbler_init_delta(&g, &c, rng, &d), WARD_EINVAL);
    CHECK_RC(ward_garbler_delta(&g, &d), WARD_ECLOSED);
    d.b[0] |= 1;
    CHECK_RC(ward_garbler_init_delta(&g, &c, rng, &d), WARD_OK);
    ward_block d2;
    CHECK_RC(ward_garbler_delta(&g, &d2), WARD_OK);
    CHECK_MEM(d2.b, d.b, 16);
    ward_garbler_free(&g);

    /* NULLs */
    CHECK_RC(ward_garbler_init(NULL, &c, rng), WARD_EINVAL);
    CHECK_RC(ward_garbler_init(&g, NULL, rng), WARD_EINVAL);
    CHECK_RC(ward_garbler_init(&g, &c, NULL), WARD_EINVAL);
    CHECK_RC(ward_evaluator_init(&e, &c, NULL), WARD_EINVAL);
    ward_garbler_free(NULL);
    ward_evaluator_free(NULL);
    ward_circuit_free(&c);

    /* A circuit that breaks the rules (hand-made, not parsed) is refused. */
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
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL); /* wire 5 out of range */
    gates[0].in1 = 3;                                          /* read before assigned */
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL);
    gates[0].in1 = 1;
    gates[1].out = 2;                                          /* assigned twice */
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL);
    uint8_t key[16] = {0};
    CHECK_RC(ward_evaluator_init(&e, &bad, key), WARD_EINVAL);
    gates[1].out = 3;
    gates[1].op = 9;                                           /* unknown op */
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL);
    gates[1].op = WARD_GATE_INV;
    gates[1].in1 = 4;                                          /* in1 not a wire */
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL);
    gates[1].in1 = 3;                                          /* not yet assigned */
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_EINVAL);
    gates[1].in1 = 0;
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_OK);
    ward_garbler_free(&g);
    gates[1].op = WARD_GATE_XOR;
    CHECK_RC(ward_garbler_init(&g, &bad, rng), WARD_OK);
    ward_garbler_free(&g);
}

/* ---- the evaluator's inputs by correlated OT ----------------------------- */

static void test_with_cot(ward_rng *rng) {
    ward_circuit c;
    if (load_vector(&c, "aes_128.txt") != WARD_OK) return;
    ward_garbler g;
    ward_evaluator e;
    CHECK_RC(ward_garbler_init(&g, &c, rng), WARD_OK);
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
    CHECK_RC(ward_evaluator_init(&e, &c, key), WARD_OK);
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
    test_api(&rng);
    test_with_cot(&rng);
    ward_rng_clear(&rng);
    return check_done("garble");
}
