/*
 * Scalar cryptography corner cases: aes64ks1i's last round (no RotWord, no round
 * constant) and its reserved round numbers, the 32-bit SHA-256/SM3/SM4 forms reading
 * only the low word and sign-extending. Known-answer vectors are in test_cpu and the
 * instructions are difftested against QEMU 7.2.
 */
#include "test.h"
TEST crypto

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    TI aes64ks1i, 0x3c4fcf0900000000, 10, 0xeb848a01eb848a01, 1
    TI aes64ks1i, 0x3c4fcf0900000000, 9, 0x01eb84bc01eb84bc, 2
    TI aes64ks1i, 0x3c4fcf0900000000, 0, 0x01eb848b01eb848b, 3
    T1 sha256sig0, 0xffffffff00000000, 0, 4
    T1 sha256sum0, 0x6a09e667, 0xffffffffce20b47e, 5
    T1 sm3p1, 0xffffffff00000000, 0, 6
    T1 sha512sig0, 1, 0x8100000000000000, 7
    li a4, 0xffffffff
    li a5, 0
    sm4ed a6, a4, a5, 0          /* S(0) = 0xd6 through the round layer, xor a4's low word */
    EXPECT a6, 0xffffffffa4a42a71, 8, "sm4ed sign-extends"
    CLEAR_TRAPS
    SKIP_TRAP
    .insn i 0x13, 1, a6, a4, 0x31b   /* aes64ks1i with rnum 11: reserved */
    EXPECT_VAR last_mcause, 2, 9, "aes64ks1i rnum 11 is illegal"
    EXPECT_VAR trap_count, 1, 10, "aes64ks1i rnum 11 traps once"
    ld ra, 0(sp)
    addi sp, sp, 16
    ret
