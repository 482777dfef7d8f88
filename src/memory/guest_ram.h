/*
 * Guest RAM: one anonymous host mapping per VM. The only way any layer turns a guest
 * physical address into a host pointer is guest_ram_ptr(), which refuses ranges that
 * leave RAM, so a guest address can never reach host memory outside the mapping.
 */
#ifndef RACKVM_GUEST_RAM_H
#define RACKVM_GUEST_RAM_H

#include <stdatomic.h>

#include "common.h"

struct guest_ram {
    uint8_t *host;  /* start of the mapping */
    uint64_t base;  /* guest physical address of host[0] */
    uint64_t size;  /* bytes */
    /*
     * Self-modifying-code tracking for the harts' decoded-block caches: code[page] is
     * set while decoded instructions of that 4 KiB page may be cached, and code_gen[page]
     * changes whenever the page is written after that. Every writer of guest RAM (harts,
     * and devices doing DMA) reports writes with guest_ram_note_write().
     */
    _Atomic uint8_t *code;
    _Atomic uint32_t *code_gen;
};

/* Maps size bytes (lazily backed by the host). Returns 0, or -1 with errno set. */
int guest_ram_init(struct guest_ram *ram, uint64_t base, uint64_t size);
void guest_ram_destroy(struct guest_ram *ram);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM, else NULL. */
static inline void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    uint64_t off = gpa - ram->base;
    if (gpa < ram->base || off >= ram->size || len > ram->size - off)
        return NULL;
    return ram->host + off;
}

/* Marks a page as holding cached code and returns its current generation. */
static inline uint32_t guest_ram_code_page(struct guest_ram *ram, size_t page)
{
    atomic_store(&ram->code[page], 1);
    return atomic_load(&ram->code_gen[page]);
}

void guest_ram_code_written(struct guest_ram *ram, size_t page);

/* To be called for every write to guest RAM at host address p (inside the mapping). */
static inline void guest_ram_note_write(struct guest_ram *ram, const void *p)
{
    size_t page = (size_t)((const uint8_t *)p - ram->host) >> 12;
    if (unlikely(atomic_load_explicit(&ram->code[page], memory_order_relaxed)))
        guest_ram_code_written(ram, page);
}

#endif
