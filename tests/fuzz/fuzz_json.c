/* Fuzzes the JSON reader (node/json_read.h), which reads test-vector files
 * and the details of audit entries (a tampered database is outside input):
 * any bytes give a document or a clean error with its offset inside the
 * input, and a document's node tree is consistent: every `next` moves
 * forward and stays within the nodes, containers hold exactly their
 * counted children, and every string and number lies inside the decoded
 * buffer, NUL-ended. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks the subtree at i; returns the index after it. */
static size_t walk(const ward_json_doc *d, size_t i, unsigned depth) {
    if (i >= d->n_nodes || depth > WARD_JSON_MAX_DEPTH + 1) abort();
    const ward_json_node *n = &d->nodes[i];
    if (n->next <= i || n->next > d->n_nodes) abort();
    size_t j = i + 1;
    switch (n->type) {
    case WARD_JSON_OBJECT:
        for (size_t k = 0; k < n->count; k++) {
            if (j >= d->n_nodes || d->nodes[j].type != WARD_JSON_STRING) abort();
            j = walk(d, j, depth + 1);
            j = walk(d, j, depth + 1);
        }
        break;
    case WARD_JSON_ARRAY:
        for (size_t k = 0; k < n->count; k++) j = walk(d, j, depth + 1);
        break;
    case WARD_JSON_STRING:
    case WARD_JSON_NUMBER:
        if (n->off + n->len >= d->strings_len || d->strings[n->off + n->len] != '\0') abort();
        break;
    case WARD_JSON_NULL:
    case WARD_JSON_FALSE:
    case WARD_JSON_TRUE:
        break;
    default:
        abort();
    }
    if (j != n->next) abort();
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ward_json_doc d;
    int rc = ward_json_parse(&d, (const char *)data, size);
    if (rc != WARD_OK) {
        if (rc == WARD_EPARSE && (d.err_msg == NULL || d.err_offset > size)) abort();
        ward_json_free(&d);
        return 0;
    }
    if (d.n_nodes == 0 || walk(&d, 0, 0) != d.n_nodes) abort();
    /* The typed getters on every node: they refuse or answer, never crash. */
    for (size_t i = 0; i < d.n_nodes; i++) {
        uint64_t u;
        double x;
        (void)ward_json_get_u64(&d, &u, i);
        (void)ward_json_get_double(&d, &x, i);
        size_t out;
        if (d.nodes[i].type == WARD_JSON_OBJECT) (void)ward_json_object_get(&d, &out, i, "ledger_seq");
        if (d.nodes[i].type == WARD_JSON_ARRAY) (void)ward_json_array_get(&d, &out, i, 0);
    }
    ward_json_free(&d);
    return 0;
}
