/* The TCP frame reader: frames come out exactly as written however the
 * stream is split, and a bad length closes the reader for good. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "frame.h"
#include "rng.h"

/* A stream under construction. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} stream;

static void put(stream *s, const uint8_t *p, size_t n) {
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + n) cap *= 2;
        uint8_t *nd = realloc(s->data, cap);
        if (nd == NULL) abort();
        s->data = nd;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

static void put_frame(stream *s, const uint8_t *msg, size_t n) {
    uint8_t h[WARD_FRAME_HEADER_BYTES];
    CHECK_RC(ward_frame_write_header(h, n), 0);
    put(s, h, sizeof h);
    put(s, msg, n);
}

static void put_len(stream *s, uint32_t n) {
    uint8_t h[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    put(s, h, 4);
}

static void fill(uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + 7 * i + (i >> 8));
}

/* Feeds in[0..n) in one call sequence (re-feeding the unconsumed tail) and
 * appends each frame to out; returns the number of frames or an error. */
static int feed_all(ward_frame_reader *r, stream *out, const uint8_t *in, size_t n) {
    int frames = 0;
    for (;;) {
        uint8_t *msg;
        size_t msg_len, used;
        int rc = ward_frame_read(r, &msg, &msg_len, &used, in, n);
        if (rc != 0) return rc;
        if (used > n) return -1000;
        in += used;
        n -= used;
        if (msg_len > 0) {
            put_frame(out, msg, msg_len);
            frames++;
        } else if (n != 0) {
            return -1001; /* no frame yet it left input unread */
        }
        if (n == 0 && msg_len == 0) return frames;
    }
}

static void test_header_writer(void) {
    uint8_t h[4];
    CHECK_RC(ward_frame_write_header(h, 16), 0);
    CHECK(h[0] == 0 && h[1] == 0 && h[2] == 0 && h[3] == 16);
    CHECK_RC(ward_frame_write_header(h, 65535), 0);
    CHECK(h[0] == 0 && h[1] == 0 && h[2] == 0xff && h[3] == 0xff);
    CHECK_RC(ward_frame_write_header(h, 0x1234), 0);
    CHECK(h[2] == 0x12 && h[3] == 0x34);
    CHECK_RC(ward_frame_write_header(h, 65536), WARD_ETOOBIG);
    CHECK_RC(ward_frame_write_header(h, 15), WARD_EINVAL);
    CHECK_RC(ward_frame_write_header(h, 0), WARD_EINVAL);
    CHECK_RC(ward_frame_write_header(NULL, 100), WARD_EINVAL);
}

static void test_one_frame_whole_and_bytewise(void) {
    static ward_frame_reader r;
    uint8_t msg[100];
    fill(msg, sizeof msg, 3);
    stream s = {0};
    put_frame(&s, msg, sizeof msg);

    ward_frame_reader_init(&r);
    uint8_t *out;
    size_t out_len, used;
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data, s.len), 0);
    CHECK_EQ_U64(used, s.len);
    CHECK_EQ_U64(out_len, sizeof msg);
    CHECK(out != NULL && memcmp(out, msg, sizeof msg) == 0);
    CHECK_RC(ward_frame_reader_eof(&r), 0);

    /* One byte at a time: nothing until the last byte. */
    ward_frame_reader_init(&r);
    int got = 0;
    for (size_t i = 0; i < s.len; i++) {
        CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data + i, 1), 0);
        CHECK_EQ_U64(used, 1);
        if (out_len > 0) {
            got++;
            CHECK_EQ_U64(i, s.len - 1);
            CHECK_EQ_U64(out_len, sizeof msg);
            CHECK(memcmp(out, msg, sizeof msg) == 0);
        } else {
            CHECK(out == NULL);
        }
    }
    CHECK(got == 1);
    CHECK_RC(ward_frame_reader_eof(&r), 0);

    /* End of stream inside the header or the body is a truncation. */
    size_t cuts[] = {1, 3, 4, 5, 50, 103};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        ward_frame_reader_init(&r);
        CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data, cuts[k]), 0);
        CHECK(out_len == 0 && used == cuts[k]);
        CHECK_RC(ward_frame_reader_eof(&r), WARD_ETRUNC);
        CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data, 1), WARD_ECLOSED);
    }
    ward_frame_reader_init(&r);
    CHECK_RC(ward_frame_reader_eof(&r), 0);
    /* Empty input is fine at any point. */
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, NULL, 0), 0);
    CHECK(out_len == 0 && used == 0);
    free(s.data);
}

static void test_many_frames_one_slice(void) {
    static ward_frame_reader r;
    stream s = {0}, want = {0}, got = {0};
    uint8_t msg[300];
    for (int i = 0; i < 50; i++) {
        size_t n = 16 + (size_t)(i * 5) % 280;
        fill(msg, n, (uint8_t)i);
        put_frame(&s, msg, n);
    }
    ward_frame_reader_init(&r);
    CHECK_RC(feed_all(&r, &got, s.data, s.len), 50);
    CHECK_EQ_U64(got.len, s.len);
    CHECK(got.len == s.len && memcmp(got.data, s.data, s.len) == 0);
    CHECK_RC(ward_frame_reader_eof(&r), 0);
    free(s.data);
    free(want.data);
    free(got.data);
}

static void test_split_header(void) {
    static ward_frame_reader r;
    stream s = {0}, got = {0};
    uint8_t msg[40];
    fill(msg, sizeof msg, 9);
    put_frame(&s, msg, sizeof msg);
    put_frame(&s, msg, 16);
    /* Split inside the second header at every position. */
    size_t second = 4 + sizeof msg;
    for (size_t k = 1; k < 4; k++) {
        ward_frame_reader_init(&r);
        got.len = 0;
        CHECK_RC(feed_all(&r, &got, s.data, second + k), 1);
        CHECK_RC(ward_frame_reader_eof(&r), WARD_ETRUNC);
        CHECK_RC(ward_frame_reader_eof(&r), WARD_ECLOSED);

        ward_frame_reader_init(&r);
        got.len = 0;
        CHECK_RC(feed_all(&r, &got, s.data, second + k), 1);
        CHECK_RC(feed_all(&r, &got, s.data + second + k, s.len - second - k), 1);
        CHECK(got.len == s.len && memcmp(got.data, s.data, s.len) == 0);
    }
    free(s.data);
    free(got.data);
}

static void test_max_frame(void) {
    static ward_frame_reader r;
    static uint8_t msg[WARD_FRAME_MAX];
    fill(msg, sizeof msg, 1);
    stream s = {0}, got = {0};
    put_frame(&s, msg, sizeof msg);
    put_frame(&s, msg, WARD_FRAME_MIN);
    ward_frame_reader_init(&r);
    CHECK_RC(feed_all(&r, &got, s.data, s.len), 2);
    CHECK(got.len == s.len && memcmp(got.data, s.data, s.len) == 0);
    free(s.data);
    free(got.data);
}

static void check_bad_length(uint32_t len, int want) {
    static ward_frame_reader r;
    stream s = {0};
    uint8_t msg[32];
    fill(msg, sizeof msg, 5);
    put_frame(&s, msg, 20);  /* a good frame first */
    put_len(&s, len);
    put(&s, msg, sizeof msg);

    ward_frame_reader_init(&r);
    uint8_t *out;
    size_t out_len, used;
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data, s.len), 0);
    CHECK_EQ_U64(out_len, 20);
    CHECK_EQ_U64(used, 24);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, s.data + 24, s.len - 24), want);
    CHECK(out == NULL && out_len == 0);
    /* Closed for good, whatever comes next. */
    stream ok = {0};
    put_frame(&ok, msg, 20);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, ok.data, ok.len), WARD_ECLOSED);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, NULL, 0), WARD_ECLOSED);
    CHECK_RC(ward_frame_reader_eof(&r), WARD_ECLOSED);

    /* The same length fed byte by byte fails on the header's last byte. */
    ward_frame_reader_init(&r);
    uint8_t h[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                    (uint8_t)len};
    for (int i = 0; i < 3; i++) CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, h + i, 1), 0);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, h + 3, 1), want);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, h, 1), WARD_ECLOSED);
    free(s.data);
    free(ok.data);
}

static void test_bad_lengths(void) {
    check_bad_length(0, WARD_EPARSE);
    check_bad_length(1, WARD_EPARSE);
    check_bad_length(15, WARD_EPARSE);
    check_bad_length(65536, WARD_ETOOBIG);
    check_bad_length(0x01000000, WARD_ETOOBIG);
    check_bad_length(0xffffffffu, WARD_ETOOBIG);
}

static void test_misuse(void) {
    static ward_frame_reader r;
    ward_frame_reader_init(&r);
    uint8_t *out;
    size_t out_len, used;
    uint8_t b = 0;
    CHECK_RC(ward_frame_read(NULL, &out, &out_len, &used, &b, 1), WARD_EINVAL);
    CHECK_RC(ward_frame_read(&r, NULL, &out_len, &used, &b, 1), WARD_EINVAL);
    CHECK_RC(ward_frame_read(&r, &out, NULL, &used, &b, 1), WARD_EINVAL);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, NULL, &b, 1), WARD_EINVAL);
    CHECK_RC(ward_frame_read(&r, &out, &out_len, &used, NULL, 1), WARD_EINVAL);
    CHECK_RC(ward_frame_reader_eof(NULL), WARD_EINVAL);
    /* Misuse does not disturb the reader. */
    CHECK_RC(ward_frame_reader_eof(&r), 0);
}

/* A stream of random frames, cut at random points into random slices,
 * comes out frame for frame. */
static void test_random_splits(void) {
    static ward_frame_reader r;
    ward_rng rng;
    CHECK_RC(ward_rng_init_u64(&rng, 0x6672616d65ULL), 0);
    static uint8_t msg[WARD_FRAME_MAX];
    for (int round = 0; round < 40; round++) {
        stream s = {0}, got = {0};
        int nframes = 1 + (int)ward_rng_uniform(&rng, 60);
        for (int i = 0; i < nframes; i++) {
            size_t n;
            switch (ward_rng_uniform(&rng, 4)) {
            case 0: n = WARD_FRAME_MIN + ward_rng_uniform(&rng, 16); break;
            case 1: n = WARD_FRAME_MAX - ward_rng_uniform(&rng, 16); break;
            default: n = WARD_FRAME_MIN + ward_rng_uniform(&rng, 4000); break;
            }
            ward_rng_bytes(&rng, msg, n);
            put_frame(&s, msg, n);
        }
        ward_frame_reader_init(&r);
        size_t pos = 0;
        int frames = 0, bad = 0;
        while (pos < s.len) {
            size_t cut;
            switch (ward_rng_uniform(&rng, 3)) {
            case 0: cut = 1 + ward_rng_uniform(&rng, 8); break;
            case 1: cut = 1 + ward_rng_uniform(&rng, 200); break;
            default: cut = 1 + ward_rng_uniform(&rng, 100000); break;
            }
            if (cut > s.len - pos) cut = s.len - pos;
            int rc = feed_all(&r, &got, s.data + pos, cut);
            if (rc < 0) {
                bad++;
                break;
            }
            frames += rc;
            pos += cut;
        }
        CHECK(bad == 0);
        CHECK(frames == nframes);
        CHECK(got.len == s.len && memcmp(got.data, s.data, s.len) == 0);
        CHECK_RC(ward_frame_reader_eof(&r), 0);
        free(s.data);
        free(got.data);
    }
    ward_rng_clear(&rng);
}

int main(void) {
    test_header_writer();
    test_one_frame_whole_and_bytewise();
    test_many_frames_one_slice();
    test_split_header();
    test_max_frame();
    test_bad_lengths();
    test_misuse();
    test_random_splits();
    return check_done("frame");
}
