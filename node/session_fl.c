/* Federated training between nodes (`ward train`, docs/learning.md,
 * "Protocol").
 *
 * Session setup, as for aggregates and decisions:
 *   PROPOSE(TrainSpec, nonce) from the proposer (the coordinator) to every
 *   other party; each parses the feature and label specs, recomputes the
 *   plans (fixed point, wrap check, standardisation scales), checks its
 *   policy (exact results, op "train" on every column the spec reads, for
 *   every other party), loads its rows from its store (a missing table or
 *   column, a non-numeric value, NaN or inf are refused with the loader's
 *   message) and answers ACCEPT or REJECT; COMMIT once every party accepted.
 *
 * Then rounds r = 0 .. R + 1, all with the same four steps (FlUpdate.step):
 *   SHARE  every party in the run splits its contribution (a vector of
 *          integers) into Shamir shares over F_(2^61-1) with threshold
 *          t = floor(n/2) + 1, x-coordinate = 1 + its position in the party
 *          list, and sends share j to party j;
 *   HOLD   every party tells the coordinator whose shares it holds (once it
 *          holds one from every party it believes alive, or at the round's
 *          timeout), with the SHA-256 of its global model (drift check);
 *   SET    the coordinator picks the contributors S: the parties whose
 *          shares every reporting party holds. It needs at least t
 *          reporters and t contributors, else the run stops;
 *   SUM    every party holding all of S's shares sends the sum of those
 *          shares to every party; any t of these sums reconstruct the sum
 *          of S's contributions, exactly (the wrap check is made from the
 *          declared bounds), the same at every party.
 * Round 0 sums the standardisation statistics (count, sums and sums of
 * squares, node/learn_data.h); rounds 1..R sum the weighted, clipped,
 * fixed-point model updates (node/fedavg.h: ward_fedavg_local_update,
 * ward_fedavg_encode_update, ward_fedavg_decode: exactly what `ward eval
 * learning` computes with ward_fedavg_sum); round R + 1 sums the
 * validation counts for the metrics. After each training round every party
 * adds the decoded sum to its global model and re-quantises it to the
 * 2^-scale grid: the same integers and the same double arithmetic give
 * bit-identical models at every party, and each HOLD carries the model's
 * hash so that drift would stop the run.
 *
 * Weights: party i's update is multiplied by n_i / N inside its own
 * contribution (n_i its training rows, N the total count of round 0), and
 * the sum is used as is (divisor 1). A party left out of a round counts as
 * a zero update for that round; no weight is renormalised, so nothing
 * reveals which share of N the missing party held.
 *
 * Dropouts: a party lost after the commit is dropped from the rounds (the
 * run continues while at least t remain, and the coordinator's SET makes
 * every survivor open the same sum); a party that was slow in one round
 * (its shares did not reach everyone) is left out of that round's S but
 * contributes again from the next one. A party left further behind
 * detaches (keeps its state, asks the coordinator back in with REJOIN);
 * the coordinator's next SET readmits it from the following round and a
 * SYNC gives it the model (docs/learning.md, "Rejoining"). A lost
 * coordinator (the proposer) stops the run. A restarted node does not
 * rejoin a run (its session state was in memory).
 *
 * Personalisation (TrainSpec.personalize_epochs): in the metrics round
 * each party fine-tunes a copy of the final model on its own rows, keeps
 * it, and sends its own validation figures of both models to the
 * coordinator with its HOLD (exact runs only; under DP only the
 * proposer's own figures are reported).
 *
 * What a curious party sees (semi-honest, fewer than t colluding): t - 1
 * shares are uniform, so it learns only the opened sums: N and the sums of
 * the statistics (round 0), the weighted sum of the contributors' updates
 * each round, the total validation counts, and who contributed each round.
 * No single party's update, statistic or row count. The results are exact,
 * so every party's policy must allow exact results, unless the run
 * is DP (--epsilon, docs/learning.md "DP training").
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "dp_account.h"
#include "core_internal.h"
#include "error.h"
#include "fedavg.h"
#include "field61.h"
#include "hex.h"
#include "learn.h"
#include "learn_data.h"
#include "session_common.h"
#include "share.h"
#include "store_rows.h"

#define FL_MAX_PARTIES 256
#define FL_MAX_ROUNDS 100000
#define FL_METRICS 6 /* nval, correct, tp, fp, fn, sse (standardised) * 2^20 */
#define FL_SSE_SCALE 0x1p20
#define FL_SSE_ROW_MAX 1e4
#define FL_DP_STATS_SHARE 0.1 /* of rho, for the standardisation statistics */
#define FL_DP_MOMENTUM 0.9
#define FL_DP_SD_FLOOR 0.05
#define FL_PERS 4 /* personalisation: metric, f1 before; metric, f1 after */
#define FL_REJOIN_WAIT 10 /* session timeouts a detached party waits to rejoin */

typedef struct {
    uint32_t round;
    int started;           /* our shares went out */
    uint8_t *got;          /* n: a share from party i */
    ward_f61 *share;       /* n * mmax (secret) */
    uint8_t *rep;          /* coordinator: a HOLD from party i */
    uint8_t *held;         /* coordinator: n * n, party i holds party j's share */
    uint8_t *hash;         /* coordinator: n * 32, each reporter's model hash */
    int sent_hold;
    int have_set;
    uint8_t *in_set;       /* n: S */
    uint8_t *got_sum;      /* n */
    ward_f61 *sum;         /* n * mmax */
    int sent_sum;
} fl_slot;

typedef struct fl_session {
    session_base b;        /* first: on c->fls (session_common.h) */
    const Ward__Wire__TrainSpec *ts;
    size_t t, pos_coord;
    uint8_t *live;         /* our view: still in the run */
    int committed;
    ward_learn_spec *lspec;
    ward_learn_model m;
    ward_learn_data data;
    size_t *idx, ntr, nval;
    ward_learn_stats st;   /* scales, then our local sums (secret) */
    ward_learn_standardizer z;
    ward_fedavg_plan plan;
    double scale, weight;
    double *g, *upd;
    int64_t *vec;          /* our contribution (secret) */
    size_t mmax;
    uint32_t round;        /* 0 stats, 1..R updates, R + 1 metrics */
    uint32_t contributed;  /* rounds whose S included us */
    fl_slot slot[2];
    int waiting_start;
    uint64_t start_at, last_start;
    ward_rng rng;          /* private: the split and local SGD */
    int rng_ok;
    double metric[FL_METRICS];
    /* DP training */
    int dp, debited;
    uint32_t honest;             /* noise of t - 1 parties carries the guarantee */
    ward_learn_stats_dp sdp;
    double rho_total, eps_spent, class_limit;
    ward_dp_class cls;
    double *vel;                 /* momentum, the same at every party */
    /* Personalisation: our metrics (before[2], after[2]) and, at the
     * coordinator, every reporter's. */
    int have_pers;
    double pers[FL_PERS];
    double *pers_of;             /* coordinator: n * FL_PERS */
    uint8_t *pers_got;           /* coordinator: n */
    /* Rejoining: a party left behind detaches (keeps its state, asks the
     * coordinator back in) until a SYNC readmits it at a later round. */
    int detached;
    uint32_t detach_n;           /* how many times we detached (REJOIN/SYNC tag) */
    uint64_t rejoin_resend;
    uint32_t *join_at;           /* n: round from which party i is back in (0: none) */
    uint32_t *want, *served;     /* coordinator: n, the REJOIN tags asked and answered */
} fl_session;

/* ---- helpers ------------------------------------------------------------ */

static const char *rname(const ward_core *c, long idx) { return c->roster->members[idx].name; }

static fl_session *find_session(ward_core *c, const uint8_t id[32]) {
    return (fl_session *)session_find(c->fls, id);
}

static void slot_free(fl_session *s, fl_slot *sl) {
    if (sl->share) sodium_memzero(sl->share, s->b.n * s->mmax * sizeof *sl->share);
    if (sl->sum) sodium_memzero(sl->sum, s->b.n * s->mmax * sizeof *sl->sum);
    free(sl->share);
    free(sl->sum);
    free(sl->got);
    free(sl->rep);
    free(sl->held);
    free(sl->hash);
    free(sl->in_set);
    free(sl->got_sum);
    memset(sl, 0, sizeof *sl);
}

static int slot_alloc(fl_session *s, fl_slot *sl, uint32_t round) {
    slot_free(s, sl);
    sl->round = round;
    sl->got = calloc(s->b.n, 1);
    sl->share = calloc(s->b.n * s->mmax, sizeof *sl->share);
    sl->rep = calloc(s->b.n, 1);
    sl->held = calloc(s->b.n * s->b.n, 1);
    sl->hash = calloc(s->b.n, 32);
    sl->in_set = calloc(s->b.n, 1);
    sl->got_sum = calloc(s->b.n, 1);
    sl->sum = calloc(s->b.n * s->mmax, sizeof *sl->sum);
    if (!sl->got || !sl->share || !sl->rep || !sl->held || !sl->hash || !sl->in_set || !sl->got_sum ||
        !sl->sum)
        return WARD_ENOMEM;
    return WARD_OK;
}

static void free_session(fl_session *s) {
    if (!s) return;
    for (int i = 0; i < 2; i++) slot_free(s, &s->slot[i]);
    if (s->vec) sodium_memzero(s->vec, s->mmax * sizeof *s->vec);
    if (s->upd && s->m.nparams) sodium_memzero(s->upd, s->m.nparams * sizeof *s->upd);
    sodium_memzero(&s->st, sizeof s->st);
    free(s->vec);
    free(s->upd);
    free(s->g);
    free(s->vel);
    free(s->idx);
    if (s->data.x) sodium_memzero(s->data.x, s->data.n * s->data.d * sizeof *s->data.x);
    if (s->data.y) sodium_memzero(s->data.y, s->data.n * sizeof *s->data.y);
    ward_learn_data_free(&s->data);
    ward_learn_spec_free(s->lspec);
    if (s->rng_ok) ward_rng_clear(&s->rng);
    free(s->live);
    free(s->pers_of);
    free(s->pers_got);
    free(s->join_at);
    free(s->want);
    free(s->served);
    session_base_clear(&s->b);
    free(s);
}

static void unlink_session(ward_core *c, fl_session *s) { session_unlink(&c->fls, &s->b); }

static long pos_of(const fl_session *s, long idx) { return session_pos_of(&s->b, idx); }

static long pos_of_name(const fl_session *s, const char *name) {
    for (size_t i = 0; i < s->b.n; i++)
        if (strcmp(s->ts->parties[i], name) == 0) return (long)i;
    return -1;
}

static int is_coord(const fl_session *s) { return s->b.me == s->pos_coord; }

static size_t count_live(const fl_session *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->b.n; i++) k += s->live[i] != 0;
    return k;
}

/* The vector length of a round. */
static size_t round_len(const fl_session *s, uint32_t r) {
    if (r == 0) return 1 + 2 * s->st.dims;
    if (r <= s->ts->rounds) return s->ts->synthetic_params ? s->ts->synthetic_params : s->m.nparams;
    return FL_METRICS;
}

static void send_env(ward_core *c, ward_actions *out, fl_session *s, long to, int kind,
                     uint32_t round, ward_envelope *e) {
    session_send_env(c, out, &s->b, to, kind, round, e);
}

/* Whom an ABORT leaves out: after the commit, the parties dropped from
 * the run; but the coordinator also tells those it dropped that are still
 * connected: one may be detached, waiting to rejoin. */
static int abort_skips(const ward_core *c, const session_base *b, size_t i) {
    const fl_session *s = (const fl_session *)b;
    return s->committed && !s->live[i] && !(is_coord(s) && core_peer_connected(c, s->b.party[i]));
}

/* Whom the coordinator's last ABORT leaves out: all but the parties that
 * left, are connected and did not get back in. */
static int not_rejoining(const ward_core *c, const session_base *b, size_t i) {
    const fl_session *s = (const fl_session *)b;
    return s->live[i] || !core_peer_connected(c, s->b.party[i]);
}

static void send_abort(ward_core *c, ward_actions *out, fl_session *s, int code, const char *text) {
    session_send_abort(c, out, &s->b, code, text, s->round, abort_skips);
}

static void model_hash(const fl_session *s, uint8_t h[32]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (size_t j = 0; j < s->m.nparams; j++) {
        uint64_t u;
        memcpy(&u, &s->g[j], 8);
        uint8_t b[8];
        for (int k = 0; k < 8; k++) b[k] = (uint8_t)(u >> (8 * k));
        crypto_hash_sha256_update(&st, b, 8);
    }
    crypto_hash_sha256_final(&st, h);
}

static void audit(ward_core *c, ward_actions *out, fl_session *s, const char *kind,
                  const char *outcome, uint64_t now) {
    if (!c->store || !s->ts || !s->b.party) return;
    char details[2048], esc[512];
    session_json_safe(esc, sizeof esc, outcome);
    char hhex[65] = "";
    if (s->g && strcmp(kind, "session-done") == 0) {
        uint8_t h[32];
        model_hash(s, h);
        ward_hex_encode_var(hhex, sizeof hhex, h, 32);
    }
    int off = snprintf(details, sizeof details,
                       "{\"kind\":\"train\",\"table\":\"%s\",\"model\":\"%s\",\"rounds\":%u,"
                       "\"proposer\":\"%s\",\"threshold\":%zu,\"contributed\":%u,"
                       "\"model_sha256\":\"%s\",\"outcome\":\"%s\",\"parties\":[",
                       s->ts->table, ward_learn_kind_name((ward_learn_kind)s->ts->model),
                       s->ts->rounds, rname(c, s->b.proposer), s->t, s->contributed, hhex, esc);
    session_audit_append(c, out, &s->b, kind, details, sizeof details, off, now);
}

static void fail_session(ward_core *c, ward_actions *out, fl_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));
static void fail_session(ward_core *c, ward_actions *out, fl_session *s, int notify, int reason,
                         int code, uint64_t now, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unlink_session(c, s);
    if (notify) send_abort(c, out, s, reason, msg);
    session_reply_failure(c, out, &s->b, code, msg);
    core_log(c, out, WARD_LOG_WARN, "session %.16s (train on %s) aborted: %s", s->b.id_hex,
             s->ts ? s->ts->table : "?", msg);
    audit(c, out, s, "session-aborted", msg, now);
    c->stats.sessions_failed++;
    free_session(s);
}

/* ---- the spec and the local data ------------------------------------------ */

static int bind_spec(ward_core *c, fl_session *s, char *why, size_t cap) {
    if (s->b.spec->spec_case != WARD__WIRE__SESSION_SPEC__SPEC_TRAIN || !s->b.spec->train) {
        snprintf(why, cap, "not a train spec");
        return WARD_EUNSUPPORTED;
    }
    const Ward__Wire__TrainSpec *ts = s->b.spec->train;
    s->ts = ts;
    if (ts->n_parties < 2 || ts->n_parties > FL_MAX_PARTIES || ts->n_parties > c->roster->n_members) {
        snprintf(why, cap, "training needs 2 to %d parties", FL_MAX_PARTIES);
        return WARD_EPARSE;
    }
    s->b.n = ts->n_parties;
    s->b.party = calloc(s->b.n, sizeof *s->b.party);
    s->b.accepted = calloc(s->b.n, 1);
    s->live = calloc(s->b.n, 1);
    s->join_at = calloc(s->b.n, sizeof *s->join_at);
    s->want = calloc(s->b.n, sizeof *s->want);
    s->served = calloc(s->b.n, sizeof *s->served);
    if (!s->b.party || !s->b.accepted || !s->live || !s->join_at || !s->want || !s->served)
        return WARD_ENOMEM;
    long me = -1, pc = -1;
    for (size_t i = 0; i < s->b.n; i++) {
        long idx = ward_roster_find(c->roster, ts->parties[i]);
        if (idx < 0 || (i > 0 && strcmp(ts->parties[i - 1], ts->parties[i]) >= 0)) {
            snprintf(why, cap, "party list must name roster members in ascending order");
            return WARD_EPARSE;
        }
        s->b.party[i] = idx;
        s->live[i] = 1;
        if (idx == c->self) me = (long)i;
        if (idx == s->b.proposer) pc = (long)i;
    }
    if (me < 0 || pc < 0) {
        snprintf(why, cap, me < 0 ? "this node is not a party" : "the proposer is not a party");
        return WARD_EPARSE;
    }
    s->b.me = (size_t)me;
    s->pos_coord = (size_t)pc;
    s->t = s->b.n / 2 + 1;
    if (ts->threshold != s->t) {
        snprintf(why, cap, "threshold %u is not floor(n/2) + 1 = %zu", ts->threshold, s->t);
        return WARD_EPARSE;
    }
    if (ts->table[0] == '\0' || ts->rounds < 1 || ts->rounds > FL_MAX_ROUNDS ||
        ts->local_epochs < 1 || ts->local_epochs > 1000 || ts->batch < 1 || ts->batch > 1000000 ||
        !(ts->lr > 0 && ts->lr < 1e6) || !(ts->lr_decay >= 0 && ts->lr_decay < 1e6) ||
        !(ts->l2 >= 0 && ts->l2 < 1e6) || !(ts->prox_mu >= 0 && ts->prox_mu < 1e6) ||
        !(ts->clip > 0 && ts->clip <= 1e6) || ts->scale_log2 < 1 || ts->scale_log2 > 40 ||
        ts->rows_max < 1 || ts->rows_max > 10000000 || !(ts->val_frac >= 0 && ts->val_frac <= 0.9) ||
        ts->pace_ms > 600000 || !(ts->epsilon >= 0 && ts->epsilon < 1e6) ||
        ts->synthetic_params > WARD_FEDAVG_MAX_PARAMS || ts->personalize_epochs > 1000 ||
        (ts->personalize_epochs && ts->synthetic_params)) {
        snprintf(why, cap, "malformed training spec (a number out of its range)");
        return WARD_EPARSE;
    }
    return WARD_OK;
}

typedef struct {
    ward_learn_loader *l;
    char *err;
    size_t err_cap;
    int rc;
} load_ctx;

static int on_row(void *ctx, const char *const *fields, size_t n, uint64_t row) {
    (void)n;
    load_ctx *lc = ctx;
    int rc = ward_learn_loader_row(lc->l, lc->err, lc->err_cap, fields, row);
    if (rc != WARD_OK) lc->rc = rc;
    return rc;
}

/* DP training: the noise of the statistics and of every round, recomputed
 * here from (epsilon, delta, rounds, n, t) exactly as every other party
 * does, checked against the target and against this node's budget for the
 * table's class. The guarantee holds with the noise of t - 1 parties (any
 * one party colluding, with every round opened from at least t
 * contributions, dropouts included). */
static int prepare_dp(ward_core *c, fl_session *s, int *reason, char *why, size_t cap) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
    if (ts->synthetic_params) {
        snprintf(why, cap, "synthetic rounds are not private");
        return WARD_EINVAL;
    }
    if (!c->ledger_open || c->ledger.broken) {
        *reason = WARD__WIRE__REASON__REASON_BUDGET;
        snprintf(why, cap, "%s: privacy ledger refused: %s", c->name,
                 c->ledger_open ? c->ledger.problem : c->ledger.msg);
        return WARD_ESTATE;
    }
    s->honest = s->t > 1 ? (uint32_t)s->t - 1 : 1;
    double rho_target, sens = ward_fedavg_dp_sensitivity(ts->clip, s->scale, s->m.nparams);
    uint64_t num = 0, den = 0, bound = 0;
    double rho_r = 0;
    int rc = ward_dp_cdp_rho(&rho_target, ts->epsilon, ts->delta);
    if (rc == WARD_OK)
        rc = ward_learn_stats_scales(&s->st, s->lspec, (uint32_t)s->b.n, ts->rows_max, 1000);
    if (rc == WARD_OK)
        rc = ward_learn_stats_dp_plan(&s->sdp, &s->st, s->lspec, rho_target * FL_DP_STATS_SHARE, s->honest);
    if (rc == WARD_OK)
        rc = ward_fedavg_dp_calibrate(&num, &den, (rho_target - s->sdp.rho_spent) / ts->rounds, sens,
                                      s->m.nparams, s->honest);
    if (rc == WARD_OK) rc = ward_fedavg_dp_rho(&rho_r, num, den, sens, s->m.nparams, s->honest);
    if (rc == WARD_OK) rc = ward_fedavg_bound_examples(&bound, ts->clip, s->scale, ts->rows_max);
    if (rc == WARD_OK)
        rc = ward_fedavg_plan_make(&s->plan, s->m.nparams, (uint32_t)s->b.n, s->scale, bound, num, den);
    if (rc == WARD_OK && s->plan.field != WARD_FIELD_F61) rc = WARD_EOVERFLOW;
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, cap, "%s: cannot plan the noise of epsilon %g over %u rounds: %s", c->name,
                 ts->epsilon, ts->rounds, ward_strerror(rc));
        return rc;
    }
    ward_dp_zcdp acct;
    ward_dp_zcdp_init(&acct);
    ward_dp_zcdp_add(&acct, s->sdp.rho_spent);
    for (uint32_t r = 0; r < ts->rounds; r++) ward_dp_zcdp_add(&acct, rho_r);
    s->rho_total = s->sdp.rho_spent + (double)ts->rounds * rho_r;
    rc = ward_dp_zcdp_epsilon(&acct, &s->eps_spent, ts->delta);
    if (rc != WARD_OK || s->eps_spent > ts->epsilon * (1 + 1e-9)) {
        snprintf(why, cap, "%s: the run would spend epsilon %g, more than its %g", c->name,
                 s->eps_spent, ts->epsilon);
        return WARD_EINVAL;
    }
    ward_table_info t;
    rc = ward_store_table_info(c->store, &t, ts->table);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, cap, "%s: table %s: no table '%s'", c->name, ts->table, ts->table);
        return rc;
    }
    s->cls = core_dp_class(t.sensitivity);
    ward_table_info_clear(&t);
    core_budget b;
    rc = core_class_budget(c, &b, s->cls);
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_INTERNAL;
        snprintf(why, cap, "%s: cannot compute the budget of class %s", c->name,
                 ward_ledger_class_name(s->cls));
        return rc;
    }
    s->class_limit = b.rho_total;
    if (!(nextafter(b.rho_spent + s->rho_total, INFINITY) <= b.rho_total)) {
        *reason = WARD__WIRE__REASON__REASON_BUDGET;
        snprintf(why, cap,
                 "%s: the privacy budget of class %s cannot pay for training on table %s: spent "
                 "epsilon %.4g of %.4g (delta %.3g); the run costs rho %.4g, %.4g left",
                 c->name, ward_ledger_class_name(s->cls), ts->table, b.epsilon_spent,
                 b.epsilon_total, b.delta_total, s->rho_total,
                 b.rho_total - b.rho_spent > 0 ? b.rho_total - b.rho_spent : 0.0);
        return WARD_ESTATE;
    }
    return WARD_OK;
}

/* Policy, plans and the local rows. On failure *reason and why say why. */
static int prepare_local(ward_core *c, fl_session *s, int *reason, char *why, size_t cap) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    char err[512] = "";
    int rc;
    s->dp = ts->epsilon > 0;
    int exact_ok = c->cfg.policy ? c->cfg.policy->exact : c->cfg.allow_exact;
    if (s->dp && !(ts->delta > 0 && ts->delta < 0.1)) {
        snprintf(why, cap, "malformed training spec (delta)");
        return WARD_EPARSE;
    }
    if (!s->dp && !exact_ok) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, cap, "%s: policy forbids exact results (training without --epsilon opens "
                 "exact sums of the updates)", c->name);
        return WARD_EINVAL;
    }
    /* DP-FedSGD clips each row's gradient; a person with several rows would
     * need per-person clipping, which is not built. */
    uint32_t persons = ward_policy_rows_per_person(c->cfg.policy, ts->table);
    if (s->dp && persons > 1) {
        *reason = WARD__WIRE__REASON__REASON_POLICY;
        snprintf(why, cap, "%s: one person may own up to %u rows of table %s here, and private "
                 "training bounds one row's influence only; train on it exactly (where policy "
                 "allows) or not at all", c->name, persons, ts->table);
        return WARD_EINVAL;
    }
    *reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
    rc = ward_learn_spec_parse(&s->lspec, err, sizeof err, ts->features, ts->label);
    if (rc != WARD_OK) {
        snprintf(why, cap, "%s: %s", c->name, err);
        return rc;
    }
    const char *const *cols;
    size_t ncols;
    ward_learn_spec_columns(s->lspec, &cols, &ncols);
    for (size_t i = 0; c->cfg.policy && i < s->b.n; i++) {
        if (i == s->b.me) continue;
        for (size_t k = 0; k < ncols; k++) {
            char rule[256];
            if (!ward_policy_allows(c->cfg.policy, rule, sizeof rule, rname(c, s->b.party[i]),
                                    ts->table, cols[k], "train")) {
                *reason = WARD__WIRE__REASON__REASON_POLICY;
                snprintf(why, cap, "%s: train on %s.%s for %s: %s", c->name, ts->table, cols[k],
                         rname(c, s->b.party[i]), rule);
                return WARD_EINVAL;
            }
        }
    }
    ward_learn_head head = ward_learn_spec_head(s->lspec);
    ward_learn_kind kind = (ward_learn_kind)ts->model;
    if (kind < WARD_LEARN_LINEAR || kind > WARD_LEARN_MLP ||
        (kind != WARD_LEARN_MLP && ((kind == WARD_LEARN_LINEAR) != (head == WARD_LEARN_REGRESSION) ||
                                    (kind == WARD_LEARN_SOFTMAX) != (head == WARD_LEARN_MULTICLASS)))) {
        snprintf(why, cap, "model %s does not fit a %s label", ward_learn_kind_name(kind),
                 head == WARD_LEARN_REGRESSION ? "regression"
                 : head == WARD_LEARN_BINARY   ? "binary"
                                               : "multiclass");
        return WARD_EINVAL;
    }
    rc = ward_learn_model_init(&s->m, kind, head, ward_learn_spec_features(s->lspec),
                               ward_learn_spec_classes(s->lspec), ts->hidden);
    if (rc != WARD_OK) {
        snprintf(why, cap, "bad model (hidden units 1..%d for mlp)", WARD_LEARN_MAX_HIDDEN);
        return rc;
    }
    /* The wrap check from declared numbers only. */
    s->scale = ldexp(1.0, (int)ts->scale_log2);
    uint64_t bound;
    if (s->dp) {
        rc = prepare_dp(c, s, reason, why, cap);
        if (rc != WARD_OK) return rc;
    } else {
        rc = ward_fedavg_bound_update(&bound, ts->clip, s->scale);
        if (rc == WARD_OK)
            rc = ward_fedavg_plan_make(&s->plan, ts->synthetic_params ? ts->synthetic_params : s->m.nparams,
                                       (uint32_t)s->b.n, s->scale, bound, 0, 0);
        if (rc == WARD_OK && s->plan.field != WARD_FIELD_F61) rc = WARD_EOVERFLOW;
        if (rc == WARD_OK)
            rc = ward_learn_stats_scales(&s->st, s->lspec, (uint32_t)s->b.n, ts->rows_max, 1e18);
    }
    if (rc != WARD_OK) {
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, cap, "%s: %u parties x clip %g at scale 2^%u could wrap F_(2^61-1)", c->name,
                 (unsigned)s->b.n, ts->clip, ts->scale_log2);
        return rc == WARD_EOVERFLOW ? rc : WARD_EOVERFLOW;
    }
    /* The rows. */
    if (!c->store) {
        *reason = WARD__WIRE__REASON__REASON_UNKNOWN_TABLE;
        snprintf(why, cap, "%s has no database", c->name);
        return WARD_ENOTFOUND;
    }
    load_ctx lc = {NULL, err, sizeof err, WARD_OK};
    rc = ward_learn_loader_begin(&lc.l, err, sizeof err, s->lspec, cols, ncols, 2 * ts->rows_max);
    if (rc == WARD_OK) {
        rc = ward_store_rows_text(c->store, ts->table, cols, ncols, on_row, &lc);
        if (rc != WARD_OK && lc.rc == WARD_OK) snprintf(err, sizeof err, "%s", ward_store_errmsg(c->store));
        if (rc == WARD_OK) {
            ward_learn_load_report rep;
            rc = ward_learn_loader_finish(lc.l, &s->data, &rep);
            lc.l = NULL;
            if (rc != WARD_OK) snprintf(err, sizeof err, "cannot load the rows: %s", ward_strerror(rc));
        }
        ward_learn_loader_free(lc.l);
    }
    if (rc != WARD_OK) {
        *reason = rc == WARD_ENOTFOUND ? WARD__WIRE__REASON__REASON_UNKNOWN_TABLE
                                       : WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, cap, "%s: table %s: %s", c->name, ts->table, err[0] ? err : ward_strerror(rc));
        return rc;
    }
    if (s->data.n < 2) {
        *reason = WARD__WIRE__REASON__REASON_SCHEMA;
        snprintf(why, cap, "%s: table %s has %zu usable rows", c->name, ts->table, s->data.n);
        return WARD_EINVAL;
    }
    rc = ward_rng_init_u64(&s->rng, ward_rng_u64(c->rng));
    if (rc != WARD_OK) return rc;
    s->rng_ok = 1;
    rc = ward_learn_split(&s->idx, &s->ntr, &s->nval, s->data.n, ts->val_frac, &s->rng);
    if (rc == WARD_OK && (s->ntr < 1 || s->ntr > ts->rows_max)) {
        *reason = WARD__WIRE__REASON__REASON_BOUNDS;
        snprintf(why, cap, "%s: %zu training rows, outside 1..%llu (the declared rows_max)", c->name,
                 s->ntr, (unsigned long long)ts->rows_max);
        return WARD_ETOOBIG;
    }
    if (rc != WARD_OK) return rc;
    s->mmax = s->m.nparams;
    if (ts->synthetic_params > s->mmax) s->mmax = ts->synthetic_params;
    if (1 + 2 * s->st.dims > s->mmax) s->mmax = 1 + 2 * s->st.dims;
    if (FL_METRICS > s->mmax) s->mmax = FL_METRICS;
    s->g = calloc(s->m.nparams, sizeof *s->g);
    s->vel = calloc(s->m.nparams, sizeof *s->vel);
    s->upd = calloc(s->m.nparams, sizeof *s->upd);
    s->vec = calloc(s->mmax, sizeof *s->vec);
    if (!s->g || !s->vel || !s->upd || !s->vec) return WARD_ENOMEM;
    if (ts->personalize_epochs && is_coord(s)) {
        s->pers_of = calloc(s->b.n * FL_PERS, sizeof *s->pers_of);
        s->pers_got = calloc(s->b.n, 1);
        if (!s->pers_of || !s->pers_got) return WARD_ENOMEM;
    }
    return WARD_OK;
}

/* ---- rounds --------------------------------------------------------------- */

static void start_round(ward_core *c, ward_actions *out, fl_session *s, uint64_t now);
static void check_progress(ward_core *c, ward_actions *out, fl_session *s, uint64_t now);

static fl_slot *cur_slot(fl_session *s) { return &s->slot[s->round & 1]; }

/* The two figures of one model on our validation rows: accuracy and F1,
 * or the RMSE (in the label's units) and 0. */
static int own_metrics(const fl_session *s, double out[2], const double *w) {
    ward_learn_metrics mt;
    int rc = ward_learn_evaluate(&s->m, &mt, w, &s->data, s->idx + s->ntr, s->nval,
                                 s->m.head == WARD_LEARN_REGRESSION ? s->z.sd[s->m.features] : 1.0);
    if (rc != WARD_OK) return rc;
    out[0] = s->m.head == WARD_LEARN_REGRESSION ? mt.rmse : mt.accuracy;
    out[1] = s->m.head == WARD_LEARN_BINARY ? mt.f1 : 0;
    return WARD_OK;
}

/* Personalisation, after the last round: fine-tunes a copy of the global
 * model on our training rows (plain mini-batch SGD at the last round's
 * step size) and evaluates both models on our validation rows. The
 * fine-tuned model never leaves this node; its metrics go to the
 * coordinator with our HOLD (under DP only the proposer's, which stay at
 * the proposer: docs/learning.md, "Personalisation"). */
static void personalize(ward_core *c, ward_actions *out, fl_session *s) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    s->have_pers = 0;
    if (s->nval < 1) return;
    double *w = malloc(s->m.nparams * sizeof *w);
    if (!w) return;
    memcpy(w, s->g, s->m.nparams * sizeof *w);
    ward_learn_sgd cfg = {.lr = ts->lr / (1.0 + ts->lr_decay * (double)(ts->rounds * ts->local_epochs)),
                          .epochs = ts->personalize_epochs, .batch = ts->batch, .l2 = ts->l2,
                          .prox_mu = 0, .momentum = 0, .lr_decay = 0};
    int rc = own_metrics(s, s->pers, s->g);
    if (rc == WARD_OK) rc = ward_learn_sgd_train(&s->m, w, NULL, &s->data, s->idx, s->ntr, &cfg, &s->rng, NULL);
    if (rc == WARD_OK) rc = own_metrics(s, s->pers + 2, w);
    sodium_memzero(w, s->m.nparams * sizeof *w);
    free(w);
    if (rc != WARD_OK) {
        /* Reported as missing, not as a failure of the run. */
        core_log(c, out, WARD_LOG_WARN, "session %.16s: personalisation at %s failed: %s", s->b.id_hex,
                       c->name, ward_strerror(rc));
        return;
    }
    s->have_pers = 1;
    core_log(c, out, WARD_LOG_INFO,
             "session %.16s: personalised model (%u epochs, kept here): %s %.4f before, %.4f after",
             s->b.id_hex, ts->personalize_epochs,
             s->m.head == WARD_LEARN_REGRESSION ? "rmse" : "accuracy", s->pers[0], s->pers[2]);
    if (s->pers_of) {
        memcpy(s->pers_of + s->b.me * FL_PERS, s->pers, sizeof s->pers);
        s->pers_got[s->b.me] = 1;
    }
}

/* Our contribution of round r into s->vec. */
static int contribution(ward_core *c, ward_actions *out, fl_session *s, char *why, size_t cap) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    uint32_t r = s->round;
    size_t dims = s->st.dims;
    if (r == 0) {
        int rc = ward_learn_stats_local(&s->st, &s->data, s->idx, s->ntr, ts->rows_max);
        if (rc != WARD_OK) {
            snprintf(why, cap, "%s: local statistics: %s", c->name, ward_strerror(rc));
            return rc;
        }
        if (s->dp) rc = ward_learn_stats_add_noise_var(&s->st, &s->sdp, &s->rng);
        if (rc != WARD_OK) {
            snprintf(why, cap, "%s: statistics noise: %s", c->name, ward_strerror(rc));
            return rc;
        }
        s->vec[0] = s->st.count;
        for (size_t j = 0; j < dims; j++) {
            s->vec[1 + j] = s->st.s1[j];
            s->vec[1 + dims + j] = s->st.s2[j];
        }
        return WARD_OK;
    }
    if (r <= ts->rounds && ts->synthetic_params) {
        /* Benchmarks: a random vector within the declared bound. */
        for (size_t j = 0; j < ts->synthetic_params; j++)
            s->vec[j] = (int64_t)ward_rng_uniform(&s->rng, 2 * s->plan.bound + 1) - (int64_t)s->plan.bound;
        return WARD_OK;
    }
    if (r <= ts->rounds && s->dp) {
        /* DP-FedSGD: our rows' clipped per-example gradients at the
         * global model, plus our noise share. */
        int rc = ward_fedavg_dp_contribution(&s->plan, s->vec, &s->m, s->g, &s->data, s->idx, s->ntr,
                                             ts->clip);
        if (rc == WARD_OK) rc = ward_fedavg_add_noise_var(&s->plan, s->vec, &s->rng);
        if (rc != WARD_OK) snprintf(why, cap, "%s: DP contribution: %s", c->name, ward_strerror(rc));
        return rc;
    }
    if (r <= ts->rounds) {
        ward_learn_sgd cfg = {.lr = ts->lr / (1.0 + ts->lr_decay * (double)((r - 1) * ts->local_epochs)),
                              .epochs = ts->local_epochs, .batch = ts->batch, .l2 = ts->l2,
                              .prox_mu = ts->prox_mu, .momentum = 0, .lr_decay = 0};
        int rc = ward_fedavg_local_update(&s->m, s->upd, s->g, &s->data, s->idx, s->ntr, &cfg, &s->rng);
        if (rc == WARD_OK) rc = ward_fedavg_encode_update(&s->plan, s->vec, s->upd, s->weight, ts->clip);
        sodium_memzero(s->upd, s->m.nparams * sizeof *s->upd);
        if (rc == WARD_EOVERFLOW)
            snprintf(why, cap, "local training at %s diverged in round %u (lower the learning rate)",
                     c->name, r);
        else if (rc != WARD_OK)
            snprintf(why, cap, "%s: local update: %s", c->name, ward_strerror(rc));
        return rc;
    }
    if (ts->personalize_epochs) personalize(c, out, s);
    /* Metrics on our validation rows. Under DP only the proposer's own
     * rows count (its operator may see them; the others' are not
     * released), so the others contribute zeros. */
    int64_t nval = 0, correct = 0, tp = 0, fp = 0, fn = 0;
    double sse = 0;
    for (size_t i = 0; i < s->nval && (!s->dp || s->b.proposer == c->self); i++) {
        size_t row = s->idx[s->ntr + i];
        double pred, y = s->data.y[row];
        int rc = ward_learn_predict(&s->m, &pred, s->g, s->data.x + row * s->data.d);
        if (rc != WARD_OK) return rc;
        nval++;
        if (s->m.head == WARD_LEARN_REGRESSION) {
            double e = (pred - y) * (pred - y);
            sse += isfinite(e) && e < FL_SSE_ROW_MAX ? e : FL_SSE_ROW_MAX;
        } else if (s->m.head == WARD_LEARN_BINARY) {
            int p = pred >= 0.5, l = y >= 0.5;
            correct += p == l;
            tp += p && l;
            fp += p && !l;
            fn += !p && l;
        } else {
            correct += pred == y;
        }
    }
    s->vec[0] = nval;
    s->vec[1] = correct;
    s->vec[2] = tp;
    s->vec[3] = fp;
    s->vec[4] = fn;
    s->vec[5] = (int64_t)llround(sse * FL_SSE_SCALE);
    return WARD_OK;
}

static void send_fl(ward_core *c, ward_actions *out, fl_session *s, long to, uint32_t round,
                    Ward__Wire__FlUpdate *u) {
    ward_envelope e;
    ward__wire__envelope__init(&e);
    u->fl_round = round;
    e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_FL_UPDATE;
    e.fl_update = u;
    send_env(c, out, s, to, WARD__WIRE__KIND__KIND_FL_UPDATE, round, &e);
}

/* Names of the parties flagged in mark, into names (pointers into the spec). */
static size_t mark_names(const fl_session *s, char **names, const uint8_t *mark) {
    size_t k = 0;
    for (size_t i = 0; i < s->b.n; i++)
        if (mark[i]) names[k++] = s->ts->parties[i];
    return k;
}

static void on_hold(ward_core *c, ward_actions *out, fl_session *s, fl_slot *sl, size_t p,
                    const uint8_t *holds, const uint8_t *hash, uint64_t now);

/* Tells the coordinator whose shares we hold. */
static void send_hold(ward_core *c, ward_actions *out, fl_session *s, fl_slot *sl, uint64_t now) {
    sl->sent_hold = 1;
    uint8_t h[32];
    model_hash(s, h);
    if (is_coord(s)) {
        on_hold(c, out, s, sl, s->b.me, sl->got, h, now);
        return;
    }
    char **names = calloc(s->b.n, sizeof *names);
    if (!names) return;
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    u.step = WARD__WIRE__FL_STEP__FL_STEP_HOLD;
    u.n_parties = mark_names(s, names, sl->got);
    u.parties = names;
    u.model_hash.data = h;
    u.model_hash.len = 32;
    if (s->have_pers && sl->round == s->ts->rounds + 1 && !s->dp) {
        u.n_personal = FL_PERS;
        u.personal = s->pers;
    }
    send_fl(c, out, s, s->b.party[s->pos_coord], sl->round, &u);
    free(names);
    s->b.deadline = now + c->cfg.session_timeout_ms;
}

/* Coordinator: S from the reports, then SET to every party in the run. */
static void decide_set(ward_core *c, ward_actions *out, fl_session *s, fl_slot *sl, uint64_t now) {
    size_t nrep = 0, ns = 0;
    /* Every reporter's model must be ours (drift check), from round 1 on. */
    uint8_t h[32];
    model_hash(s, h);
    for (size_t i = 0; sl->round > 0 && i < s->b.n; i++)
        if (sl->rep[i] && memcmp(sl->hash + 32 * i, h, 32) != 0) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "round %u: the model of %s differs from the coordinator's (drift)",
                         sl->round, rname(c, s->b.party[i]));
            return;
        }
    for (size_t i = 0; i < s->b.n; i++) nrep += s->live[i] && sl->rep[i];
    for (size_t j = 0; j < s->b.n; j++) {
        int all = 1;
        for (size_t i = 0; i < s->b.n && all; i++)
            if (s->live[i] && sl->rep[i] && !sl->held[i * s->b.n + j]) all = 0;
        sl->in_set[j] = (uint8_t)(all && nrep > 0);
        ns += sl->in_set[j];
    }
    if (nrep < s->t || ns < s->t) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                     "round %u: only %zu parties reported and %zu contributions reached them all; "
                     "%zu of %zu are needed (t = floor(n/2) + 1)", sl->round, nrep, ns, s->t, s->b.n);
        return;
    }
    char **names = calloc(s->b.n, sizeof *names);
    char **back = calloc(s->b.n, sizeof *back);
    uint8_t *joins = calloc(s->b.n, 1);
    if (!names || !back || !joins) {
        free(names);
        free(back);
        free(joins);
        return;
    }
    /* Parties that asked back in join from the next round (there is one). */
    for (size_t i = 0; i < s->b.n; i++)
        if (i != s->b.me && s->want[i] > s->served[i] && sl->round + 1 <= s->ts->rounds + 1) {
            s->served[i] = s->want[i];
            s->join_at[i] = sl->round + 1;
            joins[i] = 1;
            core_log(c, out, WARD_LOG_INFO, "session %.16s: %s rejoins the run from round %u",
                     s->b.id_hex, rname(c, s->b.party[i]), sl->round + 1);
        }
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    u.step = WARD__WIRE__FL_STEP__FL_STEP_SET;
    u.n_parties = mark_names(s, names, sl->in_set);
    u.parties = names;
    u.n_rejoin = mark_names(s, back, joins);
    u.rejoin = back;
    for (size_t i = 0; i < s->b.n; i++)
        if (i != s->b.me && s->live[i]) send_fl(c, out, s, s->b.party[i], sl->round, &u);
    free(names);
    free(back);
    free(joins);
    if (ns < s->b.n)
        core_log(c, out, WARD_LOG_INFO, "session %.16s: round %u opens the sum of %zu of %zu parties",
                 s->b.id_hex, sl->round, ns, s->b.n);
    sl->have_set = 1;
    s->b.deadline = now + c->cfg.session_timeout_ms;
}

static void on_hold(ward_core *c, ward_actions *out, fl_session *s, fl_slot *sl, size_t p,
                    const uint8_t *holds, const uint8_t *hash, uint64_t now) {
    (void)c;
    (void)out;
    (void)now;
    if (sl->rep[p] || sl->have_set) return;
    if (hash) memcpy(sl->hash + 32 * p, hash, 32);
    sl->rep[p] = 1;
    memcpy(sl->held + p * s->b.n, holds, s->b.n);
}

/* Our share of the sum over S, to every party in the run. */
static void send_sum(ward_core *c, ward_actions *out, fl_session *s, fl_slot *sl) {
    size_t m = round_len(s, sl->round);
    for (size_t j = 0; j < s->b.n; j++)
        if (sl->in_set[j] && !sl->got[j]) return; /* we lack one: others will open it */
    ward_f61 *mine = sl->sum + s->b.me * s->mmax;
    memset(mine, 0, m * sizeof *mine);
    for (size_t j = 0; j < s->b.n; j++)
        if (sl->in_set[j]) ward_f61_vec_add(mine, mine, sl->share + j * s->mmax, m);
    sl->got_sum[s->b.me] = 1;
    sl->sent_sum = 1;
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    u.step = WARD__WIRE__FL_STEP__FL_STEP_SUM;
    u.field = WARD__WIRE__FIELD__FIELD_P61;
    u.n_elements = m;
    u.elements = mine;
    for (size_t i = 0; i < s->b.n; i++)
        if (i != s->b.me && s->live[i]) send_fl(c, out, s, s->b.party[i], sl->round, &u);
}

static void finish(ward_core *c, ward_actions *out, fl_session *s, uint64_t now);

/* Applies the opened sum of the current round; returns 0 to go on. */
static int apply_sum(ward_core *c, ward_actions *out, fl_session *s, const int64_t *v, uint64_t now) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    uint32_t r = s->round;
    char err[512] = "";
    if (r == 0) {
        ward_learn_stats tot = s->st;
        size_t dims = s->st.dims;
        tot.count = v[0];
        for (size_t j = 0; j < dims; j++) {
            tot.s1[j] = v[1 + j];
            tot.s2[j] = v[1 + dims + j];
        }
        /* With noise, only a binary label's positives say something
         * reliable (a noisy variance can come out at or below 0). */
        int rc = !s->dp || s->m.head == WARD_LEARN_BINARY
                     ? ward_learn_stats_label_check(&tot, s->lspec, err, sizeof err)
                     : WARD_OK;
        if (rc == WARD_OK && tot.count < 1) {
            snprintf(err, sizeof err, "no training rows across the parties");
            rc = WARD_EINVAL;
        }
        if (rc == WARD_OK)
            rc = ward_learn_standardizer_make(&s->z, &tot, s->lspec, s->dp ? FL_DP_SD_FLOOR : 1e-3);
        if (rc == WARD_OK) rc = ward_learn_standardize(&s->z, &s->data, s->m.head == WARD_LEARN_REGRESSION);
        sodium_memzero(&tot, sizeof tot);
        if (rc != WARD_OK) {
            fail_session(c, out, s, 0, 0, rc, now, "%s", err[0] ? err : ward_strerror(rc));
            return rc;
        }
        s->weight = fmin(1.0, (double)s->ntr / s->z.count);
        ward_rng ir;
        ward_rng_init_u64(&ir, ts->init_seed);
        rc = ward_learn_params_init(&s->m, s->g, s->m.nparams, &ir);
        ward_rng_clear(&ir);
        return rc;
    }
    if (r <= ts->rounds && ts->synthetic_params) return WARD_OK;
    if (r <= ts->rounds) {
        /* FedAvg: the weighted sum of the updates; DP: the noisy sum of
         * gradients over the DP count N, a momentum step. */
        int rc = ward_fedavg_decode(&s->plan, s->upd, v, s->dp ? s->z.count : 1.0);
        if (rc == WARD_OK && s->dp) {
            for (size_t j = 0; j < s->m.nparams; j++) {
                s->vel[j] = FL_DP_MOMENTUM * s->vel[j] + s->upd[j];
                s->upd[j] = -ts->lr * s->vel[j];
            }
        }
        if (rc == WARD_OK) {
            for (size_t j = 0; j < s->m.nparams; j++)
                s->g[j] = nearbyint((s->g[j] + s->upd[j]) * s->scale) / s->scale;
            if (!ward_learn_params_ok(s->g, s->m.nparams)) rc = WARD_EOVERFLOW;
        }
        if (rc != WARD_OK) {
            fail_session(c, out, s, 0, 0, rc, now,
                         "training diverged in round %u (lower the learning rate)", r);
            return rc;
        }
        return WARD_OK;
    }
    double nval = (double)v[0];
    s->metric[0] = nval;
    if (nval > 0) {
        if (s->m.head == WARD_LEARN_REGRESSION) {
            s->metric[1] = sqrt((double)v[5] / FL_SSE_SCALE / nval) * s->z.sd[s->m.features];
        } else {
            s->metric[1] = (double)v[1] / nval;
            double den = 2.0 * (double)v[2] + (double)v[3] + (double)v[4];
            s->metric[2] = den > 0 ? 2.0 * (double)v[2] / den : 0;
        }
    }
    finish(c, out, s, now);
    return 1;
}

/* Coordinator: the model (public to the parties) and the round at which
 * party j rejoins, with the run's members from then on. */
static void send_sync(ward_core *c, ward_actions *out, fl_session *s, size_t j) {
    char **names = calloc(s->b.n, sizeof *names);
    uint8_t *mem = calloc(s->b.n, 1);
    if (!names || !mem) {
        free(names);
        free(mem);
        return;
    }
    for (size_t i = 0; i < s->b.n; i++) mem[i] = s->live[i] || s->join_at[i] == s->round;
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    u.step = WARD__WIRE__FL_STEP__FL_STEP_SYNC;
    u.model_version = s->served[j];
    u.n_parties = mark_names(s, names, mem);
    u.parties = names;
    u.n_params = s->m.nparams;
    u.params = s->g;
    if (s->dp) {
        u.n_velocity = s->m.nparams;
        u.velocity = s->vel;
    }
    send_fl(c, out, s, s->b.party[j], s->round, &u);
    free(names);
    free(mem);
}

/* With t sums here: reconstruct, apply, next round. */
static void maybe_open(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    fl_slot *sl = cur_slot(s);
    if (!sl->have_set) return;
    size_t k = 0, m = round_len(s, sl->round);
    const ward_f61 **sh = calloc(s->t, sizeof *sh);
    uint64_t *xs = calloc(s->t, sizeof *xs);
    ward_f61 *sec = calloc(m, sizeof *sec);
    int64_t *v = calloc(m, sizeof *v);
    int rc = sh && xs && sec && v ? WARD_OK : WARD_ENOMEM;
    for (size_t i = 0; rc == WARD_OK && i < s->b.n && k < s->t; i++)
        if (sl->got_sum[i]) {
            sh[k] = sl->sum + i * s->mmax;
            xs[k++] = i + 1;
        }
    if (rc == WARD_OK && k == s->t) {
        rc = ward_shamir_f61_reconstruct(sec, m, sh, xs, k, s->t);
        for (size_t j = 0; j < m && rc == WARD_OK; j++) v[j] = ward_f61_to_i64(sec[j]);
        if (rc == WARD_OK) {
            for (size_t j = 0; j < s->b.n; j++)
                if (sl->in_set[j] && j == s->b.me) s->contributed++;
            uint8_t id[32];
            memcpy(id, s->b.id, 32);
            rc = apply_sum(c, out, s, v, now);
            if (rc == WARD_OK && find_session(c, id) == s) {
                /* Next round: the slot of this one is reused two rounds on. */
                uint32_t next = s->round + 1;
                s->round = next;
                for (size_t j = 0; is_coord(s) && j < s->b.n; j++)
                    if (s->join_at[j] == next) send_sync(c, out, s, j);
                s->start_at = s->last_start + s->ts->pace_ms;
                if (s->start_at <= now) {
                    start_round(c, out, s, now);
                } else {
                    s->waiting_start = 1;
                    s->b.deadline = s->start_at + c->cfg.session_timeout_ms;
                }
            }
            rc = WARD_OK;
        }
    }
    if (sec) sodium_memzero(sec, m * sizeof *sec);
    if (v) sodium_memzero(v, m * sizeof *v);
    free(sh);
    free(xs);
    free(sec);
    free(v);
    if (rc != WARD_OK) fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                                    "%s: cannot open round %u: %s", c->name, s->round, ward_strerror(rc));
}

/* Sends what the current round is ready for. s may be gone afterwards. */
static void check_progress(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    if (s->waiting_start) return;
    fl_slot *sl = cur_slot(s);
    if (!sl->started) return;
    uint8_t id[32];
    memcpy(id, s->b.id, 32);
    if (!sl->sent_hold) {
        int all = 1;
        for (size_t j = 0; j < s->b.n && all; j++)
            if (s->live[j] && !sl->got[j]) all = 0;
        if (all) send_hold(c, out, s, sl, now);
        if (find_session(c, id) != s) return;
    }
    if (is_coord(s) && !sl->have_set) {
        int all = 1;
        for (size_t i = 0; i < s->b.n && all; i++)
            if (s->live[i] && !sl->rep[i]) all = 0;
        if (all) decide_set(c, out, s, sl, now);
        if (find_session(c, id) != s) return;
    }
    if (sl->have_set && !sl->sent_sum) send_sum(c, out, s, sl);
    maybe_open(c, out, s, now);
}

static void start_round(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    s->waiting_start = 0;
    for (size_t i = 0; i < s->b.n; i++)
        if (s->join_at[i] == s->round) s->live[i] = 1;
    s->last_start = now;
    s->b.deadline = now + c->cfg.session_timeout_ms;
    fl_slot *sl = cur_slot(s);
    if (sl->round != s->round || !sl->got) {
        if (slot_alloc(s, sl, s->round) != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "%s: out of memory", c->name);
            return;
        }
    }
    /* The slot after this one starts empty for round + 1. */
    fl_slot *nx = &s->slot[(s->round + 1) & 1];
    if (nx->round != s->round + 1 || !nx->got) {
        if (slot_alloc(s, nx, s->round + 1) != WARD_OK) {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                         "%s: out of memory", c->name);
            return;
        }
    }
    char why[600] = "";
    size_t m = round_len(s, s->round);
    if (s->dp && !s->debited) {
        /* Charged, in a committed transaction, before our first share. */
        ward_ledger_spend sp = {s->b.id_hex, s->ts->table, s->cls, s->rho_total, s->eps_spent,
                                s->ts->delta};
        uint64_t seq = 0;
        int lrc = ward_ledger_debit(&c->ledger, &seq, &sp, s->class_limit, (int64_t)now);
        if (lrc != WARD_OK) {
            int budget = lrc == WARD_EOVERFLOW;
            fail_session(c, out, s, 1,
                         budget ? WARD__WIRE__REASON__REASON_BUDGET : WARD__WIRE__REASON__REASON_INTERNAL,
                         budget ? WARD_ESTATE : lrc, now, "%s: %s%s (class %s); nothing released",
                         c->name, budget ? "the privacy budget cannot pay for training on table " : "",
                         budget ? s->ts->table : c->ledger.msg, ward_ledger_class_name(s->cls));
            return;
        }
        s->debited = 1;
        core_log(c, out, WARD_LOG_INFO,
                 "session %.16s: charged rho %.4g (epsilon %.4g, delta %.3g) to table %s, class %s "
                 "(ledger entry %llu)", s->b.id_hex, s->rho_total, s->eps_spent, s->ts->delta,
                 s->ts->table, ward_ledger_class_name(s->cls), (unsigned long long)seq);
    }
    int rc = contribution(c, out, s, why, sizeof why);
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now, "%s",
                     why[0] ? why : ward_strerror(rc));
        return;
    }
    ward_f61 *secret = calloc(m, sizeof *secret);
    ward_f61 *all = calloc(s->b.n * m, sizeof *all);
    ward_f61 **ptr = calloc(s->b.n, sizeof *ptr);
    if (!secret || !all || !ptr) {
        free(secret);
        free(all);
        free(ptr);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, WARD_ENOMEM, now,
                     "%s: out of memory", c->name);
        return;
    }
    for (size_t j = 0; j < m; j++) secret[j] = ward_f61_from_i64(s->vec[j]);
    sodium_memzero(s->vec, s->mmax * sizeof *s->vec);
    for (size_t i = 0; i < s->b.n; i++) ptr[i] = all + i * m;
    rc = ward_shamir_f61_share(c->rng, ptr, s->b.n, s->t, secret, m);
    sodium_memzero(secret, m * sizeof *secret);
    free(secret);
    if (rc == WARD_OK) {
        Ward__Wire__FlUpdate u;
        ward__wire__fl_update__init(&u);
        u.step = WARD__WIRE__FL_STEP__FL_STEP_SHARE;
        u.field = WARD__WIRE__FIELD__FIELD_P61;
        u.n_elements = m;
        for (size_t i = 0; i < s->b.n; i++) {
            if (i == s->b.me || !s->live[i]) continue;
            u.elements = ptr[i];
            uint32_t lab = s->round;
            if (c->cfg.test_fault == WARD_TEST_FAULT_FL_WRONG_ROUND && lab == 2) lab = 4;
            send_fl(c, out, s, s->b.party[i], lab, &u);
        }
        memcpy(sl->share + s->b.me * s->mmax, ptr[s->b.me], m * sizeof *all);
        sl->got[s->b.me] = 1;
        sl->started = 1;
    }
    sodium_memzero(all, s->b.n * m * sizeof *all);
    free(all);
    free(ptr);
    if (rc != WARD_OK) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_INTERNAL, rc, now,
                     "%s: cannot share: %s", c->name, ward_strerror(rc));
        return;
    }
    check_progress(c, out, s, now);
}

static void finish(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    const Ward__Wire__TrainSpec *ts = s->ts;
    uint8_t h[32];
    char hhex[65];
    model_hash(s, h);
    ward_hex_encode_var(hhex, sizeof hhex, h, 32);
    if (s->b.has_client) {
        /* The model: kind, sizes, the standardiser and the parameters. */
        size_t cap = 512 + 32 * (s->m.nparams + 2 * s->z.dims) + strlen(ts->features) * 2 +
                     strlen(ts->label) * 2;
        char *mj = malloc(cap);
        char **fin = calloc(s->b.n, sizeof *fin);
        if (mj && fin) {
            size_t off = (size_t)snprintf(mj, cap,
                                          "{\"kind\": \"%s\", \"features\": %zu, \"classes\": %zu, "
                                          "\"hidden\": %zu, \"nparams\": %zu, \"sha256\": \"%s\", "
                                          "\"mean\": [",
                                          ward_learn_kind_name(s->m.kind), s->m.features,
                                          s->m.classes, s->m.hidden, s->m.nparams, hhex);
            for (size_t j = 0; j < s->z.dims; j++)
                off += (size_t)snprintf(mj + off, cap - off, "%s%.17g", j ? ", " : "", s->z.mean[j]);
            off += (size_t)snprintf(mj + off, cap - off, "], \"sd\": [");
            for (size_t j = 0; j < s->z.dims; j++)
                off += (size_t)snprintf(mj + off, cap - off, "%s%.17g", j ? ", " : "", s->z.sd[j]);
            off += (size_t)snprintf(mj + off, cap - off, "], \"params\": [");
            for (size_t j = 0; j < s->m.nparams; j++)
                off += (size_t)snprintf(mj + off, cap - off, "%s%.17g", j ? ", " : "", s->g[j]);
            snprintf(mj + off, cap - off, "]}");
            Ward__Control__TrainResult res;
            ward__control__train_result__init(&res);
            Ward__Control__Metric mt[3], *mp[3];
            size_t nm = 0;
            for (int k = 0; k < 3; k++) {
                ward__control__metric__init(&mt[k]);
                mp[k] = &mt[k];
            }
            if (s->m.head == WARD_LEARN_REGRESSION) {
                mt[nm].name = (char *)"rmse";
                mt[nm++].value = s->metric[1];
            } else {
                mt[nm].name = (char *)"accuracy";
                mt[nm++].value = s->metric[1];
                if (s->m.head == WARD_LEARN_BINARY) {
                    mt[nm].name = (char *)"f1";
                    mt[nm++].value = s->metric[2];
                }
            }
            mt[nm].name = (char *)"validation_rows";
            mt[nm++].value = s->metric[0];
            res.model_json = mj;
            res.rounds = ts->rounds;
            res.n_metrics = nm;
            res.metrics = mp;
            res.latency_ms = (double)(now - s->b.t0);
            res.session = s->b.id_hex;
            res.model_hash = hhex;
            res.n_parties = ts->n_parties;
            res.parties = ts->parties;
            res.n_finished = mark_names(s, fin, s->live);
            res.finished = fin;
            res.threshold = (uint32_t)s->t;
            Ward__Control__Number eps;
            ward__control__number__init(&eps);
            eps.value = s->eps_spent;
            if (s->dp) res.epsilon = &eps;
            /* Personalisation: every reporter's own figures (under DP only
             * the proposer's, which are its own rows). */
            Ward__Control__PartyMetrics *pm = NULL, **pmp = NULL;
            Ward__Control__Metric *pv = NULL, **pvp = NULL;
            size_t npm = 0;
            if (ts->personalize_epochs && s->pers_of) {
                pm = calloc(s->b.n, sizeof *pm);
                pmp = calloc(s->b.n, sizeof *pmp);
                pv = calloc(s->b.n * FL_PERS, sizeof *pv);
                pvp = calloc(s->b.n * FL_PERS, sizeof *pvp);
            }
            for (size_t i = 0; pm && pmp && pv && pvp && i < s->b.n; i++) {
                if (!s->pers_got[i] || (s->dp && i != s->b.me)) continue;
                Ward__Control__PartyMetrics *x = &pm[npm];
                ward__control__party_metrics__init(x);
                x->party = s->ts->parties[i];
                Ward__Control__Metric *v = pv + npm * FL_PERS;
                Ward__Control__Metric **vp = pvp + npm * FL_PERS;
                size_t per = s->m.head == WARD_LEARN_BINARY ? 2 : 1;
                for (size_t k = 0; k < 2 * per; k++) {
                    size_t half = k / per, j = k % per;
                    ward__control__metric__init(&v[k]);
                    v[k].name = (char *)(j == 1 ? "f1" : s->m.head == WARD_LEARN_REGRESSION ? "rmse" : "accuracy");
                    v[k].value = s->pers_of[i * FL_PERS + 2 * half + j];
                    vp[k] = &v[k];
                }
                x->n_before = per;
                x->before = vp;
                x->n_after = per;
                x->after = vp + per;
                pmp[npm++] = x;
            }
            res.n_personal = npm;
            res.personal = pmp;
            Ward__Control__Response r;
            ward__control__response__init(&r);
            r.id = s->b.req_id;
            r.result_case = WARD__CONTROL__RESPONSE__RESULT_TRAIN;
            r.train = &res;
            core_reply(c, out, s->b.client, &r);
            free(pm);
            free(pmp);
            free(pv);
            free(pvp);
        } else {
            core_reply_error(c, out, s->b.client, s->b.req_id, WARD_ENOMEM, "out of memory");
        }
        free(mj);
        free(fin);
    }
    if (is_coord(s)) /* Parties that left and did not get back in stop waiting. */
        session_send_abort(c, out, &s->b, WARD__WIRE__REASON__REASON_CANCELLED,
                           "the run ended before this party could rejoin", s->round, not_rejoining);
    unlink_session(c, s);
    core_log(c, out, WARD_LOG_INFO, "session %.16s: trained %s on %s over %u rounds, model %.16s",
             s->b.id_hex, ward_learn_kind_name(s->m.kind), ts->table, ts->rounds, hhex);
    audit(c, out, s, "session-done", "model trained", now);
    c->stats.sessions_done++;
    free_session(s);
}

static void on_committed(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    s->committed = 1;
    s->round = 0;
    s->last_start = now;
    start_round(c, out, s, now);
}

static void on_all_accepted(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    session_send_commit(c, out, &s->b, 0, s->ts->parties, NULL, 0);
    on_committed(c, out, s, now);
}

/* ---- entry points ------------------------------------------------------------ */

static double num_or(const Ward__Control__Number *n, double d) { return n ? n->value : d; }

void fl_start(ward_core *c, ward_actions *out, uint64_t client, uint64_t req_id,
              const Ward__Control__TrainRequest *req, uint64_t now) {
    char why[768] = "";
    int rc = WARD_OK;
    Ward__Wire__TrainSpec d;
    ward__wire__train_spec__init(&d);
    switch (req->model) {
    case WARD__CONTROL__MODEL__MODEL_LINEAR: d.model = WARD_LEARN_LINEAR; break;
    case WARD__CONTROL__MODEL__MODEL_LOGREG: d.model = WARD_LEARN_LOGREG; break;
    case WARD__CONTROL__MODEL__MODEL_SOFTMAX: d.model = WARD_LEARN_SOFTMAX; break;
    case WARD__CONTROL__MODEL__MODEL_MLP: d.model = WARD_LEARN_MLP; break;
    default:
        core_reply_error(c, out, client, req_id, WARD_EINVAL, "--model must be linear, logreg, softmax or mlp");
        return;
    }
    /* The feature list: the request's items joined by commas. */
    size_t flen = 1;
    for (size_t i = 0; i < req->n_features; i++) flen += strlen(req->features[i]) + 1;
    char *features = calloc(flen, 1);
    if (!features) {
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < req->n_features; i++) {
        if (i) strcat(features, ",");
        strcat(features, req->features[i]);
    }
    int dp = req->epsilon != NULL;
    double lr_def = dp ? (d.model == WARD_LEARN_LINEAR ? 0.05 : 1.0) : d.model == WARD_LEARN_LINEAR ? 0.02 : 0.3;
    d.table = req->table;
    d.features = features;
    d.label = req->label;
    d.hidden = d.model == WARD_LEARN_MLP ? (req->hidden ? req->hidden : 16) : 0;
    d.rounds = req->rounds;
    d.local_epochs = req->local_epochs ? req->local_epochs : 1;
    d.batch = 32;
    d.lr = num_or(req->learning_rate, lr_def);
    d.lr_decay = 0.1;
    d.l2 = 1e-4;
    d.prox_mu = req->algo == WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX ? num_or(req->prox_mu, 0.01) : 0;
    d.clip = num_or(req->clip, dp ? 1.0 : 100.0);
    d.scale_log2 = dp ? 16 : 24;
    d.delta = dp ? 1e-5 : 0;
    d.rows_max = 20000;
    d.init_seed = ward_rng_u64(c->rng);
    d.epsilon = num_or(req->epsilon, 0);
    d.val_frac = 0.2;
    d.pace_ms = req->pace_ms;
    d.synthetic_params = req->synthetic_params;
    d.personalize_epochs = req->personalize_epochs;
    if (req->table[0] == '\0' || features[0] == '\0' || req->label[0] == '\0')
        snprintf(why, sizeof why, "train needs --table, --features and --label"), rc = WARD_EINVAL;
    else if (req->rounds < 1 || req->rounds > FL_MAX_ROUNDS)
        snprintf(why, sizeof why, "--rounds must be 1..%d", FL_MAX_ROUNDS), rc = WARD_EINVAL;
    else if (dp && !(req->epsilon->value > 0 && req->epsilon->value < 1e6))
        snprintf(why, sizeof why, "--epsilon must be a positive number"), rc = WARD_EINVAL;
    else if (dp && (req->synthetic_params || d.prox_mu > 0 || d.local_epochs != 1))
        snprintf(why, sizeof why, "with --epsilon each round is one DP gradient step: no "
                 "--local-epochs, --algo fedprox or synthetic rounds"), rc = WARD_EINVAL;
    else if (req->personalize_epochs > 1000 || (req->personalize_epochs && req->synthetic_params))
        snprintf(why, sizeof why, "--personalize must be 0..1000 epochs (not with synthetic rounds)"), rc = WARD_EINVAL;
    else if (!(d.lr > 0 && d.lr < 1e6) || !(d.clip > 0 && d.clip <= 1e6) ||
             !(d.prox_mu >= 0 && d.prox_mu < 1e6))
        snprintf(why, sizeof why, "--lr, --clip and --prox-mu must be positive numbers"), rc = WARD_EINVAL;
    /* Parse the specs here first, for a clear error before anyone is asked. */
    if (rc == WARD_OK) {
        ward_learn_spec *ls = NULL;
        char err[512];
        rc = ward_learn_spec_parse(&ls, err, sizeof err, features, req->label);
        if (rc != WARD_OK) snprintf(why, sizeof why, "%s", err);
        ward_learn_spec_free(ls);
    }
    size_t nm = c->roster->n_members;
    char **parties = calloc(nm, sizeof *parties);
    size_t np = 0;
    if (!parties && rc == WARD_OK) snprintf(why, sizeof why, "out of memory"), rc = WARD_ENOMEM;
    int all = !req->parties || req->parties->all;
    for (size_t i = 0; parties && i < nm; i++) {
        const char *name = c->roster->members[i].name;
        int in = all || (long)i == c->self;
        for (size_t j = 0; !in && j < req->parties->n_names; j++)
            in = strcmp(req->parties->names[j], name) == 0;
        if (in) parties[np++] = (char *)name;
    }
    for (size_t j = 0; req->parties && j < req->parties->n_names && rc == WARD_OK; j++)
        if (ward_roster_find(c->roster, req->parties->names[j]) < 0) {
            snprintf(why, sizeof why, "'%s' is not in the roster", req->parties->names[j]);
            rc = WARD_ENOTFOUND;
        }
    if (rc == WARD_OK && (np < 2 || np > FL_MAX_PARTIES)) {
        snprintf(why, sizeof why, "training needs 2 to %d parties", FL_MAX_PARTIES);
        rc = WARD_EINVAL;
    }
    for (size_t i = 0; rc == WARD_OK && i < np; i++)
        if (!core_peer_connected(c, ward_roster_find(c->roster, parties[i]))) {
            snprintf(why, sizeof why, "party %s is not connected; the session was not started",
                     parties[i]);
            rc = WARD_ENOTFOUND;
        }
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, req_id, rc, "%s", why);
        free(parties);
        free(features);
        return;
    }
    d.n_parties = np;
    d.parties = parties;
    d.threshold = (uint32_t)(np / 2 + 1);
    Ward__Wire__SessionSpec spec;
    ward__wire__session_spec__init(&spec);
    spec.spec_case = WARD__WIRE__SESSION_SPEC__SPEC_TRAIN;
    spec.train = &d;
    fl_session *s = calloc(1, sizeof *s);
    if (!s || session_pack_spec(&s->b, &spec) != WARD_OK) {
        free_session(s);
        free(parties);
        free(features);
        core_reply_error(c, out, client, req_id, WARD_ENOMEM, "out of memory");
        return;
    }
    free(parties);
    free(features);
    uint8_t nonce[WARD_WIRE_NONCE_BYTES];
    session_open(c, &s->b, client, req_id, now, nonce);
    int reason = 0;
    rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_ENOMEM;
    if (rc == WARD_OK) rc = prepare_local(c, s, &reason, why, sizeof why);
    if (rc != WARD_OK) {
        core_reply_error(c, out, client, req_id, rc, "%s", why[0] ? why : ward_strerror(rc));
        free_session(s);
        return;
    }
    session_link(&c->fls, &s->b);
    s->b.accepted[s->b.me] = 1;
    core_log(c, out, WARD_LOG_INFO, "session %.16s: proposing to train %s on %s with %zu parties, "
             "%u rounds, t = %zu", s->b.id_hex, ward_learn_kind_name(s->m.kind), s->ts->table, s->b.n,
             s->ts->rounds, s->t);
    session_send_propose(c, out, &s->b, nonce, sizeof nonce);
}

static void on_propose(ward_core *c, ward_actions *out, long from, const ward_envelope *e,
                       uint64_t now) {
    const char *pn = rname(c, from);
    fl_session *s = (fl_session *)session_from_propose(c, out, c->fls, from, e, now, sizeof *s);
    if (!s) return;
    char why[768] = "malformed spec";
    int reason = WARD__WIRE__REASON__REASON_BAD_SPEC;
    int rc = s->b.spec ? bind_spec(c, s, why, sizeof why) : WARD_EPARSE;
    if (rc == WARD_OK) rc = prepare_local(c, s, &reason, why, sizeof why);
    if (rc == WARD_OK) {
        Ward__Wire__Accept acc;
        ward__wire__accept__init(&acc);
        session_send_accept(c, out, &s->b, from, &acc);
        session_link(&c->fls, &s->b);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: accepted training of %s on %s from %s",
                 s->b.id_hex, ward_learn_kind_name(s->m.kind), s->ts->table, pn);
    } else {
        session_send_reject(c, out, &s->b, from, reason, why);
        core_log(c, out, WARD_LOG_INFO, "session %.16s: rejected training from %s: %s", s->b.id_hex,
                 pn, why);
        if (s->ts && s->b.party) audit(c, out, s, "session-rejected", why, now);
        free_session(s);
    }
}

/* Names of a HOLD or SET into a mark per party; 0 or a protocol error. */
static int names_to_mark(const fl_session *s, uint8_t *mark, char **names, size_t k) {
    memset(mark, 0, s->b.n);
    for (size_t i = 0; i < k; i++) {
        long p = pos_of_name(s, names[i]);
        if (p < 0 || mark[p]) return WARD_EPARSE;
        mark[p] = 1;
    }
    return WARD_OK;
}

static void send_rejoin(ward_core *c, ward_actions *out, fl_session *s, uint64_t now) {
    Ward__Wire__FlUpdate u;
    ward__wire__fl_update__init(&u);
    u.step = WARD__WIRE__FL_STEP__FL_STEP_REJOIN;
    u.model_version = s->detach_n;
    if (core_peer_connected(c, s->b.party[s->pos_coord]))
        send_fl(c, out, s, s->b.party[s->pos_coord], s->round, &u);
    s->rejoin_resend = now + c->cfg.session_timeout_ms;
}

/* Left behind (fell two rounds behind, timed out, or lost the coordinator's
 * channel): leave the rounds but keep our state (rows, standardiser, split,
 * ledger charge) and ask the coordinator back in; its SYNC gives us the
 * current model and round. Our ABORT drops us at the others meanwhile. */
static void detach(ward_core *c, ward_actions *out, fl_session *s, const char *why, uint64_t now) {
    if (s->detached) return;
    char msg[400];
    snprintf(msg, sizeof msg, "%s left the run in round %u (%.300s); asking to rejoin", c->name,
             s->round, why);
    send_abort(c, out, s, WARD__WIRE__REASON__REASON_TIMEOUT, msg);
    core_log(c, out, WARD_LOG_INFO, "session %.16s: %s", s->b.id_hex, msg);
    s->detached = 1;
    s->detach_n++;
    s->waiting_start = 0;
    s->b.deadline = now + (uint64_t)FL_REJOIN_WAIT * c->cfg.session_timeout_ms;
    send_rejoin(c, out, s, now);
}

/* Whether we may detach rather than fail: after the standardisation round
 * (a rejoining party needs its standardiser), never the coordinator. */
static int may_detach(const fl_session *s) { return s->committed && s->round >= 1 && !is_coord(s); }

/* Coordinator: party p asks back in (tag k); decided with the next SET. */
static void on_rejoin(ward_core *c, ward_actions *out, fl_session *s, size_t p, uint64_t k) {
    if (!is_coord(s) || p == s->b.me || k <= s->served[p] || k > UINT32_MAX || k <= s->want[p]) return;
    s->want[p] = (uint32_t)k;
    core_log(c, out, WARD_LOG_INFO, "session %.16s: %s asks to rejoin (round %u)", s->b.id_hex,
             rname(c, s->b.party[p]), s->round);
}

/* A detached party: the coordinator readmits us at round r with its model. */
static void on_sync(ward_core *c, ward_actions *out, fl_session *s, size_t p,
                    const Ward__Wire__FlUpdate *u, uint64_t now) {
    uint32_t r = u->fl_round;
    if (!s->detached || s->b.party[p] != s->b.proposer || u->model_version != s->detach_n) return;
    uint8_t *mark = calloc(s->b.n, 1);
    if (!mark) return;
    if (r <= s->round || r > s->ts->rounds + 1 || u->n_params != s->m.nparams ||
        (s->dp && u->n_velocity != s->m.nparams) || names_to_mark(s, mark, u->parties, u->n_parties) != WARD_OK ||
        !mark[s->b.me] || !ward_learn_params_ok(u->params, u->n_params)) {
        free(mark);
        fail_session(c, out, s, 0, 0, WARD_EPARSE, now, "%s sent a malformed resynchronisation",
                     rname(c, s->b.party[p]));
        return;
    }
    memcpy(s->g, u->params, s->m.nparams * sizeof *s->g);
    if (s->dp) memcpy(s->vel, u->velocity, s->m.nparams * sizeof *s->vel);
    memcpy(s->live, mark, s->b.n);
    free(mark);
    char what[96];
    snprintf(what, sizeof what, "rejoined at round %u (left in round %u)", r, s->round);
    core_log(c, out, WARD_LOG_INFO, "session %.16s: %s", s->b.id_hex, what);
    audit(c, out, s, "session-rejoined", what, now);
    s->detached = 0;
    s->round = r;
    start_round(c, out, s, now);
}

static void on_fl(ward_core *c, ward_actions *out, fl_session *s, size_t p, const ward_envelope *e,
                  uint64_t now) {
    const Ward__Wire__FlUpdate *u = e->fl_update;
    const char *pn = rname(c, s->b.party[p]);
    uint32_t r = u->fl_round;
    if (u->step == WARD__WIRE__FL_STEP__FL_STEP_REJOIN) {
        on_rejoin(c, out, s, p, u->model_version);
        return;
    }
    if (u->step == WARD__WIRE__FL_STEP__FL_STEP_SYNC) {
        on_sync(c, out, s, p, u, now);
        return;
    }
    if (s->detached) {
        /* Kept for the round we may rejoin at; nothing is answered. */
        if (r <= s->round || r > s->ts->rounds + 1 || e->round != r) return;
        fl_slot *ds = &s->slot[r & 1];
        if (ds->got && ds->round > r) return;
    }
    /* Before our COMMIT arrives, round 0 data of a faster party is kept. */
    else if (r < s->round) return; /* late: that round was opened without it */
    else if ((r > s->round + 1 || e->round != r) && r <= s->ts->rounds + 1 && e->round == r &&
             may_detach(s)) {
        /* We are the one left behind: detach, keep this, ask back in. */
        char why[160];
        snprintf(why, sizeof why, "%s is already at round %u", pn, r);
        detach(c, out, s, why, now);
    } else if (r > s->round + 1 || r > s->ts->rounds + 1 || e->round != r) {
        /* Nobody can be two rounds ahead of the coordinator (a round
         * needs its SET), so there the sender is wrong and the run stops.
         * Elsewhere this node may be the one left behind (stalled): it
         * detaches above when it can, else leaves the run, and its ABORT
         * drops it at the others. */
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                     "%s sent data for round %u while this node is at round %u of %u%s", pn, r,
                     s->round, s->ts->rounds + 1, is_coord(s) ? "" : "; leaving the run");
        return;
    }
    fl_slot *sl = &s->slot[r & 1];
    if (sl->round != r || !sl->got) {
        if (slot_alloc(s, sl, r) != WARD_OK) return;
    }
    size_t m = round_len(s, r);
    int vec = u->step == WARD__WIRE__FL_STEP__FL_STEP_SHARE || u->step == WARD__WIRE__FL_STEP__FL_STEP_SUM;
    if (vec && (u->field != WARD__WIRE__FIELD__FIELD_P61 || u->n_elements != m)) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                     "%s sent a round %u vector of %zu elements, not %zu", pn, r, u->n_elements, m);
        return;
    }
    uint8_t *mark = NULL;
    if (!vec) {
        mark = calloc(s->b.n, 1);
        if (!mark) return;
        if (names_to_mark(s, mark, u->parties, u->n_parties) != WARD_OK) {
            free(mark);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent a party list that does not fit the session", pn);
            return;
        }
    }
    switch (u->step) {
    case WARD__WIRE__FL_STEP__FL_STEP_SHARE: {
        ward_f61 *dst = sl->share + p * s->mmax;
        if (sl->got[p]) {
            if (sodium_memcmp(dst, u->elements, m * sizeof *dst) != 0)
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                             "%s sent two different shares for round %u", pn, r);
            return;
        }
        memcpy(dst, u->elements, m * sizeof *dst);
        sl->got[p] = 1;
        break;
    }
    case WARD__WIRE__FL_STEP__FL_STEP_HOLD:
        if (!is_coord(s)) break;
        if (u->model_hash.len != 32 && r > 0) {
            free(mark);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s sent a report without its model hash", pn);
            return;
        }
        if (s->pers_of && r == s->ts->rounds + 1 && u->n_personal == FL_PERS && !s->dp) {
            int fin = 1;
            for (size_t k = 0; k < FL_PERS; k++) fin &= isfinite(u->personal[k]) && fabs(u->personal[k]) < 1e300;
            if (fin) {
                memcpy(s->pers_of + p * FL_PERS, u->personal, FL_PERS * sizeof *u->personal);
                s->pers_got[p] = 1;
            }
        }
        /* This round's or the next one's: the model check is made when
         * the set is decided, with the coordinator's model of that round. */
        on_hold(c, out, s, sl, p, mark, u->model_hash.len == 32 ? u->model_hash.data : NULL, now);
        break;
    case WARD__WIRE__FL_STEP__FL_STEP_SET:
        if (s->b.party[p] != s->b.proposer) {
            free(mark);
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                         "%s announced a contributor set but is not the coordinator", pn);
            return;
        }
        if (!sl->have_set) {
            size_t k = 0;
            for (size_t i = 0; i < s->b.n; i++) k += mark[i];
            if (k < s->t) {
                free(mark);
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PROTOCOL, WARD_EPARSE, now,
                             "round %u: the coordinator's set has %zu parties, fewer than t = %zu",
                             r, k, s->t);
                return;
            }
            memcpy(sl->in_set, mark, s->b.n);
            sl->have_set = 1;
            for (size_t i = 0; i < u->n_rejoin; i++) {
                long q = pos_of_name(s, u->rejoin[i]);
                if (q >= 0) s->join_at[q] = r + 1;
            }
        }
        break;
    case WARD__WIRE__FL_STEP__FL_STEP_SUM: {
        ward_f61 *dst = sl->sum + p * s->mmax;
        if (sl->got_sum[p]) break;
        memcpy(dst, u->elements, m * sizeof *dst);
        sl->got_sum[p] = 1;
        break;
    }
    default:
        free(mark);
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_UNSUPPORTED, WARD_EUNSUPPORTED, now,
                     "%s sent an unknown training step %d", pn, (int)u->step);
        return;
    }
    free(mark);
    if (r == s->round && !s->detached) check_progress(c, out, s, now);
}

/* Party p leaves the run (lost channel, or it gave up): the rounds go on
 * without it while t remain. s may be gone afterwards. */
static void drop_party(ward_core *c, ward_actions *out, fl_session *s, size_t p, const char *why,
                       uint64_t now) {
    s->live[p] = 0;
    if (s->detached) return; /* our view is replaced when we rejoin */
    core_log(c, out, WARD_LOG_INFO, "session %.16s: %s dropped out in round %u (%s); %zu of %zu remain",
             s->b.id_hex, rname(c, s->b.party[p]), s->round, why, count_live(s), s->b.n);
    if (count_live(s) < s->t) {
        fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                     "only %zu parties remain after %s dropped out (%.200s); t = %zu are needed",
                     count_live(s), rname(c, s->b.party[p]), why, s->t);
        return;
    }
    check_progress(c, out, s, now);
}

int fl_on_envelope(ward_core *c, ward_actions *out, long from, const ward_envelope *e, uint64_t now) {
    if (e->kind == WARD__WIRE__KIND__KIND_PROPOSE) {
        int mine = session_proposal_is(e, WARD__WIRE__SESSION_SPEC__SPEC_TRAIN);
        if (mine) on_propose(c, out, from, e, now);
        return mine;
    }
    if (e->session_id.len != 32) return 0;
    fl_session *s = find_session(c, e->session_id.data);
    if (!s) return 0;
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
    case WARD__WIRE__KIND__KIND_FL_UPDATE:
        on_fl(c, out, s, (size_t)p, e, now);
        break;
    case WARD__WIRE__KIND__KIND_ABORT:
        if (s->committed && from != s->b.proposer) {
            /* After the commit a party other than the coordinator that
             * gives up leaves the run; it goes on while t remain. */
            if (s->join_at[p] > e->round) break; /* it left before it was readmitted */
            if (s->live[p]) {
                char why[300];
                snprintf(why, sizeof why, "gave up (%.200s)", e->abort->text);
                drop_party(c, out, s, (size_t)p, why, now);
            }
            break;
        }
        fail_session(c, out, s, 0, 0, WARD_ESTATE, now, "aborted by %s: %s", pn,
                     e->abort->text[0] ? e->abort->text : "no reason given");
        break;
    default:
        break;
    }
    return 1;
}

void fl_on_tick(ward_core *c, ward_actions *out, uint64_t now) {
    for (fl_session *s = (fl_session *)c->fls, *next; s; s = next) {
        next = (fl_session *)s->b.next;
        if (s->detached) {
            if (now < s->b.deadline) {
                if (now >= s->rejoin_resend) send_rejoin(c, out, s, now);
                continue;
            }
            fail_session(c, out, s, 0, 0, WARD_ESTATE, now,
                         "left the run in round %u and could not rejoin within %u ms", s->round,
                         FL_REJOIN_WAIT * c->cfg.session_timeout_ms);
            next = (fl_session *)c->fls;
            break;
        }
        if (s->waiting_start) {
            if (now >= s->start_at) {
                start_round(c, out, s, now);
                next = (fl_session *)c->fls;
            }
            continue;
        }
        if (now < s->b.deadline) continue;
        fl_slot *sl = cur_slot(s);
        uint8_t id[32];
        memcpy(id, s->b.id, 32);
        if (s->committed && sl->started && !sl->sent_hold) {
            /* Report what we hold; the coordinator leaves out the rest. */
            send_hold(c, out, s, sl, now);
            if (find_session(c, id) == s) check_progress(c, out, s, now);
        } else if (s->committed && sl->started && is_coord(s) && !sl->have_set) {
            decide_set(c, out, s, sl, now);
            if (find_session(c, id) == s) check_progress(c, out, s, now);
        } else if (!s->detached && may_detach(s)) {
            /* After the commit a party other than the coordinator that
             * times out leaves the rounds (the others drop it on its
             * ABORT) and asks to rejoin. */
            detach(c, out, s, "timed out waiting for the round's sums", now);
        } else {
            fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_TIMEOUT, WARD_ESTATE, now,
                         "timed out after %llu ms %s", (unsigned long long)(now - s->b.t0),
                         !s->committed ? "waiting for the parties to accept"
                                       : "waiting for the round's sums");
        }
        next = (fl_session *)c->fls;
        break; /* one at a time: the list may have changed */
    }
}

void fl_on_peer_lost(ward_core *c, ward_actions *out, long idx, uint64_t now) {
    for (int again = 1; again;) {
        again = 0;
        for (fl_session *s = (fl_session *)c->fls; s; s = (fl_session *)s->b.next) {
            long p = pos_of(s, idx);
            if (p < 0 || !s->live[p]) continue;
            if (idx == s->b.proposer && may_detach(s)) {
                /* Perhaps a partition: wait for the channel, then ask back in. */
                if (!s->detached) detach(c, out, s, "lost the coordinator's channel", now);
                continue;
            }
            if (!s->committed || idx == s->b.proposer) {
                fail_session(c, out, s, 1, WARD__WIRE__REASON__REASON_PEER_LOST, WARD_ESTATE, now,
                             "lost the connection to %s %s", idx == s->b.proposer ? "the coordinator" : "party",
                             rname(c, idx));
                again = 1;
                break;
            }
            uint8_t id[32];
            memcpy(id, s->b.id, 32);
            drop_party(c, out, s, (size_t)p, "lost its channel", now);
            if (find_session(c, id) != s) {
                again = 1;
                break;
            }
        }
    }
}

void fl_on_peer_up(ward_core *c, ward_actions *out, long idx, uint64_t now) {
    for (fl_session *s = (fl_session *)c->fls; s; s = (fl_session *)s->b.next)
        if (s->detached && idx == s->b.proposer) send_rejoin(c, out, s, now);
}

void fl_on_client_closed(ward_core *c, uint64_t client) { session_forget_client(c->fls, client); }

void fl_abort_all(ward_core *c, ward_actions *out, const char *why, uint64_t now) {
    while (c->fls)
        fail_session(c, out, (fl_session *)c->fls, 1, WARD__WIRE__REASON__REASON_CANCELLED, WARD_ESTATE,
                     now, "%s", why);
}

void fl_free_all(ward_core *c) {
    while (c->fls) {
        fl_session *s = (fl_session *)c->fls;
        c->fls = s->b.next;
        free_session(s);
    }
}

uint32_t fl_from(const ward_core *c, long who) { return session_count_from(c->fls, who); }

uint32_t fl_active(const ward_core *c) { return session_count(c->fls); }
