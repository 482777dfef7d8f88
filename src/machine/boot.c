#include "machine/boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/hart.h"
#include "machine/fdt.h"
#include "machine/loader.h"
#include "machine/sbi.h"
#include "machine/virt.h"

#define BOOT_AREA_SIZE (2ULL << 20)        /* top of RAM: DTB, then fw_dynamic info */
#define FW_DYNAMIC_INFO_OFFSET (1ULL << 20)
#define FW_DYNAMIC_MAGIC 0x4942534fULL     /* "OSBI" */
#define FW_DYNAMIC_VERSION 2
#define FW_DYNAMIC_NEXT_MODE_S 1
#define FIRMWARE_KERNEL_ADDR (VIRT_DRAM_BASE + (2ULL << 20))

/* OpenSBI's struct fw_dynamic_info (all fields unsigned long). */
struct fw_dynamic_info {
    uint64_t magic, version, next_addr, next_mode, options, boot_hart;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* A file that reaches into the boot area, where the DTB goes. */
static void does_not_fit(char *err, size_t errlen, const char *path, const struct guest_ram *ram)
{
    snprintf(err, errlen, "%s: does not fit in %llu MiB of guest memory", path,
             (unsigned long long)(ram->size >> 20));
}

int boot_prepare(struct machine *m)
{
    const struct machine_config *cfg = &m->cfg;
    struct guest_ram *ram = &m->bus.ram;
    char err[512];
    struct loaded_kernel fw = { 0 }, kernel = { 0 };
    struct loader_range initrd = { 0, 0 }, avoid[3];
    size_t navoid = 0;
    uint64_t boot_area = ram->base + ram->size - BOOT_AREA_SIZE;
    void *dtb = NULL;
    size_t dtb_size;
    int rc = -1;

    if (cfg->firmware == FIRMWARE_FILE) {
        if (loader_load_firmware(ram, cfg->firmware_path, kept_fd(&cfg->firmware_file), &fw, err, sizeof(err)) < 0)
            goto error;
        /* The DTB and fw_dynamic info written below would overwrite it. */
        if (fw.end > boot_area) {
            does_not_fit(err, sizeof(err), cfg->firmware_path, ram);
            goto error;
        }
        avoid[navoid++] = (struct loader_range){ fw.start, fw.end };
    }
    if (cfg->kernel_path) {
        uint64_t load = ram->base;
        if (cfg->firmware == FIRMWARE_FILE) {
            load = align_up(fw.end, LOADER_KERNEL_ALIGN);
            if (load < FIRMWARE_KERNEL_ADDR)
                load = FIRMWARE_KERNEL_ADDR;
        }
        if (loader_load_kernel(ram, cfg->kernel_path, kept_fd(&cfg->kernel_file), load, &kernel, err, sizeof(err)) < 0)
            goto error;
        if (cfg->firmware == FIRMWARE_FILE && kernel.start < fw.end && fw.start < kernel.end) {
            snprintf(err, sizeof(err), "%s: overlaps the firmware in memory", cfg->kernel_path);
            goto error;
        }
        if (kernel.end > boot_area) {
            does_not_fit(err, sizeof(err), cfg->kernel_path, ram);
            goto error;
        }
        avoid[navoid++] = (struct loader_range){ kernel.start, kernel.end };
    }
    if (cfg->initrd_path) {
        avoid[navoid++] = (struct loader_range){ boot_area, ram->base + ram->size };
        if (loader_load_initrd(ram, cfg->initrd_path, kept_fd(&cfg->initrd_file), avoid, navoid, &initrd, err, sizeof(err)) < 0)
            goto error;
    }
    if (fdt_build(m, initrd.start, initrd.end, &dtb, &dtb_size) < 0)
        return -1;
    if (cfg->dump_dtb_path) {
        rc = fdt_dump(dtb, dtb_size, cfg->dump_dtb_path) < 0 ? -1 : 1;
        free(dtb);
        return rc;
    }
    memcpy(guest_ram_ptr(ram, boot_area, dtb_size), dtb, dtb_size);
    free(dtb);

    if (cfg->firmware == FIRMWARE_BUILTIN_SBI) {
        struct hart *boot = m->harts[0];
        sbi_start_hart(m, boot, kernel.entry, boot_area);
        return 0;
    }
    uint64_t entry = cfg->firmware == FIRMWARE_FILE ? fw.entry : kernel.entry;
    uint64_t info_addr = 0;
    if (cfg->firmware == FIRMWARE_FILE) {
        struct fw_dynamic_info info = {
            .magic = FW_DYNAMIC_MAGIC,
            .version = FW_DYNAMIC_VERSION,
            .next_addr = cfg->kernel_path ? kernel.entry : FIRMWARE_KERNEL_ADDR,
            .next_mode = FW_DYNAMIC_NEXT_MODE_S,
            .options = 0,
            .boot_hart = ~0ULL, /* any hart may win OpenSBI's boot lottery */
        };
        info_addr = boot_area + FW_DYNAMIC_INFO_OFFSET;
        memcpy(guest_ram_ptr(ram, info_addr, sizeof(info)), &info, sizeof(info));
    } else {
        m->tohost_addr = kernel.tohost;
        m->fromhost_addr = kernel.fromhost;
    }
    for (unsigned i = 0; i < m->nharts; i++) {
        struct hart *h = m->harts[i];
        hart_reset(h, entry);
        h->arch.x[11] = boot_area;
        h->arch.x[12] = info_addr;
        hart_unpark(h);
    }
    return 0;
error:
    rvm_error("%s", err);
    return -1;
}
