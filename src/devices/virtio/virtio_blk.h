/*
 * virtio-blk (virtio 1.2, 5.2) over a raw image file: read, write, flush, discard,
 * write-zeroes and GET_ID; read-only disks offer VIRTIO_BLK_F_RO and fail every write
 * with VIRTIO_BLK_S_IOERR. Capacity is the file size in 512-byte sectors.
 *
 * Requests run on a small pool of worker threads per disk, never on a vCPU thread: a
 * notify only moves the available chains to the pool. A worker does the file I/O
 * without any lock, then takes bus->lock to push the used entry and raise the
 * interrupt. A flush completes only after fdatasync returned. Device reset and a reset
 * of the queue drop queued requests and wait for the running ones, so nothing touches
 * guest RAM after them.
 *
 * Durability: a write is completed to the guest only after pwritev returned, so its
 * data is in the host's page cache before any later flush is even taken off the ring,
 * and that flush's fdatasync covers it whichever worker runs it; a host process crash
 * (SIGKILL) loses nothing that was completed. A failing host file (ENOSPC, EIO, EROFS,
 * an image truncated below the disk's capacity) fails only that request with
 * VIRTIO_BLK_S_IOERR; the device stays usable, and each kind of failure is logged once
 * per disk. After a failed fdatasync every later flush fails too: Linux may have marked
 * the unwritten pages clean, so no later flush could honestly report them durable.
 */
#ifndef RACKVM_VIRTIO_BLK_H
#define RACKVM_VIRTIO_BLK_H

#include <stdatomic.h>

#include "common.h"
#include "devices/device.h"
#include "devices/virtio/virtqueue.h"

#define VIRTIO_BLK_SERIAL_MAX 20

/* A raw disk image behind a virtio-blk device. serial may be NULL (20 bytes at most). */
struct disk_config {
    const char *path, *serial;
    bool readonly;
    struct kept_file file;  /* path opened (as readonly says) for the whole run, if kept */
};

/* What a request did to the image, for the once-per-kind host log. */
enum blk_op { BLK_OP_READ, BLK_OP_WRITE, BLK_OP_FLUSH, BLK_OP_RANGE, BLK_OPS };

/* The image behind a disk, as request execution needs it. */
struct blk_backend {
    int fd;
    uint64_t sectors;
    bool readonly;
    char serial[VIRTIO_BLK_SERIAL_MAX];  /* not NUL-terminated when 20 bytes long */
    const char *path;                    /* names the disk in host log lines */
    /* Bit e of logged[op]: errno e (0: past the end of the file) was logged for op. */
    _Atomic uint64_t logged[BLK_OPS];
    _Atomic int flush_error;             /* errno of the first failed fdatasync, or 0 */
    /* What the guest asked of the disk (requests) and got done (bytes), for stats. */
    _Atomic uint64_t read_requests, write_requests, flush_requests;
    _Atomic uint64_t read_bytes, written_bytes;
};

struct virtio_blk;

/* Counters since the device was created (struct blk_backend's, read once). */
struct virtio_blk_stats {
    uint64_t read_requests, write_requests, flush_requests, read_bytes, written_bytes;
};

/*
 * Opens the image for cfg (read-write unless cfg->readonly). Returns 0, or a negative
 * errno with a one-line reason naming the image in why (missing file, too long a
 * serial, ...); -EROFS: a read-only file was asked for writing.
 */
int blk_backend_open(struct blk_backend *b, const struct disk_config *cfg, char *why,
                     size_t whylen);
void blk_backend_close(struct blk_backend *b);

/*
 * Executes one request chain against b: parses the header, does the I/O, writes the
 * status byte (the last writable byte). Returns false, writing nothing, when the chain
 * is too short to hold a header and a status byte; otherwise true with *used_len set
 * to the bytes written into the chain's writable buffers. A failing host file gives
 * VIRTIO_BLK_S_IOERR and, the first time for its kind, a line on stderr. Safe to call
 * from several threads at once for one b.
 */
bool virtio_blk_execute(struct blk_backend *b, struct guest_ram *ram,
                        const struct virtq_req *req, uint32_t *used_len);

/*
 * Adds a virtio-blk device for cfg in slot; *out (when out is not NULL) receives the
 * device for virtio_blk_get_stats. NULL after printing why.
 */
struct virtio_mmio *virtio_blk_create(const struct device_slot *slot,
                                      const struct disk_config *cfg, struct virtio_blk **out);
/* The disk's size in bytes (whole sectors of the image, as the guest sees it). */
uint64_t virtio_blk_size(const struct virtio_blk *blk);
/* Thread-safe. */
void virtio_blk_get_stats(const struct virtio_blk *blk, struct virtio_blk_stats *s);

#endif
