/* Bounded FIFO of copied frames. */
#include "host/frame_queue.h"

#include <stdlib.h>
#include <string.h>

bool frame_queue_push(struct frame_queue *q, const uint8_t *data, size_t len)
{
    if (q->count == FRAME_QUEUE_MAX)
        return false;
    struct queued_frame *f = malloc(sizeof(*f) + len);
    if (!f)
        return false;
    f->len = len;
    memcpy(f->data, data, len);
    q->f[(q->head + q->count++) % FRAME_QUEUE_MAX] = f;
    return true;
}

struct queued_frame *frame_queue_peek(struct frame_queue *q)
{
    return q->count ? q->f[q->head] : NULL;
}

void frame_queue_drop_head(struct frame_queue *q)
{
    free(q->f[q->head]);
    q->head = (q->head + 1) % FRAME_QUEUE_MAX;
    q->count--;
}

void frame_queue_clear(struct frame_queue *q)
{
    while (q->count)
        frame_queue_drop_head(q);
}

void frame_queue_take_all(struct frame_queue *from, struct frame_queue *to)
{
    *to = *from;
    from->head = from->count = 0;
}
