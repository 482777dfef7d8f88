/*
 * Jumps, calls and taken branches from one page to another, which translated code chains
 * behind a guard (the fetch TLB entry and the target page's code generation): a loop on
 * one page calls a function on the next page, which branches to a third and jumps on to
 * a fourth before it returns, ROUNDS times; each adds its own amount. Also the
 * microbenchmark of those exits (callgrind's instruction count of a run).
 */
#include "test.h"
TEST cross_page

#define ROUNDS 200000

    .text
    .globl main
main:
    mv s2, ra
    li s0, ROUNDS
    li s1, 0
    li a0, 0
    .p2align 12
1:  call far_call
    addi s1, s1, 1
    bne s1, s0, 1b
    li t0, 7 * ROUNDS
    EXPECT_REG a0, t0, 1, "sum of the cross-page functions' amounts"
    mv ra, s2
    ret

    .p2align 12
far_call:
    addi a0, a0, 1
    beq zero, zero, far_branch

    .p2align 12
far_branch:
    addi a0, a0, 2
    j far_jump

    .p2align 12
far_jump:
    addi a0, a0, 4
    ret
