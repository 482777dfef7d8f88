/*
 * F and D extensions: rounding modes (static rm and frm), fflags accrual and the
 * fcsr/frm/fflags views, NaN boxing, canonical NaNs, saturating conversions,
 * fmin/fmax, quiet and signalling compares, fclass, fused multiply-add, invalid
 * rounding modes, mstatus.FS = Off and FS/SD dirty tracking. The last part runs its
 * FP code 40 times, so that a translator (hot after fewer runs) runs it too: its inline
 * fast paths against the corner cases around them (flags already accrued, tininess after
 * rounding, dynamic rounding modes, NaN boxing, FS tracking and FS = Off).
 */
#include "test.h"
TEST fp

#define S_ONE   0x3f800000
#define S_MONE  0xbf800000
#define S_TWO   0x40000000
#define S_THREE 0x40400000
#define S_2P5   0x40200000
#define S_M2P5  0xc0200000
#define S_EPS24 0x33800000      /* 2^-24: half an ulp of 1.0f */
#define S_INF   0x7f800000
#define S_MINF  0xff800000
#define S_QNAN  0x7fc00000      /* also the canonical NaN */
#define S_SNAN  0x7f800001
#define S_MZERO 0x80000000
#define S_TINY  0x0da24260      /* 1e-30 */
#define S_HUGE  0x7149f2ca      /* 1e30 */
#define S_3E9   0x4f32d05e
#define S_M3E9  0xcf32d05e
#define BOX     0xffffffff00000000

#define D_ONE   0x3ff0000000000000
#define D_MONE  0xbff0000000000000
#define D_MHALF 0xbfe0000000000000
#define D_INF   0x7ff0000000000000
#define D_MINF  0xfff0000000000000
#define D_QNAN  0x7ff8000000000000
#define D_SNAN  0x7ff0000000000001
#define D_2P63  0x43e0000000000000
#define D_MZERO 0x8000000000000000

#define FS_INITIAL (1 << 13)
#define FS_CLEAN   (2 << 13)
#define MSTATUS_SD (1 << 63)

/* Raw bit patterns into f registers (fmv.w.x NaN-boxes). */
.macro SETS freg, bits
    li t0, \bits
    fmv.w.x \freg, t0
.endm
.macro SETD freg, bits
    li t0, \bits
    fmv.d.x \freg, t0
.endm

/* The whole 64-bit register: a single result must also be NaN-boxed. */
.macro EXPECT_FS freg, bits, code, msg
    fmv.x.d t0, \freg
    EXPECT t0, BOX|\bits, \code, "\msg"
.endm
.macro EXPECT_FD freg, bits, code, msg
    fmv.x.d t0, \freg
    EXPECT t0, \bits, \code, "\msg"
.endm
.macro EXPECT_FLAGS bits, code, msg
    csrr t0, fflags
    EXPECT t0, \bits, \code, "\msg (got = fflags)"
.endm

/* fcvt.w.s of \val with static \rm must give \want. */
.macro CVT_RM rm, val, want, code
    SETS f1, \val
    fcvt.w.s a4, f1, \rm
    EXPECT a4, \want, \code, "fcvt.w.s with static rm = \rm"
.endm
/* fcvt.w.s of \val with frm = \frm (dynamic rm) must give \want. */
.macro CVT_FRM frm, val, want, code
    csrwi frm, \frm
    SETS f1, \val
    fcvt.w.s a4, f1, dyn
    EXPECT a4, \want, \code, "fcvt.w.s with frm = \frm"
.endm
/* fadd.s 1.0 + 2^-24 (an exact tie) with frm = \frm must give \want. */
.macro TIE_FRM frm, want, code
    csrwi frm, \frm
    SETS f1, S_ONE
    SETS f2, S_EPS24
    fadd.s f3, f1, f2, dyn
    EXPECT_FS f3, \want, \code, "fadd.s tie 1 + 2^-24 with frm = \frm"
.endm
/* fclass.s of \bits must be 1 << \bit. */
.macro CLASS_S bits, bit, code
    SETS f1, \bits
    fclass.s a4, f1
    EXPECT a4, 1<<\bit, \code, "fclass.s \bits"
.endm


/*
 * A hot FP routine: f1 = 0(a0), f2 = 8(a0), f3 = \insn, 16(a0) = f3. Its case's data:
 * a, b, result, the wanted result, the wanted fflags, fcsr on entry.
 */
.macro HOT_ROUTINE name, insn:vararg
\name:
    fld f1, 0(a0)
    fld f2, 8(a0)
    \insn
    fsd f3, 16(a0)
    ret
.endm
.macro HOT_CASE name, a, b, want, flags, fcsr
\name\()_data:
    .dword \a, \b, 0, \want, \flags, \fcsr
.endm
/* Runs routine \name on case \name\()_data; fails with \code unless its result and fflags are
 * the wanted ones. */
.macro HOT_CHECK name, code
    la a0, \name\()_data
    ld t0, 40(a0)
    csrw fcsr, t0
    call \name
    csrr t2, fflags
    csrw fcsr, zero
    la a0, \name\()_data
    ld t1, 16(a0)
    ld t3, 24(a0)
    EXPECT_REG t1, t3, \code, "translated \name: result"
    ld t3, 32(a0)
    EXPECT_REG t2, t3, \code, "translated \name: fflags"
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    csrw fcsr, zero

    /* --- static rounding modes on a tie, 2.5 and -2.5 --- */
    CVT_RM rne, S_2P5, 2, 1
    CVT_RM rtz, S_2P5, 2, 2
    CVT_RM rdn, S_2P5, 2, 3
    CVT_RM rup, S_2P5, 3, 4
    CVT_RM rmm, S_2P5, 3, 5
    CVT_RM rne, S_M2P5, -2, 6
    CVT_RM rtz, S_M2P5, -2, 7
    CVT_RM rdn, S_M2P5, -3, 8
    CVT_RM rup, S_M2P5, -2, 9
    CVT_RM rmm, S_M2P5, -3, 10
    /* the static rm wins over frm */
    csrwi frm, 3
    SETS f1, S_2P5
    fcvt.w.s a4, f1, rtz
    EXPECT a4, 2, 11, "static rtz overrides frm = RUP"

    /* --- dynamic rounding modes through frm --- */
    CVT_FRM 0, S_M2P5, -2, 12
    CVT_FRM 1, S_M2P5, -2, 13
    CVT_FRM 2, S_M2P5, -3, 14
    CVT_FRM 3, S_M2P5, -2, 15
    CVT_FRM 4, S_M2P5, -3, 16
    TIE_FRM 0, S_ONE, 17
    TIE_FRM 1, S_ONE, 18
    TIE_FRM 2, S_ONE, 19
    TIE_FRM 3, 0x3f800001, 20
    TIE_FRM 4, 0x3f800001, 21
    /* RMM and RNE differ on this tie, also through the static field */
    SETS f1, S_ONE
    SETS f2, S_EPS24
    fadd.s f3, f1, f2, rne
    EXPECT_FS f3, S_ONE, 22, "fadd.s tie, static rne: to even"
    fadd.s f3, f1, f2, rmm
    EXPECT_FS f3, 0x3f800001, 23, "fadd.s tie, static rmm: away from zero"
    /* a negative sum: RDN goes away from zero, RUP towards it */
    SETS f1, S_MONE
    SETS f2, 0xb3800000
    fadd.s f3, f1, f2, rdn
    EXPECT_FS f3, 0xbf800001, 24, "fadd.s -1 - 2^-24, rdn"
    fadd.s f3, f1, f2, rup
    EXPECT_FS f3, S_MONE, 25, "fadd.s -1 - 2^-24, rup"
    /* integer to float: 2^24 + 1 is a tie between 2^24 and 2^24 + 2 */
    li t1, 0x1000001
    fcvt.s.w f3, t1, rne
    EXPECT_FS f3, 0x4b800000, 129, "fcvt.s.w 2^24+1, rne"
    fcvt.s.w f3, t1, rup
    EXPECT_FS f3, 0x4b800001, 130, "fcvt.s.w 2^24+1, rup"
    fcvt.s.w f3, t1, rmm
    EXPECT_FS f3, 0x4b800001, 131, "fcvt.s.w 2^24+1, rmm"
    csrw fcsr, zero

    /* --- exception flags: each one, then sticky accrual --- */
    SETS f1, S_ONE
    SETS f2, S_THREE
    fdiv.s f3, f1, f2
    EXPECT_FLAGS NX, 26, "1/3 sets NX only"
    fadd.s f3, f1, f1
    EXPECT_FLAGS NX, 27, "an exact op leaves NX set (sticky)"
    csrw fflags, zero
    SETS f1, S_TINY
    fmul.s f3, f1, f1
    EXPECT_FLAGS UF|NX, 28, "1e-30 * 1e-30: UF and NX"
    csrw fflags, zero
    SETS f1, S_HUGE
    fmul.s f3, f1, f1
    EXPECT_FLAGS OF|NX, 29, "1e30 * 1e30: OF and NX"
    EXPECT_FS f3, S_INF, 30, "1e30 * 1e30 with RNE is +inf"
    csrw fflags, zero
    SETS f1, S_ONE
    fmv.w.x f2, zero
    fdiv.s f3, f1, f2
    EXPECT_FLAGS DZ, 31, "1/0 sets DZ only"
    EXPECT_FS f3, S_INF, 32, "1/0 is +inf"
    csrw fflags, zero
    SETS f1, S_MONE
    fsqrt.s f3, f1
    EXPECT_FLAGS NV, 33, "sqrt(-1) sets NV only"
    EXPECT_FS f3, S_QNAN, 34, "sqrt(-1) is the canonical NaN"
    SETS f1, S_ONE
    SETS f2, S_THREE
    fdiv.s f3, f1, f2
    SETS f1, S_TINY
    fmul.s f3, f1, f1
    SETS f1, S_HUGE
    fmul.s f3, f1, f1
    fmv.w.x f2, zero
    fdiv.s f3, f1, f2
    EXPECT_FLAGS NV|DZ|OF|UF|NX, 35, "flags accrue"

    /* --- fcsr, frm and fflags are views of one register --- */
    csrwi fcsr, 0
    li t1, 0xff
    csrw fcsr, t1
    csrr t1, frm
    EXPECT t1, 7, 36, "fcsr = 0xff: frm reads 7"
    csrr t1, fflags
    EXPECT t1, 0x1f, 37, "fcsr = 0xff: fflags reads 0x1f"
    csrwi frm, 2
    csrr t1, fcsr
    EXPECT t1, (2<<5)|0x1f, 38, "frm write lands in fcsr[7:5]"
    csrwi fflags, 3
    csrr t1, fcsr
    EXPECT t1, (2<<5)|3, 39, "fflags write lands in fcsr[4:0]"
    csrrwi t1, frm, 1
    EXPECT t1, 2, 40, "csrrw frm returns the old frm"
    li t1, 0xff
    csrw fflags, t1
    csrr t1, fflags
    EXPECT t1, 0x1f, 41, "fflags holds 5 bits"
    li t1, 0xff
    csrw frm, t1
    csrr t1, frm
    EXPECT t1, 7, 42, "frm holds 3 bits"
    csrw fcsr, zero

    /* --- NaN boxing --- */
    la t1, one_f
    flw f1, 0(t1)
    fmv.x.d t2, f1
    EXPECT t2, BOX|S_ONE, 43, "flw NaN-boxes: upper 32 bits all ones"
    li t2, S_ONE                /* 1.0f in the low half, upper half zero: not boxed */
    fmv.d.x f1, t2
    fadd.s f3, f1, f1
    EXPECT_FS f3, S_QNAN, 44, "single op on an unboxed value sees the canonical NaN"
    EXPECT_FLAGS 0, 45, "unboxed input is a quiet NaN: no NV"
    fsgnj.s f3, f1, f1
    EXPECT_FS f3, S_QNAN, 46, "fsgnj.s on an unboxed value sees the canonical NaN"
    fcvt.d.s f3, f1
    EXPECT_FD f3, D_QNAN, 47, "fcvt.d.s of an unboxed value: canonical double NaN"
    fclass.s t2, f1
    EXPECT t2, 1<<9, 48, "fclass.s of an unboxed value: quiet NaN"
    fmv.x.w t2, f1
    EXPECT t2, S_ONE, 49, "fmv.x.w moves the low 32 bits, boxed or not"
    SETS f2, S_MONE
    fmv.x.w t2, f2
    EXPECT t2, BOX|S_MONE, 132, "fmv.x.w sign-extends bit 31"
    la t1, scratch
    fsw f1, 0(t1)
    lwu t2, 0(t1)
    EXPECT t2, S_ONE, 50, "fsw stores the low 32 bits, boxed or not"

    /* --- canonical NaN results --- */
    csrw fflags, zero
    fmv.w.x f1, zero
    fdiv.s f3, f1, f1
    EXPECT_FS f3, S_QNAN, 51, "0/0 single: 0x7fc00000"
    EXPECT_FLAGS NV, 52, "0/0 sets NV"
    SETD f1, D_INF
    fsub.d f3, f1, f1
    EXPECT_FD f3, D_QNAN, 53, "inf - inf double: 0x7ff8000000000000"
    csrw fflags, zero
    SETS f1, S_SNAN
    SETS f2, S_ONE
    fadd.s f3, f1, f2
    EXPECT_FS f3, S_QNAN, 54, "sNaN + 1: canonical NaN, payload dropped"
    EXPECT_FLAGS NV, 55, "sNaN + 1 sets NV"
    csrw fflags, zero
    SETS f1, 0xffc12345
    fadd.s f3, f1, f2
    EXPECT_FS f3, S_QNAN, 56, "negative qNaN with payload + 1: canonical NaN"
    EXPECT_FLAGS 0, 57, "qNaN + 1 raises nothing"
    SETD f1, 0xfff8000000012345
    SETD f2, D_ONE
    fmul.d f3, f1, f2
    EXPECT_FD f3, D_QNAN, 58, "qNaN with payload * 1 double: canonical NaN"

    /* --- saturating conversions; NV on NaN, infinities, out of range --- */
    csrw fflags, zero
    SETS f1, S_QNAN
    fcvt.w.s a4, f1, rtz
    EXPECT a4, 0x7fffffff, 59, "fcvt.w.s NaN"
    EXPECT_FLAGS NV, 60, "fcvt.w.s NaN sets NV"
    SETS f1, S_INF
    fcvt.w.s a4, f1, rtz
    EXPECT a4, 0x7fffffff, 61, "fcvt.w.s +inf"
    SETS f1, S_MINF
    fcvt.w.s a4, f1, rtz
    EXPECT a4, -0x80000000, 62, "fcvt.w.s -inf"
    csrw fflags, zero
    SETS f1, S_3E9
    fcvt.w.s a4, f1, rtz
    EXPECT a4, 0x7fffffff, 63, "fcvt.w.s 3e9"
    EXPECT_FLAGS NV, 64, "fcvt.w.s out of range: NV only"
    SETS f1, S_M3E9
    fcvt.w.s a4, f1, rtz
    EXPECT a4, -0x80000000, 65, "fcvt.w.s -3e9"
    SETD f1, D_QNAN
    fcvt.l.d a4, f1, rtz
    EXPECT a4, 0x7fffffffffffffff, 66, "fcvt.l.d NaN"
    SETD f1, D_MINF
    fcvt.l.d a4, f1, rtz
    EXPECT a4, 0x8000000000000000, 67, "fcvt.l.d -inf"
    SETD f1, D_2P63
    fcvt.l.d a4, f1, rtz
    EXPECT a4, 0x7fffffffffffffff, 68, "fcvt.l.d 2^63"
    csrw fflags, zero
    SETD f1, D_MONE
    fcvt.wu.d a4, f1, rtz
    EXPECT a4, 0, 69, "fcvt.wu.d -1.0"
    EXPECT_FLAGS NV, 70, "fcvt.wu.d -1.0 sets NV"
    SETD f1, D_QNAN
    fcvt.wu.d a4, f1, rtz
    EXPECT a4, -1, 71, "fcvt.wu.d NaN: 0xffffffff, sign-extended"
    SETD f1, D_INF
    fcvt.wu.d a4, f1, rtz
    EXPECT a4, -1, 72, "fcvt.wu.d +inf"
    SETD f1, D_MINF
    fcvt.wu.d a4, f1, rtz
    EXPECT a4, 0, 73, "fcvt.wu.d -inf"
    csrw fflags, zero
    SETD f1, D_MHALF
    fcvt.wu.d a4, f1, rtz
    EXPECT a4, 0, 74, "fcvt.wu.d -0.5 rtz"
    EXPECT_FLAGS NX, 75, "fcvt.wu.d -0.5 rtz rounds to 0: NX, not NV"

    /* --- fmin/fmax: NaN operands and signed zeros --- */
    csrw fflags, zero
    SETS f1, S_QNAN
    SETS f2, S_ONE
    fmin.s f3, f1, f2
    EXPECT_FS f3, S_ONE, 76, "fmin.s(qNaN, 1) = 1"
    fmax.s f3, f2, f1
    EXPECT_FS f3, S_ONE, 77, "fmax.s(1, qNaN) = 1"
    EXPECT_FLAGS 0, 78, "fmin/fmax with a qNaN raise nothing"
    fmin.s f3, f1, f1
    EXPECT_FS f3, S_QNAN, 79, "fmin.s(qNaN, qNaN) = canonical NaN"
    SETS f1, S_SNAN
    fmax.s f3, f1, f2
    EXPECT_FS f3, S_ONE, 80, "fmax.s(sNaN, 1) = 1"
    EXPECT_FLAGS NV, 81, "fmax.s with an sNaN sets NV"
    SETS f1, S_MZERO
    fmv.w.x f2, zero
    fmin.s f3, f2, f1
    EXPECT_FS f3, S_MZERO, 82, "fmin.s(+0, -0) = -0"
    fmax.s f3, f1, f2
    EXPECT_FS f3, 0, 83, "fmax.s(-0, +0) = +0"
    SETD f1, D_MZERO
    fmv.d.x f2, zero
    fmin.d f3, f2, f1
    EXPECT_FD f3, D_MZERO, 84, "fmin.d(+0, -0) = -0"
    SETD f1, D_QNAN
    SETD f2, D_MONE
    fmax.d f3, f1, f2
    EXPECT_FD f3, D_MONE, 85, "fmax.d(qNaN, -1) = -1"

    /* --- compares: feq is quiet, flt/fle signal on any NaN --- */
    csrw fflags, zero
    SETS f1, S_QNAN
    SETS f2, S_ONE
    feq.s a4, f1, f2
    EXPECT a4, 0, 86, "feq.s qNaN"
    EXPECT_FLAGS 0, 87, "feq.s with a qNaN is quiet"
    flt.s a4, f1, f2
    EXPECT a4, 0, 88, "flt.s qNaN"
    EXPECT_FLAGS NV, 89, "flt.s with a qNaN sets NV"
    csrw fflags, zero
    fle.s a4, f2, f1
    EXPECT a4, 0, 90, "fle.s qNaN"
    EXPECT_FLAGS NV, 91, "fle.s with a qNaN sets NV"
    csrw fflags, zero
    SETS f1, S_SNAN
    feq.s a4, f1, f1
    EXPECT a4, 0, 92, "feq.s sNaN"
    EXPECT_FLAGS NV, 93, "feq.s with an sNaN sets NV"
    SETS f1, S_MZERO
    fmv.w.x f2, zero
    feq.s a4, f1, f2
    EXPECT a4, 1, 94, "feq.s -0 == +0"
    flt.s a4, f1, f2
    EXPECT a4, 0, 95, "flt.s -0 < +0 is false"
    fle.s a4, f1, f2
    EXPECT a4, 1, 96, "fle.s -0 <= +0"
    SETD f1, D_MONE
    SETD f2, D_ONE
    flt.d a4, f1, f2
    EXPECT a4, 1, 97, "flt.d -1 < 1"

    /* --- fclass: one value of each class --- */
    CLASS_S S_MINF, 0, 98
    CLASS_S S_MONE, 1, 99
    CLASS_S 0x80000001, 2, 100
    CLASS_S S_MZERO, 3, 101
    CLASS_S 0, 4, 102
    CLASS_S 0x00000001, 5, 103
    CLASS_S S_ONE, 6, 104
    CLASS_S S_INF, 7, 105
    CLASS_S S_SNAN, 8, 106
    CLASS_S S_QNAN, 9, 107
    SETD f1, D_SNAN
    fclass.d a4, f1
    EXPECT a4, 1<<8, 108, "fclass.d sNaN"
    SETD f1, 0x800fffffffffffff
    fclass.d a4, f1
    EXPECT a4, 1<<2, 109, "fclass.d negative subnormal"

    /* --- fmadd rounds once: (1 + 2^-30)^2 - (1 + 2^-29) = 2^-60 exactly --- */
    SETD f1, 0x3ff0000000400000
    SETD f2, 0xbff0000000800000
    fmadd.d f3, f1, f1, f2
    EXPECT_FD f3, 0x3c30000000000000, 110, "fmadd.d keeps the low product bits"
    fmul.d f4, f1, f1
    fadd.d f4, f4, f2
    EXPECT_FD f4, 0, 111, "separate fmul.d + fadd.d lose them"
    SETS f1, 0x3f800001         /* 1+2^-23 */
    SETS f2, 0xbf800002         /* -(1+2^-22) */
    fmadd.s f3, f1, f1, f2
    EXPECT_FS f3, 0x28800000, 112, "fmadd.s keeps the low product bits (2^-46)"

    /* --- invalid rounding modes are illegal instructions --- */
    CLEAR_TRAPS
    SKIP_TRAP
bad_rm5:
    .insn r OP_FP, 5, 0, f3, f1, f2     /* fadd.s with rm = 5 */
    EXPECT_VAR last_mcause, 2, 113, "fadd.s rm = 5 is illegal"
    EXPECT_VAR_ADDR last_mepc, bad_rm5, 114, "fadd.s rm = 5: mepc"
    SKIP_TRAP
    .insn r OP_FP, 6, 1, f3, f1, f2     /* fadd.d with rm = 6 */
    EXPECT_VAR last_mcause, 2, 115, "fadd.d rm = 6 is illegal"
    CLEAR_TRAPS
    csrwi frm, 5
    SKIP_TRAP
    fadd.s f3, f1, f2, dyn
    EXPECT_VAR last_mcause, 2, 116, "frm = 5 with dynamic rm is illegal"
    csrwi frm, 7
    SKIP_TRAP
    fmul.d f3, f1, f2, dyn
    EXPECT_VAR trap_count, 2, 117, "frm = 7 with dynamic rm is illegal"
    CLEAR_TRAPS
    csrwi frm, 5
    fadd.s f3, f1, f2, rne
    fmin.s f3, f1, f2
    fsgnj.d f3, f1, f2
    feq.d a4, f1, f2
    csrwi frm, 0
    EXPECT_VAR trap_count, 0, 118, "frm = 5 does not affect static rm or non-rounding ops"

    /* --- mstatus.FS = Off: FP instructions and FP CSRs are illegal --- */
    li t1, MSTATUS_FS
    csrc mstatus, t1
    csrr t1, mstatus
    bgez t1, 1f
    FAIL 119, "FS = Off: SD must read 0"
1:  CLEAR_TRAPS
    SKIP_TRAP
    fadd.s f3, f1, f2
    SKIP_TRAP
    la t1, scratch
    flw f3, 0(t1)
    SKIP_TRAP
    fmv.x.d t2, f1
    SKIP_TRAP
    csrr t2, fflags
    SKIP_TRAP
    csrw fcsr, zero
    EXPECT_VAR last_mcause, 2, 120, "FS = Off: illegal instruction"
    EXPECT_VAR trap_count, 5, 121, "FS = Off: fadd, flw, fmv, fflags read, fcsr write each trap"
    li t1, FS_INITIAL
    csrs mstatus, t1
    CLEAR_TRAPS
    fadd.s f3, f1, f2
    EXPECT_VAR trap_count, 0, 122, "FS = Initial: FP works again"

    /* --- FS dirty tracking and SD --- */
    li t1, MSTATUS_FS
    csrc mstatus, t1
    li t1, FS_CLEAN
    csrs mstatus, t1
    csrr t1, mstatus
    li t2, MSTATUS_FS
    and t2, t1, t2
    EXPECT t2, FS_CLEAN, 123, "FS = Clean reads back"
    bgez t1, 1f
    FAIL 124, "FS = Clean: SD must read 0"
1:  fmv.w.x f5, zero
    csrr t1, mstatus
    li t2, MSTATUS_FS
    and t2, t1, t2
    EXPECT t2, MSTATUS_FS, 125, "an FP register write makes FS Dirty"
    srli t2, t1, 63
    EXPECT t2, 1, 126, "FS = Dirty: mstatus.SD reads 1"
    csrr t1, sstatus
    srli t2, t1, 63
    EXPECT t2, 1, 127, "FS = Dirty: sstatus.SD reads 1"
    li t1, MSTATUS_FS
    csrc mstatus, t1
    li t1, FS_CLEAN
    csrs mstatus, t1
    csrwi fflags, 1
    csrr t1, mstatus
    li t2, MSTATUS_FS
    and t2, t1, t2
    EXPECT t2, MSTATUS_FS, 128, "an fflags write makes FS Dirty"
    csrw fcsr, zero

    /* --- the same FP code run 40 times, so also translated --- */
    li t1, 40
    sd t1, 8(sp)
hot_loop:
    HOT_CHECK hot_mul, 130
    HOT_CHECK hot_mul_tiny, 131
    HOT_CHECK hot_mul_rounds_to_normal, 132
    HOT_CHECK hot_mul_overflow, 133
    HOT_CHECK hot_div_zero, 134
    HOT_CHECK hot_sub_inf, 135
    HOT_CHECK hot_sqrt_negative, 136
    HOT_CHECK hot_add_dyn_rup, 137
    HOT_CHECK hot_add_static_rne, 138
    HOT_CHECK hot_add_nx_clear, 139
    HOT_CHECK hot_add_exact, 140
    HOT_CHECK hot_add_dyn_rdn_zero, 141
    HOT_CHECK hot_fmadd, 142
    HOT_CHECK hot_add_s_unboxed, 143
    HOT_CHECK hot_flw_box, 144
    HOT_CHECK hot_div_rmm, 145
    HOT_CHECK hot_sqrt, 146
    HOT_CHECK hot_mul_tiny_rounds_up, 152
    HOT_CHECK hot_fnmadd_accrued, 153
    HOT_CHECK hot_fmsub_exact, 154
    HOT_CHECK hot_fnmsub_accrued, 155
    HOT_CHECK hot_mul_s, 156
    HOT_CHECK hot_mul_s_tiny_rounds_up, 157
    HOT_CHECK hot_add_s_unboxed_accrued, 158
    HOT_CHECK hot_sqrt_s, 159
    HOT_CHECK hot_fmadd_s, 160
    HOT_CHECK hot_div_tiny_rounds_up, 161
    /* FS: a block of FP stores leaves it Clean, FP arithmetic makes it Dirty (NX set
     * first: a translator's inline arithmetic then does it all) */
    csrwi fflags, NX
    li t1, MSTATUS_FS
    csrc mstatus, t1
    li t1, FS_CLEAN
    csrs mstatus, t1
    la a0, scratch
    call hot_store
    csrr t1, mstatus
    li t2, MSTATUS_FS
    and t2, t1, t2
    EXPECT t2, FS_CLEAN, 147, "translated fsd leaves FS Clean"
    la a0, hot_mul_data
    call hot_mul
    csrr t1, mstatus
    li t2, MSTATUS_FS
    and t2, t1, t2
    EXPECT t2, MSTATUS_FS, 148, "translated FP arithmetic makes FS Dirty"
    csrw fcsr, zero
    /* FS = Off: a translated fld and c.fld are illegal, with their own bits in mtval */
    li t1, MSTATUS_FS
    csrc mstatus, t1
    CLEAR_TRAPS
    SKIP_TRAP
    la a0, scratch
    call hot_fld_off
    SKIP_TRAP
    la a0, scratch
    call hot_c_fld_off
    li t1, FS_INITIAL
    csrs mstatus, t1
    EXPECT_VAR trap_count, 2, 149, "translated fld and c.fld with FS = Off trap"
    la t1, hot_c_fld_insn
    lhu t1, 0(t1)
    LOAD t2, last_mtval
    EXPECT_REG t2, t1, 150, "translated c.fld with FS = Off: mtval"
    EXPECT_VAR last_mcause, 2, 151, "translated fld with FS = Off: illegal instruction"
    ld t1, 8(sp)
    addi t1, t1, -1
    sd t1, 8(sp)
    bnez t1, hot_loop

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

    HOT_ROUTINE hot_mul, fmul.d f3, f1, f2
    HOT_ROUTINE hot_mul_tiny, fmul.d f3, f1, f2
    HOT_ROUTINE hot_mul_rounds_to_normal, fmul.d f3, f1, f2
    HOT_ROUTINE hot_mul_overflow, fmul.d f3, f1, f2
    HOT_ROUTINE hot_div_zero, fdiv.d f3, f1, f2
    HOT_ROUTINE hot_sub_inf, fsub.d f3, f1, f2
    HOT_ROUTINE hot_sqrt_negative, fsqrt.d f3, f1
    HOT_ROUTINE hot_add_dyn_rup, fadd.d f3, f1, f2, dyn
    HOT_ROUTINE hot_add_static_rne, fadd.d f3, f1, f2, rne
    HOT_ROUTINE hot_add_nx_clear, fadd.d f3, f1, f2
    HOT_ROUTINE hot_add_exact, fadd.d f3, f1, f2
    HOT_ROUTINE hot_add_dyn_rdn_zero, fadd.d f3, f1, f2, dyn
    HOT_ROUTINE hot_fmadd, fmadd.d f3, f1, f2, f1
    HOT_ROUTINE hot_add_s_unboxed, fadd.s f3, f1, f2
    HOT_ROUTINE hot_flw_box, flw f3, 0(a0)
    HOT_ROUTINE hot_div_rmm, fdiv.d f3, f1, f2, rmm
    HOT_ROUTINE hot_sqrt, fsqrt.d f3, f1
    HOT_ROUTINE hot_mul_tiny_rounds_up, fmul.d f3, f1, f2
    HOT_ROUTINE hot_fnmadd_accrued, fnmadd.d f3, f1, f2, f1
    HOT_ROUTINE hot_fmsub_exact, fmsub.d f3, f1, f2, f1
    HOT_ROUTINE hot_fnmsub_accrued, fnmsub.d f3, f1, f2, f1
    HOT_ROUTINE hot_mul_s, fmul.s f3, f1, f2
    HOT_ROUTINE hot_mul_s_tiny_rounds_up, fmul.s f3, f1, f2
    HOT_ROUTINE hot_add_s_unboxed_accrued, fadd.s f3, f1, f2
    HOT_ROUTINE hot_sqrt_s, fsqrt.s f3, f1
    HOT_ROUTINE hot_fmadd_s, fmadd.s f3, f1, f2, f1
    HOT_ROUTINE hot_div_tiny_rounds_up, fdiv.d f3, f1, f2
hot_store:
    fsd f1, 0(a0)
    ret
hot_fld_off:
    fld f1, 0(a0)
    ret
hot_c_fld_off:
hot_c_fld_insn:
    c.fld fs0, 0(a0)
    ret

    .data
    .align 3
/* fcsr on entry 1: NX already accrued, so only another flag can change fflags */
HOT_CASE hot_mul, 0x3ff8000000000000, 0x3ff8000000000000, 0x4002000000000000, NX, NX
/* 2^-1022(1 + 2^-52) * 0.5(1 + 2^-52): subnormal and inexact */
HOT_CASE hot_mul_tiny, 0x0010000000000001, 0x3fe0000000000001, 0x0008000000000001, NX|UF, NX
/* (1 - 2^-52) * 2^-1022(1 + 2^-52) = 2^-1022(1 - 2^-104): tiny before rounding only */
HOT_CASE hot_mul_rounds_to_normal, 0x3feffffffffffffe, 0x0010000000000001, 0x0010000000000000, NX, NX
HOT_CASE hot_mul_overflow, 0x7fe0000000000000, 0x4000000000000000, D_INF, NX|OF, NX
HOT_CASE hot_div_zero, D_ONE, 0, D_INF, NX|DZ, NX
HOT_CASE hot_sub_inf, D_INF, D_INF, D_QNAN, NX|NV, NX
HOT_CASE hot_sqrt_negative, D_MONE, 0, D_QNAN, NX|NV, NX
/* 1 + 2^-60: frm = RUP (3 << 5) rounds up, the static rne does not */
HOT_CASE hot_add_dyn_rup, D_ONE, 0x3c30000000000000, 0x3ff0000000000001, NX, (3 << 5)|NX
HOT_CASE hot_add_static_rne, D_ONE, 0x3c30000000000000, D_ONE, NX, (3 << 5)|NX
HOT_CASE hot_add_nx_clear, D_ONE, 0x3c30000000000000, D_ONE, NX, 0
HOT_CASE hot_add_exact, D_ONE, D_ONE, 0x4000000000000000, 0, 0
/* 1 + -1 with frm = RDN: -0 */
HOT_CASE hot_add_dyn_rdn_zero, D_ONE, D_MONE, D_MZERO, NX, (2 << 5)|NX
/* (1 + 2^-52)^2 + (1 + 2^-52), rounded once: 2 + 2^-50, inexact */
HOT_CASE hot_fmadd, 0x3ff0000000000001, 0x3ff0000000000001, 0x4000000000000002, NX, 0
/* singles that are not NaN-boxed read as the canonical NaN */
HOT_CASE hot_add_s_unboxed, S_ONE, S_ONE, BOX|S_QNAN, 0, 0
/* flw boxes what it loads (0(a0) is 1.0f, its upper half zero) */
HOT_CASE hot_flw_box, S_ONE, 0, BOX|S_ONE, 0, 0
/* 1 / 3 in RMM: away from zero on no tie is to nearest */
HOT_CASE hot_div_rmm, D_ONE, 0x4008000000000000, 0x3fd5555555555555, NX, 0
/* sqrt(2): inexact with NX clear */
HOT_CASE hot_sqrt, 0x4000000000000000, 0, 0x3ff6a09e667f3bcd, NX, 0
/* (1 - 2^-53) * 2^-1022: tiny after rounding too, though it rounds to 2^-1022 */
HOT_CASE hot_mul_tiny_rounds_up, 0x3fefffffffffffff, 0x0010000000000000, 0x0010000000000000, NX|UF, NX
/* a = b = 1 + 2^-52: -(ab) - a = -(2 + 2^-50) rounded; ab - a = 2^-52(1 + 2^-52) exactly
 * when fused (unfused: 2^-52) */
HOT_CASE hot_fnmadd_accrued, 0x3ff0000000000001, 0x3ff0000000000001, 0xc000000000000002, NX, NX
HOT_CASE hot_fmsub_exact, 0x3ff0000000000001, 0x3ff0000000000001, 0x3cb0000000000001, 0, 0
HOT_CASE hot_fnmsub_accrued, 0x3ff0000000000001, 0x3ff0000000000001, 0xbcb0000000000001, NX, NX
HOT_CASE hot_mul_s, BOX|0x3fc00000, BOX|0x3fc00000, BOX|0x40100000, NX, NX
/* (1 - 2^-24) * 2^-126: rounds to 2^-126 but is tiny after rounding too */
HOT_CASE hot_mul_s_tiny_rounds_up, BOX|0x3f7fffff, BOX|0x00800000, BOX|0x00800000, NX|UF, NX
HOT_CASE hot_add_s_unboxed_accrued, S_ONE, BOX|S_ONE, BOX|S_QNAN, NX, NX
HOT_CASE hot_sqrt_s, BOX|S_TWO, 0, BOX|0x3fb504f3, NX, NX
/* a = b = 1 + 2^-23: ab + a = 2 + 3 * 2^-23 + 2^-46, rounded once: 2 + 2^-21 */
HOT_CASE hot_fmadd_s, BOX|0x3f800001, BOX|0x3f800001, BOX|0x40000002, NX, NX
/* (1 - 2^-53) / 2^1022, NX clear: rounds to 2^-1022, tiny after rounding too */
HOT_CASE hot_div_tiny_rounds_up, 0x3fefffffffffffff, 0x7fd0000000000000, 0x0010000000000000, NX|UF, 0

    .section .rodata
    .align 2
one_f: .word S_ONE

    .bss
    .align 3
scratch: .space 8
