/* The roster: who belongs to the federation (DECISIONS.md "Identity").
 *
 * A plain text file that every node of a federation holds byte for byte:
 *
 *     # comments and blank lines are allowed
 *     federation city-of-example
 *     epoch 3
 *     node energy 10.0.0.7:7400 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29
 *     node transport 10.0.0.5:7400 e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c
 *
 * `federation` and `epoch` come first, once each; then one `node` line per
 * department: name ([a-z0-9-]{1,32}, unique), address (HOST:PORT; HOST a
 * DNS name, an IPv4 address or [IPv6]), X25519 public key (64 hex digits,
 * unique). The roster hash is SHA-256 of the file's exact bytes: nodes
 * compare it in HELLO, so the file is never re-serialised. Members are kept
 * sorted by name (bytewise), which also fixes who dials whom.
 */
#ifndef WARD_ROSTER_H
#define WARD_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#define WARD_ROSTER_MAX_NODES 1024
#define WARD_NAME_MAX 32
#define WARD_FEDERATION_MAX 64
#define WARD_HOST_MAX 255

typedef struct {
    char name[WARD_NAME_MAX + 1];
    char host[WARD_HOST_MAX + 1];   /* without brackets for IPv6 */
    uint16_t port;
    uint8_t pub[32];
} ward_roster_member;

typedef struct {
    char federation[WARD_FEDERATION_MAX + 1];
    uint64_t epoch;
    uint8_t hash[32];               /* SHA-256 of the exact file bytes */
    size_t n_members;
    ward_roster_member *members;    /* sorted by name; owned */
} ward_roster;

/* Where a parse failed, for a message "roster:LINE: REASON". */
typedef struct {
    size_t line;
    char reason[96];
} ward_roster_error;

/* Parses roster text. On failure returns WARD_EPARSE (or WARD_ETOOBIG,
 * WARD_ENOMEM) with *err filled and *roster left empty. Free with
 * ward_roster_free(). */
int ward_roster_parse(ward_roster *roster, ward_roster_error *err,
                      const char *text, size_t len);

void ward_roster_free(ward_roster *roster);

/* Index of the member called `name`, or -1. */
long ward_roster_find(const ward_roster *roster, const char *name);

/* Index of the member with this public key, or -1 (compared in constant
 * time per entry). */
long ward_roster_find_key(const ward_roster *roster, const uint8_t pub[32]);

/* 1 when `name` is a valid node name ([a-z0-9-]{1,32}). */
int ward_name_valid(const char *name);

/* Parses "HOST:PORT" ("[v6]:PORT" for IPv6). Returns 0 or WARD_EPARSE. */
int ward_parse_hostport(char host[WARD_HOST_MAX + 1], uint16_t *port, const char *s);

/* Formats one roster line ("node NAME HOST:PORT PUBHEX\n") into out. */
int ward_roster_format_member(char *out, size_t out_cap, const ward_roster_member *m);

#endif
