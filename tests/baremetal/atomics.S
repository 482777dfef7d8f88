/*
 * A extension: LR/SC success and failure, every AMO in .w and .d with signed and
 * unsigned corner values, and two harts incrementing shared counters (amoadd and
 * an LR/SC loop) 100000 times each: the totals must be exact.
 */
#include "test.h"
TEST atomics

#define ITERATIONS 100000

/* mem = \init; rd = amo\op.\w mem, \operand; check rd and the new memory value. */
.macro AMO w, op, init, operand, want_rd, want_mem, code
    la s0, amo_word
    li t0, \init
    sd zero, 0(s0)
    s\w t0, 0(s0)
    li t1, \operand
    amo\op\().\w s1, t1, (s0)
    EXPECT s1, \want_rd, \code, "amo\op.\w: returned value"
    l\w s1, 0(s0)
    EXPECT s1, \want_mem, \code, "amo\op.\w: memory value"
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)

    /* --- LR/SC on one hart --- */
    la s0, amo_word
    li t0, 5
    sd t0, 0(s0)
    lr.d t1, (s0)
    addi t1, t1, 1
    sc.d t2, t1, (s0)
    EXPECT t2, 0, 1, "sc.d after lr.d succeeds"
    ld t1, 0(s0)
    EXPECT t1, 6, 2, "sc.d stored the value"
    li t1, 99
    sc.d t2, t1, (s0)
    EXPECT_NE t2, 0, 3, "sc.d without a reservation fails"
    ld t1, 0(s0)
    EXPECT t1, 6, 4, "failed sc.d must not store"
    lr.w t1, (s0)
    sc.w t2, t1, (s0)
    EXPECT t2, 0, 5, "sc.w after lr.w succeeds"
    li t0, -8
    sw t0, 0(s0)
    lr.w t1, (s0)
    EXPECT t1, -8, 6, "lr.w sign-extends"

    /* --- every AMO, corner values --- */
    AMO w, swap, 0x7fffffff, 0x80000000, 0x7fffffff, -0x80000000, 10
    AMO w, add, 0x7fffffff, 1, 0x7fffffff, -0x80000000, 11
    AMO w, add, -1, 0x100000001, -1, 0, 12
    AMO w, and, 0xf0f0f0f0, 0xff00ff00, 0xfffffffff0f0f0f0, 0xfffffffff000f000, 13
    AMO w, or, 0x0f0f0000, 0x000f0f0f, 0x0f0f0000, 0x0f0f0f0f, 14
    AMO w, xor, 0xffff0000, 0xff00ff00, 0xffffffffffff0000, 0x00ffff00, 15
    AMO w, min, -1, 1, -1, -1, 16
    AMO w, min, 1, 0x1ffffffff, 1, -1, 17   /* upper operand bits are ignored */
    AMO w, max, 0x80000000, 0, -0x80000000, 0, 18
    AMO w, minu, 0xffffffff, 1, -1, 1, 19
    AMO w, maxu, 0x80000000, 0x7fffffff, -0x80000000, -0x80000000, 20
    AMO w, maxu, 0x7fffffff, 0xffffffff80000000, 0x7fffffff, -0x80000000, 21
    AMO d, swap, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 30
    AMO d, add, 0x7fffffffffffffff, 1, 0x7fffffffffffffff, 0x8000000000000000, 31
    AMO d, and, 0xf0f0f0f0f0f0f0f0, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0, 0xf000f000f000f000, 32
    AMO d, or, 0x0f0f000000000000, 0x000f0f0000000001, 0x0f0f000000000000, 0x0f0f0f0000000001, 33
    AMO d, xor, 0xffff0000ffff0000, 0xff00ff00ff00ff00, 0xffff0000ffff0000, 0x00ffff0000ffff00, 34
    AMO d, min, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000000, 35
    AMO d, max, 0x8000000000000000, -1, 0x8000000000000000, -1, 36
    AMO d, minu, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff, 37
    AMO d, maxu, 0x8000000000000000, -1, 0x8000000000000000, -1, 38
    AMO d, min, -1, 0, -1, -1, 39
    AMO d, maxu, 1, 0, 1, 1, 40

    /* --- SC fails after another hart stores to the reserved address --- */
    AWAIT_HART1 50
    la s0, amo_word
    li t0, 1234
    sd t0, 0(s0)
    lr.d t1, (s0)
    li t0, 1
    sd t0, store_request, t2
3:  LOAD t0, store_request
    bnez t0, 3b
    addi t1, t1, 1
    sc.d t2, t1, (s0)
    EXPECT_NE t2, 0, 51, "sc.d after another hart's store fails"
    ld t1, 0(s0)
    EXPECT t1, 4321, 52, "the other hart's store is visible"

    /* --- both harts count --- */
    li t0, 1
    sd t0, count_go, t2
    call count
4:  LOAD t0, hart1_done
    beqz t0, 4b
    fence rw, rw
    LOAD t0, counter_amo
    EXPECT t0, 2 * ITERATIONS, 53, "amoadd counter from two harts"
    LOAD t0, counter_lrsc
    EXPECT t0, 2 * ITERATIONS, 54, "LR/SC counter from two harts"

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/* Adds 1 to counter_amo and to counter_lrsc ITERATIONS times each. */
count:
    la t0, counter_amo
    li t1, ITERATIONS
    li t2, 1
1:  amoadd.w zero, t2, (t0)
    addi t1, t1, -1
    bnez t1, 1b
    la t0, counter_lrsc
    li t1, ITERATIONS
2:  lr.d t3, (t0)
    addi t3, t3, 1
    sc.d t4, t3, (t0)
    bnez t4, 2b
    addi t1, t1, -1
    bnez t1, 2b
    ret

    .globl hart1_main
hart1_main:
    addi t1, a0, -1             /* only hart 1 takes part */
    bnez t1, 9f
    li t0, 1
    sd t0, hart1_alive, t2
2:  LOAD t0, store_request
    beqz t0, 2b
    li t0, 4321
    sd t0, amo_word, t2
    sd zero, store_request, t2
3:  LOAD t0, count_go
    beqz t0, 3b
    call count
    fence rw, rw
    li t0, 1
    sd t0, hart1_done, t2
9:  wfi
    j 9b

    .bss
    .align 6
amo_word:     .dword 0
    .align 6
store_request: .dword 0
hart1_alive:  .dword 0
count_go:     .dword 0
hart1_done:   .dword 0
    .align 6
counter_amo:  .dword 0
    .align 6
counter_lrsc: .dword 0
