/* `ward ldp encode|estimate` (cmd_ldp.h).
 *
 * Report formats, one report per line:
 *   rr              the reported value, a decimal integer in [0, d)
 *   oue             d characters '0' or '1', bit v first-to-last
 *   olh             "SEED,VALUE": the 64-bit hash seed and the perturbed
 *                   hashed value in [0, g), both decimal
 *   planar-laplace  "LAT,LON" in degrees (%.9g), on the declared grid
 * Raw input to `encode`: an integer in [0, d) per line, or "LAT,LON" for
 * planar-laplace. Empty lines are errors like any other malformed line;
 * the first bad line stops the run (exit 1), after the reports of the
 * lines before it were written. */
#include "cmd_ldp.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"
#include "ldp.h"
#include "ldp_report.h"
#include "audit.h"
#include "conf.h"
#include "store.h"
#include "store_ldp.h"
#include "rng.h"

enum { M_NONE, M_RR, M_OUE, M_OLH, M_PLANAR };

typedef struct {
    int mech;
    double eps;
    uint64_t d;
    int have_d, have_seed, have_bbox, have_cell, json;
    uint64_t seed;
    ward_ldp_geo_box box;
} ldp_opts;

static void ldp_usage(void) {
    fputs("ward: error: usage: ward ldp encode --mech rr|oue|olh|planar-laplace --epsilon E\n"
          "                 [--domain D | --bbox MINLAT,MINLON,MAXLAT,MAXLON --cell DEG]\n"
          "                 [--seed S]   (stdin: raw values, stdout: reports)\n"
          "       ward ldp estimate --mech rr|oue|olh --epsilon E --domain D [--json]\n"
          "                 (stdin: reports, stdout: per value 'V ESTIMATE STDDEV')\n",
          stderr);
}

static int parse_u64(const char *s, uint64_t *out) {
    if (s == NULL || *s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_double(const char *s, double *out) {
    if (s == NULL || *s == '\0') return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* "A,B" (or more, n values) of finite doubles, nothing else. */
static int parse_doubles(const char *s, double *out, int n) {
    for (int i = 0; i < n; i++) {
        char *end;
        errno = 0;
        if (*s == '\0' || *s == ' ') return 0;
        out[i] = strtod(s, &end);
        if (errno != 0 || end == s || !isfinite(out[i])) return 0;
        if (i + 1 < n) {
            if (*end != ',') return 0;
            s = end + 1;
        } else if (*end != '\0') {
            return 0;
        }
    }
    return 1;
}

static int parse_opts(ldp_opts *o, int argc, char **argv) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "ward: error: %s needs a value\n", a);
            return 0;
        }
        i++;
        if (strcmp(a, "--mech") == 0) {
            if (strcmp(v, "rr") == 0) o->mech = M_RR;
            else if (strcmp(v, "oue") == 0) o->mech = M_OUE;
            else if (strcmp(v, "olh") == 0) o->mech = M_OLH;
            else if (strcmp(v, "planar-laplace") == 0) o->mech = M_PLANAR;
            else {
                fprintf(stderr, "ward: error: unknown --mech '%s'\n", v);
                return 0;
            }
        } else if (strcmp(a, "--epsilon") == 0) {
            if (!parse_double(v, &o->eps) || !(o->eps > 0.0) ||
                o->eps > WARD_LDP_MAX_EPSILON) {
                fprintf(stderr, "ward: error: --epsilon must be in (0, %g]\n",
                        WARD_LDP_MAX_EPSILON);
                return 0;
            }
        } else if (strcmp(a, "--domain") == 0) {
            if (!parse_u64(v, &o->d) || o->d < 2 || o->d > WARD_LDP_MAX_DOMAIN) {
                fprintf(stderr, "ward: error: --domain must be an integer in [2, %" PRIu32 "]\n",
                        WARD_LDP_MAX_DOMAIN);
                return 0;
            }
            o->have_d = 1;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &o->seed)) {
                fprintf(stderr, "ward: error: --seed must be a 64-bit unsigned integer\n");
                return 0;
            }
            o->have_seed = 1;
        } else if (strcmp(a, "--bbox") == 0) {
            double b[4];
            if (!parse_doubles(v, b, 4)) {
                fprintf(stderr, "ward: error: --bbox must be MINLAT,MINLON,MAXLAT,MAXLON\n");
                return 0;
            }
            o->box.min_lat = b[0];
            o->box.min_lon = b[1];
            o->box.max_lat = b[2];
            o->box.max_lon = b[3];
            o->have_bbox = 1;
        } else if (strcmp(a, "--cell") == 0) {
            if (!parse_double(v, &o->box.cell) || !(o->box.cell > 0.0)) {
                fprintf(stderr, "ward: error: --cell must be a positive number of degrees\n");
                return 0;
            }
            o->have_cell = 1;
        } else {
            fprintf(stderr, "ward: error: unknown option '%s'\n", a);
            return 0;
        }
    }
    if (o->mech == M_NONE || o->eps == 0.0) {
        fprintf(stderr, "ward: error: --mech and --epsilon are required\n");
        return 0;
    }
    if (o->mech == M_PLANAR) {
        if (!o->have_bbox || !o->have_cell || o->have_d) {
            fprintf(stderr, "ward: error: planar-laplace needs --bbox and --cell (no --domain)\n");
            return 0;
        }
        if (ward_ldp_geo_box_check(&o->box) != WARD_OK) {
            fprintf(stderr, "ward: error: --bbox/--cell: need min < max, |lat| < 90, "
                            "|lon| <= 180, cell > 0\n");
            return 0;
        }
    } else if (!o->have_d || o->have_bbox || o->have_cell) {
        fprintf(stderr, "ward: error: --mech rr|oue|olh needs --domain (no --bbox/--cell)\n");
        return 0;
    }
    return 1;
}

static ward_ldp_mech to_mech(int m) {
    return m == M_RR ? WARD_LDP_GRR : m == M_OUE ? WARD_LDP_OUE : WARD_LDP_OLH;
}

/* Strips a trailing "\n" or "\r\n". */
static void chomp(char *s, ssize_t *len) {
    while (*len > 0 && (s[*len - 1] == '\n' || s[*len - 1] == '\r')) s[--*len] = '\0';
}

static int bad_line(unsigned long lineno, const char *what) {
    fprintf(stderr, "ward: error: line %lu: %s\n", lineno, what);
    return 1;
}

static int cmd_encode(const ldp_opts *o) {
    ward_rng rng;
    int rc = o->have_seed ? ward_rng_init_u64(&rng, o->seed) : ward_rng_init_system(&rng);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: rng: %s\n", ward_strerror(rc));
        return 1;
    }
    uint32_t d = (uint32_t)o->d;
    char *bits = NULL;
    uint8_t *raw = NULL;
    if (o->mech == M_OUE) {
        bits = malloc((size_t)d + 1);
        raw = malloc(d);
        if (bits == NULL || raw == NULL) {
            free(bits);
            free(raw);
            ward_rng_clear(&rng);
            fprintf(stderr, "ward: error: out of memory\n");
            return 1;
        }
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int status = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        chomp(line, &len);
        if (o->mech == M_PLANAR) {
            double ll[2], olat, olon;
            if (!parse_doubles(line, ll, 2)) {
                status = bad_line(lineno, "expected LAT,LON");
                break;
            }
            if (ll[0] < o->box.min_lat || ll[0] > o->box.max_lat || ll[1] < o->box.min_lon ||
                ll[1] > o->box.max_lon) {
                status = bad_line(lineno, "location outside --bbox");
                break;
            }
            rc = ward_ldp_planar_encode_var(&rng, &olat, &olon, o->eps, &o->box, ll[0], ll[1]);
            sodium_memzero(ll, sizeof ll);
            if (rc != WARD_OK) {
                status = bad_line(lineno, ward_strerror(rc));
                break;
            }
            printf("%.9g,%.9g\n", olat, olon);
            continue;
        }
        uint64_t v;
        if (!parse_u64(line, &v) || v >= d) {
            fprintf(stderr, "ward: error: line %lu: expected an integer in [0, %" PRIu32 ")\n",
                    lineno, d);
            status = 1;
            break;
        }
        if (o->mech == M_RR) {
            uint32_t y;
            rc = ward_ldp_grr_encode(&rng, &y, o->eps, d, (uint32_t)v);
            if (rc == WARD_OK) printf("%" PRIu32 "\n", y);
        } else if (o->mech == M_OUE) {
            rc = ward_ldp_oue_encode(&rng, raw, d, o->eps, (uint32_t)v);
            if (rc == WARD_OK) {
                for (uint32_t i = 0; i < d; i++) bits[i] = (char)('0' + raw[i]);
                bits[d] = '\0';
                puts(bits);
            }
        } else {
            uint64_t s;
            uint32_t y;
            rc = ward_ldp_olh_encode(&rng, &s, &y, o->eps, d, (uint32_t)v);
            if (rc == WARD_OK) printf("%" PRIu64 ",%" PRIu32 "\n", s, y);
        }
        v = 0;
        if (rc != WARD_OK) {
            status = bad_line(lineno, ward_strerror(rc));
            break;
        }
    }
    if (line != NULL) sodium_memzero(line, cap);
    free(line);
    if (raw != NULL) sodium_memzero(raw, d);
    free(raw);
    free(bits);
    ward_rng_clear(&rng);
    if (status == 0 && (ferror(stdin) || fflush(stdout) != 0)) {
        fprintf(stderr, "ward: error: I/O error\n");
        return 1;
    }
    return status;
}

static int cmd_estimate(const ldp_opts *o) {
    if (o->mech == M_PLANAR) {
        fprintf(stderr, "ward: error: estimate supports --mech rr|oue|olh\n");
        return 2;
    }
    uint32_t d = (uint32_t)o->d;
    uint64_t *counts = calloc(d, sizeof *counts);
    double *est = calloc(d, sizeof *est);
    uint8_t *raw = malloc(d);
    if (counts == NULL || est == NULL || raw == NULL) {
        free(counts);
        free(est);
        free(raw);
        fprintf(stderr, "ward: error: out of memory\n");
        return 1;
    }
    ward_ldp_est e;
    int rc = ward_ldp_est_init(&e, counts, d, to_mech(o->mech), o->eps);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int status = rc == WARD_OK ? 0 : 1;
    ward_ldp_format fmt;
    if (status == 0 && ward_ldp_format_init(&fmt, to_mech(o->mech), o->eps, d) != WARD_OK)
        status = 1;
    ward_ldp_report rep;
    memset(&rep, 0, sizeof rep);
    rep.bits = raw;
    while (status == 0 && (len = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        chomp(line, &len);
        const char *why = NULL;
        rc = ward_ldp_report_parse(&rep, &why, &fmt, line, (size_t)len);
        if (rc != WARD_OK) {
            status = bad_line(lineno, why && why[0] ? why : ward_strerror(rc));
            break;
        }
        rc = ward_ldp_report_add(&e, &fmt, &rep);
        if (rc != WARD_OK) status = bad_line(lineno, ward_strerror(rc));
    }
    free(line);
    free(raw);
    double var = 0.0;
    if (status == 0 && ferror(stdin)) {
        fprintf(stderr, "ward: error: I/O error reading stdin\n");
        status = 1;
    }
    if (status == 0) rc = ward_ldp_est_finish(&e, est, d);
    if (status == 0 && rc == WARD_OK) rc = ward_ldp_variance(&var, e.mech, o->eps, d, e.n);
    if (status == 0 && rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", ward_strerror(rc));
        status = 1;
    }
    if (status == 0) {
        if (o->json) {
            printf("{\"estimates\": [");
            for (uint32_t v = 0; v < d; v++) printf("%s%.6f", v ? ", " : "", est[v]);
            printf("], \"variance\": %.6f, \"n\": %" PRIu64 "}\n", var, e.n);
        } else {
            double sd = sqrt(var);
            for (uint32_t v = 0; v < d; v++) printf("%" PRIu32 " %.3f %.3f\n", v, est[v], sd);
        }
    }
    free(counts);
    free(est);
    return status;
}

int ward_cmd_ldp(int argc, char **argv) {
    if (argc < 1 || (strcmp(argv[0], "encode") != 0 && strcmp(argv[0], "estimate") != 0)) {
        ldp_usage();
        return 2;
    }
    ldp_opts o;
    if (!parse_opts(&o, argc - 1, argv + 1)) return 2;
    if (strcmp(argv[0], "encode") == 0) {
        if (o.json) {
            fprintf(stderr, "ward: error: --json applies to estimate only\n");
            return 2;
        }
        return cmd_encode(&o);
    }
    if (o.have_seed) {
        fprintf(stderr, "ward: error: --seed applies to encode only\n");
        return 2;
    }
    return cmd_estimate(&o);
}

/* ---- the node side: report tables in the node's store ---------------------------- */

int ward_ldp_is_node_command(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[0], "--node") != 0) return 0;
    if (strcmp(argv[2], "ldp-estimate") == 0) return 1;
    if (strcmp(argv[2], "import") != 0) return 0;
    for (int i = 3; i < argc; i++)
        if (strcmp(argv[i], "--ldp-reports") == 0) return 1;
    return 0;
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* Sends one request to the node X (a node directory or its control
 * socket) and checks its answer; prints the error line on failure. */
static int call_node(Ward__Control__Response **out, const char *node, Ward__Control__Request *req,
                     Ward__Control__Response__ResultCase want) {
    char sock[4200], msg[1024];
    *out = NULL;
    if (ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, node) != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg);
        return 1;
    }
    Ward__Control__Response *r = NULL;
    if (ward_ctl_call(&r, msg, sizeof msg, sock, req, ward_ctl_timeout_ms()) != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg);
        return 1;
    }
    if (r->error != 0) {
        fprintf(stderr, "ward: error: %s\n",
                r->message && r->message[0] ? r->message : ward_strerror(r->error));
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    if (r->result_case != want) {
        fprintf(stderr, "ward: error: the node answered with an unexpected result\n");
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    *out = r;
    return 0;
}

static int node_import(const char *node, int json, int argc, char **argv) {
    const char *table = NULL, *file = NULL;
    ward_ldp_mech mech = 0;
    double eps = 0.0;
    uint64_t d = 0;
    int have_mech = 0, have_d = 0;
    ward_sensitivity sens = WARD_SENSITIVITY_DEFAULT;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) == 0 && v == NULL) {
            fprintf(stderr, "ward: error: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--ldp-reports") == 0) {
            if (ward_ldp_mech_parse(&mech, v) != WARD_OK) {
                fprintf(stderr, "ward: error: --ldp-reports must be rr, oue or olh, not '%s'\n", v);
                return 2;
            }
            have_mech = 1;
            i++;
        } else if (strcmp(a, "--epsilon") == 0) {
            if (!parse_double(v, &eps) || !(eps > 0.0) || eps > WARD_LDP_MAX_EPSILON) {
                fprintf(stderr, "ward: error: --epsilon must be in (0, %g]\n", WARD_LDP_MAX_EPSILON);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--domain") == 0) {
            if (!parse_u64(v, &d) || d < 2 || d > WARD_LDP_MAX_DOMAIN) {
                fprintf(stderr, "ward: error: --domain must be an integer in [2, %" PRIu32 "]\n",
                        WARD_LDP_MAX_DOMAIN);
                return 2;
            }
            have_d = 1;
            i++;
        } else if (strcmp(a, "--sensitivity") == 0) {
            if (ward_sensitivity_parse(&sens, v) != WARD_OK) {
                fprintf(stderr, "ward: error: --sensitivity must be high, medium or low, not '%s'\n",
                        v);
                return 2;
            }
            i++;
        } else if (strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "ward: error: unknown option '%s' for an import of local-DP reports\n",
                    a);
            return 2;
        } else if (!table) {
            table = a;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, "ward: error: unexpected argument '%s' for import\n", a);
            return 2;
        }
    }
    if (!table || !file || !have_mech || eps == 0.0 || !have_d) {
        fprintf(stderr, "ward: error: usage: ward --node X import TABLE FILE --ldp-reports "
                        "rr|oue|olh --epsilon E --domain D [--sensitivity high|medium|low]\n");
        return 2;
    }
    /* The node reads the file: its absolute path goes in the request. */
    char abs[4096];
    if (!realpath(file, abs)) {
        fprintf(stderr, "ward: error: %s: %s\n", file, strerror(errno));
        return 1;
    }
    Ward__Control__LdpImportRequest li;
    ward__control__ldp_import_request__init(&li);
    li.table = (char *)table;
    li.path = abs;
    li.mech = (char *)ward_ldp_mech_name(mech);
    li.epsilon = eps;
    li.domain = (uint32_t)d;
    li.sensitivity = (Ward__Control__Sensitivity)sens;
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_LDP_IMPORT;
    req.ldp_import = &li;
    Ward__Control__Response *r;
    if (call_node(&r, node, &req, WARD__CONTROL__RESPONSE__RESULT_LDP_IMPORT)) return 1;
    const Ward__Control__LdpImportResult *x = r->ldp_import;
    if (json) {
        printf("{\"table\": ");
        json_str(table);
        printf(", \"rows\": %" PRIu64 ", \"rows_total\": %" PRIu64 ", \"created\": %s, "
               "\"mech\": \"%s\", \"epsilon\": %.17g, \"domain\": %" PRIu64 "}\n",
               x->rows, x->rows_total, x->created ? "true" : "false", ward_ldp_mech_name(mech),
               eps, d);
    } else {
        printf("imported %" PRIu64 " %s report%s into %s (epsilon %g, domain %" PRIu64
               "; %" PRIu64 " in all)\n",
               x->rows, ward_ldp_mech_name(mech), x->rows == 1 ? "" : "s", table, eps, d,
               x->rows_total);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

/* The joint estimate over several departments' report tables: one
 * secret-shared sum of their support counts (node/session_agg.c,
 * AGG_LDP), printed as the local estimate is. */
static int joint_estimate(const char *node, int json, const char *table, const char *parties) {
    Ward__Control__AggregateRequest ag;
    ward__control__aggregate_request__init(&ag);
    ag.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_LDP;
    ag.table = (char *)table;
    Ward__Control__Parties pl;
    ward__control__parties__init(&pl);
    char *copy = strdup(parties), *names[256];
    size_t n = 0;
    if (!copy) return 1;
    if (strcmp(parties, "all") == 0) {
        pl.all = 1;
    } else {
        n = ward_ctl_split_names(names, 256, copy);
        if (n > 256) n = 256;
        pl.n_names = n;
        pl.names = names;
    }
    ag.parties = &pl;
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req.aggregate = &ag;
    Ward__Control__Response *r;
    int ex = call_node(&r, node, &req, WARD__CONTROL__RESPONSE__RESULT_AGGREGATE);
    free(copy);
    if (ex) return ex;
    const Ward__Control__AggregateResult *x = r->aggregate;
    if (json) {
        printf("{\"table\": ");
        json_str(table);
        printf(", \"mech\": \"%s\", \"epsilon\": %.17g, \"domain\": %zu, \"n\": %" PRIu64
               ", \"estimates\": [",
               x->ldp_mech, x->ldp_epsilon, x->n_groups, x->reports);
        for (size_t v = 0; v < x->n_groups; v++) printf("%s%.6f", v ? ", " : "", x->groups[v]->value);
        printf("], \"stddev\": [");
        for (size_t v = 0; v < x->n_group_sd; v++) printf("%s%.6f", v ? ", " : "", x->group_sd[v]);
        printf("], \"variance\": %.6f, \"parties\": [", x->ldp_variance);
        for (size_t i = 0; i < x->n_parties; i++) {
            if (i) printf(", ");
            json_str(x->parties[i]);
        }
        printf("], \"latency_ms\": %.17g, \"session\": \"%s\"}\n", x->latency_ms, x->session);
    } else {
        printf("# %s at %zu departments: %" PRIu64 " %s reports, epsilon %g, domain %zu; VALUE "
               "ESTIMATE STDDEV (sd at zero count %.3f)\n",
               table, x->n_parties, x->reports, x->ldp_mech, x->ldp_epsilon, x->n_groups,
               sqrt(x->ldp_variance));
        for (size_t v = 0; v < x->n_groups && v < x->n_group_sd; v++)
            printf("%s %.3f %.3f\n", x->groups[v]->key, x->groups[v]->value, x->group_sd[v]);
        printf("parties: ");
        for (size_t i = 0; i < x->n_parties; i++) printf("%s%s", i ? ", " : "", x->parties[i]);
        printf("\nlatency: %.1f ms, session %s\n", x->latency_ms, x->session);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int node_estimate(const char *node, int json, int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--parties") == 0 && argv[0][0] != '-')
        return joint_estimate(node, json, argv[0], argv[2]);
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "ward: error: usage: ward --node X ldp-estimate TABLE [--parties LIST|all] "
                        "[--json]\n");
        return 2;
    }
    Ward__Control__LdpEstimateRequest le;
    ward__control__ldp_estimate_request__init(&le);
    le.table = argv[0];
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_LDP_ESTIMATE;
    req.ldp_estimate = &le;
    Ward__Control__Response *r;
    if (call_node(&r, node, &req, WARD__CONTROL__RESPONSE__RESULT_LDP_ESTIMATE)) return 1;
    const Ward__Control__LdpEstimateResult *x = r->ldp_estimate;
    if (json) {
        printf("{\"table\": ");
        json_str(x->table);
        printf(", \"mech\": \"%s\", \"epsilon\": %.17g, \"domain\": %" PRIu32 ", \"n\": %" PRIu64
               ", \"estimates\": [",
               x->mech, x->epsilon, x->domain, x->n);
        for (size_t v = 0; v < x->n_estimates; v++) printf("%s%.6f", v ? ", " : "", x->estimates[v]);
        printf("], \"stddev\": [");
        for (size_t v = 0; v < x->n_stddev; v++) printf("%s%.6f", v ? ", " : "", x->stddev[v]);
        printf("], \"variance\": %.6f}\n", x->variance);
    } else {
        printf("# %s: %" PRIu64 " %s reports, epsilon %g, domain %" PRIu32
               "; VALUE ESTIMATE STDDEV (sd at zero count %.3f)\n",
               x->table, x->n, x->mech, x->epsilon, x->domain, sqrt(x->variance));
        for (size_t v = 0; v < x->n_estimates && v < x->n_stddev; v++)
            printf("%zu %.3f %.3f\n", v, x->estimates[v], x->stddev[v]);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

int ward_cmd_ldp_node(int argc, char **argv) {
    if (!ward_ldp_is_node_command(argc, argv)) return 2;
    const char *node = argv[1];
    int json = 0, n = 0;
    char **rest = calloc((size_t)argc, sizeof *rest);
    if (!rest) {
        fputs("ward: error: out of memory\n", stderr);
        return 1;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) json = 1;
        else rest[n++] = argv[i];
    }
    int ex = strcmp(argv[2], "import") == 0 ? node_import(node, json, n, rest)
                                            : node_estimate(node, json, n, rest);
    free(rest);
    return ex;
}
