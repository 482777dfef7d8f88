/*
 * A host tap interface by name (/dev/net/tun, IFF_TAP | IFF_NO_PI): frames go to and
 * come from the host's network stack unchanged. A reader thread waits on the tap fd;
 * while the device refuses a frame it holds that one frame and reads no more, so the
 * kernel's tap queue absorbs the burst.
 */
#include "host/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The largest frame a tap without offloads delivers is MTU + header; 64 KiB covers any MTU. */
#define TAP_FRAME_MAX 65536

struct net_tap {
    struct net_backend nb;
    int fd;
    int wake_fd;                 /* eventfd: rx buffers posted, or stop */
    atomic_bool stopping;
    pthread_t thread;
    bool thread_started;
    size_t held;                 /* length of a refused frame in buf, 0: none */
    uint8_t buf[TAP_FRAME_MAX];
};

static void *tap_thread(void *arg)
{
    struct net_tap *t = arg;
    while (!atomic_load(&t->stopping)) {
        struct pollfd pfd[2] = {
            { .fd = t->wake_fd, .events = POLLIN },
            { .fd = t->fd, .events = t->held ? 0 : POLLIN },
        };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            rvm_error("tap: poll failed: %s", strerror(errno));
            break;
        }
        if (pfd[0].revents & POLLIN) {
            uint64_t count;
            if (read(t->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                break;
        }
        if (t->held && t->nb.receive(t->nb.dev, t->buf, t->held))
            t->held = 0;
        if (!t->held && (pfd[1].revents & POLLIN)) {
            ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
            if (n > 0 && !t->nb.receive(t->nb.dev, t->buf, (size_t)n))
                t->held = (size_t)n;
        }
        if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            rvm_error("tap: the interface went away; the guest's network is down");
            break;
        }
    }
    return NULL;
}

static void tap_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_tap *t = (struct net_tap *)nb;
    /* Non-blocking: EAGAIN (host queue full) or a downed interface drops the frame. */
    if (write(t->fd, frame, len) < 0)
        return;
}

static void tap_rx_ready(struct net_backend *nb)
{
    struct net_tap *t = (struct net_tap *)nb;
    uint64_t one = 1;
    if (write(t->wake_fd, &one, sizeof(one)) < 0)
        return;
}

static void tap_destroy(struct net_backend *nb)
{
    struct net_tap *t = (struct net_tap *)nb;
    if (t->thread_started) {
        atomic_store(&t->stopping, true);
        tap_rx_ready(nb);
        pthread_join(t->thread, NULL);
    }
    if (t->fd >= 0)
        close(t->fd);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .send = tap_send,
    .rx_ready = tap_rx_ready,
    .destroy = tap_destroy,
};

static void report_open_error(const char *what, const char *ifname, int err)
{
    const char *hint = "";
    if (err == ENOENT || err == ENODEV)
        hint = " (the tun driver is missing: modprobe tun)";
    else if (err == EACCES || err == EPERM)
        hint = " (create it for your user first: ip tuntap add dev IFNAME mode tap user $USER,"
               " or run as root)";
    else if (err == EBUSY)
        hint = " (another program has it open)";
    else if (err == EINVAL)
        hint = " (an interface of that name exists and is not a tap)";
    rvm_error("--net tap=%s: cannot %s: %s%s", ifname, what, strerror(err), hint);
}

struct net_backend *net_tap_create(const struct net_config *cfg, net_receive_fn receive, void *dev)
{
    struct net_tap *t = calloc(1, sizeof(*t));
    if (!t) {
        rvm_error("out of memory");
        return NULL;
    }
    t->nb = (struct net_backend){ .ops = &tap_ops, .receive = receive, .dev = dev };
    t->wake_fd = -1;
    t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (t->fd < 0) {
        report_open_error("open /dev/net/tun", cfg->ifname, errno);
        goto fail;
    }
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    memcpy(ifr.ifr_name, cfg->ifname, strnlen(cfg->ifname, IFNAMSIZ - 1));
    if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
        report_open_error("attach to the tap interface", cfg->ifname, errno);
        goto fail;
    }
    t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->wake_fd < 0) {
        rvm_error("--net tap=%s: cannot create an eventfd: %s", cfg->ifname, strerror(errno));
        goto fail;
    }
    int rc = thread_start(&t->thread, "net-tap", tap_thread, t);
    if (rc) {
        rvm_error("--net tap=%s: cannot start its thread: %s", cfg->ifname, strerror(rc));
        goto fail;
    }
    t->thread_started = true;
    return &t->nb;
fail:
    tap_destroy(&t->nb);
    return NULL;
}
