/* ward --node X max | argmax | threshold TABLE.COLUMN --agg sum|max|count
 *     --parties LIST|all --compute A,B [--threshold T] [--where EXPR] [--json]
 * One control request; the result printed for people or, with --json, as
 * one JSON object: {"output": value | "name" | true/false, ...}.
 *
 * Parsing, sending and printing are separate functions (ctl_cmd.h), so that
 * a decision line of a session script (cmd_run.c) means, and prints, what the
 * same words do on the command line. */
#include "cmd_decide.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"

int ward_cmd_is_decide(const char *w) {
    return strcmp(w, "max") == 0 || strcmp(w, "argmax") == 0 || strcmp(w, "threshold") == 0;
}

__attribute__((format(printf, 3, 4)))
static int usage_msg(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return 2;
}

#define MAX_NAMES 1024

/* ---- parse ----------------------------------------------------------------- */

void ward_ctl_decide_req_clear(ward_ctl_decide_req *q) {
    if (!q) return;
    free(q->pbuf);
    free(q->cbuf);
    free(q->names);
    q->pbuf = q->cbuf = NULL;
    q->names = NULL;
}

int ward_ctl_decide_parse(ward_ctl_decide_req *q, char *msg, size_t msg_cap, const char *op,
                          int argc, char **argv) {
    static const char use[] =
        "usage: ward --node X %s TABLE.COLUMN --agg sum|max|count --parties LIST|all "
        "--compute A,B%s [--where EXPR] [--json]";
    memset(q, 0, sizeof *q);
    msg[0] = '\0';
    Ward__Control__DecideRequest *dr = &q->dr;
    ward__control__decide_request__init(dr);
    ward__control__parties__init(&q->parties);
    snprintf(q->op, sizeof q->op, "%s", op);
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
            return usage_msg(msg, msg_cap, "unknown option or missing value: '%s'", a);
        else if (!target) target = a;
        else return usage_msg(msg, msg_cap, "unexpected argument '%s'", a);
    }
    if (!target || !parties || !compute)
        return usage_msg(msg, msg_cap, use, op, thr ? " --threshold T" : "");
    dr->op = strcmp(op, "max") == 0      ? WARD__CONTROL__DECIDE_OP__DECIDE_MAX
             : strcmp(op, "argmax") == 0 ? WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX
                                         : WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD;
    if (!agg || strcmp(agg, "sum") == 0) dr->agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_SUM;
    else if (strcmp(agg, "max") == 0) dr->agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_MAX;
    else if (strcmp(agg, "count") == 0) dr->agg = WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT;
    else return usage_msg(msg, msg_cap, "--agg must be sum, max or count, not '%s'", agg);
    if (thr && !threshold) return usage_msg(msg, msg_cap, "threshold needs --threshold T");
    if (!thr && threshold) return usage_msg(msg, msg_cap, "--threshold is for threshold only");
    const char *dot = strchr(target, '.');
    size_t tl = dot ? (size_t)(dot - target) : strlen(target);
    if (tl == 0 || tl >= sizeof q->table ||
        (dot && (dot[1] == '\0' || strlen(dot + 1) >= sizeof q->column)))
        return usage_msg(msg, msg_cap, "expected TABLE.COLUMN, not '%s'", target);
    if (!dot && dr->agg != WARD__CONTROL__DECIDE_AGG__DECIDE_BY_COUNT)
        return usage_msg(msg, msg_cap, "%s needs TABLE.COLUMN (TABLE alone only with --agg count)",
                         op);
    memcpy(q->table, target, tl);
    q->table[tl] = '\0';
    snprintf(q->column, sizeof q->column, "%s", dot ? dot + 1 : "");
    snprintf(q->target, sizeof q->target, "%s", target);
    dr->table = q->table;
    dr->column = q->column;
    dr->where = (char *)where;
    dr->threshold = (char *)(threshold ? threshold : "");

    /* The lists are split in place in copies of their arguments, which the
     * request owns, so that argv itself is never written to. */
    q->pbuf = strdup(parties);
    q->cbuf = strdup(compute);
    q->names = calloc(MAX_NAMES, sizeof *q->names);
    if (!q->pbuf || !q->cbuf || !q->names) {
        snprintf(msg, msg_cap, "out of memory");
        return 1;
    }
    int ex = ward_ctl_parties_parse(&q->parties, msg, msg_cap, q->names, MAX_NAMES, q->pbuf);
    if (ex) return ex;
    if (ward_ctl_split_names(q->compute, 2, q->cbuf) != 2)
        return usage_msg(msg, msg_cap,
                         "--compute needs exactly two node names, A,B (A garbles, B evaluates)");
    dr->compute = q->compute;
    dr->n_compute = 2;
    dr->parties = &q->parties;
    return 0;
}

/* ---- send ------------------------------------------------------------------ */

static double mono_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int ward_ctl_decide_send(ward_ctl_decide *out, char *msg, size_t msg_cap, const char *sock,
                         ward_ctl_decide_req *q) {
    memset(out, 0, sizeof *out);
    out->op = q->dr.op;
    snprintf(out->target, sizeof out->target, "%s", q->target);
    snprintf(out->table, sizeof out->table, "%s", q->table);
    snprintf(out->column, sizeof out->column, "%s", q->column);
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_DECIDE;
    req.decide = &q->dr;
    Ward__Control__Response *r = NULL;
    double t0 = mono_now_ms();
    int rc = ward_ctl_call(&r, msg, msg_cap, sock, &req, ward_ctl_timeout_ms());
    out->wall_ms = mono_now_ms() - t0;
    if (rc != WARD_OK) return 1; /* msg says why */
    if (r->error != 0) {
        snprintf(msg, msg_cap, "%s",
                 r->message && r->message[0] ? r->message : ward_strerror(r->error));
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_DECIDE) {
        snprintf(msg, msg_cap, "the node answered with an unexpected result");
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    out->resp = r;
    return 0;
}

void ward_ctl_decide_clear(ward_ctl_decide *d) {
    if (d && d->resp) ward__control__response__free_unpacked(d->resp, NULL);
    if (d) d->resp = NULL;
}

/* ---- print ----------------------------------------------------------------- */

void ward_ctl_decide_print_json_fields(FILE *f, const ward_ctl_decide *d) {
    const Ward__Control__DecideResult *x = d->resp->decide;
    fprintf(f, "\"output\": ");
    if (d->op == WARD__CONTROL__DECIDE_OP__DECIDE_MAX)
        fputs(x->value ? x->value_text : "null", f); /* an exact decimal */
    else if (d->op == WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX)
        ward_ctl_json_str(f, x->name);
    else
        fputs(x->exceeds ? "true" : "false", f);
    fprintf(f, ", \"op\": ");
    ward_ctl_json_str(f, x->op);
    fprintf(f, ", \"agg\": ");
    ward_ctl_json_str(f, x->agg);
    fprintf(f, ", \"table\": ");
    ward_ctl_json_str(f, d->table);
    fprintf(f, ", \"column\": ");
    ward_ctl_json_str(f, d->column);
    fprintf(f, ", \"threshold\": ");
    fputs(d->op == WARD__CONTROL__DECIDE_OP__DECIDE_THRESHOLD ? x->threshold_text : "null", f);
    fprintf(f, ", \"parties\": [");
    for (size_t i = 0; i < x->n_parties; i++) {
        if (i) fputs(", ", f);
        ward_ctl_json_str(f, x->parties[i]);
    }
    fprintf(f, "], \"compute\": [");
    for (size_t i = 0; i < x->n_compute; i++) {
        if (i) fputs(", ", f);
        ward_ctl_json_str(f, x->compute[i]);
    }
    fprintf(f, "], \"exact\": true, \"epsilon\": null, \"and_gates\": %" PRIu64 ", \"latency_ms\": ",
            x->and_gates);
    ward_ctl_json_num(f, x->latency_ms);
    fprintf(f, ", \"session\": ");
    ward_ctl_json_str(f, x->session);
}

void ward_ctl_decide_print_human(FILE *f, const ward_ctl_decide *d) {
    const Ward__Control__DecideResult *x = d->resp->decide;
    if (d->op == WARD__CONTROL__DECIDE_OP__DECIDE_MAX)
        fprintf(f, "max of %s(%s) = %s\n", x->agg, d->target,
                x->value ? x->value_text : "none (no party has a row)");
    else if (d->op == WARD__CONTROL__DECIDE_OP__DECIDE_ARGMAX)
        fprintf(f, "argmax of %s(%s) = %s\n", x->agg, d->target, x->name);
    else
        fprintf(f, "total of %s(%s) > %s: %s\n", x->agg, d->target, x->threshold_text,
                x->exceeds ? "yes" : "no");
    fprintf(f, "parties: ");
    for (size_t i = 0; i < x->n_parties; i++) fprintf(f, "%s%s", i ? ", " : "", x->parties[i]);
    fprintf(f, "\ncomputed by %s (garbler) and %s (evaluator) in a garbled circuit of %" PRIu64
               " AND gates; exact (no noise)\n",
            x->n_compute > 0 ? x->compute[0] : "?", x->n_compute > 1 ? x->compute[1] : "?",
            x->and_gates);
    fprintf(f, "latency: %.1f ms, session %s\n", x->latency_ms, x->session);
}
