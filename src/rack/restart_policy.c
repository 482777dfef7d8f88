/* Exit statuses, restart policies and back-off: see restart_policy.h. */
#include "rack/restart_policy.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "host/sandbox.h"

#define EXIT_PANIC 3    /* cli/cmd_run.h: RUN_EXIT_GUEST_PANIC (cli is above this layer) */
#define EXIT_REBOOT 4   /* cli/cmd_run.h: RUN_EXIT_GUEST_REBOOT */

enum rack_end rack_end_of(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGSYS) {
            snprintf(out, len, "killed by the sandbox (SIGSYS)");
            return RACK_END_SANDBOX;
        }
        snprintf(out, len, "monitor killed by signal %d (%s)", sig, strsignal(sig));
        return RACK_END_SIGNAL;
    }
    if (!WIFEXITED(status)) {
        snprintf(out, len, "ended with status 0x%x", (unsigned)status);
        return RACK_END_ERROR;
    }
    int code = WEXITSTATUS(status);
    switch (code) {
    case 0:
        snprintf(out, len, "poweroff (exit 0)");
        return RACK_END_POWEROFF;
    case EXIT_REBOOT:
        snprintf(out, len, "guest reboot (exit %d)", code);
        return RACK_END_REBOOT;
    case EXIT_PANIC:
        snprintf(out, len, "guest panic (exit %d)", code);
        return RACK_END_PANIC;
    case SANDBOX_BLOCKED_STATUS:
        snprintf(out, len, "killed by the sandbox: a system call outside the allowlist (exit %d)", code);
        return RACK_END_SANDBOX;
    default:
        if (code > 128 && code < 128 + NSIG) {
            snprintf(out, len, "stopped by signal %s (exit %d)", strsignal(code - 128), code);
            return RACK_END_SIGNAL;
        }
        snprintf(out, len, "monitor error (exit %d)", code);
        return RACK_END_ERROR;
    }
}

bool rack_policy_restarts(enum rack_restart policy, enum rack_end end)
{
    return policy == RACK_RESTART_ALWAYS ||
           (policy == RACK_RESTART_ON_FAILURE && end != RACK_END_POWEROFF);
}

int rack_backoff_init(struct rack_backoff *b, unsigned count, unsigned window_s)
{
    *b = (struct rack_backoff){ .count = count, .window_s = window_s };
    b->times = calloc(count + 1, sizeof(*b->times));
    return b->times ? 0 : -1;
}

void rack_backoff_free(struct rack_backoff *b)
{
    free(b->times);
    b->times = NULL;
}

void rack_backoff_reset(struct rack_backoff *b)
{
    b->n = b->head = b->level = 0;
}

int64_t rack_backoff_next(struct rack_backoff *b, uint64_t started_ns, uint64_t now_ns,
                          unsigned *recent)
{
    uint64_t window = (uint64_t)b->window_s * 1000000000;
    *recent = 0;
    for (unsigned i = 0; i < b->n; i++)
        *recent += now_ns - b->times[i] < window;
    if (*recent >= b->count)
        return -1;
    b->times[b->head] = now_ns;
    b->head = (b->head + 1) % b->count;
    if (b->n < b->count)
        b->n++;
    if (now_ns - started_ns >= RACK_STABLE_RUN_NS)
        b->level = 0;
    int64_t delay = (int64_t)RACK_BACKOFF_FIRST_MS << (b->level < 6 ? b->level : 6);
    b->level++;
    return delay < RACK_BACKOFF_MAX_MS ? delay : RACK_BACKOFF_MAX_MS;
}
