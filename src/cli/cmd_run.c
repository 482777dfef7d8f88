#include "cli/cmd_run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/server.h"
#include "cli/signals.h"
#include "cli/version.h"
#include "cpu/interp.h"
#include "cpu/jit.h"
#include "devices/virtio/virtio_blk.h"
#include "host/boot_disk.h"
#include "host/console.h"
#include "host/net_config.h"
#include "host/sandbox.h"
#include "machine/boot.h"
#include "machine/loader.h"
#include "machine/machine.h"
#include "machine/snapshot.h"

#define DEFAULT_MEMORY (256ULL << 20)
#define MIN_MEMORY (16ULL << 20)
#define MAX_MEMORY (64ULL << 30)
#define DEFAULT_CMDLINE "console=ttyS0"
#define DEFAULT_CMDLINE_HVC "console=hvc0"
#define DEFAULT_SHUTDOWN_TIMEOUT 30
#define MAX_SHUTDOWN_TIMEOUT 3600
#define MAX_JIT_CACHE_MIB ((int)(JIT_MAX_CODE_SIZE >> 20))
/* Disk boot (no --kernel): Debian's OpenSBI (package opensbi) hands S-mode to Debian's
 * U-Boot (package u-boot-qemu), whose distro boot reads the disk's extlinux.conf. A
 * distribution with systemd wants more than the default RAM. */
#define DISK_BOOT_FIRMWARE "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
#define DISK_BOOT_LOADER "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"
#define DISK_BOOT_MEMORY (1ULL << 30)

void cmd_run_usage(FILE *out)
{
    fprintf(out,
            "usage: rackvm run --kernel FILE [options]\n"
            "       rackvm run --disk path=IMG [options]   (boot the disk, as a PC does)\n"
            "\n"
            "  --kernel FILE        Linux RISC-V Image, gzip-compressed Image, or ELF; without\n"
            "                       it the first disk is booted through OpenSBI and U-Boot\n"
            "                       (its /boot/extlinux/extlinux.conf; default memory 1G)\n"
            "  --initrd FILE        initial ramdisk\n"
            "  --cmdline STR        kernel command line (default \"%s\")\n"
            "  --memory SIZE        guest RAM, e.g. 512M or 2G; a bare number is MiB (default 256M)\n"
            "  --cpus N             number of harts, 1-%d (default 1)\n"
            "  --firmware KIND      builtin (SBI served by rackvm, default), none (bare-metal\n"
            "                       M-mode ELF), or a firmware FILE such as OpenSBI fw_dynamic.bin\n"
            "  --on-reboot ACTION   restart (default) or exit when the guest reboots\n"
            "  --disk path=FILE[,readonly=on][,serial=ID]\n"
            "                       raw disk image as a virtio-blk disk (repeatable; the first\n"
            "                       is /dev/vda); serial: up to %d bytes for GET_ID\n"
            "  --rng                virtio-rng device fed by the host's getrandom()\n"
            "  --console KIND       serial (default) or virtio: console input goes to a\n"
            "                       virtio console (hvc0; default cmdline then \"%s\")\n"
            "  --net user[,hostfwd=tcp:[HOSTADDR]:PORT-:GUESTPORT]...[,mac=MAC]\n"
            "  --net tap=IFNAME[,mac=MAC]\n"
            "  --net switch=SOCKET[,mac=MAC][,missing=error|link-down]\n"
            "                       virtio-net NIC (repeatable) on user networking (10.0.2.15 by\n"
            "                       DHCP, host and gateway 10.0.2.2, DNS 10.0.2.3), a host tap,\n"
            "                       or a port of the `rackvm switch` listening on SOCKET (none\n"
            "                       there: an error, or with missing=link-down a NIC without\n"
            "                       link until one listens)\n"
            "  --shutdown-timeout S seconds the guest gets to power off after SIGINT/SIGTERM\n"
            "                       or a stop request before rackvm stops it (default %d;\n"
            "                       0: stop at once)\n"
            "  --api-socket PATH    serve the JSON control protocol (status, pause, resume,\n"
            "                       stop, reset, stats, snapshot) on a Unix socket at PATH\n"
            "  --restore DIR        resume the snapshot in DIR (written by the snapshot\n"
            "                       command) instead of booting; give the device options it\n"
            "                       was taken with (--memory and --cpus come from it)\n"
            "  --gdb tcp:HOST:PORT  serve the GDB remote protocol there (tcp::PORT: 127.0.0.1)\n"
            "  --gdb-wait           with --gdb, stop every hart before its first instruction\n"
            "                       until gdb lets it go\n"
            "  --sandbox on|jail|off  once started, drop root to an unprivileged user and\n"
            "                       allow only the system calls a running VM makes (default\n"
            "                       on; a blocked call exits with status %d, naming it);\n"
            "                       jail: also mount, IPC, UTS and, without user net, tap\n"
            "                       or gdb, network namespaces of its own (not root: behind\n"
            "                       a user namespace), in an empty root where only switch\n"
            "                       sockets' directories stay reachable (a snapshot cannot\n"
            "                       be written from there)\n"
            "  --sandbox-user USER|UID:GID[:GID,...]\n"
            "                       the user a VM started as root runs as (default %s);\n"
            "                       numeric: its uid, group and supplementary groups\n"
            "  --dump-dtb FILE      write the generated device tree to FILE and exit\n"
            "  --trace              print every executed instruction to stderr (slow)\n"
            "  --jit on|off|eager   translate hot guest code to host code (default on where\n"
            "                       the host has a translator), only interpret (off), or\n"
            "                       translate every block at its first run (eager)\n"
            "  --jit-cache-mib N    each hart's buffer of translated code, in MiB (1 to %d,\n"
            "                       default %d); when full, every translation is dropped\n"
            "  --perf-map           name translated code for perf: /tmp/perf-PID.map maps it\n"
            "                       to \"rv:\" and the guest pc of the code it translates;\n"
            "                       /tmp/jit-PID.dump holds its bytes (perf inject --jit)\n"
            "  --cpu h=on|off       the H extension: a guest may run its own hypervisor (KVM)\n"
            "                       (default on)\n"
            "  --help, --version\n"
            "\n"
            "Console: Ctrl-A x quits, Ctrl-A h lists the keys. At most %d virtio devices; a\n"
            "virtio-input power button takes the next free slot. SIGINT/SIGTERM press it; a\n"
            "second signal or the timeout stops the VM (exit status 128 + signal number).\n"
            "A guest kernel panic reported through pvpanic stops the VM with exit status %d;\n"
            "a reboot that rackvm does not boot again (--on-reboot exit), with status %d.\n",
            DEFAULT_CMDLINE, MACHINE_MAX_HARTS, VIRTIO_BLK_SERIAL_MAX, DEFAULT_CMDLINE_HVC,
            DEFAULT_SHUTDOWN_TIMEOUT, SANDBOX_BLOCKED_STATUS, SANDBOX_DEFAULT_USER, MAX_JIT_CACHE_MIB,
            (int)(INTERP_CODE_SIZE_DEFAULT >> 20), VIRT_VIRTIO_COUNT, RUN_EXIT_GUEST_PANIC, RUN_EXIT_GUEST_REBOOT);
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_FIRMWARE, OPT_ON_REBOOT,
       OPT_DUMP_DTB, OPT_TRACE, OPT_JIT, OPT_HELP, OPT_VERSION, OPT_DISK, OPT_RNG, OPT_CONSOLE, OPT_NET,
       OPT_SHUTDOWN_TIMEOUT, OPT_API_SOCKET, OPT_GDB, OPT_GDB_WAIT, OPT_SANDBOX, OPT_SANDBOX_USER,
       OPT_RESTORE, OPT_CPU, OPT_JIT_CACHE_MIB, OPT_PERF_MAP };

static const struct option run_options[] = {
    { "kernel", required_argument, NULL, OPT_KERNEL },
    { "initrd", required_argument, NULL, OPT_INITRD },
    { "cmdline", required_argument, NULL, OPT_CMDLINE },
    { "append", required_argument, NULL, OPT_CMDLINE },
    { "memory", required_argument, NULL, OPT_MEMORY },
    { "cpus", required_argument, NULL, OPT_CPUS },
    { "firmware", required_argument, NULL, OPT_FIRMWARE },
    { "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
    { "dump-dtb", required_argument, NULL, OPT_DUMP_DTB },
    { "trace", no_argument, NULL, OPT_TRACE },
    { "jit", required_argument, NULL, OPT_JIT },
    { "jit-cache-mib", required_argument, NULL, OPT_JIT_CACHE_MIB },
    { "perf-map", no_argument, NULL, OPT_PERF_MAP },
    { "cpu", required_argument, NULL, OPT_CPU },
    { "disk", required_argument, NULL, OPT_DISK },
    { "rng", no_argument, NULL, OPT_RNG },
    { "console", required_argument, NULL, OPT_CONSOLE },
    { "net", required_argument, NULL, OPT_NET },
    { "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
    { "api-socket", required_argument, NULL, OPT_API_SOCKET },
    { "gdb", required_argument, NULL, OPT_GDB },
    { "gdb-wait", no_argument, NULL, OPT_GDB_WAIT },
    { "sandbox", required_argument, NULL, OPT_SANDBOX },
    { "sandbox-user", required_argument, NULL, OPT_SANDBOX_USER },
    { "restore", required_argument, NULL, OPT_RESTORE },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

/* A whole decimal number from min to max into *out; false for anything else. */
static bool parse_count(const char *arg, long min, long max, unsigned *out)
{
    char *end;
    long n = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || n < min || n > max)
        return false;
    *out = (unsigned)n;
    return true;
}

int run_parse_disk(char *arg, struct disk_config *d, char *err, size_t errlen)
{
    *d = (struct disk_config){ 0 };
    char *save = NULL;
    for (char *item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        if (value)
            *value++ = '\0';
        if (value && !strcmp(item, "path")) {
            d->path = value;
        } else if (value && !strcmp(item, "serial")) {
            d->serial = value;
        } else if (value && !strcmp(item, "readonly") &&
                   (!strcmp(value, "on") || !strcmp(value, "off"))) {
            d->readonly = !strcmp(value, "on");
        } else {
            snprintf(err, errlen, "--disk: unknown sub-option '%s%s%s' (use path=FILE, "
                     "readonly=on|off, serial=ID)", item, value ? "=" : "", value ? value : "");
            return -1;
        }
    }
    if (!d->path || !*d->path) {
        snprintf(err, errlen, "--disk: path=FILE is required");
        return -1;
    }
    return 0;
}

enum run_parse run_options_parse(int argc, char **argv, struct run_options *o, char *err,
                                 size_t errlen)
{
    struct machine_config *cfg = &o->cfg;
    *cfg = (struct machine_config){
        .memory_size = DEFAULT_MEMORY,
        .nharts = 1,
        .cmdline = DEFAULT_CMDLINE,
        .firmware = FIRMWARE_BUILTIN_SBI,
        .hypervisor = true,
        .reboot_restarts = true,
        .power_button = true,
        .nets = o->nets,
    };
    o->shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
    o->boot_disk = false;
    o->api_socket = NULL;
    o->gdb = o->gdb_wait = false;
    o->sandbox = true;
    o->sandbox_jail = false;
    o->sandbox_user = NULL;
    o->restore_dir = NULL;
    o->perf_map = false;
    opterr = 0;
    optind = 0;  /* 0, not 1: glibc then also forgets a half-parsed "-xyz" of an earlier call */
    bool cmdline_given = false, memory_given = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", run_options, NULL)) != -1) {
        switch (opt) {
        case OPT_KERNEL: cfg->kernel_path = optarg; break;
        case OPT_INITRD: cfg->initrd_path = optarg; break;
        case OPT_CMDLINE:
            cfg->cmdline = optarg;
            cmdline_given = true;
            break;
        case OPT_MEMORY:
            memory_given = true;
            if (parse_size(optarg, &cfg->memory_size) < 0) {
                snprintf(err, errlen, "--memory: invalid size '%s' (use e.g. 512M or 2G)", optarg);
                return RUN_PARSE_BAD;
            }
            if (cfg->memory_size < MIN_MEMORY || cfg->memory_size > MAX_MEMORY) {
                snprintf(err, errlen, "--memory: %s is out of range (%llu MiB to %llu GiB)", optarg,
                         MIN_MEMORY >> 20, MAX_MEMORY >> 30);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_SHUTDOWN_TIMEOUT:
            if (!parse_count(optarg, 0, MAX_SHUTDOWN_TIMEOUT, &o->shutdown_timeout)) {
                snprintf(err, errlen, "--shutdown-timeout: '%s' is not a number of seconds "
                         "from 0 to %d", optarg, MAX_SHUTDOWN_TIMEOUT);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_CPUS:
            if (!parse_count(optarg, 1, MACHINE_MAX_HARTS, &cfg->nharts)) {
                snprintf(err, errlen, "--cpus: '%s' is not a number of harts from 1 to %d", optarg,
                         MACHINE_MAX_HARTS);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_FIRMWARE:
            if (!strcmp(optarg, "builtin")) {
                cfg->firmware = FIRMWARE_BUILTIN_SBI;
            } else if (!strcmp(optarg, "none")) {
                cfg->firmware = FIRMWARE_NONE;
            } else {
                cfg->firmware = FIRMWARE_FILE;
                cfg->firmware_path = optarg;
            }
            break;
        case OPT_ON_REBOOT:
            if (!strcmp(optarg, "restart")) {
                cfg->reboot_restarts = true;
            } else if (!strcmp(optarg, "exit")) {
                cfg->reboot_restarts = false;
            } else {
                snprintf(err, errlen, "--on-reboot: '%s' is not restart or exit", optarg);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_DUMP_DTB: cfg->dump_dtb_path = optarg; break;
        case OPT_API_SOCKET: o->api_socket = optarg; break;
        case OPT_RESTORE: o->restore_dir = optarg; break;
        case OPT_TRACE: cfg->trace = true; break;
        case OPT_PERF_MAP: o->perf_map = true; break;
        case OPT_JIT:
            if (!strcmp(optarg, "on") || !strcmp(optarg, "off") || !strcmp(optarg, "eager")) {
                cfg->interpret_only = !strcmp(optarg, "off");
                cfg->jit_hot_runs = !strcmp(optarg, "eager") ? 1 : 0;
            } else {
                snprintf(err, errlen, "--jit: '%s' is not on, off or eager", optarg);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_JIT_CACHE_MIB: {
            unsigned mib;
            if (!parse_count(optarg, 1, MAX_JIT_CACHE_MIB, &mib)) {
                snprintf(err, errlen, "--jit-cache-mib: '%s' is not a number of MiB from 1 to %d",
                         optarg, MAX_JIT_CACHE_MIB);
                return RUN_PARSE_BAD;
            }
            cfg->jit_code_size = (size_t)mib << 20;
            break;
        }
        case OPT_CPU:
            if (!strcmp(optarg, "h=on") || !strcmp(optarg, "h=off")) {
                cfg->hypervisor = !strcmp(optarg, "h=on");
            } else {
                snprintf(err, errlen, "--cpu: '%s' is not h=on or h=off", optarg);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_DISK:
            if (cfg->ndisks == VIRT_VIRTIO_COUNT) {
                snprintf(err, errlen, "--disk: too many disks (the board has %d virtio slots)",
                         VIRT_VIRTIO_COUNT);
                return RUN_PARSE_BAD;
            }
            if (run_parse_disk(optarg, &cfg->disks[cfg->ndisks], err, errlen) < 0)
                return RUN_PARSE_BAD;
            cfg->ndisks++;
            break;
        case OPT_RNG: cfg->rng = true; break;
        case OPT_GDB:
            if (gdb_parse_address(optarg, &o->gdb_address, err, errlen) < 0)
                return RUN_PARSE_BAD;
            o->gdb = true;
            break;
        case OPT_GDB_WAIT: o->gdb_wait = true; break;
        case OPT_NET: {
            char why[160];
            if (cfg->nnets == VIRT_VIRTIO_COUNT) {
                snprintf(err, errlen, "--net: too many NICs (the board has %d virtio slots)",
                         VIRT_VIRTIO_COUNT);
                return RUN_PARSE_BAD;
            }
            if (net_config_parse(optarg, &o->nets[cfg->nnets], why, sizeof(why)) < 0) {
                snprintf(err, errlen, "--net %s: %s", optarg, why);
                return RUN_PARSE_BAD;
            }
            cfg->nnets++;
            break;
        }
        case OPT_CONSOLE:
            if (!strcmp(optarg, "serial")) {
                cfg->console = CONSOLE_SERIAL;
            } else if (!strcmp(optarg, "virtio")) {
                cfg->console = CONSOLE_VIRTIO;
            } else {
                snprintf(err, errlen, "--console: '%s' is not serial or virtio", optarg);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_SANDBOX:
            if (!strcmp(optarg, "on") || !strcmp(optarg, "jail") || !strcmp(optarg, "off")) {
                o->sandbox = strcmp(optarg, "off") != 0;
                o->sandbox_jail = !strcmp(optarg, "jail");
            } else {
                snprintf(err, errlen, "--sandbox: '%s' is not on, jail or off", optarg);
                return RUN_PARSE_BAD;
            }
            break;
        case OPT_SANDBOX_USER:
            if (!*optarg) {
                snprintf(err, errlen, "--sandbox-user: the user name is empty");
                return RUN_PARSE_BAD;
            }
            o->sandbox_user = optarg;
            break;
        case OPT_HELP: return RUN_PARSE_HELP;
        case OPT_VERSION: return RUN_PARSE_VERSION;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return RUN_PARSE_BAD;
        default:
            /* An unknown letter of "-xyz" is named alone: argv[optind - 1] may be another word. */
            if (optopt)
                snprintf(err, errlen, "unknown option '-%c' (try rackvm run --help)", optopt);
            else
                snprintf(err, errlen, "unknown option '%s' (try rackvm run --help)", argv[optind - 1]);
            return RUN_PARSE_BAD;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (try rackvm run --help)", argv[optind]);
        return RUN_PARSE_BAD;
    }
    unsigned nvirtio = cfg->ndisks + cfg->rng + (cfg->console == CONSOLE_VIRTIO) + cfg->nnets;
    if (nvirtio > VIRT_VIRTIO_COUNT) {
        snprintf(err, errlen, "too many virtio devices: %u (the board has %d slots)", nvirtio,
                 VIRT_VIRTIO_COUNT);
        return RUN_PARSE_BAD;
    }
    if (o->gdb_wait && !o->gdb) {
        snprintf(err, errlen, "--gdb-wait needs --gdb tcp:HOST:PORT");
        return RUN_PARSE_BAD;
    }
    if (o->sandbox_user && !o->sandbox) {
        snprintf(err, errlen, "--sandbox-user needs --sandbox on or jail");
        return RUN_PARSE_BAD;
    }
    if (!cmdline_given && cfg->console == CONSOLE_VIRTIO)
        cfg->cmdline = DEFAULT_CMDLINE_HVC;
    if (!cfg->kernel_path && cfg->firmware == FIRMWARE_BUILTIN_SBI && cfg->ndisks > 0 &&
        !o->restore_dir) {
        if (cfg->initrd_path) {
            snprintf(err, errlen, "--initrd needs --kernel (a booted disk brings its own)");
            return RUN_PARSE_BAD;
        }
        o->boot_disk = true;
        cfg->firmware = FIRMWARE_FILE;
        cfg->firmware_path = DISK_BOOT_FIRMWARE;
        cfg->kernel_path = DISK_BOOT_LOADER;
        if (!memory_given)
            cfg->memory_size = DISK_BOOT_MEMORY;
    }
    if (!cfg->kernel_path && cfg->firmware != FIRMWARE_FILE && !o->restore_dir) {
        snprintf(err, errlen, "--kernel FILE is required%s",
                 cfg->firmware == FIRMWARE_NONE ? " with --firmware none"
                                                : " (or --disk path=IMG to boot a disk)");
        return RUN_PARSE_BAD;
    }
    return RUN_PARSE_OK;
}

/* Disk boot: the firmware chain is installed and the first disk has something to boot
 * (U-Boot scans only virtio 0). 0, or 2 after saying what is missing. */
static int check_boot_disk(const struct machine_config *cfg)
{
    static const struct { const char *path, *package; } chain[] = {
        { DISK_BOOT_FIRMWARE, "opensbi" }, { DISK_BOOT_LOADER, "u-boot-qemu" } };
    for (size_t i = 0; i < ARRAY_SIZE(chain); i++) {
        if (access(chain[i].path, R_OK) != 0) {
            fprintf(stderr, "rackvm: booting a disk without --kernel needs %s (Debian package "
                    "%s): %s\n", chain[i].path, chain[i].package, strerror(errno));
            return 2;
        }
    }
    char found[256], err[8192];
    if (boot_disk_check(cfg->disks[0].path, found, sizeof(found), err, sizeof(err)) < 0) {
        fprintf(stderr, "rackvm: --disk %s\n", err);
        return 2;
    }
    return 0;
}

/* Opens path for the whole run; a file that does not open is left to the loader, which
 * then says why when it opens the path itself. */
static void keep_file(const char *path, struct kept_file *f)
{
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
    *f = (struct kept_file){ .kept = fd >= 0, .fd = fd };
}

/* Parses the options, checks that each disk opens as asked and keeps the disks, kernel,
 * initrd and firmware open for the run: 0, 1 when done, 2 on bad input. */
static int parse_run_options(int argc, char **argv, struct run_options *o)
{
    char err[8192];  /* room for a whole path in the message */
    switch (run_options_parse(argc, argv, o, err, sizeof(err))) {
    case RUN_PARSE_OK: break;
    case RUN_PARSE_HELP: cmd_run_usage(stdout); return 1;
    case RUN_PARSE_VERSION: printf("rackvm %s\n", RACKVM_VERSION); return 1;
    case RUN_PARSE_BAD:
        fprintf(stderr, "rackvm: %s\n", err);
        return 2;
    }
    for (unsigned i = 0; i < o->cfg.ndisks; i++) {
        struct blk_backend probe;
        int rc = blk_backend_open(&probe, &o->cfg.disks[i], err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "rackvm: --disk %s%s\n", err, rc == -EROFS ? " (add readonly=on)" : "");
            return 2;
        }
        /* Kept open for the whole run: a reboot then opens nothing (see kept_file). */
        o->cfg.disks[i].file = (struct kept_file){ .kept = true, .fd = probe.fd };
        probe.fd = -1;
        blk_backend_close(&probe);
    }
    if (o->boot_disk && check_boot_disk(&o->cfg) != 0)
        return 2;
    keep_file(o->cfg.kernel_path, &o->cfg.kernel_file);
    keep_file(o->cfg.initrd_path, &o->cfg.initrd_file);
    keep_file(o->cfg.firmware == FIRMWARE_FILE ? o->cfg.firmware_path : NULL,
              &o->cfg.firmware_file);
    return 0;
}

/* Closes what parse_run_options kept open. */
static void release_run_files(struct run_options *o)
{
    struct kept_file *files[3 + VIRT_VIRTIO_COUNT] = { &o->cfg.kernel_file, &o->cfg.initrd_file,
                                                       &o->cfg.firmware_file };
    unsigned n = 3;
    for (unsigned i = 0; i < o->cfg.ndisks; i++)
        files[n++] = &o->cfg.disks[i].file;
    for (unsigned i = 0; i < n; i++) {
        if (files[i]->kept)
            close(files[i]->fd);
        *files[i] = (struct kept_file){ .kept = false, .fd = -1 };
    }
}

/*
 * The first machine of a --restore run: made with the snapshot's memory and harts, its
 * RAM mapped from the snapshot, its state put back, then its host console. NULL after
 * printing why.
 */
static struct machine *restore_machine(const struct machine_config *options,
                                       const struct snapshot *snap)
{
    struct machine_config cfg = *options;
    cfg.memory_size = snapshot_memory_size(snap);
    cfg.nharts = snapshot_nharts(snap);
    cfg.memory_file = snapshot_memory_path(snap);
    struct machine *m = machine_create(&cfg, false);
    if (!m)
        return NULL;
    char err[8192];
    if (snapshot_restore(m, snap, err, sizeof(err)) < 0) {
        fprintf(stderr, "rackvm: --restore: %s\n", err);
        machine_destroy(m);
        return NULL;
    }
    /* Only now does the console read stdin: input it had read before went into the UART
     * or virtio console that the restore then overwrote (no hart runs yet, so no device
     * writes to the console while it is set). */
    if (!(m->console = machine_console_create(m, 0, 1))) {
        machine_destroy(m);
        return NULL;
    }
    return m;
}

/* What a VM of cfg still does after start-up, for the sandbox. */
static struct sandbox_config sandbox_needs(const struct run_options *o)
{
    const struct machine_config *cfg = &o->cfg;
    struct sandbox_config sb = {
        .user = o->sandbox_user,
        .on_blocked = console_restore_terminal,
        .api_socket = o->api_socket != NULL,
        .gdb = o->gdb,
        .jail = o->sandbox_jail,
    };
    unsigned nsockets = 0;
    for (unsigned i = 0; i < cfg->nnets; i++) {
        if (cfg->nets[i].kind == NET_SWITCH && nsockets < ARRAY_SIZE(sb.switch_sockets))
            sb.switch_sockets[nsockets++] = cfg->nets[i].socket_path;
        sb.user_net |= cfg->nets[i].kind == NET_USER;
        sb.tap |= cfg->nets[i].kind == NET_TAP && cfg->reboot_restarts;
        sb.switch_net |= cfg->nets[i].kind == NET_SWITCH;
    }
    return sb;
}

/* Boots machines until one stops for good; returns the exit status. vm: the control
 * socket's view of them, or NULL. snap: the snapshot the first one resumes, or NULL. The
 * sandbox goes on once the first machine has opened its files and devices, before any
 * guest code runs. */
static int run_machines(const struct run_options *o, struct api_vm *vm,
                        const struct snapshot *snap)
{
    const struct machine_config *cfg = &o->cfg;
    bool sandboxed = false;
    for (;;) {
        struct machine *m;
        if (snap) {
            if (!(m = restore_machine(cfg, snap)))
                return 1;
        } else {
            if (!(m = machine_create(cfg, cfg->dump_dtb_path == NULL)))
                return 1;
            int prepared = boot_prepare(m);
            if (prepared != 0) {
                machine_destroy(m);
                return prepared > 0 ? 0 : 1;
            }
        }
        struct gdb_stub *gdb = NULL;
        if (o->gdb && !(gdb = gdb_stub_start(m, &o->gdb_address, o->gdb_wait))) {
            machine_destroy(m);
            return 1;
        }
        if (o->sandbox && !sandboxed) {
            struct sandbox_config sb = sandbox_needs(o);
            if (sandbox_enter(&sb) < 0) {
                machine_destroy(m);
                return 1;
            }
            sandboxed = true;
        }
        signals_attach(m);
        if (vm)
            api_vm_attach(vm, m);
        enum stop_reason why = machine_run(m);
        if (vm)
            api_vm_attach(vm, NULL);
        signals_attach(NULL);
        gdb_stub_stop(gdb);
        int code = m->stop_code;
        char message[sizeof(m->stop_message)];
        snprintf(message, sizeof(message), "%s", m->stop_message);
        machine_destroy(m);
        switch (why) {
        case STOP_REBOOT:
            /* A restored VM reboots into a fresh boot only when it has a kernel to boot. */
            if (cfg->reboot_restarts && !signals_forced_status() &&
                (cfg->kernel_path || cfg->firmware == FIRMWARE_FILE)) {
                snap = NULL;
                continue;
            }
            return signals_forced_status() ? signals_forced_status() : RUN_EXIT_GUEST_REBOOT;
        case STOP_POWEROFF:
        case STOP_USER:
            return 0;
        case STOP_SIGNAL:
            return code;
        case STOP_PANIC:
            fprintf(stderr, "rackvm: %s\n", message);
            return RUN_EXIT_GUEST_PANIC;
        case STOP_FAIL:
            fprintf(stderr, "rackvm: %s (code %d)\n", message, code);
            return code > 0 && code < 256 ? code : 1;
        default:
            fprintf(stderr, "rackvm: %s\n", message[0] ? message : "stopped on an error");
            return 1;
        }
    }
}

int cmd_run(int argc, char **argv)
{
    struct run_options opts;
    int rc = parse_run_options(argc, argv, &opts);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* Before any thread exists: namespaces are each thread's own. */
    struct sandbox_config sb = sandbox_needs(&opts);
    if (sandbox_prepare(&sb) < 0)
        return 1;
    opts.sandbox_jail = sb.jail;
    /* Before any thread exists, so that every thread inherits the blocked signals. */
    if (signals_start(opts.shutdown_timeout, isatty(STDIN_FILENO)) < 0)
        return 1;
    if (!opts.sandbox)
        rvm_error("WARNING: --sandbox off: the VM runs with every privilege and system call of "
                  "this process; a guest that breaks out of the emulator owns them. For debugging only.");
    /* Before the sandbox, which lets the harts write to it but not open it. */
    if (opts.perf_map && jit_perf_map_open() < 0) {
        rvm_error("--perf-map: cannot open perf's map in /tmp: %s", strerror(errno));
        signals_stop();
        return 1;
    }
    struct snapshot *snap = NULL;
    if (opts.restore_dir) {
        char err[8192];
        if (!(snap = snapshot_open(opts.restore_dir, err, sizeof(err)))) {
            fprintf(stderr, "rackvm: --restore: %s\n", err);
            signals_stop();
            return 2;
        }
    }
    struct api_vm vm;
    struct api_server *server = NULL;
    api_vm_init(&vm, opts.shutdown_timeout);
    vm.jailed = opts.sandbox_jail;
    if (opts.api_socket && !opts.cfg.dump_dtb_path &&
        !(server = api_server_start(opts.api_socket, &vm))) {
        rc = 1;
    } else {
        rc = run_machines(&opts, server ? &vm : NULL, snap);
        api_server_stop(server);
    }
    api_vm_destroy(&vm);
    snapshot_close(snap);
    release_run_files(&opts);
    signals_stop();
    return rc;
}
