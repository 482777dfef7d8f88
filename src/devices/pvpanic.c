/* pvpanic-mmio: the guest tells the host it panicked, so the VM stops instead of hanging. */
#include "devices/pvpanic.h"

#include <stdlib.h>

struct pvpanic {
    struct pvpanic_hooks hooks;
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
        p->hooks.report(p->hooks.ctx, PVPANIC_PANICKED);
    } else if ((value & PVPANIC_CRASH_LOADED) && !p->crash_loaded_reported) {
        p->crash_loaded_reported = true;
        p->hooks.report(p->hooks.ctx, PVPANIC_CRASH_LOADED);
    }
}

static const struct mmio_ops pvpanic_ops = { .read = pvpanic_read, .write = pvpanic_write };

struct pvpanic *pvpanic_create(const struct device_slot *slot, const struct pvpanic_hooks *hooks)
{
    struct pvpanic *p = calloc(1, sizeof(*p));
    if (!p) {
        rvm_error("pvpanic: out of memory");
        return NULL;
    }
    p->hooks = *hooks;
    if (device_map(slot, &pvpanic_ops, p) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

void pvpanic_destroy(struct pvpanic *p)
{
    free(p);
}
