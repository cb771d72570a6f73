/* `ward eval utility` (cmd_eval.h). */
#include "cmd_eval.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "eval_utility.h"
#include "ward_paths.h"

/* The published anchor and the goal (REFERENCE-FIGURES.md). */
#define PAPER_UTILITY 0.947
#define GOAL_UTILITY 0.97
#define MAX_CURVE 16

static const double default_curve[] = {0.25, 0.5, 1.0, 2.1, 4.0, 8.0};

static void usage(void) {
    fputs("ward: error: usage: ward eval utility [--json] [--epsilon E | --exact] [--trials N]\n"
          "                 [--seed S] [--split allocator|even] [--queries NAME,...]\n"
          "                 [--curve [E,E,...]] [--data DIR]\n",
          stderr);
}

static int parse_double(const char *s, double *out) {
    if (!s || !*s) return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1200];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static const char *op_name(ward_dp_rel_op op) {
    switch (op) {
    case WARD_DP_REL_SUM: return "sum";
    case WARD_DP_REL_COUNT: return "count";
    case WARD_DP_REL_MEAN: return "mean";
    case WARD_DP_REL_HISTOGRAM: return "histogram";
    }
    return "?";
}

/* The overall ceiling: the mean of the queries' (eval_utility.h). */
static double mean_ceiling(const ward_eval_result *res, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += res[i].ceiling;
    return n ? s / (double)n : 0;
}

static void print_eps(double e) {
    if (isinf(e)) printf("null");
    else printf("%.6g", e);
}

int ward_cmd_eval(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "utility") != 0) {
        usage();
        return 2;
    }
    ward_eval_params prm = {2.1, 1e-5, WARD_EVAL_ALLOCATOR, 20, 1};
    int json = 0, curve = 0;
    double curve_eps[MAX_CURVE];
    size_t ncurve = 0;
    const char *data = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--exact") == 0) {
            prm.epsilon_total = INFINITY;
        } else if (strcmp(a, "--curve") == 0) {
            curve = 1;
            if (v && v[0] != '-') {
                i++;
                char buf[256];
                snprintf(buf, sizeof buf, "%s", v);
                for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                    double e;
                    if (ncurve == MAX_CURVE || !parse_double(t, &e) || !(e > 0)) {
                        fprintf(stderr, "ward: error: --curve takes up to %d epsilons > 0, "
                                        "comma-separated\n", MAX_CURVE);
                        return 2;
                    }
                    curve_eps[ncurve++] = e;
                }
            }
        } else if (v == NULL) {
            fprintf(stderr, "ward: error: %s needs a value\n", a);
            usage();
            return 2;
        } else if (strcmp(a, "--epsilon") == 0) {
            if (!parse_double(v, &prm.epsilon_total) || !(prm.epsilon_total > 0)) {
                fprintf(stderr, "ward: error: --epsilon must be a number above 0\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--trials") == 0) {
            uint64_t t;
            if (!parse_u64(v, &t) || t < 1 || t > 100000) {
                fprintf(stderr, "ward: error: --trials must be an integer in [1, 100000]\n");
                return 2;
            }
            prm.trials = (unsigned)t;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &prm.seed)) {
                fprintf(stderr, "ward: error: --seed must be a 64-bit unsigned integer\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--split") == 0) {
            if (strcmp(v, "allocator") == 0) prm.split = WARD_EVAL_ALLOCATOR;
            else if (strcmp(v, "even") == 0) prm.split = WARD_EVAL_EVEN;
            else {
                fprintf(stderr, "ward: error: --split must be allocator or even\n");
                return 2;
            }
            i++;
        } else if (strcmp(a, "--queries") == 0) {
            only = v;
            i++;
        } else if (strcmp(a, "--data") == 0) {
            data = v;
            i++;
        } else {
            fprintf(stderr, "ward: error: unknown option '%s'\n", a);
            usage();
            return 2;
        }
    }
    if (curve && ncurve == 0) {
        memcpy(curve_eps, default_curve, sizeof default_curve);
        ncurve = sizeof default_curve / sizeof default_curve[0];
    }
    /* The queries: the documented set, or the named subset in set order. */
    ward_eval_query qs[WARD_EVAL_MAX_QUERIES];
    size_t nq = 0;
    for (size_t i = 0; i < ward_eval_nqueries && nq < WARD_EVAL_MAX_QUERIES; i++) {
        if (only) {
            size_t n = strlen(ward_eval_queries[i].name);
            const char *p = only;
            int hit = 0;
            while (*p && !hit) {
                const char *e = strchr(p, ',');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                hit = len == n && strncmp(p, ward_eval_queries[i].name, n) == 0;
                p = e ? e + 1 : p + len;
            }
            if (!hit) continue;
        }
        qs[nq++] = ward_eval_queries[i];
    }
    if (only) {
        /* Every name given must be a query of the set. */
        char buf[512];
        snprintf(buf, sizeof buf, "%s", only);
        for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
            int found = 0;
            for (size_t i = 0; i < nq; i++) found |= strcmp(qs[i].name, t) == 0;
            if (!found) {
                fprintf(stderr, "ward: error: --queries: no query '%s' (the set:", t);
                for (size_t i = 0; i < ward_eval_nqueries; i++)
                    fprintf(stderr, " %s", ward_eval_queries[i].name);
                fprintf(stderr, ")\n");
                return 2;
            }
        }
    }
    if (nq == 0) {
        fprintf(stderr, "ward: error: --queries names no query\n");
        return 2;
    }
    char data_dir[1024];
    snprintf(data_dir, sizeof data_dir, "%s", data ? data : WARD_CITY_DIR);
    const char *tmpbase = getenv("TMPDIR");
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/ward-eval-XXXXXX", tmpbase && *tmpbase ? tmpbase : "/tmp");
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "ward: error: cannot make a temporary directory %s: %s\n", tmp,
                strerror(errno));
        return 1;
    }
    char msg[512];
    ward_eval *ev = NULL;
    int rc = ward_eval_open(&ev, msg, sizeof msg, data_dir, tmp, qs, nq);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg);
        remove_tree(tmp);
        return 1;
    }
    ward_eval_result res[WARD_EVAL_MAX_QUERIES], cres[WARD_EVAL_MAX_QUERIES];
    double util = 0, top = 0, ceil = 0, cu[MAX_CURVE], ct[MAX_CURVE], cc[MAX_CURVE];
    double cq[MAX_CURVE][WARD_EVAL_MAX_QUERIES];
    rc = ward_eval_run(ev, res, &util, &top, msg, sizeof msg, &prm);
    if (rc == WARD_OK) ceil = mean_ceiling(res, nq);
    for (size_t k = 0; rc == WARD_OK && k < ncurve; k++) {
        ward_eval_params cp = prm;
        cp.epsilon_total = curve_eps[k];
        rc = ward_eval_run(ev, cres, &cu[k], &ct[k], msg, sizeof msg, &cp);
        for (size_t i = 0; rc == WARD_OK && i < nq; i++) cq[k][i] = cres[i].utility;
        if (rc == WARD_OK) cc[k] = mean_ceiling(cres, nq);
    }
    ward_eval_close(ev);
    remove_tree(tmp);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg[0] ? msg : ward_strerror(rc));
        return 1;
    }
    const char *split = prm.split == WARD_EVAL_EVEN ? "even" : "allocator";
    if (json) {
        printf("{\"epsilon_total\": ");
        print_eps(prm.epsilon_total);
        printf(", \"delta_total\": %.6g, \"exact\": %s, \"split\": \"%s\", \"trials\": %u, "
               "\"seed\": %" PRIu64 ", \"queries\": [",
               prm.delta_total, isinf(prm.epsilon_total) ? "true" : "false", split,
               isinf(prm.epsilon_total) ? 1u : prm.trials, prm.seed);
        for (size_t i = 0; i < nq; i++) {
            const ward_eval_result *r = &res[i];
            printf("%s{\"name\": \"%s\", \"table\": \"%s\", \"op\": \"%s\", \"column\": \"%s\", "
                   "\"group_by\": \"%s\", \"parties\": \"%s\", \"groups\": %zu, "
                   "\"groups_with_rows\": %zu, \"refused\": %s, \"epsilon\": %.6g, "
                   "\"delta\": %.6g, \"noise_sd\": %.6g, \"utility\": %.6f, \"utility_sd\": %.6f, "
                   "\"top5\": %.6f, \"ceiling_epsilon\": ",
                   i ? ", " : "", r->q->name, r->q->table, op_name(r->q->op), r->q->column,
                   r->q->group_by, r->parties, r->groups, r->groups_with_rows,
                   r->refused ? "true" : "false", r->epsilon, r->delta, r->noise_sd, r->utility,
                   r->utility_sd, r->top5);
            print_eps(r->ceiling_epsilon);
            printf(", \"ceiling\": %.6f}", r->ceiling);
        }
        printf("], \"utility\": %.6f, \"top5\": %.6f, \"ceiling\": %.6f, \"anchor\": "
               "{\"paper\": %.3f, \"goal\": %.2f}", util, top, ceil, PAPER_UTILITY, GOAL_UTILITY);
        if (ncurve) {
            printf(", \"curve\": [");
            for (size_t k = 0; k < ncurve; k++) {
                printf("%s{\"epsilon_total\": %.6g, \"utility\": %.6f, \"top5\": %.6f, "
                       "\"ceiling\": %.6f, \"queries\": {", k ? ", " : "", curve_eps[k], cu[k],
                       ct[k], cc[k]);
                for (size_t i = 0; i < nq; i++)
                    printf("%s\"%s\": %.6f", i ? ", " : "", qs[i].name, cq[k][i]);
                printf("}}");
            }
            printf("]");
        }
        printf("}\n");
        return 0;
    }
    if (isinf(prm.epsilon_total))
        printf("demo city (%s), exact: no noise, nothing clamped beyond the declared bounds\n",
               data_dir);
    else
        printf("demo city (%s), department budget epsilon %g (delta %g) split by class, "
               "%s, %u trials, seed %" PRIu64 "\n",
               data_dir, prm.epsilon_total, prm.delta_total, split, prm.trials, prm.seed);
    printf("%-18s %-6s %-40s %6s %8s %9s %8s %6s %8s\n", "QUERY", "OP", "PARTIES", "GROUPS",
           "EPSILON", "NOISE SD", "UTILITY", "TOP-5", "CEILING");
    for (size_t i = 0; i < nq; i++) {
        const ward_eval_result *r = &res[i];
        if (r->refused) {
            printf("%-18s %-6s %-40s %6zu  refused: the budget cannot pay (utility 0) %7.2f%%\n",
                   r->q->name, op_name(r->q->op), r->parties, r->groups, 100 * r->ceiling);
            continue;
        }
        printf("%-18s %-6s %-40s %6zu %8.3f %9.3g %7.2f%% %5.0f%% %7.2f%%\n", r->q->name,
               op_name(r->q->op), r->parties, r->groups, r->epsilon, r->noise_sd,
               100 * r->utility, 100 * r->top5, 100 * r->ceiling);
    }
    printf("%-18s %-6s %-40s %6s %8s %9s %7.2f%% %5.0f%% %7.2f%%\n", "overall", "", "", "", "", "",
           100 * util, 100 * top, 100 * ceil);
    printf("anchors: the paper's system kept 94.7%% of non-private accuracy at epsilon 2.1; "
           "goal 97%%\n");
    if (!isinf(prm.epsilon_total))
        printf("ceiling: the best utility of each query if it alone spent its class's whole "
               "epsilon (docs/privacy.md)\n");
    if (ncurve) {
        printf("\n%-14s %8s %6s %8s\n", "EPSILON TOTAL", "UTILITY", "TOP-5", "CEILING");
        for (size_t k = 0; k < ncurve; k++)
            printf("%-14g %7.2f%% %5.0f%% %7.2f%%\n", curve_eps[k], 100 * cu[k], 100 * ct[k],
                   100 * cc[k]);
    }
    return 0;
}
