#include "envelope.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"

/* ---- allocation -------------------------------------------------------- */

/* Decoded messages hold shares, so everything protobuf-c frees is wiped
 * first. The free callback gets no size; malloc_usable_size (glibc) covers
 * at least the requested bytes. */
static void *wire_alloc(void *data, size_t size) {
    void *p = malloc(size ? size : 1);
    if (p == NULL && data != NULL) *(int *)data = 1;
    return p;
}

static void wire_free(void *data, void *p) {
    (void)data;
    if (p == NULL) return;
    sodium_memzero(p, malloc_usable_size(p));
    free(p);
}

static ProtobufCAllocator wiping_allocator = {wire_alloc, wire_free, NULL};

/* An allocator that records allocation failure, so that a NULL from
 * protobuf_c_message_unpack can be told apart: out of memory or bad input. */
typedef struct {
    ProtobufCAllocator a;
    int oom;
} alloc_ctx;

static void alloc_ctx_init(alloc_ctx *c) {
    c->oom = 0;
    c->a.alloc = wire_alloc;
    c->a.free = wire_free;
    c->a.allocator_data = &c->oom;
}

static void free_buf(uint8_t *p, size_t len) {
    if (p == NULL) return;
    sodium_memzero(p, len);
    free(p);
}

/* ---- field validation -------------------------------------------------- */

#define P61 ((UINT64_C(1) << 61) - 1)

static int bytes_sane(const ProtobufCBinaryData *b) {
    return b->len == 0 || b->data != NULL;
}

/* [a-z0-9-]{1,32} */
static int name_ok(const char *s) {
    if (s == NULL) return 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        char ch = s[i];
        if (i >= WARD_WIRE_NAME_MAX) return 0;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return 0;
    }
    return i >= 1;
}

/* [a-z0-9._-]{1,32} */
static int feature_ok(const char *s) {
    if (s == NULL) return 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        char ch = s[i];
        if (i >= WARD_WIRE_FEATURE_MAX) return 0;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '.' || ch == '_'))
            return 0;
    }
    return i >= 1;
}

/* 1..64 printable ASCII bytes, no space. */
static int federation_ok(const char *s) {
    if (s == NULL) return 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i >= WARD_WIRE_FEDERATION_MAX) return 0;
        if (ch < 0x21 || ch > 0x7e) return 0;
    }
    return i >= 1;
}

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            len = 2; cp = c & 0x1f; min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3; cp = c & 0x0f; min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4; cp = c & 0x07; min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned d = s[i + k];
            if ((d & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (d & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

static int text_check(const char *s) {
    if (s == NULL) return 0;
    size_t n = strnlen(s, WARD_WIRE_TEXT_MAX + 1);
    if (n > WARD_WIRE_TEXT_MAX) return WARD_ETOOBIG;
    return utf8_ok((const unsigned char *)s, n) ? 0 : WARD_EPARSE;
}

/* Range checks over share vectors run without data-dependent branches: the
 * elements are shares, and only the verdict for the whole vector (public:
 * the message is accepted or not) may steer control flow. */
static int p61_vector_ok(const uint64_t *el, size_t n) {
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t x = el[i];
        uint64_t d = x ^ P61;
        uint64_t eq = ((d | (0 - d)) >> 63) ^ 1;  /* 1 iff x == p */
        bad |= (x >> 61) | eq;
    }
    return bad == 0;
}

static int p127_vector_ok(const uint8_t *b, size_t len) {
    uint32_t bad = 0;
    for (size_t off = 0; off + 16 <= len; off += 16) {
        const uint8_t *v = b + off;
        uint32_t diff = (uint32_t)(v[15] ^ 0x7f);  /* zero iff v == 2^127 - 1 */
        for (int k = 0; k < 15; k++) diff |= (uint32_t)(v[k] ^ 0xff);
        bad |= (uint32_t)(v[15] >> 7);             /* at least 2^127 */
        bad |= ((diff - 1) >> 8) & 1;              /* exactly 2^127 - 1 */
    }
    return bad == 0;
}

static int vector_check(int field, size_t n, const uint64_t *el,
                        const ProtobufCBinaryData *wide, int required) {
    if (n > 0 && el == NULL) return WARD_EINVAL;
    if (!bytes_sane(wide)) return WARD_EINVAL;
    switch ((uint32_t)field) {
    case WARD__WIRE__FIELD__FIELD_UNSPECIFIED:
        if (required || n > 0 || wide->len > 0) return WARD_EPARSE;
        return 0;
    case WARD__WIRE__FIELD__FIELD_P61:
        if (wide->len > 0) return WARD_EPARSE;
        return p61_vector_ok(el, n) ? 0 : WARD_EOVERFLOW;
    case WARD__WIRE__FIELD__FIELD_P127:
        if (n > 0 || wide->len % 16 != 0) return WARD_EPARSE;
        return p127_vector_ok(wide->data, wide->len) ? 0 : WARD_EOVERFLOW;
    default:
        return WARD_EUNSUPPORTED;
    }
}

static int is_kind(uint32_t k) {
    return k >= WARD__WIRE__KIND__KIND_PROPOSE && k <= WARD__WIRE__KIND__KIND_FL_UPDATE;
}

/* A kind's value is its payload's field number, so the descriptor of the
 * oneof member doubles as the kind -> payload type table. */
static const ProtobufCFieldDescriptor *payload_field(uint32_t number) {
    return protobuf_c_message_descriptor_get_field(&ward__wire__envelope__descriptor,
                                                   number);
}

static const ProtobufCMessage *payload_get(const ward_envelope *e) {
    const ProtobufCFieldDescriptor *f = payload_field((uint32_t)e->payload_case);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) return NULL;
    return *(ProtobufCMessage *const *)((const char *)e + f->offset);
}

static int payload_check(uint32_t kind, const ProtobufCMessage *p) {
    switch (kind) {
    case WARD__WIRE__KIND__KIND_PROPOSE: {
        const Ward__Wire__Propose *m = (const Ward__Wire__Propose *)p;
        if (!bytes_sane(&m->spec) || !bytes_sane(&m->nonce)) return WARD_EINVAL;
        if (m->nonce.len != WARD_WIRE_NONCE_BYTES || m->spec.len == 0) return WARD_EPARSE;
        return 0;
    }
    case WARD__WIRE__KIND__KIND_ACCEPT:
    case WARD__WIRE__KIND__KIND_PING:
    case WARD__WIRE__KIND__KIND_PONG:
        return 0;
    case WARD__WIRE__KIND__KIND_REJECT:
        return text_check(((const Ward__Wire__Reject *)p)->text);
    case WARD__WIRE__KIND__KIND_ABORT:
        return text_check(((const Ward__Wire__Abort *)p)->text);
    case WARD__WIRE__KIND__KIND_COMMIT: {
        const Ward__Wire__Commit *m = (const Ward__Wire__Commit *)p;
        if (!bytes_sane(&m->accepted_hash)) return WARD_EINVAL;
        if (m->accepted_hash.len != WARD_WIRE_HASH_BYTES) return WARD_EPARSE;
        if (m->n_parties == 0) return WARD_EPARSE;
        if (m->n_parties > WARD_WIRE_MAX_PARTIES) return WARD_ETOOBIG;
        if (m->parties == NULL) return WARD_EINVAL;
        for (size_t i = 0; i < m->n_parties; i++) {
            if (!name_ok(m->parties[i])) return WARD_EPARSE;
            if (i > 0 && strcmp(m->parties[i - 1], m->parties[i]) >= 0) return WARD_EPARSE;
        }
        return 0;
    }
    case WARD__WIRE__KIND__KIND_COMMIT_ACK: {
        const Ward__Wire__CommitAck *m = (const Ward__Wire__CommitAck *)p;
        if (!bytes_sane(&m->accepted_hash)) return WARD_EINVAL;
        return m->accepted_hash.len == WARD_WIRE_HASH_BYTES ? 0 : WARD_EPARSE;
    }
    case WARD__WIRE__KIND__KIND_SHARES: {
        const Ward__Wire__Shares *m = (const Ward__Wire__Shares *)p;
        return vector_check(m->field, m->n_elements, m->elements, &m->wide, 1);
    }
    case WARD__WIRE__KIND__KIND_RESULT: {
        const Ward__Wire__Result *m = (const Ward__Wire__Result *)p;
        if (!bytes_sane(&m->data)) return WARD_EINVAL;
        if (!isfinite(m->epsilon) || m->epsilon < 0 || !isfinite(m->delta) ||
            m->delta < 0)
            return WARD_EPARSE;
        return vector_check(m->field, m->n_elements, m->elements, &m->wide, 0);
    }
    case WARD__WIRE__KIND__KIND_GC_DATA: {
        const Ward__Wire__GcData *m = (const Ward__Wire__GcData *)p;
        if (!bytes_sane(&m->data)) return WARD_EINVAL;
        if (m->sub_kind == WARD__WIRE__GC_SUB_KIND__GC_UNSPECIFIED) return WARD_EPARSE;
        if ((uint32_t)m->sub_kind > WARD__WIRE__GC_SUB_KIND__GC_INPUT_SHARE)
            return WARD_EUNSUPPORTED;
        return 0;
    }
    case WARD__WIRE__KIND__KIND_FL_UPDATE: {
        const Ward__Wire__FlUpdate *m = (const Ward__Wire__FlUpdate *)p;
        if (!bytes_sane(&m->opaque)) return WARD_EINVAL;
        return vector_check(m->field, m->n_elements, m->elements, &m->wide, 0);
    }
    default:
        return WARD_EUNSUPPORTED;
    }
}

static int envelope_check(const ward_envelope *e) {
    if (e->version_major != WARD_WIRE_VERSION_MAJOR) return WARD_EVERSION;
    if (!bytes_sane(&e->session_id)) return WARD_EINVAL;
    if (e->session_id.len != WARD_WIRE_SESSION_ID_BYTES) return WARD_EPARSE;
    if (!name_ok(e->sender)) return WARD_EPARSE;

    uint32_t kind = (uint32_t)e->kind;
    if (kind == WARD__WIRE__KIND__KIND_UNSPECIFIED) return WARD_EPARSE;
    if (!is_kind(kind)) return WARD_EUNSUPPORTED;

    /* Keepalives belong to the channel, everything else to a session; the
     * all-zero id marks the channel (no SHA-256 output is expected to be 0). */
    uint8_t acc = 0;
    for (size_t i = 0; i < WARD_WIRE_SESSION_ID_BYTES; i++) acc |= e->session_id.data[i];
    int channel = kind == WARD__WIRE__KIND__KIND_PING || kind == WARD__WIRE__KIND__KIND_PONG;
    if (channel != (acc == 0)) return WARD_EPARSE;

    if (e->chunk != NULL) {
        const Ward__Wire__Chunk *c = e->chunk;
        if (channel) return WARD_EPARSE;
        if (e->payload_case != WARD__WIRE__ENVELOPE__PAYLOAD_RAW) return WARD_EPARSE;
        if (e->raw == NULL) return WARD_EINVAL;
        if (!bytes_sane(&e->raw->data)) return WARD_EINVAL;
        if (c->total_len > WARD_WIRE_TOTAL_MAX) return WARD_ETOOBIG;
        if (c->count < 2 || c->index >= c->count || c->total_len < c->count)
            return WARD_EPARSE;
        if (e->raw->data.len == 0 || e->raw->data.len > c->total_len) return WARD_EPARSE;
        return 0;
    }
    if ((uint32_t)e->payload_case != kind) return WARD_EPARSE;
    const ProtobufCMessage *p = payload_get(e);
    if (p == NULL) return WARD_EINVAL;
    return payload_check(kind, p);
}

int ward_envelope_check(const ward_envelope *e) {
    WARD_ARG_CHECK(e != NULL);
    return envelope_check(e);
}

int ward_hello_check(const ward_hello *h) {
    WARD_ARG_CHECK(h != NULL);
    if (h->version_major != WARD_WIRE_VERSION_MAJOR) return WARD_EVERSION;
    if (!federation_ok(h->federation_id)) return WARD_EPARSE;
    if (!bytes_sane(&h->roster_hash)) return WARD_EINVAL;
    if (h->roster_hash.len != WARD_WIRE_HASH_BYTES) return WARD_EPARSE;
    if (!name_ok(h->node_name)) return WARD_EPARSE;
    if (h->n_features > WARD_WIRE_MAX_FEATURES) return WARD_ETOOBIG;
    if (h->n_features > 0 && h->features == NULL) return WARD_EINVAL;
    for (size_t i = 0; i < h->n_features; i++)
        if (!feature_ok(h->features[i])) return WARD_EPARSE;
    return 0;
}

static int close_check(const Ward__Wire__Close *c) {
    return text_check(c->text);
}

/* ---- decoding ---------------------------------------------------------- */

int ward_wire_decode(ward_wire_msg **out, const uint8_t *in, size_t in_len) {
    static const uint8_t empty[1] = {0};
    WARD_ARG_CHECK(out != NULL);
    *out = NULL;
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    if (in_len > WARD_WIRE_MAX_MSG) return WARD_ETOOBIG;

    alloc_ctx ac;
    alloc_ctx_init(&ac);
    ward_wire_msg *m = (ward_wire_msg *)protobuf_c_message_unpack(
        &ward__wire__message__descriptor, &ac.a, in_len, in_len ? in : empty);
    if (m == NULL) return ac.oom ? WARD_ENOMEM : WARD_EPARSE;

    int rc;
    switch (m->body_case) {
    case WARD__WIRE__MESSAGE__BODY_HELLO:
        rc = ward_hello_check(m->hello);
        break;
    case WARD__WIRE__MESSAGE__BODY_CLOSE:
        rc = close_check(m->close);
        break;
    case WARD__WIRE__MESSAGE__BODY_ENVELOPE:
        rc = envelope_check(m->envelope);
        break;
    default:
        /* Nothing we know: a body added by a later minor version shows up
         * as an unknown field; no field at all is just malformed. */
        rc = m->base.n_unknown_fields > 0 ? WARD_EUNSUPPORTED : WARD_EPARSE;
        break;
    }
    if (rc != 0) {
        protobuf_c_message_free_unpacked(&m->base, &wiping_allocator);
        return rc;
    }
    *out = m;
    return 0;
}

void ward_wire_free(ward_wire_msg *m) {
    if (m != NULL) protobuf_c_message_free_unpacked(&m->base, &wiping_allocator);
}

void ward_envelope_free(ward_envelope *e) {
    if (e != NULL) protobuf_c_message_free_unpacked(&e->base, &wiping_allocator);
}

/* ---- encoding ---------------------------------------------------------- */

static int pack_message(uint8_t *out, size_t out_cap, size_t *out_len,
                        const ward_wire_msg *m) {
    size_t n = protobuf_c_message_get_packed_size(&m->base);
    if (n > WARD_WIRE_MAX_MSG || n > out_cap) return WARD_ETOOBIG;
    if (protobuf_c_message_pack(&m->base, out) != n) return WARD_EINVAL;
    *out_len = n;
    return 0;
}

int ward_hello_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                      const ward_hello *h) {
    WARD_ARG_CHECK(out != NULL && out_len != NULL && h != NULL);
    *out_len = 0;
    ward_hello copy = *h;
    copy.version_major = WARD_WIRE_VERSION_MAJOR;
    copy.version_minor = WARD_WIRE_VERSION_MINOR;
    int rc = ward_hello_check(&copy);
    if (rc != 0) return rc;
    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_HELLO;
    m.hello = &copy;
    return pack_message(out, out_cap, out_len, &m);
}

int ward_close_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                      Ward__Wire__CloseReason reason, const char *text) {
    WARD_ARG_CHECK(out != NULL && out_len != NULL);
    *out_len = 0;
    Ward__Wire__Close c = WARD__WIRE__CLOSE__INIT;
    c.reason = reason;
    if (text != NULL) c.text = (char *)text;
    c.version_major = WARD_WIRE_VERSION_MAJOR;
    c.version_minor = WARD_WIRE_VERSION_MINOR;
    int rc = close_check(&c);
    if (rc != 0) return rc;
    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_CLOSE;
    m.close = &c;
    return pack_message(out, out_cap, out_len, &m);
}

int ward_envelope_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                         const ward_envelope *e) {
    WARD_ARG_CHECK(out != NULL && out_len != NULL && e != NULL);
    *out_len = 0;
    WARD_ARG_CHECK(e->chunk == NULL && e->payload_case != WARD__WIRE__ENVELOPE__PAYLOAD_RAW);
    ward_envelope copy = *e;
    copy.version_major = WARD_WIRE_VERSION_MAJOR;
    copy.version_minor = WARD_WIRE_VERSION_MINOR;
    int rc = envelope_check(&copy);
    if (rc != 0) return rc;
    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_ENVELOPE;
    m.envelope = &copy;
    return pack_message(out, out_cap, out_len, &m);
}

int ward_hello_match(Ward__Wire__CloseReason *reason, const ward_hello *mine,
                     const ward_hello *peer, const char *peer_name) {
    WARD_ARG_CHECK(reason != NULL && mine != NULL && peer != NULL && peer_name != NULL);
    const char *mf = mine->federation_id ? mine->federation_id : "";
    const char *pf = peer->federation_id ? peer->federation_id : "";
    const char *pn = peer->node_name ? peer->node_name : "";
    if (mine->version_major != peer->version_major)
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_VERSION_MISMATCH;
    else if (strcmp(mf, pf) != 0)
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_FEDERATION_MISMATCH;
    else if (mine->roster_epoch != peer->roster_epoch)
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_EPOCH_MISMATCH;
    else if (mine->roster_hash.len != peer->roster_hash.len ||
             (mine->roster_hash.len > 0 &&
              memcmp(mine->roster_hash.data, peer->roster_hash.data,
                     mine->roster_hash.len) != 0))
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_HASH_MISMATCH;
    else if (strcmp(pn, peer_name) != 0)
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_UNKNOWN_PEER;
    else
        *reason = WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED;
    return 0;
}

const char *ward_close_reason_str(int reason) {
    switch (reason) {
    case WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED: return "unspecified";
    case WARD__WIRE__CLOSE_REASON__CLOSE_VERSION_MISMATCH: return "version mismatch";
    case WARD__WIRE__CLOSE_REASON__CLOSE_FEDERATION_MISMATCH: return "federation mismatch";
    case WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_EPOCH_MISMATCH: return "roster epoch mismatch";
    case WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_HASH_MISMATCH: return "roster hash mismatch";
    case WARD__WIRE__CLOSE_REASON__CLOSE_UNKNOWN_PEER: return "unknown peer";
    case WARD__WIRE__CLOSE_REASON__CLOSE_SHUTTING_DOWN: return "shutting down";
    case WARD__WIRE__CLOSE_REASON__CLOSE_PROTOCOL_ERROR: return "protocol error";
    case WARD__WIRE__CLOSE_REASON__CLOSE_DUPLICATE_CONNECTION: return "duplicate connection";
    case WARD__WIRE__CLOSE_REASON__CLOSE_IDLE_TIMEOUT: return "idle timeout";
    default: return "unknown reason";
    }
}

/* ---- chunking ---------------------------------------------------------- */

/* Bytes a chunk adds to the bare header: the Chunk field (tag, length,
 * three varints of at most 5 bytes each: total_len <= 2^30), the Raw field
 * (2-byte tag, 3-byte length, inner tag and 3-byte length) and the growth of
 * the envelope's own length prefix inside Message (1 -> 3 bytes). Rounded up;
 * ward_chunker_next checks every result against the limit anyway. */
#define CHUNK_SLACK 40u

static void copy_header(ward_chunker *c, const ward_envelope *e) {
    c->kind = (uint32_t)e->kind;
    c->round = e->round;
    c->seq = e->seq;
    memcpy(c->session_id, e->session_id.data, WARD_WIRE_SESSION_ID_BYTES);
    size_t n = strlen(e->sender);  /* validated: 1..32 */
    memcpy(c->sender, e->sender, n + 1);
}

int ward_chunker_init(ward_chunker *c, const ward_envelope *e) {
    WARD_ARG_CHECK(c != NULL && e != NULL);
    memset(c, 0, sizeof *c);
    WARD_ARG_CHECK(e->chunk == NULL && e->payload_case != WARD__WIRE__ENVELOPE__PAYLOAD_RAW);
    ward_envelope copy = *e;
    copy.version_major = WARD_WIRE_VERSION_MAJOR;
    copy.version_minor = WARD_WIRE_VERSION_MINOR;
    int rc = envelope_check(&copy);
    if (rc != 0) return rc;
    copy_header(c, &copy);

    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_ENVELOPE;
    m.envelope = &copy;
    size_t whole = protobuf_c_message_get_packed_size(&m.base);
    if (whole <= WARD_WIRE_MAX_MSG) {
        c->buf = malloc(whole);
        if (c->buf == NULL) return WARD_ENOMEM;
        c->buf_len = protobuf_c_message_pack(&m.base, c->buf);
        c->count = 1;
        return 0;
    }

    const ProtobufCMessage *p = payload_get(&copy);
    size_t plen = protobuf_c_message_get_packed_size(p);
    if (plen > WARD_WIRE_TOTAL_MAX) return WARD_ETOOBIG;

    ward_envelope hdr = copy;
    hdr.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD__NOT_SET;
    m.envelope = &hdr;
    size_t hs = protobuf_c_message_get_packed_size(&m.base);
    if (hs + CHUNK_SLACK >= WARD_WIRE_MAX_MSG) return WARD_EINVAL;
    size_t piece = WARD_WIRE_MAX_MSG - hs - CHUNK_SLACK;
    size_t count = plen / piece + (plen % piece != 0);
    /* The whole envelope did not fit, and a piece is smaller than the room a
     * payload has in a whole envelope, so count >= 2. */
    if (count < 2) return WARD_EINVAL;

    c->buf = malloc(plen);
    if (c->buf == NULL) return WARD_ENOMEM;
    c->buf_len = protobuf_c_message_pack(p, c->buf);
    c->piece = piece;
    c->count = (uint32_t)count;
    c->chunked = 1;
    return 0;
}

int ward_chunker_next(ward_chunker *c, uint8_t *out, size_t out_cap, size_t *out_len) {
    WARD_ARG_CHECK(c != NULL && out != NULL && out_len != NULL);
    WARD_ARG_CHECK(out_cap >= WARD_WIRE_MAX_MSG);
    *out_len = 0;
    if (c->index >= c->count) return 0;
    if (!c->chunked) {
        memcpy(out, c->buf, c->buf_len);
        *out_len = c->buf_len;
        c->index++;
        return 0;
    }
    size_t off = (size_t)c->index * c->piece;
    size_t len = c->buf_len - off < c->piece ? c->buf_len - off : c->piece;

    ward_envelope env = WARD__WIRE__ENVELOPE__INIT;
    env.version_major = WARD_WIRE_VERSION_MAJOR;
    env.version_minor = WARD_WIRE_VERSION_MINOR;
    env.session_id.data = c->session_id;
    env.session_id.len = WARD_WIRE_SESSION_ID_BYTES;
    env.kind = (Ward__Wire__Kind)c->kind;
    env.round = c->round;
    env.sender = c->sender;
    env.seq = c->seq;
    Ward__Wire__Chunk ch = WARD__WIRE__CHUNK__INIT;
    ch.index = c->index;
    ch.count = c->count;
    ch.total_len = c->buf_len;
    env.chunk = &ch;
    Ward__Wire__Raw raw = WARD__WIRE__RAW__INIT;
    raw.data.data = c->buf + off;
    raw.data.len = len;
    env.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RAW;
    env.raw = &raw;

    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_ENVELOPE;
    m.envelope = &env;
    int rc = pack_message(out, out_cap, out_len, &m);
    if (rc != 0) return rc;
    c->index++;
    return 0;
}

void ward_chunker_clear(ward_chunker *c) {
    if (c == NULL) return;
    free_buf(c->buf, c->buf_len);
    sodium_memzero(c, sizeof *c);
}

/* ---- reassembly -------------------------------------------------------- */

enum { REASM_EMPTY = 0, REASM_RECEIVING = 1, REASM_DONE = 2, REASM_CLOSED = 3 };

int ward_reasm_init(ward_reasm *r, size_t max_total) {
    WARD_ARG_CHECK(r != NULL);
    WARD_ARG_CHECK(max_total <= WARD_WIRE_TOTAL_MAX);
    memset(r, 0, sizeof *r);
    r->max_total = max_total ? max_total : WARD_REASM_DEFAULT_MAX;
    return 0;
}

static void reasm_release(ward_reasm *r) {
    free_buf(r->buf, r->cap);
    r->buf = NULL;
    r->cap = 0;
    r->have = 0;
}

static int reasm_fail(ward_reasm *r, int err) {
    reasm_release(r);
    size_t max = r->max_total;
    sodium_memzero(r, sizeof *r);
    r->max_total = max;
    r->state = REASM_CLOSED;
    return err;
}

/* Grows the buffer to hold `need` bytes: doubling, capped at the declared
 * total, so memory follows the data actually received. */
static int reasm_reserve(ward_reasm *r, size_t need) {
    if (need <= r->cap) return 0;
    size_t cap = r->cap ? r->cap : r->piece;
    while (cap < need) cap = cap > r->total / 2 ? r->total : cap * 2;
    if (cap > r->total) cap = r->total;
    uint8_t *nb = malloc(cap);
    if (nb == NULL) return WARD_ENOMEM;
    if (r->have > 0) memcpy(nb, r->buf, r->have);
    free_buf(r->buf, r->cap);
    r->buf = nb;
    r->cap = cap;
    return 0;
}

static size_t piece_len(const ward_reasm *r, uint32_t index) {
    return index + 1 < r->count ? r->piece : r->total - (size_t)(r->count - 1) * r->piece;
}

/* Builds the whole envelope from the header and the reassembled payload,
 * with the wiping allocator throughout so that ward_envelope_free can
 * release it like any unpacked message. */
static int reasm_finish(ward_reasm *r, ward_envelope **done) {
    const ProtobufCFieldDescriptor *f = payload_field(r->kind);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE) return WARD_EPARSE;
    alloc_ctx ac;
    alloc_ctx_init(&ac);
    ProtobufCMessage *p = protobuf_c_message_unpack(
        (const ProtobufCMessageDescriptor *)f->descriptor, &ac.a, r->total, r->buf);
    if (p == NULL) return ac.oom ? WARD_ENOMEM : WARD_EPARSE;

    ward_envelope *e = wire_alloc(NULL, sizeof *e);
    if (e == NULL) {
        protobuf_c_message_free_unpacked(p, &wiping_allocator);
        return WARD_ENOMEM;
    }
    ward__wire__envelope__init(e);
    *(ProtobufCMessage **)((char *)e + f->offset) = p;
    e->payload_case = (Ward__Wire__Envelope__PayloadCase)r->kind;
    e->version_major = WARD_WIRE_VERSION_MAJOR;
    e->version_minor = r->version_minor;
    e->kind = (Ward__Wire__Kind)r->kind;
    e->round = r->round;
    e->seq = r->seq;
    size_t slen = strlen(r->sender);
    uint8_t *sid = wire_alloc(NULL, WARD_WIRE_SESSION_ID_BYTES);
    char *sender = wire_alloc(NULL, slen + 1);
    if (sid != NULL) {
        memcpy(sid, r->session_id, WARD_WIRE_SESSION_ID_BYTES);
        e->session_id.data = sid;
        e->session_id.len = WARD_WIRE_SESSION_ID_BYTES;
    }
    if (sender != NULL) {
        memcpy(sender, r->sender, slen + 1);
        e->sender = sender;
    }
    int rc = (sid == NULL || sender == NULL) ? WARD_ENOMEM : envelope_check(e);
    if (rc != 0) {
        ward_envelope_free(e);
        return rc;
    }
    *done = e;
    return 0;
}

int ward_reasm_add(ward_reasm *r, ward_envelope **done, const ward_envelope *chunk) {
    WARD_ARG_CHECK(r != NULL && done != NULL && chunk != NULL);
    *done = NULL;
    if (r->state == REASM_CLOSED) return WARD_ECLOSED;
    if (r->state == REASM_DONE) return WARD_ESTATE;
    WARD_ARG_CHECK(chunk->chunk != NULL);
    int rc = envelope_check(chunk);
    if (rc != 0) return reasm_fail(r, rc);
    const Ward__Wire__Chunk *ci = chunk->chunk;
    const ProtobufCBinaryData *data = &chunk->raw->data;

    if (r->state == REASM_EMPTY) {
        if (ci->index != 0) return reasm_fail(r, WARD_EPARSE);
        if (ci->total_len > r->max_total) return reasm_fail(r, WARD_ETOOBIG);
        size_t total = (size_t)ci->total_len, piece = data->len;
        /* Every piece but the last has chunk 0's length. */
        if (total / piece + (total % piece != 0) != ci->count)
            return reasm_fail(r, WARD_EPARSE);
        r->kind = (uint32_t)chunk->kind;
        r->round = chunk->round;
        r->version_minor = chunk->version_minor;
        r->seq = chunk->seq;
        memcpy(r->session_id, chunk->session_id.data, WARD_WIRE_SESSION_ID_BYTES);
        memcpy(r->sender, chunk->sender, strlen(chunk->sender) + 1);
        r->count = ci->count;
        r->total = total;
        r->piece = piece;
        r->next = 0;
        r->state = REASM_RECEIVING;
    } else {
        /* Misrouting is the caller's mistake, not the peer's: leave the
         * stream as it was. */
        WARD_ARG_CHECK(chunk->seq == r->seq && strcmp(chunk->sender, r->sender) == 0 &&
                       memcmp(chunk->session_id.data, r->session_id,
                              WARD_WIRE_SESSION_ID_BYTES) == 0);
        if ((uint32_t)chunk->kind != r->kind || chunk->round != r->round ||
            chunk->version_minor != r->version_minor)
            return reasm_fail(r, WARD_EPARSE);
        if (ci->count != r->count || ci->total_len != r->total)
            return reasm_fail(r, WARD_EPARSE);
    }

    if (data->len != piece_len(r, ci->index)) return reasm_fail(r, WARD_EPARSE);
    if (ci->index > r->next) return reasm_fail(r, WARD_EPARSE);
    size_t off = (size_t)ci->index * r->piece;
    if (ci->index < r->next) {
        if (sodium_memcmp(r->buf + off, data->data, data->len) != 0)
            return reasm_fail(r, WARD_EPARSE);
        return 0;
    }
    rc = reasm_reserve(r, off + data->len);
    if (rc != 0) return reasm_fail(r, rc);
    memcpy(r->buf + off, data->data, data->len);
    r->have = off + data->len;
    r->next++;
    if (r->next < r->count) return 0;

    rc = reasm_finish(r, done);
    if (rc != 0) return reasm_fail(r, rc);
    reasm_release(r);
    r->state = REASM_DONE;
    return 0;
}

void ward_reasm_clear(ward_reasm *r) {
    if (r == NULL) return;
    reasm_release(r);
    sodium_memzero(r, sizeof *r);
}
