/* The switch's NAT uplink: libslirp's frames handed across threads through a bounded queue. */
#include "switch/uplink.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/frame_queue.h"
#include "host/net.h"

struct uplink {
    struct net_backend *slirp;
    int wake_fd;
    pthread_mutex_t lock;        /* guards the queue between slirp's thread and the switch's */
    struct frame_queue queue;    /* slirp keeps what does not fit until there is room */
    bool refused;                /* a frame was refused: tell slirp when there is room */
};

static void wake(struct uplink *u)
{
    uint64_t one = 1;
    /* A full counter already means "wake up", so a failed write loses nothing. */
    if (write(u->wake_fd, &one, sizeof(one)) < 0)
        return;
}

/* On slirp's thread. */
static bool uplink_receive(void *dev, const uint8_t *frame, size_t len)
{
    struct uplink *u = dev;
    pthread_mutex_lock(&u->lock);
    bool queued = frame_queue_push(&u->queue, frame, len);
    u->refused |= !queued;
    pthread_mutex_unlock(&u->lock);
    if (queued)
        wake(u);
    return queued;
}

struct uplink *uplink_create(const struct net_config *cfg)
{
    struct uplink *u = calloc(1, sizeof(*u));
    if (!u) {
        rvm_error("out of memory");
        return NULL;
    }
    pthread_mutex_init(&u->lock, NULL);
    u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (u->wake_fd < 0) {
        rvm_error("switch uplink: cannot create an eventfd: %s", strerror(errno));
        uplink_destroy(u);
        return NULL;
    }
    u->slirp = net_slirp_create(cfg, uplink_receive, u);
    if (!u->slirp) {
        uplink_destroy(u);
        return NULL;
    }
    return u;
}

void uplink_destroy(struct uplink *u)
{
    if (!u)
        return;
    net_backend_destroy(u->slirp);   /* first: its thread calls uplink_receive */
    frame_queue_clear(&u->queue);
    if (u->wake_fd >= 0)
        close(u->wake_fd);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

int uplink_wake_fd(const struct uplink *u)
{
    return u->wake_fd;
}

void uplink_take(struct uplink *u, uplink_frame_fn fn, void *opaque)
{
    uint64_t count;
    if (read(u->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
        return;
    struct frame_queue batch;
    pthread_mutex_lock(&u->lock);
    frame_queue_take_all(&u->queue, &batch);
    bool refused = u->refused;
    u->refused = false;
    pthread_mutex_unlock(&u->lock);
    for (struct queued_frame *f; (f = frame_queue_peek(&batch)); frame_queue_drop_head(&batch))
        fn(opaque, f->data, f->len);
    /* The queue is empty now: slirp may send what it held back. */
    if (refused)
        net_backend_rx_ready(u->slirp);
}

void uplink_send(struct uplink *u, const uint8_t *frame, size_t len)
{
    net_backend_send(u->slirp, frame, len);
}
