/* pvpanic-mmio: PANICKED stops the VM as a panic; CRASH_LOADED and other values do not. */
#include <string.h>

#include "devices/pvpanic.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1 };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();

    uint64_t v = 0;
    CHECK(bus_mmio_read(&m->bus, VIRT_PVPANIC_BASE, 1, &v));
    CHECK_EQ_U64(v, PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);

    CHECK(bus_mmio_write(&m->bus, VIRT_PVPANIC_BASE, 1, 0));
    CHECK(bus_mmio_write(&m->bus, VIRT_PVPANIC_BASE + 1, 1, PVPANIC_PANICKED));  /* not the register */
    CHECK(bus_mmio_write(&m->bus, VIRT_PVPANIC_BASE, 1, PVPANIC_CRASH_LOADED)); /* kdump runs on */
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_NONE);

    CHECK(bus_mmio_write(&m->bus, VIRT_PVPANIC_BASE, 1, PVPANIC_PANICKED));
    CHECK_EQ_U64(atomic_load(&m->stop_reason), STOP_PANIC);
    CHECK(strcmp(m->stop_message, "guest panicked") == 0);

    machine_destroy(m);
    UNIT_DONE();
}
