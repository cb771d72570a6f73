/* Oblivious transfer: Masny-Rindal base OT (honest runs, the documented
 * formulas recomputed by hand, malformed and non-canonical points refused,
 * fail-closed behaviour; the multi-threaded batch against a sequential
 * reference, also when no thread can be created) and IKNP extension with the KOS check (the
 * bit-matrix transpose and GF(2^128) against naive code; correlated,
 * random and chosen-message OTs at awkward lengths and choice patterns;
 * cheating in one column caught; wrong lengths refused). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "check.h"
#include "error.h"
#include "gc_hash.h"
#include "ot_base.h"
#include "ot_ext.h"
#include "rng.h"

/* ---- helpers ------------------------------------------------------------ */

static int getbit(const uint8_t *v, size_t i) { return (v[i / 8] >> (i % 8)) & 1; }

static void put_u64(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (8 * i));
}

/* The documented Hg and Hk, written out independently of ot_base.c. */
static void spec_h2g(uint8_t out[32], const uint8_t sid[32], uint64_t i, const uint8_t p[32]) {
    uint8_t buf[13 + 32 + 8 + 32], h[64];
    memcpy(buf, "ward mr19 h2g", 13);
    memcpy(buf + 13, sid, 32);
    put_u64(buf + 45, i);
    memcpy(buf + 53, p, 32);
    crypto_generichash(h, 64, buf, sizeof buf, NULL, 0);
    crypto_core_ristretto255_from_hash(out, h);
}

static void spec_key(uint8_t out[16], const uint8_t sid[32], uint64_t n, uint64_t i, uint8_t j,
                     const uint8_t r0[32], const uint8_t r1[32], const uint8_t B[32],
                     const uint8_t K[32]) {
    uint8_t buf[13 + 32 + 8 + 8 + 1 + 4 * 32];
    size_t o = 0;
    memcpy(buf, "ward mr19 key", 13);
    o = 13;
    memcpy(buf + o, sid, 32);
    o += 32;
    put_u64(buf + o, n);
    o += 8;
    put_u64(buf + o, i);
    o += 8;
    buf[o++] = j;
    memcpy(buf + o, r0, 32);
    o += 32;
    memcpy(buf + o, r1, 32);
    o += 32;
    memcpy(buf + o, B, 32);
    o += 32;
    memcpy(buf + o, K, 32);
    o += 32;
    crypto_generichash(out, 16, buf, o, NULL, 0);
}

/* A valid point (the base point) and some invalid encodings. */
static const uint8_t BASEPOINT[32] = {
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9,
    0x61, 0xc5, 0x00, 0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82,
    0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76};

static void bad_point(uint8_t p[32], int kind) {
    memset(p, 0, 32);
    switch (kind) {
    case 0: /* the identity: canonical, but refused */
        break;
    case 1: /* p = 2^255 - 19 itself: a non-canonical field element */
        memset(p, 0xff, 32);
        p[0] = 0xed;
        p[31] = 0x7f;
        break;
    case 2: /* the base point with the top bit set */
        memcpy(p, BASEPOINT, 32);
        p[31] |= 0x80;
        break;
    case 3: /* a "negative" (odd) field element, not allowed in ristretto */
        p[0] = 1;
        break;
    case 4: /* all ones */
        memset(p, 0xff, 32);
        break;
    default: /* the base point plus p: non-canonical encoding of a point */
        memcpy(p, BASEPOINT, 32);
        {
            /* add 2^255 - 19 to the little-endian integer */
            static const uint8_t P[32] = {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
            unsigned carry = 0;
            for (int i = 0; i < 32; i++) {
                unsigned s = (unsigned)p[i] + P[i] + carry;
                p[i] = (uint8_t)s;
                carry = s >> 8;
            }
        }
        break;
    }
}
#define N_BAD_KINDS 6

/* ---- base OT -------------------------------------------------------------- */

static void base_run(ward_rng *rng, const uint8_t sid[32], const uint8_t *choices, size_t n,
                     int sender_first) {
    ward_baseot_sender s;
    ward_baseot_receiver r;
    ward_block *k0 = malloc(n * sizeof *k0), *k1 = malloc(n * sizeof *k1),
               *kr = malloc(n * sizeof *kr);
    uint8_t B[32], *msg = malloc(WARD_BASEOT_RECV_MSG_BYTES(n));
    size_t len = 0;
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, n), WARD_OK);
    if (sender_first) CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, n), WARD_OK);
    CHECK_RC(ward_baseot_receiver_msg(&r, msg, WARD_BASEOT_RECV_MSG_BYTES(n), &len), WARD_OK);
    CHECK_EQ_U64(len, 64 * n);
    if (!sender_first) CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, n, msg, len), WARD_OK);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, n, B, 32), WARD_OK);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const ward_block *want = getbit(choices, i) ? &k1[i] : &k0[i];
        const ward_block *other = getbit(choices, i) ? &k0[i] : &k1[i];
        bad += memcmp(kr[i].b, want->b, 16) != 0;
        bad += memcmp(kr[i].b, other->b, 16) == 0;
        for (size_t j = 0; j < i && j < 4; j++) bad += memcmp(k0[i].b, k0[j].b, 16) == 0;
    }
    CHECK(bad == 0);
    /* spent */
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, n, msg, len), WARD_ESTATE);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, n, B, 32), WARD_ESTATE);
    ward_baseot_sender_clear(&s);
    ward_baseot_receiver_clear(&r);
    free(k0);
    free(k1);
    free(kr);
    free(msg);
}

static void test_base_honest(ward_rng *rng) {
    uint8_t sid[32];
    ward_rng_bytes(rng, sid, 32);
    static const size_t ns[] = {1, 2, 3, 8, 128, 129};
    uint8_t choices[32];
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        ward_rng_bytes(rng, choices, sizeof choices);
        base_run(rng, sid, choices, ns[k], (int)(k & 1));
    }
    memset(choices, 0, sizeof choices);
    base_run(rng, sid, choices, 128, 0);
    memset(choices, 0xff, sizeof choices);
    base_run(rng, sid, choices, 128, 1);
    memset(choices, 0x55, sizeof choices);
    base_run(rng, sid, choices, 77, 0);

    /* Deterministic under a seeded rng; a different sid changes every key. */
    ward_block a0[4], a1[4], b0[4], b1[4], c0[4], c1[4];
    uint8_t msg[256], B[32], sid2[32];
    memcpy(sid2, sid, 32);
    sid2[0] ^= 1;
    const uint8_t *sids[3] = {sid, sid, sid2};
    ward_block *outs0[3] = {a0, b0, c0}, *outs1[3] = {a1, b1, c1};
    for (int t = 0; t < 3; t++) {
        ward_rng r1;
        ward_rng_init_u64(&r1, 4242);
        ward_baseot_sender s;
        ward_baseot_receiver r;
        size_t len;
        uint8_t ch[1] = {0x5};
        CHECK_RC(ward_baseot_sender_init(&s, &r1, sids[t], 4), WARD_OK);
        CHECK_RC(ward_baseot_receiver_init(&r, &r1, sids[t], ch, 4), WARD_OK);
        CHECK_RC(ward_baseot_receiver_msg(&r, msg, sizeof msg, &len), WARD_OK);
        CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
        CHECK_RC(ward_baseot_sender_finish(&s, outs0[t], outs1[t], 4, msg, len), WARD_OK);
        ward_baseot_receiver_clear(&r);
        ward_baseot_sender_clear(&s);
        ward_rng_clear(&r1);
    }
    CHECK_MEM(a0, b0, sizeof a0);
    CHECK_MEM(a1, b1, sizeof a1);
    for (int i = 0; i < 4; i++) CHECK(memcmp(a0[i].b, c0[i].b, 16) != 0);
}

/* The sender against a receiver written from the header's formulas. */
static void test_base_spec(ward_rng *rng) {
    enum { N = 16 };
    uint8_t sid[32], msg[64 * N], a[N][32], B[32];
    ward_rng_bytes(rng, sid, 32);
    uint8_t c[N];
    for (int i = 0; i < N; i++) {
        uint8_t wide[64], h[32], A[32];
        c[i] = (uint8_t)(ward_rng_u64(rng) & 1);
        uint8_t *rc_ = msg + 64 * i + 32 * c[i], *rn = msg + 64 * i + 32 * (1 - c[i]);
        ward_rng_bytes(rng, wide, 64);
        crypto_core_ristretto255_from_hash(rn, wide);
        ward_rng_bytes(rng, wide, 64);
        crypto_core_ristretto255_scalar_reduce(a[i], wide);
        spec_h2g(h, sid, (uint64_t)i, rn);
        CHECK(crypto_scalarmult_ristretto255_base(A, a[i]) == 0);
        CHECK(crypto_core_ristretto255_sub(rc_, A, h) == 0);
    }
    ward_baseot_sender s;
    ward_block k0[N], k1[N];
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
    CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, msg, sizeof msg), WARD_OK);
    for (int i = 0; i < N; i++) {
        uint8_t K[32], want[16];
        CHECK(crypto_scalarmult_ristretto255(K, a[i], B) == 0);
        spec_key(want, sid, N, (uint64_t)i, c[i], msg + 64 * i, msg + 64 * i + 32, B, K);
        CHECK_MEM(want, (c[i] ? k1 : k0)[i].b, 16);
    }
    ward_baseot_sender_clear(&s);

    /* R_1 = -Hg(sid, 0, R_0): then P_1 is the identity and the sender must
     * refuse rather than derive a key from a known value. */
    uint8_t h[32];
    spec_h2g(h, sid, 0, msg);
    uint8_t neg[32], one[32] = {1};
    /* -h = (-1) * h */
    uint8_t minus1[32];
    crypto_core_ristretto255_scalar_negate(minus1, one);
    CHECK(crypto_scalarmult_ristretto255(neg, minus1, h) == 0);
    memcpy(msg + 32, neg, 32);
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, msg, sizeof msg), WARD_EPARSE);
    CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_ECLOSED);
    int allzero = sodium_is_zero((const uint8_t *)k0, sizeof k0) && sodium_is_zero((const uint8_t *)k1, sizeof k1);
    CHECK(allzero);
}

static void test_base_malformed(ward_rng *rng) {
    enum { N = 8 };
    uint8_t sid[32] = {9}, choices[1] = {0xA5}, msg[64 * N + 1], good[64 * N], B[32];
    ward_block k0[N], k1[N], kr[N];
    size_t len;
    ward_baseot_receiver r;
    ward_baseot_sender s;
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
    CHECK_RC(ward_baseot_receiver_msg(&r, good, sizeof good, &len), WARD_OK);
    CHECK_RC(ward_baseot_receiver_msg(&r, good, sizeof good - 1, &len), WARD_ETOOBIG);
    ward_baseot_receiver_clear(&r);

    /* every invalid encoding, in every position kind: first, middle, last */
    for (int kind = 0; kind < N_BAD_KINDS; kind++) {
        uint8_t p[32];
        bad_point(p, kind);
        /* libsodium 1.0.18 accepts the base point with bit 255 set (kind
         * 2); RFC 9496 does not, and neither does ward. */
        CHECK(kind == 0 || kind == 2 || crypto_core_ristretto255_is_valid_point(p) == 0);
        size_t slots[3] = {0, 7, 2 * N - 1};
        for (int sl = 0; sl < 3; sl++) {
            memcpy(msg, good, sizeof good);
            memcpy(msg + 32 * slots[sl], p, 32);
            CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
            memset(k0, 0xAA, sizeof k0);
            CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, msg, sizeof good), WARD_EPARSE);
            CHECK(sodium_is_zero((const uint8_t *)k0, sizeof k0));
            CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, good, sizeof good), WARD_ECLOSED);
            ward_baseot_sender_clear(&s);
        }
        /* the sender's B */
        CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
        memset(kr, 0xAA, sizeof kr);
        CHECK_RC(ward_baseot_receiver_finish(&r, kr, N, p, 32), WARD_EPARSE);
        CHECK(sodium_is_zero((const uint8_t *)kr, sizeof kr));
        CHECK_RC(ward_baseot_receiver_finish(&r, kr, N, BASEPOINT, 32), WARD_ECLOSED);
        ward_baseot_receiver_clear(&r);
    }
    /* random 32-byte strings: accepted exactly when libsodium calls them
     * valid points (and not the identity) */
    int accepted = 0;
    for (int t = 0; t < 200; t++) {
        uint8_t p[32];
        ward_rng_bytes(rng, p, 32);
        if (t % 2) p[0] &= 0xFE, p[31] &= 0x7F; /* more likely to be valid */
        int valid = crypto_core_ristretto255_is_valid_point(p) == 1 && !(p[31] & 0x80);
        CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
        int rc = ward_baseot_receiver_finish(&r, kr, N, p, 32);
        CHECK_RC(rc, valid ? WARD_OK : WARD_EPARSE);
        accepted += rc == WARD_OK;
        ward_baseot_receiver_clear(&r);
    }
    printf("ot: %d of 200 random encodings were valid points\n", accepted);

    /* lengths */
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, good, sizeof good - 1), WARD_ETRUNC);
    ward_baseot_sender_clear(&s);
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
    memcpy(msg, good, sizeof good);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, msg, sizeof good + 1), WARD_EPARSE);
    ward_baseot_sender_clear(&s);
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, N), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, N, NULL, 0), WARD_ETRUNC);
    ward_baseot_sender_clear(&s);
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, N, BASEPOINT, 31), WARD_ETRUNC);
    ward_baseot_receiver_clear(&r);
    uint8_t long_b[33];
    memcpy(long_b, BASEPOINT, 32);
    long_b[32] = 0;
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, N, long_b, 33), WARD_EPARSE);
    ward_baseot_receiver_clear(&r);
    /* the base point as B is fine */
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, choices, N), WARD_OK);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, N, BASEPOINT, 32), WARD_OK);
    ward_baseot_receiver_clear(&r);

    /* misuse */
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, 0), WARD_EINVAL);
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, WARD_BASEOT_MAX + 1), WARD_EINVAL);
    CHECK_RC(ward_baseot_sender_init(&s, NULL, sid, 4), WARD_EINVAL);
    CHECK_RC(ward_baseot_receiver_init(&r, rng, sid, NULL, 4), WARD_EINVAL);
    CHECK_RC(ward_baseot_sender_init(&s, rng, sid, 4), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, 5, good, 64 * 5), WARD_EINVAL);
    ward_baseot_sender_clear(&s);
    CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_ESTATE);
    ward_baseot_sender_clear(NULL);
    ward_baseot_receiver_clear(NULL);
}

/* ---- base OT on several threads ------------------------------------------- */

/* ot_base.c's random scalar, written out: 64 bytes reduced, redrawn on 0. */
static void ref_scalar(uint8_t s[32], ward_rng *rng) {
    uint8_t wide[64];
    do {
        ward_rng_bytes(rng, wide, sizeof wide);
        crypto_core_ristretto255_scalar_reduce(s, wide);
    } while (sodium_is_zero(s, 32));
}

/* One batch through the library and the same batch computed here, one OT
 * after the other from the documented formulas, with a copy of the same
 * seeded generator: message 1, B and every key must agree to the bit,
 * whatever threads the library used. */
static void threads_vs_reference(size_t n, uint64_t seed) {
    uint8_t sid[32], *choices = malloc((n + 7) / 8);
    ward_rng rng, ref;
    ward_rng_init_u64(&rng, seed);
    ward_rng_bytes(&rng, sid, sizeof sid);
    ward_rng_bytes(&rng, choices, (n + 7) / 8);
    ref = rng; /* a seeded generator is its state: the copy replays it */

    size_t mlen = WARD_BASEOT_RECV_MSG_BYTES(n), len = 0;
    uint8_t *msg = malloc(mlen), *want_msg = malloc(mlen), *a = malloc(n * 32), B[32], b[32],
            want_B[32];
    ward_block *k0 = malloc(n * sizeof *k0), *k1 = malloc(n * sizeof *k1),
               *kr = malloc(n * sizeof *kr);
    ward_baseot_receiver r;
    ward_baseot_sender s;
    CHECK_RC(ward_baseot_receiver_init(&r, &rng, sid, choices, n), WARD_OK);
    CHECK_RC(ward_baseot_receiver_msg(&r, msg, mlen, &len), WARD_OK);
    CHECK_EQ_U64(len, mlen);
    CHECK_RC(ward_baseot_sender_init(&s, &rng, sid, n), WARD_OK);
    CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
    CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, n, msg, mlen), WARD_OK);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, n, B, 32), WARD_OK);

    /* the reference, in the order the library draws: per OT the 64 bytes
     * behind R_{1-c} and a_i; then the sender's b */
    for (size_t i = 0; i < n; i++) {
        uint8_t wide[64], h[32], A[32];
        int c = getbit(choices, i);
        uint8_t *rc_ = want_msg + 64 * i + 32 * c, *rn = want_msg + 64 * i + 32 * (1 - c);
        ward_rng_bytes(&ref, wide, 64);
        crypto_core_ristretto255_from_hash(rn, wide);
        ref_scalar(a + 32 * i, &ref);
        spec_h2g(h, sid, (uint64_t)i, rn);
        CHECK(crypto_scalarmult_ristretto255_base(A, a + 32 * i) == 0);
        CHECK(crypto_core_ristretto255_sub(rc_, A, h) == 0);
    }
    ref_scalar(b, &ref);
    CHECK(crypto_scalarmult_ristretto255_base(want_B, b) == 0);
    CHECK_MEM(msg, want_msg, mlen);
    CHECK_MEM(B, want_B, 32);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *R[2] = {want_msg + 64 * i, want_msg + 64 * i + 32};
        ward_block *got[2] = {&k0[i], &k1[i]};
        for (int j = 0; j < 2; j++) {
            uint8_t h[32], P[32], K[32], want[16];
            spec_h2g(h, sid, (uint64_t)i, R[1 - j]);
            CHECK(crypto_core_ristretto255_add(P, R[j], h) == 0);
            CHECK(crypto_scalarmult_ristretto255(K, b, P) == 0);
            spec_key(want, sid, n, (uint64_t)i, (uint8_t)j, R[0], R[1], want_B, K);
            bad += memcmp(want, got[j]->b, 16) != 0;
        }
        uint8_t K[32], want[16];
        int c = getbit(choices, i);
        CHECK(crypto_scalarmult_ristretto255(K, a + 32 * i, want_B) == 0);
        spec_key(want, sid, n, (uint64_t)i, (uint8_t)c, R[0], R[1], want_B, K);
        bad += memcmp(want, kr[i].b, 16) != 0;
        bad += memcmp(kr[i].b, (c ? k1 : k0)[i].b, 16) != 0;
    }
    CHECK(bad == 0);
    if (bad) fprintf(stderr, "ot: n = %zu: %d keys differ from the sequential reference\n", n, bad);
    ward_baseot_receiver_clear(&r);
    ward_baseot_sender_clear(&s);
    ward_rng_clear(&rng);
    ward_rng_clear(&ref);
    free(choices);
    free(msg);
    free(want_msg);
    free(a);
    free(k0);
    free(k1);
    free(kr);
}

/* Refusals in the middle of a batch that several threads share: a point
 * that does not decode, or one whose DH result is the identity, at the
 * first, a middle or the last OT. The whole batch is refused, every key
 * (including those other threads had finished) is zero and the object is
 * closed. */
static void threads_refusals(size_t n, uint64_t seed) {
    uint8_t sid[32], choices[(WARD_BASEOT_MAX + 7) / 8];
    ward_rng rng;
    ward_rng_init_u64(&rng, seed);
    ward_rng_bytes(&rng, sid, sizeof sid);
    ward_rng_bytes(&rng, choices, (n + 7) / 8);
    size_t mlen = WARD_BASEOT_RECV_MSG_BYTES(n), len;
    uint8_t *good = malloc(mlen), *msg = malloc(mlen), B[32];
    ward_block *k0 = malloc(n * sizeof *k0), *k1 = malloc(n * sizeof *k1);
    ward_baseot_receiver r;
    ward_baseot_sender s;
    CHECK_RC(ward_baseot_receiver_init(&r, &rng, sid, choices, n), WARD_OK);
    CHECK_RC(ward_baseot_receiver_msg(&r, good, mlen, &len), WARD_OK);
    ward_baseot_receiver_clear(&r);
    size_t at[3] = {0, n / 2, n - 1};
    for (int t = 0; t < 3; t++) {
        for (int kind = 0; kind < 3; kind++) {
            size_t i = at[t];
            memcpy(msg, good, mlen);
            if (kind == 0) { /* R0_i is not a point */
                bad_point(msg + 64 * i, 3);
            } else if (kind == 1) { /* R1_i is not canonical */
                bad_point(msg + 64 * i + 32, 5);
            } else { /* R1_i = -Hg(sid, i, R0_i): P_1 is the identity */
                uint8_t h[32], one[32] = {1}, minus1[32];
                spec_h2g(h, sid, (uint64_t)i, msg + 64 * i);
                crypto_core_ristretto255_scalar_negate(minus1, one);
                CHECK(crypto_scalarmult_ristretto255(msg + 64 * i + 32, minus1, h) == 0);
            }
            CHECK_RC(ward_baseot_sender_init(&s, &rng, sid, n), WARD_OK);
            CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_OK);
            memset(k0, 0xAA, n * sizeof *k0);
            memset(k1, 0x55, n * sizeof *k1);
            CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, n, msg, mlen), WARD_EPARSE);
            CHECK(sodium_is_zero((const uint8_t *)k0, n * sizeof *k0));
            CHECK(sodium_is_zero((const uint8_t *)k1, n * sizeof *k1));
            CHECK(sodium_is_zero(s.b, sizeof s.b));
            CHECK_RC(ward_baseot_sender_finish(&s, k0, k1, n, good, mlen), WARD_ECLOSED);
            CHECK_RC(ward_baseot_sender_msg(&s, B), WARD_ECLOSED);
            ward_baseot_sender_clear(&s);
        }
    }
    /* the receiver's refusal of B, with keys pre-filled */
    ward_block *kr = malloc(n * sizeof *kr);
    uint8_t p[32];
    bad_point(p, 1);
    CHECK_RC(ward_baseot_receiver_init(&r, &rng, sid, choices, n), WARD_OK);
    memset(kr, 0xAA, n * sizeof *kr);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, n, p, 32), WARD_EPARSE);
    CHECK(sodium_is_zero((const uint8_t *)kr, n * sizeof *kr));
    CHECK(r.scalars == NULL && r.choices == NULL && r.msg == NULL);
    CHECK_RC(ward_baseot_receiver_finish(&r, kr, n, BASEPOINT, 32), WARD_ECLOSED);
    ward_baseot_receiver_clear(&r);
    ward_rng_clear(&rng);
    free(good);
    free(msg);
    free(k0);
    free(k1);
    free(kr);
}

static void *noop_thread(void *arg) { return arg; }

static void test_base_threads(void) {
    static const size_t ns[] = {1, 2, 3, 127, 128, 129, 1000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) threads_vs_reference(ns[k], 100 + k);
    threads_refusals(2, 7);
    threads_refusals(128, 8);
    threads_refusals(129, 9);

    /* No thread can be created: a default stack larger than the address
     * space makes every pthread_create fail. The library must fall back
     * to the calling thread and give the same results. */
    pthread_attr_t old, huge;
    if (pthread_getattr_default_np(&old) != 0) {
        printf("ot: cannot read the default thread attributes; fallback not tested\n");
        return;
    }
    pthread_attr_init(&huge);
    int set = pthread_attr_setstacksize(&huge, (size_t)1 << 50) == 0 &&
              pthread_setattr_default_np(&huge) == 0;
    pthread_t t;
    int created = set && pthread_create(&t, NULL, noop_thread, NULL) == 0;
    if (created) pthread_join(t, NULL);
    if (set && !created) {
        threads_vs_reference(1, 200);
        threads_vs_reference(2, 201);
        threads_vs_reference(128, 202);
        threads_refusals(128, 203);
        printf("ot: base OT with thread creation failing: same results\n");
    } else {
        printf("ot: could not make thread creation fail here; fallback not tested\n");
    }
    CHECK(pthread_setattr_default_np(&old) == 0);
    pthread_attr_destroy(&huge);
    pthread_attr_destroy(&old);
    /* and threads work again */
    created = pthread_create(&t, NULL, noop_thread, NULL) == 0;
    CHECK(created);
    if (created) pthread_join(t, NULL);
}

/* ---- building blocks of the extension ------------------------------------ */

static void test_transpose(ward_rng *rng) {
    ward_block m[128], t[128];
    for (int trial = 0; trial < 20; trial++) {
        ward_rng_bytes(rng, (uint8_t *)m, sizeof m);
        if (trial == 0) memset(m, 0, sizeof m);
        if (trial == 1) { /* the identity matrix */
            memset(m, 0, sizeof m);
            for (int i = 0; i < 128; i++) m[i].b[i / 8] = (uint8_t)(1 << (i % 8));
        }
        memcpy(t, m, sizeof m);
        ward_bitmatrix_transpose128(t);
        int bad = 0;
        for (int i = 0; i < 128; i++)
            for (int j = 0; j < 128; j++) bad += getbit(t[j].b, (size_t)i) != getbit(m[i].b, (size_t)j);
        CHECK(bad == 0);
        ward_bitmatrix_transpose128(t);
        CHECK_MEM(t, m, sizeof m);
    }
}

/* Shift-and-add multiplication in GF(2^128), bit by bit. */
static void gf_naive(ward_block *out, const ward_block *a, const ward_block *b) {
    uint8_t acc[16] = {0}, v[16];
    memcpy(v, a->b, 16);
    for (int i = 0; i < 128; i++) {
        if (getbit(b->b, (size_t)i))
            for (int k = 0; k < 16; k++) acc[k] ^= v[k];
        /* v *= X */
        int top = v[15] >> 7;
        for (int k = 15; k > 0; k--) v[k] = (uint8_t)((v[k] << 1) | (v[k - 1] >> 7));
        v[0] = (uint8_t)(v[0] << 1);
        if (top) v[0] ^= 0x87;
    }
    memcpy(out->b, acc, 16);
}

static void test_gf128(ward_rng *rng) {
    ward_block a, b, c, w;
    for (int t = 0; t < 2000; t++) {
        ward_rng_bytes(rng, a.b, 16);
        ward_rng_bytes(rng, b.b, 16);
        if (t == 0) memset(a.b, 0xff, 16), memset(b.b, 0xff, 16);
        ward_gf128_mul(&c, &a, &b);
        gf_naive(&w, &a, &b);
        CHECK_MEM(c.b, w.b, 16);
    }
    /* X^127 * X = X^128 = X^7 + X^2 + X + 1 */
    memset(a.b, 0, 16);
    memset(b.b, 0, 16);
    a.b[15] = 0x80;
    b.b[0] = 2;
    ward_gf128_mul(&c, &a, &b);
    memset(w.b, 0, 16);
    w.b[0] = 0x87;
    CHECK_MEM(c.b, w.b, 16);
    /* 1 is the unit */
    memset(b.b, 0, 16);
    b.b[0] = 1;
    ward_rng_bytes(rng, a.b, 16);
    ward_gf128_mul(&c, &a, &b);
    CHECK_MEM(c.b, a.b, 16);
}

/* ---- IKNP ------------------------------------------------------------------ */

typedef struct {
    ward_otx_sender s;
    ward_otx_receiver r;
    ward_block delta;
} otx_pair;

static void pair_init(otx_pair *p, ward_rng *rng, const uint8_t sid[32], int real_base) {
    ward_block s0[128], s1[128], ss[128];
    ward_rng_bytes(rng, p->delta.b, 16);
    if (real_base) {
        /* The extension receiver is the base-OT sender. */
        ward_baseot_sender bs;
        ward_baseot_receiver br;
        uint8_t *msg = malloc(WARD_BASEOT_RECV_MSG_BYTES(128)), B[32];
        size_t len;
        CHECK_RC(ward_baseot_sender_init(&bs, rng, sid, 128), WARD_OK);
        CHECK_RC(ward_baseot_receiver_init(&br, rng, sid, p->delta.b, 128), WARD_OK);
        CHECK_RC(ward_baseot_receiver_msg(&br, msg, WARD_BASEOT_RECV_MSG_BYTES(128), &len), WARD_OK);
        CHECK_RC(ward_baseot_sender_msg(&bs, B), WARD_OK);
        CHECK_RC(ward_baseot_sender_finish(&bs, s0, s1, 128, msg, len), WARD_OK);
        CHECK_RC(ward_baseot_receiver_finish(&br, ss, 128, B, 32), WARD_OK);
        ward_baseot_sender_clear(&bs);
        ward_baseot_receiver_clear(&br);
        free(msg);
    } else {
        ward_rng_bytes(rng, (uint8_t *)s0, sizeof s0);
        ward_rng_bytes(rng, (uint8_t *)s1, sizeof s1);
        for (int j = 0; j < 128; j++) ss[j] = getbit(p->delta.b, (size_t)j) ? s1[j] : s0[j];
    }
    CHECK_RC(ward_otx_sender_init(&p->s, sid, &p->delta, ss), WARD_OK);
    CHECK_RC(ward_otx_receiver_init(&p->r, sid, s0, s1), WARD_OK);
}

static void pair_clear(otx_pair *p) {
    ward_otx_sender_clear(&p->s);
    ward_otx_receiver_clear(&p->r);
}

/* One honest extension of m OTs with the given choices; checks the
 * correlation, random OTs and chosen-message OTs. */
static void extend_and_check(otx_pair *p, ward_rng *rng, const uint8_t *choices, size_t m,
                             uint64_t index0) {
    size_t ulen = ward_otx_u_bytes(m);
    CHECK_EQ_U64(ulen, 16 * (((m + 127) / 128) * 128 + 256));
    uint8_t *u = malloc(ulen), chal[16], chk[32];
    ward_block *t = malloc(m * sizeof *t), *q = malloc(m * sizeof *q);
    CHECK_RC(ward_otx_recv_extend(&p->r, rng, u, ulen, t, choices, m), WARD_OK);
    CHECK_RC(ward_otx_send_extend(&p->s, rng, q, chal, m, u, ulen), WARD_OK);
    CHECK_RC(ward_otx_recv_check(&p->r, chk, t, choices, m, chal, 16), WARD_OK);
    CHECK_RC(ward_otx_send_verify(&p->s, q, m, chk, 32), WARD_OK);
    free(u);

    int bad = 0;
    for (size_t i = 0; i < m; i++) {
        int c = getbit(choices, i);
        for (int k = 0; k < 16; k++)
            bad += t[i].b[k] != (uint8_t)(q[i].b[k] ^ (c ? p->delta.b[k] : 0));
    }
    CHECK(bad == 0);

    /* random OT */
    ward_block *o0 = malloc(m * sizeof *o0), *o1 = malloc(m * sizeof *o1),
               *orr = malloc(m * sizeof *orr);
    CHECK_RC(ward_otx_send_random(&p->s, o0, o1, q, m, index0), WARD_OK);
    CHECK_RC(ward_otx_recv_random(&p->r, orr, t, m, index0), WARD_OK);
    bad = 0;
    for (size_t i = 0; i < m; i++) {
        int c = getbit(choices, i);
        bad += memcmp(orr[i].b, (c ? o1 : o0)[i].b, 16) != 0;
        bad += memcmp(orr[i].b, (c ? o0 : o1)[i].b, 16) == 0;
    }
    CHECK(bad == 0);

    /* chosen-message OT */
    ward_rng_bytes(rng, (uint8_t *)o0, m * sizeof *o0);
    ward_rng_bytes(rng, (uint8_t *)o1, m * sizeof *o1);
    uint8_t *y = malloc(32 * m);
    CHECK_RC(ward_otx_send_chosen(&p->s, y, 32 * m, o0, o1, q, m, index0 + m), WARD_OK);
    CHECK_RC(ward_otx_recv_chosen(&p->r, orr, choices, t, m, index0 + m, y, 32 * m), WARD_OK);
    bad = 0;
    for (size_t i = 0; i < m; i++) bad += memcmp(orr[i].b, (getbit(choices, i) ? o1 : o0)[i].b, 16) != 0;
    CHECK(bad == 0);
    CHECK_RC(ward_otx_recv_chosen(&p->r, orr, choices, t, m, index0 + m, y, 32 * m - 1), WARD_ETRUNC);
    free(y);
    free(o0);
    free(o1);
    free(orr);
    free(t);
    free(q);
}

static void test_iknp(ward_rng *rng) {
    uint8_t sid[32];
    ward_rng_bytes(rng, sid, 32);
    otx_pair p;
    pair_init(&p, rng, sid, 1);
    static const size_t lens[] = {1, 2, 7, 127, 128, 129, 255, 256, 1000, 1023, 1025, 100000};
    uint8_t *ch = malloc(100000 / 8 + 1);
    uint64_t index = 0;
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t m = lens[k], nb = (m + 7) / 8;
        for (int pattern = 0; pattern < 4; pattern++) {
            if (m == 100000 && pattern != 3) continue; /* the large one once */
            if (pattern == 0) memset(ch, 0, nb);
            if (pattern == 1) memset(ch, 0xff, nb);
            if (pattern == 2) memset(ch, 0x55, nb);
            if (pattern == 3) ward_rng_bytes(rng, ch, nb);
            /* bits beyond m must not matter */
            if (m % 8) ch[nb - 1] ^= (uint8_t)(0xff << (m % 8));
            extend_and_check(&p, rng, ch, m, index);
            index += 2 * m;
        }
    }
    free(ch);
    pair_clear(&p);

    /* a pair from seeds rather than a real base OT, Delta with lsb 1 (the
     * garbling case) */
    pair_init(&p, rng, sid, 0);
    uint8_t c3[16];
    ward_rng_bytes(rng, c3, sizeof c3);
    extend_and_check(&p, rng, c3, 128, 0);
    pair_clear(&p);
}

/* ---- KOS: cheating and malformed messages --------------------------------- */

enum { CHEAT_NONE, CHEAT_COLUMN, CHEAT_CHECK, CHEAT_CHALLENGE, CHEAT_CHOICES };

/* Runs one extension of m OTs where the receiver cheats as told; returns
 * the verify result. col: the column whose bits are flipped. */
static int cheat_run(otx_pair *p, ward_rng *rng, size_t m, int how, int col, size_t rows) {
    size_t ulen = ward_otx_u_bytes(m);
    uint8_t *u = malloc(ulen), chal[16], chk[32], *ch = malloc((m + 7) / 8);
    ward_block *t = malloc(m * sizeof *t), *q = malloc(m * sizeof *q);
    ward_rng_bytes(rng, ch, (m + 7) / 8);
    CHECK_RC(ward_otx_recv_extend(&p->r, rng, u, ulen, t, ch, m), WARD_OK);
    if (how == CHEAT_COLUMN) {
        /* Flip the bits of column `col` for `rows` rows: as if the receiver
         * had used other choice bits in that column only. */
        for (size_t i = 0; i < rows; i++) {
            size_t g = i / 128, bit = i % 128;
            u[g * 2048 + (size_t)col * 16 + bit / 8] ^= (uint8_t)(1 << (bit % 8));
        }
    }
    CHECK_RC(ward_otx_send_extend(&p->s, rng, q, chal, m, u, ulen), WARD_OK);
    if (how == CHEAT_CHALLENGE) chal[5] ^= 1;
    if (how == CHEAT_CHOICES) ch[0] ^= 1;
    CHECK_RC(ward_otx_recv_check(&p->r, chk, t, ch, m, chal, 16), WARD_OK);
    if (how == CHEAT_CHECK) chk[20] ^= 0x40;
    int rc = ward_otx_send_verify(&p->s, q, m, chk, 32);
    if (rc != WARD_OK) CHECK(sodium_is_zero((const uint8_t *)q, m * sizeof *q));
    free(u);
    free(ch);
    free(t);
    free(q);
    return rc;
}

static void test_kos(ward_rng *rng) {
    uint8_t sid[32] = {7};
    otx_pair p;
    int caught = 0, tried = 0;
    for (int trial = 0; trial < 24; trial++) {
        pair_init(&p, rng, sid, 0);
        /* a column where Delta is 1 */
        int col = (int)ward_rng_uniform(rng, 128);
        while (!getbit(p.delta.b, (size_t)col)) col = (col + 1) % 128;
        size_t m = trial % 2 ? 1000 : 129;
        size_t rows = trial % 3 == 0 ? 1 : 1 + (size_t)ward_rng_uniform(rng, m);
        int rc = cheat_run(&p, rng, m, CHEAT_COLUMN, col, rows);
        CHECK_RC(rc, WARD_EDECRYPT);
        caught += rc == WARD_EDECRYPT;
        tried++;
        /* closed for good */
        uint8_t u[16], chal[16];
        ward_block q[1];
        CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, 1, u, sizeof u), WARD_ECLOSED);
        pair_clear(&p);
    }
    printf("ot: KOS check caught %d of %d one-column cheats\n", caught, tried);

    /* Flipping a column where Delta is 0 changes nothing the sender uses:
     * the check passes and the OTs stay correct. This is the 1/2 chance of
     * going unnoticed per guessed bit that KOS accounts for. */
    pair_init(&p, rng, sid, 0);
    int col = 0;
    while (getbit(p.delta.b, (size_t)col)) col++;
    CHECK_RC(cheat_run(&p, rng, 300, CHEAT_COLUMN, col, 300), WARD_OK);
    pair_clear(&p);

    /* The cheat in padding rows only (beyond m) is caught as well. */
    pair_init(&p, rng, sid, 0);
    col = 0;
    while (!getbit(p.delta.b, (size_t)col)) col++;
    {
        size_t m = 10, ulen = ward_otx_u_bytes(m);
        uint8_t *u = malloc(ulen), chal[16], chk[32], ch[2] = {0x3, 0x1};
        ward_block t[10], q[10];
        CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_OK);
        u[2 * 2048 + (size_t)col * 16 + 3] ^= 0x10; /* row 256 + 28 */
        CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen), WARD_OK);
        CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 16), WARD_OK);
        CHECK_RC(ward_otx_send_verify(&p.s, q, m, chk, 32), WARD_EDECRYPT);
        free(u);
    }
    pair_clear(&p);

    static const int hows[] = {CHEAT_CHECK, CHEAT_CHALLENGE, CHEAT_CHOICES};
    for (size_t k = 0; k < 3; k++) {
        pair_init(&p, rng, sid, 0);
        CHECK_RC(cheat_run(&p, rng, 500, hows[k], 0, 0), WARD_EDECRYPT);
        pair_clear(&p);
    }
    /* and the honest run passes, many times over one pair */
    pair_init(&p, rng, sid, 0);
    for (int k = 0; k < 10; k++) CHECK_RC(cheat_run(&p, rng, 1 + 97 * (size_t)k, CHEAT_NONE, 0, 0), WARD_OK);
    pair_clear(&p);
}

static void test_otx_malformed(ward_rng *rng) {
    uint8_t sid[32] = {8};
    otx_pair p;
    size_t m = 200, ulen = ward_otx_u_bytes(m);
    uint8_t *u = malloc(ulen + 1), chal[17], chk[33], ch[25] = {0};
    ward_block t[200], q[200];

    /* U too short, too long */
    pair_init(&p, rng, sid, 0);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_OK);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_ESTATE);
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen - 1), WARD_ETRUNC);
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen), WARD_ECLOSED);
    pair_clear(&p);
    pair_init(&p, rng, sid, 0);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen + 1, t, ch, m), WARD_OK);
    u[ulen] = 0;
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen + 1), WARD_EPARSE);
    pair_clear(&p);
    /* challenge and check of the wrong length */
    pair_init(&p, rng, sid, 0);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_OK);
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen), WARD_OK);
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen), WARD_ESTATE);
    CHECK_RC(ward_otx_send_random(&p.s, q, q, q, m, 0), WARD_ESTATE);
    CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 15), WARD_ETRUNC);
    CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 16), WARD_ECLOSED);
    CHECK_RC(ward_otx_send_verify(&p.s, q, m, chk, 31), WARD_ETRUNC);
    CHECK_RC(ward_otx_send_verify(&p.s, q, m, chk, 32), WARD_ECLOSED);
    pair_clear(&p);
    pair_init(&p, rng, sid, 0);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_OK);
    CHECK_RC(ward_otx_send_extend(&p.s, rng, q, chal, m, u, ulen), WARD_OK);
    chal[16] = 0;
    CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 17), WARD_EPARSE);
    CHECK_RC(ward_otx_send_verify(&p.s, q, m, chk, 33), WARD_EPARSE);
    pair_clear(&p);
    /* misuse */
    pair_init(&p, rng, sid, 0);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen - 1, t, ch, m), WARD_EINVAL);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, 0), WARD_EINVAL);
    CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m, chal, 16), WARD_ESTATE);
    CHECK_RC(ward_otx_send_verify(&p.s, q, m, chk, 32), WARD_ESTATE);
    CHECK_RC(ward_otx_recv_extend(&p.r, rng, u, ulen, t, ch, m), WARD_OK);
    CHECK_RC(ward_otx_recv_check(&p.r, chk, t, ch, m + 1, chal, 16), WARD_EINVAL);
    ward_otx_sender s2;
    CHECK_RC(ward_otx_sender_init(&s2, sid, NULL, q), WARD_EINVAL);
    CHECK_RC(ward_otx_send_random(&s2, q, q, q, 1, 0), WARD_ECLOSED);
    pair_clear(&p);
    ward_otx_sender_clear(NULL);
    ward_otx_receiver_clear(NULL);
    free(u);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    if (ward_gc_cpu_check() != WARD_OK) {
        printf("ot: CPU without AES-NI/PCLMUL, nothing to test\n");
        return check_done("ot");
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x6f74ull);
    test_base_honest(&rng);
    test_base_spec(&rng);
    test_base_malformed(&rng);
    test_base_threads();
    test_transpose(&rng);
    test_gf128(&rng);
    test_iknp(&rng);
    test_kos(&rng);
    test_otx_malformed(&rng);
    ward_rng_clear(&rng);
    return check_done("ot");
}
