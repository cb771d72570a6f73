/* ward --node X train --table T --features F --label Y --model KIND
 *     --parties LIST|all --rounds R [--local-epochs E] [--algo fedavg|fedprox]
 *     [--prox-mu MU] [--lr X] [--hidden H] [--clip C] [--epsilon E]
 *     [--pace-ms N] [--personalize EPOCHS] [--json]
 * One control request; the result printed for people or, with --json, as
 * one JSON object (INTERFACE.md): {"model": {...}, "rounds": n,
 * "metrics": {...}, "epsilon": null, "latency_ms": x, "session": "id", ...}.
 *
 * Parsing, sending and printing are separate functions (ctl_cmd.h), so that
 * a train line of a session script (cmd_run.c) means, and prints, what the
 * same words do on the command line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"

__attribute__((format(printf, 3, 4)))
static int usage_msg(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return 2;
}

static int parse_num(double *out, char *msg, size_t cap, const char *opt, const char *v) {
    char *end = NULL;
    double x = strtod(v, &end);
    if (!end || *end != '\0' || end == v || !(x == x) || x <= 0 || x > 1e9)
        return usage_msg(msg, cap, "%s needs a positive number, not '%s'", opt, v);
    *out = x;
    return 0;
}

static int parse_uint(uint32_t *out, char *msg, size_t cap, const char *opt, const char *v,
                      unsigned long max) {
    char *end = NULL;
    unsigned long x = strtoul(v, &end, 10);
    if (!end || *end != '\0' || end == v || v[0] == '-' || x > max)
        return usage_msg(msg, cap, "%s needs a whole number 0..%lu, not '%s'", opt, max, v);
    *out = (uint32_t)x;
    return 0;
}

#define MAX_NAMES 1024

/* ---- parse ----------------------------------------------------------------- */

void ward_ctl_train_req_clear(ward_ctl_train_req *q) {
    if (!q) return;
    free(q->pbuf);
    free(q->names);
    q->pbuf = NULL;
    q->names = NULL;
}

int ward_ctl_train_parse(ward_ctl_train_req *q, char *msg, size_t msg_cap, int argc,
                         char **argv) {
    static const char use[] =
        "usage: ward --node X train --table T --features F --label Y --model linear|logreg|softmax|mlp "
        "--parties LIST|all --rounds R [--local-epochs E] [--algo fedavg|fedprox] [--prox-mu MU] "
        "[--lr X] [--hidden H] [--clip C] [--epsilon E] [--pace-ms N] [--personalize EPOCHS] [--json]";
    memset(q, 0, sizeof *q);
    msg[0] = '\0';
    Ward__Control__TrainRequest *tr = &q->tr;
    ward__control__train_request__init(tr);
    ward__control__parties__init(&q->parties);
    ward__control__number__init(&q->lr);
    ward__control__number__init(&q->clip);
    ward__control__number__init(&q->eps);
    ward__control__number__init(&q->mu);
    const char *table = NULL, *features = NULL, *label = NULL, *model = NULL, *parties = NULL;
    const char *algo = NULL;
    uint32_t rounds = 0, epochs = 0, hidden = 0, pace = 0, pers = 0;
    int have_rounds = 0;
    double lr = 0, clip = 0, eps = 0, mu = 0;
    /* The checks, and the order they are made in, are the command line's:
     * the first bad argument is the one reported. */
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc, ex = 0;
        if (strcmp(a, "--table") == 0 && has) table = argv[++i];
        else if (strcmp(a, "--features") == 0 && has) features = argv[++i];
        else if (strcmp(a, "--label") == 0 && has) label = argv[++i];
        else if (strcmp(a, "--model") == 0 && has) model = argv[++i];
        else if (strcmp(a, "--parties") == 0 && has) parties = argv[++i];
        else if (strcmp(a, "--algo") == 0 && has) algo = argv[++i];
        else if (strcmp(a, "--rounds") == 0 && has)
            ex = parse_uint(&rounds, msg, msg_cap, a, argv[++i], 100000), have_rounds = 1;
        else if (strcmp(a, "--local-epochs") == 0 && has)
            ex = parse_uint(&epochs, msg, msg_cap, a, argv[++i], 1000);
        else if (strcmp(a, "--hidden") == 0 && has)
            ex = parse_uint(&hidden, msg, msg_cap, a, argv[++i], 256);
        else if (strcmp(a, "--personalize") == 0 && has)
            ex = parse_uint(&pers, msg, msg_cap, a, argv[++i], 1000);
        else if (strcmp(a, "--pace-ms") == 0 && has)
            ex = parse_uint(&pace, msg, msg_cap, a, argv[++i], 600000);
        else if (strcmp(a, "--lr") == 0 && has) ex = parse_num(&lr, msg, msg_cap, a, argv[++i]);
        else if (strcmp(a, "--clip") == 0 && has) ex = parse_num(&clip, msg, msg_cap, a, argv[++i]);
        else if (strcmp(a, "--epsilon") == 0 && has) ex = parse_num(&eps, msg, msg_cap, a, argv[++i]);
        else if (strcmp(a, "--prox-mu") == 0 && has) ex = parse_num(&mu, msg, msg_cap, a, argv[++i]);
        else if (a[0] == '-' && a[1] == '-')
            return usage_msg(msg, msg_cap, "unknown option or missing value: '%s'", a);
        else return usage_msg(msg, msg_cap, "unexpected argument '%s'", a);
        if (ex) return ex;
    }
    if (!table || !features || !label || !model || !parties || !have_rounds)
        return usage_msg(msg, msg_cap, "%s", use);
    if (rounds < 1) return usage_msg(msg, msg_cap, "--rounds must be at least 1");
    if (strcmp(model, "linear") == 0) tr->model = WARD__CONTROL__MODEL__MODEL_LINEAR;
    else if (strcmp(model, "logreg") == 0) tr->model = WARD__CONTROL__MODEL__MODEL_LOGREG;
    else if (strcmp(model, "softmax") == 0) tr->model = WARD__CONTROL__MODEL__MODEL_SOFTMAX;
    else if (strcmp(model, "mlp") == 0) tr->model = WARD__CONTROL__MODEL__MODEL_MLP;
    else
        return usage_msg(msg, msg_cap, "--model must be linear, logreg, softmax or mlp, not '%s'",
                         model);
    if (!algo || strcmp(algo, "fedavg") == 0) tr->algo = WARD__CONTROL__FL_ALGO__FL_ALGO_FEDAVG;
    else if (strcmp(algo, "fedprox") == 0) tr->algo = WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX;
    else return usage_msg(msg, msg_cap, "--algo must be fedavg or fedprox, not '%s'", algo);
    if (mu > 0 && tr->algo != WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX)
        return usage_msg(msg, msg_cap, "--prox-mu is for --algo fedprox");
    q->lr.value = lr;
    q->clip.value = clip;
    q->eps.value = eps;
    q->mu.value = mu;
    if (lr > 0) tr->learning_rate = &q->lr;
    if (clip > 0) tr->clip = &q->clip;
    if (eps > 0) tr->epsilon = &q->eps;
    if (mu > 0) tr->prox_mu = &q->mu;
    q->features[0] = (char *)features;
    tr->table = (char *)table;
    tr->n_features = 1;
    tr->features = q->features;
    tr->label = (char *)label;
    tr->rounds = rounds;
    tr->local_epochs = epochs;
    tr->hidden = hidden;
    tr->pace_ms = pace;
    tr->personalize_epochs = pers;
    tr->parties = &q->parties;

    /* The list is split in place in a copy of its argument, which the
     * request owns, so that argv itself is never written to. */
    q->pbuf = strdup(parties);
    q->names = calloc(MAX_NAMES, sizeof *q->names);
    if (!q->pbuf || !q->names) {
        snprintf(msg, msg_cap, "out of memory");
        return 1;
    }
    int ex = ward_ctl_parties_parse(&q->parties, msg, msg_cap, q->names, MAX_NAMES, q->pbuf);
    if (ex) return ex;
    return 0;
}

/* ---- send ------------------------------------------------------------------ */

static double mono_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The control call's deadline for a training run, the same on the command
 * line and in a script. */
static int train_timeout_ms(void) {
    /* Training runs many rounds: an hour unless WARD_TIMEOUT_MS says otherwise. */
    return getenv(WARD_CTL_TIMEOUT_ENV) ? ward_ctl_timeout_ms() : 3600 * 1000;
}

int ward_ctl_train_send(ward_ctl_train *out, char *msg, size_t msg_cap, const char *sock,
                        ward_ctl_train_req *q) {
    memset(out, 0, sizeof *out);
    out->model = q->tr.model;
    out->algo = q->tr.algo;
    /* A copy, so that the result does not depend on the argv the request
     * points into. */
    out->table = strdup(q->tr.table);
    if (!out->table) {
        snprintf(msg, msg_cap, "out of memory");
        return 1;
    }
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
    req.train = &q->tr;
    Ward__Control__Response *r = NULL;
    double t0 = mono_now_ms();
    int rc = ward_ctl_call(&r, msg, msg_cap, sock, &req, train_timeout_ms());
    out->wall_ms = mono_now_ms() - t0;
    int bad = 1;
    if (rc != WARD_OK) {
        /* msg says why */
    } else if (r->error != 0) {
        snprintf(msg, msg_cap, "%s",
                 r->message && r->message[0] ? r->message : ward_strerror(r->error));
    } else if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_TRAIN) {
        snprintf(msg, msg_cap, "the node answered with an unexpected result");
    } else {
        bad = 0;
    }
    if (bad) {
        if (r) ward__control__response__free_unpacked(r, NULL);
        ward_ctl_train_clear(out);
        return 1;
    }
    out->resp = r;
    return 0;
}

void ward_ctl_train_clear(ward_ctl_train *t) {
    if (!t) return;
    if (t->resp) ward__control__response__free_unpacked(t->resp, NULL);
    free(t->table);
    t->resp = NULL;
    t->table = NULL;
}

/* ---- print ----------------------------------------------------------------- */

static const char *model_name(Ward__Control__Model m) {
    switch (m) {
    case WARD__CONTROL__MODEL__MODEL_LINEAR: return "linear";
    case WARD__CONTROL__MODEL__MODEL_LOGREG: return "logreg";
    case WARD__CONTROL__MODEL__MODEL_SOFTMAX: return "softmax";
    case WARD__CONTROL__MODEL__MODEL_MLP: return "mlp";
    default: return "?";
    }
}

static void json_metrics(FILE *f, Ward__Control__Metric **mv, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        ward_ctl_json_str(f, mv[i]->name);
        fputs(": ", f);
        ward_ctl_json_num(f, mv[i]->value);
    }
}

static void json_names(FILE *f, char **v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        ward_ctl_json_str(f, v[i]);
    }
}

void ward_ctl_train_print_json_fields(FILE *f, const ward_ctl_train *t) {
    const Ward__Control__TrainResult *x = t->resp->train;
    fprintf(f, "\"model\": %s, \"rounds\": %u, \"metrics\": {", x->model_json, x->rounds);
    json_metrics(f, x->metrics, x->n_metrics);
    fputs("}, \"epsilon\": ", f);
    if (x->epsilon) ward_ctl_json_num(f, x->epsilon->value);
    else fputs("null", f);
    fputs(", \"latency_ms\": ", f);
    ward_ctl_json_num(f, x->latency_ms);
    fputs(", \"session\": ", f);
    ward_ctl_json_str(f, x->session);
    fputs(", \"model_sha256\": ", f);
    ward_ctl_json_str(f, x->model_hash);
    fprintf(f, ", \"threshold\": %u, \"parties\": [", x->threshold);
    json_names(f, x->parties, x->n_parties);
    fputs("], \"finished\": [", f);
    json_names(f, x->finished, x->n_finished);
    fputs("], \"personalized\": [", f);
    for (size_t i = 0; i < x->n_personal; i++) {
        const Ward__Control__PartyMetrics *pm = x->personal[i];
        fputs(i ? ", {\"party\": " : "{\"party\": ", f);
        ward_ctl_json_str(f, pm->party);
        fputs(", \"before\": {", f);
        json_metrics(f, pm->before, pm->n_before);
        fputs("}, \"after\": {", f);
        json_metrics(f, pm->after, pm->n_after);
        fputs("}}", f);
    }
    fputc(']', f);
}

void ward_ctl_train_print_human(FILE *f, const ward_ctl_train *t) {
    const Ward__Control__TrainResult *x = t->resp->train;
    const char *model = model_name(t->model);
    if (x->epsilon)
        fprintf(f, "trained %s on %s over %u rounds (DP-FedSGD, epsilon %.4g, delta 1e-5, "
                   "record level)\n",
                model, t->table, x->rounds, x->epsilon->value);
    else
        fprintf(f, "trained %s on %s over %u rounds (%s)\n", model, t->table, x->rounds,
                t->algo == WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX ? "FedProx" : "FedAvg");
    fputs(x->epsilon ? "validation (this node's own held-out rows):"
                     : "validation (all parties' held-out rows, by secure sum):",
          f);
    for (size_t i = 0; i < x->n_metrics; i++) {
        if (strcmp(x->metrics[i]->name, "validation_rows") == 0)
            fprintf(f, "%s %s %.0f", i ? "," : "", x->metrics[i]->name, x->metrics[i]->value);
        else
            fprintf(f, "%s %s %.4f", i ? "," : "", x->metrics[i]->name, x->metrics[i]->value);
    }
    fprintf(f, "\nparties: ");
    for (size_t i = 0; i < x->n_parties; i++) fprintf(f, "%s%s", i ? ", " : "", x->parties[i]);
    fprintf(f, " (Shamir t = %u); at the end: ", x->threshold);
    for (size_t i = 0; i < x->n_finished; i++) fprintf(f, "%s%s", i ? ", " : "", x->finished[i]);
    fprintf(f, "\nmodel sha256 %s (the same at every party)%s\n", x->model_hash,
            x->epsilon ? "" : "; exact (no DP noise)");
    fprintf(f, "latency: %.1f ms, session %s\n", x->latency_ms, x->session);
    if (x->n_personal)
        fprintf(f, "personalised (each party's model fine-tuned on its own rows, kept there; "
                   "its own held-out rows):\n");
    for (size_t i = 0; i < x->n_personal; i++) {
        const Ward__Control__PartyMetrics *pm = x->personal[i];
        fprintf(f, "  %s:", pm->party);
        for (size_t k = 0; k < pm->n_before && k < pm->n_after; k++)
            fprintf(f, "%s %s %.4f -> %.4f", k ? "," : "", pm->before[k]->name,
                    pm->before[k]->value, pm->after[k]->value);
        fprintf(f, "\n");
    }
}
