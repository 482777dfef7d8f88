#include "cpu/execute.h"

#include "cpu/alu.h"
#include "cpu/csr.h"
#include "cpu/decode.h"
#include "cpu/mmu.h"

#define RD insn_rd(insn)
#define RS1 insn_rs1(insn)
#define RS2 insn_rs2(insn)
#define F3 insn_funct3(insn)
#define F7 insn_funct7(insn)
#define IMM_I insn_imm_i(insn)
#define IMM_S insn_imm_s(insn)

/* Runs an op of ALU_SLOW_REG_OPS, ALU_SLOW_UNARY_OPS or aes64ks1i into *v; false if insn
 * is none of them. */
static bool exec_slow_alu(uint32_t insn, uint64_t a, uint64_t b, uint64_t *v)
{
#define SLOW_KEY(opcode, funct7, funct3) ((uint32_t)(opcode) << 10 | (uint32_t)(funct7) << 3 | (funct3))
    switch (SLOW_KEY(insn & 0x7f, F7, F3)) {
#define SLOW_CASE(name, opcode, funct7, funct3, expr) \
    case SLOW_KEY(opcode, funct7, funct3): *v = alu_##name(a, b); return true;
    ALU_SLOW_REG_OPS(SLOW_CASE)
#undef SLOW_CASE
    default: break;
    }
#undef SLOW_KEY
    if ((insn & 0x707f) != 0x1013)
        return false;
    switch (insn >> 20) {
#define UNARY_CASE(name, imm, expr) case imm: *v = alu_##name(a); return true;
    ALU_SLOW_UNARY_OPS(UNARY_CASE)
#undef UNARY_CASE
    default:
        if ((insn >> 20 & 0xff0) == 0x310 && (insn >> 20 & 15) <= 10) { /* aes64ks1i */
            *v = aes64ks1i(a, insn >> 20 & 15);
            return true;
        }
        return false;
    }
}

/* Whether the current mode may run a cache-block operation enabled by `bits` in envcfg:
 * 0, or the exception. menvcfg rules S and U, then in V henvcfg (virtual instruction),
 * and senvcfg U and VU. */
static unsigned cbo_fault(const struct hart *h, uint64_t bits)
{
    bool virt = h->arch.virt;
    if (h->arch.priv == PRIV_M)
        return 0;
    if ((h->arch.menvcfg & bits) == 0)
        return EXC_ILLEGAL_INSN;
    if (virt && (h->arch.henvcfg & bits) == 0)
        return EXC_VIRTUAL_INSN;
    if (h->arch.priv == PRIV_U && (h->arch.senvcfg & bits) == 0)
        return virt ? EXC_VIRTUAL_INSN : EXC_ILLEGAL_INSN;
    return 0;
}

bool exec_cbo_zero(struct hart *h, uint64_t va, uint32_t insn)
{
    unsigned fault = cbo_fault(h, MENVCFG_CBZE);
    if (fault) {
        hart_raise_exception(h, fault, insn);
        return false;
    }
    uint64_t base = va & ~(uint64_t)(CACHE_BLOCK_SIZE - 1);
    if (likely(mem_zero_block_hit(h, base)))
        return true;
    for (unsigned i = 0; i < CACHE_BLOCK_SIZE; i += 8)
        if (!mem_store(h, base + i, 8, 0))
            return false;
    return true;
}

/*
 * Whether a privileged instruction for S-mode may run in the current mode: 0, or the
 * exception to raise. hs_ok: HS-mode may run it now (mstatus TVM/TSR/TW); vs_ok: VS-mode
 * may (hstatus VTVM/VTSR/VTW). What HS may run but VS or VU may not is a virtual
 * instruction in them; U may run none of these.
 */
static unsigned supervisor_insn_fault(const struct hart *h, bool hs_ok, bool vs_ok)
{
    if (h->arch.priv == PRIV_M)
        return 0;
    if (!hs_ok)
        return EXC_ILLEGAL_INSN;
    if (h->arch.virt)
        return h->arch.priv == PRIV_S && vs_ok ? 0 : EXC_VIRTUAL_INSN;
    return h->arch.priv == PRIV_S ? 0 : EXC_ILLEGAL_INSN;
}

/*
 * Zawrs stall limits: wrs.nto stalls until its reservation breaks or an interrupt is
 * pending, but the wait is bounded anyway (a store that breaks no reservation, such as
 * a device's, may end the guest's wait); wrs.sto's "short" duration, and the time limit
 * past which wrs.nto traps under mstatus.TW/hstatus.VTW.
 */
#define WRS_LONG_NS 1000000
#define WRS_SHORT_NS 10000

/* What a wrs.nto that stalls past the time limit raises: nothing in M, an illegal
 * instruction with mstatus.TW, a virtual instruction in V with hstatus.VTW. */
static unsigned wrs_timeout_fault(const struct hart *h)
{
    if (h->arch.priv == PRIV_M)
        return 0;
    if (h->arch.mstatus & MSTATUS_TW)
        return EXC_ILLEGAL_INSN;
    return h->arch.virt && (h->arch.hstatus & HSTATUS_VTW) ? EXC_VIRTUAL_INSN : 0;
}

/* An AMO's value to store from the old one o and rs2's s (of size bytes: the word forms
 * compare the low words). */
static inline __attribute__((always_inline)) uint64_t amo_value(unsigned f5, unsigned size, uint64_t o, uint64_t s)
{
    int64_t so = size == 4 ? (int32_t)o : (int64_t)o, ss = size == 4 ? (int32_t)s : (int64_t)s;
    uint64_t uo = size == 4 ? (uint32_t)o : o, us = size == 4 ? (uint32_t)s : s;
    switch (f5) {
    case AMO_SWAP: return s;
    case AMO_ADD: return o + s;
    case AMO_XOR: return o ^ s;
    case AMO_AND: return o & s;
    case AMO_OR: return o | s;
    case AMO_MIN: return so < ss ? o : s;
    case AMO_MAX: return so > ss ? o : s;
    case AMO_MINU: return uo < us ? o : s;
    default: return uo > us ? o : s;
    }
}

/* host_amo32, host_amo64: the AMO f5 of *q with s, returning the old value: host atomics,
 * or a plain load and store for a sole hart (hart_platform.sole_hart). */
#define DEFINE_HOST_AMO(bits)                                                                   \
    static inline __attribute__((always_inline)) uint##bits##_t host_amo##bits(uint##bits##_t *q, unsigned f5, \
                                                                             uint##bits##_t s, bool sole) \
    {                                                                                           \
        uint##bits##_t o = __atomic_load_n(q, __ATOMIC_RELAXED);                                \
        if (sole) {                                                                             \
            __atomic_store_n(q, (uint##bits##_t)amo_value(f5, bits / 8, o, s), __ATOMIC_RELAXED); \
            return o;                                                                           \
        }                                                                                       \
        switch (f5) {                                                                           \
        case AMO_SWAP: return __atomic_exchange_n(q, s, __ATOMIC_SEQ_CST);                      \
        case AMO_ADD: return __atomic_fetch_add(q, s, __ATOMIC_SEQ_CST);                        \
        case AMO_XOR: return __atomic_fetch_xor(q, s, __ATOMIC_SEQ_CST);                        \
        case AMO_AND: return __atomic_fetch_and(q, s, __ATOMIC_SEQ_CST);                        \
        case AMO_OR: return __atomic_fetch_or(q, s, __ATOMIC_SEQ_CST);                          \
        default: /* the minimum and maximum */                                                  \
            while (!__atomic_compare_exchange_n(q, &o, (uint##bits##_t)amo_value(f5, bits / 8, o, s), true, \
                                                __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))            \
                ;                                                                               \
            return o;                                                                           \
        }                                                                                       \
    }
DEFINE_HOST_AMO(32)
DEFINE_HOST_AMO(64)

/* SC's first step: ends the hart's reservation; true when it was for this granule and
 * size and no other hart's store broke it meanwhile. */
static bool end_reservation(struct hart *h, uint64_t granule, unsigned size)
{
    uint64_t r = atomic_load(&h->arch.reservation);
    if (r != granule || h->arch.reservation_size != size) {
        hart_clear_reservation(h);
        return false;
    }
    if (h->platform.sole_hart) {
        atomic_store_explicit(&h->arch.reservation, ~0ULL, memory_order_relaxed);
        return true;
    }
    if (!atomic_compare_exchange_strong(&h->arch.reservation, &r, ~0ULL))
        return false;
    mmu_reservations_count(h, -1);
    return true;
}

/* SC's store of value at p when memory still holds what LR loaded (expected, sign-extended
 * from a word); in one step unless the hart is the sole one (hart_platform.sole_hart). */
static bool store_if_unchanged(const struct hart *h, void *p, unsigned size, uint64_t expected, uint64_t value)
{
    if (size == 4) {
        uint32_t want = (uint32_t)expected;
        if (!h->platform.sole_hart)
            return __atomic_compare_exchange_n((uint32_t *)p, &want, (uint32_t)value, false, __ATOMIC_SEQ_CST,
                                               __ATOMIC_SEQ_CST);
        if (__atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED) != want)
            return false;
        __atomic_store_n((uint32_t *)p, (uint32_t)value, __ATOMIC_RELAXED);
        return true;
    }
    if (!h->platform.sole_hart)
        return __atomic_compare_exchange_n((uint64_t *)p, &expected, value, false, __ATOMIC_SEQ_CST,
                                           __ATOMIC_SEQ_CST);
    if (__atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED) != expected)
        return false;
    __atomic_store_n((uint64_t *)p, value, __ATOMIC_RELAXED);
    return true;
}

/* Executes the AMO/LR/SC instruction; false after an exception. The translator's hit
 * paths take LR's and SC's steps in the same order (jit_emit_amo): change both together.
 * The sole hart of a board (hart_platform.sole_hart) reads and writes memory with plain
 * accesses, as nothing else performs atomic ones; other boards' harts with host atomics. */
static bool exec_atomic(struct hart *h, uint32_t insn, bool *illegal)
{
    unsigned f5 = insn_amo_funct(insn), f3 = F3;
    uint64_t addr = h->arch.x[RS1], src = h->arch.x[RS2];
    unsigned size = f3 == 2 ? 4 : 8;
    /* A reserved encoding is illegal before its address is looked at: it must not take
     * a page or access fault, nor count as a store to a page holding code. */
    if (!insn_amo_defined(insn)) {
        *illegal = true;
        return false;
    }
    if (f5 == AMO_LR) {
        void *p = mmu_atomic_ptr(h, addr, size, ACCESS_READ);
        if (!p)
            return false;
        /* Reserved before the load: a store that the load misses then sees the
         * reservation (stores break reservations once written: mmu.h). With none held,
         * a plain store: the count's locked add is the fence (another hart's store
         * ending it in between makes the count wrap below 0 for a moment). */
        uint64_t granule = mmu_reservation_granule(h, p);
        if (h->platform.sole_hart) {
            atomic_store_explicit(&h->arch.reservation, granule, memory_order_relaxed);
        } else if (atomic_load_explicit(&h->arch.reservation, memory_order_relaxed) == ~0ULL) {
            atomic_store_explicit(&h->arch.reservation, granule, memory_order_relaxed);
            mmu_reservations_count(h, 1);
        } else if (atomic_exchange(&h->arch.reservation, granule) == ~0ULL) {
            mmu_reservations_count(h, 1);
        }
        uint64_t v = size == 4 ? sx32(__atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST))
                               : __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
        h->arch.reservation_value = v;
        h->arch.reservation_size = size;
        h->arch.x[RD] = v;
        return true;
    }
    void *p = mmu_atomic_ptr(h, addr, size, ACCESS_WRITE);
    if (!p)
        return false;
    if (f5 == AMO_SC) { /* succeeds only with our reservation intact and memory unchanged */
        bool ok = false;
        if (end_reservation(h, mmu_reservation_granule(h, p), size)) {
            guest_ram_note_store(h->ram, p, size);
            ok = store_if_unchanged(h, p, size, h->arch.reservation_value, src);
            if (ok)
                mmu_atomic_stored(h, p);
        }
        h->arch.x[RD] = ok ? 0 : 1;
        return true;
    }
    guest_ram_note_store(h->ram, p, size);
    bool sole = h->platform.sole_hart;
    uint64_t old = size == 4 ? sx32(host_amo32(p, f5, (uint32_t)src, sole)) : host_amo64(p, f5, src, sole);
    mmu_atomic_stored(h, p);
    h->arch.x[RD] = old;
    return true;
}

bool exec_amo(struct hart *h, uint32_t insn)
{
    bool illegal = false;
    bool done = exec_atomic(h, insn, &illegal);
    h->arch.x[0] = 0;
    if (illegal)
        hart_raise_exception(h, EXC_ILLEGAL_INSN, insn);
    return done;
}

/* What exec_decoded did with an instruction. */
enum decoded_result { DECODED_DONE, DECODED_TRAPPED, DECODED_SLOW };

/*
 * Runs an instruction of the decoded form with the semantics every engine shares
 * (alu.h, mmu.h): sets *next unless it trapped; DECODED_SLOW leaves OP_SLOW to the caller.
 */
static enum decoded_result exec_decoded(struct hart *h, const struct dinsn *d, uint64_t pc, uint64_t *next)
{
    uint64_t *x = h->arch.x, v;
    switch ((enum op)d->op) {
    case OP_NOP: break;
    case OP_LUI: x[d->rd] = (uint64_t)(int64_t)d->imm; break;
    case OP_AUIPC: x[d->rd] = pc + (int64_t)d->imm; break;
    case OP_JAL:
        x[d->rd] = *next;
        *next = pc + (int64_t)d->imm;
        break;
    case OP_JALR: {
        uint64_t target = (x[d->rs1] + d->imm) & ~1ULL;
        x[d->rd] = *next;
        *next = target;
        break;
    }
#define BRANCH_CASE(name, cond) \
    case OP_##name: \
        if (branch_##name(x[d->rs1], x[d->rs2])) \
            *next = pc + (int64_t)d->imm; \
        break;
    BRANCH_OPS(BRANCH_CASE)
#undef BRANCH_CASE
#define LOAD_CASE(name, fn, size, sign) \
    case OP_##name: \
        if (unlikely(!fn(h, x[d->rs1] + d->imm, &v))) \
            return DECODED_TRAPPED; \
        x[d->rd] = v; \
        break;
    LOAD_OPS(LOAD_CASE)
#undef LOAD_CASE
#define STORE_CASE(name, size) \
    case OP_##name: \
        if (unlikely(!mem_store(h, x[d->rs1] + d->imm, size, x[d->rs2]))) \
            return DECODED_TRAPPED; \
        break;
    STORE_OPS(STORE_CASE)
#undef STORE_CASE
#define ALU_RR_CASE(name, expr) case OP_##name: x[d->rd] = alu_##name(x[d->rs1], x[d->rs2]); break;
    ALU_REG_OPS(ALU_RR_CASE)
#undef ALU_RR_CASE
    case OP_FENCE: mem_fence((uint32_t)d->imm); break;
    case OP_AMO:
        if (unlikely(!exec_amo(h, (uint32_t)d->imm)))
            return DECODED_TRAPPED;
        break;
    case OP_CBO_ZERO:
        if (unlikely(!exec_cbo_zero(h, x[d->rs1], (uint32_t)d->imm)))
            return DECODED_TRAPPED;
        break;
#define ALU_UNARY_CASE(name, expr) case OP_##name: x[d->rd] = alu_##name(x[d->rs1], 0); break;
    ALU_UNARY_OPS(ALU_UNARY_CASE)
#undef ALU_UNARY_CASE
#define ALU_RI_CASE(name, expr) \
    case OP_##name: x[d->rd] = alu_##name(x[d->rs1], (uint64_t)(int64_t)d->imm); break;
    ALU_IMM_OPS(ALU_RI_CASE)
#undef ALU_RI_CASE
    case OP_SLOW: case OP_FP: case OP_TRAP_CSR: case OP_RDTIME: case OP_FETCH_FENCE: case OP_END: case OP_COUNT:
        return DECODED_SLOW;
    }
    return DECODED_DONE;
}

/* exec_one; known_slow: insn is a block's OP_SLOW, OP_FP or an op exec_slow runs, which exec_decoded would
 * leave to the rest anyway, so it is not decoded again. */
static enum exec_result exec_insn(struct hart *h, uint32_t insn, uint32_t raw, unsigned len, bool known_slow)
{
    uint64_t *x = h->arch.x;
    unsigned fault = EXC_ILLEGAL_INSN; /* what `illegal` raises */
    {
        uint64_t pc = h->arch.pc;
        uint64_t next = pc + len;
        uint64_t v;
        if (!known_slow) {
            struct dinsn d;
            decode_insn(insn, len, &d);
            switch (exec_decoded(h, &d, pc, &next)) {
            case DECODED_DONE: goto retire;
            case DECODED_TRAPPED: goto trapped;
            case DECODED_SLOW: break;
            }
        }
        /* What the decoded form leaves to OP_SLOW. */
        if (exec_slow_alu(insn, x[RS1], x[RS2], &v)) {
            x[RD] = v;
            goto retire;
        }
        switch (insn & 0x7f) {
        case 0x13: { /* Zbb/Zbs immediates */
            uint64_t a = x[RS1];
            unsigned sh = (insn >> 20) & 63;
            switch (F3) {
            case 1:
                switch ((insn >> 26) & 63) {
                case 0x0a: v = a | (1ULL << sh); break;           /* bseti */
                case 0x12: v = a & ~(1ULL << sh); break;          /* bclri */
                case 0x1a: v = a ^ (1ULL << sh); break;           /* binvi */
                default: goto illegal;
                }
                break;
            case 5:
                switch ((insn >> 26) & 63) {
                case 0x18: v = rol64(a, 64 - sh); break;          /* rori */
                case 0x12: v = (a >> sh) & 1; break;              /* bexti */
                case 0x1a:
                    if (((insn >> 20) & 0xfff) != 0x687)
                        goto illegal;
                    v = brev8(a);
                    break;
                default: goto illegal;
                }
                break;
            default: goto illegal;
            }
            x[RD] = v;
            break;
        }
        case 0x1b: {
            uint64_t a = x[RS1];
            unsigned sh = (insn >> 20) & 31;
            switch (F3) {
            case 1:
                if ((insn >> 26) == 0x02)
                    v = (a & 0xffffffffULL) << ((insn >> 20) & 63); /* slli.uw */
                else if (F7 == 0x30 && sh == 0)
                    v = (uint32_t)a ? __builtin_clz((uint32_t)a) : 32;
                else if (F7 == 0x30 && sh == 1)
                    v = (uint32_t)a ? __builtin_ctz((uint32_t)a) : 32;
                else if (F7 == 0x30 && sh == 2)
                    v = __builtin_popcount((uint32_t)a);
                else
                    goto illegal;
                break;
            case 5:
                if (F7 == 0x30)
                    v = sx32(rol32(a, 32 - sh));
                else
                    goto illegal;
                break;
            default: goto illegal;
            }
            x[RD] = v;
            break;
        }
        case 0x33: {
            uint64_t a = x[RS1], b = x[RS2];
            switch (F7 << 3 | F3) { /* Zbb/Zbs */
            case 0x107: v = a & ~b; break;                        /* andn */
            case 0x106: v = a | ~b; break;                        /* orn */
            case 0x104: v = ~(a ^ b); break;                      /* xnor */
            case 0x02e: v = (int64_t)a > (int64_t)b ? a : b; break; /* max */
            case 0x02f: v = a > b ? a : b; break;                 /* maxu */
            case 0x02c: v = (int64_t)a < (int64_t)b ? a : b; break; /* min */
            case 0x02d: v = a < b ? a : b; break;                 /* minu */
            case 0x181: v = rol64(a, b); break;                   /* rol */
            case 0x185: v = rol64(a, 64 - (b & 63)); break;       /* ror */
            case 0x121: v = a & ~(1ULL << (b & 63)); break;       /* bclr */
            case 0x125: v = (a >> (b & 63)) & 1; break;           /* bext */
            case 0x1a1: v = a ^ (1ULL << (b & 63)); break;        /* binv */
            case 0x0a1: v = a | (1ULL << (b & 63)); break;        /* bset */
            default: goto illegal;
            }
            x[RD] = v;
            break;
        }
        case 0x3b: {
            uint64_t a = x[RS1], b = x[RS2];
            uint32_t a32 = a, b32 = b;
            switch (F7 << 3 | F3) { /* Zba/Zbb word forms */
            case 0x082: v = ((a & 0xffffffffULL) << 1) + b; break;
            case 0x084: v = ((a & 0xffffffffULL) << 2) + b; break;
            case 0x086: v = ((a & 0xffffffffULL) << 3) + b; break;
            case 0x181: v = sx32(rol32(a32, b32)); break;         /* rolw */
            case 0x185: v = sx32(rol32(a32, 32 - (b32 & 31))); break; /* rorw */
            default: goto illegal;
            }
            x[RD] = v;
            break;
        }
        case 0x0f:
            /* (fence and cbo.zero have ops of their own) */
            if (insn == INSN_PAUSE) {
                mem_fence(insn);
                hart_pause(h);
            } else if (F3 == 1) {
                hart_fence_i(h);
            } else if (F3 == 2 && RD == 0 && ((insn >> 20) & 0xfff) <= 2) { /* Zicbom */
                uint64_t need = ((insn >> 20) & 0xfff) == 0 ? MENVCFG_CBIE : MENVCFG_CBCFE;
                if ((fault = cbo_fault(h, need)))
                    goto illegal;
                /* Caches are coherent: only the permission check of the block remains. */
                if (!mmu_atomic_ptr(h, x[RS1] & ~(uint64_t)(CACHE_BLOCK_SIZE - 1), 8, ACCESS_WRITE))
                    goto trapped;
            } else {
                goto illegal;
            }
            break;
        case 0x73: {
            unsigned f3 = F3;
            if (f3 == 0) {
                if (RD != 0)
                    goto illegal;
                uint32_t f = insn >> 20;
                uint64_t s = h->arch.mstatus, hs = h->arch.hstatus;
                if (F7 == 0x09 || F7 == 0x0b) { /* sfence.vma; Svinval's sinval.vma */
                    if ((fault = supervisor_insn_fault(h, !(s & MSTATUS_TVM), !(hs & HSTATUS_VTVM))))
                        goto illegal;
                    /* it orders the current mode's translations only (V=1: VS stage) */
                    if (RS1 != 0)
                        mmu_flush_page(h, x[RS1], h->arch.virt);
                    else if (RS2 != 0 && !h->arch.virt)
                        mmu_flush_asid(h, x[RS2], 0, ~0ULL);
                    else
                        mmu_flush_mode(h, h->arch.virt);
                    break;
                }
                if (h->hypervisor && (F7 == 0x11 || F7 == 0x13 || F7 == 0x31 || F7 == 0x33)) {
                    /* hfence.vvma, hinval.vvma: the current guest's VS stage (one page with
                     * rs1); hfence.gvma, hinval.gvma: its G stage, unless rs2 names another
                     * VMID, whose translations went when hgatp left it */
                    bool gvma = F7 >= 0x31;
                    if ((fault = supervisor_insn_fault(h, h->arch.virt || !gvma || !(s & MSTATUS_TVM), false)))
                        goto illegal;
                    if (!gvma && RS1 != 0)
                        mmu_flush_page(h, x[RS1], true);
                    else if (!gvma)
                        mmu_flush_mode(h, true);
                    else if (RS2 == 0 || (x[RS2] & HGATP_VMID_MAX) == hgatp_vmid(h))
                        mmu_flush_gstage(h);
                    break;
                }
                if (RS1 != 0)
                    goto illegal;
                switch (f) {
                case 0x180: case 0x181: /* sfence.w.inval, sfence.inval.ir: sinval.vma flushed already */
                    if ((fault = supervisor_insn_fault(h, true, true)))
                        goto illegal;
                    goto retire;
                case 0x00d: case 0x01d: { /* Zawrs wrs.nto, wrs.sto */
                    unsigned timeout_fault = f == 0x00d ? wrs_timeout_fault(h) : 0;
                    bool short_stall = f == 0x01d || timeout_fault;
                    enum wrs_end end = hart_wrs_stall(h, short_stall ? WRS_SHORT_NS : WRS_LONG_NS);
                    if (end == WRS_TIME_LIMIT && timeout_fault) {
                        fault = timeout_fault;
                        goto illegal;
                    }
                    /* The guest re-checks its condition; an interrupt it would take now, or
                     * a kick, is the run loop's to serve before it spins on. */
                    if (end == WRS_KICKED || (end == WRS_INTERRUPT && hart_pending_interrupt(h) >= 0)) {
                        h->arch.pc = next;
                        h->arch.instret++;
                        return EXEC_CHECK_IRQ_AFTER;
                    }
                    goto retire;
                }
                case 0x000:
                    hart_raise_exception(h, h->arch.virt && h->arch.priv == PRIV_S ? EXC_ECALL_VS
                                                                                    : EXC_ECALL_U + h->arch.priv, 0);
                    goto trapped;
                case 0x001:
                    hart_raise_exception(h, EXC_BREAKPOINT, pc);
                    goto trapped;
                case 0x102: /* sret */
                    if ((fault = supervisor_insn_fault(h, !(s & MSTATUS_TSR), !(hs & HSTATUS_VTSR))))
                        goto illegal;
                    next = hart_sret(h);
                    h->arch.pc = next;
                    h->arch.instret++;
                    return EXEC_CHECK_IRQ_AFTER;
                case 0x302: /* mret */
                    if (h->arch.priv != PRIV_M)
                        goto illegal;
                    next = hart_mret(h);
                    h->arch.pc = next;
                    h->arch.instret++;
                    return EXEC_CHECK_IRQ_AFTER;
                case 0x105: /* wfi */
                    if ((fault = supervisor_insn_fault(h, !(s & MSTATUS_TW), !(hs & HSTATUS_VTW))))
                        goto illegal;
                    h->arch.pc = next;
                    h->arch.instret++;
                    return EXEC_WFI_AFTER;
                default: goto illegal;
                }
            }
            if (f3 == 4) {
                /* HLV/HLVX/HSV: M, HS, and U with hstatus.HU; a virtual instruction in V */
                unsigned f7 = F7, kind = RS2;
                if (!h->hypervisor || f7 < 0x30 || f7 > 0x37)
                    goto illegal;
                if (h->arch.virt) {
                    fault = EXC_VIRTUAL_INSN;
                    goto illegal;
                }
                if (h->arch.priv == PRIV_U && !(h->arch.hstatus & HSTATUS_HU))
                    goto illegal;
                unsigned size = 1u << ((f7 >> 1) & 3);
                if (f7 & 1) { /* hsv.b/h/w/d rs2, (rs1) */
                    uint64_t value = x[RS2];
                    if (RD != 0)
                        goto illegal;
                    if (!mmu_hypervisor_access(h, x[RS1], size, ACCESS_WRITE, false, &value))
                        goto trapped;
                    break;
                }
                /* rs2: 0 signed, 1 unsigned (not .d), 3 hlvx (.hu, .wu) */
                bool exec = kind == 3;
                if (kind == 2 || kind > 3 || (kind && size == 8) || (exec && size == 1))
                    goto illegal;
                if (!mmu_hypervisor_access(h, x[RS1], size, ACCESS_READ, exec, &v))
                    goto trapped;
                x[RD] = kind == 0 && size < 8 ? (uint64_t)sign_extend(v, 8 * size) : v;
                break;
            }
            unsigned csr = insn >> 20;
            if (csr_is_trap_handling(csr)) {
                enum exec_result r = exec_trap_csr(h, insn);
                if (r != EXEC_TRAPPED) {
                    h->arch.pc = next;
                    h->arch.instret++;
                }
                return r;
            }
            uint64_t src = (f3 & 4) ? RS1 : x[RS1];
            bool writes = (f3 & 3) == 1 || RS1 != 0;
            bool reads = (f3 & 3) != 1 || RD != 0;
            if ((fault = csr_access_cause(h, csr, writes)))
                goto illegal;
            fault = EXC_ILLEGAL_INSN;
            uint64_t old = 0;
            if ((reads || (f3 & 3) != 1) && !csr_read(h, csr, &old))
                goto illegal;
            if (writes) {
                uint64_t val = (f3 & 3) == 1 ? src : (f3 & 3) == 2 ? old | src : old & ~src;
                if (!csr_write(h, csr, val))
                    goto illegal;
                if (csr <= CSR_FCSR)
                    fp_dirty(h);
            }
            x[RD] = old;
            x[0] = 0;
            if (writes) {
                /* A CSR write may enable an interrupt, arm a trigger or move a timer: the
                 * run loop looks again. */
                h->arch.pc = next;
                h->arch.instret++;
                return EXEC_CHECK_IRQ_AFTER;
            }
            break;
        }
        case 0x2f: { /* (widths other than W and D: AMOs have an op of their own) */
            bool illegal = false;
            if (!exec_atomic(h, insn, &illegal)) {
                if (illegal)
                    goto illegal;
                goto trapped;
            }
            break;
        }
        case 0x07: case 0x27: case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
            if (!exec_fp(h, insn, raw))
                goto trapped;
            break;
        default:
            goto illegal;
        }
    retire:
        x[0] = 0;
        h->arch.pc = next;
        h->arch.instret++;
        return EXEC_NEXT;
    illegal:
        hart_raise_exception(h, fault, raw);
    trapped:
        x[0] = 0;
        return EXEC_TRAPPED;
    }
}

enum exec_result exec_one(struct hart *h, uint32_t insn, uint32_t raw, unsigned len)
{
    return exec_insn(h, insn, raw, len, false);
}

enum exec_result exec_slow(struct hart *h, uint32_t insn, uint32_t raw)
{
    return exec_insn(h, insn, raw, (raw & 3) == 3 ? 4 : 2, true);
}
