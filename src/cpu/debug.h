/*
 * Debugger support for the harts of one VM, for a debug stub above the board: breakpoints,
 * single step and all-stop halting, and side-effect-free access to guest memory.
 *
 * Breakpoints live in the monitor, never in guest memory: a hart with any breakpoint set
 * runs through debug_run, which runs one decoded block at a time (translated or not) and
 * switches to one instruction at a time when a breakpoint lies within a block's reach of
 * pc, so it stops exactly at the breakpoint and guest code and its translations stay as
 * they are. A hart without a debugger, or with one that has nothing to check, pays one
 * relaxed load per run-loop slice.
 *
 * All-stop: when one hart stops (breakpoint, step, interrupt request), every other hart
 * is asked to stop too, at an instruction boundary; a hart parked by the board (stopped
 * or suspended through SBI HSM) counts as stopped. While stopped, the stub may read and
 * write every hart's state and guest memory; debugger_resume lets harts go again.
 * Guest time keeps running while harts are stopped.
 *
 * Threads: debug_run and hart_debug_halted are called on hart threads; everything else
 * on the stub's thread. The stub touches harts' state only while debugger_all_stopped.
 */
#ifndef RACKVM_DEBUG_H
#define RACKVM_DEBUG_H

#include <pthread.h>

#include "cpu/hart.h"
#include "cpu/interp.h"

#define DEBUG_MAX_BREAKPOINTS 64
#define DEBUG_MAX_HARTS 32

enum debug_stop {
    DEBUG_STOP_NONE,
    DEBUG_STOP_BREAKPOINT,  /* reached a breakpoint, not executed */
    DEBUG_STOP_STEP,        /* executed the one instruction of a step */
    DEBUG_STOP_INTERRUPT,   /* asked to stop (debugger_interrupt) */
};

/* What a hart does once debugger_resume lets it go. */
enum debug_action { DEBUG_STAY, DEBUG_CONTINUE, DEBUG_STEP };

enum debug_breakpoint_kind { DEBUG_BREAK_SOFTWARE, DEBUG_BREAK_HARDWARE };

/* One hart's side; struct hart points at it (h->debug). */
struct debug_hart {
    struct debugger *dbg;
    enum debug_action action;   /* under dbg->lock */
    bool stopped;               /* waiting in the debugger, under dbg->lock */
};

struct debugger {
    pthread_mutex_t lock;
    pthread_cond_t resumed;     /* stopped harts wait here */
    struct hart *const *harts;
    unsigned nharts;
    struct debug_hart per_hart[DEBUG_MAX_HARTS];
    _Atomic bool halted;        /* every hart should stop */
    /* The stop being reported: the first hart that stopped, and why. */
    struct hart *event_hart;
    enum debug_stop event;
    struct {
        uint64_t addr;
        enum debug_breakpoint_kind kind;
    } breakpoints[DEBUG_MAX_BREAKPOINTS];
    unsigned nbreakpoints;
};

/* Attaches a debugger to the harts (before their threads start): 0, or -1 when there
 * are more harts than it handles. */
int debugger_init(struct debugger *d, struct hart *const *harts, unsigned nharts);
/* Detaches it again, once the hart threads are gone. */
void debugger_destroy(struct debugger *d);

/* Asks every hart to stop; why is reported for the first one that does. */
void debugger_interrupt(struct debugger *d, enum debug_stop why);
/* Whether the harts are halted and all of them have stopped (or are parked); if so,
 * *h and *why say which stopped first and why. */
bool debugger_all_stopped(struct debugger *d, struct hart **h, enum debug_stop *why);
/* Lets the stopped harts go: actions[i] for hart i (DEBUG_STAY keeps it stopped). */
void debugger_resume(struct debugger *d, const enum debug_action *actions);

/* Adds or removes a breakpoint (harts stopped): false when the table is full or, when
 * removing, there is no such breakpoint. */
bool debugger_add_breakpoint(struct debugger *d, uint64_t addr, enum debug_breakpoint_kind kind);
bool debugger_remove_breakpoint(struct debugger *d, uint64_t addr, enum debug_breakpoint_kind kind);
void debugger_clear_breakpoints(struct debugger *d);

/*
 * Guest memory at virtual address va as hart h sees it for a data access now (its satp,
 * privilege and MPRV; no permission checks), through a walk that sets no A/D bits, fills
 * no TLB and raises nothing. RAM only (device registers are not touched). Returns the
 * number of bytes copied, short at the first address that does not translate to RAM.
 * Writes invalidate cached code they overlap.
 */
size_t debug_read_memory(struct hart *h, uint64_t va, void *buf, size_t len);
size_t debug_write_memory(struct hart *h, uint64_t va, const void *buf, size_t len);

/* Hart thread: runs a slice for a hart whose debugger has work (h->debug_check). */
enum exec_exit debug_run(struct hart *h);
/* Hart thread: whether a running (not parked) hart should leave a wait to stop. */
bool hart_debug_halted(const struct hart *h);

#endif
