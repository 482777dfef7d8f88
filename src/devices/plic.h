/*
 * SiFive PLIC: sources 1..PLIC_NUM_SOURCES-1, two contexts per hart (2*i = hart i's
 * M mode -> MEIP, 2*i+1 = its S mode -> SEIP).
 * Sources are level-triggered: a high line makes its source pending unless it is
 * claimed and not yet completed; a line that drops before the claim withdraws the
 * request (as QEMU does), so a driver that already serviced its device by polling does
 * not see a spurious claim. Claim returns the highest-priority enabled pending source
 * above the context's threshold (ties: lowest id) and clears its pending bit.
 * The board wires each context's output to a hart's MEIP/SEIP with an irq_line, and
 * each device's line to plic_irq_line (line = source). All state is under bus->lock.
 */
#ifndef RACKVM_PLIC_H
#define RACKVM_PLIC_H

#include "devices/device.h"

#define PLIC_NUM_SOURCES 96
#define PLIC_MAX_CONTEXTS 64
#define PLIC_COMPATIBLE "sifive,plic-1.0.0\0riscv,plic0"

#define PLIC_WORDS (PLIC_NUM_SOURCES / 32)

struct plic_context {
    uint32_t enable[PLIC_WORDS];
    uint32_t threshold;
    uint32_t eip;   /* level last given to the output line (0 or 1) */
};

/* What a snapshot keeps of the PLIC: every register and wire level. */
struct plic_state {
    uint32_t priority[PLIC_NUM_SOURCES];
    uint32_t pending[PLIC_WORDS];
    uint32_t line[PLIC_WORDS];      /* current level of each source's wire */
    uint32_t claimed[PLIC_WORDS];   /* claimed, waiting for complete */
    struct plic_context ctx[PLIC_MAX_CONTEXTS];
};

struct plic;

/* contexts[i] is context i's output line; ncontexts <= PLIC_MAX_CONTEXTS. NULL after printing why. */
struct plic *plic_create(const struct device_slot *slot, unsigned ncontexts,
                         const struct irq_line *contexts);
void plic_destroy(struct plic *p);

/* Snapshot state (caller holds bus->lock). load checks *s (-1: out-of-range values or
 * contexts this PLIC lacks, nothing changed); load and reset drive every context's
 * output line to the level the new state gives. */
void plic_save(const struct plic *p, struct plic_state *s);
int plic_load(struct plic *p, const struct plic_state *s);
void plic_reset(struct plic *p);

/* Sets the level of an interrupt line. Caller holds bus->lock. */
void plic_set_irq(struct plic *p, unsigned source, bool level);
/* plic_set_irq as an irq_line sink: {plic_irq_line, plic, source}. */
void plic_irq_line(void *plic, unsigned source, bool level);

#endif
