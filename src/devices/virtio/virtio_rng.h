/*
 * virtio entropy device (virtio 1.2, 5.4): one request queue whose writable buffers are
 * filled from the host's getrandom(). Requests are served at once, under bus->lock.
 */
#ifndef RACKVM_VIRTIO_RNG_H
#define RACKVM_VIRTIO_RNG_H

#include "devices/device.h"

/* Adds the device in slot. NULL after printing why. */
struct virtio_mmio *virtio_rng_create(const struct device_slot *slot);

#endif
