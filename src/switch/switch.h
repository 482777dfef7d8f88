/*
 * A virtual Ethernet switch that VMs plug into over a Unix stream socket, one
 * connection per port, each speaking QEMU's stream netdev framing (host/stream_framing.h):
 * `rackvm run --net switch=SOCKET` or QEMU's `-netdev stream,addr.type=unix,...` join it.
 * An optional uplink port is NAT to the host through libslirp (switch/uplink.h).
 *
 * One thread polls every port. Each round it reads at most one buffer from each port,
 * so a flooding port cannot starve the others; the core polices and forwards
 * (switch_core.h); output waits in a bounded buffer per port, and a port whose peer
 * stops reading loses frames, never the switch's progress. A peer that hangs up, or
 * announces a frame longer than the framing allows, is disconnected with one line on
 * stderr giving its counters. Frames never leave the switch except through its ports:
 * two switches are two separate networks.
 */
#ifndef RACKVM_SWITCH_H
#define RACKVM_SWITCH_H

#include "common.h"
#include "host/net_config.h"

/* Framed output a port may have waiting for its peer. */
#define SWITCH_PORT_OUTPUT_BYTES (512 * 1024)

struct vswitch;

/*
 * Listens on socket_path (a stale socket left by a dead switch is replaced; a live one,
 * or any other file, is an error) with uplink (NULL: none; else kind NET_USER) as its
 * first port. socket_group: the group whose members may connect (-1: the VMs' one user,
 * see switch.c). NULL after printing why.
 */
struct vswitch *switch_create(const char *socket_path, long socket_group,
                              const struct net_config *uplink);
/* Runs until stop_fd is readable (e.g. a signalfd). Returns 0, or 1 on a fatal error. */
int switch_run(struct vswitch *sw, int stop_fd);
/* Closes every port and removes the socket file. */
void switch_destroy(struct vswitch *sw);

#endif
