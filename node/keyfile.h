/* Key files of a node directory (DECISIONS.md "Identity"): `key` holds the
 * X25519 private key and `key.pub` the public key, each as 64 hex digits
 * and a newline. The private file is created 0600 and refused when it is
 * group- or world-accessible. */
#ifndef WARD_KEYFILE_H
#define WARD_KEYFILE_H

#include <stdint.h>

#include "rng.h"

#define WARD_KEY_BYTES 32

/* Generates an X25519 key pair from rng and writes DIR/key (0600) and
 * DIR/key.pub (0644), each written to a temporary file, synced and renamed,
 * so a crash leaves either no key or a whole one. Refuses (WARD_ESTATE) when
 * DIR/key already exists. The private key is wiped before returning.
 * pub_out (may be NULL) receives the public key. */
int ward_keyfile_generate(uint8_t pub_out[WARD_KEY_BYTES], ward_rng *rng,
                          const char *dir);

/* Reads a private key file. WARD_EKEY when the file is group- or
 * world-accessible (with the mode in the message of the caller), WARD_EPARSE
 * when it is not 64 hex digits and an optional newline, WARD_EIO when it
 * cannot be read. On failure `priv` is zeroed. */
int ward_keyfile_read_private(uint8_t priv[WARD_KEY_BYTES], const char *path);

/* Reads a public key file (same format, any mode). */
int ward_keyfile_read_public(uint8_t pub[WARD_KEY_BYTES], const char *path);

#endif
