/*
 * Shared definitions for the bare-metal test programs (included by every *.S test).
 * Contract with crt.S: main runs on hart 0 in M-mode with interrupts off, a stack,
 * an allow-all PMP entry and mtvec/stvec pointing at the recording trap handlers;
 * returning from main passes. t5/t6 are scratch for the macros below.
 */
#ifndef BAREMETAL_TEST_H
#define BAREMETAL_TEST_H

#define UART_BASE      0x10000000
#define FINISHER       0x100000
#define FINISHER_PASS  0x5555
#define FINISHER_FAIL  0x3333
#define CLINT_MSIP     0x2000000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME    0x200bff8
#define PLIC_BASE      0x0c000000
#define RAM_BASE       0x80000000

#define MODE_U 0
#define MODE_S 1
#define MODE_M 3

/* fflags bits */
#define NX 0x01
#define UF 0x02
#define OF 0x04
#define DZ 0x08
#define NV 0x10

#define MSTATUS_SIE  (1 << 1)
#define MSTATUS_MIE  (1 << 3)
#define MSTATUS_SPIE (1 << 5)
#define MSTATUS_MPIE (1 << 7)
#define MSTATUS_SPP  (1 << 8)
#define MSTATUS_MPP  (3 << 11)
#define MSTATUS_FS   (3 << 13)
#define MSTATUS_MPRV (1 << 17)
#define MSTATUS_SUM  (1 << 18)
#define MSTATUS_MXR  (1 << 19)
#define MSTATUS_TVM  (1 << 20)
#define MSTATUS_TW   (1 << 21)
#define MSTATUS_TSR  (1 << 22)

#define CSR_MENVCFG  0x30a
#define CSR_STIMECMP 0x14d

/* a7 values the harness's ecall protocol reserves */
#define RUNIN_MAGIC        0x52554e49
#define S_UNEXPECTED_MAGIC 0x53554e58

/* Harness failure codes (tests use 1..199) */
#define CODE_UNEXPECTED_M  251
#define CODE_UNEXPECTED_S  252

#ifdef __ASSEMBLER__

.macro TEST name
    .pushsection .rodata
    .globl test_name
test_name: .asciz "\name"
    .popsection
.endm

/* Fail with \code unless \reg == \val. */
.macro EXPECT reg, val, code, msg
    li t6, \val
    beq \reg, t6, .Lok\@
    mv a2, \reg
    mv a3, t6
    li a0, \code
    la a1, .Lmsg\@
    j check_failed
    .pushsection .rodata
.Lmsg\@: .asciz "\msg"
    .popsection
.Lok\@:
.endm

/* Fail with \code unless \reg != \val. */
.macro EXPECT_NE reg, val, code, msg
    li t6, \val
    bne \reg, t6, .Lok\@
    mv a2, \reg
    mv a3, t6
    li a0, \code
    la a1, .Lmsg\@
    j check_failed
    .pushsection .rodata
.Lmsg\@: .asciz "\msg"
    .popsection
.Lok\@:
.endm

/* Fail with \code unless registers \ra_ == \rb_ (neither may be a0-a3). */
.macro EXPECT_REG ra_, rb_, code, msg
    beq \ra_, \rb_, .Lok\@
    mv a2, \ra_
    mv a3, \rb_
    li a0, \code
    la a1, .Lmsg\@
    j check_failed
    .pushsection .rodata
.Lmsg\@: .asciz "\msg"
    .popsection
.Lok\@:
.endm

/* Unconditional failure. */
.macro FAIL code, msg
    li a2, 0
    li a3, 0
    li a0, \code
    la a1, .Lmsg\@
    j check_failed
    .pushsection .rodata
.Lmsg\@: .asciz "\msg"
    .popsection
.endm

.macro LOAD reg, sym
    la \reg, \sym
    ld \reg, 0(\reg)
.endm

/* Waits up to 2 s (10 MHz time) for the test's hart1_main to set hart1_alive; fails with
 * \code if it never does (clobbers t5, t6). */
.macro AWAIT_HART1 code
    csrr t6, time
    li t5, 20000000
    add t6, t6, t5
.Lwait\@:
    LOAD t5, hart1_alive
    bnez t5, .Lalive\@
    csrr t5, time
    bltu t5, t6, .Lwait\@
    FAIL \code, "hart 1 never started (needs -smp 2)"
.Lalive\@:
.endm

/* Fail with \code unless the 64-bit variable \sym == \val (clobbers t4). */
.macro EXPECT_VAR sym, val, code, msg
    LOAD t4, \sym
    EXPECT t4, \val, \code, "\msg"
.endm

/* Fail unless the 64-bit variable \sym holds the address \label (clobbers t4, t5). */
.macro EXPECT_VAR_ADDR sym, label, code, msg
    LOAD t4, \sym
    la t5, \label
    EXPECT_REG t4, t5, \code, "\msg"
.endm

/* The next trap (M or S) resumes after the faulting instruction. */
.macro SKIP_TRAP
    la t6, trap_skip
    sd t6, 0(t6)
.endm

/* The next trap (M or S) resumes at \label. */
.macro RESUME_AT label
    la t6, \label
    la t5, trap_resume
    sd t6, 0(t5)
.endm

/* Clear the trap records so a later check sees only new traps. */
.macro CLEAR_TRAPS
    call clear_traps
.endm

/* The last M-mode trap had cause \cause and tval \tval. */
.macro EXPECT_MTRAP cause, tval, code, msg
    EXPECT_VAR last_mcause, \cause, \code, "\msg (mcause)"
    EXPECT_VAR last_mtval, \tval, \code, "\msg (mtval)"
.endm

.macro EXPECT_STRAP cause, tval, code, msg
    EXPECT_VAR last_scause, \cause, \code, "\msg (scause)"
    EXPECT_VAR last_stval, \tval, \code, "\msg (stval)"
.endm

/* Run \fn in \mode through run_in (a trap resumes after the faulting instruction);
 * fail with \code unless exactly \traps traps reached M. */
.macro RUN_IN_TRAPS mode, fn, traps, code, msg
    CLEAR_TRAPS
    SKIP_TRAP
    li a0, \mode
    la a1, \fn
    call run_in
    EXPECT_VAR trap_count, \traps, \code, "\msg"
.endm

/* One instruction on known values (a4, a5 in, a6 out): a6 = \insn a4, a5 (T2),
 * \insn a4 (T1) or \insn a4, \imm (TI) must equal \want. */
.macro T2 insn, a, b, want, code
    li a4, \a
    li a5, \b
    \insn a6, a4, a5
    EXPECT a6, \want, \code, "\insn"
.endm
.macro T1 insn, a, want, code
    li a4, \a
    \insn a6, a4
    EXPECT a6, \want, \code, "\insn"
.endm
.macro TI insn, a, imm, want, code
    li a4, \a
    \insn a6, a4, \imm
    EXPECT a6, \want, \code, "\insn"
.endm

#endif /* __ASSEMBLER__ */
#endif
