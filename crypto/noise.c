#include "noise.h"

#include <sodium.h>
#include <string.h>

#include "error.h"

enum {
    HS_UNSET = 0,
    HS_ACTIVE = 1,   /* messages left */
    HS_COMPLETE = 2, /* every message done, Split not yet called */
    HS_SPLIT = 3,    /* Split done: only h and rs kept */
    HS_CLOSED = 4
};

/* ---- SymmetricState ---------------------------------------------------- */

int ward_noise_symmetric_init(ward_noise_symmetricstate *ss,
                              const ward_noise_protocol *proto) {
    WARD_ARG_CHECK(ss != NULL && proto != NULL);
    size_t hl = ward_noise_hash_len(proto->hash);
    WARD_ARG_CHECK(hl != 0 && proto->name_len <= WARD_NOISE_MAX_NAME);
    sodium_memzero(ss, sizeof *ss);
    ss->hash = proto->hash;
    ss->hashlen = hl;
    if (proto->name_len <= hl) {
        memcpy(ss->h, proto->name, proto->name_len);
    } else {
        int rc = ward_noise_hash(ss->hash, ss->h, hl,
                                 (const uint8_t *)proto->name, proto->name_len);
        if (rc != WARD_OK) return rc;
    }
    memcpy(ss->ck, ss->h, hl);
    return ward_noise_cipher_init(&ss->cs, proto->cipher, NULL);
}

/* ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k truncated to 32). */
int ward_noise_symmetric_mix_key(ward_noise_symmetricstate *ss,
                                 const uint8_t *ikm, size_t ikm_len) {
    WARD_ARG_CHECK(ss != NULL);
    uint8_t temp_k[WARD_NOISE_MAXHASHLEN];
    int rc = ward_noise_hkdf(ss->hash, ss->ck, temp_k, NULL, ss->ck, ikm,
                             ikm_len);
    if (rc == WARD_OK) rc = ward_noise_cipher_init(&ss->cs, ss->cs.cipher, temp_k);
    sodium_memzero(temp_k, sizeof temp_k);
    return rc;
}

int ward_noise_symmetric_mix_hash(ward_noise_symmetricstate *ss,
                                  const uint8_t *data, size_t data_len) {
    WARD_ARG_CHECK(ss != NULL);
    return ward_noise_hash2(ss->hash, ss->h, ss->hashlen, ss->h, ss->hashlen,
                            data, data_len);
}

int ward_noise_symmetric_mix_key_and_hash(ward_noise_symmetricstate *ss,
                                          const uint8_t *ikm, size_t ikm_len) {
    WARD_ARG_CHECK(ss != NULL);
    uint8_t temp_h[WARD_NOISE_MAXHASHLEN];
    uint8_t temp_k[WARD_NOISE_MAXHASHLEN];
    int rc = ward_noise_hkdf(ss->hash, ss->ck, temp_h, temp_k, ss->ck, ikm,
                             ikm_len);
    if (rc == WARD_OK) rc = ward_noise_symmetric_mix_hash(ss, temp_h, ss->hashlen);
    if (rc == WARD_OK) rc = ward_noise_cipher_init(&ss->cs, ss->cs.cipher, temp_k);
    sodium_memzero(temp_h, sizeof temp_h);
    sodium_memzero(temp_k, sizeof temp_k);
    return rc;
}

int ward_noise_symmetric_encrypt_and_hash(ward_noise_symmetricstate *ss,
                                          uint8_t *out, size_t out_cap,
                                          size_t *out_len,
                                          const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(ss != NULL && out_len != NULL);
    int rc = ward_noise_cipher_encrypt(&ss->cs, out, out_cap, out_len, ss->h,
                                       ss->hashlen, in, in_len);
    if (rc != WARD_OK) return rc;
    return ward_noise_symmetric_mix_hash(ss, out, *out_len);
}

int ward_noise_symmetric_decrypt_and_hash(ward_noise_symmetricstate *ss,
                                          uint8_t *out, size_t out_cap,
                                          size_t *out_len,
                                          const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(ss != NULL && out_len != NULL);
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    /* The next h covers the ciphertext, which in-place decryption destroys:
     * compute it first, commit it only when decryption succeeds. */
    uint8_t next_h[WARD_NOISE_MAXHASHLEN];
    int rc = ward_noise_hash2(ss->hash, next_h, ss->hashlen, ss->h,
                              ss->hashlen, in, in_len);
    if (rc == WARD_OK)
        rc = ward_noise_cipher_decrypt(&ss->cs, out, out_cap, out_len, ss->h,
                                       ss->hashlen, in, in_len);
    if (rc == WARD_OK) memcpy(ss->h, next_h, ss->hashlen);
    sodium_memzero(next_h, sizeof next_h);
    return rc;
}

int ward_noise_symmetric_split(ward_noise_symmetricstate *ss,
                               ward_noise_cipherstate *c1,
                               ward_noise_cipherstate *c2) {
    WARD_ARG_CHECK(ss != NULL && c1 != NULL && c2 != NULL && c1 != c2);
    uint8_t k1[WARD_NOISE_MAXHASHLEN];
    uint8_t k2[WARD_NOISE_MAXHASHLEN];
    int rc = ward_noise_hkdf(ss->hash, k1, k2, NULL, ss->ck, NULL, 0);
    if (rc == WARD_OK) rc = ward_noise_cipher_init(c1, ss->cs.cipher, k1);
    if (rc == WARD_OK) rc = ward_noise_cipher_init(c2, ss->cs.cipher, k2);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    return rc;
}

void ward_noise_symmetric_clear(ward_noise_symmetricstate *ss) {
    if (ss == NULL) return;
    sodium_memzero(ss, sizeof *ss);
}

/* ---- Keys -------------------------------------------------------------- */

int ward_noise_public_key(uint8_t pub[WARD_NOISE_DHLEN],
                          const uint8_t priv[WARD_NOISE_DHLEN]) {
    WARD_ARG_CHECK(pub != NULL && priv != NULL);
    if (crypto_scalarmult_base(pub, priv) != 0) {
        sodium_memzero(pub, WARD_NOISE_DHLEN);
        return WARD_EKEY;
    }
    return WARD_OK;
}

int ward_noise_keypair(ward_rng *rng, uint8_t priv[WARD_NOISE_DHLEN],
                       uint8_t pub[WARD_NOISE_DHLEN]) {
    WARD_ARG_CHECK(rng != NULL && priv != NULL && pub != NULL);
    ward_rng_bytes(rng, priv, WARD_NOISE_DHLEN);
    int rc = ward_noise_public_key(pub, priv);
    if (rc != WARD_OK) sodium_memzero(priv, WARD_NOISE_DHLEN);
    return rc;
}

/* ---- HandshakeState ---------------------------------------------------- */

static int hs_fail(ward_noise_handshake *hs, int rc) {
    sodium_memzero(hs, sizeof *hs);
    hs->status = HS_CLOSED;
    return rc;
}

/* Does this side (initiator or not) send message m? */
static int sends(int initiator, size_t m) {
    return (m % 2 == 0) == (initiator != 0);
}

/* Which keys the pattern needs on this side. */
typedef struct {
    int local_s, local_e, remote_s_pre, remote_s_sent;
} key_needs;

static key_needs pattern_needs(const ward_noise_pattern *p, int initiator) {
    key_needs k = {0, 0, 0, 0};
    const uint8_t *lpre = initiator ? p->pre_init : p->pre_resp;
    size_t nl = initiator ? p->n_pre_init : p->n_pre_resp;
    const uint8_t *rpre = initiator ? p->pre_resp : p->pre_init;
    size_t nr = initiator ? p->n_pre_resp : p->n_pre_init;
    for (size_t i = 0; i < nl; i++)
        if (lpre[i] == WARD_NOISE_TOK_S) k.local_s = 1;
    for (size_t i = 0; i < nr; i++)
        if (rpre[i] == WARD_NOISE_TOK_S) k.remote_s_pre = 1;
    for (size_t m = 0; m < p->n_messages; m++) {
        int mine = sends(initiator, m);
        for (size_t t = 0; t < p->n_tokens[m]; t++) {
            switch (p->tokens[m][t]) {
            case WARD_NOISE_TOK_E:
                if (mine) k.local_e = 1;
                break;
            case WARD_NOISE_TOK_S:
                if (mine) k.local_s = 1;
                else k.remote_s_sent = 1;
                break;
            case WARD_NOISE_TOK_ES:
                /* es: initiator's e with responder's s */
                if (!initiator) k.local_s = 1;
                break;
            case WARD_NOISE_TOK_SE:
                if (initiator) k.local_s = 1;
                break;
            case WARD_NOISE_TOK_SS:
                k.local_s = 1;
                break;
            default:
                break;
            }
        }
    }
    return k;
}

int ward_noise_handshake_init(ward_noise_handshake *hs,
                              const ward_noise_config *cfg) {
    WARD_ARG_CHECK(hs != NULL);
    sodium_memzero(hs, sizeof *hs);
    hs->status = HS_CLOSED;
    WARD_ARG_CHECK(cfg != NULL && cfg->protocol_name != NULL);
    WARD_ARG_CHECK(cfg->prologue != NULL || cfg->prologue_len == 0);
    WARD_ARG_CHECK(cfg->psks != NULL || cfg->n_psks == 0);

    ward_noise_protocol proto;
    int rc = ward_noise_protocol_parse_var(&proto, cfg->protocol_name);
    if (rc != WARD_OK) return hs_fail(hs, rc);
    const ward_noise_pattern *p = &proto.pattern;
    int initiator = cfg->initiator != 0;

    key_needs need = pattern_needs(p, initiator);
    if (cfg->n_psks != p->n_psks) return hs_fail(hs, WARD_EINVAL);
    if (cfg->remote_static != NULL && need.remote_s_sent)
        return hs_fail(hs, WARD_EINVAL);
    if (need.local_s && cfg->local_static == NULL) return hs_fail(hs, WARD_EKEY);
    if (need.remote_s_pre && cfg->remote_static == NULL)
        return hs_fail(hs, WARD_EKEY);
    if (need.local_e && cfg->fixed_ephemeral == NULL && cfg->rng == NULL)
        return hs_fail(hs, WARD_EKEY);

    hs->pattern = *p;
    hs->cipher = proto.cipher;
    hs->initiator = initiator;
    hs->rng = cfg->rng;
    hs->n_psks = (uint8_t)cfg->n_psks;
    if (cfg->n_psks > 0)
        memcpy(hs->psks, cfg->psks, cfg->n_psks * WARD_NOISE_PSKLEN);
    if (cfg->local_static != NULL && need.local_s) {
        memcpy(hs->s_priv, cfg->local_static, WARD_NOISE_DHLEN);
        rc = ward_noise_public_key(hs->s_pub, hs->s_priv);
        if (rc != WARD_OK) return hs_fail(hs, rc);
        hs->has_s = 1;
    }
    if (cfg->fixed_ephemeral != NULL && need.local_e) {
        memcpy(hs->e_priv, cfg->fixed_ephemeral, WARD_NOISE_DHLEN);
        rc = ward_noise_public_key(hs->e_pub, hs->e_priv);
        if (rc != WARD_OK) return hs_fail(hs, rc);
        hs->fixed_e = 1;
    }
    if (cfg->remote_static != NULL && need.remote_s_pre) {
        memcpy(hs->rs, cfg->remote_static, WARD_NOISE_DHLEN);
        hs->has_rs = 1;
    }

    rc = ward_noise_symmetric_init(&hs->ss, &proto);
    if (rc == WARD_OK)
        rc = ward_noise_symmetric_mix_hash(&hs->ss, cfg->prologue,
                                           cfg->prologue_len);
    /* Pre-messages: the initiator's first, then the responder's. The tables
     * hold only "s" in pre-messages. */
    for (size_t i = 0; i < p->n_pre_init; i++)
        if (p->pre_init[i] != WARD_NOISE_TOK_S) rc = WARD_EUNSUPPORTED;
    for (size_t i = 0; i < p->n_pre_resp; i++)
        if (p->pre_resp[i] != WARD_NOISE_TOK_S) rc = WARD_EUNSUPPORTED;
    for (size_t i = 0; rc == WARD_OK && i < p->n_pre_init; i++)
        rc = ward_noise_symmetric_mix_hash(&hs->ss,
                                           initiator ? hs->s_pub : hs->rs,
                                           WARD_NOISE_DHLEN);
    for (size_t i = 0; rc == WARD_OK && i < p->n_pre_resp; i++)
        rc = ward_noise_symmetric_mix_hash(&hs->ss,
                                           initiator ? hs->rs : hs->s_pub,
                                           WARD_NOISE_DHLEN);
    if (rc != WARD_OK) return hs_fail(hs, rc);
    hs->status = HS_ACTIVE;
    return WARD_OK;
}

int ward_noise_kk_init(ward_noise_handshake *hs, int initiator,
                       const uint8_t local_static[WARD_NOISE_DHLEN],
                       const uint8_t remote_static[WARD_NOISE_DHLEN],
                       const uint8_t *prologue, size_t prologue_len,
                       ward_rng *rng) {
    WARD_ARG_CHECK(hs != NULL && local_static != NULL &&
                   remote_static != NULL && rng != NULL);
    ward_noise_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.protocol_name = WARD_NOISE_KK_NAME;
    cfg.initiator = initiator;
    cfg.prologue = prologue;
    cfg.prologue_len = prologue_len;
    cfg.local_static = local_static;
    cfg.remote_static = remote_static;
    cfg.rng = rng;
    return ward_noise_handshake_init(hs, &cfg);
}

/* DH for a token: ee, es, se or ss from this side's point of view, mixed
 * into the key. The shared secret never leaves this function unwiped. */
static int mix_dh(ward_noise_handshake *hs, int token) {
    const uint8_t *priv;
    const uint8_t *pub;
    int local_e, remote_e;
    switch (token) {
    case WARD_NOISE_TOK_EE: local_e = 1; remote_e = 1; break;
    case WARD_NOISE_TOK_ES: local_e = hs->initiator; remote_e = !hs->initiator; break;
    case WARD_NOISE_TOK_SE: local_e = !hs->initiator; remote_e = hs->initiator; break;
    default: local_e = 0; remote_e = 0; break;
    }
    if (local_e ? !hs->has_e : !hs->has_s) return WARD_EKEY;
    if (remote_e ? !hs->has_re : !hs->has_rs) return WARD_EKEY;
    priv = local_e ? hs->e_priv : hs->s_priv;
    pub = remote_e ? hs->re : hs->rs;

    uint8_t dh[WARD_NOISE_DHLEN];
    int rc = WARD_OK;
    if (crypto_scalarmult(dh, priv, pub) != 0) rc = WARD_EDH;
    if (rc == WARD_OK) rc = ward_noise_symmetric_mix_key(&hs->ss, dh, sizeof dh);
    sodium_memzero(dh, sizeof dh);
    return rc;
}

static int mix_psk(ward_noise_handshake *hs) {
    if (hs->psk_index >= hs->n_psks) return WARD_EKEY;
    int rc = ward_noise_symmetric_mix_key_and_hash(
        &hs->ss, hs->psks[hs->psk_index], WARD_NOISE_PSKLEN);
    sodium_memzero(hs->psks[hs->psk_index], WARD_NOISE_PSKLEN);
    hs->psk_index++;
    return rc;
}

/* Bytes of message m before the payload, and whether the payload is
 * encrypted, given whether the cipher has a key at the start. Public:
 * depends only on the pattern and the progress of the handshake. */
static size_t message_overhead(const ward_noise_handshake *hs, size_t m,
                               int *payload_keyed) {
    int keyed = ward_noise_cipher_has_key(&hs->ss.cs);
    size_t len = 0;
    for (size_t t = 0; t < hs->pattern.n_tokens[m]; t++) {
        switch (hs->pattern.tokens[m][t]) {
        case WARD_NOISE_TOK_E:
            len += WARD_NOISE_DHLEN;
            if (hs->pattern.n_psks > 0) keyed = 1;
            break;
        case WARD_NOISE_TOK_S:
            len += WARD_NOISE_DHLEN + (keyed ? WARD_NOISE_TAGLEN : 0);
            break;
        default: /* DH and psk tokens key the cipher */
            keyed = 1;
            break;
        }
    }
    *payload_keyed = keyed;
    return len;
}

static void finish_message(ward_noise_handshake *hs) {
    hs->msg_index++;
    if (hs->msg_index >= hs->pattern.n_messages) {
        hs->status = HS_COMPLETE;
        /* Private keys and PSKs are no longer needed; ck stays for Split. */
        sodium_memzero(hs->e_priv, sizeof hs->e_priv);
        sodium_memzero(hs->s_priv, sizeof hs->s_priv);
        sodium_memzero(hs->psks, sizeof hs->psks);
    }
}

int ward_noise_handshake_write(ward_noise_handshake *hs,
                               uint8_t *out, size_t out_cap, size_t *out_len,
                               const uint8_t *payload, size_t payload_len) {
    WARD_ARG_CHECK(hs != NULL && out_len != NULL);
    *out_len = 0;
    if (hs->status == HS_CLOSED) return WARD_ECLOSED;
    if (hs->status != HS_ACTIVE) return WARD_ESTATE;
    size_t m = hs->msg_index;
    if (!sends(hs->initiator, m)) return WARD_ESTATE;
    WARD_ARG_CHECK(payload != NULL || payload_len == 0);

    int payload_keyed;
    size_t overhead = message_overhead(hs, m, &payload_keyed);
    size_t tag = payload_keyed ? WARD_NOISE_TAGLEN : 0;
    if (payload_len > WARD_NOISE_MAX_MSG ||
        overhead + payload_len + tag > WARD_NOISE_MAX_MSG)
        return WARD_ETOOBIG;
    size_t total = overhead + payload_len + tag;
    WARD_ARG_CHECK(out != NULL && out_cap >= total);
    WARD_ARG_CHECK(payload_len == 0 ||
                   (uintptr_t)payload + payload_len <= (uintptr_t)out ||
                   (uintptr_t)out + out_cap <= (uintptr_t)payload);

    size_t pos = 0, n = 0;
    int rc = WARD_OK;
    for (size_t t = 0; rc == WARD_OK && t < hs->pattern.n_tokens[m]; t++) {
        int tok = hs->pattern.tokens[m][t];
        switch (tok) {
        case WARD_NOISE_TOK_E:
            if (!hs->fixed_e) {
                ward_rng_bytes(hs->rng, hs->e_priv, WARD_NOISE_DHLEN);
                rc = ward_noise_public_key(hs->e_pub, hs->e_priv);
                if (rc != WARD_OK) break;
            }
            hs->has_e = 1;
            memcpy(out + pos, hs->e_pub, WARD_NOISE_DHLEN);
            pos += WARD_NOISE_DHLEN;
            rc = ward_noise_symmetric_mix_hash(&hs->ss, hs->e_pub, WARD_NOISE_DHLEN);
            if (rc == WARD_OK && hs->pattern.n_psks > 0)
                rc = ward_noise_symmetric_mix_key(&hs->ss, hs->e_pub, WARD_NOISE_DHLEN);
            break;
        case WARD_NOISE_TOK_S:
            if (!hs->has_s) { rc = WARD_EKEY; break; }
            rc = ward_noise_symmetric_encrypt_and_hash(
                &hs->ss, out + pos, out_cap - pos, &n, hs->s_pub, WARD_NOISE_DHLEN);
            pos += n;
            break;
        case WARD_NOISE_TOK_PSK:
            rc = mix_psk(hs);
            break;
        default:
            rc = mix_dh(hs, tok);
            break;
        }
    }
    if (rc == WARD_OK)
        rc = ward_noise_symmetric_encrypt_and_hash(&hs->ss, out + pos,
                                                   out_cap - pos, &n, payload,
                                                   payload_len);
    if (rc != WARD_OK) {
        sodium_memzero(out, total);
        return hs_fail(hs, rc);
    }
    pos += n;
    *out_len = pos;
    finish_message(hs);
    return WARD_OK;
}

int ward_noise_handshake_read(ward_noise_handshake *hs,
                              uint8_t *payload_out, size_t payload_cap,
                              size_t *payload_len,
                              const uint8_t *msg, size_t msg_len) {
    WARD_ARG_CHECK(hs != NULL && payload_len != NULL);
    *payload_len = 0;
    if (hs->status == HS_CLOSED) return WARD_ECLOSED;
    if (hs->status != HS_ACTIVE) return WARD_ESTATE;
    size_t m = hs->msg_index;
    if (sends(hs->initiator, m)) return WARD_ESTATE;
    WARD_ARG_CHECK(msg != NULL || msg_len == 0);

    if (msg_len > WARD_NOISE_MAX_MSG) return hs_fail(hs, WARD_ETOOBIG);
    int payload_keyed;
    size_t overhead = message_overhead(hs, m, &payload_keyed);
    size_t tag = payload_keyed ? WARD_NOISE_TAGLEN : 0;
    if (msg_len < overhead + tag) return hs_fail(hs, WARD_ETRUNC);
    /* The payload length is the peer's choice: one that does not fit the
     * caller's buffer (none at all when payload_out is NULL) is rejected
     * like any other bad message. */
    size_t plen = msg_len - overhead - tag;
    if (plen > 0 && (payload_out == NULL || payload_cap < plen))
        return hs_fail(hs, WARD_ETOOBIG);

    size_t pos = 0, n = 0;
    int rc = WARD_OK;
    for (size_t t = 0; rc == WARD_OK && t < hs->pattern.n_tokens[m]; t++) {
        int tok = hs->pattern.tokens[m][t];
        switch (tok) {
        case WARD_NOISE_TOK_E:
            memcpy(hs->re, msg + pos, WARD_NOISE_DHLEN);
            hs->has_re = 1;
            pos += WARD_NOISE_DHLEN;
            rc = ward_noise_symmetric_mix_hash(&hs->ss, hs->re, WARD_NOISE_DHLEN);
            if (rc == WARD_OK && hs->pattern.n_psks > 0)
                rc = ward_noise_symmetric_mix_key(&hs->ss, hs->re, WARD_NOISE_DHLEN);
            break;
        case WARD_NOISE_TOK_S: {
            size_t slen = WARD_NOISE_DHLEN +
                          (ward_noise_cipher_has_key(&hs->ss.cs) ? WARD_NOISE_TAGLEN : 0);
            rc = ward_noise_symmetric_decrypt_and_hash(
                &hs->ss, hs->rs, sizeof hs->rs, &n, msg + pos, slen);
            if (rc == WARD_OK) hs->has_rs = 1;
            pos += slen;
            break;
        }
        case WARD_NOISE_TOK_PSK:
            rc = mix_psk(hs);
            break;
        default:
            rc = mix_dh(hs, tok);
            break;
        }
    }
    if (rc == WARD_OK)
        rc = ward_noise_symmetric_decrypt_and_hash(&hs->ss, payload_out,
                                                   payload_cap, &n, msg + pos,
                                                   msg_len - pos);
    if (rc != WARD_OK) {
        if (payload_out != NULL && plen > 0) sodium_memzero(payload_out, plen);
        return hs_fail(hs, rc);
    }
    *payload_len = n;
    finish_message(hs);
    return WARD_OK;
}

int ward_noise_handshake_needs_write(const ward_noise_handshake *hs) {
    return hs != NULL && hs->status == HS_ACTIVE &&
           sends(hs->initiator, hs->msg_index);
}

int ward_noise_handshake_is_complete(const ward_noise_handshake *hs) {
    return hs != NULL && (hs->status == HS_COMPLETE || hs->status == HS_SPLIT);
}

int ward_noise_handshake_split(ward_noise_handshake *hs,
                               ward_noise_cipherstate *send,
                               ward_noise_cipherstate *recv) {
    WARD_ARG_CHECK(hs != NULL && send != NULL && recv != NULL && send != recv);
    if (hs->status == HS_CLOSED) return WARD_ECLOSED;
    if (hs->status != HS_COMPLETE) return WARD_ESTATE;
    ward_noise_cipherstate *c1 = hs->initiator ? send : recv;
    ward_noise_cipherstate *c2 = hs->initiator ? recv : send;
    int rc = ward_noise_symmetric_split(&hs->ss, c1, c2);
    if (rc != WARD_OK) {
        ward_noise_cipher_clear(send);
        ward_noise_cipher_clear(recv);
        return hs_fail(hs, rc);
    }
    /* One-way patterns: only the initiator sends (section 7.4). */
    if (hs->pattern.one_way) ward_noise_cipher_clear(c2);

    /* Keep h and rs; wipe everything secret. */
    uint8_t h[WARD_NOISE_MAXHASHLEN];
    uint8_t rs[WARD_NOISE_DHLEN];
    int hash = hs->ss.hash;
    size_t hashlen = hs->ss.hashlen;
    uint8_t has_rs = hs->has_rs;
    int initiator = hs->initiator;
    memcpy(h, hs->ss.h, sizeof h);
    memcpy(rs, hs->rs, sizeof rs);
    sodium_memzero(hs, sizeof *hs);
    hs->ss.hash = hash;
    hs->ss.hashlen = hashlen;
    memcpy(hs->ss.h, h, sizeof h);
    memcpy(hs->rs, rs, sizeof rs);
    hs->has_rs = has_rs;
    hs->initiator = initiator;
    hs->status = HS_SPLIT;
    sodium_memzero(h, sizeof h);
    return WARD_OK;
}

int ward_noise_handshake_get_hash(const ward_noise_handshake *hs,
                                  uint8_t *out, size_t out_cap,
                                  size_t *out_len) {
    WARD_ARG_CHECK(hs != NULL && out_len != NULL);
    *out_len = 0;
    if (hs->status == HS_CLOSED) return WARD_ECLOSED;
    if (hs->status == HS_UNSET) return WARD_ESTATE;
    WARD_ARG_CHECK(out != NULL && out_cap >= hs->ss.hashlen);
    memcpy(out, hs->ss.h, hs->ss.hashlen);
    *out_len = hs->ss.hashlen;
    return WARD_OK;
}

int ward_noise_handshake_remote_static(const ward_noise_handshake *hs,
                                       uint8_t out[WARD_NOISE_DHLEN]) {
    WARD_ARG_CHECK(hs != NULL && out != NULL);
    if (hs->status == HS_CLOSED) return WARD_ECLOSED;
    if (hs->status == HS_UNSET || !hs->has_rs) return WARD_ENOTFOUND;
    memcpy(out, hs->rs, WARD_NOISE_DHLEN);
    return WARD_OK;
}

void ward_noise_handshake_clear(ward_noise_handshake *hs) {
    if (hs == NULL) return;
    sodium_memzero(hs, sizeof *hs);
    hs->status = HS_CLOSED;
}
