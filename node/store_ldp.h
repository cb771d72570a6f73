/* Tables of local-DP reports in the node's store (docs/storage.md, "Local
 * DP report tables"; docs/privacy.md, "Local DP at the node").
 *
 * A report table is an ordinary table of the store (it is listed by
 * `ward tables`, has a sensitivity class and a row count), one row per
 * citizen report, with columns fixed by the mechanism:
 *
 *   rr   report INTEGER, declared [0, d-1]
 *   oue  report TEXT, the d characters '0'/'1' of the report
 *   olh  seed TEXT (the 64-bit seed, decimal), report INTEGER [0, g-1]
 *
 * and its mechanism, epsilon and domain are kept beside it in
 * ward_ldp_tables (created on first use; a row there is removed with its
 * table). Appending to a report table requires the same mechanism,
 * epsilon and domain; an import never mixes reports of different
 * parameters, since the estimator needs one (p, q) for all of them.
 *
 * Reports are public (each is eps-LDP on its own); nothing here is secret.
 */
#ifndef WARD_STORE_LDP_H
#define WARD_STORE_LDP_H

#include <stdint.h>

#include "ldp.h"
#include "store.h"

typedef struct {
    ward_ldp_mech mech;
    double epsilon;
    uint32_t domain;
    uint32_t g;          /* OLH hash range, 0 otherwise */
    uint64_t reports;    /* rows of the table */
    ward_sensitivity sensitivity;
} ward_ldp_table_info;

/* Imports the report file at path (one report per line, ldp_report.h)
 * into `table`, as one transaction (a savepoint inside a caller's
 * transaction): a new report table, or appended to an existing report
 * table of the same mechanism, epsilon and domain. Every line is checked;
 * on any error nothing changes and `report` lists the first
 * WARD_IMPORT_MAX_ERRORS errors with their 1-based line numbers, and the
 * total count. A file without any report is an error (line 0).
 * sensitivity DEFAULT: medium for a new table, the table's for an append
 * (another class is WARD_ESTATE, as for CSV imports).
 *
 * Returns 0; WARD_EPARSE (a malformed line, a bad table name, no
 * reports); WARD_ESTATE (the table exists and is not a report table of
 * these parameters, or is of another class); WARD_EINVAL (bad eps or d);
 * WARD_ENOTFOUND (no such file); WARD_EIO; WARD_ENOMEM. `report` is
 * filled in every case. */
int ward_store_ldp_import(ward_store *st, ward_import_report *report, const char *table,
                          const char *path, ward_ldp_mech mech, double eps, uint32_t d,
                          ward_sensitivity sensitivity, int64_t now_ms);

/* The parameters of a report table. WARD_ENOTFOUND when there is no such
 * table or it is not a report table (ward_store_errmsg says which). */
int ward_store_ldp_info(ward_store *st, ward_ldp_table_info *info, const char *table);

/* Adds every report of `table` to e, which the caller initialised with
 * the table's counts buffer, mechanism and epsilon (ward_ldp_est_init with
 * info's domain). Returns 0, WARD_ENOTFOUND, WARD_EINVAL (e does not match
 * the table), WARD_EPARSE (a stored row is not a valid report: the
 * database was altered; ward_store_errmsg names the row), WARD_EIO. */
int ward_store_ldp_counts(ward_store *st, ward_ldp_est *e, const char *table);

/* 1 when `table` is a report table (for ward_store_import, which refuses
 * to append CSV rows to one), 0 otherwise or when that cannot be read. */
int ward_store_ldp_is_report_table(ward_store *st, const char *table);

#endif
