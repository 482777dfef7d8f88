#include "machine/sbi.h"

#include <stdio.h>

#include "cpu/csr.h"
#include "cpu/mmu.h"
#include "host/console.h"
#include "machine/machine.h"

#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STOPPED -8

#define EXT_BASE 0x10
#define EXT_TIME 0x54494d45
#define EXT_IPI 0x735049
#define EXT_RFENCE 0x52464e43
#define EXT_HSM 0x48534d
#define EXT_SRST 0x53525354
#define EXT_DBCN 0x4442434e
#define LEGACY_SET_TIMER 0x00
#define LEGACY_PUTCHAR 0x01
#define LEGACY_GETCHAR 0x02
#define LEGACY_CLEAR_IPI 0x03
#define LEGACY_SEND_IPI 0x04
#define LEGACY_REMOTE_FENCE_I 0x05
#define LEGACY_REMOTE_SFENCE_VMA 0x06
#define LEGACY_REMOTE_SFENCE_VMA_ASID 0x07
#define LEGACY_SHUTDOWN 0x08

#define SBI_SPEC_VERSION (2u << 24) /* v2.0 */
#define SBI_IMPL_ID 0x5241434bu      /* "RACK": not a registered implementation ID */
#define SBI_IMPL_VERSION 1

#define HSM_STARTED 0
#define HSM_STOPPED 1
#define HSM_START_PENDING 2
#define HSM_SUSPENDED 4
/* HSM states as the SBI keeps them; STARTING: a start is being set up by another hart. */
enum sbi_hart_state { HART_STOPPED = 0, HART_STARTING, HART_START_PENDING, HART_STARTED, HART_SUSPENDED };

#define HSM_SUSPEND_RETENTIVE 0x00000000u
#define HSM_SUSPEND_NON_RETENTIVE 0x80000000u

struct sbiret {
    int64_t error;
    uint64_t value;
};

static struct sbiret ok(uint64_t value)
{
    return (struct sbiret){ SBI_SUCCESS, value };
}

static struct sbiret err(int64_t e)
{
    return (struct sbiret){ e, 0 };
}

/* Prepares hart h to enter S-mode at addr with a0 = hartid, a1 = arg (boot and HSM start). */
static void enter_supervisor(struct hart *h, uint64_t addr, uint64_t arg)
{
    hart_reset(h, addr);
    h->arch.x[10] = h->arch.id;
    h->arch.x[11] = arg;
    /* What an M-mode firmware would have set up before entering the kernel. */
    h->arch.mideleg = MIP_SSIP | MIP_STIP | MIP_SEIP;
    h->arch.medeleg = (1u << EXC_INSN_MISALIGNED) | (1u << EXC_INSN_ACCESS) | (1u << EXC_ILLEGAL_INSN) |
                 (1u << EXC_BREAKPOINT) | (1u << EXC_LOAD_MISALIGNED) | (1u << EXC_LOAD_ACCESS) |
                 (1u << EXC_STORE_MISALIGNED) | (1u << EXC_STORE_ACCESS) | (1u << EXC_ECALL_U) |
                 (1u << EXC_INSN_PAGE_FAULT) | (1u << EXC_LOAD_PAGE_FAULT) | (1u << EXC_STORE_PAGE_FAULT);
    /* With H, HS-mode hosts guests: their ecalls and faults are its business, as OpenSBI has it. */
    if (h->hypervisor)
        h->arch.medeleg |= (1u << EXC_ECALL_VS) | (1u << EXC_INSN_GUEST_PAGE_FAULT) |
                           (1u << EXC_LOAD_GUEST_PAGE_FAULT) | (1u << EXC_VIRTUAL_INSN) |
                           (1u << EXC_STORE_GUEST_PAGE_FAULT);
    h->arch.mcounteren = 7;
    /*
     * Linux enables user access to cycle/time/instret (the vDSO's rdtime) only from
     * the SBI PMU driver, which this SBI does not offer: the hart comes out of reset
     * with them enabled instead, as OpenSBI's PMU path leaves them.
     */
    h->arch.scounteren = 7;
    /* Zkr is advertised, and Linux reads the seed CSR from S-mode, as OpenSBI allows. */
    h->arch.mseccfg = MSECCFG_SSEED;
    h->arch.menvcfg = MENVCFG_STCE | MENVCFG_PBMTE | MENVCFG_CBIE | MENVCFG_CBCFE | MENVCFG_CBZE;
    h->arch.mie = MIP_SSIP | MIP_STIP | MIP_SEIP;
    h->arch.mstatus |= 1ULL << MSTATUS_FS_SHIFT; /* FS = Initial */
    hart_set_priv(h, PRIV_S);
}

void sbi_start_hart(struct machine *m, struct hart *h, uint64_t addr, uint64_t arg)
{
    enter_supervisor(h, addr, arg);
    atomic_store(&m->sbi[h->arch.id].state, HART_STARTED);
    hart_unpark(h);
}

/* Harts selected by (hart_mask, hart_mask_base); base ~0 means all harts. */
static bool hart_selected(const struct machine *m, unsigned id, uint64_t mask, uint64_t base)
{
    if (base == ~0ULL)
        return id < m->nharts;
    return id >= base && id - base < 64 && ((mask >> (id - base)) & 1);
}

static bool hart_mask_valid(const struct machine *m, uint64_t mask, uint64_t base)
{
    if (base == ~0ULL)
        return true;
    if (base >= m->nharts)
        return mask == 0;
    return m->nharts - base >= 64 || (mask >> (m->nharts - base)) == 0;
}

/*
 * Remote fences: each target hart flushes the V=0 translations the call names
 * (sfence.vma: the caller is at V=0, a guest's ecalls go to its hypervisor), its V=1 ones
 * (hfence, H extension) or its decoded blocks (fence.i) before it executes again. The
 * caller waits until every target has done so, or sleeps (a sleeping hart handles the
 * request on waking, before any instruction).
 */
enum remote_fence { REMOTE_SFENCE_VMA, REMOTE_HFENCE, REMOTE_FENCE_I };

static _Atomic bool *fence_request(struct hart *t, enum remote_fence kind)
{
    return kind == REMOTE_SFENCE_VMA ? &t->tlb_flush_request
           : kind == REMOTE_HFENCE   ? &t->hfence_request
                                     : &t->fence_i_request;
}

/* start, size and asid: what a remote sfence.vma names (hart_sfence). */
static void remote_fence(struct machine *m, struct hart *self, uint64_t mask, uint64_t base,
                         enum remote_fence kind, uint64_t start, uint64_t size, uint64_t asid)
{
    for (unsigned i = 0; i < m->nharts; i++) {
        if (!hart_selected(m, i, mask, base))
            continue;
        struct hart *t = m->harts[i];
        if (t == self) {
            if (kind == REMOTE_SFENCE_VMA)
                hart_sfence(self, start, size, asid);
            else if (kind == REMOTE_HFENCE)
                mmu_flush_gstage(self);
            else
                hart_fence_i(self);
            continue;
        }
        if (kind == REMOTE_SFENCE_VMA)
            hart_request_sfence(t, start, size, asid);
        else
            atomic_store(fence_request(t, kind), true);
        hart_kick(t);
    }
    for (unsigned i = 0; i < m->nharts; i++) {
        struct hart *t = m->harts[i];
        if (t == self || !hart_selected(m, i, mask, base))
            continue;
        hart_await_fence(self, t, fence_request(t, kind));
    }
}

static struct sbiret send_ipi(struct machine *m, uint64_t mask, uint64_t base)
{
    if (!hart_mask_valid(m, mask, base))
        return err(SBI_ERR_INVALID_PARAM);
    for (unsigned i = 0; i < m->nharts; i++)
        if (hart_selected(m, i, mask, base))
            hart_set_irq(m->harts[i], MIP_SSIP, true);
    return ok(0);
}

static struct sbiret hsm_start(struct machine *m, uint64_t hartid, uint64_t addr, uint64_t arg)
{
    if (hartid >= m->nharts)
        return err(SBI_ERR_INVALID_PARAM);
    if (!guest_ram_ptr(&m->bus.ram, addr, 2))
        return err(SBI_ERR_INVALID_ADDRESS);
    struct sbi_hart *t = &m->sbi[hartid];
    /* STARTING keeps the target asleep and other starters out until addr/arg are set. */
    int state = HART_STOPPED;
    if (!atomic_compare_exchange_strong(&t->state, &state, HART_STARTING))
        return err(SBI_ERR_ALREADY_AVAILABLE);
    t->start_addr = addr;
    t->start_arg = arg;
    atomic_store(&t->state, HART_START_PENDING);
    hart_kick(m->harts[hartid]);
    return ok(0);
}

static uint64_t hsm_status(const struct sbi_hart *t)
{
    switch (atomic_load(&t->state)) {
    case HART_STARTED: return HSM_STARTED;
    case HART_STARTING: case HART_START_PENDING: return HSM_START_PENDING;
    case HART_SUSPENDED: return HSM_SUSPENDED;
    default: return HSM_STOPPED;
    }
}

void sbi_park(struct machine *m, struct hart *h)
{
    struct sbi_hart *s = &m->sbi[h->arch.id];
    /* A hold (machine_pause) returns with the hart still parked and its state as it was. */
    if (atomic_load(&s->state) == HART_SUSPENDED) {
        while (!hart_interrupt_pending(h) && !machine_stopping(m) && !hart_hold_requested(h))
            hart_wait_for_interrupt(h);
        if (machine_stopping(m) || hart_hold_requested(h))
            return;
        if (s->suspend_type == HSM_SUSPEND_NON_RETENTIVE) {
            /* Resume as from a fresh start at the resume address, interrupts untaken. */
            uint64_t mip = atomic_load(&h->arch.mip);
            enter_supervisor(h, s->start_addr, s->start_arg);
            atomic_store(&h->arch.mip, mip);
        }
    } else {
        while (atomic_load(&s->state) != HART_START_PENDING && !machine_stopping(m) &&
               !hart_hold_requested(h))
            hart_sleep(h);
        if (machine_stopping(m) || hart_hold_requested(h))
            return;
        enter_supervisor(h, s->start_addr, s->start_arg);
    }
    atomic_store(&s->state, HART_STARTED);
    hart_unpark(h);
}

static struct sbiret hsm_stop(struct machine *m, struct hart *h)
{
    atomic_store(&m->sbi[h->arch.id].state, HART_STOPPED);
    hart_park(h);
    return ok(0);
}

static struct sbiret hsm_suspend(struct machine *m, struct hart *h, uint64_t type, uint64_t addr,
                                 uint64_t opaque)
{
    if (type != HSM_SUSPEND_RETENTIVE && type != HSM_SUSPEND_NON_RETENTIVE)
        return err(SBI_ERR_INVALID_PARAM);
    if (type == HSM_SUSPEND_NON_RETENTIVE && !guest_ram_ptr(&m->bus.ram, addr, 2))
        return err(SBI_ERR_INVALID_ADDRESS);
    struct sbi_hart *s = &m->sbi[h->arch.id];
    s->start_addr = addr;
    s->start_arg = opaque;
    s->suspend_type = type;
    atomic_store(&s->state, HART_SUSPENDED);
    hart_park(h);
    return ok(0);
}

static struct sbiret dbcn_write(struct machine *m, struct hart *h, uint64_t n, uint64_t lo, uint64_t hi)
{
    if (hi != 0)
        return err(SBI_ERR_INVALID_PARAM);
    /* The guest passes a physical address: it must lie in RAM as a whole. */
    const uint8_t *p = guest_ram_ptr(&m->bus.ram, lo, n);
    if (!p || !pmp_allows(h, lo, n, ACCESS_READ, PRIV_S))
        return err(SBI_ERR_INVALID_PARAM);
    if (m->console)
        console_write(m->console, p, n);
    return ok(n);
}

static struct sbiret srst(struct machine *m, struct hart *h, uint64_t type, uint64_t reason)
{
    if (type > 2 || reason > 1)
        return err(SBI_ERR_INVALID_PARAM);
    if (type == 0 && reason == 0)
        machine_request_stop(m, STOP_POWEROFF, 0, "guest powered off");
    else if (type == 0)
        machine_request_stop(m, STOP_FAIL, 1, "guest shut down reporting a system failure (SBI SRST)");
    else
        machine_request_stop(m, STOP_REBOOT, 0, "guest rebooted");
    atomic_store(&h->exit_request, true);
    return ok(0);
}

static struct sbiret probe(uint64_t ext)
{
    switch (ext) {
    case EXT_BASE: case EXT_TIME: case EXT_IPI: case EXT_RFENCE: case EXT_HSM: case EXT_SRST:
    case EXT_DBCN: case LEGACY_SET_TIMER: case LEGACY_PUTCHAR: case LEGACY_CLEAR_IPI:
    case LEGACY_SEND_IPI: case LEGACY_REMOTE_FENCE_I: case LEGACY_REMOTE_SFENCE_VMA:
    case LEGACY_REMOTE_SFENCE_VMA_ASID: case LEGACY_SHUTDOWN:
        return ok(1);
    default:
        return ok(0);
    }
}

static void set_timer(struct hart *h, uint64_t when)
{
    /* The built-in firmware drives STIP from stimecmp (Sstc), so a set_timer is one. */
    h->arch.stimecmp = when;
    atomic_fetch_and(&h->arch.mip, ~MIP_STIP);
}

/* Reads the legacy calls' hart mask from S-mode virtual memory; false if unreadable. */
static bool legacy_hart_mask(struct machine *m, struct hart *h, uint64_t addr, uint64_t *mask)
{
    uint64_t pa;
    if (addr == 0) {
        *mask = ~0ULL;
        return true;
    }
    if ((addr & 7) || mmu_translate(h, addr, ACCESS_READ, PRIV_S, &pa) ||
        !pmp_allows(h, pa, 8, ACCESS_READ, PRIV_S))
        return false;
    const uint64_t *p = guest_ram_ptr(&m->bus.ram, pa, 8);
    if (!p)
        return false;
    *mask = *p;
    return true;
}

static struct sbiret legacy_call(struct machine *m, struct hart *h, uint64_t ext, const uint64_t *a,
                                 bool *handled)
{
    uint64_t mask;
    *handled = true;
    switch (ext) {
    case LEGACY_SET_TIMER: set_timer(h, a[0]); return ok(0);
    case LEGACY_PUTCHAR: {
        uint8_t c = a[0];
        if (m->console)
            console_write(m->console, &c, 1);
        return ok(0);
    }
    case LEGACY_CLEAR_IPI: atomic_fetch_and(&h->arch.mip, ~MIP_SSIP); return ok(0);
    case LEGACY_SEND_IPI:
    case LEGACY_REMOTE_FENCE_I:
    case LEGACY_REMOTE_SFENCE_VMA:
    case LEGACY_REMOTE_SFENCE_VMA_ASID: {
        if (!legacy_hart_mask(m, h, a[0], &mask))
            return err(SBI_ERR_INVALID_ADDRESS);
        if (ext == LEGACY_SEND_IPI)
            return send_ipi(m, mask, a[0] ? 0 : ~0ULL);
        if (ext == LEGACY_REMOTE_FENCE_I)
            remote_fence(m, h, mask, a[0] ? 0 : ~0ULL, REMOTE_FENCE_I, 0, 0, 0);
        else
            remote_fence(m, h, mask, a[0] ? 0 : ~0ULL, REMOTE_SFENCE_VMA, a[1], a[2],
                         ext == LEGACY_REMOTE_SFENCE_VMA_ASID ? a[3] : SFENCE_EVERY_ASID);
        return ok(0);
    }
    case LEGACY_SHUTDOWN: return srst(m, h, 0, 0);
    default:
        *handled = false;
        return err(SBI_ERR_NOT_SUPPORTED);
    }
}

void sbi_ecall(struct machine *m, struct hart *h)
{
    uint64_t *a = &h->arch.x[10];
    uint64_t ext = h->arch.x[17], fid = h->arch.x[16];
    struct sbiret r = err(SBI_ERR_NOT_SUPPORTED);
    bool legacy = false;

    switch (ext) {
    case EXT_BASE:
        switch (fid) {
        case 0: r = ok(SBI_SPEC_VERSION); break;
        case 1: r = ok(SBI_IMPL_ID); break;
        case 2: r = ok(SBI_IMPL_VERSION); break;
        case 3: r = probe(a[0]); break;
        case 4: case 5: case 6: r = ok(0); break; /* mvendorid, marchid, mimpid */
        }
        break;
    case EXT_TIME:
        if (fid == 0) {
            set_timer(h, a[0]);
            r = ok(0);
        }
        break;
    case EXT_IPI:
        if (fid == 0)
            r = send_ipi(m, a[0], a[1]);
        break;
    case EXT_RFENCE:
        if (fid <= 6) {
            if (!hart_mask_valid(m, a[0], a[1])) {
                r = err(SBI_ERR_INVALID_PARAM);
            } else if (fid == 0) {
                remote_fence(m, h, a[0], a[1], REMOTE_FENCE_I, 0, 0, 0);
                r = ok(0);
            } else if (fid <= 2) { /* sfence.vma, sfence.vma_asid */
                uint64_t asid = fid == 2 ? a[4] : SFENCE_EVERY_ASID;
                remote_fence(m, h, a[0], a[1], REMOTE_SFENCE_VMA, a[2], a[3], asid);
                r = ok(0);
            } else if (h->hypervisor) { /* hfence.gvma and hfence.vvma, by VMID/ASID or not */
                remote_fence(m, h, a[0], a[1], REMOTE_HFENCE, 0, 0, 0);
                r = ok(0);
            } else {
                r = err(SBI_ERR_NOT_SUPPORTED); /* hypervisor fences: no H extension */
            }
        }
        break;
    case EXT_HSM:
        switch (fid) {
        case 0: r = hsm_start(m, a[0], a[1], a[2]); break;
        case 1: r = hsm_stop(m, h); break;
        case 2: r = a[0] < m->nharts ? ok(hsm_status(&m->sbi[a[0]])) : err(SBI_ERR_INVALID_PARAM); break;
        case 3: r = hsm_suspend(m, h, a[0], a[1], a[2]); break;
        }
        break;
    case EXT_SRST:
        if (fid == 0)
            r = srst(m, h, a[0], a[1]);
        break;
    case EXT_DBCN:
        if (fid == 0) {
            r = dbcn_write(m, h, a[0], a[1], a[2]);
        } else if (fid == 2) {
            uint8_t c = a[0];
            if (m->console)
                console_write(m->console, &c, 1);
            r = ok(0);
        }
        break;
    default:
        r = legacy_call(m, h, ext, a, &legacy);
        if (legacy) {
            a[0] = r.error; /* legacy calls return only a0 */
            return;
        }
    }
    a[0] = (uint64_t)r.error;
    a[1] = r.value;
}
