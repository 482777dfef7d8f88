/*
 * Puts the boot images into a freshly created machine and sets up its harts for one of
 * the three boot paths:
 *   builtin  kernel in S-mode on hart 0 (a0 = hartid, a1 = DTB), served by sbi.c;
 *            the other harts wait, stopped, for an HSM start
 *   FILE     M-mode firmware on every hart (a0 = hartid, a1 = DTB, a2 = fw_dynamic info
 *            naming the kernel as the next stage in S-mode), as QEMU does for OpenSBI
 *   none     the kernel ELF in M-mode on every hart at its entry (a0 = hartid, a1 = DTB)
 * The top 2 MiB of RAM hold the DTB and the fw_dynamic info; the initrd goes below them.
 */
#ifndef RACKVM_BOOT_H
#define RACKVM_BOOT_H

#include "machine/machine.h"

/* Returns 0, 1 when --dump-dtb wrote the tree (nothing to run), or -1 after printing why. */
int boot_prepare(struct machine *m);

#endif
