/* The circuit builder: every built-in function agrees with plain arithmetic
 * on every input at small widths (and on random inputs at 64 bits), uses
 * the documented number of AND gates, and survives a trip through the
 * Bristol Fashion writer and parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "circuit.h"
#include "circuit_build.h"
#include "error.h"
#include "rng.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Evaluates c on integer inputs (widths <= 64); out[j] gets output j. */
static int eval_u64(const ward_circuit *c, uint64_t *out, const uint64_t *in) {
    uint8_t ib[4096], ob[4096];
    if (c->input_bits > sizeof ib || c->output_bits > sizeof ob) return WARD_EINVAL;
    size_t off = 0;
    for (uint32_t j = 0; j < c->ninputs; j++)
        for (uint32_t i = 0; i < c->input_widths[j]; i++, off++)
            ib[off] = (uint8_t)(i < 64 ? (in[j] >> i) & 1 : 0);
    int rc = ward_circuit_eval_var(c, ob, c->output_bits, ib, c->input_bits);
    if (rc != WARD_OK) return rc;
    off = 0;
    for (uint32_t j = 0; j < c->noutputs; j++) {
        out[j] = 0;
        for (uint32_t i = 0; i < c->output_widths[j]; i++, off++)
            if (i < 64) out[j] |= (uint64_t)ob[off] << i;
    }
    return WARD_OK;
}

static uint64_t mask(size_t n) { return n >= 64 ? UINT64_MAX : (((uint64_t)1 << n) - 1); }

static size_t bitlen(uint64_t v) {
    size_t l = 0;
    for (; v; v >>= 1) l++;
    return l;
}

static int same_circuit(const ward_circuit *a, const ward_circuit *b) {
    return a->ngates == b->ngates && a->nwires == b->nwires && a->ninputs == b->ninputs &&
           a->noutputs == b->noutputs && a->input_bits == b->input_bits &&
           a->output_bits == b->output_bits && a->and_count == b->and_count &&
           a->xor_count == b->xor_count && a->inv_count == b->inv_count &&
           a->eq_count == b->eq_count && a->eqw_count == b->eqw_count &&
           memcmp(a->input_widths, b->input_widths, a->ninputs * 4) == 0 &&
           memcmp(a->output_widths, b->output_widths, a->noutputs * 4) == 0 &&
           (a->ngates == 0 || memcmp(a->gates, b->gates, a->ngates * sizeof(ward_gate)) == 0);
}

/* Checks the Bristol Fashion layout rules a parser enforces, directly on
 * the structure, and that writing and parsing gives the same circuit. */
static int well_formed(const ward_circuit *c) {
    uint8_t *set = calloc(c->nwires, 1);
    int ok = set != NULL;
    uint32_t counts[5] = {0};
    for (uint32_t w = 0; ok && w < c->input_bits; w++) set[w] = 1;
    for (uint32_t i = 0; ok && i < c->ngates; i++) {
        const ward_gate *g = &c->gates[i];
        if (g->op > WARD_GATE_EQW || g->out >= c->nwires || set[g->out]) ok = 0;
        else if (g->op == WARD_GATE_EQ) ok = g->in0 <= 1;
        else {
            ok = g->in0 < c->nwires && set[g->in0];
            if (ok && (g->op == WARD_GATE_XOR || g->op == WARD_GATE_AND))
                ok = g->in1 < c->nwires && set[g->in1];
        }
        if (ok) {
            set[g->out] = 1;
            counts[g->op]++;
        }
    }
    for (uint32_t w = c->nwires - c->output_bits; ok && w < c->nwires; w++) ok = set[w];
    ok = ok && counts[WARD_GATE_AND] == c->and_count && counts[WARD_GATE_XOR] == c->xor_count &&
         counts[WARD_GATE_INV] == c->inv_count && counts[WARD_GATE_EQ] == c->eq_count &&
         counts[WARD_GATE_EQW] == c->eqw_count;
    free(set);
    if (!ok) return 0;
    size_t n = 0;
    if (ward_circuit_write_var(c, NULL, 0, &n) != WARD_OK) return 0;
    char *t = malloc(n ? n : 1);
    ward_circuit d;
    ward_circuit_error err;
    ok = t && ward_circuit_write_var(c, t, n, &n) == WARD_OK &&
         ward_circuit_parse_var(&d, &err, t, n) == WARD_OK;
    if (!ok && t) fprintf(stderr, "round trip: line %zu: %s\n", err.line, err.msg);
    if (ok) {
        ok = same_circuit(c, &d);
        ward_circuit_free(&d);
    }
    free(t);
    return ok;
}

/* ---- two-operand functions ------------------------------------------------- */

enum { F_ADD, F_SUB, F_LT, F_GT, F_EQ };
static const char *const fname[] = {"add", "sub", "lt", "gt", "eq"};

static int build2(ward_circuit *c, int f, size_t n) {
    switch (f) {
    case F_ADD: return ward_circuit_build_add(c, n);
    case F_SUB: return ward_circuit_build_sub(c, n);
    case F_LT: return ward_circuit_build_lt(c, n);
    case F_GT: return ward_circuit_build_gt(c, n);
    default: return ward_circuit_build_eq(c, n);
    }
}

static uint64_t ref2(int f, uint64_t x, uint64_t y, size_t n) {
    switch (f) {
    case F_ADD: return (x + y) & mask(n);
    case F_SUB: return (x - y) & mask(n);
    case F_LT: return x < y;
    case F_GT: return x > y;
    default: return x == y;
    }
}

static uint64_t ands2(int f, size_t n) {
    return (f == F_LT || f == F_GT) ? n : n - 1;
}

static void test_two_operand(void) {
    for (int f = F_ADD; f <= F_EQ; f++) {
        /* Exhaustive up to 6 bits (every pair). */
        for (size_t n = 1; n <= 6; n++) {
            ward_circuit c;
            CHECK_RC(build2(&c, f, n), WARD_OK);
            CHECK(well_formed(&c));
            CHECK_EQ_U64(c.and_count, ands2(f, n));
            int bad = 0;
            for (uint64_t x = 0; x <= mask(n); x++)
                for (uint64_t y = 0; y <= mask(n); y++) {
                    uint64_t in[2] = {x, y}, out = 0;
                    if (eval_u64(&c, &out, in) != WARD_OK || out != ref2(f, x, y, n)) bad++;
                }
            if (bad) fprintf(stderr, "%s n=%zu: %d pairs wrong\n", fname[f], n, bad);
            CHECK(bad == 0);
            ward_circuit_free(&c);
        }
        /* AND counts at larger widths, and random 64-bit inputs. */
        for (size_t n = 7; n <= 64; n += 19) {
            ward_circuit c;
            CHECK_RC(build2(&c, f, n), WARD_OK);
            CHECK_EQ_U64(c.and_count, ands2(f, n));
            ward_circuit_free(&c);
        }
        ward_circuit c;
        CHECK_RC(build2(&c, f, 64), WARD_OK);
        CHECK(well_formed(&c));
        printf("%s: n bits -> %s AND; 64 bits: %u AND, %u XOR, %u INV\n", fname[f],
               (f == F_LT || f == F_GT) ? "n" : "n-1", c.and_count, c.xor_count, c.inv_count);
        ward_rng rng;
        ward_rng_init_u64(&rng, 100 + (uint64_t)f);
        int bad = 0;
        for (int r = 0; r < 1000; r++) {
            uint64_t x = ward_rng_u64(&rng), y = ward_rng_u64(&rng);
            if (r % 4 == 0) y = x; /* equal values for eq and the comparisons */
            if (r % 8 == 1) y = x + 1;
            uint64_t in[2] = {x, y}, out = 0;
            if (eval_u64(&c, &out, in) != WARD_OK || out != ref2(f, x, y, 64)) bad++;
        }
        CHECK(bad == 0);
        ward_circuit_free(&c);
    }
    /* The built 64-bit adder is as lean as adder64.txt (63 AND). */
    ward_circuit c;
    CHECK_RC(ward_circuit_build_add(&c, 64), WARD_OK);
    CHECK_EQ_U64(c.and_count, 63);
    ward_circuit_free(&c);
}

/* ---- max / argmax -------------------------------------------------------------- */

static uint64_t argmax_ands(size_t k, size_t n) {
    if (k < 2) return 0;
    size_t w = ward_cb_index_bits(k);
    uint64_t idx = 0;
    for (size_t b = 0; b < w; b++)
        if (k - 1 > ((size_t)1 << b)) idx += k - 1 - ((size_t)1 << b);
    return n * (2 * k - 3) + idx;
}

static void test_max(void) {
    CHECK_EQ_U64(ward_cb_index_bits(1), 1);
    CHECK_EQ_U64(ward_cb_index_bits(2), 1);
    CHECK_EQ_U64(ward_cb_index_bits(3), 2);
    CHECK_EQ_U64(ward_cb_index_bits(4), 2);
    CHECK_EQ_U64(ward_cb_index_bits(5), 3);
    CHECK_EQ_U64(ward_cb_index_bits(9), 4);
    for (size_t k = 1; k <= 4; k++)
        for (size_t n = 1; n <= 3; n++) {
            ward_circuit cm, ca;
            CHECK_RC(ward_circuit_build_max(&cm, k, n), WARD_OK);
            CHECK_RC(ward_circuit_build_argmax(&ca, k, n), WARD_OK);
            CHECK(well_formed(&cm));
            CHECK(well_formed(&ca));
            CHECK_EQ_U64(cm.and_count, 2 * n * (k - 1));
            CHECK_EQ_U64(ca.and_count, argmax_ands(k, n));
            CHECK_EQ_U64(ca.output_bits, ward_cb_index_bits(k));
            uint64_t total = (uint64_t)1 << (n * k);
            int bad = 0;
            for (uint64_t v = 0; v < total; v++) {
                uint64_t in[4], best = 0, arg = 0, got_m = 0, got_a = 0;
                for (size_t j = 0; j < k; j++) {
                    in[j] = (v >> (j * n)) & mask(n);
                    if (j == 0 || in[j] > best) {
                        best = in[j];
                        arg = j;
                    }
                }
                if (eval_u64(&cm, &got_m, in) != WARD_OK || got_m != best) bad++;
                if (eval_u64(&ca, &got_a, in) != WARD_OK || got_a != arg) bad++;
            }
            if (bad) fprintf(stderr, "max/argmax k=%zu n=%zu: %d wrong\n", k, n, bad);
            CHECK(bad == 0);
            ward_circuit_free(&cm);
            ward_circuit_free(&ca);
        }
    /* Larger k: counts, and random inputs with ties. */
    size_t ks[] = {5, 8, 9, 16};
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x3a);
    for (size_t i = 0; i < 4; i++) {
        size_t k = ks[i], n = 8;
        ward_circuit cm, ca;
        CHECK_RC(ward_circuit_build_max(&cm, k, n), WARD_OK);
        CHECK_RC(ward_circuit_build_argmax(&ca, k, n), WARD_OK);
        CHECK_EQ_U64(cm.and_count, 2 * n * (k - 1));
        CHECK_EQ_U64(ca.and_count, argmax_ands(k, n));
        printf("max k=%zu n=%zu: %u AND; argmax: %u AND\n", k, n, cm.and_count, ca.and_count);
        int bad = 0;
        for (int r = 0; r < 300; r++) {
            uint64_t in[16], best = 0, arg = 0, gm = 0, ga = 0;
            for (size_t j = 0; j < k; j++) {
                in[j] = ward_rng_u64(&rng) & (r % 2 ? 0x3 : 0xff); /* many ties when 0x3 */
                if (j == 0 || in[j] > best) {
                    best = in[j];
                    arg = j;
                }
            }
            if (eval_u64(&cm, &gm, in) != WARD_OK || gm != best) bad++;
            if (eval_u64(&ca, &ga, in) != WARD_OK || ga != arg) bad++;
        }
        CHECK(bad == 0);
        ward_circuit_free(&cm);
        ward_circuit_free(&ca);
    }
    /* Both outputs from one builder: 2n(k-1) + the index ANDs. */
    ward_circuit_builder b;
    ward_circuit c;
    size_t k = 6, n = 4, w = ward_cb_index_bits(k);
    uint32_t vals[24], outs[7];
    ward_cb_init(&b);
    for (size_t j = 0; j < k; j++) ward_cb_input(&b, vals + j * n, n);
    CHECK_RC(ward_cb_max(&b, outs, outs + n, vals, k, n), WARD_OK);
    uint32_t ow[2] = {(uint32_t)n, (uint32_t)w};
    CHECK_RC(ward_cb_finish(&b, &c, outs, ow, 2), WARD_OK);
    CHECK_EQ_U64(c.and_count, argmax_ands(k, n) + n);
    CHECK(well_formed(&c));
    uint64_t in[6] = {3, 9, 15, 2, 15, 0}, out[2];
    CHECK_RC(eval_u64(&c, out, in), WARD_OK);
    CHECK_EQ_U64(out[0], 15);
    CHECK_EQ_U64(out[1], 2);
    ward_circuit_free(&c);
    ward_cb_free(&b);
}

/* ---- sum and threshold ------------------------------------------------------------ */

static uint64_t sum_ands(size_t k, size_t n) {
    uint64_t a = 0;
    for (size_t j = 1; j < k; j++) a += bitlen((uint64_t)(j + 1) * mask(n)) - 1;
    return a;
}

static size_t trailing_zeros(uint64_t t) {
    size_t z = 0;
    while (!(t & 1)) {
        t >>= 1;
        z++;
    }
    return z;
}

static void test_sum_threshold(void) {
    CHECK_EQ_U64(ward_cb_sum_bits(1, 1), 1);
    CHECK_EQ_U64(ward_cb_sum_bits(2, 1), 2);
    CHECK_EQ_U64(ward_cb_sum_bits(3, 1), 2);
    CHECK_EQ_U64(ward_cb_sum_bits(4, 1), 3);
    CHECK_EQ_U64(ward_cb_sum_bits(3, 8), 10);
    CHECK_EQ_U64(ward_cb_sum_bits(4, 8), 10);
    CHECK_EQ_U64(ward_cb_sum_bits(5, 8), 11);
    CHECK_EQ_U64(ward_cb_sum_bits(1, 64), 64);
    CHECK_EQ_U64(ward_cb_sum_bits(2, 64), 65);
    CHECK_EQ_U64(ward_cb_sum_bits(3, 64), 66);
    CHECK_EQ_U64(ward_cb_sum_bits(4, 64), 66);
    CHECK_EQ_U64(ward_cb_sum_bits(5, 100), 103);

    /* The sum itself, exhaustively. */
    for (size_t k = 1; k <= 4; k++)
        for (size_t n = 1; n <= 3; n++) {
            ward_circuit_builder b;
            ward_circuit c;
            uint32_t vals[12], s[8];
            size_t W = ward_cb_sum_bits(k, n);
            ward_cb_init(&b);
            for (size_t j = 0; j < k; j++) ward_cb_input(&b, vals + j * n, n);
            CHECK_RC(ward_cb_sum(&b, s, vals, k, n), WARD_OK);
            uint32_t ow = (uint32_t)W;
            CHECK_RC(ward_cb_finish(&b, &c, s, &ow, 1), WARD_OK);
            ward_cb_free(&b);
            CHECK(well_formed(&c));
            CHECK_EQ_U64(c.and_count, sum_ands(k, n));
            int bad = 0;
            for (uint64_t v = 0; v < ((uint64_t)1 << (n * k)); v++) {
                uint64_t in[4], want = 0, got = 0;
                for (size_t j = 0; j < k; j++) want += in[j] = (v >> (j * n)) & mask(n);
                if (eval_u64(&c, &got, in) != WARD_OK || got != want) bad++;
            }
            CHECK(bad == 0);
            ward_circuit_free(&c);
        }

    /* Threshold with a public T: every T from 0 past the largest sum, every
     * input. */
    for (size_t k = 1; k <= 4; k++)
        for (size_t n = 1; n <= 3; n++) {
            size_t W = ward_cb_sum_bits(k, n);
            uint64_t maxsum = k * mask(n);
            for (uint64_t t = 0; t <= maxsum + 2; t++) {
                ward_circuit c;
                CHECK_RC(ward_circuit_build_threshold(&c, k, n, t), WARD_OK);
                CHECK(well_formed(&c));
                uint64_t want_ands = (t == 0 || t >> W) ? 0 : sum_ands(k, n) + W - trailing_zeros(t) - 1;
                if (c.and_count != want_ands)
                    fprintf(stderr, "threshold k=%zu n=%zu t=%llu: %u AND, wanted %llu\n", k, n,
                            (unsigned long long)t, c.and_count, (unsigned long long)want_ands);
                CHECK_EQ_U64(c.and_count, want_ands);
                int bad = 0;
                for (uint64_t v = 0; v < ((uint64_t)1 << (n * k)); v++) {
                    uint64_t in[4], s = 0, got = 0;
                    for (size_t j = 0; j < k; j++) s += in[j] = (v >> (j * n)) & mask(n);
                    if (eval_u64(&c, &got, in) != WARD_OK || got != (s >= t)) bad++;
                }
                CHECK(bad == 0);
                ward_circuit_free(&c);
            }
        }
    /* A T that needs 64 bits, and a large circuit's counts. */
    {
        ward_circuit c;
        CHECK_RC(ward_circuit_build_threshold(&c, 3, 2, UINT64_MAX), WARD_OK);
        CHECK_EQ_U64(c.and_count, 0);
        CHECK_EQ_U64(c.eq_count, 1);
        uint64_t in[3] = {3, 3, 3}, got = 1;
        CHECK_RC(eval_u64(&c, &got, in), WARD_OK);
        CHECK_EQ_U64(got, 0);
        ward_circuit_free(&c);
        CHECK_RC(ward_circuit_build_threshold(&c, 100, 16, 1000000), WARD_OK);
        CHECK_EQ_U64(c.and_count, sum_ands(100, 16) + 23 - trailing_zeros(1000000) - 1);
        printf("threshold k=100 n=16 T=1000000: %u AND (sum %llu)\n", c.and_count,
               (unsigned long long)sum_ands(100, 16));
        ward_rng rng;
        ward_rng_init_u64(&rng, 0x7);
        int bad = 0;
        for (int r = 0; r < 200; r++) {
            uint64_t vals[100], s = 0, res = 0;
            uint64_t lim = (uint64_t)(r % 20) * 1000 + 1;
            for (int j = 0; j < 100; j++) s += vals[j] = ward_rng_uniform(&rng, lim);
            if (eval_u64(&c, &res, vals) != WARD_OK || res != (s >= 1000000)) bad++;
        }
        CHECK(bad == 0);
        ward_circuit_free(&c);
    }

    /* Threshold with T as an input, at several widths of T. */
    for (size_t k = 1; k <= 3; k++)
        for (size_t n = 1; n <= 2; n++)
            for (size_t tw = 1; tw <= 4; tw++) {
                size_t W = ward_cb_sum_bits(k, n);
                ward_circuit c;
                CHECK_RC(ward_circuit_build_threshold_input(&c, k, n, tw), WARD_OK);
                CHECK(well_formed(&c));
                CHECK_EQ_U64(c.ninputs, k + 1);
                CHECK_EQ_U64(c.and_count, sum_ands(k, n) + (W > tw ? W : tw));
                int bad = 0;
                for (uint64_t v = 0; v < ((uint64_t)1 << (n * k + tw)); v++) {
                    uint64_t in[5], s = 0, got = 0;
                    for (size_t j = 0; j < k; j++) s += in[j] = (v >> (j * n)) & mask(n);
                    in[k] = v >> (n * k);
                    if (eval_u64(&c, &got, in) != WARD_OK || got != (s >= in[k])) bad++;
                }
                CHECK(bad == 0);
                ward_circuit_free(&c);
            }
}

/* ---- the builder itself ------------------------------------------------------------ */

static void test_builder(void) {
    ward_circuit_builder b;
    ward_circuit c;
    uint32_t x[2], y, r[8];
    CHECK_RC(ward_cb_init(&b), WARD_OK);
    CHECK_RC(ward_cb_input(&b, x, 2), WARD_OK);

    /* Folding: no gate for any of these. */
    CHECK_RC(ward_cb_xor(&b, &y, x[0], WARD_CB_ZERO), WARD_OK);
    CHECK(y == x[0]);
    CHECK_RC(ward_cb_and(&b, &y, x[0], WARD_CB_ONE), WARD_OK);
    CHECK(y == x[0]);
    CHECK_RC(ward_cb_and(&b, &y, WARD_CB_ZERO, x[1]), WARD_OK);
    CHECK(y == WARD_CB_ZERO);
    CHECK_RC(ward_cb_xor(&b, &y, x[1], x[1]), WARD_OK);
    CHECK(y == WARD_CB_ZERO);
    CHECK_RC(ward_cb_and(&b, &y, x[1], x[1]), WARD_OK);
    CHECK(y == x[1]);
    CHECK_RC(ward_cb_not(&b, &y, WARD_CB_ONE), WARD_OK);
    CHECK(y == WARD_CB_ZERO);
    CHECK_EQ_U64(b.ngates, 0);
    /* NOT NOT x = x; x & NOT x = 0; x ^ NOT x = 1. */
    uint32_t nx, nnx;
    CHECK_RC(ward_cb_not(&b, &nx, x[0]), WARD_OK);
    CHECK_RC(ward_cb_not(&b, &nnx, nx), WARD_OK);
    CHECK(nnx == x[0]);
    CHECK_RC(ward_cb_and(&b, &y, nx, x[0]), WARD_OK);
    CHECK(y == WARD_CB_ZERO);
    CHECK_RC(ward_cb_xor(&b, &y, x[0], nx), WARD_OK);
    CHECK(y == WARD_CB_ONE);
    CHECK_EQ_U64(b.ngates, 1);
    CHECK_RC(ward_cb_xor(&b, &y, nx, WARD_CB_ONE), WARD_OK);
    CHECK(y == x[0]);
    CHECK_EQ_U64(b.ngates, 1);

    /* Outputs: a gate, a constant 1, a constant 0, an input, a repeat. */
    CHECK_RC(ward_cb_and(&b, &r[0], x[0], x[1]), WARD_OK);
    r[1] = WARD_CB_ONE;
    r[2] = WARD_CB_ZERO;
    r[3] = x[1];
    r[4] = r[0];
    r[5] = nx;
    uint32_t ow[2] = {2, 4};
    CHECK_RC(ward_cb_finish(&b, &c, r, ow, 2), WARD_OK);
    CHECK(well_formed(&c));
    CHECK_EQ_U64(c.and_count, 1);
    CHECK_EQ_U64(c.eq_count, 2);
    CHECK_EQ_U64(c.eqw_count, 2); /* the input and the repeat */
    CHECK_EQ_U64(c.inv_count, 1);
    CHECK_EQ_U64(c.noutputs, 2);
    for (uint64_t v = 0; v < 4; v++) {
        uint64_t out[2];
        CHECK_RC(eval_u64(&c, out, &v), WARD_OK);
        uint64_t a = v & 1, bb = v >> 1, and = a & bb;
        CHECK_EQ_U64(out[0], and | 2);
        CHECK_EQ_U64(out[1], 0 | (bb << 1) | (and << 2) | ((a ^ 1) << 3));
    }
    ward_circuit_free(&c);

    /* Dead gates are dropped: only the XOR survives. */
    uint32_t d1, d2;
    CHECK_RC(ward_cb_and(&b, &d1, x[0], nx), WARD_OK); /* folds to 0 */
    CHECK_RC(ward_cb_and(&b, &d2, nx, x[1]), WARD_OK);
    CHECK_RC(ward_cb_xor(&b, &y, x[0], x[1]), WARD_OK);
    uint32_t one = 1;
    CHECK_RC(ward_cb_finish(&b, &c, &y, &one, 1), WARD_OK);
    CHECK_EQ_U64(c.ngates, 1);
    CHECK_EQ_U64(c.xor_count, 1);
    CHECK_EQ_U64(c.nwires, 3);
    CHECK(well_formed(&c));
    ward_circuit_free(&c);

    /* Misuse: an unknown handle poisons the builder. */
    CHECK_RC(ward_cb_xor(&b, &y, x[0], 12345), WARD_EINVAL);
    CHECK_RC(ward_cb_and(&b, &y, x[0], x[1]), WARD_EINVAL);
    CHECK_RC(ward_cb_finish(&b, &c, &y, &one, 1), WARD_EINVAL);
    CHECK(c.gates == NULL);
    ward_cb_free(&b);

    /* No inputs, zero widths, NULLs. */
    ward_cb_init(&b);
    y = WARD_CB_ONE;
    CHECK_RC(ward_cb_finish(&b, &c, &y, &one, 1), WARD_EINVAL);
    CHECK_RC(ward_cb_input(&b, x, 0), WARD_EINVAL);
    ward_cb_free(&b);
    CHECK_RC(ward_circuit_build_add(&c, 0), WARD_EINVAL);
    CHECK_RC(ward_circuit_build_max(&c, 0, 4), WARD_EINVAL);
    CHECK_RC(ward_circuit_build_add(NULL, 4), WARD_EINVAL);
    CHECK_RC(ward_cb_init(NULL), WARD_EINVAL);
    /* Too big for one builder. */
    CHECK_RC(ward_circuit_build_max(&c, 1u << 14, 1u << 13), WARD_ETOOBIG);

    /* Inputs declared late still come first, in order. */
    ward_cb_init(&b);
    uint32_t p[3], q[3], s[3];
    ward_cb_input(&b, p, 3);
    uint32_t t0;
    ward_cb_not(&b, &t0, p[0]);
    ward_cb_input(&b, q, 3);
    CHECK_RC(ward_cb_sub(&b, s, q, p, 3), WARD_OK);
    uint32_t three = 3;
    CHECK_RC(ward_cb_finish(&b, &c, s, &three, 1), WARD_OK);
    CHECK(well_formed(&c));
    for (uint64_t u = 0; u < 8; u++)
        for (uint64_t v = 0; v < 8; v++) {
            uint64_t in[2] = {u, v}, out = 0;
            CHECK_RC(eval_u64(&c, &out, in), WARD_OK);
            CHECK_EQ_U64(out, (v - u) & 7);
        }
    ward_circuit_free(&c);
    ward_cb_free(&b);

    /* A mux on constants selects without gates. */
    ward_cb_init(&b);
    ward_cb_input(&b, x, 2);
    CHECK_RC(ward_cb_mux(&b, &y, WARD_CB_ONE, x[0], x[1]), WARD_OK);
    CHECK(y == x[1]);
    CHECK_RC(ward_cb_mux(&b, &y, x[0], WARD_CB_ZERO, WARD_CB_ONE), WARD_OK);
    CHECK(y == x[0]);
    CHECK_EQ_U64(b.ngates, 0);
    ward_cb_free(&b);
}

int main(void) {
    test_two_operand();
    test_max();
    test_sum_threshold();
    test_builder();
    return check_done("circuit-build");
}
