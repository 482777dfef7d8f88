/* `rackvm run`: parses its options, boots one VM, and maps how it stopped to an exit status. */
#ifndef RACKVM_CMD_RUN_H
#define RACKVM_CMD_RUN_H

#include <stdio.h>

#include "debug/gdb_stub.h"
#include "host/net_config.h"
#include "machine/machine.h"

/* rackvm run's exit status when the guest kernel panicked (pvpanic), told apart from a
 * clean poweroff (0), a monitor error (1), bad input (2) and a signal (128 + N). */
#define RUN_EXIT_GUEST_PANIC 3
/* rackvm run's exit status when the guest rebooted and rackvm did not boot it again
 * (--on-reboot exit), so that a supervisor tells a reboot from a poweroff. */
#define RUN_EXIT_GUEST_REBOOT 4

int cmd_run(int argc, char **argv);
/* The run command's option list, also shown by `rackvm --help`. */
void cmd_run_usage(FILE *out);

/* What the options asked for; cfg.nets points into nets. */
struct run_options {
    struct machine_config cfg;
    struct net_config nets[VIRT_VIRTIO_COUNT];
    unsigned shutdown_timeout;  /* --shutdown-timeout, seconds */
    /* No --kernel but a disk: cfg boots the firmware chain (OpenSBI, U-Boot) from it. */
    bool boot_disk;
    const char *api_socket;     /* --api-socket PATH, or NULL */
    bool gdb;                   /* --gdb: serve gdb at gdb_address */
    struct gdb_address gdb_address;
    bool gdb_wait;              /* --gdb-wait: harts wait for gdb before their first instruction */
    bool sandbox;               /* --sandbox on (default) or jail */
    bool sandbox_jail;          /* --sandbox jail */
    const char *sandbox_user;   /* --sandbox-user; NULL: nobody */
    const char *restore_dir;    /* --restore DIR, or NULL */
    bool perf_map;              /* --perf-map: name translated code for perf (jit_perf_map_open) */
};

enum run_parse { RUN_PARSE_OK, RUN_PARSE_HELP, RUN_PARSE_VERSION, RUN_PARSE_BAD };

/*
 * Parses run's argv (argv[0] is the command word) into *o without opening files or
 * printing; the caller probes the disks. On RUN_PARSE_BAD, err holds the one-line message
 * the user sees after "rackvm: ". argv may be permuted and --disk values are split in
 * place: cfg keeps pointers into argv.
 */
enum run_parse run_options_parse(int argc, char **argv, struct run_options *o, char *err,
                                 size_t errlen);

/*
 * Parses a --disk value "path=FILE[,readonly=on|off][,serial=ID]" in place (d keeps
 * pointers into arg). Returns 0, or -1 with the message in err.
 */
int run_parse_disk(char *arg, struct disk_config *d, char *err, size_t errlen);

#endif
