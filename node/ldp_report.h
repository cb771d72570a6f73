/* One line of a local-DP report file (docs/privacy.md, "Local DP for
 * citizen-contributed data", report formats): the parser that `ward ldp
 * estimate` and the node's report import (store_ldp.h) share, and that
 * tests/fuzz/fuzz_ldp_report.c drives.
 *
 *   rr   the reported value, a decimal integer in [0, d)
 *   oue  exactly d characters '0' or '1', value 0 first
 *   olh  "SEED,VALUE": a 64-bit seed and the perturbed hash in [0, g)
 *
 * Digits only: no sign, no spaces, no leading '+', no empty field; a
 * number with leading zeros is accepted ("007" is 7) as strtoull would,
 * but one that does not fit 64 bits is not. The line is given without its
 * terminator (a trailing "\r" is the caller's to strip); a NUL byte inside
 * it is an error. Reports are public data: nothing here is secret.
 */
#ifndef WARD_LDP_REPORT_H
#define WARD_LDP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ldp.h"

/* The longest accepted rr or olh line ("SEED,VALUE": 20 + 1 + 10 digits,
 * with room for leading zeros). OUE lines are exactly d bytes. */
#define WARD_LDP_REPORT_MAX_SHORT 64

typedef struct {
    ward_ldp_mech mech;
    uint32_t d;   /* domain */
    uint32_t g;   /* OLH hash range (ward_ldp_olh_g), 0 otherwise */
} ward_ldp_format;

/* Fills *f for mech over [0, d) at eps. Returns 0 or WARD_EINVAL (eps not
 * in (0, WARD_LDP_MAX_EPSILON], d not in [2, WARD_LDP_MAX_DOMAIN], an
 * unknown mech). */
int ward_ldp_format_init(ward_ldp_format *f, ward_ldp_mech mech, double eps, uint32_t d);

/* "rr", "oue", "olh" (NULL for anything else), and back: WARD_EPARSE for
 * an unknown name. */
const char *ward_ldp_mech_name(ward_ldp_mech mech);
int ward_ldp_mech_parse(ward_ldp_mech *out, const char *name);

/* One parsed report. bits is caller memory of f->d bytes for OUE (each
 * set to 0 or 1), unused (may be NULL) otherwise. */
typedef struct {
    uint32_t y;      /* rr: the value; olh: the perturbed hash */
    uint64_t seed;   /* olh */
    uint8_t *bits;   /* oue */
} ward_ldp_report;

/* Parses line[0..len) as one report of format f into *r (r->bits must
 * point to f->d bytes for OUE). Returns 0, or WARD_EPARSE with a static
 * one-line reason in *why (may be NULL), naming what was expected.
 * WARD_EINVAL for misuse (NULL, OUE without bits). */
int ward_ldp_report_parse(ward_ldp_report *r, const char **why, const ward_ldp_format *f,
                          const char *line, size_t len);

/* Adds a parsed report to an estimator of the same format (ldp.h). */
int ward_ldp_report_add(ward_ldp_est *e, const ward_ldp_format *f, const ward_ldp_report *r);

#endif
