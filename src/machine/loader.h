/*
 * Puts the files named by `run --kernel/--initrd/--firmware` into guest RAM and says
 * where they went. Every function returns 0, or -1 with a one-line message in err of the
 * form "<path>: <what is wrong>" (no trailing newline) and nothing reported in out.
 * A failed load may have written part of the file into RAM; the caller does not boot then.
 *
 * Nothing in a file is trusted: every offset and length from a header is checked against
 * the file size and against RAM with overflow-safe arithmetic before it is used.
 *
 * Accepted formats:
 * - Linux RISC-V Image (Documentation/riscv/boot-image-header.rst): recognised by magic2
 *   "RSC\x05" at 0x38, little-endian kernel flag. Loaded at the caller's load_addr, which
 *   must be LOADER_KERNEL_ALIGN aligned; the header's image_size (file plus bss), not the
 *   file size, must fit in RAM, and the bss part is zeroed. text_offset is ignored, as
 *   QEMU does: the kernel relocates itself.
 * - gzip-compressed Image (magic 1f 8b): inflated with zlib straight into RAM at
 *   load_addr, output capped at the RAM above load_addr; the result must be an Image.
 * - ELF64, little-endian, EM_RISCV, ET_EXEC or ET_DYN: each PT_LOAD segment is copied to
 *   its p_paddr (no relocation), memsz beyond filesz zeroed; segments must lie in RAM and
 *   must not overlap one another, and e_entry must lie inside one of them.
 *   The .symtab symbols `tohost`/`fromhost` (HTIF of riscv-tests) are reported.
 * Anything else is refused as a kernel (with a hint for xz/zstd/bzip2/lz4/arm64 files).
 * Firmware is an ELF as above, or else raw bytes loaded at the start of RAM.
 *
 * Expected order: firmware, kernel (load_addr above the firmware's end), initrd (told to
 * avoid firmware, kernel and the DTB area), so that no load overwrites an earlier one.
 * An ELF kernel goes where its headers say: the caller checks its range against the
 * firmware's.
 */
#ifndef RACKVM_LOADER_H
#define RACKVM_LOADER_H

#include "common.h"
#include "memory/guest_ram.h"

/* RV64 kernels must start on a 2 MiB boundary (their first mapping is a 2 MiB page). */
#define LOADER_KERNEL_ALIGN (2ULL << 20)
/* The initrd starts on a page boundary so Linux can free it page by page. */
#define LOADER_INITRD_ALIGN 4096ULL

/* [start, end) in guest physical addresses. */
struct loader_range {
    uint64_t start, end;
};

/* A loaded executable: a kernel, or the firmware (which then has no bss in a raw file). */
struct loaded_kernel {
    uint64_t entry;
    uint64_t start, end;       /* memory it occupies, bss included */
    bool is_elf;
    uint64_t tohost, fromhost; /* HTIF symbol addresses of an ELF; 0 when absent */
};

/*
 * Loads an Image, gzip Image or ELF. load_addr is used for Image and gzip only; an Image
 * occupies [load_addr, load_addr + image_size) and its entry is load_addr.
 * With firmware the usual load_addr is RAM base + 2 MiB (0x80200000, where OpenSBI's
 * fw_jump jumps), or the firmware's end rounded up to LOADER_KERNEL_ALIGN if higher.
 */
int loader_load_kernel(struct guest_ram *ram, const char *path, int fd, uint64_t load_addr,
                       struct loaded_kernel *out, char *err, size_t errlen);

/*
 * Loads the initrd (any content, not empty) as high in RAM as it goes without touching
 * any of the navoid ranges in avoid: it ends at the end of RAM or just below one of those
 * ranges, its start aligned down to LOADER_INITRD_ALIGN. RV64 Linux maps all of RAM
 * linearly, so high memory is reachable, and the space under the initrd stays free for
 * the kernel to grow into. out is [start, start + file size).
 */
int loader_load_initrd(struct guest_ram *ram, const char *path, int fd,
                       const struct loader_range *avoid, size_t navoid,
                       struct loader_range *out, char *err, size_t errlen);

/*
 * Loads M-mode firmware: an ELF (see above), or raw bytes at ram->base with entry
 * ram->base. For a raw file, end is the end of the file: its bss is unknown, which is
 * why the kernel goes no lower than RAM base + 2 MiB.
 */
int loader_load_firmware(struct guest_ram *ram, const char *path, int fd,
                         struct loaded_kernel *out, char *err, size_t errlen);

/*
 * Parses a --memory size as QEMU's -m does: decimal digits and an optional suffix
 * B, K, M, G or T (any case, powers of 1024); a bare number is MiB. Refuses empty input,
 * signs, spaces, fractions, other suffixes and values above UINT64_MAX. Zero parses; the
 * caller checks bounds. Returns 0, or -1 with *out unchanged.
 */
int parse_size(const char *s, uint64_t *out);

#endif
