/* Models, gradients and SGD (learn.h). */
#include "learn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const char *ward_learn_kind_name(ward_learn_kind kind) {
    switch (kind) {
    case WARD_LEARN_LINEAR: return "linear";
    case WARD_LEARN_LOGREG: return "logreg";
    case WARD_LEARN_SOFTMAX: return "softmax";
    case WARD_LEARN_MLP: return "mlp";
    }
    return "?";
}

int ward_learn_kind_parse(ward_learn_kind *out, const char *name) {
    WARD_ARG_CHECK(out && name);
    static const ward_learn_kind all[] = {WARD_LEARN_LINEAR, WARD_LEARN_LOGREG,
                                          WARD_LEARN_SOFTMAX, WARD_LEARN_MLP};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, ward_learn_kind_name(all[i])) == 0) {
            *out = all[i];
            return WARD_OK;
        }
    return WARD_EPARSE;
}

int ward_learn_model_init(ward_learn_model *m, ward_learn_kind kind, ward_learn_head head,
                          size_t features, size_t classes, size_t hidden) {
    WARD_ARG_CHECK(m);
    WARD_ARG_CHECK(features >= 1 && features <= WARD_LEARN_MAX_FEATURES);
    WARD_ARG_CHECK(head == WARD_LEARN_REGRESSION || head == WARD_LEARN_BINARY ||
                   head == WARD_LEARN_MULTICLASS);
    switch (kind) {
    case WARD_LEARN_LINEAR: WARD_ARG_CHECK(head == WARD_LEARN_REGRESSION); break;
    case WARD_LEARN_LOGREG: WARD_ARG_CHECK(head == WARD_LEARN_BINARY); break;
    case WARD_LEARN_SOFTMAX: WARD_ARG_CHECK(head == WARD_LEARN_MULTICLASS); break;
    case WARD_LEARN_MLP: WARD_ARG_CHECK(hidden >= 1 && hidden <= WARD_LEARN_MAX_HIDDEN); break;
    default: return WARD_EINVAL;
    }
    if (head == WARD_LEARN_MULTICLASS)
        WARD_ARG_CHECK(classes >= 2 && classes <= WARD_LEARN_MAX_CLASSES);
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->head = head;
    m->features = features;
    m->classes = head == WARD_LEARN_MULTICLASS ? classes : head == WARD_LEARN_BINARY ? 2 : 1;
    m->hidden = kind == WARD_LEARN_MLP ? hidden : 0;
    m->outputs = head == WARD_LEARN_MULTICLASS ? classes : 1;
    if (m->hidden)
        m->nparams = m->hidden * features + m->hidden + m->outputs * m->hidden + m->outputs;
    else
        m->nparams = m->outputs * features + m->outputs;
    return WARD_OK;
}

static int model_ok(const ward_learn_model *m) {
    return m && m->features >= 1 && m->features <= WARD_LEARN_MAX_FEATURES &&
           m->outputs >= 1 && m->outputs <= WARD_LEARN_MAX_CLASSES &&
           m->hidden <= WARD_LEARN_MAX_HIDDEN && m->nparams >= 1;
}

int ward_learn_params_init(const ward_learn_model *m, double *w, size_t nw, ward_rng *rng) {
    WARD_ARG_CHECK(model_ok(m) && w && nw == m->nparams);
    memset(w, 0, nw * sizeof *w);
    if (!m->hidden) return WARD_OK;
    WARD_ARG_CHECK(rng);
    size_t d = m->features, h = m->hidden, o = m->outputs;
    double r1 = sqrt(6.0 / (double)(d + h)), r2 = sqrt(6.0 / (double)(h + o));
    /* 53 random bits give a uniform double in [0, 1). */
    for (size_t i = 0; i < h * d; i++)
        w[i] = r1 * (2.0 * (double)(ward_rng_u64(rng) >> 11) * 0x1p-53 - 1.0);
    double *w2 = w + h * d + h;
    for (size_t i = 0; i < o * h; i++)
        w2[i] = r2 * (2.0 * (double)(ward_rng_u64(rng) >> 11) * 0x1p-53 - 1.0);
    return WARD_OK;
}

static int label_ok(const ward_learn_model *m, double y) {
    if (!isfinite(y)) return 0;
    switch (m->head) {
    case WARD_LEARN_REGRESSION: return 1;
    case WARD_LEARN_BINARY: return y == 0.0 || y == 1.0;
    case WARD_LEARN_MULTICLASS:
        return y >= 0 && y < (double)m->outputs && y == floor(y);
    }
    return 0;
}

/* Scores of one example; a[] receives the hidden activations (MLP). */
static void forward(const ward_learn_model *m, double *s, double *a, const double *w,
                    const double *x) {
    size_t d = m->features, o = m->outputs, h = m->hidden;
    if (!h) {
        const double *b = w + o * d;
        for (size_t k = 0; k < o; k++) {
            double z = b[k];
            const double *row = w + k * d;
            for (size_t j = 0; j < d; j++) z += row[j] * x[j];
            s[k] = z;
        }
        return;
    }
    const double *b1 = w + h * d, *w2 = b1 + h, *b2 = w2 + o * h;
    for (size_t u = 0; u < h; u++) {
        double z = b1[u];
        const double *row = w + u * d;
        for (size_t j = 0; j < d; j++) z += row[j] * x[j];
        a[u] = tanh(z);
    }
    for (size_t k = 0; k < o; k++) {
        double z = b2[k];
        const double *row = w2 + k * h;
        for (size_t u = 0; u < h; u++) z += row[u] * a[u];
        s[k] = z;
    }
}

/* Loss of one example from its scores, and dloss/dscore in g[]. */
static double head_loss(const ward_learn_model *m, double *g, const double *s, double y) {
    switch (m->head) {
    case WARD_LEARN_REGRESSION: {
        double r = s[0] - y;
        g[0] = r;
        return 0.5 * r * r;
    }
    case WARD_LEARN_BINARY: {
        double z = s[0];
        double e = exp(-fabs(z));
        double p = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        g[0] = p - y;
        return (z > 0 ? z : 0.0) - z * y + log1p(e);
    }
    case WARD_LEARN_MULTICLASS: {
        size_t o = m->outputs, yi = (size_t)y;
        double mx = s[0];
        for (size_t k = 1; k < o; k++)
            if (s[k] > mx) mx = s[k];
        double sum = 0;
        for (size_t k = 0; k < o; k++) {
            g[k] = exp(s[k] - mx);
            sum += g[k];
        }
        for (size_t k = 0; k < o; k++) g[k] = g[k] / sum - (k == yi ? 1.0 : 0.0);
        return mx + log(sum) - s[yi];
    }
    }
    return NAN;
}

/* grad += scale * d(loss)/dw for one example; returns the loss. */
static double example_accum(const ward_learn_model *m, double *grad, double scale,
                            const double *w, const double *x, double y) {
    double s[WARD_LEARN_MAX_CLASSES], g[WARD_LEARN_MAX_CLASSES], a[WARD_LEARN_MAX_HIDDEN];
    size_t d = m->features, o = m->outputs, h = m->hidden;
    forward(m, s, a, w, x);
    double loss = head_loss(m, g, s, y);
    if (!grad) return loss;
    if (!h) {
        double *gb = grad + o * d;
        for (size_t k = 0; k < o; k++) {
            double gk = scale * g[k];
            double *row = grad + k * d;
            for (size_t j = 0; j < d; j++) row[j] += gk * x[j];
            gb[k] += gk;
        }
        return loss;
    }
    const double *w2 = w + h * d + h;
    double *gb1 = grad + h * d, *gw2 = gb1 + h, *gb2 = gw2 + o * h;
    double gz[WARD_LEARN_MAX_HIDDEN];
    for (size_t u = 0; u < h; u++) gz[u] = 0;
    for (size_t k = 0; k < o; k++) {
        double gk = scale * g[k];
        double *row = gw2 + k * h;
        const double *wrow = w2 + k * h;
        for (size_t u = 0; u < h; u++) {
            row[u] += gk * a[u];
            gz[u] += gk * wrow[u];
        }
        gb2[k] += gk;
    }
    for (size_t u = 0; u < h; u++) {
        double gu = gz[u] * (1.0 - a[u] * a[u]);
        double *row = grad + u * d;
        for (size_t j = 0; j < d; j++) row[j] += gu * x[j];
        gb1[u] += gu;
    }
    return loss;
}

int ward_learn_example_grad(const ward_learn_model *m, double *loss, double *grad,
                            const double *w, const double *x, double y) {
    WARD_ARG_CHECK(model_ok(m) && w && x);
    WARD_ARG_CHECK(label_ok(m, y));
    if (grad) memset(grad, 0, m->nparams * sizeof *grad);
    double l = example_accum(m, grad, 1.0, w, x, y);
    if (loss) *loss = l;
    return WARD_OK;
}

/* The index ranges [r[q][0], r[q][1]) of the weights (not the biases). */
static void weight_ranges(const ward_learn_model *m, size_t r[2][2], size_t *nr) {
    size_t d = m->features, o = m->outputs, h = m->hidden;
    if (!h) {
        r[0][0] = 0;
        r[0][1] = o * d;
        *nr = 1;
    } else {
        r[0][0] = 0;
        r[0][1] = h * d;
        r[1][0] = h * d + h;
        r[1][1] = h * d + h + o * h;
        *nr = 2;
    }
}

int ward_learn_batch_grad(const ward_learn_model *m, double *loss, double *grad,
                          const double *w, const ward_learn_data *data, const size_t *idx,
                          size_t nidx, double l2) {
    WARD_ARG_CHECK(model_ok(m) && w && data && data->x && data->y);
    WARD_ARG_CHECK(data->d == m->features && nidx >= 1 && isfinite(l2) && l2 >= 0);
    WARD_ARG_CHECK(idx || nidx == data->n);
    for (size_t t = 0; t < nidx; t++) {
        size_t i = idx ? idx[t] : t;
        WARD_ARG_CHECK(i < data->n && label_ok(m, data->y[i]));
    }
    if (grad) memset(grad, 0, m->nparams * sizeof *grad);
    double inv = 1.0 / (double)nidx, total = 0;
    for (size_t t = 0; t < nidx; t++) {
        size_t i = idx ? idx[t] : t;
        total += example_accum(m, grad, inv, w, data->x + i * data->d, data->y[i]);
    }
    total *= inv;
    if (l2 > 0) {
        size_t r[2][2], nr;
        weight_ranges(m, r, &nr);
        for (size_t q = 0; q < nr; q++)
            for (size_t j = r[q][0]; j < r[q][1]; j++) {
                total += 0.5 * l2 * w[j] * w[j];
                if (grad) grad[j] += l2 * w[j];
            }
    }
    if (loss) *loss = total;
    return WARD_OK;
}

int ward_learn_predict(const ward_learn_model *m, double *out, const double *w,
                       const double *x) {
    WARD_ARG_CHECK(model_ok(m) && out && w && x);
    double s[WARD_LEARN_MAX_CLASSES], a[WARD_LEARN_MAX_HIDDEN];
    forward(m, s, a, w, x);
    switch (m->head) {
    case WARD_LEARN_REGRESSION: *out = s[0]; break;
    case WARD_LEARN_BINARY: {
        double e = exp(-fabs(s[0]));
        *out = s[0] >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        break;
    }
    case WARD_LEARN_MULTICLASS: {
        size_t best = 0;
        for (size_t k = 1; k < m->outputs; k++)
            if (s[k] > s[best]) best = k;
        *out = (double)best;
        break;
    }
    }
    return WARD_OK;
}

double ward_learn_norm(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s);
}

double ward_learn_clip(double *v, size_t n, double c) {
    double norm = ward_learn_norm(v, n);
    if (!(norm > c)) return 1.0;
    double f = c / norm;
    for (size_t i = 0; i < n; i++) v[i] *= f;
    return f;
}

int ward_learn_params_ok(const double *w, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(w[i]) || fabs(w[i]) > WARD_LEARN_MAX_PARAM) return 0;
    return 1;
}

int ward_learn_sgd_train(const ward_learn_model *m, double *w, const double *anchor,
                         const ward_learn_data *data, const size_t *idx, size_t nidx,
                         const ward_learn_sgd *cfg, ward_rng *rng, uint64_t *steps) {
    WARD_ARG_CHECK(model_ok(m) && w && data && cfg && rng && nidx >= 1);
    WARD_ARG_CHECK(isfinite(cfg->lr) && cfg->lr > 0 && cfg->epochs >= 1 && cfg->batch >= 1);
    WARD_ARG_CHECK(isfinite(cfg->l2) && cfg->l2 >= 0 && isfinite(cfg->prox_mu) &&
                   cfg->prox_mu >= 0 && cfg->momentum >= 0 && cfg->momentum < 1);
    WARD_ARG_CHECK(isfinite(cfg->lr_decay) && cfg->lr_decay >= 0);
    WARD_ARG_CHECK(cfg->prox_mu == 0 || anchor);
    WARD_ARG_CHECK(idx || nidx == data->n);
    size_t np = m->nparams;
    size_t *order = malloc(nidx * sizeof *order);
    double *g = malloc(np * sizeof *g), *v = calloc(np, sizeof *v);
    int rc = WARD_OK;
    uint64_t nsteps = 0;
    if (!order || !g || !v) {
        rc = WARD_ENOMEM;
        goto done;
    }
    for (size_t t = 0; t < nidx; t++) order[t] = idx ? idx[t] : t;
    for (size_t e = 0; e < cfg->epochs && rc == WARD_OK; e++) {
        double lr = cfg->lr / (1.0 + cfg->lr_decay * (double)e);
        for (size_t t = nidx - 1; t > 0; t--) {
            size_t j = (size_t)ward_rng_uniform(rng, (uint64_t)t + 1);
            size_t tmp = order[t];
            order[t] = order[j];
            order[j] = tmp;
        }
        for (size_t s0 = 0; s0 < nidx; s0 += cfg->batch) {
            size_t nb = nidx - s0 < cfg->batch ? nidx - s0 : cfg->batch;
            double loss;
            rc = ward_learn_batch_grad(m, &loss, g, w, data, order + s0, nb, cfg->l2);
            if (rc != WARD_OK) goto done;
            if (cfg->prox_mu > 0)
                for (size_t j = 0; j < np; j++) g[j] += cfg->prox_mu * (w[j] - anchor[j]);
            if (!isfinite(loss) || !ward_learn_params_ok(g, np)) {
                rc = WARD_EOVERFLOW;
                goto done;
            }
            for (size_t j = 0; j < np; j++) {
                v[j] = cfg->momentum * v[j] + g[j];
                w[j] -= lr * v[j];
            }
            nsteps++;
            if (!ward_learn_params_ok(w, np)) {
                rc = WARD_EOVERFLOW;
                goto done;
            }
        }
    }
done:
    if (steps) *steps = nsteps;
    free(order);
    free(g);
    free(v);
    return rc;
}

int ward_learn_evaluate(const ward_learn_model *m, ward_learn_metrics *out, const double *w,
                        const ward_learn_data *data, const size_t *idx, size_t nidx,
                        double y_sd) {
    WARD_ARG_CHECK(model_ok(m) && out && w && data && data->d == m->features && nidx >= 1);
    WARD_ARG_CHECK(idx || nidx == data->n);
    WARD_ARG_CHECK(isfinite(y_sd) && y_sd > 0);
    memset(out, 0, sizeof *out);
    size_t k = m->outputs == 1 ? 2 : m->outputs;
    uint64_t tp[WARD_LEARN_MAX_CLASSES] = {0}, fp[WARD_LEARN_MAX_CLASSES] = {0},
             fn[WARD_LEARN_MAX_CLASSES] = {0};
    double loss = 0, sq = 0;
    uint64_t correct = 0;
    for (size_t t = 0; t < nidx; t++) {
        size_t i = idx ? idx[t] : t;
        WARD_ARG_CHECK(i < data->n);
        const double *x = data->x + i * data->d;
        double y = data->y[i], p, l;
        int rc = ward_learn_example_grad(m, &l, NULL, w, x, y);
        if (rc != WARD_OK) return rc;
        loss += l;
        ward_learn_predict(m, &p, w, x);
        if (m->head == WARD_LEARN_REGRESSION) {
            double e = (p - y) * y_sd;
            sq += e * e;
            continue;
        }
        size_t pred = m->head == WARD_LEARN_BINARY ? (p >= 0.5 ? 1 : 0) : (size_t)p;
        size_t truth = (size_t)y;
        if (pred == truth) {
            correct++;
            tp[truth]++;
        } else {
            fp[pred]++;
            fn[truth]++;
        }
    }
    out->n = nidx;
    out->loss = loss / (double)nidx;
    if (m->head == WARD_LEARN_REGRESSION) {
        out->rmse = sqrt(sq / (double)nidx);
        return isfinite(out->rmse) ? WARD_OK : WARD_EOVERFLOW;
    }
    out->accuracy = (double)correct / (double)nidx;
    if (m->head == WARD_LEARN_BINARY) {
        double den = 2.0 * (double)tp[1] + (double)fp[1] + (double)fn[1];
        out->f1 = den > 0 ? 2.0 * (double)tp[1] / den : 0.0;
    } else {
        double s = 0;
        for (size_t c = 0; c < k; c++) {
            double den = 2.0 * (double)tp[c] + (double)fp[c] + (double)fn[c];
            s += den > 0 ? 2.0 * (double)tp[c] / den : 0.0;
        }
        out->f1 = s / (double)k;
    }
    return WARD_OK;
}
