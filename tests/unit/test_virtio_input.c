/*
 * The virtio-input power button through the virtio-mmio registers: device id, the config
 * space a Linux driver reads (name, device ids, EV_KEY bitmap with only KEY_POWER, empty
 * answers elsewhere), a press refused before DRIVER_OK, a press delivered as four events
 * (key down, SYN, key up, SYN) with an interrupt, events waiting for buffers posted
 * later, status-queue buffers returned, and pending events forgotten at device reset.
 */
#include <string.h>

#include "devices/virtio/virtio_input.h"
#include "devices/virtio/virtio_mmio.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

enum { DEVICE_ID = 0x008, DRV_FEATURES = 0x020, DRV_FEATURES_SEL = 0x024, QUEUE_SEL = 0x030,
       QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INT_STATUS = 0x060,
       INT_ACK = 0x064, STATUS = 0x070, DESC_LO = 0x080, DRIVER_LO = 0x090, DEVICE_LO = 0x0a0,
       CONFIG = 0x100 };

#define QSIZE 8
#define DESC(q) (VIRT_DRAM_BASE + 0x10000 * (q))
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q) (DESC(q) + 0x2000)
#define EVENTS (VIRT_DRAM_BASE + 0x100000)   /* 8-byte event buffer i at EVENTS + 8 * i */
#define STATUS_BUF (VIRT_DRAM_BASE + 0x200000)

static struct machine *m;
static struct virtio_input *button;
static uint16_t avail_idx[2];

static uint64_t rd(unsigned reg, unsigned size)
{
    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, VIRT_VIRTIO_BASE + reg, size, &v));
    return v;
}

static void wr(unsigned reg, unsigned size, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_VIRTIO_BASE + reg, size, v));
}

static uint8_t *g(uint64_t gpa)
{
    return guest_ram_ptr(&m->bus.ram, gpa, 1);
}

static uint16_t used_idx(unsigned q)
{
    uint16_t v;
    memcpy(&v, g(USED(q)) + 2, 2);
    return v;
}

/* Descriptor i of queue q: one buffer, device-writable when writable. */
static void post_buffer(unsigned q, uint16_t i, uint64_t addr, uint32_t len, bool writable)
{
    uint8_t *d = g(DESC(q) + 16 * i);
    uint16_t flags = writable ? VIRTQ_DESC_F_WRITE : 0, next = 0;
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
    uint8_t *avail = g(AVAIL(q));
    memcpy(avail + 4 + 2 * (avail_idx[q] % QSIZE), &i, 2);
    avail_idx[q]++;
    memcpy(avail + 2, &avail_idx[q], 2);
    wr(QUEUE_NOTIFY, 4, q);
}

static bool press(void)
{
    pthread_mutex_lock(&m->bus.lock);
    bool seen = virtio_input_press_power(button);
    pthread_mutex_unlock(&m->bus.lock);
    return seen;
}

/* Selects (select, subsel) and returns the size the device reports. */
static unsigned config_select(uint8_t select, uint8_t subsel)
{
    wr(CONFIG + 0, 1, select);
    wr(CONFIG + 1, 1, subsel);
    return (unsigned)rd(CONFIG + 2, 1);
}

static void test_config_space(void)
{
    CHECK_EQ_U64(rd(DEVICE_ID, 4), VIRTIO_ID_INPUT);
    unsigned n = config_select(0x01, 0);   /* ID_NAME */
    CHECK_EQ_U64(n, strlen(VIRTIO_INPUT_NAME));
    char name[64] = { 0 };
    for (unsigned i = 0; i < n && i < sizeof(name) - 1; i++)
        name[i] = (char)rd(CONFIG + 8 + i, 1);
    CHECK(!strcmp(name, VIRTIO_INPUT_NAME));
    CHECK_EQ_U64(config_select(0x03, 0), 8);   /* ID_DEVIDS */
    CHECK_EQ_U64(rd(CONFIG + 8, 2), 0x06);     /* BUS_VIRTUAL */
    CHECK_EQ_U64(config_select(0x11, 1), 15);  /* EV_BITS, EV_KEY: up to KEY_POWER's byte */
    for (unsigned i = 0; i < 15; i++)
        CHECK_EQ_U64(rd(CONFIG + 8 + i, 1), i == 116 / 8 ? 1u << (116 % 8) : 0);
    CHECK_EQ_U64(config_select(0x11, 2), 0);   /* EV_REL: none */
    CHECK_EQ_U64(config_select(0x12, 0), 0);   /* ABS_INFO: none */
    CHECK_EQ_U64(config_select(0x10, 0), 0);   /* PROP_BITS: none */
    CHECK_EQ_U64(config_select(0x02, 0), 0);   /* ID_SERIAL: none */
    CHECK_EQ_U64(config_select(0x00, 0), 0);   /* UNSET */
}

static void bring_up(void)
{
    wr(STATUS, 4, 0);
    avail_idx[0] = avail_idx[1] = 0;
    wr(STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(DRV_FEATURES_SEL, 4, 1);
    wr(DRV_FEATURES, 4, 1);   /* VERSION_1 */
    wr(STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < 2; q++) {
        memset(g(DESC(q)), 0, 0x3000);
        wr(QUEUE_SEL, 4, q);
        wr(QUEUE_NUM, 4, QSIZE);
        wr(DESC_LO, 4, (uint32_t)DESC(q));
        wr(DRIVER_LO, 4, (uint32_t)AVAIL(q));
        wr(DEVICE_LO, 4, (uint32_t)USED(q));
        wr(QUEUE_READY, 4, 1);
    }
    wr(STATUS, 4, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                      VIRTIO_STATUS_DRIVER_OK);
    CHECK(rd(STATUS, 4) & VIRTIO_STATUS_DRIVER_OK);
}

/* Event buffer i as (type, code, value). */
static void check_event(unsigned i, uint16_t type, uint16_t code, uint32_t value)
{
    uint16_t t, c;
    uint32_t v;
    memcpy(&t, g(EVENTS + 8 * i), 2);
    memcpy(&c, g(EVENTS + 8 * i + 2), 2);
    memcpy(&v, g(EVENTS + 8 * i + 4), 4);
    CHECK_EQ_U64(t, type);
    CHECK_EQ_U64(c, code);
    CHECK_EQ_U64(v, value);
}

static void test_press(void)
{
    CHECK(!press());   /* no driver yet: nobody would see it */
    bring_up();
    memset(g(EVENTS), 0xa5, 0x100);
    for (uint16_t i = 0; i < 2; i++)
        post_buffer(0, i, EVENTS + 8 * i, 8, true);
    CHECK_EQ_U64(used_idx(0), 0);
    wr(INT_ACK, 4, rd(INT_STATUS, 4));
    CHECK(press());
    CHECK_EQ_U64(used_idx(0), 2);   /* two buffers: the first two events now */
    CHECK(rd(INT_STATUS, 4) & 1);
    check_event(0, 1, 116, 1);
    check_event(1, 0, 0, 0);
    for (uint16_t i = 2; i < 6; i++)
        post_buffer(0, i, EVENTS + 8 * i, 8, true);
    CHECK_EQ_U64(used_idx(0), 4);   /* the rest as soon as buffers come */
    check_event(2, 1, 116, 0);
    check_event(3, 0, 0, 0);
    CHECK_EQ_U64(g(EVENTS + 8 * 4)[0], 0xa5);   /* nothing more */

    post_buffer(1, 0, STATUS_BUF, 8, false);   /* an LED write: returned, not acted on */
    CHECK_EQ_U64(used_idx(1), 1);
}

static void test_reset_forgets_pending_events(void)
{
    CHECK(press());   /* buffers 4 and 5 take two events; two wait */
    CHECK_EQ_U64(used_idx(0), 6);
    bring_up();       /* device reset on the way */
    memset(g(EVENTS), 0xa5, 0x100);
    post_buffer(0, 0, EVENTS, 8, true);
    CHECK_EQ_U64(used_idx(0), 0);
    CHECK_EQ_U64(g(EVENTS)[0], 0xa5);
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16ULL << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    struct device_slot slot = machine_device_slot(m, VIRT_VIRTIO, 0);
    CHECK(virtio_input_create(&slot, &button) != NULL);
    test_config_space();
    test_press();
    test_reset_forgets_pending_events();
    machine_destroy(m);
    UNIT_DONE();
}
