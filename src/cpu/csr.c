#include "cpu/csr.h"

#include "cpu/mmu.h"

#define MISA_RV64 (2ULL << 62)
#define MISA_EXT(c) (1ULL << ((c) - 'A'))
#define MISA_VALUE (MISA_RV64 | MISA_EXT('I') | MISA_EXT('M') | MISA_EXT('A') | MISA_EXT('F') | \
                    MISA_EXT('D') | MISA_EXT('C') | MISA_EXT('S') | MISA_EXT('U'))

#define MSTATUS_WRITABLE (MSTATUS_SIE | MSTATUS_MIE | MSTATUS_SPIE | MSTATUS_MPIE | MSTATUS_SPP | \
                          MSTATUS_MPP | MSTATUS_FS | MSTATUS_MPRV | MSTATUS_SUM | MSTATUS_MXR | \
                          MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR)
#define MIE_WRITABLE (MIP_SSIP | MIP_MSIP | MIP_STIP | MIP_MTIP | MIP_SEIP | MIP_MEIP)
#define SIE_MASK (MIP_SSIP | MIP_STIP | MIP_SEIP)
#define MENVCFG_WRITABLE (MENVCFG_FIOM | MENVCFG_CBIE | MENVCFG_CBCFE | MENVCFG_CBZE | \
                          MENVCFG_PBMTE | MENVCFG_STCE)
#define SENVCFG_WRITABLE (MENVCFG_FIOM | MENVCFG_CBIE | MENVCFG_CBCFE | MENVCFG_CBZE)
/* Exceptions M-mode may delegate: all but ecall from M (11) and reserved causes. */
#define MEDELEG_WRITABLE 0xb3ffULL

static uint64_t mstatus_read(const struct hart *h)
{
    uint64_t s = h->mstatus;
    if ((s & MSTATUS_FS) == MSTATUS_FS)
        s |= MSTATUS_SD;
    return s;
}

/* Which counters the current privilege may read (bit 0 cycle, 1 time, 2 instret). */
static bool counter_enabled(const struct hart *h, unsigned bit)
{
    if (h->priv == PRIV_M)
        return true;
    if (!((h->mcounteren >> bit) & 1))
        return false;
    if (h->priv == PRIV_U && !((h->scounteren >> bit) & 1))
        return false;
    return true;
}

bool csr_accessible(struct hart *h, unsigned csr, bool writes)
{
    unsigned min_priv = (csr >> 8) & 3;
    if (h->priv < min_priv)
        return false;
    if (writes && (csr >> 10) == 3)
        return false;
    if (csr == CSR_SATP && h->priv == PRIV_S && (h->mstatus & MSTATUS_TVM))
        return false;
    if (csr <= CSR_FCSR && !(h->mstatus & MSTATUS_FS))
        return false;
    if (csr >= CSR_CYCLE && csr <= CSR_CYCLE + 31)
        return counter_enabled(h, csr - CSR_CYCLE);
    if (csr == CSR_STIMECMP && h->priv == PRIV_S &&
        (!(h->menvcfg & MENVCFG_STCE) || !(h->mcounteren & 2)))
        return false;
    return true;
}

static uint64_t read_mip(struct hart *h)
{
    return atomic_load_explicit(&h->mip, memory_order_relaxed);
}

bool csr_read(struct hart *h, unsigned csr, uint64_t *value)
{
    uint64_t v;
    switch (csr) {
    case CSR_FFLAGS: v = h->fflags; break;
    case CSR_FRM: v = h->frm; break;
    case CSR_FCSR: v = h->fflags | (h->frm << 5); break;
    case CSR_CYCLE: case CSR_MCYCLE: v = h->instret + h->cycle_offset; break;
    case CSR_INSTRET: case CSR_MINSTRET: v = h->instret + h->instret_offset; break;
    case CSR_TIME: v = h->platform.ops->time(h->platform.board); break;
    case CSR_SSTATUS: v = mstatus_read(h) & SSTATUS_MASK; break;
    case CSR_SIE: v = h->mie & h->mideleg; break;
    case CSR_STVEC: v = h->stvec; break;
    case CSR_SCOUNTEREN: v = h->scounteren; break;
    case CSR_SENVCFG: v = h->senvcfg; break;
    case CSR_SSCRATCH: v = h->sscratch; break;
    case CSR_SEPC: v = h->sepc; break;
    case CSR_SCAUSE: v = h->scause; break;
    case CSR_STVAL: v = h->stval; break;
    case CSR_SIP: v = read_mip(h) & h->mideleg; break;
    case CSR_STIMECMP: v = h->stimecmp; break;
    case CSR_SATP: v = h->satp; break;
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR: v = 0; break;
    case CSR_MHARTID: v = h->id; break;
    case CSR_MSTATUS: v = mstatus_read(h); break;
    case CSR_MISA: v = MISA_VALUE; break;
    case CSR_MEDELEG: v = h->medeleg; break;
    case CSR_MIDELEG: v = h->mideleg; break;
    case CSR_MIE: v = h->mie; break;
    case CSR_MTVEC: v = h->mtvec; break;
    case CSR_MCOUNTEREN: v = h->mcounteren; break;
    case CSR_MENVCFG: v = h->menvcfg; break;
    case CSR_MCOUNTINHIBIT: v = h->mcountinhibit; break;
    case CSR_MSCRATCH: v = h->mscratch; break;
    case CSR_MEPC: v = h->mepc; break;
    case CSR_MCAUSE: v = h->mcause; break;
    case CSR_MTVAL: v = h->mtval; break;
    case CSR_MIP: v = read_mip(h); break;
    case CSR_MTINST: case CSR_MTVAL2: v = 0; break;
    default:
        if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
            if (csr & 1)
                return false; /* RV64 has only the even pmpcfg registers */
            unsigned i = (csr - CSR_PMPCFG0) / 2;
            v = i < ARRAY_SIZE(h->pmpcfg) ? h->pmpcfg[i] : 0;
        } else if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 64) {
            unsigned i = csr - CSR_PMPADDR0;
            v = i < PMP_ENTRIES ? h->pmpaddr[i] : 0;
        } else if ((csr > CSR_CYCLE + 2 && csr <= CSR_CYCLE + 31) ||     /* hpmcounterN */
                   (csr > CSR_MINSTRET && csr <= CSR_MCYCLE + 31) ||     /* mhpmcounterN */
                   (csr >= 0x323 && csr <= 0x33f)) {                     /* mhpmeventN */
            v = 0; /* no hardware performance events: counters read zero */
        } else {
            return false;
        }
    }
    *value = v;
    return true;
}

static bool pmp_locked(const struct hart *h, unsigned i)
{
    return pmp_cfg(h, i) & 0x80;
}

static void pmp_changed(struct hart *h)
{
    h->pmp_active = false;
    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        if (pmp_cfg(h, i) & 0x18)
            h->pmp_active = true;
    hart_tlb_flush(h);
}

static void pmpcfg_write(struct hart *h, unsigned reg, uint64_t value)
{
    uint64_t old = h->pmpcfg[reg], result = 0;
    for (unsigned b = 0; b < 8; b++) {
        unsigned i = reg * 8 + b;
        uint64_t cfg = (value >> (8 * b)) & 0x9f; /* bits 5-6 are reserved */
        if (pmp_locked(h, i))
            cfg = (old >> (8 * b)) & 0xff;
        else if ((cfg & 3) == 2) /* R=0, W=1 is reserved: keep the entry as it was */
            cfg = (old >> (8 * b)) & 0xff;
        result |= cfg << (8 * b);
    }
    h->pmpcfg[reg] = result;
    pmp_changed(h);
}

static void pmpaddr_write(struct hart *h, unsigned i, uint64_t value)
{
    /* Locked, or the next entry is a locked TOR whose base this is. */
    if (pmp_locked(h, i))
        return;
    if (i + 1 < PMP_ENTRIES && pmp_locked(h, i + 1) &&
        ((pmp_cfg(h, i + 1) >> 3) & 3) == 1)
        return;
    h->pmpaddr[i] = value & ((1ULL << 54) - 1);
    pmp_changed(h);
}

static void mip_update(struct hart *h, uint64_t mask, uint64_t value)
{
    uint64_t old = atomic_load(&h->mip);
    while (!atomic_compare_exchange_weak(&h->mip, &old, (old & ~mask) | (value & mask)))
        ;
}

static void mstatus_write(struct hart *h, uint64_t value)
{
    uint64_t old = h->mstatus;
    uint64_t s = (old & ~MSTATUS_WRITABLE) | (value & MSTATUS_WRITABLE);
    /* MPP is WARL: the reserved value 2 leaves it unchanged. */
    if (((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
        s = (s & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
    h->mstatus = s;
    if ((old ^ s) & MSTATUS_MXR)
        hart_tlb_flush(h);
    if ((old ^ s) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM))
        mmu_update_ctx(h);
}

static bool satp_write(struct hart *h, uint64_t value)
{
    unsigned mode = value >> 60;
    if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48 &&
        mode != SATP_MODE_SV57)
        return true; /* unsupported mode: the whole write has no effect */
    if (mode == SATP_MODE_BARE)
        value = 0;
    h->satp = value; /* 16 ASID bits and 44 PPN bits, all implemented */
    hart_tlb_flush(h);
    return true;
}

bool csr_write(struct hart *h, unsigned csr, uint64_t v)
{
    switch (csr) {
    case CSR_FFLAGS: h->fflags = v & 0x1f; break;
    case CSR_FRM: h->frm = v & 7; break;
    case CSR_FCSR: h->fflags = v & 0x1f; h->frm = (v >> 5) & 7; break;
    case CSR_MCYCLE: h->cycle_offset = v - h->instret - 1; break;
    case CSR_MINSTRET: h->instret_offset = v - h->instret - 1; break; /* this csrw retires too */
    case CSR_SSTATUS: mstatus_write(h, (h->mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK)); break;
    case CSR_SIE: h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & SIE_MASK); break;
    case CSR_STVEC: h->stvec = v & ~2ULL; break;
    case CSR_SCOUNTEREN: h->scounteren = v; break;
    case CSR_SENVCFG: h->senvcfg = v & SENVCFG_WRITABLE; break;
    case CSR_SSCRATCH: h->sscratch = v; break;
    case CSR_SEPC: h->sepc = v & ~1ULL; break;
    case CSR_SCAUSE: h->scause = v; break;
    case CSR_STVAL: h->stval = v; break;
    case CSR_SIP: mip_update(h, MIP_SSIP & h->mideleg, v); break;
    case CSR_STIMECMP: h->stimecmp = v; break;
    case CSR_SATP: return satp_write(h, v);
    case CSR_MSTATUS: mstatus_write(h, v); break;
    case CSR_MISA: break; /* WARL, fixed */
    case CSR_MEDELEG: h->medeleg = v & MEDELEG_WRITABLE; break;
    case CSR_MIDELEG: h->mideleg = v & MIDELEG_WRITABLE; break;
    case CSR_MIE: h->mie = v & MIE_WRITABLE; break;
    case CSR_MTVEC: h->mtvec = v & ~2ULL; break;
    case CSR_MCOUNTEREN: h->mcounteren = v; break;
    case CSR_MENVCFG: h->menvcfg = v & MENVCFG_WRITABLE; break;
    case CSR_MCOUNTINHIBIT: h->mcountinhibit = v & ~2u; break;
    case CSR_MSCRATCH: h->mscratch = v; break;
    case CSR_MEPC: h->mepc = v & ~1ULL; break;
    case CSR_MCAUSE: h->mcause = v; break;
    case CSR_MTVAL: h->mtval = v; break;
    case CSR_MIP: {
        /* STIP is driven by stimecmp when Sstc is enabled. */
        uint64_t mask = MIP_SSIP | MIP_SEIP | ((h->menvcfg & MENVCFG_STCE) ? 0 : MIP_STIP);
        mip_update(h, mask, v);
        break;
    }
    case CSR_MTINST: case CSR_MTVAL2: break;
    default:
        if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
            if (csr & 1)
                return false;
            unsigned i = (csr - CSR_PMPCFG0) / 2;
            if (i < ARRAY_SIZE(h->pmpcfg))
                pmpcfg_write(h, i, v);
        } else if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 64) {
            unsigned i = csr - CSR_PMPADDR0;
            if (i < PMP_ENTRIES)
                pmpaddr_write(h, i, v);
        } else {
            uint64_t ignored;
            return csr_read(h, csr, &ignored); /* read-only-zero counters accept writes */
        }
    }
    return true;
}
