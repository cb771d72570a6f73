#include "json_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    ward_json_doc *doc;
} parser;

static int fail(parser *p, const char *msg) {
    p->doc->err_offset = p->pos;
    p->doc->err_msg = msg;
    return WARD_EPARSE;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Appends a node and returns its index in *idx. Each node consumes at least
 * one input byte, so n_nodes <= len and the size computations cannot
 * overflow. */
static int new_node(parser *p, int type, size_t *idx) {
    ward_json_doc *d = p->doc;
    if (d->n_nodes == d->cap_nodes) {
        size_t cap = d->cap_nodes ? 2 * d->cap_nodes : 64;
        if (cap > p->len + 1) cap = p->len + 1;
        if (cap <= d->n_nodes) cap = d->n_nodes + 1;
        ward_json_node *n = realloc(d->nodes, cap * sizeof *n);
        if (n == NULL) return WARD_ENOMEM;
        d->nodes = n;
        d->cap_nodes = cap;
    }
    *idx = d->n_nodes++;
    memset(&d->nodes[*idx], 0, sizeof d->nodes[*idx]);
    d->nodes[*idx].type = type;
    return WARD_OK;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, unsigned *out) {
    if (p->len - p->pos < 4) return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[p->pos + (size_t)i]);
        if (h < 0) return fail(p, "bad hex digit in \\u escape");
        v = (v << 4) | (unsigned)h;
    }
    p->pos += 4;
    *out = v;
    return WARD_OK;
}

static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at s[0..avail), or 0 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    size_t n;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* Parses a string starting at the opening quote into a new STRING node. */
static int parse_string(parser *p) {
    size_t idx;
    int rc = new_node(p, WARD_JSON_STRING, &idx);
    if (rc != WARD_OK) return rc;
    ward_json_doc *d = p->doc;
    char *out = d->strings + d->strings_len;
    size_t o = 0;
    p->pos++; /* opening quote */
    for (;;) {
        if (p->pos >= p->len) return fail(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) return fail(p, "control character in string");
        if (c != '\\') {
            size_t n = utf8_seq((const unsigned char *)p->s + p->pos,
                                p->len - p->pos);
            if (n == 0) return fail(p, "invalid UTF-8 in string");
            memcpy(out + o, p->s + p->pos, n);
            o += n;
            p->pos += n;
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) return fail(p, "unterminated escape");
        char e = p->s[p->pos++];
        switch (e) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/': out[o++] = '/'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            rc = read_hex4(p, &cp);
            if (rc != WARD_OK) return rc;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(p, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
                    p->s[p->pos + 1] != 'u')
                    return fail(p, "lone high surrogate in \\u escape");
                p->pos += 2;
                rc = read_hex4(p, &lo);
                if (rc != WARD_OK) return rc;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail(p, "bad low surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            p->pos--;
            return fail(p, "bad escape in string");
        }
    }
    /* Decoded bytes plus NUL never exceed the raw bytes with both quotes,
     * so the buffer of len + 1 bytes cannot overflow. */
    out[o] = '\0';
    d->nodes[idx].off = d->strings_len;
    d->nodes[idx].len = o;
    d->nodes[idx].next = idx + 1;
    d->strings_len += o + 1;
    return WARD_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p) {
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len || !is_digit(p->s[p->pos]))
        return fail(p, "bad number");
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->len && is_digit(p->s[p->pos]))
            return fail(p, "leading zero in number");
    } else {
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad fraction in number");
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos]))
            return fail(p, "bad exponent in number");
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    size_t idx;
    int rc = new_node(p, WARD_JSON_NUMBER, &idx);
    if (rc != WARD_OK) return rc;
    ward_json_doc *d = p->doc;
    size_t n = p->pos - start;
    /* A number is followed by a delimiter or the end of input, so its text
     * plus NUL fits the len + 1 buffer too. */
    memcpy(d->strings + d->strings_len, p->s + start, n);
    d->strings[d->strings_len + n] = '\0';
    d->nodes[idx].off = d->strings_len;
    d->nodes[idx].len = n;
    d->nodes[idx].next = idx + 1;
    d->strings_len += n + 1;
    return WARD_OK;
}

static int parse_literal(parser *p, const char *word, int type) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "unexpected character");
    p->pos += n;
    size_t idx;
    int rc = new_node(p, type, &idx);
    if (rc == WARD_OK) p->doc->nodes[idx].next = idx + 1;
    return rc;
}

static int parse_value(parser *p, size_t depth);

static int parse_container(parser *p, size_t depth, int is_object) {
    if (depth >= WARD_JSON_MAX_DEPTH) {
        p->doc->err_offset = p->pos;
        p->doc->err_msg = "nesting too deep";
        return WARD_ETOOBIG;
    }
    size_t idx;
    int rc = new_node(p, is_object ? WARD_JSON_OBJECT : WARD_JSON_ARRAY, &idx);
    if (rc != WARD_OK) return rc;
    char close = is_object ? '}' : ']';
    size_t count = 0;
    p->pos++; /* opening bracket */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            if (is_object) {
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != '"')
                    return fail(p, "expected a string key");
                rc = parse_string(p);
                if (rc != WARD_OK) return rc;
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != ':')
                    return fail(p, "expected ':'");
                p->pos++;
            }
            rc = parse_value(p, depth + 1);
            if (rc != WARD_OK) return rc;
            count++;
            skip_ws(p);
            if (p->pos >= p->len) return fail(p, "unexpected end of input");
            char c = p->s[p->pos];
            if (c == ',') {
                p->pos++;
                continue;
            }
            if (c == close) {
                p->pos++;
                break;
            }
            return fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    p->doc->nodes[idx].count = count;
    p->doc->nodes[idx].next = p->doc->n_nodes;
    return WARD_OK;
}

static int parse_value(parser *p, size_t depth) {
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, "unexpected end of input");
    char c = p->s[p->pos];
    switch (c) {
    case '{': return parse_container(p, depth, 1);
    case '[': return parse_container(p, depth, 0);
    case '"': return parse_string(p);
    case 't': return parse_literal(p, "true", WARD_JSON_TRUE);
    case 'f': return parse_literal(p, "false", WARD_JSON_FALSE);
    case 'n': return parse_literal(p, "null", WARD_JSON_NULL);
    default:
        if (c == '-' || is_digit(c)) return parse_number(p);
        return fail(p, "unexpected character");
    }
}

int ward_json_parse(ward_json_doc *doc, const char *text, size_t len) {
    WARD_ARG_CHECK(doc != NULL && (text != NULL || len == 0));
    memset(doc, 0, sizeof *doc);
    if (len > WARD_JSON_MAX_INPUT) {
        doc->err_msg = "input too large";
        return WARD_ETOOBIG;
    }
    doc->strings = malloc(len + 1);
    if (doc->strings == NULL) return WARD_ENOMEM;

    parser p = {text, len, 0, doc};
    int rc = parse_value(&p, 0);
    if (rc == WARD_OK) {
        skip_ws(&p);
        if (p.pos != len) rc = fail(&p, "trailing characters after the value");
    }
    if (rc != WARD_OK) {
        size_t off = doc->err_offset;
        const char *msg = doc->err_msg;
        if (rc == WARD_ENOMEM) {
            off = p.pos;
            msg = "out of memory";
        }
        ward_json_free(doc);
        doc->err_offset = off;
        doc->err_msg = msg;
        return rc;
    }
    return WARD_OK;
}

void ward_json_free(ward_json_doc *doc) {
    if (doc == NULL) return;
    free(doc->nodes);
    free(doc->strings);
    memset(doc, 0, sizeof *doc);
}

int ward_json_type_of(const ward_json_doc *doc, size_t idx) {
    if (doc == NULL || idx >= doc->n_nodes) return 0;
    return doc->nodes[idx].type;
}

size_t ward_json_next(const ward_json_doc *doc, size_t idx) {
    if (doc == NULL || idx >= doc->n_nodes) return idx + 1;
    return doc->nodes[idx].next;
}

int ward_json_object_get(const ward_json_doc *doc, size_t *out, size_t obj,
                         const char *key) {
    WARD_ARG_CHECK(doc != NULL && out != NULL && key != NULL);
    WARD_ARG_CHECK(ward_json_type_of(doc, obj) == WARD_JSON_OBJECT);
    size_t klen = strlen(key);
    size_t k = obj + 1;
    for (size_t i = 0; i < doc->nodes[obj].count; i++) {
        const ward_json_node *kn = &doc->nodes[k];
        size_t v = k + 1;
        if (kn->len == klen && memcmp(doc->strings + kn->off, key, klen) == 0) {
            *out = v;
            return WARD_OK;
        }
        k = doc->nodes[v].next;
    }
    return WARD_ENOTFOUND;
}

int ward_json_array_get(const ward_json_doc *doc, size_t *out, size_t arr,
                        size_t i) {
    WARD_ARG_CHECK(doc != NULL && out != NULL);
    WARD_ARG_CHECK(ward_json_type_of(doc, arr) == WARD_JSON_ARRAY);
    if (i >= doc->nodes[arr].count) return WARD_ENOTFOUND;
    size_t e = arr + 1;
    for (size_t j = 0; j < i; j++) e = doc->nodes[e].next;
    *out = e;
    return WARD_OK;
}

const char *ward_json_string(const ward_json_doc *doc, size_t idx, size_t *len) {
    if (ward_json_type_of(doc, idx) != WARD_JSON_STRING) return NULL;
    if (len != NULL) *len = doc->nodes[idx].len;
    return doc->strings + doc->nodes[idx].off;
}

int ward_json_get_u64(const ward_json_doc *doc, uint64_t *out, size_t idx) {
    WARD_ARG_CHECK(out != NULL);
    WARD_ARG_CHECK(ward_json_type_of(doc, idx) == WARD_JSON_NUMBER);
    const char *s = doc->strings + doc->nodes[idx].off;
    size_t n = doc->nodes[idx].len;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return WARD_EPARSE;
        uint64_t dgt = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10) return WARD_EOVERFLOW;
        v = v * 10 + dgt;
    }
    *out = v;
    return WARD_OK;
}

int ward_json_get_double(const ward_json_doc *doc, double *out, size_t idx) {
    WARD_ARG_CHECK(out != NULL);
    WARD_ARG_CHECK(ward_json_type_of(doc, idx) == WARD_JSON_NUMBER);
    errno = 0;
    *out = strtod(doc->strings + doc->nodes[idx].off, NULL);
    return WARD_OK;
}
