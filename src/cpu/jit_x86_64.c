/*
 * Template translator for x86-64 hosts (see jit.h). Register use inside translated
 * code: rbx = &h->arch.x[0], r12 = h, r13 = guest pc of the current block's first
 * instruction, r14 = instructions retired since entry, r15 = the budget. Each guest
 * instruction becomes a few host instructions on the in-memory register file; loads,
 * stores, and the divisions with RISC-V corner cases call small C helpers.
 */
#include "cpu/jit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/alu.h"
#include "cpu/mmu.h"

#if defined(__x86_64__)

struct jit {
    uint8_t *buf;
    size_t size, used;
};

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R12 = 12, R13 = 13, R14 = 14, R15 = 15 };

/* Bytes of the entry sequence; chained jumps enter a block just after it. */
#define PROLOGUE_SIZE 24

struct emitter {
    uint8_t *p, *end;
    bool overflow;
};

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

static void prologue(struct emitter *e)
{
    emit8(e, 0x53);                      /* push rbx */
    emit8(e, 0x41), emit8(e, 0x54);      /* push r12 */
    emit8(e, 0x41), emit8(e, 0x55);      /* push r13 */
    emit8(e, 0x41), emit8(e, 0x56);      /* push r14 */
    emit8(e, 0x41), emit8(e, 0x57);      /* push r15 */
    emit_reg(e, true, 0x89, RDI, R12);   /* mov r12, rdi */
    emit_reg(e, true, 0x89, RSI, RBX);   /* mov rbx, rsi */
    emit_reg(e, true, 0x89, RDX, R13);   /* mov r13, rdx */
    emit_reg(e, true, 0x89, RCX, R15);   /* mov r15, rcx */
    emit_reg(e, false, 0x31, R14, R14);  /* xor r14d, r14d */
}

static void epilogue(struct emitter *e)
{
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

/* What a block's exits need to know about it. */
struct translation {
    struct block *b;
    const _Atomic uint32_t *gen;
    const struct guest_ram *ram;
};

/*
 * Leaves the block for guest pc rax after `retired` of its instructions. When the
 * target lies in the block's page (target_offset in [0, 0x1000)), enters the linked
 * successor directly if the budget allows and the link is still right.
 */
static void exit_next(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                      int64_t target_offset)
{
    if (retired)
        add_imm(e, true, R14, (int32_t)retired);
    uint8_t *slow[5];
    unsigned nslow = 0;
    bool chainable = target_offset >= 0 && target_offset < 0x1000;
    if (chainable) {
        const struct block *b = t->b;
        emit_reg(e, true, 0x39, R15, R14);                            /* cmp r14, r15 */
        slow[nslow++] = jump_forward(e, 0x83);                        /* jae slow */
        move_imm64(e, RCX, (uint64_t)(uintptr_t)&t->b->next[link]);
        emit_mem(e, true, 0x8b, RCX, RCX, 0);                         /* rcx = successor */
        emit_reg(e, true, 0x85, RCX, RCX);
        slow[nslow++] = jump_forward(e, 0x84);                        /* none yet */
        move_imm64(e, RDX, (b->host_pc & ~(uint64_t)0xfff) + (uint64_t)target_offset);
        emit_mem(e, true, 0x39, RDX, RCX, (int32_t)offsetof(struct block, host_pc));
        slow[nslow++] = jump_forward(e, 0x85);                        /* holds another block */
        emit_mem(e, false, 0x8b, RDX, RCX, (int32_t)offsetof(struct block, gen));
        move_imm64(e, RSI, (uint64_t)(uintptr_t)t->gen);
        emit_mem(e, false, 0x3b, RDX, RSI, 0);
        slow[nslow++] = jump_forward(e, 0x85);                        /* its code changed */
        emit_mem(e, true, 0x8b, RDX, RCX, (int32_t)offsetof(struct block, code));
        emit_reg(e, true, 0x85, RDX, RDX);
        slow[nslow++] = jump_forward(e, 0x84);                        /* not translated */
        emit_reg(e, true, 0x89, RAX, R13);                            /* r13 = its pc */
        add_imm(e, true, RDX, PROLOGUE_SIZE);
        emit8(e, 0xff), emit8(e, 0xe2);                               /* jmp rdx */
    }
    for (unsigned i = 0; i < nslow; i++)
        patch_here(e, slow[i]);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc));
    move_imm64(e, RDX, (uint64_t)(uintptr_t)t->b);
    emit_mem(e, true, 0x89, RDX, R12, (int32_t)offsetof(struct hart, jit_exit_block));
    exit_with(e, JIT_EXIT_NEXT, chainable ? link + 1 : 0, 0);
}

/* ---- helpers called from translated code ---- */

#define LOAD_HELPER(name, fn)                                      \
    static uint64_t jit_load_##name(struct hart *h, uint64_t va)   \
    {                                                              \
        uint64_t v;                                                \
        if (unlikely(!fn(h, va, &v))) {                            \
            h->jit_fault = true;                                   \
            return 0;                                              \
        }                                                          \
        return v;                                                  \
    }
LOAD_OPS(LOAD_HELPER)
#undef LOAD_HELPER

#define STORE_HELPER(name, size)                                               \
    static void jit_store_##name(struct hart *h, uint64_t va, uint64_t value) \
    {                                                                          \
        if (unlikely(!mem_store(h, va, size, value)))                          \
            h->jit_fault = true;                                               \
    }
STORE_OPS(STORE_HELPER)
#undef STORE_HELPER

/* ---- translation ---- */

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

/* What an inline access needs to know: its size and, for loads, its extension. */
struct access_shape {
    unsigned size;
    bool sign;
};

static enum op access_op(enum op op, struct access_shape *shape)
{
    switch (op) {
    case OP_LB: *shape = (struct access_shape){ 1, true }; break;
    case OP_LH: *shape = (struct access_shape){ 2, true }; break;
    case OP_LW: *shape = (struct access_shape){ 4, true }; break;
    case OP_LD: *shape = (struct access_shape){ 8, false }; break;
    case OP_LBU: case OP_SB: *shape = (struct access_shape){ 1, false }; break;
    case OP_LHU: case OP_SH: *shape = (struct access_shape){ 2, false }; break;
    case OP_LWU: case OP_SW: *shape = (struct access_shape){ 4, false }; break;
    default: *shape = (struct access_shape){ 8, false }; break;
    }
    return op;
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

/*
 * The MMU's TLB hit path, inline: rsi = guest virtual address. Jumps to the returned
 * patch sites (the slow path) on a miss or a page-crossing access; on a hit leaves the
 * host address as rcx + rsi.
 */
static unsigned tlb_lookup(struct emitter *e, bool write, unsigned size, uint8_t **miss)
{
    int32_t table = (int32_t)(offsetof(struct hart, tlb) +
                              (write ? offsetof(struct tlb, write) : offsetof(struct tlb, read)));
    unsigned n = 0;
    emit_mem(e, false, 0x8b, RAX, R12, (int32_t)offsetof(struct hart, mmu_ctx)); /* eax = ctx */
    emit_reg(e, true, 0x69, RAX, RAX);                                            /* rax *= sizeof */
    emit32(e, (uint32_t)sizeof(struct tlb));
    emit_reg(e, true, 0x89, RSI, RCX);                                            /* rcx = va */
    emit_reg(e, true, 0xc1, 5, RCX), emit8(e, 12);                                /* shr rcx, 12 */
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, TLB_SIZE - 1);                    /* and ecx, mask */
    emit_reg(e, false, 0xc1, 4, RCX), emit8(e, 4);                                /* shl ecx, 4 */
    emit_reg(e, true, 0x01, RCX, RAX);                                            /* rax += rcx */
    emit_reg(e, true, 0x01, R12, RAX);                                            /* rax += h */
    emit_reg(e, true, 0x89, RSI, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff000u);                      /* and rcx, ~0xfff */
    emit_mem(e, true, 0x3b, RCX, RAX, table + (int32_t)offsetof(struct tlb_entry, tag));
    miss[n++] = jump_forward(e, 0x85);                                            /* tag differs */
    emit_reg(e, false, 0x89, RSI, RCX);                                           /* ecx = va */
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, 0xfff);
    emit_reg(e, false, 0x81, 7, RCX), emit32(e, 0x1000 - size);                   /* cmp ecx, limit */
    miss[n++] = jump_forward(e, 0x87);                                            /* crosses the page */
    emit_mem(e, true, 0x8b, RCX, RAX, table + (int32_t)offsetof(struct tlb_entry, addend));
    return n;
}

static void memory_access(struct emitter *e, const struct translation *t, const struct dinsn *d,
                          unsigned index, int32_t off, const void *helper, bool store)
{
    struct access_shape shape;
    access_op((enum op)d->op, &shape);
    uint8_t *slow[8], *done;
    unsigned nslow;
    load_x(e, RSI, d->rs1);
    add_imm(e, true, RSI, d->imm);
    if (store)
        load_x(e, RDX, d->rs2);
    nslow = tlb_lookup(e, store, shape.size, slow);
    if (store) {
        /* What mem_store does besides the write: reservations, cached code on the page. */
        move_imm64(e, RAX, (uint64_t)(uintptr_t)&mmu_reservations_active);
        emit_mem(e, false, 0x83, 7, RAX, 0), emit8(e, 0);                     /* cmp dword [rax], 0 */
        slow[nslow++] = jump_forward(e, 0x85);
        emit_rcx_rsi(e, true, false, 0x8d, RAX);                               /* lea rax, [rcx+rsi] */
        move_imm64(e, RDI, (uint64_t)(uintptr_t)t->ram->host);
        emit_reg(e, true, 0x29, RDI, RAX);                                     /* rax -= ram base */
        emit_reg(e, true, 0xc1, 5, RAX), emit8(e, 12);                         /* page index */
        move_imm64(e, RDI, (uint64_t)(uintptr_t)t->ram->code_extent);
        emit8(e, 0x83), emit8(e, 0x3c), emit8(e, 0x87), emit8(e, 0);           /* cmp dword [rdi+rax*4], 0 */
        slow[nslow++] = jump_forward(e, 0x85);
        switch (shape.size) {
        case 1: emit_rcx_rsi(e, false, false, 0x88, RDX); break;
        case 2: emit_rcx_rsi(e, false, true, 0x89, RDX); break;
        case 4: emit_rcx_rsi(e, false, false, 0x89, RDX); break;
        default: emit_rcx_rsi(e, true, false, 0x89, RDX); break;
        }
    } else {
        switch (shape.size) {
        case 1: emit_rcx_rsi(e, shape.sign, false, shape.sign ? 0x0fbe : 0x0fb6, RAX); break;
        case 2: emit_rcx_rsi(e, shape.sign, false, shape.sign ? 0x0fbf : 0x0fb7, RAX); break;
        case 4: emit_rcx_rsi(e, shape.sign, false, shape.sign ? 0x63 : 0x8b, RAX); break;
        default: emit_rcx_rsi(e, true, false, 0x8b, RAX); break;
        }
    }
    emit8(e, 0xe9); /* jmp done */
    done = e->p;
    emit32(e, 0);
    for (unsigned i = 0; i < nslow; i++)
        patch_here(e, slow[i]);
    /* Slow path: the MMU in C (page walks, MMIO, faults); rsi and rdx still hold the operands. */
    guest_pc(e, RAX, off);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc)); /* epc for a fault */
    emit_reg(e, true, 0x89, R12, RDI);                                      /* mov rdi, r12 */
    call(e, helper);
    fault_check(e, index);
    patch_here(e, done);
    if (!store)
        store_x(e, RAX, d->rd);
}

static void call_binary(struct emitter *e, const struct dinsn *d, const void *helper)
{
    load_x(e, RDI, d->rs1);
    load_x(e, RSI, d->rs2);
    call(e, helper);
    store_x(e, RAX, d->rd);
}

/* rax = x[rs1] OP x[rs2] for the two-operand ALU forms (w: 64-bit). */
static void alu_rr(struct emitter *e, const struct dinsn *d, uint32_t op, bool w)
{
    load_x(e, RAX, d->rs1);
    emit_mem(e, w, op, RAX, RBX, XREG(d->rs2));
    if (!w)
        sign_extend_eax(e);
    store_x(e, RAX, d->rd);
}

static void shift_reg(struct emitter *e, const struct dinsn *d, unsigned ext, bool w)
{
    load_x(e, RAX, d->rs1);
    load_x(e, RCX, d->rs2);
    emit_reg(e, w, 0xd3, ext, RAX); /* shl/shr/sar rax, cl: x86 masks cl as RISC-V does */
    if (!w)
        sign_extend_eax(e);
    store_x(e, RAX, d->rd);
}

static void shift_imm(struct emitter *e, const struct dinsn *d, unsigned ext, bool w)
{
    load_x(e, RAX, d->rs1);
    emit_reg(e, w, 0xc1, ext, RAX);
    emit8(e, (uint8_t)d->imm);
    if (!w)
        sign_extend_eax(e);
    store_x(e, RAX, d->rd);
}

static void set_cc(struct emitter *e, const struct dinsn *d, uint8_t cc, bool with_imm)
{
    load_x(e, RAX, d->rs1);
    if (with_imm) {
        emit_reg(e, true, 0x81, 7, RAX); /* cmp rax, imm32 */
        emit32(e, (uint32_t)d->imm);
    } else {
        emit_mem(e, true, 0x3b, RAX, RBX, XREG(d->rs2));
    }
    emit8(e, 0x0f), emit8(e, cc), emit8(e, 0xc0); /* setcc al */
    emit8(e, 0x0f), emit8(e, 0xb6), emit8(e, 0xc0); /* movzx eax, al */
    store_x(e, RAX, d->rd);
}

/* Offset in the block's page of the instruction at block offset off, plus delta. */
static int64_t page_offset(const struct translation *t, int32_t off, int64_t delta)
{
    return (int64_t)(t->b->host_pc & 0xfff) + off + delta;
}

static void branch(struct emitter *e, const struct translation *t, const struct dinsn *d, uint8_t jcc,
                   unsigned index, int32_t off)
{
    load_x(e, RAX, d->rs1);
    emit_mem(e, true, 0x3b, RAX, RBX, XREG(d->rs2));
    uint8_t *taken = jump_forward(e, jcc);
    guest_pc(e, RAX, off + d->len);
    exit_next(e, t, index + 1, BLOCK_LINK_NEXT, page_offset(t, off, d->len));
    patch_here(e, taken);
    guest_pc(e, RAX, off);
    add_imm(e, true, RAX, d->imm);
    exit_next(e, t, index + 1, BLOCK_LINK_TAKEN, page_offset(t, off, d->imm));
}

static void link_register(struct emitter *e, const struct dinsn *d, int32_t off)
{
    if (d->rd == 0)
        return;
    guest_pc(e, RCX, off + d->len);
    store_x(e, RCX, d->rd);
}

/* Translates one instruction; returns false once the block has ended. */
static bool translate_one(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                          int32_t off)
{
    switch ((enum op)d->op) {
    case OP_NOP: return true;
    case OP_LUI:
        emit_reg(e, true, 0xc7, 0, RAX);
        emit32(e, (uint32_t)d->imm);
        store_x(e, RAX, d->rd);
        return true;
    case OP_AUIPC:
        guest_pc(e, RAX, off);
        add_imm(e, true, RAX, d->imm);
        store_x(e, RAX, d->rd);
        return true;
    case OP_JAL:
        guest_pc(e, RAX, off);
        add_imm(e, true, RAX, d->imm);
        link_register(e, d, off);
        exit_next(e, t, i + 1, BLOCK_LINK_TAKEN, page_offset(t, off, d->imm));
        return false;
    case OP_JALR:
        load_x(e, RAX, d->rs1);
        add_imm(e, true, RAX, d->imm);
        emit_reg(e, true, 0x83, 4, RAX); /* and rax, -2 */
        emit8(e, 0xfe);
        link_register(e, d, off);
        exit_next(e, t, i + 1, BLOCK_LINK_TAKEN, -1); /* computed target: no link */
        return false;
    case OP_BEQ: branch(e, t, d, 0x84, i, off); return false;
    case OP_BNE: branch(e, t, d, 0x85, i, off); return false;
    case OP_BLT: branch(e, t, d, 0x8c, i, off); return false;
    case OP_BGE: branch(e, t, d, 0x8d, i, off); return false;
    case OP_BLTU: branch(e, t, d, 0x82, i, off); return false;
    case OP_BGEU: branch(e, t, d, 0x83, i, off); return false;
#define LOAD_CASE(name, fn) \
    case OP_##name: memory_access(e, t, d, i, off, (const void *)jit_load_##name, false); return true;
    LOAD_OPS(LOAD_CASE)
#undef LOAD_CASE
#define STORE_CASE(name, size) \
    case OP_##name: memory_access(e, t, d, i, off, (const void *)jit_store_##name, true); return true;
    STORE_OPS(STORE_CASE)
#undef STORE_CASE
    case OP_ADDI:
        load_x(e, RAX, d->rs1);
        add_imm(e, true, RAX, d->imm);
        store_x(e, RAX, d->rd);
        return true;
    case OP_XORI: case OP_ORI: case OP_ANDI: {
        unsigned ext = d->op == OP_XORI ? 6 : d->op == OP_ORI ? 1 : 4;
        load_x(e, RAX, d->rs1);
        emit_reg(e, true, 0x81, ext, RAX);
        emit32(e, (uint32_t)d->imm);
        store_x(e, RAX, d->rd);
        return true;
    }
    case OP_SLTI: set_cc(e, d, 0x9c, true); return true;
    case OP_SLTIU: set_cc(e, d, 0x92, true); return true;
    case OP_SLLI: shift_imm(e, d, 4, true); return true;
    case OP_SRLI: shift_imm(e, d, 5, true); return true;
    case OP_SRAI: shift_imm(e, d, 7, true); return true;
    case OP_ADDIW:
        load_x(e, RAX, d->rs1);
        add_imm(e, false, RAX, d->imm);
        sign_extend_eax(e);
        store_x(e, RAX, d->rd);
        return true;
    case OP_SLLIW: shift_imm(e, d, 4, false); return true;
    case OP_SRLIW: shift_imm(e, d, 5, false); return true;
    case OP_SRAIW: shift_imm(e, d, 7, false); return true;
    case OP_ADD: alu_rr(e, d, 0x03, true); return true;
    case OP_SUB: alu_rr(e, d, 0x2b, true); return true;
    case OP_AND: alu_rr(e, d, 0x23, true); return true;
    case OP_OR: alu_rr(e, d, 0x0b, true); return true;
    case OP_XOR: alu_rr(e, d, 0x33, true); return true;
    case OP_SLL: shift_reg(e, d, 4, true); return true;
    case OP_SRL: shift_reg(e, d, 5, true); return true;
    case OP_SRA: shift_reg(e, d, 7, true); return true;
    case OP_SLT: set_cc(e, d, 0x9c, false); return true;
    case OP_SLTU: set_cc(e, d, 0x92, false); return true;
    case OP_ADDW: alu_rr(e, d, 0x03, false); return true;
    case OP_SUBW: alu_rr(e, d, 0x2b, false); return true;
    case OP_SLLW: shift_reg(e, d, 4, false); return true;
    case OP_SRLW: shift_reg(e, d, 5, false); return true;
    case OP_SRAW: shift_reg(e, d, 7, false); return true;
    case OP_MUL: alu_rr(e, d, 0x0faf, true); return true;
    case OP_MULW: alu_rr(e, d, 0x0faf, false); return true;
    case OP_MULH: case OP_MULHU:
        load_x(e, RAX, d->rs1);
        emit_mem(e, true, 0xf7, d->op == OP_MULH ? 5 : 4, RBX, XREG(d->rs2)); /* rdx:rax = rax * m64 */
        store_x(e, RDX, d->rd);
        return true;
    case OP_MULHSU: call_binary(e, d, (const void *)alu_MULHSU); return true;
    case OP_DIV: call_binary(e, d, (const void *)alu_DIV); return true;
    case OP_DIVU: call_binary(e, d, (const void *)alu_DIVU); return true;
    case OP_REM: call_binary(e, d, (const void *)alu_REM); return true;
    case OP_REMU: call_binary(e, d, (const void *)alu_REMU); return true;
    case OP_DIVW: call_binary(e, d, (const void *)alu_DIVW); return true;
    case OP_DIVUW: call_binary(e, d, (const void *)alu_DIVUW); return true;
    case OP_REMW: call_binary(e, d, (const void *)alu_REMW); return true;
    case OP_REMUW: call_binary(e, d, (const void *)alu_REMUW); return true;
    case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
        load_x(e, RAX, d->rs1);
        emit_reg(e, true, 0xc1, 4, RAX);
        emit8(e, d->op == OP_SH1ADD ? 1 : d->op == OP_SH2ADD ? 2 : 3);
        emit_mem(e, true, 0x03, RAX, RBX, XREG(d->rs2));
        store_x(e, RAX, d->rd);
        return true;
    case OP_ADDUW:
        emit_mem(e, false, 0x8b, RAX, RBX, XREG(d->rs1)); /* mov eax, m32: zero-extends */
        emit_mem(e, true, 0x03, RAX, RBX, XREG(d->rs2));
        store_x(e, RAX, d->rd);
        return true;
    case OP_END:
        guest_pc(e, RAX, off);
        exit_next(e, t, i, BLOCK_LINK_NEXT, page_offset(t, off, 0));
        return false;
    case OP_SLOW:
    case OP_COUNT:
        break;
    }
    guest_pc(e, RAX, off);
    emit_mem(e, true, 0x89, RAX, R12, (int32_t)offsetof(struct hart, arch.pc));
    move_imm64(e, RDX, (uint64_t)(uintptr_t)d);
    emit_mem(e, true, 0x89, RDX, R12, (int32_t)offsetof(struct hart, jit_exit_insn));
    exit_with(e, JIT_EXIT_SLOW, 0, i);
    return false;
}

jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b)
{
    struct emitter e = { j->buf + j->used, j->buf + j->size, false };
    struct translation t = { b, &h->ram->code_gen[b->page], h->ram };
    uint8_t *entry = e.p;
    prologue(&e);
    if (!e.overflow && e.p - entry != PROLOGUE_SIZE)
        abort(); /* chained jumps enter at entry + PROLOGUE_SIZE: the two must agree */
    int32_t off = 0;
    for (unsigned i = 0; i <= BLOCK_MAX_INSNS; i++) {
        if (!translate_one(&e, &t, &b->insns[i], i, off))
            break;
        off += b->insns[i].len;
    }
    if (e.overflow)
        return NULL;
    j->used = (size_t)(e.p - j->buf + 15) & ~(size_t)15;
    return (jit_entry)(void *)entry;
}

struct jit *jit_create(size_t code_size)
{
    struct jit *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->buf = mmap(NULL, code_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (j->buf == MAP_FAILED) {
        free(j);
        return NULL;
    }
    j->size = code_size;
    return j;
}

void jit_destroy(struct jit *j)
{
    if (!j)
        return;
    munmap(j->buf, j->size);
    free(j);
}

void jit_reset(struct jit *j)
{
    j->used = 0;
}

#else /* no translator for this host: the block engine interprets */

struct jit *jit_create(size_t code_size)
{
    (void)code_size;
    return NULL;
}

void jit_destroy(struct jit *j)
{
    (void)j;
}

jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b)
{
    (void)j, (void)h, (void)b;
    return NULL;
}

void jit_reset(struct jit *j)
{
    (void)j;
}

#endif
