/*
 * The control socket of `rackvm run --api-socket PATH`: a Unix stream socket served by a
 * thread of its own, several clients at once, each request line answered in order
 * (protocol.h, control.h). A client that sends faster than it reads its answers is
 * read no further until it catches up; one that sends a line longer than
 * API_MAX_REQUEST gets an error for it. Neither affects the other clients or the VM.
 */
#ifndef RACKVM_API_SERVER_H
#define RACKVM_API_SERVER_H

#include "api/control.h"

struct api_server;

/* What a server answers with: answer(ctx, line, len) gives the response line (see
 * api_answer); deadline(ctx), called before each wait, does what is due and returns the
 * milliseconds until it next needs calling, or -1 (NULL: never). */
struct api_handler {
    char *(*answer)(void *ctx, const char *line, size_t len);
    int (*deadline)(void *ctx);
    void *ctx;
};

/*
 * Listens on path: a stale socket file (nobody listening) is replaced; a live one, or
 * any other file there, is an error. Returns NULL after printing why. Start it after
 * the signal watcher (the thread must inherit the blocked signals).
 */
struct api_server *api_server_start(const char *path, struct api_vm *vm);
/* The same with another handler (the rack's socket): *h is copied. */
struct api_server *api_server_start_handler(const char *path, const struct api_handler *h);
/* Closes every connection, stops the thread and removes the socket file. */
void api_server_stop(struct api_server *s);

#endif
