/* The supervisor's decisions: how a VM ended, whether its policy restarts it, back-off. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "rack/restart_policy.h"
#include "unit.h"

#define S 1000000000ULL

static void end_is(int status, enum rack_end want, const char *words)
{
    char out[160];
    CHECK(rack_end_of(status, out, sizeof(out)) == want);
    if (!strstr(out, words)) {
        fprintf(stderr, "'%s' lacks '%s'\n", out, words);
        unit_failures++;
    }
}

int main(void)
{
    end_is(W_EXITCODE(0, 0), RACK_END_POWEROFF, "poweroff (exit 0)");
    end_is(W_EXITCODE(4, 0), RACK_END_REBOOT, "guest reboot (exit 4)");
    end_is(W_EXITCODE(3, 0), RACK_END_PANIC, "guest panic (exit 3)");
    end_is(W_EXITCODE(159, 0), RACK_END_SANDBOX, "sandbox");
    end_is(W_EXITCODE(0, SIGSYS), RACK_END_SANDBOX, "SIGSYS");
    end_is(W_EXITCODE(0, SIGKILL), RACK_END_SIGNAL, "killed by signal 9");
    end_is(W_EXITCODE(143, 0), RACK_END_SIGNAL, "exit 143");
    end_is(W_EXITCODE(1, 0), RACK_END_ERROR, "monitor error (exit 1)");

    CHECK(!rack_policy_restarts(RACK_RESTART_NO, RACK_END_PANIC));
    CHECK(!rack_policy_restarts(RACK_RESTART_ON_FAILURE, RACK_END_POWEROFF));
    CHECK(rack_policy_restarts(RACK_RESTART_ON_FAILURE, RACK_END_REBOOT));
    CHECK(rack_policy_restarts(RACK_RESTART_ON_FAILURE, RACK_END_SIGNAL));
    CHECK(rack_policy_restarts(RACK_RESTART_ALWAYS, RACK_END_POWEROFF));

    /* Three restarts in 60 s: 0.5, 1, 2 s of back-off, then none. */
    struct rack_backoff b;
    unsigned recent;
    CHECK(rack_backoff_init(&b, 3, 60) == 0);
    uint64_t t = 1000 * S;
    CHECK(rack_backoff_next(&b, t - S, t, &recent) == 500);
    CHECK(rack_backoff_next(&b, t, t + S, &recent) == 1000);
    CHECK(rack_backoff_next(&b, t + S, t + 2 * S, &recent) == 2000);
    CHECK(rack_backoff_next(&b, t + 2 * S, t + 3 * S, &recent) == -1 && recent == 3);
    /* Once restarts leave the window more are allowed (at t+61 s the two first have);
     * a stable run (here 31 s) resets the back-off to its first step. */
    CHECK(rack_backoff_next(&b, t + 30 * S, t + 61 * S, &recent) == 500 && recent == 1);
    /* The back-off stops doubling at 30 s. */
    rack_backoff_free(&b);
    CHECK(rack_backoff_init(&b, 100, 1) == 0);
    int64_t last = 0;
    for (unsigned i = 0; i < 12; i++)
        last = rack_backoff_next(&b, t + i * 2 * S, t + i * 2 * S + S, &recent);
    CHECK(last == RACK_BACKOFF_MAX_MS);
    rack_backoff_reset(&b);
    CHECK(rack_backoff_next(&b, t, t + S, &recent) == 500);
    rack_backoff_free(&b);

    /* No budget: never restarted. */
    CHECK(rack_backoff_init(&b, 0, 60) == 0);
    CHECK(rack_backoff_next(&b, t, t + S, &recent) == -1 && recent == 0);
    rack_backoff_free(&b);
    UNIT_DONE();
}
