#include "cpu/debug.h"

#include <string.h>

#include "cpu/block.h"
#include "cpu/mmu.h"

/* A block starting at pc holds no instruction at or past pc + BLOCK_REACH. */
#define BLOCK_REACH (4 * BLOCK_MAX_INSNS)
/* Blocks run per debug_run before the run loop looks at timers and requests again. */
#define DEBUG_SLICE 1024
/* How often a stopped hart looks whether the VM stops (the board does not know us). */
#define STOPPED_POLL_NS 20000000

static enum debug_action action_of(const struct debug_hart *dh)
{
    return __atomic_load_n(&dh->action, __ATOMIC_ACQUIRE);
}

/* Which harts go through debug_run (under d->lock). */
static void update_checks(struct debugger *d)
{
    bool all = d->nbreakpoints > 0 || atomic_load(&d->halted);
    for (unsigned i = 0; i < d->nharts; i++)
        atomic_store(&d->harts[i]->debug_check, all || action_of(&d->per_hart[i]) != DEBUG_CONTINUE);
}

int debugger_init(struct debugger *d, struct hart *const *harts, unsigned nharts)
{
    if (nharts > DEBUG_MAX_HARTS)
        return -1;
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&d->resumed, &attr);
    pthread_condattr_destroy(&attr);
    d->harts = harts;
    d->nharts = nharts;
    for (unsigned i = 0; i < nharts; i++) {
        d->per_hart[i] = (struct debug_hart){ .dbg = d, .action = DEBUG_CONTINUE };
        harts[i]->debug = &d->per_hart[i];
    }
    return 0;
}

void debugger_destroy(struct debugger *d)
{
    for (unsigned i = 0; i < d->nharts; i++) {
        d->harts[i]->debug = NULL;
        atomic_store(&d->harts[i]->debug_check, false);
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->resumed);
}

/* Asks every hart to stop (under d->lock). */
static void halt(struct debugger *d, enum debug_stop why)
{
    if (atomic_load(&d->halted))
        return;
    atomic_store(&d->halted, true);
    d->event_hart = NULL;
    d->event = why;
    for (unsigned i = 0; i < d->nharts; i++)
        __atomic_store_n(&d->per_hart[i].action, DEBUG_STAY, __ATOMIC_RELEASE);
    update_checks(d);
    for (unsigned i = 0; i < d->nharts; i++)
        hart_kick(d->harts[i]); /* out of wfi and out of the current slice */
}

void debugger_interrupt(struct debugger *d, enum debug_stop why)
{
    pthread_mutex_lock(&d->lock);
    halt(d, why);
    pthread_mutex_unlock(&d->lock);
}

/* Hart thread: stops all harts and waits here until this one may go again. */
static void debug_stop(struct hart *h, enum debug_stop why)
{
    struct debug_hart *dh = h->debug;
    struct debugger *d = dh->dbg;
    pthread_mutex_lock(&d->lock);
    halt(d, why);
    if (!d->event_hart) {
        d->event_hart = h;
        if (why != DEBUG_STOP_INTERRUPT)
            d->event = why;
    }
    dh->stopped = true;
    /* A hold (the board pausing the VM) takes the hart to the run loop's held hook; it
     * comes back here afterwards if it is still to stay. */
    while (action_of(dh) == DEBUG_STAY && !h->platform.ops->stopping(h->platform.board) &&
           !hart_hold_requested(h)) {
        struct timespec t = timespec_in(CLOCK_MONOTONIC, STOPPED_POLL_NS);
        pthread_cond_timedwait(&d->resumed, &d->lock, &t);
    }
    dh->stopped = false;
    pthread_mutex_unlock(&d->lock);
}

bool debugger_all_stopped(struct debugger *d, struct hart **h, enum debug_stop *why)
{
    pthread_mutex_lock(&d->lock);
    bool all = atomic_load(&d->halted);
    for (unsigned i = 0; all && i < d->nharts; i++)
        all = d->per_hart[i].stopped || atomic_load(&d->harts[i]->parked);
    if (all) {
        *h = d->event_hart ? d->event_hart : d->harts[0];
        *why = d->event;
    }
    pthread_mutex_unlock(&d->lock);
    return all;
}

void debugger_resume(struct debugger *d, const enum debug_action *actions)
{
    pthread_mutex_lock(&d->lock);
    bool any = false;
    for (unsigned i = 0; i < d->nharts; i++) {
        __atomic_store_n(&d->per_hart[i].action, actions[i], __ATOMIC_RELEASE);
        any |= actions[i] != DEBUG_STAY;
    }
    if (any) {
        atomic_store(&d->halted, false);
        d->event_hart = NULL;
        d->event = DEBUG_STOP_NONE;
    }
    update_checks(d);
    pthread_cond_broadcast(&d->resumed);
    pthread_mutex_unlock(&d->lock);
}

bool debugger_add_breakpoint(struct debugger *d, uint64_t addr, enum debug_breakpoint_kind kind)
{
    pthread_mutex_lock(&d->lock);
    bool room = d->nbreakpoints < DEBUG_MAX_BREAKPOINTS;
    if (room) {
        d->breakpoints[d->nbreakpoints].addr = addr;
        d->breakpoints[d->nbreakpoints].kind = kind;
        d->nbreakpoints++;
        update_checks(d);
    }
    pthread_mutex_unlock(&d->lock);
    return room;
}

bool debugger_remove_breakpoint(struct debugger *d, uint64_t addr, enum debug_breakpoint_kind kind)
{
    pthread_mutex_lock(&d->lock);
    bool found = false;
    for (unsigned i = 0; i < d->nbreakpoints && !found; i++) {
        if (d->breakpoints[i].addr == addr && d->breakpoints[i].kind == kind) {
            d->breakpoints[i] = d->breakpoints[--d->nbreakpoints];
            found = true;
        }
    }
    update_checks(d);
    pthread_mutex_unlock(&d->lock);
    return found;
}

void debugger_clear_breakpoints(struct debugger *d)
{
    pthread_mutex_lock(&d->lock);
    d->nbreakpoints = 0;
    update_checks(d);
    pthread_mutex_unlock(&d->lock);
}

/* Whether a breakpoint lies in [lo, hi). The table changes only while harts are stopped. */
static bool breakpoint_in(const struct debugger *d, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < d->nbreakpoints; i++)
        if (d->breakpoints[i].addr >= lo && d->breakpoints[i].addr < hi)
            return true;
    return false;
}

static size_t debug_access(struct hart *h, uint64_t va, uint8_t *buf, size_t len, bool write)
{
    size_t done = 0;
    while (done < len) {
        uint64_t pa, at = va + done;
        if (!mmu_debug_translate(h, at, &pa))
            break;
        size_t chunk = 0x1000 - (at & 0xfff);
        if (chunk > len - done)
            chunk = len - done;
        uint8_t *p = guest_ram_ptr(h->ram, pa, chunk);
        if (!p)
            break;
        if (write) {
            memcpy(p, buf + done, chunk);
            guest_ram_note_store(h->ram, p, (unsigned)chunk); /* drops code decoded from it */
        } else {
            memcpy(buf + done, p, chunk);
        }
        done += chunk;
    }
    return done;
}

size_t debug_read_memory(struct hart *h, uint64_t va, void *buf, size_t len)
{
    return debug_access(h, va, buf, len, false);
}

size_t debug_write_memory(struct hart *h, uint64_t va, const void *buf, size_t len)
{
    return debug_access(h, va, (uint8_t *)buf, len, true);
}

bool hart_debug_halted(const struct hart *h)
{
    return h->debug && atomic_load(&h->debug->dbg->halted) && !atomic_load(&h->parked);
}

enum exec_exit debug_run(struct hart *h)
{
    struct debug_hart *dh = h->debug;
    struct debugger *d = dh->dbg;
    if (action_of(dh) == DEBUG_STEP) {
        /* Interrupts wait while stepping (QEMU's default too): a step stays in the code
         * being stepped rather than landing in a handler. */
        enum exec_exit e = interp_run_one(h);
        debug_stop(h, DEBUG_STOP_STEP);
        return e;
    }
    hart_take_interrupts(h);
    for (unsigned n = 0; n < DEBUG_SLICE; n++) {
        if (atomic_load_explicit(&d->halted, memory_order_relaxed) || action_of(dh) == DEBUG_STAY) {
            debug_stop(h, DEBUG_STOP_INTERRUPT);
            return EXEC_CHECK_IRQ;
        }
        uint64_t pc = h->arch.pc;
        if (breakpoint_in(d, pc, pc + 1)) {
            debug_stop(h, DEBUG_STOP_BREAKPOINT);
            return EXEC_CHECK_IRQ;
        }
        /* One block, unless a breakpoint lies within its reach: then one instruction. */
        enum exec_exit e = breakpoint_in(d, pc + 1, pc + BLOCK_REACH) ? interp_run_one(h) : interp_run(h, 1);
        if (e != EXEC_BUDGET || atomic_load_explicit(&h->exit_request, memory_order_relaxed))
            return e;
    }
    return EXEC_BUDGET;
}
