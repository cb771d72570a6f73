/* ward_store_rows_text (store_rows.h). */
#include "store_rows.h"

#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define ROWS_MAX_COLS 256

/* v / 10^k exactly, in decimal. */
static void decimal_text(char *out, size_t cap, int64_t v, unsigned k) {
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, p = 1;
    for (unsigned i = 0; i < k; i++) p *= 10;
    if (k == 0)
        snprintf(out, cap, "%s%" PRIu64, v < 0 ? "-" : "", m);
    else
        snprintf(out, cap, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "", m / p, (int)k, m % p);
}

int ward_store_rows_text(ward_store *st, const char *table, const char *const *cols, size_t ncols,
                         ward_store_row_fn fn, void *ctx) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && table != NULL && cols != NULL && fn != NULL);
    WARD_ARG_CHECK(ncols >= 1 && ncols <= ROWS_MAX_COLS);
    ward_table_info t;
    int rc = ward_store_table_info(st, &t, table);
    if (rc == WARD_ENOTFOUND) {
        snprintf(st->errmsg, sizeof st->errmsg, "no table '%s'", table);
        return rc;
    }
    if (rc != WARD_OK) return rc;
    const ward_column_info **ci = calloc(ncols, sizeof *ci);
    size_t cap = 64;
    for (size_t i = 0; i < ncols; i++) cap += strlen(cols[i]) * 2 + 4;
    cap += strlen(table) * 2 + 32;
    char *sql = malloc(cap);
    if (!ci || !sql) {
        free(ci);
        free(sql);
        ward_table_info_clear(&t);
        return WARD_ENOMEM;
    }
    for (size_t i = 0; i < ncols && rc == WARD_OK; i++) {
        for (size_t j = 0; j < t.ncolumns; j++)
            if (strcmp(t.columns[j].name, cols[i]) == 0) ci[i] = &t.columns[j];
        if (!ci[i]) {
            int off = snprintf(st->errmsg, sizeof st->errmsg, "table %s has no column '%s' (it has:",
                               table, cols[i]);
            for (size_t j = 0; j < t.ncolumns && off > 0 && (size_t)off < sizeof st->errmsg; j++)
                off += snprintf(st->errmsg + off, sizeof st->errmsg - (size_t)off, " %s",
                                t.columns[j].name);
            if (off > 0 && (size_t)off < sizeof st->errmsg)
                snprintf(st->errmsg + off, sizeof st->errmsg - (size_t)off, ")");
            rc = WARD_ENOTFOUND;
        }
    }
    if (rc == WARD_OK) {
        /* Names come from the table's metadata ([a-z0-9_] after import);
         * quoted anyway. */
        size_t off = (size_t)snprintf(sql, cap, "SELECT ");
        for (size_t i = 0; i < ncols; i++)
            off += (size_t)snprintf(sql + off, cap - off, "%s\"%s\"", i ? "," : "", ci[i]->name);
        snprintf(sql + off, cap - off, " FROM \"%s\" ORDER BY rowid", t.name);
    }
    sqlite3_stmt *stmt = NULL;
    if (rc == WARD_OK && sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
        rc = WARD_EIO;
    }
    free(sql);
    const char **fields = calloc(ncols, sizeof *fields);
    char (*num)[48] = calloc(ncols, sizeof *num);
    if (rc == WARD_OK && (!fields || !num)) rc = WARD_ENOMEM;
    uint64_t row = 0;
    while (rc == WARD_OK) {
        int s = sqlite3_step(stmt);
        if (s == SQLITE_DONE) break;
        if (s != SQLITE_ROW) {
            snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
            rc = WARD_EIO;
            break;
        }
        row++;
        for (size_t i = 0; i < ncols; i++) {
            int ty = sqlite3_column_type(stmt, (int)i);
            if (ty == SQLITE_NULL) {
                fields[i] = NULL;
            } else if (ty == SQLITE_INTEGER) {
                int64_t v = sqlite3_column_int64(stmt, (int)i);
                decimal_text(num[i], sizeof num[i], v,
                             ci[i]->type == WARD_COLTYPE_DECIMAL ? ci[i]->scale : 0);
                fields[i] = num[i];
            } else {
                fields[i] = (const char *)sqlite3_column_text(stmt, (int)i);
                if (!fields[i]) fields[i] = "";
            }
        }
        rc = fn(ctx, fields, ncols, row);
    }
    if (stmt) sqlite3_finalize(stmt);
    free(fields);
    free(num);
    free(ci);
    ward_table_info_clear(&t);
    return rc;
}
