/* The `--where` filter language, compiled to SQL with bound parameters.
 *
 *     expr    := and ( OR and )*
 *     and     := not ( AND not )*
 *     not     := NOT not | primary
 *     primary := '(' expr ')'
 *              | term ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) term
 *              | term IS [NOT] NULL
 *              | term [NOT] IN '(' literal ( ',' literal )* ')'
 *     term    := column | hour(column) | weekday(column) | date(column) | literal
 *     literal := number | 'text' (a quote inside text is written '')
 *
 * Keywords are case-insensitive. Column names must exist in the table (the
 * caller passes its columns); they reach the SQL only as quoted identifiers
 * copied from the table's own metadata, and every literal is a bound
 * parameter, so no text of the expression is ever pasted into SQL.
 * Numbers compared with a decimal column are scaled to the column's stored
 * scale (values are stored as integers times 10^k).
 */
#ifndef WARD_QUERY_EXPR_H
#define WARD_QUERY_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define WARD_EXPR_MAX_LEN 4096
#define WARD_EXPR_MAX_PARAMS 256

typedef enum { WARD_PARAM_INT = 1, WARD_PARAM_REAL, WARD_PARAM_TEXT } ward_param_type;

typedef struct {
    ward_param_type type;
    int64_t i;
    double r;
    char *text;          /* owned */
} ward_param;

typedef struct {
    char *sql;           /* owned; a boolean SQL expression with ? parameters */
    size_t n_params;
    ward_param params[WARD_EXPR_MAX_PARAMS];
    size_t err_pos;      /* on failure: byte offset of the problem */
    char err[128];       /* on failure: what is wrong */
} ward_expr;

/* Compiles `text` against the table's columns. Returns 0, WARD_EPARSE
 * (syntax; err and err_pos say where), WARD_ENOTFOUND (unknown column,
 * named in err), WARD_EINVAL (a function on a non-timestamp column, a
 * comparison of incompatible kinds), WARD_ETOOBIG (too long or too many
 * literals). Free with ward_expr_free() in every case. */
int ward_expr_compile(ward_expr *out, const char *text, const ward_table_info *table);

void ward_expr_free(ward_expr *e);

#endif
