#include "driver.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "conf.h"
#include "core.h"
#include "error.h"
#include "import_job.h"
#include "keyfile.h"
#include "rng.h"
#include "policy.h"
#include "readfile.h"
#include "roster.h"
#include "store.h"

#define ROSTER_MAX_BYTES (4u << 20)
#define WRITE_QUEUE_MAX ((size_t)64 << 20)
#define MAX_INBOUND 1024
#define MAX_CLIENTS 64
#define LINGER_MS 2000      /* a closing connection waits this long for the peer's EOF */
#define HOUSEKEEPING_MS 500
#define READ_BUF_BYTES 65536
#define LOG_LINE_MAX 1024

/* ---- id -> object map -------------------------------------------------
 * Open addressing with linear probing and backward-shift deletion; key 0
 * marks an empty slot (no connection, timer or client id is 0). */
typedef struct {
    uint64_t *keys;
    void **vals;
    size_t cap, len;
} idmap;

static size_t idmap_home(uint64_t k, size_t cap) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static void *idmap_get(const idmap *m, uint64_t k) {
    if (m->cap == 0 || k == 0) return NULL;
    for (size_t i = idmap_home(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k) return m->vals[i];
        if (m->keys[i] == 0) return NULL;
    }
}

static void idmap_insert_raw(idmap *m, uint64_t k, void *v) {
    size_t i = idmap_home(k, m->cap);
    while (m->keys[i] != 0 && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0) m->len++;
    m->keys[i] = k;
    m->vals[i] = v;
}

static int idmap_put(idmap *m, uint64_t k, void *v) {
    if (k == 0) return WARD_EINVAL;
    if ((m->len + 1) * 4 > m->cap * 3) {
        size_t ncap = m->cap ? 2 * m->cap : 16;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        void **nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return WARD_ENOMEM;
        }
        idmap old = *m;
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
        m->len = 0;
        for (size_t i = 0; i < old.cap; i++)
            if (old.keys[i]) idmap_insert_raw(m, old.keys[i], old.vals[i]);
        free(old.keys);
        free(old.vals);
    }
    idmap_insert_raw(m, k, v);
    return WARD_OK;
}

static void idmap_del(idmap *m, uint64_t k) {
    if (m->cap == 0 || k == 0) return;
    size_t mask = m->cap - 1, i = idmap_home(k, m->cap);
    while (m->keys[i] != k) {
        if (m->keys[i] == 0) return;
        i = (i + 1) & mask;
    }
    m->keys[i] = 0;
    m->vals[i] = NULL;
    m->len--;
    for (size_t j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
        size_t h = idmap_home(m->keys[j], m->cap);
        int movable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->keys[j] = 0;
            m->vals[j] = NULL;
            i = j;
        }
    }
}

/* The values, copied out so that the caller may change the map while it
 * walks them. Returns the count; *out is NULL when there are none. */
static size_t idmap_values(const idmap *m, void ***out) {
    *out = NULL;
    if (m->len == 0) return 0;
    void **v = malloc(m->len * sizeof *v);
    if (!v) return 0;
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) v[n++] = m->vals[i];
    *out = v;
    return n;
}

static void idmap_free(idmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---- objects ------------------------------------------------------------ */

typedef struct dconn {
    struct ward_driver *d;
    uint64_t id;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    uv_shutdown_t sreq;
    char host[WARD_HOST_MAX + 1];
    uint16_t port;
    int outbound;
    int counted;         /* counts against MAX_INBOUND */
    int handle_open;     /* tcp initialised, close callback not yet run */
    int gai_pending;
    int connected;
    int closing;
    uint64_t closing_since;
} dconn;

typedef struct dclient {
    struct ward_driver *d;
    uint64_t id;
    uv_pipe_t pipe;
    uv_shutdown_t sreq;
    uint8_t *buf;
    size_t len, cap;
    int handle_open;
    int closing;
    uint64_t closing_since;
} dclient;

typedef struct dtimer {
    struct ward_driver *d;
    uint64_t id;
    uv_timer_t h;
    /* on the driver's "soon" list: due already, fires after the next poll */
    struct dtimer *soon_prev, *soon_next;
    int soon;
    uint64_t soon_pass;  /* the driver's soon_pass when it was queued */
} dtimer;

typedef struct qev {
    struct qev *next;
    ward_core_event ev;
    uint8_t data[];
} qev;

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
    uint8_t data[];
} wreq;

/* A job the core asked for (WARD_ACT_JOB), run on libuv's thread pool. */
typedef struct djob {
    uv_work_t req;
    struct ward_driver *d;
    uint64_t id;
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len;
    char db[PATH_MAX];
    char staging[PATH_MAX + 32];
} djob;

/* A frame the core asked to send, held until the end of its action list. */
typedef struct {
    uint64_t conn;
    const uint8_t *data;
    size_t len;
} pend_send;

struct ward_driver {
    uv_loop_t loop;
    int loop_init;
    ward_conf conf;
    ward_roster roster;
    ward_store store;
    ward_rng rng;
    int rng_init;
    ward_core *core;
    ward_actions acts;
    pend_send *pend;               /* sends of the action list being run */
    size_t n_pend, cap_pend;
    uv_buf_t *iov;                 /* scratch for one connection's frames */
    size_t cap_iov;
    uint8_t priv[WARD_KEY_BYTES];
    ward_policy policy;  /* from DIR/policy when present */
    int has_policy;

    int log_fd;          /* -1: none */
    int log_stderr;      /* echo log lines to stderr */
    int log_level;
    int64_t clock_offset;/* Unix ms at start minus uv_now at start */

    uv_tcp_t listener;
    uv_pipe_t ctl;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t grace, house;
    int listener_open, ctl_open, ctl_bound, sigs_open, grace_open, house_open;
    /* Timers the core sets for "now" (a long job cut into steps) fire from
     * a check handle, after the loop has polled for I/O, instead of from
     * libuv's timer phase, which would run a timer set during a timer's
     * callback in the same pass: the steps would then run back to back
     * and starve every socket until the last. The idle handle keeps that
     * poll from blocking while any are due. */
    uv_check_t soon_check;
    uv_idle_t soon_idle;
    int soon_open;
    dtimer *soon_head, *soon_tail;
    uint64_t soon_pass;

    idmap conns, clients, timers;
    size_t live;         /* conns, clients and timers not yet freed */
    size_t n_inbound, n_clients;
    uint64_t next_inbound, next_client;
    uint64_t refused_logged_ms;

    qev *q_head, *q_tail;
    int dispatching;

    /* Flushing the database's write-ahead log off the event loop. */
    int wal_fd;          /* -1 until the log file exists */
    uv_fs_t sync_req;
    int sync_busy;
    uint64_t synced_changes, sync_target;
    int stopping;        /* ward_core_shutdown called */
    int finishing;       /* closing every handle */
    int forced;

    uint8_t readbuf[READ_BUF_BYTES];
};

/* ---- time and logging ---------------------------------------------------- */

static uint64_t now_ms(ward_driver *d) {
    uv_update_time(&d->loop);
    return (uint64_t)((int64_t)uv_now(&d->loop) + d->clock_offset);
}

static int64_t unix_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

/* One line: ISO-8601 UTC time with milliseconds, level, text. Control
 * characters in the text become spaces so that a line stays one line. */
static void log_emit(ward_driver *d, int level, const char *text, int to_stderr) {
    if (level < WARD_LOG_ERROR) level = WARD_LOG_ERROR;
    if (level > WARD_LOG_DEBUG) level = WARD_LOG_DEBUG;
    if (level > d->log_level) return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char line[LOG_LINE_MAX + 64];
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
    if (n < 0) return;
    size_t pos = (size_t)n;
    for (const char *p = text; *p && pos < sizeof line - 2; p++)
        line[pos++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
    line[pos++] = '\n';
    if (d->log_fd >= 0) write_all(d->log_fd, line, pos);
    if (to_stderr && d->log_stderr) write_all(STDERR_FILENO, line, pos);
}

__attribute__((format(printf, 3, 4)))
static void dlog(ward_driver *d, int level, const char *fmt, ...) {
    char text[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    log_emit(d, level, text, 1);
}

static int log_open(ward_driver *d, char *msg, size_t msg_cap) {
    if (strcmp(d->conf.log, "-") == 0) {
        d->log_fd = -1;
        d->log_stderr = 1;
        return WARD_OK;
    }
    int fd = open(d->conf.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(msg, msg_cap, "cannot open log file %s: %s", d->conf.log, strerror(errno));
        return WARD_EIO;
    }
    /* Echo to stderr unless stderr already is the log file (ward sim up
     * sends a node's stderr there). */
    struct stat a, b;
    d->log_stderr = !(fstat(fd, &a) == 0 && fstat(STDERR_FILENO, &b) == 0 &&
                      a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    if (d->log_fd >= 0) close(d->log_fd);
    d->log_fd = fd;
    return WARD_OK;
}

static int log_level_from_env(void) {
    const char *v = getenv("WARD_LOG_LEVEL");
    if (!v) return WARD_LOG_INFO;
    for (int i = 0; i < 4; i++)
        if (strcasecmp(v, level_names[i]) == 0) return i;
    if (strcasecmp(v, "warning") == 0) return WARD_LOG_WARN;
    return WARD_LOG_INFO;
}

/* ---- dispatching events to the core -------------------------------------- */

static void run_actions(ward_driver *d);
static void maybe_sync(ward_driver *d);

static void handle_event(ward_driver *d, const ward_core_event *ev) {
    if (!d->core || d->finishing) return;
    int rc = ward_core_handle(d->core, &d->acts, ev, now_ms(d));
    if (rc != WARD_OK) dlog(d, WARD_LOG_ERROR, "core refused event %d: %s", (int)ev->kind,
                            ward_strerror(rc));
    run_actions(d);
}

/* Feeds one event, or queues a copy when called while actions of an
 * earlier event are being carried out (the core is never re-entered). */
static void dispatch(ward_driver *d, const ward_core_event *ev) {
    if (d->dispatching) {
        if (!ev) return; /* signals never arrive while the core runs */
        qev *q = malloc(sizeof *q + ev->len);
        if (!q) {
            dlog(d, WARD_LOG_ERROR, "out of memory queueing an event");
            return;
        }
        q->next = NULL;
        q->ev = *ev;
        if (ev->len) memcpy(q->data, ev->data, ev->len);
        q->ev.data = ev->len ? q->data : NULL;
        if (d->q_tail) d->q_tail->next = q;
        else d->q_head = q;
        d->q_tail = q;
        return;
    }
    d->dispatching = 1;
    if (ev) {
        handle_event(d, ev);
    } else if (d->core) {
        /* NULL: the orderly stop. */
        int rc = ward_core_shutdown(d->core, &d->acts, now_ms(d));
        if (rc != WARD_OK) dlog(d, WARD_LOG_ERROR, "shutdown: %s", ward_strerror(rc));
        run_actions(d);
    }
    while (d->q_head) {
        qev *q = d->q_head;
        d->q_head = q->next;
        if (!d->q_head) d->q_tail = NULL;
        handle_event(d, &q->ev);
        free(q);
    }
    d->dispatching = 0;
    maybe_sync(d);
}

static void dispatch_simple(ward_driver *d, ward_event_kind kind, uint64_t conn, uint64_t client) {
    ward_core_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.conn = conn;
    ev.client = client;
    dispatch(d, &ev);
}

/* ---- flushing the log ------------------------------------------------------ */
/* Session records are committed without waiting for the disk
 * (ward_audit_append_relaxed); after each event whose handling wrote to the
 * database, the "-wal" file is flushed by libuv's thread pool, so that the
 * node keeps answering its peers meanwhile and a record is on disk a flush
 * later (a few ms), not at the next checkpoint. Commits that must be on
 * disk first still flush themselves (synchronous=FULL). */
static void on_synced(uv_fs_t *req) {
    ward_driver *d = req->data;
    int failed = req->result < 0;
    if (failed)
        dlog(d, WARD_LOG_ERROR, "flushing the database log failed: %s",
             uv_strerror((int)req->result));
    else
        d->synced_changes = d->sync_target;
    d->sync_busy = 0;
    uv_fs_req_cleanup(req);
    if (!failed) maybe_sync(d);
}

static void maybe_sync(ward_driver *d) {
    if (d->sync_busy || d->finishing || !d->store.db) return;
    uint64_t ch = ward_store_changes(&d->store);
    if (ch == d->synced_changes) return;
    if (d->wal_fd < 0) {
        char p[sizeof d->conf.db + 8];
        snprintf(p, sizeof p, "%s-wal", d->conf.db);
        d->wal_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (d->wal_fd < 0) return;
    }
    d->sync_target = ch;
    d->sync_req.data = d;
    if (uv_fs_fdatasync(&d->loop, &d->sync_req, d->wal_fd, on_synced) == 0) d->sync_busy = 1;
}

/* ---- finishing ------------------------------------------------------------ */

static void close_statics(ward_driver *d) {
    if (d->soon_open) {
        uv_close((uv_handle_t *)&d->soon_check, NULL);
        uv_close((uv_handle_t *)&d->soon_idle, NULL);
        d->soon_open = 0;
    }
    if (d->grace_open) {
        uv_close((uv_handle_t *)&d->grace, NULL);
        d->grace_open = 0;
    }
    if (d->house_open) {
        uv_close((uv_handle_t *)&d->house, NULL);
        d->house_open = 0;
    }
    if (d->sigs_open) {
        uv_close((uv_handle_t *)&d->sig_term, NULL);
        uv_close((uv_handle_t *)&d->sig_int, NULL);
        uv_close((uv_handle_t *)&d->sig_hup, NULL);
        d->sigs_open = 0;
    }
}

static void maybe_finished(ward_driver *d) {
    if (d->finishing && d->live == 0) close_statics(d);
}

/* ---- peer connections ------------------------------------------------------ */

static void conn_maybe_free(dconn *c) {
    if (c->handle_open || c->gai_pending) return;
    ward_driver *d = c->d;
    if (idmap_get(&d->conns, c->id) == c) idmap_del(&d->conns, c->id);
    if (c->counted) d->n_inbound--;
    free(c);
    d->live--;
    maybe_finished(d);
}

static void on_conn_closed(uv_handle_t *h) {
    dconn *c = h->data;
    c->handle_open = 0;
    conn_maybe_free(c);
}

static void conn_close_handle(dconn *c) {
    if (c->handle_open && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_conn_shutdown(uv_shutdown_t *req, int status) {
    dconn *c = req->data;
    /* Pending writes are out; wait for the peer's EOF (read callback) or
     * the linger time, so a close with unread input does not reset the
     * connection before the peer has read what we sent. */
    if (status < 0) conn_close_handle(c);
}

/* Closes a connection. report: tell the core (it did not ask for it).
 * graceful: write what is queued first. */
static void conn_close(dconn *c, int report, int graceful) {
    if (c->closing) return;
    ward_driver *d = c->d;
    c->closing = 1;
    c->closing_since = now_ms(d);
    if (report) dispatch_simple(d, WARD_EV_CONN_CLOSED, c->id, 0);
    if (c->gai_pending) uv_cancel((uv_req_t *)&c->gai);
    if (c->handle_open) {
        if (graceful && c->connected) {
            c->sreq.data = c;
            if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_conn_shutdown) == 0) return;
        }
        conn_close_handle(c);
    } else {
        conn_maybe_free(c);
    }
}

static void conn_fail(dconn *c, int uvrc, const char *what) {
    dlog(c->d, WARD_LOG_DEBUG, "connection %" PRIu64 " (%s:%u): %s: %s", c->id,
         c->host[0] ? c->host : "inbound", (unsigned)c->port, what, uv_strerror(uvrc));
    conn_close(c, 1, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    ward_driver *d = h->loop->data;
    /* One buffer for all streams: libuv reads one stream at a time and
     * every read callback consumes the bytes before returning. */
    *buf = uv_buf_init((char *)d->readbuf, sizeof d->readbuf);
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    dconn *c = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        if (c->closing) {
            conn_close_handle(c);
        } else {
            if (nread != UV_EOF)
                dlog(c->d, WARD_LOG_DEBUG, "connection %" PRIu64 ": %s", c->id,
                     uv_strerror((int)nread));
            conn_close(c, 1, 0);
        }
        return;
    }
    if (c->closing) return; /* draining until the peer's EOF */
    ward_core_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WARD_EV_CONN_DATA;
    ev.conn = c->id;
    ev.data = (const uint8_t *)buf->base;
    ev.len = (size_t)nread;
    dispatch(c->d, &ev);
}

static void conn_started(dconn *c) {
    c->connected = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_conn_read);
    if (rc != 0) {
        conn_fail(c, rc, "read");
        return;
    }
    dispatch_simple(c->d, WARD_EV_CONN_OPEN, c->id, 0);
}

static void on_connected(uv_connect_t *req, int status) {
    dconn *c = req->data;
    if (status == UV_ECANCELED || c->closing) return;
    if (status < 0) {
        conn_fail(c, status, "connect");
        return;
    }
    conn_started(c);
}

static void conn_connect_addr(dconn *c, const struct sockaddr *addr) {
    ward_driver *d = c->d;
    int rc = uv_tcp_init(&d->loop, &c->tcp);
    if (rc != 0) {
        conn_fail(c, rc, "socket");
        return;
    }
    c->handle_open = 1;
    c->tcp.data = c;
    c->creq.data = c;
    rc = uv_tcp_connect(&c->creq, &c->tcp, addr, on_connected);
    if (rc != 0) conn_fail(c, rc, "connect");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    dconn *c = req->data;
    c->gai_pending = 0;
    if (c->closing) {
        if (res) uv_freeaddrinfo(res);
        conn_maybe_free(c);
        return;
    }
    if (status < 0 || !res) {
        conn_fail(c, status < 0 ? status : UV_EAI_NONAME, "resolve");
    } else {
        conn_connect_addr(c, res->ai_addr);
    }
    if (res) uv_freeaddrinfo(res);
}

static dconn *conn_new(ward_driver *d, uint64_t id) {
    dconn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->d = d;
    c->id = id;
    if (idmap_put(&d->conns, id, c) != WARD_OK) {
        free(c);
        return NULL;
    }
    d->live++;
    return c;
}

static void act_connect(ward_driver *d, const ward_action *a) {
    if (d->finishing) return;
    if (idmap_get(&d->conns, a->conn)) {
        dlog(d, WARD_LOG_ERROR, "core reused connection id %" PRIu64, a->conn);
        return;
    }
    dconn *c = conn_new(d, a->conn);
    if (!c) {
        dlog(d, WARD_LOG_ERROR, "out of memory for a connection");
        dispatch_simple(d, WARD_EV_CONN_CLOSED, a->conn, 0);
        return;
    }
    c->outbound = 1;
    snprintf(c->host, sizeof c->host, "%s", a->host ? a->host : "");
    c->port = a->port;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&ss) == 0) {
        conn_connect_addr(c, (const struct sockaddr *)&ss);
        return;
    }
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)c->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    int rc = uv_getaddrinfo(&d->loop, &c->gai, on_resolved, c->host, port, &hints);
    if (rc != 0) conn_fail(c, rc, "resolve");
    else c->gai_pending = 1;
}

static void on_conn_written(uv_write_t *req, int status) {
    dconn *c = req->handle->data;
    free(req->data);
    if (status < 0 && status != UV_ECANCELED && !c->closing) conn_fail(c, status, "write");
}

/* Writes frames to a peer, in order, with as few system calls as the
 * socket allows: one writev when nothing is queued, and one queued request
 * with a copy of whatever did not fit. */
static void conn_writev(dconn *c, uv_buf_t *bufs, size_t n) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += bufs[i].len;
    if (len == 0) return;
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (queued > WRITE_QUEUE_MAX) {
        dlog(c->d, WARD_LOG_WARN,
             "connection %" PRIu64 ": peer is not reading (%zu bytes queued); closing", c->id,
             queued);
        conn_close(c, 1, 0);
        return;
    }
    /* Most frames fit the socket buffer at once: writing them directly
     * spares a request, a copy and the poll-for-writable round per frame.
     * libuv refuses (UV_EAGAIN) while earlier writes are queued, so the
     * order of the stream is kept. */
    size_t skip = 0; /* bytes already written */
    if (queued == 0) {
        int w = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)(n < 1024 ? n : 1024));
        if (w > 0) skip = (size_t)w;
        if (skip == len) return;
    }
    wreq *w = malloc(sizeof *w + (len - skip));
    if (!w) {
        dlog(c->d, WARD_LOG_ERROR, "out of memory for a write");
        conn_close(c, 1, 0);
        return;
    }
    size_t off = 0, pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bl = bufs[i].len, from = 0;
        if (pos + bl <= skip) {
            pos += bl;
            continue;
        }
        if (pos < skip) from = skip - pos;
        memcpy(w->data + off, bufs[i].base + from, bl - from);
        off += bl - from;
        pos += bl;
    }
    w->buf = uv_buf_init((char *)w->data, (unsigned)off);
    w->req.data = w;
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_conn_written);
    if (rc != 0) {
        free(w);
        conn_fail(c, rc, "write");
    }
}

/* Sends the frames held since the action list began, one writev per
 * connection (a session's messages to one peer, or many sessions' in a
 * busy node, leave together). */
static void flush_sends(ward_driver *d) {
    for (size_t i = 0; i < d->n_pend; i++) {
        uint64_t id = d->pend[i].conn;
        if (id == 0) continue;
        size_t m = 0;
        for (size_t j = i; j < d->n_pend; j++) {
            if (d->pend[j].conn != id) continue;
            d->iov[m++] = uv_buf_init((char *)d->pend[j].data, (unsigned)d->pend[j].len);
            d->pend[j].conn = 0;
        }
        dconn *c = idmap_get(&d->conns, id);
        if (c && c->connected && !c->closing) conn_writev(c, d->iov, m);
    }
    d->n_pend = 0;
}

static int hold_send(ward_driver *d, uint64_t conn, const uint8_t *data, size_t len) {
    if (d->n_pend == d->cap_pend) {
        size_t cap = d->cap_pend ? 2 * d->cap_pend : 64;
        pend_send *p = realloc(d->pend, cap * sizeof *p);
        uv_buf_t *v = realloc(d->iov, cap * sizeof *v);
        if (p) d->pend = p;
        if (v) d->iov = v;
        if (!p || !v) return -1;
        d->cap_pend = d->cap_iov = cap;
    }
    d->pend[d->n_pend++] = (pend_send){conn, data, len};
    return 0;
}

static void on_peer_connection(uv_stream_t *server, int status) {
    ward_driver *d = server->data;
    if (status < 0) {
        dlog(d, WARD_LOG_WARN, "accepting a peer connection failed: %s", uv_strerror(status));
        return;
    }
    dconn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->d = d;
    d->live++;
    if (uv_tcp_init(&d->loop, &c->tcp) != 0) {
        free(c);
        d->live--;
        return;
    }
    c->handle_open = 1;
    c->tcp.data = c;
    c->closing = 1; /* until it is registered */
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close_handle(c);
        return;
    }
    if (d->finishing || d->n_inbound >= MAX_INBOUND) {
        uint64_t now = now_ms(d);
        if (!d->finishing && now - d->refused_logged_ms > 10000) {
            d->refused_logged_ms = now;
            dlog(d, WARD_LOG_WARN, "refusing inbound connections: %d already open",
                 MAX_INBOUND);
        }
        conn_close_handle(c);
        return;
    }
    c->id = d->next_inbound;
    d->next_inbound += 2;
    if (idmap_put(&d->conns, c->id, c) != WARD_OK) {
        conn_close_handle(c);
        return;
    }
    c->closing = 0;
    c->counted = 1;
    d->n_inbound++;
    conn_started(c);
}

/* ---- control clients -------------------------------------------------------- */

static void client_maybe_free(dclient *cl) {
    if (cl->handle_open) return;
    ward_driver *d = cl->d;
    if (idmap_get(&d->clients, cl->id) == cl) {
        idmap_del(&d->clients, cl->id);
        d->n_clients--;
    }
    free(cl->buf);
    free(cl);
    d->live--;
    maybe_finished(d);
}

static void on_client_closed(uv_handle_t *h) {
    dclient *cl = h->data;
    cl->handle_open = 0;
    client_maybe_free(cl);
}

static void client_close_handle(dclient *cl) {
    if (cl->handle_open && !uv_is_closing((uv_handle_t *)&cl->pipe))
        uv_close((uv_handle_t *)&cl->pipe, on_client_closed);
}

static void on_client_shutdown(uv_shutdown_t *req, int status) {
    dclient *cl = req->data;
    if (status < 0) client_close_handle(cl);
}

static void client_close(dclient *cl, int report, int graceful) {
    if (cl->closing) return;
    cl->closing = 1;
    cl->closing_since = now_ms(cl->d);
    if (report) dispatch_simple(cl->d, WARD_EV_CTL_CLOSED, 0, cl->id);
    if (graceful && cl->handle_open) {
        cl->sreq.data = cl;
        if (uv_shutdown(&cl->sreq, (uv_stream_t *)&cl->pipe, on_client_shutdown) == 0) return;
    }
    client_close_handle(cl);
}

static void on_client_written(uv_write_t *req, int status) {
    dclient *cl = req->handle->data;
    free(req->data);
    if (status < 0 && status != UV_ECANCELED && !cl->closing) client_close(cl, 1, 0);
}

static void client_reply(dclient *cl, const uint8_t *data, size_t len) {
    if (len > WARD_CTL_MAX_MESSAGE) {
        dlog(cl->d, WARD_LOG_ERROR, "control reply of %zu bytes exceeds the limit; dropped", len);
        client_close(cl, 1, 0);
        return;
    }
    wreq *w = malloc(sizeof *w + 4 + len);
    if (!w) {
        client_close(cl, 1, 0);
        return;
    }
    w->data[0] = (uint8_t)(len >> 24);
    w->data[1] = (uint8_t)(len >> 16);
    w->data[2] = (uint8_t)(len >> 8);
    w->data[3] = (uint8_t)len;
    if (len) memcpy(w->data + 4, data, len);
    w->buf = uv_buf_init((char *)w->data, (unsigned)(4 + len));
    w->req.data = w;
    if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &w->buf, 1, on_client_written) != 0) {
        free(w);
        client_close(cl, 1, 0);
    }
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    dclient *cl = s->data;
    ward_driver *d = cl->d;
    if (nread == 0) return;
    if (nread < 0) {
        if (cl->closing) client_close_handle(cl);
        else client_close(cl, 1, 0);
        return;
    }
    if (cl->closing) return;
    size_t need = cl->len + (size_t)nread;
    if (need > cl->cap) {
        size_t ncap = cl->cap ? cl->cap : 4096;
        while (ncap < need) ncap *= 2;
        uint8_t *nb = realloc(cl->buf, ncap);
        if (!nb) {
            dlog(d, WARD_LOG_ERROR, "out of memory reading a control request");
            client_close(cl, 1, 0);
            return;
        }
        cl->buf = nb;
        cl->cap = ncap;
    }
    memcpy(cl->buf + cl->len, buf->base, (size_t)nread);
    cl->len = need;
    while (!cl->closing && cl->len >= 4) {
        uint32_t n = (uint32_t)cl->buf[0] << 24 | (uint32_t)cl->buf[1] << 16 |
                     (uint32_t)cl->buf[2] << 8 | (uint32_t)cl->buf[3];
        if (n == 0 || n > WARD_CTL_MAX_MESSAGE) {
            dlog(d, WARD_LOG_WARN,
                 "control client %" PRIu64 ": message length %" PRIu32
                 " is not 1 byte to 16 MiB; closing",
                 cl->id, n);
            client_close(cl, 1, 0);
            return;
        }
        if (cl->len < 4 + (size_t)n) break;
        ward_core_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = WARD_EV_CTL_REQUEST;
        ev.client = cl->id;
        ev.data = cl->buf + 4;
        ev.len = n;
        dispatch(d, &ev);
        memmove(cl->buf, cl->buf + 4 + n, cl->len - 4 - n);
        cl->len -= 4 + (size_t)n;
    }
}

static void on_ctl_connection(uv_stream_t *server, int status) {
    ward_driver *d = server->data;
    if (status < 0) {
        dlog(d, WARD_LOG_WARN, "accepting a control client failed: %s", uv_strerror(status));
        return;
    }
    dclient *cl = calloc(1, sizeof *cl);
    if (!cl) return;
    cl->d = d;
    d->live++;
    if (uv_pipe_init(&d->loop, &cl->pipe, 0) != 0) {
        free(cl);
        d->live--;
        return;
    }
    cl->handle_open = 1;
    cl->pipe.data = cl;
    cl->closing = 1; /* until it is registered */
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 || d->finishing ||
        d->n_clients >= MAX_CLIENTS) {
        uint64_t now = now_ms(d);
        if (!d->finishing && d->n_clients >= MAX_CLIENTS && now - d->refused_logged_ms > 10000) {
            d->refused_logged_ms = now;
            dlog(d, WARD_LOG_WARN, "refusing control clients: %d already connected", MAX_CLIENTS);
        }
        client_close_handle(cl);
        return;
    }
    cl->id = d->next_client++;
    if (idmap_put(&d->clients, cl->id, cl) != WARD_OK) {
        client_close_handle(cl);
        return;
    }
    d->n_clients++;
    cl->closing = 0;
    int rc = uv_read_start((uv_stream_t *)&cl->pipe, on_alloc, on_client_read);
    if (rc != 0) client_close(cl, 0, 0);
}

/* ---- timers ------------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h) {
    dtimer *t = h->data;
    ward_driver *d = t->d;
    free(t);
    d->live--;
    maybe_finished(d);
}

static void soon_unlink(dtimer *t) {
    ward_driver *d = t->d;
    if (!t->soon) return;
    if (t->soon_prev) t->soon_prev->soon_next = t->soon_next;
    else d->soon_head = t->soon_next;
    if (t->soon_next) t->soon_next->soon_prev = t->soon_prev;
    else d->soon_tail = t->soon_prev;
    t->soon_prev = t->soon_next = NULL;
    t->soon = 0;
    if (!d->soon_head && d->soon_open) {
        uv_idle_stop(&d->soon_idle);
        uv_check_stop(&d->soon_check);
    }
}

static void timer_drop(dtimer *t) {
    soon_unlink(t);
    if (idmap_get(&t->d->timers, t->id) == t) idmap_del(&t->d->timers, t->id);
    uv_close((uv_handle_t *)&t->h, on_timer_closed);
}

static void timer_fire(dtimer *t) {
    ward_driver *d = t->d;
    uint64_t id = t->id;
    timer_drop(t);
    ward_core_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = WARD_EV_TIMER;
    ev.timer = id;
    dispatch(d, &ev);
}

static void on_timer(uv_timer_t *h) { timer_fire(h->data); }

static void on_soon_idle(uv_idle_t *h) { (void)h; }

/* Fires the timers that were due when this pass began; those set by their
 * callbacks wait for the next pass (and its poll). */
static void on_soon_check(uv_check_t *h) {
    ward_driver *d = h->data;
    uint64_t pass = d->soon_pass++;
    /* The list is in queueing order; callbacks may add timers (at the end,
     * with the new pass number) or drop any. */
    while (d->soon_head && d->soon_head->soon_pass == pass) timer_fire(d->soon_head);
}

static void act_timer_set(ward_driver *d, uint64_t id, uint64_t at_ms) {
    if (d->finishing) return;
    dtimer *t = idmap_get(&d->timers, id);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t) {
            dlog(d, WARD_LOG_ERROR, "out of memory for a timer");
            return;
        }
        t->d = d;
        t->id = id;
        uv_timer_init(&d->loop, &t->h);
        t->h.data = t;
        d->live++;
        if (idmap_put(&d->timers, id, t) != WARD_OK) {
            dlog(d, WARD_LOG_ERROR, "cannot keep timer %" PRIu64 " (id 0 or out of memory)", id);
            uv_close((uv_handle_t *)&t->h, on_timer_closed);
            return;
        }
    }
    uint64_t now = now_ms(d);
    if (at_ms > now || !d->soon_open) {
        soon_unlink(t);
        uv_timer_start(&t->h, on_timer, at_ms > now ? at_ms - now : 0, 0);
        return;
    }
    uv_timer_stop(&t->h);
    if (t->soon) return;
    t->soon = 1;
    t->soon_pass = d->soon_pass;
    t->soon_prev = d->soon_tail;
    t->soon_next = NULL;
    if (d->soon_tail) d->soon_tail->soon_next = t;
    else d->soon_head = t;
    d->soon_tail = t;
    uv_idle_start(&d->soon_idle, on_soon_idle);
    uv_check_start(&d->soon_check, on_soon_check);
}

/* ---- jobs ----------------------------------------------------------------------- */

/* On a worker thread: stage the import (import_job.h) and pack what it
 * staged. Touches nothing of the driver but the job itself. */
static void job_work(uv_work_t *req) {
    djob *j = req->data;
    Ward__Control__ImportStaged res;
    ward__control__import_staged__init(&res);
    Ward__Control__ImportJob *job = ward__control__import_job__unpack(NULL, j->in_len, j->in);
    ward_import_report *rep = calloc(1, sizeof *rep);
    char msg[700] = "";
    if (!job || !job->request || !rep) {
        res.error = job ? WARD_ENOMEM : WARD_EPARSE;
        snprintf(msg, sizeof msg, "%s", job ? "out of memory" : "malformed import job");
    } else {
        ward_import_options opt;
        ward_import_options_from_request(&opt, job->request, job->now_ms);
        ward_import_base base;
        int rc = ward_import_stage(rep, &base, j->db, j->staging, job->request->table,
                                   job->request->path, &opt);
        if (rc != WARD_OK) {
            res.error = rc;
            ward_import_error_text(msg, sizeof msg, rep, job->request->path, job->request->table,
                                   rep->message[0] ? rep->message : ward_strerror(rc));
        } else {
            res.staging = j->staging;
            res.exists = base.exists;
            res.base_rows = base.rows;
            res.base_updated_ms = base.updated_ms;
        }
    }
    res.message = msg;
    j->out_len = ward__control__import_staged__get_packed_size(&res);
    j->out = malloc(j->out_len ? j->out_len : 1);
    if (j->out) ward__control__import_staged__pack(&res, j->out);
    else j->out_len = 0;
    if (job) ward__control__import_job__free_unpacked(job, NULL);
    free(rep);
}

static void job_done(uv_work_t *req, int status) {
    djob *j = req->data;
    ward_driver *d = j->d;
    (void)status;
    if (d->core && j->out) {
        ward_core_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = WARD_EV_JOB_DONE;
        ev.job = j->id;
        ev.data = j->out;
        ev.len = j->out_len;
        dispatch(d, &ev);
    } else {
        /* Nobody will merge it. */
        unlink(j->staging);
    }
    free(j->in);
    free(j->out);
    free(j);
    d->live--;
    maybe_finished(d);
}

static void act_job(ward_driver *d, const ward_action *a) {
    djob *j = calloc(1, sizeof *j);
    uint8_t *in = j ? malloc(a->len ? a->len : 1) : NULL;
    if (!j || !in) {
        free(j);
        dlog(d, WARD_LOG_ERROR, "out of memory for a job");
        return;
    }
    memcpy(in, a->data, a->len);
    j->d = d;
    j->id = a->job;
    j->in = in;
    j->in_len = a->len;
    snprintf(j->db, sizeof j->db, "%s", d->conf.db);
    snprintf(j->staging, sizeof j->staging, "%s.import-%llu", d->conf.db, (unsigned long long)a->job);
    j->req.data = j;
    if (uv_queue_work(&d->loop, &j->req, job_work, job_done) != 0) {
        dlog(d, WARD_LOG_ERROR, "cannot queue a job");
        free(in);
        free(j);
        return;
    }
    d->live++;
}

/* ---- actions ------------------------------------------------------------------- */

static void finish(ward_driver *d);

static void run_actions(ward_driver *d) {
    for (size_t i = 0; i < d->acts.len; i++) {
        const ward_action *a = &d->acts.items[i];
        dconn *c;
        dclient *cl;
        dtimer *t;
        switch (a->kind) {
        case WARD_ACT_CONNECT:
            act_connect(d, a);
            break;
        case WARD_ACT_SEND:
            c = idmap_get(&d->conns, a->conn);
            if (c && c->connected && !c->closing && a->len > 0 &&
                hold_send(d, a->conn, a->data, a->len) != 0) {
                flush_sends(d);
                uv_buf_t b = uv_buf_init((char *)a->data, (unsigned)a->len);
                conn_writev(c, &b, 1);
            }
            break;
        case WARD_ACT_CLOSE:
            flush_sends(d);
            c = idmap_get(&d->conns, a->conn);
            if (c) conn_close(c, 0, 1);
            break;
        case WARD_ACT_TIMER_SET:
            act_timer_set(d, a->timer, a->at_ms);
            break;
        case WARD_ACT_TIMER_CANCEL:
            t = idmap_get(&d->timers, a->timer);
            if (t) {
                uv_timer_stop(&t->h);
                timer_drop(t);
            }
            break;
        case WARD_ACT_CTL_REPLY:
            cl = idmap_get(&d->clients, a->client);
            if (cl && !cl->closing) client_reply(cl, a->data, a->len);
            break;
        case WARD_ACT_LOG:
            log_emit(d, a->level, a->text ? a->text : "", 1);
            break;
        case WARD_ACT_STOP:
            flush_sends(d);
            finish(d);
            break;
        case WARD_ACT_JOB:
            act_job(d, a);
            break;
        default:
            dlog(d, WARD_LOG_ERROR, "unknown core action %d", (int)a->kind);
            break;
        }
    }
    flush_sends(d);
    ward_actions_reset(&d->acts);
}

/* ---- stopping -------------------------------------------------------------------- */

static void force_close_all(ward_driver *d) {
    void **v;
    size_t n = idmap_values(&d->conns, &v);
    for (size_t i = 0; i < n; i++) {
        dconn *c = v[i];
        c->closing = 1;
        if (c->gai_pending) uv_cancel((uv_req_t *)&c->gai);
        if (c->handle_open) conn_close_handle(c);
        else conn_maybe_free(c);
    }
    free(v);
    n = idmap_values(&d->clients, &v);
    for (size_t i = 0; i < n; i++) {
        dclient *cl = v[i];
        cl->closing = 1;
        client_close_handle(cl);
    }
    free(v);
    n = idmap_values(&d->timers, &v);
    for (size_t i = 0; i < n; i++) timer_drop(v[i]);
    free(v);
    maybe_finished(d);
}

static void on_grace(uv_timer_t *h) {
    ward_driver *d = h->data;
    if (!d->finishing) {
        dlog(d, WARD_LOG_WARN, "the node did not stop within %d ms; closing everything",
             WARD_DRIVER_GRACE_MS);
        finish(d);
    }
    if (d->conns.len || d->clients.len)
        dlog(d, WARD_LOG_WARN, "closing %zu connections and %zu control clients now",
             d->conns.len, d->clients.len);
    d->forced = 1;
    force_close_all(d);
}

/* Stops accepting, closes timers, flushes and closes connections and
 * control clients; the loop ends once every handle is closed. */
static void finish(ward_driver *d) {
    if (d->finishing) return;
    d->finishing = 1;
    if (d->listener_open) {
        uv_close((uv_handle_t *)&d->listener, NULL);
        d->listener_open = 0;
    }
    if (d->ctl_open) {
        uv_close((uv_handle_t *)&d->ctl, NULL);
        d->ctl_open = 0;
    }
    if (d->ctl_bound) {
        unlink(d->conf.control);
        d->ctl_bound = 0;
    }
    void **v;
    size_t n = idmap_values(&d->timers, &v);
    for (size_t i = 0; i < n; i++) timer_drop(v[i]);
    free(v);
    n = idmap_values(&d->conns, &v);
    for (size_t i = 0; i < n; i++) conn_close(v[i], 0, 1);
    free(v);
    n = idmap_values(&d->clients, &v);
    for (size_t i = 0; i < n; i++) client_close(v[i], 0, 1);
    free(v);
    if (d->grace_open && !uv_is_active((uv_handle_t *)&d->grace))
        uv_timer_start(&d->grace, on_grace, WARD_DRIVER_GRACE_MS, 0);
    maybe_finished(d);
}

static void begin_stop(ward_driver *d, const char *why) {
    if (d->stopping) return;
    d->stopping = 1;
    dlog(d, WARD_LOG_INFO, "stopping: %s", why);
    if (d->grace_open) uv_timer_start(&d->grace, on_grace, WARD_DRIVER_GRACE_MS, 0);
    if (d->core) dispatch(d, NULL);
    else finish(d);
}

static void on_signal(uv_signal_t *h, int signum) {
    ward_driver *d = h->data;
    if (signum == SIGHUP) {
        char msg[256];
        if (log_open(d, msg, sizeof msg) != WARD_OK) dlog(d, WARD_LOG_ERROR, "%s", msg);
        else dlog(d, WARD_LOG_INFO, "log file reopened");
        return;
    }
    if (!d->stopping) {
        begin_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
    } else if (!d->forced) {
        dlog(d, WARD_LOG_WARN, "second signal: closing everything now");
        finish(d);
        d->forced = 1;
        force_close_all(d);
    }
}

static void on_housekeeping(uv_timer_t *h) {
    ward_driver *d = h->data;
    uint64_t now = now_ms(d);
    void **v;
    size_t n = idmap_values(&d->conns, &v);
    for (size_t i = 0; i < n; i++) {
        dconn *c = v[i];
        if (c->closing && c->handle_open && now - c->closing_since > LINGER_MS)
            conn_close_handle(c);
    }
    free(v);
    n = idmap_values(&d->clients, &v);
    for (size_t i = 0; i < n; i++) {
        dclient *cl = v[i];
        if (cl->closing && now - cl->closing_since > LINGER_MS) client_close_handle(cl);
    }
    free(v);
}

/* ---- start ---------------------------------------------------------------------- */

static int read_small_file(char **out, size_t *out_len, const char *path, size_t max) {
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
    char *buf = malloc(max + 1);
    if (!buf) {
        close(fd);
        return WARD_ENOMEM;
    }
    size_t len = 0;
    int rc = WARD_OK;
    for (;;) {
        ssize_t n = read(fd, buf + len, max + 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { rc = WARD_EIO; break; }
        if (n == 0) break;
        len += (size_t)n;
        if (len > max) { rc = WARD_ETOOBIG; break; }
    }
    close(fd);
    if (rc != WARD_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = len;
    return WARD_OK;
}

/* Looks at an existing control socket: a live node answers a connect, a
 * stale socket file refuses it and is removed. */
static int check_control_socket(ward_driver *d, char *msg, size_t msg_cap) {
    const char *path = d->conf.control;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(msg, msg_cap,
                 "control socket path %s is too long (at most %zu bytes); set 'control' in "
                 "node.conf to a shorter path",
                 path, sizeof sa.sun_path - 1);
        return WARD_ETOOBIG;
    }
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return WARD_OK;
        snprintf(msg, msg_cap, "cannot inspect control socket %s: %s", path, strerror(errno));
        return WARD_EIO;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(msg, msg_cap, "%s exists and is not a socket; refusing to replace it", path);
        return WARD_ESTATE;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(msg, msg_cap, "socket: %s", strerror(errno));
        return WARD_EIO;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0) {
        snprintf(msg, msg_cap,
                 "another node is already running with control socket %s; stop it first", path);
        return WARD_ESTATE;
    }
    if (e != ECONNREFUSED) {
        snprintf(msg, msg_cap, "cannot check control socket %s: %s", path, strerror(e));
        return WARD_EIO;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(msg, msg_cap, "cannot remove stale control socket %s: %s", path, strerror(errno));
        return WARD_EIO;
    }
    dlog(d, WARD_LOG_INFO, "removed stale control socket %s", path);
    return WARD_OK;
}

static int listen_peers(ward_driver *d, char *msg, size_t msg_cap) {
    const ward_conf *cf = &d->conf;
    int v6 = strchr(cf->listen_host, ':') != NULL;
    char shown[WARD_HOST_MAX + 16];
    snprintf(shown, sizeof shown, "%s%s%s:%u", v6 ? "[" : "", cf->listen_host, v6 ? "]" : "",
             (unsigned)cf->listen_port);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (uv_ip4_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(cf->listen_host, cf->listen_port, (struct sockaddr_in6 *)&ss) != 0) {
        uv_getaddrinfo_t req;
        struct addrinfo hints;
        char port[8];
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        snprintf(port, sizeof port, "%u", (unsigned)cf->listen_port);
        int rc = uv_getaddrinfo(&d->loop, &req, NULL, cf->listen_host, port, &hints);
        if (rc != 0 || !req.addrinfo) {
            snprintf(msg, msg_cap, "cannot resolve listen address %s: %s", shown,
                     uv_strerror(rc ? rc : UV_EAI_NONAME));
            return WARD_EIO;
        }
        memcpy(&ss, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
        uv_freeaddrinfo(req.addrinfo);
    }
    int rc = uv_tcp_init(&d->loop, &d->listener);
    if (rc == 0) {
        d->listener_open = 1;
        d->listener.data = d;
        rc = uv_tcp_bind(&d->listener, (const struct sockaddr *)&ss, 0);
    }
    if (rc == 0) rc = uv_listen((uv_stream_t *)&d->listener, 128, on_peer_connection);
    if (rc != 0) {
        snprintf(msg, msg_cap, "cannot listen on %s: %s", shown, uv_strerror(rc));
        return WARD_EIO;
    }
    return WARD_OK;
}

static int listen_control(ward_driver *d, char *msg, size_t msg_cap) {
    const char *path = d->conf.control;
    int rc = uv_pipe_init(&d->loop, &d->ctl, 0);
    if (rc == 0) {
        d->ctl_open = 1;
        d->ctl.data = d;
        /* Created 0600 from the start: only the node's user may talk to it. */
        mode_t old = umask(0177);
        rc = uv_pipe_bind(&d->ctl, path);
        umask(old);
    }
    if (rc == 0) {
        d->ctl_bound = 1;
        if (chmod(path, 0600) != 0) rc = uv_translate_sys_error(errno);
    }
    if (rc == 0) rc = uv_listen((uv_stream_t *)&d->ctl, 128, on_ctl_connection);
    if (rc != 0) {
        snprintf(msg, msg_cap, "cannot listen on control socket %s: %s", path, uv_strerror(rc));
        return WARD_EIO;
    }
    return WARD_OK;
}

/* DIR/policy, when present, is the node's policy (node/policy.h); without
 * it every roster peer may use every table and allow_exact decides. */
static int load_policy(ward_driver *d, char *msg, size_t msg_cap) {
    char path[WARD_CONF_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s%spolicy", d->conf.dir, d->conf.dir[0] ? "/" : "");
    char *text = NULL;
    size_t len = 0;
    int rc = ward_read_file(&text, &len, path, 256 * 1024);
    if (rc == WARD_ENOTFOUND) return WARD_OK;
    if (rc == WARD_ETOOBIG) {
        snprintf(msg, msg_cap, "%s: larger than %d bytes", path, 256 * 1024);
        return rc;
    }
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "cannot read %s: %s", path, rc == WARD_EIO ? strerror(errno) : ward_strerror(rc));
        return rc;
    }
    size_t line = 0;
    char why[128];
    rc = ward_policy_parse(&d->policy, &line, why, sizeof why, text, len);
    free(text);
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "%s:%zu: %s", path, line, why);
        return rc;
    }
    d->has_policy = 1;
    return WARD_OK;
}

static int load_identity(ward_driver *d, char *msg, size_t msg_cap) {
    const ward_conf *cf = &d->conf;
    char *text = NULL;
    size_t len = 0;
    int rc = read_small_file(&text, &len, cf->roster, ROSTER_MAX_BYTES);
    if (rc == WARD_ENOTFOUND) {
        snprintf(msg, msg_cap,
                 "no roster at %s; install the federation's roster there (docs/operations.md)",
                 cf->roster);
        return rc;
    }
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "cannot read roster %s: %s", cf->roster, ward_strerror(rc));
        return rc;
    }
    ward_roster_error rerr;
    rc = ward_roster_parse(&d->roster, &rerr, text, len);
    free(text);
    if (rc != WARD_OK) {
        if (rerr.line) snprintf(msg, msg_cap, "%s:%zu: %s", cf->roster, rerr.line, rerr.reason);
        else snprintf(msg, msg_cap, "%s: %s", cf->roster, rerr.reason[0] ? rerr.reason : ward_strerror(rc));
        return rc;
    }
    long self = ward_roster_find(&d->roster, cf->name);
    if (self < 0) {
        snprintf(msg, msg_cap, "this node (%s) is not in the roster %s", cf->name, cf->roster);
        return WARD_ENOTFOUND;
    }

    rc = ward_keyfile_read_private(d->priv, cf->key);
    if (rc == WARD_EKEY) {
        struct stat st;
        unsigned mode = stat(cf->key, &st) == 0 ? (unsigned)(st.st_mode & 0777) : 0;
        snprintf(msg, msg_cap,
                 "private key %s is readable by group or others (mode %04o); refusing to "
                 "start; run: chmod 600 %s",
                 cf->key, mode, cf->key);
        return rc;
    }
    if (rc == WARD_ENOTFOUND) {
        snprintf(msg, msg_cap, "no private key at %s (ward init or ward keygen writes one)",
                 cf->key);
        return rc;
    }
    if (rc == WARD_EPARSE) {
        snprintf(msg, msg_cap, "%s is not a private key file (64 hex digits)", cf->key);
        return rc;
    }
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "cannot read private key %s: %s", cf->key, ward_strerror(rc));
        return rc;
    }
    uint8_t pub[WARD_KEY_BYTES];
    crypto_scalarmult_base(pub, d->priv);
    int match = sodium_memcmp(pub, d->roster.members[self].pub, WARD_KEY_BYTES) == 0;
    sodium_memzero(pub, sizeof pub);
    if (!match) {
        snprintf(msg, msg_cap,
                 "the private key %s does not belong to %s's entry in the roster %s", cf->key,
                 cf->name, cf->roster);
        return WARD_EKEY;
    }
    return WARD_OK;
}

static int setup(ward_driver *d, char *msg, size_t msg_cap, const char *conf_path) {
    ward_conf_error cerr;
    int rc = ward_conf_load(&d->conf, &cerr, conf_path);
    if (rc != WARD_OK) {
        if (cerr.line) snprintf(msg, msg_cap, "%s:%zu: %s", conf_path, cerr.line, cerr.reason);
        else snprintf(msg, msg_cap, "%s: %s", conf_path, cerr.reason);
        return rc;
    }
    rc = log_open(d, msg, msg_cap);
    if (rc != WARD_OK) return rc;
    rc = load_identity(d, msg, msg_cap);
    if (rc != WARD_OK) return rc;
    rc = load_policy(d, msg, msg_cap);
    if (rc != WARD_OK) return rc;

    if (uv_loop_init(&d->loop) != 0) {
        snprintf(msg, msg_cap, "cannot create the event loop");
        return WARD_EIO;
    }
    d->loop_init = 1;
    d->loop.data = d;
    uv_update_time(&d->loop);
    d->clock_offset = unix_ms() - (int64_t)uv_now(&d->loop);

    rc = check_control_socket(d, msg, msg_cap);
    if (rc == WARD_OK) rc = listen_peers(d, msg, msg_cap);
    if (rc == WARD_OK) rc = listen_control(d, msg, msg_cap);
    if (rc != WARD_OK) return rc;

    rc = ward_store_open(&d->store, d->conf.db);
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "cannot open database %s: %s", d->conf.db,
                 ward_store_errmsg(&d->store)[0] ? ward_store_errmsg(&d->store) : ward_strerror(rc));
        return rc;
    }
    /* Staging files of imports a killed node never merged: nothing in
     * them was imported, so they go. */
    {
        char pat[sizeof d->conf.db + 16];
        snprintf(pat, sizeof pat, "%s.import-*", d->conf.db);
        glob_t g;
        if (glob(pat, 0, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) unlink(g.gl_pathv[i]);
            globfree(&g);
        }
    }
    rc = ward_rng_init_system(&d->rng);
    if (rc != WARD_OK) {
        snprintf(msg, msg_cap, "cannot initialise the random number generator");
        return rc;
    }
    d->rng_init = 1;

    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    uv_signal_init(&d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    d->sigs_open = 1;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    uv_timer_init(&d->loop, &d->grace);
    d->grace.data = d;
    d->grace_open = 1;
    uv_timer_init(&d->loop, &d->house);
    d->house.data = d;
    d->house_open = 1;
    uv_check_init(&d->loop, &d->soon_check);
    uv_idle_init(&d->loop, &d->soon_idle);
    d->soon_check.data = d->soon_idle.data = d;
    d->soon_open = 1;
    uv_timer_start(&d->house, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);

    ward_core_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = d->conf.name;
    cfg.roster = &d->roster;
    cfg.static_priv = d->priv;
    cfg.store = &d->store;
    cfg.keepalive_ms = d->conf.keepalive_ms;
    cfg.idle_timeout_ms = d->conf.idle_timeout_ms;
    cfg.session_timeout_ms = d->conf.session_timeout_ms;
    cfg.allow_exact = d->conf.allow_exact;
    cfg.policy = d->has_policy ? &d->policy : NULL;
    cfg.jobs = 1;
    rc = ward_core_new(&d->core, &d->acts, &cfg, &d->rng, now_ms(d));
    sodium_memzero(d->priv, sizeof d->priv); /* the core keeps its own copy */
    if (rc != WARD_OK) {
        ward_actions_reset(&d->acts);
        snprintf(msg, msg_cap, "cannot start the node core: %s", ward_strerror(rc));
        return rc;
    }
    int v6 = strchr(d->conf.listen_host, ':') != NULL;
    dlog(d, WARD_LOG_INFO, "listening for peers on %s%s%s:%u; control socket %s; database %s",
         v6 ? "[" : "", d->conf.listen_host, v6 ? "]" : "", (unsigned)d->conf.listen_port,
         d->conf.control, d->conf.db);
    d->dispatching = 1;
    run_actions(d);
    while (d->q_head) {
        qev *q = d->q_head;
        d->q_head = q->next;
        if (!d->q_head) d->q_tail = NULL;
        handle_event(d, &q->ev);
        free(q);
    }
    d->dispatching = 0;
    return WARD_OK;
}

int ward_driver_new(ward_driver **out, char *msg, size_t msg_cap, const char *conf_path) {
    WARD_ARG_CHECK(out != NULL && conf_path != NULL);
    *out = NULL;
    char dummy[8];
    if (!msg || msg_cap == 0) {
        msg = dummy;
        msg_cap = sizeof dummy;
    }
    msg[0] = '\0';
    ward_driver *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(msg, msg_cap, "out of memory");
        return WARD_ENOMEM;
    }
    d->log_fd = -1;
    d->wal_fd = -1;
    d->log_level = log_level_from_env();
    d->next_inbound = 2;
    d->next_client = 1;
    ward_actions_init(&d->acts);
    /* A peer that goes away mid-write must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    int rc = setup(d, msg, msg_cap, conf_path);
    if (rc != WARD_OK) {
        /* The caller prints msg on stderr; the log file gets it too. */
        log_emit(d, WARD_LOG_ERROR, msg, 0);
        ward_driver_free(d);
        return rc;
    }
    *out = d;
    return WARD_OK;
}

int ward_driver_run(ward_driver *d) {
    WARD_ARG_CHECK(d != NULL && d->loop_init);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    dlog(d, WARD_LOG_INFO, "node %s stopped", d->conf.name);
    return WARD_OK;
}

static void close_any(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void ward_driver_free(ward_driver *d) {
    if (!d) return;
    if (d->loop_init) {
        if (!d->finishing) finish(d);
        d->forced = 1;
        force_close_all(d);
        if (d->live == 0) close_statics(d);
        uv_run(&d->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&d->loop) == UV_EBUSY) {
            /* Only handles without owners can be left; close them too. */
            uv_walk(&d->loop, close_any, NULL);
            uv_run(&d->loop, UV_RUN_DEFAULT);
            uv_loop_close(&d->loop);
        }
    }
    while (d->q_head) {
        qev *q = d->q_head;
        d->q_head = q->next;
        free(q);
    }
    ward_actions_free(&d->acts);
    free(d->pend);
    free(d->iov);
    d->pend = NULL;
    d->iov = NULL;
    ward_core_free(d->core);
    /* Closing the store checkpoints, which flushes the log as well. */
    ward_store_close(&d->store);
    if (d->wal_fd >= 0) close(d->wal_fd);
    ward_roster_free(&d->roster);
    if (d->rng_init) ward_rng_clear(&d->rng);
    if (d->log_fd >= 0) close(d->log_fd);
    idmap_free(&d->conns);
    idmap_free(&d->clients);
    idmap_free(&d->timers);
    sodium_memzero(d->priv, sizeof d->priv);
    free(d);
}
