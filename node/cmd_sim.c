/* ward sim up | down: a local city of real node processes on 127.0.0.1,
 * named node1 .. nodeN in D/node1 .. D/nodeN, or the demo city's
 * departments (--city) in D/NAME, sharing D/roster (sim_city.h). */
#include "cmd_node.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "control.pb-c.h"
#include "ctl_client.h"
#include "ctl_cmd.h"
#include "error.h"
#include "keyfile.h"
#include "policy.h"
#include "rng.h"
#include "roster.h"
#include "sim_city.h"
#include "ward_paths.h"

#define SIM_MAX_NODES WARD_SIM_MAX_NODES
#define SIM_STOP_GRACE_MS 5000

/* ---- small helpers -------------------------------------------------------- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int write_file_excl(const char *path, const char *data, size_t len, mode_t mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return errno == EEXIST ? WARD_ESTATE : WARD_EIO;
    int rc = WARD_OK;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = WARD_EIO;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0) rc = WARD_EIO;
    return rc;
}

static int read_text(char *buf, size_t cap, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len == cap - 1) break;
    }
    close(fd);
    buf[len] = '\0';
    return WARD_OK;
}

/* The last non-empty line of a (log) file, for error messages. */
static void last_line(char *out, size_t cap, const char *path) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[1024];
    if (fseek(f, -4096L, SEEK_END) != 0) rewind(f);
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = '\0';
        if (l > 0) snprintf(out, cap, "%s", line);
    }
    fclose(f);
}

static int port_free(unsigned port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

/* ---- processes -------------------------------------------------------------- */

static int proc_is_zombie(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_text(buf, sizeof buf, path) != WARD_OK) return 1; /* gone */
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int proc_alive(pid_t pid) {
    if (pid <= 0) return 0;
    if (kill(pid, 0) != 0 && errno != EPERM) return 0;
    return !proc_is_zombie(pid);
}

/* 1 when pid runs `ward node --config .../NODE/node.conf`, so that a
 * recycled pid is never signalled. */
static int proc_is_node(pid_t pid, const char *node) {
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char *args[4] = {NULL, NULL, NULL, NULL};
    size_t off = 0;
    for (int i = 0; i < 4 && off < (size_t)n; i++) {
        args[i] = buf + off;
        off += strlen(buf + off) + 1;
    }
    if (!args[3] || strcmp(args[1], "node") != 0 || strcmp(args[2], "--config") != 0) return 0;
    char want[64];
    snprintf(want, sizeof want, "%s/node.conf", node);
    size_t al = strlen(args[3]), wl = strlen(want);
    return al >= wl && strcmp(args[3] + al - wl, want) == 0 &&
           (al == wl || args[3][al - wl - 1] == '/');
}

static pid_t read_pid(const char *path) {
    char buf[32];
    if (read_text(buf, sizeof buf, path) != WARD_OK) return 0;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (end == buf || v <= 1 || v > INT32_MAX) return 0;
    return (pid_t)v;
}

/* Starts `ward node --config CONF` detached: its own session, stdin from
 * /dev/null, stdout and stderr appended to LOG. */
static pid_t spawn_node(const char *exe, const char *conf, const char *log) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0) return pid;
    setsid();
    int nul = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (nul >= 0) dup2(nul, STDIN_FILENO);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
    }
    closefrom(3);
    if (chdir("/") != 0) _exit(127);
    char *const args[] = {(char *)exe, "node", "--config", (char *)conf, NULL};
    execv(exe, args);
    dprintf(STDERR_FILENO, "ward: error: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
}

/* ---- the city directory --------------------------------------------------------- */

typedef ward_sim_city city;

static void node_path(char *out, size_t cap, const city *c, unsigned k, const char *file) {
    snprintf(out, cap, "%s/%s%s%s", c->dir, c->names[k], file ? "/" : "", file ? file : "");
}

void ward_sim_city_node_dir(char *out, size_t cap, const ward_sim_city *c, unsigned k) {
    node_path(out, cap, c, k, NULL);
}

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WARD_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* 1 when dir/name looks like a node directory of a city: a valid node name
 * with a node.conf or a node.pid in it. */
static int is_node_dir(const char *dir, const char *name) {
    if (!valid_name(name)) return 0;
    char p[PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s/node.conf", dir, name);
    if (access(p, F_OK) == 0) return 1;
    snprintf(p, sizeof p, "%s/%s/node.pid", dir, name);
    return access(p, F_OK) == 0;
}

/* Describes a running node of the city in msg (1), or 0 when none runs. */
static int city_running(char *msg, size_t cap, const city *c) {
    DIR *dh = opendir(c->dir);
    if (!dh) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(dh)) != NULL) {
        if (!is_node_dir(c->dir, e->d_name)) continue;
        char path[PATH_MAX + 300], sock[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/node.pid", c->dir, e->d_name);
        pid_t pid = read_pid(path);
        if (pid && proc_alive(pid) && proc_is_node(pid, e->d_name)) {
            snprintf(msg, cap, "%.64s (pid %d)", e->d_name, (int)pid);
            found = 1;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        char m[256];
        if (ward_ctl_socket_path(sock, sizeof sock, m, sizeof m, path) != WARD_OK) continue;
        Ward__Control__Request req;
        Ward__Control__StatusRequest sr;
        ward__control__request__init(&req);
        ward__control__status_request__init(&sr);
        req.command_case = WARD__CONTROL__REQUEST__COMMAND_STATUS;
        req.status = &sr;
        Ward__Control__Response *r = NULL;
        if (ward_ctl_call(&r, m, sizeof m, sock, &req, 2000) == WARD_OK) {
            ward__control__response__free_unpacked(r, NULL);
            snprintf(msg, cap, "%.64s (control socket %.300s answers)", e->d_name, sock);
            found = 1;
        }
    }
    closedir(dh);
    return found;
}

/* Makes the node directories: keys, the shared roster, node.conf with the
 * permissive test policy. */
static int city_create(city *c) {
    for (unsigned k = 1; k <= c->n; k++) {
        char p[PATH_MAX + 64];
        node_path(p, sizeof p, c, k, NULL);
        struct stat st;
        if (stat(p, &st) == 0) {
            fprintf(stderr, "ward: error: %s exists but %s/roster does not; use an empty "
                            "directory\n", p, c->dir);
            return 1;
        }
    }
    size_t cap = 256 + (size_t)c->n * 160;
    char *roster = malloc(cap);
    if (!roster) {
        fprintf(stderr, "ward: error: out of memory\n");
        return 1;
    }
    size_t len = (size_t)snprintf(roster, cap,
                                  "# ward sim up: a local test city on 127.0.0.1\n"
                                  "federation sim\nepoch 1\n");
    ward_rng rng;
    int rc = ward_rng_init_system(&rng);
    for (unsigned k = 1; rc == WARD_OK && k <= c->n; k++) {
        char p[PATH_MAX + 64];
        node_path(p, sizeof p, c, k, NULL);
        if (mkdir(p, 0700) != 0) {
            fprintf(stderr, "ward: error: cannot create %s: %s\n", p, strerror(errno));
            rc = WARD_EIO;
            break;
        }
        ward_roster_member m;
        memset(&m, 0, sizeof m);
        snprintf(m.name, sizeof m.name, "%s", c->names[k]);
        snprintf(m.host, sizeof m.host, "127.0.0.1");
        m.port = (uint16_t)(c->base_port + k);
        rc = ward_keyfile_generate(m.pub, &rng, p);
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: cannot write keys in %s: %s\n", p, ward_strerror(rc));
            break;
        }
        rc = ward_roster_format_member(roster + len, cap - len, &m);
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: roster too long\n");
            break;
        }
        len += strlen(roster + len);

        static ward_conf conf;
        ward_conf_defaults(&conf, p);
        snprintf(conf.name, sizeof conf.name, "%s", m.name);
        snprintf(conf.listen_host, sizeof conf.listen_host, "127.0.0.1");
        conf.listen_port = m.port;
        conf.allow_exact = 1; /* a test city: exact aggregates allowed */
        char cp[PATH_MAX + 64];
        node_path(cp, sizeof cp, c, k, "node.conf");
        rc = ward_conf_write(&conf, cp);
        if (rc == WARD_OK) {
            const char *pol = ward_policy_default_text(1);
            node_path(cp, sizeof cp, c, k, "policy");
            rc = write_file_excl(cp, pol, strlen(pol), 0644);
            if (rc == WARD_ESTATE) rc = WARD_OK; /* a restarted city keeps its policy */
        }
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: cannot write %s: %s\n", cp, ward_strerror(rc));
            break;
        }
    }
    ward_rng_clear(&rng);
    if (rc == WARD_OK) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s/roster", c->dir);
        rc = write_file_excl(p, roster, len, 0644);
        if (rc != WARD_OK) fprintf(stderr, "ward: error: cannot write %s\n", p);
        for (unsigned k = 1; rc == WARD_OK && k <= c->n; k++) {
            node_path(p, sizeof p, c, k, "roster");
            rc = write_file_excl(p, roster, len, 0644);
            if (rc != WARD_OK) fprintf(stderr, "ward: error: cannot write %s\n", p);
        }
    }
    free(roster);
    return rc == WARD_OK ? 0 : 1;
}

/* Checks that D/roster describes the city's nodes and that each node
 * directory is there; takes the ports from it. */
static int city_reuse(city *c, unsigned asked_base) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/roster", c->dir);
    static char text[1 << 20];
    if (read_text(text, sizeof text, p) != WARD_OK) {
        fprintf(stderr, "ward: error: cannot read %s\n", p);
        return 1;
    }
    ward_roster r;
    ward_roster_error err;
    if (ward_roster_parse(&r, &err, text, strlen(text)) != WARD_OK) {
        fprintf(stderr, "ward: error: %s:%zu: %s\n", p, err.line, err.reason);
        return 1;
    }
    int ex = 0;
    if (r.n_members != c->n) {
        if (strcmp(c->names[1], "node1") == 0)
            fprintf(stderr, "ward: error: %s holds a city of %zu nodes; use --nodes %zu or another "
                            "directory\n", c->dir, r.n_members, r.n_members);
        else
            fprintf(stderr, "ward: error: %s holds a city of %zu nodes, not this one of %u; use "
                            "another directory\n", c->dir, r.n_members, c->n);
        ex = 2;
    }
    for (unsigned k = 1; !ex && k <= c->n; k++) {
        long i = ward_roster_find(&r, c->names[k]);
        node_path(p, sizeof p, c, k, "node.conf");
        if (i < 0 || access(p, R_OK) != 0) {
            fprintf(stderr, "ward: error: %s is not a complete city (%s is missing)\n", c->dir,
                    i < 0 ? c->names[k] : p);
            ex = 1;
        } else if (k == 1) {
            c->base_port = r.members[i].port - 1u;
        }
    }
    if (!ex && asked_base && asked_base != c->base_port) {
        fprintf(stderr, "ward: error: the city in %s uses base port %u, not %u\n", c->dir,
                c->base_port, asked_base);
        ex = 2;
    }
    ward_roster_free(&r);
    return ex;
}

/* SIGTERM to each pid, up to SIM_STOP_GRACE_MS for them to go, then
 * SIGKILL. Returns how many had to be killed. */
static unsigned stop_pids(const pid_t *pids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (pids[i] > 0) kill(pids[i], SIGTERM);
    int64_t deadline = mono_ms() + SIM_STOP_GRACE_MS;
    for (;;) {
        size_t alive = 0;
        for (size_t i = 0; i < n; i++) {
            if (pids[i] <= 0) continue;
            waitpid(pids[i], NULL, WNOHANG); /* reaps our own children */
            if (proc_alive(pids[i])) alive++;
        }
        if (alive == 0) return 0;
        if (mono_ms() >= deadline) break;
        sleep_ms(50);
    }
    unsigned killed = 0;
    for (size_t i = 0; i < n; i++) {
        if (pids[i] > 0 && proc_alive(pids[i])) {
            kill(pids[i], SIGKILL);
            killed++;
        }
    }
    int64_t d2 = mono_ms() + 2000;
    for (size_t i = 0; i < n; i++) {
        while (pids[i] > 0 && mono_ms() < d2) {
            waitpid(pids[i], NULL, WNOHANG);
            if (!proc_alive(pids[i])) break;
            sleep_ms(20);
        }
    }
    return killed;
}

static int status_of(Ward__Control__Response **r, const char *sock, int timeout_ms) {
    Ward__Control__Request req;
    Ward__Control__StatusRequest sr;
    ward__control__request__init(&req);
    ward__control__status_request__init(&sr);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_STATUS;
    req.status = &sr;
    char msg[256];
    int rc = ward_ctl_call(r, msg, sizeof msg, sock, &req, timeout_ms);
    if (rc == WARD_OK && ((*r)->error != 0 ||
                          (*r)->result_case != WARD__CONTROL__RESPONSE__RESULT_STATUS)) {
        ward__control__response__free_unpacked(*r, NULL);
        *r = NULL;
        rc = WARD_ESTATE;
    }
    return rc;
}

int ward_sim_city_init(ward_sim_city *c, const char *dir, unsigned n, const char *const *names) {
    memset(c, 0, sizeof *c);
    if (n < 1 || n > WARD_SIM_MAX_NODES) {
        fprintf(stderr, "ward: error: a city has 1 to %d nodes\n", WARD_SIM_MAX_NODES);
        return 2;
    }
    c->n = n;
    for (unsigned k = 1; k <= n; k++) {
        if (names && !valid_name(names[k - 1])) {
            fprintf(stderr, "ward: error: '%s' is not a node name ([a-z0-9-]{1,%d})\n",
                    names[k - 1], WARD_NAME_MAX);
            return 2;
        }
        if (names) snprintf(c->names[k], sizeof c->names[k], "%s", names[k - 1]);
        else snprintf(c->names[k], sizeof c->names[k], "node%u", k);
        for (unsigned j = 1; j < k; j++) {
            if (strcmp(c->names[j], c->names[k]) == 0) {
                fprintf(stderr, "ward: error: node name '%s' given twice\n", c->names[k]);
                return 2;
            }
        }
    }
    if (ward_make_dirs(dir, 0755) != WARD_OK || !realpath(dir, c->dir)) {
        fprintf(stderr, "ward: error: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    return 0;
}

unsigned ward_sim_city_stop(ward_sim_city *c) {
    unsigned killed = stop_pids(c->pids + 1, c->n);
    for (unsigned k = 1; k <= c->n; k++) {
        if (c->pids[k] <= 0) continue;
        char pidp[PATH_MAX + 64];
        node_path(pidp, sizeof pidp, c, k, "node.pid");
        unlink(pidp);
        c->pids[k] = 0;
    }
    return killed;
}

int ward_sim_city_up(ward_sim_city *c, unsigned base, unsigned probe_from, int *fresh_out) {
    if (base && base + c->n > 65535) {
        fprintf(stderr, "ward: error: ports %u..%u do not exist\n", base + 1, base + c->n);
        return 2;
    }
    char running[512];
    if (city_running(running, sizeof running, c)) {
        fprintf(stderr, "ward: error: a city is already running in %s: %s; stop it with: ward "
                        "sim down --dir %s\n", c->dir, running, c->dir);
        return 1;
    }

    char rp[PATH_MAX + 16];
    snprintf(rp, sizeof rp, "%s/roster", c->dir);
    int fresh = access(rp, F_OK) != 0;
    if (fresh_out) *fresh_out = fresh;
    int ex;
    if (!fresh) {
        ex = city_reuse(c, base);
        if (ex) return ex;
        for (unsigned k = 1; k <= c->n; k++) {
            if (!port_free(c->base_port + k)) {
                fprintf(stderr, "ward: error: port %u (%s) is in use\n", c->base_port + k,
                        c->names[k]);
                return 1;
            }
        }
    } else {
        /* Probe for n free ports on loopback, unless told which. */
        unsigned start = base ? base : probe_from ? probe_from : WARD_SIM_DEFAULT_BASE_PORT;
        int tries = base ? 1 : 40;
        for (int t = 0; t < tries && !c->base_port; t++) {
            unsigned b = start + (unsigned)t * 100;
            if (b + c->n > 65535) break;
            unsigned k = 1;
            while (k <= c->n && port_free(b + k)) k++;
            if (k > c->n) c->base_port = b;
            else if (base) {
                fprintf(stderr, "ward: error: port %u is in use; choose another --base-port\n",
                        b + k);
                return 1;
            }
        }
        if (!c->base_port) {
            fprintf(stderr, "ward: error: no range of %u free ports found from %u; pass "
                            "--base-port\n", c->n, start);
            return 1;
        }
        ex = city_create(c);
        if (ex) return ex;
    }

    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        fprintf(stderr, "ward: error: cannot find the ward executable: %s\n", strerror(errno));
        return 1;
    }
    exe[el] = '\0';

    int64_t t0 = mono_ms();
    for (unsigned k = 1; k <= c->n; k++) {
        char conf[PATH_MAX + 64], log[PATH_MAX + 64], pidp[PATH_MAX + 64];
        node_path(conf, sizeof conf, c, k, "node.conf");
        node_path(log, sizeof log, c, k, "node.log");
        node_path(pidp, sizeof pidp, c, k, "node.pid");
        pid_t pid = spawn_node(exe, conf, log);
        if (pid < 0) {
            fprintf(stderr, "ward: error: cannot start %s: %s\n", c->names[k], strerror(errno));
            ward_sim_city_stop(c);
            return 1;
        }
        c->pids[k] = pid;
        char pidtext[32];
        int pl = snprintf(pidtext, sizeof pidtext, "%d\n", (int)pid);
        unlink(pidp);
        write_file_excl(pidp, pidtext, (size_t)pl, 0644);
    }

    /* Wait until every node reports all its peers connected. */
    int64_t deadline = t0 + 30000 + 500 * (int64_t)c->n;
    unsigned char ready[WARD_SIM_MAX_NODES + 1];
    memset(ready, 0, sizeof ready);
    unsigned n_ready = 0;
    char failure[1024] = "";
    while (n_ready < c->n && !failure[0] && mono_ms() < deadline) {
        for (unsigned k = 1; k <= c->n && !failure[0]; k++) {
            if (ready[k]) continue;
            int status = 0;
            if (waitpid(c->pids[k], &status, WNOHANG) == c->pids[k]) {
                char log[PATH_MAX + 64], last[512];
                node_path(log, sizeof log, c, k, "node.log");
                last_line(last, sizeof last, log);
                snprintf(failure, sizeof failure, "%s exited while starting; %.300s says: %.500s",
                         c->names[k], log, last[0] ? last : "(nothing)");
                c->pids[k] = 0;
                break;
            }
            char nd[PATH_MAX + 64], sock[PATH_MAX + 64], m[256];
            node_path(nd, sizeof nd, c, k, NULL);
            if (ward_ctl_socket_path(sock, sizeof sock, m, sizeof m, nd) != WARD_OK) continue;
            Ward__Control__Response *r = NULL;
            if (status_of(&r, sock, 2000) == WARD_OK) {
                if (r->status->peers_connected + 1 >= c->n) {
                    ready[k] = 1;
                    n_ready++;
                }
                ward__control__response__free_unpacked(r, NULL);
            }
        }
        if (n_ready < c->n && !failure[0]) sleep_ms(100);
    }
    if (n_ready < c->n) {
        char missing[1024] = "";
        size_t ml = 0;
        for (unsigned k = 1; k <= c->n; k++) {
            if (ready[k] || ml >= sizeof missing - 40) continue;
            ml += (size_t)snprintf(missing + ml, sizeof missing - ml, "%s%s", ml ? ", " : "",
                                   c->names[k]);
        }
        ward_sim_city_stop(c);
        if (failure[0])
            fprintf(stderr, "ward: error: %s (the city was stopped)\n", failure);
        else
            fprintf(stderr, "ward: error: not every node connected to all %u peers within %.1f s: "
                            "%s (see their node.log; the city was stopped)\n",
                    c->n - 1, (double)(deadline - t0) / 1000.0, missing);
        return 1;
    }
    c->up_s = (double)(mono_ms() - t0) / 1000.0;
    return 0;
}

/* ---- the demo city (--city) --------------------------------------------------------- */

typedef struct {
    char name[WARD_NAME_MAX + 1];
    char table[64];
    char sensitivity[16];
    char file[256];
    char schema[512];   /* declared types and bounds, "" for none */
} city_dept;

/* Reads DIR/city.txt: "node table sensitivity file [schema]" per line, '#'
 * comments; the schema (no spaces) is the import's --schema. */
static int read_city_txt(city_dept *d, unsigned *n, unsigned max, const char *dir) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/city.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ward: error: cannot read %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[1024];
    size_t no = 0;
    *n = 0;
    int ex = 0;
    while (!ex && fgets(line, sizeof line, f)) {
        no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char a[64], b[64], s[32], file[300], schema[512] = "", extra[8];
        int got = sscanf(line, "%63s %63s %31s %299s %511s %7s", a, b, s, file, schema, extra);
        if (got <= 0) continue;
        if ((got != 4 && got != 5) || !valid_name(a) || strlen(b) >= sizeof d->table ||
            (strcmp(s, "high") != 0 && strcmp(s, "medium") != 0 && strcmp(s, "low") != 0) ||
            strchr(file, '/') || strlen(file) >= sizeof d->file) {
            fprintf(stderr, "ward: error: %s:%zu: expected 'NODE TABLE high|medium|low FILE [SCHEMA]'\n",
                    path, no);
            ex = 1;
        } else if (*n == max) {
            fprintf(stderr, "ward: error: %s: more than %u departments\n", path, max);
            ex = 1;
        } else {
            city_dept *x = &d[(*n)++];
            snprintf(x->name, sizeof x->name, "%.32s", a);
            snprintf(x->table, sizeof x->table, "%s", b);
            snprintf(x->sensitivity, sizeof x->sensitivity, "%.8s", s);
            snprintf(x->file, sizeof x->file, "%s", file);
            snprintf(x->schema, sizeof x->schema, "%s", schema);
        }
    }
    fclose(f);
    if (!ex && *n == 0) {
        fprintf(stderr, "ward: error: %s lists no department\n", path);
        ex = 1;
    }
    return ex;
}

/* The demo city's data directory: --data, else the source tree's
 * netsim/city compiled in; NULL (after an error line) when neither has a
 * city.txt. */
static const char *city_data_dir(char *out, size_t cap, const char *given) {
    char probe[PATH_MAX + 16];
    if (given) {
        snprintf(probe, sizeof probe, "%s/city.txt", given);
        if (access(probe, R_OK) != 0 || !realpath(given, out)) {
            fprintf(stderr, "ward: error: --data %s: no readable city.txt there\n", given);
            return NULL;
        }
        return out;
    }
    snprintf(probe, sizeof probe, "%s/city.txt", WARD_CITY_DIR);
    if (access(probe, R_OK) == 0) {
        snprintf(out, cap, "%s", WARD_CITY_DIR);
        return out;
    }
    fprintf(stderr, "ward: error: the demo city's data was not found: no --data DIR given and "
                    "%s (the source tree this ward was built from) is not readable; pass --data "
                    "DIR, the netsim/city directory of the ward sources\n", probe);
    (void)cap;
    return NULL;
}

/* The rows table already holds at the node, or -1 when it has no such table. */
static long long table_rows(const char *sock, const char *table) {
    Ward__Control__Request req;
    Ward__Control__TablesRequest tr;
    ward__control__request__init(&req);
    ward__control__tables_request__init(&tr);
    req.command_case = WARD__CONTROL__REQUEST__COMMAND_TABLES;
    req.tables = &tr;
    Ward__Control__Response *r = NULL;
    char msg[256];
    long long rows = -1;
    if (ward_ctl_call(&r, msg, sizeof msg, sock, &req, ward_ctl_timeout_ms()) != WARD_OK) return -1;
    if (r->error == 0 && r->result_case == WARD__CONTROL__RESPONSE__RESULT_TABLES)
        for (size_t i = 0; i < r->tables->n_tables; i++)
            if (strcmp(r->tables->tables[i]->name, table) == 0)
                rows = (long long)r->tables->tables[i]->rows;
    ward__control__response__free_unpacked(r, NULL);
    return rows;
}

/* Imports each department's file into its table (a fresh city), or says
 * what its table holds (a restarted one). */
static int city_import(const city *c, const city_dept *d, const char *data) {
    for (unsigned k = 1; k <= c->n; k++) {
        const city_dept *x = &d[k - 1];
        char nd[PATH_MAX + 64], sock[PATH_MAX + 64], m[1024], file[PATH_MAX + 300];
        node_path(nd, sizeof nd, c, k, NULL);
        if (ward_ctl_socket_path(sock, sizeof sock, m, sizeof m, nd) != WARD_OK) {
            fprintf(stderr, "ward: error: %s: %s\n", x->name, m);
            return 1;
        }
        snprintf(file, sizeof file, "%s/%s", data, x->file);
        long long have = table_rows(sock, x->table);
        if (have >= 0) {
            printf("%-16s %-8s %-6s %7lld rows kept (imported earlier from %s)\n", x->name,
                   x->table, x->sensitivity, have, x->file);
            continue;
        }
        uint64_t rows = 0;
        if (ward_ctl_import(&rows, m, sizeof m, sock, x->table, file, x->sensitivity,
                            x->schema[0] ? x->schema : NULL) != 0) {
            fprintf(stderr, "ward: error: %s: import of %s into %s failed: %s\n", x->name, file,
                    x->table, m);
            return 1;
        }
        printf("%-16s %-8s %-6s %7" PRIu64 " rows imported from %s\n", x->name, x->table,
               x->sensitivity, rows, x->file);
        fflush(stdout);
    }
    return 0;
}

/* ---- ward sim up | down ---------------------------------------------------------- */

static int sim_up(int argc, char **argv) {
    const char *dir = NULL, *data = NULL;
    long nodes = 0, base = 0;
    int city_mode = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char *end = NULL;
        if (strcmp(a, "--city") == 0) {
            city_mode = 1;
        } else if (strcmp(a, "--data") == 0 && i + 1 < argc) {
            data = argv[++i];
        } else if (strcmp(a, "--nodes") == 0 && i + 1 < argc) {
            nodes = strtol(argv[++i], &end, 10);
            if (*end != '\0' || nodes < 1 || nodes > SIM_MAX_NODES) {
                fprintf(stderr, "ward: error: --nodes must be 1 to %d\n", SIM_MAX_NODES);
                return 2;
            }
        } else if (strcmp(a, "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(a, "--base-port") == 0 && i + 1 < argc) {
            base = strtol(argv[++i], &end, 10);
            if (*end != '\0' || base < 1 || base > 65535 - SIM_MAX_NODES) {
                fprintf(stderr, "ward: error: --base-port must be 1 to %d\n",
                        65535 - SIM_MAX_NODES);
                return 2;
            }
        } else {
            fprintf(stderr, "ward: error: unexpected argument '%s'\n", a);
            dir = NULL;
            break;
        }
    }
    if (city_mode && nodes) {
        fprintf(stderr, "ward: error: --city and --nodes exclude each other (the demo city has "
                        "its own departments)\n");
        return 2;
    }
    if (data && !city_mode) {
        fprintf(stderr, "ward: error: --data goes with --city\n");
        return 2;
    }
    if (!dir || (nodes == 0 && !city_mode)) {
        fprintf(stderr, "ward: error: usage: ward sim up --nodes N --dir D [--base-port P] | "
                        "ward sim up --city --dir D [--base-port P] [--data DIR]\n");
        return 2;
    }
    static city c;
    static city_dept depts[SIM_MAX_NODES];
    char data_dir[PATH_MAX];
    unsigned nd = 0;
    int ex;
    if (city_mode) {
        if (!city_data_dir(data_dir, sizeof data_dir, data)) return 1;
        ex = read_city_txt(depts, &nd, SIM_MAX_NODES, data_dir);
        if (ex) return ex;
        for (unsigned k = 0; k < nd; k++) {
            char f[PATH_MAX + 300];
            snprintf(f, sizeof f, "%s/%s", data_dir, depts[k].file);
            if (access(f, R_OK) != 0) {
                fprintf(stderr, "ward: error: %s (the data of %s) is not readable: %s\n", f,
                        depts[k].name, strerror(errno));
                return 1;
            }
        }
        const char *names[SIM_MAX_NODES];
        for (unsigned k = 0; k < nd; k++) names[k] = depts[k].name;
        ex = ward_sim_city_init(&c, dir, nd, names);
    } else {
        ex = ward_sim_city_init(&c, dir, (unsigned)nodes, NULL);
    }
    if (ex) return ex;
    ex = ward_sim_city_up(&c, (unsigned)base, 0, NULL);
    if (ex) return ex;
    if (!city_mode) {
        printf("city of %u node%s up in %s: node1..node%u on 127.0.0.1:%u-%u, every node "
               "connected to its %u peer%s after %.1f s\n",
               c.n, c.n == 1 ? "" : "s", c.dir, c.n, c.base_port + 1, c.base_port + c.n,
               c.n - 1, c.n == 2 ? "" : "s", c.up_s);
        return 0;
    }
    printf("demo city of %u departments up in %s on 127.0.0.1:%u-%u, every node connected to "
           "its %u peers after %.1f s; data from %s\n",
           c.n, c.dir, c.base_port + 1, c.base_port + c.n, c.n - 1, c.up_s, data_dir);
    fflush(stdout);
    ex = city_import(&c, depts, data_dir);
    if (ex) {
        unsigned killed = ward_sim_city_stop(&c);
        (void)killed;
        fprintf(stderr, "ward: error: the city was stopped; its directory %s stays for "
                        "inspection\n", c.dir);
    }
    return ex;
}

static int sim_down(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[0], "--dir") != 0) {
        fprintf(stderr, "ward: error: usage: ward sim down --dir D\n");
        return 2;
    }
    char dir[PATH_MAX];
    if (!realpath(argv[1], dir)) {
        fprintf(stderr, "ward: error: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        fprintf(stderr, "ward: error: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    pid_t pids[SIM_MAX_NODES * 4];
    size_t n = 0, n_dirs = 0;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL && n < sizeof pids / sizeof pids[0]) {
        if (!is_node_dir(dir, e->d_name)) continue;
        n_dirs++;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/node.pid", dir, e->d_name);
        pid_t pid = read_pid(path);
        if (pid && proc_alive(pid) && proc_is_node(pid, e->d_name)) pids[n++] = pid;
    }
    closedir(dh);
    char rp[PATH_MAX + 16];
    snprintf(rp, sizeof rp, "%s/roster", dir);
    if (n_dirs == 0 && access(rp, F_OK) != 0) {
        fprintf(stderr, "ward: error: %s is not a city directory (no node directories and no "
                        "roster)\n", dir);
        return 1;
    }
    unsigned killed = n ? stop_pids(pids, n) : 0;
    dh = opendir(dir);
    while (dh && (e = readdir(dh)) != NULL) {
        if (!is_node_dir(dir, e->d_name)) continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/node.pid", dir, e->d_name);
        unlink(path);
    }
    if (dh) closedir(dh);
    if (n == 0) printf("no nodes running in %s\n", dir);
    else if (killed == 0)
        printf("stopped %zu node%s in %s\n", n, n == 1 ? "" : "s", dir);
    else
        printf("stopped %zu node%s in %s (%u did not stop within %d s and were killed)\n", n,
               n == 1 ? "" : "s", dir, killed, SIM_STOP_GRACE_MS / 1000);
    return 0;
}

int ward_cmd_sim(int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], "up") == 0) return sim_up(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "down") == 0) return sim_down(argc - 1, argv + 1);
    fprintf(stderr, "ward: error: usage: ward sim up --nodes N --dir D [--base-port P] | "
                    "ward sim up --city --dir D [--base-port P] [--data DIR] | "
                    "ward sim down --dir D | ward sim run ... (docs/simulation.md)\n");
    return 2;
}
