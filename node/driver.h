/* The libuv driver: runs one node core (core.h) as a real process.
 *
 * It loads node.conf, the roster and the private key, opens the store,
 * listens for peers on TCP and for the `ward` command on the node's Unix
 * control socket, turns socket, timer and signal activity into core events
 * and carries out the core's actions. All I/O of a node happens here; the
 * core itself touches nothing but its store.
 *
 * Control socket framing: every message is a 4-byte big-endian length and
 * then that many bytes of a ward.control Request (client to node) or
 * Response (node to client), 1 to WARD_CTL_MAX_MESSAGE bytes; any other
 * length ends the client's connection (docs/protocol.md, "Control socket").
 *
 * Time given to the core is milliseconds on libuv's monotonic clock
 * (uv_now), offset once at start so that it reads as Unix time: it never
 * goes backwards, and timestamps the core stores (imports, audit entries)
 * are meaningful dates.
 *
 * SIGTERM or SIGINT begins an orderly stop: ward_core_shutdown(), then the
 * loop runs until the core's STOP (pending writes flushed) or for at most
 * WARD_DRIVER_GRACE_MS, then every handle is closed.
 */
#ifndef WARD_DRIVER_H
#define WARD_DRIVER_H

#include <stddef.h>

#define WARD_CTL_MAX_MESSAGE (16u * 1024 * 1024)
#define WARD_DRIVER_GRACE_MS 3000

typedef struct ward_driver ward_driver;

/* Loads the configuration at conf_path and everything it names, binds the
 * peer listener and the control socket, and creates the core. Nothing runs
 * until ward_driver_run(). On failure returns a negative ward_err, *out is
 * NULL and msg (msg_cap bytes, may be NULL) holds one line saying what is
 * wrong and where, e.g. "/srv/ward/key is readable by group or others
 * (mode 0644); run: chmod 600 /srv/ward/key". Refuses to start when the
 * private key is group- or world-accessible, when the node's name or key is
 * not the roster's, or when another live node holds the control socket (a
 * stale socket file is removed). */
int ward_driver_new(ward_driver **out, char *msg, size_t msg_cap, const char *conf_path);

/* Runs the node until it stops (a signal, a shutdown request). Returns 0
 * after an orderly stop, or a negative ward_err. Call at most once. */
int ward_driver_run(ward_driver *d);

/* Closes every handle that is still open, frees the core, closes the
 * store, wipes the key and frees d. NULL is a no-op. */
void ward_driver_free(ward_driver *d);

#endif
