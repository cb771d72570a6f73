/* Fuzzes the ward.wire decoder and the chunk reassembler.
 *
 * Every input is decoded three ways: as a whole transport plaintext (a
 * Message), as the body of a Message's Envelope field and as the body of
 * its Hello field. Then it drives a reassembler: byte 0 picks the kind,
 * byte 1 the piece length, byte 2 how the stream is disturbed, and the rest
 * is the payload, cut into hand-made chunk envelopes. Whatever the input,
 * nothing may crash or leak, a success must hand out a message that
 * validates again, and an error must hand out nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t wrapped[WARD_WIRE_MAX_MSG + 16];

static void check_decode(const uint8_t *in, size_t len) {
    ward_wire_msg *m = NULL;
    int rc = ward_wire_decode(&m, in, len);
    if (rc != 0) {
        if (m != NULL) abort();
        return;
    }
    if (m == NULL) abort();
    switch (m->body_case) {
    case WARD__WIRE__MESSAGE__BODY_ENVELOPE:
        if (ward_envelope_check(m->envelope) != 0) abort();
        break;
    case WARD__WIRE__MESSAGE__BODY_HELLO:
        if (ward_hello_check(m->hello) != 0) abort();
        break;
    case WARD__WIRE__MESSAGE__BODY_CLOSE:
        break;
    default:
        abort();
    }
    ward_wire_free(m);
}

/* Prefixes a tag for field `number` (length-delimited) and a length. */
static size_t wrap(uint32_t number, const uint8_t *in, size_t len) {
    size_t n = 0;
    wrapped[n++] = (uint8_t)((number << 3) | 2);
    size_t v = len;
    while (v >= 0x80) {
        wrapped[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    wrapped[n++] = (uint8_t)v;
    memcpy(wrapped + n, in, len);
    return n + len;
}

static const uint32_t kinds[] = {
    WARD__WIRE__KIND__KIND_PROPOSE,    WARD__WIRE__KIND__KIND_ACCEPT,
    WARD__WIRE__KIND__KIND_REJECT,     WARD__WIRE__KIND__KIND_COMMIT,
    WARD__WIRE__KIND__KIND_COMMIT_ACK, WARD__WIRE__KIND__KIND_SHARES,
    WARD__WIRE__KIND__KIND_RESULT,     WARD__WIRE__KIND__KIND_ABORT,
    WARD__WIRE__KIND__KIND_GC_DATA,    WARD__WIRE__KIND__KIND_FL_UPDATE,
    WARD__WIRE__KIND__KIND_PING,       40,
};

/* Disturbances of the chunk stream, chosen by byte 2 of the input. */
enum {
    REPEAT_FIRST = 1,    /* chunk 0 again, identical, after it */
    SKIP_SECOND = 2,     /* chunk 2 where chunk 1 belongs */
    CONFLICT_FIRST = 4,  /* chunk 0 again with one bit changed */
    ROUND_CHANGES = 8,   /* chunk 1 names another round */
    TOTAL_CHANGES = 16,  /* chunk 1 declares another total */
    COUNT_WRONG = 32,    /* chunk 0 declares one chunk too many */
    SMALL_LIMIT = 128,   /* the reassembler accepts at most 1000 bytes */
};

static void drive_reasm(const uint8_t *data, size_t size) {
    if (size < 4) return;
    uint32_t kind = kinds[data[0] % (sizeof kinds / sizeof kinds[0])];
    size_t piece = (size_t)data[1] + 1;
    uint8_t flags = data[2];
    const uint8_t *payload = data + 3;
    size_t total = size - 3;
    size_t count = total / piece + (total % piece != 0);
    if (count > 4096) return;

    static char sender[] = "node1";
    uint8_t sid[32];
    memset(sid, 0x5a, sizeof sid);
    if (kind == WARD__WIRE__KIND__KIND_PING) memset(sid, 0, sizeof sid);

    /* The order of chunks to send: 0, 1, ..., with the disturbances. */
    static size_t order[4096 + 4];
    static int conflict[4096 + 4];
    size_t steps = 0;
    for (size_t i = 0; i < count; i++) {
        if (i == 1 && (flags & REPEAT_FIRST)) { order[steps] = 0; conflict[steps++] = 0; }
        if (i == 1 && (flags & CONFLICT_FIRST)) { order[steps] = 0; conflict[steps++] = 1; }
        if (i == 1 && (flags & SKIP_SECOND)) continue;
        order[steps] = i;
        conflict[steps++] = 0;
    }

    ward_reasm r;
    if (ward_reasm_init(&r, (flags & SMALL_LIMIT) ? 1000 : 0) != 0) abort();
    for (size_t step = 0; step < steps; step++) {
        size_t idx = order[step];
        size_t off = idx * piece;
        size_t len = total - off < piece ? total - off : piece;

        ward_envelope e = WARD__WIRE__ENVELOPE__INIT;
        Ward__Wire__Chunk ch = WARD__WIRE__CHUNK__INIT;
        Ward__Wire__Raw raw = WARD__WIRE__RAW__INIT;
        static uint8_t flipped[256];
        e.version_major = WARD_WIRE_VERSION_MAJOR;
        e.session_id.data = sid;
        e.session_id.len = sizeof sid;
        e.kind = (Ward__Wire__Kind)kind;
        e.round = (flags & ROUND_CHANGES) && idx == 1 ? 9 : 1;
        e.sender = sender;
        e.seq = 3;
        ch.index = (uint32_t)idx;
        ch.count = (uint32_t)count + ((flags & COUNT_WRONG) && idx == 0);
        ch.total_len = total + ((flags & TOTAL_CHANGES) && idx == 1);
        e.chunk = &ch;
        raw.data.data = (uint8_t *)payload + off;
        raw.data.len = len;
        if (conflict[step]) {
            memcpy(flipped, payload + off, len);
            flipped[len - 1] ^= 0x40;
            raw.data.data = flipped;
        }
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RAW;
        e.raw = &raw;

        ward_envelope *done = NULL;
        int rc = ward_reasm_add(&r, &done, &e);
        if (rc != 0 && done != NULL) abort();
        if (done != NULL) {
            if (done->chunk != NULL || ward_envelope_check(done) != 0) abort();
            /* the stream is finished */
            ward_envelope_free(done);
            if (ward_reasm_add(&r, &done, &e) != WARD_ESTATE || done != NULL) abort();
            break;
        }
        if (rc != 0) {
            if (rc == WARD_EINVAL || rc == WARD_ESTATE || rc == WARD_ECLOSED) abort();
            /* a closed stream stays closed */
            if (ward_reasm_add(&r, &done, &e) != WARD_ECLOSED || done != NULL) abort();
            break;
        }
    }
    ward_reasm_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_decode(data, size);
    if (size <= WARD_WIRE_MAX_MSG) {
        check_decode(wrapped, wrap(3, data, size));  /* Message.envelope */
        check_decode(wrapped, wrap(1, data, size));  /* Message.hello */
    }
    drive_reasm(data, size);
    return 0;
}
