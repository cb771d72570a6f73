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
#include "ctl_cmd.h"
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

void ward_ctl_json_str(FILE *f, const char *s) { j_str(f, s); }

void ward_ctl_json_num(FILE *f, double v) { j_num(f, v); }

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

int ward_ctl_parties_parse(Ward__Control__Parties *p, char *msg, size_t msg_cap, char **names,
                           size_t cap, char *buf) {
    if (strcmp(buf, "all") == 0) {
        p->all = 1;
        return 0;
    }
    size_t n = ward_ctl_split_names(names, cap, buf);
    if (n == 0 || n > cap) {
        snprintf(msg, msg_cap, "--parties needs 'all' or a comma-separated list of node names");
        return 2;
    }
    p->names = names;
    p->n_names = n;
    return 0;
}

size_t ward_ctl_split_names(char **names, size_t cap, char *buf) {
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        size_t l = strlen(t);
        while (l > 0 && t[l - 1] == ' ') t[--l] = '\0';
        if (l == 0) continue;
        if (n == cap) return cap + 1;
        names[n++] = t;
    }
    return n;
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
    *n = ward_ctl_split_names(v, cap, copy); /* at most cap: one per comma, plus one */
    for (size_t i = 0; i < *n; i++) v[i] = strdup(v[i]);
    free(copy);
    return v;
}

static void free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Sends req to the node and checks the response; on failure writes the
 * error line into msg and returns the exit status (1), else 0 with *out
 * set. */
static int call_msg(Ward__Control__Response **out, char *msg, size_t msg_cap, const char *sock,
                    Ward__Control__Request *req) {
    int rc = ward_ctl_call(out, msg, msg_cap, sock, req, ward_ctl_timeout_ms());
    if (rc != WARD_OK) return 1;
    Ward__Control__Response *r = *out;
    if (r->error != 0) {
        const char *m = r->message && r->message[0] ? r->message : ward_strerror(r->error);
        if (r->error == WARD_EUNSUPPORTED && !(r->message && r->message[0]))
            snprintf(msg, msg_cap, "the node does not support this command yet");
        else
            snprintf(msg, msg_cap, "%s", m);
        ward__control__response__free_unpacked(r, NULL);
        *out = NULL;
        return 1;
    }
    return 0;
}

/* call_msg, printing the error line on failure. */
static int call(Ward__Control__Response **out, const char *sock, Ward__Control__Request *req) {
    char msg[1024];
    int ex = call_msg(out, msg, sizeof msg, sock, req);
    if (ex) fprintf(stderr, "ward: error: %s\n", msg);
    return ex;
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
            char seen[64];
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
            j_key(stdout, &first, "rho_total");
            j_num(stdout, x->rho_total);
            j_key(stdout, &first, "rho_spent");
            j_num(stdout, x->rho_spent);
            j_key(stdout, &first, "table_rho_spent");
            j_num(stdout, x->table_rho_spent);
            j_key(stdout, &first, "table_releases");
            j_num(stdout, (double)x->table_releases);
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
            char t[64];
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

int ward_ctl_import(uint64_t *rows, char *msg, size_t msg_cap, const char *sock,
                    const char *table, const char *abs_path, const char *sensitivity,
                    const char *schema) {
    Ward__Control__Request req;
    Ward__Control__ImportRequest ir;
    ward__control__request__init(&req);
    ward__control__import_request__init(&ir);
    ir.table = (char *)table;
    ir.path = (char *)abs_path;
    if (schema) ir.schema = (char *)schema;
    ir.sensitivity = WARD__CONTROL__SENSITIVITY__SENSITIVITY_UNSPECIFIED;
    if (sensitivity && strcmp(sensitivity, "high") == 0)
        ir.sensitivity = WARD__CONTROL__SENSITIVITY__SENSITIVITY_HIGH;
    else if (sensitivity && strcmp(sensitivity, "medium") == 0)
        ir.sensitivity = WARD__CONTROL__SENSITIVITY__SENSITIVITY_MEDIUM;
    else if (sensitivity && strcmp(sensitivity, "low") == 0)
        ir.sensitivity = WARD__CONTROL__SENSITIVITY__SENSITIVITY_LOW;
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_IMPORT_TABLE;
    req.import_table = &ir;
    Ward__Control__Response *r = NULL;
    *rows = 0;
    if (call_msg(&r, msg, msg_cap, sock, &req)) return 1;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_IMPORT_TABLE) {
        snprintf(msg, msg_cap, "the node answered with an unexpected result");
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    *rows = r->import_table->rows;
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static int do_import(const char *sock, int json, int argc, char **argv) {
    const char *table = NULL, *file = NULL, *schema = NULL;
    Ward__Control__Sensitivity sens = WARD__CONTROL__SENSITIVITY__SENSITIVITY_UNSPECIFIED;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--schema") == 0) {
            if (i + 1 >= argc) return usage("--schema needs NAME:TYPE[MIN,MAX],...");
            schema = argv[++i];
        } else if (strcmp(argv[i], "--sensitivity") == 0) {
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
        return usage("usage: ward --node X import TABLE FILE.csv [--sensitivity high|medium|low] "
                     "[--schema NAME:TYPE[MIN,MAX],...]");
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
    ir.schema = (char *)(schema ? schema : "");
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

/* ---- aggregates (ctl_cmd.h) -------------------------------------------------------- */

int ward_ctl_is_aggregate(const char *w) {
    return strcmp(w, "sum") == 0 || strcmp(w, "count") == 0 || strcmp(w, "mean") == 0 ||
           strcmp(w, "histogram") == 0;
}

__attribute__((format(printf, 3, 4)))
static int usage_msg(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return 2;
}

void ward_ctl_agg_req_clear(ward_ctl_agg_req *q) {
    if (!q) return;
    free_list(q->names, q->n_names);
    free_list(q->outs, q->n_outs);
    q->names = q->outs = NULL;
    q->n_names = q->n_outs = 0;
}

int ward_ctl_agg_parse(ward_ctl_agg_req *q, char *msg, size_t msg_cap, const char *op_name,
                       int argc, char **argv) {
    memset(q, 0, sizeof *q);
    msg[0] = '\0';
    Ward__Control__AggregateRequest *ag = &q->ag;
    ward__control__aggregate_request__init(ag);
    ward__control__parties__init(&q->parties);
    ward__control__number__init(&q->eps);
    ward__control__number__init(&q->del);
    snprintf(q->op, sizeof q->op, "%s", op_name);
    if (strcmp(op_name, "sum") == 0) ag->op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_SUM;
    else if (strcmp(op_name, "count") == 0) ag->op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT;
    else if (strcmp(op_name, "mean") == 0) ag->op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_MEAN;
    else ag->op = WARD__CONTROL__AGGREGATE_OP__AGGREGATE_HISTOGRAM;

    const char *target = NULL, *parties_arg = NULL, *output_arg = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--where") == 0 && has) {
            ag->where = argv[++i];
        } else if (strcmp(a, "--group-by") == 0 && has) {
            ag->group_by = argv[++i];
        } else if (strcmp(a, "--domain") == 0 && has) {
            if (ag->n_domain == sizeof q->domains / sizeof q->domains[0])
                return usage_msg(msg, msg_cap, "--domain is given once per part of the key (at "
                                 "most 3)");
            q->domains[ag->n_domain++] = argv[++i];
            ag->domain = q->domains;
        } else if (strcmp(a, "--parties") == 0 && has) {
            parties_arg = argv[++i];
        } else if (strcmp(a, "--output") == 0 && has) {
            output_arg = argv[++i];
        } else if (strcmp(a, "--epsilon") == 0 && has) {
            if (parse_double(&q->eps.value, argv[++i]) != WARD_OK || q->eps.value <= 0)
                return usage_msg(msg, msg_cap, "--epsilon must be a positive number, not '%s'",
                                 argv[i]);
            ag->epsilon = &q->eps;
        } else if (strcmp(a, "--delta") == 0 && has) {
            if (parse_double(&q->del.value, argv[++i]) != WARD_OK || q->del.value <= 0 ||
                q->del.value >= 1)
                return usage_msg(msg, msg_cap,
                                 "--delta must be a number strictly between 0 and 1, not '%s'",
                                 argv[i]);
            ag->delta = &q->del;
        } else if (strcmp(a, "--importance") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "low") == 0) ag->importance = WARD__CONTROL__IMPORTANCE__IMPORTANCE_LOW;
            else if (strcmp(v, "normal") == 0)
                ag->importance = WARD__CONTROL__IMPORTANCE__IMPORTANCE_NORMAL;
            else if (strcmp(v, "high") == 0)
                ag->importance = WARD__CONTROL__IMPORTANCE__IMPORTANCE_HIGH;
            else
                return usage_msg(msg, msg_cap, "--importance must be low, normal or high, not '%s'",
                                 v);
        } else if (strcmp(a, "--exact") == 0) {
            ag->exact = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            return usage_msg(msg, msg_cap,
                             has || strcmp(a, "--where") != 0
                                 ? "unknown option or missing value: '%s'"
                                 : "missing value for '%s'",
                             a);
        } else if (!target) {
            target = a;
        } else {
            return usage_msg(msg, msg_cap, "unexpected argument '%s'", a);
        }
    }
    if (!target)
        return usage_msg(msg, msg_cap,
                         "usage: ward --node X %s TABLE.COLUMN [--where EXPR] "
                         "[--group-by KEY [--domain [PART=]VALUES]] --parties LIST|all "
                         "[--output LIST] [--epsilon E] "
                         "[--delta D] [--importance low|normal|high] [--exact] [--json]",
                         op_name);
    if (!parties_arg) return usage_msg(msg, msg_cap, "--parties LIST|all is required");
    if (ag->exact && (ag->epsilon || ag->delta || ag->importance))
        return usage_msg(msg, msg_cap,
                         "--exact cannot be combined with --epsilon, --delta or --importance");

    const char *dot = strchr(target, '.');
    size_t tl = dot ? (size_t)(dot - target) : strlen(target);
    if (tl == 0 || tl >= sizeof q->table ||
        (dot && (dot[1] == '\0' || strlen(dot + 1) >= sizeof q->column)))
        return usage_msg(msg, msg_cap, "expected TABLE.COLUMN, not '%s'", target);
    if (!dot && ag->op != WARD__CONTROL__AGGREGATE_OP__AGGREGATE_COUNT)
        return usage_msg(msg, msg_cap, "%s needs TABLE.COLUMN", op_name);
    memcpy(q->table, target, tl);
    q->table[tl] = '\0';
    snprintf(q->column, sizeof q->column, "%s", dot ? dot + 1 : "");
    snprintf(q->target, sizeof q->target, "%s", target);
    ag->table = q->table;
    ag->column = q->column;

    if (strcmp(parties_arg, "all") == 0) {
        q->parties.all = 1;
    } else {
        q->names = split_list(&q->n_names, parties_arg);
        if (!q->names || q->n_names == 0)
            return usage_msg(msg, msg_cap,
                             "--parties needs 'all' or a comma-separated list of node names");
        q->parties.names = q->names;
        q->parties.n_names = q->n_names;
    }
    ag->parties = &q->parties;
    if (output_arg) {
        q->outs = split_list(&q->n_outs, output_arg);
        if (!q->outs || q->n_outs == 0)
            return usage_msg(msg, msg_cap, "--output needs a comma-separated list of node names");
        ag->output = q->outs;
        ag->n_output = q->n_outs;
    }
    return 0;
}

static double mono_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int ward_ctl_agg_send(ward_ctl_agg *out, char *msg, size_t msg_cap, const char *sock,
                      ward_ctl_agg_req *q) {
    memset(out, 0, sizeof *out);
    snprintf(out->op, sizeof out->op, "%s", q->op);
    snprintf(out->target, sizeof out->target, "%s", q->target);
    Ward__Control__Request req;
    ward__control__request__init(&req);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_AGGREGATE;
    req.aggregate = &q->ag;
    Ward__Control__Response *r = NULL;
    double t0 = mono_now_ms();
    int ex = call_msg(&r, msg, msg_cap, sock, &req);
    out->wall_ms = mono_now_ms() - t0;
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_AGGREGATE) {
        snprintf(msg, msg_cap, "the node answered with an unexpected result");
        ward__control__response__free_unpacked(r, NULL);
        return 1;
    }
    out->resp = r;
    return 0;
}

void ward_ctl_agg_clear(ward_ctl_agg *a) {
    if (a && a->resp) ward__control__response__free_unpacked(a->resp, NULL);
    if (a) a->resp = NULL;
}

void ward_ctl_agg_print_json_fields(FILE *f, const ward_ctl_agg *a) {
    const Ward__Control__AggregateResult *x = a->resp->aggregate;
    fprintf(f, "\"value\": ");
    j_opt_num(f, x->value);
    fprintf(f, ", \"groups\": ");
    if (x->grouped) {
        fputc('{', f);
        for (size_t i = 0; i < x->n_groups; i++) {
            if (i) fputs(", ", f);
            j_str(f, x->groups[i]->key);
            fputs(": ", f);
            j_num(f, x->groups[i]->value);
        }
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ", \"parties\": [");
    for (size_t i = 0; i < x->n_parties; i++) {
        if (i) fputs(", ", f);
        j_str(f, x->parties[i]);
    }
    fprintf(f, "], \"epsilon\": ");
    j_opt_num(f, x->epsilon);
    fprintf(f, ", \"delta\": ");
    j_opt_num(f, x->delta);
    fprintf(f, ", \"latency_ms\": ");
    j_num(f, x->latency_ms);
    fprintf(f, ", \"session\": ");
    j_str(f, x->session);
    fprintf(f, ", \"op\": ");
    j_str(f, a->op);
    fprintf(f, ", \"exact\": %s", x->epsilon ? "false" : "true");
    fprintf(f, ", \"noise_sd\": ");
    j_opt_num(f, x->noise_sd);
    if (x->count_noise_sd) {
        fprintf(f, ", \"count_noise_sd\": ");
        j_opt_num(f, x->count_noise_sd);
    }
}

void ward_ctl_agg_print_human(FILE *f, const ward_ctl_agg *a) {
    const Ward__Control__AggregateResult *x = a->resp->aggregate;
    if (x->grouped) {
        size_t w = 5;
        for (size_t i = 0; i < x->n_groups; i++)
            if (strlen(x->groups[i]->key) > w) w = strlen(x->groups[i]->key);
        for (size_t i = 0; i < x->n_groups; i++)
            fprintf(f, "%-*s  %.10g\n", (int)w, x->groups[i]->key, x->groups[i]->value);
    } else if (x->value) {
        fprintf(f, "%s(%s) = %.10g\n", a->op, a->target, x->value->value);
    } else {
        fprintf(f, "%s(%s): no value\n", a->op, a->target);
    }
    fprintf(f, "parties: ");
    for (size_t i = 0; i < x->n_parties; i++) fprintf(f, "%s%s", i ? ", " : "", x->parties[i]);
    if (x->epsilon && x->noise_sd)
        fprintf(f, "\nprivacy: epsilon %.4g, delta %.3g (differentially private; noise sd at "
                   "most %.4g%s)\n",
                x->epsilon->value, x->delta ? x->delta->value : 0.0, x->noise_sd->value,
                x->count_noise_sd ? " on the sum" : "");
    else if (x->epsilon)
        fprintf(f, "\nprivacy: epsilon %.4g, delta %.3g (differentially private)\n",
                x->epsilon->value, x->delta ? x->delta->value : 0.0);
    else
        fprintf(f, "\nprivacy: exact result (no noise; allowed by every party's policy)\n");
    fprintf(f, "latency: %.1f ms, session %s\n", x->latency_ms, x->session);
}

/* ---- garbled circuits ------------------------------------------------------------ */

static int do_gc(const char *sock, int json, int argc, char **argv) {
    const char *peer = NULL, *session = NULL, *circuit = NULL;
    Ward__Control__GcRole role = WARD__CONTROL__GC_ROLE__GC_ROLE_AUTO;
    char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    size_t n_inputs = 0;
    if (!inputs) {
        fputs("ward: error: out of memory\n", stderr);
        return 1;
    }
    int ex = 0;
    for (int i = 0; i < argc && !ex; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--peer") == 0 && has) peer = argv[++i];
        else if (strcmp(a, "--session") == 0 && has) session = argv[++i];
        else if (strcmp(a, "--circuit") == 0 && has) circuit = argv[++i];
        else if (strcmp(a, "--input") == 0 && has) inputs[n_inputs++] = argv[++i];
        else if (strcmp(a, "--role") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "garbler") == 0) role = WARD__CONTROL__GC_ROLE__GC_ROLE_GARBLER;
            else if (strcmp(v, "evaluator") == 0) role = WARD__CONTROL__GC_ROLE__GC_ROLE_EVALUATOR;
            else if (strcmp(v, "auto") == 0) role = WARD__CONTROL__GC_ROLE__GC_ROLE_AUTO;
            else ex = usage("--role must be garbler or evaluator, not '%s'", v);
        } else if (a[0] == '-' && a[1] == '-') {
            ex = usage("unknown option '%s' for gc%s", a, has ? "" : " (or it needs a value)");
        } else {
            ex = usage("unexpected argument '%s' for gc", a);
        }
    }
    if (!ex && (!peer || !session || !circuit))
        ex = usage("usage: ward --node X gc --peer NAME --session NAME --circuit FILE --input HEX "
                   "[--input HEX ...] [--role garbler|evaluator] [--json]");
    char abs[PATH_MAX];
    if (!ex && !realpath(circuit, abs)) {
        fprintf(stderr, "ward: error: %s: %s\n", circuit, strerror(errno));
        ex = 1;
    }
    if (ex) {
        free(inputs);
        return ex;
    }
    Ward__Control__Request req;
    Ward__Control__GcRequest gr;
    ward__control__request__init(&req);
    ward__control__gc_request__init(&gr);
    gr.peer = (char *)peer;
    gr.session = (char *)session;
    gr.circuit_path = abs;
    gr.n_inputs = n_inputs;
    gr.inputs = inputs;
    gr.role = role;
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_GC;
    req.gc = &gr;
    Ward__Control__Response *r;
    ex = call(&r, sock, &req);
    free(inputs);
    if (ex) return ex;
    if (r->result_case != WARD__CONTROL__RESPONSE__RESULT_GC) return wrong_result(r);
    const Ward__Control__GcResult *x = r->gc;
    if (json) {
        printf("{\"output\": \"");
        for (size_t i = 0; i < x->n_outputs; i++) printf("%s%s", i ? " " : "", x->outputs[i]);
        printf("\", \"and_gates\": %" PRIu64 ", \"bytes_sent\": %" PRIu64 ", \"latency_ms\": ",
               x->and_gates, x->bytes_sent);
        j_num(stdout, x->latency_ms);
        printf(", \"session\": ");
        j_str(stdout, x->session);
        printf(", \"base_ots\": %s, \"role\": \"%s\"}\n", x->base_ots ? "true" : "false",
               x->garbler ? "garbler" : "evaluator");
    } else {
        for (size_t i = 0; i < x->n_outputs; i++) printf("%s\n", x->outputs[i]);
    }
    ward__control__response__free_unpacked(r, NULL);
    return 0;
}

static const char ctl_usage[] =
    "usage: ward --node X COMMAND [--json]   (X: a node directory or its control socket)\n"
    "  status | peers | tables | budget\n"
    "  audit [--verify] [--since N] [--limit N]\n"
    "  import TABLE FILE.csv [--sensitivity high|medium|low] [--schema NAME:TYPE[MIN,MAX],...]\n"
    "  sum|count|mean|histogram TABLE.COLUMN [--where EXPR]\n"
    "      [--group-by KEY [--domain [PART=]VALUES]...]   (KEY: up to 3 of COL, hour(COL),\n"
    "      weekday(COL), date(COL), bucket(COL, W), comma-separated; VALUES: a,b,c or LO..HI)\n"
    "      --parties LIST|all [--output LIST] [--epsilon E] [--delta D]\n"
    "      [--importance low|normal|high] [--exact]\n"
    "  gc --peer NAME --session NAME --circuit FILE --input HEX [--input HEX ...]\n"
    "      [--role garbler|evaluator]   (a two-party garbled circuit; both parties run it)\n"
    "  max|argmax|threshold TABLE.COLUMN --agg sum|max|count --parties LIST|all\n"
    "      --compute A,B [--threshold T] [--where EXPR]   (a decision computed by A and B\n"
    "      in a garbled circuit on the parties' shared local aggregates)\n"
    "  train --table T --features F --label Y --model linear|logreg|softmax|mlp\n"
    "      --parties LIST|all --rounds R [--local-epochs E] [--algo fedavg|fedprox]\n"
    "      [--lr X] [--clip C] [--pace-ms N] [--personalize E]   (federated training, docs/learning.md)\n"
    "  run SCRIPT [--stop-on-error]   (a session script, docs/session-scripts.md)\n";

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
    } else if (ward_ctl_is_job(cmd)) {
        ex = ward_cmd_job(sock, json, cmd, n, rest);
    } else if (strcmp(cmd, "gc") == 0) {
        ex = do_gc(sock, json, n, rest);
    } else if (strcmp(cmd, "run") == 0) {
        ex = ward_cmd_run(node, sock, json, n, rest);
    } else {
        fprintf(stderr, "ward: error: unknown node command '%s'\n", cmd);
        fputs(ctl_usage, stderr);
        ex = 2;
    }
    free(rest);
    return ex;
}
