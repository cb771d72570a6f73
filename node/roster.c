#include "roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "hex.h"

int ward_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > WARD_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    }
    return 1;
}

static int federation_valid(const char *f) {
    size_t n = strlen(f);
    if (n == 0 || n > WARD_FEDERATION_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = f[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return 0;
    }
    return 1;
}

static int host_valid(const char *h) {
    size_t n = strlen(h);
    if (n == 0 || n > WARD_HOST_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == ':'))
            return 0;
    }
    return 1;
}

int ward_parse_hostport(char host[WARD_HOST_MAX + 1], uint16_t *port, const char *s) {
    WARD_ARG_CHECK(host != NULL && port != NULL && s != NULL);
    const char *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return WARD_EPARSE;
        hlen = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return WARD_EPARSE;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen)) return WARD_EPARSE; /* bare IPv6 needs brackets */
    }
    if (hlen == 0 || hlen > WARD_HOST_MAX) return WARD_EPARSE;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (!host_valid(host)) return WARD_EPARSE;
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5) return WARD_EPARSE;
    unsigned long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return WARD_EPARSE;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535) return WARD_EPARSE;
    *port = (uint16_t)v;
    return WARD_OK;
}

static int cmp_member(const void *a, const void *b) {
    return strcmp(((const ward_roster_member *)a)->name, ((const ward_roster_member *)b)->name);
}

/* Splits a line into at most `max` space-separated words (modifies it). */
static size_t split_words(char *line, char **words, size_t max) {
    size_t n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        words[n++] = w;
    }
    return n;
}

static int fail(ward_roster *r, ward_roster_error *err, size_t line, const char *reason) {
    ward_roster_free(r);
    if (err) {
        err->line = line;
        snprintf(err->reason, sizeof err->reason, "%s", reason);
    }
    return WARD_EPARSE;
}

int ward_roster_parse(ward_roster *r, ward_roster_error *err, const char *text, size_t len) {
    WARD_ARG_CHECK(r != NULL && (text != NULL || len == 0));
    memset(r, 0, sizeof *r);
    if (err) memset(err, 0, sizeof *err);
    if (len > (size_t)4 << 20) return fail(r, err, 0, "roster larger than 4 MiB");
    crypto_hash_sha256(r->hash, (const unsigned char *)text, len);

    int have_fed = 0, have_epoch = 0;
    size_t cap = 0, lineno = 0, pos = 0;
    char line[512];
    while (pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (l >= sizeof line) return fail(r, err, lineno, "line too long");
        memcpy(line, text + pos, l);
        line[l] = '\0';
        pos += l + (nl ? 1 : 0);
        if (l > 0 && line[l - 1] == '\r') line[--l] = '\0';
        if (memchr(line, '\0', l)) return fail(r, err, lineno, "NUL byte");
        char *words[5];
        size_t n = split_words(line, words, 4);
        if (n == 0 || words[0][0] == '#') continue;
        if (strcmp(words[0], "federation") == 0) {
            if (have_fed) return fail(r, err, lineno, "duplicate 'federation' line");
            if (n != 2) return fail(r, err, lineno, "expected 'federation ID'");
            if (!federation_valid(words[1]))
                return fail(r, err, lineno, "federation id must be [A-Za-z0-9._-]{1,64}");
            snprintf(r->federation, sizeof r->federation, "%s", words[1]);
            have_fed = 1;
        } else if (strcmp(words[0], "epoch") == 0) {
            if (!have_fed) return fail(r, err, lineno, "'federation' must come first");
            if (have_epoch) return fail(r, err, lineno, "duplicate 'epoch' line");
            if (n != 2 || strlen(words[1]) > 19 || words[1][0] == '\0')
                return fail(r, err, lineno, "expected 'epoch N'");
            uint64_t e = 0;
            for (const char *p = words[1]; *p; p++) {
                if (*p < '0' || *p > '9') return fail(r, err, lineno, "epoch must be a number");
                e = e * 10 + (uint64_t)(*p - '0');
            }
            r->epoch = e;
            have_epoch = 1;
        } else if (strcmp(words[0], "node") == 0) {
            if (!have_fed || !have_epoch)
                return fail(r, err, lineno, "'federation' and 'epoch' must come before nodes");
            if (n != 4) return fail(r, err, lineno, "expected 'node NAME HOST:PORT PUBKEY'");
            if (r->n_members == WARD_ROSTER_MAX_NODES)
                return fail(r, err, lineno, "too many nodes");
            if (r->n_members == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                ward_roster_member *m = realloc(r->members, ncap * sizeof *m);
                if (!m) {
                    ward_roster_free(r);
                    return WARD_ENOMEM;
                }
                r->members = m;
                cap = ncap;
            }
            ward_roster_member *m = &r->members[r->n_members];
            memset(m, 0, sizeof *m);
            if (!ward_name_valid(words[1]))
                return fail(r, err, lineno, "node name must be [a-z0-9-]{1,32}");
            snprintf(m->name, sizeof m->name, "%s", words[1]);
            if (ward_parse_hostport(m->host, &m->port, words[2]) != WARD_OK)
                return fail(r, err, lineno, "address must be HOST:PORT");
            size_t got = 0;
            if (strlen(words[3]) != 64 ||
                ward_hex_decode_var(m->pub, sizeof m->pub, &got, words[3], 64) != WARD_OK)
                return fail(r, err, lineno, "public key must be 64 hex digits");
            for (size_t i = 0; i < r->n_members; i++) {
                if (strcmp(r->members[i].name, m->name) == 0)
                    return fail(r, err, lineno, "duplicate node name");
                if (memcmp(r->members[i].pub, m->pub, 32) == 0)
                    return fail(r, err, lineno, "duplicate public key");
            }
            r->n_members++;
        } else {
            return fail(r, err, lineno, "unknown keyword (expected federation, epoch or node)");
        }
    }
    if (!have_fed || !have_epoch) return fail(r, err, lineno, "missing 'federation' or 'epoch'");
    if (r->n_members == 0) return fail(r, err, lineno, "no nodes");
    qsort(r->members, r->n_members, sizeof *r->members, cmp_member);
    return WARD_OK;
}

void ward_roster_free(ward_roster *r) {
    if (!r) return;
    free(r->members);
    r->members = NULL;
    r->n_members = 0;
}

long ward_roster_find(const ward_roster *r, const char *name) {
    size_t lo = 0, hi = r->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->members[mid].name, name);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

long ward_roster_find_key(const ward_roster *r, const uint8_t pub[32]) {
    for (size_t i = 0; i < r->n_members; i++)
        if (sodium_memcmp(r->members[i].pub, pub, 32) == 0) return (long)i;
    return -1;
}

int ward_roster_format_member(char *out, size_t out_cap, const ward_roster_member *m) {
    char hex[65];
    ward_hex_encode_var(hex, sizeof hex, m->pub, 32);
    int is_v6 = strchr(m->host, ':') != NULL;
    int n = snprintf(out, out_cap, "node %s %s%s%s:%u %s\n", m->name, is_v6 ? "[" : "",
                     m->host, is_v6 ? "]" : "", (unsigned)m->port, hex);
    return n > 0 && (size_t)n < out_cap ? WARD_OK : WARD_ETOOBIG;
}
