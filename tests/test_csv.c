/* The streaming CSV reader: RFC 4180 quoting, line numbers, limits, errors,
 * and the property that the way input is split into pieces never changes
 * the result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csv.h"
#include "error.h"
#include "rng.h"

/* A record list rendered as text: one line per record,
 * "L<line>:" then each field as [q]<len>:<bytes>, so that any difference in
 * fields, quoting or line numbers shows up as a different string. */
typedef struct {
    char *p;
    size_t len, cap;
    int stop_at; /* stop (return -99) at this record index, -1 never */
} out_buf;

static void out_add(out_buf *o, const char *s, size_t n) {
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1) cap *= 2;
        o->p = realloc(o->p, cap);
        if (!o->p) abort();
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static int collect(void *ctx, const ward_csv_record *rec) {
    out_buf *o = ctx;
    char tmp[64];
    int k = snprintf(tmp, sizeof tmp, "L%llu:", (unsigned long long)rec->line);
    out_add(o, tmp, (size_t)k);
    for (size_t i = 0; i < rec->nfields; i++) {
        const ward_csv_field *f = &rec->fields[i];
        if (f->data[f->len] != '\0') out_add(o, "<unterminated>", 14);
        k = snprintf(tmp, sizeof tmp, "%s%zu:", f->quoted ? "q" : "", f->len);
        out_add(o, tmp, (size_t)k);
        out_add(o, f->data, f->len);
        out_add(o, "|", 1);
    }
    out_add(o, "\n", 1);
    if (o->stop_at >= 0 && rec->index == (uint64_t)o->stop_at) return -99;
    return 0;
}

typedef struct {
    int rc;
    uint64_t line;
    char reason[96];
    char *records;
} result;

static void result_free(result *r) { free(r->records); }

/* Parses `in` fed in pieces of `chunk` bytes (0: all at once). */
static result parse_chunked(const char *in, size_t len, size_t chunk, const ward_csv_limits *lim,
                            int stop_at) {
    out_buf o = {NULL, 0, 0, stop_at};
    out_add(&o, "", 0);
    ward_csv csv;
    result r;
    memset(&r, 0, sizeof r);
    CHECK_RC(ward_csv_init(&csv, lim, collect, &o), WARD_OK);
    int rc = WARD_OK;
    if (chunk == 0) chunk = len ? len : 1;
    for (size_t i = 0; i < len && rc == WARD_OK; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        rc = ward_csv_feed(&csv, in + i, n);
    }
    if (rc == WARD_OK) rc = ward_csv_finish(&csv);
    r.rc = rc;
    r.line = ward_csv_error_line(&csv);
    snprintf(r.reason, sizeof r.reason, "%s", ward_csv_error_reason(&csv));
    r.records = o.p;
    ward_csv_free(&csv);
    return r;
}

/* Parses with random piece sizes drawn from rng. */
static result parse_random(const char *in, size_t len, ward_rng *rng, const ward_csv_limits *lim) {
    out_buf o = {NULL, 0, 0, -1};
    out_add(&o, "", 0);
    ward_csv csv;
    result r;
    memset(&r, 0, sizeof r);
    CHECK_RC(ward_csv_init(&csv, lim, collect, &o), WARD_OK);
    int rc = WARD_OK;
    size_t i = 0;
    while (i < len && rc == WARD_OK) {
        size_t n = 1 + (size_t)ward_rng_uniform(rng, 7);
        if (n > len - i) n = len - i;
        rc = ward_csv_feed(&csv, in + i, n);
        if (rc == WARD_OK && ward_rng_uniform(rng, 4) == 0) rc = ward_csv_feed(&csv, in, 0);
        i += n;
    }
    if (rc == WARD_OK) rc = ward_csv_finish(&csv);
    r.rc = rc;
    r.line = ward_csv_error_line(&csv);
    snprintf(r.reason, sizeof r.reason, "%s", ward_csv_error_reason(&csv));
    r.records = o.p;
    ward_csv_free(&csv);
    return r;
}

static int same_result(const result *a, const result *b) {
    return a->rc == b->rc && a->line == b->line && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->records, b->records) == 0;
}

/* Checks that whole, byte-by-byte and 3-byte feeding agree, and that the
 * whole-feed result is as expected. */
static void expect_full(const char *name, const char *in, size_t len, const ward_csv_limits *lim,
                        int want_rc, uint64_t want_line, const char *want_records) {
    result whole = parse_chunked(in, len, 0, lim, -1);
    result bytes = parse_chunked(in, len, 1, lim, -1);
    result three = parse_chunked(in, len, 3, lim, -1);
    int ok = whole.rc == want_rc && (want_rc == 0 || whole.line == want_line) &&
             (want_records == NULL || strcmp(whole.records, want_records) == 0);
    CHECK(ok);
    CHECK(same_result(&whole, &bytes));
    CHECK(same_result(&whole, &three));
    if (!ok || !same_result(&whole, &bytes) || !same_result(&whole, &three)) {
        fprintf(stderr, "  case %s: rc %d line %llu reason '%s'\n  got:\n%s  want:\n%s", name,
                whole.rc, (unsigned long long)whole.line, whole.reason, whole.records,
                want_records ? want_records : "(any)\n");
        fprintf(stderr, "  bytewise: rc %d line %llu\n%s", bytes.rc,
                (unsigned long long)bytes.line, bytes.records);
    }
    result_free(&whole);
    result_free(&bytes);
    result_free(&three);
}

static void expect(const char *name, const char *in, int want_rc, uint64_t want_line,
                   const char *want_records) {
    expect_full(name, in, strlen(in), NULL, want_rc, want_line, want_records);
}

static void expect_reason(const char *in, const ward_csv_limits *lim, const char *needle) {
    result r = parse_chunked(in, strlen(in), 0, lim, -1);
    CHECK(strstr(r.reason, needle) != NULL);
    if (!strstr(r.reason, needle)) fprintf(stderr, "  reason '%s' lacks '%s'\n", r.reason, needle);
    result_free(&r);
}

static void test_basic(void) {
    expect("simple", "a,b,c\n1,2,3\n", 0, 0, "L1:1:a|1:b|1:c|\nL2:1:1|1:2|1:3|\n");
    expect("no final newline", "a,b\n1,2", 0, 0, "L1:1:a|1:b|\nL2:1:1|1:2|\n");
    expect("quoted and escapes", "h1,h2\n\"x\"\"y\",\"\"\"\"\n", 0, 0,
           "L1:2:h1|2:h2|\nL2:q3:x\"y|q1:\"|\n");
    expect("embedded comma and newline", "a,b\n\"1,2\",\"line1\nline2\"\n3,4\n", 0, 0,
           "L1:1:a|1:b|\nL2:q3:1,2|q11:line1\nline2|\nL4:1:3|1:4|\n");
    expect("embedded CRLF counts one line", "a,b\r\n\"x\r\ny\r\nz\",1\r\n2,3\r\n", 0, 0,
           "L1:1:a|1:b|\nL2:q7:x\r\ny\r\nz|1:1|\nL5:1:2|1:3|\n");
    expect("CRLF", "a,b\r\n1,2\r\n3,4", 0, 0, "L1:1:a|1:b|\nL2:1:1|1:2|\nL3:1:3|1:4|\n");
    expect("lone CR", "a,b\r1,2\r3,4\r", 0, 0, "L1:1:a|1:b|\nL2:1:1|1:2|\nL3:1:3|1:4|\n");
    expect("BOM skipped", "\xEF\xBB\xBF" "a,b\n1,2\n", 0, 0, "L1:1:a|1:b|\nL2:1:1|1:2|\n");
    expect("BOM only once", "\xEF\xBB\xBF\xEF\xBB\xBF" "a\n", 0, 0, "L1:4:\xEF\xBB\xBF" "a|\n");
    expect("partial BOM is data", "\xEF\xBB" "a\n1\n", 0, 0, "L1:3:\xEF\xBB" "a|\nL2:1:1|\n");
    expect("partial BOM at end", "\xEF", 0, 0, "L1:1:\xEF|\n");
    expect("empty fields", "a,b,c\n,,\n\"\",x,\n", 0, 0,
           "L1:1:a|1:b|1:c|\nL2:0:|0:|0:|\nL3:q0:|1:x|0:|\n");
    expect("blank lines skipped", "a\n\n1\n\r\n\n2\n\n", 0, 0, "L1:1:a|\nL3:1:1|\nL6:1:2|\n");
    expect("empty input", "", 0, 0, "");
    expect("only blank lines", "\n\r\n\r", 0, 0, "");
    expect("quoted field then CRLF", "a\r\n\"x\"\r\n", 0, 0, "L1:1:a|\nL2:q1:x|\n");
    expect("spaces kept", "a, b\n 1 ,2 \n", 0, 0, "L1:1:a|2: b|\nL2:3: 1 |2:2 |\n");
    expect("UTF-8 passes through", "name\n\"Nørreport, Århus\"\n", 0, 0,
           "L1:4:name|\nL2:q18:N\xC3\xB8rreport, \xC3\x85rhus|\n");
}

static void test_errors(void) {
    expect("too many fields", "a,b\n1,2\n1,2,3\n", WARD_EPARSE, 3, NULL);
    expect_reason("a,b\n1,2\n1,2,3\n", NULL, "record has 3 fields, header has 2");
    expect("too few fields", "a,b\n1\n", WARD_EPARSE, 2, NULL);
    expect("too few fields at end", "a,b\n1,2\n3", WARD_EPARSE, 3, NULL);
    expect("unterminated quote", "a,b\n1,2\n3,\"abc\n\ndef\n", WARD_EPARSE, 3, NULL);
    expect_reason("a,b\n3,\"abc\n", NULL, "unterminated quoted field");
    expect("quote in unquoted field", "a,b\n1,ab\"c\n", WARD_EPARSE, 2, NULL);
    expect_reason("a,b\n1,ab\"c\n", NULL, "quote in an unquoted field");
    expect("after closing quote", "a,b\n1,\"ab\"c\n", WARD_EPARSE, 2, NULL);
    expect_reason("a,b\n1,\"ab\"c\n", NULL, "after a closing quote");
    expect("error line after a multi-line field", "a,b\n\"x\ny\nz\",1\n2,3,4\n", WARD_EPARSE, 5,
           NULL);
    expect_full("NUL byte", "a,b\n1,\0\n", 7, NULL, WARD_EPARSE, 2, NULL);
    expect_full("NUL in quotes", "a\n\"x\0\"\n", 7, NULL, WARD_EPARSE, 2, NULL);
    /* The records before the error are delivered. */
    expect("records before an error", "a\n1\n2\n\"x", WARD_EPARSE, 4, NULL);
    result r = parse_chunked("a\n1\n2\n\"x", 8, 0, NULL, -1);
    CHECK(strcmp(r.records, "L1:1:a|\nL2:1:1|\nL3:1:2|\n") == 0);
    result_free(&r);
}

static void test_limits(void) {
    ward_csv_limits lim = {8, 3, 20};
    expect_full("field at limit", "a\n12345678\n", 11, &lim, 0, 0, "L1:1:a|\nL2:8:12345678|\n");
    expect_full("field over limit", "a\n123456789\n", 12, &lim, WARD_ETOOBIG, 2, NULL);
    expect_reason("a\n123456789\n", &lim, "field longer than 8 bytes");
    expect_full("quoted field over limit", "a\n\"1234\n56789\"\n", 16, &lim, WARD_ETOOBIG, 2, NULL);
    expect_full("fields at limit", "a,b,c\n", 6, &lim, 0, 0, "L1:1:a|1:b|1:c|\n");
    expect_full("too many fields", "a,b,c,d\n", 8, &lim, WARD_ETOOBIG, 1, NULL);
    expect_reason("a,b,c,d\n", &lim, "more than 3 fields");
    expect_full("record over limit", "a,b,c\n1234567,1234567,1234567\n", 30, &lim, WARD_ETOOBIG, 2,
                NULL);
    expect_reason("a,b,c\n1234567,1234567,1234567\n", &lim, "record longer than 20 bytes");

    /* Default limits: a 1 MiB field is fine, one byte more is not. */
    size_t n = WARD_CSV_MAX_FIELD_BYTES;
    char *big = malloc(n + 16);
    CHECK(big != NULL);
    if (!big) return;
    memcpy(big, "a\n", 2);
    memset(big + 2, 'x', n);
    big[2 + n] = '\n';
    result ok = parse_chunked(big, n + 3, 0, NULL, -1);
    CHECK_RC(ok.rc, WARD_OK);
    result_free(&ok);
    memset(big + 2, 'x', n + 1);
    big[3 + n] = '\n';
    result over = parse_chunked(big, n + 4, 4096, NULL, -1);
    CHECK_RC(over.rc, WARD_ETOOBIG);
    CHECK_EQ_U64(over.line, 2);
    result_free(&over);
    free(big);

    /* Too many fields under the default limit. */
    size_t nf = WARD_CSV_MAX_FIELDS + 1;
    char *wide = malloc(2 * nf + 1);
    CHECK(wide != NULL);
    if (!wide) return;
    for (size_t i = 0; i < nf; i++) {
        wide[2 * i] = 'x';
        wide[2 * i + 1] = i + 1 == nf ? '\n' : ',';
    }
    result w = parse_chunked(wide, 2 * nf, 0, NULL, -1);
    CHECK_RC(w.rc, WARD_ETOOBIG);
    result_free(&w);
    result w2 = parse_chunked(wide, 2 * nf - 3, 0, NULL, -1); /* exactly the limit */
    CHECK_RC(w2.rc, WARD_OK);
    result_free(&w2);
    free(wide);
}

static void test_api(void) {
    ward_csv csv;
    out_buf o = {NULL, 0, 0, 1};
    CHECK_RC(ward_csv_init(NULL, NULL, collect, &o), WARD_EINVAL);
    CHECK_RC(ward_csv_init(&csv, NULL, NULL, &o), WARD_EINVAL);

    /* A callback's non-zero return stops the reader, for good. */
    CHECK_RC(ward_csv_init(&csv, NULL, collect, &o), WARD_OK);
    CHECK_RC(ward_csv_feed(&csv, "a\n1\n2\n", 6), -99);
    CHECK_EQ_U64(ward_csv_records(&csv), 2);
    CHECK_RC(ward_csv_feed(&csv, "3\n", 2), -99);
    CHECK_RC(ward_csv_finish(&csv), -99);
    CHECK_EQ_U64(ward_csv_error_line(&csv), 2);
    ward_csv_free(&csv);
    ward_csv_free(&csv); /* twice is fine */
    free(o.p);

    /* Errors are sticky; input after finish is refused. */
    o = (out_buf){NULL, 0, 0, -1};
    CHECK_RC(ward_csv_init(&csv, NULL, collect, &o), WARD_OK);
    CHECK_RC(ward_csv_feed(&csv, "a\"\n", 3), WARD_EPARSE);
    CHECK_RC(ward_csv_feed(&csv, "b\n", 2), WARD_EPARSE);
    CHECK_RC(ward_csv_finish(&csv), WARD_EPARSE);
    ward_csv_free(&csv);
    CHECK_RC(ward_csv_init(&csv, NULL, collect, &o), WARD_OK);
    CHECK_RC(ward_csv_feed(&csv, "a\n1", 3), WARD_OK);
    CHECK_RC(ward_csv_finish(&csv), WARD_OK);
    CHECK_RC(ward_csv_feed(&csv, "2\n", 2), WARD_ESTATE);
    CHECK_RC(ward_csv_feed(NULL, "2\n", 2), WARD_EINVAL);
    ward_csv_free(&csv);
    free(o.p);

    /* read_file gives what feeding does. */
    const char *text = "h1,h2\r\n\"a\nb\",2\r\nx,\"y\"\"\"\r\n";
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        rewind(f);
        o = (out_buf){NULL, 0, 0, -1};
        out_add(&o, "", 0);
        CHECK_RC(ward_csv_init(&csv, NULL, collect, &o), WARD_OK);
        CHECK_RC(ward_csv_read_file(&csv, f), WARD_OK);
        result r = parse_chunked(text, strlen(text), 0, NULL, -1);
        CHECK(strcmp(o.p, r.records) == 0);
        CHECK(strcmp(o.p, "L1:2:h1|2:h2|\nL2:q3:a\nb|1:2|\nL4:1:x|q2:y\"|\n") == 0);
        result_free(&r);
        ward_csv_free(&csv);
        free(o.p);
        fclose(f);
    }
}

static void test_utf8(void) {
    CHECK(ward_utf8_valid_var("", 0));
    CHECK(ward_utf8_valid_var("plain", 5));
    CHECK(ward_utf8_valid_var("\xC3\xA6\xC3\xB8\xC3\xA5", 6));         /* æøå */
    CHECK(ward_utf8_valid_var("\xE2\x82\xAC", 3));                     /* € */
    CHECK(ward_utf8_valid_var("\xF0\x9F\x9A\xB2", 4));                 /* bicycle */
    CHECK(ward_utf8_valid_var("\xF4\x8F\xBF\xBF", 4));                 /* U+10FFFF */
    CHECK(!ward_utf8_valid_var("\xC3", 1));                            /* truncated */
    CHECK(!ward_utf8_valid_var("\xC0\xAF", 2));                        /* overlong */
    CHECK(!ward_utf8_valid_var("\xE0\x80\xAF", 3));                    /* overlong */
    CHECK(!ward_utf8_valid_var("\xED\xA0\x80", 3));                    /* surrogate */
    CHECK(!ward_utf8_valid_var("\xF4\x90\x80\x80", 4));                /* > U+10FFFF */
    CHECK(!ward_utf8_valid_var("\xE9t\xE9", 3));                       /* Latin-1 */
    CHECK(!ward_utf8_valid_var("\xE2\x82", 2));
    CHECK(!ward_utf8_valid_var("\xFF", 1));
}

/* Random records written out by an independent RFC 4180 writer (quoting
 * at random, LF or CRLF at random) must come back exactly, with the line
 * numbers the writer counted. */
static void test_roundtrip(void) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 4180);
    static const char alphabet[] = {'a', 'b', ',', '"', '\n', '\r', ' ', 'z'};
    out_buf text = {NULL, 0, 0, -1}, want = {NULL, 0, 0, -1};
    for (int iter = 0; iter < 400; iter++) {
        text.len = want.len = 0;
        out_add(&text, "", 0);
        out_add(&want, "", 0);
        size_t nf = 1 + (size_t)ward_rng_uniform(&rng, 4);
        size_t nrec = 1 + (size_t)ward_rng_uniform(&rng, 6);
        uint64_t line = 1;
        for (size_t r = 0; r < nrec; r++) {
            char tmp[64];
            int k = snprintf(tmp, sizeof tmp, "L%llu:", (unsigned long long)line);
            out_add(&want, tmp, (size_t)k);
            for (size_t f = 0; f < nf; f++) {
                char field[8];
                size_t len = (size_t)ward_rng_uniform(&rng, sizeof field);
                int needs = 0;
                for (size_t i = 0; i < len; i++) {
                    field[i] = alphabet[ward_rng_uniform(&rng, sizeof alphabet)];
                    if (field[i] == ',' || field[i] == '"' || field[i] == '\n' || field[i] == '\r')
                        needs = 1;
                }
                /* A lone empty field would be a blank line: quote it. */
                if (len == 0 && nf == 1) needs = 1;
                int quoted = needs || ward_rng_uniform(&rng, 3) == 0;
                if (f) out_add(&text, ",", 1);
                if (quoted) out_add(&text, "\"", 1);
                for (size_t i = 0; i < len; i++) {
                    out_add(&text, &field[i], 1);
                    if (field[i] == '"') out_add(&text, "\"", 1);
                    /* CR LF is one line end, like LF and a lone CR. */
                    if (field[i] == '\n' && !(i > 0 && field[i - 1] == '\r')) line++;
                    if (field[i] == '\r') line++;
                }
                if (quoted) out_add(&text, "\"", 1);
                k = snprintf(tmp, sizeof tmp, "%s%zu:", quoted ? "q" : "", len);
                out_add(&want, tmp, (size_t)k);
                out_add(&want, field, len);
                out_add(&want, "|", 1);
            }
            out_add(&want, "\n", 1);
            /* A field ending in CR followed by an LF line end: the writer's
             * CR LF would merge; the reader sees a quote in between, so it
             * does not. Line ends are LF, CRLF or (last record) none. */
            unsigned end = (unsigned)ward_rng_uniform(&rng, 3);
            if (r + 1 < nrec || end != 2) {
                out_add(&text, end == 1 ? "\r\n" : "\n", end == 1 ? 2 : 1);
                line++;
            }
        }
        result a = parse_chunked(text.p, text.len, 0, NULL, -1);
        result b = parse_random(text.p, text.len, &rng, NULL);
        int ok = a.rc == 0 && strcmp(a.records, want.p) == 0 && same_result(&a, &b);
        CHECK(ok);
        if (!ok) {
            fprintf(stderr, "  roundtrip %d: rc %d (%s)\n  text: ", iter, a.rc, a.reason);
            for (size_t i = 0; i < text.len; i++) fprintf(stderr, "%02x", (unsigned char)text.p[i]);
            fprintf(stderr, "\n  got:\n%s  want:\n%s", a.records, want.p);
            result_free(&a);
            result_free(&b);
            break;
        }
        result_free(&a);
        result_free(&b);
    }
    free(text.p);
    free(want.p);
}

/* Arbitrary byte soup: whole, bytewise and random pieces always agree,
 * errors included. */
static void test_split_invariance(void) {
    ward_rng rng;
    ward_rng_init_u64(&rng, 77);
    static const char alphabet[] = {'a', ',', '"', '\n', '\r', '\xEF', '\xBB', '\xBF', '\0', 'x'};
    ward_csv_limits lim = {6, 5, 16};
    char buf[40];
    int failures = 0;
    for (int iter = 0; iter < 3000 && failures < 3; iter++) {
        size_t len = (size_t)ward_rng_uniform(&rng, sizeof buf);
        for (size_t i = 0; i < len; i++) {
            /* NUL rarely, so most inputs get past it */
            size_t k = (size_t)ward_rng_uniform(&rng, sizeof alphabet);
            if (alphabet[k] == '\0' && ward_rng_uniform(&rng, 8)) k = 0;
            buf[i] = alphabet[k];
        }
        const ward_csv_limits *l = (iter & 1) ? &lim : NULL;
        result a = parse_chunked(buf, len, 0, l, -1);
        result b = parse_chunked(buf, len, 1, l, -1);
        result c = parse_random(buf, len, &rng, l);
        int ok = same_result(&a, &b) && same_result(&a, &c);
        CHECK(ok);
        if (!ok) {
            failures++;
            fprintf(stderr, "  split %d: rc %d/%d/%d lines %llu/%llu/%llu\n", iter, a.rc, b.rc, c.rc,
                    (unsigned long long)a.line, (unsigned long long)b.line,
                    (unsigned long long)c.line);
        }
        result_free(&a);
        result_free(&b);
        result_free(&c);
    }
}

int main(void) {
    test_basic();
    test_errors();
    test_limits();
    test_api();
    test_utf8();
    test_roundtrip();
    test_split_invariance();
    return check_done("csv");
}
