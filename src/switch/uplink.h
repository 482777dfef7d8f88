/*
 * The switch's uplink: a port whose far end is libslirp (host/net_slirp.c, as
 * `--net user` uses it): NAT to the host, DHCP for 10.0.2.15 onwards, and host port
 * forwards into the switch's network.
 *
 * libslirp runs on its own thread and delivers frames there; they wait in a bounded
 * queue for the switch's thread, which is woken through uplink_wake_fd(). A full queue
 * refuses frames, so slirp holds them and stops reading from the host until
 * uplink_take() has made room.
 */
#ifndef RACKVM_SWITCH_UPLINK_H
#define RACKVM_SWITCH_UPLINK_H

#include "common.h"
#include "host/net_config.h"

struct uplink;

typedef void (*uplink_frame_fn)(void *opaque, const uint8_t *frame, size_t len);

/* cfg->kind is NET_USER. NULL after printing why (a forwarded port in use). */
struct uplink *uplink_create(const struct net_config *cfg);
void uplink_destroy(struct uplink *u);
/* Readable when frames wait for uplink_take. */
int uplink_wake_fd(const struct uplink *u);
/* Hands every waiting frame to fn, on the caller's (the switch's) thread. */
void uplink_take(struct uplink *u, uplink_frame_fn fn, void *opaque);
/* A frame from the switch to the host side. Never blocks; dropped when slirp is full. */
void uplink_send(struct uplink *u, const uint8_t *frame, size_t len);

#endif
