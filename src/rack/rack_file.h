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
 *
 * rack_file_load checks everything it can before anything starts: YAML syntax, unknown
 * or missing keys, wrong value types, duplicate names, a NIC on an undeclared network,
 * images that do not exist. Its error names the file, the line and the key.
 */
#ifndef RACKVM_RACK_FILE_H
#define RACKVM_RACK_FILE_H

#include "common.h"

#define RACK_MAX_DISKS 4
#define RACK_MAX_NICS 4
#define RACK_MAX_HOSTFWD 16

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
};

/* Reads and checks path. NULL with "FILE:LINE: KEY: what is wrong" in err. */
struct rack_file *rack_file_load(const char *path, char *err, size_t errlen);
void rack_file_free(struct rack_file *rf);
const char *rack_restart_name(enum rack_restart r);

#endif
