#include "store_query.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "query_expr.h"

/* Parses "fn(col)" into fn and col. */
static int parse_key(char fn[16], char col[WARD_STORE_NAME_MAX + 1], const char *key) {
    const char *open = strchr(key, '('), *close = strrchr(key, ')');
    if (!open || !close || close < open || close[1] != '\0') return WARD_EPARSE;
    size_t fl = (size_t)(open - key), cl = (size_t)(close - open - 1);
    if (fl == 0 || fl >= 16 || cl == 0 || cl > WARD_STORE_NAME_MAX) return WARD_EPARSE;
    memcpy(fn, key, fl);
    fn[fl] = '\0';
    memcpy(col, open + 1, cl);
    col[cl] = '\0';
    return WARD_OK;
}

int ward_agg_domain(ward_agg_local *out, const char *group_by) {
    WARD_ARG_CHECK(out != NULL && group_by != NULL);
    memset(out, 0, sizeof *out);
    if (group_by[0] == '\0') {
        out->n_groups = 1;
        snprintf(out->labels[0], sizeof out->labels[0], "all");
        return WARD_OK;
    }
    char fn[16], col[WARD_STORE_NAME_MAX + 1];
    if (parse_key(fn, col, group_by) != WARD_OK) return WARD_EPARSE;
    size_t n;
    if (strcmp(fn, "hour") == 0) n = 24;
    else if (strcmp(fn, "weekday") == 0) n = 7;
    else return WARD_EUNSUPPORTED;
    out->n_groups = n;
    for (size_t i = 0; i < n; i++) snprintf(out->labels[i], sizeof out->labels[i], "%zu", i);
    return WARD_OK;
}

static const ward_column_info *find_column(const ward_table_info *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0) return &t->columns[i];
    return NULL;
}

int ward_store_aggregate(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by) {
    WARD_ARG_CHECK(st != NULL && out != NULL && table && column && where && group_by);
    int rc = ward_agg_domain(out, group_by);
    if (rc != WARD_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "group-by key '%s' is not hour(COL) or weekday(COL)",
                 group_by);
        return rc;
    }
    ward_table_info t;
    rc = ward_store_table_info(st, &t, table);
    if (rc != WARD_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "no table '%s'", table);
        return WARD_ENOTFOUND;
    }
    const ward_column_info *vc = NULL;
    if (column[0] != '\0') {
        vc = find_column(&t, column);
        if (!vc) {
            snprintf(st->errmsg, sizeof st->errmsg, "table '%s' has no column '%s'", table, column);
            ward_table_info_clear(&t);
            return WARD_ENOTFOUND;
        }
        if (vc->type != WARD_COLTYPE_INTEGER && vc->type != WARD_COLTYPE_DECIMAL) {
            snprintf(st->errmsg, sizeof st->errmsg, "column '%s.%s' is not numeric", table, column);
            ward_table_info_clear(&t);
            return WARD_EINVAL;
        }
        out->scale = vc->scale;
    }
    char key_sql[128] = "0";
    if (group_by[0] != '\0') {
        char fn[16], col[WARD_STORE_NAME_MAX + 1];
        parse_key(fn, col, group_by);
        const ward_column_info *kc = find_column(&t, col);
        if (!kc || kc->type != WARD_COLTYPE_TIMESTAMP) {
            snprintf(st->errmsg, sizeof st->errmsg, "group-by column '%s.%s' %s", table, col,
                     kc ? "is not a timestamp" : "does not exist");
            ward_table_info_clear(&t);
            return kc ? WARD_EINVAL : WARD_ENOTFOUND;
        }
        /* Identifiers come from the table's own metadata, validated at
         * import, and are quoted; no user text reaches the SQL. */
        snprintf(key_sql, sizeof key_sql, "CAST(strftime('%s', \"%s\") AS INTEGER)",
                 strcmp(fn, "hour") == 0 ? "%H" : "%w", kc->name);
    }
    ward_expr ex;
    memset(&ex, 0, sizeof ex);
    if (where[0] != '\0') {
        rc = ward_expr_compile(&ex, where, &t);
        if (rc != WARD_OK) {
            snprintf(st->errmsg, sizeof st->errmsg, "--where at byte %zu: %s", ex.err_pos, ex.err);
            ward_expr_free(&ex);
            ward_table_info_clear(&t);
            return rc;
        }
    }
    const char *filter = ex.sql ? ex.sql : "1";
    size_t sql_cap = 512 + strlen(filter);
    char *sql = malloc(sql_cap);
    if (!sql) {
        ward_expr_free(&ex);
        ward_table_info_clear(&t);
        return WARD_ENOMEM;
    }
    if (vc)
        snprintf(sql, sql_cap,
                 "SELECT %s AS k, SUM(\"%s\"), COUNT(\"%s\") FROM \"%s\" WHERE k IS NOT NULL "
                 "AND %s GROUP BY k",
                 key_sql, vc->name, vc->name, t.name, filter);
    else
        snprintf(sql, sql_cap,
                 "SELECT %s AS k, 0, COUNT(*) FROM \"%s\" WHERE k IS NOT NULL AND %s GROUP BY k",
                 key_sql, t.name, filter);
    ward_table_info_clear(&t);

    sqlite3_stmt *stmt = NULL;
    int prep = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    free(sql);
    if (prep != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
        ward_expr_free(&ex);
        return WARD_EIO;
    }
    for (size_t i = 0; i < ex.n_params; i++) {
        const ward_param *pa = &ex.params[i];
        int b = (int)i + 1;
        if (pa->type == WARD_PARAM_TEXT) sqlite3_bind_text(stmt, b, pa->text, -1, SQLITE_TRANSIENT);
        else if (pa->type == WARD_PARAM_INT) sqlite3_bind_int64(stmt, b, pa->i);
        else sqlite3_bind_double(stmt, b, pa->r);
    }
    ward_expr_free(&ex);
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(stmt, 0);
        if (k < 0 || (uint64_t)k >= out->n_groups) continue;
        out->sums[k] = sqlite3_column_int64(stmt, 1);
        out->counts[k] = sqlite3_column_int64(stmt, 2);
    }
    rc = WARD_OK;
    if (s != SQLITE_DONE) {
        const char *msg = sqlite3_errmsg(st->db);
        snprintf(st->errmsg, sizeof st->errmsg, "%s", msg);
        rc = strstr(msg, "overflow") ? WARD_EOVERFLOW : WARD_EIO;
    }
    sqlite3_finalize(stmt);
    return rc;
}
