/* ward --node X max | argmax | threshold: a decision across many
 * departments, computed by two of them in a garbled circuit
 * (node/session_decide.c, docs/garbled-circuits.md). */
#ifndef WARD_CMD_DECIDE_H
#define WARD_CMD_DECIDE_H

/* 1 when word names a decision command (max, argmax, threshold). */
int ward_cmd_is_decide(const char *word);

/* Runs `ward --node X OP ARGS...` against the control socket sock; argv
 * holds the words after OP, --json already taken out. Returns the exit
 * status (0, 1 for a failure or refusal, 2 for a usage error). */
int ward_cmd_decide(const char *sock, int json, const char *op, int argc, char **argv);

#endif
