/* Secret-shared aggregates (sum, count, mean, histogram), leaderless.
 *
 * Rounds, all over the authenticated channels:
 *   0  PROPOSE(spec, nonce) from the proposer to every other party;
 *      each answers ACCEPT or REJECT(reason) after checking its policy and
 *      its table, and computes its local aggregate (it stays local).
 *   1  COMMIT(parties) from the proposer once every party accepted.
 *   2  SHARES: every party splits its encoded local vector into one
 *      additive share per party over F_(2^61-1) and sends share j to
 *      party j (its own it keeps). This is the moment of release.
 *   3  SHARES: every party adds the n shares it holds and sends that
 *      partial sum to each output party.
 *   -  each output party adds the n partial sums: the result.
 * Any party may ABORT (timeout, lost peer, conflicting message); the
 * proposer's caller gets an error naming who or what failed.
 *
 * Privacy: a share alone is uniform; a partial sum is the sum of one share
 * of every party's vector, so it reveals nothing while at least one other
 * party's share stays hidden. Any n-1 colluding parties learn only what
 * the result and their own inputs imply (semi-honest, docs/protocol.md).
 *
 * Unless the spec says exact, the result is differentially private
 * (docs/privacy.md, "Releases"): the proposer fixes the noise and bounds in
 * the spec (propose_dp); at round 0 each party checks them, its budget and
 * the wrap check with the noise, and samples its noise share before its
 * local query, which clamps each row (prepare_dp); at round 2 it debits its
 * ledger in a committed transaction before its first share leaves, then
 * adds its noise (release_dp). The result carries epsilon and delta.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "allocator.h"
#include "audit.h"
#include "core_internal.h"
#include "dp_account.h"
#include "dp_release.h"
#include "error.h"
#include "field61.h"
#include "hex.h"
#include "session_common.h"
#include "share.h"
#include "ldp_report.h"
#include "store_ldp.h"
#include "store_query.h"

enum { PHASE_PROPOSED = 1, PHASE_COMMITTED = 2 };

#define WARD_AGG_ALL_TO_ALL_MAX 10
#define WARD_AGG_COMMITTEE 3
enum { ROUND_PROPOSE = 0, ROUND_COMMIT = 1, ROUND_SHARES = 2, ROUND_PARTIALS = 3 };

typedef struct agg_session {
    session_base b;                /* first: on c->sessions (session_common.h) */
    const Ward__Wire__AggregateSpec *agg;
    uint8_t *is_output;
    int phase;
    int partial_sent;              /* round 3 done: our shares are folded in */
    uint8_t *got_share, *got_partial;
    uint8_t *in_committee;         /* the parties that add up shares (all when k = 0) */
    uint64_t ldp_n;                /* AGG_LDP: our reports */
    size_t k;                      /* committee size */
    size_t len;                    /* vector length */
    size_t groups;
    ward_agg_local *loc;           /* our local aggregate (secret until encoded) and the labels */
    int open;                      /* groups are the union of the parties' keys (exact only) */
    ward_key_label *keys;          /* proposer, open: every party's keys, gathered */
    size_t n_keys;
    ward_f61 **early;              /* open: shares that came before the COMMIT, per party */
    size_t *early_len;
    ward_f61 *local;               /* our encoded vector (secret) */
    ward_f61 *acc_share, *acc_partial;
    unsigned scale;
    /* A differentially private release (not exact). */
    int dp;
    ward_dp_plan plan;             /* the spec's noise and what it costs us */
    ward_dp_class cls;             /* our table's sensitivity class */
    double class_limit;            /* the class's rho allowance */
    int debited;                   /* the ledger holds our charge */
    int64_t *noise;                /* our noise share (secret) until it is added */
} agg_session;

/* ---- helpers ---------------------------------------------------------- */

static agg_session *find_session(ward_core *c, const uint8_t id[32]) {
    return (agg_session *)session_find(c->sessions, id);
}

static void free_session(agg_session *s) {
    if (!s) return;
    if (s->local) sodium_memzero(s->local, s->len * sizeof *s->local);
    if (s->acc_share) sodium_memzero(s->acc_share, s->len * sizeof *s->acc_share);
    if (s->acc_partial) sodium_memzero(s->acc_partial, s->len * sizeof *s->acc_partial);
    if (s->noise) sodium_memzero(s->noise, ward_dp_plan_len(&s->plan) * sizeof *s->noise);
    free(s->noise);
    if (s->loc) sodium_memzero(s->loc, sizeof *s->loc);
    free(s->loc);
    free(s->keys);
    for (size_t i = 0; s->early && i < s->b.n; i++) {
        if (s->early[i]) sodium_memzero(s->early[i], s->early_len[i] * sizeof **s->early);
        free(s->early[i]);
    }
    free(s->early);
    free(s->early_len);
    free(s->local);
    free(s->acc_share);
    free(s->acc_partial);
    free(s->is_output);
    free(s->got_share);
    free(s->got_partial);
    free(s->in_committee);
    session_base_clear(&s->b);
    free(s);
}

static void unlink_session(ward_core *c, agg_session *s) { session_unlink(&c->sessions, &s->b); }

static long pos_of(const agg_session *s, long idx) { return session_pos_of(&s->b, idx); }

static const char *op_name(Ward__Wire__AggregateOp op) {
    switch (op) {
    case WARD__WIRE__AGGREGATE_OP__AGG_SUM: return "sum";
    case WARD__WIRE__AGGREGATE_OP__AGG_COUNT: return "count";
    case WARD__WIRE__AGGREGATE_OP__AGG_MEAN: return "mean";
    case WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM: return "histogram";
    case WARD__WIRE__AGGREGATE_OP__AGG_LDP: return "ldp";
    default: return "?";
    }
}

/* The largest |value| one party may contribute so that n of them cannot
 * wrap F_(2^61-1): n * bound < (p - 1) / 2 (DECISIONS.md, Numbers). */
static uint64_t f61_bound(size_t n) { return ((WARD_F61_P - 1) / 2 - 1) / (uint64_t)n; }

static void send_env(ward_core *c, ward_actions *out, agg_session *s, long to, int kind, int round,
                     ward_envelope *e) {
    session_send_env(c, out, &s->b, to, kind, (uint32_t)round, e);
}

static void audit(ward_core *c, ward_actions *out, agg_session *s, const char *kind,
                  const char *outcome, uint64_t now) {
    if (!c->store) return;
    char details[1024];
    int off = snprintf(details, sizeof details,
                       "{\"op\":\"%s\",\"table\":\"%s\",\"column\":\"%s\",\"group_by\":\"%s\","
                       "\"exact\":%s,\"proposer\":\"%s\",\"outcome\":\"%s\",\"parties\":[",
                       op_name(s->agg->op), s->agg->table, s->agg->column, s->agg->group_by,
                       s->agg->exact ? "true" : "false", c->roster->members[s->b.proposer].name, outcome);
    /* A record of what already happened: committed without waiting for
     * the disk, which the driver flushes off its event loop (audit.h). */
    session_audit_append(c, out, &s->b, kind, details, sizeof details, off, now);
}

/* Ends a session in failure: tells the others (when asked), replies to the
 * caller, records it. */
static void fail_session(ward_core *c, ward_actions *out, agg_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void fail_session(ward_core *c, ward_actions *out, agg_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (notify) session_send_abort(c, out, &s->b, reason, msg, (uint32_t)s->phase, NULL);
    session_reply_failure(c, out, &s->b, code, msg);
    core_log(c, out, WARD_LOG_WARN, "session %.16s (%s %s) aborted: %s", s->b.id_hex,
             op_name(s->agg->op), s->agg->table, msg);
    audit(c, out, s, "session-aborted", msg, now);
    c->stats.sessions_failed++;
    unlink_session(c, s);
    free_session(s);
}

/* ---- the spec ----------------------------------------------------------- */

/* Validates an unpacked spec against the roster and fills the party list.
 * Writes a reason into why on failure. */
static int bind_spec(ward_core *c, agg_session *s, char *why, size_t why_cap) {
    if (s->b.spec->spec_case != WARD__WIRE__SESSION_SPEC__SPEC_AGGREGATE) {
        snprintf(why, why_cap, "not an aggregate spec");
        return WARD_EUNSUPPORTED;
    }
    const Ward__Wire__AggregateSpec *a = s->b.spec->aggregate;
    s->agg = a;
    if (a->n_parties == 0 || a->n_parties > c->roster->n_members) {
        snprintf(why, why_cap, "bad party list");
        return WARD_EPARSE;
    }
    s->b.n = a->n_parties;
    s->b.party = calloc(s->b.n, sizeof *s->b.party);
    s->is_output = calloc(s->b.n, 1);
    s->b.accepted = calloc(s->b.n, 1);
    s->got_share = calloc(s->b.n, 1);
    s->got_partial = calloc(s->b.n, 1);
    if (!s->b.party || !s->is_output || !s->b.accepted || !s->got_share || !s->got_partial)
        return WARD_ENOMEM;
    long me = -1;
    for (size_t i = 0; i < s->b.n; i++) {
        long idx = ward_roster_find(c->roster, a->parties[i]);
        if (idx < 0 || (i > 0 && strcmp(a->parties[i - 1], a->parties[i]) >= 0)) {
            snprintf(why, why_cap, "party list must name roster members in ascending order");
            return WARD_EPARSE;
        }
        s->b.party[i] = idx;
        if (idx == c->self) me = (long)i;
    }
    if (me < 0) {
        snprintf(why, why_cap, "this node is not a party");
        return WARD_EPARSE;
    }
    s->b.me = (size_t)me;
    if (pos_of(s, s->b.proposer) < 0) {
        snprintf(why, why_cap, "the proposer is not a party");
        return WARD_EPARSE;
    }
    for (size_t i = 0; i < a->n_output; i++) {
        long idx = ward_roster_find(c->roster, a->output[i]);
        long p = idx < 0 ? -1 : pos_of(s, idx);
        if (p < 0) {
            snprintf(why, why_cap, "output party '%s' is not a party", a->output[i]);
            return WARD_EPARSE;
        }
        s->is_output[p] = 1;
    }
    if (a->n_output == 0) memset(s->is_output, 1, s->b.n);
    /* The committee: k parties starting at the proposer, in name order.
     * k = 1 would show one party every other party's whole input. */
    s->in_committee = calloc(s->b.n, 1);
    if (!s->in_committee) return WARD_ENOMEM;
    s->k = a->committee ? a->committee : s->b.n;
    if (s->k > s->b.n || (s->k < 2 && s->b.n > 1)) {
        snprintf(why, why_cap, "committee of %u with %zu parties", a->committee, s->b.n);
        return WARD_EPARSE;
    }
    long start = pos_of(s, s->b.proposer);
    for (size_t j = 0; start >= 0 && j < s->k; j++) s->in_committee[((size_t)start + j) % s->b.n] = 1;
    if (a->field != WARD__WIRE__FIELD__FIELD_P61 || a->bound == 0 || a->bound > f61_bound(s->b.n)) {
        snprintf(why, why_cap, "field or bound not usable with %zu parties", s->b.n);
        return WARD_EPARSE;
    }
    switch (a->op) {
    case WARD__WIRE__AGGREGATE_OP__AGG_SUM:
    case WARD__WIRE__AGGREGATE_OP__AGG_MEAN:
    case WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM:
        if (a->column[0] == '\0') {
            snprintf(why, why_cap, "%s needs a column", op_name(a->op));
            return WARD_EPARSE;
        }
        break;
    case WARD__WIRE__AGGREGATE_OP__AGG_COUNT: break;
    case WARD__WIRE__AGGREGATE_OP__AGG_LDP:
        if (!a->exact || a->group_by[0] || a->ldp_domain < 2 || a->ldp_domain > WARD_AGG_MAX_GROUPS) {
            snprintf(why, why_cap, "a local-DP estimate over at most %d values, without noise "
                     "or grouping", WARD_AGG_MAX_GROUPS);
            return WARD_EPARSE;
        }
        break;
    default:
        snprintf(why, why_cap, "unknown aggregate");
        return WARD_EUNSUPPORTED;
    }
    return WARD_OK;
}

/* ---- differential privacy ------------------------------------------------ */

ward_dp_class core_dp_class(ward_sensitivity sens) {
    return sens == WARD_SENSITIVITY_HIGH  ? WARD_DP_CLASS_HIGH
           : sens == WARD_SENSITIVITY_LOW ? WARD_DP_CLASS_LOW
                                          : WARD_DP_CLASS_MEDIUM;
}

int core_class_budget(const ward_core *c, core_budget *b, ward_dp_class cls) {
    memset(b, 0, sizeof *b);
    double eps, delta;
    if (c->cfg.policy) {
        eps = c->cfg.policy->epsilon;
        delta = c->cfg.policy->delta;
    } else {
        ward_policy *def = malloc(sizeof *def);
        if (!def) return WARD_ENOMEM;
        ward_policy_default(def, c->cfg.allow_exact);
        eps = def->epsilon;
        delta = def->delta;
        free(def);
    }
    int rc = ward_dp_class_budget(&b->epsilon_total, &b->delta_total, cls, eps, delta);
    if (rc == WARD_OK) rc = ward_dp_cdp_rho(&b->rho_total, b->epsilon_total, b->delta_total);
    if (rc != WARD_OK) return rc;
    b->rho_spent = c->ledger_open ? ward_ledger_spent(&c->ledger, cls) : 0;
    if (b->rho_spent > 0) {
        rc = ward_dp_cdp_epsilon(&b->epsilon_spent, b->rho_spent, b->delta_total);
        b->delta_spent = b->delta_total;
    }
    return rc;
}

static int dp_has_values(Ward__Wire__AggregateOp op) {
    return op == WARD__WIRE__AGGREGATE_OP__AGG_SUM || op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN;
}

static ward_dp_rel_op dp_op(Ward__Wire__AggregateOp op) {
    switch (op) {
    case WARD__WIRE__AGGREGATE_OP__AGG_SUM: return WARD_DP_REL_SUM;
    case WARD__WIRE__AGGREGATE_OP__AGG_MEAN: return WARD_DP_REL_MEAN;
    case WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM: return WARD_DP_REL_HISTOGRAM;
    default: return WARD_DP_REL_COUNT;
    }
}

/* What sessions of a class that accepted but have not debited yet hold:
 * their charges are counted before another session may accept, so that
 * sessions in flight together never promise more than the class has. */
static double reserved_rho(const ward_core *c, ward_dp_class cls, const agg_session *except) {
    double r = 0;
    for (const session_base *b = c->sessions; b; b = b->next) {
        const agg_session *x = (const agg_session *)b;
        if (x != except && x->dp && !x->debited && x->cls == cls) r = nextafter(r + x->plan.rho, INFINITY);
    }
    return r;
}

static const ward_column_info *column_of(const ward_table_info *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0) return &t->columns[i];
    return NULL;
}

/* The differentially private half of a party's check, before its local
 * query: the ledger is sound, the table's class and (for sums) its
 * declared bounds, the spec's noise and what it costs, our budget with
 * the sessions in flight, and the wrap check from declared bounds with
 * the noise's tail. Then our noise share is sampled, before the data are
 * read, so that nothing we send later is timed by the sampler
 * (docs/privacy.md, "Timing"). */
static int prepare_dp(ward_core *c, agg_session *s, size_t groups, int *reason, char *why,
                      size_t why_cap) {
    const Ward__Wire__AggregateSpec *a = s->agg;
    int values = dp_has_values(a->op);
    if (!c->ledger_open || c->ledger.broken) {
        *reason = WARD__WIRE__REASON__REASON_BUDGET;
        snprintf(why, why_cap, "%s: privacy ledger refused: %s", c->name,
                 c->ledger_open ? c->ledger.problem : c->ledger.msg);
        return WARD_ESTATE;
    }
    ward_table_info t;
    int rc = ward_store_table_info(c->store, &t, a->table);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, why_cap, "%s: no table '%s'", c->name, a->table);
        return rc;
    }
    s->cls = core_dp_class(t.sensitivity);
    uint64_t rows = t.rows;
    if (values) {
        const ward_column_info *col = column_of(&t, a->column);
        if (!col) {
            *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
            snprintf(why, why_cap, "%s: table '%s' has no column '%s'", c->name, a->table, a->column);
            ward_table_info_clear(&t);
            return WARD_ENOTFOUND;
        }
        if (!col->has_min || !col->has_max) {
            char ty[32];
            ward_column_type_text(ty, sizeof ty, col);
            *reason = WARD__WIRE__REASON__REASON_SCHEMA;
            snprintf(why, why_cap,
                     "%s: column %s.%s has no declared bounds, which a differentially private %s "
                     "needs; declare them when importing the table: --schema '%s:%s[MIN,MAX]' "
                     "(MIN <= 0 <= MAX, docs/privacy.md)",
                     c->name, a->table, a->column, op_name(a->op), col->name, ty);
            ward_table_info_clear(&t);
            return WARD_EINVAL;
        }
    }
    ward_table_info_clear(&t);

    ward_dp_plan *p = &s->plan;
    memset(p, 0, sizeof *p);
    p->op = dp_op(a->op);
    p->groups = groups;
    p->parties = (uint32_t)s->b.n;
    p->colluding = a->colluding;
    p->lower = a->lower;
    p->upper = a->upper;
    p->sigma2_num = a->sigma2_num;
    p->sigma2_den = a->sigma2_den;
    p->count_sigma2_num = a->count_sigma2_num;
    p->count_sigma2_den = a->count_sigma2_den;
    p->rows_per_person = a->rows_per_person;
    p->epsilon = a->epsilon;
    p->delta = a->delta;
    if (values && !a->has_bounds) {
        *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
        snprintf(why, why_cap, "%s: the spec of a private %s has no clamping bounds", c->name,
                 op_name(a->op));
        return WARD_EINVAL;
    }
    if (s->b.n >= 2 && a->colluding < 1) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, why_cap, "%s: the noise must hold against at least one colluding party "
                 "(t >= 1), the spec says t = %u", c->name, a->colluding);
        return WARD_EINVAL;
    }
    char pwhy[200];
    if (ward_dp_plan_check(p, pwhy, sizeof pwhy) != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
        snprintf(why, why_cap, "%s: %s", c->name, pwhy);
        return WARD_EINVAL;
    }
    /* The privacy unit: one person's rows, as many as this node's policy
     * declares for the table; noise for fewer would not cover them. */
    uint32_t mine = ward_policy_rows_per_person(c->cfg.policy, a->table);
    uint32_t theirs = a->rows_per_person > 1 ? a->rows_per_person : 1;
    if (theirs < mine) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, why_cap, "%s: one person may own up to %u rows of table %s here, and the "
                 "spec's noise covers %u; the proposer must plan for %u (rows-per-person in its "
                 "policy)", c->name, mine, a->table, theirs, mine);
        return WARD_EINVAL;
    }

    core_budget b;
    rc = core_class_budget(c, &b, s->cls);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_INTERNAL;
        snprintf(why, why_cap, "%s: cannot compute the budget of class %s: %s", c->name,
                 ward_ledger_class_name(s->cls), ward_strerror(rc));
        return rc;
    }
    s->class_limit = b.rho_total;
    double held = reserved_rho(c, s->cls, s);
    double left = b.rho_total - b.rho_spent - held;
    if (!(nextafter(b.rho_spent + held + p->rho, INFINITY) <= b.rho_total)) {
        *reason = WARD__WIRE__REASON__REASON_BUDGET;
        snprintf(why, why_cap,
                 "%s: the privacy budget of class %s cannot pay for this release of table %s: "
                 "spent epsilon %.4g of %.4g (delta %.3g)%s; the release costs epsilon %.4g "
                 "(rho %.4g, %.4g left)",
                 c->name, ward_ledger_class_name(s->cls), a->table, b.epsilon_spent, b.epsilon_total,
                 b.delta_total, held > 0 ? ", with sessions in flight holding more" : "",
                 p->epsilon_spent, p->rho, left > 0 ? left : 0.0);
        return WARD_ESTATE;
    }

    /* The wrap check (DECISIONS.md, Numbers) from what is declared, not
     * from the data: the table's rows, each at most D after clamping, plus
     * 40 sqrt(n) sigma for the noise. */
    uint64_t worst = 0;
    int wraps = 0;
    if (values)
        wraps = __builtin_mul_overflow(rows, (uint64_t)p->sensitivity, &worst) ||
                __builtin_add_overflow(worst, p->value_tail, &worst) || worst > a->bound;
    if (!wraps && p->count_tail)
        wraps = __builtin_add_overflow(rows, p->count_tail, &worst) || worst > a->bound;
    if (wraps) {
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, why_cap,
                 "%s: table %s has %llu rows; at %.17g per row plus the noise's tail "
                 "(40 sqrt(n) sigma = %llu) one party's value could exceed the session bound %llu "
                 "of F_(2^61-1) with %zu parties; narrow the declared bounds",
                 c->name, a->table, (unsigned long long)rows, values ? p->sensitivity : 1.0,
                 (unsigned long long)(values ? p->value_tail : p->count_tail),
                 (unsigned long long)a->bound, s->b.n);
        return WARD_EOVERFLOW;
    }

    size_t len = ward_dp_plan_len(p);
    s->noise = calloc(len, sizeof *s->noise);
    if (!s->noise) return WARD_ENOMEM;
    rc = ward_dp_plan_noise_var(p, c->rng, s->noise, len);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_INTERNAL;
        snprintf(why, why_cap, "%s: noise sampling failed: %s", c->name, ward_strerror(rc));
        return rc;
    }
    s->dp = 1;
    return WARD_OK;
}

/* Encodes s->loc (over its final groups) into the vector this party
 * shares, at the session's scale, with the session's bound checked. */
static int encode_local(ward_core *c, agg_session *s, int *reason, char *why, size_t why_cap) {
    const Ward__Wire__AggregateSpec *a = s->agg;
    ward_agg_local *loc = s->loc;
    int values = a->op == WARD__WIRE__AGGREGATE_OP__AGG_SUM || a->op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN;
    int64_t up = 1;
    for (unsigned i = loc->scale; values && i < a->scale; i++) up *= 10;
    s->groups = loc->n_groups;
    s->scale = a->scale;
    int two = a->op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN;
    int ldp = a->op == WARD__WIRE__AGGREGATE_OP__AGG_LDP;
    s->len = s->groups * (two ? 2 : 1) + (ldp ? 1 : 0);
    s->local = calloc(s->len ? s->len : 1, sizeof *s->local);
    s->acc_share = calloc(s->len ? s->len : 1, sizeof *s->acc_share);
    s->acc_partial = calloc(s->len ? s->len : 1, sizeof *s->acc_partial);
    if (!s->local || !s->acc_share || !s->acc_partial) {
        *reason = WARD__WIRE__REASON__REASON_INTERNAL;
        snprintf(why, why_cap, "%s: out of memory", c->name);
        return WARD_ENOMEM;
    }
    int rc = WARD_OK;
    for (size_t g = 0; g < s->groups; g++) {
        int64_t v = values ? loc->sums[g] : loc->counts[g];
        if (values && __builtin_mul_overflow(v, up, &v)) {
            v = INT64_MAX;
            rc = WARD_EOVERFLOW;
        }
        uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        if (mag > a->bound || (two && (uint64_t)loc->counts[g] > a->bound)) rc = WARD_EOVERFLOW;
        s->local[g] = ward_f61_from_i64(v);
        if (two) s->local[s->groups + g] = ward_f61_from_i64(loc->counts[g]);
    }
    if (ldp) {
        if (s->ldp_n > a->bound) rc = WARD_EOVERFLOW;
        s->local[s->groups] = ward_f61_from_i64((int64_t)s->ldp_n);
    }
    /* The labels stay for the result; the plaintext goes. */
    sodium_memzero(loc->sums, sizeof loc->sums);
    sodium_memzero(loc->counts, sizeof loc->counts);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, why_cap, "%s: a local aggregate exceeds the session bound %llu "
                 "(F_(2^61-1) with %zu parties)", c->name, (unsigned long long)a->bound, s->b.n);
    }
    return rc;
}

static int label_cmp_q(const void *x, const void *y) {
    int r = ward_group_label_cmp((const char *)x, (const char *)y);
    return r ? r : strcmp((const char *)x, (const char *)y);
}

/* Open groups: moves our local aggregate onto the session's union of
 * keys (sorted, as label_cmp_q). Every label we hold must be in it. */
static int remap_to_union(agg_session *s, char *const *keys, size_t n_keys, char *why,
                          size_t why_cap) {
    ward_agg_local *to = calloc(1, sizeof *to);
    if (!to) return WARD_ENOMEM;
    to->n_groups = n_keys;
    to->scale = s->loc->scale;
    for (size_t i = 0; i < n_keys; i++) snprintf(to->labels[i], WARD_KEY_LABEL_MAX, "%s", keys[i]);
    int rc = WARD_OK;
    for (size_t g = 0; g < s->loc->n_groups && rc == WARD_OK; g++) {
        const ward_key_label *hit =
            bsearch(s->loc->labels[g], to->labels, n_keys, sizeof to->labels[0], label_cmp_q);
        if (!hit) {
            snprintf(why, why_cap, "the union of keys lacks '%s', which this party holds",
                     s->loc->labels[g]);
            rc = WARD_EPARSE;
            break;
        }
        size_t k = (size_t)(hit - to->labels);
        to->sums[k] = s->loc->sums[g];
        to->counts[k] = s->loc->counts[g];
    }
    sodium_memzero(rc == WARD_OK ? s->loc : to, sizeof *to);
    free(rc == WARD_OK ? s->loc : to);
    if (rc == WARD_OK) s->loc = to;
    return rc;
}

/* A key list from the wire: at most WARD_AGG_MAX_GROUPS labels, each a
 * label's length; sorted strictly ascending when `sorted`. */
static int keys_ok(char *const *keys, size_t n, int sorted) {
    if (n > WARD_AGG_MAX_GROUPS) return 0;
    for (size_t i = 0; i < n; i++) {
        if (strlen(keys[i]) >= WARD_KEY_LABEL_MAX) return 0;
        if (sorted && i > 0 && label_cmp_q(keys[i - 1], keys[i]) >= 0) return 0;
    }
    return 1;
}

/* AGG_LDP at one party: its report table must have the spec's mechanism,
 * epsilon and domain; its vector is the support count of every value and,
 * last, its number of reports. */
static int prepare_ldp(ward_core *c, agg_session *s, int *reason, char *why, size_t why_cap) {
    const Ward__Wire__AggregateSpec *a = s->agg;
    ward_ldp_table_info info;
    int rc = ward_store_ldp_info(c->store, &info, a->table);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, why_cap, "%s: %s", c->name, ward_store_errmsg(c->store));
        return rc;
    }
    if (strcmp(ward_ldp_mech_name(info.mech), a->ldp_mech) != 0 || info.epsilon != a->ldp_epsilon ||
        info.domain != a->ldp_domain) {
        *reason = WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, why_cap, "%s: table %s holds %s reports at epsilon %g over %u values, not %s at "
                 "%g over %u", c->name, a->table, ward_ldp_mech_name(info.mech), info.epsilon,
                 info.domain, a->ldp_mech, a->ldp_epsilon, a->ldp_domain);
        return WARD_ESTATE;
    }
    s->loc = calloc(1, sizeof *s->loc);
    uint64_t *counts = calloc(info.domain, sizeof *counts);
    ward_ldp_est e;
    rc = s->loc && counts ? ward_ldp_est_init(&e, counts, info.domain, info.mech, info.epsilon)
                          : WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_store_ldp_counts(c->store, &e, a->table);
    if (rc != WARD_OK) {
        free(counts);
        *reason = WARD__WIRE__REASON__REASON_INTERNAL;
        snprintf(why, why_cap, "%s: reading the reports of %s: %s", c->name, a->table,
                 rc == WARD_EPARSE || rc == WARD_EIO ? ward_store_errmsg(c->store) : ward_strerror(rc));
        return rc;
    }
    s->loc->n_groups = info.domain;
    for (uint32_t v = 0; v < info.domain; v++) {
        snprintf(s->loc->labels[v], WARD_KEY_LABEL_MAX, "%u", v);
        s->loc->counts[v] = (int64_t)counts[v];
    }
    s->ldp_n = e.n;
    free(counts);
    return encode_local(c, s, reason, why, why_cap);
}

/* The policy check and local query of one party. On success s->loc holds
 * the local aggregate and, unless the groups are open, s->local the
 * encoded vector. */
static int prepare_local(ward_core *c, agg_session *s, int *reason, char *why, size_t why_cap) {
    const Ward__Wire__AggregateSpec *a = s->agg;
    int exact_ok = c->cfg.policy ? c->cfg.policy->exact : c->cfg.allow_exact;
    int ldp = a->op == WARD__WIRE__AGGREGATE_OP__AGG_LDP;
    /* Local-DP reports are private one by one, before any node saw them:
     * their support counts need no exact-results permission. */
    if (a->exact && !exact_ok && !ldp) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, why_cap, "%s: policy forbids exact results (run it without --exact for a "
                 "differentially private one)", c->name);
        return WARD_EINVAL;
    }
    ward_group_key key;
    char kerr[200];
    if (ward_group_key_parse(&key, kerr, sizeof kerr, a->group_by) != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
        snprintf(why, why_cap, "%s: %s", c->name, kerr);
        return WARD_EPARSE;
    }
    /* Every other party that receives the result must be allowed to use
     * the table and columns, the key's included, for this operation. */
    for (size_t i = 0; c->cfg.policy && i < s->b.n; i++) {
        if (i == s->b.me || !s->is_output[i]) continue;
        const char *who = c->roster->members[s->b.party[i]].name;
        const char *op = op_name(a->op);
        const char *col = a->op == WARD__WIRE__AGGREGATE_OP__AGG_COUNT ? "" : a->column;
        char rule[200];
        int ok = ward_policy_allows(c->cfg.policy, rule, sizeof rule, who, a->table, col, op);
        for (size_t j = 0; ok && j < key.n; j++)
            ok = ward_policy_allows(c->cfg.policy, rule, sizeof rule, who, a->table,
                                    key.part[j].column, op);
        if (!ok) {
            *reason = WARD__WIRE__REASON__REASON_POLICY;
            snprintf(why, why_cap, "%s: %s", c->name, rule);
            return WARD_EINVAL;
        }
    }
    if (!c->store) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, why_cap, "%s has no database", c->name);
        return WARD_ENOTFOUND;
    }
    if (ldp) return prepare_ldp(c, s, reason, why, why_cap);
    /* The groups: the spec's declared domain, or open (exact only). */
    s->open = key.n > 0 && a->n_domain == 0;
    if (!keys_ok(a->domain, a->n_domain, 0) || (key.n == 0 && a->n_domain != 0)) {
        *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
        snprintf(why, why_cap, "%s: the spec's group domain is malformed", c->name);
        return WARD_EPARSE;
    }
    if (s->open && !a->exact) {
        *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
        snprintf(why, why_cap, "%s: the groups of a private release must come from a declared "
                 "domain, not from the data", c->name);
        return WARD_EINVAL;
    }
    ward_key_label *domain = NULL;
    if (a->n_domain) {
        domain = calloc(a->n_domain, sizeof *domain);
        if (!domain) return WARD_ENOMEM;
        for (size_t g = 0; g < a->n_domain; g++)
            snprintf(domain[g], WARD_KEY_LABEL_MAX, "%s", a->domain[g]);
    }
    int rc = WARD_OK;
    if (!a->exact) {
        /* Budget, bounds and noise come before the data are read. */
        rc = prepare_dp(c, s, key.n ? a->n_domain : 1, reason, why, why_cap);
        if (rc != WARD_OK) {
            free(domain);
            return rc;
        }
    }
    s->loc = malloc(sizeof *s->loc);
    if (!s->loc) {
        free(domain);
        return WARD_ENOMEM;
    }
    if (s->dp) {
        /* A private release: values clamped, and each person held to the
         * rows this node's policy declares (node/policy.h). */
        ward_store_release rel;
        memset(&rel, 0, sizeof rel);
        rel.histogram = a->op == WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM;
        rel.clamped = dp_has_values(a->op);
        rel.scale = a->scale;
        rel.lower = a->lower;
        rel.upper = a->upper;
        rel.person = ward_policy_person_column(c->cfg.policy, a->table);
        rel.person_rows = ward_policy_rows_per_person(c->cfg.policy, a->table);
        rc = ward_store_aggregate_release(c->store, s->loc, a->table,
                                          a->op == WARD__WIRE__AGGREGATE_OP__AGG_COUNT ? "" : a->column,
                                          a->where, a->group_by, domain, a->n_domain, &rel);
    } else if (a->op == WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM)
        rc = ward_store_histogram(c->store, s->loc, a->table, a->column, a->where, a->group_by,
                                  domain, a->n_domain);
    else
        rc = ward_store_aggregate(c->store, s->loc, a->table,
                                  a->op == WARD__WIRE__AGGREGATE_OP__AGG_COUNT ? "" : a->column,
                                  a->where, a->group_by, domain, a->n_domain);
    free(domain);
    if (rc != WARD_OK) {
        *reason = rc == WARD_ENOTFOUND ? WARD__WIRE__REASON__REASON_UNKNOWN_TABLE
                                       : rc == WARD_EUNSUPPORTED ? WARD__WIRE__REASON__REASON_UNSUPPORTED
                                                                 : WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, why_cap, "%s: %s", c->name, ward_store_errmsg(c->store));
        return rc;
    }
    /* Values travel at the session's scale: a party whose column has
     * fewer decimals multiplies up exactly; one with more refuses, since
     * rounding its sums would not equal the sum of rounded values. Counts
     * (count, histogram) carry no values, so no scale applies to them. */
    if ((a->op == WARD__WIRE__AGGREGATE_OP__AGG_SUM || a->op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN) &&
        s->loc->scale > a->scale) {
        *reason = WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, why_cap, "%s: column %s.%s has %u decimals, more than the session's %u",
                 c->name, a->table, a->column, s->loc->scale, a->scale);
        return WARD_EINVAL;
    }
    if (s->open) return WARD_OK; /* encoded once the union of keys is known */
    return encode_local(c, s, reason, why, why_cap);
}

/* ---- rounds -------------------------------------------------------------- */

/* A private release: our ledger is charged, in a committed transaction,
 * before anything that depends on our data leaves (ledger.h); then our
 * noise share joins the encoded vector. On failure the session is failed
 * (nothing was sent) and the call returns non-zero. */
static int release_dp(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    if (!s->noise || s->len != ward_dp_plan_len(&s->plan)) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ESTATE, now,
                     "%s: the noise does not fit the vector; nothing released", c->name);
        return -1;
    }
    ward_ledger_spend sp = {s->b.id_hex, s->agg->table, s->cls, s->plan.rho, s->plan.epsilon_spent,
                            s->plan.delta};
    uint64_t seq = 0;
    int rc = c->cfg.test_fault == WARD_TEST_FAULT_SKIP_DEBIT
                 ? WARD_OK
                 : ward_ledger_debit(&c->ledger, &seq, &sp, s->class_limit, (int64_t)now);
    if (rc != WARD_OK) {
        int budget = rc == WARD_EOVERFLOW;
        fail_session(c, out, s, 1,
                     budget ? WARD__WIRE__REASON__REASON_BUDGET : WARD__WIRE__REASON__REASON_INTERNAL,
                     budget ? WARD_ESTATE : rc, now, "%s: %s%s%s (class %s); nothing released", c->name,
                     budget ? "the privacy budget cannot pay for this release of table " : "",
                     budget ? s->agg->table : "", budget ? "" : c->ledger.msg,
                     ward_ledger_class_name(s->cls));
        return -1;
    }
    s->debited = 1;
    core_log(c, out, WARD_LOG_INFO,
             "session %.16s: charged rho %.4g (epsilon %.4g, delta %.3g) to table %s, class %s "
             "(ledger entry %llu)",
             s->b.id_hex, s->plan.rho, s->plan.epsilon_spent, s->plan.delta, s->agg->table,
             ward_ledger_class_name(s->cls), (unsigned long long)seq);
    if (c->cfg.test_noise_hook) c->cfg.test_noise_hook(c->cfg.test_noise_ctx, s->b.id, s->noise, s->len);
    for (size_t i = 0; i < s->len; i++)
        s->local[i] = ward_f61_add(s->local[i], ward_f61_from_i64(s->noise[i]));
    if (c->cfg.test_fault == WARD_TEST_FAULT_NOISE_OFF_BY_ONE && s->len > 0)
        s->local[0] = ward_f61_add(s->local[0], 1);
    sodium_memzero(s->noise, s->len * sizeof *s->noise);
    free(s->noise);
    s->noise = NULL;
    return 0;
}

/* One SHARES message: a vector of the session's length over F_(2^61-1). */
static void send_vector(ward_core *c, ward_actions *out, agg_session *s, long to, int round,
                        ward_f61 *elements) {
    Ward__Wire__Shares sh;
    ward__wire__shares__init(&sh);
    sh.field = WARD__WIRE__FIELD__FIELD_P61;
    sh.n_elements = s->len;
    sh.elements = elements;
    ward_envelope e;
    ward__wire__envelope__init(&e);
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_SHARES;
    e.shares = &sh;
    send_env(c, out, s, to, WARD__WIRE__KIND__KIND_SHARES, round, &e);
}

/* Returns 0, or non-zero when the session ended (or, under a test fault,
 * stopped) instead. */
static int send_shares(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    if (s->dp && !s->debited) {
        if (release_dp(c, out, s, now) != 0) return -1;
        if (c->cfg.test_fault == WARD_TEST_FAULT_HALT_AFTER_DEBIT) {
            core_log(c, out, WARD_LOG_WARN, "session %.16s: test fault: halted after the debit",
                     s->b.id_hex);
            return -1;
        }
    }
    /* One additive share per committee member (every party when k = n). */
    size_t *member = calloc(s->k, sizeof *member);
    ward_f61 **shares = calloc(s->k, sizeof *shares);
    int ok = shares != NULL && member != NULL;
    for (size_t i = 0, j = 0; ok && i < s->b.n; i++)
        if (s->in_committee[i]) member[j++] = i;
    for (size_t j = 0; ok && j < s->k; j++)
        if (!(shares[j] = calloc(s->len, sizeof **shares))) ok = 0;
    if (ok) ok = ward_additive_f61_share(c->rng, shares, s->k, s->local, s->len) == WARD_OK;
    /* The injected faults of ward_core_config.test_fault (simulator tests):
     * the first other member gets a corrupted share, the last none. */
    size_t first_peer = s->k, last_peer = s->k;
    for (size_t j = 0; ok && j < s->k; j++) {
        if (member[j] == s->b.me) continue;
        if (first_peer == s->k) first_peer = j;
        last_peer = j;
    }
    if (ok && c->cfg.test_fault == WARD_TEST_FAULT_CORRUPT_SHARE && first_peer < s->k && s->len > 0)
        shares[first_peer][0] = ward_f61_add(shares[first_peer][0], 1);
    for (size_t j = 0; ok && j < s->k; j++) {
        size_t i = member[j];
        if (i == s->b.me) {
            ward_f61_vec_add(s->acc_share, s->acc_share, shares[j], s->len);
            s->got_share[i] = 1;
            continue;
        }
        if (c->cfg.test_fault == WARD_TEST_FAULT_SKIP_SHARE && j == last_peer) continue;
        send_vector(c, out, s, s->b.party[i], ROUND_SHARES, shares[j]);
    }
    for (size_t j = 0; shares && j < s->k; j++) {
        if (shares[j]) sodium_memzero(shares[j], s->len * sizeof **shares);
        free(shares[j]);
    }
    free(shares);
    free(member);
    /* Released: the local vector is no longer needed. */
    sodium_memzero(s->local, s->len * sizeof *s->local);
    return 0;
}

static int all_set(const uint8_t *flags, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!flags[i]) return 0;
    return 1;
}

static void finish_output(ward_core *c, ward_actions *out, agg_session *s, uint64_t now);

static void maybe_send_partials(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    if (s->partial_sent || s->phase != PHASE_COMMITTED) return;
    /* Committee members wait for one share from every party; the others
     * have nothing to add up. */
    if (s->in_committee[s->b.me] && !all_set(s->got_share, s->b.n)) return;
    for (size_t i = 0; s->in_committee[s->b.me] && i < s->b.n; i++) {
        if (!s->is_output[i]) continue;
        if (i == s->b.me) {
            ward_f61_vec_add(s->acc_partial, s->acc_partial, s->acc_share, s->len);
            s->got_partial[i] = 1;
            continue;
        }
        send_vector(c, out, s, s->b.party[i], ROUND_PARTIALS, s->acc_share);
    }
    s->partial_sent = 1;
    if (!s->is_output[s->b.me]) {
        core_log(c, out, WARD_LOG_INFO, "session %.16s (%s %s): contributed", s->b.id_hex,
                 op_name(s->agg->op), s->agg->table);
        if (s->b.has_client) {
            /* A proposer that is not an output party: its caller learns the
             * session completed (no value: the result went to the others). */
            Ward__Control__AggregateResult res;
            ward__control__aggregate_result__init(&res);
            char **names = calloc(s->b.n, sizeof *names);
            for (size_t i = 0; names && i < s->b.n; i++)
                names[i] = (char *)c->roster->members[s->b.party[i]].name;
            res.n_parties = names ? s->b.n : 0;
            res.parties = names;
            res.latency_ms = (double)(now - s->b.t0);
            res.session = s->b.id_hex;
            Ward__Control__Number eps, del;
            ward__control__number__init(&eps);
            ward__control__number__init(&del);
            if (s->dp) {
                eps.value = s->plan.epsilon_spent;
                del.value = s->plan.delta;
                res.epsilon = &eps;
                res.delta = &del;
            }
            Ward__Control__Response r;
            ward__control__response__init(&r);
            r.id = s->b.req_id;
            r.result_case = WARD__CONTROL__RESPONSE__RESULT_AGGREGATE;
            r.aggregate = &res;
            core_reply(c, out, s->b.client, &r);
            free(names);
        }
        audit(c, out, s, "session-done", "contributed", now);
        c->stats.sessions_done++;
        unlink_session(c, s);
        free_session(s);
        return;
    }
    finish_output(c, out, s, now);
}

/* A private result is computed once per session; the output party keeps
 * what it released in its audit log (kind "result"), so it can be read
 * again without a new session and a new charge. */
static void audit_result(ward_core *c, ward_actions *out, agg_session *s, const double *vals,
                         const int *present, uint64_t now) {
    if (!c->store) return;
    size_t cap = 256 + s->groups * 48, off = 0;
    char *d = malloc(cap);
    if (!d) return;
    double div = 1;
    for (unsigned i = 0; i < s->scale; i++) div *= 10;
    off += (size_t)snprintf(d + off, cap - off,
                            "{\"op\":\"%s\",\"table\":\"%s\",\"column\":\"%s\",\"epsilon\":%.17g,"
                            "\"delta\":%.17g,\"noise_sd\":%.17g,\"groups\":{",
                            op_name(s->agg->op), s->agg->table, s->agg->column,
                            s->plan.epsilon_spent, s->plan.delta,
                            s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_SUM ||
                                    s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN
                                ? s->plan.value_sd / div
                                : s->plan.count_sd);
    for (size_t g = 0; g < s->groups && off < cap; g++) {
        if (present[g])
            off += (size_t)snprintf(d + off, cap - off, "%s\"%s\":%.17g", g ? "," : "",
                                    s->loc->labels[g], vals[g]);
        else
            off += (size_t)snprintf(d + off, cap - off, "%s\"%s\":null", g ? "," : "",
                                    s->loc->labels[g]);
    }
    if (off < cap) snprintf(d + off, cap - off, "}}");
    int rc = off + 2 < cap ? ward_audit_append_relaxed(c->store, NULL, NULL, (int64_t)now,
                                                       "result", s->b.id_hex, d)
                           : WARD_ETOOBIG;
    if (rc != WARD_OK)
        core_log(c, out, WARD_LOG_ERROR, "session %.16s: recording the result failed: %s",
                 s->b.id_hex, ward_strerror(rc));
    free(d);
}

/* AGG_LDP at an output party: the joint support counts and number of
 * reports give the frequency estimates and their standard deviations. */
static void finish_ldp(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    const Ward__Wire__AggregateSpec *a = s->agg;
    size_t d = s->groups;
    uint64_t *counts = calloc(d, sizeof *counts);
    double *est = calloc(d, sizeof *est), *sd = calloc(d, sizeof *sd), var = 0;
    Ward__Control__Group *gv = calloc(d, sizeof *gv);
    Ward__Control__Group **gp = calloc(d, sizeof *gp);
    char **names = calloc(s->b.n, sizeof *names);
    ward_ldp_mech mech;
    ward_ldp_est e;
    int rc = counts && est && sd && gv && gp && names ? ward_ldp_mech_parse(&mech, a->ldp_mech)
                                                      : WARD_ENOMEM;
    if (rc == WARD_OK) rc = ward_ldp_est_init(&e, counts, d, mech, a->ldp_epsilon);
    if (rc == WARD_OK) {
        for (size_t v = 0; v < d; v++) counts[v] = (uint64_t)ward_f61_to_i64(s->acc_partial[v]);
        e.n = (uint64_t)ward_f61_to_i64(s->acc_partial[d]);
        rc = e.n > 0 ? ward_ldp_est_finish(&e, est, d) : WARD_ENOTFOUND;
    }
    if (rc == WARD_OK) rc = ward_ldp_variance(&var, mech, a->ldp_epsilon, (uint32_t)d, e.n);
    for (size_t v = 0; rc == WARD_OK && v < d; v++) {
        double f = est[v] < 0 ? 0 : est[v] > (double)e.n ? (double)e.n : est[v], vv;
        rc = ward_ldp_variance_at(&vv, mech, a->ldp_epsilon, (uint32_t)d, e.n, f);
        sd[v] = rc == WARD_OK ? sqrt(vv) : 0;
    }
    if (rc != WARD_OK) {
        free(counts);
        free(est);
        free(sd);
        free(gv);
        free(gp);
        free(names);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now, "%s",
                     rc == WARD_ENOTFOUND ? "the parties hold no reports" : ward_strerror(rc));
        return;
    }
    double latency = (double)(now - s->b.t0);
    core_log(c, out, WARD_LOG_INFO, "session %.16s (ldp %s, %zu parties): %llu reports in %.0f ms",
             s->b.id_hex, a->table, s->b.n, (unsigned long long)e.n, latency);
    if (s->b.has_client) {
        Ward__Control__AggregateResult res;
        ward__control__aggregate_result__init(&res);
        res.grouped = 1;
        for (size_t v = 0; v < d; v++) {
            ward__control__group__init(&gv[v]);
            gv[v].key = s->loc->labels[v];
            gv[v].value = est[v];
            gp[v] = &gv[v];
        }
        res.n_groups = d;
        res.groups = gp;
        res.n_group_sd = d;
        res.group_sd = sd;
        res.reports = e.n;
        res.ldp_mech = a->ldp_mech;
        res.ldp_epsilon = a->ldp_epsilon;
        res.ldp_variance = var;
        for (size_t i = 0; i < s->b.n; i++) names[i] = (char *)c->roster->members[s->b.party[i]].name;
        res.n_parties = s->b.n;
        res.parties = names;
        res.latency_ms = latency;
        res.session = s->b.id_hex;
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = s->b.req_id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_AGGREGATE;
        r.aggregate = &res;
        core_reply(c, out, s->b.client, &r);
    }
    free(counts);
    free(est);
    free(sd);
    free(gv);
    free(gp);
    free(names);
    audit(c, out, s, "session-done", "local-DP estimate released to output parties", now);
    c->stats.sessions_done++;
    unlink_session(c, s);
    free_session(s);
}

static void finish_output(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    for (size_t i = 0; i < s->b.n; i++)
        if (s->in_committee[i] && !s->got_partial[i]) return;
    if (s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_LDP) {
        finish_ldp(c, out, s, now);
        return;
    }
    double div = 1;
    for (unsigned i = 0; i < s->scale; i++) div *= 10;
    int is_mean = s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_MEAN;
    int is_count = s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_COUNT ||
                   s->agg->op == WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM;
    double *vals = calloc(s->groups + 1, sizeof *vals);
    int *present = calloc(s->groups + 1, sizeof *present);
    if (!vals || !present) {
        free(vals);
        free(present);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                     "out of memory");
        return;
    }
    for (size_t g = 0; g < s->groups; g++) {
        int64_t v = ward_f61_to_i64(s->acc_partial[g]);
        present[g] = 1;
        if (is_mean) {
            /* A private mean is its noisy sum over its noisy count, and,
             * as post-processing, kept within the clamping bounds; a group
             * whose noisy count is below 1 has no mean. */
            int64_t n = ward_f61_to_i64(s->acc_partial[s->groups + g]);
            present[g] = n > 0;
            vals[g] = n > 0 ? (double)v / div / (double)n : 0;
            if (s->dp && n > 0) {
                double lo = (double)s->plan.lower / div, hi = (double)s->plan.upper / div;
                vals[g] = vals[g] < lo ? lo : vals[g] > hi ? hi : vals[g];
            }
        } else {
            vals[g] = is_count ? (double)v : (double)v / div;
        }
    }
    char line[160];
    if (s->groups == 1) {
        if (present[0]) snprintf(line, sizeof line, "%.10g", vals[0]);
        else snprintf(line, sizeof line, "null (no rows)");
    } else {
        snprintf(line, sizeof line, "%zu groups", s->groups);
    }
    double latency = (double)(now - s->b.t0);
    core_log(c, out, WARD_LOG_INFO, "session %.16s (%s %s.%s, %zu parties): result %s in %.0f ms",
             s->b.id_hex, op_name(s->agg->op), s->agg->table, s->agg->column, s->b.n, line, latency);
    if (s->b.has_client) {
        Ward__Control__AggregateResult res;
        ward__control__aggregate_result__init(&res);
        Ward__Control__Number value;
        ward__control__number__init(&value);
        Ward__Control__Group *gv = NULL, **gp = NULL;
        char **names = calloc(s->b.n, sizeof *names);
        Ward__Control__Number eps, del, sd, csd;
        ward__control__number__init(&eps);
        ward__control__number__init(&del);
        ward__control__number__init(&sd);
        ward__control__number__init(&csd);
        if (s->dp) {
            eps.value = s->plan.epsilon_spent;
            del.value = s->plan.delta;
            res.epsilon = &eps;
            res.delta = &del;
            sd.value = is_count ? s->plan.count_sd : s->plan.value_sd / div;
            res.noise_sd = &sd;
            if (is_mean) {
                csd.value = s->plan.count_sd;
                res.count_noise_sd = &csd;
            }
        }
        if (s->groups == 1 && s->agg->group_by[0] == '\0') {
            value.value = vals[0];
            if (present[0]) res.value = &value;
        } else {
            res.grouped = 1;
            gv = calloc(s->groups + 1, sizeof *gv);
            gp = calloc(s->groups + 1, sizeof *gp);
            size_t k = 0;
            for (size_t g = 0; gv && gp && g < s->groups; g++) {
                if (!present[g]) continue;
                ward__control__group__init(&gv[k]);
                gv[k].key = s->loc->labels[g];
                gv[k].value = vals[g];
                gp[k] = &gv[k];
                k++;
            }
            res.n_groups = k;
            res.groups = gp;
        }
        for (size_t i = 0; names && i < s->b.n; i++)
            names[i] = (char *)c->roster->members[s->b.party[i]].name;
        res.n_parties = names ? s->b.n : 0;
        res.parties = names;
        res.latency_ms = latency;
        res.session = s->b.id_hex;
        Ward__Control__Response r;
        ward__control__response__init(&r);
        r.id = s->b.req_id;
        r.result_case = WARD__CONTROL__RESPONSE__RESULT_AGGREGATE;
        r.aggregate = &res;
        core_reply(c, out, s->b.client, &r);
        free(gv);
        free(gp);
        free(names);
    }
    if (s->dp) audit_result(c, out, s, vals, present, now);
    free(vals);
    free(present);
    audit(c, out, s, "session-done", "result released to output parties", now);
    c->stats.sessions_done++;
    unlink_session(c, s);
    free_session(s);
}

/* Open groups, at the proposer once every party accepted: the sorted
 * union of everyone's keys. Returns their number, or -1 when the session
 * failed instead. *sorted points into s->keys. */
static long union_keys(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    qsort(s->keys, s->n_keys, sizeof *s->keys, label_cmp_q);
    size_t u = 0;
    for (size_t i = 0; i < s->n_keys; i++)
        if (u == 0 || strcmp(s->keys[u - 1], s->keys[i]) != 0) {
            if (u != i) memcpy(s->keys[u], s->keys[i], sizeof *s->keys);
            u++;
        }
    s->n_keys = u;
    if (u > WARD_AGG_MAX_GROUPS) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_BOUNDS, WARD_ETOOBIG, now,
                     "the parties' data hold %zu groups of '%s', more than %d; declare a domain "
                     "(--domain) or use a coarser key", u, s->agg->group_by, WARD_AGG_MAX_GROUPS);
        return -1;
    }
    return (long)u;
}

/* Open groups: our keys, appended to what the proposer gathers. */
static int gather_keys(agg_session *s, char *const *keys, size_t n) {
    ward_key_label *k = realloc(s->keys, (s->n_keys + n + 1) * sizeof *k);
    if (!k) return WARD_ENOMEM;
    s->keys = k;
    for (size_t i = 0; i < n; i++) snprintf(s->keys[s->n_keys++], WARD_KEY_LABEL_MAX, "%s", keys[i]);
    return WARD_OK;
}

/* Open groups: with the union known, our aggregate is placed on it and
 * encoded, and the shares that came early are added up. Returns 0, or -1
 * when the session failed. */
static int settle_open(ward_core *c, ward_actions *out, agg_session *s, char *const *keys,
                       size_t n_keys, uint64_t now) {
    char why[400];
    int reason = WARD__WIRE__REASON__REASON_PROTOCOL;
    int rc = remap_to_union(s, keys, n_keys, why, sizeof why);
    if (rc == WARD_OK) rc = encode_local(c, s, &reason, why, sizeof why);
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, reason, rc, now, "%s", why);
        return -1;
    }
    for (size_t i = 0; s->early && i < s->b.n; i++) {
        if (!s->early[i]) continue;
        if (s->early_len[i] != s->len) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent shares that do not fit the session",
                         c->roster->members[s->b.party[i]].name);
            return -1;
        }
        ward_f61_vec_add(s->acc_share, s->acc_share, s->early[i], s->len);
        s->got_share[i] = 1;
        sodium_memzero(s->early[i], s->len * sizeof **s->early);
        free(s->early[i]);
        s->early[i] = NULL;
    }
    return 0;
}

static void on_all_accepted(ward_core *c, ward_actions *out, agg_session *s, uint64_t now) {
    char **keys = NULL;
    long n_keys = 0;
    if (s->open) {
        n_keys = union_keys(c, out, s, now);
        if (n_keys < 0) return;
        keys = calloc((size_t)n_keys + 1, sizeof *keys);
        if (!keys) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "out of memory");
            return;
        }
        for (long i = 0; i < n_keys; i++) keys[i] = s->keys[i];
        if (settle_open(c, out, s, keys, (size_t)n_keys, now) != 0) {
            free(keys);
            return;
        }
    }
    session_send_commit(c, out, &s->b, ROUND_COMMIT, s->agg->parties, keys, (size_t)n_keys);
    free(keys);
    s->phase = PHASE_COMMITTED;
    s->b.deadline = now + c->cfg.session_timeout_ms;
    if (send_shares(c, out, s, now) != 0) return;
    maybe_send_partials(c, out, s, now);
}

/* ---- entry points ---------------------------------------------------- */

/* v / 10^k in decimal, for messages. */
static void fmt_scaled(char *out, size_t cap, int64_t v, unsigned k) {
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, p = 1;
    for (unsigned i = 0; i < k; i++) p *= 10;
    if (k == 0) snprintf(out, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)m);
    else
        snprintf(out, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(m / p), (int)k,
                 (unsigned long long)(m % p));
}

/* The proposer's half of a private release: the table's class and declared
 * bounds, epsilon and delta (named by the caller, or chosen by the
 * allocator from the class's remaining budget, the importance and the
 * table's query frequency), t and the noise, all written into the spec.
 * Each party, the proposer included, then checks the spec in prepare_dp. */
static int propose_dp(ward_core *c, Ward__Wire__AggregateSpec *a,
                      const Ward__Control__AggregateRequest *req, char *why, size_t why_cap) {
    if (req->epsilon && (!isfinite(req->epsilon->value) || req->epsilon->value <= 0)) {
        snprintf(why, why_cap, "epsilon must be a finite number above 0, not %g", req->epsilon->value);
        return WARD_EINVAL;
    }
    if (req->delta && !(req->delta->value > 0 && req->delta->value < 1)) {
        snprintf(why, why_cap, "delta must lie strictly between 0 and 1, not %g", req->delta->value);
        return WARD_EINVAL;
    }
    if (!c->store) {
        snprintf(why, why_cap, "%s has no database", c->name);
        return WARD_ENOTFOUND;
    }
    if (!c->ledger_open || c->ledger.broken) {
        snprintf(why, why_cap, "%s: privacy ledger refused: %s", c->name,
                 c->ledger_open ? c->ledger.problem : c->ledger.msg);
        return WARD_ESTATE;
    }
    size_t groups = a->group_by[0] ? a->n_domain : 1;
    if (groups == 0) {
        snprintf(why, why_cap, "the groups of a private release come from a declared domain, never "
                 "from the data (DECISIONS.md): declare '%s' with --domain (a list a,b,c or a range "
                 "LO..HI; PART=... for one part of a compound key)", a->group_by);
        return WARD_EINVAL;
    }
    ward_table_info t;
    int rc = ward_store_table_info(c->store, &t, a->table);
    if (rc != WARD_OK) {
        snprintf(why, why_cap, "%s: no table '%s'", c->name, a->table);
        return rc;
    }
    ward_dp_class cls = core_dp_class(t.sensitivity);
    int values = dp_has_values(a->op);
    int64_t lower = 0, upper = 0;
    if (values) {
        const ward_column_info *col = column_of(&t, a->column);
        char ty[32] = "", lo[48], hi[48];
        if (col) ward_column_type_text(ty, sizeof ty, col);
        if (!col || (col->type != WARD_COLTYPE_INTEGER && col->type != WARD_COLTYPE_DECIMAL)) {
            snprintf(why, why_cap, "%s: table '%s' has no numeric column '%s'", c->name, a->table,
                     a->column);
            rc = WARD_ENOTFOUND;
        } else if (!col->has_min || !col->has_max) {
            snprintf(why, why_cap,
                     "%s: column %s.%s has no declared bounds, which a differentially private %s "
                     "needs; declare them when importing the table: --schema '%s:%s[MIN,MAX]' "
                     "(MIN <= 0 <= MAX, docs/privacy.md)",
                     c->name, a->table, a->column, op_name(a->op), col->name, ty);
            rc = WARD_EINVAL;
        } else if (col->min > 0 || col->max < 0 || col->min >= col->max ||
                   col->min < -WARD_DP_MAX_BOUND || col->max > WARD_DP_MAX_BOUND) {
            fmt_scaled(lo, sizeof lo, col->min, col->scale);
            fmt_scaled(hi, sizeof hi, col->max, col->scale);
            snprintf(why, why_cap,
                     "%s: the declared bounds [%s,%s] of %s.%s cannot clamp a private %s: they must "
                     "contain 0 (an absent row counts 0), be wider than a point and within 2^53 "
                     "units; declare e.g. [%s,%s]",
                     c->name, lo, hi, a->table, a->column, op_name(a->op), col->min > 0 ? "0" : lo,
                     col->max < 0 ? "0" : hi);
            rc = WARD_EINVAL;
        } else {
            lower = col->min;
            upper = col->max;
            a->scale = col->scale; /* the declared bounds' scale */
        }
    }
    ward_table_info_clear(&t);
    if (rc != WARD_OK) return rc;

    core_budget b;
    rc = core_class_budget(c, &b, cls);
    if (rc != WARD_OK) {
        snprintf(why, why_cap, "%s: cannot compute the budget of class %s", c->name,
                 ward_ledger_class_name(cls));
        return rc;
    }
    double delta = req->delta ? req->delta->value : b.delta_total;
    double epsilon;
    if (req->epsilon) {
        epsilon = req->epsilon->value;
    } else {
        /* The allocator: tables of the class, this table's spends and how
         * often it was asked lately, and what the class has left. */
        ward_table_info *tabs = NULL;
        size_t nt = 0;
        uint32_t k = 0;
        if (ward_store_tables(c->store, &tabs, &nt) == WARD_OK)
            for (size_t i = 0; i < nt; i++) k += core_dp_class(tabs[i].sensitivity) == cls;
        ward_store_tables_free(tabs, nt);
        ward_ledger_stats st;
        rc = ward_ledger_table_stats(&c->ledger, &st, a->table, cls, WARD_ALLOC_WINDOW);
        if (rc != WARD_OK) {
            snprintf(why, why_cap, "%s: %s", c->name, c->ledger.msg);
            return rc;
        }
        ward_alloc_input in = {b.rho_total,
                               b.rho_spent + reserved_rho(c, cls, NULL),
                               st.table_spent,
                               k ? k : 1,
                               st.recent_table,
                               st.recent_class};
        ward_importance imp = req->importance == WARD__CONTROL__IMPORTANCE__IMPORTANCE_LOW
                                  ? WARD_IMPORTANCE_LOW
                              : req->importance == WARD__CONTROL__IMPORTANCE__IMPORTANCE_HIGH
                                  ? WARD_IMPORTANCE_HIGH
                                  : WARD_IMPORTANCE_NORMAL;
        ward_alloc_result ar;
        rc = ward_alloc_choose(&ar, &in, imp);
        if (rc == WARD_EOVERFLOW) {
            snprintf(why, why_cap,
                     "%s: the privacy budget of class %s has nothing left for table %s: the "
                     "allocator's share for it is rho %.4g, of which %.4g is spent, and the class "
                     "has spent epsilon %.4g of %.4g (delta %.3g); nothing released",
                     c->name, ward_ledger_class_name(cls), a->table, ar.entitlement, st.table_spent,
                     b.epsilon_spent, b.epsilon_total, b.delta_total);
            return WARD_ESTATE;
        }
        if (rc == WARD_OK) rc = ward_dp_cdp_epsilon(&epsilon, ar.rho, delta);
        if (rc != WARD_OK) {
            snprintf(why, why_cap, "%s: the allocator failed: %s", c->name, ward_strerror(rc));
            return rc;
        }
    }
    uint32_t colluding = a->n_parties >= 2 ? 1 : 0;
    ward_dp_plan plan;
    uint32_t persons = ward_policy_rows_per_person(c->cfg.policy, a->table);
    rc = ward_dp_plan_make_persons(&plan, dp_op(a->op), groups, (uint32_t)a->n_parties, colluding,
                                   lower, upper, epsilon, delta, persons);
    if (rc != WARD_OK) {
        if (rc == WARD_EOVERFLOW)
            snprintf(why, why_cap, "epsilon %g is too small for a private %s of %s%s%s: the noise "
                     "would exceed the sampler's range", epsilon, op_name(a->op), a->table,
                     values ? "." : "", values ? a->column : "");
        else
            snprintf(why, why_cap, "cannot plan the noise for epsilon %g, delta %g: %s", epsilon,
                     delta, ward_strerror(rc));
        return rc;
    }
    a->epsilon = epsilon;
    a->delta = delta;
    a->colluding = colluding;
    a->has_bounds = values;
    a->lower = plan.lower;
    a->upper = plan.upper;
    a->sigma2_num = plan.sigma2_num;
    a->sigma2_den = plan.sigma2_den;
    a->count_sigma2_num = plan.count_sigma2_num;
    a->count_sigma2_den = plan.count_sigma2_den;
    a->rows_per_person = persons > 1 ? persons : 0;
    return WARD_OK;
}


void agg_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
               const Ward__Control__AggregateRequest *req, uint64_t now) {
    Ward__Wire__AggregateSpec a;
    ward__wire__aggregate_spec__init(&a);
    switch (req->op) {
    case WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM: a.op = WARD__WIRE__AGGREGATE_OP__AGG_SUM; break;
    case WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT: a.op = WARD__WIRE__AGGREGATE_OP__AGG_COUNT; break;
    case WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN: a.op = WARD__WIRE__AGGREGATE_OP__AGG_MEAN; break;
    case WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM:
        a.op = WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM;
        break;
    case WARD__CONTROL__AGGREGATE_OP__AGGREGATE_LDP: a.op = WARD__WIRE__AGGREGATE_OP__AGG_LDP; break;
    default:
        core_reply_error(c, out, client, req_id, WARD_EINVAL, "unknown aggregate operation");
        return;
    }
    if (a.op == WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM && req->group_by[0] == '\0') {
        core_reply_error(c, out, client, req_id, WARD_EINVAL,
                         "histogram needs --group-by (a column, hour(COL), weekday(COL), date(COL) "
                         "or bucket(COL, WIDTH))");
        return;
    }
    /* The party list: names in roster (ascending) order. */
    size_t nm = c->roster->n_members;
    char **parties = calloc(nm, sizeof *parties);
    char **outputs = calloc(nm, sizeof *outputs);
    size_t np = 0, no = 0;
    if (!parties || !outputs) {
        free(parties);
        free(outputs);
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    int all = !req->parties || req->parties->all;
    for (size_t i = 0; i < nm; i++) {
        const char *name = c->roster->members[i].name;
        int in = all || (long)i == c->self;
        for (size_t j = 0; !in && j < req->parties->n_names; j++)
            in = strcmp(req->parties->names[j], name) == 0;
        if (in) parties[np++] = (char *)name;
        for (size_t j = 0; j < req->n_output; j++)
            if (strcmp(req->output[j], name) == 0) outputs[no++] = (char *)name;
    }
    const char *bad = NULL;
    for (size_t j = 0; req->parties && j < req->parties->n_names && !bad; j++)
        if (ward_roster_find(c->roster, req->parties->names[j]) < 0) bad = req->parties->names[j];
    for (size_t j = 0; j < req->n_output && !bad; j++)
        if (ward_roster_find(c->roster, req->output[j]) < 0) bad = req->output[j];
    if (bad) {
        core_reply_error(c, out, client, req_id, WARD_ENOTFOUND, "'%s' is not in the roster", bad);
        free(parties);
        free(outputs);
        return;
    }
    for (size_t i = 0; i < np; i++) {
        long idx = ward_roster_find(c->roster, parties[i]);
        if (!core_peer_connected(c, idx)) {
            core_reply_error(c, out, client, req_id, WARD_ENOTFOUND,
                             "party %s is not connected; the session was not started", parties[i]);
            free(parties);
            free(outputs);
            return;
        }
    }
    a.table = req->table;
    a.column = req->column;
    a.where = req->where;
    a.group_by = req->group_by;
    /* The groups: the declared domain, expanded here once so that every
     * party reports the same labels; none when open (exact only). */
    ward_key_label *dom = NULL;
    char **dom_ptrs = NULL;
    size_t n_dom = 0;
    {
        char derr[400] = "";
        int open = 0, drc = WARD_OK;
        ward_group_key key;
        ward_table_info t;
        memset(&t, 0, sizeof t);
        drc = ward_group_key_parse(&key, derr, sizeof derr, req->group_by);
        if (drc == WARD_OK && key.n == 0 && req->n_domain) {
            snprintf(derr, sizeof derr, "--domain without --group-by");
            drc = WARD_EINVAL;
        }
        if (drc == WARD_OK && key.n > 0) {
            if (!c->store || ward_store_table_info(c->store, &t, req->table) != WARD_OK) {
                snprintf(derr, sizeof derr, "%s: no table '%s'", c->name, req->table);
                drc = WARD_ENOTFOUND;
            } else {
                dom = calloc(WARD_AGG_MAX_GROUPS, sizeof *dom);
                dom_ptrs = calloc(WARD_AGG_MAX_GROUPS, sizeof *dom_ptrs);
                drc = dom && dom_ptrs
                          ? ward_group_domain_expand(dom, &n_dom, &open, WARD_AGG_MAX_GROUPS, derr,
                                                     sizeof derr, &key, &t,
                                                     (const char *const *)req->domain, req->n_domain)
                          : WARD_ENOMEM;
                ward_table_info_clear(&t);
            }
        }
        if (drc != WARD_OK) {
            core_reply_error(c, out, client, req_id, drc, "%s", derr[0] ? derr : "out of memory");
            free(dom);
            free(dom_ptrs);
            free(parties);
            free(outputs);
            return;
        }
        for (size_t g = 0; g < n_dom; g++) dom_ptrs[g] = dom[g];
        a.n_domain = n_dom;
        a.domain = dom_ptrs;
    }
    a.n_parties = np;
    a.parties = parties;
    a.n_output = no;
    a.output = outputs;
    a.exact = req->exact;
    a.field = WARD__WIRE__FIELD__FIELD_P61;
    a.bound = f61_bound(np);
    /* Beyond WARD_AGG_ALL_TO_ALL_MAX parties, shares go to a committee of
     * WARD_AGG_COMMITTEE aggregators instead of to everyone: n*k + k*n
     * messages instead of 2n^2 (docs/protocol.md). */
    a.committee = np > WARD_AGG_ALL_TO_ALL_MAX ? WARD_AGG_COMMITTEE : 0;
    a.epsilon = req->epsilon ? req->epsilon->value : 0;
    a.delta = req->delta ? req->delta->value : 0;
    /* The session's scale: 0 when the proposer's column is an integer
     * column, else the largest scale an import infers (every party's
     * inferred scale fits; DECISIONS.md, Numbers). */
    if (c->store && a.column[0] && a.op != WARD__WIRE__AGGREGATE_OP__AGG_COUNT &&
        a.op != WARD__WIRE__AGGREGATE_OP__AGG_HISTOGRAM) {
        ward_table_info t;
        if (ward_store_table_info(c->store, &t, a.table) == WARD_OK) {
            for (size_t i = 0; i < t.ncolumns; i++)
                if (strcmp(t.columns[i].name, a.column) == 0 &&
                    t.columns[i].type == WARD_COLTYPE_DECIMAL)
                    a.scale = t.columns[i].scale > WARD_STORE_INFER_MAX_SCALE
                                  ? t.columns[i].scale
                                  : WARD_STORE_INFER_MAX_SCALE;
            ward_table_info_clear(&t);
        }
    }
    if (req->exact && (req->epsilon || req->delta)) {
        core_reply_error(c, out, client, req_id, WARD_EINVAL,
                         "--exact cannot be combined with --epsilon or --delta");
        free(parties);
        free(outputs);
        free(dom);
        free(dom_ptrs);
        return;
    }
    char ldp_mech[16] = "";
    if (a.op == WARD__WIRE__AGGREGATE_OP__AGG_LDP) {
        /* Local-DP reports are private already: no noise is added, and the
         * spec carries the proposer's report parameters for every party to
         * check against its own table. */
        ward_ldp_table_info li;
        int lrc = c->store ? ward_store_ldp_info(c->store, &li, a.table) : WARD_ENOTFOUND;
        if (lrc != WARD_OK || req->epsilon || req->delta || a.group_by[0]) {
            if (lrc != WARD_OK)
                core_reply_error(c, out, client, req_id, lrc, "%s: %s", c->name,
                                 c->store ? ward_store_errmsg(c->store) : "no database");
            else
                core_reply_error(c, out, client, req_id, WARD_EINVAL,
                                 "a local-DP estimate takes no --epsilon, --delta or --group-by");
            free(parties);
            free(outputs);
            free(dom);
            free(dom_ptrs);
            return;
        }
        snprintf(ldp_mech, sizeof ldp_mech, "%s", ward_ldp_mech_name(li.mech));
        a.ldp_mech = ldp_mech;
        a.ldp_epsilon = li.epsilon;
        a.ldp_domain = li.domain;
        a.exact = 1;
    }
    if (!a.exact) {
        /* Differentially private: the default for every aggregate. */
        char dwhy[768];
        int drc = propose_dp(c, &a, req, dwhy, sizeof dwhy);
        if (drc != WARD_OK) {
            core_reply_error(c, out, client, req_id, drc, "%s", dwhy);
            free(parties);
            free(outputs);
            free(dom);
            free(dom_ptrs);
            return;
        }
    }
    Ward__Wire__SessionSpec spec;
    ward__wire__session_spec__init(&spec);
    spec.spec_case = WARD__WIRE__SESSION_SPEC__SPEC_AGGREGATE;
    spec.aggregate = &a;

    agg_session *s = calloc(1, sizeof *s);
    if (!s || session_pack_spec(&s->b, &spec) != WARD_OK) {
        free_session(s);
        free(parties);
        free(outputs);
        free(dom);
        free(dom_ptrs);
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    free(parties);
    free(outputs);
    free(dom);
    free(dom_ptrs);
    uint8_t nonce[WARD_WIRE_NONCE_BYTES];
    session_open(c, &s->b, client, req_id, now, nonce);
    s->phase = PHASE_PROPOSED;
    char why[768];
    int reason = 0;
    int rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_ENOMEM;
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
    if (s->open) {
        ward_key_label *k = malloc((s->loc->n_groups + 1) * sizeof *k);
        if (!k) {
            core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
            free_session(s);
            return;
        }
        memcpy(k, s->loc->labels, s->loc->n_groups * sizeof *k);
        s->keys = k;
        s->n_keys = s->loc->n_groups;
    }
    session_link(&c->sessions, &s->b);
    s->b.accepted[s->b.me] = 1;
    core_log(c, out, WARD_LOG_INFO, "session %.16s: proposing %s of %s.%s to %zu parties",
             s->b.id_hex, op_name(s->agg->op), s->agg->table, s->agg->column, s->b.n);
    session_send_propose(c, out, &s->b, nonce, sizeof nonce);
    if (session_all_accepted(&s->b)) on_all_accepted(c, out, s, now); /* a party of one */
}

static void on_propose(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                       uint64_t now) {
    const char *pname = c->roster->members[from].name;
    agg_session *s =
        (agg_session *)session_from_propose(c, out, c->sessions, from, e, now, sizeof *s);
    if (!s) return;
    s->phase = PHASE_PROPOSED;
    char why[768] = "malformed spec";
    int reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
    int rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_EPARSE;
    if (rc == WARD_OK) rc = prepare_local(c, s, &reason, why, sizeof why);
    Ward__Wire__Accept acc;
    ward__wire__accept__init(&acc);
    char **mine = NULL;
    if (rc == WARD_OK && s->open) {
        /* Our keys go to the proposer for the union: never our values. */
        mine = calloc(s->loc->n_groups + 1, sizeof *mine);
        if (!mine) rc = WARD_ENOMEM;
        for (size_t g = 0; mine && g < s->loc->n_groups; g++) mine[g] = s->loc->labels[g];
        acc.n_keys = mine ? s->loc->n_groups : 0;
        acc.keys = mine;
    }
    if (rc == WARD_OK) {
        session_send_accept(c, out, &s->b, from, &acc);
        free(mine);
        session_link(&c->sessions, &s->b);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: accepted %s of %s from %s", s->b.id_hex,
                 op_name(s->agg->op), s->agg->table, pname);
    } else {
        session_send_reject(c, out, &s->b, from, reason, why);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: rejected proposal from %s: %s", s->b.id_hex,
                 pname, why);
        if (s->agg) audit(c, out, s, "session-rejected", why, now);
        free_session(s);
    }
}

void agg_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                     uint64_t now) {
    if (e->kind == WARD__WIRE__KIND__KIND_PROPOSE) {
        on_propose(c, out, from, e, now);
        return;
    }
    agg_session *s = find_session(c, e->session_id.data);
    if (!s) return; /* finished, aborted or never ours: nothing to do */
    long p = session_sender_pos(c, out, &s->b, from);
    if (p < 0) return;
    const char *pname = c->roster->members[from].name;
    switch (e->kind) {
    case WARD__WIRE__KIND__KIND_ACCEPT:
        if (s->b.proposer != c->self || s->phase != PHASE_PROPOSED || s->b.accepted[p]) return;
        if (s->open && (!keys_ok(e->accept->keys, e->accept->n_keys, 0) ||
                        gather_keys(s, e->accept->keys, e->accept->n_keys) != WARD_OK)) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent a malformed key list", pname);
            return;
        }
        s->b.accepted[p] = 1;
        if (session_all_accepted(&s->b)) on_all_accepted(c, out, s, now);
        break;
    case WARD__WIRE__KIND__KIND_REJECT:
        if (s->b.proposer != c->self || s->phase != PHASE_PROPOSED) return;
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_CANCELLED,
                     e->reject->code == WARD__WIRE__REASON__REASON_POLICY ? WARD_EINVAL : WARD_ESTATE,
                     now, "refused by %s", e->reject->text[0] ? e->reject->text : pname);
        break;
    case WARD__WIRE__KIND__KIND_COMMIT:
        if (from != s->b.proposer || s->phase != PHASE_PROPOSED) return;
        if (e->commit->n_parties != s->b.n) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "commit from %s names another party set", pname);
            return;
        }
        if (s->open) {
            /* No keys at all is an answer too: no party has a row. */
            if (!keys_ok(e->commit->keys, e->commit->n_keys, 1)) {
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                             "commit from %s has a malformed key list", pname);
                return;
            }
            if (settle_open(c, out, s, e->commit->keys, e->commit->n_keys, now) != 0) return;
        }
        s->phase = PHASE_COMMITTED;
        s->b.deadline = now + c->cfg.session_timeout_ms;
        if (send_shares(c, out, s, now) != 0) return;
        maybe_send_partials(c, out, s, now);
        break;
    case WARD__WIRE__KIND__KIND_SHARES: {
        const Ward__Wire__Shares *sh = e->shares;
        if (s->open && s->phase == PHASE_PROPOSED && !s->acc_share && e->round == ROUND_SHARES &&
            s->in_committee[s->b.me] && sh->field == WARD__WIRE__FIELD__FIELD_P61 &&
            sh->n_elements <= 2 * (size_t)WARD_AGG_MAX_GROUPS) {
            /* Open groups: the vector's length comes with the COMMIT, which
             * this share overtook; it waits (settle_open). */
            if (!s->early) {
                s->early = calloc(s->b.n, sizeof *s->early);
                s->early_len = calloc(s->b.n, sizeof *s->early_len);
                if (!s->early || !s->early_len) {
                    free(s->early);
                    free(s->early_len);
                    s->early = NULL;
                    s->early_len = NULL;
                    return;
                }
            }
            if (s->early[p]) return; /* duplicate */
            s->early[p] = malloc(sh->n_elements ? sh->n_elements * sizeof **s->early : 1);
            if (!s->early[p]) return;
            if (sh->n_elements) memcpy(s->early[p], sh->elements, sh->n_elements * sizeof **s->early);
            s->early_len[p] = sh->n_elements;
            return;
        }
        /* Another party's shares may overtake the proposer's COMMIT: once
         * we accepted, we can already add them up. */
        int early_ok = e->round == ROUND_SHARES && s->acc_share != NULL;
        if ((s->phase != PHASE_COMMITTED && !early_ok) || sh->field != WARD__WIRE__FIELD__FIELD_P61 ||
            sh->n_elements != s->len) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent shares that do not fit the session", pname);
            return;
        }
        if ((e->round == ROUND_SHARES && !s->in_committee[s->b.me]) ||
            (e->round == ROUND_PARTIALS && !s->in_committee[p])) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent shares outside the session's committee", pname);
            return;
        }
        if (e->round == ROUND_SHARES) {
            if (s->got_share[p]) return; /* duplicate (idempotent by round and sender) */
            ward_f61_vec_add(s->acc_share, s->acc_share, sh->elements, s->len);
            s->got_share[p] = 1;
            maybe_send_partials(c, out, s, now);
        } else if (e->round == ROUND_PARTIALS) {
            if (!s->is_output[s->b.me] || s->got_partial[p]) return;
            ward_f61_vec_add(s->acc_partial, s->acc_partial, sh->elements, s->len);
            s->got_partial[p] = 1;
            if (s->partial_sent) finish_output(c, out, s, now);
        }
        break;
    }
    case WARD__WIRE__KIND__KIND_ABORT:
        fail_session(c, out, s, 0, 0, WARD_ESTATE, now, "aborted by %s: %s", pname,
                     e->abort->text[0] ? e->abort->text : "no reason given");
        break;
    default:
        break;
    }
}

void agg_on_tick(ward_core *c, ward_actions *out, uint64_t now) {
    for (agg_session *s = (agg_session *)c->sessions, *next; s; s = next) {
        next = (agg_session *)s->b.next;
        if (now < s->b.deadline) continue;
        /* Name the parties we are still waiting for. */
        char who[256] = "";
        size_t off = 0;
        for (size_t i = 0; i < s->b.n && off < sizeof who - 40; i++) {
            int waiting = s->phase == PHASE_PROPOSED
                              ? (s->b.proposer == c->self ? !s->b.accepted[i] : s->b.party[i] == s->b.proposer)
                              : (!s->partial_sent ? (s->in_committee[s->b.me] && !s->got_share[i])
                                                  : (s->in_committee[i] && !s->got_partial[i]));
            if (waiting && i != s->b.me)
                off += (size_t)snprintf(who + off, sizeof who - off, "%s%s", off ? ", " : "",
                                        c->roster->members[s->b.party[i]].name);
        }
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_TIMEOUT, WARD_ESTATE, now,
                     "timed out after %u ms waiting for %s", c->cfg.session_timeout_ms,
                     off ? who : "the other parties");
    }
}

void agg_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now) {
    for (agg_session *s = (agg_session *)c->sessions, *next; s; s = next) {
        next = (agg_session *)s->b.next;
        if (pos_of(s, idx) < 0) continue;
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                     "lost the connection to party %s", c->roster->members[idx].name);
    }
}

void agg_on_client_closed(ward_core *c, uint64_t client) {
    session_forget_client(c->sessions, client);
}

void agg_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now) {
    while (c->sessions)
        fail_session(c, out, (agg_session *)c->sessions, 1, WARD__WIRE__REASON__REASON_CANCELLED,
                     WARD_ESTATE, now, "%s", why);
}

void agg_free_all(ward_core *c) {
    while (c->sessions) {
        agg_session *s = (agg_session *)c->sessions;
        c->sessions = s->b.next;
        free_session(s);
    }
}

uint32_t agg_from(const ward_core *c, long who) { return session_count_from(c->sessions, who); }

uint32_t agg_active(const ward_core *c) { return session_count(c->sessions); }
