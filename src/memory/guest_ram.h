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
     * Self-modifying-code tracking for the harts' decoded-block caches. code_extent[page]
     * is the byte range of the 4 KiB page that cached blocks were decoded from, as
     * lo | hi << 16 ([lo, hi), 0 when none); code_gen[page] changes whenever a write
     * touches that range, which invalidates those blocks. Every writer of guest RAM
     * reports its writes: harts with guest_ram_note_store(), devices doing DMA with
     * guest_ram_note_write().
     */
    _Atomic uint32_t *code_extent;
    _Atomic uint32_t *code_gen;
    /* Bumped after each change of a code_gen entry: the translator's jump cache checks
     * this one word, always in the host's cache, rather than its target page's entry. */
    _Atomic uint64_t code_writes;
};

/* Maps size bytes (lazily backed by the host). Returns 0, or -1 with errno set. */
int guest_ram_init(struct guest_ram *ram, uint64_t base, uint64_t size);
/*
 * Maps size bytes of the file fd copy-on-write (MAP_PRIVATE): pages are read from the
 * file when first touched, and guest writes never reach the file. The file must stay
 * at least size bytes long while mapped. Returns 0, or -1 with errno set.
 */
int guest_ram_init_file(struct guest_ram *ram, uint64_t base, uint64_t size, int fd);
void guest_ram_destroy(struct guest_ram *ram);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM, else NULL. */
static inline void *guest_ram_ptr(const struct guest_ram *ram, uint64_t gpa, uint64_t len)
{
    uint64_t off = gpa - ram->base;
    if (gpa < ram->base || off >= ram->size || len > ram->size - off)
        return NULL;
    return ram->host + off;
}

/* The guest physical address of host address p inside the mapping. */
static inline uint64_t guest_ram_gpa(const struct guest_ram *ram, const void *p)
{
    return ram->base + (uint64_t)((const uint8_t *)p - ram->host);
}

/* Records that blocks were decoded from bytes [lo, hi) of the page; true when the page
 * held no code before (its writers' cached write translations must then learn of it). */
bool guest_ram_code_extend(struct guest_ram *ram, size_t page, unsigned lo, unsigned hi);

/* Invalidates the page's cached code if [off, off + size) overlaps it. */
void guest_ram_code_written(struct guest_ram *ram, size_t page, unsigned off, unsigned size);

/* A store of size bytes (not crossing a page) at host address p inside the mapping. */
static inline void guest_ram_note_store(struct guest_ram *ram, const void *p, unsigned size)
{
    size_t offset = (size_t)((const uint8_t *)p - ram->host);
    if (unlikely(atomic_load_explicit(&ram->code_extent[offset >> 12], memory_order_relaxed)))
        guest_ram_code_written(ram, offset >> 12, offset & 0xfff, size);
}

/* A write anywhere in the 4 KiB page holding host address p (device DMA). */
static inline void guest_ram_note_write(struct guest_ram *ram, const void *p)
{
    size_t page = (size_t)((const uint8_t *)p - ram->host) >> 12;
    if (unlikely(atomic_load_explicit(&ram->code_extent[page], memory_order_relaxed)))
        guest_ram_code_written(ram, page, 0, 0x1000);
}

#endif
