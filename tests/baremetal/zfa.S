/*
 * Zfa: fli's table ends (least normal, inf, canonical NaN), fminm/fmaxm returning the
 * canonical NaN where fmin/fmax return the other operand, fround/froundnx (NX only from
 * froundnx, signed zero results), fcvtmod.w.d's modular results and NV-over-NX flags,
 * fleq/fltq quiet on quiet NaNs. binutils 2.40 has no Zfa: encodings come from .insn.
 * QEMU 7.2 has no Zfa either.
 */
#include "test.h"
TEST zfa

.macro FLI fmt, rd, index       /* fmt 0x78 .s, 0x79 .d; rs2 = 1 */
    .insn r 0x53, 0, \fmt, \rd, x\index, x1
.endm
.macro FMINM_D rd, a, b
    .insn r 0x53, 2, 0x15, \rd, \a, \b
.endm
.macro FMAXM_D rd, a, b
    .insn r 0x53, 3, 0x15, \rd, \a, \b
.endm
.macro FROUND_D rd, rs, rm, nx  /* rs2 = 4 (fround) or 5 (froundnx) */
    .insn r 0x53, \rm, 0x21, \rd, \rs, x\nx
.endm
.macro FCVTMOD_W_D rd, rs
    .insn r 0x53, 1, 0x61, \rd, \rs, x8
.endm
.macro FLEQ_D rd, a, b
    .insn r 0x53, 4, 0x51, \rd, \a, \b
.endm
.macro FLTQ_D rd, a, b
    .insn r 0x53, 5, 0x51, \rd, \a, \b
.endm

/* fa1 = \bits, fflags cleared */
.macro LOADD bits
    li t0, \bits
    fmv.d.x fa1, t0
    csrw fflags, zero
.endm
/* fail unless fflags == \flags (then cleared) */
.macro FLAGS flags, code, msg
    csrrw t1, fflags, zero
    EXPECT t1, \flags, \code, "\msg (fflags)"
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    li t0, MSTATUS_FS
    csrs mstatus, t0
    /* fli */
    FLI 0x79, fa0, 0
    fmv.x.d a0, fa0
    EXPECT a0, 0xbff0000000000000, 1, "fli.d -1.0"
    FLI 0x79, fa0, 1
    fmv.x.d a0, fa0
    EXPECT a0, 0x0010000000000000, 2, "fli.d least normal"
    FLI 0x79, fa0, 29
    fmv.x.d a0, fa0
    EXPECT a0, 0x40f0000000000000, 3, "fli.d 2^16"
    FLI 0x79, fa0, 30
    fmv.x.d a0, fa0
    EXPECT a0, 0x7ff0000000000000, 4, "fli.d inf"
    FLI 0x79, fa0, 31
    fmv.x.d a0, fa0
    EXPECT a0, 0x7ff8000000000000, 5, "fli.d canonical NaN"
    FLI 0x78, fa0, 1
    fmv.x.d a0, fa0
    EXPECT a0, 0xffffffff00800000, 6, "fli.s least normal, NaN-boxed"
    FLI 0x78, fa0, 28
    fmv.x.w a0, fa0
    EXPECT a0, 0x47000000, 7, "fli.s 2^15"
    /* fminm/fmaxm */
    LOADD 0x7ff8000000000000
    FLI 0x79, fa2, 16
    FMINM_D fa0, fa2, fa1
    fmv.x.d a0, fa0
    EXPECT a0, 0x7ff8000000000000, 10, "fminm.d 1, qNaN = NaN"
    fmin.d fa0, fa2, fa1
    fmv.x.d a0, fa0
    EXPECT a0, 0x3ff0000000000000, 11, "fmin.d 1, qNaN = 1"
    FLAGS 0, 12, "fminm.d with a quiet NaN"
    LOADD 0x8000000000000000
    fmv.d.x fa2, zero
    FMAXM_D fa0, fa1, fa2
    fmv.x.d a0, fa0
    EXPECT a0, 0, 13, "fmaxm.d -0, +0 = +0"
    LOADD 0x7ff0000000000001
    FMINM_D fa0, fa1, fa2
    FLAGS NV, 14, "fminm.d with a signalling NaN"
    /* fround/froundnx */
    LOADD 0x4004000000000000      /* 2.5 */
    FROUND_D fa0, fa1, 0, 4
    fmv.x.d a0, fa0
    EXPECT a0, 0x4000000000000000, 20, "fround.d 2.5 rne = 2"
    FLAGS 0, 21, "fround.d sets no NX"
    FROUND_D fa0, fa1, 0, 5
    FLAGS NX, 22, "froundnx.d sets NX"
    FROUND_D fa0, fa1, 4, 4
    fmv.x.d a0, fa0
    EXPECT a0, 0x4008000000000000, 23, "fround.d 2.5 rmm = 3"
    LOADD 0xbfd3333333333333      /* -0.3 */
    FROUND_D fa0, fa1, 3, 5
    fmv.x.d a0, fa0
    EXPECT a0, 0x8000000000000000, 24, "froundnx.d -0.3 rup = -0"
    FLAGS NX, 25, "froundnx.d -0.3"
    LOADD 0x7ff0000000000001
    FROUND_D fa0, fa1, 0, 4
    fmv.x.d a0, fa0
    EXPECT a0, 0x7ff8000000000000, 26, "fround.d sNaN = canonical NaN"
    FLAGS NV, 27, "fround.d sNaN"
    /* fcvtmod.w.d */
    LOADD 0x41f0000000580000      /* 2^32 + 5.5 */
    FCVTMOD_W_D a0, fa1
    EXPECT a0, 5, 30, "fcvtmod.w.d 2^32 + 5.5"
    FLAGS NV, 31, "fcvtmod.w.d out of range: NV, not NX"
    LOADD 0xc00d99999999999a      /* -3.7 */
    FCVTMOD_W_D a0, fa1
    EXPECT a0, -3, 32, "fcvtmod.w.d -3.7"
    FLAGS NX, 33, "fcvtmod.w.d -3.7"
    LOADD 0x41e0000000000000      /* 2^31 */
    FCVTMOD_W_D a0, fa1
    EXPECT a0, 0xffffffff80000000, 34, "fcvtmod.w.d 2^31 wraps"
    FLAGS NV, 35, "fcvtmod.w.d 2^31"
    LOADD 0xc1e0000000100000      /* -2^31 - 0.5 */
    FCVTMOD_W_D a0, fa1
    EXPECT a0, 0xffffffff80000000, 36, "fcvtmod.w.d -2^31 - 0.5"
    FLAGS NX, 37, "fcvtmod.w.d -2^31 - 0.5 truncates into range"
    LOADD 0xfff0000000000000
    FCVTMOD_W_D a0, fa1
    EXPECT a0, 0, 38, "fcvtmod.w.d -inf"
    FLAGS NV, 39, "fcvtmod.w.d -inf"
    /* fleq/fltq */
    LOADD 0x7ff8000000000000
    FLI 0x79, fa2, 16
    FLEQ_D a0, fa1, fa2
    EXPECT a0, 0, 40, "fleq.d qNaN, 1"
    FLAGS 0, 41, "fleq.d is quiet on a quiet NaN"
    fle.d a0, fa1, fa2
    FLAGS NV, 42, "fle.d signals on a quiet NaN"
    FLI 0x79, fa1, 20             /* 2.0 */
    FLTQ_D a0, fa2, fa1
    EXPECT a0, 1, 43, "fltq.d 1 < 2"
    FLEQ_D a0, fa1, fa1
    EXPECT a0, 1, 44, "fleq.d 2 <= 2"
    LOADD 0x7ff0000000000001
    FLTQ_D a0, fa1, fa2
    FLAGS NV, 45, "fltq.d signals on a signalling NaN"
    ld ra, 0(sp)
    addi sp, sp, 16
    ret
