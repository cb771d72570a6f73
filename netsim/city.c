#include "city.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "city_data.h"
#include "error.h"
#include "store.h"

/* Sessions run at the larger of a decimal column's scale and the largest
 * scale an import infers (session_agg.c); integer columns at scale 0. */
#define CITY_SESSION_MIN_DECIMAL_SCALE WARD_STORE_INFER_MAX_SCALE
#define CITY_MAX_LINE 1024
#define CITY_MAX_FIELDS 32

const ward_city_table_def ward_city_defs[WARD_CITY_TABLES] = {
    {"parking", "birmingham-parking.csv", "LastUpdated",
     {{"Occupancy", 0, 0, 1000}, {"Capacity", 0, 0, 1000}}, 2,
     "Occupancy:integer[0,1000],Capacity:integer[0,1000],LastUpdated:timestamp"},
    {"trips", "citibike-trips.csv", "start_ts",
     {{"duration", 0, 0, 10000}, {"birth_year", 0, 0, 2100}}, 2,
     "duration:integer[0,10000],birth_year:integer[0,2100],start_ts:timestamp"},
    {"taxi", "nyc-taxi.csv", "tpep_pickup_datetime",
     {{"fare_amount", 2, 0, 500}, {"tip_amount", 2, 0, 100}, {"passenger_count", 0, 0, 10}}, 3,
     "fare_amount:decimal(2)[0,500],tip_amount:decimal(2)[0,100],passenger_count:integer[0,10],"
     "tpep_pickup_datetime:timestamp"},
    {"air", "london-air.csv", "date",
     {{"nox", 0, 0, 2000}, {"pm10", 0, 0, 2000}, {"ws", 1, 0, 100}}, 3,
     "nox:integer[0,2000],pm10:integer[0,2000],ws:decimal(1)[0,100],date:timestamp"},
};

/* ---- queries ------------------------------------------------------------------ */

static const ward_city_table_def *find_def(const char *table) {
    for (size_t i = 0; i < WARD_CITY_TABLES; i++)
        if (strcmp(ward_city_defs[i].table, table) == 0) return &ward_city_defs[i];
    return NULL;
}

static long find_value(const ward_city_table_def *d, const char *col) {
    for (size_t i = 0; i < d->n_values; i++)
        if (strcmp(d->values[i].name, col) == 0) return (long)i;
    return -1;
}

enum { KEY_NONE = 0, KEY_HOUR, KEY_WEEKDAY, KEY_DATE };

/* "hour(TS)" / "weekday(TS)" with TS the table's timestamp column. */
static int parse_key(const ward_city_table_def *d, const char *s, size_t len) {
    char want[64];
    snprintf(want, sizeof want, "hour(%s)", d->ts);
    if (strlen(want) == len && strncmp(s, want, len) == 0) return KEY_HOUR;
    snprintf(want, sizeof want, "weekday(%s)", d->ts);
    if (strlen(want) == len && strncmp(s, want, len) == 0) return KEY_WEEKDAY;
    snprintf(want, sizeof want, "date(%s)", d->ts);
    if (strlen(want) == len && strncmp(s, want, len) == 0) return KEY_DATE;
    return -1;
}

typedef struct {
    int active;
    int key;            /* KEY_HOUR / KEY_WEEKDAY, or KEY_NONE for a value column */
    long col;
    int op;             /* '>', '<', 'G' (>=), 'L' (<=), '=' */
    int64_t lit;        /* scaled to the column */
} city_where;

static int parse_where(const ward_city_table_def *d, city_where *w, const char *s, char *why,
                       size_t why_cap) {
    memset(w, 0, sizeof *w);
    while (*s == ' ') s++;
    if (*s == '\0') return WARD_OK;
    const char *start = s;
    while (*s && *s != ' ' && *s != '>' && *s != '<' && *s != '=') s++;
    size_t nlen = (size_t)(s - start);
    w->col = -1;
    w->key = parse_key(d, start, nlen);
    if (w->key < 0) {
        char name[WARD_CITY_NAME_MAX + 1];
        if (nlen == 0 || nlen > WARD_CITY_NAME_MAX) {
            snprintf(why, why_cap, "where: expected a column of %s", d->table);
            return WARD_EPARSE;
        }
        memcpy(name, start, nlen);
        name[nlen] = '\0';
        w->col = find_value(d, name);
        w->key = KEY_NONE;
        if (w->col < 0) {
            snprintf(why, why_cap, "where: %s has no numeric column '%s'", d->table, name);
            return WARD_ENOTFOUND;
        }
    }
    while (*s == ' ') s++;
    if (s[0] == '>' && s[1] == '=') w->op = 'G', s += 2;
    else if (s[0] == '<' && s[1] == '=') w->op = 'L', s += 2;
    else if (s[0] == '>' || s[0] == '<' || s[0] == '=') w->op = *s++;
    else {
        snprintf(why, why_cap, "where: expected one of > < >= <= =");
        return WARD_EPARSE;
    }
    while (*s == ' ') s++;
    char *end = NULL;
    long long lit = strtoll(s, &end, 10);
    if (end == s || lit < -1000000000LL || lit > 1000000000LL) {
        snprintf(why, why_cap, "where: expected an integer in [-1e9, 1e9]");
        return WARD_EPARSE;
    }
    while (*end == ' ') end++;
    if (*end != '\0') {
        snprintf(why, why_cap, "where: unexpected '%s' (one comparison only)", end);
        return WARD_EPARSE;
    }
    w->lit = lit;
    if (w->col >= 0)
        for (unsigned i = 0; i < d->values[w->col].scale; i++) w->lit *= 10;
    w->active = 1;
    return WARD_OK;
}

int ward_city_query_check(const ward_city_query *q, char *why, size_t why_cap) {
    WARD_ARG_CHECK(q != NULL && why != NULL);
    const ward_city_table_def *d = find_def(q->table);
    if (!d) {
        snprintf(why, why_cap, "no table '%s' (parking, trips, taxi, air)", q->table);
        return WARD_ENOTFOUND;
    }
    if (q->op < WARD_CITY_SUM || q->op > WARD_CITY_HISTOGRAM) {
        snprintf(why, why_cap, "unknown operation");
        return WARD_EPARSE;
    }
    if ((q->op != WARD_CITY_COUNT || q->column[0]) && find_value(d, q->column) < 0) {
        snprintf(why, why_cap, "%s has no numeric column '%s'", d->table, q->column);
        return WARD_ENOTFOUND;
    }
    if (q->group_by[0] && parse_key(d, q->group_by, strlen(q->group_by)) < 0) {
        snprintf(why, why_cap, "group_by must be hour(%s), weekday(%s) or date(%s)", d->ts, d->ts,
                 d->ts);
        return WARD_EPARSE;
    }
    if (q->op == WARD_CITY_HISTOGRAM && !q->group_by[0]) {
        snprintf(why, why_cap, "a histogram needs group_by");
        return WARD_EPARSE;
    }
    city_where w;
    return parse_where(d, &w, q->where, why, why_cap);
}

/* ---- parsing the samples --------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS[.fff]": hour and weekday (Sunday = 0). */
static int parse_ts(const char *s, int8_t *hour, int8_t *wday) {
    int y, mo, d, h;
    if (strlen(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    if (w < 0) w += 7;
    *hour = (int8_t)h;
    *wday = (int8_t)w;
    return 0;
}

/* An integer or a decimal with at most `scale` fraction digits, scaled. */
static int parse_scaled(const char *s, unsigned scale, int64_t *out) {
    int neg = *s == '-';
    if (neg) s++;
    if (*s < '0' || *s > '9') return -1;
    int64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*s - '0');
    }
    unsigned frac = 0;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
            if (frac == scale) return -1; /* more digits than the column keeps */
            if (v > (INT64_MAX - 9) / 10) return -1;
            v = v * 10 + (*s - '0');
            frac++;
        }
    }
    if (*s != '\0') return -1;
    for (; frac < scale; frac++) {
        if (v > INT64_MAX / 10) return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

static int is_null_text(const char *s) {
    return s[0] == '\0' || ((s[0] == 'N' || s[0] == 'n') && (s[1] == 'A' || s[1] == 'a') && !s[2]);
}

/* Splits a line at commas in place (the samples used have no quoted fields). */
static size_t split(char *line, char **f, size_t max) {
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ',') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

static int load_table(ward_city_table *t, const ward_city_table_def *d, size_t nodes, ward_rng *rng) {
    const ward_city_file *file = NULL;
    for (size_t i = 0; i < ward_city_n_files; i++)
        if (strcmp(ward_city_files[i].name, d->file) == 0) file = &ward_city_files[i];
    if (!file) return WARD_ENOTFOUND;
    t->def = d;
    size_t lines = 0;
    for (size_t i = 0; i < file->len; i++) lines += file->data[i] == '\n';
    size_t nv = d->n_values;
    t->v = calloc(lines * nv + 1, sizeof *t->v);
    t->isnull = calloc(lines * nv + 1, 1);
    t->hour = calloc(lines + 1, 1);
    t->wday = calloc(lines + 1, 1);
    t->date = calloc(lines + 1, 1);
    t->owner = calloc(lines + 1, sizeof *t->owner);
    t->line = calloc(lines + 1, sizeof *t->line);
    if (!t->v || !t->isnull || !t->hour || !t->wday || !t->date || !t->owner || !t->line)
        return WARD_ENOMEM;
    long col_of[WARD_CITY_MAX_VALUES + 1];
    for (size_t i = 0; i <= nv; i++) col_of[i] = -1;
    const char *p = file->data, *end = file->data + file->len;
    size_t lineno = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && p[len - 1] == '\r') len--;
        char buf[CITY_MAX_LINE];
        if (len >= sizeof buf) return WARD_EPARSE;
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = nl ? nl + 1 : end;
        if (len == 0) continue;
        char *f[CITY_MAX_FIELDS];
        size_t nf = split(buf, f, CITY_MAX_FIELDS);
        if (lineno++ == 0) {
            for (size_t c = 0; c < nf; c++) {
                for (size_t k = 0; k < nv; k++)
                    if (strcmp(f[c], d->values[k].name) == 0) col_of[k] = (long)c;
                if (strcmp(f[c], d->ts) == 0) col_of[nv] = (long)c;
            }
            for (size_t k = 0; k <= nv; k++)
                if (col_of[k] < 0) return WARD_EPARSE;
            continue;
        }
        size_t r = t->n_rows;
        char out[CITY_MAX_LINE];
        size_t off = 0;
        for (size_t k = 0; k <= nv; k++) {
            if ((size_t)col_of[k] >= nf) return WARD_EPARSE;
            const char *v = f[col_of[k]];
            off += (size_t)snprintf(out + off, sizeof out - off, "%s%s", k ? "," : "", v);
            if (k == nv) {
                t->hour[r] = t->wday[r] = t->date[r] = -1;
                if (!is_null_text(v) && parse_ts(v, &t->hour[r], &t->wday[r]) != 0) return WARD_EPARSE;
                if (!is_null_text(v)) {
                    size_t di = 0;
                    while (di < t->n_dates && strncmp(t->dates[di], v, 10) != 0) di++;
                    if (di == t->n_dates) {
                        if (di == WARD_CITY_MAX_GROUPS) return WARD_ETOOBIG;
                        memcpy(t->dates[di], v, 10);
                        t->dates[di][10] = '\0';
                        t->n_dates++;
                    }
                    t->date[r] = (int8_t)di;
                }
            } else if (is_null_text(v)) {
                t->isnull[r * nv + k] = 1;
            } else if (parse_scaled(v, d->values[k].scale, &t->v[r * nv + k]) != 0) {
                return WARD_EPARSE;
            }
        }
        if (off >= sizeof out) return WARD_EPARSE;
        t->line[r] = strdup(out);
        if (!t->line[r]) return WARD_ENOMEM;
        t->owner[r] = (uint32_t)ward_rng_uniform(rng, nodes);
        t->n_rows++;
    }
    /* Dates in ascending order, as the nodes order their labels. */
    int8_t rank[WARD_CITY_MAX_GROUPS];
    for (size_t i = 0; i < t->n_dates; i++) {
        rank[i] = 0;
        for (size_t j = 0; j < t->n_dates; j++) rank[i] += strcmp(t->dates[j], t->dates[i]) < 0;
    }
    char sorted[WARD_CITY_MAX_GROUPS][11];
    for (size_t i = 0; i < t->n_dates; i++) memcpy(sorted[rank[i]], t->dates[i], 11);
    memcpy(t->dates, sorted, sizeof sorted);
    for (size_t r = 0; r < t->n_rows; r++)
        if (t->date[r] >= 0) t->date[r] = rank[t->date[r]];
    return WARD_OK;
}

int ward_city_load(ward_city *city, size_t nodes, ward_rng *rng) {
    WARD_ARG_CHECK(city != NULL && rng != NULL && nodes >= 1);
    memset(city, 0, sizeof *city);
    city->nodes = nodes;
    for (size_t i = 0; i < WARD_CITY_TABLES; i++) {
        int rc = load_table(&city->t[i], &ward_city_defs[i], nodes, rng);
        if (rc != WARD_OK) {
            ward_city_free(city);
            return rc;
        }
    }
    return WARD_OK;
}

void ward_city_free(ward_city *city) {
    if (!city) return;
    for (size_t i = 0; i < WARD_CITY_TABLES; i++) {
        ward_city_table *t = &city->t[i];
        for (size_t r = 0; t->line && r < t->n_rows; r++) free(t->line[r]);
        free(t->line);
        free(t->v);
        free(t->isnull);
        free(t->hour);
        free(t->wday);
        free(t->date);
        free(t->owner);
    }
    memset(city, 0, sizeof *city);
}

size_t ward_city_rows(const ward_city *city) {
    size_t n = 0;
    for (size_t i = 0; i < WARD_CITY_TABLES; i++) n += city->t[i].n_rows;
    return n;
}

/* ---- import ------------------------------------------------------------------------ */

int ward_city_import(const ward_city *city, ward_sim *sim, const char *dir, char *why,
                     size_t why_cap) {
    WARD_ARG_CHECK(city != NULL && sim != NULL && dir != NULL && why != NULL);
    for (size_t ti = 0; ti < WARD_CITY_TABLES; ti++) {
        const ward_city_table *t = &city->t[ti];
        const ward_city_table_def *d = t->def;
        for (size_t node = 0; node < city->nodes; node++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s-%zu.csv", dir, d->table, node + 1);
            FILE *f = fopen(path, "w");
            if (!f) {
                snprintf(why, why_cap, "cannot write %s", path);
                return WARD_EIO;
            }
            for (size_t k = 0; k < d->n_values; k++) fprintf(f, "%s,", d->values[k].name);
            fprintf(f, "%s\n", d->ts);
            for (size_t r = 0; r < t->n_rows; r++)
                if (t->owner[r] == node) fprintf(f, "%s\n", t->line[r]);
            if (fclose(f) != 0) {
                snprintf(why, why_cap, "cannot write %s", path);
                return WARD_EIO;
            }
            ward_store *st = ward_sim_store(sim, node);
            if (!st) {
                snprintf(why, why_cap, "node%zu has no store", node + 1);
                return WARD_ESTATE;
            }
            ward_import_options opt;
            memset(&opt, 0, sizeof opt);
            opt.schema = d->schema;
            opt.now_ms = (int64_t)WARD_SIM_EPOCH_MS;
            ward_import_report rep;
            int rc = ward_store_import(st, &rep, d->table, path, &opt);
            remove(path);
            if (rc != WARD_OK) {
                snprintf(why, why_cap, "import of %s into node%zu: %s", d->table, node + 1,
                         rep.message[0] ? rep.message : ward_strerror(rc));
                return rc;
            }
        }
    }
    return WARD_OK;
}

/* ---- answers ------------------------------------------------------------------------- */

static int where_holds(const city_where *w, const ward_city_table *t, size_t r) {
    if (!w->active) return 1;
    int64_t x;
    if (w->key == KEY_HOUR || w->key == KEY_WEEKDAY) {
        int8_t k = w->key == KEY_HOUR ? t->hour[r] : t->wday[r];
        if (k < 0) return 0;
        x = k;
    } else {
        size_t nv = t->def->n_values;
        if (t->isnull[r * nv + (size_t)w->col]) return 0; /* NULL compares false */
        x = t->v[r * nv + (size_t)w->col];
    }
    switch (w->op) {
    case '>': return x > w->lit;
    case '<': return x < w->lit;
    case 'G': return x >= w->lit;
    case 'L': return x <= w->lit;
    default: return x == w->lit;
    }
}

int ward_city_answer_query(const ward_city *city, ward_city_answer *out, const ward_city_query *q,
                           const uint8_t *is_party) {
    WARD_ARG_CHECK(city != NULL && out != NULL && q != NULL && is_party != NULL);
    memset(out, 0, sizeof *out);
    char why[160];
    if (ward_city_query_check(q, why, sizeof why) != WARD_OK) return WARD_EINVAL;
    const ward_city_table *t = NULL;
    for (size_t i = 0; i < WARD_CITY_TABLES; i++)
        if (strcmp(city->t[i].def->table, q->table) == 0) t = &city->t[i];
    if (!t) return WARD_ENOTFOUND;
    const ward_city_table_def *d = t->def;
    int key = q->group_by[0] ? parse_key(d, q->group_by, strlen(q->group_by)) : KEY_NONE;
    city_where w;
    parse_where(d, &w, q->where, why, sizeof why);
    long col = q->op == WARD_CITY_COUNT ? -1 : find_value(d, q->column);
    unsigned k = col >= 0 ? d->values[col].scale : 0;
    unsigned scale = 0;
    if ((q->op == WARD_CITY_SUM || q->op == WARD_CITY_MEAN) && k > 0)
        scale = k > CITY_SESSION_MIN_DECIMAL_SCALE ? k : CITY_SESSION_MIN_DECIMAL_SCALE;
    int64_t up = 1;
    for (unsigned i = k; i < scale; i++) up *= 10;
    size_t ng = key == KEY_HOUR ? 24 : key == KEY_WEEKDAY ? 7 : key == KEY_DATE ? t->n_dates : 1;
    int64_t sums[WARD_CITY_MAX_GROUPS] = {0}, counts[WARD_CITY_MAX_GROUPS] = {0};
    size_t nv = d->n_values;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (!is_party[t->owner[r]]) continue;
        int g = 0;
        if (key != KEY_NONE) {
            g = key == KEY_HOUR ? t->hour[r] : key == KEY_WEEKDAY ? t->wday[r] : t->date[r];
            if (g < 0) continue;
        }
        if (!where_holds(&w, t, r)) continue;
        if (col >= 0) {
            if (t->isnull[r * nv + (size_t)col]) continue;
            sums[g] += t->v[r * nv + (size_t)col] * up;
        }
        counts[g]++;
    }
    double div = 1;
    for (unsigned i = 0; i < scale; i++) div *= 10;
    out->grouped = key != KEY_NONE;
    out->n_groups = ng;
    for (size_t g = 0; g < ng; g++) {
        if (key == KEY_DATE) memcpy(out->label[g], t->dates[g], sizeof t->dates[g]);
        else snprintf(out->label[g], sizeof out->label[g], "%u", (unsigned)(g & 0xff));
        /* A date is a group only where some party has a row of it (the
         * union of keys of an exact result); hours and weekdays are a
         * declared domain, every group present. */
        out->present[g] = key != KEY_DATE || counts[g] > 0;
        out->rows[g] = counts[g];
        switch (q->op) {
        case WARD_CITY_SUM: out->value[g] = (double)sums[g] / div; break;
        case WARD_CITY_MEAN:
            out->present[g] = counts[g] > 0;
            out->value[g] = counts[g] > 0 ? (double)sums[g] / div / (double)counts[g] : 0;
            break;
        default: out->value[g] = (double)counts[g]; break;
        }
    }
    return WARD_OK;
}
