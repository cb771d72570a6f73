/* Bristol Fashion parsing and plaintext evaluation: the published circuits
 * give their known answers (REFERENCE-FIGURES.md) and agree with C
 * arithmetic and OpenSSL's AES on random inputs; malformed files are
 * refused at the right line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "readfile.h"
#include "check.h"
#include "circuit.h"
#include "error.h"
#include "rng.h"

/* ---- helpers -------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len) {
    char *buf = NULL;
    return ward_read_file(&buf, len, path, (size_t)1 << 30) == 0 ? buf : NULL;
}

static char *vector_text(const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bristol/%s", check_vectors_dir(), name);
    char *t = read_all(path, len);
    if (!t) fprintf(stderr, "cannot read %s\n", path);
    return t;
}

static int load_vector(ward_circuit *c, const char *name) {
    size_t len;
    char *t = vector_text(name, &len);
    if (!t) return -1;
    ward_circuit_error err;
    int rc = ward_circuit_parse_var(c, &err, t, len);
    if (rc != WARD_OK) fprintf(stderr, "%s:%zu: %s\n", name, err.line, err.msg);
    free(t);
    return rc;
}

/* Evaluates c on HEX inputs and returns output j as hex (static buffer). */
static const char *eval_hex(const ward_circuit *c, const char *const *in, size_t j) {
    static char out_hex[1024];
    uint8_t *ib = malloc(c->input_bits), *ob = malloc(c->output_bits);
    size_t off = 0;
    out_hex[0] = '\0';
    for (uint32_t i = 0; i < c->ninputs; i++) {
        CHECK_RC(ward_circuit_hex_to_bits_var(ib + off, c->input_widths[i], in[i], strlen(in[i])),
                 WARD_OK);
        off += c->input_widths[i];
    }
    CHECK_RC(ward_circuit_eval_var(c, ob, c->output_bits, ib, c->input_bits), WARD_OK);
    off = 0;
    for (size_t i = 0; i < j; i++) off += c->output_widths[i];
    CHECK_RC(ward_circuit_bits_to_hex_var(out_hex, sizeof out_hex, ob + off, c->output_widths[j]),
             WARD_OK);
    free(ib);
    free(ob);
    return out_hex;
}

static void put_u64_le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int same_circuit(const ward_circuit *a, const ward_circuit *b) {
    if (a->ngates != b->ngates || a->nwires != b->nwires || a->ninputs != b->ninputs ||
        a->noutputs != b->noutputs || a->input_bits != b->input_bits ||
        a->output_bits != b->output_bits || a->and_count != b->and_count ||
        a->xor_count != b->xor_count || a->inv_count != b->inv_count ||
        a->eq_count != b->eq_count || a->eqw_count != b->eqw_count)
        return 0;
    if (memcmp(a->input_widths, b->input_widths, a->ninputs * sizeof(uint32_t)) != 0) return 0;
    if (memcmp(a->output_widths, b->output_widths, a->noutputs * sizeof(uint32_t)) != 0) return 0;
    return a->ngates == 0 || memcmp(a->gates, b->gates, a->ngates * sizeof(ward_gate)) == 0;
}

static size_t count_newlines(const char *t, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += t[i] == '\n';
    return k;
}

/* ---- known answers -------------------------------------------------------- */

static void test_known_answers(void) {
    ward_circuit c;
    const char *a = "0x0123456789abcdef", *b = "0xfedcba9876543210";

    if (load_vector(&c, "aes_128.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 6400);
        CHECK_EQ_U64(c.xor_count, 28176);
        CHECK_EQ_U64(c.inv_count, 2087);
        CHECK_EQ_U64(c.eq_count + c.eqw_count, 0);
        CHECK_EQ_U64(c.ngates, 36663);
        CHECK_EQ_U64(c.nwires, 36919);
        CHECK_EQ_U64(c.ninputs, 2);
        CHECK_EQ_U64(c.input_widths[0], 128);
        CHECK_EQ_U64(c.input_widths[1], 128);
        CHECK_EQ_U64(c.noutputs, 1);
        CHECK_EQ_U64(c.output_widths[0], 128);
        const char *z[] = {"0", "0"};
        CHECK(strcmp(eval_hex(&c, z, 0), "66e94bd4ef8a2c3b884cfa59ca342b2e") == 0);
        const char *fips[] = {"000102030405060708090a0b0c0d0e0f",
                              "00112233445566778899aabbccddeeff"};
        CHECK(strcmp(eval_hex(&c, fips, 0), "69c4e0d86a7b0430d8cdb78070b4c55a") == 0);
        const char *fips_up[] = {"0x000102030405060708090A0B0C0D0E0F",
                                 "00112233445566778899AABBCCDDEEFF"};
        CHECK(strcmp(eval_hex(&c, fips_up, 0), "69c4e0d86a7b0430d8cdb78070b4c55a") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }

    const char *ab[] = {a, b};
    if (load_vector(&c, "adder64.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 63);
        CHECK(strcmp(eval_hex(&c, ab, 0), "ffffffffffffffff") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }
    if (load_vector(&c, "sub64.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 63);
        CHECK(strcmp(eval_hex(&c, ab, 0), "02468acf13579bdf") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }
    if (load_vector(&c, "mult64.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 4033);
        CHECK(strcmp(eval_hex(&c, ab, 0), "2236d88fe5618cf0") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }
    if (load_vector(&c, "neg64.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 62);
        CHECK_EQ_U64(c.eqw_count, 1);
        CHECK_EQ_U64(c.ninputs, 1);
        CHECK(strcmp(eval_hex(&c, ab, 0), "fedcba9876543211") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }
    if (load_vector(&c, "zero_equal.txt") == WARD_OK) {
        CHECK_EQ_U64(c.and_count, 63);
        CHECK_EQ_U64(c.output_bits, 1);
        const char *zero[] = {"0"}, *one[] = {"1"}, *top[] = {"8000000000000000"};
        CHECK(strcmp(eval_hex(&c, zero, 0), "1") == 0);
        CHECK(strcmp(eval_hex(&c, one, 0), "0") == 0);
        CHECK(strcmp(eval_hex(&c, top, 0), "0") == 0);
        ward_circuit_free(&c);
    } else {
        CHECK(0);
    }
}

/* ---- random inputs against C arithmetic ----------------------------------- */

enum { F_ADD, F_SUB, F_MUL, F_NEG, F_ZERO };

static void random_arith(const char *name, int f, int rounds) {
    ward_circuit c;
    if (load_vector(&c, name) != WARD_OK) {
        CHECK(0);
        return;
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x5eed0000u + (uint64_t)f);
    size_t in_len = ward_circuit_packed_len(c.input_widths, c.ninputs);
    size_t out_len = ward_circuit_packed_len(c.output_widths, c.noutputs);
    uint8_t in[16], out[8];
    CHECK(in_len <= sizeof in && out_len <= sizeof out);
    int bad = 0;
    for (int r = 0; r < rounds && in_len <= sizeof in && out_len <= sizeof out; r++) {
        uint64_t x = ward_rng_u64(&rng), y = ward_rng_u64(&rng);
        /* Edge values now and then. */
        if (r % 16 == 1) x = 0;
        if (r % 16 == 2) y = 0;
        if (r % 16 == 3) x = UINT64_MAX;
        if (r % 16 == 4) y = UINT64_MAX;
        if (r % 16 == 5) x = (uint64_t)1 << (r % 64);
        put_u64_le(in, x);
        put_u64_le(in + 8, y);
        memset(out, 0, sizeof out);
        if (ward_circuit_eval_bytes_var(&c, out, out_len, in, in_len) != WARD_OK) {
            bad++;
            continue;
        }
        uint64_t want;
        switch (f) {
        case F_ADD: want = x + y; break;
        case F_SUB: want = x - y; break;
        case F_MUL: want = x * y; break;
        case F_NEG: want = (uint64_t)0 - x; break;
        default: want = x == 0; break;
        }
        uint64_t got = f == F_ZERO ? out[0] : get_u64_le(out);
        if (got != want) bad++;
    }
    if (bad) fprintf(stderr, "%s: %d of %d random inputs disagree\n", name, bad, rounds);
    CHECK(bad == 0);
    ward_circuit_free(&c);
}

static void test_random_arith(void) {
    random_arith("adder64.txt", F_ADD, 4000);
    random_arith("sub64.txt", F_SUB, 4000);
    random_arith("mult64.txt", F_MUL, 2000);
    random_arith("neg64.txt", F_NEG, 4000);
    random_arith("zero_equal.txt", F_ZERO, 4000);
}

/* The bit-array and byte-array paths agree (and both agree with C). */
static void test_bits_vs_bytes(void) {
    ward_circuit c;
    if (load_vector(&c, "sub64.txt") != WARD_OK) {
        CHECK(0);
        return;
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 77);
    for (int r = 0; r < 200; r++) {
        uint64_t x = ward_rng_u64(&rng), y = ward_rng_u64(&rng);
        uint8_t ib[128], ob[64];
        for (int i = 0; i < 64; i++) {
            ib[i] = (uint8_t)((x >> i) & 1);
            ib[64 + i] = (uint8_t)((y >> i) & 1);
        }
        CHECK_RC(ward_circuit_eval_var(&c, ob, 64, ib, 128), WARD_OK);
        uint64_t got = 0;
        for (int i = 0; i < 64; i++) got |= (uint64_t)ob[i] << i;
        CHECK_EQ_U64(got, x - y);
    }
    uint8_t ib[128] = {0}, ob[64];
    ib[3] = 2; /* not a bit */
    CHECK_RC(ward_circuit_eval_var(&c, ob, 64, ib, 128), WARD_EINVAL);
    CHECK_RC(ward_circuit_eval_var(&c, ob, 64, ib, 127), WARD_EINVAL);
    CHECK_RC(ward_circuit_eval_var(&c, ob, 63, ib, 128), WARD_EINVAL);
    uint8_t in[16] = {0}, out[8];
    CHECK_RC(ward_circuit_eval_bytes_var(&c, out, 8, in, 15), WARD_EINVAL);
    ward_circuit_free(&c);
}

/* ---- AES against OpenSSL --------------------------------------------------- */

static void test_random_aes(void) {
    ward_circuit c;
    if (load_vector(&c, "aes_128.txt") != WARD_OK) {
        CHECK(0);
        return;
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    CHECK(ctx != NULL);
    ward_rng rng;
    ward_rng_init_u64(&rng, 0xae5);
    int bad = 0, rounds = 150;
    for (int r = 0; r < rounds && ctx; r++) {
        uint8_t key[16], pt[16], ct[32], in[32], out[16];
        int l1 = 0, l2 = 0;
        ward_rng_bytes(&rng, key, 16);
        ward_rng_bytes(&rng, pt, 16);
        EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL);
        EVP_CIPHER_CTX_set_padding(ctx, 0);
        EVP_EncryptUpdate(ctx, ct, &l1, pt, 16);
        EVP_EncryptFinal_ex(ctx, ct + l1, &l2);
        CHECK(l1 + l2 == 16);
        /* The circuit's values are integers whose big-endian bytes are the
         * AES key and block; packed values are little-endian. */
        for (int i = 0; i < 16; i++) {
            in[i] = key[15 - i];
            in[16 + i] = pt[15 - i];
        }
        if (ward_circuit_eval_bytes_var(&c, out, 16, in, 32) != WARD_OK) {
            bad++;
            continue;
        }
        for (int i = 0; i < 16; i++)
            if (out[i] != ct[15 - i]) {
                bad++;
                break;
            }
    }
    if (bad) fprintf(stderr, "aes_128: %d of %d random inputs disagree with OpenSSL\n", bad, rounds);
    CHECK(bad == 0);
    EVP_CIPHER_CTX_free(ctx);

    /* Parsing speed, printed, not asserted. */
    size_t len;
    char *t = vector_text("aes_128.txt", &len);
    if (t) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int reps = 20;
        for (int i = 0; i < reps; i++) {
            ward_circuit d;
            CHECK_RC(ward_circuit_parse_var(&d, NULL, t, len), WARD_OK);
            ward_circuit_free(&d);
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / reps;
        printf("parse aes_128.txt (%zu bytes): %.2f ms\n", len, ms);
        free(t);
    }
    ward_circuit_free(&c);
}

/* ---- EQ, EQW and MAND -------------------------------------------------------- */

static void test_gate_kinds(void) {
    ward_circuit c;
    ward_circuit_error err;
    /* out0 = EQ 1, out1 = EQ 0, out2 = EQW in0, out3 = INV in1 */
    const char *t = "4 6\n2 1 1\n4 1 1 1 1\n\n1 1 1 2 EQ\n1 1 0 3 EQ\n1 1 0 4 EQW\n1 1 1 5 INV\n";
    CHECK_RC(ward_circuit_parse_var(&c, &err, t, strlen(t)), WARD_OK);
    CHECK_EQ_U64(c.eq_count, 2);
    CHECK_EQ_U64(c.eqw_count, 1);
    CHECK_EQ_U64(c.inv_count, 1);
    for (int v = 0; v < 4; v++) {
        uint8_t in[2] = {(uint8_t)(v & 1), (uint8_t)(v >> 1)}, out[4];
        CHECK_RC(ward_circuit_eval_var(&c, out, 4, in, 2), WARD_OK);
        CHECK(out[0] == 1 && out[1] == 0);
        CHECK(out[2] == in[0]);
        CHECK(out[3] == (in[1] ^ 1));
    }
    ward_circuit_free(&c);

    /* MAND as in the format's description: "4 2 0 2 1 3 4 5 MAND" is
     * AND(0,1) -> 4 and AND(2,3) -> 5. One line, two ANDs. */
    t = "1 6\n4 1 1 1 1\n1 2\n4 2 0 2 1 3 4 5 MAND\n";
    CHECK_RC(ward_circuit_parse_var(&c, &err, t, strlen(t)), WARD_OK);
    CHECK_EQ_U64(c.ngates, 2);
    CHECK_EQ_U64(c.and_count, 2);
    for (int v = 0; v < 16; v++) {
        uint8_t in[4], out[2];
        for (int i = 0; i < 4; i++) in[i] = (uint8_t)((v >> i) & 1);
        CHECK_RC(ward_circuit_eval_var(&c, out, 2, in, 4), WARD_OK);
        CHECK(out[0] == (in[0] & in[1]));
        CHECK(out[1] == (in[2] & in[3]));
    }
    ward_circuit_free(&c);

    /* neg64 with its EQW read as NOT gives wrong answers: the check above
     * that neg64 works is a real check of EQW. */
    size_t len;
    char *n = vector_text("neg64.txt", &len);
    if (n) {
        char *p = strstr(n, " EQW");
        CHECK(p != NULL);
        if (p) memcpy(p, " INV", 4);
        CHECK_RC(ward_circuit_parse_var(&c, &err, n, len), WARD_OK);
        if (c.ngates) {
            const char *a[] = {"0123456789abcdef"};
            CHECK(strcmp(eval_hex(&c, a, 0), "fedcba9876543211") != 0);
            ward_circuit_free(&c);
        }
        free(n);
    }
}

/* ---- accepted layouts ------------------------------------------------------------ */

static void test_layouts(void) {
    static const char *const good[] = {
        "1 3\n2 1 1\n1 1\n2 1 0 1 2 XOR",                       /* no final newline */
        "1 3\r\n2 1 1\r\n1 1\r\n\r\n2 1 0 1 2 XOR\r\n",         /* CRLF */
        "\n\n1 3\n\n2 1 1\n\n1 1\n\n\n2 1 0 1 2 XOR\n\n\n",     /* blank lines */
        "1\t3 \n2\t1\t1\t\n1 1  \n  2 1 0   1 2 XOR  \n",      /* tabs, spaces */
        "1 3\n2 1 1\n1 1\n2 1 00 0001 2 AND\n",                 /* leading zeros */
        "0 2\n1 2\n1 2\n",                                      /* no gates: output = input */
        "2 4\n2 1 1\n2 1 1\n2 1 0 1 2 AND\n2 1 0 1 3 XOR\n",    /* two outputs */
        "1 2\n1 1\n1 1\n1 1 1 1 EQ\n",                          /* EQ 1 beside wire 1 */
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ward_circuit c;
        ward_circuit_error err;
        int rc = ward_circuit_parse_var(&c, &err, good[i], strlen(good[i]));
        if (rc != WARD_OK) fprintf(stderr, "good[%zu]: line %zu: %s\n", i, err.line, err.msg);
        CHECK_RC(rc, WARD_OK);
        ward_circuit_free(&c);
    }
    /* The same one-gate circuit whatever the layout. */
    ward_circuit a, b;
    CHECK_RC(ward_circuit_parse_var(&a, NULL, good[0], strlen(good[0])), WARD_OK);
    CHECK_RC(ward_circuit_parse_var(&b, NULL, good[3], strlen(good[3])), WARD_OK);
    CHECK(same_circuit(&a, &b));
    ward_circuit_free(&a);
    ward_circuit_free(&b);
}

/* ---- malformed files --------------------------------------------------------------- */

typedef struct {
    const char *text;
    int rc;
    size_t line;
    const char *why; /* a word the message must contain */
} bad_case;

static void test_malformed_table(void) {
    static const bad_case bad[] = {
        {"", WARD_EPARSE, 1, "empty"},
        {"\n\n", WARD_EPARSE, 3, "empty"},
        {"1\n", WARD_EPARSE, 1, "two numbers"},
        {"1 3 4\n", WARD_EPARSE, 1, "two numbers"},
        {"a 3\n", WARD_EPARSE, 1, "gate count"},
        {"1 -3\n", WARD_EPARSE, 1, "wire count"},
        {"1 0\n1 1\n1 1\n", WARD_EPARSE, 1, "at least 1"},
        {"268435457 3\n", WARD_ETOOBIG, 1, "limit"},
        {"1 268435457\n", WARD_ETOOBIG, 1, "limit"},
        {"1 99999999999999999999999999\n", WARD_ETOOBIG, 1, "limit"},
        {"1 3\n", WARD_EPARSE, 2, "input line"},
        {"1 3\n0\n1 1\n", WARD_EPARSE, 2, "at least 1"},
        {"1 3\n2 1\n1 1\n", WARD_EPARSE, 2, "widths follow"},
        {"1 3\n2 1 1 1\n1 1\n", WARD_EPARSE, 2, "widths follow"},
        {"1 3\n2 1 0\n1 1\n", WARD_EPARSE, 2, "at least 1"},
        {"1 3\n2 2 2\n1 1\n", WARD_EPARSE, 2, "beyond"},
        {"1 3\n9 1 1 1 1 1 1 1 1 1\n1 1\n", WARD_EPARSE, 2, "exceeds"},
        {"1 3\n2 1 x\n1 1\n", WARD_EPARSE, 2, "width"},
        {"1 3\n2 1 1\n", WARD_EPARSE, 3, "output line"},
        {"1 3\n2 1 1\n1 4\n", WARD_EPARSE, 3, "beyond"},
        {"1 3\n2 1 1\n0\n", WARD_EPARSE, 3, "at least 1"},
        {"1 3\n2 1 1\n2 1\n", WARD_EPARSE, 3, "widths follow"},
        /* wrong number of gates */
        {"2 3\n2 1 1\n1 1\n2 1 0 1 2 XOR\n", WARD_EPARSE, 5, "ends after 1 of 2"},
        {"2 3\n2 1 1\n1 1\n2 1 0 1 2 XOR", WARD_EPARSE, 4, "ends after 1 of 2"},
        {"1 4\n2 1 1\n1 1\n2 1 0 1 2 XOR\n2 1 0 2 3 AND\n", WARD_EPARSE, 5, "after the last"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 XOR\n\n\nx\n", WARD_EPARSE, 7, "after the last"},
        /* wires out of range */
        {"1 3\n2 1 1\n1 1\n2 1 0 7 2 XOR\n", WARD_EPARSE, 4, "out of range"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 3 XOR\n", WARD_EPARSE, 4, "out of range"},
        {"1 3\n2 1 1\n1 1\n2 1 0 99999999999999999999 2 XOR\n", WARD_EPARSE, 4, "out of range"},
        {"1 3\n2 1 1\n1 1\n2 1 0 -1 2 XOR\n", WARD_EPARSE, 4, "wire number"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1x 2 XOR\n", WARD_EPARSE, 4, "wire number"},
        /* read before assigned: out of topological order */
        {"2 4\n2 1 1\n1 1\n2 1 0 2 3 XOR\n2 1 0 1 2 AND\n", WARD_EPARSE, 4, "before it is assigned"},
        {"1 3\n2 1 1\n1 1\n2 1 0 2 2 XOR\n", WARD_EPARSE, 4, "before it is assigned"},
        /* single assignment */
        {"2 4\n2 1 1\n1 1\n2 1 0 1 2 XOR\n2 1 0 1 2 AND\n", WARD_EPARSE, 5, "twice"},
        {"2 4\n2 1 1\n1 1\n2 1 0 1 1 XOR\n2 1 0 1 3 AND\n", WARD_EPARSE, 4, "is an input"},
        {"1 4\n2 1 1\n1 2\n4 2 0 0 1 1 2 2 MAND\n", WARD_EPARSE, 4, "twice"},
        /* unknown operations, wrong arity */
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 OR\n", WARD_EPARSE, 4, "unknown gate operation 'OR'"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 xor\n", WARD_EPARSE, 4, "unknown"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 XOR junk\n", WARD_EPARSE, 4, "unknown"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2\n", WARD_EPARSE, 4, "unknown"},
        {"1 3\n2 1 1\n1 1\n2 1\n", WARD_EPARSE, 4, "incomplete"},
        {"1 3\n2 1 1\n1 1\n1 1 0 2 XOR\n", WARD_EPARSE, 4, "XOR takes 2 inputs"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 INV\n", WARD_EPARSE, 4, "INV takes 1 input"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 EQW\n", WARD_EPARSE, 4, "EQW takes 1 input"},
        {"1 3\n2 1 1\n1 1\n2 2 0 1 2 XOR\n", WARD_EPARSE, 4, "XOR takes 2 inputs"},
        {"1 4\n2 1 1\n1 2\n3 1 0 1 0 2 MAND\n", WARD_EPARSE, 4, "MAND"},
        {"1 4\n2 1 1\n1 2\n0 0 MAND\n", WARD_EPARSE, 4, "MAND"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 3 XOR\n", WARD_EPARSE, 4, "fields"},
        {"1 3\n2 1 1\n1 1\n2 1 0 XOR\n", WARD_EPARSE, 4, "fields"},
        {"1 3\n2 1 1\n1 1\nx 1 0 1 2 XOR\n", WARD_EPARSE, 4, "input count"},
        /* EQ takes a constant, not a wire */
        {"1 4\n2 1 1\n1 1\n1 1 2 3 EQ\n", WARD_EPARSE, 4, "constant"},
        {"2 4\n2 1 1\n1 1\n2 1 0 1 2 XOR\n1 1 2 3 EQ\n", WARD_EPARSE, 5, "constant"},
        /* outputs must be assigned */
        {"1 4\n2 1 1\n1 1\n2 1 0 1 2 XOR\n", WARD_EPARSE, 3, "never assigned"},
        {"0 3\n2 1 1\n1 1\n", WARD_EPARSE, 3, "never assigned"},
        /* junk bytes */
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 X\001R\n", WARD_EPARSE, 4, "unknown"},
        {"1 3\n2 1 1\n1 1\n2 1 0 1 2 XOR\n\xff", WARD_EPARSE, 5, "after the last"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ward_circuit c;
        ward_circuit_error err;
        int rc = ward_circuit_parse_var(&c, &err, bad[i].text, strlen(bad[i].text));
        int ok = rc == bad[i].rc && err.line == bad[i].line && strstr(err.msg, bad[i].why);
        if (!ok)
            fprintf(stderr, "bad[%zu]: rc %d line %zu '%s' (wanted %d, line %zu, '%s')\n", i, rc,
                    err.line, err.msg, bad[i].rc, bad[i].line, bad[i].why);
        CHECK(ok);
        CHECK(c.gates == NULL && c.ngates == 0 && c.input_widths == NULL);
        ward_circuit_free(&c);
    }
    /* A NUL inside the text is just a bad byte. */
    const char nul[] = "1 3\n2 1 1\n1 1\n2 1 0 1 2 XOR\0\n";
    ward_circuit c;
    ward_circuit_error err;
    CHECK_RC(ward_circuit_parse_var(&c, &err, nul, sizeof nul - 1), WARD_EPARSE);
    CHECK_EQ_U64(err.line, 4);
    /* err may be NULL; c may not. */
    CHECK_RC(ward_circuit_parse_var(&c, NULL, "x", 1), WARD_EPARSE);
    CHECK_RC(ward_circuit_parse_var(NULL, &err, "x", 1), WARD_EINVAL);
    CHECK_RC(ward_circuit_parse_var(&c, &err, NULL, 1), WARD_EINVAL);
}

/* Every prefix of a real circuit that cuts into its header or gates is
 * refused at the line where it was cut. */
static void test_truncated(void) {
    const char *names[] = {"adder64.txt", "neg64.txt", "aes_128.txt"};
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x7407);
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        char *t = vector_text(names[f], &len);
        if (!t) {
            CHECK(0);
            continue;
        }
        size_t end = len; /* the end of the last gate line */
        while (end > 0 && (t[end - 1] == '\n' || t[end - 1] == ' ' || t[end - 1] == '\r')) end--;
        int bad = 0, tries = f == 2 ? 60 : 300;
        for (int i = 0; i < tries; i++) {
            size_t cut;
            if (i == 0) cut = 0;
            else if (i == 1) cut = end - 1;
            else cut = (size_t)ward_rng_uniform(&rng, end);
            ward_circuit c;
            ward_circuit_error err;
            int rc = ward_circuit_parse_var(&c, &err, t, cut);
            size_t want = 1 + count_newlines(t, cut);
            if (rc != WARD_EPARSE || err.line != want) {
                if (bad < 5)
                    fprintf(stderr, "%s cut at %zu: rc %d line %zu (%s), wanted line %zu\n",
                            names[f], cut, rc, err.line, err.msg, want);
                bad++;
            }
            ward_circuit_free(&c);
        }
        CHECK(bad == 0);
        /* Whole lines missing: the error is at the end. */
        size_t cut = end;
        for (int k = 0; k < 3; k++) {
            while (cut > 0 && t[cut - 1] != '\n') cut--;
            ward_circuit c;
            ward_circuit_error err;
            CHECK_RC(ward_circuit_parse_var(&c, &err, t, cut), WARD_EPARSE);
            CHECK_EQ_U64(err.line, 1 + count_newlines(t, cut));
            CHECK(strstr(err.msg, "file ends after") != NULL);
            if (cut > 0) cut--;
        }
        free(t);
    }
}

/* Splits text into lines (pointers into a copy). */
typedef struct {
    char *buf;
    char **line;
    size_t n;
} lines;

static void split_lines(lines *l, const char *t, size_t len) {
    l->buf = malloc(len + 1);
    memcpy(l->buf, t, len);
    l->buf[len] = '\0';
    l->line = malloc((count_newlines(t, len) + 2) * sizeof *l->line);
    l->n = 0;
    char *p = l->buf;
    for (;;) {
        l->line[l->n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
}

static char *join_lines(const lines *l, size_t *len) {
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++) total += strlen(l->line[i]) + 1;
    char *out = malloc(total + 1), *p = out;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->line[i]);
        memcpy(p, l->line[i], n);
        p[n] = '\n';
        p += n + 1;
    }
    *len = total;
    return out;
}

static void free_lines(lines *l) {
    free(l->buf);
    free(l->line);
}

/* Real circuits with gates out of order or an output wire reused. */
static void test_mutated(void) {
    size_t len;
    char *t = vector_text("adder64.txt", &len);
    if (!t) {
        CHECK(0);
        return;
    }
    lines l;
    split_lines(&l, t, len);
    /* Gate lines start at index 4 (line 5). Find gate i whose output a
     * later gate j reads, and move j in front of i. */
    size_t gi = 0, gj = 0;
    for (size_t i = 4; i < l.n && !gj; i++) {
        unsigned a, b, o, o2;
        if (sscanf(l.line[i], "2 1 %u %u %u", &a, &b, &o) != 3) continue;
        for (size_t j = i + 1; j < l.n; j++)
            if (sscanf(l.line[j], "2 1 %u %u %u", &a, &b, &o2) == 3 && (a == o || b == o)) {
                gi = i;
                gj = j;
                break;
            }
    }
    CHECK(gj > 0);
    if (gj) {
        char *tmp = l.line[gi];
        l.line[gi] = l.line[gj];
        l.line[gj] = tmp;
        size_t n;
        char *m = join_lines(&l, &n);
        ward_circuit c;
        ward_circuit_error err;
        CHECK_RC(ward_circuit_parse_var(&c, &err, m, n), WARD_EPARSE);
        CHECK_EQ_U64(err.line, gi + 1);
        CHECK(strstr(err.msg, "before it is assigned") != NULL);
        free(m);
        l.line[gj] = l.line[gi];
        l.line[gi] = tmp;
    }
    /* Make the last gate write the output wire of gate line 5. */
    {
        unsigned a, b, o;
        size_t last = l.n;
        while (last > 0 && sscanf(l.line[last - 1], "2 1 %u %u %u", &a, &b, &o) != 3) last--;
        CHECK(last > 5);
        unsigned first_out;
        CHECK(sscanf(l.line[4], "2 1 %u %u %u", &a, &b, &first_out) == 3);
        char repl[128];
        CHECK(sscanf(l.line[last - 1], "2 1 %u %u %u", &a, &b, &o) == 3);
        snprintf(repl, sizeof repl, "2 1 %u %u %u XOR", a, b, first_out);
        char *saved = l.line[last - 1];
        l.line[last - 1] = repl;
        size_t n;
        char *m = join_lines(&l, &n);
        ward_circuit c;
        ward_circuit_error err;
        CHECK_RC(ward_circuit_parse_var(&c, &err, m, n), WARD_EPARSE);
        CHECK_EQ_U64(err.line, last);
        CHECK(strstr(err.msg, "twice") != NULL);
        free(m);
        l.line[last - 1] = saved;
    }
    /* The header's gate count off by one either way. */
    {
        char hdr[64];
        char *saved = l.line[0];
        snprintf(hdr, sizeof hdr, "377 504");
        l.line[0] = hdr;
        size_t n;
        char *m = join_lines(&l, &n);
        ward_circuit c;
        ward_circuit_error err;
        CHECK_RC(ward_circuit_parse_var(&c, &err, m, n), WARD_EPARSE);
        CHECK(strstr(err.msg, "ends after 376 of 377") != NULL);
        free(m);
        snprintf(hdr, sizeof hdr, "375 504");
        m = join_lines(&l, &n);
        CHECK_RC(ward_circuit_parse_var(&c, &err, m, n), WARD_EPARSE);
        CHECK_EQ_U64(err.line, 4 + 376);
        CHECK(strstr(err.msg, "after the last") != NULL);
        free(m);
        l.line[0] = saved;
    }
    free_lines(&l);
    free(t);
}

/* ---- hex helpers ------------------------------------------------------------ */

static void test_hex(void) {
    uint8_t bits[200];
    char out[64];
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "a5", 2), WARD_OK);
    CHECK(bits[0] == 1 && bits[1] == 0 && bits[2] == 1 && bits[3] == 0);
    CHECK(bits[4] == 0 && bits[5] == 1 && bits[6] == 0 && bits[7] == 1);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 8), WARD_OK);
    CHECK(strcmp(out, "a5") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "0xA5", 4), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 8), WARD_OK);
    CHECK(strcmp(out, "a5") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "0X0000000a5", 11), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 8), WARD_OK);
    CHECK(strcmp(out, "a5") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "1a5", 3), WARD_EOVERFLOW);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "100", 3), WARD_EOVERFLOW);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 5, "1f", 2), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 5), WARD_OK);
    CHECK(strcmp(out, "1f") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 5, "20", 2), WARD_EOVERFLOW);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 1, "1", 1), WARD_OK);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 1, "2", 1), WARD_EOVERFLOW);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 1), WARD_OK);
    CHECK(strcmp(out, "1") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "", 0), WARD_EPARSE);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "0x", 2), WARD_EPARSE);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "g", 1), WARD_EPARSE);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "-1", 2), WARD_EPARSE);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, "0x0x1", 5), WARD_EPARSE);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 8, " 1", 2), WARD_EPARSE);
    /* A wide value: 130 bits, top bit set. */
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 130, "20000000000000000000000000000000f", 33),
             WARD_OK);
    CHECK(bits[129] == 1 && bits[128] == 0 && bits[0] == 1 && bits[3] == 1 && bits[4] == 0);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 130), WARD_OK);
    CHECK(strcmp(out, "20000000000000000000000000000000f") == 0);
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 129, "20000000000000000000000000000000f", 33),
             WARD_EOVERFLOW);
    /* Zero padding. */
    CHECK_RC(ward_circuit_hex_to_bits_var(bits, 64, "1", 1), WARD_OK);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, sizeof out, bits, 64), WARD_OK);
    CHECK(strcmp(out, "0000000000000001") == 0);
    CHECK_RC(ward_circuit_bits_to_hex_var(out, 16, bits, 64), WARD_EINVAL);
    /* Random round trips at odd widths. */
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x4e3);
    for (int r = 0; r < 500; r++) {
        size_t w = 1 + (size_t)ward_rng_uniform(&rng, 199);
        uint8_t b2[200];
        for (size_t i = 0; i < w; i++) bits[i] = (uint8_t)(ward_rng_u64(&rng) & 1);
        char h[64];
        CHECK_RC(ward_circuit_bits_to_hex_var(h, sizeof h, bits, w), WARD_OK);
        CHECK_EQ_U64(strlen(h), (w + 3) / 4);
        CHECK_RC(ward_circuit_hex_to_bits_var(b2, w, h, strlen(h)), WARD_OK);
        CHECK_MEM(bits, b2, w);
    }
}

/* ---- writer ------------------------------------------------------------------ */

static void test_round_trip(void) {
    const char *names[] = {"aes_128.txt", "adder64.txt", "sub64.txt", "mult64.txt", "neg64.txt",
                           "zero_equal.txt"};
    for (size_t i = 0; i < 6; i++) {
        ward_circuit a, b;
        if (load_vector(&a, names[i]) != WARD_OK) {
            CHECK(0);
            continue;
        }
        size_t n = 0, n2 = 0;
        CHECK_RC(ward_circuit_write_var(&a, NULL, 0, &n), WARD_OK);
        char *t = malloc(n);
        CHECK_RC(ward_circuit_write_var(&a, t, n - 1, &n2), WARD_ETOOBIG);
        CHECK_RC(ward_circuit_write_var(&a, t, n, &n2), WARD_OK);
        CHECK_EQ_U64(n, n2);
        CHECK_RC(ward_circuit_parse_var(&b, NULL, t, n), WARD_OK);
        CHECK(same_circuit(&a, &b));
        ward_circuit_free(&a);
        ward_circuit_free(&b);
        free(t);
    }
    /* EQ and expanded MAND survive the trip too. */
    const char *t = "2 7\n4 1 1 1 1\n1 2\n1 1 1 4 EQ\n4 2 0 2 1 3 5 6 MAND\n";
    ward_circuit a, b;
    CHECK_RC(ward_circuit_parse_var(&a, NULL, t, strlen(t)), WARD_OK);
    size_t n;
    char buf[256];
    CHECK_RC(ward_circuit_write_var(&a, buf, sizeof buf, &n), WARD_OK);
    CHECK_RC(ward_circuit_parse_var(&b, NULL, buf, n), WARD_OK);
    CHECK(same_circuit(&a, &b));
    CHECK_EQ_U64(b.ngates, 3);
    ward_circuit_free(&a);
    ward_circuit_free(&b);
}

int main(void) {
    test_known_answers();
    test_random_arith();
    test_bits_vs_bytes();
    test_random_aes();
    test_gate_kinds();
    test_layouts();
    test_malformed_table();
    test_truncated();
    test_mutated();
    test_hex();
    test_round_trip();
    return check_done("circuit");
}
