/*
 * The sandbox of a VM process (`rackvm run --sandbox on`, the default). Once the VM has
 * opened everything it needs, sandbox_enter() puts the process in namespaces of its own
 * with an empty root file system when asked (`--sandbox jail`, jail.h; an ordinary
 * user's behind a user namespace), drops root to an unprivileged user (a rack VM's own
 * uid), sets no_new_privs, and installs on every thread (TSYNC) a seccomp-bpf allowlist
 * of the system calls a running VM makes. Any other call traps: a SIGSYS handler prints
 * one line naming the call and the process exits with SANDBOX_BLOCKED_STATUS.
 *
 * The allowlist is ONE table, allowed_calls[] in sandbox.c, built from strace of the whole
 * test suite. A feature that makes a new system call after start-up (an API socket, a GDB
 * stub, a switch back end, snapshots writing files) adds its lines there, under a
 * sandbox_need of its own when only some VMs need them, and says why in a comment.
 */
#ifndef RACKVM_HOST_SANDBOX_H
#define RACKVM_HOST_SANDBOX_H

#include <stdbool.h>

#include "host/jail.h"

/* Exit status of a process that made a system call outside the allowlist: 128 + SIGSYS. */
#define SANDBOX_BLOCKED_STATUS 159
#define SANDBOX_DEFAULT_USER "nobody"
/* Supplementary groups of a numeric --sandbox-user: a rack VM's networks, one per NIC at most. */
#define SANDBOX_MAX_GROUPS 8

/* What the VM may still do after start-up beyond the calls every VM makes. */
struct sandbox_config {
    /* The user a process started as root becomes: a name (its primary group too), or
     * "UID:GID[:GID,...]" (a rack VM's own ids, then its networks' groups, which need not
     * be in /etc/passwd or /etc/group); NULL: nobody. */
    const char *user;
    /* User networking: libslirp opens AF_INET/AF_INET6 sockets per guest connection, and
     * for guest DNS stats and reopens /etc/resolv.conf by path. (Nothing else opens a
     * file once the VM runs: the run keeps its kernel, initrd, firmware and disks open.) */
    bool user_net;
    /* TUNSETIFF: a guest reboot attaches the tap device again. */
    bool tap;
    /* --api-socket: accepts clients on its Unix socket, removes the socket file at exit,
     * answers stats with getrusage, and a snapshot request writes a directory of files. */
    bool api_socket;
    /* --net switch=: reconnects to a switch that went away (an AF_UNIX stream socket). */
    bool switch_net;
    /* --gdb: accepts the debugger on its TCP socket; a guest reboot listens again. */
    bool gdb;
    /* --sandbox jail: namespaces and an empty root; an ordinary user's in a user namespace
     * of its own. Its network namespace is the host's when user_net, tap or gdb needs it. */
    bool jail;
    /* The switch sockets the VM reconnects to by path: their directories stay reachable
     * in the jail. NULL-ended. */
    const char *switch_sockets[JAIL_MAX_KEEP - 1];
    /* Called from the SIGSYS handler before it exits: must be async-signal-safe. */
    void (*on_blocked)(void);
};

/*
 * What must come before the process has a second thread: one malloc arena for every
 * thread (glibc's others open files under the filter); with cfg->jail, the namespaces
 * (jail_unshare), behind a user namespace when not root. Where an ordinary user may not
 * create one, it says so and clears cfg->jail: the VM runs with seccomp and no_new_privs.
 * 0, or -1 after printing why.
 */
int sandbox_prepare(struct sandbox_config *cfg);

/*
 * Enters the jail's root (cfg->jail), drops privileges (when root), sets no_new_privs and
 * installs the filter on every thread of the process. 0, or -1 after printing why.
 */
int sandbox_enter(const struct sandbox_config *cfg);

#endif
