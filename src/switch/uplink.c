/* The switch's NAT uplink: libslirp's frames handed across threads through a bounded queue. */
#include "switch/uplink.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/net.h"

/* As deep as a guest's receive ring: slirp keeps the rest until there is room. */
#define UPLINK_QUEUE_FRAMES 256

struct uplink_frame {
    size_t len;
    uint8_t data[];
};

struct uplink {
    struct net_backend *slirp;
    int wake_fd;
    pthread_mutex_t lock;        /* guards the queue between slirp's thread and the switch's */
    struct uplink_frame *queue[UPLINK_QUEUE_FRAMES];
    unsigned head, count;
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
    struct uplink_frame *f = NULL;
    pthread_mutex_lock(&u->lock);
    if (u->count < UPLINK_QUEUE_FRAMES && (f = malloc(sizeof(*f) + len))) {
        f->len = len;
        memcpy(f->data, frame, len);
        u->queue[(u->head + u->count++) % UPLINK_QUEUE_FRAMES] = f;
    } else {
        u->refused = true;
    }
    pthread_mutex_unlock(&u->lock);
    if (f)
        wake(u);
    return f != NULL;
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
    while (u->count) {
        free(u->queue[u->head]);
        u->head = (u->head + 1) % UPLINK_QUEUE_FRAMES;
        u->count--;
    }
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
    for (;;) {
        pthread_mutex_lock(&u->lock);
        struct uplink_frame *f = NULL;
        if (u->count) {
            f = u->queue[u->head];
            u->head = (u->head + 1) % UPLINK_QUEUE_FRAMES;
            u->count--;
        }
        bool tell = !f && u->refused;
        if (tell)
            u->refused = false;
        pthread_mutex_unlock(&u->lock);
        if (!f) {
            if (tell)
                net_backend_rx_ready(u->slirp);
            return;
        }
        fn(opaque, f->data, f->len);
        free(f);
    }
}

void uplink_send(struct uplink *u, const uint8_t *frame, size_t len)
{
    net_backend_send(u->slirp, frame, len);
}
