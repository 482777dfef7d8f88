/*
 * pvpanic over MMIO, QEMU's `qemu,pvpanic-mmio`: one byte register at the slot's base.
 *   read   the events this device reports: PVPANIC_PANICKED | PVPANIC_CRASH_LOADED
 *   write  an event the guest raises (Linux's pvpanic-mmio driver writes it from its
 *          panic notifier), handed to the board's report hook:
 *          PVPANIC_PANICKED      the guest kernel panicked (the board stops the VM)
 *          PVPANIC_CRASH_LOADED  it panicked and is booting its crash (kdump) kernel:
 *                                reported once; the VM keeps running so the dump can
 *                                be taken
 * Other bits and offsets are ignored. No interrupt; no state beyond the report-once flag.
 */
#ifndef RACKVM_PVPANIC_H
#define RACKVM_PVPANIC_H

#include "devices/device.h"

#define PVPANIC_PANICKED 1u
#define PVPANIC_CRASH_LOADED 2u
#define PVPANIC_COMPATIBLE "qemu,pvpanic-mmio"

struct pvpanic_hooks {
    void (*report)(void *ctx, unsigned event);  /* PVPANIC_PANICKED or PVPANIC_CRASH_LOADED */
    void *ctx;
};

struct pvpanic;

/* NULL after printing why. */
struct pvpanic *pvpanic_create(const struct device_slot *slot, const struct pvpanic_hooks *hooks);
void pvpanic_destroy(struct pvpanic *p);

#endif
