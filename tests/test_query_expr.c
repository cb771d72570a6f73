/* The --where language: what compiles to what, what is refused (with the
 * position), and that filters over a real table select exactly the rows a
 * direct reading of the CSV selects. */
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "error.h"
#include "query_expr.h"
#include "store.h"
#include "store_query.h"

static ward_column_info cols[] = {
    {.name = "lot", .type = WARD_COLTYPE_TEXT},
    {.name = "capacity", .type = WARD_COLTYPE_INTEGER},
    {.name = "fare", .type = WARD_COLTYPE_DECIMAL, .scale = 2},
    {.name = "ts", .type = WARD_COLTYPE_TIMESTAMP},
};
static ward_table_info table = {.name = "t", .ncolumns = 4, .columns = cols};

static void good(const char *where, const char *want_sql, size_t nparams) {
    ward_expr e;
    int rc = ward_expr_compile(&e, where, &table);
    CHECK_RC(rc, WARD_OK);
    if (rc != WARD_OK) fprintf(stderr, "  '%s': %s at %zu\n", where, e.err, e.err_pos);
    if (rc == WARD_OK) {
        CHECK(strcmp(e.sql, want_sql) == 0);
        if (strcmp(e.sql, want_sql) != 0) fprintf(stderr, "  got  %s\n  want %s\n", e.sql, want_sql);
        CHECK_EQ_U64(e.n_params, nparams);
    }
    ward_expr_free(&e);
}

static void bad(const char *where, int want_rc, size_t want_pos) {
    ward_expr e;
    CHECK_RC(ward_expr_compile(&e, where, &table), want_rc);
    CHECK(e.err[0] != '\0');
    if (want_pos != (size_t)-1) CHECK_EQ_U64(e.err_pos, want_pos);
    ward_expr_free(&e);
}

int main(void) {
    good("capacity > 100", "(\"capacity\" > ?)", 1);
    good("capacity >= 1 and lot = 'A''s'", "(\"capacity\" >= ? AND \"lot\" = ?)", 2);
    good("NOT (lot IS NULL) OR fare <> 2.5",
         "(NOT ((\"lot\" IS NULL)) OR \"fare\" != ?)", 1);
    good("weekday(ts) in (0, 6)", "(CAST(strftime('%w', \"ts\") AS INTEGER) IN (?, ?))", 2);
    good("date(ts) = '2016-10-04'", "(date(\"ts\") = ?)", 1);
    good("lot not in ('a','b')", "(\"lot\" NOT IN (?, ?))", 2);

    /* A decimal column is stored times 10^scale: literals are scaled. */
    ward_expr e;
    CHECK_RC(ward_expr_compile(&e, "fare > 12.34", &table), WARD_OK);
    CHECK(e.n_params == 1 && e.params[0].type == WARD_PARAM_REAL && e.params[0].r == 1234.0);
    ward_expr_free(&e);

    bad("", WARD_EPARSE, (size_t)-1);
    bad("capacity >", WARD_EPARSE, 10);
    bad("capacity > 1 extra", WARD_EPARSE, 13);
    bad("nosuch = 1", WARD_ENOTFOUND, (size_t)-1);
    bad("hour(lot) = 1", WARD_EINVAL, (size_t)-1);
    bad("lot = 1", WARD_EINVAL, (size_t)-1);
    bad("lot = 'x", WARD_EPARSE, (size_t)-1);
    bad("capacity = 1; DROP TABLE t", WARD_EPARSE, 12);
    bad("capacity = 1 -- comment", WARD_EPARSE, (size_t)-1);
    bad("\"capacity\" = 1", WARD_EPARSE, 0);
    bad("sqlite_version() = 1", WARD_EPARSE, (size_t)-1);
    bad("lot in (lot)", WARD_EPARSE, (size_t)-1);
    bad("capacity = 1\n", WARD_EPARSE, 12);
    {
        char deep[400];
        memset(deep, '(', 200);
        strcpy(deep + 200, "capacity = 1");
        bad(deep, WARD_ETOOBIG, (size_t)-1);
    }

    /* On real data: counts with filters equal counts read off the CSV. */
    char dir[] = "/tmp/ward-where-XXXXXX", path[300], db[300];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/../data/birmingham-parking.csv", check_vectors_dir());
    snprintf(db, sizeof db, "%s/node.db", dir);
    ward_store st;
    CHECK_RC(ward_store_open(&st, db), WARD_OK);
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    ward_import_report rep;
    CHECK_RC(ward_store_import(&st, &rep, "parking", path, &opt), WARD_OK);
    FILE *f = fopen(path, "r");
    char line[256];
    long n_big = 0, n_evening = 0, n_lot = 0;
    int64_t occ_big = 0;
    if (f && fgets(line, sizeof line, f)) {
        while (fgets(line, sizeof line, f)) {
            char code[64];
            int cap, occ, y, mo, d, h, mi, s;
            if (sscanf(line, "%63[^,],%d,%d,%d-%d-%d %d:%d:%d", code, &cap, &occ, &y, &mo, &d, &h,
                       &mi, &s) != 9)
                continue;
            if (occ > 300) n_big++, occ_big += occ;
            if (h >= 16 && h <= 19) n_evening++;
            if (strcmp(code, "BHMBCCMKT01") == 0) n_lot++;
        }
    }
    if (f) fclose(f);
    CHECK(n_big > 0 && n_evening > 0 && n_lot > 0);
    ward_agg_local *loc = malloc(sizeof *loc);
    CHECK_RC(ward_store_aggregate(&st, loc, "parking", "Occupancy", "Occupancy > 300", "", NULL, 0), WARD_OK);
    CHECK_EQ_U64(loc->counts[0], n_big);
    CHECK_EQ_U64(loc->sums[0], occ_big);
    CHECK_RC(ward_store_aggregate(&st, loc, "parking", "", "hour(LastUpdated) >= 16 and hour(LastUpdated) <= 19", "", NULL, 0), WARD_OK);
    CHECK_EQ_U64(loc->counts[0], n_evening);
    CHECK_RC(ward_store_aggregate(&st, loc, "parking", "", "SystemCodeNumber = 'BHMBCCMKT01' and Occupancy <= 300", "", NULL, 0), WARD_OK);
    CHECK_EQ_U64(loc->counts[0], n_lot - n_big);
    CHECK_RC(ward_store_aggregate(&st, loc, "parking", "", "SystemCodeNumber = 'x'' OR ''1''=''1'", "", NULL, 0), WARD_OK);
    CHECK_EQ_U64(loc->counts[0], 0); /* an injection attempt is just a literal */
    CHECK_RC(ward_store_aggregate(&st, loc, "parking", "", "Capacity >", "", NULL, 0), WARD_EPARSE);
    CHECK(strstr(ward_store_errmsg(&st), "byte") != NULL);
    free(loc);
    ward_store_close(&st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("query-expr");
}
