/* The adaptive allocator: how much of a class's privacy budget one query
 * gets when it names no epsilon (docs/privacy.md, "Allocation").
 *
 * Pure arithmetic on public numbers (the ledger's totals and counts, the
 * query's declared importance); no clock, no data. All amounts are zCDP
 * rho, the ledger's unit. With k tables in the class, C the class's
 * allowance, q_T the table's spends among the class's last
 * WARD_ALLOC_WINDOW spends and q the number of those spends:
 *
 *   share_T       = (q_T + 1) / (q + k)           smoothed query frequency
 *   entitlement_T = C (1/(2k) + share_T / 2)      sums to C over the class
 *   available_T   = min(entitlement_T - spent_T, C - spent_class), >= 0
 *   rho           = available_T * w / (w + 3 + q_T)
 *
 * with w = 1/2, 1, 2 for low, normal and high importance. A frequently
 * queried table gets a larger entitlement but a smaller slice per query (it
 * will be asked again soon); every table keeps at least C/(2k) of its own,
 * so a heavily queried table cannot starve the others; and the class total
 * is never exceeded, because rho <= C - spent_class. A choice below
 * WARD_ALLOC_MIN_FRACTION of C is refused: noise that large answers
 * nothing.
 */
#ifndef WARD_ALLOCATOR_H
#define WARD_ALLOCATOR_H

#include <stdint.h>

#define WARD_ALLOC_WINDOW 32
#define WARD_ALLOC_MIN_FRACTION 1e-6

typedef enum {
    WARD_IMPORTANCE_NORMAL = 0,
    WARD_IMPORTANCE_LOW = 1,
    WARD_IMPORTANCE_HIGH = 2
} ward_importance;

typedef struct {
    double class_total;      /* C: the class's allowance (rho) */
    double class_spent;      /* spent and reserved by sessions in flight */
    double table_spent;      /* this table's own spends */
    uint32_t tables;         /* k: tables of the class (>= 1) */
    uint32_t recent_table;   /* q_T: the table's spends among the last window */
    uint32_t recent_class;   /* q: spends in that window (<= WARD_ALLOC_WINDOW) */
} ward_alloc_input;

typedef struct {
    double rho;              /* the query's allowance */
    double entitlement;      /* entitlement_T */
    double available;        /* available_T */
} ward_alloc_result;

/* Chooses a query's rho. Returns 0; WARD_EINVAL for inputs out of range
 * (a non-finite or negative amount, k = 0, q_T > q, an unknown importance);
 * WARD_EOVERFLOW when what is available is below WARD_ALLOC_MIN_FRACTION of
 * the class total (the table's share, or the class, is used up); *out is
 * filled in both of the last cases so the caller can say how much is left. */
int ward_alloc_choose(ward_alloc_result *out, const ward_alloc_input *in, ward_importance imp);

/* "low", "normal", "high"; "?" otherwise. */
const char *ward_importance_name(ward_importance imp);

#endif
