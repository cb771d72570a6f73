/* Group-by keys (node/group_key.h) and the grouped local query
 * (node/store_query.h): parsing, canonical labels, declared domains, label
 * order, and per-group sums and counts checked against a brute-force
 * computation over random rows, for every kind of key, with a declared
 * domain and with the keys collected from the data. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "group_key.h"
#include "rng.h"
#include "store.h"
#include "store_query.h"

static char dir[] = "/tmp/ward-gkey-XXXXXX";

static void test_parse(void) {
    char err[200];
    ward_group_key k;
    CHECK_RC(ward_group_key_parse(&k, err, sizeof err, ""), WARD_OK);
    CHECK(k.n == 0);
    CHECK_RC(ward_group_key_parse(&k, err, sizeof err, " lot , hour(ts) "), WARD_OK);
    CHECK(k.n == 2 && k.part[0].fn == WARD_KEY_COLUMN && strcmp(k.part[0].column, "lot") == 0 &&
          k.part[1].fn == WARD_KEY_HOUR && strcmp(k.part[1].column, "ts") == 0 &&
          strcmp(k.part[1].text, "hour(ts)") == 0);
    CHECK_RC(ward_group_key_parse(&k, err, sizeof err, "bucket(fare, 2.5),date(ts),weekday(ts)"),
             WARD_OK);
    CHECK(k.n == 3 && k.part[0].fn == WARD_KEY_BUCKET && strcmp(k.part[0].width, "2.5") == 0 &&
          strcmp(k.part[0].column, "fare") == 0 && k.part[1].fn == WARD_KEY_DATE &&
          k.part[2].fn == WARD_KEY_WEEKDAY);
    const char *bad[] = {"hour(", "hour(ts", "minute(ts)", "bucket(fare)", "hour(ts, 3)",
                         "a,b,c,d", "a,,b", "hour(ts))", "x y", "hour()", "bucket(fare, )",
                         "\"x\"", "a/b", "hour((ts))"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ward_group_key_parse(&k, err, sizeof err, bad[i]);
        CHECK(rc == WARD_EPARSE);
        if (rc != WARD_EPARSE) fprintf(stderr, "  accepted '%s'\n", bad[i]);
    }
}

static void test_decimal_and_order(void) {
    char b[64];
    ward_key_decimal(b, sizeof b, 250, 2);
    CHECK(strcmp(b, "2.5") == 0);
    ward_key_decimal(b, sizeof b, -300, 2);
    CHECK(strcmp(b, "-3") == 0);
    ward_key_decimal(b, sizeof b, -5, 1);
    CHECK(strcmp(b, "-0.5") == 0);
    ward_key_decimal(b, sizeof b, 0, 3);
    CHECK(strcmp(b, "0") == 0);
    ward_key_decimal(b, sizeof b, 7, 0);
    CHECK(strcmp(b, "7") == 0);
    ward_key_decimal(b, sizeof b, 1001, 3);
    CHECK(strcmp(b, "1.001") == 0);
    CHECK(ward_group_label_cmp("2", "10") < 0);
    CHECK(ward_group_label_cmp("-1", "0.5") < 0);
    CHECK(ward_group_label_cmp("A/10", "A/9") > 0);
    CHECK(ward_group_label_cmp("A/10", "B/1") < 0);
    CHECK(ward_group_label_cmp("abc", "abd") < 0);
    CHECK(ward_group_label_cmp("2024-03-01", "2024-02-28") > 0);
    CHECK(ward_group_label_cmp("x", "x") == 0);
    CHECK(ward_group_label_cmp("x", "x/1") < 0);
}

/* A table with every column type the keys use. */
static ward_column_info cols[] = {
    {"lot", "lot", WARD_COLTYPE_TEXT, 0, 0, 0, 0, 0},
    {"ts", "ts", WARD_COLTYPE_TIMESTAMP, 0, 0, 0, 0, 0},
    {"n", "n", WARD_COLTYPE_INTEGER, 0, 1, 1, -10, 40},
    {"fare", "fare", WARD_COLTYPE_DECIMAL, 2, 1, 1, -500, 2000},
    {"open", "open", WARD_COLTYPE_DECIMAL, 1, 0, 0, 0, 0},
};
static ward_table_info tinfo = {"t", WARD_SENSITIVITY_MEDIUM, 0, 0, 0, 5, cols};

static int expand(ward_key_label *labels, size_t *n, int *open, const char *key,
                  const char *const *doms, size_t nd, char *err) {
    ward_group_key k;
    int rc = ward_group_key_parse(&k, err, 200, key);
    if (rc != WARD_OK) return rc;
    return ward_group_domain_expand(labels, n, open, WARD_KEY_MAX_GROUPS, err, 200, &k, &tinfo, doms,
                                    nd);
}

static void test_domains(void) {
    ward_key_label *l = calloc(WARD_KEY_MAX_GROUPS, sizeof *l);
    char err[200];
    size_t n;
    int open;
    CHECK_RC(expand(l, &n, &open, "", NULL, 0, err), WARD_OK);
    CHECK(n == 1 && !open && strcmp(l[0], "all") == 0);
    CHECK_RC(expand(l, &n, &open, "hour(ts)", NULL, 0, err), WARD_OK);
    CHECK(n == 24 && !open && strcmp(l[23], "23") == 0);
    CHECK_RC(expand(l, &n, &open, "lot", NULL, 0, err), WARD_OK);
    CHECK(n == 0 && open);
    const char *d1[] = {"B, A ,C"};
    CHECK_RC(expand(l, &n, &open, "lot", d1, 1, err), WARD_OK);
    CHECK(n == 3 && !open && strcmp(l[0], "B") == 0 && strcmp(l[1], "A") == 0);
    /* Compound: first part outermost; the unnamed --domain is the one part
     * without a fixed domain. */
    CHECK_RC(expand(l, &n, &open, "lot,weekday(ts)", d1, 1, err), WARD_OK);
    CHECK(n == 21 && strcmp(l[0], "B/0") == 0 && strcmp(l[6], "B/6") == 0 && strcmp(l[7], "A/0") == 0);
    const char *d2[] = {"weekday(ts)=1,2", "lot=X"};
    CHECK_RC(expand(l, &n, &open, "lot,weekday(ts)", d2, 2, err), WARD_OK);
    CHECK(n == 2 && strcmp(l[0], "X/1") == 0 && strcmp(l[1], "X/2") == 0);
    /* Dates: a range across a leap day; a day that does not exist. */
    const char *d3[] = {"2024-02-27..2024-03-01"};
    CHECK_RC(expand(l, &n, &open, "date(ts)", d3, 1, err), WARD_OK);
    CHECK(n == 4 && strcmp(l[2], "2024-02-29") == 0 && strcmp(l[3], "2024-03-01") == 0);
    const char *d4[] = {"2023-02-27..2023-02-29"};
    CHECK_RC(expand(l, &n, &open, "date(ts)", d4, 1, err), WARD_EPARSE);
    CHECK_RC(expand(l, &n, &open, "date(ts)", NULL, 0, err), WARD_OK);
    CHECK(open);
    /* Buckets: from the declared bounds [-5, 20] of fare (decimal(2)). */
    CHECK_RC(expand(l, &n, &open, "bucket(fare, 2.5)", NULL, 0, err), WARD_OK);
    CHECK(n == 11 && !open && strcmp(l[0], "-5") == 0 && strcmp(l[1], "-2.5") == 0 &&
          strcmp(l[10], "20") == 0);
    const char *d5[] = {"-1..7"};
    CHECK_RC(expand(l, &n, &open, "bucket(fare, 2.5)", d5, 1, err), WARD_OK);
    CHECK(n == 4 && strcmp(l[0], "-2.5") == 0 && strcmp(l[3], "5") == 0);
    CHECK_RC(expand(l, &n, &open, "bucket(fare, 0.001)", NULL, 0, err), WARD_EINVAL);
    CHECK_RC(expand(l, &n, &open, "bucket(fare, -1)", NULL, 0, err), WARD_EINVAL);
    CHECK_RC(expand(l, &n, &open, "bucket(lot, 1)", NULL, 0, err), WARD_EINVAL);
    CHECK_RC(expand(l, &n, &open, "bucket(open, 1)", NULL, 0, err), WARD_OK);
    CHECK(open); /* no declared bounds */
    /* Numbers are canonical, whatever the user wrote. */
    const char *d6[] = {"1.50,2,1.25"};
    CHECK_RC(expand(l, &n, &open, "open", d6, 1, err), WARD_EPARSE); /* 1.25: two decimals */
    const char *d7[] = {"1.50,2.0,03"};
    CHECK_RC(expand(l, &n, &open, "fare", d7, 1, err), WARD_OK);
    CHECK(n == 3 && strcmp(l[0], "1.5") == 0 && strcmp(l[1], "2") == 0 && strcmp(l[2], "3") == 0);
    /* Errors: duplicates, out of range, too many, ambiguous, unknown column. */
    const char *e1[] = {"A,B,A"};
    CHECK_RC(expand(l, &n, &open, "lot", e1, 1, err), WARD_EINVAL);
    const char *e2[] = {"24"};
    CHECK_RC(expand(l, &n, &open, "hour(ts)", e2, 1, err), WARD_EINVAL);
    const char *e3[] = {"0..2000"};
    CHECK_RC(expand(l, &n, &open, "n", e3, 1, err), WARD_ETOOBIG);
    const char *e4[] = {"1..50"};
    CHECK_RC(expand(l, &n, &open, "n,date(ts)", e4, 1, err), WARD_EINVAL);
    CHECK_RC(expand(l, &n, &open, "nope", NULL, 0, err), WARD_ENOTFOUND);
    CHECK_RC(expand(l, &n, &open, "hour(n)", NULL, 0, err), WARD_EINVAL);
    const char *e5[] = {"lot=A,B,C,D,E,F,G,H,I,J,K,L,M,N,O,P,Q,R,S,T,U,V,W,X,Y,Z,a,b,c,d,e,f,g,h,"
                        "i,j,k,l,m,n,o,p,q"};
    CHECK_RC(expand(l, &n, &open, "lot,hour(ts)", e5, 1, err), WARD_ETOOBIG); /* 43*24 > 1024 */
    const char *e6[] = {"A"};
    CHECK_RC(expand(l, &n, &open, "", e6, 1, err), WARD_EINVAL);
    free(l);
}

/* ---- the grouped query against brute force ---------------------------------- */

#define ROWS 600
typedef struct {
    int lot;        /* 0..4, or -1 for NULL */
    int day, hour;  /* 2024-02-26 + day (0..9), 0..23; day -1: NULL ts */
    long n;         /* -10..40 */
    long fare;      /* hundredths, -500..2500 (beyond the declared max sometimes) */
} row;

static const char *lots[] = {"north", "south", "Aarhus C", "east", "west"};

static void row_labels(const row *r, const char *key, char *out, size_t cap) {
    /* Mirrors the keys the test asks for. */
    static const char *dates[] = {"2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29",
                                  "2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04",
                                  "2024-03-05", "2024-03-06"};
    /* 2024-02-26 was a Monday. */
    int wd = (1 + r->day) % 7;
    char fb[32];
    long q = r->fare / 250;
    if (r->fare % 250 != 0 && r->fare < 0) q--;
    ward_key_decimal(fb, sizeof fb, q * 250, 2);
    if (strcmp(key, "lot") == 0) snprintf(out, cap, "%s", r->lot < 0 ? "" : lots[r->lot]);
    else if (strcmp(key, "hour(ts)") == 0) snprintf(out, cap, "%d", r->hour);
    else if (strcmp(key, "date(ts)") == 0) snprintf(out, cap, "%s", dates[r->day]);
    else if (strcmp(key, "bucket(fare, 2.5)") == 0) snprintf(out, cap, "%s", fb);
    else if (strcmp(key, "n") == 0) snprintf(out, cap, "%ld", r->n);
    else if (strcmp(key, "lot,weekday(ts)") == 0)
        snprintf(out, cap, "%s/%d", r->lot < 0 ? "" : lots[r->lot], wd);
    else snprintf(out, cap, "?");
}

static void test_query(void) {
    ward_rng rng;
    uint8_t seed[32] = {7};
    ward_rng_init_seeded(&rng, seed);
    row *rows = calloc(ROWS, sizeof *rows);
    char path[300], csv[300];
    snprintf(csv, sizeof csv, "%s/t.csv", dir);
    snprintf(path, sizeof path, "%s/t.db", dir);
    CHECK(rows != NULL);
    if (!rows) return;
    for (size_t i = 0; i < ROWS; i++) {
        row *r = &rows[i];
        r->lot = (int)ward_rng_uniform(&rng, 6) - 1;
        r->day = (int)ward_rng_uniform(&rng, 10);
        r->hour = (int)ward_rng_uniform(&rng, 24);
        r->n = (long)ward_rng_uniform(&rng, 51) - 10;
        r->fare = (long)ward_rng_uniform(&rng, 3001) - 500;
    }
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("lot,ts,n,fare\n", f);
    for (size_t i = 0; i < ROWS; i++) {
        row *r = &rows[i];
        fprintf(f, "%s,2024-%02d-%02d %02d:%02d:00,%ld,%s%ld.%02ld\n",
                r->lot < 0 ? "" : lots[r->lot], r->day < 4 ? 2 : 3,
                r->day < 4 ? 26 + r->day : r->day - 3, r->hour, (int)(i % 60), r->n,
                r->fare < 0 ? "-" : "", labs(r->fare) / 100, labs(r->fare) % 100);
    }
    fclose(f);
    ward_store st;
    memset(&st, 0, sizeof st);
    CHECK_RC(ward_store_open(&st, path), WARD_OK);
    ward_import_options opt;
    memset(&opt, 0, sizeof opt);
    opt.schema = "lot:text,ts:timestamp,n:integer[-10,40],fare:decimal(2)[-5,25]";
    ward_import_report rep;
    CHECK_RC(ward_store_import(&st, &rep, "t", csv, &opt), WARD_OK);
    if (rep.message[0]) fprintf(stderr, "  import: %s\n", rep.message);

    const char *keys[] = {"lot", "hour(ts)", "date(ts)", "bucket(fare, 2.5)", "n", "lot,weekday(ts)"};
    ward_agg_local *loc = malloc(sizeof *loc);
    ward_key_label *dom = calloc(WARD_KEY_MAX_GROUPS, sizeof *dom);
    for (size_t ki = 0; ki < sizeof keys / sizeof keys[0]; ki++) {
        /* Collected from the data: every label present, with its sums. */
        CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", keys[ki], NULL, 0), WARD_OK);
        size_t seen = 0;
        for (size_t g = 0; g < loc->n_groups; g++) {
            int64_t sum = 0, cnt = 0;
            for (size_t i = 0; i < ROWS; i++) {
                char lab[96];
                row_labels(&rows[i], keys[ki], lab, sizeof lab);
                if (rows[i].lot < 0 && strncmp(keys[ki], "lot", 3) == 0) continue;
                if (strcmp(lab, loc->labels[g]) == 0) {
                    sum += rows[i].n;
                    cnt++;
                }
            }
            CHECK(cnt > 0 && sum == loc->sums[g] && cnt == loc->counts[g]);
            if (!(cnt > 0 && sum == loc->sums[g] && cnt == loc->counts[g]))
                fprintf(stderr, "  key %s group %s: %lld/%lld vs %lld/%lld\n", keys[ki],
                        loc->labels[g], (long long)loc->sums[g], (long long)loc->counts[g],
                        (long long)sum, (long long)cnt);
            seen += (size_t)cnt;
        }
        size_t want = 0;
        for (size_t i = 0; i < ROWS; i++) want += !(rows[i].lot < 0 && strncmp(keys[ki], "lot", 3) == 0);
        CHECK_EQ_U64(seen, want); /* every row landed in some group */
        /* With a declared domain: the data's labels reversed plus one that
         * no row has, so order and empty groups are checked too. */
        size_t nd = 0;
        for (size_t g = loc->n_groups; g-- > 0 && nd < WARD_KEY_MAX_GROUPS - 1;)
            if (g % 2 == 0) snprintf(dom[nd++], WARD_KEY_LABEL_MAX, "%s", loc->labels[g]);
        snprintf(dom[nd++], WARD_KEY_LABEL_MAX, "no such label");
        ward_agg_local *all = malloc(sizeof *all);
        memcpy(all, loc, sizeof *all);
        CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", keys[ki], dom, nd), WARD_OK);
        CHECK(loc->n_groups == nd);
        for (size_t g = 0; g < nd; g++) {
            CHECK(strcmp(loc->labels[g], dom[g]) == 0);
            int64_t s = 0, c = 0;
            for (size_t h = 0; h < all->n_groups; h++)
                if (strcmp(all->labels[h], dom[g]) == 0) {
                    s = all->sums[h];
                    c = all->counts[h];
                }
            CHECK(loc->sums[g] == s && loc->counts[g] == c);
        }
        free(all);
    }
    /* The direct path (hour over 0..23 in order) agrees with the general
     * one (the same domain in another order). */
    size_t n;
    int open;
    CHECK_RC(ward_store_default_domain(&st, dom, &n, &open, "t", "hour(ts)"), WARD_OK);
    CHECK(n == 24 && !open);
    CHECK_RC(ward_store_aggregate_clamped(&st, loc, "t", "fare", "n > 0", "hour(ts)", dom, n, 2, -500,
                                          2000),
             WARD_OK);
    ward_agg_local *rev = malloc(sizeof *rev);
    ward_key_label *rdom = calloc(24, sizeof *rdom);
    for (size_t g = 0; g < 24; g++) memcpy(rdom[g], dom[23 - g], sizeof rdom[g]);
    CHECK_RC(ward_store_aggregate_clamped(&st, rev, "t", "fare", "n > 0", "hour(ts)", rdom, 24, 2,
                                          -500, 2000),
             WARD_OK);
    for (size_t g = 0; g < 24; g++)
        CHECK(loc->sums[g] == rev->sums[23 - g] && loc->counts[g] == rev->counts[23 - g]);
    int64_t want = 0;
    for (size_t i = 0; i < ROWS; i++)
        if (rows[i].n > 0 && rows[i].hour == 5) want += rows[i].fare > 2000 ? 2000 : rows[i].fare;
    CHECK(loc->sums[5] == want);
    /* Errors. */
    CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", "hour(lot)", NULL, 0), WARD_EINVAL);
    CHECK(strstr(ward_store_errmsg(&st), "not a timestamp") != NULL);
    CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", "nope", NULL, 0), WARD_ENOTFOUND);
    CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", "minute(ts)", NULL, 0), WARD_EPARSE);
    memcpy(dom[1], dom[0], sizeof dom[1]);
    CHECK_RC(ward_store_aggregate(&st, loc, "t", "n", "", "hour(ts)", dom, 2), WARD_EINVAL);
    /* More than 1024 keys in the data: a clear refusal, not a truncation. */
    FILE *g = fopen(csv, "w");
    fputs("k,v\n", g);
    for (int i = 0; i < 1100; i++) fprintf(g, "k%d,1\n", i);
    fclose(g);
    memset(&opt, 0, sizeof opt);
    CHECK_RC(ward_store_import(&st, &rep, "wide", csv, &opt), WARD_OK);
    CHECK_RC(ward_store_aggregate(&st, loc, "wide", "v", "", "k", NULL, 0), WARD_ETOOBIG);
    CHECK(strstr(ward_store_errmsg(&st), "declare a domain") != NULL);
    CHECK_RC(ward_store_aggregate(&st, loc, "wide", "v", "v = 1 and k = 'k7'", "k", NULL, 0), WARD_OK);
    CHECK(loc->n_groups == 1 && strcmp(loc->labels[0], "k7") == 0 && loc->sums[0] == 1);
    free(rev);
    free(rdom);
    free(dom);
    free(loc);
    free(rows);
    ward_store_close(&st);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    test_parse();
    test_decimal_and_order();
    test_domains();
    test_query();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_done("group-key");
}
