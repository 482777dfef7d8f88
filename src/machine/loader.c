/* Kernel, initrd and firmware loading; the contract is in loader.h. */
#define ZLIB_CONST
#include "machine/loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ELF and Image header fields are little-endian; they are read with memcpy. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "loader assumes a little-endian host");

#define IMAGE_HEADER_SIZE 0x40
#define IMAGE_OFF_IMAGE_SIZE 0x10
#define IMAGE_OFF_FLAGS 0x18
#define IMAGE_OFF_MAGIC 0x30
#define IMAGE_OFF_MAGIC2 0x38
#define IMAGE_FLAG_BIG_ENDIAN 1ULL

/* True when [off, off + len) lies within [0, size), without overflowing. */
static bool range_within(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t ram_end(const struct guest_ram *ram)
{
    return ram->base + ram->size;
}

/*
 * A whole file's bytes, read into memory rather than mmap'd: a file truncated under a
 * mapping would SIGBUS the loader; read() just ends early, which is reported. The memory
 * is an anonymous mapping, not malloc's: freeing a kernel-sized malloc block raises
 * glibc's mmap threshold past the initrd's size, whose freed bytes then stay resident
 * in the heap for the VM's life (2.4 MiB of the package guest). A raw Image and the
 * initrd skip it and are read straight into guest RAM.
 */
struct file_map {
    const uint8_t *data;
    size_t size;
};

/* Closes fd unless the caller keeps it. */
static void release_file(int fd, int kept_fd)
{
    if (fd != kept_fd)
        close(fd);
}

/*
 * Opens a regular, non-empty file: kept_fd if it is one (>= 0: used from offset 0, left
 * open), else path; *size is its size. O_NONBLOCK: opening a FIFO would otherwise wait
 * for a writer before fstat could refuse it. On failure nothing is left open.
 */
static int open_regular(const char *path, int kept_fd, int *fd_out, uint64_t *size,
                        char *err, size_t errlen)
{
    int fd = kept_fd >= 0 ? kept_fd : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        release_file(fd, kept_fd);
        return fail(err, errlen, "%s: cannot stat: %s", path, strerror(e));
    }
    const char *refused = S_ISDIR(st.st_mode)    ? "is a directory"
                          : !S_ISREG(st.st_mode) ? "is not a regular file"
                          : st.st_size == 0      ? "is empty"
                                                 : NULL;
    if (refused) {
        release_file(fd, kept_fd);
        return fail(err, errlen, "%s: %s", path, refused);
    }
    *fd_out = fd;
    *size = (uint64_t)st.st_size;
    return 0;
}

/* Reads the file's first size bytes into dst. */
static int read_exact(int fd, const char *path, uint8_t *dst, size_t size, char *err,
                      size_t errlen)
{
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, dst + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        if (n == 0)
            return fail(err, errlen, "%s: shrank from %zu to %zu bytes while being read",
                        path, size, done);
        done += (size_t)n;
    }
    return 0;
}

/* Reads the whole file fd (size bytes) into a new mapping. */
static int map_file(int fd, const char *path, uint64_t size, struct file_map *map,
                    char *err, size_t errlen)
{
    uint8_t *p = size <= SIZE_MAX
                     ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                     : MAP_FAILED;
    if (p == MAP_FAILED)
        return fail(err, errlen, "%s: is too large to load (%llu bytes)", path,
                    (unsigned long long)size);
    if (read_exact(fd, path, p, (size_t)size, err, errlen) < 0) {
        munmap(p, (size_t)size);
        return -1;
    }
    map->data = p;
    map->size = (size_t)size;
    return 0;
}

static void unmap_file(struct file_map *map)
{
    munmap((void *)map->data, map->size);
}

/* ------------------------------------------------------------------ ELF */

struct elf_segment {
    uint64_t start, end;   /* guest physical, bss included */
    uint64_t offset, filesz;
    unsigned index;        /* program header number, for messages */
};

static int compare_segments(const void *a, const void *b)
{
    const struct elf_segment *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static bool is_elf(const struct file_map *f)
{
    return f->size >= SELFMAG && memcmp(f->data, ELFMAG, SELFMAG) == 0;
}

static int check_elf_header(const struct file_map *f, const char *path, Elf64_Ehdr *eh,
                            char *err, size_t errlen)
{
    if (f->size < EI_NIDENT)
        return fail(err, errlen, "%s: truncated ELF header", path);
    if (f->data[EI_CLASS] == ELFCLASS32)
        return fail(err, errlen, "%s: is a 32-bit ELF; rackvm needs ELF64 (RV64)", path);
    if (f->data[EI_CLASS] != ELFCLASS64)
        return fail(err, errlen, "%s: unknown ELF class %u", path, f->data[EI_CLASS]);
    if (f->data[EI_DATA] != ELFDATA2LSB)
        return fail(err, errlen, "%s: is a big-endian ELF; RISC-V is little-endian", path);
    if (f->size < sizeof *eh)
        return fail(err, errlen, "%s: truncated ELF header (%zu bytes)", path, f->size);
    memcpy(eh, f->data, sizeof *eh);
    if (eh->e_machine != EM_RISCV)
        return fail(err, errlen, "%s: is an ELF for machine %u, not RISC-V (%u)", path,
                    eh->e_machine, EM_RISCV);
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return fail(err, errlen, "%s: ELF type %u is not an executable (ET_EXEC/ET_DYN)",
                    path, eh->e_type);
    if (eh->e_phnum == 0)
        return fail(err, errlen, "%s: ELF has no program headers", path);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return fail(err, errlen, "%s: ELF program header size %u, expected %zu", path,
                    eh->e_phentsize, sizeof(Elf64_Phdr));
    if (!range_within(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), f->size))
        return fail(err, errlen, "%s: truncated: ELF program headers lie beyond the end "
                    "of the file", path);
    return 0;
}

/* Collects and checks the PT_LOAD segments that occupy memory; sorted by address. */
static int collect_segments(const struct guest_ram *ram, const struct file_map *f,
                            const Elf64_Ehdr *eh, const char *path,
                            struct elf_segment **segs_out, size_t *nsegs_out,
                            char *err, size_t errlen)
{
    struct elf_segment *segs = calloc(eh->e_phnum, sizeof *segs);
    if (!segs)
        return fail(err, errlen, "%s: out of memory", path);
    size_t n = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, f->data + eh->e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz) {
            free(segs);
            return fail(err, errlen, "%s: ELF segment %u has file size 0x%llx above its "
                        "memory size 0x%llx", path, i, (unsigned long long)ph.p_filesz,
                        (unsigned long long)ph.p_memsz);
        }
        if (!range_within(ph.p_offset, ph.p_filesz, f->size)) {
            free(segs);
            return fail(err, errlen, "%s: truncated: ELF segment %u needs file bytes "
                        "0x%llx+0x%llx but the file has 0x%zx", path, i,
                        (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
                        f->size);
        }
        if (!guest_ram_ptr(ram, ph.p_paddr, ph.p_memsz)) {
            free(segs);
            return fail(err, errlen, "%s: ELF segment %u at 0x%llx (size 0x%llx) is "
                        "outside RAM [0x%llx, 0x%llx)", path, i,
                        (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                        (unsigned long long)ram->base, (unsigned long long)ram_end(ram));
        }
        segs[n++] = (struct elf_segment){
            .start = ph.p_paddr, .end = ph.p_paddr + ph.p_memsz,
            .offset = ph.p_offset, .filesz = ph.p_filesz, .index = i,
        };
    }
    if (n == 0) {
        free(segs);
        return fail(err, errlen, "%s: ELF has no loadable segments", path);
    }
    qsort(segs, n, sizeof *segs, compare_segments);
    for (size_t i = 1; i < n; i++) {
        if (segs[i].start < segs[i - 1].end) {
            unsigned a = segs[i - 1].index, b = segs[i].index;
            free(segs);
            return fail(err, errlen, "%s: ELF segments %u and %u overlap in memory", path,
                        a, b);
        }
    }
    *segs_out = segs;
    *nsegs_out = n;
    return 0;
}

static bool read_section(const struct file_map *f, const Elf64_Ehdr *eh, unsigned i,
                         Elf64_Shdr *sh)
{
    if (i >= eh->e_shnum)
        return false;
    memcpy(sh, f->data + eh->e_shoff + (uint64_t)i * sizeof *sh, sizeof *sh);
    return true;
}

/* True when the string at name, with room bytes left in its table, is exactly want. */
static bool symbol_name_is(const char *name, uint64_t room, const char *want)
{
    size_t n = strlen(want) + 1;  /* with its NUL, so "tohostX" and a cut-off name differ */
    return room >= n && memcmp(name, want, n) == 0;
}

/*
 * Finds tohost/fromhost in the .symtab section; leaves them 0 when absent. Linear in the
 * file size: one symbol table (the ELF spec allows no more), and each name compared in
 * at most 9 bytes, never measured, so no hostile table costs symbols x table size.
 */
static int find_htif_symbols(const struct file_map *f, const Elf64_Ehdr *eh,
                             const char *path, uint64_t *tohost, uint64_t *fromhost,
                             char *err, size_t errlen)
{
    *tohost = *fromhost = 0;
    /* No section table, or one past 0xff00 entries (extended numbering): no symbols. */
    if (eh->e_shoff == 0 || eh->e_shnum == 0)
        return 0;
    if (eh->e_shentsize != sizeof(Elf64_Shdr))
        return fail(err, errlen, "%s: ELF section header size %u, expected %zu", path,
                    eh->e_shentsize, sizeof(Elf64_Shdr));
    if (!range_within(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), f->size))
        return fail(err, errlen, "%s: truncated: ELF section headers lie beyond the end "
                    "of the file", path);
    Elf64_Shdr symtab = { 0 }, strtab;
    unsigned found = eh->e_shnum;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        Elf64_Shdr sh;
        read_section(f, eh, i, &sh);
        if (sh.sh_type != SHT_SYMTAB)
            continue;
        if (found < eh->e_shnum)
            return fail(err, errlen, "%s: ELF has more than one symbol table (sections %u "
                        "and %u)", path, found, i);
        found = i;
        symtab = sh;
    }
    if (found == eh->e_shnum)
        return 0;
    if (!read_section(f, eh, symtab.sh_link, &strtab) || strtab.sh_type != SHT_STRTAB)
        return fail(err, errlen, "%s: ELF symbol table %u has no string table", path, found);
    if (symtab.sh_entsize != sizeof(Elf64_Sym))
        return fail(err, errlen, "%s: ELF symbol size %llu, expected %zu", path,
                    (unsigned long long)symtab.sh_entsize, sizeof(Elf64_Sym));
    if (!range_within(symtab.sh_offset, symtab.sh_size, f->size) ||
        !range_within(strtab.sh_offset, strtab.sh_size, f->size))
        return fail(err, errlen, "%s: truncated: ELF symbol table lies beyond the end "
                    "of the file", path);
    const char *names = (const char *)f->data + strtab.sh_offset;
    uint64_t nsyms = symtab.sh_size / sizeof(Elf64_Sym);
    for (uint64_t s = 0; s < nsyms; s++) {
        Elf64_Sym sym;
        memcpy(&sym, f->data + symtab.sh_offset + s * sizeof sym, sizeof sym);
        if (sym.st_shndx == SHN_UNDEF || sym.st_name >= strtab.sh_size)
            continue;
        const char *name = names + sym.st_name;
        uint64_t room = strtab.sh_size - sym.st_name;
        if (symbol_name_is(name, room, "tohost"))
            *tohost = sym.st_value;
        else if (symbol_name_is(name, room, "fromhost"))
            *fromhost = sym.st_value;
    }
    return 0;
}

static int load_elf(struct guest_ram *ram, const struct file_map *f, const char *path,
                    struct loaded_kernel *out, char *err, size_t errlen)
{
    Elf64_Ehdr eh;
    if (check_elf_header(f, path, &eh, err, errlen) < 0)
        return -1;
    struct elf_segment *segs = NULL;
    size_t n = 0;
    if (collect_segments(ram, f, &eh, path, &segs, &n, err, errlen) < 0)
        return -1;

    bool entry_loaded = false;
    for (size_t i = 0; i < n; i++)
        entry_loaded |= eh.e_entry >= segs[i].start && eh.e_entry < segs[i].end;
    struct loaded_kernel k = {
        .entry = eh.e_entry, .start = segs[0].start, .end = segs[n - 1].end, .is_elf = true,
    };
    if (!entry_loaded) {
        free(segs);
        return fail(err, errlen, "%s: ELF entry point 0x%llx is not inside a loaded segment",
                    path, (unsigned long long)eh.e_entry);
    }
    if (find_htif_symbols(f, &eh, path, &k.tohost, &k.fromhost, err, errlen) < 0) {
        free(segs);
        return -1;
    }
    /* Everything is checked: only now write RAM. */
    for (size_t i = 0; i < n; i++) {
        uint8_t *dst = guest_ram_ptr(ram, segs[i].start, segs[i].end - segs[i].start);
        memcpy(dst, f->data + segs[i].offset, segs[i].filesz);
        memset(dst + segs[i].filesz, 0, segs[i].end - segs[i].start - segs[i].filesz);
    }
    free(segs);
    *out = k;
    return 0;
}

/* ------------------------------------------------------------- Image / gzip */

static bool is_gzip(const struct file_map *f)
{
    return f->size >= 2 && f->data[0] == 0x1f && f->data[1] == 0x8b;
}

static bool has_image_magic(const uint8_t *p, uint64_t len)
{
    return len >= IMAGE_HEADER_SIZE && memcmp(p + IMAGE_OFF_MAGIC2, "RSC\x05", 4) == 0;
}

/* Why a file of size bytes that is neither Image, gzip nor ELF was refused, as precisely
 * as its first bytes (head) tell. */
static int refuse_unknown_kernel(const struct file_map *head, uint64_t size, const char *path,
                                 char *err, size_t errlen)
{
    static const struct {
        const char *magic;
        size_t len, offset;
        const char *what;
    } known[] = {
        { "\xfd" "7zXZ", 5, 0, "is xz-compressed; only gzip is supported" },
        { "\x28\xb5\x2f\xfd", 4, 0, "is zstd-compressed; only gzip is supported" },
        { "BZh", 3, 0, "is bzip2-compressed; only gzip is supported" },
        { "\x04\x22\x4d\x18", 4, 0, "is lz4-compressed; only gzip is supported" },
        { "\x5d\x00\x00", 3, 0, "looks lzma-compressed; only gzip is supported" },
        { "ARM\x64", 4, IMAGE_OFF_MAGIC2, "is an arm64 kernel Image, not RISC-V" },
        { "RISCV\0\0\0", 8, IMAGE_OFF_MAGIC, "has only the deprecated \"RISCV\" magic; "
                                             "rackvm needs header version 0.2 (\"RSC\\x05\")" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
        if (range_within(known[i].offset, known[i].len, head->size) &&
            memcmp(head->data + known[i].offset, known[i].magic, known[i].len) == 0)
            return fail(err, errlen, "%s: %s", path, known[i].what);
    }
    if (size < IMAGE_HEADER_SIZE)
        return fail(err, errlen, "%s: too short (%llu bytes) for a RISC-V Linux Image, "
                    "and not gzip or ELF", path, (unsigned long long)size);
    return fail(err, errlen, "%s: not a RISC-V Linux Image (no \"RSC\\x05\" magic at 0x38), "
                "gzip-compressed Image or ELF", path);
}

/*
 * For an Image of len bytes whose header is at header: checks the header and that
 * image_size fits at load_addr, zeroes the bss and returns where the len bytes go in
 * RAM (where they may already be), or NULL.
 */
static uint8_t *place_image(struct guest_ram *ram, const char *path, const uint8_t *header,
                            uint64_t len, uint64_t load_addr, struct loaded_kernel *out,
                            char *err, size_t errlen)
{
    uint64_t image_size = read_u64(header + IMAGE_OFF_IMAGE_SIZE);
    uint64_t flags = read_u64(header + IMAGE_OFF_FLAGS);
    if (flags & IMAGE_FLAG_BIG_ENDIAN) {
        fail(err, errlen, "%s: Image header says big-endian kernel", path);
        return NULL;
    }
    if (image_size < len) {
        fail(err, errlen, "%s: Image header image_size 0x%llx is smaller than the image "
             "itself (0x%llx bytes)", path, (unsigned long long)image_size,
             (unsigned long long)len);
        return NULL;
    }
    uint8_t *dst = guest_ram_ptr(ram, load_addr, image_size);
    if (!dst) {
        fail(err, errlen, "%s: kernel needs 0x%llx bytes at 0x%llx but RAM ends at 0x%llx "
             "(use more --memory)", path, (unsigned long long)image_size,
             (unsigned long long)load_addr, (unsigned long long)ram_end(ram));
        return NULL;
    }
    memset(dst + len, 0, image_size - len);
    *out = (struct loaded_kernel){
        .entry = load_addr, .start = load_addr, .end = load_addr + image_size,
    };
    return dst;
}

/* Inflates every gzip member of f into dst (at most cap bytes); *len is the output size. */
static int gunzip(const struct file_map *f, const char *path, uint8_t *dst, uint64_t cap,
                  uint64_t *len, char *err, size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return fail(err, errlen, "%s: cannot start zlib: out of memory", path);
    /* avail_in/avail_out are 32-bit: the buffers are handed over in chunks. */
    const uint8_t *in = f->data, *in_end = f->data + f->size;
    uint8_t *out = dst, *out_end = dst + cap;
    int rc;
    for (;;) {
        if (zs.avail_in == 0 && in < in_end) {
            size_t n = (size_t)(in_end - in) < UINT_MAX ? (size_t)(in_end - in) : UINT_MAX;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
            in += n;
        }
        if (zs.avail_out == 0 && out < out_end) {
            size_t n = (size_t)(out_end - out) < UINT_MAX ? (size_t)(out_end - out) : UINT_MAX;
            zs.next_out = out;
            zs.avail_out = (uInt)n;
            out += n;
        }
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc == Z_OK)
            continue;
        if (rc != Z_STREAM_END)
            break;
        /* The chunks are contiguous, so next_in is the position in the file. */
        const uint8_t *rest = zs.next_in;
        size_t left = (size_t)(in_end - rest);
        if (left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
            inflateReset(&zs);  /* another gzip member, as `cat a.gz b.gz` makes */
            continue;
        }
        while (left && *rest == 0) {  /* zero padding to a block size is harmless */
            rest++;
            left--;
        }
        *len = (uint64_t)(zs.next_out - dst);
        inflateEnd(&zs);
        if (left)
            return fail(err, errlen, "%s: %zu bytes of trailing data after the gzip stream",
                        path, left);
        return 0;
    }
    const char *msg = zs.msg;
    bool out_full = zs.avail_out == 0 && out == out_end;
    bool in_done = zs.avail_in == 0 && in == in_end;
    int result;
    if (rc == Z_BUF_ERROR && out_full)
        result = fail(err, errlen, "%s: inflates to more than the 0x%llx bytes of RAM above "
                      "the load address", path, (unsigned long long)cap);
    else if (rc == Z_BUF_ERROR && in_done)
        result = fail(err, errlen, "%s: truncated gzip data", path);
    else if (rc == Z_MEM_ERROR)
        result = fail(err, errlen, "%s: out of memory while inflating", path);
    else
        result = fail(err, errlen, "%s: corrupt gzip data (%s)", path, msg ? msg : "zlib error");
    inflateEnd(&zs);
    return result;
}

static int check_image_load_addr(const struct guest_ram *ram, const char *path,
                                 uint64_t load_addr, char *err, size_t errlen)
{
    if (load_addr % LOADER_KERNEL_ALIGN)
        return fail(err, errlen, "%s: kernel load address 0x%llx is not 2 MiB aligned", path,
                    (unsigned long long)load_addr);
    if (!guest_ram_ptr(ram, load_addr, 1))
        return fail(err, errlen, "%s: kernel load address 0x%llx is outside RAM "
                    "[0x%llx, 0x%llx)", path, (unsigned long long)load_addr,
                    (unsigned long long)ram->base, (unsigned long long)ram_end(ram));
    return 0;
}

static int load_gzip_image(struct guest_ram *ram, const struct file_map *f, const char *path,
                           uint64_t load_addr, struct loaded_kernel *out, char *err,
                           size_t errlen)
{
    uint64_t cap = ram_end(ram) - load_addr, len = 0;
    uint8_t *dst = guest_ram_ptr(ram, load_addr, cap);
    if (gunzip(f, path, dst, cap, &len, err, errlen) < 0)
        return -1;
    if (!has_image_magic(dst, len))
        return fail(err, errlen, "%s: gzip data is not a RISC-V Linux Image (no "
                    "\"RSC\\x05\" magic at 0x38)", path);
    return place_image(ram, path, dst, len, load_addr, out, err, errlen) ? 0 : -1;
}

/*
 * The open kernel file fd of size bytes, told apart by its first bytes. A raw Image is
 * read straight into RAM: through a buffer, its 31 MiB (Debian's) cost 70-200 ms of a
 * 3 s boot on a VM host, whose first touch of each fresh 4K page is slow.
 */
static int load_kernel_file(struct guest_ram *ram, const char *path, int fd, uint64_t size,
                            uint64_t load_addr, struct loaded_kernel *out, char *err,
                            size_t errlen)
{
    uint8_t head_bytes[IMAGE_HEADER_SIZE];
    struct file_map head = { head_bytes, size < sizeof head_bytes ? (size_t)size : sizeof head_bytes };
    if (read_exact(fd, path, head_bytes, head.size, err, errlen) < 0)
        return -1;
    bool elf = is_elf(&head), gzip = !elf && is_gzip(&head);
    bool raw_image = !elf && !gzip && has_image_magic(head.data, head.size);
    if (!elf && !gzip && !raw_image)
        return refuse_unknown_kernel(&head, size, path, err, errlen);
    if (!elf && check_image_load_addr(ram, path, load_addr, err, errlen) < 0)
        return -1;
    struct loaded_kernel k;
    if (raw_image) {
        uint8_t *dst = place_image(ram, path, head.data, size, load_addr, &k, err, errlen);
        if (!dst || read_exact(fd, path, dst, (size_t)size, err, errlen) < 0)
            return -1;
        *out = k;
        return 0;
    }
    struct file_map f;
    if (map_file(fd, path, size, &f, err, errlen) < 0)
        return -1;
    int rc = elf ? load_elf(ram, &f, path, &k, err, errlen)
                 : load_gzip_image(ram, &f, path, load_addr, &k, err, errlen);
    unmap_file(&f);
    if (rc == 0)
        *out = k;
    return rc;
}

int loader_load_kernel(struct guest_ram *ram, const char *path, int kept_fd, uint64_t load_addr,
                       struct loaded_kernel *out, char *err, size_t errlen)
{
    int fd;
    uint64_t size;
    if (open_regular(path, kept_fd, &fd, &size, err, errlen) < 0)
        return -1;
    int rc = load_kernel_file(ram, path, fd, size, load_addr, out, err, errlen);
    release_file(fd, kept_fd);
    return rc;
}

/* ------------------------------------------------------------------ initrd */

static bool overlaps_any(uint64_t start, uint64_t end, const struct loader_range *avoid,
                         size_t navoid)
{
    for (size_t i = 0; i < navoid; i++)
        if (start < avoid[i].end && avoid[i].start < end)
            return true;
    return false;
}

/*
 * The highest placement ends at the end of RAM or just below some avoided range (then
 * rounded down for alignment), so only those tops need trying. Returns false if none fits.
 */
static bool place_high(const struct guest_ram *ram, uint64_t size,
                       const struct loader_range *avoid, size_t navoid, uint64_t *start)
{
    bool found = false;
    for (size_t i = 0; i <= navoid; i++) {
        uint64_t top = i < navoid ? avoid[i].start : ram_end(ram);
        if (top > ram_end(ram) || top < ram->base || top - ram->base < size)
            continue;
        uint64_t s = (top - size) & ~(LOADER_INITRD_ALIGN - 1);
        if (s < ram->base || overlaps_any(s, s + size, avoid, navoid))
            continue;
        if (!found || s > *start)
            *start = s;
        found = true;
    }
    return found;
}

int loader_load_initrd(struct guest_ram *ram, const char *path, int kept_fd,
                       const struct loader_range *avoid, size_t navoid,
                       struct loader_range *out, char *err, size_t errlen)
{
    int fd;
    uint64_t size, start = 0;
    if (open_regular(path, kept_fd, &fd, &size, err, errlen) < 0)
        return -1;
    int rc;
    if (size > ram->size)
        rc = fail(err, errlen, "%s: initrd (0x%llx bytes) is larger than RAM (0x%llx bytes)",
                  path, (unsigned long long)size, (unsigned long long)ram->size);
    else if (!place_high(ram, size, avoid, navoid, &start))
        rc = fail(err, errlen, "%s: no room in RAM for the initrd (0x%llx bytes) beside the "
                  "kernel and device tree (use more --memory)", path, (unsigned long long)size);
    else
        rc = read_exact(fd, path, guest_ram_ptr(ram, start, size), (size_t)size, err, errlen);
    release_file(fd, kept_fd);
    if (rc == 0)
        *out = (struct loader_range){ .start = start, .end = start + size };
    return rc;
}

/* ---------------------------------------------------------------- firmware */

int loader_load_firmware(struct guest_ram *ram, const char *path, int kept_fd,
                         struct loaded_kernel *out, char *err, size_t errlen)
{
    int fd;
    uint64_t size;
    struct file_map f;
    if (open_regular(path, kept_fd, &fd, &size, err, errlen) < 0)
        return -1;
    int mapped = map_file(fd, path, size, &f, err, errlen);
    release_file(fd, kept_fd);
    if (mapped < 0)
        return -1;
    int rc = 0;
    if (is_elf(&f)) {
        rc = load_elf(ram, &f, path, out, err, errlen);
    } else {
        uint8_t *dst = guest_ram_ptr(ram, ram->base, f.size);
        if (!dst) {
            rc = fail(err, errlen, "%s: firmware (0x%zx bytes) is larger than RAM "
                      "(0x%llx bytes)", path, f.size, (unsigned long long)ram->size);
        } else {
            memcpy(dst, f.data, f.size);
            *out = (struct loaded_kernel){
                .entry = ram->base, .start = ram->base, .end = ram->base + f.size,
            };
        }
    }
    unmap_file(&f);
    return rc;
}

/* ------------------------------------------------------------------ sizes */

int parse_size(const char *s, uint64_t *out)
{
    uint64_t value = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10)
            return -1;
        value = value * 10 + digit;
    }
    unsigned shift;
    switch (*p) {
    case '\0': shift = 20; break;  /* QEMU's -m counts bare numbers in MiB */
    case 'b': case 'B': shift = 0; break;
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: return -1;
    }
    if (*p && p[1])
        return -1;
    if (value > (UINT64_MAX >> shift))
        return -1;
    *out = value << shift;
    return 0;
}
