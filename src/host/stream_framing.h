/*
 * QEMU's stream netdev framing (`-netdev stream`, `-netdev socket`): over a stream
 * socket every Ethernet frame travels after its length as a 4-byte big-endian number.
 * One codec for both ends that rackvm has: the switch's ports and `--net switch=`.
 *
 * Reading: stream_reader_push() takes bytes as they come and hands each whole frame to a
 * callback. A peer is hostile until proven otherwise: a length of 0 is skipped and
 * counted, a length above STREAM_FRAME_MAX cannot be resynchronised after, so the stream
 * is declared broken; a frame cut short by the peer's end of stream is reported by
 * stream_reader_pending().
 *
 * Writing: a stream_writer holds framed output up to a fixed number of bytes. A frame
 * is queued whole or not at all, so a peer that stops reading costs dropped frames and
 * never unbounded memory or a blocked caller.
 */
#ifndef RACKVM_STREAM_FRAMING_H
#define RACKVM_STREAM_FRAMING_H

#include <sys/types.h>

#include "common.h"

#define STREAM_HEADER_LEN 4
/* QEMU's NET_BUFSIZE: the largest frame a QEMU peer sends or accepts. */
#define STREAM_FRAME_MAX (4096 + 65536)

typedef void (*stream_frame_fn)(void *opaque, const uint8_t *frame, size_t len);

struct stream_reader {
    uint8_t header[STREAM_HEADER_LEN];
    size_t header_have;
    size_t frame_len, frame_have;   /* frame_len 0: reading a header */
    uint64_t empty_frames;          /* length-0 frames skipped */
    uint8_t frame[STREAM_FRAME_MAX];
};

void stream_reader_init(struct stream_reader *r);
/*
 * Consumes len bytes, calling on_frame for every frame completed. Returns 0, or -1
 * when the stream announced a frame longer than STREAM_FRAME_MAX (the stream is
 * unusable from there on; bytes after it are not consumed).
 */
int stream_reader_push(struct stream_reader *r, const uint8_t *data, size_t len,
                       stream_frame_fn on_frame, void *opaque);
/* Bytes of an unfinished header or frame: non-zero at end of stream means truncation. */
size_t stream_reader_pending(const struct stream_reader *r);

struct stream_writer {
    uint8_t *buf;
    size_t len, cap;
};

/* A writer holding at most cap bytes of framed output. -1 when out of memory. */
int stream_writer_init(struct stream_writer *w, size_t cap);
void stream_writer_free(struct stream_writer *w);
/* Queues header + frame; false (nothing queued) when it does not fit whole. */
bool stream_writer_queue(struct stream_writer *w, const uint8_t *frame, size_t len);
/*
 * Writes what is queued to fd without blocking (fd should be O_NONBLOCK; MSG_NOSIGNAL,
 * so a closed peer is EPIPE and not SIGPIPE). Returns 0 when the peer took what it could
 * (w->len > 0: wait for POLLOUT), or -1 with errno when the peer is gone.
 */
int stream_writer_flush(struct stream_writer *w, int fd);

#endif
