/*
 * The board's side of pause and resume (machine_pause, machine_resume in machine.h):
 * what machine.c calls as a machine is created, runs and goes away.
 */
#ifndef RACKVM_MACHINE_PAUSE_H
#define RACKVM_MACHINE_PAUSE_H

#include "machine/machine.h"

void pause_init(struct machine *m);
void pause_destroy(struct machine *m);
/* The hart's held hook (struct hart_platform_ops): waits until released or stopping. */
void pause_hold_hart(struct machine *m, struct hart *h);
/* Called by machine_request_stop: wakes held harts and a waiting machine_pause. */
void pause_wake_for_stop(struct machine *m);
/* machine_run: its harts are about to start (pauses are let in: a hart holds before its
 * first instruction) / they have all ended (a pause ends, so that the device threads
 * can be stopped). */
void pause_harts_starting(struct machine *m);
void pause_harts_ended(struct machine *m);

#endif
