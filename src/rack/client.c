/* One request, one answer on a control socket: see client.h. */
#include "rack/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/protocol.h"

static int connect_to(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path))
        return fail(err, errlen, "%s: socket path too long", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* One call of rack_call_all: its socket, how much of the request went, the answer so far. */
struct call {
    int fd;
    size_t sent;
    char *in;
    size_t got;
};

/* Moves a call on after poll said its socket is ready; false when it is over (answered,
 * refused or hung up). */
static bool call_step(struct call *c, const char *text, size_t len)
{
    if (c->sent < len) {
        ssize_t n = send(c->fd, text + c->sent, len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        c->sent += n > 0 ? (size_t)n : 0;
        return n > 0 || errno == EAGAIN;
    }
    if (!c->in && !(c->in = malloc(API_MAX_REQUEST)))
        return false;
    ssize_t n = recv(c->fd, c->in + c->got, API_MAX_REQUEST - c->got, MSG_DONTWAIT);
    if (n <= 0)
        return n < 0 && errno == EAGAIN;
    c->got += (size_t)n;
    return c->got < API_MAX_REQUEST && !memchr(c->in, '\n', c->got);
}

/* The answer a finished call got, or NULL with why in err. */
static json_t *call_answer(const struct call *c, const char *path, int timeout_ms,
                           char *err, size_t errlen)
{
    char *nl = c->in ? memchr(c->in, '\n', c->got) : NULL;
    if (!nl) {
        fail(err, errlen, "%s: no answer within %d ms", path, timeout_ms);
        return NULL;
    }
    json_error_t jerr;
    json_t *result = json_loadb(c->in, (size_t)(nl - c->in), 0, &jerr);
    if (!result)
        fail(err, errlen, "%s: the answer is not JSON: %s", path, jerr.text);
    return result;
}

void rack_call_all(const char *const *paths, size_t n, json_t *request, int timeout_ms,
                   json_t **answers, char *errs, size_t errlen)
{
    char *text = json_dumps(request, JSON_COMPACT);
    size_t len = text ? strlen(text) : 0;
    if (text)
        text[len++] = '\n';  /* over the NUL: the line is sent by length */
    struct call *calls = calloc(n, sizeof(*calls));
    struct pollfd *fds = calloc(n, sizeof(*fds));
    bool ready = text && calls && fds;
    for (size_t i = 0; i < n; i++) {
        answers[i] = NULL;
        if (!ready)
            fail(errs + i * errlen, errlen, "out of memory");
        else
            calls[i].fd = connect_to(paths[i], errs + i * errlen, errlen);
    }
    uint64_t deadline = monotonic_ns() + (uint64_t)timeout_ms * 1000000;
    for (;;) {
        size_t waiting = 0;
        for (size_t i = 0; ready && i < n; i++) {
            fds[i] = (struct pollfd){ .fd = calls[i].fd,
                                      .events = calls[i].sent < len ? POLLOUT : POLLIN };
            waiting += calls[i].fd >= 0;
        }
        uint64_t now = monotonic_ns();
        if (!waiting || now >= deadline)
            break;
        int ready_fds = poll(fds, n, (int)((deadline - now) / 1000000 + 1));
        if (ready_fds < 0 && errno != EINTR)
            break;
        for (size_t i = 0; ready_fds > 0 && i < n; i++) {
            if (!fds[i].revents || call_step(&calls[i], text, len))
                continue;
            close(calls[i].fd);
            calls[i].fd = -1;
            answers[i] = call_answer(&calls[i], paths[i], timeout_ms, errs + i * errlen, errlen);
        }
    }
    for (size_t i = 0; ready && i < n; i++) {
        if (calls[i].fd >= 0) {
            close(calls[i].fd);
            fail(errs + i * errlen, errlen, "%s: no answer within %d ms", paths[i], timeout_ms);
        }
        free(calls[i].in);
    }
    free(fds);
    free(calls);
    free(text);
}

json_t *rack_call(const char *path, json_t *request, int timeout_ms, char *err, size_t errlen)
{
    json_t *answer;
    rack_call_all(&path, 1, request, timeout_ms, &answer, err, errlen);
    return answer;
}
