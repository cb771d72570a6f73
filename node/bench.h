/* Benchmarks: `ward bench NAME [--json] [--quick]`.
 *
 * A benchmark function measures and adds figures to a report; the driver
 * prints them, human-readable or as the JSON object of INTERFACE.md. Every
 * figure that has an anchor carries it: measured in the same run where the
 * anchor is a bound or a library on this machine, quoted (with its source in
 * `anchor`) where it is a published figure. Benchmarks never assert: they
 * measure and print.
 */
#ifndef WARD_BENCH_H
#define WARD_BENCH_H

#include <stddef.h>

#define WARD_BENCH_MAX_FIGURES 64

typedef struct {
    char name[64];
    double value;
    char unit[24];
    char anchor[96];      /* empty: no anchor */
    double anchor_value;
} ward_bench_figure;

typedef struct {
    const char *name;
    int quick;            /* smaller inputs, whole run well under a minute */
    size_t n_figures;
    ward_bench_figure figures[WARD_BENCH_MAX_FIGURES];
} ward_bench_report;

/* Adds a figure; anchor may be NULL (no anchor). Extra figures beyond
 * WARD_BENCH_MAX_FIGURES are dropped with a message on stderr. */
void ward_bench_add(ward_bench_report *r, const char *name, double value,
                    const char *unit, const char *anchor, double anchor_value);

/* Monotonic time in seconds, for measuring. */
double ward_bench_now(void);

/* A value the compiler cannot see through, to keep measured work alive. */
void ward_bench_sink(const void *p, size_t len);

/* The benchmarks. Each returns 0, or a negative ward_err if it could not
 * run (the driver prints the error). */
int ward_bench_noise(ward_bench_report *r);
int ward_bench_field(ward_bench_report *r);
int ward_bench_gc(ward_bench_report *r);
int ward_bench_ot(ward_bench_report *r);
int ward_bench_dp(ward_bench_report *r);
int ward_bench_agg(ward_bench_report *r);
int ward_bench_gc2pc(ward_bench_report *r);
int ward_bench_fl(ward_bench_report *r);

/* Registers a benchmark from a layer above node/ (netsim's `sim`, which
 * node/ must not link); main() calls it before ward_bench_main. Returns 0,
 * or WARD_ETOOBIG when the table of registered benchmarks is full. */
int ward_bench_register(const char *name, int (*fn)(ward_bench_report *), const char *what);

/* Entry point of `ward bench`; returns the process exit status. */
int ward_bench_main(int argc, char **argv);

#endif
