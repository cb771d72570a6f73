#include "group_key.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fixedpoint.h"

/* ---- parsing ------------------------------------------------------------ */

static void trim(const char **s, const char **e) {
    while (*s < *e && isspace((unsigned char)**s)) (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1])) (*e)--;
}

static int name_ok(const char *s, size_t n) {
    if (n == 0 || n > WARD_STORE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '"' || s[i] == '(' || s[i] == ')' || s[i] == ',' || s[i] == '/' ||
            isspace((unsigned char)s[i]) || (unsigned char)s[i] < 0x20)
            return 0;
    return 1;
}

static int parse_part(ward_key_part *p, char *err, size_t err_cap, const char *s, const char *e) {
    memset(p, 0, sizeof *p);
    trim(&s, &e);
    size_t len = (size_t)(e - s);
    if (len == 0 || len >= sizeof p->text) {
        snprintf(err, err_cap, "%s group-by part", len ? "an overlong" : "an empty");
        return WARD_EPARSE;
    }
    memcpy(p->text, s, len);
    const char *open = memchr(s, '(', len);
    if (!open) {
        if (!name_ok(s, len)) {
            snprintf(err, err_cap, "'%s' is not a column name", p->text);
            return WARD_EPARSE;
        }
        p->fn = WARD_KEY_COLUMN;
        memcpy(p->column, s, len);
        return WARD_OK;
    }
    const char *fs = s, *fe = open;
    trim(&fs, &fe);
    if (e[-1] != ')') {
        snprintf(err, err_cap, "'%s': a function part ends with ')'", p->text);
        return WARD_EPARSE;
    }
    size_t fl = (size_t)(fe - fs);
    if (fl == 4 && memcmp(fs, "hour", 4) == 0) p->fn = WARD_KEY_HOUR;
    else if (fl == 7 && memcmp(fs, "weekday", 7) == 0) p->fn = WARD_KEY_WEEKDAY;
    else if (fl == 4 && memcmp(fs, "date", 4) == 0) p->fn = WARD_KEY_DATE;
    else if (fl == 6 && memcmp(fs, "bucket", 6) == 0) p->fn = WARD_KEY_BUCKET;
    else {
        snprintf(err, err_cap, "'%s': the functions are hour, weekday, date and bucket", p->text);
        return WARD_EPARSE;
    }
    const char *as = open + 1, *ae = e - 1;
    const char *comma = memchr(as, ',', (size_t)(ae - as));
    const char *cs = as, *ce = comma ? comma : ae;
    trim(&cs, &ce);
    if (!name_ok(cs, (size_t)(ce - cs))) {
        snprintf(err, err_cap, "'%s': expected a column name inside the parentheses", p->text);
        return WARD_EPARSE;
    }
    memcpy(p->column, cs, (size_t)(ce - cs));
    if (p->fn == WARD_KEY_BUCKET) {
        if (!comma) {
            snprintf(err, err_cap, "'%s': bucket takes a column and a width: bucket(COL, W)", p->text);
            return WARD_EPARSE;
        }
        const char *ws = comma + 1, *we = ae;
        trim(&ws, &we);
        size_t wl = (size_t)(we - ws);
        if (wl == 0 || wl >= sizeof p->width) {
            snprintf(err, err_cap, "'%s': a bucket width is a positive number", p->text);
            return WARD_EPARSE;
        }
        memcpy(p->width, ws, wl);
    } else if (comma) {
        snprintf(err, err_cap, "'%s' takes one column", p->text);
        return WARD_EPARSE;
    }
    return WARD_OK;
}

int ward_group_key_parse(ward_group_key *k, char *err, size_t err_cap, const char *text) {
    WARD_ARG_CHECK(k != NULL && err != NULL && text != NULL);
    memset(k, 0, sizeof *k);
    const char *s = text, *e = text + strlen(text);
    trim(&s, &e);
    if (s == e) return WARD_OK;
    int depth = 0;
    const char *start = s;
    for (const char *q = s; q <= e; q++) {
        if (q < e && *q == '(') depth++;
        else if (q < e && *q == ')') depth--;
        if (depth < 0 || depth > 1) {
            snprintf(err, err_cap, "unbalanced parentheses in group-by key '%s'", text);
            return WARD_EPARSE;
        }
        if (q == e || (*q == ',' && depth == 0)) {
            if (q == e && depth != 0) {
                snprintf(err, err_cap, "unbalanced parentheses in group-by key '%s'", text);
                return WARD_EPARSE;
            }
            if (k->n == WARD_KEY_MAX_PARTS) {
                snprintf(err, err_cap, "a group-by key has at most %d parts", WARD_KEY_MAX_PARTS);
                return WARD_EPARSE;
            }
            int rc = parse_part(&k->part[k->n], err, err_cap, start, q);
            if (rc != WARD_OK) return rc;
            k->n++;
            start = q + 1;
        }
    }
    return WARD_OK;
}

/* ---- numbers and dates -------------------------------------------------- */

/* Parses decimal text exactly at `scale`: more significant decimals than
 * that is an error rather than a rounding. */
static int exact_decimal(int64_t *out, const char *s, size_t n, unsigned scale) {
    const char *dot = memchr(s, '.', n);
    if (dot) {
        size_t dec = n - (size_t)(dot - s) - 1;
        while (dec > 0 && dot[dec] == '0') dec--;
        if (dec > scale) return WARD_EINVAL;
    }
    return ward_fixed_parse_decimal(out, s, n, scale, (uint64_t)INT64_MAX);
}

void ward_key_decimal(char *out, size_t out_cap, int64_t v, unsigned scale) {
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = ward_fixed_pow10(scale);
    uint64_t ip = m / p, fp = m % p;
    if (fp == 0) {
        snprintf(out, out_cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
        return;
    }
    char frac[24];
    snprintf(frac, sizeof frac, "%0*llu", (int)scale, (unsigned long long)fp);
    size_t fl = strlen(frac);
    while (fl > 0 && frac[fl - 1] == '0') frac[--fl] = '\0';
    snprintf(out, out_cap, "%s%llu.%s", v < 0 ? "-" : "", (unsigned long long)ip, frac);
}

/* Days since 1970-01-01 and back (proleptic Gregorian; Hinnant). */
long ward_days_from_civil(long y, int m, int d) {
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d) {
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DD" that names a real day. */
static int parse_date(long *days, const char *s, size_t n) {
    if (n != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return 0;
    long y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31) return 0;
    long z = ward_days_from_civil(y, m, d);
    long y2;
    int m2, d2;
    civil_from_days(z, &y2, &m2, &d2);
    if (y2 != y || m2 != m || d2 != d) return 0; /* 2024-02-30 */
    *days = z;
    return 1;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- binding to a table -------------------------------------------------- */

static const ward_column_info *col_of(const ward_table_info *t, const char *name) {
    for (size_t i = 0; i < t->ncolumns; i++)
        if (strcmp(t->columns[i].name, name) == 0) return &t->columns[i];
    return NULL;
}

int ward_group_key_bind(int64_t widths[WARD_KEY_MAX_PARTS], char *err, size_t err_cap,
                        const ward_group_key *k, const ward_table_info *t) {
    WARD_ARG_CHECK(err != NULL && k != NULL && t != NULL);
    for (size_t i = 0; i < k->n; i++) {
        const ward_key_part *p = &k->part[i];
        const ward_column_info *c = col_of(t, p->column);
        if (!c) {
            snprintf(err, err_cap, "group-by column '%s.%s' does not exist", t->name, p->column);
            return WARD_ENOTFOUND;
        }
        int ts = p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY || p->fn == WARD_KEY_DATE;
        if (ts && c->type != WARD_COLTYPE_TIMESTAMP) {
            snprintf(err, err_cap, "group-by column '%s.%s' is not a timestamp", t->name, p->column);
            return WARD_EINVAL;
        }
        if (widths) widths[i] = 0;
        if (p->fn != WARD_KEY_BUCKET) continue;
        if (c->type != WARD_COLTYPE_INTEGER && c->type != WARD_COLTYPE_DECIMAL) {
            snprintf(err, err_cap, "bucket column '%s.%s' is not numeric", t->name, p->column);
            return WARD_EINVAL;
        }
        int64_t w = 0;
        int rc = exact_decimal(&w, p->width, strlen(p->width), c->scale);
        if (rc != WARD_OK || w <= 0) {
            snprintf(err, err_cap,
                     "bucket width '%s' is not a positive number with at most %u decimals "
                     "(the decimals of %s.%s)",
                     p->width, c->scale, t->name, p->column);
            return WARD_EINVAL;
        }
        if (widths) widths[i] = w;
    }
    return WARD_OK;
}

/* ---- domains ------------------------------------------------------------ */

typedef struct {
    ward_key_label *v;
    size_t n, cap;
} label_list;

static int push(label_list *l, const char *s, char *err, size_t err_cap) {
    if (strlen(s) >= WARD_KEY_LABEL_MAX) {
        snprintf(err, err_cap, "domain value '%.20s...' is longer than %d bytes", s,
                 WARD_KEY_LABEL_MAX - 1);
        return WARD_EINVAL;
    }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) {
            snprintf(err, err_cap, "domain value '%s' is listed twice", s);
            return WARD_EINVAL;
        }
    if (l->n == l->cap) {
        snprintf(err, err_cap, "a domain has at most %zu values", l->cap);
        return WARD_ETOOBIG;
    }
    snprintf(l->v[l->n++], WARD_KEY_LABEL_MAX, "%s", s);
    return WARD_OK;
}

/* One part's domain from its declared text ("a,b,c" or "LO..HI"). */
static int part_domain_text(label_list *l, char *err, size_t err_cap, const ward_key_part *p,
                            const ward_column_info *c, int64_t width, const char *text) {
    int numeric = p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY || p->fn == WARD_KEY_BUCKET ||
                  (p->fn == WARD_KEY_COLUMN &&
                   (c->type == WARD_COLTYPE_INTEGER || c->type == WARD_COLTYPE_DECIMAL));
    unsigned scale = p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY ? 0 : c->scale;
    int is_date = p->fn == WARD_KEY_DATE;
    const char *dots = strstr(text, "..");
    if (dots && !strchr(text, ',')) {
        const char *ls = text, *le = dots, *hs = dots + 2, *he = text + strlen(text);
        trim(&ls, &le);
        trim(&hs, &he);
        char buf[WARD_KEY_LABEL_MAX];
        if (is_date) {
            long a, b;
            if (!parse_date(&a, ls, (size_t)(le - ls)) || !parse_date(&b, hs, (size_t)(he - hs)) ||
                b < a) {
                snprintf(err, err_cap, "'%s' is not a range of dates YYYY-MM-DD..YYYY-MM-DD", text);
                return WARD_EPARSE;
            }
            for (long z = a; z <= b; z++) {
                long y;
                int m, d;
                civil_from_days(z, &y, &m, &d);
                snprintf(buf, sizeof buf, "%04ld-%02d-%02d", y, m, d);
                int rc = push(l, buf, err, err_cap);
                if (rc != WARD_OK) return rc;
            }
            return WARD_OK;
        }
        int64_t a, b;
        int whole = p->fn == WARD_KEY_BUCKET || scale == 0;
        if (!numeric || !whole || exact_decimal(&a, ls, (size_t)(le - ls), scale) != WARD_OK ||
            exact_decimal(&b, hs, (size_t)(he - hs), scale) != WARD_OK || b < a) {
            snprintf(err, err_cap,
                     "'%s': a range LO..HI is for integers, dates and buckets; list the values "
                     "of '%s' instead",
                     text, p->text);
            return WARD_EPARSE;
        }
        int64_t step = p->fn == WARD_KEY_BUCKET ? width : 1;
        if (p->fn == WARD_KEY_BUCKET) {
            a = floor_div(a, width) * width;
            b = floor_div(b, width) * width;
        }
        if ((uint64_t)(b - a) / (uint64_t)step >= l->cap) {
            snprintf(err, err_cap, "'%s' has more than %zu values", text, l->cap);
            return WARD_ETOOBIG;
        }
        for (int64_t v = a; v <= b; v += step) {
            ward_key_decimal(buf, sizeof buf, v, scale);
            int rc = push(l, buf, err, err_cap);
            if (rc != WARD_OK) return rc;
        }
        return WARD_OK;
    }
    const char *s = text;
    for (;;) {
        const char *e = strchr(s, ',');
        if (!e) e = s + strlen(s);
        const char *is = s, *ie = e;
        trim(&is, &ie);
        size_t n = (size_t)(ie - is);
        char buf[WARD_KEY_LABEL_MAX];
        if (n == 0 || n >= sizeof buf) {
            snprintf(err, err_cap, "domain of '%s': %s value", p->text, n ? "an overlong" : "an empty");
            return WARD_EPARSE;
        }
        long day;
        int64_t v;
        if (is_date) {
            if (!parse_date(&day, is, n)) {
                snprintf(err, err_cap, "domain of '%s': '%.*s' is not a date YYYY-MM-DD", p->text,
                         (int)n, is);
                return WARD_EPARSE;
            }
            memcpy(buf, is, n);
            buf[n] = '\0';
        } else if (numeric) {
            if (exact_decimal(&v, is, n, scale) != WARD_OK) {
                snprintf(err, err_cap, "domain of '%s': '%.*s' is not a number with at most %u "
                         "decimals", p->text, (int)n, is, scale);
                return WARD_EPARSE;
            }
            if (p->fn == WARD_KEY_BUCKET && floor_div(v, width) * width != v) {
                snprintf(err, err_cap, "domain of '%s': '%.*s' is not the lower end of a bucket",
                         p->text, (int)n, is);
                return WARD_EINVAL;
            }
            if ((p->fn == WARD_KEY_HOUR && (v < 0 || v > 23)) ||
                (p->fn == WARD_KEY_WEEKDAY && (v < 0 || v > 6))) {
                snprintf(err, err_cap, "domain of '%s': %.*s is out of range", p->text, (int)n, is);
                return WARD_EINVAL;
            }
            ward_key_decimal(buf, sizeof buf, v, scale);
        } else {
            memcpy(buf, is, n);
            buf[n] = '\0';
        }
        int rc = push(l, buf, err, err_cap);
        if (rc != WARD_OK) return rc;
        if (*e == '\0') break;
        s = e + 1;
    }
    return WARD_OK;
}

/* The domain a part has without a declaration: hour, weekday, a bucket of
 * a column with declared bounds. Returns 1 when it has one. */
static int part_domain_fixed(label_list *l, const ward_key_part *p, const ward_column_info *c,
                             int64_t width, char *err, size_t err_cap, int *rc) {
    char buf[WARD_KEY_LABEL_MAX];
    *rc = WARD_OK;
    if (p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY) {
        for (int v = 0; v < (p->fn == WARD_KEY_HOUR ? 24 : 7) && *rc == WARD_OK; v++) {
            snprintf(buf, sizeof buf, "%d", v);
            *rc = push(l, buf, err, err_cap);
        }
        return 1;
    }
    if (p->fn == WARD_KEY_BUCKET && c->has_min && c->has_max) {
        int64_t a = floor_div(c->min, width) * width, b = floor_div(c->max, width) * width;
        if ((uint64_t)(b - a) / (uint64_t)width >= l->cap) {
            snprintf(err, err_cap,
                     "bucket(%s, %s) over the declared bounds of %s has more than %zu buckets; "
                     "widen the buckets or declare a domain",
                     p->column, p->width, p->column, l->cap);
            *rc = WARD_ETOOBIG;
            return 1;
        }
        for (int64_t v = a; v <= b && *rc == WARD_OK; v += width) {
            ward_key_decimal(buf, sizeof buf, v, c->scale);
            *rc = push(l, buf, err, err_cap);
        }
        return 1;
    }
    return 0;
}

int ward_group_domain_expand(ward_key_label *labels, size_t *n, int *open, size_t cap, char *err,
                             size_t err_cap, const ward_group_key *k, const ward_table_info *t,
                             const char *const *part_domains, size_t n_part_domains) {
    WARD_ARG_CHECK(labels != NULL && n != NULL && open != NULL && err != NULL && k != NULL &&
                   t != NULL && (part_domains != NULL || n_part_domains == 0));
    *n = 0;
    *open = 0;
    if (k->n == 0) {
        if (n_part_domains) {
            snprintf(err, err_cap, "--domain without --group-by");
            return WARD_EINVAL;
        }
        snprintf(labels[0], WARD_KEY_LABEL_MAX, "all");
        *n = 1;
        return WARD_OK;
    }
    int64_t widths[WARD_KEY_MAX_PARTS];
    int rc = ward_group_key_bind(widths, err, err_cap, k, t);
    if (rc != WARD_OK) return rc;
    /* Which part each --domain declares. */
    const char *decl[WARD_KEY_MAX_PARTS] = {NULL, NULL, NULL};
    for (size_t j = 0; j < n_part_domains; j++) {
        const char *d = part_domains[j];
        const char *eq = strchr(d, '=');
        long hit = -1;
        for (size_t i = 0; eq && i < k->n; i++) {
            const char *ps = d, *pe = eq;
            trim(&ps, &pe);
            if ((size_t)(pe - ps) == strlen(k->part[i].text) &&
                memcmp(ps, k->part[i].text, (size_t)(pe - ps)) == 0)
                hit = (long)i;
        }
        const char *body = hit >= 0 ? eq + 1 : d;
        if (hit < 0) {
            /* Unnamed: the one part that has no fixed domain. */
            size_t cnt = 0;
            for (size_t i = 0; i < k->n; i++) {
                const ward_key_part *p = &k->part[i];
                const ward_column_info *c = col_of(t, p->column);
                int fixed = p->fn == WARD_KEY_HOUR || p->fn == WARD_KEY_WEEKDAY ||
                            (p->fn == WARD_KEY_BUCKET && c->has_min && c->has_max);
                if (!fixed || k->n == 1) {
                    hit = (long)i;
                    cnt++;
                }
            }
            if (cnt != 1) {
                snprintf(err, err_cap,
                         "--domain '%s': say which part of the key it declares, as PART=VALUES "
                         "(e.g. '%s=...')",
                         d, k->part[0].text);
                return WARD_EINVAL;
            }
        }
        if (decl[hit]) {
            snprintf(err, err_cap, "two domains declared for '%s'", k->part[hit].text);
            return WARD_EINVAL;
        }
        decl[hit] = body;
    }
    /* Each part's labels, then their product. */
    ward_key_label *parts[WARD_KEY_MAX_PARTS] = {NULL, NULL, NULL};
    size_t counts[WARD_KEY_MAX_PARTS] = {0, 0, 0};
    size_t total = 1;
    rc = WARD_OK;
    for (size_t i = 0; i < k->n && rc == WARD_OK; i++) {
        const ward_key_part *p = &k->part[i];
        const ward_column_info *c = col_of(t, p->column);
        parts[i] = calloc(cap, sizeof *parts[i]);
        if (!parts[i]) {
            rc = WARD_ENOMEM;
            break;
        }
        label_list l = {parts[i], 0, cap};
        if (decl[i]) {
            rc = part_domain_text(&l, err, err_cap, p, c, widths[i], decl[i]);
        } else if (!part_domain_fixed(&l, p, c, widths[i], err, err_cap, &rc)) {
            *open = 1;
        }
        counts[i] = l.n;
        if (rc == WARD_OK && !*open) {
            if (l.n == 0 || total > cap / l.n) {
                snprintf(err, err_cap, "the declared domain has more than %zu groups", cap);
                rc = WARD_ETOOBIG;
            }
            total *= l.n;
        }
    }
    if (rc == WARD_OK && !*open) {
        for (size_t g = 0; g < total; g++) {
            size_t rest = g, off = 0;
            size_t idx[WARD_KEY_MAX_PARTS];
            for (size_t i = k->n; i-- > 0;) {
                idx[i] = rest % counts[i];
                rest /= counts[i];
            }
            for (size_t i = 0; i < k->n && off < WARD_KEY_LABEL_MAX; i++)
                off += (size_t)snprintf(labels[g] + off, WARD_KEY_LABEL_MAX - off, "%s%s",
                                        i ? "/" : "", parts[i][idx[i]]);
            if (off >= WARD_KEY_LABEL_MAX) {
                snprintf(err, err_cap, "a group label is longer than %d bytes",
                         WARD_KEY_LABEL_MAX - 1);
                rc = WARD_EINVAL;
                break;
            }
        }
        if (rc == WARD_OK) *n = total;
    }
    for (size_t i = 0; i < WARD_KEY_MAX_PARTS; i++) free(parts[i]);
    if (rc != WARD_OK) *open = 0;
    return rc;
}

/* ---- ordering ------------------------------------------------------------ */

static int as_number(double *v, const char *s, size_t n) {
    if (n == 0 || n > 40) return 0;
    char buf[48];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    if (!(isdigit((unsigned char)buf[0]) || (buf[0] == '-' && n > 1))) return 0;
    *v = strtod(buf, &end);
    return *end == '\0';
}

int ward_group_label_cmp(const char *a, const char *b) {
    for (;;) {
        const char *ae = strchr(a, '/'), *be = strchr(b, '/');
        size_t an = ae ? (size_t)(ae - a) : strlen(a), bn = be ? (size_t)(be - b) : strlen(b);
        double x, y;
        int c;
        if (as_number(&x, a, an) && as_number(&y, b, bn)) {
            c = (x > y) - (x < y);
        } else {
            c = memcmp(a, b, an < bn ? an : bn);
            if (c == 0) c = (an > bn) - (an < bn);
        }
        if (c != 0) return c;
        if (!ae || !be) return (ae != NULL) - (be != NULL);
        a = ae + 1;
        b = be + 1;
    }
}
