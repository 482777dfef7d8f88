/*
 * The physical address space of a VM: guest RAM plus MMIO regions. Device callbacks run
 * under the bus lock (one lock for all devices), so a device needs no lock of its own
 * unless a host thread of its own (an input reader, an I/O worker) touches its state;
 * such a thread takes bus->lock too.
 */
#ifndef RACKVM_BUS_H
#define RACKVM_BUS_H

#include <pthread.h>

#include "common.h"
#include "memory/guest_ram.h"

/* size is 1, 2, 4 or 8; offset is relative to the region base. */
struct mmio_ops {
    uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
    void (*write)(void *dev, uint64_t offset, uint64_t value, unsigned size);
};

struct mmio_region {
    const char *name;
    uint64_t base, size;
    const struct mmio_ops *ops;
    void *dev;
};

#define BUS_MAX_REGIONS 32

struct bus {
    struct guest_ram ram;
    struct mmio_region regions[BUS_MAX_REGIONS];
    unsigned nregions;
    pthread_mutex_t lock;

    /* Device threads while the VM is paused (bus_pause), under lock. */
    bool paused;
    unsigned requests_in_flight;  /* taken from a guest queue, not yet completed */
    pthread_cond_t resumed, drained;
};

void bus_init(struct bus *bus);
void bus_destroy(struct bus *bus);
/* Returns 0, or -1 when the table is full or the range overlaps another region. */
int bus_add_mmio(struct bus *bus, const char *name, uint64_t base, uint64_t size,
                 const struct mmio_ops *ops, void *dev);
/* false: nothing is mapped there (the hart raises an access fault). */
bool bus_mmio_read(struct bus *bus, uint64_t pa, unsigned size, uint64_t *value);
bool bus_mmio_write(struct bus *bus, uint64_t pa, unsigned size, uint64_t value);

/*
 * Pausing the device threads. A device thread (I/O worker, network back end, timer)
 * calls bus_wait_resumed after taking the lock and before it touches guest memory or
 * device state; a device that takes requests off a guest queue to run them later counts
 * them with bus_request_taken / bus_request_done (lock held for all three).
 * bus_pause (without the lock) returns once every counted request is complete, and
 * from then on bus_wait_resumed blocks until bus_resume. The vCPUs are the board's
 * business: bus_pause is for when they are held already, so no new request comes.
 */
void bus_wait_resumed(struct bus *bus);
void bus_request_taken(struct bus *bus);
void bus_request_done(struct bus *bus);
void bus_pause(struct bus *bus);
void bus_resume(struct bus *bus);

#endif
