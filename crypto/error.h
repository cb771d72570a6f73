/* ward error codes.
 *
 * One enum for the whole project, in the manner of libuv: every fallible
 * function returns 0 (WARD_OK) on success or one of these negative codes.
 * ward_strerror() turns a code into a short English phrase suitable for a
 * log line or a `ward: error: ...` message. Codes are stable: add new ones
 * at the end, never renumber.
 */
#ifndef WARD_ERROR_H
#define WARD_ERROR_H

typedef enum {
    WARD_OK = 0,
    WARD_EINVAL = -1,       /* API misuse or an argument out of range */
    WARD_ENOMEM = -2,       /* allocation failed */
    WARD_EOVERFLOW = -3,    /* a value does not fit its encoding or field */
    WARD_EDECRYPT = -4,     /* authentication of a ciphertext failed */
    WARD_ENONCE = -5,       /* a cipher's nonce space is exhausted */
    WARD_ETOOBIG = -6,      /* a message or frame exceeds its size limit */
    WARD_ESTATE = -7,       /* call not valid in the object's current state */
    WARD_EKEY = -8,         /* a key is missing, malformed or rejected */
    WARD_EPARSE = -9,       /* malformed input (text, wire, file) */
    WARD_EUNSUPPORTED = -10,/* a valid request for something not implemented */
    WARD_EIO = -11,         /* an operating-system I/O error */
    WARD_ETRUNC = -12,      /* input ended before a complete item */
    WARD_ENOTFOUND = -13,   /* a named thing does not exist */
    WARD_EDH = -14,         /* a Diffie-Hellman result was all-zero (low order point) */
    WARD_EVERSION = -15,    /* an incompatible protocol or schema version */
    WARD_ECLOSED = -16      /* the object failed earlier and is closed for good */
} ward_err;

/* A short, static, human-readable description of `code`. Never NULL. */
const char *ward_strerror(int code);

/* The symbolic name of `code` ("WARD_EINVAL"). Never NULL. */
const char *ward_errname(int code);

/* For API misuse: return WARD_EINVAL when `cond` is false. Like
 * libsecp256k1's ARG_CHECK, it guards preconditions a correct caller never
 * violates; it is not for validating outside input (that gets its own code). */
#define WARD_ARG_CHECK(cond)                                                   \
    do {                                                                       \
        if (!(cond)) return WARD_EINVAL;                                       \
    } while (0)

#endif
