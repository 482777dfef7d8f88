/*
 * The block engine. Guest code is decoded once into blocks of pre-decoded instructions
 * (a block ends at a jump, at an instruction it leaves to the reference executor, or at
 * its page's end; a conditional branch not taken runs on into the rest of the block, while
 * the translator ends its code at the first) that are cached per hart, keyed by host
 * address, i.e. by guest physical address. A block stays valid while its page's code generation is
 * unchanged: a store into the part of a page that blocks were decoded from bumps it
 * (guest_ram_note_store), and so does a device's write, so fence.i has nothing to drop.
 * Blocks are run with threaded dispatch (computed goto); common integer, branch and
 * memory instructions have their own handlers.
 */
#include "cpu/interp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/alu.h"
#include "cpu/block.h"
#include "cpu/decode.h"
#include "cpu/execute.h"
#include "cpu/jit.h"
#include "cpu/mmu.h"
#include "cpu/rvc.h"
#include "cpu/trigger.h"

/* A translation costs about 14 us and 1.8 KB of host code for 12 guest instructions: a
 * Linux boot made 22,000 (40 MB) at 16 runs and 6,000 (11 MB) at 256, which took a tenth
 * off its host CPU; at 512 and 1024 the longer interpretation cost more than that saved. */
#define JIT_HOT_RUNS_DEFAULT 256
/* 2 KiB took 3-4 % off an idle VM's host CPU when blocks took 280 bytes each (about 7
 * ahead; packed to their size, more): 1, 3 and 4 KiB less. */
#define POOL_PREFETCH_AHEAD 2048

/* BLOCK_CACHE_BYTES mapped at a huge page's start: the kernel places a mapping whose size
 * is not a multiple of huge pages anywhere, and the cache's first MiBs (its slots and the
 * pool's start, where an idle guest's blocks are) would then not fill one. */
static void *map_block_cache(void)
{
    size_t mapped = BLOCK_CACHE_BYTES + BLOCK_CACHE_ALIGN;
    uint8_t *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)p + BLOCK_CACHE_ALIGN - 1) & ~(uintptr_t)(BLOCK_CACHE_ALIGN - 1));
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uint8_t *end = (uint8_t *)(((uintptr_t)aligned + BLOCK_CACHE_BYTES + page - 1) & ~(page - 1));
    if (aligned > p)
        munmap(p, (size_t)(aligned - p));
    if (end < p + mapped)
        munmap(end, (size_t)(p + mapped - end));
    return aligned;
}

int interp_init(struct hart *h, bool translate, unsigned hot_runs, size_t code_size)
{
    /* Mapped rather than allocated: interp_release gives its pages back (zero: empty). */
    h->blocks = map_block_cache();
    if (!h->blocks)
        return -1;
    /* In huge pages: an idle guest's tick runs ~3400 blocks spread over a quarter of a
     * MiB of them, out of the host's TLB by then, and a page walk per 4K page would come
     * first. */
    madvise(h->blocks, BLOCK_CACHE_BYTES, MADV_HUGEPAGE);
    /* Without a translator for this host (or when asked not to), blocks are interpreted. */
    h->jit = translate ? jit_create(code_size ? code_size : INTERP_CODE_SIZE_DEFAULT) : NULL;
    h->jit_hot_runs = hot_runs ? hot_runs : JIT_HOT_RUNS_DEFAULT;
    return 0;
}

void interp_destroy(struct hart *h)
{
    jit_destroy(h->jit);
    h->jit = NULL;
    if (h->blocks)
        munmap(h->blocks, BLOCK_CACHE_BYTES);
    h->blocks = NULL;
}

void interp_release(struct hart *h)
{
    madvise(h->blocks, BLOCK_CACHE_BYTES, MADV_DONTNEED);
    if (h->jit)
        jit_release(h->jit);
}

/* Also when the pool's half is full (block.h): the blocks placed are marked empty, so that
 * no link to one matches, and the other half is filled from now on, so that the block the
 * run loop still holds stays intact while it moves on. */
void interp_flush(struct hart *h)
{
    struct block_cache *c = h->blocks;
    for (struct block *b = block_pool_first(c); b; b = block_pool_next(c, b))
        b->host_pc = 0;
    memset(c->slots, 0, sizeof(c->slots));
    memset(c->callers, 0, sizeof(c->callers));
    c->resume = NULL;
    c->pool_half ^= 1;
    c->pool_used = 0;
    /* The translator's jump cache finds translations without the blocks: they go too. */
    if (h->jit)
        jit_reset(h->jit);
}

static inline bool is_conditional_branch(enum op op)
{
    return op >= OP_BEQ && op <= OP_BGEU;
}

/* Whether interp_run's handler for op (rd not x0) leaves its result in acc as well. */
static inline bool sets_acc(enum op op)
{
    return op == OP_LUI || op == OP_AUIPC || (op >= OP_LB && op <= OP_LWU) || (op >= OP_ADDI && op <= OP_REV8);
}

/* Whether op leaves every register as it was (and so acc too, when it runs on). */
static inline bool writes_no_register(enum op op)
{
    return op == OP_NOP || op == OP_FENCE || is_conditional_branch(op) || (op >= OP_SB && op <= OP_SD);
}

/* Whether x[rs1] op x[rs2] is x[rs2] op x[rs1]. */
static inline bool is_commutative(enum op op)
{
    switch (op) {
    case OP_ADD: case OP_XOR: case OP_OR: case OP_AND: case OP_ADDW: case OP_MUL: case OP_MULW:
    case OP_MULH: case OP_MULHU:
        return true;
    default:
        return false;
    }
}

/* interp_run's handlers: one per op, then the forms of the conditional branches (and
 * jal) for a target in the block's page, then the branches' forms that go back to their
 * block's start, and the same in a block that stores nothing before them, then those of
 * the loads into x0, then those of the commonest pseudo-instructions: addi and addiw
 * with no immediate (mv, sext.w), addi from x0 (li), sub and subw from x0 (neg, negw). */
#define IN_PAGE_HANDLER(op) (OP_COUNT + (op) - OP_BEQ)
#define IN_PAGE_JAL_HANDLER IN_PAGE_HANDLER(OP_BGEU + 1)
#define LOOP_HANDLER(op) (IN_PAGE_JAL_HANDLER + 1 + (op) - OP_BEQ)
#define STORE_FREE_LOOP_HANDLER(op) LOOP_HANDLER(OP_BGEU + 1 + (op) - OP_BEQ)
#define LOAD_TO_X0_HANDLER(op) STORE_FREE_LOOP_HANDLER(OP_BGEU + 1 + (op) - OP_LB)
#define MV_HANDLER LOAD_TO_X0_HANDLER(OP_LWU + 1)
#define SEXT_W_HANDLER (MV_HANDLER + 1)
#define LI_HANDLER (SEXT_W_HANDLER + 1)
#define NEG_HANDLER (LI_HANDLER + 1)
#define NEGW_HANDLER (NEG_HANDLER + 1)
/* Then the forms of the register-immediate and register-register ops, mv, sext.w, neg,
 * negw and the loads that read their first operand (neg's: rs2; a load's: its base) from
 * the result of the instruction just before them (see interp_run's acc). */
#define FORWARDED_HANDLER(op) (NEGW_HANDLER + 1 + (op) - OP_ADDI)
#define FORWARDED_MV_HANDLER FORWARDED_HANDLER(OP_ADDUW + 1)
#define FORWARDED_SEXT_W_HANDLER (FORWARDED_MV_HANDLER + 1)
#define FORWARDED_NEG_HANDLER (FORWARDED_SEXT_W_HANDLER + 1)
#define FORWARDED_NEGW_HANDLER (FORWARDED_NEG_HANDLER + 1)
#define FORWARDED_LOAD_HANDLER(op) (FORWARDED_NEGW_HANDLER + 1 + (op) - OP_LB)
/* Then the in-page forms again (jal last) for a jump that no store comes before in its
 * block: they check the target block against the block's own code generation. */
#define STORE_FREE_IN_PAGE_HANDLER(op) FORWARDED_LOAD_HANDLER(OP_LWU + 1 + (op) - OP_BEQ)
#define STORE_FREE_IN_PAGE_JAL_HANDLER STORE_FREE_IN_PAGE_HANDLER(OP_BGEU + 1)
/* Then the first ld and sd of a run of two or more (see mark_runs). */
#define LD_RUN_HANDLER (STORE_FREE_IN_PAGE_JAL_HANDLER + 1)
#define SD_RUN_HANDLER (LD_RUN_HANDLER + 1)
/*
 * The commonest pairs of handlers in an idle Linux guest's ticks (a tenth of their
 * dispatches): la, a call through auipc, a return after the frame's release, a frame's
 * set-up before its saves, an array's index and element. A pair's handler runs the first
 * and jumps (directly) into the second's handler: one indirect jump fewer. X(name,
 * first, second) in the order of interp_run's pair handlers.
 */
#define PAIRS(X) \
    X(AUIPC_ADDI, OP_AUIPC, FORWARDED_HANDLER(OP_ADDI)) X(AUIPC_JALR, OP_AUIPC, OP_JALR) \
    X(ADDI_JALR, OP_ADDI, OP_JALR) X(ADDI_SD_RUN, OP_ADDI, SD_RUN_HANDLER) X(ADD_ADD, OP_ADD, OP_ADD) \
    X(ADD_LD, FORWARDED_HANDLER(OP_ADD), FORWARDED_LOAD_HANDLER(OP_LD)) \
    X(FW_ADDI_LW, FORWARDED_HANDLER(OP_ADDI), OP_LW) X(AUIPC_LW, OP_AUIPC, FORWARDED_LOAD_HANDLER(OP_LW)) \
    X(FW_ANDI_BNE, FORWARDED_HANDLER(OP_ANDI), OP_BNE) X(FW_ANDI_BEQ, FORWARDED_HANDLER(OP_ANDI), OP_BEQ) \
    X(ANDI_BEQ, OP_ANDI, OP_BEQ) X(ANDI_BNE, OP_ANDI, OP_BNE) X(ADD_BEQ, OP_ADD, OP_BEQ) \
    X(FW_ADD_LHU, FORWARDED_HANDLER(OP_ADD), FORWARDED_LOAD_HANDLER(OP_LHU)) \
    X(SLLI_SRLI, OP_SLLI, FORWARDED_HANDLER(OP_SRLI)) \
    X(FW_SLLI_SRLI, FORWARDED_HANDLER(OP_SLLI), FORWARDED_HANDLER(OP_SRLI)) X(ADDI_ADD, OP_ADDI, OP_ADD) \
    X(FW_ADDIW_SH, FORWARDED_HANDLER(OP_ADDIW), OP_SH)

#define PAIR_ONE(name, first, second) +1
enum { PAIR_COUNT = 0 PAIRS(PAIR_ONE) };
#undef PAIR_ONE

/* Then those of pairs of instructions (see mark_pairs). */
#define PAIR_HANDLER(k) (SD_RUN_HANDLER + 1 + (k))
/* Then the forms of the register-immediate and register-register ops that leave acc as
 * it was, for the instruction after them to read (see decode_block). */
#define KEEP_HANDLER(op) (PAIR_HANDLER(PAIR_COUNT) + (op) - OP_ADDI)
/* Then the forms of the additive and bitwise register-register ops (the table has room
 * for few) that take rs1 from acc and rs2 from what a keep handler before them in the
 * block set aside: crc32's bit loop's xor then reads srliw's result from a host register,
 * not through a store and a load (see decode_block). */
#define ASIDE_OPS(X) X(ADD) X(SUB) X(XOR) X(OR) X(AND) X(ADDW) X(SUBW)
#define ASIDE_ENTRY(name) OP_##name,
static const uint8_t aside_ops[] = { ASIDE_OPS(ASIDE_ENTRY) };
#undef ASIDE_ENTRY
#define ASIDE_HANDLER(k) (KEEP_HANDLER(OP_ADDUW + 1) + (unsigned)(k))
/* Then those of the FP loads and stores of F and D (OP_FP, see fp_memory_handler). */
#define FP_MEMORY_OPS(X) X(FLW, 0x07, 2) X(FLD, 0x07, 3) X(FSW, 0x27, 2) X(FSD, 0x27, 3)
#define FP_MEMORY_ENTRY(name, opcode, funct3) { opcode, funct3 },
static const uint8_t fp_memory_ops[][2] = { FP_MEMORY_OPS(FP_MEMORY_ENTRY) };
#undef FP_MEMORY_ENTRY
#define FP_MEMORY_HANDLER(k) (ASIDE_HANDLER(sizeof(aside_ops)) + (unsigned)(k))
#define HANDLER_COUNT FP_MEMORY_HANDLER(sizeof(fp_memory_ops) / sizeof(fp_memory_ops[0]))
_Static_assert(OP_ADD == OP_SRAIW + 1 && OP_CLZ == OP_ADDUW + 1,
               "ALU_IMM_OPS then ALU_REG_OPS are the ops from OP_ADDI to OP_ADDUW, in that order");
_Static_assert(HANDLER_COUNT <= 256, "a handler's index is a byte of struct block_insn");

/* The handler bi runs with where acc holds register acc_rd (x0: nothing): the form that
 * reads its operand from acc, else its own. A commutative op whose second operand is
 * there swaps its operands. */
static uint8_t forwarded_handler(struct block_insn *bi, unsigned acc_rd)
{
    unsigned handler = bi->handler;
    if (!acc_rd)
        return (uint8_t)handler;
    if (bi->rs2 == acc_rd && bi->rs1 != acc_rd && handler < OP_COUNT && is_commutative((enum op)handler)) {
        bi->rs2 = bi->rs1;
        bi->rs1 = (uint8_t)acc_rd;
    }
    if (bi->rs1 == acc_rd) {
        if (handler == MV_HANDLER || handler == SEXT_W_HANDLER)
            return handler == MV_HANDLER ? FORWARDED_MV_HANDLER : FORWARDED_SEXT_W_HANDLER;
        if (handler >= OP_ADDI && handler <= OP_ADDUW)
            return FORWARDED_HANDLER(handler);
        if (handler >= OP_LB && handler <= OP_LWU)
            return FORWARDED_LOAD_HANDLER(handler);
    }
    if (bi->rs2 == acc_rd && (handler == NEG_HANDLER || handler == NEGW_HANDLER))
        return handler == NEG_HANDLER ? FORWARDED_NEG_HANDLER : FORWARDED_NEGW_HANDLER;
    return (uint8_t)handler;
}

/* The handler bi runs with where acc holds register acc_rd and the value a keep handler set
 * aside holds register aside_rd (x0: none): its aside form where it has one and reads both
 * there, else handler as forwarded_handler chose it. */
static uint8_t aside_handler(const struct block_insn *bi, unsigned handler, unsigned acc_rd, unsigned aside_rd)
{
    if (!aside_rd || bi->rs2 != aside_rd || bi->rs1 != acc_rd)
        return (uint8_t)handler;
    for (unsigned k = 0; k < sizeof(aside_ops); k++)
        if (handler == (unsigned)FORWARDED_HANDLER(aside_ops[k]))
            return (uint8_t)ASIDE_HANDLER(k);
    return (uint8_t)handler;
}

/* The handler of OP_FP instruction insn (its 32 bits): the FP loads and stores of F and D,
 * an FP program's commonest instructions, have their own, which skip exec_fp's decoding
 * and its out-of-line paths (fp-matmul's fld took three jumps there); the rest, op_FP. */
static uint8_t fp_memory_handler(uint32_t insn)
{
    for (unsigned k = 0; k < sizeof(fp_memory_ops) / sizeof(fp_memory_ops[0]); k++)
        if ((insn & 0x7f) == fp_memory_ops[k][0] && insn_funct3(insn) == fp_memory_ops[k][1])
            return (uint8_t)FP_MEMORY_HANDLER(k);
    return OP_FP;
}

/* Whether bi, which follows an instruction whose result acc holds as register acc_rd,
 * would read its operand from acc if that instruction left kept_rd there instead (ran its
 * keep handler), and reads nothing from acc as it is. */
static bool reads_kept(const struct block_insn *bi, unsigned acc_rd, unsigned kept_rd)
{
    struct block_insn as_is = *bi, kept = *bi;
    return forwarded_handler(&as_is, acc_rd) == bi->handler && forwarded_handler(&kept, kept_rd) != bi->handler;
}

/* Decodes the block starting at host address p (guest pc, RAM page page) into insns;
 * returns how many it took, and in *gen its page's code generation. */
static unsigned decode_block(struct hart *h, struct block_insn *insns, const uint8_t *p, uint64_t pc, size_t page,
                             uint32_t *gen)
{
    unsigned n = 0, branches = 0;
    bool stores = false;
    /* The register whose value acc holds before the instruction (x0: none): the last
     * result left there, if nothing since wrote a register. */
    unsigned acc_rd = 0;
    /* The register acc held before the instruction before this one, when that one is a
     * plain ALU op that wrote another: its keep handler would leave it there (x0: none). */
    unsigned keepable_rd = 0;
    /* The register whose value the last keep handler set aside, while no instruction since
     * wrote it (x0: none); one whose destination is not a plain rd (OP_SLOW, OP_FP, an AMO,
     * a jump) may have. */
    unsigned aside_rd = 0;
    unsigned offset = pc & 0xfff, start = offset;
    /*
     * Claim the bytes a block can span before reading the generation and the bytes: a
     * store that races with the decoding then changes the generation, and the block
     * never validates.
     */
    unsigned span_end = offset + 4 * BLOCK_MAX_INSNS;
    if (guest_ram_code_extend(h->ram, page, offset, span_end < 0x1000 ? span_end : 0x1000))
        mmu_code_page_added(h, page);
    *gen = atomic_load(&h->ram->code_gen[page]);
    for (;;) {
        struct block_insn *bi = &insns[n];
        struct dinsn d;
        bool ends;
        uint8_t at = (uint8_t)(offset - start);
        unsigned len = n < BLOCK_MAX_INSNS ? decode_in_page(p - offset, offset, &d, &ends) : 0;
        if (!len) { /* full, or the next instruction crosses into the next page */
            *bi = (struct block_insn){ .handler = OP_END, .rs2 = at };
            return n + 1;
        }
        *bi = (struct block_insn){ .imm = d.imm, .handler = d.op, .rd = d.rd, .rs1 = d.rs1, .rs2 = d.rs2 };
        /* Where each handler finds `at` and the rest (block.h). */
        if (is_conditional_branch(d.op)) {
            bi->branch.target = (int16_t)(at + d.imm);
            bi->branch.link = branches < BLOCK_BRANCH_LINKS ? BLOCK_LINK_BRANCH + branches++ : BLOCK_LINK_TAKEN;
            bi->branch.ordinal = (uint8_t)(n + 1);
        } else if (d.op == OP_JAL || d.op == OP_JALR) {
            bi->imm += d.op == OP_JAL ? at : 0;
            bi->rs2 = (uint8_t)(at + len);
        } else if (d.op == OP_AUIPC) {
            bi->imm += at; /* its low 12 bits are clear: no overflow */
        } else if (d.op >= OP_SB && d.op <= OP_SD) {
            bi->rd = at;
        } else if ((d.op >= OP_LB && d.op <= OP_LWU) || d.op == OP_SLOW || d.op == OP_FP || d.op == OP_AMO ||
                   d.op == OP_CBO_ZERO || d.op == OP_TRAP_CSR || d.op == OP_RDTIME || d.op == OP_FETCH_FENCE) {
            bi->rs2 = at;
        }
        if (d.op == OP_FP)
            bi->handler = fp_memory_handler((uint32_t)d.imm);
        if (d.op == OP_FETCH_FENCE) { /* runs as OP_SLOW does, which reads its bits as fetched there */
            bi->rd = (uint8_t)d.imm;
            bi->rs1 = (uint8_t)((uint32_t)d.imm >> 8);
        }
        /* A jump to a fixed target in the block's page has a handler that follows its
         * link without the page's checks; a branch back to its block's start one that
         * does not even follow a link (see interp_run). Both only where blocks are never
         * translated: with a translator, each run of a block counts towards translating it. */
        int64_t target = (int64_t)offset + d.imm;
        bool in_page = !h->jit && (is_conditional_branch(d.op) || d.op == OP_JAL) && target >= 0 &&
                       target < 0x1000;
        if (in_page && stores)
            bi->handler = d.op == OP_JAL ? IN_PAGE_JAL_HANDLER : IN_PAGE_HANDLER(d.op);
        else if (in_page)
            bi->handler = d.op == OP_JAL ? STORE_FREE_IN_PAGE_JAL_HANDLER : STORE_FREE_IN_PAGE_HANDLER(d.op);
        if (in_page && d.op != OP_JAL && target == start)
            bi->handler = stores ? LOOP_HANDLER(d.op) : STORE_FREE_LOOP_HANDLER(d.op);
        if (d.op >= OP_LB && d.op <= OP_LWU && d.rd == 0)
            bi->handler = LOAD_TO_X0_HANDLER(d.op);
        /* Common enough (a fifth of coremark-like's instructions are sext.w) to save the
         * load of an immediate or of x0 and the arithmetic with it. */
        if ((d.op == OP_ADDI || d.op == OP_ADDIW) && d.imm == 0)
            bi->handler = d.op == OP_ADDI ? MV_HANDLER : SEXT_W_HANDLER;
        else if (d.op == OP_ADDI && d.rs1 == 0)
            bi->handler = LI_HANDLER;
        else if ((d.op == OP_SUB || d.op == OP_SUBW) && d.rs1 == 0)
            bi->handler = d.op == OP_SUB ? NEG_HANDLER : NEGW_HANDLER;
        /* A chain of dependent instructions (crc32's bit loop) then passes its values in
         * a host register instead of through x[], a store and a load apart; a loop passes
         * one from its last instructions to its first (block.h). Where the instruction
         * between a result and its reader writes another register (the bit loop's srliw
         * before and, addiw before sext.w), it runs its keep handler, which leaves acc
         * alone. Not on an idle hart, whose pairs (mark_pairs) would then match less. */
        if (keepable_rd && reads_kept(bi, acc_rd, keepable_rd)) {
            insns[n - 1].handler = (uint8_t)KEEP_HANDLER(insns[n - 1].handler);
            acc_rd = keepable_rd;
            aside_rd = insns[n - 1].rd;
        }
        bi->handler = aside_handler(bi, forwarded_handler(bi, acc_rd), acc_rd, aside_rd);
        if (bi->handler >= LOOP_HANDLER(OP_BEQ) && bi->handler <= STORE_FREE_LOOP_HANDLER(OP_BGEU))
            bi->branch.target = forwarded_handler(&insns[0], acc_rd);
        keepable_rd = !h->idle && bi->handler >= OP_ADDI && bi->handler <= OP_ADDUW && d.rd != acc_rd ? acc_rd : 0;
        if (sets_acc(d.op))
            acc_rd = d.rd;
        else if (!writes_no_register(d.op))
            acc_rd = 0;
        if (!writes_no_register(d.op) && (!sets_acc(d.op) || d.rd == aside_rd))
            aside_rd = 0;
        stores |= (d.op >= OP_SB && d.op <= OP_SD) || d.op == OP_AMO || d.op == OP_CBO_ZERO ||
                  (d.op == OP_FP && (d.imm & 0x7f) == 0x27);
        n++;
        if (ends && !is_conditional_branch(d.op))
            return n;
        p += len;
        offset += len;
    }
}

/* The first plain ld (sd) of each run of two or more in insns[0, n) gets the handler that
 * runs the whole run with one dispatch: a function's prologue saves its registers with sd
 * after sd and its epilogue restores them with ld after ld, a seventh of an idle guest's
 * ticks, each dispatch a cold indirect jump. */
static void mark_runs(struct block_insn *insns, unsigned n)
{
    for (unsigned i = 0; i + 1 < n; i++) {
        unsigned op = insns[i].handler;
        if ((op != OP_LD && op != OP_SD) || insns[i + 1].handler != op)
            continue;
        insns[i].handler = op == OP_LD ? LD_RUN_HANDLER : SD_RUN_HANDLER;
        while (i + 1 < n && insns[i + 1].handler == op)
            i++;
    }
}

/* Each pair in insns[0, n), from the first, gets its pair's handler. */
static void mark_pairs(struct block_insn *insns, unsigned n)
{
    static const uint8_t pairs[][2] = {
#define PAIR_ENTRY(name, first, second) { first, second },
        PAIRS(PAIR_ENTRY)
#undef PAIR_ENTRY
    };
    for (unsigned i = 0; i + 1 < n; i++)
        for (unsigned k = 0; k < PAIR_COUNT; k++)
            if (insns[i].handler == pairs[k][0] && insns[i + 1].handler == pairs[k][1]) {
                insns[i++].handler = (uint8_t)PAIR_HANDLER(k);
                break;
            }
}

/*
 * Translates a block that has proven hot (most code runs a few times only, and
 * interpreting it is cheaper than translating it).
 */
static void translate_block(struct hart *h, struct block *b, uint64_t pc)
{
    if (b->insns[0].handler == OP_END)
        return; /* a lone page-crossing instruction: the reference path runs it */
    if (!(b->code = jit_translate(h->jit, h, b, pc))) {
        /* The code buffer is full: start it afresh, dropping every translation. */
        jit_reset(h->jit);
        struct block_cache *c = h->blocks;
        for (struct block *placed = block_pool_first(c); placed; placed = block_pool_next(c, placed))
            placed->code = NULL;
        b->code = jit_translate(h->jit, h, b, pc);
    }
}

/* Whether b is the current block at host address host, in a page whose code generation
 * page_gen holds. */
static inline bool block_at(const struct block *b, uintptr_t host, const _Atomic uint32_t *page_gen)
{
    return b->host_pc == host && b->gen == atomic_load_explicit(page_gen, memory_order_relaxed);
}

static inline bool block_valid(const struct hart *h, const struct block *b, uintptr_t host)
{
    return block_at(b, host, &h->ram->code_gen[b->page]);
}

/* The cached block for the instruction at host address host (guest pc, RAM page page),
 * decoded afresh when its set holds it in no slot or its code changed; it becomes
 * the set's most recently used. */
static struct block *cached_block(struct hart *h, uintptr_t host, uint64_t pc, size_t page)
{
    struct block **set = block_set(h->blocks, host);
    struct block *b = set[0];
    if (likely(b && block_valid(h, b, host)))
        return b;
    /* The other slots in order of use; the last (or the first unused) gives way. */
    unsigned way = 1;
    while (way < BLOCK_CACHE_WAYS - 1 && set[way] && !block_valid(h, set[way], host))
        way++;
    b = set[way];
    if (!b || !block_valid(h, b, host)) {
        struct block_insn insns[BLOCK_MAX_INSNS + 1];
        uint32_t gen;
        unsigned n = decode_block(h, insns, (const uint8_t *)host, pc, page, &gen);
        /* Only on an idle hart, whose ticks find their blocks cold: a dispatch saved there
         * is a mispredicted jump saved (measured there). Hot code's dispatches predict
         * well, and a run's loop branch, shared by every run, may predict worse. */
        if (h->idle) {
            mark_runs(insns, n);
            mark_pairs(insns, n);
        }
        if (!b || b->capacity < n) {
            struct block_cache *c = h->blocks;
            if (c->pool_used + block_bytes(n) > block_pool_half(c))
                interp_flush(h); /* set[] empty now */
            b = block_in_pool(c, c->pool_used);
            c->pool_used += (uint32_t)block_bytes(n);
            b->capacity = (uint8_t)n;
        }
        b->host_pc = host;
        b->gen = gen;
        b->page = page;
        for (unsigned i = 0; i < BLOCK_LINKS; i++)
            block_link(b, i, block_unlinked(h->blocks));
        b->runs = 0;
        /* A block ends in an instruction that is not a nop (a jump, OP_END, OP_SLOW...). */
        for (b->entry = 0; insns[b->entry].handler == OP_NOP;)
            b->entry++;
        memcpy(b->insns, insns, n * sizeof(*insns));
        b->code = h->jit ? jit_translated(h->jit, b) : NULL;
    }
    memmove(set + 1, set, way * sizeof(*set));
    set[0] = b;
    return b;
}

/* Points b's exit `link` at the block at host address host (guest pc, in b's page), found
 * in the cache or decoded, and returns it. */
static inline struct block *relink_successor(struct hart *h, struct block *b, uintptr_t host, uint64_t pc,
                                             unsigned link)
{
    struct block *next = cached_block(h, host, pc, b->page);
    block_link(b, link, next);
    return next;
}

/*
 * The block at pc, which lies in the same guest page as block b (so shares its
 * translation), reached through b's exit `link`: found through that link, else the
 * cache, else decoded; the link then points at it.
 */
static struct block *same_page_successor(struct hart *h, struct block *b, uint64_t pc, unsigned link)
{
    uintptr_t host = (b->host_pc & ~(uintptr_t)0xfff) | (pc & 0xfff);
    struct block *next = block_next(b, link);
    if (block_valid(h, next, host))
        return next;
    return relink_successor(h, b, host, pc, link);
}

/* The block at host address host (guest pc), in block b's page whose code generation is
 * page_gen, reached through b's exit `link`: through the link when it still leads there,
 * else as relink_successor finds it. */
static inline struct block *in_page_successor(struct hart *h, struct block *b, uintptr_t host, uint64_t pc,
                                              unsigned link, const _Atomic uint32_t *page_gen)
{
    struct block *next = block_next(b, link);
    return likely(block_at(next, host, page_gen)) ? next : relink_successor(h, b, host, pc, link);
}

static inline size_t ram_page(const struct hart *h, uintptr_t host)
{
    return (host - (uintptr_t)h->ram->host) >> 12;
}

/*
 * The block at pc, whose page the fetch TLB holds at host address host, reached through
 * b's exit `link` to another page or after b's slow instruction: b's link remembers the
 * last such successor, which saves the load of its cache set (on an idle guest's ticks,
 * a cache miss of the host at nearly every call and return between pages). The TLB, not
 * the link, maps pc, so a changed translation finds the block it now maps to.
 */
static inline struct block *linked_successor(struct hart *h, struct block *b, uintptr_t host, uint64_t pc,
                                             unsigned link)
{
    struct block *next = block_next(b, link);
    if (likely(block_valid(h, next, host)))
        return next;
    next = cached_block(h, host, pc, ram_page(h, host));
    block_link(b, link, next);
    return next;
}

/* The block for pc, decoding it if needed; NULL after a fetch exception. It is looked up
 * through the fall-through link of block from, when not NULL (see linked_successor). */
static struct block *block_lookup(struct hart *h, uint64_t pc, struct block *from)
{
    uintptr_t host = mem_fetch_host_hit(h, pc, 2);
    if (unlikely(!host) && !(host = (uintptr_t)mmu_fetch_host(h, pc)))
        return NULL;
    if (from)
        return linked_successor(h, from, host, pc, BLOCK_LINK_NEXT);
    return cached_block(h, host, pc, ram_page(h, host));
}

/* Calls and returns as the ISA hints them: a jump that links in x1 or x5, a jalr through
 * x1 or x5 that does not (a jump to another page: neither has an in-page handler). */
static inline bool is_call(const struct block_insn *d)
{
    return (d->handler == OP_JAL || d->handler == OP_JALR) && (d->rd == 1 || d->rd == 5);
}

static inline bool is_return(const struct block_insn *d)
{
    return d->handler == OP_JALR && d->rd == 0 && (d->rs1 == 1 || d->rs1 == 5);
}

/*
 * The block at pc, whose page the fetch TLB holds at host address host, reached by b's
 * jump or taken branch d from another page. A return is tried first through the
 * fall-through link of the block whose call it pairs with (a return's own link names
 * only the site it returned to last: 90 % of the links an idle guest's ticks missed).
 */
static inline struct block *jump_successor(struct hart *h, struct block *b, const struct block_insn *d, uintptr_t host,
                                           uint64_t pc)
{
    struct block_cache *c = h->blocks;
    if (is_call(d)) {
        c->callers[c->callers_top++ % BLOCK_CALLERS] = b;
    } else if (is_return(d)) {
        struct block *caller = c->callers[--c->callers_top % BLOCK_CALLERS];
        if (caller) {
            struct block *next = block_next(caller, BLOCK_LINK_NEXT);
            if (likely(block_valid(h, next, host)))
                return next;
            next = linked_successor(h, b, host, pc, BLOCK_LINK_TAKEN);
            block_link(caller, BLOCK_LINK_NEXT, next);
            return next;
        }
    }
    return linked_successor(h, b, host, pc, BLOCK_LINK_TAKEN);
}

/*
 * A slow instruction that may have enabled an interrupt or moved a timer (a CSR write,
 * sret, mret: seven in an idle guest's every tick) need not end the run: its interrupt
 * is taken here, as the run loop would before the next slice, unless the run loop has
 * more to serve (a kick) or an execute trigger now wants each instruction stepped.
 */
static enum exec_result check_interrupts_in_run(struct hart *h, enum exec_result r)
{
    if (r != EXEC_CHECK_IRQ_AFTER || atomic_load_explicit(&h->exit_request, memory_order_relaxed) ||
        h->trigger_exec)
        return r;
    hart_check_interrupts(h);
    return EXEC_NEXT;
}

/* One instruction through the reference executor (tracing, page-crossing instructions). */
static enum exec_result step_one(struct hart *h)
{
    uint32_t insn, raw;
    unsigned len = 4;
    if (!mem_fetch(h, h->arch.pc, &insn))
        return EXEC_TRAPPED;
    raw = insn;
    if ((insn & 3) != 3) {
        raw = insn & 0xffff;
        insn = rvc_table[raw];
        len = 2;
    }
    if (unlikely(h->trace))
        fprintf(stderr, "[hart %u] %c %016llx: %0*x\n", h->arch.id, "US?M"[h->arch.priv],
                (unsigned long long)h->arch.pc, len == 2 ? 4 : 8, raw);
    return exec_one(h, insn, raw, len);
}

static enum exec_exit after_exec(struct hart *h, enum exec_result r, bool *stop)
{
    *stop = true;
    switch (r) {
    case EXEC_CHECK_IRQ_AFTER: return EXEC_CHECK_IRQ;
    case EXEC_WFI_AFTER: return EXEC_WFI;
    case EXEC_TRAPPED:
        /* A hypercall may have stopped or suspended this hart. */
        if (atomic_load_explicit(&h->exit_request, memory_order_relaxed))
            return EXEC_CHECK_IRQ;
        break;
    case EXEC_NEXT: break;
    }
    *stop = false;
    return EXEC_BUDGET;
}

/* One instruction; an armed execute trigger checks its pc before it, even before its
 * fetch. */
enum exec_exit interp_run_one(struct hart *h)
{
    bool stop;
    enum exec_result r = h->trigger_exec && trigger_fires_at_pc(h) ? EXEC_TRAPPED : step_one(h);
    enum exec_exit e = after_exec(h, r, &stop);
    return stop ? e : EXEC_BUDGET;
}

/* One instruction at a time: for tracing, and while an armed execute trigger checks
 * every pc. */
static enum exec_exit run_stepped(struct hart *h, uint64_t budget)
{
    while (budget--) {
        enum exec_exit e = interp_run_one(h);
        if (e != EXEC_BUDGET)
            return e;
    }
    return EXEC_BUDGET;
}

/*
 * Where interp_run starts in a 64-byte line moves its handlers' dispatch jumps between
 * lines, and with them its speed: on a Zen 3 host, at offsets 16, 32, 0 and 48,
 * coremark-like took 1.00, 1.05, 1.03 and 1.19 times as long, lz77 1.15, 1.00, 1.03 and
 * 1.05. So it has a section of its own that starts on a line and holds 32 bytes of
 * padding (int3) before it: its place no longer moves with whatever is linked before it.
 * Inside it, each handler starts on a line of its own (the Makefile's INTERP_ALIGN), so
 * that adding one does not move the others' dispatch jumps: two handlers added on main's
 * layout made coremark-like 7 % slower, on this one they changed nothing.
 */
#define INTERP_RUN_SECTION ".text.interp_run"
__asm__(".pushsection " INTERP_RUN_SECTION ",\"ax\",@progbits\n\t.p2align 6\n\t.skip 32, 0xcc\n\t.popsection");

/* GCC would merge the handlers' identical tails, their dispatch included, into a few
 * shared indirect jumps that the host predicts far worse than one per handler. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-crossjumping")))
#endif
__attribute__((section(INTERP_RUN_SECTION)))
enum exec_exit interp_run(struct hart *h, uint64_t budget)
{
    static const void *const handlers[HANDLER_COUNT] = {
#define LABEL(name) &&op_##name,
#define LOOP_LABEL(name, cond) &&loop_##name,
#define IN_PAGE_LABEL(name, cond) &&in_page_##name,
#define STORE_FREE_IN_PAGE_LABEL(name, cond) &&store_free_in_page_##name,
#define STORE_FREE_LOOP_LABEL(name, cond) &&store_free_loop_##name,
#define LOAD_TO_X0_LABEL(name, fn, size, sign) &&load_to_x0_##name,
#define FORWARDED_LABEL(name, expr) &&forwarded_##name,
#define FORWARDED_LOAD_LABEL(name, fn, size, sign) &&forwarded_##name,
        OPS(LABEL) BRANCH_OPS(IN_PAGE_LABEL) &&in_page_JAL, BRANCH_OPS(LOOP_LABEL) BRANCH_OPS(STORE_FREE_LOOP_LABEL)
        LOAD_OPS(LOAD_TO_X0_LABEL) &&op_MV, &&op_SEXT_W, &&op_LI, &&op_NEG, &&op_NEGW,
        ALU_IMM_OPS(FORWARDED_LABEL) ALU_REG_OPS(FORWARDED_LABEL) &&forwarded_MV, &&forwarded_SEXT_W,
        &&forwarded_NEG, &&forwarded_NEGW, LOAD_OPS(FORWARDED_LOAD_LABEL)
        BRANCH_OPS(STORE_FREE_IN_PAGE_LABEL) &&store_free_in_page_JAL, &&ld_run, &&sd_run,
#define PAIR_LABEL(name, first, second) &&pair_##name,
        PAIRS(PAIR_LABEL)
#undef PAIR_LABEL
#define KEEP_LABEL(name, expr) &&keep_##name,
        ALU_IMM_OPS(KEEP_LABEL) ALU_REG_OPS(KEEP_LABEL)
#undef KEEP_LABEL
#define ASIDE_LABEL(name) &&aside_##name,
        ASIDE_OPS(ASIDE_LABEL)
#undef ASIDE_LABEL
#define FP_MEMORY_LABEL(name, opcode, funct3) &&op_##name,
        FP_MEMORY_OPS(FP_MEMORY_LABEL)
#undef FP_MEMORY_LABEL
#undef FORWARDED_LOAD_LABEL
#undef FORWARDED_LABEL
#undef LOAD_TO_X0_LABEL
#undef STORE_FREE_LOOP_LABEL
#undef STORE_FREE_IN_PAGE_LABEL
#undef IN_PAGE_LABEL
#undef LOOP_LABEL
#undef LABEL
    };
    if (unlikely(h->trace || h->trigger_exec))
        return run_stepped(h, budget);

    /* Addressed from h, not held apart: one host register more for the run's state. */
#define x (h->arch.x)
    /* An idle hart's ticks run colder translated than interpreted (hart.c), and do not
     * count its blocks' runs either: that would write each block's line at every tick. */
    const bool translating = h->jit != NULL && !h->idle;
    /* Instructions left of the budget (those that faulted count too), less one: the run
     * goes on while it is not negative, which the host tests on the sign of the
     * subtraction alone (a test against zero needs one more instruction). */
    int64_t left = (int64_t)budget - 1;
    /* left when h->arch.instret last counted the instructions retired here: they are
     * added to it before whatever may read it (the reference executor, translated code)
     * and on return, not at every block exit. */
    int64_t left_counted = left;
    /* While a block runs, pc is its first instruction's (each instruction that needs its
     * own knows its offset from it, so the handlers do not count pc along); at its exit,
     * the next pc. */
    uint64_t pc;
    /* The running block's guest page, the distance from there to its host page, and its
     * page's code generation: the same for every block chained to in that page. */
    uint64_t vpage;
    uintptr_t host_delta;
    const _Atomic uint32_t *page_gen;
    unsigned link;
    struct block *b;
    const struct block_insn *d;
    uint64_t va, v;
    /* The result of the instruction just run, when it was an ALU op or a load (rd not
     * x0): the next instruction of the block may read it here rather than from x[]
     * (decode_block picks its forwarded handler), which takes a store and a load off a
     * chain of dependent instructions. */
    uint64_t acc = 0;
    /* The result of the last keep handler, for an aside handler after it in its block. */
    uint64_t aside = 0;
    /* The TLB entries of data accesses, of the current context: only the slow path and
     * the translator change it, and after either the next block is looked up afresh.
     * Held as two pointers: from one to the context, GCC recomputed both at every access. */
    const struct tlb_entry *data_read, *data_write;
/* Brings h->arch.instret up to date. */
#define COUNT_RETIRED() do { h->arch.instret += (uint64_t)(left_counted - left); left_counted = left; } while (0)
/* Charges the budget one instruction that did not retire here: it faulted, or the
 * reference executor counted it. */
#define CHARGE_UNRETIRED() do { left--; left_counted--; } while (0)
    /* An idle guest's every tick stops the run loop a few hundred times (its CSR
     * writes, sret, wfi): the first block is found through the stopping block's link. */
    struct block *resumed = h->blocks->resume;
    h->blocks->resume = NULL;
    while (left >= 0) {
        pc = h->arch.pc;
        b = block_lookup(h, pc, resumed);
        resumed = NULL;
        if (unlikely(!b)) {
            /* Fetch fault, pc now at the handler. It counts against the budget, so that
             * a guest whose trap vector faults too still returns to the run loop. */
            CHARGE_UNRETIRED();
            continue;
        }
    enter_page:
        data_read = h->ctx_tlb[h->mmu_ctx]->read;
        data_write = h->ctx_tlb[h->mmu_ctx]->write;
        vpage = pc & ~0xfffULL;
        host_delta = (b->host_pc & ~(uintptr_t)0xfff) - vpage;
        page_gen = &h->ram->code_gen[b->page];
    run_block:
        /* Both successors' first lines load while this block runs: an idle guest's ticks
         * find most blocks out of the host's caches, and one cold block after another
         * would wait for each in turn. */
        __builtin_prefetch(block_next(b, BLOCK_LINK_TAKEN));
        __builtin_prefetch(block_next(b, BLOCK_LINK_NEXT));
        /* So do two lines POOL_PREFETCH_AHEAD bytes further in the pool, without waiting
         * for this block's links: an idle hart decodes its ticks' blocks afresh after
         * interp_release, in the order they run, and its ticks run them in that order. */
        __builtin_prefetch((const void *)((uintptr_t)b + POOL_PREFETCH_AHEAD));
        __builtin_prefetch((const void *)((uintptr_t)b + POOL_PREFETCH_AHEAD + 64));
        if (unlikely(translating)) {
            if (!b->code && ++b->runs >= h->jit_hot_runs)
                translate_block(h, b, pc);
            if (b->code)
                goto run_translated;
        }
        /* Its leading nops retire all the same: each instruction's index is its count. */
        d = b->insns + b->entry;

#define DISPATCH() goto *handlers[d->handler]
#define NEXT() do { d++; DISPATCH(); } while (0)
/* The pc `at` bytes into the block (block.h says where d keeps its at). */
#define INSN_PC(at) (pc + (at))
/* Instructions of the block before d, and up to d. */
#define BEFORE() (d - b->insns)
#define THROUGH() (BEFORE() + 1)
#define RETIRE(n) (left -= (n))
#define ALU_AT(label, expr) label: x[d->rd] = acc = (expr); NEXT();
#define ALU(name, expr) ALU_AT(op_##name, expr)
/* Loads and stores set pc only for the slow path, which may raise an exception. */
#define LOAD_ONE_INTO(fn, address, at, dest, value) \
        va = (address); \
        if (unlikely(!fn##_hit(data_read, va, &v))) { \
            h->arch.pc = INSN_PC(at); \
            if (unlikely(!fn(h, va, &v))) goto fault; \
        } \
        dest = (value);
#define LOAD_ONE(fn, base) LOAD_ONE_INTO(fn, (base) + d->imm, d->rs2, x[d->rd] = acc, v)
#define LOAD_FROM(label, fn, base) label: LOAD_ONE(fn, base) NEXT();
#define LOAD(name, fn, size, sign) LOAD_FROM(op_##name, fn, x[d->rs1])
#define STORE_ONE_FROM(size, address, at, value) \
        va = (address); \
        if (unlikely(!mem_store_hit(h, data_write, va, size, value))) { \
            h->arch.pc = INSN_PC(at); \
            if (unlikely(!mmu_store_slow(h, va, size, value))) goto fault; \
        }
#define STORE_ONE(size) STORE_ONE_FROM(size, x[d->rs1] + d->imm, d->rd, x[d->rs2])
#define STORE(name, size) op_##name: STORE_ONE(size) NEXT();
#define BRANCH(name, cond) op_##name: \
        if (branch_##name(x[d->rs1], x[d->rs2])) { \
            RETIRE(d->branch.ordinal); \
            pc = INSN_PC(d->branch.target); link = d->branch.link; goto chain; \
        } \
        NEXT();
/*
 * A jump to a fixed place in the block's page, through link: the link is checked only
 * for the block at that place and the code generation code_gen. Each jump keeps its own
 * dispatch jump. The byte `guess` of the jump (one its handler does not read: a branch's
 * rd, a jal's rs1) holds the handler of the first instruction of the block the link led
 * to when it last set the link (relink), so that the dispatch waits on two loads from d
 * (the guess, the table), not four through the link (the link, the block's header, its
 * first instruction to run, the table); coremark-like --jit off ran 2-4 % faster. The
 * guess cannot run a stale block: the block is checked as before (a replaced block or
 * changed code fail there and relink; a fence.i, sfence.vma or satp write ends its block,
 * whose successor the fetch TLB finds), and the guess is taken only when it is the
 * block's first handler, since other exits set the link too (the taken link, which a
 * block's fourth and later branches and its last jump share) and a guess starts as the
 * decoder's rd. The block runs from its first instruction, its leading nops too (they
 * retire all the same): its entry would be one load more on the way to its operands.
 */
#define IN_PAGE_JUMP(target, link_, ordinal, code_gen, guess, relink) do { \
            RETIRE(ordinal); \
            pc = INSN_PC(target); \
            link = (link_); \
            if (likely(left >= 0)) { \
                unsigned guessed = d->guess; \
                struct block *next = block_next(b, link); \
                if (likely(next->host_pc == pc + host_delta && next->gen == (code_gen) && \
                           next->insns[0].handler == guessed)) { \
                    b = next; \
                    d = b->insns; \
                    goto *handlers[guessed]; \
                } \
                goto relink; \
            } \
            goto chain; \
        } while (0)
#define PAGE_GEN_NOW atomic_load_explicit(page_gen, memory_order_relaxed)
#define BRANCH_IN_PAGE_AT(label, name, code_gen) label: \
        if (branch_##name(x[d->rs1], x[d->rs2])) \
            IN_PAGE_JUMP(d->branch.target, d->branch.link, d->branch.ordinal, code_gen, rd, relink_branch_guess); \
        NEXT();
#define BRANCH_IN_PAGE(name, cond) BRANCH_IN_PAGE_AT(in_page_##name, name, PAGE_GEN_NOW)
/* With no store before it in its block, the page's code changed since the block was
 * entered (its generation then b->gen) only by another hart or a device, which the
 * store-free loops below need not see before the slice ends either: the target is
 * checked against b->gen, which saves the page's generation its dependent load. */
#define BRANCH_STORE_FREE_IN_PAGE(name, cond) BRANCH_IN_PAGE_AT(store_free_in_page_##name, name, b->gen)
/*
 * A branch back to its block's start (a loop of one block, the commonest block exit),
 * on a hart without a translator: while the page's code is unchanged, the block runs
 * again without a link lookup, its first instruction through the handler that reads acc
 * where that holds its operand (the branch's target). Each branch keeps its own dispatch
 * jump. A loop that stores nothing does not check the page's code again (as translated
 * loops do not): only another hart or a device can change it then, and without a
 * fence.i on this hart the ISA lets it run the old code; it sees the new one by the end
 * of its slice.
 */
#define BRANCH_LOOP_AT(label, name, recheck) label: \
        if (branch_##name(x[d->rs1], x[d->rs2])) { \
            if (likely(RETIRE(d->branch.ordinal) >= 0) && \
                likely(!(recheck) || b->gen == atomic_load_explicit(page_gen, memory_order_relaxed))) { \
                unsigned looped = (uint16_t)d->branch.target; \
                d = b->insns; \
                goto *handlers[looped]; \
            } \
            h->arch.pc = pc; \
            continue; \
        } \
        NEXT();
#define BRANCH_LOOP(name, cond) BRANCH_LOOP_AT(loop_##name, name, true)
#define BRANCH_STORE_FREE_LOOP(name, cond) BRANCH_LOOP_AT(store_free_loop_##name, name, false)
/* The results of register-register and register-immediate ALU ops, also those that
 * take rs1 as forwarded in acc: the pairs below compute their first with these too. */
#define RR_RESULT(name) alu_##name(x[d->rs1], x[d->rs2])
#define RI_RESULT(name) alu_##name(x[d->rs1], (uint64_t)(int64_t)d->imm)
#define FORWARDED_RR_RESULT(name) alu_##name(acc, x[d->rs2])
#define FORWARDED_RI_RESULT(name) alu_##name(acc, (uint64_t)(int64_t)d->imm)
#define ALU_RR(name, expr) ALU(name, RR_RESULT(name))
#define ALU_RI(name, expr) ALU(name, RI_RESULT(name))

        DISPATCH();
    op_NOP: NEXT();
    ALU(LUI, (int64_t)d->imm)
    ALU(AUIPC, INSN_PC(d->imm))
    op_JAL:
        x[d->rd] = INSN_PC(d->rs2);
        x[0] = 0;
        pc = INSN_PC(d->imm);
        link = BLOCK_LINK_TAKEN;
        goto block_done;
    op_JALR: {
        uint64_t target = (x[d->rs1] + d->imm) & ~1ULL;
        x[d->rd] = INSN_PC(d->rs2);
        x[0] = 0;
        pc = target;
        link = BLOCK_LINK_TAKEN;
        goto block_done;
    }
    BRANCH_OPS(BRANCH)
    BRANCH_OPS(BRANCH_LOOP)
    BRANCH_OPS(BRANCH_STORE_FREE_LOOP)
    BRANCH_OPS(BRANCH_IN_PAGE)
    in_page_JAL:
        x[d->rd] = INSN_PC(d->rs2);
        x[0] = 0;
        IN_PAGE_JUMP(d->imm, BLOCK_LINK_TAKEN, THROUGH(), PAGE_GEN_NOW, rs1, relink_jal_guess);
    BRANCH_OPS(BRANCH_STORE_FREE_IN_PAGE)
    store_free_in_page_JAL:
        x[d->rd] = INSN_PC(d->rs2);
        x[0] = 0;
        IN_PAGE_JUMP(d->imm, BLOCK_LINK_TAKEN, THROUGH(), b->gen, rs1, relink_jal_guess);
    LOAD_OPS(LOAD)
    STORE_OPS(STORE)
    /* A run (mark_runs): each ld (sd) after the first is its block's next instruction
     * while that has the plain handler; a fault leaves d at the one that faulted. */
    ld_run:
        do {
            LOAD_ONE(mem_load_u64, x[d->rs1])
            d++;
        } while (d->handler == OP_LD);
        DISPATCH();
    sd_run:
        do {
            STORE_ONE(8)
            d++;
        } while (d->handler == OP_SD);
        DISPATCH();
/* A pair's first instruction, then on to the second's handler (mark_pairs). */
#define PAIR_OF(name, expr, second) pair_##name: x[d->rd] = acc = (expr); d++; goto second;
    PAIR_OF(AUIPC_ADDI, INSN_PC(d->imm), forwarded_ADDI)
    PAIR_OF(AUIPC_JALR, INSN_PC(d->imm), op_JALR)
    PAIR_OF(ADDI_JALR, RI_RESULT(ADDI), op_JALR)
    PAIR_OF(ADDI_SD_RUN, RI_RESULT(ADDI), sd_run)
    PAIR_OF(ADD_ADD, RR_RESULT(ADD), op_ADD)
    PAIR_OF(ADD_LD, FORWARDED_RR_RESULT(ADD), forwarded_LD)
    PAIR_OF(FW_ADDI_LW, FORWARDED_RI_RESULT(ADDI), op_LW)
    PAIR_OF(AUIPC_LW, INSN_PC(d->imm), forwarded_LW)
    PAIR_OF(FW_ANDI_BNE, FORWARDED_RI_RESULT(ANDI), op_BNE)
    PAIR_OF(FW_ANDI_BEQ, FORWARDED_RI_RESULT(ANDI), op_BEQ)
    PAIR_OF(ANDI_BEQ, RI_RESULT(ANDI), op_BEQ)
    PAIR_OF(ANDI_BNE, RI_RESULT(ANDI), op_BNE)
    PAIR_OF(ADD_BEQ, RR_RESULT(ADD), op_BEQ)
    PAIR_OF(FW_ADD_LHU, FORWARDED_RR_RESULT(ADD), forwarded_LHU)
    PAIR_OF(SLLI_SRLI, RI_RESULT(SLLI), forwarded_SRLI)
    PAIR_OF(FW_SLLI_SRLI, FORWARDED_RI_RESULT(SLLI), forwarded_SRLI)
    PAIR_OF(ADDI_ADD, RI_RESULT(ADDI), op_ADD)
    PAIR_OF(FW_ADDIW_SH, FORWARDED_RI_RESULT(ADDIW), op_SH)
    ALU_IMM_OPS(ALU_RI)
    ALU_REG_OPS(ALU_RR)
    ALU_UNARY_OPS(ALU_RR)
    op_FENCE:
        mem_fence((uint32_t)d->imm);
        NEXT();
    op_AMO:
        h->arch.pc = INSN_PC(d->rs2);
        if (unlikely(!exec_amo(h, (uint32_t)d->imm)))
            goto fault;
        NEXT();
    op_CBO_ZERO:
        h->arch.pc = INSN_PC(d->rs2);
        if (unlikely(!exec_cbo_zero(h, x[d->rs1], (uint32_t)d->imm)))
            goto fault;
        NEXT();
    op_TRAP_CSR:
        h->arch.pc = INSN_PC(d->rs2);
        switch (exec_trap_csr(h, (uint32_t)d->imm)) {
        case EXEC_NEXT:
            /* sstatus.SUM may have moved the data accesses to another TLB context */
            data_read = h->ctx_tlb[h->mmu_ctx]->read;
            data_write = h->ctx_tlb[h->mmu_ctx]->write;
            NEXT();
        case EXEC_TRAPPED:
            goto fault;
        default:
            /* It unmasked a pending interrupt: the run loop takes it before the next
             * instruction. */
            h->arch.pc += 4;
            RETIRE(THROUGH());
            COUNT_RETIRED();
            return EXEC_CHECK_IRQ;
        }
    op_RDTIME: /* in place, trapping where the counter is off */
        h->arch.pc = INSN_PC(d->rs2);
        if (unlikely(exec_slow(h, (uint32_t)d->imm, (uint32_t)d->imm) == EXEC_TRAPPED))
            goto fault;
        h->arch.instret--; /* exec_slow counted it; so does the block's RETIRE */
        NEXT();

    ALU(MV, alu_ADDI(x[d->rs1], 0))
    ALU(SEXT_W, alu_ADDIW(x[d->rs1], 0))
    ALU(LI, alu_ADDI(0, (uint64_t)(int64_t)d->imm))
    ALU(NEG, alu_SUB(0, x[d->rs2]))
    ALU(NEGW, alu_SUBW(0, x[d->rs2]))
#define FORWARDED_RI(name, expr) ALU_AT(forwarded_##name, FORWARDED_RI_RESULT(name))
#define FORWARDED_RR(name, expr) ALU_AT(forwarded_##name, FORWARDED_RR_RESULT(name))
    ALU_IMM_OPS(FORWARDED_RI)
    ALU_REG_OPS(FORWARDED_RR)
    ALU_AT(forwarded_MV, acc)
    ALU_AT(forwarded_SEXT_W, alu_ADDIW(acc, 0))
    ALU_AT(forwarded_NEG, alu_SUB(0, acc))
    ALU_AT(forwarded_NEGW, alu_SUBW(0, acc))
#define FORWARDED_LOAD(name, fn, size, sign) LOAD_FROM(forwarded_##name, fn, acc)
    LOAD_OPS(FORWARDED_LOAD)
#define KEEP_RI(name, expr) keep_##name: x[d->rd] = aside = RI_RESULT(name); NEXT();
#define KEEP_RR(name, expr) keep_##name: x[d->rd] = aside = RR_RESULT(name); NEXT();
    ALU_IMM_OPS(KEEP_RI)
    ALU_REG_OPS(KEEP_RR)
#define ASIDE_RR(name) ALU_AT(aside_##name, alu_##name(acc, aside))
    ASIDE_OPS(ASIDE_RR)
/* It may fault, so it loads (through the full path: it is rare). */
#define LOAD_TO_X0(name, fn, size, sign) load_to_x0_##name: \
        h->arch.pc = INSN_PC(d->rs2); \
        if (unlikely(!fn(h, x[d->rs1] + d->imm, &v))) goto fault; \
        NEXT();
    LOAD_OPS(LOAD_TO_X0)
    op_FP: {
        h->arch.pc = INSN_PC(d->rs2);
        enum fp_exit fp_exit = exec_fp_in_place(h, (uint32_t)d->imm);
        if (likely(fp_exit == FP_DONE))
            NEXT();
        /* The bits as fetched are read only here: read before the call, they were kept
         * across it. */
        if (fp_exit == FP_ILLEGAL)
            hart_raise_exception(h, EXC_ILLEGAL_INSN, block_insn_raw(d));
        goto fault;
    }
/* The FP loads and stores (fp_memory_handler) as exec_fp runs them, their fields read from
 * the instruction in imm; with the FPU off, op_FP raises the exception. */
#define FP_LOAD(name, fn, funct3) op_##name: \
        if (unlikely(!fp_enabled(h))) goto op_FP; \
        LOAD_ONE_INTO(fn, x[insn_rs1((uint32_t)d->imm)] + insn_imm_i((uint32_t)d->imm), d->rs2, \
                      h->arch.f[insn_rd((uint32_t)d->imm)], fp_loaded_value(funct3, v)) \
        fp_dirty(h); \
        NEXT();
#define FP_STORE(name, size) op_##name: \
        if (unlikely(!fp_enabled(h))) goto op_FP; \
        STORE_ONE_FROM(size, x[insn_rs1((uint32_t)d->imm)] + insn_imm_s((uint32_t)d->imm), d->rs2, \
                       h->arch.f[insn_rs2((uint32_t)d->imm)]) \
        NEXT();
    FP_LOAD(FLW, mem_load_u32, 2)
    FP_LOAD(FLD, mem_load_u64, 3)
    FP_STORE(FSW, 4)
    FP_STORE(FSD, 8)
    op_END:
        if (unlikely(d == b->insns)) { /* a lone instruction crossing a page boundary */
            h->arch.pc = pc;
            COUNT_RETIRED();
            bool stop;
            enum exec_exit e = after_exec(h, step_one(h), &stop);
            CHARGE_UNRETIRED();
            if (stop)
                return e;
            continue;
        }
        /* Fell off the block's end (size limit or page end): continue at pc. */
        RETIRE(BEFORE());
        pc = INSN_PC(d->rs2);
        link = BLOCK_LINK_NEXT;
        goto chain;
    op_FETCH_FENCE: /* ends its block: the next is found through the fetch TLB */
    op_SLOW: {
        RETIRE(BEFORE());
        h->arch.pc = INSN_PC(d->rs2);
        COUNT_RETIRED();
        bool stop;
        enum exec_exit e = after_exec(h, check_interrupts_in_run(h, exec_slow(h, (uint32_t)d->imm, block_insn_raw(d))),
                                      &stop);
        CHARGE_UNRETIRED();
        if (stop) {
            h->blocks->resume = b;
            return e;
        }
        /* A block that ends in a slow instruction has no fall-through exit: that link
         * leads on from wherever the instruction left pc (a trap's handler too). */
        pc = h->arch.pc;
        link = BLOCK_LINK_NEXT;
        goto other_page;
    }
    fault:
        /* The load/store raised an exception: pc is at the handler; d did not retire but
         * counts against the budget (a trap loop must not keep the run loop waiting). */
        RETIRE(BEFORE());
        CHARGE_UNRETIRED();
        continue;
    run_translated: {
        h->arch.pc = pc;
        COUNT_RETIRED();
        uint64_t r = b->code(h, x, pc, (uint64_t)left + 1);
        RETIRE(JIT_RETIRED(r));
        COUNT_RETIRED();
        if (JIT_EXIT_KIND(r) == JIT_EXIT_FAULT) {
            h->jit_fault = false;
            CHARGE_UNRETIRED(); /* the faulting instruction, as in the interpreter */
            continue;
        }
        if (JIT_EXIT_KIND(r) == JIT_EXIT_SLOW) {
            bool stop;
            const struct dinsn *slow = h->jit_exit_insn;
            enum exec_exit e = after_exec(
                h, check_interrupts_in_run(h, exec_slow(h, (uint32_t)slow->imm, dinsn_raw(slow))), &stop);
            CHARGE_UNRETIRED();
            if (stop)
                return e;
            continue;
        }
        struct block *from = h->jit_exit_block;
        unsigned exit_link = JIT_LINK(r) - 1;
        /* Only the exit block's current translation has its layout: code reached
         * through a chain may translate a block whose cache slot has moved on. */
        if (JIT_LINK(r) && left >= 0 && jit_site_current(from, h->jit_exit_site)) {
            void *site = h->jit_exit_site;
            uint32_t gen = from->gen;
            pc = h->arch.pc;
            if (JIT_OTHER_PAGE(r)) {
                /* The guard compares what the fetch TLB holds now with what it held here. */
                uintptr_t host = mem_fetch_host_hit(h, pc, 2);
                if (!host)
                    continue;
                b = linked_successor(h, from, host, pc, exit_link);
                if (b->code)
                    jit_chain_other_page(site, b->code, host, &h->ram->code_gen[b->page], b->gen);
                goto enter_page;
            }
            b = same_page_successor(h, from, pc, exit_link);
            if (b->code && b->gen == gen)
                jit_chain(site, b->code);
            goto enter_page;
        }
        continue;
    }
/* IN_PAGE_JUMP's miss with budget left (d the jump, to pc through link): the block
 * found as chain's same-page path finds it, and the handler it starts with is the jump's
 * guess from now on. */
#define RELINK_GUESS(label, guess) label: { \
        struct block *next = in_page_successor(h, b, pc + host_delta, pc, link, page_gen); \
        b->insns[BEFORE()].guess = next->insns[0].handler; \
        b = next; \
        goto run_block; \
    }
    RELINK_GUESS(relink_branch_guess, rd)
    RELINK_GUESS(relink_jal_guess, rs1)
    block_done:
        RETIRE(THROUGH());
    chain:
        if (likely(left >= 0) && (pc & ~0xfffULL) == vpage) {
            /* A same-page successor: through b's link, without a TLB and cache lookup. */
            b = in_page_successor(h, b, pc + host_delta, pc, link, page_gen);
            goto run_block;
        }
    other_page:
        h->arch.pc = pc;
        if (likely(left >= 0)) {
            uintptr_t host = mem_fetch_host_hit(h, pc, 2);
            if (likely(host)) {
                b = link == BLOCK_LINK_TAKEN ? jump_successor(h, b, d, host, pc)
                                             : linked_successor(h, b, host, pc, link);
                goto enter_page;
            }
        }
    }
    COUNT_RETIRED();
    return EXEC_BUDGET;
#undef x
}
