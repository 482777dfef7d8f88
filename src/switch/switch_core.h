/*
 * The forwarding logic of a learning Ethernet switch, without any I/O, so that it can be
 * tested frame by frame with a clock of the test's choosing.
 *
 * - Learning: a frame's source MAC is remembered on the port it came in on (a MAC seen
 *   on another port moves there). The table is set-associative, SWITCH_MAC_SETS sets of
 *   SWITCH_MAC_WAYS entries: full sets evict their oldest entry, so its size is fixed.
 * - Aging: an entry not refreshed for cfg.aging_ns is forgotten.
 * - Forwarding: to the learned port of a unicast destination (nothing when that is the
 *   port it came from); broadcast, multicast and unknown unicast go to every other port.
 * - Policing at the ingress port, so that a flooding port loses its own frames and no
 *   one else's: a token bucket of bytes for everything the port sends, and one of frames
 *   for what it makes the switch flood (broadcast/multicast/unknown unicast).
 * - Counters per port; frames shorter than an Ethernet header or with a multicast
 *   source MAC are dropped as malformed.
 * Not thread-safe: the switch's one thread owns it.
 */
#ifndef RACKVM_SWITCH_CORE_H
#define RACKVM_SWITCH_CORE_H

#include "common.h"

#define SWITCH_MAX_PORTS 64
#define SWITCH_MAC_SETS 256
#define SWITCH_MAC_WAYS 4
#define ETH_HEADER_LEN 14

struct switch_config {
    uint64_t aging_ns;
    uint64_t port_bytes_per_s, port_burst_bytes;   /* every frame a port sends */
    uint64_t flood_frames_per_s, flood_burst;      /* frames the switch must flood */
};

/*
 * 300 s aging as IEEE 802.1D; 256 MiB/s a port; 200 flooded frames/s, 100 at once: ARP,
 * DHCP and neighbour discovery need far less, and every flooded frame lands on every
 * port, costing every guest there the work of receiving it.
 */
extern const struct switch_config switch_default_config;

struct switch_port_stats {
    uint64_t rx_frames, rx_bytes;      /* taken from the port and forwarded or filtered */
    uint64_t tx_frames, tx_bytes;      /* handed to the port's output */
    uint64_t rx_dropped_rate;          /* over the port's byte or flood budget */
    uint64_t rx_dropped_malformed;     /* too short, multicast source, bad stream length */
    uint64_t tx_dropped;               /* the port's output was full (a slow or stuck peer) */
};

struct token_bucket {
    uint64_t tokens, burst, per_s;
    uint64_t last_ns;
};

struct switch_mac_entry {
    uint8_t mac[6];
    uint8_t port;
    bool valid;
    uint64_t seen_ns;
};

struct switch_core {
    struct switch_config cfg;
    bool port_used[SWITCH_MAX_PORTS];
    struct token_bucket bytes[SWITCH_MAX_PORTS], floods[SWITCH_MAX_PORTS];
    struct switch_port_stats stats[SWITCH_MAX_PORTS];
    struct switch_mac_entry table[SWITCH_MAC_SETS][SWITCH_MAC_WAYS];
};

void switch_core_init(struct switch_core *sw, const struct switch_config *cfg);
/* A new port with fresh counters and full buckets; -1 when all ports are in use. */
int switch_port_add(struct switch_core *sw, uint64_t now_ns);
/* The port leaves: its MACs are forgotten (frames to them are flooded again). */
void switch_port_remove(struct switch_core *sw, unsigned port);

/*
 * A frame came in on in_port at now_ns: learns its source, polices it, and writes the
 * ports it goes out on into out (room for SWITCH_MAX_PORTS). Returns how many (0: dropped
 * or filtered). The caller queues it on each and reports each with switch_count_tx().
 */
unsigned switch_forward(struct switch_core *sw, unsigned in_port, const uint8_t *frame,
                        size_t len, uint64_t now_ns, unsigned *out);
/* The frame of len bytes was queued on port (queued) or dropped because it was full. */
void switch_count_tx(struct switch_core *sw, unsigned port, size_t len, bool queued);

/* The port a MAC is learned on, or -1 (unknown or aged out). */
int switch_lookup(struct switch_core *sw, const uint8_t mac[6], uint64_t now_ns);

#endif
