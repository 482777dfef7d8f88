/* virtio-mmio version 2 transport: registers, feature negotiation, status, queues, IRQ. */
#include "devices/virtio/virtio_mmio.h"

#include <stdlib.h>
#include <string.h>

#define REG_MAGIC 0x000
#define REG_VERSION 0x004
#define REG_DEVICE_ID 0x008
#define REG_VENDOR_ID 0x00c
#define REG_DEVICE_FEATURES 0x010
#define REG_DEVICE_FEATURES_SEL 0x014
#define REG_DRIVER_FEATURES 0x020
#define REG_DRIVER_FEATURES_SEL 0x024
#define REG_QUEUE_SEL 0x030
#define REG_QUEUE_NUM_MAX 0x034
#define REG_QUEUE_NUM 0x038
#define REG_QUEUE_READY 0x044
#define REG_QUEUE_NOTIFY 0x050
#define REG_INTERRUPT_STATUS 0x060
#define REG_INTERRUPT_ACK 0x064
#define REG_STATUS 0x070
#define REG_QUEUE_DESC_LOW 0x080
#define REG_QUEUE_DESC_HIGH 0x084
#define REG_QUEUE_DRIVER_LOW 0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW 0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_SHM_LEN_LOW 0x0b0
#define REG_SHM_LEN_HIGH 0x0b4
#define REG_SHM_BASE_LOW 0x0b8
#define REG_SHM_BASE_HIGH 0x0bc
#define REG_QUEUE_RESET 0x0c0
#define REG_CONFIG_GENERATION 0x0fc
#define REG_CONFIG 0x100

#define MAGIC_VIRT 0x74726976     /* "virt" */
#define VENDOR_RACKVM 0x4d564b52  /* "RKVM" */
#define INT_USED_BUFFER 1
#define INT_CONFIG_CHANGE 2

static const uint64_t transport_features = (1ULL << VIRTIO_F_VERSION_1) |
                                           (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
                                           (1ULL << VIRTIO_F_RING_EVENT_IDX) |
                                           (1ULL << VIRTIO_F_RING_RESET);

struct virtio_mmio {
    struct irq_line irq;
    const struct virtio_device_ops *ops;
    void *dev;

    uint64_t device_features, driver_features;
    uint32_t device_features_sel, driver_features_sel;
    uint32_t queue_sel;
    uint32_t status;
    uint32_t interrupt_status;
    uint32_t config_generation;
    struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
    /* A queue reset of this queue waits for the device (with bus->lock released). */
    bool queue_resetting[VIRTIO_MMIO_MAX_QUEUES];
};

static void update_irq(struct virtio_mmio *vm)
{
    irq_line_set(&vm->irq, vm->interrupt_status != 0);
}

/* A queue as reset leaves it: no rings, QueueNum at its maximum (2.6.1). */
static void queue_defaults(struct virtio_mmio *vm, unsigned i)
{
    virtq_reset(&vm->queues[i]);
    vm->queues[i].size = vm->ops->queue_size;
}

static void device_reset(struct virtio_mmio *vm)
{
    vm->ops->reset(vm->dev);
    vm->driver_features = 0;
    vm->device_features_sel = vm->driver_features_sel = 0;
    vm->queue_sel = 0;
    vm->status = 0;
    vm->interrupt_status = 0;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        queue_defaults(vm, i);
    update_irq(vm);
}

static struct virtq *selected_queue(struct virtio_mmio *vm)
{
    return vm->queue_sel < vm->ops->num_queues ? &vm->queues[vm->queue_sel] : NULL;
}

static bool live(const struct virtio_mmio *vm)
{
    return (vm->status & VIRTIO_STATUS_DRIVER_OK) && !(vm->status & VIRTIO_STATUS_NEEDS_RESET);
}

static uint32_t config_read(struct virtio_mmio *vm, uint64_t offset, unsigned size)
{
    uint8_t config[VIRTIO_MMIO_CONFIG_MAX] = { 0 };
    if (offset >= vm->ops->config_size || size > vm->ops->config_size - offset)
        return 0;
    vm->ops->config_read(vm->dev, config);
    uint64_t v = 0;
    memcpy(&v, config + offset, size);
    return (uint32_t)v;
}

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_mmio *vm = opaque;
    if (offset >= REG_CONFIG)
        return config_read(vm, offset - REG_CONFIG, size);
    if (size != 4 || offset % 4)
        return 0;
    struct virtq *q = selected_queue(vm);
    switch (offset) {
    case REG_MAGIC: return MAGIC_VIRT;
    case REG_VERSION: return 2;
    case REG_DEVICE_ID: return vm->ops->device_id;
    case REG_VENDOR_ID: return VENDOR_RACKVM;
    case REG_DEVICE_FEATURES:
        return vm->device_features_sel < 2
                   ? (uint32_t)(vm->device_features >> (32 * vm->device_features_sel))
                   : 0;
    case REG_QUEUE_NUM_MAX: return q ? vm->ops->queue_size : 0;
    case REG_QUEUE_NUM: return q ? q->size : 0;
    case REG_QUEUE_READY: return q ? q->enabled : 0;
    case REG_INTERRUPT_STATUS: return vm->interrupt_status;
    case REG_STATUS: return vm->status;
    case REG_QUEUE_DESC_LOW: return q ? (uint32_t)q->desc_addr : 0;
    case REG_QUEUE_DESC_HIGH: return q ? (uint32_t)(q->desc_addr >> 32) : 0;
    case REG_QUEUE_DRIVER_LOW: return q ? (uint32_t)q->avail_addr : 0;
    case REG_QUEUE_DRIVER_HIGH: return q ? (uint32_t)(q->avail_addr >> 32) : 0;
    case REG_QUEUE_DEVICE_LOW: return q ? (uint32_t)q->used_addr : 0;
    case REG_QUEUE_DEVICE_HIGH: return q ? (uint32_t)(q->used_addr >> 32) : 0;
    /* No shared memory regions: length ~0 says "absent" (4.2.2.1). */
    case REG_SHM_LEN_LOW:
    case REG_SHM_LEN_HIGH:
    case REG_SHM_BASE_LOW:
    case REG_SHM_BASE_HIGH: return 0xffffffff;
    case REG_QUEUE_RESET: return q ? vm->queue_resetting[vm->queue_sel] : 0;
    case REG_CONFIG_GENERATION: return vm->config_generation;
    default: return 0;
    }
}

static void write_status(struct virtio_mmio *vm, uint32_t value)
{
    if (value == 0) {
        device_reset(vm);
        return;
    }
    uint32_t newly = value & ~vm->status;
    if (newly & VIRTIO_STATUS_FEATURES_OK) {
        bool subset = (vm->driver_features & ~vm->device_features) == 0;
        bool modern = vm->driver_features & (1ULL << VIRTIO_F_VERSION_1);
        if (!subset || !modern)
            value &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
    }
    if ((newly & VIRTIO_STATUS_DRIVER_OK) && !(value & VIRTIO_STATUS_FEATURES_OK))
        value &= ~(uint32_t)VIRTIO_STATUS_DRIVER_OK;
    /* NEEDS_RESET is the device's to set; only a reset clears it. */
    vm->status = (value & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET) |
                 (vm->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void set_addr(uint64_t *addr, bool high, uint32_t value)
{
    if (high)
        *addr = (*addr & 0xffffffffULL) | ((uint64_t)value << 32);
    else
        *addr = (*addr & ~0xffffffffULL) | value;
}

static void write_queue_ready(struct virtio_mmio *vm, struct virtq *q, uint32_t value)
{
    if (!value) {
        /* The driver takes the queue back; its settings stay for a later re-enable. */
        q->enabled = false;
        return;
    }
    if (q->enabled)
        return;
    q->indirect = virtio_mmio_has_feature(vm, VIRTIO_F_RING_INDIRECT_DESC);
    q->event_idx = virtio_mmio_has_feature(vm, VIRTIO_F_RING_EVENT_IDX);
    if (q->size > vm->ops->queue_size || !virtq_enable(q))
        virtio_mmio_fail(vm);
}

/* Queue reset (2.6.1): the device lets go of the queue, then its settings are defaults. */
static void reset_queue(struct virtio_mmio *vm, unsigned qi)
{
    vm->queue_resetting[qi] = true;
    /* No notification or completion reaches the queue while the device lets go of it. */
    vm->queues[qi].enabled = false;
    vm->ops->queue_reset(vm->dev, qi);
    queue_defaults(vm, qi);
    vm->queue_resetting[qi] = false;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value64, unsigned size)
{
    struct virtio_mmio *vm = opaque;
    if (offset >= REG_CONFIG) {
        offset -= REG_CONFIG;
        if (vm->ops->config_write && offset < vm->ops->config_size &&
            size <= vm->ops->config_size - offset)
            vm->ops->config_write(vm->dev, (uint32_t)offset, value64, size);
        return;
    }
    if (size != 4 || offset % 4)
        return;
    uint32_t value = (uint32_t)value64;
    struct virtq *q = selected_queue(vm);
    /* The selected queue's registers stay as they are while a queue reset is under way. */
    if (q && vm->queue_resetting[vm->queue_sel])
        q = NULL;
    /* Queue layout may only change while the queue is not in use. */
    struct virtq *idle_q = q && !q->enabled ? q : NULL;
    bool negotiating = (vm->status & VIRTIO_STATUS_DRIVER) &&
                       !(vm->status & VIRTIO_STATUS_FEATURES_OK);
    switch (offset) {
    case REG_DEVICE_FEATURES_SEL: vm->device_features_sel = value; break;
    case REG_DRIVER_FEATURES_SEL: vm->driver_features_sel = value; break;
    case REG_DRIVER_FEATURES:
        if (negotiating && vm->driver_features_sel < 2) {
            unsigned shift = 32 * vm->driver_features_sel;
            vm->driver_features = (vm->driver_features & ~(0xffffffffULL << shift)) |
                                  ((uint64_t)value << shift);
        }
        break;
    case REG_QUEUE_SEL: vm->queue_sel = value; break;
    case REG_QUEUE_NUM:
        if (idle_q)
            idle_q->size = (uint16_t)(value > 0xffff ? 0 : value);
        break;
    case REG_QUEUE_READY:
        if (q)
            write_queue_ready(vm, q, value);
        break;
    case REG_QUEUE_RESET:
        if (q && value == 1 && (vm->status & VIRTIO_STATUS_FEATURES_OK) &&
            virtio_mmio_has_feature(vm, VIRTIO_F_RING_RESET))
            reset_queue(vm, vm->queue_sel);
        break;
    case REG_QUEUE_NOTIFY:
        if (value < vm->ops->num_queues && live(vm) && vm->queues[value].enabled)
            vm->ops->queue_notify(vm->dev, value);
        break;
    case REG_INTERRUPT_ACK:
        vm->interrupt_status &= ~value;
        update_irq(vm);
        break;
    case REG_STATUS: write_status(vm, value); break;
    case REG_QUEUE_DESC_LOW:
    case REG_QUEUE_DESC_HIGH:
        if (idle_q)
            set_addr(&idle_q->desc_addr, offset == REG_QUEUE_DESC_HIGH, value);
        break;
    case REG_QUEUE_DRIVER_LOW:
    case REG_QUEUE_DRIVER_HIGH:
        if (idle_q)
            set_addr(&idle_q->avail_addr, offset == REG_QUEUE_DRIVER_HIGH, value);
        break;
    case REG_QUEUE_DEVICE_LOW:
    case REG_QUEUE_DEVICE_HIGH:
        if (idle_q)
            set_addr(&idle_q->used_addr, offset == REG_QUEUE_DEVICE_HIGH, value);
        break;
    default: break;
    }
}

static const struct mmio_ops virtio_mmio_ops = { .read = mmio_read, .write = mmio_write };

struct virtio_mmio *virtio_mmio_create(const struct device_slot *slot,
                                       const struct virtio_device_ops *ops, void *dev)
{
    struct virtio_mmio *vm = calloc(1, sizeof(*vm));
    if (!vm) {
        rvm_error("out of memory");
        return NULL;
    }
    *vm = (struct virtio_mmio){ .irq = slot->irq, .ops = ops, .dev = dev,
                                .device_features = ops->features | transport_features };
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        vm->queues[i].ram = &slot->bus->ram;
        queue_defaults(vm, i);
    }
    if (device_map(slot, &virtio_mmio_ops, vm) < 0) {
        free(vm);
        return NULL;
    }
    return vm;
}

uint32_t virtio_mmio_device_id(const struct virtio_mmio *vm)
{
    return vm->ops->device_id;
}

size_t virtio_mmio_state_size(const struct virtio_mmio *vm)
{
    return sizeof(struct virtio_mmio_state) + vm->ops->state_size;
}

void virtio_mmio_save(struct virtio_mmio *vm, void *buf)
{
    if (vm->ops->quiesce)
        vm->ops->quiesce(vm->dev);
    if (vm->ops->state_size)
        vm->ops->save(vm->dev, (uint8_t *)buf + sizeof(struct virtio_mmio_state));
    struct virtio_mmio_state s = {
        .device_features = vm->device_features, .driver_features = vm->driver_features,
        .device_id = vm->ops->device_id, .device_features_sel = vm->device_features_sel,
        .driver_features_sel = vm->driver_features_sel, .queue_sel = vm->queue_sel,
        .status = vm->status, .interrupt_status = vm->interrupt_status,
        .config_generation = vm->config_generation,
    };
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        virtq_save(&vm->queues[i], &s.queues[i]);
    memcpy(buf, &s, sizeof(s));
}

int virtio_mmio_load(struct virtio_mmio *vm, const void *buf, size_t len)
{
    struct virtio_mmio_state s;
    device_reset(vm);
    if (len != virtio_mmio_state_size(vm))
        return -1;
    memcpy(&s, buf, sizeof(s));
    if (s.device_id != vm->ops->device_id || s.device_features != vm->device_features ||
        (s.interrupt_status & ~(uint32_t)(INT_USED_BUFFER | INT_CONFIG_CHANGE)) ||
        s.reserved)
        goto fail;
    vm->driver_features = s.driver_features;
    vm->device_features_sel = s.device_features_sel;
    vm->driver_features_sel = s.driver_features_sel;
    vm->queue_sel = s.queue_sel;
    vm->status = s.status;
    vm->interrupt_status = s.interrupt_status;
    vm->config_generation = s.config_generation;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
        const struct virtq_state *q = &s.queues[i];
        struct virtq_state defaults;   /* what device_reset left: all a queue past num_queues may hold */
        virtq_save(&vm->queues[i], &defaults);
        bool ok = i < vm->ops->num_queues
                      ? q->size <= vm->ops->queue_size && virtq_load(&vm->queues[i], q)
                      : memcmp(q, &defaults, sizeof(defaults)) == 0;
        if (!ok)
            goto fail;
    }
    if (vm->ops->state_size &&
        !vm->ops->load(vm->dev, (const uint8_t *)buf + sizeof(struct virtio_mmio_state)))
        goto fail;
    update_irq(vm);
    return 0;
fail:
    device_reset(vm);
    return -1;
}

void virtio_mmio_reset(struct virtio_mmio *vm)
{
    device_reset(vm);
    vm->config_generation = 0;   /* a driver reset keeps it; power-on starts afresh */
}

void virtio_mmio_destroy(struct virtio_mmio *vm)
{
    vm->ops->destroy(vm->dev);
    free(vm);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *vm, unsigned q)
{
    if (q >= vm->ops->num_queues || !live(vm) || !vm->queues[q].enabled)
        return NULL;
    return &vm->queues[q];
}

void virtio_mmio_used(struct virtio_mmio *vm, unsigned q)
{
    if (q < vm->ops->num_queues && virtq_should_notify(&vm->queues[q])) {
        vm->interrupt_status |= INT_USED_BUFFER;
        update_irq(vm);
    }
}

void virtio_mmio_config_changed(struct virtio_mmio *vm)
{
    vm->config_generation++;
    if (vm->status & VIRTIO_STATUS_DRIVER_OK) {
        vm->interrupt_status |= INT_CONFIG_CHANGE;
        update_irq(vm);
    }
}

void virtio_mmio_fail(struct virtio_mmio *vm)
{
    if (vm->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vm->status |= VIRTIO_STATUS_NEEDS_RESET;
    vm->interrupt_status |= INT_CONFIG_CHANGE;
    update_irq(vm);
}

bool virtio_mmio_has_feature(const struct virtio_mmio *vm, unsigned bit)
{
    return (vm->driver_features >> bit) & 1;
}

bool virtio_mmio_pop(struct virtio_mmio *vm, unsigned q, struct virtq_req *req)
{
    struct virtq *vq = virtio_mmio_queue(vm, q);
    if (!vq)
        return false;
    enum virtq_pop_result r = virtq_pop(vq, req);
    if (r == VIRTQ_BROKEN)
        virtio_mmio_fail(vm);
    return r == VIRTQ_GOT;
}
