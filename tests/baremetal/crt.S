/*
 * Bare-metal harness: boot on every hart, recording M/S trap handlers, run_in()
 * to execute a function in another privilege mode, UART diagnostics and the
 * SiFive test finisher. Hart 0 runs main(); other harts run hart1_main(hartid)
 * if the test defines it, else park in wfi.
 */
#include "test.h"

#define AREA_SIZE 512          /* per-hart M trap area: 32 regs + run_in context */
#define CTX_SP    256
#define CTX_RA    264
#define CTX_S0    272
#define REG(n)    (8 * (n))
#define MAX_HARTS 4

    .section .text.entry, "ax"
    .globl _start
_start:
    csrr a0, mhartid
    la sp, __stacks_end
    slli t0, a0, 14
    sub sp, sp, t0
    la t0, m_areas
    slli t1, a0, 9
    add t0, t0, t1
    csrw mscratch, t0
    la t0, s_areas
    slli t1, a0, 8
    add t0, t0, t1
    csrw sscratch, t0
    la t0, trap_entry
    csrw mtvec, t0
    la t0, strap_entry
    csrw stvec, t0
    csrw mie, zero
    csrw medeleg, zero
    csrw mideleg, zero
    csrw satp, zero
    /* Spec: with PMP implemented and no entry matching, S/U accesses fail; allow all. */
    li t0, -1
    srli t0, t0, 10
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    li t0, (1 << 13)           /* FS = Initial */
    csrs mstatus, t0
    bnez a0, secondary

    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  fence rw, rw
    la t0, boot_ready
    li t1, 1
    sw t1, 0(t0)
    call main
    j pass

secondary:
    la t0, boot_ready
1:  lw t1, 0(t0)
    beqz t1, 1b
    fence rw, rw
    .weak hart1_main
    la t0, hart1_main
    beqz t0, park
    csrr a0, mhartid
    jalr t0
park:
    wfi
    j park

/* ---------------- M-mode trap handler ---------------- */
    .text
    .align 4
    .globl trap_entry
trap_entry:
    csrrw sp, mscratch, sp
    sd x1, REG(1)(sp)
    sd x3, REG(3)(sp)
    sd x4, REG(4)(sp)
    sd x5, REG(5)(sp)
    sd x6, REG(6)(sp)
    sd x7, REG(7)(sp)
    sd x8, REG(8)(sp)
    sd x9, REG(9)(sp)
    sd x10, REG(10)(sp)
    sd x11, REG(11)(sp)
    sd x12, REG(12)(sp)
    sd x13, REG(13)(sp)
    sd x14, REG(14)(sp)
    sd x15, REG(15)(sp)
    sd x16, REG(16)(sp)
    sd x17, REG(17)(sp)
    sd x18, REG(18)(sp)
    sd x19, REG(19)(sp)
    sd x20, REG(20)(sp)
    sd x21, REG(21)(sp)
    sd x22, REG(22)(sp)
    sd x23, REG(23)(sp)
    sd x24, REG(24)(sp)
    sd x25, REG(25)(sp)
    sd x26, REG(26)(sp)
    sd x27, REG(27)(sp)
    sd x28, REG(28)(sp)
    sd x29, REG(29)(sp)
    sd x30, REG(30)(sp)
    sd x31, REG(31)(sp)
    csrr t0, mscratch
    sd t0, REG(2)(sp)
    csrw mscratch, sp

    csrr s0, mcause
    csrr s1, mepc
    csrr s2, mtval
    csrr s3, mstatus
    /* The harness's own ecalls are not recorded as traps. */
    bltz s0, record
    li t0, 8
    beq s0, t0, 1f
    li t0, 9
    beq s0, t0, 1f
    li t0, 10                   /* from VS (H extension) */
    beq s0, t0, 1f
    li t0, 11
    bne s0, t0, record
1:  li t0, RUNIN_MAGIC
    beq a7, t0, runin_back
    li t0, S_UNEXPECTED_MAGIC
    beq a7, t0, s_unexpected

record:
    la t0, last_mcause
    sd s0, 0(t0)
    sd s1, 8(t0)
    sd s2, 16(t0)
    sd s3, 24(t0)
    ld t1, 32(t0)
    addi t1, t1, 1
    sd t1, 32(t0)

    LOAD t0, trap_hook
    beqz t0, 1f
    mv a0, s0
    mv a1, s1
    mv a2, s2
    jalr t0
    j trap_return
1:  bltz s0, m_unexpected
    la t1, trap_resume
    ld t0, 0(t1)
    beqz t0, 2f
    sd zero, 0(t1)
    csrw mepc, t0
    j trap_return
2:  la t1, trap_skip
    ld t0, 0(t1)
    beqz t0, m_unexpected
    sd zero, 0(t1)
    mv a0, s1
    call insn_length
    add s1, s1, a0
    csrw mepc, s1

trap_return:
    ld x1, REG(1)(sp)
    ld x3, REG(3)(sp)
    ld x4, REG(4)(sp)
    ld x5, REG(5)(sp)
    ld x6, REG(6)(sp)
    ld x7, REG(7)(sp)
    ld x8, REG(8)(sp)
    ld x9, REG(9)(sp)
    ld x10, REG(10)(sp)
    ld x11, REG(11)(sp)
    ld x12, REG(12)(sp)
    ld x13, REG(13)(sp)
    ld x14, REG(14)(sp)
    ld x15, REG(15)(sp)
    ld x16, REG(16)(sp)
    ld x17, REG(17)(sp)
    ld x18, REG(18)(sp)
    ld x19, REG(19)(sp)
    ld x20, REG(20)(sp)
    ld x21, REG(21)(sp)
    ld x22, REG(22)(sp)
    ld x23, REG(23)(sp)
    ld x24, REG(24)(sp)
    ld x25, REG(25)(sp)
    ld x26, REG(26)(sp)
    ld x27, REG(27)(sp)
    ld x28, REG(28)(sp)
    ld x29, REG(29)(sp)
    ld x30, REG(30)(sp)
    ld x31, REG(31)(sp)
    ld x2, REG(2)(sp)
    mret

/* End of run_in(): back on the M-mode stack, returning the guest's a0/a1. */
runin_back:
    ld a0, REG(10)(sp)
    ld a1, REG(11)(sp)
    li a7, 0                    /* so a later plain ecall is not taken for ours */
    ld ra, CTX_RA(sp)
    ld s0, CTX_S0 + 0(sp)
    ld s1, CTX_S0 + 8(sp)
    ld s2, CTX_S0 + 16(sp)
    ld s3, CTX_S0 + 24(sp)
    ld s4, CTX_S0 + 32(sp)
    ld s5, CTX_S0 + 40(sp)
    ld s6, CTX_S0 + 48(sp)
    ld s7, CTX_S0 + 56(sp)
    ld s8, CTX_S0 + 64(sp)
    ld s9, CTX_S0 + 72(sp)
    ld s10, CTX_S0 + 80(sp)
    ld s11, CTX_S0 + 88(sp)
    ld sp, CTX_SP(sp)
    ret

m_unexpected:
    li a0, CODE_UNEXPECTED_M
    la a1, msg_unexpected_m
    mv a2, s0
    mv a3, s1
    j check_failed
s_unexpected:
    li a0, CODE_UNEXPECTED_S
    la a1, msg_unexpected_s
    LOAD a2, last_scause
    LOAD a3, last_sepc
    j check_failed

/*
 * run_in(a0 = mode, a1 = function, a2/a3 = its arguments): runs the function in the
 * given privilege mode on the current stack; returns its a0/a1 in M-mode.
 */
    .globl run_in
run_in:
    csrr t0, mscratch
    sd sp, CTX_SP(t0)
    sd ra, CTX_RA(t0)
    sd s0, CTX_S0 + 0(t0)
    sd s1, CTX_S0 + 8(t0)
    sd s2, CTX_S0 + 16(t0)
    sd s3, CTX_S0 + 24(t0)
    sd s4, CTX_S0 + 32(t0)
    sd s5, CTX_S0 + 40(t0)
    sd s6, CTX_S0 + 48(t0)
    sd s7, CTX_S0 + 56(t0)
    sd s8, CTX_S0 + 64(t0)
    sd s9, CTX_S0 + 72(t0)
    sd s10, CTX_S0 + 80(t0)
    sd s11, CTX_S0 + 88(t0)
    li t1, MSTATUS_MPP
    csrc mstatus, t1
    slli t1, a0, 11
    csrs mstatus, t1
    csrw mepc, a1
    mv a0, a2
    mv a1, a3
    li a7, 0                    /* a stale RUNIN_MAGIC would end the run at its first ecall */
    la ra, runin_return
    mret
    .globl runin_return
runin_return:
    li a7, RUNIN_MAGIC
    ecall

/* a0 = address of an instruction (identity-mapped): returns its length, 2 or 4. */
insn_length:
    lhu a0, 0(a0)
    andi a0, a0, 3
    addi a0, a0, -3
    seqz a0, a0
    slli a0, a0, 1
    addi a0, a0, 2
    ret

/* ---------------- S-mode trap handler ---------------- */
    .align 4
    .globl strap_entry
strap_entry:
    csrrw sp, sscratch, sp
    sd x1, REG(1)(sp)
    sd x3, REG(3)(sp)
    sd x4, REG(4)(sp)
    sd x5, REG(5)(sp)
    sd x6, REG(6)(sp)
    sd x7, REG(7)(sp)
    sd x8, REG(8)(sp)
    sd x9, REG(9)(sp)
    sd x10, REG(10)(sp)
    sd x11, REG(11)(sp)
    sd x12, REG(12)(sp)
    sd x13, REG(13)(sp)
    sd x14, REG(14)(sp)
    sd x15, REG(15)(sp)
    sd x16, REG(16)(sp)
    sd x17, REG(17)(sp)
    sd x18, REG(18)(sp)
    sd x19, REG(19)(sp)
    sd x20, REG(20)(sp)
    sd x21, REG(21)(sp)
    sd x22, REG(22)(sp)
    sd x23, REG(23)(sp)
    sd x24, REG(24)(sp)
    sd x25, REG(25)(sp)
    sd x26, REG(26)(sp)
    sd x27, REG(27)(sp)
    sd x28, REG(28)(sp)
    sd x29, REG(29)(sp)
    sd x30, REG(30)(sp)
    sd x31, REG(31)(sp)
    csrr t0, sscratch
    sd t0, REG(2)(sp)
    csrw sscratch, sp

    csrr s0, scause
    csrr s1, sepc
    csrr s2, stval
    csrr s3, sstatus
    /* run_in's final ecall from U, delegated here: forward it to M. */
    li t0, 8
    bne s0, t0, 1f
    li t0, RUNIN_MAGIC
    bne a7, t0, 1f
    ecall
1:  la t0, last_scause
    sd s0, 0(t0)
    sd s1, 8(t0)
    sd s2, 16(t0)
    sd s3, 24(t0)
    ld t1, 32(t0)
    addi t1, t1, 1
    sd t1, 32(t0)

    LOAD t0, strap_hook
    beqz t0, 1f
    mv a0, s0
    mv a1, s1
    mv a2, s2
    jalr t0
    j strap_return
1:  bltz s0, 3f
    la t1, trap_resume
    ld t0, 0(t1)
    beqz t0, 2f
    sd zero, 0(t1)
    csrw sepc, t0
    j strap_return
2:  la t1, trap_skip
    ld t0, 0(t1)
    beqz t0, 3f
    sd zero, 0(t1)
    mv a0, s1
    call insn_length
    add s1, s1, a0
    csrw sepc, s1
    j strap_return
3:  li a7, S_UNEXPECTED_MAGIC
    ecall

strap_return:
    ld x1, REG(1)(sp)
    ld x3, REG(3)(sp)
    ld x4, REG(4)(sp)
    ld x5, REG(5)(sp)
    ld x6, REG(6)(sp)
    ld x7, REG(7)(sp)
    ld x8, REG(8)(sp)
    ld x9, REG(9)(sp)
    ld x10, REG(10)(sp)
    ld x11, REG(11)(sp)
    ld x12, REG(12)(sp)
    ld x13, REG(13)(sp)
    ld x14, REG(14)(sp)
    ld x15, REG(15)(sp)
    ld x16, REG(16)(sp)
    ld x17, REG(17)(sp)
    ld x18, REG(18)(sp)
    ld x19, REG(19)(sp)
    ld x20, REG(20)(sp)
    ld x21, REG(21)(sp)
    ld x22, REG(22)(sp)
    ld x23, REG(23)(sp)
    ld x24, REG(24)(sp)
    ld x25, REG(25)(sp)
    ld x26, REG(26)(sp)
    ld x27, REG(27)(sp)
    ld x28, REG(28)(sp)
    ld x29, REG(29)(sp)
    ld x30, REG(30)(sp)
    ld x31, REG(31)(sp)
    ld x2, REG(2)(sp)
    sret

/* Zero every trap record (counts, causes) and pending skip/resume requests. */
    .globl clear_traps
clear_traps:
    la t0, trap_records
    la t1, trap_records_end
1:  sd zero, 0(t0)
    addi t0, t0, 8
    bltu t0, t1, 1b
    ret

/* ---------------- UART and finisher ---------------- */
    .globl uart_putc
uart_putc:
    li t0, UART_BASE
1:  lbu t1, 5(t0)
    andi t1, t1, 0x20
    beqz t1, 1b
    sb a0, 0(t0)
    ret

    .globl uart_puts
uart_puts:                     /* a0 = NUL-terminated string; clobbers t0-t3 */
    mv t3, ra
    mv t2, a0
1:  lbu a0, 0(t2)
    beqz a0, 2f
    call uart_putc
    addi t2, t2, 1
    j 1b
2:  mv ra, t3
    ret

    .globl uart_puthex
uart_puthex:                   /* a0 = value, printed as 0x + 16 hex digits; clobbers t0-t4, a0 */
    mv t3, ra
    mv t4, a0
    li a0, '0'
    call uart_putc
    li a0, 'x'
    call uart_putc
    li t2, 60
1:  srl a0, t4, t2
    andi a0, a0, 15
    addi a0, a0, '0'
    li t0, '9'
    ble a0, t0, 2f
    addi a0, a0, 'a' - '0' - 10
2:  call uart_putc
    addi t2, t2, -4
    bgez t2, 1b
    mv ra, t3
    ret

    .globl uart_putdec
uart_putdec:                   /* a0 = unsigned value in decimal; clobbers t0-t4, a0, a1 */
    mv t3, ra
    addi sp, sp, -32
    mv t4, sp
    li t2, 10
1:  remu t1, a0, t2
    addi t1, t1, '0'
    sb t1, 0(t4)
    addi t4, t4, 1
    divu a0, a0, t2
    bnez a0, 1b
2:  addi t4, t4, -1
    lbu a0, 0(t4)
    call uart_putc
    bne t4, sp, 2b
    addi sp, sp, 32
    mv ra, t3
    ret

/* Prints one PASS line and stops the machine with status 0. */
    .globl pass
pass:
    la a0, msg_pass
    call uart_puts
    la a0, test_name
    call uart_puts
    li a0, '\n'
    call uart_putc
    li t0, FINISHER
    li t1, FINISHER_PASS
    sw t1, 0(t0)
1:  j 1b

/*
 * check_failed(a0 = code, a1 = message, a2 = got, a3 = expected): prints a diagnostic
 * line with the last trap records and stops the machine with status = code.
 */
    .globl check_failed
check_failed:
    mv s4, a0
    mv s5, a1
    mv s6, a2
    mv s7, a3
    la a0, msg_fail
    call uart_puts
    la a0, test_name
    call uart_puts
    la a0, msg_check
    call uart_puts
    mv a0, s4
    call uart_putdec
    la a0, msg_colon
    call uart_puts
    mv a0, s5
    call uart_puts
    la a0, msg_got
    call uart_puts
    mv a0, s6
    call uart_puthex
    la a0, msg_want
    call uart_puts
    mv a0, s7
    call uart_puthex
    la a0, msg_mcause
    call uart_puts
    LOAD a0, last_mcause
    call uart_puthex
    la a0, msg_mepc
    call uart_puts
    LOAD a0, last_mepc
    call uart_puthex
    la a0, msg_mtval
    call uart_puts
    LOAD a0, last_mtval
    call uart_puthex
    la a0, msg_scause
    call uart_puts
    LOAD a0, last_scause
    call uart_puthex
    la a0, msg_stval
    call uart_puts
    LOAD a0, last_stval
    call uart_puthex
    li a0, '\n'
    call uart_putc
    li t0, FINISHER
    slli t1, s4, 16
    li t2, FINISHER_FAIL
    or t1, t1, t2
    sw t1, 0(t0)
1:  j 1b

    .section .rodata
msg_pass:         .asciz "PASS "
msg_fail:         .asciz "FAIL "
msg_check:        .asciz " check "
msg_colon:        .asciz ": "
msg_got:          .asciz ": got "
msg_want:         .asciz " want "
msg_mcause:       .asciz " | last mcause "
msg_mepc:         .asciz " mepc "
msg_mtval:        .asciz " mtval "
msg_scause:       .asciz " scause "
msg_stval:        .asciz " stval "
msg_unexpected_m: .asciz "unexpected M-mode trap (got = mcause, want = mepc)"
msg_unexpected_s: .asciz "unexpected S-mode trap (got = scause, want = sepc)"

    .data
    .align 3
boot_ready: .dword 0

    .bss
    .align 12
m_areas: .space AREA_SIZE * MAX_HARTS
s_areas: .space 256 * MAX_HARTS
    .align 3
    .globl trap_records, last_mcause, last_mepc, last_mtval, last_mstatus, trap_count
    .globl last_scause, last_sepc, last_stval, last_sstatus, strap_count
    .globl trap_skip, trap_resume, trap_hook, strap_hook
trap_records:
last_mcause:  .dword 0
last_mepc:    .dword 0
last_mtval:   .dword 0
last_mstatus: .dword 0
trap_count:   .dword 0
last_scause:  .dword 0
last_sepc:    .dword 0
last_stval:   .dword 0
last_sstatus: .dword 0
strap_count:  .dword 0
trap_skip:    .dword 0
trap_resume:  .dword 0
trap_hook:    .dword 0
strap_hook:   .dword 0
trap_records_end:
