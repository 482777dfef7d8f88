/*
 * virtio entropy device (virtio 1.2, 5.4): one request queue whose writable buffers are
 * filled from the host's getrandom(). Requests are served at once, under bus->lock.
 */
#ifndef RACKVM_VIRTIO_RNG_H
#define RACKVM_VIRTIO_RNG_H

#include "machine/machine.h"

/* Adds the device in virtio slot `slot`. NULL after printing why. */
struct virtio_mmio *virtio_rng_create(struct machine *m, unsigned slot);

#endif
