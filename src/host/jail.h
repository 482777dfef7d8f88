/*
 * The namespaces of a sandboxed VM process (`rackvm run --sandbox jail`, what `rackvm
 * rack` starts its VMs with when it runs as root); an ordinary user's process enters a
 * user namespace first (sandbox.c), which gives it the right to build them. Namespaces belong to a
 * thread, not a process, so jail_unshare enters them before the process has a second
 * thread; jail_enter, once the VM has opened its files, then swaps the root file system
 * of every thread at once (pivot_root) before sandbox_enter drops root:
 *
 * - IPC and UTS namespaces of its own: no System V objects or host name shared;
 * - a network namespace of its own (only a loopback, down) unless a back end needs the
 *   host's network: user networking opens host sockets per guest connection, a tap device
 *   lives in the host's namespace, the GDB stub listens again after a guest reboot;
 * - a mount namespace whose root is an empty read-only tmpfs: the files the VM uses are
 *   already open, and only the paths in jail_config.keep are bind-mounted (read-only) at
 *   their own absolute paths: a socket's directory, so that the VM can reconnect to a
 *   switch that restarted and made a new socket file, or /etc/resolv.conf for user
 *   networking. The working directory is recreated empty, so that relative paths of those
 *   sockets still resolve.
 *
 * The PID namespace cannot be entered by the process itself (unshare(CLONE_NEWPID) moves
 * only its future children): the rack supervisor starts each root VM in one of its own,
 * and a jailed run that is not its namespace's init forks into one (sandbox.c).
 */
#ifndef RACKVM_HOST_JAIL_H
#define RACKVM_HOST_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A switch socket per NIC (eight virtio slots at most) and resolv.conf, with room. */
#define JAIL_MAX_KEEP 16

/* Whether this host can build the jail: its mounts are kept from the host's by making
 * them private from /, which must be a mount point; in a chroot it is not (nor can the
 * mount beneath it be named). false with why (a sentence) when not. */
bool jail_possible(char *why, size_t len);

/* Whether an ordinary user may create a user namespace here (a probe in a child); false
 * with why (a sentence) when not: a sysctl forbids it, or a container's seccomp. */
bool jail_user_namespace_allowed(char *why, size_t len);

/* In a new user namespace: uid and gid, the process's own in the parent namespace, mapped
 * to themselves and nothing else (setgroups denied). 0, or -1 with errno. */
int jail_map_user(uid_t uid, gid_t gid);

/* Before any thread, where jail_possible: mount (with every mount made private), IPC, UTS
 * and, when own_network, network namespaces. Needs CAP_SYS_ADMIN: root's, or an ordinary
 * user's in a user namespace of its own (sandbox.c). 0, or -1 after printing why. */
int jail_unshare(bool own_network);

/* After jail_unshare: the empty root, with keep[0..nkeep) (at most JAIL_MAX_KEEP paths)
 * bind-mounted read-only at their absolute paths. 0, or -1 after printing why. */
int jail_enter(const char *const keep[], unsigned nkeep);

#endif
