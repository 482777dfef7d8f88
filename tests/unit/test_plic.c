/* PLIC: priority, threshold, per-context enables, claim/complete and the harts' EIP bits. */

#include "cpu/hart.h"
#include "devices/plic.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

#define PRIORITY(src) (0x0 + 4 * (src))
#define PENDING 0x1000
#define ENABLE(ctx) (0x2000 + 0x80 * (ctx))
#define THRESHOLD(ctx) (0x200000 + 0x1000 * (ctx))
#define CLAIM(ctx) (THRESHOLD(ctx) + 4)

static struct machine *m;

static uint64_t rd(uint64_t off)
{
    uint64_t v = 0xdeadbeef;
    CHECK(bus_mmio_read(&m->bus, VIRT_PLIC_BASE + off, 4, &v));
    return v;
}

static void wr(uint64_t off, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_PLIC_BASE + off, 4, v));
}

static void line(unsigned src, bool level)
{
    pthread_mutex_lock(&m->bus.lock);
    plic_set_irq(m->plic, src, level);
    pthread_mutex_unlock(&m->bus.lock);
}

static uint64_t mip(unsigned hart)
{
    return atomic_load(&m->harts[hart]->arch.mip) & (MIP_MEIP | MIP_SEIP);
}

static void test_claim_complete_level(void)
{
    wr(PRIORITY(10), 1);
    wr(ENABLE(1), 1u << 10);              /* hart 0, S-mode */
    line(10, true);
    CHECK_EQ_U64(rd(PENDING), 1u << 10);
    CHECK_EQ_U64(mip(0), MIP_SEIP);
    CHECK_EQ_U64(mip(1), 0);

    CHECK_EQ_U64(rd(CLAIM(1)), 10);
    CHECK_EQ_U64(rd(PENDING), 0);
    CHECK_EQ_U64(mip(0), 0);              /* in service: no new request */
    CHECK_EQ_U64(rd(CLAIM(1)), 0);

    wr(CLAIM(1), 10);                     /* complete while the line is still high */
    CHECK_EQ_U64(rd(PENDING), 1u << 10);
    CHECK_EQ_U64(mip(0), MIP_SEIP);

    line(10, false);                      /* the device withdrew its request */
    CHECK_EQ_U64(rd(PENDING), 0);
    CHECK_EQ_U64(mip(0), 0);
    CHECK_EQ_U64(rd(CLAIM(1)), 0);

    line(10, true);
    CHECK_EQ_U64(rd(CLAIM(1)), 10);
    line(10, false);
    wr(CLAIM(1), 10);                     /* line low at completion: stays idle */
    CHECK_EQ_U64(rd(PENDING), 0);
    CHECK_EQ_U64(mip(0), 0);
    wr(ENABLE(1), 0);
}

static void test_priority_and_threshold(void)
{
    wr(PRIORITY(5), 2);
    wr(PRIORITY(7), 2);
    wr(PRIORITY(40), 3);
    wr(ENABLE(0), (1u << 5) | (1u << 7));  /* hart 0, M-mode */
    wr(ENABLE(0) + 4, 1u << (40 - 32));
    line(5, true);
    line(7, true);
    line(40, true);
    CHECK_EQ_U64(mip(0), MIP_MEIP);
    CHECK_EQ_U64(rd(PENDING + 4), 1u << 8);

    wr(THRESHOLD(0), 3);                  /* nothing above 3 */
    CHECK_EQ_U64(rd(THRESHOLD(0)), 3);
    CHECK_EQ_U64(mip(0), 0);
    CHECK_EQ_U64(rd(CLAIM(0)), 0);
    wr(THRESHOLD(0), 2);
    CHECK_EQ_U64(mip(0), MIP_MEIP);
    CHECK_EQ_U64(rd(CLAIM(0)), 40);       /* only priority 3 beats threshold 2 */
    CHECK_EQ_U64(mip(0), 0);
    wr(THRESHOLD(0), 0);
    CHECK_EQ_U64(rd(CLAIM(0)), 5);        /* tie at priority 2: lowest id first */
    CHECK_EQ_U64(rd(CLAIM(0)), 7);
    CHECK_EQ_U64(rd(CLAIM(0)), 0);
    CHECK_EQ_U64(mip(0), 0);

    for (unsigned src = 5; src <= 40; src++)
        line(src, false);
    wr(CLAIM(0), 5);
    wr(CLAIM(0), 7);
    wr(CLAIM(0), 40);
    CHECK_EQ_U64(rd(PENDING), 0);
    wr(ENABLE(0), 0);
    wr(ENABLE(0) + 4, 0);
}

static void test_contexts_are_separate(void)
{
    wr(PRIORITY(3), 1);
    wr(ENABLE(2), 1u << 3);               /* hart 1, M-mode only */
    line(3, true);
    CHECK_EQ_U64(mip(0), 0);
    CHECK_EQ_U64(mip(1), MIP_MEIP);
    CHECK_EQ_U64(rd(CLAIM(0)), 0);        /* not enabled for hart 0 */

    wr(ENABLE(3), 1u << 3);               /* hart 1, S-mode too */
    CHECK_EQ_U64(mip(1), MIP_MEIP | MIP_SEIP);
    CHECK_EQ_U64(rd(CLAIM(3)), 3);        /* S claims it: M loses it as well */
    CHECK_EQ_U64(mip(1), 0);

    wr(CLAIM(0), 3);                      /* completion from a context without it: ignored */
    CHECK_EQ_U64(rd(PENDING), 0);
    wr(CLAIM(3), 3);
    CHECK_EQ_U64(rd(PENDING), 1u << 3);
    CHECK_EQ_U64(mip(1), MIP_MEIP | MIP_SEIP);

    wr(PRIORITY(3), 0);                   /* priority 0 never interrupts */
    CHECK_EQ_U64(mip(1), 0);
    CHECK_EQ_U64(rd(CLAIM(2)), 0);
    line(3, false);
}

static void test_register_masks(void)
{
    wr(PRIORITY(1), 0xffffffff);
    CHECK_EQ_U64(rd(PRIORITY(1)), 7);
    wr(PRIORITY(0), 5);                   /* source 0 does not exist */
    CHECK_EQ_U64(rd(PRIORITY(0)), 0);
    wr(ENABLE(0), 0xffffffff);
    CHECK_EQ_U64(rd(ENABLE(0)), 0xfffffffe);
    wr(ENABLE(0), 0);
    wr(PENDING, 0xffffffff);              /* read-only */
    CHECK_EQ_U64(rd(PENDING), 0);
    CHECK_EQ_U64(rd(ENABLE(4)), 0);        /* only 2 harts: context 4 does not exist */
    CHECK_EQ_U64(rd(THRESHOLD(4)), 0);
    line(VIRT_PLIC_NDEV, true);           /* out of range: ignored */
    CHECK_EQ_U64(rd(PENDING + 8), 0);
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 2 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    struct device_slot slot = machine_device_slot(m, VIRT_PLIC, 0);
    CHECK(plic_create(&slot, 0, NULL) == NULL);       /* the region is taken */

    test_claim_complete_level();
    test_priority_and_threshold();
    test_contexts_are_separate();
    test_register_masks();

    machine_destroy(m);
    UNIT_DONE();
}
