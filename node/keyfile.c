#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "hex.h"

/* Writes `len` bytes to path via path.tmp + fsync + rename, mode `mode`. */
static int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return WARD_EINVAL;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return WARD_EIO;
    int rc = WARD_OK;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { rc = WARD_EIO; break; }
        off += (size_t)n;
    }
    /* The umask may have narrowed the mode; set it exactly. */
    if (rc == WARD_OK && fchmod(fd, mode) != 0) rc = WARD_EIO;
    if (rc == WARD_OK && fsync(fd) != 0) rc = WARD_EIO;
    if (close(fd) != 0) rc = WARD_EIO;
    if (rc == WARD_OK && rename(tmp, path) != 0) rc = WARD_EIO;
    if (rc != WARD_OK) unlink(tmp);
    return rc;
}

static int join_path(char *out, size_t cap, const char *dir, const char *name) {
    return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? WARD_OK : WARD_EINVAL;
}

int ward_keyfile_generate(uint8_t pub_out[WARD_KEY_BYTES], ward_rng *rng,
                          const char *dir) {
    WARD_ARG_CHECK(rng != NULL && dir != NULL);
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    if (join_path(key_path, sizeof key_path, dir, "key") != WARD_OK ||
        join_path(pub_path, sizeof pub_path, dir, "key.pub") != WARD_OK)
        return WARD_EINVAL;
    struct stat st;
    if (stat(key_path, &st) == 0) return WARD_ESTATE;

    uint8_t priv[WARD_KEY_BYTES], pub[WARD_KEY_BYTES];
    char text[2 * WARD_KEY_BYTES + 2];
    ward_rng_bytes(rng, priv, sizeof priv);
    crypto_scalarmult_base(pub, priv);

    sodium_bin2hex(text, sizeof text, priv, sizeof priv); /* constant time */
    text[2 * WARD_KEY_BYTES] = '\n';
    int rc = write_file_atomic(key_path, text, 2 * WARD_KEY_BYTES + 1, 0600);
    sodium_memzero(text, sizeof text);
    sodium_memzero(priv, sizeof priv);
    if (rc == WARD_OK) {
        ward_hex_encode_var(text, sizeof text, pub, sizeof pub);
        text[2 * WARD_KEY_BYTES] = '\n';
        rc = write_file_atomic(pub_path, text, 2 * WARD_KEY_BYTES + 1, 0644);
        if (rc != WARD_OK) unlink(key_path); /* no key without its public half */
    }
    if (rc == WARD_OK && pub_out) memcpy(pub_out, pub, WARD_KEY_BYTES);
    return rc;
}

static int read_key(uint8_t key[WARD_KEY_BYTES], const char *path, int private_key) {
    memset(key, 0, WARD_KEY_BYTES);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? WARD_ENOTFOUND : WARD_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return WARD_EIO;
    }
    if (private_key && (st.st_mode & 077) != 0) {
        close(fd);
        return WARD_EKEY;
    }
    char text[2 * WARD_KEY_BYTES + 3];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, text + len, sizeof text - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { len = SIZE_MAX; break; }
        if (n == 0) break;
        len += (size_t)n;
        if (len == sizeof text) break;
    }
    close(fd);
    int rc;
    if (len == SIZE_MAX) {
        rc = WARD_EIO;
    } else {
        if (len == 2 * WARD_KEY_BYTES + 1 && text[len - 1] == '\n') len--;
        /* sodium_hex2bin runs in constant time for the digits it reads. */
        size_t got = 0;
        const char *end = NULL;
        rc = WARD_EPARSE;
        if (len == 2 * WARD_KEY_BYTES &&
            sodium_hex2bin(key, WARD_KEY_BYTES, text, len, NULL, &got, &end) == 0 &&
            got == WARD_KEY_BYTES && end == text + len)
            rc = WARD_OK;
    }
    sodium_memzero(text, sizeof text);
    if (rc != WARD_OK) sodium_memzero(key, WARD_KEY_BYTES);
    return rc;
}

int ward_keyfile_read_private(uint8_t priv[WARD_KEY_BYTES], const char *path) {
    WARD_ARG_CHECK(priv != NULL && path != NULL);
    return read_key(priv, path, 1);
}

int ward_keyfile_read_public(uint8_t pub[WARD_KEY_BYTES], const char *path) {
    WARD_ARG_CHECK(pub != NULL && path != NULL);
    return read_key(pub, path, 0);
}
