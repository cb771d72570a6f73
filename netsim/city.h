/* The data of a simulated city: real samples (tests/data, compiled in)
 * split across the nodes row by row, imported into each node's store, and
 * the plaintext answers the simulator checks exact results against.
 *
 * The answers are computed here from the CSV text, independently of the
 * SQL the nodes run: values parsed by this file, timestamps turned into
 * hour and weekday by civil-date arithmetic, filters evaluated in C.
 */
#ifndef WARD_CITY_H
#define WARD_CITY_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "sim.h"

#define WARD_CITY_TABLES 4
#define WARD_CITY_MAX_VALUES 3
#define WARD_CITY_MAX_GROUPS 32 /* 24 hours; the samples span at most 31 dates */
#define WARD_CITY_NAME_MAX 31
#define WARD_CITY_WHERE_MAX 95

typedef enum { WARD_CITY_SUM = 1, WARD_CITY_COUNT, WARD_CITY_MEAN, WARD_CITY_HISTOGRAM } ward_city_op;

typedef struct {
    const char *name;
    unsigned scale;          /* 0: integer; k: decimal(k) */
    double lower, upper;     /* the bounds declared at import (what a private
                                sum or mean clamps each row to), in units */
} ward_city_column;

typedef struct {
    const char *table;       /* the table in every node's store */
    const char *file;        /* the sample it comes from */
    const char *ts;          /* its timestamp column */
    ward_city_column values[WARD_CITY_MAX_VALUES];
    size_t n_values;
    const char *schema;      /* declared types for the import */
} ward_city_table_def;

extern const ward_city_table_def ward_city_defs[WARD_CITY_TABLES];

typedef struct {
    const ward_city_table_def *def;
    size_t n_rows;
    int64_t *v;              /* n_rows x n_values, scaled integers */
    uint8_t *isnull;         /* same shape */
    int8_t *hour, *wday;     /* per row; -1 when the timestamp is NULL */
    int8_t *date;            /* per row: index into dates, -1 when NULL */
    char dates[WARD_CITY_MAX_GROUPS][11]; /* the distinct dates, ascending */
    size_t n_dates;
    uint32_t *owner;         /* the node holding each row */
    char **line;             /* each row as written to its node's shard */
} ward_city_table;

typedef struct {
    size_t nodes;
    ward_city_table t[WARD_CITY_TABLES];
} ward_city;

/* A query as a session asks it. where: "" or one comparison
 * "COLUMN OP INTEGER" / "hour(TS) OP INTEGER" / "weekday(TS) OP INTEGER"
 * with OP one of > < >= <= = (the subset of the --where language whose
 * answer this file computes). */
typedef struct {
    ward_city_op op;
    char table[WARD_CITY_NAME_MAX + 1];
    char column[WARD_CITY_NAME_MAX + 1];
    char group_by[2 * WARD_CITY_NAME_MAX + 12];
    char where[WARD_CITY_WHERE_MAX + 1];
} ward_city_query;

typedef struct {
    int grouped;             /* 0: one value (present[0] says whether it exists) */
    size_t n_groups;
    char label[WARD_CITY_MAX_GROUPS][12];
    double value[WARD_CITY_MAX_GROUPS];
    int present[WARD_CITY_MAX_GROUPS];
    int64_t rows[WARD_CITY_MAX_GROUPS]; /* the rows counted in each group (for a
                                           sum or mean: those with a value) */
} ward_city_answer;

/* Checks a query against the city's tables; writes the reason on failure.
 * Returns 0 or WARD_EPARSE / WARD_ENOTFOUND. */
int ward_city_query_check(const ward_city_query *q, char *why, size_t why_cap);

/* Parses the samples and gives every row to a node drawn from rng.
 * Returns 0, WARD_ENOMEM, or WARD_EPARSE if a sample does not parse (a
 * build problem). Free with ward_city_free. */
int ward_city_load(ward_city *city, size_t nodes, ward_rng *rng);
void ward_city_free(ward_city *city);

/* Writes each node's rows as a CSV under dir and imports it into the
 * node's store with the declared schema. */
int ward_city_import(const ward_city *city, ward_sim *sim, const char *dir, char *why,
                     size_t why_cap);

/* The plaintext answer over the rows of the nodes with is_party[i] set,
 * computed the way the session computes its result (same scale, same
 * floating-point steps). */
int ward_city_answer_query(const ward_city *city, ward_city_answer *out, const ward_city_query *q,
                           const uint8_t *is_party);

/* Total rows per table, for reports. */
size_t ward_city_rows(const ward_city *city);

#endif
