/*
 * What the supervisor decides when a VM's `rackvm run` ends: how it ended (from its wait
 * status: rackvm run's exit statuses, cli/cmd_run.h), whether the VM's restart policy
 * restarts it, and after what back-off, within its budget of restarts per window.
 */
#ifndef RACKVM_RACK_RESTART_POLICY_H
#define RACKVM_RACK_RESTART_POLICY_H

#include "rack/rack_file.h"

#define RACK_BACKOFF_FIRST_MS 500
#define RACK_BACKOFF_MAX_MS 30000
#define RACK_STABLE_RUN_NS (10ULL * 1000000000)  /* running this long resets the back-off */

enum rack_end {
    RACK_END_POWEROFF,  /* exit 0 */
    RACK_END_REBOOT,    /* exit 4: the guest rebooted (--on-reboot exit) */
    RACK_END_PANIC,     /* exit 3: pvpanic */
    RACK_END_SANDBOX,   /* exit 159 or SIGSYS: a system call outside the allowlist */
    RACK_END_SIGNAL,    /* the monitor was killed, or stopped by a signal (exit 128+N) */
    RACK_END_ERROR,     /* any other status: a monitor error */
};

/* How a child with this wait status ended; its words ("guest panic (exit 3)") in out. */
enum rack_end rack_end_of(int status, char *out, size_t len);

/* always: after any end; on-failure: after any but a poweroff; no: never. */
bool rack_policy_restarts(enum rack_restart policy, enum rack_end end);

/* The restarts of one VM: the last `count` of them, for the budget, and the back-off. */
struct rack_backoff {
    uint64_t *times;   /* ring of restart times, count entries */
    unsigned count, window_s;
    unsigned n, head, level;
};

int rack_backoff_init(struct rack_backoff *b, unsigned count, unsigned window_s);
void rack_backoff_free(struct rack_backoff *b);
/* A fresh budget and the first back-off again (a start by hand). */
void rack_backoff_reset(struct rack_backoff *b);
/*
 * A restart at now_ns of a VM that had started at started_ns: the milliseconds to wait
 * (0.5 s doubling to 30 s, from 0.5 s again after a stable run), or -1 when `count`
 * restarts already happened in the window. *recent: how many did.
 */
int64_t rack_backoff_next(struct rack_backoff *b, uint64_t started_ns, uint64_t now_ns,
                          unsigned *recent);

#endif
