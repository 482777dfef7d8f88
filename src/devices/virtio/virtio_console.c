/* virtio-console, single port: host console bytes in and out through two queues. */
#include "devices/virtio/virtio_console.h"

#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_mmio.h"

#define QUEUE_SIZE 64
#define RECEIVEQ 0
#define TRANSMITQ 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define CFG_COLS 0
#define CFG_ROWS 2
#define CFG_EMERG_WR 8
#define CFG_SIZE 12
#define COPY_CHUNK 512

struct virtio_console {
    struct bus *bus;
    struct byte_sink output;
    struct virtio_mmio *vm;
    struct virtq_req req;
};

static void output(struct virtio_console *vc, const uint8_t *buf, size_t n)
{
    byte_sink_write(&vc->output, buf, n);
}

static void transmit(struct virtio_console *vc)
{
    bool pushed = false;
    while (virtio_mmio_pop(vc->vm, TRANSMITQ, &vc->req)) {
        for (unsigned i = 0; i < vc->req.nout; i++)
            output(vc, vc->req.iov[i].iov_base, vc->req.iov[i].iov_len);
        virtq_push(virtio_mmio_queue(vc->vm, TRANSMITQ), vc->req.head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(vc->vm, TRANSMITQ);
}

size_t virtio_console_receive(void *vcon, const uint8_t *buf, size_t n)
{
    struct virtio_console *vc = vcon;
    size_t taken = 0;
    while (taken < n && virtio_mmio_pop(vc->vm, RECEIVEQ, &vc->req)) {
        size_t len = virtq_copy_to_req(&vc->bus->ram, &vc->req, 0, buf + taken, n - taken);
        virtq_push(virtio_mmio_queue(vc->vm, RECEIVEQ), vc->req.head, (uint32_t)len);
        taken += len;
    }
    if (taken)
        virtio_mmio_used(vc->vm, RECEIVEQ);
    return taken;
}

static void console_queue_notify(void *dev, unsigned qi)
{
    /* Receive buffers are filled when input arrives; only output needs work now. */
    if (qi == TRANSMITQ)
        transmit(dev);
}

static void console_config_read(void *dev, uint8_t *config)
{
    (void)dev;
    uint16_t cols = 80, rows = 25;
    memcpy(config + CFG_COLS, &cols, 2);
    memcpy(config + CFG_ROWS, &rows, 2);
}

static void console_config_write(void *dev, uint32_t offset, uint64_t value, unsigned size)
{
    if (offset == CFG_EMERG_WR && size == 4) {
        uint8_t c = (uint8_t)value;
        output(dev, &c, 1);
    }
}

static void console_reset(void *dev)
{
    (void)dev;
}

/* Both directions return every chain they pop before unlocking, so nothing is held. */
static void console_queue_reset(void *dev, unsigned q)
{
    (void)dev;
    (void)q;
}

static void console_destroy_dev(void *dev)
{
    free(dev);
}

static const struct virtio_device_ops console_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .num_queues = 2,
    .queue_size = QUEUE_SIZE,
    .features = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE,
    .config_size = CFG_SIZE,
    .config_read = console_config_read,
    .config_write = console_config_write,
    .queue_notify = console_queue_notify,
    .reset = console_reset,
    .queue_reset = console_queue_reset,
    .destroy = console_destroy_dev,
};

struct virtio_mmio *virtio_console_create(const struct device_slot *slot,
                                          const struct byte_sink *output,
                                          struct virtio_console **out)
{
    struct virtio_console *vc = calloc(1, sizeof(*vc));
    if (!vc) {
        rvm_error("out of memory");
        return NULL;
    }
    vc->bus = slot->bus;
    vc->output = *output;
    vc->vm = virtio_mmio_create(slot, &console_ops, vc);
    if (!vc->vm) {
        free(vc);
        return NULL;
    }
    if (out)
        *out = vc;
    return vc->vm;
}
