/* Loader tests: crafted Images, gzip Images, ELFs and firmware, every refusal, real files. */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "machine/loader.h"
#include "machine/virt.h"
#include "unit.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (64 * MiB)
#define KERNEL_ADDR (VIRT_DRAM_BASE + 2 * MiB)

static char tmpdir[64];
static char err[256];

/* RAM is an anonymous mapping filled with 0xaa, so zeroed bss is visible. */
static struct guest_ram new_ram(uint64_t size)
{
    struct guest_ram ram = { .base = VIRT_DRAM_BASE, .size = size };
    ram.host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram.host == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    memset(ram.host, 0xaa, size);
    return ram;
}

static void free_ram(struct guest_ram *ram)
{
    munmap(ram->host, ram->size);
}

static uint8_t *at(struct guest_ram *ram, uint64_t gpa)
{
    return ram->host + (gpa - ram->base);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t value)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != value)
            return false;
    return true;
}

/* Writes a file in the test directory; path receives its name. */
static void write_file(char *path, size_t pathlen, const char *name, const void *data,
                       size_t len)
{
    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static void *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    void *p = malloc(*len);
    if (fread(p, 1, *len, f) != *len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

/* A failed call returns -1 and one line naming the file and containing `what`. */
#define CHECK_FAILS(call, path, what)                                                   \
    do {                                                                                \
        err[0] = 0;                                                                     \
        int rc_ = (call);                                                               \
        CHECK(rc_ == -1);                                                               \
        CHECK(strstr(err, (path)) == err);                                              \
        CHECK(strchr(err, '\n') == NULL);                                               \
        if (!strstr(err, (what))) {                                                     \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
                    err, (what));                                                       \
            unit_failures++;                                                            \
        }                                                                               \
    } while (0)

/* ---------------------------------------------------------------- builders */

/* A RISC-V Image: 64-byte header as in boot-image-header.rst, then a byte pattern. */
static uint8_t *make_image(size_t file_len, uint64_t image_size)
{
    uint8_t *p = malloc(file_len);
    for (size_t i = 0; i < file_len; i++)
        p[i] = (uint8_t)(i * 7 + 3);
    uint64_t text_offset = 0x200000, flags = 0;
    uint32_t version = 2, zero = 0;
    memcpy(p + 0x08, &text_offset, 8);
    memcpy(p + 0x10, &image_size, 8);
    memcpy(p + 0x18, &flags, 8);
    memcpy(p + 0x20, &version, 4);
    memset(p + 0x24, 0, 12);
    memcpy(p + 0x30, "RISCV\0\0\0", 8);
    memcpy(p + 0x38, "RSC\x05", 4);
    memcpy(p + 0x3c, &zero, 4);
    return p;
}

static uint8_t *gzip(const uint8_t *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(2);
    size_t cap = deflateBound(&zs, len);
    uint8_t *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        exit(2);
    *out_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

struct seg_spec {
    uint64_t paddr, filesz, memsz;
};

struct elf_blob {
    uint8_t *data;
    size_t len;
    Elf64_Ehdr *eh;
    Elf64_Phdr *ph;
    Elf64_Shdr *sh;  /* NULL without symbols */
};

/*
 * An ELF64 RISC-V executable with the given PT_LOAD segments (contents: byte i of segment
 * s is s*16 + i), entry at the first segment, and optionally a .symtab with tohost,
 * fromhost and one other symbol.
 */
static struct elf_blob make_elf(const struct seg_spec *segs, size_t n, bool symbols,
                                uint64_t tohost, uint64_t fromhost)
{
    static const char strtab[] = "\0tohost\0fromhost\0other";
    static const char shstrtab[] = "\0.symtab\0.strtab\0.shstrtab";
    size_t len = sizeof(Elf64_Ehdr) + n * sizeof(Elf64_Phdr) + 4 * sizeof(Elf64_Sym) +
                 sizeof strtab + sizeof shstrtab + 4 * sizeof(Elf64_Shdr) + 64;
    for (size_t i = 0; i < n; i++)
        len += segs[i].filesz + 8;
    struct elf_blob b = { .data = calloc(1, len) };
    b.eh = (Elf64_Ehdr *)b.data;
    memcpy(b.eh->e_ident, ELFMAG, SELFMAG);
    b.eh->e_ident[EI_CLASS] = ELFCLASS64;
    b.eh->e_ident[EI_DATA] = ELFDATA2LSB;
    b.eh->e_ident[EI_VERSION] = EV_CURRENT;
    b.eh->e_type = ET_EXEC;
    b.eh->e_machine = EM_RISCV;
    b.eh->e_version = EV_CURRENT;
    b.eh->e_entry = segs[0].paddr;
    b.eh->e_phoff = sizeof(Elf64_Ehdr);
    b.eh->e_ehsize = sizeof(Elf64_Ehdr);
    b.eh->e_phentsize = sizeof(Elf64_Phdr);
    b.eh->e_phnum = (Elf64_Half)n;
    b.ph = (Elf64_Phdr *)(b.data + b.eh->e_phoff);
    size_t off = sizeof(Elf64_Ehdr) + n * sizeof(Elf64_Phdr);
    for (size_t i = 0; i < n; i++) {
        off = (off + 7) & ~(size_t)7;
        b.ph[i] = (Elf64_Phdr){
            .p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = off,
            .p_vaddr = segs[i].paddr, .p_paddr = segs[i].paddr,
            .p_filesz = segs[i].filesz, .p_memsz = segs[i].memsz, .p_align = 8,
        };
        for (size_t j = 0; j < segs[i].filesz; j++)
            b.data[off + j] = (uint8_t)(i * 16 + j);
        off += segs[i].filesz;
    }
    if (symbols) {
        off = (off + 7) & ~(size_t)7;
        size_t symoff = off;
        Elf64_Sym *sym = (Elf64_Sym *)(b.data + symoff);
        sym[1] = (Elf64_Sym){ .st_name = 1, .st_shndx = 1, .st_value = tohost, .st_size = 8 };
        sym[2] = (Elf64_Sym){ .st_name = 8, .st_shndx = 1, .st_value = fromhost, .st_size = 8 };
        sym[3] = (Elf64_Sym){ .st_name = 17, .st_shndx = 1, .st_value = 0x1234 };
        off += 4 * sizeof(Elf64_Sym);
        size_t stroff = off;
        memcpy(b.data + stroff, strtab, sizeof strtab);
        off += sizeof strtab;
        size_t shstroff = off;
        memcpy(b.data + shstroff, shstrtab, sizeof shstrtab);
        off = (off + sizeof shstrtab + 7) & ~(size_t)7;
        b.eh->e_shoff = off;
        b.eh->e_shentsize = sizeof(Elf64_Shdr);
        b.eh->e_shnum = 4;
        b.eh->e_shstrndx = 3;
        b.sh = (Elf64_Shdr *)(b.data + off);
        b.sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_SYMTAB, .sh_offset = symoff,
                                .sh_size = 4 * sizeof(Elf64_Sym), .sh_link = 2,
                                .sh_info = 1, .sh_entsize = sizeof(Elf64_Sym) };
        b.sh[2] = (Elf64_Shdr){ .sh_name = 9, .sh_type = SHT_STRTAB, .sh_offset = stroff,
                                .sh_size = sizeof strtab };
        b.sh[3] = (Elf64_Shdr){ .sh_name = 17, .sh_type = SHT_STRTAB, .sh_offset = shstroff,
                                .sh_size = sizeof shstrtab };
        off += 4 * sizeof(Elf64_Shdr);
    }
    b.len = off;
    return b;
}

/* ------------------------------------------------------------------ tests */

static void test_parse_size(void)
{
    static const struct {
        const char *s;
        uint64_t want;
    } good[] = {
        { "512", 512 * MiB }, { "512M", 512 * MiB }, { "512m", 512 * MiB },
        { "2G", 2ULL << 30 }, { "2g", 2ULL << 30 }, { "1T", 1ULL << 40 },
        { "4096K", 4 * MiB }, { "4096k", 4 * MiB }, { "100B", 100 }, { "0", 0 },
        { "16777215T", 16777215ULL << 40 }, { "18446744073709551615B", UINT64_MAX },
    };
    for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
        uint64_t v = 1;
        CHECK(parse_size(good[i].s, &v) == 0);
        CHECK_EQ_U64(v, good[i].want);
    }
    static const char *const bad[] = {
        "", "12Q", "-1", "+1", " 1", "1 ", "1.5G", "1MB", "1GiB", "G", "0x10",
        "18446744073709551616B", "16777216T", "17592186044416", "99999999999999999999999",
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        uint64_t v = 42;
        if (parse_size(bad[i], &v) != -1)
            fprintf(stderr, "parse_size accepted \"%s\"\n", bad[i]);
        CHECK(parse_size(bad[i], &v) == -1);
        CHECK_EQ_U64(v, 42);
    }
}

/* A file the run keeps open is read from its descriptor, twice (a reboot), and left open:
 * the path may be gone or unreadable by then. */
static void test_kept_file(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    char path[128];
    struct loaded_kernel k = { 0 };
    uint8_t *img = make_image(4096, 0x10000);
    write_file(path, sizeof path, "Image-kept", img, 4096);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(unlink(path) == 0);
    for (int boot = 0; boot < 2; boot++) {
        memset(at(&ram, KERNEL_ADDR), 0, 4096);
        CHECK(loader_load_kernel(&ram, path, fd, KERNEL_ADDR, &k, err, sizeof err) == 0);
        CHECK(memcmp(at(&ram, KERNEL_ADDR), img, 4096) == 0);
    }
    CHECK(fcntl(fd, F_GETFD) >= 0);  /* still open */
    close(fd);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "cannot open");
    free(img);
    munmap(ram.host, ram.size);
}

static void test_image(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    char path[128];
    struct loaded_kernel k = { 0 };
    uint8_t *img = make_image(4096, 0x10000);
    write_file(path, sizeof path, "Image", img, 4096);

    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.entry, KERNEL_ADDR);
    CHECK_EQ_U64(k.start, KERNEL_ADDR);
    CHECK_EQ_U64(k.end, KERNEL_ADDR + 0x10000);
    CHECK(!k.is_elf);
    CHECK_EQ_U64(k.tohost, 0);
    CHECK(memcmp(at(&ram, KERNEL_ADDR), img, 4096) == 0);
    CHECK(all_bytes(at(&ram, KERNEL_ADDR + 4096), 0x10000 - 4096, 0));
    CHECK(all_bytes(at(&ram, KERNEL_ADDR + 0x10000), 16, 0xaa));
    CHECK(all_bytes(at(&ram, KERNEL_ADDR - 16), 16, 0xaa));

    /* image_size, not the file size, decides whether it fits */
    uint64_t big = RAM_SIZE - 2 * MiB + 4096;
    memcpy(img + 0x10, &big, 8);
    write_file(path, sizeof path, "Image-big", img, 4096);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "RAM ends at 0x84000000");
    big -= 4096;
    memcpy(img + 0x10, &big, 8);
    write_file(path, sizeof path, "Image-exact", img, 4096);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.end, VIRT_DRAM_BASE + RAM_SIZE);

    /* a huge image_size must not wrap around */
    uint64_t huge = UINT64_MAX - 0x1000;
    memcpy(img + 0x10, &huge, 8);
    write_file(path, sizeof path, "Image-huge", img, 4096);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "kernel needs");

    uint64_t small = 100;
    memcpy(img + 0x10, &small, 8);
    write_file(path, sizeof path, "Image-small", img, 4096);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "smaller than the image");

    free(img);
    img = make_image(4096, 0x10000);
    img[0x18] = 1;
    write_file(path, sizeof path, "Image-be", img, 4096);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "big-endian");

    img[0x18] = 0;
    write_file(path, sizeof path, "Image", img, 4096);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR + 4096, &k, err, sizeof err),
                path, "not 2 MiB aligned");
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, VIRT_DRAM_BASE + RAM_SIZE, &k, err, sizeof err),
                path, "outside RAM");
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, 0, &k, err, sizeof err), path, "outside RAM");

    /* a tiny err buffer truncates the message but stays a string */
    char tiny[8];
    CHECK(loader_load_kernel(&ram, path, -1, 0, &k, tiny, sizeof tiny) == -1);
    CHECK(strlen(tiny) == 7);
    CHECK(loader_load_kernel(&ram, path, -1, 0, &k, NULL, 0) == -1);

    free(img);
    free_ram(&ram);
}

static void test_bad_files(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    char path[128];
    struct loaded_kernel k = { 0 };
    struct loader_range r;

    snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "cannot open: No such file or directory");
    CHECK_FAILS(loader_load_initrd(&ram, path, -1, NULL, 0, &r, err, sizeof err), path,
                "cannot open");
    CHECK_FAILS(loader_load_firmware(&ram, path, -1, &k, err, sizeof err), path, "cannot open");
    CHECK_FAILS(loader_load_kernel(&ram, tmpdir, -1, KERNEL_ADDR, &k, err, sizeof err), tmpdir,
                "is a directory");
    CHECK_FAILS(loader_load_kernel(&ram, "/dev/null", -1, KERNEL_ADDR, &k, err, sizeof err),
                "/dev/null", "not a regular file");
    /* a FIFO without a writer is refused at once; the alarm fails the test if it waits */
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    CHECK(mkfifo(path, 0600) == 0);
    alarm(60);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "not a regular file");
    CHECK_FAILS(loader_load_initrd(&ram, path, -1, NULL, 0, &r, err, sizeof err), path,
                "not a regular file");
    alarm(0);
    unlink(path);

    write_file(path, sizeof path, "empty", "", 0);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "is empty");
    CHECK_FAILS(loader_load_initrd(&ram, path, -1, NULL, 0, &r, err, sizeof err), path, "is empty");
    CHECK_FAILS(loader_load_firmware(&ram, path, -1, &k, err, sizeof err), path, "is empty");

    if (geteuid() != 0) {  /* root reads anything */
        write_file(path, sizeof path, "unreadable", "x", 1);
        chmod(path, 0);
        CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                    "Permission denied");
    }

    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 31 + 1);
    write_file(path, sizeof path, "junk", junk, sizeof junk);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "not a RISC-V Linux Image");
    write_file(path, sizeof path, "short", junk, 10);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "too short");

    static const struct {
        const char *name, *magic;
        size_t len, offset;
        const char *what;
    } kinds[] = {
        { "xz", "\xfd" "7zXZ\0", 6, 0, "xz-compressed" },
        { "zstd", "\x28\xb5\x2f\xfd", 4, 0, "zstd-compressed" },
        { "bz2", "BZh9", 4, 0, "bzip2-compressed" },
        { "lz4", "\x04\x22\x4d\x18", 4, 0, "lz4-compressed" },
        { "arm64", "ARM\x64", 4, 0x38, "arm64" },
        { "old", "RISCV\0\0\0", 8, 0x30, "deprecated" },
    };
    for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
        uint8_t buf[128];
        memcpy(buf, junk, sizeof buf);
        memcpy(buf + kinds[i].offset, kinds[i].magic, kinds[i].len);
        write_file(path, sizeof path, kinds[i].name, buf, sizeof buf);
        CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                    kinds[i].what);
    }
    /* nothing was written to RAM by any refusal above */
    CHECK(all_bytes(ram.host, RAM_SIZE, 0xaa));
    free_ram(&ram);
}

static void test_gzip_image(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    char path[128];
    struct loaded_kernel k = { 0 };
    size_t file_len = 300000, gz_len;
    uint8_t *img = make_image(file_len, 0x100000);
    uint8_t *gz = gzip(img, file_len, &gz_len);
    write_file(path, sizeof path, "Image.gz", gz, gz_len);

    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.entry, KERNEL_ADDR);
    CHECK_EQ_U64(k.end, KERNEL_ADDR + 0x100000);
    CHECK(!k.is_elf);
    CHECK(memcmp(at(&ram, KERNEL_ADDR), img, file_len) == 0);
    CHECK(all_bytes(at(&ram, KERNEL_ADDR + file_len), 0x100000 - file_len, 0));

    /* two members (cat a.gz b.gz) inflate to the concatenation; zero padding is fine */
    size_t gz1_len, gz2_len;
    uint8_t *gz1 = gzip(img, 1000, &gz1_len), *gz2 = gzip(img + 1000, file_len - 1000, &gz2_len);
    uint8_t *cat = calloc(1, gz1_len + gz2_len + 512);
    memcpy(cat, gz1, gz1_len);
    memcpy(cat + gz1_len, gz2, gz2_len);
    memset(ram.host, 0xaa, RAM_SIZE);
    write_file(path, sizeof path, "two.gz", cat, gz1_len + gz2_len + 512);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK(memcmp(at(&ram, KERNEL_ADDR), img, file_len) == 0);
    cat[gz1_len + gz2_len + 100] = 'x';
    write_file(path, sizeof path, "trailing.gz", cat, gz1_len + gz2_len + 512);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "trailing data");

    write_file(path, sizeof path, "truncated.gz", gz, gz_len / 2);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "truncated gzip");
    write_file(path, sizeof path, "notrailer.gz", gz, gz_len - 4);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "truncated gzip");

    gz[gz_len - 6] ^= 0xff;  /* in the CRC-32 */
    write_file(path, sizeof path, "badcrc.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "corrupt gzip");
    gz[gz_len - 6] ^= 0xff;
    gz[3] = 0xe0;  /* reserved header flags */
    write_file(path, sizeof path, "badhdr.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "corrupt gzip");
    free(gz);

    /* the inflated data must be an Image */
    memcpy(img + 0x38, "XXXX", 4);
    gz = gzip(img, file_len, &gz_len);
    write_file(path, sizeof path, "notimage.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "gzip data is not a RISC-V Linux Image");
    free(gz);
    gz = gzip((const uint8_t *)"hi", 2, &gz_len);
    write_file(path, sizeof path, "tiny.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "gzip data is not a RISC-V Linux Image");
    free(gz);
    free(img);

    /* inflating past the end of RAM stops at the end of RAM */
    size_t bomb_len = RAM_SIZE;
    img = make_image(bomb_len, bomb_len);
    memset(img + 64, 0, bomb_len - 64);
    gz = gzip(img, bomb_len, &gz_len);
    write_file(path, sizeof path, "bomb.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "inflates to more than the 0x3e00000 bytes");
    free(gz);
    free(img);

    /* an inflated Image whose image_size does not fit */
    img = make_image(4096, RAM_SIZE);
    gz = gzip(img, 4096, &gz_len);
    write_file(path, sizeof path, "big.gz", gz, gz_len);
    CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                "RAM ends at");
    free(gz);
    free(img);

    free(gz1);
    free(gz2);
    free(cat);
    free_ram(&ram);
}

/*
 * Applies ELF corruption number `which` to a good file and returns a piece of the message
 * it must be refused with (NULL past the last); *cut, if nonzero, truncates the file.
 */
static const char *corrupt_elf(struct elf_blob *e, int which, size_t *cut)
{
    const uint64_t ram_end = VIRT_DRAM_BASE + RAM_SIZE;
    *cut = 0;
    switch (which) {
    case 0: e->eh->e_ident[EI_CLASS] = ELFCLASS32; return "32-bit ELF";
    case 1: e->eh->e_ident[EI_CLASS] = 7; return "unknown ELF class";
    case 2: e->eh->e_ident[EI_DATA] = ELFDATA2MSB; return "big-endian";
    case 3: e->eh->e_machine = EM_X86_64; return "machine 62, not RISC-V";
    case 4: e->eh->e_type = ET_REL; return "not an executable";
    case 5: e->eh->e_phnum = 0; return "no program headers";
    case 6: e->eh->e_phentsize = 32; return "program header size";
    case 7: e->eh->e_phoff = e->len - 8; return "program headers lie beyond";
    case 8: e->eh->e_phoff = UINT64_MAX - 8; return "program headers lie beyond";
    case 9: *cut = 40; return "truncated ELF header";
    case 10: *cut = 8; return "truncated ELF header";
    case 11: e->ph[0].p_type = e->ph[1].p_type = PT_NOTE; return "no loadable segments";
    case 12: e->ph[0].p_filesz = 0x300; return "file size 0x300 above";
    case 13: e->ph[1].p_offset = e->len - 0x10; return "segment 1 needs file bytes";
    case 14: e->ph[1].p_offset = UINT64_MAX - 0x10; return "segment 1 needs file bytes";
    case 15: e->ph[1].p_paddr = 0x10000000; return "segment 1 at 0x10000000";
    case 16: e->ph[1].p_paddr = ram_end - 0x40; return "segment 1 at 0x83ffffc0";
    case 17:
        e->ph[0].p_memsz = UINT64_MAX - 0xff;
        return "segment 0 at 0x80000000 (size 0xffffffffffffff00)";
    case 18: e->ph[1].p_paddr = VIRT_DRAM_BASE + 0x1ff; return "segments 0 and 1 overlap";
    case 19: e->ph[1].p_paddr = VIRT_DRAM_BASE - 0x7f; return "segment 1 at 0x7fffff81";
    case 20: e->ph[1].p_paddr = VIRT_DRAM_BASE + 0x180; return "segments 0 and 1 overlap";
    case 21: e->ph[0].p_paddr = VIRT_DRAM_BASE + 0x1000; return "segments 0 and 1 overlap";
    case 22: e->eh->e_entry = VIRT_DRAM_BASE + 0x200; return "entry point 0x80000200";
    case 23: e->eh->e_shentsize = 40; return "section header size";
    case 24: e->eh->e_shnum = 200; return "section headers lie beyond";
    case 25: e->sh[1].sh_link = 9; return "symbol table 1 has no string table";
    case 26: e->sh[1].sh_link = 1; return "symbol table 1 has no string table";
    case 27: e->sh[1].sh_entsize = 16; return "symbol size";
    case 28: e->sh[1].sh_size = 1ULL << 40; return "symbol table lies beyond";
    case 29: e->sh[2].sh_offset = e->len; return "symbol table lies beyond";
    /* two tables would let a small file make the symbol scan quadratic */
    case 30: e->sh[3].sh_type = SHT_SYMTAB; return "more than one symbol table (sections 1 and 3)";
    default: return NULL;
    }
}

static void test_elf(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    char path[128];
    struct loaded_kernel k = { 0 };
    const struct seg_spec segs[] = {
        { VIRT_DRAM_BASE, 0x100, 0x200 },
        { VIRT_DRAM_BASE + 0x1000, 0x80, 0x80 },
    };
    struct elf_blob b = make_elf(segs, 2, true, VIRT_DRAM_BASE + 0x1000,
                                 VIRT_DRAM_BASE + 0x1040);
    b.eh->e_entry = VIRT_DRAM_BASE + 0x10;
    b.ph[0].p_vaddr = 0xffffffff80000000ULL;  /* p_paddr is what counts */
    write_file(path, sizeof path, "prog.elf", b.data, b.len);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK(k.is_elf);
    CHECK_EQ_U64(k.entry, VIRT_DRAM_BASE + 0x10);
    CHECK_EQ_U64(k.start, VIRT_DRAM_BASE);
    CHECK_EQ_U64(k.end, VIRT_DRAM_BASE + 0x1080);
    CHECK_EQ_U64(k.tohost, VIRT_DRAM_BASE + 0x1000);
    CHECK_EQ_U64(k.fromhost, VIRT_DRAM_BASE + 0x1040);
    CHECK(memcmp(at(&ram, VIRT_DRAM_BASE), b.data + b.ph[0].p_offset, 0x100) == 0);
    CHECK(all_bytes(at(&ram, VIRT_DRAM_BASE + 0x100), 0x100, 0));
    CHECK(all_bytes(at(&ram, VIRT_DRAM_BASE + 0x200), 0xe00, 0xaa));
    CHECK(memcmp(at(&ram, VIRT_DRAM_BASE + 0x1000), b.data + b.ph[1].p_offset, 0x80) == 0);
    CHECK(all_bytes(at(&ram, KERNEL_ADDR), 64, 0xaa));  /* load_addr is for Images only */

    /* firmware takes ELFs the same way */
    memset(ram.host, 0xaa, RAM_SIZE);
    CHECK(loader_load_firmware(&ram, path, -1, &k, err, sizeof err) == 0);
    CHECK(k.is_elf);
    CHECK_EQ_U64(k.end, VIRT_DRAM_BASE + 0x1080);
    CHECK(memcmp(at(&ram, VIRT_DRAM_BASE), b.data + b.ph[0].p_offset, 0x100) == 0);

    /* ET_DYN is loaded at its physical addresses too; no symbols means 0 */
    struct elf_blob plain = make_elf(segs, 2, false, 0, 0);
    plain.eh->e_type = ET_DYN;
    write_file(path, sizeof path, "plain.elf", plain.data, plain.len);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.tohost, 0);
    CHECK_EQ_U64(k.fromhost, 0);
    free(plain.data);

    for (int i = 0;; i++) {
        struct elf_blob e = make_elf(segs, 2, true, VIRT_DRAM_BASE + 0x1000, 0);
        size_t cut;
        const char *what = corrupt_elf(&e, i, &cut);
        if (!what) {
            free(e.data);
            break;
        }
        write_file(path, sizeof path, "bad.elf", e.data, cut ? cut : e.len);
        memset(ram.host, 0xaa, RAM_SIZE);
        CHECK_FAILS(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err), path,
                    what);
        CHECK(all_bytes(ram.host, 0x2000, 0xaa));  /* refused before writing RAM */
        CHECK_FAILS(loader_load_firmware(&ram, path, -1, &k, err, sizeof err), path,
                    what);
        free(e.data);
    }

    /* a symbol name running off the end of its string table is ignored, not read */
    struct elf_blob e = make_elf(segs, 2, true, VIRT_DRAM_BASE + 0x1000, 0);
    e.sh[2].sh_size = 4;  /* "\0toh": tohost is no longer NUL-terminated */
    write_file(path, sizeof path, "shortstr.elf", e.data, e.len);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.tohost, 0);
    free(e.data);

    /* names match whole: "tohostfromhost" is not tohost, and fromhost is still found */
    e = make_elf(segs, 2, true, VIRT_DRAM_BASE + 0x1000, VIRT_DRAM_BASE + 0x1040);
    e.data[e.sh[2].sh_offset + 7] = 'f';
    write_file(path, sizeof path, "longname.elf", e.data, e.len);
    CHECK(loader_load_kernel(&ram, path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.tohost, 0);
    CHECK_EQ_U64(k.fromhost, VIRT_DRAM_BASE + 0x1040);
    free(e.data);

    free(b.data);
    free_ram(&ram);
}

/* A riscv-tests-style program from the real toolchain, checked against nm. */
static void test_toolchain_elf(void)
{
    if (system("command -v riscv64-unknown-elf-gcc >/dev/null") != 0) {
        fprintf(stderr, "skip: riscv64-unknown-elf-gcc not installed\n");
        return;
    }
    char src[128], lds[128], elf[128], cmd[512];
    static const char program[] =
        ".section .text.init\n.globl _start\n_start:\n  li a0, 1\n  la t0, tohost\n"
        "  sd a0, 0(t0)\n1: j 1b\n.section .tohost,\"aw\",@progbits\n.align 6\n"
        ".globl tohost\ntohost: .dword 0\n.align 6\n.globl fromhost\nfromhost: .dword 0\n"
        ".bss\n.space 4096\n";
    /* the layout of riscv-tests' env/p/link.ld */
    static const char script[] =
        "OUTPUT_ARCH(\"riscv\")\nENTRY(_start)\nSECTIONS {\n  . = 0x80000000;\n"
        "  .text.init : { *(.text.init) }\n  . = ALIGN(0x1000);\n"
        "  .tohost : { *(.tohost) }\n  . = ALIGN(0x1000);\n  .text : { *(.text) }\n"
        "  . = ALIGN(0x1000);\n  .data : { *(.data) }\n  .bss : { *(.bss) }\n  _end = .;\n}\n";
    write_file(src, sizeof src, "prog.S", program, strlen(program));
    write_file(lds, sizeof lds, "link.ld", script, strlen(script));
    snprintf(elf, sizeof elf, "%s/prog", tmpdir);
    snprintf(cmd, sizeof cmd, "riscv64-unknown-elf-gcc -march=rv64gc -mabi=lp64d -nostdlib "
             "-nostartfiles -T %s -o %s %s", lds, elf, src);
    CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "riscv64-unknown-elf-nm %s", elf);
    FILE *nm = popen(cmd, "r");
    uint64_t want_tohost = 0, want_fromhost = 0, want_start = 0, value;
    char type, name[64];
    while (nm && fscanf(nm, "%" SCNx64 " %c %63s", &value, &type, name) == 3) {
        if (!strcmp(name, "tohost"))
            want_tohost = value;
        else if (!strcmp(name, "fromhost"))
            want_fromhost = value;
        else if (!strcmp(name, "_start"))
            want_start = value;
    }
    if (nm)
        pclose(nm);
    CHECK(want_tohost && want_fromhost == want_tohost + 64);

    struct guest_ram ram = new_ram(RAM_SIZE);
    struct loaded_kernel k = { 0 };
    CHECK(loader_load_kernel(&ram, elf, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
    CHECK(k.is_elf);
    CHECK_EQ_U64(k.entry, 0x80000000);
    CHECK_EQ_U64(k.entry, want_start);
    CHECK_EQ_U64(k.tohost, want_tohost);
    CHECK_EQ_U64(k.fromhost, want_fromhost);
    CHECK(k.end >= want_fromhost + 8 + 4096);
    uint32_t insn;
    memcpy(&insn, at(&ram, 0x80000000), 4);
    CHECK((insn & 0xffff) == 0x4505);  /* c.li a0, 1 */
    free_ram(&ram);
}

static void test_initrd(void)
{
    struct guest_ram ram = new_ram(RAM_SIZE);
    const uint64_t end = VIRT_DRAM_BASE + RAM_SIZE;
    char path[128];
    struct loader_range r;
    size_t len = 10000;
    uint8_t *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    write_file(path, sizeof path, "initrd", data, len);

    CHECK(loader_load_initrd(&ram, path, -1, NULL, 0, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, (end - len) & ~0xfffULL);
    CHECK_EQ_U64(r.end, r.start + len);
    CHECK(memcmp(at(&ram, r.start), data, len) == 0);

    /* below the DTB at the top of RAM, above the kernel */
    const struct loader_range kernel_dtb[] = {
        { KERNEL_ADDR, KERNEL_ADDR + 4 * MiB }, { end - 2 * MiB, end },
    };
    CHECK(loader_load_initrd(&ram, path, -1, kernel_dtb, 2, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, (end - 2 * MiB - len) & ~0xfffULL);
    CHECK(memcmp(at(&ram, r.start), data, len) == 0);

    /* the highest gap is too small: the next one down is used */
    const struct loader_range gaps[] = {
        { end - MiB, end }, { end - 3 * MiB, end - MiB - len + 1 },
    };
    CHECK(loader_load_initrd(&ram, path, -1, gaps, 2, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, (end - 3 * MiB - len) & ~0xfffULL);

    /* 10000 bytes ending at or below a page boundary take from 3 pages below it: fits */
    const struct loader_range exact[] = {
        { VIRT_DRAM_BASE, end - 4 * 4096 }, { end - 4096, end },
    };
    CHECK(loader_load_initrd(&ram, path, -1, exact, 2, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, end - 4 * 4096);
    const struct loader_range too_tight[] = {
        { VIRT_DRAM_BASE, end - 4 * 4096 + 1 }, { end - 4096, end },
    };
    CHECK_FAILS(loader_load_initrd(&ram, path, -1, too_tight, 2, &r, err, sizeof err), path,
                "no room in RAM");
    /* ranges outside RAM do not matter */
    const struct loader_range outside[] = { { 0, 0x1000 }, { end + 4096, UINT64_MAX } };
    CHECK(loader_load_initrd(&ram, path, -1, outside, 2, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, (end - len) & ~0xfffULL);

    free(data);
    struct guest_ram small = new_ram(8192);
    data = calloc(1, 8193);
    write_file(path, sizeof path, "initrd-big", data, 8193);
    CHECK_FAILS(loader_load_initrd(&small, path, -1, NULL, 0, &r, err, sizeof err), path,
                "larger than RAM");
    /* a huge sparse file is refused from its size, never read into memory */
    write_file(path, sizeof path, "initrd-sparse", "", 0);
    CHECK(truncate(path, 64LL << 30) == 0);
    CHECK_FAILS(loader_load_initrd(&small, path, -1, NULL, 0, &r, err, sizeof err), path,
                "initrd (0x1000000000 bytes) is larger than RAM (0x2000 bytes)");
    write_file(path, sizeof path, "initrd-fits", data, 8192);
    CHECK(loader_load_initrd(&small, path, -1, NULL, 0, &r, err, sizeof err) == 0);
    CHECK_EQ_U64(r.start, VIRT_DRAM_BASE);
    free(data);
    free_ram(&small);
    free_ram(&ram);
}

static void test_firmware_raw(void)
{
    struct guest_ram ram = new_ram(8192);
    char path[128];
    struct loaded_kernel k = { 0 };
    uint8_t fw[5000];
    for (size_t i = 0; i < sizeof fw; i++)
        fw[i] = (uint8_t)(i * 13);
    write_file(path, sizeof path, "fw.bin", fw, sizeof fw);
    CHECK(loader_load_firmware(&ram, path, -1, &k, err, sizeof err) == 0);
    CHECK_EQ_U64(k.entry, VIRT_DRAM_BASE);
    CHECK_EQ_U64(k.start, VIRT_DRAM_BASE);
    CHECK_EQ_U64(k.end, VIRT_DRAM_BASE + sizeof fw);
    CHECK(!k.is_elf);
    CHECK(memcmp(ram.host, fw, sizeof fw) == 0);
    free_ram(&ram);
    ram = new_ram(4096);
    CHECK_FAILS(loader_load_firmware(&ram, path, -1, &k, err, sizeof err), path, "larger than RAM");
    free_ram(&ram);
}

/* The files rackvm is really run with, when this machine has them. */
static void test_real_files(void)
{
    const char *dir = "/usr/lib/riscv64-linux-gnu/opensbi/generic";
    char bin[128], elf[128];
    snprintf(bin, sizeof bin, "%s/fw_dynamic.bin", dir);
    snprintf(elf, sizeof elf, "%s/fw_dynamic.elf", dir);
    struct guest_ram ram = new_ram(256 * MiB);
    struct loaded_kernel k = { 0 };
    size_t bin_len;
    uint8_t *bin_data = read_whole(bin, &bin_len);
    if (bin_data && access(elf, R_OK) == 0) {
        CHECK(loader_load_firmware(&ram, bin, -1, &k, err, sizeof err) == 0);
        CHECK_EQ_U64(k.entry, VIRT_DRAM_BASE);
        CHECK_EQ_U64(k.end, VIRT_DRAM_BASE + bin_len);
        memset(ram.host, 0xaa, 4 * MiB);
        /* the .bin is the ELF's image: loading the ELF must give the same bytes */
        CHECK(loader_load_firmware(&ram, elf, -1, &k, err, sizeof err) == 0);
        CHECK(k.is_elf);
        CHECK_EQ_U64(k.entry, VIRT_DRAM_BASE);
        CHECK_EQ_U64(k.start, VIRT_DRAM_BASE);
        CHECK(k.end >= VIRT_DRAM_BASE + bin_len && k.end < KERNEL_ADDR);
        CHECK(memcmp(ram.host, bin_data, bin_len) == 0);
        CHECK(all_bytes(at(&ram, VIRT_DRAM_BASE + bin_len), k.end - k.start - bin_len, 0));
        /* firmware is not a kernel format: raw OpenSBI is refused by --kernel */
        CHECK_FAILS(loader_load_kernel(&ram, bin, -1, KERNEL_ADDR, &k, err, sizeof err), bin,
                    "not a RISC-V Linux Image");
    } else {
        fprintf(stderr, "skip: OpenSBI firmware not installed\n");
    }
    free(bin_data);

    const char *image = "/work/shared/guest/Image";
    size_t image_len;
    uint8_t *image_data = read_whole(image, &image_len);
    if (image_data) {
        uint64_t image_size;
        memcpy(&image_size, image_data + 0x10, 8);
        CHECK(loader_load_kernel(&ram, image, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
        CHECK_EQ_U64(k.end, KERNEL_ADDR + image_size);
        CHECK(memcmp(at(&ram, KERNEL_ADDR), image_data, image_len) == 0);

        char gz_path[128];
        size_t gz_len;
        uint8_t *gz = gzip(image_data, image_len, &gz_len);
        write_file(gz_path, sizeof gz_path, "Image.gz", gz, gz_len);
        memset(ram.host, 0xaa, ram.size);
        CHECK(loader_load_kernel(&ram, gz_path, -1, KERNEL_ADDR, &k, err, sizeof err) == 0);
        CHECK_EQ_U64(k.end, KERNEL_ADDR + image_size);
        CHECK(memcmp(at(&ram, KERNEL_ADDR), image_data, image_len) == 0);
        CHECK(all_bytes(at(&ram, KERNEL_ADDR + image_len), image_size - image_len, 0));
        free(gz);

        /* 16 MiB of RAM cannot hold it */
        struct guest_ram small = new_ram(16 * MiB);
        CHECK_FAILS(loader_load_kernel(&small, image, -1, KERNEL_ADDR, &k, err, sizeof err),
                    image, "use more --memory");
        free_ram(&small);

        const char *initrd = "/work/shared/guest/initramfs.cpio.gz";
        struct loader_range r, kernel = { KERNEL_ADDR, KERNEL_ADDR + image_size };
        CHECK(loader_load_initrd(&ram, initrd, -1, &kernel, 1, &r, err, sizeof err) == 0);
        CHECK(r.start % 4096 == 0 && r.end <= VIRT_DRAM_BASE + ram.size);
        CHECK(at(&ram, r.start)[0] == 0x1f && at(&ram, r.start)[1] == 0x8b);
    } else {
        fprintf(stderr, "skip: %s not present\n", image);
    }
    free(image_data);
    free_ram(&ram);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rackvm-test-loader-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_parse_size();
    test_image();
    test_kept_file();
    test_bad_files();
    test_gzip_image();
    test_elf();
    test_toolchain_elf();
    test_initrd();
    test_firmware_raw();
    test_real_files();

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    UNIT_DONE();
}
