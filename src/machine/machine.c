#include "machine/machine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#include "machine/sbi.h"
#include "machine/virt.h"

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t machine_mtime(struct machine *m)
{
    return (monotonic_ns() - m->boot_ns) / (1000000000ULL / MACHINE_TIMEBASE_HZ);
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

static const struct hart_platform_ops builtin_sbi_ops = {
    .time = board_time, .stopping = board_stopping, .ecall = board_ecall,
    .tohost_store = board_tohost_store, .park = board_park,
};
/* With M-mode firmware of the guest's own (or none), ecalls trap to it. */
static const struct hart_platform_ops guest_firmware_ops = {
    .time = board_time, .stopping = board_stopping,
    .tohost_store = board_tohost_store, .park = board_park,
};

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
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if (!add_virtio(m, virtio_blk_create(m, m->nvirtio, &cfg->disks[i])))
            return false;
    if (cfg->rng && !add_virtio(m, virtio_rng_create(m, m->nvirtio)))
        return false;
    if (cfg->console == CONSOLE_VIRTIO) {
        struct virtio_console *vc;
        if (!add_virtio(m, virtio_console_create(m, m->nvirtio, &vc)))
            return false;
        if (m->console) {
            pthread_mutex_lock(&m->bus.lock);
            console_set_receiver(m->console, virtio_console_receive, vc);
            pthread_mutex_unlock(&m->bus.lock);
        }
    }
    for (unsigned i = 0; i < cfg->nnets; i++)
        if (!add_virtio(m, virtio_net_create(m, m->nvirtio, &cfg->nets[i], NULL)))
            return false;
    if (cfg->power_button && m->nvirtio < VIRT_VIRTIO_COUNT &&
        !add_virtio(m, virtio_input_create(m, m->nvirtio, &m->power_button)))
        return false;
    return true;
}

bool machine_press_power_button(struct machine *m)
{
    if (!m->power_button)
        return false;
    /* A VM stuck with the lock held (its console output blocked) cannot be asked. */
    struct timespec t = timespec_in(CLOCK_REALTIME, 1000000000LL);
    if (pthread_mutex_timedlock(&m->bus.lock, &t) != 0)
        return false;
    bool seen = virtio_input_press_power(m->power_button);
    pthread_mutex_unlock(&m->bus.lock);
    return seen;
}

struct machine *machine_create(const struct machine_config *cfg, bool with_console)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        rvm_error("out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->boot_ns = monotonic_ns();
    bus_init(&m->bus);
    if (guest_ram_init(&m->bus.ram, VIRT_DRAM_BASE, cfg->memory_size) < 0) {
        rvm_error("cannot allocate %llu MiB of guest memory: %s",
                  (unsigned long long)(cfg->memory_size >> 20), strerror(errno));
        goto fail;
    }
    struct hart_config hcfg = {
        .translate = !cfg->interpret_only,
        .jit_hot_runs = cfg->jit_hot_runs,
        .trace = cfg->trace,
        .platform = {
            .ops = cfg->firmware == FIRMWARE_BUILTIN_SBI ? &builtin_sbi_ops : &guest_firmware_ops,
            .board = m,
            .bus = &m->bus,
            .timebase_hz = MACHINE_TIMEBASE_HZ,
            .tohost_addr = &m->tohost_addr,
            .harts = m->harts,
            .nharts = &m->nharts,
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
    m->clint = clint_create(m);
    m->plic = m->clint ? plic_create(m) : NULL;
    m->uart = m->plic ? uart_create(m) : NULL;
    m->finisher = m->uart ? test_finisher_create(m) : NULL;
    m->rtc = m->finisher ? goldfish_rtc_create(m) : NULL;
    m->pvpanic = m->rtc ? pvpanic_create(m) : NULL;
    if (!m->pvpanic)
        goto fail;
    if (with_console && !(m->console = console_create(m, 0, 1)))
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
    bus_destroy(&m->bus);
    free(m);
}

enum stop_reason machine_run(struct machine *m)
{
    unsigned started = 0;
    for (; started < m->nharts; started++) {
        int rc = pthread_create(&m->harts[started]->thread, NULL, hart_thread, m->harts[started]);
        if (rc) {
            rvm_error("cannot start a thread for hart %u: %s", started, strerror(rc));
            machine_request_stop(m, STOP_ERROR, 1, "thread creation failed");
            break;
        }
        char name[16];
        snprintf(name, sizeof(name), "hart%u", started);
        pthread_setname_np(m->harts[started]->thread, name);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(m->harts[i]->thread, NULL);
    return atomic_load(&m->stop_reason);
}
