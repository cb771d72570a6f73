#include "garble.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gc_hash_impl.h"

enum { ST_NONE = 0, ST_READY = 1, ST_RUNNING = 2, ST_DONE = 3, ST_CLOSED = 4 };

/* AND gates hashed together: the garbler's 4 blocks per gate and the
 * evaluator's 2 go through AES eight at a time, so a batch (16 or 32
 * blocks) keeps the AES units busy where a single gate would leave them
 * waiting on latency. The sizes were tuned on the AES circuit. */
#define GB_BATCH 4
#define EV_BATCH 16

/* Scratch for a batch's hash inputs and outputs (which are as secret as
 * the labels), kept after the label array so it is wiped with it rather
 * than left on the stack. */
#define SCRATCH_BLOCKS 64
_Static_assert(8 * GB_BATCH <= SCRATCH_BLOCKS && 4 * EV_BATCH <= SCRATCH_BLOCKS,
               "batch scratch too small");

/* Per gate kind (indexed by op), the masks of the free-gate formula
 * out = in0 ^ (in1 & m1) ^ (Delta & m2): XOR keeps in1, INV adds Delta on
 * the garbler's side, EQW copies. AND and EQ rows are unused. */
static const _Alignas(16) uint64_t free_m1[5][2] = {
    {~0ull, ~0ull}, {0, 0}, {0, 0}, {0, 0}, {0, 0}};
static const _Alignas(16) uint64_t garbler_m2[5][2] = {
    {0, 0}, {0, 0}, {~0ull, ~0ull}, {0, 0}, {0, 0}};

uint64_t ward_gc_table_bytes(const ward_circuit *c) {
    return c ? (uint64_t)c->and_count * WARD_GC_TABLE_BYTES : 0;
}

/* ---- shared setup ------------------------------------------------------- */

/* Checks that c is one a garbler can walk safely: every index in range,
 * every wire assigned once before it is read, every output assigned.
 * Counts the AND gates. `mark` is nwires scratch bytes, left zeroed. The
 * circuit is public, hence the branches. */
static int check_circuit_var(const ward_circuit *c, uint8_t *mark, uint32_t *ands) {
    uint32_t nw = c->nwires, n_and = 0;
    if (c->input_bits > nw || c->output_bits > nw || c->output_bits == 0) return WARD_EINVAL;
    if (c->ngates > 0 && c->gates == NULL) return WARD_EINVAL;
    int rc = WARD_OK;
    memset(mark, 0, nw);
    memset(mark, 1, c->input_bits);
    for (uint32_t i = 0; i < c->ngates && rc == WARD_OK; i++) {
        const ward_gate *g = &c->gates[i];
        switch (g->op) {
        case WARD_GATE_XOR:
        case WARD_GATE_AND:
            if (g->in1 >= nw || !mark[g->in1]) rc = WARD_EINVAL;
            /* fall through */
        case WARD_GATE_INV:
        case WARD_GATE_EQW:
            /* in1 is read (and masked away) by the branch-free
             * free-gate code, so it must name an assigned wire too; the
             * parser's and the builder's 0, an input wire, always does. */
            if (g->in0 >= nw || !mark[g->in0] || g->in1 >= nw || !mark[g->in1])
                rc = WARD_EINVAL;
            break;
        case WARD_GATE_EQ:
            if (g->in0 > 1) rc = WARD_EINVAL;
            break;
        default:
            rc = WARD_EINVAL;
        }
        if (g->out >= nw || (rc == WARD_OK && mark[g->out])) rc = WARD_EINVAL;
        if (rc == WARD_OK) mark[g->out] = 1;
        n_and += g->op == WARD_GATE_AND;
    }
    for (uint32_t w = nw - c->output_bits; w < nw && rc == WARD_OK; w++)
        if (!mark[w]) rc = WARD_EINVAL;
    memset(mark, 0, nw);
    *ands = n_and;
    return rc;
}

/* ---- reordering ----------------------------------------------------------- */

typedef struct {
    uint32_t key; /* 2 * AND depth, + 1 for an AND gate */
    uint32_t sub; /* free gates: depth among the free gates of that AND depth */
    uint32_t idx; /* position in the window, for a stable order */
} sched_key;

static int sched_cmp(const void *a, const void *b) {
    const sched_key *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->sub != y->sub) return x->sub < y->sub ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ward_gc_reorder_var(ward_circuit *c) {
    WARD_ARG_CHECK(c != NULL);
    WARD_ARG_CHECK(c->nwires > 0 && c->nwires <= WARD_CIRCUIT_MAX_WIRES);
    const uint32_t nw = c->nwires, ng = c->ngates;
    uint8_t *mark = malloc(nw);
    uint32_t *wid = malloc((size_t)nw * sizeof *wid);
    uint16_t *lvl = malloc((size_t)nw * sizeof *lvl);
    uint16_t *dep = malloc((size_t)nw * sizeof *dep);
    sched_key *key = malloc(WARD_GC_WINDOW * sizeof *key);
    ward_gate *tmp = malloc(WARD_GC_WINDOW * sizeof *tmp);
    int rc = WARD_OK;
    if (!mark || !wid || !lvl || !dep || !key || !tmp) rc = WARD_ENOMEM;
    uint32_t ands = 0;
    if (rc == WARD_OK) rc = check_circuit_var(c, mark, &ands);
    if (rc == WARD_OK) {
        /* Window numbers start at 1; wid 0 marks a wire from before. */
        memset(wid, 0, (size_t)nw * sizeof *wid);
        uint32_t window = 0;
        for (uint32_t p = 0; p < ng; p += WARD_GC_WINDOW) {
            uint32_t n = ng - p < WARD_GC_WINDOW ? ng - p : WARD_GC_WINDOW;
            window++;
            for (uint32_t i = 0; i < n; i++) {
                const ward_gate *g = &c->gates[p + i];
                uint32_t l = 0, d = 0, two = g->op == WARD_GATE_XOR || g->op == WARD_GATE_AND;
                if (g->op != WARD_GATE_EQ && wid[g->in0] == window) {
                    l = lvl[g->in0];
                    d = dep[g->in0];
                }
                if (two && wid[g->in1] == window) {
                    uint32_t l1 = lvl[g->in1], d1 = dep[g->in1];
                    if (l1 > l) {
                        l = l1;
                        d = d1;
                    } else if (l1 == l && d1 > d) {
                        d = d1;
                    }
                }
                key[i].idx = i;
                if (g->op == WARD_GATE_AND) {
                    /* After every free gate of depth l, before those of
                     * depth l + 1; its output starts a new free chain. */
                    key[i].key = 2 * l + 1;
                    key[i].sub = 0;
                    l++;
                    d = 0;
                } else {
                    key[i].key = 2 * l;
                    key[i].sub = ++d;
                }
                wid[g->out] = window;
                lvl[g->out] = (uint16_t)l;
                dep[g->out] = (uint16_t)d;
            }
            qsort(key, n, sizeof *key, sched_cmp);
            for (uint32_t i = 0; i < n; i++) tmp[i] = c->gates[p + key[i].idx];
            memcpy(&c->gates[p], tmp, (size_t)n * sizeof *tmp);
        }
    }
    free(mark);
    free(wid);
    free(lvl);
    free(dep);
    free(key);
    free(tmp);
    return rc;
}

static ward_block *alloc_labels(uint32_t nwires) {
    size_t bytes = (((size_t)nwires + SCRATCH_BLOCKS) * sizeof(ward_block) + 63) & ~(size_t)63;
    /* Not zeroed: every wire is written before it is read (the circuit
     * check guarantees it), and the scratch is written before use. */
    return aligned_alloc(64, bytes ? bytes : 64);
}

static void free_labels(ward_block *l, uint32_t nwires) {
    if (!l) return;
    sodium_memzero(l, ((size_t)nwires + SCRATCH_BLOCKS) * sizeof(ward_block));
    free(l);
}

/* ---- garbler ------------------------------------------------------------ */

static void garbler_wipe(ward_garbler *g, int state) {
    uint32_t nw = g->c ? g->c->nwires : 0;
    free_labels(g->labels, nw);
    free(g->pending);
    sodium_memzero(g, sizeof *g);
    g->state = state;
}

int ward_garbler_init_delta(ward_garbler *g, const ward_circuit *c, ward_rng *rng,
                            const ward_block *delta) {
    WARD_ARG_CHECK(g != NULL);
    memset(g, 0, sizeof *g);
    g->state = ST_CLOSED;
    WARD_ARG_CHECK(c != NULL && rng != NULL && delta != NULL);
    WARD_ARG_CHECK((delta->b[0] & 1) == 1);
    WARD_ARG_CHECK(c->nwires > 0 && c->nwires <= WARD_CIRCUIT_MAX_WIRES);
    int rc = ward_gc_cpu_check();
    if (rc != WARD_OK) return rc;
    g->c = c;
    g->pending = calloc(c->nwires, 1);
    g->labels = alloc_labels(c->nwires);
    if (!g->pending || !g->labels) {
        garbler_wipe(g, ST_CLOSED);
        return WARD_ENOMEM;
    }
    uint32_t ands = 0;
    rc = check_circuit_var(c, g->pending, &ands);
    if (rc != WARD_OK) {
        garbler_wipe(g, ST_CLOSED);
        return rc;
    }
    ward_rng_bytes(rng, g->hash_key, sizeof g->hash_key);
    rc = ward_tccrh_init(&g->hash, g->hash_key);
    if (rc != WARD_OK) {
        garbler_wipe(g, ST_CLOSED);
        return rc;
    }
    g->delta = *delta;
    ward_rng_bytes(rng, (uint8_t *)g->labels, (size_t)c->input_bits * sizeof(ward_block));
    g->pos = 0;
    g->ands_left = ands;
    g->state = ST_READY;
    return WARD_OK;
}

int ward_garbler_init(ward_garbler *g, const ward_circuit *c, ward_rng *rng) {
    WARD_ARG_CHECK(g != NULL);
    memset(g, 0, sizeof *g);
    g->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL);
    ward_block d;
    ward_rng_bytes(rng, d.b, sizeof d.b);
    d.b[0] |= 1;
    int rc = ward_garbler_init_delta(g, c, rng, &d);
    sodium_memzero(&d, sizeof d);
    return rc;
}

static int garbler_usable(const ward_garbler *g) {
    if (g->state == ST_CLOSED) return WARD_ECLOSED;
    if (g->state < ST_READY || g->state > ST_DONE) return WARD_EINVAL;
    return WARD_OK;
}

int ward_garbler_hash_key(const ward_garbler *g, uint8_t key[WARD_GC_KEY_BYTES]) {
    WARD_ARG_CHECK(g != NULL && key != NULL);
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    memcpy(key, g->hash_key, WARD_GC_KEY_BYTES);
    return WARD_OK;
}

int ward_garbler_delta(const ward_garbler *g, ward_block *delta) {
    WARD_ARG_CHECK(g != NULL && delta != NULL);
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    *delta = g->delta;
    return WARD_OK;
}

static int input_range_ok(const ward_circuit *c, uint32_t first, size_t n) {
    return first <= c->input_bits && n <= (size_t)(c->input_bits - first);
}

int ward_garbler_input_labels(const ward_garbler *g, ward_block *labels0,
                              uint32_t first, size_t n) {
    WARD_ARG_CHECK(g != NULL && (labels0 != NULL || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    WARD_ARG_CHECK(input_range_ok(g->c, first, n));
    if (n) memcpy(labels0, &g->labels[first], n * sizeof(ward_block));
    return WARD_OK;
}

int ward_garbler_set_input_labels(ward_garbler *g, uint32_t first,
                                  const ward_block *labels0, size_t n) {
    WARD_ARG_CHECK(g != NULL && (labels0 != NULL || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(input_range_ok(g->c, first, n));
    if (n) memcpy(&g->labels[first], labels0, n * sizeof(ward_block));
    return WARD_OK;
}

int ward_garbler_encode(const ward_garbler *g, ward_block *labels, uint32_t first,
                        const uint8_t *bits, size_t n) {
    WARD_ARG_CHECK(g != NULL && ((labels != NULL && bits != NULL) || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    WARD_ARG_CHECK(input_range_ok(g->c, first, n));
    uint8_t bad = 0;
    for (size_t i = 0; i < n; i++) bad |= bits[i] & 0xFE;
    WARD_ARG_CHECK(bad == 0);
    __m128i d = blk_ld(&g->delta);
    for (size_t i = 0; i < n; i++) {
        __m128i l = blk_ld(&g->labels[first + i]);
        blk_st(&labels[i], _mm_xor_si128(l, _mm_and_si128(d, blk_bit_mask(bits[i]))));
    }
    return WARD_OK;
}

/* Hashes and finishes a batch of n AND gates (see the formulas in
 * garble.h), writing their tables to tab. sigma is linear, so
 * sigma(A ^ Delta) = sigma(A) ^ sigma(Delta). */
static void garble_batch(ward_block *restrict L, uint32_t c_nwires, uint8_t *pend,
                         const gch_keys *rk, __m128i D, __m128i sD, const ward_gate *gates,
                         const ward_gate *const *jobs, size_t n, uint8_t *tab) {
    __m128i *x = (__m128i *)(void *)(L + c_nwires), *s = x + 4 * GB_BATCH;
    for (size_t k = 0; k < n; k++) {
        const ward_gate *g = jobs[k];
        uint64_t j0 = 2 * (uint64_t)(g - gates);
        __m128i sa = blk_sigma(blk_ld(&L[g->in0]));
        __m128i sb = blk_sigma(blk_ld(&L[g->in1]));
        __m128i t0 = blk_u64(j0), t1 = blk_u64(j0 + 1);
        s[4 * k] = sa;
        s[4 * k + 1] = _mm_xor_si128(sa, sD);
        s[4 * k + 2] = sb;
        s[4 * k + 3] = _mm_xor_si128(sb, sD);
        x[4 * k] = _mm_xor_si128(sa, t0);
        x[4 * k + 1] = _mm_xor_si128(s[4 * k + 1], t0);
        x[4 * k + 2] = _mm_xor_si128(sb, t1);
        x[4 * k + 3] = _mm_xor_si128(s[4 * k + 3], t1);
    }
    size_t nb = 4 * n, i = 0;
    for (; i + 8 <= nb; i += 8) gch_aes8(rk, x + i);
    if (i < nb) gch_aes4(rk, x + i); /* nb is a multiple of 4 */
    for (size_t k = 0; k < n; k++) {
        const ward_gate *g = jobs[k];
        __m128i A = blk_ld(&L[g->in0]), B = blk_ld(&L[g->in1]);
        __m128i ha0 = _mm_xor_si128(x[4 * k], s[4 * k]);
        __m128i ha1 = _mm_xor_si128(x[4 * k + 1], s[4 * k + 1]);
        __m128i hb0 = _mm_xor_si128(x[4 * k + 2], s[4 * k + 2]);
        __m128i hb1 = _mm_xor_si128(x[4 * k + 3], s[4 * k + 3]);
        __m128i pa = blk_lsb_mask(A), pb = blk_lsb_mask(B);
        __m128i tg = _mm_xor_si128(_mm_xor_si128(ha0, ha1), _mm_and_si128(pb, D));
        __m128i te = _mm_xor_si128(_mm_xor_si128(hb0, hb1), A);
        __m128i wg = _mm_xor_si128(ha0, _mm_and_si128(pa, tg));
        __m128i we = _mm_xor_si128(hb0, _mm_and_si128(pb, _mm_xor_si128(te, A)));
        blk_stu(tab + WARD_GC_TABLE_BYTES * k, tg);
        blk_stu(tab + WARD_GC_TABLE_BYTES * k + 16, te);
        blk_st(&L[g->out], _mm_xor_si128(wg, we));
        pend[g->out] = 0;
    }
}

int ward_garbler_next(ward_garbler *g, uint8_t *out, size_t cap, size_t *len) {
    WARD_ARG_CHECK(g != NULL && len != NULL);
    *len = 0;
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state == ST_DONE) return WARD_OK;
    WARD_ARG_CHECK(g->ands_left == 0 || (out != NULL && cap >= WARD_GC_TABLE_BYTES));
    g->state = ST_RUNNING;

    const ward_gate *restrict gates = g->c->gates;
    const uint32_t ngates = g->c->ngates;
    const ward_gate *const end = gates + ngates;
    ward_block *restrict L = g->labels;
    const uint32_t nwires = g->c->nwires;
    uint8_t *pend = g->pending;
    gch_keys rk;
    gch_keys_load(&rk, &g->hash.pi);
    const __m128i D = blk_ld(&g->delta), sD = blk_sigma(D);
    size_t max_tables = cap / WARD_GC_TABLE_BYTES, nt = 0, nj = 0;
    const ward_gate *jobs[GB_BATCH];
    uint32_t pos = g->pos;

    /* The batch's tables are the nj before table nt. */
#define GB_FLUSH()                                                                     \
    do {                                                                               \
        if (nj)                                                                        \
            garble_batch(L, nwires, pend, &rk, D, sD, gates, jobs, nj,              \
                         out + (nt - nj) * WARD_GC_TABLE_BYTES);                       \
        nj = 0;                                                                        \
    } while (0)

    while (pos < ngates) {
        const ward_gate *gt = &gates[pos];
        if (gt->op == WARD_GATE_AND) {
            if (nt == max_tables) break;
            /* Only an AND can meet a pending output: free gates flush
             * first. */
            if (pend[gt->in0] | pend[gt->in1]) GB_FLUSH();
            jobs[nj++] = gt;
            pend[gt->out] = 1;
            nt++;
            if (nj == GB_BATCH) GB_FLUSH();
            pos++;
            continue;
        }
        GB_FLUSH();
        /* A run of free gates, without a branch per kind:
         * L_out = L_in0 ^ (L_in1 & m1) ^ (Delta & m2). */
        uint32_t op = gt->op;
        do {
            uint32_t a_w = gt->in0, b_w = gt->in1, c_w = gt->out;
            if (__builtin_expect(op == WARD_GATE_EQ, 0)) {
                blk_st(&L[c_w], _mm_and_si128(D, blk_bit_mask(a_w)));
            } else {
                __m128i a = blk_ld(&L[a_w]), b = blk_ld(&L[b_w]);
                __m128i m1 = _mm_load_si128((const __m128i *)free_m1[op]);
                __m128i m2 = _mm_load_si128((const __m128i *)garbler_m2[op]);
                blk_st(&L[c_w], _mm_xor_si128(_mm_xor_si128(a, _mm_and_si128(b, m1)),
                                              _mm_and_si128(D, m2)));
            }
            if (++gt == end) break;
            op = gt->op;
        } while (op != WARD_GATE_AND);
        pos = (uint32_t)(gt - gates);
    }
    GB_FLUSH();
#undef GB_FLUSH
    g->pos = pos;
    g->ands_left -= (uint32_t)nt;
    if (pos == ngates) g->state = ST_DONE;
    *len = nt * WARD_GC_TABLE_BYTES;
    return WARD_OK;
}

int ward_garbler_done(const ward_garbler *g) {
    return g != NULL && g->state == ST_DONE;
}

int ward_garbler_decode_bits(const ward_garbler *g, uint8_t *d, size_t n) {
    WARD_ARG_CHECK(g != NULL && d != NULL);
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state != ST_DONE) return WARD_ESTATE;
    WARD_ARG_CHECK(n == g->c->output_bits);
    uint32_t first = g->c->nwires - g->c->output_bits;
    for (size_t i = 0; i < n; i++) d[i] = g->labels[first + i].b[0] & 1;
    return WARD_OK;
}

int ward_garbler_decode(const ward_garbler *g, uint8_t *out, size_t out_len,
                        const uint8_t *lsb, size_t lsb_len) {
    WARD_ARG_CHECK(g != NULL && out != NULL && lsb != NULL);
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state != ST_DONE) return WARD_ESTATE;
    WARD_ARG_CHECK(out_len == g->c->output_bits);
    if (lsb_len != out_len) return WARD_EPARSE;
    uint8_t bad = 0;
    for (size_t i = 0; i < lsb_len; i++) bad |= lsb[i] & 0xFE;
    if (bad) return WARD_EPARSE;
    uint32_t first = g->c->nwires - g->c->output_bits;
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(lsb[i] ^ (g->labels[first + i].b[0] & 1));
    return WARD_OK;
}

void ward_garbler_free(ward_garbler *g) {
    if (!g) return;
    garbler_wipe(g, ST_NONE);
}

/* ---- evaluator ---------------------------------------------------------- */

static void evaluator_wipe(ward_evaluator *e, int state) {
    uint32_t nw = e->c ? e->c->nwires : 0;
    free_labels(e->labels, nw);
    free(e->pending);
    free(e->input_set);
    sodium_memzero(e, sizeof *e);
    e->state = state;
}

int ward_evaluator_init(ward_evaluator *e, const ward_circuit *c,
                        const uint8_t key[WARD_GC_KEY_BYTES]) {
    WARD_ARG_CHECK(e != NULL);
    memset(e, 0, sizeof *e);
    e->state = ST_CLOSED;
    WARD_ARG_CHECK(c != NULL && key != NULL);
    WARD_ARG_CHECK(c->nwires > 0 && c->nwires <= WARD_CIRCUIT_MAX_WIRES);
    int rc = ward_tccrh_init(&e->hash, key);
    if (rc != WARD_OK) return rc;
    e->c = c;
    e->pending = calloc(c->nwires, 1);
    e->input_set = calloc(c->input_bits ? c->input_bits : 1, 1);
    e->labels = alloc_labels(c->nwires);
    if (!e->pending || !e->labels || !e->input_set) {
        evaluator_wipe(e, ST_CLOSED);
        return WARD_ENOMEM;
    }
    uint32_t ands = 0;
    rc = check_circuit_var(c, e->pending, &ands);
    if (rc != WARD_OK) {
        evaluator_wipe(e, ST_CLOSED);
        return rc;
    }
    e->ands_left = ands;
    e->inputs_missing = c->input_bits;
    e->state = ST_READY;
    return WARD_OK;
}

static int evaluator_usable(const ward_evaluator *e) {
    if (e->state == ST_CLOSED) return WARD_ECLOSED;
    if (e->state < ST_READY || e->state > ST_DONE) return WARD_EINVAL;
    return WARD_OK;
}

int ward_evaluator_set_input_labels(ward_evaluator *e, uint32_t first,
                                    const ward_block *labels, size_t n) {
    WARD_ARG_CHECK(e != NULL && (labels != NULL || n == 0));
    int rc = evaluator_usable(e);
    if (rc != WARD_OK) return rc;
    if (e->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(input_range_ok(e->c, first, n));
    if (n) memcpy(&e->labels[first], labels, n * sizeof(ward_block));
    for (size_t i = 0; i < n; i++) {
        e->inputs_missing -= e->input_set[first + i] == 0;
        e->input_set[first + i] = 1;
    }
    return WARD_OK;
}

/* Evaluates a batch of n AND gates whose tables lie one after another
 * from tab. */
static void eval_batch(ward_block *restrict L, uint32_t c_nwires, uint8_t *pend,
                       const gch_keys *rk, const ward_gate *gates, const ward_gate *const *jobs,
                       size_t n, const uint8_t *tab) {
    __m128i *x = (__m128i *)(void *)(L + c_nwires), *s = x + 2 * EV_BATCH;
    for (size_t k = 0; k < n; k++) {
        const ward_gate *g = jobs[k];
        uint64_t j0 = 2 * (uint64_t)(g - gates);
        s[2 * k] = blk_sigma(blk_ld(&L[g->in0]));
        s[2 * k + 1] = blk_sigma(blk_ld(&L[g->in1]));
        x[2 * k] = _mm_xor_si128(s[2 * k], blk_u64(j0));
        x[2 * k + 1] = _mm_xor_si128(s[2 * k + 1], blk_u64(j0 + 1));
    }
    size_t nb = 2 * n, i = 0;
    for (; i + 8 <= nb; i += 8) gch_aes8(rk, x + i);
    if (i + 4 <= nb) {
        gch_aes4(rk, x + i);
        i += 4;
    }
    if (i < nb) gch_aes2(rk, x + i);
    for (size_t k = 0; k < n; k++) {
        const ward_gate *g = jobs[k];
        __m128i wa = blk_ld(&L[g->in0]), wb = blk_ld(&L[g->in1]);
        __m128i ha = _mm_xor_si128(x[2 * k], s[2 * k]);
        __m128i hb = _mm_xor_si128(x[2 * k + 1], s[2 * k + 1]);
        __m128i tg = blk_ldu(tab + WARD_GC_TABLE_BYTES * k);
        __m128i te = blk_ldu(tab + WARD_GC_TABLE_BYTES * k + 16);
        __m128i wg = _mm_xor_si128(ha, _mm_and_si128(blk_lsb_mask(wa), tg));
        __m128i we = _mm_xor_si128(hb, _mm_and_si128(blk_lsb_mask(wb), _mm_xor_si128(te, wa)));
        blk_st(&L[g->out], _mm_xor_si128(wg, we));
        pend[g->out] = 0;
    }
}

/* Evaluates gates from e->pos while tables remain: the first comes from
 * `first` (may be NULL), the rest are `whole` tables at `in`. Stops before
 * an AND gate without a table. Returns the tables consumed. */
static size_t eval_run(ward_evaluator *e, const uint8_t *first, const uint8_t *in,
                       size_t whole) {
    const ward_gate *restrict gates = e->c->gates;
    const uint32_t ngates = e->c->ngates;
    const ward_gate *const end = gates + ngates;
    ward_block *restrict L = e->labels;
    const uint32_t nw = e->c->nwires;
    uint8_t *pend = e->pending;
    gch_keys rk;
    gch_keys_load(&rk, &e->hash.pi);
    const __m128i zero = _mm_setzero_si128();
    size_t avail = whole + (first != NULL), used = 0, nj = 0;
    const ward_gate *jobs[EV_BATCH];
    const uint8_t *btab = in; /* the batch's first table */
    uint32_t pos = e->pos;

#define EV_FLUSH()                                                     \
    do {                                                               \
        if (nj) eval_batch(L, nw, pend, &rk, gates, jobs, nj, btab);   \
        nj = 0;                                                        \
    } while (0)

    while (pos < ngates) {
        const ward_gate *gt = &gates[pos];
        if (gt->op == WARD_GATE_AND) {
            if (used == avail) break;
            if (pend[gt->in0] | pend[gt->in1]) EV_FLUSH();
            /* Tables: the completed stash (alone in its batch), then
             * the caller's bytes in order. */
            size_t k = first != NULL ? used - 1 : used;
            if (nj == 0) btab = (first != NULL && used == 0) ? first : in + k * WARD_GC_TABLE_BYTES;
            jobs[nj++] = gt;
            pend[gt->out] = 1;
            used++;
            if (nj == EV_BATCH || (first != NULL && used == 1)) EV_FLUSH();
            pos++;
            continue;
        }
        EV_FLUSH();
        /* Free gates: W_out = W_in0 ^ (W_in1 & m1); INV and EQW copy. */
        uint32_t op = gt->op;
        do {
            uint32_t a_w = gt->in0, b_w = gt->in1, c_w = gt->out;
            if (__builtin_expect(op == WARD_GATE_EQ, 0)) {
                blk_st(&L[c_w], zero); /* the public label of a constant */
            } else {
                __m128i a = blk_ld(&L[a_w]), b = blk_ld(&L[b_w]);
                __m128i m1 = _mm_load_si128((const __m128i *)free_m1[op]);
                blk_st(&L[c_w], _mm_xor_si128(a, _mm_and_si128(b, m1)));
            }
            if (++gt == end) break;
            op = gt->op;
        } while (op != WARD_GATE_AND);
        pos = (uint32_t)(gt - gates);
    }
    EV_FLUSH();
#undef EV_FLUSH
    e->pos = pos;
    return used;
}

int ward_evaluator_feed(ward_evaluator *e, const uint8_t *in, size_t len) {
    WARD_ARG_CHECK(e != NULL && (in != NULL || len == 0));
    int rc = evaluator_usable(e);
    if (rc != WARD_OK) return rc;
    if (e->state == ST_READY) {
        if (e->inputs_missing != 0) return WARD_ESTATE;
        free(e->input_set);
        e->input_set = NULL;
        e->state = ST_RUNNING;
    }
    uint64_t want = (uint64_t)e->ands_left * WARD_GC_TABLE_BYTES - e->stash_len;
    if ((uint64_t)len > want) {
        evaluator_wipe(e, ST_CLOSED);
        return WARD_EPARSE;
    }
    if (e->state == ST_DONE) return WARD_OK;

    const uint8_t *first = NULL;
    if (e->stash_len > 0) {
        size_t take = WARD_GC_TABLE_BYTES - e->stash_len;
        if (take > len) take = len;
        memcpy(e->stash + e->stash_len, in, take);
        e->stash_len += (uint32_t)take;
        in += take;
        len -= take;
        if (e->stash_len == WARD_GC_TABLE_BYTES) first = e->stash;
    }
    size_t whole = len / WARD_GC_TABLE_BYTES;
    size_t used = eval_run(e, first, in, whole);
    /* The byte count was checked against the remaining AND gates, so every
     * complete table has been used. */
    e->ands_left -= (uint32_t)used;
    if (first != NULL) e->stash_len = 0;
    size_t rest = len - whole * WARD_GC_TABLE_BYTES;
    if (rest) {
        memcpy(e->stash, in + whole * WARD_GC_TABLE_BYTES, rest);
        e->stash_len = (uint32_t)rest;
    }
    if (e->pos == e->c->ngates) e->state = ST_DONE;
    return WARD_OK;
}

int ward_evaluator_done(const ward_evaluator *e) {
    return e != NULL && e->state == ST_DONE;
}

int ward_evaluator_decode(const ward_evaluator *e, uint8_t *out, size_t out_len,
                          const uint8_t *d, size_t d_len) {
    WARD_ARG_CHECK(e != NULL && out != NULL);
    int rc = evaluator_usable(e);
    if (rc != WARD_OK) return rc;
    if (e->state != ST_DONE) return WARD_ESTATE;
    WARD_ARG_CHECK(out_len == e->c->output_bits);
    if (d != NULL) {
        if (d_len != out_len) return WARD_EPARSE;
        uint8_t bad = 0;
        for (size_t i = 0; i < d_len; i++) bad |= d[i] & 0xFE;
        if (bad) return WARD_EPARSE;
    }
    uint32_t first = e->c->nwires - e->c->output_bits;
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)((e->labels[first + i].b[0] & 1) ^ (d ? d[i] : 0));
    return WARD_OK;
}

void ward_evaluator_free(ward_evaluator *e) {
    if (!e) return;
    evaluator_wipe(e, ST_NONE);
}
