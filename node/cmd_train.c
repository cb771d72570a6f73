/* ward --node X train --table T --features F --label Y --model KIND
 *     --parties LIST|all --rounds R [--local-epochs E] [--algo fedavg|fedprox]
 *     [--prox-mu MU] [--lr X] [--hidden H] [--clip C] [--epsilon E]
 *     [--pace-ms N] [--personalize EPOCHS] [--json]
 * One control request; the result printed for people or, with --json, as
 * one JSON object (INTERFACE.md): {"model": {...}, "rounds": n,
 * "metrics": {...}, "epsilon": null, "latency_ms": x, "session": "id", ...}. */
#include "cmd_train.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"

__attribute__((format(printf, 1, 2)))
static int usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ward: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static int parse_num(double *out, const char *opt, const char *v) {
    char *end = NULL;
    double x = strtod(v, &end);
    if (!end || *end != '\0' || end == v || !(x == x) || x <= 0 || x > 1e9)
        return usage("%s needs a positive number, not '%s'", opt, v);
    *out = x;
    return 0;
}

static int parse_uint(uint32_t *out, const char *opt, const char *v, unsigned long max) {
    char *end = NULL;
    unsigned long x = strtoul(v, &end, 10);
    if (!end || *end != '\0' || end == v || v[0] == '-' || x > max)
        return usage("%s needs a whole number 0..%lu, not '%s'", opt, max, v);
    *out = (uint32_t)x;
    return 0;
}

#define MAX_NAMES 1024

int ward_cmd_train(const char *sock, int json, int argc, char **argv) {
    static const char use[] =
        "usage: ward --node X train --table T --features F --label Y --model linear|logreg|softmax|mlp "
        "--parties LIST|all --rounds R [--local-epochs E] [--algo fedavg|fedprox] [--prox-mu MU] "
        "[--lr X] [--hidden H] [--clip C] [--epsilon E] [--pace-ms N] [--personalize EPOCHS] [--json]";
    const char *table = NULL, *features = NULL, *label = NULL, *model = NULL, *parties = NULL;
    const char *algo = NULL;
    uint32_t rounds = 0, epochs = 0, hidden = 0, pace = 0, pers = 0;
    int have_rounds = 0;
    double lr = 0, clip = 0, eps = 0, mu = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc, ex = 0;
        if (strcmp(a, "--table") == 0 && has) table = argv[++i];
        else if (strcmp(a, "--features") == 0 && has) features = argv[++i];
        else if (strcmp(a, "--label") == 0 && has) label = argv[++i];
        else if (strcmp(a, "--model") == 0 && has) model = argv[++i];
        else if (strcmp(a, "--parties") == 0 && has) parties = argv[++i];
        else if (strcmp(a, "--algo") == 0 && has) algo = argv[++i];
        else if (strcmp(a, "--rounds") == 0 && has) ex = parse_uint(&rounds, a, argv[++i], 100000), have_rounds = 1;
        else if (strcmp(a, "--local-epochs") == 0 && has) ex = parse_uint(&epochs, a, argv[++i], 1000);
        else if (strcmp(a, "--hidden") == 0 && has) ex = parse_uint(&hidden, a, argv[++i], 256);
        else if (strcmp(a, "--personalize") == 0 && has) ex = parse_uint(&pers, a, argv[++i], 1000);
        else if (strcmp(a, "--pace-ms") == 0 && has) ex = parse_uint(&pace, a, argv[++i], 600000);
        else if (strcmp(a, "--lr") == 0 && has) ex = parse_num(&lr, a, argv[++i]);
        else if (strcmp(a, "--clip") == 0 && has) ex = parse_num(&clip, a, argv[++i]);
        else if (strcmp(a, "--epsilon") == 0 && has) ex = parse_num(&eps, a, argv[++i]);
        else if (strcmp(a, "--prox-mu") == 0 && has) ex = parse_num(&mu, a, argv[++i]);
        else if (a[0] == '-' && a[1] == '-') return usage("unknown option or missing value: '%s'", a);
        else return usage("unexpected argument '%s'", a);
        if (ex) return ex;
    }
    if (!table || !features || !label || !model || !parties || !have_rounds) return usage("%s", use);
    if (rounds < 1) return usage("--rounds must be at least 1");
    Ward__Control__TrainRequest tr;
    ward__control__train_request__init(&tr);
    if (strcmp(model, "linear") == 0) tr.model = WARD__CONTROL__MODEL__MODEL_LINEAR;
    else if (strcmp(model, "logreg") == 0) tr.model = WARD__CONTROL__MODEL__MODEL_LOGREG;
    else if (strcmp(model, "softmax") == 0) tr.model = WARD__CONTROL__MODEL__MODEL_SOFTMAX;
    else if (strcmp(model, "mlp") == 0) tr.model = WARD__CONTROL__MODEL__MODEL_MLP;
    else return usage("--model must be linear, logreg, softmax or mlp, not '%s'", model);
    if (!algo || strcmp(algo, "fedavg") == 0) tr.algo = WARD__CONTROL__FL_ALGO__FL_ALGO_FEDAVG;
    else if (strcmp(algo, "fedprox") == 0) tr.algo = WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX;
    else return usage("--algo must be fedavg or fedprox, not '%s'", algo);
    if (mu > 0 && tr.algo != WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX)
        return usage("--prox-mu is for --algo fedprox");
    Ward__Control__Number n_lr, n_clip, n_eps, n_mu;
    ward__control__number__init(&n_lr);
    ward__control__number__init(&n_clip);
    ward__control__number__init(&n_eps);
    ward__control__number__init(&n_mu);
    n_lr.value = lr;
    n_clip.value = clip;
    n_eps.value = eps;
    n_mu.value = mu;
    if (lr > 0) tr.learning_rate = &n_lr;
    if (clip > 0) tr.clip = &n_clip;
    if (eps > 0) tr.epsilon = &n_eps;
    if (mu > 0) tr.prox_mu = &n_mu;
    char *feat[1] = {(char *)features};
    tr.table = (char *)table;
    tr.n_features = 1;
    tr.features = feat;
    tr.label = (char *)label;
    tr.rounds = rounds;
    tr.local_epochs = epochs;
    tr.hidden = hidden;
    tr.pace_ms = pace;
    tr.personalize_epochs = pers;
    Ward__Control__Parties pp;
    ward__control__parties__init(&pp);
    char *pbuf = strdup(parties);
    char **names = calloc(MAX_NAMES, sizeof *names);
    int ex = 0;
    if (!pbuf || !names) {
        fputs("ward: error: out of memory\n", stderr);
        ex = 1;
    }
    if (!ex && strcmp(parties, "all") == 0) {
        pp.all = 1;
    } else if (!ex) {
        size_t n = ward_ctl_split_names(names, MAX_NAMES, pbuf);
        if (n == 0 || n > MAX_NAMES) ex = usage("--parties needs 'all' or a comma-separated list of node names");
        pp.names = names;
        pp.n_names = n;
    }
    tr.parties = &pp;
    Ward__Control__Response *r = NULL;
    if (!ex) {
        Ward__Control__Request req;
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_TRAIN;
        req.train = &tr;
        char msg[1024];
        /* Training runs many rounds: an hour unless WARD_TIMEOUT_MS says otherwise. */
        int tmo = getenv(WARD_CTL_TIMEOUT_ENV) ? ward_ctl_timeout_ms() : 3600 * 1000;
        int rc = ward_ctl_call(&r, msg, sizeof msg, sock, &req, tmo);
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: %s\n", msg);
            ex = 1;
        } else if (r->error != 0) {
            fprintf(stderr, "ward: error: %s\n",
                    r->message && r->message[0] ? r->message : ward_strerror(r->error));
            ex = 1;
        } else if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_TRAIN) {
            fputs("ward: error: the node answered with an unexpected result\n", stderr);
            ex = 1;
        }
    }
    if (!ex) {
        const Ward__Control__TrainResult *x = r->train;
        if (json) {
            printf("{\"model\": %s, \"rounds\": %u, \"metrics\": {", x->model_json, x->rounds);
            for (size_t i = 0; i < x->n_metrics; i++) {
                if (i) fputs(", ", stdout);
                ward_ctl_json_str(stdout, x->metrics[i]->name);
                fputs(": ", stdout);
                ward_ctl_json_num(stdout, x->metrics[i]->value);
            }
            fputs("}, \"epsilon\": ", stdout);
            if (x->epsilon) ward_ctl_json_num(stdout, x->epsilon->value);
            else fputs("null", stdout);
            fputs(", \"latency_ms\": ", stdout);
            ward_ctl_json_num(stdout, x->latency_ms);
            fputs(", \"session\": ", stdout);
            ward_ctl_json_str(stdout, x->session);
            fputs(", \"model_sha256\": ", stdout);
            ward_ctl_json_str(stdout, x->model_hash);
            printf(", \"threshold\": %u, \"parties\": [", x->threshold);
            for (size_t i = 0; i < x->n_parties; i++) {
                if (i) fputs(", ", stdout);
                ward_ctl_json_str(stdout, x->parties[i]);
            }
            fputs("], \"finished\": [", stdout);
            for (size_t i = 0; i < x->n_finished; i++) {
                if (i) fputs(", ", stdout);
                ward_ctl_json_str(stdout, x->finished[i]);
            }
            fputs("], \"personalized\": [", stdout);
            for (size_t i = 0; i < x->n_personal; i++) {
                const Ward__Control__PartyMetrics *pm = x->personal[i];
                fputs(i ? ", {\"party\": " : "{\"party\": ", stdout);
                ward_ctl_json_str(stdout, pm->party);
                for (int half = 0; half < 2; half++) {
                    size_t nm = half ? pm->n_after : pm->n_before;
                    Ward__Control__Metric **mv = half ? pm->after : pm->before;
                    fputs(half ? "}, \"after\": {" : ", \"before\": {", stdout);
                    for (size_t k = 0; k < nm; k++) {
                        if (k) fputs(", ", stdout);
                        ward_ctl_json_str(stdout, mv[k]->name);
                        fputs(": ", stdout);
                        ward_ctl_json_num(stdout, mv[k]->value);
                    }
                }
                fputs("}}", stdout);
            }
            fputs("]}\n", stdout);
        } else {
            if (x->epsilon)
                printf("trained %s on %s over %u rounds (DP-FedSGD, epsilon %.4g, delta 1e-5, "
                       "record level)\n", model, table, x->rounds, x->epsilon->value);
            else
                printf("trained %s on %s over %u rounds (%s)\n", model, table, x->rounds,
                       tr.algo == WARD__CONTROL__FL_ALGO__FL_ALGO_FEDPROX ? "FedProx" : "FedAvg");
            printf(x->epsilon ? "validation (this node's own held-out rows):"
                              : "validation (all parties' held-out rows, by secure sum):");
            for (size_t i = 0; i < x->n_metrics; i++)
                printf(strcmp(x->metrics[i]->name, "validation_rows") == 0 ? "%s %s %.0f" : "%s %s %.4f",
                       i ? "," : "", x->metrics[i]->name, x->metrics[i]->value);
            printf("\nparties: ");
            for (size_t i = 0; i < x->n_parties; i++) printf("%s%s", i ? ", " : "", x->parties[i]);
            printf(" (Shamir t = %u); at the end: ", x->threshold);
            for (size_t i = 0; i < x->n_finished; i++) printf("%s%s", i ? ", " : "", x->finished[i]);
            printf("\nmodel sha256 %s (the same at every party)%s\n", x->model_hash,
                   x->epsilon ? "" : "; exact (no DP noise)");
            printf("latency: %.1f ms, session %s\n", x->latency_ms, x->session);
            if (x->n_personal)
                printf("personalised (each party's model fine-tuned on its own rows, kept there; "
                       "its own held-out rows):\n");
            for (size_t i = 0; i < x->n_personal; i++) {
                const Ward__Control__PartyMetrics *pm = x->personal[i];
                printf("  %s:", pm->party);
                for (size_t k = 0; k < pm->n_before && k < pm->n_after; k++)
                    printf("%s %s %.4f -> %.4f", k ? "," : "", pm->before[k]->name,
                           pm->before[k]->value, pm->after[k]->value);
                printf("\n");
            }
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    free(pbuf);
    free(names);
    return ex;
}
