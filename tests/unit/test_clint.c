/* CLINT: msip drives MSIP, mtimecmp lands in the hart (whole or by halves), mtime ticks. */
#include <time.h>

#include "cpu/hart.h"
#include "devices/clint.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

#define MSIP(h) (0x0 + 4 * (h))
#define MTIMECMP(h) (0x4000 + 8 * (h))
#define MTIME 0xbff8

static struct machine *m;

static uint64_t rd(uint64_t off, unsigned size)
{
    uint64_t v = 0xdeadbeef;
    CHECK(bus_mmio_read(&m->bus, VIRT_CLINT_BASE + off, size, &v));
    return v;
}

static void wr(uint64_t off, uint64_t v, unsigned size)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_CLINT_BASE + off, size, v));
}

static void test_msip(void)
{
    wr(MSIP(1), 1, 4);
    CHECK(atomic_load(&m->harts[1]->arch.mip) & MIP_MSIP);
    CHECK(!(atomic_load(&m->harts[0]->arch.mip) & MIP_MSIP));
    CHECK_EQ_U64(rd(MSIP(1), 4), 1);
    CHECK_EQ_U64(rd(MSIP(0), 4), 0);
    wr(MSIP(1), 0xfffffffe, 4);           /* only bit 0 counts */
    CHECK(!(atomic_load(&m->harts[1]->arch.mip) & MIP_MSIP));
    CHECK_EQ_U64(rd(MSIP(1), 4), 0);
    wr(MSIP(3), 1, 4);                    /* no hart 3: ignored */
    CHECK_EQ_U64(rd(MSIP(3), 4), 0);
}

static void test_mtimecmp(void)
{
    wr(MTIMECMP(0), 0x1122334455667788ULL, 8);
    CHECK_EQ_U64(atomic_load(&m->harts[0]->arch.mtimecmp), 0x1122334455667788ULL);
    CHECK_EQ_U64(rd(MTIMECMP(0), 8), 0x1122334455667788ULL);
    CHECK_EQ_U64(rd(MTIMECMP(0), 4), 0x55667788);
    CHECK_EQ_U64(rd(MTIMECMP(0) + 4, 4), 0x11223344);

    /* RV32-style update by halves: each half replaces only its own bits. */
    wr(MTIMECMP(1), ~0ULL, 8);
    wr(MTIMECMP(1), 0xaabbccdd, 4);
    CHECK_EQ_U64(atomic_load(&m->harts[1]->arch.mtimecmp), 0xffffffffaabbccddULL);
    wr(MTIMECMP(1) + 4, 0x00000001, 4);
    CHECK_EQ_U64(atomic_load(&m->harts[1]->arch.mtimecmp), 0x00000001aabbccddULL);
    CHECK_EQ_U64(atomic_load(&m->harts[0]->arch.mtimecmp), 0x1122334455667788ULL);

    /* The CLINT never raises MTIP itself: the hart compares. */
    wr(MTIMECMP(0), 0, 8);
    CHECK(!(atomic_load(&m->harts[0]->arch.mip) & MIP_MTIP));
}

static void test_mtime(void)
{
    uint64_t t0 = rd(MTIME, 8);
    struct timespec pause = { .tv_nsec = 2000000 };
    nanosleep(&pause, NULL);
    uint64_t t1 = rd(MTIME, 8);
    CHECK(t1 > t0);
    CHECK(t1 - t0 >= MACHINE_TIMEBASE_HZ / 1000);   /* at least 1 ms of ticks passed */
    CHECK(t1 - t0 < MACHINE_TIMEBASE_HZ * 10);
    uint64_t hi = rd(MTIME + 4, 4);
    CHECK(hi == t1 >> 32 || hi == (t1 >> 32) + 1);
    uint64_t lo = rd(MTIME, 4);
    CHECK(lo <= 0xffffffffULL);

    wr(MTIME, 0, 8);                      /* ignored */
    CHECK(rd(MTIME, 8) >= t1);
}

static void test_odd_accesses(void)
{
    CHECK_EQ_U64(rd(MTIMECMP(0) + 2, 4), 0);  /* misaligned */
    CHECK_EQ_U64(rd(MSIP(0), 1), 0);          /* byte access */
    CHECK_EQ_U64(rd(0x8000, 4), 0);           /* hole */
    CHECK_EQ_U64(rd(0xfff8, 8), 0);
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 2 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();

    test_msip();
    test_mtimecmp();
    test_mtime();
    test_odd_accesses();

    machine_destroy(m);
    UNIT_DONE();
}
