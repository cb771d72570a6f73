/* A department's policy: which peers may use which tables and columns in
 * which computations, whether exact (non-DP) results may leave, and the
 * department's privacy budget (DECISIONS.md). A plain text file:
 *
 *     # who may use what; first matching rule wins, no match = refused
 *     exact no                 # may exact results leave? yes | no
 *     epsilon 2.1              # department total, split high 30% /
 *     delta 1e-5               #   medium 50% / low 20% by sensitivity class
 *     allow * * * *            # PEER TABLE COLUMNS OPS
 *     deny energy parking * *
 *
 * Where one person may own several rows of a table (the trips of one
 * rider), the department declares how many at most:
 *
 *     rows-per-person trips 20 rider   # TABLE K [COLUMN]: the privacy unit
 *                                      # of trips is a person with up to 20 rows
 *
 * Its private releases then cover K rows at once (docs/privacy.md, "A
 * person with several rows"); without the line a table's unit is one row.
 * With COLUMN, the column that names the person, the node also holds each
 * person to K rows (the first K) in every private release; without it the
 * bound is the department's word.
 *
 * PEER, TABLE, COLUMNS and OPS are each `*` or a comma-separated list
 * (OPS: sum, count, mean, histogram; max, argmax, threshold for the
 * decisions of node/session_decide.c; train for node/session_fl.c). A rule matches a use when every field
 * matches; `allow` accepts, `deny` refuses with the rule's line number.
 */
#ifndef WARD_POLICY_H
#define WARD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define WARD_POLICY_MAX_RULES 256
#define WARD_POLICY_MAX_PERSON_TABLES 64
#define WARD_POLICY_MAX_ROWS_PER_PERSON 1000000u

typedef struct {
    int allow;
    size_t line;
    char peers[256], tables[256], columns[512], ops[64]; /* "*" or comma lists */
} ward_policy_rule;

typedef struct {
    int exact;                 /* exact results may leave */
    double epsilon, delta;     /* department totals */
    size_t n_rules;
    ward_policy_rule rules[WARD_POLICY_MAX_RULES];
    size_t n_persons;          /* rows-per-person lines */
    struct {
        char table[64];
        uint32_t rows;         /* 1..WARD_POLICY_MAX_ROWS_PER_PERSON */
        char column[64];       /* the person column, "" when not declared */
    } persons[WARD_POLICY_MAX_PERSON_TABLES];
} ward_policy;

/* The defaults: strict (exact no, allow everything else) or, for a local
 * test city, permissive (exact yes). epsilon 2.1, delta 1e-5. */
void ward_policy_default(ward_policy *p, int permissive);

/* Parses policy text. On failure returns WARD_EPARSE / WARD_ETOOBIG with
 * *err_line and err (a reason) filled. */
int ward_policy_parse(ward_policy *p, size_t *err_line, char *err, size_t err_cap,
                      const char *text, size_t len);

/* The most rows one person may own in `table`: its rows-per-person line,
 * or 1 (also for a NULL policy). */
uint32_t ward_policy_rows_per_person(const ward_policy *p, const char *table);

/* The column that names a person in `table`, or NULL when none is
 * declared. */
const char *ward_policy_person_column(const ward_policy *p, const char *table);

/* The policy text ward_policy_default writes (for ward init / sim up). */
const char *ward_policy_default_text(int permissive);

/* May `peer` receive results computed with `op` over table.column?
 * column may be "" (a count). Returns 1 when allowed, 0 when not, with
 * why naming the rule (or "no rule allows it"). */
int ward_policy_allows(const ward_policy *p, char *why, size_t why_cap, const char *peer,
                       const char *table, const char *column, const char *op);

#endif
