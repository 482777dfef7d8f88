/*
 * Integer semantics, written once for every engine: RISC-V arithmetic where C's differs
 * (division by zero, overflow, high products), and the tables of the decoded ops
 * (decode.h) with what each computes. The reference executor and the interpreter run
 * alu_<OP> / branch_<OP>; the translator inlines the simple ones as host instructions
 * and calls the others (divisions, mulhsu).
 */
#ifndef RACKVM_ALU_H
#define RACKVM_ALU_H

#include "common.h"

static inline uint64_t mulhu64(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static inline int64_t mulh64(int64_t a, int64_t b)
{
    return (int64_t)(((__int128)a * b) >> 64);
}

static inline int64_t mulhsu64(int64_t a, uint64_t b)
{
    return (int64_t)(((__int128)a * (unsigned __int128)b) >> 64);
}

static inline uint64_t div64(int64_t a, int64_t b)
{
    if (b == 0)
        return ~0ULL;
    if (a == INT64_MIN && b == -1)
        return (uint64_t)a;
    return (uint64_t)(a / b);
}

static inline uint64_t rem64(int64_t a, int64_t b)
{
    if (b == 0)
        return (uint64_t)a;
    if (a == INT64_MIN && b == -1)
        return 0;
    return (uint64_t)(a % b);
}

static inline uint64_t sx32(uint64_t v)
{
    return (uint64_t)(int64_t)(int32_t)v;
}

static inline uint64_t rol64(uint64_t v, unsigned s)
{
    s &= 63;
    return s ? (v << s) | (v >> (64 - s)) : v;
}

static inline uint32_t rol32(uint32_t v, unsigned s)
{
    s &= 31;
    return s ? (v << s) | (v >> (32 - s)) : v;
}

static inline uint64_t divw32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0)
        return ~0ULL;
    if (x == INT32_MIN && y == -1)
        return sx32((uint32_t)x);
    return sx32((uint32_t)(x / y));
}

static inline uint64_t remw32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0)
        return sx32((uint32_t)x);
    if (x == INT32_MIN && y == -1)
        return 0;
    return sx32((uint32_t)(x % y));
}

/* Register-register ops: x[rd] = f(a = x[rs1], b = x[rs2]). */
#define ALU_REG_OPS(X) \
    X(ADD, a + b) X(SUB, a - b) X(SLL, a << (b & 63)) X(SLT, (int64_t)a < (int64_t)b) \
    X(SLTU, a < b) X(XOR, a ^ b) X(SRL, a >> (b & 63)) X(SRA, (int64_t)a >> (b & 63)) \
    X(OR, a | b) X(AND, a & b) \
    X(ADDW, sx32(a + b)) X(SUBW, sx32(a - b)) X(SLLW, sx32((uint32_t)a << (b & 31))) \
    X(SRLW, sx32((uint32_t)a >> (b & 31))) X(SRAW, sx32((int32_t)a >> (b & 31))) \
    X(MUL, a * b) X(MULH, mulh64(a, b)) X(MULHSU, mulhsu64(a, b)) X(MULHU, mulhu64(a, b)) \
    X(DIV, div64(a, b)) X(DIVU, b ? a / b : ~0ULL) X(REM, rem64(a, b)) X(REMU, b ? a % b : a) \
    X(MULW, sx32((uint32_t)a * (uint32_t)b)) X(DIVW, divw32(a, b)) \
    X(DIVUW, (uint32_t)b ? sx32((uint32_t)a / (uint32_t)b) : ~0ULL) X(REMW, remw32(a, b)) \
    X(REMUW, (uint32_t)b ? sx32((uint32_t)a % (uint32_t)b) : sx32(a)) \
    X(SH1ADD, (a << 1) + b) X(SH2ADD, (a << 2) + b) X(SH3ADD, (a << 3) + b) \
    X(ADDUW, (a & 0xffffffffULL) + b)

/* Register-immediate ops: x[rd] = f(a = x[rs1], b = the decoded immediate, sign-extended;
 * shift amounts are decoded in range). */
#define ALU_IMM_OPS(X) \
    X(ADDI, a + b) X(SLTI, (int64_t)a < (int64_t)b) X(SLTIU, a < b) X(XORI, a ^ b) \
    X(ORI, a | b) X(ANDI, a & b) X(SLLI, a << b) X(SRLI, a >> b) X(SRAI, (int64_t)a >> b) \
    X(ADDIW, sx32(a + b)) X(SLLIW, sx32((uint32_t)a << b)) X(SRLIW, sx32((uint32_t)a >> b)) \
    X(SRAIW, sx32((int32_t)a >> b))

/* Conditional branches: taken when f(a = x[rs1], b = x[rs2]). */
#define BRANCH_OPS(X) \
    X(BEQ, a == b) X(BNE, a != b) X(BLT, (int64_t)a < (int64_t)b) \
    X(BGE, (int64_t)a >= (int64_t)b) X(BLTU, a < b) X(BGEU, a >= b)

#define ALU_DEFINE(name, expr) \
    static inline uint64_t alu_##name(uint64_t a, uint64_t b) { return (uint64_t)(expr); }
ALU_REG_OPS(ALU_DEFINE)
ALU_IMM_OPS(ALU_DEFINE)
#undef ALU_DEFINE
#define BRANCH_DEFINE(name, cond) \
    static inline bool branch_##name(uint64_t a, uint64_t b) { return (cond); }
BRANCH_OPS(BRANCH_DEFINE)
#undef BRANCH_DEFINE

#endif
