/* ward --node X max | argmax | threshold TABLE.COLUMN --agg sum|max|count
 *     --parties LIST|all --compute A,B [--threshold T] [--where EXPR] [--json]
 * One control request; the result printed for people or, with --json, as
 * one JSON object: {"output": value | "name" | true/false, ...}. */
#include "cmd_decide.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"

int ward_cmd_is_decide(const char *w) {
    return strcmp(w, "max") == 0 || strcmp(w, "argmax") == 0 || strcmp(w, "threshold") == 0;
}

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

#define MAX_NAMES 1024

int ward_cmd_decide(const char *sock, int json, const char *op, int argc, char **argv) {
    static const char use[] =
        "usage: ward --node X %s TABLE.COLUMN --agg sum|max|count --parties LIST|all "
        "--compute A,B%s [--where EXPR] [--json]";
    int thr = strcmp(op, "threshold") == 0;
    const char *target = NULL, *agg = NULL, *parties = NULL, *compute = NULL, *threshold = NULL;
    const char *where = "";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--agg") == 0 && has) agg = argv[++i];
        else if (strcmp(a, "--parties") == 0 && has) parties = argv[++i];
        else if (strcmp(a, "--compute") == 0 && has) compute = argv[++i];
        else if (strcmp(a, "--threshold") == 0 && has) threshold = argv[++i];
        else if (strcmp(a, "--where") == 0 && has) where = argv[++i];
        else if (a[0] == '-' && a[1] == '-')
            return usage("unknown option or missing value: '%s'", a);
        else if (!target) target = a;
        else return usage("unexpected argument '%s'", a);
    }
    if (!target || !parties || !compute)
        return usage(use, op, thr ? " --threshold T" : "");
    Ward__Control__DecideRequest dr;
    ward__control__decide_request__init(&dr);
    dr.op = strcmp(op, "max") == 0      ? WARD__CONTROL__DECIDE_OP__DECIDE_MAX
            : strcmp(op, "argmax") == 0 ? WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX
                                        : WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD;
    if (!agg || strcmp(agg, "sum") == 0) dr.agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM;
    else if (strcmp(agg, "max") == 0) dr.agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX;
    else if (strcmp(agg, "count") == 0) dr.agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT;
    else return usage("--agg must be sum, max or count, not '%s'", agg);
    if (thr && !threshold) return usage("threshold needs --threshold T");
    if (!thr && threshold) return usage("--threshold is for threshold only");
    char table[256], column[256];
    const char *dot = strchr(target, '.');
    size_t tl = dot ? (size_t)(dot - target) : strlen(target);
    if (tl == 0 || tl >= sizeof table || (dot && (dot[1] == '\0' || strlen(dot + 1) >= sizeof column)))
        return usage("expected TABLE.COLUMN, not '%s'", target);
    if (!dot && dr.agg != WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT)
        return usage("%s needs TABLE.COLUMN (TABLE alone only with --agg count)", op);
    memcpy(table, target, tl);
    table[tl] = '\0';
    snprintf(column, sizeof column, "%s", dot ? dot + 1 : "");
    dr.table = table;
    dr.column = column;
    dr.where = (char *)where;
    dr.threshold = (char *)(threshold ? threshold : "");

    Ward__Control__Parties pp;
    ward__control__parties__init(&pp);
    char *pbuf = strdup(parties), *cbuf = strdup(compute);
    char **names = calloc(MAX_NAMES, sizeof *names);
    char *cnames[3];
    int ex = 0;
    if (!pbuf || !cbuf || !names) {
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
    if (!ex) {
        size_t n = ward_ctl_split_names(cnames, 2, cbuf);
        if (n != 2) ex = usage("--compute needs exactly two node names, A,B (A garbles, B evaluates)");
        dr.compute = cnames;
        dr.n_compute = 2;
    }
    dr.parties = &pp;
    Ward__Control__Response *r = NULL;
    if (!ex) {
        Ward__Control__Request req;
        ward__control__request__init(&req);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
        req.decide = &dr;
        char msg[1024];
        int rc = ward_ctl_call(&r, msg, sizeof msg, sock, &req, ward_ctl_timeout_ms());
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: %s\n", msg);
            ex = 1;
        } else if (r->error != 0) {
            fprintf(stderr, "ward: error: %s\n",
                    r->message && r->message[0] ? r->message : ward_strerror(r->error));
            ex = 1;
        } else if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_DECIDE) {
            fputs("ward: error: the node answered with an unexpected result\n", stderr);
            ex = 1;
        }
    }
    if (!ex) {
        const Ward__Control__DecideResult *x = r->decide;
        if (json) {
            printf("{\"output\": ");
            if (dr.op == WARD__CONTROL__DECIDE_OP__DECIDE_MAX)
                fputs(x->value ? x->value_text : "null", stdout); /* an exact decimal */
            else if (dr.op == WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX)
                ward_ctl_json_str(stdout, x->name);
            else
                fputs(x->exceeds ? "true" : "false", stdout);
            printf(", \"op\": ");
            ward_ctl_json_str(stdout, x->op);
            printf(", \"agg\": ");
            ward_ctl_json_str(stdout, x->agg);
            printf(", \"table\": ");
            ward_ctl_json_str(stdout, table);
            printf(", \"column\": ");
            ward_ctl_json_str(stdout, column);
            printf(", \"threshold\": ");
            fputs(thr ? x->threshold_text : "null", stdout);
            printf(", \"parties\": [");
            for (size_t i = 0; i < x->n_parties; i++) {
                if (i) fputs(", ", stdout);
                ward_ctl_json_str(stdout, x->parties[i]);
            }
            printf("], \"compute\": [");
            for (size_t i = 0; i < x->n_compute; i++) {
                if (i) fputs(", ", stdout);
                ward_ctl_json_str(stdout, x->compute[i]);
            }
            printf("], \"exact\": true, \"epsilon\": null, \"and_gates\": %" PRIu64 ", \"latency_ms\": ",
                   x->and_gates);
            ward_ctl_json_num(stdout, x->latency_ms);
            printf(", \"session\": ");
            ward_ctl_json_str(stdout, x->session);
            printf("}\n");
        } else {
            if (dr.op == WARD__CONTROL__DECIDE_OP__DECIDE_MAX)
                printf("max of %s(%s) = %s\n", x->agg, target, x->value ? x->value_text : "none (no party has a row)");
            else if (dr.op == WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX)
                printf("argmax of %s(%s) = %s\n", x->agg, target, x->name);
            else
                printf("total of %s(%s) > %s: %s\n", x->agg, target, x->threshold_text,
                       x->exceeds ? "yes" : "no");
            printf("parties: ");
            for (size_t i = 0; i < x->n_parties; i++) printf("%s%s", i ? ", " : "", x->parties[i]);
            printf("\ncomputed by %s (garbler) and %s (evaluator) in a garbled circuit of %" PRIu64
                   " AND gates; exact (no noise)\n",
                   x->n_compute > 0 ? x->compute[0] : "?", x->n_compute > 1 ? x->compute[1] : "?",
                   x->and_gates);
            printf("latency: %.1f ms, session %s\n", x->latency_ms, x->session);
        }
    }
    if (r) ward__control__response__free_unpacked(r, NULL);
    free(pbuf);
    free(cbuf);
    free(names);
    return ex;
}
