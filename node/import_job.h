/* Imports off the event loop. A CSV import reads, checks and converts
 * every row, which for a large file takes seconds; a node must meanwhile
 * keep answering its peers. So an import runs in two steps:
 *
 *   1. ward_import_stage, on a worker thread: imports the file into a
 *      staging database of its own (next to the node's, never shared),
 *      holding a copy of the target table's definition when the table
 *      exists, so that every check is the one ward_store_import makes.
 *      It only reads the node's database.
 *   2. ward_import_merge, on the event loop: in one transaction, checks
 *      that the table did not change meanwhile, copies the staged rows
 *      (and, for a new table, its definition) into the node's database and
 *      updates the table's row count; then removes the staging file.
 *
 * The import stays all or nothing: a bad file never reaches step 2, and
 * step 2 commits everything or nothing. SQLite allows one writer at a time,
 * so step 1 writing elsewhere is what lets the node's own writes (audit
 * records, ledger debits) go on while a file is read.
 */
#ifndef WARD_IMPORT_JOB_H
#define WARD_IMPORT_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"
#include "store.h"

/* What step 1 saw of the target table, for step 2 to check. */
typedef struct {
    int exists;
    uint64_t rows;
    int64_t updated_ms;
} ward_import_base;

/* Step 1. db_path: the node's database (read only); staging_path: a file
 * this call creates (any old one is replaced) and, on failure, removes.
 * Returns as ward_store_import, with *report filled; *base on success. */
int ward_import_stage(ward_import_report *report, ward_import_base *base, const char *db_path,
                      const char *staging_path, const char *table, const char *csv_path,
                      const ward_import_options *opts);

/* Step 2, on the node's store. Returns 0 with report->rows_imported,
 * rows_total and created set; WARD_ESTATE when the table changed since
 * step 1 (nothing imported: the caller may run both steps again); WARD_EIO
 * or WARD_ENOMEM (nothing imported), the message in ward_store_errmsg.
 * The staging file is removed in every case. */
int ward_import_merge(ward_store *st, ward_import_report *report, const char *staging_path,
                      const char *table, const ward_import_base *base, int64_t now_ms);

/* The import options of a control request (sensitivity, schema), as the
 * node applies them. */
void ward_import_options_from_request(ward_import_options *opt,
                                      const Ward__Control__ImportRequest *req, int64_t now_ms);

/* The one-line error of a failed import, as the node reports it:
 * "PATH:LINE: column C: REASON (N errors; nothing imported)". */
void ward_import_error_text(char *out, size_t out_cap, const ward_import_report *report,
                            const char *csv_path, const char *table, const char *fallback);

#endif
