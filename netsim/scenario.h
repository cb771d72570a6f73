/* Scenario files: faults and sessions scheduled at virtual times.
 *
 * One directive per line, `VERB key=value ...`; `#` starts a comment; a
 * value with spaces is double-quoted. Times are integer milliseconds of
 * virtual time (>= 0); nodes are `3` or `node3` (1..N). The full format is
 * in docs/simulation.md; examples are in netsim/scenarios/.
 *
 *     link latency=5 jitter=2 loss=0.001 bandwidth=100000
 *     link a=1 b=2 latency=80 loss=0.02 at=5000
 *     clock node=3 skew=1500 drift=-200
 *     session at=2000 op=sum table=parking column=Occupancy from=2 parties=all
 *     session at=2500 op=count table=taxi from=1 epsilon=0.1
 *     partition at=4000 until=12000 groups=1,2/3,4,5
 *     crash at=6000 node=3 restart=9000
 *     stall at=7000 node=4 until=15000
 *     tamper at=3000 until=8000 from=1 to=2 mode=flip rate=0.5
 *     outsider at=1000 until=20000 mode=impersonate
 *     train at=2000 from=1 table=air features="ws[0,100],sin_hour(date)" label=pm10>30
 *           model=logreg rounds=12 pace=300 parties=all          (one line)
 *     end at=30000
 *
 * Outside input: every error names its line and what is wrong, and
 * nothing of a rejected file is kept.
 */
#ifndef WARD_SCENARIO_H
#define WARD_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "city.h"
#include "sim.h"

#define WARD_SC_MAX_ITEMS 100000
#define WARD_SC_MAX_LINE 4096
#define WARD_SC_MAX_EPSILON 10
#define WARD_SC_MAX_TIME_MS 100000000ULL   /* about 27 hours of virtual time */

typedef enum {
    WARD_SC_LINK = 1,
    WARD_SC_CLOCK,
    WARD_SC_SESSION,
    WARD_SC_PARTITION,
    WARD_SC_CRASH,
    WARD_SC_STALL,
    WARD_SC_TAMPER,
    WARD_SC_OUTSIDER,
    WARD_SC_TRAIN
} ward_sc_kind;

#define WARD_SC_MAX_FEATURES 512
#define WARD_SC_MAX_LABEL 128
#define WARD_SC_MAX_ROUNDS 1000

/* Which link fields a `link` line sets (the others keep their values). */
enum { WARD_SC_SET_LATENCY = 1, WARD_SC_SET_JITTER = 2, WARD_SC_SET_LOSS = 4, WARD_SC_SET_BANDWIDTH = 8 };

typedef struct {
    ward_sc_kind kind;
    size_t line;               /* 0 for items made from flags or by the swarm */
    uint64_t at_ms;
    uint64_t until_ms;         /* partition, stall, tamper, outsider: end; crash: restart */
    int has_until;
    long a, b;                 /* link: the pair, or -1 for every link */
    ward_sim_link link;
    unsigned link_set;
    uint32_t node, to;         /* clock/crash/stall: node; tamper: node -> to */
    ward_sim_clock clock;
    int mode;                  /* ward_sim_tamper_mode / ward_sim_outsider_mode */
    double rate;               /* tamper */
    ward_city_query query;     /* session */
    double epsilon;            /* session: > 0 asks for a differentially private
                                  release at this epsilon; 0: exact */
    uint8_t *parties;          /* session: flags per node; NULL = all */
    uint8_t *output;           /* session: flags per node; NULL = all parties */
    uint32_t *groups;          /* partition: group of each node */
    /* train (federated training, docs/learning.md): query.table is the
     * table, node the proposer, parties as for a session */
    char features[WARD_SC_MAX_FEATURES];
    char label[WARD_SC_MAX_LABEL];
    uint32_t model;            /* ward_learn_kind */
    uint32_t rounds, pace_ms;
} ward_sc_item;

typedef struct {
    size_t nodes;
    ward_sc_item *items;
    size_t n, cap;
    uint64_t end_ms;
    int has_end;
} ward_scenario;

typedef struct {
    size_t line;
    char reason[200];
} ward_scenario_error;

void ward_scenario_init(ward_scenario *sc, size_t nodes);
void ward_scenario_free(ward_scenario *sc);

/* Parses scenario text for a city of `nodes` nodes, appending to sc.
 * Returns 0, or WARD_EPARSE / WARD_ENOTFOUND / WARD_ETOOBIG / WARD_ENOMEM
 * with err->line and err->reason; on failure sc is as before the call. */
int ward_scenario_parse(ward_scenario *sc, ward_scenario_error *err, const char *text, size_t len);

/* Reads and parses a file (err->line 0 when the file cannot be read). */
int ward_scenario_load(ward_scenario *sc, ward_scenario_error *err, const char *path);

/* Command-line specs (INTERFACE.md):
 *   --partition GROUPS@START-END   GROUPS: nodes joined by ',', groups by '/'
 *   --crash NODE@START[-RESTART]
 * Return 0 or WARD_EPARSE with a reason in err (line 0). */
int ward_scenario_add_partition_spec(ward_scenario *sc, ward_scenario_error *err, const char *spec);
int ward_scenario_add_crash_spec(ward_scenario *sc, ward_scenario_error *err, const char *spec);

/* A probability in [0, 1] ("1.5", "-0.1", "nan" are errors). */
int ward_scenario_parse_prob(double *out, const char *text);
/* A non-negative integer no larger than max. */
int ward_scenario_parse_uint(uint64_t *out, const char *text, uint64_t max);

/* Appends an item (copies the arrays it points to). Returns 0,
 * WARD_ETOOBIG or WARD_ENOMEM. */
int ward_scenario_add(ward_scenario *sc, const ward_sc_item *item);

/* The last time anything in the scenario happens (at or until). */
uint64_t ward_scenario_last_ms(const ward_scenario *sc);

/* Writes the scenario in the file format; parsing the output gives the
 * same scenario. */
int ward_scenario_write(const ward_scenario *sc, FILE *out);

const char *ward_scenario_op_name(ward_city_op op);
const char *ward_scenario_tamper_name(int mode);

#endif
