/*
 * virtio-mmio transport, version 2 only (virtio 1.2, 4.2.2), in a slot the board gives
 * (its MMIO window and interrupt line).
 *
 * A device type supplies a virtio_device_ops table and its state; the transport owns
 * feature negotiation (VIRTIO_F_VERSION_1 mandatory; indirect descriptors, event index
 * and queue reset offered for every device), the device-status state machine, the queues
 * and the interrupt line (level = InterruptStatus != 0). FEATURES_OK is refused when the driver
 * picked a feature that was not offered or left out VERSION_1. A driver error found in
 * a queue (see virtqueue.h) or a fatal device error sets DEVICE_NEEDS_RESET with a
 * configuration-change interrupt; the device's queues then stay silent until reset.
 *
 * Queue reset (VIRTIO_F_RING_RESET, 2.6.1): once the feature is negotiated, writing 1
 * to QueueReset takes the selected queue away from the device (ops->queue_reset must
 * return only when the device holds nothing of that queue and will not touch its guest
 * memory again), then returns the queue's registers to their reset values: QueueReady 0,
 * ring addresses 0, QueueNum = QueueNumMax. QueueReset reads 1 while that is under way;
 * the queue's registers ignore writes until it is done. Without the feature, writes to
 * QueueReset are ignored.
 *
 * Every function here and every ops callback except create/destroy runs under
 * bus->lock. A device with host threads of its own takes bus->lock before calling in.
 */
#ifndef RACKVM_VIRTIO_MMIO_H
#define RACKVM_VIRTIO_MMIO_H

#include "common.h"
#include "devices/device.h"
#include "devices/virtio/virtqueue.h"

#define VIRTIO_MMIO_COMPATIBLE "virtio,mmio"

struct virtio_mmio;

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_INPUT 18

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_RESET 40

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_MMIO_MAX_QUEUES 4
#define VIRTIO_MMIO_CONFIG_MAX 256

struct virtio_device_ops {
    uint32_t device_id;
    unsigned num_queues;        /* 1..VIRTIO_MMIO_MAX_QUEUES */
    uint16_t queue_size;        /* QueueNumMax of every queue, <= VIRTQ_MAX_SIZE */
    uint64_t features;          /* device-type feature bits offered */
    uint32_t config_size;       /* bytes of device configuration space */
    /* Fills config_size bytes with the current configuration space. */
    void (*config_read)(void *dev, uint8_t *config);
    /* A driver write into configuration space (NULL: writes are ignored). */
    void (*config_write)(void *dev, uint32_t offset, uint64_t value, unsigned size);
    /* The driver notified queue q (ready, DRIVER_OK, device not broken). */
    void (*queue_notify)(void *dev, unsigned q);
    /* Device reset: forget requests; must not touch the queues or guest RAM afterwards. */
    void (*reset)(void *dev);
    /*
     * Queue reset of q: forget what the device holds for q; nothing of q's buffers may be
     * written or completed afterwards. May wait on bus->lock (which it then releases).
     */
    void (*queue_reset)(void *dev, unsigned q);
    /* Frees the device (called by virtio_mmio_destroy, with no harts running). */
    void (*destroy)(void *dev);
    /*
     * Finishes every request the device has taken from its queues, so that the queues'
     * positions are final for a snapshot. May wait on bus->lock. NULL: the device holds
     * nothing between calls.
     */
    void (*quiesce)(void *dev);
    /*
     * Snapshot state of the device type: state_size bytes of plain data (0: it has none
     * beyond the transport); load returns false for a state this device cannot have.
     */
    uint32_t state_size;
    void (*save)(void *dev, void *state);
    bool (*load)(void *dev, const void *state);
};

/* What a snapshot keeps of the transport; the device type's state follows it. */
struct virtio_mmio_state {
    uint64_t device_features, driver_features;
    uint32_t device_id, device_features_sel, driver_features_sel, queue_sel;
    uint32_t status, interrupt_status, config_generation, reserved;
    struct virtq_state queues[VIRTIO_MMIO_MAX_QUEUES];
};

/* Maps the transport into slot and drives slot's interrupt line. NULL after printing why. */
struct virtio_mmio *virtio_mmio_create(const struct device_slot *slot,
                                       const struct virtio_device_ops *ops, void *dev);
/* Destroys the device (ops->destroy) and the transport. Call without bus->lock. */
void virtio_mmio_destroy(struct virtio_mmio *vm);

/* The device type's virtio device id (VIRTIO_ID_*). */
uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm);

/* Bytes virtio_mmio_save writes: struct virtio_mmio_state, then the device's state. */
size_t virtio_mmio_state_size(const struct virtio_mmio *vm);
/* Saves transport and device into buf (virtio_mmio_state_size bytes) once the device has
 * finished what it had in flight (ops->quiesce). Caller holds bus->lock. */
void virtio_mmio_save(struct virtio_mmio *vm, void *buf);
/* Restores what virtio_mmio_save wrote, rings mapped again and the interrupt line driven.
 * -1 (the device left reset): wrong size, another device type or features, or an
 * impossible state. Caller holds bus->lock. */
int virtio_mmio_load(struct virtio_mmio *vm, const void *buf, size_t len);
/* Power-on state: a device reset (as a write of 0 to Status) and configuration
 * generation 0. Caller holds bus->lock. */
void virtio_mmio_reset(struct virtio_mmio *vm);

/* Queue q when the device is live (DRIVER_OK, not NEEDS_RESET) and q is ready, else NULL. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q);
/* After pushing used entries on q: raises the used-buffer interrupt if the driver wants it. */
void virtio_mmio_used(struct virtio_mmio *vm, unsigned q);
/* The configuration space changed: new generation, configuration-change interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *vm);
/* The driver broke a queue or the device cannot go on: DEVICE_NEEDS_RESET. */
void virtio_mmio_fail(struct virtio_mmio *vm);
/* Whether the driver accepted feature bit `bit`. */
bool virtio_mmio_has_feature(const struct virtio_mmio *vm, unsigned bit);
/* Pops from q; a malformed chain fails the device and reads as empty. */
bool virtio_mmio_pop(struct virtio_mmio *vm, unsigned q, struct virtq_req *req);

#endif
