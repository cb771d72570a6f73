/* Fuzzes the Noise read paths with bytes from a peer.
 *
 * Input layout: a 2-byte big-endian length L, then L bytes that a KK
 * responder (fixed keys) reads as the first handshake message; the rest is
 * a sequence of (2-byte big-endian length, chunk) transport messages. When
 * the handshake message is accepted, the responder completes the handshake
 * and the chunks go to its receiving CipherState; otherwise to a
 * ChaChaPoly CipherState under a fixed key. Every chunk also goes, in place,
 * to an AESGCM CipherState under a fixed key. A length running past the end
 * of the input is cut short. Nothing may crash, leak or read out of bounds
 * whatever the result codes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys, shared with the corpus generator. */
static void fuzz_key(uint8_t out[32], uint8_t tag) {
    for (int i = 0; i < 32; i++) out[i] = (uint8_t)(tag * 31 + i * 7 + 1);
}
#define FUZZ_TAG_INIT_STATIC 1
#define FUZZ_TAG_RESP_STATIC 2
#define FUZZ_TAG_RESP_EPHEMERAL 3
#define FUZZ_TAG_INIT_EPHEMERAL 4
#define FUZZ_TAG_TRANSPORT 5

static size_t take(const uint8_t **p, size_t *left, const uint8_t **chunk) {
    if (*left < 2) {
        *chunk = *p;
        size_t n = *left;
        *p += n;
        *left = 0;
        return n;
    }
    size_t n = ((size_t)(*p)[0] << 8) | (*p)[1];
    *p += 2;
    *left -= 2;
    if (n > *left) n = *left;
    *chunk = *p;
    *p += n;
    *left -= n;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t buf[WARD_NOISE_MAX_MSG + 1];
    static uint8_t work[WARD_NOISE_MAX_MSG + 1];
    uint8_t i_priv[32], i_pub[32], r_priv[32], r_eph[32], tkey[32];
    fuzz_key(i_priv, FUZZ_TAG_INIT_STATIC);
    fuzz_key(r_priv, FUZZ_TAG_RESP_STATIC);
    fuzz_key(r_eph, FUZZ_TAG_RESP_EPHEMERAL);
    fuzz_key(tkey, FUZZ_TAG_TRANSPORT);
    if (ward_noise_public_key(i_pub, i_priv) != 0) return 0;

    ward_noise_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.protocol_name = WARD_NOISE_KK_NAME;
    cfg.initiator = 0;
    cfg.local_static = r_priv;
    cfg.remote_static = i_pub;
    cfg.fixed_ephemeral = r_eph;

    ward_noise_handshake hs;
    ward_noise_cipherstate send, recv, gcm;
    const uint8_t *p = data, *chunk;
    size_t left = size, n, out_len;

    if (ward_noise_handshake_init(&hs, &cfg) != 0) return 0;
    n = take(&p, &left, &chunk);
    int rc = ward_noise_handshake_read(&hs, buf, sizeof buf, &out_len, chunk, n);
    if (rc == 0) {
        rc = ward_noise_handshake_write(&hs, buf, sizeof buf, &out_len, NULL, 0);
        if (rc == 0) rc = ward_noise_handshake_split(&hs, &send, &recv);
    }
    if (rc != 0) {
        ward_noise_cipher_init(&recv, WARD_NOISE_CIPHER_CHACHAPOLY, tkey);
        ward_noise_cipher_init(&send, WARD_NOISE_CIPHER_CHACHAPOLY, tkey);
    }
    ward_noise_handshake_clear(&hs);
    ward_noise_cipher_init(&gcm, WARD_NOISE_CIPHER_AESGCM, tkey);

    while (left > 0) {
        n = take(&p, &left, &chunk);
        ward_noise_cipher_decrypt(&recv, buf, sizeof buf, &out_len, NULL, 0,
                                  chunk, n);
        memcpy(work, chunk, n);
        ward_noise_cipher_decrypt(&gcm, work, sizeof work, &out_len,
                                  (const uint8_t *)"ad", 2, work, n);
    }
    ward_noise_cipher_clear(&send);
    ward_noise_cipher_clear(&recv);
    ward_noise_cipher_clear(&gcm);
    return 0;
}
