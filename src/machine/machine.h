/*
 * A VM: the harts, the bus with its devices, and the reason it stopped.
 * The memory map is QEMU's virt board (see virt.h); the machine owns every device.
 */
#ifndef RACKVM_MACHINE_H
#define RACKVM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>

#include "common.h"
#include "devices/device.h"
#include "devices/virtio/virtio_blk.h"
#include "machine/sbi.h"
#include "machine/virt.h"
#include "memory/bus.h"

#define MACHINE_MAX_HARTS 32
_Static_assert(MACHINE_MAX_HARTS <= HART_BOARD_MAX, "a board the CPU layer can serve");

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
struct virtio_console;
struct virtio_blk;
struct virtio_blk_stats;
struct virtio_net;
struct virtio_net_stats;
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

struct machine_config {
    uint64_t memory_size;
    unsigned nharts;
    const char *kernel_path, *initrd_path, *cmdline, *firmware_path, *dump_dtb_path;
    /* kernel_path, initrd_path and firmware_path as the run keeps them open (see kept_file). */
    struct kept_file kernel_file, initrd_file, firmware_file;
    enum firmware_kind firmware;
    bool reboot_restarts;   /* --on-reboot restart */
    bool trace;
    bool interpret_only;    /* no translation to host code (--jit off) */
    unsigned jit_hot_runs;  /* runs before a block is translated; 0: the default */
    size_t jit_code_size;   /* each hart's code buffer (--jit-cache-mib); 0: the default */
    bool hypervisor;        /* the harts have the H extension (--cpu h=on, the default) */
    /* virtio devices take the virtio slots in this order: disks, rng, console. */
    struct disk_config disks[VIRT_VIRTIO_COUNT];
    unsigned ndisks;
    bool rng;                  /* --rng */
    enum console_kind console; /* --console: where host console input goes */
    const struct net_config *nets;  /* --net: virtio-net NICs, after the devices above */
    unsigned nnets;
    /* A virtio-input power button in the first slot the devices above leave free. */
    bool power_button;
    /* Guest RAM mapped copy-on-write from this file of memory_size bytes (a snapshot's
     * memory, see snapshot.h) instead of zeroed memory; NULL: zeroed. */
    const char *memory_file;
};

struct machine {
    struct machine_config cfg;
    struct bus bus;
    struct hart *harts[MACHINE_MAX_HARTS];
    unsigned nharts;
    _Atomic unsigned *reservations_live; /* hart_platform's, on a page of its own below 2 GiB if it can */
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
    struct virtio_console *console_input;  /* takes host console input, else the UART */
    struct virtio_input *power_button;  /* NULL: not asked for, or no slot left */
    struct virtio_blk *disks[VIRT_VIRTIO_COUNT];  /* cfg.disks[i]'s device */
    struct virtio_net *nics[VIRT_VIRTIO_COUNT];   /* cfg.nets[i]'s device */

    /* HTIF tohost/fromhost of a bare-metal ELF (0 when the ELF has none). */
    uint64_t tohost_addr, fromhost_addr;

    /* Host monotonic time at mtime 0; moved forward by the length of each pause. */
    _Atomic uint64_t boot_ns;
    _Atomic uint64_t frozen_mtime;  /* mtime while paused; MTIME_RUNNING otherwise */

    /* Pause (machine/pause.c). control_lock orders pause, resume and the end of
     * machine_run; hold_lock (taken under nothing but control_lock) counts held harts. */
    pthread_mutex_t control_lock, hold_lock;
    pthread_cond_t hold_changed;
    unsigned nheld;     /* harts in the held hook, under hold_lock */
    bool harts_running; /* between machine_run's start of the harts and their end */
    bool paused;        /* under control_lock */
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
/* The slot of the n-th window of device d in virt_map, wired to its PLIC source. */
struct device_slot machine_device_slot(struct machine *m, enum virt_device d, unsigned n);

/* A host console on in_fd/out_fd for m's UART (for m->console). NULL after printing why. */
struct console *machine_console_create(struct machine *m, int in_fd, int out_fd);

/* Runs every hart on its own thread until the VM stops; returns why. */
enum stop_reason machine_run(struct machine *m);

/* Records why the VM stops (the first request wins) and kicks every hart. */
void machine_request_stop(struct machine *m, enum stop_reason why, int code, const char *msg);
static inline bool machine_stopping(struct machine *m)
{
    return atomic_load_explicit(&m->stop_reason, memory_order_relaxed) != STOP_NONE;
}

/*
 * Presses the power button so the guest can shut down on its own (a paused VM is
 * resumed first, so that it can answer). false when the board has no button, no guest
 * driver runs it, or the bus stays locked for a second (the guest cannot be asked).
 * Call without bus->lock.
 */
bool machine_press_power_button(struct machine *m);

/* Counters of disk i (cfg.disks[i]) and NIC i (cfg.nets[i]) since the machine was
 * created. Thread-safe; call without bus->lock. */
void machine_disk_stats(struct machine *m, unsigned i, struct virtio_blk_stats *s);
void machine_nic_stats(struct machine *m, unsigned i, struct virtio_net_stats *s);

/* A guest store touched the HTIF tohost page at pa: acts on a tohost write. */
void machine_htif_write(struct machine *m, uint64_t pa);

/* Guest-visible mtime, 10 MHz, from the host monotonic clock; it stands still while
 * the VM is paused. */
uint64_t machine_mtime(struct machine *m);
#define MACHINE_TIMEBASE_HZ 10000000ULL
#define MTIME_RUNNING UINT64_MAX

/*
 * Pause and resume of the whole VM (machine/pause.c); thread-safe, from any thread but
 * a hart's. machine_pause returns true once every hart is held at an instruction
 * boundary (outside translated code, no bus access under way; HSM-stopped harts stay
 * as they are), the device threads have completed every request they took and touch
 * neither guest memory nor device state, and mtime stands still. Console input waits
 * in the host; Ctrl-A x and signals still stop a paused VM. Pausing a paused VM does
 * nothing; false, nothing changed: the VM is stopping, machine_run has not started or
 * has ended, or a hart did not come within 5 s (stuck in a bus access: console output
 * nobody reads). Device requests under way are waited for (disk I/O completes).
 * machine_resume lets it run on from the same mtime (the guest sees no jump in time);
 * on a VM that is not paused it does nothing. machine_run ends a pause when it returns.
 */
bool machine_pause(struct machine *m);
void machine_resume(struct machine *m);
bool machine_paused(struct machine *m);

#endif
