/*
 * SiFive CLINT (ACLINT MSWI + MTIMER), at the window the board gives it:
 *   0x0000 + 4*hart  msip: bit 0, kept here, drives the hart's msip line
 *   0x4000 + 8*hart  mtimecmp: the hart's timer compare, read and written through the
 *                    board's callbacks (the hart compares it against mtime itself, so
 *                    this device never touches MTIP)
 *   0xbff8           mtime: the board's time source; writes are ignored (see clint.c)
 * 4- and 8-byte accesses, including either 4-byte half of the 64-bit registers.
 */
#ifndef RACKVM_CLINT_H
#define RACKVM_CLINT_H

#include "devices/device.h"

#define CLINT_MAX_HARTS 32
#define CLINT_COMPATIBLE "sifive,clint0\0riscv,clint0"

/* The harts as the CLINT sees them; ctx is passed to every callback. */
struct clint_harts {
    unsigned nharts;                       /* <= CLINT_MAX_HARTS */
    struct irq_line msip[CLINT_MAX_HARTS]; /* each hart's machine software interrupt */
    void *ctx;
    uint64_t (*mtime)(void *ctx);
    uint64_t (*get_mtimecmp)(void *ctx, unsigned hart);
    void (*set_mtimecmp)(void *ctx, unsigned hart, uint64_t value);
};

/* What a snapshot keeps of the CLINT: the msip bits (mtimecmp is the harts' state). */
struct clint_state {
    uint32_t msip;   /* bit h: hart h's msip register */
};

struct clint;

/* NULL after printing why. */
struct clint *clint_create(const struct device_slot *slot, const struct clint_harts *harts);
void clint_destroy(struct clint *c);

/* Snapshot state (caller holds bus->lock). load refuses bits of harts this CLINT lacks
 * (-1, nothing changed); load and reset drive every msip line to the new level. */
void clint_save(const struct clint *c, struct clint_state *s);
int clint_load(struct clint *c, const struct clint_state *s);
void clint_reset(struct clint *c);

#endif
