/* Fuzzes the scenario parser (netsim/scenario.c) and the command-line
 * fault specs: any bytes give a scenario or a clean error with a line
 * number, and a parsed scenario written out parses again. The first byte
 * picks the size of the city (1..16 nodes). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t nodes = 1 + (data[0] & 15);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    ward_scenario sc;
    ward_scenario_error err;
    ward_scenario_init(&sc, nodes);
    int rc = ward_scenario_parse(&sc, &err, text, len);
    if (rc != WARD_OK) {
        if (sc.n != 0) abort(); /* a rejected file leaves nothing behind */
    } else {
        char *buf = NULL;
        size_t blen = 0;
        FILE *f = open_memstream(&buf, &blen);
        if (f) {
            ward_scenario_write(&sc, f);
            fclose(f);
            ward_scenario again;
            ward_scenario_init(&again, nodes);
            if (ward_scenario_parse(&again, &err, buf, blen) != WARD_OK || again.n != sc.n) abort();
            ward_scenario_free(&again);
            free(buf);
        }
    }
    ward_scenario_free(&sc);
    /* The same bytes as --partition and --crash values and as a probability. */
    char spec[256];
    size_t n = len < sizeof spec - 1 ? len : sizeof spec - 1;
    memcpy(spec, text, n);
    spec[n] = '\0';
    ward_scenario_init(&sc, nodes);
    (void)ward_scenario_add_partition_spec(&sc, &err, spec);
    (void)ward_scenario_add_crash_spec(&sc, &err, spec);
    double p;
    if (ward_scenario_parse_prob(&p, spec) == WARD_OK && !(p >= 0 && p <= 1)) abort();
    ward_scenario_free(&sc);
    return 0;
}
