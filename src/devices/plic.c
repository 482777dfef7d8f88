/* SiFive PLIC: priorities, pending bits, per-context enables, thresholds, claim/complete. */
#include "devices/plic.h"

#include <stdlib.h>
#include <string.h>

#define PLIC_MAX_PRIORITY 7          /* 3 priority bits, as QEMU's virt */

#define PLIC_PRIORITY_BASE 0x0
#define PLIC_PENDING_BASE 0x1000
#define PLIC_ENABLE_BASE 0x2000
#define PLIC_ENABLE_STRIDE 0x80
#define PLIC_CONTEXT_BASE 0x200000
#define PLIC_CONTEXT_STRIDE 0x1000

_Static_assert(PLIC_NUM_SOURCES % 32 == 0, "pending/enable words hold 32 sources each");

struct plic {
    unsigned ncontexts;
    struct irq_line outputs[PLIC_MAX_CONTEXTS];
    struct plic_state s;
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
        uint32_t candidates = p->s.pending[w] & c->enable[w];
        while (candidates) {
            unsigned src = w * 32 + (unsigned)__builtin_ctz(candidates);
            candidates &= candidates - 1;
            if (p->s.priority[src] > best_prio) {
                best = src;
                best_prio = p->s.priority[src];
            }
        }
    }
    return best;
}

static void update(struct plic *p)
{
    for (unsigned i = 0; i < p->ncontexts; i++) {
        struct plic_context *c = &p->s.ctx[i];
        bool eip = best_source(p, c) != 0;
        if (eip != c->eip) {
            c->eip = eip;
            irq_line_set(&p->outputs[i], eip);
        }
    }
}

void plic_set_irq(struct plic *p, unsigned source, bool level)
{
    if (source == 0 || source >= PLIC_NUM_SOURCES)
        return;
    assign_bit(p->s.line, source, level);
    if (!test_bit(p->s.claimed, source))
        assign_bit(p->s.pending, source, level);
    update(p);
}

void plic_irq_line(void *plic, unsigned source, bool level)
{
    plic_set_irq(plic, source, level);
}

static uint32_t claim(struct plic *p, struct plic_context *c)
{
    unsigned src = best_source(p, c);
    if (src) {
        assign_bit(p->s.pending, src, false);
        assign_bit(p->s.claimed, src, true);
        update(p);
    }
    return src;
}

static void complete(struct plic *p, struct plic_context *c, uint32_t src)
{
    /* The spec ignores completions of sources not enabled for the context. */
    if (src == 0 || src >= PLIC_NUM_SOURCES || !test_bit(c->enable, src))
        return;
    assign_bit(p->s.claimed, src, false);
    if (test_bit(p->s.line, src))
        assign_bit(p->s.pending, src, true);
    update(p);
}

static uint32_t read32(struct plic *p, uint64_t off)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        return src < PLIC_NUM_SOURCES ? p->s.priority[src] : 0;
    }
    if (off < PLIC_ENABLE_BASE) {
        unsigned w = (unsigned)((off - PLIC_PENDING_BASE) / 4);
        return w < PLIC_WORDS ? p->s.pending[w] : 0;
    }
    if (off < PLIC_CONTEXT_BASE) {
        unsigned ctx = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE / 4);
        return ctx < p->ncontexts && w < PLIC_WORDS ? p->s.ctx[ctx].enable[w] : 0;
    }
    unsigned ctx = (unsigned)((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
    if (ctx >= p->ncontexts)
        return 0;
    switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
    case 0: return p->s.ctx[ctx].threshold;
    case 4: return claim(p, &p->s.ctx[ctx]);
    default: return 0;
    }
}

static void write32(struct plic *p, uint64_t off, uint32_t v)
{
    if (off < PLIC_PENDING_BASE) {
        unsigned src = (unsigned)(off / 4);
        if (src != 0 && src < PLIC_NUM_SOURCES) {
            p->s.priority[src] = v & PLIC_MAX_PRIORITY;
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
            p->s.ctx[ctx].enable[w] = w == 0 ? v & ~1u : v; /* source 0 does not exist */
            update(p);
        }
        return;
    }
    unsigned ctx = (unsigned)((off - PLIC_CONTEXT_BASE) / PLIC_CONTEXT_STRIDE);
    if (ctx >= p->ncontexts)
        return;
    switch ((off - PLIC_CONTEXT_BASE) % PLIC_CONTEXT_STRIDE) {
    case 0:
        p->s.ctx[ctx].threshold = v & PLIC_MAX_PRIORITY;
        update(p);
        break;
    case 4:
        complete(p, &p->s.ctx[ctx], v);
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

void plic_save(const struct plic *p, struct plic_state *s)
{
    *s = p->s;
}

/* Drives every context's output to what its state says, whatever was driven before. */
static void drive_outputs(struct plic *p)
{
    for (unsigned i = 0; i < p->ncontexts; i++) {
        struct plic_context *c = &p->s.ctx[i];
        c->eip = best_source(p, c) != 0;
        irq_line_set(&p->outputs[i], c->eip);
    }
}

int plic_load(struct plic *p, const struct plic_state *s)
{
    for (unsigned i = 0; i < PLIC_NUM_SOURCES; i++)
        if (s->priority[i] > PLIC_MAX_PRIORITY)
            return -1;
    for (unsigned i = 0; i < PLIC_MAX_CONTEXTS; i++)
        if (s->ctx[i].threshold > PLIC_MAX_PRIORITY || s->ctx[i].eip > 1 ||
            (i >= p->ncontexts && memcmp(&s->ctx[i], &(struct plic_context){ 0 },
                                         sizeof(s->ctx[i])) != 0))
            return -1;
    p->s = *s;
    drive_outputs(p);
    return 0;
}

void plic_reset(struct plic *p)
{
    memset(&p->s, 0, sizeof(p->s));
    drive_outputs(p);
}

struct plic *plic_create(const struct device_slot *slot, unsigned ncontexts,
                         const struct irq_line *contexts)
{
    if (ncontexts > PLIC_MAX_CONTEXTS) {
        rvm_error("plic: %u contexts asked, %d at most", ncontexts, PLIC_MAX_CONTEXTS);
        return NULL;
    }
    struct plic *p = calloc(1, sizeof(*p));
    if (!p) {
        rvm_error("plic: out of memory");
        return NULL;
    }
    p->ncontexts = ncontexts;
    if (ncontexts)
        memcpy(p->outputs, contexts, ncontexts * sizeof(*contexts));
    if (device_map(slot, &plic_ops, p) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

void plic_destroy(struct plic *p)
{
    free(p);
}
