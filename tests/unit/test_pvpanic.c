/* pvpanic-mmio: PANICKED stops the VM as a panic; CRASH_LOADED and other values do not;
 * the report-once flag is saved and loaded. */
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

    /* The report-once flag goes into a snapshot and comes back out of it. */
    struct pvpanic_state saved, again;
    pvpanic_save(m->pvpanic, &saved);
    CHECK_EQ_U64(saved.crash_loaded_reported, 1);
    struct machine *restored = machine_create(&cfg, false);
    CHECK(restored != NULL);
    if (restored) {
        pvpanic_save(restored->pvpanic, &again);
        CHECK_EQ_U64(again.crash_loaded_reported, 0);
        CHECK(pvpanic_load(restored->pvpanic, &saved) == 0);
        pvpanic_save(restored->pvpanic, &again);
        CHECK_EQ_U64(again.crash_loaded_reported, 1);
        /* Impossible states are refused and change nothing. */
        struct pvpanic_state bad_flag = { 2, 0 }, bad_reserved = { 0, 1 };
        CHECK(pvpanic_load(restored->pvpanic, &bad_flag) < 0);
        CHECK(pvpanic_load(restored->pvpanic, &bad_reserved) < 0);
        pvpanic_save(restored->pvpanic, &again);
        CHECK_EQ_U64(again.crash_loaded_reported, 1);
        machine_destroy(restored);
    }

    machine_destroy(m);
    UNIT_DONE();
}
