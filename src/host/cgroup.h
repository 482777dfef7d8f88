/*
 * Memory and CPU limits of VM processes through cgroups, as the rack supervisor applies
 * them. Like Firecracker's jailer, both hierarchies are supported:
 *
 * - cgroup v2, where the supervisor's own cgroup (0::PATH in /proc/self/cgroup) offers the
 *   memory and cpu controllers and lets them be enabled for a child: memory.max, cpu.max;
 * - cgroup v1, where the memory and cpu hierarchies are mounted (ROOT/memory, ROOT/cpu)
 *   and writable: memory.limit_in_bytes, cpu.cfs_quota_us over cpu.cfs_period_us.
 *
 * v2 is taken when it has both controllers, else v1. The groups nest under the
 * supervisor's own (so they stay within whatever limits it has): one group PREFIX-PID per
 * rack (cgroup_host_open creates it, PID the supervisor's), one per VM under it. Groups
 * of a supervisor that was killed (SIGKILL leaves them behind) are removed by the next
 * one, once their VMs have gone too. A VM's process joins its
 * group itself, between fork and exec, so that guest RAM is charged from the first page.
 * Where neither is usable, cgroup_host_open says why and the limits are not enforced.
 */
#ifndef RACKVM_HOST_CGROUP_H
#define RACKVM_HOST_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cgroup_version { CGROUP_NONE, CGROUP_V1, CGROUP_V2 };

#define CGROUP_CPU_PERIOD_US 100000

/* The rack's groups: for v2 memory_dir == cpu_dir. */
struct cgroup_host {
    enum cgroup_version version;
    char memory_dir[PATH_MAX];
    char cpu_dir[PATH_MAX];
};

struct cgroup_limits {
    uint64_t memory_bytes;   /* 0: none */
    unsigned cpu_millis;     /* thousandths of a CPU; 0: none */
};

/* One VM's groups and their cgroup.procs, open for the child to write itself into. */
struct cgroup_vm {
    char memory_dir[PATH_MAX];
    char cpu_dir[PATH_MAX];
    int procs_fd[2];         /* -1 when not open */
};

/*
 * Finds the hierarchy under root ("/sys/fs/cgroup"; a directory standing in for it in
 * tests), the supervisor's place in it from self_cgroup ("/proc/self/cgroup"), removes
 * the empty groups of dead supervisors there and creates this one's, PREFIX-PID. 0; or
 * -1 with h->version CGROUP_NONE and why.
 */
int cgroup_host_open(struct cgroup_host *h, const char *root, const char *self_cgroup,
                     const char *prefix, char *why, size_t whylen);
/* Removes the rack's group (empty by then). */
void cgroup_host_close(struct cgroup_host *h);

/* Creates the VM's group named name with limits written. 0, or -1 with why. */
int cgroup_vm_create(const struct cgroup_host *h, const char *name, const struct cgroup_limits *lim,
                     struct cgroup_vm *vm, char *why, size_t whylen);
/* Moves the calling process into the VM's groups: async-signal-safe, for a forked child. */
int cgroup_vm_join(const struct cgroup_vm *vm);
/* Closes the group's files and removes it (its process has ended). */
void cgroup_vm_remove(struct cgroup_vm *vm);

#endif
