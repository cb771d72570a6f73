#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define LINE_MAX_BYTES 4096

enum {
    K_NAME, K_LISTEN, K_ROSTER, K_KEY, K_DB, K_CONTROL, K_LOG, K_ALLOW_EXACT,
    K_KEEPALIVE, K_IDLE, K_SESSION, K_COUNT
};

static const char *const key_names[K_COUNT] = {
    "name", "listen", "roster", "key", "db", "control", "log", "allow_exact",
    "keepalive_ms", "idle_timeout_ms", "session_timeout_ms",
};

__attribute__((format(printf, 4, 5)))
static int fail(ward_conf_error *err, size_t line, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->line = line;
        vsnprintf(err->reason, sizeof err->reason, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Sets a path field from `value`, joined to dir when relative. The whole
 * buffer is cleared first so that equal confs compare equal bytewise. */
static int set_path(char out[WARD_CONF_PATH_MAX], const char *dir, const char *value) {
    char tmp[WARD_CONF_PATH_MAX];
    int n;
    size_t dlen = dir ? strlen(dir) : 0;
    if (value[0] == '/' || dlen == 0 || strcmp(value, "-") == 0)
        n = snprintf(tmp, sizeof tmp, "%s", value);
    else if (dir[dlen - 1] == '/')
        n = snprintf(tmp, sizeof tmp, "%s%s", dir, value);
    else
        n = snprintf(tmp, sizeof tmp, "%s/%s", dir, value);
    if (n < 0 || (size_t)n >= sizeof tmp) return WARD_ETOOBIG;
    memset(out, 0, WARD_CONF_PATH_MAX);
    memcpy(out, tmp, (size_t)n);
    return WARD_OK;
}

int ward_conf_defaults(ward_conf *conf, const char *dir) {
    WARD_ARG_CHECK(conf != NULL);
    memset(conf, 0, sizeof *conf);
    if (dir && strlen(dir) >= sizeof conf->dir) return WARD_ETOOBIG;
    if (dir) memcpy(conf->dir, dir, strlen(dir));
    if (set_path(conf->roster, dir, "roster") != WARD_OK ||
        set_path(conf->key, dir, "key") != WARD_OK ||
        set_path(conf->db, dir, "node.db") != WARD_OK ||
        set_path(conf->control, dir, "ctl.sock") != WARD_OK ||
        set_path(conf->log, dir, "node.log") != WARD_OK)
        return WARD_ETOOBIG;
    conf->allow_exact = 0;
    conf->keepalive_ms = 2000;
    conf->idle_timeout_ms = 10000;
    conf->session_timeout_ms = 10000;
    return WARD_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t'; }

static int parse_ms(uint32_t *out, const char *v) {
    uint64_t x = 0;
    if (*v == '\0' || strlen(v) > 10) return WARD_EPARSE;
    for (; *v; v++) {
        if (*v < '0' || *v > '9') return WARD_EPARSE;
        x = x * 10 + (uint64_t)(*v - '0');
    }
    if (x < WARD_CONF_MS_MIN || x > WARD_CONF_MS_MAX) return WARD_EPARSE;
    *out = (uint32_t)x;
    return WARD_OK;
}

static int value_printable(const char *v) {
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f) return 0;
    return 1;
}

/* Handles one `key = value` (both trimmed, NUL-terminated). */
static int set_key(ward_conf *conf, ward_conf_error *err, size_t lineno, int k,
                   const char *v, const char *dir) {
    int rc;
    if (*v == '\0') return fail(err, lineno, WARD_EPARSE, "'%s' needs a value", key_names[k]);
    if (!value_printable(v))
        return fail(err, lineno, WARD_EPARSE, "control character in the value of '%s'",
                    key_names[k]);
    switch (k) {
    case K_NAME:
        if (!ward_name_valid(v))
            return fail(err, lineno, WARD_EPARSE,
                        "name must be 1 to 32 of a-z, 0-9 and '-'");
        memset(conf->name, 0, sizeof conf->name);
        memcpy(conf->name, v, strlen(v));
        return WARD_OK;
    case K_LISTEN: {
        char host[WARD_HOST_MAX + 1];
        uint16_t port = 0;
        memset(host, 0, sizeof host);
        if (ward_parse_hostport(host, &port, v) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE,
                        "listen must be HOST:PORT ([v6]:PORT), port 1-65535");
        memcpy(conf->listen_host, host, sizeof host);
        conf->listen_port = port;
        return WARD_OK;
    }
    case K_ROSTER:
    case K_KEY:
    case K_DB:
    case K_CONTROL:
    case K_LOG: {
        char *field = k == K_ROSTER ? conf->roster
                      : k == K_KEY  ? conf->key
                      : k == K_DB   ? conf->db
                      : k == K_CONTROL ? conf->control
                                       : conf->log;
        if (strcmp(v, "-") == 0 && k != K_LOG)
            return fail(err, lineno, WARD_EPARSE, "'-' is only allowed for log");
        rc = set_path(field, dir, v);
        if (rc != WARD_OK)
            return fail(err, lineno, rc, "path of '%s' is too long", key_names[k]);
        return WARD_OK;
    }
    case K_ALLOW_EXACT:
        if (strcmp(v, "yes") == 0) conf->allow_exact = 1;
        else if (strcmp(v, "no") == 0) conf->allow_exact = 0;
        else return fail(err, lineno, WARD_EPARSE, "allow_exact must be yes or no");
        return WARD_OK;
    default: {
        uint32_t *field = k == K_KEEPALIVE ? &conf->keepalive_ms
                          : k == K_IDLE    ? &conf->idle_timeout_ms
                                           : &conf->session_timeout_ms;
        if (parse_ms(field, v) != WARD_OK)
            return fail(err, lineno, WARD_EPARSE,
                        "'%s' must be a whole number of milliseconds from 10 to 86400000",
                        key_names[k]);
        return WARD_OK;
    }
    }
}

int ward_conf_parse(ward_conf *conf, ward_conf_error *err, const char *text, size_t len,
                    const char *dir) {
    WARD_ARG_CHECK(conf != NULL && (text != NULL || len == 0));
    ward_conf_error dummy;
    if (!err) err = &dummy;
    err->line = 0;
    err->reason[0] = '\0';
    int rc = ward_conf_defaults(conf, dir);
    if (rc != WARD_OK) return fail(err, 0, rc, "directory path is too long");
    if (len > WARD_CONF_MAX_BYTES)
        return fail(err, 0, WARD_ETOOBIG, "file is larger than 64 KiB");

    size_t seen[K_COUNT] = {0}; /* line where each key was set, 0 = not set */
    char line[LINE_MAX_BYTES + 1];
    size_t pos = 0, lineno = 0;
    while (pos < len) {
        lineno++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - start) : len - pos;
        pos += llen + (nl ? 1 : 0);
        if (llen > 0 && start[llen - 1] == '\r') llen--;
        if (llen > LINE_MAX_BYTES)
            return fail(err, lineno, WARD_EPARSE, "line longer than 4096 bytes");
        if (memchr(start, '\0', llen))
            return fail(err, lineno, WARD_EPARSE, "NUL byte in line");
        memcpy(line, start, llen);
        line[llen] = '\0';

        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = line;
        while (is_space(*s)) s++;
        char *end = s + strlen(s);
        while (end > s && is_space(end[-1])) *--end = '\0';
        if (*s == '\0') continue;

        char *eq = strchr(s, '=');
        if (!eq) return fail(err, lineno, WARD_EPARSE, "expected 'key = value'");
        char *kend = eq;
        while (kend > s && is_space(kend[-1])) kend--;
        *kend = '\0';
        char *v = eq + 1;
        while (is_space(*v)) v++;
        if (*s == '\0') return fail(err, lineno, WARD_EPARSE, "missing key before '='");

        int k = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (strcmp(s, key_names[i]) == 0) k = i;
        if (k < 0) {
            char shown[40];
            snprintf(shown, sizeof shown, "%.32s%s", s, strlen(s) > 32 ? "..." : "");
            if (!value_printable(shown)) snprintf(shown, sizeof shown, "(unprintable)");
            return fail(err, lineno, WARD_EPARSE, "unknown key '%s'", shown);
        }
        if (seen[k]) {
            return fail(err, lineno, WARD_EPARSE, "duplicate key '%s' (first set on line %zu)",
                        key_names[k], seen[k]);
        }
        seen[k] = lineno;
        rc = set_key(conf, err, lineno, k, v, dir);
        if (rc != WARD_OK) return rc;
    }
    if (!seen[K_NAME]) return fail(err, 0, WARD_EPARSE, "missing required key 'name'");
    if (!seen[K_LISTEN])
        return fail(err, 0, WARD_EPARSE, "missing required key 'listen'");
    if (conf->keepalive_ms >= conf->idle_timeout_ms) {
        size_t l = seen[K_KEEPALIVE] > seen[K_IDLE] ? seen[K_KEEPALIVE] : seen[K_IDLE];
        return fail(err, l, WARD_EPARSE, "keepalive_ms must be less than idle_timeout_ms");
    }
    return WARD_OK;
}

int ward_conf_load(ward_conf *conf, ward_conf_error *err, const char *path) {
    WARD_ARG_CHECK(conf != NULL && path != NULL);
    ward_conf_error dummy;
    if (!err) err = &dummy;
    memset(conf, 0, sizeof *conf);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return fail(err, 0, e == ENOENT ? WARD_ENOTFOUND : WARD_EIO, "%s", strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(err, 0, WARD_EIO, "not a regular file");
    }
    if (st.st_size > WARD_CONF_MAX_BYTES) {
        close(fd);
        return fail(err, 0, WARD_ETOOBIG, "file is larger than 64 KiB");
    }
    char *buf = malloc(WARD_CONF_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        return fail(err, 0, WARD_ENOMEM, "out of memory");
    }
    size_t len = 0;
    int rc = WARD_OK;
    for (;;) {
        ssize_t n = read(fd, buf + len, WARD_CONF_MAX_BYTES + 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { rc = fail(err, 0, WARD_EIO, "%s", strerror(errno)); break; }
        if (n == 0) break;
        len += (size_t)n;
        if (len > WARD_CONF_MAX_BYTES) {
            rc = fail(err, 0, WARD_ETOOBIG, "file is larger than 64 KiB");
            break;
        }
    }
    close(fd);

    /* The directory of the file, made absolute so that the paths stay
     * right whatever the process's working directory becomes. */
    char dir[PATH_MAX];
    if (rc == WARD_OK) {
        char tmp[PATH_MAX];
        const char *slash = strrchr(path, '/');
        if (!slash) {
            snprintf(tmp, sizeof tmp, ".");
        } else if (slash == path) {
            snprintf(tmp, sizeof tmp, "/");
        } else {
            size_t dl = (size_t)(slash - path);
            if (dl >= sizeof tmp) dl = sizeof tmp - 1;
            memcpy(tmp, path, dl);
            tmp[dl] = '\0';
        }
        if (!realpath(tmp, dir))
            rc = fail(err, 0, WARD_EIO, "cannot resolve its directory: %s", strerror(errno));
    }
    if (rc == WARD_OK) rc = ward_conf_parse(conf, err, buf, len, dir);
    free(buf);
    return rc;
}

/* A path as written in the file: relative to dir when inside it (and when
 * reading it back gives the same path). */
static const char *rel_path(const ward_conf *c, const char *p) {
    size_t dl = strlen(c->dir);
    if (dl == 0 || strncmp(p, c->dir, dl) != 0) return p;
    const char *r = p + dl;
    if (c->dir[dl - 1] != '/') {
        if (*r != '/') return p;
        r++;
    }
    if (*r == '\0' || *r == '/' || is_space(*r) || strcmp(r, "-") == 0) return p;
    return r;
}

/* A value is writable when parsing it back gives the same string. */
static int writable(const char *v) {
    size_t n = strlen(v);
    if (n == 0 || is_space(v[0]) || is_space(v[n - 1])) return 0;
    return value_printable(v) && strchr(v, '#') == NULL;
}

int ward_conf_format(char *out, size_t out_cap, size_t *out_len, const ward_conf *conf) {
    WARD_ARG_CHECK(out != NULL && out_cap > 0 && conf != NULL);
    if (!ward_name_valid(conf->name) || conf->listen_port == 0 || conf->listen_host[0] == '\0')
        return WARD_EINVAL;
    const char *paths[5] = {rel_path(conf, conf->roster), rel_path(conf, conf->key),
                            rel_path(conf, conf->db), rel_path(conf, conf->control),
                            rel_path(conf, conf->log)};
    for (int i = 0; i < 5; i++)
        if (!writable(paths[i])) return WARD_EINVAL;
    int v6 = strchr(conf->listen_host, ':') != NULL;
    int n = snprintf(out, out_cap,
        "# ward node configuration (docs/operations.md).\n"
        "# Relative paths are relative to this file's directory.\n"
        "\n"
        "# This node's name in the roster.\n"
        "name = %s\n"
        "# Address to accept peer connections on.\n"
        "listen = %s%s%s:%u\n"
        "\n"
        "roster = %s\n"
        "key = %s\n"
        "db = %s\n"
        "control = %s\n"
        "log = %s\n"
        "\n"
        "# Policy. no: every result that leaves this node is differentially\n"
        "# private. yes: a session may also release exact aggregates (--exact).\n"
        "allow_exact = %s\n"
        "\n"
        "# Channel and session timing, in milliseconds.\n"
        "keepalive_ms = %u\n"
        "idle_timeout_ms = %u\n"
        "session_timeout_ms = %u\n",
        conf->name, v6 ? "[" : "", conf->listen_host, v6 ? "]" : "",
        (unsigned)conf->listen_port, paths[0], paths[1], paths[2], paths[3], paths[4],
        conf->allow_exact ? "yes" : "no", (unsigned)conf->keepalive_ms,
        (unsigned)conf->idle_timeout_ms, (unsigned)conf->session_timeout_ms);
    if (n < 0 || (size_t)n >= out_cap) return WARD_ETOOBIG;
    if (out_len) *out_len = (size_t)n;
    return WARD_OK;
}

int ward_conf_write(const ward_conf *conf, const char *path) {
    WARD_ARG_CHECK(conf != NULL && path != NULL);
    size_t cap = 5 * WARD_CONF_PATH_MAX + 4096, len = 0;
    char *text = malloc(cap);
    if (!text) return WARD_ENOMEM;
    int rc = ward_conf_format(text, cap, &len, conf);
    char tmp[PATH_MAX];
    if (rc == WARD_OK && snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        rc = WARD_ETOOBIG;
    if (rc == WARD_OK) {
        struct stat st;
        if (lstat(path, &st) == 0) rc = WARD_ESTATE;
    }
    if (rc == WARD_OK) {
        unlink(tmp);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0) {
            rc = WARD_EIO;
        } else {
            size_t off = 0;
            while (rc == WARD_OK && off < len) {
                ssize_t n = write(fd, text + off, len - off);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) rc = WARD_EIO;
                else off += (size_t)n;
            }
            if (rc == WARD_OK && fsync(fd) != 0) rc = WARD_EIO;
            if (close(fd) != 0 && rc == WARD_OK) rc = WARD_EIO;
            /* link() refuses to replace a file that appeared meanwhile. */
            if (rc == WARD_OK && link(tmp, path) != 0) rc = errno == EEXIST ? WARD_ESTATE : WARD_EIO;
            unlink(tmp);
        }
    }
    free(text);
    return rc;
}
