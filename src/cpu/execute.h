/*
 * The reference executor: one instruction, fully decoded from its bits, with every
 * architectural check. The block engine (interp.c) runs the common integer and memory
 * instructions itself and hands everything else here; --trace runs everything here.
 */
#ifndef RACKVM_EXECUTE_H
#define RACKVM_EXECUTE_H

#include "cpu/csr.h"
#include "cpu/decode.h"
#include "cpu/fpu.h"
#include "cpu/hart.h"
#include "cpu/mmu.h"

enum exec_result {
    EXEC_NEXT,              /* retired; pc advanced */
    EXEC_TRAPPED,           /* took an exception (pc at the handler) or a hypercall */
    EXEC_CHECK_IRQ_AFTER,   /* retired; interrupts or translation may have changed */
    EXEC_WFI_AFTER,         /* retired a wfi */
};

/* insn: the 32-bit form (compressed ones expanded), raw: the bits as fetched, len: 2 or 4. */
enum exec_result exec_one(struct hart *h, uint32_t insn, uint32_t raw, unsigned len);

/* The bits as fetched of a decoded OP_SLOW or OP_FP instruction of a block: a compressed
 * one keeps its 16 bits in rd/rs1, for an illegal-instruction tval. */
static inline uint32_t dinsn_raw(const struct dinsn *d)
{
    return d->len == 2 ? (uint32_t)d->rd | (uint32_t)d->rs1 << 8 : (uint32_t)d->imm;
}

/* Runs the decoded OP_SLOW, OP_RDTIME or OP_FETCH_FENCE (or, to raise its
 * exception, OP_FP) instruction insn (raw: its bits as fetched, 16 of a compressed one) at
 * h->arch.pc (block engine and translator) without decoding it again: an idle Linux
 * guest's ticks run about 200 of them each. */
enum exec_result exec_slow(struct hart *h, uint32_t insn, uint32_t raw);

/* The Zicsr insn on a trap-handling CSR (OP_TRAP_CSR, csr_trap_access) at h->arch.pc, in
 * one step, leaving pc and instret to the caller: EXEC_NEXT, EXEC_TRAPPED, or
 * EXEC_CHECK_IRQ_AFTER when a write to sstatus unmasked a pending interrupt (SIE), which
 * the run loop then takes before the next instruction. Inline: the block engine runs it
 * in its loop (a call of its own took half the host instructions of an access). */
static inline enum exec_result exec_trap_csr(struct hart *h, uint32_t insn)
{
    unsigned f3 = insn_funct3(insn), rs1 = insn_rs1(insn), csr = insn >> 20;
    uint64_t src = (f3 & 4) ? rs1 : h->arch.x[rs1], old;
    bool writes = (f3 & 3) == CSR_OP_WRITE || rs1 != 0;
    unsigned fault = csr_trap_access(h, csr, (enum csr_op)(f3 & 3), src, writes, &old);
    if (fault) {
        hart_raise_exception(h, fault, insn);
        return EXEC_TRAPPED;
    }
    h->arch.x[insn_rd(insn)] = old;
    h->arch.x[0] = 0;
    return writes && csr == CSR_SSTATUS && hart_pending_interrupt(h) >= 0 ? EXEC_CHECK_IRQ_AFTER : EXEC_NEXT;
}

/* cbo.zero insn of the cache block holding va, at h->arch.pc: false when it raised an
 * exception (the block's stores, or the envcfg check). */
bool exec_cbo_zero(struct hart *h, uint64_t va, uint32_t insn);

/* The AMO, LR or SC insn (W or D) at h->arch.pc: false when it raised an exception. */
bool exec_amo(struct hart *h, uint32_t insn);

/* In VS and VU mode both mstatus.FS and vsstatus.FS must allow the FPU, and both get dirty. */
static inline bool fp_enabled(const struct hart *h)
{
    return (h->arch.mstatus & MSTATUS_FS) != 0 && (!h->arch.virt || (h->arch.vsstatus & MSTATUS_FS));
}

static inline void fp_dirty(struct hart *h)
{
    h->arch.mstatus |= MSTATUS_FS;
    if (h->arch.virt)
        h->arch.vsstatus |= MSTATUS_FS;
}

/* What an FP load of 2^f3 bytes (flh, flw, fld) leaves in its register: v, NaN-boxed
 * when narrower than the register. */
static inline uint64_t fp_loaded_value(unsigned f3, uint64_t v)
{
    return f3 >= 3 ? v : v | ~0ULL << (8u << f3);
}

/* How exec_fp_in_place ended: an illegal instruction (FS off included) is left to the
 * caller to raise, so the interpreter reads the raw bits only then, not across the call. */
enum fp_exit { FP_DONE, FP_TRAPPED, FP_ILLEGAL };

/*
 * Runs the F/D/Zfh load, store or arithmetic instruction insn (OP_FP) at h->arch.pc,
 * leaving pc and instret to the caller; FP_TRAPPED when a load or store raised its
 * exception (pc is then at the handler). Inline, always: the block engine runs it in its
 * loop, and GCC's growth limits for interp_run would otherwise call it (a fifth more host
 * instructions on fp-matmul).
 */
static inline __attribute__((always_inline)) enum fp_exit exec_fp_in_place(struct hart *h, uint32_t insn)
{
    /* Each case reads the fields it uses: read before the switch, they were worked out
     * for every arithmetic op too. */
    if (unlikely(!fp_enabled(h)))
        return FP_ILLEGAL;
    switch (insn & 0x7f) {
    case 0x07: {
        unsigned f3 = insn_funct3(insn), rd = insn_rd(insn);
        uint64_t v;
        uint64_t addr = h->arch.x[insn_rs1(insn)] + (uint64_t)insn_imm_i(insn);
        if (f3 == 3) {
            if (!mem_load_u64(h, addr, &v))
                return FP_TRAPPED;
            h->arch.f[rd] = fp_loaded_value(3, v);
        } else if (f3 == 2) {
            if (!mem_load_u32(h, addr, &v))
                return FP_TRAPPED;
            h->arch.f[rd] = fp_loaded_value(2, v);
        } else if (f3 == 1) { /* Zfh flh */
            if (!mem_load_u16(h, addr, &v))
                return FP_TRAPPED;
            h->arch.f[rd] = fp_loaded_value(1, v);
        } else {
            return FP_ILLEGAL;
        }
        break;
    }
    case 0x27: { /* fsh (Zfh), fsw, fsd; a store leaves FS as it is */
        unsigned f3 = insn_funct3(insn);
        if (f3 < 1 || f3 > 3)
            return FP_ILLEGAL;
        return mem_store(h, h->arch.x[insn_rs1(insn)] + (uint64_t)insn_imm_s(insn), 1u << f3,
                         h->arch.f[insn_rs2(insn)]) ? FP_DONE : FP_TRAPPED;
    }
    default:
        if (!fpu_execute(h, insn))
            return FP_ILLEGAL;
        break;
    }
    fp_dirty(h);
    return FP_DONE;
}

/* exec_fp_in_place, raising an illegal instruction with its bits as fetched (raw); false
 * when it trapped: pc is then at the handler. */
static inline __attribute__((always_inline)) bool exec_fp(struct hart *h, uint32_t insn, uint32_t raw)
{
    enum fp_exit e = exec_fp_in_place(h, insn);
    if (unlikely(e == FP_ILLEGAL))
        hart_raise_exception(h, EXC_ILLEGAL_INSN, raw);
    return e == FP_DONE;
}

#endif
