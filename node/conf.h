/* node.conf: the one configuration file of a node (docs/operations.md).
 *
 *     # comments and blank lines are allowed
 *     name = transport
 *     listen = 10.0.0.5:7400
 *     roster = roster          # relative paths are relative to this file
 *     allow_exact = no
 *
 * One `key = value` per line; whitespace around both is ignored; a `#`
 * starts a comment anywhere on a line (paths cannot contain `#`). Keys:
 *
 *     name                node name, [a-z0-9-]{1,32}            (required)
 *     listen              HOST:PORT to accept peers on           (required)
 *     roster              roster file                            (roster)
 *     key                 X25519 private key file                (key)
 *     db                  SQLite database                        (node.db)
 *     control             control socket                         (ctl.sock)
 *     log                 log file, or `-` for stderr only       (node.log)
 *     allow_exact         yes | no: exact results may leave      (no)
 *     keepalive_ms        ping interval                          (2000)
 *     idle_timeout_ms     close a silent channel                 (10000)
 *     session_timeout_ms  one phase of a session                 (10000)
 *
 * Unknown keys, a key given twice, a missing required key and a bad value
 * are errors that name the line. Parsing is pure: it reads no file, only
 * the text and the directory relative paths are resolved against.
 */
#ifndef WARD_CONF_H
#define WARD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "roster.h"

/* Longest path kept (including resolution against the directory). */
#define WARD_CONF_PATH_MAX 1024

/* Largest node.conf accepted. */
#define WARD_CONF_MAX_BYTES (64 * 1024)

/* Bounds of the *_ms settings. */
#define WARD_CONF_MS_MIN 10u
#define WARD_CONF_MS_MAX 86400000u

typedef struct {
    char dir[WARD_CONF_PATH_MAX];       /* directory of node.conf ("" = cwd) */
    char name[WARD_NAME_MAX + 1];
    char listen_host[WARD_HOST_MAX + 1];/* without brackets for IPv6 */
    uint16_t listen_port;
    char roster[WARD_CONF_PATH_MAX];    /* resolved paths */
    char key[WARD_CONF_PATH_MAX];
    char db[WARD_CONF_PATH_MAX];
    char control[WARD_CONF_PATH_MAX];
    char log[WARD_CONF_PATH_MAX];       /* "-": stderr */
    int allow_exact;
    uint32_t keepalive_ms;
    uint32_t idle_timeout_ms;
    uint32_t session_timeout_ms;
} ward_conf;

/* Where parsing failed, for a message "node.conf:LINE: REASON" (line 0
 * when the error is not about one line, e.g. a missing key). */
typedef struct {
    size_t line;
    char reason[128];
} ward_conf_error;

/* Fills *conf with the defaults for a node directory `dir` (NULL or "" for
 * the current directory); name and listen are left empty. Returns 0 or
 * WARD_ETOOBIG when a default path would exceed WARD_CONF_PATH_MAX. */
int ward_conf_defaults(ward_conf *conf, const char *dir);

/* Parses node.conf text (len bytes, no NUL needed). Relative paths are
 * resolved against `dir` (NULL or "" leaves them relative to the current
 * directory). Returns 0, WARD_EPARSE (with *err filled) or WARD_ETOOBIG
 * (text longer than WARD_CONF_MAX_BYTES, or a path too long, also with
 * *err). On failure *conf holds no meaningful values. */
int ward_conf_parse(ward_conf *conf, ward_conf_error *err, const char *text, size_t len,
                    const char *dir);

/* Reads and parses the file at `path`, resolving relative paths against
 * the absolute form of the file's directory. Returns what ward_conf_parse
 * returns, or WARD_ENOTFOUND / WARD_EIO when the file cannot be read
 * (err->line 0, err->reason says why). */
int ward_conf_load(ward_conf *conf, ward_conf_error *err, const char *path);

/* Writes conf as node.conf text into out (NUL-terminated), with a comment
 * per key. Paths inside conf->dir are written relative to it, so a node
 * directory can be moved. *out_len (may be NULL) receives the length.
 * Returns 0, WARD_EINVAL (name or listen not set) or WARD_ETOOBIG. Parsing
 * the output with the same dir gives back an equal conf. */
int ward_conf_format(char *out, size_t out_cap, size_t *out_len, const ward_conf *conf);

/* ward_conf_format into `path`, created with mode 0640 and without
 * replacing an existing file (WARD_ESTATE if one exists); written to a
 * temporary file, synced and linked into place. */
int ward_conf_write(const ward_conf *conf, const char *path);

#endif
