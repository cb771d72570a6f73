/* The Noise Protocol Framework, revision 34: SymmetricState and
 * HandshakeState (sections 5.2 and 5.3) over the tables of noise_pattern.h,
 * the hashes of noise_hash.h and the ciphers of noise_cipher.h. DH is X25519
 * (libsodium crypto_scalarmult).
 *
 * ward nodes speak only WARD_NOISE_KK_NAME ("Noise_KK_25519_ChaChaPoly_
 * SHA256"; ward_noise_kk_init() sets it up); the engine implements every
 * pattern of noise_pattern.h so that it can be checked against the
 * published test vectors.
 *
 * Use:
 *     ward_noise_handshake hs;
 *     ward_noise_kk_init(&hs, 1, my_priv, peer_pub, NULL, 0, rng);
 *     ward_noise_handshake_write(&hs, msg, sizeof msg, &msg_len, NULL, 0);
 *     ... send msg, receive reply ...
 *     ward_noise_handshake_read(&hs, NULL, 0, &n, reply, reply_len);
 *     ward_noise_handshake_split(&hs, &send_cs, &recv_cs);
 *     ward_noise_handshake_clear(&hs);
 *
 * Failure is final (fail closed): any error while writing or reading a
 * message other than WARD_EINVAL (a caller mistake detected before the state
 * changed) and WARD_ESTATE (a call out of turn) wipes the whole
 * HandshakeState; every later call returns WARD_ECLOSED. Errors from
 * reading: WARD_ETOOBIG (message > 65535 bytes, or a payload larger than
 * the caller's buffer), WARD_ETRUNC (shorter than
 * the pattern requires), WARD_EDECRYPT (an encrypted static key or payload
 * failed authentication: wrong keys, tampering, wrong prologue), WARD_EDH
 * (a peer key gave an all-zero X25519 result).
 *
 * Handshake payloads: the first message of KK is encrypted to the
 * responder but can be replayed by anyone who saw it, so nodes send no
 * application data in handshake payloads (see docs/crypto.md).
 *
 * All state is caller-allocated and fixed-size and holds secrets: call
 * ward_noise_handshake_clear() when done (also after split). Not
 * thread-safe.
 */
#ifndef WARD_NOISE_H
#define WARD_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "noise_cipher.h"
#include "noise_hash.h"
#include "noise_pattern.h"
#include "rng.h"

#define WARD_NOISE_DHLEN 32
#define WARD_NOISE_PSKLEN 32

/* ---- SymmetricState (section 5.2) ------------------------------------ */

typedef struct {
    int hash;                          /* ward_noise_hash_id */
    size_t hashlen;
    uint8_t ck[WARD_NOISE_MAXHASHLEN];
    uint8_t h[WARD_NOISE_MAXHASHLEN];
    ward_noise_cipherstate cs;
} ward_noise_symmetricstate;

/* InitializeSymmetric(protocol_name) for a parsed protocol. Returns 0 or
 * WARD_EINVAL. */
int ward_noise_symmetric_init(ward_noise_symmetricstate *ss,
                              const ward_noise_protocol *proto);

/* MixKey, MixHash, MixKeyAndHash. Return 0 or WARD_EINVAL. */
int ward_noise_symmetric_mix_key(ward_noise_symmetricstate *ss,
                                 const uint8_t *ikm, size_t ikm_len);
int ward_noise_symmetric_mix_hash(ward_noise_symmetricstate *ss,
                                  const uint8_t *data, size_t data_len);
int ward_noise_symmetric_mix_key_and_hash(ward_noise_symmetricstate *ss,
                                          const uint8_t *ikm, size_t ikm_len);

/* EncryptAndHash / DecryptAndHash: errors as ward_noise_cipher_encrypt and
 * ward_noise_cipher_decrypt. For decryption out may equal in. */
int ward_noise_symmetric_encrypt_and_hash(ward_noise_symmetricstate *ss,
                                          uint8_t *out, size_t out_cap,
                                          size_t *out_len,
                                          const uint8_t *in, size_t in_len);
int ward_noise_symmetric_decrypt_and_hash(ward_noise_symmetricstate *ss,
                                          uint8_t *out, size_t out_cap,
                                          size_t *out_len,
                                          const uint8_t *in, size_t in_len);

/* Split: c1 (initiator to responder) and c2 (responder to initiator). Does
 * not clear ss. Returns 0 or WARD_EINVAL. */
int ward_noise_symmetric_split(ward_noise_symmetricstate *ss,
                               ward_noise_cipherstate *c1,
                               ward_noise_cipherstate *c2);

void ward_noise_symmetric_clear(ward_noise_symmetricstate *ss);

/* ---- HandshakeState (section 5.3) ------------------------------------ */

typedef struct {
    const char *protocol_name;      /* e.g. WARD_NOISE_KK_NAME */
    int initiator;                  /* 1: initiator, 0: responder */
    const uint8_t *prologue;        /* may be NULL when prologue_len is 0 */
    size_t prologue_len;
    /* Local static X25519 private key (32 bytes; public key derived), or
     * NULL when the pattern gives this side none. */
    const uint8_t *local_static;
    /* The peer's static public key (32 bytes) when the pattern has it as a
     * pre-message (K, N and X on the responder side, e.g. KK, NK); NULL
     * otherwise. Giving it for a pattern that transmits it is WARD_EINVAL:
     * check ward_noise_handshake_remote_static() after the handshake. */
    const uint8_t *remote_static;
    /* n_psks pre-shared keys of 32 bytes each, concatenated, in the order
     * of the pattern's psk tokens; n_psks must match the pattern. */
    const uint8_t *psks;
    size_t n_psks;
    /* Tests and test vectors only: a fixed ephemeral private key. NULL in
     * production, where the ephemeral is drawn from rng when needed. */
    const uint8_t *fixed_ephemeral;
    ward_rng *rng;                  /* not owned; must outlive the handshake */
} ward_noise_config;

typedef struct {
    ward_noise_symmetricstate ss;
    ward_noise_pattern pattern;
    ward_rng *rng;
    int cipher;
    int initiator;
    int status;                     /* internal */
    uint8_t msg_index;              /* next message pattern */
    uint8_t psk_index;              /* next psk token */
    uint8_t n_psks;
    uint8_t has_s, has_e, has_rs, has_re, fixed_e;
    uint8_t s_priv[WARD_NOISE_DHLEN], s_pub[WARD_NOISE_DHLEN];
    uint8_t e_priv[WARD_NOISE_DHLEN], e_pub[WARD_NOISE_DHLEN];
    uint8_t rs[WARD_NOISE_DHLEN], re[WARD_NOISE_DHLEN];
    uint8_t psks[WARD_NOISE_MAX_PSKS][WARD_NOISE_PSKLEN];
} ward_noise_handshake;

/* Initialize(handshake_pattern, initiator, prologue, s, e, rs, re) for the
 * protocol named in cfg. Returns 0, WARD_EINVAL (NULL arguments, PSK count
 * not matching the pattern, a remote static key the pattern transmits),
 * WARD_EPARSE / WARD_EUNSUPPORTED (the protocol name, see
 * ward_noise_protocol_parse_var), or WARD_EKEY (a key the pattern needs is
 * missing, no rng and no fixed ephemeral while this side sends "e"). On
 * failure hs is wiped and closed. */
int ward_noise_handshake_init(ward_noise_handshake *hs,
                              const ward_noise_config *cfg);

/* The production setup: Noise_KK_25519_ChaChaPoly_SHA256, ephemeral from
 * rng, no PSK. */
int ward_noise_kk_init(ward_noise_handshake *hs, int initiator,
                       const uint8_t local_static[WARD_NOISE_DHLEN],
                       const uint8_t remote_static[WARD_NOISE_DHLEN],
                       const uint8_t *prologue, size_t prologue_len,
                       ward_rng *rng);

/* WriteMessage(payload): writes the next handshake message to out and sets
 * *out_len. payload (may be NULL when payload_len is 0) must not overlap
 * out. Returns 0; WARD_ESTATE when it is not this side's turn or the
 * handshake is complete; WARD_ETOOBIG when the message would exceed 65535
 * bytes and WARD_EINVAL when out_cap is too small (both before any state
 * change, hs still usable); WARD_EDH; WARD_ECLOSED. */
int ward_noise_handshake_write(ward_noise_handshake *hs,
                               uint8_t *out, size_t out_cap, size_t *out_len,
                               const uint8_t *payload, size_t payload_len);

/* ReadMessage(message): processes the peer's next handshake message,
 * writing its payload to payload_out and setting *payload_len. payload_out
 * must not overlap msg. A payload longer than payload_cap is a bad message:
 * WARD_ETOOBIG, and hs closes. Pass payload_out = NULL, payload_cap = 0 to
 * accept only empty payloads (what nodes do). Returns 0, WARD_ESTATE (not
 * this side's turn), WARD_EINVAL, or a peer-input error that closes hs (see
 * the top of this file). */
int ward_noise_handshake_read(ward_noise_handshake *hs,
                              uint8_t *payload_out, size_t payload_cap,
                              size_t *payload_len,
                              const uint8_t *msg, size_t msg_len);

/* 1 when this side writes the next handshake message, 0 otherwise. */
int ward_noise_handshake_needs_write(const ward_noise_handshake *hs);

/* 1 once every message of the pattern has been written or read (until the
 * state is cleared), 0 otherwise. */
int ward_noise_handshake_is_complete(const ward_noise_handshake *hs);

/* Split(): once complete, fills the CipherStates for this side: `send`
 * encrypts what this side sends, `recv` decrypts what it receives. For
 * one-way patterns the direction the pattern does not use is returned
 * closed (its calls give WARD_ECLOSED). Afterwards hs keeps only the
 * handshake hash and remote static key; its secrets are wiped. Returns 0,
 * WARD_ESTATE (not complete, or already split) or WARD_ECLOSED. */
int ward_noise_handshake_split(ward_noise_handshake *hs,
                               ward_noise_cipherstate *send,
                               ward_noise_cipherstate *recv);

/* GetHandshakeHash(): copies h (HASHLEN bytes: 32 for SHA256, 64 for SHA512
 * and BLAKE2b) to out. Meaningful for channel binding once complete.
 * Returns 0, WARD_EINVAL (out_cap < HASHLEN) or WARD_ECLOSED. */
int ward_noise_handshake_get_hash(const ward_noise_handshake *hs,
                                  uint8_t *out, size_t out_cap,
                                  size_t *out_len);

/* The peer's static public key, when known (pre-message or received).
 * Returns 0, WARD_ENOTFOUND or WARD_ECLOSED. */
int ward_noise_handshake_remote_static(const ward_noise_handshake *hs,
                                       uint8_t out[WARD_NOISE_DHLEN]);

/* Wipes hs; later calls return WARD_ECLOSED. Safe on NULL. */
void ward_noise_handshake_clear(ward_noise_handshake *hs);

/* ---- Keys -------------------------------------------------------------- */

/* pub = X25519(priv, 9). Returns 0, or WARD_EKEY for a private key that
 * gives the all-zero point. */
int ward_noise_public_key(uint8_t pub[WARD_NOISE_DHLEN],
                          const uint8_t priv[WARD_NOISE_DHLEN]);

/* A fresh X25519 key pair from rng. Returns 0 or WARD_EINVAL. */
int ward_noise_keypair(ward_rng *rng, uint8_t priv[WARD_NOISE_DHLEN],
                       uint8_t pub[WARD_NOISE_DHLEN]);

#endif
