/* One joint computation, whatever its kind (ctl_cmd.h, "Joint
 * computations"): the dispatch shared by `ward --node X OP ...` and the
 * lines of session scripts, so that neither repeats it per kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_decide.h"
#include "ctl_cmd.h"

int ward_ctl_is_job(const char *word) {
    return ward_ctl_is_aggregate(word) || ward_cmd_is_decide(word) || strcmp(word, "train") == 0;
}

int ward_ctl_job_parse(ward_ctl_job_req *q, char *msg, size_t msg_cap, const char *op, int argc,
                       char **argv) {
    if (ward_cmd_is_decide(op)) {
        q->kind = WARD_CTL_JOB_DECISION;
        return ward_ctl_decide_parse(&q->u.decide, msg, msg_cap, op, argc, argv);
    }
    if (strcmp(op, "train") == 0) {
        q->kind = WARD_CTL_JOB_TRAIN;
        return ward_ctl_train_parse(&q->u.train, msg, msg_cap, argc, argv);
    }
    q->kind = WARD_CTL_JOB_AGGREGATE;
    return ward_ctl_agg_parse(&q->u.agg, msg, msg_cap, op, argc, argv);
}

void ward_ctl_job_req_clear(ward_ctl_job_req *q) {
    switch (q->kind) {
    case WARD_CTL_JOB_DECISION: ward_ctl_decide_req_clear(&q->u.decide); break;
    case WARD_CTL_JOB_TRAIN: ward_ctl_train_req_clear(&q->u.train); break;
    default: ward_ctl_agg_req_clear(&q->u.agg); break;
    }
}

int ward_ctl_job_send(ward_ctl_job *out, char *msg, size_t msg_cap, const char *sock,
                      ward_ctl_job_req *q) {
    out->kind = q->kind;
    switch (q->kind) {
    case WARD_CTL_JOB_DECISION:
        return ward_ctl_decide_send(&out->u.decide, msg, msg_cap, sock, &q->u.decide);
    case WARD_CTL_JOB_TRAIN:
        return ward_ctl_train_send(&out->u.train, msg, msg_cap, sock, &q->u.train);
    default:
        return ward_ctl_agg_send(&out->u.agg, msg, msg_cap, sock, &q->u.agg);
    }
}

void ward_ctl_job_print(FILE *f, int json, const ward_ctl_job *r) {
    switch (r->kind) {
    case WARD_CTL_JOB_DECISION:
        if (json) ward_ctl_decide_print_json_fields(f, &r->u.decide);
        else ward_ctl_decide_print_human(f, &r->u.decide);
        break;
    case WARD_CTL_JOB_TRAIN:
        if (json) ward_ctl_train_print_json_fields(f, &r->u.train);
        else ward_ctl_train_print_human(f, &r->u.train);
        break;
    default:
        if (json) ward_ctl_agg_print_json_fields(f, &r->u.agg);
        else ward_ctl_agg_print_human(f, &r->u.agg);
        break;
    }
}

double ward_ctl_job_wall_ms(const ward_ctl_job *r) {
    switch (r->kind) {
    case WARD_CTL_JOB_DECISION: return r->u.decide.wall_ms;
    case WARD_CTL_JOB_TRAIN: return r->u.train.wall_ms;
    default: return r->u.agg.wall_ms;
    }
}

void ward_ctl_job_clear(ward_ctl_job *r) {
    switch (r->kind) {
    case WARD_CTL_JOB_DECISION: ward_ctl_decide_clear(&r->u.decide); break;
    case WARD_CTL_JOB_TRAIN: ward_ctl_train_clear(&r->u.train); break;
    default: ward_ctl_agg_clear(&r->u.agg); break;
    }
}

int ward_cmd_job(const char *sock, int json, const char *op, int argc, char **argv) {
    /* Room for any message in full: a usage message quotes at most one
     * argument, and the node's reasons are far shorter than this. */
    size_t cap = 4096;
    for (int i = 0; i < argc; i++)
        if (strlen(argv[i]) + 512 > cap) cap = strlen(argv[i]) + 512;
    char *msg = malloc(cap);
    if (!msg) {
        fputs("ward: error: out of memory\n", stderr);
        return 1;
    }
    /* The request points into itself: it lives here until cleared. */
    ward_ctl_job_req *q = calloc(1, sizeof *q);
    int ex = 1;
    if (!q) {
        snprintf(msg, cap, "out of memory");
    } else {
        ex = ward_ctl_job_parse(q, msg, cap, op, argc, argv);
        if (ex == 0) {
            ward_ctl_job res;
            ex = ward_ctl_job_send(&res, msg, cap, sock, q);
            if (ex == 0) {
                if (json) putchar('{');
                ward_ctl_job_print(stdout, json, &res);
                if (json) printf("}\n");
                ward_ctl_job_clear(&res);
            }
        }
        ward_ctl_job_req_clear(q);
        free(q);
    }
    if (ex) fprintf(stderr, "ward: error: %s\n", msg);
    free(msg);
    return ex;
}
