/*
 * `--net switch=SOCKET`: a Unix stream connection to a `rackvm switch` (or any peer
 * speaking QEMU's stream netdev framing, host/stream_framing.h). A thread reads frames
 * and offers them to the device; frames the device refuses wait in a bounded backlog,
 * and while any wait nothing more is read, so the switch drops at its side (where the
 * flood is counted) rather than here. Sent frames are framed into a bounded buffer and
 * written without blocking; a full buffer drops them, as a busy wire would.
 *
 * A switch that goes away costs the NIC its frames, never the VM: one line on stderr,
 * the device told the link is down, then a reconnection attempt every second; the
 * device is told the link is up again once one succeeds. With missing=link-down a
 * switch that is not listening at start is the same: the NIC starts with its link down.
 */
#include "host/net.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/frame_queue.h"
#include "host/stream_framing.h"

#define OUTPUT_BYTES (256 * 1024)
#define READ_CHUNK 65536
#define RECONNECT_MS 1000

struct net_stream {
    struct net_backend nb;
    net_link_fn link;            /* NULL: the device does not show link changes */
    struct sockaddr_un addr;
    int wake_fd;                 /* eventfd: rx buffers posted, output waiting, or stop */
    atomic_bool stopping;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t tx_lock;     /* guards fd and out against the vCPU threads' sends */
    int fd;                      /* -1 while the switch is away */
    struct stream_writer out;

    /* The reader thread's own. */
    struct frame_queue backlog;
    struct stream_reader reader;
    uint8_t chunk[READ_CHUNK];
};

static const char *path_of(const struct net_stream *s)
{
    return s->addr.sun_path;
}

static void wake(struct net_stream *s)
{
    uint64_t one = 1;
    /* A full counter already means "wake up", so a failed write loses nothing. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        return;
}

/* Non-blocking: a stopped switch with a full backlog is EAGAIN, not a hung thread. */
static int connect_switch(struct net_stream *s)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static void set_fd(struct net_stream *s, int fd)
{
    pthread_mutex_lock(&s->tx_lock);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = fd;
    s->out.len = 0;
    pthread_mutex_unlock(&s->tx_lock);
    stream_reader_init(&s->reader);
}

static void tell_link(struct net_stream *s, bool up)
{
    if (s->link)
        s->link(s->nb.dev, up);
}

static void disconnect(struct net_stream *s, const char *why)
{
    rvm_error("--net switch=%s: %s; the NIC's link is down until the switch is back",
              path_of(s), why);
    set_fd(s, -1);
    tell_link(s, false);
}

/* Offers waiting frames, in order, until the device refuses one. */
static void deliver_backlog(struct net_stream *s)
{
    struct queued_frame *f;
    while ((f = frame_queue_peek(&s->backlog)) && s->nb.receive(s->nb.dev, f->data, f->len))
        frame_queue_drop_head(&s->backlog);
}

static void on_frame(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_stream *s = opaque;
    if (s->backlog.count == 0 && s->nb.receive(s->nb.dev, frame, len))
        return;
    /* When even the backlog is full the frame is dropped, as by a NIC whose ring is full. */
    frame_queue_push(&s->backlog, frame, len);
}

static void read_switch(struct net_stream *s, int fd)
{
    ssize_t n = recv(fd, s->chunk, sizeof(s->chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        disconnect(s, n == 0 || errno == ECONNRESET ? "the switch went away" : strerror(errno));
        return;
    }
    if (stream_reader_push(&s->reader, s->chunk, (size_t)n, on_frame, s) < 0)
        disconnect(s, "the switch sent a frame longer than the framing allows");
}

static void *stream_thread(void *arg)
{
    struct net_stream *s = arg;
    while (!atomic_load(&s->stopping)) {
        pthread_mutex_lock(&s->tx_lock);
        int fd = s->fd;
        bool output_waits = s->out.len > 0;
        pthread_mutex_unlock(&s->tx_lock);
        struct pollfd pfd[2] = {
            { .fd = s->wake_fd, .events = POLLIN },
            { .fd = fd, .events = (s->backlog.count ? 0 : POLLIN) | (output_waits ? POLLOUT : 0) },
        };
        if (poll(pfd, 2, fd < 0 ? RECONNECT_MS : -1) < 0) {
            if (errno == EINTR)
                continue;
            rvm_error("--net switch=%s: poll failed: %s", path_of(s), strerror(errno));
            break;
        }
        if (pfd[0].revents & POLLIN) {
            uint64_t count;
            if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                break;
        }
        deliver_backlog(s);
        if (fd < 0) {
            int again = connect_switch(s);
            if (again >= 0) {
                set_fd(s, again);
                tell_link(s, true);
                rvm_error("--net switch=%s: connected to the switch again", path_of(s));
            }
            continue;
        }
        if (pfd[1].revents & POLLOUT) {
            pthread_mutex_lock(&s->tx_lock);
            int rc = stream_writer_flush(&s->out, fd);
            pthread_mutex_unlock(&s->tx_lock);
            if (rc < 0) {
                disconnect(s, "the switch went away");
                continue;
            }
        }
        if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
            read_switch(s, fd);
    }
    return NULL;
}

static void stream_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    struct net_stream *s = (struct net_stream *)nb;
    pthread_mutex_lock(&s->tx_lock);
    bool more = false;
    /* Written at once when the socket has room; a failure is the reader's to notice. */
    if (s->fd >= 0 && stream_writer_queue(&s->out, frame, len)) {
        if (stream_writer_flush(&s->out, s->fd) < 0)
            s->out.len = 0;
        more = s->out.len > 0;
    }
    pthread_mutex_unlock(&s->tx_lock);
    if (more)
        wake(s);
}

static void stream_rx_ready(struct net_backend *nb)
{
    wake((struct net_stream *)nb);
}

static void stream_destroy(struct net_backend *nb)
{
    struct net_stream *s = (struct net_stream *)nb;
    if (s->thread_started) {
        atomic_store(&s->stopping, true);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    if (s->fd >= 0)
        close(s->fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    frame_queue_clear(&s->backlog);
    stream_writer_free(&s->out);
    pthread_mutex_destroy(&s->tx_lock);
    free(s);
}

static const struct net_backend_ops stream_ops = {
    .send = stream_send,
    .rx_ready = stream_rx_ready,
    .destroy = stream_destroy,
};

struct net_backend *net_stream_create(const struct net_config *cfg, net_receive_fn receive,
                                     net_link_fn link, void *dev)
{
    struct net_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        rvm_error("out of memory");
        return NULL;
    }
    s->nb = (struct net_backend){ .ops = &stream_ops, .receive = receive, .dev = dev };
    s->link = link;
    s->fd = s->wake_fd = -1;
    pthread_mutex_init(&s->tx_lock, NULL);
    s->addr.sun_family = AF_UNIX;
    memcpy(s->addr.sun_path, cfg->socket_path, sizeof(cfg->socket_path));
    stream_reader_init(&s->reader);
    if (stream_writer_init(&s->out, OUTPUT_BYTES) < 0) {
        rvm_error("out of memory");
        goto fail;
    }
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->wake_fd < 0) {
        rvm_error("--net switch=%s: cannot create an eventfd: %s", path_of(s), strerror(errno));
        goto fail;
    }
    /* At start a missing switch is a mistake to report, unless the caller knows it may be
     * restarting (missing=link-down): then the thread connects once it listens. */
    if ((s->fd = connect_switch(s)) < 0) {
        if (!cfg->missing_switch_link_down) {
            rvm_error("--net switch=%s: cannot connect: %s (is `rackvm switch --listen %s` running?)",
                      path_of(s), strerror(errno), path_of(s));
            goto fail;
        }
        char why[96];
        snprintf(why, sizeof(why), "no switch listening (%s)", strerror(errno));
        disconnect(s, why);
    }
    int rc = thread_start(&s->thread, "net-switch", stream_thread, s);
    if (rc) {
        rvm_error("--net switch=%s: cannot start its thread: %s", path_of(s), strerror(rc));
        goto fail;
    }
    s->thread_started = true;
    return &s->nb;
fail:
    stream_destroy(&s->nb);
    return NULL;
}
