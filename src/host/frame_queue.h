/*
 * A bounded FIFO of copied Ethernet frames, for a back end's frames in transit between
 * threads or waiting for the guest's buffers. Not locked: its owner guards it. Bounded
 * in frames, so a flood costs dropped frames, never unbounded memory.
 */
#ifndef RACKVM_FRAME_QUEUE_H
#define RACKVM_FRAME_QUEUE_H

#include "common.h"

/* As deep as a guest's receive ring. */
#define FRAME_QUEUE_MAX 256

struct queued_frame {
    size_t len;
    uint8_t data[];
};

struct frame_queue {
    struct queued_frame *f[FRAME_QUEUE_MAX];
    unsigned head, count;
};

/* Copies the frame in; false (nothing queued) when the queue is full or memory is out. */
bool frame_queue_push(struct frame_queue *q, const uint8_t *data, size_t len);
/* The oldest frame, or NULL. */
struct queued_frame *frame_queue_peek(struct frame_queue *q);
void frame_queue_drop_head(struct frame_queue *q);
void frame_queue_clear(struct frame_queue *q);
/* Moves every frame of from to the (empty) to, so they can be handled outside a lock. */
void frame_queue_take_all(struct frame_queue *from, struct frame_queue *to);

#endif
