#include "check.h"
#include "error.h"
#include "hex.h"

int main(void) {
    uint8_t b[8];
    size_t n;
    char s[17];
    CHECK_RC(ward_hex_decode_var(b, sizeof b, &n, "00ff10Ab", 8), WARD_OK);
    CHECK_EQ_U64(n, 4);
    CHECK(b[0] == 0x00 && b[1] == 0xff && b[2] == 0x10 && b[3] == 0xab);
    CHECK_RC(ward_hex_encode_var(s, sizeof s, b, 4), WARD_OK);
    CHECK(strcmp(s, "00ff10ab") == 0);
    CHECK_RC(ward_hex_encode_var(s, 8, b, 4), WARD_EINVAL); /* no room for NUL */
    CHECK_RC(ward_hex_decode_var(b, sizeof b, &n, "abc", 3), WARD_EPARSE);
    CHECK_RC(ward_hex_decode_var(b, sizeof b, &n, "zz", 2), WARD_EPARSE);
    CHECK_RC(ward_hex_decode_var(b, sizeof b, &n, "0g", 2), WARD_EPARSE);
    CHECK_RC(ward_hex_decode_var(b, 2, &n, "000000", 6), WARD_ETOOBIG);
    CHECK_RC(ward_hex_decode_var(b, sizeof b, &n, "", 0), WARD_OK);
    CHECK_EQ_U64(n, 0);
    /* every byte value round-trips */
    for (int v = 0; v < 256; v++) {
        uint8_t in = (uint8_t)v, out;
        char h[3];
        CHECK_RC(ward_hex_encode_var(h, sizeof h, &in, 1), WARD_OK);
        CHECK_RC(ward_hex_decode_var(&out, 1, &n, h, 2), WARD_OK);
        CHECK(out == in);
    }
    return check_done("hex");
}
