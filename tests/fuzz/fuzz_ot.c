/* libFuzzer harness: arbitrary bytes as the peer's oblivious-transfer
 * messages. The first byte picks what the bytes stand for:
 *
 *   0  message 1 of the base OT (the receiver's points), to a sender
 *   1  message 2 of the base OT (the sender's point), to a receiver
 *   2  the IKNP U matrix, to an extension sender, at its exact length
 *      (the bytes repeated to fill it), then a check message
 *   3  the IKNP U matrix at whatever length the input has
 *   4  the KOS challenge, to an extension receiver
 *   5  the check message, to an extension sender after an honest U
 *   6  the chosen-message OT ciphertexts, to an extension receiver
 *
 * Every call must return one of the documented codes; a refused message
 * must close the object (WARD_ECLOSED afterwards). Anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gc_hash.h"
#include "ot_base.h"
#include "ot_ext.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t SID[32] = {'f', 'u', 'z', 'z'};

static void must(int cond) {
    if (!cond) abort();
}

static int peer_code(int rc) {
    return rc == WARD_OK || rc == WARD_EPARSE || rc == WARD_ETRUNC;
}

static void base_sender(ward_rng *rng, size_t n, const uint8_t *msg, size_t len) {
    ward_baseot_sender s;
    ward_block k0[4], k1[4];
    must(ward_baseot_sender_init(&s, rng, SID, n) == WARD_OK);
    int rc = ward_baseot_sender_finish(&s, k0, k1, n, msg, len);
    must(peer_code(rc));
    if (rc != WARD_OK) {
        static const uint8_t z[sizeof k0] = {0};
        must(memcmp(k0, z, n * 16) == 0 && memcmp(k1, z, n * 16) == 0);
        must(ward_baseot_sender_finish(&s, k0, k1, n, msg, len) == WARD_ECLOSED);
    } else {
        must(len == WARD_BASEOT_RECV_MSG_BYTES(n));
    }
    ward_baseot_sender_clear(&s);
}

static void base_receiver(ward_rng *rng, const uint8_t *msg, size_t len) {
    ward_baseot_receiver r;
    ward_block k[2];
    uint8_t ch[1] = {2};
    must(ward_baseot_receiver_init(&r, rng, SID, ch, 2) == WARD_OK);
    int rc = ward_baseot_receiver_finish(&r, k, 2, msg, len);
    must(peer_code(rc));
    if (rc != WARD_OK) must(ward_baseot_receiver_finish(&r, k, 2, msg, len) == WARD_ECLOSED);
    ward_baseot_receiver_clear(&r);
}

typedef struct {
    ward_otx_sender s;
    ward_otx_receiver r;
} pair;

static void pair_init(pair *p, ward_rng *rng) {
    ward_block s0[128], s1[128], ss[128], delta;
    ward_rng_bytes(rng, delta.b, 16);
    ward_rng_bytes(rng, (uint8_t *)s0, sizeof s0);
    ward_rng_bytes(rng, (uint8_t *)s1, sizeof s1);
    for (int j = 0; j < 128; j++) ss[j] = ((delta.b[j / 8] >> (j % 8)) & 1) ? s1[j] : s0[j];
    must(ward_otx_sender_init(&p->s, SID, &delta, ss) == WARD_OK);
    must(ward_otx_receiver_init(&p->r, SID, s0, s1) == WARD_OK);
}

static void pair_clear(pair *p) {
    ward_otx_sender_clear(&p->s);
    ward_otx_receiver_clear(&p->r);
}

static void otx_u(ward_rng *rng, size_t m, const uint8_t *data, size_t size, int exact) {
    pair p;
    pair_init(&p, rng);
    size_t ulen = ward_otx_u_bytes(m), len = size;
    uint8_t *u = malloc(ulen + size + 1), chal[16];
    ward_block *q = malloc(m * sizeof *q);
    if (!u || !q) abort();
    if (exact) {
        for (size_t i = 0; i < ulen; i++) u[i] = size ? data[i % size] : 0;
        len = ulen;
    } else if (size) {
        memcpy(u, data, size);
    }
    int rc = ward_otx_send_extend(&p.s, rng, q, chal, m, u, len);
    must(peer_code(rc));
    if (rc == WARD_OK) {
        /* a check message taken from the input: almost always refused */
        uint8_t chk[32] = {0};
        if (size) for (size_t i = 0; i < 32; i++) chk[i] = data[(i * 7) % size];
        rc = ward_otx_send_verify(&p.s, q, m, chk, 32);
        must(rc == WARD_OK || rc == WARD_EDECRYPT);
        if (rc != WARD_OK) must(ward_otx_send_verify(&p.s, q, m, chk, 32) == WARD_ECLOSED);
    } else {
        must(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen) == WARD_ECLOSED);
    }
    free(u);
    free(q);
    pair_clear(&p);
}

/* An honest extension up to the message under test. */
static void otx_tail(ward_rng *rng, int which, size_t m, const uint8_t *data, size_t size) {
    pair p;
    pair_init(&p, rng);
    size_t ulen = ward_otx_u_bytes(m);
    uint8_t *u = malloc(ulen), chal[16], chk[32], *ch = malloc((m + 7) / 8);
    ward_block *t = malloc(m * sizeof *t), *q = malloc(m * sizeof *q);
    if (!u || !ch || !t || !q) abort();
    ward_rng_bytes(rng, ch, (m + 7) / 8);
    must(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m) == WARD_OK);
    must(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen) == WARD_OK);
    if (which == 4) {
        int rc = ward_otx_recv_check(&p.r, chk, t, ch, m, data, size);
        must(peer_code(rc));
        if (rc == WARD_OK) {
            rc = ward_otx_send_verify(&p.s, q, m, chk, 32);
            /* an honest check passes only with the sender's own challenge */
            must(rc == WARD_OK || rc == WARD_EDECRYPT);
            must(rc != WARD_OK || memcmp(data, chal, 16) == 0);
        } else {
            must(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 16) == WARD_ECLOSED);
        }
    } else if (which == 5) {
        int rc = ward_otx_send_verify(&p.s, q, m, data, size);
        must(rc == WARD_OK || rc == WARD_EDECRYPT || rc == WARD_ETRUNC || rc == WARD_EPARSE);
        if (rc != WARD_OK) must(ward_otx_send_verify(&p.s, q, m, data, size) == WARD_ECLOSED);
    } else {
        must(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 16) == WARD_OK);
        must(ward_otx_send_verify(&p.s, q, m, chk, 32) == WARD_OK);
        ward_block *out = malloc(m * sizeof *out);
        if (!out) abort();
        int rc = ward_otx_recv_chosen(&p.r, out, ch, t, m, 0, data, size);
        must(peer_code(rc));
        must(rc != WARD_OK || size == 32 * m);
        free(out);
    }
    free(u);
    free(ch);
    free(t);
    free(q);
    pair_clear(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || ward_gc_cpu_check() != WARD_OK) return 0;
    ward_rng rng;
    if (ward_rng_init_u64(&rng, 0xf022) != WARD_OK) abort();
    uint8_t mode = data[0] % 7, arg = data[1];
    const uint8_t *msg = data + 2;
    size_t len = size - 2;
    switch (mode) {
    case 0:
        base_sender(&rng, 1 + arg % 4, msg, len);
        break;
    case 1:
        base_receiver(&rng, msg, len);
        break;
    case 2:
        otx_u(&rng, 1 + (size_t)arg * 3, msg, len, 1);
        break;
    case 3:
        otx_u(&rng, 1 + (size_t)arg * 3, msg, len, 0);
        break;
    default:
        otx_tail(&rng, mode, 1 + (size_t)arg % 200, msg, len);
        break;
    }
    ward_rng_clear(&rng);
    return 0;
}
