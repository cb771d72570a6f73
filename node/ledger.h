/* The privacy ledger: every differentially private release of this node,
 * per table and sensitivity class, in the accountant's unit (rho of zCDP;
 * docs/privacy.md, "Ledger"). It lives in the node database (table
 * ward_ledger, created on first open; docs/storage.md) and every spend is
 * also an audit entry (kind "spend"), written in the same transaction.
 *
 * Crash safety: ward_ledger_debit commits (synchronous = FULL, so the
 * commit is on disk) before it returns, and the caller sends nothing that
 * depends on its data before that; so after any crash the ledger holds at
 * least every release that left. A session is charged at most once (the
 * session id is unique in the table).
 *
 * Tamper evidence: the audit log is hash-chained (audit.h). On open the
 * ledger verifies the chain and recomputes every class's total from the
 * audit log's spend entries, which must match the ledger's rows one for
 * one, in order; any difference marks the ledger broken: it refuses every
 * debit and says why (ward_ledger_problem). The totals in memory are the
 * audit log's.
 *
 * Nothing here reads a clock: spends are ordered by their sequence number,
 * and the time given to ward_ledger_debit only goes into the audit entry.
 *
 * Like the store, a ward_ledger is caller-allocated and used from one
 * thread; it borrows the store, which must stay open while it is used.
 */
#ifndef WARD_LEDGER_H
#define WARD_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "dp_account.h"
#include "store.h"

#define WARD_LEDGER_CLASSES 3

typedef struct {
    ward_store *st;                      /* NULL until opened */
    int broken;                          /* the ledger disagrees with the audit log */
    char problem[256];                   /* why, when broken */
    char msg[256];                       /* the last failure's message */
    double spent[WARD_LEDGER_CLASSES];   /* rho per class (ward_dp_class) */
    uint64_t releases;                   /* spends so far */
    uint64_t last_seq;                   /* the newest spend's sequence number */
} ward_ledger;

/* Opens the ledger on an open store: creates its table when absent, then
 * verifies it against the audit log. Returns 0; WARD_ESTATE when it is
 * broken (ledger->problem says why; the ledger stays usable for reports
 * and refuses debits); WARD_EIO or WARD_ENOMEM (ledger->msg). */
int ward_ledger_open(ward_ledger *l, ward_store *st);

/* The problem of a broken ledger, or NULL when it is sound. */
const char *ward_ledger_problem(const ward_ledger *l);

/* The class's spends, composed (rho adds). */
double ward_ledger_spent(const ward_ledger *l, ward_dp_class cls);

typedef struct {
    const char *session;     /* lowercase hex session id, 1..128 digits */
    const char *table;
    ward_dp_class cls;
    double rho;              /* > 0, finite */
    double epsilon, delta;   /* the release's own (epsilon, delta), for the record */
} ward_ledger_spend;

/* Charges one release: in one committed transaction, a ledger row and its
 * audit entry, if the class's spends plus rho stay within class_limit.
 * Returns 0 (then *seq, which may be NULL, is the spend's number); WARD_EINVAL
 * for a malformed spend; WARD_EOVERFLOW when the class cannot pay (nothing
 * written); WARD_ESTATE when the ledger is broken or the session was
 * charged before; WARD_EIO when the database failed (nothing written). */
int ward_ledger_debit(ward_ledger *l, uint64_t *seq, const ward_ledger_spend *sp,
                      double class_limit, int64_t time_ms);

typedef struct {
    double table_spent;       /* rho of the table's own spends */
    uint64_t table_releases;  /* how many */
    uint32_t recent_table;    /* the table's spends among the class's last `window` */
    uint32_t recent_class;    /* spends in that window */
} ward_ledger_stats;

/* The allocator's view of one table (allocator.h). window >= 1. Returns 0,
 * WARD_EIO or WARD_EINVAL. */
int ward_ledger_table_stats(ward_ledger *l, ward_ledger_stats *out, const char *table,
                            ward_dp_class cls, uint32_t window);

/* Calls fn for each spend, oldest first. fn's strings are valid during the
 * call. A non-zero return stops the walk and is returned. */
typedef int (*ward_ledger_fn)(void *ctx, uint64_t seq, const char *session, const char *table,
                              ward_dp_class cls, double rho);
int ward_ledger_list(ward_ledger *l, ward_ledger_fn fn, void *ctx);

/* "high", "medium", "low"; WARD_EPARSE for anything else. */
const char *ward_ledger_class_name(ward_dp_class cls);
int ward_ledger_class_parse(ward_dp_class *cls, const char *name);

#endif
