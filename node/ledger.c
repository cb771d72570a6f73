/* The privacy ledger (ledger.h). Storage-layer code: it uses the store's
 * SQLite handle, like audit.c. */
#include "ledger.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "error.h"
#include "json_read.h"

static const char ledger_schema[] =
    "CREATE TABLE IF NOT EXISTS ward_ledger(\n"
    "  seq INTEGER PRIMARY KEY CHECK (seq >= 1),\n"
    "  session TEXT NOT NULL UNIQUE,\n"
    "  table_name TEXT NOT NULL,\n"
    "  class TEXT NOT NULL CHECK (class IN ('high', 'medium', 'low')),\n"
    "  unit TEXT NOT NULL CHECK (unit = 'rho'),\n"
    "  amount REAL NOT NULL CHECK (amount > 0),\n"
    "  epsilon REAL NOT NULL,\n"
    "  delta REAL NOT NULL,\n"
    "  audit_seq INTEGER NOT NULL UNIQUE) STRICT;\n"
    "CREATE INDEX IF NOT EXISTS ward_ledger_by_class ON ward_ledger(class, seq);\n";

static const char *class_names[WARD_LEDGER_CLASSES] = {"high", "medium", "low"};

const char *ward_ledger_class_name(ward_dp_class cls) {
    return (unsigned)cls < WARD_LEDGER_CLASSES ? class_names[cls] : "?";
}

int ward_ledger_class_parse(ward_dp_class *cls, const char *name) {
    for (int i = 0; i < WARD_LEDGER_CLASSES; i++) {
        if (strcmp(name, class_names[i]) == 0) {
            *cls = (ward_dp_class)i;
            return WARD_OK;
        }
    }
    return WARD_EPARSE;
}

static void set_msg(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_msg(char *buf, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static int db_fail(ward_ledger *l, int s) {
    set_msg(l->msg, sizeof l->msg, "ledger: %s", sqlite3_errmsg(l->st->db));
    return s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
}

/* Sums that only ever round up: a total spent is an upper bound. */
static double add_up(double a, double b) { return nextafter(a + b, INFINITY); }

const char *ward_ledger_problem(const ward_ledger *l) {
    return l && l->broken ? l->problem : NULL;
}

double ward_ledger_spent(const ward_ledger *l, ward_dp_class cls) {
    return (unsigned)cls < WARD_LEDGER_CLASSES ? l->spent[cls] : 0;
}

/* ---- verification on open ------------------------------------------------ */

typedef struct {
    uint64_t audit_seq, ledger_seq;
    char session[WARD_AUDIT_SESSION_MAX + 1];
    char table[WARD_STORE_NAME_MAX + 1];
    ward_dp_class cls;
    double rho;
} spend_rec;

typedef struct {
    spend_rec *v;
    size_t n, cap;
    uint64_t bad_seq;     /* an audit spend entry that could not be read */
    int rc;
} spend_list;

static int parse_spend(spend_rec *r, const ward_audit_entry *e) {
    ward_json_doc doc;
    if (ward_json_parse(&doc, e->details, e->details_len) != WARD_OK) return WARD_EPARSE;
    int rc = WARD_EPARSE;
    size_t i;
    const char *s;
    size_t len;
    if (ward_json_type_of(&doc, 0) != WARD_JSON_OBJECT) goto done;
    if (ward_json_object_get(&doc, &i, 0, "ledger_seq") || ward_json_get_u64(&doc, &r->ledger_seq, i))
        goto done;
    if (ward_json_object_get(&doc, &i, 0, "table") || !(s = ward_json_string(&doc, i, &len)) ||
        len == 0 || len > WARD_STORE_NAME_MAX || strlen(s) != len)
        goto done;
    memcpy(r->table, s, len + 1);
    if (ward_json_object_get(&doc, &i, 0, "class") || !(s = ward_json_string(&doc, i, NULL)) ||
        ward_ledger_class_parse(&r->cls, s) != WARD_OK)
        goto done;
    if (ward_json_object_get(&doc, &i, 0, "unit") || !(s = ward_json_string(&doc, i, NULL)) ||
        strcmp(s, "rho") != 0)
        goto done;
    if (ward_json_object_get(&doc, &i, 0, "rho") || ward_json_get_double(&doc, &r->rho, i) ||
        !isfinite(r->rho) || r->rho <= 0)
        goto done;
    if (strlen(e->session) > WARD_AUDIT_SESSION_MAX) goto done;
    snprintf(r->session, sizeof r->session, "%s", e->session);
    r->audit_seq = e->seq;
    rc = WARD_OK;
done:
    ward_json_free(&doc);
    return rc;
}

static int collect_spend(void *ctx, const ward_audit_entry *e) {
    spend_list *l = ctx;
    if (strcmp(e->kind, "spend") != 0) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        spend_rec *v = realloc(l->v, cap * sizeof *v);
        if (!v) return WARD_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (parse_spend(&l->v[l->n], e) != WARD_OK) {
        l->bad_seq = e->seq;
        return 1; /* stop: the entry is not one the ledger wrote */
    }
    l->n++;
    return 0;
}

static int broken(ward_ledger *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int broken(ward_ledger *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->problem, sizeof l->problem, fmt, ap);
    va_end(ap);
    l->broken = 1;
    snprintf(l->msg, sizeof l->msg, "%s", l->problem);
    return WARD_ESTATE;
}

static int verify(ward_ledger *l) {
    ward_audit_report rep;
    int rc = ward_audit_verify(l->st, &rep);
    if (rc != WARD_OK) {
        set_msg(l->msg, sizeof l->msg, "ledger: cannot read the audit log: %s", ward_store_errmsg(l->st));
        return rc;
    }
    if (!rep.intact)
        return broken(l, "the audit log is not intact (entry %llu: %s), so the privacy ledger "
                         "cannot be trusted; no releases until it is restored",
                      (unsigned long long)rep.first_bad_seq, rep.reason);
    spend_list sl = {0};
    rc = ward_audit_list(l->st, 0, 0, collect_spend, &sl);
    if (rc < 0) {
        free(sl.v);
        set_msg(l->msg, sizeof l->msg, "ledger: cannot read the audit log: %s", ward_store_errmsg(l->st));
        return rc;
    }
    if (sl.bad_seq) {
        free(sl.v);
        return broken(l, "audit entry %llu is a spend the ledger cannot read",
                      (unsigned long long)sl.bad_seq);
    }
    sqlite3_stmt *stmt;
    int s = sqlite3_prepare_v2(l->st->db,
                               "SELECT seq, session, table_name, class, unit, amount, audit_seq "
                               "FROM ward_ledger ORDER BY seq",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) {
        free(sl.v);
        return db_fail(l, s);
    }
    size_t k = 0;
    rc = WARD_OK;
    uint64_t last = 0;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW && rc == WARD_OK) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 0);
        const char *sess = (const char *)sqlite3_column_text(stmt, 1);
        const char *tab = (const char *)sqlite3_column_text(stmt, 2);
        const char *cls = (const char *)sqlite3_column_text(stmt, 3);
        double amount = sqlite3_column_double(stmt, 5);
        uint64_t aseq = (uint64_t)sqlite3_column_int64(stmt, 6);
        if (k >= sl.n) {
            rc = broken(l, "ledger row %llu (session %.16s) has no spend entry in the audit log",
                        (unsigned long long)seq, sess ? sess : "?");
            break;
        }
        const spend_rec *a = &sl.v[k];
        if (seq > a->ledger_seq) {
            rc = broken(l, "audit entry %llu records a spend (ledger row %llu, session %.16s, table "
                           "%s, rho %.17g) that the ledger lacks",
                        (unsigned long long)a->audit_seq, (unsigned long long)a->ledger_seq,
                        a->session, a->table, a->rho);
            break;
        }
        if (seq < a->ledger_seq) {
            rc = broken(l, "ledger row %llu (session %.16s) has no spend entry in the audit log",
                        (unsigned long long)seq, sess ? sess : "?");
            break;
        }
        ward_dp_class c;
        if (!sess || !tab || !cls || ward_ledger_class_parse(&c, cls) != WARD_OK || seq != a->ledger_seq ||
            aseq != a->audit_seq || strcmp(sess, a->session) != 0 || strcmp(tab, a->table) != 0 ||
            c != a->cls || amount != a->rho) {
            rc = broken(l, "ledger row %llu (session %.16s, table %s) does not match audit entry "
                           "%llu (session %.16s, table %s, rho %.17g)",
                        (unsigned long long)seq, sess ? sess : "?", tab ? tab : "?",
                        (unsigned long long)a->audit_seq, a->session, a->table, a->rho);
            break;
        }
        last = seq;
        k++;
    }
    if (rc == WARD_OK && s != SQLITE_DONE && s != SQLITE_ROW) rc = db_fail(l, s);
    sqlite3_finalize(stmt);
    if (rc == WARD_OK && k < sl.n)
        rc = broken(l, "audit entry %llu records a spend (session %.16s, table %s, rho %.17g) "
                       "that the ledger lacks",
                    (unsigned long long)sl.v[k].audit_seq, sl.v[k].session, sl.v[k].table,
                    sl.v[k].rho);
    /* The totals come from the audit log, whatever the rows say. */
    memset(l->spent, 0, sizeof l->spent);
    for (size_t i = 0; i < sl.n; i++) l->spent[sl.v[i].cls] = add_up(l->spent[sl.v[i].cls], sl.v[i].rho);
    l->releases = sl.n;
    l->last_seq = last;
    free(sl.v);
    return rc;
}

int ward_ledger_open(ward_ledger *l, ward_store *st) {
    WARD_ARG_CHECK(l != NULL && st != NULL && st->db != NULL);
    memset(l, 0, sizeof *l);
    l->st = st;
    char *err = NULL;
    int s = sqlite3_exec(st->db, ledger_schema, NULL, NULL, &err);
    if (s != SQLITE_OK) {
        set_msg(l->msg, sizeof l->msg, "ledger: cannot create its table: %s", err ? err : "?");
        sqlite3_free(err);
        return s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
    }
    return verify(l);
}

/* ---- debits --------------------------------------------------------------- */

static int hex_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WARD_AUDIT_SESSION_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WARD_STORE_NAME_MAX) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

/* The transaction's body; the caller commits or rolls back. */
static int debit_inner(ward_ledger *l, uint64_t *seq_out, uint64_t *audit_out,
                       const ward_ledger_spend *sp, int64_t time_ms) {
    sqlite3_stmt *stmt;
    int s = sqlite3_prepare_v2(l->st->db, "SELECT count(*) FROM ward_ledger WHERE session = ?", -1,
                               &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    sqlite3_bind_text(stmt, 1, sp->session, -1, SQLITE_STATIC);
    s = sqlite3_step(stmt);
    int64_t dup = s == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (dup < 0) return db_fail(l, s);
    if (dup > 0) {
        set_msg(l->msg, sizeof l->msg, "session %.16s was already charged; a session releases once",
                sp->session);
        return WARD_ESTATE;
    }
    s = sqlite3_prepare_v2(l->st->db, "SELECT coalesce(max(seq), 0) FROM ward_ledger", -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    s = sqlite3_step(stmt);
    int64_t last = s == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (last < 0) return db_fail(l, s);
    uint64_t seq = (uint64_t)last + 1;

    char details[512];
    snprintf(details, sizeof details,
             "{\"ledger_seq\":%llu,\"table\":\"%s\",\"class\":\"%s\",\"unit\":\"rho\","
             "\"rho\":%.17g,\"epsilon\":%.17g,\"delta\":%.17g}",
             (unsigned long long)seq, sp->table, ward_ledger_class_name(sp->cls), sp->rho,
             sp->epsilon, sp->delta);
    uint64_t aseq = 0;
    int rc = ward_audit_append(l->st, &aseq, NULL, time_ms, "spend", sp->session, details);
    if (rc != WARD_OK) {
        set_msg(l->msg, sizeof l->msg, "ledger: audit entry failed: %s", ward_store_errmsg(l->st));
        return rc == WARD_ESTATE ? WARD_ESTATE : WARD_EIO;
    }
    s = sqlite3_prepare_v2(l->st->db,
                           "INSERT INTO ward_ledger(seq, session, table_name, class, unit, amount, "
                           "epsilon, delta, audit_seq) VALUES (?, ?, ?, ?, 'rho', ?, ?, ?, ?)",
                           -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(stmt, 2, sp->session, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, sp->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, ward_ledger_class_name(sp->cls), -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 5, sp->rho);
    sqlite3_bind_double(stmt, 6, sp->epsilon);
    sqlite3_bind_double(stmt, 7, sp->delta);
    sqlite3_bind_int64(stmt, 8, (sqlite3_int64)aseq);
    s = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (s != SQLITE_DONE) return db_fail(l, s);
    *seq_out = seq;
    *audit_out = aseq;
    return WARD_OK;
}

int ward_ledger_debit(ward_ledger *l, uint64_t *seq, const ward_ledger_spend *sp,
                      double class_limit, int64_t time_ms) {
    WARD_ARG_CHECK(l != NULL && l->st != NULL && l->st->db != NULL && sp != NULL);
    WARD_ARG_CHECK(sp->session != NULL && sp->table != NULL);
    if (!hex_ok(sp->session) || !name_ok(sp->table) || (unsigned)sp->cls >= WARD_LEDGER_CLASSES ||
        !isfinite(sp->rho) || sp->rho <= 0 || !isfinite(sp->epsilon) || sp->epsilon < 0 ||
        !(sp->delta >= 0 && sp->delta < 1) || !isfinite(class_limit)) {
        set_msg(l->msg, sizeof l->msg, "ledger: malformed spend");
        return WARD_EINVAL;
    }
    if (l->broken) {
        set_msg(l->msg, sizeof l->msg, "%s", l->problem);
        return WARD_ESTATE;
    }
    double after = add_up(l->spent[sp->cls], sp->rho);
    if (after > class_limit) {
        set_msg(l->msg, sizeof l->msg,
                "class %s has rho %.6g left of %.6g; this release needs %.6g",
                ward_ledger_class_name(sp->cls),
                class_limit > l->spent[sp->cls] ? class_limit - l->spent[sp->cls] : 0.0, class_limit,
                sp->rho);
        return WARD_EOVERFLOW;
    }
    int rc = ward_store_begin(l->st);
    if (rc != WARD_OK) {
        set_msg(l->msg, sizeof l->msg, "ledger: cannot begin a transaction: %s",
                ward_store_errmsg(l->st));
        return rc == WARD_ESTATE ? WARD_ESTATE : WARD_EIO;
    }
    uint64_t s = 0, a = 0;
    rc = debit_inner(l, &s, &a, sp, time_ms);
    if (rc == WARD_OK) {
        rc = ward_store_commit(l->st);
        if (rc != WARD_OK)
            set_msg(l->msg, sizeof l->msg, "ledger: commit failed: %s", ward_store_errmsg(l->st));
    } else if (ward_store_in_transaction(l->st)) {
        ward_store_rollback(l->st);
    }
    if (rc != WARD_OK) return rc;
    l->spent[sp->cls] = after;
    l->releases++;
    l->last_seq = s;
    if (seq) *seq = s;
    return WARD_OK;
}

/* ---- reports -------------------------------------------------------------- */

int ward_ledger_table_stats(ward_ledger *l, ward_ledger_stats *out, const char *table,
                            ward_dp_class cls, uint32_t window) {
    WARD_ARG_CHECK(l != NULL && l->st != NULL && out != NULL && table != NULL && window >= 1);
    WARD_ARG_CHECK((unsigned)cls < WARD_LEDGER_CLASSES);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *stmt;
    int s = sqlite3_prepare_v2(l->st->db,
                               "SELECT count(*), coalesce(sum(amount), 0) FROM ward_ledger "
                               "WHERE table_name = ?",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    s = sqlite3_step(stmt);
    if (s == SQLITE_ROW) {
        out->table_releases = (uint64_t)sqlite3_column_int64(stmt, 0);
        out->table_spent = sqlite3_column_double(stmt, 1);
    }
    sqlite3_finalize(stmt);
    if (s != SQLITE_ROW) return db_fail(l, s);
    s = sqlite3_prepare_v2(l->st->db,
                           "SELECT table_name = ? FROM ward_ledger WHERE class = ? "
                           "ORDER BY seq DESC LIMIT ?",
                           -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ward_ledger_class_name(cls), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, window);
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        out->recent_class++;
        if (sqlite3_column_int(stmt, 0)) out->recent_table++;
    }
    sqlite3_finalize(stmt);
    if (s != SQLITE_DONE) return db_fail(l, s);
    return WARD_OK;
}

int ward_ledger_list(ward_ledger *l, ward_ledger_fn fn, void *ctx) {
    WARD_ARG_CHECK(l != NULL && l->st != NULL && fn != NULL);
    sqlite3_stmt *stmt;
    int s = sqlite3_prepare_v2(l->st->db,
                               "SELECT seq, session, table_name, class, amount FROM ward_ledger "
                               "ORDER BY seq",
                               -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_fail(l, s);
    int rc = WARD_OK;
    while (rc == WARD_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        ward_dp_class c;
        const char *cls = (const char *)sqlite3_column_text(stmt, 3);
        if (!cls || ward_ledger_class_parse(&c, cls) != WARD_OK) continue;
        const char *sess = (const char *)sqlite3_column_text(stmt, 1);
        const char *tab = (const char *)sqlite3_column_text(stmt, 2);
        rc = fn(ctx, (uint64_t)sqlite3_column_int64(stmt, 0), sess ? sess : "", tab ? tab : "", c,
                sqlite3_column_double(stmt, 4));
    }
    if (rc == WARD_OK && s != SQLITE_DONE) rc = db_fail(l, s);
    sqlite3_finalize(stmt);
    return rc;
}
