/* The node's storage: one SQLite database per node (node.db) holding the
 * department's imported tables, their metadata and the audit log
 * (audit.h). Nothing else in ward touches SQLite. The layout, the type
 * rules and the import semantics are described in docs/storage.md.
 *
 * A ward_store is caller-allocated (libuv style): open it, use it from one
 * thread, close it, then free its memory if it was allocated. Times are
 * passed in by the caller (Unix milliseconds, the node's clock); nothing
 * here reads a clock.
 *
 * Errors: WARD_EINVAL for misuse (NULL handle, closed store), WARD_EIO for
 * a failure of the database itself (disk full, I/O error, locked), with
 * SQLite's message in ward_store_errmsg(); other codes are listed per
 * function. A failed write leaves the database as it was before the call.
 */
#ifndef WARD_STORE_H
#define WARD_STORE_H

#include <stddef.h>
#include <stdint.h>

#define WARD_STORE_SCHEMA_VERSION 1

/* Table and column names: at most this many bytes. */
#define WARD_STORE_NAME_MAX 63

/* Columns per table. */
#define WARD_STORE_MAX_COLUMNS 1000

/* Decimal scale: inferred scales stop here; declared ones may go up to
 * WARD_FIXED_MAX_SCALE (18). */
#define WARD_STORE_INFER_MAX_SCALE 6
#define WARD_STORE_DEFAULT_SCALE 3

/* Errors kept in an import report (the total is counted regardless). */
#define WARD_IMPORT_MAX_ERRORS 20

struct sqlite3;
struct sqlite3_stmt;

#define WARD_STORE_STMT_CACHE 16

typedef struct {
    struct sqlite3 *db; /* NULL when closed */
    char errmsg[256];   /* the last database or validation message */
    /* Statements prepared once and reused (ward_store_stmt), keyed by the
     * address of their SQL text. */
    const char *stmt_sql[WARD_STORE_STMT_CACHE];
    struct sqlite3_stmt *stmt[WARD_STORE_STMT_CACHE];
} ward_store;

/* Sensitivity classes (DECISIONS.md, "Privacy unit and budget"). The values
 * match ward.control.Sensitivity. DEFAULT means medium for a new table and
 * "keep the table's class" when appending. */
typedef enum {
    WARD_SENSITIVITY_DEFAULT = 0,
    WARD_SENSITIVITY_HIGH = 1,
    WARD_SENSITIVITY_MEDIUM = 2,
    WARD_SENSITIVITY_LOW = 3
} ward_sensitivity;

typedef enum {
    WARD_COLTYPE_INTEGER = 1,   /* int64 */
    WARD_COLTYPE_DECIMAL = 2,   /* int64 holding round_half_even(value * 10^scale) */
    WARD_COLTYPE_TEXT = 3,      /* UTF-8, verbatim */
    WARD_COLTYPE_TIMESTAMP = 4  /* "YYYY-MM-DD HH:MM:SS[.fff]", local time as given */
} ward_coltype;

/* "high", "medium", "low" ("medium" for DEFAULT); "?" for anything else. */
const char *ward_sensitivity_name(ward_sensitivity s);

/* Parses "high", "medium" or "low" (exactly). WARD_EPARSE otherwise. */
int ward_sensitivity_parse(ward_sensitivity *out, const char *text);

/* "integer", "decimal", "text", "timestamp"; "?" for anything else. */
const char *ward_coltype_name(ward_coltype t);

/* ---- opening and transactions ---- */

/* Opens (creating if absent) the node database at `path` in WAL mode with
 * foreign keys on and synchronous=FULL. A new database gets the current
 * schema. Returns 0; WARD_EVERSION when the database has a newer schema
 * version than this program (or one it cannot read); WARD_EPARSE when the
 * file is not a SQLite database or is a SQLite database that ward did not
 * create; WARD_EIO when it cannot be opened or WAL cannot be enabled. On
 * failure the store is left closed (ward_store_errmsg says why) and need
 * not be closed. */
int ward_store_open(ward_store *st, const char *path);

/* Closes the database. Uncommitted work is rolled back. Safe on a closed
 * or zeroed store. Returns 0 or WARD_EIO. */
int ward_store_close(ward_store *st);

/* How many rows this connection has inserted, updated or deleted since it
 * was opened; a driver compares it to know whether there is anything to
 * flush (ward_audit_append_relaxed). 0 for a closed store. */
uint64_t ward_store_changes(const ward_store *st);

/* For the storage modules (store.c, audit.c): the prepared statement for
 * sql, a string constant (the cache is keyed by its address), prepared on
 * first use and kept until ward_store_close; a session's few statements
 * are then parsed once per node rather than once per session. Hand it back
 * with ward_store_stmt_done (reset, bindings cleared) before the next use;
 * never finalize it. Beyond WARD_STORE_STMT_CACHE distinct texts, a fresh
 * statement is prepared each time and ward_store_stmt_done finalizes it.
 * Returns 0, WARD_EIO or WARD_ENOMEM (ward_store_errmsg says why). */
int ward_store_stmt(ward_store *st, struct sqlite3_stmt **out, const char *sql);
void ward_store_stmt_done(ward_store *st, struct sqlite3_stmt *stmt);

/* The last message recorded by a failing call ("" if none). Never NULL. */
const char *ward_store_errmsg(const ward_store *st);

/* The database's schema version (WARD_STORE_SCHEMA_VERSION once open). */
int ward_store_schema_version(ward_store *st, int *version);

/* An explicit transaction, for a caller that wants several writes (an
 * import and its audit entry, a ledger spend and its audit entry) to be
 * atomic. Imports and audit appends inside it use savepoints. Returns 0,
 * WARD_ESTATE (begin inside a transaction, commit/rollback outside one) or
 * WARD_EIO. A failed commit rolls back and returns WARD_EIO. */
int ward_store_begin(ward_store *st);
int ward_store_commit(ward_store *st);
int ward_store_rollback(ward_store *st);

/* 1 when a transaction is open on this store. */
int ward_store_in_transaction(const ward_store *st);

/* Caps the database file at about max_bytes (rounded down to whole pages,
 * never below its current size); a write beyond it fails as a full disk
 * would (WARD_EIO, "database or disk is full"). For quotas and tests.
 * *effective (may be NULL) receives the cap applied. */
int ward_store_limit_size(ward_store *st, uint64_t *effective, uint64_t max_bytes);

/* ---- import ---- */

typedef struct {
    ward_sensitivity sensitivity; /* DEFAULT: medium for a new table */
    /* Declared column types, NULL for none: a comma-separated list of
     * NAME:TYPE where TYPE is integer, decimal, decimal(K), text or
     * timestamp, optionally followed by [MIN,MAX] for integer and decimal
     * columns. Columns not listed are inferred. Example:
     * "Capacity:integer[0,10000],Occupancy:integer,LastUpdated:timestamp" */
    const char *schema;
    /* Input format for timestamps in local notation, NULL for none, e.g.
     * "%m/%d/%y %H:%M" for "1/1/17 0:10". Directives: %Y %y %m %d %H %I %M
     * %S %f (fraction of a second) %p (AM/PM) %b (month name) %%; a space
     * matches one or more spaces. ISO 8601 forms are accepted as well. */
    const char *ts_format;
    int64_t now_ms; /* recorded as the table's created/updated time */
} ward_import_options;

typedef struct {
    int code;              /* WARD_EPARSE, WARD_EOVERFLOW, WARD_ETOOBIG, ... */
    uint64_t line;         /* 1-based line of the file, 0 if none */
    char column[WARD_STORE_NAME_MAX + 1]; /* "" if the error is not about one column */
    char reason[160];
} ward_import_error;

typedef struct {
    uint64_t rows_imported;  /* rows added by this import (0 on failure) */
    uint64_t rows_total;     /* rows in the table afterwards */
    int created;             /* 1 when this import created the table */
    uint64_t error_count;    /* every error found, bad values counted one by one */
    size_t nerrors;          /* errors[0..nerrors) are the first ones, in file order */
    ward_import_error errors[WARD_IMPORT_MAX_ERRORS];
    char message[256];       /* one-line summary of a failure, "" on success */
} ward_import_report;

/* Imports the CSV file at csv_path into `table` (a new table, or appended
 * to an existing one), as one transaction: on any error nothing changes
 * (a new table does not exist afterwards, an existing one keeps its rows)
 * and the report lists the first WARD_IMPORT_MAX_ERRORS errors, each with
 * its line, column and reason, plus the total count. Bad values are all
 * counted (the file is read to its end); a malformed CSV stops at its first
 * error. Inside a caller's transaction the import uses a savepoint, except
 * that on WARD_EIO the whole transaction is rolled back.
 *
 * Values: an empty unquoted field, or an unquoted NA in any case, is NULL
 * ("" is NULL too, except in text columns, where it is the empty string).
 * Undeclared columns of a new table are inferred: integer, else decimal(k)
 * (k = most fraction digits seen, at most 6), else timestamp, else text.
 * Decimals are stored as round_half_even(value * 10^k); timestamps as
 * "YYYY-MM-DD HH:MM:SS[.fff]". Column names have spaces mapped to '_'.
 *
 * `table` must match [a-z][a-z0-9_]{0,62} and not start with "ward_" or
 * "sqlite_". Appending requires the file's header to hold exactly the
 * table's columns (in any order); values are converted to the table's
 * types, a declared schema must agree with them, and the sensitivity, if
 * given, must be the table's.
 *
 * Returns 0, or the code of the first error: WARD_EPARSE (malformed CSV,
 * bad header, a value not of its column's type, bad options or table
 * name), WARD_EOVERFLOW (a value out of int64 or declared range),
 * WARD_ETOOBIG (CSV limits, too many columns), WARD_ESTATE (the file or the
 * options do not fit the existing table), WARD_ENOTFOUND (no such file),
 * WARD_EIO (read error, disk full, database I/O error), WARD_ENOMEM.
 * `report` is filled in every case. */
int ward_store_import(ward_store *st, ward_import_report *report, const char *table,
                      const char *csv_path, const ward_import_options *opts);

/* ---- table metadata ---- */

typedef struct {
    char name[WARD_STORE_NAME_MAX + 1];   /* SQL column name */
    char source[WARD_STORE_NAME_MAX + 1]; /* header text it came from (trimmed) */
    ward_coltype type;
    unsigned scale;                       /* decimal: k; 0 otherwise */
    int has_min, has_max;                 /* declared bounds, scaled by 10^k */
    int64_t min, max;
} ward_column_info;

typedef struct {
    char name[WARD_STORE_NAME_MAX + 1];
    ward_sensitivity sensitivity;         /* never DEFAULT */
    uint64_t rows;
    int64_t created_ms, updated_ms;
    size_t ncolumns;
    ward_column_info *columns;            /* in table order; owned, see below */
} ward_table_info;

/* Fills *info for one table; free it with ward_table_info_clear().
 * Returns 0, WARD_ENOTFOUND, WARD_ENOMEM or WARD_EIO. */
int ward_store_table_info(ward_store *st, ward_table_info *info, const char *table);

/* Frees info->columns and zeroes *info. */
void ward_table_info_clear(ward_table_info *info);

/* Every table, sorted by name. *tables is NULL when there are none; free
 * the array with ward_store_tables_free(). Returns 0, WARD_ENOMEM or
 * WARD_EIO. */
int ward_store_tables(ward_store *st, ward_table_info **tables, size_t *count);
void ward_store_tables_free(ward_table_info *tables, size_t count);

/* Writes "integer", "decimal(3)", "text" or "timestamp" for a column. */
void ward_column_type_text(char *out, size_t out_cap, const ward_column_info *col);

#endif
