/*
 * Svinval and Zawrs privilege rules: sinval.vma is sfence.vma's (illegal in U, and in S
 * under mstatus.TVM); sfence.w.inval and sfence.inval.ir are illegal only in U; wrs.nto
 * and wrs.sto run in every mode (a stall that ends at once never meets TW's limit).
 * Illegal ones trap to M at the instruction (mtval is not checked: QEMU 7.2 leaves it 0
 * for these, which the spec allows). QEMU 7.2 has no Zawrs, and lets U-mode run
 * sfence.w.inval and sfence.inval.ir (checks 9 and 10), which the Svinval spec forbids.
 */
#include "test.h"
TEST svinval
    .option arch, +svinval      /* gcc 12 does not take svinval in -march */

/* run \fn in \mode; fail with \code unless its first instruction trapped to M as
 * illegal (\illegal = 1) or nothing trapped (\illegal = 0) */
.macro RUN_IN mode, fn, illegal, code, msg
    RUN_IN_TRAPS \mode, \fn, \illegal, \code, "\msg (traps)"
    .if \illegal
    EXPECT_VAR last_mcause, 2, \code, "\msg (mcause)"
    EXPECT_VAR_ADDR last_mepc, \fn, \code, "\msg (mepc)"
    .endif
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    RUN_IN MODE_M, do_sinval, 0, 1, "sinval.vma in M"
    RUN_IN MODE_M, do_wfence, 0, 2, "sfence.w.inval in M"
    RUN_IN MODE_M, do_ifence, 0, 2, "sfence.inval.ir in M"
    RUN_IN MODE_M, do_wrs, 0, 3, "wrs.nto, wrs.sto in M"
    RUN_IN MODE_S, do_sinval, 0, 4, "sinval.vma in S"
    RUN_IN MODE_S, do_wfence, 0, 5, "sfence.w.inval in S"
    RUN_IN MODE_S, do_ifence, 0, 5, "sfence.inval.ir in S"
    RUN_IN MODE_S, do_wrs, 0, 6, "wrs.nto, wrs.sto in S"
    RUN_IN MODE_U, do_wrs, 0, 7, "wrs.nto, wrs.sto in U"
    RUN_IN MODE_U, do_sinval, 1, 8, "sinval.vma in U"
    RUN_IN MODE_U, do_wfence, 1, 9, "sfence.w.inval in U"
    RUN_IN MODE_U, do_ifence, 1, 10, "sfence.inval.ir in U"
    li t0, MSTATUS_TVM | MSTATUS_TW
    csrs mstatus, t0
    RUN_IN MODE_S, do_sinval, 1, 11, "sinval.vma in S with TVM"
    RUN_IN MODE_S, do_wfence, 0, 12, "sfence.w.inval in S with TVM"
    RUN_IN MODE_S, do_ifence, 0, 12, "sfence.inval.ir in S with TVM"
    RUN_IN MODE_S, do_wrs, 0, 13, "wrs.nto, wrs.sto in S with TW"
    li t0, MSTATUS_TVM | MSTATUS_TW
    csrc mstatus, t0
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/* each runs one instruction that may trap (SKIP_TRAP covers one) */
do_sinval:
    sinval.vma a0, a1
    ret
do_wfence:
    sfence.w.inval
    ret
do_ifence:
    sfence.inval.ir
    ret
do_wrs:
    wrs.nto
    wrs.sto
    ret
