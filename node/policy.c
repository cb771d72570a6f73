#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const char strict_text[] =
    "# ward policy: who may use what (docs/operations.md).\n"
    "# First matching rule wins; a use no rule allows is refused.\n"
    "exact no\n"
    "epsilon 2.1\n"
    "delta 1e-5\n"
    "allow * * * *\n";

static const char permissive_text[] =
    "# ward policy of a local test city: exact results allowed.\n"
    "exact yes\n"
    "epsilon 2.1\n"
    "delta 1e-5\n"
    "allow * * * *\n";

const char *ward_policy_default_text(int permissive) {
    return permissive ? permissive_text : strict_text;
}

void ward_policy_default(ward_policy *p, int permissive) {
    size_t line;
    char err[8];
    const char *t = ward_policy_default_text(permissive);
    ward_policy_parse(p, &line, err, sizeof err, t, strlen(t));
}

static int list_ok(const char *s) {
    if (strcmp(s, "*") == 0) return 1;
    if (!*s || *s == ',' || s[strlen(s) - 1] == ',') return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == ','))
            return 0;
        if (c == ',' && s[1] == ',') return 0;
    }
    return 1;
}

/* A table name as the store allows it: [a-z0-9_], 1..63 bytes. */
static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
    return 1;
}

static int list_has(const char *list, const char *item) {
    if (strcmp(list, "*") == 0) return 1;
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, item, n) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

static int fail(size_t *err_line, char *err, size_t cap, size_t line, const char *why) {
    *err_line = line;
    snprintf(err, cap, "%s", why);
    return WARD_EPARSE;
}

int ward_policy_parse(ward_policy *p, size_t *err_line, char *err, size_t err_cap, const char *text,
                      size_t len) {
    WARD_ARG_CHECK(p != NULL && err_line != NULL && err != NULL && (text || !len));
    memset(p, 0, sizeof *p);
    p->epsilon = 2.1;
    p->delta = 1e-5;
    *err_line = 0;
    if (err_cap) err[0] = '\0';
    size_t pos = 0, lineno = 0;
    int seen_exact = 0, seen_eps = 0, seen_delta = 0;
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - text - pos) : len - pos;
        char line[1200];
        if (l >= sizeof line) return fail(err_line, err, err_cap, lineno, "line too long");
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos += l + (nl != NULL);
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        if (memchr(line, '\0', l) && strlen(line) < l && !hash)
            return fail(err_line, err, err_cap, lineno, "NUL byte");
        char *w[6];
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (n == 6) return fail(err_line, err, err_cap, lineno, "too many words");
            w[n++] = t;
        }
        if (n == 0) continue;
        if (strcmp(w[0], "exact") == 0) {
            if (seen_exact++) return fail(err_line, err, err_cap, lineno, "duplicate 'exact'");
            if (n != 2 || (strcmp(w[1], "yes") && strcmp(w[1], "no")))
                return fail(err_line, err, err_cap, lineno, "expected 'exact yes' or 'exact no'");
            p->exact = strcmp(w[1], "yes") == 0;
        } else if (strcmp(w[0], "epsilon") == 0 || strcmp(w[0], "delta") == 0) {
            int is_eps = w[0][0] == 'e';
            if (is_eps ? seen_eps++ : seen_delta++)
                return fail(err_line, err, err_cap, lineno, "duplicate budget line");
            char *end = NULL;
            double v = n == 2 ? strtod(w[1], &end) : NAN;
            if (n != 2 || !end || *end || !isfinite(v) || v <= 0 || (!is_eps && v >= 1))
                return fail(err_line, err, err_cap, lineno,
                            is_eps ? "epsilon must be a positive number"
                                   : "delta must be a number in (0, 1)");
            if (is_eps) p->epsilon = v;
            else p->delta = v;
        } else if (strcmp(w[0], "allow") == 0 || strcmp(w[0], "deny") == 0) {
            if (n != 5) return fail(err_line, err, err_cap, lineno,
                                    "expected 'allow|deny PEER TABLE COLUMNS OPS'");
            if (p->n_rules == WARD_POLICY_MAX_RULES) {
                *err_line = lineno;
                snprintf(err, err_cap, "more than %d rules", WARD_POLICY_MAX_RULES);
                return WARD_ETOOBIG;
            }
            for (int i = 1; i < 5; i++)
                if (!list_ok(w[i]))
                    return fail(err_line, err, err_cap, lineno, "a field must be * or a comma list of names");
            const char *ops = w[4];
            if (strcmp(ops, "*") != 0) {
                char copy[64];
                if (strlen(ops) >= sizeof copy) return fail(err_line, err, err_cap, lineno, "OPS too long");
                snprintf(copy, sizeof copy, "%s", ops);
                char *s2 = NULL;
                for (char *o = strtok_r(copy, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
                    if (strcmp(o, "sum") && strcmp(o, "count") && strcmp(o, "mean") &&
                        strcmp(o, "histogram") && strcmp(o, "max") && strcmp(o, "argmax") &&
                        strcmp(o, "threshold") && strcmp(o, "train") && strcmp(o, "ldp"))
                        return fail(err_line, err, err_cap, lineno,
                                    "OPS: sum, count, mean, histogram, max, argmax, threshold, "
                                    "train, ldp or *");
            }
            ward_policy_rule *r = &p->rules[p->n_rules++];
            r->allow = w[0][0] == 'a';
            r->line = lineno;
            if (strlen(w[1]) >= sizeof r->peers || strlen(w[2]) >= sizeof r->tables ||
                strlen(w[3]) >= sizeof r->columns)
                return fail(err_line, err, err_cap, lineno, "list too long");
            snprintf(r->peers, sizeof r->peers, "%s", w[1]);
            snprintf(r->tables, sizeof r->tables, "%s", w[2]);
            snprintf(r->columns, sizeof r->columns, "%s", w[3]);
            snprintf(r->ops, sizeof r->ops, "%s", w[4]);
        } else if (strcmp(w[0], "rows-per-person") == 0) {
            char *end = NULL;
            int words = n == 3 || n == 4;
            unsigned long k = words && w[2][0] >= '0' && w[2][0] <= '9' ? strtoul(w[2], &end, 10) : 0;
            if (!words || !end || *end || k < 1 || k > WARD_POLICY_MAX_ROWS_PER_PERSON)
                return fail(err_line, err, err_cap, lineno,
                            "expected 'rows-per-person TABLE K [COLUMN]' with K in 1..1000000");
            if (!name_ok(w[1]) || strlen(w[1]) >= sizeof p->persons[0].table)
                return fail(err_line, err, err_cap, lineno, "TABLE must be a table name");
            if (n == 4 && (!name_ok(w[3]) || strlen(w[3]) >= sizeof p->persons[0].column))
                return fail(err_line, err, err_cap, lineno, "COLUMN must be a column name");
            for (size_t i = 0; i < p->n_persons; i++)
                if (strcmp(p->persons[i].table, w[1]) == 0)
                    return fail(err_line, err, err_cap, lineno, "duplicate rows-per-person line");
            if (p->n_persons == WARD_POLICY_MAX_PERSON_TABLES) {
                *err_line = lineno;
                snprintf(err, err_cap, "more than %d rows-per-person lines",
                         WARD_POLICY_MAX_PERSON_TABLES);
                return WARD_ETOOBIG;
            }
            snprintf(p->persons[p->n_persons].table, sizeof p->persons[0].table, "%s", w[1]);
            snprintf(p->persons[p->n_persons].column, sizeof p->persons[0].column, "%s",
                     n == 4 ? w[3] : "");
            p->persons[p->n_persons++].rows = (uint32_t)k;
        } else {
            return fail(err_line, err, err_cap, lineno,
                        "unknown keyword (exact, epsilon, delta, allow, deny, rows-per-person)");
        }
    }
    return WARD_OK;
}

uint32_t ward_policy_rows_per_person(const ward_policy *p, const char *table) {
    for (size_t i = 0; p && table && i < p->n_persons; i++)
        if (strcmp(p->persons[i].table, table) == 0) return p->persons[i].rows;
    return 1;
}

const char *ward_policy_person_column(const ward_policy *p, const char *table) {
    for (size_t i = 0; p && table && i < p->n_persons; i++)
        if (strcmp(p->persons[i].table, table) == 0)
            return p->persons[i].column[0] ? p->persons[i].column : NULL;
    return NULL;
}

int ward_policy_allows(const ward_policy *p, char *why, size_t why_cap, const char *peer,
                       const char *table, const char *column, const char *op) {
    for (size_t i = 0; i < p->n_rules; i++) {
        const ward_policy_rule *r = &p->rules[i];
        if (!list_has(r->peers, peer) || !list_has(r->tables, table) || !list_has(r->ops, op)) continue;
        if (column[0] && !list_has(r->columns, column)) continue;
        if (!r->allow) snprintf(why, why_cap, "policy rule on line %zu denies %s %s of %s%s%s to %s",
                                r->line, op, column[0] ? "" : "rows", table, column[0] ? "." : "",
                                column, peer);
        return r->allow;
    }
    snprintf(why, why_cap, "no policy rule allows %s of %s%s%s for %s", op, table, column[0] ? "." : "",
             column, peer);
    return 0;
}
