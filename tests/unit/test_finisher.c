/* SiFive test finisher: each magic value stops the VM with its reason and code. */
#include "devices/test_finisher.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

static struct machine *m;

static void poke(uint32_t value)
{
    atomic_store(&m->stop_reason, STOP_NONE);
    m->stop_code = -1;
    CHECK(bus_mmio_write(&m->bus, VIRT_TEST_BASE, 4, value));
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();

    poke(0x5555);
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_POWEROFF);
    CHECK_EQ_U64(m->stop_code, 0);
    poke(0x7777);
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_REBOOT);
    poke((42u << 16) | 0x3333);
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_FAIL);
    CHECK_EQ_U64(m->stop_code, 42);
    atomic_store(&m->stop_reason, STOP_NONE);
    CHECK(bus_mmio_write(&m->bus, VIRT_TEST_BASE, 2, 0x7777)); /* OpenSBI writes 16 bits */
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_REBOOT);
    poke(0x1234);
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_NONE);
    CHECK(bus_mmio_write(&m->bus, VIRT_TEST_BASE + 4, 4, 0x5555)); /* other offsets: ignored */
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_NONE);
    uint64_t v = 1;
    CHECK(bus_mmio_read(&m->bus, VIRT_TEST_BASE, 4, &v));
    CHECK_EQ_U64(v, 0);

    machine_destroy(m);
    UNIT_DONE();
}
