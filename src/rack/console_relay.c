/* The console socket of one VM of a rack: see console_relay.h. */
#include "rack/console_relay.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int console_relay_open(struct console_relay *c, const char *path, char *err, size_t errlen)
{
    *c = (struct console_relay){ .listen_fd = -1, .vm_in = -1 };
    for (unsigned i = 0; i < RACK_CONSOLE_CLIENTS; i++)
        c->clients[i] = -1;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path))
        return fail(err, errlen, "%s: too long a socket path", path);
    snprintf(c->path, sizeof(c->path), "%s", path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        chmod(path, 0600) < 0 || listen(fd, 4) < 0) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    c->listen_fd = fd;
    return 0;
}

static void drop(struct console_relay *c, unsigned i)
{
    close(c->clients[i]);
    c->clients[i] = -1;
}

void console_relay_close(struct console_relay *c)
{
    if (c->listen_fd < 0)
        return;
    for (unsigned i = 0; i < RACK_CONSOLE_CLIENTS; i++)
        if (c->clients[i] >= 0)
            drop(c, i);
    close(c->listen_fd);
    c->listen_fd = -1;
    unlink(c->path);
}

unsigned console_relay_pollfds(const struct console_relay *c, struct pollfd *fds)
{
    unsigned n = 0;
    if (c->listen_fd < 0)
        return 0;
    fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
    for (unsigned i = 0; i < RACK_CONSOLE_CLIENTS; i++)
        fds[n++] = (struct pollfd){ .fd = c->clients[i], .events = POLLIN };
    return n;
}

void console_relay_serve(struct console_relay *c, const struct pollfd *fds, unsigned n)
{
    if (n == 0)
        return;
    for (unsigned i = 0; i < RACK_CONSOLE_CLIENTS && i + 1 < n; i++) {
        if (c->clients[i] < 0 || !(fds[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char buf[4096];
        ssize_t got = recv(c->clients[i], buf, sizeof(buf), MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(c, i);
            continue;
        }
        /* Keys typed while the VM is down, or faster than it reads, are lost. */
        if (got > 0 && c->vm_in >= 0 && write(c->vm_in, buf, (size_t)got) < 0)
            errno = 0;
    }
    if (!(fds[0].revents & POLLIN))
        return;
    int fd;
    while ((fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        unsigned i = 0;
        while (i < RACK_CONSOLE_CLIENTS && c->clients[i] >= 0)
            i++;
        if (i == RACK_CONSOLE_CLIENTS) {
            static const char full[] = "rackvm: too many consoles attached to this VM\r\n";
            if (send(fd, full, sizeof(full) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
                errno = 0;
            close(fd);
            continue;
        }
        c->clients[i] = fd;
    }
}

void console_relay_output(struct console_relay *c, const char *buf, size_t n)
{
    for (unsigned i = 0; i < RACK_CONSOLE_CLIENTS; i++) {
        if (c->clients[i] < 0)
            continue;
        ssize_t sent = send(c->clients[i], buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent != (ssize_t)n)
            drop(c, i);
    }
}
