/* A minimal test harness. Each test program is its own process (run by
 * meson with a timeout); CHECK records a failure with its location and goes
 * on, so one run reports every broken assertion. The program's exit status
 * is non-zero when any check failed. */
#ifndef WARD_TEST_CHECK_H
#define WARD_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static long check_count;

#define CHECK(cond)                                                            \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,  \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
    do {                                                                       \
        uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);           \
        check_count++;                                                         \
        if (check_a_ != check_b_) {                                            \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%" PRIu64          \
                            " != %" PRIu64 ")\n",                              \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);           \
        }                                                                      \
    } while (0)

#define CHECK_RC(expr, want)                                                   \
    do {                                                                       \
        int check_rc_ = (expr);                                                \
        check_count++;                                                         \
        if (check_rc_ != (want)) {                                             \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: %s returned %d, wanted %d\n", __FILE__,    \
                    __LINE__, #expr, check_rc_, (int)(want));                  \
        }                                                                      \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Ends main(): prints a summary line and returns the exit status. */
static inline int check_done(const char *name) {
    printf("%s: %ld checks, %d failed\n", name, check_count, check_failures);
    return check_failures == 0 ? 0 : 1;
}

/* The directory holding ../shared/vectors or tests/vectors, from the
 * WARD_VECTORS environment variable that meson sets for every test. */
static inline const char *check_vectors_dir(void) {
    const char *d = getenv("WARD_VECTORS");
    return d ? d : "tests/vectors";
}

#endif
