/*
 * Zawrs on two harts: wrs.nto stalls while the LR reservation holds, and another hart's
 * store to the reserved word ends the stall (hart 1 stores 5 ms after hart 0 starts
 * waiting: a wrs.nto that did not stall would spin thousands of times meanwhile); a
 * pending interrupt ends it even while interrupts are disabled; under mstatus.TW a
 * wrs.nto that stalls past the time limit below M raises an illegal instruction, one
 * without a reservation does not stall and so does not trap, nor does wrs.sto or M mode;
 * in VS, hstatus.VTW makes it a virtual instruction.
 * rackvm-options: --cpu h=on
 */
#include "test.h"
TEST zawrs

#define WRS_NTO .word 0x00d00073
#define WRS_STO .word 0x01d00073
#define CAUSE_ILLEGAL 2
#define CAUSE_VIRTUAL 22
#define CSR_HSTATUS 0x600
#define HSTATUS_VTW (1 << 21)
#define MSTATUS_MPV (1 << 39)
#define MIP_SSIP (1 << 1)
#define STORE_DELAY 50000        /* 5 ms at the 10 MHz timebase */
#define MAX_WAITS 1000           /* wrs.nto rounds hart 0 may take meanwhile */
#define IRQ_ROUNDS 2000
#define IRQ_ROUNDS_TICKS 10000000 /* 1 s: IRQ_ROUNDS stalls of 1 ms each would take 2 */

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)

    /* --- another hart's store ends the stall --- */
    AWAIT_HART1 60
    li t0, 1
    sd t0, store_request, t2
    la s0, wait_word
    li s1, 0                    /* wrs.nto rounds */
3:  lr.d t0, (s0)
    bnez t0, 4f
    WRS_NTO
    addi s1, s1, 1
    j 3b
4:  sltiu s1, s1, MAX_WAITS
    EXPECT s1, 1, 61, "wrs.nto rounds while hart 1 had not stored (stalls that did not wait)"

    /* --- a pending interrupt ends the stall, even with interrupts disabled --- */
    li t0, MIP_SSIP
    csrs mie, t0
    csrs mip, t0                /* pending, not delegated, mstatus.MIE clear: not taken */
    la s0, idle_word
    li s1, IRQ_ROUNDS
    csrr s2, time
5:  lr.d t0, (s0)
    WRS_NTO
    addi s1, s1, -1
    bnez s1, 5b
    csrr t0, time
    sub s2, t0, s2
    li t0, MIP_SSIP
    csrc mip, t0
    csrc mie, t0
    li t0, IRQ_ROUNDS_TICKS
    sltu s2, s2, t0
    EXPECT s2, 1, 62, "wrs.nto with an interrupt pending stalled"

    /* --- mstatus.TW --- */
    li t0, MSTATUS_TW
    csrs mstatus, t0
    RUN_IN_TRAPS MODE_S, nto_reserved, 1, 63, "wrs.nto in S with TW, stalled to the limit, traps"
    EXPECT_VAR last_mcause, CAUSE_ILLEGAL, 64, "wrs.nto with TW: illegal instruction"
    RUN_IN_TRAPS MODE_S, nto_unreserved, 0, 65, "wrs.nto without a reservation does not trap with TW"
    RUN_IN_TRAPS MODE_S, sto_reserved, 0, 66, "wrs.sto does not trap with TW"
    call nto_reserved           /* M mode: TW does not apply */
    li t0, MSTATUS_TW
    csrc mstatus, t0
    RUN_IN_TRAPS MODE_S, nto_reserved, 0, 67, "wrs.nto in S without TW does not trap"

    /* --- hstatus.VTW, in VS (G stage and VS stage bare) --- */
    li t0, HSTATUS_VTW
    csrs CSR_HSTATUS, t0
    li t0, MSTATUS_MPV
    csrs mstatus, t0
    RUN_IN_TRAPS MODE_S, nto_reserved, 1, 68, "wrs.nto in VS with VTW, stalled to the limit, traps"
    li t0, MSTATUS_MPV          /* the final ecall came from V=1 */
    csrc mstatus, t0
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 69, "wrs.nto with VTW: virtual instruction"
    li t0, HSTATUS_VTW
    csrc CSR_HSTATUS, t0

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/* Stalls on a reservation no hart breaks. */
nto_reserved:
    la t0, idle_word
    lr.d t1, (t0)
    WRS_NTO
    ret

nto_unreserved:
    la t0, idle_word
    lr.d t1, (t0)
    sc.d t1, t1, (t0)           /* ends the reservation */
    WRS_NTO
    ret

sto_reserved:
    la t0, idle_word
    lr.d t1, (t0)
    WRS_STO
    ret

    .globl hart1_main
hart1_main:
    addi t1, a0, -1             /* only hart 1 takes part */
    bnez t1, 9f
    li t0, 1
    sd t0, hart1_alive, t2
1:  LOAD t0, store_request
    beqz t0, 1b
    csrr t1, time
    li t0, STORE_DELAY
    add t1, t1, t0
2:  csrr t0, time
    bltu t0, t1, 2b
    li t0, 1
    sd t0, wait_word, t2
9:  wfi
    j 9b

    .bss
    .align 6
wait_word:     .dword 0
    .align 6
idle_word:     .dword 0
    .align 6
store_request: .dword 0
hart1_alive:   .dword 0
