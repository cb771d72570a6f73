/* `ward selftest ...`: checks a build against published test vectors. */
#ifndef WARD_SELFTEST_H
#define WARD_SELFTEST_H

#include <stdio.h>

typedef struct {
    unsigned passed;
    unsigned failed;
    unsigned skipped;   /* vectors whose primitives ward does not implement */
} ward_selftest_counts;

/* Runs every vector of a Noise test-vector file (the JSON format of the
 * Noise wiki / cacophony). Writes one line per failure to `log` (may be
 * NULL), fills *counts. Returns 0 when the file was read and parsed (whatever
 * the counts), or a negative ward_err (WARD_EIO, WARD_EPARSE, ...). */
int ward_selftest_noise_vectors(ward_selftest_counts *counts, FILE *log,
                                const char *path);

#endif
