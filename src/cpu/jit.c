/*
 * The host-independent half of the translator (see jit.h and jit_emit.h): the code
 * buffer, the C helpers translated code calls, and the mapping of each decoded op onto
 * the emitter's operations. Semantics come from alu.h and mmu.h, as for the other
 * engines; only encodings live in the emitter.
 */
#include "cpu/jit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu/alu.h"
#include "cpu/decode.h"
#include "cpu/execute.h"
#include "cpu/jit_emit.h"
#include "cpu/mmu.h"

#if JIT_HAVE_EMITTER

struct jit {
    uint8_t *buf;
    size_t size, used;
    struct jit_jump jumps[JIT_JUMP_SIZE];
};

/* ---- helpers called from translated code: the slow paths of loads and stores ---- */

#define LOAD_HELPER(name, fn, size, sign)                          \
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

/*
 * An OP_SLOW instruction that only computes, loads or stores (atomics, bit
 * manipulation beyond Zba): it cannot change privilege, translation, interrupts or the
 * code cache, so translated code runs it through the reference executor in place and
 * goes on to the next block, instead of returning to the run loop for it.
 */
static bool slow_in_place(const struct dinsn *d)
{
    switch (d->imm & 0x7f) {
    case 0x2f: case 0x13: case 0x1b: case 0x33: case 0x3b:
        return true;
    default:
        return false;
    }
}

/* An F/D/Zfh instruction (OP_FP) in place, within the block. */
static void jit_fp_insn(struct hart *h, const struct dinsn *d)
{
    if (!exec_fp(h, (uint32_t)d->imm, dinsn_raw(d)))
        h->jit_fault = true; /* trapped: pc is at the handler */
}

static void jit_slow_insn(struct hart *h, const struct dinsn *d)
{
    if (exec_slow(h, d) != EXEC_NEXT)
        h->jit_fault = true; /* trapped: pc is at the handler */
    else
        h->arch.instret--;   /* exec_one counted it; so does the block's retired count */
}

/* ---- translation ---- */

/* Whether an instruction of block b before index i is an FP one (OP_FP), other than a
 * store when stores_too is false. */
static bool fp_before(const struct block *b, unsigned i, bool stores_too)
{
    for (unsigned k = 0; k < i; k++)
        if (b->insns[k].op == OP_FP && (stores_too || (b->insns[k].imm & 0x7f) != 0x27))
            return true;
    return false;
}

/* The arithmetic jit_emit_fp_arith inlines (S and D: fmt 0 or 1); -1 for other instructions. */
static int inline_fp_op(uint32_t insn)
{
    unsigned rm = insn_funct3(insn);
    if (((insn >> 25) & 3) > 1 || (rm != 0 && rm != 7))
        return -1;
    switch (insn & 0x7f) {
    case 0x43: return JIT_FMADD;
    case 0x47: return JIT_FMSUB;
    case 0x4b: return JIT_FNMSUB;
    case 0x4f: return JIT_FNMADD;
    case 0x53: break;
    default: return -1;
    }
    switch (insn >> 27) {
    case 0x00: return JIT_FADD;
    case 0x01: return JIT_FSUB;
    case 0x02: return JIT_FMUL;
    case 0x03: return JIT_FDIV;
    case 0x0b: return insn_rs2(insn) == 0 ? JIT_FSQRT : -1;
    default: return -1;
    }
}

/*
 * An FP instruction: flw, fld, fsw and fsd take the inline TLB path as integer loads and
 * stores do, single and double add/sub/mul/div/sqrt and fused multiply-adds the host's
 * arithmetic while it gives the RISC-V result and flags; the rest, and every slow path,
 * exec_fp. The block's first FP instruction checks that the FPU is on, its first one
 * that is no store marks FS dirty.
 */
static void translate_fp(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                         int32_t off)
{
    uint32_t insn = (uint32_t)d->imm;
    unsigned opcode = insn & 0x7f, f3 = insn_funct3(insn);
    int arith = inline_fp_op(insn);
    if (!fp_before(t->b, i, true))
        jit_emit_fp_enabled_check(e, d, i, off);
    if ((opcode == 0x07 || opcode == 0x27) && (f3 == 2 || f3 == 3)) {
        bool store = opcode == 0x27;
        struct dinsn access = { .rd = JIT_FREG(insn_rd(insn)), .rs1 = insn_rs1(insn),
                                .rs2 = JIT_FREG(insn_rs2(insn)),
                                .imm = (int32_t)(store ? insn_imm_s(insn) : insn_imm_i(insn)) };
        const void *helper = store ? (f3 == 3 ? (const void *)jit_store_SD : (const void *)jit_store_SW)
                                   : (f3 == 3 ? (const void *)jit_load_LD : (const void *)jit_load_LWU);
        e->stored |= store;
        jit_emit_access(e, t, &access, i, off, 1u << f3, false, store, helper);
        if (!store && f3 == 2)
            jit_emit_fp_box_single(e, access.rd);
    } else if (arith >= 0) {
        jit_emit_fp_arith(e, (enum jit_fp_op)arith, !(insn & 1 << 25), JIT_FREG(insn_rd(insn)),
                          JIT_FREG(insn_rs1(insn)), JIT_FREG(insn_rs2(insn)), JIT_FREG(insn >> 27), f3 == 7,
                          d, i, off, (const void *)jit_fp_insn);
    } else {
        e->stored |= opcode == 0x27;
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_fp_insn);
    }
    if (opcode != 0x27 && !fp_before(t->b, i, false))
        jit_emit_fp_dirty(e);
}

/* Offset in the block's page of the instruction at block offset off, plus delta; -1 when
 * that leaves the page. */
static int64_t page_offset(const struct translation *t, int32_t off, int64_t delta)
{
    int64_t o = (int64_t)(t->b->host_pc & 0xfff) + off + delta;
    return o >= 0 && o < 0x1000 ? o : -1;
}

static void branch(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                   int32_t off, enum jit_cond cond)
{
    jit_emit_branch(e, t, d, i, off, cond, page_offset(t, off, d->imm), page_offset(t, off, d->len));
}

/* Adds instruction d's register operands to use; returns whether d ends the block
 * (as translate_one does). */
static bool count_registers(const struct dinsn *d, struct reg_use *use)
{
    uint32_t reads = 0, writes = 0;
    bool ends = false;
    switch ((enum op)d->op) {
#define CASE(name, ...) case OP_##name:
    LOAD_OPS(CASE)
    ALU_IMM_OPS(CASE)
        reads = 1u << d->rs1, writes = 1u << d->rd;
        break;
    STORE_OPS(CASE)
        reads = 1u << d->rs1 | 1u << d->rs2;
        break;
    BRANCH_OPS(CASE)
        reads = 1u << d->rs1 | 1u << d->rs2, ends = true;
        break;
    ALU_REG_OPS(CASE)
        reads = 1u << d->rs1 | 1u << d->rs2, writes = 1u << d->rd;
        break;
#undef CASE
    case OP_LUI: case OP_AUIPC:
        writes = 1u << d->rd;
        break;
    case OP_JAL:
        writes = 1u << d->rd, ends = true;
        break;
    case OP_JALR:
        reads = 1u << d->rs1, writes = 1u << d->rd, ends = true;
        break;
    case OP_NOP:
        break;
    case OP_FP: /* FP loads and stores read their integer base; the rest go through memory */
        if ((d->imm & 0x5f) == 0x07)
            reads = 1u << insn_rs1((uint32_t)d->imm);
        break;
    case OP_END: case OP_SLOW: case OP_COUNT:
        ends = true;
        break;
    }
    for (unsigned r = 1; r < 32; r++)
        use->count[r] += (reads >> r & 1) + (writes >> r & 1);
    use->read_first |= reads & ~use->written & ~1u;
    use->written |= writes & ~1u;
    return ends;
}

/* Translates one instruction; returns false once the block has ended. */
static bool translate_one(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                          int32_t off)
{
    switch ((enum op)d->op) {
    case OP_NOP: return true;
    case OP_LUI: jit_emit_move_imm(e, d->rd, d->imm); return true;
    case OP_AUIPC: jit_emit_pc_relative(e, d->rd, off, d->imm); return true;
    case OP_JAL:
        if (d->rd)
            jit_emit_pc_relative(e, d->rd, off, d->len);
        jit_emit_exit(e, t, i + 1, BLOCK_LINK_TAKEN, off, d->imm, page_offset(t, off, d->imm));
        return false;
    case OP_JALR: jit_emit_exit_indirect(e, t, i + 1, d->rs1, d->imm, d->rd, off + d->len); return false;
    case OP_BEQ: branch(e, t, d, i, off, JIT_EQ); return false;
    case OP_BNE: branch(e, t, d, i, off, JIT_NE); return false;
    case OP_BLT: branch(e, t, d, i, off, JIT_LT); return false;
    case OP_BGE: branch(e, t, d, i, off, JIT_GE); return false;
    case OP_BLTU: branch(e, t, d, i, off, JIT_LTU); return false;
    case OP_BGEU: branch(e, t, d, i, off, JIT_GEU); return false;
#define LOAD_CASE(name, fn, size, sign) \
    case OP_##name: jit_emit_access(e, t, d, i, off, size, sign, false, (const void *)jit_load_##name); return true;
    LOAD_OPS(LOAD_CASE)
#undef LOAD_CASE
#define STORE_CASE(name, size) \
    case OP_##name: \
        e->stored = true; \
        jit_emit_access(e, t, d, i, off, size, false, true, (const void *)jit_store_##name); \
        return true;
    STORE_OPS(STORE_CASE)
#undef STORE_CASE
    case OP_ADDI: jit_emit_alu_imm(e, JIT_ADD, false, d->rd, d->rs1, d->imm); return true;
    case OP_ANDI: jit_emit_alu_imm(e, JIT_AND, false, d->rd, d->rs1, d->imm); return true;
    case OP_ORI: jit_emit_alu_imm(e, JIT_OR, false, d->rd, d->rs1, d->imm); return true;
    case OP_XORI: jit_emit_alu_imm(e, JIT_XOR, false, d->rd, d->rs1, d->imm); return true;
    case OP_SLTI: jit_emit_alu_imm(e, JIT_SLT, false, d->rd, d->rs1, d->imm); return true;
    case OP_SLTIU: jit_emit_alu_imm(e, JIT_SLTU, false, d->rd, d->rs1, d->imm); return true;
    case OP_SLLI: jit_emit_alu_imm(e, JIT_SLL, false, d->rd, d->rs1, d->imm); return true;
    case OP_SRLI: jit_emit_alu_imm(e, JIT_SRL, false, d->rd, d->rs1, d->imm); return true;
    case OP_SRAI: jit_emit_alu_imm(e, JIT_SRA, false, d->rd, d->rs1, d->imm); return true;
    case OP_ADDIW: jit_emit_alu_imm(e, JIT_ADD, true, d->rd, d->rs1, d->imm); return true;
    case OP_SLLIW: jit_emit_alu_imm(e, JIT_SLL, true, d->rd, d->rs1, d->imm); return true;
    case OP_SRLIW: jit_emit_alu_imm(e, JIT_SRL, true, d->rd, d->rs1, d->imm); return true;
    case OP_SRAIW: jit_emit_alu_imm(e, JIT_SRA, true, d->rd, d->rs1, d->imm); return true;
    case OP_ADD: jit_emit_alu(e, JIT_ADD, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SUB: jit_emit_alu(e, JIT_SUB, false, d->rd, d->rs1, d->rs2); return true;
    case OP_AND: jit_emit_alu(e, JIT_AND, false, d->rd, d->rs1, d->rs2); return true;
    case OP_OR: jit_emit_alu(e, JIT_OR, false, d->rd, d->rs1, d->rs2); return true;
    case OP_XOR: jit_emit_alu(e, JIT_XOR, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SLL: jit_emit_alu(e, JIT_SLL, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SRL: jit_emit_alu(e, JIT_SRL, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SRA: jit_emit_alu(e, JIT_SRA, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SLT: jit_emit_alu(e, JIT_SLT, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SLTU: jit_emit_alu(e, JIT_SLTU, false, d->rd, d->rs1, d->rs2); return true;
    case OP_ADDW: jit_emit_alu(e, JIT_ADD, true, d->rd, d->rs1, d->rs2); return true;
    case OP_SUBW: jit_emit_alu(e, JIT_SUB, true, d->rd, d->rs1, d->rs2); return true;
    case OP_SLLW: jit_emit_alu(e, JIT_SLL, true, d->rd, d->rs1, d->rs2); return true;
    case OP_SRLW: jit_emit_alu(e, JIT_SRL, true, d->rd, d->rs1, d->rs2); return true;
    case OP_SRAW: jit_emit_alu(e, JIT_SRA, true, d->rd, d->rs1, d->rs2); return true;
    case OP_MUL: jit_emit_alu(e, JIT_MUL, false, d->rd, d->rs1, d->rs2); return true;
    case OP_MULW: jit_emit_alu(e, JIT_MUL, true, d->rd, d->rs1, d->rs2); return true;
    case OP_MULH: jit_emit_alu(e, JIT_MULH, false, d->rd, d->rs1, d->rs2); return true;
    case OP_MULHU: jit_emit_alu(e, JIT_MULHU, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SH1ADD: jit_emit_alu(e, JIT_SH1ADD, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SH2ADD: jit_emit_alu(e, JIT_SH2ADD, false, d->rd, d->rs1, d->rs2); return true;
    case OP_SH3ADD: jit_emit_alu(e, JIT_SH3ADD, false, d->rd, d->rs1, d->rs2); return true;
    case OP_ADDUW: jit_emit_alu(e, JIT_ADDUW, false, d->rd, d->rs1, d->rs2); return true;
    case OP_MULHSU: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_MULHSU); return true;
    case OP_DIV: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_DIV); return true;
    case OP_DIVU: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_DIVU); return true;
    case OP_REM: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_REM); return true;
    case OP_REMU: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_REMU); return true;
    case OP_DIVW: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_DIVW); return true;
    case OP_DIVUW: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_DIVUW); return true;
    case OP_REMW: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_REMW); return true;
    case OP_REMUW: jit_emit_call(e, d->rd, d->rs1, d->rs2, alu_REMUW); return true;
    case OP_END:
        jit_emit_exit(e, t, i, BLOCK_LINK_NEXT, off, 0, page_offset(t, off, 0));
        return false;
    case OP_FP:
        translate_fp(e, t, d, i, off);
        return true;
    case OP_SLOW:
        if (!slow_in_place(d))
            break;
        e->stored = true;
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_slow_insn);
        jit_emit_exit(e, t, i + 1, BLOCK_LINK_NEXT, off, d->len, page_offset(t, off, d->len));
        return false;
    case OP_COUNT:
        break;
    }
    jit_emit_exit_slow(e, jit_emit_data(e, d, sizeof(*d)), i, off);
    return false;
}

jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b)
{
    struct emitter e = { .p = j->buf + j->used, .end = j->buf + j->size, .start = j->buf + j->used };
    struct translation t = { b, &h->ram->code_gen[b->page], h->ram, j->jumps, j->buf };
    uint8_t *entry = e.p;
    b->chain_site[0] = b->chain_site[1] = NULL;
    struct reg_use use = { 0 };
    int32_t off = 0;
    for (unsigned i = 0; i <= BLOCK_MAX_INSNS; i++) {
        const struct dinsn *d = &b->insns[i];
        bool jumps = d->op == OP_JAL || (d->op >= OP_BEQ && d->op <= OP_BGEU);
        if (jumps && page_offset(&t, off, d->imm) == (int64_t)(b->host_pc & 0xfff))
            use.loops = true;
        if (count_registers(d, &use))
            break;
        off += d->len;
    }
    jit_emit_prologue(&e, &use);
    off = 0;
    for (unsigned i = 0; i <= BLOCK_MAX_INSNS; i++) {
        if (!translate_one(&e, &t, &b->insns[i], i, off))
            break;
        off += b->insns[i].len;
    }
    jit_emit_cold(&e);
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

void jit_chain(void *site, jit_entry to)
{
    jit_emit_patch_chain(site, (const void *)to);
}

void jit_reset(struct jit *j)
{
    j->used = 0;
    memset(j->jumps, 0, sizeof(j->jumps));
}

void jit_release(struct jit *j)
{
    jit_reset(j);
    madvise(j->buf, j->size, MADV_DONTNEED);
}

#else /* no emitter for this host: the block engine interprets */

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

void jit_chain(void *site, jit_entry to)
{
    (void)site, (void)to;
}

void jit_reset(struct jit *j)
{
    (void)j;
}

void jit_release(struct jit *j)
{
    (void)j;
}

#endif
