/* Reading a table's rows as text, for consumers that parse values
 * themselves (the learning loader, node/learn_data.h): integers in
 * decimal, decimal columns as their exact decimal text (value / 10^k),
 * text and timestamps verbatim, SQL NULL as a NULL pointer. Part of the
 * storage module: only it touches SQLite. */
#ifndef WARD_STORE_ROWS_H
#define WARD_STORE_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Called once per row, in rowid order; fields[0..n) as described above,
 * valid during the call. A non-zero return stops the scan and is returned. */
typedef int (*ward_store_row_fn)(void *ctx, const char *const *fields, size_t n, uint64_t row);

/* Scans table's columns cols[0..ncols) (1..256 names). Returns 0, the
 * callback's code, WARD_ENOTFOUND (no such table, or a column it lacks:
 * ward_store_errmsg names it and lists the table's columns), WARD_EINVAL,
 * WARD_ENOMEM or WARD_EIO. */
int ward_store_rows_text(ward_store *st, const char *table, const char *const *cols, size_t ncols,
                         ward_store_row_fn fn, void *ctx);

#endif
