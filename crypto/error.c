#include "error.h"

#include <stddef.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} ward_errors[] = {
    {WARD_OK, "WARD_OK", "success"},
    {WARD_EINVAL, "WARD_EINVAL", "invalid argument"},
    {WARD_ENOMEM, "WARD_ENOMEM", "out of memory"},
    {WARD_EOVERFLOW, "WARD_EOVERFLOW", "value out of range"},
    {WARD_EDECRYPT, "WARD_EDECRYPT", "decryption failed (bad key, tampered or out-of-order message)"},
    {WARD_ENONCE, "WARD_ENONCE", "nonce space exhausted"},
    {WARD_ETOOBIG, "WARD_ETOOBIG", "message too large"},
    {WARD_ESTATE, "WARD_ESTATE", "operation not valid in this state"},
    {WARD_EKEY, "WARD_EKEY", "missing or invalid key"},
    {WARD_EPARSE, "WARD_EPARSE", "malformed input"},
    {WARD_EUNSUPPORTED, "WARD_EUNSUPPORTED", "not supported"},
    {WARD_EIO, "WARD_EIO", "input/output error"},
    {WARD_ETRUNC, "WARD_ETRUNC", "truncated input"},
    {WARD_ENOTFOUND, "WARD_ENOTFOUND", "not found"},
    {WARD_EDH, "WARD_EDH", "Diffie-Hellman produced a low-order result"},
    {WARD_EVERSION, "WARD_EVERSION", "incompatible version"},
    {WARD_ECLOSED, "WARD_ECLOSED", "closed after an earlier failure"},
};

static size_t ward_error_index(int code) {
    for (size_t i = 0; i < sizeof ward_errors / sizeof ward_errors[0]; i++)
        if (ward_errors[i].code == code) return i;
    return (size_t)-1;
}

const char *ward_strerror(int code) {
    size_t i = ward_error_index(code);
    return i == (size_t)-1 ? "unknown error" : ward_errors[i].text;
}

const char *ward_errname(int code) {
    size_t i = ward_error_index(code);
    return i == (size_t)-1 ? "WARD_EUNKNOWN" : ward_errors[i].name;
}
