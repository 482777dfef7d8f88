/*
 * The value of one `--net` option: which host back end a virtual NIC uses, its MAC
 * address and, for user networking, its port forwards.
 *   user[,mac=MAC][,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 *   tap=IFNAME[,mac=MAC]
 *   switch=SOCKET[,mac=MAC][,missing=error|link-down]   a port of `rackvm switch` (or
 *                             any QEMU stream peer); missing= says what a switch that
 *                             does not listen at start is: an error (the default: a typo,
 *                             or a switch not started yet) or a NIC whose link is down
 *                             until the switch listens (a rack's VM: its switch restarts)
 * As in QEMU: a missing protocol is tcp, an empty HOSTADDR listens on every host
 * address, an empty GUESTADDR is the guest's DHCP address 10.0.2.15. Without mac= the
 * parser picks 52:54:00:xx:xx:xx at random, once, so a guest reboot keeps its MAC.
 */
#ifndef RACKVM_NET_CONFIG_H
#define RACKVM_NET_CONFIG_H

#include <netinet/in.h>

#include "common.h"

#define NET_MAX_HOSTFWD 16
#define NET_IFNAME_MAX 16   /* IFNAMSIZ, with the terminating NUL */
#define NET_SOCKET_PATH_MAX 108   /* sun_path, with the terminating NUL */

enum net_kind { NET_USER, NET_TAP, NET_SWITCH };

struct net_hostfwd {
    bool udp;
    struct in_addr host_addr;   /* INADDR_ANY: every host address */
    struct in_addr guest_addr;
    uint16_t host_port, guest_port;
};

struct net_config {
    enum net_kind kind;
    char ifname[NET_IFNAME_MAX];     /* NET_TAP */
    char socket_path[NET_SOCKET_PATH_MAX];  /* NET_SWITCH */
    bool missing_switch_link_down;   /* NET_SWITCH: missing=link-down */
    uint8_t mac[6];
    bool mac_given;                  /* false: mac was generated */
    struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
    unsigned nhostfwd;
};

/* Parses arg into *out. Returns 0, or -1 with a one-line reason in err. */
int net_config_parse(const char *arg, struct net_config *out, char *err, size_t errlen);

/* Formats mac as "xx:xx:xx:xx:xx:xx" into buf (at least 18 bytes). */
void net_format_mac(const uint8_t mac[6], char *buf);

#endif
