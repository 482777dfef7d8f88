/* `--net` parsing: the accepted forms, QEMU's defaults, and typos rejected with a reason. */
#include <arpa/inet.h>
#include <string.h>

#include "host/net_config.h"
#include "unit.h"

static struct net_config cfg;
static char err[256];

static bool ok(const char *arg)
{
    err[0] = '\0';
    int rc = net_config_parse(arg, &cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "unexpected error for '%s': %s\n", arg, err);
    return rc == 0;
}

/* Must fail with a message containing `why`. */
static void bad(const char *arg, const char *why)
{
    err[0] = '\0';
    int rc = net_config_parse(arg, &cfg, err, sizeof(err));
    CHECK(rc == -1);
    if (!strstr(err, why)) {
        fprintf(stderr, "'%s': error '%s' does not mention '%s'\n", arg, err, why);
        unit_failures++;
    }
}

static uint32_t ip(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static void test_user(void)
{
    CHECK(ok("user"));
    CHECK(cfg.kind == NET_USER);
    CHECK_EQ_U64(cfg.nhostfwd, 0);
    CHECK(!cfg.mac_given);
    CHECK(cfg.mac[0] == 0x52 && cfg.mac[1] == 0x54 && cfg.mac[2] == 0x00);

    /* Two generated MACs differ (24 random bits; a clash is a 1 in 16M event). */
    uint8_t first[6];
    memcpy(first, cfg.mac, 6);
    CHECK(ok("user"));
    CHECK(memcmp(first, cfg.mac, 6) != 0);

    CHECK(ok("user,mac=52:54:00:AB:cd:0f"));
    CHECK(cfg.mac_given);
    char text[18];
    net_format_mac(cfg.mac, text);
    CHECK(!strcmp(text, "52:54:00:ab:cd:0f"));
}

static void test_hostfwd(void)
{
    CHECK(ok("user,hostfwd=tcp::8080-:80"));
    CHECK_EQ_U64(cfg.nhostfwd, 1);
    CHECK(!cfg.hostfwd[0].udp);
    CHECK_EQ_U64(cfg.hostfwd[0].host_addr.s_addr, ip("0.0.0.0"));
    CHECK_EQ_U64(cfg.hostfwd[0].host_port, 8080);
    CHECK_EQ_U64(cfg.hostfwd[0].guest_addr.s_addr, ip("10.0.2.15"));
    CHECK_EQ_U64(cfg.hostfwd[0].guest_port, 80);

    CHECK(ok("user,hostfwd=udp:127.0.0.1:5353-10.0.2.16:53,hostfwd=:127.0.0.1:2222-:22,mac=02:00:00:00:00:01"));
    CHECK_EQ_U64(cfg.nhostfwd, 2);
    CHECK(cfg.hostfwd[0].udp);
    CHECK_EQ_U64(cfg.hostfwd[0].host_addr.s_addr, ip("127.0.0.1"));
    CHECK_EQ_U64(cfg.hostfwd[0].host_port, 5353);
    CHECK_EQ_U64(cfg.hostfwd[0].guest_addr.s_addr, ip("10.0.2.16"));
    CHECK_EQ_U64(cfg.hostfwd[0].guest_port, 53);
    CHECK(!cfg.hostfwd[1].udp);
    CHECK_EQ_U64(cfg.hostfwd[1].host_port, 2222);
    CHECK_EQ_U64(cfg.hostfwd[1].guest_port, 22);
    CHECK(cfg.mac_given && cfg.mac[5] == 1);

    /* The same host port for tcp and udp is two different sockets. */
    CHECK(ok("user,hostfwd=tcp::53-:53,hostfwd=udp::53-:53"));

    char many[1024] = "user";
    for (int i = 0; i < NET_MAX_HOSTFWD; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), ",hostfwd=tcp::%d-:80", 1000 + i);
    CHECK(ok(many));
    CHECK_EQ_U64(cfg.nhostfwd, NET_MAX_HOSTFWD);
    strcat(many, ",hostfwd=tcp::999-:80");
    bad(many, "more than");
}

static void test_switch(void)
{
    CHECK(ok("switch=/run/rack/net0.sock,mac=52:54:00:00:00:07"));
    CHECK(cfg.kind == NET_SWITCH);
    CHECK(!strcmp(cfg.socket_path, "/run/rack/net0.sock"));
    CHECK(cfg.mac_given && cfg.mac[5] == 7);
    CHECK(!cfg.missing_switch_link_down);  /* the default: missing=error */
    char longest[8 + NET_SOCKET_PATH_MAX + 1] = "switch=";
    memset(longest + 7, 'a', NET_SOCKET_PATH_MAX - 1);
    CHECK(ok(longest));
    strcat(longest, "a");
    bad(longest, "1 to 107 bytes");
    bad("switch=", "1 to 107 bytes");
    bad("switch=/s,hostfwd=tcp::80-:80", "needs user networking");
    /* A switch missing at start: an error unless missing=link-down says to wait for it. */
    CHECK(ok("switch=/s,missing=link-down,mac=52:54:00:00:00:07"));
    CHECK(cfg.missing_switch_link_down && cfg.mac_given);
    CHECK(ok("switch=/s,missing=error"));
    CHECK(!cfg.missing_switch_link_down);
    bad("switch=/s,missing=wait", "expected error or link-down");
    bad("user,missing=link-down", "needs a switch port");
    bad("tap=tap0,missing=error", "needs a switch port");
}

static void test_tap(void)
{
    CHECK(ok("tap=tap0"));
    CHECK(cfg.kind == NET_TAP);
    CHECK(!strcmp(cfg.ifname, "tap0"));
    CHECK(ok("tap=abcdefghijklmno,mac=52:54:00:00:00:02"));
    CHECK(!strcmp(cfg.ifname, "abcdefghijklmno"));
    CHECK(cfg.mac_given && cfg.mac[5] == 2);
    bad("tap=abcdefghijklmnop", "1 to 15 characters");
    bad("tap=", "1 to 15 characters");
    bad("tap=a/b", "no '/'");
    bad("tap=tap0,hostfwd=tcp::80-:80", "needs user networking");
}

static void test_rejects(void)
{
    bad("", "expected user");
    bad(",user", "expected user");
    bad("usr", "expected user");
    bad("tap", "expected user");
    bad("user,", "empty option");
    bad("user,,mac=52:54:00:00:00:01", "empty option");
    bad("user,foo=1", "unknown option 'foo'");
    bad("user,mac", "not KEY=VALUE");
    bad("user,mac=52:54:00:00:00", "not a MAC");
    bad("user,mac=52:54:00:00:00:001", "not a MAC");
    bad("user,mac=52-54-00-00-00-01", "not a MAC");
    bad("user,mac=5g:54:00:00:00:01", "not a MAC");
    bad("user,mac=01:00:5e:00:00:01", "multicast");
    bad("user,hostfwd=tcp::8080", "expected [tcp|udp]");
    bad("user,hostfwd=8080-80", "expected [tcp|udp]");
    bad("user,hostfwd=sctp::1-:2", "not tcp or udp");
    bad("user,hostfwd=tcp::0-:80", "host side");
    bad("user,hostfwd=tcp::65536-:80", "host side");
    bad("user,hostfwd=tcp::80a-:80", "host side");
    bad("user,hostfwd=tcp:localhost:80-:80", "host side");
    bad("user,hostfwd=tcp:1.2.3.4.5:80-:80", "host side");
    bad("user,hostfwd=tcp::8080-80", "guest side");
    bad("user,hostfwd=tcp::8080-:", "guest side");
    bad("user,hostfwd=tcp::8080-:99999", "guest side");
    bad("user,hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.1:8080-:81", "forwarded twice");
}

int main(void)
{
    test_user();
    test_hostfwd();
    test_tap();
    test_switch();
    test_rejects();
    UNIT_DONE();
}
