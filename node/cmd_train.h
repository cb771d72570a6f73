/* ward --node X train ...: federated training across departments
 * (node/session_fl.c, docs/learning.md "Protocol"). Parsing, sending and
 * printing are ward_ctl_train_* in ctl_cmd.h, which train lines of session
 * scripts use too. */
#ifndef WARD_CMD_TRAIN_H
#define WARD_CMD_TRAIN_H

/* Runs `ward --node X train ARGS...` against the control socket sock;
 * argv holds the words after `train`, --json already taken out. Returns
 * the exit status (0, 1 for a failure or refusal, 2 for a usage error). */
int ward_cmd_train(const char *sock, int json, int argc, char **argv);

#endif
