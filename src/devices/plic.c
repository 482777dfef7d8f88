/* SiFive PLIC: priorities, pending bits, per-context enables, thresholds, claim/complete. */
#include "devices/plic.h"

#include <libfdt.h>
#include <stdlib.h>

#include "cpu/hart.h"
#include "machine/fdt.h"
#include "machine/machine.h"
#include "machine/virt.h"

#define PLIC_WORDS (VIRT_PLIC_NDEV / 32)
#define PLIC_MAX_PRIORITY 7          /* 3 priority bits, as QEMU's virt */
#define PLIC_CONTEXTS (2 * MACHINE_MAX_HARTS)

#define PLIC_PRIORITY_BASE 0x0
#define PLIC_PENDING_BASE 0x1000
#define PLIC_ENABLE_BASE 0x2000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT_BASE 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000

_Static_assert(VIRT_PLIC_NDEV % 32 == 0, "pending/enable words hold 32 sources each");

struct plic_context {
    uint32_t enable[PLIC_WORDS];
    uint32_t threshold;
    bool eip;   /* last level given to hart_set_irq */
};

struct plic {
    struct machine *m;
    unsigned ncontexts;
    uint32_t priority[VIRT_PLIC_NDEV];
    uint32_t pending[PLIC_WORDS];
    uint32_t line[PLIC_WORDS];      /* current level of each source's wire */
    uint32_t claimed[PLIC_WORDS];   /* claimed, waiting for complete */
    struct plic_context ctx[PLIC_CONTEXTS];
};

static bool test_bit(const uint32_t *words, unsigned n)
{
    return words[n / 32] >> (n % 32) & 1;
}

static void assign_bit(uint32_t *words, unsigned n, bool on)
{
    if (on)
        words[n / 32] |= 1u << (n % 32);
    else
        words[n / 32] &= ~(1u << (n % 32));
}

/* Best claimable source for a context, 0 if none. */
static unsigned best_source(const struct plic *p, const struct plic_context *c)
{
    unsigned best = 0;
    uint32_t best_prio = c->threshold;
    for (unsigned w = 0; w < PLIC_WORDS; w++) {
        uint32_t candidates = p->pending[w] & c->enable[w];
        while (candidates) {
            unsigned src = w * 32 + (unsigned)__builtin_ctz(candidates);
            candidates &= candidates - 1;
            if (p->priority[src] > best_prio) {
                best = src;
                best_prio = p->priority[src];
            }
        }
    }
    return best;
}

static void update(struct plic *p)
{
    for (unsigned i = 0; i < p->ncontexts; i++) {
        struct plic_context *c = &p->ctx[i];
        bool eip = best_source(p, c) != 0;
        if (eip != c->eip) {
            c->eip = eip;
            hart_set_irq(p->m->harts[i / 2], i % 2 ? MIP_SEIP : MIP_MEIP, eip);
        }
    }
}

void plic_set_irq(struct plic *p, unsigned source, bool level)
{
    if (source == 0 || source >= VIRT_PLIC_NDEV)
        return;
    assign_bit(p->line, source, level);
    if (!test_bit(p->claimed, source))
        assign_bit(p->pending, source, level);
    update(p);
}

static uint32_t claim(struct plic *p, struct plic_context *c)
{
    unsigned src = best_source(p, c);
    if (src) {
        assign_bit(p->pending, src, false);
        assign_bit(p->claimed, src, true);
        update(p);
    }
    return src;
}

static void complete(struct plic *p, struct plic_context *c, uint32_t src)
{
    /* The spec ignores completions of sources not enabled for the context. */
    if (src == 0 || src >= VIRT_PLIC_NDEV || !test_bit(c->enable, src))
        return;
    assign_bit(p->claimed, src, false);
    if (test_bit(p->line, src))
        assign_bit(p->pending, src, true);
    update(p);
}

static uint32_t read32(struct plic *p, uint64_t off)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        return src < VIRT_PLIC_NDEV ? p->priority[src] : 0;
    }
    if (off < PLIC_ENABLE_BASE) {
        unsigned w = (unsigned)((off - PLIC_PENDING_BASE) / 4);
        return w < PLIC_WORDS ? p->pending[w] : 0;
    }
    if (off < PLIC_CONTEXT_BASE) {
        unsigned ctx = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
        return ctx < p->ncontexts && w < PLIC_WORDS ? p->ctx[ctx].enable[w] : 0;
    }
    unsigned ctx = (unsigned)((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
    if (ctx >= p->ncontexts)
        return 0;
    switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
    case 0: return p->ctx[ctx].threshold;
    case 4: return claim(p, &p->ctx[ctx]);
    default: return 0;
    }
}

static void write32(struct plic *p, uint64_t off, uint32_t v)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        if (src != 0 && src < VIRT_PLIC_NDEV) {
            p->priority[src] = v & PLIC_MAX_PRIORITY;
            update(p);
        }
        return;
    }
    if (off < PLIC_ENABLE_BASE)
        return; /* pending bits are read-only */
    if (off < PLIC_CONTEXT_BASE) {
        unsigned ctx = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
        if (ctx < p->ncontexts && w < PLIC_WORDS) {
            p->ctx[ctx].enable[w] = w == 0 ? v & ~1u : v; /* source 0 does not exist */
            update(p);
        }
        return;
    }
    unsigned ctx = (unsigned)((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
    if (ctx >= p->ncontexts)
        return;
    switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
    case 0:
        p->ctx[ctx].threshold = v & PLIC_MAX_PRIORITY;
        update(p);
        break;
    case 4:
        complete(p, &p->ctx[ctx], v);
        break;
    default:
        break;
    }
}

/* Registers are 32 bits; a 64-bit access covers two neighbours, narrower ones are ignored. */
static uint64_t plic_read(void *dev, uint64_t off, unsigned size)
{
    if (off % 4)
        return 0;
    if (size == 4)
        return read32(dev, off);
    if (size == 8)
        return read32(dev, off) | (uint64_t)read32(dev, off + 4) << 32;
    return 0;
}

static void plic_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    if (off % 4)
        return;
    if (size == 4 || size == 8)
        write32(dev, off, (uint32_t)value);
    if (size == 8)
        write32(dev, off + 4, (uint32_t)(value >> 32));
}

static const struct mmio_ops plic_ops = { .read = plic_read, .write = plic_write };

struct plic *plic_create(struct machine *m)
{
    struct plic *p = calloc(1, sizeof(*p));
    if (!p) {
        rvm_error("plic: out of memory");
        return NULL;
    }
    p->m = m;
    p->ncontexts = 2 * m->nharts;
    if (bus_add_mmio(&m->bus, "plic", VIRT_PLIC_BASE, VIRT_PLIC_SIZE, &plic_ops, p) < 0) {
        rvm_error("plic: cannot map MMIO region at 0x%llx", VIRT_PLIC_BASE);
        free(p);
        return NULL;
    }
    return p;
}

void plic_destroy(struct plic *p)
{
    free(p);
}

int plic_fdt(struct plic *p, void *fdt, const struct fdt_board *b)
{
    uint32_t irqs[2 * 2 * MACHINE_MAX_HARTS];
    unsigned nharts = p->ncontexts / 2;
    for (unsigned i = 0; i < nharts; i++) {
        irqs[4 * i + 0] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 1] = cpu_to_fdt32(IRQ_MEI);
        irqs[4 * i + 2] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 3] = cpu_to_fdt32(IRQ_SEI);
    }
    int err = fdt_begin_node(fdt, "plic@c000000");
    err |= fdt_property_u32(fdt, "phandle", b->plic_phandle);
    err |= fdt_property_u32(fdt, "riscv,ndev", VIRT_PLIC_NDEV - 1);
    err |= fdt_property_reg(fdt, VIRT_PLIC_BASE, VIRT_PLIC_SIZE);
    err |= fdt_property(fdt, "interrupts-extended", irqs, (int)(4 * sizeof(irqs[0]) * nharts));
    err |= fdt_property(fdt, "interrupt-controller", NULL, 0);
    err |= fdt_property(fdt, "compatible", "sifive,plic-1.0.0\0riscv,plic0",
                        sizeof("sifive,plic-1.0.0\0riscv,plic0"));
    err |= fdt_property_u32(fdt, "#address-cells", 0);
    err |= fdt_property_u32(fdt, "#interrupt-cells", 1);
    err |= fdt_end_node(fdt);
    return err;
}
