/* virtio-rng: host entropy into the guest's buffers. */
#include "devices/virtio/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "devices/virtio/virtio_mmio.h"

#define QUEUE_SIZE 64
#define CHUNK 256

struct virtio_rng {
    struct bus *bus;
    struct virtio_mmio *vm;
    struct virtq_req req;
};

/* Fills len bytes at p; false when the host has no entropy to give right now. */
static bool fill_random(uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = getrandom(p, len < CHUNK ? len : CHUNK, GRND_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void rng_queue_notify(void *dev, unsigned qi)
{
    struct virtio_rng *rng = dev;
    struct guest_ram *ram = &rng->bus->ram;
    bool pushed = false;
    while (virtio_mmio_pop(rng->vm, qi, &rng->req)) {
        uint32_t written = 0;
        for (unsigned i = rng->req.nout; i < rng->req.nout + rng->req.nin; i++) {
            struct iovec *iov = &rng->req.iov[i];
            if (!fill_random(iov->iov_base, iov->iov_len))
                break;
            virtq_note_written(ram, iov->iov_base, iov->iov_len);
            written += (uint32_t)iov->iov_len;
        }
        virtq_push(virtio_mmio_queue(rng->vm, qi), rng->req.head, written);
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(rng->vm, qi);
}

static void rng_config_read(void *dev, uint8_t *config)
{
    (void)dev;
    (void)config;
}

static void rng_reset(void *dev)
{
    (void)dev;
}

/* Each notify fills and returns every chain it pops, so nothing of the queue is held. */
static void rng_queue_reset(void *dev, unsigned q)
{
    (void)dev;
    (void)q;
}

static void rng_destroy(void *dev)
{
    free(dev);
}

static const struct virtio_device_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_size = QUEUE_SIZE,
    .config_read = rng_config_read,
    .queue_notify = rng_queue_notify,
    .reset = rng_reset,
    .queue_reset = rng_queue_reset,
    .destroy = rng_destroy,
};

struct virtio_mmio *virtio_rng_create(const struct device_slot *slot)
{
    struct virtio_rng *rng = calloc(1, sizeof(*rng));
    if (!rng) {
        rvm_error("out of memory");
        return NULL;
    }
    rng->bus = slot->bus;
    rng->vm = virtio_mmio_create(slot, &rng_ops, rng);
    if (!rng->vm) {
        free(rng);
        return NULL;
    }
    return rng->vm;
}
