/* Noise handshake patterns and protocol names (spec revision 34, sections
 * 7, 8 and 9).
 *
 * A pattern is data: two pre-messages and up to four message patterns, each
 * a short list of tokens. The engine in noise.c interprets the table, so
 * adding a pattern is adding a row, not code. Implemented:
 *   one-way:      N K X
 *   interactive:  NN NK NX XN XK XX KN KK KX IN IK IX
 *   deferred:     NK1 NX1 X1N X1K XK1 X1K1 X1X XX1 X1X1 K1N K1K KK1 K1K1 K1X
 *                 KX1 K1X1 I1N I1K IK1 I1K1 I1X IX1 I1X1
 * and the modifiers psk0..psk3, alone or combined ("psk0+psk2"), applied as
 * in section 9.3: psk0 puts a "psk" token at the start of the first message,
 * pskN (N >= 1) at the end of message N.
 *
 * Protocol names have the form Noise_<pattern><mods>_<DH>_<cipher>_<hash>
 * (section 8). Supported: DH 25519; ciphers ChaChaPoly and AESGCM; hashes
 * SHA256, SHA512 and BLAKE2b. Names and patterns are public data, so this
 * module is not constant-time (`_var`).
 */
#ifndef WARD_NOISE_PATTERN_H
#define WARD_NOISE_PATTERN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    WARD_NOISE_TOK_E = 1,
    WARD_NOISE_TOK_S = 2,
    WARD_NOISE_TOK_EE = 3,
    WARD_NOISE_TOK_ES = 4,
    WARD_NOISE_TOK_SE = 5,
    WARD_NOISE_TOK_SS = 6,
    WARD_NOISE_TOK_PSK = 7
} ward_noise_token;

typedef enum { WARD_NOISE_DH_25519 = 1 } ward_noise_dh_id;

#define WARD_NOISE_MAX_MESSAGES 4   /* message patterns per handshake */
#define WARD_NOISE_MAX_TOKENS 8     /* tokens per message, psk included */
#define WARD_NOISE_MAX_PRE 2        /* tokens per pre-message */
#define WARD_NOISE_MAX_PSKS 5        /* psk0..psk4 on a 4-message pattern */
#define WARD_NOISE_MAX_NAME 255     /* longest protocol name (section 8) */

/* The production suite of ward nodes. */
#define WARD_NOISE_KK_NAME "Noise_KK_25519_ChaChaPoly_SHA256"

typedef struct {
    char name[32];                 /* pattern with modifiers, "XXpsk3" */
    uint8_t pre_init[WARD_NOISE_MAX_PRE];  /* initiator pre-message */
    uint8_t n_pre_init;
    uint8_t pre_resp[WARD_NOISE_MAX_PRE];  /* responder pre-message */
    uint8_t n_pre_resp;
    uint8_t n_messages;
    uint8_t n_tokens[WARD_NOISE_MAX_MESSAGES];
    uint8_t tokens[WARD_NOISE_MAX_MESSAGES][WARD_NOISE_MAX_TOKENS];
    uint8_t one_way;               /* N, K, X and their psk variants */
    uint8_t n_psks;                /* psk tokens in the whole pattern */
} ward_noise_pattern;

typedef struct {
    ward_noise_pattern pattern;
    int dh;                        /* ward_noise_dh_id */
    int cipher;                    /* ward_noise_cipher_id */
    int hash;                      /* ward_noise_hash_id */
    char name[WARD_NOISE_MAX_NAME + 1];  /* the full name, NUL-terminated */
    size_t name_len;
} ward_noise_protocol;

/* Looks up a pattern with optional modifiers ("KK", "NNpsk0+psk2") given as
 * name[0..len). Message k (0-based) is sent by the initiator when k is even.
 * Returns 0, WARD_EPARSE (not a well-formed pattern name: empty, bad
 * characters, an empty or repeated modifier, pskN beyond the last message)
 * or WARD_EUNSUPPORTED (well-formed but unknown: an unimplemented pattern or
 * modifier such as "fallback"). */
int ward_noise_pattern_lookup_var(ward_noise_pattern *out, const char *name,
                                  size_t len);

/* Parses a full protocol name (NUL-terminated). Returns 0, WARD_EINVAL (NULL
 * arguments), WARD_EPARSE (malformed: no "Noise_" prefix, not five
 * '_'-separated parts, an empty part, longer than 255 bytes, a malformed
 * pattern) or WARD_EUNSUPPORTED (well-formed, but a pattern, modifier, DH,
 * cipher or hash ward does not implement, e.g. 448 or BLAKE2s). */
int ward_noise_protocol_parse_var(ward_noise_protocol *out, const char *name);

/* Number of base patterns in the table, and the i-th name (for tests and
 * documentation); NULL when i is out of range. */
size_t ward_noise_pattern_count(void);
const char *ward_noise_pattern_name(size_t i);

#endif
