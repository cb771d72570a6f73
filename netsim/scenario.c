#include "scenario.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "learn.h"
#include "learn_data.h"
#include "readfile.h"

#define SC_MAX_PAIRS 24
#define SC_MAX_FILE (16u << 20)

/* ---- values -------------------------------------------------------------------- */

int ward_scenario_parse_uint(uint64_t *out, const char *text, uint64_t max) {
    WARD_ARG_CHECK(out != NULL && text != NULL);
    if (text[0] < '0' || text[0] > '9') return WARD_EPARSE;
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return WARD_EPARSE;
        if (v > (UINT64_MAX - 9) / 10) return WARD_EPARSE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max) return WARD_EPARSE;
    *out = v;
    return WARD_OK;
}

static int parse_int(int64_t *out, const char *text, int64_t lo, int64_t hi) {
    int neg = text[0] == '-';
    const char *p = text + (neg || text[0] == '+');
    uint64_t v;
    if (ward_scenario_parse_uint(&v, p, (uint64_t)INT64_MAX) != WARD_OK) return WARD_EPARSE;
    int64_t s = neg ? -(int64_t)v : (int64_t)v;
    if (s < lo || s > hi) return WARD_EPARSE;
    *out = s;
    return WARD_OK;
}

static int parse_double(double *out, const char *text) {
    if (!text[0]) return WARD_EPARSE;
    for (const char *p = text; *p; p++)
        if (!strchr("0123456789.-+eE", *p)) return WARD_EPARSE; /* no inf, nan, hex */
    errno = 0;
    char *end = NULL;
    double v = strtod(text, &end);
    if (errno || !end || *end || !isfinite(v)) return WARD_EPARSE;
    *out = v;
    return WARD_OK;
}

int ward_scenario_parse_prob(double *out, const char *text) {
    WARD_ARG_CHECK(out != NULL && text != NULL);
    double v;
    if (parse_double(&v, text) != WARD_OK || v < 0 || v > 1) return WARD_EPARSE;
    *out = v;
    return WARD_OK;
}

static int fail(ward_scenario_error *err, size_t line, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ward_scenario_error *err, size_t line, int code, const char *fmt, ...) {
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    return code;
}

/* A time in ms: digits, optionally followed by "s" for seconds. */
static int parse_time(uint64_t *out, const char *text, ward_scenario_error *err, size_t line,
                      const char *key) {
    if (text[0] == '-') return fail(err, line, WARD_EPARSE, "%s: negative time '%s'", key, text);
    char buf[32];
    size_t n = strlen(text);
    uint64_t mult = 1;
    if (n > 0 && n < sizeof buf && text[n - 1] == 's' && !(n > 1 && text[n - 2] == 'm')) {
        memcpy(buf, text, n - 1);
        buf[n - 1] = '\0';
        mult = 1000;
    } else if (n > 2 && n < sizeof buf && strcmp(text + n - 2, "ms") == 0) {
        memcpy(buf, text, n - 2);
        buf[n - 2] = '\0';
    } else if (n < sizeof buf) {
        memcpy(buf, text, n + 1);
    } else {
        buf[0] = '\0';
    }
    uint64_t v;
    if (ward_scenario_parse_uint(&v, buf, WARD_SC_MAX_TIME_MS / mult) != WARD_OK)
        return fail(err, line, WARD_EPARSE, "%s: '%s' is not a time in ms (0..%llu)", key, text,
                    (unsigned long long)WARD_SC_MAX_TIME_MS);
    *out = v * mult;
    return WARD_OK;
}

static int parse_node(uint32_t *out, const char *text, size_t nodes, ward_scenario_error *err,
                      size_t line, const char *key) {
    const char *p = strncmp(text, "node", 4) == 0 ? text + 4 : text;
    uint64_t v;
    if (ward_scenario_parse_uint(&v, p, UINT32_MAX) != WARD_OK)
        return fail(err, line, WARD_EPARSE, "%s: '%s' is not a node (1..%zu or node1..node%zu)", key,
                    text, nodes, nodes);
    if (v < 1 || v > nodes)
        return fail(err, line, WARD_EPARSE, "%s: node %s is out of range (the city has %zu nodes)",
                    key, text, nodes);
    *out = (uint32_t)(v - 1);
    return WARD_OK;
}

/* "all" (NULL) or a comma-separated list of nodes, as flags. */
static int parse_nodes(uint8_t **out, const char *text, size_t nodes, ward_scenario_error *err,
                       size_t line, const char *key) {
    *out = NULL;
    if (strcmp(text, "all") == 0) return WARD_OK;
    uint8_t *flags = calloc(nodes, 1);
    if (!flags) return fail(err, line, WARD_ENOMEM, "out of memory");
    const char *p = text;
    for (size_t guard = 0; guard <= nodes + 1; guard++) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char one[24];
        if (n == 0 || n >= sizeof one) {
            free(flags);
            return fail(err, line, WARD_EPARSE, "%s: bad node list '%s'", key, text);
        }
        memcpy(one, p, n);
        one[n] = '\0';
        uint32_t idx = 0;
        int rc = parse_node(&idx, one, nodes, err, line, key);
        if (rc != WARD_OK) {
            free(flags);
            return rc;
        }
        if (flags[idx]) {
            free(flags);
            return fail(err, line, WARD_EPARSE, "%s: node %s listed twice", key, one);
        }
        flags[idx] = 1;
        if (!comma) {
            *out = flags;
            return WARD_OK;
        }
        p = comma + 1;
    }
    free(flags);
    return fail(err, line, WARD_EPARSE, "%s: bad node list '%s'", key, text);
}

/* "1,2/3,4,5": groups separated by '/'; unlisted nodes form one more group. */
static int parse_groups(uint32_t **out, const char *text, size_t nodes, ward_scenario_error *err,
                        size_t line) {
    *out = NULL;
    uint32_t *g = calloc(nodes, sizeof *g);
    uint8_t *seen = calloc(nodes, 1);
    if (!g || !seen) {
        free(g);
        free(seen);
        return fail(err, line, WARD_ENOMEM, "out of memory");
    }
    size_t n_groups = 0;
    const char *p = text;
    int rc = WARD_OK;
    for (size_t guard = 0; guard <= nodes + 1 && rc == WARD_OK; guard++) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char part[WARD_SC_MAX_LINE];
        if (n == 0 || n >= sizeof part) {
            rc = fail(err, line, WARD_EPARSE, "groups: empty group in '%s'", text);
            break;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        uint8_t *flags = NULL;
        if (strcmp(part, "all") == 0) {
            rc = fail(err, line, WARD_EPARSE, "groups: list nodes, not 'all'");
            break;
        }
        rc = parse_nodes(&flags, part, nodes, err, line, "groups");
        n_groups++;
        for (size_t i = 0; rc == WARD_OK && i < nodes; i++) {
            if (!flags[i]) continue;
            if (seen[i]) rc = fail(err, line, WARD_EPARSE, "groups: node%zu is in two groups", i + 1);
            seen[i] = 1;
            g[i] = (uint32_t)n_groups;
        }
        free(flags);
        if (!slash) break;
        p = slash + 1;
    }
    size_t unlisted = 0;
    for (size_t i = 0; i < nodes; i++) unlisted += !seen[i];
    free(seen);
    if (rc == WARD_OK && n_groups + (unlisted > 0) < 2)
        rc = fail(err, line, WARD_EPARSE, "groups: a partition needs at least two groups");
    if (rc != WARD_OK) {
        free(g);
        return rc;
    }
    *out = g;
    return WARD_OK;
}

/* ---- items ------------------------------------------------------------------------- */

void ward_scenario_init(ward_scenario *sc, size_t nodes) {
    memset(sc, 0, sizeof *sc);
    sc->nodes = nodes;
}

static void item_free(ward_sc_item *it) {
    free(it->parties);
    free(it->output);
    free(it->groups);
    it->parties = it->output = NULL;
    it->groups = NULL;
}

void ward_scenario_free(ward_scenario *sc) {
    if (!sc) return;
    for (size_t i = 0; i < sc->n; i++) item_free(&sc->items[i]);
    free(sc->items);
    sc->items = NULL;
    sc->n = sc->cap = 0;
}

static int dup_flags(uint8_t **dst, const uint8_t *src, size_t n) {
    *dst = NULL;
    if (!src) return WARD_OK;
    *dst = malloc(n);
    if (!*dst) return WARD_ENOMEM;
    memcpy(*dst, src, n);
    return WARD_OK;
}

int ward_scenario_add(ward_scenario *sc, const ward_sc_item *item) {
    WARD_ARG_CHECK(sc != NULL && item != NULL);
    if (sc->n >= WARD_SC_MAX_ITEMS) return WARD_ETOOBIG;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 16;
        ward_sc_item *it = realloc(sc->items, cap * sizeof *it);
        if (!it) return WARD_ENOMEM;
        sc->items = it;
        sc->cap = cap;
    }
    ward_sc_item copy = *item;
    int rc = dup_flags(&copy.parties, item->parties, sc->nodes);
    if (rc == WARD_OK) rc = dup_flags(&copy.output, item->output, sc->nodes);
    copy.groups = NULL;
    if (rc == WARD_OK && item->groups) {
        copy.groups = malloc(sc->nodes * sizeof *copy.groups);
        if (!copy.groups) rc = WARD_ENOMEM;
        else memcpy(copy.groups, item->groups, sc->nodes * sizeof *copy.groups);
    }
    if (rc != WARD_OK) {
        item_free(&copy);
        return rc;
    }
    sc->items[sc->n++] = copy;
    return WARD_OK;
}

uint64_t ward_scenario_last_ms(const ward_scenario *sc) {
    uint64_t last = 0;
    for (size_t i = 0; i < sc->n; i++) {
        const ward_sc_item *it = &sc->items[i];
        if (it->at_ms > last) last = it->at_ms;
        if (it->has_until && it->until_ms > last) last = it->until_ms;
    }
    return last;
}

/* ---- lines ------------------------------------------------------------------------- */

typedef struct {
    char *key, *val;
    int used;
} sc_pair;

static int is_space(char c) { return c == ' ' || c == '\t'; }

/* Splits a line (modified in place) into the verb and key=value pairs. */
static int tokenize(char *line, char **verb, sc_pair *pairs, size_t *n_pairs,
                    ward_scenario_error *err, size_t lineno) {
    *verb = NULL;
    *n_pairs = 0;
    char *p = line;
    for (size_t guard = 0; guard < WARD_SC_MAX_LINE; guard++) {
        while (is_space(*p)) p++;
        if (*p == '\0' || *p == '#') return WARD_OK;
        char *tok = p;
        if (!*verb) {
            while (*p && !is_space(*p) && *p != '#') p++;
            char c = *p;
            *p = '\0';
            *verb = tok;
            if (c == '\0' || c == '#') return WARD_OK;
            p++;
            continue;
        }
        char *eq = tok;
        while (*eq && *eq != '=' && !is_space(*eq) && *eq != '#') eq++;
        if (*eq != '=' || eq == tok) {
            *eq = '\0';
            return fail(err, lineno, WARD_EPARSE, "expected key=value, found '%.40s'", tok);
        }
        *eq = '\0';
        char *val = eq + 1;
        int stop = 0;
        if (*val == '"') {
            char *r = val + 1, *w = val;
            for (size_t left = WARD_SC_MAX_LINE;; left--) {
                if (left == 0) return fail(err, lineno, WARD_EPARSE, "%.40s: unterminated quote", tok);
                if (*r == '\0') return fail(err, lineno, WARD_EPARSE, "%.40s: unterminated quote", tok);
                if (*r == '\\' && (r[1] == '"' || r[1] == '\\')) {
                    *w++ = r[1];
                    r += 2;
                    continue;
                }
                if (*r == '"') break;
                *w++ = *r++;
            }
            p = r + 1;
            if (*p && !is_space(*p) && *p != '#')
                return fail(err, lineno, WARD_EPARSE, "%.40s: text after the closing quote", tok);
            *w = '\0';
        } else {
            p = val;
            while (*p && !is_space(*p) && *p != '#') p++;
            char c = *p;
            *p = '\0';
            if (c == '\0' || c == '#') stop = 1;
            else p++;
        }
        if (*n_pairs == SC_MAX_PAIRS) return fail(err, lineno, WARD_EPARSE, "too many keys");
        for (size_t i = 0; i < *n_pairs; i++)
            if (strcmp(pairs[i].key, tok) == 0)
                return fail(err, lineno, WARD_EPARSE, "key '%.40s' given twice", tok);
        pairs[*n_pairs] = (sc_pair){.key = tok, .val = val, .used = 0};
        (*n_pairs)++;
        if (stop) return WARD_OK;
    }
    return WARD_OK;
}

static const char *get(sc_pair *pairs, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(pairs[i].key, key) == 0) {
            pairs[i].used = 1;
            return pairs[i].val;
        }
    }
    return NULL;
}

static int check_keys(const char *verb, const sc_pair *pairs, size_t n, const char *allowed,
                      ward_scenario_error *err, size_t lineno) {
    for (size_t i = 0; i < n; i++) {
        char want[48];
        snprintf(want, sizeof want, " %s ", pairs[i].key);
        if (!strstr(allowed, want))
            return fail(err, lineno, WARD_EPARSE, "unknown key '%s' for '%s' (keys:%s)", pairs[i].key,
                        verb, allowed);
    }
    return WARD_OK;
}

static int parse_at(ward_sc_item *it, sc_pair *pairs, size_t n, int required,
                    ward_scenario_error *err, size_t lineno) {
    const char *at = get(pairs, n, "at");
    if (!at) {
        if (required) return fail(err, lineno, WARD_EPARSE, "missing at=TIME");
        return WARD_OK;
    }
    return parse_time(&it->at_ms, at, err, lineno, "at");
}

static int parse_until(ward_sc_item *it, sc_pair *pairs, size_t n, const char *key,
                       ward_scenario_error *err, size_t lineno) {
    const char *v = get(pairs, n, key);
    if (!v) return WARD_OK;
    int rc = parse_time(&it->until_ms, v, err, lineno, key);
    if (rc != WARD_OK) return rc;
    if (it->until_ms <= it->at_ms)
        return fail(err, lineno, WARD_EPARSE, "%s=%s is not after at=%llu", key, v,
                    (unsigned long long)it->at_ms);
    it->has_until = 1;
    return WARD_OK;
}

static int parse_link(ward_sc_item *it, sc_pair *pairs, size_t n, size_t nodes,
                      ward_scenario_error *err, size_t lineno) {
    const char *a = get(pairs, n, "a"), *b = get(pairs, n, "b");
    it->a = it->b = -1;
    if ((a == NULL) != (b == NULL)) return fail(err, lineno, WARD_EPARSE, "give both a= and b=, or neither");
    int rc;
    if (a) {
        uint32_t x, y;
        if ((rc = parse_node(&x, a, nodes, err, lineno, "a")) != WARD_OK) return rc;
        if ((rc = parse_node(&y, b, nodes, err, lineno, "b")) != WARD_OK) return rc;
        if (x == y) return fail(err, lineno, WARD_EPARSE, "a link joins two different nodes");
        it->a = x;
        it->b = y;
    }
    const char *v;
    uint64_t u;
    if ((v = get(pairs, n, "latency"))) {
        if (ward_scenario_parse_uint(&u, v, 60000) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE, "latency: '%s' is not 0..60000 ms", v);
        it->link.latency_ms = (uint32_t)u;
        it->link_set |= WARD_SC_SET_LATENCY;
    }
    if ((v = get(pairs, n, "jitter"))) {
        if (ward_scenario_parse_uint(&u, v, 60000) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE, "jitter: '%s' is not 0..60000 ms", v);
        it->link.jitter_ms = (uint32_t)u;
        it->link_set |= WARD_SC_SET_JITTER;
    }
    if ((v = get(pairs, n, "loss"))) {
        if (ward_scenario_parse_prob(&it->link.loss, v) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE, "loss: '%s' is not a probability in [0, 1]", v);
        it->link_set |= WARD_SC_SET_LOSS;
    }
    if ((v = get(pairs, n, "bandwidth"))) {
        if (ward_scenario_parse_uint(&u, v, 100000000) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE, "bandwidth: '%s' is not 0..100000000 kbit/s", v);
        it->link.bandwidth_kbps = (uint32_t)u;
        it->link_set |= WARD_SC_SET_BANDWIDTH;
    }
    if (!it->link_set) return fail(err, lineno, WARD_EPARSE, "link sets nothing (latency, jitter, loss, bandwidth)");
    return WARD_OK;
}

static int parse_session(ward_sc_item *it, sc_pair *pairs, size_t n, size_t nodes,
                         ward_scenario_error *err, size_t lineno) {
    const char *op = get(pairs, n, "op"), *table = get(pairs, n, "table");
    const char *column = get(pairs, n, "column"), *group = get(pairs, n, "group_by");
    const char *where = get(pairs, n, "where"), *from = get(pairs, n, "from");
    const char *parties = get(pairs, n, "parties"), *output = get(pairs, n, "output");
    const char *epsilon = get(pairs, n, "epsilon");
    if (!op || !table || !from) return fail(err, lineno, WARD_EPARSE, "session needs op=, table= and from=");
    ward_city_query *q = &it->query;
    if (strcmp(op, "sum") == 0) q->op = WARD_CITY_SUM;
    else if (strcmp(op, "count") == 0) q->op = WARD_CITY_COUNT;
    else if (strcmp(op, "mean") == 0) q->op = WARD_CITY_MEAN;
    else if (strcmp(op, "histogram") == 0) q->op = WARD_CITY_HISTOGRAM;
    else return fail(err, lineno, WARD_EPARSE, "op: '%s' is not sum, count, mean or histogram", op);
    if (!column && q->op != WARD_CITY_COUNT)
        return fail(err, lineno, WARD_EPARSE, "%s needs column=", op);
    if (strlen(table) >= sizeof q->table || (column && strlen(column) >= sizeof q->column) ||
        (group && strlen(group) >= sizeof q->group_by) || (where && strlen(where) >= sizeof q->where))
        return fail(err, lineno, WARD_ETOOBIG, "a name or filter is too long");
    snprintf(q->table, sizeof q->table, "%s", table);
    snprintf(q->column, sizeof q->column, "%s", column ? column : "");
    snprintf(q->group_by, sizeof q->group_by, "%s", group ? group : "");
    snprintf(q->where, sizeof q->where, "%s", where ? where : "");
    if (epsilon && (parse_double(&it->epsilon, epsilon) != WARD_OK || !(it->epsilon > 0) ||
                    it->epsilon > WARD_SC_MAX_EPSILON))
        return fail(err, lineno, WARD_EPARSE, "epsilon: '%.40s' is not a number in (0, %g]", epsilon,
                    (double)WARD_SC_MAX_EPSILON);
    char why[160];
    int rc = ward_city_query_check(q, why, sizeof why);
    if (rc != WARD_OK) return fail(err, lineno, rc, "%s", why);
    if ((rc = parse_node(&it->node, from, nodes, err, lineno, "from")) != WARD_OK) return rc;
    if (parties && (rc = parse_nodes(&it->parties, parties, nodes, err, lineno, "parties")) != WARD_OK)
        return rc;
    if (it->parties) it->parties[it->node] = 1; /* the proposer always takes part */
    if (output && (rc = parse_nodes(&it->output, output, nodes, err, lineno, "output")) != WARD_OK)
        return rc;
    for (size_t i = 0; it->output && it->parties && i < nodes; i++)
        if (it->output[i] && !it->parties[i])
            return fail(err, lineno, WARD_EPARSE, "output: node%zu is not a party", i + 1);
    return WARD_OK;
}

static int parse_train(ward_sc_item *it, sc_pair *pairs, size_t n, size_t nodes,
                       ward_scenario_error *err, size_t lineno) {
    const char *table = get(pairs, n, "table"), *features = get(pairs, n, "features");
    const char *label = get(pairs, n, "label"), *model = get(pairs, n, "model");
    const char *rounds = get(pairs, n, "rounds"), *pace = get(pairs, n, "pace");
    const char *from = get(pairs, n, "from"), *parties = get(pairs, n, "parties");
    if (!table || !features || !label || !rounds || !from)
        return fail(err, lineno, WARD_EPARSE, "train needs table=, features=, label=, rounds= and from=");
    if (strlen(table) >= sizeof it->query.table || strlen(features) >= sizeof it->features ||
        strlen(label) >= sizeof it->label)
        return fail(err, lineno, WARD_ETOOBIG, "a table name, feature list or label is too long");
    snprintf(it->query.table, sizeof it->query.table, "%s", table);
    snprintf(it->features, sizeof it->features, "%s", features);
    snprintf(it->label, sizeof it->label, "%s", label);
    ward_learn_spec *ls = NULL;
    char why[160];
    int rc = ward_learn_spec_parse(&ls, why, sizeof why, features, label);
    ward_learn_head head = rc == WARD_OK ? ward_learn_spec_head(ls) : WARD_LEARN_REGRESSION;
    ward_learn_spec_free(ls);
    if (rc != WARD_OK) return fail(err, lineno, WARD_EPARSE, "%s", why);
    ward_learn_kind kind = head == WARD_LEARN_REGRESSION ? WARD_LEARN_LINEAR
                           : head == WARD_LEARN_BINARY   ? WARD_LEARN_LOGREG
                                                         : WARD_LEARN_SOFTMAX;
    if (model && ward_learn_kind_parse(&kind, model) != WARD_OK)
        return fail(err, lineno, WARD_EPARSE, "model: '%.40s' is not linear, logreg, softmax or mlp", model);
    it->model = (uint32_t)kind;
    uint64_t u;
    if (ward_scenario_parse_uint(&u, rounds, WARD_SC_MAX_ROUNDS) != WARD_OK || u < 1)
        return fail(err, lineno, WARD_EPARSE, "rounds: '%.40s' is not 1..%d", rounds, WARD_SC_MAX_ROUNDS);
    it->rounds = (uint32_t)u;
    if (pace && ward_scenario_parse_uint(&u, pace, 600000) != WARD_OK)
        return fail(err, lineno, WARD_EPARSE, "pace: '%.40s' is not 0..600000 ms", pace);
    it->pace_ms = pace ? (uint32_t)u : 0;
    if ((rc = parse_node(&it->node, from, nodes, err, lineno, "from")) != WARD_OK) return rc;
    if (parties && (rc = parse_nodes(&it->parties, parties, nodes, err, lineno, "parties")) != WARD_OK)
        return rc;
    if (it->parties) it->parties[it->node] = 1;
    return WARD_OK;
}

static int parse_line(ward_scenario *sc, ward_sc_item *it, char *line, ward_scenario_error *err,
                      size_t lineno) {
    char *verb;
    sc_pair pairs[SC_MAX_PAIRS];
    size_t n;
    int rc = tokenize(line, &verb, pairs, &n, err, lineno);
    if (rc != WARD_OK || !verb) return rc;
    memset(it, 0, sizeof *it);
    it->line = lineno;
    it->a = it->b = -1;
    size_t N = sc->nodes;
    const char *v;
    if (strcmp(verb, "end") == 0) {
        if ((rc = check_keys(verb, pairs, n, " at ", err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        if (sc->has_end) return fail(err, lineno, WARD_EPARSE, "a second 'end'");
        sc->has_end = 1;
        sc->end_ms = it->at_ms;
        return 1; /* not an item */
    }
    if (strcmp(verb, "link") == 0) {
        it->kind = WARD_SC_LINK;
        if ((rc = check_keys(verb, pairs, n, " at a b latency jitter loss bandwidth ", err, lineno)) != WARD_OK)
            return rc;
        if ((rc = parse_at(it, pairs, n, 0, err, lineno)) != WARD_OK) return rc;
        return parse_link(it, pairs, n, N, err, lineno);
    }
    if (strcmp(verb, "clock") == 0) {
        it->kind = WARD_SC_CLOCK;
        if ((rc = check_keys(verb, pairs, n, " node skew drift ", err, lineno)) != WARD_OK) return rc;
        if (!(v = get(pairs, n, "node"))) return fail(err, lineno, WARD_EPARSE, "clock needs node=");
        if ((rc = parse_node(&it->node, v, N, err, lineno, "node")) != WARD_OK) return rc;
        int64_t x;
        if ((v = get(pairs, n, "skew"))) {
            if (parse_int(&x, v, -1000000000LL, 1000000000LL) != WARD_OK)
                return fail(err, lineno, WARD_EPARSE, "skew: '%s' is not an offset in ms (|skew| <= 1e9)", v);
            it->clock.skew_ms = x;
        }
        if ((v = get(pairs, n, "drift"))) {
            if (parse_int(&x, v, -WARD_SIM_MAX_DRIFT_PPM, WARD_SIM_MAX_DRIFT_PPM) != WARD_OK)
                return fail(err, lineno, WARD_EPARSE, "drift: '%s' is not a rate in ppm (|drift| <= %d)", v,
                            WARD_SIM_MAX_DRIFT_PPM);
            it->clock.drift_ppm = (int32_t)x;
        }
        return WARD_OK;
    }
    if (strcmp(verb, "session") == 0) {
        it->kind = WARD_SC_SESSION;
        if ((rc = check_keys(verb, pairs, n,
                             " at op table column group_by where from parties output epsilon ", err, lineno)) != WARD_OK)
            return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        return parse_session(it, pairs, n, N, err, lineno);
    }
    if (strcmp(verb, "train") == 0) {
        it->kind = WARD_SC_TRAIN;
        if ((rc = check_keys(verb, pairs, n, " at from table features label model rounds pace parties ", err,
                             lineno)) != WARD_OK)
            return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        return parse_train(it, pairs, n, N, err, lineno);
    }
    if (strcmp(verb, "partition") == 0) {
        it->kind = WARD_SC_PARTITION;
        if ((rc = check_keys(verb, pairs, n, " at until groups ", err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_until(it, pairs, n, "until", err, lineno)) != WARD_OK) return rc;
        if (!(v = get(pairs, n, "groups"))) return fail(err, lineno, WARD_EPARSE, "partition needs groups=");
        return parse_groups(&it->groups, v, N, err, lineno);
    }
    if (strcmp(verb, "crash") == 0 || strcmp(verb, "stall") == 0) {
        int crash = verb[0] == 'c';
        it->kind = crash ? WARD_SC_CRASH : WARD_SC_STALL;
        if ((rc = check_keys(verb, pairs, n, crash ? " at node restart " : " at node until ", err, lineno)) !=
            WARD_OK)
            return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_until(it, pairs, n, crash ? "restart" : "until", err, lineno)) != WARD_OK) return rc;
        if (!(v = get(pairs, n, "node"))) return fail(err, lineno, WARD_EPARSE, "%s needs node=", verb);
        return parse_node(&it->node, v, N, err, lineno, "node");
    }
    if (strcmp(verb, "tamper") == 0) {
        it->kind = WARD_SC_TAMPER;
        if ((rc = check_keys(verb, pairs, n, " at until from to mode rate ", err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_until(it, pairs, n, "until", err, lineno)) != WARD_OK) return rc;
        const char *from = get(pairs, n, "from"), *to = get(pairs, n, "to");
        if (!from || !to) return fail(err, lineno, WARD_EPARSE, "tamper needs from= and to=");
        if ((rc = parse_node(&it->node, from, N, err, lineno, "from")) != WARD_OK) return rc;
        if ((rc = parse_node(&it->to, to, N, err, lineno, "to")) != WARD_OK) return rc;
        if (it->node == it->to) return fail(err, lineno, WARD_EPARSE, "from and to are the same node");
        it->mode = WARD_SIM_TAMPER_MIX;
        if ((v = get(pairs, n, "mode"))) {
            it->mode = -1;
            for (int m = WARD_SIM_TAMPER_FLIP; m <= WARD_SIM_TAMPER_MIX; m++)
                if (strcmp(v, ward_scenario_tamper_name(m)) == 0) it->mode = m;
            if (it->mode < 0)
                return fail(err, lineno, WARD_EPARSE, "mode: '%s' is not flip, truncate, replay, reorder or mix", v);
        }
        it->rate = 0.2;
        if ((v = get(pairs, n, "rate")) && ward_scenario_parse_prob(&it->rate, v) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE, "rate: '%s' is not a probability in [0, 1]", v);
        return WARD_OK;
    }
    if (strcmp(verb, "outsider") == 0) {
        it->kind = WARD_SC_OUTSIDER;
        if ((rc = check_keys(verb, pairs, n, " at until mode ", err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_at(it, pairs, n, 1, err, lineno)) != WARD_OK) return rc;
        if ((rc = parse_until(it, pairs, n, "until", err, lineno)) != WARD_OK) return rc;
        it->mode = WARD_SIM_OUTSIDER_IMPERSONATE;
        if ((v = get(pairs, n, "mode"))) {
            if (strcmp(v, "impersonate") == 0) it->mode = WARD_SIM_OUTSIDER_IMPERSONATE;
            else if (strcmp(v, "unknown") == 0) it->mode = WARD_SIM_OUTSIDER_UNKNOWN;
            else return fail(err, lineno, WARD_EPARSE, "mode: '%s' is not impersonate or unknown", v);
        }
        return WARD_OK;
    }
    return fail(err, lineno, WARD_EPARSE,
                "unknown directive '%.40s' (link, clock, session, partition, crash, stall, tamper, "
                "outsider, train, end)",
                verb);
}

int ward_scenario_parse(ward_scenario *sc, ward_scenario_error *err, const char *text, size_t len) {
    WARD_ARG_CHECK(sc != NULL && err != NULL && (text != NULL || len == 0) && sc->nodes >= 1);
    memset(err, 0, sizeof *err);
    size_t first = sc->n;
    int had_end = sc->has_end;
    uint64_t end_before = sc->end_ms;
    int rc = WARD_OK;
    size_t lineno = 0, off = 0;
    int outsiders = 0;
    for (size_t i = 0; i < sc->n; i++) outsiders += sc->items[i].kind == WARD_SC_OUTSIDER;
    while (off < len && rc == WARD_OK) {
        lineno++;
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
        if (n && text[off + n - 1] == '\r') n--;
        if (n >= WARD_SC_MAX_LINE) {
            rc = fail(err, lineno, WARD_ETOOBIG, "line longer than %d bytes", WARD_SC_MAX_LINE - 1);
            break;
        }
        char line[WARD_SC_MAX_LINE];
        memcpy(line, text + off, n);
        line[n] = '\0';
        off += nl ? (size_t)(nl - (text + off)) + 1 : len - off;
        if (memchr(line, '\0', n)) {
            rc = fail(err, lineno, WARD_EPARSE, "a NUL byte in the line");
            break;
        }
        ward_sc_item it;
        memset(&it, 0, sizeof it);
        int r = parse_line(sc, &it, line, err, lineno);
        if (r < 0) {
            item_free(&it);
            rc = r;
            break;
        }
        if (r == 1 || it.kind == 0) continue; /* end, or an empty line */
        if (it.kind == WARD_SC_OUTSIDER && ++outsiders > WARD_SIM_MAX_OUTSIDERS) {
            item_free(&it);
            rc = fail(err, lineno, WARD_ETOOBIG, "at most %d outsiders", WARD_SIM_MAX_OUTSIDERS);
            break;
        }
        r = ward_scenario_add(sc, &it);
        item_free(&it);
        if (r != WARD_OK) rc = fail(err, lineno, r, "%s", r == WARD_ETOOBIG ? "too many directives" : "out of memory");
    }
    if (rc == WARD_OK && sc->has_end) {
        uint64_t last = ward_scenario_last_ms(sc);
        if (last > sc->end_ms) {
            size_t at_line = 0;
            for (size_t i = 0; i < sc->n; i++)
                if (sc->items[i].at_ms == last || (sc->items[i].has_until && sc->items[i].until_ms == last))
                    at_line = sc->items[i].line;
            rc = fail(err, at_line, WARD_EPARSE, "happens at %llu ms, after end at=%llu",
                      (unsigned long long)last, (unsigned long long)sc->end_ms);
        }
    }
    if (rc != WARD_OK) {
        for (size_t i = first; i < sc->n; i++) item_free(&sc->items[i]);
        sc->n = first;
        sc->has_end = had_end;
        sc->end_ms = end_before;
    }
    return rc;
}

int ward_scenario_load(ward_scenario *sc, ward_scenario_error *err, const char *path) {
    WARD_ARG_CHECK(sc != NULL && err != NULL && path != NULL);
    memset(err, 0, sizeof *err);
    char *buf = NULL;
    size_t len = 0;
    int rc = ward_read_file(&buf, &len, path, SC_MAX_FILE);
    if (rc == WARD_ENOTFOUND) return fail(err, 0, WARD_ENOTFOUND, "cannot open %s", path);
    if (rc == WARD_ETOOBIG)
        return fail(err, 0, WARD_ETOOBIG, "%s is larger than %u bytes", path, SC_MAX_FILE);
    if (rc == WARD_ENOMEM) return fail(err, 0, WARD_ENOMEM, "out of memory");
    if (rc != WARD_OK) return fail(err, 0, WARD_EIO, "cannot read %s", path);
    if (rc == WARD_OK) rc = ward_scenario_parse(sc, err, buf, len);
    free(buf);
    return rc;
}

/* ---- command-line specs ---------------------------------------------------------- */

/* "START-END" or "START" (end optional when allow_open). */
static int parse_span(const char *s, uint64_t *start, uint64_t *end, int *has_end,
                      ward_scenario_error *err, const char *what) {
    char buf[64];
    if (strlen(s) >= sizeof buf) return fail(err, 0, WARD_EPARSE, "%s: times too long", what);
    snprintf(buf, sizeof buf, "%s", s);
    char *dash = strchr(buf, '-');
    *has_end = 0;
    if (dash == buf) return fail(err, 0, WARD_EPARSE, "%s: negative time in '%s'", what, s);
    if (dash) *dash = '\0';
    int rc = parse_time(start, buf, err, 0, what);
    if (rc != WARD_OK) return rc;
    if (dash) {
        if ((rc = parse_time(end, dash + 1, err, 0, what)) != WARD_OK) return rc;
        if (*end <= *start) return fail(err, 0, WARD_EPARSE, "%s: the end is not after the start", what);
        *has_end = 1;
    }
    return WARD_OK;
}

int ward_scenario_add_partition_spec(ward_scenario *sc, ward_scenario_error *err, const char *spec) {
    WARD_ARG_CHECK(sc != NULL && err != NULL && spec != NULL);
    memset(err, 0, sizeof *err);
    const char *at = strchr(spec, '@');
    if (!at) return fail(err, 0, WARD_EPARSE, "--partition: expected GROUPS@START-END, e.g. 1,2/3,4@2000-9000");
    char groups[WARD_SC_MAX_LINE];
    size_t n = (size_t)(at - spec);
    if (n == 0 || n >= sizeof groups) return fail(err, 0, WARD_EPARSE, "--partition: no groups before '@'");
    memcpy(groups, spec, n);
    groups[n] = '\0';
    ward_sc_item it;
    memset(&it, 0, sizeof it);
    it.kind = WARD_SC_PARTITION;
    it.a = it.b = -1;
    int rc = parse_span(at + 1, &it.at_ms, &it.until_ms, &it.has_until, err, "--partition");
    if (rc == WARD_OK && !it.has_until) rc = fail(err, 0, WARD_EPARSE, "--partition: give START-END");
    if (rc == WARD_OK) rc = parse_groups(&it.groups, groups, sc->nodes, err, 0);
    if (rc == WARD_OK) rc = ward_scenario_add(sc, &it);
    item_free(&it);
    return rc;
}

int ward_scenario_add_crash_spec(ward_scenario *sc, ward_scenario_error *err, const char *spec) {
    WARD_ARG_CHECK(sc != NULL && err != NULL && spec != NULL);
    memset(err, 0, sizeof *err);
    const char *at = strchr(spec, '@');
    if (!at) return fail(err, 0, WARD_EPARSE, "--crash: expected NODE@START[-RESTART], e.g. 3@4000-9000");
    char node[24];
    size_t n = (size_t)(at - spec);
    if (n == 0 || n >= sizeof node) return fail(err, 0, WARD_EPARSE, "--crash: no node before '@'");
    memcpy(node, spec, n);
    node[n] = '\0';
    ward_sc_item it;
    memset(&it, 0, sizeof it);
    it.kind = WARD_SC_CRASH;
    it.a = it.b = -1;
    int rc = parse_node(&it.node, node, sc->nodes, err, 0, "--crash");
    if (rc == WARD_OK) rc = parse_span(at + 1, &it.at_ms, &it.until_ms, &it.has_until, err, "--crash");
    if (rc == WARD_OK) rc = ward_scenario_add(sc, &it);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------ */

const char *ward_scenario_op_name(ward_city_op op) {
    switch (op) {
    case WARD_CITY_SUM: return "sum";
    case WARD_CITY_COUNT: return "count";
    case WARD_CITY_MEAN: return "mean";
    case WARD_CITY_HISTOGRAM: return "histogram";
    default: return "?";
    }
}

const char *ward_scenario_tamper_name(int mode) {
    switch (mode) {
    case WARD_SIM_TAMPER_FLIP: return "flip";
    case WARD_SIM_TAMPER_TRUNCATE: return "truncate";
    case WARD_SIM_TAMPER_REPLAY: return "replay";
    case WARD_SIM_TAMPER_REORDER: return "reorder";
    case WARD_SIM_TAMPER_MIX: return "mix";
    default: return "none";
    }
}

/* The shortest decimal text that reads back as exactly v. */
static const char *shortest(char *buf, size_t cap, double v) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return buf;
}

static void write_nodes(FILE *out, const char *key, const uint8_t *flags, size_t nodes) {
    fprintf(out, " %s=", key);
    if (!flags) {
        fputs("all", out);
        return;
    }
    int first = 1;
    for (size_t i = 0; i < nodes; i++) {
        if (!flags[i]) continue;
        fprintf(out, "%s%zu", first ? "" : ",", i + 1);
        first = 0;
    }
}

static void write_quoted(FILE *out, const char *key, const char *v) {
    fprintf(out, " %s=\"", key);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\') fputc('\\', out);
        fputc(*v, out);
    }
    fputc('"', out);
}

int ward_scenario_write(const ward_scenario *sc, FILE *out) {
    WARD_ARG_CHECK(sc != NULL && out != NULL);
    char num[32];
    for (size_t i = 0; i < sc->n; i++) {
        const ward_sc_item *it = &sc->items[i];
        switch (it->kind) {
        case WARD_SC_LINK:
            fprintf(out, "link at=%llu", (unsigned long long)it->at_ms);
            if (it->a >= 0) fprintf(out, " a=%ld b=%ld", it->a + 1, it->b + 1);
            if (it->link_set & WARD_SC_SET_LATENCY) fprintf(out, " latency=%u", it->link.latency_ms);
            if (it->link_set & WARD_SC_SET_JITTER) fprintf(out, " jitter=%u", it->link.jitter_ms);
            if (it->link_set & WARD_SC_SET_LOSS) fprintf(out, " loss=%s", shortest(num, sizeof num, it->link.loss));
            if (it->link_set & WARD_SC_SET_BANDWIDTH) fprintf(out, " bandwidth=%u", it->link.bandwidth_kbps);
            break;
        case WARD_SC_CLOCK:
            fprintf(out, "clock node=%u skew=%lld drift=%d", it->node + 1, (long long)it->clock.skew_ms,
                    (int)it->clock.drift_ppm);
            break;
        case WARD_SC_SESSION:
            fprintf(out, "session at=%llu op=%s table=%s", (unsigned long long)it->at_ms,
                    ward_scenario_op_name(it->query.op), it->query.table);
            if (it->query.column[0]) fprintf(out, " column=%s", it->query.column);
            if (it->query.group_by[0]) fprintf(out, " group_by=%s", it->query.group_by);
            if (it->query.where[0]) write_quoted(out, "where", it->query.where);
            fprintf(out, " from=%u", it->node + 1);
            write_nodes(out, "parties", it->parties, sc->nodes);
            if (it->output) write_nodes(out, "output", it->output, sc->nodes);
            if (it->epsilon > 0) fprintf(out, " epsilon=%.17g", it->epsilon);
            break;
        case WARD_SC_TRAIN:
            fprintf(out, "train at=%llu from=%u table=%s", (unsigned long long)it->at_ms, it->node + 1,
                    it->query.table);
            write_quoted(out, "features", it->features);
            write_quoted(out, "label", it->label);
            fprintf(out, " model=%s rounds=%u pace=%u", ward_learn_kind_name((ward_learn_kind)it->model),
                    it->rounds, it->pace_ms);
            write_nodes(out, "parties", it->parties, sc->nodes);
            break;
        case WARD_SC_PARTITION: {
            fprintf(out, "partition at=%llu", (unsigned long long)it->at_ms);
            if (it->has_until) fprintf(out, " until=%llu", (unsigned long long)it->until_ms);
            fputs(" groups=", out);
            uint32_t max = 0;
            for (size_t k = 0; k < sc->nodes; k++)
                if (it->groups[k] > max) max = it->groups[k];
            int first_group = 1;
            for (uint32_t g = 0; g <= max; g++) {
                int any = 0;
                for (size_t k = 0; k < sc->nodes; k++) {
                    if (it->groups[k] != g) continue;
                    if (!any && !first_group) fputc('/', out);
                    fprintf(out, "%s%zu", any ? "," : "", k + 1);
                    any = 1;
                }
                if (any) first_group = 0;
            }
            break;
        }
        case WARD_SC_CRASH:
        case WARD_SC_STALL:
            fprintf(out, "%s at=%llu node=%u", it->kind == WARD_SC_CRASH ? "crash" : "stall",
                    (unsigned long long)it->at_ms, it->node + 1);
            if (it->has_until)
                fprintf(out, " %s=%llu", it->kind == WARD_SC_CRASH ? "restart" : "until",
                        (unsigned long long)it->until_ms);
            break;
        case WARD_SC_TAMPER:
            fprintf(out, "tamper at=%llu", (unsigned long long)it->at_ms);
            if (it->has_until) fprintf(out, " until=%llu", (unsigned long long)it->until_ms);
            fprintf(out, " from=%u to=%u mode=%s rate=%s", it->node + 1, it->to + 1,
                    ward_scenario_tamper_name(it->mode), shortest(num, sizeof num, it->rate));
            break;
        case WARD_SC_OUTSIDER:
            fprintf(out, "outsider at=%llu", (unsigned long long)it->at_ms);
            if (it->has_until) fprintf(out, " until=%llu", (unsigned long long)it->until_ms);
            fprintf(out, " mode=%s", it->mode == WARD_SIM_OUTSIDER_UNKNOWN ? "unknown" : "impersonate");
            break;
        default:
            continue;
        }
        fputc('\n', out);
    }
    if (sc->has_end) fprintf(out, "end at=%llu\n", (unsigned long long)sc->end_ms);
    return ferror(out) ? WARD_EIO : WARD_OK;
}
