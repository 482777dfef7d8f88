/*
 * The H extension: hypervisor and VS CSRs with their WARL fields; entering VS/VU through
 * mret with MPV; the VS CSRs standing in for the S ones there; virtual-instruction
 * exceptions (hypervisor CSRs, VTSR/VTW/VTVM, hfence; S CSRs from VU trap); ecall from
 * VS; trap delegation through medeleg to HS (SPV/SPVP) and hedeleg to VS; a VS software
 * interrupt injected through hvip; the VS timer (vstimecmp) and its interrupt; time
 * htimedelta ahead; mcontrol6's VS bit; VS-stage paging through vsatp, whose
 * translations HS does not see, with a VS page fault in M setting GVA; the G stage
 * (Sv39x4) alone and under the VS stage, with guest-page faults in M (mtval2) and HS
 * (htval, hstatus.GVA); HLV/HLVX/HSV from M, HS and U (HU), not from VS. Also passes
 * on QEMU 7.2 (whose rv64 CPU has H); where QEMU 7.2 departs from the spec, test_cpu
 * checks rackvm.
 * rackvm-options: --cpu h=on
 */
#include "test.h"
TEST hext

#define CSR_HSTATUS    0x600
#define CSR_HEDELEG    0x602
#define CSR_HIDELEG    0x603
#define CSR_HIE        0x604
#define CSR_HCOUNTEREN 0x606
#define CSR_HENVCFG    0x60a
#define CSR_HIP        0x644
#define CSR_HVIP       0x645
#define CSR_HGATP      0x680
#define CSR_VSSTATUS   0x200
#define CSR_VSTVEC     0x205
#define CSR_VSSCRATCH  0x240
#define CSR_VSEPC      0x241
#define CSR_VSCAUSE    0x242
#define CSR_VSTIMECMP  0x24d
#define CSR_VSATP      0x280
#define MSTATUS_GVA    (1 << 38)
#define MSTATUS_MPV    (1 << 39)
#define HSTATUS_SPVP   (1 << 8)
#define HSTATUS_VTVM   (1 << 20)
#define HSTATUS_VTW    (1 << 21)
#define HSTATUS_VTSR   (1 << 22)
#define VS_IRQS        0x444
#define VSSIP          (1 << 2)
#define VSTIP          (1 << 6)
#define CAUSE_ILLEGAL  2
#define CAUSE_BREAKPOINT 3
#define CSR_HTIMEDELTA 0x605
#define CSR_TDATA1_MCONTROL6_VS_LOAD ((6 << 60) | (1 << 24) | 1)
#define CAUSE_ECALL_VS 10
#define CAUSE_LOAD_PAGE_FAULT 13
#define CAUSE_VIRTUAL  22
#define HFENCE_VVMA    0x22000073
#define HFENCE_GVMA    0x62000073
#define CSR_HTVAL      0x643
#define CSR_MTVAL2     0x34b
#define HSTATUS_GVA    (1 << 6)
#define CAUSE_LOAD_GUEST_PAGE_FAULT  21
#define CAUSE_STORE_GUEST_PAGE_FAULT 23
#define GPA_UNMAPPED   0x140000000    /* no G-stage mapping */
#define READONLY       0x140000000    /* VS-stage: RAM_BASE again, without X (a guest VA) */
#define HLV_D_A0_A0    0x6c054573     /* hlv.d a0, (a0) */
#define HLV_W_A0_A0    0x68054573     /* hlv.w a0, (a0) */
#define HLVX_WU_A0_A0  0x68354573     /* hlvx.wu a0, (a0) */
#define HSV_D_A1_A0    0x6eb54073     /* hsv.d a1, (a0) */
#define HSTATUS_HU     (1 << 9)
#define STCE           (1 << 63)
#define ALIAS          0x100000000    /* VS-stage: the gigapage at RAM_BASE seen here too */

/* run_in(\mode, \fn) with V=1: VS (MODE_S) or VU (MODE_U), a2 as its a0. */
.macro CALL_IN_V mode, fn
    li t0, MSTATUS_MPV
    csrs mstatus, t0
    li a0, \mode
    la a1, \fn
    call run_in
    li t0, MSTATUS_MPV           /* the final ecall came from V=1 */
    csrc mstatus, t0
.endm

/* Runs \fn in VS (\mode MODE_S) or VU (MODE_U) with a2 as its a0; \traps traps reach M. */
.macro RUN_V mode, fn, traps, code, msg
    li t0, MSTATUS_MPV
    csrs mstatus, t0
    RUN_IN_TRAPS \mode, \fn, \traps, \code, "\msg"
    li t0, MSTATUS_MPV           /* the final ecall came from V=1 */
    csrc mstatus, t0
.endm

/* Runs \fn in VS, expecting one trap, whose mtval2 record_tval2 keeps (run_in's own
 * ecall to M overwrites it). */
.macro HOOKED_RUN_V fn, code, msg
    CLEAR_TRAPS                 /* (clears trap_hook too) */
    la t0, record_tval2
    la t1, trap_hook
    sd t0, 0(t1)
    CALL_IN_V MODE_S, \fn
    la t1, trap_hook
    sd zero, 0(t1)
    EXPECT_VAR trap_count, 1, \code, "\msg"
.endm

/* Bits \shift.. of the last M trap's mstatus, masked with \mask, equal \val. */
.macro EXPECT_MSTATUS_FIELD shift, mask, val, code, msg
    LOAD t0, last_mstatus
    srli t0, t0, \shift
    andi t0, t0, \mask
    EXPECT t0, \val, \code, "\msg"
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    sd s4, 8(sp)
    addi sp, sp, -16
    sd s5, 0(sp)
    la t0, vs_handler
    csrw CSR_VSTVEC, t0

    /* --- misa, WARL fields --- */
    csrr t0, misa
    srli t0, t0, 7
    andi t0, t0, 1
    EXPECT t0, 1, 1, "misa.H"
    csrr t0, CSR_HSTATUS
    srli t0, t0, 32
    andi t0, t0, 3
    EXPECT t0, 2, 2, "hstatus.VSXL = 64"
    li t0, -1
    csrw CSR_HEDELEG, t0
    csrr t1, CSR_HEDELEG
    csrw CSR_HEDELEG, zero
    EXPECT t1, 0xb1ff, 3, "hedeleg: causes 0-8, 12, 13, 15"
    csrw CSR_HIDELEG, t0
    csrr t1, CSR_HIDELEG
    csrw CSR_HIDELEG, zero
    EXPECT t1, VS_IRQS, 4, "hideleg: VS interrupts"
    csrw mideleg, zero
    csrr t1, mideleg
    andi t1, t1, VS_IRQS
    EXPECT t1, VS_IRQS, 5, "mideleg: VS interrupts read-only one"
    csrw CSR_HVIP, t0
    csrr t1, CSR_HVIP
    csrw CSR_HVIP, zero
    EXPECT t1, VS_IRQS, 6, "hvip: VS interrupts"
    li t0, MSTATUS_MPV
    csrs mstatus, t0
    csrr t1, mstatus
    csrc mstatus, t0
    srli t1, t1, 39
    andi t1, t1, 1
    EXPECT t1, 1, 7, "mstatus.MPV writable"
    csrw CSR_HGATP, zero
    csrw CSR_VSATP, zero

    /* --- VS-mode: sscratch is vsscratch; ecall from VS is cause 10 --- */
    csrr s4, sscratch           /* the S trap handler's area (crt.S) */
    li a2, 0x1234
    RUN_V MODE_S, write_sscratch, 0, 8, "csrw sscratch in VS"
    csrr t0, CSR_VSSCRATCH
    EXPECT t0, 0x1234, 9, "VS's sscratch is vsscratch"
    csrr t0, sscratch
    EXPECT_REG t0, s4, 10, "HS's sscratch untouched"
    RUN_V MODE_S, do_ecall, 1, 11, "ecall from VS"
    EXPECT_VAR last_mcause, CAUSE_ECALL_VS, 12, "ecall from VS: cause 10"
    EXPECT_MSTATUS_FIELD 39, 1, 1, 13, "trap from VS: MPV"

    /* --- virtual instructions --- */
    RUN_V MODE_S, read_hstatus, 1, 14, "hstatus in VS traps"
    EXPECT_MTRAP CAUSE_VIRTUAL, 0x60002573, 15, "hstatus in VS: virtual instruction"
    RUN_IN_TRAPS MODE_S, read_hstatus, 0, 16, "hstatus in HS"
    RUN_IN_TRAPS MODE_U, read_hstatus, 1, 17, "hstatus in U traps"
    EXPECT_VAR last_mcause, CAUSE_ILLEGAL, 18, "hstatus in U: illegal"
    /* The spec's cause is a virtual instruction (test_cpu checks it); QEMU 7.2 raises
     * an illegal instruction. */
    RUN_V MODE_U, read_sstatus, 1, 19, "sstatus in VU traps"
    RUN_V MODE_S, read_sstatus, 0, 21, "sstatus in VS"
    li t0, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM
    csrs CSR_HSTATUS, t0
    RUN_V MODE_S, do_sret, 1, 22, "sret in VS with VTSR"
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 23, "sret with VTSR: virtual instruction"
    RUN_V MODE_S, do_wfi, 1, 24, "wfi in VS with VTW"
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 25, "wfi with VTW: virtual instruction"
    /* (satp with VTVM too: test_cpu checks it, QEMU 7.2 lets it through) */
    RUN_V MODE_S, do_sfence, 1, 26, "sfence.vma in VS with VTVM"
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 27, "sfence.vma with VTVM: virtual instruction"
    li t0, HSTATUS_VTSR | HSTATUS_VTW | HSTATUS_VTVM
    csrc CSR_HSTATUS, t0
    RUN_V MODE_S, read_satp, 0, 28, "satp in VS"
    RUN_V MODE_S, do_hfence, 1, 29, "hfence.vvma in VS traps"
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 30, "hfence.vvma in VS: virtual instruction"
    RUN_IN_TRAPS MODE_S, do_hfence, 0, 31, "hfence.vvma in HS"
    RUN_IN_TRAPS MODE_U, do_hfence, 1, 32, "hfence.vvma in U traps"
    EXPECT_VAR last_mcause, CAUSE_ILLEGAL, 33, "hfence.vvma in U: illegal"

    /* --- delegation: medeleg sends VS's virtual instruction to HS, SPVP = VS --- */
    li t0, 1 << CAUSE_VIRTUAL
    csrw medeleg, t0
    CLEAR_TRAPS
    SKIP_TRAP
    CALL_IN_V MODE_S, read_hstatus
    csrw medeleg, zero
    EXPECT_VAR strap_count, 1, 34, "virtual instruction delegated to HS"
    EXPECT_VAR last_scause, CAUSE_VIRTUAL, 35, "HS sees cause 22"
    csrr t0, CSR_HSTATUS
    andi t0, t0, HSTATUS_SPVP
    EXPECT t0, HSTATUS_SPVP, 36, "hstatus.SPVP: the trap came from VS"
    /* hedeleg sends a breakpoint in VS on to the guest's own handler (not an illegal
     * instruction: QEMU 7.2 turns cause 2 into 1 on its way to VS, as if VSSI) */
    li t0, 1 << CAUSE_BREAKPOINT
    csrw medeleg, t0
    csrw CSR_HEDELEG, t0
    la t0, vs_traps
    sd zero, 0(t0)
    RUN_V MODE_S, do_ebreak, 0, 37, "ebreak in VS"
    csrw medeleg, zero
    csrw CSR_HEDELEG, zero
    EXPECT_VAR strap_count, 0, 38, "hedeleg: HS not involved"
    EXPECT_VAR vs_traps, 1, 39, "hedeleg: the VS handler ran"
    EXPECT_VAR vs_last_cause, CAUSE_BREAKPOINT, 40, "VS handler: scause is vscause"

    /* --- a VS software interrupt injected through hvip --- */
    li t0, VSSIP
    csrw CSR_HIDELEG, t0
    csrw CSR_HIE, t0
    csrw CSR_HVIP, t0
    li t0, MSTATUS_SIE
    csrs CSR_VSSTATUS, t0
    la t0, vs_traps
    sd zero, 0(t0)
    RUN_V MODE_S, spin, 0, 41, "VS interrupt"
    EXPECT_VAR vs_traps, 1, 42, "VS interrupt: the VS handler ran"
    EXPECT_VAR vs_last_cause, 0x8000000000000001, 43, "VS interrupt: cause SSI"
    csrr t0, CSR_HVIP
    EXPECT t0, 0, 44, "the guest cleared sip.SSIP, which is hvip.VSSIP"
    csrw CSR_HIE, zero
    csrw CSR_HIDELEG, zero
    li t0, MSTATUS_SIE
    csrc CSR_VSSTATUS, t0

    /* --- the VS timer: vstimecmp against time + htimedelta --- */
    li t0, STCE
    csrs CSR_MENVCFG, t0
    csrs CSR_HENVCFG, t0
    csrw CSR_VSTIMECMP, zero
    csrr t0, CSR_HIP
    andi t0, t0, VSTIP
    EXPECT t0, VSTIP, 45, "vstimecmp = 0: VSTIP"
    li t0, -1
    csrw CSR_VSTIMECMP, t0
    csrr t0, CSR_HIP
    andi t0, t0, VSTIP
    EXPECT t0, 0, 46, "vstimecmp = ~0: no VSTIP"
    /* delivered to the guest, which moves its timer through stimecmp (vstimecmp) */
    li t0, 2
    csrs mcounteren, t0
    csrs CSR_HCOUNTEREN, t0
    li t0, VSTIP
    csrw CSR_HIDELEG, t0
    csrw CSR_HIE, t0
    li t0, MSTATUS_SIE
    csrs CSR_VSSTATUS, t0
    la t0, vs_traps
    sd zero, 0(t0)
    csrw CSR_VSTIMECMP, zero
    RUN_V MODE_S, spin, 0, 92, "VS timer interrupt"
    EXPECT_VAR vs_last_cause, 0x8000000000000005, 93, "VS timer interrupt: cause STI"
    csrr t0, CSR_VSTIMECMP
    EXPECT t0, -1, 94, "the guest moved its timer: stimecmp is vstimecmp"
    csrw CSR_HIE, zero
    csrw CSR_HIDELEG, zero
    li t0, MSTATUS_SIE
    csrc CSR_VSSTATUS, t0
    li t0, STCE
    csrc CSR_HENVCFG, t0
    csrc CSR_MENVCFG, t0

    /* --- a guest's time runs htimedelta ahead --- */
    li t0, 2
    csrs mcounteren, t0
    csrs CSR_HCOUNTEREN, t0
    li t0, 1 << 40
    csrw CSR_HTIMEDELTA, t0
    rdtime s5
    RUN_V MODE_S, read_time, 0, 87, "time in VS"
    sub t0, a0, s5
    srli t0, t0, 40
    EXPECT t0, 1, 88, "time in VS: htimedelta ahead"
    csrw CSR_HTIMEDELTA, zero

    /* --- Sdtrig: mcontrol6's VS bit matches in VS; mcontrol's S bit does not --- */
    la a2, vs_data
    li t0, CSR_TDATA1_MCONTROL6_VS_LOAD
    csrw 0x7a0, zero            /* tselect */
    csrw 0x7a2, a2              /* tdata2 */
    csrw 0x7a1, t0              /* tdata1 */
    RUN_V MODE_S, load_a0, 1, 89, "mcontrol6 with vs: a load in VS"
    EXPECT_VAR last_mcause, CAUSE_BREAKPOINT, 90, "mcontrol6 with vs: breakpoint"
    li t0, (2 << 60) | 0x11     /* mcontrol, S, load */
    csrw 0x7a1, t0
    RUN_V MODE_S, load_a0, 0, 91, "mcontrol with s: no match in VS"
    li t0, 2 << 60
    csrw 0x7a1, t0

    /* --- VS-stage paging: vsatp's translations are the guest's alone --- */
    la t0, vs_root
    li t1, (RAM_BASE >> 12) << 10 | 0xcf     /* gigapage, V R W X A D */
    sd t1, 32(t0)               /* VA ALIAS (nothing there for HS, on QEMU either) */
    sd t1, 16(t0)               /* VA 0x80000000: identity, for the code */
    srli t0, t0, 12
    li t1, 8 << 60              /* Sv39 */
    or t0, t0, t1
    csrw CSR_VSATP, t0
    la t0, vs_data
    li t1, 0xfeed
    sd t1, 0(t0)
    li t1, ALIAS - RAM_BASE
    add a2, t0, t1              /* vs_data through the alias */
    RUN_V MODE_S, load_a0, 0, 47, "VS load through vsatp"
    EXPECT a0, 0xfeed, 48, "VS load through vsatp: the value"
    li t1, ALIAS - RAM_BASE
    la a2, vs_data
    add a2, a2, t1
    RUN_IN_TRAPS MODE_S, load_a0, 1, 49, "HS does not see the VS translation"
    EXPECT_VAR last_mcause, 5, 50, "HS at the alias: access fault"
    li a2, 0xc0000000           /* not mapped in VS */
    RUN_V MODE_S, load_a0, 1, 51, "VS page fault"
    EXPECT_MTRAP CAUSE_LOAD_PAGE_FAULT, 0xc0000000, 52, "VS page fault in M"
    EXPECT_MSTATUS_FIELD 38, 1, 1, 53, "VS page fault in M: GVA"
    csrw CSR_VSATP, zero
    .word HFENCE_GVMA

    /* --- G stage (Sv39x4): guest physical ALIAS is host RAM_BASE; identity for RAM --- */
    la t0, g_root
    li t1, (RAM_BASE >> 12) << 10 | 0xdf     /* gigapage, V R W X U A D */
    sd t1, 16(t0)               /* GPA RAM_BASE */
    sd t1, 32(t0)               /* GPA ALIAS */
    srli t0, t0, 12
    li t1, 8 << 60
    or t0, t0, t1
    csrw CSR_HGATP, t0
    .word HFENCE_GVMA
    csrr t1, CSR_HGATP
    EXPECT_REG t0, t1, 54, "hgatp takes Sv39x4"
    li t1, ALIAS - RAM_BASE
    la a2, vs_data
    add a2, a2, t1
    RUN_V MODE_S, load_a0, 0, 55, "VS load through the G stage"
    EXPECT a0, 0xfeed, 56, "VS load through the G stage: the value"
    li a2, GPA_UNMAPPED + 0x18
    HOOKED_RUN_V load_a0, 57, "guest-page fault"
    EXPECT_MTRAP CAUSE_LOAD_GUEST_PAGE_FAULT, GPA_UNMAPPED + 0x18, 58, "load guest-page fault in M"
    LOAD t0, fault_tval2
    li t1, (GPA_UNMAPPED + 0x18) >> 2
    EXPECT_REG t0, t1, 59, "mtval2: the guest physical address >> 2"
    EXPECT_MSTATUS_FIELD 38, 1, 1, 60, "guest-page fault in M: GVA"
    /* delegated to HS: htval, hstatus.GVA */
    li t0, 1 << CAUSE_STORE_GUEST_PAGE_FAULT
    csrw medeleg, t0
    CLEAR_TRAPS
    SKIP_TRAP
    li a2, GPA_UNMAPPED + 0x20
    CALL_IN_V MODE_S, store_a0
    csrw medeleg, zero
    EXPECT_STRAP CAUSE_STORE_GUEST_PAGE_FAULT, GPA_UNMAPPED + 0x20, 61, "store guest-page fault in HS"
    csrr t0, CSR_HTVAL
    li t1, (GPA_UNMAPPED + 0x20) >> 2
    EXPECT_REG t0, t1, 62, "htval: the guest physical address >> 2"
    csrr t0, CSR_HSTATUS
    andi t0, t0, HSTATUS_GVA
    EXPECT t0, HSTATUS_GVA, 63, "hstatus.GVA"
    /* both stages: VS's ALIAS -> guest RAM_BASE (vs_root) -> host RAM_BASE (g_root) */
    la t0, vs_root
    srli t0, t0, 12
    li t1, 8 << 60
    or t0, t0, t1
    csrw CSR_VSATP, t0
    li t1, ALIAS - RAM_BASE
    la a2, vs_data
    add a2, a2, t1
    RUN_V MODE_S, load_a0, 0, 64, "VS load through both stages"
    EXPECT a0, 0xfeed, 65, "VS load through both stages: the value"
    la t0, vs_root              /* VS maps 0xc0000000 to a guest physical gigapage G lacks */
    li t1, (GPA_UNMAPPED >> 12) << 10 | 0xcf
    sd t1, 24(t0)
    .word HFENCE_GVMA
    li a2, 0xc0000040
    HOOKED_RUN_V load_a0, 66, "guest-page fault after the VS stage"
    EXPECT_MTRAP CAUSE_LOAD_GUEST_PAGE_FAULT, 0xc0000040, 67, "guest-page fault: tval the guest VA"
    LOAD t0, fault_tval2
    li t1, (GPA_UNMAPPED + 0x40) >> 2
    EXPECT_REG t0, t1, 68, "mtval2: the guest physical address the VS stage made"

    /* --- HLV/HLVX/HSV: VS's view (SPVP = VS) from M, HS and U with HU --- */
    li t0, HSTATUS_SPVP
    csrs CSR_HSTATUS, t0
    li s5, ALIAS - RAM_BASE
    la a0, vs_data
    add a0, a0, s5
    .word HLV_D_A0_A0
    EXPECT a0, 0xfeed, 69, "hlv.d from M through both stages"
    la a0, vs_data
    add a0, a0, s5
    li a1, 0xbeef
    .word HSV_D_A1_A0
    LOAD t0, vs_data
    EXPECT t0, 0xbeef, 70, "hsv.d from M through both stages"
    CLEAR_TRAPS
    SKIP_TRAP
    li a0, 0xc0000040
    .word HLV_D_A0_A0
    EXPECT_MTRAP CAUSE_LOAD_GUEST_PAGE_FAULT, 0xc0000040, 71, "hlv.d: guest-page fault"
    EXPECT_MSTATUS_FIELD 38, 3, 1, 72, "hlv.d's fault: GVA, not MPV"
    la a2, vs_data
    add a2, a2, s5
    RUN_IN_TRAPS MODE_S, do_hlv, 0, 73, "hlv.d in HS"
    EXPECT a0, 0xbeef, 74, "hlv.d in HS: the value"
    RUN_V MODE_S, do_hlv, 1, 75, "hlv.d in VS traps"
    EXPECT_VAR last_mcause, CAUSE_VIRTUAL, 76, "hlv.d in VS: virtual instruction"
    RUN_IN_TRAPS MODE_U, do_hlv, 1, 77, "hlv.d in U without HU traps"
    EXPECT_VAR last_mcause, CAUSE_ILLEGAL, 78, "hlv.d in U without HU: illegal"
    li t0, HSTATUS_HU
    csrs CSR_HSTATUS, t0
    RUN_IN_TRAPS MODE_U, do_hlv, 0, 79, "hlv.d in U with HU"
    csrc CSR_HSTATUS, t0
    /* HLVX wants execute permission, which VS's READONLY gigapage lacks */
    la t0, vs_root
    li t1, (RAM_BASE >> 12) << 10 | 0xc3     /* V R A D */
    sd t1, 40(t0)
    .word HFENCE_GVMA
    li t1, READONLY - RAM_BASE
    la a0, vs_data
    add a0, a0, t1
    .word HLV_W_A0_A0
    EXPECT a0, 0xbeef, 80, "hlv.w from a read-only page"
    /* (hlvx.wu there: a load page fault, which test_cpu checks; QEMU 7.2 reads) */
    la a0, do_hlv
    add a0, a0, s5
    .word HLVX_WU_A0_A0
    la t0, do_hlv
    lwu t0, 0(t0)
    EXPECT_REG a0, t0, 82, "hlvx.wu reads an instruction through both stages"
    li t0, HSTATUS_SPVP
    csrc CSR_HSTATUS, t0
    csrw CSR_VSATP, zero
    csrw CSR_HGATP, zero
    .word HFENCE_GVMA

    ld s5, 0(sp)
    addi sp, sp, 16
    ld ra, 0(sp)
    ld s4, 8(sp)
    addi sp, sp, 16
    ret

write_sscratch:
    csrw sscratch, a0
    ret
do_ecall:
    li a7, 0
    ecall
    ret
read_hstatus:
    csrr a0, CSR_HSTATUS
    ret
read_sstatus:
    csrr a0, sstatus
    ret
read_time:
    rdtime a0
    ret
read_satp:
    csrr a0, satp
    ret
do_sfence:
    sfence.vma
    ret
do_sret:
    sret
    ret
do_wfi:
    wfi
    ret
do_hfence:
    .word HFENCE_VVMA
    ret
do_ebreak:
    .word 0x00100073            /* ebreak, 4 bytes (the VS handler skips 4) */
    ret
load_a0:
    ld a0, 0(a0)
    ret
do_hlv:
    .word HLV_D_A0_A0
    ret
store_a0:
    sd zero, 0(a0)
    ret
/* trap_hook: keeps mtval2, resumes after the faulting instruction. */
record_tval2:
    csrr t0, CSR_MTVAL2
    la t1, fault_tval2
    sd t0, 0(t1)
    csrr t0, mepc
    lhu t1, 0(t0)
    andi t1, t1, 3
    li t2, 3
    addi t0, t0, 2
    bne t1, t2, 1f
    addi t0, t0, 2
1:  csrw mepc, t0
    ret

/* Spins until the VS handler has run (an interrupt). */
spin:
    la t0, vs_traps
1:  ld t1, 0(t0)
    beqz t1, 1b
    ret

/* The guest's trap handler (VS-mode): counts, records scause, skips an exception's
 * 4-byte instruction, clears sip.SSIP or moves stimecmp away for an interrupt. Uses
 * t5/t6 only. */
    .align 2
vs_handler:
    la t5, vs_traps
    ld t6, 0(t5)
    addi t6, t6, 1
    sd t6, 0(t5)
    csrr t6, scause
    sd t6, 8(t5)
    bltz t6, 1f
    csrr t6, sepc
    addi t6, t6, 4
    csrw sepc, t6
    sret
1:  slli t6, t6, 1              /* the interrupt's number */
    srli t6, t6, 1
    li t5, 5
    beq t6, t5, 2f
    csrci sip, 2
    sret
2:  li t6, -1                   /* timer: no more */
    csrw 0x14d, t6              /* stimecmp */
    sret

    .data
    .align 3
vs_traps: .dword 0
vs_last_cause: .dword 0
vs_data: .dword 0
fault_tval2: .dword 0
    .align 12
vs_root: .zero 4096
    .align 14
g_root: .zero 16384
