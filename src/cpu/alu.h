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
#include "cpu/crypto.h"

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

/* Carry-less product of a and b (Zbc/Zbkc): the three clmul ops take parts of it. */
static inline unsigned __int128 clmul128(uint64_t a, uint64_t b)
{
    unsigned __int128 r = 0;
    for (unsigned i = 0; i < 64; i++)
        if ((b >> i) & 1)
            r ^= (unsigned __int128)a << i;
    return r;
}

/* Each byte 0xff where it is non-zero, else 0 (Zbb orc.b, strlen's word at a time). A
 * byte's bits folded into its lowest, then spread back over the byte. */
static inline uint64_t orc_b(uint64_t v)
{
    v |= v >> 4;
    v |= v >> 2;
    v |= v >> 1;
    return (v & 0x0101010101010101ULL) * 0xff;
}

/* Reverses the bits within each byte (Zbkb brev8). */
static inline uint64_t brev8(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    return ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
}

/* Zbkx: each `bits`-wide element of b indexes an element of a (0 when out of range). */
static inline uint64_t xperm(uint64_t a, uint64_t b, unsigned bits)
{
    uint64_t mask = (1ULL << bits) - 1, r = 0;
    for (unsigned i = 0; i < 64; i += bits) {
        uint64_t idx = (b >> i) & mask;
        if (idx * bits < 64)
            r |= ((a >> (idx * bits)) & mask) << i;
    }
    return r;
}

static inline uint32_t ror32(uint32_t v, unsigned s)
{
    return rol32(v, 32 - s);
}

static inline uint64_t ror64(uint64_t v, unsigned s)
{
    return rol64(v, 64 - s);
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

/* The one-operand Zbb ops, which the kernel's string functions (orc.b, rev8, ctz) and bit
 * searches run in loops: x[rd] = f(a = x[rs1]). They decode with rs2 = x0, which their
 * alu_<OP>(a, b) ignores. */
#define ALU_UNARY_OPS(X) \
    X(CLZ, a ? __builtin_clzll(a) : 64) X(CTZ, a ? __builtin_ctzll(a) : 64) X(CPOP, __builtin_popcountll(a)) \
    X(SEXTB, (int64_t)(int8_t)a) X(SEXTH, (int64_t)(int16_t)a) X(ORCB, orc_b(a)) X(REV8, __builtin_bswap64(a))

/* Register-immediate ops: x[rd] = f(a = x[rs1], b = the decoded immediate, sign-extended;
 * shift amounts are decoded in range). */
#define ALU_IMM_OPS(X) \
    X(ADDI, a + b) X(SLTI, (int64_t)a < (int64_t)b) X(SLTIU, a < b) X(XORI, a ^ b) \
    X(ORI, a | b) X(ANDI, a & b) X(SLLI, a << b) X(SRLI, a >> b) X(SRAI, (int64_t)a >> b) \
    X(ADDIW, sx32(a + b)) X(SLLIW, sx32((uint32_t)a << b)) X(SRLIW, sx32((uint32_t)a >> b)) \
    X(SRAIW, sx32((int32_t)a >> b))

/* Register-register ops that decode to OP_SLOW (the reference executor runs them):
 * X(name, major opcode, funct7, funct3, f(a = x[rs1], b = x[rs2])). */
#define ALU_SLOW_REG_OPS(X) \
    X(CZERO_EQZ, 0x33, 0x07, 5, b ? a : 0) X(CZERO_NEZ, 0x33, 0x07, 7, b ? 0 : a) \
    X(CLMUL, 0x33, 0x05, 1, clmul128(a, b)) X(CLMULR, 0x33, 0x05, 2, clmul128(a, b) >> 63) \
    X(CLMULH, 0x33, 0x05, 3, clmul128(a, b) >> 64) \
    X(PACK, 0x33, 0x04, 4, (a & 0xffffffffULL) | b << 32) \
    X(PACKH, 0x33, 0x04, 7, (a & 0xff) | (b & 0xff) << 8) \
    X(PACKW, 0x3b, 0x04, 4, sx32((a & 0xffff) | (b & 0xffff) << 16)) /* rs2 = x0: zext.h */ \
    X(XPERM4, 0x33, 0x14, 2, xperm(a, b, 4)) X(XPERM8, 0x33, 0x14, 4, xperm(a, b, 8)) \
    X(AES64ES, 0x33, 0x19, 0, aes64es(a, b)) X(AES64ESM, 0x33, 0x1b, 0, aes64esm(a, b)) \
    X(AES64DS, 0x33, 0x1d, 0, aes64ds(a, b)) X(AES64DSM, 0x33, 0x1f, 0, aes64dsm(a, b)) \
    X(AES64KS2, 0x33, 0x3f, 0, aes64ks2(a, b)) \
    X(SM4ED0, 0x33, 0x18, 0, sm4ed(a, b, 0)) X(SM4ED1, 0x33, 0x38, 0, sm4ed(a, b, 1)) \
    X(SM4ED2, 0x33, 0x58, 0, sm4ed(a, b, 2)) X(SM4ED3, 0x33, 0x78, 0, sm4ed(a, b, 3)) \
    X(SM4KS0, 0x33, 0x1a, 0, sm4ks(a, b, 0)) X(SM4KS1, 0x33, 0x3a, 0, sm4ks(a, b, 1)) \
    X(SM4KS2, 0x33, 0x5a, 0, sm4ks(a, b, 2)) X(SM4KS3, 0x33, 0x7a, 0, sm4ks(a, b, 3))

/* One-operand ops under opcode 0x13, funct3 1 that decode to OP_SLOW:
 * X(name, the immediate field, f(a = x[rs1])). */
#define ALU_SLOW_UNARY_OPS(X) \
    X(SHA256SUM0, 0x100, sx32(ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22))) \
    X(SHA256SUM1, 0x101, sx32(ror32(a, 6) ^ ror32(a, 11) ^ ror32(a, 25))) \
    X(SHA256SIG0, 0x102, sx32(ror32(a, 7) ^ ror32(a, 18) ^ ((uint32_t)a >> 3))) \
    X(SHA256SIG1, 0x103, sx32(ror32(a, 17) ^ ror32(a, 19) ^ ((uint32_t)a >> 10))) \
    X(SHA512SUM0, 0x104, ror64(a, 28) ^ ror64(a, 34) ^ ror64(a, 39)) \
    X(SHA512SUM1, 0x105, ror64(a, 14) ^ ror64(a, 18) ^ ror64(a, 41)) \
    X(SHA512SIG0, 0x106, ror64(a, 1) ^ ror64(a, 8) ^ (a >> 7)) \
    X(SHA512SIG1, 0x107, ror64(a, 19) ^ ror64(a, 61) ^ (a >> 6)) \
    X(SM3P0, 0x108, sx32((uint32_t)a ^ rol32(a, 9) ^ rol32(a, 17))) \
    X(SM3P1, 0x109, sx32((uint32_t)a ^ rol32(a, 15) ^ rol32(a, 23))) \
    X(AES64IM, 0x300, aes64im(a))

/* Conditional branches: taken when f(a = x[rs1], b = x[rs2]). */
#define BRANCH_OPS(X) \
    X(BEQ, a == b) X(BNE, a != b) X(BLT, (int64_t)a < (int64_t)b) \
    X(BGE, (int64_t)a >= (int64_t)b) X(BLTU, a < b) X(BGEU, a >= b)

#define ALU_DEFINE(name, expr) \
    static inline uint64_t alu_##name(uint64_t a, uint64_t b) { return (uint64_t)(expr); }
ALU_REG_OPS(ALU_DEFINE)
ALU_IMM_OPS(ALU_DEFINE)
#define ALU_UNARY_DEFINE(name, expr) \
    static inline uint64_t alu_##name(uint64_t a, uint64_t b) { (void)b; return (uint64_t)(expr); }
ALU_UNARY_OPS(ALU_UNARY_DEFINE)
#undef ALU_UNARY_DEFINE
#define ALU_SLOW_DEFINE(name, opcode, funct7, funct3, expr) ALU_DEFINE(name, expr)
ALU_SLOW_REG_OPS(ALU_SLOW_DEFINE)
#undef ALU_SLOW_DEFINE
#define ALU_UNARY_DEFINE(name, imm, expr) \
    static inline uint64_t alu_##name(uint64_t a) { return (uint64_t)(expr); }
ALU_SLOW_UNARY_OPS(ALU_UNARY_DEFINE)
#undef ALU_UNARY_DEFINE
#undef ALU_DEFINE
#define BRANCH_DEFINE(name, cond) \
    static inline bool branch_##name(uint64_t a, uint64_t b) { return (cond); }
BRANCH_OPS(BRANCH_DEFINE)
#undef BRANCH_DEFINE

#endif
