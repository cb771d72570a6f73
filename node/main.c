/* The `ward` command: one executable for every role (INTERFACE.md). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "bench.h"
#include "bench_sim.h"
#include "cmd_circuit.h"
#include "cmd_eval.h"
#include "cmd_learn.h"
#include "cmd_ldp.h"
#include "cmd_node.h"
#include "cmd_sim_run.h"
#include "error.h"
#include "keyfile.h"
#include "rng.h"
#include "selftest.h"

#ifndef WARD_VERSION
#define WARD_VERSION "0.1.0"
#endif

/* The usage text, one entry per command form. `ward WORDS... --help`
 * prints the entries whose key matches the command's words (for
 * `--node X VERB`, "--node" and one of the VERBs, '|' separated). */
typedef struct {
    const char *key;
    const char *text;
} usage_entry;

static const usage_entry usage_entries[] = {
    {"keygen",
     "  keygen --out DIR              write an X25519 key pair: DIR/key (0600)\n"
     "                                and DIR/key.pub\n"},
    {"init",
     "  init --dir D --name NAME --listen HOST:PORT\n"
     "                                make a node directory; prints its roster entry\n"},
    {"node",
     "  node --config DIR/node.conf   run a node in the foreground (SIGTERM stops it)\n"},
    {"sim up",
     "  sim up --nodes N --dir D [--base-port P]\n"
     "                                start N local nodes node1..nodeN on 127.0.0.1\n"},
    {"sim up",
     "  sim up --city --dir D [--base-port P] [--data DIR]\n"
     "                                start the demo city's seven departments with\n"
     "                                their data (netsim/city)\n"},
    {"sim down",
     "  sim down --dir D              stop them (the data stays)\n"},
    {"sim run",
     "  sim run --nodes N --seed S [--latency MS] [--jitter MS] [--loss P]\n"
     "          [--partition SPEC] [--crash SPEC] [--scenario FILE] [--json]\n"
     "                                a deterministic in-process city (ward sim run --help)\n"},
    {"--node status|peers|tables|budget|audit",
     "  --node X status|peers|tables|budget|audit [--verify] [--json]\n"},
    {"--node import",
     "  --node X import TABLE FILE.csv [--sensitivity high|medium|low]\n"},
    {"--node sum|count|mean|histogram",
     "  --node X sum|count|mean|histogram TABLE.COLUMN --parties LIST|all\n"
     "           [--where EXPR] [--group-by KEY [--domain [PART=]VALUES]]\n"
     "           [--output LIST]\n"
     "           [--epsilon E] [--delta D] [--exact] [--json]\n"
     "                                talk to the node X (a node directory or its\n"
     "                                control socket)\n"},
    {"--node max|argmax|threshold",
     "  --node X max|argmax|threshold TABLE.COLUMN --agg sum|max|count\n"
     "           --parties LIST|all --compute A,B [--threshold T] [--where EXPR]\n"
     "                                a decision across departments, computed by A\n"
     "                                and B in a garbled circuit (exact)\n"},
    {"--node gc",
     "  --node X gc --peer NAME --session NAME --circuit FILE --input HEX...\n"
     "           [--role garbler|evaluator] [--json]\n"
     "                                a two-party garbled-circuit session\n"},
    {"--node train",
     "  --node X train --table T --features F,... --label Y --model KIND\n"
     "           --parties LIST|all --rounds R [--epsilon E --clip C] [--json]\n"
     "                                federated learning with the other parties\n"
     "                                (docs/learning.md)\n"},
    {"--node import",
     "  --node X import TABLE FILE --ldp-reports rr|oue|olh --epsilon E --domain D\n"
     "                                store citizens' local-DP reports as a table\n"},
    {"--node ldp-estimate",
     "  --node X ldp-estimate TABLE [--parties LIST|all] [--json]\n"
     "                                per-value frequency estimates and their sd, at\n"
     "                                this node or over several departments' reports\n"},
    {"--node run",
     "  --node X run SCRIPT [--json] [--stop-on-error] [--parallel N]\n"
     "                                a session script: one joint computation per\n"
     "                                line (docs/session-scripts.md)\n"},
    {"selftest noise-vectors",
     "  selftest noise-vectors FILE   run a Noise test-vector file (JSON);\n"
     "                                prints 'N passed, N failed, N skipped'\n"},
    {"circuit info",
     "  circuit info FILE             gate counts, inputs and outputs of a\n"
     "                                Bristol Fashion circuit\n"},
    {"circuit eval",
     "  circuit eval FILE HEX...      evaluate it in the clear (one HEX per input)\n"},
    {"ldp encode",
     "  ldp encode --mech rr|oue|olh|planar-laplace --epsilon E\n"
     "      [--domain D | --bbox MINLAT,MINLON,MAXLAT,MAXLON --cell DEG] [--seed S]\n"
     "                                local DP on the citizen's side: raw values on\n"
     "                                stdin, one perturbed report per line on stdout\n"},
    {"ldp estimate",
     "  ldp estimate --mech rr|oue|olh --epsilon E --domain D [--json]\n"
     "                                frequency estimates from reports on stdin\n"},
    {"eval utility",
     "  eval utility [--json] [--epsilon E | --exact] [--trials N] [--seed S]\n"
     "      [--split allocator|even] [--queries NAME,...] [--curve [E,...]]\n"
     "                                utility of private releases for the demo\n"
     "                                city's analyst queries (docs/privacy.md)\n"},
    {"eval learning",
     "  eval learning [--json] [--seed S] [--tasks NAME,...] [--rounds small|full|N]\n"
     "      [--dp-rounds N] [--model KIND] [--prox MU] [--lr X] [--dp-lr X] [--data DIR]\n"
     "                                federated learning on the real tasks: federated,\n"
     "                                DP, centralized and local-only (docs/learning.md)\n"},
    {"bench",
     "  bench NAME [--json] [--quick] run one benchmark (ward bench --list)\n"},
    {"version",
     "  version                       print the version\n"},
    {"help",
     "  help                          this text\n"},
};
#define N_USAGE (sizeof usage_entries / sizeof usage_entries[0])

static void usage(FILE *out) {
    fputs("usage: ward COMMAND [ARGS]\n\ncommands:\n", out);
    for (size_t i = 0; i < N_USAGE; i++) fputs(usage_entries[i].text, out);
}

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* Does '|'-separated list hold word? */
static int in_bar_list(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Does entry key ("CMD", "CMD SUB" or "--node VERB|VERB") match the
 * command's words? sub and verb may be NULL: every form of the command. */
static int usage_matches(const char *key, const char *cmd, const char *sub) {
    size_t n = strlen(cmd);
    if (strncmp(key, cmd, n) != 0 || (key[n] != '\0' && key[n] != ' ')) return 0;
    if (!sub || key[n] == '\0') return 1;
    return strcmp(cmd, "--node") == 0 ? in_bar_list(key + n + 1, sub) : strcmp(key + n + 1, sub) == 0;
}

/* `ward CMD ... --help`: the usage of that command on stdout, exit 0.
 * Returns -1 when argv asks for no help or names no command it knows
 * (the command then reports its own usage error). `ward sim run --help`
 * has a longer text of its own. */
static int command_help(int argc, char **argv) {
    int asked = 0;
    for (int i = 2; i < argc; i++) asked |= is_help(argv[i]);
    if (!asked) return -1;
    const char *cmd = argv[1], *sub = NULL;
    if (strcmp(cmd, "--node") == 0) {
        if (argc > 3 && argv[3][0] != '-') sub = argv[3];
    } else if (argc > 2 && argv[2][0] != '-') {
        sub = argv[2];
    }
    if (strcmp(cmd, "sim") == 0 && sub && strcmp(sub, "run") == 0) return -1;
    int found = 0;
    for (size_t i = 0; i < N_USAGE; i++) {
        if (!usage_matches(usage_entries[i].key, cmd, sub)) continue;
        if (!found) fputs("usage:\n", stdout);
        fputs(usage_entries[i].text, stdout);
        found = 1;
    }
    return found ? 0 : -1;
}

static int cmd_selftest(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[0], "noise-vectors") != 0) {
        fprintf(stderr, "ward: error: usage: ward selftest noise-vectors FILE\n");
        return 2;
    }
    ward_selftest_counts counts;
    int rc = ward_selftest_noise_vectors(&counts, stderr, argv[1]);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s: %s\n", argv[1], ward_strerror(rc));
        return 1;
    }
    printf("%u passed, %u failed, %u skipped\n", counts.passed, counts.failed,
           counts.skipped);
    return counts.failed == 0 ? 0 : 1;
}

static int cmd_keygen(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[0], "--out") != 0) {
        fprintf(stderr, "ward: error: usage: ward keygen --out DIR\n");
        return 2;
    }
    ward_rng rng;
    uint8_t pub[WARD_KEY_BYTES];
    char hex[2 * WARD_KEY_BYTES + 1];
    int rc = ward_rng_init_system(&rng);
    if (rc == WARD_OK) rc = ward_keyfile_generate(pub, &rng, argv[1]);
    ward_rng_clear(&rng);
    if (rc == WARD_ESTATE) {
        fprintf(stderr, "ward: error: %s/key exists; refusing to overwrite a key\n", argv[1]);
        return 1;
    }
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: cannot write keys in %s: %s\n", argv[1],
                ward_strerror(rc));
        return 1;
    }
    sodium_bin2hex(hex, sizeof hex, pub, sizeof pub);
    printf("%s\n", hex);
    return 0;
}

int main(int argc, char **argv) {
    if (sodium_init() < 0) {
        fprintf(stderr, "ward: error: libsodium failed to initialise\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int help = command_help(argc, argv);
    if (help >= 0) return help;
    if (strcmp(cmd, "keygen") == 0) return cmd_keygen(argc - 2, argv + 2);
    if (strcmp(cmd, "selftest") == 0) return cmd_selftest(argc - 2, argv + 2);
    if (strcmp(cmd, "circuit") == 0) return ward_cmd_circuit(argc - 2, argv + 2);
    if (strcmp(cmd, "ldp") == 0) return ward_cmd_ldp(argc - 2, argv + 2);
    if (strcmp(cmd, "eval") == 0 && argc >= 3 && strcmp(argv[2], "learning") == 0)
        return ward_cmd_eval_learning(argc - 3, argv + 3);
    if (strcmp(cmd, "eval") == 0) return ward_cmd_eval(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0) {
        /* netsim/ sits above node/, so its benchmark is registered here. */
        ward_bench_register("sim", ward_bench_sim, "a simulated 100-node city running 50 sessions");
        return ward_bench_main(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "node") == 0) return ward_cmd_node(argc - 2, argv + 2);
    if (strcmp(cmd, "init") == 0) return ward_cmd_init(argc - 2, argv + 2);
    if (strcmp(cmd, "sim") == 0 && argc >= 3 && strcmp(argv[2], "run") == 0)
        return ward_cmd_sim_run(argc - 3, argv + 3);
    if (strcmp(cmd, "sim") == 0) return ward_cmd_sim(argc - 2, argv + 2);
    if (strcmp(cmd, "--node") == 0 && ward_ldp_is_node_command(argc - 1, argv + 1))
        return ward_cmd_ldp_node(argc - 1, argv + 1);
    if (strcmp(cmd, "--node") == 0) return ward_cmd_ctl(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ward %s\n", WARD_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "ward: error: unknown command '%s' (ward help lists them)\n", cmd);
    return 2;
}
