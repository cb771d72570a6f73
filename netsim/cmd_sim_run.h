/* `ward sim run` (INTERFACE.md), dispatched from node/main.c: the one
 * command of the simulator. Returns the process exit status: 0, 1 when an
 * invariant was violated or the run failed, 2 for a usage error (bad flags
 * or a bad scenario file, named with its line). */
#ifndef WARD_CMD_SIM_RUN_H
#define WARD_CMD_SIM_RUN_H

int ward_cmd_sim_run(int argc, char **argv);

#endif
