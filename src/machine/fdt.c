/* Device tree of the virt board: root, /chosen, /memory, /cpus, /soc (from virt_map) and the syscon nodes. */
#include "machine/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cpu/hart.h"
#include "cpu/mmu.h"
#include "devices/clint.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "devices/pvpanic.h"
#include "devices/test_finisher.h"
#include "devices/uart16550.h"
#include "devices/virtio/virtio_mmio.h"
#include "machine/virt.h"

#define FDT_INITIAL_SIZE 16384
#define FDT_MAX_SIZE (1 << 20)
#define RNG_SEED_BYTES 64

/*
 * Zkr is advertised only where S-mode may read the seed CSR: under the built-in SBI, which
 * sets mseccfg.SSEED, and bare metal. A firmware file may leave SSEED clear (Debian 12's
 * OpenSBI 1.1 does), and Linux 6.12 reads seed at boot when Zkr is listed, so it would
 * take an illegal-instruction oops.
 */
#define ISA_FORMAT \
    "rv64imafdc%s_zicntr_zicond_zicsr_zifencei_zihpm_zawrs_zfa_zfh_zfhmin_zcb_zba_zbb_zbc_zbkb_" \
    "zbkc_zbkx_zbs_zknd_zkne_zknh_%szksed_zksh_zicbom_zicboz_sstc_svinval_svnapot_svpbmt"
static const char *const isa_extensions[] = {
    "i", "m", "a", "f", "d", "c", "zicntr", "zicond", "zicsr", "zifencei", "zihpm", "zawrs",
    "zfa", "zfh", "zfhmin", "zcb", "zba", "zbb", "zbc", "zbkb", "zbkc", "zbkx", "zbs", "zknd",
    "zkne", "zknh", "zksed", "zksh", "zicbom", "zicboz", "sstc", "svinval", "svnapot",
    "svpbmt", "zkr", /* last, so that it can be left out */
};

/* Phandles and facts that device nodes refer to. */
struct fdt_board {
    unsigned nharts;
    uint32_t intc_phandle[MACHINE_MAX_HARTS];  /* each cpu's riscv,cpu-intc */
    uint32_t plic_phandle;
    uint32_t test_phandle;
};

struct fdt_inputs {
    struct machine *m;
    uint64_t initrd_start, initrd_end;
    struct fdt_board board;
    uint32_t cpu_phandle[MACHINE_MAX_HARTS];
};

/* "reg" = <base size> with two address and two size cells, as /soc uses. */
static int fdt_property_reg(void *fdt, uint64_t base, uint64_t size)
{
    fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };
    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int property_stringlist(void *fdt, const char *name, const char *const *list, size_t n)
{
    char buf[256];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t item = strlen(list[i]) + 1;
        if (len + item > sizeof(buf))
            return -FDT_ERR_NOSPACE;
        memcpy(buf + len, list[i], item);
        len += item;
    }
    return fdt_property(fdt, name, buf, (int)len);
}

static int write_chosen(void *fdt, const struct fdt_inputs *in)
{
    int err = fdt_begin_node(fdt, "chosen");
    if (in->m->cfg.cmdline)
        err |= fdt_property_string(fdt, "bootargs", in->m->cfg.cmdline);
    err |= fdt_property_string(fdt, "stdout-path", "/soc/serial@10000000");
    if (in->initrd_end > in->initrd_start) {
        err |= fdt_property_u64(fdt, "linux,initrd-start", in->initrd_start);
        err |= fdt_property_u64(fdt, "linux,initrd-end", in->initrd_end);
    }
    /* Without entropy from the host the guest seeds itself later; nothing to fail for. */
    uint8_t seed[RNG_SEED_BYTES];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        err |= fdt_property(fdt, "rng-seed", seed, sizeof(seed));
    err |= fdt_end_node(fdt);
    return err;
}

static int write_memory(void *fdt, const struct guest_ram *ram)
{
    char name[32];
    snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)ram->base);
    int err = fdt_begin_node(fdt, name);
    err |= fdt_property_string(fdt, "device_type", "memory");
    err |= fdt_property_reg(fdt, ram->base, ram->size);
    err |= fdt_end_node(fdt);
    return err;
}

static int write_cpu(void *fdt, const struct fdt_inputs *in, unsigned i)
{
    char name[16];
    snprintf(name, sizeof(name), "cpu@%u", i);
    int err = fdt_begin_node(fdt, name);
    err |= fdt_property_u32(fdt, "phandle", in->cpu_phandle[i]);
    err |= fdt_property_string(fdt, "device_type", "cpu");
    err |= fdt_property_u32(fdt, "reg", i);
    err |= fdt_property_string(fdt, "status", "okay");
    err |= fdt_property_string(fdt, "compatible", "riscv");
    bool zkr = in->m->cfg.firmware != FIRMWARE_FILE, hypervisor = in->m->cfg.hypervisor;
    char isa[sizeof(ISA_FORMAT) + 8];
    snprintf(isa, sizeof(isa), ISA_FORMAT, hypervisor ? "h" : "", zkr ? "zkr_" : "");
    err |= fdt_property_string(fdt, "riscv,isa", isa);
    err |= fdt_property_string(fdt, "riscv,isa-base", "rv64i");
    const char *extensions[ARRAY_SIZE(isa_extensions) + 1];
    size_t n = ARRAY_SIZE(isa_extensions) - !zkr;
    memcpy(extensions, isa_extensions, n * sizeof(*extensions));
    if (hypervisor)
        extensions[n++] = "h";
    err |= property_stringlist(fdt, "riscv,isa-extensions", extensions, n);
    err |= fdt_property_string(fdt, "mmu-type", "riscv,sv57");
    err |= fdt_property_u32(fdt, "riscv,cbom-block-size", CACHE_BLOCK_SIZE);
    err |= fdt_property_u32(fdt, "riscv,cboz-block-size", CACHE_BLOCK_SIZE);

    err |= fdt_begin_node(fdt, "interrupt-controller");
    err |= fdt_property_u32(fdt, "#address-cells", 0);
    err |= fdt_property_u32(fdt, "#interrupt-cells", 1);
    err |= fdt_property(fdt, "interrupt-controller", NULL, 0);
    err |= fdt_property_string(fdt, "compatible", "riscv,cpu-intc");
    err |= fdt_property_u32(fdt, "phandle", in->board.intc_phandle[i]);
    err |= fdt_end_node(fdt);

    err |= fdt_end_node(fdt);
    return err;
}

static int write_cpus(void *fdt, const struct fdt_inputs *in)
{
    int err = fdt_begin_node(fdt, "cpus");
    err |= fdt_property_u32(fdt, "#address-cells", 1);
    err |= fdt_property_u32(fdt, "#size-cells", 0);
    err |= fdt_property_u32(fdt, "timebase-frequency", (uint32_t)MACHINE_TIMEBASE_HZ);
    for (unsigned i = 0; i < in->board.nharts; i++)
        err |= write_cpu(fdt, in, i);

    err |= fdt_begin_node(fdt, "cpu-map");
    err |= fdt_begin_node(fdt, "cluster0");
    for (unsigned i = 0; i < in->board.nharts; i++) {
        char name[16];
        snprintf(name, sizeof(name), "core%u", i);
        err |= fdt_begin_node(fdt, name);
        err |= fdt_property_u32(fdt, "cpu", in->cpu_phandle[i]);
        err |= fdt_end_node(fdt);
    }
    err |= fdt_end_node(fdt);
    err |= fdt_end_node(fdt);

    err |= fdt_end_node(fdt);
    return err;
}

/* Opens the node of the n-th window of d: name@base, reg, and its PLIC interrupt. */
static int begin_device(void *fdt, const struct fdt_board *b, enum virt_device d, unsigned n)
{
    const struct virt_region *r = &virt_map[d];
    uint64_t base = r->base + n * r->size;
    char name[48];
    snprintf(name, sizeof(name), "%s@%llx", r->name, (unsigned long long)base);
    int err = fdt_begin_node(fdt, name);
    if (r->irq) {
        err |= fdt_property_u32(fdt, "interrupts", r->irq + n);
        err |= fdt_property_u32(fdt, "interrupt-parent", b->plic_phandle);
    }
    err |= fdt_property_reg(fdt, base, r->size);
    return err;
}

#define PROPERTY_STRINGS(fdt, name, list) fdt_property(fdt, name, list, sizeof(list))

/* interrupts-extended of a per-hart device: <intc irq_a intc irq_b> for each hart. */
static int per_hart_interrupts(void *fdt, const struct fdt_board *b, uint32_t irq_a,
                               uint32_t irq_b)
{
    uint32_t irqs[2 * 2 * MACHINE_MAX_HARTS];
    for (unsigned i = 0; i < b->nharts; i++) {
        irqs[4 * i + 0] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 1] = cpu_to_fdt32(irq_a);
        irqs[4 * i + 2] = cpu_to_fdt32(b->intc_phandle[i]);
        irqs[4 * i + 3] = cpu_to_fdt32(irq_b);
    }
    return fdt_property(fdt, "interrupts-extended", irqs, (int)(4 * sizeof(irqs[0]) * b->nharts));
}

static int write_soc(void *fdt, const struct fdt_inputs *in)
{
    const struct fdt_board *b = &in->board;
    int err = fdt_begin_node(fdt, "soc");
    err |= fdt_property_u32(fdt, "#address-cells", 2);
    err |= fdt_property_u32(fdt, "#size-cells", 2);
    err |= fdt_property_string(fdt, "compatible", "simple-bus");
    err |= fdt_property(fdt, "ranges", NULL, 0);

    err |= begin_device(fdt, b, VIRT_TEST, 0);
    err |= fdt_property_u32(fdt, "phandle", b->test_phandle);
    err |= PROPERTY_STRINGS(fdt, "compatible", FINISHER_COMPATIBLE);
    err |= fdt_end_node(fdt);

    err |= begin_device(fdt, b, VIRT_RTC, 0);
    err |= PROPERTY_STRINGS(fdt, "compatible", GOLDFISH_RTC_COMPATIBLE);
    err |= fdt_end_node(fdt);

    err |= begin_device(fdt, b, VIRT_PVPANIC, 0);
    err |= PROPERTY_STRINGS(fdt, "compatible", PVPANIC_COMPATIBLE);
    err |= fdt_end_node(fdt);

    err |= begin_device(fdt, b, VIRT_CLINT, 0);
    err |= per_hart_interrupts(fdt, b, IRQ_MSI, IRQ_MTI);
    err |= PROPERTY_STRINGS(fdt, "compatible", CLINT_COMPATIBLE);
    err |= fdt_end_node(fdt);

    err |= begin_device(fdt, b, VIRT_PLIC, 0);
    err |= fdt_property_u32(fdt, "phandle", b->plic_phandle);
    err |= fdt_property_u32(fdt, "riscv,ndev", PLIC_NUM_SOURCES - 1);
    err |= per_hart_interrupts(fdt, b, IRQ_MEI, IRQ_SEI);
    err |= fdt_property(fdt, "interrupt-controller", NULL, 0);
    err |= PROPERTY_STRINGS(fdt, "compatible", PLIC_COMPATIBLE);
    err |= fdt_property_u32(fdt, "#address-cells", 0);
    err |= fdt_property_u32(fdt, "#interrupt-cells", 1);
    err |= fdt_end_node(fdt);

    err |= begin_device(fdt, b, VIRT_UART0, 0);
    err |= fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ);
    err |= PROPERTY_STRINGS(fdt, "compatible", UART_COMPATIBLE);
    err |= fdt_end_node(fdt);

    for (unsigned i = 0; i < in->m->nvirtio; i++) {
        err |= begin_device(fdt, b, VIRT_VIRTIO, i);
        err |= PROPERTY_STRINGS(fdt, "compatible", VIRTIO_MMIO_COMPATIBLE);
        err |= fdt_end_node(fdt);
    }
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

static int write_tree(void *fdt, int size, const struct fdt_inputs *in)
{
    int err = fdt_create(fdt, size);
    err |= fdt_finish_reservemap(fdt);
    err |= fdt_begin_node(fdt, "");
    err |= fdt_property_u32(fdt, "#address-cells", 2);
    err |= fdt_property_u32(fdt, "#size-cells", 2);
    err |= fdt_property_string(fdt, "compatible", "riscv-virtio");
    err |= fdt_property_string(fdt, "model", "riscv-virtio,rackvm");
    err |= write_chosen(fdt, in);
    err |= write_memory(fdt, &in->m->bus.ram);
    err |= write_cpus(fdt, in);
    err |= write_soc(fdt, in);
    err |= syscon_node(fdt, "poweroff", "syscon-poweroff", FINISHER_PASS, in->board.test_phandle);
    err |= syscon_node(fdt, "reboot", "syscon-reboot", FINISHER_RESET, in->board.test_phandle);
    err |= fdt_end_node(fdt);
    err |= fdt_finish(fdt);
    return err;
}

int fdt_build(struct machine *m, uint64_t initrd_start, uint64_t initrd_end,
              void **blob, size_t *size)
{
    struct fdt_inputs in = { .m = m, .initrd_start = initrd_start, .initrd_end = initrd_end };
    uint32_t phandle = 1;
    in.board.nharts = m->nharts;
    for (unsigned i = 0; i < m->nharts; i++) {
        in.cpu_phandle[i] = phandle++;
        in.board.intc_phandle[i] = phandle++;
    }
    in.board.plic_phandle = phandle++;
    in.board.test_phandle = phandle++;

    /* Sequential writes only fail for lack of room: retry with a larger buffer. */
    for (int bufsize = FDT_INITIAL_SIZE; bufsize <= FDT_MAX_SIZE; bufsize *= 2) {
        void *fdt = malloc((size_t)bufsize);
        if (!fdt)
            break;
        if (write_tree(fdt, bufsize, &in) == 0) {
            *blob = fdt;
            *size = fdt_totalsize(fdt);
            return 0;
        }
        free(fdt);
    }
    rvm_error("cannot build the device tree");
    return -1;
}

int fdt_dump(const void *blob, size_t size, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        rvm_error("%s: %s", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(blob, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = false;
    if (!ok) {
        rvm_error("%s: write failed", path);
        return -1;
    }
    return 0;
}
