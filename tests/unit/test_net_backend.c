/*
 * Network back ends without a guest: slirp answers an ARP request on its own thread,
 * keeps a refused frame until rx_ready, forwards host connections, and refuses a
 * forwarded port that is in use; tap reports interfaces it cannot attach to; a switch
 * port (stream framing) delivers, holds refused frames, sends framed, reports its link
 * down when the switch hangs up or sends a hostile length, and reconnects; with
 * missing=link-down it starts without a switch, link down, and connects once one listens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/net.h"
#include "unit.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static uint8_t last[2048];
static size_t last_len;
static unsigned offered, accepted;
static bool refuse;

static bool receive(void *dev, const uint8_t *frame, size_t len)
{
    CHECK(dev == &lock);
    pthread_mutex_lock(&lock);
    offered++;
    bool take = !refuse;
    if (take) {
        accepted++;
        last_len = len < sizeof(last) ? len : sizeof(last);
        memcpy(last, frame, last_len);
    }
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    return take;
}

/* Waits up to 2 s for *counter to reach n. Caller holds lock. */
static bool wait_count(unsigned *counter, unsigned n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    while (*counter < n) {
        if (pthread_cond_timedwait(&cond, &lock, &deadline) == ETIMEDOUT)
            return false;
    }
    return true;
}

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* "Who has 10.0.2.2? Tell 10.0.2.15." */
static size_t arp_request(uint8_t *f)
{
    static const uint8_t head[] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1 };
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    memcpy(f + 12, head, sizeof(head));
    memcpy(f + 22, guest_mac, 6);
    memcpy(f + 28, (uint8_t[]){ 10, 0, 2, 15 }, 4);
    memcpy(f + 38, (uint8_t[]){ 10, 0, 2, 2 }, 4);
    return 60;
}

static bool is_arp_reply_from_gateway(void)
{
    return last_len >= 42 && !memcmp(last, guest_mac, 6) && last[12] == 0x08 && last[13] == 0x06 &&
           last[21] == 2 && !memcmp(last + 28, (uint8_t[]){ 10, 0, 2, 2 }, 4);
}

static void test_slirp_arp_and_refusal(void)
{
    struct net_config cfg;
    char err[128];
    CHECK(net_config_parse("user", &cfg, err, sizeof(err)) == 0);
    struct net_backend *nb = net_backend_create(&cfg, receive, NULL, &lock);
    CHECK(nb != NULL);
    if (!nb)
        return;
    uint8_t frame[60];
    size_t len = arp_request(frame);

    pthread_mutex_lock(&lock);
    unsigned base = accepted;
    pthread_mutex_unlock(&lock);
    net_backend_send(nb, frame, len);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, base + 1));
    CHECK(is_arp_reply_from_gateway());

    /* Refused: offered once, then held (not re-offered) until rx_ready. */
    refuse = true;
    base = offered;
    unsigned taken = accepted;
    last_len = 0;
    pthread_mutex_unlock(&lock);
    net_backend_send(nb, frame, len);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&offered, base + 1));
    pthread_mutex_unlock(&lock);
    usleep(100 * 1000);
    pthread_mutex_lock(&lock);
    CHECK_EQ_U64(accepted, taken);
    refuse = false;
    pthread_mutex_unlock(&lock);
    net_backend_rx_ready(nb);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, taken + 1));
    CHECK(is_arp_reply_from_gateway());
    pthread_mutex_unlock(&lock);

    net_backend_destroy(nb);
}

static int listen_any_port(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(fd, 1) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_slirp_hostfwd(void)
{
    uint16_t port;
    int busy = listen_any_port(&port);
    char arg[96], err[128];
    struct net_config cfg;

    /* A port in use: refused at creation (the error goes to stderr). */
    snprintf(arg, sizeof(arg), "user,hostfwd=tcp:127.0.0.1:%u-:80", port);
    CHECK(net_config_parse(arg, &cfg, err, sizeof(err)) == 0);
    fprintf(stderr, "(an error about port %u is expected next)\n", port);
    struct net_backend *nb = net_backend_create(&cfg, receive, NULL, &lock);
    CHECK(nb == NULL);
    net_backend_destroy(nb);

    /* Free it and forward it: a host connection makes slirp reach for the guest. */
    close(busy);
    nb = net_backend_create(&cfg, receive, NULL, &lock);
    CHECK(nb != NULL);
    if (!nb)
        return;
    pthread_mutex_lock(&lock);
    unsigned base = accepted;
    pthread_mutex_unlock(&lock);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int rc = connect(c, (struct sockaddr *)&a, sizeof(a));
    CHECK(rc == 0 || errno == EINPROGRESS);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, base + 1));
    /* The guest's MAC is not known yet, so slirp first asks who has 10.0.2.15. */
    CHECK(last_len >= 42 && last[12] == 0x08 && last[13] == 0x06 && last[21] == 1);
    CHECK(!memcmp(last + 38, (uint8_t[]){ 10, 0, 2, 15 }, 4));
    pthread_mutex_unlock(&lock);
    close(c);
    net_backend_destroy(nb);
}

static unsigned link_changes;
static bool link_up = true;

static void link_changed(void *dev, bool up)
{
    CHECK(dev == &lock);
    pthread_mutex_lock(&lock);
    link_up = up;
    link_changes++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void send_framed(int fd, const uint8_t *frame, uint32_t len)
{
    uint8_t header[4] = { len >> 24, len >> 16, len >> 8, len };
    CHECK(write(fd, header, 4) == 4);
    CHECK(write(fd, frame, len) == (ssize_t)len);
}

static void test_stream_port(void)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/rackvm-unit-%d.sock", (int)getpid());
    char arg[160], err[128];
    snprintf(arg, sizeof(arg), "switch=%s", addr.sun_path);
    struct net_config cfg;
    CHECK(net_config_parse(arg, &cfg, err, sizeof(err)) == 0);
    fprintf(stderr, "(an error about no switch listening is expected next)\n");
    CHECK(net_backend_create(&cfg, receive, link_changed, &lock) == NULL);

    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof(addr)) == 0 && listen(listener, 4) == 0);
    struct net_backend *nb = net_backend_create(&cfg, receive, link_changed, &lock);
    CHECK(nb != NULL);
    if (!nb)
        goto out;
    int peer = accept(listener, NULL, NULL);
    uint8_t f[60];
    pthread_mutex_lock(&lock);
    unsigned base = accepted;
    refuse = false;
    pthread_mutex_unlock(&lock);
    arp_request(f);
    send_framed(peer, f, sizeof(f));
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, base + 1));
    CHECK(last_len == 60 && !memcmp(last, f, 60));
    /* Refused frames wait, in order, until rx_ready. */
    refuse = true;
    unsigned offered_before = offered;
    pthread_mutex_unlock(&lock);
    f[59] = 1;
    send_framed(peer, f, sizeof(f));
    f[59] = 2;
    send_framed(peer, f, sizeof(f));
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&offered, offered_before + 1));
    refuse = false;
    pthread_mutex_unlock(&lock);
    net_backend_rx_ready(nb);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, base + 3));
    CHECK(last[59] == 2);
    pthread_mutex_unlock(&lock);

    /* The guest's frame reaches the switch framed. */
    net_backend_send(nb, f, sizeof(f));
    uint8_t got[64];
    size_t have = 0;
    while (have < sizeof(got)) {
        ssize_t n = read(peer, got + have, sizeof(got) - have);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    CHECK(have == 64 && got[3] == 60 && !memcmp(got + 4, f, 60));

    /* The switch hangs up: link down; it is still listening, so rackvm is back within a second. */
    close(peer);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&link_changes, 1));
    CHECK(wait_count(&link_changes, 2));
    CHECK(link_up);
    pthread_mutex_unlock(&lock);
    peer = accept(listener, NULL, NULL);
    /* A length over the framing's limit: rackvm drops the connection. */
    CHECK(write(peer, "\xff\xff\xff\xff", 4) == 4);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&link_changes, 3));
    CHECK(!link_up);
    pthread_mutex_unlock(&lock);
    close(peer);
    net_backend_destroy(nb);
out:
    close(listener);
    unlink(addr.sun_path);
}

/* missing=link-down: a switch whose socket is left but not listening (a killed switch,
 * its restart not yet up) gives a NIC whose link is down from the start, not an error;
 * it connects, link up, once the switch listens. */
static void test_stream_port_missing_at_start(void)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "/tmp/rackvm-unit-%d-late.sock", (int)getpid());
    unlink(addr.sun_path);
    char arg[160], err[128];
    snprintf(arg, sizeof(arg), "switch=%s,missing=link-down", addr.sun_path);
    struct net_config cfg;
    CHECK(net_config_parse(arg, &cfg, err, sizeof(err)) == 0);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(listener, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    pthread_mutex_lock(&lock);
    unsigned changes = link_changes;
    pthread_mutex_unlock(&lock);
    fprintf(stderr, "(a line about no switch listening is expected next)\n");
    struct net_backend *nb = net_backend_create(&cfg, receive, link_changed, &lock);
    CHECK(nb != NULL);
    if (!nb)
        goto out;
    pthread_mutex_lock(&lock);
    /* Down before create returned, so the guest never sees a link that is not there. */
    CHECK(link_changes == changes + 1 && !link_up);
    pthread_mutex_unlock(&lock);
    CHECK(listen(listener, 4) == 0);
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&link_changes, changes + 2));
    CHECK(link_up);
    unsigned base = accepted;
    refuse = false;
    pthread_mutex_unlock(&lock);
    int peer = accept(listener, NULL, NULL);
    uint8_t f[60];
    arp_request(f);
    send_framed(peer, f, sizeof(f));
    pthread_mutex_lock(&lock);
    CHECK(wait_count(&accepted, base + 1));
    CHECK(last_len == 60 && !memcmp(last, f, 60));
    pthread_mutex_unlock(&lock);
    close(peer);
    net_backend_destroy(nb);
out:
    close(listener);
    unlink(addr.sun_path);
}

static void test_tap_errors(void)
{
    struct net_config cfg;
    char err[128];
    /* lo exists and is no tap, so attaching fails whether or not we may create taps. */
    CHECK(net_config_parse("tap=lo", &cfg, err, sizeof(err)) == 0);
    fprintf(stderr, "(an error about tap=lo is expected next)\n");
    struct net_backend *nb = net_backend_create(&cfg, receive, NULL, &lock);
    CHECK(nb == NULL);
    net_backend_destroy(nb);

    /* Root may create a tap by attaching to a new name; it vanishes when closed. */
    if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0) {
        char arg[32];
        snprintf(arg, sizeof(arg), "tap=rvmt%u", (unsigned)getpid() % 100000);
        CHECK(net_config_parse(arg, &cfg, err, sizeof(err)) == 0);
        nb = net_backend_create(&cfg, receive, NULL, &lock);
        CHECK(nb != NULL);
        net_backend_destroy(nb);
    }
}

int main(void)
{
    test_slirp_arp_and_refusal();
    test_slirp_hostfwd();
    test_tap_errors();
    test_stream_port();
    test_stream_port_missing_at_start();
    UNIT_DONE();
}
