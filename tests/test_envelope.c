/* ward.wire messages: round trips of every kind, every validation rule,
 * damaged encodings, unknown-field tolerance, chunking and reassembly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "error.h"
#include "rng.h"

#define P61 ((UINT64_C(1) << 61) - 1)

static uint8_t buf[WARD_WIRE_MAX_MSG + 4096];
static uint8_t buf2[WARD_WIRE_MAX_MSG + 4096];

/* ---- fixtures ----------------------------------------------------------- */

/* One valid envelope of a given kind, with every payload struct at hand so
 * that tests can break one field at a time. */
typedef struct {
    ward_envelope e;
    uint8_t sid[32];
    uint8_t nonce[16];
    uint8_t hash[32];
    uint8_t spec[40];
    uint8_t blob[64];
    uint64_t elems[5];
    uint8_t wide[32];
    char *parties[3];
    Ward__Wire__Propose propose;
    Ward__Wire__Accept accept;
    Ward__Wire__Reject reject;
    Ward__Wire__Commit commit;
    Ward__Wire__CommitAck commit_ack;
    Ward__Wire__Shares shares;
    Ward__Wire__Result result;
    Ward__Wire__Abort abort_;
    Ward__Wire__Ping ping;
    Ward__Wire__Pong pong;
    Ward__Wire__GcData gc;
    Ward__Wire__FlUpdate fl;
} fixture;

static const uint32_t all_kinds[] = {
    WARD__WIRE__KIND__KIND_PROPOSE,    WARD__WIRE__KIND__KIND_ACCEPT,
    WARD__WIRE__KIND__KIND_REJECT,     WARD__WIRE__KIND__KIND_COMMIT,
    WARD__WIRE__KIND__KIND_COMMIT_ACK, WARD__WIRE__KIND__KIND_SHARES,
    WARD__WIRE__KIND__KIND_RESULT,     WARD__WIRE__KIND__KIND_ABORT,
    WARD__WIRE__KIND__KIND_PING,       WARD__WIRE__KIND__KIND_PONG,
    WARD__WIRE__KIND__KIND_GC_DATA,    WARD__WIRE__KIND__KIND_FL_UPDATE,
};
#define N_KINDS (sizeof all_kinds / sizeof all_kinds[0])

static char party_a[] = "energy", party_b[] = "node1", party_c[] = "transport";
static char sender_name[] = "parking-north";

static void fixture_init(fixture *f, uint32_t kind) {
    memset(f, 0, sizeof *f);
    ward__wire__envelope__init(&f->e);
    for (int i = 0; i < 32; i++) f->sid[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 16; i++) f->nonce[i] = (uint8_t)(i * 3 + 1);
    for (int i = 0; i < 32; i++) f->hash[i] = (uint8_t)(0x55 ^ i);
    for (int i = 0; i < 40; i++) f->spec[i] = (uint8_t)('a' + i % 26);
    for (int i = 0; i < 64; i++) f->blob[i] = (uint8_t)(i * 37);
    f->elems[0] = 0;
    f->elems[1] = 1;
    f->elems[2] = P61 - 1;
    f->elems[3] = 0x123456789abcdefULL;
    f->elems[4] = UINT64_C(1) << 60;
    /* two 2^127-1 field elements: 5, and 2^127 - 2 */
    f->wide[0] = 5;
    memset(f->wide + 16, 0xff, 15);
    f->wide[16] = 0xfe;
    f->wide[31] = 0x7f;
    f->parties[0] = party_a;
    f->parties[1] = party_b;
    f->parties[2] = party_c;

    ward_envelope *e = &f->e;
    e->version_major = WARD_WIRE_VERSION_MAJOR;
    e->version_minor = WARD_WIRE_VERSION_MINOR;
    e->session_id.data = f->sid;
    e->session_id.len = 32;
    e->kind = (Ward__Wire__Kind)kind;
    e->round = 3;
    e->sender = sender_name;
    e->seq = 77;
    e->payload_case = (Ward__Wire__Envelope__PayloadCase)kind;
    switch (kind) {
    case WARD__WIRE__KIND__KIND_PROPOSE:
        ward__wire__propose__init(&f->propose);
        f->propose.spec.data = f->spec;
        f->propose.spec.len = sizeof f->spec;
        f->propose.nonce.data = f->nonce;
        f->propose.nonce.len = 16;
        e->propose = &f->propose;
        break;
    case WARD__WIRE__KIND__KIND_ACCEPT:
        ward__wire__accept__init(&f->accept);
        e->accept = &f->accept;
        break;
    case WARD__WIRE__KIND__KIND_REJECT:
        ward__wire__reject__init(&f->reject);
        f->reject.code = WARD__WIRE__REASON__REASON_BUDGET;
        f->reject.text = (char *)"class high: epsilon 0.2 left, 0.5 asked \xc3\xa9";
        e->reject = &f->reject;
        break;
    case WARD__WIRE__KIND__KIND_COMMIT:
        ward__wire__commit__init(&f->commit);
        f->commit.accepted_hash.data = f->hash;
        f->commit.accepted_hash.len = 32;
        f->commit.n_parties = 3;
        f->commit.parties = f->parties;
        e->commit = &f->commit;
        break;
    case WARD__WIRE__KIND__KIND_COMMIT_ACK:
        ward__wire__commit_ack__init(&f->commit_ack);
        f->commit_ack.accepted_hash.data = f->hash;
        f->commit_ack.accepted_hash.len = 32;
        e->commit_ack = &f->commit_ack;
        break;
    case WARD__WIRE__KIND__KIND_SHARES:
        ward__wire__shares__init(&f->shares);
        f->shares.field = WARD__WIRE__FIELD__FIELD_P61;
        f->shares.n_elements = 5;
        f->shares.elements = f->elems;
        f->shares.vector_id = 2;
        e->shares = &f->shares;
        break;
    case WARD__WIRE__KIND__KIND_RESULT:
        ward__wire__result__init(&f->result);
        f->result.field = WARD__WIRE__FIELD__FIELD_P127;
        f->result.wide.data = f->wide;
        f->result.wide.len = 32;
        f->result.data.data = f->blob;
        f->result.data.len = 10;
        f->result.epsilon = 0.5;
        f->result.delta = 1e-5;
        e->result = &f->result;
        break;
    case WARD__WIRE__KIND__KIND_ABORT:
        ward__wire__abort__init(&f->abort_);
        f->abort_.code = WARD__WIRE__REASON__REASON_PEER_LOST;
        f->abort_.text = (char *)"energy went away";
        e->abort = &f->abort_;
        break;
    case WARD__WIRE__KIND__KIND_PING:
    case WARD__WIRE__KIND__KIND_PONG:
        memset(f->sid, 0, 32);
        ward__wire__ping__init(&f->ping);
        ward__wire__pong__init(&f->pong);
        f->ping.nonce = f->pong.nonce = 0xfeedfacecafebeefULL;
        f->ping.time_ms = f->pong.time_ms = 1700000000123ULL;
        if (kind == WARD__WIRE__KIND__KIND_PING)
            e->ping = &f->ping;
        else
            e->pong = &f->pong;
        break;
    case WARD__WIRE__KIND__KIND_GC_DATA:
        ward__wire__gc_data__init(&f->gc);
        f->gc.sub_kind = WARD__WIRE__GC_SUB_KIND__GC_GARBLED_TABLES;
        f->gc.data.data = f->blob;
        f->gc.data.len = sizeof f->blob;
        f->gc.batch = 9;
        e->gc_data = &f->gc;
        break;
    case WARD__WIRE__KIND__KIND_FL_UPDATE:
        ward__wire__fl_update__init(&f->fl);
        f->fl.fl_round = 4;
        f->fl.model_version = 12;
        f->fl.field = WARD__WIRE__FIELD__FIELD_P61;
        f->fl.n_elements = 3;
        f->fl.elements = f->elems;
        f->fl.opaque.data = f->blob;
        f->fl.opaque.len = 3;
        e->fl_update = &f->fl;
        break;
    default:
        abort();
    }
}

/* Packs a Message holding e without any validation: for inputs that the
 * encoder would refuse. */
static size_t raw_pack_env(uint8_t *out, size_t cap, const ward_envelope *e) {
    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_ENVELOPE;
    m.envelope = (ward_envelope *)e;
    size_t n = protobuf_c_message_get_packed_size(&m.base);
    if (n > cap) abort();
    return protobuf_c_message_pack(&m.base, out);
}

static size_t raw_pack_hello(uint8_t *out, const ward_hello *h) {
    ward_wire_msg m = WARD__WIRE__MESSAGE__INIT;
    m.body_case = WARD__WIRE__MESSAGE__BODY_HELLO;
    m.hello = (ward_hello *)h;
    return protobuf_c_message_pack(&m.base, out);
}

/* Decode of raw-packed bytes: the verdict of the decoder on e. */
static int decode_rc(const ward_envelope *e) {
    size_t n = raw_pack_env(buf, sizeof buf, e);
    ward_wire_msg *m = NULL;
    int rc = ward_wire_decode(&m, buf, n);
    if (rc == 0) {
        if (m == NULL || m->body_case != WARD__WIRE__MESSAGE__BODY_ENVELOPE) rc = -999;
        ward_wire_free(m);
    } else if (m != NULL) {
        rc = -998; /* an error must not hand out a message */
    }
    return rc;
}

/* Both paths must agree: the encoder refuses e with `want`, and the decoder
 * refuses its raw encoding with the same code. */
#define CHECK_BOTH(env, want)                                                  \
    do {                                                                       \
        size_t n_;                                                             \
        CHECK_RC(ward_envelope_encode(buf2, sizeof buf2, &n_, (env)), (want)); \
        CHECK_RC(decode_rc(env), (want));                                      \
        CHECK_RC(ward_envelope_check(env), (want));                            \
    } while (0)

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_every_kind(void) {
    for (size_t k = 0; k < N_KINDS; k++) {
        static fixture f;
        fixture_init(&f, all_kinds[k]);
        size_t n = 0;
        CHECK_RC(ward_envelope_encode(buf, sizeof buf, &n, &f.e), 0);
        CHECK(n > 0 && n <= WARD_WIRE_MAX_MSG);

        ward_wire_msg *m = NULL;
        CHECK_RC(ward_wire_decode(&m, buf, n), 0);
        if (m == NULL) continue;
        CHECK(m->body_case == WARD__WIRE__MESSAGE__BODY_ENVELOPE);
        const ward_envelope *d = m->envelope;
        CHECK_EQ_U64(d->kind, all_kinds[k]);
        CHECK_EQ_U64(d->payload_case, all_kinds[k]);
        CHECK_EQ_U64(d->version_major, WARD_WIRE_VERSION_MAJOR);
        CHECK_EQ_U64(d->round, 3);
        CHECK_EQ_U64(d->seq, 77);
        CHECK(strcmp(d->sender, "parking-north") == 0);
        CHECK(d->session_id.len == 32 && memcmp(d->session_id.data, f.sid, 32) == 0);
        CHECK(d->chunk == NULL);

        /* Re-encoding the decoded message gives the same bytes. */
        size_t n2 = 0;
        CHECK_RC(ward_envelope_encode(buf2, sizeof buf2, &n2, d), 0);
        CHECK(n2 == n && memcmp(buf, buf2, n) == 0);

        /* The chunker yields the same single message. */
        ward_chunker c;
        CHECK_RC(ward_chunker_init(&c, &f.e), 0);
        CHECK_EQ_U64(c.count, 1);
        size_t n3 = 0;
        CHECK_RC(ward_chunker_next(&c, buf2, sizeof buf2, &n3), 0);
        CHECK(n3 == n && memcmp(buf, buf2, n) == 0);
        CHECK_RC(ward_chunker_next(&c, buf2, sizeof buf2, &n3), 0);
        CHECK_EQ_U64(n3, 0);
        ward_chunker_clear(&c);

        switch (all_kinds[k]) {
        case WARD__WIRE__KIND__KIND_PROPOSE:
            CHECK(d->propose->spec.len == 40 && memcmp(d->propose->spec.data, f.spec, 40) == 0);
            CHECK(d->propose->nonce.len == 16 && memcmp(d->propose->nonce.data, f.nonce, 16) == 0);
            break;
        case WARD__WIRE__KIND__KIND_REJECT:
            CHECK(d->reject->code == WARD__WIRE__REASON__REASON_BUDGET);
            CHECK(strcmp(d->reject->text, f.reject.text) == 0);
            break;
        case WARD__WIRE__KIND__KIND_COMMIT:
            CHECK_EQ_U64(d->commit->n_parties, 3);
            CHECK(strcmp(d->commit->parties[2], "transport") == 0);
            CHECK(memcmp(d->commit->accepted_hash.data, f.hash, 32) == 0);
            break;
        case WARD__WIRE__KIND__KIND_SHARES:
            CHECK_EQ_U64(d->shares->n_elements, 5);
            CHECK(memcmp(d->shares->elements, f.elems, sizeof f.elems) == 0);
            CHECK_EQ_U64(d->shares->vector_id, 2);
            break;
        case WARD__WIRE__KIND__KIND_RESULT:
            CHECK(d->result->wide.len == 32 && memcmp(d->result->wide.data, f.wide, 32) == 0);
            CHECK(d->result->epsilon == 0.5 && d->result->delta == 1e-5);
            break;
        case WARD__WIRE__KIND__KIND_PING:
            CHECK_EQ_U64(d->ping->nonce, 0xfeedfacecafebeefULL);
            CHECK_EQ_U64(d->ping->time_ms, 1700000000123ULL);
            break;
        case WARD__WIRE__KIND__KIND_PONG:
            CHECK_EQ_U64(d->pong->nonce, 0xfeedfacecafebeefULL);
            break;
        case WARD__WIRE__KIND__KIND_GC_DATA:
            CHECK(d->gc_data->sub_kind == WARD__WIRE__GC_SUB_KIND__GC_GARBLED_TABLES);
            CHECK(d->gc_data->data.len == 64 && memcmp(d->gc_data->data.data, f.blob, 64) == 0);
            CHECK_EQ_U64(d->gc_data->batch, 9);
            break;
        case WARD__WIRE__KIND__KIND_FL_UPDATE:
            CHECK_EQ_U64(d->fl_update->fl_round, 4);
            CHECK_EQ_U64(d->fl_update->model_version, 12);
            CHECK_EQ_U64(d->fl_update->n_elements, 3);
            break;
        default:
            break;
        }
        ward_wire_free(m);
    }
}

/* The encoder stamps this build's version whatever the struct says. */
static void test_encoder_stamps_version(void) {
    static fixture f;
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.version_major = 0;
    f.e.version_minor = 0;
    size_t n;
    CHECK_RC(ward_envelope_encode(buf, sizeof buf, &n, &f.e), 0);
    ward_wire_msg *m = NULL;
    CHECK_RC(ward_wire_decode(&m, buf, n), 0);
    CHECK(m && m->envelope->version_major == WARD_WIRE_VERSION_MAJOR &&
          m->envelope->version_minor == WARD_WIRE_VERSION_MINOR);
    ward_wire_free(m);
}

/* ---- versions ----------------------------------------------------------- */

static void test_versions(void) {
    static fixture f;
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.e.version_major = WARD_WIRE_VERSION_MAJOR + 1;
    CHECK_RC(decode_rc(&f.e), WARD_EVERSION);
    CHECK_RC(ward_envelope_check(&f.e), WARD_EVERSION);
    f.e.version_major = 0;
    CHECK_RC(decode_rc(&f.e), WARD_EVERSION);
    /* The version is checked first: a future major may change the rest. */
    f.e.version_major = 2;
    f.e.session_id.len = 3;
    CHECK_RC(decode_rc(&f.e), WARD_EVERSION);
    /* Another minor is fine. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.e.version_minor = WARD_WIRE_VERSION_MINOR + 5;
    CHECK_RC(decode_rc(&f.e), 0);
}

/* ---- header validation -------------------------------------------------- */

static void test_session_id(void) {
    static fixture f;
    size_t lens[] = {0, 1, 16, 31, 33, 64};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        static uint8_t big[64];
        fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
        memset(big, 7, sizeof big);
        f.e.session_id.data = big;
        f.e.session_id.len = lens[i];
        CHECK_BOTH(&f.e, WARD_EPARSE);
    }
    /* A session message may not use the channel's all-zero id ... */
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    memset(f.sid, 0, 32);
    CHECK_BOTH(&f.e, WARD_EPARSE);
    /* ... and a keepalive must. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_PING);
    f.sid[31] = 1;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_PONG);
    f.sid[0] = 0x80;
    CHECK_BOTH(&f.e, WARD_EPARSE);
}

static void test_sender_names(void) {
    static fixture f;
    const char *bad[] = {
        "", "A", "Node1", "a_b", "a b", "a.b", "n\xc3\xa4me", "node/1",
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
        f.e.sender = (char *)bad[i];
        CHECK_BOTH(&f.e, WARD_EPARSE);
    }
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.sender = NULL;
    CHECK_RC(ward_envelope_check(&f.e), WARD_EPARSE);
    const char *good[] = {"a", "0", "-", "node1", "parking-aarhus",
                          "abcdefghijklmnopqrstuvwxyz012345" /* 32 */};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
        f.e.sender = (char *)good[i];
        CHECK_BOTH(&f.e, 0);
    }
}

static void test_kind_and_payload(void) {
    static fixture f;
    /* Missing payload. */
    for (size_t k = 0; k < N_KINDS; k++) {
        fixture_init(&f, all_kinds[k]);
        f.e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD__NOT_SET;
        CHECK_BOTH(&f.e, WARD_EPARSE);
    }
    /* A payload of another kind. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.e.kind = WARD__WIRE__KIND__KIND_RESULT;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    /* No kind. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.kind = WARD__WIRE__KIND__KIND_UNSPECIFIED;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    /* A kind from the future, its payload unknown to us. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.kind = (Ward__Wire__Kind)40;
    f.e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD__NOT_SET;
    CHECK_RC(decode_rc(&f.e), WARD_EUNSUPPORTED);
    f.e.kind = (Ward__Wire__Kind)-3;
    CHECK_RC(decode_rc(&f.e), WARD_EUNSUPPORTED);
    /* 28 is the raw chunk payload, not a kind. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.kind = (Ward__Wire__Kind)28;
    CHECK_RC(decode_rc(&f.e), WARD_EUNSUPPORTED);
    /* Raw data outside a chunk. */
    static Ward__Wire__Raw raw = WARD__WIRE__RAW__INIT;
    static uint8_t rb[4] = {1, 2, 3, 4};
    raw.data.data = rb;
    raw.data.len = 4;
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RAW;
    f.e.raw = &raw;
    CHECK_RC(decode_rc(&f.e), WARD_EPARSE);
    CHECK_RC(ward_envelope_check(&f.e), WARD_EPARSE);
    size_t n;
    CHECK_RC(ward_envelope_encode(buf, sizeof buf, &n, &f.e), WARD_EINVAL);
    /* Payload pointer missing in a struct built in memory. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.e.shares = NULL;
    CHECK_RC(ward_envelope_check(&f.e), WARD_EINVAL);
}

/* ---- payload validation ------------------------------------------------- */

static void test_payload_rules(void) {
    static fixture f;
    static char longtext[WARD_WIRE_TEXT_MAX + 2];

    fixture_init(&f, WARD__WIRE__KIND__KIND_PROPOSE);
    f.propose.nonce.len = 15;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.propose.nonce.len = 0;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_PROPOSE);
    f.propose.spec.len = 0;
    CHECK_BOTH(&f.e, WARD_EPARSE);

    /* Texts: at most 1024 bytes of UTF-8. */
    memset(longtext, 'x', WARD_WIRE_TEXT_MAX);
    longtext[WARD_WIRE_TEXT_MAX] = '\0';
    fixture_init(&f, WARD__WIRE__KIND__KIND_REJECT);
    f.reject.text = longtext;
    CHECK_BOTH(&f.e, 0);
    longtext[WARD_WIRE_TEXT_MAX] = 'x';
    longtext[WARD_WIRE_TEXT_MAX + 1] = '\0';
    CHECK_BOTH(&f.e, WARD_ETOOBIG);
    const char *bad_utf8[] = {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                              "\xe0\x80\xaf", "\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        fixture_init(&f, WARD__WIRE__KIND__KIND_ABORT);
        f.abort_.text = (char *)bad_utf8[i];
        CHECK_BOTH(&f.e, WARD_EPARSE);
    }
    fixture_init(&f, WARD__WIRE__KIND__KIND_ABORT);
    f.abort_.text = (char *)"\xf0\x9f\x9a\x8c \xe2\x82\xac ok";
    CHECK_BOTH(&f.e, 0);
    f.abort_.code = (Ward__Wire__Reason)500;  /* unknown reasons are tolerated */
    CHECK_BOTH(&f.e, 0);

    /* Commit: hash, non-empty strictly ascending valid names. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
    f.commit.accepted_hash.len = 31;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
    f.commit.n_parties = 0;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
    f.parties[1] = party_a; /* duplicate */
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
    f.parties[0] = party_c; /* out of order */
    f.parties[2] = party_a;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
    f.parties[1] = (char *)"Node1";
    CHECK_BOTH(&f.e, WARD_EPARSE);
    {
        static char names[WARD_WIRE_MAX_PARTIES + 1][8];
        static char *ptrs[WARD_WIRE_MAX_PARTIES + 1];
        for (size_t i = 0; i <= WARD_WIRE_MAX_PARTIES; i++) {
            snprintf(names[i], sizeof names[i], "n%05zu", i);
            ptrs[i] = names[i];
        }
        fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT);
        f.commit.parties = ptrs;
        f.commit.n_parties = WARD_WIRE_MAX_PARTIES;
        CHECK_BOTH(&f.e, 0);
        f.commit.n_parties = WARD_WIRE_MAX_PARTIES + 1;
        CHECK_RC(ward_envelope_check(&f.e), WARD_ETOOBIG);
        CHECK_RC(decode_rc(&f.e), WARD_ETOOBIG);
    }
    fixture_init(&f, WARD__WIRE__KIND__KIND_COMMIT_ACK);
    f.commit_ack.accepted_hash.len = 33;
    CHECK_BOTH(&f.e, WARD_EPARSE);

    /* Shares over F_(2^61-1): elements below p only. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.elems[3] = P61;
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.elems[3] = P61 + 1;
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.elems[3] = UINT64_MAX;
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.elems[3] = UINT64_C(1) << 63;
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.elems[3] = P61 - 1;
    CHECK_BOTH(&f.e, 0);
    f.shares.n_elements = 0; /* an empty vector is well formed */
    CHECK_BOTH(&f.e, 0);
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.shares.field = WARD__WIRE__FIELD__FIELD_UNSPECIFIED;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.shares.field = (Ward__Wire__Field)9;
    CHECK_BOTH(&f.e, WARD_EUNSUPPORTED);
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.shares.wide.data = f.wide; /* both encodings at once */
    f.shares.wide.len = 16;
    CHECK_BOTH(&f.e, WARD_EPARSE);

    /* Shares over F_(2^127-1): 16-byte little-endian values below p. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.shares.field = WARD__WIRE__FIELD__FIELD_P127;
    f.shares.n_elements = 0;
    f.shares.wide.data = f.wide;
    f.shares.wide.len = 32;
    CHECK_BOTH(&f.e, 0);
    f.shares.wide.len = 17;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.shares.wide.len = 32;
    f.wide[16] = 0xff; /* now exactly 2^127 - 1 */
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.wide[16] = 0xfe;
    f.wide[15] = 0x80; /* first value >= 2^127 */
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    f.wide[15] = 0x7f; /* first value 2^127 - 2^120 + 5: fine */
    CHECK_BOTH(&f.e, 0);
    f.shares.n_elements = 1;
    CHECK_BOTH(&f.e, WARD_EPARSE);

    /* Result: the vector is optional, the privacy figures finite. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_RESULT);
    f.result.field = WARD__WIRE__FIELD__FIELD_UNSPECIFIED;
    CHECK_BOTH(&f.e, WARD_EPARSE); /* wide given without a field */
    f.result.wide.len = 0;
    CHECK_BOTH(&f.e, 0);
    f.result.epsilon = NAN;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.result.epsilon = INFINITY;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.result.epsilon = 1.0;
    f.result.delta = -1e-9;
    CHECK_BOTH(&f.e, WARD_EPARSE);

    /* GC sub-kinds. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_GC_DATA);
    f.gc.sub_kind = WARD__WIRE__GC_SUB_KIND__GC_UNSPECIFIED;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.gc.sub_kind = (Ward__Wire__GcSubKind)11;
    CHECK_BOTH(&f.e, WARD_EUNSUPPORTED);
    f.gc.sub_kind = WARD__WIRE__GC_SUB_KIND__GC_INPUT_SHARE;
    CHECK_BOTH(&f.e, 0);
    f.gc.sub_kind = WARD__WIRE__GC_SUB_KIND__GC_OUTPUT;
    CHECK_BOTH(&f.e, 0);

    /* FL updates follow the share-vector rules. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_FL_UPDATE);
    f.elems[0] = P61;
    CHECK_BOTH(&f.e, WARD_EOVERFLOW);
    fixture_init(&f, WARD__WIRE__KIND__KIND_FL_UPDATE);
    f.fl.field = WARD__WIRE__FIELD__FIELD_UNSPECIFIED;
    CHECK_BOTH(&f.e, WARD_EPARSE);
    f.fl.n_elements = 0;
    CHECK_BOTH(&f.e, 0);

    /* NULL data behind a non-zero length is misuse of the struct. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_GC_DATA);
    f.gc.data.data = NULL;
    CHECK_RC(ward_envelope_check(&f.e), WARD_EINVAL);
}

/* ---- Hello and Close ---------------------------------------------------- */

static char fed[] = "city-of-ward";
static char nm[] = "transport";
static char feat0[] = "chunk-v1", feat1[] = "gc.half_gates";
static char *feats[] = {feat0, feat1};
static uint8_t rhash[32];

static void hello_init(ward_hello *h) {
    ward__wire__hello__init(h);
    h->version_major = WARD_WIRE_VERSION_MAJOR;
    h->version_minor = WARD_WIRE_VERSION_MINOR;
    h->federation_id = fed;
    h->roster_epoch = 4;
    for (int i = 0; i < 32; i++) rhash[i] = (uint8_t)(200 - i);
    h->roster_hash.data = rhash;
    h->roster_hash.len = 32;
    h->node_name = nm;
    h->n_features = 2;
    h->features = feats;
}

static int hello_decode_rc(const ward_hello *h) {
    size_t n = raw_pack_hello(buf, h);
    ward_wire_msg *m = NULL;
    int rc = ward_wire_decode(&m, buf, n);
    if (rc == 0 && (m == NULL || m->body_case != WARD__WIRE__MESSAGE__BODY_HELLO)) rc = -999;
    ward_wire_free(m);
    return rc;
}

static void test_hello(void) {
    ward_hello h;
    hello_init(&h);
    size_t n;
    CHECK_RC(ward_hello_encode(buf, sizeof buf, &n, &h), 0);
    ward_wire_msg *m = NULL;
    CHECK_RC(ward_wire_decode(&m, buf, n), 0);
    if (m != NULL) {
        CHECK(m->body_case == WARD__WIRE__MESSAGE__BODY_HELLO);
        const ward_hello *d = m->hello;
        CHECK(strcmp(d->federation_id, fed) == 0);
        CHECK_EQ_U64(d->roster_epoch, 4);
        CHECK(d->roster_hash.len == 32 && memcmp(d->roster_hash.data, rhash, 32) == 0);
        CHECK(strcmp(d->node_name, "transport") == 0);
        CHECK(d->n_features == 2 && strcmp(d->features[1], "gc.half_gates") == 0);
        Ward__Wire__CloseReason why = (Ward__Wire__CloseReason)-1;
        CHECK_RC(ward_hello_match(&why, &h, d, "transport"), 0);
        CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED);
        ward_wire_free(m);
    }

    /* Validation. */
    CHECK_RC(hello_decode_rc(&h), 0);
    h.version_major = 2;
    CHECK_RC(hello_decode_rc(&h), WARD_EVERSION);
    h.node_name = (char *)"";  /* the version is judged first */
    CHECK_RC(hello_decode_rc(&h), WARD_EVERSION);
    hello_init(&h);
    h.version_minor = 9;
    CHECK_RC(hello_decode_rc(&h), 0);
    const char *bad_fed[] = {"", "with space", "tab\there", "\xc3\xa9",
                             "0123456789012345678901234567890123456789012345678901234567890123x"};
    for (size_t i = 0; i < sizeof bad_fed / sizeof bad_fed[0]; i++) {
        hello_init(&h);
        h.federation_id = (char *)bad_fed[i];
        CHECK_RC(hello_decode_rc(&h), WARD_EPARSE);
        CHECK_RC(ward_hello_encode(buf2, sizeof buf2, &n, &h), WARD_EPARSE);
    }
    hello_init(&h);
    h.roster_hash.len = 31;
    CHECK_RC(hello_decode_rc(&h), WARD_EPARSE);
    hello_init(&h);
    h.node_name = (char *)"Transport";
    CHECK_RC(hello_decode_rc(&h), WARD_EPARSE);
    hello_init(&h);
    h.features[1] = (char *)"GC";
    CHECK_RC(hello_decode_rc(&h), WARD_EPARSE);
    feats[1] = feat1;
    {
        static char *many[WARD_WIRE_MAX_FEATURES + 1];
        for (size_t i = 0; i <= WARD_WIRE_MAX_FEATURES; i++) many[i] = feat0;
        hello_init(&h);
        h.features = many;
        h.n_features = WARD_WIRE_MAX_FEATURES;
        CHECK_RC(hello_decode_rc(&h), 0);
        h.n_features = WARD_WIRE_MAX_FEATURES + 1;
        CHECK_RC(hello_decode_rc(&h), WARD_ETOOBIG);
    }

    /* Matching. */
    ward_hello mine, peer;
    static uint8_t other_hash[32];
    Ward__Wire__CloseReason why;
    hello_init(&mine);
    hello_init(&peer);
    peer.version_minor = 3;
    CHECK_RC(ward_hello_match(&why, &mine, &peer, "transport"), 0);
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_UNSPECIFIED);
    peer.version_major = 2;
    ward_hello_match(&why, &mine, &peer, "transport");
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_VERSION_MISMATCH);
    hello_init(&peer);
    peer.federation_id = (char *)"elsewhere";
    ward_hello_match(&why, &mine, &peer, "transport");
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_FEDERATION_MISMATCH);
    hello_init(&peer);
    peer.roster_epoch = 5;
    ward_hello_match(&why, &mine, &peer, "transport");
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_EPOCH_MISMATCH);
    hello_init(&peer);
    memcpy(other_hash, rhash, 32);
    other_hash[31] ^= 1;
    peer.roster_hash.data = other_hash;
    ward_hello_match(&why, &mine, &peer, "transport");
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_HASH_MISMATCH);
    hello_init(&peer);
    ward_hello_match(&why, &mine, &peer, "energy");
    CHECK(why == WARD__WIRE__CLOSE_REASON__CLOSE_UNKNOWN_PEER);
    CHECK_RC(ward_hello_match(NULL, &mine, &peer, "energy"), WARD_EINVAL);
    CHECK(strcmp(ward_close_reason_str(WARD__WIRE__CLOSE_REASON__CLOSE_VERSION_MISMATCH),
                 "version mismatch") == 0);
    CHECK(strcmp(ward_close_reason_str(12345), "unknown reason") == 0);
}

static void test_close(void) {
    size_t n;
    CHECK_RC(ward_close_encode(buf, sizeof buf, &n,
                               WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_EPOCH_MISMATCH,
                               "roster epoch 4 here, 5 there"), 0);
    ward_wire_msg *m = NULL;
    CHECK_RC(ward_wire_decode(&m, buf, n), 0);
    if (m != NULL) {
        CHECK(m->body_case == WARD__WIRE__MESSAGE__BODY_CLOSE);
        CHECK(m->close->reason == WARD__WIRE__CLOSE_REASON__CLOSE_ROSTER_EPOCH_MISMATCH);
        CHECK(strcmp(m->close->text, "roster epoch 4 here, 5 there") == 0);
        CHECK_EQ_U64(m->close->version_major, WARD_WIRE_VERSION_MAJOR);
        ward_wire_free(m);
    }
    CHECK_RC(ward_close_encode(buf, sizeof buf, &n,
                               WARD__WIRE__CLOSE_REASON__CLOSE_SHUTTING_DOWN, NULL), 0);
    CHECK_RC(ward_close_encode(buf, sizeof buf, &n,
                               WARD__WIRE__CLOSE_REASON__CLOSE_SHUTTING_DOWN, "\xff"),
             WARD_EPARSE);
    /* A Close of another major version, with a reason we do not know, is
     * still read: it is how peers of different majors part. */
    Ward__Wire__Close c = WARD__WIRE__CLOSE__INIT;
    c.reason = (Ward__Wire__CloseReason)77;
    c.version_major = 9;
    c.text = (char *)"bye";
    ward_wire_msg wm = WARD__WIRE__MESSAGE__INIT;
    wm.body_case = WARD__WIRE__MESSAGE__BODY_CLOSE;
    wm.close = &c;
    n = protobuf_c_message_pack(&wm.base, buf);
    CHECK_RC(ward_wire_decode(&m, buf, n), 0);
    CHECK(m != NULL && m->close->reason == 77 && m->close->version_major == 9);
    ward_wire_free(m);
}

/* ---- damaged and foreign input ------------------------------------------ */

static int known_code(int rc) {
    return rc == 0 || rc == WARD_EPARSE || rc == WARD_ETOOBIG || rc == WARD_EVERSION ||
           rc == WARD_EOVERFLOW || rc == WARD_EUNSUPPORTED;
}

/* Decodes in and, on success, checks the result validates again. */
static int decode_and_recheck(const uint8_t *in, size_t n) {
    ward_wire_msg *m = NULL;
    int rc = ward_wire_decode(&m, in, n);
    if (rc != 0) {
        CHECK(m == NULL);
        CHECK(known_code(rc));
        return rc;
    }
    CHECK(m != NULL);
    if (m == NULL) return -999;
    if (m->body_case == WARD__WIRE__MESSAGE__BODY_ENVELOPE)
        CHECK_RC(ward_envelope_check(m->envelope), 0);
    else if (m->body_case == WARD__WIRE__MESSAGE__BODY_HELLO)
        CHECK_RC(ward_hello_check(m->hello), 0);
    else
        CHECK(m->body_case == WARD__WIRE__MESSAGE__BODY_CLOSE);
    ward_wire_free(m);
    return 0;
}

static void test_truncated_and_flipped(void) {
    static uint8_t enc[WARD_WIRE_MAX_MSG], mut[WARD_WIRE_MAX_MSG];
    long accepted = 0, rejected = 0, truncated_accepted = 0;
    for (size_t k = 0; k <= N_KINDS; k++) {
        size_t n;
        if (k < N_KINDS) {
            static fixture f;
            fixture_init(&f, all_kinds[k]);
            CHECK_RC(ward_envelope_encode(enc, sizeof enc, &n, &f.e), 0);
        } else {
            ward_hello h;
            hello_init(&h);
            CHECK_RC(ward_hello_encode(enc, sizeof enc, &n, &h), 0);
        }
        /* Every proper prefix: the body is one length-delimited field of
         * Message, so a cut anywhere leaves its length unsatisfied. */
        for (size_t len = 0; len < n; len++) {
            memcpy(mut, enc, len);
            if (decode_and_recheck(mut, len) == 0) truncated_accepted++;
        }
        /* Every single-bit flip. */
        for (size_t i = 0; i < n; i++) {
            for (int b = 0; b < 8; b++) {
                memcpy(mut, enc, n);
                mut[i] ^= (uint8_t)(1u << b);
                if (decode_and_recheck(mut, n) == 0)
                    accepted++;
                else
                    rejected++;
            }
        }
    }
    CHECK_EQ_U64(truncated_accepted, 0);
    /* A flip in opaque bytes goes unnoticed (the channel's MAC is what
     * catches those); flips in lengths, tags and names do not. */
    CHECK(rejected > 0 && accepted > 0);
    printf("bit flips: %ld rejected, %ld accepted after validation\n", rejected, accepted);

    ward_wire_msg *m = (ward_wire_msg *)&m;
    CHECK_RC(ward_wire_decode(&m, NULL, 0), WARD_EPARSE);
    CHECK(m == NULL);
    CHECK_RC(ward_wire_decode(&m, buf, WARD_WIRE_MAX_MSG + 1), WARD_ETOOBIG);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_RC(ward_wire_decode(&m, junk, sizeof junk), WARD_EPARSE);
    CHECK_RC(ward_wire_decode(NULL, junk, sizeof junk), WARD_EINVAL);
    CHECK_RC(ward_wire_decode(&m, NULL, 3), WARD_EINVAL);
}

/* Appends a varint. */
static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Fields a later minor version might add: a varint in the reserved header
 * range, a length-delimited field far out, a fixed64. */
static size_t put_unknown_fields(uint8_t *p) {
    size_t n = 0;
    n += put_varint(p + n, (15u << 3) | 0);
    n += put_varint(p + n, 42);
    n += put_varint(p + n, (1000u << 3) | 2);
    n += put_varint(p + n, 3);
    memcpy(p + n, "abc", 3);
    n += 3;
    n += put_varint(p + n, (77u << 3) | 1);
    memset(p + n, 0x11, 8);
    n += 8;
    return n;
}

static void test_unknown_fields(void) {
    static uint8_t inner[WARD_WIRE_MAX_MSG], outer[WARD_WIRE_MAX_MSG];
    static fixture f;

    /* Unknown fields inside the Envelope. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    size_t n = protobuf_c_message_pack(&f.e.base, inner);
    n += put_unknown_fields(inner + n);
    size_t o = 0;
    o += put_varint(outer + o, (3u << 3) | 2);
    o += put_varint(outer + o, n);
    memcpy(outer + o, inner, n);
    o += n;
    ward_wire_msg *m = NULL;
    CHECK_RC(ward_wire_decode(&m, outer, o), 0);
    if (m != NULL) {
        CHECK_EQ_U64(m->envelope->base.n_unknown_fields, 3);
        CHECK_EQ_U64(m->envelope->shares->n_elements, 5);
        CHECK(memcmp(m->envelope->shares->elements, f.elems, sizeof f.elems) == 0);
        ward_wire_free(m);
    }

    /* Unknown fields inside a payload. */
    size_t pn = protobuf_c_message_pack(&f.shares.base, inner);
    pn += put_unknown_fields(inner + pn);
    ward_envelope hdr = f.e;
    hdr.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD__NOT_SET;
    static uint8_t env[WARD_WIRE_MAX_MSG];
    size_t en = protobuf_c_message_pack(&hdr.base, env);
    en += put_varint(env + en, (21u << 3) | 2);
    en += put_varint(env + en, pn);
    memcpy(env + en, inner, pn);
    en += pn;
    o = 0;
    o += put_varint(outer + o, (3u << 3) | 2);
    o += put_varint(outer + o, en);
    memcpy(outer + o, env, en);
    o += en;
    m = NULL;
    CHECK_RC(ward_wire_decode(&m, outer, o), 0);
    if (m != NULL) {
        CHECK_EQ_U64(m->envelope->shares->base.n_unknown_fields, 3);
        CHECK_EQ_U64(m->envelope->shares->n_elements, 5);
        ward_wire_free(m);
    }

    /* Unknown fields beside the body of Message. */
    size_t mn = raw_pack_env(outer, sizeof outer, &f.e);
    mn += put_unknown_fields(outer + mn);
    m = NULL;
    CHECK_RC(ward_wire_decode(&m, outer, mn), 0);
    if (m != NULL) {
        CHECK_EQ_U64(m->base.n_unknown_fields, 3);
        ward_wire_free(m);
    }

    /* In a Hello. */
    ward_hello h;
    hello_init(&h);
    size_t hn = protobuf_c_message_pack(&h.base, inner);
    hn += put_unknown_fields(inner + hn);
    o = 0;
    o += put_varint(outer + o, (1u << 3) | 2);
    o += put_varint(outer + o, hn);
    memcpy(outer + o, inner, hn);
    o += hn;
    m = NULL;
    CHECK_RC(ward_wire_decode(&m, outer, o), 0);
    if (m != NULL) {
        CHECK(m->body_case == WARD__WIRE__MESSAGE__BODY_HELLO);
        CHECK_EQ_U64(m->hello->base.n_unknown_fields, 3);
        ward_wire_free(m);
    }

    /* A body type from the future: well formed but not ours. */
    o = put_unknown_fields(outer);
    CHECK_RC(ward_wire_decode(&m, outer, o), WARD_EUNSUPPORTED);
    o = 0;
    o += put_varint(outer + o, (9u << 3) | 2);
    o += put_varint(outer + o, 0);
    CHECK_RC(ward_wire_decode(&m, outer, o), WARD_EUNSUPPORTED);

    /* A payload kind from the future. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_ACCEPT);
    f.e.kind = (Ward__Wire__Kind)40;
    f.e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD__NOT_SET;
    en = protobuf_c_message_pack(&f.e.base, env);
    en += put_varint(env + en, (40u << 3) | 2);
    en += put_varint(env + en, 2);
    env[en++] = 0x08;
    env[en++] = 0x01;
    o = 0;
    o += put_varint(outer + o, (3u << 3) | 2);
    o += put_varint(outer + o, en);
    memcpy(outer + o, env, en);
    o += en;
    CHECK_RC(ward_wire_decode(&m, outer, o), WARD_EUNSUPPORTED);
}

/* ---- chunking ----------------------------------------------------------- */

typedef struct {
    ward_wire_msg **msgs;
    size_t n;
    size_t max_len;
} chunk_list;

/* Runs the chunker over e and decodes every message it yields. */
static int chunk_all(chunk_list *out, const ward_envelope *e) {
    static uint8_t m[WARD_WIRE_MAX_MSG];
    ward_chunker c;
    int rc = ward_chunker_init(&c, e);
    if (rc != 0) return rc;
    out->msgs = calloc(c.count ? c.count : 1, sizeof *out->msgs);
    out->n = 0;
    out->max_len = 0;
    for (;;) {
        size_t len;
        rc = ward_chunker_next(&c, m, sizeof m, &len);
        if (rc != 0 || len == 0) break;
        if (len > out->max_len) out->max_len = len;
        CHECK(len <= WARD_WIRE_MAX_MSG);
        ward_wire_msg *d = NULL;
        rc = ward_wire_decode(&d, m, len);
        if (rc != 0) break;
        out->msgs[out->n++] = d;
    }
    CHECK_EQ_U64(out->n, c.count);
    ward_chunker_clear(&c);
    return rc;
}

static void chunk_list_free(chunk_list *l) {
    for (size_t i = 0; i < l->n; i++) ward_wire_free(l->msgs[i]);
    free(l->msgs);
    l->msgs = NULL;
    l->n = 0;
}

/* Feeds all chunks to a fresh reassembler; returns the whole envelope. */
static ward_envelope *reassemble(const chunk_list *l, size_t max_total, int *rc_out) {
    ward_reasm r;
    CHECK_RC(ward_reasm_init(&r, max_total), 0);
    ward_envelope *done = NULL;
    int rc = 0;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        CHECK(done == NULL);
        rc = ward_reasm_add(&r, &done, l->msgs[i]->envelope);
    }
    ward_reasm_clear(&r);
    *rc_out = rc;
    return done;
}

static int payload_equal(const ward_envelope *a, const ward_envelope *b) {
    const ProtobufCMessage *pa = NULL, *pb = NULL;
    switch (a->payload_case) {
    case WARD__WIRE__ENVELOPE__PAYLOAD_GC_DATA:
        pa = &a->gc_data->base;
        pb = &b->gc_data->base;
        break;
    case WARD__WIRE__ENVELOPE__PAYLOAD_SHARES:
        pa = &a->shares->base;
        pb = &b->shares->base;
        break;
    case WARD__WIRE__ENVELOPE__PAYLOAD_PROPOSE:
        pa = &a->propose->base;
        pb = &b->propose->base;
        break;
    default:
        return 0;
    }
    if (a->payload_case != b->payload_case) return 0;
    size_t na = protobuf_c_message_get_packed_size(pa);
    size_t nb = protobuf_c_message_get_packed_size(pb);
    if (na != nb) return 0;
    uint8_t *ba = malloc(na ? na : 1), *bb = malloc(nb ? nb : 1);
    protobuf_c_message_pack(pa, ba);
    protobuf_c_message_pack(pb, bb);
    int eq = memcmp(ba, bb, na) == 0;
    free(ba);
    free(bb);
    return eq;
}

static uint8_t *big_data;
static size_t big_len;

/* A GcData envelope whose data is big_data[0..len). */
static void gc_env(fixture *f, size_t len) {
    fixture_init(f, WARD__WIRE__KIND__KIND_GC_DATA);
    f->gc.data.data = big_data;
    f->gc.data.len = len;
}

/* Checks that an envelope goes through chunker, decoder and reassembler
 * intact; returns the number of messages it took. */
static size_t check_chunk_round_trip(const ward_envelope *e) {
    chunk_list l = {0};
    CHECK_RC(chunk_all(&l, e), 0);
    size_t count = l.n;
    if (count == 1) {
        const ward_envelope *d = l.msgs[0]->envelope;
        CHECK(d->chunk == NULL);
        CHECK(payload_equal(e, d));
    } else if (count > 1) {
        /* Every piece but the last has the same length. */
        for (size_t i = 0; i < count; i++) {
            const ward_envelope *d = l.msgs[i]->envelope;
            CHECK(d->chunk != NULL && d->chunk->index == i && d->chunk->count == count);
            CHECK(d->payload_case == WARD__WIRE__ENVELOPE__PAYLOAD_RAW);
            CHECK(d->kind == e->kind && d->seq == e->seq && d->round == e->round);
            if (i + 1 < count)
                CHECK_EQ_U64(d->raw->data.len, l.msgs[0]->envelope->raw->data.len);
            else
                CHECK(d->raw->data.len <= l.msgs[0]->envelope->raw->data.len);
        }
        int rc;
        ward_envelope *done = reassemble(&l, WARD_WIRE_TOTAL_MAX, &rc);
        CHECK_RC(rc, 0);
        CHECK(done != NULL);
        if (done != NULL) {
            CHECK(done->chunk == NULL);
            CHECK(done->kind == e->kind && done->round == e->round && done->seq == e->seq);
            CHECK(strcmp(done->sender, e->sender) == 0);
            CHECK(memcmp(done->session_id.data, e->session_id.data, 32) == 0);
            CHECK(payload_equal(e, done));
            CHECK_RC(ward_envelope_check(done), 0);
            ward_envelope_free(done);
        }
    }
    chunk_list_free(&l);
    return count;
}

static void test_chunking(void) {
    static fixture f;
    big_len = 6u << 20;
    big_data = malloc(big_len);
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 0x63686e6bULL), 0);
    ward_rng_bytes(&rng, big_data, big_len);

    /* Payload data of 0 and 1 bytes: one message. */
    gc_env(&f, 0);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 1);
    gc_env(&f, 1);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 1);

    /* The largest data that fits one message, exactly filling it. */
    size_t lo = 1, hi = WARD_WIRE_MAX_MSG;
    while (lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        gc_env(&f, mid);
        size_t n;
        if (ward_envelope_encode(buf, sizeof buf, &n, &f.e) == 0)
            lo = mid;
        else
            hi = mid;
    }
    gc_env(&f, lo);
    size_t n = 0;
    CHECK_RC(ward_envelope_encode(buf, sizeof buf, &n, &f.e), 0);
    CHECK_EQ_U64(n, WARD_WIRE_MAX_MSG);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 1);
    /* One byte more: ward_envelope_encode refuses, the chunker splits. */
    gc_env(&f, lo + 1);
    CHECK_RC(ward_envelope_encode(buf, sizeof buf, &n, &f.e), WARD_ETOOBIG);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 2);

    /* Payloads of exactly two pieces, and two pieces plus one byte. */
    ward_chunker c;
    gc_env(&f, 200000);
    CHECK_RC(ward_chunker_init(&c, &f.e), 0);
    size_t piece = c.piece, plen = c.buf_len;
    ward_chunker_clear(&c);
    CHECK(piece > 60000 && piece < WARD_WIRE_MAX_MSG);
    gc_env(&f, 200000 - (plen - 2 * piece));
    CHECK_RC(ward_chunker_init(&c, &f.e), 0);
    CHECK_EQ_U64(c.buf_len, 2 * piece);
    CHECK_EQ_U64(c.count, 2);
    ward_chunker_clear(&c);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 2);
    gc_env(&f, 200000 - (plen - 2 * piece) + 1);
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 3);

    /* Several MiB of opaque data. */
    gc_env(&f, 5u << 20);
    size_t count = check_chunk_round_trip(&f.e);
    CHECK(count > 80 && count < 100);

    /* Several MiB of shares (4 MiB of elements below p). */
    {
        size_t ne = 512 * 1024;
        uint64_t *el = malloc(ne * sizeof *el);
        for (size_t i = 0; i < ne; i++) el[i] = ward_rng_uniform(&rng, P61);
        el[0] = P61 - 1;
        fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
        f.shares.elements = el;
        f.shares.n_elements = ne;
        count = check_chunk_round_trip(&f.e);
        CHECK(count > 60);
        free(el);
    }

    /* A big Propose (a long spec) chunks too. */
    fixture_init(&f, WARD__WIRE__KIND__KIND_PROPOSE);
    f.propose.spec.data = big_data;
    f.propose.spec.len = 150000;
    CHECK_EQ_U64(check_chunk_round_trip(&f.e), 3);

    ward_rng_clear(&rng);
}

static void test_chunker_misuse(void) {
    static fixture f;
    ward_chunker c;
    static uint8_t out[WARD_WIRE_MAX_MSG];
    size_t n;
    CHECK_RC(ward_chunker_init(NULL, &f.e), WARD_EINVAL);
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    f.elems[1] = P61;
    CHECK_RC(ward_chunker_init(&c, &f.e), WARD_EOVERFLOW);
    ward_chunker_clear(&c);
    fixture_init(&f, WARD__WIRE__KIND__KIND_SHARES);
    CHECK_RC(ward_chunker_init(&c, &f.e), 0);
    CHECK_RC(ward_chunker_next(&c, out, WARD_WIRE_MAX_MSG - 1, &n), WARD_EINVAL);
    CHECK_RC(ward_chunker_next(&c, out, sizeof out, &n), 0);
    CHECK(n > 0);
    ward_chunker_clear(&c);
    ward_chunker_clear(&c); /* twice is harmless */
    ward_chunker_clear(NULL);
}

/* ---- reassembly errors -------------------------------------------------- */

/* A chunk envelope built by hand. */
typedef struct {
    ward_envelope e;
    Ward__Wire__Chunk ch;
    Ward__Wire__Raw raw;
    uint8_t sid[32];
} hand_chunk;

static void hand_chunk_init(hand_chunk *h, uint32_t kind, uint32_t index, uint32_t count,
                            uint64_t total, const uint8_t *data, size_t len) {
    memset(h, 0, sizeof *h);
    ward__wire__envelope__init(&h->e);
    ward__wire__chunk__init(&h->ch);
    ward__wire__raw__init(&h->raw);
    for (int i = 0; i < 32; i++) h->sid[i] = (uint8_t)(i + 1);
    h->e.version_major = WARD_WIRE_VERSION_MAJOR;
    h->e.session_id.data = h->sid;
    h->e.session_id.len = 32;
    h->e.kind = (Ward__Wire__Kind)kind;
    h->e.round = 1;
    h->e.sender = sender_name;
    h->e.seq = 5;
    h->ch.index = index;
    h->ch.count = count;
    h->ch.total_len = total;
    h->e.chunk = &h->ch;
    h->raw.data.data = (uint8_t *)data;
    h->raw.data.len = len;
    h->e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_RAW;
    h->e.raw = &h->raw;
}

static void test_reasm_errors(void) {
    static fixture f;
    gc_env(&f, 300000);
    chunk_list l = {0};
    CHECK_RC(chunk_all(&l, &f.e), 0);
    CHECK(l.n >= 4);
    if (l.n < 4) {
        chunk_list_free(&l);
        return;
    }
    ward_reasm r;
    ward_envelope *done = NULL;
#define E(i) (l.msgs[i]->envelope)

    /* A gap closes the stream. */
    CHECK_RC(ward_reasm_init(&r, 0), 0);
    CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
    CHECK_RC(ward_reasm_add(&r, &done, E(2)), WARD_EPARSE);
    CHECK_RC(ward_reasm_add(&r, &done, E(1)), WARD_ECLOSED);
    CHECK(done == NULL);
    ward_reasm_clear(&r);

    /* A stream must start at chunk 0. */
    CHECK_RC(ward_reasm_init(&r, 0), 0);
    CHECK_RC(ward_reasm_add(&r, &done, E(1)), WARD_EPARSE);
    ward_reasm_clear(&r);

    /* An identical repeat is dropped, and the payload still completes. */
    CHECK_RC(ward_reasm_init(&r, 0), 0);
    for (size_t i = 0; i < l.n; i++) {
        CHECK_RC(ward_reasm_add(&r, &done, E(i)), 0);
        if (i + 1 < l.n) {
            CHECK(done == NULL);
            CHECK_RC(ward_reasm_add(&r, &done, E(i)), 0);
            CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
            CHECK(done == NULL);
        }
    }
    CHECK(done != NULL && payload_equal(&f.e, done));
    ward_envelope_free(done);
    done = NULL;
    /* The stream is finished. */
    CHECK_RC(ward_reasm_add(&r, &done, E(0)), WARD_ESTATE);
    ward_reasm_clear(&r);

    /* A repeat with different bytes closes the stream. */
    {
        static uint8_t alt[WARD_WIRE_MAX_MSG];
        ward_envelope dup = *E(1);
        Ward__Wire__Raw raw = *dup.raw;
        memcpy(alt, raw.data.data, raw.data.len);
        alt[100] ^= 1;
        raw.data.data = alt;
        dup.raw = &raw;
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(1)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &dup), WARD_EPARSE);
        CHECK_RC(ward_reasm_add(&r, &done, E(2)), WARD_ECLOSED);
        ward_reasm_clear(&r);
    }

    /* A total or count that changes closes the stream. */
    {
        ward_envelope other = *E(1);
        Ward__Wire__Chunk ch = *other.chunk;
        ch.total_len += 1;
        other.chunk = &ch;
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &other), WARD_EPARSE);
        ward_reasm_clear(&r);
        ch = *E(1)->chunk;
        ch.count += 1;
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &other), WARD_EPARSE);
        ward_reasm_clear(&r);
    }

    /* A changed header (round) closes the stream. */
    {
        ward_envelope other = *E(1);
        other.round += 1;
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &other), WARD_EPARSE);
        ward_reasm_clear(&r);
    }

    /* A chunk of another stream is the caller's mistake: refused, stream intact. */
    {
        ward_envelope other = *E(1);
        other.seq += 1;
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, E(0)), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &other), WARD_EINVAL);
        for (size_t i = 1; i < l.n; i++) CHECK_RC(ward_reasm_add(&r, &done, E(i)), 0);
        CHECK(done != NULL);
        ward_envelope_free(done);
        done = NULL;
        ward_reasm_clear(&r);
        /* Not a chunk at all. */
        static fixture g;
        fixture_init(&g, WARD__WIRE__KIND__KIND_ACCEPT);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &g.e), WARD_EINVAL);
        ward_reasm_clear(&r);
    }

    /* Over the declared limit. */
    CHECK_RC(ward_reasm_init(&r, 100000), 0);
    CHECK_RC(ward_reasm_add(&r, &done, E(0)), WARD_ETOOBIG);
    CHECK_RC(ward_reasm_add(&r, &done, E(1)), WARD_ECLOSED);
    ward_reasm_clear(&r);
    CHECK_RC(ward_reasm_init(&r, WARD_WIRE_TOTAL_MAX + (size_t)1), WARD_EINVAL);
    {
        /* The default limit is 64 MiB. */
        static uint8_t piece[65000];
        hand_chunk h;
        hand_chunk_init(&h, WARD__WIRE__KIND__KIND_GC_DATA, 0,
                        (uint32_t)((WARD_REASM_DEFAULT_MAX + 1 + 64999) / 65000),
                        WARD_REASM_DEFAULT_MAX + 1, piece, sizeof piece);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &h.e), WARD_ETOOBIG);
        ward_reasm_clear(&r);
        hand_chunk_init(&h, WARD__WIRE__KIND__KIND_GC_DATA, 0,
                        (uint32_t)((WARD_REASM_DEFAULT_MAX + 64999) / 65000),
                        WARD_REASM_DEFAULT_MAX, piece, sizeof piece);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &h.e), 0);
        CHECK(r.cap < 1000000); /* memory follows the data received */
        ward_reasm_clear(&r);
    }
    chunk_list_free(&l);
#undef E

    /* Hand-made streams. */
    {
        static uint8_t data[300];
        for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
        hand_chunk a, b, c;
        /* count disagrees with total and piece length */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_GC_DATA, 0, 3, 200, data, 100);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), WARD_EPARSE);
        ward_reasm_clear(&r);
        /* a middle piece of the wrong length */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_GC_DATA, 0, 3, 250, data, 100);
        hand_chunk_init(&b, WARD__WIRE__KIND__KIND_GC_DATA, 1, 3, 250, data, 99);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &b.e), WARD_EPARSE);
        ward_reasm_clear(&r);
        /* a last piece of the wrong length */
        hand_chunk_init(&b, WARD__WIRE__KIND__KIND_GC_DATA, 1, 3, 250, data, 100);
        hand_chunk_init(&c, WARD__WIRE__KIND__KIND_GC_DATA, 2, 3, 250, data, 49);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &b.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &c.e), WARD_EPARSE);
        ward_reasm_clear(&r);
        /* well-formed chunks whose whole is not a GcData message */
        static uint8_t junk[250];
        memset(junk, 0xff, sizeof junk);
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_GC_DATA, 0, 3, 250, junk, 100);
        hand_chunk_init(&b, WARD__WIRE__KIND__KIND_GC_DATA, 1, 3, 250, junk, 100);
        hand_chunk_init(&c, WARD__WIRE__KIND__KIND_GC_DATA, 2, 3, 250, junk, 50);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &b.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &c.e), WARD_EPARSE);
        CHECK(done == NULL);
        CHECK_RC(ward_reasm_add(&r, &done, &c.e), WARD_ECLOSED);
        ward_reasm_clear(&r);
        /* a whole that parses but breaks a rule: a share element >= p */
        uint64_t el[40];
        for (int i = 0; i < 40; i++) el[i] = (uint64_t)i;
        el[39] = P61;
        Ward__Wire__Shares sh = WARD__WIRE__SHARES__INIT;
        sh.field = WARD__WIRE__FIELD__FIELD_P61;
        sh.elements = el;
        sh.n_elements = 40;
        static uint8_t packed[400];
        size_t pn = protobuf_c_message_pack(&sh.base, packed);
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2, pn, packed, 200);
        hand_chunk_init(&b, WARD__WIRE__KIND__KIND_SHARES, 1, 2, pn, packed + 200, pn - 200);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &b.e), WARD_EOVERFLOW);
        ward_reasm_clear(&r);
        el[39] = 39;
        pn = protobuf_c_message_pack(&sh.base, packed);
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2, pn, packed, 200);
        hand_chunk_init(&b, WARD__WIRE__KIND__KIND_SHARES, 1, 2, pn, packed + 200, pn - 200);
        CHECK_RC(ward_reasm_init(&r, 0), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &a.e), 0);
        CHECK_RC(ward_reasm_add(&r, &done, &b.e), 0);
        CHECK(done != NULL && done->shares->n_elements == 40 && done->shares->elements[39] == 39);
        CHECK_EQ_U64(done ? done->seq : 0, 5);
        ward_envelope_free(done);
        done = NULL;
        ward_reasm_clear(&r);
        /* Chunk-level rules in the decoder. */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 2, 2, pn, packed, 200);
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* index >= count */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 1, pn, packed, 200);
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* count < 2 */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2, 100, packed, 200);
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* piece longer than the total */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2, pn, packed, 0);
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* empty piece */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2,
                        (uint64_t)WARD_WIRE_TOTAL_MAX + 1, packed, 200);
        CHECK_RC(decode_rc(&a.e), WARD_ETOOBIG);
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_PING, 0, 2, pn, packed, 200);
        memset(a.sid, 0, 32);
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* keepalives are never chunked */
        hand_chunk_init(&a, WARD__WIRE__KIND__KIND_SHARES, 0, 2, pn, packed, 200);
        a.e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_ACCEPT;
        static Ward__Wire__Accept acc = WARD__WIRE__ACCEPT__INIT;
        a.e.accept = &acc;
        CHECK_RC(decode_rc(&a.e), WARD_EPARSE);  /* a chunk carries raw data */
    }
}

int main(void) {
    test_round_trip_every_kind();
    test_encoder_stamps_version();
    test_versions();
    test_session_id();
    test_sender_names();
    test_kind_and_payload();
    test_payload_rules();
    test_hello();
    test_close();
    test_truncated_and_flipped();
    test_unknown_fields();
    test_chunking();
    test_chunker_misuse();
    test_reasm_errors();
    free(big_data);
    return check_done("envelope");
}
