/*
 * Sdtrig: the trigger module's native (action = 0) address triggers. HART_TRIGGERS
 * triggers, each of type mcontrol (2) or mcontrol6 (6), match execute, load or store
 * addresses (equal, greater-or-equal, less-than) in M, S or U mode (mcontrol6 also in
 * VS and VU, with the H extension) and raise a breakpoint
 * exception whose tval is the address. There is no Debug Mode: action, dmode, hit, select,
 * timing, size and chain read as zero, and tdata3 is zero (no textra, so no mcontext or
 * scontext). tcontrol's mte/mpte keep M-mode trap handlers from re-firing.
 *
 * Nothing is checked while nothing is armed: hart->trigger_exec makes the run loop step
 * one instruction at a time through trigger_fires_at_pc, and hart->trigger_access keeps
 * loads and stores off the TLB (mmu.c), so that every access reaches
 * trigger_fires_on_access.
 */
#ifndef RACKVM_TRIGGER_H
#define RACKVM_TRIGGER_H

#include "cpu/hart.h"

enum { CSR_TSELECT = 0x7a0, CSR_TDATA1 = 0x7a1, CSR_TDATA2 = 0x7a2, CSR_TDATA3 = 0x7a3,
       CSR_TINFO = 0x7a4, CSR_TCONTROL = 0x7a5 };

#define TCONTROL_MTE (1ULL << 3)
#define TCONTROL_MPTE (1ULL << 7)

/* Whether csr is one of the trigger module's; then the calls below handle it. */
static inline bool trigger_csr(unsigned csr)
{
    return csr >= CSR_TSELECT && csr <= CSR_TCONTROL;
}
uint64_t trigger_csr_read(const struct hart *h, unsigned csr);
void trigger_csr_write(struct hart *h, unsigned csr, uint64_t value);

/* The reset state of the trigger module in *s: every trigger an unarmed mcontrol. */
void trigger_reset(struct hart_state *s);
/* Recomputes hart->trigger_exec/trigger_access from the state (after a load or write). */
void trigger_update(struct hart *h);

/* An execute trigger matches pc: raises the breakpoint exception and returns true. */
bool trigger_fires_at_pc(struct hart *h);
/* A load (load) and/or store (store) trigger matches the size-byte access at va: raises
 * the breakpoint exception and returns true. */
bool trigger_fires_on_access(struct hart *h, uint64_t va, unsigned size, bool load, bool store);

#endif
