/*
 * Sdtrig: address triggers (mcontrol and mcontrol6) raising breakpoint exceptions on
 * execute, load and store in M, S and U, what riscv-tests' rv64mi-breakpoint checks
 * (a breakpoint takes the trap before the instruction, which has no effect), WARL
 * legalisation of what has no Debug Mode behind it, and tcontrol's mte/mpte where
 * tcontrol exists (QEMU 7.2 has none: those checks are skipped there, as are match
 * modes it does not keep). Breakpoint tval: the address, or zero as QEMU 7.2 leaves
 * it for loads and stores (the priv spec allows both).
 */
#include "test.h"
TEST sdtrig

#define CSR_TSELECT  0x7a0
#define CSR_TDATA1   0x7a1
#define CSR_TDATA2   0x7a2
#define CSR_TDATA3   0x7a3
#define CSR_TINFO    0x7a4
#define CSR_TCONTROL 0x7a5
#define MCONTROL     (2 << 60)
#define MCONTROL6    (6 << 60)
#define T_LOAD       0x01
#define T_STORE      0x02
#define T_EXECUTE    0x04
#define T_U          0x08
#define T_S          0x10
#define T_M          0x40
#define MATCH_GE     (2 << 7)
#define MATCH_LT     (3 << 7)
#define ACTION_DEBUG (1 << 12)
#define DMODE        (1 << 59)
#define TCONTROL_MTE  0x08
#define TCONTROL_MPTE 0x80
#define CAUSE_BREAKPOINT 3

/* Arms trigger \n as \tdata1 on address \addr_reg. */
.macro ARM n, tdata1, addr_reg
    li t0, \n
    csrw CSR_TSELECT, t0
    csrw CSR_TDATA2, \addr_reg
    li t0, \tdata1
    csrw CSR_TDATA1, t0
.endm

.macro DISARM n
    li t0, \n
    csrw CSR_TSELECT, t0
    li t0, MCONTROL
    csrw CSR_TDATA1, t0
.endm

/* The last M trap was a breakpoint at \label with tval the address in \reg or zero. */
.macro EXPECT_BREAK label, reg, code, msg
    EXPECT_VAR last_mcause, CAUSE_BREAKPOINT, \code, "\msg (mcause)"
    EXPECT_VAR_ADDR last_mepc, \label, \code, "\msg (mepc)"
    LOAD t4, last_mtval
    beqz t4, .Ltval\@
    EXPECT_REG t4, \reg, \code, "\msg (mtval)"
.Ltval\@:
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)

    /* --- the module: tselect, reset state, tinfo --- */
    csrw CSR_TSELECT, zero
    csrr t0, CSR_TSELECT
    EXPECT t0, 0, 1, "tselect 0"
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL, 2, "tdata1 resets to an unarmed mcontrol"
    csrr t0, CSR_TINFO
    andi t0, t0, 0x44
    EXPECT t0, 0x44, 3, "tinfo: types 2 and 6"
    li t0, 1
    csrw CSR_TSELECT, t0
    csrr t0, CSR_TSELECT
    EXPECT t0, 1, 4, "a second trigger"
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL, 5, "trigger 1 resets to an unarmed mcontrol"
    li t0, 0x7f
    csrw CSR_TSELECT, t0
    csrr t0, CSR_TSELECT
    EXPECT_NE t0, 0x7f, 6, "tselect refuses a trigger that does not exist"

    /* --- WARL: no Debug Mode, so no action 1, no dmode; tdata3 reads zero --- */
    csrw CSR_TSELECT, zero
    li t0, MCONTROL | ACTION_DEBUG | T_M | T_EXECUTE
    csrw CSR_TDATA1, t0
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL | T_M | T_EXECUTE, 7, "action 1 (debug mode) legalised to 0"
    li t0, MCONTROL | DMODE | T_M
    csrw CSR_TDATA1, t0
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL | T_M, 8, "dmode reads 0"
    li t0, -1
    csrw CSR_TDATA3, t0
    csrr t0, CSR_TDATA3
    EXPECT t0, 0, 9, "tdata3 reads 0"
    li t0, MCONTROL6 | T_M | T_LOAD
    csrw CSR_TDATA1, t0
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL6 | T_M | T_LOAD, 10, "mcontrol6 kept"
    DISARM 0

    /* --- rv64mi-breakpoint: an M-mode execute breakpoint --- */
    call enable_m_triggers
    CLEAR_TRAPS
    la a2, exec_here
    ARM 0, MCONTROL | T_M | T_EXECUTE, a2
    csrr t0, CSR_TDATA1
    EXPECT t0, MCONTROL | T_M | T_EXECUTE, 11, "execute trigger kept"
    li a0, 0
    SKIP_TRAP
    .align 2
exec_here:
    li a0, 1                    /* the breakpoint is taken before it: skipped */
    EXPECT a0, 0, 12, "instruction at an execute breakpoint did not run"
    EXPECT_BREAK exec_here, a2, 13, "execute breakpoint"
    EXPECT_VAR trap_count, 1, 14, "one execute breakpoint"
    lw a0, 0(a2)                /* reading the breakpoint's address does not trap */
    EXPECT_VAR trap_count, 1, 15, "a load from an execute breakpoint's address"
    DISARM 0

    /* --- loads: the load traps before it writes rd; a store does not trigger --- */
    CLEAR_TRAPS
    la a2, data1
    ARM 0, MCONTROL | T_M | T_LOAD, a2
    li a3, 0x55
    SKIP_TRAP
load_here:
    lw a3, 0(a2)
    EXPECT a3, 0x55, 16, "a load at a load breakpoint has no effect"
    EXPECT_BREAK load_here, a2, 17, "load breakpoint"
    sw zero, 0(a2)
    EXPECT_VAR trap_count, 1, 18, "a store to a load breakpoint's address"

    /* --- stores: the store traps and memory is unchanged --- */
    CLEAR_TRAPS
    li t0, MCONTROL | T_M | T_STORE
    csrw CSR_TDATA1, t0
    li a3, 0x77
    SKIP_TRAP
store_here:
    sw a3, 0(a2)
    lw t0, 0(a2)
    EXPECT t0, 0, 19, "a store at a store breakpoint has no effect"
    EXPECT_BREAK store_here, a2, 20, "store breakpoint"
    SKIP_TRAP
    amoadd.w zero, a3, (a2)     /* an AMO stores */
    EXPECT_VAR trap_count, 2, 21, "an AMO at a store breakpoint"
    lw t0, 0(a2)
    EXPECT t0, 0, 22, "the AMO at a store breakpoint had no effect"

    /* --- both triggers at once (rv64mi-breakpoint's second one) --- */
    CLEAR_TRAPS
    la a3, data2
    ARM 1, MCONTROL | T_M | T_LOAD, a3
    SKIP_TRAP
    lw t0, 0(a3)
    EXPECT_VAR trap_count, 1, 23, "the second trigger fires"
    SKIP_TRAP
    sw a2, 0(a2)
    EXPECT_VAR trap_count, 2, 24, "the first still fires"
    DISARM 1

    /* --- mcontrol6 on a store, compressed instruction --- */
    CLEAR_TRAPS
    ARM 0, MCONTROL6 | T_M | T_STORE, a2
    li a4, 0x99
    SKIP_TRAP
m6_store:
    c.sw a4, 0(a2)
    EXPECT_BREAK m6_store, a2, 25, "mcontrol6 store breakpoint"
    DISARM 0

    /* --- modes: a U-only trigger fires in U, not in M or S --- */
    la a2, data1
    ARM 0, MCONTROL | T_U | T_LOAD, a2
    CLEAR_TRAPS
    lw t0, 0(a2)
    EXPECT_VAR trap_count, 0, 26, "U-only trigger in M"
    la a2, data1                /* run_in passes a2 as a0 */
    RUN_IN_TRAPS MODE_S, load_a0, 0, 27, "U-only trigger in S"
    la a2, data1
    RUN_IN_TRAPS MODE_U, load_a0, 1, 28, "U-only trigger in U"
    EXPECT_BREAK load_a0, a2, 29, "load breakpoint in U"
    li t0, MCONTROL | T_S | T_EXECUTE
    la a5, load_a0
    csrw CSR_TDATA2, a5
    csrw CSR_TDATA1, t0
    la a2, data1
    RUN_IN_TRAPS MODE_S, load_a0, 1, 30, "S-only execute trigger in S"
    EXPECT_BREAK load_a0, a5, 31, "execute breakpoint in S"
    la a2, data1
    RUN_IN_TRAPS MODE_U, load_a0, 0, 32, "S-only execute trigger in U"
    DISARM 0

    /* --- match ge / lt, where kept: S-only, as M's own accesses lie on both sides --- */
    la a5, data2
    ARM 0, MCONTROL | T_S | T_LOAD | MATCH_GE, a5
    csrr t0, CSR_TDATA1
    li t1, MCONTROL | T_S | T_LOAD | MATCH_GE
    bne t0, t1, 1f
    la a2, data1
    RUN_IN_TRAPS MODE_S, load_a0, 0, 33, "ge: below the address"
    la a2, data2 + 8
    RUN_IN_TRAPS MODE_S, load_a0, 1, 34, "ge: above the address"
    li t0, MCONTROL | T_S | T_LOAD | MATCH_LT
    csrw CSR_TDATA1, t0
    la a2, data1
    RUN_IN_TRAPS MODE_S, load_a0, 1, 35, "lt: below the address"
    la a2, data2
    RUN_IN_TRAPS MODE_S, load_a0, 0, 36, "lt: at the address"
1:  DISARM 0

    /* --- tcontrol, where implemented --- */
    CLEAR_TRAPS
    SKIP_TRAP
    li a0, -1
    csrr a0, CSR_TCONTROL
    LOAD t0, trap_count
    bnez t0, 2f
    la t6, trap_skip            /* tcontrol exists: drop the unused skip */
    sd zero, 0(t6)
    csrw CSR_TCONTROL, zero     /* mte = 0: no M-mode trigger fires */
    la a2, data1
    ARM 0, MCONTROL | T_M | T_LOAD, a2
    lw t0, 0(a2)
    EXPECT_VAR trap_count, 0, 37, "M-mode trigger with mte = 0"
    li t0, TCONTROL_MTE
    csrw CSR_TCONTROL, t0
    SKIP_TRAP
    lw t0, 0(a2)
    EXPECT_VAR trap_count, 1, 38, "M-mode trigger with mte = 1"
    csrr t0, CSR_TCONTROL       /* the trap saved mte in mpte, mret restored it */
    EXPECT t0, TCONTROL_MTE | TCONTROL_MPTE, 39, "tcontrol after a trap and mret"
    li t0, -1
    csrw CSR_TCONTROL, t0
    csrr t0, CSR_TCONTROL
    EXPECT t0, TCONTROL_MTE | TCONTROL_MPTE, 40, "tcontrol keeps mte and mpte only"
    DISARM 0
2:
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/* M-mode triggers fire (mte = 1) where tcontrol exists. */
enable_m_triggers:
    SKIP_TRAP
    csrsi CSR_TCONTROL, TCONTROL_MTE
    la t6, trap_skip
    sd zero, 0(t6)
    ret

load_a0:
    lw a0, 0(a0)
    ret

    .data
    .align 3
/* 16 bytes apart: QEMU 7.2 watches 8 bytes from a load/store trigger's address */
data1: .dword 0, 0
data2: .dword 0, 0
