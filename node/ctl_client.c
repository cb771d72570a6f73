#include "ctl_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "driver.h"
#include "error.h"

int ward_ctl_timeout_ms(void) {
    const char *v = getenv(WARD_CTL_TIMEOUT_ENV);
    if (!v || !*v) return WARD_CTL_TIMEOUT_MS;
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (*end != '\0' || x <= 0 || x > 24L * 3600 * 1000) return WARD_CTL_TIMEOUT_MS;
    return (int)x;
}

int ward_ctl_socket_path(char *out, size_t out_cap, char *msg, size_t msg_cap, const char *node) {
    WARD_ARG_CHECK(out != NULL && out_cap > 0 && msg != NULL && node != NULL);
    msg[0] = '\0';
    struct stat st;
    if (stat(node, &st) == 0 && S_ISDIR(st.st_mode)) {
        char conf_path[WARD_CONF_PATH_MAX + 16];
        snprintf(conf_path, sizeof conf_path, "%s/node.conf", node);
        if (access(conf_path, F_OK) == 0) {
            /* On the heap, not static: `ward run --parallel` resolves
             * @NODE lines from several threads at once. */
            ward_conf *conf = malloc(sizeof *conf);
            if (!conf) {
                snprintf(msg, msg_cap, "out of memory");
                return WARD_ENOMEM;
            }
            ward_conf_error err;
            int rc = ward_conf_load(conf, &err, conf_path);
            if (rc != WARD_OK) {
                if (err.line) snprintf(msg, msg_cap, "%s:%zu: %s", conf_path, err.line, err.reason);
                else snprintf(msg, msg_cap, "%s: %s", conf_path, err.reason);
            } else if (strlen(conf->control) >= out_cap) {
                rc = WARD_ETOOBIG;
            } else {
                memcpy(out, conf->control, strlen(conf->control) + 1);
            }
            free(conf);
            return rc;
        }
        int n = snprintf(out, out_cap, "%s/ctl.sock", node);
        return n > 0 && (size_t)n < out_cap ? WARD_OK : WARD_ETOOBIG;
    }
    if (strlen(node) >= out_cap) return WARD_ETOOBIG;
    memcpy(out, node, strlen(node) + 1);
    return WARD_OK;
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline) {
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) return WARD_EIO;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return WARD_EIO;
        if (n > 0) return WARD_OK;
    }
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline) {
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLOUT, deadline) != WARD_OK) return WARD_EIO;
            continue;
        }
        if (n <= 0) return errno == EPIPE || errno == ECONNRESET ? WARD_ETRUNC : WARD_EIO;
        buf += n;
        len -= (size_t)n;
    }
    return WARD_OK;
}

static int recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline) {
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(fd, POLLIN, deadline) != WARD_OK) return WARD_EIO;
            continue;
        }
        if (n == 0) return WARD_ETRUNC;
        if (n < 0) return errno == ECONNRESET ? WARD_ETRUNC : WARD_EIO;
        buf += n;
        len -= (size_t)n;
    }
    return WARD_OK;
}

int ward_ctl_send(ward_ctl_pending *p, char *msg, size_t msg_cap, const char *sock_path,
                  Ward__Control__Request *req, int timeout_ms) {
    if (p) p->fd = -1;
    WARD_ARG_CHECK(p != NULL && msg != NULL && msg_cap > 0 && sock_path != NULL && req != NULL &&
                   timeout_ms > 0);
    msg[0] = '\0';
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(sock_path) >= sizeof sa.sun_path) {
        snprintf(msg, msg_cap, "control socket path %s is too long", sock_path);
        return WARD_ETOOBIG;
    }
    memcpy(sa.sun_path, sock_path, strlen(sock_path));

    static _Atomic uint64_t counter; /* cmd_run calls from several threads */
    req->version = WARD__CONTROL__CONTROL_VERSION__CONTROL_VERSION;
    req->id = ((uint64_t)getpid() << 20) ^ (uint64_t)mono_ms() ^ ++counter;
    if (req->id == 0) req->id = 1;
    size_t len = ward__control__request__get_packed_size(req);
    if (len > WARD_CTL_MAX_MESSAGE) {
        snprintf(msg, msg_cap, "request of %zu bytes exceeds the 16 MiB limit", len);
        return WARD_ETOOBIG;
    }
    uint8_t *out = malloc(4 + len);
    if (!out) {
        snprintf(msg, msg_cap, "out of memory");
        return WARD_ENOMEM;
    }
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    ward__control__request__pack(req, out + 4);

    int64_t deadline = mono_ms() + timeout_ms;
    int rc = WARD_OK;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(msg, msg_cap, "socket: %s", strerror(errno));
        free(out);
        return WARD_EIO;
    }
    int cr = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    if (cr != 0 && errno == EAGAIN) {
        /* A listener with a full backlog (many clients at once): a Unix
         * socket does not queue the attempt, so try again, within reason. */
        int64_t cdl = mono_ms() + (timeout_ms < 5000 ? timeout_ms : 5000);
        while (cr != 0 && errno == EAGAIN && mono_ms() < cdl) {
            poll(NULL, 0, 1);
            cr = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        }
        if (cr != 0 && errno == EAGAIN) {
            snprintf(msg, msg_cap, "the node at %s does not accept connections", sock_path);
            rc = WARD_EIO;
        }
    }
    if (cr != 0 && rc == WARD_OK) {
        int e = errno;
        if (e == EINPROGRESS) {
            int err = 0;
            socklen_t el = sizeof err;
            if (wait_fd(fd, POLLOUT, deadline) != WARD_OK ||
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                snprintf(msg, msg_cap, "the node at %s does not accept connections", sock_path);
                rc = WARD_EIO;
            }
        } else if (e == ENOENT || e == ECONNREFUSED) {
            snprintf(msg, msg_cap, "no node is running at %s (%s)", sock_path, strerror(e));
            rc = WARD_ENOTFOUND;
        } else {
            snprintf(msg, msg_cap, "cannot connect to %s: %s", sock_path, strerror(e));
            rc = WARD_EIO;
        }
    }
    if (rc == WARD_OK) {
        rc = send_all(fd, out, 4 + len, deadline);
        if (rc != WARD_OK)
            snprintf(msg, msg_cap, "cannot send the request to %s: %s", sock_path,
                     rc == WARD_ETRUNC ? "the node closed the connection" : "timed out");
    }
    free(out);
    if (rc != WARD_OK) {
        close(fd);
        return rc;
    }
    p->fd = fd;
    p->id = req->id;
    p->deadline = deadline;
    p->timeout_ms = timeout_ms;
    p->sock_path = sock_path;
    return WARD_OK;
}

int ward_ctl_wait(ward_ctl_pending *p, Ward__Control__Response **resp, char *msg, size_t msg_cap) {
    WARD_ARG_CHECK(p != NULL && resp != NULL && msg != NULL && msg_cap > 0 && p->fd >= 0);
    *resp = NULL;
    msg[0] = '\0';
    int fd = p->fd, rc = WARD_OK, timeout_ms = p->timeout_ms;
    int64_t deadline = p->deadline;
    const char *sock_path = p->sock_path;

    uint8_t *body = NULL;
    while (rc == WARD_OK) {
        uint8_t hdr[4];
        rc = recv_all(fd, hdr, 4, deadline);
        uint32_t n = 0;
        if (rc == WARD_OK) {
            n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
            if (n > WARD_CTL_MAX_MESSAGE) {
                snprintf(msg, msg_cap, "reply of %u bytes from %s exceeds the limit", (unsigned)n,
                         sock_path);
                rc = WARD_ETOOBIG;
                break;
            }
            body = malloc(n ? n : 1);
            if (!body) {
                snprintf(msg, msg_cap, "out of memory");
                rc = WARD_ENOMEM;
                break;
            }
            rc = recv_all(fd, body, n, deadline);
        }
        if (rc == WARD_ETRUNC) {
            snprintf(msg, msg_cap, "the node at %s closed the connection without replying (it takes at most 64 "
                     "control clients at a time)",
                     sock_path);
            break;
        }
        if (rc != WARD_OK) {
            snprintf(msg, msg_cap, "no reply from the node at %s within %d ms (%s=%s)",
                     sock_path, timeout_ms, WARD_CTL_TIMEOUT_ENV,
                     getenv(WARD_CTL_TIMEOUT_ENV) ? getenv(WARD_CTL_TIMEOUT_ENV) : "unset");
            break;
        }
        Ward__Control__Response *r = ward__control__response__unpack(NULL, n, body);
        free(body);
        body = NULL;
        if (!r) {
            snprintf(msg, msg_cap, "malformed reply from the node at %s", sock_path);
            rc = WARD_EPARSE;
            break;
        }
        /* A reply with id 0 answers a request the node could not read. */
        if (r->id == p->id || r->id == 0) {
            *resp = r;
            break;
        }
        ward__control__response__free_unpacked(r, NULL);
    }
    free(body);
    close(fd);
    p->fd = -1;
    return rc;
}

int ward_ctl_call(Ward__Control__Response **resp, char *msg, size_t msg_cap,
                  const char *sock_path, Ward__Control__Request *req, int timeout_ms) {
    WARD_ARG_CHECK(resp != NULL);
    *resp = NULL;
    ward_ctl_pending p;
    int rc = ward_ctl_send(&p, msg, msg_cap, sock_path, req, timeout_ms);
    return rc == WARD_OK ? ward_ctl_wait(&p, resp, msg, msg_cap) : rc;
}
