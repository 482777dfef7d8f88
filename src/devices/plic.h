/*
 * SiFive PLIC of the virt board at VIRT_PLIC_BASE: sources 1..VIRT_PLIC_NDEV-1, two
 * contexts per hart (2*i = hart i M-mode -> MEIP, 2*i+1 = S-mode -> SEIP).
 * Sources are level-triggered: a high line makes its source pending unless it is
 * claimed and not yet completed; a line that drops before the claim withdraws the
 * request (as QEMU does), so a driver that already serviced its device by polling does
 * not see a spurious claim. Claim returns the highest-priority enabled pending source
 * above the context's threshold (ties: lowest id) and clears its pending bit.
 * Create it after the harts (it needs m->nharts); all state is under bus->lock.
 */
#ifndef RACKVM_PLIC_H
#define RACKVM_PLIC_H

#include "common.h"

struct machine;
struct plic;
struct fdt_board;

struct plic *plic_create(struct machine *m);
void plic_destroy(struct plic *p);

/* Sets the level of an interrupt line. Caller holds bus->lock. */
void plic_set_irq(struct plic *p, unsigned source, bool level);

/* Writes /soc/plic@... (sequential-write libfdt). Returns 0 or a negative libfdt error. */
int plic_fdt(struct plic *p, void *fdt, const struct fdt_board *b);

#endif
