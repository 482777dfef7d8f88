/*
 * Zkr: the seed CSR gives ES16 status with 16 entropy bits, only to read-write CSR
 * instructions, in S and U only as mseccfg.SSEED/USEED allow; mseccfg keeps just those
 * two bits. seed reads zero-extended, as in Spike and the Sail model (QEMU 7.2
 * sign-extends it, failing check 1).
 */
#include "test.h"
TEST zkr

#define CSR_SEED     0x015
#define CSR_MSECCFG  0x747
#define SSEED        (1 << 9)
#define USEED        (1 << 8)

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    /* ES16 status, reserved bits zero, entropy that changes */
    csrrw a0, CSR_SEED, zero
    srli t0, a0, 30
    EXPECT t0, 2, 1, "seed: OPST = ES16"
    slli t0, a0, 34
    srli t0, t0, 50
    EXPECT t0, 0, 2, "seed: bits 29:16 zero"
    li s0, 0
    li s1, 4
1:  csrrw a1, CSR_SEED, zero
    xor t0, a0, a1
    or s0, s0, t0
    addi s1, s1, -1
    bnez s1, 1b
    EXPECT_NE s0, 0, 3, "seed: five reads all equal"
    /* read-only forms are illegal, even in M */
    CLEAR_TRAPS
    SKIP_TRAP
    csrrs a0, CSR_SEED, zero
    EXPECT_VAR last_mcause, 2, 4, "csrrs seed, x0 is illegal"
    SKIP_TRAP
    csrrci a0, CSR_SEED, 0
    EXPECT_VAR trap_count, 2, 5, "csrrci seed, 0 is illegal"
    CLEAR_TRAPS
    csrrsi a0, CSR_SEED, 1
    EXPECT_VAR trap_count, 0, 6, "csrrsi seed, 1 is legal"
    /* mseccfg: USEED and SSEED only */
    li t0, -1
    csrw CSR_MSECCFG, t0
    csrr t0, CSR_MSECCFG
    EXPECT t0, SSEED | USEED, 7, "mseccfg keeps USEED and SSEED"
    csrw CSR_MSECCFG, zero
    RUN_IN_TRAPS MODE_S, read_seed, 1, 8, "seed in S without SSEED"
    RUN_IN_TRAPS MODE_U, read_seed, 1, 9, "seed in U without USEED"
    li t0, SSEED
    csrw CSR_MSECCFG, t0
    RUN_IN_TRAPS MODE_S, read_seed, 0, 10, "seed in S with SSEED"
    RUN_IN_TRAPS MODE_U, read_seed, 1, 11, "seed in U with only SSEED"
    li t0, USEED
    csrw CSR_MSECCFG, t0
    RUN_IN_TRAPS MODE_U, read_seed, 0, 12, "seed in U with USEED"
    RUN_IN_TRAPS MODE_S, read_seed, 1, 13, "seed in S with only USEED"
    csrw CSR_MSECCFG, zero
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

read_seed:
    csrrw a0, CSR_SEED, zero
    ret
