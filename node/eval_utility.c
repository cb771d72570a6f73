/* `ward eval utility` (eval_utility.h): the demo city's release path in
 * one process, against the exact answers. */
#include "eval_utility.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "allocator.h"
#include "dp_account.h"
#include "error.h"
#include "group_key.h"
#include "rng.h"
#include "store.h"
#include "store_query.h"

/* ---- the query set ------------------------------------------------------------- */

/* The demo city's car parks, by operator (parking-north, parking-south,
 * parking-aarhus): public names, declared as the domain of `lot`. */
#define CAR_PARKS                                                                              \
    "BHMBCCMKT01,BHMBCCPST01,BHMBCCSNH01,BHMBCCTHL01,BHMBRCBRG01,BHMBRCBRG02,BHMBRCBRG03,"     \
    "BHMEURBRD01,BHMEURBRD02,BHMMBMMBX01,BHMNCPHST01,BHMNCPLDH01,BHMNCPNHS01,BHMNCPNST01,"     \
    "BHMNCPPLS01,BHMNCPRAN01,Broad Street,Bull Ring,NIA Car Parks,NIA North,NIA South,"        \
    "Others-CCCPS105a,Others-CCCPS119a,Others-CCCPS133,Others-CCCPS135a,Others-CCCPS202,"     \
    "Others-CCCPS8,Others-CCCPS98,Shopping,BRUUNS,BUSGADEHUSET,KALKVAERKSVEJ,MAGASIN,"         \
    "NORREPORT,SALLING,SCANDCENTER,SKOLEBAKKEN"

const ward_eval_query ward_eval_queries[] = {
    {"trips_hour", "trips started per hour, taxi and bike-share together", "trips",
     WARD_DP_REL_COUNT, "", "hour(ts)", NULL, NULL},
    {"taxi_weekday_hour", "taxi trips per weekday and hour", "trips", WARD_DP_REL_COUNT, "",
     "weekday(ts),hour(ts)", NULL, "transport"},
    {"bike_zone_hour", "bike-share trips per start zone (blocks of 500 station numbers) and hour",
     "trips", WARD_DP_REL_COUNT, "", "bucket(start_station,500),hour(ts)", "0..3000", "bikeshare"},
    {"parking_lot_hour", "mean occupied spaces per car park and hour, three operators",
     "parking", WARD_DP_REL_MEAN, "occupied", "lot,hour(ts)", CAR_PARKS, NULL},
    {"no2_weekday_hour", "mean NO2 (ug/m3) per weekday and hour", "air", WARD_DP_REL_MEAN, "no2",
     "weekday(ts),hour(ts)", NULL, NULL},
    {"pm10_weekday_hour", "mean PM10 (ug/m3) per weekday and hour", "air", WARD_DP_REL_MEAN,
     "pm10", "weekday(ts),hour(ts)", NULL, NULL},
};
const size_t ward_eval_nqueries = sizeof ward_eval_queries / sizeof ward_eval_queries[0];

/* ---- state ----------------------------------------------------------------------- */

typedef struct {
    char name[40];
    char table[64];
    char sensitivity[16];
    char file[256];
    char schema[512];
    ward_store st;
} dept;

/* A department's ledger, as far as the allocator sees it. */
#define SPENDS_MAX 256
typedef struct {
    double spent[3];                 /* rho per class */
    size_t n;
    int cls[SPENDS_MAX];
    char table[SPENDS_MAX][64];
    double rho[SPENDS_MAX];
} ledger;

typedef struct {
    const ward_eval_query *q;
    unsigned n;                      /* parties */
    unsigned party[WARD_EVAL_MAX_DEPTS]; /* indices into depts; party[0] proposes */
    size_t groups;
    ward_key_label *labels;
    int64_t lower, upper;            /* the proposer's declared bounds (sum, mean) */
    unsigned scale;                  /* the session's scale */
    ward_dp_class cls;
    int64_t *local;                  /* n x len: each party's clamped vector (secret) */
    size_t len;                      /* ward_dp_plan_len */
    double *truth;                   /* groups: the exact answer (NAN: no rows, for a mean) */
    int64_t *rows;                   /* groups: the exact number of rows */
    size_t with_rows;
} prepared;

struct ward_eval {
    unsigned ndepts;
    dept depts[WARD_EVAL_MAX_DEPTS];
    size_t nq;
    prepared pq[WARD_EVAL_MAX_QUERIES];
};

__attribute__((format(printf, 3, 4)))
static int fail(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return 1;
}

/* city.txt: "node table sensitivity file [schema]" per line, '#' comments
 * (the format `ward sim up --city` reads, node/cmd_sim.c). */
static int read_city(ward_eval *ev, char *msg, size_t cap, const char *dir) {
    char path[1200];
    snprintf(path, sizeof path, "%s/city.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fail(msg, cap, "cannot read %s: %s", path, strerror(errno));
        return WARD_ENOTFOUND;
    }
    char line[1024];
    size_t no = 0;
    int rc = WARD_OK;
    while (rc == WARD_OK && fgets(line, sizeof line, f)) {
        no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[40], b[64], s[16], file[256], schema[512] = "", extra[8];
        int got = sscanf(line, "%39s %63s %15s %255s %511s %7s", a, b, s, file, schema, extra);
        if (got <= 0) continue;
        if ((got != 4 && got != 5) || strchr(file, '/') != NULL) {
            fail(msg, cap, "%s:%zu: expected 'NODE TABLE high|medium|low FILE [SCHEMA]'", path, no);
            rc = WARD_EPARSE;
        } else if (ev->ndepts == WARD_EVAL_MAX_DEPTS) {
            fail(msg, cap, "%s: more than %d departments", path, WARD_EVAL_MAX_DEPTS);
            rc = WARD_ETOOBIG;
        } else {
            dept *d = &ev->depts[ev->ndepts++];
            snprintf(d->name, sizeof d->name, "%s", a);
            snprintf(d->table, sizeof d->table, "%s", b);
            snprintf(d->sensitivity, sizeof d->sensitivity, "%s", s);
            snprintf(d->file, sizeof d->file, "%s", file);
            snprintf(d->schema, sizeof d->schema, "%s", schema);
        }
    }
    fclose(f);
    if (rc == WARD_OK && ev->ndepts == 0) {
        fail(msg, cap, "%s lists no department", path);
        rc = WARD_EPARSE;
    }
    return rc;
}

/* The import `ward sim up --city` makes each node run (node/core.c,
 * ctl_import): the file into the table with its class and schema. */
static int import_dept(dept *d, char *msg, size_t cap, const char *data, const char *tmp) {
    char db[1200], file[1200];
    snprintf(db, sizeof db, "%s/%s.db", tmp, d->name);
    snprintf(file, sizeof file, "%s/%s", data, d->file);
    int rc = ward_store_open(&d->st, db);
    if (rc != WARD_OK) {
        fail(msg, cap, "%s: cannot open a store in %s: %s", d->name, db, ward_store_errmsg(&d->st));
        return rc;
    }
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    ward_sensitivity_parse(&opt.sensitivity, d->sensitivity);
    opt.schema = d->schema[0] ? d->schema : NULL;
    ward_import_report *rep = malloc(sizeof *rep);
    if (!rep) return WARD_ENOMEM;
    rc = ward_store_import(&d->st, rep, d->table, file, &opt);
    if (rc != WARD_OK) fail(msg, cap, "%s: import of %s failed: %s", d->name, file, rep->message);
    free(rep);
    return rc;
}

static const ward_column_info *column_of(const ward_table_info *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0) return &t->columns[i];
    return NULL;
}

static ward_dp_class class_of(ward_sensitivity s) {
    return s == WARD_SENSITIVITY_HIGH  ? WARD_DP_CLASS_HIGH
           : s == WARD_SENSITIVITY_LOW ? WARD_DP_CLASS_LOW
                                       : WARD_DP_CLASS_MEDIUM;
}

static double pow10u(unsigned k) {
    double d = 1;
    while (k--) d *= 10;
    return d;
}

static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* Parties, domain, bounds, the exact answer and each party's clamped
 * local vector of one query. */
static int prepare(ward_eval *ev, prepared *p, char *msg, size_t cap, const ward_eval_query *q) {
    memset(p, 0, sizeof *p);
    p->q = q;
    for (unsigned i = 0; i < ev->ndepts; i++) {
        if (strcmp(ev->depts[i].table, q->table) != 0) continue;
        if (q->parties && !in_list(q->parties, ev->depts[i].name)) continue;
        p->party[p->n++] = i;
    }
    if (p->n == 0) {
        fail(msg, cap, "query %s: no department holds table %s%s%s", q->name, q->table,
             q->parties ? " among " : "", q->parties ? q->parties : "");
        return WARD_ENOTFOUND;
    }
    dept *prop = &ev->depts[p->party[0]];
    ward_table_info t;
    int rc = ward_store_table_info(&prop->st, &t, q->table);
    if (rc != WARD_OK) {
        fail(msg, cap, "query %s: %s has no table %s", q->name, prop->name, q->table);
        return rc;
    }
    p->cls = class_of(t.sensitivity);
    int values = q->op == WARD_DP_REL_SUM || q->op == WARD_DP_REL_MEAN;
    if (values) {
        const ward_column_info *c = column_of(&t, q->column);
        if (!c || !c->has_min || !c->has_max) {
            fail(msg, cap, "query %s: %s.%s has no declared bounds", q->name, q->table, q->column);
            ward_table_info_clear(&t);
            return WARD_EINVAL;
        }
        p->lower = c->min;
        p->upper = c->max;
        p->scale = c->scale;
    }
    /* The declared domain: fixed parts from the key, the open part from
     * the query's declared list. */
    p->labels = calloc(WARD_AGG_MAX_GROUPS, sizeof *p->labels);
    if (!p->labels) {
        ward_table_info_clear(&t);
        return WARD_ENOMEM;
    }
    ward_group_key key;
    char err[256];
    int open = 0;
    rc = ward_group_key_parse(&key, err, sizeof err, q->group_by);
    if (rc == WARD_OK) {
        const char *pd[1] = {q->domain};
        rc = ward_group_domain_expand(p->labels, &p->groups, &open, WARD_AGG_MAX_GROUPS, err,
                                      sizeof err, &key, &t, q->domain ? pd : NULL,
                                      q->domain ? 1 : 0);
    }
    ward_table_info_clear(&t);
    if (rc == WARD_OK && open) {
        snprintf(err, sizeof err, "a part of the key has no declared domain");
        rc = WARD_EINVAL;
    }
    if (rc != WARD_OK) {
        fail(msg, cap, "query %s: group-by %s: %s", q->name, q->group_by, err);
        return rc;
    }
    ward_dp_plan tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.op = q->op;
    tmp.groups = p->groups;
    p->len = ward_dp_plan_len(&tmp);
    p->truth = calloc(p->groups, sizeof *p->truth);
    p->rows = calloc(p->groups, sizeof *p->rows);
    p->local = calloc((size_t)p->n * p->len, sizeof *p->local);
    double *tsum = calloc(p->groups, sizeof *tsum);
    int64_t *tcount = calloc(p->groups, sizeof *tcount);
    ward_agg_local *loc = malloc(sizeof *loc);
    if (!p->truth || !p->rows || !p->local || !tsum || !tcount || !loc) rc = WARD_ENOMEM;
    for (unsigned k = 0; rc == WARD_OK && k < p->n; k++) {
        dept *d = &ev->depts[p->party[k]];
        /* The exact answer: nothing clamped, at the column's own scale. */
        rc = ward_store_aggregate(&d->st, loc, q->table, values ? q->column : "", "", q->group_by,
                                  (const ward_key_label *)p->labels, p->groups);
        if (rc == WARD_OK && loc->n_groups != p->groups) rc = WARD_EINVAL;
        for (size_t g = 0; rc == WARD_OK && g < p->groups; g++) {
            tsum[g] += (double)loc->sums[g] / pow10u(loc->scale);
            tcount[g] += loc->counts[g];
        }
        /* What the party adds in a release (session_agg.c). */
        if (rc == WARD_OK) {
            if (values)
                rc = ward_store_aggregate_clamped(&d->st, loc, q->table, q->column, "",
                                                  q->group_by, (const ward_key_label *)p->labels,
                                                  p->groups, p->scale, p->lower, p->upper);
            else
                rc = ward_store_aggregate(&d->st, loc, q->table, "", "", q->group_by,
                                          (const ward_key_label *)p->labels, p->groups);
        }
        int64_t *v = p->local + (size_t)k * p->len;
        for (size_t g = 0; rc == WARD_OK && g < p->groups; g++) {
            if (q->op == WARD_DP_REL_COUNT || q->op == WARD_DP_REL_HISTOGRAM) {
                v[g] = loc->counts[g];
            } else {
                v[g] = loc->sums[g];
                if (q->op == WARD_DP_REL_MEAN) v[p->groups + g] = loc->counts[g];
            }
        }
        if (rc != WARD_OK)
            fail(msg, cap, "query %s at %s: %s", q->name, d->name, ward_store_errmsg(&d->st));
    }
    for (size_t g = 0; rc == WARD_OK && g < p->groups; g++) {
        p->rows[g] = tcount[g];
        if (q->op == WARD_DP_REL_MEAN) {
            p->truth[g] = tcount[g] > 0 ? tsum[g] / (double)tcount[g] : NAN;
            p->with_rows += tcount[g] > 0;
        } else {
            p->truth[g] = q->op == WARD_DP_REL_SUM ? tsum[g] : (double)tcount[g];
            p->with_rows += tcount[g] > 0;
        }
    }
    if (loc) sodium_memzero(loc, sizeof *loc);
    free(loc);
    free(tsum);
    free(tcount);
    return rc;
}

int ward_eval_open(ward_eval **out, char *msg, size_t msg_cap, const char *data_dir,
                   const char *tmp_dir, const ward_eval_query *queries, size_t n) {
    WARD_ARG_CHECK(out != NULL && msg != NULL && data_dir != NULL && tmp_dir != NULL);
    WARD_ARG_CHECK(queries != NULL && n >= 1 && n <= WARD_EVAL_MAX_QUERIES);
    *out = NULL;
    msg[0] = '\0';
    ward_eval *ev = calloc(1, sizeof *ev);
    if (!ev) return WARD_ENOMEM;
    int rc = read_city(ev, msg, msg_cap, data_dir);
    for (unsigned i = 0; rc == WARD_OK && i < ev->ndepts; i++)
        rc = import_dept(&ev->depts[i], msg, msg_cap, data_dir, tmp_dir);
    for (size_t i = 0; rc == WARD_OK && i < n; i++) {
        rc = prepare(ev, &ev->pq[i], msg, msg_cap, &queries[i]);
        ev->nq = i + 1;
    }
    if (rc != WARD_OK) {
        if (!msg[0]) fail(msg, msg_cap, "%s", ward_strerror(rc));
        ward_eval_close(ev);
        return rc;
    }
    *out = ev;
    return WARD_OK;
}

void ward_eval_close(ward_eval *ev) {
    if (!ev) return;
    for (unsigned i = 0; i < ev->ndepts; i++) ward_store_close(&ev->depts[i].st);
    for (size_t i = 0; i < ev->nq; i++) {
        prepared *p = &ev->pq[i];
        if (p->local) sodium_memzero(p->local, (size_t)p->n * p->len * sizeof *p->local);
        free(p->local);
        free(p->truth);
        free(p->rows);
        free(p->labels);
    }
    free(ev);
}

/* ---- one run -------------------------------------------------------------------- */

/* The allocator's view of a department's ledger for one table. */
static void alloc_input(ward_alloc_input *in, const ledger *l, ward_dp_class cls,
                        const char *table, double rho_total) {
    memset(in, 0, sizeof *in);
    in->class_total = rho_total;
    in->class_spent = l->spent[cls];
    in->tables = 1; /* every department of the demo city has one table */
    size_t seen = 0;
    for (size_t i = l->n; i-- > 0 && seen < WARD_ALLOC_WINDOW;) {
        if (l->cls[i] != (int)cls) continue;
        seen++;
        in->recent_class++;
        if (strcmp(l->table[i], table) == 0) in->recent_table++;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->cls[i] == (int)cls && strcmp(l->table[i], table) == 0) in->table_spent += l->rho[i];
}

static void debit(ledger *l, ward_dp_class cls, const char *table, double rho) {
    l->spent[cls] += rho;
    if (l->n == SPENDS_MAX) return;
    l->cls[l->n] = (int)cls;
    snprintf(l->table[l->n], sizeof l->table[l->n], "%s", table);
    l->rho[l->n++] = rho;
}

/* Decodes the summed vector as the output party does. */
static void decode(double *vals, int *present, const prepared *p, const int64_t *tot, int dp) {
    double div = pow10u(p->scale);
    for (size_t g = 0; g < p->groups; g++) {
        present[g] = 1;
        if (p->q->op == WARD_DP_REL_MEAN) {
            int64_t n = tot[p->groups + g];
            present[g] = n > 0;
            vals[g] = n > 0 ? (double)tot[g] / div / (double)n : 0;
            if (dp && n > 0) {
                double lo = (double)p->lower / div, hi = (double)p->upper / div;
                vals[g] = vals[g] < lo ? lo : vals[g] > hi ? hi : vals[g];
            }
        } else if (p->q->op == WARD_DP_REL_SUM) {
            vals[g] = (double)tot[g] / div;
        } else {
            vals[g] = (double)tot[g];
        }
    }
}

/* The indices of the k largest of v over the eligible groups (ties: lower
 * index first); absent values rank last. Returns how many were taken. */
static size_t top_k(size_t *idx, size_t k, const double *v, const int *ok, size_t n) {
    size_t m = 0;
    for (size_t g = 0; g < n; g++) {
        if (!ok[g]) continue;
        size_t pos = m < k ? m++ : k;
        if (pos == k && !(v[g] > v[idx[k - 1]])) continue;
        if (pos == k) pos = k - 1;
        while (pos > 0 && v[g] > v[idx[pos - 1]]) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = g;
    }
    return m;
}

/* utility and top-5 share of one private answer against the truth. */
static void score(double *utility, double *top, const prepared *p, const double *vals,
                  const int *present) {
    double err = 0, l1 = 0;
    int *elig = calloc(p->groups, sizeof *elig);
    int *noisy_ok = calloc(p->groups, sizeof *noisy_ok);
    if (!elig || !noisy_ok) {
        free(elig);
        free(noisy_ok);
        *utility = 0;
        *top = 0;
        return;
    }
    for (size_t g = 0; g < p->groups; g++) {
        if (isnan(p->truth[g])) continue; /* a mean without rows: nothing to answer */
        elig[g] = 1;
        noisy_ok[g] = present[g];
        l1 += fabs(p->truth[g]);
        err += present[g] ? fabs(vals[g] - p->truth[g]) : fabs(p->truth[g]);
    }
    *utility = l1 > 0 ? 1 - err / l1 : (err == 0 ? 1 : 0);
    if (*utility < 0) *utility = 0;
    size_t ti[WARD_EVAL_TOP], ni[WARD_EVAL_TOP];
    size_t nt = top_k(ti, WARD_EVAL_TOP, p->truth, elig, p->groups);
    size_t nn = top_k(ni, WARD_EVAL_TOP, vals, noisy_ok, p->groups);
    size_t kept = 0;
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nn; j++) kept += ti[i] == ni[j];
    *top = nt ? (double)kept / (double)nt : 1;
    free(elig);
    free(noisy_ok);
}

/* E|max(0, c + Z) - c| for Z two-sided geometric, P(z) proportional to
 * a^|z|: E|Z| = 2a / (1 - a^2) less what raising negative answers to 0
 * saves, a^(c+1) / (1 - a^2). */
static double count_error(double c, double a) {
    return a * (2 - pow(a, c)) / (1 - a * a);
}

/* E|clamp(m + Y, lo, hi) - m| for Y Laplace of scale b, lo <= m <= hi. */
static double clamped_laplace_error(double m, double b, double lo, double hi) {
    double up = hi - m > 0 ? hi - m : 0, down = m - lo > 0 ? m - lo : 0;
    return b / 2 * (-expm1(-up / b)) + b / 2 * (-expm1(-down / b));
}

/* The ceiling of one query at epsilon eps (eval_utility.h). */
static double ceiling_of(const prepared *p, double eps) {
    if (isinf(eps)) return 1;
    double err = 0, l1 = 0, div = pow10u(p->scale);
    double lo = (double)p->lower / div, hi = (double)p->upper / div;
    for (size_t g = 0; g < p->groups; g++) {
        double t = p->truth[g];
        if (isnan(t)) continue;
        l1 += fabs(t);
        switch (p->q->op) {
        case WARD_DP_REL_MEAN: {
            double b = (hi - lo) / 2 / (eps * (double)p->rows[g]);
            double m = t < lo ? lo : t > hi ? hi : t;
            err += fabs(m - t) + clamped_laplace_error(m, b, lo, hi);
            break;
        }
        case WARD_DP_REL_SUM:
            err += (-lo > hi ? -lo : hi) / eps;
            break;
        default:
            err += count_error(t, exp(-eps));
            break;
        }
    }
    double u = l1 > 0 ? 1 - err / l1 : (err == 0 ? 1 : 0); /* as score() rates a release */
    return u > 0 ? u : 0;
}

int ward_eval_run(ward_eval *ev, ward_eval_result *res, double *utility, double *top5,
                  char *msg, size_t msg_cap, const ward_eval_params *prm) {
    WARD_ARG_CHECK(ev != NULL && res != NULL && utility != NULL && top5 != NULL && prm != NULL);
    WARD_ARG_CHECK(prm->trials >= 1 && msg != NULL);
    int exact = isinf(prm->epsilon_total) && prm->epsilon_total > 0;
    if (!exact && !(prm->epsilon_total > 0 && isfinite(prm->epsilon_total))) return WARD_EINVAL;
    msg[0] = '\0';
    ledger *lg = calloc(ev->ndepts, sizeof *lg);
    if (!lg) return WARD_ENOMEM;
    /* Every department's class allowances (session_agg.c, core_class_budget). */
    double rho_total[3] = {0, 0, 0}, eps_c[3] = {0, 0, 0}, delta_c[3] = {0, 0, 0};
    int rc = WARD_OK;
    for (int c = 0; !exact && rc == WARD_OK && c < 3; c++) {
        rc = ward_dp_class_budget(&eps_c[c], &delta_c[c], (ward_dp_class)c, prm->epsilon_total,
                                  prm->delta_total);
        if (rc == WARD_OK) rc = ward_dp_cdp_rho(&rho_total[c], eps_c[c], delta_c[c]);
    }
    /* The even split: each department gives each query of the set it takes
     * part in an equal share of the class (rho adds). */
    unsigned uses[WARD_EVAL_MAX_DEPTS][3];
    memset(uses, 0, sizeof uses);
    for (size_t i = 0; i < ev->nq; i++)
        for (unsigned k = 0; k < ev->pq[i].n; k++) uses[ev->pq[i].party[k]][ev->pq[i].cls]++;

    ward_rng rng;
    if (rc == WARD_OK) rc = ward_rng_init_u64(&rng, prm->seed);
    else {
        free(lg);
        fail(msg, msg_cap, "the class budgets of epsilon %g: %s", prm->epsilon_total,
             ward_strerror(rc));
        return rc;
    }
    double sum_u = 0, sum_t = 0;
    for (size_t i = 0; rc == WARD_OK && i < ev->nq; i++) {
        prepared *p = &ev->pq[i];
        ward_eval_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->q = p->q;
        r->n_parties = p->n;
        r->groups = p->groups;
        r->groups_with_rows = p->with_rows;
        r->ceiling_epsilon = exact ? INFINITY : eps_c[p->cls];
        r->ceiling = ceiling_of(p, r->ceiling_epsilon);
        size_t off = 0;
        for (unsigned k = 0; k < p->n; k++)
            off += (size_t)snprintf(r->parties + off, sizeof r->parties - off, "%s%s", k ? "," : "",
                                    ev->depts[p->party[k]].name);
        ward_dp_plan plan;
        memset(&plan, 0, sizeof plan);
        ward_dp_class cls = p->cls;
        if (!exact) {
            double rho;
            if (prm->split == WARD_EVAL_EVEN) {
                rho = INFINITY;
                for (unsigned k = 0; k < p->n; k++) {
                    unsigned dk = p->party[k];
                    double share = rho_total[cls] / uses[dk][cls];
                    if (share < rho) rho = share;
                }
            } else {
                ward_alloc_input in;
                ward_alloc_result ar;
                alloc_input(&in, &lg[p->party[0]], cls, p->q->table, rho_total[cls]);
                rc = ward_alloc_choose(&ar, &in, WARD_IMPORTANCE_NORMAL);
                rho = ar.rho;
                if (rc == WARD_EOVERFLOW) {
                    r->refused = 1;
                    rc = WARD_OK;
                    continue;
                }
            }
            double eps = 0;
            if (rc == WARD_OK) rc = ward_dp_cdp_epsilon(&eps, rho, delta_c[cls]);
            if (rc == WARD_OK)
                rc = ward_dp_plan_make(&plan, p->q->op, p->groups, p->n, p->n >= 2 ? 1 : 0,
                                       p->lower, p->upper, eps, delta_c[cls]);
            if (rc != WARD_OK) {
                fail(msg, msg_cap, "query %s: cannot plan the noise at epsilon %g: %s",
                     p->q->name, eps, ward_strerror(rc));
                break;
            }
            /* Every party checks its own ledger, then pays. */
            for (unsigned k = 0; k < p->n; k++)
                if (lg[p->party[k]].spent[cls] + plan.rho > rho_total[cls] * (1 + 1e-12))
                    r->refused = 1;
            if (r->refused) continue;
            for (unsigned k = 0; k < p->n; k++) debit(&lg[p->party[k]], cls, p->q->table, plan.rho);
            r->epsilon = plan.epsilon_spent;
            r->delta = plan.delta;
            r->noise_sd = p->q->op == WARD_DP_REL_COUNT ? plan.count_sd
                                                        : plan.value_sd / pow10u(p->scale);
        }
        int64_t *noise = calloc(p->len, sizeof *noise), *tot = calloc(p->len, sizeof *tot);
        double *vals = calloc(p->groups, sizeof *vals);
        int *present = calloc(p->groups, sizeof *present);
        if (!noise || !tot || !vals || !present) rc = WARD_ENOMEM;
        double su = 0, su2 = 0, st = 0;
        unsigned trials = exact ? 1 : prm->trials;
        for (unsigned tr = 0; rc == WARD_OK && tr < trials; tr++) {
            memset(tot, 0, p->len * sizeof *tot);
            for (unsigned k = 0; rc == WARD_OK && k < p->n; k++) {
                const int64_t *v = p->local + (size_t)k * p->len;
                if (!exact) rc = ward_dp_plan_noise_var(&plan, &rng, noise, p->len);
                for (size_t j = 0; rc == WARD_OK && j < p->len; j++)
                    tot[j] += v[j] + (exact ? 0 : noise[j]);
            }
            if (rc != WARD_OK) break;
            decode(vals, present, p, tot, !exact);
            double u, t5;
            score(&u, &t5, p, vals, present);
            su += u;
            su2 += u * u;
            st += t5;
        }
        if (noise) sodium_memzero(noise, p->len * sizeof *noise);
        if (tot) sodium_memzero(tot, p->len * sizeof *tot);
        free(noise);
        free(tot);
        free(vals);
        free(present);
        if (rc != WARD_OK) {
            fail(msg, msg_cap, "query %s: %s", p->q->name, ward_strerror(rc));
            break;
        }
        r->utility = su / trials;
        double var = trials > 1 ? (su2 - su * su / trials) / (trials - 1) : 0;
        r->utility_sd = var > 0 ? sqrt(var) : 0;
        r->top5 = st / trials;
    }
    for (size_t i = 0; rc == WARD_OK && i < ev->nq; i++) {
        sum_u += res[i].utility;
        sum_t += res[i].top5;
    }
    *utility = ev->nq ? sum_u / (double)ev->nq : 0;
    *top5 = ev->nq ? sum_t / (double)ev->nq : 0;
    ward_rng_clear(&rng);
    free(lg);
    return rc;
}
