/*
 * A client of the JSON control protocol (api/protocol.h): one request, one answer, over
 * a Unix socket, bounded by a timeout. The supervisor uses it on each VM's --api-socket
 * and `rackvm rack ps|stop|...` on the rack's socket.
 */
#ifndef RACKVM_RACK_CLIENT_H
#define RACKVM_RACK_CLIENT_H

#include <jansson.h>

#include "common.h"

/* Sends request (borrowed) to the socket at path and returns the answer object, or NULL
 * with why in err (no socket, no answer within timeout_ms, an answer that is not JSON). */
json_t *rack_call(const char *path, json_t *request, int timeout_ms, char *err, size_t errlen);

/* The same request to the n sockets in paths at once, under one timeout, so that it
 * takes the slowest answer's time rather than the sum: answers[i] is the answer of
 * paths[i] or NULL with why in the errlen bytes at errs + i * errlen. */
void rack_call_all(const char *const *paths, size_t n, json_t *request, int timeout_ms,
                   json_t **answers, char *errs, size_t errlen);

#endif
