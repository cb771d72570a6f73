/* `ward eval utility`: the utility of the demo city's private releases
 * for a fixed set of analyst queries (node/eval_utility.h, docs/privacy.md
 * "Utility"). argv[0] is "utility". Returns the exit status: 0, 1 for a
 * failure, 2 for a usage error. */
#ifndef WARD_CMD_EVAL_H
#define WARD_CMD_EVAL_H

int ward_cmd_eval(int argc, char **argv);

#endif
