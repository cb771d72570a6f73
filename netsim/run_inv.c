/* The invariants of a simulated run (the list is in run.h).
 *
 * To add one: write a check here that calls inv_violation("NAME: ...")
 * when it fails, call it from inv_periodic (every WARD_RUN_CHECK_MS of
 * virtual time), inv_session_answered (each answer) or inv_final (after
 * the drain), and describe it in run.h and docs/simulation.md. A check
 * reads the simulation (ward_sim_*), the city's plaintext (ward_city_*) and
 * the runner's fault bookkeeping; it must not change the run.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "dp_account.h"
#include "error.h"
#include "ledger.h"
#include "policy.h"
#include "run_internal.h"

void inv_violation(run_ctx *r, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ward_run_report *rep = r->rep;
    char **v = realloc(rep->violations, (rep->n_violations + 1) * sizeof *v);
    if (!v) return;
    rep->violations = v;
    v[rep->n_violations] = strdup(buf);
    if (v[rep->n_violations]) rep->n_violations++;
}

int inv_fully_connected(const run_ctx *r, size_t node) {
    return ward_sim_node_up(r->sim, node) && !ward_sim_node_stalled(r->sim, node) &&
           ward_sim_connected_peers(r->sim, node) >= r->n - 1;
}

/* ---- reconnect ------------------------------------------------------------------------ */

void inv_watch_begin(run_ctx *r) {
    if (r->loss_high || r->active) {
        r->watch = 0;
        return;
    }
    r->watch = 1;
    r->watch_start = ward_sim_now(r->sim);
    r->watch_deadline = r->watch_start + WARD_RUN_RECONNECT_MS;
    memset(r->watch_ok, 0, r->n);
}

static void check_reconnect(run_ctx *r, uint64_t now) {
    if (!r->watch) return;
    for (size_t i = 0; i < r->n; i++)
        if (!r->watch_ok[i] && inv_fully_connected(r, i)) r->watch_ok[i] = 1;
    if (now < r->watch_deadline) return;
    r->watch = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->watch_ok[i]) continue;
        inv_violation(r,
                      "reconnect: %s has %zu of %zu peers connected %llu ms after the network "
                      "became whole at %llu ms",
                      ward_sim_node_name(r->sim, i), ward_sim_connected_peers(r->sim, i), r->n - 1,
                      (unsigned long long)(now - r->watch_start), (unsigned long long)r->watch_start);
    }
}

/* ---- tampering and outsiders ---------------------------------------------------------- */

static void on_tamper_stale(void *ctx, size_t node, const char *peer, uint64_t since_ms) {
    run_ctx *r = ctx;
    inv_violation(r,
                  "tamper_rejected: %s kept its connection with %s open more than %d ms after "
                  "receiving tampered bytes at %llu ms",
                  ward_sim_node_name(r->sim, node), peer, WARD_RUN_TAMPER_MS, (unsigned long long)since_ms);
}

static void check_outsiders(run_ctx *r) {
    ward_sim_stats st;
    ward_sim_get_stats(r->sim, &st);
    if (st.outsider_channels > r->seen_outsider_channels) {
        inv_violation(r, "roster_only: an outsider reached an authenticated channel (%llu observations)",
                      (unsigned long long)(st.outsider_channels - r->seen_outsider_channels));
        r->seen_outsider_channels = st.outsider_channels;
    }
    if (st.bytes_to_outsiders > r->seen_outsider_bytes) {
        inv_violation(r, "roster_only: roster nodes sent %llu bytes to an outsider (a handshake went on)",
                      (unsigned long long)(st.bytes_to_outsiders - r->seen_outsider_bytes));
        r->seen_outsider_bytes = st.bytes_to_outsiders;
    }
}

/* ---- sessions --------------------------------------------------------------------------- */

static uint64_t stalled_so_far(const run_ctx *r, const ward_run_session *s, uint64_t now) {
    uint64_t t = s->stalled_ms;
    uint64_t since = r->stall_since[s->item->node];
    if (since) {
        since--;
        t += now - (since > s->submit_ms ? since : s->submit_ms);
    }
    return t;
}

static void describe(char *out, size_t cap, const ward_run_session *s, size_t idx) {
    const ward_city_query *q = &s->item->query;
    snprintf(out, cap, "session %zu (%s %s%s%s%s%s%s%s from node%u at %llu ms)", idx,
             ward_scenario_op_name(q->op), q->table, q->column[0] ? "." : "", q->column,
             q->group_by[0] ? " by " : "", q->group_by, q->where[0] ? " where " : "", q->where,
             s->item->node + 1, (unsigned long long)s->item->at_ms);
}

static void check_pending(run_ctx *r, uint64_t now, int final) {
    for (size_t i = 0; i < r->rep->n_sessions; i++) {
        ward_run_session *s = &r->rep->sessions[i];
        if (s->status != WARD_RUN_PENDING || s->reported) continue;
        uint64_t took = now - s->submit_ms - stalled_so_far(r, s, now);
        if (took <= r->session_bound_ms && !final) continue;
        char d[300];
        describe(d, sizeof d, s, i);
        s->reported = 1;
        inv_violation(r, "session_ends: %s has no answer after %llu ms (bound %llu ms)", d,
                      (unsigned long long)took, (unsigned long long)r->session_bound_ms);
    }
}

static int same(double a, double b) { return a == b; }

/* exact_result: the answer equals the plaintext one, to the last bit. */
static void check_exact(run_ctx *r, const ward_run_session *s, size_t idx) {
    const ward_city_answer *e = &s->expected;
    char d[300], got[200] = "", want[200] = "";
    describe(d, sizeof d, s, idx);
    if (s->item->output && !s->item->output[s->item->node]) {
        /* The proposer only contributed: the result went to the others. */
        if (!s->has_value && s->n_groups == 0) return;
        inv_violation(r, "exact_result: %s: the proposer is not an output party, yet it received a result", d);
        return;
    }
    if (!e->grouped) {
        int ok = s->n_groups == 0 && s->has_value == e->present[0] &&
                 (!s->has_value || same(s->value, e->value[0]));
        if (ok) return;
        if (s->has_value) snprintf(got, sizeof got, "%.17g", s->value);
        else snprintf(got, sizeof got, s->n_groups ? "%zu groups" : "null", s->n_groups);
        if (e->present[0]) snprintf(want, sizeof want, "%.17g", e->value[0]);
        else snprintf(want, sizeof want, "null");
        inv_violation(r, "exact_result: %s returned %s, the plaintext answer is %s", d, got, want);
        return;
    }
    size_t present = 0;
    for (size_t g = 0; g < e->n_groups; g++) present += e->present[g];
    if (s->has_value || s->n_groups != present) {
        inv_violation(r, "exact_result: %s returned %zu groups, the plaintext answer has %zu", d, s->n_groups,
                      present);
        return;
    }
    for (size_t k = 0; k < s->n_groups; k++) {
        size_t g = 0;
        while (g < e->n_groups && strcmp(e->label[g], s->label[k]) != 0) g++;
        if (g == e->n_groups || !e->present[g]) {
            inv_violation(r, "exact_result: %s returned group '%s', which the plaintext answer has not", d,
                          s->label[k]);
            return;
        }
        if (!same(s->gvalue[k], e->value[g])) {
            inv_violation(r, "exact_result: %s group %s is %.17g, the plaintext answer is %.17g", d,
                          s->label[k], s->gvalue[k], e->value[g]);
            return;
        }
    }
}

/* ---- differential privacy ---------------------------------------------------------------- */

/* dp_result: a private result is the plaintext answer plus the noise the
 * parties drew. The simulator sees every draw (ward_core_config.
 * test_noise_hook, summed per session in run.c), so the check is exact:
 * the released value, encoded at the session's scale, is the plaintext
 * encoded the same way plus the summed noise, decoded as the output party
 * decodes it (finish_output in node/session_agg.c). The nodes clamp each
 * row to the declared bounds before summing; the city declares bounds
 * wider than its data (netsim/city.c), so the unclamped plaintext of
 * ward_city_answer_query is the clamped one.
 *
 * Without a record of the draws (none was reported, or two parties gave
 * vectors of different lengths) the check falls back to the bound the
 * noise's distribution implies: the total noise of a coordinate is a sum
 * of n discrete Gaussians with standard deviation at most noise_sd =
 * sqrt(n) sigma, and exceeds WARD_RUN_DP_SIGMAS of them with probability
 * below 2 exp(-72), about 1e-31. */
static int dp_close(double got, double want, double sd) {
    double slack = WARD_RUN_DP_SIGMAS * sd + 1e-9 * (fabs(want) + 1.0);
    return fabs(got - want) <= slack;
}

static void check_dp_mean(run_ctx *r, const ward_run_session *s, const char *d) {
    const ward_city_query *q = &s->item->query;
    const ward_city_column *col = NULL;
    for (size_t t = 0; t < WARD_CITY_TABLES && !col; t++) {
        if (strcmp(ward_city_defs[t].table, q->table) != 0) continue;
        for (size_t v = 0; v < ward_city_defs[t].n_values; v++)
            if (strcmp(ward_city_defs[t].values[v].name, q->column) == 0) col = &ward_city_defs[t].values[v];
    }
    ward_city_query qs = *q;
    qs.op = WARD_CITY_SUM;
    ward_city_answer sum, cnt;
    if (!col || !s->is_party || ward_city_answer_query(&r->city, &sum, &qs, s->is_party) != WARD_OK ||
        ward_city_answer_query(&r->city, &cnt, q, s->is_party) != WARD_OK) {
        inv_violation(r, "dp_result: %s: no plaintext answer to compare with", d);
        return;
    }
    double a = WARD_RUN_DP_SIGMAS * s->noise_sd, b = WARD_RUN_DP_SIGMAS * s->count_noise_sd;
    for (size_t g = 0; g < cnt.n_groups; g++) {
        double S = sum.value[g], C = (double)cnt.rows[g]; /* the rows with a value */
        int found = 0;
        double got = 0;
        if (!sum.grouped) {
            found = s->has_value;
            got = s->value;
        } else {
            for (size_t k = 0; k < s->n_groups && k < WARD_CITY_MAX_GROUPS; k++)
                if (strcmp(s->label[k], cnt.label[g]) == 0) {
                    found = 1;
                    got = s->gvalue[k];
                }
        }
        /* A group is left out when its noisy count is below 1. */
        if (!found) {
            if (C > b)
                inv_violation(r, "dp_result: %s has no mean for group %s, whose %.0f rows exceed the "
                              "count noise's bound %.4g", d, cnt.label[g], C, b);
            continue;
        }
        if (C <= b) continue; /* the noisy count may be near 0: the ratio has no bound */
        double lo = (S - a) / (S - a >= 0 ? C + b : C - b), hi = (S + a) / (S + a >= 0 ? C - b : C + b);
        lo = lo < col->lower ? col->lower : lo > col->upper ? col->upper : lo;
        hi = hi < col->lower ? col->lower : hi > col->upper ? col->upper : hi;
        double eps = 1e-9 * (fabs(lo) + fabs(hi) + 1.0);
        if (got < lo - eps || got > hi + eps)
            inv_violation(r, "dp_result: %s group %s is %.17g, outside [%.10g, %.10g] (plaintext sum %.17g "
                          "over %.0f rows, noise sd %.4g and %.4g)", d, cnt.label[g], got, lo, hi, S, C,
                          s->noise_sd, s->count_noise_sd);
    }
}

/* The declared column of a query, or NULL. */
static const ward_city_column *query_column(const ward_city_query *q) {
    for (size_t t = 0; t < WARD_CITY_TABLES; t++) {
        if (strcmp(ward_city_defs[t].table, q->table) != 0) continue;
        for (size_t v = 0; v < ward_city_defs[t].n_values; v++)
            if (strcmp(ward_city_defs[t].values[v].name, q->column) == 0) return &ward_city_defs[t].values[v];
    }
    return NULL;
}

/* The released value of group g (the domain's label), or 0 when absent. */
static int released(const ward_run_session *s, int grouped, const char *label, double *got) {
    if (!grouped) {
        *got = s->value;
        return s->has_value && s->n_groups == 0;
    }
    for (size_t k = 0; k < s->n_groups && k < WARD_CITY_MAX_GROUPS; k++)
        if (strcmp(s->label[k], label) == 0) {
            *got = s->gvalue[k];
            return 1;
        }
    return 0;
}

static int near_rel(double got, double want) {
    return got == want || fabs(got - want) <= 1e-12 * fmax(fabs(got), fabs(want));
}

/* The exact check against the recorded draws. */
static void check_dp_exact(run_ctx *r, const ward_run_session *s, const char *d, const run_noise *nz) {
    const ward_city_query *q = &s->item->query;
    int is_mean = q->op == WARD_CITY_MEAN;
    int values = q->op == WARD_CITY_SUM || is_mean;
    const ward_city_column *col = values ? query_column(q) : NULL;
    if (values && !col) {
        inv_violation(r, "dp_result: %s: no declared column %s.%s", d, q->table, q->column);
        return;
    }
    /* The session's scale is the declared bounds' scale; counts carry no
     * values and no scale. */
    double div = 1;
    for (unsigned i = 0; values && i < col->scale; i++) div *= 10;
    ward_city_answer sum, cnt;
    if (is_mean) {
        /* The count of a mean is of the rows with a value (cnt.rows). */
        ward_city_query qs = *q;
        qs.op = WARD_CITY_SUM;
        if (!s->is_party || ward_city_answer_query(&r->city, &sum, &qs, s->is_party) != WARD_OK ||
            ward_city_answer_query(&r->city, &cnt, q, s->is_party) != WARD_OK) {
            inv_violation(r, "dp_result: %s: no plaintext answer to compare with", d);
            return;
        }
    } else {
        sum = s->expected;
        cnt = s->expected;
    }
    size_t groups = cnt.n_groups;
    if (nz->len != (is_mean ? 2 * groups : groups)) {
        inv_violation(r, "dp_result: %s: the parties drew %zu noise coordinates for %zu groups", d, nz->len,
                      groups);
        return;
    }
    if (nz->parties != s->n_parties) {
        inv_violation(r, "dp_result: %s: %zu parties drew noise, the result names %zu", d, nz->parties,
                      s->n_parties);
        return;
    }
    if (!is_mean && (s->has_value ? s->n_groups != 0 || sum.grouped : s->n_groups != groups || !sum.grouped)) {
        inv_violation(r, "dp_result: %s returned %s, the domain has %zu groups", d,
                      s->has_value ? "one value" : s->n_groups ? "groups" : "null", groups);
        return;
    }
    size_t matched = 0;
    for (size_t g = 0; g < groups; g++) {
        double got = 0;
        int found = released(s, sum.grouped, cnt.label[g], &got);
        matched += found;
        if (is_mean) {
            /* finish_output: noisy sum over noisy count, clamped to the
             * bounds; no mean when the noisy count is below 1. */
            int64_t v = llround(sum.value[g] * div) + nz->sum[g];
            int64_t n = cnt.rows[g] + nz->sum[groups + g];
            if (found != (n > 0)) {
                inv_violation(r, "dp_result: %s group %s: %s, but its noisy count is %lld", d, cnt.label[g],
                              found ? "a mean" : "no mean", (long long)n);
                return;
            }
            if (!found) continue;
            double want = (double)v / div / (double)n;
            want = want < col->lower ? col->lower : want > col->upper ? col->upper : want;
            if (!near_rel(got, want)) {
                inv_violation(r, "dp_result: %s group %s is %.17g, the plaintext plus the drawn noise is %.17g "
                              "(noisy sum %lld over noisy count %lld, scale 1/%.0f)", d, cnt.label[g], got, want,
                              (long long)v, (long long)n, div);
                return;
            }
            continue;
        }
        if (!found) {
            inv_violation(r, "dp_result: %s left out group %s of the domain", d, cnt.label[g]);
            return;
        }
        int64_t plain = llround((sum.present[g] ? sum.value[g] : 0) * div);
        int64_t want = plain + nz->sum[g], enc = llround(got * div);
        if (enc != want || !near_rel(got, (double)want / div)) {
            inv_violation(r, "dp_result: %s group %s is %.17g (encoded %lld), the plaintext %lld plus the drawn "
                          "noise %lld is %lld", d, cnt.label[g], got, (long long)enc, (long long)plain,
                          (long long)nz->sum[g], (long long)want);
            return;
        }
    }
    if (sum.grouped && matched != s->n_groups)
        inv_violation(r, "dp_result: %s returned %zu groups, %zu of them in the domain", d, s->n_groups, matched);
}

static void inv_dp_result(run_ctx *r, const ward_run_session *s, size_t idx) {
    char d[300];
    describe(d, sizeof d, s, idx);
    const ward_city_answer *e = &s->expected;
    if (s->item->epsilon > 0 && !s->dp) {
        inv_violation(r, "dp_result: %s asked for a private release and got an exact result", d);
        return;
    }
    if (s->item->output && !s->item->output[s->item->node]) {
        if (s->has_value || s->n_groups != 0)
            inv_violation(r, "dp_result: %s: the proposer is not an output party, yet it received a result", d);
        return;
    }
    if (!s->checked) {
        inv_violation(r, "dp_result: %s: %s", d, s->error[0] ? s->error : "no plaintext answer");
        return;
    }
    if (!(s->noise_sd > 0) || (s->item->query.op == WARD_CITY_MEAN && !(s->count_noise_sd > 0))) {
        inv_violation(r, "dp_result: %s: a private result without its noise's sd", d);
        return;
    }
    const run_noise *nz = run_noise_of(r, s->session_id);
    if (nz && !nz->mismatch) {
        check_dp_exact(r, s, d, nz);
        return;
    }
    if (s->item->query.op == WARD_CITY_MEAN) {
        check_dp_mean(r, s, d);
        return;
    }
    /* Sums and counts release every group of the domain. */
    if (!e->grouped) {
        double want = e->present[0] ? e->value[0] : 0;
        if (!s->has_value || s->n_groups != 0)
            inv_violation(r, "dp_result: %s returned %s, the plaintext answer is %.17g", d,
                          s->n_groups ? "groups" : "null", want);
        else if (!dp_close(s->value, want, s->noise_sd))
            inv_violation(r, "dp_result: %s returned %.17g, the plaintext answer is %.17g: more than %d "
                          "noise sd (%.4g) apart", d, s->value, want, WARD_RUN_DP_SIGMAS, s->noise_sd);
        return;
    }
    if (s->has_value || s->n_groups != e->n_groups) {
        inv_violation(r, "dp_result: %s returned %zu groups, the domain has %zu", d, s->n_groups, e->n_groups);
        return;
    }
    for (size_t k = 0; k < s->n_groups; k++) {
        size_t g = 0;
        while (g < e->n_groups && strcmp(e->label[g], s->label[k]) != 0) g++;
        if (g == e->n_groups) {
            inv_violation(r, "dp_result: %s returned group '%s', which is not in the domain", d, s->label[k]);
            return;
        }
        double want = e->present[g] ? e->value[g] : 0;
        if (!dp_close(s->gvalue[k], want, s->noise_sd)) {
            inv_violation(r, "dp_result: %s group %s is %.17g, the plaintext answer is %.17g: more than %d "
                          "noise sd (%.4g) apart", d, s->label[k], s->gvalue[k], want, WARD_RUN_DP_SIGMAS,
                          s->noise_sd);
            return;
        }
    }
}

/* privacy_budget: read back from every node's store after the drain (so
 * across its crashes and restarts), the ledger is sound (it matches the
 * audit log's spends), no class has spent more than its total under the
 * node's policy, no session is charged twice, and every private session
 * whose result reached the proposer has exactly one charge at every party
 * the result names: a result exists only if each of them released its
 * noisy shares. */
typedef struct {
    char **session;
    size_t n, cap;
    double spent[WARD_LEDGER_CLASSES];
} ledger_rows;

static int collect_row(void *ctx, uint64_t seq, const char *session, const char *table, ward_dp_class cls,
                       double rho) {
    (void)seq;
    (void)table;
    ledger_rows *lr = ctx;
    if (lr->n == lr->cap) {
        size_t cap = lr->cap ? 2 * lr->cap : 16;
        char **v = realloc(lr->session, cap * sizeof *v);
        if (!v) return WARD_ENOMEM;
        lr->session = v;
        lr->cap = cap;
    }
    if (!(lr->session[lr->n] = strdup(session))) return WARD_ENOMEM;
    lr->n++;
    if ((int)cls >= 0 && (int)cls < WARD_LEDGER_CLASSES) lr->spent[cls] += rho;
    return 0;
}

static void check_node_ledger(run_ctx *r, size_t node, const double *rho_total) {
    const char *name = ward_sim_node_name(r->sim, node);
    ward_store *st = ward_sim_store(r->sim, node);
    if (!st) {
        inv_violation(r, "privacy_budget: %s is down after the drain; its ledger cannot be read", name);
        return;
    }
    ward_ledger l;
    memset(&l, 0, sizeof l);
    int rc = ward_ledger_open(&l, st);
    if (rc == WARD_ESTATE) {
        inv_violation(r, "privacy_budget: %s's ledger is broken: %s", name, l.problem);
    } else if (rc != WARD_OK) {
        inv_violation(r, "privacy_budget: %s's ledger does not open: %s", name, l.msg);
        return;
    }
    ledger_rows lr;
    memset(&lr, 0, sizeof lr);
    rc = ward_ledger_list(&l, collect_row, &lr);
    if (rc != WARD_OK) inv_violation(r, "privacy_budget: %s's ledger cannot be listed: %s", name, ward_strerror(rc));
    for (int c = 0; rc == WARD_OK && c < WARD_LEDGER_CLASSES; c++) {
        double spent = ward_ledger_spent(&l, (ward_dp_class)c);
        if (spent > rho_total[c] * (1 + 1e-12) || lr.spent[c] > rho_total[c] * (1 + 1e-9))
            inv_violation(r, "privacy_budget: %s has spent rho %.17g of class %s, whose total is %.17g", name,
                          spent, ward_ledger_class_name((ward_dp_class)c), rho_total[c]);
    }
    for (size_t i = 0; rc == WARD_OK && i < lr.n; i++)
        for (size_t j = i + 1; j < lr.n; j++)
            if (strcmp(lr.session[i], lr.session[j]) == 0) {
                inv_violation(r, "privacy_budget: %s charged session %.16s twice", name, lr.session[i]);
                break;
            }
    for (size_t k = 0; rc == WARD_OK && k < r->rep->n_sessions; k++) {
        const ward_run_session *s = &r->rep->sessions[k];
        if (s->status != WARD_RUN_OK || !s->dp || !s->is_party || !s->is_party[node]) continue;
        size_t charges = 0;
        for (size_t i = 0; i < lr.n; i++) charges += strcmp(lr.session[i], s->session_id) == 0;
        if (charges != 1) {
            char d[300];
            describe(d, sizeof d, s, k);
            inv_violation(r, "privacy_budget: %s released its shares for %s (session %.16s) and its ledger "
                          "holds %zu charges for it, not 1", name, d, s->session_id, charges);
        }
    }
    for (size_t i = 0; i < lr.n; i++) free(lr.session[i]);
    free(lr.session);
}

static void inv_privacy_budget(run_ctx *r) {
    /* The simulated nodes run the default policy (ward_sim_config.allow_exact
     * makes it the permissive one): the same class totals everywhere. */
    ward_policy *pol = malloc(sizeof *pol);
    if (!pol) return;
    ward_policy_default(pol, 1);
    double rho_total[WARD_LEDGER_CLASSES];
    for (int c = 0; c < WARD_LEDGER_CLASSES; c++) {
        double eps = 0, delta = 0;
        if (ward_dp_class_budget(&eps, &delta, (ward_dp_class)c, pol->epsilon, pol->delta) != WARD_OK ||
            ward_dp_cdp_rho(&rho_total[c], eps, delta) != WARD_OK) {
            inv_violation(r, "privacy_budget: the default policy's class %d has no budget", c);
            free(pol);
            return;
        }
    }
    free(pol);
    for (size_t i = 0; i < r->n; i++) check_node_ledger(r, i, rho_total);
}

void inv_session_answered(run_ctx *r, ward_run_session *s) {
    size_t idx = (size_t)(s - r->rep->sessions);
    uint64_t now = ward_sim_now(r->sim);
    uint64_t took = now - s->submit_ms - stalled_so_far(r, s, now);
    char d[300];
    describe(d, sizeof d, s, idx);
    if (took > r->session_bound_ms && !s->reported) {
        s->reported = 1;
        inv_violation(r, "session_ends: %s answered after %llu ms (bound %llu ms)", d, (unsigned long long)took,
                      (unsigned long long)r->session_bound_ms);
    }
    if (s->status == WARD_RUN_OK && (s->dp || s->item->epsilon > 0)) {
        inv_dp_result(r, s, idx);
    } else if (s->status == WARD_RUN_OK) {
        if (s->checked) check_exact(r, s, idx);
        else inv_violation(r, "exact_result: %s: %s", d, s->error[0] ? s->error : "no plaintext answer");
    } else if (s->status == WARD_RUN_ERROR && s->calm && s->epoch == r->epoch) {
        inv_violation(r, "calm_session: %s failed in a calm network: %s", d, s->error);
    }
}

void inv_periodic(run_ctx *r) {
    uint64_t now = ward_sim_now(r->sim);
    check_reconnect(r, now);
    ward_sim_tamper_check(r->sim, WARD_RUN_TAMPER_MS, on_tamper_stale, r);
    check_outsiders(r);
    check_pending(r, now, 0);
}

/* ---- training ------------------------------------------------------------------------ */

typedef struct {
    const char *session;
    int done;
    char hash[65];
    int other_hash;
} train_audit;

static int on_train_audit(void *ctx, const ward_audit_entry *e) {
    train_audit *a = ctx;
    if (strcmp(e->session, a->session) != 0 || strcmp(e->kind, "session-done") != 0) return 0;
    const char *h = strstr(e->details, "\"model_sha256\":\"");
    char got[65] = "";
    if (h) snprintf(got, sizeof got, "%.64s", h + 16);
    if (a->done++ == 0) memcpy(a->hash, got, sizeof got);
    else if (strcmp(a->hash, got) != 0) a->other_hash = 1;
    return 0;
}

/* After the drain, every train directive:
 *  train_model: a finished run's model is the same at every party that
 *    recorded one (session-done, model_sha256), and every finishing
 *    party that was not crashed or stalled meanwhile recorded it;
 *  train_completes: a run without a partition, tamper or outsider during
 *    it fails only when fewer than t = floor(n/2) + 1 of its parties stayed
 *    up (no crash, no stall), and none is still pending. */
void inv_trains_final(run_ctx *r) {
    for (size_t k = 0; k < r->n_trains; k++) {
        run_train *t = &r->trains[k];
        const ward_sc_item *it = t->item;
        size_t np = 0, stayed = 0;
        for (size_t i = 0; i < r->n; i++) {
            if (it->parties && !it->parties[i]) continue;
            np++;
            stayed += !t->lost[i];
        }
        size_t thr = np / 2 + 1;
        if (t->status == WARD_RUN_PENDING) {
            inv_violation(r, "train_completes: train of line %zu (from node%u) has not answered by the end",
                          it->line, it->node + 1);
            continue;
        }
        if (t->status == WARD_RUN_ERROR) {
            if (!t->disturbed && stayed >= thr)
                inv_violation(r, "train_completes: train of line %zu failed with %zu of %zu parties up "
                              "(t = %zu): %s", it->line, stayed, np, thr, t->error);
            continue;
        }
        if (t->status != WARD_RUN_OK) continue;
        if (t->n_finished < thr)
            inv_violation(r, "train_completes: train of line %zu finished with %zu parties (t = %zu)",
                          it->line, t->n_finished, thr);
        for (size_t i = 0; i < r->n; i++) {
            ward_store *st = ward_sim_store(r->sim, i);
            if (!st) continue;
            train_audit a;
            memset(&a, 0, sizeof a);
            a.session = t->session_id;
            if (ward_audit_list(st, 0, 0, on_train_audit, &a) != WARD_OK) continue;
            if (a.done && (a.other_hash || strcmp(a.hash, t->model_hash) != 0))
                inv_violation(r, "train_model: %s recorded model %.16s for the training of line %zu, "
                              "the proposer %.16s", ward_sim_node_name(r->sim, i), a.hash, it->line,
                              t->model_hash);
            if (!a.done && t->finished[i] && !t->lost[i])
                inv_violation(r, "train_model: %s finished the training of line %zu but recorded no model",
                              ward_sim_node_name(r->sim, i), it->line);
        }
    }
}

void inv_final(run_ctx *r) {
    uint64_t now = ward_sim_now(r->sim);
    inv_trains_final(r);
    inv_periodic(r);
    check_pending(r, now, 1);
    for (size_t i = 0; i < r->n; i++) {
        ward_core_stats st;
        if (ward_sim_node_stats(r->sim, i, &st) != WARD_OK) continue;
        if (st.sessions_active > 0)
            inv_violation(r, "sessions_drain: %s still has %u session%s open %d ms after the last fault",
                          ward_sim_node_name(r->sim, i), st.sessions_active, st.sessions_active == 1 ? "" : "s",
                          WARD_RUN_DRAIN_MS);
    }
    inv_privacy_budget(r);
}
