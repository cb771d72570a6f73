/* A learning task's data at one party (learn_data.h). */
#include "learn_data.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "csv.h"
#include "dp_account.h"
#include "dp_sample.h"
#include "error.h"
#include "group_key.h"
#include "fedavg.h"
#include "field61.h"

typedef enum {
    T_COL,
    T_HOUR,
    T_WEEKDAY,
    T_WEEKEND,
    T_SIN_HOUR,
    T_COS_HOUR,
    T_SIN_DEG,
    T_COS_DEG,
    T_EQ,
    T_SAME
} term_fn;

typedef enum { L_REG, L_GT, L_RATIO, L_CLASS } label_kind;

typedef struct {
    term_fn fn;
    char a[WARD_LEARN_NAME_MAX], b[WARD_LEARN_NAME_MAX]; /* columns; eq: b is the value */
    double lo, hi;
    int ca, cb; /* column indices, bound per file */
} term;

struct ward_learn_spec {
    size_t nterms;
    term t[WARD_LEARN_MAX_TERMS];
    label_kind lk;
    char la[WARD_LEARN_NAME_MAX], lb[WARD_LEARN_NAME_MAX];
    double thr, llo, lhi;
    size_t classes;
    const char *cols[2 * WARD_LEARN_MAX_TERMS + 2];
    size_t ncols;
};

static void trim(char **s, size_t *len) {
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

static int name_ok(const char *s, size_t len) {
    if (len == 0 || len >= WARD_LEARN_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

static int copy_name(char *dst, const char *s, size_t len) {
    trim((char **)&s, &len);
    if (!name_ok(s, len)) return 0;
    memcpy(dst, s, len);
    dst[len] = 0;
    return 1;
}

/* Strict decimal: [+-]digits[.digits][e[+-]digits], at least one digit. */
static int parse_num(double *out, const char *s, size_t len) {
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    while (i < len && isdigit((unsigned char)s[i])) i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) i++, digits++;
    }
    if (!digits) return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < len && isdigit((unsigned char)s[i])) i++, ed++;
        if (!ed) return 0;
    }
    if (i != len || len > 64) return 0;
    char buf[72];
    memcpy(buf, s, len);
    buf[len] = 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* Splits s[0..len) at commas outside () and []; calls f on each piece. */
static int split_top(const char *s, size_t len, int (*f)(void *, char *, size_t), void *ctx) {
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : ',';
        if (c == '(' || c == '[') depth++;
        else if (c == ')' || c == ']') depth--;
        if (depth < 0) return WARD_EPARSE;
        if (c == ',' && depth == 0) {
            int rc = f(ctx, (char *)s + start, i - start);
            if (rc != WARD_OK) return rc;
            start = i + 1;
        }
    }
    return depth == 0 ? WARD_OK : WARD_EPARSE;
}

typedef struct {
    ward_learn_spec *s;
    char *err;
    size_t err_cap;
} parse_ctx;

/* "[lo,hi]" at the end of s[0..*len): strips it and returns the range. */
static int take_range(const char *s, size_t *len, double *lo, double *hi, int *has) {
    *has = 0;
    if (*len == 0 || s[*len - 1] != ']') return 1;
    size_t open = *len;
    while (open > 0 && s[open - 1] != '[') open--;
    if (open == 0) return 0;
    const char *r = s + open;
    size_t rl = *len - open - 1;
    const char *comma = memchr(r, ',', rl);
    if (!comma) return 0;
    char *a = (char *)r, *b = (char *)comma + 1;
    size_t al = (size_t)(comma - r), bl = rl - al - 1;
    trim(&a, &al);
    trim(&b, &bl);
    if (!parse_num(lo, a, al) || !parse_num(hi, b, bl) || !(*lo < *hi)) return 0;
    *len = open - 1;
    *has = 1;
    return 1;
}

static int parse_term(void *vctx, char *s, size_t len) {
    parse_ctx *c = vctx;
    ward_learn_spec *sp = c->s;
    trim(&s, &len);
    if (sp->nterms >= WARD_LEARN_MAX_TERMS) {
        snprintf(c->err, c->err_cap, "more than %d features", WARD_LEARN_MAX_TERMS);
        return WARD_EPARSE;
    }
    term *t = &sp->t[sp->nterms];
    memset(t, 0, sizeof *t);
    int has;
    size_t body = len;
    if (!take_range(s, &body, &t->lo, &t->hi, &has)) {
        snprintf(c->err, c->err_cap, "feature '%.*s': a range is [LO,HI] with LO < HI",
                 (int)len, s);
        return WARD_EPARSE;
    }
    const char *paren = memchr(s, '(', body);
    if (!paren) {
        if (!copy_name(t->a, s, body)) {
            snprintf(c->err, c->err_cap, "feature '%.*s' is not a column name", (int)len, s);
            return WARD_EPARSE;
        }
        if (!has) {
            snprintf(c->err, c->err_cap,
                     "feature '%s' needs a declared range, e.g. %s[0,100] (the values are "
                     "clamped to it)",
                     t->a, t->a);
            return WARD_EPARSE;
        }
        t->fn = T_COL;
        sp->nterms++;
        return WARD_OK;
    }
    size_t fl = (size_t)(paren - s);
    if (body < fl + 2 || s[body - 1] != ')') {
        snprintf(c->err, c->err_cap, "feature '%.*s': unbalanced parentheses", (int)len, s);
        return WARD_EPARSE;
    }
    const char *args = paren + 1;
    size_t al = body - fl - 2;
    const char *comma = memchr(args, ',', al);
    static const struct {
        const char *name;
        term_fn fn;
        int nargs;
        double lo, hi;
    } fns[] = {
        {"hour", T_HOUR, 1, 0, 23},        {"weekday", T_WEEKDAY, 1, 0, 6},
        {"weekend", T_WEEKEND, 1, 0, 1},   {"sin_hour", T_SIN_HOUR, 1, -1, 1},
        {"cos_hour", T_COS_HOUR, 1, -1, 1}, {"sin_deg", T_SIN_DEG, 1, -1, 1},
        {"cos_deg", T_COS_DEG, 1, -1, 1},  {"eq", T_EQ, 2, 0, 1},
        {"same", T_SAME, 2, 0, 1},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (strlen(fns[i].name) != fl || memcmp(fns[i].name, s, fl) != 0) continue;
        int ok;
        if (fns[i].nargs == 1) {
            ok = !comma && copy_name(t->a, args, al);
        } else {
            size_t a1 = comma ? (size_t)(comma - args) : 0;
            ok = comma && copy_name(t->a, args, a1);
            if (ok && fns[i].fn == T_SAME) ok = copy_name(t->b, comma + 1, al - a1 - 1);
            if (ok && fns[i].fn == T_EQ) {
                char *v = (char *)comma + 1;
                size_t vl = al - a1 - 1;
                trim(&v, &vl);
                ok = vl > 0 && vl < WARD_LEARN_NAME_MAX;
                if (ok) {
                    memcpy(t->b, v, vl);
                    t->b[vl] = 0;
                }
            }
        }
        if (!ok) {
            snprintf(c->err, c->err_cap, "feature '%.*s': %s takes %s", (int)len, s,
                     fns[i].name, fns[i].nargs == 1 ? "one column" : "two arguments");
            return WARD_EPARSE;
        }
        if (has) {
            snprintf(c->err, c->err_cap, "feature '%.*s': %s() has a fixed range", (int)len, s,
                     fns[i].name);
            return WARD_EPARSE;
        }
        t->fn = fns[i].fn;
        t->lo = fns[i].lo;
        t->hi = fns[i].hi;
        sp->nterms++;
        return WARD_OK;
    }
    snprintf(c->err, c->err_cap,
             "feature '%.*s': unknown function (hour, weekday, weekend, sin_hour, cos_hour, "
             "sin_deg, cos_deg, eq, same)",
             (int)len, s);
    return WARD_EPARSE;
}

static void add_col(ward_learn_spec *s, const char *name) {
    if (!name[0]) return;
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i], name) == 0) return;
    s->cols[s->ncols++] = name;
}

static int parse_label(ward_learn_spec *s, char *err, size_t err_cap, const char *text) {
    char *p = (char *)text;
    size_t len = strlen(text);
    trim(&p, &len);
    const char *gt = memchr(p, '>', len);
    if (len > 6 && memcmp(p, "class(", 6) == 0 && p[len - 1] == ')') {
        const char *a = p + 6;
        size_t al = len - 7;
        const char *comma = memchr(a, ',', al);
        double k;
        if (!comma || !copy_name(s->la, a, (size_t)(comma - a)) ||
            !parse_num(&k, comma + 1, al - (size_t)(comma - a) - 1) || k != floor(k) || k < 2 ||
            k > WARD_LEARN_MAX_CLASSES) {
            snprintf(err, err_cap, "label '%s': class(COL,K) with 2 <= K <= %d", text,
                     WARD_LEARN_MAX_CLASSES);
            return WARD_EPARSE;
        }
        s->lk = L_CLASS;
        s->classes = (size_t)k;
        s->llo = 0;
        s->lhi = k - 1;
        return WARD_OK;
    }
    if (gt) {
        size_t ll = (size_t)(gt - p);
        char *rhs = (char *)gt + 1;
        size_t rl = len - ll - 1;
        trim(&rhs, &rl);
        if (!parse_num(&s->thr, rhs, rl)) {
            snprintf(err, err_cap, "label '%s': the threshold after '>' is not a number", text);
            return WARD_EPARSE;
        }
        const char *slash = memchr(p, '/', ll);
        int ok = slash ? copy_name(s->la, p, (size_t)(slash - p)) &&
                             copy_name(s->lb, slash + 1, ll - (size_t)(slash - p) - 1)
                       : copy_name(s->la, p, ll);
        if (!ok) {
            snprintf(err, err_cap, "label '%s': COL>T or COL/COL>T", text);
            return WARD_EPARSE;
        }
        s->lk = slash ? L_RATIO : L_GT;
        s->classes = 2;
        s->llo = 0;
        s->lhi = 1;
        return WARD_OK;
    }
    int has;
    size_t body = len;
    if (!take_range(p, &body, &s->llo, &s->lhi, &has) || !copy_name(s->la, p, body) || !has) {
        snprintf(err, err_cap,
                 "label '%s': COL[LO,HI] (regression), COL>T or COL/COL>T (binary), "
                 "class(COL,K)",
                 text);
        return WARD_EPARSE;
    }
    s->lk = L_REG;
    s->classes = 1;
    return WARD_OK;
}

int ward_learn_spec_parse(ward_learn_spec **out, char *err, size_t err_cap,
                          const char *features, const char *label) {
    WARD_ARG_CHECK(out && err && err_cap && features && label);
    *out = NULL;
    err[0] = 0;
    ward_learn_spec *s = calloc(1, sizeof *s);
    if (!s) return WARD_ENOMEM;
    parse_ctx c = {s, err, err_cap};
    int rc = split_top(features, strlen(features), parse_term, &c);
    if (rc == WARD_OK && s->nterms == 0) rc = WARD_EPARSE;
    if (rc != WARD_OK) {
        if (!err[0]) snprintf(err, err_cap, "features '%s': a comma-separated list", features);
        free(s);
        return rc;
    }
    rc = parse_label(s, err, err_cap, label);
    if (rc != WARD_OK) {
        free(s);
        return rc;
    }
    for (size_t i = 0; i < s->nterms; i++) {
        add_col(s, s->t[i].a);
        if (s->t[i].fn == T_SAME) add_col(s, s->t[i].b);
    }
    add_col(s, s->la);
    add_col(s, s->lb);
    *out = s;
    return WARD_OK;
}

void ward_learn_spec_free(ward_learn_spec *s) { free(s); }

size_t ward_learn_spec_features(const ward_learn_spec *s) { return s->nterms; }

ward_learn_head ward_learn_spec_head(const ward_learn_spec *s) {
    return s->lk == L_REG ? WARD_LEARN_REGRESSION
           : s->lk == L_CLASS ? WARD_LEARN_MULTICLASS
                              : WARD_LEARN_BINARY;
}

size_t ward_learn_spec_classes(const ward_learn_spec *s) { return s->classes; }

void ward_learn_spec_range(const ward_learn_spec *s, size_t j, double *lo, double *hi) {
    if (j < s->nterms) {
        *lo = s->t[j].lo;
        *hi = s->t[j].hi;
    } else {
        *lo = s->llo;
        *hi = s->lhi;
    }
}

void ward_learn_spec_columns(const ward_learn_spec *s, const char *const **names, size_t *n) {
    *names = s->cols;
    *n = s->ncols;
}

/* ---- loading ---- */

struct ward_learn_loader {
    const ward_learn_spec *s;
    term t[WARD_LEARN_MAX_TERMS]; /* with column indices */
    int la, lb;
    size_t ncols;
    uint64_t max_rows;
    size_t n, cap, d;
    double *x, *y;
    ward_learn_load_report rep;
};

static int find_col(const char *const *header, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (header[i] && strcmp(header[i], name) == 0) return (int)i;
    return -1;
}

int ward_learn_loader_begin(ward_learn_loader **out, char *err, size_t err_cap,
                            const ward_learn_spec *s, const char *const *header, size_t ncols,
                            uint64_t max_rows) {
    WARD_ARG_CHECK(out && err && err_cap && s && header && max_rows >= 1);
    *out = NULL;
    ward_learn_loader *l = calloc(1, sizeof *l);
    if (!l) return WARD_ENOMEM;
    l->s = s;
    l->ncols = ncols;
    l->max_rows = max_rows;
    l->d = s->nterms;
    for (size_t i = 0; i < s->ncols; i++) {
        if (find_col(header, ncols, s->cols[i]) < 0) {
            size_t o = (size_t)snprintf(err, err_cap, "no column '%s' (the columns are",
                                        s->cols[i]);
            for (size_t j = 0; j < ncols && o < err_cap; j++)
                o += (size_t)snprintf(err + o, err_cap - o, "%s%s", j ? ", " : " ",
                                      header[j] ? header[j] : "?");
            if (o < err_cap) snprintf(err + o, err_cap - o, ")");
            free(l);
            return WARD_ENOTFOUND;
        }
    }
    for (size_t i = 0; i < s->nterms; i++) {
        l->t[i] = s->t[i];
        l->t[i].ca = find_col(header, ncols, s->t[i].a);
        l->t[i].cb = s->t[i].fn == T_SAME ? find_col(header, ncols, s->t[i].b) : -1;
    }
    l->la = find_col(header, ncols, s->la);
    l->lb = s->lk == L_RATIO ? find_col(header, ncols, s->lb) : -1;
    *out = l;
    return WARD_OK;
}

static int is_missing(const char *f) {
    return !f || !f[0] || strcmp(f, "NA") == 0 || strcmp(f, "NULL") == 0;
}

static int looks_nonfinite(const char *f) {
    const char *p = f;
    if (*p == '+' || *p == '-') p++;
    return strncasecmp(p, "nan", 3) == 0 || strncasecmp(p, "inf", 3) == 0;
}

/* hour and weekday (Sunday = 0) of a timestamp. */
static int parse_ts(const char *f, int *hour, int *wday) {
    size_t n = strlen(f);
    if (n < 13) return 0;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? f[i] != '-' : !isdigit((unsigned char)f[i])) return 0;
    if (f[10] != ' ' && f[10] != 'T') return 0;
    if (!isdigit((unsigned char)f[11]) || !isdigit((unsigned char)f[12])) return 0;
    if (n > 13 && f[13] != ':') return 0;
    int y = atoi(f), m = (f[5] - '0') * 10 + (f[6] - '0'), d = (f[8] - '0') * 10 + (f[9] - '0');
    int h = (f[11] - '0') * 10 + (f[12] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31 || h > 23) return 0;
    long days = ward_days_from_civil(y, m, d); /* 1970-01-01 was a Thursday */
    *hour = h;
    *wday = (int)(((days % 7) + 7 + 4) % 7);
    return 1;
}

static double clampv(ward_learn_loader *l, double v, double lo, double hi) {
    if (v < lo) {
        l->rep.clamped++;
        return lo;
    }
    if (v > hi) {
        l->rep.clamped++;
        return hi;
    }
    return v;
}

/* 1 = value, 0 = missing, <0 = error (err filled). */
static int num_field(double *v, char *err, size_t err_cap, const char *f, const char *col,
                     uint64_t line) {
    if (is_missing(f)) return 0;
    if (parse_num(v, f, strlen(f))) return 1;
    if (looks_nonfinite(f))
        snprintf(err, err_cap, "column '%s', line %llu: non-finite value '%.32s'", col,
                 (unsigned long long)line, f);
    else
        snprintf(err, err_cap, "column '%s' is not numeric: '%.32s' at line %llu", col, f,
                 (unsigned long long)line);
    return WARD_EPARSE;
}

int ward_learn_loader_row(ward_learn_loader *l, char *err, size_t err_cap,
                          const char *const *fields, uint64_t line) {
    WARD_ARG_CHECK(l && err && err_cap && fields);
    const ward_learn_spec *s = l->s;
    double row[WARD_LEARN_MAX_TERMS], y = 0, v, v2;
    int rc;
    l->rep.rows++;
    for (size_t i = 0; i < l->d; i++) {
        const term *t = &l->t[i];
        const char *f = fields[t->ca];
        if (is_missing(f) || (t->fn == T_SAME && is_missing(fields[t->cb]))) goto missing;
        int hour, wday;
        switch (t->fn) {
        case T_COL:
            rc = num_field(&v, err, err_cap, f, t->a, line);
            if (rc < 0) return rc;
            row[i] = clampv(l, v, t->lo, t->hi);
            break;
        case T_HOUR:
        case T_WEEKDAY:
        case T_WEEKEND:
        case T_SIN_HOUR:
        case T_COS_HOUR:
            if (!parse_ts(f, &hour, &wday)) {
                snprintf(err, err_cap, "column '%s' is not a timestamp: '%.32s' at line %llu",
                         t->a, f, (unsigned long long)line);
                return WARD_EPARSE;
            }
            row[i] = t->fn == T_HOUR      ? hour
                     : t->fn == T_WEEKDAY ? wday
                     : t->fn == T_WEEKEND ? (wday == 0 || wday == 6)
                     : t->fn == T_SIN_HOUR ? sin(2 * M_PI * hour / 24.0)
                                           : cos(2 * M_PI * hour / 24.0);
            break;
        case T_SIN_DEG:
        case T_COS_DEG:
            rc = num_field(&v, err, err_cap, f, t->a, line);
            if (rc < 0) return rc;
            row[i] = t->fn == T_SIN_DEG ? sin(v * M_PI / 180) : cos(v * M_PI / 180);
            break;
        case T_EQ: row[i] = strcmp(f, t->b) == 0; break;
        case T_SAME: row[i] = strcmp(f, fields[t->cb]) == 0; break;
        }
    }
    const char *lf = fields[l->la];
    rc = num_field(&v, err, err_cap, lf, s->la, line);
    if (rc < 0) return rc;
    if (rc == 0) goto missing;
    switch (s->lk) {
    case L_REG: y = clampv(l, v, s->llo, s->lhi); break;
    case L_GT: y = v > s->thr; break;
    case L_RATIO:
        rc = num_field(&v2, err, err_cap, fields[l->lb], s->lb, line);
        if (rc < 0) return rc;
        if (rc == 0) goto missing;
        if (!(v2 > 0)) {
            snprintf(err, err_cap, "label %s/%s: '%s' must be positive, is '%.32s' at line %llu",
                     s->la, s->lb, s->lb, fields[l->lb], (unsigned long long)line);
            return WARD_EPARSE;
        }
        y = v / v2 > s->thr;
        break;
    case L_CLASS:
        if (v != floor(v) || v < 0 || v >= (double)s->classes) {
            snprintf(err, err_cap, "label '%s': class %.32s at line %llu is not in 0..%zu",
                     s->la, lf, (unsigned long long)line, s->classes - 1);
            return WARD_EPARSE;
        }
        y = v;
        break;
    }
    if (l->n >= l->max_rows) {
        snprintf(err, err_cap, "more than %llu rows", (unsigned long long)l->max_rows);
        return WARD_ETOOBIG;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 1024;
        double *nx = realloc(l->x, nc * l->d * sizeof *nx);
        if (!nx) return WARD_ENOMEM;
        l->x = nx;
        double *ny = realloc(l->y, nc * sizeof *ny);
        if (!ny) return WARD_ENOMEM;
        l->y = ny;
        l->cap = nc;
    }
    memcpy(l->x + l->n * l->d, row, l->d * sizeof *row);
    l->y[l->n++] = y;
    l->rep.kept++;
    return WARD_OK;
missing:
    l->rep.missing++;
    return WARD_OK;
}

void ward_learn_loader_free(ward_learn_loader *l) {
    if (!l) return;
    free(l->x);
    free(l->y);
    free(l);
}

int ward_learn_loader_finish(ward_learn_loader *l, ward_learn_data *out,
                             ward_learn_load_report *rep) {
    WARD_ARG_CHECK(l && out);
    out->n = l->n;
    out->d = l->d;
    out->x = l->x;
    out->y = l->y;
    if (rep) *rep = l->rep;
    l->x = NULL;
    l->y = NULL;
    ward_learn_loader_free(l);
    return WARD_OK;
}

void ward_learn_data_free(ward_learn_data *d) {
    if (!d) return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

typedef struct {
    const ward_learn_spec *s;
    ward_learn_loader *l;
    char *err;
    size_t err_cap;
    uint64_t max_rows;
    const char *fields[WARD_CSV_MAX_FIELDS];
    char *names[WARD_CSV_MAX_FIELDS];
} csv_ctx;

static int on_record(void *vctx, const ward_csv_record *rec) {
    csv_ctx *c = vctx;
    if (rec->nfields > WARD_CSV_MAX_FIELDS) return WARD_ETOOBIG;
    if (rec->index == 0) {
        for (size_t i = 0; i < rec->nfields; i++) {
            c->names[i] = strdup(rec->fields[i].data);
            if (!c->names[i]) return WARD_ENOMEM;
        }
        return ward_learn_loader_begin(&c->l, c->err, c->err_cap, c->s,
                                       (const char *const *)c->names, rec->nfields,
                                       c->max_rows);
    }
    for (size_t i = 0; i < rec->nfields; i++) c->fields[i] = rec->fields[i].data;
    return ward_learn_loader_row(c->l, c->err, c->err_cap, c->fields, rec->line);
}

int ward_learn_load_csv(ward_learn_data *out, ward_learn_load_report *rep, char *err,
                        size_t err_cap, const ward_learn_spec *s, const char *path,
                        uint64_t max_rows) {
    WARD_ARG_CHECK(out && err && err_cap && s && path && max_rows >= 1);
    memset(out, 0, sizeof *out);
    err[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_cap, "cannot open %s", path);
        return WARD_EIO;
    }
    csv_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        fclose(f);
        return WARD_ENOMEM;
    }
    c->s = s;
    c->err = err;
    c->err_cap = err_cap;
    c->max_rows = max_rows;
    ward_csv r;
    int rc = ward_csv_init(&r, NULL, on_record, c);
    if (rc == WARD_OK) rc = ward_csv_read_file(&r, f);
    if (rc != WARD_OK && !err[0])
        snprintf(err, err_cap, "%s, line %llu: %s", path,
                 (unsigned long long)ward_csv_error_line(&r), ward_csv_error_reason(&r));
    if (rc == WARD_OK && !c->l) {
        snprintf(err, err_cap, "%s: no header", path);
        rc = WARD_EPARSE;
    }
    if (rc == WARD_OK) {
        rc = ward_learn_loader_finish(c->l, out, rep);
        c->l = NULL;
    }
    ward_learn_loader_free(c->l);
    ward_csv_free(&r);
    for (size_t i = 0; i < WARD_CSV_MAX_FIELDS; i++) free(c->names[i]);
    free(c);
    fclose(f);
    return rc;
}

int ward_learn_split(size_t **idx, size_t *ntrain, size_t *nval, size_t n, double val_frac,
                     ward_rng *rng) {
    WARD_ARG_CHECK(idx && ntrain && nval && rng && n >= 1);
    WARD_ARG_CHECK(val_frac >= 0 && val_frac < 1);
    size_t *p = malloc(n * sizeof *p);
    if (!p) return WARD_ENOMEM;
    for (size_t i = 0; i < n; i++) p[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)ward_rng_uniform(rng, (uint64_t)i + 1);
        size_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    *nval = (size_t)floor((double)n * val_frac);
    *ntrain = n - *nval;
    *idx = p;
    return WARD_OK;
}

/* ---- standardisation ---- */

static double stat_units(const ward_learn_spec *s, const ward_learn_stats *st, size_t j) {
    double lo, hi;
    ward_learn_spec_range(s, j, &lo, &hi);
    return ceil(fmax(fabs(lo), fabs(hi)) * pow(10, st->k[j]));
}

int ward_learn_stats_scales(ward_learn_stats *st, const ward_learn_spec *s, uint32_t parties,
                            uint64_t rows_max, double max_units) {
    WARD_ARG_CHECK(st && s && parties >= 1 && rows_max >= 1 && max_units >= 1);
    memset(st, 0, sizeof *st);
    st->dims = s->nterms + 1;
    /* Every coordinate's total must stay below (p - 1)/2 = 2^60 - 1. */
    long double half = (long double)(((uint64_t)1 << 60) - 1);
    for (size_t j = 0; j < st->dims; j++) {
        double lo, hi;
        ward_learn_spec_range(s, j, &lo, &hi);
        long double m = fmaxl(fabsl((long double)lo), fabsl((long double)hi));
        int k;
        if (j == s->nterms && s->lk != L_REG) {
            /* 0/1 or a class index: integers, and the label check counts
             * positives from s1 directly. */
            if ((long double)parties * (long double)rows_max * (m + 1) * (m + 1) >= half)
                return WARD_EOVERFLOW;
            st->k[j] = 0;
            continue;
        }
        for (k = 6; k >= -9; k--) {
            long double v = ceill(m * powl(10, k));
            if (v > max_units) continue;
            if ((long double)parties * (long double)rows_max * (v + 1) * (v + 1) < half) break;
        }
        if (k < -9) return WARD_EOVERFLOW;
        st->k[j] = k;
    }
    return WARD_OK;
}

int ward_learn_stats_dp_plan(ward_learn_stats_dp *dp, const ward_learn_stats *scales,
                             const ward_learn_spec *s, double rho, uint32_t honest) {
    WARD_ARG_CHECK(dp && scales && s && scales->dims == s->nterms + 1);
    WARD_ARG_CHECK(isfinite(rho) && rho > 0 && honest >= 1);
    memset(dp, 0, sizeof *dp);
    dp->ncoords = 2 * scales->dims + 1;
    dp->honest = honest;
    double each = rho / (double)dp->ncoords, total = 0;
    for (size_t c = 0; c < dp->ncoords; c++) {
        double sens = 1;
        if (c > 0) {
            size_t j = (c - 1) / 2;
            double u = fmax(stat_units(s, scales, j), 1);
            sens = (c - 1) % 2 == 0 ? u : u * u;
        }
        int rc = ward_fedavg_ddg_sigma2(&dp->num[c], &dp->den[c], each, sens, honest);
        if (rc != WARD_OK) return rc;
        double r;
        rc = ward_dp_ddg_rho(&r, dp->num[c], dp->den[c], sens, honest);
        if (rc != WARD_OK) return rc;
        total += r;
    }
    /* Each term is at most `each`; the sum rounds up by at most ncoords ulps. */
    dp->rho_spent = fmin(nextafter(total * (1 + 0x1p-45), INFINITY), rho);
    return WARD_OK;
}

int ward_learn_stats_add_noise_var(ward_learn_stats *st, const ward_learn_stats_dp *dp,
                                   ward_rng *rng) {
    WARD_ARG_CHECK(st && dp && rng && dp->ncoords == 2 * st->dims + 1);
    int64_t z[2 * (WARD_LEARN_MAX_FEATURES + 1) + 1];
    for (size_t c = 0; c < dp->ncoords; c++) {
        int rc = ward_dp_ddg_share_var(rng, &z[c], 1, dp->num[c], dp->den[c]);
        if (rc != WARD_OK) {
            sodium_memzero(z, sizeof z);
            return rc;
        }
    }
    int ok = !__builtin_add_overflow(st->count, z[0], &st->count);
    for (size_t j = 0; j < st->dims; j++) {
        ok &= !__builtin_add_overflow(st->s1[j], z[1 + 2 * j], &st->s1[j]);
        ok &= !__builtin_add_overflow(st->s2[j], z[2 + 2 * j], &st->s2[j]);
    }
    sodium_memzero(z, sizeof z);
    return ok ? WARD_OK : WARD_EOVERFLOW;
}

int ward_learn_stats_local(ward_learn_stats *st, const ward_learn_data *d, const size_t *idx,
                           size_t nidx, uint64_t rows_max) {
    WARD_ARG_CHECK(st && d && st->dims == d->d + 1 && (idx || nidx == d->n));
    if (nidx > rows_max) return WARD_ETOOBIG;
    st->count = (int64_t)nidx;
    for (size_t j = 0; j < st->dims; j++) st->s1[j] = st->s2[j] = 0;
    for (size_t t = 0; t < nidx; t++) {
        size_t i = idx ? idx[t] : t;
        WARD_ARG_CHECK(i < d->n);
        for (size_t j = 0; j < st->dims; j++) {
            double v = j < d->d ? d->x[i * d->d + j] : d->y[i];
            int64_t q = (int64_t)nearbyint(v * pow(10, st->k[j]));
            st->s1[j] += q;
            st->s2[j] += q * q;
        }
    }
    return WARD_OK;
}

int ward_learn_stats_combine(ward_learn_stats *total, const ward_learn_stats *const *parts,
                             size_t k) {
    WARD_ARG_CHECK(total && parts && k >= 1 && parts[0]);
    ward_learn_stats t = *parts[0];
    for (size_t i = 1; i < k; i++) {
        const ward_learn_stats *p = parts[i];
        WARD_ARG_CHECK(p && p->dims == t.dims);
        for (size_t j = 0; j < t.dims; j++) WARD_ARG_CHECK(p->k[j] == t.k[j]);
        if (__builtin_add_overflow(t.count, p->count, &t.count)) return WARD_EOVERFLOW;
        for (size_t j = 0; j < t.dims; j++)
            if (__builtin_add_overflow(t.s1[j], p->s1[j], &t.s1[j]) ||
                __builtin_add_overflow(t.s2[j], p->s2[j], &t.s2[j]))
                return WARD_EOVERFLOW;
    }
    *total = t;
    return WARD_OK;
}

int ward_learn_standardizer_make(ward_learn_standardizer *z, const ward_learn_stats *total,
                                 const ward_learn_spec *s, double sd_floor) {
    WARD_ARG_CHECK(z && total && s && total->dims == s->nterms + 1);
    WARD_ARG_CHECK(sd_floor > 0 && sd_floor <= 1);
    if (total->count <= 0) return WARD_EINVAL;
    memset(z, 0, sizeof *z);
    z->dims = total->dims;
    z->count = (double)total->count;
    for (size_t j = 0; j < total->dims; j++) {
        double lo, hi;
        ward_learn_spec_range(s, j, &lo, &hi);
        double sc = pow(10, total->k[j]);
        double mean = (double)total->s1[j] / (z->count * sc);
        double ex2 = (double)total->s2[j] / (z->count * sc * sc);
        double var = ex2 - mean * mean;
        mean = fmin(fmax(mean, lo), hi);
        double w = hi - lo, sd = var > 0 ? sqrt(var) : 0;
        z->mean[j] = mean;
        z->sd[j] = fmin(fmax(sd, sd_floor * w), w);
    }
    return WARD_OK;
}

int ward_learn_stats_label_check(const ward_learn_stats *total, const ward_learn_spec *s,
                                 char *err, size_t err_cap) {
    WARD_ARG_CHECK(total && s && err && err_cap && total->dims == s->nterms + 1);
    size_t j = s->nterms;
    if (total->count <= 0) {
        snprintf(err, err_cap, "no rows");
        return WARD_EINVAL;
    }
    if (s->lk == L_GT || s->lk == L_RATIO) {
        if (total->s1[j] <= 0 || total->s1[j] >= total->count) {
            snprintf(err, err_cap, "the label '%s%s%s>%g' has one class only (%s) across the "
                     "parties: nothing to learn",
                     s->la, s->lk == L_RATIO ? "/" : "", s->lb, s->thr,
                     total->s1[j] <= 0 ? "never true" : "always true");
            return WARD_EINVAL;
        }
        return WARD_OK;
    }
    /* count * s2 - s1^2 = count^2 var (scaled): zero means one value. */
    long double c = (long double)total->count, s1 = (long double)total->s1[j];
    if (c * (long double)total->s2[j] - s1 * s1 <= 0) {
        snprintf(err, err_cap, "the label '%s' takes one value only across the parties: "
                 "nothing to learn", s->la);
        return WARD_EINVAL;
    }
    return WARD_OK;
}

int ward_learn_standardize(const ward_learn_standardizer *z, ward_learn_data *d, int label) {
    WARD_ARG_CHECK(z && d && z->dims == d->d + 1);
    for (size_t i = 0; i < d->n; i++) {
        for (size_t j = 0; j < d->d; j++)
            d->x[i * d->d + j] = (d->x[i * d->d + j] - z->mean[j]) / z->sd[j];
        if (label) d->y[i] = (d->y[i] - z->mean[d->d]) / z->sd[d->d];
    }
    return WARD_OK;
}
