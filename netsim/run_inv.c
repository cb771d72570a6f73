/* The invariants of a simulated run (the list is in run.h).
 *
 * To add one: write a check here that calls inv_violation("NAME: ...")
 * when it fails, call it from inv_periodic (every WARD_RUN_CHECK_MS of
 * virtual time), inv_session_answered (each answer) or inv_final (after
 * the drain), and describe it in run.h and docs/simulation.md. A check
 * reads the simulation (ward_sim_*), the city's plaintext (ward_city_*) and
 * the runner's fault bookkeeping; it must not change the run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
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

/* Hook for the DP work: a differentially private result must fall within
 * the noise distribution's bounds around the plaintext answer, at the
 * session's epsilon and delta. No DP sessions run in the simulator yet. */
static void inv_dp_result(run_ctx *r, const ward_run_session *s) {
    (void)r;
    (void)s;
}

/* Hook for the DP work: each node's spent budget (its ledger in the
 * store) never exceeds its totals, and equals the sum of the epsilons of
 * the releases it took part in, crash or not. */
static void inv_privacy_budget(run_ctx *r) { (void)r; }

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
    if (s->status == WARD_RUN_OK) {
        if (s->checked) check_exact(r, s, idx);
        else inv_violation(r, "exact_result: %s: %s", d, s->error[0] ? s->error : "no plaintext answer");
        inv_dp_result(r, s);
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

void inv_final(run_ctx *r) {
    uint64_t now = ward_sim_now(r->sim);
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
