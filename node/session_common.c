/* The consent plumbing shared by the aggregate, decision and training
 * sessions (session_common.h). These three kinds agree a session the same
 * way: the proposer sends PROPOSE(spec, nonce) to every other party, each
 * answers ACCEPT or REJECT, the proposer sends COMMIT once all accepted,
 * and any party may ABORT. Keeping the messages in one place keeps them
 * the same on the wire for all three. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit.h"
#include "error.h"
#include "hex.h"
#include "session_common.h"

void session_base_clear(session_base *s) {
    free(s->party);
    free(s->accepted);
    if (s->spec) ward__wire__session_spec__free_unpacked(s->spec, NULL);
    free(s->spec_bytes);
}

/* ---- a kind's list ------------------------------------------------------- */

session_base *session_find(session_base *list, const uint8_t id[32]) {
    for (session_base *s = list; s; s = s->next)
        if (memcmp(s->id, id, 32) == 0) return s;
    return NULL;
}

void session_link(session_base **list, session_base *s) {
    s->next = *list;
    *list = s;
}

void session_unlink(session_base **list, session_base *s) {
    for (session_base **pp = list; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

uint32_t session_count(const session_base *list) {
    uint32_t n = 0;
    for (const session_base *s = list; s; s = s->next) n++;
    return n;
}

uint32_t session_count_from(const session_base *list, long who) {
    uint32_t n = 0;
    for (const session_base *s = list; s; s = s->next) n += s->proposer == who;
    return n;
}

void session_forget_client(session_base *list, uint64_t client) {
    for (session_base *s = list; s; s = s->next)
        if (s->has_client && s->client == client) s->has_client = 0;
}

int session_proposal_is(const ward_envelope *e, Ward__Wire__SessionSpec__SpecCase kind) {
    Ward__Wire__SessionSpec *sp =
        ward__wire__session_spec__unpack(NULL, e->propose->spec.len, e->propose->spec.data);
    if (!sp) return 0;
    int mine = sp->spec_case == kind;
    switch (kind) {
    case WARD__WIRE__SESSION_SPEC__SPEC_AGGREGATE: mine = mine && sp->aggregate; break;
    case WARD__WIRE__SESSION_SPEC__SPEC_DECIDE: mine = mine && sp->decide; break;
    case WARD__WIRE__SESSION_SPEC__SPEC_TRAIN: mine = mine && sp->train; break;
    default: mine = 0; break;
    }
    ward__wire__session_spec__free_unpacked(sp, NULL);
    return mine;
}

/* ---- the party list ------------------------------------------------------ */

long session_pos_of(const session_base *s, long idx) {
    for (size_t i = 0; i < s->n; i++)
        if (s->party[i] == idx) return (long)i;
    return -1;
}

long session_sender_pos(ward_core *c, ward_actions *out, const session_base *s, long from) {
    long p = session_pos_of(s, from);
    if (p < 0)
        core_log(c, out, WARD_LOG_WARN, "session %.16s: message from non-party %s ignored", s->id_hex,
                 c->roster->members[from].name);
    return p;
}

int session_all_accepted(const session_base *s) {
    for (size_t i = 0; i < s->n; i++)
        if (!s->accepted[i]) return 0;
    return 1;
}

/* ---- messages ------------------------------------------------------------ */

void session_send_env(ward_core *c, ward_actions *out, const session_base *s, long to, int kind,
                      uint32_t round, ward_envelope *e) {
    e->session_id.data = (uint8_t *)s->id;
    e->session_id.len = 32;
    e->kind = kind;
    e->round = round;
    e->sender = c->name;
    e->seq = c->peers[to].next_seq++;
    core_send_envelope(c, out, to, e);
}

void session_send_abort(ward_core *c, ward_actions *out, const session_base *s, int code,
                        const char *text, uint32_t round, session_skip_fn skip) {
    Ward__Wire__Abort ab;
    ward__wire__abort__init(&ab);
    ab.code = code;
    ab.text = (char *)text;
    for (size_t i = 0; i < s->n; i++) {
        if (i == s->me || (skip && skip(c, s, i))) continue;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_ABORT;
        e.abort = &ab;
        session_send_env(c, out, s, s->party[i], WARD__WIRE__KIND__KIND_ABORT, round, &e);
    }
}

void session_send_propose(ward_core *c, ward_actions *out, const session_base *s,
                          const uint8_t *nonce, size_t nonce_len) {
    Ward__Wire__Propose pr;
    ward__wire__propose__init(&pr);
    pr.spec.data = s->spec_bytes;
    pr.spec.len = s->spec_len;
    pr.nonce.data = (uint8_t *)nonce;
    pr.nonce.len = nonce_len;
    for (size_t i = 0; i < s->n; i++) {
        if (i == s->me) continue;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_PROPOSE;
        e.propose = &pr;
        session_send_env(c, out, s, s->party[i], WARD__WIRE__KIND__KIND_PROPOSE, 0, &e);
    }
}

void session_send_commit(ward_core *c, ward_actions *out, const session_base *s, uint32_t round,
                         char **names, char **keys, size_t n_keys) {
    /* accepted_hash = SHA-256 of the accepted names, each NUL-terminated. */
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    for (size_t i = 0; i < s->n; i++)
        crypto_hash_sha256_update(&h, (const uint8_t *)names[i], strlen(names[i]) + 1);
    uint8_t acc[32];
    crypto_hash_sha256_final(&h, acc);
    Ward__Wire__Commit cm;
    ward__wire__commit__init(&cm);
    cm.accepted_hash.data = acc;
    cm.accepted_hash.len = 32;
    cm.n_parties = s->n;
    cm.parties = names;
    cm.n_keys = n_keys;
    cm.keys = keys;
    for (size_t i = 0; i < s->n; i++) {
        if (i == s->me) continue;
        ward_envelope e;
        ward__wire__envelope__init(&e);
        e.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_COMMIT;
        e.commit = &cm;
        session_send_env(c, out, s, s->party[i], WARD__WIRE__KIND__KIND_COMMIT, round, &e);
    }
}

void session_send_accept(ward_core *c, ward_actions *out, const session_base *s, long to,
                         Ward__Wire__Accept *acc) {
    ward_envelope r;
    ward__wire__envelope__init(&r);
    r.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_ACCEPT;
    r.accept = acc;
    session_send_env(c, out, s, to, WARD__WIRE__KIND__KIND_ACCEPT, 0, &r);
}

void session_send_reject(ward_core *c, ward_actions *out, const session_base *s, long to, int code,
                         const char *text) {
    Ward__Wire__Reject rej;
    ward__wire__reject__init(&rej);
    rej.code = code;
    rej.text = (char *)text;
    ward_envelope r;
    ward__wire__envelope__init(&r);
    r.payload_case = WARD__WIRE__ENVELOPE__PAYLOAD_REJECT;
    r.reject = &rej;
    session_send_env(c, out, s, to, WARD__WIRE__KIND__KIND_REJECT, 0, &r);
}

/* ---- opening a session ----------------------------------------------------- */

int session_pack_spec(session_base *s, const Ward__Wire__SessionSpec *spec) {
    s->spec_len = ward__wire__session_spec__get_packed_size(spec);
    s->spec_bytes = malloc(s->spec_len ? s->spec_len : 1);
    if (!s->spec_bytes) return WARD_ENOMEM;
    ward__wire__session_spec__pack(spec, s->spec_bytes);
    return WARD_OK;
}

void session_open(ward_core *c, session_base *s, uint64_t client, uint64_t req_id, uint64_t now,
                  uint8_t nonce[WARD_WIRE_NONCE_BYTES]) {
    ward_rng_bytes(c->rng, nonce, WARD_WIRE_NONCE_BYTES);
    core_session_id(s->id, c->name, nonce, WARD_WIRE_NONCE_BYTES, s->spec_bytes, s->spec_len);
    ward_hex_encode_var(s->id_hex, sizeof s->id_hex, s->id, 32);
    s->proposer = c->self;
    s->has_client = 1;
    s->client = client;
    s->req_id = req_id;
    s->t0 = now;
    s->deadline = now + c->cfg.session_timeout_ms;
    s->spec = ward__wire__session_spec__unpack(NULL, s->spec_len, s->spec_bytes);
}

session_base *session_from_propose(ward_core *c, ward_actions *out, session_base *list, long from,
                                   const ward_envelope *e, uint64_t now, size_t size) {
    const Ward__Wire__Propose *pr = e->propose;
    const char *pn = c->roster->members[from].name;
    uint8_t id[32];
    core_session_id(id, pn, pr->nonce.data, pr->nonce.len, pr->spec.data, pr->spec.len);
    if (memcmp(id, e->session_id.data, 32) != 0) {
        core_log(c, out, WARD_LOG_WARN, "proposal from %s: session id does not match its spec", pn);
        return NULL;
    }
    if (session_find(list, id)) return NULL; /* a duplicate */
    if (core_peer_busy(c, out, from, e)) return NULL;
    session_base *s = calloc(1, size);
    if (!s) return NULL;
    memcpy(s->id, id, 32);
    ward_hex_encode_var(s->id_hex, sizeof s->id_hex, s->id, 32);
    s->proposer = from;
    s->t0 = now;
    s->deadline = now + 2 * (uint64_t)c->cfg.session_timeout_ms;
    s->spec_bytes = malloc(pr->spec.len);
    if (s->spec_bytes) {
        memcpy(s->spec_bytes, pr->spec.data, pr->spec.len);
        s->spec_len = pr->spec.len;
        s->spec = ward__wire__session_spec__unpack(NULL, s->spec_len, s->spec_bytes);
    }
    return s;
}

/* ---- ending a session ------------------------------------------------------ */

void session_reply_failure(ward_core *c, ward_actions *out, const session_base *s, int code,
                           const char *msg) {
    if (s->has_client)
        core_reply_error(c, out, s->client, s->req_id, code, "session %.16s: %s", s->id_hex, msg);
}

void session_json_safe(char *esc, size_t cap, const char *text) {
    size_t j = 0;
    for (size_t i = 0; text[i] && j + 1 < cap; i++)
        if (text[i] != '"' && text[i] != '\\' && (unsigned char)text[i] >= 0x20) esc[j++] = text[i];
    esc[j] = '\0';
}

void session_audit_append(ward_core *c, ward_actions *out, const session_base *s, const char *kind,
                          char *details, size_t cap, int off, uint64_t now) {
    for (size_t i = 0; i < s->n && off > 0 && (size_t)off < cap; i++)
        off += snprintf(details + off, cap - (size_t)off, "%s\"%s\"", i ? "," : "",
                        c->roster->members[s->party[i]].name);
    if (off > 0 && (size_t)off < cap) snprintf(details + off, cap - (size_t)off, "]}");
    int rc = ward_audit_append_relaxed(c->store, NULL, NULL, (int64_t)now, kind, s->id_hex, details);
    if (rc != WARD_OK)
        core_log(c, out, WARD_LOG_ERROR, "session %.16s: audit append failed: %s", s->id_hex,
                 ward_strerror(rc));
}
