/* RISC-V instruction encoders for unit tests that hand-assemble guest code. */
#ifndef RACKVM_RV_ENCODE_H
#define RACKVM_RV_ENCODE_H

#include <stdint.h>

static inline uint32_t R(unsigned f7, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static inline uint32_t I(int32_t imm, unsigned rs1, unsigned f3, unsigned rd, unsigned op)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static inline uint32_t S(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t i = (uint32_t)imm;
    return (i >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (i & 31) << 7 | 0x23;
}
static inline uint32_t B(int32_t imm, unsigned rs2, unsigned rs1, unsigned f3)
{
    uint32_t i = (uint32_t)imm;
    return (i >> 12 & 1) << 31 | (i >> 5 & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
           (i >> 1 & 15) << 8 | (i >> 11 & 1) << 7 | 0x63;
}
static inline uint32_t J(int32_t imm, unsigned rd)
{
    uint32_t i = (uint32_t)imm;
    return (i >> 20 & 1) << 31 | (i >> 1 & 0x3ff) << 21 | (i >> 11 & 1) << 20 | (i >> 12 & 0xff) << 12 | rd << 7 | 0x6f;
}
static inline uint32_t AMO(unsigned f5, unsigned rs2, unsigned rs1, unsigned f3, unsigned rd)
{
    return R(f5 << 2, rs2, rs1, f3, rd, 0x2f);
}
static inline uint32_t U(int32_t imm20, unsigned rd, unsigned op)
{
    return (uint32_t)imm20 << 12 | rd << 7 | op;
}

#endif
