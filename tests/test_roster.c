#include <sodium.h>

#include "check.h"
#include "error.h"
#include "roster.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"
#define K3 "3333333333333333333333333333333333333333333333333333333333333333"

static int parse(ward_roster *r, ward_roster_error *e, const char *text) {
    return ward_roster_parse(r, e, text, strlen(text));
}

/* A roster that must be refused at `line`. */
static void bad(const char *text, size_t line) {
    ward_roster r;
    ward_roster_error e;
    int rc = parse(&r, &e, text);
    CHECK_RC(rc, WARD_EPARSE);
    CHECK_EQ_U64(e.line, line);
    CHECK(e.reason[0] != '\0');
    CHECK(r.members == NULL && r.n_members == 0);
}

int main(void) {
    ward_roster r;
    ward_roster_error e;
    const char *good = "# the test city\n"
                       "federation test-city\n"
                       "epoch 7\n"
                       "\n"
                       "node transport 127.0.0.1:7001 " K2 "\n"
                       "node energy localhost:7002 " K1 "\r\n"
                       "node environment [::1]:7003 " K3 "\n";
    CHECK_RC(parse(&r, &e, good), WARD_OK);
    CHECK(strcmp(r.federation, "test-city") == 0);
    CHECK_EQ_U64(r.epoch, 7);
    CHECK_EQ_U64(r.n_members, 3);
    /* sorted by name */
    CHECK(strcmp(r.members[0].name, "energy") == 0);
    CHECK(strcmp(r.members[1].name, "environment") == 0);
    CHECK(strcmp(r.members[2].name, "transport") == 0);
    CHECK(strcmp(r.members[1].host, "::1") == 0);
    CHECK_EQ_U64(r.members[1].port, 7003);
    CHECK(r.members[0].pub[0] == 0x11 && r.members[2].pub[31] == 0x22);
    CHECK_EQ_U64(ward_roster_find(&r, "transport"), 2);
    CHECK(ward_roster_find(&r, "parking") == -1);
    uint8_t k3[32];
    memset(k3, 0x33, 32);
    CHECK_EQ_U64(ward_roster_find_key(&r, k3), 1);
    k3[0] ^= 1;
    CHECK(ward_roster_find_key(&r, k3) == -1);

    /* The hash is SHA-256 of the exact bytes: any change changes it. */
    uint8_t want[32];
    crypto_hash_sha256(want, (const unsigned char *)good, strlen(good));
    CHECK_MEM(r.hash, want, 32);
    ward_roster r2;
    char alt[1024];
    snprintf(alt, sizeof alt, "%s# trailing comment\n", good);
    CHECK_RC(parse(&r2, &e, alt), WARD_OK);
    CHECK(memcmp(r.hash, r2.hash, 32) != 0);
    ward_roster_free(&r2);

    /* Formatting a member gives a line the parser reads back. */
    char line[200];
    CHECK_RC(ward_roster_format_member(line, sizeof line, &r.members[1]), WARD_OK);
    CHECK(strcmp(line, "node environment [::1]:7003 " K3 "\n") == 0);
    CHECK_RC(ward_roster_format_member(line, 10, &r.members[1]), WARD_ETOOBIG);
    ward_roster_free(&r);

    bad("", 0);
    bad("epoch 1\n", 1);
    bad("federation a\nfederation b\n", 2);
    bad("federation a b\n", 1);
    bad("federation a/b\n", 1);
    bad("federation x\nepoch -1\n", 2);
    bad("federation x\nepoch 1\nepoch 2\n", 3);
    bad("federation x\nepoch 1\n", 2);                              /* no nodes */
    bad("federation x\nnode a h:1 " K1 "\n", 2);                     /* node before epoch */
    bad("federation x\nepoch 1\nnode A h:1 " K1 "\n", 3);            /* uppercase name */
    bad("federation x\nepoch 1\nnode a h " K1 "\n", 3);              /* no port */
    bad("federation x\nepoch 1\nnode a h:0 " K1 "\n", 3);            /* port 0 */
    bad("federation x\nepoch 1\nnode a h:65536 " K1 "\n", 3);        /* port too big */
    bad("federation x\nepoch 1\nnode a ::1:80 " K1 "\n", 3);         /* v6 without [] */
    bad("federation x\nepoch 1\nnode a h:1 " K1 "0\n", 3);           /* key too long */
    bad("federation x\nepoch 1\nnode a h:1 zz" K1 "\n", 3);
    bad("federation x\nepoch 1\nnode a h:1 " K1 "\nnode a h:2 " K2 "\n", 4); /* dup name */
    bad("federation x\nepoch 1\nnode a h:1 " K1 "\nnode b h:2 " K1 "\n", 4); /* dup key */
    bad("federation x\nepoch 1\nnode a h:1 " K1 " extra\n", 3);
    bad("federation x\nepoch 1\nnodes a h:1 " K1 "\n", 3);
    bad("federation x\nepoch 1\nnode abcdefghijabcdefghijabcdefghijabc h:1 " K1 "\n", 3);

    /* host:port parsing on its own */
    char host[WARD_HOST_MAX + 1];
    uint16_t port;
    CHECK_RC(ward_parse_hostport(host, &port, "10.0.0.5:7400"), WARD_OK);
    CHECK(strcmp(host, "10.0.0.5") == 0 && port == 7400);
    CHECK_RC(ward_parse_hostport(host, &port, ":7400"), WARD_EPARSE);
    CHECK_RC(ward_parse_hostport(host, &port, "h:"), WARD_EPARSE);
    CHECK_RC(ward_parse_hostport(host, &port, "h:7a"), WARD_EPARSE);
    CHECK_RC(ward_parse_hostport(host, &port, "[::1]7400"), WARD_EPARSE);
    CHECK_RC(ward_parse_hostport(host, &port, "h o:1"), WARD_EPARSE);

    CHECK(ward_name_valid("parking-north"));
    CHECK(!ward_name_valid(""));
    CHECK(!ward_name_valid("a_b"));
    return check_done("roster");
}
