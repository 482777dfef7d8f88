/*
 * libFuzzer target: the value parsers behind --net, --disk, --memory and --gdb. Byte 0 picks
 * the parser; the rest (at most MAX_INPUT bytes, cut at the first NUL) is the value.
 * An accepted value must be well formed (ports, addresses, MACs and interface names valid,
 * the size equal to an independent 128-bit computation); a refused one must say why.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_run.h"
#include "debug/gdb_stub.h"
#include "host/net_config.h"
#include "machine/loader.h"

#define MAX_INPUT 1024

/* A refusal (rc < 0) must say why. */
static bool refused(int rc, const char *err)
{
    if (rc < 0 && !err[0])
        abort();
    return rc < 0;
}

static void fuzz_net(const char *arg)
{
    struct net_config c;
    char err[256] = "";
    if (refused(net_config_parse(arg, &c, err, sizeof(err)), err))
        return;
    if (c.mac[0] & 1 || c.nhostfwd > NET_MAX_HOSTFWD)
        abort();
    if (c.kind == NET_TAP && (!c.ifname[0] || !memchr(c.ifname, '\0', sizeof(c.ifname)) ||
                              c.nhostfwd))
        abort();
    if (c.kind == NET_SWITCH && (!c.socket_path[0] || c.nhostfwd ||
                                 !memchr(c.socket_path, '\0', sizeof(c.socket_path))))
        abort();
    for (unsigned i = 0; i < c.nhostfwd; i++)
        if (!c.hostfwd[i].host_port || !c.hostfwd[i].guest_port)
            abort();
}

/* QEMU -m syntax computed another way: digits into 128 bits, then the suffix. */
static bool reference_size(const char *s, uint64_t *out)
{
    unsigned __int128 v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > UINT64_MAX)
            return false;
    }
    const char *suffixes = "bkmgt";
    const char *hit = *p ? strchr(suffixes, *p | 0x20) : NULL;
    if (*p && (!hit || p[1]))
        return false;
    v <<= *p ? 10 * (unsigned)(hit - suffixes) : 20;
    if (v > UINT64_MAX)
        return false;
    *out = (uint64_t)v;
    return true;
}

static void fuzz_size(const char *arg)
{
    uint64_t got = 12345, want = 0;
    bool ok = parse_size(arg, &got) == 0;
    if (ok != reference_size(arg, &want) || (ok && got != want) || (!ok && got != 12345))
        abort();
}

static void fuzz_disk(char *arg, size_t len)
{
    struct disk_config d;
    char err[256] = "";
    if (refused(run_parse_disk(arg, &d, err, sizeof(err)), err))
        return;
    if (!d.path || d.path < arg || d.path >= arg + len || !d.path[0])
        abort();
    if (d.serial && (d.serial < arg || d.serial > arg + len))
        abort();
}

static void fuzz_gdb(const char *arg)
{
    struct gdb_address a;
    char err[256] = "";
    if (refused(gdb_parse_address(arg, &a, err, sizeof(err)), err))
        return;
    struct in_addr ip;
    if (!a.port || !memchr(a.host, '\0', sizeof(a.host)) || inet_pton(AF_INET, a.host, &ip) != 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[MAX_INPUT + 1];
    if (size < 1)
        return 0;
    unsigned which = data[0] % 4;
    size = size - 1 < MAX_INPUT ? size - 1 : MAX_INPUT;
    memcpy(buf, data + 1, size);
    buf[size] = '\0';
    switch (which) {
    case 0: fuzz_net(buf); break;
    case 1: fuzz_size(buf); break;
    case 2: fuzz_disk(buf, strlen(buf)); break;
    case 3: fuzz_gdb(buf); break;
    }
    return 0;
}
