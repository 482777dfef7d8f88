/*
 * Split virtqueues (virtio 1.2, 2.7) as a device sees them: the guest's descriptor
 * table, available ring and used ring, with indirect descriptors and event-index
 * notification suppression.
 *
 * Nothing the guest writes is trusted. virtq_enable checks that the three ring areas lie
 * in guest RAM, aligned, before the queue is used. virtq_pop copies each descriptor out
 * of guest memory once (so the guest cannot change it between check and use) and
 * refuses a chain whose buffers leave RAM, whose links loop or run past the queue size,
 * whose indirect table is misaligned, oversized or nested, or that puts a device-readable
 * buffer after a device-writable one. A refused chain makes virtq_pop return
 * VIRTQ_BROKEN: the transport then marks the device DEVICE_NEEDS_RESET.
 *
 * Buffers are handed out as host iovecs inside the guest RAM mapping; a device writing
 * through them reports each touched page with virtq_note_written. Not thread-safe:
 * callers serialize a queue's calls (the transport does it with bus->lock).
 */
#ifndef RACKVM_VIRTQUEUE_H
#define RACKVM_VIRTQUEUE_H

#include <sys/uio.h>

#include "common.h"
#include "memory/guest_ram.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Largest queue this implementation offers; also the most buffers one request can hold. */
#define VIRTQ_MAX_SIZE 256

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq {
    struct guest_ram *ram;
    /* Set by the driver through the transport; checked by virtq_enable. */
    uint16_t size;
    uint64_t desc_addr, avail_addr, used_addr;
    bool indirect, event_idx;   /* negotiated features */

    /* Valid while enabled: host views of the rings inside guest RAM. */
    bool enabled;
    uint8_t *desc, *avail, *used;
    uint16_t last_avail;   /* next available-ring slot to take */
    uint16_t used_idx;     /* our copy of used->idx */
    uint16_t signalled;    /* used_idx when we last decided about an interrupt */
};

/* What a snapshot keeps of a queue: its settings and ring positions, no host pointers. */
struct virtq_state {
    uint64_t desc_addr, avail_addr, used_addr;
    uint16_t size, last_avail, used_idx, signalled;
    uint8_t indirect, event_idx, enabled;
    uint8_t reserved[5];   /* keeps the struct free of padding */
};

/* A popped chain: device-readable buffers first (nout), then device-writable (nin). */
struct virtq_req {
    uint16_t head;
    unsigned nout, nin;
    uint64_t out_len, in_len;  /* total bytes of each kind */
    struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Forgets all ring state (device reset or queue reset). */
void virtq_reset(struct virtq *q);

/* Checks the ring areas for q->size entries and starts using them. false: they are bad. */
bool virtq_enable(struct virtq *q);

void virtq_save(const struct virtq *q, struct virtq_state *s);
/* Replaces q's state with *s, mapping the rings again when it is enabled. false (q left
 * reset): s is impossible (bad flags, positions of a disabled queue, bad rings). */
bool virtq_load(struct virtq *q, const struct virtq_state *s);

enum virtq_pop_result { VIRTQ_EMPTY = 0, VIRTQ_GOT = 1, VIRTQ_BROKEN = -1 };

/* Takes the next available chain into req. */
enum virtq_pop_result virtq_pop(struct virtq *q, struct virtq_req *req);

/* Whether the driver has made chains available that virtq_pop has not taken yet. */
bool virtq_has_avail(const struct virtq *q);

/* Returns a chain to the driver with len bytes written into its writable buffers. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt for the entries pushed since the last call. */
bool virtq_should_notify(struct virtq *q);

/*
 * Copies up to len bytes from buf into the writable buffers of req starting at byte
 * offset off (counted across the writable buffers), reporting the pages written.
 * Returns the bytes copied.
 */
size_t virtq_copy_to_req(struct guest_ram *ram, const struct virtq_req *req, size_t off,
                         const void *buf, size_t len);
/* Copies up to len bytes from the readable buffers of req at offset off. */
size_t virtq_copy_from_req(const struct virtq_req *req, size_t off, void *buf, size_t len);

/* Reports that [p, p+len) inside guest RAM was written by the device. */
void virtq_note_written(struct guest_ram *ram, const void *p, size_t len);

#endif
