/*
 * What the board hands every device: its place on the bus and the interrupt line it
 * drives. A device never chooses its own address or interrupt number, and never reaches
 * the board or the harts except through the lines and callbacks it was given.
 */
#ifndef RACKVM_DEVICE_H
#define RACKVM_DEVICE_H

#include "common.h"
#include "memory/bus.h"

/*
 * An interrupt line: the device sets its level; the board decides what listens (a PLIC
 * source, a hart's interrupt input). An unwired line (set_level NULL) goes nowhere.
 * Called with bus->lock held, like every device callback.
 */
struct irq_line {
    void (*set_level)(void *sink, unsigned line, bool level);
    void *sink;
    unsigned line;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l->set_level)
        l->set_level(l->sink, l->line, level);
}

/* A device's place: the bus (RAM, MMIO, bus->lock), its MMIO window and its line. */
struct device_slot {
    struct bus *bus;
    const char *name;     /* the MMIO region's name */
    uint64_t base, size;
    struct irq_line irq;
};

/* Maps ops/dev at the slot's window; 0, or -1 after printing why (naming the region). */
int device_map(const struct device_slot *slot, const struct mmio_ops *ops, void *dev);

/* A byte sink for guest output (a console); write may be NULL (output discarded). */
struct byte_sink {
    void (*write)(void *ctx, const uint8_t *buf, size_t n);
    void *ctx;
};

static inline void byte_sink_write(const struct byte_sink *s, const uint8_t *buf, size_t n)
{
    if (s->write)
        s->write(s->ctx, buf, n);
}

#endif
