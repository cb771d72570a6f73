/* Fuzzes the TCP frame reader. Byte 0 seeds how the rest of the input is
 * cut into slices (as TCP might deliver it); the reader's frames and its
 * verdict are compared with a direct parse of the whole stream, so a
 * disagreement aborts as surely as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ward_frame_reader reader;

/* The reference: walks the whole stream at once. Returns the number of
 * complete frames, and in *err the error the reader must report (0 if the
 * stream is well framed up to a possibly partial last frame), and in *tail
 * whether the stream ends inside a frame. */
static size_t reference(const uint8_t *s, size_t n, int *err, int *tail) {
    size_t pos = 0, frames = 0;
    *err = 0;
    *tail = 0;
    while (pos < n) {
        if (n - pos < 4) {
            *tail = 1;
            return frames;
        }
        uint32_t len = ((uint32_t)s[pos] << 24) | ((uint32_t)s[pos + 1] << 16) |
                       ((uint32_t)s[pos + 2] << 8) | s[pos + 3];
        if (len > WARD_FRAME_MAX) {
            *err = WARD_ETOOBIG;
            return frames;
        }
        if (len < WARD_FRAME_MIN) {
            *err = WARD_EPARSE;
            return frames;
        }
        if (n - pos - 4 < len) {
            *tail = 1;
            return frames;
        }
        pos += 4 + len;
        frames++;
    }
    return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint32_t state = data[0] * 2654435761u + 1;
    const uint8_t *s = data + 1;
    size_t n = size - 1;

    int want_err, want_tail;
    size_t want_frames = reference(s, n, &want_err, &want_tail);

    ward_frame_reader_init(&reader);
    size_t pos = 0, frames = 0, ref_pos = 0;
    int err = 0;
    while (pos < n && err == 0) {
        state = state * 1103515245u + 12345u;
        size_t cut;
        switch ((state >> 16) & 3) {
        case 0: cut = 1; break;
        case 1: cut = 1 + ((state >> 8) & 7); break;
        case 2: cut = 1 + ((state >> 4) & 0xfff); break;
        default: cut = n - pos; break;
        }
        if (cut > n - pos) cut = n - pos;
        const uint8_t *in = s + pos;
        size_t left = cut;
        for (;;) {
            uint8_t *msg;
            size_t msg_len, used;
            err = ward_frame_read(&reader, &msg, &msg_len, &used, in, left);
            if (err != 0) break;
            if (used > left) abort();
            in += used;
            left -= used;
            if (msg_len > 0) {
                /* The frame must be the next one of the reference walk. */
                size_t len = ((size_t)s[ref_pos] << 24) | ((size_t)s[ref_pos + 1] << 16) |
                             ((size_t)s[ref_pos + 2] << 8) | s[ref_pos + 3];
                if (msg_len != len || memcmp(msg, s + ref_pos + 4, len) != 0) abort();
                ref_pos += 4 + len;
                frames++;
                memset(msg, 0xee, msg_len);  /* the caller may decrypt in place */
            } else if (left != 0) {
                abort();
            }
            if (left == 0 && msg_len == 0) break;
        }
        pos += cut;
    }
    if (frames != want_frames || err != want_err) abort();
    if (err != 0) {
        uint8_t *msg;
        size_t msg_len, used;
        if (ward_frame_read(&reader, &msg, &msg_len, &used, s, n) != WARD_ECLOSED) abort();
        if (ward_frame_reader_eof(&reader) != WARD_ECLOSED) abort();
    } else {
        int eof = ward_frame_reader_eof(&reader);
        if (eof != (want_tail ? WARD_ETRUNC : 0)) abort();
    }
    return 0;
}
