/* `--net` option parsing: strict, so a typo is an error at start and never a silent default. */
#include "host/net_config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define GUEST_DHCP_ADDR "10.0.2.15"

void net_format_mac(const uint8_t mac[6], char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
        if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 3;
    }
    return true;
}

static bool parse_port(const char *s, size_t len, uint16_t *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* [ADDR]:PORT of length len; an empty ADDR is dflt. */
static bool parse_endpoint(const char *s, size_t len, const char *dflt, struct in_addr *addr,
                           uint16_t *port)
{
    const char *colon = memrchr(s, ':', len);
    if (!colon)
        return false;
    char text[INET_ADDRSTRLEN];
    size_t alen = (size_t)(colon - s);
    if (alen >= sizeof(text))
        return false;
    memcpy(text, s, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET, alen ? text : dflt, addr) != 1)
        return false;
    return parse_port(colon + 1, len - alen - 1, port);
}

static int parse_hostfwd(const char *v, struct net_config *out, char *err, size_t errlen)
{
    if (out->nhostfwd == NET_MAX_HOSTFWD)
        return fail(err, errlen, "more than %d hostfwd= port forwards", NET_MAX_HOSTFWD);
    struct net_hostfwd *f = &out->hostfwd[out->nhostfwd];
    const char *colon = strchr(v, ':');
    const char *dash = colon ? strchr(colon + 1, '-') : NULL;
    if (!dash)
        return fail(err, errlen, "hostfwd=%s: expected [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                    v);
    size_t plen = (size_t)(colon - v);
    if (plen == 0 || (plen == 3 && !strncmp(v, "tcp", 3)))
        f->udp = false;
    else if (plen == 3 && !strncmp(v, "udp", 3))
        f->udp = true;
    else
        return fail(err, errlen, "hostfwd=%s: protocol '%.*s' is not tcp or udp", v, (int)plen, v);
    if (!parse_endpoint(colon + 1, (size_t)(dash - colon - 1), "0.0.0.0", &f->host_addr,
                        &f->host_port))
        return fail(err, errlen, "hostfwd=%s: host side '%.*s' is not [IPv4 ADDRESS]:PORT (port 1-65535)",
                    v, (int)(dash - colon - 1), colon + 1);
    if (!parse_endpoint(dash + 1, strlen(dash + 1), GUEST_DHCP_ADDR, &f->guest_addr,
                        &f->guest_port))
        return fail(err, errlen, "hostfwd=%s: guest side '%s' is not [IPv4 ADDRESS]:PORT (port 1-65535)",
                    v, dash + 1);
    for (unsigned i = 0; i < out->nhostfwd; i++) {
        const struct net_hostfwd *o = &out->hostfwd[i];
        if (o->udp == f->udp && o->host_port == f->host_port)
            return fail(err, errlen, "hostfwd=%s: host port %u is forwarded twice", v, f->host_port);
    }
    out->nhostfwd++;
    return 0;
}

static int parse_option(const char *opt, struct net_config *out, char *err, size_t errlen)
{
    const char *eq = strchr(opt, '=');
    if (!eq)
        return fail(err, errlen, "'%s' is not KEY=VALUE", opt);
    const char *v = eq + 1;
    size_t klen = (size_t)(eq - opt);
    if (klen == 3 && !strncmp(opt, "mac", 3)) {
        if (!parse_mac(v, out->mac))
            return fail(err, errlen, "mac=%s is not a MAC address like 52:54:00:12:34:56", v);
        if (out->mac[0] & 1)
            return fail(err, errlen, "mac=%s is a multicast address (lowest bit of the first byte set)", v);
        out->mac_given = true;
        return 0;
    }
    if (klen == 7 && !strncmp(opt, "hostfwd", 7)) {
        if (out->kind != NET_USER)
            return fail(err, errlen, "hostfwd= needs user networking (--net user,...)");
        return parse_hostfwd(v, out, err, errlen);
    }
    if (klen == 7 && !strncmp(opt, "missing", 7)) {
        if (out->kind != NET_SWITCH)
            return fail(err, errlen, "missing= needs a switch port (--net switch=SOCKET,...)");
        if (strcmp(v, "error") && strcmp(v, "link-down"))
            return fail(err, errlen, "missing=%s: expected error or link-down", v);
        out->missing_switch_link_down = !strcmp(v, "link-down");
        return 0;
    }
    return fail(err, errlen, "unknown option '%.*s' (known: mac=, hostfwd= for user, missing= for "
                "switch)", (int)klen, opt);
}

int net_config_parse(const char *arg, struct net_config *out, char *err, size_t errlen)
{
    *out = (struct net_config){ .kind = NET_USER };
    char *copy = strdup(arg);
    if (!copy)
        return fail(err, errlen, "out of memory");
    int rc = 0;
    char *save = NULL;
    char *kind = strtok_r(copy, ",", &save);
    if (!kind || kind != copy) {
        rc = fail(err, errlen, "'%s': expected user[,...], tap=IFNAME[,...] or switch=SOCKET[,...]", arg);
    } else if (!strcmp(kind, "user")) {
        out->kind = NET_USER;
    } else if (!strncmp(kind, "tap=", 4)) {
        out->kind = NET_TAP;
        size_t n = strlen(kind + 4);
        if (n == 0 || n >= NET_IFNAME_MAX || strchr(kind + 4, '/'))
            rc = fail(err, errlen, "tap=%s: an interface name is 1 to %d characters, no '/'", kind + 4,
                      NET_IFNAME_MAX - 1);
        else
            memcpy(out->ifname, kind + 4, n + 1);
    } else if (!strncmp(kind, "switch=", 7)) {
        out->kind = NET_SWITCH;
        size_t n = strlen(kind + 7);
        if (n == 0 || n >= NET_SOCKET_PATH_MAX)
            rc = fail(err, errlen, "switch=%s: a socket path is 1 to %d bytes (and has no ',')",
                      kind + 7, NET_SOCKET_PATH_MAX - 1);
        else
            memcpy(out->socket_path, kind + 7, n + 1);
    } else {
        rc = fail(err, errlen, "'%s': expected user[,...], tap=IFNAME[,...] or switch=SOCKET[,...]", kind);
    }
    /* strtok_r skips empty fields; a doubled or trailing comma is still a typo worth reporting. */
    if (rc == 0 && (strstr(arg, ",,") || arg[strlen(arg) - 1] == ','))
        rc = fail(err, errlen, "'%s': empty option between commas", arg);
    for (char *opt; rc == 0 && (opt = strtok_r(NULL, ",", &save));)
        rc = parse_option(opt, out, err, errlen);
    free(copy);
    if (rc == 0 && !out->mac_given) {
        out->mac[0] = 0x52;
        out->mac[1] = 0x54;
        out->mac[2] = 0x00;
        if (getrandom(out->mac + 3, 3, 0) != 3)
            return fail(err, errlen, "cannot read random bytes for a MAC address");
    }
    return rc;
}
