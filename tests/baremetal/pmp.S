/*
 * PMP: TOR, NA4 and NAPOT regions enforced on S/U loads, stores and fetches
 * (causes 5, 7, 1 with mtval = address), M-mode unrestricted until an entry is
 * locked, then enforced on M too. Lowest-numbered matching entry wins.
 */
#include "test.h"
TEST pmp

#define PMP_R 1
#define PMP_W 2
#define PMP_X 4
#define PMP_TOR   0x08
#define PMP_NA4   0x10
#define PMP_NAPOT 0x18
#define PMP_L     0x80

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    la s0, tor_region
    la s1, na4_word
    la s2, napot_page
    srli t0, s0, 2
    csrw pmpaddr0, t0
    li t1, 4096
    add t0, s0, t1
    srli t0, t0, 2
    csrw pmpaddr1, t0           /* entry 1: TOR [tor_region, +4K), read-only */
    srli t0, s1, 2
    csrw pmpaddr2, t0           /* entry 2: NA4 na4_word, no access */
    srli t0, s2, 2
    ori t0, t0, 0x1ff
    csrw pmpaddr3, t0           /* entry 3: NAPOT 4K napot_page, execute-only */
    li t0, -1
    srli t0, t0, 10
    csrw pmpaddr4, t0           /* entry 4: everything else RWX */
    li t0, ((PMP_NAPOT | PMP_R | PMP_W | PMP_X) << 32) | ((PMP_NAPOT | PMP_X) << 24) | (PMP_NA4 << 16) | ((PMP_TOR | PMP_R) << 8)
    csrw pmpcfg0, t0
    csrr t1, pmpcfg0
    EXPECT_REG t1, t0, 1, "pmpcfg0 reads back"

    /* TOR, read-only */
    CLEAR_TRAPS
    li a0, MODE_S
    la a1, do_load
    addi a2, s0, 8
    call run_in
    EXPECT_VAR trap_count, 0, 2, "S load from read-only TOR region"
    SKIP_TRAP
    li a0, MODE_U
    la a1, do_store
    addi a2, s0, 16
    call run_in
    EXPECT_VAR last_mcause, 7, 3, "U store to read-only TOR region: cause"
    LOAD t0, last_mtval
    addi t1, s0, 16
    EXPECT_REG t0, t1, 4, "U store to read-only TOR region: mtval"
    RESUME_AT fetch_resumed
    li a0, MODE_S
    la a1, do_jump
    mv a2, s0
    call run_in
    EXPECT_VAR last_mcause, 1, 5, "S fetch from non-executable TOR region: cause"
    LOAD t0, last_mtval
    EXPECT_REG t0, s0, 6, "S fetch fault: mtval"
    li t1, 4096
    add t1, s0, t1
    CLEAR_TRAPS
    li a0, MODE_S
    la a1, do_store
    mv a2, t1
    call run_in
    EXPECT_VAR trap_count, 0, 7, "TOR top is exclusive"

    /* NA4: exactly four bytes */
    SKIP_TRAP
    li a0, MODE_S
    la a1, do_load
    mv a2, s1
    call run_in
    EXPECT_VAR last_mcause, 5, 8, "S load from no-access NA4 word"
    CLEAR_TRAPS
    li a0, MODE_S
    la a1, do_load
    addi a2, s1, 4
    call run_in
    EXPECT_VAR trap_count, 0, 9, "NA4 covers only 4 bytes"

    /* NAPOT 4K, execute-only */
    SKIP_TRAP
    li a0, MODE_U
    la a1, do_load
    addi a2, s2, 2000
    call run_in
    EXPECT_VAR last_mcause, 5, 10, "U load from execute-only NAPOT page: cause"
    LOAD t0, last_mtval
    li t1, 2000
    add t1, s2, t1
    EXPECT_REG t0, t1, 11, "U load from execute-only NAPOT page: mtval"
    CLEAR_TRAPS
    li a0, MODE_U
    la a1, do_jump
    mv a2, s2                   /* napot_page starts with a ret */
    call run_in
    EXPECT_VAR trap_count, 0, 12, "U fetch from execute-only NAPOT page"

    /* M is unrestricted by unlocked entries */
    CLEAR_TRAPS
    lw t0, 0(s1)                /* lw: an 8-byte access would only partly match NA4, which fails in any mode */
    sd t0, 8(s0)
    ld t0, 0(s2)
    EXPECT_VAR trap_count, 0, 13, "M ignores unlocked entries"

    /* Locking entry 2 enforces it on M */
    li t0, PMP_L << 16
    csrs pmpcfg0, t0
    SKIP_TRAP
    lw t0, 0(s1)
    EXPECT_VAR last_mcause, 5, 14, "M load from locked no-access NA4"
    LOAD t0, last_mtval
    EXPECT_REG t0, s1, 15, "M load from locked NA4: mtval"
    csrr t0, pmpaddr2
    csrw pmpaddr2, zero
    csrr t1, pmpaddr2
    EXPECT_REG t0, t1, 16, "locked pmpaddr ignores writes"

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

do_load:
    ld a0, 0(a0)
    ret
do_store:
    sd zero, 0(a0)
    ret
do_jump:                        /* calls a0; a fetch fault resumes at fetch_resumed */
    mv t0, ra
    jalr a0
fetch_resumed:
    mv ra, t0
    ret

    .bss
    .align 12
tor_region: .space 4096
    .align 3
    .space 8
na4_word:   .space 8

    .section .text.napot, "ax"
    .align 12
napot_page:
    ret
    .align 12
