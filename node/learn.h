/* Models for federated learning: linear, logistic and softmax regression
 * and a one-hidden-layer MLP, with losses, gradients (batch and per
 * example), prediction and mini-batch SGD (docs/learning.md, "Models").
 *
 * A model is described by a small public struct (ward_learn_model) and its
 * parameters live in a flat double vector of ward_learn_model.nparams
 * entries, laid out as
 *   no hidden layer:  W (outputs x features, row-major), then b (outputs);
 *   MLP:              W1 (hidden x features), b1 (hidden),
 *                     W2 (outputs x hidden), b2 (outputs).
 * outputs is 1 for a regression or binary head and `classes` for a
 * multiclass head. The MLP's hidden units are tanh (smooth, so finite
 * differences check its gradient everywhere).
 *
 * Heads and their losses (per example; labels are doubles):
 *   regression  f = score,          loss = (f - y)^2 / 2
 *   binary      p = sigmoid(score), loss = -y log p - (1 - y) log(1 - p),
 *               y in {0, 1}
 *   multiclass  softmax over the k scores, loss = -log p_y,
 *               y in {0, ..., k - 1}
 * evaluated in a numerically stable form (log1p/exp of the negative
 * magnitude, log-sum-exp).
 *
 * Determinism: every function is a pure function of its inputs and of the
 * ward_rng stream it is given; the same seed gives bit-identical
 * parameters (the arithmetic is sequential, in a fixed order).
 *
 * No allocation: scratch space is on the stack, which bounds `hidden` and
 * `classes` (WARD_LEARN_MAX_HIDDEN, WARD_LEARN_MAX_CLASSES) and features
 * (WARD_LEARN_MAX_FEATURES).
 *
 * Errors (crypto/error.h): WARD_EINVAL for misuse (NULL, sizes that do not
 * match the model, a label outside its head's range); WARD_EOVERFLOW when
 * training diverges (a loss, gradient or parameter that is not finite or
 * exceeds WARD_LEARN_MAX_PARAM): the caller reports it, nothing is silent.
 * The data handled here (records, gradients) are a party's private data;
 * nothing in this module sends or logs them.
 */
#ifndef WARD_LEARN_H
#define WARD_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

#define WARD_LEARN_MAX_FEATURES 256
#define WARD_LEARN_MAX_HIDDEN 256
#define WARD_LEARN_MAX_CLASSES 64
/* A parameter beyond this magnitude means training has diverged. */
#define WARD_LEARN_MAX_PARAM 1e12

typedef enum {
    WARD_LEARN_LINEAR = 1,  /* linear regression (regression head) */
    WARD_LEARN_LOGREG = 2,  /* logistic regression (binary head) */
    WARD_LEARN_SOFTMAX = 3, /* softmax regression (multiclass head) */
    WARD_LEARN_MLP = 4      /* one tanh hidden layer, any head */
} ward_learn_kind;

typedef enum {
    WARD_LEARN_REGRESSION = 1,
    WARD_LEARN_BINARY = 2,
    WARD_LEARN_MULTICLASS = 3
} ward_learn_head;

typedef struct {
    ward_learn_kind kind;
    ward_learn_head head;
    size_t features; /* d >= 1 */
    size_t classes;  /* multiclass: k >= 2; 2 for binary, 1 for regression */
    size_t hidden;   /* MLP: >= 1; 0 otherwise */
    size_t outputs;  /* 1, or k for multiclass */
    size_t nparams;  /* length of the parameter vector */
} ward_learn_model;

/* A data set in memory: n rows of d features (row-major) and n labels. */
typedef struct {
    size_t n, d;
    double *x; /* n * d */
    double *y; /* n */
} ward_learn_data;

/* "linear", "logreg", "softmax", "mlp" (and back). Parse returns
 * WARD_EPARSE for any other name. */
const char *ward_learn_kind_name(ward_learn_kind kind);
int ward_learn_kind_parse(ward_learn_kind *out, const char *name);

/* Fills *m. kind LINEAR needs head REGRESSION, LOGREG needs BINARY,
 * SOFTMAX needs MULTICLASS; MLP takes any head and hidden in
 * [1, WARD_LEARN_MAX_HIDDEN] (hidden is ignored for the others). classes
 * is read only for MULTICLASS (2..WARD_LEARN_MAX_CLASSES). WARD_EINVAL
 * otherwise. */
int ward_learn_model_init(ward_learn_model *m, ward_learn_kind kind, ward_learn_head head,
                          size_t features, size_t classes, size_t hidden);

/* Initial parameters: zero for the models without a hidden layer (their
 * losses are convex); for the MLP, W1 and W2 uniform in
 * +-sqrt(6/(fan_in + fan_out)) (Glorot) from rng, biases zero. */
int ward_learn_params_init(const ward_learn_model *m, double *w, size_t nw, ward_rng *rng);

/* One example: *loss (may be NULL) and grad[0..nparams) (may be NULL) of
 * the example's loss at parameters w. No regularisation. This is the
 * per-example gradient that DP clipping bounds. */
int ward_learn_example_grad(const ward_learn_model *m, double *loss, double *grad,
                            const double *w, const double *x, double y);

/* The mean loss over the rows idx[0..nidx) of data (all rows when idx is
 * NULL, then nidx must be data->n), plus l2/2 times the squared norm of
 * the weights (not the biases); grad (may be NULL) is its gradient.
 * nidx >= 1. */
int ward_learn_batch_grad(const ward_learn_model *m, double *loss, double *grad,
                          const double *w, const ward_learn_data *data, const size_t *idx,
                          size_t nidx, double l2);

/* Prediction for one row: regression the value, binary P(y = 1),
 * multiclass the most probable class (ties to the smaller index). */
int ward_learn_predict(const ward_learn_model *m, double *out, const double *w,
                       const double *x);

/* L2 norm of v[0..n). */
double ward_learn_norm(const double *v, size_t n);

/* Scales v so that its L2 norm is at most c (c > 0); returns the factor
 * applied (1 when already within). */
double ward_learn_clip(double *v, size_t n, double c);

/* Mini-batch SGD configuration. */
typedef struct {
    double lr;        /* step size, > 0 */
    size_t epochs;    /* passes over the rows, >= 1 */
    size_t batch;     /* rows per step, >= 1 (the last batch of an epoch may be smaller) */
    double l2;        /* weight decay, >= 0 */
    double prox_mu;   /* FedProx: adds mu/2 ||w - w_anchor||^2; 0 = plain SGD */
    double momentum;  /* heavy-ball momentum in [0, 1) */
    double lr_decay;  /* epoch e (from 0) steps with lr / (1 + lr_decay * e); >= 0 */
} ward_learn_sgd;

/* Trains w in place on the rows idx[0..nidx) of data: each epoch visits
 * the rows in an order drawn from rng (Fisher-Yates), in mini-batches.
 * anchor (the round's global model, for FedProx) may be NULL when
 * prox_mu = 0. *steps (may be NULL) receives the number of SGD steps.
 * WARD_EOVERFLOW if training diverges (w is then left as it was at the
 * failing step; the caller must not use it). Allocates O(nidx + nparams). */
int ward_learn_sgd_train(const ward_learn_model *m, double *w, const double *anchor,
                         const ward_learn_data *data, const size_t *idx, size_t nidx,
                         const ward_learn_sgd *cfg, ward_rng *rng, uint64_t *steps);

/* 1 when every entry is finite and within WARD_LEARN_MAX_PARAM. */
int ward_learn_params_ok(const double *w, size_t n);

/* ---- evaluation ---- */

typedef struct {
    size_t n;
    double loss;      /* mean loss (no regularisation) */
    double accuracy;  /* classification: fraction correct */
    double f1;        /* binary: F1 of class 1; multiclass: macro F1 */
    double rmse;      /* regression: in the label's units after `unscale` */
} ward_learn_metrics;

/* Metrics of w on the rows idx[0..nidx) (all when idx is NULL). For a
 * regression head the RMSE is multiplied by y_sd, the label's standard
 * deviation when the labels were standardised (pass 1 otherwise), so it is
 * in the label's own units. */
int ward_learn_evaluate(const ward_learn_model *m, ward_learn_metrics *out, const double *w,
                        const ward_learn_data *data, const size_t *idx, size_t nidx,
                        double y_sd);

#endif
