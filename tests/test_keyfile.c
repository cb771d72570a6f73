#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "check.h"
#include "error.h"
#include "keyfile.h"
#include "rng.h"

static void write_text(const char *path, const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

int main(void) {
    char dir[] = "/tmp/ward-keyfile-XXXXXX", key[256], pub[256], tmp[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(key, sizeof key, "%s/key", dir);
    snprintf(pub, sizeof pub, "%s/key.pub", dir);
    snprintf(tmp, sizeof tmp, "%s/other", dir);

    ward_rng rng;
    ward_rng_init_u64(&rng, 11);
    uint8_t pub_gen[32], priv[32], pub_read[32], derived[32];
    umask(022);
    CHECK_RC(ward_keyfile_generate(pub_gen, &rng, dir), WARD_OK);

    /* Modes: 0600 private, 0644 public. */
    struct stat st;
    CHECK(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0644);

    /* The files hold a matching pair. */
    CHECK_RC(ward_keyfile_read_private(priv, key), WARD_OK);
    CHECK_RC(ward_keyfile_read_public(pub_read, pub), WARD_OK);
    crypto_scalarmult_base(derived, priv);
    CHECK_MEM(derived, pub_gen, 32);
    CHECK_MEM(pub_read, pub_gen, 32);

    /* Never overwrites an existing key. */
    CHECK_RC(ward_keyfile_generate(NULL, &rng, dir), WARD_ESTATE);
    CHECK_RC(ward_keyfile_read_private(derived, key), WARD_OK);
    CHECK_MEM(derived, priv, 32);

    /* A group- or world-readable private key is refused, and the output
     * buffer holds nothing of it. */
    chmod(key, 0640);
    memset(derived, 0xaa, sizeof derived);
    CHECK_RC(ward_keyfile_read_private(derived, key), WARD_EKEY);
    static const uint8_t zero[32];
    CHECK_MEM(derived, zero, 32);
    chmod(key, 0604);
    CHECK_RC(ward_keyfile_read_private(derived, key), WARD_EKEY);
    chmod(key, 0600);
    CHECK_RC(ward_keyfile_read_public(derived, key), WARD_OK); /* any mode for public reads */

    /* Malformed contents. */
    write_text(tmp, "00112233", 0600);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_EPARSE);
    write_text(tmp, "zz00000000000000000000000000000000000000000000000000000000000000\n", 0600);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_EPARSE);
    write_text(tmp, "0000000000000000000000000000000000000000000000000000000000000000\n\n", 0600);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_EPARSE);
    write_text(tmp, "000000000000000000000000000000000000000000000000000000000000000\n", 0600);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_EPARSE);
    write_text(tmp, "0000000000000000000000000000000000000000000000000000000000000000", 0600);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_OK); /* newline optional */
    snprintf(tmp, sizeof tmp, "%s/missing", dir);
    CHECK_RC(ward_keyfile_read_private(derived, tmp), WARD_ENOTFOUND);
    CHECK_RC(ward_keyfile_read_private(derived, dir), WARD_EIO); /* a directory */

    /* A directory that does not exist: nothing written, clear error. */
    snprintf(tmp, sizeof tmp, "%s/no/such/dir", dir);
    CHECK_RC(ward_keyfile_generate(NULL, &rng, tmp), WARD_EIO);

    sodium_memzero(priv, sizeof priv);
    ward_rng_clear(&rng);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return check_done("keyfile");
}
