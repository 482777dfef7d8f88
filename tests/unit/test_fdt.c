/* Device tree: valid for libfdt and dtc, with the virt board's nodes, phandles and values. */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "devices/clint.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "devices/test_finisher.h"
#include "devices/uart16550.h"
#include "machine/fdt.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

#define NHARTS 2
#define RAM_SIZE (16ULL << 20)

static struct machine *m;

static int node(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        fprintf(stderr, "missing node %s\n", path);
    CHECK(off >= 0);
    return off;
}

static const void *prop(const void *fdt, const char *path, const char *name, int *len)
{
    int off = node(fdt, path);
    const void *p = off >= 0 ? fdt_getprop(fdt, off, name, len) : NULL;
    if (!p)
        fprintf(stderr, "missing %s:%s\n", path, name);
    CHECK(p != NULL);
    return p;
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name, int index)
{
    int len = 0;
    const fdt32_t *p = prop(fdt, path, name, &len);
    if (!p || len < 4 * (index + 1))
        return 0xdeadbeef;
    return fdt32_to_cpu(p[index]);
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name, int index)
{
    return (uint64_t)prop_u32(fdt, path, name, 2 * index) << 32 |
           prop_u32(fdt, path, name, 2 * index + 1);
}

static bool compatible(const void *fdt, const char *path, const char *compat)
{
    int off = node(fdt, path);
    return off >= 0 && fdt_node_check_compatible(fdt, off, compat) == 0;
}

/* riscv,isa and riscv,isa-extensions name the same extensions, among them `required`. */
static void check_isa(const void *fdt, const char *cpu, const char *const *required, size_t nrequired)
{
    const char *isa = prop(fdt, cpu, "riscv,isa", NULL);
    size_t letters = strncmp(isa, "rv64imafdch_", 12) == 0 ? 11 : 10; /* "rv64" and one-letter ones */
    CHECK(strncmp(isa, "rv64imafdc", 10) == 0 && isa[letters] == '_');
    char multi[512]; /* "_z..._s..._": each multi-letter name between underscores */
    snprintf(multi, sizeof(multi), "%s_", isa + letters);
    int len = 0, listed = 0, in_string = letters - 4;
    for (const char *c = multi + 1; *c; c++)
        in_string += *c == '_';
    const char *list = prop(fdt, cpu, "riscv,isa-extensions", &len);
    for (const char *e = list; e < list + len; e += strlen(e) + 1, listed++) {
        char word[64];
        snprintf(word, sizeof(word), "_%s_", e);
        bool found = strlen(e) == 1 ? memchr(isa + 4, e[0], letters - 4) != NULL : strstr(multi, word) != NULL;
        if (!found)
            fprintf(stderr, "%s: riscv,isa-extensions has %s, riscv,isa (%s) does not\n", cpu, e, isa);
        CHECK(found);
    }
    CHECK_EQ_U64(listed, in_string);
    for (size_t i = 0; i < nrequired; i++)
        CHECK(fdt_stringlist_search(fdt, node(fdt, cpu), "riscv,isa-extensions", required[i]) >= 0);
}

static void check_cpus(const void *fdt)
{
    static const char *const required[] = { "zicboz", "sstc", "zicond", "zbc", "zbkb", "zbkx", "zcb",
                                            "zawrs", "svinval", "zknd", "zkne", "zknh", "zksed",
                                            "zksh", "zkr", "svnapot", "zfa",
                                            "zfh", "zfhmin", "h" };
    CHECK_EQ_U64(prop_u32(fdt, "/cpus", "timebase-frequency", 0), MACHINE_TIMEBASE_HZ);
    for (unsigned i = 0; i < NHARTS; i++) {
        char cpu[32], intc[64], core[64];
        snprintf(cpu, sizeof(cpu), "/cpus/cpu@%u", i);
        snprintf(intc, sizeof(intc), "%s/interrupt-controller", cpu);
        snprintf(core, sizeof(core), "/cpus/cpu-map/cluster0/core%u", i);
        CHECK_EQ_U64(prop_u32(fdt, cpu, "reg", 0), i);
        CHECK(strcmp(prop(fdt, cpu, "device_type", NULL), "cpu") == 0);
        CHECK(strcmp(prop(fdt, cpu, "status", NULL), "okay") == 0);
        CHECK(strcmp(prop(fdt, cpu, "mmu-type", NULL), "riscv,sv57") == 0);
        check_isa(fdt, cpu, required, ARRAY_SIZE(required));
        CHECK(strcmp(prop(fdt, cpu, "riscv,isa-base", NULL), "rv64i") == 0);
        CHECK_EQ_U64(prop_u32(fdt, cpu, "riscv,cbom-block-size", 0), 64);
        CHECK_EQ_U64(prop_u32(fdt, cpu, "riscv,cboz-block-size", 0), 64);
        CHECK(compatible(fdt, cpu, "riscv"));
        CHECK(compatible(fdt, intc, "riscv,cpu-intc"));
        CHECK_EQ_U64(prop_u32(fdt, intc, "#interrupt-cells", 0), 1);
        CHECK_EQ_U64(fdt_node_offset_by_phandle(fdt, prop_u32(fdt, core, "cpu", 0)),
                     node(fdt, cpu));
    }
}

/* interrupts-extended of clint/plic: <intc(hart) irq_a intc(hart) irq_b> per hart. */
static void check_irq_pairs(const void *fdt, const char *path, uint32_t irq_a, uint32_t irq_b)
{
    int len = 0;
    prop(fdt, path, "interrupts-extended", &len);
    CHECK_EQ_U64(len, NHARTS * 4 * 4);
    for (int i = 0; i < NHARTS; i++) {
        char intc[64];
        snprintf(intc, sizeof(intc), "/cpus/cpu@%d/interrupt-controller", i);
        uint32_t ph = fdt_get_phandle(fdt, node(fdt, intc));
        CHECK(ph != 0);
        CHECK_EQ_U64(prop_u32(fdt, path, "interrupts-extended", 4 * i + 0), ph);
        CHECK_EQ_U64(prop_u32(fdt, path, "interrupts-extended", 4 * i + 1), irq_a);
        CHECK_EQ_U64(prop_u32(fdt, path, "interrupts-extended", 4 * i + 2), ph);
        CHECK_EQ_U64(prop_u32(fdt, path, "interrupts-extended", 4 * i + 3), irq_b);
    }
}

static void check_soc(const void *fdt)
{
    CHECK(compatible(fdt, "/soc", "simple-bus"));
    CHECK(compatible(fdt, "/soc/clint@2000000", "sifive,clint0"));
    CHECK(compatible(fdt, "/soc/clint@2000000", "riscv,clint0"));
    CHECK_EQ_U64(prop_u64(fdt, "/soc/clint@2000000", "reg", 0), VIRT_CLINT_BASE);
    CHECK_EQ_U64(prop_u64(fdt, "/soc/clint@2000000", "reg", 1), VIRT_CLINT_SIZE);
    check_irq_pairs(fdt, "/soc/clint@2000000", 3, 7);

    const char *plic = "/soc/plic@c000000";
    CHECK(compatible(fdt, plic, "sifive,plic-1.0.0"));
    CHECK(compatible(fdt, plic, "riscv,plic0"));
    CHECK_EQ_U64(prop_u32(fdt, plic, "riscv,ndev", 0), VIRT_PLIC_NDEV - 1);
    CHECK_EQ_U64(prop_u64(fdt, plic, "reg", 0), VIRT_PLIC_BASE);
    check_irq_pairs(fdt, plic, 11, 9);
    uint32_t plic_ph = fdt_get_phandle(fdt, node(fdt, plic));
    CHECK(plic_ph != 0);

    const char *uart = "/soc/serial@10000000";
    CHECK(compatible(fdt, uart, "ns16550a"));
    CHECK_EQ_U64(prop_u32(fdt, uart, "clock-frequency", 0), 3686400);
    CHECK_EQ_U64(prop_u32(fdt, uart, "interrupts", 0), VIRT_IRQ_UART0);
    CHECK_EQ_U64(prop_u32(fdt, uart, "interrupt-parent", 0), plic_ph);
    CHECK_EQ_U64(prop_u64(fdt, uart, "reg", 0), VIRT_UART0_BASE);

    const char *rtc = "/soc/rtc@101000";
    CHECK(compatible(fdt, rtc, "google,goldfish-rtc"));
    CHECK_EQ_U64(prop_u32(fdt, rtc, "interrupts", 0), VIRT_IRQ_RTC);
    CHECK_EQ_U64(prop_u32(fdt, rtc, "interrupt-parent", 0), plic_ph);

    const char *test = "/soc/test@100000";
    CHECK(compatible(fdt, test, "sifive,test1"));
    CHECK(compatible(fdt, test, "sifive,test0"));
    CHECK(compatible(fdt, test, "syscon"));
    uint32_t test_ph = fdt_get_phandle(fdt, node(fdt, test));
    CHECK(test_ph != 0);
    CHECK(compatible(fdt, "/poweroff", "syscon-poweroff"));
    CHECK_EQ_U64(prop_u32(fdt, "/poweroff", "value", 0), 0x5555);
    CHECK_EQ_U64(prop_u32(fdt, "/poweroff", "regmap", 0), test_ph);
    CHECK(compatible(fdt, "/reboot", "syscon-reboot"));
    CHECK_EQ_U64(prop_u32(fdt, "/reboot", "value", 0), 0x7777);
    CHECK_EQ_U64(prop_u32(fdt, "/reboot", "regmap", 0), test_ph);
}

static void check_dtc(const void *fdt, size_t size)
{
    char dtb[] = "/tmp/rackvm-test-fdt-XXXXXX";
    int fd = mkstemp(dtb);
    CHECK(fd >= 0);
    close(fd);
    CHECK(fdt_dump(fdt, size, dtb) == 0);
    struct stat st;
    CHECK(stat(dtb, &st) == 0 && (size_t)st.st_size == size);

    /* dtc must decompile it without errors or warnings. */
    char cmd[256], log[sizeof(dtb) + 8];
    snprintf(log, sizeof(log), "%s.log", dtb);
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>%s", dtb, log);
    CHECK(system(cmd) == 0);
    CHECK(stat(log, &st) == 0 && st.st_size == 0);
    if (st.st_size) {
        snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
        CHECK(system(cmd) == 0);
    }
    unlink(dtb);
    unlink(log);

    CHECK(fdt_dump(fdt, size, "/nonexistent-dir/x.dtb") == -1);
}

static void build_machine(unsigned nharts)
{
    struct machine_config cfg = { .memory_size = RAM_SIZE, .nharts = nharts, .hypervisor = true };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        exit(1);
}

int main(void)
{
    build_machine(NHARTS);
    m->cfg.cmdline = "console=ttyS0 earlycon";
    void *fdt = NULL;
    size_t size = 0;
    CHECK(fdt_build(m, 0x88000000, 0x88100000, &fdt, &size) == 0);
    CHECK(fdt != NULL && size == fdt_totalsize(fdt));
    CHECK_EQ_U64(fdt_check_full(fdt, size), 0);

    CHECK(compatible(fdt, "/", "riscv-virtio"));
    CHECK(strcmp(prop(fdt, "/memory@80000000", "device_type", NULL), "memory") == 0);
    CHECK_EQ_U64(prop_u64(fdt, "/memory@80000000", "reg", 0), VIRT_DRAM_BASE);
    CHECK_EQ_U64(prop_u64(fdt, "/memory@80000000", "reg", 1), RAM_SIZE);
    CHECK(strcmp(prop(fdt, "/chosen", "bootargs", NULL), "console=ttyS0 earlycon") == 0);
    CHECK(node(fdt, prop(fdt, "/chosen", "stdout-path", NULL)) == node(fdt, "/soc/serial@10000000"));
    CHECK_EQ_U64(prop_u64(fdt, "/chosen", "linux,initrd-start", 0), 0x88000000);
    CHECK_EQ_U64(prop_u64(fdt, "/chosen", "linux,initrd-end", 0), 0x88100000);
    int seed_len = 0;
    prop(fdt, "/chosen", "rng-seed", &seed_len);
    CHECK(seed_len >= 32);
    check_cpus(fdt);
    check_soc(fdt);
    check_dtc(fdt, size);
    free(fdt);

    /* No initrd, no command line: neither property appears. */
    m->cfg.cmdline = NULL;
    CHECK(fdt_build(m, 0, 0, &fdt, &size) == 0);
    CHECK_EQ_U64(fdt_check_full(fdt, size), 0);
    CHECK(fdt_getprop(fdt, node(fdt, "/chosen"), "linux,initrd-start", NULL) == NULL);
    CHECK(fdt_getprop(fdt, node(fdt, "/chosen"), "bootargs", NULL) == NULL);
    free(fdt);

    /* A firmware file may not grant S-mode the seed CSR: Zkr is not advertised then. */
    m->cfg.firmware = FIRMWARE_FILE;
    CHECK(fdt_build(m, 0, 0, &fdt, &size) == 0);
    CHECK(fdt_stringlist_search(fdt, node(fdt, "/cpus/cpu@0"), "riscv,isa-extensions", "zkr") < 0);
    CHECK(fdt_stringlist_search(fdt, node(fdt, "/cpus/cpu@0"), "riscv,isa-extensions", "zknh") >= 0);
    CHECK(strstr(prop(fdt, "/cpus/cpu@0", "riscv,isa", NULL), "zkr") == NULL);
    check_dtc(fdt, size);
    free(fdt);

    /* Without the H extension (--cpu h=off) neither property names it. */
    m->cfg.hypervisor = false;
    CHECK(fdt_build(m, 0, 0, &fdt, &size) == 0);
    CHECK(fdt_stringlist_search(fdt, node(fdt, "/cpus/cpu@0"), "riscv,isa-extensions", "h") < 0);
    CHECK(strncmp(prop(fdt, "/cpus/cpu@0", "riscv,isa", NULL), "rv64imafdc_", 11) == 0);
    check_isa(fdt, "/cpus/cpu@0", NULL, 0);
    free(fdt);
    machine_destroy(m);

    /* The most harts the board has: the tree outgrows the first buffer and still builds. */
    build_machine(MACHINE_MAX_HARTS);
    CHECK(fdt_build(m, 0, 0, &fdt, &size) == 0);
    CHECK(size > 16384);
    CHECK_EQ_U64(fdt_check_full(fdt, size), 0);
    node(fdt, "/cpus/cpu@31/interrupt-controller");
    int len = 0;
    prop(fdt, "/soc/plic@c000000", "interrupts-extended", &len);
    CHECK_EQ_U64(len, MACHINE_MAX_HARTS * 16);
    check_dtc(fdt, size);
    free(fdt);
    machine_destroy(m);
    UNIT_DONE();
}
