#include "memory/bus.h"

void bus_init(struct bus *bus)
{
    bus->nregions = 0;
    bus->ram.host = NULL;
    bus->ram.size = 0;
    pthread_mutex_init(&bus->lock, NULL);
    bus->paused = false;
    bus->requests_in_flight = 0;
    pthread_cond_init(&bus->resumed, NULL);
    pthread_cond_init(&bus->drained, NULL);
}

void bus_destroy(struct bus *bus)
{
    guest_ram_destroy(&bus->ram);
    pthread_cond_destroy(&bus->drained);
    pthread_cond_destroy(&bus->resumed);
    pthread_mutex_destroy(&bus->lock);
}

void bus_wait_resumed(struct bus *bus)
{
    while (bus->paused)
        pthread_cond_wait(&bus->resumed, &bus->lock);
}

void bus_request_taken(struct bus *bus)
{
    bus->requests_in_flight++;
}

void bus_request_done(struct bus *bus)
{
    if (--bus->requests_in_flight == 0)
        pthread_cond_broadcast(&bus->drained);
}

void bus_pause(struct bus *bus)
{
    pthread_mutex_lock(&bus->lock);
    bus->paused = true;
    while (bus->requests_in_flight)
        pthread_cond_wait(&bus->drained, &bus->lock);
    pthread_mutex_unlock(&bus->lock);
}

void bus_resume(struct bus *bus)
{
    pthread_mutex_lock(&bus->lock);
    bus->paused = false;
    pthread_cond_broadcast(&bus->resumed);
    pthread_mutex_unlock(&bus->lock);
}

int bus_add_mmio(struct bus *bus, const char *name, uint64_t base, uint64_t size,
                 const struct mmio_ops *ops, void *dev)
{
    if (bus->nregions == BUS_MAX_REGIONS || size == 0 || base + size < base)
        return -1;
    for (unsigned i = 0; i < bus->nregions; i++) {
        const struct mmio_region *r = &bus->regions[i];
        if (base < r->base + r->size && r->base < base + size)
            return -1;
    }
    bus->regions[bus->nregions++] = (struct mmio_region){ name, base, size, ops, dev };
    return 0;
}

static const struct mmio_region *bus_find(const struct bus *bus, uint64_t pa, unsigned size)
{
    for (unsigned i = 0; i < bus->nregions; i++) {
        const struct mmio_region *r = &bus->regions[i];
        if (pa >= r->base && pa - r->base < r->size && size <= r->size - (pa - r->base))
            return r;
    }
    return NULL;
}

bool bus_mmio_read(struct bus *bus, uint64_t pa, unsigned size, uint64_t *value)
{
    const struct mmio_region *r = bus_find(bus, pa, size);
    if (!r || !r->ops->read)
        return false;
    pthread_mutex_lock(&bus->lock);
    *value = r->ops->read(r->dev, pa - r->base, size);
    pthread_mutex_unlock(&bus->lock);
    return true;
}

bool bus_mmio_write(struct bus *bus, uint64_t pa, unsigned size, uint64_t value)
{
    const struct mmio_region *r = bus_find(bus, pa, size);
    if (!r || !r->ops->write)
        return false;
    pthread_mutex_lock(&bus->lock);
    r->ops->write(r->dev, pa - r->base, value, size);
    pthread_mutex_unlock(&bus->lock);
    return true;
}
