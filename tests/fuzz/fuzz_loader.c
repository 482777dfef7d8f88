/*
 * libFuzzer target: the input is a file handed to the kernel, firmware or initrd loader
 * (raw Image, gzip, ELF with hostile headers, anything) with a small guest RAM behind it.
 * Guard mappings on both sides of RAM turn any write outside it into a crash, ASan
 * catches reads outside the file, and a hostile size may cost at most the RAM (gzip
 * output is capped there). Every load must either succeed with a result that lies in RAM
 * or fail with "<path>: <reason>"; anything else aborts.
 * Input: byte 0 picks the loader (bits 0-1: kernel, firmware, initrd, kernel) and its
 * placement (bits 2-3: the kernel's load address, or which ranges the initrd avoids);
 * the rest is the file, written to a memfd and loaded by its /proc/self/fd path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "machine/loader.h"
#include "machine/virt.h"

#define MiB (1ULL << 20)
#define RAM_SIZE (4 * MiB)
#define GUARD (1 * MiB)

static struct guest_ram ram;
static int fd = -1;
static char path[64];

static void setup(void)
{
    uint8_t *p = mmap(NULL, RAM_SIZE + 2 * GUARD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + GUARD, RAM_SIZE, PROT_READ | PROT_WRITE) < 0)
        abort();
    ram = (struct guest_ram){ .host = p + GUARD, .base = VIRT_DRAM_BASE, .size = RAM_SIZE };
    fd = memfd_create("fuzz-loader", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
}

static void write_file(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) < 0)
        abort();
    while (size) {
        ssize_t n = pwrite(fd, data, size, 0);
        if (n <= 0)
            abort();
        data += n;  /* pwrite of a memfd writes everything at once; this is for form */
        size -= (size_t)n;
    }
}

/* A refusal names the file first, on one line. */
static void check_refusal(const char *err)
{
    size_t n = strlen(path);
    if (strncmp(err, path, n) != 0 || strncmp(err + n, ": ", 2) != 0 || !err[n + 2] ||
        strchr(err, '\n'))
        abort();
}

static void check_in_ram(uint64_t start, uint64_t end)
{
    if (start >= end || !guest_ram_ptr(&ram, start, end - start))
        abort();
}

static void load_kernel(unsigned placement, bool firmware)
{
    static const uint64_t load_addrs[] = {
        VIRT_DRAM_BASE, VIRT_DRAM_BASE + 2 * MiB, VIRT_DRAM_BASE + 4096, VIRT_DRAM_BASE + RAM_SIZE,
    };
    uint64_t load = load_addrs[placement];
    char err[512] = "";
    struct loaded_kernel k;
    int rc = firmware ? loader_load_firmware(&ram, path, -1, &k, err, sizeof(err))
                      : loader_load_kernel(&ram, path, -1, load, &k, err, sizeof(err));
    if (rc < 0) {
        check_refusal(err);
        return;
    }
    check_in_ram(k.start, k.end);
    if (k.entry < k.start || k.entry >= k.end)
        abort();
    if (!k.is_elf && k.start != (firmware ? ram.base : load))
        abort();
}

static void load_initrd(unsigned placement, const uint8_t *data, size_t size)
{
    const struct loader_range all[] = {
        { VIRT_DRAM_BASE, VIRT_DRAM_BASE + 2 * MiB },
        { VIRT_DRAM_BASE + RAM_SIZE - MiB, VIRT_DRAM_BASE + RAM_SIZE },
    };
    const struct loader_range *avoid = placement & 1 ? all : all + 1;
    size_t navoid = (placement & 1) + (placement >> 1);
    char err[512] = "";
    struct loader_range r;
    if (loader_load_initrd(&ram, path, -1, avoid, navoid, &r, err, sizeof(err)) < 0) {
        check_refusal(err);
        return;
    }
    check_in_ram(r.start, r.end);
    if (r.end - r.start != size || r.start % LOADER_INITRD_ALIGN)
        abort();
    for (size_t i = 0; i < navoid; i++)
        if (r.start < avoid[i].end && avoid[i].start < r.end)
            abort();
    if (memcmp(guest_ram_ptr(&ram, r.start, size), data, size) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0)
        setup();
    if (size < 1)
        return 0;
    unsigned role = data[0] & 3, placement = (data[0] >> 2) & 3;
    data++;
    size--;
    write_file(data, size);
    switch (role) {
    case 0:
    case 3: load_kernel(placement, false); break;
    case 1: load_kernel(placement, true); break;
    case 2: load_initrd(placement, data, size); break;
    }
    return 0;
}
