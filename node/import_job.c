#include "import_job.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "store_ldp.h"

/* Runs sql with up to three text parameters; 0 or a ward error with the
 * message in st->errmsg. */
static int run(ward_store *st, const char *sql, const char *a, const char *b, const char *c) {
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (s == SQLITE_OK) {
        const char *p[3] = {a, b, c};
        for (int i = 0; i < 3 && p[i]; i++) sqlite3_bind_text(stmt, i + 1, p[i], -1, SQLITE_STATIC);
        s = sqlite3_step(stmt);
        if (s == SQLITE_ROW) s = SQLITE_DONE;
    }
    if (s != SQLITE_DONE)
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return s == SQLITE_DONE ? WARD_OK : s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
}

/* The first column of the first row of sql (one text parameter) as text
 * into out; *found says whether there was a row. */
static int query_text(ward_store *st, char **out, int *found, const char *sql, const char *a) {
    sqlite3_stmt *stmt = NULL;
    *found = 0;
    *out = NULL;
    int s = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (s == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
        s = sqlite3_step(stmt);
        if (s == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(stmt, 0);
            *out = strdup(t ? (const char *)t : "");
            *found = 1;
            s = *out ? SQLITE_DONE : SQLITE_NOMEM;
        }
    }
    if (s != SQLITE_DONE) snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return s == SQLITE_DONE ? WARD_OK : s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
}

static int table_state(ward_store *st, const char *schema, const char *table, int *exists,
                       uint64_t *rows, int64_t *updated_ms) {
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT row_count, updated_ms FROM %s.ward_tables WHERE name = ?",
             schema);
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    *exists = 0;
    if (s == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        s = sqlite3_step(stmt);
        if (s == SQLITE_ROW) {
            *exists = 1;
            *rows = (uint64_t)sqlite3_column_int64(stmt, 0);
            *updated_ms = sqlite3_column_int64(stmt, 1);
            s = SQLITE_DONE;
        }
    }
    if (s != SQLITE_DONE) snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(stmt);
    return s == SQLITE_DONE ? WARD_OK : WARD_EIO;
}

/* Copies table's definition (its CREATE TABLE and its ward_tables and
 * ward_columns rows, with no data) from schema `from` into `to`. */
static int copy_definition(ward_store *st, const char *from, const char *to, const char *table) {
    char sql[256], *create = NULL;
    int found;
    snprintf(sql, sizeof sql, "SELECT sql FROM %s.sqlite_master WHERE type = 'table' AND name = ?",
             from);
    int rc = query_text(st, &create, &found, sql, table);
    if (rc == WARD_OK && !found) {
        snprintf(st->errmsg, sizeof st->errmsg, "table '%s' has no definition", table);
        rc = WARD_EIO;
    }
    if (rc == WARD_OK) {
        /* "CREATE TABLE name (...)": the same in the other schema. The name
         * is a validated identifier ([a-z][a-z0-9_]*), quoted or not. */
        const char *open = strchr(create, '(');
        size_t cap = strlen(create) + strlen(table) + 64;
        char *q = open ? malloc(cap) : NULL;
        if (!q) rc = open ? WARD_ENOMEM : WARD_EIO;
        if (q) {
            snprintf(q, cap, "CREATE TABLE %s.\"%s\" %s", to, table, open);
            rc = run(st, q, NULL, NULL, NULL);
            free(q);
        }
    }
    free(create);
    if (rc == WARD_OK) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.ward_tables(name, sensitivity, row_count, created_ms, updated_ms) "
                 "SELECT name, sensitivity, 0, created_ms, updated_ms FROM %s.ward_tables "
                 "WHERE name = ?",
                 to, from);
        rc = run(st, sql, table, NULL, NULL);
    }
    if (rc == WARD_OK) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.ward_columns SELECT * FROM %s.ward_columns WHERE table_name = ?",
                 to, from);
        rc = run(st, sql, table, NULL, NULL);
    }
    return rc;
}

int ward_import_stage(ward_import_report *report, ward_import_base *base, const char *db_path,
                      const char *staging_path, const char *table, const char *csv_path,
                      const ward_import_options *opts) {
    WARD_ARG_CHECK(report != NULL && base != NULL);
    memset(report, 0, sizeof *report);
    memset(base, 0, sizeof *base);
    WARD_ARG_CHECK(db_path != NULL && staging_path != NULL && table != NULL && csv_path != NULL);
    unlink(staging_path);
    ward_store stg;
    memset(&stg, 0, sizeof stg);
    int rc = ward_store_open(&stg, staging_path);
    if (rc != WARD_OK) {
        snprintf(report->message, sizeof report->message, "staging database: %s",
                 ward_store_errmsg(&stg));
        return rc;
    }
    /* A scratch copy: it needs neither the log nor the disk flushes. */
    rc = run(&stg, "PRAGMA synchronous = OFF", NULL, NULL, NULL);
    if (rc == WARD_OK) rc = run(&stg, "ATTACH DATABASE ? AS node", db_path, NULL, NULL);
    if (rc == WARD_OK) rc = run(&stg, "BEGIN", NULL, NULL, NULL);
    if (rc == WARD_OK)
        rc = table_state(&stg, "node", table, &base->exists, &base->rows, &base->updated_ms);
    if (rc == WARD_OK && base->exists) rc = copy_definition(&stg, "node", "main", table);
    if (rc == WARD_OK) rc = run(&stg, "COMMIT", NULL, NULL, NULL);
    if (rc == WARD_OK) rc = run(&stg, "DETACH DATABASE node", NULL, NULL, NULL);
    if (rc != WARD_OK) {
        snprintf(report->message, sizeof report->message, "reading table '%s': %s", table,
                 ward_store_errmsg(&stg));
        report->error_count = 1;
        report->nerrors = 1;
        report->errors[0].code = rc;
        snprintf(report->errors[0].reason, sizeof report->errors[0].reason, "%.*s",
                 (int)sizeof report->errors[0].reason - 1, ward_store_errmsg(&stg));
    } else {
        rc = ward_store_import(&stg, report, table, csv_path, opts);
    }
    ward_store_close(&stg);
    if (rc != WARD_OK) {
        unlink(staging_path);
        char p[4200];
        snprintf(p, sizeof p, "%s-wal", staging_path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", staging_path);
        unlink(p);
    }
    return rc;
}

static void remove_staging(const char *path) {
    char p[4200];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

int ward_import_merge(ward_store *st, ward_import_report *report, const char *staging_path,
                      const char *table, const ward_import_base *base, int64_t now_ms) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && report != NULL && staging_path != NULL &&
                   table != NULL && base != NULL);
    if (ward_store_in_transaction(st)) return WARD_ESTATE;
    int rc = run(st, "ATTACH DATABASE ? AS stg", staging_path, NULL, NULL);
    if (rc != WARD_OK) {
        remove_staging(staging_path);
        return rc;
    }
    rc = ward_store_begin(st);
    int exists = 0;
    uint64_t rows = 0, staged = 0;
    int64_t updated = 0;
    if (rc == WARD_OK) rc = table_state(st, "main", table, &exists, &rows, &updated);
    if (rc == WARD_OK && (exists != base->exists ||
                          (exists && (rows != base->rows || updated != base->updated_ms)))) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "table '%s' changed while the file was being read (another import); nothing "
                 "imported, run the import again",
                 table);
        rc = WARD_ESTATE;
    }
    if (rc == WARD_OK && exists && ward_store_ldp_is_report_table(st, table)) {
        snprintf(st->errmsg, sizeof st->errmsg,
                 "table '%s' holds local-DP reports; import them with --ldp-reports", table);
        rc = WARD_ESTATE;
    }
    int dummy;
    int64_t staged_updated;
    if (rc == WARD_OK) rc = table_state(st, "stg", table, &dummy, &staged, &staged_updated);
    if (rc == WARD_OK && !exists) rc = copy_definition(st, "stg", "main", table);
    char sql[256];
    if (rc == WARD_OK) {
        snprintf(sql, sizeof sql, "INSERT INTO main.\"%s\" SELECT * FROM stg.\"%s\"", table, table);
        rc = run(st, sql, NULL, NULL, NULL);
    }
    if (rc == WARD_OK) {
        char rows_txt[32], now_txt[32];
        snprintf(rows_txt, sizeof rows_txt, "%llu", (unsigned long long)staged);
        snprintf(now_txt, sizeof now_txt, "%lld", (long long)now_ms);
        rc = run(st,
                 "UPDATE main.ward_tables SET row_count = row_count + CAST(?2 AS INTEGER), "
                 "updated_ms = CAST(?3 AS INTEGER) WHERE name = ?1",
                 table, rows_txt, now_txt);
    }
    if (rc == WARD_OK) rc = ward_store_commit(st);
    else if (ward_store_in_transaction(st)) ward_store_rollback(st);
    char keep[sizeof st->errmsg];
    memcpy(keep, st->errmsg, sizeof keep);
    run(st, "DETACH DATABASE stg", NULL, NULL, NULL);
    memcpy(st->errmsg, keep, sizeof keep);
    remove_staging(staging_path);
    memset(report, 0, sizeof *report);
    if (rc == WARD_OK) {
        report->rows_imported = staged;
        report->rows_total = rows + staged;
        report->created = !exists;
    } else {
        report->error_count = 1;
        report->nerrors = 1;
        report->errors[0].code = rc;
        snprintf(report->errors[0].reason, sizeof report->errors[0].reason, "%.*s",
                 (int)sizeof report->errors[0].reason - 1, st->errmsg);
        snprintf(report->message, sizeof report->message, "%s", st->errmsg);
    }
    return rc;
}

void ward_import_error_text(char *out, size_t out_cap, const ward_import_report *rep,
                            const char *csv_path, const char *table, const char *fallback) {
    if (rep->error_count > 0 && rep->errors[0].line > 0)
        snprintf(out, out_cap, "%s:%llu%s%s: %s (%llu error%s; nothing imported)", csv_path,
                 (unsigned long long)rep->errors[0].line, rep->errors[0].column[0] ? ": column " : "",
                 rep->errors[0].column, rep->errors[0].reason, (unsigned long long)rep->error_count,
                 rep->error_count == 1 ? "" : "s");
    else
        snprintf(out, out_cap, "import of %s into '%s' failed: %s; nothing imported", csv_path,
                 table, rep->error_count > 0 ? rep->errors[0].reason : fallback);
}
