/*
 * Zfh's memory and boxing rules: flh NaN-boxes, fsh writes two bytes, fmv.x.h
 * sign-extends, a half that is not NaN-boxed reads as the canonical NaN, narrowing to
 * half overflows to infinity; Zfa's fli.h of 2^16 is infinity. Arithmetic is difftested
 * against QEMU 7.2.
 */
#include "test.h"
TEST zfh

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    li t0, MSTATUS_FS
    csrs mstatus, t0
    la s0, halves
    flh fa0, 2(s0)
    fmv.x.d a0, fa0
    EXPECT a0, 0xffffffffffffbc00, 1, "flh NaN-boxes"
    fmv.x.h a0, fa0
    EXPECT a0, 0xffffffffffffbc00, 2, "fmv.x.h sign-extends"
    fsh fa0, 4(s0)
    ld a0, 0(s0)
    EXPECT a0, 0x5555bc00bc003c00, 3, "fsh writes two bytes"
    li t0, 0x00000000ffff3c00    /* 1.0 without a full box */
    fmv.d.x fa1, t0
    fadd.h fa2, fa1, fa0
    fmv.x.h a0, fa2
    EXPECT a0, 0x7e00, 4, "an unboxed half reads as the canonical NaN"
    li t0, 0x47800000            /* 65536.0f */
    fmv.w.x fa1, t0
    csrw fflags, zero
    fcvt.h.s fa2, fa1
    fmv.x.h a0, fa2
    EXPECT a0, 0x7c00, 5, "fcvt.h.s 65536 = inf"
    csrr a0, fflags
    EXPECT a0, OF | NX, 6, "fcvt.h.s overflow flags"
    .insn r 0x53, 0, 0x7a, fa2, x29, x1  /* fli.h fa2, 2^16 */
    fmv.x.h a0, fa2
    EXPECT a0, 0x7c00, 7, "fli.h 2^16 = inf"
    .insn r 0x53, 0, 0x7a, fa2, x1, x1   /* fli.h fa2, least normal */
    fmv.x.h a0, fa2
    EXPECT a0, 0x0400, 8, "fli.h least normal"
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

    .data
    .align 3
halves: .half 0x3c00, 0xbc00, 0x5555, 0x5555
