/* The node store: typed CSV import of real data samples, type inference,
 * declared schemas, local timestamps, NULLs, all-or-nothing imports (bad
 * rows, a full disk), appends, metadata, reopening and schema versions.
 *
 * The samples live in tests/data. Meson runs every test with WARD_VECTORS
 * set to <source>/tests/vectors, so the samples are found at
 * $WARD_VECTORS/../data (tests/data when WARD_VECTORS is unset and the test
 * runs from the source root).
 *
 * Expected values are computed here from the CSV text itself, with code
 * independent of the importer's (a separate decimal-to-integer conversion,
 * a separate weekday formula), and compared with what SQLite returns. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "readfile.h"
#include "check.h"
#include "error.h"
#include "store.h"

static char data_dir[1024];
static char tmp_dir[256];

static void sample(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", data_dir, name);
}

static void tmp_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmp_dir, name);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* ---- an independent reading of the CSV samples ---- */

typedef struct {
    size_t nrows, ncols;
    char **cells; /* nrows x ncols; row 0 is the header */
} table_text;

static char *read_all(const char *path, size_t *len) {
    char *buf = NULL;
    return ward_read_file(&buf, len, path, (size_t)1 << 30) == 0 ? buf : NULL;
}

/* Splits on CR/LF and commas; double quotes group (the samples have no
 * escaped quotes and no line breaks inside fields). */
static int load_text(table_text *t, const char *path) {
    size_t len;
    char *all = read_all(path, &len);
    memset(t, 0, sizeof *t);
    if (!all) return 0;
    size_t cap = 0;
    char *line = all;
    while (*line) {
        char *end = line + strcspn(line, "\r\n");
        char saved = *end;
        *end = '\0';
        size_t nf = 0;
        char *fields[64];
        char *p = line;
        for (;;) {
            char *q = p;
            int inq = 0;
            char *w = p;
            while (*q && (inq || *q != ',')) {
                if (*q == '"') inq = !inq;
                else *w++ = *q;
                q++;
            }
            char next = *q;
            *w = '\0';
            if (nf < 64) fields[nf++] = p;
            if (!next) break;
            p = q + 1;
        }
        if (t->nrows == 0) t->ncols = nf;
        if (nf == t->ncols) {
            if ((t->nrows + 1) * t->ncols > cap) {
                cap = cap ? 2 * cap : 1024;
                while (cap < (t->nrows + 1) * t->ncols) cap *= 2;
                t->cells = realloc(t->cells, cap * sizeof *t->cells);
                if (!t->cells) abort();
            }
            for (size_t i = 0; i < nf; i++) t->cells[t->nrows * t->ncols + i] = strdup(fields[i]);
            t->nrows++;
        }
        line = end;
        if (saved == '\0') break;
        line++;
        while (*line == '\r' || *line == '\n') line++;
    }
    free(all);
    return 1;
}

static const char *cell(const table_text *t, size_t row, size_t col) {
    return t->cells[row * t->ncols + col];
}

static size_t column_of(const table_text *t, const char *name) {
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(cell(t, 0, i), name) == 0) return i;
    fprintf(stderr, "no column %s\n", name);
    abort();
}

static void free_text(table_text *t) {
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cells);
}

static int is_na(const char *s) { return *s == '\0' || strcmp(s, "NA") == 0; }

/* value * 10^k rounded half to even, from the digits: a second,
 * independent implementation of the rule the importer follows. */
static __int128 scaled(const char *s, unsigned k) {
    int neg = *s == '-';
    if (*s == '-' || *s == '+') s++;
    char digits[128];
    size_t nd = 0;
    long point = -1, exp = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') point = (long)nd;
        else if (nd < sizeof digits) digits[nd++] = *s;
    }
    if (*s) exp = strtol(s + 1, NULL, 10);
    if (point < 0) point = (long)nd;
    point += exp; /* digits[0..point) are the integer part */
    long keep = point + (long)k;
    __int128 v = 0;
    for (long i = 0; i < keep; i++) v = v * 10 + (i >= 0 && i < (long)nd ? digits[i] - '0' : 0);
    int first = keep >= 0 && keep < (long)nd ? digits[keep] - '0' : 0;
    int rest = 0;
    for (long i = keep + 1; i < (long)nd; i++)
        if (i >= 0 && digits[i] != '0') rest = 1;
    if (keep < 0) { /* all digits are below the rounding position */
        first = 0;
        rest = 0;
        for (long i = 0; i < (long)nd; i++) rest |= digits[i] != '0';
        if (keep == -1 && nd > 0) {
            first = digits[0] - '0';
            rest = 0;
            for (size_t i = 1; i < nd; i++) rest |= digits[i] != '0';
        }
    }
    if (first > 5 || (first == 5 && (rest || (v & 1)))) v++;
    return neg ? -v : v;
}

static __int128 column_sum(const table_text *t, const char *name, unsigned k) {
    size_t c = column_of(t, name);
    __int128 sum = 0;
    for (size_t r = 1; r < t->nrows; r++)
        if (!is_na(cell(t, r, c))) sum += scaled(cell(t, r, c), k);
    return sum;
}

/* 0 = Sunday, as SQLite's strftime('%w'); Sakamoto's method. */
static int weekday(int y, int m, int d) {
    static const int off[12] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3) y--;
    return (y + y / 4 - y / 100 + y / 400 + off[m - 1] + d) % 7;
}

/* ---- looking into the database directly ---- */

static sqlite3 *peek_open(const char *db_path) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    CHECK(rc == SQLITE_OK);
    return db;
}

/* One integer from a query (INT64_MIN when no row or NULL). */
static int64_t peek_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *stmt = NULL;
    int64_t v = INT64_MIN;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "  sql error: %s: %s\n", sql, sqlite3_errmsg(db));
        CHECK(0);
        return v;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void peek_text(char *out, size_t cap, sqlite3 *db, const char *sql) {
    sqlite3_stmt *stmt = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "  sql error: %s: %s\n", sql, sqlite3_errmsg(db));
        CHECK(0);
        return;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(stmt, 0);
        snprintf(out, cap, "%s", s ? (const char *)s : "(null)");
    }
    sqlite3_finalize(stmt);
}

static int64_t sql_int(const char *db_path, const char *sql) {
    sqlite3 *db = peek_open(db_path);
    int64_t v = peek_int(db, sql);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *db_path, const char *sql) {
    sqlite3 *db = peek_open(db_path);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "  sql error: %s: %s\n", sql, err ? err : "?");
    CHECK(rc == SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

static int table_exists(const char *db_path, const char *name) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name='%s'",
             name);
    int64_t a = sql_int(db_path, sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ward_tables WHERE name='%s'", name);
    int64_t b = sql_int(db_path, sql);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ward_columns WHERE table_name='%s'", name);
    int64_t c = sql_int(db_path, sql);
    CHECK((a == 0) == (b == 0) && (b == 0) == (c == 0));
    return a > 0;
}

/* ---- helpers around the store ---- */

static void check_types(ward_store *st, const char *table, const char *const *want) {
    ward_table_info info;
    CHECK_RC(ward_store_table_info(st, &info, table), WARD_OK);
    size_t n = 0;
    while (want[n]) n++;
    CHECK_EQ_U64(info.ncolumns, n / 2);
    for (size_t i = 0; i < info.ncolumns && 2 * i + 1 < n; i++) {
        char type[32];
        ward_column_type_text(type, sizeof type, &info.columns[i]);
        int ok = strcmp(info.columns[i].name, want[2 * i]) == 0 && strcmp(type, want[2 * i + 1]) == 0;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s column %zu: %s %s, wanted %s %s\n", table, i, info.columns[i].name,
                    type, want[2 * i], want[2 * i + 1]);
    }
    ward_table_info_clear(&info);
}

static int import(ward_store *st, ward_import_report *rep, const char *table, const char *file,
                  const char *schema, const char *ts_format, ward_sensitivity sens, int64_t now) {
    ward_import_options o;
    memset(&o, 0, sizeof o);
    o.schema = schema;
    o.ts_format = ts_format;
    o.sensitivity = sens;
    o.now_ms = now;
    int rc = ward_store_import(st, rep, table, file, &o);
    if (getenv("WARD_TEST_VERBOSE") && rc) fprintf(stderr, "  import %s: %s\n", table, rep->message);
    return rc;
}

static void print_sum_mismatch(const char *what, __int128 want, int64_t got) {
    if ((__int128)got != want)
        fprintf(stderr, "  %s: sum %lld, wanted %lld\n", what, (long long)got, (long long)want);
}

/* ---- tests ---- */

static void test_real_samples(ward_store *st, const char *db) {
    char path[1200];
    ward_import_report rep;
    table_text t;

    /* Birmingham car parks: text, integer, integer, timestamp. */
    sample(path, sizeof path, "birmingham-parking.csv");
    CHECK_RC(import(st, &rep, "parking", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1000), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 299);
    CHECK_EQ_U64(rep.rows_total, 299);
    CHECK(rep.created == 1 && rep.error_count == 0 && rep.message[0] == '\0');
    static const char *const parking[] = {"SystemCodeNumber", "text", "Capacity", "integer",
                                          "Occupancy", "integer", "LastUpdated", "timestamp", NULL};
    check_types(st, "parking", parking);
    CHECK(load_text(&t, path));
    int64_t got = sql_int(db, "SELECT sum(Occupancy) FROM parking");
    CHECK((__int128)got == column_sum(&t, "Occupancy", 0));
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM parking"), 299);
    char s[128];
    sqlite3 *pdb = peek_open(db);
    peek_text(s, sizeof s, pdb, "SELECT LastUpdated FROM parking WHERE rowid = 1");
    CHECK(strcmp(s, "2016-10-04 07:59:42") == 0);
    peek_text(s, sizeof s, pdb, "SELECT SystemCodeNumber FROM parking WHERE rowid = 299");
    CHECK(strcmp(s, cell(&t, 299, 0)) == 0);
    sqlite3_close(pdb);
    free_text(&t);
    ward_table_info info;
    CHECK_RC(ward_store_table_info(st, &info, "parking"), WARD_OK);
    CHECK(info.sensitivity == WARD_SENSITIVITY_MEDIUM);
    CHECK_EQ_U64(info.rows, 299);
    CHECK(info.created_ms == 1000 && info.updated_ms == 1000);
    CHECK(strcmp(info.name, "parking") == 0);
    ward_table_info_clear(&info);

    /* London air: NA is NULL, exponents, decimal scales from the data. */
    sample(path, sizeof path, "london-air.csv");
    CHECK_RC(import(st, &rep, "air", path, NULL, NULL, WARD_SENSITIVITY_LOW, 2000), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 299);
    static const char *const air[] = {"date", "timestamp", "ws", "decimal(1)", "wd", "integer",
                                      "nox", "integer", "no2", "integer", "o3", "integer",
                                      "pm10", "integer", "so2", "decimal(6)", "co", "decimal(6)",
                                      "pm25", "integer", NULL};
    check_types(st, "air", air);
    CHECK(load_text(&t, path));
    got = sql_int(db, "SELECT sum(ws) FROM air");
    CHECK((__int128)got == column_sum(&t, "ws", 1));
    print_sum_mismatch("air.ws", column_sum(&t, "ws", 1), got);
    got = sql_int(db, "SELECT sum(co) FROM air");
    CHECK((__int128)got == column_sum(&t, "co", 6));
    print_sum_mismatch("air.co", column_sum(&t, "co", 6), got);
    got = sql_int(db, "SELECT sum(so2) FROM air");
    CHECK((__int128)got == column_sum(&t, "so2", 6));
    print_sum_mismatch("air.so2", column_sum(&t, "so2", 6), got);
    /* "3.47e-18" is 0 at scale 6, and not NULL. */
    CHECK_EQ_U64(sql_int(db, "SELECT so2 FROM air WHERE date = '2004-06-05 00:00:00'"), 0);
    size_t nas = 0, co = column_of(&t, "co");
    for (size_t r = 1; r < t.nrows; r++) nas += is_na(cell(&t, r, co));
    CHECK(nas > 0);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM air WHERE co IS NULL"), nas);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM air WHERE pm10 IS NULL"), 1);
    /* hour() and weekday() as SQLite's strftime sees the stored text. */
    pdb = peek_open(db);
    sqlite3_stmt *stmt;
    CHECK(sqlite3_prepare_v2(pdb,
                             "SELECT CAST(strftime('%H', date) AS INTEGER),"
                             " CAST(strftime('%w', date) AS INTEGER) FROM air ORDER BY rowid",
                             -1, &stmt, NULL) == SQLITE_OK);
    size_t r = 1, bad = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW && r < t.nrows) {
        int y, m, d, h;
        sscanf(cell(&t, r, 0), "%d-%d-%d %d", &y, &m, &d, &h);
        if (sqlite3_column_int(stmt, 0) != h || sqlite3_column_int(stmt, 1) != weekday(y, m, d)) bad++;
        r++;
    }
    sqlite3_finalize(stmt);
    CHECK_EQ_U64(r, t.nrows);
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(peek_int(pdb, "SELECT count(DISTINCT strftime('%w', date)) FROM air"), 7);
    sqlite3_close(pdb);
    free_text(&t);

    /* Tetouan: CRLF, no final newline lost, local "1/1/17 0:10" timestamps,
     * column names with spaces. */
    sample(path, sizeof path, "tetouan-energy.csv");
    CHECK_RC(import(st, &rep, "energy", path, NULL, "%m/%d/%y %H:%M", WARD_SENSITIVITY_DEFAULT, 3000),
             WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 199);
    static const char *const energy[] = {"DateTime", "timestamp", "Temperature", "decimal(3)",
                                         "Humidity", "decimal(2)", "Wind_Speed", "decimal(3)",
                                         "Zone_1_Power_Consumption", "decimal(5)",
                                         "Zone_2_Power_Consumption", "decimal(5)",
                                         "Zone_3_Power_Consumption", "decimal(5)", NULL};
    check_types(st, "energy", energy);
    CHECK(load_text(&t, path));
    got = sql_int(db, "SELECT sum(Zone_1_Power_Consumption) FROM energy");
    CHECK((__int128)got == column_sum(&t, "Zone 1 Power Consumption", 5));
    got = sql_int(db, "SELECT sum(Temperature) FROM energy");
    CHECK((__int128)got == column_sum(&t, "Temperature", 3));
    pdb = peek_open(db);
    peek_text(s, sizeof s, pdb, "SELECT DateTime FROM energy WHERE rowid = 2");
    CHECK(strcmp(s, "2017-01-01 00:10:00") == 0);
    CHECK(sqlite3_prepare_v2(pdb, "SELECT DateTime, CAST(strftime('%H', DateTime) AS INTEGER)"
                                  " FROM energy ORDER BY rowid",
                             -1, &stmt, NULL) == SQLITE_OK);
    r = 1;
    bad = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW && r < t.nrows) {
        int m, d, y, h, mi;
        char want[32];
        sscanf(cell(&t, r, 0), "%d/%d/%d %d:%d", &m, &d, &y, &h, &mi);
        snprintf(want, sizeof want, "20%02d-%02d-%02d %02d:%02d:00", y, m, d, h, mi);
        if (strcmp((const char *)sqlite3_column_text(stmt, 0), want) != 0 ||
            sqlite3_column_int(stmt, 1) != h)
            bad++;
        r++;
    }
    sqlite3_finalize(stmt);
    CHECK_EQ_U64(bad, 0);
    CHECK_EQ_U64(r, t.nrows);
    sqlite3_close(pdb);
    free_text(&t);
    ward_table_info ei;
    CHECK_RC(ward_store_table_info(st, &ei, "energy"), WARD_OK);
    CHECK(ei.ncolumns == 7 && strcmp(ei.columns[3].source, "Wind Speed") == 0);
    ward_table_info_clear(&ei);

    /* Without the format the same column is only text. */
    CHECK_RC(import(st, &rep, "energy_raw", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 3000), WARD_OK);
    ward_table_info raw;
    CHECK_RC(ward_store_table_info(st, &raw, "energy_raw"), WARD_OK);
    CHECK(raw.ncolumns == 7 && raw.columns[0].type == WARD_COLTYPE_TEXT);
    ward_table_info_clear(&raw);

    /* NYC taxi: many decimal columns, all-empty columns. */
    sample(path, sizeof path, "nyc-taxi.csv");
    CHECK_RC(import(st, &rep, "taxi", path, NULL, NULL, WARD_SENSITIVITY_HIGH, 4000), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 199);
    static const char *const taxi[] = {
        "VendorID", "integer", "tpep_pickup_datetime", "timestamp", "tpep_dropoff_datetime",
        "timestamp", "passenger_count", "integer", "trip_distance", "decimal(2)", "RatecodeID",
        "integer", "store_and_fwd_flag", "text", "PULocationID", "integer", "DOLocationID",
        "integer", "payment_type", "integer", "fare_amount", "decimal(2)", "extra", "decimal(1)",
        "mta_tax", "decimal(1)", "tip_amount", "decimal(2)", "tolls_amount", "decimal(2)",
        "improvement_surcharge", "decimal(1)", "total_amount", "decimal(2)",
        "congestion_surcharge", "decimal(1)", "color", "text", "ehail_fee", "text", "trip_type",
        "text", NULL};
    check_types(st, "taxi", taxi);
    CHECK(load_text(&t, path));
    got = sql_int(db, "SELECT sum(total_amount) FROM taxi");
    CHECK((__int128)got == column_sum(&t, "total_amount", 2));
    got = sql_int(db, "SELECT sum(trip_distance) FROM taxi");
    CHECK((__int128)got == column_sum(&t, "trip_distance", 2));
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM taxi WHERE ehail_fee IS NULL"), 199);
    CHECK_EQ_U64(sql_int(db, "SELECT total_amount FROM taxi WHERE rowid = 1"), 1295); /* 12.95 */
    free_text(&t);

    /* Citi Bike: integers and timestamps; stations: quoted names and
     * coordinates with 8 decimals, rounded half-even to the inferred cap of 6. */
    sample(path, sizeof path, "citibike-trips.csv");
    CHECK_RC(import(st, &rep, "trips", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 5000), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 199);
    static const char *const trips[] = {"start_ts", "timestamp", "duration", "integer",
                                        "start_station", "integer", "end_station", "integer",
                                        "subscriber", "integer", "birth_year", "integer", NULL};
    check_types(st, "trips", trips);
    CHECK(load_text(&t, path));
    got = sql_int(db, "SELECT sum(duration) FROM trips");
    CHECK((__int128)got == column_sum(&t, "duration", 0));
    free_text(&t);

    sample(path, sizeof path, "citibike-stations.csv");
    CHECK_RC(import(st, &rep, "stations", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 5000), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 59);
    static const char *const stations[] = {"station_id", "integer", "latitude", "decimal(6)",
                                           "longitude", "decimal(6)", "name", "text", NULL};
    check_types(st, "stations", stations);
    CHECK(load_text(&t, path));
    got = sql_int(db, "SELECT sum(latitude) FROM stations");
    CHECK((__int128)got == column_sum(&t, "latitude", 6));
    got = sql_int(db, "SELECT sum(longitude) FROM stations");
    CHECK((__int128)got == column_sum(&t, "longitude", 6));
    print_sum_mismatch("stations.longitude", column_sum(&t, "longitude", 6), got);
    pdb = peek_open(db);
    peek_text(s, sizeof s, pdb, "SELECT name FROM stations WHERE rowid = 1");
    CHECK(strcmp(s, "W 52 St & 11 Ave") == 0);
    sqlite3_close(pdb);
    free_text(&t);

    /* Aarhus: milliseconds are kept. */
    sample(path, sizeof path, "aarhus-parking.csv");
    CHECK_RC(import(st, &rep, "aarhus", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 6000), WARD_OK);
    static const char *const aarhus[] = {"vehiclecount", "integer", "updatetime", "timestamp",
                                         "_id", "integer", "totalspaces", "integer",
                                         "garagecode", "text", "streamtime", "timestamp", NULL};
    check_types(st, "aarhus", aarhus);
    pdb = peek_open(db);
    peek_text(s, sizeof s, pdb, "SELECT updatetime FROM aarhus WHERE rowid = 1");
    CHECK(strcmp(s, "2014-05-22 09:09:04.145") == 0);
    peek_text(s, sizeof s, pdb, "SELECT strftime('%H:%M', updatetime) FROM aarhus WHERE rowid = 1");
    CHECK(strcmp(s, "09:09") == 0);
    sqlite3_close(pdb);

    /* The listing. */
    ward_table_info *list;
    size_t n;
    CHECK_RC(ward_store_tables(st, &list, &n), WARD_OK);
    static const char *const names[] = {"aarhus", "air", "energy", "energy_raw", "parking",
                                        "stations", "taxi", "trips"};
    CHECK_EQ_U64(n, 8);
    for (size_t i = 0; i < n && i < 8; i++) CHECK(strcmp(list[i].name, names[i]) == 0);
    if (n == 8) {
        CHECK(list[1].sensitivity == WARD_SENSITIVITY_LOW && list[1].rows == 299);
        CHECK(list[6].sensitivity == WARD_SENSITIVITY_HIGH && list[6].ncolumns == 21);
        CHECK(list[4].sensitivity == WARD_SENSITIVITY_MEDIUM);
    }
    ward_store_tables_free(list, n);
}

static void test_declared(ward_store *st, const char *db) {
    char path[1200];
    ward_import_report rep;
    sample(path, sizeof path, "birmingham-parking.csv");

    CHECK_RC(import(st, &rep, "parking_declared", path,
                    "Capacity:integer[0, 5000], Occupancy : decimal(2), LastUpdated:timestamp", NULL,
                    WARD_SENSITIVITY_DEFAULT, 1),
             WARD_OK);
    static const char *const want[] = {"SystemCodeNumber", "text", "Capacity", "integer",
                                       "Occupancy", "decimal(2)", "LastUpdated", "timestamp", NULL};
    check_types(st, "parking_declared", want);
    CHECK_EQ_U64(sql_int(db, "SELECT Occupancy FROM parking_declared WHERE rowid = 1"), 6100);
    ward_table_info info;
    CHECK_RC(ward_store_table_info(st, &info, "parking_declared"), WARD_OK);
    CHECK(info.columns[1].has_min && info.columns[1].min == 0 && info.columns[1].max == 5000);
    CHECK(!info.columns[2].has_min && !info.columns[2].has_max);
    ward_table_info_clear(&info);

    /* "decimal" alone is scale 3; a value with more digits is rounded half-even. */
    char f[1200];
    tmp_path(f, sizeof f, "round.csv");
    write_file(f, "v,w\n1.0005,0.0000005\n1.0015,0.0000015\n-1.0025,0.0000025\n2.5,1.23456789\n");
    CHECK_RC(import(st, &rep, "rounding", f, "v:decimal", NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    static const char *const rw[] = {"v", "decimal(3)", "w", "decimal(6)", NULL};
    check_types(st, "rounding", rw);
    CHECK_EQ_U64(sql_int(db, "SELECT sum(v = CASE rowid WHEN 1 THEN 1000 WHEN 2 THEN 1002"
                             " WHEN 3 THEN -1002 ELSE 2500 END) FROM rounding"),
                 4);
    CHECK_EQ_U64(sql_int(db, "SELECT sum(w = CASE rowid WHEN 1 THEN 0 WHEN 2 THEN 2"
                             " WHEN 3 THEN 2 ELSE 1234568 END) FROM rounding"),
                 4);

    /* Bounds are checked; every violation is reported. */
    CHECK_RC(import(st, &rep, "bounded", path, "Occupancy:integer[0,100]", NULL,
                    WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EOVERFLOW);
    CHECK(rep.error_count > 1 && rep.nerrors > 0);
    CHECK(strcmp(rep.errors[0].column, "Occupancy") == 0 && rep.errors[0].line > 1);
    CHECK(strstr(rep.errors[0].reason, "declared range [0, 100]") != NULL);
    CHECK(!table_exists(db, "bounded"));

    /* Bad schemas. */
    CHECK_RC(import(st, &rep, "x", path, "Capacity:float", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK(strstr(rep.message, "unknown type") != NULL);
    CHECK_RC(import(st, &rep, "x", path, "Capacity integer", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Capacity:decimal(19)", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Capacity:text[0,1]", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Capacity:integer[5,1]", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Capacity:integer,Capacity:integer", NULL,
                    WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Capacity:integer,", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_RC(import(st, &rep, "x", path, "Nope:integer", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK(strcmp(rep.errors[0].column, "Nope") == 0);
    /* A declared integer column refuses a text value, naming line and column. */
    CHECK_RC(import(st, &rep, "x", path, "SystemCodeNumber:integer", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK(rep.errors[0].line == 2 && strcmp(rep.errors[0].column, "SystemCodeNumber") == 0);
    CHECK_EQ_U64(rep.error_count, 299);
    CHECK_EQ_U64(rep.nerrors, WARD_IMPORT_MAX_ERRORS);
    CHECK(rep.errors[WARD_IMPORT_MAX_ERRORS - 1].line == WARD_IMPORT_MAX_ERRORS + 1);
    CHECK(strstr(rep.message, "line 2, column SystemCodeNumber") != NULL);
    CHECK(strstr(rep.message, "299 errors") != NULL);
    CHECK(!table_exists(db, "x"));
}

static void test_nulls_and_inference(ward_store *st, const char *db) {
    char f[1200];
    ward_import_report rep;
    tmp_path(f, sizeof f, "nulls.csv");
    write_file(f, "a,b,c,d,e,f\n"
                  "1,NA,,007,NaN,9223372036854775807\n"
                  "2,na,\"\",12,1.5,-9223372036854775808\n"
                  "NA,\"NA\",x,3,2,1\n"
                  ",Na,\"\",,,\n");
    CHECK_RC(import(st, &rep, "nulls", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    /* a: integer with NULLs; b: a quoted "NA" is text; c: text where a
     * quoted "" is an empty string; d: "007" keeps d as text; e: NaN is
     * not a number (and not NULL); f: the int64 extremes. */
    static const char *const want[] = {"a", "integer", "b", "text", "c", "text",
                                       "d", "text", "e", "text", "f", "integer", NULL};
    check_types(st, "nulls", want);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE a IS NULL"), 2);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE b IS NULL"), 3);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE b = 'NA'"), 1);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE c IS NULL"), 1);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE c = ''"), 2);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE d = '007'"), 1);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM nulls WHERE e = 'NaN'"), 1);
    CHECK(sql_int(db, "SELECT max(f) FROM nulls") == INT64_MAX);
    CHECK(sql_int(db, "SELECT min(f) FROM nulls") == INT64_MIN);

    /* Values beyond int64 make a column text, not a wrapped integer; a
     * decimal column too large for its scale does as well. */
    tmp_path(f, sizeof f, "big.csv");
    write_file(f, "big,wide,sci,ts,pad\n"
                  "9223372036854775808,12345678901234.5,1e3,2017-01-01T00:10:00, 5 \n"
                  "1,1.25,2.5E-1,2017-01-01,6\n"
                  "2,0.1,-3e0,2017-01-01 00:10,7\n"
                  "3,0.2,4,2017-02-28 23:59:59.5,8\n"
                  "4,0.3,5,2017-03-01 00:00:00.123456,9\n");
    CHECK_RC(import(st, &rep, "big", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    static const char *const bw[] = {"big", "text", "wide", "decimal(2)", "sci", "decimal(2)",
                                     "ts", "timestamp", "pad", "integer", NULL};
    check_types(st, "big", bw);
    CHECK_EQ_U64(sql_int(db, "SELECT wide FROM big WHERE rowid = 1"), 1234567890123450);
    CHECK_EQ_U64(sql_int(db, "SELECT sum(sci) FROM big"), 100000 + 25 - 300 + 400 + 500);
    CHECK_EQ_U64(sql_int(db, "SELECT sum(pad) FROM big"), 35);
    sqlite3 *pdb = peek_open(db);
    static const char *const ts[] = {"2017-01-01 00:10:00", "2017-01-01 00:00:00",
                                     "2017-01-01 00:10:00", "2017-02-28 23:59:59.500",
                                     "2017-03-01 00:00:00.123"};
    for (int i = 0; i < 5; i++) {
        char sql[64], s[64];
        snprintf(sql, sizeof sql, "SELECT ts FROM big WHERE rowid = %d", i + 1);
        peek_text(s, sizeof s, pdb, sql);
        CHECK(strcmp(s, ts[i]) == 0);
    }
    sqlite3_close(pdb);

    tmp_path(f, sizeof f, "toobig.csv");
    write_file(f, "v\n92233720368547.75808\n0.000001\n");
    CHECK_RC(import(st, &rep, "toobig", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    static const char *const tb[] = {"v", "text", NULL};
    check_types(st, "toobig", tb);

    /* Invalid dates are not timestamps. */
    tmp_path(f, sizeof f, "dates.csv");
    write_file(f, "d\n2017-02-29\n2016-02-29\n");
    CHECK_RC(import(st, &rep, "dates", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    static const char *const dw[] = {"d", "text", NULL};
    check_types(st, "dates", dw);
    CHECK_RC(import(st, &rep, "dates2", f, "d:timestamp", NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK(rep.error_count == 1 && rep.errors[0].line == 2 && strcmp(rep.errors[0].column, "d") == 0);

    /* 12-hour clock and month names. */
    tmp_path(f, sizeof f, "ampm.csv");
    write_file(f, "when,n\n4/18/2017 12:05:09 AM,1\n4/18/2017 12:05:09 PM,2\n"
                  "4/18/2017 1:00:00 pm,3\n");
    CHECK_RC(import(st, &rep, "ampm", f, NULL, "%m/%d/%Y %I:%M:%S %p", WARD_SENSITIVITY_DEFAULT, 1),
             WARD_OK);
    pdb = peek_open(db);
    char s[64];
    peek_text(s, sizeof s, pdb, "SELECT group_concat(\"when\", '|') FROM ampm");
    CHECK(strcmp(s, "2017-04-18 00:05:09|2017-04-18 12:05:09|2017-04-18 13:00:00") == 0);
    sqlite3_close(pdb);
    tmp_path(f, sizeof f, "months.csv");
    write_file(f, "day\n18 Apr 2017\n1 september 2017\n");
    CHECK_RC(import(st, &rep, "months", f, "day:timestamp", "%d %b %Y", WARD_SENSITIVITY_DEFAULT, 1),
             WARD_OK);
    pdb = peek_open(db);
    peek_text(s, sizeof s, pdb, "SELECT group_concat(day, '|') FROM months");
    CHECK(strcmp(s, "2017-04-18 00:00:00|2017-09-01 00:00:00") == 0);
    sqlite3_close(pdb);
    CHECK_RC(import(st, &rep, "badfmt", f, NULL, "%d %q %Y", WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK_RC(import(st, &rep, "badfmt", f, NULL, "%H:%M", WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);

    /* Names. */
    tmp_path(f, sizeof f, "names.csv");
    write_file(f, "  Wind Speed ,ok_2\n1,2\n");
    CHECK_RC(import(st, &rep, "names", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    static const char *const nw[] = {"Wind_Speed", "integer", "ok_2", "integer", NULL};
    check_types(st, "names", nw);
    static const char *const bad_headers[] = {"a-b,c\n1,2\n", "a,A\n1,2\n", "1a,b\n1,2\n",
                                              "a,\n1,2\n", "a,b;c\n1,2\n"};
    for (int i = 0; i < 5; i++) {
        write_file(f, bad_headers[i]);
        CHECK_RC(import(st, &rep, "names_bad", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
        CHECK(rep.errors[0].line == 1);
    }
    CHECK(!table_exists(db, "names_bad"));
    write_file(f, "a\n1\n");
    static const char *const bad_tables[] = {"Bad", "1x", "", "ward_x", "sqlite_x", "a-b",
                                             "a234567890123456789012345678901234567890123456789012345678901234"};
    for (int i = 0; i < 7; i++)
        CHECK_RC(import(st, &rep, bad_tables[i], f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK_RC(import(st, &rep, "a23456789012345678901234567890123456789012345678901234567890123", f,
                    NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_OK);

    /* Text must be UTF-8. */
    write_file(f, "a\nB\xE9thune\n");
    CHECK_RC(import(st, &rep, "latin1", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK(strstr(rep.errors[0].reason, "UTF-8") != NULL && rep.errors[0].line == 2);

    /* Files: missing, empty, header only. */
    tmp_path(f, sizeof f, "absent.csv");
    CHECK_RC(import(st, &rep, "absent", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_ENOTFOUND);
    tmp_path(f, sizeof f, "empty.csv");
    write_file(f, "");
    CHECK_RC(import(st, &rep, "empty", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK(strstr(rep.message, "empty") != NULL);
    write_file(f, "a,b\n");
    CHECK_RC(import(st, &rep, "header_only", f, "a:integer,b:decimal(2)", NULL,
                    WARD_SENSITIVITY_DEFAULT, 1),
             WARD_OK);
    CHECK(rep.rows_imported == 0 && rep.created == 1);
}

/* Copies the Birmingham sample, replacing whole lines. */
static void bad_copy(const char *out, const char *const *lines, const int *at, int n) {
    char path[1200];
    sample(path, sizeof path, "birmingham-parking.csv");
    size_t len;
    char *all = read_all(path, &len);
    CHECK(all != NULL);
    if (!all) return;
    FILE *f = fopen(out, "wb");
    CHECK(f != NULL);
    if (!f) {
        free(all);
        return;
    }
    int line = 1;
    char *p = all;
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p + 1) : strlen(p);
        int replaced = 0;
        for (int i = 0; i < n; i++) {
            if (at[i] == line) {
                fputs(lines[i], f);
                replaced = 1;
            }
        }
        if (!replaced) fwrite(p, 1, l, f);
        p += l;
        line++;
    }
    fclose(f);
    free(all);
}

static void test_all_or_nothing(ward_store *st, const char *db) {
    char f[1200];
    ward_import_report rep;
    tmp_path(f, sizeof f, "bad57.csv");
    static const char *const l57[] = {"BHMBCCMKT01,577,lots,2016-10-11 08:00:00\n"};
    static const int at57[] = {57};
    bad_copy(f, l57, at57, 1);

    /* Into a new table (types declared): the table does not appear. */
    CHECK_RC(import(st, &rep, "parking_new", f, "Occupancy:integer", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK_EQ_U64(rep.error_count, 1);
    CHECK(rep.nerrors == 1 && rep.errors[0].line == 57 && strcmp(rep.errors[0].column, "Occupancy") == 0);
    CHECK(strstr(rep.errors[0].reason, "\"lots\" is not an integer") != NULL);
    CHECK(strstr(rep.message, "line 57, column Occupancy") != NULL);
    CHECK(rep.rows_imported == 0 && rep.created == 0);
    CHECK(!table_exists(db, "parking_new"));
    CHECK(strstr(ward_store_errmsg(st), "line 57") != NULL);

    /* Appended to an existing table: its rows stay as they were. */
    ward_table_info before, after;
    CHECK_RC(ward_store_table_info(st, &before, "parking"), WARD_OK);
    int64_t sum_before = sql_int(db, "SELECT sum(Occupancy) FROM parking");
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 99), WARD_EPARSE);
    CHECK(rep.errors[0].line == 57 && strcmp(rep.errors[0].column, "Occupancy") == 0);
    CHECK_EQ_U64(rep.rows_total, before.rows);
    CHECK_RC(ward_store_table_info(st, &after, "parking"), WARD_OK);
    CHECK_EQ_U64(after.rows, before.rows);
    CHECK(after.updated_ms == before.updated_ms);
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM parking"), before.rows);
    CHECK(sql_int(db, "SELECT sum(Occupancy) FROM parking") == sum_before);
    ward_table_info_clear(&after);

    /* Several bad values, and a malformed line: counted and ordered. */
    tmp_path(f, sizeof f, "bad_many.csv");
    static const char *const many[] = {"BHMBCCMKT01,x,1,2016-10-11 08:00:00\n",
                                       "BHMBCCMKT01,1,2,2016-13-11 08:00:00\n",
                                       "BHMBCCMKT01,1,y,z\n"};
    static const int at_many[] = {10, 20, 30};
    bad_copy(f, many, at_many, 3);
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 99), WARD_EPARSE);
    CHECK_EQ_U64(rep.error_count, 4);
    CHECK(rep.nerrors == 4 && rep.errors[0].line == 10 && strcmp(rep.errors[0].column, "Capacity") == 0);
    CHECK(rep.errors[1].line == 20 && strcmp(rep.errors[1].column, "LastUpdated") == 0);
    CHECK(rep.errors[2].line == 30 && strcmp(rep.errors[2].column, "Occupancy") == 0);
    CHECK(rep.errors[3].line == 30 && strcmp(rep.errors[3].column, "LastUpdated") == 0);

    tmp_path(f, sizeof f, "bad_quote.csv");
    static const char *const quote[] = {"\"BHMBCCMKT01,577,61,2016-10-04 07:59:42\n"};
    static const int at_quote[] = {100};
    bad_copy(f, quote, at_quote, 1);
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 99), WARD_EPARSE);
    CHECK(rep.error_count == 1 && rep.errors[0].line == 100 && rep.errors[0].column[0] == '\0');
    CHECK(strstr(rep.errors[0].reason, "unterminated") != NULL);
    CHECK_RC(import(st, &rep, "parking_q", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 99), WARD_EPARSE);
    CHECK(!table_exists(db, "parking_q"));
    tmp_path(f, sizeof f, "bad_count.csv");
    static const char *const count[] = {"BHMBCCMKT01,577,61\n"};
    static const int at_count[] = {150};
    bad_copy(f, count, at_count, 1);
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 99), WARD_EPARSE);
    CHECK(rep.errors[0].line == 150 && strstr(rep.errors[0].reason, "3 fields, header has 4") != NULL);
    CHECK_RC(ward_store_table_info(st, &after, "parking"), WARD_OK);
    CHECK_EQ_U64(after.rows, before.rows);
    ward_table_info_clear(&after);

    /* A good append adds rows and keeps the creation time. */
    char path[1200];
    sample(path, sizeof path, "birmingham-parking.csv");
    CHECK_RC(import(st, &rep, "parking", path, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 7777), WARD_OK);
    CHECK(rep.created == 0 && rep.rows_imported == 299 && rep.rows_total == before.rows + 299);
    CHECK_RC(ward_store_table_info(st, &after, "parking"), WARD_OK);
    CHECK_EQ_U64(after.rows, before.rows + 299);
    CHECK(after.created_ms == before.created_ms && after.updated_ms == 7777);
    CHECK(sql_int(db, "SELECT sum(Occupancy) FROM parking") == 2 * sum_before);
    ward_table_info_clear(&after);
    ward_table_info_clear(&before);

    /* Columns in another order are fine; values follow their names. */
    tmp_path(f, sizeof f, "reordered.csv");
    write_file(f, "LastUpdated,Occupancy,SystemCodeNumber,Capacity\n"
                  "2016-12-01 10:00:00,5,REORDERED,10\n");
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 7778), WARD_OK);
    CHECK_EQ_U64(sql_int(db, "SELECT Capacity * 1000 + Occupancy FROM parking"
                             " WHERE SystemCodeNumber = 'REORDERED'"),
                 10005);

    /* Mismatched appends are refused, naming the column. */
    write_file(f, "SystemCodeNumber,Capacity,Occupancy\nA,1,2\n");
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_ESTATE);
    CHECK(strcmp(rep.errors[0].column, "LastUpdated") == 0 && strstr(rep.message, "missing") != NULL);
    write_file(f, "SystemCodeNumber,Capacity,Occupancy,LastUpdated,Extra\nA,1,2,2016-12-01,3\n");
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_ESTATE);
    CHECK(strcmp(rep.errors[0].column, "Extra") == 0);
    sample(path, sizeof path, "birmingham-parking.csv");
    CHECK_RC(import(st, &rep, "parking", path, "Occupancy:decimal(2)", NULL, WARD_SENSITIVITY_DEFAULT, 1),
             WARD_ESTATE);
    CHECK(strcmp(rep.errors[0].column, "Occupancy") == 0);
    CHECK(strstr(rep.errors[0].reason, "is integer in table 'parking' but declared decimal(2)") != NULL);
    CHECK_RC(import(st, &rep, "parking", path, NULL, NULL, WARD_SENSITIVITY_HIGH, 1), WARD_ESTATE);
    CHECK(strstr(rep.message, "class medium") != NULL);
    /* Text where the table has integers: refused by value. */
    write_file(f, "SystemCodeNumber,Capacity,Occupancy,LastUpdated\nA,1,2.5,2016-12-01\n");
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK(rep.errors[0].line == 2 && strcmp(rep.errors[0].column, "Occupancy") == 0);
    CHECK_EQ_U64(sql_int(db, "SELECT row_count FROM ward_tables WHERE name = 'parking'"), 299 * 2 + 1);

    /* Many bad rows: the first 20 are kept, all are counted. */
    tmp_path(f, sizeof f, "bad30.csv");
    const char *lines[30];
    int at[30];
    for (int i = 0; i < 30; i++) {
        lines[i] = "X,1,no,2016-10-11 08:00:00\n";
        at[i] = 100 + 3 * i;
    }
    bad_copy(f, lines, at, 30);
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK_EQ_U64(rep.error_count, 30);
    CHECK_EQ_U64(rep.nerrors, WARD_IMPORT_MAX_ERRORS);
    CHECK_EQ_U64(rep.errors[19].line, 157);
}

static void test_transactions(ward_store *st, const char *db) {
    char f[1200], good[1200];
    ward_import_report rep;
    tmp_path(good, sizeof good, "txn_good.csv");
    write_file(good, "k,v\n1,2\n3,4\n");
    tmp_path(f, sizeof f, "txn_bad.csv");
    write_file(f, "k,v\n1,2\n3,x\n");

    /* Rolled back with the caller's transaction. */
    CHECK_RC(ward_store_begin(st), WARD_OK);
    CHECK(ward_store_in_transaction(st));
    CHECK_RC(ward_store_begin(st), WARD_ESTATE);
    CHECK_RC(import(st, &rep, "txn_a", good, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    CHECK_RC(ward_store_rollback(st), WARD_OK);
    CHECK(!ward_store_in_transaction(st));
    CHECK(!table_exists(db, "txn_a"));

    /* A bad import inside a transaction undoes only itself. */
    CHECK_RC(ward_store_begin(st), WARD_OK);
    CHECK_RC(import(st, &rep, "txn_a", good, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    CHECK_RC(import(st, &rep, "txn_b", f, "v:integer", NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK_RC(import(st, &rep, "txn_a", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EPARSE);
    CHECK(ward_store_in_transaction(st));
    CHECK_RC(ward_store_commit(st), WARD_OK);
    CHECK_RC(ward_store_commit(st), WARD_ESTATE);
    CHECK_RC(ward_store_rollback(st), WARD_ESTATE);
    CHECK(table_exists(db, "txn_a"));
    CHECK(!table_exists(db, "txn_b"));
    CHECK_EQ_U64(sql_int(db, "SELECT count(*) FROM txn_a"), 2);
}

static void write_big_csv(const char *path, int rows) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    fputs("id,amount,note\n", f);
    for (int i = 0; i < rows; i++)
        fprintf(f, "%d,%d.%02d,a note long enough to fill pages quickly %d\n", i, i / 7, i % 100, i);
    fclose(f);
}

static void test_disk_full(ward_store *st, const char *db) {
    char f[1200];
    ward_import_report rep;
    tmp_path(f, sizeof f, "big_rows.csv");
    write_big_csv(f, 40000);

    ward_table_info *before;
    size_t nbefore;
    CHECK_RC(ward_store_tables(st, &before, &nbefore), WARD_OK);
    int64_t pages = sql_int(db, "PRAGMA page_count");
    int64_t psize = sql_int(db, "PRAGMA page_size");
    uint64_t cap = 0;
    CHECK_RC(ward_store_limit_size(st, &cap, (uint64_t)(pages * psize) + 64 * 1024), WARD_OK);
    CHECK(cap >= (uint64_t)(pages * psize));

    CHECK_RC(import(st, &rep, "bulk", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EIO);
    CHECK(strstr(rep.message, "full") != NULL);
    CHECK(strstr(ward_store_errmsg(st), "full") != NULL);
    CHECK(rep.rows_imported == 0 && rep.created == 0);
    CHECK(!table_exists(db, "bulk"));
    CHECK(!ward_store_in_transaction(st));

    /* Appending hits the same wall and leaves the table as it was. */
    char path[1200];
    sample(path, sizeof path, "birmingham-parking.csv");
    int64_t rows = sql_int(db, "SELECT count(*) FROM parking");
    tmp_path(f, sizeof f, "big_parking.csv");
    FILE *bf = fopen(f, "wb");
    CHECK(bf != NULL);
    if (bf) {
        fputs("SystemCodeNumber,Capacity,Occupancy,LastUpdated\n", bf);
        for (int i = 0; i < 40000; i++)
            fprintf(bf, "A rather long car park name number %d,%d,%d,2016-10-04 07:59:42\n", i, i, i);
        fclose(bf);
    }
    CHECK_RC(import(st, &rep, "parking", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EIO);
    CHECK(sql_int(db, "SELECT count(*) FROM parking") == rows);
    CHECK(sql_int(db, "SELECT row_count FROM ward_tables WHERE name = 'parking'") == rows);

    /* Inside a caller's transaction, a full disk rolls it all back. */
    tmp_path(f, sizeof f, "small.csv");
    write_file(f, "a\n1\n");
    CHECK_RC(ward_store_begin(st), WARD_OK);
    CHECK_RC(import(st, &rep, "small", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    tmp_path(f, sizeof f, "big_rows.csv");
    CHECK_RC(import(st, &rep, "bulk", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_EIO);
    CHECK(!ward_store_in_transaction(st));
    CHECK(!table_exists(db, "small"));

    ward_table_info *after;
    size_t nafter;
    CHECK_RC(ward_store_tables(st, &after, &nafter), WARD_OK);
    CHECK_EQ_U64(nafter, nbefore);
    for (size_t i = 0; i < nafter && i < nbefore; i++)
        CHECK(strcmp(after[i].name, before[i].name) == 0 && after[i].rows == before[i].rows);
    ward_store_tables_free(after, nafter);
    ward_store_tables_free(before, nbefore);
    sqlite3 *pdb = peek_open(db);
    char s[64];
    peek_text(s, sizeof s, pdb, "PRAGMA integrity_check");
    CHECK(strcmp(s, "ok") == 0);
    sqlite3_close(pdb);

    /* With room again, the same import succeeds. */
    CHECK_RC(ward_store_limit_size(st, NULL, (uint64_t)1 << 40), WARD_OK);
    CHECK_RC(import(st, &rep, "bulk", f, NULL, NULL, WARD_SENSITIVITY_DEFAULT, 1), WARD_OK);
    CHECK_EQ_U64(rep.rows_imported, 40000);
    static const char *const want[] = {"id", "integer", "amount", "decimal(2)", "note", "text", NULL};
    check_types(st, "bulk", want);
    int64_t want_sum = 0;
    for (int i = 0; i < 40000; i++) want_sum += (int64_t)(i / 7) * 100 + i % 100;
    CHECK(sql_int(db, "SELECT sum(amount) FROM bulk") == want_sum);
}

static void test_reopen_and_versions(ward_store *st, const char *db) {
    ward_table_info *before, *after;
    size_t nbefore, nafter;
    CHECK_RC(ward_store_tables(st, &before, &nbefore), WARD_OK);
    int64_t sum = sql_int(db, "SELECT sum(total_amount) FROM taxi");
    CHECK_RC(ward_store_close(st), WARD_OK);
    CHECK_RC(ward_store_close(st), WARD_OK); /* closed twice is fine */

    CHECK_RC(ward_store_open(st, db), WARD_OK);
    int v = 0;
    CHECK_RC(ward_store_schema_version(st, &v), WARD_OK);
    CHECK(v == WARD_STORE_SCHEMA_VERSION);
    CHECK_RC(ward_store_tables(st, &after, &nafter), WARD_OK);
    CHECK_EQ_U64(nafter, nbefore);
    for (size_t i = 0; i < nafter && i < nbefore; i++) {
        CHECK(strcmp(after[i].name, before[i].name) == 0);
        CHECK(after[i].rows == before[i].rows && after[i].ncolumns == before[i].ncolumns);
        CHECK(after[i].sensitivity == before[i].sensitivity);
        CHECK(after[i].created_ms == before[i].created_ms);
        for (size_t c = 0; c < after[i].ncolumns && c < before[i].ncolumns; c++)
            CHECK(memcmp(&after[i].columns[c], &before[i].columns[c], sizeof after[i].columns[c]) == 0);
    }
    ward_store_tables_free(after, nafter);
    ward_store_tables_free(before, nbefore);
    CHECK(sql_int(db, "SELECT sum(total_amount) FROM taxi") == sum);
    CHECK(sql_int(db, "PRAGMA application_id") == 0x77617264);
    sqlite3 *pdb = peek_open(db);
    char s[32];
    peek_text(s, sizeof s, pdb, "PRAGMA journal_mode");
    CHECK(strcmp(s, "wal") == 0);
    sqlite3_close(pdb);
    ward_table_info none;
    CHECK_RC(ward_store_table_info(st, &none, "nothing_here"), WARD_ENOTFOUND);
    CHECK_RC(ward_store_close(st), WARD_OK);

    /* A newer schema is refused, and the file is left alone. */
    sql_exec(db, "UPDATE ward_meta SET value = 2 WHERE key = 'schema_version'");
    CHECK_RC(ward_store_open(st, db), WARD_EVERSION);
    CHECK(strstr(ward_store_errmsg(st), "newer") != NULL);
    CHECK(st->db == NULL);
    CHECK(sql_int(db, "SELECT value FROM ward_meta WHERE key = 'schema_version'") == 2);
    sql_exec(db, "UPDATE ward_meta SET value = 0 WHERE key = 'schema_version'");
    CHECK_RC(ward_store_open(st, db), WARD_EVERSION);
    sql_exec(db, "UPDATE ward_meta SET value = 1 WHERE key = 'schema_version'");
    CHECK_RC(ward_store_open(st, db), WARD_OK);
    CHECK_RC(ward_store_close(st), WARD_OK);

    /* Files that are not ward databases. */
    char other[1200];
    tmp_path(other, sizeof other, "other.db");
    sql_exec(other, "CREATE TABLE t(x)");
    CHECK_RC(ward_store_open(st, other), WARD_EPARSE);
    CHECK(strstr(ward_store_errmsg(st), "did not create") != NULL);
    tmp_path(other, sizeof other, "text.db");
    write_file(other, "this is not a database, just text that is long enough to fill a header........"
                      "................................................................\n");
    CHECK_RC(ward_store_open(st, other), WARD_EPARSE);
    tmp_path(other, sizeof other, "no/such/dir/node.db");
    CHECK_RC(ward_store_open(st, other), WARD_EIO);
    CHECK_RC(ward_store_open(NULL, db), WARD_EINVAL);

    /* Misuse. */
    ward_store closed;
    memset(&closed, 0, sizeof closed);
    ward_import_report rep;
    CHECK_RC(ward_store_import(&closed, &rep, "t", db, NULL), WARD_EINVAL);
    CHECK_RC(ward_store_begin(&closed), WARD_EINVAL);
    CHECK(strcmp(ward_sensitivity_name(WARD_SENSITIVITY_HIGH), "high") == 0);
    ward_sensitivity sv;
    CHECK_RC(ward_sensitivity_parse(&sv, "low"), WARD_OK);
    CHECK(sv == WARD_SENSITIVITY_LOW);
    CHECK_RC(ward_sensitivity_parse(&sv, "LOW"), WARD_EPARSE);
}

int main(void) {
    const char *v = getenv("WARD_VECTORS");
    if (v) snprintf(data_dir, sizeof data_dir, "%s/../data", v);
    else snprintf(data_dir, sizeof data_dir, "tests/data");
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ward-store-XXXXXX");
    CHECK(mkdtemp(tmp_dir) != NULL);

    char db[1200];
    tmp_path(db, sizeof db, "node.db");
    ward_store st;
    CHECK_RC(ward_store_open(&st, db), WARD_OK);
    int version = 0;
    CHECK_RC(ward_store_schema_version(&st, &version), WARD_OK);
    CHECK(version == WARD_STORE_SCHEMA_VERSION);

    test_real_samples(&st, db);
    test_declared(&st, db);
    test_nulls_and_inference(&st, db);
    test_all_or_nothing(&st, db);
    test_transactions(&st, db);
    test_disk_full(&st, db);
    test_reopen_and_versions(&st, db);
    ward_store_close(&st);

    if (!getenv("WARD_TEST_KEEP")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    }
    return check_done("store");
}
