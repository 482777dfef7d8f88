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

#endif
