#include "selftest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hex.h"
#include "json_read.h"
#include "noise.h"
#include "readfile.h"

/* ---- Noise test vectors (cacophony / Noise wiki JSON format) ---------- */

#define VEC_MAX_PSKS WARD_NOISE_MAX_PSKS

/* Reads a whole vector file (public data); a missing file is an I/O error
 * like any other here. */
static int read_file_var(char **out, size_t *out_len, const char *path) {
    int rc = ward_read_file(out, out_len, path, WARD_JSON_MAX_INPUT);
    return rc == WARD_ENOTFOUND ? WARD_EIO : rc;
}

/* A hex field of object obj: *present = 0 when absent. Returns 0 or
 * WARD_EPARSE (not a string, bad hex, longer than cap). */
static int get_hex(const ward_json_doc *doc, size_t obj, const char *key,
                   uint8_t *out, size_t cap, size_t *out_len, int *present) {
    size_t v;
    *present = 0;
    *out_len = 0;
    if (ward_json_object_get(doc, &v, obj, key) != WARD_OK) return WARD_OK;
    size_t slen;
    const char *s = ward_json_string(doc, v, &slen);
    if (s == NULL) return WARD_EPARSE;
    int rc = ward_hex_decode_var(out, cap, out_len, s, slen);
    if (rc != WARD_OK) return WARD_EPARSE;
    *present = 1;
    return WARD_OK;
}

/* A 32-byte key field: absent is fine (NULL), anything but 32 bytes is not. */
static int get_key(const ward_json_doc *doc, size_t obj, const char *key,
                   uint8_t out[32], const uint8_t **ptr) {
    size_t n;
    int present;
    *ptr = NULL;
    int rc = get_hex(doc, obj, key, out, 32, &n, &present);
    if (rc != WARD_OK) return rc;
    if (!present) return WARD_OK;
    if (n != 32) return WARD_EPARSE;
    *ptr = out;
    return WARD_OK;
}

static int get_psks(const ward_json_doc *doc, size_t obj, const char *key,
                    uint8_t out[VEC_MAX_PSKS * 32], size_t *n_psks) {
    size_t arr;
    *n_psks = 0;
    if (ward_json_object_get(doc, &arr, obj, key) != WARD_OK) return WARD_OK;
    if (ward_json_type_of(doc, arr) != WARD_JSON_ARRAY) return WARD_EPARSE;
    size_t count = doc->nodes[arr].count;
    if (count > VEC_MAX_PSKS) return WARD_EPARSE;
    size_t e = arr + 1;
    for (size_t i = 0; i < count; i++, e = ward_json_next(doc, e)) {
        size_t slen, n;
        const char *s = ward_json_string(doc, e, &slen);
        if (s == NULL) return WARD_EPARSE;
        if (ward_hex_decode_var(out + 32 * i, 32, &n, s, slen) != WARD_OK ||
            n != 32)
            return WARD_EPARSE;
    }
    *n_psks = count;
    return WARD_OK;
}

typedef struct {
    uint8_t prologue[1024];
    size_t prologue_len;
    uint8_t psks[VEC_MAX_PSKS * 32];
    size_t n_psks;
    uint8_t s[32], e[32], rs[32];
    const uint8_t *s_p, *e_p, *rs_p;
} vec_side;

static int load_side(const ward_json_doc *doc, size_t v, const char *pfx,
                     vec_side *side) {
    char key[40];
    int present, rc;
    memset(side, 0, sizeof *side);
    snprintf(key, sizeof key, "%s_prologue", pfx);
    rc = get_hex(doc, v, key, side->prologue, sizeof side->prologue,
                 &side->prologue_len, &present);
    snprintf(key, sizeof key, "%s_psks", pfx);
    if (rc == WARD_OK) rc = get_psks(doc, v, key, side->psks, &side->n_psks);
    snprintf(key, sizeof key, "%s_static", pfx);
    if (rc == WARD_OK) rc = get_key(doc, v, key, side->s, &side->s_p);
    snprintf(key, sizeof key, "%s_ephemeral", pfx);
    if (rc == WARD_OK) rc = get_key(doc, v, key, side->e, &side->e_p);
    snprintf(key, sizeof key, "%s_remote_static", pfx);
    if (rc == WARD_OK) rc = get_key(doc, v, key, side->rs, &side->rs_p);
    return rc;
}

static void side_config(ward_noise_config *cfg, const char *name,
                        int initiator, const vec_side *side) {
    memset(cfg, 0, sizeof *cfg);
    cfg->protocol_name = name;
    cfg->initiator = initiator;
    cfg->prologue = side->prologue;
    cfg->prologue_len = side->prologue_len;
    cfg->local_static = side->s_p;
    cfg->remote_static = side->rs_p;
    cfg->psks = side->n_psks ? side->psks : NULL;
    cfg->n_psks = side->n_psks;
    cfg->fixed_ephemeral = side->e_p;
}

#define MSG_CAP 65536

/* Runs one vector. Returns 0 when it passes, otherwise writes *why (static
 * text) and *where (message index, or -1) and returns a non-zero code. */
static int run_vector(const ward_json_doc *doc, size_t v, const char *name,
                      uint8_t *scratch, const char **why, long *where) {
    vec_side ini, res;
    ward_noise_handshake hi, hr;
    ward_noise_cipherstate i_send, i_recv, r_send, r_recv;
    ward_noise_config cfg;
    uint8_t *payload = scratch;
    uint8_t *expect = scratch + MSG_CAP;
    uint8_t *msg = scratch + 2 * MSG_CAP;
    uint8_t *got = scratch + 3 * MSG_CAP;
    int rc, present;

    *where = -1;
    memset(&hi, 0, sizeof hi);
    memset(&hr, 0, sizeof hr);
    memset(&i_send, 0, sizeof i_send);
    memset(&i_recv, 0, sizeof i_recv);
    memset(&r_send, 0, sizeof r_send);
    memset(&r_recv, 0, sizeof r_recv);

    rc = load_side(doc, v, "init", &ini);
    if (rc == WARD_OK) rc = load_side(doc, v, "resp", &res);
    if (rc != WARD_OK) {
        *why = "malformed key, prologue or psk field";
        return rc;
    }
    side_config(&cfg, name, 1, &ini);
    rc = ward_noise_handshake_init(&hi, &cfg);
    if (rc != WARD_OK) {
        *why = "initiator setup failed";
        goto out;
    }
    side_config(&cfg, name, 0, &res);
    rc = ward_noise_handshake_init(&hr, &cfg);
    if (rc != WARD_OK) {
        *why = "responder setup failed";
        goto out;
    }

    size_t msgs;
    if (ward_json_object_get(doc, &msgs, v, "messages") != WARD_OK ||
        ward_json_type_of(doc, msgs) != WARD_JSON_ARRAY) {
        rc = WARD_EPARSE;
        *why = "no messages array";
        goto out;
    }
    int one_way = hi.pattern.one_way;
    int split = 0;
    size_t count = doc->nodes[msgs].count;
    size_t e = msgs + 1;
    for (size_t i = 0; i < count; i++, e = ward_json_next(doc, e)) {
        size_t plen, clen, n;
        *where = (long)i;
        if (ward_json_type_of(doc, e) != WARD_JSON_OBJECT) {
            rc = WARD_EPARSE;
            *why = "message is not an object";
            goto out;
        }
        rc = get_hex(doc, e, "payload", payload, MSG_CAP, &plen, &present);
        if (rc == WARD_OK && !present) rc = WARD_EPARSE;
        if (rc == WARD_OK)
            rc = get_hex(doc, e, "ciphertext", expect, MSG_CAP, &clen, &present);
        if (rc == WARD_OK && !present) rc = WARD_EPARSE;
        if (rc != WARD_OK) {
            *why = "malformed payload or ciphertext";
            goto out;
        }
        /* Handshake messages alternate starting with the initiator. After
         * the handshake, transport messages keep alternating for
         * interactive patterns; with one-way patterns only the initiator
         * sends. */
        int from_init = one_way ? 1 : (i % 2 == 0);
        if (!split) {
            ward_noise_handshake *w = from_init ? &hi : &hr;
            ward_noise_handshake *r = from_init ? &hr : &hi;
            rc = ward_noise_handshake_write(w, msg, MSG_CAP, &n, payload, plen);
            if (rc != WARD_OK) {
                *why = "write_message failed";
                goto out;
            }
            if (n != clen || memcmp(msg, expect, n) != 0) {
                rc = WARD_EDECRYPT;
                *why = "handshake ciphertext mismatch";
                goto out;
            }
            rc = ward_noise_handshake_read(r, got, MSG_CAP, &n, msg, clen);
            if (rc != WARD_OK) {
                *why = "read_message failed";
                goto out;
            }
            if (n != plen || memcmp(got, payload, n) != 0) {
                rc = WARD_EDECRYPT;
                *why = "handshake payload mismatch";
                goto out;
            }
            int ci = ward_noise_handshake_is_complete(&hi);
            int cr = ward_noise_handshake_is_complete(&hr);
            if (ci != cr) {
                rc = WARD_ESTATE;
                *why = "sides disagree on handshake completion";
                goto out;
            }
            if (ci) {
                uint8_t hh_i[WARD_NOISE_MAXHASHLEN], hh_r[WARD_NOISE_MAXHASHLEN];
                uint8_t want[WARD_NOISE_MAXHASHLEN];
                size_t li, lr, lw;
                rc = get_hex(doc, v, "handshake_hash", want, sizeof want, &lw,
                             &present);
                if (rc == WARD_OK && !present) rc = WARD_EPARSE;
                if (rc != WARD_OK) {
                    *why = "malformed handshake_hash";
                    goto out;
                }
                rc = ward_noise_handshake_get_hash(&hi, hh_i, sizeof hh_i, &li);
                if (rc == WARD_OK)
                    rc = ward_noise_handshake_get_hash(&hr, hh_r, sizeof hh_r, &lr);
                if (rc != WARD_OK || li != lw || lr != lw ||
                    memcmp(hh_i, want, lw) != 0 || memcmp(hh_r, want, lw) != 0) {
                    if (rc == WARD_OK) rc = WARD_EDECRYPT;
                    *why = "handshake hash mismatch";
                    goto out;
                }
                rc = ward_noise_handshake_split(&hi, &i_send, &i_recv);
                if (rc == WARD_OK)
                    rc = ward_noise_handshake_split(&hr, &r_send, &r_recv);
                if (rc != WARD_OK) {
                    *why = "split failed";
                    goto out;
                }
                split = 1;
            }
            continue;
        }
        ward_noise_cipherstate *enc = from_init ? &i_send : &r_send;
        ward_noise_cipherstate *dec = from_init ? &r_recv : &i_recv;
        rc = ward_noise_cipher_encrypt(enc, msg, MSG_CAP, &n, NULL, 0, payload,
                                       plen);
        if (rc != WARD_OK) {
            *why = "transport encrypt failed";
            goto out;
        }
        if (n != clen || memcmp(msg, expect, n) != 0) {
            rc = WARD_EDECRYPT;
            *why = "transport ciphertext mismatch";
            goto out;
        }
        rc = ward_noise_cipher_decrypt(dec, got, MSG_CAP, &n, NULL, 0, msg, clen);
        if (rc != WARD_OK) {
            *why = "transport decrypt failed";
            goto out;
        }
        if (n != plen || memcmp(got, payload, n) != 0) {
            rc = WARD_EDECRYPT;
            *why = "transport payload mismatch";
            goto out;
        }
    }
    *where = -1;
    if (!split) {
        rc = WARD_ETRUNC;
        *why = "vector ends before the handshake completes";
    }
out:
    ward_noise_handshake_clear(&hi);
    ward_noise_handshake_clear(&hr);
    ward_noise_cipher_clear(&i_send);
    ward_noise_cipher_clear(&i_recv);
    ward_noise_cipher_clear(&r_send);
    ward_noise_cipher_clear(&r_recv);
    return rc;
}

int ward_selftest_noise_vectors(ward_selftest_counts *counts, FILE *log,
                                const char *path) {
    WARD_ARG_CHECK(counts != NULL && path != NULL);
    memset(counts, 0, sizeof *counts);

    char *text;
    size_t text_len;
    int rc = read_file_var(&text, &text_len, path);
    if (rc != WARD_OK) return rc;
    ward_json_doc doc;
    rc = ward_json_parse(&doc, text, text_len);
    free(text);
    if (rc != WARD_OK) {
        if (log != NULL && doc.err_msg != NULL)
            fprintf(log, "%s: offset %zu: %s\n", path, doc.err_offset,
                    doc.err_msg);
        return rc;
    }

    size_t arr = 0;
    if (ward_json_type_of(&doc, 0) == WARD_JSON_OBJECT) {
        if (ward_json_object_get(&doc, &arr, 0, "vectors") != WARD_OK)
            arr = SIZE_MAX;
    }
    if (ward_json_type_of(&doc, arr) != WARD_JSON_ARRAY) {
        if (log != NULL) fprintf(log, "%s: no \"vectors\" array\n", path);
        ward_json_free(&doc);
        return WARD_EPARSE;
    }
    uint8_t *scratch = malloc(4 * MSG_CAP);
    if (scratch == NULL) {
        ward_json_free(&doc);
        return WARD_ENOMEM;
    }

    size_t count = doc.nodes[arr].count;
    size_t v = arr + 1;
    for (size_t i = 0; i < count; i++, v = ward_json_next(&doc, v)) {
        const char *name = NULL;
        size_t pn;
        if (ward_json_type_of(&doc, v) == WARD_JSON_OBJECT &&
            ward_json_object_get(&doc, &pn, v, "protocol_name") == WARD_OK)
            name = ward_json_string(&doc, pn, NULL);
        if (name == NULL) {
            counts->failed++;
            if (log != NULL)
                fprintf(log, "noise vector %zu: no protocol_name\n", i);
            continue;
        }
        ward_noise_protocol proto;
        rc = ward_noise_protocol_parse_var(&proto, name);
        if (rc == WARD_EUNSUPPORTED) {
            counts->skipped++;
            continue;
        }
        if (rc != WARD_OK) {
            counts->failed++;
            if (log != NULL)
                fprintf(log, "noise vector %zu (%s): bad protocol name: %s\n",
                        i, name, ward_strerror(rc));
            continue;
        }
        const char *why = "";
        long where = -1;
        rc = run_vector(&doc, v, name, scratch, &why, &where);
        if (rc == WARD_OK) {
            counts->passed++;
        } else {
            counts->failed++;
            if (log != NULL) {
                if (where >= 0)
                    fprintf(log, "noise vector %zu (%s): message %ld: %s (%s)\n",
                            i, name, where, why, ward_errname(rc));
                else
                    fprintf(log, "noise vector %zu (%s): %s (%s)\n", i, name,
                            why, ward_errname(rc));
            }
        }
    }
    free(scratch);
    ward_json_free(&doc);
    return WARD_OK;
}
