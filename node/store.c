#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "csv.h"
#include "error.h"
#include "fixedpoint.h"
#include "store_ldp.h"

/* "ward" in ASCII: marks a database as ward's (PRAGMA application_id). */
#define WARD_APPLICATION_ID 0x77617264

/* ---- messages and SQLite errors ---- */

static void set_msg(ward_store *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_msg(ward_store *st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
}

/* Maps a SQLite result to a ward code and keeps SQLite's message. Full
 * disks, I/O errors and locks are all WARD_EIO: the caller can do nothing
 * about them but report the message. */
static int db_error(ward_store *st, int rc) {
    set_msg(st, "%s", sqlite3_errmsg(st->db));
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return WARD_ENOMEM;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return WARD_EPARSE;
    case SQLITE_CONSTRAINT:
        return WARD_ESTATE;
    default:
        return WARD_EIO;
    }
}

static int exec_sql(ward_store *st, const char *sql) {
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? WARD_OK : db_error(st, rc);
}

/* Rolls back without losing the message of the error that caused it. */
static void rollback_quietly(ward_store *st, const char *sql) {
    char saved[sizeof st->errmsg];
    memcpy(saved, st->errmsg, sizeof saved);
    sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    memcpy(st->errmsg, saved, sizeof saved);
}

static int prepare(ward_store *st, sqlite3_stmt **stmt, const char *sql) {
    int rc = sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return db_error(st, rc);
    }
    return WARD_OK;
}

/* ---- small string helpers (ASCII, locale-independent) ---- */

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(int c) { return c == ' ' || c == '\t'; }
static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

static int ieq(const char *a, size_t alen, const char *b) {
    size_t blen = strlen(b);
    if (alen != blen) return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
    return 1;
}

static int name_eq(const char *a, const char *b) { return ieq(a, strlen(a), b); }

static void trim(const char **s, size_t *n) {
    while (*n > 0 && is_space((unsigned char)(*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((unsigned char)(*s)[*n - 1])) (*n)--;
}

/* A printable excerpt of outside text for a message. */
static void excerpt(char *out, size_t cap, const char *s, size_t n) {
    size_t max = cap > 4 ? cap - 4 : 0, j = 0;
    for (size_t i = 0; i < n && j < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > max && cap >= 4) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    if (cap) out[j < cap ? j : cap - 1] = '\0';
}

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Identifiers are validated to [A-Za-z0-9_] before they get here, and are
 * quoted anyway so that no name can be read as SQL. */
static void sb_ident(sbuf *b, const char *name) {
    sb_add(b, "\"", 1);
    for (const char *q = name; *q; q++) {
        sb_add(b, q, 1);
        if (*q == '"') sb_add(b, q, 1);
    }
    sb_add(b, "\"", 1);
}

/* ---- names ---- */

const char *ward_sensitivity_name(ward_sensitivity s) {
    switch (s) {
    case WARD_SENSITIVITY_HIGH:
        return "high";
    case WARD_SENSITIVITY_DEFAULT:
    case WARD_SENSITIVITY_MEDIUM:
        return "medium";
    case WARD_SENSITIVITY_LOW:
        return "low";
    }
    return "?";
}

int ward_sensitivity_parse(ward_sensitivity *out, const char *text) {
    WARD_ARG_CHECK(out != NULL && text != NULL);
    if (strcmp(text, "high") == 0) *out = WARD_SENSITIVITY_HIGH;
    else if (strcmp(text, "medium") == 0) *out = WARD_SENSITIVITY_MEDIUM;
    else if (strcmp(text, "low") == 0) *out = WARD_SENSITIVITY_LOW;
    else return WARD_EPARSE;
    return WARD_OK;
}

const char *ward_coltype_name(ward_coltype t) {
    switch (t) {
    case WARD_COLTYPE_INTEGER:
        return "integer";
    case WARD_COLTYPE_DECIMAL:
        return "decimal";
    case WARD_COLTYPE_TEXT:
        return "text";
    case WARD_COLTYPE_TIMESTAMP:
        return "timestamp";
    }
    return "?";
}

static int coltype_parse(ward_coltype *out, const char *s) {
    for (int t = WARD_COLTYPE_INTEGER; t <= WARD_COLTYPE_TIMESTAMP; t++) {
        if (strcmp(s, ward_coltype_name((ward_coltype)t)) == 0) {
            *out = (ward_coltype)t;
            return WARD_OK;
        }
    }
    return WARD_EPARSE;
}

void ward_column_type_text(char *out, size_t out_cap, const ward_column_info *col) {
    if (!out || out_cap == 0) return;
    if (!col) {
        out[0] = '\0';
        return;
    }
    if (col->type == WARD_COLTYPE_DECIMAL)
        snprintf(out, out_cap, "decimal(%u)", col->scale);
    else
        snprintf(out, out_cap, "%s", ward_coltype_name(col->type));
}

static int valid_table_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WARD_STORE_NAME_MAX) return 0;
    if (!(s[0] >= 'a' && s[0] <= 'z')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || is_digit((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    return strncmp(s, "ward_", 5) != 0 && strncmp(s, "sqlite_", 7) != 0;
}

/* Column names: surrounding spaces are dropped, inner spaces become '_',
 * and the result must be [A-Za-z_][A-Za-z0-9_]* of at most 63 bytes. On
 * success `source` holds the trimmed original. */
static int sanitize_column(char name[WARD_STORE_NAME_MAX + 1], char source[WARD_STORE_NAME_MAX + 1],
                           const char *s, size_t n, const char **why) {
    trim(&s, &n);
    if (n == 0) {
        *why = "is empty";
        return WARD_EPARSE;
    }
    if (n > WARD_STORE_NAME_MAX) {
        *why = "is longer than 63 bytes";
        return WARD_EPARSE;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') c = '_';
        if (!(is_alpha(c) || c == '_' || (i > 0 && is_digit(c)))) {
            *why = is_digit(c) ? "starts with a digit"
                               : "has a character other than letters, digits, '_' and spaces";
            return WARD_EPARSE;
        }
        name[i] = (char)c;
    }
    name[n] = '\0';
    memcpy(source, s, n);
    source[n] = '\0';
    return WARD_OK;
}

/* ---- values ---- */

/* Strict int64: [+-]?[0-9]+. With no_leading_zero, "007" is refused (type
 * inference keeps such codes as text). */
static int parse_int(int64_t *out, const char *s, size_t n, int no_leading_zero) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    if (i == n) return WARD_EPARSE;
    if (no_leading_zero && n - i > 1 && s[i] == '0') return WARD_EPARSE;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int ovf = 0;
    for (; i < n; i++) {
        if (!is_digit((unsigned char)s[i])) return WARD_EPARSE;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) ovf = 1;
        else v = v * 10 + d;
    }
    if (ovf) return WARD_EOVERFLOW;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return WARD_OK;
}

/* Decimal text: [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?. Exponents are
 * accepted because R and pandas write tiny doubles as "3.47e-18"; they are
 * expanded into plain text for ward_fixed_parse_decimal. */
#define MAX_EXPONENT 400

typedef struct {
    const char *plain; /* plain decimal text (maybe the input itself) */
    size_t plain_len;
    unsigned frac;     /* fraction digits written, after the exponent */
    int leading_zero;  /* integer part written with a superfluous leading 0 */
    size_t int_digits; /* significant digits before the point */
} dec_text;

typedef struct {
    char *p;
    size_t cap;
} scratch;

static int dec_scan(dec_text *d, scratch *sc, const char *s, size_t n) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    const char *ip = s + i;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    size_t ip_len = (size_t)(s + i - ip);
    const char *fp = s + i;
    size_t fp_len = 0;
    if (i < n && s[i] == '.') {
        fp = s + ++i;
        while (i < n && is_digit((unsigned char)s[i])) i++;
        fp_len = (size_t)(s + i - fp);
    }
    if (ip_len + fp_len == 0) return WARD_EPARSE;
    long exp = 0;
    int has_exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = 1;
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        size_t start = i;
        while (i < n && is_digit((unsigned char)s[i])) {
            if (exp <= MAX_EXPONENT) exp = exp * 10 + (s[i] - '0');
            i++;
        }
        if (i == start || exp > MAX_EXPONENT) return WARD_EPARSE;
        if (eneg) exp = -exp;
    }
    if (i != n) return WARD_EPARSE;

    d->leading_zero = ip_len > 1 && ip[0] == '0';
    long frac = (long)fp_len - exp;
    d->frac = frac > 0 ? (unsigned)(frac > 100000 ? 100000 : frac) : 0;
    if (!has_exp) {
        d->plain = s;
        d->plain_len = n;
        size_t k = 0;
        while (k < ip_len && ip[k] == '0') k++;
        d->int_digits = ip_len - k;
        return WARD_OK;
    }

    /* m = ip fp, with the point after ip_len + exp digits. */
    size_t m_len = ip_len + fp_len;
    long point = (long)ip_len + exp;
    size_t need = m_len + (size_t)(exp < 0 ? -exp : exp) + 4;
    if (need > sc->cap) {
        char *np = realloc(sc->p, need);
        if (!np) return WARD_ENOMEM;
        sc->p = np;
        sc->cap = need;
    }
    char *o = sc->p;
    size_t j = 0;
    if (neg) o[j++] = '-';
    size_t int_start = j;
    if (point <= 0) {
        o[j++] = '0';
        o[j++] = '.';
        for (long z = 0; z < -point; z++) o[j++] = '0';
        memcpy(o + j, ip, ip_len);
        j += ip_len;
        memcpy(o + j, fp, fp_len);
        j += fp_len;
    } else {
        for (size_t k = 0; k < m_len; k++) {
            if ((long)k == point) o[j++] = '.';
            o[j++] = k < ip_len ? ip[k] : fp[k - ip_len];
        }
        for (long z = (long)m_len; z < point; z++) o[j++] = '0';
    }
    d->plain = o;
    d->plain_len = j;
    size_t k = int_start, e = int_start;
    while (e < j && o[e] != '.') e++;
    while (k < e && o[k] == '0') k++;
    d->int_digits = e - k;
    return WARD_OK;
}

static int parse_decimal(int64_t *out, scratch *sc, const char *s, size_t n, unsigned scale) {
    dec_text d;
    int rc = dec_scan(&d, sc, s, n);
    if (rc) return rc;
    return ward_fixed_parse_decimal(out, d.plain, d.plain_len, scale, (uint64_t)INT64_MAX);
}

/* ---- timestamps ---- */

typedef struct {
    int year, mon, day, hour, min, sec, msec;
    int has_frac;
} ts_value;

static int days_in_month(int y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

static int ts_valid(const ts_value *t) {
    return t->year >= 0 && t->year <= 9999 && t->mon >= 1 && t->mon <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->mon) && t->hour >= 0 && t->hour <= 23 &&
           t->min >= 0 && t->min <= 59 && t->sec >= 0 && t->sec <= 59;
}

/* Reads min..max digits at s[*i]. */
static int digits(int *out, const char *s, size_t n, size_t *i, int min, int max) {
    int v = 0, k = 0;
    while (k < max && *i < n && is_digit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < min) return 0;
    *out = v;
    return 1;
}

/* ".f" with 1 to 9 digits; milliseconds are kept, finer digits dropped. */
static int fraction(ts_value *t, const char *s, size_t n, size_t *i) {
    int ms = 0, k = 0;
    while (*i < n && is_digit((unsigned char)s[*i])) {
        if (k < 3) ms = ms * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (k < 1 || k > 9) return 0;
    for (int p = k; p < 3; p++) ms *= 10;
    t->msec = ms;
    t->has_frac = 1;
    return 1;
}

/* YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM[:SS[.f]]. */
static int ts_parse_iso(ts_value *t, const char *s, size_t n) {
    size_t i = 0;
    memset(t, 0, sizeof *t);
    if (!digits(&t->year, s, n, &i, 4, 4) || i >= n || s[i++] != '-') return 0;
    if (!digits(&t->mon, s, n, &i, 2, 2) || i >= n || s[i++] != '-') return 0;
    if (!digits(&t->day, s, n, &i, 2, 2)) return 0;
    if (i < n) {
        if (s[i] != 'T' && s[i] != ' ') return 0;
        i++;
        if (!digits(&t->hour, s, n, &i, 2, 2) || i >= n || s[i++] != ':') return 0;
        if (!digits(&t->min, s, n, &i, 2, 2)) return 0;
        if (i < n) {
            if (s[i++] != ':' || !digits(&t->sec, s, n, &i, 2, 2)) return 0;
            if (i < n && (s[i++] != '.' || !fraction(t, s, n, &i))) return 0;
        }
    }
    return i == n && ts_valid(t);
}

static const char *const month_names[12] = {"january", "february", "march",     "april",
                                            "may",     "june",     "july",      "august",
                                            "september", "october", "november", "december"};

/* Checks a local timestamp format once, before any value meets it. */
static int ts_format_check(const char *fmt, const char **why) {
    int y = 0, m = 0, d = 0, h12 = 0, p = 0;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') continue;
        switch (*++f) {
        case 'Y':
        case 'y':
            y++;
            break;
        case 'm':
        case 'b':
            m++;
            break;
        case 'd':
            d++;
            break;
        case 'I':
            h12++;
            break;
        case 'p':
            p++;
            break;
        case 'H':
        case 'M':
        case 'S':
        case 'f':
        case '%':
            break;
        case '\0':
            *why = "ends with a lone '%'";
            return WARD_EPARSE;
        default:
            *why = "has an unknown directive (use %Y %y %m %b %d %H %I %M %S %f %p %%)";
            return WARD_EPARSE;
        }
    }
    if (y != 1 || m != 1 || d != 1) {
        *why = "needs exactly one year (%Y or %y), month (%m or %b) and day (%d)";
        return WARD_EPARSE;
    }
    if ((h12 != 0) != (p != 0)) {
        *why = "uses %I without %p or %p without %I";
        return WARD_EPARSE;
    }
    return WARD_OK;
}

static int ts_parse_fmt(ts_value *t, const char *fmt, const char *s, size_t n) {
    size_t i = 0;
    int pm = -1;
    memset(t, 0, sizeof *t);
    for (const char *f = fmt; *f; f++) {
        if (*f == ' ') {
            if (i >= n || !is_space((unsigned char)s[i])) return 0;
            while (i < n && is_space((unsigned char)s[i])) i++;
            continue;
        }
        if (*f != '%') {
            if (i >= n || s[i] != *f) return 0;
            i++;
            continue;
        }
        int ok = 1;
        switch (*++f) {
        case 'Y':
            ok = digits(&t->year, s, n, &i, 4, 4);
            break;
        case 'y':
            ok = digits(&t->year, s, n, &i, 2, 2);
            /* POSIX: 69-99 are 1969-1999, 00-68 are 2000-2068. */
            t->year += t->year >= 69 ? 1900 : 2000;
            break;
        case 'm':
            ok = digits(&t->mon, s, n, &i, 1, 2);
            break;
        case 'd':
            ok = digits(&t->day, s, n, &i, 1, 2);
            break;
        case 'H':
        case 'I':
            ok = digits(&t->hour, s, n, &i, 1, 2);
            break;
        case 'M':
            ok = digits(&t->min, s, n, &i, 1, 2);
            break;
        case 'S':
            ok = digits(&t->sec, s, n, &i, 1, 2);
            break;
        case 'f':
            ok = fraction(t, s, n, &i);
            break;
        case 'p':
            if (n - i >= 2 && ieq(s + i, 2, "am")) pm = 0;
            else if (n - i >= 2 && ieq(s + i, 2, "pm")) pm = 1;
            else ok = 0;
            i += 2;
            break;
        case 'b': {
            ok = 0;
            for (int k = 0; k < 12 && !ok; k++) {
                size_t full = strlen(month_names[k]);
                char abbrev[4];
                memcpy(abbrev, month_names[k], 3);
                abbrev[3] = '\0';
                if (n - i >= full && ieq(s + i, full, month_names[k])) {
                    t->mon = k + 1;
                    i += full;
                    ok = 1;
                } else if (n - i >= 3 && ieq(s + i, 3, abbrev) &&
                           (n - i == 3 || !is_alpha((unsigned char)s[i + 3]))) {
                    t->mon = k + 1;
                    i += 3;
                    ok = 1;
                }
            }
            break;
        }
        case '%':
            ok = i < n && s[i++] == '%';
            break;
        default:
            ok = 0;
            break;
        }
        if (!ok) return 0;
    }
    if (i != n) return 0;
    if (pm >= 0) {
        if (t->hour < 1 || t->hour > 12) return 0;
        t->hour = t->hour % 12 + (pm ? 12 : 0);
    }
    return ts_valid(t);
}

/* "YYYY-MM-DD HH:MM:SS[.fff]": sorts as time does and is what SQLite's
 * date functions read, so hour() and weekday() map to strftime(). */
static size_t ts_normalize(char out[32], const ts_value *t) {
    int k = snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day, t->hour,
                     t->min, t->sec);
    if (t->has_frac) k += snprintf(out + k, 32 - (size_t)k, ".%03d", t->msec);
    return (size_t)k;
}

static int ts_parse(ts_value *t, const char *fmt, const char *s, size_t n) {
    if (fmt && ts_parse_fmt(t, fmt, s, n)) return 1;
    return ts_parse_iso(t, s, n);
}

/* ---- declared schema ---- */

typedef struct {
    char name[WARD_STORE_NAME_MAX + 1];
    ward_coltype type;
    unsigned scale;
    int has_bounds;
    int64_t min, max;
    int used;
} decl;

static int schema_error(ward_store *st, const char *spec, size_t at, const char *what) {
    char ex[40];
    excerpt(ex, sizeof ex, spec + at, strlen(spec + at));
    set_msg(st, "schema: %s at \"%s\"", what, ex);
    return WARD_EPARSE;
}

static void skip_ws(const char *s, size_t *i) {
    while (is_space((unsigned char)s[*i])) (*i)++;
}

static int parse_schema(ward_store *st, decl **out, size_t *count, const char *spec) {
    decl *ds = NULL;
    size_t nd = 0, cap = 0, i = 0;
    scratch sc = {NULL, 0};
    int rc = WARD_OK;
    *out = NULL;
    *count = 0;
    skip_ws(spec, &i);
    while (spec[i]) {
        if (nd == WARD_STORE_MAX_COLUMNS) {
            rc = schema_error(st, spec, i, "too many columns");
            goto done;
        }
        if (nd == cap) {
            cap = cap ? 2 * cap : 8;
            decl *nds = realloc(ds, cap * sizeof *nds);
            if (!nds) {
                rc = WARD_ENOMEM;
                goto done;
            }
            ds = nds;
        }
        decl *d = &ds[nd];
        memset(d, 0, sizeof *d);
        size_t start = i;
        while (spec[i] && spec[i] != ':' && spec[i] != ',') i++;
        if (spec[i] != ':') {
            rc = schema_error(st, spec, start, "expected NAME:TYPE");
            goto done;
        }
        char source[WARD_STORE_NAME_MAX + 1];
        const char *why = NULL;
        if (sanitize_column(d->name, source, spec + start, i - start, &why) != WARD_OK) {
            char msg[96];
            snprintf(msg, sizeof msg, "column name %s", why);
            rc = schema_error(st, spec, start, msg);
            goto done;
        }
        for (size_t k = 0; k < nd; k++) {
            if (name_eq(ds[k].name, d->name)) {
                rc = schema_error(st, spec, start, "column declared twice");
                goto done;
            }
        }
        i++;
        skip_ws(spec, &i);
        size_t tstart = i;
        char tname[16];
        size_t tl = 0;
        while (is_alpha((unsigned char)spec[i])) {
            if (tl < sizeof tname - 1) tname[tl++] = (char)lower((unsigned char)spec[i]);
            i++;
        }
        tname[tl] = '\0';
        if (coltype_parse(&d->type, tname) != WARD_OK) {
            rc = schema_error(st, spec, tstart,
                              "unknown type (integer, decimal, decimal(K), text, timestamp)");
            goto done;
        }
        if (d->type == WARD_COLTYPE_DECIMAL) {
            d->scale = WARD_STORE_DEFAULT_SCALE;
            skip_ws(spec, &i);
            if (spec[i] == '(') {
                i++;
                skip_ws(spec, &i);
                int k = 0;
                if (!digits(&k, spec, strlen(spec), &i, 1, 2) || k > WARD_FIXED_MAX_SCALE) {
                    rc = schema_error(st, spec, tstart, "decimal scale must be 0 to 18");
                    goto done;
                }
                skip_ws(spec, &i);
                if (spec[i] != ')') {
                    rc = schema_error(st, spec, tstart, "expected ')'");
                    goto done;
                }
                i++;
                d->scale = (unsigned)k;
            }
        }
        skip_ws(spec, &i);
        if (spec[i] == '[') {
            if (d->type != WARD_COLTYPE_INTEGER && d->type != WARD_COLTYPE_DECIMAL) {
                rc = schema_error(st, spec, i, "bounds are for integer and decimal columns");
                goto done;
            }
            int64_t b[2];
            size_t bstart = i;
            for (int k = 0; k < 2; k++) {
                i++;
                skip_ws(spec, &i);
                size_t s0 = i;
                while (spec[i] && spec[i] != ',' && spec[i] != ']' && !is_space((unsigned char)spec[i]))
                    i++;
                int brc = d->type == WARD_COLTYPE_INTEGER
                              ? parse_int(&b[k], spec + s0, i - s0, 0)
                              : parse_decimal(&b[k], &sc, spec + s0, i - s0, d->scale);
                if (brc == WARD_ENOMEM) {
                    rc = brc;
                    goto done;
                }
                skip_ws(spec, &i);
                if (brc != WARD_OK || spec[i] != (k == 0 ? ',' : ']')) {
                    rc = schema_error(st, spec, bstart, "bounds must be [MIN,MAX] numbers");
                    goto done;
                }
            }
            i++;
            if (b[0] > b[1]) {
                rc = schema_error(st, spec, bstart, "MIN is above MAX");
                goto done;
            }
            d->has_bounds = 1;
            d->min = b[0];
            d->max = b[1];
        }
        skip_ws(spec, &i);
        nd++;
        if (spec[i] == ',') {
            i++;
            skip_ws(spec, &i);
            if (!spec[i]) {
                rc = schema_error(st, spec, i, "trailing ','");
                goto done;
            }
        } else if (spec[i]) {
            rc = schema_error(st, spec, i, "expected ',' between columns");
            goto done;
        }
    }
done:
    free(sc.p);
    if (rc) {
        free(ds);
        return rc;
    }
    *out = ds;
    *count = nd;
    return WARD_OK;
}

/* ---- opening ---- */

static const char schema_v1[] =
    "CREATE TABLE ward_meta(\n"
    "  key TEXT PRIMARY KEY NOT NULL,\n"
    "  value ANY) STRICT;\n"
    "CREATE TABLE ward_tables(\n"
    "  name TEXT PRIMARY KEY NOT NULL,\n"
    "  sensitivity TEXT NOT NULL CHECK (sensitivity IN ('high', 'medium', 'low')),\n"
    "  row_count INTEGER NOT NULL CHECK (row_count >= 0),\n"
    "  created_ms INTEGER NOT NULL,\n"
    "  updated_ms INTEGER NOT NULL) STRICT;\n"
    "CREATE TABLE ward_columns(\n"
    "  table_name TEXT NOT NULL REFERENCES ward_tables(name) ON DELETE CASCADE,\n"
    "  position INTEGER NOT NULL CHECK (position >= 0),\n"
    "  name TEXT NOT NULL COLLATE NOCASE,\n"
    "  source TEXT NOT NULL,\n"
    "  type TEXT NOT NULL CHECK (type IN ('integer', 'decimal', 'text', 'timestamp')),\n"
    "  scale INTEGER NOT NULL CHECK (scale BETWEEN 0 AND 18),\n"
    "  min INTEGER,\n"
    "  max INTEGER,\n"
    "  PRIMARY KEY (table_name, position),\n"
    "  UNIQUE (table_name, name)) STRICT;\n"
    "CREATE TABLE ward_audit(\n"
    "  seq INTEGER PRIMARY KEY,\n"
    "  time_ms INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  session TEXT NOT NULL,\n"
    "  details TEXT NOT NULL,\n"
    "  prev_hash BLOB NOT NULL,\n"
    "  hash BLOB NOT NULL) STRICT;\n"
    "CREATE TRIGGER ward_audit_no_update BEFORE UPDATE ON ward_audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
    "CREATE TRIGGER ward_audit_no_delete BEFORE DELETE ON ward_audit\n"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
    "INSERT INTO ward_meta(key, value) VALUES ('schema_version', 1);\n";

/* Runs a one-row, one-column query; *found tells whether there was a row. */
static int query_int(ward_store *st, int64_t *out, int *found, const char *sql) {
    sqlite3_stmt *stmt;
    int rc = prepare(st, &stmt, sql);
    if (rc) return rc;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW) {
        *found = 1;
        *out = sqlite3_column_int64(stmt, 0);
        rc = WARD_OK;
    } else if (s == SQLITE_DONE) {
        *found = 0;
        rc = WARD_OK;
    } else {
        rc = db_error(st, s);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Reads the schema version: 0 with *found = 0 for a database without
 * ward_meta. */
static int read_version(ward_store *st, int64_t *version, int *has_meta, int64_t *objects) {
    int found;
    int rc = query_int(st, objects, &found, "SELECT count(*) FROM sqlite_schema");
    if (rc) return rc;
    int64_t n;
    rc = query_int(st, &n, &found,
                   "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'ward_meta'");
    if (rc) return rc;
    *has_meta = n > 0;
    *version = 0;
    if (!*has_meta) return WARD_OK;
    sqlite3_stmt *stmt;
    rc = prepare(st, &stmt, "SELECT value FROM ward_meta WHERE key = 'schema_version'");
    if (rc) return rc;
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_INTEGER) {
        *version = sqlite3_column_int64(stmt, 0);
    } else if (s == SQLITE_ROW || s == SQLITE_DONE) {
        set_msg(st, "the database has no readable schema version");
        rc = WARD_EVERSION;
    } else {
        rc = db_error(st, s);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int check_version(ward_store *st, int64_t version) {
    if (version > WARD_STORE_SCHEMA_VERSION) {
        set_msg(st, "the database has schema version %lld, newer than this ward's (%d)",
                (long long)version, WARD_STORE_SCHEMA_VERSION);
        return WARD_EVERSION;
    }
    if (version < 1) {
        set_msg(st, "the database has an invalid schema version %lld", (long long)version);
        return WARD_EVERSION;
    }
    return WARD_OK;
}

static int open_inner(ward_store *st, const char *path) {
    /* A connection is only ever used by one thread at a time (the node's
     * loop, or one import job with a connection of its own), so SQLite's
     * per-call connection mutex (about a tenth of a node's CPU in a
     * session) is not needed. */
    int s = sqlite3_open_v2(path, &st->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (s != SQLITE_OK) {
        if (st->db) set_msg(st, "%s: %s", path, sqlite3_errmsg(st->db));
        else set_msg(st, "%s: out of memory", path);
        return s == SQLITE_NOMEM ? WARD_ENOMEM : WARD_EIO;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 5000);
    int rc = exec_sql(st, "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;");
    if (rc) return rc;

    /* Look before changing anything: a file that is not ours, or is from a
     * newer ward, is left exactly as it was. */
    int64_t version, objects;
    int has_meta;
    rc = read_version(st, &version, &has_meta, &objects);
    if (rc == WARD_EPARSE) set_msg(st, "%s is not a SQLite database", path);
    if (rc) return rc;
    if (has_meta) {
        rc = check_version(st, version);
        if (rc) return rc;
    } else if (objects > 0) {
        set_msg(st, "%s is a SQLite database that ward did not create", path);
        return WARD_EPARSE;
    }

    sqlite3_stmt *stmt;
    rc = prepare(st, &stmt, "PRAGMA journal_mode = WAL");
    if (rc) return rc;
    s = sqlite3_step(stmt);
    const unsigned char *mode = s == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
    int wal = mode && strcmp((const char *)mode, "wal") == 0;
    if (s != SQLITE_ROW) rc = db_error(st, s);
    sqlite3_finalize(stmt);
    if (rc) return rc;
    if (!wal) {
        set_msg(st, "%s: cannot use the WAL journal", path);
        return WARD_EIO;
    }
    rc = exec_sql(st, "PRAGMA synchronous = FULL");
    if (rc) return rc;

    if (!has_meta) {
        rc = exec_sql(st, "BEGIN IMMEDIATE");
        if (rc) return rc;
        /* Another process may have created it meanwhile. */
        rc = read_version(st, &version, &has_meta, &objects);
        if (rc == WARD_OK && !has_meta) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA application_id = %d", WARD_APPLICATION_ID);
            rc = exec_sql(st, sql);
            if (rc == WARD_OK) rc = exec_sql(st, schema_v1);
            if (rc == WARD_OK) rc = exec_sql(st, "COMMIT");
        } else if (rc == WARD_OK) {
            rc = check_version(st, version);
            if (rc == WARD_OK) rc = exec_sql(st, "COMMIT");
        }
        if (rc) {
            rollback_quietly(st, "ROLLBACK");
            return rc;
        }
    }
    return WARD_OK;
}

int ward_store_open(ward_store *st, const char *path) {
    WARD_ARG_CHECK(st != NULL && path != NULL);
    memset(st, 0, sizeof *st);
    int rc = open_inner(st, path);
    if (rc) {
        sqlite3_close_v2(st->db);
        st->db = NULL;
    }
    return rc;
}

int ward_store_stmt(ward_store *st, sqlite3_stmt **out, const char *sql) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && out != NULL && sql != NULL);
    size_t i = 0;
    while (i < WARD_STORE_STMT_CACHE && st->stmt_sql[i] && st->stmt_sql[i] != sql) i++;
    if (i < WARD_STORE_STMT_CACHE && st->stmt_sql[i]) {
        *out = st->stmt[i];
        return WARD_OK;
    }
    if (i == WARD_STORE_STMT_CACHE) return prepare(st, out, sql);
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return db_error(st, rc);
    }
    st->stmt_sql[i] = sql;
    st->stmt[i] = *out;
    return WARD_OK;
}

void ward_store_stmt_done(ward_store *st, sqlite3_stmt *stmt) {
    if (!stmt) return;
    for (size_t i = 0; i < WARD_STORE_STMT_CACHE; i++) {
        if (st->stmt[i] == stmt) {
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            return;
        }
    }
    sqlite3_finalize(stmt);
}

int ward_store_close(ward_store *st) {
    if (!st || !st->db) return WARD_OK;
    for (size_t i = 0; i < WARD_STORE_STMT_CACHE; i++) {
        sqlite3_finalize(st->stmt[i]);
        st->stmt[i] = NULL;
        st->stmt_sql[i] = NULL;
    }
    int s = sqlite3_close(st->db);
    if (s != SQLITE_OK) {
        /* A statement left open would be a bug here; close it anyway. */
        set_msg(st, "%s", sqlite3_errmsg(st->db));
        sqlite3_close_v2(st->db);
        st->db = NULL;
        return WARD_EIO;
    }
    st->db = NULL;
    return WARD_OK;
}

uint64_t ward_store_changes(const ward_store *st) {
    return st && st->db ? (uint64_t)sqlite3_total_changes64(st->db) : 0;
}

const char *ward_store_errmsg(const ward_store *st) { return st ? st->errmsg : ""; }

int ward_store_schema_version(ward_store *st, int *version) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && version != NULL);
    int64_t v, objects;
    int has_meta;
    int rc = read_version(st, &v, &has_meta, &objects);
    if (rc) return rc;
    *version = (int)v;
    return WARD_OK;
}

int ward_store_in_transaction(const ward_store *st) {
    return st && st->db && !sqlite3_get_autocommit(st->db);
}

int ward_store_begin(ward_store *st) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    if (ward_store_in_transaction(st)) return WARD_ESTATE;
    return exec_sql(st, "BEGIN IMMEDIATE");
}

int ward_store_commit(ward_store *st) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    if (!ward_store_in_transaction(st)) return WARD_ESTATE;
    int rc = exec_sql(st, "COMMIT");
    if (rc) {
        if (ward_store_in_transaction(st)) rollback_quietly(st, "ROLLBACK");
        return rc == WARD_ENOMEM ? rc : WARD_EIO;
    }
    return WARD_OK;
}

int ward_store_rollback(ward_store *st) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    if (!ward_store_in_transaction(st)) return WARD_ESTATE;
    return exec_sql(st, "ROLLBACK");
}

int ward_store_limit_size(ward_store *st, uint64_t *effective, uint64_t max_bytes) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL);
    int64_t page_size = 0, pages = 0;
    int found = 0;
    int rc = query_int(st, &page_size, &found, "PRAGMA page_size");
    if (rc) return rc;
    if (!found || page_size <= 0) return WARD_EIO;
    uint64_t want = max_bytes / (uint64_t)page_size;
    if (want > 0xFFFFFFFEu) want = 0xFFFFFFFEu;
    if (want == 0) want = 1;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu", (unsigned long long)want);
    rc = query_int(st, &pages, &found, sql);
    if (rc) return rc;
    if (effective) *effective = (uint64_t)pages * (uint64_t)page_size;
    return WARD_OK;
}

/* ---- table metadata ---- */

void ward_table_info_clear(ward_table_info *info) {
    if (!info) return;
    free(info->columns);
    memset(info, 0, sizeof *info);
}

static void copy_text(char *out, size_t cap, const unsigned char *s) {
    snprintf(out, cap, "%s", s ? (const char *)s : "");
}

int ward_store_table_info(ward_store *st, ward_table_info *info, const char *table) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && info != NULL && table != NULL);
    memset(info, 0, sizeof *info);
    static const char table_sql[] =
        "SELECT sensitivity, row_count, created_ms, updated_ms FROM ward_tables WHERE name = ?";
    static const char columns_sql[] =
        "SELECT name, source, type, scale, min, max FROM ward_columns"
        " WHERE table_name = ? ORDER BY position";
    sqlite3_stmt *stmt;
    int rc = ward_store_stmt(st, &stmt, table_sql);
    if (rc) return rc;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(stmt);
    if (s == SQLITE_ROW) {
        copy_text(info->name, sizeof info->name, (const unsigned char *)table);
        const char *sens = (const char *)sqlite3_column_text(stmt, 0);
        if (!sens || ward_sensitivity_parse(&info->sensitivity, sens) != WARD_OK)
            info->sensitivity = WARD_SENSITIVITY_MEDIUM;
        int64_t rows = sqlite3_column_int64(stmt, 1);
        info->rows = rows > 0 ? (uint64_t)rows : 0;
        info->created_ms = sqlite3_column_int64(stmt, 2);
        info->updated_ms = sqlite3_column_int64(stmt, 3);
    } else if (s == SQLITE_DONE) {
        set_msg(st, "no table named '%s'", table);
        rc = WARD_ENOTFOUND;
    } else {
        rc = db_error(st, s);
    }
    ward_store_stmt_done(st, stmt);
    if (rc) return rc;

    rc = ward_store_stmt(st, &stmt, columns_sql);
    if (rc) return rc;
    sqlite3_bind_text(stmt, 1, table, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (info->ncolumns == cap) {
            cap = cap ? 2 * cap : 16;
            ward_column_info *nc = realloc(info->columns, cap * sizeof *nc);
            if (!nc) {
                rc = WARD_ENOMEM;
                break;
            }
            info->columns = nc;
        }
        ward_column_info *c = &info->columns[info->ncolumns++];
        memset(c, 0, sizeof *c);
        copy_text(c->name, sizeof c->name, sqlite3_column_text(stmt, 0));
        copy_text(c->source, sizeof c->source, sqlite3_column_text(stmt, 1));
        const char *type = (const char *)sqlite3_column_text(stmt, 2);
        if (!type || coltype_parse(&c->type, type) != WARD_OK) c->type = WARD_COLTYPE_TEXT;
        c->scale = (unsigned)sqlite3_column_int(stmt, 3);
        if (sqlite3_column_type(stmt, 4) != SQLITE_NULL) {
            c->has_min = 1;
            c->min = sqlite3_column_int64(stmt, 4);
        }
        if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
            c->has_max = 1;
            c->max = sqlite3_column_int64(stmt, 5);
        }
    }
    if (rc == WARD_OK && s != SQLITE_DONE) rc = db_error(st, s);
    ward_store_stmt_done(st, stmt);
    if (rc) ward_table_info_clear(info);
    return rc;
}

void ward_store_tables_free(ward_table_info *tables, size_t count) {
    if (!tables) return;
    for (size_t i = 0; i < count; i++) ward_table_info_clear(&tables[i]);
    free(tables);
}

int ward_store_tables(ward_store *st, ward_table_info **tables, size_t *count) {
    WARD_ARG_CHECK(st != NULL && st->db != NULL && tables != NULL && count != NULL);
    *tables = NULL;
    *count = 0;
    sqlite3_stmt *stmt;
    int rc = prepare(st, &stmt, "SELECT name FROM ward_tables ORDER BY name");
    if (rc) return rc;
    ward_table_info *list = NULL;
    size_t n = 0, cap = 0;
    int s;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            ward_table_info *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = WARD_ENOMEM;
                break;
            }
            list = nl;
        }
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        rc = ward_store_table_info(st, &list[n], name ? name : "");
        if (rc) break;
        n++;
    }
    if (rc == WARD_OK && s != SQLITE_DONE) rc = db_error(st, s);
    sqlite3_finalize(stmt);
    if (rc) {
        ward_store_tables_free(list, n);
        return rc;
    }
    *tables = list;
    *count = n;
    return WARD_OK;
}

/* ---- import ---- */

typedef struct {
    char name[WARD_STORE_NAME_MAX + 1];
    char source[WARD_STORE_NAME_MAX + 1];
    ward_coltype type;
    unsigned scale;
    int has_bounds;
    int64_t min, max;
    int known; /* type fixed by the table or the declared schema */
    /* inference */
    int maybe_int, maybe_dec, maybe_ts;
    unsigned max_frac;
    unsigned unfit; /* bit k: some value does not fit an int64 at scale k */
    uint64_t nonnull;
} icol;

typedef struct {
    ward_store *st;
    ward_import_report *rep;
    const char *table;
    const char *ts_format;
    int64_t now_ms;
    ward_sensitivity sensitivity;
    int pass;            /* 1: infer types, 2: convert and insert */
    int exists;          /* appending to an existing table */
    ward_table_info existing;
    decl *decls;
    size_t ndecls;
    icol *cols;
    size_t ncols;
    int have_header;
    sqlite3_stmt *insert;
    uint64_t rows;
    int first_code;
    int fatal;           /* a database failure: stop at once */
    scratch sc;
} import_ctx;

static void add_error(import_ctx *c, int code, uint64_t line, const char *column, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

static void add_error(import_ctx *c, int code, uint64_t line, const char *column, const char *fmt,
                      ...) {
    ward_import_report *r = c->rep;
    if (r->error_count == 0) c->first_code = code;
    r->error_count++;
    if (r->nerrors == WARD_IMPORT_MAX_ERRORS) return;
    ward_import_error *e = &r->errors[r->nerrors++];
    e->code = code;
    e->line = line;
    snprintf(e->column, sizeof e->column, "%s", column ? column : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
}

static int is_null(const ward_csv_field *f) {
    if (f->len == 0) return 1;
    if (f->quoted) return 0;
    const char *s = f->data;
    size_t n = f->len;
    trim(&s, &n);
    return n == 0 || ieq(s, n, "na");
}

static const decl *find_decl(import_ctx *c, const char *name) {
    for (size_t i = 0; i < c->ndecls; i++)
        if (name_eq(c->decls[i].name, name)) return &c->decls[i];
    return NULL;
}

static int same_type(const icol *a, const decl *d) {
    return a->type == d->type && (a->type != WARD_COLTYPE_DECIMAL || a->scale == d->scale);
}

static void type_text(char *out, size_t cap, ward_coltype t, unsigned scale) {
    ward_column_info ci;
    memset(&ci, 0, sizeof ci);
    ci.type = t;
    ci.scale = scale;
    ward_column_type_text(out, cap, &ci);
}

/* The header: names, the declared schema, and the existing table. Every
 * problem found is reported before stopping. */
static int read_header(import_ctx *c, const ward_csv_record *rec) {
    uint64_t line = rec->line;
    size_t before = c->rep->error_count;
    if (rec->nfields > WARD_STORE_MAX_COLUMNS) {
        add_error(c, WARD_ETOOBIG, line, NULL, "%zu columns; at most %d are allowed",
                  rec->nfields, WARD_STORE_MAX_COLUMNS);
        return WARD_ETOOBIG;
    }
    c->cols = calloc(rec->nfields, sizeof *c->cols);
    if (!c->cols) return WARD_ENOMEM;
    c->ncols = rec->nfields;
    for (size_t i = 0; i < rec->nfields; i++) {
        icol *col = &c->cols[i];
        const char *why = NULL;
        if (sanitize_column(col->name, col->source, rec->fields[i].data, rec->fields[i].len,
                            &why) != WARD_OK) {
            char ex[40];
            excerpt(ex, sizeof ex, rec->fields[i].data, rec->fields[i].len);
            add_error(c, WARD_EPARSE, line, NULL, "column %zu's name \"%s\" %s", i + 1, ex, why);
            col->name[0] = '\0';
            continue;
        }
        for (size_t k = 0; k < i; k++) {
            if (c->cols[k].name[0] && name_eq(c->cols[k].name, col->name)) {
                add_error(c, WARD_EPARSE, line, col->name, "column name appears twice (%zu and %zu)",
                          k + 1, i + 1);
                break;
            }
        }
        col->maybe_int = col->maybe_dec = col->maybe_ts = 1;
    }
    if (c->rep->error_count != before) return c->first_code;

    for (size_t i = 0; i < c->ndecls; i++) {
        int found = 0;
        for (size_t k = 0; k < c->ncols && !found; k++) found = name_eq(c->cols[k].name, c->decls[i].name);
        if (!found)
            add_error(c, WARD_EPARSE, line, c->decls[i].name,
                      "declared in the schema but not in the file's header");
    }
    if (c->exists) {
        for (size_t t = 0; t < c->existing.ncolumns; t++) {
            int found = 0;
            for (size_t k = 0; k < c->ncols && !found; k++)
                found = name_eq(c->cols[k].name, c->existing.columns[t].name);
            if (!found)
                add_error(c, WARD_ESTATE, line, c->existing.columns[t].name,
                          "column of table '%s' is missing from the file", c->table);
        }
    }
    for (size_t k = 0; k < c->ncols; k++) {
        icol *col = &c->cols[k];
        const decl *d = find_decl(c, col->name);
        if (c->exists) {
            const ward_column_info *tc = NULL;
            for (size_t t = 0; t < c->existing.ncolumns && !tc; t++)
                if (name_eq(c->existing.columns[t].name, col->name)) tc = &c->existing.columns[t];
            if (!tc) {
                add_error(c, WARD_ESTATE, line, col->name, "not a column of table '%s'", c->table);
                continue;
            }
            /* The table's spelling of the name wins over the file's case. */
            memcpy(col->name, tc->name, sizeof col->name);
            col->type = tc->type;
            col->scale = tc->scale;
            col->has_bounds = tc->has_min && tc->has_max;
            col->min = tc->min;
            col->max = tc->max;
            col->known = 1;
            if (d && (!same_type(col, d) ||
                      (d->has_bounds && (!col->has_bounds || d->min != col->min || d->max != col->max)))) {
                char have[24], want[24];
                type_text(have, sizeof have, col->type, col->scale);
                type_text(want, sizeof want, d->type, d->scale);
                add_error(c, WARD_ESTATE, line, col->name,
                          "is %s%s in table '%s' but declared %s%s", have,
                          col->has_bounds ? " with bounds" : "", c->table, want,
                          d->has_bounds ? " with bounds" : "");
            }
        } else if (d) {
            col->type = d->type;
            col->scale = d->scale;
            col->has_bounds = d->has_bounds;
            col->min = d->min;
            col->max = d->max;
            col->known = 1;
        }
    }
    if (c->rep->error_count != before) return c->first_code;
    return WARD_OK;
}

/* Pass 1: narrows each undeclared column's candidate types. */
static void infer_value(import_ctx *c, icol *col, const ward_csv_field *f) {
    const char *s = f->data;
    size_t n = f->len;
    trim(&s, &n);
    col->nonnull++;
    if (col->maybe_int) {
        int64_t v;
        if (parse_int(&v, s, n, 1) != WARD_OK) col->maybe_int = 0;
    }
    if (col->maybe_dec) {
        dec_text d;
        if (dec_scan(&d, &c->sc, s, n) != WARD_OK || d.leading_zero) {
            col->maybe_dec = 0;
        } else {
            if (d.frac > col->max_frac) col->max_frac = d.frac;
            for (unsigned k = 0; k <= WARD_STORE_INFER_MAX_SCALE; k++) {
                size_t mag = d.int_digits + k;
                if (col->unfit & (1u << k) || mag <= 18) continue;
                int64_t v;
                if (mag >= 20 ||
                    ward_fixed_parse_decimal(&v, d.plain, d.plain_len, k, (uint64_t)INT64_MAX) != WARD_OK)
                    col->unfit |= 1u << k;
            }
        }
    }
    if (col->maybe_ts) {
        ts_value t;
        if (!ts_parse(&t, c->ts_format, s, n)) col->maybe_ts = 0;
    }
}

static void infer_finish(icol *col) {
    if (col->known) return;
    unsigned k = col->max_frac < WARD_STORE_INFER_MAX_SCALE ? col->max_frac : WARD_STORE_INFER_MAX_SCALE;
    col->scale = 0;
    if (col->nonnull == 0) {
        col->type = WARD_COLTYPE_TEXT;
    } else if (col->maybe_int) {
        col->type = WARD_COLTYPE_INTEGER;
    } else if (col->maybe_dec && !(col->unfit & (1u << k))) {
        col->type = WARD_COLTYPE_DECIMAL;
        col->scale = k;
    } else if (col->maybe_ts) {
        col->type = WARD_COLTYPE_TIMESTAMP;
    } else {
        col->type = WARD_COLTYPE_TEXT;
    }
}

static int create_table(import_ctx *c) {
    ward_store *st = c->st;
    sbuf b = {NULL, 0, 0, 0};
    sb_str(&b, "CREATE TABLE ");
    sb_ident(&b, c->table);
    sb_str(&b, " (");
    for (size_t i = 0; i < c->ncols; i++) {
        if (i) sb_str(&b, ", ");
        sb_ident(&b, c->cols[i].name);
        int is_int = c->cols[i].type == WARD_COLTYPE_INTEGER || c->cols[i].type == WARD_COLTYPE_DECIMAL;
        sb_str(&b, is_int ? " INTEGER" : " TEXT");
    }
    sb_str(&b, ") STRICT");
    if (b.oom) {
        free(b.p);
        return WARD_ENOMEM;
    }
    int rc = exec_sql(st, b.p);
    free(b.p);
    if (rc) return rc;

    sqlite3_stmt *stmt;
    rc = prepare(st, &stmt,
                 "INSERT INTO ward_tables(name, sensitivity, row_count, created_ms, updated_ms)"
                 " VALUES (?, ?, 0, ?, ?)");
    if (rc) return rc;
    sqlite3_bind_text(stmt, 1, c->table, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ward_sensitivity_name(c->sensitivity), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, c->now_ms);
    sqlite3_bind_int64(stmt, 4, c->now_ms);
    int s = sqlite3_step(stmt);
    if (s != SQLITE_DONE) rc = db_error(st, s);
    sqlite3_finalize(stmt);
    if (rc) return rc;

    rc = prepare(st, &stmt,
                 "INSERT INTO ward_columns(table_name, position, name, source, type, scale, min, max)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (rc) return rc;
    for (size_t i = 0; i < c->ncols && rc == WARD_OK; i++) {
        const icol *col = &c->cols[i];
        sqlite3_bind_text(stmt, 1, c->table, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
        sqlite3_bind_text(stmt, 3, col->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, col->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 5, ward_coltype_name(col->type), -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 6, (int)col->scale);
        if (col->has_bounds) {
            sqlite3_bind_int64(stmt, 7, col->min);
            sqlite3_bind_int64(stmt, 8, col->max);
        } else {
            sqlite3_bind_null(stmt, 7);
            sqlite3_bind_null(stmt, 8);
        }
        s = sqlite3_step(stmt);
        if (s != SQLITE_DONE) rc = db_error(st, s);
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int prepare_insert(import_ctx *c) {
    sbuf b = {NULL, 0, 0, 0};
    sb_str(&b, "INSERT INTO ");
    sb_ident(&b, c->table);
    sb_str(&b, " (");
    for (size_t i = 0; i < c->ncols; i++) {
        if (i) sb_str(&b, ", ");
        sb_ident(&b, c->cols[i].name);
    }
    sb_str(&b, ") VALUES (");
    for (size_t i = 0; i < c->ncols; i++) sb_str(&b, i ? ", ?" : "?");
    sb_str(&b, ")");
    if (b.oom) {
        free(b.p);
        return WARD_ENOMEM;
    }
    int rc = prepare(c->st, &c->insert, b.p);
    free(b.p);
    return rc;
}

static void value_error(import_ctx *c, int code, uint64_t line, const icol *col,
                        const ward_csv_field *f, const char *what) {
    char ex[40];
    excerpt(ex, sizeof ex, f->data, f->len);
    add_error(c, code, line, col->name, "\"%s\" %s", ex, what);
}

/* v / 10^scale as decimal text. */
static void fmt_scaled(char *out, size_t cap, int64_t v, unsigned scale) {
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = ward_fixed_pow10(scale);
    if (scale == 0)
        snprintf(out, cap, "%s%llu", v < 0 ? "-" : "", (unsigned long long)m);
    else
        snprintf(out, cap, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)(m / p),
                 (int)scale, (unsigned long long)(m % p));
}

static void bounds_error(import_ctx *c, uint64_t line, const icol *col, const ward_csv_field *f) {
    char ex[40], lo[32], hi[32];
    excerpt(ex, sizeof ex, f->data, f->len);
    fmt_scaled(lo, sizeof lo, col->min, col->scale);
    fmt_scaled(hi, sizeof hi, col->max, col->scale);
    add_error(c, WARD_EOVERFLOW, line, col->name, "\"%s\" is outside the declared range [%s, %s]",
              ex, lo, hi);
}

/* Pass 2: converts one value and binds it (unless an error was already
 * found, after which values are only checked). Returns 0 or WARD_ENOMEM. */
static int convert_value(import_ctx *c, icol *col, int param, const ward_csv_field *f,
                         uint64_t line) {
    int bind = c->rep->error_count == 0;
    if (is_null(f)) {
        if (bind) {
            if (col->type == WARD_COLTYPE_TEXT && f->quoted) sqlite3_bind_text(c->insert, param, "", 0, SQLITE_STATIC);
            else sqlite3_bind_null(c->insert, param);
        }
        return WARD_OK;
    }
    const char *s = f->data;
    size_t n = f->len;
    if (col->type != WARD_COLTYPE_TEXT) trim(&s, &n);
    int64_t v = 0;
    int rc;
    switch (col->type) {
    case WARD_COLTYPE_INTEGER:
        rc = parse_int(&v, s, n, 0);
        if (rc == WARD_EPARSE) {
            value_error(c, rc, line, col, f, "is not an integer");
            return WARD_OK;
        }
        if (rc == WARD_EOVERFLOW) {
            value_error(c, rc, line, col, f, "is outside the int64 range");
            return WARD_OK;
        }
        break;
    case WARD_COLTYPE_DECIMAL:
        rc = parse_decimal(&v, &c->sc, s, n, col->scale);
        if (rc == WARD_ENOMEM) return rc;
        if (rc == WARD_EPARSE) {
            value_error(c, rc, line, col, f, "is not a decimal number");
            return WARD_OK;
        }
        if (rc != WARD_OK) {
            char what[64];
            snprintf(what, sizeof what, "does not fit decimal(%u) (int64 after scaling)", col->scale);
            value_error(c, WARD_EOVERFLOW, line, col, f, what);
            return WARD_OK;
        }
        break;
    case WARD_COLTYPE_TIMESTAMP: {
        ts_value t;
        if (!ts_parse(&t, c->ts_format, s, n)) {
            char what[96];
            snprintf(what, sizeof what, "is not a timestamp (%s%sYYYY-MM-DD[ HH:MM[:SS[.fff]]])",
                     c->ts_format ? c->ts_format : "", c->ts_format ? " or " : "");
            value_error(c, WARD_EPARSE, line, col, f, what);
            return WARD_OK;
        }
        if (bind) {
            char buf[32];
            size_t len = ts_normalize(buf, &t);
            sqlite3_bind_text(c->insert, param, buf, (int)len, SQLITE_TRANSIENT);
        }
        return WARD_OK;
    }
    case WARD_COLTYPE_TEXT:
    default:
        if (!ward_utf8_valid_var(s, n)) {
            value_error(c, WARD_EPARSE, line, col, f, "is not valid UTF-8");
            return WARD_OK;
        }
        if (bind) sqlite3_bind_text(c->insert, param, s, (int)n, SQLITE_STATIC);
        return WARD_OK;
    }
    if (col->has_bounds && (v < col->min || v > col->max)) {
        bounds_error(c, line, col, f);
        return WARD_OK;
    }
    if (bind) sqlite3_bind_int64(c->insert, param, v);
    return WARD_OK;
}

/* Returned by the callback to end pass 1 after the header; never an error. */
#define STOP_EARLY 1

static int on_record(void *ctx, const ward_csv_record *rec) {
    import_ctx *c = ctx;
    if (rec->index == 0) {
        if (c->have_header) {
            /* Pass 2 rereads the file: it must still be the same file. */
            int same = rec->nfields == c->ncols;
            for (size_t i = 0; same && i < c->ncols; i++) {
                char name[WARD_STORE_NAME_MAX + 1], source[WARD_STORE_NAME_MAX + 1];
                const char *why;
                same = sanitize_column(name, source, rec->fields[i].data, rec->fields[i].len, &why) ==
                           WARD_OK &&
                       name_eq(name, c->cols[i].name);
            }
            if (!same) {
                add_error(c, WARD_EIO, rec->line, NULL, "the file changed during the import");
                return WARD_EIO;
            }
        } else {
            int rc = read_header(c, rec);
            if (rc) return rc;
            c->have_header = 1;
            if (c->pass == 1) {
                int all_known = 1;
                for (size_t i = 0; i < c->ncols; i++) all_known &= c->cols[i].known;
                if (all_known) return STOP_EARLY; /* nothing to infer */
            }
        }
        if (c->pass == 2) {
            for (size_t i = 0; i < c->ncols; i++) infer_finish(&c->cols[i]);
            int rc = WARD_OK;
            if (!c->exists) rc = create_table(c);
            if (rc == WARD_OK) rc = prepare_insert(c);
            if (rc) {
                c->fatal = 1;
                add_error(c, rc, 0, NULL, "database: %s", c->st->errmsg);
                return rc;
            }
        }
        return WARD_OK;
    }

    if (c->pass == 1) {
        for (size_t i = 0; i < c->ncols; i++) {
            icol *col = &c->cols[i];
            if (!col->known && !is_null(&rec->fields[i])) infer_value(c, col, &rec->fields[i]);
        }
        return WARD_OK;
    }
    for (size_t i = 0; i < c->ncols; i++) {
        int rc = convert_value(c, &c->cols[i], (int)i + 1, &rec->fields[i], rec->line);
        if (rc) return rc;
    }
    if (c->rep->error_count == 0) {
        int s = sqlite3_step(c->insert);
        sqlite3_reset(c->insert);
        if (s != SQLITE_DONE) {
            int rc = db_error(c->st, s);
            c->fatal = 1;
            add_error(c, rc, rec->line, NULL, "database: %s", c->st->errmsg);
            return rc;
        }
        c->rows++;
    }
    return WARD_OK;
}

static int run_pass(import_ctx *c, const char *path, int pass) {
    c->pass = pass;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        int code = e == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
        add_error(c, code, 0, NULL, "cannot open %s: %s", path, strerror(e));
        return code;
    }
    ward_csv csv;
    int rc = ward_csv_init(&csv, NULL, on_record, c);
    if (rc == WARD_OK) rc = ward_csv_read_file(&csv, f);
    /* Errors raised inside the callback are already in the report; the
     * reader's own (malformed CSV, limits, read errors) are added here. */
    if (rc == STOP_EARLY) {
        /* pass 1 ended after the header */
    } else if (rc && csv.err == rc &&
               strcmp(csv.err_reason, "stopped by the record handler") != 0) {
        add_error(c, rc, ward_csv_error_line(&csv), NULL, "%s", ward_csv_error_reason(&csv));
    } else if (rc == WARD_OK && !c->have_header) {
        add_error(c, WARD_EPARSE, 0, NULL, "the file is empty (no header line)");
        rc = WARD_EPARSE;
    }
    ward_csv_free(&csv);
    fclose(f);
    return rc == STOP_EARLY ? WARD_OK : rc;
}

static void summarize(ward_import_report *r, const char *table) {
    if (r->error_count == 0) return;
    const ward_import_error *e = &r->errors[0];
    char where[128] = "";
    if (e->line && e->column[0])
        snprintf(where, sizeof where, "line %llu, column %s: ", (unsigned long long)e->line, e->column);
    else if (e->line)
        snprintf(where, sizeof where, "line %llu: ", (unsigned long long)e->line);
    else if (e->column[0])
        snprintf(where, sizeof where, "column %s: ", e->column);
    char more[48] = "";
    if (r->error_count > 1)
        snprintf(more, sizeof more, " (%llu errors in all)", (unsigned long long)r->error_count);
    snprintf(r->message, sizeof r->message, "import into '%s' refused: %s%s%s", table, where,
             e->reason, more);
}

int ward_store_import(ward_store *st, ward_import_report *report, const char *table,
                      const char *csv_path, const ward_import_options *opts) {
    WARD_ARG_CHECK(report != NULL);
    memset(report, 0, sizeof *report);
    WARD_ARG_CHECK(st != NULL && st->db != NULL && table != NULL && csv_path != NULL);
    ward_import_options defaults;
    memset(&defaults, 0, sizeof defaults);
    if (!opts) opts = &defaults;
    WARD_ARG_CHECK(opts->sensitivity >= WARD_SENSITIVITY_DEFAULT &&
                   opts->sensitivity <= WARD_SENSITIVITY_LOW);

    import_ctx c;
    memset(&c, 0, sizeof c);
    c.st = st;
    c.rep = report;
    c.table = table;
    c.ts_format = opts->ts_format && opts->ts_format[0] ? opts->ts_format : NULL;
    c.now_ms = opts->now_ms;
    c.sensitivity = opts->sensitivity;

    int rc = WARD_OK, own = 0;
    if (!valid_table_name(table)) {
        char ex[40];
        excerpt(ex, sizeof ex, table, strlen(table));
        add_error(&c, WARD_EPARSE, 0, NULL,
                  "table name \"%s\" must match [a-z][a-z0-9_]{0,62} and not start with ward_ or sqlite_",
                  ex);
        rc = WARD_EPARSE;
        goto out;
    }
    if (c.ts_format) {
        const char *why = NULL;
        if (ts_format_check(c.ts_format, &why) != WARD_OK) {
            add_error(&c, WARD_EPARSE, 0, NULL, "timestamp format \"%s\" %s", c.ts_format, why);
            rc = WARD_EPARSE;
            goto out;
        }
    }
    if (opts->schema) {
        rc = parse_schema(st, &c.decls, &c.ndecls, opts->schema);
        if (rc) {
            add_error(&c, rc, 0, NULL, "%s", rc == WARD_ENOMEM ? "out of memory" : st->errmsg);
            goto out;
        }
    }

    own = !ward_store_in_transaction(st);
    rc = exec_sql(st, own ? "BEGIN IMMEDIATE" : "SAVEPOINT ward_import");
    if (rc) {
        add_error(&c, rc, 0, NULL, "database: %s", st->errmsg);
        goto out;
    }

    rc = ward_store_table_info(st, &c.existing, table);
    if (rc == WARD_OK) {
        c.exists = 1;
        if (ward_store_ldp_is_report_table(st, table)) {
            /* Local-DP reports come in through ward_store_ldp_import only
             * (store_ldp.h), which checks every report. */
            add_error(&c, WARD_ESTATE, 0, NULL,
                      "table '%s' holds local-DP reports; import them with --ldp-reports", table);
            rc = WARD_ESTATE;
        } else if (c.sensitivity != WARD_SENSITIVITY_DEFAULT &&
                   c.sensitivity != c.existing.sensitivity) {
            add_error(&c, WARD_ESTATE, 0, NULL,
                      "table '%s' is in class %s; an import cannot move it to %s", table,
                      ward_sensitivity_name(c.existing.sensitivity),
                      ward_sensitivity_name(c.sensitivity));
            rc = WARD_ESTATE;
        }
    } else if (rc == WARD_ENOTFOUND) {
        rc = WARD_OK;
        if (c.sensitivity == WARD_SENSITIVITY_DEFAULT) c.sensitivity = WARD_SENSITIVITY_MEDIUM;
    } else {
        add_error(&c, rc, 0, NULL, "database: %s", st->errmsg);
    }

    if (rc == WARD_OK && !c.exists) {
        /* A first pass infers the types of undeclared columns; it stops
         * after the header when the declared schema covers them all. */
        rc = run_pass(&c, csv_path, 1);
    }
    if (rc == WARD_OK) rc = run_pass(&c, csv_path, 2);
    if (c.insert) {
        sqlite3_finalize(c.insert);
        c.insert = NULL;
    }
    if (rc == WARD_OK && report->error_count) rc = c.first_code;

    if (rc == WARD_OK) {
        sqlite3_stmt *stmt;
        rc = prepare(st, &stmt,
                     "UPDATE ward_tables SET row_count = row_count + ?, updated_ms = ? WHERE name = ?");
        if (rc == WARD_OK) {
            sqlite3_bind_int64(stmt, 1, (sqlite3_int64)c.rows);
            sqlite3_bind_int64(stmt, 2, c.now_ms);
            sqlite3_bind_text(stmt, 3, table, -1, SQLITE_STATIC);
            int s = sqlite3_step(stmt);
            if (s != SQLITE_DONE) rc = db_error(st, s);
            sqlite3_finalize(stmt);
        }
        if (rc == WARD_OK) rc = exec_sql(st, own ? "COMMIT" : "RELEASE ward_import");
        if (rc) {
            if (rc != WARD_ENOMEM) rc = WARD_EIO;
            add_error(&c, rc, 0, NULL, "database: %s", st->errmsg);
        }
    }
    if (rc) {
        /* A database failure (or SQLite's own automatic rollback) takes the
         * caller's transaction down too; a bad file only undoes the import. */
        if (own || c.fatal || rc == WARD_EIO || !ward_store_in_transaction(st)) {
            if (c.fatal && rc != WARD_ENOMEM) rc = WARD_EIO;
            if (ward_store_in_transaction(st)) rollback_quietly(st, "ROLLBACK");
        } else {
            rollback_quietly(st, "ROLLBACK TO ward_import");
            rollback_quietly(st, "RELEASE ward_import");
        }
    } else {
        report->rows_imported = c.rows;
        report->rows_total = (c.exists ? c.existing.rows : 0) + c.rows;
        report->created = !c.exists;
    }

out:
    if (rc) {
        if (report->error_count == 0) add_error(&c, rc, 0, NULL, "%s", ward_strerror(rc));
        summarize(report, table);
        report->rows_imported = 0;
        report->rows_total = c.exists ? c.existing.rows : 0;
        report->created = 0;
        snprintf(st->errmsg, sizeof st->errmsg, "%s", report->message);
    }
    ward_table_info_clear(&c.existing);
    free(c.decls);
    free(c.cols);
    free(c.sc.p);
    return rc;
}
