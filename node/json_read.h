/* A small, strict JSON reader (RFC 8259) for files ward reads but does not
 * write: test-vector files and similar. It parses the whole text into a
 * flat array of nodes in document order (the layout of jsmn), decoding
 * strings (escapes, surrogate pairs) into a separate buffer.
 *
 * Strict: no comments, no trailing commas, no leading zeros, no bare
 * control characters or invalid UTF-8 in strings, no lone surrogates in
 * \u escapes, nothing but whitespace after the top-level value. Bounded:
 * nesting depth at most WARD_JSON_MAX_DEPTH, input at most
 * WARD_JSON_MAX_INPUT bytes. The parser never reads outside text[0..len)
 * and needs no NUL terminator. Duplicate object keys are kept; lookups find
 * the first.
 *
 * Nodes are addressed by index; node 0 is the top-level value. An object
 * node is followed by its members as (key string, value) pairs; an array by
 * its elements; `next` skips a node's whole subtree.
 */
#ifndef WARD_JSON_READ_H
#define WARD_JSON_READ_H

#include <stddef.h>
#include <stdint.h>

#define WARD_JSON_MAX_DEPTH 64
#define WARD_JSON_MAX_INPUT ((size_t)64 << 20)

typedef enum {
    WARD_JSON_NULL = 1,
    WARD_JSON_FALSE,
    WARD_JSON_TRUE,
    WARD_JSON_NUMBER,
    WARD_JSON_STRING,
    WARD_JSON_ARRAY,
    WARD_JSON_OBJECT
} ward_json_type;

typedef struct {
    int type;        /* ward_json_type */
    size_t count;    /* ARRAY: elements; OBJECT: members */
    size_t next;     /* index of the first node after this subtree */
    size_t off;      /* STRING, NUMBER: offset of the text in doc->strings */
    size_t len;      /* STRING: decoded length; NUMBER: length of its text */
} ward_json_node;

typedef struct {
    ward_json_node *nodes;
    size_t n_nodes;
    size_t cap_nodes;
    char *strings;        /* decoded strings and number texts, each NUL-ended */
    size_t strings_len;
    size_t err_offset;    /* after a parse error: byte offset in the input */
    const char *err_msg;  /* after a parse error: a static description */
} ward_json_doc;

/* Parses text[0..len). Returns 0, WARD_EPARSE (syntax error: err_offset and
 * err_msg say where and what), WARD_ETOOBIG (input longer than
 * WARD_JSON_MAX_INPUT or nested deeper than WARD_JSON_MAX_DEPTH), WARD_ENOMEM
 * or WARD_EINVAL. On failure the document is empty (ward_json_free is still
 * safe); on success free it with ward_json_free. */
int ward_json_parse(ward_json_doc *doc, const char *text, size_t len);

void ward_json_free(ward_json_doc *doc);

/* Type of node idx, or 0 when idx is out of range. */
int ward_json_type_of(const ward_json_doc *doc, size_t idx);

/* Value of member `key` of object node obj in *out. Returns 0,
 * WARD_ENOTFOUND or WARD_EINVAL (obj is not an object). */
int ward_json_object_get(const ward_json_doc *doc, size_t *out, size_t obj,
                         const char *key);

/* Element i of array node arr in *out (linear in i; to walk an array, start
 * at arr + 1 and follow ward_json_next). Returns 0, WARD_ENOTFOUND or
 * WARD_EINVAL. */
int ward_json_array_get(const ward_json_doc *doc, size_t *out, size_t arr,
                        size_t i);

/* The node after idx's subtree: the next sibling inside an array. */
size_t ward_json_next(const ward_json_doc *doc, size_t idx);

/* The decoded string of STRING node idx (NUL-terminated; *len, if not NULL,
 * gets its length, which also counts any embedded NUL from \u0000), or NULL
 * when idx is not a string. */
const char *ward_json_string(const ward_json_doc *doc, size_t idx, size_t *len);

/* A NUMBER node that is a non-negative integer without fraction or
 * exponent. Returns 0, WARD_EINVAL (not a number), WARD_EPARSE (not such an
 * integer) or WARD_EOVERFLOW (above UINT64_MAX). */
int ward_json_get_u64(const ward_json_doc *doc, uint64_t *out, size_t idx);

/* Any NUMBER node as a double (strtod). Returns 0 or WARD_EINVAL. */
int ward_json_get_double(const ward_json_doc *doc, double *out, size_t idx);

#endif
