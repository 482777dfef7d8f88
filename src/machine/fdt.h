/*
 * The flattened device tree handed to OpenSBI and Linux, in QEMU virt's shape.
 * fdt.c writes the root, /cpus, /memory, /chosen and /soc; every device module
 * writes its own node with a *_fdt(dev, fdt, board) function. Node functions use
 * libfdt's sequential-write API inside the currently open node and return 0 or a
 * negative libfdt error (several errors may be OR-ed together: any negative value
 * means the node is incomplete; fdt_build then retries with a larger buffer).
 */
#ifndef RACKVM_FDT_H
#define RACKVM_FDT_H

#include "common.h"
#include "machine/machine.h"

/* Phandles and facts that device nodes refer to. */
struct fdt_board {
    unsigned nharts;
    uint32_t intc_phandle[MACHINE_MAX_HARTS];  /* each cpu's riscv,cpu-intc */
    uint32_t plic_phandle;
    uint32_t test_phandle;
};

/*
 * Builds the tree for m. initrd_start/initrd_end are guest physical addresses of a
 * loaded initrd ([start, end)), both 0 when there is none. On success returns 0 and
 * stores a malloc'ed blob the caller frees; on failure prints why and returns -1.
 */
int fdt_build(struct machine *m, uint64_t initrd_start, uint64_t initrd_end,
              void **blob, size_t *size);

/* Writes a blob to path (for --dump-dtb). Returns 0, or -1 after printing why. */
int fdt_dump(const void *blob, size_t size, const char *path);

/* "reg" = <base size> with two address and two size cells, as /soc uses. */
int fdt_property_reg(void *fdt, uint64_t base, uint64_t size);

#endif
