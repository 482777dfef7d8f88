/*
 * virtio-net through the virtio-mmio registers on a real board, with user networking:
 * config space (MAC, link up), a transmitted ARP request answered by slirp into the
 * receive queue, headers split across descriptors, and hostile chains: receive buffers
 * too small or device-readable (frame dropped and counted, nothing written), transmit
 * chains too short or too long (dropped and counted), a buffer outside RAM (device
 * needs reset, nothing delivered). Queue reset of the receive queue: a frame the back end
 * holds meanwhile lands in the new rings, never in a buffer posted on the old ones.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtio_net.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

enum { MAGIC = 0x000, DEVICE_ID = 0x008, DEV_FEATURES = 0x010, DEV_FEATURES_SEL = 0x014,
       DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034,
       QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INT_STATUS = 0x060,
       INT_ACK = 0x064, STATUS = 0x070, DESC_LO = 0x080, DESC_HI = 0x084, DRIVER_LO = 0x090,
       DRIVER_HI = 0x094, DEVICE_LO = 0x0a0, DEVICE_HI = 0x0a4, QUEUE_RESET = 0x0c0,
       CONFIG = 0x100 };

#define QSIZE 8
#define RAM VIRT_DRAM_BASE
/* Per ring r: descriptors, available ring, used ring; then data buffers. Ring 2 is where
   a reset receive queue comes back. */
#define DESC(q) (RAM + 0x10000 * (q))
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define DATA (RAM + 0x100000)
#define GUARD 0xa5
#define NEW_RX_RING 2

static struct machine *m;
static struct virtio_net *net;
static uint16_t avail_idx[3];

static uint64_t rd(unsigned reg)
{
    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, VIRT_VIRTIO_BASE + reg, 4, &v));
    return v;
}

static uint8_t rd8(unsigned reg)
{
    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, VIRT_VIRTIO_BASE + reg, 1, &v));
    return (uint8_t)v;
}

static void wr(unsigned reg, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_VIRTIO_BASE + reg, 4, v));
}

static uint8_t *g(uint64_t gpa)
{
    return guest_ram_ptr(&m->bus.ram, gpa, 1);
}

static void set_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *d = g(DESC(q) + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

/* Makes chain `head` available on ring r without notifying. */
static void post(unsigned r, uint16_t head)
{
    uint8_t *avail = g(AVAIL(r));
    memcpy(avail + 4 + 2 * (avail_idx[r] % QSIZE), &head, 2);
    avail_idx[r]++;
    __atomic_store_n((uint16_t *)(avail + 2), avail_idx[r], __ATOMIC_RELEASE);
}

/* Makes chain `head` available on q and notifies. */
static void offer(unsigned q, uint16_t head)
{
    post(q, head);
    wr(QUEUE_NOTIFY, q);
}

static uint16_t used_idx(unsigned q)
{
    return __atomic_load_n((uint16_t *)(g(USED(q)) + 2), __ATOMIC_ACQUIRE);
}

static uint32_t used_len(unsigned q, unsigned n)
{
    uint32_t len;
    memcpy(&len, g(USED(q)) + 4 + 8 * (n % QSIZE) + 4, 4);
    return len;
}

/* Waits up to 2 s for the used index of q to reach n (receive runs on slirp's thread). */
static bool wait_used(unsigned q, uint16_t n)
{
    for (int i = 0; i < 200 && used_idx(q) != n; i++)
        usleep(10000);
    return used_idx(q) == n;
}

static struct virtio_net_stats stats(void)
{
    struct virtio_net_stats s;
    pthread_mutex_lock(&m->bus.lock);
    virtio_net_get_stats(net, &s);
    pthread_mutex_unlock(&m->bus.lock);
    return s;
}

static void setup(void)
{
    struct machine_config cfg = { .memory_size = 64ULL << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    struct net_config nc;
    char err[128];
    CHECK(net_config_parse("user,mac=52:54:00:12:34:56", &nc, err, sizeof(err)) == 0);
    struct device_slot slot = machine_device_slot(m, VIRT_VIRTIO, 0);
    CHECK(virtio_net_create(&slot, &nc, &net) != NULL);
}

/* Points the selected queue at ring r and enables it. */
static void enable_queue(unsigned r)
{
    wr(QUEUE_NUM, QSIZE);
    wr(DESC_LO, (uint32_t)DESC(r));
    wr(DESC_HI, DESC(r) >> 32);
    wr(DRIVER_LO, (uint32_t)AVAIL(r));
    wr(DRIVER_HI, AVAIL(r) >> 32);
    wr(DEVICE_LO, (uint32_t)USED(r));
    wr(DEVICE_HI, USED(r) >> 32);
    wr(QUEUE_READY, 1);
}

/* The driver's sequence up to DRIVER_OK with MAC and STATUS plus feature_hi (bits 32+). */
static void bring_up(uint32_t feature_hi)
{
    wr(STATUS, 0);
    wr(STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(DRV_FEATURES_SEL, 0);
    wr(DRV_FEATURES, 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_STATUS);
    wr(DRV_FEATURES_SEL, 1);
    wr(DRV_FEATURES, feature_hi);
    wr(STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    CHECK(rd(STATUS) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        memset(g(DESC(q)), 0, 0x3000);
        avail_idx[q] = 0;
        wr(QUEUE_SEL, q);
        enable_queue(q);
    }
    wr(STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                   VIRTIO_STATUS_DRIVER_OK);
    CHECK(rd(STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static void test_config_and_init(void)
{
    CHECK_EQ_U64(rd(MAGIC), 0x74726976);
    CHECK_EQ_U64(rd(DEVICE_ID), VIRTIO_ID_NET);
    wr(DEV_FEATURES_SEL, 0);
    uint64_t f = rd(DEV_FEATURES);
    CHECK(f & (1u << VIRTIO_NET_F_MAC));
    CHECK(f & (1u << VIRTIO_NET_F_STATUS));
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ_U64(rd8(CONFIG + i), mac[i]);
    CHECK_EQ_U64(rd8(CONFIG + 6), VIRTIO_NET_S_LINK_UP);
    wr(DEV_FEATURES_SEL, 1);
    CHECK(rd(DEV_FEATURES) & (1u << (VIRTIO_F_RING_RESET - 32)));

    bring_up(1);  /* VERSION_1 */
}

/* Puts a virtio_net_hdr + ARP "who has 10.0.2.2" at gpa; returns its length. */
static uint32_t put_arp_request(uint64_t gpa)
{
    uint8_t *p = g(gpa);
    memset(p, 0, VIRTIO_NET_HDR_LEN + 42);
    uint8_t *f = p + VIRTIO_NET_HDR_LEN;
    static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    memcpy(f + 12, head, sizeof(head));
    memcpy(f + 22, mac, 6);
    memcpy(f + 28, (uint8_t[]){ 10, 0, 2, 15 }, 4);
    memcpy(f + 38, (uint8_t[]){ 10, 0, 2, 2 }, 4);
    return VIRTIO_NET_HDR_LEN + 42;
}

/* Transmits an ARP request whose header is split over two descriptors. */
static void send_arp(uint16_t head)
{
    uint64_t buf = DATA + 0x10000 + head * 0x1000;
    uint32_t len = put_arp_request(buf);
    set_desc(1, head, buf, 5, VIRTQ_DESC_F_NEXT, head + 1);
    set_desc(1, head + 1, buf + 5, len - 5, 0, 0);
    uint16_t before = used_idx(1);
    offer(1, head);
    CHECK_EQ_U64(used_idx(1), before + 1);   /* transmit completes on the notifying thread */
}

static bool all_guard(uint64_t gpa, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (g(gpa)[i] != GUARD)
            return false;
    return true;
}

static void test_receive_too_small_is_dropped(void)
{
    memset(g(DATA), GUARD, 0x1000);
    set_desc(0, 0, DATA, 30, VIRTQ_DESC_F_WRITE, 0);
    offer(0, 0);
    send_arp(0);
    CHECK(wait_used(0, 1));
    CHECK_EQ_U64(used_len(0, 0), 0);
    CHECK(all_guard(DATA, 0x1000));
    CHECK_EQ_U64(stats().rx_dropped_too_big, 1);
    CHECK_EQ_U64(stats().tx_frames, 1);
    CHECK_EQ_U64(stats().tx_bytes, 42);   /* an ARP request, without the virtio header */
    CHECK_EQ_U64(stats().rx_bytes, 0);    /* the dropped reply counts no bytes */

    /* A device-readable "receive" buffer holds nothing writable: dropped too. */
    set_desc(0, 1, DATA, 2048, 0, 0);
    offer(0, 1);
    send_arp(2);
    CHECK(wait_used(0, 2));
    CHECK_EQ_U64(used_len(0, 1), 0);
    CHECK(all_guard(DATA, 0x1000));
    CHECK_EQ_U64(stats().rx_dropped_too_big, 2);
}

static void test_receive_into_split_buffers(void)
{
    memset(g(DATA), GUARD, 0x1000);
    /* Header split 7 + 5 between the two buffers; the second ends 100 bytes before guard. */
    set_desc(0, 2, DATA, 7, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    set_desc(0, 3, DATA + 0x100, 200, VIRTQ_DESC_F_WRITE, 0);
    uint32_t ints_before = (uint32_t)rd(INT_STATUS);
    wr(INT_ACK, ints_before);
    offer(0, 2);
    send_arp(4);
    CHECK(wait_used(0, 3));
    uint32_t len = used_len(0, 2);
    CHECK(len >= VIRTIO_NET_HDR_LEN + 42 && len <= 207);
    CHECK(rd(INT_STATUS) & 1);
    uint8_t got[207];
    memcpy(got, g(DATA), 7);
    memcpy(got + 7, g(DATA + 0x100), 200);
    static const uint8_t hdr[VIRTIO_NET_HDR_LEN] = { [10] = 1 };
    CHECK(!memcmp(got, hdr, sizeof(hdr)));
    const uint8_t *f = got + VIRTIO_NET_HDR_LEN;
    CHECK(f[0] == 0x52 && f[5] == 0x56);              /* to our MAC */
    CHECK(f[12] == 0x08 && f[13] == 0x06 && f[21] == 2);  /* ARP reply */
    CHECK(!memcmp(f + 28, (uint8_t[]){ 10, 0, 2, 2 }, 4));
    CHECK(all_guard(DATA + 7, 0x100 - 7));
    CHECK(all_guard(DATA + 0x100 + (len - 7), 0x1000 - 0x100 - (len - 7)));
    CHECK_EQ_U64(stats().rx_frames, 1);
    CHECK_EQ_U64(stats().rx_bytes, len - VIRTIO_NET_HDR_LEN);
}

static void test_hostile_transmit(void)
{
    uint16_t before = used_idx(1);
    /* Shorter than header + Ethernet header. */
    set_desc(1, 6, DATA + 0x20000, VIRTIO_NET_HDR_LEN + 13, 0, 0);
    offer(1, 6);
    /* Longer than any frame: two 40 KiB buffers. */
    set_desc(1, 0, DATA + 0x20000, 40960, VIRTQ_DESC_F_NEXT, 1);
    set_desc(1, 1, DATA + 0x30000, 40960, 0, 0);
    offer(1, 0);
    CHECK_EQ_U64(used_idx(1), before + 2);
    CHECK_EQ_U64(stats().tx_dropped_malformed, 2);
    CHECK_EQ_U64(stats().tx_frames, 3);

    /* A buffer beyond guest RAM: the transport refuses the chain and wants a reset. */
    set_desc(1, 2, RAM + m->bus.ram.size - 8, 64, 0, 0);
    offer(1, 2);
    CHECK(rd(STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    CHECK_EQ_U64(stats().tx_frames, 3);

    /* A broken device delivers nothing, even with a buffer posted. */
    set_desc(0, 4, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
    uint16_t rx_before = used_idx(0);
    offer(0, 4);
    usleep(200 * 1000);
    CHECK_EQ_U64(used_idx(0), rx_before);
}

static void test_receive_queue_reset(void)
{
    bring_up(1 | 1u << (VIRTIO_F_RING_RESET - 32));
    uint64_t rx_before = stats().rx_frames;

    /* No receive buffer: the ARP reply waits in the back end. */
    send_arp(0);
    usleep(200 * 1000);
    CHECK_EQ_U64(used_idx(0), 0);
    CHECK_EQ_U64(stats().rx_frames, rx_before);

    /* A buffer posted on the old ring but never notified, then the queue is reset. */
    memset(g(DATA), GUARD, 0x1000);
    set_desc(0, 0, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
    post(0, 0);
    uint8_t old_used[4 + 8 * QSIZE + 2];
    memcpy(old_used, g(USED(0)), sizeof(old_used));
    wr(QUEUE_SEL, 0);
    wr(QUEUE_RESET, 1);
    CHECK_EQ_U64(rd(QUEUE_RESET), 0);
    CHECK_EQ_U64(rd(QUEUE_READY), 0);
    CHECK_EQ_U64(rd(DESC_LO), 0);
    CHECK_EQ_U64(rd(DRIVER_LO), 0);
    CHECK_EQ_U64(rd(DEVICE_LO), 0);
    CHECK_EQ_U64(rd(QUEUE_NUM), rd(QUEUE_NUM_MAX));
    CHECK_EQ_U64(rd(QUEUE_NUM_MAX), 256);

    /* The transmit queue is untouched by the reset of the receive queue. */
    wr(QUEUE_SEL, 1);
    CHECK_EQ_U64(rd(QUEUE_READY), 1);
    CHECK_EQ_U64(rd(DESC_LO), (uint32_t)DESC(1));

    /* Re-enabled on new rings: the held frame goes into the buffer posted there. */
    memset(g(DESC(NEW_RX_RING)), 0, 0x3000);
    memset(g(DATA + 0x1000), GUARD, 0x1000);
    wr(QUEUE_SEL, 0);
    enable_queue(NEW_RX_RING);
    set_desc(NEW_RX_RING, 3, DATA + 0x1000, 2048, VIRTQ_DESC_F_WRITE, 0);
    post(NEW_RX_RING, 3);
    wr(QUEUE_NOTIFY, 0);
    CHECK(wait_used(NEW_RX_RING, 1));
    uint32_t len = used_len(NEW_RX_RING, 0);
    CHECK(len >= VIRTIO_NET_HDR_LEN + 42 && len <= 2048);
    const uint8_t *f = g(DATA + 0x1000) + VIRTIO_NET_HDR_LEN;
    CHECK(f[12] == 0x08 && f[13] == 0x06 && f[21] == 2);  /* the ARP reply */
    CHECK_EQ_U64(stats().rx_frames, rx_before + 1);

    usleep(100 * 1000);
    CHECK(all_guard(DATA, 0x1000));
    CHECK(!memcmp(old_used, g(USED(0)), sizeof(old_used)));
}

int main(void)
{
    setup();
    if (!m || !net)
        UNIT_DONE();
    test_config_and_init();
    test_receive_too_small_is_dropped();
    test_receive_into_split_buffers();
    test_hostile_transmit();
    test_receive_queue_reset();
    machine_destroy(m);
    UNIT_DONE();
}
