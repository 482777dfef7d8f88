/* CLINT: software interrupts, per-hart timer compare, and the shared mtime. */
#include "devices/clint.h"

#include <libfdt.h>
#include <stdlib.h>

#include "cpu/hart.h"
#include "machine/fdt.h"
#include "machine/machine.h"
#include "machine/virt.h"

#define CLINT_MSIP_BASE 0x0
#define CLINT_MTIMECMP_BASE 0x4000
#define CLINT_MTIME 0xbff8

struct clint {
    struct machine *m;
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
    struct machine *m = c->m;
    if ((size != 4 && size != 8) || off % size)
        return 0;
    if (off < CLINT_MTIMECMP_BASE) {
        unsigned hart = (unsigned)(off / 4);
        if (size != 4 || hart >= m->nharts)
            return 0;
        return (atomic_load(&m->harts[hart]->arch.mip) & MIP_MSIP) ? 1 : 0;
    }
    if (off >= CLINT_MTIME)
        return off < CLINT_MTIME + 8 ? read_part(machine_mtime(m), (unsigned)(off - CLINT_MTIME), size)
                                     : 0;
    unsigned hart = (unsigned)((off - CLINT_MTIMECMP_BASE) / 8);
    if (hart >= m->nharts)
        return 0;
    return read_part(atomic_load(&m->harts[hart]->arch.mtimecmp),
                     (unsigned)((off - CLINT_MTIMECMP_BASE) % 8), size);
}

/*
 * mtime writes are ignored: mtime is derived from the host monotonic clock and shared
 * by every hart's timer compare (mtimecmp and Sstc's stimecmp), so it has no stored
 * value to change; neither OpenSBI nor Linux writes it.
 */
static void clint_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct clint *c = dev;
    struct machine *m = c->m;
    if ((size != 4 && size != 8) || off % size || off >= CLINT_MTIME)
        return;
    if (off < CLINT_MTIMECMP_BASE) {
        unsigned hart = (unsigned)(off / 4);
        if (size == 4 && hart < m->nharts)
            hart_set_irq(m->harts[hart], MIP_MSIP, value & 1);
        return;
    }
    unsigned hart = (unsigned)((off - CLINT_MTIMECMP_BASE) / 8);
    if (hart >= m->nharts)
        return;
    struct hart *h = m->harts[hart];
    uint64_t cmp = value;
    if (size == 4)
        cmp = merge_half(atomic_load(&h->arch.mtimecmp), (unsigned)((off - CLINT_MTIMECMP_BASE) % 8),
                         value);
    atomic_store(&h->arch.mtimecmp, cmp);
    hart_kick(h);
}

static const struct mmio_ops clint_ops = { .read = clint_read, .write = clint_write };

struct clint *clint_create(struct machine *m)
{
    struct clint *c = calloc(1, sizeof(*c));
    if (!c) {
        rvm_error("clint: out of memory");
        return NULL;
    }
    c->m = m;
    if (bus_add_mmio(&m->bus, "clint", VIRT_CLINT_BASE, VIRT_CLINT_SIZE, &clint_ops, c) < 0) {
        rvm_error("clint: cannot map MMIO region at 0x%llx", VIRT_CLINT_BASE);
        free(c);
        return NULL;
    }
    return c;
}

void clint_destroy(struct clint *c)
{
    free(c);
}

int clint_fdt(struct clint *c, void *fdt, const struct fdt_board *b)
{
    uint32_t irqs[2 * 2 * MACHINE_MAX_HARTS];
    unsigned nharts = c->m->nharts;
    for (unsigned i = 0; i < nharts; i++) {
        irqs[4 * i + 0] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 1] = cpu_to_fdt32(IRQ_MSI);
        irqs[4 * i + 2] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 3] = cpu_to_fdt32(IRQ_MTI);
    }
    int err = fdt_begin_node(fdt, "clint@2000000");
    err |= fdt_property(fdt, "interrupts-extended", irqs, (int)(4 * sizeof(irqs[0]) * nharts));
    err |= fdt_property_reg(fdt, VIRT_CLINT_BASE, VIRT_CLINT_SIZE);
    err |= fdt_property(fdt, "compatible", "sifive,clint0\0riscv,clint0",
                        sizeof("sifive,clint0\0riscv,clint0"));
    err |= fdt_end_node(fdt);
    return err;
}
