/* ward --node X status | peers | tables | budget | audit | import | sum |
 * count | mean | histogram: one control request, then its result printed
 * for people or, with --json, as exactly one JSON object (INTERFACE.md). */
#include "cmd_node.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.pb-c.h"
#include "ctl_client.h"
#include "error.h"

/* ---- JSON output ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_len(const unsigned char *s) {
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
        if (s[0] == 0xe0 && s[1] < 0xa0) return 0;
        if (s[0] == 0xed && s[1] >= 0xa0) return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) return 0;
        if (s[0] == 0xf0 && s[1] < 0x90) return 0;
        if (s[0] == 0xf4 && s[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static void j_str(FILE *f, const char *str) {
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', f);
            fputc(*s++, f);
        } else if (*s == '\n') {
            fputs("\\n", f);
            s++;
        } else if (*s == '\t') {
            fputs("\\t", f);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(f, "\\u%04x", *s++);
        } else {
            size_t n = utf8_len(s);
            if (n == 0) {
                fputs("\\ufffd", f); /* not UTF-8: replaced, never passed through */
                s++;
            } else {
                fwrite(s, 1, n, f);
                s += n;
            }
        }
    }
    fputc('"', f);
}

/* The shortest decimal that reads back as the same double; null for
 * NaN and infinities, which JSON cannot hold. */
static void j_num(FILE *f, double v) {
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    char buf[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    fputs(buf, f);
}

static void j_opt_num(FILE *f, const Ward__Control__Number *n) {
    if (n) j_num(f, n->value);
    else fputs("null", f);
}

static void j_hex(FILE *f, const uint8_t *b, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", b[i]);
    fputc('"', f);
}

static void j_key(FILE *f, int *first, const char *k) {
    if (!*first) fputs(", ", f);
    *first = 0;
    j_str(f, k);
    fputs(": ", f);
}

/* ---- helpers ------------------------------------------------------------------ */

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

static const char *class_name(Ward__Control__Sensitivity s) {
    switch (s) {
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_HIGH: return "high";
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_MEDIUM: return "medium";
    case WARD__CONTROL__SENSITIVITY__SENSITIVITY_LOW: return "low";
    default: return "unspecified";
    }
}

static void column_type(char *out, size_t cap, const Ward__Control__Column *c) {
    if (strcmp(c->type, "decimal") == 0) snprintf(out, cap, "decimal(%u)", (unsigned)c->scale);
    else snprintf(out, cap, "%s", c->type);
}

static void j_columns(FILE *f, Ward__Control__Column **cols, size_t n) {
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        int first = 1;
        fputs(i ? ", {" : "{", f);
        j_key(f, &first, "name");
        j_str(f, cols[i]->name);
        j_key(f, &first, "type");
        j_str(f, cols[i]->type);
        j_key(f, &first, "scale");
        fprintf(f, "%u", (unsigned)cols[i]->scale);
        fputc('}', f);
    }
    fputc(']', f);
}

static void print_columns(FILE *f, Ward__Control__Column **cols, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char ty[32];
        column_type(ty, sizeof ty, cols[i]);
        fprintf(f, "%s%s %s", i ? ", " : "", cols[i]->name, ty);
    }
}

static void fmt_utc(char *out, size_t cap, uint64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0 || !gmtime_r(&t, &tm)) {
        snprintf(out, cap, "-");
        return;
    }
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int parse_double(double *out, const char *s) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v)) return WARD_EPARSE;
    *out = v;
    return WARD_OK;
}

static int parse_u64(uint64_t *out, const char *s) {
    if (*s < '0' || *s > '9') return WARD_EPARSE;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0) return WARD_EPARSE;
    *out = v;
    return WARD_OK;
}

/* Splits a comma-separated list into a NULL-free array of strdup'ed
 * names (empty items are skipped). */
static char **split_list(size_t *n, const char *s) {
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        if (*p == ',') cap++;
    char **v = calloc(cap, sizeof *v);
    char *copy = strdup(s);
    if (!v || !copy) {
        free(v);
        free(copy);
        return NULL;
    }
    char *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        size_t l = strlen(t);
        while (l > 0 && t[l - 1] == ' ') t[--l] = '\0';
        if (l == 0) continue;
        v[(*n)++] = strdup(t);
    }
    free(copy);
    return v;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Sends req to the node and checks the response; on failure prints the
 * error line and returns the exit status (1), else 0 with *out set. */
static int call(Ward__Control__Response **out, const char *sock, Ward__Control__Request *req) {
    char msg[512];
    int rc = ward_ctl_call(out, msg, sizeof msg, sock, req, ward_ctl_timeout_ms());
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg);
        return 1;
    }
    Ward__Control__Response *r = *out;
    if (r->error != 0) {
        const char *m = r->message && r->message[0] ? r->message : ward_strerror(r->error);
        if (r->error == WARD_EUNSUPPORTED && !(r->message && r->message[0]))
            fprintf(stderr, "ward: error: the node does not support this command yet\n");
        else
            fprintf(stderr, "ward: error: %s\n", m);
        ward__control__response__free_unpacked(r, NULL);
        *out = NULL;
        return 1;
    }
    return 0;
}

static int wrong_result(Ward__Control__Response *r) {
    fprintf(stderr, "ward: error: the node answered with an unexpected result\n");
    ward__control__response__free_unpacked(r, NULL);
    return 1;
}

/* ---- commands ------------------------------------------------------------------- */

static int do_status(const char *sock, int json) {
    Ward__Control__Request req;
    Ward__Control__StatusRequest sr;
    ward__control__request__init(&req);
    ward__control__status_request__init(&sr);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_STATUS;
    req.status = &sr;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_STATUS) return wrong_result(r);
    const Ward__Control__StatusResult *s = r->status;
    if (json) {
        printf("{\"name\": ");
        j_str(stdout, s->name);
        printf(", \"peers_connected\": %u, \"peers_total\": %u, \"sessions_active\": %u, "
               "\"federation\": ",
               (unsigned)s->peers_connected, (unsigned)s->peers_total,
               (unsigned)s->sessions_active);
        j_str(stdout, s->federation_id);
        printf(", \"roster_epoch\": %" PRIu64 ", \"version\": ", s->roster_epoch);
        j_str(stdout, s->version);
        printf(", \"uptime_ms\": %" PRIu64 "}\n", s->uptime_ms);
    } else {
        printf("%s: %u of %u peers connected, %u session%s active\n", s->name,
               (unsigned)s->peers_connected, (unsigned)s->peers_total,
               (unsigned)s->sessions_active, s->sessions_active == 1 ? "" : "s");
        printf("federation %s, roster epoch %" PRIu64 ", ward %s, up %.1f s\n",
               s->federation_id, s->roster_epoch, s->version, (double)s->uptime_ms / 1000.0);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_peers(const char *sock, int json) {
    Ward__Control__Request req;
    Ward__Control__PeersRequest pr;
    ward__control__request__init(&req);
    ward__control__peers_request__init(&pr);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_PEERS;
    req.peers = &pr;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_PEERS) return wrong_result(r);
    const Ward__Control__PeersResult *p = r->peers;
    size_t connected = 0;
    for (size_t i = 0; i < p->n_peers; i++) connected += p->peers[i]->connected ? 1 : 0;
    if (json) {
        printf("{\"peers\": [");
        for (size_t i = 0; i < p->n_peers; i++) {
            const Ward__Control__Peer *x = p->peers[i];
            int first = 1;
            fputs(i ? ", {" : "{", stdout);
            j_key(stdout, &first, "name");
            j_str(stdout, x->name);
            j_key(stdout, &first, "address");
            j_str(stdout, x->address);
            j_key(stdout, &first, "connected");
            fputs(x->connected ? "true" : "false", stdout);
            j_key(stdout, &first, "public_key");
            j_hex(stdout, x->public_key.data, x->public_key.len);
            j_key(stdout, &first, "wire_version");
            j_str(stdout, x->wire_version);
            j_key(stdout, &first, "last_seen_ms");
            printf("%" PRIu64, x->last_seen_ms);
            fputc('}', stdout);
        }
        printf("], \"peers_connected\": %zu, \"peers_total\": %zu}\n", connected, p->n_peers);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        printf("%-32s %-24s %-13s %s\n", "PEER", "ADDRESS", "STATE", "LAST SEEN");
        for (size_t i = 0; i < p->n_peers; i++) {
            const Ward__Control__Peer *x = p->peers[i];
            char seen[48];
            if (x->last_seen_ms == 0) snprintf(seen, sizeof seen, "never");
            else if (x->last_seen_ms <= now)
                snprintf(seen, sizeof seen, "%.1f s ago", (double)(now - x->last_seen_ms) / 1000.0);
            else fmt_utc(seen, sizeof seen, x->last_seen_ms);
            printf("%-32s %-24s %-13s %s\n", x->name, x->address,
                   x->connected ? "connected" : "disconnected", seen);
        }
        printf("%zu of %zu peers connected\n", connected, p->n_peers);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_tables(const char *sock, int json) {
    Ward__Control__Request req;
    Ward__Control__TablesRequest tr;
    ward__control__request__init(&req);
    ward__control__tables_request__init(&tr);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_TABLES;
    req.tables = &tr;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_TABLES) return wrong_result(r);
    const Ward__Control__TablesResult *t = r->tables;
    if (json) {
        printf("{\"tables\": [");
        for (size_t i = 0; i < t->n_tables; i++) {
            const Ward__Control__Table *x = t->tables[i];
            int first = 1;
            fputs(i ? ", {" : "{", stdout);
            j_key(stdout, &first, "name");
            j_str(stdout, x->name);
            j_key(stdout, &first, "class");
            j_str(stdout, class_name(x->sensitivity));
            j_key(stdout, &first, "rows");
            printf("%" PRIu64, x->rows);
            j_key(stdout, &first, "columns");
            j_columns(stdout, x->columns, x->n_columns);
            fputc('}', stdout);
        }
        printf("]}\n");
    } else if (t->n_tables == 0) {
        printf("no tables (ward --node X import TABLE FILE.csv adds one)\n");
    } else {
        printf("%-24s %-7s %10s  %s\n", "TABLE", "CLASS", "ROWS", "COLUMNS");
        for (size_t i = 0; i < t->n_tables; i++) {
            const Ward__Control__Table *x = t->tables[i];
            printf("%-24s %-7s %10" PRIu64 "  ", x->name, class_name(x->sensitivity), x->rows);
            print_columns(stdout, x->columns, x->n_columns);
            putchar('\n');
        }
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_budget(const char *sock, int json) {
    Ward__Control__Request req;
    Ward__Control__BudgetRequest br;
    ward__control__request__init(&req);
    ward__control__budget_request__init(&br);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_BUDGET;
    req.budget = &br;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_BUDGET) return wrong_result(r);
    const Ward__Control__BudgetResult *b = r->budget;
    if (json) {
        printf("{\"tables\": [");
        for (size_t i = 0; i < b->n_tables; i++) {
            const Ward__Control__BudgetRow *x = b->tables[i];
            int first = 1;
            fputs(i ? ", {" : "{", stdout);
            j_key(stdout, &first, "table");
            j_str(stdout, x->table);
            j_key(stdout, &first, "class");
            j_str(stdout, class_name(x->sensitivity));
            j_key(stdout, &first, "epsilon_total");
            j_num(stdout, x->epsilon_total);
            j_key(stdout, &first, "epsilon_spent");
            j_num(stdout, x->epsilon_spent);
            j_key(stdout, &first, "delta_total");
            j_num(stdout, x->delta_total);
            j_key(stdout, &first, "delta_spent");
            j_num(stdout, x->delta_spent);
            fputc('}', stdout);
        }
        printf("]}\n");
    } else if (b->n_tables == 0) {
        printf("no tables\n");
    } else {
        printf("%-24s %-7s %22s %22s\n", "TABLE", "CLASS", "EPSILON SPENT/TOTAL",
               "DELTA SPENT/TOTAL");
        for (size_t i = 0; i < b->n_tables; i++) {
            const Ward__Control__BudgetRow *x = b->tables[i];
            char e[48], dl[48];
            snprintf(e, sizeof e, "%.4g / %.4g", x->epsilon_spent, x->epsilon_total);
            snprintf(dl, sizeof dl, "%.3g / %.3g", x->delta_spent, x->delta_total);
            printf("%-24s %-7s %22s %22s\n", x->table, class_name(x->sensitivity), e, dl);
        }
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_audit(const char *sock, int json, int argc, char **argv) {
    Ward__Control__Request req;
    Ward__Control__AuditRequest ar;
    ward__control__request__init(&req);
    ward__control__audit_request__init(&ar);
    for (int i = 0; i < argc; i++) {
        uint64_t v;
        if (strcmp(argv[i], "--verify") == 0) {
            ar.verify = 1;
        } else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
            if (parse_u64(&v, argv[++i]) != WARD_OK) return usage("--since needs an entry number");
            ar.since_seq = v;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (parse_u64(&v, argv[++i]) != WARD_OK || v > UINT32_MAX)
                return usage("--limit needs a number of entries");
            ar.limit = (uint32_t)v;
        } else {
            return usage("unexpected argument '%s' (usage: ward --node X audit [--verify] "
                         "[--since N] [--limit N] [--json])", argv[i]);
        }
    }
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AUDIT;
    req.audit = &ar;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_AUDIT) return wrong_result(r);
    const Ward__Control__AuditResult *a = r->audit;
    if (json) {
        printf("{\"entries\": [");
        for (size_t i = 0; i < a->n_entries; i++) {
            const Ward__Control__AuditEntry *x = a->entries[i];
            int first = 1;
            fputs(i ? ", {" : "{", stdout);
            j_key(stdout, &first, "seq");
            printf("%" PRIu64, x->seq);
            j_key(stdout, &first, "time_ms");
            printf("%" PRIu64, x->time_ms);
            j_key(stdout, &first, "event");
            j_str(stdout, x->event);
            j_key(stdout, &first, "session");
            j_str(stdout, x->session);
            j_key(stdout, &first, "detail");
            j_str(stdout, x->detail);
            j_key(stdout, &first, "hash");
            j_hex(stdout, x->hash.data, x->hash.len);
            fputc('}', stdout);
        }
        printf("], \"verified\": %s, \"chain_ok\": %s, \"first_bad_seq\": ",
               a->verified ? "true" : "false",
               a->verified ? (a->chain_ok ? "true" : "false") : "null");
        if (a->verified && !a->chain_ok) printf("%" PRIu64 "}\n", a->first_bad_seq);
        else printf("null}\n");
    } else {
        if (a->n_entries == 0) printf("no audit entries\n");
        else printf("%6s  %-20s  %-10s  %-16s  %s\n", "SEQ", "TIME (UTC)", "EVENT", "SESSION",
                    "DETAIL");
        for (size_t i = 0; i < a->n_entries; i++) {
            const Ward__Control__AuditEntry *x = a->entries[i];
            char t[32];
            fmt_utc(t, sizeof t, x->time_ms);
            printf("%6" PRIu64 "  %-20s  %-10s  %-16.16s  %s\n", x->seq, t, x->event,
                   x->session[0] ? x->session : "-", x->detail);
        }
        if (a->verified && a->chain_ok)
            printf("audit chain verified: %zu entries intact\n", a->n_entries);
    }
    int broken = a->verified && !a->chain_ok;
    if (broken)
        fprintf(stderr, "ward: error: audit chain broken at entry %" PRIu64 "\n", a->first_bad_seq);
    ward__control__response__free_unpacked(r, NULL);
    return broken ? 1 : 0;
}

static int do_import(const char *sock, int json, int argc, char **argv) {
    const char *table = NULL, *file = NULL;
    Ward__Control__Sensitivity sens = WARD__CONTROL__SENSITIVITY__SENSITIVITY_UNSPECIFIED;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--sensitivity") == 0) {
            if (i + 1 >= argc) return usage("--sensitivity needs high, medium or low");
            const char *v = argv[++i];
            if (strcmp(v, "high") == 0) sens = WARD__CONTROL__SENSITIVITY__SENSITIVITY_HIGH;
            else if (strcmp(v, "medium") == 0) sens = WARD__CONTROL__SENSITIVITY__SENSITIVITY_MEDIUM;
            else if (strcmp(v, "low") == 0) sens = WARD__CONTROL__SENSITIVITY__SENSITIVITY_LOW;
            else return usage("--sensitivity must be high, medium or low, not '%s'", v);
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return usage("unknown option '%s' for import", argv[i]);
        } else if (!table) {
            table = argv[i];
        } else if (!file) {
            file = argv[i];
        } else {
            return usage("unexpected argument '%s' for import", argv[i]);
        }
    }
    if (!table || !file)
        return usage("usage: ward --node X import TABLE FILE.csv [--sensitivity high|medium|low]");
    char abs[PATH_MAX];
    if (!realpath(file, abs)) {
        fprintf(stderr, "ward: error: %s: %s\n", file, strerror(errno));
        return 1;
    }
    Ward__Control__Request req;
    Ward__Control__ImportRequest ir;
    ward__control__request__init(&req);
    ward__control__import_request__init(&ir);
    ir.table = (char *)table;
    ir.path = abs;
    ir.sensitivity = sens;
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_IMPORT_TABLE;
    req.import_table = &ir;
    Ward__Control__Response *r;
    int ex = call(&r, sock, &req);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_IMPORT_TABLE) return wrong_result(r);
    const Ward__Control__ImportResult *x = r->import_table;
    if (json) {
        printf("{\"table\": ");
        j_str(stdout, x->table);
        printf(", \"rows\": %" PRIu64 ", \"columns\": ", x->rows);
        j_columns(stdout, x->columns, x->n_columns);
        printf("}\n");
    } else {
        printf("imported %" PRIu64 " row%s into %s (", x->rows, x->rows == 1 ? "" : "s", x->table);
        print_columns(stdout, x->columns, x->n_columns);
        printf(")\n");
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_aggregate(const char *sock, int json, const char *op_name, int argc, char **argv) {
    Ward__Control__AggregateRequest ag;
    Ward__Control__Parties parties;
    Ward__Control__Number eps, del;
    ward__control__aggregate_request__init(&ag);
    ward__control__parties__init(&parties);
    ward__control__number__init(&eps);
    ward__control__number__init(&del);
    if (strcmp(op_name, "sum") == 0) ag.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM;
    else if (strcmp(op_name, "count") == 0) ag.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT;
    else if (strcmp(op_name, "mean") == 0) ag.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN;
    else ag.op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM;

    const char *target = NULL, *parties_arg = NULL, *output_arg = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--where") == 0 && has) {
            ag.where = argv[++i];
        } else if (strcmp(a, "--group-by") == 0 && has) {
            ag.group_by = argv[++i];
        } else if (strcmp(a, "--parties") == 0 && has) {
            parties_arg = argv[++i];
        } else if (strcmp(a, "--output") == 0 && has) {
            output_arg = argv[++i];
        } else if (strcmp(a, "--epsilon") == 0 && has) {
            if (parse_double(&eps.value, argv[++i]) != WARD_OK || eps.value <= 0)
                return usage("--epsilon must be a positive number, not '%s'", argv[i]);
            ag.epsilon = &eps;
        } else if (strcmp(a, "--delta") == 0 && has) {
            if (parse_double(&del.value, argv[++i]) != WARD_OK || del.value < 0 || del.value >= 1)
                return usage("--delta must be a number in [0, 1), not '%s'", argv[i]);
            ag.delta = &del;
        } else if (strcmp(a, "--exact") == 0) {
            ag.exact = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            return usage(has || strcmp(a, "--where") != 0 ? "unknown option or missing value: '%s'"
                                                          : "missing value for '%s'", a);
        } else if (!target) {
            target = a;
        } else {
            return usage("unexpected argument '%s'", a);
        }
    }
    if (!target) {
        fprintf(stderr, "ward: error: usage: ward --node X %s TABLE.COLUMN [--where EXPR] "
                        "[--group-by KEY] --parties LIST|all [--output LIST] [--epsilon E] "
                        "[--delta D] [--exact] [--json]\n", op_name);
        return 2;
    }
    if (!parties_arg) return usage("--parties LIST|all is required");
    if (ag.exact && (ag.epsilon || ag.delta))
        return usage("--exact cannot be combined with --epsilon or --delta");

    char table[256], column[256];
    const char *dot = strchr(target, '.');
    size_t tl = dot ? (size_t)(dot - target) : strlen(target);
    if (tl == 0 || tl >= sizeof table || (dot && (dot[1] == '\0' || strlen(dot + 1) >= sizeof column)))
        return usage("expected TABLE.COLUMN, not '%s'", target);
    if (!dot && ag.op != WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT)
        return usage("%s needs TABLE.COLUMN", op_name);
    memcpy(table, target, tl);
    table[tl] = '\0';
    snprintf(column, sizeof column, "%s", dot ? dot + 1 : "");
    ag.table = table;
    ag.column = column;

    char **names = NULL, **outs = NULL;
    size_t n_names = 0, n_outs = 0;
    int ex = 1;
    if (strcmp(parties_arg, "all") == 0) {
        parties.all = 1;
    } else {
        names = split_list(&n_names, parties_arg);
        if (!names || n_names == 0) {
            free_list(names, n_names);
            return usage("--parties needs 'all' or a comma-separated list of node names");
        }
        parties.names = names;
        parties.n_names = n_names;
    }
    ag.parties = &parties;
    if (output_arg) {
        outs = split_list(&n_outs, output_arg);
        if (!outs || n_outs == 0) {
            free_list(names, n_names);
            free_list(outs, n_outs);
            return usage("--output needs a comma-separated list of node names");
        }
        ag.output = outs;
        ag.n_output = n_outs;
    }

    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req.aggregate = &ag;
    Ward__Control__Response *r = NULL;
    ex = call(&r, sock, &req);
    free_list(names, n_names);
    free_list(outs, n_outs);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_AGGREGATE) return wrong_result(r);
    const Ward__Control__AggregateResult *x = r->aggregate;
    if (json) {
        printf("{\"value\": ");
        j_opt_num(stdout, x->value);
        printf(", \"groups\": ");
        if (x->grouped) {
            putchar('{');
            for (size_t i = 0; i < x->n_groups; i++) {
                if (i) fputs(", ", stdout);
                j_str(stdout, x->groups[i]->key);
                fputs(": ", stdout);
                j_num(stdout, x->groups[i]->value);
            }
            putchar('}');
        } else {
            fputs("null", stdout);
        }
        printf(", \"parties\": [");
        for (size_t i = 0; i < x->n_parties; i++) {
            if (i) fputs(", ", stdout);
            j_str(stdout, x->parties[i]);
        }
        printf("], \"epsilon\": ");
        j_opt_num(stdout, x->epsilon);
        printf(", \"delta\": ");
        j_opt_num(stdout, x->delta);
        printf(", \"latency_ms\": ");
        j_num(stdout, x->latency_ms);
        printf(", \"session\": ");
        j_str(stdout, x->session);
        printf(", \"op\": ");
        j_str(stdout, op_name);
        printf(", \"exact\": %s}\n", x->epsilon ? "false" : "true");
    } else {
        if (x->grouped) {
            size_t w = 5;
            for (size_t i = 0; i < x->n_groups; i++)
                if (strlen(x->groups[i]->key) > w) w = strlen(x->groups[i]->key);
            for (size_t i = 0; i < x->n_groups; i++)
                printf("%-*s  %.10g\n", (int)w, x->groups[i]->key, x->groups[i]->value);
        } else if (x->value) {
            printf("%s(%s) = %.10g\n", op_name, target, x->value->value);
        } else {
            printf("%s(%s): no value\n", op_name, target);
        }
        printf("parties: ");
        for (size_t i = 0; i < x->n_parties; i++) printf("%s%s", i ? ", " : "", x->parties[i]);
        if (x->epsilon)
            printf("\nprivacy: epsilon %.4g, delta %.3g (differentially private)\n",
                   x->epsilon->value, x->delta ? x->delta->value : 0.0);
        else
            printf("\nprivacy: exact result (no noise; allowed by every party's policy)\n");
        printf("latency: %.1f ms, session %s\n", x->latency_ms, x->session);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static const char ctl_usage[] =
    "usage: ward --node X COMMAND [--json]   (X: a node directory or its control socket)\n"
    "  status | peers | tables | budget\n"
    "  audit [--verify] [--since N] [--limit N]\n"
    "  import TABLE FILE.csv [--sensitivity high|medium|low]\n"
    "  sum|count|mean|histogram TABLE.COLUMN [--where EXPR] [--group-by KEY]\n"
    "      --parties LIST|all [--output LIST] [--epsilon E] [--delta D] [--exact]\n";

int ward_cmd_ctl(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[0], "--node") != 0) {
        fputs("ward: error: --node X needs a command\n", stderr);
        fputs(ctl_usage, stderr);
        return 2;
    }
    const char *node = argv[1];
    const char *cmd = argv[2];
    /* --json may appear anywhere after the command; take it out. */
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
    char sock[PATH_MAX], msg[512];
    int ex;
    int rc = ward_ctl_socket_path(sock, sizeof sock, msg, sizeof msg, node);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg[0] ? msg : "node path is too long");
        free(rest);
        return 1;
    }
    int simple = strcmp(cmd, "status") == 0 || strcmp(cmd, "peers") == 0 ||
                 strcmp(cmd, "tables") == 0 || strcmp(cmd, "budget") == 0;
    if (simple && n > 0) {
        ex = usage("unexpected argument '%s'", rest[0]);
    } else if (strcmp(cmd, "status") == 0) {
        ex = do_status(sock, json);
    } else if (strcmp(cmd, "peers") == 0) {
        ex = do_peers(sock, json);
    } else if (strcmp(cmd, "tables") == 0) {
        ex = do_tables(sock, json);
    } else if (strcmp(cmd, "budget") == 0) {
        ex = do_budget(sock, json);
    } else if (strcmp(cmd, "audit") == 0) {
        ex = do_audit(sock, json, n, rest);
    } else if (strcmp(cmd, "import") == 0) {
        ex = do_import(sock, json, n, rest);
    } else if (strcmp(cmd, "sum") == 0 || strcmp(cmd, "count") == 0 ||
               strcmp(cmd, "mean") == 0 || strcmp(cmd, "histogram") == 0) {
        ex = do_aggregate(sock, json, cmd, n, rest);
    } else {
        fprintf(stderr, "ward: error: unknown node command '%s'\n", cmd);
        fputs(ctl_usage, stderr);
        ex = 2;
    }
    free(rest);
    return ex;
}
