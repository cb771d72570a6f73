/* Decisions across many departments (`ward max | argmax | threshold`).
 *
 * Every party computes its local aggregate of table.column (the sum, the
 * largest value or the row count over its rows that satisfy --where),
 * encodes it as a signed 64-bit integer at the session's decimal scale and
 * splits it into two additive shares mod 2^64, one for each of the two
 * computing nodes A (the garbler) and B (the evaluator). A and B then run
 * one two-party garbled-circuit session (session_gc.c, gc_start_owned)
 * whose circuit adds the shares of each party back together inside the
 * circuit and outputs only the decision: the largest aggregate, the index
 * of the party that holds it (the lowest on a tie; both map it to the name
 * through the sorted party list), or whether the total exceeds T
 * (crypto/circuit_build.h, ward_circuit_build_shared_*).
 *
 * Rounds, over the authenticated channels:
 *   0  PROPOSE(DecideSpec, nonce) from the proposer to every other party;
 *      each checks its policy (the proposer, A and B, who learn the output,
 *      must be allowed the operation on table.column, and exact results
 *      must be allowed), computes its local aggregate (it stays local) and
 *      answers ACCEPT or REJECT.
 *   1  COMMIT(parties) from the proposer once every party accepted.
 *   2  GC_DATA(GC_INPUT_SHARE): every party sends share r to A and
 *      v - r mod 2^64 to B (this is the moment of release).
 *   -  A and B, once each holds one share from every party, run the
 *      garbled circuit (A's shares are input 0, B's input 1); both learn
 *      the output.
 *   3  RESULT(data = the 8-byte output) from A to the proposer (unless the
 *      proposer is A or B), then RESULT(no data) from the proposer to every
 *      other party: a completion notice without the output.
 * Any party may ABORT; timeouts and lost channels end the session with an
 * error naming who was missing.
 *
 * What each node sees: a share alone is uniform, so A (or B) alone learns
 * nothing of any party's aggregate beyond the output; the garbled circuit
 * shows A and B only the output (semi-honest, one of the two corrupted at
 * most). The proposer, A and B learn the output; the other parties learn
 * that the session ended. Nothing is differentially private: the output is
 * exact, and each party's policy must allow exact results.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "circuit_build.h"
#include "core_internal.h"
#include "error.h"
#include "fixedpoint.h"
#include "hex.h"
#include "session_common.h"
#include "store_query.h"

enum { R_PROPOSE = 0, R_COMMIT = 1, R_SHARES = 2, R_RESULT = 3 };

#define DECIDE_BITS 64
#define DECIDE_MAX_PARTIES 256
/* The local maximum of a party without a row (--agg max): the smallest
 * 64-bit value, which no real value may take (encoding refuses it). */
#define DECIDE_NONE INT64_MIN

typedef struct decide_session {
    session_base b;              /* first: on c->decides (session_common.h) */
    const Ward__Wire__DecideSpec *d;
    size_t pa, pb;               /* positions: A, B */
    int committed;               /* COMMIT received (or sent) */
    int shared;                  /* our shares went out */
    int64_t local;               /* our encoded local aggregate (secret) */
    uint8_t *got;                /* A, B: a share received, per party */
    uint64_t *shares;            /* A, B: each party's share (secret) */
    int gc_running;
    uint64_t and_gates;
} decide_session;

/* ---- helpers ---------------------------------------------------------- */

static const char *op_name(int op) {
    switch (op) {
    case WARD__WIRE__DECIDE_OP__DECIDE_OP_MAX: return "max";
    case WARD__WIRE__DECIDE_OP__DECIDE_OP_ARGMAX: return "argmax";
    case WARD__WIRE__DECIDE_OP__DECIDE_OP_THRESHOLD: return "threshold";
    default: return "?";
    }
}

static const char *agg_name(int agg) {
    switch (agg) {
    case WARD__WIRE__DECIDE_AGG__DECIDE_AGG_SUM: return "sum";
    case WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX: return "max";
    case WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT: return "count";
    default: return "?";
    }
}

static const char *rname(const ward_core *c, long idx) { return c->roster->members[idx].name; }

static decide_session *find_session(ward_core *c, const uint8_t id[32]) {
    return (decide_session *)session_find(c->decides, id);
}

static void free_session(decide_session *s) {
    if (!s) return;
    sodium_memzero(&s->local, sizeof s->local);
    if (s->shares) sodium_memzero(s->shares, s->b.n * sizeof *s->shares);
    free(s->shares);
    free(s->got);
    session_base_clear(&s->b);
    free(s);
}

static void unlink_session(ward_core *c, decide_session *s) { session_unlink(&c->decides, &s->b); }

static long pos_of(const decide_session *s, long idx) { return session_pos_of(&s->b, idx); }

static int computing(const decide_session *s) { return s->b.me == s->pa || s->b.me == s->pb; }

static void send_env(ward_core *c, ward_actions *out, decide_session *s, long to, int kind,
                     int round, ward_envelope *e) {
    session_send_env(c, out, &s->b, to, kind, (uint32_t)round, e);
}

static void audit(ward_core *c, ward_actions *out, decide_session *s, const char *kind,
                  const char *outcome, uint64_t now) {
    if (!c->store || !s->d) return;
    char details[1536], esc[512];
    /* Our own text, but it may quote names: keep it JSON-safe. */
    session_json_safe(esc, sizeof esc, outcome);
    int off = snprintf(details, sizeof details,
                       "{\"kind\":\"decide\",\"op\":\"%s\",\"agg\":\"%s\",\"table\":\"%s\","
                       "\"column\":\"%s\",\"proposer\":\"%s\",\"compute\":[\"%s\",\"%s\"],"
                       "\"outcome\":\"%s\",\"parties\":[",
                       op_name(s->d->op), agg_name(s->d->agg), s->d->table, s->d->column,
                       rname(c, s->b.proposer), s->d->garbler, s->d->evaluator, esc);
    session_audit_append(c, out, &s->b, kind, details, sizeof details, off, now);
}

/* Ends a session in failure: stops its garbled circuit, tells the other
 * parties (when asked), replies to the caller, records it. */
static void fail_session(ward_core *c, ward_actions *out, decide_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void fail_session(ward_core *c, ward_actions *out, decide_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unlink_session(c, s);
    if (s->gc_running) {
        s->gc_running = 0;
        gc_cancel_owned(c, out, s->b.id, msg, now);
    }
    if (notify) session_send_abort(c, out, &s->b, reason, msg, R_RESULT, NULL);
    session_reply_failure(c, out, &s->b, code, msg);
    core_log(c, out, WARD_LOG_WARN, "session %.16s (%s of %s %s.%s) aborted: %s", s->b.id_hex,
             s->d ? op_name(s->d->op) : "?", s->d ? agg_name(s->d->agg) : "?",
             s->d ? s->d->table : "?", s->d ? s->d->column : "?", msg);
    audit(c, out, s, "session-aborted", msg, now);
    c->stats.sessions_failed++;
    free_session(s);
}

/* A session that ended well on this node: recorded and forgotten. */
static void done_session(ward_core *c, ward_actions *out, decide_session *s, const char *outcome,
                         uint64_t now) {
    unlink_session(c, s);
    core_log(c, out, WARD_LOG_INFO, "session %.16s: %s of %s %s.%s done", s->b.id_hex,
             op_name(s->d->op), agg_name(s->d->agg), s->d->table, s->d->column);
    audit(c, out, s, "session-done", outcome, now);
    c->stats.sessions_done++;
    free_session(s);
}

/* v / 10^k in decimal, without trailing zeros. */
static void fmt_scaled(char *out, size_t cap, int64_t v, unsigned k) {
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, p = ward_fixed_pow10(k);
    if (k == 0) {
        snprintf(out, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)m);
        return;
    }
    int len = snprintf(out, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(m / p),
                       (int)k, (unsigned long long)(m % p));
    if (len <= 0 || (size_t)len >= cap) return;
    while (len > 0 && out[len - 1] == '0') out[--len] = '\0';
    if (len > 0 && out[len - 1] == '.') out[--len] = '\0';
}

/* ---- the spec and the local aggregate ---------------------------------- */

/* Validates an unpacked spec against the roster and fills the party list.
 * Writes a reason into why on failure. */
static int bind_spec(ward_core *c, decide_session *s, char *why, size_t cap) {
    if (s->b.spec->spec_case != WARD__WIRE__SESSION_SPEC__SPEC_DECIDE || !s->b.spec->decide) {
        snprintf(why, cap, "not a decide spec");
        return WARD_EUNSUPPORTED;
    }
    const Ward__Wire__DecideSpec *d = s->b.spec->decide;
    s->d = d;
    if (d->op < WARD__WIRE__DECIDE_OP__DECIDE_OP_MAX || d->op > WARD__WIRE__DECIDE_OP__DECIDE_OP_THRESHOLD ||
        d->agg < WARD__WIRE__DECIDE_AGG__DECIDE_AGG_SUM || d->agg > WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT) {
        snprintf(why, cap, "unknown decision or aggregate");
        return WARD_EUNSUPPORTED;
    }
    if (d->table[0] == '\0' || (d->column[0] == '\0' && d->agg != WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT) ||
        d->scale > WARD_FIXED_MAX_SCALE ||
        (d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_THRESHOLD && d->agg == WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX)) {
        snprintf(why, cap, "malformed decision spec");
        return WARD_EPARSE;
    }
    if (d->n_parties < 2 || d->n_parties > DECIDE_MAX_PARTIES || d->n_parties > c->roster->n_members) {
        snprintf(why, cap, "bad party list");
        return WARD_EPARSE;
    }
    s->b.n = d->n_parties;
    s->b.party = calloc(s->b.n, sizeof *s->b.party);
    s->b.accepted = calloc(s->b.n, 1);
    if (!s->b.party || !s->b.accepted) return WARD_ENOMEM;
    long me = -1, pa = -1, pb = -1;
    for (size_t i = 0; i < s->b.n; i++) {
        long idx = ward_roster_find(c->roster, d->parties[i]);
        if (idx < 0 || (i > 0 && strcmp(d->parties[i - 1], d->parties[i]) >= 0)) {
            snprintf(why, cap, "party list must name roster members in ascending order");
            return WARD_EPARSE;
        }
        s->b.party[i] = idx;
        if (idx == c->self) me = (long)i;
        if (strcmp(d->parties[i], d->garbler) == 0) pa = (long)i;
        if (strcmp(d->parties[i], d->evaluator) == 0) pb = (long)i;
    }
    if (me < 0 || pos_of(s, s->b.proposer) < 0 || pa < 0 || pb < 0 || pa == pb) {
        snprintf(why, cap, me < 0 ? "this node is not a party"
                           : pa < 0 || pb < 0 || pa == pb
                               ? "the computing nodes must be two different parties"
                               : "the proposer is not a party");
        return WARD_EPARSE;
    }
    s->b.me = (size_t)me;
    s->pa = (size_t)pa;
    s->pb = (size_t)pb;
    if (computing(s)) {
        s->got = calloc(s->b.n, 1);
        s->shares = calloc(s->b.n, sizeof *s->shares);
        if (!s->got || !s->shares) return WARD_ENOMEM;
    }
    return WARD_OK;
}

/* The policy check and the local query of one party: s->local holds the
 * encoded local aggregate on success. */
static int prepare_local(ward_core *c, decide_session *s, int *reason, char *why, size_t cap) {
    const Ward__Wire__DecideSpec *d = s->d;
    int exact_ok = c->cfg.policy ? c->cfg.policy->exact : c->cfg.allow_exact;
    if (!exact_ok) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, cap, "%s: policy forbids exact results (max, argmax and threshold are exact)",
                 c->name);
        return WARD_EINVAL;
    }
    /* The proposer, A and B learn the output: each must be allowed this
     * operation on the table and column. */
    long who[3] = {s->b.proposer, s->b.party[s->pa], s->b.party[s->pb]};
    for (int i = 0; c->cfg.policy && i < 3; i++) {
        if (who[i] == c->self) continue;
        char rule[256];
        if (!ward_policy_allows(c->cfg.policy, rule, sizeof rule, rname(c, who[i]), d->table,
                                d->column, op_name(d->op))) {
            *reason = WARD__WIRE__REASON__REASON_POLICY;
            snprintf(why, cap, "%s: %s", c->name, rule);
            return WARD_EINVAL;
        }
    }
    if (!c->store) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, cap, "%s has no database", c->name);
        return WARD_ENOTFOUND;
    }
    int64_t v = 0;
    unsigned scale = 0;
    int found = 1, rc;
    if (d->agg == WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX) {
        rc = ward_store_column_max(c->store, &v, &found, &scale, d->table, d->column, d->where);
    } else {
        ward_agg_local *loc = malloc(sizeof *loc);
        if (!loc) return WARD_ENOMEM;
        rc = ward_store_aggregate(c->store, loc, d->table, d->column, d->where, "", NULL, 0);
        if (rc == WARD_OK) {
            int count = d->agg == WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT;
            v = count ? loc->counts[0] : loc->sums[0];
            scale = count ? 0 : loc->scale;
        }
        sodium_memzero(loc, sizeof *loc);
        free(loc);
    }
    if (rc != WARD_OK) {
        *reason = rc == WARD_ENOTFOUND ? WARD__WIRE__REASON__REASON_UNKNOWN_TABLE
                                       : WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, cap, "%s: %s", c->name, ward_store_errmsg(c->store));
        return rc;
    }
    /* At the session's scale: a column with fewer decimals is multiplied up
     * exactly; one with more is refused (rounding would not be exact). */
    if (scale > d->scale) {
        sodium_memzero(&v, sizeof v);
        *reason = WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, cap, "%s: column %s.%s has %u decimals, more than the session's %u", c->name,
                 d->table, d->column, scale, d->scale);
        return WARD_EINVAL;
    }
    int64_t up = (int64_t)ward_fixed_pow10(d->scale - scale);
    if (!found) {
        v = DECIDE_NONE;
    } else if (__builtin_mul_overflow(v, up, &v) || v == DECIDE_NONE) {
        sodium_memzero(&v, sizeof v);
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, cap, "%s: the local %s of %s.%s does not fit a signed 64-bit integer at "
                 "scale 10^%u", c->name, agg_name(d->agg), d->table, d->column, d->scale);
        return WARD_EOVERFLOW;
    }
    s->local = v;
    sodium_memzero(&v, sizeof v);
    return WARD_OK;
}

/* ---- rounds -------------------------------------------------------------- */

static void on_gc_done(ward_core *c, ward_actions *out, const uint8_t owner[32], int rc,
                       const uint8_t *obits, size_t nbits, const char *why, uint64_t now);

/* The session's circuit: public, a function of the spec alone. */
static int build_circuit(const decide_session *s, ward_circuit *circ) {
    const Ward__Wire__DecideSpec *d = s->d;
    return d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_MAX
               ? ward_circuit_build_shared_max(circ, s->b.n, DECIDE_BITS)
           : d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_ARGMAX
               ? ward_circuit_build_shared_argmax(circ, s->b.n, DECIDE_BITS)
               : ward_circuit_build_shared_threshold(circ, s->b.n, DECIDE_BITS, d->threshold);
}

/* A, B: once every party's share is here, the garbled circuit. */
static void maybe_start_gc(ward_core *c, ward_actions *out, decide_session *s, uint64_t now) {
    if (!computing(s) || s->gc_running || !s->committed) return;
    for (size_t i = 0; i < s->b.n; i++)
        if (!s->got[i]) return;
    ward_circuit circ;
    int rc = build_circuit(s, &circ);
    size_t nbits = s->b.n * DECIDE_BITS;
    uint8_t *bits = rc == WARD_OK ? malloc(nbits) : NULL;
    if (rc == WARD_OK && !bits) {
        ward_circuit_free(&circ);
        rc = WARD_ENOMEM;
    }
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "%s: cannot build the circuit: %s", c->name, ward_strerror(rc));
        return;
    }
    /* Our shares, party by party in name order, least significant bit first. */
    for (size_t j = 0; j < s->b.n; j++)
        for (size_t i = 0; i < DECIDE_BITS; i++) bits[j * DECIDE_BITS + i] = (uint8_t)((s->shares[j] >> i) & 1);
    sodium_memzero(s->shares, s->b.n * sizeof *s->shares);
    s->and_gates = circ.and_count;
    int garbler = s->b.me == s->pa;
    long other = s->b.party[garbler ? s->pb : s->pa];
    char name[64], why[300];
    snprintf(name, sizeof name, "decide-%.32s", s->b.id_hex);
    uint8_t id[32];
    memcpy(id, s->b.id, 32);
    s->gc_running = 1;
    s->b.deadline = now + 4 * (uint64_t)c->cfg.session_timeout_ms; /* a backstop: gc has its own */
    core_log(c, out, WARD_LOG_DEBUG, "session %.16s: garbled circuit with %s as %s, %llu AND gates",
             s->b.id_hex, rname(c, other), garbler ? "garbler" : "evaluator",
             (unsigned long long)s->and_gates);
    rc = gc_start_owned(c, out, other, name, &circ, garbler, bits, nbits, on_gc_done, id, why,
                        sizeof why, now);
    sodium_memzero(bits, nbits);
    free(bits);
    if (rc != WARD_OK) {
        /* Nothing started: the callback will not come. */
        decide_session *t = find_session(c, id);
        if (t) {
            t->gc_running = 0;
            fail_session(c, out, t, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                         "%s: cannot start the garbled circuit with %s: %s", c->name,
                         rname(c, other), why);
        }
    }
    /* s may be gone: the callback can run inside gc_start_owned. */
}

static void store_share(ward_core *c, ward_actions *out, decide_session *s, size_t p, uint64_t v,
                        uint64_t now) {
    if (s->got[p]) {
        if (sodium_memcmp(&s->shares[p], &v, sizeof v) != 0)
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent two different shares", rname(c, s->b.party[p]));
        return; /* a repeat */
    }
    s->shares[p] = v;
    s->got[p] = 1;
    if (s->b.deadline < now + c->cfg.session_timeout_ms) s->b.deadline = now + c->cfg.session_timeout_ms;
    maybe_start_gc(c, out, s, now);
}

/* After the COMMIT: our local aggregate, as r for A and v - r for B. */
static void send_shares(ward_core *c, ward_actions *out, decide_session *s, uint64_t now) {
    uint64_t share[2];
    share[0] = ward_rng_u64(c->rng);
    share[1] = (uint64_t)s->local - share[0];
    sodium_memzero(&s->local, sizeof s->local);
    s->shared = 1;
    uint8_t id[32];
    memcpy(id, s->b.id, 32);
    size_t to[2] = {s->pa, s->pb};
    for (int k = 0; k < 2; k++) {
        if (to[k] == s->b.me) continue;
        uint8_t b[8];
        for (int i = 0; i < 8; i++) b[i] = (uint8_t)(share[k] >> (8 * i));
        Ward__Wire__GcData gd;
        ward__wire__gc_data__init(&gd);
        gd.sub_kind = WARD__WIRE__GC_SUB_KIND__GC_INPUT_SHARE;
        gd.data.data = b;
        gd.data.len = sizeof b;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_GC_DATA;
        e.gc_data = &gd;
        send_env(c, out, s, s->b.party[to[k]], WARD__WIRE__KIND__KIND_GC_DATA, R_SHARES, &e);
        sodium_memzero(b, sizeof b);
    }
    /* Our own share last: storing it may start the circuit. */
    for (int k = 0; k < 2 && find_session(c, id) == s; k++)
        if (to[k] == s->b.me) store_share(c, out, s, s->b.me, share[k], now);
    sodium_memzero(share, sizeof share);
}

static void on_committed(ward_core *c, ward_actions *out, decide_session *s, uint64_t now) {
    s->committed = 1;
    /* The proposer waits for the output; A and B for the shares; the other
     * parties for the completion notice. */
    s->b.deadline = now + (computing(s) ? 2 : 4) * (uint64_t)c->cfg.session_timeout_ms;
    send_shares(c, out, s, now);
}

/* The proposer has the output: answer, tell the others, finish. */
static void deliver(ward_core *c, ward_actions *out, decide_session *s, uint64_t v, uint64_t now) {
    const Ward__Wire__DecideSpec *d = s->d;
    if (d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_ARGMAX && v >= s->b.n) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                     "the circuit's output %llu is not a party's index", (unsigned long long)v);
        return;
    }
    Ward__Control__DecideResult res;
    Ward__Control__Number num;
    ward__control__decide_result__init(&res);
    ward__control__number__init(&num);
    char vtext[48] = "", ttext[48] = "";
    res.op = (char *)op_name(d->op);
    res.agg = (char *)agg_name(d->agg);
    if (d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_MAX) {
        int64_t x = (int64_t)v;
        if (!(d->agg == WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX && x == DECIDE_NONE)) {
            fmt_scaled(vtext, sizeof vtext, x, d->scale);
            num.value = (double)x / (double)ward_fixed_pow10(d->scale);
            res.value = &num;
        }
    } else if (d->op == WARD__WIRE__DECIDE_OP__DECIDE_OP_ARGMAX) {
        res.name = d->parties[v];
    } else {
        res.exceeds = (v & 1) != 0;
        fmt_scaled(ttext, sizeof ttext, d->threshold, d->scale);
    }
    res.value_text = vtext;
    res.threshold_text = ttext;
    char *compute[2] = {d->garbler, d->evaluator};
    res.n_parties = d->n_parties;
    res.parties = d->parties;
    res.n_compute = 2;
    res.compute = compute;
    if (!s->and_gates) {
        /* Not a computing node: the count of the same public circuit. */
        ward_circuit circ;
        if (build_circuit(s, &circ) == WARD_OK) s->and_gates = circ.and_count;
        ward_circuit_free(&circ);
    }
    res.and_gates = s->and_gates;
    res.latency_ms = (double)(now - s->b.t0);
    res.session = s->b.id_hex;
    if (s->b.has_client) {
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = s->b.req_id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_DECIDE;
        r.decide = &res;
        core_reply(c, out, s->b.client, &r);
    }
    /* Everyone else who is not A or B: a notice without the output. */
    Ward__Wire__Result note;
    ward__wire__result__init(&note);
    for (size_t i = 0; i < s->b.n; i++) {
        if (i == s->b.me || i == s->pa || i == s->pb) continue;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RESULT;
        e.result = &note;
        send_env(c, out, s, s->b.party[i], WARD__WIRE__KIND__KIND_RESULT, R_RESULT, &e);
    }
    done_session(c, out, s, "output delivered to the proposer and the computing nodes", now);
}

static void on_gc_done(ward_core *c, ward_actions *out, const uint8_t owner[32], int rc,
                       const uint8_t *obits, size_t nbits, const char *why, uint64_t now) {
    decide_session *s = find_session(c, owner);
    if (!s) return;
    s->gc_running = 0;
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, rc, now,
                     "the garbled circuit between %s and %s failed: %s", s->d->garbler,
                     s->d->evaluator, why ? why : ward_strerror(rc));
        return;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < nbits && i < 64; i++) v |= (uint64_t)(obits[i] & 1) << i;
    if (s->b.me == (size_t)pos_of(s, s->b.proposer)) {
        deliver(c, out, s, v, now);
        return;
    }
    if (s->b.me == s->pa && (size_t)pos_of(s, s->b.proposer) != s->pb) {
        uint8_t b[8];
        for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
        Ward__Wire__Result res;
        ward__wire__result__init(&res);
        res.data.data = b;
        res.data.len = sizeof b;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RESULT;
        e.result = &res;
        send_env(c, out, s, s->b.proposer, WARD__WIRE__KIND__KIND_RESULT, R_RESULT, &e);
    }
    done_session(c, out, s, "output computed with the other computing node", now);
}

static void on_all_accepted(ward_core *c, ward_actions *out, decide_session *s, uint64_t now) {
    session_send_commit(c, out, &s->b, R_COMMIT, s->d->parties, NULL, 0);
    on_committed(c, out, s, now);
}

/* ---- entry points ---------------------------------------------------------- */

/* T as decimal text at the scale, exactly: more decimals than the scale
 * are refused rather than rounded. */
static int parse_threshold(int64_t *t, const char *text, unsigned scale, char *why, size_t cap) {
    const char *dot = strchr(text, '.');
    size_t dec = 0;
    if (dot) {
        size_t l = strlen(dot + 1);
        while (l > 0 && dot[l] == '0') l--; /* trailing zeros are exact */
        dec = l;
    }
    if (dec > scale) {
        snprintf(why, cap, "--threshold %s has %zu decimals, more than the session's scale (%u)",
                 text, dec, scale);
        return WARD_EINVAL;
    }
    int rc = ward_fixed_parse_decimal(t, text, strlen(text), scale, (uint64_t)INT64_MAX);
    if (rc != WARD_OK)
        snprintf(why, cap, rc == WARD_EOVERFLOW ? "--threshold %s is too large at scale 10^%u"
                                                : "--threshold must be a decimal number, not '%s'",
                 text, scale);
    return rc;
}

void decide_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
                  const Ward__Control__DecideRequest *req, uint64_t now) {
    Ward__Wire__DecideSpec d;
    ward__wire__decide_spec__init(&d);
    switch (req->op) {
    case WARD__CONTROL__DECIDE_OP__DECIDE_MAX: d.op = WARD__WIRE__DECIDE_OP__DECIDE_OP_MAX; break;
    case WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX: d.op = WARD__WIRE__DECIDE_OP__DECIDE_OP_ARGMAX; break;
    case WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD: d.op = WARD__WIRE__DECIDE_OP__DECIDE_OP_THRESHOLD; break;
    default:
        core_reply_error(c, out, client, req_id, WARD_EINVAL, "unknown decision (max, argmax, threshold)");
        return;
    }
    switch (req->agg) {
    case WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM: d.agg = WARD__WIRE__DECIDE_AGG__DECIDE_AGG_SUM; break;
    case WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX: d.agg = WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX; break;
    case WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT: d.agg = WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT; break;
    default:
        core_reply_error(c, out, client, req_id, WARD_EINVAL, "unknown --agg (sum, max, count)");
        return;
    }
    int thr = d.op == WARD__WIRE__DECIDE_OP__DECIDE_OP_THRESHOLD;
    if (req->table[0] == '\0' || (req->column[0] == '\0' && d.agg != WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT)) {
        core_reply_error(c, out, client, req_id, WARD_EINVAL, "%s needs TABLE.COLUMN", op_name(d.op));
        return;
    }
    if (thr != (req->threshold[0] != '\0')) {
        core_reply_error(c, out, client, req_id, WARD_EINVAL,
                         thr ? "threshold needs --threshold T" : "--threshold is for threshold only");
        return;
    }
    if (thr && d.agg == WARD__WIRE__DECIDE_AGG__DECIDE_AGG_MAX) {
        core_reply_error(c, out, client, req_id, WARD_EINVAL,
                         "threshold compares the total of the local aggregates: use --agg sum or count");
        return;
    }
    /* The parties: names in roster (ascending) order, this node always. */
    size_t nm = c->roster->n_members;
    char **parties = calloc(nm, sizeof *parties);
    if (!parties) {
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    size_t np = 0;
    int all = !req->parties || req->parties->all;
    for (size_t i = 0; i < nm; i++) {
        const char *name = c->roster->members[i].name;
        int in = all || (long)i == c->self;
        for (size_t j = 0; !in && j < req->parties->n_names; j++)
            in = strcmp(req->parties->names[j], name) == 0;
        if (in) parties[np++] = (char *)name;
    }
    char why[768] = "";
    int rc = WARD_OK;
    for (size_t j = 0; req->parties && j < req->parties->n_names && rc == WARD_OK; j++)
        if (ward_roster_find(c->roster, req->parties->names[j]) < 0) {
            snprintf(why, sizeof why, "'%s' is not in the roster", req->parties->names[j]);
            rc = WARD_ENOTFOUND;
        }
    /* The computing nodes: two different parties. */
    if (rc == WARD_OK && req->n_compute != 2) {
        snprintf(why, sizeof why, "--compute needs exactly two node names, A,B");
        rc = WARD_EINVAL;
    }
    for (size_t j = 0; rc == WARD_OK && j < 2; j++) {
        const char *x = req->compute[j];
        int is_party = 0;
        for (size_t i = 0; i < np; i++) is_party |= strcmp(parties[i], x) == 0;
        if (ward_roster_find(c->roster, x) < 0) {
            snprintf(why, sizeof why, "--compute: '%s' is not in the roster", x);
            rc = WARD_ENOTFOUND;
        } else if (!is_party) {
            snprintf(why, sizeof why, "--compute: %s is not one of the parties", x);
            rc = WARD_EINVAL;
        }
    }
    if (rc == WARD_OK && strcmp(req->compute[0], req->compute[1]) == 0) {
        snprintf(why, sizeof why, "--compute names %s twice; the two computing nodes must differ",
                 req->compute[0]);
        rc = WARD_EINVAL;
    }
    if (rc == WARD_OK && np > DECIDE_MAX_PARTIES) {
        snprintf(why, sizeof why, "at most %d parties", DECIDE_MAX_PARTIES);
        rc = WARD_ETOOBIG;
    }
    for (size_t i = 0; rc == WARD_OK && i < np; i++)
        if (!core_peer_connected(c, ward_roster_find(c->roster, parties[i]))) {
            snprintf(why, sizeof why, "party %s is not connected; the session was not started",
                     parties[i]);
            rc = WARD_ENOTFOUND;
        }
    /* The session's scale: 0 for counts and integer columns; for a decimal
     * column at the proposer, the largest scale an import infers (as for
     * aggregates, DECISIONS.md, Numbers). */
    if (rc == WARD_OK && c->store && d.agg != WARD__WIRE__DECIDE_AGG__DECIDE_AGG_COUNT) {
        ward_table_info t;
        if (ward_store_table_info(c->store, &t, req->table) == WARD_OK) {
            for (size_t i = 0; i < t.ncolumns; i++)
                if (strcmp(t.columns[i].name, req->column) == 0 && t.columns[i].type == WARD_COLTYPE_DECIMAL)
                    d.scale = t.columns[i].scale > WARD_STORE_INFER_MAX_SCALE ? t.columns[i].scale
                                                                               : WARD_STORE_INFER_MAX_SCALE;
            ward_table_info_clear(&t);
        }
    }
    if (rc == WARD_OK && thr) rc = parse_threshold(&d.threshold, req->threshold, d.scale, why, sizeof why);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, req_id, rc, "%s", why);
        free(parties);
        return;
    }
    d.table = req->table;
    d.column = req->column;
    d.where = req->where;
    d.n_parties = np;
    d.parties = parties;
    d.garbler = req->compute[0];
    d.evaluator = req->compute[1];
    Ward__Wire__SessionSpec spec;
    ward__wire__session_spec__init(&spec);
    spec.spec_case = WARD__WIRE__SESSION_SPEC__SPEC_DECIDE;
    spec.decide = &d;
    decide_session *s = calloc(1, sizeof *s);
    if (!s || session_pack_spec(&s->b, &spec) != WARD_OK) {
        free_session(s);
        free(parties);
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    free(parties);
    uint8_t nonce[WARD_WIRE_NONCE_BYTES];
    session_open(c, &s->b, client, req_id, now, nonce);
    int reason = 0;
    rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_ENOMEM;
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, req_id, rc, "%s", s->b.spec ? why : "out of memory");
        free_session(s);
        return;
    }
    rc = prepare_local(c, s, &reason, why, sizeof why);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, req_id, rc, "refused by %s", why);
        free_session(s);
        return;
    }
    session_link(&c->decides, &s->b);
    s->b.accepted[s->b.me] = 1;
    core_log(c, out, WARD_LOG_INFO, "session %.16s: proposing %s of %s %s.%s to %zu parties, "
             "computed by %s and %s", s->b.id_hex, op_name(s->d->op), agg_name(s->d->agg),
             s->d->table, s->d->column, s->b.n, s->d->garbler, s->d->evaluator);
    session_send_propose(c, out, &s->b, nonce, sizeof nonce);
}

static void on_propose(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                       uint64_t now) {
    const char *pn = rname(c, from);
    decide_session *s =
        (decide_session *)session_from_propose(c, out, c->decides, from, e, now, sizeof *s);
    if (!s) return;
    char why[768] = "malformed spec";
    int reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
    int rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_EPARSE;
    if (rc == WARD_OK) rc = prepare_local(c, s, &reason, why, sizeof why);
    if (rc == WARD_OK) {
        Ward__Wire__Accept acc;
        ward__wire__accept__init(&acc);
        session_send_accept(c, out, &s->b, from, &acc);
        session_link(&c->decides, &s->b);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: accepted %s of %s %s.%s from %s", s->b.id_hex,
                 op_name(s->d->op), agg_name(s->d->agg), s->d->table, s->d->column, pn);
    } else {
        session_send_reject(c, out, &s->b, from, reason, why);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: rejected proposal from %s: %s", s->b.id_hex,
                 pn, why);
        if (s->d && s->b.party) audit(c, out, s, "session-rejected", why, now);
        free_session(s);
    }
}

int decide_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                       uint64_t now) {
    if (e->kind == WARD__WIRE__KIND__KIND_PROPOSE) {
        int mine = session_proposal_is(e, WARD__WIRE__SESSION_SPEC__SPEC_DECIDE);
        if (mine) on_propose(c, out, from, e, now);
        return mine;
    }
    if (e->session_id.len != 32) return 0;
    decide_session *s = find_session(c, e->session_id.data);
    if (!s) return 0; /* finished, never ours, or another kind's */
    long p = session_sender_pos(c, out, &s->b, from);
    if (p < 0) return 1;
    const char *pn = rname(c, from);
    int proposer_here = s->b.proposer == c->self;
    switch (e->kind) {
    case WARD__WIRE__KIND__KIND_ACCEPT:
        if (!proposer_here || s->committed || s->b.accepted[p]) break;
        s->b.accepted[p] = 1;
        if (session_all_accepted(&s->b)) on_all_accepted(c, out, s, now);
        break;
    case WARD__WIRE__KIND__KIND_REJECT:
        if (!proposer_here || s->committed) break;
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_CANCELLED,
                     e->reject->code == WARD__WIRE__REASON__REASON_POLICY ? WARD_EINVAL : WARD_ESTATE,
                     now, "refused by %s", e->reject->text[0] ? e->reject->text : pn);
        break;
    case WARD__WIRE__KIND__KIND_COMMIT:
        if (from != s->b.proposer || s->committed) break;
        if (e->commit->n_parties != s->b.n) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "commit from %s names another party set", pn);
            break;
        }
        on_committed(c, out, s, now);
        break;
    case WARD__WIRE__KIND__KIND_GC_DATA: {
        const Ward__Wire__GcData *g = e->gc_data;
        if (computing(s) && s->gc_running && s->got[p]) break; /* a late repeat: the shares are gone */
        if (g->sub_kind != WARD__WIRE__GC_SUB_KIND__GC_INPUT_SHARE || e->round != R_SHARES ||
            !computing(s) || g->data.len != 8 || s->gc_running) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent a share that does not fit the session", pn);
            break;
        }
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) v |= (uint64_t)g->data.data[i] << (8 * i);
        store_share(c, out, s, (size_t)p, v, now);
        sodium_memzero(&v, sizeof v);
        break;
    }
    case WARD__WIRE__KIND__KIND_RESULT:
        if (proposer_here && (size_t)p == s->pa && s->committed && !computing(s)) {
            if (e->result->data.len != 8) {
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                             "%s sent a result of %zu bytes, not 8", pn, e->result->data.len);
                break;
            }
            uint64_t v = 0;
            for (int i = 0; i < 8; i++) v |= (uint64_t)e->result->data.data[i] << (8 * i);
            deliver(c, out, s, v, now);
        } else if (!proposer_here && from == s->b.proposer && s->shared && !computing(s)) {
            done_session(c, out, s, "completed (the output went to the proposer and the computing nodes)",
                         now);
        }
        break;
    case WARD__WIRE__KIND__KIND_ABORT:
        fail_session(c, out, s, 0, 0, WARD_ESTATE, now, "aborted by %s: %s", pn,
                     e->abort->text[0] ? e->abort->text : "no reason given");
        break;
    default:
        break;
    }
    return 1;
}

/* Whom a session still waits for, into who. */
static void waiting_for(const ward_core *c, const decide_session *s, char *who, size_t cap) {
    size_t off = 0;
    who[0] = '\0';
    for (size_t i = 0; i < s->b.n && off + 40 < cap; i++) {
        if (i == s->b.me) continue;
        int w;
        if (!s->committed) w = s->b.proposer == c->self ? !s->b.accepted[i] : s->b.party[i] == s->b.proposer;
        else if (computing(s) && !s->gc_running) w = !s->got[i];
        else if (s->b.proposer == c->self) w = i == s->pa || i == s->pb;
        else w = computing(s) ? (i == s->pa || i == s->pb) : s->b.party[i] == s->b.proposer;
        if (w) off += (size_t)snprintf(who + off, cap - off, "%s%s", off ? ", " : "", rname(c, s->b.party[i]));
    }
    if (!off) snprintf(who, cap, "the other parties");
}

void decide_on_tick(ward_core *c, ward_actions *out, uint64_t now) {
    for (decide_session *s = (decide_session *)c->decides, *next; s; s = next) {
        next = (decide_session *)s->b.next;
        if (now < s->b.deadline) continue;
        char who[300];
        waiting_for(c, s, who, sizeof who);
        uint64_t waited = now - s->b.t0;
        /* A party that only waits for the completion notice tells nobody. */
        int quiet = s->shared && !computing(s) && s->b.proposer != c->self;
        fail_session(c, out, s, !quiet, WARD__WIRE__REASON__REASON_TIMEOUT, WARD_ESTATE, now,
                     "timed out after %llu ms waiting for %s", (unsigned long long)waited, who);
        next = (decide_session *)c->decides; /* the list may have changed */
    }
}

void decide_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now) {
    for (int again = 1; again;) {
        again = 0;
        for (decide_session *s = (decide_session *)c->decides; s; s = (decide_session *)s->b.next) {
            long p = pos_of(s, idx);
            if (p < 0) continue;
            /* Does this session still need that party? Before the commit
             * every party; A and B the parties whose shares are missing,
             * each other and the proposer; the proposer A and B; another
             * party that already shared only the proposer's notice (and
             * then ends quietly: the others need not hear of it). */
            int need, quiet = 0;
            if (!s->committed) need = 1;
            else if (computing(s)) need = (!s->gc_running && !s->got[p]) || (size_t)p == s->pa ||
                                          (size_t)p == s->pb || idx == s->b.proposer;
            else if (s->b.proposer == c->self) need = (size_t)p == s->pa || (size_t)p == s->pb;
            else need = quiet = idx == s->b.proposer;
            if (!need) continue;
            fail_session(c, out, s, !quiet, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                         "lost the connection to party %s", rname(c, idx));
            again = 1;
            break;
        }
    }
}

void decide_on_client_closed(ward_core *c, uint64_t client) {
    session_forget_client(c->decides, client);
}

void decide_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now) {
    while (c->decides)
        fail_session(c, out, (decide_session *)c->decides, 1, WARD__WIRE__REASON__REASON_CANCELLED,
                     WARD_ESTATE, now, "%s", why);
}

void decide_free_all(ward_core *c) {
    while (c->decides) {
        decide_session *s = (decide_session *)c->decides;
        c->decides = s->b.next;
        free_session(s);
    }
}

uint32_t decide_from(const ward_core *c, long who) { return session_count_from(c->decides, who); }

uint32_t decide_active(const ward_core *c) { return session_count(c->decides); }
