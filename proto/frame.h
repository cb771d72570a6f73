/* TCP framing of Noise transport messages.
 *
 * On a peer connection every Noise transport message travels as one frame:
 * a 4-byte big-endian length, then that many bytes of ciphertext. A
 * transport message always carries a 16-byte authentication tag and is at
 * most 65535 bytes, so a valid length lies in [16, 65535].
 *
 * The reader is sans-I/O: the caller feeds it whatever slices the socket
 * delivers (split anywhere) and takes complete frames out one at a time.
 * Its state is caller-allocated and fixed-size (about 64 KiB); nothing here
 * allocates. A bad length closes the reader for good: the byte stream has
 * lost its framing and the connection must be dropped.
 *
 *     ward_frame_reader r;
 *     ward_frame_reader_init(&r);
 *     while (len > 0) {
 *         uint8_t *msg; size_t msg_len, used;
 *         int rc = ward_frame_read(&r, &msg, &msg_len, &used, in, len);
 *         if (rc != 0) { drop the connection; break; }
 *         in += used; len -= used;
 *         if (msg_len > 0) { decrypt msg[0..msg_len) (in place is fine) }
 *     }
 */
#ifndef WARD_FRAME_H
#define WARD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WARD_FRAME_HEADER_BYTES 4
#define WARD_FRAME_MAX 65535u  /* largest Noise transport message */
#define WARD_FRAME_MIN 16u     /* a transport message is at least its tag */

typedef struct {
    uint8_t buf[WARD_FRAME_HEADER_BYTES + WARD_FRAME_MAX];
    size_t have;      /* bytes of the current frame held in buf, header included */
    size_t body_len;  /* the current frame's length once its header is complete */
    int closed;       /* a bad length was seen: every call fails */
} ward_frame_reader;

/* Prepares an empty reader. */
void ward_frame_reader_init(ward_frame_reader *r);

/* Consumes bytes from in[0..in_len) until one frame is complete or the
 * input runs out. *used receives the number of bytes consumed (the caller
 * feeds the rest, in[*used..], in the next call). When a frame is complete,
 * *msg points at its body inside the reader and *msg_len is its length
 * (>= WARD_FRAME_MIN); the body stays valid, and may be modified in place,
 * until the next call on the reader. Otherwise *msg is NULL and *msg_len 0,
 * and all the input has been consumed. in may be NULL when in_len is 0.
 *
 * Returns 0; WARD_EPARSE for a length below WARD_FRAME_MIN (zero
 * included); WARD_ETOOBIG for a length above WARD_FRAME_MAX; WARD_ECLOSED
 * after either (the reader is then closed for good); WARD_EINVAL for misuse. */
int ward_frame_read(ward_frame_reader *r, uint8_t **msg, size_t *msg_len,
                    size_t *used, const uint8_t *in, size_t in_len);

/* At end of stream: returns 0 when the reader stands between frames, or
 * WARD_ETRUNC when the stream stopped inside a frame (the reader is then
 * closed), WARD_ECLOSED when it was already closed. */
int ward_frame_reader_eof(ward_frame_reader *r);

/* Writes the 4-byte header for a message of msg_len bytes. The message
 * follows the header on the stream. Returns 0; WARD_ETOOBIG when msg_len >
 * WARD_FRAME_MAX; WARD_EINVAL when out is NULL or msg_len <
 * WARD_FRAME_MIN (no Noise transport message is that short). */
int ward_frame_write_header(uint8_t out[WARD_FRAME_HEADER_BYTES], size_t msg_len);

#endif
