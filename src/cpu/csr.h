/*
 * Control and status registers: numbers, mstatus fields, and the Zicsr access entry.
 * csr_read/csr_write apply the privilege, read-only and counter-enable rules of the
 * privileged spec and the WARL legalisation of each field.
 */
#ifndef RACKVM_CSR_H
#define RACKVM_CSR_H

#include "cpu/hart.h"

#define MSTATUS_SIE (1ULL << 1)
#define MSTATUS_MIE (1ULL << 3)
#define MSTATUS_SPIE (1ULL << 5)
#define MSTATUS_UBE (1ULL << 6)
#define MSTATUS_MPIE (1ULL << 7)
#define MSTATUS_SPP (1ULL << 8)
#define MSTATUS_VS (3ULL << 9)
#define MSTATUS_MPP_SHIFT 11
#define MSTATUS_MPP (3ULL << MSTATUS_MPP_SHIFT)
#define MSTATUS_FS_SHIFT 13
#define MSTATUS_FS (3ULL << MSTATUS_FS_SHIFT)
#define MSTATUS_XS (3ULL << 15)
#define MSTATUS_MPRV (1ULL << 17)
#define MSTATUS_SUM (1ULL << 18)
#define MSTATUS_MXR (1ULL << 19)
#define MSTATUS_TVM (1ULL << 20)
#define MSTATUS_TW (1ULL << 21)
#define MSTATUS_TSR (1ULL << 22)
#define MSTATUS_UXL (3ULL << 32)
#define MSTATUS_SXL (3ULL << 34)
#define MSTATUS_GVA (1ULL << 38)
#define MSTATUS_MPV (1ULL << 39)
#define MSTATUS_SD (1ULL << 63)

#define SSTATUS_MASK (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_UBE | MSTATUS_SPP | MSTATUS_VS | \
                      MSTATUS_FS | MSTATUS_XS | MSTATUS_SUM | MSTATUS_MXR | MSTATUS_UXL | MSTATUS_SD)

/* The sstatus bits a write may change without moving the data TLB context (SUM) or
 * flushing it (MXR), or anything else held outside mstatus. */
#define SSTATUS_IN_PLACE (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_FS)

#define MENVCFG_FIOM (1ULL << 0)
#define MENVCFG_CBIE (3ULL << 4)
#define MENVCFG_CBCFE (1ULL << 6)
#define MENVCFG_CBZE (1ULL << 7)
#define MENVCFG_PBMTE (1ULL << 62)
#define MENVCFG_STCE (1ULL << 63)

/* Zkr: mseccfg's seed-access bits for S and U (Smepmp's bits are not implemented). */
#define MSECCFG_USEED (1ULL << 8)
#define MSECCFG_SSEED (1ULL << 9)

#define SATP_MODE_BARE 0
#define SATP_MODE_SV39 8
#define SATP_MODE_SV48 9
#define SATP_MODE_SV57 10
/* satp's 16-bit ASID field */
#define SATP_ASID_SHIFT 44
#define SATP_ASID_MASK 0xffffULL

/* S-level interrupts that mideleg may delegate (M-level bits are read-only zero). */
#define MIDELEG_WRITABLE (MIP_SSIP | MIP_STIP | MIP_SEIP)

/* hstatus (H extension) */
#define HSTATUS_GVA (1ULL << 6)
#define HSTATUS_SPV (1ULL << 7)
#define HSTATUS_SPVP (1ULL << 8)
#define HSTATUS_HU (1ULL << 9)
#define HSTATUS_VTVM (1ULL << 20)
#define HSTATUS_VTW (1ULL << 21)
#define HSTATUS_VTSR (1ULL << 22)
#define HSTATUS_VSXL_64 (2ULL << 32)

/* hgatp's VMID: all VMIDMAX (14) bits implemented (VMIDLEN 14). */
#define HGATP_VMID_SHIFT 44
#define HGATP_VMID_MAX 0x3fffULL

static inline uint64_t hgatp_vmid(const struct hart *h)
{
    return (h->arch.hgatp >> HGATP_VMID_SHIFT) & HGATP_VMID_MAX;
}

/* mideleg as the hart uses it: with H, the VS-level interrupts are always delegated. */
static inline uint64_t hart_mideleg(const struct hart *h)
{
    return h->arch.mideleg | (h->hypervisor ? MIP_VS_MASK : 0);
}

enum {
    CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003, CSR_SEED = 0x015,
    CSR_CYCLE = 0xc00, CSR_TIME = 0xc01, CSR_INSTRET = 0xc02,
    CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_STVEC = 0x105, CSR_SCOUNTEREN = 0x106,
    CSR_SENVCFG = 0x10a, CSR_SSCRATCH = 0x140, CSR_SEPC = 0x141, CSR_SCAUSE = 0x142,
    CSR_STVAL = 0x143, CSR_SIP = 0x144, CSR_STIMECMP = 0x14d, CSR_SATP = 0x180,
    CSR_MVENDORID = 0xf11, CSR_MARCHID = 0xf12, CSR_MIMPID = 0xf13, CSR_MHARTID = 0xf14,
    CSR_MCONFIGPTR = 0xf15,
    CSR_MSTATUS = 0x300, CSR_MISA = 0x301, CSR_MEDELEG = 0x302, CSR_MIDELEG = 0x303,
    CSR_MIE = 0x304, CSR_MTVEC = 0x305, CSR_MCOUNTEREN = 0x306, CSR_MENVCFG = 0x30a,
    CSR_MCOUNTINHIBIT = 0x320, CSR_MSCRATCH = 0x340, CSR_MEPC = 0x341, CSR_MCAUSE = 0x342,
    CSR_MTVAL = 0x343, CSR_MIP = 0x344, CSR_MTINST = 0x34a, CSR_MTVAL2 = 0x34b,
    CSR_PMPCFG0 = 0x3a0, CSR_PMPADDR0 = 0x3b0, CSR_MSECCFG = 0x747,
    CSR_HSTATUS = 0x600, CSR_HEDELEG = 0x602, CSR_HIDELEG = 0x603, CSR_HIE = 0x604,
    CSR_HTIMEDELTA = 0x605, CSR_HCOUNTEREN = 0x606, CSR_HGEIE = 0x607, CSR_HENVCFG = 0x60a,
    CSR_HTVAL = 0x643, CSR_HIP = 0x644, CSR_HVIP = 0x645, CSR_HTINST = 0x64a, CSR_HGATP = 0x680,
    CSR_HGEIP = 0xe12,
    CSR_VSSTATUS = 0x200, CSR_VSIE = 0x204, CSR_VSTVEC = 0x205, CSR_VSSCRATCH = 0x240,
    CSR_VSEPC = 0x241, CSR_VSCAUSE = 0x242, CSR_VSTVAL = 0x243, CSR_VSIP = 0x244,
    CSR_VSTIMECMP = 0x24d, CSR_VSATP = 0x280,
    CSR_MCYCLE = 0xb00, CSR_MINSTRET = 0xb02,
};

/*
 * Zicsr access on behalf of the current instruction. csr_read/csr_write return false
 * when the CSR does not exist (the caller raises illegal-instruction); in VS and VU mode
 * the S-level CSRs are the VS ones. csr_access_cause checks the privilege, read-only and
 * enable rules first: 0 when allowed, else the exception to raise (illegal or, in VS/VU,
 * virtual instruction); writes says whether the instruction writes (csrrw always;
 * csrrs/csrrc only with a non-zero rs1/uimm).
 */
bool csr_read(struct hart *h, unsigned csr, uint64_t *value);
bool csr_write(struct hart *h, unsigned csr, uint64_t value);
unsigned csr_access_cause(struct hart *h, unsigned csr, bool writes);
/*
 * The supervisor's trap-handling CSRs (sstatus, sscratch, sepc, scause, stval; Linux
 * writes sstatus in every local_irq_save/restore): an access changes nothing that the
 * run loop or translated code holds but the data TLB context (sstatus.SUM) and whether
 * an interrupt is to be taken (sstatus.SIE unmasking a pending one).
 */
bool csr_is_trap_handling(unsigned csr);

/* Zicsr's operations, as funct3's low two bits encode them. */
enum csr_op { CSR_OP_WRITE = 1, CSR_OP_SET = 2, CSR_OP_CLEAR = 3 };

/*
 * A Zicsr access to a trap-handling CSR (csr_is_trap_handling), the check and the
 * read-modify-write of its field in one step: every engine's path for Linux's trap entry
 * and exit, which csr_access_cause, csr_read and csr_write would take apart per CSR
 * (about 300 host instructions an access). op with src (the register's value or the
 * immediate); writes: as for csr_access_cause. Returns 0 with *old the value before, else
 * the exception to raise (from U or VU mode). A write to sstatus may unmask a pending
 * interrupt or move the data TLB context, as through csr_write.
 */
unsigned csr_trap_access(struct hart *h, unsigned csr, enum csr_op op, uint64_t src, bool writes, uint64_t *old);

/* The bits a write to sscratch, sepc, scause or stval keeps (at V=1, to their VS
 * counterparts): sepc's bit 0 is zero (IALIGN 16). Outside V=1 and U mode these four are plain fields of
 * the hart, which translated code may read and write itself. */
static inline uint64_t csr_trap_field_writable(unsigned csr)
{
    return csr == CSR_SEPC ? ~1ULL : ~0ULL;
}

#endif
