/*
 * The x86-64 emitter of the translator (see jit_emit.h). Register use inside translated
 * code: rbx = &h->arch.x[0], r12 = h, r13 = guest pc of the current block's first
 * instruction, r14 = instructions retired since entry, r15 = the budget, rbp = the data
 * TLB of h->mmu_ctx (&h->tlb[h->mmu_ctx]: only a trap or an instruction translated code
 * leaves to the run loop changes the context, and both end the run of translated code).
 * Each guest instruction becomes a few host instructions on the in-memory register file.
 */
#include "cpu/jit_emit.h"

#if defined(__x86_64__)

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/mmu.h"

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R12 = 12, R13 = 13, R14 = 14, R15 = 15 };

/* Bytes of the entry sequence; chained jumps enter a block just after it. */
#define PROLOGUE_SIZE 51

static void emit8(struct emitter *e, uint8_t b)
{
    if (e->p < e->end)
        *e->p++ = b;
    else
        e->overflow = true;
}

static void emit32(struct emitter *e, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        emit8(e, v >> (8 * i));
}

static void emit64(struct emitter *e, uint64_t v)
{
    emit32(e, (uint32_t)v);
    emit32(e, (uint32_t)(v >> 32));
}

static void emit_rex(struct emitter *e, bool w, int reg, int rm)
{
    uint8_t rex = 0x40 | (w << 3) | ((reg >> 3) << 2) | (rm >> 3);
    if (rex != 0x40)
        emit8(e, rex);
}

static void emit_op(struct emitter *e, uint32_t op)
{
    if (op > 0xff)
        emit8(e, op >> 8);
    emit8(e, op & 0xff);
}

/* op reg, [base + disp32] (reg may be an opcode extension /n). */
static void emit_mem(struct emitter *e, bool w, uint32_t op, int reg, int base, int32_t disp)
{
    emit_rex(e, w, reg, base);
    emit_op(e, op);
    emit8(e, 0x80 | ((reg & 7) << 3) | (base & 7));
    if ((base & 7) == RSP)
        emit8(e, 0x24);
    emit32(e, (uint32_t)disp);
}

/* op reg, rm (register direct). */
static void emit_reg(struct emitter *e, bool w, uint32_t op, int reg, int rm)
{
    emit_rex(e, w, reg, rm);
    emit_op(e, op);
    emit8(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

#define XREG(i) ((int32_t)(8 * (i)))

static void load_x(struct emitter *e, int reg, unsigned i)
{
    emit_mem(e, true, 0x8b, reg, RBX, XREG(i));
}

static void store_x(struct emitter *e, int reg, unsigned i)
{
    if (i != 0)
        emit_mem(e, true, 0x89, reg, RBX, XREG(i));
}

/* reg = r13 + off (the guest pc of an instruction in this block). */
static void guest_pc(struct emitter *e, int reg, int32_t off)
{
    emit_mem(e, true, 0x8d, reg, R13, off);
}

static void add_imm(struct emitter *e, bool w, int reg, int32_t imm)
{
    emit_reg(e, w, 0x81, 0, reg);
    emit32(e, (uint32_t)imm);
}

static void sign_extend_eax(struct emitter *e)
{
    emit_reg(e, true, 0x63, RAX, RAX); /* movsxd rax, eax */
}

/* mov reg, imm64 */
static void move_imm64(struct emitter *e, int reg, uint64_t imm)
{
    emit_rex(e, true, 0, reg);
    emit8(e, 0xb8 + (reg & 7));
    emit64(e, imm);
}

static void call(struct emitter *e, const void *fn)
{
    move_imm64(e, RAX, (uint64_t)(uintptr_t)fn);
    emit8(e, 0xff);
    emit8(e, 0xd0); /* call rax */
}

void jit_emit_prologue(struct emitter *e)
{
    uint8_t *start = e->p;
    emit8(e, 0x53);                      /* push rbx */
    emit8(e, 0x41), emit8(e, 0x54);      /* push r12 */
    emit8(e, 0x41), emit8(e, 0x55);      /* push r13 */
    emit8(e, 0x41), emit8(e, 0x56);      /* push r14 */
    emit8(e, 0x41), emit8(e, 0x57);      /* push r15 */
    emit8(e, 0x55);                      /* push rbp */
    emit_reg(e, true, 0x83, 5, RSP), emit8(e, 8); /* sub rsp, 8: calls from here see it 16-aligned */
    emit_reg(e, true, 0x89, RDI, R12);   /* mov r12, rdi */
    emit_mem(e, false, 0x8b, RAX, RDI, (int32_t)offsetof(struct hart, mmu_ctx));
    emit_reg(e, false, 0x69, RAX, RAX), emit32(e, (uint32_t)sizeof(struct tlb));
    emit_reg(e, true, 0x01, RDI, RAX);   /* rax = h + ctx * sizeof */
    emit_mem(e, true, 0x8d, RBP, RAX, (int32_t)offsetof(struct hart, tlb)); /* rbp = its TLB */
    emit_reg(e, true, 0x89, RSI, RBX);   /* mov rbx, rsi */
    emit_reg(e, true, 0x89, RDX, R13);   /* mov r13, rdx */
    emit_reg(e, true, 0x89, RCX, R15);   /* mov r15, rcx */
    emit_reg(e, false, 0x31, R14, R14);  /* xor r14d, r14d */
    if (!e->overflow && e->p - start != PROLOGUE_SIZE)
        abort(); /* chained jumps enter at entry + PROLOGUE_SIZE: the two must agree */
}

static void epilogue(struct emitter *e)
{
    emit_reg(e, true, 0x83, 0, RSP), emit8(e, 8); /* add rsp, 8 */
    emit8(e, 0x5d);                 /* pop rbp */
    emit8(e, 0x41), emit8(e, 0x5f); /* pop r15 */
    emit8(e, 0x41), emit8(e, 0x5e); /* pop r14 */
    emit8(e, 0x41), emit8(e, 0x5d); /* pop r13 */
    emit8(e, 0x41), emit8(e, 0x5c); /* pop r12 */
    emit8(e, 0x5b);                 /* pop rbx */
    emit8(e, 0xc3);                 /* ret */
}

/* rax = r14 + index, tagged with kind (and link), then return. */
static void exit_with(struct emitter *e, enum jit_exit_kind kind, unsigned link, unsigned index)
{
    emit_mem(e, true, 0x8d, RAX, R14, (int32_t)index); /* lea rax, [r14 + index] */
    uint64_t tag = (uint64_t)kind << 32 | (uint64_t)link << 36;
    if (tag) {
        move_imm64(e, RDX, tag);
        emit_reg(e, true, 0x09, RDX, RAX); /* or rax, rdx */
    }
    epilogue(e);
}

/* A forward jcc rel32 to be patched; returns the patch site. */
static uint8_t *jump_forward(struct emitter *e, uint8_t cc)
{
    emit8(e, 0x0f), emit8(e, cc);
    uint8_t *site = e->p;
    emit32(e, 0);
    return site;
}

static void patch_here(struct emitter *e, uint8_t *site)
{
    if (e->overflow)
        return;
    uint32_t rel = (uint32_t)(e->p - (site + 4));
    memcpy(site, &rel, 4);
}

/*
 * What the run loop's block_lookup does, inline, for the guest pc in rax (kept): the
 * fetch TLB of the hart's current context, then the block cache slot of the host
 * address. When that slot holds a translated block starting there whose page's code is
 * unchanged, and the budget allows, enters it; else jumps to the returned patch sites.
 * Every check is the one the run loop makes, so what invalidates its lookup (satp,
 * privilege, sfence.vma, remaps: the TLB; stores into code: the generation) also
 * invalidates this one.
 */
static unsigned lookup_and_enter(struct emitter *e, const struct translation *t, uint8_t **slow)
{
    _Static_assert(sizeof(struct tlb_entry) == 16, "the TLB index is shifted by 4");
    _Static_assert(MMU_CTX_M == PRIV_M, "M's context is its privilege number");
    int32_t fetch = (int32_t)(offsetof(struct hart, tlb) + offsetof(struct tlb, fetch));
    unsigned n = 0;
    emit_reg(e, true, 0x39, R15, R14);                                          /* cmp r14, r15 */
    slow[n++] = jump_forward(e, 0x83);                                          /* jae slow */
    /* edx = mmu_fetch_ctx(h): priv, plus 4 with V when below M */
    emit_mem(e, false, 0x8b, RDX, R12, (int32_t)offsetof(struct hart, arch.priv));
    emit_reg(e, false, 0x83, 7, RDX), emit8(e, PRIV_M);                          /* cmp edx, M */
    emit8(e, 0x74);                                                             /* je: M's own */
    uint8_t *in_m = e->p;
    emit8(e, 0);
    uint8_t *below_m = e->p;
    emit_mem(e, false, 0x8b, RCX, R12, (int32_t)offsetof(struct hart, arch.virt));
    emit_reg(e, false, 0xc1, 4, RCX), emit8(e, 2);                              /* shl ecx, 2 */
    emit_reg(e, false, 0x01, RCX, RDX);                                         /* add edx, ecx */
    if (!e->overflow)
        *in_m = (uint8_t)(e->p - below_m);
    emit_reg(e, true, 0x69, RDX, RDX), emit32(e, (uint32_t)sizeof(struct tlb)); /* rdx *= sizeof */
    emit_reg(e, true, 0x89, RAX, RCX);                                          /* rcx = pc */
    emit_reg(e, true, 0xc1, 5, RCX), emit8(e, 12);                              /* shr rcx, 12 */
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, TLB_SIZE - 1);                  /* and ecx, mask */
    emit_reg(e, false, 0xc1, 4, RCX), emit8(e, 4);                              /* shl ecx, 4 */
    emit_reg(e, true, 0x01, RCX, RDX);                                          /* rdx += rcx */
    emit_reg(e, true, 0x01, R12, RDX);                                          /* rdx += h */
    emit_reg(e, true, 0x89, RAX, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff001u);                    /* page | bit 0 */
    emit_mem(e, true, 0x3b, RCX, RDX, fetch + (int32_t)offsetof(struct tlb_entry, tag));
    slow[n++] = jump_forward(e, 0x85);                                          /* TLB miss */
    emit_mem(e, true, 0x8b, RSI, RDX, fetch + (int32_t)offsetof(struct tlb_entry, addend));
    emit_reg(e, true, 0x01, RAX, RSI);                                          /* rsi = host */
    /* rcx = block_slot(h->blocks, host) */
    emit_reg(e, true, 0x89, RSI, RCX);
    emit_reg(e, true, 0xd1, 5, RCX);                                            /* shr rcx, 1 */
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, BLOCK_CACHE_SIZE - 1);
    emit_reg(e, true, 0x69, RCX, RCX), emit32(e, (uint32_t)sizeof(struct block));
    emit_mem(e, true, 0x03, RCX, R12, (int32_t)offsetof(struct hart, blocks));
    emit_mem(e, true, 0x3b, RSI, RCX, (int32_t)offsetof(struct block, host_pc));
    slow[n++] = jump_forward(e, 0x85);                                          /* another block */
    emit_mem(e, true, 0x8b, R8, RCX, (int32_t)offsetof(struct block, code));
    emit_reg(e, true, 0x85, R8, R8);
    slow[n++] = jump_forward(e, 0x84);                                          /* not translated */
    emit_mem(e, false, 0x8b, RDX, RCX, (int32_t)offsetof(struct block, page));
    move_imm64(e, RDI, (uint64_t)(uintptr_t)t->ram->code_gen);
    emit8(e, 0x8b), emit8(e, 0x14), emit8(e, 0x97);                             /* edx = code_gen[edx] */
    emit_mem(e, false, 0x3b, RDX, RCX, (int32_t)offsetof(struct block, gen));
    slow[n++] = jump_forward(e, 0x85);                                          /* its code changed */
    emit_reg(e, true, 0x89, RAX, R13);                                          /* r13 = its pc */
    emit_reg(e, true, 0x83, 0, R8), emit8(e, PROLOGUE_SIZE);
    emit8(e, 0x41), emit8(e, 0xff), emit8(e, 0xe0);                             /* jmp r8 */
    return n;
}

/*
 * Leaves the block for guest pc rax after `retired` of its instructions. When the
 * target lies in the block's page (target_offset in [0, 0x1000)) and the budget allows
 * and the page's code is unchanged, jumps on through the link's chain site: to the exit
 * just below until jit_chain() points it at the successor's translation.
 */
static void exit_next(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                      int64_t target_offset)
{
    if (retired)
        add_imm(e, true, R14, (int32_t)retired);
    uint8_t *slow[8];
    unsigned nslow = 0;
    bool chainable = target_offset >= 0 && target_offset < 0x1000;
    const struct block *b = t->b;
    /* The page's code was current on entry to this block (the run loop, a chained
     * predecessor or the inline lookup checked it); only a store since can have changed
     * it (another hart's or a device's change is seen once the budget runs out, before
     * the fence.i that must follow it). */
    if (chainable) {
        emit_reg(e, true, 0x39, R15, R14);                            /* cmp r14, r15 */
        slow[nslow++] = jump_forward(e, 0x83);                        /* jae slow */
        if (e->stored) {
            move_imm64(e, RSI, (uint64_t)(uintptr_t)t->gen);
            emit_mem(e, false, 0x81, 7, RSI, 0), emit32(e, b->gen);  /* cmp dword [rsi], gen */
            slow[nslow++] = jump_forward(e, 0x85);
        }
    }
    if (chainable && (uint64_t)target_offset == (b->host_pc & 0xfff)) {
        /* A loop on this block: same translation, same r13. */
        emit8(e, 0xe9);                                               /* jmp past the prologue */
        emit32(e, (uint32_t)(e->start + PROLOGUE_SIZE - (e->p + 4)));
    }
    uint8_t *site = NULL;
    if (chainable && (uint64_t)target_offset != (b->host_pc & 0xfff)) {
        emit_reg(e, true, 0x89, RAX, R13);                            /* r13 = the successor's pc */
        emit8(e, 0xe9);                                               /* jmp rel32: the chain site */
        site = e->p;
        emit32(e, 0);                                                 /* falls through until chained */
        if (!e->overflow)
            t->b->chain_site[link] = site;
    }
    if (!chainable)
        nslow += lookup_and_enter(e, t, slow + nslow);
    for (unsigned i = 0; i < nslow; i++)
        patch_here(e, slow[i]);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc));
    move_imm64(e, RDX, (uint64_t)(uintptr_t)t->b);
    emit_mem(e, true, 0x89, RDX, R12, (int32_t)offsetof(struct hart, jit_exit_block));
    if (site) {
        move_imm64(e, RDX, (uint64_t)(uintptr_t)site);
        emit_mem(e, true, 0x89, RDX, R12, (int32_t)offsetof(struct hart, jit_exit_site));
    }
    exit_with(e, JIT_EXIT_NEXT, site ? link + 1 : 0, 0);
}

const void *jit_emit_data(struct emitter *e, const void *data, size_t n)
{
    size_t pad = (size_t)-(uintptr_t)(e->p + 5) & 7; /* the copy 8-byte aligned */
    emit8(e, 0xe9);                                  /* jmp over the data */
    emit32(e, (uint32_t)(pad + n));
    for (size_t i = 0; i < pad; i++)
        emit8(e, 0xcc);
    const uint8_t *copy = e->p;
    for (size_t i = 0; i < n; i++)
        emit8(e, ((const uint8_t *)data)[i]);
    return copy;
}

void jit_emit_patch_chain(void *site, const void *to)
{
    /* rel32 from the end of the jmp to past the target's prologue */
    uint32_t rel = (uint32_t)((const uint8_t *)to + PROLOGUE_SIZE - ((uint8_t *)site + 4));
    memcpy(site, &rel, 4);
}

/* ---- the operations of jit_emit.h ---- */

static void fault_check(struct emitter *e, unsigned index)
{
    /* cmp byte [r12 + jit_fault], 0; je over; exit FAULT */
    emit_mem(e, false, 0x80, 7, R12, (int32_t)offsetof(struct hart, jit_fault));
    emit8(e, 0);
    emit8(e, 0x74);
    uint8_t *patch = e->p;
    emit8(e, 0);
    uint8_t *start = e->p;
    exit_with(e, JIT_EXIT_FAULT, 0, index);
    if (!e->overflow)
        *patch = (uint8_t)(e->p - start);
}

/* helper(h, rsi, rdx) with h->arch.pc at the instruction (the epc of a fault), then exits
 * with JIT_EXIT_FAULT if the helper set h->jit_fault. */
static void call_at(struct emitter *e, unsigned i, int32_t off, const void *helper)
{
    guest_pc(e, RAX, off);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc));
    emit_reg(e, true, 0x89, R12, RDI); /* mov rdi, r12 */
    call(e, helper);
    fault_check(e, i);
}

/* [rcx + rsi] as the memory operand of op with register reg. */
static void emit_rcx_rsi(struct emitter *e, bool w, bool size16, uint32_t op, int reg)
{
    if (size16)
        emit8(e, 0x66);
    emit_rex(e, w, reg, 0);
    emit_op(e, op);
    emit8(e, 0x04 | ((reg & 7) << 3)); /* mod 00, rm = SIB */
    emit8(e, 0x31);                    /* base rcx, index rsi, scale 1 */
}

/* op reg, [rbp + rax + disp32]: an entry of the data TLB (rax: its byte offset). */
static void emit_tlb_entry(struct emitter *e, uint32_t op, int reg, int32_t disp)
{
    emit_rex(e, true, reg, 0);
    emit_op(e, op);
    emit8(e, 0x84 | ((reg & 7) << 3)); /* mod 10, rm = SIB */
    emit8(e, 0x05);                    /* base rbp, index rax, scale 1 */
    emit32(e, (uint32_t)disp);
}

/*
 * The MMU's TLB hit path, inline: rsi = guest virtual address. Jumps to the returned
 * patch sites (the slow path) on a miss or a misaligned access; on a hit leaves the
 * host address as rcx + rsi.
 */
static unsigned tlb_lookup(struct emitter *e, bool write, unsigned size, uint8_t **miss)
{
    _Static_assert(sizeof(struct tlb_entry) == 16 && TLB_BITS <= 20, "the index is (va >> 8) & mask << 4");
    int32_t table = (int32_t)(write ? offsetof(struct tlb, write) : offsetof(struct tlb, read));
    unsigned n = 0;
    emit_reg(e, false, 0x89, RSI, RAX);                                           /* eax = va */
    emit_reg(e, false, 0xc1, 5, RAX), emit8(e, 8);                                /* shr eax, 8 */
    emit_reg(e, false, 0x81, 4, RAX), emit32(e, (TLB_SIZE - 1) << 4);             /* and eax, mask << 4 */
    /* The page bits and the access's alignment bits against the tag (whose low bits are
     * clear): a misaligned access, the only kind that can cross the page, takes the
     * slow path through the same compare. */
    emit_reg(e, true, 0x89, RSI, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff000u | (size - 1));         /* and rcx, mask */
    emit_tlb_entry(e, 0x3b, RCX, table + (int32_t)offsetof(struct tlb_entry, tag));
    miss[n++] = jump_forward(e, 0x85);                                            /* miss or misaligned */
    emit_tlb_entry(e, 0x8b, RCX, table + (int32_t)offsetof(struct tlb_entry, addend));
    return n;
}

/*
 * Given eax = the page's code extent (lo | hi << 16, 0 for none) and esi = the access's
 * address, adds a jump to the slow path (which invalidates the page's code) when the
 * store's bytes overlap [lo, hi): data next to code keeps the inline path, as
 * guest_ram_note_store() does. The address's page offset is the guest's: RAM and TLB
 * mappings are page-aligned.
 */
static void code_store_check(struct emitter *e, unsigned size, uint8_t **slow, unsigned *nslow)
{
    uint8_t *fast[2];
    emit_reg(e, false, 0x85, RAX, RAX);
    fast[0] = jump_forward(e, 0x84);                              /* no code on the page */
    emit_reg(e, false, 0x89, RSI, RDI);
    emit_reg(e, false, 0x81, 4, RDI), emit32(e, 0xfff);           /* edi = page offset */
    emit_reg(e, false, 0x89, RAX, R8);
    emit_reg(e, false, 0xc1, 5, R8), emit8(e, 16);                /* r8d = hi */
    emit_reg(e, false, 0x39, R8, RDI);
    fast[1] = jump_forward(e, 0x83);                              /* offset >= hi */
    emit_reg(e, false, 0x0fb7, RAX, RAX);                         /* eax = lo */
    add_imm(e, false, RDI, (int32_t)size);
    emit_reg(e, false, 0x39, RAX, RDI);
    slow[(*nslow)++] = jump_forward(e, 0x87);                     /* offset + size > lo */
    patch_here(e, fast[0]);
    patch_here(e, fast[1]);
}

void jit_emit_access(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                     int32_t off, unsigned size, bool sign, bool store, const void *helper)
{
    uint8_t *slow[8];
    unsigned nslow;
    load_x(e, RSI, d->rs1);
    if (d->imm)
        add_imm(e, true, RSI, d->imm);
    if (store)
        load_x(e, RDX, d->rs2);
    nslow = tlb_lookup(e, store, size, slow);
    if (store) {
        /* What mem_store does besides the write: reservations, cached code on the page. */
        move_imm64(e, RAX, (uint64_t)(uintptr_t)&mmu_reservations_active);
        emit_mem(e, false, 0x83, 7, RAX, 0), emit8(e, 0);                     /* cmp dword [rax], 0 */
        slow[nslow++] = jump_forward(e, 0x85);
        /* code_extent[(host - ram) >> 12] as (code_extent - (ram >> 12))[host >> 12]: RAM
         * is page-aligned (mmap). */
        uintptr_t extent_by_host_page = (uintptr_t)t->ram->code_extent -
                                        ((uintptr_t)t->ram->host >> 12) * sizeof(*t->ram->code_extent);
        emit_rcx_rsi(e, true, false, 0x8d, RAX);                               /* lea rax, [rcx+rsi] */
        emit_reg(e, true, 0xc1, 5, RAX), emit8(e, 12);                         /* host page number */
        move_imm64(e, RDI, (uint64_t)extent_by_host_page);
        emit8(e, 0x8b), emit8(e, 0x04), emit8(e, 0x87);                        /* eax = extent [lo, hi) */
        code_store_check(e, size, slow, &nslow);
        switch (size) {
        case 1: emit_rcx_rsi(e, false, false, 0x88, RDX); break;
        case 2: emit_rcx_rsi(e, false, true, 0x89, RDX); break;
        case 4: emit_rcx_rsi(e, false, false, 0x89, RDX); break;
        default: emit_rcx_rsi(e, true, false, 0x89, RDX); break;
        }
    } else {
        switch (size) {
        case 1: emit_rcx_rsi(e, sign, false, sign ? 0x0fbe : 0x0fb6, RAX); break;
        case 2: emit_rcx_rsi(e, sign, false, sign ? 0x0fbf : 0x0fb7, RAX); break;
        case 4: emit_rcx_rsi(e, sign, false, sign ? 0x63 : 0x8b, RAX); break;
        default: emit_rcx_rsi(e, true, false, 0x8b, RAX); break;
        }
    }
    struct cold_access *c = &e->cold[e->ncold++];
    memcpy(c->from, slow, nslow * sizeof(*slow));
    c->nfrom = nslow;
    c->i = i;
    c->off = off;
    c->helper = helper;
    c->resume = e->p;
    if (!store)
        store_x(e, RAX, d->rd);
}

void jit_emit_cold(struct emitter *e)
{
    for (unsigned k = 0; k < e->ncold; k++) {
        const struct cold_access *c = &e->cold[k];
        for (unsigned n = 0; n < c->nfrom; n++)
            patch_here(e, c->from[n]);
        /* The MMU in C (page walks, MMIO, faults); rsi and rdx still hold the operands,
         * a load's value comes back in rax. */
        call_at(e, c->i, c->off, c->helper);
        emit8(e, 0xe9);
        emit32(e, (uint32_t)(c->resume - (e->p + 4)));
    }
}

void jit_emit_call(struct emitter *e, unsigned rd, unsigned rs1, unsigned rs2,
                   uint64_t (*fn)(uint64_t, uint64_t))
{
    load_x(e, RDI, rs1);
    load_x(e, RSI, rs2);
    call(e, (const void *)fn);
    store_x(e, RAX, rd);
}

/* setcc al from a signed (lt) or unsigned compare already made, zero-extended into rd. */
static void store_cc(struct emitter *e, uint8_t cc, unsigned rd)
{
    emit8(e, 0x0f), emit8(e, cc), emit8(e, 0xc0);   /* setcc al */
    emit8(e, 0x0f), emit8(e, 0xb6), emit8(e, 0xc0); /* movzx eax, al */
    store_x(e, RAX, rd);
}

/* x86 opcode of the two-operand forms (op reg, r/m), the shift group /n and setcc codes. */
static uint32_t rm_opcode(enum jit_alu op)
{
    switch (op) {
    case JIT_SUB: return 0x2b;
    case JIT_AND: return 0x23;
    case JIT_OR: return 0x0b;
    case JIT_XOR: return 0x33;
    case JIT_MUL: return 0x0faf;
    default: return 0x03; /* add */
    }
}

static unsigned shift_ext(enum jit_alu op)
{
    return op == JIT_SLL ? 4 : op == JIT_SRL ? 5 : 7;
}

void jit_emit_alu(struct emitter *e, enum jit_alu op, bool word, unsigned rd, unsigned rs1, unsigned rs2)
{
    switch (op) {
    case JIT_SLL: case JIT_SRL: case JIT_SRA:
        load_x(e, RAX, rs1);
        load_x(e, RCX, rs2);
        emit_reg(e, !word, 0xd3, shift_ext(op), RAX); /* shl/shr/sar rax, cl: x86 masks cl as RISC-V does */
        break;
    case JIT_SLT: case JIT_SLTU:
        load_x(e, RAX, rs1);
        emit_mem(e, true, 0x3b, RAX, RBX, XREG(rs2));
        store_cc(e, op == JIT_SLT ? 0x9c : 0x92, rd);
        return;
    case JIT_MULH: case JIT_MULHU:
        load_x(e, RAX, rs1);
        emit_mem(e, true, 0xf7, op == JIT_MULH ? 5 : 4, RBX, XREG(rs2)); /* rdx:rax = rax * m64 */
        store_x(e, RDX, rd);
        return;
    case JIT_SH1ADD: case JIT_SH2ADD: case JIT_SH3ADD:
        load_x(e, RAX, rs1);
        emit_reg(e, true, 0xc1, 4, RAX);
        emit8(e, op == JIT_SH1ADD ? 1 : op == JIT_SH2ADD ? 2 : 3);
        emit_mem(e, true, 0x03, RAX, RBX, XREG(rs2));
        break;
    case JIT_ADDUW:
        emit_mem(e, false, 0x8b, RAX, RBX, XREG(rs1)); /* mov eax, m32: zero-extends */
        emit_mem(e, true, 0x03, RAX, RBX, XREG(rs2));
        break;
    default:
        load_x(e, RAX, rs1);
        emit_mem(e, !word, rm_opcode(op), RAX, RBX, XREG(rs2));
        break;
    }
    if (word)
        sign_extend_eax(e);
    store_x(e, RAX, rd);
}

void jit_emit_alu_imm(struct emitter *e, enum jit_alu op, bool word, unsigned rd, unsigned rs1, int32_t imm)
{
    load_x(e, RAX, rs1);
    switch (op) {
    case JIT_SLL: case JIT_SRL: case JIT_SRA:
        emit_reg(e, !word, 0xc1, shift_ext(op), RAX);
        emit8(e, (uint8_t)imm);
        break;
    case JIT_SLT: case JIT_SLTU:
        emit_reg(e, true, 0x81, 7, RAX); /* cmp rax, imm32 */
        emit32(e, (uint32_t)imm);
        store_cc(e, op == JIT_SLT ? 0x9c : 0x92, rd);
        return;
    case JIT_AND: case JIT_OR: case JIT_XOR:
        emit_reg(e, true, 0x81, op == JIT_XOR ? 6 : op == JIT_OR ? 1 : 4, RAX);
        emit32(e, (uint32_t)imm);
        break;
    default:
        if (imm) /* mv and sext.w add nothing */
            add_imm(e, !word, RAX, imm);
        break;
    }
    if (word)
        sign_extend_eax(e);
    store_x(e, RAX, rd);
}

void jit_emit_move_imm(struct emitter *e, unsigned rd, int32_t imm)
{
    emit_reg(e, true, 0xc7, 0, RAX); /* mov rax, simm32 */
    emit32(e, (uint32_t)imm);
    store_x(e, RAX, rd);
}

/* rax = the guest pc at block offset off, plus delta. */
static void pc_plus(struct emitter *e, int32_t off, int32_t delta)
{
    int64_t sum = (int64_t)off + delta;
    if (sum == (int32_t)sum) {
        guest_pc(e, RAX, (int32_t)sum);
        return;
    }
    guest_pc(e, RAX, off);
    add_imm(e, true, RAX, delta);
}

void jit_emit_pc_relative(struct emitter *e, unsigned rd, int32_t off, int32_t delta)
{
    pc_plus(e, off, delta);
    store_x(e, RAX, rd);
}

void jit_emit_exit(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                   int32_t off, int32_t delta, int64_t target_offset)
{
    pc_plus(e, off, delta);
    exit_next(e, t, retired, link, target_offset);
}

void jit_emit_exit_indirect(struct emitter *e, const struct translation *t, unsigned retired, unsigned rs1,
                            int32_t imm, unsigned rd, int32_t next_off)
{
    load_x(e, RAX, rs1);
    add_imm(e, true, RAX, imm);
    emit_reg(e, true, 0x83, 4, RAX); /* and rax, -2 */
    emit8(e, 0xfe);
    if (rd) {
        guest_pc(e, RCX, next_off);
        store_x(e, RCX, rd);
    }
    exit_next(e, t, retired, BLOCK_LINK_TAKEN, -1);
}

void jit_emit_branch(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                     int32_t off, enum jit_cond cond, int64_t taken_offset, int64_t next_offset)
{
    static const uint8_t jcc[] = { [JIT_EQ] = 0x84, [JIT_NE] = 0x85, [JIT_LT] = 0x8c,
                                   [JIT_GE] = 0x8d, [JIT_LTU] = 0x82, [JIT_GEU] = 0x83 };
    load_x(e, RAX, d->rs1);
    emit_mem(e, true, 0x3b, RAX, RBX, XREG(d->rs2));
    uint8_t *taken = jump_forward(e, jcc[cond]);
    jit_emit_exit(e, t, i + 1, BLOCK_LINK_NEXT, off + d->len, 0, next_offset);
    patch_here(e, taken);
    jit_emit_exit(e, t, i + 1, BLOCK_LINK_TAKEN, off, d->imm, taken_offset);
}

void jit_emit_call_insn(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, const void *helper)
{
    move_imm64(e, RSI, (uint64_t)(uintptr_t)d);
    call_at(e, i, off, helper);
}

void jit_emit_exit_slow(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off)
{
    guest_pc(e, RAX, off);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc));
    move_imm64(e, RDX, (uint64_t)(uintptr_t)d);
    emit_mem(e, true, 0x89, RDX, R12, (int32_t)offsetof(struct hart, jit_exit_insn));
    exit_with(e, JIT_EXIT_SLOW, 0, i);
}

#endif
