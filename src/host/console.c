/* Host console: raw terminal, reader thread with Ctrl-A escapes, buffered writer thread. */
#include "host/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>


#define ESCAPE_KEY 0x01        /* Ctrl-A */
#define INPUT_PENDING 4096     /* bytes read from the host, not yet in the RX FIFO */
#define OUTPUT_RING 65536
#define RX_RETRY_NS 10000000L  /* while the FIFO is full, look at the terminal this often */
#define TX_RETRY_NS 100000000L /* while the output queue is full, look for a VM stop this often */
#define FLUSH_WAIT_NS 2000000000LL  /* how long console_destroy waits for a stalled reader */

static const char help_text[] =
    "\r\nC-a h    print this help\r\n"
    "C-a x    exit rackvm\r\n"
    "C-a C-a  send C-a\r\n";

struct console {
    struct console_guest guest;
    int in_fd, out_fd;
    bool in_is_tty;
    atomic_bool stopping;
    int wake_pipe[2];          /* written by console_destroy to end the reader's poll */
    pthread_t reader, writer;

    pthread_mutex_t out_lock;
    pthread_cond_t out_ready, out_space;
    uint8_t out[OUTPUT_RING];
    size_t out_head, out_count;
    bool out_failed;
    bool out_stopping;
};

/* The terminal to restore; file-scope so that exit() can restore it. */
static struct termios saved_termios;
static int raw_fd = -1;

void console_restore_terminal(void)
{
    if (raw_fd >= 0) {
        tcsetattr(raw_fd, TCSANOW, &saved_termios);
        raw_fd = -1;
    }
}

static void enter_raw_mode(int fd)
{
    static bool atexit_registered;
    struct termios raw = saved_termios;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (!atexit_registered) {
        atexit(console_restore_terminal);
        atexit_registered = true;
    }
    raw_fd = fd;
    if (tcsetattr(fd, TCSANOW, &raw) < 0)
        rvm_error("console: cannot put the terminal in raw mode: %s", strerror(errno));
}

void console_write(struct console *c, const uint8_t *buf, size_t n)
{
    pthread_mutex_lock(&c->out_lock);
    while (n && !c->out_failed) {
        size_t space = OUTPUT_RING - c->out_count;
        if (space == 0) {
            /* A stopping VM must not wait for a reader that may never read again. */
            if (c->guest.stopping(c->guest.ctx))
                break;
            struct timespec t = timespec_in(CLOCK_REALTIME, TX_RETRY_NS);
            pthread_cond_timedwait(&c->out_space, &c->out_lock, &t);
            continue;
        }
        size_t tail = (c->out_head + c->out_count) % OUTPUT_RING;
        size_t len = n < space ? n : space;
        if (len > OUTPUT_RING - tail)
            len = OUTPUT_RING - tail;
        memcpy(c->out + tail, buf, len);
        c->out_count += len;
        buf += len;
        n -= len;
        pthread_cond_signal(&c->out_ready);
    }
    pthread_mutex_unlock(&c->out_lock);
}

/* Writes everything, waiting out EAGAIN on a non-blocking fd. false on a real error. */
static bool write_all(int fd, const uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            poll(&p, 1, -1);
        } else if (!(w < 0 && errno == EINTR)) {
            return false;
        }
    }
    return true;
}

static void *writer_thread(void *arg)
{
    struct console *c = arg;
    /* A closed pipe must fail the write (EPIPE), not kill the VM. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    /* Cancelled (by console_destroy, if the reader stalls) only inside write_all. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);

    pthread_mutex_lock(&c->out_lock);
    for (;;) {
        while (c->out_count == 0 && !c->out_stopping)
            pthread_cond_wait(&c->out_ready, &c->out_lock);
        if (c->out_count == 0)
            break;
        size_t len = c->out_count;
        if (len > OUTPUT_RING - c->out_head)
            len = OUTPUT_RING - c->out_head;
        pthread_mutex_unlock(&c->out_lock);
        pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        bool ok = write_all(c->out_fd, c->out + c->out_head, len);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        pthread_mutex_lock(&c->out_lock);
        c->out_head = (c->out_head + len) % OUTPUT_RING;
        c->out_count -= len;
        if (!ok && !c->out_failed) {
            /* stderr may be the same closed pipe; then this line is lost too, harmlessly. */
            rvm_error("console: cannot write guest output (%s); it is dropped from now on, "
                      "the VM runs on", strerror(errno));
            c->out_failed = true;
            c->out_count = 0;
        }
        pthread_cond_broadcast(&c->out_space);
    }
    pthread_mutex_unlock(&c->out_lock);
    return NULL;
}

struct reader_state {
    uint8_t pending[INPUT_PENDING];
    size_t npending;
    bool eof;
    bool after_escape;
};

/* Applies the Ctrl-A keys of a terminal; everything else is queued for the guest. */
static void take_input(struct console *c, struct reader_state *r, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        if (!c->in_is_tty) {
            r->pending[r->npending++] = b;
        } else if (r->after_escape) {
            r->after_escape = false;
            if (b == 'x' || b == 'X')
                c->guest.quit(c->guest.ctx);
            else if (b == 'h' || b == 'H')
                console_write(c, (const uint8_t *)help_text, sizeof(help_text) - 1);
            else if (b == ESCAPE_KEY)
                r->pending[r->npending++] = ESCAPE_KEY;
        } else if (b == ESCAPE_KEY) {
            r->after_escape = true;
        } else {
            r->pending[r->npending++] = b;
        }
    }
}

/* Reads what the host has, waiting only when nothing is pending. false: stop now. */
static bool read_host(struct console *c, struct reader_state *r)
{
    struct pollfd fds[2] = {
        { .fd = c->wake_pipe[0], .events = POLLIN },
        { .fd = c->in_fd, .events = POLLIN },
    };
    bool want_input = !r->eof && r->npending < INPUT_PENDING;
    if (!want_input && r->npending)
        return true;
    int ready = poll(fds, want_input ? 2 : 1, r->npending ? 0 : -1);
    if (ready < 0)
        return errno == EINTR;
    if (fds[0].revents)
        return false;
    if (want_input && fds[1].revents) {
        uint8_t buf[INPUT_PENDING];
        ssize_t n = read(c->in_fd, buf, INPUT_PENDING - r->npending);
        if (n > 0)
            take_input(c, r, buf, (size_t)n);
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            r->eof = true;
    }
    return true;
}

/* Moves pending bytes into the guest, waiting briefly for room when it has none. */
static void feed_guest(struct console *c, struct reader_state *r)
{
    const struct console_guest *g = &c->guest;
    pthread_mutex_lock(g->lock);
    size_t taken = g->receive(g->ctx, r->pending, r->npending);
    if (taken == 0 && !atomic_load(&c->stopping)) {
        struct timespec deadline = timespec_in(CLOCK_REALTIME, RX_RETRY_NS);
        g->wait_for_room(g->ctx, &deadline);
    }
    pthread_mutex_unlock(g->lock);
    memmove(r->pending, r->pending + taken, r->npending - taken);
    r->npending -= taken;
}

static void *reader_thread(void *arg)
{
    struct console *c = arg;
    struct reader_state *r = calloc(1, sizeof(*r));
    if (!r) {
        rvm_error("console: out of memory; guest input disabled");
        return NULL;
    }
    while (!atomic_load(&c->stopping) && read_host(c, r)) {
        if (r->npending)
            feed_guest(c, r);
    }
    free(r);
    return NULL;
}

/* Restores the terminal and frees what console_create set up, its threads gone. */
static void console_free(struct console *c)
{
    if (c->in_is_tty)
        console_restore_terminal();
    close(c->wake_pipe[0]);
    close(c->wake_pipe[1]);
    pthread_cond_destroy(&c->out_space);
    pthread_cond_destroy(&c->out_ready);
    pthread_mutex_destroy(&c->out_lock);
    free(c);
}

struct console *console_create(const struct console_guest *guest, int in_fd, int out_fd)
{
    struct console *c = calloc(1, sizeof(*c));
    if (!c) {
        rvm_error("console: out of memory");
        return NULL;
    }
    c->guest = *guest;
    c->in_fd = in_fd;
    c->out_fd = out_fd;
    if (pipe2(c->wake_pipe, O_CLOEXEC) < 0) {
        rvm_error("console: pipe: %s", strerror(errno));
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->out_lock, NULL);
    pthread_cond_init(&c->out_ready, NULL);
    pthread_cond_init(&c->out_space, NULL);
    c->in_is_tty = isatty(in_fd) && tcgetattr(in_fd, &saved_termios) == 0;
    if (c->in_is_tty)
        enter_raw_mode(in_fd);

    int err = thread_start(&c->writer, "console-out", writer_thread, c);
    if (err == 0) {
        err = thread_start(&c->reader, "console-in", reader_thread, c);
        if (err) {
            pthread_mutex_lock(&c->out_lock);
            c->out_stopping = true;
            pthread_cond_signal(&c->out_ready);
            pthread_mutex_unlock(&c->out_lock);
            pthread_join(c->writer, NULL);
        }
    }
    if (err) {
        rvm_error("console: cannot start thread: %s", strerror(err));
        console_free(c);
        return NULL;
    }
    return c;
}

void console_destroy(struct console *c)
{
    atomic_store(&c->stopping, true);
    while (write(c->wake_pipe[1], "", 1) < 0 && errno == EINTR)
        continue;
    pthread_mutex_lock(c->guest.lock);
    c->guest.wake(c->guest.ctx);
    pthread_mutex_unlock(c->guest.lock);
    pthread_join(c->reader, NULL);

    pthread_mutex_lock(&c->out_lock);
    c->out_stopping = true;
    pthread_cond_signal(&c->out_ready);
    pthread_mutex_unlock(&c->out_lock);
    struct timespec t = timespec_in(CLOCK_REALTIME, FLUSH_WAIT_NS);
    if (pthread_timedjoin_np(c->writer, NULL, &t) != 0) {
        rvm_error("console: the output reader stalled; the rest of the output is dropped");
        pthread_cancel(c->writer);
        pthread_join(c->writer, NULL);
    }
    console_free(c);
}
