/* Imports off the event loop (node/import_job.h): staging then merging
 * gives what one ward_store_import gives; the node's own writes go on
 * while a file is staged; a table that changed meanwhile, a bad file and a
 * declared bound are refused with nothing imported; no staging file is
 * left behind. */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "check.h"
#include "error.h"
#include "import_job.h"
#include "store.h"

static char dir[] = "/tmp/ward-impjob-XXXXXX";

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int64_t count_rows(ward_store *st, const char *sql) {
    sqlite3_stmt *stmt;
    int64_t n = -1;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    char db[300], stg[300], a[300], b[300], bad[300], big[300];
    snprintf(db, sizeof db, "%s/node.db", dir);
    snprintf(stg, sizeof stg, "%s/node.db.import-1", dir);
    snprintf(a, sizeof a, "%s/a.csv", dir);
    snprintf(b, sizeof b, "%s/b.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.csv", dir);
    snprintf(big, sizeof big, "%s/big.csv", dir);
    write_file(a, "ts,v,lot\n2024-01-01 08:00:00,3,A\n2024-01-01 09:00:00,4,B\n");
    write_file(b, "ts,v,lot\n2024-01-02 08:00:00,5,C\n2024-01-02 09:00:00,6,A\n2024-01-02 10:00:00,7,B\n");
    write_file(bad, "ts,v,lot\n2024-01-02 08:00:00,5,C\n2024-01-02 09:00:00,many,A\n");
    write_file(big, "ts,v,lot\n2024-01-03 08:00:00,500,C\n");

    ward_store st;
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, db), WARD_OK);
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.schema = "v:integer[0,100]";
    opt.sensitivity = WARD_SENSITIVITY_HIGH;
    opt.now_ms = 1000;
    ward_import_report rep;
    ward_import_base base;

    /* A new table. */
    CHECK_RC(ward_import_stage(&rep, &base, db, stg, "t", a, &opt), WARD_OK);
    CHECK(!base.exists && rep.rows_imported == 2 && exists(stg));
    CHECK(count_rows(&st, "SELECT count(*) FROM sqlite_master WHERE name = 't'") == 0);
    CHECK_RC(ward_import_merge(&st, &rep, stg, "t", &base, 1000), WARD_OK);
    CHECK(rep.rows_imported == 2 && rep.rows_total == 2 && rep.created == 1 && !exists(stg));
    ward_table_info ti;
    CHECK_RC(ward_store_table_info(&st, &ti, "t"), WARD_OK);
    CHECK(ti.rows == 2 && ti.sensitivity == WARD_SENSITIVITY_HIGH && ti.ncolumns == 3 &&
          ti.columns[1].type == WARD_COLTYPE_INTEGER && ti.columns[1].has_max && ti.columns[1].max == 100);
    ward_table_info_clear(&ti);

    /* Appending, while the node writes its own records: the staging step
     * holds no lock on the node's database. */
    opt.schema = NULL;
    opt.sensitivity = WARD_SENSITIVITY_DEFAULT;
    CHECK_RC(ward_import_stage(&rep, &base, db, stg, "t", b, &opt), WARD_OK);
    CHECK(base.exists && base.rows == 2);
    CHECK_RC(ward_audit_append(&st, NULL, NULL, 2000, "test", "", "{}"), WARD_OK);
    CHECK_RC(ward_import_merge(&st, &rep, stg, "t", &base, 3000), WARD_OK);
    CHECK(rep.rows_imported == 3 && rep.rows_total == 5 && rep.created == 0 && !exists(stg));
    CHECK(count_rows(&st, "SELECT count(*) FROM t") == 5);
    CHECK(count_rows(&st, "SELECT sum(v) FROM t") == 25);
    CHECK(count_rows(&st, "SELECT row_count FROM ward_tables WHERE name = 't'") == 5);
    CHECK(count_rows(&st, "SELECT updated_ms FROM ward_tables WHERE name = 't'") == 3000);

    /* The table changed between the two steps: refused, nothing added. */
    CHECK_RC(ward_import_stage(&rep, &base, db, stg, "t", b, &opt), WARD_OK);
    ward_import_report direct;
    CHECK_RC(ward_store_import(&st, &direct, "t", a, &opt), WARD_OK);
    CHECK_RC(ward_import_merge(&st, &rep, stg, "t", &base, 4000), WARD_ESTATE);
    CHECK(strstr(ward_store_errmsg(&st), "changed while the file was being read") != NULL);
    CHECK(count_rows(&st, "SELECT count(*) FROM t") == 7 && !exists(stg));
    CHECK(!ward_store_in_transaction(&st));

    /* A bad value: the line is named, nothing staged or imported. */
    CHECK_RC(ward_import_stage(&rep, &base, db, stg, "t", bad, &opt), WARD_EPARSE);
    CHECK(rep.error_count == 1 && rep.errors[0].line == 3 && !exists(stg));
    char text[600];
    ward_import_error_text(text, sizeof text, &rep, bad, "t", "?");
    CHECK(strstr(text, ":3: column v") != NULL && strstr(text, "nothing imported") != NULL);
    /* The existing table's declared bound holds in the staging copy too. */
    CHECK_RC(ward_import_stage(&rep, &base, db, stg, "t", big, &opt), WARD_EOVERFLOW);
    CHECK(!exists(stg));
    CHECK(count_rows(&st, "SELECT count(*) FROM t") == 7);
    /* A missing file. */
    char nowhere[320];
    snprintf(nowhere, sizeof nowhere, "%s/nowhere.csv", dir);
    CHECK(ward_import_stage(&rep, &base, db, stg, "t", nowhere, &opt) != WARD_OK);
    CHECK(!exists(stg));
    /* The audit chain is intact after all of it. */
    ward_audit_report vr;
    CHECK_RC(ward_audit_verify(&st, &vr), WARD_OK);
    CHECK(vr.intact);

    ward_store_close(&st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("import-job");
}
