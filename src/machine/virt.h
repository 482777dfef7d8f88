/*
 * QEMU virt board: the memory map, interrupt numbers and the placement of every device.
 * virt_map (virt_map.c) is the one table the board places devices from and writes their
 * device tree nodes from; the constants below are its values, named for tests and
 * loaders.
 */
#ifndef RACKVM_VIRT_H
#define RACKVM_VIRT_H

#include "common.h"

#define VIRT_TEST_BASE     0x00100000ULL
#define VIRT_TEST_SIZE     0x1000ULL
#define VIRT_RTC_BASE      0x00101000ULL
#define VIRT_RTC_SIZE      0x1000ULL
#define VIRT_PVPANIC_BASE  0x00102000ULL  /* free in QEMU's virt map too */
#define VIRT_PVPANIC_SIZE  0x2ULL         /* as QEMU's pvpanic-mmio */
#define VIRT_CLINT_BASE    0x02000000ULL
#define VIRT_CLINT_SIZE    0x10000ULL
#define VIRT_PLIC_BASE     0x0c000000ULL
#define VIRT_PLIC_SIZE     0x600000ULL   /* as QEMU; holds M and S contexts of 32 harts */
#define VIRT_UART0_BASE    0x10000000ULL
#define VIRT_UART0_SIZE    0x100ULL
#define VIRT_VIRTIO_BASE   0x10001000ULL
#define VIRT_VIRTIO_SIZE   0x1000ULL
#define VIRT_VIRTIO_COUNT  8
#define VIRT_DRAM_BASE     0x80000000ULL

/* PLIC interrupt sources */
#define VIRT_IRQ_RTC       11
#define VIRT_IRQ_VIRTIO0   1   /* virtio slot n uses 1 + n */
#define VIRT_IRQ_UART0     10
#define VIRT_PLIC_NDEV     96

enum virt_device { VIRT_TEST, VIRT_RTC, VIRT_PVPANIC, VIRT_CLINT, VIRT_PLIC, VIRT_UART0, VIRT_VIRTIO, VIRT_DEVICES };

/* Where a device sits: count windows of size bytes from base, interrupt irq + n for the
 * n-th (irq 0: no PLIC source). name is the device tree node name and the bus region's. */
struct virt_region {
    const char *name;
    uint64_t base, size;
    unsigned irq, count;
};

extern const struct virt_region virt_map[VIRT_DEVICES];

#endif
