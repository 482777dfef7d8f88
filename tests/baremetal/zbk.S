/*
 * Zicond, Zbc, Zbkb and Zbkx with known values and their corner cases: zero and
 * all-ones operands, the high and reversed halves of carry-less products, packw's sign
 * extension, out-of-range crossbar indices. binutils 2.40 has no Zicond, so czero is
 * written with .insn; QEMU 7.2 has no Zicond, so an illegal-instruction trap on the first
 * one skips those checks with a note.
 */
#include "test.h"
TEST zbk

.macro czero.eqz rd, rs1, rs2
    .insn r 0x33, 5, 0x07, \rd, \rs1, \rs2
.endm
.macro czero.nez rd, rs1, rs2
    .insn r 0x33, 7, 0x07, \rd, \rs1, \rs2
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    /* Zbc */
    T2 clmul, 0x8000000000000003, 0x8000000000000003, 5, 1
    T2 clmulh, 0x8000000000000003, 0x8000000000000003, 0x4000000000000000, 2
    T2 clmulr, 0x8000000000000003, 0x8000000000000003, 0x8000000000000000, 3
    T2 clmul, -1, -1, 0x5555555555555555, 4
    T2 clmulh, -1, -1, 0x5555555555555555, 5
    T2 clmulr, -1, -1, 0xaaaaaaaaaaaaaaaa, 6
    T2 clmul, 0x123456789abcdef0, 0xfedcba9876543210, 0x0a0789828c810f00, 7
    T2 clmulh, 0x123456789abcdef0, 0xfedcba9876543210, 0x0e038d8688850b04, 8
    T2 clmulr, 0x123456789abcdef0, 0xfedcba9876543210, 0x1c071b0d110a1608, 9
    T2 clmul, -1, 0, 0, 10
    T2 clmulh, -1, 1, 0, 11
    T2 clmulr, 0x8000000000000000, 1, 1, 12
    /* Zbkb (rev8, rotations and andn/orn/xnor are Zbb's, checked in bitmanip) */
    T2 pack, 0x1111111122222222, 0x3333333344444444, 0x4444444422222222, 20
    T2 packh, 0x1234, 0x5678, 0x7834, 21
    T2 packw, 0x1234, 0x8765, 0xffffffff87651234, 22
    T2 packw, 0xffffffffffff1234, 0x7fff0001, 0x00011234, 23
    li a4, 0xfedcba9876548765
    packw a6, a4, zero           /* zext.h's encoding */
    EXPECT a6, 0x8765, 24, "packw rd, rs1, x0 (zext.h)"
    T1 brev8, 0x0102030405060708, 0x8040c020a060e010, 25
    T1 brev8, 0xff80000100000000, 0xff01008000000000, 26
    /* Zbkx */
    T2 xperm8, 0x0102030405060708, 0x0001020304050607, 0x0807060504030201, 30
    T2 xperm8, 0x0102030405060708, 0xff00000000000008, 0x0008080808080800, 31
    T2 xperm4, 0x0102030405060708, 0xfedcba9876543210, 0x0102030405060708, 32
    T2 xperm4, 0x0102030405060708, 0x0123456789abcdef, 0x8070605040302010, 33
    T2 xperm4, 0x0102030405060708, 0xffffffffffffffff, 0x0000000000000000, 34
    /* Zicond: probe, then the checks */
    CLEAR_TRAPS
    SKIP_TRAP
    czero.eqz a6, a4, a5
    LOAD t1, trap_count
    beqz t1, 1f
    EXPECT_VAR last_mcause, 2, 40, "czero.eqz: trap other than illegal instruction"
    la a0, msg_no_zicond
    call uart_puts
    j 2f
1:  T2 czero.eqz, 42, 0, 0, 41
    T2 czero.eqz, 42, 0x8000000000000000, 42, 42
    T2 czero.nez, 42, 0, 42, 43
    T2 czero.nez, 42, -1, 0, 44
    li a4, 42
    czero.nez a6, a4, zero       /* x0 as the condition: always 0, so rs1 passes */
    EXPECT a6, 42, 45, "czero.nez rd, rs1, x0"
    li a4, 7
    czero.eqz a4, a4, a4         /* rd = rs1 = rs2 */
    EXPECT a4, 7, 46, "czero.eqz rd = rs1 = rs2"
2:  ld ra, 0(sp)
    addi sp, sp, 16
    ret

    .section .rodata
msg_no_zicond: .asciz "NOTE: czero.eqz is illegal (no Zicond): Zicond checks skipped\n"
