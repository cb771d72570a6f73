/* ward --node X run SCRIPT [--json] [--stop-on-error]: a session script,
 * one joint computation per line (docs/session-scripts.md).
 *
 *     # comment
 *     trips per hour: count trips --group-by hour(ts) --parties all --exact
 *     @environment mean air.no2 --group-by weekday(ts) --parties environment --exact
 *     busiest: argmax parking.occupied --parties all --compute parking-north,parking-south
 *     model: @parking-north train --table parking --features capacity[0,2000] \
 *         --label occupied/capacity>0.8 --model logreg --rounds 5 \
 *         --parties parking-north,parking-south,parking-aarhus
 *
 * A line is [LABEL: ] [@NODE] OP ARGS..., with OP ARGS the words that follow
 * `ward --node X` on the command line: an aggregate (sum, count, mean,
 * histogram), a decision (max, argmax, threshold) or a training run
 * (train). They are parsed, sent and printed by the same functions as there
 * (ctl_cmd.h). The whole script is checked before anything runs; then the
 * lines run in order, and a failing line is reported and skipped unless
 * --stop-on-error is given. With --parallel N, up to N lines run at once
 * (each over its own control connection; the node runs their sessions side
 * by side), and the results are still reported in script order. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"

#define SCRIPT_MAX_BYTES (1u << 20)
#define SCRIPT_MAX_WORDS 256

typedef struct {
    size_t line;                  /* first line of the entry, 1-based */
    char *label;                  /* owned; "" when none */
    char *command;                /* owned; the line without label and comment */
    char at[64];                  /* @NODE, "" for the script's node */
    char *words[SCRIPT_MAX_WORDS];/* owned; [@NODE] OP ARGS... */
    int n_words;
    ward_ctl_job_req req;         /* parsed from the words after the operation */
} entry;

/* ---- the splitter ------------------------------------------------------- */

/* Splits s into words the way a POSIX shell would for these characters:
 * blanks separate words; '...' keeps everything literally; "..." keeps
 * everything but lets a backslash escape '"' and '\'; outside quotes a
 * backslash takes the next character literally; '#' at the start of a word
 * begins a comment. *code_end is set to where the comment (or the text)
 * begins. Returns 0, or WARD_EPARSE with why set. */
static int split_words(entry *e, size_t *code_end, const char **why, const char *s) {
    size_t n = strlen(s), i = 0;
    char *buf = malloc(n + 1);
    if (!buf) {
        *why = "out of memory";
        return WARD_ENOMEM;
    }
    *code_end = n;
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i >= n) break;
        if (s[i] == '#') {
            *code_end = i;
            break;
        }
        size_t len = 0;
        int any = 0;
        while (i < n && s[i] != ' ' && s[i] != '\t') {
            char ch = s[i];
            if (ch == '\'') {
                size_t j = i + 1;
                while (j < n && s[j] != '\'') buf[len++] = s[j++];
                if (j >= n) {
                    free(buf);
                    *why = "unterminated ' quote";
                    return WARD_EPARSE;
                }
                i = j + 1;
                any = 1;
            } else if (ch == '"') {
                size_t j = i + 1;
                while (j < n && s[j] != '"') {
                    if (s[j] == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\')) j++;
                    buf[len++] = s[j++];
                }
                if (j >= n) {
                    free(buf);
                    *why = "unterminated \" quote";
                    return WARD_EPARSE;
                }
                i = j + 1;
                any = 1;
            } else if (ch == '\\') {
                if (i + 1 >= n) {
                    free(buf);
                    *why = "a backslash at the end of the line";
                    return WARD_EPARSE;
                }
                buf[len++] = s[i + 1];
                i += 2;
                any = 1;
            } else {
                buf[len++] = ch;
                i++;
                any = 1;
            }
        }
        if (!any) continue;
        if (e->n_words == SCRIPT_MAX_WORDS) {
            free(buf);
            *why = "too many words";
            return WARD_ETOOBIG;
        }
        buf[len] = '\0';
        e->words[e->n_words] = strdup(buf);
        if (!e->words[e->n_words]) {
            free(buf);
            *why = "out of memory";
            return WARD_ENOMEM;
        }
        e->n_words++;
    }
    free(buf);
    return WARD_OK;
}

/* ---- parsing a script ------------------------------------------------------ */

static void entry_free(entry *e) {
    free(e->label);
    free(e->command);
    for (int i = 0; i < e->n_words; i++) free(e->words[i]);
    ward_ctl_job_req_clear(&e->req);
}


static char *trimmed_dup(const char *s, size_t len) {
    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r')) len--;
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int valid_node_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 32) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* Parses one logical line into e. Returns 0 (a computation), 1 (nothing
 * but blanks or a comment) or 2 (a usage error, msg says why). */
static int parse_line(entry *e, char *msg, size_t cap, const char *text) {
    const char *p = text;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0' || *p == '#' || *p == '\r') return 1;
    /* LABEL: the text before the first colon that is followed by blanks and
     * then a command (an aggregate's, a decision's or train, or @NODE), so
     * that a label may hold quotes, colons and command words of its own. */
    const char *body = p;
    for (const char *c = p; *c; c++) {
        if (*c != ':' || (c[1] != ' ' && c[1] != '\t')) continue;
        const char *w = c + 1;
        while (*w == ' ' || *w == '\t') w++;
        size_t wl = strcspn(w, " \t\r");
        char word[16];
        if (*w != '@' && (wl == 0 || wl >= sizeof word)) continue;
        memcpy(word, w, wl < sizeof word ? wl : 0);
        word[wl < sizeof word ? wl : 0] = '\0';
        if (*w == '@' || ward_ctl_is_job(word)) {
            e->label = trimmed_dup(p, (size_t)(c - p));
            body = c + 1;
            break;
        }
    }
    if (!e->label) e->label = strdup("");
    if (!e->label) {
        snprintf(msg, cap, "out of memory");
        return 2;
    }
    size_t code_end = 0;
    const char *why = NULL;
    if (split_words(e, &code_end, &why, body) != WARD_OK) {
        snprintf(msg, cap, "%s", why);
        return 2;
    }
    e->command = trimmed_dup(body, code_end);
    if (!e->command) {
        snprintf(msg, cap, "out of memory");
        return 2;
    }
    if (e->n_words == 0) return 1;
    int first = 0;
    if (e->words[0][0] == '@') {
        if (!valid_node_name(e->words[0] + 1)) {
            snprintf(msg, cap, "'%.64s' does not name a node (@NAME, NAME of [a-z0-9-]{1,32})",
                     e->words[0]);
            return 2;
        }
        snprintf(e->at, sizeof e->at, "%s", e->words[0] + 1);
        first = 1;
    }
    if (first >= e->n_words) {
        snprintf(msg, cap, "'%s' has no computation after it", e->words[0]);
        return 2;
    }
    const char *op = e->words[first];
    if (!ward_ctl_is_job(op)) {
        snprintf(msg, cap,
                 "'%.64s' is not a joint computation (sum, count, mean, histogram, max, argmax, "
                 "threshold or train)",
                 op);
        return 2;
    }
    /* --json on a line is the script's business, not the line's. */
    char *args[SCRIPT_MAX_WORDS];
    int na = 0;
    for (int i = first + 1; i < e->n_words; i++)
        if (strcmp(e->words[i], "--json") != 0) args[na++] = e->words[i];
    if (ward_ctl_job_parse(&e->req, msg, cap, op, na, args)) return 2;
    /* The words are kept in e->words; the request points into them. */
    return 0;
}

/* Parses a script's text (NUL-ended, no NUL inside) into entries. Returns
 * 0 with *items set; 1 when out of memory; 2 for a usage error: *bad lines
 * were wrong, the first of them *bad_line with msg saying why (no entry is
 * kept), or (*bad = 0) the text holds no computation. */
static int parse_text(entry ***items, size_t *n_items, size_t *bad_line, size_t *bad_out,
                      char *first_msg, size_t msg_cap, const char *text) {
    *items = NULL;
    *n_items = 0;
    *bad_line = 0;
    *bad_out = 0;
    first_msg[0] = '\0';
    size_t cap = 16, n = 0, bad = 0;
    entry **v = calloc(cap, sizeof *v);
    size_t line_no = 0;
    const char *save = text;
    int ex = v ? 0 : 1;
    while (!ex && save && *save) {
        /* One logical line: a backslash at the very end joins the next. */
        size_t start_line = line_no + 1;
        const char *nl;
        char *logical = NULL;
        size_t ll = 0;
        for (;;) {
            line_no++;
            nl = strchr(save, '\n');
            size_t l = nl ? (size_t)(nl - save) : strlen(save);
            if (l > 0 && save[l - 1] == '\r') l--;
            int cont = l > 0 && save[l - 1] == '\\' && nl != NULL;
            if (cont) l--;
            char *nb = realloc(logical, ll + l + 2);
            if (!nb) {
                ex = 1;
                break;
            }
            logical = nb;
            memcpy(logical + ll, save, l);
            ll += l;
            if (cont) logical[ll++] = ' ';
            logical[ll] = '\0';
            save = nl ? nl + 1 : NULL;
            if (!cont) break;
        }
        if (ex) {
            free(logical);
            break;
        }
        if (n == cap) {
            entry **nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(logical);
                ex = 1;
                break;
            }
            v = nv;
            cap *= 2;
        }
        /* Each entry stays where it is: its request points into itself. */
        entry *e = calloc(1, sizeof *e);
        if (!e) {
            free(logical);
            ex = 1;
            break;
        }
        e->line = start_line;
        char msg[600];
        int r = parse_line(e, msg, sizeof msg, logical);
        free(logical);
        if (r == 0) {
            v[n++] = e;
        } else {
            if (r == 2) {
                if (bad++ == 0) {
                    *bad_line = start_line;
                    snprintf(first_msg, msg_cap, "%s", msg);
                }
            }
            entry_free(e);
            free(e);
        }
    }
    if (ex || bad || n == 0) {
        for (size_t i = 0; i < n; i++) entry_free(v[i]), free(v[i]);
        free(v);
        *bad_out = bad;
        return ex ? 1 : 2;
    }
    *items = v;
    *n_items = n;
    return 0;
}

int ward_run_check_text(char *msg, size_t msg_cap, const char *text) {
    entry **v;
    size_t n, bad_line, bad;
    int rc = parse_text(&v, &n, &bad_line, &bad, msg, msg_cap, text);
    if (rc == 2 && bad == 0) snprintf(msg, msg_cap, "the script holds no computation");
    for (size_t i = 0; i < n; i++) entry_free(v[i]), free(v[i]);
    free(v);
    return rc;
}

/* Reads the script and parses every line. Returns 0 with *items set, or an
 * exit status after printing the error. */
static int parse_script(entry ***items, size_t *n_items, const char *path) {
    *items = NULL;
    *n_items = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ward: error: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *text = malloc(SCRIPT_MAX_BYTES + 1);
    size_t len = text ? fread(text, 1, SCRIPT_MAX_BYTES + 1, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!text || rerr) {
        free(text);
        fprintf(stderr, "ward: error: cannot read %s\n", path);
        return 1;
    }
    if (len > SCRIPT_MAX_BYTES) {
        free(text);
        fprintf(stderr, "ward: error: %s is larger than %u bytes\n", path, SCRIPT_MAX_BYTES);
        return 2;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        free(text);
        fprintf(stderr, "ward: error: %s is not a text file\n", path);
        return 2;
    }
    char first_msg[700];
    size_t first_bad_line, bad;
    int ex = parse_text(items, n_items, &first_bad_line, &bad, first_msg, sizeof first_msg, text);
    free(text);
    if (ex == 1) {
        fprintf(stderr, "ward: error: out of memory reading %s\n", path);
        return 1;
    }
    if (ex == 2 && bad == 1)
        fprintf(stderr, "ward: error: %s:%zu: %s (nothing was run)\n", path, first_bad_line,
                first_msg);
    else if (ex == 2 && bad > 1)
        fprintf(stderr, "ward: error: %s:%zu: %s (and %zu more errors; nothing was run)\n", path,
                first_bad_line, first_msg, bad - 1);
    else if (ex == 2)
        fprintf(stderr, "ward: error: %s holds no computation\n", path);
    return ex;
}

/* ---- running --------------------------------------------------------------- */

/* The control socket of node NAME, a sibling of the script's node: the
 * directory next to X (X a node directory) or next to the directory that
 * holds X (X a control socket). */
static int sibling_socket(char *sock, size_t cap, char *msg, size_t msg_cap, const char *node,
                          const char *name) {
    char real[PATH_MAX];
    if (!realpath(node, real)) {
        snprintf(msg, msg_cap, "@%s: cannot resolve %.600s: %s", name, node, strerror(errno));
        return 1;
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(real, '/'); /* the socket's directory */
        if (slash && slash != real) *slash = '\0';
    }
    char *slash = strrchr(real, '/');
    if (!slash) {
        snprintf(msg, msg_cap, "@%s: %.600s has no parent directory", name, real);
        return 1;
    }
    if (slash == real) slash[1] = '\0';
    else *slash = '\0';
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s%s%s", real, real[strlen(real) - 1] == '/' ? "" : "/", name);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(msg, msg_cap, "@%s: no node directory %.400s next to %.400s", name, dir, node);
        return 1;
    }
    char m[512] = "";
    if (ward_ctl_socket_path(sock, cap, m, sizeof m, dir) != WARD_OK) {
        snprintf(msg, msg_cap, "@%s: %.500s", name, m[0] ? m : "node path is too long");
        return 1;
    }
    return 0;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void print_entry_json_head(FILE *out, const entry *e) {
    fprintf(out, "{\"label\": ");
    ward_ctl_json_str(out, e->label);
    fprintf(out, ", \"line\": %zu, \"command\": ", e->line);
    ward_ctl_json_str(out, e->command);
    fprintf(out, ", \"at\": ");
    if (e->at[0]) ward_ctl_json_str(out, e->at);
    else fputs("null", out);
}

/* One line's outcome; res is of its entry's kind. */
typedef struct {
    int rc;                       /* 0, or non-zero with msg */
    char msg[1024];
    ward_ctl_job res;
    int done;
} outcome;

/* Sends the entry's request to sock (a line's node). The request is the
 * entry's own; the worker that runs a line is the only one to touch it. A
 * training run waits as long as on the command line (an hour unless
 * WARD_TIMEOUT_MS is set), not an aggregate's minute. */
static int send_entry(outcome *o, const entry *e, const char *sock) {
    return ward_ctl_job_send(&o->res, o->msg, sizeof o->msg, sock, (ward_ctl_job_req *)&e->req);
}

/* A successful outcome, printed as the command line prints it. */
static void print_result(FILE *out, int json, const outcome *o) {
    ward_ctl_job_print(out, json, &o->res);
    double wall_ms = ward_ctl_job_wall_ms(&o->res);
    if (json) {
        fprintf(out, ", \"wall_ms\": ");
        ward_ctl_json_num(out, wall_ms);
    } else {
        fprintf(out, "round trip from this client: %.1f ms\n", wall_ms);
    }
}

/* Safe on an outcome that never ran (zeroed). */
static void outcome_clear(outcome *o) { ward_ctl_job_clear(&o->res); }

typedef struct {
    entry **items;
    outcome *res;
    size_t n, next;
    const char *node, *sock;
    int stop;                     /* --stop-on-error saw a failure: start nothing more */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} pool;

static void run_one(outcome *o, const entry *e, const char *node, const char *sock) {
    char other[PATH_MAX];
    const char *target = sock;
    memset(&o->res, 0, sizeof o->res);
    o->msg[0] = '\0';
    o->rc = 0;
    if (e->at[0]) {
        o->rc = sibling_socket(other, sizeof other, o->msg, sizeof o->msg, node, e->at);
        target = other;
    }
    if (o->rc == 0) o->rc = send_entry(o, e, target);
}

static void *worker(void *arg) {
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next;
        if (p->stop || i >= p->n) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->next++;
        pthread_mutex_unlock(&p->mu);
        outcome o;
        run_one(&o, p->items[i], p->node, p->sock);
        pthread_mutex_lock(&p->mu);
        p->res[i] = o;
        p->res[i].done = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Runs the parsed script, up to `parallel` lines at once (1: one after
 * the other); results are reported in script order either way. out NULL
 * runs it silently (ward bench agg). */
static void run_items(ward_run_summary *sum, FILE *out, entry **items, size_t n, const char *node,
                      const char *sock, int json, int stop_on_error, unsigned parallel) {
    memset(sum, 0, sizeof *sum);
    sum->total = n;
    double t0 = now_ms();
    if (out && json) fprintf(out, "{\"results\": [");
    pool p;
    memset(&p, 0, sizeof p);
    p.items = items;
    p.n = n;
    p.node = node;
    p.sock = sock;
    p.res = calloc(n ? n : 1, sizeof *p.res);
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t th[WARD_RUN_MAX_PARALLEL];
    size_t n_th = 0;
    if (parallel > 1 && p.res) {
        for (unsigned k = 0; k < parallel && k < WARD_RUN_MAX_PARALLEL && k < n; k++)
            if (pthread_create(&th[n_th], NULL, worker, &p) == 0) n_th++;
    }
    size_t ran = 0;
    for (size_t i = 0; i < n && p.res; i++) {
        entry *e = items[i];
        outcome *o = &p.res[i];
        if (n_th == 0) {
            if (p.stop) break;
            run_one(o, e, node, sock);
            o->done = 1;
        } else {
            pthread_mutex_lock(&p.mu);
            while (!o->done && !(p.stop && i >= p.next)) pthread_cond_wait(&p.cv, &p.mu);
            int skipped = !o->done;
            pthread_mutex_unlock(&p.mu);
            if (skipped) break; /* never started: --stop-on-error */
        }
        ran++;
        const char *label = e->label[0] ? e->label : e->command;
        if (out && json) {
            if (i) fputs(", ", out);
            print_entry_json_head(out, e);
            if (o->rc == 0) {
                fputs(", ", out);
                print_result(out, 1, o);
            } else {
                fprintf(out, ", \"error\": ");
                ward_ctl_json_str(out, o->msg);
            }
            fputc('}', out);
        } else if (out) {
            fprintf(out, "%s== %zu. %s (line %zu)\n", i ? "\n" : "", i + 1, label, e->line);
            if (e->label[0]) fprintf(out, "   %s\n", e->command);
            if (o->rc == 0) {
                print_result(out, 0, o);
            } else {
                fprintf(out, "failed: %s\n", o->msg);
            }
        }
        if (out) fflush(out);
        if (o->rc == 0) {
            sum->done++;
        } else {
            if (sum->failed++ == 0) {
                sum->first_failed_line = e->line;
                snprintf(sum->first_failed_msg, sizeof sum->first_failed_msg, "%.*s",
                         (int)sizeof sum->first_failed_msg - 1, o->msg);
            }
            if (stop_on_error) {
                pthread_mutex_lock(&p.mu);
                p.stop = 1;
                pthread_mutex_unlock(&p.mu);
                if (n_th == 0) break;
                /* Lines already running finish; they are not reported. */
            }
        }
        if (stop_on_error && p.stop) break;
    }
    for (size_t k = 0; k < n_th; k++) pthread_join(th[k], NULL);
    for (size_t i = 0; p.res && i < n; i++) outcome_clear(&p.res[i]);
    free(p.res);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    sum->wall_ms = now_ms() - t0;
    sum->not_run = n - ran;
    if (out && json) {
        fprintf(out, "], \"failed\": %zu, \"not_run\": %zu, \"wall_ms\": ", sum->failed,
                sum->not_run);
        ward_ctl_json_num(out, sum->wall_ms);
        fprintf(out, "}\n");
    } else if (out) {
        fprintf(out, "\n%zu computation%s in %.2f s: %zu done, %zu failed", n, n == 1 ? "" : "s",
                sum->wall_ms / 1000.0, sum->done, sum->failed);
        if (sum->not_run) fprintf(out, ", %zu not run (--stop-on-error)", sum->not_run);
        fprintf(out, "\n");
    }
}

static void free_items(entry **items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        entry_free(items[i]);
        free(items[i]);
    }
    free(items);
}

int ward_run_script(ward_run_summary *sum, const char *node, const char *sock, const char *script,
                    unsigned parallel) {
    entry **items;
    size_t n;
    int ex = parse_script(&items, &n, script);
    if (ex) return ex;
    run_items(sum, NULL, items, n, node, sock, 0, 0, parallel);
    free_items(items, n);
    return sum->failed ? 1 : 0;
}

int ward_cmd_run(const char *node, const char *sock, int json, int argc, char **argv) {
    const char *script = NULL;
    int stop_on_error = 0;
    unsigned parallel = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--stop-on-error") == 0) {
            stop_on_error = 1;
        } else if (strcmp(argv[i], "--parallel") == 0) {
            char *end = NULL;
            unsigned long v = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
            if (i + 1 >= argc || !end || *end != '\0' || v < 1 || v > WARD_RUN_MAX_PARALLEL) {
                fprintf(stderr, "ward: error: --parallel takes a number from 1 to %d\n",
                        WARD_RUN_MAX_PARALLEL);
                return 2;
            }
            parallel = (unsigned)v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "ward: error: unknown option '%s' for run\n", argv[i]);
            return 2;
        } else if (!script) {
            script = argv[i];
        } else {
            fprintf(stderr, "ward: error: unexpected argument '%s' for run\n", argv[i]);
            return 2;
        }
    }
    if (!script) {
        fprintf(stderr, "ward: error: usage: ward --node X run SCRIPT [--json] [--stop-on-error] "
                        "[--parallel N]\n");
        return 2;
    }
    entry **items;
    size_t n;
    int ex = parse_script(&items, &n, script);
    if (ex) return ex;
    ward_run_summary sum;
    run_items(&sum, stdout, items, n, node, sock, json, stop_on_error, parallel);
    if (sum.failed)
        fprintf(stderr, "ward: error: %zu of %zu computation%s failed; the first at %s:%zu: %s\n",
                sum.failed, n, n == 1 ? "" : "s", script, sum.first_failed_line,
                sum.first_failed_msg);
    free_items(items, n);
    return sum.failed ? 1 : 0;
}
