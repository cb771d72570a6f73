/* Fixed-key AES and the tweakable hash: FIPS-197 known answers, agreement
 * with OpenSSL's AES-128-ECB on random keys and lengths (every batch-size
 * path), counter mode, sigma's definition and linearity, and H against its
 * formula pi(sigma(x) ^ i) ^ sigma(x). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "error.h"
#include "gc_hash.h"
#include "rng.h"

static void unhex(uint8_t *out, size_t n, const char *hex) {
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void openssl_ecb(uint8_t *out, const uint8_t key[16], const uint8_t *in, size_t len) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    CHECK(ctx != NULL);
    if (!ctx) return;
    CHECK(EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) == 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    CHECK(EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1);
    CHECK((size_t)n == len);
    EVP_CIPHER_CTX_free(ctx);
}

static void test_fips197(void) {
    static const struct {
        const char *key, *pt, *ct;
    } kat[] = {
        /* Appendix C.1 */
        {"000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
         "69c4e0d86a7b0430d8cdb78070b4c55a"},
        /* Appendix B */
        {"2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734",
         "3925841d02dc09fbdc118597196a0b32"},
        /* all-zero key and block (the garbled AES circuit's known answer) */
        {"00000000000000000000000000000000", "00000000000000000000000000000000",
         "66e94bd4ef8a2c3b884cfa59ca342b2e"},
    };
    for (size_t v = 0; v < sizeof kat / sizeof kat[0]; v++) {
        uint8_t key[16], want[16];
        ward_block pt, ct;
        unhex(key, 16, kat[v].key);
        unhex(pt.b, 16, kat[v].pt);
        unhex(want, 16, kat[v].ct);
        ward_aes128 k;
        CHECK_RC(ward_aes128_init(&k, key), WARD_OK);
        ward_aes128_ecb(&k, &ct, &pt, 1);
        CHECK_MEM(ct.b, want, 16);
        /* the same block in every lane of a batch of 8 and of 13 */
        ward_block many[13], outs[13];
        for (int i = 0; i < 13; i++) many[i] = pt;
        ward_aes128_ecb(&k, outs, many, 13);
        for (int i = 0; i < 13; i++) CHECK_MEM(outs[i].b, want, 16);
        ward_aes128_clear(&k);
    }
    /* Appendix A.1: the last round key of the key expansion. */
    uint8_t key[16], last[16];
    unhex(key, 16, "2b7e151628aed2a6abf7158809cf4f3c");
    unhex(last, 16, "d014f9a8c9ee2589e13f0cc8b6630ca6");
    ward_aes128 k;
    CHECK_RC(ward_aes128_init(&k, key), WARD_OK);
    CHECK_MEM(k.rk[10], last, 16);
    CHECK_MEM(k.rk[0], key, 16);
    ward_aes128_clear(&k);
    static const uint8_t zero[sizeof k.rk] = {0};
    CHECK_MEM(k.rk, zero, sizeof zero);
}

static void test_vs_openssl(ward_rng *rng) {
    enum { MAXN = 70 };
    ward_block in[MAXN], out[MAXN], alias[MAXN];
    uint8_t want[MAXN * 16];
    for (int trial = 0; trial < 400; trial++) {
        uint8_t key[16];
        ward_rng_bytes(rng, key, 16);
        size_t n = (size_t)ward_rng_uniform(rng, MAXN + 1);
        ward_rng_bytes(rng, (uint8_t *)in, sizeof in);
        ward_aes128 k;
        CHECK_RC(ward_aes128_init(&k, key), WARD_OK);
        ward_aes128_ecb(&k, out, in, n);
        if (n) openssl_ecb(want, key, (const uint8_t *)in, n * 16);
        CHECK(n == 0 || memcmp(out, want, n * 16) == 0);
        memcpy(alias, in, sizeof in);
        ward_aes128_ecb(&k, alias, alias, n);
        CHECK(n == 0 || memcmp(alias, want, n * 16) == 0);
        /* counter mode = ECB of the counter blocks */
        uint64_t ctr = ward_rng_u64(rng);
        if (trial % 3 == 0) ctr = UINT64_MAX - (uint64_t)ward_rng_uniform(rng, 8);
        for (size_t i = 0; i < n; i++) {
            memset(in[i].b, 0, 16);
            uint64_t c = ctr + i;
            for (int b = 0; b < 8; b++) in[i].b[b] = (uint8_t)(c >> (8 * b));
        }
        ward_aes128_ctr(&k, out, n, ctr);
        if (n) openssl_ecb(want, key, (const uint8_t *)in, n * 16);
        CHECK(n == 0 || memcmp(out, want, n * 16) == 0);
        ward_aes128_clear(&k);
    }
}

static uint64_t lo64(const ward_block *x) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)x->b[i] << (8 * i);
    return v;
}

static uint64_t hi64(const ward_block *x) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)x->b[8 + i] << (8 * i);
    return v;
}

static void set64(ward_block *x, uint64_t hi, uint64_t lo) {
    for (int i = 0; i < 8; i++) {
        x->b[i] = (uint8_t)(lo >> (8 * i));
        x->b[8 + i] = (uint8_t)(hi >> (8 * i));
    }
}

static void test_sigma(ward_rng *rng) {
    ward_block x, y, s, t, u;
    set64(&x, 0x0123456789abcdefull, 0xfedcba9876543210ull);
    ward_block_sigma(&s, &x);
    CHECK_EQ_U64(hi64(&s), 0x0123456789abcdefull ^ 0xfedcba9876543210ull);
    CHECK_EQ_U64(lo64(&s), 0x0123456789abcdefull);
    for (int i = 0; i < 1000; i++) {
        ward_rng_bytes(rng, x.b, 16);
        ward_rng_bytes(rng, y.b, 16);
        ward_block_sigma(&s, &x);
        CHECK_EQ_U64(hi64(&s), hi64(&x) ^ lo64(&x));
        CHECK_EQ_U64(lo64(&s), hi64(&x));
        /* linear: sigma(x ^ y) = sigma(x) ^ sigma(y) */
        ward_block xy;
        for (int b = 0; b < 16; b++) xy.b[b] = x.b[b] ^ y.b[b];
        ward_block_sigma(&t, &y);
        ward_block_sigma(&u, &xy);
        for (int b = 0; b < 16; b++) CHECK(u.b[b] == (s.b[b] ^ t.b[b]));
        /* orthomorphism: x -> sigma(x) ^ x is (lo || hi ^ lo), a bijection */
        CHECK_EQ_U64(hi64(&s) ^ hi64(&x), lo64(&x));
        CHECK_EQ_U64(lo64(&s) ^ lo64(&x), hi64(&x) ^ lo64(&x));
    }
}

static void test_tccrh(ward_rng *rng) {
    enum { MAXN = 40 };
    uint8_t key[16];
    ward_rng_bytes(rng, key, 16);
    ward_tccrh h;
    ward_aes128 pi;
    CHECK_RC(ward_tccrh_init(&h, key), WARD_OK);
    CHECK_RC(ward_aes128_init(&pi, key), WARD_OK);
    ward_block in[MAXN], tw[MAXN], out[MAXN], seq[MAXN], want[MAXN];
    for (int trial = 0; trial < 300; trial++) {
        size_t n = (size_t)ward_rng_uniform(rng, MAXN + 1);
        uint64_t t0 = ward_rng_u64(rng);
        ward_rng_bytes(rng, (uint8_t *)in, sizeof in);
        ward_rng_bytes(rng, (uint8_t *)tw, sizeof tw);
        for (size_t i = 0; i < n; i++) {
            ward_block s, x;
            ward_block_sigma(&s, &in[i]);
            for (int b = 0; b < 16; b++) x.b[b] = s.b[b] ^ tw[i].b[b];
            ward_aes128_ecb(&pi, &want[i], &x, 1);
            for (int b = 0; b < 16; b++) want[i].b[b] ^= s.b[b];
        }
        ward_tccrh_hash(&h, out, in, tw, n);
        CHECK(n == 0 || memcmp(out, want, n * 16) == 0);
        /* integer tweaks */
        for (size_t i = 0; i < n; i++) set64(&tw[i], 0, t0 + i);
        ward_tccrh_hash(&h, out, in, tw, n);
        ward_tccrh_hash_seq(&h, seq, in, n, t0);
        CHECK(n == 0 || memcmp(out, seq, n * 16) == 0);
        /* in place */
        memcpy(seq, in, sizeof in);
        ward_tccrh_hash_seq(&h, seq, seq, n, t0);
        CHECK(n == 0 || memcmp(out, seq, n * 16) == 0);
    }
    /* Different tweaks or keys give different outputs. */
    ward_block x, a, b;
    ward_rng_bytes(rng, x.b, 16);
    ward_tccrh_hash_seq(&h, &a, &x, 1, 0);
    ward_tccrh_hash_seq(&h, &b, &x, 1, 1);
    CHECK(memcmp(a.b, b.b, 16) != 0);
    key[0] ^= 1;
    ward_tccrh h2;
    CHECK_RC(ward_tccrh_init(&h2, key), WARD_OK);
    ward_tccrh_hash_seq(&h2, &b, &x, 1, 0);
    CHECK(memcmp(a.b, b.b, 16) != 0);
    /* H(x) ^ H(x ^ d) for a fixed d must not be constant in x (the
     * correlation a circular-correlation-robust hash must hide). */
    ward_block d, x2, h1[2], h2v[2];
    ward_rng_bytes(rng, d.b, 16);
    ward_rng_bytes(rng, x2.b, 16);
    ward_block pair[2] = {x, x2}, pd[2];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 16; k++) pd[i].b[k] = pair[i].b[k] ^ d.b[k];
    ward_tccrh_hash_seq(&h, h1, pair, 2, 7);
    ward_tccrh_hash_seq(&h, h2v, pd, 2, 7);
    int same = 1;
    for (int k = 0; k < 16; k++)
        same &= (h1[0].b[k] ^ h2v[0].b[k]) == (h1[1].b[k] ^ h2v[1].b[k]);
    CHECK(!same);
    ward_aes128_clear(&pi);
}

static void test_args(void) {
    uint8_t key[16] = {0};
    ward_aes128 k;
    ward_tccrh h;
    CHECK_RC(ward_aes128_init(NULL, key), WARD_EINVAL);
    CHECK_RC(ward_aes128_init(&k, NULL), WARD_EINVAL);
    CHECK_RC(ward_tccrh_init(NULL, key), WARD_EINVAL);
    CHECK_RC(ward_tccrh_init(&h, NULL), WARD_EINVAL);
    ward_aes128_clear(NULL);
}

int main(void) {
    if (ward_gc_cpu_check() != WARD_OK) {
        printf("gc-hash: CPU without AES-NI/PCLMUL, nothing to test\n");
        CHECK_RC(ward_aes128_init(&(ward_aes128){0}, (const uint8_t[16]){0}), WARD_EUNSUPPORTED);
        return check_done("gc-hash");
    }
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x6768617368ull);
    test_fips197();
    test_vs_openssl(&rng);
    test_sigma(&rng);
    test_tccrh(&rng);
    test_args();
    ward_rng_clear(&rng);
    return check_done("gc-hash");
}
