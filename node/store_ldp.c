/* Local-DP report tables (store_ldp.h). Storage-layer code: it uses the
 * store's SQLite handle, like audit.c and ledger.c. */
#include "store_ldp.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "error.h"
#include "ldp_report.h"

static const char ldp_schema[] =
    "CREATE TABLE IF NOT EXISTS ward_ldp_tables(\n"
    "  name TEXT PRIMARY KEY NOT NULL REFERENCES ward_tables(name) ON DELETE CASCADE,\n"
    "  mech TEXT NOT NULL CHECK (mech IN ('rr', 'oue', 'olh')),\n"
    "  epsilon REAL NOT NULL CHECK (epsilon > 0),\n"
    "  domain INTEGER NOT NULL CHECK (domain >= 2),\n"
    "  hash_range INTEGER NOT NULL CHECK (hash_range >= 0)) STRICT;\n";

__attribute__((format(printf, 2, 3)))
static void set_msg(ward_store *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

static int db_fail(ward_store *st, int s) {
    set_msg(st, "database: %s", sqlite3_errmsg(st->db));
    return s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
}

/* The store's rule for table names (store.h, ward_store_import). */
static int valid_table_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WARD_STORE_NAME_MAX || s[0] < 'a' || s[0] > 'z') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return strncmp(s, "ward_", 5) != 0 && strncmp(s, "sqlite_", 7) != 0;
}

__attribute__((format(printf, 5, 6)))
static void add_error(ward_import_report *r, int code, uint64_t line, const char *column,
                      const char *fmt, ...) {
    r->error_count++;
    if (r->nerrors >= WARD_IMPORT_MAX_ERRORS) return;
    ward_import_error *e = &r->errors[r->nerrors++];
    e->code = code;
    e->line = line;
    snprintf(e->column, sizeof e->column, "%s", column ? column : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
}

static int exec(ward_store *st, const char *sql) {
    char *err = NULL;
    int s = sqlite3_exec(st->db, sql, NULL, NULL, &err);
    if (s != SQLITE_OK) {
        set_msg(st, "database: %s", err ? err : sqlite3_errstr(s));
        sqlite3_free(err);
        return s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
    }
    return WARD_OK;
}

static int read_info(ward_store *st, ward_ldp_table_info *info, const char *table) {
    memset(info, 0, sizeof *info);
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db,
                               "SELECT l.mech, l.epsilon, l.domain, l.hash_range, t.row_count,"
                               " t.sensitivity FROM ward_ldp_tables l JOIN ward_tables t"
                               " ON t.name = l.name WHERE l.name = ?",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) {
        /* No ward_ldp_tables yet: no report table at all. */
        if (sqlite3_errcode(st->db) == SQLITE_ERROR &&
            strstr(sqlite3_errmsg(st->db), "no such table") != NULL) {
            set_msg(st, "'%s' is not a table of local-DP reports", table);
            return WARD_ENOTFOUND;
        }
        return db_fail(st, s);
    }
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    s = sqlite3_step(stmt);
    int rc = WARD_OK;
    if (s == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(stmt, 0);
        const char *sens = (const char *)sqlite3_column_text(stmt, 5);
        int64_t dom = sqlite3_column_int64(stmt, 2), g = sqlite3_column_int64(stmt, 3);
        int64_t rows = sqlite3_column_int64(stmt, 4);
        info->epsilon = sqlite3_column_double(stmt, 1);
        if (m == NULL || ward_ldp_mech_parse(&info->mech, m) != WARD_OK || sens == NULL ||
            ward_sensitivity_parse(&info->sensitivity, sens) != WARD_OK || dom < 2 ||
            dom > (int64_t)WARD_LDP_MAX_DOMAIN || g < 0 || g > UINT32_MAX || rows < 0 ||
            !(info->epsilon > 0) || !(info->epsilon <= WARD_LDP_MAX_EPSILON)) {
            set_msg(st, "the local-DP metadata of table '%s' is invalid", table);
            rc = WARD_EPARSE;
        } else {
            info->domain = (uint32_t)dom;
            info->g = (uint32_t)g;
            info->reports = (uint64_t)rows;
        }
    } else if (s == SQLITE_DONE) {
        set_msg(st, "'%s' is not a table of local-DP reports", table);
        rc = WARD_ENOTFOUND;
    } else {
        rc = db_fail(st, s);
    }
    sqlite3_finalize(stmt);
    return rc;
}

int ward_store_ldp_info(ward_store *st, ward_ldp_table_info *info, const char *table) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && info != NULL && table != NULL);
    return read_info(st, info, table);
}

/* Creates the report table, its ward_tables and ward_columns rows. */
static int create_table(ward_store *st, const char *table, const ward_ldp_format *f,
                        ward_sensitivity sens, int64_t now_ms) {
    char sql[256];
    /* table matches [a-z][a-z0-9_]*: quoting it is enough. */
    snprintf(sql, sizeof sql, "CREATE TABLE \"%s\" (%s) STRICT", table,
             f->mech == WARD_LDP_GRR   ? "report INTEGER"
             : f->mech == WARD_LDP_OUE ? "report TEXT"
                                       : "seed TEXT, report INTEGER");
    int rc = exec(st, sql);
    if (rc) return rc;
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db,
                               "INSERT INTO ward_tables(name, sensitivity, row_count, created_ms,"
                               " updated_ms) VALUES (?, ?, 0, ?, ?)",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(st, s);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ward_sensitivity_name(sens), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, now_ms);
    sqlite3_bind_int64(stmt, 4, now_ms);
    s = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (s != SQLITE_DONE) return db_fail(st, s);

    s = sqlite3_prepare_v2(st->db,
                           "INSERT INTO ward_columns(table_name, position, name, source, type,"
                           " scale, min, max) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                           -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(st, s);
    struct {
        const char *name, *type;
        int64_t max; /* -1: no bounds */
    } cols[2];
    size_t n = 0;
    if (f->mech == WARD_LDP_GRR) {
        cols[n++] = (typeof(cols[0])){"report", "integer", (int64_t)f->d - 1};
    } else if (f->mech == WARD_LDP_OUE) {
        cols[n++] = (typeof(cols[0])){"report", "text", -1};
    } else {
        cols[n++] = (typeof(cols[0])){"seed", "text", -1};
        cols[n++] = (typeof(cols[0])){"report", "integer", (int64_t)f->g - 1};
    }
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
        sqlite3_bind_text(stmt, 3, cols[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, cols[i].name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, cols[i].type, -1, SQLITE_STATIC);
        if (cols[i].max >= 0) {
            sqlite3_bind_int64(stmt, 6, 0);
            sqlite3_bind_int64(stmt, 7, cols[i].max);
        } else {
            sqlite3_bind_null(stmt, 6);
            sqlite3_bind_null(stmt, 7);
        }
        s = sqlite3_step(stmt);
        if (s != SQLITE_DONE) rc = db_fail(st, s);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc) return rc;

    return WARD_OK;
}

static int insert_meta(ward_store *st, const char *table, const ward_ldp_format *f, double eps) {
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db,
                               "INSERT INTO ward_ldp_tables(name, mech, epsilon, domain, hash_range)"
                               " VALUES (?, ?, ?, ?, ?)",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(st, s);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ward_ldp_mech_name(f->mech), -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 3, eps);
    sqlite3_bind_int64(stmt, 4, f->d);
    sqlite3_bind_int64(stmt, 5, f->g);
    s = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return s == SQLITE_DONE ? WARD_OK : db_fail(st, s);
}

static void summarize(ward_import_report *r, const char *table) {
    if (r->nerrors == 0) return;
    const ward_import_error *e = &r->errors[0];
    char where[48] = "";
    if (e->line) snprintf(where, sizeof where, "line %" PRIu64 ": ", e->line);
    char more[48] = "";
    if (r->error_count > 1)
        snprintf(more, sizeof more, " (and %" PRIu64 " more error%s)", r->error_count - 1,
                 r->error_count == 2 ? "" : "s");
    snprintf(r->message, sizeof r->message, "import of reports into '%s' refused: %s%s%s", table,
             where, e->reason, more);
}

/* Reads the report file line by line; inserts while no error has been
 * seen, and after the first error only checks (so that every error is
 * counted, as a CSV import does). */
static int read_reports(ward_store *st, ward_import_report *r, uint64_t *rows, FILE *in,
                        const ward_ldp_format *f, sqlite3_stmt *ins) {
    ward_ldp_report rep;
    memset(&rep, 0, sizeof rep);
    if (f->mech == WARD_LDP_OUE) {
        rep.bits = malloc(f->d);
        if (rep.bits == NULL) return WARD_ENOMEM;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0;
    int rc = WARD_OK;
    char seed[24];
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t n = (size_t)len;
        if (n > 0 && line[n - 1] == '\n') n--;
        if (n > 0 && line[n - 1] == '\r') n--;
        const char *why = NULL;
        int prc = ward_ldp_report_parse(&rep, &why, f, line, n);
        if (prc != WARD_OK) {
            add_error(r, prc, lineno, f->mech == WARD_LDP_OLH ? "" : "report", "%s", why);
            continue;
        }
        if (r->error_count > 0) continue;
        if (f->mech == WARD_LDP_GRR) {
            sqlite3_bind_int64(ins, 1, rep.y);
        } else if (f->mech == WARD_LDP_OUE) {
            sqlite3_bind_text(ins, 1, line, (int)n, SQLITE_STATIC);
        } else {
            snprintf(seed, sizeof seed, "%" PRIu64, rep.seed);
            sqlite3_bind_text(ins, 1, seed, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, rep.y);
        }
        int s = sqlite3_step(ins);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        if (s != SQLITE_DONE) {
            rc = db_fail(st, s);
            add_error(r, rc, 0, NULL, "%s", st->errmsg);
            break;
        }
        (*rows)++;
    }
    if (rc == WARD_OK && ferror(in)) {
        rc = WARD_EIO;
        add_error(r, rc, 0, NULL, "read error: %s", strerror(errno));
    }
    if (rc == WARD_OK && r->error_count == 0 && lineno == 0) {
        rc = WARD_EPARSE;
        add_error(r, rc, 0, NULL, "the file holds no report");
    }
    if (rc == WARD_OK && r->error_count > 0) rc = r->errors[0].code;
    free(line);
    free(rep.bits);
    return rc;
}

int ward_store_ldp_import(ward_store *st, ward_import_report *report, const char *table,
                          const char *path, ward_ldp_mech mech, double eps, uint32_t d,
                          ward_sensitivity sensitivity, int64_t now_ms) {
    WARD_ARG_CHECK(report != NULL);
    memset(report, 0, sizeof *report);
    WARD_ARG_CHECK(st != NULL && st->db != NULL && table != NULL && path != NULL);
    WARD_ARG_CHECK(sensitivity >= WARD_SENSITIVITY_DEFAULT && sensitivity <= WARD_SENSITIVITY_LOW);
    ward_ldp_format f;
    int rc = ward_ldp_format_init(&f, mech, eps, d);
    if (rc != WARD_OK) {
        add_error(report, rc, 0, NULL, "bad mechanism, epsilon (0, %g] or domain [2, %" PRIu32 "]",
                  WARD_LDP_MAX_EPSILON, WARD_LDP_MAX_DOMAIN);
        goto out;
    }
    if (!valid_table_name(table)) {
        rc = WARD_EPARSE;
        add_error(report, rc, 0, NULL,
                  "table name must match [a-z][a-z0-9_]{0,62} and not start with ward_ or sqlite_");
        goto out;
    }
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        rc = errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
        add_error(report, rc, 0, NULL, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    int own = !ward_store_in_transaction(st);
    rc = exec(st, own ? "BEGIN IMMEDIATE" : "SAVEPOINT ward_ldp_import");
    if (rc == WARD_OK) rc = exec(st, ldp_schema);
    int exists = 0, created = 0;
    uint64_t before = 0, rows = 0;
    if (rc == WARD_OK) {
        ward_table_info ti;
        int trc = ward_store_table_info(st, &ti, table);
        if (trc == WARD_OK) {
            exists = 1;
            before = ti.rows;
            ward_sensitivity cls = ti.sensitivity;
            ward_table_info_clear(&ti);
            ward_ldp_table_info li;
            int lrc = read_info(st, &li, table);
            if (lrc == WARD_ENOTFOUND) {
                rc = WARD_ESTATE;
                add_error(report, rc, 0, NULL,
                          "table '%s' exists and is not a table of local-DP reports", table);
            } else if (lrc != WARD_OK) {
                rc = lrc;
                add_error(report, rc, 0, NULL, "%s", st->errmsg);
            } else if (li.mech != mech || li.epsilon != eps || li.domain != d) {
                rc = WARD_ESTATE;
                add_error(report, rc, 0, NULL,
                          "table '%s' holds %s reports at epsilon %.17g over domain %" PRIu32
                          "; these are %s at epsilon %.17g over %" PRIu32
                          " (one table, one mechanism)",
                          table, ward_ldp_mech_name(li.mech), li.epsilon, li.domain,
                          ward_ldp_mech_name(mech), eps, d);
            } else if (sensitivity != WARD_SENSITIVITY_DEFAULT && sensitivity != cls) {
                rc = WARD_ESTATE;
                add_error(report, rc, 0, NULL,
                          "table '%s' is in class %s; an import cannot move it to %s", table,
                          ward_sensitivity_name(cls), ward_sensitivity_name(sensitivity));
            }
        } else if (trc == WARD_ENOTFOUND) {
            ward_sensitivity cls =
                sensitivity == WARD_SENSITIVITY_DEFAULT ? WARD_SENSITIVITY_MEDIUM : sensitivity;
            rc = create_table(st, table, &f, cls, now_ms);
            if (rc == WARD_OK) rc = insert_meta(st, table, &f, eps);
            created = rc == WARD_OK;
            if (rc) add_error(report, rc, 0, NULL, "%s", st->errmsg);
        } else {
            rc = trc;
            add_error(report, rc, 0, NULL, "database: %s", ward_store_errmsg(st));
        }
    } else {
        add_error(report, rc, 0, NULL, "%s", st->errmsg);
    }
    if (rc == WARD_OK) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO \"%s\" (%s) VALUES (%s)", table,
                 mech == WARD_LDP_OLH ? "seed, report" : "report",
                 mech == WARD_LDP_OLH ? "?, ?" : "?");
        sqlite3_stmt *ins = NULL;
        int s = sqlite3_prepare_v2(st->db, sql, -1, &ins, NULL);
        if (s != SQLITE_OK) {
            rc = db_fail(st, s);
            add_error(report, rc, 0, NULL, "%s", st->errmsg);
        } else {
            rc = read_reports(st, report, &rows, in, &f, ins);
            sqlite3_finalize(ins);
        }
    }
    fclose(in);
    if (rc == WARD_OK) {
        sqlite3_stmt *up = NULL;
        int s = sqlite3_prepare_v2(st->db,
                                   "UPDATE ward_tables SET row_count = row_count + ?,"
                                   " updated_ms = ? WHERE name = ?",
                                   -1, &up, NULL);
        if (s == SQLITE_OK) {
            sqlite3_bind_int64(up, 1, (sqlite3_int64)rows);
            sqlite3_bind_int64(up, 2, now_ms);
            sqlite3_bind_text(up, 3, table, -1, SQLITE_STATIC);
            s = sqlite3_step(up);
            sqlite3_finalize(up);
        }
        if (s != SQLITE_DONE && s != SQLITE_OK) rc = db_fail(st, s);
        if (rc == WARD_OK) rc = exec(st, own ? "COMMIT" : "RELEASE ward_ldp_import");
        if (rc) add_error(report, rc, 0, NULL, "%s", st->errmsg);
    }
    if (rc) {
        if (own) {
            if (ward_store_in_transaction(st)) (void)exec(st, "ROLLBACK");
        } else if (ward_store_in_transaction(st)) {
            (void)exec(st, "ROLLBACK TO ward_ldp_import");
            (void)exec(st, "RELEASE ward_ldp_import");
        }
    } else {
        report->rows_imported = rows;
        report->rows_total = before + rows;
        report->created = created;
    }
    (void)exists;
out:
    if (rc) {
        summarize(report, table);
        snprintf(st->errmsg, sizeof st->errmsg, "%s", report->message);
        report->rows_imported = 0;
    }
    return rc;
}

int ward_store_ldp_counts(ward_store *st, ward_ldp_est *e, const char *table) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && e != NULL && table != NULL);
    ward_ldp_table_info info;
    int rc = read_info(st, &info, table);
    if (rc) return rc;
    if (info.mech != e->mech || info.epsilon != e->eps || info.domain != e->d) return WARD_EINVAL;
    ward_ldp_format f;
    rc = ward_ldp_format_init(&f, info.mech, info.epsilon, info.domain);
    if (rc) return rc;
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT rowid, %s FROM \"%s\" ORDER BY rowid",
             f.mech == WARD_LDP_OLH ? "seed, report" : "report", table);
    sqlite3_stmt *stmt = NULL;
    int s = sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(st, s);
    ward_ldp_report rep;
    memset(&rep, 0, sizeof rep);
    if (f.mech == WARD_LDP_OUE && (rep.bits = malloc(f.d)) == NULL) {
        sqlite3_finalize(stmt);
        return WARD_ENOMEM;
    }
    char buf[WARD_LDP_REPORT_MAX_SHORT + 1];
    while (rc == WARD_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(stmt, 0);
        int prc = WARD_EPARSE;
        if (f.mech == WARD_LDP_GRR) {
            if (sqlite3_column_type(stmt, 1) == SQLITE_INTEGER) {
                int64_t y = sqlite3_column_int64(stmt, 1);
                int n = snprintf(buf, sizeof buf, "%" PRId64, y);
                prc = ward_ldp_report_parse(&rep, NULL, &f, buf, (size_t)n);
            }
        } else if (f.mech == WARD_LDP_OUE) {
            const char *t = (const char *)sqlite3_column_text(stmt, 1);
            if (t) prc = ward_ldp_report_parse(&rep, NULL, &f, t, (size_t)sqlite3_column_bytes(stmt, 1));
        } else {
            const char *t = (const char *)sqlite3_column_text(stmt, 1);
            if (t && sqlite3_column_type(stmt, 2) == SQLITE_INTEGER) {
                int n = snprintf(buf, sizeof buf, "%.24s,%" PRId64, t, (int64_t)sqlite3_column_int64(stmt, 2));
                if (n > 0 && (size_t)n < sizeof buf)
                    prc = ward_ldp_report_parse(&rep, NULL, &f, buf, (size_t)n);
            }
        }
        if (prc == WARD_OK) prc = ward_ldp_report_add(e, &f, &rep);
        if (prc != WARD_OK) {
            set_msg(st, "table '%s', row %" PRId64 ": not a valid %s report (the database was "
                        "altered?)", table, rowid, ward_ldp_mech_name(f.mech));
            rc = WARD_EPARSE;
        }
    }
    if (rc == WARD_OK && s != SQLITE_DONE) rc = db_fail(st, s);
    sqlite3_finalize(stmt);
    free(rep.bits);
    return rc;
}

int ward_store_ldp_is_report_table(ward_store *st, const char *table) {
    if (st == NULL || st->db == NULL || table == NULL) return 0;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM ward_ldp_tables WHERE name = ?", -1, &stmt,
                           NULL) != SQLITE_OK)
        return 0; /* no ward_ldp_tables: no report table */
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    int yes = sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return yes;
}
