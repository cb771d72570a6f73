/* The node's audit log: an append-only, hash-chained list of what the node
 * did with its data (imports, sessions, privacy spends, refusals), kept in
 * the node database (table ward_audit, see docs/storage.md).
 *
 * Entry n carries seq = n (1, 2, 3, ... without gaps), the caller's time,
 * a kind, a session id and a details text, plus prev_hash (the hash of
 * entry n - 1; 32 zero bytes for entry 1) and
 *
 *   hash = SHA-256( F("ward.audit.v1") || F(u64be(seq)) || F(i64be(time_ms))
 *                   || F(kind) || F(session) || F(details) || F(prev_hash) )
 *
 * where F(x) is the 8-byte big-endian length of x followed by x. The
 * newest entry's seq and hash (the head) are also kept in ward_meta, so
 * removing entries from the end is detected too. ward_audit_verify() finds
 * an altered, removed, inserted or reordered entry; it cannot detect a
 * rewrite of the whole chain together with the head by someone who can
 * write the database file, unless the head has been recorded elsewhere:
 * export ward_audit_head() regularly and check it with
 * ward_audit_verify_anchor().
 */
#ifndef WARD_AUDIT_H
#define WARD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define WARD_AUDIT_HASH_BYTES 32
#define WARD_AUDIT_KIND_MAX 32          /* bytes of a kind */
#define WARD_AUDIT_SESSION_MAX 128      /* hex digits of a session id */
#define WARD_AUDIT_DETAILS_MAX ((size_t)1 << 20)

typedef struct {
    uint64_t seq;
    int64_t time_ms;
    const char *kind;       /* [a-z][a-z0-9_.-]*, e.g. "import", "session", "spend" */
    const char *session;    /* lowercase hex, or "" */
    const char *details;    /* the caller's text (JSON by convention), NUL-terminated */
    size_t details_len;
    uint8_t prev_hash[WARD_AUDIT_HASH_BYTES];
    uint8_t hash[WARD_AUDIT_HASH_BYTES];
} ward_audit_entry;

/* Computes an entry's hash from its fields (see above). kind, session and
 * details are byte strings of the given lengths. Returns 0 or WARD_EINVAL. */
int ward_audit_hash(uint8_t out[WARD_AUDIT_HASH_BYTES], uint64_t seq, int64_t time_ms,
                    const char *kind, size_t kind_len, const char *session, size_t session_len,
                    const char *details, size_t details_len,
                    const uint8_t prev_hash[WARD_AUDIT_HASH_BYTES]);

/* Appends one entry. kind must match [a-z][a-z0-9_.-]{0,31}, session must
 * be "" or lowercase hex of at most 128 digits, details valid UTF-8 (the
 * caller's JSON, stored verbatim); otherwise WARD_EINVAL. Details longer
 * than WARD_AUDIT_DETAILS_MAX: WARD_ETOOBIG. Inside a caller's transaction
 * (ward_store_begin) the entry commits or rolls back with it; otherwise it
 * is committed before this returns. seq_out and hash_out may be NULL.
 * Returns 0, WARD_ESTATE when the log does not continue from its recorded
 * head (it was tampered with: run ward_audit_verify), or WARD_EIO. */
int ward_audit_append(ward_store *st, uint64_t *seq_out,
                      uint8_t hash_out[WARD_AUDIT_HASH_BYTES], int64_t time_ms, const char *kind,
                      const char *session, const char *details);

/* ward_audit_append without waiting for the disk: outside a caller's
 * transaction the entry is committed with synchronous=NORMAL (in WAL mode:
 * written to the log file, not yet flushed), so a crash of the process
 * loses nothing but a power cut may lose it until the log file is flushed,
 * by the next synchronous commit, a checkpoint, or the caller's own
 * fdatasync() of the database's "-wal" file (the node's driver does that
 * off its event loop after each event). For records written after the fact
 * (a session's outcome); anything that must be on disk before something
 * else happens (a budget charge before a release) uses ward_audit_append.
 * Same arguments and errors. */
int ward_audit_append_relaxed(ward_store *st, uint64_t *seq_out,
                              uint8_t hash_out[WARD_AUDIT_HASH_BYTES], int64_t time_ms,
                              const char *kind, const char *session, const char *details);

/* A batch of entries written after the fact, in one transaction committed
 * as ward_audit_append_relaxed commits one entry (no wait for the disk):
 * ward_audit_batch_begin, then ward_audit_append_relaxed per entry (each
 * runs in a savepoint of the batch), then ward_audit_batch_end, which
 * commits (commit = 1) or rolls back, and restores synchronous=FULL either
 * way. One commit instead of one per entry. A database failure inside an
 * entry rolls the whole batch back; ward_audit_batch_end(st, 1) then
 * returns WARD_EIO, and none of the batch stands. Returns 0, WARD_ESTATE
 * (begin: a transaction is already open) or WARD_EIO. */
int ward_audit_batch_begin(ward_store *st);
int ward_audit_batch_end(ward_store *st, int commit);

/* The recorded head: the newest entry's seq and hash (0 and 32 zero bytes
 * for an empty log). Returns 0 or WARD_EIO. */
int ward_audit_head(ward_store *st, uint64_t *seq, uint8_t hash[WARD_AUDIT_HASH_BYTES]);

/* Calls fn for each entry with since_seq <= seq, in order, at most `limit`
 * entries (0: no limit). The entry's pointers are valid during the call
 * only. A non-zero return from fn stops the listing and is returned.
 * Entries are listed as stored, without verification. Returns 0,
 * WARD_ENOMEM or WARD_EIO. */
typedef int (*ward_audit_fn)(void *ctx, const ward_audit_entry *entry);
int ward_audit_list(ward_store *st, uint64_t since_seq, uint64_t limit, ward_audit_fn fn,
                    void *ctx);

typedef enum {
    WARD_AUDIT_OK = 0,
    WARD_AUDIT_ALTERED,   /* an entry's fields do not match its hash (edited, moved or swapped) */
    WARD_AUDIT_MISSING,   /* a seq is absent: an entry was removed from the middle */
    WARD_AUDIT_LINK,      /* prev_hash does not match the previous entry (replaced, reordered) */
    WARD_AUDIT_TRUNCATED, /* entries at the end were removed (the head names a later seq) */
    WARD_AUDIT_HEAD,      /* the recorded head disagrees with the last entry, or is missing */
    WARD_AUDIT_ANCHOR     /* the entry at an exported head's seq has another hash, or is gone */
} ward_audit_problem;

typedef struct {
    int intact;                 /* 1 when every check passed */
    uint64_t entries;           /* entries read */
    ward_audit_problem problem; /* the first problem found */
    uint64_t first_bad_seq;     /* the seq it concerns (0 when intact) */
    char reason[160];           /* one line, for `ward audit --verify` */
    uint64_t head_seq;          /* the recorded head */
    uint8_t head_hash[WARD_AUDIT_HASH_BYTES];
} ward_audit_report;

/* Walks the whole chain from seq 1 and checks every entry's hash, the seq
 * sequence, every prev_hash link, and the last entry against the recorded
 * head. Returns 0 when the check ran (report->intact says whether the log
 * is intact, and if not, the first bad seq and why), or WARD_EIO /
 * WARD_ENOMEM when the database could not be read. */
int ward_audit_verify(ward_store *st, ward_audit_report *report);

/* As ward_audit_verify(), and also checks the chain against a head
 * exported earlier (from ward_audit_head()): the entry at anchor_seq must
 * exist and have hash anchor_hash. This catches what the chain alone cannot:
 * a rewrite of entries up to the anchor together with the recorded head.
 * anchor_seq 0 checks nothing extra. */
int ward_audit_verify_anchor(ward_store *st, ward_audit_report *report, uint64_t anchor_seq,
                             const uint8_t anchor_hash[WARD_AUDIT_HASH_BYTES]);

/* Short names for the problems: "ok", "altered", "missing", "link",
 * "truncated", "head", "anchor". */
const char *ward_audit_problem_name(ward_audit_problem p);

#endif
