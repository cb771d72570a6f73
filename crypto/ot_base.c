#include "ot_base.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { ST_NONE = 0, ST_READY = 1, ST_SPENT = 2, ST_CLOSED = 3 };

#define PB WARD_BASEOT_POINTBYTES

static const char H2G_LABEL[] = "ward mr19 h2g";
static const char KEY_LABEL[] = "ward mr19 key";

static void put_u64(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* Hg(sid, i, P). from_hash cannot fail on 64 bytes. */
static void hash_to_group(uint8_t out[PB], const uint8_t sid[32], uint64_t i,
                          const uint8_t p[PB]) {
    crypto_generichash_state st;
    uint8_t h[crypto_core_ristretto255_HASHBYTES], ib[8];
    put_u64(ib, i);
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)H2G_LABEL, sizeof H2G_LABEL - 1);
    crypto_generichash_update(&st, sid, 32);
    crypto_generichash_update(&st, ib, 8);
    crypto_generichash_update(&st, p, PB);
    crypto_generichash_final(&st, h, sizeof h);
    crypto_core_ristretto255_from_hash(out, h);
    sodium_memzero(h, sizeof h);
    sodium_memzero(&st, sizeof st);
}

/* Hk(sid, n, i, j, R0, R1, B, K). */
static void derive_key(ward_block *out, const uint8_t sid[32], uint64_t n, uint64_t i,
                       uint8_t j, const uint8_t r0[PB], const uint8_t r1[PB],
                       const uint8_t B[PB], const uint8_t K[PB]) {
    crypto_generichash_state st;
    uint8_t nb[8], ib[8];
    put_u64(nb, n);
    put_u64(ib, i);
    crypto_generichash_init(&st, NULL, 0, WARD_BLOCK_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)KEY_LABEL, sizeof KEY_LABEL - 1);
    crypto_generichash_update(&st, sid, 32);
    crypto_generichash_update(&st, nb, 8);
    crypto_generichash_update(&st, ib, 8);
    crypto_generichash_update(&st, &j, 1);
    crypto_generichash_update(&st, r0, PB);
    crypto_generichash_update(&st, r1, PB);
    crypto_generichash_update(&st, B, PB);
    crypto_generichash_update(&st, K, PB);
    crypto_generichash_final(&st, out->b, WARD_BLOCK_BYTES);
    sodium_memzero(&st, sizeof st);
}

/* A canonical encoding of a point other than the identity. libsodium
 * 1.0.18 ignores bit 255 when it decodes (so p and p | 2^255 decode to the
 * same point), while RFC 9496 makes an encoding with that bit set
 * non-canonical: refuse it here. The encoding is public (it came over the
 * wire), so the branches are fine. */
static int point_bytes_ok_var(const uint8_t p[PB]) {
    return !(p[PB - 1] & 0x80) && !sodium_is_zero(p, PB);
}

static int point_ok_var(const uint8_t p[PB]) {
    return point_bytes_ok_var(p) && crypto_core_ristretto255_is_valid_point(p) == 1;
}

/* A uniformly random nonzero scalar from rng. Zero has probability about
 * 2^-252; the loop is there for completeness. */
static void random_scalar(uint8_t s[32], ward_rng *rng) {
    uint8_t wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
    do {
        ward_rng_bytes(rng, wide, sizeof wide);
        crypto_core_ristretto255_scalar_reduce(s, wide);
    } while (sodium_is_zero(s, 32));
    sodium_memzero(wide, sizeof wide);
}

/* Swaps a and b (PB bytes each) when bit is 1, without branching on it. */
static void cswap(uint8_t *a, uint8_t *b, uint8_t bit) {
    uint8_t mask = (uint8_t)(0 - (bit & 1));
    for (size_t k = 0; k < PB; k++) {
        uint8_t t = (uint8_t)((a[k] ^ b[k]) & mask);
        a[k] ^= t;
        b[k] ^= t;
    }
}

/* ---- sender ------------------------------------------------------------- */

int ward_baseot_sender_init(ward_baseot_sender *s, ward_rng *rng,
                            const uint8_t sid[WARD_BASEOT_SIDBYTES], size_t n) {
    WARD_ARG_CHECK(s != NULL);
    memset(s, 0, sizeof *s);
    s->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL && sid != NULL && n >= 1 && n <= WARD_BASEOT_MAX);
    if (sodium_init() < 0) return WARD_EINVAL;
    memcpy(s->sid, sid, sizeof s->sid);
    random_scalar(s->b, rng);
    if (crypto_scalarmult_ristretto255_base(s->B, s->b) != 0) {
        ward_baseot_sender_clear(s);
        s->state = ST_CLOSED;
        return WARD_EINVAL;
    }
    s->n = n;
    s->state = ST_READY;
    return WARD_OK;
}

int ward_baseot_sender_msg(const ward_baseot_sender *s,
                           uint8_t out[WARD_BASEOT_SEND_MSG_BYTES]) {
    WARD_ARG_CHECK(s != NULL && out != NULL);
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state != ST_READY) return WARD_ESTATE;
    memcpy(out, s->B, PB);
    return WARD_OK;
}

static int sender_fail(ward_baseot_sender *s, ward_block *k0, ward_block *k1, size_t n,
                       int rc) {
    sodium_memzero(k0, n * sizeof *k0);
    sodium_memzero(k1, n * sizeof *k1);
    sodium_memzero(s, sizeof *s);
    s->state = ST_CLOSED;
    return rc;
}

int ward_baseot_sender_finish(ward_baseot_sender *s, ward_block *k0, ward_block *k1,
                              size_t n, const uint8_t *msg, size_t len) {
    WARD_ARG_CHECK(s != NULL && k0 != NULL && k1 != NULL && (msg != NULL || len == 0));
    if (s->state == ST_CLOSED) return WARD_ECLOSED;
    if (s->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(n == s->n);
    size_t want = WARD_BASEOT_RECV_MSG_BYTES(n);
    if (len < want) return sender_fail(s, k0, k1, n, WARD_ETRUNC);
    if (len > want) return sender_fail(s, k0, k1, n, WARD_EPARSE);
    /* The cheap checks first for the whole batch (bit 255, the identity);
     * whether each encoding decodes is checked by the addition below, which
     * decodes it anyway (a second decode per point would cost a tenth of
     * the sender's time). Any failure refuses the whole batch. */
    for (size_t i = 0; i < 2 * n; i++)
        if (!point_bytes_ok_var(msg + i * PB)) return sender_fail(s, k0, k1, n, WARD_EPARSE);

    uint8_t h[PB], p[PB], K[PB];
    int rc = WARD_OK;
    for (size_t i = 0; i < n && rc == WARD_OK; i++) {
        const uint8_t *r[2] = {msg + 2 * i * PB, msg + (2 * i + 1) * PB};
        ward_block *out[2] = {&k0[i], &k1[i]};
        for (int j = 0; j < 2 && rc == WARD_OK; j++) {
            hash_to_group(h, s->sid, i, r[1 - j]);
            /* add fails when R_j is not a canonical encoding; the
             * multiplication when P_j is the identity. */
            if (crypto_core_ristretto255_add(p, r[j], h) != 0 ||
                crypto_scalarmult_ristretto255(K, s->b, p) != 0) {
                rc = WARD_EPARSE;
                break;
            }
            derive_key(out[j], s->sid, n, i, (uint8_t)j, r[0], r[1], s->B, K);
        }
    }
    sodium_memzero(K, sizeof K);
    sodium_memzero(p, sizeof p);
    sodium_memzero(h, sizeof h);
    if (rc != WARD_OK) return sender_fail(s, k0, k1, n, rc);
    sodium_memzero(s->b, sizeof s->b);
    s->state = ST_SPENT;
    return WARD_OK;
}

void ward_baseot_sender_clear(ward_baseot_sender *s) {
    if (s) sodium_memzero(s, sizeof *s);
}

/* ---- receiver ----------------------------------------------------------- */

static void receiver_wipe(ward_baseot_receiver *r, int state) {
    if (r->msg) free(r->msg);
    if (r->scalars) {
        sodium_memzero(r->scalars, r->n * 32);
        free(r->scalars);
    }
    if (r->choices) {
        sodium_memzero(r->choices, (r->n + 7) / 8);
        free(r->choices);
    }
    sodium_memzero(r, sizeof *r);
    r->state = state;
}

int ward_baseot_receiver_init(ward_baseot_receiver *r, ward_rng *rng,
                              const uint8_t sid[WARD_BASEOT_SIDBYTES],
                              const uint8_t *choices, size_t n) {
    WARD_ARG_CHECK(r != NULL);
    memset(r, 0, sizeof *r);
    r->state = ST_CLOSED;
    WARD_ARG_CHECK(rng != NULL && sid != NULL && choices != NULL);
    WARD_ARG_CHECK(n >= 1 && n <= WARD_BASEOT_MAX);
    if (sodium_init() < 0) return WARD_EINVAL;
    r->n = n;
    r->msg = malloc(WARD_BASEOT_RECV_MSG_BYTES(n));
    r->scalars = malloc(n * 32);
    r->choices = malloc((n + 7) / 8);
    if (!r->msg || !r->scalars || !r->choices) {
        receiver_wipe(r, ST_CLOSED);
        return WARD_ENOMEM;
    }
    memcpy(r->sid, sid, sizeof r->sid);
    memcpy(r->choices, choices, (n + 7) / 8);

    uint8_t wide[crypto_core_ristretto255_HASHBYTES], A[PB], h[PB];
    int rc = WARD_OK;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (r->choices[i / 8] >> (i % 8)) & 1;
        uint8_t *rc_pt = r->msg + 2 * i * PB;   /* R_c, until the swap */
        uint8_t *rn_pt = rc_pt + PB;            /* R_{1-c} */
        uint8_t *a = r->scalars + i * 32;
        ward_rng_bytes(rng, wide, sizeof wide);
        crypto_core_ristretto255_from_hash(rn_pt, wide);
        random_scalar(a, rng);
        hash_to_group(h, r->sid, i, rn_pt);
        if (crypto_scalarmult_ristretto255_base(A, a) != 0 ||
            crypto_core_ristretto255_sub(rc_pt, A, h) != 0) {
            rc = WARD_EINVAL;
            break;
        }
        /* Now (R_c, R_{1-c}) sits in slots (0, 1); put it in (R0, R1). */
        cswap(rc_pt, rn_pt, c);
    }
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(A, sizeof A);
    sodium_memzero(h, sizeof h);
    if (rc != WARD_OK) {
        receiver_wipe(r, ST_CLOSED);
        return rc;
    }
    r->state = ST_READY;
    return WARD_OK;
}

int ward_baseot_receiver_msg(const ward_baseot_receiver *r, uint8_t *out, size_t cap,
                             size_t *len) {
    WARD_ARG_CHECK(r != NULL && out != NULL && len != NULL);
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_READY) return WARD_ESTATE;
    size_t want = WARD_BASEOT_RECV_MSG_BYTES(r->n);
    if (cap < want) return WARD_ETOOBIG;
    memcpy(out, r->msg, want);
    *len = want;
    return WARD_OK;
}

static int receiver_fail(ward_baseot_receiver *r, ward_block *keys, size_t n, int rc) {
    sodium_memzero(keys, n * sizeof *keys);
    receiver_wipe(r, ST_CLOSED);
    return rc;
}

int ward_baseot_receiver_finish(ward_baseot_receiver *r, ward_block *keys, size_t n,
                                const uint8_t *msg, size_t len) {
    WARD_ARG_CHECK(r != NULL && keys != NULL && (msg != NULL || len == 0));
    if (r->state == ST_CLOSED) return WARD_ECLOSED;
    if (r->state != ST_READY) return WARD_ESTATE;
    WARD_ARG_CHECK(n == r->n);
    if (len < WARD_BASEOT_SEND_MSG_BYTES) return receiver_fail(r, keys, n, WARD_ETRUNC);
    if (len > WARD_BASEOT_SEND_MSG_BYTES || !point_ok_var(msg))
        return receiver_fail(r, keys, n, WARD_EPARSE);
    uint8_t K[PB];
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (r->choices[i / 8] >> (i % 8)) & 1;
        if (crypto_scalarmult_ristretto255(K, r->scalars + i * 32, msg) != 0) {
            sodium_memzero(K, sizeof K);
            return receiver_fail(r, keys, n, WARD_EPARSE);
        }
        derive_key(&keys[i], r->sid, n, i, c, r->msg + 2 * i * PB, r->msg + (2 * i + 1) * PB,
                   msg, K);
    }
    sodium_memzero(K, sizeof K);
    /* Spent: the scalars and choices are no longer needed. */
    size_t nn = r->n;
    receiver_wipe(r, ST_SPENT);
    r->n = nn;
    return WARD_OK;
}

void ward_baseot_receiver_clear(ward_baseot_receiver *r) {
    if (!r) return;
    receiver_wipe(r, ST_NONE);
}
