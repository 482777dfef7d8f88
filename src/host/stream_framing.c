/* QEMU stream netdev framing: a 4-byte big-endian length before every frame. */
#include "host/stream_framing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void stream_reader_init(struct stream_reader *r)
{
    r->header_have = r->frame_len = r->frame_have = 0;
    r->empty_frames = 0;
}

int stream_reader_push(struct stream_reader *r, const uint8_t *data, size_t len,
                       stream_frame_fn on_frame, void *opaque)
{
    while (len) {
        if (r->frame_len == 0) {
            size_t n = STREAM_HEADER_LEN - r->header_have;
            n = n < len ? n : len;
            memcpy(r->header + r->header_have, data, n);
            r->header_have += n, data += n, len -= n;
            if (r->header_have < STREAM_HEADER_LEN)
                break;
            r->header_have = 0;
            uint32_t announced = (uint32_t)r->header[0] << 24 | (uint32_t)r->header[1] << 16 |
                                 (uint32_t)r->header[2] << 8 | r->header[3];
            if (announced == 0) {
                r->empty_frames++;
                continue;
            }
            if (announced > STREAM_FRAME_MAX)
                return -1;
            r->frame_len = announced;
            r->frame_have = 0;
            continue;
        }
        size_t n = r->frame_len - r->frame_have;
        n = n < len ? n : len;
        memcpy(r->frame + r->frame_have, data, n);
        r->frame_have += n, data += n, len -= n;
        if (r->frame_have == r->frame_len) {
            r->frame_len = 0;
            on_frame(opaque, r->frame, r->frame_have);
        }
    }
    return 0;
}

size_t stream_reader_pending(const struct stream_reader *r)
{
    return r->header_have + (r->frame_len ? STREAM_HEADER_LEN + r->frame_have : 0);
}

int stream_writer_init(struct stream_writer *w, size_t cap)
{
    w->len = 0;
    w->cap = cap;
    w->buf = malloc(cap);
    return w->buf ? 0 : -1;
}

void stream_writer_free(struct stream_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

bool stream_writer_queue(struct stream_writer *w, const uint8_t *frame, size_t len)
{
    if (len == 0 || len > STREAM_FRAME_MAX || w->cap - w->len < STREAM_HEADER_LEN + len)
        return false;
    uint8_t *p = w->buf + w->len;
    p[0] = (uint8_t)(len >> 24), p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    memcpy(p + STREAM_HEADER_LEN, frame, len);
    w->len += STREAM_HEADER_LEN + len;
    return true;
}

int stream_writer_flush(struct stream_writer *w, int fd)
{
    size_t done = 0;
    while (done < w->len) {
        ssize_t n = send(fd, w->buf + done, w->len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        done += (size_t)n;
    }
    memmove(w->buf, w->buf + done, w->len - done);
    w->len -= done;
    return 0;
}
