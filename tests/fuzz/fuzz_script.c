/* Fuzzes the session-script parser (`ward --node X run SCRIPT`,
 * node/cmd_run.c): an analyst writes these, so any text must be taken
 * (every line a computation whose arguments the command line would take)
 * or refused with a reason, before anything runs; never a crash, a read
 * past the text or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 64 * 1024 || memchr(data, '\0', size)) return 0; /* run refuses both first */
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char msg[700];
    msg[0] = '\0';
    int rc = ward_run_check_text(msg, sizeof msg, text);
    free(text);
    if (rc != 0 && rc != 1 && rc != 2) abort();
    if (rc == 2 && msg[0] == '\0') abort();
    return 0;
}
