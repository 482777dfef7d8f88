#include "cpu/hart.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cpu/csr.h"
#include "cpu/debug.h"
#include "cpu/interp.h"
#include "cpu/mmu.h"
#include "cpu/rvc.h"
#include "cpu/trigger.h"

/* Instructions between checks of timers, interrupts and requests from other threads. */
#define HART_SLICE 8192

int hart_init(struct hart *h, const struct hart_config *cfg)
{
    memset(h, 0, sizeof(*h));
    rvc_init();
    if (interp_init(h, cfg->translate, cfg->jit_hot_runs, cfg->jit_code_size) < 0)
        return -1;
    h->arch.id = cfg->id;
    atomic_init(&h->arch.reservation, ~0ULL); /* none to clear in the reset below */
    h->platform = cfg->platform;
    h->ram = &cfg->platform.bus->ram;
    h->trace = cfg->trace;
    h->hypervisor = cfg->hypervisor;
    mmu_tlb_init(h);
    pthread_mutex_init(&h->sfence_lock, NULL);
    atomic_init(&h->parked, true);
    hart_reset(h, 0);
    return 0;
}

void hart_destroy(struct hart *h)
{
    interp_destroy(h);
    pthread_mutex_destroy(&h->sfence_lock);
}

void hart_reset(struct hart *h, uint64_t reset_pc)
{
    struct hart_state s = {
        .pc = reset_pc,
        .id = h->arch.id,
        .priv = PRIV_M,
        .mstatus = (2ULL << 32) | (2ULL << 34), /* UXL = SXL = 64 */
        .mtimecmp = ~0ULL,
        .stimecmp = ~0ULL,
        .vstimecmp = ~0ULL,
        .reservation = ~0ULL,
    };
    s.x[10] = s.id;
    trigger_reset(&s);
    hart_load_state(h, &s);
}

void hart_load_state(struct hart *h, const struct hart_state *s)
{
    hart_clear_reservation(h);
    h->arch = *s;
    if (!h->hypervisor)
        h->arch.virt = 0; /* a loaded state is not trusted to enter modes that do not exist */
    if (atomic_load(&h->arch.reservation) != ~0ULL)
        mmu_reservations_count(h, 1);
    mmu_update_ctx(h);
    trigger_update(h);
    mmu_pmp_changed(h);
}

void hart_set_priv(struct hart *h, enum priv p)
{
    h->arch.priv = p;
    mmu_update_ctx(h);
}

void hart_set_mode(struct hart *h, enum priv p, bool virt)
{
    h->arch.virt = virt;
    hart_set_priv(h, p);
}

void hart_clear_reservation(struct hart *h)
{
    uint64_t r = atomic_load(&h->arch.reservation);
    if (r != ~0ULL && atomic_compare_exchange_strong(&h->arch.reservation, &r, ~0ULL))
        mmu_reservations_count(h, -1);
}

/* [*lo, *hi): the pages a remote sfence.vma names (size 0 or -1: all). */
static void sfence_bounds(uint64_t start, uint64_t size, uint64_t *lo, uint64_t *hi)
{
    bool all = size == 0 || start + size < start;
    *lo = all ? 0 : start;
    *hi = all ? ~0ULL : start + size;
}

void hart_sfence(struct hart *h, uint64_t start, uint64_t size, uint64_t asid)
{
    uint64_t lo, hi;
    sfence_bounds(start, size, &lo, &hi);
    if (asid == SFENCE_EVERY_ASID)
        mmu_flush_range(h, lo, hi - lo, false);
    else
        mmu_flush_asid(h, asid, lo, hi - lo);
}

void hart_request_sfence(struct hart *h, uint64_t start, uint64_t size, uint64_t asid)
{
    uint64_t lo, hi;
    sfence_bounds(start, size, &lo, &hi);
    pthread_mutex_lock(&h->sfence_lock);
    if (h->sfence_lo < h->sfence_hi) { /* one still pending: both ranges go */
        lo = lo < h->sfence_lo ? lo : h->sfence_lo;
        hi = hi > h->sfence_hi ? hi : h->sfence_hi;
        if (asid != h->sfence_asid) /* two ASIDs' (rare: a fence per caller in flight) */
            asid = SFENCE_EVERY_ASID;
    }
    h->sfence_lo = lo;
    h->sfence_hi = hi;
    h->sfence_asid = asid;
    pthread_mutex_unlock(&h->sfence_lock);
    atomic_store(&h->tlb_flush_request, true);
}

static bool stopping(const struct hart *h)
{
    return h->platform.ops->stopping(h->platform.board);
}

/* Wakes the harts waiting in hart_await_fence for h: it served their fences or sleeps. */
static void fence_progress(struct hart *h)
{
    atomic_fetch_add(&h->fence_seq, 1);
    if (atomic_load(&h->fence_waiters))
        syscall(SYS_futex, &h->fence_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Executes nothing until woken: other harts' fences need not wait for it. */
static void start_sleeping(struct hart *h)
{
    atomic_store(&h->sleeping, true);
    fence_progress(h);
}

void hart_serve_fence_requests(struct hart *h)
{
    bool served = false;
    if (atomic_exchange(&h->tlb_flush_request, false)) {
        served = true;
        pthread_mutex_lock(&h->sfence_lock);
        uint64_t lo = h->sfence_lo, hi = h->sfence_hi, asid = h->sfence_asid;
        h->sfence_lo = h->sfence_hi = 0;
        pthread_mutex_unlock(&h->sfence_lock);
        if (lo < hi)
            hart_sfence(h, lo, hi - lo, asid);
    }
    if (atomic_exchange(&h->hfence_request, false)) {
        served = true;
        mmu_flush_gstage(h);
    }
    if (atomic_exchange(&h->fence_i_request, false)) {
        served = true;
        hart_fence_i(h);
    }
    if (served)
        fence_progress(h);
}

/*
 * A target that runs on a host CPU serves the fence at the end of its slice, within
 * microseconds: spin that long. One the host has descheduled (a busy host) may take
 * milliseconds: then sleep until it wakes us, rather than take host CPU from it and every
 * other thread (sched_yield cost the caller a host time slice per call on a busy host).
 */
#define FENCE_SPIN_NS 20000
/* The longest sleep between looks at whether the VM stops. */
#define FENCE_SLEEP_NS 1000000

void hart_await_fence(struct hart *self, struct hart *t, const _Atomic bool *request)
{
    /* Counted as sleeping, so that a fence t asks of self meanwhile does not wait for it
     * (two harts fencing each other at once would wait forever): it is served below. */
    start_sleeping(self);
    uint64_t spin_end = monotonic_ns() + FENCE_SPIN_NS;
    for (;;) {
        uint32_t seen = atomic_load(&t->fence_seq);
        if (!atomic_load(request) || atomic_load(&t->sleeping) || stopping(self))
            break;
        if (monotonic_ns() < spin_end)
            continue;
        /* Announced before the request is read again: a target that clears it after that
         * read sees the waiter, and one that cleared it before moved fence_seq. */
        atomic_fetch_add(&t->fence_waiters, 1);
        if (atomic_load(request) && !atomic_load(&t->sleeping)) {
            struct timespec ts = { .tv_nsec = FENCE_SLEEP_NS };
            syscall(SYS_futex, &t->fence_seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
        }
        atomic_fetch_sub(&t->fence_waiters, 1);
    }
    atomic_store(&self->sleeping, false);
    hart_serve_fence_requests(self);
}

void hart_pause(struct hart *h)
{
    /* Linux's cpu_relax: an idle hart woken into del_timer_sync spun ~10 M instructions
     * a second waiting for the busy one; where they share a host CPU, that one waits. */
    if (!h->platform.sole_hart)
        sched_yield();
}

void hart_fence_i(struct hart *h)
{
    (void)h;
    /*
     * Decoded blocks need no flush: every write to guest RAM is reported (guest_ram.h)
     * and invalidates the cached code it overlaps, so none is ever stale. Only other
     * harts' stores must become visible to this hart's fetches.
     */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Causes whose tval is a virtual address: with V=1 it is a guest's (the GVA bits). */
static bool tval_is_address(unsigned code)
{
    return code <= EXC_STORE_ACCESS ? code != EXC_ILLEGAL_INSN && code != EXC_BREAKPOINT
                                    : code == EXC_INSN_PAGE_FAULT || code == EXC_LOAD_PAGE_FAULT ||
                                      code == EXC_STORE_PAGE_FAULT || code == EXC_INSN_GUEST_PAGE_FAULT ||
                                      code == EXC_LOAD_GUEST_PAGE_FAULT || code == EXC_STORE_GUEST_PAGE_FAULT;
}

/* A trap taken in VS-mode (V stays 1): the vs* CSRs, VS interrupts at the S causes. */
static void vs_trap(struct hart *h, bool irq, unsigned code, uint64_t tval)
{
    if (irq)
        code--; /* VSSI/VSTI/VSEI are SSI/STI/SEI to the guest */
    uint64_t s = h->arch.vsstatus;
    h->arch.vscause = (irq ? 1ULL << 63 : 0) | code;
    h->arch.vsepc = h->arch.pc;
    h->arch.vstval = tval;
    h->arch.vsstatus = (s & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP)) | ((s & MSTATUS_SIE) ? MSTATUS_SPIE : 0) |
                       (h->arch.priv == PRIV_S ? MSTATUS_SPP : 0);
    h->arch.pc = (h->arch.vstvec & ~3ULL) + ((h->arch.vstvec & 1) && irq ? 4ULL * code : 0);
    hart_set_priv(h, PRIV_S);
}

/* tval2: a guest-page fault's guest physical address (0 otherwise), tinst: htinst/mtinst,
 * guest_va: tval is a guest virtual address even with V=0 (HLV/HSV). */
static void hart_trap(struct hart *h, uint64_t cause, uint64_t tval, uint64_t tval2, uint32_t tinst,
                      bool guest_va)
{
    /* A trap ends any LR/SC sequence (as on Spike): later stores need not check it. */
    hart_clear_reservation(h);
    bool irq = cause >> 63;
    unsigned code = cause & 63;
    bool virt = h->arch.virt;
    bool gva = (virt || guest_va) && !irq && tval_is_address(code);
    uint64_t deleg = irq ? hart_mideleg(h) : h->arch.medeleg;
    uint64_t s = h->arch.mstatus;
    if (h->arch.priv <= PRIV_S && ((deleg >> code) & 1)) {
        if (virt && (((irq ? h->arch.hideleg : h->arch.hedeleg) >> code) & 1)) {
            vs_trap(h, irq, code, tval);
            return;
        }
        h->arch.scause = cause;
        h->arch.sepc = h->arch.pc;
        h->arch.stval = tval;
        if (h->hypervisor) {
            uint64_t hs = h->arch.hstatus & ~(HSTATUS_SPV | HSTATUS_GVA);
            if (virt)
                hs = (hs & ~HSTATUS_SPVP) | HSTATUS_SPV | (h->arch.priv == PRIV_S ? HSTATUS_SPVP : 0);
            h->arch.hstatus = hs | (gva ? HSTATUS_GVA : 0);
            h->arch.htval = tval2 >> 2;
            h->arch.htinst = tinst;
        }
        s = (s & ~(MSTATUS_SPIE | MSTATUS_SIE | MSTATUS_SPP)) | ((s & MSTATUS_SIE) ? MSTATUS_SPIE : 0) |
            (h->arch.priv == PRIV_S ? MSTATUS_SPP : 0);
        h->arch.mstatus = s;
        h->arch.pc = (h->arch.stvec & ~3ULL) + ((h->arch.stvec & 1) && irq ? 4ULL * code : 0);
        hart_set_mode(h, PRIV_S, false);
    } else {
        /* Sdtrig: no M-mode trigger fires in the handler; mret restores mte from mpte. */
        h->arch.tcontrol = (h->arch.tcontrol & TCONTROL_MTE) ? TCONTROL_MPTE : 0;
        h->arch.mcause = cause;
        h->arch.mepc = h->arch.pc;
        h->arch.mtval = tval;
        s = (s & ~(MSTATUS_MPIE | MSTATUS_MIE | MSTATUS_MPP | MSTATUS_MPV | MSTATUS_GVA)) |
            ((s & MSTATUS_MIE) ? MSTATUS_MPIE : 0) | ((uint64_t)h->arch.priv << MSTATUS_MPP_SHIFT) |
            (virt ? MSTATUS_MPV : 0) | (gva ? MSTATUS_GVA : 0);
        h->arch.mstatus = s;
        if (h->hypervisor) {
            h->arch.mtval2 = tval2 >> 2;
            h->arch.mtinst = tinst;
        }
        h->arch.pc = (h->arch.mtvec & ~3ULL) + ((h->arch.mtvec & 1) && irq ? 4ULL * code : 0);
        hart_set_mode(h, PRIV_M, false);
    }
}

void hart_raise_exception(struct hart *h, uint64_t cause, uint64_t tval)
{
    if (cause == EXC_ECALL_S && h->platform.ops->ecall && !((h->arch.medeleg >> EXC_ECALL_S) & 1)) {
        /* The monitor is the SBI implementation: serve the hypercall and return. */
        h->arch.pc += 4;
        h->platform.ops->ecall(h->platform.board, h);
        return;
    }
    hart_trap(h, cause, tval, 0, 0, false);
}

void hart_raise_guest_fault(struct hart *h, uint64_t cause, uint64_t tval, uint64_t gpa, uint32_t tinst)
{
    hart_trap(h, cause, tval, gpa, tinst, true);
}

uint64_t hart_mret(struct hart *h)
{
    uint64_t s = h->arch.mstatus;
    unsigned mpp = (s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
    bool virt = mpp != PRIV_M && (s & MSTATUS_MPV);
    s = (s & ~(MSTATUS_MIE | MSTATUS_MPP | MSTATUS_MPV)) | ((s & MSTATUS_MPIE) ? MSTATUS_MIE : 0) | MSTATUS_MPIE;
    if (mpp != PRIV_M)
        s &= ~MSTATUS_MPRV;
    h->arch.mstatus = s;
    h->arch.tcontrol = (h->arch.tcontrol & ~TCONTROL_MTE) | ((h->arch.tcontrol & TCONTROL_MPTE) ? TCONTROL_MTE : 0);
    hart_set_mode(h, mpp, virt);
    return h->arch.mepc;
}

uint64_t hart_sret(struct hart *h)
{
    if (h->arch.virt) { /* from VS-mode: the guest's own sstatus, V stays 1 */
        uint64_t vs = h->arch.vsstatus;
        h->arch.vsstatus = (vs & ~(MSTATUS_SIE | MSTATUS_SPP)) | ((vs & MSTATUS_SPIE) ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
        hart_set_priv(h, (vs & MSTATUS_SPP) ? PRIV_S : PRIV_U);
        return h->arch.vsepc;
    }
    uint64_t s = h->arch.mstatus;
    unsigned spp = (s & MSTATUS_SPP) ? PRIV_S : PRIV_U;
    bool virt = h->arch.hstatus & HSTATUS_SPV;
    s = (s & ~(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV)) | ((s & MSTATUS_SPIE) ? MSTATUS_SIE : 0) | MSTATUS_SPIE;
    h->arch.mstatus = s;
    h->arch.hstatus &= ~HSTATUS_SPV;
    hart_set_mode(h, spp, virt);
    return h->arch.sepc;
}

/* ---- interrupts and timers ---- */

/*
 * The hart's sleeps are futex waits on wake_seq rather than a condition variable: an
 * idle guest's every tick ended in a second system call, the futex wake glibc makes
 * for the mutex it takes back after the wait. A sleeper reads wake_seq, then checks
 * why it would wake, then waits while wake_seq holds what it read; a waker changes
 * that why first, then bumps wake_seq, so that it is either seen or ends the wait.
 * timeout_ns < 0: none; the wait is relative, on CLOCK_MONOTONIC, as mtime is.
 */
static void wait_for_wake(struct hart *h, uint32_t seen, int64_t timeout_ns)
{
    struct timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    syscall(SYS_futex, &h->wake_seq, FUTEX_WAIT_PRIVATE, seen, timeout_ns < 0 ? NULL : &ts, NULL, 0);
}

static void end_wait(struct hart *h)
{
    syscall(SYS_futex, &h->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void hart_kick(struct hart *h)
{
    atomic_store(&h->exit_request, true);
    /* A hart that sets either flag after this load reads wake_seq after the bump, and
     * so sees exit_request and whatever the caller changed before the kick. */
    atomic_fetch_add(&h->wake_seq, 1);
    if (atomic_load(&h->sleeping) || atomic_load(&h->wrs_stalled))
        end_wait(h);
}

void hart_set_irq(struct hart *h, uint64_t mip_bits, bool level)
{
    uint64_t old = level ? atomic_fetch_or(&h->arch.mip, mip_bits)
                         : atomic_fetch_and(&h->arch.mip, ~mip_bits);
    if (level && (old & mip_bits) != mip_bits)
        hart_kick(h);
}

static void update_level(struct hart *h, uint64_t bit, bool level)
{
    uint64_t mip = atomic_load_explicit(&h->arch.mip, memory_order_relaxed);
    if (!!(mip & bit) != level) {
        if (level)
            atomic_fetch_or(&h->arch.mip, bit);
        else
            atomic_fetch_and(&h->arch.mip, ~bit);
    }
}

static void update_timers(struct hart *h, uint64_t now)
{
    update_level(h, MIP_MTIP, now >= atomic_load_explicit(&h->arch.mtimecmp, memory_order_relaxed));
    if (h->arch.menvcfg & MENVCFG_STCE)
        update_level(h, MIP_STIP, now >= h->arch.stimecmp);
    if (h->hypervisor && (h->arch.henvcfg & MENVCFG_STCE)) /* the guest's time runs htimedelta ahead */
        update_level(h, MIP_VSTIP, now + h->arch.htimedelta >= h->arch.vstimecmp);
}

/* Interrupts in the architectural priority order. */
static const unsigned irq_priority[] = { IRQ_MEI, IRQ_MSI, IRQ_MTI, IRQ_SEI, IRQ_SSI, IRQ_STI,
                                         IRQ_VSEI, IRQ_VSSI, IRQ_VSTI };

/* Pending and enabled interrupts, with those injected through hvip. */
static uint64_t pending_enabled(const struct hart *h)
{
    return (atomic_load_explicit(&h->arch.mip, memory_order_relaxed) | h->arch.hvip) & h->arch.mie;
}

int hart_pending_interrupt(const struct hart *h)
{
    uint64_t pending = pending_enabled(h);
    if (!pending)
        return -1;
    uint64_t mideleg = hart_mideleg(h);
    uint64_t m_level = pending & ~mideleg, s_level = pending & mideleg & ~h->arch.hideleg;
    uint64_t vs_level = pending & mideleg & h->arch.hideleg;
    bool virt = h->arch.virt;
    uint64_t take = 0;
    if (h->arch.priv < PRIV_M || (h->arch.mstatus & MSTATUS_MIE))
        take = m_level;
    /* HS-level: always in VS/VU, in HS as SIE says */
    if (!take && (virt || h->arch.priv < PRIV_S || (h->arch.priv == PRIV_S && (h->arch.mstatus & MSTATUS_SIE))))
        take = s_level;
    /* VS-level: only with V=1, in VS as the guest's SIE says */
    if (!take && virt && (h->arch.priv == PRIV_U || (h->arch.vsstatus & MSTATUS_SIE)))
        take = vs_level;
    for (unsigned i = 0; i < ARRAY_SIZE(irq_priority); i++)
        if (take & (1ULL << irq_priority[i]))
            return irq_priority[i];
    return -1;
}

void hart_take_interrupts(struct hart *h)
{
    int irq = hart_pending_interrupt(h);
    if (irq >= 0)
        hart_trap(h, (1ULL << 63) | irq, 0, 0, 0, false);
}

void hart_check_interrupts(struct hart *h)
{
    update_timers(h, h->platform.ops->time(h->platform.board));
    hart_take_interrupts(h);
}

static uint64_t next_timer_deadline(const struct hart *h)
{
    uint64_t deadline = atomic_load(&h->arch.mtimecmp);
    if ((h->arch.menvcfg & MENVCFG_STCE) && h->arch.stimecmp < deadline)
        deadline = h->arch.stimecmp;
    if (h->hypervisor && (h->arch.henvcfg & MENVCFG_STCE) && h->arch.vstimecmp != ~0ULL &&
        h->arch.vstimecmp - h->arch.htimedelta < deadline)
        deadline = h->arch.vstimecmp - h->arch.htimedelta;
    return deadline;
}

/*
 * A hart that slept in wfi through IDLE_SHARE of a whole IDLE_WINDOW_NS is idle: it
 * gives its block cache and translations back to the host (tens of MiB after a Linux
 * boot), and its blocks are interpreted, not translated: an idle Linux guest's timer
 * ticks (about 13K instructions, 6 a second) then cost about a third less host CPU:
 * translated, they run too rarely to stay in the host's caches. It is busy again
 * after a window that was not idle, or after IDLE_END_INSNS instructions without wfi.
 */
#define IDLE_WINDOW_NS (5ULL * 1000000000)
#define IDLE_SHARE_PERCENT 99
#define IDLE_END_INSNS (1ULL << 20)

static void release_caches_when_idle(struct hart *h, uint64_t now_ns)
{
    h->instret_at_wfi = h->arch.instret;
    uint64_t elapsed = now_ns - h->idle_window_start_ns;
    if (elapsed < IDLE_WINDOW_NS)
        return;
    bool idle = h->idle_window_sleep_ns * 100 >= elapsed * IDLE_SHARE_PERCENT;
    if (idle && !h->idle)
        interp_release(h);
    h->idle = idle;
    h->idle_window_start_ns = now_ns;
    h->idle_window_sleep_ns = 0;
}

/*
 * wfi: sleeps until an enabled interrupt is pending (whatever the global enables say),
 * re-reading the timer compare registers on every wake-up since the CLINT or the
 * guest may move them; kicks from other threads wake it to re-check.
 */
static void hart_wfi(struct hart *h)
{
    const struct hart_platform *p = &h->platform;
    uint64_t slept_from = monotonic_ns();
    release_caches_when_idle(h, slept_from);
    start_sleeping(h);
    for (;;) {
        uint32_t seen = atomic_load(&h->wake_seq);
        if (stopping(h) || hart_hold_requested(h) || hart_debug_halted(h))
            break;
        uint64_t now = p->ops->time(p->board);
        update_timers(h, now);
        if (pending_enabled(h))
            break;
        atomic_store(&h->exit_request, false);
        uint64_t deadline = next_timer_deadline(h);
        uint64_t wait_ns = (deadline - now) * (1000000000ULL / p->timebase_hz);
        if (wait_ns > 1000000000ULL)
            wait_ns = 1000000000ULL;
        wait_for_wake(h, seen, deadline == ~0ULL ? -1 : (int64_t)wait_ns);
    }
    atomic_store(&h->sleeping, false);
    h->idle_window_sleep_ns += monotonic_ns() - slept_from;
}

enum wrs_end hart_wrs_stall(struct hart *h, uint64_t limit_ns)
{
    const struct hart_platform *p = &h->platform;
    uint64_t reserved = atomic_load(&h->arch.reservation);
    if (reserved == ~0ULL)
        return WRS_RESERVATION_GONE;
    uint64_t end_ns = monotonic_ns() + limit_ns;
    enum wrs_end why = WRS_TIME_LIMIT;
    /* Set before the reservation is read again: a breaking store that misses the flag
     * broke the reservation before that read (both are sequentially consistent). */
    atomic_store(&h->wrs_stalled, true);
    for (;;) {
        uint32_t seen = atomic_load(&h->wake_seq);
        if (atomic_load(&h->arch.reservation) != reserved) {
            why = WRS_RESERVATION_GONE;
            break;
        }
        uint64_t time = p->ops->time(p->board);
        update_timers(h, time);
        if (pending_enabled(h)) {
            why = WRS_INTERRUPT;
            break;
        }
        if (atomic_load(&h->exit_request) || stopping(h)) {
            why = WRS_KICKED;
            break;
        }
        uint64_t now_ns = monotonic_ns();
        if (now_ns >= end_ns)
            break;
        /* until the next timer deadline (one that passed is not enabled in mie) */
        uint64_t wait_ns = end_ns - now_ns, deadline = next_timer_deadline(h);
        uint64_t tick_ns = 1000000000ULL / p->timebase_hz;
        if (deadline > time && deadline - time < wait_ns / tick_ns)
            wait_ns = (deadline - time) * tick_ns;
        wait_for_wake(h, seen, (int64_t)wait_ns);
    }
    atomic_store(&h->wrs_stalled, false);
    return why;
}

void hart_wake_stall(struct hart *h)
{
    atomic_fetch_add(&h->wake_seq, 1);
    end_wait(h);
}

void hart_sleep(struct hart *h)
{
    start_sleeping(h);
    for (;;) {
        uint32_t seen = atomic_load(&h->wake_seq);
        if (atomic_load(&h->exit_request) || stopping(h))
            break;
        wait_for_wake(h, seen, -1);
    }
    atomic_store(&h->exit_request, false);
    atomic_store(&h->sleeping, false);
}

void hart_park(struct hart *h)
{
    atomic_store(&h->parked, true);
    atomic_store(&h->exit_request, true);
}

void hart_unpark(struct hart *h)
{
    atomic_store(&h->parked, false);
}

void hart_hold(struct hart *h)
{
    atomic_store(&h->hold_request, true);
    hart_kick(h);
}

void hart_release(struct hart *h)
{
    atomic_store(&h->hold_request, false);
}

bool hart_hold_requested(const struct hart *h)
{
    return atomic_load(&h->hold_request);
}

/* A slice of execution: through the debugger only while it has something to check. */
static enum exec_exit run_slice(struct hart *h)
{
    if (unlikely(atomic_load_explicit(&h->debug_check, memory_order_relaxed)))
        return debug_run(h);
    hart_take_interrupts(h);
    return interp_run(h, HART_SLICE);
}

void *hart_thread(void *arg)
{
    struct hart *h = arg;
    const struct hart_platform *p = &h->platform;
    /* Named from inside: naming another thread writes /proc/self/task/ID/comm, a file
     * open that a sandboxed VM cannot make. */
    char name[16];
    snprintf(name, sizeof(name), "hart%u", h->arch.id);
    pthread_setname_np(pthread_self(), name);
    while (!stopping(h)) {
        /* Before the park check: a parked hart is held too, its HSM state untouched. */
        if (hart_hold_requested(h)) {
            start_sleeping(h);
            p->ops->held(p->board, h);
            atomic_store(&h->sleeping, false);
            continue;
        }
        if (atomic_load(&h->parked)) {
            p->ops->park(p->board, h);
            continue;
        }
        atomic_store_explicit(&h->exit_request, false, memory_order_relaxed);
        hart_serve_fence_requests(h);
        update_timers(h, p->ops->time(p->board));
        if (run_slice(h) == EXEC_WFI)
            hart_wfi(h);
        else if (h->idle && h->arch.instret - h->instret_at_wfi > IDLE_END_INSNS)
            h->idle = false;
    }
    return NULL;
}

bool hart_interrupt_pending(const struct hart *h)
{
    return pending_enabled(h) != 0;
}

void hart_wait_for_interrupt(struct hart *h)
{
    hart_wfi(h);
}
