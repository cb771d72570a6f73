/* A streaming CSV reader (RFC 4180, with the usual relaxations).
 *
 * Input is pushed in pieces of any size with ward_csv_feed() (or read from a
 * FILE * with ward_csv_read_file()); each complete record is handed to a
 * callback as soon as its terminator has been seen, so memory use is bounded
 * by the largest record, never by the file. Feeding a text in one piece or
 * byte by byte gives the same records, the same line numbers and the same
 * error.
 *
 * Grammar:
 *  - Fields are separated by ','. A field is either unquoted (any bytes but
 *    ',', '"', CR and LF) or enclosed in double quotes, in which ',', CR, LF
 *    are ordinary bytes and '""' stands for one '"'.
 *  - A record ends at LF, CRLF or a lone CR outside quotes, or at the end of
 *    the input (the last line needs no terminator).
 *  - Lines with no bytes at all are skipped (they are not records).
 *  - A UTF-8 byte-order mark (EF BB BF) at the very start is skipped.
 *  - The first record is the header; every later record must have the same
 *    number of fields.
 *  - A NUL byte anywhere is an error (it is never part of a text file).
 * Bytes are otherwise passed through unchanged: the reader does not check
 * the text encoding (the importer does).
 *
 * Line numbers are 1-based and count physical lines: LF, CRLF and a lone CR
 * each end one line, inside quoted fields too, so a record whose quoted
 * field spans three lines is followed by a record three lines further on.
 *
 * Errors are sticky: after the first one every call returns the same code.
 *  - WARD_EPARSE: quote inside an unquoted field, a byte other than ',' or a
 *    line end after a closing quote, an unterminated quoted field (reported
 *    on the line where its quote opened), a record whose field count differs
 *    from the header's, a NUL byte.
 *  - WARD_ETOOBIG: a field longer than max_field_bytes, a record with more
 *    than max_fields fields or more than max_record_bytes of field data.
 *  - WARD_EIO (ward_csv_read_file only): the FILE * reported a read error.
 *  - WARD_ENOMEM: allocation failed.
 *  - any non-zero value returned by the record callback, which stops the
 *    reader.
 * ward_csv_error_line() and ward_csv_error_reason() then say where and why.
 */
#ifndef WARD_CSV_H
#define WARD_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define WARD_CSV_MAX_FIELD_BYTES ((size_t)1 << 20)   /* 1 MiB */
#define WARD_CSV_MAX_FIELDS ((size_t)4096)
#define WARD_CSV_MAX_RECORD_BYTES ((size_t)16 << 20) /* 16 MiB */

/* One field of a record. `data` points at a NUL-terminated copy of the
 * field's bytes with quotes removed and '""' resolved; `len` excludes the
 * terminator. `quoted` is 1 when the field was written in double quotes
 * (so "" and an empty unquoted field can be told apart). */
typedef struct {
    const char *data;
    size_t len;
    int quoted;
} ward_csv_field;

/* A record as passed to the callback. The pointers are valid only during
 * the call. */
typedef struct {
    const ward_csv_field *fields;
    size_t nfields;
    uint64_t line;  /* 1-based line on which the record starts */
    uint64_t index; /* 0 for the header, then 1, 2, ... */
} ward_csv_record;

/* Called once per record, the header included. Return 0 to continue; any
 * other value stops the reader and is returned by the feeding call. */
typedef int (*ward_csv_record_fn)(void *ctx, const ward_csv_record *rec);

/* Size limits; a zero member means the default above. Limits are checked
 * before memory is grown, so no input makes the reader allocate more than
 * about max_record_bytes + 48 * max_fields bytes. */
typedef struct {
    size_t max_field_bytes;
    size_t max_fields;
    size_t max_record_bytes;
} ward_csv_limits;

/* Reader state. Caller-allocated; the members are private. */
typedef struct {
    ward_csv_record_fn on_record;
    void *ctx;
    size_t max_field, max_fields, max_record;

    int state;
    int bom_done;
    unsigned bom_seen;   /* BOM bytes matched so far */
    int last_cr;         /* previous byte was CR (so a following LF ends no new line) */
    int cur_quoted;
    uint64_t line;       /* line of the next byte */
    uint64_t rec_line;   /* line on which the current record started */
    uint64_t quote_line; /* line on which the current quoted field opened */
    uint64_t rec_index;  /* records delivered so far */
    size_t expected;     /* header's field count (0 before the header) */

    char *buf;           /* field bytes of the current record, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t field_start;  /* offset in buf of the field being read */
    size_t rec_bytes;    /* field bytes of the current record (no NULs) */

    size_t *starts;      /* per field: offset in buf */
    size_t *lens;
    unsigned char *quoted;
    ward_csv_field *fields;
    size_t nfields, fields_cap;

    int err;
    uint64_t err_line;
    char err_reason[96];
} ward_csv;

/* Prepares a reader. `limits` may be NULL (defaults). `fn` is required.
 * Returns 0 or WARD_EINVAL. Nothing is allocated until input arrives; call
 * ward_csv_free() in any case when done. */
int ward_csv_init(ward_csv *csv, const ward_csv_limits *limits, ward_csv_record_fn fn,
                  void *ctx);

/* Pushes len bytes (len may be 0). Records completed by these bytes are
 * delivered before it returns. Returns 0 or an error (see above). */
int ward_csv_feed(ward_csv *csv, const void *data, size_t len);

/* Signals the end of the input: delivers a last record that had no line
 * terminator, or reports an unterminated quoted field. Returns 0 or an
 * error. Feeding after finish is WARD_ESTATE. */
int ward_csv_finish(ward_csv *csv);

/* Feeds everything readable from f, then finishes. Returns 0, WARD_EIO on a
 * read error, or an error from feed/finish. Does not close f. */
int ward_csv_read_file(ward_csv *csv, FILE *f);

/* After an error: the 1-based line it refers to (0 if none), and a short
 * reason ("unterminated quoted field", "record has 3 fields, header has 4",
 * ...). The reason is "" when there was no error. */
uint64_t ward_csv_error_line(const ward_csv *csv);
const char *ward_csv_error_reason(const ward_csv *csv);

/* Records delivered so far, the header included. */
uint64_t ward_csv_records(const ward_csv *csv);

/* 1 when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates
 * or code points above U+10FFFF), else 0. Not constant-time: public text
 * or data on its way into the database only. */
int ward_utf8_valid_var(const char *s, size_t len);

/* Frees the reader's buffers. Safe on a zeroed or already freed reader. */
void ward_csv_free(ward_csv *csv);

#endif
