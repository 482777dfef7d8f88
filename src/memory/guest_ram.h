/*
 * Guest RAM: one anonymous host mapping per VM. The only way any layer turns a guest
 * physical address into a host pointer is guest_ram_ptr(), which refuses ranges that
 * leave RAM, so a guest address can never reach host memory outside the mapping.
 */
#ifndef RACKVM_GUEST_RAM_H
#define RACKVM_GUEST_RAM_H

#include "common.h"

struct guest_ram {
    uint8_t *host;  /* start of the mapping */
    uint64_t base;  /* guest physical address of host[0] */
    uint64_t size;  /* bytes */
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

#endif
