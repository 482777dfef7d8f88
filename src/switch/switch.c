/* The switch's event loop: the listening socket, the stream ports, the uplink. */
#include "switch/switch.h"

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/sandbox.h"
#include "host/stream_framing.h"
#include "switch/switch_core.h"
#include "switch/uplink.h"

/* What one port may send in one round: one read, so every port gets its turn. */
#define READ_CHUNK 65536

struct port {
    int fd;                         /* -1: the uplink, or a free slot */
    bool in_use, dirty;             /* dirty: output queued since the last flush */
    bool write_failed;              /* the peer takes no more: output is dropped */
    struct stream_reader *reader;
    struct stream_writer out;
};

struct vswitch {
    struct switch_core core;
    char *path;
    int listen_fd;
    struct uplink *uplink;
    int uplink_port;                 /* its core port, -1 without one */
    struct port ports[SWITCH_MAX_PORTS];
    unsigned in_port;                /* the port whose frames are being forwarded */
    uint8_t chunk[READ_CHUNK];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void forward(void *opaque, const uint8_t *frame, size_t len)
{
    struct vswitch *sw = opaque;
    unsigned out[SWITCH_MAX_PORTS];
    unsigned n = switch_forward(&sw->core, sw->in_port, frame, len, now_ns(), out);
    for (unsigned i = 0; i < n; i++) {
        struct port *p = &sw->ports[out[i]];
        bool queued = true;
        if ((int)out[i] == sw->uplink_port) {
            uplink_send(sw->uplink, frame, len);
        } else {
            queued = !p->write_failed && stream_writer_queue(&p->out, frame, len);
            p->dirty |= queued;
        }
        switch_count_tx(&sw->core, out[i], len, queued);
    }
}

static void report_port(struct vswitch *sw, unsigned i, const char *why)
{
    const struct switch_port_stats *s = &sw->core.stats[i];
    fprintf(stderr, "rackvm switch: port %u %s: rx %llu frames %llu bytes, tx %llu frames "
            "%llu bytes, dropped rx %llu (rate) %llu (malformed), tx %llu (output full)\n", i,
            why, (unsigned long long)s->rx_frames, (unsigned long long)s->rx_bytes,
            (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
            (unsigned long long)s->rx_dropped_rate, (unsigned long long)s->rx_dropped_malformed,
            (unsigned long long)s->tx_dropped);
}

static void close_port(struct vswitch *sw, unsigned i, const char *why)
{
    struct port *p = &sw->ports[i];
    char what[160];
    bool truncated = p->reader && stream_reader_pending(p->reader);
    if (truncated)
        sw->core.stats[i].rx_dropped_malformed++;
    snprintf(what, sizeof(what), "%s%s", why, truncated ? " (a truncated frame dropped)" : "");
    report_port(sw, i, what);
    close(p->fd);
    free(p->reader);
    stream_writer_free(&p->out);
    *p = (struct port){ .fd = -1 };
    switch_port_remove(&sw->core, i);
}

/* Takes one waiting connection; false when none is left (or fds ran out: it may retry). */
static bool accept_port(struct vswitch *sw)
{
    int fd = accept4(sw->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return false;
    int i = switch_port_add(&sw->core, now_ns());
    if (i < 0) {
        fprintf(stderr, "rackvm switch: all %d ports are in use; refused a connection\n",
                SWITCH_MAX_PORTS);
        close(fd);
        return true;
    }
    struct port *p = &sw->ports[i];
    *p = (struct port){ .fd = fd, .in_use = true, .reader = malloc(sizeof(*p->reader)) };
    if (!p->reader || stream_writer_init(&p->out, SWITCH_PORT_OUTPUT_BYTES) < 0) {
        close_port(sw, (unsigned)i, "refused: out of memory");
        return true;
    }
    stream_reader_init(p->reader);
    fprintf(stderr, "rackvm switch: port %d joined\n", i);
    return true;
}

static void read_port(struct vswitch *sw, unsigned i)
{
    struct port *p = &sw->ports[i];
    ssize_t n = recv(p->fd, sw->chunk, sizeof(sw->chunk), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        /* A peer that closes with our frames unread resets the connection: it left too. */
        close_port(sw, i, n < 0 && errno != ECONNRESET ? "failed" : "left");
        return;
    }
    sw->in_port = i;
    uint64_t empty_before = p->reader->empty_frames;
    int rc = stream_reader_push(p->reader, sw->chunk, (size_t)n, forward, sw);
    sw->core.stats[i].rx_dropped_malformed += p->reader->empty_frames - empty_before;
    if (rc < 0) {
        sw->core.stats[i].rx_dropped_malformed++;
        stream_reader_init(p->reader);   /* what it held is not a truncated frame */
        char why[96];
        snprintf(why, sizeof(why), "disconnected: it announced a frame over the framing's "
                 "limit of %d bytes", STREAM_FRAME_MAX);
        close_port(sw, i, why);
    }
}

static void take_uplink_frames(struct vswitch *sw)
{
    sw->in_port = (unsigned)sw->uplink_port;
    uplink_take(sw->uplink, forward, sw);
}

static void flush_ports(struct vswitch *sw)
{
    for (unsigned i = 0; i < SWITCH_MAX_PORTS; i++) {
        struct port *p = &sw->ports[i];
        if (!p->in_use || p->fd < 0 || !p->dirty)
            continue;
        /* Closed only by its read side, so that frames it sent before are not lost. */
        if (stream_writer_flush(&p->out, p->fd) < 0) {
            p->write_failed = true;
            p->out.len = 0;
        }
        p->dirty = p->out.len > 0;
    }
}

int switch_run(struct vswitch *sw, int stop_fd)
{
    struct pollfd pfd[3 + SWITCH_MAX_PORTS];
    unsigned port_of[3 + SWITCH_MAX_PORTS];
    for (;;) {
        unsigned n = 0;
        pfd[n++] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = sw->listen_fd, .events = POLLIN };
        pfd[n++] = (struct pollfd){ .fd = sw->uplink ? uplink_wake_fd(sw->uplink) : -1,
                                    .events = POLLIN };
        for (unsigned i = 0; i < SWITCH_MAX_PORTS; i++) {
            struct port *p = &sw->ports[i];
            if (!p->in_use || p->fd < 0)
                continue;
            port_of[n] = i;
            pfd[n++] = (struct pollfd){ .fd = p->fd,
                                        .events = POLLIN | (p->out.len ? POLLOUT : 0) };
        }
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            rvm_error("switch: poll failed: %s", strerror(errno));
            return 1;
        }
        if (pfd[0].revents)
            return 0;
        /* Every waiting peer joins before any frame moves, so none misses a flood. */
        if (pfd[1].revents & POLLIN)
            while (accept_port(sw))
                continue;
        if (pfd[2].revents & POLLIN)
            take_uplink_frames(sw);
        for (unsigned k = 3; k < n; k++) {
            struct port *p = &sw->ports[port_of[k]];
            if (pfd[k].revents & POLLOUT)
                p->dirty = true;
            if (p->in_use && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                read_port(sw, port_of[k]);
        }
        flush_ports(sw);
    }
}

/* Only the VMs may connect. With a socket group (a root rack's network, whose VMs each
 * run as a user of their own with that group): mode 0660 in that group. Otherwise mode
 * 0600: a switch started as root gives its socket to the user that sandboxed VMs become,
 * since they reconnect from there after a switch restart; else it stays the switch's
 * user's. */
static int socket_for_vms(const char *path, long socket_group)
{
    if (socket_group >= 0)
        return chown(path, (uid_t)-1, (gid_t)socket_group) < 0 ? -1 : chmod(path, 0660);
    if (chmod(path, 0600) < 0)
        return -1;
    if (geteuid() != 0)
        return 0;
    struct passwd *pw = getpwnam(SANDBOX_DEFAULT_USER);
    if (!pw) {
        rvm_error("switch: no user %s to give the socket to: only root's VMs can reconnect",
                  SANDBOX_DEFAULT_USER);
        return 0;
    }
    return chown(path, pw->pw_uid, pw->pw_gid);
}

/* Binds path, replacing a socket no one listens on any more. */
static int listen_on(const char *path, long socket_group)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) {
        rvm_error("switch --listen %s: a socket path is at most %zu bytes", path,
                  sizeof(addr.sun_path) - 1);
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rvm_error("switch: cannot create a socket: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            rvm_error("switch --listen %s: the file exists and is not a socket", path);
            goto fail;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            rvm_error("switch --listen %s: another switch is listening there", path);
            goto fail;
        }
        unlink(path);
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || socket_for_vms(path, socket_group) < 0 ||
        listen(fd, 16) < 0) {
        rvm_error("switch --listen %s: %s", path, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

struct vswitch *switch_create(const char *socket_path, long socket_group,
                              const struct net_config *uplink)
{
    struct vswitch *sw = calloc(1, sizeof(*sw));
    if (!sw) {
        rvm_error("out of memory");
        return NULL;
    }
    sw->listen_fd = -1;
    sw->uplink_port = -1;
    for (unsigned i = 0; i < SWITCH_MAX_PORTS; i++)
        sw->ports[i].fd = -1;
    switch_core_init(&sw->core, &switch_default_config);
    if (uplink) {
        if (!(sw->uplink = uplink_create(uplink)))
            goto fail;
        sw->uplink_port = switch_port_add(&sw->core, now_ns());
        sw->ports[sw->uplink_port].in_use = true;
    }
    sw->listen_fd = listen_on(socket_path, socket_group);
    if (sw->listen_fd < 0)
        goto fail;
    if (!(sw->path = strdup(socket_path))) {
        rvm_error("out of memory");
        goto fail;
    }
    return sw;
fail:
    switch_destroy(sw);
    return NULL;
}

void switch_destroy(struct vswitch *sw)
{
    if (!sw)
        return;
    for (unsigned i = 0; i < SWITCH_MAX_PORTS; i++)
        if (sw->ports[i].fd >= 0)
            close_port(sw, i, "closed: the switch stops");
    if (sw->uplink_port >= 0)
        report_port(sw, (unsigned)sw->uplink_port, "(uplink) closed: the switch stops");
    uplink_destroy(sw->uplink);
    if (sw->listen_fd >= 0) {
        close(sw->listen_fd);
        if (sw->path)
            unlink(sw->path);
    }
    free(sw->path);
    free(sw);
}
