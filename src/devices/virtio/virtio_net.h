/*
 * virtio-net (virtio 1.2, 5.1) on a host network back end (host/net.h): receiveq (0)
 * and transmitq (1), features VIRTIO_NET_F_MAC (the MAC from the config) and
 * VIRTIO_NET_F_STATUS (link up, but for a back end that reports its far end gone: a
 * switch port; a change raises the configuration-change interrupt). No offloads and no mergeable receive buffers:
 * every frame travels with a 12-byte virtio_net_hdr (flags 0, gso none, num_buffers 1)
 * and fits one receive chain.
 *
 * Transmit runs on the vCPU thread that notifies (under bus->lock): each chain's
 * readable bytes past the header are one frame, handed to the back end, which copies it.
 * Receive runs on the back end's thread, which takes bus->lock: a frame goes into the
 * next receive chain; a frame larger than that chain is dropped and counted, the chain
 * returned with 0 bytes written, and nothing is written past the chain's buffers. With
 * no chain posted the frame stays with the back end until the driver posts one.
 */
#ifndef RACKVM_VIRTIO_NET_H
#define RACKVM_VIRTIO_NET_H

#include "common.h"
#include "devices/device.h"
#include "host/net_config.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_HDR_LEN 12
/* The largest frame sent or received: a 64 KiB IP packet in an Ethernet frame. */
#define VIRTIO_NET_FRAME_MAX (65535 + 14)

struct virtio_net;

struct virtio_net_stats {
    uint64_t rx_frames, rx_bytes, rx_dropped_too_big;  /* bytes: Ethernet frames, no header */
    uint64_t tx_frames, tx_bytes, tx_dropped_malformed;  /* shorter than header + Ethernet, or too long */
};

/*
 * Adds the device in slot with its back end for cfg; *out (when out is
 * not NULL) receives the device for virtio_net_get_stats. NULL after printing why.
 */
struct virtio_mmio *virtio_net_create(const struct device_slot *slot,
                                      const struct net_config *cfg, struct virtio_net **out);

/* Counters so far. Caller holds bus->lock. */
void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *s);

#endif
