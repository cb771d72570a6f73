#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

int ward_read_file(char **out, size_t *out_len, const char *path, size_t max_len) {
    WARD_ARG_CHECK(out != NULL && out_len != NULL && path != NULL && max_len < (size_t)-2);
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = WARD_OK;
    for (;;) {
        if (len == cap) {
            /* Room for max_len + 1 bytes: one more than allowed tells a file
             * that is too long from one that is exactly max_len. */
            if (cap > max_len) {
                rc = WARD_ETOOBIG;
                break;
            }
            size_t ncap = cap ? 2 * cap : 1 << 16;
            if (ncap > max_len + 1) ncap = max_len + 1;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = WARD_ENOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) rc = WARD_EIO;
            break;
        }
    }
    int saved = errno;
    fclose(f);
    if (rc == WARD_OK && len > max_len) rc = WARD_ETOOBIG;
    if (rc != WARD_OK) {
        free(buf);
        errno = saved;
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return WARD_OK;
}
