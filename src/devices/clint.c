/* CLINT: software interrupts, per-hart timer compare, and the shared mtime. */
#include "devices/clint.h"

#include <stdlib.h>

#define CLINT_MSIP_BASE 0x0
#define CLINT_MTIMECMP_BASE 0x4000
#define CLINT_MTIME 0xbff8

struct clint {
    struct clint_harts harts;
    struct clint_state s;
};

/* Replaces the 4-byte half at byte offset `half` (0 or 4) of a 64-bit register. */
static uint64_t merge_half(uint64_t old, unsigned half, uint64_t value)
{
    unsigned shift = half * 8;
    return (old & ~(0xffffffffULL << shift)) | ((value & 0xffffffffULL) << shift);
}

/* Shifts a 64-bit register value to what a 4- or 8-byte read at byte `half` returns. */
static uint64_t read_part(uint64_t reg, unsigned half, unsigned size)
{
    return size == 8 ? reg : (reg >> (half * 8)) & 0xffffffffULL;
}

static uint64_t clint_read(void *dev, uint64_t off, unsigned size)
{
    struct clint *c = dev;
    const struct clint_harts *h = &c->harts;
    if ((size != 4 && size != 8) || off % size)
        return 0;
    if (off < CLINT_MTIMECMP_BASE) {
        unsigned hart = (unsigned)(off / 4);
        if (size != 4 || hart >= h->nharts)
            return 0;
        return c->s.msip >> hart & 1;
    }
    if (off >= CLINT_MTIME)
        return off < CLINT_MTIME + 8 ? read_part(h->mtime(h->ctx), (unsigned)(off - CLINT_MTIME), size)
                                     : 0;
    unsigned hart = (unsigned)((off - CLINT_MTIMECMP_BASE) / 8);
    if (hart >= h->nharts)
        return 0;
    return read_part(h->get_mtimecmp(h->ctx, hart), (unsigned)((off - CLINT_MTIMECMP_BASE) % 8),
                     size);
}

/*
 * mtime writes are ignored: mtime is derived from the host monotonic clock and shared
 * by every hart's timer compare (mtimecmp and Sstc's stimecmp), so it has no stored
 * value to change; neither OpenSBI nor Linux writes it.
 */
static void clint_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct clint *c = dev;
    const struct clint_harts *h = &c->harts;
    if ((size != 4 && size != 8) || off % size || off >= CLINT_MTIME)
        return;
    if (off < CLINT_MTIMECMP_BASE) {
        unsigned hart = (unsigned)(off / 4);
        if (size == 4 && hart < h->nharts) {
            c->s.msip = (c->s.msip & ~(1u << hart)) | (uint32_t)(value & 1) << hart;
            irq_line_set(&h->msip[hart], value & 1);
        }
        return;
    }
    unsigned hart = (unsigned)((off - CLINT_MTIMECMP_BASE) / 8);
    if (hart >= h->nharts)
        return;
    uint64_t cmp = value;
    if (size == 4)
        cmp = merge_half(h->get_mtimecmp(h->ctx, hart), (unsigned)((off - CLINT_MTIMECMP_BASE) % 8),
                         value);
    h->set_mtimecmp(h->ctx, hart, cmp);
}

static const struct mmio_ops clint_ops = { .read = clint_read, .write = clint_write };

void clint_save(const struct clint *c, struct clint_state *s)
{
    *s = c->s;
}

static void drive_msip(struct clint *c)
{
    for (unsigned i = 0; i < c->harts.nharts; i++)
        irq_line_set(&c->harts.msip[i], c->s.msip >> i & 1);
}

int clint_load(struct clint *c, const struct clint_state *s)
{
    if (c->harts.nharts < 32 && s->msip >> c->harts.nharts)
        return -1;
    c->s = *s;
    drive_msip(c);
    return 0;
}

void clint_reset(struct clint *c)
{
    c->s = (struct clint_state){ 0 };
    drive_msip(c);
}

struct clint *clint_create(const struct device_slot *slot, const struct clint_harts *harts)
{
    struct clint *c = calloc(1, sizeof(*c));
    if (!c) {
        rvm_error("clint: out of memory");
        return NULL;
    }
    c->harts = *harts;
    if (device_map(slot, &clint_ops, c) < 0) {
        free(c);
        return NULL;
    }
    return c;
}

void clint_destroy(struct clint *c)
{
    free(c);
}
