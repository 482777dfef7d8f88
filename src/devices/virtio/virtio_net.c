/* virtio-net: frames between the guest's rx/tx queues and a host network back end. */
#include "devices/virtio/virtio_net.h"

#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_mmio.h"
#include "host/net.h"

#define RXQ 0
#define TXQ 1
#define QUEUE_SIZE 256
#define CONFIG_SIZE 8   /* mac[6], status */

struct virtio_net {
    struct bus *bus;
    struct virtio_mmio *vm;
    struct net_backend *backend;
    uint8_t mac[6];
    struct virtio_net_stats stats;
    /* The back end holds a frame the guest had no buffer for (under bus->lock). */
    bool rx_refused;
    /* The back end's far end is there (under bus->lock); shown in the config's status. */
    bool link_up;
    /* Scratch under bus->lock: the receive path (back-end thread) and transmit (vCPU). */
    struct virtq_req rx_req, tx_req;
    uint8_t tx_frame[VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX];
};

/* Runs on the back end's thread. See host/net.h for what the result means. */
static bool net_receive(void *dev, const uint8_t *frame, size_t len)
{
    struct virtio_net *n = dev;
    pthread_mutex_lock(&n->bus->lock);
    bus_wait_resumed(n->bus);  /* the back end keeps its frame while the VM is paused */
    bool taken = true;
    if (!n->vm || !virtio_mmio_pop(n->vm, RXQ, &n->rx_req)) {
        /* Not created or live yet, no buffer posted, or a broken ring awaiting reset. */
        taken = false;
        n->rx_refused = true;
    } else {
        struct virtq *q = virtio_mmio_queue(n->vm, RXQ);
        /* virtio 1.x header: no offloads, num_buffers 1 (little-endian). */
        uint8_t hdr[VIRTIO_NET_HDR_LEN] = { [10] = 1 };
        uint32_t written = 0;
        if (n->rx_req.in_len < VIRTIO_NET_HDR_LEN + (uint64_t)len) {
            n->stats.rx_dropped_too_big++;
        } else {
            virtq_copy_to_req(&n->bus->ram, &n->rx_req, 0, hdr, sizeof(hdr));
            virtq_copy_to_req(&n->bus->ram, &n->rx_req, sizeof(hdr), frame, len);
            written = (uint32_t)(sizeof(hdr) + len);
            n->stats.rx_frames++;
            n->stats.rx_bytes += len;
        }
        virtq_push(q, n->rx_req.head, written);
        virtio_mmio_used(n->vm, RXQ);
    }
    pthread_mutex_unlock(&n->bus->lock);
    return taken;
}

/* Runs on the back end's thread: the driver sees the new status through a config change. */
static void net_link(void *dev, bool up)
{
    struct virtio_net *n = dev;
    pthread_mutex_lock(&n->bus->lock);
    n->link_up = up;
    if (n->vm)
        virtio_mmio_config_changed(n->vm);
    pthread_mutex_unlock(&n->bus->lock);
}

static void transmit(struct virtio_net *n)
{
    bool pushed = false;
    while (virtio_mmio_pop(n->vm, TXQ, &n->tx_req)) {
        uint64_t total = n->tx_req.out_len;
        if (total < VIRTIO_NET_HDR_LEN + 14 || total > sizeof(n->tx_frame)) {
            n->stats.tx_dropped_malformed++;
        } else {
            virtq_copy_from_req(&n->tx_req, 0, n->tx_frame, total);
            net_backend_send(n->backend, n->tx_frame + VIRTIO_NET_HDR_LEN,
                             total - VIRTIO_NET_HDR_LEN);
            n->stats.tx_frames++;
            n->stats.tx_bytes += total - VIRTIO_NET_HDR_LEN;
        }
        virtq_push(virtio_mmio_queue(n->vm, TXQ), n->tx_req.head, 0);
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(n->vm, TXQ);
}

static void net_queue_notify(void *dev, unsigned q)
{
    struct virtio_net *n = dev;
    if (q == TXQ) {
        transmit(n);
        return;
    }
    /* Only a refused frame is waiting for buffers: other notifies leave the back end be. */
    struct virtq *rxq = virtio_mmio_queue(n->vm, RXQ);
    if (n->rx_refused && rxq && virtq_has_avail(rxq)) {
        n->rx_refused = false;
        net_backend_rx_ready(n->backend);
    }
}

static void net_config_read(void *dev, uint8_t *config)
{
    struct virtio_net *n = dev;
    memcpy(config, n->mac, 6);
    config[6] = n->link_up ? VIRTIO_NET_S_LINK_UP : 0;
    config[7] = 0;
}

/* Nothing is in flight between calls: every frame is handled to completion under the lock. */
static void net_reset(void *dev)
{
    (void)dev;
}

/*
 * Nothing of either queue is held between calls. A frame the back end keeps for want of
 * a receive buffer is offered again only after a notify, and then goes into a chain
 * popped from the queue as it is at that time, never into buffers of the reset ring.
 */
static void net_queue_reset(void *dev, unsigned q)
{
    (void)dev;
    (void)q;
}

static void net_destroy(void *dev)
{
    struct virtio_net *n = dev;
    net_backend_destroy(n->backend);
    free(n);
}

static const struct virtio_device_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_size = QUEUE_SIZE,
    .features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS,
    .config_size = CONFIG_SIZE,
    .config_read = net_config_read,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
    .queue_reset = net_queue_reset,
    .destroy = net_destroy,
};

void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *s)
{
    *s = n->stats;
}

struct virtio_mmio *virtio_net_create(const struct device_slot *slot,
                                      const struct net_config *cfg, struct virtio_net **out)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    if (!n) {
        rvm_error("out of memory");
        return NULL;
    }
    n->bus = slot->bus;
    n->link_up = true;
    memcpy(n->mac, cfg->mac, sizeof(n->mac));
    /* The back end may call net_receive at once: until vm is set it refuses the frame. */
    n->backend = net_backend_create(cfg, net_receive, net_link, n);
    if (!n->backend) {
        free(n);
        return NULL;
    }
    struct virtio_mmio *vm = virtio_mmio_create(slot, &net_ops, n);
    if (!vm) {
        net_backend_destroy(n->backend);
        free(n);
        return NULL;
    }
    pthread_mutex_lock(&n->bus->lock);
    n->vm = vm;
    pthread_mutex_unlock(&n->bus->lock);
    if (out)
        *out = n;
    return vm;
}
