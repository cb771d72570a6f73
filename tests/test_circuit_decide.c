/* The circuits of the many-department decisions (ward max | argmax |
 * threshold, docs/garbled-circuits.md): values held as two additive shares
 * mod 2^n, reconstructed inside the circuit and read as signed n-bit
 * integers. Checked against plain arithmetic on every pair of share vectors
 * at the smallest widths, on every value tuple of 3 parties x 4 bits (ties
 * included: the lowest index wins) under several share splits, on every
 * threshold that can make a difference, and on random and extreme 64-bit
 * values; AND counts as documented. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "circuit.h"
#include "circuit_build.h"
#include "error.h"
#include "rng.h"

enum { F_MAX, F_ARGMAX, F_THRESHOLD };

static uint64_t mask(size_t n) { return n >= 64 ? UINT64_MAX : (((uint64_t)1 << n) - 1); }

/* The signed value of the low n bits of v. */
static int64_t sext(uint64_t v, size_t n) {
    v &= mask(n);
    if (n < 64 && (v >> (n - 1)) & 1) v |= ~mask(n);
    return (int64_t)v;
}

/* Runs c on shares x[0..k), y[0..k) of n bits; returns the output as an
 * integer (its low output_bits bits). */
static uint64_t run(const ward_circuit *c, const uint64_t *x, const uint64_t *y, size_t k, size_t n) {
    uint8_t in[2 * 8 * 64], out[64];
    size_t off = 0;
    for (int s = 0; s < 2; s++)
        for (size_t j = 0; j < k; j++)
            for (size_t i = 0; i < n; i++) in[off++] = (uint8_t)(((s ? y : x)[j] >> i) & 1);
    if (c->input_bits != off || c->output_bits > 64) return UINT64_MAX;
    if (ward_circuit_eval_var(c, out, c->output_bits, in, off) != WARD_OK) return UINT64_MAX - 1;
    uint64_t r = 0;
    for (uint32_t i = 0; i < c->output_bits; i++) r |= (uint64_t)out[i] << i;
    return r;
}

/* Plain answer for values v[0..k) (already signed). */
static uint64_t reference(int f, const int64_t *v, size_t k, size_t n, int64_t t) {
    size_t best = 0;
    __int128 sum = 0;
    for (size_t j = 0; j < k; j++) {
        if (v[j] > v[best]) best = j; /* strict: the lowest index keeps a tie */
        sum += v[j];
    }
    if (f == F_MAX) return (uint64_t)v[best] & mask(n);
    if (f == F_ARGMAX) return best;
    return sum > t;
}

static int build(ward_circuit *c, int f, size_t k, size_t n, int64_t t) {
    if (f == F_MAX) return ward_circuit_build_shared_max(c, k, n);
    if (f == F_ARGMAX) return ward_circuit_build_shared_argmax(c, k, n);
    return ward_circuit_build_shared_threshold(c, k, n, t);
}

/* Every pair of share vectors (2kn bits in all). */
static void exhaustive_shares(int f, size_t k, size_t n, int64_t t) {
    ward_circuit c;
    CHECK_RC(build(&c, f, k, n, t), WARD_OK);
    uint64_t total = (uint64_t)1 << (2 * k * n), bad = 0;
    for (uint64_t a = 0; a < total; a++) {
        uint64_t x[8], y[8];
        int64_t v[8] = {0};
        for (size_t j = 0; j < k; j++) {
            x[j] = (a >> (j * n)) & mask(n);
            y[j] = (a >> ((k + j) * n)) & mask(n);
            v[j] = sext(x[j] + y[j], n);
        }
        if (run(&c, x, y, k, n) != reference(f, v, k, n, t)) bad++;
    }
    if (bad) fprintf(stderr, "  f=%d k=%zu n=%zu t=%lld: %llu of %llu wrong\n", f, k, n,
                     (long long)t, (unsigned long long)bad, (unsigned long long)total);
    CHECK_EQ_U64(bad, 0);
    ward_circuit_free(&c);
}

/* Every value tuple (kn bits), each under `splits` share splits: x = 0,
 * x = v, and random ones. */
static void exhaustive_values(ward_rng *rng, int f, size_t k, size_t n, int64_t t, int splits) {
    ward_circuit c;
    CHECK_RC(build(&c, f, k, n, t), WARD_OK);
    uint64_t total = (uint64_t)1 << (k * n), bad = 0;
    for (uint64_t a = 0; a < total; a++) {
        int64_t v[8] = {0};
        for (size_t j = 0; j < k; j++) v[j] = sext(a >> (j * n), n);
        uint64_t want = reference(f, v, k, n, t);
        for (int s = 0; s < splits; s++) {
            uint64_t x[8], y[8];
            for (size_t j = 0; j < k; j++) {
                x[j] = s == 0 ? 0 : s == 1 ? (uint64_t)v[j] & mask(n) : ward_rng_u64(rng) & mask(n);
                y[j] = ((uint64_t)v[j] - x[j]) & mask(n);
            }
            if (run(&c, x, y, k, n) != want) bad++;
        }
    }
    if (bad) fprintf(stderr, "  f=%d k=%zu n=%zu t=%lld: %llu wrong\n", f, k, n, (long long)t,
                     (unsigned long long)bad);
    CHECK_EQ_U64(bad, 0);
    ward_circuit_free(&c);
}

static void test_small(ward_rng *rng) {
    /* Every pair of share vectors. */
    static const size_t kn[][2] = {{1, 3}, {2, 3}, {3, 2}, {2, 4}, {4, 1}};
    for (size_t i = 0; i < sizeof kn / sizeof kn[0]; i++) {
        size_t k = kn[i][0], n = kn[i][1];
        exhaustive_shares(F_MAX, k, n, 0);
        exhaustive_shares(F_ARGMAX, k, n, 0);
        /* Every threshold from below the smallest sum to above the largest. */
        int64_t lo = -(int64_t)k * ((int64_t)1 << (n - 1)) - 2;
        int64_t hi = (int64_t)k * ((int64_t)1 << (n - 1)) + 1;
        for (int64_t t = lo; t <= hi; t++) exhaustive_shares(F_THRESHOLD, k, n, t);
    }
    /* 3 parties x 4 bits: every value tuple (4096, with every kind of tie). */
    exhaustive_values(rng, F_MAX, 3, 4, 0, 6);
    exhaustive_values(rng, F_ARGMAX, 3, 4, 0, 6);
    for (int64_t t = -26; t <= 23; t++) exhaustive_values(rng, F_THRESHOLD, 3, 4, t, 3);
    /* The extreme thresholds of a 64-bit int, on small widths: constants. */
    ward_circuit c;
    CHECK_RC(ward_circuit_build_shared_threshold(&c, 3, 4, INT64_MIN), WARD_OK);
    CHECK_EQ_U64(c.and_count, 0);
    uint64_t x[3] = {8, 8, 8}, y[3] = {0, 0, 0}; /* -8 each: the smallest sum */
    CHECK_EQ_U64(run(&c, x, y, 3, 4), 1);
    ward_circuit_free(&c);
    CHECK_RC(ward_circuit_build_shared_threshold(&c, 3, 4, INT64_MAX), WARD_OK);
    CHECK_EQ_U64(c.and_count, 0);
    uint64_t x2[3] = {7, 7, 7};
    CHECK_EQ_U64(run(&c, x2, y, 3, 4), 0);
    ward_circuit_free(&c);
}

static void test_wide(ward_rng *rng) {
    /* 64-bit values, as the node uses them: random, extreme and tied. */
    for (size_t k = 1; k <= 7; k++) {
        ward_circuit cm, ca, ct;
        int64_t t = (int64_t)(ward_rng_u64(rng) >> 4) - (INT64_MAX >> 4);
        CHECK_RC(ward_circuit_build_shared_max(&cm, k, 64), WARD_OK);
        CHECK_RC(ward_circuit_build_shared_argmax(&ca, k, 64), WARD_OK);
        CHECK_RC(ward_circuit_build_shared_threshold(&ct, k, 64, t), WARD_OK);
        /* AND gates: k additions of 63, then max 2n(k-1), argmax n(2k-3)+I. */
        CHECK_EQ_U64(cm.and_count, k * 63 + 2 * 64 * (k - 1));
        if (k >= 2) {
            uint64_t I = 0;
            for (size_t b = 0; b < ward_cb_index_bits(k); b++)
                if (k - 1 > ((size_t)1 << b)) I += k - 1 - ((size_t)1 << b);
            CHECK_EQ_U64(ca.and_count, k * 63 + 64 * (2 * k - 3) + I);
        }
        CHECK(ct.and_count <= k * 63 + k * 64 + 2 * ward_cb_sum_bits(k, 64));
        uint64_t bad = 0;
        for (int trial = 0; trial < 400; trial++) {
            int64_t v[8];
            uint64_t x[8], y[8];
            for (size_t j = 0; j < k; j++) {
                uint64_t r = ward_rng_u64(rng);
                switch (trial % 5) {
                case 0: v[j] = (int64_t)r; break;
                case 1: v[j] = (int64_t)(r % 7) - 3; break;               /* many ties */
                case 2: v[j] = (r & 1) ? INT64_MAX : INT64_MIN; break;    /* extremes */
                case 3: v[j] = (int64_t)(r >> 40) - (1 << 23); break;     /* small, signed */
                default: v[j] = t / (int64_t)k + (int64_t)(r % 5) - 2; break; /* near t */
                }
                x[j] = ward_rng_u64(rng);
                y[j] = (uint64_t)v[j] - x[j];
            }
            if (run(&cm, x, y, k, 64) != reference(F_MAX, v, k, 64, t)) bad++;
            if (run(&ca, x, y, k, 64) != reference(F_ARGMAX, v, k, 64, t)) bad++;
            if (run(&ct, x, y, k, 64) != reference(F_THRESHOLD, v, k, 64, t)) bad++;
        }
        CHECK_EQ_U64(bad, 0);
        ward_circuit_free(&cm);
        ward_circuit_free(&ca);
        ward_circuit_free(&ct);
    }
    /* Misuse. */
    ward_circuit c;
    CHECK_RC(ward_circuit_build_shared_max(&c, 0, 64), WARD_EINVAL);
    CHECK_RC(ward_circuit_build_shared_max(&c, 2, 65), WARD_EINVAL);
    CHECK_RC(ward_circuit_build_shared_argmax(NULL, 2, 8), WARD_EINVAL);
}

int main(void) {
    ward_rng rng;
    uint8_t seed[WARD_RNG_SEEDBYTES] = {42};
    ward_rng_init_seeded(&rng, seed);
    test_small(&rng);
    test_wide(&rng);
    ward_rng_clear(&rng);
    return check_done("circuit-decide");
}
