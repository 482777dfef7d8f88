/*
 * virtio console (virtio 1.2, 5.3) with one port, which Linux names hvc0: receiveq (0)
 * carries host console input to the guest, transmitq (1) guest output to the host
 * console; emergency writes (VIRTIO_CONSOLE_F_EMERG_WRITE) go out one byte at a time.
 * Output goes to the byte sink the board gives (the host console, or nowhere).
 */
#ifndef RACKVM_VIRTIO_CONSOLE_H
#define RACKVM_VIRTIO_CONSOLE_H

#include "devices/device.h"

struct virtio_console;

/*
 * Adds the device in slot; *out (when out is not NULL) receives the
 * device for virtio_console_receive. NULL after printing why.
 */
struct virtio_mmio *virtio_console_create(const struct device_slot *slot,
                                          const struct byte_sink *output,
                                          struct virtio_console **out);

/*
 * Puts up to n input bytes into the guest's receive buffers; returns how many it took
 * (0 when the guest has posted no buffer). Caller holds bus->lock.
 */
size_t virtio_console_receive(void *vcon, const uint8_t *buf, size_t n);

#endif
