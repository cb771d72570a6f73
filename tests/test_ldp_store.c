/* Local-DP reports at the node (node/store_ldp.h, node/ldp_report.h):
 * the report-line parser, all-or-nothing imports with line-numbered
 * errors, appends, the metadata, and a round trip encode -> import ->
 * estimate that is checked against the truth within the stated variance,
 * with a power check: the same check fails when the table declares a
 * wrong epsilon. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "error.h"
#include "ldp.h"
#include "ldp_report.h"
#include "rng.h"
#include "store.h"
#include "store_ldp.h"

static char tmp_dir[256];

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

static int64_t rows_of(ward_store *st, const char *table) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) return -1;
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return n;
}

static void test_parser(void) {
    ward_ldp_format f;
    ward_ldp_report r;
    uint8_t bits[5];
    const char *why = NULL;
    memset(&r, 0, sizeof r);
    CHECK_RC(ward_ldp_format_init(&f, WARD_LDP_GRR, 1.0, 5), WARD_OK);
    CHECK_RC(ward_ldp_report_parse(&r, &why, &f, "4", 1), WARD_OK);
    CHECK(r.y == 4);
    CHECK_RC(ward_ldp_report_parse(&r, &why, &f, "5", 1), WARD_EPARSE);
    CHECK(why != NULL && strstr(why, "[0, domain)") != NULL);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "", 0), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "-1", 2), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, " 1", 2), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "1\0", 2), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "18446744073709551616", 20), WARD_EPARSE);
    CHECK_RC(ward_ldp_format_init(&f, WARD_LDP_OUE, 1.0, 5), WARD_OK);
    r.bits = bits;
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "01001", 5), WARD_OK);
    CHECK(bits[0] == 0 && bits[1] == 1 && bits[4] == 1);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "0100", 4), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "01002", 5), WARD_EPARSE);
    r.bits = NULL;
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "01001", 5), WARD_EINVAL);
    CHECK_RC(ward_ldp_format_init(&f, WARD_LDP_OLH, 1.0, 5), WARD_OK);
    CHECK(f.g == 4); /* round(e) + 1 */
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "18446744073709551615,3", 22), WARD_OK);
    CHECK(r.seed == UINT64_MAX && r.y == 3);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "12,4", 4), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "12,", 3), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, ",1", 2), WARD_EPARSE);
    CHECK_RC(ward_ldp_report_parse(&r, NULL, &f, "1,2,3", 5), WARD_EPARSE);
    CHECK_RC(ward_ldp_format_init(&f, WARD_LDP_GRR, 0.0, 5), WARD_EINVAL);
    CHECK_RC(ward_ldp_format_init(&f, WARD_LDP_GRR, 1.0, 1), WARD_EINVAL);
}

static void test_import_errors(ward_store *st) {
    char path[512];
    ward_import_report rep;
    tmp_path(path, sizeof path, "bad.txt");
    /* Lines 3 and 5 are bad: nothing is imported, both are counted, the
     * first is named. */
    write_file(path, "1\n2\n9\n0\nx\n");
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 1000),
             WARD_EPARSE);
    CHECK(rep.error_count == 2 && rep.nerrors == 2);
    CHECK(rep.errors[0].line == 3 && rep.errors[1].line == 5);
    CHECK(strstr(rep.message, "line 3") != NULL);
    CHECK(rep.rows_imported == 0);
    ward_table_info ti;
    CHECK_RC(ward_store_table_info(st, &ti, "votes"), WARD_ENOTFOUND);
    ward_ldp_table_info li;
    CHECK_RC(ward_store_ldp_info(st, &li, "votes"), WARD_ENOTFOUND);
    /* An empty file, a missing one, a bad name. */
    write_file(path, "");
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 1000),
             WARD_EPARSE);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", "/nonexistent/x", WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 1000),
             WARD_ENOTFOUND);
    write_file(path, "1\n");
    CHECK_RC(ward_store_ldp_import(st, &rep, "ward_x", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 1000),
             WARD_EPARSE);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, -1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 1000),
             WARD_EINVAL);

    /* A good import, then appends: the same parameters add rows, others
     * are refused and leave the table as it was, and so does a bad file. */
    write_file(path, "1\n2\r\n4");
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_LOW, 1000),
             WARD_OK);
    CHECK(rep.rows_imported == 3 && rep.rows_total == 3 && rep.created == 1);
    CHECK_RC(ward_store_ldp_info(st, &li, "votes"), WARD_OK);
    CHECK(li.mech == WARD_LDP_GRR && li.epsilon == 1.0 && li.domain == 5 && li.reports == 3 &&
          li.sensitivity == WARD_SENSITIVITY_LOW);
    CHECK_RC(ward_store_table_info(st, &ti, "votes"), WARD_OK);
    CHECK(ti.rows == 3 && ti.ncolumns == 1 && ti.columns[0].type == WARD_COLTYPE_INTEGER &&
          ti.columns[0].has_max && ti.columns[0].max == 4);
    ward_table_info_clear(&ti);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_OK);
    CHECK(rep.rows_imported == 3 && rep.rows_total == 6 && rep.created == 0);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.5, 5,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_ESTATE);
    CHECK(strstr(rep.message, "epsilon") != NULL);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 6,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_ESTATE);
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_HIGH, 2000),
             WARD_ESTATE);
    write_file(path, "1\n2\n3\n\n4\n");
    CHECK_RC(ward_store_ldp_import(st, &rep, "votes", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_EPARSE);
    CHECK(rep.errors[0].line == 4);
    CHECK(rows_of(st, "votes") == 6);
    CHECK_RC(ward_store_ldp_info(st, &li, "votes"), WARD_OK);
    CHECK(li.reports == 6);

    /* A CSV import cannot append to a report table. */
    char rcsv[512];
    tmp_path(rcsv, sizeof rcsv, "report.csv");
    write_file(rcsv, "report\n3\n");
    ward_import_options ropt;
    memset(&ropt, 0, sizeof ropt);
    CHECK_RC(ward_store_import(st, &rep, "votes", rcsv, &ropt), WARD_ESTATE);
    CHECK(strstr(rep.message, "--ldp-reports") != NULL);
    CHECK(rows_of(st, "votes") == 6);

    /* A CSV table is not a report table. */
    char csv[512];
    tmp_path(csv, sizeof csv, "plain.csv");
    write_file(csv, "a,b\n1,2\n");
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    CHECK_RC(ward_store_import(st, &rep, "plain", csv, &opt), WARD_OK);
    CHECK_RC(ward_store_ldp_import(st, &rep, "plain", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_ESTATE);
    CHECK_RC(ward_store_ldp_info(st, &li, "plain"), WARD_ENOTFOUND);
    CHECK(rows_of(st, "plain") == 1);

    /* Inside a caller's transaction a failure undoes only the import. */
    CHECK_RC(ward_store_begin(st), WARD_OK);
    write_file(path, "1\nbad\n");
    CHECK_RC(ward_store_ldp_import(st, &rep, "other", path, WARD_LDP_GRR, 1.0, 5,
                                   WARD_SENSITIVITY_DEFAULT, 2000),
             WARD_EPARSE);
    CHECK(ward_store_in_transaction(st));
    CHECK_RC(ward_store_rollback(st), WARD_OK);
    CHECK_RC(ward_store_table_info(st, &ti, "other"), WARD_ENOTFOUND);
}

/* z-scores of the estimates against the truth, with each value's exact
 * standard deviation: returns the largest |z| and the mean of z^2. */
static void zscores(double *max_abs, double *mean_sq, const double *est, const uint64_t *truth,
                    ward_ldp_mech mech, double eps, uint32_t d, uint64_t n) {
    *max_abs = 0;
    *mean_sq = 0;
    for (uint32_t v = 0; v < d; v++) {
        double var;
        CHECK_RC(ward_ldp_variance_at(&var, mech, eps, d, n, (double)truth[v]), WARD_OK);
        double z = (est[v] - (double)truth[v]) / sqrt(var);
        if (fabs(z) > *max_abs) *max_abs = fabs(z);
        *mean_sq += z * z / d;
    }
}

/* Encodes n values at eps_true, imports them as a table declaring
 * eps_declared, and estimates from the store. */
static void round_trip(ward_store *st, const char *table, ward_ldp_mech mech, double eps_true,
                       double eps_declared, uint32_t d, uint64_t n, uint64_t seed,
                       double *max_abs, double *mean_sq) {
    char path[512];
    tmp_path(path, sizeof path, "reports.txt");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, seed), WARD_OK);
    uint64_t *truth = calloc(d, sizeof *truth);
    uint8_t *bits = malloc(d);
    for (uint64_t i = 0; i < n; i++) {
        /* A skewed truth: value v with weight proportional to d - v. */
        uint32_t v = (uint32_t)(ward_rng_u64(&rng) % ((uint64_t)d * (d + 1) / 2));
        uint32_t k = d;
        while (v >= k) v -= k--;
        v = d - k;
        truth[v]++;
        if (mech == WARD_LDP_GRR) {
            uint32_t y;
            CHECK_RC(ward_ldp_grr_encode(&rng, &y, eps_true, d, v), WARD_OK);
            fprintf(f, "%u\n", y);
        } else if (mech == WARD_LDP_OUE) {
            CHECK_RC(ward_ldp_oue_encode(&rng, bits, d, eps_true, v), WARD_OK);
            for (uint32_t j = 0; j < d; j++) fputc('0' + bits[j], f);
            fputc('\n', f);
        } else {
            uint64_t s;
            uint32_t y;
            CHECK_RC(ward_ldp_olh_encode(&rng, &s, &y, eps_true, d, v), WARD_OK);
            fprintf(f, "%llu,%u\n", (unsigned long long)s, y);
        }
    }
    fclose(f);
    ward_rng_clear(&rng);
    ward_import_report rep;
    CHECK_RC(ward_store_ldp_import(st, &rep, table, path, mech, eps_declared, d,
                                   WARD_SENSITIVITY_DEFAULT, 5000),
             WARD_OK);
    CHECK(rep.rows_imported == n);
    ward_ldp_table_info li;
    CHECK_RC(ward_store_ldp_info(st, &li, table), WARD_OK);
    uint64_t *counts = calloc(d, sizeof *counts);
    double *est = calloc(d, sizeof *est);
    ward_ldp_est e;
    CHECK_RC(ward_ldp_est_init(&e, counts, li.domain, li.mech, li.epsilon), WARD_OK);
    CHECK_RC(ward_store_ldp_counts(st, &e, table), WARD_OK);
    CHECK(e.n == n);
    CHECK_RC(ward_ldp_est_finish(&e, est, d), WARD_OK);
    zscores(max_abs, mean_sq, est, truth, mech, eps_declared, d, n);
    free(truth);
    free(bits);
    free(counts);
    free(est);
}

static void test_round_trip(ward_store *st) {
    static const struct {
        const char *table;
        ward_ldp_mech mech;
        double eps;
        uint32_t d;
    } cases[] = {
        {"rt_rr", WARD_LDP_GRR, 1.0, 8},
        {"rt_oue", WARD_LDP_OUE, 1.0, 8},
        {"rt_olh", WARD_LDP_OLH, 2.0, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mx, msq;
        round_trip(st, cases[i].table, cases[i].mech, cases[i].eps, cases[i].eps, cases[i].d,
                   20000, 100 + i, &mx, &msq);
        /* Every estimate within 4.5 sd of the truth (8 values: a false
         * alarm below 1e-4), and the mean squared z-score near 1 (the
         * stated variance is the true one): chi-square with 8 degrees of
         * freedom over 8 lies in [0.1, 3.1] with probability > 0.999. */
        printf("%s: max |z| %.2f, mean z^2 %.2f\n", cases[i].table, mx, msq);
        CHECK(mx < 4.5);
        CHECK(msq > 0.1 && msq < 3.1);
    }
    /* Power: the same reports declared at a wrong epsilon fail the check. */
    char name[32];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double mx, msq;
        snprintf(name, sizeof name, "%s_wrong", cases[i].table);
        /* OLH reports from a larger epsilon have hash values beyond the
         * declared g and are refused at import (below); one from a smaller
         * epsilon fits and must be caught by the statistics. */
        double f = cases[i].mech == WARD_LDP_OLH ? 1 / 1.3 : 1.3;
        round_trip(st, name, cases[i].mech, cases[i].eps * f, cases[i].eps, cases[i].d, 20000,
                   100 + i, &mx, &msq);
        printf("%s (encoded at %.2f eps): max |z| %.2f, mean z^2 %.2f\n", name, f, mx, msq);
        CHECK(mx >= 4.5 || msq >= 3.1);
    }
}

/* OLH reports whose hash range is larger than the declared one. */
static void test_olh_range(ward_store *st) {
    char path[512];
    tmp_path(path, sizeof path, "olh.txt");
    write_file(path, "5,3\n6,7\n7,8\n"); /* g = 8 at epsilon 2: 8 is out of range */
    ward_import_report rep;
    CHECK_RC(ward_store_ldp_import(st, &rep, "olh_range", path, WARD_LDP_OLH, 2.0, 8,
                                   WARD_SENSITIVITY_DEFAULT, 1),
             WARD_EPARSE);
    CHECK(rep.errors[0].line == 3 && rep.error_count == 1);
}

/* A stored row that is not a report (an altered database) is named. */
static void test_tampered(ward_store *st) {
    CHECK(sqlite3_exec(st->db, "INSERT INTO votes(report) VALUES (7)", NULL, NULL, NULL) ==
          SQLITE_OK);
    uint64_t counts[5];
    ward_ldp_est e;
    CHECK_RC(ward_ldp_est_init(&e, counts, 5, WARD_LDP_GRR, 1.0), WARD_OK);
    CHECK_RC(ward_store_ldp_counts(st, &e, "votes"), WARD_EPARSE);
    CHECK(strstr(ward_store_errmsg(st), "row") != NULL);
    CHECK_RC(ward_ldp_est_init(&e, counts, 5, WARD_LDP_GRR, 2.0), WARD_OK);
    CHECK_RC(ward_store_ldp_counts(st, &e, "votes"), WARD_EINVAL);
}

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ward_test_ldp_store_XXXXXX");
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char db[512];
    tmp_path(db, sizeof db, "node.db");
    ward_store st;
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, db), WARD_OK);
    test_parser();
    test_import_errors(&st);
    test_round_trip(&st);
    test_olh_range(&st);
    test_tampered(&st);
    ward_store_close(&st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_done("ldp-store");
}
