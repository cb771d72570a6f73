/* Models, SGD, task data and standardisation (node/learn.h,
 * node/learn_data.h): finite-difference gradient checks for the four
 * models (and a check that a wrong gradient is caught), determinism by
 * seed, separable toy problems, the joint statistics against the union's,
 * and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "learn.h"
#include "learn_data.h"
#include "rng.h"

static double unif(ward_rng *r) { return (double)(ward_rng_u64(r) >> 11) * 0x1p-53; }
static double gauss(ward_rng *r) {
    double u = unif(r) + 0x1p-60, v = unif(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Largest relative error between grad and central finite differences of
 * the batch loss. */
static double fd_error(const ward_learn_model *m, const double *w0, const double *grad,
                       const ward_learn_data *d, double l2) {
    size_t n = m->nparams;
    double *w = malloc(n * sizeof *w);
    memcpy(w, w0, n * sizeof *w);
    double worst = 0;
    for (size_t j = 0; j < n; j++) {
        double h = 1e-5 * fmax(1.0, fabs(w[j])), lp, lm;
        w[j] = w0[j] + h;
        ward_learn_batch_grad(m, &lp, NULL, w, d, NULL, d->n, l2);
        w[j] = w0[j] - h;
        ward_learn_batch_grad(m, &lm, NULL, w, d, NULL, d->n, l2);
        w[j] = w0[j];
        double fd = (lp - lm) / (2 * h);
        double e = fabs(fd - grad[j]) / fmax(1e-4, fabs(fd) + fabs(grad[j]));
        if (e > worst) worst = e;
    }
    free(w);
    return worst;
}

static void make_data(ward_learn_data *d, size_t n, size_t dim, ward_learn_head head,
                      size_t classes, ward_rng *r) {
    d->n = n;
    d->d = dim;
    d->x = malloc(n * dim * sizeof *d->x);
    d->y = malloc(n * sizeof *d->y);
    for (size_t i = 0; i < n * dim; i++) d->x[i] = gauss(r);
    for (size_t i = 0; i < n; i++)
        d->y[i] = head == WARD_LEARN_REGRESSION ? gauss(r)
                  : head == WARD_LEARN_BINARY   ? (double)(ward_rng_u64(r) & 1)
                                                : (double)ward_rng_uniform(r, classes);
}

static void test_gradients(void) {
    ward_rng r;
    ward_rng_init_u64(&r, 1);
    struct {
        ward_learn_kind k;
        ward_learn_head h;
        size_t classes, hidden;
    } cases[] = {
        {WARD_LEARN_LINEAR, WARD_LEARN_REGRESSION, 1, 0},
        {WARD_LEARN_LOGREG, WARD_LEARN_BINARY, 2, 0},
        {WARD_LEARN_SOFTMAX, WARD_LEARN_MULTICLASS, 4, 0},
        {WARD_LEARN_MLP, WARD_LEARN_REGRESSION, 1, 5},
        {WARD_LEARN_MLP, WARD_LEARN_BINARY, 2, 6},
        {WARD_LEARN_MLP, WARD_LEARN_MULTICLASS, 3, 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ward_learn_model m;
        CHECK_RC(ward_learn_model_init(&m, cases[c].k, cases[c].h, 3, cases[c].classes,
                                       cases[c].hidden),
                 WARD_OK);
        ward_learn_data d;
        make_data(&d, 7, 3, cases[c].h, cases[c].classes, &r);
        double *w = malloc(m.nparams * sizeof *w), *g = malloc(m.nparams * sizeof *g);
        CHECK_RC(ward_learn_params_init(&m, w, m.nparams, &r), WARD_OK);
        for (size_t j = 0; j < m.nparams; j++) w[j] += 0.5 * gauss(&r); /* off zero */
        for (int l2i = 0; l2i < 2; l2i++) {
            double l2 = l2i ? 0.3 : 0, loss;
            CHECK_RC(ward_learn_batch_grad(&m, &loss, g, w, &d, NULL, d.n, l2), WARD_OK);
            double e = fd_error(&m, w, g, &d, l2);
            if (e > 1e-6)
                fprintf(stderr, "model %s head %d l2 %g: fd error %g\n",
                        ward_learn_kind_name(m.kind), (int)m.head, l2, e);
            CHECK(e < 1e-6);
            /* The check has power: a gradient off by 1% in one coordinate fails. */
            g[m.nparams / 2] *= 1.01;
            g[m.nparams / 2] += 1e-3;
            CHECK(fd_error(&m, w, g, &d, l2) > 1e-4);
        }
        /* Per-example gradients average to the batch gradient (no l2). */
        double *ge = calloc(m.nparams, sizeof *ge), *acc = calloc(m.nparams, sizeof *acc);
        double lsum = 0, l;
        for (size_t i = 0; i < d.n; i++) {
            CHECK_RC(ward_learn_example_grad(&m, &l, ge, w, d.x + i * d.d, d.y[i]), WARD_OK);
            lsum += l;
            for (size_t j = 0; j < m.nparams; j++) acc[j] += ge[j] / (double)d.n;
        }
        double bl;
        ward_learn_batch_grad(&m, &bl, g, w, &d, NULL, d.n, 0);
        CHECK(fabs(bl - lsum / (double)d.n) < 1e-12);
        double worst = 0;
        for (size_t j = 0; j < m.nparams; j++) worst = fmax(worst, fabs(acc[j] - g[j]));
        CHECK(worst < 1e-12);
        free(ge);
        free(acc);
        free(w);
        free(g);
        ward_learn_data_free(&d);
    }
    ward_rng_clear(&r);
}

static void train_once(double *w, const ward_learn_model *m, const ward_learn_data *d,
                       uint64_t seed) {
    ward_rng r;
    ward_rng_init_u64(&r, seed);
    ward_learn_params_init(m, w, m->nparams, &r);
    ward_learn_sgd cfg = {.lr = 0.05, .epochs = 3, .batch = 8, .l2 = 1e-4, .momentum = 0.5};
    CHECK_RC(ward_learn_sgd_train(m, w, NULL, d, NULL, d->n, &cfg, &r, NULL), WARD_OK);
    ward_rng_clear(&r);
}

static void test_determinism(void) {
    ward_rng r;
    ward_rng_init_u64(&r, 2);
    ward_learn_data d;
    make_data(&d, 200, 4, WARD_LEARN_BINARY, 2, &r);
    ward_learn_model m;
    ward_learn_model_init(&m, WARD_LEARN_MLP, WARD_LEARN_BINARY, 4, 2, 8);
    double *a = malloc(m.nparams * sizeof *a), *b = malloc(m.nparams * sizeof *b);
    train_once(a, &m, &d, 77);
    train_once(b, &m, &d, 77);
    CHECK(memcmp(a, b, m.nparams * sizeof *a) == 0);
    train_once(b, &m, &d, 78);
    CHECK(memcmp(a, b, m.nparams * sizeof *a) != 0);
    free(a);
    free(b);
    ward_learn_data_free(&d);
    ward_rng_clear(&r);
}

static double train_eval(const ward_learn_model *m, const ward_learn_data *d, double lr,
                         size_t epochs, ward_learn_metrics *met) {
    ward_rng r;
    ward_rng_init_u64(&r, 5);
    double *w = malloc(m->nparams * sizeof *w);
    ward_learn_params_init(m, w, m->nparams, &r);
    ward_learn_sgd cfg = {.lr = lr, .epochs = epochs, .batch = 16, .momentum = 0.9};
    CHECK_RC(ward_learn_sgd_train(m, w, NULL, d, NULL, d->n, &cfg, &r, NULL), WARD_OK);
    CHECK_RC(ward_learn_evaluate(m, met, w, d, NULL, d->n, 1.0), WARD_OK);
    double w0 = w[0];
    free(w);
    ward_rng_clear(&r);
    return w0;
}

static void test_toy(void) {
    ward_rng r;
    ward_rng_init_u64(&r, 3);
    ward_learn_metrics met;
    /* Linearly separable with a margin: logistic regression separates it. */
    ward_learn_data d;
    make_data(&d, 400, 2, WARD_LEARN_BINARY, 2, &r);
    for (size_t i = 0; i < d.n; i++) {
        double s = d.x[2 * i] + 2 * d.x[2 * i + 1] - 0.3;
        if (fabs(s) < 0.2) d.x[2 * i] += s > 0 ? 0.4 : -0.4;
        d.y[i] = d.x[2 * i] + 2 * d.x[2 * i + 1] - 0.3 > 0;
    }
    ward_learn_model m;
    ward_learn_model_init(&m, WARD_LEARN_LOGREG, WARD_LEARN_BINARY, 2, 2, 0);
    train_eval(&m, &d, 0.5, 200, &met);
    CHECK(met.accuracy == 1.0 && met.f1 == 1.0);
    /* XOR is not linearly separable; the MLP learns it, logreg cannot. */
    for (size_t i = 0; i < d.n; i++) d.y[i] = (d.x[2 * i] > 0) != (d.x[2 * i + 1] > 0);
    train_eval(&m, &d, 0.5, 50, &met);
    CHECK(met.accuracy < 0.75);
    ward_learn_model_init(&m, WARD_LEARN_MLP, WARD_LEARN_BINARY, 2, 2, 16);
    train_eval(&m, &d, 0.05, 300, &met);
    if (met.accuracy < 0.97) fprintf(stderr, "mlp xor accuracy %g\n", met.accuracy);
    CHECK(met.accuracy >= 0.97);
    ward_learn_data_free(&d);
    /* Three separated clusters: softmax. */
    make_data(&d, 300, 2, WARD_LEARN_MULTICLASS, 3, &r);
    for (size_t i = 0; i < d.n; i++) {
        d.x[2 * i] = 0.3 * d.x[2 * i] + 3 * cos(2 * M_PI * d.y[i] / 3);
        d.x[2 * i + 1] = 0.3 * d.x[2 * i + 1] + 3 * sin(2 * M_PI * d.y[i] / 3);
    }
    ward_learn_model_init(&m, WARD_LEARN_SOFTMAX, WARD_LEARN_MULTICLASS, 2, 3, 0);
    train_eval(&m, &d, 0.1, 30, &met);
    CHECK(met.accuracy == 1.0 && met.f1 == 1.0);
    ward_learn_data_free(&d);
    /* Linear regression recovers y = 2 x0 - 3 x1 + 1 (noise-free). */
    make_data(&d, 300, 2, WARD_LEARN_REGRESSION, 1, &r);
    for (size_t i = 0; i < d.n; i++) d.y[i] = 2 * d.x[2 * i] - 3 * d.x[2 * i + 1] + 1;
    ward_learn_model_init(&m, WARD_LEARN_LINEAR, WARD_LEARN_REGRESSION, 2, 1, 0);
    double w0 = train_eval(&m, &d, 0.01, 100, &met);
    CHECK(met.rmse < 1e-4 && fabs(w0 - 2) < 1e-4);
    ward_learn_data_free(&d);
    ward_rng_clear(&r);
}

static void test_bad_model_input(void) {
    ward_learn_model m;
    CHECK_RC(ward_learn_model_init(&m, WARD_LEARN_LINEAR, WARD_LEARN_BINARY, 2, 2, 0),
             WARD_EINVAL);
    CHECK_RC(ward_learn_model_init(&m, WARD_LEARN_SOFTMAX, WARD_LEARN_MULTICLASS, 2, 1, 0),
             WARD_EINVAL);
    CHECK_RC(ward_learn_model_init(&m, WARD_LEARN_MLP, WARD_LEARN_BINARY, 2, 2, 0), WARD_EINVAL);
    CHECK_RC(ward_learn_model_init(&m, WARD_LEARN_LOGREG, WARD_LEARN_BINARY, 0, 2, 0),
             WARD_EINVAL);
    ward_learn_kind k;
    CHECK_RC(ward_learn_kind_parse(&k, "mlp"), WARD_OK);
    CHECK(k == WARD_LEARN_MLP);
    CHECK_RC(ward_learn_kind_parse(&k, "svm"), WARD_EPARSE);
    /* A binary label must be 0 or 1; a class must be in range. */
    ward_learn_model_init(&m, WARD_LEARN_LOGREG, WARD_LEARN_BINARY, 1, 2, 0);
    double w[2] = {0, 0}, x = 1, g[2];
    CHECK_RC(ward_learn_example_grad(&m, NULL, g, w, &x, 0.5), WARD_EINVAL);
    CHECK_RC(ward_learn_example_grad(&m, NULL, g, w, &x, NAN), WARD_EINVAL);
    ward_learn_model_init(&m, WARD_LEARN_SOFTMAX, WARD_LEARN_MULTICLASS, 1, 3, 0);
    double w3[6] = {0};
    double g3[6];
    CHECK_RC(ward_learn_example_grad(&m, NULL, g3, w3, &x, 3), WARD_EINVAL);
    /* Diverging training is reported, not silent. */
    ward_rng r;
    ward_rng_init_u64(&r, 4);
    ward_learn_data d;
    make_data(&d, 100, 3, WARD_LEARN_REGRESSION, 1, &r);
    for (size_t i = 0; i < d.n * d.d; i++) d.x[i] *= 100;
    ward_learn_model_init(&m, WARD_LEARN_LINEAR, WARD_LEARN_REGRESSION, 3, 1, 0);
    double wl[4] = {0};
    ward_learn_sgd cfg = {.lr = 10, .epochs = 50, .batch = 10};
    CHECK_RC(ward_learn_sgd_train(&m, wl, NULL, &d, NULL, d.n, &cfg, &r, NULL), WARD_EOVERFLOW);
    cfg.lr = 0;
    CHECK_RC(ward_learn_sgd_train(&m, wl, NULL, &d, NULL, d.n, &cfg, &r, NULL), WARD_EINVAL);
    ward_learn_data_free(&d);
    ward_rng_clear(&r);
}

/* ---- data ---- */

static char tmpdir[] = "/tmp/ward_test_learn_XXXXXX";

static const char *write_file(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_spec(void) {
    char err[256];
    ward_learn_spec *s;
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err,
                                   "hour(ts), weekday(ts), capacity[0,5000], eq(zone,132)",
                                   "occupied/capacity>0.8"),
             WARD_OK);
    CHECK(ward_learn_spec_features(s) == 4 && ward_learn_spec_head(s) == WARD_LEARN_BINARY);
    const char *const *cols;
    size_t nc;
    ward_learn_spec_columns(s, &cols, &nc);
    CHECK(nc == 4 && strcmp(cols[0], "ts") == 0 && strcmp(cols[3], "occupied") == 0);
    double lo, hi;
    ward_learn_spec_range(s, 0, &lo, &hi);
    CHECK(lo == 0 && hi == 23);
    ward_learn_spec_free(s);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "distance_mi", "fare[0,200]"),
             WARD_EPARSE);
    CHECK(strstr(err, "declared range") != NULL);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "sqrt(x)", "y[0,1]"), WARD_EPARSE);
    CHECK(strstr(err, "unknown function") != NULL);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "x[5,1]", "y[0,1]"), WARD_EPARSE);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "x[0,1]", "y"), WARD_EPARSE);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "x[0,1]", "y>abc"), WARD_EPARSE);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "x[0,1]", "class(y,1)"), WARD_EPARSE);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "", "y[0,1]"), WARD_EPARSE);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "hour(ts)[0,5]", "y[0,1]"),
             WARD_EPARSE);
}

static void test_load(void) {
    char err[256];
    ward_learn_spec *s;
    ward_learn_data d;
    ward_learn_load_report rep;
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err,
                                   "x[0,10],hour(ts),weekday(ts),weekend(ts),eq(z,b),same(z,z2)",
                                   "y>1"),
             WARD_OK);
    const char *p = write_file("a.csv", "ts,x,y,z,z2\n"
                                        "2024-01-06 13:05:00,3.5,2,b,b\n"   /* a Saturday */
                                        "2024-01-08T07:00:00,20,0.5,a,b\n"  /* Monday; x clamped */
                                        "2024-01-09 10:00:00,NA,3,a,a\n"    /* missing */
                                        "2024-01-09 11:00:00,,3,a,a\n");    /* missing */
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_OK);
    CHECK(d.n == 2 && d.d == 6 && rep.rows == 4 && rep.missing == 2 && rep.clamped == 1);
    double want0[] = {3.5, 13, 6, 1, 1, 1}, want1[] = {10, 7, 1, 0, 0, 0};
    CHECK(memcmp(d.x, want0, sizeof want0) == 0 && memcmp(d.x + 6, want1, sizeof want1) == 0);
    CHECK(d.y[0] == 1 && d.y[1] == 0);
    ward_learn_data_free(&d);
    /* Too many rows. */
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 1), WARD_ETOOBIG);
    /* A column that does not exist. */
    p = write_file("b.csv", "ts,x,yy,z,z2\n2024-01-06 13:05:00,1,2,b,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_ENOTFOUND);
    CHECK(strstr(err, "no column 'y'") != NULL);
    /* Non-numeric, non-finite, not a timestamp. */
    p = write_file("c.csv", "ts,x,y,z,z2\n2024-01-06 13:05:00,abc,2,b,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK(strstr(err, "'x' is not numeric") != NULL && strstr(err, "line 2") != NULL);
    p = write_file("d.csv", "ts,x,y,z,z2\n2024-01-06 13:05:00,1,2,b,b\n2024-01-06 13:05:00,nan,2,b,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK(strstr(err, "non-finite") != NULL && strstr(err, "line 3") != NULL);
    p = write_file("e.csv", "ts,x,y,z,z2\n2024-01-06 13:05:00,1,-inf,b,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK(strstr(err, "non-finite") != NULL);
    p = write_file("f.csv", "ts,x,y,z,z2\nyesterday,1,2,b,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK(strstr(err, "not a timestamp") != NULL);
    p = write_file("g.csv", "ts,x,y,z,z2\n2024-01-06 13:05:00,1,2,b\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, "/nonexistent/x.csv", 100),
             WARD_EIO);
    ward_learn_spec_free(s);
    /* A ratio label needs a positive denominator. */
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "x[0,10]", "a/b>0.8"), WARD_OK);
    p = write_file("h.csv", "x,a,b\n1,5,0\n");
    CHECK_RC(ward_learn_load_csv(&d, &rep, err, sizeof err, s, p, 100), WARD_EPARSE);
    CHECK(strstr(err, "must be positive") != NULL);
    ward_learn_spec_free(s);
}

static void test_stats(void) {
    char err[256];
    ward_learn_spec *s;
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "a[-10,10],b[0,5000]", "y[0,100]"),
             WARD_OK);
    ward_rng r;
    ward_rng_init_u64(&r, 9);
    ward_learn_data parts[3], all;
    size_t ntot = 0;
    for (int p = 0; p < 3; p++) {
        make_data(&parts[p], 50 + 30 * (size_t)p, 2, WARD_LEARN_REGRESSION, 1, &r);
        for (size_t i = 0; i < parts[p].n; i++) {
            parts[p].x[2 * i] = 3 * parts[p].x[2 * i] + p;
            parts[p].x[2 * i + 1] = 1000 + 300 * parts[p].x[2 * i + 1];
            parts[p].y[i] = 40 + 10 * parts[p].y[i];
        }
        ntot += parts[p].n;
    }
    all.n = ntot;
    all.d = 2;
    all.x = malloc(ntot * 2 * sizeof *all.x);
    all.y = malloc(ntot * sizeof *all.y);
    size_t o = 0;
    for (int p = 0; p < 3; p++) {
        memcpy(all.x + 2 * o, parts[p].x, parts[p].n * 2 * sizeof *all.x);
        memcpy(all.y + o, parts[p].y, parts[p].n * sizeof *all.y);
        o += parts[p].n;
    }
    ward_learn_stats st[3], tot, whole;
    const ward_learn_stats *pp[3] = {&st[0], &st[1], &st[2]};
    for (int p = 0; p < 3; p++) {
        CHECK_RC(ward_learn_stats_scales(&st[p], s, 3, 1000, 1e18), WARD_OK);
        CHECK_RC(ward_learn_stats_local(&st[p], &parts[p], NULL, parts[p].n, 1000), WARD_OK);
    }
    CHECK(st[0].k[0] == 6 && st[0].k[1] < 6); /* wider ranges get smaller scales */
    CHECK_RC(ward_learn_stats_combine(&tot, pp, 3), WARD_OK);
    ward_learn_stats_scales(&whole, s, 3, 1000, 1e18);
    ward_learn_stats_local(&whole, &all, NULL, all.n, 1000);
    /* The combined sums are exactly the union's. */
    CHECK(tot.count == whole.count && memcmp(tot.s1, whole.s1, sizeof tot.s1) == 0 &&
          memcmp(tot.s2, whole.s2, sizeof tot.s2) == 0);
    ward_learn_standardizer z;
    CHECK_RC(ward_learn_standardizer_make(&z, &tot, s, 1e-3), WARD_OK);
    double m = 0, v = 0;
    for (size_t i = 0; i < all.n; i++) m += all.x[2 * i + 1];
    m /= (double)all.n;
    for (size_t i = 0; i < all.n; i++) v += (all.x[2 * i + 1] - m) * (all.x[2 * i + 1] - m);
    v /= (double)all.n;
    CHECK(fabs(z.mean[1] - m) < 1e-3 && fabs(z.sd[1] - sqrt(v)) < 1e-3);
    CHECK_RC(ward_learn_standardize(&z, &all, 1), WARD_OK);
    double m2 = 0;
    for (size_t i = 0; i < all.n; i++) m2 += all.y[i];
    CHECK(fabs(m2 / (double)all.n) < 1e-6);
    CHECK_RC(ward_learn_stats_label_check(&tot, s, err, sizeof err), WARD_OK);
    /* DP statistics: the plan's cost is within its allowance, the noise
     * moves the totals, and the noisy standardiser stays usable. */
    {
        ward_learn_stats dst[3], dtot;
        const ward_learn_stats *dp3[3] = {&dst[0], &dst[1], &dst[2]};
        ward_learn_stats_dp plan;
        for (int p = 0; p < 3; p++) {
            CHECK_RC(ward_learn_stats_scales(&dst[p], s, 3, 1000, 1000), WARD_OK);
            ward_learn_stats_local(&dst[p], &parts[p], NULL, parts[p].n, 1000);
        }
        CHECK(dst[0].k[1] == -1); /* 5000 -> 500 units */
        CHECK_RC(ward_learn_stats_dp_plan(&plan, &dst[0], s, 0.5, 2), WARD_OK);
        CHECK(plan.ncoords == 7 && plan.rho_spent <= 0.5 && plan.rho_spent > 0.49);
        ward_learn_stats exact;
        ward_learn_stats_combine(&exact, dp3, 3);
        for (int p = 0; p < 3; p++) CHECK_RC(ward_learn_stats_add_noise_var(&dst[p], &plan, &r), WARD_OK);
        CHECK_RC(ward_learn_stats_combine(&dtot, dp3, 3), WARD_OK);
        CHECK(dtot.s2[1] != exact.s2[1]);
        ward_learn_standardizer zd;
        CHECK_RC(ward_learn_standardizer_make(&zd, &dtot, s, 0.05), WARD_OK);
        CHECK(fabs(zd.mean[1] - m) < 100 && zd.sd[1] >= 250 && zd.sd[1] < 600);
        CHECK_RC(ward_learn_stats_dp_plan(&plan, &dst[0], s, 0, 2), WARD_EINVAL);
    }
    /* Rows beyond the declared bound; a wrap the scales cannot avoid. */
    CHECK_RC(ward_learn_stats_local(&st[0], &parts[2], NULL, parts[2].n, 100), WARD_ETOOBIG);
    ward_learn_spec_free(s);
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "a[0,1e12]", "y[0,1]"), WARD_OK);
    CHECK_RC(ward_learn_stats_scales(&st[0], s, 3, 1000, 1e18), WARD_OK);
    CHECK(st[0].k[0] < 0);
    CHECK_RC(ward_learn_stats_scales(&st[0], s, 3, (uint64_t)1 << 59, 1e18), WARD_EOVERFLOW);
    /* DP resolution: at most 1000 units per value. */
    CHECK_RC(ward_learn_stats_scales(&st[0], s, 3, 1000, 1000), WARD_OK);
    CHECK(st[0].k[0] == -9);
    ward_learn_spec_free(s);
    /* A binary label with one class across the parties. */
    CHECK_RC(ward_learn_spec_parse(&s, err, sizeof err, "a[-10,10],b[0,5000]", "y>1000"),
             WARD_OK);
    for (int p = 0; p < 3; p++) {
        for (size_t i = 0; i < parts[p].n; i++) parts[p].y[i] = 0;
        ward_learn_stats_scales(&st[p], s, 3, 1000, 1e18);
        ward_learn_stats_local(&st[p], &parts[p], NULL, parts[p].n, 1000);
    }
    ward_learn_stats_combine(&tot, pp, 3);
    CHECK_RC(ward_learn_stats_label_check(&tot, s, err, sizeof err), WARD_EINVAL);
    CHECK(strstr(err, "one class") != NULL);
    parts[1].y[0] = 1;
    ward_learn_stats_local(&st[1], &parts[1], NULL, parts[1].n, 1000);
    ward_learn_stats_combine(&tot, pp, 3);
    CHECK_RC(ward_learn_stats_label_check(&tot, s, err, sizeof err), WARD_OK);
    ward_learn_spec_free(s);
    for (int p = 0; p < 3; p++) ward_learn_data_free(&parts[p]);
    ward_learn_data_free(&all);
    ward_rng_clear(&r);
}

static void test_split(void) {
    ward_rng a, b;
    ward_rng_init_u64(&a, 11);
    ward_rng_init_u64(&b, 11);
    size_t *i1, *i2, nt, nv;
    CHECK_RC(ward_learn_split(&i1, &nt, &nv, 101, 0.2, &a), WARD_OK);
    CHECK(nt == 81 && nv == 20);
    ward_learn_split(&i2, &nt, &nv, 101, 0.2, &b);
    CHECK(memcmp(i1, i2, 101 * sizeof *i1) == 0);
    int seen[101] = {0};
    for (size_t i = 0; i < 101; i++) seen[i1[i]]++;
    int ok = 1;
    for (size_t i = 0; i < 101; i++) ok &= seen[i] == 1;
    CHECK(ok);
    free(i1);
    free(i2);
    CHECK_RC(ward_learn_split(&i1, &nt, &nv, 10, 1.0, &a), WARD_EINVAL);
    ward_rng_clear(&a);
    ward_rng_clear(&b);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_gradients();
    test_determinism();
    test_toy();
    test_bad_model_input();
    test_spec();
    test_load();
    test_stats();
    test_split();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_done("learn");
}
