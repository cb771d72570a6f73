/* `ward bench noise`: the Noise channel's costs.
 *
 * Figures:
 *   transport_bytes_per_s        payload bytes per second through one
 *                                CipherState encrypt and the peer's decrypt
 *                                (ChaChaPoly, in place), 16 KiB messages;
 *   transport_bytes_per_s_1k     the same with 1 KiB messages;
 *   transport_bytes_per_s_max    the same with 65519-byte messages (the
 *                                largest payload of a 65535-byte message);
 *       each anchored by raw libsodium ChaCha20-Poly1305 (IETF) encrypt and
 *       decrypt of the same buffer size, measured in the same run;
 *   handshakes_per_s             complete Noise_KK_25519_ChaChaPoly_SHA256
 *                                handshakes (both sides, Split included) in
 *                                one process, anchored by the X25519 work a
 *                                KK handshake cannot avoid (4 base-point and
 *                                8 variable-point multiplications), measured
 *                                alone in the same run.
 * Each figure is the best of several timed batches; raw and engine batches
 * alternate so that frequency changes hit both alike.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "error.h"
#include "noise.h"
#include "rng.h"

#define BATCHES 3        /* --quick */
#define BATCHES_FULL 5

static const char anchor_raw[] = "raw ChaCha20-Poly1305 (libsodium), same run";
static const char anchor_dh[] =
    "X25519 alone (4 base + 8 DH per handshake), same run";

/* Seconds for `reps` engine round trips of `len` bytes. */
static double time_engine(uint8_t *buf, size_t cap, size_t len, size_t reps,
                          const uint8_t key[32], int *err) {
    ward_noise_cipherstate tx, rx;
    size_t n, m;
    ward_noise_cipher_init(&tx, WARD_NOISE_CIPHER_CHACHAPOLY, key);
    ward_noise_cipher_init(&rx, WARD_NOISE_CIPHER_CHACHAPOLY, key);
    double t0 = ward_bench_now();
    for (size_t i = 0; i < reps; i++) {
        int rc = ward_noise_cipher_encrypt(&tx, buf, cap, &n, NULL, 0, buf, len);
        if (rc == WARD_OK)
            rc = ward_noise_cipher_decrypt(&rx, buf, cap, &m, NULL, 0, buf, n);
        if (rc != WARD_OK) {
            *err = rc;
            break;
        }
        ward_bench_sink(buf, len);
    }
    double dt = ward_bench_now() - t0;
    ward_noise_cipher_clear(&tx);
    ward_noise_cipher_clear(&rx);
    return dt;
}

/* The same work straight through libsodium, with the same nonce layout. */
static double time_raw(uint8_t *buf, size_t len, size_t reps,
                       const uint8_t key[32], int *err) {
    uint8_t npub[12] = {0};
    unsigned long long clen, mlen;
    double t0 = ward_bench_now();
    for (uint64_t i = 0; i < reps; i++) {
        for (int b = 0; b < 8; b++) npub[4 + b] = (uint8_t)(i >> (8 * b));
        crypto_aead_chacha20poly1305_ietf_encrypt(buf, &clen, buf, len, NULL, 0,
                                                  NULL, npub, key);
        if (crypto_aead_chacha20poly1305_ietf_decrypt(buf, &mlen, NULL, buf, clen,
                                                      NULL, 0, npub, key) != 0) {
            *err = WARD_EDECRYPT;
            break;
        }
        ward_bench_sink(buf, len);
    }
    return ward_bench_now() - t0;
}

static int bench_transport(ward_bench_report *r, uint8_t *buf, size_t cap,
                           const uint8_t key[32], size_t len, const char *name) {
    size_t target = r->quick ? ((size_t)16 << 20) : ((size_t)128 << 20);
    size_t reps = target / len;
    if (reps < 16) reps = 16;
    double best_raw = 1e300, best_eng = 1e300;
    int err = WARD_OK;
    int batches = r->quick ? BATCHES : BATCHES_FULL;
    memset(buf, 0x5a, len);
    for (int b = 0; b < batches && err == WARD_OK; b++) {
        double t = time_raw(buf, len, reps, key, &err);
        if (t < best_raw) best_raw = t;
        t = time_engine(buf, cap, len, reps, key, &err);
        if (t < best_eng) best_eng = t;
    }
    if (err != WARD_OK) return err;
    double bytes = (double)len * (double)reps;
    ward_bench_add(r, name, bytes / best_eng, "B/s", anchor_raw, bytes / best_raw);
    return WARD_OK;
}

typedef struct {
    uint8_t i_priv[32], i_pub[32], r_priv[32], r_pub[32];
    ward_rng rng;
} hs_ctx;

static int one_handshake(hs_ctx *c) {
    ward_noise_handshake hi, hr;
    ward_noise_cipherstate is, ir, rs, rr;
    uint8_t m1[64], m2[64];
    size_t n1, n2, n;
    int rc = ward_noise_kk_init(&hi, 1, c->i_priv, c->r_pub, NULL, 0, &c->rng);
    if (rc == WARD_OK)
        rc = ward_noise_kk_init(&hr, 0, c->r_priv, c->i_pub, NULL, 0, &c->rng);
    if (rc == WARD_OK) rc = ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0);
    if (rc == WARD_OK) rc = ward_noise_handshake_read(&hr, NULL, 0, &n, m1, n1);
    if (rc == WARD_OK) rc = ward_noise_handshake_write(&hr, m2, sizeof m2, &n2, NULL, 0);
    if (rc == WARD_OK) rc = ward_noise_handshake_read(&hi, NULL, 0, &n, m2, n2);
    if (rc == WARD_OK) rc = ward_noise_handshake_split(&hi, &is, &ir);
    if (rc == WARD_OK) rc = ward_noise_handshake_split(&hr, &rs, &rr);
    if (rc == WARD_OK) ward_bench_sink(is.k, sizeof is.k);
    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);
    ward_noise_cipher_clear(&is);
    ward_noise_cipher_clear(&ir);
    ward_noise_cipher_clear(&rs);
    ward_noise_cipher_clear(&rr);
    return rc;
}

static void dh_work(hs_ctx *c) {
    uint8_t e[32], pub[32], out[32];
    for (int i = 0; i < 4; i++) {
        ward_rng_bytes(&c->rng, e, sizeof e);
        crypto_scalarmult_base(pub, e);
        ward_bench_sink(pub, sizeof pub);
    }
    for (int i = 0; i < 8; i++) {
        if (crypto_scalarmult(out, i % 2 ? c->i_priv : c->r_priv,
                              i % 2 ? c->r_pub : c->i_pub) == 0)
            ward_bench_sink(out, sizeof out);
    }
    sodium_memzero(e, sizeof e);
    sodium_memzero(out, sizeof out);
}

static int bench_handshakes(ward_bench_report *r) {
    hs_ctx c;
    int rc = ward_rng_init_system(&c.rng);
    if (rc == WARD_OK) rc = ward_noise_keypair(&c.rng, c.i_priv, c.i_pub);
    if (rc == WARD_OK) rc = ward_noise_keypair(&c.rng, c.r_priv, c.r_pub);
    size_t reps = r->quick ? 300 : 3000;
    double best_hs = 1e300, best_dh = 1e300;
    int batches = r->quick ? BATCHES : BATCHES_FULL;
    for (int b = 0; b < batches && rc == WARD_OK; b++) {
        double t0 = ward_bench_now();
        for (size_t i = 0; i < reps; i++) dh_work(&c);
        double t = ward_bench_now() - t0;
        if (t < best_dh) best_dh = t;
        t0 = ward_bench_now();
        for (size_t i = 0; i < reps && rc == WARD_OK; i++) rc = one_handshake(&c);
        t = ward_bench_now() - t0;
        if (t < best_hs) best_hs = t;
    }
    sodium_memzero(&c, sizeof c);
    if (rc != WARD_OK) return rc;
    ward_bench_add(r, "handshakes_per_s", (double)reps / best_hs, "handshakes/s",
                   anchor_dh, (double)reps / best_dh);
    return WARD_OK;
}

int ward_bench_noise(ward_bench_report *r) {
    WARD_ARG_CHECK(r != NULL);
    size_t cap = WARD_NOISE_MAX_MSG;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) return WARD_ENOMEM;
    uint8_t key[32];
    ward_rng rng;
    if (ward_rng_init_system(&rng) != WARD_OK) {
        free(buf);
        return WARD_EINVAL;
    }
    ward_rng_bytes(&rng, key, sizeof key);
    ward_rng_clear(&rng);

    int rc = bench_transport(r, buf, cap, key, 16384, "transport_bytes_per_s");
    if (rc == WARD_OK)
        rc = bench_transport(r, buf, cap, key, 1024, "transport_bytes_per_s_1k");
    if (rc == WARD_OK)
        rc = bench_transport(r, buf, cap, key, WARD_NOISE_MAX_PLAINTEXT,
                             "transport_bytes_per_s_max");
    if (rc == WARD_OK) rc = bench_handshakes(r);
    sodium_memzero(key, sizeof key);
    free(buf);
    return rc;
}
