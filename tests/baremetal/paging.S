/*
 * Sv39, Sv48 and Sv57 paging: page tables built at run time, code run in S and U
 * through them. 4 KiB pages, 2 MiB and 1 GiB superpages (misaligned ones fault),
 * R/W/X/U permissions with causes 12/13/15 and stval = the virtual address, SUM,
 * MXR, reserved W-without-R, reserved PTE bits and last-level pointer PTEs,
 * canonical addresses, hardware A/D updates, sfence.vma (by address, also one naming
 * another page of a superpage),
 * ASIDs (a switch without a fence, sfence.vma by ASID, global mappings), unsupported
 * satp modes, MPRV, and page faults delegated to S or kept in M.
 * Each mode runs the same suite; failure codes are 1-75 (Sv39), 76-150 (Sv48) and
 * 151-225 (Sv57).
 */
#include "test.h"
TEST paging

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_G 0x20
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE_RWX_AD (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define PTE_RW_AD  (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

#define SATP_ASID_SHIFT 44
#define SATP_PPN_MASK   0xfffffffffff
#define POOL_PAGES      24

/* Virtual layout, the same in every mode (all canonical in Sv39). */
#define VA_2M      0x40000000   /* 2 MiB page -> RAM_BASE */
#define VA_2M_BAD  0x40200000   /* 2 MiB leaf with a PPN that is not 2 MiB aligned */
#define VA_1G      0x100000000  /* 1 GiB page -> RAM_BASE */
#define VA_1G_BAD  0x140000000  /* 1 GiB leaf with a PPN that is not 1 GiB aligned */
#define VA_RW      0x40400000   /* 4 KiB pages from here on */
#define VA_RO      0x40401000
#define VA_XO      0x40402000   /* execute-only alias of u_code_page */
#define VA_WO      0x40403000   /* W without R: reserved */
#define VA_URW     0x40404000
#define VA_UX      0x40405000   /* U alias of u_code_page */
#define VA_AD      0x40406000   /* A = D = 0 in the PTE */
#define VA_SW      0x40407000   /* remapped for the sfence.vma check */
#define VA_NONE    0x40408000   /* invalid PTE */
#define VA_URO     0x40409000
#define VA_AX      0x4040a000   /* execute-only, A = 0 */
#define VA_PTR0    0x4040b000   /* V without R/W/X at the last level */
#define VA_RSV     0x4040c000   /* reserved PTE bit 60 set */
#define VA_AD2     0x4040d000   /* A = D = 0, first touched by a store */

#define MARK_A 0x1111aaaa2222bbbb
#define MARK_B 0x3333cccc4444dddd
#define MARK_U 0x5555eeee6666ffff

/* reg = address of \sym seen through a mapping of RAM_BASE at virtual \base */
.macro VA_OF reg, sym, base
    la \reg, \sym
    li t5, RAM_BASE
    sub \reg, \reg, t5
    li t5, \base
    add \reg, \reg, t5
.endm

/* reg = virtual address of \sym (inside u_code_page) through the U alias */
.macro UVA reg, sym
    la \reg, \sym
    la t5, u_code_page
    sub \reg, \reg, t5
    li t5, VA_UX
    add \reg, \reg, t5
.endm

/* Run \fn (an identity-mapped helper) in \mode with a0 = \arg. */
.macro RUN mode, fn, arg
    li a2, \arg
    li a0, \mode
    la a1, \fn
    call run_in
.endm

/* Run the u_code_page helper \fn through its U alias with a0 = \arg. */
.macro RUN_U fn, arg
    li a2, \arg
    li a0, MODE_U
    UVA a1, \fn
    call run_in
.endm

/* Enter \mode directly at virtual address \va (a fetch there). */
.macro JUMP mode, va
    li a0, \mode
    li a1, \va
    call run_in
.endm

/* The next trap resumes U at u_ret through the U alias. */
.macro U_RESUME
    UVA t6, u_ret
    la t5, trap_resume
    sd t6, 0(t5)
.endm

/* Set or clear mstatus bits. */
.macro MSTATUS_SET bits
    li t0, \bits
    csrs mstatus, t0
.endm
.macro MSTATUS_CLEAR bits
    li t0, \bits
    csrc mstatus, t0
.endm

/* t0 = a leaf PTE mapping \page with \bits */
.macro LEAF_PTE page, bits
    la t0, \page
    srli t0, t0, 12
    slli t0, t0, 10
    ori t0, t0, \bits
.endm

/* The PTE of VA_SW becomes \page's with \bits (no fence). */
.macro SET_PTE_SW page, bits
    LEAF_PTE \page, \bits
    LOAD t1, pte_sw
    sd t0, 0(t1)
.endm

/* Runs \fn (s_remap, s_remap_all) in S on VA_SW, remapping it to \page (RW, A, D). */
.macro REMAP_SW fn, page
    LEAF_PTE \page, PTE_RW_AD
    sd t0, remap_args, t1
    li a0, MODE_S
    la a1, \fn
    li a2, VA_SW
    LOAD a3, pte_sw
    call run_in
.endm

/*
 * The whole suite for one translation mode: \L levels, satp MODE \mode,
 * failure codes \b + 1 .. \b + 75.
 */
.macro SUITE b, L, mode, name
    csrw satp, zero
    sfence.vma
    li a0, \L
    call build_tables

    /* --- satp: ASIDLEN discovery, then the suite runs with a non-zero ASID if any --- */
    LOAD s0, pt_root
    srli s0, s0, 12
    li t0, (\mode << 60) | (0xffff << SATP_ASID_SHIFT)
    or t0, t0, s0
    csrw satp, t0
    csrr s1, satp
    srli t1, s1, 60
    EXPECT t1, \mode, \b+1, "\name: satp MODE reads back"
    li t0, SATP_PPN_MASK
    and t1, s1, t0
    EXPECT_REG t1, s0, \b+2, "\name: satp PPN reads back"
    srli s2, s1, SATP_ASID_SHIFT
    li t0, 0xffff
    and s2, s2, t0              /* s2 = implemented ASID bits */
    addi t1, s2, 1
    and t1, t1, s2
    EXPECT t1, 0, \b+3, "\name: implemented ASID bits are the low ones (got = ASID read back)"
    andi s2, s2, 0x5            /* ASID for the run: 5, or its implemented part */
    slli t0, s2, SATP_ASID_SHIFT
    or s0, s0, t0
    li t0, \mode << 60
    or s0, s0, t0               /* s0 = satp of the run */
    csrw satp, s0
    sfence.vma
    csrr t1, satp
    EXPECT_REG t1, s0, \b+4, "\name: satp with ASID reads back"
    li t0, (11 << 60) | 0x1234
    csrw satp, t0
    csrr t1, satp
    EXPECT_REG t1, s0, \b+5, "\name: satp write with MODE 11 (unsupported) has no effect"
    li t0, (1 << 60) | 0x1234
    csrw satp, t0
    csrr t1, satp
    EXPECT_REG t1, s0, \b+6, "\name: satp write with MODE 1 (reserved) has no effect"

    /* --- page sizes, through code running in S (on the identity 1 GiB page) --- */
    CLEAR_TRAPS
    RUN MODE_S, s_load, VA_RW
    EXPECT a0, MARK_A, \b+7, "\name: S load through a 4 KiB page"
    li a3, 0x77
    RUN MODE_S, s_store, VA_RW+8
    LOAD t0, page_a + 8
    EXPECT t0, 0x77, \b+8, "\name: S store through a 4 KiB page reaches memory"
    VA_OF a2, page_a, VA_2M
    li a0, MODE_S
    la a1, s_load
    call run_in
    EXPECT a0, MARK_A, \b+9, "\name: S load through a 2 MiB page"
    VA_OF a2, page_a, VA_1G
    li a0, MODE_S
    la a1, s_load
    call run_in
    EXPECT a0, MARK_A, \b+10, "\name: S load through a 1 GiB page"
    VA_OF a2, page_a, -(1<<(9*\L+11))
    li a0, MODE_S
    la a1, s_load
    call run_in
    EXPECT a0, MARK_A, \b+11, "\name: S load at the lowest negative canonical address"
.if \L >= 4
    VA_OF a2, page_a, (1<<38)
    li a0, MODE_S
    la a1, s_load
    call run_in
    EXPECT a0, MARK_A, \b+12, "\name: S load at VA bit 38 (beyond Sv39)"
.endif
.if \L >= 5
    VA_OF a2, page_a, (1<<47)
    li a0, MODE_S
    la a1, s_load
    call run_in
    EXPECT a0, MARK_A, \b+13, "\name: S load at VA bit 47 (beyond Sv48)"
.endif
    EXPECT_VAR trap_count, 0, \b+14, "\name: valid translations must not trap"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_2M_BAD+0x10
    EXPECT_MTRAP 13, VA_2M_BAD+0x10, \b+15, "\name: misaligned 2 MiB superpage"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_1G_BAD+0x20
    EXPECT_MTRAP 13, VA_1G_BAD+0x20, \b+16, "\name: misaligned 1 GiB superpage"

    /* --- non-canonical addresses: bits above the top VA bit must copy it --- */
    RESUME_AT runin_return
    RUN MODE_S, s_load, (1<<(9*\L+11))
    EXPECT_MTRAP 13, (1<<(9*\L+11)), \b+17, "\name: non-canonical address (top VA bit set alone)"
    RESUME_AT runin_return
    RUN MODE_S, s_load, -(1<<(9*\L+11))-4096
    EXPECT_MTRAP 13, -(1<<(9*\L+11))-4096, \b+18, "\name: non-canonical address (top VA bit clear, upper bits set)"

    /* --- R/W/X for S --- */
    RESUME_AT runin_return
    li a3, 1
    RUN MODE_S, s_store, VA_RO+0x18
    EXPECT_MTRAP 15, VA_RO+0x18, \b+19, "\name: S store to a read-only page"
    RESUME_AT runin_return
    RUN MODE_S, s_amo, VA_RO+0x20
    EXPECT_MTRAP 15, VA_RO+0x20, \b+20, "\name: S AMO to a read-only page is a store fault"
    CLEAR_TRAPS
    RUN MODE_S, s_load, VA_RO
    EXPECT a0, MARK_A, \b+21, "\name: S load from a read-only page"
    EXPECT_VAR trap_count, 0, \b+22, "\name: S load from a read-only page must not trap"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_XO+0x10
    EXPECT_MTRAP 13, VA_XO+0x10, \b+23, "\name: S load from an execute-only page (MXR = 0)"
    MSTATUS_SET MSTATUS_MXR
    RUN MODE_S, s_loadw, VA_XO
    MSTATUS_CLEAR MSTATUS_MXR
    la t0, u_code_page
    lwu t1, 0(t0)
    EXPECT_REG a0, t1, \b+24, "\name: MXR = 1 makes an execute-only page readable"
    RESUME_AT runin_return
    JUMP MODE_S, VA_RW
    EXPECT_MTRAP 12, VA_RW, \b+25, "\name: S fetch from a non-executable page"
    JUMP MODE_S, VA_XO
    EXPECT a0, 0x55, \b+26, "\name: S fetch from an execute-only page"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_WO+8
    EXPECT_MTRAP 13, VA_WO+8, \b+27, "\name: S load from a W-without-R (reserved) PTE"
    RESUME_AT runin_return
    li a3, 1
    RUN MODE_S, s_store, VA_WO+16
    EXPECT_MTRAP 15, VA_WO+16, \b+28, "\name: S store to a W-without-R (reserved) PTE"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_NONE+0x28
    EXPECT_MTRAP 13, VA_NONE+0x28, \b+29, "\name: S load from an invalid PTE"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_PTR0
    EXPECT_MTRAP 13, VA_PTR0, \b+65, "\name: pointer PTE at the last level"
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_RSV
    EXPECT_MTRAP 13, VA_RSV, \b+66, "\name: PTE with reserved bit 60 set"

    /* --- U pages from S: only with SUM = 1, never executable --- */
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_URW
    EXPECT_MTRAP 13, VA_URW, \b+30, "\name: S load from a U page with SUM = 0"
    RESUME_AT runin_return
    li a3, 1
    RUN MODE_S, s_store, VA_URW+8
    EXPECT_MTRAP 15, VA_URW+8, \b+31, "\name: S store to a U page with SUM = 0"
    MSTATUS_SET MSTATUS_SUM
    CLEAR_TRAPS
    RUN MODE_S, s_load, VA_URW
    EXPECT a0, MARK_U, \b+32, "\name: S load from a U page with SUM = 1"
    RESUME_AT runin_return
    JUMP MODE_S, VA_UX
    EXPECT_MTRAP 12, VA_UX, \b+33, "\name: S fetch from a U page with SUM = 1"
    MSTATUS_CLEAR MSTATUS_SUM

    /* --- U mode --- */
    CLEAR_TRAPS
    RUN_U u_load, VA_URW
    EXPECT a0, MARK_U, \b+34, "\name: U load from a U page"
    RUN_U u_load, VA_URO
    EXPECT a0, MARK_U, \b+35, "\name: U load from a read-only U page"
    EXPECT_VAR trap_count, 0, \b+36, "\name: U accesses to U pages must not trap"
    U_RESUME
    li a3, 1
    RUN_U u_store, VA_URO+0x30
    EXPECT_MTRAP 15, VA_URO+0x30, \b+37, "\name: U store to a read-only U page"
    U_RESUME
    RUN_U u_load, VA_RW
    EXPECT_MTRAP 13, VA_RW, \b+38, "\name: U load from a non-U page"
    U_RESUME
    JUMP MODE_U, VA_URW
    EXPECT_MTRAP 12, VA_URW, \b+39, "\name: U fetch from a non-executable U page"
    U_RESUME
    JUMP MODE_U, VA_XO
    EXPECT_MTRAP 12, VA_XO, \b+40, "\name: U fetch from a non-U page"
    MSTATUS_SET MSTATUS_SUM
    U_RESUME
    RUN_U u_load, VA_RW+8
    MSTATUS_CLEAR MSTATUS_SUM
    EXPECT_MTRAP 13, VA_RW+8, \b+41, "\name: SUM does not let U read non-U pages"

    /* --- A and D are set in the in-memory PTE by the hardware --- */
    LOAD t0, pte_ad
    ld t1, 0(t0)
    andi t1, t1, PTE_A | PTE_D
    EXPECT t1, 0, \b+42, "\name: A/D PTE starts clean"
    CLEAR_TRAPS
    RUN MODE_S, s_load, VA_AD
    LOAD t0, pte_ad
    ld t1, 0(t0)
    andi t1, t1, PTE_A | PTE_D
    EXPECT t1, PTE_A, \b+43, "\name: a load sets A only (got = PTE A|D bits)"
    li a3, 9
    RUN MODE_S, s_store, VA_AD+8
    LOAD t0, pte_ad
    ld t1, 0(t0)
    andi t1, t1, PTE_A | PTE_D
    EXPECT t1, PTE_A | PTE_D, \b+44, "\name: a store sets D (got = PTE A|D bits)"
    LOAD t0, ad_page + 8
    EXPECT t0, 9, \b+45, "\name: store through the A/D page reaches memory"
    li a3, 3
    RUN MODE_S, s_store, VA_AD2
    LOAD t0, pte_ad2
    ld t1, 0(t0)
    andi t1, t1, PTE_A | PTE_D
    EXPECT t1, PTE_A|PTE_D, \b+67, "\name: a first store sets A and D (got = PTE A|D bits)"
    JUMP MODE_S, VA_AX
    EXPECT a0, 0x55, \b+46, "\name: S fetch from a page with A = 0"
    LOAD t0, pte_ax
    ld t1, 0(t0)
    andi t1, t1, PTE_A | PTE_D
    EXPECT t1, PTE_A, \b+47, "\name: a fetch sets A only (got = PTE A|D bits)"
    EXPECT_VAR trap_count, 0, \b+48, "\name: hardware A/D updates must not trap"

    /* --- sfence.vma makes a changed PTE visible (by address + ASID, then global) --- */
    sd s2, remap_args + 8, t1
    REMAP_SW s_remap, page_b
    EXPECT a0, MARK_A, \b+49, "\name: sfence: old mapping before the change"
    EXPECT a1, MARK_B, \b+50, "\name: sfence.vma va, asid: new mapping visible"
    REMAP_SW s_remap_all, page_a
    EXPECT a0, MARK_B, \b+51, "\name: sfence: second mapping before the change"
    EXPECT a1, MARK_A, \b+52, "\name: sfence.vma (all): restored mapping visible"
    /* a superpage remapped, fenced by another of its addresses: the one read is new too */
    la t0, page_a
    li t1, 0x200000
    add t0, t0, t1
    li t1, MARK_B
    sd t1, 0(t0)                /* page_a's place in the next 2 MiB */
    li t0, ((RAM_BASE + 0x200000) >> 12) << 10 | PTE_RW_AD
    sd t0, remap_args, t1
    li a0, MODE_S
    la a1, s_remap_other
    VA_OF a2, page_a, VA_2M
    LOAD a3, pte_2m
    call run_in
    EXPECT a0, MARK_A, \b+68, "\name: superpage: old mapping before the change"
    EXPECT a1, MARK_B, \b+69, "\name: sfence.vma of another page of a superpage: new mapping"
    li t0, (RAM_BASE >> 12) << 10 | PTE_RW_AD
    LOAD t1, pte_2m
    sd t0, 0(t1)
    sfence.vma

    /* --- ASIDs (s2, the run's, has bit 0 when any): a satp write to another ASID
     * needs no fence; sfence.vma x0, asid orders that ASID's mappings; a global one is
     * in every address space until sfence.vma drops it --- */
    beqz s2, .Lno_asids\@
    RUN MODE_S, s_load, VA_SW
    EXPECT a0, MARK_A, \b+70, "\name: ASIDs: first mapping"
    SET_PTE_SW page_b, PTE_RW_AD
    li t0, 1 << SATP_ASID_SHIFT
    xor t0, s0, t0
    csrw satp, t0               /* an ASID unused since the suite's full fence */
    RUN MODE_S, s_load, VA_SW
    EXPECT a0, MARK_B, \b+71, "\name: satp write to another ASID: its mapping, no fence"
    csrw satp, s0               /* back: MARK_A or MARK_B, both allowed */
    RUN MODE_S, s_load, VA_SW
    SET_PTE_SW page_a, PTE_RW_AD
    li a0, MODE_S
    la a1, s_fence_asid_load
    li a2, VA_SW
    mv a3, s2
    call run_in
    EXPECT a0, MARK_A, \b+72, "\name: sfence.vma x0, asid: that ASID's new mapping"
    SET_PTE_SW page_b, PTE_RW_AD | PTE_G
    sfence.vma
    RUN MODE_S, s_load, VA_SW
    EXPECT a0, MARK_B, \b+73, "\name: global mapping"
    li t0, 1 << SATP_ASID_SHIFT
    xor t0, s0, t0
    csrw satp, t0
    RUN MODE_S, s_load, VA_SW
    EXPECT a0, MARK_B, \b+74, "\name: global mapping under another ASID"
    SET_PTE_SW page_a, PTE_RW_AD | PTE_G
    li a0, MODE_S               /* a fence by ASID need not drop it: either page */
    la a1, s_fence_asid_load
    li a2, VA_SW
    xori a3, s2, 1
    call run_in
    SET_PTE_SW page_b, PTE_RW_AD | PTE_G
    REMAP_SW s_remap_all, page_a
    EXPECT a1, MARK_A, \b+75, "\name: sfence.vma (all) drops a global mapping"
    csrw satp, s0
    sfence.vma
.Lno_asids\@:

    /* --- MPRV: M-mode loads and stores translate with the privilege in MPP --- */
    MSTATUS_CLEAR MSTATUS_MPP
    MSTATUS_SET (MODE_S << 11) | MSTATUS_MPRV
    li t1, VA_RW
    li t2, 0x4321
    ld a4, 0(t1)
    sd t2, 16(t1)
    MSTATUS_CLEAR MSTATUS_MPRV
    EXPECT a4, MARK_A, \b+53, "\name: MPRV + MPP = S: M load translated"
    LOAD t0, page_a + 16
    EXPECT t0, 0x4321, \b+54, "\name: MPRV + MPP = S: M store translated"
    CLEAR_TRAPS
    la t0, mprv_fault_hook
    sd t0, trap_hook, t1
    MSTATUS_CLEAR MSTATUS_MPP
    MSTATUS_SET MSTATUS_MPRV
    li t1, VA_RW + 0x40
    .option push
    .option norvc               /* the hook resumes 4 bytes on */
    ld a4, 0(t1)
    .option pop
    sd zero, trap_hook, t0
    EXPECT_MTRAP 13, VA_RW+0x40, \b+55, "\name: MPRV + MPP = U: M load from a non-U page faults"
    EXPECT_VAR trap_count, 1, \b+56, "\name: MPRV fault: one trap"

    /* --- page faults delegated to S: stvec, scause, stval; M sees nothing --- */
    li t0, (1 << 12) | (1 << 13) | (1 << 15)
    csrw medeleg, t0
    CLEAR_TRAPS
    RESUME_AT runin_return
    RUN MODE_S, s_load, VA_NONE+8
    EXPECT_STRAP 13, VA_NONE+8, \b+57, "\name: delegated S load page fault"
    RESUME_AT runin_return
    li a3, 1
    RUN MODE_S, s_store, VA_RO+8
    EXPECT_STRAP 15, VA_RO+8, \b+58, "\name: delegated S store page fault"
    RESUME_AT runin_return
    JUMP MODE_S, VA_RW+4
    EXPECT_STRAP 12, VA_RW+4, \b+59, "\name: delegated S fetch page fault"
    U_RESUME
    RUN_U u_load, VA_RW
    EXPECT_STRAP 13, VA_RW, \b+60, "\name: delegated U load page fault"
    U_RESUME
    li a3, 1
    RUN_U u_store, VA_URO+8
    EXPECT_STRAP 15, VA_URO+8, \b+61, "\name: delegated U store page fault"
    RESUME_AT runin_return
    RUN MODE_S, s_load, (1<<(9*\L+11))
    EXPECT_STRAP 13, (1<<(9*\L+11)), \b+62, "\name: delegated non-canonical load"
    EXPECT_VAR strap_count, 6, \b+63, "\name: delegated faults: six S traps"
    EXPECT_VAR trap_count, 0, \b+64, "\name: delegated faults must not reach M"
    csrw medeleg, zero
    csrw satp, zero
    sfence.vma
.endm

    .text
    .globl main
main:
    addi sp, sp, -16
    sd ra, 0(sp)
    li t0, MARK_A
    sd t0, page_a, t1
    li t0, MARK_B
    sd t0, page_b, t1
    li t0, MARK_U
    sd t0, udata_page, t1

    SUITE 0, 3, 8, Sv39
    SUITE 75, 4, 9, Sv48
    SUITE 150, 5, 10, Sv57

    ld ra, 0(sp)
    addi sp, sp, 16
    ret

/*
 * build_tables(a0 = levels): fresh tables in pt_pool with the layout above.
 * RAM is identity-mapped by one 1 GiB page (RWX, not U) so the harness and the
 * helpers run unchanged in S.
 */
build_tables:
    addi sp, sp, -32
    sd ra, 0(sp)
    sd s0, 8(sp)
    sd s1, 16(sp)
    mv s0, a0
    sd a0, pt_levels, t0
    la t0, pt_pool
    li t1, POOL_PAGES * 4096
    add t1, t0, t1
1:  sd zero, 0(t0)
    addi t0, t0, 8
    bltu t0, t1, 1b
    la t0, pt_pool
    sd t0, pt_root, t1
    li t1, 4096
    add t0, t0, t1
    sd t0, pt_next, t1

    li a0, RAM_BASE
    li a1, RAM_BASE
    li a2, PTE_RWX_AD
    li a3, 2
    call map_page
    li a0, VA_1G
    li a1, RAM_BASE
    li a2, PTE_RW_AD
    li a3, 2
    call map_page
    li a0, VA_1G_BAD
    li a1, RAM_BASE + 0x200000
    li a2, PTE_RW_AD
    li a3, 2
    call map_page
    /* lowest negative canonical address: -(1 << (9 * levels + 11)) */
    li t0, 9
    mul t0, t0, s0
    addi t0, t0, 11
    li a0, 1
    sll a0, a0, t0
    neg a0, a0
    li a1, RAM_BASE
    li a2, PTE_RW_AD
    li a3, 2
    call map_page
    /* VA bit 9k+11 for each level k below the top: beyond the reach of smaller modes */
    li s1, 3
2:  bgeu s1, s0, 3f
    li t0, 9
    mul t0, t0, s1
    addi t0, t0, 11
    li a0, 1
    sll a0, a0, t0
    li a1, RAM_BASE
    li a2, PTE_RW_AD
    li a3, 2
    call map_page
    addi s1, s1, 1
    j 2b
3:
    li a0, VA_2M
    li a1, RAM_BASE
    li a2, PTE_RW_AD
    li a3, 1
    call map_page
    sd a0, pte_2m, t0
    li a0, VA_2M_BAD
    li a1, RAM_BASE + 0x1000
    li a2, PTE_RW_AD
    li a3, 1
    call map_page

    li a0, VA_RW
    la a1, page_a
    li a2, PTE_RW_AD
    call map_4k
    li a0, VA_RO
    la a1, page_a
    li a2, PTE_V | PTE_R | PTE_A
    call map_4k
    li a0, VA_XO
    la a1, u_code_page
    li a2, PTE_V | PTE_X | PTE_A
    call map_4k
    li a0, VA_WO
    la a1, page_a
    li a2, PTE_V | PTE_W | PTE_A | PTE_D
    call map_4k
    li a0, VA_URW
    la a1, udata_page
    li a2, PTE_RW_AD | PTE_U
    call map_4k
    li a0, VA_UX
    la a1, u_code_page
    li a2, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A
    call map_4k
    li a0, VA_AD
    la a1, ad_page
    li a2, PTE_V | PTE_R | PTE_W
    call map_4k
    sd a0, pte_ad, t0
    li a0, VA_SW
    la a1, page_a
    li a2, PTE_RW_AD
    call map_4k
    sd a0, pte_sw, t0
    li a0, VA_URO
    la a1, udata_page
    li a2, PTE_V | PTE_R | PTE_U | PTE_A
    call map_4k
    li a0, VA_AX
    la a1, u_code_page
    li a2, PTE_V | PTE_X
    call map_4k
    sd a0, pte_ax, t0
    li a0, VA_PTR0
    la a1, page_a
    li a2, PTE_V | PTE_A | PTE_D
    call map_4k
    li a0, VA_RSV
    la a1, page_a
    li a2, PTE_RW_AD
    call map_4k
    ld t1, 0(a0)
    li t2, 1 << 60
    or t1, t1, t2
    sd t1, 0(a0)
    li a0, VA_AD2
    la a1, ad_page
    li a2, PTE_V | PTE_R | PTE_W
    call map_4k
    sd a0, pte_ad2, t0
    fence rw, rw

    ld ra, 0(sp)
    ld s0, 8(sp)
    ld s1, 16(sp)
    addi sp, sp, 32
    ret

map_4k:
    li a3, 0
    /* fall through */
/*
 * map_page(a0 = va, a1 = pa, a2 = PTE flags, a3 = leaf level): writes the leaf PTE,
 * allocating intermediate tables from pt_next; returns a0 = the PTE's address.
 */
map_page:
    srli a1, a1, 12
    slli a1, a1, 10
    or a1, a1, a2
    LOAD t0, pt_root
    LOAD t1, pt_levels
    addi t1, t1, -1
1:  li t2, 9
    mul t2, t2, t1
    addi t2, t2, 12
    srl t3, a0, t2
    andi t3, t3, 511
    slli t3, t3, 3
    add t3, t0, t3              /* t3 = this level's PTE */
    beq t1, a3, 3f
    ld t4, 0(t3)
    bnez t4, 2f
    la t2, pt_next
    ld t0, 0(t2)
    li t4, 4096
    add t4, t0, t4
    sd t4, 0(t2)
    srli t4, t0, 12
    slli t4, t4, 10
    ori t4, t4, PTE_V
    sd t4, 0(t3)
2:  srli t4, t4, 10
    slli t0, t4, 12
    addi t1, t1, -1
    j 1b
3:  sd a1, 0(t3)
    mv a0, t3
    ret

/* M hook for the MPRV fault: MPRV off (so M's own accesses are physical again), skip the load. */
mprv_fault_hook:
    li t0, MSTATUS_MPRV
    csrc mstatus, t0
    addi a1, a1, 4
    csrw mepc, a1
    ret

/* ---- S helpers, run identity-mapped through run_in() ---- */
s_load:
    ld a0, 0(a0)
    ret
s_loadw:
    lwu a0, 0(a0)
    ret
s_store:
    sd a1, 0(a0)
    ret
s_amo:
    amoadd.d a0, a0, (a0)
    ret
/* a0 = va, a1 = PTE address; remap_args = new PTE, ASID. Returns the value before and after. */
s_remap:
    la t2, remap_args
    ld t3, 0(t2)
    ld t4, 8(t2)
    ld t0, 0(a0)
    sd t3, 0(a1)
    sfence.vma a0, t4
    ld a1, 0(a0)
    mv a0, t0
    ret
/* As s_remap, but the fence names the next page (of a superpage mapping a0's). */
s_remap_other:
    la t2, remap_args
    ld t3, 0(t2)
    ld t4, 8(t2)
    ld t0, 0(a0)
    sd t3, 0(a1)
    li t5, 0x1000
    add t5, a0, t5
    sfence.vma t5, t4
    ld a1, 0(a0)
    mv a0, t0
    ret
/* a0 = va, a1 = ASID: sfence.vma x0, asid, then the load. */
s_fence_asid_load:
    sfence.vma x0, a1
    ld a0, 0(a0)
    ret
s_remap_all:
    la t2, remap_args
    ld t3, 0(t2)
    ld t0, 0(a0)
    sd t3, 0(a1)
    sfence.vma
    ld a1, 0(a0)
    mv a0, t0
    ret

/*
 * Mapped at VA_UX (U, RX), VA_XO (S, X only) and VA_AX: position-independent,
 * no stack, back to M through run_in's ecall protocol.
 */
    .balign 4096
    .option push
    .option norvc
u_code_page:
u_first:
    li a0, 0x55
u_ret:
    li a7, RUNIN_MAGIC
    ecall
u_load:
    ld a0, 0(a0)
    j u_ret
u_store:
    sd a1, 0(a0)
    j u_ret
    .option pop
    .balign 4096

    .data
    .align 3
pt_levels:  .dword 0
pt_root:    .dword 0
pt_next:    .dword 0
pte_ad:     .dword 0
pte_ax:     .dword 0
pte_ad2:    .dword 0
pte_sw:     .dword 0
pte_2m:     .dword 0
remap_args: .dword 0, 0

    .bss
    .align 12
pt_pool:    .space POOL_PAGES * 4096
page_a:     .space 4096
page_b:     .space 4096
udata_page: .space 4096
ad_page:    .space 4096
