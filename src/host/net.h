/*
 * Network back ends: the host side of a virtual NIC, exchanging Ethernet frames (no
 * virtio header) with the device.
 *
 * Receive (host -> guest): each back end runs a host thread of its own that offers
 * frames, one at a time and in order, to the device's receive callback. The callback
 * takes bus->lock itself. It returns true when it took the frame (delivered, or dropped
 * for good, e.g. larger than the guest's buffers), false when the guest has no buffer
 * posted right now: the back end then keeps that frame, stops reading from the host so
 * TCP backs off instead of losing data, and offers it again after the device calls
 * net_backend_rx_ready().
 *
 * Send (guest -> host): net_backend_send() copies the frame and never blocks; it may be
 * called on a vCPU thread under bus->lock. A frame the host cannot take now is dropped
 * (as a full NIC would), never waited for.
 *
 * Lock order: a back end never holds a lock of its own while calling the receive
 * callback, so a vCPU thread holding bus->lock may call send and rx_ready.
 */
#ifndef RACKVM_NET_H
#define RACKVM_NET_H

#include "common.h"
#include "host/net_config.h"

/* See above. Runs on the back end's thread; dev is the pointer given at creation. */
typedef bool (*net_receive_fn)(void *dev, const uint8_t *frame, size_t len);
/*
 * The back end's link went down or came back (only back ends with a far end that can go
 * away report it: a switch port). Runs on the back end's thread, with no lock of the
 * back end held; the link is up at creation, unless the create function reports it down
 * (on the caller's thread) before it returns.
 */
typedef void (*net_link_fn)(void *dev, bool up);

struct net_backend;

struct net_backend_ops {
    void (*send)(struct net_backend *nb, const uint8_t *frame, size_t len);
    void (*rx_ready)(struct net_backend *nb);
    /* Stops the thread and frees everything. Call without bus->lock. */
    void (*destroy)(struct net_backend *nb);
};

struct net_backend {
    const struct net_backend_ops *ops;
    net_receive_fn receive;
    void *dev;
};

/*
 * Each returns a running back end, or NULL after printing why (a forwarded port in use,
 * a tap device that cannot be opened, no switch listening on the socket unless
 * missing=link-down). The receive callback may run before the function returns, so the
 * device must be ready for it.
 */
struct net_backend *net_slirp_create(const struct net_config *cfg, net_receive_fn receive, void *dev);
struct net_backend *net_tap_create(const struct net_config *cfg, net_receive_fn receive, void *dev);
struct net_backend *net_stream_create(const struct net_config *cfg, net_receive_fn receive,
                                     net_link_fn link, void *dev);

/* link may be NULL: the device then shows its link always up. */
static inline struct net_backend *net_backend_create(const struct net_config *cfg,
                                                     net_receive_fn receive, net_link_fn link,
                                                     void *dev)
{
    switch (cfg->kind) {
    case NET_TAP: return net_tap_create(cfg, receive, dev);
    case NET_SWITCH: return net_stream_create(cfg, receive, link, dev);
    default: return net_slirp_create(cfg, receive, dev);
    }
}

static inline void net_backend_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    nb->ops->send(nb, frame, len);
}

/* The guest posted receive buffers after a refusal. Cheap; may be called under bus->lock. */
static inline void net_backend_rx_ready(struct net_backend *nb)
{
    nb->ops->rx_ready(nb);
}

static inline void net_backend_destroy(struct net_backend *nb)
{
    if (nb)
        nb->ops->destroy(nb);
}

#endif
