/* ward --node X max | argmax | threshold: a decision across many
 * departments, computed by two of them in a garbled circuit
 * (node/session_decide.c, docs/garbled-circuits.md). Parsing, sending and
 * printing are ward_ctl_decide_* in ctl_cmd.h; the command itself is
 * ward_cmd_job. */
#ifndef WARD_CMD_DECIDE_H
#define WARD_CMD_DECIDE_H

/* 1 when word names a decision command (max, argmax, threshold). */
int ward_cmd_is_decide(const char *word);

#endif
