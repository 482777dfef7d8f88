/*
 * The interpreter: executes about budget instructions of one hart, returning early when
 * something needs the run loop's attention (exit_request, an interrupt may have become
 * enabled, wfi). Exceptions are taken inside; interrupts are taken by the run loop.
 */
#ifndef RACKVM_INTERP_H
#define RACKVM_INTERP_H

#include "cpu/hart.h"

enum exec_exit { EXEC_BUDGET, EXEC_CHECK_IRQ, EXEC_WFI };

enum exec_exit interp_run(struct hart *h, uint64_t budget);
/* Exactly one instruction, through the reference executor (a debugger's step). */
enum exec_exit interp_run_one(struct hart *h);

/*
 * The hart's decoded-block cache, with translation to host code when translate is set
 * and the host has a translator, of blocks that ran hot_runs times (0: a default):
 * allocate (0, or -1 when out of memory), free, drop all.
 */
int interp_init(struct hart *h, bool translate, unsigned hot_runs);
void interp_destroy(struct hart *h);
void interp_flush(struct hart *h);

#endif
