/* The published Noise test vectors (cacophony, 944 vectors) through
 * ward_selftest_noise_vectors, a corrupted copy that must fail, and the JSON
 * reader the runner is built on. */
#include <unistd.h>

#include "readfile.h"
#include "check.h"
#include "error.h"
#include "json_read.h"
#include "selftest.h"

/* 59 patterns (38 base patterns and 21 psk variants in the file) x
 * {ChaChaPoly, AESGCM} x {SHA256, SHA512, BLAKE2b}. The other 590 use 448
 * or BLAKE2s. */
#define EXPECT_TOTAL 944u
#define EXPECT_PASSED 354u

static char *slurp(const char *path, size_t *len) {
    char *buf = NULL;
    return ward_read_file(&buf, len, path, (size_t)1 << 30) == 0 ? buf : NULL;
}

/* Serializes node idx of doc as JSON (enough for vector files: strings are
 * hex or names without characters that need escaping). */
static size_t emit(FILE *f, const ward_json_doc *doc, size_t idx) {
    const ward_json_node *n = &doc->nodes[idx];
    size_t c = idx + 1;
    switch (n->type) {
    case WARD_JSON_STRING:
        fprintf(f, "\"%s\"", ward_json_string(doc, idx, NULL));
        return idx + 1;
    case WARD_JSON_ARRAY:
        fputc('[', f);
        for (size_t i = 0; i < n->count; i++) {
            if (i) fputc(',', f);
            c = emit(f, doc, c);
        }
        fputc(']', f);
        return c;
    case WARD_JSON_OBJECT:
        fputc('{', f);
        for (size_t i = 0; i < n->count; i++) {
            if (i) fputc(',', f);
            c = emit(f, doc, c);
            fputc(':', f);
            c = emit(f, doc, c);
        }
        fputc('}', f);
        return c;
    default:
        fprintf(f, "null");
        return idx + 1;
    }
}

typedef struct {
    const char *field;   /* "ciphertext", "payload" or "handshake_hash" */
    long message;        /* message index, or -1 for a top-level field */
} mutation;

/* Writes {"vectors": [the named vector]} to path, with the last hex digit
 * of one field changed when mut is not NULL. */
static int write_one_vector(const char *path, const ward_json_doc *doc,
                            size_t arr, const char *protocol,
                            const mutation *mut) {
    size_t v = arr + 1, found = SIZE_MAX;
    for (size_t i = 0; i < doc->nodes[arr].count; i++, v = ward_json_next(doc, v)) {
        size_t pn;
        if (ward_json_object_get(doc, &pn, v, "protocol_name") == 0 &&
            strcmp(ward_json_string(doc, pn, NULL), protocol) == 0) {
            found = v;
            break;
        }
    }
    if (found == SIZE_MAX) return -1;
    size_t target = SIZE_MAX;
    if (mut != NULL) {
        size_t obj = found;
        if (mut->message >= 0) {
            size_t msgs;
            if (ward_json_object_get(doc, &msgs, found, "messages") != 0 ||
                ward_json_array_get(doc, &obj, msgs, (size_t)mut->message) != 0)
                return -1;
        }
        if (ward_json_object_get(doc, &target, obj, mut->field) != 0) return -1;
    }
    ward_json_doc copy = *doc; /* shallow: strings are patched and restored */
    char *s = NULL, saved = 0;
    size_t slen = 0;
    if (target != SIZE_MAX) {
        s = (char *)ward_json_string(&copy, target, &slen);
        if (s == NULL || slen == 0) return -1;
        saved = s[slen - 1];
        s[slen - 1] = saved == '0' ? '1' : '0';
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    fprintf(f, "{\"vectors\": [");
    emit(f, &copy, found);
    fprintf(f, "]}\n");
    fclose(f);
    if (s != NULL) s[slen - 1] = saved;
    return 0;
}

static int log_has(FILE *log, const char *needle) {
    char line[512];
    int found = 0;
    rewind(log);
    while (fgets(line, sizeof line, log) != NULL)
        if (strstr(line, needle) != NULL) found = 1;
    return found;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_vectors(const char *tmp) {
    char path[4096];
    snprintf(path, sizeof path, "%s/noise/cacophony.txt", check_vectors_dir());
    ward_selftest_counts c;
    CHECK_RC(ward_selftest_noise_vectors(&c, stderr, path), 0);
    printf("cacophony: %u passed, %u failed, %u skipped\n", c.passed, c.failed,
           c.skipped);
    CHECK_EQ_U64(c.failed, 0);
    CHECK_EQ_U64(c.passed, EXPECT_PASSED);
    CHECK_EQ_U64(c.skipped, EXPECT_TOTAL - EXPECT_PASSED);
    CHECK_EQ_U64(c.passed + c.failed + c.skipped, EXPECT_TOTAL);

    /* One vector on its own passes; altered copies fail. */
    size_t len = 0;
    char *text = slurp(path, &len);
    CHECK(text != NULL);
    if (text == NULL) return;
    ward_json_doc doc;
    CHECK_RC(ward_json_parse(&doc, text, len), 0);
    free(text);
    size_t arr;
    CHECK_RC(ward_json_object_get(&doc, &arr, 0, "vectors"), 0);
    CHECK_EQ_U64(doc.nodes[arr].count, EXPECT_TOTAL);

    static const char *protos[] = {
        "Noise_KK_25519_ChaChaPoly_SHA256",
        "Noise_XXpsk3_25519_AESGCM_BLAKE2b",
        "Noise_N_25519_ChaChaPoly_SHA512",
    };
    static const mutation muts[] = {
        {"ciphertext", 0}, /* handshake message 1 */
        {"ciphertext", 1}, /* handshake message 2 (for N: a transport message) */
        {"ciphertext", 4}, /* a transport message */
        {"payload", 0},
        {"payload", 5},
        {"handshake_hash", -1},
    };
    for (size_t p = 0; p < sizeof protos / sizeof protos[0]; p++) {
        CHECK_RC(write_one_vector(tmp, &doc, arr, protos[p], NULL), 0);
        CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), 0);
        CHECK(c.passed == 1 && c.failed == 0 && c.skipped == 0);
        for (size_t m = 0; m < sizeof muts / sizeof muts[0]; m++) {
            FILE *log = tmpfile();
            CHECK_RC(write_one_vector(tmp, &doc, arr, protos[p], &muts[m]), 0);
            CHECK_RC(ward_selftest_noise_vectors(&c, log, tmp), 0);
            CHECK(c.passed == 0 && c.failed == 1 && c.skipped == 0);
            char needle[128];
            snprintf(needle, sizeof needle, "noise vector 0 (%s)", protos[p]);
            CHECK(log != NULL && log_has(log, needle));
            if (log != NULL) fclose(log);
        }
    }
    /* A 448 vector alone is skipped, not failed. */
    CHECK_RC(write_one_vector(tmp, &doc, arr, "Noise_KK_448_ChaChaPoly_SHA256", NULL), 0);
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), 0);
    CHECK(c.passed == 0 && c.failed == 0 && c.skipped == 1);
    ward_json_free(&doc);

    /* Files that are not vector files. */
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, "/nonexistent/ward/vectors.json"), WARD_EIO);
    write_text(tmp, "{\"vectors\": [ {\"protocol_name\": ");
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), WARD_EPARSE);
    write_text(tmp, "{\"tests\": []}");
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), WARD_EPARSE);
    write_text(tmp, "[]");
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), 0);
    CHECK(c.passed + c.failed + c.skipped == 0);
    /* Malformed vectors inside a well-formed file count as failures. */
    write_text(tmp, "{\"vectors\": [ {\"protocol_name\": \"Noise_KK_25519\"},"
                    " {\"protocol_name\": 5}, 7,"
                    " {\"protocol_name\": \"Noise_NN_25519_ChaChaPoly_SHA256\","
                    "  \"init_ephemeral\": \"zz\", \"messages\": []},"
                    " {\"protocol_name\": \"Noise_NN_25519_ChaChaPoly_SHA256\","
                    "  \"messages\": []},"
                    " {\"protocol_name\": \"Noise_NN_25519_ChaChaPoly_SHA256\","
                    "  \"init_ephemeral\": \"893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a\","
                    "  \"resp_ephemeral\": \"bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b\","
                    "  \"messages\": [{\"payload\": \"\", \"ciphertext\": \"00\"}]},"
                    " {\"protocol_name\": \"Noise_NN_25519_BLAKE2s_SHA256\"} ]}");
    CHECK_RC(ward_selftest_noise_vectors(&c, NULL, tmp), 0);
    CHECK_EQ_U64(c.failed, 6);
    CHECK_EQ_U64(c.skipped, 1);
    CHECK_EQ_U64(c.passed, 0);
}

/* ---- the JSON reader ---------------------------------------------------- */

static int parse_rc(const char *text) {
    ward_json_doc d;
    int rc = ward_json_parse(&d, text, strlen(text));
    ward_json_free(&d);
    return rc;
}

static void test_json(void) {
    ward_json_doc d;
    const char *t = " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"],"
                    " \"b\": {\"c\": {}}, \"a\": 0, \"e\": \"\", \"n\": 18446744073709551615} ";
    CHECK_RC(ward_json_parse(&d, t, strlen(t)), 0);
    CHECK(ward_json_type_of(&d, 0) == WARD_JSON_OBJECT);
    CHECK_EQ_U64(d.nodes[0].count, 5);
    size_t a, b, x, e;
    CHECK_RC(ward_json_object_get(&d, &a, 0, "a"), 0);  /* the first "a" */
    CHECK(ward_json_type_of(&d, a) == WARD_JSON_ARRAY);
    CHECK_EQ_U64(d.nodes[a].count, 6);
    CHECK_RC(ward_json_array_get(&d, &x, a, 5), 0);
    size_t sl;
    const char *s = ward_json_string(&d, x, &sl);
    CHECK(s != NULL && sl == 8 && memcmp(s, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
    CHECK_RC(ward_json_array_get(&d, &x, a, 2), 0);
    CHECK(ward_json_type_of(&d, x) == WARD_JSON_TRUE);
    CHECK_RC(ward_json_array_get(&d, &x, a, 6), WARD_ENOTFOUND);
    CHECK_RC(ward_json_array_get(&d, &x, a, 1), 0);
    double dv = 0;
    CHECK_RC(ward_json_get_double(&d, &dv, x), 0);
    CHECK(dv == -2500.0);
    uint64_t u = 0;
    CHECK_RC(ward_json_get_u64(&d, &u, x), WARD_EPARSE);
    CHECK_RC(ward_json_object_get(&d, &b, 0, "b"), 0);
    CHECK_RC(ward_json_object_get(&d, &x, b, "c"), 0);
    CHECK(ward_json_type_of(&d, x) == WARD_JSON_OBJECT && d.nodes[x].count == 0);
    CHECK_RC(ward_json_object_get(&d, &x, b, "zz"), WARD_ENOTFOUND);
    CHECK_RC(ward_json_object_get(&d, &x, a, "zz"), WARD_EINVAL);
    CHECK_RC(ward_json_object_get(&d, &e, 0, "e"), 0);
    CHECK(ward_json_string(&d, e, &sl) != NULL && sl == 0);
    CHECK_RC(ward_json_object_get(&d, &x, 0, "n"), 0);
    CHECK_RC(ward_json_get_u64(&d, &u, x), 0);
    CHECK(u == UINT64_MAX);
    CHECK_EQ_U64(ward_json_next(&d, 0), d.n_nodes);
    ward_json_free(&d);

    CHECK_RC(parse_rc("18446744073709551616"), 0);
    CHECK_RC(ward_json_parse(&d, "18446744073709551616", 20), 0);
    CHECK_RC(ward_json_get_u64(&d, &u, 0), WARD_EOVERFLOW);
    ward_json_free(&d);
    CHECK_RC(parse_rc("\"\\u0000\""), 0);
    CHECK_RC(parse_rc("0"), 0);
    CHECK_RC(parse_rc("[]"), 0);

    static const char *bad[] = {
        "", " ", "{", "}", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}",
        "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "tru",
        "nul", "[true false]", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\tb\"",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"", "[1] x", "// c\n1", "[NaN]", "{\"a\":1}}", "\xef\xbb\xbf[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse_rc(bad[i]);
        CHECK_RC(rc, WARD_EPARSE);
        if (rc != WARD_EPARSE) fprintf(stderr, "  input %zu: %s\n", i, bad[i]);
    }
    /* Errors say where. */
    CHECK_RC(ward_json_parse(&d, "[1, 2, x]", 9), WARD_EPARSE);
    CHECK_EQ_U64(d.err_offset, 7);
    CHECK(d.err_msg != NULL);
    ward_json_free(&d);
    /* No NUL terminator needed: the parser stops at len. */
    CHECK_RC(ward_json_parse(&d, "[1]]]]", 3), 0);
    ward_json_free(&d);

    /* Depth limit. */
    char deep[2 * WARD_JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (size_t i = 0; i < WARD_JSON_MAX_DEPTH; i++) deep[n++] = '[';
    for (size_t i = 0; i < WARD_JSON_MAX_DEPTH; i++) deep[n++] = ']';
    CHECK_RC(ward_json_parse(&d, deep, n), 0);
    ward_json_free(&d);
    n = 0;
    for (size_t i = 0; i <= WARD_JSON_MAX_DEPTH; i++) deep[n++] = '[';
    for (size_t i = 0; i <= WARD_JSON_MAX_DEPTH; i++) deep[n++] = ']';
    CHECK_RC(ward_json_parse(&d, deep, n), WARD_ETOOBIG);
    ward_json_free(&d);
    CHECK_RC(ward_json_parse(&d, deep, WARD_JSON_MAX_INPUT + 1), WARD_ETOOBIG);
    CHECK_RC(ward_json_parse(NULL, deep, 1), WARD_EINVAL);
}

int main(void) {
    char tmp[] = "/tmp/ward_noise_vectors_XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
        test_vectors(tmp);
        unlink(tmp);
    }
    test_json();
    return check_done("noise-vectors");
}
