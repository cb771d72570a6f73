#include "frame.h"

#include <string.h>

#include "error.h"

void ward_frame_reader_init(ward_frame_reader *r) {
    if (r == NULL) return;
    r->have = 0;
    r->body_len = 0;
    r->closed = 0;
}

static int close_with(ward_frame_reader *r, int err) {
    /* Ciphertext only, but nothing after a framing error may be used. */
    memset(r->buf, 0, sizeof r->buf);
    r->have = 0;
    r->body_len = 0;
    r->closed = 1;
    return err;
}

int ward_frame_read(ward_frame_reader *r, uint8_t **msg, size_t *msg_len,
                    size_t *used, const uint8_t *in, size_t in_len) {
    WARD_ARG_CHECK(r != NULL && msg != NULL && msg_len != NULL && used != NULL);
    WARD_ARG_CHECK(in != NULL || in_len == 0);
    *msg = NULL;
    *msg_len = 0;
    *used = 0;
    if (r->closed) return WARD_ECLOSED;

    /* The previous call handed out a complete frame: start a new one. */
    if (r->body_len > 0 && r->have == WARD_FRAME_HEADER_BYTES + r->body_len) {
        r->have = 0;
        r->body_len = 0;
    }

    size_t pos = 0;
    if (r->have < WARD_FRAME_HEADER_BYTES) {
        size_t take = WARD_FRAME_HEADER_BYTES - r->have;
        if (take > in_len) take = in_len;
        if (take > 0) memcpy(r->buf + r->have, in, take);
        r->have += take;
        pos += take;
        if (r->have < WARD_FRAME_HEADER_BYTES) {
            *used = pos;
            return 0;
        }
        uint32_t n = ((uint32_t)r->buf[0] << 24) | ((uint32_t)r->buf[1] << 16) |
                     ((uint32_t)r->buf[2] << 8) | (uint32_t)r->buf[3];
        if (n > WARD_FRAME_MAX) {
            *used = pos;
            return close_with(r, WARD_ETOOBIG);
        }
        if (n < WARD_FRAME_MIN) {
            *used = pos;
            return close_with(r, WARD_EPARSE);
        }
        r->body_len = n;
    }

    size_t want = WARD_FRAME_HEADER_BYTES + r->body_len - r->have;
    size_t take = in_len - pos;
    if (take > want) take = want;
    if (take > 0) memcpy(r->buf + r->have, in + pos, take);
    r->have += take;
    pos += take;
    *used = pos;
    if (r->have == WARD_FRAME_HEADER_BYTES + r->body_len) {
        *msg = r->buf + WARD_FRAME_HEADER_BYTES;
        *msg_len = r->body_len;
    }
    return 0;
}

int ward_frame_reader_eof(ward_frame_reader *r) {
    WARD_ARG_CHECK(r != NULL);
    if (r->closed) return WARD_ECLOSED;
    int between = r->have == 0 ||
                  (r->body_len > 0 && r->have == WARD_FRAME_HEADER_BYTES + r->body_len);
    if (!between) return close_with(r, WARD_ETRUNC);
    return 0;
}

int ward_frame_write_header(uint8_t out[WARD_FRAME_HEADER_BYTES], size_t msg_len) {
    WARD_ARG_CHECK(out != NULL);
    WARD_ARG_CHECK(msg_len >= WARD_FRAME_MIN);
    if (msg_len > WARD_FRAME_MAX) return WARD_ETOOBIG;
    out[0] = 0;
    out[1] = 0;
    out[2] = (uint8_t)(msg_len >> 8);
    out[3] = (uint8_t)msg_len;
    return 0;
}
