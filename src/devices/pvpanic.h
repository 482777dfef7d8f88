/*
 * pvpanic over MMIO at VIRT_PVPANIC_BASE, QEMU's `qemu,pvpanic-mmio`: one byte register.
 *   read   the events this device reports: PVPANIC_PANICKED | PVPANIC_CRASH_LOADED
 *   write  an event the guest raises (Linux's pvpanic-mmio driver writes it from its
 *          panic notifier):
 *          PVPANIC_PANICKED      the guest kernel panicked: the VM stops at once with
 *                                STOP_PANIC ("guest panicked")
 *          PVPANIC_CRASH_LOADED  it panicked and is booting its crash (kdump) kernel:
 *                                reported once on stderr; the VM keeps running so the
 *                                dump can be taken
 * Other bits and offsets are ignored. No interrupt; no state beyond the report-once flag.
 */
#ifndef RACKVM_PVPANIC_H
#define RACKVM_PVPANIC_H

#define PVPANIC_PANICKED 1u
#define PVPANIC_CRASH_LOADED 2u

struct machine;
struct pvpanic;
struct fdt_board;

struct pvpanic *pvpanic_create(struct machine *m);
void pvpanic_destroy(struct pvpanic *p);

/* Writes /soc/pvpanic@<base>. */
int pvpanic_fdt(struct pvpanic *p, void *fdt, const struct fdt_board *b);

#endif
