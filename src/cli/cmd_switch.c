#include "cli/cmd_switch.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "host/net_config.h"
#include "switch/switch.h"

void cmd_switch_usage(FILE *out)
{
    fputs("usage: rackvm switch --listen SOCKET [--uplink user[,hostfwd=...]...]\n"
          "                     [--socket-group GID]\n"
          "\n"
          "  --listen SOCKET      Unix socket the ports connect to: rackvm run --net\n"
          "                       switch=SOCKET, or QEMU's -netdev stream,addr.type=unix,\n"
          "                       addr.path=SOCKET,server=off\n"
          "  --uplink user[,hostfwd=tcp:[HOSTADDR]:PORT-[GUESTADDR]:GUESTPORT]...\n"
          "                       a port with NAT to the host (libslirp: DHCP from 10.0.2.15,\n"
          "                       gateway 10.0.2.2), and host ports forwarded into the network\n"
          "  --socket-group GID   the socket is mode 0660 in group GID, whose members (a root\n"
          "                       rack's VMs on this network) may connect (default: mode\n"
          "                       0600, given to nobody when started as root)\n"
          "  --help\n"
          "\n"
          "SIGINT or SIGTERM stops the switch; each port's counters are printed as it leaves.\n",
          out);
}

enum { OPT_LISTEN = 256, OPT_UPLINK, OPT_SOCKET_GROUP, OPT_HELP };

static const struct option switch_options[] = {
    { "listen", required_argument, NULL, OPT_LISTEN },
    { "uplink", required_argument, NULL, OPT_UPLINK },
    { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* SIGINT/SIGTERM arrive on a signalfd that stops the loop; blocked before any thread starts. */
static int stop_signals_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC);
}

int cmd_switch(int argc, char **argv)
{
    const char *listen_path = NULL;
    struct net_config uplink;
    bool has_uplink = false;
    long socket_group = -1;
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", switch_options, NULL)) != -1) {
        switch (opt) {
        case OPT_LISTEN: listen_path = optarg; break;
        case OPT_UPLINK: {
            char why[160];
            if (has_uplink) {
                fprintf(stderr, "rackvm: --uplink: one uplink per switch\n");
                return 2;
            }
            if (net_config_parse(optarg, &uplink, why, sizeof(why)) < 0) {
                fprintf(stderr, "rackvm: --uplink %s: %s\n", optarg, why);
                return 2;
            }
            if (uplink.kind != NET_USER) {
                fprintf(stderr, "rackvm: --uplink %s: only user[,hostfwd=...] (NAT) is an uplink\n",
                        optarg);
                return 2;
            }
            has_uplink = true;
            break;
        }
        case OPT_SOCKET_GROUP: {
            char *end;
            errno = 0;
            socket_group = strtol(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno || socket_group > INT32_MAX) {
                fprintf(stderr, "rackvm: --socket-group '%s': not a group id\n", optarg);
                return 2;
            }
            break;
        }
        case OPT_HELP: cmd_switch_usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rackvm: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "rackvm: unknown option '%s' (try rackvm switch --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rackvm: unexpected argument '%s' (try rackvm switch --help)\n", argv[optind]);
        return 2;
    }
    if (!listen_path || !*listen_path) {
        fprintf(stderr, "rackvm: switch: --listen SOCKET is required\n");
        return 2;
    }
    int stop_fd = stop_signals_fd();
    if (stop_fd < 0) {
        rvm_error("switch: cannot take SIGINT/SIGTERM: %s", strerror(errno));
        return 1;
    }
    struct vswitch *sw = switch_create(listen_path, socket_group, has_uplink ? &uplink : NULL);
    if (!sw) {
        close(stop_fd);
        return 1;
    }
    fprintf(stderr, "rackvm switch: listening on %s%s\n", listen_path,
            has_uplink ? " with a NAT uplink" : "");
    int rc = switch_run(sw, stop_fd);
    switch_destroy(sw);
    close(stop_fd);
    return rc;
}
