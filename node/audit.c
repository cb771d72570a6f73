#include "audit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "csv.h"
#include "error.h"

static const char domain[] = "ward.audit.v1";

static void set_msg(ward_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(ward_store *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

static int db_error(ward_store *st, int rc) {
    set_msg(st, "%s", sqlite3_errmsg(st->db));
    if ((rc & 0xff) == SQLITE_NOMEM) return WARD_ENOMEM;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return WARD_ESTATE;
    return WARD_EIO;
}

static int exec_sql(ward_store *st, const char *sql) {
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? WARD_OK : db_error(st, rc);
}

static void rollback_quietly(ward_store *st, const char *sql) {
    char saved[sizeof st->errmsg];
    memcpy(saved, st->errmsg, sizeof saved);
    sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    memcpy(st->errmsg, saved, sizeof saved);
}

static void put_u64be(uint8_t out[8], uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void absorb(crypto_hash_sha256_state *h, const void *data, size_t len) {
    uint8_t n[8];
    put_u64be(n, (uint64_t)len);
    crypto_hash_sha256_update(h, n, sizeof n);
    if (len) crypto_hash_sha256_update(h, data, len);
}

int ward_audit_hash(uint8_t out[WARD_AUDIT_HASH_BYTES], uint64_t seq, int64_t time_ms,
                    const char *kind, size_t kind_len, const char *session, size_t session_len,
                    const char *details, size_t details_len,
                    const uint8_t prev_hash[WARD_AUDIT_HASH_BYTES]) {
    WARD_ARG_CHECK(out != NULL && prev_hash != NULL);
    WARD_ARG_CHECK(kind != NULL || kind_len == 0);
    WARD_ARG_CHECK(session != NULL || session_len == 0);
    WARD_ARG_CHECK(details != NULL || details_len == 0);
    uint8_t s[8], t[8];
    put_u64be(s, seq);
    put_u64be(t, (uint64_t)time_ms);
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    absorb(&h, domain, sizeof domain - 1);
    absorb(&h, s, sizeof s);
    absorb(&h, t, sizeof t);
    absorb(&h, kind, kind_len);
    absorb(&h, session, session_len);
    absorb(&h, details, details_len);
    absorb(&h, prev_hash, WARD_AUDIT_HASH_BYTES);
    crypto_hash_sha256_final(&h, out);
    return WARD_OK;
}

static int valid_kind(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > WARD_AUDIT_KIND_MAX || !(k[0] >= 'a' && k[0] <= 'z')) return 0;
    for (size_t i = 1; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static int valid_session(const char *s) {
    size_t n = strlen(s);
    if (n > WARD_AUDIT_SESSION_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* The head as recorded in ward_meta. *found is 0 when none is recorded
 * (an empty log); *malformed is 1 when one is recorded but unreadable. */
static int read_head(ward_store *st, uint64_t *seq, uint8_t hash[WARD_AUDIT_HASH_BYTES], int *found,
                     int *malformed) {
    static const char head_sql[] =
        "SELECT (SELECT value FROM ward_meta WHERE key = 'audit_head_seq'),"
        " (SELECT value FROM ward_meta WHERE key = 'audit_head_hash')";
    sqlite3_stmt *stmt;
    int s = ward_store_stmt(st, &stmt, head_sql);
    if (s != WARD_OK) return s;
    *seq = 0;
    memset(hash, 0, WARD_AUDIT_HASH_BYTES);
    *found = 0;
    *malformed = 0;
    int rc = WARD_OK;
    s = sqlite3_step(stmt);
    if (s == SQLITE_ROW) {
        int ts = sqlite3_column_type(stmt, 0), th = sqlite3_column_type(stmt, 1);
        if (ts != SQLITE_NULL || th != SQLITE_NULL) {
            *found = 1;
            int64_t v = sqlite3_column_int64(stmt, 0);
            const void *b = sqlite3_column_blob(stmt, 1);
            int blen = sqlite3_column_bytes(stmt, 1);
            if (ts != SQLITE_INTEGER || v < 1 || th != SQLITE_BLOB || blen != WARD_AUDIT_HASH_BYTES ||
                !b) {
                *malformed = 1;
            } else {
                *seq = (uint64_t)v;
                memcpy(hash, b, WARD_AUDIT_HASH_BYTES);
            }
        }
    } else {
        rc = db_error(st, s);
    }
    ward_store_stmt_done(st, stmt);
    return rc;
}

int ward_audit_head(ward_store *st, uint64_t *seq, uint8_t hash[WARD_AUDIT_HASH_BYTES]) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && seq != NULL && hash != NULL);
    int found, malformed;
    int rc = read_head(st, seq, hash, &found, &malformed);
    if (rc == WARD_OK && malformed) {
        set_msg(st, "the recorded audit head is malformed");
        rc = WARD_ESTATE;
    }
    return rc;
}

static int append_inner(ward_store *st, uint64_t *seq_out, uint8_t hash_out[WARD_AUDIT_HASH_BYTES],
                        int64_t time_ms, const char *kind, const char *session,
                        const char *details, size_t details_len) {
    uint64_t head;
    uint8_t prev[WARD_AUDIT_HASH_BYTES], hash[WARD_AUDIT_HASH_BYTES];
    int found, malformed;
    int rc = read_head(st, &head, prev, &found, &malformed);
    if (rc) return rc;
    if (malformed || head == UINT64_MAX || head >= (uint64_t)INT64_MAX) {
        set_msg(st, "the recorded audit head is malformed; run the audit verification");
        return WARD_ESTATE;
    }
    uint64_t seq = head + 1;
    rc = ward_audit_hash(hash, seq, time_ms, kind, strlen(kind), session, strlen(session), details,
                         details_len, prev);
    if (rc) return rc;

    static const char insert_sql[] =
        "INSERT INTO ward_audit(seq, time_ms, kind, session, details, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)";
    static const char head_update_sql[] =
        "INSERT OR REPLACE INTO ward_meta(key, value)"
        " VALUES ('audit_head_seq', ?), ('audit_head_hash', ?)";
    sqlite3_stmt *stmt;
    int s = ward_store_stmt(st, &stmt, insert_sql);
    if (s != WARD_OK) return s;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)seq);
    sqlite3_bind_int64(stmt, 2, time_ms);
    sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, session, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, details, (int)details_len, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 6, prev, sizeof prev, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 7, hash, sizeof hash, SQLITE_STATIC);
    s = sqlite3_step(stmt);
    if (s != SQLITE_DONE) {
        rc = db_error(st, s);
        if (rc == WARD_ESTATE)
            set_msg(st, "the audit log already has an entry %llu beyond its recorded head;"
                        " run the audit verification", (unsigned long long)seq);
    }
    ward_store_stmt_done(st, stmt);
    if (rc) return rc;

    s = ward_store_stmt(st, &stmt, head_update_sql);
    if (s != WARD_OK) return s;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)seq);
    sqlite3_bind_blob(stmt, 2, hash, sizeof hash, SQLITE_STATIC);
    s = sqlite3_step(stmt);
    if (s != SQLITE_DONE) rc = db_error(st, s);
    ward_store_stmt_done(st, stmt);
    if (rc) return rc;
    if (seq_out) *seq_out = seq;
    if (hash_out) memcpy(hash_out, hash, sizeof hash);
    return WARD_OK;
}

int ward_audit_append(ward_store *st, uint64_t *seq_out,
                      uint8_t hash_out[WARD_AUDIT_HASH_BYTES], int64_t time_ms, const char *kind,
                      const char *session, const char *details) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    WARD_ARG_CHECK(kind != NULL && session != NULL && details != NULL);
    WARD_ARG_CHECK(valid_kind(kind) && valid_session(session));
    size_t details_len = strlen(details);
    if (details_len > WARD_AUDIT_DETAILS_MAX) return WARD_ETOOBIG;
    WARD_ARG_CHECK(ward_utf8_valid_var(details, details_len));
    if (sodium_init() < 0) return WARD_EINVAL;

    int own = sqlite3_get_autocommit(st->db);
    int rc = exec_sql(st, own ? "BEGIN IMMEDIATE" : "SAVEPOINT ward_audit");
    if (rc) return rc;
    rc = append_inner(st, seq_out, hash_out, time_ms, kind, session, details, details_len);
    if (rc == WARD_OK) {
        rc = exec_sql(st, own ? "COMMIT" : "RELEASE ward_audit");
        if (rc && rc != WARD_ENOMEM) rc = WARD_EIO;
    }
    if (rc) {
        /* As for imports: a database failure takes the caller's
         * transaction down with it; a refusal only undoes this entry. */
        if (own || rc == WARD_EIO || sqlite3_get_autocommit(st->db)) {
            if (!sqlite3_get_autocommit(st->db)) rollback_quietly(st, "ROLLBACK");
        } else {
            rollback_quietly(st, "ROLLBACK TO ward_audit");
            rollback_quietly(st, "RELEASE ward_audit");
        }
    }
    return rc;
}

int ward_audit_append_relaxed(ward_store *st, uint64_t *seq_out,
                              uint8_t hash_out[WARD_AUDIT_HASH_BYTES], int64_t time_ms,
                              const char *kind, const char *session, const char *details) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    if (!sqlite3_get_autocommit(st->db))
        return ward_audit_append(st, seq_out, hash_out, time_ms, kind, session, details);
    /* A batch of one: the store runs with synchronous=FULL (store.c); only
     * this commit skips the flush, and FULL is back before anything else
     * commits. */
    int rc = ward_audit_batch_begin(st);
    if (rc) return rc;
    rc = ward_audit_append(st, seq_out, hash_out, time_ms, kind, session, details);
    int rc2 = ward_audit_batch_end(st, rc == WARD_OK);
    return rc ? rc : rc2;
}

int ward_audit_batch_begin(ward_store *st) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    if (!sqlite3_get_autocommit(st->db)) return WARD_ESTATE;
    int rc = exec_sql(st, "PRAGMA synchronous = NORMAL");
    if (rc == WARD_OK) rc = exec_sql(st, "BEGIN IMMEDIATE");
    if (rc != WARD_OK) {
        exec_sql(st, "PRAGMA synchronous = FULL");
        return WARD_EIO;
    }
    return WARD_OK;
}

int ward_audit_batch_end(ward_store *st, int commit) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    int rc = WARD_OK;
    if (sqlite3_get_autocommit(st->db)) {
        /* The transaction is gone: a failed entry rolled it back. */
        if (commit) rc = WARD_EIO;
    } else {
        if (!commit) {
            rollback_quietly(st, "ROLLBACK");
        } else if (exec_sql(st, "COMMIT") != WARD_OK) {
            rollback_quietly(st, "ROLLBACK");
            rc = WARD_EIO;
        }
    }
    int rc2 = exec_sql(st, "PRAGMA synchronous = FULL");
    return rc ? rc : rc2 ? WARD_EIO : WARD_OK;
}

static const char list_sql[] =
    "SELECT seq, time_ms, kind, session, details, prev_hash, hash FROM ward_audit"
    " WHERE seq >= ? ORDER BY seq";

/* Reads a row into an entry; returns 0 when a hash column is not 32 bytes
 * (the entry is still filled, with such hashes zeroed). */
static int read_entry(sqlite3_stmt *stmt, ward_audit_entry *e) {
    memset(e, 0, sizeof *e);
    e->seq = (uint64_t)sqlite3_column_int64(stmt, 0);
    e->time_ms = sqlite3_column_int64(stmt, 1);
    const unsigned char *k = sqlite3_column_text(stmt, 2);
    const unsigned char *s = sqlite3_column_text(stmt, 3);
    const unsigned char *d = sqlite3_column_text(stmt, 4);
    e->details_len = (size_t)sqlite3_column_bytes(stmt, 4);
    e->kind = k ? (const char *)k : "";
    e->session = s ? (const char *)s : "";
    e->details = d ? (const char *)d : "";
    int ok = 1;
    const void *p = sqlite3_column_blob(stmt, 5);
    if (p && sqlite3_column_bytes(stmt, 5) == WARD_AUDIT_HASH_BYTES)
        memcpy(e->prev_hash, p, WARD_AUDIT_HASH_BYTES);
    else
        ok = 0;
    const void *h = sqlite3_column_blob(stmt, 6);
    if (h && sqlite3_column_bytes(stmt, 6) == WARD_AUDIT_HASH_BYTES)
        memcpy(e->hash, h, WARD_AUDIT_HASH_BYTES);
    else
        ok = 0;
    return ok;
}

int ward_audit_list(ward_store *st, uint64_t since_seq, uint64_t limit, ward_audit_fn fn,
                    void *ctx) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && fn != NULL);
    sqlite3_stmt *stmt;
    int s = sqlite3_prepare_v2(st->db, list_sql, -1, &stmt, NULL);
    if (s != SQLITE_OK) return db_error(st, s);
    if (since_seq > (uint64_t)INT64_MAX) since_seq = (uint64_t)INT64_MAX;
    sqlite3_bind_int64(stmt, 1, (sqlite3_int64)since_seq);
    int rc = WARD_OK;
    uint64_t n = 0;
    while ((limit == 0 || n < limit) && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        ward_audit_entry e;
        read_entry(stmt, &e);
        n++;
        rc = fn(ctx, &e);
        if (rc) break;
    }
    if (rc == WARD_OK && s != SQLITE_ROW && s != SQLITE_DONE) rc = db_error(st, s);
    sqlite3_finalize(stmt);
    return rc;
}

const char *ward_audit_problem_name(ward_audit_problem p) {
    switch (p) {
    case WARD_AUDIT_OK:
        return "ok";
    case WARD_AUDIT_ALTERED:
        return "altered";
    case WARD_AUDIT_MISSING:
        return "missing";
    case WARD_AUDIT_LINK:
        return "link";
    case WARD_AUDIT_TRUNCATED:
        return "truncated";
    case WARD_AUDIT_HEAD:
        return "head";
    case WARD_AUDIT_ANCHOR:
        return "anchor";
    }
    return "?";
}

static void bad(ward_audit_report *r, ward_audit_problem p, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bad(ward_audit_report *r, ward_audit_problem p, uint64_t seq, const char *fmt, ...) {
    r->intact = 0;
    r->problem = p;
    r->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

int ward_audit_verify(ward_store *st, ward_audit_report *report) {
    return ward_audit_verify_anchor(st, report, 0, NULL);
}

int ward_audit_verify_anchor(ward_store *st, ward_audit_report *report, uint64_t anchor_seq,
                             const uint8_t anchor_hash[WARD_AUDIT_HASH_BYTES]) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && report != NULL);
    WARD_ARG_CHECK(anchor_seq == 0 || anchor_hash != NULL);
    memset(report, 0, sizeof *report);
    if (sodium_init() < 0) return WARD_EINVAL;

    /* One read transaction, so the head and the entries are one snapshot. */
    int own = sqlite3_get_autocommit(st->db);
    if (own) {
        int rc = exec_sql(st, "BEGIN");
        if (rc) return rc;
    }
    int found, malformed;
    int rc = read_head(st, &report->head_seq, report->head_hash, &found, &malformed);
    sqlite3_stmt *stmt = NULL;
    if (rc == WARD_OK) {
        int s = sqlite3_prepare_v2(st->db, list_sql, -1, &stmt, NULL);
        if (s != SQLITE_OK) rc = db_error(st, s);
    }
    if (rc) goto done;
    sqlite3_bind_int64(stmt, 1, 0);

    report->intact = 1;
    uint64_t expect = 1;
    uint8_t prev[WARD_AUDIT_HASH_BYTES] = {0};
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        ward_audit_entry e;
        int shaped = read_entry(stmt, &e);
        report->entries++;
        if (e.seq != expect) {
            if (e.seq > expect)
                bad(report, WARD_AUDIT_MISSING, expect,
                    "entry %llu is missing (the next entry present is %llu)",
                    (unsigned long long)expect, (unsigned long long)e.seq);
            else
                bad(report, WARD_AUDIT_ALTERED, e.seq, "entry %llu is out of sequence",
                    (unsigned long long)e.seq);
            break;
        }
        uint8_t h[WARD_AUDIT_HASH_BYTES];
        ward_audit_hash(h, e.seq, e.time_ms, e.kind, strlen(e.kind), e.session, strlen(e.session),
                        e.details, e.details_len, e.prev_hash);
        if (!shaped || sodium_memcmp(h, e.hash, sizeof h) != 0) {
            bad(report, WARD_AUDIT_ALTERED, e.seq,
                "entry %llu does not match its hash (altered, moved or swapped)",
                (unsigned long long)e.seq);
            break;
        }
        if (sodium_memcmp(prev, e.prev_hash, sizeof prev) != 0) {
            bad(report, WARD_AUDIT_LINK, e.seq,
                "entry %llu does not follow from entry %llu (replaced or reordered)",
                (unsigned long long)e.seq, (unsigned long long)(e.seq - 1));
            break;
        }
        if (anchor_seq == e.seq && sodium_memcmp(anchor_hash, e.hash, sizeof prev) != 0) {
            bad(report, WARD_AUDIT_ANCHOR, e.seq,
                "entry %llu differs from the exported head (the log was rewritten)",
                (unsigned long long)e.seq);
            break;
        }
        memcpy(prev, e.hash, sizeof prev);
        expect++;
    }
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        rc = db_error(st, s);
        goto done;
    }
    if (!report->intact) goto done;

    uint64_t last = expect - 1;
    if (anchor_seq > last) {
        bad(report, WARD_AUDIT_ANCHOR, last + 1,
            "the exported head names entry %llu but the log ends at %llu",
            (unsigned long long)anchor_seq, (unsigned long long)last);
    } else if (malformed) {
        bad(report, WARD_AUDIT_HEAD, last ? last : 1, "the recorded head is malformed");
    } else if (!found && last > 0) {
        bad(report, WARD_AUDIT_HEAD, 1, "no head is recorded but the log has %llu entries",
            (unsigned long long)last);
    } else if (found && report->head_seq > last) {
        bad(report, WARD_AUDIT_TRUNCATED, last + 1,
            "entries %llu to %llu were removed from the end (the recorded head)",
            (unsigned long long)(last + 1), (unsigned long long)report->head_seq);
    } else if (found && report->head_seq < last) {
        bad(report, WARD_AUDIT_HEAD, report->head_seq + 1,
            "entries after %llu are not covered by the recorded head",
            (unsigned long long)report->head_seq);
    } else if (found && sodium_memcmp(prev, report->head_hash, sizeof prev) != 0) {
        bad(report, WARD_AUDIT_HEAD, last,
            "entry %llu does not match the recorded head hash", (unsigned long long)last);
    } else {
        snprintf(report->reason, sizeof report->reason, "%llu entries, chain intact",
                 (unsigned long long)last);
    }

done:
    if (stmt) sqlite3_finalize(stmt);
    if (own) rollback_quietly(st, "COMMIT");
    if (rc) report->intact = 0;
    return rc;
}
