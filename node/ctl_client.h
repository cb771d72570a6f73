/* The `ward` command's side of the control socket (driver.h describes the
 * framing): connect, send one Request, wait for its Response. Blocking,
 * with a deadline; used by the CLI, never by the node. */
#ifndef WARD_CTL_CLIENT_H
#define WARD_CTL_CLIENT_H

#include <stddef.h>

#include "control.pb-c.h"

/* Default time to wait for a reply, and the environment variable that
 * overrides it (milliseconds). */
#define WARD_CTL_TIMEOUT_MS 60000
#define WARD_CTL_TIMEOUT_ENV "WARD_TIMEOUT_MS"

/* The timeout from WARD_TIMEOUT_MS, or WARD_CTL_TIMEOUT_MS when it is unset
 * or not a positive number. */
int ward_ctl_timeout_ms(void);

/* Turns the argument of --node into a control socket path: a directory
 * means its node.conf's `control` (ctl.sock in it when it has no
 * node.conf); anything else is taken as the socket path. Returns 0,
 * WARD_ETOOBIG (path too long) or WARD_EPARSE (the directory's node.conf
 * is invalid; msg says where). */
int ward_ctl_socket_path(char *out, size_t out_cap, char *msg, size_t msg_cap, const char *node);

/* Sends req (its version and id are set here) to the node at sock_path
 * and waits up to timeout_ms for the Response with the same id. On success
 * *resp is the decoded Response (free it with
 * ward__control__response__free_unpacked(*resp, NULL)); the Response may
 * itself carry an error. On failure *resp is NULL, msg holds one line and
 * the code is WARD_ENOTFOUND (no node is listening there), WARD_EIO (an
 * I/O error or the deadline passed), WARD_ETRUNC (the node closed the
 * connection early), WARD_EPARSE (malformed response), WARD_ETOOBIG or
 * WARD_ENOMEM. */
int ward_ctl_call(Ward__Control__Response **resp, char *msg, size_t msg_cap,
                  const char *sock_path, Ward__Control__Request *req, int timeout_ms);

/* ward_ctl_call in two halves, so that one thread can have requests at
 * several nodes in flight at once (a client that starts both sides of a
 * two-party session): ward_ctl_send connects and sends, ward_ctl_wait waits
 * for the answer and closes. Same codes and messages as ward_ctl_call.
 * sock_path must stay valid until ward_ctl_wait returns; after a failed
 * send there is nothing to wait for (p holds no connection). */
typedef struct {
    int fd;
    uint64_t id;
    int64_t deadline;
    int timeout_ms;
    const char *sock_path;
} ward_ctl_pending;

int ward_ctl_send(ward_ctl_pending *p, char *msg, size_t msg_cap, const char *sock_path,
                  Ward__Control__Request *req, int timeout_ms);
int ward_ctl_wait(ward_ctl_pending *p, Ward__Control__Response **resp, char *msg, size_t msg_cap);

#endif
