#include "query_expr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fixedpoint.h"

/* Term kinds, for checking what may be compared with what. */
enum { K_NUM = 1, K_TEXT, K_NULLLIT };

typedef struct {
    const char *s;
    size_t pos, len;
    const ward_table_info *t;
    ward_expr *e;
    char *buf;             /* output SQL */
    size_t buf_len, buf_cap;
    int rc;
    int depth;
} parser;

static int fail(parser *p, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, int rc, const char *fmt, ...) {
    if (p->rc) return p->rc;
    p->rc = rc;
    p->e->err_pos = p->pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->e->err, sizeof p->e->err, fmt, ap);
    va_end(ap);
    return rc;
}

static void emit(parser *p, const char *text) {
    size_t n = strlen(text);
    if (p->rc) return;
    if (p->buf_len + n + 1 > p->buf_cap) {
        size_t cap = (p->buf_cap + n + 1) * 2;
        char *b = realloc(p->buf, cap);
        if (!b) {
            fail(p, WARD_ENOMEM, "out of memory");
            return;
        }
        p->buf = b;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, text, n + 1);
    p->buf_len += n;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')) p->pos++;
}

static int is_ident_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_ident(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

/* Reads an identifier or keyword at pos (without consuming) into out. */
static size_t peek_word(parser *p, char *out, size_t cap) {
    skip_ws(p);
    size_t i = p->pos, n = 0;
    if (i >= p->len || !is_ident_start(p->s[i])) {
        out[0] = '\0';
        return 0;
    }
    while (i < p->len && is_ident(p->s[i])) {
        if (n + 1 < cap) out[n++] = p->s[i];
        i++;
    }
    out[n] = '\0';
    return i - p->pos;
}

static int accept_kw(parser *p, const char *kw) {
    char w[16];
    size_t n = peek_word(p, w, sizeof w);
    if (n == 0 || n != strlen(kw) || strcasecmp(w, kw) != 0) return 0;
    p->pos += n;
    return 1;
}

static int accept_ch(parser *p, char c) {
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

static ward_param *new_param(parser *p) {
    if (p->e->n_params == WARD_EXPR_MAX_PARAMS) {
        fail(p, WARD_ETOOBIG, "more than %d literals", WARD_EXPR_MAX_PARAMS);
        return NULL;
    }
    ward_param *x = &p->e->params[p->e->n_params++];
    memset(x, 0, sizeof *x);
    return x;
}

static const ward_column_info *find_col(parser *p, const char *name) {
    for (size_t i = 0; i < p->t->ncolumns; i++)
        if (strcmp(p->t->columns[i].name, name) == 0) return &p->t->columns[i];
    return NULL;
}

/* A term: writes its SQL, returns its kind (K_NUM, K_TEXT), and the scale
 * of a decimal column (for scaling literals compared with it). A literal
 * number is written as a parameter whose value is fixed later (it needs
 * the other side's scale), so literals return their parameter index. */
typedef struct {
    int kind;
    unsigned scale;       /* decimal column scale, else 0 */
    int is_column;
    int is_literal;
    long literal;         /* parameter index of a numeric literal, else -1 */
    char num_text[64];    /* the literal's text */
} term_info;

static int parse_term(parser *p, term_info *ti) {
    memset(ti, 0, sizeof *ti);
    ti->literal = -1;
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, WARD_EPARSE, "expression ends too early");
    char c = p->s[p->pos];
    if (c == '\'') {
        size_t start = ++p->pos;
        char *text = malloc(p->len - start + 1);
        size_t n = 0;
        if (!text) return fail(p, WARD_ENOMEM, "out of memory");
        for (;;) {
            if (p->pos >= p->len) {
                free(text);
                return fail(p, WARD_EPARSE, "unterminated text literal");
            }
            if (p->s[p->pos] == '\'') {
                if (p->pos + 1 < p->len && p->s[p->pos + 1] == '\'') {
                    text[n++] = '\'';
                    p->pos += 2;
                    continue;
                }
                p->pos++;
                break;
            }
            text[n++] = p->s[p->pos++];
        }
        text[n] = '\0';
        ward_param *x = new_param(p);
        if (!x) {
            free(text);
            return p->rc;
        }
        x->type = WARD_PARAM_TEXT;
        x->text = text;
        emit(p, "?");
        ti->kind = K_TEXT;
        ti->is_literal = 1;
        return 0;
    }
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') {
        size_t start = p->pos;
        if (c == '-' || c == '+') p->pos++;
        while (p->pos < p->len && ((p->s[p->pos] >= '0' && p->s[p->pos] <= '9') || p->s[p->pos] == '.'))
            p->pos++;
        size_t n = p->pos - start;
        if (n == 0 || n >= sizeof ti->num_text) return fail(p, WARD_EPARSE, "bad number");
        memcpy(ti->num_text, p->s + start, n);
        ti->num_text[n] = '\0';
        int64_t v;
        if (ward_fixed_parse_decimal(&v, ti->num_text, n, 0, UINT64_MAX) != WARD_OK &&
            ward_fixed_parse_decimal(&v, ti->num_text, n, 6, UINT64_MAX) != WARD_OK)
            return fail(p, WARD_EPARSE, "bad number '%s'", ti->num_text);
        ward_param *x = new_param(p);
        if (!x) return p->rc;
        ti->literal = (long)(p->e->n_params - 1);
        x->type = WARD_PARAM_REAL;
        x->r = strtod(ti->num_text, NULL);
        emit(p, "?");
        ti->kind = K_NUM;
        ti->is_literal = 1;
        return 0;
    }
    char w[WARD_STORE_NAME_MAX + 2];
    size_t wl = peek_word(p, w, sizeof w);
    if (wl == 0) return fail(p, WARD_EPARSE, "expected a column, function or literal");
    if (wl > WARD_STORE_NAME_MAX) return fail(p, WARD_EPARSE, "name too long");
    p->pos += wl;
    const char *fn = NULL;
    if (accept_ch(p, '(')) {
        if (strcasecmp(w, "hour") == 0) fn = "hour";
        else if (strcasecmp(w, "weekday") == 0) fn = "weekday";
        else if (strcasecmp(w, "date") == 0) fn = "date";
        else return fail(p, WARD_EPARSE, "unknown function '%s' (hour, weekday, date)", w);
        wl = peek_word(p, w, sizeof w);
        if (wl == 0 || wl > WARD_STORE_NAME_MAX) return fail(p, WARD_EPARSE, "expected a column name");
        p->pos += wl;
        if (!accept_ch(p, ')')) return fail(p, WARD_EPARSE, "expected ')'");
    }
    const ward_column_info *col = find_col(p, w);
    if (!col) return fail(p, WARD_ENOTFOUND, "table '%s' has no column '%s'", p->t->name, w);
    char sql[160];
    if (fn) {
        if (col->type != WARD_COLTYPE_TIMESTAMP)
            return fail(p, WARD_EINVAL, "%s() needs a timestamp column; '%s' is %s", fn, col->name,
                        ward_coltype_name(col->type));
        if (strcmp(fn, "date") == 0) {
            snprintf(sql, sizeof sql, "date(\"%s\")", col->name);
            ti->kind = K_TEXT;
        } else {
            snprintf(sql, sizeof sql, "CAST(strftime('%s', \"%s\") AS INTEGER)",
                     strcmp(fn, "hour") == 0 ? "%H" : "%w", col->name);
            ti->kind = K_NUM;
        }
    } else {
        snprintf(sql, sizeof sql, "\"%s\"", col->name);
        ti->is_column = 1;
        ti->kind = (col->type == WARD_COLTYPE_INTEGER || col->type == WARD_COLTYPE_DECIMAL) ? K_NUM : K_TEXT;
        ti->scale = col->type == WARD_COLTYPE_DECIMAL ? col->scale : 0;
    }
    emit(p, sql);
    return 0;
}

/* A numeric literal compared with a decimal column is scaled to the
 * column's stored integers. */
static void scale_literal(parser *p, const term_info *lit, unsigned scale) {
    if (lit->literal < 0 || scale == 0) return;
    double f = 1;
    for (unsigned i = 0; i < scale; i++) f *= 10;
    p->e->params[lit->literal].r *= f;
}

static int parse_expr(parser *p);

static int parse_primary(parser *p) {
    if (++p->depth > 64) return fail(p, WARD_ETOOBIG, "expression nested too deeply");
    size_t save = p->pos;
    if (accept_ch(p, '(')) {
        /* A parenthesised expression (terms never start with '('). */
        emit(p, "(");
        parse_expr(p);
        if (!p->rc && !accept_ch(p, ')')) fail(p, WARD_EPARSE, "expected ')'");
        emit(p, ")");
        p->depth--;
        return p->rc;
    }
    p->pos = save;
    term_info a, b;
    if (parse_term(p, &a)) return p->rc;
    if (accept_kw(p, "is")) {
        int neg = accept_kw(p, "not");
        if (!accept_kw(p, "null")) return fail(p, WARD_EPARSE, "expected NULL after IS");
        emit(p, neg ? " IS NOT NULL" : " IS NULL");
        p->depth--;
        return p->rc;
    }
    int neg_in = 0;
    size_t before_not = p->pos;
    if (accept_kw(p, "not")) {
        if (!accept_kw(p, "in")) {
            p->pos = before_not;
            return fail(p, WARD_EPARSE, "expected IN after NOT");
        }
        neg_in = 1;
    }
    if (neg_in || accept_kw(p, "in")) {
        emit(p, neg_in ? " NOT IN (" : " IN (");
        if (!accept_ch(p, '(')) return fail(p, WARD_EPARSE, "expected '(' after IN");
        for (int first = 1;; first = 0) {
            if (!first) emit(p, ", ");
            size_t at = p->pos;
            if (parse_term(p, &b)) return p->rc;
            if (!b.is_literal) {
                p->pos = at;
                return fail(p, WARD_EPARSE, "IN takes literals only");
            }
            if (b.kind != a.kind) return fail(p, WARD_EINVAL, "IN list mixes numbers and text");
            scale_literal(p, &b, a.scale);
            if (accept_ch(p, ')')) break;
            if (!accept_ch(p, ',')) return fail(p, WARD_EPARSE, "expected ',' or ')'");
        }
        emit(p, ")");
        p->depth--;
        return p->rc;
    }
    skip_ws(p);
    const char *ops[] = {"<=", ">=", "!=", "<>", "==", "=", "<", ">"};
    const char *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i]);
        if (p->pos + n <= p->len && memcmp(p->s + p->pos, ops[i], n) == 0) {
            op = ops[i];
            p->pos += n;
            break;
        }
    }
    if (!op) return fail(p, WARD_EPARSE, "expected a comparison (=, !=, <, <=, >, >=, IS, IN)");
    char sop[8];
    snprintf(sop, sizeof sop, " %s ", strcmp(op, "==") == 0 ? "=" : strcmp(op, "<>") == 0 ? "!=" : op);
    emit(p, sop);
    if (parse_term(p, &b)) return p->rc;
    if (a.kind != b.kind) return fail(p, WARD_EINVAL, "compares a number with text");
    if (a.is_column && b.is_column && a.scale != b.scale)
        return fail(p, WARD_EINVAL, "compares decimal columns of different scales");
    scale_literal(p, &b, a.scale);
    scale_literal(p, &a, b.scale);
    p->depth--;
    return p->rc;
}

static int parse_not(parser *p) {
    if (accept_kw(p, "not")) {
        emit(p, "NOT (");
        parse_not(p);
        emit(p, ")");
        return p->rc;
    }
    return parse_primary(p);
}

static int parse_and(parser *p) {
    if (parse_not(p)) return p->rc;
    while (accept_kw(p, "and")) {
        emit(p, " AND ");
        if (parse_not(p)) return p->rc;
    }
    return p->rc;
}

static int parse_expr(parser *p) {
    if (parse_and(p)) return p->rc;
    while (accept_kw(p, "or")) {
        emit(p, " OR ");
        if (parse_and(p)) return p->rc;
    }
    return p->rc;
}

int ward_expr_compile(ward_expr *e, const char *text, const ward_table_info *table) {
    WARD_ARG_CHECK(e != NULL && text != NULL && table != NULL);
    memset(e, 0, sizeof *e);
    parser p = {.s = text, .len = strlen(text), .t = table, .e = e};
    if (p.len > WARD_EXPR_MAX_LEN) return fail(&p, WARD_ETOOBIG, "expression longer than %d bytes",
                                               WARD_EXPR_MAX_LEN);
    for (size_t i = 0; i < p.len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c == 0x7f) {
            p.pos = i;
            return fail(&p, WARD_EPARSE, "control character in expression");
        }
    }
    emit(&p, "(");
    parse_expr(&p);
    emit(&p, ")");
    skip_ws(&p);
    if (!p.rc && p.pos != p.len) fail(&p, WARD_EPARSE, "unexpected text");
    e->sql = p.buf;
    return p.rc;
}

void ward_expr_free(ward_expr *e) {
    if (!e) return;
    free(e->sql);
    for (size_t i = 0; i < e->n_params; i++) free(e->params[i].text);
    e->sql = NULL;
    e->n_params = 0;
}
