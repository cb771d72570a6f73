/* Control commands as functions that return their result instead of
 * printing it, for the commands that build on them: `ward --node X OP ...`
 * (cmd_ctl.c; max, argmax and threshold in cmd_decide.c; train in
 * cmd_train.c), session scripts (`ward --node X run`, cmd_run.c), the demo
 * city's imports (`ward sim up --city`) and `ward bench agg`. A script line
 * thereby means exactly what the same words mean on the command line.
 * Decisions and training follow the same pattern with ward_ctl_decide_req,
 * ward_ctl_decide_parse, ..., ward_ctl_train_req, ward_ctl_train_parse and
 * so on.
 *
 *     ward_ctl_agg_req q;
 *     if (ward_ctl_agg_parse(&q, msg, sizeof msg, "sum", argc, argv) == 0) {
 *         ward_ctl_agg res;
 *         if (ward_ctl_agg_send(&res, msg, sizeof msg, sock, &q) == 0) {
 *             ward_ctl_agg_print_human(stdout, &res);
 *             ward_ctl_agg_clear(&res);
 *         }
 *     }
 *     ward_ctl_agg_req_clear(&q);
 */
#ifndef WARD_CTL_CMD_H
#define WARD_CTL_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control.pb-c.h"

/* A parsed aggregate command, ready to send. It points into the argv it
 * was parsed from, which must outlive it. */
typedef struct {
    char op[16];                       /* sum | count | mean | histogram */
    char target[512];                  /* TABLE.COLUMN (or TABLE) as given */
    char table[256], column[256];
    Ward__Control__AggregateRequest ag;
    Ward__Control__Parties parties;
    Ward__Control__Number eps, del;
    char **names, **outs;              /* owned lists behind --parties, --output */
    size_t n_names, n_outs;
    char *domains[3];                  /* --domain texts (point into argv) */
} ward_ctl_agg_req;

/* The node's answer. */
typedef struct {
    char op[16];
    char target[512];
    Ward__Control__Response *resp;     /* owned; resp->aggregate is the result */
    double wall_ms;                    /* request sent to answer read, as the client saw it */
} ward_ctl_agg;

/* 1 when word names an aggregate command (sum, count, mean, histogram). */
int ward_ctl_is_aggregate(const char *word);

/* Parses the words after the command name (TABLE.COLUMN and options; no
 * --json). Returns 0, or 2 for a usage error with msg holding one line
 * (without the "ward: error: " prefix). Clear *q in either case. */
int ward_ctl_agg_parse(ward_ctl_agg_req *q, char *msg, size_t msg_cap, const char *op, int argc,
                       char **argv);

/* Frees what ward_ctl_agg_parse allocated. Safe on a zeroed request. */
void ward_ctl_agg_req_clear(ward_ctl_agg_req *q);

/* Sends the request to the node's control socket and waits for the
 * result (up to ward_ctl_timeout_ms()). Returns 0 with *out filled (clear
 * it with ward_ctl_agg_clear), or 1 for a failure or refusal with msg
 * holding the one-line reason (no prefix) and *out empty. */
int ward_ctl_agg_send(ward_ctl_agg *out, char *msg, size_t msg_cap, const char *sock,
                      ward_ctl_agg_req *q);

/* The result as `ward --node X OP` prints it for people. */
void ward_ctl_agg_print_human(FILE *f, const ward_ctl_agg *a);

/* The result's JSON fields (INTERFACE.md), without the enclosing braces:
 * "value": ..., "groups": ..., ..., "exact": true|false. */
void ward_ctl_agg_print_json_fields(FILE *f, const ward_ctl_agg *a);

void ward_ctl_agg_clear(ward_ctl_agg *a);

/* A parsed decision command (max, argmax, threshold; docs/garbled-circuits.md),
 * ready to send. Like ward_ctl_agg_req it points into the argv it was parsed
 * from, which must outlive it, and into itself: it must not be moved. */
typedef struct {
    char op[16];                       /* max | argmax | threshold */
    char target[512];                  /* TABLE.COLUMN (or TABLE) as given */
    char table[256], column[256];
    Ward__Control__DecideRequest dr;
    Ward__Control__Parties parties;
    char *pbuf, *cbuf;                 /* owned copies of --parties, --compute, split in place */
    char **names;                      /* owned; the --parties names, pointing into pbuf */
    char *compute[2];                  /* A, B, pointing into cbuf */
} ward_ctl_decide_req;

/* The node's answer to a decision. */
typedef struct {
    Ward__Control__DecideOp op;
    char target[512], table[256], column[256];
    Ward__Control__Response *resp;     /* owned; resp->decide is the result */
    double wall_ms;                    /* request sent to answer read, as the client saw it */
} ward_ctl_decide;

/* Parses the words after the command name (TABLE.COLUMN and options; no
 * --json) as `ward --node X OP` does. Returns 0, 2 for a usage error or 1
 * when out of memory, with msg holding one line (without the "ward: error: "
 * prefix). Clear *q with ward_ctl_decide_req_clear in every case. */
int ward_ctl_decide_parse(ward_ctl_decide_req *q, char *msg, size_t msg_cap, const char *op,
                          int argc, char **argv);

/* Frees what ward_ctl_decide_parse allocated. Safe on a zeroed request. */
void ward_ctl_decide_req_clear(ward_ctl_decide_req *q);

/* Sends the decision and waits for its result (up to ward_ctl_timeout_ms()).
 * Returns 0 with *out filled (clear it with ward_ctl_decide_clear), or 1 for
 * a failure or refusal with msg holding the one-line reason and *out empty. */
int ward_ctl_decide_send(ward_ctl_decide *out, char *msg, size_t msg_cap, const char *sock,
                         ward_ctl_decide_req *q);

/* The result as `ward --node X max|argmax|threshold` prints it for people. */
void ward_ctl_decide_print_human(FILE *f, const ward_ctl_decide *d);

/* The result's JSON fields without the enclosing braces: "output": ...,
 * "op", "agg", "table", "column", "threshold", "parties", "compute", "exact",
 * "epsilon", "and_gates", "latency_ms", "session". */
void ward_ctl_decide_print_json_fields(FILE *f, const ward_ctl_decide *d);

void ward_ctl_decide_clear(ward_ctl_decide *d);

/* A parsed training command (federated learning; docs/learning.md
 * "Protocol"), ready to send. Like ward_ctl_decide_req it points into the
 * argv it was parsed from, which must outlive it, and into itself: it must
 * not be moved. */
typedef struct {
    Ward__Control__TrainRequest tr;
    Ward__Control__Parties parties;
    Ward__Control__Number lr, clip, eps, mu; /* behind --lr, --clip, --epsilon, --prox-mu */
    char *features[1];                 /* the --features text (points into argv) */
    char *pbuf;                        /* owned copy of --parties, split in place */
    char **names;                      /* owned; the --parties names, pointing into pbuf */
} ward_ctl_train_req;

/* The node's answer to a training run. */
typedef struct {
    Ward__Control__Model model;
    Ward__Control__FlAlgo algo;
    char *table;                       /* owned copy of --table */
    Ward__Control__Response *resp;     /* owned; resp->train is the result */
    double wall_ms;                    /* request sent to answer read, as the client saw it */
} ward_ctl_train;

/* Parses the words after `train` (--table, --features, ...; no --json) as
 * `ward --node X train` does, with its checks in its order. Returns 0, 2
 * for a usage error or 1 when out of memory, with msg holding one line
 * (without the "ward: error: " prefix). Clear *q with
 * ward_ctl_train_req_clear in every case. */
int ward_ctl_train_parse(ward_ctl_train_req *q, char *msg, size_t msg_cap, int argc, char **argv);

/* Frees what ward_ctl_train_parse allocated. Safe on a zeroed request. */
void ward_ctl_train_req_clear(ward_ctl_train_req *q);

/* Sends the training run and waits for its result: up to an hour, since a
 * run of many rounds takes far longer than an aggregate, or
 * ward_ctl_timeout_ms() when WARD_TIMEOUT_MS is set. Returns 0 with *out
 * filled (clear it with ward_ctl_train_clear), or 1 for a failure or
 * refusal with msg holding the one-line reason and *out empty. */
int ward_ctl_train_send(ward_ctl_train *out, char *msg, size_t msg_cap, const char *sock,
                        ward_ctl_train_req *q);

/* The result as `ward --node X train` prints it for people. */
void ward_ctl_train_print_human(FILE *f, const ward_ctl_train *t);

/* The result's JSON fields without the enclosing braces (docs/learning.md):
 * "model": {...}, "rounds", "metrics", "epsilon", "latency_ms", "session",
 * "model_sha256", "threshold" (the Shamir t), "parties", "finished",
 * "personalized". */
void ward_ctl_train_print_json_fields(FILE *f, const ward_ctl_train *t);

/* Safe on a zeroed result. */
void ward_ctl_train_clear(ward_ctl_train *t);

/* ---- Joint computations -------------------------------------------------
 * An aggregate, a decision or a training run behind one interface, for the
 * command line and the lines of session scripts (node/ctl_job.c). */
typedef enum {
    WARD_CTL_JOB_AGGREGATE = 0,        /* sum, count, mean, histogram */
    WARD_CTL_JOB_DECISION,             /* max, argmax, threshold */
    WARD_CTL_JOB_TRAIN                 /* train */
} ward_ctl_job_kind;

typedef struct {
    ward_ctl_job_kind kind;
    union {
        ward_ctl_agg_req agg;
        ward_ctl_decide_req decide;
        ward_ctl_train_req train;
    } u;
} ward_ctl_job_req;

typedef struct {
    ward_ctl_job_kind kind;
    union {
        ward_ctl_agg agg;
        ward_ctl_decide decide;
        ward_ctl_train train;
    } u;
} ward_ctl_job;

/* 1 when word names a joint computation of one of the three kinds. */
int ward_ctl_is_job(const char *word);

/* The kind's parse, send, print and clear (above), chosen by op for the
 * request and by the request for the result. A zeroed request or result
 * may be cleared. ward_ctl_job_print writes the JSON fields (json != 0)
 * or the human form. */
int ward_ctl_job_parse(ward_ctl_job_req *q, char *msg, size_t msg_cap, const char *op, int argc,
                       char **argv);
void ward_ctl_job_req_clear(ward_ctl_job_req *q);
int ward_ctl_job_send(ward_ctl_job *out, char *msg, size_t msg_cap, const char *sock,
                      ward_ctl_job_req *q);
void ward_ctl_job_print(FILE *f, int json, const ward_ctl_job *r);
double ward_ctl_job_wall_ms(const ward_ctl_job *r);
void ward_ctl_job_clear(ward_ctl_job *r);

/* `ward --node X OP ARGS...` for a joint computation: argv holds the words
 * after OP, --json already taken out. Prints the result (one JSON object
 * with json) or one `ward: error: ...` line. Returns the exit status (0, 1
 * for a failure or refusal, 2 for a usage error). */
int ward_cmd_job(const char *sock, int json, const char *op, int argc, char **argv);

/* Splits the comma-separated list in buf, in place, into at most cap
 * names (blanks around a name trimmed, empty items skipped). Returns how
 * many, or cap + 1 when there are more. */
size_t ward_ctl_split_names(char **names, size_t cap, char *buf);

/* The --parties argument in buf: "all", or a list split in place into
 * names[0..cap) (ward_ctl_split_names), which *p then points to. Returns
 * 0, or 2 with the usage message (no prefix) in msg. */
int ward_ctl_parties_parse(Ward__Control__Parties *p, char *msg, size_t msg_cap, char **names,
                           size_t cap, char *buf);

/* JSON helpers of the control commands: a string (escaped, invalid UTF-8
 * replaced) and a number (shortest round-trip form; null when not finite). */
void ward_ctl_json_str(FILE *f, const char *s);
void ward_ctl_json_num(FILE *f, double v);

/* Imports the CSV file at abs_path (absolute; the node reads it) into
 * table with the sensitivity class ("high", "medium", "low" or NULL for
 * the default) and the declared schema (NULL for none: types inferred), as
 * `ward --node X import` does. Returns 0 with *rows set
 * to the rows imported, or 1 with msg holding the node's reason (the line
 * of a bad file included). */
int ward_ctl_import(uint64_t *rows, char *msg, size_t msg_cap, const char *sock,
                    const char *table, const char *abs_path, const char *sensitivity,
                    const char *schema);

/* What a session script did. */
typedef struct {
    size_t total, done, failed, not_run;
    size_t first_failed_line;
    char first_failed_msg[700];
    double wall_ms;                    /* the whole script */
} ward_run_summary;

#define WARD_RUN_MAX_PARALLEL 32 /* a node takes 64 control clients at a time */

/* Runs a session script against the node at sock (node: the --node
 * argument, for @NAME lines) without printing its results, up to
 * `parallel` lines at once (1: in order, one after the other). Returns 0
 * when every line succeeded, 1 when one failed (*sum says which), or the
 * exit status of a script that cannot be read or parsed (after printing
 * one `ward: error: ...` line). */
int ward_run_script(ward_run_summary *sum, const char *node, const char *sock, const char *script,
                    unsigned parallel);

/* ward --node X run SCRIPT [--stop-on-error]: node is the --node argument,
 * sock its control socket; argv holds the arguments after `run` with
 * --json already taken out. Returns the exit status. */
int ward_cmd_run(const char *node, const char *sock, int json, int argc, char **argv);

/* Checks a session script's text (NUL-ended) as `run` does before it runs
 * anything, and keeps nothing: 0 when every line is a computation; 2 for a
 * usage error, msg saying why (the first bad line's reason, or that the
 * script holds no computation); 1 when out of memory. For the fuzz
 * harness (tests/fuzz/fuzz_script.c). */
int ward_run_check_text(char *msg, size_t msg_cap, const char *text);

#endif
