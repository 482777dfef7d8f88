/* The board-to-device plumbing shared by every device. */
#include "devices/device.h"

int device_map(const struct device_slot *slot, const struct mmio_ops *ops, void *dev)
{
    if (bus_add_mmio(slot->bus, slot->name, slot->base, slot->size, ops, dev) < 0) {
        rvm_error("%s: cannot map MMIO region at 0x%llx", slot->name,
                  (unsigned long long)slot->base);
        return -1;
    }
    return 0;
}
