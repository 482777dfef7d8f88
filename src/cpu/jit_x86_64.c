/*
 * The x86-64 emitter of the translator (see jit_emit.h). Register use inside translated
 * code: rbx = &h->arch.x[0] + X_BIAS (the hart's other fields at fixed distances from it), r13 =
 * guest pc of the current block's first instruction, r14 = what is left of the budget
 * (the budget on entry is at [rsp], the fetch TLB of the hart's context at [rsp + 8]: see
 * FETCH_TLB; then the host bases of jit_emit_access, HOST_BASE), rbp = the data TLB of h->mmu_ctx
 * (h->ctx_tlb[h->mmu_ctx]: only a trap, an instruction translated code leaves to the run
 * loop, both of which end the run of translated code, or an access to sstatus through
 * its call, after which rbp is loaded again, changes the context).
 * r9, r10, r11, r12, r15 and r8 hold the block's busiest guest registers (jit_emit_prologue
 * picks them, those in the block's loops first): in a block that jumps within itself,
 * all loaded past the entry sequence (so on every entry, chained or not) and kept in
 * place from one pass to the next; elsewhere each loaded where first read. The block's
 * exits (side exits of taken branches too) write back those written so far (dirty), and
 * so does each call out (a slow path that may trap, a helper that reads the register
 * file), which reloads those loaded after (some are caller-saved, and a helper may write
 * the register file). rax, rcx, rdx, rsi and rdi are scratch; r8 too at a block's exits,
 * after the write-back.
 */
#include "cpu/jit_emit.h"

#if defined(__x86_64__)

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/csr.h"
#include "cpu/fpu.h"
#include "cpu/mmu.h"

enum { RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11,
       R12 = 12, R13 = 13, R14 = 14, R15 = 15 };

/* The host registers that hold guest registers (none of them needs a REX prefix of its
 * own as a byte register). */
static const int8_t cache_regs[] = { R9, R10, R11, R12, R15, R8 };

/* Bytes of the entry sequence; chained jumps enter a block just after it. */
#define PROLOGUE_SIZE (94 + 9 * JIT_HOST_BASES)
/* log2 of a block cache set's bytes */
#define BLOCK_SET_SHIFT 5
_Static_assert(PROLOGUE_SIZE < 128, "the jump cache adds it to an entry as an imm8");

/* Where the entry sequence leaves the fetch TLB of mmu_fetch_ctx(h), for the inline
 * lookup: the context changes only with a trap or an instruction that ends the run. */
#define FETCH_TLB 8

/* Where jit_emit_access keeps host base k: the page (as the read TLB entry's tag) at
 * HOST_BASE, the addend 8 bytes above. Each holds a current entry of the read TLB or none
 * (tag ~0) throughout a run of translated code: the entry sequence and every call of a
 * helper (which may fill, flush or switch the TLB) empty them all (see jit_emit.h for
 * why nothing else can change the entry meanwhile). */
#define HOST_BASE(k) (16 + 16 * (k))
/* The stack frame below the pushes: the budget, the fetch TLB, the host bases; calls from
 * translated code see rsp 16-aligned. */
#define FRAME (HOST_BASE(JIT_HOST_BASES) + 8)
_Static_assert(FRAME % 16 == 8 && FRAME < 128, "the frame keeps rsp 16-aligned and fits an imm8");

/* rbx points this far into the register file, so that the displacements from it of pc
 * and x1-x30 fit a byte (emit_mem's short form); x0 is never read from memory. */
#define X_BIAS 120
_Static_assert(offsetof(struct hart_state, pc) + 128 - X_BIAS == offsetof(struct hart_state, x), "pc at -128");
/* The offset of a field of the hart from rbx. */
#define HART(field) ((int32_t)offsetof(struct hart, field) - (int32_t)offsetof(struct hart, arch.x) - X_BIAS)

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

/* op reg, [base + disp] (reg may be an opcode extension /n), in the shortest form: no
 * displacement (but for rbp and r13, where that form means another address), 8 bits, or 32. */
static void emit_mem(struct emitter *e, bool w, uint32_t op, int reg, int base, int32_t disp)
{
    uint8_t mod = disp == 0 && (base & 7) != RBP ? 0x00 : disp == (int8_t)disp ? 0x40 : 0x80;
    emit_rex(e, w, reg, base);
    emit_op(e, op);
    emit8(e, mod | ((reg & 7) << 3) | (base & 7));
    if ((base & 7) == RSP)
        emit8(e, 0x24);
    if (mod == 0x40)
        emit8(e, (uint8_t)disp);
    else if (mod == 0x80)
        emit32(e, (uint32_t)disp);
}

/* op reg, rm (register direct). */
static void emit_reg(struct emitter *e, bool w, uint32_t op, int reg, int rm)
{
    emit_rex(e, w, reg, rm);
    emit_op(e, op);
    emit8(e, 0xc0 | ((reg & 7) << 3) | (rm & 7));
}

#define XREG(i) ((int32_t)(8 * (i)) - X_BIAS)

/* op reg, x[i]: guest register i as the r/m operand, in its host register or in memory. */
static void op_x(struct emitter *e, bool w, uint32_t op, int reg, unsigned i)
{
    if (e->host[i] >= 0)
        emit_reg(e, w, op, reg, e->host[i]);
    else
        emit_mem(e, w, op, reg, RBX, XREG(i));
}

static void load_x(struct emitter *e, int reg, unsigned i)
{
    if (i == 0)
        emit_reg(e, false, 0x31, reg, reg); /* xor reg32, reg32 */
    else if (e->host[i] != reg)
        op_x(e, true, 0x8b, reg, i);
}

/* Guest register i was written: its host register, if it has one, holds its value, and
 * the register file in memory does not. */
static void mark_written(struct emitter *e, unsigned i)
{
    e->small &= ~(1ull << i);
    if (i < 32) {
        e->word_valued &= ~(1u << i);
        e->low_word &= ~(1u << i);
    }
    if (e->host[i] >= 0) {
        e->valid |= 1u << i;
        e->dirty |= 1u << i;
    }
}

/* The code just emitted left the flags as the operation writing guest register rd set
 * them: ZF says whether rd is 0. */
static void zero_flag_of(struct emitter *e, unsigned rd)
{
    e->zero_reg = rd;
    e->zero_end = e->p;
}

/* Code emitted since `from`, which leaves the flags alone, wrote guest register rd (or
 * none: 0): a zero flag that was good at `from` for another register still is. */
static void flags_kept(struct emitter *e, const uint8_t *from, unsigned rd)
{
    if (e->zero_end == from && e->zero_reg != rd)
        e->zero_end = e->p;
}

static void store_x(struct emitter *e, int reg, unsigned i)
{
    mark_written(e, i);
    if (i == 0 || e->host[i] == reg)
        return;
    if (e->host[i] >= 0)
        emit_reg(e, true, 0x89, reg, e->host[i]);
    else
        emit_mem(e, true, 0x89, reg, RBX, XREG(i));
}

/* Where an operation writing guest register rd computes: rd's host register, or rax. */
static int dest_of(const struct emitter *e, unsigned rd)
{
    return e->host[rd] >= 0 ? e->host[rd] : RAX;
}

/* A W op's result extended from its low word (movsxd) in the host register of each guest
 * register of regs, on the path from here: the emitter's low_word says what every path
 * reaching a point may have left, so it stays. */
static void extend_words(struct emitter *e, uint32_t regs)
{
    for (unsigned i = 1; i < 32; i++)
        if (regs >> i & 1)
            emit_reg(e, true, 0x63, e->host[i], e->host[i]);
}

/* The register file in memory made exact, before leaving the block or calling out, at a
 * point where the registers of `valid` hold their values (the others are in memory),
 * those of `dirty` may differ from memory and those of `low_word` may hold a low word
 * only. */
static void write_back_at(struct emitter *e, uint32_t valid, uint32_t dirty, uint32_t low_word)
{
    for (unsigned i = 1; i < 32; i++) {
        if (!((dirty & valid) >> i & 1))
            continue;
        extend_words(e, low_word & 1u << i);
        emit_mem(e, true, 0x89, e->host[i], RBX, XREG(i));
    }
}

static void write_back(struct emitter *e)
{
    write_back_at(e, e->valid, e->dirty, e->low_word);
}

/* The host registers of `regs` loaded from the register file. */
static void load_held(struct emitter *e, uint32_t regs)
{
    for (unsigned i = 1; i < 32; i++)
        if (e->host[i] >= 0 && (regs >> i & 1))
            emit_mem(e, true, 0x8b, e->host[i], RBX, XREG(i));
    e->valid |= regs;
}

/* After a call out, which may have written the register file: the host registers that
 * were valid before (those code after it relies on; any other is loaded when read). */
static void reload(struct emitter *e, uint32_t valid)
{
    load_held(e, valid);
}

/* reg = r13 + off (the guest pc of an instruction in this block). */
static void guest_pc(struct emitter *e, int reg, int32_t off)
{
    emit_mem(e, true, 0x8d, reg, R13, off);
}

/* An operation of the immediate group (/ext: 0 add, 1 or, 4 and, 6 xor, 7 cmp) on reg,
 * with the short encoding when imm fits in a byte. */
static void group_imm(struct emitter *e, bool w, unsigned ext, int reg, int32_t imm)
{
    bool short_imm = imm == (int8_t)imm;
    emit_reg(e, w, short_imm ? 0x83 : 0x81, (int)ext, reg);
    if (short_imm)
        emit8(e, (uint8_t)imm);
    else
        emit32(e, (uint32_t)imm);
}

static void add_imm(struct emitter *e, bool w, int reg, int32_t imm)
{
    group_imm(e, w, 0, reg, imm);
}

/* reg = the guest pc at block offset off, plus delta. */
static void pc_plus(struct emitter *e, int reg, int32_t off, int32_t delta)
{
    int64_t sum = (int64_t)off + delta;
    if (sum == (int32_t)sum) {
        guest_pc(e, reg, (int32_t)sum);
        return;
    }
    guest_pc(e, reg, off);
    add_imm(e, true, reg, delta);
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

/* Gives the busiest guest registers of the block the host registers of cache_regs. Out
 * of a loop, a register used once gains nothing there: a read costs a load either way,
 * and one as a memory operand saves the move. */
static void pick_host_registers(struct emitter *e, const struct reg_use *use)
{
    memset(e->host, -1, sizeof(e->host));
    uint32_t taken = 1; /* x0 stays in memory, where it reads as 0 */
    unsigned least = use->loops ? 1 : 2;
    for (size_t k = 0; k < sizeof(cache_regs); k++) {
        unsigned best = 0;
        for (unsigned i = 1; i < 32; i++)
            if (!(taken >> i & 1) && use->count[i] > use->count[best])
                best = i;
        if (use->count[best] < least)
            break;
        taken |= 1u << best;
        e->host[best] = cache_regs[k];
    }
    /* A loop's turn may start with registers a turn before wrote. */
    e->dirty = use->loops ? use->written & taken & ~1u : 0;
    e->valid = 0;
}

/* Every host base holds no entry: the tag of an empty TLB entry, which never equals an
 * address masked by tlb_lookup. above: bytes pushed since the frame was set up (8 in a
 * routine that translated code calls). */
static void forget_host_bases(struct emitter *e, int32_t above)
{
    for (int k = 0; k < JIT_HOST_BASES; k++)
        emit_mem(e, true, 0xc7, 0, RSP, HOST_BASE(k) + above), emit32(e, UINT32_MAX); /* mov [slot], -1 */
}

/* [rsp + FETCH_TLB] = h->ctx_tlb[mmu_fetch_ctx(h)]->fetch: the context is priv, plus 4
 * with V below M. */
static void fetch_tlb(struct emitter *e)
{
    _Static_assert(MMU_CTX_M == PRIV_M, "M's context is its privilege number");
    emit_mem(e, false, 0x8b, RDX, RBX, HART(arch.priv));
    emit_reg(e, false, 0x83, 7, RDX), emit8(e, PRIV_M);                          /* cmp edx, M */
    emit8(e, 0x74);                                                             /* je: M's own */
    uint8_t *in_m = e->p;
    emit8(e, 0);
    uint8_t *below_m = e->p;
    emit_mem(e, false, 0x8b, RCX, RBX, HART(arch.virt));
    emit_reg(e, false, 0xc1, 4, RCX), emit8(e, 2);                              /* shl ecx, 2 */
    emit_reg(e, false, 0x01, RCX, RDX);                                         /* add edx, ecx */
    if (!e->overflow)
        *in_m = (uint8_t)(e->p - below_m);
    emit_reg(e, false, 0xc1, 4, RDX), emit8(e, 3);                              /* shl edx, 3 */
    emit_reg(e, true, 0x01, RBX, RDX);                                          /* rdx += rbx */
    emit_mem(e, true, 0x8b, RDX, RDX, HART(ctx_tlb));                           /* its table */
    emit_mem(e, true, 0x8d, RDX, RDX, (int32_t)offsetof(struct tlb, fetch));
    emit_mem(e, true, 0x89, RDX, RSP, FETCH_TLB);
}

void jit_emit_prologue(struct emitter *e, const struct reg_use *use)
{
    uint8_t *start = e->p;
    emit8(e, 0x53);                      /* push rbx */
    emit8(e, 0x41), emit8(e, 0x54);      /* push r12 */
    emit8(e, 0x41), emit8(e, 0x55);      /* push r13 */
    emit8(e, 0x41), emit8(e, 0x56);      /* push r14 */
    emit8(e, 0x41), emit8(e, 0x57);      /* push r15 */
    emit8(e, 0x55);                      /* push rbp */
    emit_reg(e, true, 0x83, 5, RSP), emit8(e, FRAME); /* sub rsp, FRAME */
    emit_mem(e, true, 0x89, RCX, RSP, 0); /* mov [rsp], rcx: the budget on entry */
    emit_mem(e, true, 0x8d, RBX, RSI, X_BIAS); /* lea rbx, [rsi + X_BIAS] */
    jit_emit_data_tlb_reload(e);
    emit_reg(e, true, 0x89, RDX, R13);   /* mov r13, rdx */
    emit_reg(e, true, 0x89, RCX, R14);   /* mov r14, rcx */
    fetch_tlb(e);
    forget_host_bases(e, 0);
    if (!e->overflow && e->p - start != PROLOGUE_SIZE)
        abort(); /* chained jumps enter at entry + PROLOGUE_SIZE: the two must agree */
    pick_host_registers(e, use);
    /* A loop's next turn starts with the values of the last; otherwise a register is
     * loaded where first read (jit_emit_reads), if the code gets that far. */
    if (use->loops)
        load_held(e, ~0u);
}

void jit_emit_reads(struct emitter *e, uint32_t regs, uint32_t low_regs)
{
    const uint8_t *from = e->p;
    uint32_t whole = regs & ~low_regs & e->low_word;
    load_held(e, regs & ~e->valid); /* movs */
    extend_words(e, whole);         /* movsxds */
    e->low_word &= ~whole;
    flags_kept(e, from, 0);
}

void jit_emit_label(struct emitter *e, unsigned i, bool joined, uint32_t word_results, uint32_t upper_unseen)
{
    if (joined) { /* reached from elsewhere too, with other flags and values */
        uint32_t held = 0;
        for (unsigned r = 1; r < 32; r++)
            held |= (uint32_t)(e->host[r] >= 0) << r;
        uint32_t agreed = word_results & held & e->word_valued; /* the code before falls in with them */
        for (unsigned k = 0; k < e->nside; k++) /* and the jumps forward to it */
            if (e->side[k].inside == (int)i)
                agreed &= e->side[k].word_valued;
        uint32_t low = agreed | (word_results & held & upper_unseen);
        extend_words(e, e->low_word & ~low);
        e->low_word = low;
        e->word_valued = agreed; /* the jumps back are checked (jump_inside) */
        e->zero_end = NULL;
        e->small = 0;
    }
    e->label[i] = e->p;
    e->label_low[i] = e->low_word;
    e->label_valued[i] = e->word_valued;
}


void jit_emit_segment(struct emitter *e)
{
    e->stored = false;
}

static void epilogue(struct emitter *e)
{
    emit_reg(e, true, 0x83, 0, RSP), emit8(e, FRAME); /* add rsp, FRAME */
    emit8(e, 0x5d);                 /* pop rbp */
    emit8(e, 0x41), emit8(e, 0x5f); /* pop r15 */
    emit8(e, 0x41), emit8(e, 0x5e); /* pop r14 */
    emit8(e, 0x41), emit8(e, 0x5d); /* pop r13 */
    emit8(e, 0x41), emit8(e, 0x5c); /* pop r12 */
    emit8(e, 0x5b);                 /* pop rbx */
    emit8(e, 0xc3);                 /* ret */
}

/* rax = instructions retired since entry + index, tagged with kind (and link), then
 * return. */
static void exit_with(struct emitter *e, enum jit_exit_kind kind, unsigned link, unsigned index)
{
    emit_mem(e, true, 0x8b, RAX, RSP, 0);  /* mov rax, [rsp]: the budget on entry */
    emit_reg(e, true, 0x29, R14, RAX);     /* sub rax, r14 */
    if (index)
        add_imm(e, true, RAX, (int32_t)index);
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

static bool host_has_bmi2(void)
{
    return __builtin_cpu_supports("bmi2");
}

/* dest32 = the byte offset in a TLB table of the entry of the address in va: bits 12 up
 * of va, masked, times 16. BMI2's rorx shifts them into place without a copy first (the
 * bits it rotates round lie above the mask). */
static void tlb_offset(struct emitter *e, int dest, int va)
{
    _Static_assert(sizeof(struct tlb_entry) == 16 && TLB_BITS <= 20, "the offset is (va >> 8) & mask << 4");
    if (host_has_bmi2()) {
        emit8(e, 0xc4), emit8(e, (uint8_t)(0xe3 ^ (dest >> 3) << 7 ^ (va >> 3) << 5)), emit8(e, 0x7b);
        emit8(e, 0xf0), emit8(e, (uint8_t)(0xc0 | (dest & 7) << 3 | (va & 7))), emit8(e, 8); /* rorx */
    } else {
        emit_reg(e, false, 0x89, va, dest);
        emit_reg(e, false, 0xc1, 5, dest), emit8(e, 8);                        /* shr dest, 8 */
    }
    emit_reg(e, false, 0x81, 4, dest), emit32(e, (TLB_SIZE - 1) << 4);        /* and dest, mask << 4 */
}

/* rdx = the fetch TLB entry of the guest pc in rax, rcx = that pc's page and bit 0, for
 * the compare with the entry's tag (the lookup's and a cross-page chain's guard); pushed:
 * the bytes pushed since the frame was made (the lookup routine's return address). */
static void fetch_tlb_entry(struct emitter *e, int32_t pushed)
{
    emit_mem(e, true, 0x8b, RDX, RSP, FETCH_TLB + pushed);                      /* rdx = fetch TLB */
    tlb_offset(e, RCX, RAX);
    emit_reg(e, true, 0x01, RCX, RDX);                                          /* rdx = its entry */
    emit_reg(e, true, 0x89, RAX, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff001u);                    /* page | bit 0 */
}

/* rcx = the jump cache entry (jit_emit.h) of the block at the guest pc in rax; uses rdi.
 * The index is the top bits of the pc's low word times 2^32 / phi: a fold of the page
 * number into the offset (the index by host address) puts a low page's first
 * instructions, a kernel's user pages, with returns to offsets in other pages. */
static void jump_entry(struct emitter *e, const struct translation *t)
{
    _Static_assert(sizeof(struct jit_jump) == 32, "the jump cache index is shifted by 5");
    emit_reg(e, false, 0x69, RCX, RAX), emit32(e, 0x9e3779b1u);          /* imul ecx, eax, golden */
    emit_reg(e, false, 0xc1, 5, RCX), emit8(e, 32 - JIT_JUMP_BITS);      /* shr ecx, 32 - bits */
    emit_reg(e, false, 0xc1, 4, RCX), emit8(e, 5);                        /* shl ecx, 5 */
    move_imm64(e, RDI, (uint64_t)(uintptr_t)t->jumps);
    emit_reg(e, true, 0x01, RDI, RCX);                                    /* add rcx, rdi */
}

/* reg = the fetch epoch of the table at [rsp + FETCH_TLB], from within the lookup
 * routine (its return address pushed). */
static void fetch_epoch(struct emitter *e, int reg)
{
    emit_mem(e, true, 0x8b, reg, RSP, FETCH_TLB + 8);
    emit_mem(e, true, 0x8b, reg, reg, (int32_t)(offsetof(struct tlb, fetch_epoch) - offsetof(struct tlb, fetch)));
}

/* reg = guest RAM's count of code writes. */
static void code_writes(struct emitter *e, const struct translation *t, int reg)
{
    move_imm64(e, reg, (uint64_t)(uintptr_t)&t->ram->code_writes);
    emit_mem(e, true, 0x8b, reg, reg, 0);
}

/* The lookup routine's return on a hit: the translation's body in r8, its pc in r13, the
 * zero flag set. */
static void lookup_found(struct emitter *e)
{
    emit_reg(e, true, 0x89, RAX, R13);                                    /* r13 = its pc */
    emit_reg(e, false, 0x39, RAX, RAX);                                   /* cmp eax, eax: found */
    emit8(e, 0xc3);                                                       /* ret */
}

/*
 * The lookup routine, one per code buffer, called by the exits to a guest pc in rax
 * (kept) with the flags of their count_retired. It does what the run loop's block_lookup
 * does, the jump cache first: an entry of the pc found through the current fetch table
 * at its current epoch (jit_emit.h says why that stands for the walk) filled when guest
 * RAM's count of code writes was what it is now. Else the fetch TLB of the hart's
 * current context and the block cache slot of the host address, whose find the jump
 * cache then keeps. When either holds a translation of the code starting there at the
 * page's current code generation, and the budget allows, it returns that as lookup_found
 * does; else with the zero flag clear (and r13 lost: the exit returns to the run loop
 * then). So what invalidates the run loop's lookup (satp, privilege, sfence.vma, remaps:
 * the TLB and its epochs; stores into code: the generation) also invalidates this one.
 * Shared rather than inline in every exit: it is ~250 bytes, which in each exit crowded
 * the hot code out of the host's caches.
 */
void jit_emit_lookup(struct emitter *e, const struct translation *t)
{
    uint8_t *slow[8];
    unsigned n = 0;
    slow[n++] = jump_forward(e, 0x8e);                                          /* jle slow */
    jump_entry(e, t);
    emit_mem(e, true, 0x3b, RAX, RCX, (int32_t)offsetof(struct jit_jump, pc));
    uint8_t *other = jump_forward(e, 0x85);                                     /* another pc */
    fetch_epoch(e, RDX);
    emit_mem(e, true, 0x3b, RDX, RCX, (int32_t)offsetof(struct jit_jump, fetch_epoch));
    uint8_t *remapped = jump_forward(e, 0x85);                                  /* the TLB dropped */
    code_writes(e, t, RDX);
    emit_mem(e, true, 0x3b, RDX, RCX, (int32_t)offsetof(struct jit_jump, code_writes));
    uint8_t *changed = jump_forward(e, 0x85);                                   /* some code changed */
    emit_mem(e, false, 0x8b, R8, RCX, (int32_t)offsetof(struct jit_jump, body));
    move_imm64(e, RDI, (uint64_t)(uintptr_t)t->code);
    emit_reg(e, true, 0x01, RDI, R8);                                           /* add r8, rdi */
    lookup_found(e);
    patch_here(e, other);
    patch_here(e, remapped);
    patch_here(e, changed);
    /* The count before the block's generation (guest_ram_code_written bumps it after):
     * a write between the two then leaves the entry filled with the older count. */
    code_writes(e, t, R13);
    fetch_tlb_entry(e, 8);
    emit_mem(e, true, 0x3b, RCX, RDX, (int32_t)offsetof(struct tlb_entry, tag));
    slow[n++] = jump_forward(e, 0x85);                                          /* TLB miss */
    emit_mem(e, true, 0x8b, RSI, RDX, (int32_t)offsetof(struct tlb_entry, addend));
    emit_reg(e, true, 0x01, RAX, RSI);                                          /* rsi = host */
    /* The block cache, as the run loop's lookup: rcx = block_set(h->blocks, host)[0], the
     * set's most recently used */
    _Static_assert(BLOCK_CACHE_WAYS * sizeof(struct block *) == 1 << BLOCK_SET_SHIFT, "a set's bytes");
    emit_reg(e, true, 0x89, RSI, RCX);
    emit_reg(e, true, 0xd1, 5, RCX);                                            /* shr rcx, 1 */
    emit_reg(e, true, 0x89, RSI, RDX);
    emit_reg(e, true, 0xc1, 5, RDX), emit8(e, BLOCK_SET_FOLD);                  /* shr rdx, fold */
    emit_reg(e, true, 0x31, RDX, RCX);                                          /* xor rcx, rdx */
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, BLOCK_CACHE_SETS - 1);
    emit_reg(e, true, 0xc1, 4, RCX), emit8(e, BLOCK_SET_SHIFT);                 /* shl rcx, shift */
    emit_mem(e, true, 0x03, RCX, RBX, HART(blocks));
    emit_mem(e, true, 0x8b, RCX, RCX, (int32_t)offsetof(struct block_cache, slots));
    emit_reg(e, true, 0x85, RCX, RCX);
    slow[n++] = jump_forward(e, 0x84);                                          /* an unused slot */
    emit_mem(e, true, 0x3b, RSI, RCX, (int32_t)offsetof(struct block, host_pc));
    slow[n++] = jump_forward(e, 0x85);                                          /* another block */
    emit_mem(e, true, 0x8b, R8, RCX, (int32_t)offsetof(struct block, code));
    emit_reg(e, true, 0x85, R8, R8);
    slow[n++] = jump_forward(e, 0x84);                                          /* not translated */
    emit_mem(e, false, 0x8b, RSI, RCX, (int32_t)offsetof(struct block, page));
    move_imm64(e, RDI, (uint64_t)(uintptr_t)t->ram->code_gen);
    emit8(e, 0x8b), emit8(e, 0x14), emit8(e, 0xb7);                             /* edx = code_gen[esi] */
    emit_mem(e, false, 0x3b, RDX, RCX, (int32_t)offsetof(struct block, gen));
    slow[n++] = jump_forward(e, 0x85);                                          /* its code changed */
    /* Found: the jump cache remembers it for next time. */
    jump_entry(e, t);
    emit_mem(e, true, 0x89, RAX, RCX, (int32_t)offsetof(struct jit_jump, pc));
    emit_mem(e, true, 0x89, R13, RCX, (int32_t)offsetof(struct jit_jump, code_writes));
    fetch_epoch(e, RDX);
    emit_mem(e, true, 0x89, RDX, RCX, (int32_t)offsetof(struct jit_jump, fetch_epoch));
    emit_reg(e, true, 0x83, 0, R8), emit8(e, PROLOGUE_SIZE);                    /* r8 = its body */
    emit_reg(e, true, 0x89, R8, RDX);
    move_imm64(e, RDI, (uint64_t)(uintptr_t)t->code);
    emit_reg(e, true, 0x29, RDI, RDX);                                          /* sub rdx, rdi */
    emit_mem(e, false, 0x89, RDX, RCX, (int32_t)offsetof(struct jit_jump, body));
    lookup_found(e);
    for (unsigned i = 0; i < n; i++)
        patch_here(e, slow[i]);
    emit_reg(e, true, 0x85, RSP, RSP);                                          /* test rsp, rsp: not found */
    emit8(e, 0xc3);                                                             /* ret */
}

/* Counts `retired` instructions against the budget: the flags say "le" once it has run out. */
static void count_retired(struct emitter *e, unsigned retired)
{
    if (retired)
        add_imm(e, true, R14, -(int32_t)retired);
    else
        emit_reg(e, true, 0x85, R14, R14); /* test r14, r14 */
}

/* A jcc rel32 to target. */
static void jump_to(struct emitter *e, uint8_t cc, const uint8_t *target)
{
    emit8(e, 0x0f), emit8(e, cc);
    emit32(e, (uint32_t)(target - (e->p + 4)));
}

/* Returns JIT_EXIT_NEXT to the run loop with the guest pc in rax, through chain site
 * `site` of link `link` (NULL: not a same-page link), with `index` instructions retired
 * beyond those the budget counted. */
static void return_next(struct emitter *e, const struct translation *t, const uint8_t *site, unsigned link,
                        unsigned index)
{
    emit_mem(e, true, 0x89, RAX, RBX, HART(arch.pc));
    emit8(e, 0x48), emit8(e, 0x8b), emit8(e, 0x15); /* mov rdx, [rip + disp32]: *t->owner */
    emit32(e, (uint32_t)((const uint8_t *)t->owner - (e->p + 4)));
    emit_mem(e, true, 0x89, RDX, RBX, HART(jit_exit_block));
    if (site) {
        move_imm64(e, RDX, (uint64_t)(uintptr_t)site);
        emit_mem(e, true, 0x89, RDX, RBX, HART(jit_exit_site));
    }
    exit_with(e, JIT_EXIT_NEXT, site ? link + 1 : 0, index);
}

/* The page's code was current on entry to this block (the run loop, a chained
 * predecessor or the lookup routine checked it); only a store since can have changed it
 * (another hart's or a device's change is seen once the budget runs out or at the block's
 * next exit to the run loop, at the latest at the fence.i the ISA has this hart execute
 * before it must fetch that change). Jumps to the returned site when it changed. */
static uint8_t *code_changed(struct emitter *e, const struct translation *t)
{
    move_imm64(e, RSI, (uint64_t)(uintptr_t)t->gen);
    emit_mem(e, false, 0x81, 7, RSI, 0), emit32(e, t->b->gen); /* cmp dword [rsi], gen */
    return jump_forward(e, 0x85);
}

/* Leaves the block for guest pc rax, in another page or reached through a register,
 * after `retired` of its instructions: through the lookup routine, else to the run loop. */
static void exit_elsewhere(struct emitter *e, const struct translation *t, unsigned retired)
{
    write_back(e);
    count_retired(e, retired);
    emit8(e, 0xe8);                                                   /* call the lookup */
    emit32(e, (uint32_t)(t->lookup - (e->p + 4)));
    emit8(e, 0x75), emit8(e, 3);                                      /* jne: not found */
    emit8(e, 0x41), emit8(e, 0xff), emit8(e, 0xe0);                   /* jmp r8 */
    return_next(e, t, NULL, 0, 0);
}

/*
 * Leaves the block after `retired` of its instructions for the guest pc at block offset
 * off plus delta, which lies in the block's page: while the budget allows and the
 * page's code is unchanged, jumps on through the chain site of exit link `link`, to the
 * return just below until jit_chain() points it at the successor's translation.
 */
static void exit_chained(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                         int32_t off, int32_t delta)
{
    uint8_t *slow[2];
    unsigned nslow = 0;
    write_back(e);
    pc_plus(e, R13, off, delta);                                      /* r13 = the successor's pc */
    count_retired(e, retired);
    slow[nslow++] = jump_forward(e, 0x8e);                            /* jle slow */
    if (e->stored)
        slow[nslow++] = code_changed(e, t);
    emit8(e, 0xe9);                                                   /* jmp rel32: the chain site */
    uint8_t *site = e->p;
    emit32(e, 0);                                                     /* falls through until chained */
    for (unsigned i = 0; i < nslow; i++)
        patch_here(e, slow[i]);
    emit_reg(e, true, 0x89, R13, RAX);                                /* mov rax, r13 */
    return_next(e, t, site, link, 0);
}

/*
 * A chain site to another page (exit_other_page): the rel32 of a jump that returns to the
 * run loop until jit_emit_patch_other_page makes it fall into the guard after it, at
 * fixed distances from the site: the fetch TLB entry's tag (rcx: the target's page, rdx:
 * its entry) compared with the target's page, the host address it gives the target and
 * the target page's code generation with what they were when chained, then the jump to
 * the target's translation.
 */
#define OTHER_PAGE_HOST 22      /* the target's host address, an imm64 */
#define OTHER_PAGE_GEN_AT 41    /* the code generation's address, an imm64 */
#define OTHER_PAGE_GEN 51       /* the code generation, an imm32 */
#define OTHER_PAGE_JUMP 65      /* the rel32 of the jump to the target's translation */

/*
 * Leaves the block after `retired` of its instructions for the guest pc at block offset
 * off plus delta, which lies in another page. The page is fixed relative to the block's
 * pc, not as a guest address (a translation serves every virtual page its host page is
 * mapped at), so the guard looks up the fetch TLB entry as the lookup routine does and,
 * when chained, compares the host address it gives the target (not its addend: from
 * another virtual page of the block, an equal addend may lead to another host page) and
 * the page's code generation (the same code) with the chained translation's; on a
 * mismatch, it returns
 * to the run loop through the site, which chains it anew (the lookup routine instead would
 * keep a stale chain failing for good: the chain of a call whose callee was rewritten).
 * The guard holds wherever the run loop's lookup would find the same translation: what
 * changes the mapping (satp writes, sfence.vma, privilege changes, refills) changes the
 * entry or the fetch TLB this run reads, which only the hart's own thread writes, never
 * while its translated code runs (jit_emit.h); stores into code, any hart's, change the
 * generation; jit_reset drops the site with its translation.
 */
static void exit_other_page(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                            int32_t off, int32_t delta)
{
    write_back(e);
    pc_plus(e, RAX, off, delta);
    count_retired(e, retired);
    uint8_t *out = jump_forward(e, 0x8e);                                        /* jle out */
    fetch_tlb_entry(e, 0);
    emit8(e, 0xe9);                                                             /* jmp out: the site */
    uint8_t *site = e->p;
    emit32(e, 0);
    emit_mem(e, true, 0x3b, RCX, RDX, (int32_t)offsetof(struct tlb_entry, tag));
    uint8_t *other_entry = jump_forward(e, 0x85);
    emit_mem(e, true, 0x8b, RCX, RDX, (int32_t)offsetof(struct tlb_entry, addend));
    emit_reg(e, true, 0x01, RAX, RCX);                                          /* rcx = its host address */
    move_imm64(e, RSI, 0);                                                      /* the one chained */
    uint8_t *host = e->p - 8;
    emit_reg(e, true, 0x3b, RCX, RSI);                                          /* cmp rcx, rsi */
    uint8_t *other_host = jump_forward(e, 0x85);
    move_imm64(e, RSI, 0);                                                      /* &code_gen[page] */
    uint8_t *gen_at = e->p - 8;
    emit_mem(e, false, 0x81, 7, RSI, 0), emit32(e, 0);                          /* cmp dword [rsi], gen */
    uint8_t *gen = e->p - 4;
    uint8_t *changed = jump_forward(e, 0x85);
    emit_reg(e, true, 0x89, RAX, R13);                                          /* r13 = its pc */
    emit8(e, 0xe9);
    uint8_t *jump = e->p;
    emit32(e, 0);
    if (!e->overflow && (host - site != OTHER_PAGE_HOST || gen_at - site != OTHER_PAGE_GEN_AT ||
                         gen - site != OTHER_PAGE_GEN || jump - site != OTHER_PAGE_JUMP))
        abort(); /* jit_emit_patch_other_page writes at these distances */
    patch_here(e, other_entry);
    patch_here(e, other_host);
    patch_here(e, changed);
    patch_here(e, out);
    patch_here(e, site);
    return_next(e, t, site, link | JIT_LINK_OTHER_PAGE, 0);
}

void jit_emit_patch_other_page(void *site, const void *to, uintptr_t host, const _Atomic uint32_t *gen_at,
                               uint32_t gen)
{
    uint8_t *s = site;
    uint64_t gen_address = (uint64_t)(uintptr_t)gen_at;
    uint32_t into_guard = 0, rel = (uint32_t)((const uint8_t *)to + PROLOGUE_SIZE - (s + OTHER_PAGE_JUMP + 4));
    uint64_t host_address = host;
    memcpy(s + OTHER_PAGE_HOST, &host_address, 8);
    memcpy(s + OTHER_PAGE_GEN_AT, &gen_address, 8);
    memcpy(s + OTHER_PAGE_GEN, &gen, 4);
    memcpy(s + OTHER_PAGE_JUMP, &rel, 4);
    memcpy(s, &into_guard, 4);
}

/*
 * A jump back to the block's instruction `inside`, after `retired` of its instructions
 * (counted from its start, so those before `inside` are counted again on the next pass):
 * same translation, same r13, and the host registers stay; they are written back only
 * when the budget runs out or the page's code changed.
 */
static void jump_inside(struct emitter *e, const struct translation *t, unsigned retired, unsigned inside,
                        int32_t off, int32_t delta)
{
    e->conflict |= (e->label_valued[inside] & ~e->word_valued) != 0;
    extend_words(e, e->low_word & ~e->label_low[inside]);
    count_retired(e, retired - inside);
    if (e->stored) {
        uint8_t *out = jump_forward(e, 0x8e);                         /* jle out */
        uint8_t *changed = code_changed(e, t);
        emit8(e, 0xe9);                                               /* jmp to the instruction */
        emit32(e, (uint32_t)(e->label[inside] - (e->p + 4)));
        patch_here(e, out);
        patch_here(e, changed);
    } else {
        jump_to(e, 0x8f, e->label[inside]);                           /* jg to the instruction */
    }
    write_back(e);
    pc_plus(e, RAX, off, delta);
    return_next(e, t, NULL, 0, inside);
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
    /* A full buffer drops the translation, but its caller still reads the copy now: a
     * copy cut off at the buffer's end would be read past it (a monitor crashed so). */
    return e->overflow ? data : copy;
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
    emit_mem(e, false, 0x80, 7, RBX, HART(jit_fault));
    emit8(e, 0);
    emit8(e, 0x74);
    uint8_t *patch = e->p;
    emit8(e, 0);
    uint8_t *start = e->p;
    exit_with(e, JIT_EXIT_FAULT, 0, index);
    if (!e->overflow)
        *patch = (uint8_t)(e->p - start);
}

/* helper(h, rsi, rdx) with h->arch.pc = rax (the instruction's: the epc of a fault), then
 * every host base emptied, the helper having maybe filled, flushed or switched the TLB
 * (above: as forget_host_bases). rsp must be 16-aligned. */
static void call_helper(struct emitter *e, const void *helper, int32_t above)
{
    emit_mem(e, true, 0x89, RAX, RBX, HART(arch.pc));
    emit_mem(e, true, 0x8d, RDI, RBX, HART(arch.x) - (int32_t)offsetof(struct hart, arch.x)); /* rdi = h */
    call(e, helper);
    forget_host_bases(e, above);
}

/* call_helper for the instruction at off, then exits with JIT_EXIT_FAULT if the helper set
 * h->jit_fault. */
static void call_at(struct emitter *e, unsigned i, int32_t off, const void *helper)
{
    guest_pc(e, RAX, off);
    call_helper(e, helper, 0);
    fault_check(e, i);
}

/*
 * The call of a load's or store's helper, shared by the code buffer's translations (one
 * per helper): call_at's sequence, but for rax = the access's guest pc on the way in, the
 * zero flag clear on the way out when the helper set h->jit_fault and no exit of its own
 * (the caller's, jit_emit_cold: through the shared jit_emit_fault_exit). Inline, it
 * was ~80 bytes of each access's cold code. rax = the helper's result.
 */
void jit_emit_helper_call(struct emitter *e, const void *helper)
{
    emit_reg(e, true, 0x83, 5, RSP), emit8(e, 8);                       /* sub rsp, 8: C sees rsp 16-aligned */
    call_helper(e, helper, 16);                                         /* the pad and the return address */
    emit_reg(e, true, 0x83, 0, RSP), emit8(e, 8);                       /* add rsp, 8 */
    emit_mem(e, false, 0x80, 7, RBX, HART(jit_fault)), emit8(e, 0);     /* cmp byte [jit_fault], 0 */
    emit8(e, 0xc3);
}

/* The exit of a translation whose helper faulted, shared: with r14 lowered by the index
 * of the faulting instruction, exit_with(JIT_EXIT_FAULT) at that index. */
void jit_emit_fault_exit(struct emitter *e)
{
    exit_with(e, JIT_EXIT_FAULT, 0, 0);
}

/* call_at, through the buffer's shared call of the helper when it has one. */
static void call_shared_at(struct emitter *e, const struct translation *t, unsigned i, int32_t off,
                           const void *helper)
{
    const uint8_t *shared = NULL;
    for (unsigned k = 0; k < t->nhelper_calls && !shared; k++)
        if (t->helper_calls[k].helper == helper)
            shared = t->helper_calls[k].code;
    if (!shared) {
        call_at(e, i, off, helper);
        return;
    }
    guest_pc(e, RAX, off);
    emit8(e, 0xe8);                                                     /* call */
    emit32(e, (uint32_t)(shared - (e->p + 4)));
    emit8(e, 0x74);                                                     /* je: no fault */
    uint8_t *patch = e->p;
    emit8(e, 0);
    uint8_t *start = e->p;
    if (i)
        add_imm(e, true, R14, -(int32_t)i);                             /* the exit's index */
    emit8(e, 0xe9);
    emit32(e, (uint32_t)(t->fault_exit - (e->p + 4)));
    if (!e->overflow)
        *patch = (uint8_t)(e->p - start);
}

/* [rcx + va] as the memory operand of op with register reg. */
static void emit_host_access(struct emitter *e, bool w, bool size16, uint32_t op, int reg, int va)
{
    if (size16)
        emit8(e, 0x66);
    uint8_t rex = 0x40 | (w << 3) | ((reg >> 3) << 2) | ((va >> 3) << 1);
    if (rex != 0x40)
        emit8(e, rex);
    emit_op(e, op);
    emit8(e, 0x04 | ((reg & 7) << 3));     /* mod 00, rm = SIB */
    emit8(e, (uint8_t)((va & 7) << 3 | RCX)); /* base rcx, index va, scale 1 */
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

/* Whether a plain store's tag compare also tests the board's count of live reservations
 * (tlb_lookup): one byte read at an absolute 32-bit address, where the count lies below
 * 2 GiB; else the store tests it on its own (reservation_check). */
static bool reservations_folded(const struct emitter *e)
{
    return !e->sole_hart && (uintptr_t)e->reservations_live < 0x80000000u;
}

/* cmp rcx, [rbp + rax + table's tag], rcx = the page bits and the access's alignment
 * bits of va against the tag (whose low bits are clear): a misaligned access, the only
 * kind that can cross the page, takes the slow path through the same compare. */
static void tag_compare(struct emitter *e, int va, unsigned size, bool plain_store, int32_t table)
{
    emit_reg(e, true, 0x89, va, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff000u | (size - 1));         /* and rcx, mask */
    if (plain_store && reservations_folded(e)) {
        /* A plain store: the count's low byte, nonzero while any reservation is live
         * (hart_platform.reservations_live), fails the compare too, with no jump of its own. */
        emit8(e, 0x0a), emit8(e, 0x0c), emit8(e, 0x25);                          /* or cl, [abs32] */
        emit32(e, (uint32_t)(uintptr_t)e->reservations_live);
    }
    emit_tlb_entry(e, 0x3b, RCX, table + (int32_t)offsetof(struct tlb_entry, tag));
}

/*
 * The MMU's TLB hit path, inline, for the guest virtual address in register va. Jumps to
 * the returned patch sites (the slow path) on a miss or a misaligned access; on a hit
 * leaves the host address as rcx + va.
 */
static unsigned tlb_lookup(struct emitter *e, int va, bool write, unsigned size, uint8_t **miss, int keep,
                           bool plain_store)
{
    int32_t table = (int32_t)(write ? offsetof(struct tlb, write) : offsetof(struct tlb, read));
    unsigned n = 0;
    tlb_offset(e, RAX, va);
    tag_compare(e, va, size, plain_store, table);
    miss[n++] = jump_forward(e, 0x85);                                            /* miss or misaligned */
    if (keep >= 0)
        emit_mem(e, true, 0x89, RCX, RSP, HOST_BASE(keep));                      /* the page */
    emit_tlb_entry(e, 0x8b, RCX, table + (int32_t)offsetof(struct tlb_entry, addend));
    if (keep >= 0)
        emit_mem(e, true, 0x89, RCX, RSP, HOST_BASE(keep) + 8);                  /* the addend */
    return n;
}

/*
 * The slow path's first step, for a load or plain store whose inline lookup missed: the
 * entry of va's page in its victim slot (mmu.c's tlb_victim_slot, the same hash), used
 * where it lies. The helper would swap it back into the page's own slot, whose page the
 * next access evicts again when two pages a multiple of TLB_SIZE pages apart are used
 * in turn (heap, stack and mmap regions 4 MiB apart). One use in 256 (the hart's
 * jit_victim_countdown) still goes to the helper, so that a page that stays hot after a
 * one-off access evicted it soon gets its own slot back. Leaves rcx = its addend; adds
 * to slow the sites that go to the helper. Clobbers rax.
 */
static void victim_lookup(struct emitter *e, int va, bool store, unsigned size, uint8_t **slow, unsigned *nslow)
{
    _Static_assert(TLB_VICTIMS <= 128, "the mask is an imm8");
    emit_reg(e, true, 0x89, va, RAX);
    emit_reg(e, true, 0xc1, 5, RAX), emit8(e, 12);                               /* rax = vpn */
    emit_reg(e, true, 0x89, RAX, RCX);
    emit_reg(e, true, 0xc1, 5, RCX), emit8(e, TLB_BITS);
    emit_reg(e, true, 0x31, RCX, RAX);                                           /* ^ vpn >> TLB_BITS */
    emit_reg(e, true, 0xc1, 5, RCX), emit8(e, 6);
    emit_reg(e, true, 0x31, RCX, RAX);                                           /* ^ vpn >> (TLB_BITS + 6) */
    group_imm(e, false, 4, RAX, TLB_VICTIMS - 1);
    emit_reg(e, false, 0xc1, 4, RAX), emit8(e, 4);                               /* shl eax, 4: its offset */
    int32_t table = (int32_t)((store ? offsetof(struct tlb, write) : offsetof(struct tlb, read)) +
                              TLB_SIZE * sizeof(struct tlb_entry));
    tag_compare(e, va, size, store, table);
    slow[(*nslow)++] = jump_forward(e, 0x85);                                   /* another page */
    emit_mem(e, false, 0xfe, 1, RBX, HART(jit_victim_countdown));               /* dec byte */
    slow[(*nslow)++] = jump_forward(e, 0x84);                                   /* the helper's turn */
    emit_tlb_entry(e, 0x8b, RCX, table + (int32_t)offsetof(struct tlb_entry, addend));
}

/* The hit path of tlb_lookup for a load from the page whose read entry host base k
 * holds: the same compare of the page and alignment bits, against the slot. */
static void host_base_lookup(struct emitter *e, int va, unsigned size, int k, uint8_t **miss)
{
    emit_reg(e, true, 0x89, va, RCX);
    emit_reg(e, true, 0x81, 4, RCX), emit32(e, 0xfffff000u | (size - 1));         /* and rcx, mask */
    emit_mem(e, true, 0x3b, RCX, RSP, HOST_BASE(k));
    miss[0] = jump_forward(e, 0x85);                                              /* another page */
    emit_mem(e, true, 0x8b, RCX, RSP, HOST_BASE(k) + 8);
}

/* The offset from rbx of a field of guess slot k (struct load_guess). */
#define LOAD_GUESS(k, field) (HART(jit_load_guess) + (int32_t)(sizeof(struct load_guess) * (k) + offsetof(struct load_guess, field)))

/*
 * The hit path of tlb_lookup for a load with a guess (jit_emit.h's guessed loads): rcx =
 * the guess, while the read entry's tag is compared with va's page and alignment bits and
 * its addend with the one the guess predicts for that page. Returns the register that,
 * added to rcx, gives the host address: va when the guess is the addend; with directed
 * guesses rdx = va xor the slot's flip mask, one operation on va (the mask's load does
 * not wait on va). Jumps to miss[0] on a miss or misaligned access and to *wrong on a
 * wrong guess, both with rax = the entry's offset.
 */
static int guessed_lookup(struct emitter *e, int va, unsigned size, int guess, uint8_t **miss, uint8_t **wrong)
{
    int32_t table = (int32_t)offsetof(struct tlb, read);
    int index = va;
    tlb_offset(e, RAX, va);
    emit_mem(e, true, 0x8b, RCX, RBX, LOAD_GUESS(guess, guess));
    if (e->directed_guesses) {
        emit_reg(e, true, 0x89, va, RDX);
        emit_mem(e, true, 0x33, RDX, RBX, LOAD_GUESS(guess, flip));             /* xor rdx, flip */
        index = RDX;
    }
    emit_reg(e, true, 0x89, va, RDI);
    emit_reg(e, true, 0x81, 4, RDI), emit32(e, 0xfffff000u | (size - 1));         /* and rdi, mask */
    emit_tlb_entry(e, 0x3b, RDI, table + (int32_t)offsetof(struct tlb_entry, tag));
    miss[0] = jump_forward(e, 0x85);                                              /* miss or misaligned */
    if (e->directed_guesses) {
        /* The addend the guess predicts: the host address it gives, less va. */
        emit_host_access(e, true, false, 0x8d, RDI, RDX);                        /* lea rdi, [rcx+rdx] */
        emit_reg(e, true, 0x29, va, RDI);                                         /* sub rdi, va */
        emit_tlb_entry(e, 0x3b, RDI, table + (int32_t)offsetof(struct tlb_entry, addend));
    } else {
        emit_tlb_entry(e, 0x3b, RCX, table + (int32_t)offsetof(struct tlb_entry, addend));
    }
    *wrong = jump_forward(e, 0x85);
    return index;
}

/*
 * A directed guess's fix-up, at its wrong_guess with rax = the entry's offset: the
 * entry's page ascends from the one that made the slot's guess when their addends are
 * equal, descends when their addends + 2 * page are; else the slot keeps its direction.
 * Refills the slot, and rejoins the load at hit with rcx = the guess and rdx = its index.
 */
static void directed_guess_fixup(struct emitter *e, int va, int guess, uint8_t *hit)
{
    emit_tlb_entry(e, 0x8b, RDI, (int32_t)(offsetof(struct tlb, read) + offsetof(struct tlb_entry, addend)));
    emit_reg(e, true, 0x89, va, RAX);
    group_imm(e, true, 4, RAX, -4096);                                            /* and rax, ~0xfff: the page */
    emit8(e, 0x48), emit8(e, 0x8d), emit8(e, 0x0c), emit8(e, 0x47);              /* lea rcx, [rdi+rax*2] */
    emit_reg(e, true, 0xc7, 0, RDX), emit32(e, 0xfffff000u);                      /* mov rdx, ~0xfff */
    emit_mem(e, true, 0x3b, RCX, RBX, LOAD_GUESS(guess, mirrored_addend));
    uint8_t *descends = jump_forward(e, 0x84);
    emit_reg(e, false, 0x31, RDX, RDX);                                           /* xor edx, edx */
    emit_mem(e, true, 0x3b, RDI, RBX, LOAD_GUESS(guess, addend));
    uint8_t *ascends = jump_forward(e, 0x84);
    emit_mem(e, true, 0x8b, RDX, RBX, LOAD_GUESS(guess, flip));
    patch_here(e, descends);
    patch_here(e, ascends);
    emit_mem(e, true, 0x89, RDI, RBX, LOAD_GUESS(guess, addend));
    emit_mem(e, true, 0x89, RCX, RBX, LOAD_GUESS(guess, mirrored_addend));
    emit_mem(e, true, 0x89, RDX, RBX, LOAD_GUESS(guess, flip));
    /* The guess: addend + page - (page ^ flip). */
    emit_reg(e, true, 0x89, RAX, RCX);
    emit_reg(e, true, 0x31, RDX, RCX);                                            /* xor rcx, rdx */
    emit_reg(e, true, 0x29, RCX, RAX);                                            /* sub rax, rcx */
    emit8(e, 0x48), emit8(e, 0x8d), emit8(e, 0x0c), emit8(e, 0x07);              /* lea rcx, [rdi+rax] */
    emit_mem(e, true, 0x89, RCX, RBX, LOAD_GUESS(guess, guess));
    emit_reg(e, true, 0x31, va, RDX);                                             /* xor rdx, va */
    emit8(e, 0xe9);
    emit32(e, (uint32_t)(hit - (e->p + 4)));
}

/* What mem_store does besides the write when a reservation is held anywhere: a jump to
 * the slow path, which breaks the ones on the stored granule. Clobbers rax. Nothing for
 * a sole hart, whose board never counts any (mmu_reservations_count). */
static void reservation_check(struct emitter *e, uint8_t **slow, unsigned *nslow)
{
    if (e->sole_hart)
        return;
    uintptr_t live = (uintptr_t)e->reservations_live;
    if (live < 0x80000000u) { /* the board's count below 2 GiB: cmp dword [abs32], 0 */
        emit8(e, 0x83), emit8(e, 0x3c), emit8(e, 0x25), emit32(e, (uint32_t)live), emit8(e, 0);
    } else {
        move_imm64(e, RAX, (uint64_t)live);
        emit_mem(e, false, 0x83, 7, RAX, 0), emit8(e, 0); /* cmp dword [live], 0 */
    }
    slow[(*nslow)++] = jump_forward(e, 0x85);
}

/* A plain store's reservation_check, unless its tag compare made it (reservations_folded). */
static void plain_store_reservation_check(struct emitter *e, uint8_t **slow, unsigned *nslow)
{
    if (!reservations_folded(e))
        reservation_check(e, slow, nslow);
}

/*
 * For a store to a page holding code (its write entry has TLB_CODE_PAGE), with rcx = the
 * entry's addend: a jump to the slow path (which invalidates the page's code) when the
 * store's bytes overlap the page's code extent [lo, hi): data next to code stays off the
 * helper, as guest_ram_note_store() does. The address's page offset is the guest's: RAM
 * and TLB mappings are page-aligned.
 */
static void code_store_check(struct emitter *e, const struct translation *t, int va, unsigned size,
                             uint8_t **slow, unsigned *nslow)
{
    /* code_extent[(host - ram) >> 12] as (code_extent - (ram >> 12))[host >> 12]: RAM
     * is page-aligned (mmap). */
    uintptr_t extent_by_host_page = (uintptr_t)t->ram->code_extent -
                                    ((uintptr_t)t->ram->host >> 12) * sizeof(*t->ram->code_extent);
    emit_host_access(e, true, false, 0x8d, RAX, va);                       /* lea rax, [rcx+va] */
    emit_reg(e, true, 0xc1, 5, RAX), emit8(e, 12);                         /* host page number */
    move_imm64(e, RDI, (uint64_t)extent_by_host_page);
    emit8(e, 0x8b), emit8(e, 0x04), emit8(e, 0x87);                        /* eax = extent [lo, hi) */
    uint8_t *fast[2];
    emit_reg(e, false, 0x85, RAX, RAX);
    fast[0] = jump_forward(e, 0x84);                              /* no code on the page */
    /* offset >= hi as (offset << 16 | 0xffff) >= (hi << 16 | lo): va, the value and the
     * addend hold the other scratch registers. */
    emit_reg(e, false, 0x89, va, RDI);
    emit_reg(e, false, 0xc1, 4, RDI), emit8(e, 20);               /* shl edi, 20 */
    emit_reg(e, false, 0xc1, 5, RDI), emit8(e, 4);                /* shr edi, 4: offset << 16 */
    group_imm(e, false, 1, RDI, 0xffff);                          /* or edi, 0xffff */
    emit_reg(e, false, 0x39, RAX, RDI);
    fast[1] = jump_forward(e, 0x83);                              /* offset >= hi */
    emit_reg(e, false, 0xc1, 5, RDI), emit8(e, 16);               /* edi = page offset */
    emit_reg(e, false, 0x0fb7, RAX, RAX);                         /* eax = lo */
    add_imm(e, false, RDI, (int32_t)size);
    emit_reg(e, false, 0x39, RAX, RDI);
    slow[(*nslow)++] = jump_forward(e, 0x87);                     /* offset + size > lo */
    patch_here(e, fast[0]);
    patch_here(e, fast[1]);
}

/* The store of size bytes of register value at [rcx + va]. */
static void emit_store(struct emitter *e, unsigned size, int value, int va)
{
    switch (size) {
    case 1: emit_host_access(e, false, false, 0x88, value, va); break;
    case 2: emit_host_access(e, false, true, 0x89, value, va); break;
    case 4: emit_host_access(e, false, false, 0x89, value, va); break;
    default: emit_host_access(e, true, false, 0x89, value, va); break;
    }
}

/* The slow path of the access at instruction i (block offset off) that the jumps of slow
 * take, rejoining here, with the emitter's state here: helper's call, no store value, no
 * host base reused, no guess, no AMO (the callers set those). */
static struct cold_access *cold_access_here(struct emitter *e, uint8_t *const *slow, unsigned nslow, unsigned i,
                                            int32_t off, const void *helper, int va, unsigned size, int dest)
{
    struct cold_access *c = &e->cold[e->ncold++];
    memcpy(c->from, slow, nslow * sizeof(*slow));
    c->nfrom = nslow;
    c->i = i;
    c->off = off;
    c->helper = helper;
    c->resume = e->p;
    c->va = (int8_t)va;
    c->size = (uint8_t)size;
    c->value = -1;
    c->dest = (int8_t)dest;
    c->reuse = -1;
    c->guess = -1;
    c->directed = false;
    c->wrong_guess = NULL;
    c->data = NULL;
    c->hit = NULL;
    c->valid = e->valid;
    c->dirty = e->dirty;
    c->low_word = e->low_word;
    return c;
}

void jit_emit_access(struct emitter *e, const struct dinsn *d, unsigned i,
                     int32_t off, unsigned size, bool sign, bool store, const void *helper,
                     int keep, int reuse, int guess)
{
    uint8_t *slow[8], *wrong_guess = NULL;
    unsigned nslow;
    /* The address: rs1's own host register when there is no offset, else rsi. */
    int va = d->imm == 0 && e->host[d->rs1] >= 0 ? e->host[d->rs1] : RSI;
    if (va == RSI && e->host[d->rs1] >= 0) {
        emit_mem(e, true, 0x8d, RSI, e->host[d->rs1], d->imm); /* lea rsi, [rs1 + imm] */
    } else if (va == RSI) {
        load_x(e, RSI, d->rs1);
        if (d->imm)
            add_imm(e, true, RSI, d->imm);
    }
    int value = -1, dest = -1;
    if (store) {
        value = e->host[d->rs2] >= 0 ? e->host[d->rs2] : RDX;
        load_x(e, value, d->rs2);
    } else {
        dest = dest_of(e, d->rd);
    }
    int index = va; /* with rcx, the host address: a guessed lookup may give its own */
    if (reuse >= 0) {
        host_base_lookup(e, va, size, reuse, slow);
        nslow = 1;
    } else if (guess >= 0) {
        index = guessed_lookup(e, va, size, guess, slow, &wrong_guess);
        nslow = 1;
    } else {
        nslow = tlb_lookup(e, va, store, size, slow, keep, store);
    }
    uint8_t *hit = e->p;
    if (store) {
        /* A page holding code fails the tag compare (TLB_CODE_PAGE): jit_emit_cold
         * checks its code's bytes before the helper. */
        plain_store_reservation_check(e, slow, &nslow);
        emit_store(e, size, value, va);
    } else {
        switch (size) {
        case 1: emit_host_access(e, sign, false, sign ? 0x0fbe : 0x0fb6, dest, index); break;
        case 2: emit_host_access(e, sign, false, sign ? 0x0fbf : 0x0fb7, dest, index); break;
        case 4: emit_host_access(e, sign, false, sign ? 0x63 : 0x8b, dest, index); break;
        default: emit_host_access(e, true, false, 0x8b, dest, index); break;
        }
    }
    struct cold_access *c = cold_access_here(e, slow, nslow, i, off, helper, va, size, dest);
    c->value = (int8_t)value;
    c->reuse = (int8_t)reuse;
    c->guess = (int8_t)guess;
    c->directed = e->directed_guesses;
    c->wrong_guess = wrong_guess;
    c->hit = hit;
    c->len = d->len;
    if (!store)
        store_x(e, dest, d->rd);
}

/* cmovcc rdi, rax after cmp rax, src: the old value where it is the minimum or maximum. */
static uint32_t amo_keeps_old(enum amo_funct funct)
{
    switch (funct) {
    case AMO_MIN: return 0x0f4c;  /* cmovl */
    case AMO_MAX: return 0x0f4f;  /* cmovg */
    case AMO_MINU: return 0x0f42; /* cmovb */
    default: return 0x0f47;       /* cmova */
    }
}

/* rax = the reservation granule (hart_state.reservation) of RAM's host address rcx + va,
 * as mmu_reservation_granule computes it. Clobbers rdi. */
static void reservation_granule(struct emitter *e, const struct translation *t, int va)
{
    emit_host_access(e, true, false, 0x8d, RAX, va);                        /* lea rax, [rcx+va] */
    move_imm64(e, RDI, t->ram->base - (uint64_t)(uintptr_t)t->ram->host);
    emit_reg(e, true, 0x01, RDI, RAX);                                      /* add rax, rdi */
    group_imm(e, true, 4, RAX, -8);                                         /* and rax, ~7 */
}

/* LR's load into dest, remembered with its size for SC. */
static void emit_reserved_load(struct emitter *e, int va, unsigned size, int dest)
{
    if (size == 4)
        emit_host_access(e, true, false, 0x63, dest, va);                   /* movsxd */
    else
        emit_host_access(e, true, false, 0x8b, dest, va);
    emit_mem(e, true, 0x89, dest, RBX, HART(arch.reservation_value));
    emit_mem(e, false, 0xc7, 0, RBX, HART(arch.reservation_size)), emit32(e, size);
}

/* LR's hit path (exec_atomic's order): the reservation taken (counted on the board if
 * there was none, unless the hart is the sole one), then the load into dest, remembered
 * with its size for SC. With none held, a plain store: the count's locked add is the
 * fence before the load (another hart's store ending it in between makes the count wrap
 * below 0 for a moment, sending stores to their slow path). */
static void emit_load_reserved(struct emitter *e, const struct translation *t, int va, unsigned size, int dest)
{
    reservation_granule(e, t, va);
    if (e->sole_hart) {
        emit_mem(e, true, 0x89, RAX, RBX, HART(arch.reservation));
        emit_reserved_load(e, va, size, dest);
        return;
    }
    emit_mem(e, true, 0x83, 7, RBX, HART(arch.reservation)), emit8(e, 0xff); /* cmp qword [res], none */
    uint8_t *held = jump_forward(e, 0x85);
    emit_mem(e, true, 0x89, RAX, RBX, HART(arch.reservation));
    emit8(e, 0xe9);                                                         /* jmp count */
    uint8_t *count = e->p;
    emit32(e, 0);
    patch_here(e, held);
    emit_mem(e, true, 0x87, RAX, RBX, HART(arch.reservation));             /* xchg: a full fence */
    group_imm(e, true, 7, RAX, -1);                                         /* cmp rax, none */
    uint8_t *counted = jump_forward(e, 0x85);                               /* jne: one held already */
    patch_here(e, count);
    move_imm64(e, RAX, (uint64_t)(uintptr_t)e->reservations_live);
    emit8(e, 0xf0), emit_mem(e, false, 0xff, 0, RAX, 0);                    /* lock inc dword [live] */
    patch_here(e, counted);
    emit_reserved_load(e, va, size, dest);
}

/* SC's hit path when this hart's reservation is the one for this granule and size and
 * no other hart holds one (else the slow path): the reservation ended, then the store
 * if memory still holds what LR loaded; dest = 0 when it stored, else 1. */
static void emit_store_conditional(struct emitter *e, const struct translation *t, int va, unsigned size,
                                   int src, int dest, uint8_t **slow, unsigned *nslow)
{
    reservation_granule(e, t, va);
    emit_mem(e, true, 0x3b, RAX, RBX, HART(arch.reservation));             /* cmp rax, reservation */
    slow[(*nslow)++] = jump_forward(e, 0x85);
    emit_mem(e, false, 0x81, 7, RBX, HART(arch.reservation_size)), emit32(e, size);
    slow[(*nslow)++] = jump_forward(e, 0x85);
    if (e->sole_hart) {
        /* Plain accesses: nothing else holds reservations or makes atomic accesses. */
        emit_mem(e, true, 0xc7, 0, RBX, HART(arch.reservation)), emit32(e, UINT32_MAX); /* none */
        emit_mem(e, size == 8, 0x8b, RAX, RBX, HART(arch.reservation_value));
        emit_host_access(e, size == 8, false, 0x39, RAX, va);               /* cmp [va], rax */
        emit8(e, 0x75);                                                     /* jne: changed */
        uint8_t *patch = e->p;
        emit8(e, 0);
        uint8_t *start = e->p;
        emit_host_access(e, size == 8, false, 0x89, src, va);
        if (!e->overflow)
            *patch = (uint8_t)(e->p - start);
        emit8(e, 0x0f), emit8(e, 0x95), emit8(e, 0xc0);                     /* setne al */
        emit_reg(e, false, 0x0fb6, dest, RAX);                              /* movzx dest, al */
        return;
    }
    /* Only ours: a store then breaks no other hart's (as reservation_check). */
    move_imm64(e, RDI, (uint64_t)(uintptr_t)e->reservations_live);
    emit_mem(e, false, 0x83, 7, RDI, 0), emit8(e, 1);                       /* cmp dword [live], 1 */
    slow[(*nslow)++] = jump_forward(e, 0x85);
    /* Ended as exec_atomic ends it: unless another hart's store broke it meanwhile. */
    emit_reg(e, true, 0xc7, 0, RDI), emit32(e, UINT32_MAX);                /* mov rdi, none */
    emit8(e, 0xf0), emit_mem(e, true, 0x0fb1, RDI, RBX, HART(arch.reservation)); /* lock cmpxchg */
    slow[(*nslow)++] = jump_forward(e, 0x85);
    move_imm64(e, RDI, (uint64_t)(uintptr_t)e->reservations_live);
    emit8(e, 0xf0), emit_mem(e, false, 0xff, 1, RDI, 0);                    /* lock dec dword [live] */
    emit_mem(e, size == 8, 0x8b, RAX, RBX, HART(arch.reservation_value));
    emit8(e, 0xf0), emit_host_access(e, size == 8, false, 0x0fb1, src, va); /* lock cmpxchg */
    emit8(e, 0x0f), emit8(e, 0x95), emit8(e, 0xc0);                         /* setne al */
    emit_reg(e, false, 0x0fb6, dest, RAX);                                  /* movzx dest, al */
}

/* An AMO's read-modify-write of [rcx + va] with src: rax = the old value. Locked, unless
 * the hart is the sole one: a load and a store then. */
static void emit_read_modify_write(struct emitter *e, enum amo_funct funct, bool w, int va, int src)
{
    if (funct == AMO_SWAP && !e->sole_hart) {
        emit_reg(e, w, 0x8b, RAX, src);
        emit_host_access(e, w, false, 0x87, RAX, va); /* xchg (locked by itself) */
        return;
    }
    if (funct == AMO_ADD && !e->sole_hart) {
        emit_reg(e, w, 0x8b, RAX, src);
        emit8(e, 0xf0), emit_host_access(e, w, false, 0x0fc1, RAX, va); /* lock xadd */
        return;
    }
    emit_host_access(e, w, false, 0x8b, RAX, va);
    uint8_t *again = e->p;
    switch (funct) {
    case AMO_SWAP:
        emit_reg(e, w, 0x8b, RDI, src);
        break;
    case AMO_ADD: case AMO_AND: case AMO_OR: case AMO_XOR:
        emit_reg(e, w, 0x8b, RDI, RAX);
        emit_reg(e, w, funct == AMO_ADD ? 0x03 : funct == AMO_AND ? 0x23 : funct == AMO_OR ? 0x0b : 0x33, RDI, src);
        break;
    default:
        emit_reg(e, w, 0x8b, RDI, src);
        emit_reg(e, w, 0x3b, RAX, src);                /* cmp rax, src */
        emit_reg(e, w, amo_keeps_old(funct), RDI, RAX);
        break;
    }
    if (e->sole_hart) {
        emit_host_access(e, w, false, 0x89, RDI, va);
        return;
    }
    /* lock cmpxchg: on a race, rax = the value now there, computed again */
    emit8(e, 0xf0), emit_host_access(e, w, false, 0x0fb1, RDI, va);
    emit8(e, 0x75), emit8(e, (uint8_t)(again - (e->p + 1)));    /* jne again */
}

void jit_emit_amo(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i, int32_t off,
                  enum amo_funct funct, unsigned size, const void *helper, const void *data)
{
    bool w = size == 8;
    int va = e->host[d->rs1] >= 0 ? e->host[d->rs1] : RSI;
    load_x(e, va, d->rs1);
    int src = e->host[d->rs2] >= 0 ? e->host[d->rs2] : RDX;
    if (funct != AMO_LR)
        load_x(e, src, d->rs2);
    int dest = dest_of(e, d->rd);
    uint8_t *slow[8];
    unsigned nslow = tlb_lookup(e, va, funct != AMO_LR, size, slow, -1, false);
    switch (funct) {
    case AMO_LR:
        emit_load_reserved(e, t, va, size, dest);
        break;
    case AMO_SC:
        emit_store_conditional(e, t, va, size, src, dest, slow, &nslow);
        break;
    default:
        /* The stores of the AMO's slow path too: a page holding code fails the tag compare. */
        reservation_check(e, slow, &nslow);
        emit_read_modify_write(e, funct, w, va, src);
        if (w && dest != RAX)
            emit_reg(e, true, 0x8b, dest, RAX);
        else if (!w)
            emit_reg(e, true, 0x63, dest, RAX);                 /* movsxd dest, eax */
        break;
    }
    cold_access_here(e, slow, nslow, i, off, helper, va, size, dest)->data = data;
    store_x(e, dest, d->rd);
}

void jit_emit_cold(struct emitter *e, const struct translation *t)
{
    for (unsigned k = 0; k < e->nside; k++) {
        const struct side_exit *x = &e->side[k];
        patch_here(e, x->from);
        uint8_t *out[2] = { NULL, NULL };
        if (x->inside >= 0) {
            /* Into a segment of the trace only while the budget lasts (a segment may lie
             * anywhere in the page, beyond the reach of a block: debug.c's stepping) and
             * the page's code is unchanged, as on entering its block. */
            bool segment = (unsigned)x->inside >= t->traced;
            if (segment) {
                group_imm(e, true, 7, R14, (int32_t)x->retired);             /* cmp r14, retired */
                out[0] = jump_forward(e, 0x8e);                              /* jle out */
                if (x->stored)
                    out[1] = code_changed(e, t);
            }
            extend_words(e, x->low_word & ~e->label_low[x->inside]);
            /* Forward: the instructions jumped over do not retire. */
            if ((unsigned)x->inside != x->retired)
                add_imm(e, true, R14, x->inside - (int32_t)x->retired);
            emit8(e, 0xe9);
            emit32(e, (uint32_t)(e->label[x->inside] - (e->p + 4)));
            if (!segment)
                continue;
            patch_here(e, out[0]);
            if (out[1])
                patch_here(e, out[1]);
        }
        e->valid = x->valid;
        e->dirty = x->dirty;
        e->low_word = x->low_word;
        e->word_valued = x->word_valued;
        e->stored = x->stored;
        jit_emit_exit(e, t, x->retired, x->link, x->off, x->delta, x->target_offset, -1);
    }
    for (unsigned k = 0; k < e->ncold; k++) {
        const struct cold_access *c = &e->cold[k];
        uint8_t *slow[4], *from[8], *missed = NULL;
        unsigned nslow = 0;
        memcpy(from, c->from, c->nfrom * sizeof(*from));
        if (c->reuse >= 0) {
            /* Not the page of the host base it reused: the TLB then, as any access, which
             * refills the host base on a hit. */
            patch_here(e, from[0]);
            tlb_lookup(e, c->va, false, c->size, from, c->reuse, false);
            emit8(e, 0xe9);
            emit32(e, (uint32_t)(c->hit - (e->p + 4)));
        }
        if (c->guess >= 0) {
            /* The guess the entry makes, for this access and the next. */
            patch_here(e, c->wrong_guess);
            if (c->directed) {
                directed_guess_fixup(e, c->va, c->guess, c->hit);
            } else {
                emit_tlb_entry(e, 0x8b, RCX,
                               (int32_t)(offsetof(struct tlb, read) + offsetof(struct tlb_entry, addend)));
                emit_mem(e, true, 0x89, RCX, RBX, LOAD_GUESS(c->guess, guess));
                emit8(e, 0xe9);
                emit32(e, (uint32_t)(c->hit - (e->p + 4)));
            }
        }
        if (c->value >= 0) {
            /* A store whose tag compare (its first jump here) failed: with rcx the masked
             * address and rax the entry's offset still, is it the entry of a page holding
             * code? Then the store goes on inline unless it overwrites that code. (A
             * reservation count folded into rcx fails this compare too: the helper.) */
            patch_here(e, from[0]);
            int32_t table = (int32_t)offsetof(struct tlb, write);
            emit_reg(e, true, 0x81, 1, RCX), emit32(e, (uint32_t)TLB_CODE_PAGE); /* or rcx, flag */
            emit_tlb_entry(e, 0x3b, RCX, table + (int32_t)offsetof(struct tlb_entry, tag));
            missed = jump_forward(e, 0x85);
            emit_tlb_entry(e, 0x8b, RCX, table + (int32_t)offsetof(struct tlb_entry, addend));
            plain_store_reservation_check(e, slow, &nslow);
            code_store_check(e, t, c->va, c->size, slow, &nslow);
            emit_store(e, c->size, c->value, c->va);
            emit8(e, 0xe9);
            emit32(e, (uint32_t)(c->resume - (e->p + 4)));
        }
        unsigned to_helper = c->value >= 0; /* the first of from that goes to the helper */
        if (c->hit) {
            /* The tag compare's miss (a store's after the check of a page holding code). */
            patch_here(e, c->value >= 0 ? missed : from[to_helper++]);
            victim_lookup(e, c->va, c->value >= 0, c->size, slow, &nslow);
            if (c->guess >= 0 && c->directed)
                emit_reg(e, true, 0x89, c->va, RDX);                       /* the load's index */
            emit8(e, 0xe9);
            emit32(e, (uint32_t)(c->hit - (e->p + 4)));
        }
        for (unsigned n = to_helper; n < c->nfrom; n++)
            patch_here(e, from[n]);
        for (unsigned n = 0; n < nslow; n++)
            patch_here(e, slow[n]);
        /* The MMU in C (page walks, MMIO, faults) with the register file exact, as a trap
         * must see it; a load's value comes back in rax. */
        write_back_at(e, c->valid, c->dirty, c->low_word);
        if (c->data)
            move_imm64(e, RSI, (uint64_t)(uintptr_t)c->data);
        else if (c->va != RSI)
            emit_reg(e, true, 0x89, c->va, RSI);    /* mov rsi, va */
        if (c->value >= 0 && c->value != RDX)
            emit_reg(e, true, 0x89, c->value, RDX); /* mov rdx, value */
        call_shared_at(e, t, c->i, c->off, c->helper);
        /* A plain store's helper is the one place it can change code (jit_emit_access):
         * the rest of the block may be stale then. */
        uint8_t *changed = c->value >= 0 ? code_changed(e, t) : NULL;
        reload(e, c->valid);
        if (c->dest >= 0 && c->dest != RAX)
            emit_reg(e, true, 0x89, RAX, c->dest);  /* mov dest, rax */
        emit8(e, 0xe9);
        emit32(e, (uint32_t)(c->resume - (e->p + 4)));
        if (changed) {
            /* The register file is exact since the call: on at the next instruction. */
            patch_here(e, changed);
            pc_plus(e, RAX, c->off, c->len);
            return_next(e, t, NULL, 0, c->i + 1);
        }
    }
}

void jit_emit_call(struct emitter *e, unsigned rd, unsigned rs1, unsigned rs2,
                   uint64_t (*fn)(uint64_t, uint64_t))
{
    write_back(e);
    load_x(e, RDI, rs1);
    load_x(e, RSI, rs2);
    call(e, (const void *)fn);
    reload(e, e->valid);
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

/* After rd was written, by a W op when word: its value is the sign extension of its low
 * word, which a host register holds alone (unless `extended`) until read whole
 * (jit_emit_reads) or written back. Not so in memory without extend (jit_emit_alu). */
static void word_result(struct emitter *e, unsigned rd, bool word, bool extend, bool extended)
{
    if (!word || (!extend && e->host[rd] < 0))
        return;
    e->word_valued |= 1u << rd;
    if (!extended && e->host[rd] >= 0)
        e->low_word |= 1u << rd;
}

/* The register holding guest register i for reading: its host register, or rax loaded. */
static int read_x(struct emitter *e, unsigned i)
{
    if (e->host[i] >= 0)
        return e->host[i];
    load_x(e, RAX, i);
    return RAX;
}

void jit_emit_alu(struct emitter *e, enum jit_alu op, bool word, bool extend, unsigned rd, unsigned rs1,
                  unsigned rs2)
{
    if (rs1 == 0 && rs2 != 0 && !word && (op == JIT_ADD || op == JIT_OR || op == JIT_XOR)) {
        /* mv (c.mv is add rd, x0, rs2): one mov, which leaves the flags alone */
        const uint8_t *from = e->p;
        bool word_value = e->word_valued >> rs2 & 1;
        if (e->host[rd] >= 0) {
            load_x(e, e->host[rd], rs2);
            store_x(e, e->host[rd], rd);
        } else {
            store_x(e, read_x(e, rs2), rd);
        }
        e->word_valued |= (uint32_t)word_value << rd;
        flags_kept(e, from, rd);
        return;
    }
    /* and, or and xor of two W results keep the sign extension of the low word */
    bool bitwise = op == JIT_AND || op == JIT_OR || op == JIT_XOR;
    bool word_values = bitwise && ((e->word_valued | 1) >> rs1 & 1) && ((e->word_valued | 1) >> rs2 & 1);
    bool commutes = op == JIT_ADD || op == JIT_AND || op == JIT_OR || op == JIT_XOR || op == JIT_MUL;
    if (rd == rs2 && rd != rs1 && commutes) {
        rs2 = rs1; /* rd = rs1 op rd as rd op= rs1, in rd's own register */
        rs1 = rd;
    }
    /* Computed in rd's host register unless that would overwrite rs2 before its use. */
    int t = rd != rs2 ? dest_of(e, rd) : RAX;
    switch (op) {

    case JIT_SLL: case JIT_SRL: case JIT_SRA:
        load_x(e, RCX, rs2);
        t = dest_of(e, rd);
        load_x(e, t, rs1);
        emit_reg(e, !word, 0xd3, shift_ext(op), t); /* shl/shr/sar t, cl: x86 masks cl as RISC-V does */
        break;
    case JIT_SLT: case JIT_SLTU:
        op_x(e, true, 0x3b, read_x(e, rs1), rs2);
        store_cc(e, op == JIT_SLT ? 0x9c : 0x92, rd);
        return;
    case JIT_MULH: case JIT_MULHU:
        load_x(e, RAX, rs1);
        op_x(e, true, 0xf7, op == JIT_MULH ? 5 : 4, rs2); /* rdx:rax = rax * rs2 */
        store_x(e, RDX, rd);
        return;
    case JIT_SH1ADD: case JIT_SH2ADD: case JIT_SH3ADD:
        load_x(e, t, rs1);
        emit_reg(e, true, 0xc1, 4, t);
        emit8(e, op == JIT_SH1ADD ? 1 : op == JIT_SH2ADD ? 2 : 3);
        op_x(e, true, 0x03, t, rs2);
        break;
    case JIT_ADDUW:
        op_x(e, false, 0x8b, t, rs1); /* mov t32, rs1: zero-extends */
        if (rs2) /* else zext.w, which jit.c also makes of rv64gc's slli 32, srli 32 */
            op_x(e, true, 0x03, t, rs2);
        break;
    case JIT_SUB:
        if (rs1 == 0) { /* neg, negw */
            t = dest_of(e, rd);
            load_x(e, t, rs2);
            if (e->small >> rs2 & 1)
                word = false; /* -v for v in [0, 2^31) is its own sign extension */
            emit_reg(e, !word, 0xf7, 3, t);
            break;
        }
        /* fall through */
    default:
        load_x(e, t, rs1);
        op_x(e, !word, rm_opcode(op), t, rs2);
        break;
    }
    if (word && extend && e->host[rd] < 0)
        emit_reg(e, true, 0x63, t, t); /* movsxd t, t32: the flags stay */
    store_x(e, t, rd);
    word_result(e, rd, word, extend, false);
    e->word_valued |= (uint32_t)word_values << rd;
    if (op == JIT_ADD || op == JIT_SUB || op == JIT_AND || op == JIT_OR || op == JIT_XOR)
        zero_flag_of(e, rd);
}

void jit_emit_alu_imm(struct emitter *e, enum jit_alu op, bool word, bool extend, unsigned rd, unsigned rs1,
                      int32_t imm)
{
    if (op == JIT_SLT || op == JIT_SLTU) {
        group_imm(e, true, 7, read_x(e, rs1), imm); /* cmp rs1, imm */
        store_cc(e, op == JIT_SLT ? 0x9c : 0x92, rd);
        return;
    }
    if (rs1 == 0 && (op == JIT_ADD || op == JIT_OR || op == JIT_XOR)) {
        jit_emit_move_imm(e, rd, imm); /* li: a 12-bit imm is its own sign extension */
        return;
    }
    int t = dest_of(e, rd);
    const uint8_t *from = e->p;
    /* A W result stays one through and, or and xor with a 12-bit immediate and mv (addi
     * 0); andi with a non-negative mask makes one of anything. */
    bool source_word = e->word_valued >> rs1 & 1;
    bool word_value = (op == JIT_AND && imm >= 0) ||
                      (source_word && (op == JIT_AND || op == JIT_OR || op == JIT_XOR || (op == JIT_ADD && !imm)));
    if (word && op == JIT_ADD && imm == 0) {
        if (e->host[rd] >= 0)
            load_x(e, t, rs1);           /* sext.w: the low word is rs1's */
        else
            op_x(e, true, 0x63, t, rs1); /* movsxd t, rs1 */
        store_x(e, t, rd);
        word_result(e, rd, true, true, e->host[rd] < 0);
        flags_kept(e, from, rd);
        return;
    }
    if (op == JIT_ADD && imm && e->host[rs1] >= 0 && e->host[rs1] != t) {
        emit_mem(e, !word, 0x8d, t, e->host[rs1], imm); /* lea t, [rs1 + imm] */
        if (word && extend && e->host[rd] < 0)
            emit_reg(e, true, 0x63, t, t);                /* movsxd t, t32 */
        store_x(e, t, rd);
        word_result(e, rd, word, extend, false);
        return;
    }
    load_x(e, t, rs1);
    switch (op) {
    case JIT_SLL: case JIT_SRL: case JIT_SRA:
        emit_reg(e, !word, 0xc1, shift_ext(op), t);
        emit8(e, (uint8_t)imm);
        break;
    case JIT_AND: case JIT_OR: case JIT_XOR:
        group_imm(e, true, op == JIT_XOR ? 6 : op == JIT_OR ? 1 : 4, t, imm);
        break;
    default:
        if (imm) /* mv adds nothing */
            add_imm(e, !word, t, imm);
        break;
    }
    /* srliw by 1 or more leaves bit 31 clear: the 32-bit op's zero extension is the sign's */
    bool extended = op == JIT_SRL && imm > 0;
    if (word && extend && !extended && e->host[rd] < 0)
        emit_reg(e, true, 0x63, t, t); /* movsxd t, t32 */
    store_x(e, t, rd);
    word_result(e, rd, word, extend, extended);
    e->word_valued |= (uint32_t)word_value << rd;
    if (op == JIT_AND || op == JIT_OR || op == JIT_XOR || (op == JIT_ADD && imm))
        zero_flag_of(e, rd);
    else if (op == JIT_ADD)
        flags_kept(e, from, rd); /* mv: movs only */
    if (op == JIT_AND && imm >= 0)
        e->small |= 1ull << rd;
}

void jit_emit_move_imm(struct emitter *e, unsigned rd, int32_t imm)
{
    const uint8_t *from = e->p;
    op_x(e, true, 0xc7, 0, rd); /* mov rd, simm32 */
    emit32(e, (uint32_t)imm);
    mark_written(e, rd);
    e->word_valued |= 1u << rd; /* a 32-bit immediate, sign-extended */
    flags_kept(e, from, rd);
}

void jit_emit_pc_relative(struct emitter *e, unsigned rd, int32_t off, int32_t delta)
{
    int t = dest_of(e, rd);
    pc_plus(e, t, off, delta);
    store_x(e, t, rd);
}

void jit_emit_exit(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                   int32_t off, int32_t delta, int64_t target_offset, int inside)
{
    if (inside >= 0 && (unsigned)inside < retired) {
        jump_inside(e, t, retired, (unsigned)inside, off, delta);
    } else if (inside >= 0) {
        /* forward, to an instruction whose code comes later: through jit_emit_cold */
        emit8(e, 0xe9);
        uint8_t *from = e->p;
        emit32(e, 0);
        e->side[e->nside++] = (struct side_exit){ from, retired, link, off, delta, target_offset, inside,
                                                  e->valid, e->dirty, e->low_word, e->word_valued,
                                                  e->stored };
    } else if (target_offset >= 0) {
        exit_chained(e, t, retired, link, off, delta);
    } else if (target_offset == JIT_TARGET_OTHER_PAGE) {
        exit_other_page(e, t, retired, link, off, delta);
    } else {
        pc_plus(e, RAX, off, delta);
        exit_elsewhere(e, t, retired);
    }
}

void jit_emit_exit_indirect(struct emitter *e, const struct translation *t, unsigned retired, unsigned rs1,
                            int32_t imm, unsigned rd, int32_t next_off)
{
    load_x(e, RAX, rs1);
    if (imm) /* ret and most calls through a register have none */
        add_imm(e, true, RAX, imm);
    emit_reg(e, true, 0x83, 4, RAX); /* and rax, -2 */
    emit8(e, 0xfe);
    if (rd) {
        guest_pc(e, RCX, next_off);
        store_x(e, RCX, rd);
    }
    exit_elsewhere(e, t, retired);
}

void jit_emit_branch(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                     int32_t off, enum jit_cond cond, int64_t taken_offset, int inside)
{
    static const uint8_t jcc[] = { [JIT_EQ] = 0x84, [JIT_NE] = 0x85, [JIT_LT] = 0x8c,
                                   [JIT_GE] = 0x8d, [JIT_LTU] = 0x82, [JIT_GEU] = 0x83 };
    if (d->rs2 == 0 && (cond == JIT_EQ || cond == JIT_NE) && e->zero_end == e->p && e->zero_reg == d->rs1) {
        /* beqz/bnez of the register the code before set the flags for */
    } else if (e->host[d->rs1] < 0 && e->host[d->rs2] >= 0) {
        emit_mem(e, true, 0x39, e->host[d->rs2], RBX, XREG(d->rs1)); /* cmp [rs1], rs2: rs1 in memory */
    } else {
        int a = read_x(e, d->rs1);
        if (d->rs2 == 0) /* test rs1, rs1: the flags of cmp rs1, 0 (its low word's, for a W result) */
            emit_reg(e, !(e->low_word >> d->rs1 & 1), 0x85, a, a);
        else
            op_x(e, true, 0x3b, a, d->rs2);      /* cmp rs1, rs2 */
    }
    if (inside >= 0 && (unsigned)inside <= i) {
        /* A loop within the block: it goes on straight, without a taken jump. */
        uint8_t *not_taken = jump_forward(e, jcc[cond] ^ 1);
        jump_inside(e, t, i + 1, (unsigned)inside, off, d->imm);
        patch_here(e, not_taken);
        return;
    }
    e->side[e->nside++] = (struct side_exit){ jump_forward(e, jcc[cond]), i + 1, BLOCK_LINK_TAKEN, off, d->imm,
                                              taken_offset, inside, e->valid, e->dirty, e->low_word,
                                              e->word_valued, e->stored };
}

void jit_emit_call_insn(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, const void *helper)
{
    write_back(e);
    move_imm64(e, RSI, (uint64_t)(uintptr_t)d);
    call_at(e, i, off, helper);
    reload(e, e->valid);
    e->small = 0; /* the instruction may have written any register */
    e->word_valued = 0;
    e->low_word = 0; /* (any other was extended by the write-back) */
}

/* An inline CSR access's guard: jumps to slow[0] and slow[1] (patched to the call) in U
 * mode and at V=1. */
static void csr_guard(struct emitter *e, uint8_t **slow)
{
    emit_mem(e, false, 0x83, 7, RBX, HART(arch.priv)), emit8(e, PRIV_U); /* cmp dword [priv], U */
    slow[0] = jump_forward(e, 0x84);
    emit_mem(e, true, 0x83, 7, RBX, HART(arch.virt)), emit8(e, 0);    /* cmp qword [virt], 0 */
    slow[1] = jump_forward(e, 0x85);
}

/* rcx = x[rs1] (or the uimm, immediate) combined by op (Zicsr's) with rax. */
static void csr_new_value(struct emitter *e, const struct dinsn *d, int op, bool immediate)
{
    if (immediate)
        emit_reg(e, false, 0xc7, 0, RCX), emit32(e, d->rs1);              /* mov ecx, uimm */
    else
        load_x(e, RCX, d->rs1);
    if (op == CSR_OP_SET) {
        emit_reg(e, true, 0x09, RAX, RCX);                              /* or rcx, rax */
    } else if (op == CSR_OP_CLEAR) {
        emit_reg(e, true, 0xf7, 2, RCX);                                /* not rcx */
        emit_reg(e, true, 0x21, RAX, RCX);                              /* and rcx, rax */
    }
}

/* The end of an inline CSR access (rd = rax, then past the call) and the call the jumps of
 * slow[n] take instead: with the registers of valid, dirty and low_word as before the access, rd
 * loaded after it as the inline path leaves it, and the data TLB pointer reloaded when
 * tlb_moves. */
static void csr_call(struct emitter *e, uint8_t **slow, unsigned n, uint32_t valid, uint32_t dirty,
                     uint32_t low_word, const struct dinsn *d, unsigned i, int32_t off, const void *helper,
                     bool tlb_moves)
{
    store_x(e, RAX, d->rd);
    emit8(e, 0xe9);                                                     /* jmp past the call */
    uint8_t *done = e->p;
    emit32(e, 0);
    for (unsigned k = 0; k < n; k++)
        patch_here(e, slow[k]);
    write_back_at(e, valid, dirty, low_word);
    move_imm64(e, RSI, (uint64_t)(uintptr_t)d);
    call_at(e, i, off, helper);
    load_held(e, e->valid);
    if (tlb_moves)
        jit_emit_data_tlb_reload(e);
    patch_here(e, done);
}

void jit_emit_csr_field(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, size_t field, int op,
                        bool writes, bool immediate, uint64_t writable, const void *helper)
{
    int32_t at = (int32_t)field + HART(arch.x) - (int32_t)offsetof(struct hart, arch.x);
    uint32_t valid = e->valid, dirty = e->dirty, low_word = e->low_word;
    uint8_t *slow[2];
    csr_guard(e, slow);
    emit_mem(e, true, 0x8b, RAX, RBX, at);                              /* rax = the field */
    if (writes) {
        csr_new_value(e, d, op, immediate);
        if (writable != ~0ULL)
            group_imm(e, true, 4, RCX, (int32_t)writable);              /* and rcx, sign-extended imm */
        emit_mem(e, true, 0x89, RCX, RBX, at);
    }
    csr_call(e, slow, 2, valid, dirty, low_word, d, i, off, helper, false);
}

void jit_emit_sstatus(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, int op, bool writes,
                      bool immediate, const void *helper)
{
    _Static_assert(SSTATUS_IN_PLACE <= 0x7fffffff && (MSTATUS_SUM | MSTATUS_MXR | MSTATUS_FS) <= 0x7fffffff,
                   "the bits tested and written inline take 32-bit immediates");
    uint32_t valid = e->valid, dirty = e->dirty, low_word = e->low_word;
    uint8_t *slow[4];
    csr_guard(e, slow);
    /* rax = mstatus & SSTATUS_MASK, SD set when FS is dirty */
    emit_mem(e, true, 0x8b, RAX, RBX, HART(arch.mstatus));
    emit_reg(e, false, 0x8b, RDX, RAX);                                 /* mov edx, eax */
    emit_reg(e, false, 0xf7, 2, RDX);                                   /* not edx */
    emit_reg(e, false, 0xf7, 0, RDX), emit32(e, (uint32_t)MSTATUS_FS);  /* test edx, FS */
    emit8(e, 0x75);                                                     /* jnz: FS not dirty */
    uint8_t *clean = e->p;
    emit8(e, 0);
    uint8_t *sd = e->p;
    emit_reg(e, true, 0x0fba, 5, RAX), emit8(e, 63);                    /* bts rax, 63 */
    if (!e->overflow)
        *clean = (uint8_t)(e->p - sd);
    move_imm64(e, RDX, SSTATUS_MASK);
    emit_reg(e, true, 0x21, RDX, RAX);                                  /* and rax, rdx */
    if (writes) {
        csr_new_value(e, d, op, immediate);
        emit_reg(e, true, 0x8b, RDX, RCX);                              /* mov rdx, rcx */
        emit_reg(e, true, 0x31, RAX, RDX);                              /* xor rdx, rax: what changes */
        emit_reg(e, false, 0xf7, 0, RDX), emit32(e, (uint32_t)(MSTATUS_SUM | MSTATUS_MXR)); /* test */
        slow[2] = jump_forward(e, 0x85);                                /* jnz: the TLB's context */
        emit_reg(e, false, 0x21, RCX, RDX);                             /* and edx, ecx: what it sets */
        emit_reg(e, false, 0xf7, 0, RDX), emit32(e, (uint32_t)MSTATUS_SIE); /* test */
        emit8(e, 0x74);                                                 /* jz: SIE stays as it was or clears */
        uint8_t *masked = e->p;
        emit8(e, 0);
        uint8_t *unmask = e->p;
        emit_mem(e, true, 0x8b, RDX, RBX, HART(arch.mip));
        emit_mem(e, true, 0x0b, RDX, RBX, HART(arch.hvip));             /* or */
        emit_mem(e, true, 0x23, RDX, RBX, HART(arch.mie));              /* and */
        slow[3] = jump_forward(e, 0x85);                                /* jnz: one may be taken now */
        if (!e->overflow)
            *masked = (uint8_t)(e->p - unmask);
        group_imm(e, false, 4, RCX, (int32_t)SSTATUS_IN_PLACE);         /* and ecx */
        emit_mem(e, true, 0x8b, RDX, RBX, HART(arch.mstatus));
        group_imm(e, true, 4, RDX, ~(int32_t)SSTATUS_IN_PLACE);         /* and rdx, sign-extended */
        emit_reg(e, true, 0x09, RCX, RDX);                              /* or rdx, rcx */
        emit_mem(e, true, 0x89, RDX, RBX, HART(arch.mstatus));
    }
    csr_call(e, slow, writes ? 4 : 2, valid, dirty, low_word, d, i, off, helper, true);
}

void jit_emit_data_tlb_reload(struct emitter *e)
{
    emit_mem(e, false, 0x8b, RAX, RBX, HART(mmu_ctx));
    emit_reg(e, false, 0xc1, 4, RAX), emit8(e, 3);    /* shl eax, 3 */
    emit_reg(e, true, 0x01, RBX, RAX);                /* rax = rbx + ctx * 8 */
    emit_mem(e, true, 0x8b, RBP, RAX, HART(ctx_tlb)); /* rbp = its table */
}

void jit_emit_fence(struct emitter *e, bool write_read)
{
    /* x86 keeps every other order by itself (TSO) */
    if (write_read)
        emit8(e, 0x0f), emit8(e, 0xae), emit8(e, 0xf0); /* mfence */
}

void jit_emit_exit_slow(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off)
{
    write_back(e);
    guest_pc(e, RAX, off);
    emit_mem(e, true, 0x89, RAX, RBX, HART(arch.pc));
    move_imm64(e, RDX, (uint64_t)(uintptr_t)d);
    emit_mem(e, true, 0x89, RDX, RBX, HART(jit_exit_insn));
    exit_with(e, JIT_EXIT_SLOW, 0, i);
}

/* ---- F and D ---- */

_Static_assert(offsetof(struct hart_state, f) == offsetof(struct hart_state, x) + 8 * JIT_FREG(0),
               "FP registers are register-file indices 32 to 63");

/* jcc to the returned site when V is 0 (cmp qword [virt], 0). */
static uint8_t *unless_virt(struct emitter *e)
{
    emit_mem(e, true, 0x83, 7, RBX, HART(arch.virt)), emit8(e, 0);
    return jump_forward(e, 0x84);
}

void jit_emit_fp_enabled_check(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off)
{
    uint8_t *on[2], *off_site;
    emit_mem(e, false, 0xf7, 0, RBX, HART(arch.mstatus)), emit32(e, (uint32_t)MSTATUS_FS); /* test */
    off_site = jump_forward(e, 0x84);
    on[0] = unless_virt(e);
    emit_mem(e, false, 0xf7, 0, RBX, HART(arch.vsstatus)), emit32(e, (uint32_t)MSTATUS_FS);
    on[1] = jump_forward(e, 0x85);
    patch_here(e, off_site);
    jit_emit_exit_slow(e, jit_emit_data(e, d, sizeof(*d)), i, off);
    patch_here(e, on[0]);
    patch_here(e, on[1]);
}

void jit_emit_fp_dirty(struct emitter *e)
{
    emit_mem(e, false, 0x81, 1, RBX, HART(arch.mstatus)), emit32(e, (uint32_t)MSTATUS_FS); /* or */
    uint8_t *done = unless_virt(e);
    emit_mem(e, false, 0x81, 1, RBX, HART(arch.vsstatus)), emit32(e, (uint32_t)MSTATUS_FS);
    patch_here(e, done);
}

void jit_emit_fp_box_single(struct emitter *e, unsigned freg)
{
    emit_mem(e, false, 0xc7, 0, RBX, XREG(freg) + 4), emit32(e, 0xffffffffu); /* mov dword */
}

/* Whether the host has FMA3 (with the OS saving AVX state, which the check includes). */
static bool host_has_fma(void)
{
    return __builtin_cpu_supports("fma");
}

void jit_emit_fp_arith(struct emitter *e, enum jit_fp_op op, bool single, unsigned fd, unsigned fs1,
                       unsigned fs2, unsigned fs3, bool dynamic_rm, const struct dinsn *d, unsigned i,
                       int32_t off, const void *helper)
{
    /* SSE opcodes; for the fused ones the vfm*213 forms (0F38), xmm0 = xmm0 * xmm1 +- m */
    static const uint32_t sse[] = { [JIT_FADD] = 0x0f58, [JIT_FSUB] = 0x0f5c, [JIT_FMUL] = 0x0f59,
                                    [JIT_FDIV] = 0x0f5e, [JIT_FSQRT] = 0x0f51, [JIT_FMADD] = 0xa9,
                                    [JIT_FMSUB] = 0xab, [JIT_FNMSUB] = 0xad, [JIT_FNMADD] = 0xaf };
    bool fused = op >= JIT_FMADD;
    if (fused && !host_has_fma()) {
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, helper);
        return;
    }
    uint8_t prefix = single ? 0xf3 : 0xf2; /* ss or sd */
    const unsigned operands[] = { fs1, fs2, fs3 };
    unsigned noperands = op == JIT_FSQRT ? 1 : fused ? 3 : 2;
    uint8_t *slow[6];
    unsigned nslow = 0;
    emit_mem(e, false, 0xf6, 0, RBX, HART(arch.fflags)), emit8(e, FFLAG_NX); /* test byte */
    slow[nslow++] = jump_forward(e, 0x84);
    if (dynamic_rm) {
        emit_mem(e, false, 0x83, 7, RBX, HART(arch.frm)), emit8(e, 0);        /* frm == RNE */
        slow[nslow++] = jump_forward(e, 0x85);
    }
    for (unsigned k = 0; single && k < noperands; k++) {
        /* an operand that is not NaN-boxed reads as the canonical NaN: exec_fp's case */
        emit_mem(e, false, 0x83, 7, RBX, XREG(operands[k]) + 4), emit8(e, 0xff); /* cmp dword, -1 */
        slow[nslow++] = jump_forward(e, 0x85);
    }
    emit8(e, prefix);
    if (op == JIT_FSQRT) {
        emit_mem(e, false, sse[op], 0, RBX, XREG(fs1));                        /* sqrt xmm0, fs1 */
    } else if (fused) {
        emit_mem(e, false, 0x0f10, 0, RBX, XREG(fs1));                         /* mov xmm0, fs1 */
        emit8(e, prefix);
        emit_mem(e, false, 0x0f10, 1, RBX, XREG(fs2));                         /* mov xmm1, fs2 */
        /* VEX.LIG.66.0F38.W(double) vfm*213 xmm0, xmm1, [rbx + fs3] */
        emit8(e, 0xc4), emit8(e, 0xe2), emit8(e, single ? 0x71 : 0xf1);
        emit8(e, (uint8_t)sse[op]), emit8(e, 0x83), emit32(e, (uint32_t)XREG(fs3));
    } else {
        emit_mem(e, false, 0x0f10, 0, RBX, XREG(fs1));                         /* mov xmm0, fs1 */
        emit8(e, prefix);
        emit_mem(e, false, sse[op], 0, RBX, XREG(fs2));                        /* op xmm0, fs2 */
    }
    emit8(e, 0x66), emit_reg(e, !single, 0x0f7e, 0, RAX);                     /* mov(q/d) rax, xmm0 */
    /* fpu_plain_double/single: the exponent field in [FPU_PLAIN_EXP_LO, its HI] */
    emit_reg(e, true, 0x89, RAX, RCX);
    emit_reg(e, true, 0xc1, 5, RCX), emit8(e, single ? 23 : 52);
    emit_reg(e, false, 0x81, 4, RCX), emit32(e, single ? 0xff : 0x7ff);
    add_imm(e, false, RCX, -FPU_PLAIN_EXP_LO);
    emit_reg(e, false, 0x81, 7, RCX);
    emit32(e, (single ? FPU_PLAIN_EXP_HI_S : FPU_PLAIN_EXP_HI_D) - FPU_PLAIN_EXP_LO);
    slow[nslow++] = jump_forward(e, 0x87);                                     /* ja */
    emit_mem(e, true, 0x89, RAX, RBX, XREG(fd));
    if (single)
        jit_emit_fp_box_single(e, fd);
    emit8(e, 0xe9);                                                            /* jmp over the call */
    uint8_t *done = e->p;
    emit32(e, 0);
    for (unsigned k = 0; k < nslow; k++)
        patch_here(e, slow[k]);
    uint32_t word_valued = e->word_valued, low_word = e->low_word;
    jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, helper);
    /* the code above left them so, and the helper writes an FP register only */
    e->word_valued = word_valued;
    e->low_word = low_word;
    patch_here(e, done);
}

#endif
