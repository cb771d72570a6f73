#include "hex.h"

#include "error.h"

int ward_hex_encode_var(char *out, size_t out_cap, const uint8_t *in, size_t len) {
    static const char digits[] = "0123456789abcdef";
    WARD_ARG_CHECK(out != NULL && (in != NULL || len == 0));
    WARD_ARG_CHECK(len <= (SIZE_MAX - 1) / 2 && out_cap >= 2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
    return WARD_OK;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int ward_hex_decode_var(uint8_t *out, size_t out_cap, size_t *out_len,
                        const char *hex, size_t hex_len) {
    WARD_ARG_CHECK(out_len != NULL && (hex != NULL || hex_len == 0));
    *out_len = 0;
    if (hex_len % 2 != 0) return WARD_EPARSE;
    if (hex_len / 2 > out_cap) return WARD_ETOOBIG;
    WARD_ARG_CHECK(out != NULL || hex_len == 0);
    for (size_t i = 0; i < hex_len / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return WARD_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = hex_len / 2;
    return WARD_OK;
}
