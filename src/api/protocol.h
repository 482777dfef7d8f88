/*
 * The control protocol's framing and dispatch (`rackvm run --api-socket`): one JSON
 * object per line in each direction. A request is {"command": NAME, ARG: VALUE...}
 * with an optional "id" (any JSON value) that the response echoes. A response is
 * {"ok": true, RESULT...} or {"ok": false, "error": TEXT}, TEXT naming what was wrong
 * (not JSON, not an object, no command, an unknown command or argument, a bad value).
 * Commands come from a table (see control.h), so that a new one is one more entry.
 */
#ifndef RACKVM_API_PROTOCOL_H
#define RACKVM_API_PROTOCOL_H

#include <jansson.h>

#include "common.h"

/* The longest request line taken, newline excluded. */
#define API_MAX_REQUEST 65536

/* What a command gets: its context (the VM of `rackvm run`, the rack of `rackvm rack`)
 * and the request, its arguments already checked against args. It returns the result
 * object ({"ok": true} is added), or NULL with a message in err. */
struct api_command {
    const char *name;
    const char *const *args;  /* accepted argument names, NULL-terminated; NULL: none */
    json_t *(*run)(void *ctx, json_t *request, char *err, size_t errlen);
};

/*
 * Answers one request line (len bytes, no newline) with commands[0..ncommands) on ctx: the
 * response line, newline included, in a malloc'd string (NULL only when out of memory).
 */
char *api_answer(void *ctx, const struct api_command *commands, size_t ncommands,
                 const char *line, size_t len);

/* The response line for an error found before parsing (a line too long). */
char *api_error_line(const char *message);

#endif
