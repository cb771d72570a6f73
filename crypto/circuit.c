#include "circuit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Everything in this file handles public data only (circuit text, circuit
 * structure, and the values a caller evaluates in the clear), so branching
 * on it is fine. */

/* ---- text reader ------------------------------------------------------ */

typedef struct {
    const char *p;   /* start of the next unread line */
    const char *end;
    size_t line;     /* number of the line at p */
    /* the current line, after next_line() */
    const char *ls, *le;
    size_t cur_line;
    const char *tp;  /* token cursor in the current line */
} reader;

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* Makes the next line current; 0 at the end of the text. */
static int next_line(reader *r) {
    if (r->p >= r->end) return 0;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    r->ls = r->p;
    r->le = nl ? nl : r->end;
    r->cur_line = r->line;
    r->tp = r->ls;
    r->p = nl ? nl + 1 : r->end;
    if (nl) r->line++;
    return 1;
}

static int line_blank(const reader *r) {
    for (const char *s = r->ls; s < r->le; s++)
        if (!is_space(*s)) return 0;
    return 1;
}

/* Makes the next non-blank line current; 0 at the end of the text. */
static int next_content_line(reader *r) {
    while (next_line(r))
        if (!line_blank(r)) return 1;
    return 0;
}

/* The next token of the current line; 0 when the line has no more. */
static int next_token(reader *r, const char **tok, size_t *tok_len) {
    const char *s = r->tp;
    while (s < r->le && is_space(*s)) s++;
    if (s == r->le) {
        r->tp = s;
        return 0;
    }
    const char *t = s;
    while (t < r->le && !is_space(*t)) t++;
    *tok = s;
    *tok_len = (size_t)(t - s);
    r->tp = t;
    return 1;
}

static size_t count_tokens(const reader *r) {
    size_t n = 0;
    const char *s = r->ls;
    while (s < r->le) {
        while (s < r->le && is_space(*s)) s++;
        if (s == r->le) break;
        n++;
        while (s < r->le && !is_space(*s)) s++;
    }
    return n;
}

/* Decimal digits only. Values above 2^40 are clamped to 2^40 + 1, which is
 * beyond every limit here. Returns 0 for a token that is not a number. */
#define BIG_NUMBER ((uint64_t)1 << 40)
static int parse_number(uint64_t *v, const char *tok, size_t n) {
    uint64_t x = 0;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') return 0;
        x = x * 10 + (uint64_t)(tok[i] - '0');
        if (x > BIG_NUMBER) x = BIG_NUMBER + 1;
    }
    *v = x;
    return 1;
}

/* ---- errors ------------------------------------------------------------ */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(ward_circuit_error *err, int code, size_t line, const char *fmt, ...) {
    if (err) {
        err->line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A token quoted for an error message: at most 24 printable characters. */
static void quote_token(char out[32], const char *tok, size_t n) {
    size_t j = 0;
    for (size_t i = 0; i < n && j < 24; i++) {
        unsigned char ch = (unsigned char)tok[i];
        out[j++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (n > 24) {
        out[j++] = '.';
        out[j++] = '.';
        out[j++] = '.';
    }
    out[j] = '\0';
}

/* ---- parser ------------------------------------------------------------ */

void ward_circuit_free(ward_circuit *c) {
    if (!c) return;
    free(c->gates);
    free(c->input_widths);
    free(c->output_widths);
    memset(c, 0, sizeof *c);
}

typedef struct {
    reader r;
    ward_circuit_error *err;
    ward_circuit *c;
    uint64_t *assigned; /* bit per wire */
    size_t gates_cap;
    const char **tok;   /* the current gate line's fields */
    uint32_t *tok_len;
    size_t tok_cap;
} parser;

static int wire_assigned(const parser *ps, uint32_t w) {
    return (int)((ps->assigned[w >> 6] >> (w & 63)) & 1);
}

static void wire_assign(parser *ps, uint32_t w) {
    ps->assigned[w >> 6] |= (uint64_t)1 << (w & 63);
}

/* Reads a header line: exactly two numbers. */
static int parse_first_line(parser *ps, uint64_t *ngates, uint64_t *nwires) {
    reader *r = &ps->r;
    const char *tok = NULL;
    size_t n = 0;
    char q[32];
    if (!next_content_line(r))
        return fail(ps->err, WARD_EPARSE, r->line, "empty file: expected 'ngates nwires'");
    size_t line = r->cur_line;
    if (count_tokens(r) != 2)
        return fail(ps->err, WARD_EPARSE, line,
                    "expected two numbers 'ngates nwires', found %zu fields", count_tokens(r));
    next_token(r, &tok, &n);
    if (!parse_number(ngates, tok, n)) {
        quote_token(q, tok, n);
        return fail(ps->err, WARD_EPARSE, line, "bad gate count '%s'", q);
    }
    next_token(r, &tok, &n);
    if (!parse_number(nwires, tok, n)) {
        quote_token(q, tok, n);
        return fail(ps->err, WARD_EPARSE, line, "bad wire count '%s'", q);
    }
    if (*ngates > WARD_CIRCUIT_MAX_GATES)
        return fail(ps->err, WARD_ETOOBIG, line, "gate count exceeds the limit of %u",
                    WARD_CIRCUIT_MAX_GATES);
    if (*nwires > WARD_CIRCUIT_MAX_WIRES)
        return fail(ps->err, WARD_ETOOBIG, line, "wire count exceeds the limit of %u",
                    WARD_CIRCUIT_MAX_WIRES);
    if (*nwires == 0) return fail(ps->err, WARD_EPARSE, line, "wire count must be at least 1");
    return WARD_OK;
}

/* Reads "n w_1 ... w_n" for the inputs or the outputs. */
static int parse_widths(parser *ps, const char *what, uint32_t *count, uint32_t **widths,
                        uint32_t *total, size_t *line_out) {
    reader *r = &ps->r;
    const char *tok = NULL;
    size_t n = 0;
    char q[32];
    uint64_t v;
    if (!next_content_line(r))
        return fail(ps->err, WARD_EPARSE, r->line, "file ends before the %s line", what);
    size_t line = r->cur_line;
    *line_out = line;
    size_t ntok = count_tokens(r);
    next_token(r, &tok, &n);
    if (!parse_number(&v, tok, n)) {
        quote_token(q, tok, n);
        return fail(ps->err, WARD_EPARSE, line, "bad %s count '%s'", what, q);
    }
    if (v == 0) return fail(ps->err, WARD_EPARSE, line, "%s count must be at least 1", what);
    if (v > ps->c->nwires)
        return fail(ps->err, WARD_EPARSE, line, "%s count %llu exceeds the wire count %u", what,
                    (unsigned long long)v, ps->c->nwires);
    if (ntok - 1 != v)
        return fail(ps->err, WARD_EPARSE, line, "%s count is %llu but %zu widths follow", what,
                    (unsigned long long)v, ntok - 1);
    *count = (uint32_t)v;
    *widths = malloc((size_t)v * sizeof **widths);
    if (!*widths) return fail(ps->err, WARD_ENOMEM, 0, "out of memory");
    uint64_t sum = 0;
    for (uint32_t i = 0; i < *count; i++) {
        next_token(r, &tok, &n);
        if (!parse_number(&v, tok, n)) {
            quote_token(q, tok, n);
            return fail(ps->err, WARD_EPARSE, line, "bad %s width '%s'", what, q);
        }
        if (v == 0) return fail(ps->err, WARD_EPARSE, line, "%s width must be at least 1", what);
        sum += v; /* each v <= 2^40 + 1, count <= 2^28: no overflow */
        if (sum > ps->c->nwires)
            return fail(ps->err, WARD_EPARSE, line, "%s widths sum beyond the wire count %u",
                        what, ps->c->nwires);
        (*widths)[i] = (uint32_t)v;
    }
    *total = (uint32_t)sum;
    return WARD_OK;
}

static int reserve_gates(parser *ps, size_t need) {
    ward_circuit *c = ps->c;
    if ((size_t)c->ngates + need <= ps->gates_cap) return WARD_OK;
    size_t cap = ps->gates_cap ? ps->gates_cap : 64;
    while (cap < (size_t)c->ngates + need) cap *= 2;
    if (cap > WARD_CIRCUIT_MAX_GATES) cap = WARD_CIRCUIT_MAX_GATES;
    ward_gate *g = realloc(c->gates, cap * sizeof *g);
    if (!g) return fail(ps->err, WARD_ENOMEM, 0, "out of memory");
    c->gates = g;
    ps->gates_cap = cap;
    return WARD_OK;
}

enum { OP_XOR, OP_AND, OP_INV, OP_EQ, OP_EQW, OP_MAND, OP_UNKNOWN };

static int op_from_token(const char *tok, size_t n) {
    static const char *const names[] = {"XOR", "AND", "INV", "EQ", "EQW", "MAND"};
    for (int i = 0; i < OP_UNKNOWN; i++)
        if (strlen(names[i]) == n && memcmp(names[i], tok, n) == 0) return i;
    return OP_UNKNOWN;
}

/* Splits the current line into ps->tok / ps->tok_len. */
static int tokenize(parser *ps, size_t *ntok) {
    const char *s = ps->r.ls, *e = ps->r.le;
    size_t n = 0;
    while (s < e) {
        while (s < e && is_space(*s)) s++;
        if (s == e) break;
        const char *t = s;
        while (t < e && !is_space(*t)) t++;
        if (n == ps->tok_cap) {
            /* A token takes at least two bytes with its separator, so the
             * text bounds this. */
            size_t cap = ps->tok_cap ? 2 * ps->tok_cap : 16;
            const char **nt = realloc(ps->tok, cap * sizeof *nt);
            if (!nt) return fail(ps->err, WARD_ENOMEM, 0, "out of memory");
            ps->tok = nt;
            uint32_t *nl = realloc(ps->tok_len, cap * sizeof *nl);
            if (!nl) return fail(ps->err, WARD_ENOMEM, 0, "out of memory");
            ps->tok_len = nl;
            ps->tok_cap = cap;
        }
        ps->tok[n] = s;
        ps->tok_len[n] = (uint32_t)((size_t)(t - s) > UINT32_MAX ? UINT32_MAX : (size_t)(t - s));
        n++;
        s = t;
    }
    *ntok = n;
    return WARD_OK;
}

/* Token i as a wire that a gate reads (is_input) or writes. */
static int parse_wire(parser *ps, uint32_t *w, size_t i, int is_input) {
    uint64_t v;
    char q[32];
    size_t line = ps->r.cur_line;
    if (!parse_number(&v, ps->tok[i], ps->tok_len[i])) {
        quote_token(q, ps->tok[i], ps->tok_len[i]);
        return fail(ps->err, WARD_EPARSE, line, "bad wire number '%s'", q);
    }
    if (v >= ps->c->nwires)
        return fail(ps->err, WARD_EPARSE, line, "wire %llu out of range (the circuit has %u wires)",
                    (unsigned long long)v, ps->c->nwires);
    *w = (uint32_t)v;
    if (is_input && !wire_assigned(ps, *w))
        return fail(ps->err, WARD_EPARSE, line,
                    "wire %u is read before it is assigned (gates must be in topological order)",
                    *w);
    if (!is_input && wire_assigned(ps, *w)) {
        if (*w < ps->c->input_bits)
            return fail(ps->err, WARD_EPARSE, line, "wire %u is an input and cannot be assigned",
                        *w);
        return fail(ps->err, WARD_EPARSE, line, "wire %u is assigned twice", *w);
    }
    return WARD_OK;
}

static int parse_gate(parser *ps) {
    static const char *const names[] = {"XOR", "AND", "INV", "EQ", "EQW", "MAND"};
    ward_circuit *c = ps->c;
    size_t line = ps->r.cur_line;
    char q[32];
    uint64_t nin, nout;
    size_t ntok = 0;
    int rc;

    if ((rc = tokenize(ps, &ntok)) != WARD_OK) return rc;
    if (ntok < 3)
        return fail(ps->err, WARD_EPARSE, line,
                    "incomplete gate line (expected 'nin nout inputs... outputs... OP')");
    /* The operation is the last field. */
    const char *op_tok = ps->tok[ntok - 1];
    size_t op_len = ps->tok_len[ntok - 1];
    int op = op_from_token(op_tok, op_len);
    if (!parse_number(&nin, ps->tok[0], ps->tok_len[0])) {
        quote_token(q, ps->tok[0], ps->tok_len[0]);
        return fail(ps->err, WARD_EPARSE, line, "bad input count '%s'", q);
    }
    if (!parse_number(&nout, ps->tok[1], ps->tok_len[1])) {
        quote_token(q, ps->tok[1], ps->tok_len[1]);
        return fail(ps->err, WARD_EPARSE, line, "bad output count '%s'", q);
    }
    if (op == OP_UNKNOWN) {
        quote_token(q, op_tok, op_len);
        return fail(ps->err, WARD_EPARSE, line, "unknown gate operation '%s'", q);
    }
    switch (op) {
    case OP_XOR:
    case OP_AND:
        if (nin != 2 || nout != 1)
            return fail(ps->err, WARD_EPARSE, line,
                        "%s takes 2 inputs and 1 output, not %llu and %llu", names[op],
                        (unsigned long long)nin, (unsigned long long)nout);
        break;
    case OP_INV:
    case OP_EQ:
    case OP_EQW:
        if (nin != 1 || nout != 1)
            return fail(ps->err, WARD_EPARSE, line,
                        "%s takes 1 input and 1 output, not %llu and %llu", names[op],
                        (unsigned long long)nin, (unsigned long long)nout);
        break;
    default: /* MAND */
        if (nout == 0 || nin != 2 * nout)
            return fail(ps->err, WARD_EPARSE, line,
                        "MAND takes 2k inputs and k outputs (k >= 1), not %llu and %llu",
                        (unsigned long long)nin, (unsigned long long)nout);
        break;
    }
    if ((uint64_t)ntok != 3 + nin + nout)
        return fail(ps->err, WARD_EPARSE, line,
                    "expected %llu fields for %llu inputs and %llu outputs, found %zu",
                    (unsigned long long)(3 + nin + nout), (unsigned long long)nin,
                    (unsigned long long)nout, ntok);
    /* From here nin + nout < ntok, which the line length bounds. */
    if ((uint64_t)c->ngates + nout > WARD_CIRCUIT_MAX_GATES)
        return fail(ps->err, WARD_ETOOBIG, line, "more than %u gates after expanding MAND",
                    WARD_CIRCUIT_MAX_GATES);
    if ((rc = reserve_gates(ps, (size_t)nout)) != WARD_OK) return rc;
    ward_gate *g = c->gates + c->ngates;

    if (op == OP_MAND) {
        size_t k = (size_t)nout;
        /* All inputs are read before any output is written. */
        for (size_t i = 0; i < k; i++) {
            g[i].op = WARD_GATE_AND;
            if ((rc = parse_wire(ps, &g[i].in0, 2 + i, 1)) != WARD_OK) return rc;
            if ((rc = parse_wire(ps, &g[i].in1, 2 + k + i, 1)) != WARD_OK) return rc;
        }
        for (size_t i = 0; i < k; i++) {
            if ((rc = parse_wire(ps, &g[i].out, 2 + 2 * k + i, 0)) != WARD_OK) return rc;
            wire_assign(ps, g[i].out);
        }
        c->ngates += (uint32_t)k;
        c->and_count += (uint32_t)k;
        return WARD_OK;
    }

    g->in1 = 0;
    if (op == OP_EQ) {
        uint64_t v;
        if (!parse_number(&v, ps->tok[2], ps->tok_len[2]) || v > 1) {
            quote_token(q, ps->tok[2], ps->tok_len[2]);
            return fail(ps->err, WARD_EPARSE, line,
                        "EQ takes the constant 0 or 1, not '%s' (EQW copies a wire)", q);
        }
        g->in0 = (uint32_t)v;
    } else {
        if ((rc = parse_wire(ps, &g->in0, 2, 1)) != WARD_OK) return rc;
        if (nin == 2 && (rc = parse_wire(ps, &g->in1, 3, 1)) != WARD_OK) return rc;
    }
    if ((rc = parse_wire(ps, &g->out, 2 + (size_t)nin, 0)) != WARD_OK) return rc;
    wire_assign(ps, g->out);
    switch (op) {
    case OP_XOR: g->op = WARD_GATE_XOR; c->xor_count++; break;
    case OP_AND: g->op = WARD_GATE_AND; c->and_count++; break;
    case OP_INV: g->op = WARD_GATE_INV; c->inv_count++; break;
    case OP_EQ: g->op = WARD_GATE_EQ; c->eq_count++; break;
    default: g->op = WARD_GATE_EQW; c->eqw_count++; break;
    }
    c->ngates++;
    return WARD_OK;
}

static int parse_body(parser *ps) {
    ward_circuit *c = ps->c;
    reader *r = &ps->r;
    uint64_t ngates = 0, nwires = 0;
    size_t in_line = 0, out_line = 0;
    int rc;

    if ((rc = parse_first_line(ps, &ngates, &nwires)) != WARD_OK) return rc;
    c->nwires = (uint32_t)nwires;
    if ((rc = parse_widths(ps, "input", &c->ninputs, &c->input_widths, &c->input_bits,
                           &in_line)) != WARD_OK)
        return rc;
    if ((rc = parse_widths(ps, "output", &c->noutputs, &c->output_widths, &c->output_bits,
                           &out_line)) != WARD_OK)
        return rc;

    ps->assigned = calloc(((size_t)nwires + 63) / 64, sizeof *ps->assigned);
    if (!ps->assigned) return fail(ps->err, WARD_ENOMEM, 0, "out of memory");
    for (uint32_t w = 0; w < c->input_bits; w++) wire_assign(ps, w);

    /* Never trust the header for the allocation: a gate line takes at
     * least 10 bytes, so the text bounds the array until MAND lines grow
     * it. */
    size_t first_cap = (size_t)(r->end - r->p) / 10 + 1;
    if (first_cap > ngates) first_cap = (size_t)ngates;
    if (first_cap > 0 && (rc = reserve_gates(ps, first_cap)) != WARD_OK) return rc;

    for (uint64_t i = 0; i < ngates; i++) {
        if (!next_content_line(r))
            return fail(ps->err, WARD_EPARSE, r->line,
                        "file ends after %llu of %llu gates", (unsigned long long)i,
                        (unsigned long long)ngates);
        if ((rc = parse_gate(ps)) != WARD_OK) return rc;
    }
    if (next_content_line(r))
        return fail(ps->err, WARD_EPARSE, r->cur_line,
                    "unexpected text after the last of %llu gates", (unsigned long long)ngates);
    for (uint32_t w = c->nwires - c->output_bits; w < c->nwires; w++)
        if (!wire_assigned(ps, w))
            return fail(ps->err, WARD_EPARSE, out_line, "output wire %u is never assigned", w);
    (void)in_line;
    return WARD_OK;
}

int ward_circuit_parse_var(ward_circuit *c, ward_circuit_error *err, const char *text,
                           size_t len) {
    WARD_ARG_CHECK(c != NULL);
    memset(c, 0, sizeof *c);
    WARD_ARG_CHECK(text != NULL || len == 0);
    if (err) {
        err->line = 0;
        err->msg[0] = '\0';
    }
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.r.p = text;
    ps.r.end = text + len;
    ps.r.line = 1;
    ps.err = err;
    ps.c = c;
    int rc = parse_body(&ps);
    free(ps.assigned);
    free(ps.tok);
    free(ps.tok_len);
    if (rc != WARD_OK) {
        ward_circuit_free(c);
        return rc;
    }
    /* Give back the slack of the growth policy. */
    if (ps.gates_cap > c->ngates && c->ngates > 0) {
        ward_gate *g = realloc(c->gates, (size_t)c->ngates * sizeof *g);
        if (g) c->gates = g;
    }
    return WARD_OK;
}

/* ---- evaluation -------------------------------------------------------- */

static void run_gates(const ward_circuit *c, uint8_t *w) {
    if (c->ngates == 0) return;
    const ward_gate *g = c->gates, *end = c->gates + c->ngates;
    for (; g < end; g++) {
        switch (g->op) {
        case WARD_GATE_XOR: w[g->out] = w[g->in0] ^ w[g->in1]; break;
        case WARD_GATE_AND: w[g->out] = w[g->in0] & w[g->in1]; break;
        case WARD_GATE_INV: w[g->out] = w[g->in0] ^ 1; break;
        case WARD_GATE_EQ: w[g->out] = (uint8_t)g->in0; break;
        default: w[g->out] = w[g->in0]; break;
        }
    }
}

int ward_circuit_eval_var(const ward_circuit *c, uint8_t *out_bits, size_t out_len,
                          const uint8_t *in_bits, size_t in_len) {
    WARD_ARG_CHECK(c != NULL && c->nwires > 0);
    WARD_ARG_CHECK(in_len == c->input_bits && out_len == c->output_bits);
    WARD_ARG_CHECK((in_bits != NULL || in_len == 0) && (out_bits != NULL || out_len == 0));
    for (size_t i = 0; i < in_len; i++) WARD_ARG_CHECK(in_bits[i] <= 1);
    uint8_t *w = calloc(c->nwires, 1);
    if (!w) return WARD_ENOMEM;
    memcpy(w, in_bits, in_len);
    run_gates(c, w);
    memcpy(out_bits, w + (c->nwires - c->output_bits), out_len);
    free(w);
    return WARD_OK;
}

size_t ward_circuit_packed_len(const uint32_t *widths, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += ((size_t)widths[i] + 7) / 8;
    return total;
}

int ward_circuit_eval_bytes_var(const ward_circuit *c, uint8_t *out, size_t out_len,
                                const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(c != NULL && c->nwires > 0);
    WARD_ARG_CHECK(in_len == ward_circuit_packed_len(c->input_widths, c->ninputs));
    WARD_ARG_CHECK(out_len == ward_circuit_packed_len(c->output_widths, c->noutputs));
    WARD_ARG_CHECK((in != NULL || in_len == 0) && (out != NULL || out_len == 0));
    uint8_t *w = calloc(c->nwires, 1);
    if (!w) return WARD_ENOMEM;
    size_t wi = 0, bi = 0;
    for (uint32_t j = 0; j < c->ninputs; j++) {
        uint32_t width = c->input_widths[j];
        for (uint32_t k = 0; k < width; k++) w[wi++] = (uint8_t)((in[bi + k / 8] >> (k % 8)) & 1);
        if (width % 8 != 0 && (in[bi + width / 8] >> (width % 8)) != 0) {
            free(w);
            return WARD_EINVAL;
        }
        bi += ((size_t)width + 7) / 8;
    }
    run_gates(c, w);
    memset(out, 0, out_len);
    wi = c->nwires - c->output_bits;
    bi = 0;
    for (uint32_t j = 0; j < c->noutputs; j++) {
        uint32_t width = c->output_widths[j];
        for (uint32_t k = 0; k < width; k++)
            out[bi + k / 8] |= (uint8_t)(w[wi++] << (k % 8));
        bi += ((size_t)width + 7) / 8;
    }
    free(w);
    return WARD_OK;
}

/* ---- hex --------------------------------------------------------------- */

static int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

int ward_circuit_hex_to_bits_var(uint8_t *bits, size_t width, const char *hex,
                                 size_t hex_len) {
    WARD_ARG_CHECK(hex != NULL && (bits != NULL || width == 0));
    if (hex_len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
        hex += 2;
        hex_len -= 2;
    }
    if (hex_len == 0) return WARD_EPARSE;
    for (size_t i = 0; i < hex_len; i++)
        if (hex_value(hex[i]) < 0) return WARD_EPARSE;
    /* Check the width before writing, so bits is untouched on failure. */
    size_t top = 0; /* bit length of the value */
    for (size_t i = 0; i < hex_len; i++) {
        int v = hex_value(hex[i]);
        if (v == 0) continue;
        size_t digits_after = hex_len - 1 - i;
        size_t bl = v >= 8 ? 4 : v >= 4 ? 3 : v >= 2 ? 2 : 1;
        if (digits_after > width / 4) return WARD_EOVERFLOW; /* then 4 * digits_after > width */
        top = 4 * digits_after + bl;
        break;
    }
    if (top > width) return WARD_EOVERFLOW;
    memset(bits, 0, width);
    for (size_t d = 0; d < hex_len && 4 * d < top; d++) { /* d-th digit from the right */
        int v = hex_value(hex[hex_len - 1 - d]);
        for (size_t k = 0; k < 4 && 4 * d + k < width; k++) bits[4 * d + k] = (uint8_t)((v >> k) & 1);
    }
    return WARD_OK;
}

int ward_circuit_bits_to_hex_var(char *out, size_t out_cap, const uint8_t *bits,
                                 size_t width) {
    static const char digits[] = "0123456789abcdef";
    WARD_ARG_CHECK(out != NULL && (bits != NULL || width == 0));
    size_t nd = width / 4 + (width % 4 != 0);
    WARD_ARG_CHECK(out_cap > nd);
    for (size_t i = 0; i < width; i++) WARD_ARG_CHECK(bits[i] <= 1);
    for (size_t d = 0; d < nd; d++) { /* d-th digit from the right */
        unsigned v = 0;
        for (size_t k = 0; k < 4 && 4 * d + k < width; k++) v |= (unsigned)bits[4 * d + k] << k;
        out[nd - 1 - d] = digits[v];
    }
    out[nd] = '\0';
    return WARD_OK;
}

/* ---- writer ------------------------------------------------------------ */

typedef struct {
    char *out; /* NULL: only count */
    size_t cap, len;
} sink;

static void put(sink *s, const char *str, size_t n) {
    if (s->out && s->len + n <= s->cap) memcpy(s->out + s->len, str, n);
    s->len += n;
}

static void put_u32(sink *s, uint32_t v, char after) {
    char buf[12];
    size_t i = sizeof buf;
    buf[--i] = after;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(s, buf + i, sizeof buf - i);
}

int ward_circuit_write_var(const ward_circuit *c, char *out, size_t out_cap, size_t *out_len) {
    WARD_ARG_CHECK(c != NULL && out_len != NULL && c->ninputs > 0 && c->noutputs > 0);
    WARD_ARG_CHECK(c->gates != NULL || c->ngates == 0);
    sink s = {out, out_cap, 0};
    put_u32(&s, c->ngates, ' ');
    put_u32(&s, c->nwires, '\n');
    put_u32(&s, c->ninputs, ' ');
    for (uint32_t i = 0; i < c->ninputs; i++)
        put_u32(&s, c->input_widths[i], i + 1 < c->ninputs ? ' ' : '\n');
    put_u32(&s, c->noutputs, ' ');
    for (uint32_t i = 0; i < c->noutputs; i++)
        put_u32(&s, c->output_widths[i], i + 1 < c->noutputs ? ' ' : '\n');
    put(&s, "\n", 1);
    for (uint32_t i = 0; i < c->ngates; i++) {
        const ward_gate *g = &c->gates[i];
        switch (g->op) {
        case WARD_GATE_XOR:
        case WARD_GATE_AND:
            put(&s, "2 1 ", 4);
            put_u32(&s, g->in0, ' ');
            put_u32(&s, g->in1, ' ');
            put_u32(&s, g->out, ' ');
            put(&s, g->op == WARD_GATE_XOR ? "XOR\n" : "AND\n", 4);
            break;
        case WARD_GATE_INV:
        case WARD_GATE_EQ:
        case WARD_GATE_EQW:
            put(&s, "1 1 ", 4);
            put_u32(&s, g->in0, ' ');
            put_u32(&s, g->out, ' ');
            if (g->op == WARD_GATE_INV) put(&s, "INV\n", 4);
            else if (g->op == WARD_GATE_EQ) put(&s, "EQ\n", 3);
            else put(&s, "EQW\n", 4);
            break;
        default:
            return WARD_EINVAL;
        }
    }
    *out_len = s.len;
    if (out && s.len > out_cap) return WARD_ETOOBIG;
    return WARD_OK;
}
