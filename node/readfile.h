/* Reading a whole file into memory, for the inputs ward reads at once
 * (circuits, vector files, scenarios, policies). */
#ifndef WARD_READFILE_H
#define WARD_READFILE_H

#include <stddef.h>

/* Reads all of path into a new buffer *out (caller frees), NUL-terminated
 * after *out_len bytes. Returns 0; WARD_ENOTFOUND (no such file),
 * WARD_ETOOBIG (longer than max_len bytes), WARD_EIO (cannot open or read:
 * errno says why), WARD_ENOMEM. On failure *out is NULL and *out_len 0. */
int ward_read_file(char **out, size_t *out_len, const char *path, size_t max_len);

#endif
