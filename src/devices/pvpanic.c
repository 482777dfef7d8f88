/* pvpanic-mmio: the guest tells the host it panicked, so the VM stops instead of hanging. */
#include "devices/pvpanic.h"

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "machine/fdt.h"
#include "machine/machine.h"
#include "machine/virt.h"

struct pvpanic {
    struct machine *m;
    bool crash_loaded_reported;
};

static uint64_t pvpanic_read(void *dev, uint64_t off, unsigned size)
{
    (void)dev, (void)size;
    return off == 0 ? PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0;
}

static void pvpanic_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct pvpanic *p = dev;
    (void)size;
    if (off != 0)
        return;
    if (value & PVPANIC_PANICKED) {
        machine_request_stop(p->m, STOP_PANIC, 0, "guest panicked");
    } else if ((value & PVPANIC_CRASH_LOADED) && !p->crash_loaded_reported) {
        /* The guest is about to boot its kdump kernel: stopping it would lose the dump. */
        p->crash_loaded_reported = true;
        rvm_error("guest panicked; its crash kernel is loaded and runs on");
    }
}

static const struct mmio_ops pvpanic_ops = { .read = pvpanic_read, .write = pvpanic_write };

struct pvpanic *pvpanic_create(struct machine *m)
{
    struct pvpanic *p = calloc(1, sizeof(*p));
    if (!p) {
        rvm_error("pvpanic: out of memory");
        return NULL;
    }
    p->m = m;
    if (bus_add_mmio(&m->bus, "pvpanic", VIRT_PVPANIC_BASE, VIRT_PVPANIC_SIZE, &pvpanic_ops, p) < 0) {
        rvm_error("pvpanic: cannot map MMIO region at 0x%llx", VIRT_PVPANIC_BASE);
        free(p);
        return NULL;
    }
    return p;
}

void pvpanic_destroy(struct pvpanic *p)
{
    free(p);
}

int pvpanic_fdt(struct pvpanic *p, void *fdt, const struct fdt_board *b)
{
    (void)p, (void)b;
    char name[32];
    snprintf(name, sizeof(name), "pvpanic@%llx", VIRT_PVPANIC_BASE);
    int err = fdt_begin_node(fdt, name);
    err |= fdt_property_reg(fdt, VIRT_PVPANIC_BASE, VIRT_PVPANIC_SIZE);
    err |= fdt_property_string(fdt, "compatible", "qemu,pvpanic-mmio");
    err |= fdt_end_node(fdt);
    return err;
}
