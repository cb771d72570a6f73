/* `ward eval learning` (cmd_learn.h). */
#include "cmd_learn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_account.h"
#include "error.h"
#include "fedavg.h"
#include "learn.h"
#include "learn_data.h"
#include "rng.h"
#include "ward_paths.h"

#define MAX_PARTIES 3
#define DELTA 1e-5
#define ROWS_MAX 20000            /* declared most rows per party */
#define VAL_FRAC 0.2
#define UPDATE_CLIP 100.0         /* declared L2 bound of a FedAvg update */
#define UPDATE_SCALE 0x1p24
#define DP_CLIP 1.0               /* per-example gradient clip */
#define DP_SCALE 0x1p16
#define DP_STATS_SHARE 0.1        /* of rho, for the standardisation statistics */
#define DP_MOMENTUM 0.9
#define LR_DECAY 0.1             /* epoch (round) e steps with lr / (1 + 0.1 e) */
#define DP_SD_FLOOR 0.05          /* of a range's width, for noisy variances */
/* Goals (docs/learning.md, "Results") and the paper's anchor. */
#define GOAL_FED_POINTS 2.0
#define GOAL_FED_RMSE 0.05
#define GOAL_DP_POINTS 5.0
#define GOAL_DP_RMSE 0.10
#define PAPER_F1_REL 0.035

typedef struct {
    const char *name, *title, *subdir;
    size_t nparties;
    const char *party[MAX_PARTIES], *file[MAX_PARTIES];
    const char *features, *label;
    ward_learn_kind model;
    size_t hidden;
    double lr;     /* local SGD step */
    double dp_lr;  /* DP: step on the noisy mean gradient (with momentum) */
} task_def;

/* Paths are relative to the learning data directory (netsim/learning). */
static const task_def tasks[] = {
    {"parking", "parking occupancy above 80% from hour, weekday and lot capacity", "../city", 3,
     {"parking-north", "parking-south", "parking-aarhus"},
     {"parking-north.csv", "parking-south.csv", "parking-aarhus.csv"},
     "sin_hour(ts),cos_hour(ts),weekday(ts),weekend(ts),capacity[0,2000]",
     "occupied/capacity>0.8", WARD_LEARN_MLP, 16, 0.3, 1.0},
    {"air", "NO2 above 60 from wind, hour and weekday (London, by years)", "air", 3,
     {"air-1998-2000", "air-2001-2002", "air-2003-2005"},
     {"air-1998-2000.csv", "air-2001-2002.csv", "air-2003-2005.csv"},
     "wind_ms[0,20],sin_deg(wind_dir),cos_deg(wind_dir),sin_hour(ts),cos_hour(ts),weekend(ts)",
     "no2>60", WARD_LEARN_MLP, 16, 0.3, 1.0},
    {"taxi", "taxi fare from trip distance, hour and zone pair (yellow vs green)", "taxi", 2,
     {"taxi-yellow", "taxi-green"},
     {"taxi-yellow.csv", "taxi-green.csv"},
     "distance_mi[0,40],sin_hour(ts),cos_hour(ts),same(pu_zone,do_zone),"
     "eq(pu_borough,Manhattan),eq(do_borough,Manhattan),eq(pu_zone,132),eq(do_zone,132),"
     "eq(pu_zone,138),eq(do_zone,138)",
     "fare_usd[0,150]", WARD_LEARN_LINEAR, 0, 0.02, 0.05},
    {"energy", "energy demand from temperature, humidity, wind and hour (Tetouan zones)",
     "energy", 3,
     {"energy-zone1", "energy-zone2", "energy-zone3"},
     {"energy-zone1.csv", "energy-zone2.csv", "energy-zone3.csv"},
     "temperature[0,45],humidity[0,100],wind[0,10],sin_hour(ts),cos_hour(ts)",
     "load_kw[0,60000]", WARD_LEARN_MLP, 16, 0.05, 0.5},
};
#define NTASKS (sizeof tasks / sizeof tasks[0])

typedef struct {
    uint64_t seed;
    size_t rounds, local_epochs, batch, dp_rounds;
    double prox;
    double lr, dp_lr; /* 0: the task's own */
    int override_model;
    ward_learn_kind model;
    const char *data;
} options;

/* One task's data: the parties' raw (clamped) rows, their splits, and the
 * union of all rows with the union's training and validation indices. */
typedef struct {
    const task_def *t;
    ward_learn_spec *spec;
    ward_learn_model m;
    size_t np;
    ward_learn_data raw[MAX_PARTIES];
    ward_learn_load_report rep[MAX_PARTIES];
    size_t *idx[MAX_PARTIES], ntr[MAX_PARTIES], nval[MAX_PARTIES], off[MAX_PARTIES];
    ward_learn_data u;
    size_t *utr, nutr, *uval, nuval;
} task_data;

typedef struct {
    ward_learn_metrics met;
    double epsilon, epsilon_spent; /* DP runs */
    int ok;
} result;

typedef struct {
    result central, fed, dp[2], local, local_party[MAX_PARTIES];
} task_results;

static const double dp_eps[2] = {1.0, 2.1};

static void task_data_free(task_data *td) {
    for (size_t p = 0; p < td->np; p++) {
        ward_learn_data_free(&td->raw[p]);
        free(td->idx[p]);
    }
    ward_learn_data_free(&td->u);
    free(td->utr);
    free(td->uval);
    ward_learn_spec_free(td->spec);
}

static int fail(const char *task, const char *what, int rc, const char *detail) {
    fprintf(stderr, "ward: error: task %s: %s: %s\n", task, what,
            detail && detail[0] ? detail : ward_strerror(rc));
    return rc ? rc : WARD_EINVAL;
}

static int load_task(task_data *td, const task_def *t, const options *o, ward_rng *root) {
    char err[512], path[1400];
    memset(td, 0, sizeof *td);
    td->t = t;
    td->np = t->nparties;
    int rc = ward_learn_spec_parse(&td->spec, err, sizeof err, t->features, t->label);
    if (rc != WARD_OK) return fail(t->name, "spec", rc, err);
    ward_learn_kind kind = o->override_model ? o->model : t->model;
    ward_learn_head head = ward_learn_spec_head(td->spec);
    if (o->override_model && kind != WARD_LEARN_MLP &&
        ((kind == WARD_LEARN_LINEAR) != (head == WARD_LEARN_REGRESSION) ||
         (kind == WARD_LEARN_SOFTMAX) != (head == WARD_LEARN_MULTICLASS))) {
        fprintf(stderr, "ward: error: task %s: --model %s does not fit its %s label\n", t->name,
                ward_learn_kind_name(kind),
                head == WARD_LEARN_REGRESSION ? "regression" : "binary");
        return WARD_EINVAL;
    }
    rc = ward_learn_model_init(&td->m, kind, head, ward_learn_spec_features(td->spec),
                               ward_learn_spec_classes(td->spec),
                               kind == WARD_LEARN_MLP ? (t->hidden ? t->hidden : 16) : 0);
    if (rc != WARD_OK) return fail(t->name, "model", rc, NULL);
    size_t total = 0;
    for (size_t p = 0; p < td->np; p++) {
        snprintf(path, sizeof path, "%s/%s/%s", o->data, t->subdir, t->file[p]);
        rc = ward_learn_load_csv(&td->raw[p], &td->rep[p], err, sizeof err, td->spec, path,
                                 ROWS_MAX);
        if (rc != WARD_OK) return fail(t->name, t->party[p], rc, err);
        if (td->raw[p].n < 10) {
            snprintf(err, sizeof err, "%.400s has %zu usable rows", path, td->raw[p].n);
            return fail(t->name, t->party[p], WARD_EINVAL, err);
        }
        ward_rng r;
        ward_rng_fork(&r, root, 100 + p);
        rc = ward_learn_split(&td->idx[p], &td->ntr[p], &td->nval[p], td->raw[p].n, VAL_FRAC, &r);
        ward_rng_clear(&r);
        if (rc != WARD_OK) return fail(t->name, "split", rc, NULL);
        td->off[p] = total;
        total += td->raw[p].n;
    }
    size_t d = td->m.features;
    td->u.n = total;
    td->u.d = d;
    td->u.x = malloc(total * d * sizeof(double));
    td->u.y = malloc(total * sizeof(double));
    td->utr = malloc(total * sizeof(size_t));
    td->uval = malloc(total * sizeof(size_t));
    if (!td->u.x || !td->u.y || !td->utr || !td->uval) return WARD_ENOMEM;
    for (size_t p = 0; p < td->np; p++) {
        memcpy(td->u.x + td->off[p] * d, td->raw[p].x, td->raw[p].n * d * sizeof(double));
        memcpy(td->u.y + td->off[p], td->raw[p].y, td->raw[p].n * sizeof(double));
        for (size_t i = 0; i < td->ntr[p]; i++) td->utr[td->nutr++] = td->off[p] + td->idx[p][i];
        for (size_t i = 0; i < td->nval[p]; i++)
            td->uval[td->nuval++] = td->off[p] + td->idx[p][td->ntr[p] + i];
    }
    return WARD_OK;
}

/* A copy of the union standardised with z. */
static int standardized(ward_learn_data *out, const task_data *td,
                        const ward_learn_standardizer *z) {
    size_t n = td->u.n, d = td->u.d;
    out->n = n;
    out->d = d;
    out->x = malloc(n * d * sizeof(double));
    out->y = malloc(n * sizeof(double));
    if (!out->x || !out->y) {
        ward_learn_data_free(out);
        return WARD_ENOMEM;
    }
    memcpy(out->x, td->u.x, n * d * sizeof(double));
    memcpy(out->y, td->u.y, n * sizeof(double));
    return ward_learn_standardize(z, out, td->m.head == WARD_LEARN_REGRESSION);
}

static ward_learn_data party_view(const ward_learn_data *uz, const task_data *td, size_t p) {
    ward_learn_data v = {td->raw[p].n, uz->d, uz->x + td->off[p] * uz->d, uz->y + td->off[p]};
    return v;
}

static double label_sd(const task_data *td, const ward_learn_standardizer *z) {
    return td->m.head == WARD_LEARN_REGRESSION ? z->sd[td->m.features] : 1.0;
}

/* Exact joint statistics over the parties' training rows (a secure sum of
 * the parties' sums), or with each party's DP noise share added first. */
static int joint_stats(ward_learn_standardizer *z, double *rho_spent, const task_data *td,
                       double rho, ward_rng *root, uint64_t label, char *err, size_t err_cap) {
    ward_learn_stats st[MAX_PARTIES], tot;
    const ward_learn_stats *pp[MAX_PARTIES];
    ward_learn_stats_dp dp;
    uint32_t honest = td->np > 1 ? (uint32_t)td->np - 1 : 1;
    for (size_t p = 0; p < td->np; p++) {
        int rc = ward_learn_stats_scales(&st[p], td->spec, (uint32_t)td->np, ROWS_MAX,
                                         rho > 0 ? 1000 : 1e18);
        if (rc == WARD_OK)
            rc = ward_learn_stats_local(&st[p], &td->raw[p], td->idx[p], td->ntr[p], ROWS_MAX);
        if (rc == WARD_OK && rho > 0 && p == 0)
            rc = ward_learn_stats_dp_plan(&dp, &st[0], td->spec, rho, honest);
        if (rc == WARD_OK && rho > 0) {
            ward_rng r;
            ward_rng_fork(&r, root, label * 1000 + p);
            rc = ward_learn_stats_add_noise_var(&st[p], &dp, &r);
            ward_rng_clear(&r);
        }
        if (rc != WARD_OK) return rc;
        pp[p] = &st[p];
    }
    int rc = ward_learn_stats_combine(&tot, pp, td->np);
    /* With noise, only a binary label's positives say something reliable
     * (a regression label's noisy variance can come out at or below 0). */
    if (rc == WARD_OK && (rho <= 0 || td->m.head == WARD_LEARN_BINARY))
        rc = ward_learn_stats_label_check(&tot, td->spec, err, err_cap);
    if (rc == WARD_OK && tot.count < 1) {
        snprintf(err, err_cap, "the released row count is not positive");
        rc = WARD_EINVAL;
    }
    if (rc == WARD_OK)
        rc = ward_learn_standardizer_make(z, &tot, td->spec, rho > 0 ? DP_SD_FLOOR : 1e-3);
    if (rho_spent) *rho_spent = rho > 0 ? dp.rho_spent : 0;
    return rc;
}

static ward_learn_sgd local_cfg(const task_data *td, const options *o, size_t epochs) {
    ward_learn_sgd c = {.lr = o->lr > 0 ? o->lr : td->t->lr, .epochs = epochs, .batch = o->batch, .l2 = 1e-4,
                        .prox_mu = 0, .momentum = 0, .lr_decay = LR_DECAY};
    return c;
}

static int init_params(double *w, const task_data *td, ward_rng *root, uint64_t label) {
    ward_rng r;
    ward_rng_fork(&r, root, label);
    int rc = ward_learn_params_init(&td->m, w, td->m.nparams, &r);
    ward_rng_clear(&r);
    return rc;
}

/* Centralized on the union (the non-private reference), or local-only on
 * one party (party >= 0) with its own standardisation. */
static int run_single(result *res, const task_data *td, const options *o, ward_rng *root,
                      int party, char *err, size_t err_cap) {
    ward_learn_standardizer z;
    int rc;
    if (party < 0) {
        rc = joint_stats(&z, NULL, td, 0, root, 1, err, err_cap);
    } else {
        ward_learn_stats st;
        rc = ward_learn_stats_scales(&st, td->spec, 1, ROWS_MAX, 1e18);
        if (rc == WARD_OK)
            rc = ward_learn_stats_local(&st, &td->raw[party], td->idx[party], td->ntr[party],
                                        ROWS_MAX);
        if (rc == WARD_OK && ward_learn_stats_label_check(&st, td->spec, err, err_cap) != WARD_OK)
            return WARD_OK; /* one class locally: nothing to learn, ok = 0 */
        if (rc == WARD_OK) rc = ward_learn_standardizer_make(&z, &st, td->spec, 1e-3);
    }
    if (rc != WARD_OK) return rc;
    ward_learn_data uz;
    rc = standardized(&uz, td, &z);
    if (rc != WARD_OK) return rc;
    double *w = malloc(td->m.nparams * sizeof *w);
    if (!w) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = init_params(w, td, root, 7);
    ward_learn_sgd cfg = local_cfg(td, o, o->rounds * o->local_epochs);
    ward_rng r;
    ward_rng_fork(&r, root, party < 0 ? 8 : 200 + (uint64_t)party);
    if (rc == WARD_OK) {
        if (party < 0) {
            rc = ward_learn_sgd_train(&td->m, w, NULL, &uz, td->utr, td->nutr, &cfg, &r, NULL);
        } else {
            ward_learn_data v = party_view(&uz, td, (size_t)party);
            rc = ward_learn_sgd_train(&td->m, w, NULL, &v, td->idx[party], td->ntr[party], &cfg,
                                      &r, NULL);
        }
        if (rc == WARD_EOVERFLOW)
            snprintf(err, err_cap, "%s training diverged (lower the learning rate)",
                     party < 0 ? "centralized" : td->t->party[party]);
    }
    ward_rng_clear(&r);
    if (rc == WARD_OK)
        rc = ward_learn_evaluate(&td->m, &res->met, w, &uz, td->uval, td->nuval, label_sd(td, &z));
    if (rc == WARD_OK) res->ok = 1;
    free(w);
    ward_learn_data_free(&uz);
    return rc;
}

/* FedAvg (FedProx when o->prox > 0): each round every party trains locally
 * from the global model and the weighted updates are summed as the
 * secret-shared sum gives them. Each party's weight n_i / N uses its own
 * count and the released total N of the joint statistics. */
static int run_fedavg(result *res, const task_data *td, const options *o, ward_rng *root,
                      char *err, size_t err_cap) {
    ward_learn_standardizer z;
    int rc = joint_stats(&z, NULL, td, 0, root, 1, err, err_cap);
    if (rc != WARD_OK) return rc;
    ward_learn_data uz;
    rc = standardized(&uz, td, &z);
    if (rc != WARD_OK) return rc;
    size_t np = td->m.nparams;
    double *w = malloc(np * sizeof *w), *upd = malloc(td->np * np * sizeof *upd),
           *avg = malloc(np * sizeof *avg);
    const double *rows[MAX_PARTIES];
    double wts[MAX_PARTIES];
    ward_fedavg_plan plan;
    uint64_t bound;
    if (!w || !upd || !avg) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = init_params(w, td, root, 7);
    if (rc == WARD_OK) rc = ward_fedavg_bound_update(&bound, UPDATE_CLIP, UPDATE_SCALE);
    if (rc == WARD_OK)
        rc = ward_fedavg_plan_make(&plan, np, (uint32_t)td->np, UPDATE_SCALE, bound, 0, 0);
    ward_learn_sgd cfg = local_cfg(td, o, o->local_epochs);
    cfg.prox_mu = o->prox;
    for (size_t p = 0; p < td->np; p++) {
        rows[p] = upd + p * np;
        wts[p] = fmin(1.0, (double)td->ntr[p] / z.count);
    }
    for (size_t r = 0; r < o->rounds && rc == WARD_OK; r++) {
        /* One local epoch per round follows the centralized run's schedule. */
        cfg.lr = local_cfg(td, o, 1).lr / (1.0 + LR_DECAY * (double)(r * o->local_epochs));
        cfg.lr_decay = 0;
        for (size_t p = 0; p < td->np && rc == WARD_OK; p++) {
            ward_rng pr;
            ward_rng_fork(&pr, root, 1000000 + r * 16 + p);
            ward_learn_data v = party_view(&uz, td, p);
            rc = ward_fedavg_local_update(&td->m, upd + p * np, w, &v, td->idx[p], td->ntr[p],
                                          &cfg, &pr);
            ward_rng_clear(&pr);
        }
        if (rc == WARD_OK)
            rc = ward_fedavg_round(&plan, avg, rows, wts, (uint32_t)td->np, UPDATE_CLIP, 1.0);
        if (rc == WARD_OK) {
            for (size_t j = 0; j < np; j++) w[j] += avg[j];
            if (!ward_learn_params_ok(w, np)) rc = WARD_EOVERFLOW;
        }
        if (rc == WARD_EOVERFLOW)
            snprintf(err, err_cap, "federated training diverged in round %zu (lower the "
                     "learning rate)", r + 1);
    }
    if (rc == WARD_OK)
        rc = ward_learn_evaluate(&td->m, &res->met, w, &uz, td->uval, td->nuval, label_sd(td, &z));
    if (rc == WARD_OK) res->ok = 1;
    free(w);
    free(upd);
    free(avg);
    ward_learn_data_free(&uz);
    return rc;
}

/* DP-FedAvg with record-level DP (docs/learning.md, "DP-FedAvg"): DP joint
 * statistics, then each round every party sums its rows' clipped
 * per-example gradients at the global model, adds its noise share, and the
 * noisy sum divided by the DP count is one step of the global model. */
static int run_dp(result *res, const task_data *td, const options *o, ward_rng *root,
                  double epsilon, char *err, size_t err_cap) {
    double rho_total;
    int rc = ward_dp_cdp_rho(&rho_total, epsilon, DELTA);
    if (rc != WARD_OK) return rc;
    ward_dp_zcdp acct;
    ward_dp_zcdp_init(&acct);
    uint32_t honest = td->np > 1 ? (uint32_t)td->np - 1 : 1;
    uint64_t label = 2 + (uint64_t)(epsilon * 1000);
    ward_learn_standardizer z;
    double rho_stats;
    rc = joint_stats(&z, &rho_stats, td, rho_total * DP_STATS_SHARE, root, label, err, err_cap);
    if (rc != WARD_OK) return rc;
    ward_dp_zcdp_add(&acct, rho_stats);
    ward_learn_data uz;
    rc = standardized(&uz, td, &z);
    if (rc != WARD_OK) return rc;
    size_t np = td->m.nparams;
    double rho_round = (rho_total - rho_stats) / (double)o->dp_rounds;
    double sens = ward_fedavg_dp_sensitivity(DP_CLIP, DP_SCALE, np);
    uint64_t num = 0, den = 0, bound;
    ward_fedavg_plan plan;
    rc = ward_fedavg_dp_calibrate(&num, &den, rho_round, sens, np, honest);
    double rho_r = 0;
    if (rc == WARD_OK) rc = ward_fedavg_dp_rho(&rho_r, num, den, sens, np, honest);
    if (rc == WARD_OK) rc = ward_fedavg_bound_examples(&bound, DP_CLIP, DP_SCALE, ROWS_MAX);
    if (rc == WARD_OK)
        rc = ward_fedavg_plan_make(&plan, np, (uint32_t)td->np, DP_SCALE, bound, num, den);
    double *w = malloc(np * sizeof *w), *g = malloc(np * sizeof *g), *v = calloc(np, sizeof *v);
    int64_t *acc = malloc(td->np * np * sizeof *acc), *sum = malloc(np * sizeof *sum);
    const int64_t *rows[MAX_PARTIES];
    if (!w || !g || !v || !acc || !sum) rc = WARD_ENOMEM;
    if (rc == WARD_OK) rc = init_params(w, td, root, 7);
    for (size_t r = 0; r < o->dp_rounds && rc == WARD_OK; r++) {
        for (size_t p = 0; p < td->np && rc == WARD_OK; p++) {
            ward_rng pr;
            ward_rng_fork(&pr, root, label * 10000000 + r * 16 + p);
            ward_learn_data pv = party_view(&uz, td, p);
            rows[p] = acc + p * np;
            rc = ward_fedavg_dp_contribution(&plan, acc + p * np, &td->m, w, &pv, td->idx[p],
                                             td->ntr[p], DP_CLIP);
            if (rc == WARD_OK) rc = ward_fedavg_add_noise_var(&plan, acc + p * np, &pr);
            ward_rng_clear(&pr);
        }
        if (rc == WARD_OK) rc = ward_fedavg_sum(&plan, sum, rows, (uint32_t)td->np);
        if (rc == WARD_OK) rc = ward_fedavg_decode(&plan, g, sum, z.count);
        if (rc == WARD_OK) rc = ward_dp_zcdp_add(&acct, rho_r);
        if (rc == WARD_OK) {
            for (size_t j = 0; j < np; j++) {
                v[j] = DP_MOMENTUM * v[j] + g[j];
                w[j] -= (o->dp_lr > 0 ? o->dp_lr : td->t->dp_lr) * v[j];
            }
            if (!ward_learn_params_ok(w, np)) {
                rc = WARD_EOVERFLOW;
                snprintf(err, err_cap, "DP training diverged in round %zu", r + 1);
            }
        }
    }
    if (rc == WARD_OK)
        rc = ward_learn_evaluate(&td->m, &res->met, w, &uz, td->uval, td->nuval, label_sd(td, &z));
    if (rc == WARD_OK) rc = ward_dp_zcdp_epsilon(&acct, &res->epsilon_spent, DELTA);
    if (rc == WARD_OK) {
        res->epsilon = epsilon;
        res->ok = 1;
        if (res->epsilon_spent > epsilon) {
            snprintf(err, err_cap, "the accountant's epsilon %g exceeds the target %g",
                     res->epsilon_spent, epsilon);
            rc = WARD_ESTATE;
        }
    }
    free(w);
    free(g);
    free(v);
    free(acc);
    free(sum);
    ward_learn_data_free(&uz);
    return rc;
}

static int run_task(task_results *tr, const task_data *td, const options *o, ward_rng *root) {
    char err[512] = "";
    memset(tr, 0, sizeof *tr);
    int rc = run_single(&tr->central, td, o, root, -1, err, sizeof err);
    if (rc != WARD_OK) return fail(td->t->name, "centralized", rc, err);
    rc = run_fedavg(&tr->fed, td, o, root, err, sizeof err);
    if (rc != WARD_OK) return fail(td->t->name, "federated", rc, err);
    for (int e = 0; e < 2; e++) {
        rc = run_dp(&tr->dp[e], td, o, root, dp_eps[e], err, sizeof err);
        if (rc != WARD_OK) return fail(td->t->name, "DP federated", rc, err);
    }
    size_t nok = 0;
    for (size_t p = 0; p < td->np; p++) {
        err[0] = 0;
        rc = run_single(&tr->local_party[p], td, o, root, (int)p, err, sizeof err);
        if (rc != WARD_OK) return fail(td->t->name, td->t->party[p], rc, err);
        if (!tr->local_party[p].ok) continue;
        nok++;
        ward_learn_metrics *a = &tr->local.met, *b = &tr->local_party[p].met;
        a->accuracy += b->accuracy;
        a->f1 += b->f1;
        a->rmse += b->rmse;
        a->loss += b->loss;
    }
    if (nok) {
        tr->local.met.accuracy /= (double)nok;
        tr->local.met.f1 /= (double)nok;
        tr->local.met.rmse /= (double)nok;
        tr->local.met.loss /= (double)nok;
        tr->local.ok = 1;
    }
    return WARD_OK;
}

/* ---- goals ---- */

typedef struct {
    int regression;
    double fed_gap, dp_gap, f1_gap; /* points (classification) or relative RMSE */
    int fed_ok, dp_ok, paper_ok;
} goals;

static goals check_goals(const task_data *td, const task_results *tr) {
    goals g = {0};
    g.regression = td->m.head == WARD_LEARN_REGRESSION;
    if (g.regression) {
        double c = tr->central.met.rmse;
        g.fed_gap = (tr->fed.met.rmse - c) / c;
        g.dp_gap = (tr->dp[1].met.rmse - c) / c;
        g.fed_ok = g.fed_gap <= GOAL_FED_RMSE;
        g.dp_ok = g.dp_gap <= GOAL_DP_RMSE;
        g.paper_ok = g.fed_ok;
    } else {
        g.fed_gap = 100 * (tr->central.met.accuracy - tr->fed.met.accuracy);
        g.dp_gap = 100 * (tr->central.met.accuracy - tr->dp[1].met.accuracy);
        double c = tr->central.met.f1;
        g.f1_gap = c > 0 ? (c - tr->fed.met.f1) / c : 0;
        g.fed_ok = g.fed_gap <= GOAL_FED_POINTS;
        g.dp_ok = g.dp_gap <= GOAL_DP_POINTS;
        g.paper_ok = g.f1_gap <= PAPER_F1_REL;
    }
    return g;
}

/* ---- output ---- */

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void json_metrics(const task_data *td, const result *r) {
    if (!r->ok) {
        printf("null");
        return;
    }
    if (td->m.head == WARD_LEARN_REGRESSION)
        printf("{\"rmse\": %.6g", r->met.rmse);
    else
        printf("{\"accuracy\": %.6g, \"f1\": %.6g", r->met.accuracy, r->met.f1);
    if (r->epsilon > 0)
        printf(", \"epsilon\": %.6g, \"epsilon_spent\": %.6g, \"delta\": %g", r->epsilon,
               r->epsilon_spent, DELTA);
    printf("}");
}

static void print_json(const options *o, task_data *tds, task_results *trs, size_t n,
                       int all_ok) {
    printf("{\"seed\": %llu, \"rounds\": %zu, \"local_epochs\": %zu, \"batch\": %zu, "
           "\"dp_rounds\": %zu, \"prox_mu\": %g, \"delta\": %g, \"validation_fraction\": %g,\n",
           (unsigned long long)o->seed, o->rounds, o->local_epochs, o->batch, o->dp_rounds,
           o->prox, DELTA, VAL_FRAC);
    printf(" \"goals\": {\"federated_points\": %g, \"federated_rmse_rel\": %g, "
           "\"dp_points_at_2.1\": %g, \"dp_rmse_rel_at_2.1\": %g, \"paper_f1_rel\": %g},\n",
           GOAL_FED_POINTS, GOAL_FED_RMSE, GOAL_DP_POINTS, GOAL_DP_RMSE, PAPER_F1_REL);
    printf(" \"tasks\": [");
    for (size_t i = 0; i < n; i++) {
        const task_data *td = &tds[i];
        const task_results *tr = &trs[i];
        goals g = check_goals(td, tr);
        printf("%s\n  {\"name\": ", i ? "," : "");
        json_str(td->t->name);
        printf(", \"title\": ");
        json_str(td->t->title);
        printf(", \"model\": \"%s\", \"hidden\": %zu, \"params\": %zu, \"head\": \"%s\", "
               "\"features\": ",
               ward_learn_kind_name(td->m.kind), td->m.hidden, td->m.nparams,
               g.regression ? "regression" : "binary");
        json_str(td->t->features);
        printf(", \"label\": ");
        json_str(td->t->label);
        printf(",\n   \"parties\": [");
        for (size_t p = 0; p < td->np; p++) {
            printf("%s{\"name\": ", p ? ", " : "");
            json_str(td->t->party[p]);
            printf(", \"rows\": %zu, \"train\": %zu, \"validation\": %zu, \"skipped\": %llu, "
                   "\"local_only\": ",
                   td->raw[p].n, td->ntr[p], td->nval[p],
                   (unsigned long long)td->rep[p].missing);
            json_metrics(td, &tr->local_party[p]);
            printf("}");
        }
        printf("],\n   \"centralized\": ");
        json_metrics(td, &tr->central);
        printf(",\n   \"federated\": ");
        json_metrics(td, &tr->fed);
        printf(",\n   \"federated_dp\": [");
        for (int e = 0; e < 2; e++) {
            if (e) printf(", ");
            json_metrics(td, &tr->dp[e]);
        }
        printf("],\n   \"local_only\": ");
        json_metrics(td, &tr->local);
        if (g.regression)
            printf(",\n   \"gaps\": {\"federated_rmse_rel\": %.6g, \"dp_rmse_rel_at_2.1\": %.6g, "
                   "\"federated_ok\": %s, \"dp_ok\": %s}}",
                   g.fed_gap, g.dp_gap, g.fed_ok ? "true" : "false", g.dp_ok ? "true" : "false");
        else
            printf(",\n   \"gaps\": {\"federated_points\": %.6g, \"dp_points_at_2.1\": %.6g, "
                   "\"federated_f1_rel\": %.6g, \"federated_ok\": %s, \"dp_ok\": %s, "
                   "\"paper_f1_ok\": %s}}",
                   g.fed_gap, g.dp_gap, g.f1_gap, g.fed_ok ? "true" : "false",
                   g.dp_ok ? "true" : "false", g.paper_ok ? "true" : "false");
    }
    printf("\n ],\n \"all_goals_met\": %s}\n", all_ok ? "true" : "false");
}

static void cell(const task_data *td, const result *r, int f1) {
    if (!r->ok) printf(" %10s", "-");
    else if (td->m.head == WARD_LEARN_REGRESSION) printf(" %10.3f", r->met.rmse);
    else printf(" %10.4f", f1 ? r->met.f1 : r->met.accuracy);
}

static void print_text(const options *o, task_data *tds, task_results *trs, size_t n,
                       int all_ok) {
    printf("federated learning on real data: seed %llu, %zu rounds x %zu local epoch(s), "
           "batch %zu%s; DP: %zu rounds, delta %g\n",
           (unsigned long long)o->seed, o->rounds, o->local_epochs, o->batch,
           o->prox > 0 ? " (FedProx)" : "", o->dp_rounds, DELTA);
    printf("metrics on the union of the parties' validation rows (%.0f%% of each party)\n\n",
           100 * VAL_FRAC);
    printf("%-8s %-7s %-8s %10s %10s %10s %10s %10s\n", "task", "model", "metric",
           "central", "federated", "dp e=1", "dp e=2.1", "local");
    for (size_t i = 0; i < n; i++) {
        const task_data *td = &tds[i];
        const task_results *tr = &trs[i];
        int reg = td->m.head == WARD_LEARN_REGRESSION;
        for (int f1 = 0; f1 < (reg ? 1 : 2); f1++) {
            printf("%-8s %-7s %-8s", f1 ? "" : td->t->name, f1 ? "" : ward_learn_kind_name(td->m.kind),
                   reg ? "rmse" : f1 ? "f1" : "accuracy");
            cell(td, &tr->central, f1);
            cell(td, &tr->fed, f1);
            cell(td, &tr->dp[0], f1);
            cell(td, &tr->dp[1], f1);
            cell(td, &tr->local, f1);
            printf("\n");
        }
    }
    printf("\ngoals: federated within %g points of centralized (RMSE within %g%%); DP at "
           "epsilon 2.1 within %g points (RMSE within %g%%); paper: F1 within %g%%\n",
           GOAL_FED_POINTS, 100 * GOAL_FED_RMSE, GOAL_DP_POINTS, 100 * GOAL_DP_RMSE,
           100 * PAPER_F1_REL);
    for (size_t i = 0; i < n; i++) {
        goals g = check_goals(&tds[i], &trs[i]);
        if (g.regression)
            printf("  %-8s federated %+.1f%% RMSE %s; dp(2.1) %+.1f%% %s; epsilon spent %.3f/%.3f\n",
                   tds[i].t->name, 100 * g.fed_gap, g.fed_ok ? "ok" : "MISSED", 100 * g.dp_gap,
                   g.dp_ok ? "ok" : "MISSED", trs[i].dp[0].epsilon_spent,
                   trs[i].dp[1].epsilon_spent);
        else
            printf("  %-8s federated %+.2f points %s, F1 gap %+.1f%% %s; dp(2.1) %+.2f "
                   "points %s; epsilon spent %.3f/%.3f\n",
                   tds[i].t->name, -g.fed_gap, g.fed_ok ? "ok" : "MISSED", 100 * g.f1_gap,
                   g.paper_ok ? "ok" : "MISSED", -g.dp_gap, g.dp_ok ? "ok" : "MISSED",
                   trs[i].dp[0].epsilon_spent, trs[i].dp[1].epsilon_spent);
    }
    printf("%s\n", all_ok ? "all goals met" : "some goals missed");
}

/* ---- command line ---- */

static void usage(void) {
    fputs("ward: error: usage: ward eval learning [--json] [--seed S] [--tasks NAME,...]\n"
          "                 [--rounds small|full|N] [--dp-rounds N] [--model KIND]\n"
          "                 [--prox MU] [--lr X] [--dp-lr X] [--data DIR]\n"
          "  tasks: parking, air, taxi, energy (default: all)\n",
          stderr);
}

static int parse_size(const char *s, size_t *out, size_t lo, size_t hi) {
    if (!s || *s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return 0;
    *out = (size_t)v;
    return 1;
}

int ward_cmd_eval_learning(int argc, char **argv) {
    options o = {.seed = 1, .rounds = 30, .local_epochs = 1, .batch = 32, .dp_rounds = 100,
                 .prox = 0, .data = WARD_CITY_DIR "/../learning"};
    int json = 0, dp_rounds_set = 0;
    int want[NTASKS];
    for (size_t i = 0; i < NTASKS; i++) want[i] = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--seed") == 0) {
            size_t s;
            if (!parse_size(v, &s, 0, SIZE_MAX)) {
                fprintf(stderr, "ward: error: --seed must be a non-negative integer\n");
                return 2;
            }
            o.seed = s;
        } else if (strcmp(a, "--rounds") == 0) {
            if (strcmp(v, "small") == 0) {
                o.rounds = 10;
                if (!dp_rounds_set) o.dp_rounds = 40;
            } else if (strcmp(v, "full") == 0) {
                o.rounds = 30;
            } else if (!parse_size(v, &o.rounds, 1, 10000)) {
                fprintf(stderr, "ward: error: --rounds is small, full or an integer in "
                                "[1, 10000]\n");
                return 2;
            }
        } else if (strcmp(a, "--dp-rounds") == 0) {
            if (!parse_size(v, &o.dp_rounds, 1, 100000)) {
                fprintf(stderr, "ward: error: --dp-rounds must be an integer in [1, 100000]\n");
                return 2;
            }
            dp_rounds_set = 1;
        } else if (strcmp(a, "--model") == 0) {
            if (ward_learn_kind_parse(&o.model, v) != WARD_OK) {
                fprintf(stderr, "ward: error: --model is linear, logreg, softmax or mlp\n");
                return 2;
            }
            o.override_model = 1;
        } else if (strcmp(a, "--prox") == 0) {
            char *end;
            errno = 0;
            o.prox = strtod(v, &end);
            if (errno || *end || !isfinite(o.prox) || o.prox < 0 || o.prox > 100) {
                fprintf(stderr, "ward: error: --prox must be a number in [0, 100]\n");
                return 2;
            }
        } else if (strcmp(a, "--lr") == 0 || strcmp(a, "--dp-lr") == 0) {
            char *end;
            errno = 0;
            double x = strtod(v, &end);
            if (errno || *end || !isfinite(x) || !(x > 0) || x > 100) {
                fprintf(stderr, "ward: error: %s must be a number in (0, 100]\n", a);
                return 2;
            }
            if (a[2] == 'l') o.lr = x;
            else o.dp_lr = x;
        } else if (strcmp(a, "--data") == 0) {
            o.data = v;
        } else if (strcmp(a, "--tasks") == 0) {
            for (size_t t = 0; t < NTASKS; t++) want[t] = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
                size_t t;
                for (t = 0; t < NTASKS; t++)
                    if (strcmp(s, tasks[t].name) == 0) break;
                if (t == NTASKS) {
                    fprintf(stderr, "ward: error: unknown task '%s' (parking, air, taxi, "
                                    "energy)\n", s);
                    return 2;
                }
                want[t] = 1;
            }
        } else {
            fprintf(stderr, "ward: error: unknown option %s\n", a);
            usage();
            return 2;
        }
    }
    ward_rng root;
    ward_rng_init_u64(&root, o.seed);
    task_data tds[NTASKS];
    task_results trs[NTASKS];
    size_t n = 0;
    int rc = WARD_OK, all_ok = 1;
    for (size_t t = 0; t < NTASKS && rc == WARD_OK; t++) {
        if (!want[t]) continue;
        /* Each task's stream depends on the seed and the task only, so a
         * task's figures do not depend on which other tasks run. */
        ward_rng tr;
        ward_rng_init_u64(&root, o.seed);
        ward_rng_fork(&tr, &root, t + 1);
        rc = load_task(&tds[n], &tasks[t], &o, &tr);
        n++;
        if (rc == WARD_OK) rc = run_task(&trs[n - 1], &tds[n - 1], &o, &tr);
        ward_rng_clear(&tr);
        if (rc == WARD_OK) {
            goals g = check_goals(&tds[n - 1], &trs[n - 1]);
            all_ok &= g.fed_ok && g.dp_ok && g.paper_ok;
        }
    }
    if (rc == WARD_OK) {
        if (json) print_json(&o, tds, trs, n, all_ok);
        else print_text(&o, tds, trs, n, all_ok);
    }
    for (size_t i = 0; i < n; i++) task_data_free(&tds[i]);
    ward_rng_clear(&root);
    return rc == WARD_OK ? 0 : 1;
}
