/*
 * The rack file: a YAML description of the VMs of one rack and the networks they plug
 * into, read with libyaml. Every path in it is taken relative to the file's directory.
 *
 *   networks:
 *     lan:
 *       uplink: {type: user, hostfwd: ["tcp::8080-:80"]}   # optional NAT to the host
 *   vms:
 *     web:
 *       kernel: Image               # and/or firmware: FILE (alone: disk-only boot)
 *       initrd: initramfs.cpio.gz
 *       cmdline: "console=ttyS0"
 *       memory: 128                 # MiB
 *       cpus: 1
 *       disks: [{path: web.img, readonly: false}]
 *       nics: [{network: lan, mac: "52:54:00:00:00:01"}]
 *       restart: on-failure         # no | on-failure | always
 *       restart_limit: {count: 5, window: 60}   # at most 5 restarts in 60 s
 *       shutdown_timeout: 10        # seconds a stop waits for the guest's poweroff
 *       limits: {memory: 256, cpu: 1.5}   # MiB of the whole process, CPUs (cgroup.h)
 *   users: {first_id: 1900000000}   # a root rack's ids (below)
 *
 * rack_file_load checks everything it can before anything starts: YAML syntax, unknown
 * or missing keys, wrong value types, duplicate names, a NIC on an undeclared network,
 * images that do not exist. Its error names the file, the line and the key.
 */
#ifndef RACKVM_RACK_FILE_H
#define RACKVM_RACK_FILE_H

#include <sys/types.h>

#include "common.h"

#define RACK_MAX_DISKS 4
#define RACK_MAX_NICS 4
#define RACK_MAX_HOSTFWD 16
/* The default memory limit of a VM's process: its guest RAM, the JIT's code buffer of
 * each vCPU (the supervisor passes its size as --jit-cache-mib, below rackvm run's
 * default, so that it fits), and the rest of the monitor (code, libraries, device
 * buffers) with room for the page cache of its images, which the limit reclaims. */
#define RACK_JIT_MIB_PER_CPU 32
#define RACK_MONITOR_MIB 64

/*
 * The ids of a root rack's VMs and networks: from first_id up, VM i (in the file's order)
 * runs as uid and gid first_id + i, and network j's socket belongs to group
 * first_id + nvms + j, which its VMs have as a supplementary group. The default lies in
 * what systemd's UIDS-GIDS.md leaves unused (1879048192-2147483647: past its container
 * ranges, below 2^31); the supervisor refuses ids that passwd, group, /etc/subuid or
 * /etc/subgid already give out.
 */
#define RACK_FIRST_ID_DEFAULT 1900000000u
#define RACK_FIRST_ID_MIN 1000u   /* below: the distribution's system users */

enum rack_restart { RACK_RESTART_NO, RACK_RESTART_ON_FAILURE, RACK_RESTART_ALWAYS };

struct rack_disk {
    char *path;      /* absolute, or relative to the working directory */
    bool readonly;
};

struct rack_nic {
    unsigned network;  /* index into rack_file.networks */
    char *mac;         /* NULL: rackvm run picks one */
};

struct rack_vm {
    char *name;
    char *kernel, *initrd, *cmdline, *firmware;  /* NULL when not given */
    unsigned memory_mib, cpus;
    struct rack_disk disks[RACK_MAX_DISKS];
    unsigned ndisks;
    struct rack_nic nics[RACK_MAX_NICS];
    unsigned nnics;
    enum rack_restart restart;
    unsigned restart_count;     /* restarts allowed in restart_window seconds */
    unsigned restart_window;
    unsigned shutdown_timeout;  /* seconds a stop gives the guest before forcing it */
    unsigned limit_memory_mib;  /* of the whole process; default rack_vm_default_memory_limit */
    unsigned limit_cpu_millis;  /* thousandths of a CPU; 0: not limited */
};

struct rack_network {
    char *name;
    bool uplink;                /* NAT to the host (libslirp) */
    char *hostfwd[RACK_MAX_HOSTFWD];
    unsigned nhostfwd;
};

struct rack_file {
    char *path;
    struct rack_vm *vms;
    unsigned nvms;
    struct rack_network *networks;
    unsigned nnetworks;
    unsigned first_id;          /* users: first_id (RACK_FIRST_ID_DEFAULT) */
};

/* Reads and checks path. NULL with "FILE:LINE: KEY: what is wrong" in err. */
struct rack_file *rack_file_load(const char *path, char *err, size_t errlen);
void rack_file_free(struct rack_file *rf);
unsigned rack_vm_default_memory_limit(const struct rack_vm *vm);
/* How many ids from first_id the rack takes, VM i's uid (and gid), network j's group. */
unsigned rack_ids_used(const struct rack_file *rf);
uid_t rack_vm_id(const struct rack_file *rf, unsigned vm);
gid_t rack_network_gid(const struct rack_file *rf, unsigned network);
const char *rack_restart_name(enum rack_restart r);

#endif
