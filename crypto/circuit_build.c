#include "circuit_build.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Handles 0 .. nwires-1 are wires, handed out in order to input bits and
 * gate results; gate results therefore increase along the gate array, and
 * the gate behind a handle is found by binary search, which is what lets
 * NOT(NOT x) and x & NOT x fold. ward_cb_finish renumbers everything, so
 * builder handles never show in a circuit. */

static int is_const(uint32_t h) { return h == WARD_CB_ZERO || h == WARD_CB_ONE; }

int ward_cb_init(ward_circuit_builder *b) {
    WARD_ARG_CHECK(b != NULL);
    memset(b, 0, sizeof *b);
    return WARD_OK;
}

void ward_cb_free(ward_circuit_builder *b) {
    if (!b) return;
    free(b->gates);
    free(b->inputs);
    memset(b, 0, sizeof *b);
}

static int set_err(ward_circuit_builder *b, int rc) {
    if (b->err == WARD_OK) b->err = rc;
    return b->err;
}

static int valid(const ward_circuit_builder *b, uint32_t h) {
    return is_const(h) || h < b->nwires;
}

/* The gate that produced h, or NULL for inputs and constants. Gate outputs
 * are handed out in gate order, so a binary search over the gate array
 * finds it. */
static const ward_gate *producer(const ward_circuit_builder *b, uint32_t h) {
    if (is_const(h) || b->ngates == 0) return NULL;
    size_t lo = 0, hi = b->ngates;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->gates[mid].out < h) lo = mid + 1;
        else hi = mid;
    }
    if (lo < b->ngates && b->gates[lo].out == h) return &b->gates[lo];
    return NULL;
}

/* x == NOT y or y == NOT x, as far as the builder can see. */
static int negations(const ward_circuit_builder *b, uint32_t x, uint32_t y) {
    if (is_const(x) && is_const(y)) return x != y;
    const ward_gate *gx = producer(b, x), *gy = producer(b, y);
    if (gx && gx->op == WARD_GATE_INV && gx->in0 == y) return 1;
    if (gy && gy->op == WARD_GATE_INV && gy->in0 == x) return 1;
    return 0;
}

static int new_wires(ward_circuit_builder *b, uint32_t *first, size_t count) {
    if (count > WARD_CB_MAX_WIRES || b->nwires > WARD_CB_MAX_WIRES - count)
        return set_err(b, WARD_ETOOBIG);
    *first = b->nwires;
    b->nwires += (uint32_t)count;
    return WARD_OK;
}

static int emit(ward_circuit_builder *b, uint32_t *out, uint32_t op, uint32_t in0,
                uint32_t in1) {
    int rc;
    if (b->ngates == b->gates_cap) {
        size_t cap = b->gates_cap ? 2 * b->gates_cap : 256;
        ward_gate *g = realloc(b->gates, cap * sizeof *g);
        if (!g) return set_err(b, WARD_ENOMEM);
        b->gates = g;
        b->gates_cap = cap;
    }
    uint32_t w;
    if ((rc = new_wires(b, &w, 1)) != WARD_OK) return rc;
    ward_gate *g = &b->gates[b->ngates++];
    g->op = op;
    g->in0 = in0;
    g->in1 = in1;
    g->out = w;
    *out = w;
    return WARD_OK;
}

int ward_cb_input(ward_circuit_builder *b, uint32_t *wires, size_t width) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (wires == NULL || width == 0) return set_err(b, WARD_EINVAL);
    if (b->ninputs == b->inputs_cap) {
        size_t cap = b->inputs_cap ? 2 * b->inputs_cap : 8;
        uint32_t *in = realloc(b->inputs, cap * 2 * sizeof *in);
        if (!in) return set_err(b, WARD_ENOMEM);
        b->inputs = in;
        b->inputs_cap = cap;
    }
    uint32_t first;
    int rc;
    if ((rc = new_wires(b, &first, width)) != WARD_OK) return rc;
    b->inputs[2 * b->ninputs] = first;
    b->inputs[2 * b->ninputs + 1] = (uint32_t)width;
    b->ninputs++;
    for (size_t i = 0; i < width; i++) wires[i] = first + (uint32_t)i;
    return WARD_OK;
}

void ward_cb_const(uint32_t *wires, size_t width, uint64_t value) {
    for (size_t i = 0; i < width; i++)
        wires[i] = (i < 64 && ((value >> i) & 1)) ? WARD_CB_ONE : WARD_CB_ZERO;
}

int ward_cb_not(ward_circuit_builder *b, uint32_t *out, uint32_t x) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || !valid(b, x)) return set_err(b, WARD_EINVAL);
    if (x == WARD_CB_ZERO) return *out = WARD_CB_ONE, WARD_OK;
    if (x == WARD_CB_ONE) return *out = WARD_CB_ZERO, WARD_OK;
    const ward_gate *g = producer(b, x);
    if (g && g->op == WARD_GATE_INV) return *out = g->in0, WARD_OK;
    return emit(b, out, WARD_GATE_INV, x, 0);
}

int ward_cb_xor(ward_circuit_builder *b, uint32_t *out, uint32_t x, uint32_t y) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || !valid(b, x) || !valid(b, y)) return set_err(b, WARD_EINVAL);
    if (x == WARD_CB_ZERO) return *out = y, WARD_OK;
    if (y == WARD_CB_ZERO) return *out = x, WARD_OK;
    if (x == WARD_CB_ONE) return ward_cb_not(b, out, y);
    if (y == WARD_CB_ONE) return ward_cb_not(b, out, x);
    if (x == y) return *out = WARD_CB_ZERO, WARD_OK;
    if (negations(b, x, y)) return *out = WARD_CB_ONE, WARD_OK;
    return emit(b, out, WARD_GATE_XOR, x, y);
}

int ward_cb_and(ward_circuit_builder *b, uint32_t *out, uint32_t x, uint32_t y) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || !valid(b, x) || !valid(b, y)) return set_err(b, WARD_EINVAL);
    if (x == WARD_CB_ZERO || y == WARD_CB_ZERO) return *out = WARD_CB_ZERO, WARD_OK;
    if (x == WARD_CB_ONE) return *out = y, WARD_OK;
    if (y == WARD_CB_ONE) return *out = x, WARD_OK;
    if (x == y) return *out = x, WARD_OK;
    if (negations(b, x, y)) return *out = WARD_CB_ZERO, WARD_OK;
    return emit(b, out, WARD_GATE_AND, x, y);
}

int ward_cb_mux(ward_circuit_builder *b, uint32_t *out, uint32_t s, uint32_t x, uint32_t y) {
    uint32_t d, t;
    int rc;
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || !valid(b, s) || !valid(b, x) || !valid(b, y))
        return set_err(b, WARD_EINVAL);
    if (s == WARD_CB_ZERO || x == y) return *out = x, WARD_OK;
    if (s == WARD_CB_ONE) return *out = y, WARD_OK;
    if ((rc = ward_cb_xor(b, &d, x, y)) != WARD_OK) return rc;
    if ((rc = ward_cb_and(b, &t, s, d)) != WARD_OK) return rc;
    return ward_cb_xor(b, out, x, t);
}

int ward_cb_mux_n(ward_circuit_builder *b, uint32_t *out, uint32_t s, const uint32_t *x,
                  const uint32_t *y, size_t n) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || x == NULL || y == NULL) return set_err(b, WARD_EINVAL);
    int rc;
    for (size_t i = 0; i < n; i++)
        if ((rc = ward_cb_mux(b, &out[i], s, x[i], y[i])) != WARD_OK) return rc;
    return WARD_OK;
}

/* Carry out of a full adder: maj(x, y, c) = c ^ ((x ^ c) & (y ^ c)), one
 * AND. */
static int carry(ward_circuit_builder *b, uint32_t *out, uint32_t x, uint32_t y, uint32_t c) {
    uint32_t xc, yc, t;
    int rc;
    if ((rc = ward_cb_xor(b, &xc, x, c)) != WARD_OK) return rc;
    if ((rc = ward_cb_xor(b, &yc, y, c)) != WARD_OK) return rc;
    if ((rc = ward_cb_and(b, &t, xc, yc)) != WARD_OK) return rc;
    return ward_cb_xor(b, out, c, t);
}

/* out = x + (invert_y ? NOT y : y) + c0 mod 2^n; the top carry is not
 * computed, so n - 1 AND. */
static int ripple(ward_circuit_builder *b, uint32_t *out, const uint32_t *x, const uint32_t *y,
                  size_t n, int invert_y, uint32_t c0) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || x == NULL || y == NULL || n == 0) return set_err(b, WARD_EINVAL);
    uint32_t c = c0, yi, t;
    int rc;
    for (size_t i = 0; i < n; i++) {
        yi = y[i];
        if (invert_y && (rc = ward_cb_not(b, &yi, yi)) != WARD_OK) return rc;
        if ((rc = ward_cb_xor(b, &t, x[i], yi)) != WARD_OK) return rc;
        uint32_t ci = c;
        if (i + 1 < n && (rc = carry(b, &c, x[i], yi, ci)) != WARD_OK) return rc;
        if ((rc = ward_cb_xor(b, &out[i], t, ci)) != WARD_OK) return rc;
    }
    return WARD_OK;
}

int ward_cb_add(ward_circuit_builder *b, uint32_t *sum, const uint32_t *x, const uint32_t *y,
                size_t n) {
    return ripple(b, sum, x, y, n, 0, WARD_CB_ZERO);
}

int ward_cb_sub(ward_circuit_builder *b, uint32_t *diff, const uint32_t *x, const uint32_t *y,
                size_t n) {
    /* x - y = x + NOT y + 1 */
    return ripple(b, diff, x, y, n, 1, WARD_CB_ONE);
}

/* x >= y over n bits, x[i] or y[i] beyond their widths read as 0: the
 * carry out of x + NOT y + 1, one AND a bit. */
static int ge_wide(ward_circuit_builder *b, uint32_t *ge, const uint32_t *x, size_t xn,
                   const uint32_t *y, size_t yn) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (ge == NULL || x == NULL || y == NULL || xn == 0 || yn == 0)
        return set_err(b, WARD_EINVAL);
    size_t n = xn > yn ? xn : yn;
    uint32_t c = WARD_CB_ONE, ny;
    int rc;
    for (size_t i = 0; i < n; i++) {
        uint32_t xi = i < xn ? x[i] : WARD_CB_ZERO;
        uint32_t yi = i < yn ? y[i] : WARD_CB_ZERO;
        if ((rc = ward_cb_not(b, &ny, yi)) != WARD_OK) return rc;
        if ((rc = carry(b, &c, xi, ny, c)) != WARD_OK) return rc;
    }
    *ge = c;
    return WARD_OK;
}

int ward_cb_ge(ward_circuit_builder *b, uint32_t *ge, const uint32_t *x, const uint32_t *y,
               size_t n) {
    return ge_wide(b, ge, x, n, y, n);
}

int ward_cb_lt(ward_circuit_builder *b, uint32_t *lt, const uint32_t *x, const uint32_t *y,
               size_t n) {
    uint32_t ge;
    int rc;
    if ((rc = ge_wide(b, &ge, x, n, y, n)) != WARD_OK) return rc;
    if (lt == NULL) return set_err(b, WARD_EINVAL);
    return ward_cb_not(b, lt, ge);
}

int ward_cb_gt(ward_circuit_builder *b, uint32_t *gt, const uint32_t *x, const uint32_t *y,
               size_t n) {
    return ward_cb_lt(b, gt, y, x, n);
}

int ward_cb_eq(ward_circuit_builder *b, uint32_t *eq, const uint32_t *x, const uint32_t *y,
               size_t n) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (eq == NULL || x == NULL || y == NULL || n == 0) return set_err(b, WARD_EINVAL);
    uint32_t acc = WARD_CB_ONE, d, same;
    int rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = ward_cb_xor(b, &d, x[i], y[i])) != WARD_OK) return rc;
        if ((rc = ward_cb_not(b, &same, d)) != WARD_OK) return rc;
        if ((rc = ward_cb_and(b, &acc, acc, same)) != WARD_OK) return rc;
    }
    *eq = acc;
    return WARD_OK;
}

size_t ward_cb_index_bits(size_t k) {
    size_t w = 0;
    for (size_t v = k > 0 ? k - 1 : 0; v; v >>= 1) w++;
    return w ? w : 1;
}

int ward_cb_max(ward_circuit_builder *b, uint32_t *max, uint32_t *idx, const uint32_t *vals,
                size_t k, size_t n) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (vals == NULL || k == 0 || n == 0 || n > WARD_CB_MAX_WIRES) return set_err(b, WARD_EINVAL);
    size_t w = ward_cb_index_bits(k);
    uint32_t *m = malloc(2 * n * sizeof *m);
    uint32_t *cur = malloc(2 * w * sizeof *cur);
    int rc = WARD_OK;
    if (!m || !cur) {
        rc = set_err(b, WARD_ENOMEM);
        goto done;
    }
    uint32_t *tmp = m + n, *jb = cur + w;
    memcpy(m, vals, n * sizeof *m);
    ward_cb_const(cur, w, 0);
    for (size_t j = 1; j < k; j++) {
        uint32_t gt;
        /* Strict: on a tie the earlier index stays. */
        if ((rc = ward_cb_gt(b, &gt, vals + j * n, m, n)) != WARD_OK) goto done;
        if ((rc = ward_cb_mux_n(b, tmp, gt, m, vals + j * n, n)) != WARD_OK) goto done;
        memcpy(m, tmp, n * sizeof *m);
        ward_cb_const(jb, w, (uint64_t)j);
        for (size_t i = 0; i < w; i++)
            if ((rc = ward_cb_mux(b, &cur[i], gt, cur[i], jb[i])) != WARD_OK) goto done;
    }
    if (max) memcpy(max, m, n * sizeof *m);
    if (idx) memcpy(idx, cur, w * sizeof *cur);
done:
    free(m);
    free(cur);
    return rc;
}

static size_t bitlen_u64(uint64_t v) {
    size_t l = 0;
    for (; v; v >>= 1) l++;
    return l;
}

size_t ward_cb_sum_bits(size_t k, size_t n) {
    if (k == 0 || n == 0) return 0;
    size_t bl = bitlen_u64((uint64_t)k);
    if (n + bl <= 64) return bitlen_u64((uint64_t)k * (((uint64_t)1 << n) - 1));
    /* k * (2^n - 1) = k * 2^n - k with 2^n > k: its top bit is that of
     * k * 2^n unless k is a power of two. */
    return (k & (k - 1)) ? n + bl : n + bl - 1;
}

int ward_cb_sum(ward_circuit_builder *b, uint32_t *sum, const uint32_t *vals, size_t k,
                size_t n) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (sum == NULL || vals == NULL || k == 0 || n == 0 || n > WARD_CB_MAX_WIRES)
        return set_err(b, WARD_EINVAL);
    size_t W = ward_cb_sum_bits(k, n);
    if (W > WARD_CB_MAX_WIRES) return set_err(b, WARD_ETOOBIG);
    int rc;
    ward_cb_const(sum, W, 0);
    memcpy(sum, vals, n * sizeof *sum);
    size_t width = n; /* bits of the running sum */
    for (size_t j = 1; j < k; j++) {
        size_t nw = ward_cb_sum_bits(j + 1, n);
        uint32_t c = WARD_CB_ZERO;
        /* The running sum fits nw bits, so the carry out of the top bit is
         * zero and is not computed: nw - 1 AND. */
        for (size_t i = 0; i < nw; i++) {
            uint32_t a = i < width ? sum[i] : WARD_CB_ZERO;
            uint32_t v = i < n ? vals[j * n + i] : WARD_CB_ZERO;
            uint32_t t, ci = c;
            if ((rc = ward_cb_xor(b, &t, a, v)) != WARD_OK) return rc;
            if (i + 1 < nw && (rc = carry(b, &c, a, v, ci)) != WARD_OK) return rc;
            if ((rc = ward_cb_xor(b, &sum[i], t, ci)) != WARD_OK) return rc;
        }
        width = nw;
    }
    return WARD_OK;
}

int ward_cb_threshold(ward_circuit_builder *b, uint32_t *out, const uint32_t *vals, size_t k,
                      size_t n, const uint32_t *t, size_t t_width) {
    WARD_ARG_CHECK(b != NULL);
    if (b->err) return b->err;
    if (out == NULL || t == NULL || t_width == 0) return set_err(b, WARD_EINVAL);
    if (k == 0 || n == 0 || n > WARD_CB_MAX_WIRES) return set_err(b, WARD_EINVAL);
    size_t W = ward_cb_sum_bits(k, n);
    if (W > WARD_CB_MAX_WIRES) return set_err(b, WARD_ETOOBIG);
    uint32_t *s = malloc(W * sizeof *s);
    if (!s) return set_err(b, WARD_ENOMEM);
    int rc = ward_cb_sum(b, s, vals, k, n);
    if (rc == WARD_OK) rc = ge_wide(b, out, s, W, t, t_width);
    free(s);
    return rc;
}

/* ---- finishing ---------------------------------------------------------- */

#define NO_WIRE UINT32_MAX

int ward_cb_finish(ward_circuit_builder *b, ward_circuit *c, const uint32_t *outs,
                   const uint32_t *out_widths, size_t nout) {
    WARD_ARG_CHECK(b != NULL && c != NULL);
    memset(c, 0, sizeof *c);
    if (b->err) return b->err;
    WARD_ARG_CHECK(outs != NULL && out_widths != NULL && nout > 0 && nout <= WARD_CB_MAX_WIRES);
    WARD_ARG_CHECK(b->ninputs > 0);
    uint64_t obits = 0;
    for (size_t j = 0; j < nout; j++) {
        WARD_ARG_CHECK(out_widths[j] > 0);
        obits += out_widths[j];
    }
    if (obits > WARD_CB_MAX_WIRES) return WARD_ETOOBIG;
    for (uint64_t p = 0; p < obits; p++) WARD_ARG_CHECK(valid(b, outs[p]));

    int rc = WARD_ENOMEM;
    uint32_t nh = b->nwires;
    uint8_t *live = calloc(nh ? nh : 1, 1);
    uint32_t *map = malloc((nh ? nh : 1) * sizeof *map);
    uint8_t *copy = malloc((size_t)obits); /* output p needs an EQ/EQW gate */
    if (!live || !map || !copy) goto out;

    for (uint32_t h = 0; h < nh; h++) map[h] = NO_WIRE;
    for (uint64_t p = 0; p < obits; p++)
        if (!is_const(outs[p])) live[outs[p]] = 1;
    size_t nlive = 0;
    for (size_t i = b->ngates; i-- > 0;) {
        const ward_gate *g = &b->gates[i];
        if (!live[g->out]) continue;
        nlive++;
        live[g->in0] = 1;
        if (g->op == WARD_GATE_XOR || g->op == WARD_GATE_AND) live[g->in1] = 1;
    }

    /* Inputs first, in declaration order. */
    uint64_t ibits = 0;
    for (size_t j = 0; j < b->ninputs; j++) {
        uint32_t first = b->inputs[2 * j], width = b->inputs[2 * j + 1];
        for (uint32_t i = 0; i < width; i++) map[first + i] = (uint32_t)(ibits + i);
        ibits += width;
    }
    /* An output that is a live gate's result, seen for the first time,
     * becomes that output wire; the others are copied at the end. */
    size_t ncopy = 0;
    uint64_t total = ibits + nlive + obits; /* upper bound on wires */
    if (total > WARD_CIRCUIT_MAX_WIRES) {
        rc = WARD_ETOOBIG;
        goto out;
    }
    uint8_t *claimed = live; /* reuse: 2 = claimed by an output */
    size_t n_claimed = 0;
    for (uint64_t p = 0; p < obits; p++) {
        uint32_t h = outs[p];
        copy[p] = 1;
        if (is_const(h) || claimed[h] == 2 || map[h] != NO_WIRE) {
            ncopy++;
            continue;
        }
        claimed[h] = 2;
        copy[p] = 0;
        n_claimed++;
    }
    uint32_t inner = (uint32_t)(nlive - n_claimed);
    uint32_t nwires = (uint32_t)(ibits + inner + obits);
    uint32_t first_out = nwires - (uint32_t)obits;
    for (uint64_t p = 0; p < obits; p++)
        if (!copy[p]) map[outs[p]] = first_out + (uint32_t)p;

    c->gates = malloc((nlive + ncopy ? nlive + ncopy : 1) * sizeof *c->gates);
    c->input_widths = malloc(b->ninputs * sizeof *c->input_widths);
    c->output_widths = malloc(nout * sizeof *c->output_widths);
    if (!c->gates || !c->input_widths || !c->output_widths) goto out;

    uint32_t next = (uint32_t)ibits;
    for (size_t i = 0; i < b->ngates; i++) {
        const ward_gate *g = &b->gates[i];
        if (!live[g->out]) continue;
        if (map[g->out] == NO_WIRE) map[g->out] = next++;
        ward_gate *o = &c->gates[c->ngates++];
        o->op = g->op;
        o->in0 = map[g->in0];
        o->in1 = (g->op == WARD_GATE_XOR || g->op == WARD_GATE_AND) ? map[g->in1] : 0;
        o->out = map[g->out];
    }
    for (uint64_t p = 0; p < obits; p++) {
        if (!copy[p]) continue;
        ward_gate *o = &c->gates[c->ngates++];
        uint32_t h = outs[p];
        if (is_const(h)) {
            o->op = WARD_GATE_EQ;
            o->in0 = h == WARD_CB_ONE;
        } else {
            o->op = WARD_GATE_EQW;
            o->in0 = map[h];
        }
        o->in1 = 0;
        o->out = first_out + (uint32_t)p;
    }
    for (uint32_t i = 0; i < c->ngates; i++) {
        switch (c->gates[i].op) {
        case WARD_GATE_XOR: c->xor_count++; break;
        case WARD_GATE_AND: c->and_count++; break;
        case WARD_GATE_INV: c->inv_count++; break;
        case WARD_GATE_EQ: c->eq_count++; break;
        default: c->eqw_count++; break;
        }
    }
    c->nwires = nwires;
    c->ninputs = (uint32_t)b->ninputs;
    c->noutputs = (uint32_t)nout;
    for (size_t j = 0; j < b->ninputs; j++) c->input_widths[j] = b->inputs[2 * j + 1];
    memcpy(c->output_widths, out_widths, nout * sizeof *out_widths);
    c->input_bits = (uint32_t)ibits;
    c->output_bits = (uint32_t)obits;
    rc = WARD_OK;
out:
    free(live);
    free(map);
    free(copy);
    if (rc != WARD_OK) ward_circuit_free(c);
    return rc;
}

/* ---- whole circuits ------------------------------------------------------ */

enum { F_ADD, F_SUB, F_LT, F_GT, F_EQ };

static int build_binary(ward_circuit *c, size_t n, int f) {
    WARD_ARG_CHECK(c != NULL && n >= 1 && n <= WARD_CB_MAX_WIRES / 2);
    ward_circuit_builder b;
    ward_cb_init(&b);
    uint32_t *x = malloc(3 * n * sizeof *x);
    if (!x) return WARD_ENOMEM;
    uint32_t *y = x + n, *r = y + n;
    ward_cb_input(&b, x, n);
    ward_cb_input(&b, y, n);
    uint32_t ow = 1;
    switch (f) {
    case F_ADD: ward_cb_add(&b, r, x, y, n); ow = (uint32_t)n; break;
    case F_SUB: ward_cb_sub(&b, r, x, y, n); ow = (uint32_t)n; break;
    case F_LT: ward_cb_lt(&b, r, x, y, n); break;
    case F_GT: ward_cb_gt(&b, r, x, y, n); break;
    default: ward_cb_eq(&b, r, x, y, n); break;
    }
    int rc = ward_cb_finish(&b, c, r, &ow, 1);
    ward_cb_free(&b);
    free(x);
    return rc;
}

int ward_circuit_build_add(ward_circuit *c, size_t n) { return build_binary(c, n, F_ADD); }
int ward_circuit_build_sub(ward_circuit *c, size_t n) { return build_binary(c, n, F_SUB); }
int ward_circuit_build_lt(ward_circuit *c, size_t n) { return build_binary(c, n, F_LT); }
int ward_circuit_build_gt(ward_circuit *c, size_t n) { return build_binary(c, n, F_GT); }
int ward_circuit_build_eq(ward_circuit *c, size_t n) { return build_binary(c, n, F_EQ); }

/* Declares k inputs of n bits into vals (k * n handles). */
static int inputs_k(ward_circuit_builder *b, uint32_t **vals, size_t k, size_t n) {
    if (n > WARD_CB_MAX_WIRES / k) return WARD_ETOOBIG;
    *vals = malloc(k * n * sizeof **vals);
    if (!*vals) return WARD_ENOMEM;
    int rc = WARD_OK;
    for (size_t j = 0; j < k && rc == WARD_OK; j++) rc = ward_cb_input(b, *vals + j * n, n);
    return rc;
}

static int build_max(ward_circuit *c, size_t k, size_t n, int want_idx) {
    WARD_ARG_CHECK(c != NULL && k >= 1 && n >= 1);
    ward_circuit_builder b;
    ward_cb_init(&b);
    uint32_t *vals = NULL, *r = NULL;
    size_t w = ward_cb_index_bits(k);
    int rc = inputs_k(&b, &vals, k, n);
    if (rc == WARD_OK) {
        r = malloc((want_idx ? w : n) * sizeof *r);
        rc = r ? WARD_OK : WARD_ENOMEM;
    }
    if (rc == WARD_OK)
        rc = want_idx ? ward_cb_max(&b, NULL, r, vals, k, n) : ward_cb_max(&b, r, NULL, vals, k, n);
    if (rc == WARD_OK) {
        uint32_t ow = (uint32_t)(want_idx ? w : n);
        rc = ward_cb_finish(&b, c, r, &ow, 1);
    }
    ward_cb_free(&b);
    free(vals);
    free(r);
    return rc;
}

int ward_circuit_build_max(ward_circuit *c, size_t k, size_t n) { return build_max(c, k, n, 0); }
int ward_circuit_build_argmax(ward_circuit *c, size_t k, size_t n) {
    return build_max(c, k, n, 1);
}

static int build_threshold(ward_circuit *c, size_t k, size_t n, int t_input, uint64_t t,
                           size_t t_width) {
    WARD_ARG_CHECK(c != NULL && k >= 1 && n >= 1);
    WARD_ARG_CHECK(!t_input || (t_width >= 1 && t_width <= WARD_CB_MAX_WIRES));
    ward_circuit_builder b;
    ward_cb_init(&b);
    uint32_t *vals = NULL, *tw = NULL, r = WARD_CB_ZERO;
    if (!t_input) t_width = 64;
    int rc = inputs_k(&b, &vals, k, n);
    if (rc == WARD_OK) {
        tw = malloc(t_width * sizeof *tw);
        rc = tw ? WARD_OK : WARD_ENOMEM;
    }
    if (rc == WARD_OK) {
        if (t_input) rc = ward_cb_input(&b, tw, t_width);
        else ward_cb_const(tw, t_width, t);
    }
    if (rc == WARD_OK) rc = ward_cb_threshold(&b, &r, vals, k, n, tw, t_width);
    if (rc == WARD_OK) {
        uint32_t ow = 1;
        rc = ward_cb_finish(&b, c, &r, &ow, 1);
    }
    ward_cb_free(&b);
    free(vals);
    free(tw);
    return rc;
}

int ward_circuit_build_threshold(ward_circuit *c, size_t k, size_t n, uint64_t t) {
    return build_threshold(c, k, n, 0, t, 0);
}

int ward_circuit_build_threshold_input(ward_circuit *c, size_t k, size_t n, size_t t_width) {
    return build_threshold(c, k, n, 1, 0, t_width);
}

/* ---- decisions on shared values ------------------------------------------ */

enum { S_MAX, S_ARGMAX, S_THRESHOLD };

static int build_shared(ward_circuit *c, int f, size_t k, size_t n, int64_t t) {
    WARD_ARG_CHECK(c != NULL && k >= 1 && n >= 1 && n <= 64);
    memset(c, 0, sizeof *c);
    if (k > WARD_CB_MAX_WIRES / 4 / n) return WARD_ETOOBIG;
    size_t kn = k * n, w = ward_cb_index_bits(k), W = ward_cb_sum_bits(k, n);
    ward_circuit_builder b;
    ward_cb_init(&b);
    /* x, y, u (the reconstructed values, sign bits flipped), r (result) */
    uint32_t *x = malloc((3 * kn + W + n + w) * sizeof *x);
    if (!x) return WARD_ENOMEM;
    uint32_t *y = x + kn, *u = y + kn, *r = u + kn;
    ward_cb_input(&b, x, kn);
    ward_cb_input(&b, y, kn);
    for (size_t j = 0; j < k; j++) {
        ward_cb_add(&b, u + j * n, x + j * n, y + j * n, n);
        ward_cb_not(&b, &u[j * n + n - 1], u[j * n + n - 1]);
    }
    uint32_t ow = 1;
    if (f == S_MAX) {
        ward_cb_max(&b, r, NULL, u, k, n);
        ward_cb_not(&b, &r[n - 1], r[n - 1]);
        ow = (uint32_t)n;
    } else if (f == S_ARGMAX) {
        ward_cb_max(&b, NULL, r, u, k, n);
        ow = (uint32_t)w;
    } else {
        /* sum u_j = sum v_j + k 2^(n-1), exact in W bits; so
         * sum v_j > t  <=>  sum u_j >= T' = t + 1 + k 2^(n-1). */
        __int128 tp = (__int128)t + 1 + ((__int128)k << (n - 1));
        if (tp <= 0) {
            r[0] = WARD_CB_ONE;
        } else if (W < 127 && tp >= ((__int128)1 << W)) {
            r[0] = WARD_CB_ZERO;
        } else {
            uint32_t *tw = r + 1;
            for (size_t i = 0; i < W; i++)
                tw[i] = (tp >> i) & 1 ? WARD_CB_ONE : WARD_CB_ZERO;
            ward_cb_threshold(&b, &r[0], u, k, n, tw, W);
        }
    }
    int rc = ward_cb_finish(&b, c, r, &ow, 1);
    ward_cb_free(&b);
    free(x);
    return rc;
}

int ward_circuit_build_shared_max(ward_circuit *c, size_t k, size_t n) {
    return build_shared(c, S_MAX, k, n, 0);
}

int ward_circuit_build_shared_argmax(ward_circuit *c, size_t k, size_t n) {
    return build_shared(c, S_ARGMAX, k, n, 0);
}

int ward_circuit_build_shared_threshold(ward_circuit *c, size_t k, size_t n, int64_t t) {
    return build_shared(c, S_THRESHOLD, k, n, t);
}
