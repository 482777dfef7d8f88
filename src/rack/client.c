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

/* Waits for fd to be ready for events until deadline; false on timeout or error. */
static bool wait_ready(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = monotonic_ns();
        if (now >= deadline)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        int n = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

json_t *rack_call(const char *path, json_t *request, int timeout_ms, char *err, size_t errlen)
{
    char *text = json_dumps(request, JSON_COMPACT);
    if (!text) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    int fd = connect_to(path, err, errlen);
    if (fd < 0) {
        free(text);
        return NULL;
    }
    uint64_t deadline = monotonic_ns() + (uint64_t)timeout_ms * 1000000;
    size_t len = strlen(text), sent = 0;
    text[len++] = '\n';  /* over the NUL: the line is sent by length */
    bool ok = true;
    while (ok && sent < len) {
        ssize_t n = wait_ready(fd, POLLOUT, deadline)
                        ? send(fd, text + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
        ok = n > 0 || (n < 0 && errno == EAGAIN);
        sent += n > 0 ? (size_t)n : 0;
    }
    free(text);
    char *answer = ok ? malloc(API_MAX_REQUEST) : NULL;
    size_t got = 0;
    while (answer && got < API_MAX_REQUEST && !memchr(answer, '\n', got)) {
        ssize_t n = wait_ready(fd, POLLIN, deadline)
                        ? recv(fd, answer + got, API_MAX_REQUEST - got, MSG_DONTWAIT) : 0;
        if (n <= 0 && !(n < 0 && errno == EAGAIN))
            break;
        got += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    char *nl = answer ? memchr(answer, '\n', got) : NULL;
    json_t *result = NULL;
    if (!nl) {
        fail(err, errlen, "%s: no answer within %d ms", path, timeout_ms);
    } else {
        json_error_t jerr;
        result = json_loadb(answer, (size_t)(nl - answer), 0, &jerr);
        if (!result)
            fail(err, errlen, "%s: the answer is not JSON: %s", path, jerr.text);
    }
    free(answer);
    return result;
}
