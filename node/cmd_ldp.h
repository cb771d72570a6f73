/* `ward ldp encode` and `ward ldp estimate`: local DP on the client side
 * and its estimators (crypto/ldp.h, docs/privacy.md). */
#ifndef WARD_CMD_LDP_H
#define WARD_CMD_LDP_H

/* argv[0] is "encode" or "estimate". Reads stdin, writes stdout. Returns
 * the process exit status: 0, 1 for a bad input line (reported with its
 * line number) or another failure, 2 for a usage error. */
int ward_cmd_ldp(int argc, char **argv);

#endif

/* The node side (docs/privacy.md, "Local DP at the node"):
 *   ward --node DIR import TABLE FILE --ldp-reports rr|oue|olh --epsilon E
 *        --domain D [--sensitivity high|medium|low] [--json]
 *   ward --node DIR ldp-estimate TABLE [--json]
 * argv[0] is "--node". Both open the node's database (DIR/node.conf's db)
 * in this process: the control protocol has no report commands yet.
 * ward_ldp_is_node_command tells main() whether argv (from "--node") is one
 * of these. Returns the exit status as above. */
int ward_ldp_is_node_command(int argc, char **argv);
int ward_cmd_ldp_node(int argc, char **argv);
