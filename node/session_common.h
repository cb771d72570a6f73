/* The consent plumbing that the aggregate, decision and training sessions
 * share (session_agg.c, session_decide.c, session_fl.c): a session's id,
 * its proposer and caller, its spec and party list, and the PROPOSE /
 * ACCEPT / REJECT / COMMIT / ABORT messages that carry them
 * (DECISIONS.md, Sessions). What each kind does with them, and everything
 * after the commit, stays in its own module. Not a public interface. */
#ifndef WARD_SESSION_COMMON_H
#define WARD_SESSION_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "core_internal.h"

/* The first member of agg_session, decide_session and fl_session, so that
 * the core keeps one list type for all three and these functions can walk
 * and address any of them. */
typedef struct session_base {
    struct session_base *next;     /* the kind's list in the core */
    uint8_t id[32];
    char id_hex[65];
    long proposer;                 /* roster index */
    int has_client;                /* the proposer's caller is still there */
    uint64_t client, req_id;
    uint8_t *spec_bytes;           /* the spec's exact bytes (they make the id) */
    size_t spec_len;
    Ward__Wire__SessionSpec *spec; /* unpacked from spec_bytes */
    size_t n;                      /* parties */
    long *party;                   /* roster indices, in name order */
    size_t me;                     /* our position among the parties */
    uint8_t *accepted;             /* proposer: an ACCEPT per party */
    uint64_t deadline, t0;
} session_base;

/* Frees what the base owns (not the session itself). */
void session_base_clear(session_base *s);

/* ---- a kind's list ---- */
session_base *session_find(session_base *list, const uint8_t id[32]);
void session_link(session_base **list, session_base *s);
void session_unlink(session_base **list, session_base *s);
/* The sessions on a list, and those of them that peer `who` proposed. */
uint32_t session_count(const session_base *list);
uint32_t session_count_from(const session_base *list, long who);
/* A control client went away: its sessions run on without a caller. */
void session_forget_client(session_base *list, uint64_t client);

/* Whether a PROPOSE carries a spec of this kind (a spec that does not
 * parse is nobody's). */
int session_proposal_is(const ward_envelope *e, Ward__Wire__SessionSpec__SpecCase kind);

/* ---- the party list ---- */
/* A roster index's position among the parties, or -1. */
long session_pos_of(const session_base *s, long idx);
/* The sender's position; -1 (logged) when it is not a party. */
long session_sender_pos(ward_core *c, ward_actions *out, const session_base *s, long from);
int session_all_accepted(const session_base *s);

/* ---- messages ---- */
/* Fills the envelope's header (session id, kind, round, sender, the
 * peer's next sequence number) and sends it to roster index `to`. */
void session_send_env(ward_core *c, ward_actions *out, const session_base *s, long to, int kind,
                      uint32_t round, ward_envelope *e);
/* An ABORT to every other party, except those `skip` (when given) names. */
typedef int (*session_skip_fn)(const ward_core *c, const session_base *s, size_t i);
void session_send_abort(ward_core *c, ward_actions *out, const session_base *s, int code,
                        const char *text, uint32_t round, session_skip_fn skip);
/* Round 0 at the proposer: the PROPOSE to every other party. */
void session_send_propose(ward_core *c, ward_actions *out, const session_base *s,
                          const uint8_t *nonce, size_t nonce_len);
/* The COMMIT to every other party: the parties' names (each hashed with
 * its NUL into accepted_hash) and, for open groups, the keys. */
void session_send_commit(ward_core *c, ward_actions *out, const session_base *s, uint32_t round,
                         char **names, char **keys, size_t n_keys);
/* A party's answer to a PROPOSE (round 0). */
void session_send_accept(ward_core *c, ward_actions *out, const session_base *s, long to,
                         Ward__Wire__Accept *acc);
void session_send_reject(ward_core *c, ward_actions *out, const session_base *s, long to, int code,
                         const char *text);

/* ---- opening a session ---- */
/* Proposer: packs the spec into s->spec_bytes. 0 or WARD_ENOMEM. */
int session_pack_spec(session_base *s, const Ward__Wire__SessionSpec *spec);
/* Proposer: draws the nonce, derives the id, keeps the caller, starts the
 * clock (one session timeout to gather the answers) and unpacks the spec
 * (s->spec stays NULL when out of memory). */
void session_open(ward_core *c, session_base *s, uint64_t client, uint64_t req_id, uint64_t now,
                  uint8_t nonce[WARD_WIRE_NONCE_BYTES]);
/* Party: a new session of `size` bytes for a PROPOSE whose id matches its
 * spec and is not on `list` yet, with the spec copied and unpacked
 * (s->spec NULL when it does not parse) and two session timeouts to see
 * the COMMIT. NULL for a mismatch (logged), a repeat, a peer at its cap
 * (refused: core_peer_busy) or no memory. */
session_base *session_from_propose(ward_core *c, ward_actions *out, session_base *list, long from,
                                   const ward_envelope *e, uint64_t now, size_t size);

/* ---- ending a session ---- */
/* The caller's error reply, when it is still there. */
void session_reply_failure(ward_core *c, ward_actions *out, const session_base *s, int code,
                           const char *msg);
/* Copies text into esc without quotes, backslashes or control bytes, so
 * that it can stand in a JSON string. */
void session_json_safe(char *esc, size_t cap, const char *text);
/* Ends the audit details begun in details[0..off) with the party list and
 * appends the record (relaxed: the driver flushes it off its loop). */
void session_audit_append(ward_core *c, ward_actions *out, const session_base *s, const char *kind,
                          char *details, size_t cap, int off, uint64_t now);

#endif
