/* The hash-chained audit log: appends, the canonical hash (checked against
 * an encoding built here byte by byte), listing, transactions, and each
 * kind of tampering done directly to the database file with SQLite, as
 * someone with write access to node.db could. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "audit.h"
#include "check.h"
#include "error.h"
#include "store.h"

#define N_ENTRIES 200

static char tmp_dir[256];

static void db_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s.db", tmp_dir, name);
}

static void details_for(char *out, size_t cap, uint64_t i) {
    snprintf(out, cap, "{\"table\":\"trips\",\"i\":%llu,\"note\":\"caf\xC3\xA9 \\\"quoted\\\"\"}",
             (unsigned long long)i);
}

static void session_for(char *out, size_t cap, uint64_t i) {
    if (i % 3 == 0) {
        out[0] = '\0';
        return;
    }
    uint8_t h[32], in[8];
    for (int k = 0; k < 8; k++) in[k] = (uint8_t)(i >> (8 * k));
    crypto_hash_sha256(h, in, sizeof in);
    sodium_bin2hex(out, cap, h, sizeof h);
}

static const char *kind_for(uint64_t i) {
    static const char *const kinds[] = {"import", "session", "spend", "refusal", "policy.change"};
    return kinds[i % 5];
}

/* A database with n entries, closed again. */
static void make_log(const char *path, uint64_t n) {
    ward_store st;
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    for (uint64_t i = 1; i <= n; i++) {
        char details[160], session[80];
        details_for(details, sizeof details, i);
        session_for(session, sizeof session, i);
        uint64_t seq = 0;
        CHECK_RC(ward_audit_append(&st, &seq, NULL, (int64_t)(1700000000000 + 1000 * i), kind_for(i),
                                   session, details),
                 WARD_OK);
        CHECK_EQ_U64(seq, i);
    }
    CHECK_RC(ward_store_close(&st), WARD_OK);
}

static void tamper(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "  tamper: %s: %s\n", sql, err ? err : "?");
    CHECK(rc == SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

/* An attacker drops the append-only triggers first. */
#define UNGUARD "DROP TRIGGER ward_audit_no_update; DROP TRIGGER ward_audit_no_delete; "

static ward_audit_report verify_file(const char *path) {
    ward_store st;
    ward_audit_report rep;
    memset(&rep, 0, sizeof rep);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    ward_store_close(&st);
    return rep;
}

static void expect_bad(const char *name, const char *path, ward_audit_problem p, uint64_t seq) {
    ward_audit_report rep = verify_file(path);
    int ok = !rep.intact && rep.problem == p && rep.first_bad_seq == seq;
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s: intact %d problem %s seq %llu (%s); wanted %s at %llu\n", name,
                rep.intact, ward_audit_problem_name(rep.problem),
                (unsigned long long)rep.first_bad_seq, rep.reason, ward_audit_problem_name(p),
                (unsigned long long)seq);
}

/* The canonical encoding, built by hand. */
static void put_field(crypto_hash_sha256_state *h, const void *p, size_t n) {
    uint8_t len[8];
    for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    crypto_hash_sha256_update(h, len, 8);
    crypto_hash_sha256_update(h, p, n);
}

static void test_hash_encoding(void) {
    uint8_t prev[32], want[32], got[32];
    for (int i = 0; i < 32; i++) prev[i] = (uint8_t)(0xa0 + i);
    const uint8_t seq[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x02};                  /* 258 */
    const uint8_t time[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}; /* -2 */
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    put_field(&h, "ward.audit.v1", 13);
    put_field(&h, seq, 8);
    put_field(&h, time, 8);
    put_field(&h, "spend", 5);
    put_field(&h, "abcd", 4);
    put_field(&h, "{\"e\":0.5}", 9);
    put_field(&h, prev, 32);
    crypto_hash_sha256_final(&h, want);
    CHECK_RC(ward_audit_hash(got, 258, -2, "spend", 5, "abcd", 4, "{\"e\":0.5}", 9, prev), WARD_OK);
    CHECK_MEM(got, want, 32);

    /* Moving bytes between fields changes the hash (length prefixes). */
    uint8_t other[32];
    CHECK_RC(ward_audit_hash(other, 258, -2, "spen", 4, "dabcd", 5, "{\"e\":0.5}", 9, prev), WARD_OK);
    CHECK(memcmp(other, got, 32) != 0);
    CHECK_RC(ward_audit_hash(other, 258, -2, "spend", 5, "abcd{", 5, "\"e\":0.5}", 8, prev), WARD_OK);
    CHECK(memcmp(other, got, 32) != 0);
    CHECK_RC(ward_audit_hash(NULL, 1, 0, "", 0, "", 0, "", 0, prev), WARD_EINVAL);
}

typedef struct {
    uint64_t n, first, last;
    int stop_after;
    int ok;
} list_ctx;

static int on_entry(void *ctx, const ward_audit_entry *e) {
    list_ctx *c = ctx;
    if (c->n == 0) c->first = e->seq;
    else if (e->seq != c->last + 1) c->ok = 0;
    c->last = e->seq;
    c->n++;
    char details[160], session[80];
    details_for(details, sizeof details, e->seq);
    session_for(session, sizeof session, e->seq);
    if (strcmp(e->details, details) != 0 || e->details_len != strlen(details) ||
        strcmp(e->session, session) != 0 || strcmp(e->kind, kind_for(e->seq)) != 0 ||
        e->time_ms != (int64_t)(1700000000000 + 1000 * e->seq))
        c->ok = 0;
    uint8_t h[32];
    ward_audit_hash(h, e->seq, e->time_ms, e->kind, strlen(e->kind), e->session, strlen(e->session),
                    e->details, e->details_len, e->prev_hash);
    if (memcmp(h, e->hash, 32) != 0) c->ok = 0;
    if (c->stop_after && c->n == (uint64_t)c->stop_after) return -42;
    return 0;
}

static void test_append_list_verify(void) {
    char path[512];
    db_path(path, sizeof path, "good");
    ward_store st;
    CHECK_RC(ward_store_open(&st, path), WARD_OK);

    ward_audit_report rep;
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact && rep.entries == 0 && rep.head_seq == 0);
    uint64_t head = 99;
    uint8_t head_hash[32], last_hash[32], zero[32] = {0};
    CHECK_RC(ward_audit_head(&st, &head, head_hash), WARD_OK);
    CHECK(head == 0 && memcmp(head_hash, zero, 32) == 0);

    uint8_t prev[32] = {0};
    for (uint64_t i = 1; i <= N_ENTRIES; i++) {
        char details[160], session[80];
        details_for(details, sizeof details, i);
        session_for(session, sizeof session, i);
        uint64_t seq = 0;
        int64_t t = (int64_t)(1700000000000 + 1000 * i);
        CHECK_RC(ward_audit_append(&st, &seq, last_hash, t, kind_for(i), session, details), WARD_OK);
        CHECK_EQ_U64(seq, i);
        uint8_t want[32];
        ward_audit_hash(want, i, t, kind_for(i), strlen(kind_for(i)), session, strlen(session),
                        details, strlen(details), prev);
        CHECK_MEM(last_hash, want, 32);
        memcpy(prev, want, 32);
    }
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact && rep.problem == WARD_AUDIT_OK && rep.first_bad_seq == 0);
    CHECK_EQ_U64(rep.entries, N_ENTRIES);
    CHECK_EQ_U64(rep.head_seq, N_ENTRIES);
    CHECK_MEM(rep.head_hash, last_hash, 32);
    CHECK_RC(ward_audit_head(&st, &head, head_hash), WARD_OK);
    CHECK(head == N_ENTRIES && memcmp(head_hash, last_hash, 32) == 0);

    list_ctx lc = {0, 0, 0, 0, 1};
    CHECK_RC(ward_audit_list(&st, 0, 0, on_entry, &lc), WARD_OK);
    CHECK(lc.ok && lc.n == N_ENTRIES && lc.first == 1 && lc.last == N_ENTRIES);
    lc = (list_ctx){0, 0, 0, 0, 1};
    CHECK_RC(ward_audit_list(&st, 150, 10, on_entry, &lc), WARD_OK);
    CHECK(lc.ok && lc.n == 10 && lc.first == 150 && lc.last == 159);
    lc = (list_ctx){0, 0, 0, 3, 1};
    CHECK_RC(ward_audit_list(&st, 0, 0, on_entry, &lc), -42);
    CHECK(lc.n == 3);
    lc = (list_ctx){0, 0, 0, 0, 1};
    CHECK_RC(ward_audit_list(&st, 1000, 0, on_entry, &lc), WARD_OK);
    CHECK(lc.n == 0);

    /* The append-only triggers stop ordinary SQL (and so any bug of ours). */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE ward_audit SET details = 'x' WHERE seq = 3", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    CHECK(sqlite3_exec(db, "DELETE FROM ward_audit WHERE seq = 3", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    sqlite3_close(db);

    /* Inside a caller's transaction the entry goes with it. */
    CHECK_RC(ward_store_begin(&st), WARD_OK);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "", "{}"), WARD_OK);
    CHECK_RC(ward_store_rollback(&st), WARD_OK);
    CHECK_RC(ward_audit_head(&st, &head, head_hash), WARD_OK);
    CHECK(head == N_ENTRIES && memcmp(head_hash, last_hash, 32) == 0);
    CHECK_RC(ward_store_begin(&st), WARD_OK);
    uint64_t seq = 0;
    CHECK_RC(ward_audit_append(&st, &seq, NULL, 1, "import", "", "{\"rows\":2}"), WARD_OK);
    CHECK_RC(ward_audit_append(&st, &seq, NULL, 2, "spend", "00ff", "{}"), WARD_OK);
    CHECK_RC(ward_store_commit(&st), WARD_OK);
    CHECK_EQ_U64(seq, N_ENTRIES + 2);
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact && rep.entries == N_ENTRIES + 2);

    /* Misuse. */
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "Import", "", "{}"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "", "", "{}"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "1st", "", "{}"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "ABCD", "{}"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "xyz", "{}"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "", "\xC3"), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "", NULL), WARD_EINVAL);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "a23456789012345678901234567890123", "", "{}"),
             WARD_EINVAL);
    char *huge = malloc(WARD_AUDIT_DETAILS_MAX + 2);
    CHECK(huge != NULL);
    if (huge) {
        memset(huge, 'x', WARD_AUDIT_DETAILS_MAX + 1);
        huge[WARD_AUDIT_DETAILS_MAX + 1] = '\0';
        CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "import", "", huge), WARD_ETOOBIG);
        free(huge);
    }
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact && rep.entries == N_ENTRIES + 2);

    /* Reopened, the log continues where it stopped. */
    CHECK_RC(ward_store_close(&st), WARD_OK);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_append(&st, &seq, NULL, 3, "session", "", "{}"), WARD_OK);
    CHECK_EQ_U64(seq, N_ENTRIES + 3);
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact && rep.entries == N_ENTRIES + 3);

    /* A full disk: the failed append leaves the log and its head as they were. */
    CHECK_RC(ward_audit_head(&st, &head, head_hash), WARD_OK);
    CHECK_RC(ward_store_limit_size(&st, NULL, 1), WARD_OK);
    char *big = malloc(200001);
    CHECK(big != NULL);
    int rc = WARD_OK;
    if (big) {
        memset(big, 'y', 200000);
        big[200000] = '\0';
        for (int i = 0; i < 50 && rc == WARD_OK; i++)
            rc = ward_audit_append(&st, NULL, NULL, 4, "session", "", big);
        free(big);
    }
    CHECK_RC(rc, WARD_EIO);
    CHECK(strstr(ward_store_errmsg(&st), "full") != NULL);
    CHECK(!ward_store_in_transaction(&st));
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact);
    uint64_t head2;
    uint8_t hash2[32];
    CHECK_RC(ward_audit_head(&st, &head2, hash2), WARD_OK);
    CHECK(head2 >= head && head2 == rep.entries);
    CHECK_RC(ward_store_close(&st), WARD_OK);
}

static void test_tampering(void) {
    char path[512];

    /* An edited details field: that entry. */
    db_path(path, sizeof path, "altered");
    make_log(path, N_ENTRIES);
    ward_audit_report rep = verify_file(path);
    CHECK(rep.intact);
    tamper(path, UNGUARD "UPDATE ward_audit SET details = '{\"table\":\"other\"}' WHERE seq = 57");
    expect_bad("altered details", path, WARD_AUDIT_ALTERED, 57);

    /* An edited time, kind or session. */
    db_path(path, sizeof path, "altered_time");
    make_log(path, 20);
    tamper(path, UNGUARD "UPDATE ward_audit SET time_ms = time_ms + 1 WHERE seq = 5");
    expect_bad("altered time", path, WARD_AUDIT_ALTERED, 5);
    db_path(path, sizeof path, "altered_session");
    make_log(path, 20);
    tamper(path, UNGUARD "UPDATE ward_audit SET session = '' WHERE seq = 7");
    expect_bad("altered session", path, WARD_AUDIT_ALTERED, 7);
    db_path(path, sizeof path, "altered_blob");
    make_log(path, 20);
    tamper(path, UNGUARD "UPDATE ward_audit SET hash = x'00' WHERE seq = 8");
    expect_bad("short hash", path, WARD_AUDIT_ALTERED, 8);

    /* A row deleted from the middle: the gap. */
    db_path(path, sizeof path, "deleted");
    make_log(path, N_ENTRIES);
    tamper(path, UNGUARD "DELETE FROM ward_audit WHERE seq = 100");
    expect_bad("deleted middle", path, WARD_AUDIT_MISSING, 100);
    /* New entries after it do not hide it. */
    ward_store st;
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    uint64_t seq = 0;
    CHECK_RC(ward_audit_append(&st, &seq, NULL, 1, "session", "", "{}"), WARD_OK);
    CHECK_EQ_U64(seq, N_ENTRIES + 1);
    ward_store_close(&st);
    expect_bad("deleted middle, appended", path, WARD_AUDIT_MISSING, 100);

    /* A deleted middle row with later rows renumbered to close the gap. */
    db_path(path, sizeof path, "renumbered");
    make_log(path, 20);
    tamper(path, UNGUARD "DELETE FROM ward_audit WHERE seq = 10;"
                         " UPDATE ward_audit SET seq = seq - 1 WHERE seq > 10;"
                         " UPDATE ward_meta SET value = 19 WHERE key = 'audit_head_seq'");
    expect_bad("renumbered", path, WARD_AUDIT_ALTERED, 10);

    /* The last row deleted: only the head can tell. */
    db_path(path, sizeof path, "truncated");
    make_log(path, N_ENTRIES);
    tamper(path, UNGUARD "DELETE FROM ward_audit WHERE seq = 200");
    expect_bad("deleted last", path, WARD_AUDIT_TRUNCATED, 200);
    rep = verify_file(path);
    CHECK(rep.head_seq == N_ENTRIES && strstr(rep.reason, "removed from the end") != NULL);
    db_path(path, sizeof path, "truncated_all");
    make_log(path, 5);
    tamper(path, UNGUARD "DELETE FROM ward_audit");
    expect_bad("deleted all", path, WARD_AUDIT_TRUNCATED, 1);
    db_path(path, sizeof path, "head_removed");
    make_log(path, 5);
    tamper(path, "DELETE FROM ward_meta WHERE key LIKE 'audit_head%'");
    expect_bad("head removed", path, WARD_AUDIT_HEAD, 1);

    /* Two rows' contents swapped. */
    db_path(path, sizeof path, "swapped");
    make_log(path, N_ENTRIES);
    tamper(path, UNGUARD
           "CREATE TEMP TABLE t AS SELECT * FROM ward_audit WHERE seq IN (30, 31);"
           " UPDATE ward_audit SET (time_ms, kind, session, details, prev_hash, hash) ="
           " (SELECT time_ms, kind, session, details, prev_hash, hash FROM t WHERE t.seq = 61 - ward_audit.seq)"
           " WHERE seq IN (30, 31)");
    expect_bad("swapped", path, WARD_AUDIT_ALTERED, 30);
    /* Only the details swapped. */
    db_path(path, sizeof path, "swapped_details");
    make_log(path, 50);
    tamper(path, UNGUARD
           "CREATE TEMP TABLE t AS SELECT * FROM ward_audit WHERE seq IN (12, 40);"
           " UPDATE ward_audit SET details = (SELECT details FROM t WHERE t.seq = 52 - ward_audit.seq)"
           " WHERE seq IN (12, 40)");
    expect_bad("swapped details", path, WARD_AUDIT_ALTERED, 12);

    /* An edit whose own hash was recomputed breaks the next link. */
    db_path(path, sizeof path, "rehashed");
    make_log(path, 60);
    {
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        sqlite3_exec(db, UNGUARD, NULL, NULL, NULL);
        sqlite3_stmt *stmt;
        CHECK(sqlite3_prepare_v2(db, "SELECT time_ms, kind, session, prev_hash FROM ward_audit WHERE seq = 40",
                                 -1, &stmt, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(stmt) == SQLITE_ROW);
        const char *details = "{\"forged\":true}";
        uint8_t h[32];
        ward_audit_hash(h, 40, sqlite3_column_int64(stmt, 0),
                        (const char *)sqlite3_column_text(stmt, 1),
                        (size_t)sqlite3_column_bytes(stmt, 1),
                        (const char *)sqlite3_column_text(stmt, 2),
                        (size_t)sqlite3_column_bytes(stmt, 2), details, strlen(details),
                        sqlite3_column_blob(stmt, 3));
        sqlite3_finalize(stmt);
        CHECK(sqlite3_prepare_v2(db, "UPDATE ward_audit SET details = ?, hash = ? WHERE seq = 40", -1,
                                 &stmt, NULL) == SQLITE_OK);
        sqlite3_bind_text(stmt, 1, details, -1, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 2, h, 32, SQLITE_STATIC);
        CHECK(sqlite3_step(stmt) == SQLITE_DONE);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    }
    expect_bad("rehashed", path, WARD_AUDIT_LINK, 41);

    /* An entry slipped in after the head, with a valid hash. */
    db_path(path, sizeof path, "extended");
    make_log(path, 10);
    {
        ward_store s2;
        uint64_t head;
        uint8_t hh[32], h[32];
        CHECK_RC(ward_store_open(&s2, path), WARD_OK);
        CHECK_RC(ward_audit_head(&s2, &head, hh), WARD_OK);
        ward_store_close(&s2);
        ward_audit_hash(h, 11, 5, "spend", 5, "", 0, "{}", 2, hh);
        sqlite3 *db = NULL;
        sqlite3_stmt *stmt;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "INSERT INTO ward_audit VALUES (11, 5, 'spend', '', '{}', ?, ?)",
                                 -1, &stmt, NULL) == SQLITE_OK);
        sqlite3_bind_blob(stmt, 1, hh, 32, SQLITE_STATIC);
        sqlite3_bind_blob(stmt, 2, h, 32, SQLITE_STATIC);
        CHECK(sqlite3_step(stmt) == SQLITE_DONE);
        sqlite3_finalize(stmt);
        sqlite3_close(db);
    }
    expect_bad("extended", path, WARD_AUDIT_HEAD, 11);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "session", "", "{}"), WARD_ESTATE);
    CHECK(strstr(ward_store_errmsg(&st), "beyond its recorded head") != NULL);
    ward_store_close(&st);

    /* What the chain cannot catch: a full rewrite from an edited entry on,
     * head included. Only a head exported earlier exposes it. */
    db_path(path, sizeof path, "rewritten");
    make_log(path, 30);
    uint64_t exported_seq;
    uint8_t exported[32];
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_head(&st, &exported_seq, exported), WARD_OK);
    ward_store_close(&st);
    {
        sqlite3 *db = NULL;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        sqlite3_exec(db, UNGUARD, NULL, NULL, NULL);
        uint8_t prev[32];
        sqlite3_stmt *get, *set;
        CHECK(sqlite3_prepare_v2(db, "SELECT time_ms, kind, session, details, prev_hash FROM ward_audit"
                                     " WHERE seq = ?", -1, &get, NULL) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "UPDATE ward_audit SET details = ?, prev_hash = ?, hash = ?"
                                     " WHERE seq = ?", -1, &set, NULL) == SQLITE_OK);
        for (int s = 20; s <= 30; s++) {
            sqlite3_bind_int(get, 1, s);
            CHECK(sqlite3_step(get) == SQLITE_ROW);
            if (s == 20) memcpy(prev, sqlite3_column_blob(get, 4), 32);
            char details[256];
            snprintf(details, sizeof details, "%s", s == 20 ? "{\"forged\":1}" : (const char *)sqlite3_column_text(get, 3));
            uint8_t h[32];
            ward_audit_hash(h, (uint64_t)s, sqlite3_column_int64(get, 0),
                            (const char *)sqlite3_column_text(get, 1), (size_t)sqlite3_column_bytes(get, 1),
                            (const char *)sqlite3_column_text(get, 2), (size_t)sqlite3_column_bytes(get, 2),
                            details, strlen(details), prev);
            sqlite3_reset(get);
            sqlite3_bind_text(set, 1, details, -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(set, 2, prev, 32, SQLITE_TRANSIENT);
            sqlite3_bind_blob(set, 3, h, 32, SQLITE_TRANSIENT);
            sqlite3_bind_int(set, 4, s);
            CHECK(sqlite3_step(set) == SQLITE_DONE);
            sqlite3_reset(set);
            memcpy(prev, h, 32);
        }
        sqlite3_finalize(get);
        sqlite3_finalize(set);
        sqlite3_close(db);
        /* Without touching the head: caught at the head. */
        expect_bad("rewritten tail", path, WARD_AUDIT_HEAD, 30);
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "UPDATE ward_meta SET value = ? WHERE key = 'audit_head_hash'", -1,
                                 &set, NULL) == SQLITE_OK);
        sqlite3_bind_blob(set, 1, prev, 32, SQLITE_STATIC);
        CHECK(sqlite3_step(set) == SQLITE_DONE);
        sqlite3_finalize(set);
        sqlite3_close(db);
    }
    rep = verify_file(path);
    CHECK(rep.intact); /* the documented limit */
    CHECK(rep.head_seq == exported_seq && memcmp(rep.head_hash, exported, 32) != 0);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_verify_anchor(&st, &rep, exported_seq, exported), WARD_OK);
    CHECK(!rep.intact && rep.problem == WARD_AUDIT_ANCHOR && rep.first_bad_seq == 30);
    CHECK(strcmp(ward_audit_problem_name(rep.problem), "anchor") == 0);
    CHECK_RC(ward_audit_verify_anchor(&st, &rep, 1, NULL), WARD_EINVAL);
    ward_store_close(&st);

    /* An anchor checks an untouched log too, including an older head. */
    db_path(path, sizeof path, "anchored");
    make_log(path, 10);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_head(&st, &exported_seq, exported), WARD_OK);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 1, "session", "", "{}"), WARD_OK);
    CHECK_RC(ward_audit_verify_anchor(&st, &rep, exported_seq, exported), WARD_OK);
    CHECK(rep.intact && rep.entries == 11);
    CHECK_RC(ward_audit_verify_anchor(&st, &rep, 12, exported), WARD_OK);
    CHECK(!rep.intact && rep.problem == WARD_AUDIT_ANCHOR && rep.first_bad_seq == 12);
    ward_store_close(&st);
    /* Truncated back past the anchor, head moved back too: the anchor tells. */
    tamper(path, UNGUARD "DELETE FROM ward_audit WHERE seq > 8;"
                         " UPDATE ward_meta SET value = 8 WHERE key = 'audit_head_seq';"
                         " UPDATE ward_meta SET value = (SELECT hash FROM ward_audit WHERE seq = 8)"
                         " WHERE key = 'audit_head_hash'");
    rep = verify_file(path);
    CHECK(rep.intact);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_audit_verify_anchor(&st, &rep, exported_seq, exported), WARD_OK);
    CHECK(!rep.intact && rep.problem == WARD_AUDIT_ANCHOR && rep.first_bad_seq == 9);
    ward_store_close(&st);
}


/* A batch of relaxed appends in one commit: all of it lands (the chain
 * verifies, seqs follow on), a batch ended without commit leaves nothing,
 * a batch cannot start inside a caller's transaction, and afterwards the
 * store is back to synchronous=FULL (2). */
static void test_batch(void) {
    char path[512];
    db_path(path, sizeof path, "batch");
    ward_store st;
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    uint64_t seq = 0;
    CHECK_RC(ward_audit_append_relaxed(&st, &seq, NULL, 1, "session-done", "a0", "{}"), WARD_OK);
    CHECK_RC(ward_audit_batch_begin(&st), WARD_OK);
    for (int i = 1; i <= 3; i++) {
        char sess[16];
        snprintf(sess, sizeof sess, "a%d", i);
        CHECK_RC(ward_audit_append_relaxed(&st, &seq, NULL, 1 + i, "session-done", sess, "{}"), WARD_OK);
        CHECK_EQ_U64(seq, (uint64_t)i + 1);
    }
    CHECK_RC(ward_audit_batch_end(&st, 1), WARD_OK);
    CHECK_RC(ward_audit_batch_begin(&st), WARD_OK);
    CHECK_RC(ward_audit_append_relaxed(&st, &seq, NULL, 9, "session-done", "bad0", "{}"), WARD_OK);
    CHECK_RC(ward_audit_batch_end(&st, 0), WARD_OK);
    /* A batch that a failure rolled back underneath: its end says so. */
    CHECK_RC(ward_audit_batch_begin(&st), WARD_OK);
    CHECK_RC(ward_audit_append_relaxed(&st, &seq, NULL, 10, "session-done", "bad1", "{}"), WARD_OK);
    CHECK(sqlite3_exec(st.db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_RC(ward_audit_batch_end(&st, 1), WARD_EIO);
    CHECK_RC(ward_store_begin(&st), WARD_OK);
    CHECK_RC(ward_audit_batch_begin(&st), WARD_ESTATE);
    CHECK_RC(ward_store_rollback(&st), WARD_OK);
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(st.db, "PRAGMA synchronous", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 2);
    sqlite3_finalize(q);
    ward_audit_report rep;
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact);
    CHECK_EQ_U64(rep.entries, 4);
    CHECK_RC(ward_store_close(&st), WARD_OK);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ward-audit-XXXXXX");
    CHECK(mkdtemp(tmp_dir) != NULL);
    test_hash_encoding();
    test_append_list_verify();
    test_tampering();
    test_batch();
    if (!getenv("WARD_TEST_KEEP")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
    return check_done("audit");
}
