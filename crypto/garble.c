#include "garble.h"

#include <sodium.h>
#include <stddef.h>
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

/* ---- compiling ------------------------------------------------------------ */

#define PLAN_READY 0x67637032u /* "gcp2" */
#define NO_SLOT UINT32_MAX

void ward_gc_plan_free(ward_gc_plan *p) {
    if (!p) return;
    free(p->steps);
    free(p->ands);
    free(p->xors);
    free(p->out_slots);
    free(p->out_flip);
    memset(p, 0, sizeof *p);
}

int ward_gc_compile_var(ward_gc_plan *p, const ward_circuit *c) {
    WARD_ARG_CHECK(p != NULL);
    memset(p, 0, sizeof *p);
    WARD_ARG_CHECK(c != NULL);
    WARD_ARG_CHECK(c->nwires > 0 && c->nwires <= WARD_CIRCUIT_MAX_WIRES);
    /* The parser's limit; it leaves room for the flags beside a gate index. */
    WARD_ARG_CHECK(c->ngates <= WARD_CIRCUIT_MAX_GATES);
    const uint32_t nw = c->nwires, ng = c->ngates;
    const size_t ngs = ng ? ng : 1;
    /* Per wire and one more, Z = nw, standing for the constants. */
    const uint32_t Z = nw;
    uint8_t *mark = malloc((size_t)nw + 1);           /* check scratch, then "keep" */
    uint8_t *flip = malloc((size_t)nw + 1);
    uint32_t *root = malloc(((size_t)nw + 1) * sizeof *root); /* the wire whose slot it uses */
    uint32_t *lvl = malloc(((size_t)nw + 1) * sizeof *lvl);   /* step, then last read */
    uint32_t *slot = malloc(((size_t)nw + 1) * sizeof *slot);
    uint32_t *xstep = malloc(ngs * sizeof *xstep);    /* step of each XOR kept */
    uint32_t *xsub = malloc(ngs * sizeof *xsub);      /* its part of that step */
    uint32_t *stack = malloc(ngs * sizeof *stack);    /* slots free for reuse */
    int rc = WARD_OK;
    if (!mark || !flip || !root || !lvl || !slot || !xstep || !xsub || !stack) rc = WARD_ENOMEM;
    uint32_t nand = 0;
    if (rc == WARD_OK) rc = check_circuit_var(c, mark, &nand);
    const uint32_t ib = c->input_bits, ob = c->output_bits;
    uint32_t *cnand = NULL, *base = NULL; /* per step of the first pass */
    if (rc == WARD_OK) {
        cnand = calloc((size_t)nand + 1, sizeof *cnand);
        base = malloc(((size_t)nand + 2) * sizeof *base);
        p->steps = calloc((size_t)nand + 1, sizeof *p->steps);
        p->ands = malloc((nand ? nand : 1) * sizeof *p->ands);
        p->out_slots = malloc((size_t)ob * sizeof *p->out_slots);
        p->out_flip = malloc(ob);
        if (!cnand || !base || !p->steps || !p->ands || !p->out_slots || !p->out_flip)
            rc = WARD_ENOMEM;
    }
    if (rc == WARD_OK) {
        const ward_gate *gates = c->gates;
        /* Aliases and steps, in gate order. Step 0 holds the XOR gates on
         * inputs only; an AND gate goes to the step after the latest one
         * among its inputs' and not before the previous AND's (the stream
         * keeps their order); an XOR to its latest input's step, so that
         * it splits no run of AND gates. No AND gate reads an XOR of its
         * own step. Each step's AND gates are then cut into parts of
         * WARD_GC_STEP_ANDS (sub: the part of an AND output, or the last
         * part an XOR depends on), and each XOR follows the part it
         * needs: the XOR gates after one part can run while the next is
         * hashed. xstep[i], xsub[i]: the step and part of kept XOR i. */
        uint32_t *sub = slot; /* per wire, until the slots are assigned */
        for (uint32_t w = 0; w < ib; w++) root[w] = w, flip[w] = 0, lvl[w] = 0, sub[w] = 0;
        root[Z] = Z;
        flip[Z] = 0;
        lvl[Z] = 0;
        sub[Z] = 0;
        uint32_t ncs = 1, cur = 0, k = 0, nx = 0, uses_z = 0;
        for (uint32_t i = 0; i < ng; i++) {
            const ward_gate *g = &gates[i];
            uint32_t o = g->out, ra = 0, rb = 0;
            if (g->op != WARD_GATE_EQ) ra = root[g->in0], rb = root[g->in1];
            switch (g->op) {
            case WARD_GATE_AND: {
                uint32_t st = (lvl[ra] > lvl[rb] ? lvl[ra] : lvl[rb]) + 1;
                if (st < cur) st = cur;
                if (st == ncs) ncs++;
                cur = st;
                uint32_t fl = (flip[g->in0] ? WARD_GC_FLIP_A : 0) |
                              (flip[g->in1] ? WARD_GC_FLIP_B : 0);
                p->ands[k++] = (ward_gc_and){ra, rb, o, i | fl};
                uses_z |= ra == Z || rb == Z;
                root[o] = o, flip[o] = 0, lvl[o] = st, sub[o] = cnand[st]++ / WARD_GC_STEP_ANDS;
                break;
            }
            case WARD_GATE_XOR:
                flip[o] = flip[g->in0] ^ flip[g->in1];
                if (ra == Z || rb == Z) {
                    /* x ^ constant: x's slot, the bits XORed */
                    root[o] = ra == Z ? rb : ra;
                } else {
                    uint32_t st = lvl[ra] > lvl[rb] ? lvl[ra] : lvl[rb];
                    uint32_t sa = lvl[ra] == st ? sub[ra] : 0, sb = lvl[rb] == st ? sub[rb] : 0;
                    xstep[nx] = st;
                    xsub[nx++] = sa > sb ? sa : sb;
                    root[o] = o, lvl[o] = st, sub[o] = sa > sb ? sa : sb;
                }
                break;
            case WARD_GATE_INV:
                root[o] = ra, flip[o] = flip[g->in0] ^ 1;
                break;
            case WARD_GATE_EQW:
                root[o] = ra, flip[o] = flip[g->in0];
                break;
            default: /* EQ, the only kind left after the check */
                root[o] = Z, flip[o] = (uint8_t)g->in0;
                break;
            }
        }
        /* The plan's steps: the parts of the steps above, in order. */
        uint32_t nsteps = 0;
        for (uint32_t t = 0; t < ncs; t++) {
            base[t] = nsteps;
            uint32_t n = cnand[t], parts = n ? (n + WARD_GC_STEP_ANDS - 1) / WARD_GC_STEP_ANDS : 1;
            for (uint32_t j = 0; j < parts; j++, n -= WARD_GC_STEP_ANDS)
                p->steps[nsteps++].nand = n < WARD_GC_STEP_ANDS ? n : WARD_GC_STEP_ANDS;
        }
        for (uint32_t i = 0; i < nx; i++) p->steps[base[xstep[i]] + xsub[i]].nxor++;
        /* Outputs keep their slots to the end, as do inputs. */
        memset(mark, 0, (size_t)nw + 1);
        for (uint32_t w = 0; w < ib; w++) mark[w] = 1;
        mark[Z] = 1;
        for (uint32_t j = 0; j < ob; j++) {
            uint32_t r = root[nw - ob + j];
            mark[r] = 1;
            uses_z |= r == Z;
        }
        p->xors = malloc((nx ? nx : 1) * sizeof *p->xors);
        if (!p->xors) rc = WARD_ENOMEM;
        if (rc == WARD_OK) {
            /* The XOR gates grouped by step, in gate order within a step. */
            uint32_t off = 0;
            for (uint32_t t = 0; t < nsteps; t++) {
                uint32_t n = p->steps[t].nxor;
                p->steps[t].nxor = off; /* start, for now */
                off += n;
            }
            nx = 0;
            for (uint32_t i = 0; i < ng; i++) {
                const ward_gate *g = &gates[i];
                if (g->op != WARD_GATE_XOR || root[g->out] != g->out) continue;
                p->xors[p->steps[base[xstep[nx]] + xsub[nx]].nxor++] =
                    (ward_gc_xor){root[g->in0], root[g->in1], g->out};
                nx++;
            }
            for (uint32_t t = nsteps; t-- > 1;) p->steps[t].nxor -= p->steps[t - 1].nxor;
            p->nsteps = nsteps;

            /* Which steps' XOR gates may run during the next step's AND
             * gates: those whose outputs none of them reads. lvl marks the
             * XOR outputs of step t with t + 1 (each wire is written once,
             * so a stale mark is never t + 1). */
            memset(lvl, 0, ((size_t)nw + 1) * sizeof *lvl);
            uint32_t ai = 0, xi = 0;
            for (uint32_t t = 0; t < nsteps; t++) {
                ai += p->steps[t].nand;
                for (uint32_t j = 0; j < p->steps[t].nxor; j++) lvl[p->xors[xi++].out] = t + 1;
                int ok = t + 1 < nsteps && p->steps[t].nxor > 0;
                for (uint32_t j = 0; ok && j < p->steps[t + 1].nand; j++)
                    ok = lvl[p->ands[ai + j].a] != t + 1 && lvl[p->ands[ai + j].b] != t + 1;
                p->steps[t].overlap = (uint32_t)ok;
            }

            /* Last reads, counting positions in the order the plan runs
             * from 1; 0 is never read. */
            memset(lvl, 0, ((size_t)nw + 1) * sizeof *lvl);
            uint32_t pos = 1;
            ai = xi = 0;
            for (uint32_t t = 0; t < nsteps; t++) {
                for (uint32_t j = 0; j < p->steps[t].nand; j++, ai++, pos++)
                    lvl[p->ands[ai].a] = lvl[p->ands[ai].b] = pos;
                for (uint32_t j = 0; j < p->steps[t].nxor; j++, xi++, pos++)
                    lvl[p->xors[xi].a] = lvl[p->xors[xi].b] = pos;
            }
            /* Slots: inputs keep their wire numbers, the constants' zero
             * block comes next, and every other wire takes the most
             * recently released slot, so that the labels in use stay few
             * and warm. A wire is released at its last read, before the
             * output of that gate is placed: the gate code reads its
             * inputs before it writes, and the AND gates of one step read
             * nothing the others write. The order is the plan's, XOR
             * gates of a step before the next step's AND gates, and that
             * also covers running them while those AND gates are hashed
             * (overlap): the AND gates' inputs are read (and re-read)
             * while they are live, so no XOR output takes their slots,
             * and their outputs, placed after the XOR gates, are written
             * once the XOR gates are done. */
            uint32_t next = ib, sp = 0;
            for (uint32_t w = 0; w < ib; w++) slot[w] = w;
            p->zero_slot = NO_SLOT;
            if (uses_z) slot[Z] = p->zero_slot = next++;
            pos = 1;
            ai = xi = 0;
            for (uint32_t t = 0; t < nsteps; t++) {
                uint32_t na = p->steps[t].nand, nxs = p->steps[t].nxor;
                for (uint32_t j = 0; j < na + nxs; j++, pos++) {
                    uint32_t *a, *b, *o;
                    if (j < na) {
                        ward_gc_and *x = &p->ands[ai++];
                        a = &x->a, b = &x->b, o = &x->out;
                    } else {
                        ward_gc_xor *x = &p->xors[xi++];
                        a = &x->a, b = &x->b, o = &x->out;
                    }
                    uint32_t wa = *a, wb = *b, w = *o;
                    *a = slot[wa] * (uint32_t)sizeof(ward_block);
                    *b = slot[wb] * (uint32_t)sizeof(ward_block);
                    if (!mark[wa] && lvl[wa] == pos) stack[sp++] = slot[wa];
                    if (wb != wa && !mark[wb] && lvl[wb] == pos) stack[sp++] = slot[wb];
                    uint32_t s = sp ? stack[--sp] : next++;
                    if (!mark[w] && lvl[w] == 0) stack[sp++] = s; /* never read */
                    slot[w] = s;
                    *o = s * (uint32_t)sizeof(ward_block);
                }
            }
            for (uint32_t j = 0; j < ob; j++) {
                uint32_t w = nw - ob + j;
                p->out_slots[j] = slot[root[w]];
                p->out_flip[j] = flip[w];
            }
            /* Byte offsets are 32-bit: 2^28 labels (4 GiB a session) at
             * most, far beyond any circuit this is for. */
            if (next > WARD_GC_MAX_SLOTS) rc = WARD_ETOOBIG;
            p->nslots = next > 0 ? next : 1;
            p->and_count = nand;
            p->xor_count = nx;
            p->ngates = ng;
            p->nwires = nw;
            p->input_bits = ib;
            p->output_bits = ob;
            if (rc == WARD_OK) p->ready = PLAN_READY;
        }
    }
    free(mark);
    free(flip);
    free(root);
    free(lvl);
    free(slot);
    free(xstep);
    free(xsub);
    free(stack);
    free(cnand);
    free(base);
    if (rc != WARD_OK) ward_gc_plan_free(p);
    return rc;
}

static int plan_ok(const ward_gc_plan *p) {
    return p->ready == PLAN_READY && p->nslots >= p->input_bits && p->nslots > 0 &&
           p->steps != NULL && p->nsteps > 0 && p->steps[p->nsteps - 1].overlap == 0 &&
           p->out_slots != NULL && p->out_flip != NULL;
}

static ward_block *alloc_labels(const ward_gc_plan *p) {
    size_t bytes = (((size_t)p->nslots + SCRATCH_BLOCKS) * sizeof(ward_block) + 63) & ~(size_t)63;
    /* Not zeroed: every slot is written before it is read (the circuit
     * check and the slot allocation guarantee it), and the scratch is
     * written before use; only the constants' slot is set here. */
    ward_block *l = aligned_alloc(64, bytes);
    if (l && p->zero_slot != NO_SLOT) memset(&l[p->zero_slot], 0, sizeof *l);
    return l;
}

static void free_labels(ward_block *l, uint32_t nslots) {
    if (!l) return;
    sodium_memzero(l, ((size_t)nslots + SCRATCH_BLOCKS) * sizeof(ward_block));
    free(l);
}

/* The label at byte offset off of L (plans hold offsets rather than slot
 * numbers: the address is then one add, not a shift and an add). */
GCH_INLINE __m128i at(const ward_block *L, uint32_t off) {
    return _mm_load_si128((const __m128i *)(const void *)((const uint8_t *)L + off));
}
GCH_INLINE void put(ward_block *L, uint32_t off, __m128i v) {
    _mm_store_si128((__m128i *)(void *)((uint8_t *)L + off), v);
}

/* The XOR gates of a step, the same on both sides. The loads are what
 * limits this loop, so a and b come in one 64-bit read (x86 is little
 * endian: a is the low half). */
_Static_assert(offsetof(ward_gc_xor, a) == 0 && offsetof(ward_gc_xor, b) == 4,
               "a and b side by side");
GCH_INLINE void xor1(ward_block *restrict L, const ward_gc_xor *x) {
    uint64_t ab;
    memcpy(&ab, x, sizeof ab);
    put(L, x->out, _mm_xor_si128(at(L, (uint32_t)ab), at(L, (uint32_t)(ab >> 32))));
}
GCH_INLINE void run_xor(ward_block *restrict L, const ward_gc_xor *x, uint32_t n) {
    const ward_gc_xor *const end = x + n;
    for (; x + 2 <= end; x += 2) {
        xor1(L, x);
        xor1(L, x + 1);
    }
    if (x < end) xor1(L, x);
}

/* ---- garbler ------------------------------------------------------------ */

static void garbler_wipe(ward_garbler *g, int state) {
    free_labels(g->labels, g->p ? g->p->nslots : 0);
    sodium_memzero(g, sizeof *g);
    g->state = state;
}

int ward_garbler_init_delta(ward_garbler *g, const ward_gc_plan *p, ward_rng *rng,
                            const ward_block *delta) {
    WARD_ARG_CHECK(g != NULL);
    memset(g, 0, sizeof *g);
    g->state = ST_CLOSED;
    WARD_ARG_CHECK(p != NULL && rng != NULL && delta != NULL);
    WARD_ARG_CHECK((delta->b[0] & 1) == 1);
    WARD_ARG_CHECK(plan_ok(p));
    int rc = ward_gc_cpu_check();
    if (rc != WARD_OK) return rc;
    g->p = p;
    g->labels = alloc_labels(p);
    if (!g->labels) {
        garbler_wipe(g, ST_CLOSED);
        return WARD_ENOMEM;
    }
    ward_rng_bytes(rng, g->hash_key, sizeof g->hash_key);
    rc = ward_tccrh_init(&g->hash, g->hash_key);
    if (rc != WARD_OK) {
        garbler_wipe(g, ST_CLOSED);
        return rc;
    }
    g->delta = *delta;
    ward_rng_bytes(rng, (uint8_t *)g->labels, (size_t)p->input_bits * sizeof(ward_block));
    g->ands_left = p->and_count;
    g->state = ST_READY;
    return WARD_OK;
}

int ward_garbler_init(ward_garbler *g, const ward_gc_plan *p, ward_rng *rng) {
    WARD_ARG_CHECK(g != NULL);
    memset(g, 0, sizeof *g);
    g->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL);
    ward_block d;
    ward_rng_bytes(rng, d.b, sizeof d.b);
    d.b[0] |= 1;
    int rc = ward_garbler_init_delta(g, p, rng, &d);
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

static int input_range_ok(const ward_gc_plan *p, uint32_t first, size_t n) {
    return first <= p->input_bits && n <= (size_t)(p->input_bits - first);
}

int ward_garbler_input_labels(const ward_garbler *g, ward_block *labels0,
                              uint32_t first, size_t n) {
    WARD_ARG_CHECK(g != NULL && (labels0 != NULL || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    WARD_ARG_CHECK(input_range_ok(g->p, first, n));
    if (n) memcpy(labels0, &g->labels[first], n * sizeof(ward_block));
    return WARD_OK;
}

int ward_garbler_set_input_labels(ward_garbler *g, uint32_t first,
                                  const ward_block *labels0, size_t n) {
    WARD_ARG_CHECK(g != NULL && (labels0 != NULL || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(input_range_ok(g->p, first, n));
    if (n) memcpy(&g->labels[first], labels0, n * sizeof(ward_block));
    return WARD_OK;
}

int ward_garbler_encode(const ward_garbler *g, ward_block *labels, uint32_t first,
                        const uint8_t *bits, size_t n) {
    WARD_ARG_CHECK(g != NULL && ((labels != NULL && bits != NULL) || n == 0));
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    WARD_ARG_CHECK(input_range_ok(g->p, first, n));
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

/* The garbler's 0-label of an AND input: its slot, XOR Delta when the
 * plan's (public) bit says so. */
GCH_INLINE __m128i and_input(const ward_block *L, uint32_t off, uint32_t flip, __m128i D) {
    return _mm_xor_si128(at(L, off), _mm_and_si128(D, blk_bit_mask(flip)));
}

/* Hashes and finishes n AND gates of one step (see the formulas in
 * garble.h), writing their tables to tab. sigma is linear, so
 * sigma(A ^ Delta) = sigma(A) ^ sigma(Delta). No gate of the batch reads
 * another's output (that is what a step is), so all the hashes can be
 * computed before any output is written. The nx XOR gates px of the
 * previous step (overlap) run between the groups of AES blocks, after the
 * inputs are read and before any output is written. */
static void garble_batch(ward_block *restrict L, uint32_t nslots, const gch_keys *rk,
                         __m128i D, __m128i sD, const ward_gc_and *jobs, size_t n,
                         uint8_t *tab, const ward_gc_xor *px, uint32_t nx) {
    __m128i *x = (__m128i *)(void *)(L + nslots), *s = x + 4 * GB_BATCH;
    for (size_t k = 0; k < n; k++) {
        const ward_gc_and *g = &jobs[k];
        uint64_t j0 = 2 * (uint64_t)WARD_GC_GATE_INDEX(g->gate);
        __m128i sa = blk_sigma(and_input(L, g->a, g->gate >> 31, D));
        __m128i sb = blk_sigma(and_input(L, g->b, (g->gate >> 30) & 1, D));
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
    uint32_t per = nb >= 8 ? (uint32_t)((nx + nb / 8 - 1) / (nb / 8)) : 0, done = 0;
    for (; i + 8 <= nb; i += 8) {
        gch_aes8(rk, x + i);
        uint32_t m = nx - done < per ? nx - done : per;
        run_xor(L, px + done, m);
        done += m;
    }
    if (i < nb) gch_aes4(rk, x + i); /* nb is a multiple of 4 */
    run_xor(L, px + done, nx - done);
    for (size_t k = 0; k < n; k++) {
        const ward_gc_and *g = &jobs[k];
        __m128i A = and_input(L, g->a, g->gate >> 31, D);
        __m128i B = and_input(L, g->b, (g->gate >> 30) & 1, D);
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
        put(L, g->out, _mm_xor_si128(wg, we));
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

    const ward_gc_plan *p = g->p;
    ward_block *restrict L = g->labels;
    gch_keys rk;
    gch_keys_load(&rk, &g->hash.pi);
    const __m128i D = blk_ld(&g->delta), sD = blk_sigma(D);
    const size_t max_tables = cap / WARD_GC_TABLE_BYTES;
    size_t nt = 0;
    /* pn XOR gates from xi on belong to the step before t and wait for
     * its first batch. */
    uint32_t t = g->step, k = g->step_and, ai = g->and_pos, xi = g->xor_pos, pn = g->xor_pend;
    while (t < p->nsteps) {
        const ward_gc_step st = p->steps[t];
        while (k < st.nand && nt < max_tables) {
            size_t n = st.nand - k;
            if (n > max_tables - nt) n = max_tables - nt;
            if (n > GB_BATCH) n = GB_BATCH;
            garble_batch(L, p->nslots, &rk, D, sD, &p->ands[ai], n,
                         out + nt * WARD_GC_TABLE_BYTES, &p->xors[xi], pn);
            xi += pn;
            pn = 0;
            k += (uint32_t)n;
            ai += (uint32_t)n;
            nt += n;
        }
        if (k < st.nand) break; /* out of room */
        if (st.overlap) {
            pn = st.nxor;
        } else {
            run_xor(L, &p->xors[xi], st.nxor);
            xi += st.nxor;
        }
        t++;
        k = 0;
    }
    g->step = t;
    g->step_and = k;
    g->and_pos = ai;
    g->xor_pos = xi;
    g->xor_pend = pn;
    g->ands_left -= (uint32_t)nt;
    if (t == p->nsteps) g->state = ST_DONE;
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
    WARD_ARG_CHECK(n == g->p->output_bits);
    /* lsb(Delta) = 1, so a flipped output's decoding bit flips too. */
    const uint32_t *os = g->p->out_slots;
    const uint8_t *of = g->p->out_flip;
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)((g->labels[os[i]].b[0] & 1) ^ of[i]);
    return WARD_OK;
}

int ward_garbler_decode(const ward_garbler *g, uint8_t *out, size_t out_len,
                        const uint8_t *lsb, size_t lsb_len) {
    WARD_ARG_CHECK(g != NULL && out != NULL && lsb != NULL);
    int rc = garbler_usable(g);
    if (rc != WARD_OK) return rc;
    if (g->state != ST_DONE) return WARD_ESTATE;
    WARD_ARG_CHECK(out_len == g->p->output_bits);
    if (lsb_len != out_len) return WARD_EPARSE;
    uint8_t bad = 0;
    for (size_t i = 0; i < lsb_len; i++) bad |= lsb[i] & 0xFE;
    if (bad) return WARD_EPARSE;
    const uint32_t *os = g->p->out_slots;
    const uint8_t *of = g->p->out_flip;
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(lsb[i] ^ (g->labels[os[i]].b[0] & 1) ^ of[i]);
    return WARD_OK;
}

void ward_garbler_free(ward_garbler *g) {
    if (!g) return;
    garbler_wipe(g, ST_NONE);
}

/* ---- evaluator ---------------------------------------------------------- */

static void evaluator_wipe(ward_evaluator *e, int state) {
    free_labels(e->labels, e->p ? e->p->nslots : 0);
    free(e->input_set);
    sodium_memzero(e, sizeof *e);
    e->state = state;
}

int ward_evaluator_init(ward_evaluator *e, const ward_gc_plan *p,
                        const uint8_t key[WARD_GC_KEY_BYTES]) {
    WARD_ARG_CHECK(e != NULL);
    memset(e, 0, sizeof *e);
    e->state = ST_CLOSED;
    WARD_ARG_CHECK(p != NULL && key != NULL);
    WARD_ARG_CHECK(plan_ok(p));
    int rc = ward_tccrh_init(&e->hash, key);
    if (rc != WARD_OK) return rc;
    e->p = p;
    e->input_set = calloc(p->input_bits ? p->input_bits : 1, 1);
    e->labels = alloc_labels(p);
    if (!e->labels || !e->input_set) {
        evaluator_wipe(e, ST_CLOSED);
        return WARD_ENOMEM;
    }
    e->ands_left = p->and_count;
    e->inputs_missing = p->input_bits;
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
    WARD_ARG_CHECK(input_range_ok(e->p, first, n));
    if (n) memcpy(&e->labels[first], labels, n * sizeof(ward_block));
    for (size_t i = 0; i < n; i++) {
        e->inputs_missing -= e->input_set[first + i] == 0;
        e->input_set[first + i] = 1;
    }
    return WARD_OK;
}

/* Evaluates n AND gates of one step whose tables lie one after another
 * from tab, running the previous step's nx XOR gates px during the AES
 * calls as garble_batch does. */
static void eval_batch(ward_block *restrict L, uint32_t nslots, const gch_keys *rk,
                       const ward_gc_and *jobs, size_t n, const uint8_t *tab,
                       const ward_gc_xor *px, uint32_t nx) {
    __m128i *x = (__m128i *)(void *)(L + nslots), *s = x + 2 * EV_BATCH;
    for (size_t k = 0; k < n; k++) {
        const ward_gc_and *g = &jobs[k];
        uint64_t j0 = 2 * (uint64_t)WARD_GC_GATE_INDEX(g->gate);
        s[2 * k] = blk_sigma(at(L, g->a));
        s[2 * k + 1] = blk_sigma(at(L, g->b));
        x[2 * k] = _mm_xor_si128(s[2 * k], blk_u64(j0));
        x[2 * k + 1] = _mm_xor_si128(s[2 * k + 1], blk_u64(j0 + 1));
    }
    size_t nb = 2 * n, i = 0;
    uint32_t per = nb >= 8 ? (uint32_t)((nx + nb / 8 - 1) / (nb / 8)) : 0, done = 0;
    for (; i + 8 <= nb; i += 8) {
        gch_aes8(rk, x + i);
        uint32_t m = nx - done < per ? nx - done : per;
        run_xor(L, px + done, m);
        done += m;
    }
    if (i + 4 <= nb) {
        gch_aes4(rk, x + i);
        i += 4;
    }
    if (i < nb) gch_aes2(rk, x + i);
    run_xor(L, px + done, nx - done);
    for (size_t k = 0; k < n; k++) {
        const ward_gc_and *g = &jobs[k];
        __m128i wa = at(L, g->a), wb = at(L, g->b);
        __m128i ha = _mm_xor_si128(x[2 * k], s[2 * k]);
        __m128i hb = _mm_xor_si128(x[2 * k + 1], s[2 * k + 1]);
        __m128i tg = blk_ldu(tab + WARD_GC_TABLE_BYTES * k);
        __m128i te = blk_ldu(tab + WARD_GC_TABLE_BYTES * k + 16);
        __m128i wg = _mm_xor_si128(ha, _mm_and_si128(blk_lsb_mask(wa), tg));
        __m128i we = _mm_xor_si128(hb, _mm_and_si128(blk_lsb_mask(wb), _mm_xor_si128(te, wa)));
        put(L, g->out, _mm_xor_si128(wg, we));
    }
}

/* Runs the plan from where it stopped while tables remain: the first comes
 * from `first` (may be NULL), the rest are `whole` tables at `in`. Stops
 * before an AND gate without a table. Returns the tables consumed. */
static size_t eval_run(ward_evaluator *e, const uint8_t *first, const uint8_t *in,
                       size_t whole) {
    const ward_gc_plan *p = e->p;
    ward_block *restrict L = e->labels;
    gch_keys rk;
    gch_keys_load(&rk, &e->hash.pi);
    const size_t avail = whole + (first != NULL);
    size_t used = 0;
    /* pn XOR gates from xi on belong to the step before t, as for the
     * garbler. */
    uint32_t t = e->step, k = e->step_and, ai = e->and_pos, xi = e->xor_pos, pn = e->xor_pend;
    while (t < p->nsteps) {
        const ward_gc_step st = p->steps[t];
        while (k < st.nand && used < avail) {
            size_t n;
            if (first != NULL && used == 0) {
                /* The completed stash, alone in its batch. */
                n = 1;
                eval_batch(L, p->nslots, &rk, &p->ands[ai], n, first, &p->xors[xi], pn);
            } else {
                n = st.nand - k;
                if (n > avail - used) n = avail - used;
                if (n > EV_BATCH) n = EV_BATCH;
                size_t at = used - (first != NULL);
                eval_batch(L, p->nslots, &rk, &p->ands[ai], n, in + at * WARD_GC_TABLE_BYTES,
                           &p->xors[xi], pn);
            }
            xi += pn;
            pn = 0;
            k += (uint32_t)n;
            ai += (uint32_t)n;
            used += n;
        }
        if (k < st.nand) break; /* waiting for tables */
        if (st.overlap) {
            pn = st.nxor;
        } else {
            run_xor(L, &p->xors[xi], st.nxor);
            xi += st.nxor;
        }
        t++;
        k = 0;
    }
    e->step = t;
    e->step_and = k;
    e->and_pos = ai;
    e->xor_pos = xi;
    e->xor_pend = pn;
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
    if (e->step == e->p->nsteps) e->state = ST_DONE;
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
    WARD_ARG_CHECK(out_len == e->p->output_bits);
    if (d != NULL) {
        if (d_len != out_len) return WARD_EPARSE;
        uint8_t bad = 0;
        for (size_t i = 0; i < d_len; i++) bad |= d[i] & 0xFE;
        if (bad) return WARD_EPARSE;
    }
    const uint32_t *os = e->p->out_slots;
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)((e->labels[os[i]].b[0] & 1) ^ (d ? d[i] : 0));
    return WARD_OK;
}

void ward_evaluator_free(ward_evaluator *e) {
    if (!e) return;
    evaluator_wipe(e, ST_NONE);
}
