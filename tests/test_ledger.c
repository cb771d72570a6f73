/* The pieces of a differentially private release below the node core:
 * the release plan (node/dp_release.h), the adaptive allocator
 * (node/allocator.h), the privacy ledger with its audit-log check
 * (node/ledger.h) and the clamped local query (node/store_query.h). */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "allocator.h"
#include "audit.h"
#include "check.h"
#include "dp_account.h"
#include "dp_release.h"
#include "error.h"
#include "ledger.h"
#include "rng.h"
#include "store.h"
#include "store_query.h"

static char dir[] = "/tmp/ward-ledger-XXXXXX";

/* ---- release plans ---------------------------------------------------------- */

static void test_plan(void) {
    ward_dp_plan p;
    /* A sum's noise is exactly the calibration's (same target, same search). */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, -5, 10, 1.0, 1e-5), WARD_OK);
    ward_dp_ddg cal;
    CHECK_RC(ward_dp_ddg_calibrate(&cal, 1.0, 1e-5, 10, 3, 1), WARD_OK);
    CHECK_EQ_U64(p.sigma2_num, cal.sigma2_num);
    CHECK_EQ_U64(p.sigma2_den, cal.sigma2_den);
    CHECK(p.sensitivity == 10);
    CHECK(p.rho == cal.rho);
    CHECK(p.epsilon_spent <= 1.0 && p.epsilon_spent > 0.9);
    CHECK_EQ_U64(p.count_sigma2_num, 0);
    CHECK_EQ_U64(ward_dp_plan_len(&p), 1);
    /* The tail covers 40 standard deviations of the n shares' sum. */
    double sd = sqrt(3.0 * (double)p.sigma2_num / (double)p.sigma2_den);
    CHECK(p.value_sd >= sd && p.value_sd < sd * (1 + 1e-9));
    CHECK((double)p.value_tail >= 40 * sd && (double)p.value_tail <= 40 * sd + 2);

    /* docs/privacy.md's first calibration row: a count over five parties at
     * the medium class's budget. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_COUNT, 1, 5, 1, 0, 0, 1.05, 5e-6), WARD_OK);
    CHECK_EQ_U64(p.count_sigma2_num, 4022543);
    CHECK_EQ_U64(p.count_sigma2_den, 1000000);
    CHECK(fabs(p.rho - 0.0310748698) < 1e-9);

    /* A mean spends half on its sums and half on its counts. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_MEAN, 24, 4, 1, 0, 500, 0.8, 1e-6), WARD_OK);
    double target, r1, r2;
    CHECK_RC(ward_dp_cdp_rho(&target, 0.8, 1e-6), WARD_OK);
    CHECK_RC(ward_dp_ddg_rho(&r1, p.sigma2_num, p.sigma2_den, 500, 3), WARD_OK);
    CHECK_RC(ward_dp_ddg_rho(&r2, p.count_sigma2_num, p.count_sigma2_den, 1, 3), WARD_OK);
    CHECK(r1 <= target / 2 && r2 <= target / 2);
    CHECK(r1 > target / 2 * 0.999 && r2 > target / 2 * 0.999);
    CHECK(p.rho >= r1 + r2 && p.rho <= target);
    CHECK_EQ_U64(ward_dp_plan_len(&p), 48);
    /* One step less noise would miss the half allowance. */
    CHECK_RC(ward_dp_ddg_rho(&r1, p.sigma2_num - 1, p.sigma2_den, 500, 3), WARD_OK);
    CHECK(r1 > target / 2);

    /* A histogram: one unit per row, 24 groups. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_HISTOGRAM, 24, 2, 1, 0, 0, 0.5, 1e-5), WARD_OK);
    CHECK(p.count_sd > 0 && p.value_sd == 0 && p.sigma2_num == 0);

    /* Bad input: nothing planned. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, NAN, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, -1, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, 0, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, INFINITY, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, 1, 0), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, 1, 1), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 10, 1, NAN), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 1, 10, 1, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, -10, -1, 1, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, 0, 1, 1e-5), WARD_EINVAL);
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 3, 0, 10, 1, 1e-5), WARD_EINVAL);
    /* Bounds so wide that the noise leaves the sampler's range. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 1, 3, 1, 0, WARD_DP_MAX_BOUND, 1e-6, 1e-9),
             WARD_EOVERFLOW);

    /* A party's check of a received plan. */
    char why[200];
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_SUM, 3, 3, 1, -5, 10, 1.0, 1e-5), WARD_OK);
    ward_dp_plan q = p;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_OK);
    CHECK(q.rho == p.rho);
    q = p;
    q.sigma2_num -= 1000; /* less noise than epsilon allows */
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    CHECK(strstr(why, "more than its epsilon") != NULL);
    q = p;
    q.epsilon = 0.5; /* a stated epsilon below what the noise gives */
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    q = p;
    q.count_sigma2_num = 5;
    q.count_sigma2_den = 1;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    q = p;
    q.sigma2_den = 0;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    q = p;
    q.lower = 1;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    CHECK(strstr(why, "contain 0") != NULL);
    q = p;
    q.colluding = 3;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    q = p;
    q.delta = -1e-5;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    q = p;
    q.epsilon = NAN;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);

    /* A person with up to K rows: the noise covers K rows at once, so at the
     * same epsilon sigma grows K times (sigma^2 K^2 times, to the
     * calibration's resolution), for sums and counts alike; the same noise
     * claimed for one row costs K^2 less, and for more rows than it was
     * planned for it costs more than its epsilon. */
    ward_dp_plan one, four;
    CHECK_RC(ward_dp_plan_make(&one, WARD_DP_REL_MEAN, 3, 3, 1, -5, 10, 1.0, 1e-5), WARD_OK);
    CHECK_RC(ward_dp_plan_make_persons(&four, WARD_DP_REL_MEAN, 3, 3, 1, -5, 10, 1.0, 1e-5, 4), WARD_OK);
    CHECK(one.rows_per_person == 1 && four.rows_per_person == 4);
    double k1 = (double)one.sigma2_num / (double)one.sigma2_den;
    double k4 = (double)four.sigma2_num / (double)four.sigma2_den;
    CHECK(fabs(k4 / k1 - 16) < 1e-4);
    k1 = (double)one.count_sigma2_num / (double)one.count_sigma2_den;
    k4 = (double)four.count_sigma2_num / (double)four.count_sigma2_den;
    CHECK(fabs(k4 / k1 - 16) < 1e-3);
    CHECK(four.sensitivity == one.sensitivity); /* D per row: the wrap check's */
    CHECK(fabs(four.rho - one.rho) < 1e-3 * one.rho); /* both spend the same epsilon */
    q = four;
    q.rows_per_person = 1;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_OK);
    CHECK(q.rho < four.rho / 15);
    q = four;
    q.rows_per_person = 5;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    CHECK(strstr(why, "more than its epsilon") != NULL);
    q = four;
    q.rows_per_person = WARD_DP_MAX_ROWS_PER_PERSON + 1;
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_EINVAL);
    CHECK(strstr(why, "rows per person") != NULL);
    q = one;
    q.rows_per_person = 0; /* read as one row */
    CHECK_RC(ward_dp_plan_check(&q, why, sizeof why), WARD_OK);
    CHECK(q.rho == one.rho);

    /* The noise: each kind of coordinate with its own sigma. A mean with
     * very different sigmas on sums and counts tells them apart. */
    CHECK_RC(ward_dp_plan_make(&p, WARD_DP_REL_MEAN, 2000, 2, 1, 0, 100, 1.0, 1e-5), WARD_OK);
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 42), WARD_OK);
    size_t len = ward_dp_plan_len(&p);
    int64_t *noise = calloc(len, sizeof *noise);
    CHECK_RC(ward_dp_plan_noise_var(&p, &rng, noise, len), WARD_OK);
    double v1 = 0, v2 = 0;
    for (size_t i = 0; i < 2000; i++) {
        v1 += (double)noise[i] * (double)noise[i];
        v2 += (double)noise[2000 + i] * (double)noise[2000 + i];
    }
    v1 /= 2000;
    v2 /= 2000;
    double s1 = (double)p.sigma2_num / (double)p.sigma2_den;
    double s2 = (double)p.count_sigma2_num / (double)p.count_sigma2_den;
    /* 2000 samples: the variance estimate is within 15% with probability
     * above 1 - 1e-8 (its relative sd is about sqrt(2/2000) = 3.2%). */
    CHECK(v1 > 0.85 * s1 && v1 < 1.15 * s1);
    CHECK(v2 > 0.85 * s2 && v2 < 1.15 * s2);
    CHECK(s1 > 1000 * s2); /* the power of the check above */
    CHECK_RC(ward_dp_plan_noise_var(&p, &rng, noise, len - 1), WARD_EINVAL);
    free(noise);
    ward_rng_clear(&rng);
}

/* ---- the allocator ------------------------------------------------------------- */

static void test_allocator(void) {
    const double C = 0.031074869;
    ward_alloc_result r;
    ward_alloc_input in = {C, 0, 0, 1, 0, 0};
    /* A fresh table alone in its class: a quarter of the class. */
    CHECK_RC(ward_alloc_choose(&r, &in, WARD_IMPORTANCE_NORMAL), WARD_OK);
    CHECK(r.rho <= C / 4 && r.rho > C / 4 * (1 - 1e-12));
    CHECK(r.entitlement <= C * (1 + 1e-15));
    /* Importance orders the choice. */
    ward_alloc_result lo, hi;
    CHECK_RC(ward_alloc_choose(&lo, &in, WARD_IMPORTANCE_LOW), WARD_OK);
    CHECK_RC(ward_alloc_choose(&hi, &in, WARD_IMPORTANCE_HIGH), WARD_OK);
    CHECK(lo.rho < r.rho && r.rho < hi.rho);
    /* A table asked often gets a smaller slice per query. */
    ward_alloc_input busy = {C, 0.01, 0.005, 2, 20, 30};
    ward_alloc_input calm = {C, 0.01, 0.005, 2, 2, 30};
    ward_alloc_result rb, rc2;
    CHECK_RC(ward_alloc_choose(&rb, &busy, WARD_IMPORTANCE_NORMAL), WARD_OK);
    CHECK_RC(ward_alloc_choose(&rc2, &calm, WARD_IMPORTANCE_NORMAL), WARD_OK);
    CHECK(rb.rho / rb.available < rc2.rho / rc2.available);

    /* Never beyond the class: random queries on 4 tables until every one
     * is refused, and each table keeps at least C/(2k) for itself. */
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 7), WARD_OK);
    enum { K = 4, HIST = WARD_ALLOC_WINDOW };
    double spent = 0, tab[K] = {0};
    int recent[HIST];
    size_t nrec = 0, queries = 0, refused_in_a_row = 0;
    int over = 0, negative = 0;
    while (refused_in_a_row < 200 && queries < 100000) {
        /* table 0 is asked 85% of the time */
        int t = ward_rng_uniform(&rng, 100) < 85 ? 0 : 1 + (int)ward_rng_uniform(&rng, K - 1);
        ward_importance imp = (ward_importance)ward_rng_uniform(&rng, 3);
        ward_alloc_input x = {C, spent, tab[t], K, 0, (uint32_t)(nrec < HIST ? nrec : HIST)};
        for (size_t i = 0; i < x.recent_class; i++) x.recent_table += recent[(nrec - 1 - i) % HIST] == t;
        int rc = ward_alloc_choose(&r, &x, imp);
        queries++;
        if (rc == WARD_EOVERFLOW) {
            refused_in_a_row++;
            continue;
        }
        CHECK_RC(rc, WARD_OK);
        refused_in_a_row = 0;
        negative |= !(r.rho > 0);
        spent += r.rho;
        tab[t] += r.rho;
        over |= spent > C;
        recent[nrec % HIST] = t;
        nrec++;
    }
    CHECK(!over && !negative);
    CHECK(spent > 0.9 * C); /* the budget does get used */
    CHECK(nrec > 100);

    /* Starvation: table A is asked until the allocator refuses it; table B
     * then still gets a useful share, again and again. */
    double s = 0, a_spent = 0;
    uint32_t q_a = 0;
    size_t a_queries = 0;
    for (;;) {
        ward_alloc_input x = {C, s, a_spent, 3, q_a, q_a};
        if (ward_alloc_choose(&r, &x, WARD_IMPORTANCE_HIGH) != WARD_OK) break;
        s += r.rho;
        a_spent += r.rho;
        if (q_a < WARD_ALLOC_WINDOW) q_a++;
        a_queries++;
    }
    CHECK(a_queries > 50);
    CHECK(s <= C);
    ward_alloc_input xb = {C, s, 0, 3, 0, WARD_ALLOC_WINDOW};
    CHECK_RC(ward_alloc_choose(&r, &xb, WARD_IMPORTANCE_NORMAL), WARD_OK);
    CHECK(r.rho >= C / (2 * 3) / (1 + 3) * (1 - 1e-9));
    double b_spent = 0;
    size_t b_queries = 0;
    for (uint32_t qb = 0; b_queries < 20; b_queries++) {
        ward_alloc_input x = {C, s, b_spent, 3, qb, WARD_ALLOC_WINDOW};
        if (ward_alloc_choose(&r, &x, WARD_IMPORTANCE_NORMAL) != WARD_OK) break;
        s += r.rho;
        b_spent += r.rho;
        qb++;
    }
    CHECK_EQ_U64(b_queries, 20);
    CHECK(s <= C);

    /* Bad input. */
    ward_alloc_input bad = in;
    bad.tables = 0;
    CHECK_RC(ward_alloc_choose(&r, &bad, WARD_IMPORTANCE_NORMAL), WARD_EINVAL);
    bad = in;
    bad.class_spent = NAN;
    CHECK_RC(ward_alloc_choose(&r, &bad, WARD_IMPORTANCE_NORMAL), WARD_EINVAL);
    bad = in;
    bad.class_total = -1;
    CHECK_RC(ward_alloc_choose(&r, &bad, WARD_IMPORTANCE_NORMAL), WARD_EINVAL);
    bad = in;
    bad.recent_table = 3;
    CHECK_RC(ward_alloc_choose(&r, &bad, WARD_IMPORTANCE_NORMAL), WARD_EINVAL);
    CHECK_RC(ward_alloc_choose(&r, &in, (ward_importance)7), WARD_EINVAL);
    ward_rng_clear(&rng);
}

/* ---- the ledger ---------------------------------------------------------------- */

static void sql(const char *path, const char *text) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "sql: %s\n", err ? err : "?");
    CHECK(rc == SQLITE_OK);
    sqlite3_free(err);
    sqlite3_close(db);
}

static uint64_t audit_entries(ward_store *st) {
    uint64_t seq;
    uint8_t h[32];
    CHECK_RC(ward_audit_head(st, &seq, h), WARD_OK);
    return seq;
}

static void fresh(char *path, size_t cap, const char *name) {
    snprintf(path, cap, "%s/%s.db", dir, name);
    unlink(path);
}

static void test_ledger(void) {
    char path[300];
    fresh(path, sizeof path, "l1");
    ward_store st;
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    ward_ledger l;
    CHECK_RC(ward_ledger_open(&l, &st), WARD_OK);
    CHECK(ward_ledger_problem(&l) == NULL);
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_MEDIUM) == 0);

    const double lim = 0.031;
    ward_ledger_spend a = {"aa01", "trips", WARD_DP_CLASS_MEDIUM, 0.01, 0.6, 5e-6};
    ward_ledger_spend b = {"aa02", "trips", WARD_DP_CLASS_MEDIUM, 0.015, 0.7, 5e-6};
    ward_ledger_spend c = {"aa03", "parking", WARD_DP_CLASS_MEDIUM, 0.004, 0.3, 5e-6};
    ward_ledger_spend h = {"aa04", "places", WARD_DP_CLASS_HIGH, 0.002, 0.2, 3e-6};
    uint64_t seq = 0;
    /* Clocks that jump backwards change nothing: order is by sequence. */
    CHECK_RC(ward_ledger_debit(&l, &seq, &a, lim, 5000), WARD_OK);
    CHECK_EQ_U64(seq, 1);
    CHECK_RC(ward_ledger_debit(&l, &seq, &b, lim, 1000), WARD_OK);
    CHECK_RC(ward_ledger_debit(&l, &seq, &c, lim, -7), WARD_OK);
    CHECK_RC(ward_ledger_debit(&l, &seq, &h, 0.0114, 0), WARD_OK);
    CHECK_EQ_U64(seq, 4);
    double m = ward_ledger_spent(&l, WARD_DP_CLASS_MEDIUM);
    CHECK(m >= 0.029 && m < 0.029 * (1 + 1e-12));
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_HIGH) >= 0.002);
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_LOW) == 0);

    /* A session releases once. */
    uint64_t before = audit_entries(&st);
    ward_ledger_spend again = a;
    again.rho = 0.0001;
    CHECK_RC(ward_ledger_debit(&l, &seq, &again, lim, 6000), WARD_ESTATE);
    CHECK(strstr(l.msg, "already charged") != NULL);
    /* Exhausted: refused, nothing written. */
    ward_ledger_spend d = {"aa05", "parking", WARD_DP_CLASS_MEDIUM, 0.0021, 0.3, 5e-6};
    CHECK_RC(ward_ledger_debit(&l, &seq, &d, lim, 6000), WARD_EOVERFLOW);
    CHECK(strstr(l.msg, "class medium") != NULL);
    CHECK_EQ_U64(audit_entries(&st), before);
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_MEDIUM) == m);
    /* Malformed spends. */
    ward_ledger_spend bad = d;
    bad.rho = NAN;
    CHECK_RC(ward_ledger_debit(&l, &seq, &bad, lim, 0), WARD_EINVAL);
    bad = d;
    bad.rho = -1;
    CHECK_RC(ward_ledger_debit(&l, &seq, &bad, lim, 0), WARD_EINVAL);
    bad = d;
    bad.session = "XYZ";
    CHECK_RC(ward_ledger_debit(&l, &seq, &bad, lim, 0), WARD_EINVAL);
    bad = d;
    bad.table = "no such; table";
    CHECK_RC(ward_ledger_debit(&l, &seq, &bad, lim, 0), WARD_EINVAL);

    /* Stats for the allocator. */
    ward_ledger_stats ts;
    CHECK_RC(ward_ledger_table_stats(&l, &ts, "trips", WARD_DP_CLASS_MEDIUM, 32), WARD_OK);
    CHECK_EQ_U64(ts.table_releases, 2);
    CHECK(fabs(ts.table_spent - 0.025) < 1e-15);
    CHECK_EQ_U64(ts.recent_table, 2);
    CHECK_EQ_U64(ts.recent_class, 3);
    CHECK_RC(ward_ledger_table_stats(&l, &ts, "trips", WARD_DP_CLASS_MEDIUM, 1), WARD_OK);
    CHECK_EQ_U64(ts.recent_table, 0);
    CHECK_EQ_U64(ts.recent_class, 1);

    /* Every spend is an audit entry; the chain verifies. */
    ward_audit_report rep;
    CHECK_RC(ward_audit_verify(&st, &rep), WARD_OK);
    CHECK(rep.intact);

    /* Reopened: the same totals, recomputed from the audit log. */
    CHECK_RC(ward_ledger_open(&l, &st), WARD_OK);
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_MEDIUM) == m);
    CHECK_EQ_U64(l.releases, 4);

    /* A full disk: the debit fails whole, nothing is charged. */
    uint64_t eff = 0;
    CHECK_RC(ward_store_limit_size(&st, &eff, 0), WARD_OK);
    for (int i = 0; i < 200; i++) {
        char sess[16];
        snprintf(sess, sizeof sess, "bb%04d", i);
        ward_ledger_spend f = {sess, "places", WARD_DP_CLASS_LOW, 1e-9, 0.01, 1e-6};
        int rc = ward_ledger_debit(&l, &seq, &f, 1, 0);
        if (rc != WARD_OK) {
            CHECK_RC(rc, WARD_EIO);
            break;
        }
    }
    double low = ward_ledger_spent(&l, WARD_DP_CLASS_LOW);
    ward_store_close(&st);
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    CHECK_RC(ward_ledger_open(&l, &st), WARD_OK);
    CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_LOW) == low);
    ward_store_close(&st);

    /* Tampering, each on a copy of the database. */
    const char *edits[] = {
        "UPDATE ward_ledger SET amount = amount / 2 WHERE seq = 2",
        "DELETE FROM ward_ledger WHERE seq = 3",
        "INSERT INTO ward_ledger VALUES (99, 'cc', 'trips', 'medium', 'rho', 0.5, 1, 1e-6, 999)",
        "UPDATE ward_ledger SET class = 'low' WHERE seq = 1",
        ("DROP TRIGGER ward_audit_no_update; UPDATE ward_audit SET details = "
         "replace(details, '\"rho\":0.01', '\"rho\":0.001') WHERE kind = 'spend'"),
        "DROP TABLE ward_ledger",
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char copy[320], cmd[700];
        snprintf(copy, sizeof copy, "%s/tamper%zu.db", dir, i);
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, copy);
        CHECK(system(cmd) == 0);
        sql(copy, edits[i]);
        memset(&st, 0, sizeof st);
        CHECK_RC(ward_store_open(&st, copy), WARD_OK);
        int rc = ward_ledger_open(&l, &st);
        CHECK_RC(rc, WARD_ESTATE);
        CHECK(ward_ledger_problem(&l) != NULL);
        if (rc != WARD_ESTATE) fprintf(stderr, "tamper %zu not detected\n", i);
        else if (i == 0) CHECK(strstr(l.problem, "ledger row 2") != NULL);
        else if (i == 1) CHECK(strstr(l.problem, "lacks") != NULL);
        else if (i == 4) CHECK(strstr(l.problem, "audit log is not intact") != NULL);
        /* The totals are the audit log's, and debits are refused. */
        ward_ledger_spend e = {"dd01", "trips", WARD_DP_CLASS_MEDIUM, 1e-6, 0.01, 1e-6};
        CHECK_RC(ward_ledger_debit(&l, &seq, &e, 1, 0), WARD_ESTATE);
        if (i != 4) CHECK(ward_ledger_spent(&l, WARD_DP_CLASS_MEDIUM) == m);
        ward_store_close(&st);
    }
}

/* ---- the clamped local query --------------------------------------------------- */

static void test_clamped(void) {
    char path[300], csv[300];
    fresh(path, sizeof path, "q1");
    snprintf(csv, sizeof csv, "%s/q.csv", dir);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("ts,v,d\n"
          "2024-01-01 08:10:00,-3,1.25\n"
          "2024-01-01 08:20:00,5,-1.35\n"
          "2024-01-01 09:00:00,12,0.04\n"
          "2024-01-01 09:30:00,7,NA\n"
          "2024-01-02 09:30:00,,2.50\n",
          f);
    fclose(f);
    ward_store st;
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.schema = "v:integer[-10,20],d:decimal(2)[-5,5],ts:timestamp";
    ward_import_report rep;
    CHECK_RC(ward_store_import(&st, &rep, "t", csv, &opt), WARD_OK);
    ward_agg_local *loc = malloc(sizeof *loc);
    /* Clamped to [-2, 6]: -2 + 5 + 6 + 6 = 15 over 4 values. */
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "v", "", "", NULL, 0, 0, -2, 6), WARD_OK);
    CHECK(loc->sums[0] == 15 && loc->counts[0] == 4 && loc->scale == 0);
    /* Unclamped: 21. */
    CHECK_RC(ward_store_aggregate(&st, loc, "t", "v", "", "", NULL, 0), WARD_OK);
    CHECK(loc->sums[0] == 21);
    /* Per hour: 8h: -2 + 5; 9h: 6 + 6. */
    ward_key_label *hours = calloc(WARD_AGG_MAX_GROUPS, sizeof *hours);
    size_t nh = 0;
    int open = 1;
    CHECK_RC(ward_store_default_domain(&st, hours, &nh, &open, "t", "hour(ts)"), WARD_OK);
    CHECK(nh == 24 && !open);
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "v", "", "hour(ts)", hours, nh, 0, -2, 6),
             WARD_OK);
    free(hours);
    CHECK(loc->n_groups == 24 && loc->sums[8] == 3 && loc->sums[9] == 12 && loc->sums[10] == 0);
    /* A decimal(2) column at scale 1, rounded half away from zero per row:
     * 1.25 -> 1.3, -1.35 -> -1.4, 0.04 -> 0.0, 2.50 -> 2.5 (13 - 14 + 0 + 25). */
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "d", "", "", NULL, 0, 1, -50, 50), WARD_OK);
    CHECK(loc->sums[0] == 24 && loc->counts[0] == 4 && loc->scale == 1);
    /* At scale 3, multiplied up exactly: 1250 - 1350 + 40 + 2500, clamped at 2000. */
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "d", "", "", NULL, 0, 3, -5000, 2000), WARD_OK);
    CHECK(loc->sums[0] == 1250 - 1350 + 40 + 2000);
    /* A filter still applies. */
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "v", "v > 0", "", NULL, 0, 0, -2, 6), WARD_OK);
    CHECK(loc->sums[0] == 17 && loc->counts[0] == 3);
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "v", "", "", NULL, 0, 0, 6, -2), WARD_EINVAL);

    /* Each person held to its first K rows (rows-per-person with a person
     * column): rider a has 1, 2, 3; b has 10; two rows have no rider (one
     * person, NULL): 4, 5. */
    snprintf(csv, sizeof csv, "%s/persons.csv", dir);
    f = fopen(csv, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("rider,v\na,1\na,2\nb,10\na,3\n,4\n,5\n", f);
        fclose(f);
    }
    memset(&opt, 0, sizeof opt);
    opt.schema = "rider:text,v:integer[0,20]";
    CHECK_RC(ward_store_import(&st, &rep, "p", csv, &opt), WARD_OK);
    ward_store_release rel;
    memset(&rel, 0, sizeof rel);
    rel.clamped = 1;
    rel.upper = 20;
    rel.person = "rider";
    rel.person_rows = 2;
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->sums[0] == 1 + 2 + 10 + 4 + 5 && loc->counts[0] == 5);
    rel.person_rows = 1;
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->sums[0] == 1 + 10 + 4 && loc->counts[0] == 3);
    /* The filter first, then each person's first rows of what it keeps. */
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "v > 1", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->sums[0] == 2 + 10 + 4 && loc->counts[0] == 3);
    /* Counts and histograms too; without a limit every row counts. */
    rel.clamped = 0;
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "", "", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->counts[0] == 3);
    rel.histogram = 1;
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->counts[0] == 3);
    rel.person = NULL;
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "", "", NULL, 0, &rel), WARD_OK);
    CHECK(loc->counts[0] == 6);
    rel.person = "passenger";
    CHECK_RC(ward_store_aggregate_release(&st, loc, "p", "v", "", "", NULL, 0, &rel), WARD_ENOTFOUND);
    CHECK(strstr(ward_store_errmsg(&st), "person column") != NULL);
    free(loc);
    ward_store_close(&st);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    test_plan();
    test_allocator();
    test_ledger();
    test_clamped();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("ledger");
}
