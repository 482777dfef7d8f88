/*
 * Save, load and reset of every device and hart: a board driven into a busy state
 * (PLIC sources pending and claimed, UART FIFO holding input, an armed RTC alarm, a
 * software interrupt, a virtio power button with events waiting and a queue part used)
 * is saved, loaded into a second board with a copy of its RAM, and saved again: the bytes
 * are identical and the second board goes on where the first stopped. Reset gives the
 * bytes of a board just made. Impossible states are refused. Through snapshot files: a
 * busy board written, restored into a board mapping its memory file, and written again
 * gives the same sections but the time section and the same memory file; a disk of
 * another size is refused.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "devices/clint.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "devices/uart16550.h"
#include "devices/virtio/virtio_input.h"
#include "devices/virtio/virtio_mmio.h"
#include "machine/machine.h"
#include "machine/snapshot.h"
#include "machine/virt.h"
#include "unit.h"

#define NHARTS 2
#define DISK_SLOT 0
#define INPUT_SLOT 2   /* disk, rng, then the power button */
#define VIRTIO_STATE_MAX 4096

enum { QUEUE_SEL = 0x030, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
       DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024, INT_STATUS = 0x060, STATUS = 0x070,
       DESC_LO = 0x080, DRIVER_LO = 0x090, DEVICE_LO = 0x0a0, CONFIG = 0x100 };

#define QSIZE 8
#define DESC (VIRT_DRAM_BASE + 0x10000)
#define AVAIL (DESC + 0x1000)
#define USED (DESC + 0x2000)
#define EVENTS (VIRT_DRAM_BASE + 0x100000)

/* Everything a snapshot of these boards holds, in one comparable block. */
struct board_state {
    struct hart_state harts[NHARTS];
    struct clint_state clint;
    struct plic_state plic;
    struct uart_state uart;
    struct goldfish_rtc_state rtc;
    size_t virtio_len[3];
    uint8_t virtio[3][VIRTIO_STATE_MAX];
};

static char disk_path[] = "/tmp/rackvm-state-XXXXXX";

static struct machine *make_board_from(const char *memory_file)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = NHARTS, .ndisks = 1,
                                  .rng = true, .power_button = true, .memory_file = memory_file };
    cfg.disks[0] = (struct disk_config){ .path = disk_path };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (m)
        CHECK_EQ_U64(m->nvirtio, 3);
    return m;
}

static struct machine *make_board(void)
{
    return make_board_from(NULL);
}

static void wr(struct machine *m, uint64_t pa, unsigned size, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, pa, size, v));
}

static uint64_t rd(struct machine *m, uint64_t pa, unsigned size)
{
    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, pa, size, &v));
    return v;
}

static uint64_t input_reg(unsigned reg)
{
    return VIRT_VIRTIO_BASE + INPUT_SLOT * VIRT_VIRTIO_SIZE + reg;
}

static uint8_t *ram(struct machine *m, uint64_t gpa)
{
    return guest_ram_ptr(&m->bus.ram, gpa, 1);
}

/* Posts event buffer i (8 bytes) on the power button's event queue and notifies. */
static void post_event_buffer(struct machine *m, uint16_t i)
{
    uint64_t addr = EVENTS + 8 * i;
    uint32_t len = 8;
    uint16_t flags = VIRTQ_DESC_F_WRITE, next = 0, idx;
    uint8_t *d = ram(m, DESC + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    memcpy(&idx, ram(m, AVAIL) + 2, 2);
    memcpy(ram(m, AVAIL) + 4 + 2 * (idx % QSIZE), &i, 2);
    idx++;
    memcpy(ram(m, AVAIL) + 2, &idx, 2);
    wr(m, input_reg(QUEUE_NOTIFY), 4, 0);
}

static uint16_t used_idx(struct machine *m)
{
    uint16_t v;
    memcpy(&v, ram(m, USED) + 2, 2);
    return v;
}

/* Drives every device away from its power-on state. */
static void make_busy(struct machine *m)
{
    wr(m, VIRT_CLINT_BASE + 4, 4, 1);                        /* msip of hart 1 */
    wr(m, VIRT_PLIC_BASE + 4 * 5, 4, 3);                      /* priority of source 5 */
    wr(m, VIRT_PLIC_BASE + 4 * VIRT_IRQ_UART0, 4, 6);
    wr(m, VIRT_PLIC_BASE + 0x2000 + 0x80, 4, 1u << 5 | 1u << VIRT_IRQ_UART0); /* context 1 */
    wr(m, VIRT_PLIC_BASE + 0x200000 + 0x1000, 4, 2);          /* threshold of context 1 */
    pthread_mutex_lock(&m->bus.lock);
    plic_set_irq(m->plic, 5, true);
    pthread_mutex_unlock(&m->bus.lock);

    wr(m, VIRT_UART0_BASE + 3, 1, 0x03);                      /* LCR: 8N1 */
    wr(m, VIRT_UART0_BASE + 7, 1, 0x5a);                      /* SCR */
    wr(m, VIRT_UART0_BASE + 2, 1, 0xc1);                      /* FIFOs on, trigger 14 */
    wr(m, VIRT_UART0_BASE + 1, 1, 0x05);                      /* IER: RDI, RLSI */
    pthread_mutex_lock(&m->bus.lock);
    CHECK_EQ_U64(uart_receive(m->uart, (const uint8_t *)"hi", 2), 2);
    pthread_mutex_unlock(&m->bus.lock);
    CHECK_EQ_U64(rd(m, VIRT_PLIC_BASE + 0x200000 + 0x1000 + 4, 4), VIRT_IRQ_UART0); /* claim */

    wr(m, VIRT_RTC_BASE + 0x0c, 4, 0x7fffffff);               /* an alarm far ahead */
    wr(m, VIRT_RTC_BASE + 0x08, 4, 0);
    wr(m, VIRT_RTC_BASE + 0x10, 4, 1);

    wr(m, input_reg(STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(m, input_reg(DRV_FEATURES_SEL), 4, 1);
    wr(m, input_reg(DRV_FEATURES), 4, 1);                     /* VERSION_1 */
    wr(m, input_reg(STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                    VIRTIO_STATUS_FEATURES_OK);
    memset(ram(m, DESC), 0, 0x3000);
    wr(m, input_reg(QUEUE_SEL), 4, 0);
    wr(m, input_reg(QUEUE_NUM), 4, QSIZE);
    wr(m, input_reg(DESC_LO), 4, (uint32_t)DESC);
    wr(m, input_reg(DRIVER_LO), 4, (uint32_t)AVAIL);
    wr(m, input_reg(DEVICE_LO), 4, (uint32_t)USED);
    wr(m, input_reg(QUEUE_READY), 4, 1);
    wr(m, input_reg(STATUS), 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    wr(m, input_reg(CONFIG), 1, 0x11);                        /* select EV_BITS */
    CHECK(machine_press_power_button(m));                     /* 4 events wait */
    post_event_buffer(m, 0);                                  /* one of them delivered */
    CHECK_EQ_U64(used_idx(m), 1);

    for (unsigned i = 0; i < NHARTS; i++) {
        struct hart_state s = m->harts[i]->arch;
        s.pc = 0x80001000 + i;
        s.x[5] = 0x1234 + i;
        s.f[3] = 0xffffffff3f800000ULL;
        s.priv = PRIV_S;
        s.satp = 0;
        s.stimecmp = 99;
        s.reservation = VIRT_DRAM_BASE + 0x40;
        s.reservation_value = 7;
        hart_load_state(m->harts[i], &s);
    }
}

static void save_board(struct machine *m, struct board_state *b)
{
    memset(b, 0, sizeof(*b));
    for (unsigned i = 0; i < NHARTS; i++)
        b->harts[i] = m->harts[i]->arch;
    pthread_mutex_lock(&m->bus.lock);
    clint_save(m->clint, &b->clint);
    plic_save(m->plic, &b->plic);
    uart_save(m->uart, &b->uart);
    goldfish_rtc_save(m->rtc, &b->rtc);
    for (unsigned i = 0; i < m->nvirtio; i++) {
        b->virtio_len[i] = virtio_mmio_state_size(m->virtio[i]);
        CHECK(b->virtio_len[i] <= VIRTIO_STATE_MAX);
        virtio_mmio_save(m->virtio[i], b->virtio[i]);
    }
    pthread_mutex_unlock(&m->bus.lock);
}

static void load_board(struct machine *m, const struct board_state *b)
{
    for (unsigned i = 0; i < NHARTS; i++)
        hart_load_state(m->harts[i], &b->harts[i]);
    pthread_mutex_lock(&m->bus.lock);
    CHECK(clint_load(m->clint, &b->clint) == 0);
    CHECK(plic_load(m->plic, &b->plic) == 0);
    CHECK(uart_load(m->uart, &b->uart) == 0);
    CHECK(goldfish_rtc_load(m->rtc, &b->rtc) == 0);
    for (unsigned i = 0; i < m->nvirtio; i++)
        CHECK(virtio_mmio_load(m->virtio[i], b->virtio[i], b->virtio_len[i]) == 0);
    pthread_mutex_unlock(&m->bus.lock);
}

static void reset_board(struct machine *m)
{
    for (unsigned i = 0; i < NHARTS; i++)
        hart_reset(m->harts[i], 0);
    pthread_mutex_lock(&m->bus.lock);
    clint_reset(m->clint);
    plic_reset(m->plic);
    uart_reset(m->uart);
    goldfish_rtc_reset(m->rtc);
    for (unsigned i = 0; i < m->nvirtio; i++)
        virtio_mmio_reset(m->virtio[i]);
    pthread_mutex_unlock(&m->bus.lock);
}

static bool same(const struct board_state *a, const struct board_state *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static void test_round_trip(struct machine *m1, struct machine *m2)
{
    static struct board_state first, second;
    make_busy(m1);
    save_board(m1, &first);
    memcpy(m2->bus.ram.host, m1->bus.ram.host, m1->bus.ram.size);
    load_board(m2, &first);
    save_board(m2, &second);
    CHECK(same(&first, &second));

    /* The second board goes on where the first stopped. */
    CHECK(atomic_load(&m2->harts[1]->arch.mip) & MIP_MSIP);
    CHECK(!(atomic_load(&m2->harts[0]->arch.mip) & MIP_MSIP));
    CHECK(atomic_load(&m2->harts[0]->arch.mip) & MIP_SEIP);   /* source 5 pending, context 1 */
    CHECK_EQ_U64(rd(m2, VIRT_UART0_BASE + 7, 1), 0x5a);
    CHECK_EQ_U64(rd(m2, VIRT_UART0_BASE + 0, 1), 'h');
    CHECK_EQ_U64(rd(m2, VIRT_UART0_BASE + 0, 1), 'i');
    CHECK_EQ_U64(rd(m2, VIRT_RTC_BASE + 0x18, 4), 1);        /* alarm still armed */
    CHECK_EQ_U64(rd(m2, input_reg(INT_STATUS), 4), 1);
    CHECK_EQ_U64(rd(m2, input_reg(CONFIG), 1), 0x11);
    post_event_buffer(m2, 1);                                  /* the second waiting event */
    CHECK_EQ_U64(used_idx(m2), 2);
    uint16_t type;
    memcpy(&type, ram(m2, EVENTS + 8), 2);
    CHECK_EQ_U64(type, 0);                                     /* SYN after the key down */
    CHECK_EQ_U64(m2->harts[1]->arch.x[5], 0x1235);
}

static void test_reset_is_power_on(struct machine *used)
{
    static struct board_state reset, fresh;
    struct machine *m = make_board();
    if (!m)
        return;
    reset_board(m);   /* the harts' reset pc as the used board's */
    save_board(m, &fresh);
    reset_board(used);
    save_board(used, &reset);
    CHECK(same(&reset, &fresh));
    CHECK(!(atomic_load(&used->harts[1]->arch.mip) & (MIP_MSIP | MIP_SEIP | MIP_MEIP)));
    CHECK(!(atomic_load(&used->harts[0]->arch.mip) & (MIP_MSIP | MIP_SEIP | MIP_MEIP)));
    machine_destroy(m);
}

static void test_impossible_states_are_refused(struct machine *m)
{
    static struct board_state b;
    save_board(m, &b);
    pthread_mutex_lock(&m->bus.lock);
    struct uart_state u = b.uart;
    u.rx_count = UART_RX_FIFO_SIZE + 1;
    CHECK(uart_load(m->uart, &u) < 0);
    struct plic_state p = b.plic;
    p.priority[3] = 8;
    CHECK(plic_load(m->plic, &p) < 0);
    struct clint_state c = { .msip = 1u << NHARTS };
    CHECK(clint_load(m->clint, &c) < 0);
    struct goldfish_rtc_state r = b.rtc;
    r.irq_pending = 2;
    CHECK(goldfish_rtc_load(m->rtc, &r) < 0);
    /* Short, another device type's, and a ring outside RAM. */
    CHECK(virtio_mmio_load(m->virtio[INPUT_SLOT], b.virtio[INPUT_SLOT], b.virtio_len[INPUT_SLOT] - 1) < 0);
    CHECK(virtio_mmio_load(m->virtio[DISK_SLOT], b.virtio[INPUT_SLOT], b.virtio_len[DISK_SLOT]) < 0);
    struct virtio_mmio_state vs;
    memcpy(&vs, b.virtio[INPUT_SLOT], sizeof(vs));
    vs.queues[0].enabled = 1;
    vs.queues[0].desc_addr = 0x1000;
    uint8_t bad[VIRTIO_STATE_MAX];
    memcpy(bad, b.virtio[INPUT_SLOT], b.virtio_len[INPUT_SLOT]);
    memcpy(bad, &vs, sizeof(vs));
    CHECK(virtio_mmio_load(m->virtio[INPUT_SLOT], bad, b.virtio_len[INPUT_SLOT]) < 0);
    pthread_mutex_unlock(&m->bus.lock);
    CHECK_EQ_U64(rd(m, input_reg(STATUS), 4), 0);   /* a refused load leaves the device reset */
}

static uint8_t *slurp(const char *path, size_t *len)
{
    static uint8_t buf[1 << 16];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
    if (fd >= 0)
        close(fd);
    CHECK(n > 0 && (size_t)n < sizeof(buf));
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

/* The state file's sections from the end of its 32-byte header to its crc, with the
 * time section's 16-byte payload zeroed. */
static size_t sections_without_time(const char *path, uint8_t *out, size_t cap)
{
    size_t len;
    const uint8_t *buf = slurp(path, &len);
    if (len < 36 || len - 36 > cap)
        return 0;
    memcpy(out, buf + 32, len - 36);
    size_t off = 0;
    while (off + 16 <= len - 36) {
        uint32_t length;
        memcpy(&length, out + off + 12, 4);
        if (!memcmp(out + off, "time\0\0\0\0", 8))
            memset(out + off + 16, 0, length);
        off += 16 + length;
    }
    return len - 36;
}

static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void test_snapshot_restore_snapshot(struct machine *busy)
{
    char dir[] = "/tmp/rackvm-snap-XXXXXX", first[64], second[64], path_a[96], path_b[96];
    char err[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(first, sizeof(first), "%s/a", dir);
    snprintf(second, sizeof(second), "%s/b", dir);
    CHECK(snapshot_write(busy, first, NULL, err, sizeof(err)) == 0);

    struct snapshot *s = snapshot_open(first, err, sizeof(err));
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_EQ_U64(snapshot_nharts(s), NHARTS);
    struct machine *m = make_board_from(snapshot_memory_path(s));
    if (m) {
        CHECK(snapshot_restore(m, s, err, sizeof(err)) == 0);
        CHECK(snapshot_write(m, second, NULL, err, sizeof(err)) == 0);
        CHECK_EQ_U64(rd(m, VIRT_UART0_BASE + 7, 1), 0x5a);
        machine_destroy(m);
    }
    static uint8_t a[1 << 16], b[1 << 16];
    snprintf(path_a, sizeof(path_a), "%s/state", first);
    snprintf(path_b, sizeof(path_b), "%s/state", second);
    size_t na = sections_without_time(path_a, a, sizeof(a));
    size_t nb = sections_without_time(path_b, b, sizeof(b));
    CHECK(na > 0 && na == nb && memcmp(a, b, na) == 0);
    snprintf(path_a, sizeof(path_a), "%s/memory", first);
    snprintf(path_b, sizeof(path_b), "%s/memory", second);
    CHECK(same_file(path_a, path_b));

    /* The disk grew: the snapshot is refused, naming the disk. */
    CHECK(truncate(disk_path, 2 << 20) == 0);
    m = make_board_from(snapshot_memory_path(s));
    if (m) {
        err[0] = '\0';
        CHECK(snapshot_restore(m, s, err, sizeof(err)) < 0);
        CHECK(strstr(err, disk_path) != NULL);
        machine_destroy(m);
    }
    CHECK(truncate(disk_path, 1 << 20) == 0);
    snapshot_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    int fd = mkstemp(disk_path);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    struct machine *m1 = make_board(), *m2 = make_board();
    if (m1 && m2) {
        test_round_trip(m1, m2);
        test_snapshot_restore_snapshot(m1);
        test_reset_is_power_on(m1);
        test_impossible_states_are_refused(m2);
    }
    machine_destroy(m1);
    machine_destroy(m2);
    unlink(disk_path);
    UNIT_DONE();
}
