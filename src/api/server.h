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

/*
 * Listens on path: a stale socket file (nobody listening) is replaced; a live one, or
 * any other file there, is an error. Returns NULL after printing why. Start it after
 * the signal watcher (the thread must inherit the blocked signals).
 */
struct api_server *api_server_start(const char *path, struct api_vm *vm);
/* Closes every connection, stops the thread and removes the socket file. */
void api_server_stop(struct api_server *s);

#endif
