/*
 * The host side of the guest console.
 * Input: a reader thread reads in_fd and feeds the guest's input (the board's receive
 * hook, the UART) under the board's lock; bytes it cannot take yet wait in the reader
 * (never dropped), so piped input is never lost. When in_fd is a terminal it is put in
 * raw mode and Ctrl-A is an escape key:
 *   Ctrl-A x       stop the VM (STOP_USER)
 *   Ctrl-A h       print the key list
 *   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
 * The terminal mode is restored by console_destroy and at exit(); signals are not
 * handled here (rackvm run turns them into an orderly stop, see cli/signals.h). When
 * in_fd is not a terminal its bytes go to the guest unchanged; at EOF or a read error
 * (a hung-up terminal) the reader stops reading and the VM keeps running.
 * Output: console_write queues bytes that a writer thread writes to out_fd as soon as
 * it can, coalescing bursts into few write() calls (out_fd may be a pipe). A full queue
 * makes the writer of guest output wait rather than drop, unless the VM is stopping;
 * after a write error (reader of the pipe gone: EPIPE, never SIGPIPE; a hung-up
 * terminal) one line goes to stderr and output is discarded. console_destroy waits two
 * seconds at most for a reader that stopped reading, so a stop never hangs on one.
 */
#ifndef RACKVM_CONSOLE_H
#define RACKVM_CONSOLE_H

#include <pthread.h>
#include <time.h>

#include "common.h"

struct console;

/* What the console drives on the board's side; ctx is passed to every callback. */
struct console_guest {
    void *ctx;
    pthread_mutex_t *lock;  /* held around receive, wait_for_room and wake */
    /* Guest input: takes up to n bytes, returns how many (0: no room yet, or the VM is
     * paused; the reader keeps reading meanwhile, so Ctrl-A x still works). */
    size_t (*receive)(void *ctx, const uint8_t *buf, size_t n);
    /* Waits, releasing lock meanwhile, until receive may have room or the deadline
     * (CLOCK_REALTIME) passes. */
    void (*wait_for_room)(void *ctx, const struct timespec *deadline);
    /* Ends every wait_for_room now. */
    void (*wake)(void *ctx);
    /* Ctrl-A x: stop the VM. */
    void (*quit)(void *ctx);
    /* Whether the VM is stopping (then output is dropped rather than waited for). */
    bool (*stopping)(void *ctx);
};

/* Returns NULL after printing why. */
struct console *console_create(const struct console_guest *guest, int in_fd, int out_fd);
/* Stops both threads, flushes queued output, restores the terminal. Call without bus->lock. */
void console_destroy(struct console *c);
/* Puts a terminal left in raw mode back as it was; async-signal-safe (one tcsetattr), so a
 * fatal signal handler may call it (the sandbox's SIGSYS handler does). */
void console_restore_terminal(void);

/* Queues guest output. Thread-safe; may be called under bus->lock. */
void console_write(struct console *c, const uint8_t *buf, size_t n);

#endif
