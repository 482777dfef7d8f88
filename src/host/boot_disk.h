/*
 * Disk boot: whether a raw disk image holds what Debian's U-Boot (qemu-riscv64_smode)
 * will boot through its distro boot, so that `rackvm run --disk path=IMG` without a
 * kernel fails at once with a reason instead of leaving U-Boot at its prompt.
 * The partitions looked at are those U-Boot's scan looks at: the ones flagged bootable
 * (MBR boot flag, GPT legacy-BIOS-bootable attribute), else partition 1. One of them must
 * be an ext2/3/4 file system holding /boot/extlinux/extlinux.conf or
 * /extlinux/extlinux.conf. The partition table is read with libblkid and the file
 * systems with libext2fs, read-only; the image is not changed.
 */
#ifndef RACKVM_BOOT_DISK_H
#define RACKVM_BOOT_DISK_H

#include <stddef.h>

/*
 * 0 when the image at path is bootable, with where in found ("partition 1:
 * /boot/extlinux/extlinux.conf"); -1 with the reason in err otherwise.
 */
int boot_disk_check(const char *path, char *found, size_t foundlen, char *err, size_t errlen);

#endif
