/* Fuzzes the node.conf parser: any bytes must give a conf or a clean error
 * naming a line; a parsed conf must format and parse back to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ward_conf c, c2;
    static char text[5 * WARD_CONF_PATH_MAX + 4096];
    ward_conf_error e;
    int rc = ward_conf_parse(&c, &e, (const char *)data, size, "/srv/ward/node1");
    if (rc != WARD_OK) {
        if (e.reason[0] == '\0') abort();
        return 0;
    }
    size_t len = 0;
    if (ward_conf_format(text, sizeof text, &len, &c) != WARD_OK) abort();
    if (ward_conf_parse(&c2, &e, text, len, "/srv/ward/node1") != WARD_OK) abort();
    if (memcmp(&c, &c2, sizeof c) != 0) abort();
    return 0;
}
