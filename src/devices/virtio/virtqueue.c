/* Split virtqueues: ring checks, chain walking with every guest value distrusted. */
#include "devices/virtio/virtqueue.h"

#include <string.h>

/* Ring layout (virtio 1.2, 2.7): the guest and the host are both little-endian. */
#define DESC_ALIGN 16
#define AVAIL_ALIGN 2
#define USED_ALIGN 4
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM_SIZE 8
#define PAGE_SIZE 4096

static uint16_t load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void store16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

void virtq_note_written(struct guest_ram *ram, const void *p, size_t len)
{
    if (len == 0)
        return;
    const uint8_t *start = p, *last = start + len - 1;
    uintptr_t page = (uintptr_t)(start - ram->host) & ~(uintptr_t)(PAGE_SIZE - 1);
    for (; ram->host + page <= last; page += PAGE_SIZE)
        guest_ram_note_write(ram, ram->host + page);
}

void virtq_reset(struct virtq *q)
{
    struct guest_ram *ram = q->ram;
    *q = (struct virtq){ .ram = ram };
}

static uint8_t *ring_area(struct virtq *q, uint64_t gpa, uint64_t len, uint64_t align)
{
    if (gpa % align)
        return NULL;
    return guest_ram_ptr(q->ram, gpa, len);
}

bool virtq_enable(struct virtq *q)
{
    uint64_t n = q->size;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return false;
    q->desc = ring_area(q, q->desc_addr, n * sizeof(struct virtq_desc), DESC_ALIGN);
    /* The trailing u16 of each ring is used_event / avail_event. */
    q->avail = ring_area(q, q->avail_addr, AVAIL_RING + 2 * n + 2, AVAIL_ALIGN);
    q->used = ring_area(q, q->used_addr, USED_RING + USED_ELEM_SIZE * n + 2, USED_ALIGN);
    if (!q->desc || !q->avail || !q->used)
        return false;
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled = 0;
    q->enabled = true;
    return true;
}

void virtq_save(const struct virtq *q, struct virtq_state *s)
{
    *s = (struct virtq_state){
        .desc_addr = q->desc_addr, .avail_addr = q->avail_addr, .used_addr = q->used_addr,
        .size = q->size, .last_avail = q->last_avail, .used_idx = q->used_idx,
        .signalled = q->signalled, .indirect = q->indirect, .event_idx = q->event_idx,
        .enabled = q->enabled,
    };
}

bool virtq_load(struct virtq *q, const struct virtq_state *s)
{
    virtq_reset(q);
    if (s->indirect > 1 || s->event_idx > 1 || s->enabled > 1)
        return false;
    q->desc_addr = s->desc_addr;
    q->avail_addr = s->avail_addr;
    q->used_addr = s->used_addr;
    q->size = s->size;
    q->indirect = s->indirect;
    q->event_idx = s->event_idx;
    if (!s->enabled)
        return !s->last_avail && !s->used_idx && !s->signalled;
    if (!virtq_enable(q)) {
        virtq_reset(q);
        return false;
    }
    q->last_avail = s->last_avail;
    q->used_idx = s->used_idx;
    q->signalled = s->signalled;
    return true;
}

/* Tells the driver which available index should next trigger a notification. */
static void publish_avail_event(struct virtq *q)
{
    if (q->event_idx) {
        uint8_t *p = q->used + USED_RING + USED_ELEM_SIZE * q->size;
        store16(p, q->last_avail);
        guest_ram_note_write(q->ram, p);
    }
}

static bool add_buffer(struct virtq *q, struct virtq_req *req, const struct virtq_desc *d)
{
    if (req->nout + req->nin >= VIRTQ_MAX_SIZE)
        return false;
    void *p = guest_ram_ptr(q->ram, d->addr, d->len);
    if (!p)
        return false;
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        req->nin++;
        req->in_len += d->len;
    } else {
        if (req->nin)
            return false;   /* readable after writable (2.7.4.2) */
        req->nout++;
        req->out_len += d->len;
    }
    req->iov[req->nout + req->nin - 1] = (struct iovec){ .iov_base = p, .iov_len = d->len };
    return true;
}

/* Walks the chain at head; false when any part of it is malformed. */
static bool walk_chain(struct virtq *q, uint16_t head, struct virtq_req *req)
{
    const uint8_t *table = q->desc;
    unsigned table_size = q->size, idx = head, seen = 0;
    bool in_indirect = false;
    *req = (struct virtq_req){ .head = head };
    if (head >= q->size)
        return false;
    for (;;) {
        struct virtq_desc d;
        memcpy(&d, table + (size_t)idx * sizeof(d), sizeof(d));
        /* Neither the direct chain nor an indirect table is longer than its table:
         * anything longer revisits a descriptor, i.e. loops. */
        if (++seen > table_size)
            return false;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!q->indirect || in_indirect || (d.flags & VIRTQ_DESC_F_NEXT))
                return false;
            if (d.len == 0 || d.len % sizeof(d) || d.len / sizeof(d) > q->size ||
                d.addr % DESC_ALIGN)
                return false;
            table = guest_ram_ptr(q->ram, d.addr, d.len);
            if (!table)
                return false;
            table_size = d.len / sizeof(d);
            idx = 0;
            seen = 0;
            in_indirect = true;
            continue;
        }
        if (!add_buffer(q, req, &d))
            return false;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return true;
        idx = d.next;
        if (idx >= table_size)
            return false;
    }
}

enum virtq_pop_result virtq_pop(struct virtq *q, struct virtq_req *req)
{
    if (!q->enabled)
        return VIRTQ_EMPTY;
    uint16_t avail_idx = load16(q->avail + AVAIL_IDX);
    if (avail_idx == q->last_avail) {
        publish_avail_event(q);
        /* The driver may have added a chain before it saw the new avail_event. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        avail_idx = load16(q->avail + AVAIL_IDX);
        if (avail_idx == q->last_avail)
            return VIRTQ_EMPTY;
    }
    if ((uint16_t)(avail_idx - q->last_avail) > q->size)
        return VIRTQ_BROKEN;
    uint16_t head = load16(q->avail + AVAIL_RING + 2 * (q->last_avail % q->size));
    q->last_avail++;
    publish_avail_event(q);
    return walk_chain(q, head, req) ? VIRTQ_GOT : VIRTQ_BROKEN;
}

bool virtq_has_avail(const struct virtq *q)
{
    return q->enabled && load16(q->avail + AVAIL_IDX) != q->last_avail;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
    uint8_t *elem = q->used + USED_RING + USED_ELEM_SIZE * (q->used_idx % q->size);
    uint32_t id = head;
    memcpy(elem, &id, 4);
    memcpy(elem + 4, &len, 4);
    guest_ram_note_write(q->ram, elem);
    q->used_idx++;
    store16(q->used + USED_IDX, q->used_idx);
    guest_ram_note_write(q->ram, q->used + USED_IDX);
}

bool virtq_should_notify(struct virtq *q)
{
    /* The driver must see used->idx before we read its suppression fields. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint16_t old = q->signalled, now = q->used_idx;
    q->signalled = now;
    if (old == now)
        return false;
    if (!q->event_idx)
        return !(load16(q->avail + AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t used_event = load16(q->avail + AVAIL_RING + 2 * q->size);
    /* vring_need_event (2.7.10): did used_idx step past used_event since `old`? */
    return (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
}

size_t virtq_copy_to_req(struct guest_ram *ram, const struct virtq_req *req, size_t off,
                         const void *buf, size_t len)
{
    const uint8_t *src = buf;
    size_t done = 0;
    for (unsigned i = req->nout; i < req->nout + req->nin && done < len; i++) {
        size_t seg = req->iov[i].iov_len;
        if (off >= seg) {
            off -= seg;
            continue;
        }
        size_t n = seg - off < len - done ? seg - off : len - done;
        uint8_t *dst = (uint8_t *)req->iov[i].iov_base + off;
        memcpy(dst, src + done, n);
        virtq_note_written(ram, dst, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t virtq_copy_from_req(const struct virtq_req *req, size_t off, void *buf, size_t len)
{
    uint8_t *dst = buf;
    size_t done = 0;
    for (unsigned i = 0; i < req->nout && done < len; i++) {
        size_t seg = req->iov[i].iov_len;
        if (off >= seg) {
            off -= seg;
            continue;
        }
        size_t n = seg - off < len - done ? seg - off : len - done;
        memcpy(dst + done, (const uint8_t *)req->iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}
