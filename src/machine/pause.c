/*
 * Pause and resume of a whole VM: harts held at an instruction boundary through their
 * held hook, device threads drained and gated on the bus, mtime frozen.
 */
#include "machine/pause.h"

#include <time.h>

#include "cpu/hart.h"

/* How long a pause waits for the harts: one stuck with the bus lock held (console output
 * nobody reads) must not hang the caller for good. */
#define HOLD_WAIT_NS 5000000000LL

void pause_init(struct machine *m)
{
    pthread_mutex_init(&m->control_lock, NULL);
    pthread_mutex_init(&m->hold_lock, NULL);
    pthread_cond_init(&m->hold_changed, NULL);
    atomic_init(&m->frozen_mtime, MTIME_RUNNING);
}

void pause_destroy(struct machine *m)
{
    pthread_cond_destroy(&m->hold_changed);
    pthread_mutex_destroy(&m->hold_lock);
    pthread_mutex_destroy(&m->control_lock);
}

void pause_hold_hart(struct machine *m, struct hart *h)
{
    pthread_mutex_lock(&m->hold_lock);
    m->nheld++;
    pthread_cond_broadcast(&m->hold_changed);
    while (hart_hold_requested(h) && !machine_stopping(m))
        pthread_cond_wait(&m->hold_changed, &m->hold_lock);
    m->nheld--;
    pthread_mutex_unlock(&m->hold_lock);
}

void pause_wake_for_stop(struct machine *m)
{
    pthread_mutex_lock(&m->hold_lock);
    pthread_cond_broadcast(&m->hold_changed);
    pthread_mutex_unlock(&m->hold_lock);
}

/* Lets held harts run on; control_lock held. */
static void release_harts(struct machine *m)
{
    pthread_mutex_lock(&m->hold_lock);
    for (unsigned i = 0; i < m->nharts; i++)
        hart_release(m->harts[i]);
    pthread_cond_broadcast(&m->hold_changed);
    pthread_mutex_unlock(&m->hold_lock);
}

/* Holds every hart; false when the VM stops or a hart does not come in time. */
static bool hold_harts(struct machine *m)
{
    for (unsigned i = 0; i < m->nharts; i++)
        hart_hold(m->harts[i]);
    struct timespec deadline = timespec_in(CLOCK_REALTIME, HOLD_WAIT_NS);
    pthread_mutex_lock(&m->hold_lock);
    int rc = 0;
    while (m->nheld < m->nharts && !machine_stopping(m) && rc == 0)
        rc = pthread_cond_timedwait(&m->hold_changed, &m->hold_lock, &deadline);
    bool held = m->nheld == m->nharts && !machine_stopping(m);
    pthread_mutex_unlock(&m->hold_lock);
    return held;
}

bool machine_pause(struct machine *m)
{
    pthread_mutex_lock(&m->control_lock);
    bool ok = m->paused;
    if (!m->paused && m->harts_running && !machine_stopping(m)) {
        if (hold_harts(m)) {
            /* Frozen only once no hart runs, so that none sees time step back after. */
            atomic_store(&m->frozen_mtime, machine_mtime(m));
            bus_pause(&m->bus);
            m->paused = ok = true;
        } else {
            release_harts(m);
        }
    }
    pthread_mutex_unlock(&m->control_lock);
    return ok;
}

/* Ends the pause; control_lock held. */
static void resume_locked(struct machine *m)
{
    if (!m->paused)
        return;
    bus_resume(&m->bus);
    /* mtime goes on from where it stood: its zero moves forward by the pause. Set before
     * the freeze ends, and both before any hart runs, so no reader sees a step. */
    uint64_t frozen_ns = atomic_load(&m->frozen_mtime) * (1000000000ULL / MACHINE_TIMEBASE_HZ);
    atomic_store(&m->boot_ns, monotonic_ns() - frozen_ns);
    atomic_store(&m->frozen_mtime, MTIME_RUNNING);
    m->paused = false;
    release_harts(m);
}

void machine_resume(struct machine *m)
{
    pthread_mutex_lock(&m->control_lock);
    resume_locked(m);
    pthread_mutex_unlock(&m->control_lock);
}

bool machine_paused(struct machine *m)
{
    pthread_mutex_lock(&m->control_lock);
    bool paused = m->paused;
    pthread_mutex_unlock(&m->control_lock);
    return paused;
}

void pause_harts_starting(struct machine *m)
{
    pthread_mutex_lock(&m->control_lock);
    m->harts_running = true;
    pthread_mutex_unlock(&m->control_lock);
}

void pause_harts_ended(struct machine *m)
{
    pthread_mutex_lock(&m->control_lock);
    m->harts_running = false;
    resume_locked(m);
    pthread_mutex_unlock(&m->control_lock);
}
