/* `ward eval learning`: federated learning on the four real tasks
 * (docs/learning.md, "Tasks" and "Results"): per task, the model trained
 * federated (FedAvg, or FedProx with --prox), federated with DP at epsilon
 * 1 and 2.1, centralized on the union (the non-private reference) and
 * local-only, beside the goals. Everything runs in one process: the
 * parties' secret-shared sums are computed by ward_fedavg_sum(), which
 * gives exactly what the protocol's reconstruction gives. argv holds the
 * arguments after "learning". Returns the exit status (0, 1 for a failure,
 * 2 for a usage error). */
#ifndef WARD_CMD_LEARN_H
#define WARD_CMD_LEARN_H

int ward_cmd_eval_learning(int argc, char **argv);

#endif
