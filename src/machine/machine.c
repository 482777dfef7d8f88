#include "machine/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "devices/clint.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "devices/pvpanic.h"
#include "devices/test_finisher.h"
#include "devices/uart16550.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_console.h"
#include "devices/virtio/virtio_input.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/virtio_net.h"
#include "devices/virtio/virtio_rng.h"
#include "host/console.h"
#include "machine/boot.h"
#include "machine/pause.h"
#include "machine/sbi.h"
#include "machine/virt.h"

#ifndef MAP_32BIT /* x86-64 only: elsewhere the count goes anywhere */
#define MAP_32BIT 0
#endif

uint64_t machine_mtime(struct machine *m)
{
    uint64_t frozen = atomic_load(&m->frozen_mtime);
    if (frozen != MTIME_RUNNING)
        return frozen;
    return (monotonic_ns() - atomic_load(&m->boot_ns)) / (1000000000ULL / MACHINE_TIMEBASE_HZ);
}

void machine_request_stop(struct machine *m, enum stop_reason why, int code, const char *msg)
{
    int expected = STOP_NONE;
    if (atomic_compare_exchange_strong(&m->stop_reason, &expected, why)) {
        m->stop_code = code;
        snprintf(m->stop_message, sizeof(m->stop_message), "%s", msg ? msg : "");
    }
    for (unsigned i = 0; i < m->nharts; i++)
        hart_kick(m->harts[i]);
    pause_wake_for_stop(m);
}

void machine_htif_write(struct machine *m, uint64_t pa)
{
    if (pa >> 3 != m->tohost_addr >> 3)
        return;
    uint64_t *tohost = guest_ram_ptr(&m->bus.ram, m->tohost_addr, 8);
    uint64_t *fromhost = m->fromhost_addr ? guest_ram_ptr(&m->bus.ram, m->fromhost_addr, 8) : NULL;
    uint64_t v = tohost ? __atomic_load_n(tohost, __ATOMIC_SEQ_CST) : 0;
    if (v == 0)
        return;
    unsigned dev = v >> 56, cmd = (v >> 48) & 0xff;
    uint64_t payload = v & ((1ULL << 48) - 1);
    if (dev == 0 && cmd == 0 && (payload & 1)) {
        int code = (int)(payload >> 1);
        if (code == 0)
            machine_request_stop(m, STOP_POWEROFF, 0, "test passed (tohost)");
        else
            machine_request_stop(m, STOP_FAIL, code, "test failed (tohost)");
    } else if (dev == 1 && cmd == 1) {
        uint8_t c = payload & 0xff;
        if (m->console)
            console_write(m->console, &c, 1);
        if (fromhost)
            __atomic_store_n(fromhost, (1ULL << 56) | (1ULL << 48), __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(tohost, 0, __ATOMIC_SEQ_CST);
}

/* The harts' view of this board: every hook gets the machine as its board pointer. */
static uint64_t board_time(void *board)
{
    return machine_mtime(board);
}

static bool board_stopping(void *board)
{
    return machine_stopping(board);
}

static void board_ecall(void *board, struct hart *h)
{
    sbi_ecall(board, h);
}

static void board_tohost_store(void *board, uint64_t pa)
{
    machine_htif_write(board, pa);
}

static void board_park(void *board, struct hart *h)
{
    sbi_park(board, h);
}

static void board_held(void *board, struct hart *h)
{
    pause_hold_hart(board, h);
}

static const struct hart_platform_ops builtin_sbi_ops = {
    .time = board_time, .stopping = board_stopping, .ecall = board_ecall,
    .tohost_store = board_tohost_store, .park = board_park, .held = board_held,
};
/* With M-mode firmware of the guest's own (or none), ecalls trap to it. */
static const struct hart_platform_ops guest_firmware_ops = {
    .time = board_time, .stopping = board_stopping,
    .tohost_store = board_tohost_store, .park = board_park, .held = board_held,
};

_Static_assert(MACHINE_MAX_HARTS <= CLINT_MAX_HARTS, "the CLINT serves every hart");
_Static_assert(2 * MACHINE_MAX_HARTS <= PLIC_MAX_CONTEXTS, "two PLIC contexts per hart");
_Static_assert(VIRT_PLIC_NDEV == PLIC_NUM_SOURCES, "the board's PLIC sources");

/* Interrupt inputs of the harts: line = hart << 8 | interrupt number (IRQ_*). */
static void hart_irq_line(void *board, unsigned line, bool level)
{
    struct machine *m = board;
    hart_set_irq(m->harts[line >> 8], 1ULL << (line & 0xff), level);
}

static struct irq_line hart_line(struct machine *m, unsigned hart, unsigned irq)
{
    return (struct irq_line){ .set_level = hart_irq_line, .sink = m, .line = hart << 8 | irq };
}

struct device_slot machine_device_slot(struct machine *m, enum virt_device d, unsigned n)
{
    const struct virt_region *r = &virt_map[d];
    struct device_slot slot = { .bus = &m->bus, .name = r->name, .base = r->base + n * r->size,
                                .size = r->size };
    if (r->irq)
        slot.irq = (struct irq_line){ .set_level = plic_irq_line, .sink = m->plic,
                                      .line = r->irq + n };
    return slot;
}

/* The CLINT's view of the harts: the timer compare is the hart's, which compares it. */
static uint64_t clint_mtime(void *board)
{
    return machine_mtime(board);
}

static uint64_t clint_get_mtimecmp(void *board, unsigned hart)
{
    struct machine *m = board;
    return atomic_load(&m->harts[hart]->arch.mtimecmp);
}

static void clint_set_mtimecmp(void *board, unsigned hart, uint64_t value)
{
    struct machine *m = board;
    atomic_store(&m->harts[hart]->arch.mtimecmp, value);
    hart_kick(m->harts[hart]);
}

static void finisher_finish(void *board, unsigned request, unsigned code)
{
    struct machine *m = board;
    if (request == FINISHER_PASS) {
        machine_request_stop(m, STOP_POWEROFF, 0, "guest powered off");
    } else if (request == FINISHER_RESET) {
        machine_request_stop(m, STOP_REBOOT, 0, "guest requested reboot");
    } else {
        char msg[64];
        snprintf(msg, sizeof(msg), "guest reported failure %u", code);
        machine_request_stop(m, STOP_FAIL, (int)code, msg);
    }
}

/* Guest output of the UART and the virtio console goes to the host console, if any. */
static void console_output(void *board, const uint8_t *buf, size_t n)
{
    struct machine *m = board;
    if (m->console)
        console_write(m->console, buf, n);
}

/* Host console input goes to the virtio console when there is one, else the UART. */
static size_t console_to_guest(void *board, const uint8_t *buf, size_t n)
{
    struct machine *m = board;
    if (m->bus.paused)
        return 0;
    return m->console_input ? virtio_console_receive(m->console_input, buf, n)
                            : uart_receive(m->uart, buf, n);
}

static void console_wait_for_uart(void *board, const struct timespec *deadline)
{
    uart_wait_rx_space(((struct machine *)board)->uart, deadline);
}

static void console_wake(void *board)
{
    uart_wake_receiver(((struct machine *)board)->uart);
}

static void console_quit(void *board)
{
    machine_request_stop(board, STOP_USER, 0, "terminated by Ctrl-A x");
}

static bool console_vm_stopping(void *board)
{
    return machine_stopping(board);
}

struct console *machine_console_create(struct machine *m, int in_fd, int out_fd)
{
    struct console_guest guest = {
        .ctx = m, .lock = &m->bus.lock, .receive = console_to_guest,
        .wait_for_room = console_wait_for_uart, .wake = console_wake, .quit = console_quit,
        .stopping = console_vm_stopping,
    };
    return console_create(&guest, in_fd, out_fd);
}

/* The board's fixed devices, each at its place in virt_map. */
static void pvpanic_report(void *ctx, unsigned event)
{
    if (event == PVPANIC_PANICKED)
        machine_request_stop(ctx, STOP_PANIC, 0, "guest panicked");
    else /* the guest boots its kdump kernel: stopping it would lose the dump */
        rvm_error("guest panicked; its crash kernel is loaded and runs on");
}

static bool create_board_devices(struct machine *m)
{
    struct clint_harts harts = {
        .nharts = m->nharts, .ctx = m, .mtime = clint_mtime,
        .get_mtimecmp = clint_get_mtimecmp, .set_mtimecmp = clint_set_mtimecmp,
    };
    struct irq_line contexts[2 * MACHINE_MAX_HARTS];
    for (unsigned i = 0; i < m->nharts; i++) {
        harts.msip[i] = hart_line(m, i, IRQ_MSI);
        contexts[2 * i] = hart_line(m, i, IRQ_MEI);
        contexts[2 * i + 1] = hart_line(m, i, IRQ_SEI);
    }
    struct device_slot slot = machine_device_slot(m, VIRT_CLINT, 0);
    if (!(m->clint = clint_create(&slot, &harts)))
        return false;
    slot = machine_device_slot(m, VIRT_PLIC, 0);
    if (!(m->plic = plic_create(&slot, 2 * m->nharts, contexts)))
        return false;
    struct byte_sink output = { .write = console_output, .ctx = m };
    slot = machine_device_slot(m, VIRT_UART0, 0);
    if (!(m->uart = uart_create(&slot, &output)))
        return false;
    struct test_finisher_hooks finish = { .finish = finisher_finish, .ctx = m };
    slot = machine_device_slot(m, VIRT_TEST, 0);
    if (!(m->finisher = test_finisher_create(&slot, &finish)))
        return false;
    slot = machine_device_slot(m, VIRT_RTC, 0);
    if (!(m->rtc = goldfish_rtc_create(&slot)))
        return false;
    struct pvpanic_hooks panic = { .report = pvpanic_report, .ctx = m };
    slot = machine_device_slot(m, VIRT_PVPANIC, 0);
    return (m->pvpanic = pvpanic_create(&slot, &panic)) != NULL;
}

static bool add_virtio(struct machine *m, struct virtio_mmio *vm)
{
    if (!vm)
        return false;
    m->virtio[m->nvirtio++] = vm;
    return true;
}

/* Fills the virtio slots in order: disks, rng, console, NICs, then the power button if a slot is left. */
static bool create_virtio_devices(struct machine *m, const struct machine_config *cfg)
{
    unsigned wanted = cfg->ndisks + cfg->rng + (cfg->console == CONSOLE_VIRTIO) + cfg->nnets;
    if (wanted > VIRT_VIRTIO_COUNT) {
        rvm_error("too many virtio devices: %u (the board has %d slots)", wanted,
                  VIRT_VIRTIO_COUNT);
        return false;
    }
    struct device_slot slot;
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        slot = machine_device_slot(m, VIRT_VIRTIO, m->nvirtio);
        if (!add_virtio(m, virtio_blk_create(&slot, &cfg->disks[i], &m->disks[i])))
            return false;
    }
    slot = machine_device_slot(m, VIRT_VIRTIO, m->nvirtio);
    if (cfg->rng && !add_virtio(m, virtio_rng_create(&slot)))
        return false;
    if (cfg->console == CONSOLE_VIRTIO) {
        struct virtio_console *vc;
        struct byte_sink output = { .write = console_output, .ctx = m };
        slot = machine_device_slot(m, VIRT_VIRTIO, m->nvirtio);
        if (!add_virtio(m, virtio_console_create(&slot, &output, &vc)))
            return false;
        pthread_mutex_lock(&m->bus.lock);
        m->console_input = vc;
        pthread_mutex_unlock(&m->bus.lock);
    }
    for (unsigned i = 0; i < cfg->nnets; i++) {
        slot = machine_device_slot(m, VIRT_VIRTIO, m->nvirtio);
        if (!add_virtio(m, virtio_net_create(&slot, &cfg->nets[i], &m->nics[i])))
            return false;
    }
    if (cfg->power_button && m->nvirtio < VIRT_VIRTIO_COUNT) {
        slot = machine_device_slot(m, VIRT_VIRTIO, m->nvirtio);
        if (!add_virtio(m, virtio_input_create(&slot, &m->power_button)))
            return false;
    }
    return true;
}

bool machine_press_power_button(struct machine *m)
{
    if (!m->power_button)
        return false;
    machine_resume(m);
    /* A VM stuck with the lock held (its console output blocked) cannot be asked. */
    struct timespec t = timespec_in(CLOCK_REALTIME, 1000000000LL);
    if (pthread_mutex_timedlock(&m->bus.lock, &t) != 0)
        return false;
    bool seen = virtio_input_press_power(m->power_button);
    pthread_mutex_unlock(&m->bus.lock);
    return seen;
}

void machine_disk_stats(struct machine *m, unsigned i, struct virtio_blk_stats *s)
{
    virtio_blk_get_stats(m->disks[i], s);
}

void machine_nic_stats(struct machine *m, unsigned i, struct virtio_net_stats *s)
{
    pthread_mutex_lock(&m->bus.lock);
    virtio_net_get_stats(m->nics[i], s);
    pthread_mutex_unlock(&m->bus.lock);
}

/* Guest RAM from cfg->memory_file, which must hold exactly memory_size bytes. */
static int map_memory_file(struct machine *m, const struct machine_config *cfg)
{
    int fd = open(cfg->memory_file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rvm_error("%s: %s", cfg->memory_file, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = -1;
    if ((uint64_t)st.st_size != cfg->memory_size)
        rvm_error("%s: %lld bytes, not the %llu of guest memory", cfg->memory_file,
                  (long long)st.st_size, (unsigned long long)cfg->memory_size);
    else if ((rc = guest_ram_init_file(&m->bus.ram, VIRT_DRAM_BASE, cfg->memory_size, fd)) < 0)
        rvm_error("%s: cannot map it: %s", cfg->memory_file, strerror(errno));
    close(fd);  /* the mapping keeps the file */
    return rc;
}

struct machine *machine_create(const struct machine_config *cfg, bool with_console)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        rvm_error("out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    atomic_init(&m->boot_ns, monotonic_ns());
    pause_init(m);
    bus_init(&m->bus);
    if (cfg->memory_file) {
        if (map_memory_file(m, cfg) < 0)
            goto fail;
    } else if (guest_ram_init(&m->bus.ram, VIRT_DRAM_BASE, cfg->memory_size) < 0) {
        rvm_error("cannot allocate %llu MiB of guest memory: %s",
                  (unsigned long long)(cfg->memory_size >> 20), strerror(errno));
        goto fail;
    }
    /* Below 2 GiB, translated stores test the count with one instruction (an absolute
     * 32-bit address); anywhere else will do, at one more. */
    m->reservations_live = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (m->reservations_live == MAP_FAILED)
        m->reservations_live = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m->reservations_live == MAP_FAILED) {
        m->reservations_live = NULL;
        rvm_error("out of memory");
        goto fail;
    }
    atomic_init(m->reservations_live, 0);
    struct hart_config hcfg = {
        .translate = !cfg->interpret_only,
        .jit_hot_runs = cfg->jit_hot_runs,
        .jit_code_size = cfg->jit_code_size,
        .trace = cfg->trace,
        .hypervisor = cfg->hypervisor,
        .platform = {
            .ops = cfg->firmware == FIRMWARE_BUILTIN_SBI ? &builtin_sbi_ops : &guest_firmware_ops,
            .board = m,
            .bus = &m->bus,
            .timebase_hz = MACHINE_TIMEBASE_HZ,
            .tohost_addr = &m->tohost_addr,
            .harts = m->harts,
            .nharts = &m->nharts,
            .reservations_live = m->reservations_live,
            .sole_hart = cfg->nharts == 1,
        },
    };
    for (unsigned i = 0; i < cfg->nharts; i++) {
        struct hart *h = aligned_alloc(64, (sizeof(struct hart) + 63) & ~(size_t)63);
        hcfg.id = i;
        if (!h || hart_init(h, &hcfg) < 0) {
            free(h);
            rvm_error("out of memory");
            goto fail;
        }
        m->harts[m->nharts++] = h;
    }
    if (!create_board_devices(m))
        goto fail;
    if (with_console && !(m->console = machine_console_create(m, 0, 1)))
        goto fail;
    if (!create_virtio_devices(m, cfg))
        goto fail;
    return m;
fail:
    machine_destroy(m);
    return NULL;
}

void machine_destroy(struct machine *m)
{
    if (!m)
        return;
    /* The console first: its reader may be feeding the virtio console. */
    if (m->console)
        console_destroy(m->console);
    for (unsigned i = 0; i < m->nvirtio; i++)
        virtio_mmio_destroy(m->virtio[i]);
    if (m->pvpanic)
        pvpanic_destroy(m->pvpanic);
    if (m->rtc)
        goldfish_rtc_destroy(m->rtc);
    if (m->finisher)
        test_finisher_destroy(m->finisher);
    if (m->uart)
        uart_destroy(m->uart);
    if (m->plic)
        plic_destroy(m->plic);
    if (m->clint)
        clint_destroy(m->clint);
    for (unsigned i = 0; i < m->nharts; i++) {
        hart_destroy(m->harts[i]);
        free(m->harts[i]);
    }
    if (m->reservations_live)
        munmap((void *)m->reservations_live, 4096);
    bus_destroy(&m->bus);
    pause_destroy(m);
    free(m);
}

enum stop_reason machine_run(struct machine *m)
{
    unsigned started = 0;
    pause_harts_starting(m);
    for (; started < m->nharts; started++) {
        int rc = pthread_create(&m->harts[started]->thread, NULL, hart_thread, m->harts[started]);
        if (rc) {
            rvm_error("cannot start a thread for hart %u: %s", started, strerror(rc));
            machine_request_stop(m, STOP_ERROR, 1, "thread creation failed");
            break;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(m->harts[i]->thread, NULL);
    pause_harts_ended(m);
    return atomic_load(&m->stop_reason);
}
