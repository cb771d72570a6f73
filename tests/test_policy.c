#include "check.h"
#include "error.h"
#include "policy.h"

static void bad(const char *text, size_t line) {
    ward_policy p;
    size_t l = 0;
    char err[128];
    CHECK(ward_policy_parse(&p, &l, err, sizeof err, text, strlen(text)) != WARD_OK);
    CHECK_EQ_U64(l, line);
    CHECK(err[0] != '\0');
}

int main(void) {
    ward_policy p;
    size_t line;
    char err[128], why[256];
    const char *text = "# energy shares nothing with parking-north\n"
                       "exact yes\n"
                       "epsilon 1.5\n"
                       "delta 2e-6\n"
                       "deny parking-north * * *\n"
                       "allow transport,bikeshare trips ts,duration sum,count,histogram\n"
                       "allow * air * mean\n";
    CHECK_RC(ward_policy_parse(&p, &line, err, sizeof err, text, strlen(text)), WARD_OK);
    CHECK(p.exact == 1 && p.epsilon == 1.5 && p.delta == 2e-6 && p.n_rules == 3);
    CHECK(!ward_policy_allows(&p, why, sizeof why, "parking-north", "air", "no2", "mean"));
    CHECK(strstr(why, "line 5") != NULL);
    CHECK(ward_policy_allows(&p, why, sizeof why, "bikeshare", "trips", "duration", "sum"));
    CHECK(ward_policy_allows(&p, why, sizeof why, "bikeshare", "trips", "", "count"));
    CHECK(!ward_policy_allows(&p, why, sizeof why, "bikeshare", "trips", "fare", "sum"));
    CHECK(strstr(why, "no policy rule") != NULL);
    CHECK(!ward_policy_allows(&p, why, sizeof why, "bikeshare", "trips", "duration", "mean"));
    CHECK(ward_policy_allows(&p, why, sizeof why, "energy", "air", "no2", "mean"));
    CHECK(!ward_policy_allows(&p, why, sizeof why, "energy", "air", "no2", "sum"));

    /* The defaults: strict refuses exact results, permissive allows them;
     * both let every peer use every table. */
    ward_policy_default(&p, 0);
    CHECK(p.exact == 0 && p.epsilon == 2.1 && p.delta == 1e-5);
    CHECK(ward_policy_allows(&p, why, sizeof why, "x", "t", "c", "sum"));
    ward_policy_default(&p, 1);
    CHECK(p.exact == 1);

    bad("exact maybe\n", 1);
    bad("exact yes\nexact no\n", 2);
    bad("epsilon -1\n", 1);
    bad("epsilon nan\n", 1);
    bad("delta 1\n", 1);
    bad("\nallow * * *\n", 2);
    bad("allow * * * median\n", 1);
    bad("allow a,,b * * *\n", 1);
    bad("allow * * * * *\n", 1);
    bad("permit * * * *\n", 1);
    bad("allow 'x' * * *\n", 1);
    /* rows-per-person: the privacy unit of a table, 1 when not declared. */
    const char *persons = "rows-per-person trips 20\nrows-per-person air 1 # one reading\n"
                          "allow * * * *\n";
    CHECK_RC(ward_policy_parse(&p, &line, err, sizeof err, persons, strlen(persons)), WARD_OK);
    CHECK_EQ_U64(ward_policy_rows_per_person(&p, "trips"), 20);
    CHECK_EQ_U64(ward_policy_rows_per_person(&p, "air"), 1);
    CHECK_EQ_U64(ward_policy_rows_per_person(&p, "parking"), 1);
    CHECK_EQ_U64(ward_policy_rows_per_person(NULL, "trips"), 1);
    CHECK_EQ_U64(ward_policy_rows_per_person(&p, NULL), 1);
    bad("rows-per-person trips 0\n", 1);
    bad("rows-per-person trips 1000001\n", 1);
    bad("rows-per-person trips -3\n", 1);
    bad("rows-per-person trips 2x\n", 1);
    bad("rows-per-person trips\n", 1);
    bad("rows-per-person Trips 2\n", 1);
    bad("rows-per-person trips 2 Rider\n", 1);
    bad("rows-per-person trips 2 rider extra\n", 1);
    CHECK(ward_policy_person_column(&p, "trips") == NULL);
    const char *col = "rows-per-person trips 20 rider\n";
    CHECK_RC(ward_policy_parse(&p, &line, err, sizeof err, col, strlen(col)), WARD_OK);
    CHECK(ward_policy_person_column(&p, "trips") && strcmp(ward_policy_person_column(&p, "trips"), "rider") == 0);
    CHECK(ward_policy_person_column(&p, "air") == NULL);
    CHECK_EQ_U64(ward_policy_rows_per_person(&p, "trips"), 20);
    bad("exact no\nrows-per-person trips 2\nrows-per-person trips 3\n", 3);
    return check_done("policy");
}
