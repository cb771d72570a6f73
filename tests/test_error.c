#include <string.h>

#include "check.h"
#include "error.h"

int main(void) {
    /* Every code has its own name and text; unknown codes are handled. */
    for (int c = 0; c >= WARD_ECLOSED; c--) {
        CHECK(strcmp(ward_strerror(c), "unknown error") != 0);
        CHECK(strcmp(ward_errname(c), "WARD_EUNKNOWN") != 0);
        for (int d = c - 1; d >= WARD_ECLOSED; d--)
            CHECK(strcmp(ward_strerror(c), ward_strerror(d)) != 0);
    }
    CHECK(strcmp(ward_errname(WARD_EINVAL), "WARD_EINVAL") == 0);
    CHECK(strcmp(ward_strerror(-999), "unknown error") == 0);
    CHECK(strcmp(ward_strerror(1), "unknown error") == 0);
    return check_done("error");
}
