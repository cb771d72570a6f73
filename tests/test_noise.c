/* Noise engine: hash/HMAC/HKDF known answers, protocol name parsing, the
 * production KK handshake and its failure behaviour (fail closed), the
 * CipherState limits. The published vectors are in test_noise_vectors.c. */
#include <sodium.h>

#include "check.h"
#include "error.h"
#include "hex.h"
#include "noise.h"
#include "rng.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
    size_t n = 0;
    if (ward_hex_decode_var(out, cap, &n, hex, strlen(hex)) != WARD_OK) {
        fprintf(stderr, "bad hex in test: %s\n", hex);
        exit(2);
    }
    return n;
}

static int all_zero(const void *p, size_t n) {
    return sodium_is_zero((const unsigned char *)p, n);
}

/* ---- HMAC and HKDF known answers -------------------------------------- */

typedef struct {
    int hash;
    const char *case1, *case2, *case6;       /* RFC 4231 test cases 1, 2, 6 */
    const char *prk, *o1, *o2, *o3;          /* HKDF(0^HASHLEN, 0x0b * 22) */
} hash_kat;

/* SHA256 and SHA512 HMAC values are RFC 4231's; BLAKE2b values come from
 * Python's independent hmac + hashlib.blake2b. For SHA256, prk and o1 || o2
 * are RFC 5869 test case 3 (empty salt = HASHLEN zero bytes, empty info),
 * which is exactly Noise's HKDF with a zero chaining key. */
static const hash_kat kats[] = {
    {WARD_NOISE_HASH_SHA256,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
     "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d",
     "9d201395faa4b61a96c8b2fb61057244b36c6ddd287f634795e7d80d5fe26bfc",
     "36def6dc129c29271a0eb7ab14bd2ca88259f8a3a92ac2ec0e3e4fa046a4b90b"},
    {WARD_NOISE_HASH_SHA512,
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
     "fd200c4987ac491313bd4a2a13287121247239e11c9ef82802044b66ef357e5b194498d0682611382348572a7b1611de54764094286320578a863f36562b0df6",
     "f5fa02b18298a72a8c23898a8703472c6eb179dc204c03425c970e3b164bf90fff22d04836d0e2343bacc4e7cb6045faaa698e0e3b3eb91331306def1db8319e",
     "8a699b5ee45ab993847dc4df75bde023692c8c0710a67a55123f10a8b2d8327f9eb138da69d5bea1e09a39ea99a341c00b2c9ee0d4ba632115aec516bb71e922",
     "7cb00ca98b7dfa8f1c7eca60c931281fa85b872f70b4af4bc143f865477a6e873f3c91050370cb6adf5b9289c9f1d18bb572ae4773b3ff7eca9c0220f13974c1"},
    {WARD_NOISE_HASH_BLAKE2B,
     "358a6a184924894fc34bee5680eedf57d84a37bb38832f288e3b27dc63a98cc8c91e76da476b508bc6b2d408a248857452906e4a20b48c6b4b55d2df0fe1dd24",
     "6ff884f8ddc2a6586b3c98a4cd6ebdf14ec10204b6710073eb5865ade37a2643b8807c1335d107ecdb9ffeaeb6828c4625ba172c66379efcd222c2de11727ab4",
     "a54b2943b2a20227d41ca46c0945af09bc1faefb2f49894c23aebc557fb79c4889dca74408dc865086667aedee4a3185c53a49c80b814c4c5813ea0c8b38a8f8",
     "39db468c9289015fd163c86a299ef5a95942835aed7103a2b9f30cc796e2d0586fc284a024c25fb18699c78e47273346fa35f076ac315e5906fe170ba1877c63",
     "817520332f597bd8f557a4b40fddfe7674f1edac6c8a1a36fa0546b649bfae4a2ed3f34d03fdef572d515780475d1abac98e7c7079880fe6e4e91a714b5cca4d",
     "e894b07019568c0fffb84ed89457fbb98ef7dfdeb366829ce61c7d42a45928d9cf2451709b5fa184a857d90f1d272fc70e8296ade68cfcf1cf8e9770664148c6",
     "7a1440926bfb33a6e15fd28e32c56f4d6e74f0fd4d94ff1bd18850e73fb7af3c07d217335a7fa4dd3cf37c73ba78dfc6b672d6fd1139913d2d0a54b388192f4d"},
};

static void test_hash_kats(void) {
    uint8_t key[131], out[64], want[64], o1[64], o2[64], o3[64], ck[64];
    for (size_t i = 0; i < sizeof kats / sizeof kats[0]; i++) {
        const hash_kat *k = &kats[i];
        size_t hl = ward_noise_hash_len(k->hash);
        CHECK(hl == 32 || hl == 64);

        memset(key, 0x0b, 20);
        CHECK_RC(ward_noise_hmac(k->hash, out, hl, key, 20,
                                 (const uint8_t *)"Hi There", 8), 0);
        CHECK_EQ_U64(unhex(want, sizeof want, k->case1), hl);
        CHECK_MEM(out, want, hl);

        CHECK_RC(ward_noise_hmac(k->hash, out, hl, (const uint8_t *)"Jefe", 4,
                                 (const uint8_t *)"what do ya want for nothing?",
                                 28), 0);
        unhex(want, sizeof want, k->case2);
        CHECK_MEM(out, want, hl);

        /* A key longer than any block length is hashed first. */
        static const char msg6[] =
            "Test Using Larger Than Block-Size Key - Hash Key First";
        memset(key, 0xaa, 131);
        CHECK_RC(ward_noise_hmac(k->hash, out, hl, key, 131,
                                 (const uint8_t *)msg6, sizeof msg6 - 1), 0);
        unhex(want, sizeof want, k->case6);
        CHECK_MEM(out, want, hl);

        /* HKDF, two and three outputs. */
        memset(ck, 0, sizeof ck);
        memset(key, 0x0b, 22);
        CHECK_RC(ward_noise_hkdf(k->hash, o1, o2, o3, ck, key, 22), 0);
        unhex(want, sizeof want, k->o1);
        CHECK_MEM(o1, want, hl);
        unhex(want, sizeof want, k->o2);
        CHECK_MEM(o2, want, hl);
        unhex(want, sizeof want, k->o3);
        CHECK_MEM(o3, want, hl);
        memset(o3, 0x55, sizeof o3);
        CHECK_RC(ward_noise_hkdf(k->hash, o1, o2, NULL, ck, key, 22), 0);
        unhex(want, sizeof want, k->o2);
        CHECK_MEM(o2, want, hl);
        /* The first HKDF step is HMAC(ck, ikm) = the RFC 5869 PRK. */
        CHECK_RC(ward_noise_hmac(k->hash, out, hl, ck, hl, key, 22), 0);
        unhex(want, sizeof want, k->prk);
        CHECK_MEM(out, want, hl);
        /* Output aliasing the chaining key, as MixKey does. */
        CHECK_RC(ward_noise_hkdf(k->hash, ck, o2, NULL, ck, key, 22), 0);
        unhex(want, sizeof want, k->o1);
        CHECK_MEM(ck, want, hl);

        /* Argument checks. */
        CHECK_RC(ward_noise_hmac(k->hash, out, hl - 1, key, 1, key, 1), WARD_EINVAL);
        CHECK_RC(ward_noise_hkdf(k->hash, o1, o1, NULL, ck, key, 1), WARD_EINVAL);
    }
    /* SHA-256("abc") through HASH, as a sanity check of the plain hash. */
    uint8_t h[32];
    CHECK_RC(ward_noise_hash(WARD_NOISE_HASH_SHA256, h, 32,
                             (const uint8_t *)"abc", 3), 0);
    unhex(key, sizeof key,
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_MEM(h, key, 32);
    CHECK_EQ_U64(ward_noise_hash_len(99), 0);
    CHECK_RC(ward_noise_hash(99, h, 32, h, 1), WARD_EINVAL);
}

/* ---- protocol names ----------------------------------------------------- */

static void test_names(void) {
    ward_noise_protocol p;
    CHECK_RC(ward_noise_protocol_parse_var(&p, WARD_NOISE_KK_NAME), 0);
    CHECK(p.dh == WARD_NOISE_DH_25519);
    CHECK(p.cipher == WARD_NOISE_CIPHER_CHACHAPOLY);
    CHECK(p.hash == WARD_NOISE_HASH_SHA256);
    CHECK(strcmp(p.pattern.name, "KK") == 0);
    CHECK_EQ_U64(p.pattern.n_messages, 2);
    CHECK_EQ_U64(p.pattern.n_pre_init, 1);
    CHECK_EQ_U64(p.pattern.n_pre_resp, 1);
    CHECK_EQ_U64(p.pattern.n_tokens[0], 3);
    CHECK(p.pattern.tokens[0][0] == WARD_NOISE_TOK_E &&
          p.pattern.tokens[0][1] == WARD_NOISE_TOK_ES &&
          p.pattern.tokens[0][2] == WARD_NOISE_TOK_SS);
    CHECK(!p.pattern.one_way);
    CHECK_EQ_U64(p.name_len, strlen(WARD_NOISE_KK_NAME));

    CHECK_RC(ward_noise_protocol_parse_var(&p, "Noise_XXpsk0+psk3_25519_AESGCM_BLAKE2b"), 0);
    CHECK(p.cipher == WARD_NOISE_CIPHER_AESGCM && p.hash == WARD_NOISE_HASH_BLAKE2B);
    CHECK_EQ_U64(p.pattern.n_psks, 2);
    CHECK(p.pattern.tokens[0][0] == WARD_NOISE_TOK_PSK &&
          p.pattern.tokens[0][1] == WARD_NOISE_TOK_E);
    CHECK_EQ_U64(p.pattern.n_tokens[2], 3);
    CHECK(p.pattern.tokens[2][2] == WARD_NOISE_TOK_PSK);

    /* Modifier order in the name does not change where tokens go. */
    ward_noise_protocol q;
    CHECK_RC(ward_noise_protocol_parse_var(&q, "Noise_NNpsk1+psk0_25519_ChaChaPoly_SHA512"), 0);
    CHECK_EQ_U64(q.pattern.n_tokens[0], 3);
    CHECK(q.pattern.tokens[0][0] == WARD_NOISE_TOK_PSK &&
          q.pattern.tokens[0][1] == WARD_NOISE_TOK_E &&
          q.pattern.tokens[0][2] == WARD_NOISE_TOK_PSK);

    CHECK_RC(ward_noise_protocol_parse_var(&p, "Noise_N_25519_ChaChaPoly_SHA256"), 0);
    CHECK(p.pattern.one_way);
    CHECK_RC(ward_noise_protocol_parse_var(&p, "Noise_Xpsk1_25519_ChaChaPoly_SHA256"), 0);
    CHECK(p.pattern.tokens[0][p.pattern.n_tokens[0] - 1] == WARD_NOISE_TOK_PSK);
    CHECK_RC(ward_noise_protocol_parse_var(&p, "Noise_X1X1psk4_25519_ChaChaPoly_SHA256"), 0);

    /* Every table pattern parses with every supported suite. */
    CHECK_EQ_U64(ward_noise_pattern_count(), 38);
    for (size_t i = 0; i < ward_noise_pattern_count(); i++) {
        char name[128];
        snprintf(name, sizeof name, "Noise_%s_25519_ChaChaPoly_BLAKE2b",
                 ward_noise_pattern_name(i));
        CHECK_RC(ward_noise_protocol_parse_var(&p, name), 0);
    }
    CHECK(ward_noise_pattern_name(38) == NULL);

    static const char *unsupported[] = {
        "Noise_KK_448_ChaChaPoly_SHA256",
        "Noise_KK_25519_ChaChaPoly_BLAKE2s",
        "Noise_KK_25519_AESGCM_SHA3",
        "Noise_KK_25519_DES_SHA256",
        "Noise_ZZ_25519_ChaChaPoly_SHA256",
        "Noise_XXfallback_25519_ChaChaPoly_SHA256",
        "Noise_XXfallback+psk0_25519_ChaChaPoly_SHA256",
        "Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256",
        "Noise_NNpsk0_448_AESGCM_BLAKE2s",
        "Noise_KKPsk0_25519_ChaChaPoly_SHA256", /* pattern "KKP", modifier "sk0" */
    };
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++) {
        int rc = ward_noise_protocol_parse_var(&p, unsupported[i]);
        CHECK_RC(rc, WARD_EUNSUPPORTED);
        if (rc != WARD_EUNSUPPORTED) fprintf(stderr, "  name: %s\n", unsupported[i]);
    }

    char long_name[300];
    memset(long_name, 'A', sizeof long_name);
    memcpy(long_name, "Noise_", 6);
    long_name[sizeof long_name - 1] = '\0';
    const char *malformed[] = {
        "",
        "Noise",
        "Noise_",
        "noise_KK_25519_ChaChaPoly_SHA256",
        "Noise_KK_25519_ChaChaPoly",
        "Noise_KK_25519_ChaChaPoly_SHA256_",
        "Noise_KK_25519_ChaChaPoly_SHA256_extra",
        "Noise__25519_ChaChaPoly_SHA256",
        "Noise_KK__ChaChaPoly_SHA256",
        "Noise_KK_25519_Cha Cha_SHA256",
        "Noise_KKpsk0+_25519_ChaChaPoly_SHA256",
        "Noise_KK+psk0_25519_ChaChaPoly_SHA256",
        "Noise_KKpsk0+psk0_25519_ChaChaPoly_SHA256",
        "Noise_KKpsk0++psk2_25519_ChaChaPoly_SHA256",
        "Noise_NNpsk3_25519_ChaChaPoly_SHA256",   /* NN has two messages */
        "Noise_Npsk2_25519_ChaChaPoly_SHA256",
        "Noise_KKpsk_25519_ChaChaPoly_SHA256",
        "Noise_KKpskx_25519_ChaChaPoly_SHA256",
        "Noise_KKpsk01_25519_ChaChaPoly_SHA256",
        "Noise_kk_25519_ChaChaPoly_SHA256",
        long_name,
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        int rc = ward_noise_protocol_parse_var(&p, malformed[i]);
        CHECK_RC(rc, WARD_EPARSE);
        if (rc != WARD_EPARSE) fprintf(stderr, "  name: %s\n", malformed[i]);
    }
    CHECK_RC(ward_noise_protocol_parse_var(NULL, WARD_NOISE_KK_NAME), WARD_EINVAL);
    CHECK_RC(ward_noise_protocol_parse_var(&p, NULL), WARD_EINVAL);
}

/* ---- KK handshakes ------------------------------------------------------ */

typedef struct {
    uint8_t i_priv[32], i_pub[32], r_priv[32], r_pub[32];
} kk_keys;

static void make_keys(kk_keys *k, ward_rng *rng) {
    CHECK_RC(ward_noise_keypair(rng, k->i_priv, k->i_pub), 0);
    CHECK_RC(ward_noise_keypair(rng, k->r_priv, k->r_pub), 0);
}

/* A complete KK handshake; returns 0 when every step succeeded. */
static int kk_handshake(const kk_keys *k, ward_rng *rng,
                        ward_noise_cipherstate *i_send, ward_noise_cipherstate *i_recv,
                        ward_noise_cipherstate *r_send, ward_noise_cipherstate *r_recv) {
    ward_noise_handshake hi, hr;
    uint8_t m1[128], m2[128], h1[64], h2[64];
    size_t n1, n2, n, l1, l2;
    int ok = 1;
    ok &= ward_noise_kk_init(&hi, 1, k->i_priv, k->r_pub, (const uint8_t *)"ward", 4, rng) == 0;
    ok &= ward_noise_kk_init(&hr, 0, k->r_priv, k->i_pub, (const uint8_t *)"ward", 4, rng) == 0;
    ok &= ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0) == 0;
    ok &= ward_noise_handshake_read(&hr, NULL, 0, &n, m1, n1) == 0;
    ok &= ward_noise_handshake_write(&hr, m2, sizeof m2, &n2, NULL, 0) == 0;
    ok &= ward_noise_handshake_read(&hi, NULL, 0, &n, m2, n2) == 0;
    ok &= ward_noise_handshake_get_hash(&hi, h1, sizeof h1, &l1) == 0;
    ok &= ward_noise_handshake_get_hash(&hr, h2, sizeof h2, &l2) == 0;
    ok &= l1 == 32 && l2 == 32 && memcmp(h1, h2, 32) == 0;
    ok &= ward_noise_handshake_split(&hi, i_send, i_recv) == 0;
    ok &= ward_noise_handshake_split(&hr, r_send, r_recv) == 0;
    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);
    return ok ? 0 : -1;
}

static void check_closed(ward_noise_handshake *hs) {
    uint8_t buf[128], h[64];
    size_t n;
    CHECK(all_zero(hs->s_priv, 32) && all_zero(hs->e_priv, 32));
    CHECK(all_zero(hs->ss.ck, sizeof hs->ss.ck));
    CHECK(all_zero(hs->ss.cs.k, sizeof hs->ss.cs.k));
    CHECK(all_zero(hs->psks, sizeof hs->psks));
    CHECK_RC(ward_noise_handshake_write(hs, buf, sizeof buf, &n, NULL, 0), WARD_ECLOSED);
    CHECK_RC(ward_noise_handshake_read(hs, buf, sizeof buf, &n, buf, 48), WARD_ECLOSED);
    CHECK_RC(ward_noise_handshake_get_hash(hs, h, sizeof h, &n), WARD_ECLOSED);
    CHECK(!ward_noise_handshake_is_complete(hs));
}

static void test_kk_roundtrip(ward_rng *rng) {
    kk_keys k;
    make_keys(&k, rng);
    ward_noise_handshake hi, hr;
    uint8_t m1[256], m2[256], pl[64], h1[64], h2[64], rs[32];
    size_t n1, n2, n, l1, l2;

    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK(ward_noise_handshake_needs_write(&hi));
    CHECK(!ward_noise_handshake_needs_write(&hr));
    CHECK(!ward_noise_handshake_is_complete(&hi));

    /* Out of turn. */
    CHECK_RC(ward_noise_handshake_write(&hr, m1, sizeof m1, &n1, NULL, 0), WARD_ESTATE);
    CHECK_RC(ward_noise_handshake_read(&hi, pl, sizeof pl, &n, m1, 48), WARD_ESTATE);
    ward_noise_cipherstate a, b;
    CHECK_RC(ward_noise_handshake_split(&hi, &a, &b), WARD_ESTATE);
    /* Too small an output buffer: refused, state unchanged. */
    CHECK_RC(ward_noise_handshake_write(&hi, m1, 47, &n1, NULL, 0), WARD_EINVAL);

    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1,
                                        (const uint8_t *)"hello", 5), 0);
    CHECK_EQ_U64(n1, 32 + 5 + 16);
    /* A payload larger than the buffer (or any payload when the caller
     * passes none) is a bad message: the responder closes. */
    ward_noise_handshake hc = hr;
    CHECK_RC(ward_noise_handshake_read(&hc, pl, 4, &n, m1, n1), WARD_ETOOBIG);
    check_closed(&hc);
    hc = hr;
    CHECK_RC(ward_noise_handshake_read(&hc, NULL, 0, &n, m1, n1), WARD_ETOOBIG);
    check_closed(&hc);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), 0);
    CHECK_EQ_U64(n, 5);
    CHECK_MEM(pl, "hello", 5);
    CHECK_RC(ward_noise_handshake_write(&hr, m2, sizeof m2, &n2, NULL, 0), 0);
    CHECK_EQ_U64(n2, 48);
    CHECK_RC(ward_noise_handshake_read(&hi, pl, sizeof pl, &n, m2, n2), 0);
    CHECK_EQ_U64(n, 0);
    CHECK(ward_noise_handshake_is_complete(&hi));
    CHECK(ward_noise_handshake_is_complete(&hr));
    CHECK(!ward_noise_handshake_needs_write(&hi));
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), WARD_ESTATE);

    CHECK_RC(ward_noise_handshake_get_hash(&hi, h1, sizeof h1, &l1), 0);
    CHECK_RC(ward_noise_handshake_get_hash(&hr, h2, sizeof h2, &l2), 0);
    CHECK_EQ_U64(l1, 32);
    CHECK(l1 == l2 && memcmp(h1, h2, l1) == 0);
    CHECK_RC(ward_noise_handshake_get_hash(&hi, h1, 31, &l1), WARD_EINVAL);
    CHECK_RC(ward_noise_handshake_remote_static(&hr, rs), 0);
    CHECK_MEM(rs, k.i_pub, 32);

    ward_noise_cipherstate is, ir, rsend, rrecv;
    CHECK_RC(ward_noise_handshake_split(&hi, &is, &ir), 0);
    CHECK_RC(ward_noise_handshake_split(&hr, &rsend, &rrecv), 0);
    CHECK_RC(ward_noise_handshake_split(&hr, &rsend, &rrecv), WARD_ESTATE);
    /* After Split only the hash and the peer's key remain. */
    CHECK(all_zero(hi.ss.ck, sizeof hi.ss.ck));
    CHECK(all_zero(hi.s_priv, sizeof hi.s_priv));
    CHECK(all_zero(hi.e_priv, sizeof hi.e_priv));
    CHECK(all_zero(hr.s_priv, sizeof hr.s_priv));
    CHECK(all_zero(hr.ss.cs.k, sizeof hr.ss.cs.k));
    CHECK_RC(ward_noise_handshake_get_hash(&hi, h2, sizeof h2, &l2), 0);
    CHECK(l2 == 32 && memcmp(h1, h2, 32) == 0);
    CHECK_RC(ward_noise_handshake_remote_static(&hi, rs), 0);
    CHECK_MEM(rs, k.r_pub, 32);

    /* Transport both ways, in place and not. */
    uint8_t buf[1024], out[1024];
    for (int round = 0; round < 10; round++) {
        size_t len = (size_t)round * 37;
        for (size_t j = 0; j < len; j++) buf[j] = (uint8_t)(j * 7 + (size_t)round);
        memcpy(out, buf, len);
        ward_noise_cipherstate *s = round % 2 ? &rsend : &is;
        ward_noise_cipherstate *r = round % 2 ? &ir : &rrecv;
        size_t cl, pl2;
        CHECK_RC(ward_noise_cipher_encrypt(s, buf, sizeof buf, &cl, NULL, 0, buf, len), 0);
        CHECK_EQ_U64(cl, len + 16);
        CHECK(len == 0 || memcmp(buf, out, len) != 0);
        CHECK_RC(ward_noise_cipher_decrypt(r, buf, sizeof buf, &pl2, NULL, 0, buf, cl), 0);
        CHECK_EQ_U64(pl2, len);
        CHECK_MEM(buf, out, len);
    }
    /* The two directions use different keys. */
    CHECK(memcmp(is.k, ir.k, 32) != 0);
    CHECK_MEM(is.k, rrecv.k, 32);
    CHECK_MEM(ir.k, rsend.k, 32);

    /* Rekey on both ends keeps them in step and changes the key. */
    uint8_t oldk[32];
    memcpy(oldk, is.k, 32);
    CHECK_RC(ward_noise_cipher_rekey(&is), 0);
    CHECK_RC(ward_noise_cipher_rekey(&rrecv), 0);
    CHECK(memcmp(oldk, is.k, 32) != 0);
    size_t cl, pl2;
    CHECK_RC(ward_noise_cipher_encrypt(&is, buf, sizeof buf, &cl, NULL, 0,
                                       (const uint8_t *)"after rekey", 11), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rrecv, out, sizeof out, &pl2, NULL, 0, buf, cl), 0);
    CHECK(pl2 == 11 && memcmp(out, "after rekey", 11) == 0);

    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);
    CHECK_RC(ward_noise_handshake_get_hash(&hi, h1, sizeof h1, &l1), WARD_ECLOSED);
    ward_noise_cipher_clear(&is);
    ward_noise_cipher_clear(&ir);
    ward_noise_cipher_clear(&rsend);
    ward_noise_cipher_clear(&rrecv);
    CHECK_RC(ward_noise_cipher_encrypt(&is, buf, sizeof buf, &cl, NULL, 0, buf, 1), WARD_ECLOSED);

    /* Many handshakes with fresh keys all agree. */
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        kk_keys kk;
        make_keys(&kk, rng);
        ward_noise_cipherstate c1, c2, c3, c4;
        if (kk_handshake(&kk, rng, &c1, &c2, &c3, &c4) != 0) bad++;
        else if (memcmp(c1.k, c4.k, 32) != 0 || memcmp(c2.k, c3.k, 32) != 0) bad++;
    }
    CHECK_EQ_U64(bad, 0);
}

static void test_kk_failures(ward_rng *rng) {
    kk_keys k, other;
    make_keys(&k, rng);
    make_keys(&other, rng);
    ward_noise_handshake hi, hr;
    uint8_t m1[128], m2[128], pl[64];
    size_t n1, n2, n;

    /* Initiator has the wrong key for the responder. */
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, other.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), WARD_EDECRYPT);
    check_closed(&hr);
    ward_noise_handshake_clear(&hi);

    /* Responder expects a different initiator. */
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, other.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), WARD_EDECRYPT);
    check_closed(&hr);
    ward_noise_handshake_clear(&hi);

    /* Different prologues. */
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, (const uint8_t *)"a", 1, rng), 0);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, (const uint8_t *)"b", 1, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), WARD_EDECRYPT);
    check_closed(&hr);
    ward_noise_handshake_clear(&hi);

    /* Truncation of message 1 (48 bytes with a 0-byte payload) at every
     * length, and every single-bit flip of it: all rejected, all closing. */
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), 0);
    CHECK_EQ_U64(n1, 48);
    int wrong = 0;
    for (size_t len = 0; len < n1; len++) {
        CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
        int rc = ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, len);
        if (rc != WARD_ETRUNC ||
            ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1) != WARD_ECLOSED)
            wrong++;
    }
    CHECK_EQ_U64(wrong, 0);
    wrong = 0;
    for (size_t bit = 0; bit < 8 * n1; bit++) {
        uint8_t t[128];
        memcpy(t, m1, n1);
        t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
        int rc = ward_noise_handshake_read(&hr, pl, sizeof pl, &n, t, n1);
        if (rc != WARD_EDECRYPT && rc != WARD_EDH) wrong++;
        if (ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1) != WARD_ECLOSED)
            wrong++;
    }
    CHECK_EQ_U64(wrong, 0);
    /* An extra byte is taken as payload and fails authentication. */
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    m1[n1] = 0;
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1 + 1), WARD_EDECRYPT);
    /* The untouched message still works. */
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), 0);
    CHECK_RC(ward_noise_handshake_write(&hr, m2, sizeof m2, &n2, NULL, 0), 0);

    /* Message 2: truncated and flipped copies each close the initiator. */
    wrong = 0;
    for (size_t bit = 0; bit < 8 * n2; bit += 3) {
        ward_noise_handshake hc = hi;
        uint8_t t[128];
        memcpy(t, m2, n2);
        t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = ward_noise_handshake_read(&hc, pl, sizeof pl, &n, t, n2);
        if (rc != WARD_EDECRYPT && rc != WARD_EDH) wrong++;
        if (!all_zero(hc.ss.ck, sizeof hc.ss.ck)) wrong++;
        ward_noise_handshake_clear(&hc);
    }
    for (size_t len = 0; len < n2; len++) {
        ward_noise_handshake hc = hi;
        int rc = ward_noise_handshake_read(&hc, pl, sizeof pl, &n, m2, len);
        if (rc != WARD_ETRUNC && rc != WARD_EDECRYPT) wrong++;
        ward_noise_handshake_clear(&hc);
    }
    CHECK_EQ_U64(wrong, 0);
    CHECK_RC(ward_noise_handshake_read(&hi, pl, sizeof pl, &n, m2, n2), 0);
    CHECK(ward_noise_handshake_is_complete(&hi));
    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);

    /* Oversized handshake messages. */
    static uint8_t big[WARD_NOISE_MAX_MSG + 64];
    static uint8_t payload[WARD_NOISE_MAX_MSG];
    memset(big, 0, sizeof big);
    memset(payload, 0x42, sizeof payload);
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, big, sizeof big, &n1, payload,
                                        WARD_NOISE_MAX_MSG - 48 + 1), WARD_ETOOBIG);
    CHECK(ward_noise_handshake_needs_write(&hi)); /* still usable */
    CHECK_RC(ward_noise_handshake_write(&hi, big, sizeof big, &n1, payload,
                                        WARD_NOISE_MAX_MSG - 48), 0);
    CHECK_EQ_U64(n1, WARD_NOISE_MAX_MSG);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, payload, sizeof payload, &n, big,
                                       WARD_NOISE_MAX_MSG + 1), WARD_ETOOBIG);
    check_closed(&hr);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, payload, sizeof payload, &n, big, n1), 0);
    CHECK_EQ_U64(n, WARD_NOISE_MAX_MSG - 48);
    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);

    /* A low-order peer key: X25519 gives zero, the handshake closes. */
    uint8_t zero_point[32] = {0};
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, zero_point, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), WARD_EDH);
    check_closed(&hi);
    /* The same for a low-order ephemeral arriving in message 1. */
    CHECK_RC(ward_noise_kk_init(&hi, 1, k.i_priv, k.r_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_write(&hi, m1, sizeof m1, &n1, NULL, 0), 0);
    memset(m1, 0, 32);
    CHECK_RC(ward_noise_kk_init(&hr, 0, k.r_priv, k.i_pub, NULL, 0, rng), 0);
    CHECK_RC(ward_noise_handshake_read(&hr, pl, sizeof pl, &n, m1, n1), WARD_EDH);
    check_closed(&hr);
    ward_noise_handshake_clear(&hi);
}

static void test_init_errors(ward_rng *rng) {
    kk_keys k;
    make_keys(&k, rng);
    ward_noise_handshake hs;
    ward_noise_config cfg;
    uint8_t psk[64];
    memset(psk, 7, sizeof psk);

    memset(&cfg, 0, sizeof cfg);
    cfg.protocol_name = WARD_NOISE_KK_NAME;
    cfg.initiator = 1;
    cfg.remote_static = k.r_pub;
    cfg.rng = rng;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EKEY);   /* no local s */
    cfg.local_static = k.i_priv;
    cfg.remote_static = NULL;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EKEY);   /* no rs */
    cfg.remote_static = k.r_pub;
    cfg.rng = NULL;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EKEY);   /* no e source */
    cfg.rng = rng;
    cfg.psks = psk;
    cfg.n_psks = 1;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EINVAL); /* KK has no psk */
    cfg.protocol_name = "Noise_KKpsk0+psk2_25519_ChaChaPoly_SHA256";
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EINVAL); /* needs two */
    cfg.n_psks = 2;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), 0);
    cfg.protocol_name = "Noise_XX_25519_ChaChaPoly_SHA256";
    cfg.psks = NULL;
    cfg.n_psks = 0;
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EINVAL); /* XX sends rs */
    cfg.protocol_name = "Noise_KK_448_ChaChaPoly_SHA256";
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EUNSUPPORTED);
    cfg.protocol_name = "Noise_KK_25519_ChaChaPoly";
    CHECK_RC(ward_noise_handshake_init(&hs, &cfg), WARD_EPARSE);
    check_closed(&hs);
    CHECK_RC(ward_noise_handshake_init(&hs, NULL), WARD_EINVAL);
    CHECK_RC(ward_noise_kk_init(&hs, 1, k.i_priv, k.r_pub, NULL, 0, NULL), WARD_EINVAL);
}

/* A psk pattern and a one-way pattern end to end with random keys. */
static void test_other_patterns(ward_rng *rng) {
    kk_keys k;
    make_keys(&k, rng);
    uint8_t psks[64];
    ward_rng_bytes(rng, psks, sizeof psks);
    static const char *names[] = {
        "Noise_XXpsk0+psk3_25519_AESGCM_SHA512",
        "Noise_IKpsk1_25519_ChaChaPoly_BLAKE2b",
        "Noise_X1X1_25519_AESGCM_SHA256",
        "Noise_N_25519_ChaChaPoly_SHA256",
        "Noise_Kpsk0_25519_AESGCM_BLAKE2b",
    };
    for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
        ward_noise_protocol p;
        CHECK_RC(ward_noise_protocol_parse_var(&p, names[t]), 0);
        int needs_rs_i = 0, needs_rs_r = 0;
        for (size_t i = 0; i < p.pattern.n_pre_resp; i++) needs_rs_i = 1;
        for (size_t i = 0; i < p.pattern.n_pre_init; i++) needs_rs_r = 1;
        int uses_s_i = strchr(p.pattern.name, 'N') != p.pattern.name;
        ward_noise_config ci, cr;
        memset(&ci, 0, sizeof ci);
        memset(&cr, 0, sizeof cr);
        ci.protocol_name = cr.protocol_name = names[t];
        ci.initiator = 1;
        ci.local_static = uses_s_i ? k.i_priv : NULL;
        ci.remote_static = needs_rs_i ? k.r_pub : NULL;
        cr.local_static = k.r_priv;
        cr.remote_static = needs_rs_r ? k.i_pub : NULL;
        ci.psks = cr.psks = psks;
        ci.n_psks = cr.n_psks = p.pattern.n_psks;
        ci.rng = cr.rng = rng;
        ward_noise_handshake hi, hr;
        int rc = ward_noise_handshake_init(&hi, &ci);
        CHECK_RC(rc, 0);
        CHECK_RC(ward_noise_handshake_init(&hr, &cr), 0);
        if (rc != 0) {
            fprintf(stderr, "  pattern %s\n", names[t]);
            continue;
        }
        uint8_t msg[256], pl[64];
        size_t n, m;
        int steps = 0, bad = 0;
        while (!ward_noise_handshake_is_complete(&hi) && steps < 8) {
            ward_noise_handshake *w = ward_noise_handshake_needs_write(&hi) ? &hi : &hr;
            ward_noise_handshake *r = w == &hi ? &hr : &hi;
            if (ward_noise_handshake_write(w, msg, sizeof msg, &n, (const uint8_t *)"pl", 2) != 0) bad++;
            if (ward_noise_handshake_read(r, pl, sizeof pl, &m, msg, n) != 0) bad++;
            if (m != 2 || memcmp(pl, "pl", 2) != 0) bad++;
            steps++;
        }
        CHECK_EQ_U64(bad, 0);
        CHECK(ward_noise_handshake_is_complete(&hi) && ward_noise_handshake_is_complete(&hr));
        CHECK_EQ_U64(steps, p.pattern.n_messages);
        ward_noise_cipherstate is, ir, rsend, rrecv;
        CHECK_RC(ward_noise_handshake_split(&hi, &is, &ir), 0);
        CHECK_RC(ward_noise_handshake_split(&hr, &rsend, &rrecv), 0);
        CHECK_RC(ward_noise_cipher_encrypt(&is, msg, sizeof msg, &n, NULL, 0, (const uint8_t *)"x", 1), 0);
        CHECK_RC(ward_noise_cipher_decrypt(&rrecv, pl, sizeof pl, &m, NULL, 0, msg, n), 0);
        if (p.pattern.one_way) {
            /* Only the initiator may send. */
            CHECK(ward_noise_cipher_is_closed(&rsend) && ward_noise_cipher_is_closed(&ir));
            CHECK_RC(ward_noise_cipher_encrypt(&rsend, msg, sizeof msg, &n, NULL, 0, pl, 1), WARD_ECLOSED);
        } else {
            CHECK_RC(ward_noise_cipher_encrypt(&rsend, msg, sizeof msg, &n, NULL, 0, (const uint8_t *)"y", 1), 0);
            CHECK_RC(ward_noise_cipher_decrypt(&ir, pl, sizeof pl, &m, NULL, 0, msg, n), 0);
        }
        ward_noise_handshake_clear(&hi);
        ward_noise_handshake_clear(&hr);
        ward_noise_cipher_clear(&is);
        ward_noise_cipher_clear(&ir);
        ward_noise_cipher_clear(&rsend);
        ward_noise_cipher_clear(&rrecv);
    }
}

/* ---- transport (CipherState) ------------------------------------------ */

static void test_transport(ward_rng *rng, int cipher) {
    uint8_t key[32];
    ward_rng_bytes(rng, key, sizeof key);
    ward_noise_cipherstate tx, rx;
    uint8_t c[4][64], pt[64];
    size_t cl[4], n;

    /* ChaChaPoly nonce 0 agrees with libsodium called directly. */
    CHECK_RC(ward_noise_cipher_init(&tx, cipher, key), 0);
    CHECK(ward_noise_cipher_has_key(&tx));
    CHECK_RC(ward_noise_cipher_encrypt(&tx, c[0], sizeof c[0], &cl[0],
                                       (const uint8_t *)"ad", 2,
                                       (const uint8_t *)"abc", 3), 0);
    if (cipher == WARD_NOISE_CIPHER_CHACHAPOLY) {
        uint8_t npub[12] = {0}, direct[64];
        unsigned long long dl;
        crypto_aead_chacha20poly1305_ietf_encrypt(direct, &dl, (const uint8_t *)"abc", 3,
                                                  (const uint8_t *)"ad", 2, NULL, npub, key);
        CHECK(dl == cl[0] && memcmp(direct, c[0], dl) == 0);
    }

    /* Four messages; deliver them out of order, replayed, damaged. */
    CHECK_RC(ward_noise_cipher_init(&tx, cipher, key), 0);
    for (int i = 0; i < 4; i++) {
        pt[0] = (uint8_t)i;
        CHECK_RC(ward_noise_cipher_encrypt(&tx, c[i], sizeof c[i], &cl[i], NULL, 0, pt, 20), 0);
    }
    /* In order works. */
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[i], cl[i]), 0);
        CHECK(n == 20 && pt[0] == i);
    }
    /* Replay: message 0 twice. */
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], cl[0]), 0);
    memset(pt, 0x77, sizeof pt);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], cl[0]), WARD_EDECRYPT);
    CHECK(ward_noise_cipher_is_closed(&rx));
    CHECK(all_zero(rx.k, 32));
    CHECK_EQ_U64(n, 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[1], cl[1]), WARD_ECLOSED);
    /* Reorder: message 1 before message 0. */
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[1], cl[1]), WARD_EDECRYPT);
    CHECK(ward_noise_cipher_is_closed(&rx));
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], cl[0]), WARD_ECLOSED);
    /* Every bit flip and every truncation is rejected and closes. */
    int wrong = 0;
    for (size_t bit = 0; bit < 8 * cl[0]; bit++) {
        uint8_t t[64];
        memcpy(t, c[0], cl[0]);
        t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ward_noise_cipher_init(&rx, cipher, key);
        if (ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, t, cl[0]) != WARD_EDECRYPT)
            wrong++;
        if (!ward_noise_cipher_is_closed(&rx)) wrong++;
    }
    for (size_t len = 0; len < cl[0]; len++) {
        ward_noise_cipher_init(&rx, cipher, key);
        int rc = ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], len);
        if (rc != (len < 16 ? WARD_ETRUNC : WARD_EDECRYPT)) wrong++;
        if (!ward_noise_cipher_is_closed(&rx)) wrong++;
    }
    CHECK_EQ_U64(wrong, 0);
    /* Wrong associated data. */
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, (const uint8_t *)"x", 1, c[0], cl[0]), WARD_EDECRYPT);

    /* Nonce exhaustion: 2^64-1 is reserved. */
    CHECK_RC(ward_noise_cipher_init(&tx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_set_nonce(&tx, UINT64_MAX - 1), 0);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, c[0], sizeof c[0], &cl[0], NULL, 0, pt, 5), 0);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, c[1], sizeof c[1], &cl[1], NULL, 0, pt, 5), WARD_ENONCE);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, c[1], sizeof c[1], &cl[1], NULL, 0, pt, 5), WARD_ENONCE);
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_set_nonce(&rx, UINT64_MAX - 1), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], cl[0]), 0);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, pt, sizeof pt, &n, NULL, 0, c[0], cl[0]), WARD_ENONCE);

    /* Size limits: 65519 bytes of plaintext make a 65535-byte message. */
    static uint8_t big[WARD_NOISE_MAX_MSG + 32];
    memset(big, 0x33, sizeof big);
    CHECK_RC(ward_noise_cipher_init(&tx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_init(&rx, cipher, key), 0);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, big, sizeof big, &n, NULL, 0, big,
                                       WARD_NOISE_MAX_PLAINTEXT + 1), WARD_ETOOBIG);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, big, sizeof big, &n, NULL, 0, big,
                                       WARD_NOISE_MAX_PLAINTEXT), 0);
    CHECK_EQ_U64(n, WARD_NOISE_MAX_MSG);
    CHECK_RC(ward_noise_cipher_encrypt(&tx, big, 20, &n, NULL, 0, big, 5), WARD_EINVAL);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, big, sizeof big, &n, NULL, 0, big,
                                       WARD_NOISE_MAX_MSG), 0);
    CHECK_EQ_U64(n, WARD_NOISE_MAX_PLAINTEXT);
    CHECK_RC(ward_noise_cipher_decrypt(&rx, big, sizeof big, &n, NULL, 0, big,
                                       WARD_NOISE_MAX_MSG + 1), WARD_ETOOBIG);
    CHECK(ward_noise_cipher_is_closed(&rx));

    /* No key: plaintext passes through (handshake use); Rekey needs a key. */
    CHECK_RC(ward_noise_cipher_init(&tx, cipher, NULL), 0);
    CHECK(!ward_noise_cipher_has_key(&tx));
    CHECK_RC(ward_noise_cipher_encrypt(&tx, c[0], sizeof c[0], &n, NULL, 0, (const uint8_t *)"abc", 3), 0);
    CHECK(n == 3 && memcmp(c[0], "abc", 3) == 0);
    CHECK_RC(ward_noise_cipher_rekey(&tx), WARD_ESTATE);
    CHECK_RC(ward_noise_cipher_init(&tx, 77, key), WARD_EUNSUPPORTED);
    ward_noise_cipher_clear(&tx);
    ward_noise_cipher_clear(&rx);
}


/* ---- ChaChaPoly: the two implementations agree ------------------------ */

/* The cipher state sends long messages through OpenSSL and short ones
 * through libsodium (crypto/noise_cipher.c). Both must be RFC 8439's AEAD:
 * every length around the switch and up to the largest message, with and
 * without associated data, is encrypted by the cipher state and checked
 * against libsodium's raw function (and decrypted by it), and the cipher
 * state decrypts what libsodium encrypted. A flipped bit anywhere is
 * refused by the long path too, and leaves no plaintext behind. */
static void test_chachapoly_paths(ward_rng *rng) {
    static uint8_t pt[WARD_NOISE_MAX_PLAINTEXT], ct[WARD_NOISE_MAX_MSG], ref[WARD_NOISE_MAX_MSG],
        back[WARD_NOISE_MAX_MSG];
    const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 1000, 1023, 1024, 1025, 4095, 4096,
                           16384, 59968 + 200, WARD_NOISE_MAX_PLAINTEXT - 1,
                           WARD_NOISE_MAX_PLAINTEXT};
    uint8_t key[32], ad[40], npub[12] = {0};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (int with_ad = 0; with_ad < 2; with_ad++) {
            size_t len = lens[li], adl = with_ad ? sizeof ad : 0;
            uint64_t n = ward_rng_u64(rng) >> 1;
            ward_rng_bytes(rng, key, sizeof key);
            ward_rng_bytes(rng, ad, sizeof ad);
            ward_rng_bytes(rng, pt, len);
            for (int i = 0; i < 8; i++) npub[4 + i] = (uint8_t)(n >> (8 * i));
            ward_noise_cipherstate e, d;
            CHECK_RC(ward_noise_cipher_init(&e, WARD_NOISE_CIPHER_CHACHAPOLY, key), 0);
            CHECK_RC(ward_noise_cipher_init(&d, WARD_NOISE_CIPHER_CHACHAPOLY, key), 0);
            CHECK_RC(ward_noise_cipher_set_nonce(&e, n), 0);
            CHECK_RC(ward_noise_cipher_set_nonce(&d, n), 0);
            size_t cl = 0, pl = 0;
            unsigned long long rl = 0;
            CHECK_RC(ward_noise_cipher_encrypt(&e, ct, sizeof ct, &cl, with_ad ? ad : NULL, adl, pt, len), 0);
            crypto_aead_chacha20poly1305_ietf_encrypt(ref, &rl, pt, len, with_ad ? ad : NULL, adl, NULL,
                                                      npub, key);
            CHECK(cl == len + 16 && rl == cl && memcmp(ct, ref, cl) == 0);
            CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(back, &rl, NULL, ct, cl, with_ad ? ad : NULL,
                                                            adl, npub, key) == 0 &&
                  rl == len && memcmp(back, pt, len) == 0);
            CHECK_RC(ward_noise_cipher_decrypt(&d, back, sizeof back, &pl, with_ad ? ad : NULL, adl, ref, cl), 0);
            CHECK(pl == len && memcmp(back, pt, len) == 0);
            /* A flipped bit: refused, the state closed, no plaintext left. */
            ward_noise_cipherstate d2;
            CHECK_RC(ward_noise_cipher_init(&d2, WARD_NOISE_CIPHER_CHACHAPOLY, key), 0);
            CHECK_RC(ward_noise_cipher_set_nonce(&d2, n), 0);
            size_t bit = (size_t)(ward_rng_u64(rng) % (cl * 8));
            ref[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memset(back, 0xa5, len);
            CHECK_RC(ward_noise_cipher_decrypt(&d2, back, sizeof back, &pl, with_ad ? ad : NULL, adl, ref, cl),
                     WARD_EDECRYPT);
            CHECK(ward_noise_cipher_is_closed(&d2));
            /* Untouched (libsodium checks first) or wiped (OpenSSL). */
            int clean = 1;
            for (size_t i = 0; i < len; i++) clean &= back[i] == 0xa5 || back[i] == 0;
            CHECK(clean);
            /* In place, as the transport does it. */
            memcpy(back, pt, len);
            CHECK_RC(ward_noise_cipher_encrypt(&e, back, sizeof back, &cl, NULL, 0, back, len), 0);
            CHECK_RC(ward_noise_cipher_decrypt(&d, back, sizeof back, &pl, NULL, 0, back, cl), 0);
            CHECK(pl == len && memcmp(back, pt, len) == 0);
            ward_noise_cipher_clear(&e);
            ward_noise_cipher_clear(&d);
            ward_noise_cipher_clear(&d2);
        }
    }
}

int main(void) {
    if (sodium_init() < 0) return 1;
    ward_rng rng;
    ward_rng_init_u64(&rng, 0x6e6f697365ULL);
    test_hash_kats();
    test_names();
    test_kk_roundtrip(&rng);
    test_kk_failures(&rng);
    test_init_errors(&rng);
    test_other_patterns(&rng);
    test_transport(&rng, WARD_NOISE_CIPHER_CHACHAPOLY);
    test_transport(&rng, WARD_NOISE_CIPHER_AESGCM);
    test_chachapoly_paths(&rng);
    ward_rng_clear(&rng);
    return check_done("noise");
}
