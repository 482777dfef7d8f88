/* Field extraction for 32-bit RISC-V instruction formats (immediates sign-extended). */
#ifndef RACKVM_DECODE_H
#define RACKVM_DECODE_H

#include "common.h"

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

#endif
