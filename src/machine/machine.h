/*
 * A VM: the harts, the bus with its devices, and the reason it stopped.
 * The memory map is QEMU's virt board (see virt.h); the machine owns every device.
 */
#ifndef RACKVM_MACHINE_H
#define RACKVM_MACHINE_H

#include <stdatomic.h>

#include "common.h"
#include "machine/sbi.h"
#include "machine/virt.h"
#include "memory/bus.h"

#define MACHINE_MAX_HARTS 32

struct hart;
struct clint;
struct plic;
struct uart;
struct test_finisher;
struct goldfish_rtc;
struct pvpanic;
struct console;
struct virtio_mmio;
struct virtio_input;
struct net_config;

enum stop_reason {
    STOP_NONE = 0,
    STOP_POWEROFF,   /* clean shutdown: exit 0 */
    STOP_REBOOT,     /* guest asked for a reset */
    STOP_FAIL,       /* guest reported failure (test finisher code, SRST failure) */
    STOP_USER,       /* Ctrl-A x */
    STOP_SIGNAL,     /* forced by a host signal: exit with stop_code (128 + signal) */
    STOP_ERROR,      /* the monitor hit a fatal error */
    STOP_PANIC,      /* the guest kernel panicked (pvpanic) */
};

enum firmware_kind { FIRMWARE_BUILTIN_SBI, FIRMWARE_NONE, FIRMWARE_FILE };
enum console_kind { CONSOLE_SERIAL, CONSOLE_VIRTIO };

/* A raw disk image behind a virtio-blk device. serial may be NULL (20 bytes at most). */
struct disk_config {
    const char *path, *serial;
    bool readonly;
};

struct machine_config {
    uint64_t memory_size;
    unsigned nharts;
    const char *kernel_path, *initrd_path, *cmdline, *firmware_path, *dump_dtb_path;
    enum firmware_kind firmware;
    bool reboot_restarts;   /* --on-reboot restart */
    bool trace;
    bool interpret_only;    /* no translation to host code (--jit off) */
    unsigned jit_hot_runs;  /* runs before a block is translated; 0: the default */
    /* virtio devices take the virtio slots in this order: disks, rng, console. */
    struct disk_config disks[VIRT_VIRTIO_COUNT];
    unsigned ndisks;
    bool rng;                  /* --rng */
    enum console_kind console; /* --console: where host console input goes */
    const struct net_config *nets;  /* --net: virtio-net NICs, after the devices above */
    unsigned nnets;
    /* A virtio-input power button in the first slot the devices above leave free. */
    bool power_button;
};

struct machine {
    struct machine_config cfg;
    struct bus bus;
    struct hart *harts[MACHINE_MAX_HARTS];
    unsigned nharts;
    struct sbi_hart sbi[MACHINE_MAX_HARTS];  /* the built-in SBI's view of each hart */
    struct clint *clint;
    struct plic *plic;
    struct uart *uart;
    struct test_finisher *finisher;
    struct goldfish_rtc *rtc;
    struct pvpanic *pvpanic;
    struct console *console;
    struct virtio_mmio *virtio[VIRT_VIRTIO_COUNT];  /* populated slots, from slot 0 */
    unsigned nvirtio;
    struct virtio_input *power_button;  /* NULL: not asked for, or no slot left */

    /* HTIF tohost/fromhost of a bare-metal ELF (0 when the ELF has none). */
    uint64_t tohost_addr, fromhost_addr;

    uint64_t boot_ns;         /* host monotonic time at mtime 0 */
    _Atomic int stop_reason;  /* enum stop_reason; first writer wins */
    int stop_code;            /* guest failure code for STOP_FAIL */
    char stop_message[128];
};

/*
 * Builds the board for cfg: RAM, harts (stopped, in reset), devices, and, when
 * with_console, the host console on stdin/stdout. NULL after printing why.
 */
struct machine *machine_create(const struct machine_config *cfg, bool with_console);
void machine_destroy(struct machine *m);
/* Runs every hart on its own thread until the VM stops; returns why. */
enum stop_reason machine_run(struct machine *m);

/* Records why the VM stops (the first request wins) and kicks every hart. */
void machine_request_stop(struct machine *m, enum stop_reason why, int code, const char *msg);
static inline bool machine_stopping(struct machine *m)
{
    return atomic_load_explicit(&m->stop_reason, memory_order_relaxed) != STOP_NONE;
}

/*
 * Presses the power button so the guest can shut down on its own. false when the board
 * has no button, no guest driver runs it, or the bus stays locked for a second (the
 * guest cannot be asked). Call without bus->lock.
 */
bool machine_press_power_button(struct machine *m);

/* A guest store touched the HTIF tohost page at pa: acts on a tohost write. */
void machine_htif_write(struct machine *m, uint64_t pa);

/* Guest-visible mtime, 10 MHz, from the host monotonic clock. */
uint64_t machine_mtime(struct machine *m);
#define MACHINE_TIMEBASE_HZ 10000000ULL

#endif
