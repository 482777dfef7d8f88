/* The virt board's placement table (see virt.h). */
#include "machine/virt.h"

const struct virt_region virt_map[VIRT_DEVICES] = {
    [VIRT_TEST] = { "test", VIRT_TEST_BASE, VIRT_TEST_SIZE, 0, 1 },
    [VIRT_RTC] = { "rtc", VIRT_RTC_BASE, VIRT_RTC_SIZE, VIRT_IRQ_RTC, 1 },
    [VIRT_PVPANIC] = { "pvpanic", VIRT_PVPANIC_BASE, VIRT_PVPANIC_SIZE, 0, 1 },
    [VIRT_CLINT] = { "clint", VIRT_CLINT_BASE, VIRT_CLINT_SIZE, 0, 1 },
    [VIRT_PLIC] = { "plic", VIRT_PLIC_BASE, VIRT_PLIC_SIZE, 0, 1 },
    [VIRT_UART0] = { "serial", VIRT_UART0_BASE, VIRT_UART0_SIZE, VIRT_IRQ_UART0, 1 },
    [VIRT_VIRTIO] = { "virtio_mmio", VIRT_VIRTIO_BASE, VIRT_VIRTIO_SIZE, VIRT_IRQ_VIRTIO0,
                      VIRT_VIRTIO_COUNT },
};
