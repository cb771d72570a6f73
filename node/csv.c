#include "csv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum {
    S_RECORD_START = 0, /* nothing of the next record consumed yet */
    S_FIELD_START,      /* after a ',' (or at a record's first byte) */
    S_UNQUOTED,
    S_QUOTED,
    S_QUOTE_SEEN,       /* a '"' inside a quoted field: escape or end */
    S_FINISHED
};

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

static int fail(ward_csv *csv, int code, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(ward_csv *csv, int code, uint64_t line, const char *fmt, ...) {
    csv->err = code;
    csv->err_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(csv->err_reason, sizeof csv->err_reason, fmt, ap);
    va_end(ap);
    return code;
}

int ward_csv_init(ward_csv *csv, const ward_csv_limits *limits, ward_csv_record_fn fn,
                  void *ctx) {
    WARD_ARG_CHECK(csv != NULL);
    WARD_ARG_CHECK(fn != NULL);
    memset(csv, 0, sizeof *csv);
    csv->on_record = fn;
    csv->ctx = ctx;
    csv->max_field = WARD_CSV_MAX_FIELD_BYTES;
    csv->max_fields = WARD_CSV_MAX_FIELDS;
    csv->max_record = WARD_CSV_MAX_RECORD_BYTES;
    if (limits) {
        if (limits->max_field_bytes) csv->max_field = limits->max_field_bytes;
        if (limits->max_fields) csv->max_fields = limits->max_fields;
        if (limits->max_record_bytes) csv->max_record = limits->max_record_bytes;
    }
    /* Offsets and sizes are size_t; keep every sum below far from wrapping. */
    WARD_ARG_CHECK(csv->max_field <= SIZE_MAX / 4 && csv->max_record <= SIZE_MAX / 4);
    WARD_ARG_CHECK(csv->max_fields <= SIZE_MAX / (4 * sizeof(ward_csv_field)));
    csv->line = 1;
    csv->state = S_RECORD_START;
    return WARD_OK;
}

void ward_csv_free(ward_csv *csv) {
    if (!csv) return;
    free(csv->buf);
    free(csv->starts);
    free(csv->lens);
    free(csv->quoted);
    free(csv->fields);
    csv->buf = NULL;
    csv->starts = NULL;
    csv->lens = NULL;
    csv->quoted = NULL;
    csv->fields = NULL;
    csv->buf_cap = csv->fields_cap = 0;
    csv->buf_len = csv->nfields = 0;
}

uint64_t ward_csv_error_line(const ward_csv *csv) { return csv ? csv->err_line : 0; }

const char *ward_csv_error_reason(const ward_csv *csv) { return csv ? csv->err_reason : ""; }

uint64_t ward_csv_records(const ward_csv *csv) { return csv ? csv->rec_index : 0; }

/* Appends one data byte to the current field, enforcing the limits before
 * growing anything. */
static int put(ward_csv *csv, unsigned char c) {
    if (csv->buf_len - csv->field_start >= csv->max_field)
        return fail(csv, WARD_ETOOBIG, csv->rec_line, "field longer than %zu bytes",
                    csv->max_field);
    if (csv->rec_bytes >= csv->max_record)
        return fail(csv, WARD_ETOOBIG, csv->rec_line, "record longer than %zu bytes",
                    csv->max_record);
    /* One spare byte for the field's NUL terminator. */
    if (csv->buf_len + 2 > csv->buf_cap) {
        size_t cap = csv->buf_cap ? 2 * csv->buf_cap : 256;
        char *nb = realloc(csv->buf, cap);
        if (!nb) return fail(csv, WARD_ENOMEM, csv->rec_line, "out of memory");
        csv->buf = nb;
        csv->buf_cap = cap;
    }
    csv->buf[csv->buf_len++] = (char)c;
    csv->rec_bytes++;
    return WARD_OK;
}

static int end_field(ward_csv *csv) {
    if (csv->nfields >= csv->max_fields)
        return fail(csv, WARD_ETOOBIG, csv->rec_line, "more than %zu fields in a record",
                    csv->max_fields);
    if (csv->nfields == csv->fields_cap) {
        size_t cap = csv->fields_cap ? 2 * csv->fields_cap : 16;
        if (cap > csv->max_fields) cap = csv->max_fields;
        size_t *ns = realloc(csv->starts, cap * sizeof *ns);
        if (ns) csv->starts = ns;
        size_t *nl = realloc(csv->lens, cap * sizeof *nl);
        if (nl) csv->lens = nl;
        unsigned char *nq = realloc(csv->quoted, cap);
        if (nq) csv->quoted = nq;
        ward_csv_field *nf = realloc(csv->fields, cap * sizeof *nf);
        if (nf) csv->fields = nf;
        if (!ns || !nl || !nq || !nf)
            return fail(csv, WARD_ENOMEM, csv->rec_line, "out of memory");
        csv->fields_cap = cap;
    }
    if (csv->buf_len + 1 > csv->buf_cap) {
        size_t cap = csv->buf_cap ? 2 * csv->buf_cap : 256;
        char *nb = realloc(csv->buf, cap);
        if (!nb) return fail(csv, WARD_ENOMEM, csv->rec_line, "out of memory");
        csv->buf = nb;
        csv->buf_cap = cap;
    }
    csv->starts[csv->nfields] = csv->field_start;
    csv->lens[csv->nfields] = csv->buf_len - csv->field_start;
    csv->quoted[csv->nfields] = (unsigned char)csv->cur_quoted;
    csv->nfields++;
    csv->buf[csv->buf_len++] = '\0';
    csv->field_start = csv->buf_len;
    csv->cur_quoted = 0;
    return WARD_OK;
}

static int end_record(ward_csv *csv) {
    int rc = end_field(csv);
    if (rc) return rc;
    if (csv->rec_index == 0) {
        csv->expected = csv->nfields;
    } else if (csv->nfields != csv->expected) {
        return fail(csv, WARD_EPARSE, csv->rec_line, "record has %zu field%s, header has %zu",
                    csv->nfields, csv->nfields == 1 ? "" : "s", csv->expected);
    }
    for (size_t i = 0; i < csv->nfields; i++) {
        csv->fields[i].data = csv->buf + csv->starts[i];
        csv->fields[i].len = csv->lens[i];
        csv->fields[i].quoted = csv->quoted[i];
    }
    ward_csv_record rec = {csv->fields, csv->nfields, csv->rec_line, csv->rec_index};
    csv->rec_index++;
    csv->nfields = 0;
    csv->buf_len = 0;
    csv->field_start = 0;
    csv->rec_bytes = 0;
    rc = csv->on_record(csv->ctx, &rec);
    if (rc) {
        csv->err = rc;
        csv->err_line = rec.line;
        snprintf(csv->err_reason, sizeof csv->err_reason, "stopped by the record handler");
    }
    return rc;
}

static int step(ward_csv *csv, unsigned char c) {
    uint64_t here = csv->line;
    /* Line accounting is independent of the parse state: LF, CRLF and a
     * lone CR each end one line, quoted or not. */
    if (c == '\n') {
        if (!csv->last_cr) csv->line++;
    } else if (c == '\r') {
        csv->line++;
    }
    csv->last_cr = (c == '\r');
    if (c == '\0') return fail(csv, WARD_EPARSE, here, "NUL byte");

    switch (csv->state) {
    case S_RECORD_START:
        if (c == '\r' || c == '\n') return WARD_OK; /* blank line */
        csv->rec_line = here;
        csv->state = S_FIELD_START;
        /* fall through */
    case S_FIELD_START:
        if (c == '"') {
            csv->cur_quoted = 1;
            csv->quote_line = here;
            csv->state = S_QUOTED;
            return WARD_OK;
        }
        if (c == ',') return end_field(csv);
        if (c == '\r' || c == '\n') {
            csv->state = S_RECORD_START;
            return end_record(csv);
        }
        csv->state = S_UNQUOTED;
        return put(csv, c);
    case S_UNQUOTED:
        if (c == ',') {
            csv->state = S_FIELD_START;
            return end_field(csv);
        }
        if (c == '\r' || c == '\n') {
            csv->state = S_RECORD_START;
            return end_record(csv);
        }
        if (c == '"') return fail(csv, WARD_EPARSE, here, "quote in an unquoted field");
        return put(csv, c);
    case S_QUOTED:
        if (c == '"') {
            csv->state = S_QUOTE_SEEN;
            return WARD_OK;
        }
        return put(csv, c);
    case S_QUOTE_SEEN:
        if (c == '"') {
            csv->state = S_QUOTED;
            return put(csv, c);
        }
        if (c == ',') {
            csv->state = S_FIELD_START;
            return end_field(csv);
        }
        if (c == '\r' || c == '\n') {
            csv->state = S_RECORD_START;
            return end_record(csv);
        }
        return fail(csv, WARD_EPARSE, here, "character after a closing quote");
    default:
        return fail(csv, WARD_ESTATE, here, "input after the end");
    }
}

/* Plain bytes of an unquoted or quoted field are the bulk of any file:
 * copy a run of them at once instead of going through step(). Returns the
 * number of bytes consumed (0 when p[0] needs step()). */
static size_t run(ward_csv *csv, const unsigned char *p, size_t n) {
    if (csv->state != S_UNQUOTED && csv->state != S_QUOTED) return 0;
    size_t k = 0;
    if (csv->state == S_UNQUOTED) {
        while (k < n && p[k] != ',' && p[k] != '"' && p[k] != '\r' && p[k] != '\n' && p[k] != 0)
            k++;
    } else {
        while (k < n && p[k] != '"' && p[k] != '\r' && p[k] != '\n' && p[k] != 0) k++;
    }
    if (k == 0) return 0;
    size_t room_field = csv->max_field - (csv->buf_len - csv->field_start);
    size_t room_rec = csv->max_record - csv->rec_bytes;
    if (k > room_field || k > room_rec) return 0; /* let put() report the limit */
    if (csv->buf_len + k + 1 > csv->buf_cap) {
        size_t cap = csv->buf_cap ? csv->buf_cap : 256;
        while (cap < csv->buf_len + k + 1) cap *= 2;
        char *nb = realloc(csv->buf, cap);
        if (!nb) return 0; /* put() reports it */
        csv->buf = nb;
        csv->buf_cap = cap;
    }
    memcpy(csv->buf + csv->buf_len, p, k);
    csv->buf_len += k;
    csv->rec_bytes += k;
    csv->last_cr = 0;
    return k;
}

static int feed_bytes(ward_csv *csv, const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t k = run(csv, p + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        int rc = step(csv, p[i++]);
        if (rc) return rc;
    }
    return WARD_OK;
}

/* Bytes that began like a BOM but were not one are data after all. */
static int bom_give_up(ward_csv *csv) {
    unsigned seen = csv->bom_seen;
    csv->bom_done = 1;
    csv->bom_seen = 0;
    return feed_bytes(csv, bom, seen);
}

int ward_csv_feed(ward_csv *csv, const void *data, size_t len) {
    WARD_ARG_CHECK(csv != NULL && csv->on_record != NULL);
    WARD_ARG_CHECK(data != NULL || len == 0);
    if (csv->err) return csv->err;
    if (csv->state == S_FINISHED) return fail(csv, WARD_ESTATE, 0, "input after the end");
    const unsigned char *p = data;
    while (!csv->bom_done && len > 0) {
        if (*p == bom[csv->bom_seen]) {
            p++;
            len--;
            if (++csv->bom_seen == sizeof bom) {
                csv->bom_done = 1;
                csv->bom_seen = 0;
            }
        } else {
            int rc = bom_give_up(csv);
            if (rc) return rc;
        }
    }
    return feed_bytes(csv, p, len);
}

int ward_csv_finish(ward_csv *csv) {
    WARD_ARG_CHECK(csv != NULL && csv->on_record != NULL);
    if (csv->err) return csv->err;
    if (csv->state == S_FINISHED) return fail(csv, WARD_ESTATE, 0, "finished twice");
    if (!csv->bom_done) {
        int rc = bom_give_up(csv);
        if (rc) return rc;
    }
    int rc = WARD_OK;
    switch (csv->state) {
    case S_RECORD_START:
        break;
    case S_QUOTED:
        return fail(csv, WARD_EPARSE, csv->quote_line, "unterminated quoted field");
    default:
        rc = end_record(csv);
        break;
    }
    if (rc == WARD_OK) csv->state = S_FINISHED;
    return rc;
}

int ward_csv_read_file(ward_csv *csv, FILE *f) {
    WARD_ARG_CHECK(csv != NULL && f != NULL);
    enum { CHUNK = 1 << 16 };
    unsigned char *chunk = malloc(CHUNK);
    if (!chunk) return fail(csv, WARD_ENOMEM, 0, "out of memory");
    int rc = WARD_OK;
    for (;;) {
        size_t n = fread(chunk, 1, CHUNK, f);
        if (n > 0) {
            rc = ward_csv_feed(csv, chunk, n);
            if (rc) break;
        }
        if (n < CHUNK) {
            if (ferror(f)) rc = fail(csv, WARD_EIO, csv->line, "read error");
            break;
        }
    }
    free(chunk);
    if (rc == WARD_OK) rc = ward_csv_finish(csv);
    return rc;
}

int ward_utf8_valid_var(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) lo = 0xA0;      /* overlong */
            else if (c == 0xED) hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) lo = 0x90;      /* overlong */
            else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
        } else {
            return 0;
        }
        if (len - i <= n) return 0;
        if (p[i + 1] < lo || p[i + 1] > hi) return 0;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80) return 0;
        i += n + 1;
    }
    return 1;
}
