/* `ward circuit info FILE` and `ward circuit eval FILE HEX...`. */
#ifndef WARD_CMD_CIRCUIT_H
#define WARD_CMD_CIRCUIT_H

/* argv[0] is "info" or "eval". Returns the process exit status (0, 1 for a
 * failure such as a bad file, 2 for a usage error) after printing results
 * to stdout or a `ward: error: ...` line to stderr. */
int ward_cmd_circuit(int argc, char **argv);

#endif
