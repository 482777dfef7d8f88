/*
 * The flattened device tree handed to OpenSBI and Linux, in QEMU virt's shape.
 * fdt.c writes every node: the root, /cpus, /memory, /chosen, and under /soc one node
 * per device from the board's placement table (virt_map), with the compatible strings
 * and facts the device headers name. Node writers use libfdt's sequential-write API and
 * OR their errors together (any negative value means the tree is incomplete; fdt_build
 * then retries with a larger buffer).
 */
#ifndef RACKVM_FDT_H
#define RACKVM_FDT_H

#include "common.h"
#include "machine/machine.h"

/*
 * Builds the tree for m. initrd_start/initrd_end are guest physical addresses of a
 * loaded initrd ([start, end)), both 0 when there is none. On success returns 0 and
 * stores a malloc'ed blob the caller frees; on failure prints why and returns -1.
 */
int fdt_build(struct machine *m, uint64_t initrd_start, uint64_t initrd_end,
              void **blob, size_t *size);

/* Writes a blob to path (for --dump-dtb). Returns 0, or -1 after printing why. */
int fdt_dump(const void *blob, size_t size, const char *path);

#endif
