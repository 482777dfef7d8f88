/*
 * The built-in SBI v2.0 implementation: the monitor answers S-mode ecalls itself
 * (base, TIME, IPI, RFENCE, HSM, SRST, DBCN and the legacy calls), so that a kernel
 * boots without M-mode firmware. Only used with --firmware builtin.
 */
#ifndef RACKVM_SBI_H
#define RACKVM_SBI_H

#include "cpu/hart.h"

struct machine;

/* What the SBI keeps of one hart: its HSM state (struct machine holds one per hart). */
struct sbi_hart {
    _Atomic int state;              /* enum sbi_hart_state in sbi.c; 0: stopped */
    uint64_t start_addr, start_arg; /* HSM start, or resume from a non-retentive suspend */
    uint32_t suspend_type;
};

/* The hart's ecall hook: serves the ecall in a0..a7 of h (pc already past it); sets a0/a1. */
void sbi_ecall(struct machine *m, struct hart *h);

/* Starts the parked hart h in S-mode at addr with a0 = hartid, a1 = arg (the boot hart). */
void sbi_start_hart(struct machine *m, struct hart *h, uint64_t addr, uint64_t arg);

/* The hart's park hook: waits while h is HSM-stopped or suspended, then unparks it;
 * returns early, h still parked, when the VM stops or the board holds h. */
void sbi_park(struct machine *m, struct hart *h);

#endif
