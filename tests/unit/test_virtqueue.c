/*
 * Split virtqueues against hostile and normal descriptor chains, and the virtio-mmio
 * transport with virtio-blk and virtio-rng on the real board (registers, feature
 * negotiation, status machine, DEVICE_NEEDS_RESET, requests through the I/O workers),
 * and queue reset (VIRTIO_F_RING_RESET): registers back to their reset values, the queue
 * re-enabled on new rings, the old rings never written again.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtqueue.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

#define RAM_BASE VIRT_DRAM_BASE
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define TABLE (RAM_BASE + 0x4000)   /* an indirect table */
#define DATA (RAM_BASE + 0x10000)
/* Rings a reset queue is re-enabled on. */
#define DESC2 (RAM_BASE + 0x5000)
#define AVAIL2 (RAM_BASE + 0x6000)
#define USED2 (RAM_BASE + 0x7000)
#define USED_RING_BYTES (4 + 8 * QSIZE + 2)
#define QSIZE 8

static struct guest_ram *ram;

static void *gp(uint64_t gpa)
{
    return guest_ram_ptr(ram, gpa, 1);
}

static void set_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    struct virtq_desc d = { addr, len, flags, next };
    memcpy((uint8_t *)gp(table) + i * sizeof(d), &d, sizeof(d));
}

static uint16_t avail_idx;

static void offer(uint16_t head)
{
    uint16_t *avail = gp(AVAIL);
    avail[2 + avail_idx % QSIZE] = head;
    avail[1] = ++avail_idx;
}

static void queue_init(struct virtq *q, bool indirect, bool event_idx)
{
    memset(gp(DESC), 0, 0x4000);
    avail_idx = 0;
    virtq_reset(q);
    q->size = QSIZE;
    q->desc_addr = DESC;
    q->avail_addr = AVAIL;
    q->used_addr = USED;
    q->indirect = indirect;
    q->event_idx = event_idx;
    CHECK(virtq_enable(q));
}

/* Offers the chain starting at head and expects it to be refused. */
static void expect_broken(struct virtq *q, uint16_t head, const char *what)
{
    struct virtq_req *req = malloc(sizeof(*req));
    offer(head);
    enum virtq_pop_result r = virtq_pop(q, req);
    if (r != VIRTQ_BROKEN)
        fprintf(stderr, "hostile chain accepted: %s\n", what);
    CHECK(r == VIRTQ_BROKEN);
    free(req);
}

static void test_ring_validation(void)
{
    struct virtq q = { .ram = ram };
    struct { uint64_t desc, avail, used; uint16_t size; bool ok; } cases[] = {
        { DESC, AVAIL, USED, QSIZE, true },
        { DESC, AVAIL, USED, 0, false },                       /* no entries */
        { DESC, AVAIL, USED, 6, false },                       /* not a power of two */
        { DESC, AVAIL, USED, VIRTQ_MAX_SIZE * 2, false },      /* above the maximum */
        { DESC + 8, AVAIL, USED, QSIZE, false },               /* misaligned table */
        { DESC, AVAIL + 1, USED, QSIZE, false },               /* misaligned avail */
        { DESC, AVAIL, USED + 2, QSIZE, false },               /* misaligned used */
        { 0x1000, AVAIL, USED, QSIZE, false },                 /* below RAM */
        { DESC, RAM_BASE + ram->size - 4, USED, QSIZE, false },/* runs off the end */
        { DESC, AVAIL, ~0ULL - 15, QSIZE, false },             /* wraps around */
    };
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        virtq_reset(&q);
        q.size = cases[i].size;
        q.desc_addr = cases[i].desc;
        q.avail_addr = cases[i].avail;
        q.used_addr = cases[i].used;
        bool ok = virtq_enable(&q);
        if (ok != cases[i].ok)
            fprintf(stderr, "ring case %zu\n", i);
        CHECK(ok == cases[i].ok);
    }
}

static void test_hostile_chains(void)
{
    struct virtq q = { .ram = ram };
    uint64_t end = RAM_BASE + ram->size;

    queue_init(&q, true, false);
    expect_broken(&q, QSIZE, "head index out of range");

    queue_init(&q, true, false);
    set_desc(DESC, 0, 0x1000, 16, 0, 0);
    expect_broken(&q, 0, "buffer below RAM");

    queue_init(&q, true, false);
    set_desc(DESC, 0, end - 8, 16, 0, 0);
    expect_broken(&q, 0, "buffer running off the end of RAM");

    queue_init(&q, true, false);
    set_desc(DESC, 0, ~0ULL - 4, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
    expect_broken(&q, 0, "address + length overflows");

    queue_init(&q, true, false);
    set_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
    expect_broken(&q, 0, "two-descriptor loop");

    queue_init(&q, true, false);
    set_desc(DESC, 3, DATA, 16, VIRTQ_DESC_F_NEXT, 3);
    expect_broken(&q, 3, "self loop");

    queue_init(&q, true, false);
    set_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, QSIZE + 5);
    expect_broken(&q, 0, "next index out of range");

    queue_init(&q, true, false);
    set_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, DATA, 16, 0, 0);
    expect_broken(&q, 0, "readable after writable");

    queue_init(&q, false, false);
    set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "indirect without the feature");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE + 8, 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "misaligned indirect table");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "indirect length not a multiple of 16");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "empty indirect table");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 16 * (QSIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "indirect table larger than the queue");

    queue_init(&q, true, false);
    set_desc(DESC, 0, end - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(&q, 0, "indirect table off the end of RAM");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    set_desc(DESC, 1, DATA, 1, VIRTQ_DESC_F_WRITE, 0);
    set_desc(TABLE, 0, DATA, 16, 0, 0);
    expect_broken(&q, 0, "indirect with NEXT");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(TABLE, 1, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(TABLE + 0x100, 0, DATA, 1, VIRTQ_DESC_F_WRITE, 0);
    expect_broken(&q, 0, "nested indirect");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
    set_desc(TABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
    expect_broken(&q, 0, "loop inside an indirect table");

    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
    expect_broken(&q, 0, "indirect next out of range");

    queue_init(&q, true, false);
    set_desc(DESC, 0, DATA, 16, 0, 0);
    uint16_t *avail = gp(AVAIL);
    avail[1] = QSIZE + 1;
    struct virtq_req *req = malloc(sizeof(*req));
    CHECK(virtq_pop(&q, req) == VIRTQ_BROKEN);   /* more available than the ring holds */
    free(req);
}

static void test_normal_chains(void)
{
    struct virtq q = { .ram = ram };
    struct virtq_req *req = malloc(sizeof(*req));

    queue_init(&q, true, false);
    CHECK(virtq_pop(&q, req) == VIRTQ_EMPTY);
    set_desc(DESC, 5, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
    set_desc(DESC, 2, DATA + 0x100, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 7);
    set_desc(DESC, 7, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(5);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK_EQ_U64(req->head, 5);
    CHECK_EQ_U64(req->nout, 1);
    CHECK_EQ_U64(req->nin, 2);
    CHECK_EQ_U64(req->out_len, 16);
    CHECK_EQ_U64(req->in_len, 513);
    CHECK(req->iov[1].iov_base == gp(DATA + 0x100));
    CHECK(virtq_pop(&q, req) == VIRTQ_EMPTY);

    /* Copies across the writable buffers land in the right places. */
    uint8_t pattern[513];
    for (unsigned i = 0; i < sizeof(pattern); i++)
        pattern[i] = (uint8_t)(i * 7 + 1);
    CHECK_EQ_U64(virtq_copy_to_req(ram, req, 0, pattern, sizeof(pattern)), 513);
    CHECK(memcmp(gp(DATA + 0x100), pattern, 512) == 0);
    CHECK_EQ_U64(*(uint8_t *)gp(DATA + 0x400), pattern[512]);
    CHECK_EQ_U64(virtq_copy_to_req(ram, req, 600, pattern, 10), 0);

    virtq_push(&q, 5, 513);
    uint16_t *used = gp(USED);
    uint32_t *elem = gp(USED + 4);
    CHECK_EQ_U64(used[1], 1);
    CHECK_EQ_U64(elem[0], 5);
    CHECK_EQ_U64(elem[1], 513);
    CHECK(virtq_should_notify(&q));
    CHECK(!virtq_should_notify(&q));   /* nothing new pushed */

    /* Without event index the driver suppresses interrupts with a flag. */
    uint16_t *avail = gp(AVAIL);
    avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
    virtq_push(&q, 5, 0);
    CHECK(!virtq_should_notify(&q));
    avail[0] = 0;

    /*
     * An indirect table as long as the queue (Linux fills one with a header, seg_max
     * data segments and a status): the table counts on its own, not with the
     * descriptor that points at it.
     */
    queue_init(&q, true, false);
    set_desc(DESC, 0, TABLE, 16 * QSIZE, VIRTQ_DESC_F_INDIRECT, 0);
    for (unsigned i = 0; i < QSIZE; i++)
        set_desc(TABLE, i, DATA + 0x100 * i, 16, (i ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0),
                 i + 1);
    offer(0);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK_EQ_U64(req->nout + req->nin, QSIZE);

    /* Indirect: a table with one readable and two writable buffers. */
    queue_init(&q, true, false);
    set_desc(DESC, 1, TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
    set_desc(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
    set_desc(TABLE, 2, DATA + 0x1000, 4096, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    set_desc(TABLE, 1, DATA + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(1);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK_EQ_U64(req->head, 1);
    CHECK_EQ_U64(req->nout, 1);
    CHECK_EQ_U64(req->nin, 2);
    CHECK_EQ_U64(req->in_len, 4097);

    /* A chain as long as the queue is fine; a zero-length buffer is too. */
    queue_init(&q, true, false);
    for (unsigned i = 0; i < QSIZE; i++)
        set_desc(DESC, i, DATA + i * 16, i == 3 ? 0 : 16,
                 i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1));
    offer(0);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK_EQ_U64(req->nout + req->nin, QSIZE);

    /* Event index: interrupts only when used_idx passes used_event. */
    queue_init(&q, true, true);
    set_desc(DESC, 0, DATA, 16, 0, 0);
    uint16_t *used_event = &avail[2 + QSIZE];
    uint16_t *avail_event = gp(USED + 4 + 8 * QSIZE);
    *used_event = 0;
    offer(0);
    offer(0);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK_EQ_U64(*avail_event, 1);   /* the device tells how far it has read */
    virtq_push(&q, 0, 0);
    CHECK(virtq_should_notify(&q));  /* used_idx 0 -> 1 crosses used_event 0 */
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    CHECK(virtq_pop(&q, req) == VIRTQ_EMPTY);
    CHECK_EQ_U64(*avail_event, 2);
    virtq_push(&q, 0, 0);
    CHECK(!virtq_should_notify(&q)); /* 1 -> 2 does not */
    *used_event = 3;
    offer(0);
    offer(0);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    virtq_push(&q, 0, 0);
    CHECK(virtq_pop(&q, req) == VIRTQ_GOT);
    virtq_push(&q, 0, 0);
    CHECK(virtq_should_notify(&q));  /* 2 -> 4 passes 3 */
    free(req);
}

/* ---- The transport and devices on the board. ---- */

#define SLOT_BASE(n) (VIRT_VIRTIO_BASE + (n) * VIRT_VIRTIO_SIZE)
enum { MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, DEVICE_FEATURES = 0x010,
       DEVICE_FEATURES_SEL = 0x014, DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
       QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
       QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
       QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090,
       QUEUE_DRIVER_HIGH = 0x094, QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4,
       QUEUE_RESET = 0x0c0, CONFIG = 0x100 };

static struct machine *m;

static uint32_t rd(unsigned slot, unsigned reg)
{
    uint64_t v = 0xdeadbeef;
    CHECK(bus_mmio_read(&m->bus, SLOT_BASE(slot) + reg, 4, &v));
    return (uint32_t)v;
}

static void wr(unsigned slot, unsigned reg, uint32_t v)
{
    CHECK(bus_mmio_write(&m->bus, SLOT_BASE(slot) + reg, 4, v));
}

/* The Linux driver's sequence up to DRIVER_OK, with one queue of QSIZE. */
static void bring_up(unsigned slot, uint64_t features)
{
    wr(slot, STATUS, 0);
    wr(slot, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(slot, DRIVER_FEATURES_SEL, 0);
    wr(slot, DRIVER_FEATURES, (uint32_t)features);
    wr(slot, DRIVER_FEATURES_SEL, 1);
    wr(slot, DRIVER_FEATURES, (uint32_t)(features >> 32));
    wr(slot, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK(rd(slot, STATUS) & VIRTIO_STATUS_FEATURES_OK);
    memset(gp(DESC), 0, 0x4000);
    avail_idx = 0;
    wr(slot, QUEUE_SEL, 0);
    CHECK(rd(slot, QUEUE_NUM_MAX) >= QSIZE);
    wr(slot, QUEUE_NUM, QSIZE);
    wr(slot, QUEUE_DESC_LOW, (uint32_t)DESC);
    wr(slot, QUEUE_DESC_HIGH, 0);
    wr(slot, QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
    wr(slot, QUEUE_DRIVER_HIGH, 0);
    wr(slot, QUEUE_DEVICE_LOW, (uint32_t)USED);
    wr(slot, QUEUE_DEVICE_HIGH, 0);
    wr(slot, QUEUE_READY, 1);
    CHECK_EQ_U64(rd(slot, QUEUE_READY), 1);
    wr(slot, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Waits (up to 5 s) for the used ring at `used` to reach idx (I/O runs on workers). */
static bool wait_used_at(uint64_t used, uint16_t idx)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n((uint16_t *)gp(used + 2), __ATOMIC_ACQUIRE) == idx)
            return true;
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
    return false;
}

static bool wait_used(uint16_t idx)
{
    return wait_used_at(USED, idx);
}

struct blk_header {
    uint32_t type, reserved;
    uint64_t sector;
};

/* Submits header + one data buffer + status on slot; returns the status byte. */
static uint8_t blk_request(unsigned slot, uint32_t type, uint64_t sector, uint32_t len,
                           bool device_writes)
{
    struct blk_header h = { type, 0, sector };
    memcpy(gp(DATA), &h, sizeof(h));
    *(uint8_t *)gp(DATA + 0x100) = 0xee;
    unsigned d = (avail_idx % 2) * 3;
    set_desc(DESC, d, DATA, sizeof(h), VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
    if (len) {
        set_desc(DESC, d + 1, DATA + 0x1000, len,
                 VIRTQ_DESC_F_NEXT | (device_writes ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(d + 2));
        set_desc(DESC, d + 2, DATA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
    } else {
        set_desc(DESC, d, DATA, sizeof(h), VIRTQ_DESC_F_NEXT, (uint16_t)(d + 2));
        set_desc(DESC, d + 2, DATA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
    }
    offer((uint16_t)d);
    wr(slot, QUEUE_NOTIFY, 0);
    CHECK(wait_used(avail_idx));
    return *(uint8_t *)gp(DATA + 0x100);
}

static const uint64_t blk_features = (1ULL << VIRTIO_F_VERSION_1) |
                                     (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
                                     (1ULL << VIRTIO_F_RING_EVENT_IDX);

static const uint64_t reset_features = blk_features | (1ULL << VIRTIO_F_RING_RESET);

/* Queue 0 of slot reads back as reset: not ready, no rings, QueueNum at its maximum. */
static void check_queue_reset(unsigned slot)
{
    wr(slot, QUEUE_SEL, 0);
    CHECK_EQ_U64(rd(slot, QUEUE_RESET), 0);
    CHECK_EQ_U64(rd(slot, QUEUE_READY), 0);
    static const unsigned addr_regs[] = { QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW,
                                          QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW, QUEUE_DEVICE_HIGH };
    for (size_t i = 0; i < ARRAY_SIZE(addr_regs); i++)
        CHECK_EQ_U64(rd(slot, addr_regs[i]), 0);
    CHECK_EQ_U64(rd(slot, QUEUE_NUM), rd(slot, QUEUE_NUM_MAX));
}

/* Re-enables queue 0 of a live device on the second set of rings. */
static void enable_on_new_rings(unsigned slot)
{
    memset(gp(DESC2), 0, 0x3000);
    wr(slot, QUEUE_SEL, 0);
    wr(slot, QUEUE_NUM, QSIZE);
    wr(slot, QUEUE_DESC_LOW, (uint32_t)DESC2);
    wr(slot, QUEUE_DRIVER_LOW, (uint32_t)AVAIL2);
    wr(slot, QUEUE_DEVICE_LOW, (uint32_t)USED2);
    wr(slot, QUEUE_READY, 1);
    CHECK_EQ_U64(rd(slot, QUEUE_READY), 1);
}

/* Makes the chain at head available as entry idx of the ring at avail (no notify). */
static void offer_at(uint64_t avail, uint16_t idx, uint16_t head)
{
    uint16_t *a = gp(avail);
    a[2 + idx % QSIZE] = head;
    __atomic_store_n(&a[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static void test_queue_reset_rng(void)
{
    for (unsigned slot = 0; slot < 3; slot++) {
        wr(slot, DEVICE_FEATURES_SEL, 1);
        CHECK(rd(slot, DEVICE_FEATURES) & (1u << (VIRTIO_F_RING_RESET - 32)));
    }

    /* Not negotiated: QueueReset writes change nothing and the queue keeps working. */
    bring_up(2, blk_features);
    wr(2, QUEUE_RESET, 1);
    CHECK_EQ_U64(rd(2, QUEUE_RESET), 0);
    CHECK_EQ_U64(rd(2, QUEUE_READY), 1);
    CHECK_EQ_U64(rd(2, QUEUE_DESC_LOW), (uint32_t)DESC);
    CHECK_EQ_U64(rd(2, QUEUE_DEVICE_LOW), (uint32_t)USED);
    set_desc(DESC, 0, DATA + 0x1000, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    wr(2, QUEUE_NOTIFY, 0);
    CHECK(wait_used(1));

    /* Negotiated: one request served on the old rings, a second left posted there. */
    bring_up(2, reset_features);
    set_desc(DESC, 0, DATA + 0x1000, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    wr(2, QUEUE_NOTIFY, 0);
    CHECK(wait_used(1));
    uint8_t *old_buf = gp(DATA + 0x2000);
    memset(old_buf, 0, 64);
    set_desc(DESC, 1, DATA + 0x2000, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(1);
    uint8_t old_used[USED_RING_BYTES];
    memcpy(old_used, gp(USED), sizeof(old_used));

    wr(2, QUEUE_SEL, 0);
    wr(2, QUEUE_RESET, 1);
    check_queue_reset(2);
    wr(2, QUEUE_NOTIFY, 0);   /* the queue is gone: nothing happens */
    CHECK(!memcmp(old_used, gp(USED), sizeof(old_used)));

    /* New rings start from index 0: the first chain there is served as the first. */
    enable_on_new_rings(2);
    uint8_t *new_buf = gp(DATA + 0x3000);
    memset(new_buf, 0, 64);
    struct virtq_desc d = { DATA + 0x3000, 32, VIRTQ_DESC_F_WRITE, 0 };
    memcpy(gp(DESC2 + 5 * sizeof(d)), &d, sizeof(d));
    offer_at(AVAIL2, 0, 5);
    wr(2, QUEUE_NOTIFY, 0);
    CHECK(wait_used_at(USED2, 1));
    uint32_t *elem = gp(USED2 + 4);
    CHECK_EQ_U64(elem[0], 5);
    CHECK_EQ_U64(elem[1], 32);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 32; i++)
        nonzero += new_buf[i] != 0;
    CHECK(nonzero > 16);
    CHECK(!memcmp(old_used, gp(USED), sizeof(old_used)));
    for (unsigned i = 0; i < 64; i++)
        CHECK_EQ_U64(old_buf[i], 0);
}

/* Requests in flight on the workers when the queue is reset never reach the old rings. */
static void test_queue_reset_blk(void)
{
    bring_up(0, reset_features);
    /* Two 32 KiB reads: header, data, status each. */
    for (unsigned r = 0; r < 2; r++) {
        uint64_t hdr = DATA + 0x20 * r, status = DATA + 0x100 + r;
        struct blk_header h = { 0, 0, 64 * r };
        memcpy(gp(hdr), &h, sizeof(h));
        *(uint8_t *)gp(status) = 0xee;
        memset(gp(DATA + 0x1000 + 0x8000 * r), 0xcc, 0x8000);
        set_desc(DESC, 3 * r, hdr, sizeof(h), VIRTQ_DESC_F_NEXT, (uint16_t)(3 * r + 1));
        set_desc(DESC, 3 * r + 1, DATA + 0x1000 + 0x8000 * r, 0x8000,
                 VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(3 * r + 2));
        set_desc(DESC, 3 * r + 2, status, 1, VIRTQ_DESC_F_WRITE, 0);
        offer((uint16_t)(3 * r));
    }
    wr(0, QUEUE_NOTIFY, 0);
    wr(0, QUEUE_SEL, 0);
    wr(0, QUEUE_RESET, 1);
    check_queue_reset(0);

    /* From here on the old rings and buffers must stay exactly as they are. */
    size_t old_len = 0x11000;
    uint8_t *old_data = malloc(old_len);
    uint8_t old_used[USED_RING_BYTES];
    memcpy(old_data, gp(DATA), old_len);
    memcpy(old_used, gp(USED), sizeof(old_used));

    enable_on_new_rings(0);
    uint64_t hdr = DATA + 0x20000, buf = DATA + 0x21000, status = DATA + 0x20100;
    struct blk_header h = { 0, 0, 3 };
    memcpy(gp(hdr), &h, sizeof(h));
    *(uint8_t *)gp(status) = 0xee;
    struct virtq_desc chain[3] = {
        { hdr, sizeof(h), VIRTQ_DESC_F_NEXT, 1 },
        { buf, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2 },
        { status, 1, VIRTQ_DESC_F_WRITE, 0 },
    };
    memcpy(gp(DESC2), chain, sizeof(chain));
    offer_at(AVAIL2, 0, 0);
    wr(0, QUEUE_NOTIFY, 0);
    CHECK(wait_used_at(USED2, 1));
    CHECK_EQ_U64(*(uint8_t *)gp(status), 0);
    CHECK_EQ_U64(((uint8_t *)gp(buf))[0], 3);   /* sector 3 of the image */
    CHECK_EQ_U64(((uint32_t *)gp(USED2 + 4))[0], 0);

    /* Give any straggling worker time to misbehave, then compare. */
    nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
    CHECK_EQ_U64(__atomic_load_n((uint16_t *)gp(USED2 + 2), __ATOMIC_ACQUIRE), 1);
    CHECK(!memcmp(old_used, gp(USED), sizeof(old_used)));
    CHECK(!memcmp(old_data, gp(DATA), old_len));
    free(old_data);
    wr(0, STATUS, 0);
}

static void test_transport_and_blk(const char *rw_path, const char *ro_path)
{
    struct machine_config cfg = { .memory_size = 32 << 20, .nharts = 1,
                                  .firmware = FIRMWARE_NONE, .ndisks = 2, .rng = true };
    cfg.disks[0] = (struct disk_config){ .path = rw_path, .serial = "RACKVM-SERIAL-1" };
    cfg.disks[1] = (struct disk_config){ .path = ro_path, .readonly = true };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        return;
    ram = &m->bus.ram;
    CHECK_EQ_U64(m->nvirtio, 3);
    CHECK_EQ_U64(rd(0, MAGIC), 0x74726976);
    CHECK_EQ_U64(rd(0, VERSION), 2);
    CHECK_EQ_U64(rd(0, DEVICE_ID), VIRTIO_ID_BLOCK);
    CHECK_EQ_U64(rd(2, DEVICE_ID), VIRTIO_ID_RNG);
    wr(0, DEVICE_FEATURES_SEL, 1);
    CHECK(rd(0, DEVICE_FEATURES) & 1);   /* VERSION_1 */
    wr(1, DEVICE_FEATURES_SEL, 0);
    CHECK(rd(1, DEVICE_FEATURES) & (1u << 5));   /* the read-only disk says so */

    /* Capacity: 64 KiB = 128 sectors; blk_size 512. */
    CHECK_EQ_U64(rd(0, CONFIG), 128);
    CHECK_EQ_U64(rd(0, CONFIG + 4), 0);
    CHECK_EQ_U64(rd(0, CONFIG + 20), 512);

    /* FEATURES_OK is refused for a feature not offered, and without VERSION_1. */
    wr(0, STATUS, 0);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(0, DRIVER_FEATURES_SEL, 0);
    wr(0, DRIVER_FEATURES, 1u << 0);   /* VIRTIO_BLK_F_BARRIER: not offered */
    wr(0, DRIVER_FEATURES_SEL, 1);
    wr(0, DRIVER_FEATURES, 1);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(rd(0, STATUS) & VIRTIO_STATUS_FEATURES_OK));
    wr(0, STATUS, 0);
    CHECK_EQ_U64(rd(0, STATUS), 0);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(0, DRIVER_FEATURES_SEL, 1);
    wr(0, DRIVER_FEATURES, 0);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK(!(rd(0, STATUS) & VIRTIO_STATUS_FEATURES_OK));

    /* A queue whose rings leave RAM is refused with DEVICE_NEEDS_RESET. */
    bring_up(0, blk_features);
    wr(0, STATUS, 0);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(0, DRIVER_FEATURES_SEL, 1);
    wr(0, DRIVER_FEATURES, 1);
    wr(0, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    wr(0, QUEUE_NUM, QSIZE);
    wr(0, QUEUE_DESC_LOW, 0x1000);
    wr(0, QUEUE_READY, 1);
    CHECK_EQ_U64(rd(0, QUEUE_READY), 0);
    CHECK(rd(0, STATUS) & VIRTIO_STATUS_NEEDS_RESET);

    /* Reads, writes, flush and GET_ID through the worker threads. */
    bring_up(0, blk_features);
    CHECK_EQ_U64(rd(0, STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
    CHECK_EQ_U64(blk_request(0, 0, 1, 1024, true), 0);
    uint8_t *data = gp(DATA + 0x1000);
    CHECK(data[0] == 1 && data[511] == 1 && data[512] == 2 && data[1023] == 2);
    CHECK(rd(0, INTERRUPT_STATUS) & 1);
    wr(0, INTERRUPT_ACK, 1);
    CHECK_EQ_U64(rd(0, INTERRUPT_STATUS), 0);

    memset(data, 0xab, 512);
    CHECK_EQ_U64(blk_request(0, 1, 5, 512, false), 0);
    int fd = open(rw_path, O_RDONLY);
    uint8_t sector[512] = { 0 };
    CHECK(pread(fd, sector, 512, 5 * 512) == 512);
    CHECK(sector[0] == 0xab && sector[511] == 0xab);
    close(fd);

    CHECK_EQ_U64(blk_request(0, 4, 0, 0, false), 0);              /* flush */
    CHECK_EQ_U64(blk_request(0, 8, 0, 20, true), 0);              /* GET_ID */
    CHECK(memcmp(data, "RACKVM-SERIAL-1", 16) == 0);
    CHECK_EQ_U64(blk_request(0, 0, 127, 1024, true), 1);          /* past the end: IOERR */
    CHECK_EQ_U64(blk_request(0, 0, ~0ULL / 512, 512, true), 1);   /* overflowing sector */
    CHECK_EQ_U64(blk_request(0, 0, 0, 100, true), 1);             /* not whole sectors */
    CHECK_EQ_U64(blk_request(0, 99, 0, 512, true), 2);            /* unknown type: UNSUPP */

    /* Write-zeroes and discard on ranges. */
    struct { uint64_t sector; uint32_t count, flags; } range = { 5, 1, 0 };
    memcpy(data, &range, sizeof(range));
    CHECK_EQ_U64(blk_request(0, 13, 0, 16, false), 0);
    fd = open(rw_path, O_RDONLY);
    CHECK(pread(fd, sector, 512, 5 * 512) == 512);
    CHECK(sector[0] == 0 && sector[511] == 0);
    close(fd);
    range = (typeof(range)){ 100, 100, 0 };
    memcpy(data, &range, sizeof(range));
    CHECK_EQ_U64(blk_request(0, 11, 0, 16, false), 1);            /* beyond capacity */

    /* A hostile chain: the device needs a reset and says so with a config interrupt. */
    set_desc(DESC, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
    offer(0);
    wr(0, QUEUE_NOTIFY, 0);
    CHECK(rd(0, STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK(rd(0, INTERRUPT_STATUS) & 2);
    wr(0, STATUS, 0);
    CHECK_EQ_U64(rd(0, STATUS), 0);
    CHECK_EQ_U64(rd(0, INTERRUPT_STATUS), 0);

    /* The read-only disk reads but refuses writes. */
    bring_up(1, blk_features);
    CHECK_EQ_U64(blk_request(1, 0, 0, 512, true), 0);
    CHECK(data[0] == 0x5a);
    CHECK_EQ_U64(blk_request(1, 1, 0, 512, false), 1);
    memcpy(data, &(typeof(range)){ 0, 1, 0 }, sizeof(range));
    CHECK_EQ_U64(blk_request(1, 13, 0, 16, false), 1);

    /* The rng fills the buffer it is given. */
    bring_up(2, blk_features);
    memset(data, 0, 64);
    set_desc(DESC, 0, DATA + 0x1000, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(0);
    wr(2, QUEUE_NOTIFY, 0);
    CHECK(wait_used(1));
    CHECK_EQ_U64(((uint32_t *)gp(USED + 4))[1], 64);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 64; i++)
        nonzero += data[i] != 0;
    CHECK(nonzero > 32);

    test_queue_reset_rng();
    test_queue_reset_blk();

    machine_destroy(m);
    m = NULL;
}

static void write_image(const char *path, size_t size, int fill_by_sector)
{
    uint8_t *buf = malloc(size);
    for (size_t i = 0; i < size; i++)
        buf[i] = fill_by_sector ? (uint8_t)(i / 512) : 0x5a;
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, size, f) == size);
    if (f)
        fclose(f);
    free(buf);
}

int main(void)
{
    struct guest_ram local;
    CHECK(guest_ram_init(&local, RAM_BASE, 1 << 20) == 0);
    ram = &local;
    test_ring_validation();
    test_hostile_chains();
    test_normal_chains();
    guest_ram_destroy(&local);

    char rw_path[] = "/tmp/rackvm-vq-XXXXXX", ro_path[] = "/tmp/rackvm-vq-XXXXXX";
    close(mkstemp(rw_path));
    close(mkstemp(ro_path));
    write_image(rw_path, 64 * 1024, 1);
    write_image(ro_path, 4096, 0);
    test_transport_and_blk(rw_path, ro_path);
    unlink(rw_path);
    unlink(ro_path);
    UNIT_DONE();
}
