/* Fuzzes the policy parser (node/policy.h): a department edits this file,
 * so any bytes must give a policy or a clean error naming a line, and a
 * parsed policy must answer every question without reading outside its
 * rules: its totals are finite and in range, its rules' fields are
 * NUL-ended, its rows-per-person declarations in range and found again,
 * and ward_policy_allows gives 0 or 1 with a reason when it refuses. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ended(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ward_policy p;
    size_t line = 0;
    char err[256];
    err[0] = '\0';
    int rc = ward_policy_parse(&p, &line, err, sizeof err, (const char *)data, size);
    if (rc != WARD_OK) {
        if ((rc != WARD_EPARSE && rc != WARD_ETOOBIG) || err[0] == '\0') abort();
        return 0;
    }
    if (!(isfinite(p.epsilon) && p.epsilon > 0) || !(p.delta > 0 && p.delta < 1)) abort();
    if (p.n_rules > WARD_POLICY_MAX_RULES) abort();
    for (size_t i = 0; i < p.n_rules; i++) {
        const ward_policy_rule *r = &p.rules[i];
        if (!ended(r->peers, sizeof r->peers) || !ended(r->tables, sizeof r->tables) ||
            !ended(r->columns, sizeof r->columns) || !ended(r->ops, sizeof r->ops))
            abort();
    }
    if (p.n_persons > WARD_POLICY_MAX_PERSON_TABLES) abort();
    for (size_t i = 0; i < p.n_persons; i++) {
        if (!ended(p.persons[i].table, sizeof p.persons[i].table) ||
            !ended(p.persons[i].column, sizeof p.persons[i].column))
            abort();
        const char *pc = ward_policy_person_column(&p, p.persons[i].table);
        if ((pc == NULL) != (p.persons[i].column[0] == '\0')) abort();
        if (p.persons[i].rows < 1 || p.persons[i].rows > WARD_POLICY_MAX_ROWS_PER_PERSON) abort();
        if (ward_policy_rows_per_person(&p, p.persons[i].table) != p.persons[i].rows) abort();
    }
    static const char *const peers[] = {"transport", "energy", "*", ""};
    static const char *const tables[] = {"trips", "parking", "air"};
    static const char *const columns[] = {"", "occupied", "no2"};
    static const char *const ops[] = {"sum", "count", "mean", "histogram", "max", "train"};
    char why[256];
    for (size_t a = 0; a < 4; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t o = 0; o < 6; o++) {
                why[0] = '\0';
                int ok = ward_policy_allows(&p, why, sizeof why, peers[a], tables[b], columns[b], ops[o]);
                if (ok != 0 && ok != 1) abort();
                if (!ok && why[0] == '\0') abort();
            }
    return 0;
}
