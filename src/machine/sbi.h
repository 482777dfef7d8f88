/*
 * The built-in SBI v2.0 implementation: the monitor answers S-mode ecalls itself
 * (base, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy calls), so that a kernel
 * boots without M-mode firmware. Only used with --firmware builtin.
 */
#ifndef RACKVM_SBI_H
#define RACKVM_SBI_H

#include "cpu/hart.h"

/* Serves the ecall in a0..a7 of h (pc already past the ecall); sets a0/a1. */
void sbi_ecall(struct hart *h);

/* Prepares hart h to enter S-mode at addr with a0 = hartid, a1 = arg (boot and HSM start). */
void sbi_enter_supervisor(struct hart *h, uint64_t addr, uint64_t arg);

/* Hart thread hooks for HSM: a start request arrived; the hart is in a suspend call. */
void sbi_hart_started(struct hart *h);
void sbi_hart_suspended(struct hart *h);

#endif
