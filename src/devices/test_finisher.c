/* SiFive test finisher: guest-requested poweroff, failure exit and reboot. */
#include "devices/test_finisher.h"

#include <stdlib.h>

struct test_finisher {
    struct test_finisher_hooks hooks;
};

static uint64_t finisher_read(void *dev, uint64_t off, unsigned size)
{
    (void)dev, (void)off, (void)size;
    return 0;
}

static void finisher_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct test_finisher *t = dev;
    /* OpenSBI's sifive_test driver writes 16 bits (no fail code then); QEMU accepts 2 and 4. */
    if (off != 0 || size < 2)
        return;
    uint32_t v = (uint32_t)value;
    switch (v & 0xffff) {
    case FINISHER_PASS:
    case FINISHER_RESET:
    case FINISHER_FAIL:
        t->hooks.finish(t->hooks.ctx, v & 0xffff, v >> 16);
        break;
    default:
        break;
    }
}

static const struct mmio_ops finisher_ops = { .read = finisher_read, .write = finisher_write };

struct test_finisher *test_finisher_create(const struct device_slot *slot,
                                           const struct test_finisher_hooks *hooks)
{
    struct test_finisher *t = calloc(1, sizeof(*t));
    if (!t) {
        rvm_error("test finisher: out of memory");
        return NULL;
    }
    t->hooks = *hooks;
    if (device_map(slot, &finisher_ops, t) < 0) {
        free(t);
        return NULL;
    }
    return t;
}

void test_finisher_destroy(struct test_finisher *t)
{
    free(t);
}
