#include "cli/cmd_run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/signals.h"
#include "cli/version.h"
#include "devices/virtio/virtio_blk.h"
#include "host/net_config.h"
#include "machine/boot.h"
#include "machine/loader.h"
#include "machine/machine.h"

#define DEFAULT_MEMORY (256ULL << 20)
#define MIN_MEMORY (16ULL << 20)
#define MAX_MEMORY (64ULL << 30)
#define DEFAULT_CMDLINE "console=ttyS0"
#define DEFAULT_CMDLINE_HVC "console=hvc0"
#define DEFAULT_SHUTDOWN_TIMEOUT 30
#define MAX_SHUTDOWN_TIMEOUT 3600

void cmd_run_usage(FILE *out)
{
    fprintf(out,
            "usage: rackvm run --kernel FILE [options]\n"
            "\n"
            "  --kernel FILE        Linux RISC-V Image, gzip-compressed Image, or ELF\n"
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
            "                       virtio-net NIC (repeatable) on user networking (10.0.2.15 by\n"
            "                       DHCP, host and gateway 10.0.2.2, DNS 10.0.2.3) or a host tap\n"
            "  --shutdown-timeout S seconds the guest gets to power off after SIGINT/SIGTERM\n"
            "                       before rackvm stops it (default %d; 0: stop at once)\n"
            "  --dump-dtb FILE      write the generated device tree to FILE and exit\n"
            "  --trace              print every executed instruction to stderr (slow)\n"
            "  --jit on|off|eager   translate hot guest code to host code (default on where\n"
            "                       the host has a translator), only interpret (off), or\n"
            "                       translate every block at its first run (eager)\n"
            "  --help, --version\n"
            "\n"
            "Console: Ctrl-A x quits, Ctrl-A h lists the keys. At most %d virtio devices; a\n"
            "virtio-input power button takes the next free slot. SIGINT/SIGTERM press it; a\n"
            "second signal or the timeout stops the VM (exit status 128 + signal number).\n",
            DEFAULT_CMDLINE, MACHINE_MAX_HARTS, VIRTIO_BLK_SERIAL_MAX, DEFAULT_CMDLINE_HVC,
            DEFAULT_SHUTDOWN_TIMEOUT, VIRT_VIRTIO_COUNT);
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEMORY, OPT_CPUS, OPT_FIRMWARE, OPT_ON_REBOOT,
       OPT_DUMP_DTB, OPT_TRACE, OPT_JIT, OPT_HELP, OPT_VERSION, OPT_DISK, OPT_RNG, OPT_CONSOLE, OPT_NET,
       OPT_SHUTDOWN_TIMEOUT };

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
    { "disk", required_argument, NULL, OPT_DISK },
    { "rng", no_argument, NULL, OPT_RNG },
    { "console", required_argument, NULL, OPT_CONSOLE },
    { "net", required_argument, NULL, OPT_NET },
    { "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

/*
 * Parses "path=FILE[,readonly=on|off][,serial=ID]" in place (cfg keeps pointers into
 * arg) and checks that the image opens as asked. Returns 0, or 2 after printing why.
 */
static int parse_disk(char *arg, struct machine_config *cfg)
{
    if (cfg->ndisks == VIRT_VIRTIO_COUNT) {
        fprintf(stderr, "rackvm: --disk: too many disks (the board has %d virtio slots)\n",
                VIRT_VIRTIO_COUNT);
        return 2;
    }
    struct disk_config d = { 0 };
    char *save = NULL;
    for (char *item = strtok_r(arg, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *value = strchr(item, '=');
        if (value)
            *value++ = '\0';
        if (value && !strcmp(item, "path")) {
            d.path = value;
        } else if (value && !strcmp(item, "serial")) {
            d.serial = value;
        } else if (value && !strcmp(item, "readonly") &&
                   (!strcmp(value, "on") || !strcmp(value, "off"))) {
            d.readonly = !strcmp(value, "on");
        } else {
            fprintf(stderr, "rackvm: --disk: unknown sub-option '%s%s%s' (use path=FILE, "
                    "readonly=on|off, serial=ID)\n", item, value ? "=" : "", value ? value : "");
            return 2;
        }
    }
    if (!d.path || !*d.path) {
        fprintf(stderr, "rackvm: --disk: path=FILE is required\n");
        return 2;
    }
    struct blk_backend probe;
    if (blk_backend_open(&probe, &d) < 0)
        return 2;
    blk_backend_close(&probe);
    cfg->disks[cfg->ndisks++] = d;
    return 0;
}

/* The --net values; cfg->nets points here. */
static struct net_config nets[VIRT_VIRTIO_COUNT];

static int parse_net(const char *arg, struct machine_config *cfg)
{
    char err[160];
    if (cfg->nnets == VIRT_VIRTIO_COUNT) {
        fprintf(stderr, "rackvm: --net: too many NICs (the board has %d virtio slots)\n",
                VIRT_VIRTIO_COUNT);
        return 2;
    }
    if (net_config_parse(arg, &nets[cfg->nnets], err, sizeof(err)) < 0) {
        fprintf(stderr, "rackvm: --net %s: %s\n", arg, err);
        return 2;
    }
    cfg->nets = nets;
    cfg->nnets++;
    return 0;
}

/*
 * Returns 0 and fills cfg and *shutdown_timeout, 1 when the command is done
 * (help/version), 2 on bad input.
 */
static int parse_run_options(int argc, char **argv, struct machine_config *cfg,
                             unsigned *shutdown_timeout)
{
    *cfg = (struct machine_config){
        .memory_size = DEFAULT_MEMORY,
        .nharts = 1,
        .cmdline = DEFAULT_CMDLINE,
        .firmware = FIRMWARE_BUILTIN_SBI,
        .reboot_restarts = true,
        .power_button = true,
    };
    *shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
    opterr = 0;
    optind = 1;
    bool cmdline_given = false;
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
            if (parse_size(optarg, &cfg->memory_size) < 0) {
                fprintf(stderr, "rackvm: --memory: invalid size '%s' (use e.g. 512M or 2G)\n", optarg);
                return 2;
            }
            if (cfg->memory_size < MIN_MEMORY || cfg->memory_size > MAX_MEMORY) {
                fprintf(stderr, "rackvm: --memory: %s is out of range (%llu MiB to %llu GiB)\n", optarg,
                        MIN_MEMORY >> 20, MAX_MEMORY >> 30);
                return 2;
            }
            break;
        case OPT_SHUTDOWN_TIMEOUT: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || n < 0 || n > MAX_SHUTDOWN_TIMEOUT) {
                fprintf(stderr, "rackvm: --shutdown-timeout: '%s' is not a number of seconds "
                        "from 0 to %d\n", optarg, MAX_SHUTDOWN_TIMEOUT);
                return 2;
            }
            *shutdown_timeout = (unsigned)n;
            break;
        }
        case OPT_CPUS: {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || n < 1 || n > MACHINE_MAX_HARTS) {
                fprintf(stderr, "rackvm: --cpus: '%s' is not a number of harts from 1 to %d\n", optarg,
                        MACHINE_MAX_HARTS);
                return 2;
            }
            cfg->nharts = (unsigned)n;
            break;
        }
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
                fprintf(stderr, "rackvm: --on-reboot: '%s' is not restart or exit\n", optarg);
                return 2;
            }
            break;
        case OPT_DUMP_DTB: cfg->dump_dtb_path = optarg; break;
        case OPT_TRACE: cfg->trace = true; break;
        case OPT_JIT:
            if (!strcmp(optarg, "on") || !strcmp(optarg, "off") || !strcmp(optarg, "eager")) {
                cfg->interpret_only = !strcmp(optarg, "off");
                cfg->jit_hot_runs = !strcmp(optarg, "eager") ? 1 : 0;
            } else {
                fprintf(stderr, "rackvm: --jit: '%s' is not on, off or eager\n", optarg);
                return 2;
            }
            break;
        case OPT_DISK:
            if (parse_disk(optarg, cfg))
                return 2;
            break;
        case OPT_RNG: cfg->rng = true; break;
        case OPT_NET:
            if (parse_net(optarg, cfg))
                return 2;
            break;
        case OPT_CONSOLE:
            if (!strcmp(optarg, "serial")) {
                cfg->console = CONSOLE_SERIAL;
            } else if (!strcmp(optarg, "virtio")) {
                cfg->console = CONSOLE_VIRTIO;
            } else {
                fprintf(stderr, "rackvm: --console: '%s' is not serial or virtio\n", optarg);
                return 2;
            }
            break;
        case OPT_HELP: cmd_run_usage(stdout); return 1;
        case OPT_VERSION: printf("rackvm %s\n", RACKVM_VERSION); return 1;
        case ':':
            fprintf(stderr, "rackvm: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "rackvm: unknown option '%s' (try rackvm run --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rackvm: unexpected argument '%s' (try rackvm run --help)\n", argv[optind]);
        return 2;
    }
    unsigned nvirtio = cfg->ndisks + cfg->rng + (cfg->console == CONSOLE_VIRTIO) + cfg->nnets;
    if (nvirtio > VIRT_VIRTIO_COUNT) {
        fprintf(stderr, "rackvm: too many virtio devices: %u (the board has %d slots)\n", nvirtio,
                VIRT_VIRTIO_COUNT);
        return 2;
    }
    if (!cmdline_given && cfg->console == CONSOLE_VIRTIO)
        cfg->cmdline = DEFAULT_CMDLINE_HVC;
    if (!cfg->kernel_path && cfg->firmware != FIRMWARE_FILE) {
        fprintf(stderr, "rackvm: --kernel FILE is required%s\n",
                cfg->firmware == FIRMWARE_NONE ? " with --firmware none" : "");
        return 2;
    }
    return 0;
}

/* Boots machines until one stops for good; returns the exit status. */
static int run_machines(const struct machine_config *cfg)
{
    for (;;) {
        struct machine *m = machine_create(cfg, cfg->dump_dtb_path == NULL);
        if (!m)
            return 1;
        int prepared = boot_prepare(m);
        if (prepared != 0) {
            machine_destroy(m);
            return prepared > 0 ? 0 : 1;
        }
        signals_attach(m);
        enum stop_reason why = machine_run(m);
        signals_attach(NULL);
        int code = m->stop_code;
        char message[sizeof(m->stop_message)];
        snprintf(message, sizeof(message), "%s", m->stop_message);
        machine_destroy(m);
        switch (why) {
        case STOP_REBOOT:
            if (cfg->reboot_restarts && !signals_forced_status())
                continue;
            return signals_forced_status();
        case STOP_POWEROFF:
        case STOP_USER:
            return 0;
        case STOP_SIGNAL:
            return code;
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
    struct machine_config cfg;
    unsigned shutdown_timeout;
    int rc = parse_run_options(argc, argv, &cfg, &shutdown_timeout);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* Before any thread exists, so that every thread inherits the blocked signals. */
    if (signals_start(shutdown_timeout, isatty(STDIN_FILENO)) < 0)
        return 1;
    rc = run_machines(&cfg);
    signals_stop();
    return rc;
}
