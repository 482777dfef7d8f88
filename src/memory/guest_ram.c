#include "memory/guest_ram.h"

#include <errno.h>
#include <sys/mman.h>

int guest_ram_init(struct guest_ram *ram, uint64_t base, uint64_t size)
{
    /* NORESERVE: a 16 GiB guest on a small host only costs what it touches. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    madvise(p, size, MADV_HUGEPAGE);
    ram->host = p;
    ram->base = base;
    ram->size = size;
    return 0;
}

void guest_ram_destroy(struct guest_ram *ram)
{
    if (ram->host)
        munmap(ram->host, ram->size);
    ram->host = NULL;
}
