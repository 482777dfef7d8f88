/*
 * `rackvm run` option parsing: accepted configurations, and every refusal reported by
 * return value with the exact message the user sees after "rackvm: ". The parser opens
 * no file, so disks named here need not exist.
 */
#include <stdarg.h>
#include <string.h>

#include "cli/cmd_run.h"
#include "unit.h"

#define MAX_ARGS 40

static struct run_options opts;
static char err[512];
/* The parser keeps pointers into argv and splits --disk values in place: own copies. */
static char words[MAX_ARGS][128];

/* Parses the NULL-terminated words after "run". */
static enum run_parse parse(const char *first, ...)
{
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    va_list ap;
    va_start(ap, first);
    argv[argc++] = strcpy(words[0], "run");
    for (const char *w = first; w; w = va_arg(ap, const char *)) {
        snprintf(words[argc], sizeof(words[argc]), "%s", w);
        argv[argc] = words[argc];
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return run_options_parse(argc, argv, &opts, err, sizeof(err));
}

#define CHECK_REFUSED(msg, ...)                                                          \
    do {                                                                                 \
        CHECK(parse(__VA_ARGS__, NULL) == RUN_PARSE_BAD);                                \
        CHECK_STREQ(err, (msg));                                                         \
    } while (0)

static void test_accepted(void)
{
    CHECK(parse("--kernel", "Image", NULL) == RUN_PARSE_OK);
    CHECK(strcmp(opts.cfg.kernel_path, "Image") == 0);
    CHECK_EQ_U64(opts.cfg.memory_size, 256ULL << 20);
    CHECK_EQ_U64(opts.cfg.nharts, 1);
    CHECK(strcmp(opts.cfg.cmdline, "console=ttyS0") == 0);
    CHECK(opts.cfg.hypervisor);
    CHECK(parse("--kernel", "Image", "--cpu", "h=off", NULL) == RUN_PARSE_OK);
    CHECK(!opts.cfg.hypervisor);
    CHECK(parse("--kernel", "Image", "--jit-cache-mib", "2048", NULL) == RUN_PARSE_OK);
    CHECK_EQ_U64(opts.cfg.jit_code_size, 2048ULL << 20);

    CHECK(parse("--kernel=k", "--memory", "2G", "--cpus", "4", "--jit", "eager", "--disk",
                "path=a.img,readonly=on,serial=S", "--net", "user", "--console", "virtio",
                "--on-reboot", "exit", NULL) == RUN_PARSE_OK);
    CHECK_EQ_U64(opts.cfg.memory_size, 2ULL << 30);
    CHECK_EQ_U64(opts.cfg.nharts, 4);
    CHECK_EQ_U64(opts.cfg.jit_hot_runs, 1);
    CHECK_EQ_U64(opts.cfg.jit_code_size, 0);
    CHECK(!opts.cfg.reboot_restarts);
    CHECK_EQ_U64(opts.cfg.ndisks, 1);
    CHECK(strcmp(opts.cfg.disks[0].path, "a.img") == 0 && opts.cfg.disks[0].readonly);
    CHECK(strcmp(opts.cfg.disks[0].serial, "S") == 0);
    CHECK_EQ_U64(opts.cfg.nnets, 1);
    CHECK(opts.cfg.nets == opts.nets && opts.nets[0].kind == NET_USER);
    CHECK(strcmp(opts.cfg.cmdline, "console=hvc0") == 0);  /* virtio console default */

    CHECK(parse("--firmware", "fw.bin", NULL) == RUN_PARSE_OK);  /* firmware alone boots */
    CHECK(opts.cfg.firmware == FIRMWARE_FILE && !strcmp(opts.cfg.firmware_path, "fw.bin"));
    CHECK(parse("--restore", "snap", "--disk", "path=d.img", NULL) == RUN_PARSE_OK);
    CHECK(opts.restore_dir && !strcmp(opts.restore_dir, "snap"));  /* no kernel needed */
    CHECK(parse("--kernel", "k", "--help", NULL) == RUN_PARSE_HELP);
    CHECK(parse("--version", NULL) == RUN_PARSE_VERSION);
    CHECK(parse("--kernel", "k", "--shutdown-timeout", "5", NULL) == RUN_PARSE_OK);
    CHECK_EQ_U64(opts.shutdown_timeout, 5);
    CHECK(!opts.boot_disk);
    /* a disk and no kernel: the disk is booted through OpenSBI and U-Boot, with 1 GiB */
    CHECK(parse("--disk", "path=d.img", NULL) == RUN_PARSE_OK);
    CHECK(opts.boot_disk && opts.cfg.firmware == FIRMWARE_FILE);
    CHECK(strstr(opts.cfg.firmware_path, "opensbi") && strstr(opts.cfg.kernel_path, "u-boot"));
    CHECK_EQ_U64(opts.cfg.memory_size, 1ULL << 30);
    CHECK(parse("--memory", "512M", "--disk", "path=d.img", NULL) == RUN_PARSE_OK);
    CHECK(opts.boot_disk);
    CHECK_EQ_U64(opts.cfg.memory_size, 512ULL << 20);
    /* a kernel or a firmware given: the disk is only a disk */
    CHECK(parse("--firmware", "fw.bin", "--disk", "path=d.img", NULL) == RUN_PARSE_OK);
    CHECK(!opts.boot_disk && !strcmp(opts.cfg.firmware_path, "fw.bin"));
    CHECK(!opts.gdb && !opts.gdb_wait);
    CHECK(parse("--kernel", "k", "--gdb", "tcp::1234", "--gdb-wait", NULL) == RUN_PARSE_OK);
    CHECK(opts.gdb && opts.gdb_wait && opts.gdb_address.port == 1234);
    CHECK(!strcmp(opts.gdb_address.host, "127.0.0.1"));
    CHECK(parse("--kernel", "k", "--gdb", "tcp:10.1.2.3:65535", NULL) == RUN_PARSE_OK);
    CHECK(!strcmp(opts.gdb_address.host, "10.1.2.3") && opts.gdb_address.port == 65535);
    CHECK(parse("--kernel", "k", "--gdb", "tcp:localhost:1", NULL) == RUN_PARSE_OK);
    CHECK(!strcmp(opts.gdb_address.host, "127.0.0.1") && !opts.gdb_wait);
    CHECK(opts.sandbox && !opts.sandbox_user);  /* the sandbox is on by default */
    CHECK(parse("--kernel", "k", "--sandbox", "off", NULL) == RUN_PARSE_OK);
    CHECK(!opts.sandbox);
    CHECK(parse("--kernel", "k", "--sandbox", "jail", NULL) == RUN_PARSE_OK);
    CHECK(opts.sandbox && opts.sandbox_jail);
    CHECK(parse("--kernel", "k", "--sandbox-user", "vm", NULL) == RUN_PARSE_OK);
    CHECK(opts.sandbox && !strcmp(opts.sandbox_user, "vm") && !opts.perf_map);
    CHECK(parse("--kernel", "k", "--perf-map", NULL) == RUN_PARSE_OK);
    CHECK(opts.perf_map);
}

static void test_refused(void)
{
    CHECK_REFUSED("--gdb: 'unix:/tmp/s' is not a TCP address (use tcp:HOST:PORT, e.g. "
                  "tcp:127.0.0.1:1234 or tcp::1234)", "--kernel", "k", "--gdb", "unix:/tmp/s");
    CHECK_REFUSED("--gdb: '70000' is not a port from 1 to 65535 (use tcp:HOST:PORT, e.g. "
                  "tcp:127.0.0.1:1234 or tcp::1234)", "--kernel", "k", "--gdb", "tcp::70000");
    CHECK_REFUSED("--gdb: 'example.org' is not an IPv4 address (use tcp:HOST:PORT, e.g. "
                  "tcp:127.0.0.1:1234 or tcp::1234)", "--kernel", "k", "--gdb", "tcp:example.org:1");
    CHECK_REFUSED("--gdb-wait needs --gdb tcp:HOST:PORT", "--kernel", "k", "--gdb-wait");
    CHECK_REFUSED("--memory: invalid size '1X' (use e.g. 512M or 2G)", "--memory", "1X");
    CHECK_REFUSED("--memory: 8M is out of range (16 MiB to 64 GiB)", "--memory", "8M");
    CHECK_REFUSED("--cpus: '0' is not a number of harts from 1 to 32", "--cpus", "0");
    CHECK_REFUSED("--cpus: '2x' is not a number of harts from 1 to 32", "--cpus", "2x");
    CHECK_REFUSED("--shutdown-timeout: '-1' is not a number of seconds from 0 to 3600",
                  "--shutdown-timeout", "-1");
    CHECK_REFUSED("--on-reboot: 'halt' is not restart or exit", "--on-reboot", "halt");
    CHECK_REFUSED("--jit: 'maybe' is not on, off or eager", "--jit", "maybe");
    CHECK_REFUSED("--jit-cache-mib: '0' is not a number of MiB from 1 to 2048", "--jit-cache-mib", "0");
    CHECK_REFUSED("--jit-cache-mib: '2049' is not a number of MiB from 1 to 2048", "--jit-cache-mib",
                  "2049");
    CHECK_REFUSED("--console: 'vga' is not serial or virtio", "--console", "vga");
    CHECK_REFUSED("--sandbox: 'yes' is not on, jail or off", "--sandbox", "yes");
    CHECK_REFUSED("--sandbox-user: the user name is empty", "--sandbox-user", "");
    CHECK_REFUSED("--sandbox-user needs --sandbox on or jail", "--kernel", "k", "--sandbox-user", "vm",
                  "--sandbox", "off");
    CHECK_REFUSED("--disk: unknown sub-option 'cache=none' (use path=FILE, readonly=on|off, "
                  "serial=ID)", "--disk", "path=a,cache=none");
    CHECK_REFUSED("--disk: unknown sub-option 'readonly=yes' (use path=FILE, readonly=on|off, "
                  "serial=ID)", "--disk", "path=a,readonly=yes");
    CHECK_REFUSED("--disk: path=FILE is required", "--disk", "readonly=on");
    CHECK_REFUSED("--disk: path=FILE is required", "--disk", "path=");
    CHECK_REFUSED("--net bogus: 'bogus': expected user[,...], tap=IFNAME[,...] or switch=SOCKET[,...]", "--net",
                  "bogus");
    CHECK_REFUSED("option '--kernel' needs a value", "--kernel");
    CHECK_REFUSED("unknown option '--foo' (try rackvm run --help)", "--kernel", "k", "--foo");
    CHECK_REFUSED("unknown option '-x' (try rackvm run --help)", "-x");
    /* a bad letter inside "-xy" is named, not the word before it */
    CHECK_REFUSED("unknown option '-x' (try rackvm run --help)", "-xy");
    CHECK_REFUSED("unexpected argument 'extra' (try rackvm run --help)", "--kernel", "k",
                  "extra");
    CHECK_REFUSED("--kernel FILE is required (or --disk path=IMG to boot a disk)", "--memory",
                  "1G");
    CHECK_REFUSED("--initrd needs --kernel (a booted disk brings its own)", "--initrd", "i",
                  "--disk", "path=d.img");
    CHECK_REFUSED("--kernel FILE is required with --firmware none", "--firmware", "none");
    CHECK_REFUSED("too many virtio devices: 9 (the board has 8 slots)", "--kernel", "k",
                  "--disk", "path=1", "--disk", "path=2", "--disk", "path=3", "--disk", "path=4",
                  "--disk", "path=5", "--disk", "path=6", "--disk", "path=7", "--disk", "path=8",
                  "--rng");
    CHECK_REFUSED("--disk: too many disks (the board has 8 virtio slots)",
                  "--disk", "path=1", "--disk", "path=2", "--disk", "path=3", "--disk", "path=4",
                  "--disk", "path=5", "--disk", "path=6", "--disk", "path=7", "--disk", "path=8",
                  "--disk", "path=9");
}

int main(void)
{
    test_accepted();
    test_refused();
    /* parsing again starts afresh (the fuzzer calls the parser many times) */
    CHECK(parse("-xyz", NULL) == RUN_PARSE_BAD);
    CHECK(parse("--kernel", "k", NULL) == RUN_PARSE_OK);
    UNIT_DONE();
}
