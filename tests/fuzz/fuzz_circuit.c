/* libFuzzer harness: arbitrary bytes as a Bristol Fashion circuit. A
 * circuit that parses must be well formed (every gate reads assigned wires
 * and writes a fresh one, counts add up), must survive the writer and the
 * parser unchanged, and, when small, must evaluate on all-zero and
 * all-one inputs. Any violation aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_well_formed(const ward_circuit *c) {
    uint8_t *set = calloc(c->nwires, 1);
    if (!set) return;
    uint32_t counts[5] = {0};
    if (c->input_bits > c->nwires || c->output_bits > c->nwires) abort();
    for (uint32_t w = 0; w < c->input_bits; w++) set[w] = 1;
    for (uint32_t i = 0; i < c->ngates; i++) {
        const ward_gate *g = &c->gates[i];
        if (g->op > WARD_GATE_EQW || g->out >= c->nwires || set[g->out]) abort();
        if (g->op == WARD_GATE_EQ) {
            if (g->in0 > 1) abort();
        } else {
            if (g->in0 >= c->nwires || !set[g->in0]) abort();
            if ((g->op == WARD_GATE_XOR || g->op == WARD_GATE_AND) &&
                (g->in1 >= c->nwires || !set[g->in1]))
                abort();
        }
        set[g->out] = 1;
        counts[g->op]++;
    }
    for (uint32_t w = c->nwires - c->output_bits; w < c->nwires; w++)
        if (!set[w]) abort();
    if (counts[WARD_GATE_XOR] != c->xor_count || counts[WARD_GATE_AND] != c->and_count ||
        counts[WARD_GATE_INV] != c->inv_count || counts[WARD_GATE_EQ] != c->eq_count ||
        counts[WARD_GATE_EQW] != c->eqw_count)
        abort();
    free(set);
}

static void check_round_trip(const ward_circuit *c) {
    size_t n = 0;
    if (ward_circuit_write_var(c, NULL, 0, &n) != WARD_OK) abort();
    char *t = malloc(n ? n : 1);
    if (!t) return;
    if (ward_circuit_write_var(c, t, n, &n) != WARD_OK) abort();
    ward_circuit d;
    if (ward_circuit_parse_var(&d, NULL, t, n) != WARD_OK) abort();
    if (d.ngates != c->ngates || d.nwires != c->nwires || d.ninputs != c->ninputs ||
        d.noutputs != c->noutputs || d.and_count != c->and_count ||
        (c->ngates > 0 && memcmp(d.gates, c->gates, (size_t)c->ngates * sizeof(ward_gate)) != 0) ||
        memcmp(d.input_widths, c->input_widths, (size_t)c->ninputs * 4) != 0 ||
        memcmp(d.output_widths, c->output_widths, (size_t)c->noutputs * 4) != 0)
        abort();
    ward_circuit_free(&d);
    free(t);
}

static void check_eval(const ward_circuit *c) {
    uint8_t *in = malloc(c->input_bits + 1), *out = malloc(c->output_bits + 1);
    if (in && out) {
        memset(in, 0, c->input_bits);
        if (ward_circuit_eval_var(c, out, c->output_bits, in, c->input_bits) != WARD_OK) abort();
        for (uint32_t i = 0; i < c->output_bits; i++)
            if (out[i] > 1) abort();
        memset(in, 1, c->input_bits);
        if (ward_circuit_eval_var(c, out, c->output_bits, in, c->input_bits) != WARD_OK) abort();
        for (uint32_t i = 0; i < c->output_bits; i++)
            if (out[i] > 1) abort();
    }
    free(in);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ward_circuit c;
    ward_circuit_error err;
    int rc = ward_circuit_parse_var(&c, &err, (const char *)data, size);
    if (rc != WARD_OK) {
        if (rc != WARD_EPARSE && rc != WARD_ETOOBIG && rc != WARD_ENOMEM) abort();
        if (c.gates != NULL || c.input_widths != NULL || c.output_widths != NULL) abort();
        if (rc != WARD_ENOMEM && (err.line == 0 || memchr(err.msg, '\0', sizeof err.msg) == NULL))
            abort();
        return 0;
    }
    if (c.nwires <= (1u << 20) && c.ngates <= (1u << 20)) {
        check_well_formed(&c);
        check_round_trip(&c);
        check_eval(&c);
    }
    ward_circuit_free(&c);
    return 0;
}
