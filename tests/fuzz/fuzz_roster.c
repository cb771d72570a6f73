/* Fuzzes the roster parser: any bytes must give a roster or a clean error. */
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ward_roster r;
    ward_roster_error e;
    if (ward_roster_parse(&r, &e, (const char *)data, size) == WARD_OK) {
        for (size_t i = 0; i < r.n_members; i++) {
            char line[512];
            (void)ward_roster_format_member(line, sizeof line, &r.members[i]);
            (void)ward_roster_find(&r, r.members[i].name);
        }
        ward_roster_free(&r);
    }
    return 0;
}
