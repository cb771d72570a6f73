/* ward.wire messages: encoding, validation, chunking and reassembly.
 *
 * Each Noise transport plaintext is one ward.wire.Message (wire.proto)
 * holding a Hello, a Close or an Envelope, at most WARD_WIRE_MAX_MSG bytes.
 * The types are the ones protoc-c generates from wire.proto; this module
 * adds what protobuf does not check (docs/protocol.md lists every rule):
 * versions, exact lengths of ids and hashes, names, that the payload matches
 * the kind, field elements in range, and size limits. Every decoder accepts
 * any bytes and either returns a validated message or an error code; it
 * never returns a half-checked message.
 *
 * Sending:
 *   - Hello and Close:  ward_hello_encode, ward_close_encode.
 *   - An envelope:      ward_chunker_init / ward_chunker_next until it yields
 *                       nothing, then ward_chunker_clear. A payload that fits
 *                       comes out as one message; a larger one as a run of
 *                       chunks. ward_envelope_encode is the one-message
 *                       shortcut for envelopes known to be small.
 * Receiving:
 *   - ward_wire_decode gives a validated Message; free it with ward_wire_free.
 *   - An envelope with `chunk` set is one piece of a larger payload: give it
 *     to the ward_reasm of its (session_id, sender, seq) stream, which
 *     returns the whole envelope after the last piece.
 *
 * Decoded messages are allocated; their memory is wiped when freed, since
 * payloads hold shares.
 *
 * Strings: protobuf-c hands out strings as C strings, so a string field
 * ends at its first NUL byte. Names are compared after that cut; the node
 * checks that an envelope's sender is the authenticated peer of the channel.
 */
#ifndef WARD_ENVELOPE_H
#define WARD_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "wire.pb-c.h"

/* The protocol version this build speaks. */
#define WARD_WIRE_VERSION_MAJOR 1u
#define WARD_WIRE_VERSION_MINOR 2u

/* Limits. A transport plaintext is a Noise transport message less its
 * 16-byte tag. */
#define WARD_WIRE_MAX_MSG (65535u - 16u)   /* 65519 */
#define WARD_WIRE_SESSION_ID_BYTES 32u
#define WARD_WIRE_HASH_BYTES 32u           /* roster hash, accepted-set hash */
#define WARD_WIRE_NONCE_BYTES 16u          /* Propose.nonce */
#define WARD_WIRE_NAME_MAX 32u             /* node names: [a-z0-9-]{1,32} */
#define WARD_WIRE_FEDERATION_MAX 64u
#define WARD_WIRE_FEATURE_MAX 32u          /* feature strings: [a-z0-9._-]{1,32} */
#define WARD_WIRE_MAX_FEATURES 64u
#define WARD_WIRE_TEXT_MAX 1024u           /* reason texts, UTF-8 */
#define WARD_WIRE_MAX_PARTIES 1024u        /* Commit.parties */
#define WARD_WIRE_TOTAL_MAX (1u << 30)     /* no payload, chunked or not, is larger */
#define WARD_REASM_DEFAULT_MAX (64u << 20) /* default reassembly limit: 64 MiB */

typedef Ward__Wire__Message ward_wire_msg;
typedef Ward__Wire__Hello ward_hello;
typedef Ward__Wire__Envelope ward_envelope;

/* ---- decoding ---------------------------------------------------------- */

/* Decodes and validates one transport plaintext. On success *out holds a
 * Message whose body is a Hello, a Close or an Envelope; free it with
 * ward_wire_free. On error *out is NULL.
 *
 * Returns 0 or:
 *   WARD_ETOOBIG       in_len > WARD_WIRE_MAX_MSG, or a length limit exceeded
 *   WARD_EPARSE        not protobuf, or a rule of docs/protocol.md broken
 *   WARD_EVERSION      a Hello or Envelope of another major version
 *   WARD_EOVERFLOW     a share element outside its field
 *   WARD_EUNSUPPORTED  well formed but of a body, kind or sub-kind this
 *                      version does not know (a newer minor's addition)
 *   WARD_ENOMEM, WARD_EINVAL (in NULL with in_len > 0, out NULL) */
int ward_wire_decode(ward_wire_msg **out, const uint8_t *in, size_t in_len);

/* Frees (and wipes) a decoded Message. NULL is a no-op. */
void ward_wire_free(ward_wire_msg *m);

/* Frees (and wipes) an envelope returned by ward_reasm_add. NULL is a no-op. */
void ward_envelope_free(ward_envelope *e);

/* The validation ward_wire_decode applies to an Envelope, for envelopes
 * built in memory. Same return codes; WARD_EINVAL for a NULL pointer with a
 * non-zero length inside the struct. */
int ward_envelope_check(const ward_envelope *e);

/* The validation applied to a Hello (version first, then the fields). */
int ward_hello_check(const ward_hello *h);

/* ---- encoding (single messages) ---------------------------------------- */

/* Each writes one transport plaintext to out[0..out_cap) and its length to
 * *out_len. The version fields are set to this build's version whatever the
 * struct holds. out_cap >= WARD_WIRE_MAX_MSG always suffices.
 * Return 0, the validation codes above for an invalid struct, WARD_ETOOBIG
 * when the message exceeds WARD_WIRE_MAX_MSG or out_cap, WARD_EINVAL. */
int ward_hello_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                      const ward_hello *h);
/* text may be NULL (no text); it must be UTF-8 of at most WARD_WIRE_TEXT_MAX bytes. */
int ward_close_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                      Ward__Wire__CloseReason reason, const char *text);
/* e must not be a chunk (chunk NULL, payload not raw). */
int ward_envelope_encode(uint8_t *out, size_t out_cap, size_t *out_len,
                         const ward_envelope *e);

/* Compares the peer's validated Hello with ours. *reason receives
 * CLOSE_UNSPECIFIED when the channel may proceed, otherwise the reason to
 * close with: VERSION_MISMATCH (major differs), FEDERATION_MISMATCH,
 * ROSTER_EPOCH_MISMATCH, ROSTER_HASH_MISMATCH, or UNKNOWN_PEER when the
 * peer's node_name is not peer_name (the roster name of the key that
 * completed the handshake). A minor version difference is no reason.
 * Returns 0, or WARD_EINVAL for NULL arguments. */
int ward_hello_match(Ward__Wire__CloseReason *reason, const ward_hello *mine,
                     const ward_hello *peer, const char *peer_name);

/* A short name for a close reason ("version mismatch"). Never NULL. */
const char *ward_close_reason_str(int reason);

/* ---- chunking ---------------------------------------------------------- */

/* Splits one envelope into transport plaintexts. The chunker copies what it
 * needs at init (the serialized payload goes into a buffer it allocates),
 * so the envelope may be freed right after ward_chunker_init.
 *
 * A payload whose envelope fits one message yields exactly that message.
 * Otherwise the serialized payload (the Propose, Shares, ... message alone)
 * is cut into count >= 2 pieces, each sent as an envelope with the same
 * header, chunk {index, count, total_len} and a Raw payload; every piece but
 * the last has the same length. */
typedef struct {
    uint8_t *buf;          /* whole message (single) or serialized payload */
    size_t buf_len;
    size_t piece;          /* payload bytes per chunk */
    uint32_t index;        /* next message to produce */
    uint32_t count;        /* messages in all (1 when unchunked) */
    int chunked;
    uint32_t kind, round;
    uint64_t seq;
    uint8_t session_id[WARD_WIRE_SESSION_ID_BYTES];
    char sender[WARD_WIRE_NAME_MAX + 1];
} ward_chunker;

/* Validates e (ward_envelope_check) and prepares its messages.
 * Returns 0, a validation code, WARD_ETOOBIG (payload > WARD_WIRE_TOTAL_MAX),
 * WARD_ENOMEM, or WARD_EINVAL (e is a chunk). After a failure the chunker
 * holds nothing and ward_chunker_clear is optional. */
int ward_chunker_init(ward_chunker *c, const ward_envelope *e);

/* Writes the next message to out (out_cap >= WARD_WIRE_MAX_MSG) and its
 * length to *out_len, or sets *out_len to 0 when every message has been
 * produced. Returns 0 or WARD_EINVAL. */
int ward_chunker_next(ward_chunker *c, uint8_t *out, size_t out_cap, size_t *out_len);

/* Wipes and frees the buffer. Safe on a zeroed or cleared chunker. */
void ward_chunker_clear(ward_chunker *c);

/* ---- reassembly -------------------------------------------------------- */

/* Collects the chunks of one payload: one ward_reasm per (session_id,
 * sender, seq) stream, owned by the caller. Chunks must arrive in order.
 * A repeated chunk identical to the one already received is dropped; any
 * other departure (a gap, a repeated chunk with different bytes, a changed
 * count, total or header, a piece of the wrong length, a total above the
 * limit) closes the stream: the buffer is wiped and later calls return
 * WARD_ECLOSED. The buffer grows with the data received, never beyond the
 * declared total. */
typedef struct {
    size_t max_total;
    int state;             /* 0 empty, 1 receiving, 2 done, 3 closed */
    uint32_t kind, round, version_minor;
    uint64_t seq;
    uint8_t session_id[WARD_WIRE_SESSION_ID_BYTES];
    char sender[WARD_WIRE_NAME_MAX + 1];
    uint32_t count, next;  /* chunks announced, next index expected */
    size_t total, piece;   /* payload length, length of every piece but the last */
    uint8_t *buf;
    size_t cap, have;
} ward_reasm;

/* max_total: the largest payload accepted, at most WARD_WIRE_TOTAL_MAX;
 * 0 means WARD_REASM_DEFAULT_MAX. Returns 0 or WARD_EINVAL. */
int ward_reasm_init(ward_reasm *r, size_t max_total);

/* Adds one decoded chunk envelope (chunk != NULL). When it completes the
 * payload, *done receives the whole envelope (chunk NULL, payload decoded
 * and validated as by ward_wire_decode), to be freed with
 * ward_envelope_free, and the stream is finished; otherwise *done is NULL.
 *
 * Returns 0, or:
 *   WARD_EPARSE    gap, conflicting repeat, changed count/total/header,
 *                  wrong piece length, or a reassembled payload that does
 *                  not decode (the validation codes of ward_wire_decode
 *                  apply to it too)
 *   WARD_ETOOBIG   total above the limit
 *   WARD_ENOMEM    (the stream is closed)
 *   WARD_ECLOSED   the stream closed earlier
 *   WARD_ESTATE    the stream already finished
 *   WARD_EINVAL    not a chunk, or a chunk of another (session_id, sender,
 *                  seq) stream (the stream is left as it was) */
int ward_reasm_add(ward_reasm *r, ward_envelope **done, const ward_envelope *chunk);

/* Wipes and frees the buffer; the reasm may then be initialised again. */
void ward_reasm_clear(ward_reasm *r);

#endif
