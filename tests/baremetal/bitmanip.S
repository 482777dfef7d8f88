/*
 * Zba/Zbb/Zbs instructions with known values, Zicboz cbo.zero on a 64-byte block,
 * and the identification CSRs.
 */
#include "test.h"
TEST bitmanip

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    /* Zba */
    T2 sh1add, 3, 100, 106, 1
    T2 sh2add, 3, 100, 112, 2
    T2 sh3add, 3, 100, 124, 3
    T2 add.uw, 0xffffffff00000005, 10, 15, 4
    T2 sh1add.uw, 0x1ffffffff, 1, 0x1ffffffff, 5
    T2 sh2add.uw, 0x180000000, 0, 0x200000000, 6
    T2 sh3add.uw, 0xffffffff00000001, 0, 8, 7
    TI slli.uw, 0xffffffff80000001, 4, 0x800000010, 8
    /* Zbb */
    T2 andn, 0xff00, 0x0ff0, 0xf000, 10
    T2 orn, 0, 0xffffffffffff00ff, 0xff00, 11
    T2 xnor, 0xf0, 0x0f, -256, 12
    T1 clz, 0, 64, 13
    T1 clz, 0x0000100000000000, 19, 14
    T1 clzw, 0xffffffff00001000, 19, 15
    T1 ctz, 0, 64, 16
    T1 ctz, 0x8000000000000000, 63, 17
    T1 ctzw, 0x100000000, 32, 18
    T1 cpop, 0xf0f0f0f0f0f0f0f1, 33, 19
    T1 cpopw, 0xffffffff00000007, 3, 20
    T2 max, -5, 3, 3, 21
    T2 maxu, -5, 3, -5, 22
    T2 min, -5, 3, -5, 23
    T2 minu, -5, 3, 3, 24
    T1 sext.b, 0x1280, -128, 25
    T1 sext.h, 0x18000, -32768, 26
    T1 zext.h, -1, 0xffff, 27
    T1 rev8, 0x0102030405060708, 0x0807060504030201, 28
    T1 orc.b, 0x0001002000000100, 0x00ff00ff0000ff00, 29
    T2 rol, 0x8000000000000001, 4, 0x18, 30
    T2 ror, 0x8000000000000001, 4, 0x1800000000000000, 31
    TI rori, 0x10, 4, 1, 32
    T2 rolw, 0x80000001, 4, 0x18, 33
    T2 rorw, 0x10, 1, 8, 34
    TI roriw, 1, 1, -0x80000000, 35
    /* Zbs */
    T2 bclr, -1, 63, 0x7fffffffffffffff, 40
    T2 bext, 0x400, 10, 1, 41
    T2 bext, 0x400, 74, 1, 42     /* index taken mod 64 */
    T2 binv, 0, 32, 0x100000000, 43
    T2 bset, 0, 63, 0x8000000000000000, 44
    TI bclri, 0xff, 0, 0xfe, 45
    TI bexti, 0x8000000000000000, 63, 1, 46
    TI binvi, 1, 0, 0, 47
    TI bseti, 0, 40, 0x10000000000, 48

    /*
     * Zicboz: cbo.zero clears exactly the aligned 64-byte block. QEMU 7.2 has no
     * Zicboz (cbo.zero is illegal there), so an illegal-instruction trap skips the
     * check with a note instead of failing.
     */
    la s0, cbo_area
    li t0, -1
    li t1, 0
1:  add t2, s0, t1
    sd t0, 0(t2)
    addi t1, t1, 8
    li t2, 192
    bltu t1, t2, 1b
    addi a0, s0, 64 + 24        /* any address inside the block */
    CLEAR_TRAPS
    SKIP_TRAP
    cbo.zero (a0)
    LOAD t1, trap_count
    beqz t1, 3f
    EXPECT_VAR last_mcause, 2, 53, "cbo.zero: trap other than illegal instruction"
    la a0, msg_no_zicboz
    call uart_puts
    j 4f
3:    ld t1, 56(s0)
    EXPECT t1, -1, 50, "cbo.zero: block before untouched"
    ld t1, 128(s0)
    EXPECT t1, -1, 51, "cbo.zero: block after untouched"
    li t1, 64
2:  add t2, s0, t1
    ld t2, 0(t2)
    EXPECT t2, 0, 52, "cbo.zero: block zeroed"
    addi t1, t1, 8
    li t2, 128
    bltu t1, t2, 2b

4:  /* identification CSRs */
    csrr t0, misa
    srli t1, t0, 62
    EXPECT t1, 2, 60, "misa.MXL = 64-bit"
    li t2, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 5) | (1 << 8) | (1 << 12) | (1 << 18) | (1 << 20)
    and t1, t0, t2
    EXPECT_REG t1, t2, 61, "misa has A C D F I M S U"
    csrr t0, mvendorid
    csrr t0, marchid
    csrr t0, mimpid
    csrr t0, mhartid
    EXPECT t0, 0, 62, "mhartid of the boot hart"
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

    .section .rodata
msg_no_zicboz: .asciz "NOTE: cbo.zero is illegal (no Zicboz): block check skipped\n"

    .bss
    .align 6
cbo_area: .space 192
