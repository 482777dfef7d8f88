#include "cpu/csr.h"

#include <sys/random.h>

#include "cpu/mmu.h"
#include "cpu/trigger.h"

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
    uint64_t s = h->arch.mstatus;
    if ((s & MSTATUS_FS) == MSTATUS_FS)
        s |= MSTATUS_SD;
    return s;
}

/* Counter bit (0 cycle, 1 time, 2 instret, ...): M, HS and VS see mcounteren, VS and VU
 * hcounteren as well (virtual instruction), U and VU scounteren too. */
static unsigned counter_cause(const struct hart *h, unsigned bit)
{
    bool virt = h->arch.virt;
    if (h->arch.priv == PRIV_M)
        return 0;
    if (!((h->arch.mcounteren >> bit) & 1))
        return EXC_ILLEGAL_INSN;
    if (virt && !((h->arch.hcounteren >> bit) & 1))
        return EXC_VIRTUAL_INSN;
    if (h->arch.priv == PRIV_U && !((h->arch.scounteren >> bit) & 1))
        return virt ? EXC_VIRTUAL_INSN : EXC_ILLEGAL_INSN;
    return 0;
}

/* Sstc's stimecmp (vstimecmp in VS): menvcfg.STCE and mcounteren.TM, then in VS henvcfg's and
 * hcounteren's. */
static unsigned timecmp_cause(const struct hart *h)
{
    if (h->arch.priv == PRIV_M)
        return 0;
    if (!(h->arch.menvcfg & MENVCFG_STCE) || !(h->arch.mcounteren & 2))
        return EXC_ILLEGAL_INSN;
    if (h->arch.virt && (!(h->arch.henvcfg & MENVCFG_STCE) || !(h->arch.hcounteren & 2)))
        return EXC_VIRTUAL_INSN;
    return 0;
}

unsigned csr_access_cause(struct hart *h, unsigned csr, bool writes)
{
    unsigned level = (csr >> 8) & 3; /* 0 U, 1 S, 2 hypervisor and VS, 3 M */
    bool virt = h->arch.virt;
    uint64_t ignored;
    if (level == 3 && h->arch.priv != PRIV_M)
        return EXC_ILLEGAL_INSN;
    if (level == 1 || level == 2) {
        /* What HS-mode may access, VS (hypervisor CSRs) and VU (all) may not: virtual. */
        bool hs_allows = h->hypervisor || level == 1;
        if (h->arch.priv == PRIV_U || (virt && level == 2))
            return virt && hs_allows && csr_read(h, csr, &ignored) && !(writes && (csr >> 10) == 3)
                       ? EXC_VIRTUAL_INSN : EXC_ILLEGAL_INSN;
        if (!hs_allows)
            return EXC_ILLEGAL_INSN;
    }
    if (writes && (csr >> 10) == 3)
        return EXC_ILLEGAL_INSN;
    if (csr == CSR_SATP && h->arch.priv == PRIV_S) {
        if (!virt && (h->arch.mstatus & MSTATUS_TVM))
            return EXC_ILLEGAL_INSN;
        if (virt && (h->arch.hstatus & HSTATUS_VTVM))
            return EXC_VIRTUAL_INSN;
    }
    if (csr == CSR_HGATP && h->arch.priv == PRIV_S && (h->arch.mstatus & MSTATUS_TVM))
        return EXC_ILLEGAL_INSN;
    if (csr <= CSR_FCSR && (!(h->arch.mstatus & MSTATUS_FS) || (virt && !(h->arch.vsstatus & MSTATUS_FS))))
        return EXC_ILLEGAL_INSN;
    if (csr >= CSR_CYCLE && csr <= CSR_CYCLE + 31)
        return counter_cause(h, csr - CSR_CYCLE);
    if (csr == CSR_SEED) /* only read-write instructions; S and U as mseccfg allows */
        return writes && (h->arch.priv == PRIV_M ||
                          (h->arch.mseccfg & (h->arch.priv == PRIV_S ? MSECCFG_SSEED : MSECCFG_USEED)))
                   ? 0 : EXC_ILLEGAL_INSN;
    if (csr == CSR_STIMECMP || csr == CSR_VSTIMECMP)
        return timecmp_cause(h);
    return 0;
}

/* Zkr's seed: 16 bits of host entropy with status ES16, or WAIT when none is ready. */
static uint64_t read_seed(void)
{
    uint16_t entropy;
    if (getrandom(&entropy, sizeof(entropy), GRND_NONBLOCK) != (ssize_t)sizeof(entropy))
        return 1u << 30;
    return 2u << 30 | entropy;
}

/* mip with the VS interrupts the hypervisor injects through hvip. */
static uint64_t read_mip(struct hart *h)
{
    return atomic_load_explicit(&h->arch.mip, memory_order_relaxed) | h->arch.hvip;
}

/* In VS and VU mode the S-level CSRs name their VS counterparts. */
static unsigned virtual_alias(const struct hart *h, unsigned csr)
{
    if (!h->arch.virt)
        return csr;
    switch (csr) {
    case CSR_SSTATUS: case CSR_SIE: case CSR_STVEC: case CSR_SSCRATCH: case CSR_SEPC:
    case CSR_SCAUSE: case CSR_STVAL: case CSR_SIP: case CSR_STIMECMP: case CSR_SATP:
        return csr + 0x100;
    default:
        return csr;
    }
}

static uint64_t vsstatus_read(const struct hart *h)
{
    uint64_t s = h->arch.vsstatus | (2ULL << 32); /* UXL = 64 */
    if ((s & MSTATUS_FS) == MSTATUS_FS)
        s |= MSTATUS_SD;
    return s;
}

/* The H extension's CSRs: false when csr is none of them (or H is off). */
static bool hypervisor_csr_read(struct hart *h, unsigned csr, uint64_t *value)
{
    uint64_t v;
    if (!h->hypervisor)
        return false;
    switch (csr) {
    case CSR_HSTATUS: v = h->arch.hstatus | HSTATUS_VSXL_64; break;
    case CSR_HEDELEG: v = h->arch.hedeleg; break;
    case CSR_HIDELEG: v = h->arch.hideleg; break;
    case CSR_HIE: v = h->arch.mie & MIP_VS_MASK; break;
    case CSR_HIP: v = read_mip(h) & MIP_VS_MASK; break;
    case CSR_HVIP: v = h->arch.hvip; break;
    case CSR_HTIMEDELTA: v = h->arch.htimedelta; break;
    case CSR_HCOUNTEREN: v = h->arch.hcounteren; break;
    case CSR_HGEIE: case CSR_HGEIP: v = 0; break; /* GEILEN = 0: no guest external interrupts */
    case CSR_HENVCFG: v = h->arch.henvcfg; break;
    case CSR_HTVAL: v = h->arch.htval; break;
    case CSR_HTINST: v = h->arch.htinst; break;
    case CSR_HGATP: v = h->arch.hgatp; break;
    case CSR_MTVAL2: v = h->arch.mtval2; break;
    case CSR_MTINST: v = h->arch.mtinst; break;
    case CSR_VSSTATUS: v = vsstatus_read(h); break;
    /* vsie/vsip: the VS bits of mie/mip that hideleg delegates, at the S bits' places */
    case CSR_VSIE: v = (h->arch.mie & h->arch.hideleg) >> 1; break;
    case CSR_VSIP: v = (read_mip(h) & h->arch.hideleg) >> 1; break;
    case CSR_VSTVEC: v = h->arch.vstvec; break;
    case CSR_VSSCRATCH: v = h->arch.vsscratch; break;
    case CSR_VSEPC: v = h->arch.vsepc; break;
    case CSR_VSCAUSE: v = h->arch.vscause; break;
    case CSR_VSTVAL: v = h->arch.vstval; break;
    case CSR_VSTIMECMP: v = h->arch.vstimecmp; break;
    case CSR_VSATP: v = h->arch.vsatp; break;
    default: return false;
    }
    *value = v;
    return true;
}

bool csr_is_trap_handling(unsigned csr)
{
    switch (csr) {
    case CSR_SSTATUS: case CSR_SSCRATCH: case CSR_SEPC: case CSR_SCAUSE: case CSR_STVAL:
        return true;
    default:
        return false;
    }
}

bool csr_read(struct hart *h, unsigned csr, uint64_t *value)
{
    uint64_t v;
    csr = virtual_alias(h, csr);
    if (hypervisor_csr_read(h, csr, value))
        return true;
    switch (csr) {
    case CSR_FFLAGS: v = h->arch.fflags; break;
    case CSR_FRM: v = h->arch.frm; break;
    case CSR_FCSR: v = h->arch.fflags | (h->arch.frm << 5); break;
    case CSR_CYCLE: case CSR_MCYCLE: v = h->arch.instret + h->arch.cycle_offset; break;
    case CSR_INSTRET: case CSR_MINSTRET: v = h->arch.instret + h->arch.instret_offset; break;
    case CSR_TIME: /* a guest's time runs htimedelta ahead */
        v = h->platform.ops->time(h->platform.board) + (h->arch.virt ? h->arch.htimedelta : 0);
        break;
    case CSR_SSTATUS: v = mstatus_read(h) & SSTATUS_MASK; break;
    case CSR_SIE: v = h->arch.mie & h->arch.mideleg & SIE_MASK; break;
    case CSR_STVEC: v = h->arch.stvec; break;
    case CSR_SCOUNTEREN: v = h->arch.scounteren; break;
    case CSR_SENVCFG: v = h->arch.senvcfg; break;
    case CSR_SSCRATCH: v = h->arch.sscratch; break;
    case CSR_SEPC: v = h->arch.sepc; break;
    case CSR_SCAUSE: v = h->arch.scause; break;
    case CSR_STVAL: v = h->arch.stval; break;
    case CSR_SIP: v = read_mip(h) & h->arch.mideleg & SIE_MASK; break;
    case CSR_STIMECMP: v = h->arch.stimecmp; break;
    case CSR_SATP: v = h->arch.satp; break;
    case CSR_MVENDORID: case CSR_MARCHID: case CSR_MIMPID: case CSR_MCONFIGPTR: v = 0; break;
    case CSR_MHARTID: v = h->arch.id; break;
    case CSR_MSTATUS: v = mstatus_read(h); break;
    case CSR_MISA: v = MISA_VALUE | (h->hypervisor ? MISA_EXT('H') : 0); break;
    case CSR_MEDELEG: v = h->arch.medeleg; break;
    case CSR_MIDELEG: v = hart_mideleg(h); break;
    case CSR_MIE: v = h->arch.mie; break;
    case CSR_MTVEC: v = h->arch.mtvec; break;
    case CSR_MCOUNTEREN: v = h->arch.mcounteren; break;
    case CSR_MENVCFG: v = h->arch.menvcfg; break;
    case CSR_MSECCFG: v = h->arch.mseccfg; break;
    case CSR_SEED: v = read_seed(); break;
    case CSR_MCOUNTINHIBIT: v = h->arch.mcountinhibit; break;
    case CSR_MSCRATCH: v = h->arch.mscratch; break;
    case CSR_MEPC: v = h->arch.mepc; break;
    case CSR_MCAUSE: v = h->arch.mcause; break;
    case CSR_MTVAL: v = h->arch.mtval; break;
    case CSR_MIP: v = read_mip(h); break;
    case CSR_MTINST: case CSR_MTVAL2: v = 0; break;
    default:
        if (trigger_csr(csr)) {
            v = trigger_csr_read(h, csr);
        } else if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
            if (csr & 1)
                return false; /* RV64 has only the even pmpcfg registers */
            unsigned i = (csr - CSR_PMPCFG0) / 2;
            v = i < ARRAY_SIZE(h->arch.pmpcfg) ? h->arch.pmpcfg[i] : 0;
        } else if (csr >= CSR_PMPADDR0 && csr < CSR_PMPADDR0 + 64) {
            unsigned i = csr - CSR_PMPADDR0;
            v = i < PMP_ENTRIES ? h->arch.pmpaddr[i] : 0;
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

static void pmpcfg_write(struct hart *h, unsigned reg, uint64_t value)
{
    uint64_t old = h->arch.pmpcfg[reg], result = 0;
    for (unsigned b = 0; b < 8; b++) {
        unsigned i = reg * 8 + b;
        uint64_t cfg = (value >> (8 * b)) & 0x9f; /* bits 5-6 are reserved */
        if (pmp_locked(h, i))
            cfg = (old >> (8 * b)) & 0xff;
        else if ((cfg & 3) == 2) /* R=0, W=1 is reserved: keep the entry as it was */
            cfg = (old >> (8 * b)) & 0xff;
        result |= cfg << (8 * b);
    }
    h->arch.pmpcfg[reg] = result;
    mmu_pmp_changed(h);
}

static void pmpaddr_write(struct hart *h, unsigned i, uint64_t value)
{
    /* Locked, or the next entry is a locked TOR whose base this is. */
    if (pmp_locked(h, i))
        return;
    if (i + 1 < PMP_ENTRIES && pmp_locked(h, i + 1) &&
        ((pmp_cfg(h, i + 1) >> 3) & 3) == 1)
        return;
    h->arch.pmpaddr[i] = value & ((1ULL << 54) - 1);
    mmu_pmp_changed(h);
}

static void mip_update(struct hart *h, uint64_t mask, uint64_t value)
{
    uint64_t old = atomic_load(&h->arch.mip);
    while (!atomic_compare_exchange_weak(&h->arch.mip, &old, (old & ~mask) | (value & mask)))
        ;
}

static void mstatus_write(struct hart *h, uint64_t value)
{
    uint64_t old = h->arch.mstatus;
    uint64_t writable = MSTATUS_WRITABLE | (h->hypervisor ? MSTATUS_MPV | MSTATUS_GVA : 0);
    uint64_t s = (old & ~writable) | (value & writable);
    /* MPP is WARL: the reserved value 2 leaves it unchanged. */
    if (((s & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT) == 2)
        s = (s & ~MSTATUS_MPP) | (old & MSTATUS_MPP);
    h->arch.mstatus = s;
    if ((old ^ s) & MSTATUS_MXR)
        hart_tlb_flush(h);
    if ((old ^ s) & (MSTATUS_MPRV | MSTATUS_MPP | MSTATUS_SUM | MSTATUS_MPV))
        mmu_update_ctx(h);
}

/* vsstatus: sstatus's fields for the VS-mode guest. */
static void vsstatus_write(struct hart *h, uint64_t value)
{
    uint64_t writable = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS | MSTATUS_SUM | MSTATUS_MXR;
    uint64_t old = h->arch.vsstatus;
    h->arch.vsstatus = value & writable;
    if ((old ^ h->arch.vsstatus) & MSTATUS_MXR)
        hart_tlb_flush(h);
    if ((old ^ h->arch.vsstatus) & MSTATUS_SUM)
        mmu_update_ctx(h);
}

/*
 * satp, vsatp and hgatp: a mode without support leaves the register as it was (the whole
 * write has no effect), Bare clears it; fields: the bits implemented besides MODE.
 * Translations through it are cached (those of V=1 for vsatp/hgatp, mmu.h): true when the
 * value changed, and the caller drops them, and only them; rewriting the same value needs
 * no flush (the spec leaves that to sfence/hfence), which KVM does at every entry of its
 * guest. A change of VMID drops the old guest's translations too: the TLB holds those of
 * the current VMID only.
 */
static bool atp_write(uint64_t *atp, uint64_t value, uint64_t fields)
{
    unsigned mode = value >> 60;
    if (mode != SATP_MODE_BARE && mode != SATP_MODE_SV39 && mode != SATP_MODE_SV48 &&
        mode != SATP_MODE_SV57)
        return false;
    uint64_t old = *atp;
    *atp = mode == SATP_MODE_BARE ? 0 : (value & (0xfULL << 60 | fields));
    return *atp != old;
}
/* satp/vsatp: 16 ASID and 44 PPN bits; hgatp (Sv39x4... as satp's modes): the VMID, and
 * the 16 KiB root's PPN has its low two bits zero. */
#define SATP_FIELDS ((1ULL << 60) - 1)
#define HGATP_FIELDS (HGATP_VMID_MAX << HGATP_VMID_SHIFT | ((1ULL << 44) - 4))

/* henvcfg's PBMTE and STCE read zero while menvcfg's do. */
static uint64_t henvcfg_allowed(const struct hart *h)
{
    return h->arch.menvcfg | ~(MENVCFG_PBMTE | MENVCFG_STCE);
}

/* Exceptions hedeleg may pass on to VS: causes 0-8, 12, 13 and 15. */
#define HEDELEG_WRITABLE 0xb1ffULL
#define HSTATUS_WRITABLE (HSTATUS_GVA | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_HU | HSTATUS_VTVM | \
                          HSTATUS_VTW | HSTATUS_VTSR)
/* ecall from VS, guest-page faults and virtual instructions: M may delegate them to HS. */
#define MEDELEG_HYPERVISOR ((1ULL << EXC_ECALL_VS) | (0xfULL << 20))

static bool hypervisor_csr_write(struct hart *h, unsigned csr, uint64_t v)
{
    if (!h->hypervisor)
        return false;
    switch (csr) {
    case CSR_HSTATUS: h->arch.hstatus = v & HSTATUS_WRITABLE; break;
    case CSR_HEDELEG: h->arch.hedeleg = v & HEDELEG_WRITABLE; break;
    case CSR_HIDELEG: h->arch.hideleg = v & MIP_VS_MASK; break;
    case CSR_HIE: h->arch.mie = (h->arch.mie & ~MIP_VS_MASK) | (v & MIP_VS_MASK); break;
    case CSR_HIP: case CSR_HVIP: {
        uint64_t writable = csr == CSR_HVIP ? MIP_VS_MASK : MIP_VSSIP; /* hip: only VSSIP */
        h->arch.hvip = (h->arch.hvip & ~writable) | (v & writable);
        break;
    }
    case CSR_HTIMEDELTA: h->arch.htimedelta = v; break;
    case CSR_HCOUNTEREN: h->arch.hcounteren = (uint32_t)v; break;
    case CSR_HGEIE: case CSR_HGEIP: break;
    case CSR_HENVCFG: h->arch.henvcfg = v & MENVCFG_WRITABLE & henvcfg_allowed(h); break;
    case CSR_HTVAL: h->arch.htval = v; break;
    case CSR_HTINST: h->arch.htinst = v; break;
    case CSR_HGATP:
        if (atp_write(&h->arch.hgatp, v, HGATP_FIELDS))
            mmu_flush_gstage(h);
        break;
    case CSR_MTVAL2: h->arch.mtval2 = v; break;
    case CSR_MTINST: h->arch.mtinst = v; break;
    case CSR_VSSTATUS: vsstatus_write(h, v); break;
    case CSR_VSIE: {
        uint64_t mask = h->arch.hideleg & MIP_VS_MASK;
        h->arch.mie = (h->arch.mie & ~mask) | ((v << 1) & mask);
        break;
    }
    case CSR_VSIP: { /* vsip.SSIP is hvip.VSSIP, when delegated */
        uint64_t mask = h->arch.hideleg & MIP_VSSIP;
        h->arch.hvip = (h->arch.hvip & ~mask) | ((v << 1) & mask);
        break;
    }
    case CSR_VSTVEC: h->arch.vstvec = v & ~2ULL; break;
    case CSR_VSSCRATCH: h->arch.vsscratch = v; break;
    case CSR_VSEPC: h->arch.vsepc = v & ~1ULL; break;
    case CSR_VSCAUSE: h->arch.vscause = v; break;
    case CSR_VSTVAL: h->arch.vstval = v; break;
    case CSR_VSTIMECMP: h->arch.vstimecmp = v; break;
    case CSR_VSATP:
        if (atp_write(&h->arch.vsatp, v, SATP_FIELDS))
            mmu_flush_mode(h, true);
        break;
    default: return false;
    }
    return true;
}

bool csr_write(struct hart *h, unsigned csr, uint64_t v)
{
    csr = virtual_alias(h, csr);
    if (hypervisor_csr_write(h, csr, v))
        return true;
    switch (csr) {
    case CSR_FFLAGS: h->arch.fflags = v & 0x1f; break;
    case CSR_FRM: h->arch.frm = v & 7; break;
    case CSR_FCSR: h->arch.fflags = v & 0x1f; h->arch.frm = (v >> 5) & 7; break;
    case CSR_MCYCLE: h->arch.cycle_offset = v - h->arch.instret - 1; break;
    case CSR_MINSTRET: h->arch.instret_offset = v - h->arch.instret - 1; break; /* this csrw retires too */
    case CSR_SSTATUS: mstatus_write(h, (h->arch.mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK)); break;
    case CSR_SIE: h->arch.mie = (h->arch.mie & ~h->arch.mideleg) | (v & h->arch.mideleg & SIE_MASK); break;
    case CSR_STVEC: h->arch.stvec = v & ~2ULL; break;
    case CSR_SCOUNTEREN: h->arch.scounteren = v; break;
    case CSR_SENVCFG: h->arch.senvcfg = v & SENVCFG_WRITABLE; break;
    case CSR_SSCRATCH: h->arch.sscratch = v; break;
    case CSR_SEPC: h->arch.sepc = v & ~1ULL; break;
    case CSR_SCAUSE: h->arch.scause = v; break;
    case CSR_STVAL: h->arch.stval = v; break;
    case CSR_SIP: mip_update(h, MIP_SSIP & h->arch.mideleg, v); break;
    case CSR_STIMECMP: h->arch.stimecmp = v; break;
    case CSR_SATP: {
        uint64_t old = h->arch.satp;
        if (atp_write(&h->arch.satp, v, SATP_FIELDS))
            mmu_satp_changed(h, old);
        break;
    }
    case CSR_MSTATUS: mstatus_write(h, v); break;
    case CSR_MISA: break; /* WARL, fixed */
    case CSR_MEDELEG: h->arch.medeleg = v & (MEDELEG_WRITABLE | (h->hypervisor ? MEDELEG_HYPERVISOR : 0)); break;
    case CSR_MIDELEG: h->arch.mideleg = v & MIDELEG_WRITABLE; break;
    case CSR_MIE: h->arch.mie = v & (MIE_WRITABLE | (h->hypervisor ? MIP_VS_MASK : 0)); break;
    case CSR_MTVEC: h->arch.mtvec = v & ~2ULL; break;
    case CSR_MCOUNTEREN: h->arch.mcounteren = v; break;
    case CSR_MENVCFG:
        h->arch.menvcfg = v & MENVCFG_WRITABLE;
        h->arch.henvcfg &= henvcfg_allowed(h);
        break;
    case CSR_MSECCFG: h->arch.mseccfg = v & (MSECCFG_USEED | MSECCFG_SSEED); break;
    case CSR_SEED: break; /* the written value is ignored */
    case CSR_MCOUNTINHIBIT: h->arch.mcountinhibit = v & ~2u; break;
    case CSR_MSCRATCH: h->arch.mscratch = v; break;
    case CSR_MEPC: h->arch.mepc = v & ~1ULL; break;
    case CSR_MCAUSE: h->arch.mcause = v; break;
    case CSR_MTVAL: h->arch.mtval = v; break;
    case CSR_MIP: {
        /* STIP is driven by stimecmp when Sstc is enabled. */
        uint64_t mask = MIP_SSIP | MIP_SEIP | ((h->arch.menvcfg & MENVCFG_STCE) ? 0 : MIP_STIP);
        mip_update(h, mask, v);
        if (h->hypervisor) /* mip.VSSIP is hvip.VSSIP */
            h->arch.hvip = (h->arch.hvip & ~MIP_VSSIP) | (v & MIP_VSSIP);
        break;
    }
    case CSR_MTINST: case CSR_MTVAL2: break;
    default:
        if (trigger_csr(csr)) {
            trigger_csr_write(h, csr, v);
        } else if (csr >= CSR_PMPCFG0 && csr < CSR_PMPCFG0 + 16) {
            if (csr & 1)
                return false;
            unsigned i = (csr - CSR_PMPCFG0) / 2;
            if (i < ARRAY_SIZE(h->arch.pmpcfg))
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

unsigned csr_trap_access(struct hart *h, unsigned csr, enum csr_op op, uint64_t src, bool writes, uint64_t *old)
{
    struct hart_state *a = &h->arch;
    bool virt = a->virt;
    uint64_t *field, v;
    if (a->priv == PRIV_U) /* VU: the VS CSRs exist, HS-mode may access them */
        return virt ? EXC_VIRTUAL_INSN : EXC_ILLEGAL_INSN;
    switch (csr) {
    case CSR_SSTATUS:
        v = virt ? vsstatus_read(h) : mstatus_read(h) & SSTATUS_MASK;
        *old = v;
        if (writes) {
            v = op == CSR_OP_WRITE ? src : op == CSR_OP_SET ? v | src : v & ~src;
            if (virt)
                vsstatus_write(h, v);
            else
                mstatus_write(h, (a->mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK));
        }
        return 0;
    case CSR_SSCRATCH: field = virt ? &a->vsscratch : &a->sscratch; break;
    case CSR_SEPC: field = virt ? &a->vsepc : &a->sepc; break;
    case CSR_SCAUSE: field = virt ? &a->vscause : &a->scause; break;
    default: field = virt ? &a->vstval : &a->stval; break; /* CSR_STVAL */
    }
    v = *old = *field;
    if (writes) {
        v = op == CSR_OP_WRITE ? src : op == CSR_OP_SET ? v | src : v & ~src;
        *field = v & csr_trap_field_writable(csr);
    }
    return 0;
}
