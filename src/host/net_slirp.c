/*
 * User-mode networking with libslirp, laid out as QEMU's default: network 10.0.2.0/24,
 * gateway and host 10.0.2.2 (connections to it reach the host's loopback), DNS 10.0.2.3,
 * DHCP handing out 10.0.2.15 first, NAT to the host for everything else. IPv4 only.
 * libslirp is not thread-safe, so one thread owns the Slirp instance: it polls slirp's
 * sockets, runs its timers, and feeds it the guest's frames, which send() queues.
 */
#include "host/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "host/frame_queue.h"

/* Slirp asks for a timeout; this caps it so a missed wake-up costs at most this long. */
#define MAX_POLL_MS 1000

struct slirp_timer {
    SlirpTimerId id;
    void *cb_opaque;
    int64_t expire_ms;   /* -1: not armed */
    struct slirp_timer *next;
};

struct net_slirp {
    struct net_backend nb;
    Slirp *slirp;
    pthread_t thread;
    bool thread_started;
    int wake_fd;                 /* eventfd: guest frames queued, rx buffers posted, stop */
    atomic_bool stopping;

    pthread_mutex_t tx_lock;     /* guards tx only; never held across a call out */
    struct frame_queue tx;       /* guest -> slirp */
    struct frame_queue rx;       /* slirp -> guest frames the device refused; slirp thread only */

    struct pollfd *pfds;         /* rebuilt every round; slirp thread only */
    unsigned npfds, pfd_cap;
    struct slirp_timer *timers;
};

static void wake(struct net_slirp *s)
{
    uint64_t one = 1;
    /* A full counter already means "wake up", so a failed write loses nothing. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        return;
}

/* Offers refused frames again, in order, until the device refuses one. */
static void flush_rx(struct net_slirp *s)
{
    struct queued_frame *f;
    while ((f = frame_queue_peek(&s->rx)) && s->nb.receive(s->nb.dev, f->data, f->len))
        frame_queue_drop_head(&s->rx);
}

/* --- libslirp callbacks (all on the slirp thread, or in create before it starts) --- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    if (s->rx.count == 0 && s->nb.receive(s->nb.dev, buf, len))
        return (ssize_t)len;
    /* Dropped when even the backlog is full: TCP retransmits, as on a congested link. */
    frame_queue_push(&s->rx, buf, len);
    return (ssize_t)len;
}

/* Guest misbehaviour (a malformed packet) is not the host user's problem; QEMU hides it too. */
static void cb_guest_error(const char *msg, void *opaque)
{
    (void)msg;
    (void)opaque;
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return monotonic_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    struct net_slirp *s = opaque;
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;
    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = ((struct slirp_timer *)timer)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    ((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

/* The poll set is rebuilt from slirp_pollfds_fill every round, so fds need no registry. */
static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_notify(void *opaque)
{
    wake(opaque);
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .timer_new_opaque = cb_timer_new_opaque,
};

static int add_pollfd(struct net_slirp *s, int fd, short events)
{
    if (s->npfds == s->pfd_cap) {
        unsigned cap = s->pfd_cap ? s->pfd_cap * 2 : 16;
        struct pollfd *p = realloc(s->pfds, cap * sizeof(*p));
        if (!p)
            return -1;
        s->pfds = p;
        s->pfd_cap = cap;
    }
    s->pfds[s->npfds] = (struct pollfd){ .fd = fd, .events = events };
    return (int)s->npfds++;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    short ev = 0;
    /* While refused frames wait for the guest, read nothing more from the host. */
    if ((events & SLIRP_POLL_IN) && s->rx.count == 0)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    return add_pollfd(s, fd, ev);
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    if (idx < 0 || (unsigned)idx >= s->npfds)
        return 0;
    short r = s->pfds[idx].revents;
    return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((r & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0) |
           ((r & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

/* --- the slirp thread --- */

static uint32_t timer_timeout_ms(struct net_slirp *s)
{
    int64_t now = monotonic_ns() / 1000000, timeout = MAX_POLL_MS;
    for (struct slirp_timer *t = s->timers; t; t = t->next) {
        if (t->expire_ms >= 0 && t->expire_ms - now < timeout)
            timeout = t->expire_ms > now ? t->expire_ms - now : 0;
    }
    return (uint32_t)timeout;
}

static void run_timers(struct net_slirp *s)
{
    int64_t now = monotonic_ns() / 1000000;
    /* A handler may re-arm or free timers, so look again from the head after each one. */
    for (struct slirp_timer *t = s->timers; t;) {
        if (t->expire_ms >= 0 && t->expire_ms <= now) {
            t->expire_ms = -1;
            slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
            t = s->timers;
        } else {
            t = t->next;
        }
    }
}

static void feed_guest_frames(struct net_slirp *s)
{
    struct frame_queue batch;
    pthread_mutex_lock(&s->tx_lock);
    frame_queue_take_all(&s->tx, &batch);
    pthread_mutex_unlock(&s->tx_lock);
    for (struct queued_frame *f; (f = frame_queue_peek(&batch)); frame_queue_drop_head(&batch))
        slirp_input(s->slirp, f->data, (int)f->len);
}

static void *slirp_thread(void *arg)
{
    struct net_slirp *s = arg;
    while (!atomic_load(&s->stopping)) {
        s->npfds = 0;
        add_pollfd(s, s->wake_fd, POLLIN);
        uint32_t timeout = timer_timeout_ms(s);
        slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
        int n = poll(s->pfds, s->npfds, (int)timeout);
        if (n > 0 && (s->pfds[0].revents & POLLIN)) {
            uint64_t count;
            if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                break;
        }
        feed_guest_frames(s);
        flush_rx(s);
        slirp_pollfds_poll(s->slirp, n < 0, cb_get_revents, s);
        run_timers(s);
    }
    return NULL;
}

/* --- back-end ops --- */

/*
 * libslirp 4.7.0 (Debian 12) writes through a NULL pointer after about a thousand
 * fragmented IPv4 datagrams from the guest side (reproduced by test_switch's uplink test),
 * so fragments never reach it: a guest could otherwise crash its VM, or a whole switch
 * through its uplink. TCP never fragments (MSS), so only UDP over 1472 bytes is lost.
 */
static bool is_ipv4_fragment(const uint8_t *frame, size_t len)
{
    if (len < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00)
        return false;
    uint16_t flags_offset = (uint16_t)(frame[14 + 6] << 8 | frame[14 + 7]);
    return (flags_offset & 0x3fff) != 0;   /* more fragments, or an offset */
}

static void slirp_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    if (is_ipv4_fragment(frame, len))
        return;
    pthread_mutex_lock(&s->tx_lock);
    bool queued = frame_queue_push(&s->tx, frame, len);
    pthread_mutex_unlock(&s->tx_lock);
    if (queued)
        wake(s);
}

static void slirp_rx_ready(struct net_backend *nb)
{
    wake((struct net_slirp *)nb);
}

static void slirp_destroy(struct net_backend *nb)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    if (s->thread_started) {
        atomic_store(&s->stopping, true);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->timers)
        cb_timer_free(s->timers, s);
    frame_queue_clear(&s->tx);
    frame_queue_clear(&s->rx);
    free(s->pfds);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->tx_lock);
    free(s);
}

static const struct net_backend_ops slirp_ops = {
    .send = slirp_send,
    .rx_ready = slirp_rx_ready,
    .destroy = slirp_destroy,
};

static struct in_addr ipv4(const char *text)
{
    struct in_addr a;
    inet_pton(AF_INET, text, &a);
    return a;
}

struct net_backend *net_slirp_create(const struct net_config *cfg, net_receive_fn receive, void *dev)
{
    struct net_slirp *s = calloc(1, sizeof(*s));
    if (!s) {
        rvm_error("out of memory");
        return NULL;
    }
    s->nb = (struct net_backend){ .ops = &slirp_ops, .receive = receive, .dev = dev };
    pthread_mutex_init(&s->tx_lock, NULL);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        rvm_error("--net user: cannot create an eventfd: %s", strerror(errno));
        goto fail;
    }
    SlirpConfig sc = {
        .version = 4,
        .in_enabled = true,
        .vnetwork = ipv4("10.0.2.0"),
        .vnetmask = ipv4("255.255.255.0"),
        .vhost = ipv4("10.0.2.2"),
        .vdhcp_start = ipv4("10.0.2.15"),
        .vnameserver = ipv4("10.0.2.3"),
    };
    s->slirp = slirp_new(&sc, &slirp_callbacks, s);
    if (!s->slirp) {
        rvm_error("--net user: libslirp failed to start");
        goto fail;
    }
    for (unsigned i = 0; i < cfg->nhostfwd; i++) {
        const struct net_hostfwd *f = &cfg->hostfwd[i];
        errno = 0;
        if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr,
                              f->guest_port) < 0) {
            char host[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
            inet_ntop(AF_INET, &f->guest_addr, guest, sizeof(guest));
            rvm_error("--net user: cannot forward host %s port %s:%u to guest %s:%u: %s",
                      f->udp ? "udp" : "tcp", host, f->host_port, guest, f->guest_port,
                      errno ? strerror(errno) : "the port is in use or not allowed");
            goto fail;
        }
    }
    int rc = thread_start(&s->thread, "net-slirp", slirp_thread, s);
    if (rc) {
        rvm_error("--net user: cannot start its thread: %s", strerror(rc));
        goto fail;
    }
    s->thread_started = true;
    return &s->nb;
fail:
    slirp_destroy(&s->nb);
    return NULL;
}
