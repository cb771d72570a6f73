#include "noise_pattern.h"

#include <string.h>

#include "error.h"
#include "noise_cipher.h"
#include "noise_hash.h"

/* The handshake patterns of the Noise specification (revision 34), one row
 * each: name, initiator pre-message, responder pre-message, then the message
 * patterns in order (initiator first, alternating). Token lists end at the
 * first 0. Written with short names so each row reads like the spec. */
#define E WARD_NOISE_TOK_E
#define S WARD_NOISE_TOK_S
#define EE WARD_NOISE_TOK_EE
#define ES WARD_NOISE_TOK_ES
#define SE WARD_NOISE_TOK_SE
#define SS WARD_NOISE_TOK_SS

#define BASE_MAX_TOKENS 6

typedef struct {
    const char *name;
    uint8_t pre_init[WARD_NOISE_MAX_PRE + 1];
    uint8_t pre_resp[WARD_NOISE_MAX_PRE + 1];
    uint8_t msgs[WARD_NOISE_MAX_MESSAGES][BASE_MAX_TOKENS];
} pattern_row;

static const pattern_row patterns[] = {
    /* 7.4 one-way */
    {"N", {0}, {S}, {{E, ES}}},
    {"K", {S}, {S}, {{E, ES, SS}}},
    {"X", {0}, {S}, {{E, ES, S, SS}}},
    /* 7.4 interactive */
    {"NN", {0}, {0}, {{E}, {E, EE}}},
    {"NK", {0}, {S}, {{E, ES}, {E, EE}}},
    {"NX", {0}, {0}, {{E}, {E, EE, S, ES}}},
    {"XN", {0}, {0}, {{E}, {E, EE}, {S, SE}}},
    {"XK", {0}, {S}, {{E, ES}, {E, EE}, {S, SE}}},
    {"XX", {0}, {0}, {{E}, {E, EE, S, ES}, {S, SE}}},
    {"KN", {S}, {0}, {{E}, {E, EE, SE}}},
    {"KK", {S}, {S}, {{E, ES, SS}, {E, EE, SE}}},
    {"KX", {S}, {0}, {{E}, {E, EE, SE, S, ES}}},
    {"IN", {0}, {0}, {{E, S}, {E, EE, SE}}},
    {"IK", {0}, {S}, {{E, ES, S, SS}, {E, EE, SE}}},
    {"IX", {0}, {0}, {{E, S}, {E, EE, SE, S, ES}}},
    /* 7.5 deferred */
    {"NK1", {0}, {S}, {{E}, {E, EE, ES}}},
    {"NX1", {0}, {0}, {{E}, {E, EE, S}, {ES}}},
    {"X1N", {0}, {0}, {{E}, {E, EE}, {S}, {SE}}},
    {"X1K", {0}, {S}, {{E, ES}, {E, EE}, {S}, {SE}}},
    {"XK1", {0}, {S}, {{E}, {E, EE, ES}, {S, SE}}},
    {"X1K1", {0}, {S}, {{E}, {E, EE, ES}, {S}, {SE}}},
    {"X1X", {0}, {0}, {{E}, {E, EE, S, ES}, {S}, {SE}}},
    {"XX1", {0}, {0}, {{E}, {E, EE, S}, {ES, S, SE}}},
    {"X1X1", {0}, {0}, {{E}, {E, EE, S}, {ES, S}, {SE}}},
    {"K1N", {S}, {0}, {{E}, {E, EE}, {SE}}},
    {"K1K", {S}, {S}, {{E, ES}, {E, EE}, {SE}}},
    {"KK1", {S}, {S}, {{E}, {E, EE, SE, ES}}},
    {"K1K1", {S}, {S}, {{E}, {E, EE, ES}, {SE}}},
    {"K1X", {S}, {0}, {{E}, {E, EE, S, ES}, {SE}}},
    {"KX1", {S}, {0}, {{E}, {E, EE, SE, S}, {ES}}},
    {"K1X1", {S}, {0}, {{E}, {E, EE, S}, {SE, ES}}},
    {"I1N", {0}, {0}, {{E, S}, {E, EE}, {SE}}},
    {"I1K", {0}, {S}, {{E, ES, S}, {E, EE}, {SE}}},
    {"IK1", {0}, {S}, {{E, S}, {E, EE, SE, ES}}},
    {"I1K1", {0}, {S}, {{E, S}, {E, EE, ES}, {SE}}},
    {"I1X", {0}, {0}, {{E, S}, {E, EE, S, ES}, {SE}}},
    {"IX1", {0}, {0}, {{E, S}, {E, EE, SE, S}, {ES}}},
    {"I1X1", {0}, {0}, {{E, S}, {E, EE, S}, {SE, ES}}},
};

#undef E
#undef S
#undef EE
#undef ES
#undef SE
#undef SS

#define N_PATTERNS (sizeof patterns / sizeof patterns[0])

size_t ward_noise_pattern_count(void) { return N_PATTERNS; }

const char *ward_noise_pattern_name(size_t i) {
    return i < N_PATTERNS ? patterns[i].name : NULL;
}

static int is_upper_or_digit(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_lower_or_digit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static void load_row(ward_noise_pattern *p, const pattern_row *row) {
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < WARD_NOISE_MAX_PRE && row->pre_init[i]; i++)
        p->pre_init[p->n_pre_init++] = row->pre_init[i];
    for (size_t i = 0; i < WARD_NOISE_MAX_PRE && row->pre_resp[i]; i++)
        p->pre_resp[p->n_pre_resp++] = row->pre_resp[i];
    for (size_t m = 0; m < WARD_NOISE_MAX_MESSAGES && row->msgs[m][0]; m++) {
        for (size_t t = 0; t < BASE_MAX_TOKENS && row->msgs[m][t]; t++)
            p->tokens[m][p->n_tokens[m]++] = row->msgs[m][t];
        p->n_messages++;
    }
    p->one_way = p->n_messages == 1;
}

/* Inserts a psk token at position `at` of message m (section 9.3). */
static int insert_psk(ward_noise_pattern *p, size_t m, int at_start) {
    if (p->n_tokens[m] >= WARD_NOISE_MAX_TOKENS) return WARD_EPARSE;
    if (at_start) {
        memmove(&p->tokens[m][1], &p->tokens[m][0], p->n_tokens[m]);
        p->tokens[m][0] = WARD_NOISE_TOK_PSK;
    } else {
        p->tokens[m][p->n_tokens[m]] = WARD_NOISE_TOK_PSK;
    }
    p->n_tokens[m]++;
    p->n_psks++;
    return WARD_OK;
}

int ward_noise_pattern_lookup_var(ward_noise_pattern *out, const char *name,
                                  size_t len) {
    WARD_ARG_CHECK(out != NULL && (name != NULL || len == 0));
    memset(out, 0, sizeof *out);

    size_t base_len = 0;
    while (base_len < len && is_upper_or_digit(name[base_len])) base_len++;
    if (base_len == 0) return WARD_EPARSE;
    /* Modifiers follow the base directly, then '+'-separated (section 8). */
    if (base_len < len && !(name[base_len] >= 'a' && name[base_len] <= 'z'))
        return WARD_EPARSE;

    const pattern_row *row = NULL;
    for (size_t i = 0; i < N_PATTERNS; i++) {
        if (strlen(patterns[i].name) == base_len &&
            memcmp(patterns[i].name, name, base_len) == 0) {
            row = &patterns[i];
            break;
        }
    }
    ward_noise_pattern p;
    if (row != NULL) load_row(&p, row);
    else memset(&p, 0, sizeof p);

    /* First pass: syntax of every modifier. A pattern or modifier we do not
     * know only makes the name unsupported once the syntax is valid. */
    int unsupported = row == NULL;
    unsigned psk_seen = 0;
    size_t pos = base_len;
    while (pos < len) {
        size_t start = pos;
        while (pos < len && name[pos] != '+') {
            if (!is_lower_or_digit(name[pos])) return WARD_EPARSE;
            pos++;
        }
        size_t mlen = pos - start;
        if (mlen == 0) return WARD_EPARSE;
        if (pos < len) {
            pos++; /* skip '+' */
            if (pos == len) return WARD_EPARSE; /* trailing '+' */
        }
        const char *mod = name + start;
        if (mlen >= 3 && memcmp(mod, "psk", 3) == 0) {
            size_t nd = mlen - 3;
            unsigned n = 0;
            if (nd == 0 || nd > 2) return WARD_EPARSE;
            if (nd == 2 && mod[3] == '0') return WARD_EPARSE;
            for (size_t i = 0; i < nd; i++) {
                char c = mod[3 + i];
                if (c < '0' || c > '9') return WARD_EPARSE;
                n = n * 10 + (unsigned)(c - '0');
            }
            if (n >= 32 || (psk_seen & (1u << n))) return WARD_EPARSE;
            psk_seen |= 1u << n;
            if (row != NULL && n > p.n_messages) return WARD_EPARSE;
        } else {
            if (mod[0] < 'a' || mod[0] > 'z') return WARD_EPARSE;
            unsupported = 1;
        }
    }
    if (unsupported) return WARD_EUNSUPPORTED;
    if (len >= sizeof p.name) return WARD_EPARSE;

    /* Second pass: psk0 first so that a psk1 in the same message lands after
     * the pattern's own tokens, whatever order the name lists them in. */
    for (unsigned n = 0; n <= p.n_messages; n++) {
        if (!(psk_seen & (1u << n))) continue;
        int rc = n == 0 ? insert_psk(&p, 0, 1) : insert_psk(&p, n - 1, 0);
        if (rc != WARD_OK) return rc;
    }
    if (p.n_psks > WARD_NOISE_MAX_PSKS) return WARD_EPARSE;
    memcpy(p.name, name, len);
    p.name[len] = '\0';
    *out = p;
    return WARD_OK;
}

static int part_chars_ok(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

static int part_is(const char *s, size_t len, const char *want) {
    return strlen(want) == len && memcmp(s, want, len) == 0;
}

int ward_noise_protocol_parse_var(ward_noise_protocol *out, const char *name) {
    WARD_ARG_CHECK(out != NULL && name != NULL);
    memset(out, 0, sizeof *out);

    size_t len = strnlen(name, WARD_NOISE_MAX_NAME + 1);
    if (len > WARD_NOISE_MAX_NAME) return WARD_EPARSE;
    if (len < 6 || memcmp(name, "Noise_", 6) != 0) return WARD_EPARSE;

    const char *part[4];
    size_t plen[4];
    size_t np = 0, pos = 6;
    while (np < 4) {
        size_t start = pos;
        while (pos < len && name[pos] != '_') pos++;
        part[np] = name + start;
        plen[np] = pos - start;
        np++;
        if (pos == len) break;
        pos++; /* skip '_' */
    }
    if (np != 4 || part[3] + plen[3] != name + len) return WARD_EPARSE;
    for (size_t i = 0; i < 4; i++) {
        if (plen[i] == 0 || !part_chars_ok(part[i], plen[i]))
            return WARD_EPARSE;
    }

    ward_noise_pattern pat;
    int prc = ward_noise_pattern_lookup_var(&pat, part[0], plen[0]);
    if (prc == WARD_EPARSE || prc == WARD_EINVAL) return WARD_EPARSE;

    int unsupported = prc != WARD_OK;
    int dh = 0, cipher = 0, hash = 0;
    if (part_is(part[1], plen[1], "25519")) dh = WARD_NOISE_DH_25519;
    else unsupported = 1;
    if (part_is(part[2], plen[2], "ChaChaPoly")) cipher = WARD_NOISE_CIPHER_CHACHAPOLY;
    else if (part_is(part[2], plen[2], "AESGCM")) cipher = WARD_NOISE_CIPHER_AESGCM;
    else unsupported = 1;
    if (part_is(part[3], plen[3], "SHA256")) hash = WARD_NOISE_HASH_SHA256;
    else if (part_is(part[3], plen[3], "SHA512")) hash = WARD_NOISE_HASH_SHA512;
    else if (part_is(part[3], plen[3], "BLAKE2b")) hash = WARD_NOISE_HASH_BLAKE2B;
    else unsupported = 1;
    if (unsupported) return WARD_EUNSUPPORTED;

    out->pattern = pat;
    out->dh = dh;
    out->cipher = cipher;
    out->hash = hash;
    memcpy(out->name, name, len);
    out->name[len] = '\0';
    out->name_len = len;
    return WARD_OK;
}
