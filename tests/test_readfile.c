#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "readfile.h"

int main(void) {
    char path[] = "/tmp/ward-readfile-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 100000; i++) fputc('a' + i % 26, f);
    fclose(f);
    char *buf;
    size_t len;
    CHECK_RC(ward_read_file(&buf, &len, path, 100000), WARD_OK);
    CHECK_EQ_U64(len, 100000);
    CHECK(buf && buf[0] == 'a' && buf[99999] == 'a' + 99999 % 26 && buf[100000] == '\0');
    free(buf);
    /* One byte over the limit is refused, and nothing is returned. */
    CHECK_RC(ward_read_file(&buf, &len, path, 99999), WARD_ETOOBIG);
    CHECK(buf == NULL && len == 0);
    CHECK_RC(ward_read_file(&buf, &len, path, 0), WARD_ETOOBIG);
    unlink(path);
    CHECK_RC(ward_read_file(&buf, &len, path, 100), WARD_ENOTFOUND);
    CHECK_RC(ward_read_file(&buf, &len, "/", 100), WARD_EIO); /* a directory */
    /* An empty file is an empty, terminated buffer. */
    char empty[] = "/tmp/ward-readfile-XXXXXX";
    fd = mkstemp(empty);
    CHECK(fd >= 0);
    close(fd);
    CHECK_RC(ward_read_file(&buf, &len, empty, 0), WARD_OK);
    CHECK(buf && len == 0 && buf[0] == '\0');
    free(buf);
    unlink(empty);
    return check_done("readfile");
}
