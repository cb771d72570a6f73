#include "store_query.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "query_expr.h"

static const ward_column_info *find_column(const ward_table_info *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0) return &t->columns[i];
    return NULL;
}

typedef struct {
    unsigned scale;
    int64_t lower, upper;
} clamp_spec;

/* At most `rows` rows per value of `column` (ward_store_release). */
typedef struct {
    const char *column;
    uint32_t rows;
} person_spec;

/* The SQL for one row's value: the column itself, or (for a DP release)
 * the column brought to the release's scale and clamped. Only integers
 * from the table's metadata and the caller's bounds reach the text. An
 * overflowing product or difference becomes a REAL in SQLite, beyond every
 * int64 bound, so the clamp still yields a bound. */
static void value_sql(char *out, size_t cap, const ward_column_info *vc, const clamp_spec *cl) {
    if (!cl) {
        snprintf(out, cap, "\"%s\"", vc->name);
        return;
    }
    char scaled[512];
    long long d = 1;
    if (vc->scale < cl->scale) {
        for (unsigned i = vc->scale; i < cl->scale; i++) d *= 10;
        snprintf(scaled, sizeof scaled, "(\"%s\" * %lld)", vc->name, d);
    } else if (vc->scale > cl->scale) {
        for (unsigned i = cl->scale; i < vc->scale; i++) d *= 10;
        snprintf(scaled, sizeof scaled,
                 "(CASE WHEN \"%s\" >= 0 THEN (\"%s\" + %lld) / %lld "
                 "ELSE -((%lld - \"%s\") / %lld) END)",
                 vc->name, vc->name, d / 2, d, d / 2, vc->name, d);
    } else {
        snprintf(scaled, sizeof scaled, "\"%s\"", vc->name);
    }
    snprintf(out, cap, "MAX(%lld, MIN(%lld, %s))", (long long)cl->lower, (long long)cl->upper,
             scaled);
}

static int digits2(const unsigned char *p) {
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9') return -1;
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* hour (0..23) or weekday (0..6, Sunday = 0, as SQLite's %w) of a stored
 * timestamp "YYYY-MM-DD HH:MM:SS[.fff]"; -1 for NULL or anything else. */
static int ts_key(const unsigned char *s, size_t n, int by_hour) {
    if (!s || n < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':') return -1;
    if (by_hour) {
        int h = digits2(s + 11);
        return h >= 0 && h <= 23 ? h : -1;
    }
    int yh = digits2(s), yl = digits2(s + 2), m = digits2(s + 5), d = digits2(s + 8);
    if (yh < 0 || yl < 0 || m < 1 || m > 12 || d < 1 || d > 31) return -1;
    long days = ward_days_from_civil(yh * 100L + yl, m, d); /* 1970-01-01 was a Thursday */
    return (int)(((days + 4) % 7 + 7) % 7);
}

/* Labels found so far, and a hash index over them (open addressing). */
#define SLOTS (2 * WARD_AGG_MAX_GROUPS)
typedef struct {
    int16_t slot[SLOTS]; /* index + 1; 0 empty */
} label_index;

static uint32_t hash_var(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The group of a label: its index, or -1 when absent and not added. */
static long lookup_var(label_index *ix, ward_agg_local *out, const char *label, int add) {
    uint32_t h = hash_var(label) % SLOTS;
    for (;;) {
        int16_t v = ix->slot[h];
        if (v == 0) break;
        if (strcmp(out->labels[v - 1], label) == 0) return v - 1;
        h = (h + 1) % SLOTS;
    }
    if (!add) return -1;
    if (out->n_groups == WARD_AGG_MAX_GROUPS) return -2;
    snprintf(out->labels[out->n_groups], WARD_KEY_LABEL_MAX, "%s", label);
    ix->slot[h] = (int16_t)(out->n_groups + 1);
    return (long)out->n_groups++;
}

/* One part's label of the current row into buf; 0 when the row has none
 * (NULL, malformed, or too long to be any label). */
static int part_label(char *buf, size_t cap, sqlite3_stmt *stmt, int col, const ward_key_part *p,
                      const ward_column_info *c, int64_t width) {
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) return 0;
    if (p->fn == WARD_KEY_BUCKET || (p->fn == WARD_KEY_COLUMN && (c->type == WARD_COLTYPE_INTEGER ||
                                                                  c->type == WARD_COLTYPE_DECIMAL))) {
        int64_t v = sqlite3_column_int64(stmt, col);
        if (p->fn == WARD_KEY_BUCKET) {
            int64_t q = v / width;
            if (v % width != 0 && v < 0) q--;
            v = q * width;
        }
        ward_key_decimal(buf, cap, v, c->scale);
        return 1;
    }
    const unsigned char *s = sqlite3_column_text(stmt, col);
    size_t n = (size_t)sqlite3_column_bytes(stmt, col);
    if (p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY) {
        int k = ts_key(s, n, p->fn == WARD_KEY_HOUR);
        if (k < 0) return 0;
        snprintf(buf, cap, "%d", k);
        return 1;
    }
    if (p->fn == WARD_KEY_DATE) {
        if (ts_key(s, n, 0) < 0) return 0;
        n = 10;
    }
    if (!s || n >= cap) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return 1;
}

static int aggregate(ward_store *st, ward_agg_local *out, const char *table, const char *column,
                     const char *where, const char *group_by, const ward_key_label *domain,
                     size_t n_domain, const clamp_spec *cl, int counts_only, const person_spec *ps) {
    memset(out, 0, sizeof *out);
    ward_group_key key;
    int rc = ward_group_key_parse(&key, st->errmsg, sizeof st->errmsg, group_by);
    if (rc != WARD_OK) return rc;
    if (key.n > 0 && domain && (n_domain == 0 || n_domain > WARD_AGG_MAX_GROUPS)) {
        snprintf(st->errmsg, sizeof st->errmsg, "a domain of %zu groups (1..%d)", n_domain,
                 WARD_AGG_MAX_GROUPS);
        return WARD_EINVAL;
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
        if (!counts_only && vc->type != WARD_COLTYPE_INTEGER && vc->type != WARD_COLTYPE_DECIMAL) {
            snprintf(st->errmsg, sizeof st->errmsg, "column '%s.%s' is not numeric", table, column);
            ward_table_info_clear(&t);
            return WARD_EINVAL;
        }
        out->scale = cl ? cl->scale : vc->scale;
    }
    char person[WARD_STORE_NAME_MAX + 1] = "";
    if (ps) {
        const ward_column_info *pc = find_column(&t, ps->column);
        if (!pc) {
            snprintf(st->errmsg, sizeof st->errmsg,
                     "table '%s' has no column '%s' (the person column of its rows-per-person)",
                     table, ps->column);
            ward_table_info_clear(&t);
            return WARD_ENOTFOUND;
        }
        snprintf(person, sizeof person, "%s", pc->name);
    }
    int64_t widths[WARD_KEY_MAX_PARTS];
    ward_column_info kcols[WARD_KEY_MAX_PARTS];
    rc = ward_group_key_bind(widths, st->errmsg, sizeof st->errmsg, &key, &t);
    if (rc != WARD_OK) {
        ward_table_info_clear(&t);
        return rc;
    }
    /* Identifiers come from the table's own metadata, validated at import,
     * and are quoted; no user text reaches the SQL. */
    char key_sql[3 * (WARD_STORE_NAME_MAX + 4) + 8] = "NULL";
    size_t ko = 0;
    for (size_t i = 0; i < key.n; i++) {
        kcols[i] = *find_column(&t, key.part[i].column);
        ko += (size_t)snprintf(key_sql + ko, sizeof key_sql - ko, "%s\"%s\"", i ? ", " : "",
                               kcols[i].name);
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
    char val_sql[768] = "";
    if (vc && counts_only) snprintf(val_sql, sizeof val_sql, "\"%s\" IS NOT NULL", vc->name);
    else if (vc) value_sql(val_sql, sizeof val_sql, vc, cl);
    size_t sql_cap = 1280 + sizeof key_sql + strlen(filter);
    char *sql = malloc(sql_cap);
    label_index *ix = calloc(1, sizeof *ix);
    if (!sql || !ix) {
        free(sql);
        free(ix);
        ward_expr_free(&ex);
        ward_table_info_clear(&t);
        return WARD_ENOMEM;
    }
    if (ps)
        /* Each person's first rows (in the table's order) among those the
         * filter keeps; rows without a person (NULL) count as one. */
        snprintf(sql, sql_cap,
                 "SELECT %s, %s FROM (SELECT *, row_number() OVER (PARTITION BY \"%s\" ORDER BY "
                 "rowid) AS ward_person_row FROM \"%s\" WHERE %s) WHERE ward_person_row <= %u",
                 vc ? val_sql : "0", key_sql, person, t.name, filter, ps->rows);
    else
        snprintf(sql, sql_cap, "SELECT %s, %s FROM \"%s\" WHERE %s", vc ? val_sql : "0", key_sql,
                 t.name, filter);
    ward_table_info_clear(&t);

    /* The groups: one, the declared domain, or collected as found. */
    int collect = key.n > 0 && !domain;
    if (key.n == 0) {
        out->n_groups = 1;
        snprintf(out->labels[0], WARD_KEY_LABEL_MAX, "all");
    }
    for (size_t g = 0; key.n > 0 && domain && g < n_domain; g++) {
        long at = lookup_var(ix, out, domain[g], 1);
        if (at != (long)g) {
            snprintf(st->errmsg, sizeof st->errmsg, "domain label '%s' is %s", domain[g],
                     at >= 0 ? "listed twice" : "not a label");
            free(sql);
            free(ix);
            ward_expr_free(&ex);
            return WARD_EINVAL;
        }
    }
    /* The common case, hour or weekday alone over its whole domain in
     * order, indexes groups directly: no label is formatted or hashed. */
    int direct = key.n == 1 && (key.part[0].fn == WARD_KEY_HOUR || key.part[0].fn == WARD_KEY_WEEKDAY) &&
                 domain && n_domain == (key.part[0].fn == WARD_KEY_HOUR ? 24u : 7u);
    for (size_t g = 0; direct && g < n_domain; g++) {
        char want[24];
        snprintf(want, sizeof want, "%zu", g);
        direct = strcmp(domain[g], want) == 0;
    }

    sqlite3_stmt *stmt = NULL;
    int prep = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    free(sql);
    if (prep != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
        free(ix);
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
    int s = SQLITE_DONE;
    rc = WARD_OK;
    char label[WARD_KEY_LABEL_MAX];
    /* As SUM(value) and COUNT(value) (COUNT(*) for a count) per key would:
     * rows whose key or value is NULL are skipped. */
    while (rc == WARD_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        long k = 0;
        if (direct) {
            k = ts_key(sqlite3_column_text(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1),
                       key.part[0].fn == WARD_KEY_HOUR);
            if (k < 0 || (size_t)k >= out->n_groups) continue;
        } else if (key.n > 0) {
            size_t off = 0;
            int ok = 1;
            for (size_t i = 0; ok && i < key.n; i++) {
                if (i) label[off++] = '/';
                ok = off < sizeof label &&
                     part_label(label + off, sizeof label - off, stmt, (int)i + 1, &key.part[i],
                                &kcols[i], widths[i]);
                if (ok) off += strlen(label + off);
                ok = ok && off < sizeof label - 1;
            }
            if (!ok) continue;
            k = lookup_var(ix, out, label, collect);
            if (k == -2) {
                snprintf(st->errmsg, sizeof st->errmsg,
                         "the data hold more than %d groups of '%s'; declare a domain or use a "
                         "coarser key",
                         WARD_AGG_MAX_GROUPS, group_by);
                rc = WARD_ETOOBIG;
                break;
            }
            if (k < 0) continue;
        }
        if (vc && counts_only) {
            if (sqlite3_column_int(stmt, 0) == 0) continue;
        } else if (vc) {
            if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) continue;
            if (__builtin_add_overflow(out->sums[k], sqlite3_column_int64(stmt, 0), &out->sums[k])) {
                snprintf(st->errmsg, sizeof st->errmsg, "integer overflow");
                rc = WARD_EOVERFLOW;
            }
        }
        out->counts[k]++;
    }
    if (rc != WARD_OK) {
        /* reported above */
    } else if (s != SQLITE_DONE) {
        const char *msg = sqlite3_errmsg(st->db);
        snprintf(st->errmsg, sizeof st->errmsg, "%s", msg);
        rc = strstr(msg, "overflow") ? WARD_EOVERFLOW : WARD_EIO;
    }
    sqlite3_finalize(stmt);
    free(ix);
    return rc;
}

int ward_store_aggregate(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by,
                         const ward_key_label *domain, size_t n_domain) {
    WARD_ARG_CHECK(st != NULL && out != NULL && table && column && where && group_by);
    return aggregate(st, out, table, column, where, group_by, domain, n_domain, NULL, 0, NULL);
}

int ward_store_histogram(ward_store *st, ward_agg_local *out, const char *table,
                         const char *column, const char *where, const char *group_by,
                         const ward_key_label *domain, size_t n_domain) {
    WARD_ARG_CHECK(st != NULL && out != NULL && table && column && where && group_by);
    return aggregate(st, out, table, column, where, group_by, domain, n_domain, NULL, 1, NULL);
}

int ward_store_aggregate_clamped(ward_store *st, ward_agg_local *out, const char *table,
                                 const char *column, const char *where, const char *group_by,
                                 const ward_key_label *domain, size_t n_domain, unsigned scale,
                                 int64_t lower, int64_t upper) {
    WARD_ARG_CHECK(st != NULL && out != NULL && table && column && where && group_by);
    WARD_ARG_CHECK(lower <= upper && scale <= 18);
    clamp_spec cl = {scale, lower, upper};
    return aggregate(st, out, table, column, where, group_by, domain, n_domain, &cl, 0, NULL);
}

int ward_store_aggregate_release(ward_store *st, ward_agg_local *out, const char *table,
                                 const char *column, const char *where, const char *group_by,
                                 const ward_key_label *domain, size_t n_domain,
                                 const ward_store_release *r) {
    WARD_ARG_CHECK(st != NULL && out != NULL && table && column && where && group_by && r != NULL);
    WARD_ARG_CHECK(!r->clamped || (r->lower <= r->upper && r->scale <= 18));
    WARD_ARG_CHECK(!(r->clamped && r->histogram));
    WARD_ARG_CHECK(!r->person || r->person_rows >= 1);
    clamp_spec cl = {r->scale, r->lower, r->upper};
    person_spec ps = {r->person, r->person_rows};
    return aggregate(st, out, table, column, where, group_by, domain, n_domain,
                     r->clamped ? &cl : NULL, r->histogram, r->person ? &ps : NULL);
}

int ward_store_default_domain(ward_store *st, ward_key_label *labels, size_t *n, int *open,
                              const char *table, const char *group_by) {
    WARD_ARG_CHECK(st != NULL && labels != NULL && n != NULL && open != NULL && table && group_by);
    *n = 0;
    *open = 0;
    ward_group_key key;
    int rc = ward_group_key_parse(&key, st->errmsg, sizeof st->errmsg, group_by);
    if (rc != WARD_OK) return rc;
    ward_table_info t;
    if (ward_store_table_info(st, &t, table) != WARD_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "no table '%s'", table);
        return WARD_ENOTFOUND;
    }
    rc = ward_group_domain_expand(labels, n, open, WARD_AGG_MAX_GROUPS, st->errmsg,
                                  sizeof st->errmsg, &key, &t, NULL, 0);
    ward_table_info_clear(&t);
    return rc;
}

int ward_store_column_max(ward_store *st, int64_t *max, int *found, unsigned *scale,
                          const char *table, const char *column, const char *where) {
    WARD_ARG_CHECK(st != NULL && max != NULL && found != NULL && scale != NULL && table &&
                   column && where);
    *max = 0;
    *found = 0;
    *scale = 0;
    ward_table_info t;
    if (ward_store_table_info(st, &t, table) != WARD_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "no table '%s'", table);
        return WARD_ENOTFOUND;
    }
    const ward_column_info *vc = find_column(&t, column);
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
    *scale = vc->scale;
    ward_expr ex;
    memset(&ex, 0, sizeof ex);
    int rc = WARD_OK;
    if (where[0] != '\0') {
        rc = ward_expr_compile(&ex, where, &t);
        if (rc != WARD_OK) {
            snprintf(st->errmsg, sizeof st->errmsg, "--where at byte %zu: %s", ex.err_pos, ex.err);
            ward_expr_free(&ex);
            ward_table_info_clear(&t);
            return rc;
        }
    }
    /* Identifiers come from the table's metadata (validated at import) and
     * are quoted; the expression's values are bound parameters. */
    const char *filter = ex.sql ? ex.sql : "1";
    size_t cap = 256 + 2 * WARD_STORE_NAME_MAX + strlen(filter);
    char *sql = malloc(cap);
    if (!sql) {
        ward_expr_free(&ex);
        ward_table_info_clear(&t);
        return WARD_ENOMEM;
    }
    snprintf(sql, cap, "SELECT MAX(\"%s\") FROM \"%s\" WHERE %s", vc->name, t.name, filter);
    ward_table_info_clear(&t);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
        free(sql);
        ward_expr_free(&ex);
        return WARD_EIO;
    }
    free(sql);
    for (size_t i = 0; i < ex.n_params; i++) {
        const ward_param *pa = &ex.params[i];
        int b = (int)i + 1;
        if (pa->type == WARD_PARAM_TEXT) sqlite3_bind_text(stmt, b, pa->text, -1, SQLITE_TRANSIENT);
        else if (pa->type == WARD_PARAM_INT) sqlite3_bind_int64(stmt, b, pa->i);
        else sqlite3_bind_double(stmt, b, pa->r);
    }
    ward_expr_free(&ex);
    int sr = sqlite3_step(stmt);
    if (sr == SQLITE_ROW) {
        if (sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
            *max = sqlite3_column_int64(stmt, 0);
            *found = 1;
        }
    } else {
        snprintf(st->errmsg, sizeof st->errmsg, "%s", sqlite3_errmsg(st->db));
        rc = WARD_EIO;
    }
    sqlite3_finalize(stmt);
    return rc;
}
