/* The `ward` subcommands that run, make and talk to nodes (INTERFACE.md).
 * Each takes the arguments after its own name and returns the process
 * exit status: 0 on success, 1 on failure, 2 for a usage error, having
 * printed one `ward: error: ...` line on stderr for a failure. */
#ifndef WARD_CMD_NODE_H
#define WARD_CMD_NODE_H

/* ward node --config DIR/node.conf: the foreground daemon. */
int ward_cmd_node(int argc, char **argv);

/* ward init --dir D --name NAME --listen HOST:PORT: a node directory; the
 * node's roster entry on stdout. */
int ward_cmd_init(int argc, char **argv);

/* ward --node X COMMAND ...: argv[0] is "--node". */
int ward_cmd_ctl(int argc, char **argv);

/* ward sim up|down ...: a local city of node processes. */
int ward_cmd_sim(int argc, char **argv);

/* mkdir -p: creates path with `mode` (missing parents get 0755). Returns
 * 0 when path is a directory afterwards, WARD_EIO otherwise (the system's
 * reason is left in errno for the message), WARD_EINVAL for an empty or
 * overlong path. */
int ward_make_dirs(const char *path, unsigned mode);

#endif
