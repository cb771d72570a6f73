/* Hexadecimal text <-> bytes, for keys in text files, test vectors and the
 * CLI. Decoding accepts upper and lower case and rejects odd lengths and
 * non-hex characters. Not constant-time (`_var`): use only on public data
 * or data already on its way to a text file. */
#ifndef WARD_HEX_H
#define WARD_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase hex digits and a NUL to out (out_cap >= 2*len+1).
 * Returns 0 or WARD_EINVAL. */
int ward_hex_encode_var(char *out, size_t out_cap, const uint8_t *in, size_t len);

/* Decodes hex text of length hex_len into out; *out_len receives the byte
 * count. Returns 0, WARD_EPARSE (odd length, bad digit) or WARD_ETOOBIG
 * (out_cap too small). */
int ward_hex_decode_var(uint8_t *out, size_t out_cap, size_t *out_len,
                        const char *hex, size_t hex_len);

#endif
