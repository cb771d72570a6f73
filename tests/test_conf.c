#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "error.h"

static ward_conf c, c2;

static int parse(ward_conf_error *e, const char *text, const char *dir) {
    return ward_conf_parse(&c, e, text, strlen(text), dir);
}

/* A conf that must be refused at `line` with a reason containing `what`. */
static void bad(const char *text, int want_rc, size_t line, const char *what) {
    ward_conf_error e;
    int rc = parse(&e, text, "/d");
    CHECK_RC(rc, want_rc);
    CHECK_EQ_U64(e.line, line);
    CHECK(e.reason[0] != '\0');
    if (strstr(e.reason, what) == NULL) {
        fprintf(stderr, "reason '%s' does not mention '%s'\n", e.reason, what);
        CHECK(0);
    }
}

#define HEAD "name = node1\nlisten = 127.0.0.1:7400\n"

static void test_good(void) {
    ward_conf_error e;
    /* Defaults: everything in the node directory, strict policy. */
    CHECK_RC(parse(&e, HEAD, "/var/lib/ward"), WARD_OK);
    CHECK(strcmp(c.name, "node1") == 0);
    CHECK(strcmp(c.listen_host, "127.0.0.1") == 0);
    CHECK_EQ_U64(c.listen_port, 7400);
    CHECK(strcmp(c.roster, "/var/lib/ward/roster") == 0);
    CHECK(strcmp(c.key, "/var/lib/ward/key") == 0);
    CHECK(strcmp(c.db, "/var/lib/ward/node.db") == 0);
    CHECK(strcmp(c.control, "/var/lib/ward/ctl.sock") == 0);
    CHECK(strcmp(c.log, "/var/lib/ward/node.log") == 0);
    CHECK(c.allow_exact == 0);
    CHECK_EQ_U64(c.keepalive_ms, 2000);
    CHECK_EQ_U64(c.idle_timeout_ms, 10000);
    CHECK_EQ_U64(c.session_timeout_ms, 10000);

    /* Every key, comments, odd spacing, CRLF, relative and absolute paths. */
    const char *full = "# node.conf\r\n"
                       "\r\n"
                       "  name=transport   # trailing comment\r\n"
                       "listen\t=\t[::1]:7401\r\n"
                       "roster = /etc/ward/roster\r\n"
                       "key = keys/key\r\n"
                       "db = ../data/node.db\r\n"
                       "control = /run/ward/ctl.sock\r\n"
                       "log = -\r\n"
                       "allow_exact = yes\r\n"
                       "keepalive_ms = 500\r\n"
                       "idle_timeout_ms = 3000\r\n"
                       "session_timeout_ms = 60000"; /* no final newline */
    CHECK_RC(parse(&e, full, "/srv/t/"), WARD_OK);
    CHECK(strcmp(c.name, "transport") == 0);
    CHECK(strcmp(c.listen_host, "::1") == 0);
    CHECK_EQ_U64(c.listen_port, 7401);
    CHECK(strcmp(c.roster, "/etc/ward/roster") == 0);
    CHECK(strcmp(c.key, "/srv/t/keys/key") == 0);
    CHECK(strcmp(c.db, "/srv/t/../data/node.db") == 0);
    CHECK(strcmp(c.control, "/run/ward/ctl.sock") == 0);
    CHECK(strcmp(c.log, "-") == 0);
    CHECK(c.allow_exact == 1);
    CHECK_EQ_U64(c.keepalive_ms, 500);
    CHECK_EQ_U64(c.idle_timeout_ms, 3000);
    CHECK_EQ_U64(c.session_timeout_ms, 60000);

    /* Without a directory, relative paths stay relative. */
    CHECK_RC(parse(&e, HEAD "db = data/x.db\n", NULL), WARD_OK);
    CHECK(strcmp(c.db, "data/x.db") == 0);
    CHECK(strcmp(c.roster, "roster") == 0);
    CHECK_RC(parse(&e, HEAD, "rel/dir"), WARD_OK);
    CHECK(strcmp(c.key, "rel/dir/key") == 0);
    CHECK_RC(parse(&e, HEAD, "/"), WARD_OK);
    CHECK(strcmp(c.key, "/key") == 0);

    /* Empty and comment-only files lack the required keys (line 0). */
    bad("", WARD_EPARSE, 0, "name");
    bad("# nothing\n\n", WARD_EPARSE, 0, "name");
    bad("name = a\n", WARD_EPARSE, 0, "listen");
}

static void test_errors(void) {
    bad(HEAD "colour = blue\n", WARD_EPARSE, 3, "unknown key 'colour'");
    bad(HEAD "\n# c\nname = node2\n", WARD_EPARSE, 5, "duplicate key 'name' (first set on line 1)");
    bad("name = node1\nlisten = h:1\nlisten = h:2\n", WARD_EPARSE, 3, "duplicate");
    bad("name = Node1\nlisten = h:1\n", WARD_EPARSE, 1, "name");
    bad("name = a_b\nlisten = h:1\n", WARD_EPARSE, 1, "name");
    bad("name = 0123456789012345678901234567890123\nlisten = h:1\n", WARD_EPARSE, 1, "name");
    bad("name = a\nlisten = h\n", WARD_EPARSE, 2, "listen");
    bad("name = a\nlisten = h:0\n", WARD_EPARSE, 2, "listen");
    bad("name = a\nlisten = h:65536\n", WARD_EPARSE, 2, "listen");
    bad("name = a\nlisten = ::1:7400\n", WARD_EPARSE, 2, "listen");
    bad("name = a\nlisten = h:12x\n", WARD_EPARSE, 2, "listen");
    bad(HEAD "allow_exact = maybe\n", WARD_EPARSE, 3, "yes or no");
    bad(HEAD "allow_exact = YES\n", WARD_EPARSE, 3, "yes or no");
    bad(HEAD "keepalive_ms = 5\n", WARD_EPARSE, 3, "keepalive_ms");
    bad(HEAD "keepalive_ms = -100\n", WARD_EPARSE, 3, "keepalive_ms");
    bad(HEAD "idle_timeout_ms = 86400001\n", WARD_EPARSE, 3, "idle_timeout_ms");
    bad(HEAD "session_timeout_ms = 99999999999\n", WARD_EPARSE, 3, "session_timeout_ms");
    bad(HEAD "session_timeout_ms = 1e4\n", WARD_EPARSE, 3, "session_timeout_ms");
    bad(HEAD "keepalive_ms = 20000\n", WARD_EPARSE, 3, "less than idle_timeout_ms");
    bad(HEAD "idle_timeout_ms = 1000\n", WARD_EPARSE, 3, "less than idle_timeout_ms");
    bad(HEAD "roster =\n", WARD_EPARSE, 3, "needs a value");
    bad(HEAD "roster = # nothing\n", WARD_EPARSE, 3, "needs a value");
    bad(HEAD "key = -\n", WARD_EPARSE, 3, "only allowed for log");
    bad(HEAD "listen h:1\n", WARD_EPARSE, 3, "key = value");
    bad(HEAD " = x\n", WARD_EPARSE, 3, "missing key");
    bad(HEAD "db = a\x01" "b\n", WARD_EPARSE, 3, "control character");

    /* A NUL byte inside the text (length-delimited input). */
    ward_conf_error e;
    const char nul[] = "name = a\nlisten = h:1\nroster = x\0y\n";
    CHECK_RC(ward_conf_parse(&c, &e, nul, sizeof nul - 1, "/d"), WARD_EPARSE);
    CHECK_EQ_U64(e.line, 3);

    /* Limits. */
    char *big = malloc(WARD_CONF_MAX_BYTES + 2);
    CHECK(big != NULL);
    if (big) {
        memset(big, '#', WARD_CONF_MAX_BYTES + 1);
        CHECK_RC(ward_conf_parse(&c, &e, big, WARD_CONF_MAX_BYTES + 1, "/d"), WARD_ETOOBIG);
        memset(big, ' ', 5000);
        memcpy(big + 5000, "\n", 1);
        CHECK_RC(ward_conf_parse(&c, &e, big, 5001, "/d"), WARD_EPARSE);
        CHECK_EQ_U64(e.line, 1);
        free(big);
    }
    char longpath[WARD_CONF_PATH_MAX + 64];
    int n = snprintf(longpath, sizeof longpath, HEAD "db = ");
    memset(longpath + n, 'x', WARD_CONF_PATH_MAX - 1);
    longpath[n + WARD_CONF_PATH_MAX - 1] = '\0';
    bad(longpath, WARD_ETOOBIG, 3, "too long");
}

static void test_format(void) {
    ward_conf_error e;
    static char text[8192];
    size_t len = 0;
    CHECK_RC(ward_conf_defaults(&c, "/srv/ward/node3"), WARD_OK);
    CHECK_RC(ward_conf_format(text, sizeof text, &len, &c), WARD_EINVAL); /* no name yet */
    memcpy(c.name, "node3", 6);
    memcpy(c.listen_host, "127.0.0.1", 10);
    c.listen_port = 17403;
    c.allow_exact = 1;
    CHECK_RC(ward_conf_format(text, sizeof text, &len, &c), WARD_OK);
    CHECK_EQ_U64(len, strlen(text));
    /* Paths inside the directory are written relative to it. */
    CHECK(strstr(text, "\nroster = roster\n") != NULL);
    CHECK(strstr(text, "\ndb = node.db\n") != NULL);
    CHECK(strstr(text, "\nallow_exact = yes\n") != NULL);
    CHECK(strstr(text, "/srv/ward") == NULL);
    CHECK_RC(ward_conf_parse(&c2, &e, text, len, "/srv/ward/node3"), WARD_OK);
    CHECK(memcmp(&c, &c2, sizeof c) == 0);
    /* Moving the directory moves the paths with it. */
    CHECK_RC(ward_conf_parse(&c2, &e, text, len, "/elsewhere"), WARD_OK);
    CHECK(strcmp(c2.db, "/elsewhere/node.db") == 0);

    /* Paths outside it stay absolute; IPv6 gets its brackets back. */
    const char *t2 = "name = e\nlisten = [fe80::1]:9\nroster = /etc/ward/roster\nlog = -\n"
                     "key = ../k/key\n";
    CHECK_RC(parse(&e, t2, "/srv/e"), WARD_OK);
    CHECK_RC(ward_conf_format(text, sizeof text, &len, &c), WARD_OK);
    CHECK(strstr(text, "\nlisten = [fe80::1]:9\n") != NULL);
    CHECK(strstr(text, "\nroster = /etc/ward/roster\n") != NULL);
    CHECK(strstr(text, "\nlog = -\n") != NULL);
    CHECK(strstr(text, "\nkey = ../k/key\n") != NULL);
    CHECK_RC(ward_conf_parse(&c2, &e, text, len, "/srv/e"), WARD_OK);
    CHECK(memcmp(&c, &c2, sizeof c) == 0);

    /* A path inside the directory whose relative form would lose its
     * leading space stays absolute. */
    CHECK_RC(parse(&e, "name = e\nlisten = h:1\nlog = /srv/e/ x\n", "/srv/e"), WARD_OK);
    CHECK_RC(ward_conf_format(text, sizeof text, &len, &c), WARD_OK);
    CHECK(strstr(text, "\nlog = /srv/e/ x\n") != NULL);
    CHECK_RC(ward_conf_parse(&c2, &e, text, len, "/srv/e"), WARD_OK);
    CHECK(memcmp(&c, &c2, sizeof c) == 0);

    /* A path that would read back differently is refused, not mangled. */
    memcpy(c.db, "/srv/e/a#b", 11);
    CHECK_RC(ward_conf_format(text, sizeof text, &len, &c), WARD_EINVAL);
    CHECK_RC(ward_conf_format(text, 100, &len, &c2), WARD_ETOOBIG);
}

static void test_files(void) {
    char tmpl[] = "/tmp/ward-test-conf-XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir) return;
    char real[PATH_MAX], path[PATH_MAX + 32], sub[PATH_MAX + 32];
    CHECK(realpath(dir, real) != NULL);
    snprintf(path, sizeof path, "%s/node.conf", real);

    ward_conf_error e;
    CHECK_RC(ward_conf_defaults(&c, real), WARD_OK);
    memcpy(c.name, "node7", 6);
    memcpy(c.listen_host, "localhost", 10);
    c.listen_port = 7407;
    CHECK_RC(ward_conf_write(&c, path), WARD_OK);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640);
    /* Never replaces an existing file. */
    CHECK_RC(ward_conf_write(&c, path), WARD_ESTATE);

    /* Loading resolves against the file's directory even when the path
     * given is relative to the working directory. */
    CHECK_RC(ward_conf_load(&c2, &e, path), WARD_OK);
    CHECK(memcmp(&c, &c2, sizeof c) == 0);
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(sub, sizeof sub, "%s/..", real);
    CHECK(chdir(sub) == 0);
    const char *base = strrchr(real, '/') + 1;
    snprintf(sub, sizeof sub, "%s/node.conf", base);
    CHECK_RC(ward_conf_load(&c2, &e, sub), WARD_OK);
    snprintf(sub, sizeof sub, "%s/node.db", real);
    CHECK(strcmp(c2.db, sub) == 0);
    CHECK(chdir(real) == 0);
    CHECK_RC(ward_conf_load(&c2, &e, "node.conf"), WARD_OK);
    snprintf(sub, sizeof sub, "%s/ctl.sock", real);
    CHECK(strcmp(c2.control, sub) == 0);
    CHECK(chdir(cwd) == 0);

    /* Errors of the file itself. */
    snprintf(sub, sizeof sub, "%s/missing.conf", real);
    CHECK_RC(ward_conf_load(&c2, &e, sub), WARD_ENOTFOUND);
    CHECK(e.line == 0 && e.reason[0] != '\0');
    CHECK_RC(ward_conf_load(&c2, &e, real), WARD_EIO); /* a directory */
    snprintf(sub, sizeof sub, "%s/bad.conf", real);
    FILE *f = fopen(sub, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("name = x\nlisten = h:1\n\nbogus = 1\n", f);
        fclose(f);
    }
    CHECK_RC(ward_conf_load(&c2, &e, sub), WARD_EPARSE);
    CHECK_EQ_U64(e.line, 4);
    unlink(sub);
    unlink(path);
    CHECK(rmdir(real) == 0);
}

int main(void) {
    test_good();
    test_errors();
    test_format();
    test_files();
    return check_done("conf");
}
