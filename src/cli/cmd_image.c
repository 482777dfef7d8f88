#include "cli/cmd_image.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "machine/loader.h"

#define DEFAULT_SIZE (4ULL << 30)
/* Debian with systemd, the kernel (its modules alone are 0.4 GB) and its initramfs fill
 * about 1.2 GB, and the .debs sit in the image while they are installed. The cached base
 * file system of scripts/image-create.sh is this size less 1 MiB, grown for larger images. */
#define MIN_SIZE (2ULL << 30)
#define MAX_SIZE (16ULL << 40)
#define DEFAULT_HOSTNAME "debian"
#define SCRIPT "scripts/image-create.sh"

void cmd_image_usage(FILE *out)
{
    fprintf(out,
            "usage: rackvm image create IMG [options]\n"
            "\n"
            "Builds IMG, a bootable raw disk with Debian 13 (trixie) riscv64: systemd, the\n"
            "kernel and its initramfs, DHCP on the NIC, a serial getty, booted by\n"
            "`rackvm run --disk path=IMG`. Runs as root; the packages' own scripts run in a\n"
            "rackvm VM, downloads are cached in ~/.cache/rackvm.\n"
            "\n"
            "  --size SIZE               disk size, e.g. 4G (default 4G, at least 2G)\n"
            "  --packages A,B,...        more Debian packages to install\n"
            "  --hostname NAME           the guest's host name (default %s)\n"
            "  --ssh-key FILE.pub        root's authorized key (installs openssh-server)\n"
            "  --root-password-file FILE root's password, the file's one line (else root\n"
            "                            has no password: log in with the key)\n"
            "  --force                   replace IMG if it exists\n",
            DEFAULT_HOSTNAME);
}

enum { OPT_SIZE = 256, OPT_PACKAGES, OPT_HOSTNAME, OPT_SSH_KEY, OPT_PASSWORD_FILE, OPT_FORCE,
       OPT_HELP };

static const struct option image_options[] = {
    { "size", required_argument, NULL, OPT_SIZE },
    { "packages", required_argument, NULL, OPT_PACKAGES },
    { "hostname", required_argument, NULL, OPT_HOSTNAME },
    { "ssh-key", required_argument, NULL, OPT_SSH_KEY },
    { "root-password-file", required_argument, NULL, OPT_PASSWORD_FILE },
    { "force", no_argument, NULL, OPT_FORCE },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* Debian policy 5.6.1: lower case letters, digits, + - . ; two or more, alphanumeric first. */
static bool package_name_ok(const char *s, size_t len)
{
    if (len < 2 || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(islower(c) || isdigit(c) || c == '+' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* RFC 1123: one label of letters, digits and hyphens, not at either end, 63 at most. */
static bool hostname_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

enum image_parse image_options_parse(int argc, char **argv, struct image_options *o, char *err,
                                     size_t errlen)
{
    *o = (struct image_options){ .size = DEFAULT_SIZE, .packages = "",
                                 .hostname = DEFAULT_HOSTNAME };
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", image_options, NULL)) != -1) {
        switch (opt) {
        case OPT_SIZE:
            if (parse_size(optarg, &o->size) < 0) {
                snprintf(err, errlen, "--size: invalid size '%s' (use e.g. 4G)", optarg);
                return IMAGE_PARSE_BAD;
            }
            if (o->size < MIN_SIZE || o->size > MAX_SIZE) {
                snprintf(err, errlen, "--size: %s is too %s (%llu GiB to %llu TiB: Debian with "
                         "its kernel needs about 1.2 GB)", optarg,
                         o->size < MIN_SIZE ? "small" : "large", MIN_SIZE >> 30, MAX_SIZE >> 40);
                return IMAGE_PARSE_BAD;
            }
            break;
        case OPT_PACKAGES:
            for (const char *p = optarg;; p++) {
                size_t len = strcspn(p, ",");
                if (!package_name_ok(p, len)) {
                    snprintf(err, errlen, "--packages: '%.*s' is not a Debian package name "
                             "(lower case letters, digits, + - .; separated by commas)",
                             (int)len, p);
                    return IMAGE_PARSE_BAD;
                }
                p += len;
                if (!*p)
                    break;
            }
            o->packages = optarg;
            break;
        case OPT_HOSTNAME:
            if (!hostname_ok(optarg)) {
                snprintf(err, errlen, "--hostname: '%s' is not a host name (letters, digits "
                         "and inner hyphens, at most 63)", optarg);
                return IMAGE_PARSE_BAD;
            }
            o->hostname = optarg;
            break;
        case OPT_SSH_KEY: o->ssh_key = optarg; break;
        case OPT_PASSWORD_FILE: o->password_file = optarg; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_HELP: return IMAGE_PARSE_HELP;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return IMAGE_PARSE_BAD;
        default:
            snprintf(err, errlen, "unknown option '%s' (try rackvm image --help)",
                     argv[optind - 1]);
            return IMAGE_PARSE_BAD;
        }
    }
    if (optind == argc) {
        snprintf(err, errlen, "which image? (rackvm image create IMG [options])");
        return IMAGE_PARSE_BAD;
    }
    o->output = argv[optind++];
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (try rackvm image --help)", argv[optind]);
        return IMAGE_PARSE_BAD;
    }
    return IMAGE_PARSE_OK;
}

/* The first line of a small text file into buf (newline dropped); false with err set. */
static bool read_first_line(const char *what, const char *path, char *buf, size_t len, char *err,
                            size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return false;
    }
    bool got = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    buf[got ? strcspn(buf, "\n") : 0] = '\0';
    if (!buf[0]) {
        snprintf(err, errlen, "%s %s: the first line is empty", what, path);
        return false;
    }
    return true;
}

/* What can be checked on the host before anything is built; false with err set. */
static bool check_host(const struct image_options *o, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        snprintf(err, errlen, "must run as root (debootstrap unpacks files owned by root, "
                 "that the image keeps)");
        return false;
    }
    struct stat st;
    if (stat(o->output, &st) == 0 && !o->force) {
        snprintf(err, errlen, "%s exists (use --force to replace it)", o->output);
        return false;
    }
    if (stat(o->output, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", o->output);
        return false;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", o->output);
    if (access(dirname(dir), W_OK) != 0) {
        snprintf(err, errlen, "cannot write in the directory of %s: %s", o->output,
                 strerror(errno));
        return false;
    }
    char line[16384];
    if (o->ssh_key) {
        if (!read_first_line("--ssh-key", o->ssh_key, line, sizeof(line), err, errlen))
            return false;
        /* A public key line: "<type> <base64> [comment]"; the private half starts "-----". */
        if (strncmp(line, "ssh-", 4) && strncmp(line, "ecdsa-", 6) && strncmp(line, "sk-", 3)) {
            snprintf(err, errlen, "--ssh-key %s: not an OpenSSH public key (the .pub file: "
                     "\"ssh-ed25519 AAAA... comment\")", o->ssh_key);
            return false;
        }
    }
    if (o->password_file &&
        !read_first_line("--root-password-file", o->password_file, line, sizeof(line), err, errlen))
        return false;
    return true;
}

/* BIN/../scripts/image-create.sh for the running binary, into path; false if absent. */
static bool find_script(char *path, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    char *bin_dir = dirname(exe);
    if ((size_t)snprintf(path, len, "%s/../%s", bin_dir, SCRIPT) >= len)
        return false;
    return access(path, X_OK) == 0;
}

static int image_create(int argc, char **argv)
{
    struct image_options o;
    char err[8192];
    switch (image_options_parse(argc, argv, &o, err, sizeof(err))) {
    case IMAGE_PARSE_OK: break;
    case IMAGE_PARSE_HELP: cmd_image_usage(stdout); return 0;
    case IMAGE_PARSE_BAD:
        fprintf(stderr, "rackvm: image create: %s\n", err);
        return 2;
    }
    if (!check_host(&o, err, sizeof(err))) {
        fprintf(stderr, "rackvm: image create: %s\n", err);
        return 2;
    }
    char script[PATH_MAX + 64], rackvm[PATH_MAX], size[32];
    if (!find_script(script, sizeof(script))) {
        fprintf(stderr, "rackvm: image create: cannot find %s next to this binary (its "
                "../%s): run the rackvm of a source tree\n", SCRIPT, SCRIPT);
        return 1;
    }
    ssize_t n = readlink("/proc/self/exe", rackvm, sizeof(rackvm) - 1);
    rackvm[n > 0 ? n : 0] = '\0';
    snprintf(size, sizeof(size), "%llu", (unsigned long long)o.size);
    char *args[] = { script, rackvm, (char *)o.output, size, (char *)o.hostname,
                     (char *)o.packages, (char *)(o.ssh_key ? o.ssh_key : ""),
                     (char *)(o.password_file ? o.password_file : ""), NULL };
    fflush(stdout);
    execv(script, args);
    fprintf(stderr, "rackvm: image create: cannot run %s: %s\n", script, strerror(errno));
    return 1;
}

int cmd_image(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "create"))
        return image_create(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        cmd_image_usage(stdout);
        return 0;
    }
    fprintf(stderr, "rackvm: image: %s (try rackvm image --help)\n",
            argc < 2 ? "which subcommand? (create)" : "unknown subcommand");
    return 2;
}
