/*
 * Network back ends without a guest: slirp answers an ARP request on its own thread,
 * keeps a refused frame until rx_ready, forwards host connections, and refuses a
 * forwarded port that is in use; tap reports interfaces it cannot attach to.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
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
    UNIT_DONE();
}
