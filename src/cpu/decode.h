/*
 * The one RISC-V decoder: field extraction for the 32-bit instruction formats
 * (immediates sign-extended), and decode_insn, which turns an instruction into the
 * decoded form (struct dinsn) that every engine runs: the reference executor, the block
 * interpreter and the translator. Instructions without an op of their own (other CSR
 * accesses, system, bit-manipulation beyond Zba and Zbb's one-operand ops, Zicond, scalar
 * crypto) decode to OP_SLOW, which only the reference executor (execute.c) takes apart.
 * F, D and Zfh loads, stores and arithmetic decode to OP_FP: kept whole like OP_SLOW and
 * run by exec_fp, but within a block, since they cannot change privilege, translation or
 * interrupts. Accesses to the supervisor's trap-handling CSRs (csr_is_trap_handling)
 * decode to OP_TRAP_CSR: kept whole and run in one step (exec_trap_csr) within a block,
 * which they leave only when they unmask a pending interrupt; reads of the time CSR
 * (OP_RDTIME) are kept whole and run by the reference executor within a block, which
 * they never leave. The fences after which fetches must see new translations or code
 * (sfence.vma, hfence, their Svinval forms, fence.i) decode to OP_FETCH_FENCE: kept whole
 * and run by the reference executor in place, they end their block, and the next one is
 * found through the fetch TLB.
 */
#ifndef RACKVM_DECODE_H
#define RACKVM_DECODE_H

#include "common.h"

/* Zihintpause's pause (fence w, 0): OP_SLOW, so that the reference executor runs it
 * (hart_pause), and ends its block. */
#define INSN_PAUSE 0x0100000fu

static inline unsigned insn_rd(uint32_t i) { return (i >> 7) & 31; }
static inline unsigned insn_rs1(uint32_t i) { return (i >> 15) & 31; }
static inline unsigned insn_rs2(uint32_t i) { return (i >> 20) & 31; }
static inline unsigned insn_funct3(uint32_t i) { return (i >> 12) & 7; }
static inline unsigned insn_funct7(uint32_t i) { return i >> 25; }
static inline int64_t insn_imm_i(uint32_t i) { return (int64_t)(int32_t)i >> 20; }
/* Sign bits are shifted as unsigned values: left shifts of negative numbers are undefined in C. */
static inline uint64_t insn_sign(uint32_t i, unsigned from_bit, unsigned to_bit)
{
    return (uint64_t)((int64_t)(int32_t)i >> from_bit) << to_bit;
}
static inline int64_t insn_imm_s(uint32_t i)
{
    return (int64_t)(insn_sign(i, 25, 5) | ((i >> 7) & 31));
}
static inline int64_t insn_imm_b(uint32_t i)
{
    return (int64_t)(insn_sign(i, 31, 12) | ((i >> 7 & 1) << 11) | ((i >> 25 & 63) << 5) | ((i >> 8 & 15) << 1));
}
static inline int64_t insn_imm_u(uint32_t i) { return (int64_t)(int32_t)(i & 0xfffff000); }
static inline int64_t insn_imm_j(uint32_t i)
{
    return (int64_t)(insn_sign(i, 31, 20) | (i & 0xff000) | ((i >> 20 & 1) << 11) | ((i >> 21 & 0x3ff) << 1));
}

/* The A extension's funct5 (an OP_AMO's bits 31:27): LR, SC and the AMOs' operations. */
enum amo_funct {
    AMO_ADD = 0x00, AMO_SWAP = 0x01, AMO_LR = 0x02, AMO_SC = 0x03, AMO_XOR = 0x04, AMO_OR = 0x08,
    AMO_AND = 0x0c, AMO_MIN = 0x10, AMO_MAX = 0x14, AMO_MINU = 0x18, AMO_MAXU = 0x1c,
};
static inline unsigned insn_amo_funct(uint32_t i) { return i >> 27; }
/* Whether AMO-opcode bits i name a defined instruction: a known funct5, width .w or .d,
 * and LR with rs2 = 0; the rest is illegal. The executor and the translator both ask. */
static inline bool insn_amo_defined(uint32_t i)
{
    unsigned width = i >> 12 & 7;
    if (width != 2 && width != 3)
        return false;
    switch (insn_amo_funct(i)) {
    case AMO_LR:
        return (i >> 20 & 31) == 0;
    case AMO_ADD: case AMO_SWAP: case AMO_SC: case AMO_XOR: case AMO_OR: case AMO_AND:
    case AMO_MIN: case AMO_MAX: case AMO_MINU: case AMO_MAXU:
        return true;
    default:
        return false;
    }
}

/* The ops of the decoded form (OP_END: the end of a block cut short, see block.h). */
#define OPS(X) \
    X(SLOW) X(END) X(NOP) X(LUI) X(AUIPC) X(JAL) X(JALR) \
    X(BEQ) X(BNE) X(BLT) X(BGE) X(BLTU) X(BGEU) \
    X(LB) X(LH) X(LW) X(LD) X(LBU) X(LHU) X(LWU) X(SB) X(SH) X(SW) X(SD) \
    X(ADDI) X(SLTI) X(SLTIU) X(XORI) X(ORI) X(ANDI) X(SLLI) X(SRLI) X(SRAI) \
    X(ADDIW) X(SLLIW) X(SRLIW) X(SRAIW) \
    X(ADD) X(SUB) X(SLL) X(SLT) X(SLTU) X(XOR) X(SRL) X(SRA) X(OR) X(AND) \
    X(ADDW) X(SUBW) X(SLLW) X(SRLW) X(SRAW) \
    X(MUL) X(MULH) X(MULHSU) X(MULHU) X(DIV) X(DIVU) X(REM) X(REMU) \
    X(MULW) X(DIVW) X(DIVUW) X(REMW) X(REMUW) \
    X(SH1ADD) X(SH2ADD) X(SH3ADD) X(ADDUW) \
    X(CLZ) X(CTZ) X(CPOP) X(SEXTB) X(SEXTH) X(ORCB) X(REV8) \
    X(FENCE) X(CBO_ZERO) X(AMO) X(TRAP_CSR) X(RDTIME) X(FETCH_FENCE) \
    X(FP)

enum op {
#define ENUM(name) OP_##name,
    OPS(ENUM)
#undef ENUM
    OP_COUNT
};

/* A decoded instruction: its op and operands (blocks keep a smaller form of it for the
 * interpreter, block.h's block_insn). */
struct dinsn {
    int32_t imm;         /* OP_SLOW, OP_FP, OP_FENCE, OP_CBO_ZERO, OP_AMO, OP_TRAP_CSR, OP_RDTIME,
                          * OP_FETCH_FENCE: the 32-bit (expanded) instruction */
    uint8_t op, rd, rs1, rs2, len;
};

/*
 * Decodes insn (the 32-bit form; compressed ones expanded; len 2 or 4) into d. Writes to
 * x0 decode to OP_NOP (memory ops keep theirs: they may fault or order); OP_SLOW, OP_FP,
 * OP_FENCE, OP_CBO_ZERO, OP_AMO, OP_TRAP_CSR, OP_RDTIME and OP_FETCH_FENCE keep the
 * instruction in imm. Returns whether it is a control transfer, OP_FETCH_FENCE
 * or OP_SLOW, where a translated block ends (the block engine's blocks run on past a
 * conditional branch, see block.h).
 */
bool decode_insn(uint32_t insn, unsigned len, struct dinsn *d);

/*
 * Decodes the instruction at page offset `offset` of the guest page whose bytes start at
 * host address page into d, as decode_insn does (*ends: its result); an OP_SLOW or OP_FP
 * compressed one keeps its 16 bits in rd and rs1 (execute.h's dinsn_raw). Returns its
 * length, or 0 when it crosses into the next page (the reference path fetches it).
 * Every engine's blocks and the translator's traces decode through it.
 */
unsigned decode_in_page(const uint8_t *page, unsigned offset, struct dinsn *d, bool *ends);

#endif
