/*
 * What host signals do to a running VM, for `rackvm run`:
 *   SIGPIPE is ignored process-wide: a host peer that hangs up (a forwarded connection,
 *   the reader of a piped console) fails that one write with EPIPE, never the VM.
 *   SIGINT or SIGTERM presses the guest's power button and gives it `timeout_s` seconds
 *   to power off (exit 0 as for any poweroff); then, or at once on a second SIGINT or
 *   SIGTERM, the VM is stopped and rackvm exits 128 + the first signal's number. A
 *   board without a power button, a guest with no driver for it, or a VM stuck with
 *   its bus locked for a second (console output nobody reads) is stopped at once.
 *   SIGHUP is ignored when the console is not a terminal; when it is, the terminal is
 *   gone and SIGHUP acts as SIGTERM.
 * A forced stop that has not ended the VM after 10 s (a hart or device thread stuck in
 * the host) ends the process with the same status, the terminal put back.
 * One host line on stderr says what was done at each step. The signals are taken by a
 * watcher thread: signals_start must run before any other thread exists, so every
 * thread inherits the blocked mask and the handlers of console.c or libslirp never see
 * them; the terminal is restored by the normal stop path (console_destroy).
 */
#ifndef RACKVM_CLI_SIGNALS_H
#define RACKVM_CLI_SIGNALS_H

#include <stdbool.h>

struct machine;

/* Starts the watcher. Returns 0, or -1 after printing why. */
int signals_start(unsigned timeout_s, bool console_is_terminal);
/* The machine that signals act on from now on (NULL between machines). */
void signals_attach(struct machine *m);
/* 0, or the exit status when a signal forced the stop (a machine attached later stops at once). */
int signals_forced_status(void);
/* Ends the watcher. */
void signals_stop(void);

#endif
