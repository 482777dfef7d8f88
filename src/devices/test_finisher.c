/* SiFive test finisher: guest-requested poweroff, failure exit and reboot. */
#include "devices/test_finisher.h"

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>

#include "machine/fdt.h"
#include "machine/machine.h"
#include "machine/virt.h"

#define FINISHER_FAIL 0x3333
#define FINISHER_PASS 0x5555
#define FINISHER_RESET 0x7777

struct test_finisher {
    struct machine *m;
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
        machine_request_stop(t->m, STOP_POWEROFF, 0, "guest powered off");
        break;
    case FINISHER_RESET:
        machine_request_stop(t->m, STOP_REBOOT, 0, "guest requested reboot");
        break;
    case FINISHER_FAIL: {
        char msg[64];
        snprintf(msg, sizeof(msg), "guest reported failure %u", v >> 16);
        machine_request_stop(t->m, STOP_FAIL, (int)(v >> 16), msg);
        break;
    }
    default:
        break;
    }
}

static const struct mmio_ops finisher_ops = { .read = finisher_read, .write = finisher_write };

struct test_finisher *test_finisher_create(struct machine *m)
{
    struct test_finisher *t = calloc(1, sizeof(*t));
    if (!t) {
        rvm_error("test finisher: out of memory");
        return NULL;
    }
    t->m = m;
    if (bus_add_mmio(&m->bus, "test", VIRT_TEST_BASE, VIRT_TEST_SIZE, &finisher_ops, t) < 0) {
        rvm_error("test finisher: cannot map MMIO region at 0x%llx", VIRT_TEST_BASE);
        free(t);
        return NULL;
    }
    return t;
}

void test_finisher_destroy(struct test_finisher *t)
{
    free(t);
}

int test_finisher_fdt(struct test_finisher *t, void *fdt, const struct fdt_board *b)
{
    (void)t;
    static const char compatible[] = "sifive,test1\0sifive,test0\0syscon";
    int err = fdt_begin_node(fdt, "test@100000");
    err |= fdt_property_u32(fdt, "phandle", b->test_phandle);
    err |= fdt_property_reg(fdt, VIRT_TEST_BASE, VIRT_TEST_SIZE);
    err |= fdt_property(fdt, "compatible", compatible, sizeof(compatible));
    err |= fdt_end_node(fdt);
    return err;
}

static int syscon_node(void *fdt, const char *name, const char *compatible, uint32_t value,
                       uint32_t regmap)
{
    int err = fdt_begin_node(fdt, name);
    err |= fdt_property_u32(fdt, "value", value);
    err |= fdt_property_u32(fdt, "offset", 0);
    err |= fdt_property_u32(fdt, "regmap", regmap);
    err |= fdt_property_string(fdt, "compatible", compatible);
    err |= fdt_end_node(fdt);
    return err;
}

int test_finisher_fdt_syscon(struct test_finisher *t, void *fdt, const struct fdt_board *b)
{
    (void)t;
    return syscon_node(fdt, "poweroff", "syscon-poweroff", FINISHER_PASS, b->test_phandle) |
           syscon_node(fdt, "reboot", "syscon-reboot", FINISHER_RESET, b->test_phandle);
}
