/* virtio-input: a power button the host presses to ask the guest to shut down. */
#include "devices/virtio/virtio_input.h"

#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_mmio.h"

#define QUEUE_SIZE 64
#define EVENTQ 0
#define STATUSQ 1

/* struct virtio_input_config: select, subsel, size, 5 reserved bytes, a 128-byte union. */
#define CFG_SELECT 0
#define CFG_SUBSEL 1
#define CFG_SIZE_FIELD 2
#define CFG_UNION 8
#define CFG_UNION_SIZE 128
#define CFG_SIZE (CFG_UNION + CFG_UNION_SIZE)

#define VIRTIO_INPUT_CFG_ID_NAME 0x01
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_EV_BITS 0x11

/* Linux input event codes (linux/input-event-codes.h). */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define SYN_REPORT 0
#define KEY_POWER 116
#define BUS_VIRTUAL 0x06

struct virtio_input {
    struct bus *bus;
    struct virtio_mmio *vm;
    struct virtio_input_state s;
    struct virtq_req req;
};

/* Moves pending events into the guest's event buffers, oldest first, one per buffer. */
static void deliver(struct virtio_input *vi)
{
    unsigned sent = 0;
    while (sent < vi->s.npending && virtio_mmio_pop(vi->vm, EVENTQ, &vi->req)) {
        const struct virtio_input_event *e = &vi->s.pending[sent];
        uint8_t raw[8];
        memcpy(raw, &e->type, 2);
        memcpy(raw + 2, &e->code, 2);
        memcpy(raw + 4, &e->value, 4);
        size_t len = virtq_copy_to_req(&vi->bus->ram, &vi->req, 0, raw, sizeof(raw));
        virtq_push(virtio_mmio_queue(vi->vm, EVENTQ), vi->req.head, (uint32_t)len);
        sent++;
    }
    if (!sent)
        return;
    memmove(vi->s.pending, vi->s.pending + sent, (vi->s.npending - sent) * sizeof(vi->s.pending[0]));
    vi->s.npending -= sent;
    virtio_mmio_used(vi->vm, EVENTQ);
}

/* The driver's LED/feedback writes: nothing to act on, so each buffer goes straight back. */
static void drain_status(struct virtio_input *vi)
{
    bool pushed = false;
    while (virtio_mmio_pop(vi->vm, STATUSQ, &vi->req)) {
        virtq_push(virtio_mmio_queue(vi->vm, STATUSQ), vi->req.head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(vi->vm, STATUSQ);
}

bool virtio_input_press_power(struct virtio_input *vi)
{
    if (!virtio_mmio_queue(vi->vm, EVENTQ))
        return false;
    static const struct virtio_input_event press[] = {
        { EV_KEY, KEY_POWER, 1 }, { EV_SYN, SYN_REPORT, 0 },
        { EV_KEY, KEY_POWER, 0 }, { EV_SYN, SYN_REPORT, 0 },
    };
    if (vi->s.npending + ARRAY_SIZE(press) <= VIRTIO_INPUT_PENDING_MAX) {
        memcpy(vi->s.pending + vi->s.npending, press, sizeof(press));
        vi->s.npending += ARRAY_SIZE(press);
    }
    deliver(vi);
    return true;
}

static void input_queue_notify(void *dev, unsigned q)
{
    if (q == EVENTQ)
        deliver(dev);
    else
        drain_status(dev);
}

/* Fills the union for the current selection; returns its size (0: nothing there). */
static uint8_t config_payload(const struct virtio_input *vi, uint8_t *u)
{
    switch (vi->s.select) {
    case VIRTIO_INPUT_CFG_ID_NAME:
        memcpy(u, VIRTIO_INPUT_NAME, sizeof(VIRTIO_INPUT_NAME) - 1);
        return sizeof(VIRTIO_INPUT_NAME) - 1;
    case VIRTIO_INPUT_CFG_ID_DEVIDS: {
        /* struct virtio_input_devids: bustype, vendor, product, version (le16 each). */
        uint16_t ids[4] = { BUS_VIRTUAL, 0, 0, 1 };
        memcpy(u, ids, sizeof(ids));
        return sizeof(ids);
    }
    case VIRTIO_INPUT_CFG_EV_BITS:
        if (vi->s.subsel != EV_KEY)
            return 0;
        u[KEY_POWER / 8] = 1u << (KEY_POWER % 8);
        return KEY_POWER / 8 + 1;
    default:
        return 0;
    }
}

static void input_config_read(void *dev, uint8_t *config)
{
    struct virtio_input *vi = dev;
    config[CFG_SELECT] = vi->s.select;
    config[CFG_SUBSEL] = vi->s.subsel;
    config[CFG_SIZE_FIELD] = config_payload(vi, config + CFG_UNION);
}

/* Only select and subsel are the driver's to write (5.8.5). */
static void input_config_write(void *dev, uint32_t offset, uint64_t value, unsigned size)
{
    struct virtio_input *vi = dev;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (offset + i == CFG_SELECT)
            vi->s.select = b;
        else if (offset + i == CFG_SUBSEL)
            vi->s.subsel = b;
    }
}

static void input_reset(void *dev)
{
    struct virtio_input *vi = dev;
    vi->s = (struct virtio_input_state){ 0 };   /* no stale events for a snapshot to keep */
}

/* Both queues return every chain they pop before unlocking, so nothing is held. */
static void input_queue_reset(void *dev, unsigned q)
{
    (void)dev;
    (void)q;
}

static void input_save(void *dev, void *state)
{
    struct virtio_input *vi = dev;
    memcpy(state, &vi->s, sizeof(vi->s));
}

static bool input_load(void *dev, const void *state)
{
    struct virtio_input *vi = dev;
    struct virtio_input_state s;
    memcpy(&s, state, sizeof(s));
    if (s.npending > VIRTIO_INPUT_PENDING_MAX || s.reserved[0] || s.reserved[1])
        return false;
    vi->s = s;
    return true;
}

static void input_destroy(void *dev)
{
    free(dev);
}

static const struct virtio_device_ops input_ops = {
    .device_id = VIRTIO_ID_INPUT,
    .num_queues = 2,
    .queue_size = QUEUE_SIZE,
    .config_size = CFG_SIZE,
    .config_read = input_config_read,
    .config_write = input_config_write,
    .queue_notify = input_queue_notify,
    .reset = input_reset,
    .queue_reset = input_queue_reset,
    .destroy = input_destroy,
    .state_size = sizeof(struct virtio_input_state),
    .save = input_save,
    .load = input_load,
};

struct virtio_mmio *virtio_input_create(const struct device_slot *slot, struct virtio_input **out)
{
    struct virtio_input *vi = calloc(1, sizeof(*vi));
    if (!vi) {
        rvm_error("out of memory");
        return NULL;
    }
    vi->bus = slot->bus;
    vi->vm = virtio_mmio_create(slot, &input_ops, vi);
    if (!vi->vm) {
        free(vi);
        return NULL;
    }
    if (out)
        *out = vi;
    return vi->vm;
}
