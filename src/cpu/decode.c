#include "cpu/decode.h"

#include <string.h>

#include "cpu/csr.h"
#include "cpu/rvc.h"

/* sfence.vma, hfence.vvma, hfence.gvma and their Svinval forms (with funct3 0): Linux's
 * TLB flushes. */
static bool is_translation_fence(uint32_t i)
{
    switch (i >> 25) {
    case 0x09: case 0x0b: case 0x11: case 0x13: case 0x31: case 0x33:
        return true;
    default:
        return false;
    }
}

/* Maps one 32-bit instruction to its op (OP_SLOW when it has none). */
static enum op classify(uint32_t i)
{
    unsigned f3 = insn_funct3(i), f7 = insn_funct7(i);
    switch (i & 0x7f) {
    case 0x37: return OP_LUI;
    case 0x17: return OP_AUIPC;
    case 0x6f: return OP_JAL;
    case 0x67: return f3 == 0 ? OP_JALR : OP_SLOW;
    case 0x63: {
        static const enum op br[8] = { OP_BEQ, OP_BNE, OP_SLOW, OP_SLOW, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
        return br[f3];
    }
    case 0x03: {
        static const enum op ld[8] = { OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_SLOW };
        return ld[f3];
    }
    case 0x23: {
        static const enum op st[8] = { OP_SB, OP_SH, OP_SW, OP_SD, OP_SLOW, OP_SLOW, OP_SLOW, OP_SLOW };
        return st[f3];
    }
    case 0x13:
        switch (f3) {
        case 0: return OP_ADDI;
        case 2: return OP_SLTI;
        case 3: return OP_SLTIU;
        case 4: return OP_XORI;
        case 6: return OP_ORI;
        case 7: return OP_ANDI;
        case 1:
            switch (i >> 20) {
            case 0x600: return OP_CLZ;
            case 0x601: return OP_CTZ;
            case 0x602: return OP_CPOP;
            case 0x604: return OP_SEXTB;
            case 0x605: return OP_SEXTH;
            default: return (i >> 26) == 0 ? OP_SLLI : OP_SLOW;
            }
        default:
            switch (i >> 20) {
            case 0x287: return OP_ORCB;
            case 0x6b8: return OP_REV8;
            default: return (i >> 26) == 0 ? OP_SRLI : (i >> 26) == 0x10 ? OP_SRAI : OP_SLOW;
            }
        }
    case 0x1b:
        if (f3 == 0)
            return OP_ADDIW;
        if (f3 == 1 && f7 == 0)
            return OP_SLLIW;
        if (f3 == 5 && f7 == 0)
            return OP_SRLIW;
        if (f3 == 5 && f7 == 0x20)
            return OP_SRAIW;
        return OP_SLOW;
    case 0x33:
        switch (f7 << 3 | f3) {
        case 0x000: return OP_ADD;
        case 0x100: return OP_SUB;
        case 0x001: return OP_SLL;
        case 0x002: return OP_SLT;
        case 0x003: return OP_SLTU;
        case 0x004: return OP_XOR;
        case 0x005: return OP_SRL;
        case 0x105: return OP_SRA;
        case 0x006: return OP_OR;
        case 0x007: return OP_AND;
        case 0x008: return OP_MUL;
        case 0x009: return OP_MULH;
        case 0x00a: return OP_MULHSU;
        case 0x00b: return OP_MULHU;
        case 0x00c: return OP_DIV;
        case 0x00d: return OP_DIVU;
        case 0x00e: return OP_REM;
        case 0x00f: return OP_REMU;
        case 0x082: return OP_SH1ADD;
        case 0x084: return OP_SH2ADD;
        case 0x086: return OP_SH3ADD;
        default: return OP_SLOW;
        }
    case 0x3b:
        switch (f7 << 3 | f3) {
        case 0x000: return OP_ADDW;
        case 0x100: return OP_SUBW;
        case 0x001: return OP_SLLW;
        case 0x005: return OP_SRLW;
        case 0x105: return OP_SRAW;
        case 0x008: return OP_MULW;
        case 0x00c: return OP_DIVW;
        case 0x00d: return OP_DIVUW;
        case 0x00e: return OP_REMW;
        case 0x00f: return OP_REMUW;
        case 0x020: return OP_ADDUW;
        default: return OP_SLOW;
        }
    case 0x2f:
        return f3 == 2 || f3 == 3 ? OP_AMO : OP_SLOW;
    case 0x0f:
        if (f3 == 0) /* fence.tso too; pause goes to the run loop's host (hart_pause) */
            return i == INSN_PAUSE ? OP_SLOW : OP_FENCE;
        if (f3 == 1)
            return OP_FETCH_FENCE; /* fence.i */
        return f3 == 2 && insn_rd(i) == 0 && (i >> 20) == 4 ? OP_CBO_ZERO : OP_SLOW;
    case 0x07: case 0x27: case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
        return OP_FP;
    case 0x73:
        /* Zicsr on sstatus, sscratch, sepc, scause or stval: Linux's irq and user-access paths */
        if ((f3 & 3) && csr_is_trap_handling(i >> 20))
            return OP_TRAP_CSR;
        /* rdtime (csrrs/csrrc from x0, csrrsi/csrrci of 0): Linux's clock reads */
        if ((i >> 20) == CSR_TIME && (f3 & 3) >= 2 && insn_rs1(i) == 0)
            return OP_RDTIME;
        return f3 == 0 && is_translation_fence(i) ? OP_FETCH_FENCE : OP_SLOW;
    default:
        return OP_SLOW;
    }
}

static int32_t op_immediate(enum op op, uint32_t i)
{
    switch (i & 0x7f) {
    case 0x37: case 0x17: return (int32_t)insn_imm_u(i);
    case 0x6f: return (int32_t)insn_imm_j(i);
    case 0x63: return (int32_t)insn_imm_b(i);
    case 0x23: return (int32_t)insn_imm_s(i);
    case 0x13: case 0x1b:
        if (op == OP_SLLI || op == OP_SRLI || op == OP_SRAI)
            return (i >> 20) & 63;
        if (op == OP_SLLIW || op == OP_SRLIW || op == OP_SRAIW)
            return (i >> 20) & 31;
        return (int32_t)insn_imm_i(i);
    default: return (int32_t)insn_imm_i(i);
    }
}

bool decode_insn(uint32_t insn, unsigned len, struct dinsn *d)
{
    enum op op = insn ? classify(insn) : OP_SLOW;
    if (op == OP_SLOW || op == OP_FP) {
        *d = (struct dinsn){ .op = (uint8_t)op, .imm = (int32_t)insn, .len = len };
        return op == OP_SLOW;
    }
    bool ends = op == OP_JAL || op == OP_JALR || (op >= OP_BEQ && op <= OP_BGEU) || op == OP_FETCH_FENCE;
    bool whole = op == OP_FENCE || op == OP_CBO_ZERO || op == OP_AMO || op == OP_TRAP_CSR || op == OP_RDTIME ||
                 op == OP_FETCH_FENCE; /* kept whole in imm */
    bool memory = (op >= OP_LB && op <= OP_SD) || whole;
    if (insn_rd(insn) == 0 && !ends && !memory)
        op = OP_NOP; /* hints and nops writing x0 */
    /* The one-operand ops read x0 as their second operand (their rs2 field is part of
     * the function code). */
    bool unary = op >= OP_CLZ && op <= OP_REV8;
    *d = (struct dinsn){ .op = op, .rd = insn_rd(insn), .rs1 = insn_rs1(insn), .rs2 = unary ? 0 : insn_rs2(insn),
                         .len = len, .imm = whole ? (int32_t)insn : op_immediate(op, insn) };
    return ends;
}

unsigned decode_in_page(const uint8_t *page, unsigned offset, struct dinsn *d, bool *ends)
{
    if (offset > 0xffe)
        return 0;
    uint16_t lo;
    memcpy(&lo, page + offset, 2);
    uint32_t insn;
    unsigned len;
    if ((lo & 3) == 3) {
        if (offset > 0xffc)
            return 0;
        memcpy(&insn, page + offset, 4);
        len = 4;
    } else {
        insn = rvc_table[lo];
        len = 2;
    }
    *ends = decode_insn(insn, len, d);
    if (d->op == OP_SLOW || d->op == OP_FP) {
        d->rd = lo & 0xff;
        d->rs1 = lo >> 8;
    }
    return len;
}
