/* libFuzzer harness for the CSV reader (node/csv.h). Any bytes are parsed
 * whole, in two pieces split at the offset given by the first byte, and (for
 * short inputs) byte by byte, under the default limits and under tiny ones.
 * Every way of feeding must give the same records, line numbers and error;
 * the records themselves must respect the reader's promises. Any
 * difference aborts, which the fuzzer reports like a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint64_t digest;   /* FNV-1a over everything delivered */
    uint64_t last_line;
    size_t header_fields;
    size_t max_field;
    uint64_t records;
} summary;

static void mix(summary *s, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        s->digest ^= b[i];
        s->digest *= 0x100000001b3ull;
    }
}

static int on_record(void *ctx, const ward_csv_record *rec) {
    summary *s = ctx;
    if (rec->nfields == 0 || rec->line == 0 || rec->line < s->last_line) abort();
    if (rec->index != s->records) abort();
    if (rec->index == 0) s->header_fields = rec->nfields;
    else if (rec->nfields != s->header_fields) abort();
    s->last_line = rec->line;
    s->records++;
    mix(s, &rec->line, sizeof rec->line);
    mix(s, &rec->nfields, sizeof rec->nfields);
    for (size_t i = 0; i < rec->nfields; i++) {
        const ward_csv_field *f = &rec->fields[i];
        if (f->data[f->len] != '\0' || f->len > s->max_field) abort();
        if (memchr(f->data, '\0', f->len)) abort(); /* NUL bytes are refused */
        mix(s, &f->len, sizeof f->len);
        mix(s, &f->quoted, sizeof f->quoted);
        mix(s, f->data, f->len);
        (void)ward_utf8_valid_var(f->data, f->len);
    }
    return 0;
}

typedef struct {
    int rc;
    uint64_t line;
    char reason[96];
    summary s;
} outcome;

static outcome run(const uint8_t *data, size_t size, const ward_csv_limits *lim, size_t split,
                   int bytewise) {
    outcome o;
    memset(&o, 0, sizeof o);
    o.s.digest = 0xcbf29ce484222325ull;
    o.s.max_field = lim && lim->max_field_bytes ? lim->max_field_bytes : WARD_CSV_MAX_FIELD_BYTES;
    ward_csv csv;
    if (ward_csv_init(&csv, lim, on_record, &o.s) != WARD_OK) abort();
    int rc = WARD_OK;
    if (bytewise) {
        for (size_t i = 0; i < size && rc == WARD_OK; i++) rc = ward_csv_feed(&csv, data + i, 1);
    } else {
        rc = ward_csv_feed(&csv, data, split);
        if (rc == WARD_OK) rc = ward_csv_feed(&csv, data + split, size - split);
    }
    if (rc == WARD_OK) rc = ward_csv_finish(&csv);
    o.rc = rc;
    o.line = ward_csv_error_line(&csv);
    snprintf(o.reason, sizeof o.reason, "%s", ward_csv_error_reason(&csv));
    /* Errors are sticky. */
    if (rc != WARD_OK && ward_csv_feed(&csv, "x", 1) != rc) abort();
    ward_csv_free(&csv);
    if (rc != WARD_OK && rc != WARD_EPARSE && rc != WARD_ETOOBIG && rc != WARD_ENOMEM) abort();
    return o;
}

static void same(const outcome *a, const outcome *b) {
    if (a->rc != b->rc || a->line != b->line || strcmp(a->reason, b->reason) != 0 ||
        a->s.digest != b->s.digest || a->s.records != b->s.records)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const ward_csv_limits tiny = {5, 4, 12};
    const ward_csv_limits *limits[2] = {NULL, &tiny};
    size_t split = size ? data[0] : 0;
    if (split > size) split = size;
    for (int l = 0; l < 2; l++) {
        outcome whole = run(data, size, limits[l], size, 0);
        outcome two = run(data, size, limits[l], split, 0);
        same(&whole, &two);
        if (size <= 4096) {
            outcome bytes = run(data, size, limits[l], 0, 1);
            same(&whole, &bytes);
        }
    }
    return 0;
}
