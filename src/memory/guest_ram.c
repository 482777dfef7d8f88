#include "memory/guest_ram.h"

#include <errno.h>
#include <sys/mman.h>

/* Sets up ram around the mapping p of size bytes, with its code-tracking arrays. */
static int setup(struct guest_ram *ram, void *p, uint64_t base, uint64_t size)
{
    if (p == MAP_FAILED)
        return -1;
    madvise(p, size, MADV_HUGEPAGE);
    size_t pages = size >> 12;
    void *code = mmap(NULL, pages * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    void *gen = mmap(NULL, pages * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (code == MAP_FAILED || gen == MAP_FAILED) {
        int saved = errno;
        munmap(p, size);
        if (code != MAP_FAILED)
            munmap(code, pages * sizeof(uint32_t));
        if (gen != MAP_FAILED)
            munmap(gen, pages * sizeof(uint32_t));
        errno = saved;
        return -1;
    }
    ram->host = p;
    ram->base = base;
    ram->size = size;
    ram->code_extent = code;
    ram->code_gen = gen;
    atomic_store(&ram->code_writes, 0);
    return 0;
}

int guest_ram_init(struct guest_ram *ram, uint64_t base, uint64_t size)
{
    /* NORESERVE: a 16 GiB guest on a small host only costs what it touches. */
    return setup(ram, mmap(NULL, size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), base, size);
}

int guest_ram_init_file(struct guest_ram *ram, uint64_t base, uint64_t size, int fd)
{
    return setup(ram, mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0),
                 base, size);
}

bool guest_ram_code_extend(struct guest_ram *ram, size_t page, unsigned lo, unsigned hi)
{
    uint32_t old = atomic_load(&ram->code_extent[page]), want;
    do {
        unsigned old_lo = old & 0xffff, old_hi = old >> 16;
        if (old && old_lo <= lo && hi <= old_hi)
            return false;
        if (old) {
            lo = lo < old_lo ? lo : old_lo;
            hi = hi > old_hi ? hi : old_hi;
        }
        want = lo | (uint32_t)hi << 16;
    } while (!atomic_compare_exchange_weak(&ram->code_extent[page], &old, want));
    return old == 0;
}

void guest_ram_code_written(struct guest_ram *ram, size_t page, unsigned off, unsigned size)
{
    uint32_t extent = atomic_load(&ram->code_extent[page]);
    unsigned lo = extent & 0xffff, hi = extent >> 16;
    if (!extent || off + size <= lo || off >= hi)
        return; /* data next to code: cached blocks stay valid */
    atomic_store(&ram->code_extent[page], 0);
    atomic_fetch_add(&ram->code_gen[page], 1);
    atomic_fetch_add(&ram->code_writes, 1); /* after the page's: see jit_emit_lookup */
}

void guest_ram_destroy(struct guest_ram *ram)
{
    if (ram->host) {
        munmap(ram->host, ram->size);
        munmap((void *)ram->code_extent, (ram->size >> 12) * sizeof(uint32_t));
        munmap((void *)ram->code_gen, (ram->size >> 12) * sizeof(uint32_t));
    }
    ram->host = NULL;
}
