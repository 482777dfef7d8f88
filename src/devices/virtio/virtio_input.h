/*
 * virtio-input power button (virtio 1.2, 5.8): a keyboard-type input device whose only
 * key is KEY_POWER, so the host can ask the guest to shut down (there is no ACPI on the
 * virt board). Config space answers ID_NAME, ID_DEVIDS and EV_BITS for EV_KEY; every
 * other selection reads as size 0. A press is four events on the event queue (key down,
 * SYN_REPORT, key up, SYN_REPORT); events wait in the device while the guest has posted
 * no buffers, and are forgotten at device reset. The status queue's buffers (LED and
 * similar driver writes) are returned unread.
 */
#ifndef RACKVM_VIRTIO_INPUT_H
#define RACKVM_VIRTIO_INPUT_H

#include "devices/device.h"

#define VIRTIO_INPUT_NAME "rackvm power button"

/* One press queues four events; room for a few presses the guest has not taken yet. */
#define VIRTIO_INPUT_PENDING_MAX 16

struct virtio_input_event {
    uint16_t type, code;
    uint32_t value;
};

/* What a snapshot keeps of the device (after the transport's state). */
struct virtio_input_state {
    struct virtio_input_event pending[VIRTIO_INPUT_PENDING_MAX];
    uint32_t npending;
    uint8_t select, subsel;
    uint8_t reserved[2];   /* keeps the struct free of padding */
};

struct virtio_input;

/* Adds the device in slot; *out (if not NULL) gets the device. NULL after printing why. */
struct virtio_mmio *virtio_input_create(const struct device_slot *slot, struct virtio_input **out);

/*
 * Presses and releases the power button. Call under bus->lock. Returns false (and
 * queues nothing) when no guest driver runs the device, so nobody would see it.
 */
bool virtio_input_press_power(struct virtio_input *vi);

#endif
