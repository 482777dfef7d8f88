/*
 * Host console: guest output reaches out_fd; piped input reaches the guest unchanged and
 * complete through the 16-byte FIFO; a terminal gets raw mode, Ctrl-A keys, and its
 * settings back at the end. The "terminal" is a pseudo-terminal pair.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "devices/plic.h"
#include "devices/uart16550.h"
#include "host/console.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

static struct machine *m;

static uint64_t rd(unsigned reg)
{
    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, VIRT_UART0_BASE + reg, 1, &v));
    return v;
}

/* Like a polling guest: waits up to 5 s for a received byte, -1 if none came. */
static int guest_getc(void)
{
    for (int i = 0; i < 5000; i++) {
        if (rd(5) & 1)
            return (int)rd(0);
        struct timespec ms = { .tv_nsec = 1000000 };
        nanosleep(&ms, NULL);
    }
    return -1;
}

/* Reads exactly n bytes of console output, waiting up to 5 s. */
static size_t read_output(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static void guest_puts(const char *s)
{
    for (; *s; s++)
        CHECK(bus_mmio_write(&m->bus, VIRT_UART0_BASE, 1, (uint8_t)*s));
}

static void test_pipes(void)
{
    int in[2], out[2];
    CHECK(pipe(in) == 0 && pipe(out) == 0);
    m->console = machine_console_create(m, in[0], out[1]);
    CHECK(m->console != NULL);

    guest_puts("hello\r\n");
    char buf[16] = { 0 };
    CHECK_EQ_U64(read_output(out[0], buf, 7), 7);
    CHECK(memcmp(buf, "hello\r\n", 7) == 0);

    /* Far more than the FIFO holds, with Ctrl-A inside: all of it arrives, in order. */
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    data[100] = 0x01;
    data[101] = 'x';
    CHECK_EQ_U64(write(in[1], data, sizeof(data)), sizeof(data));
    close(in[1]);                         /* EOF: the VM keeps running */
    size_t same = 0;
    for (size_t i = 0; i < sizeof(data); i++)
        same += guest_getc() == data[i];
    CHECK_EQ_U64(same, sizeof(data));
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_NONE);

    guest_puts("bye");
    console_destroy(m->console);           /* flushes what is queued */
    m->console = NULL;
    CHECK_EQ_U64(read_output(out[0], buf, 3), 3);
    CHECK(memcmp(buf, "bye", 3) == 0);
    close(in[0]);
    close(out[0]);
    close(out[1]);
}

static void test_terminal(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
    int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
    CHECK(tty >= 0);
    int out[2];
    CHECK(pipe(out) == 0);
    struct termios before, during, after;
    tcgetattr(tty, &before);
    CHECK(before.c_lflag & ICANON);

    m->console = machine_console_create(m, tty, out[1]);
    CHECK(m->console != NULL);
    tcgetattr(tty, &during);
    CHECK(!(during.c_lflag & (ICANON | ECHO | ISIG)));

    CHECK_EQ_U64(write(master, "a\x01\x01" "b", 4), 4);
    CHECK_EQ_U64(guest_getc(), 'a');
    CHECK_EQ_U64(guest_getc(), 0x01);      /* Ctrl-A Ctrl-A sends one Ctrl-A */
    CHECK_EQ_U64(guest_getc(), 'b');

    CHECK_EQ_U64(write(master, "\x01h", 2), 2);
    char help[256] = { 0 };
    size_t n = read_output(out[0], help, 40);
    CHECK(n == 40 && strstr(help, "C-a x") != NULL);

    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_NONE);
    CHECK_EQ_U64(write(master, "\x01x", 2), 2);
    for (int i = 0; i < 5000 && !machine_stopping(m); i++) {
        struct timespec ms = { .tv_nsec = 1000000 };
        nanosleep(&ms, NULL);
    }
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_USER);
    CHECK(!(rd(5) & 1));                  /* the escape keys never reach the guest */

    console_destroy(m->console);
    m->console = NULL;
    tcgetattr(tty, &after);
    CHECK_EQ_U64(after.c_lflag, before.c_lflag);
    CHECK_EQ_U64(after.c_iflag, before.c_iflag);
    CHECK_EQ_U64(after.c_oflag, before.c_oflag);
    close(tty);
    close(master);
    close(out[0]);
    close(out[1]);
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    CHECK(bus_mmio_write(&m->bus, VIRT_UART0_BASE + 2, 1, 0x01)); /* FIFOs on, as Linux does */

    test_pipes();
    test_terminal();

    machine_destroy(m);
    UNIT_DONE();
}
