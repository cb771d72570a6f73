/* `ward ldp encode` and `ward ldp estimate`: local DP on the client side
 * and its estimators (crypto/ldp.h, docs/privacy.md). */
#ifndef WARD_CMD_LDP_H
#define WARD_CMD_LDP_H

/* argv[0] is "encode" or "estimate". Reads stdin, writes stdout. Returns
 * the process exit status: 0, 1 for a bad input line (reported with its
 * line number) or another failure, 2 for a usage error. */
int ward_cmd_ldp(int argc, char **argv);

#endif
