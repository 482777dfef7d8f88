/*
 * A hostile bare-metal guest (built with tests/baremetal/crt.S, run with --firmware none
 * --cpus 1 on a board whose eight virtio slots are all taken: five disks (slots 0-4),
 * --rng (5), --console virtio (6), --net user (7)). The kernel command line names the
 * storm, "storm=<letter>"; the guest prints "STORM-RUNNING <letter>" on the UART and
 * keeps that storm up until the VM is stopped:
 *   m  every device's registers hammered: CLINT, PLIC, UART, RTC, test finisher, virtio
 *   n  QueueNotify on every queue of live virtio devices, with no buffers posted
 *   b  QueueNotify with valid buffers: virtio-blk reads kept in flight, queue refilled
 *   r  one virtio-blk read chain made available again and again, never waiting for it
 *      to be used (a driver may not; a hostile one does)
 *   c  an interrupt claimed at the PLIC and never completed, the hart in wfi
 *   p  a level interrupt left pending and enabled with MIE off, wfi in a loop
 *   t  a level interrupt taken and returned from without acknowledging it
 *   f  the NIC flooded: UDP frames to 10.0.2.2 and broadcast ARP, as fast as it goes,
 *      the receive queue notified too though its few buffers are long used up
 *   o  console output without end (whether or not anyone reads it)
 * It prints "STORM-TICK" every 2^20 notifies (b, n), requests (r), 2^16 frames sent (f) or 2^16
 * passes over the registers (m), so the test can tell how hard the storm blew.
 * tests/integration/test_storm.py measures what each costs the host.
 */
#include <stddef.h>
#include <stdint.h>

void uart_puts(const char *s);

const char test_name[] = "storm";

#define UART            0x10000000UL
#define CLINT           0x02000000UL
#define PLIC            0x0c000000UL
#define RTC             0x00101000UL
#define FINISHER        0x00100000UL
#define VIRTIO(slot)    (0x10001000UL + 0x1000UL * (slot))
#define SLOT_BLK        0
#define SLOT_NET        7
#define NSLOTS          8
#define MAXQ            4
#define IRQ_UART        10
#define IRQ_VIRTIO(s)   (1 + (s))

/* virtio-mmio registers and bits */
#define VM_QUEUE_SEL    0x030
#define VM_QUEUE_NUM_MAX 0x034
#define VM_QUEUE_NUM    0x038
#define VM_QUEUE_READY  0x044
#define VM_NOTIFY       0x050
#define VM_INT_STATUS   0x060
#define VM_INT_ACK      0x064
#define VM_STATUS       0x070
#define VM_DESC         0x080
#define VM_DRIVER       0x090
#define VM_DEVICE       0x0a0
#define VM_DRV_FEAT     0x020
#define VM_DRV_FEAT_SEL 0x024
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define DESC_NEXT 1
#define DESC_WRITE 2

#define QN 64              /* entries per queue */
#define BLK_REQS 16        /* blk chains in flight: 3 descriptors each */
#define NET_FRAMES 32

static inline void w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t r32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void w8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint8_t r8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq {
    struct desc desc[QN];
    struct { uint16_t flags, idx, ring[QN], used_event; } avail;
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QN]; uint16_t avail_event; } used;
    uint16_t last_used;
} __attribute__((aligned(16)));

static struct vq queues[NSLOTS][MAXQ];
static unsigned nqueues[NSLOTS];
static struct vq *const blk_q = &queues[SLOT_BLK][0];
static struct vq *const net_rx = &queues[SLOT_NET][0], *const net_tx = &queues[SLOT_NET][1];
static struct { uint32_t type, reserved; uint64_t sector; } blk_hdr[BLK_REQS];
static uint8_t blk_data[BLK_REQS][4096], blk_status[BLK_REQS];
static uint8_t frames[NET_FRAMES][12 + 64];   /* virtio-net header + frame */
static uint8_t rx_bufs[NET_FRAMES][1526];

static uint64_t events;

static void count(uint64_t n, unsigned shift)
{
    if (((events + n) >> shift) != (events >> shift))
        uart_puts("STORM-TICK\n");
    events += n;
}

/* Drives the device in `slot` to DRIVER_OK with every queue it has set up. */
static void virtio_start(unsigned slot)
{
    uintptr_t b = VIRTIO(slot);
    w32(b + VM_STATUS, 0);
    w32(b + VM_STATUS, ST_ACK | ST_DRIVER);
    w32(b + VM_DRV_FEAT_SEL, 1);
    w32(b + VM_DRV_FEAT, 1);                   /* VIRTIO_F_VERSION_1 */
    w32(b + VM_DRV_FEAT_SEL, 0);
    w32(b + VM_DRV_FEAT, 0);
    w32(b + VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    for (unsigned i = 0; i < MAXQ; i++) {
        w32(b + VM_QUEUE_SEL, i);
        if (r32(b + VM_QUEUE_NUM_MAX) == 0)
            break;
        struct vq *q = &queues[slot][i];
        w32(b + VM_QUEUE_NUM, QN);
        w32(b + VM_DESC, (uint32_t)(uintptr_t)q->desc);
        w32(b + VM_DRIVER, (uint32_t)(uintptr_t)&q->avail);
        w32(b + VM_DEVICE, (uint32_t)(uintptr_t)&q->used);
        w32(b + VM_QUEUE_READY, 1);
        nqueues[slot] = i + 1;
    }
    w32(b + VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

static void post(struct vq *q, uint16_t head)
{
    q->avail.ring[q->avail.idx % QN] = head;
    fence();
    q->avail.idx++;
    fence();
}

static void start_devices(void)
{
    for (unsigned s = 0; s < NSLOTS; s++)
        virtio_start(s);
}

/* Register offsets read and written on every pass; writes are harmless values. */
static void storm_mmio(void)
{
    static const uint32_t virtio_regs[] = { 0x000, 0x010, 0x034, 0x044, 0x050, 0x060,
                                            0x064, 0x070, 0x0c0, 0x0fc, 0x100 };
    for (;;) {
        w32(CLINT, 0);                             /* msip: no software interrupt */
        *(volatile uint64_t *)(CLINT + 0x4000) = ~0ULL; /* mtimecmp: never */
        (void)*(volatile uint64_t *)(CLINT + 0xbff8);
        w32(PLIC + 4 * IRQ_UART, 1);               /* priority */
        (void)r32(PLIC + 0x1000);                  /* pending */
        w32(PLIC + 0x2000, 0);                     /* context 0 enables: none */
        w32(PLIC + 0x200000, 7);                   /* threshold */
        w32(PLIC + 0x200004, r32(PLIC + 0x200004)); /* claim / complete */
        w8(UART + 7, r8(UART + 7) + 1);            /* scratch */
        (void)r8(UART + 5);                        /* LSR */
        (void)r8(UART + 2);                        /* IIR */
        w8(UART + 1, 0);                           /* IER */
        (void)r32(RTC + 0x00);
        (void)r32(RTC + 0x04);
        w32(RTC + 0x10, 0);                        /* alarm interrupt off */
        w32(RTC + 0x0c, 0);                        /* alarm in the past: fires at once */
        w32(RTC + 0x08, 0);
        w32(RTC + 0x1c, 1);                        /* clear interrupt */
        w32(RTC + 0x0c, 0xffffffff);               /* alarm in the far future ... */
        w32(RTC + 0x08, 0);
        w32(RTC + 0x14, 1);                        /* ... and cancelled */
        w32(FINISHER, 0x1234);                     /* not a command */
        (void)r32(FINISHER);
        for (unsigned s = 0; s < NSLOTS; s++)
            for (unsigned i = 0; i < sizeof(virtio_regs) / sizeof(virtio_regs[0]); i++) {
                uintptr_t a = VIRTIO(s) + virtio_regs[i];
                w32(a, r32(a) & (virtio_regs[i] == 0x070 ? 0 : ~0u));
            }
        count(1, 16);
    }
}

static void storm_notify_empty(void)
{
    start_devices();
    for (;;) {
        for (unsigned s = 0; s < NSLOTS; s++)
            for (unsigned q = 0; q < nqueues[s]; q++)
                w32(VIRTIO(s) + VM_NOTIFY, q);
        count(NSLOTS, 20);   /* about one notify a queue */
    }
}

/* Chain i: header (out), 4 KiB of data (in), status (in) at descriptors 3i..3i+2. */
static void blk_post(unsigned i, uint64_t sector)
{
    struct desc *d = &blk_q->desc[3 * i];
    blk_hdr[i].type = 0;                           /* VIRTIO_BLK_T_IN */
    blk_hdr[i].sector = sector;
    d[0] = (struct desc){ (uintptr_t)&blk_hdr[i], sizeof(blk_hdr[i]), DESC_NEXT, 3 * i + 1 };
    d[1] = (struct desc){ (uintptr_t)blk_data[i], 4096, DESC_NEXT | DESC_WRITE, 3 * i + 2 };
    d[2] = (struct desc){ (uintptr_t)&blk_status[i], 1, DESC_WRITE, 0 };
    post(blk_q, 3 * i);
}

static void storm_notify_busy(void)
{
    start_devices();
    uint64_t sector = 0;
    for (unsigned i = 0; i < BLK_REQS; i++)
        blk_post(i, sector++ % 2048);
    for (;;) {
        w32(VIRTIO(SLOT_BLK) + VM_NOTIFY, 0);
        count(1, 20);
        fence();
        while (blk_q->last_used != *(volatile uint16_t *)&blk_q->used.idx) {
            uint32_t head = blk_q->used.ring[blk_q->last_used++ % QN].id;
            blk_post(head / 3, sector++ % 2048);
        }
        w32(VIRTIO(SLOT_BLK) + VM_INT_ACK, r32(VIRTIO(SLOT_BLK) + VM_INT_STATUS));
    }
}

static void storm_repost(void)
{
    start_devices();
    blk_post(0, 0);
    for (;;) {
        /* Never more than the queue size ahead of the device, which would be a broken ring. */
        for (unsigned i = 0; i < QN - 1; i++)
            post(blk_q, 0);
        w32(VIRTIO(SLOT_BLK) + VM_NOTIFY, 0);
        count(QN - 1, 20);
    }
}

/* The UART's THR-empty interrupt: a level source that stays up while IER asks for it. */
static void enable_uart_irq(void)
{
    w32(PLIC + 4 * IRQ_UART, 1);
    w32(PLIC + 0x2000, 1u << IRQ_UART);            /* context 0: hart 0 M-mode */
    w32(PLIC + 0x200000, 0);
    w8(UART + 1, 0x02);                            /* IER: THR empty */
    __asm__ volatile("csrs mie, %0" ::"r"(1UL << 11)); /* MEIE */
}

static void set_mtvec(void (*handler)(void))
{
    __asm__ volatile("csrw mtvec, %0" ::"r"(handler));
}

__attribute__((interrupt("machine"), aligned(4))) static void claim_only(void)
{
    (void)r32(PLIC + 0x200004);
}

__attribute__((interrupt("machine"), aligned(4))) static void ignore(void)
{
}

static void storm_claim_no_complete(void)
{
    set_mtvec(claim_only);
    enable_uart_irq();
    __asm__ volatile("csrs mstatus, 8");
    for (;;)
        __asm__ volatile("wfi");
}

static void storm_pending_wfi(void)
{
    enable_uart_irq();
    for (;;)
        __asm__ volatile("wfi");
}

static void storm_taken_unacked(void)
{
    set_mtvec(ignore);
    enable_uart_irq();
    __asm__ volatile("csrs mstatus, 8");
    for (;;)
        __asm__ volatile("nop");
}

static uint16_t ip_checksum(const uint8_t *p, unsigned n)
{
    uint32_t sum = 0;
    for (unsigned i = 0; i < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Even frames: UDP 10.0.2.15:4000 -> 10.0.2.2:9; odd: broadcast ARP who-has 10.0.2.2. */
static void make_frame(uint8_t *f, int udp)
{
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    uint8_t *e = f + 12;
    for (int i = 0; i < 6; i++) {
        e[i] = udp ? (uint8_t[]){ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 }[i] : 0xff;
        e[6 + i] = mac[i];
    }
    uint8_t *p = e + 14;
    if (udp) {
        e[12] = 0x08, e[13] = 0x00;
        static const uint8_t ip[20] = { 0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0,
                                        10, 0, 2, 15, 10, 0, 2, 2 };
        for (int i = 0; i < 20; i++)
            p[i] = ip[i];
        uint16_t c = ip_checksum(p, 20);
        p[10] = c >> 8, p[11] = c & 0xff;
        static const uint8_t udph[8] = { 0x0f, 0xa0, 0, 9, 0, 30, 0, 0 };
        for (int i = 0; i < 8; i++)
            p[20 + i] = udph[i];
    } else {
        e[12] = 0x08, e[13] = 0x06;
        static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34,
                                         0x56, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
        for (int i = 0; i < 28; i++)
            p[i] = arp[i];
    }
}

static void storm_flood(void)
{
    start_devices();
    for (unsigned i = 0; i < NET_FRAMES; i++) {
        make_frame(frames[i], !(i & 1));
        net_tx->desc[i] = (struct desc){ (uintptr_t)frames[i], sizeof(frames[i]), 0, 0 };
        /* A few receive buffers, never given back: the back end's backlog fills. */
        net_rx->desc[i] = (struct desc){ (uintptr_t)rx_bufs[i], sizeof(rx_bufs[i]), DESC_WRITE, 0 };
        post(net_rx, (uint16_t)i);
        post(net_tx, (uint16_t)i);
    }
    w32(VIRTIO(SLOT_NET) + VM_NOTIFY, 0);
    for (;;) {
        w32(VIRTIO(SLOT_NET) + VM_NOTIFY, 1);
        w32(VIRTIO(SLOT_NET) + VM_NOTIFY, 0);    /* with no receive buffer left */
        fence();
        while (net_tx->last_used != *(volatile uint16_t *)&net_tx->used.idx) {
            post(net_tx, (uint16_t)net_tx->used.ring[net_tx->last_used++ % QN].id);
            count(1, 16);
        }
        w32(VIRTIO(SLOT_NET) + VM_INT_ACK, r32(VIRTIO(SLOT_NET) + VM_INT_STATUS));
    }
}

/* The letter after "storm=" in the device tree crt.S was handed (its bootargs). */
static char storm_named(const uint8_t *dtb)
{
    static const char key[] = "storm=";
    uint32_t size = (uint32_t)dtb[4] << 24 | dtb[5] << 16 | dtb[6] << 8 | dtb[7];
    for (uint32_t i = 0; i + sizeof(key) <= size; i++) {
        unsigned k = 0;
        while (k < sizeof(key) - 1 && dtb[i + k] == key[k])
            k++;
        if (k == sizeof(key) - 1)
            return (char)dtb[i + k];
    }
    return '?';
}

int main(long hartid, const uint8_t *dtb)
{
    (void)hartid;
    char which = storm_named(dtb);
    char line[] = "STORM-RUNNING ?\n";
    line[14] = which;
    uart_puts(line);
    switch (which) {
    case 'm': storm_mmio(); break;
    case 'n': storm_notify_empty(); break;
    case 'b': storm_notify_busy(); break;
    case 'r': storm_repost(); break;
    case 'c': storm_claim_no_complete(); break;
    case 'p': storm_pending_wfi(); break;
    case 't': storm_taken_unacked(); break;
    case 'f': storm_flood(); break;
    case 'o':
        for (;;)
            uart_puts("STORM-OUTPUT the quick brown fox jumps over the lazy dog\n");
    default: uart_puts("STORM-UNKNOWN\n"); break;
    }
    return 1;
}
