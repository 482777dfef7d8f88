/* The control socket's thread: accepts clients and answers their request lines. */
#include "api/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 32
/* A client with this much unsent is read no further until it takes some. */
#define OUTPUT_LIMIT (256 * 1024)

struct client {
    int fd;
    char *in;          /* a partial request line: API_MAX_REQUEST + 1 bytes */
    size_t in_len;
    bool discarding;   /* in the rest of an over-long line, already answered */
    bool eof;          /* the client sent all it will: close once answered */
    char *out;
    size_t out_len, out_cap;
};

struct api_server {
    char *path;
    dev_t dev;          /* of the socket file, so that only ours is removed */
    ino_t ino;
    int listen_fd, wake_fd;
    struct api_handler handler;
    pthread_t thread;
    struct client clients[MAX_CLIENTS];
    unsigned nclients;
};

/* Queues text for the client; false when out of memory (the client is then dropped). */
static bool queue_output(struct client *c, const char *text, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char *out = realloc(c->out, cap);
        if (!out)
            return false;
        c->out = out;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, text, n);
    c->out_len += n;
    return true;
}

static bool queue_line(struct client *c, char *line)
{
    bool ok = line && queue_output(c, line, strlen(line));
    free(line);
    return ok;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* Answers the complete lines in c->in while the client reads its answers. */
static bool serve_lines(struct api_server *s, struct client *c)
{
    size_t start = 0;
    bool ok = true;
    while (ok && c->out_len < OUTPUT_LIMIT) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        size_t end = nl ? (size_t)(nl - c->in) : c->in_len;
        if (!nl && !(c->eof && end > start))
            break;
        if (!blank(c->in + start, end - start))
            ok = queue_line(c, s->handler.answer(s->handler.ctx, c->in + start, end - start));
        start = nl ? end + 1 : end;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (ok && c->in_len == API_MAX_REQUEST && !memchr(c->in, '\n', c->in_len)) {
        char message[80];
        snprintf(message, sizeof(message), "request line longer than %d bytes", API_MAX_REQUEST);
        ok = queue_line(c, api_error_line(message));
        c->in_len = 0;
        c->discarding = true;
    }
    return ok;
}

/* Reads what the client sent; false: drop the client. */
static bool read_client(struct api_server *s, struct client *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_len, API_MAX_REQUEST - c->in_len, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
        c->eof = true;
    } else if (c->discarding) {
        /* Only what follows the over-long line's newline is a request. */
        char *nl = memchr(c->in + c->in_len, '\n', (size_t)n);
        if (!nl)
            return true;
        c->discarding = false;
        size_t keep = (size_t)n - (size_t)(nl + 1 - (c->in + c->in_len));
        memmove(c->in + c->in_len, nl + 1, keep);
        n = (ssize_t)keep;
    }
    c->in_len += (size_t)n;
    return serve_lines(s, c);
}

/* Sends what is queued; false: drop the client. */
static bool write_client(struct api_server *s, struct client *c)
{
    ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
    return serve_lines(s, c);
}

static void drop_client(struct api_server *s, unsigned i)
{
    struct client *c = &s->clients[i];
    close(c->fd);
    free(c->in);
    free(c->out);
    s->clients[i] = s->clients[--s->nclients];
}

static void accept_clients(struct api_server *s)
{
    int fd;
    while ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct client *c = &s->clients[s->nclients];
        *c = (struct client){ .fd = fd };
        if (s->nclients == MAX_CLIENTS || !(c->in = malloc(API_MAX_REQUEST + 1))) {
            char *line = api_error_line(s->nclients == MAX_CLIENTS
                                        ? "too many control connections; try again later"
                                        : "out of memory");
            if (line && send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                errno = 0;  /* the client is going anyway */
            free(line);
            close(fd);
            continue;
        }
        s->nclients++;
    }
}

static void *serve(void *arg)
{
    struct api_server *s = arg;
    struct pollfd fds[2 + MAX_CLIENTS];
    for (;;) {
        fds[0] = (struct pollfd){ .fd = s->wake_fd, .events = POLLIN };
        fds[1] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
        for (unsigned i = 0; i < s->nclients; i++) {
            const struct client *c = &s->clients[i];
            short events = c->out_len ? POLLOUT : 0;
            /* A full buffer holds only lines that wait for the client to read. */
            if (!c->eof && c->out_len < OUTPUT_LIMIT && c->in_len < API_MAX_REQUEST)
                events |= POLLIN;
            fds[2 + i] = (struct pollfd){ .fd = c->fd, .events = events };
        }
        int timeout = s->handler.deadline ? s->handler.deadline(s->handler.ctx) : -1;
        if (poll(fds, 2 + s->nclients, timeout) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        /* From the last: dropping a client moves the last one into its place. */
        for (unsigned i = s->nclients; i-- > 0;) {
            struct client *c = &s->clients[i];
            short ev = fds[2 + i].revents;
            bool ok = true;
            if (ev & (POLLIN | POLLHUP | POLLERR))
                ok = read_client(s, c);
            if (ok && (ev & POLLOUT))
                ok = write_client(s, c);
            if (!ok || (c->eof && c->out_len == 0 && c->in_len == 0))
                drop_client(s, i);
        }
        if (fds[1].revents)
            accept_clients(s);
    }
    return NULL;
}

/* Fails when path holds anything but a socket nobody listens on (which it removes). */
static bool clear_stale_socket(const char *path, const struct sockaddr_un *addr)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return true;
        rvm_error("--api-socket %s: %s", path, strerror(errno));
        return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
        rvm_error("--api-socket %s: the file exists and is not a socket; not replacing it", path);
        return false;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rvm_error("--api-socket %s: socket: %s", path, strerror(errno));
        return false;
    }
    int rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
    int err = errno;
    close(fd);
    if (rc == 0) {
        rvm_error("--api-socket %s: another process is listening on it", path);
        return false;
    }
    if (err != ECONNREFUSED) {
        rvm_error("--api-socket %s: cannot check the socket there: %s", path, strerror(err));
        return false;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        rvm_error("--api-socket %s: cannot remove the stale socket: %s", path, strerror(errno));
        return false;
    }
    return true;
}

static int listen_on(const char *path, struct api_server *s)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path) || !*path) {
        rvm_error("--api-socket '%s': a socket path must have 1 to %zu bytes", path,
                  sizeof(addr.sun_path) - 1);
        return -1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    if (!clear_stale_socket(path, &addr))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct stat st;
    if (fd < 0 || bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, 16) < 0 || stat(path, &st) < 0) {
        rvm_error("--api-socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return fd;
}

static char *vm_answer(void *vm, const char *line, size_t len)
{
    return api_vm_answer(vm, line, len);
}

static int vm_deadline(void *vm)
{
    return api_vm_check_deadline(vm);
}

struct api_server *api_server_start(const char *path, struct api_vm *vm)
{
    const struct api_handler h = { vm_answer, vm_deadline, vm };
    return api_server_start_handler(path, &h);
}

struct api_server *api_server_start_handler(const char *path, const struct api_handler *h)
{
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(path))) {
        free(s);
        rvm_error("out of memory");
        return NULL;
    }
    s->handler = *h;
    s->wake_fd = -1;
    s->listen_fd = listen_on(path, s);
    if (s->listen_fd < 0) {
        free(s->path);
        free(s);
        return NULL;
    }
    s->wake_fd = eventfd(0, EFD_CLOEXEC);
    int err = s->wake_fd < 0 ? errno : thread_start(&s->thread, "api", serve, s);
    if (err) {
        rvm_error("--api-socket %s: cannot start its thread: %s", path, strerror(err));
        if (s->wake_fd >= 0)
            close(s->wake_fd);
        s->wake_fd = -1;
        api_server_stop(s);
        return NULL;
    }
    return s;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    if (s->wake_fd >= 0) {
        uint64_t one = 1;
        if (write(s->wake_fd, &one, sizeof(one)) == sizeof(one))
            pthread_join(s->thread, NULL);
        close(s->wake_fd);
    }
    while (s->nclients)
        drop_client(s, s->nclients - 1);
    close(s->listen_fd);
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    free(s->path);
    free(s);
}
