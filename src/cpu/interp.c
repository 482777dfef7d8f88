/*
 * The block engine. Guest code is decoded once into blocks of pre-decoded instructions
 * (a block ends at a control transfer, at an instruction it leaves to the reference
 * executor, or at its page's end) that are cached per hart, keyed by host address, i.e.
 * by guest physical address. A block stays valid while its page's code generation is
 * unchanged: a store into the part of a page that blocks were decoded from bumps it
 * (guest_ram_note_store), and fence.i drops the whole cache. Blocks are run with threaded dispatch (computed
 * goto); common integer, branch and memory instructions have their own handlers.
 */
#include "cpu/interp.h"

#include <stdio.h>
#include <stdlib.h>

#include "cpu/alu.h"
#include "cpu/block.h"
#include "cpu/decode.h"
#include "cpu/execute.h"
#include "cpu/jit.h"
#include "cpu/mmu.h"
#include "cpu/rvc.h"

#define BLOCK_CACHE_BITS 14
#define BLOCK_CACHE_SIZE (1u << BLOCK_CACHE_BITS)

struct block_cache {
    struct block blocks[BLOCK_CACHE_SIZE];
};

#define JIT_CODE_SIZE (32u << 20)
#define JIT_HOT_RUNS_DEFAULT 16

int interp_init(struct hart *h, bool translate, unsigned hot_runs)
{
    h->blocks = calloc(1, sizeof(struct block_cache));
    if (!h->blocks)
        return -1;
    /* Without a translator for this host (or when asked not to), blocks are interpreted. */
    h->jit = translate ? jit_create(JIT_CODE_SIZE) : NULL;
    h->jit_hot_runs = hot_runs ? hot_runs : JIT_HOT_RUNS_DEFAULT;
    return 0;
}

void interp_destroy(struct hart *h)
{
    jit_destroy(h->jit);
    h->jit = NULL;
    free(h->blocks);
    h->blocks = NULL;
}

void interp_flush(struct hart *h)
{
    for (unsigned i = 0; i < BLOCK_CACHE_SIZE; i++)
        h->blocks->blocks[i].host_pc = 0;
}

/* Maps one 32-bit instruction to a fast op, or OP_SLOW; ends_block says whether it ends the block. */
static enum op classify(uint32_t i, bool *ends_block)
{
    unsigned f3 = insn_funct3(i), f7 = insn_funct7(i);
    *ends_block = false;
    switch (i & 0x7f) {
    case 0x37: return OP_LUI;
    case 0x17: return OP_AUIPC;
    case 0x6f: *ends_block = true; return OP_JAL;
    case 0x67: *ends_block = true; return f3 == 0 ? OP_JALR : OP_SLOW;
    case 0x63: {
        static const enum op br[8] = { OP_BEQ, OP_BNE, OP_SLOW, OP_SLOW, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
        *ends_block = true;
        return br[f3];
    }
    case 0x03: {
        static const enum op ld[8] = { OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_SLOW };
        return ld[f3];
    }
    case 0x23: {
        static const enum op st[8] = { OP_SB, OP_SH, OP_SW, OP_SD, OP_SLOW, OP_SLOW, OP_SLOW, OP_SLOW };
        return st[f3];
    }
    case 0x13:
        switch (f3) {
        case 0: return OP_ADDI;
        case 2: return OP_SLTI;
        case 3: return OP_SLTIU;
        case 4: return OP_XORI;
        case 6: return OP_ORI;
        case 7: return OP_ANDI;
        case 1: return (i >> 26) == 0 ? OP_SLLI : OP_SLOW;
        default: return (i >> 26) == 0 ? OP_SRLI : (i >> 26) == 0x10 ? OP_SRAI : OP_SLOW;
        }
    case 0x1b:
        if (f3 == 0)
            return OP_ADDIW;
        if (f3 == 1 && f7 == 0)
            return OP_SLLIW;
        if (f3 == 5 && f7 == 0)
            return OP_SRLIW;
        if (f3 == 5 && f7 == 0x20)
            return OP_SRAIW;
        return OP_SLOW;
    case 0x33:
        switch (f7 << 3 | f3) {
        case 0x000: return OP_ADD;
        case 0x100: return OP_SUB;
        case 0x001: return OP_SLL;
        case 0x002: return OP_SLT;
        case 0x003: return OP_SLTU;
        case 0x004: return OP_XOR;
        case 0x005: return OP_SRL;
        case 0x105: return OP_SRA;
        case 0x006: return OP_OR;
        case 0x007: return OP_AND;
        case 0x008: return OP_MUL;
        case 0x009: return OP_MULH;
        case 0x00a: return OP_MULHSU;
        case 0x00b: return OP_MULHU;
        case 0x00c: return OP_DIV;
        case 0x00d: return OP_DIVU;
        case 0x00e: return OP_REM;
        case 0x00f: return OP_REMU;
        case 0x082: return OP_SH1ADD;
        case 0x084: return OP_SH2ADD;
        case 0x086: return OP_SH3ADD;
        default: return OP_SLOW;
        }
    case 0x3b:
        switch (f7 << 3 | f3) {
        case 0x000: return OP_ADDW;
        case 0x100: return OP_SUBW;
        case 0x001: return OP_SLLW;
        case 0x005: return OP_SRLW;
        case 0x105: return OP_SRAW;
        case 0x008: return OP_MULW;
        case 0x00c: return OP_DIVW;
        case 0x00d: return OP_DIVUW;
        case 0x00e: return OP_REMW;
        case 0x00f: return OP_REMUW;
        case 0x020: return OP_ADDUW;
        default: return OP_SLOW;
        }
    default:
        return OP_SLOW;
    }
}

static int32_t op_immediate(enum op op, uint32_t i)
{
    switch (i & 0x7f) {
    case 0x37: case 0x17: return (int32_t)insn_imm_u(i);
    case 0x6f: return (int32_t)insn_imm_j(i);
    case 0x63: return (int32_t)insn_imm_b(i);
    case 0x23: return (int32_t)insn_imm_s(i);
    case 0x13: case 0x1b:
        if (op == OP_SLLI || op == OP_SRLI || op == OP_SRAI)
            return (i >> 20) & 63;
        if (op == OP_SLLIW || op == OP_SRLIW || op == OP_SRAIW)
            return (i >> 20) & 31;
        return (int32_t)insn_imm_i(i);
    default: return (int32_t)insn_imm_i(i);
    }
}

/* Decodes the block starting at host address p (guest pc) into b. */
static void decode_block(struct hart *h, struct block *b, const uint8_t *p, uint64_t pc, size_t page,
                         const int32_t *labels)
{
    unsigned n = 0;
    unsigned offset = pc & 0xfff;
    /*
     * Claim the bytes a block can span before reading the generation and the bytes: a
     * store that races with the decoding then changes the generation, and the block
     * never validates.
     */
    unsigned span_end = offset + 4 * BLOCK_MAX_INSNS;
    guest_ram_code_extend(h->ram, page, offset, span_end < 0x1000 ? span_end : 0x1000);
    b->gen = atomic_load(&h->ram->code_gen[page]);
    b->page = page;
    b->next[0] = b->next[1] = NULL;
    for (;;) {
        struct dinsn *d = &b->insns[n];
        if (n == BLOCK_MAX_INSNS || offset > 0xffe) {
            *d = (struct dinsn){ .handler = labels[OP_END], .op = OP_END };
            break;
        }
        uint16_t lo;
        memcpy(&lo, p, 2);
        uint32_t insn;
        unsigned len;
        if ((lo & 3) == 3) {
            if (offset > 0xffc) { /* crosses into the next page: the reference path fetches it */
                *d = (struct dinsn){ .handler = labels[OP_END], .op = OP_END };
                break;
            }
            memcpy(&insn, p, 4);
            len = 4;
        } else {
            insn = rvc_table[lo];
            len = 2;
        }
        bool ends = false;
        enum op op = insn ? classify(insn, &ends) : OP_SLOW;
        unsigned rd = insn_rd(insn);
        if (rd == 0 && op != OP_SLOW && op != OP_JAL && op != OP_JALR && !ends &&
            !(op >= OP_LB && op <= OP_SD))
            op = OP_NOP; /* hints and nops writing x0 */
        if (op == OP_SLOW)
            *d = (struct dinsn){ .handler = labels[op], .op = op, .len = len, .imm = (int32_t)insn,
                                 .rd = lo & 0xff, .rs1 = lo >> 8 };
        else
            *d = (struct dinsn){ .handler = labels[op], .op = op, .rd = rd, .rs1 = insn_rs1(insn),
                                 .rs2 = insn_rs2(insn), .len = len, .imm = op_immediate(op, insn) };
        n++;
        if (ends || op == OP_SLOW)
            break;
        p += len;
        offset += len;
    }
    b->code = NULL;
    b->runs = 0;
}

/*
 * Translates a block that has proven hot (most code runs a few times only, and
 * interpreting it is cheaper than translating it).
 */
static void translate_block(struct hart *h, struct block *b)
{
    if (b->insns[0].op == OP_END)
        return; /* a lone page-crossing instruction: the reference path runs it */
    if (!(b->code = jit_translate(h->jit, h, b))) {
        /* The code buffer is full: start it afresh, dropping every translation. */
        jit_reset(h->jit);
        for (unsigned i = 0; i < BLOCK_CACHE_SIZE; i++)
            h->blocks->blocks[i].code = NULL;
        b->code = jit_translate(h->jit, h, b);
    }
}

static inline bool block_valid(const struct hart *h, const struct block *b, uintptr_t host)
{
    return b->host_pc == host && b->gen == atomic_load_explicit(&h->ram->code_gen[b->page], memory_order_relaxed);
}

/* The cached block for the instruction at host address host (guest pc, RAM page page),
 * decoded afresh when its slot holds another block or its code changed. */
static struct block *cached_block(struct hart *h, uintptr_t host, uint64_t pc, size_t page,
                                  const int32_t *labels)
{
    struct block *b = &h->blocks->blocks[(host >> 1) & (BLOCK_CACHE_SIZE - 1)];
    if (unlikely(!block_valid(h, b, host))) {
        b->host_pc = host;
        decode_block(h, b, (const uint8_t *)host, pc, page, labels);
    }
    return b;
}

/*
 * The block at pc, which lies in the same guest page as block b (so shares its
 * translation), reached through b's exit `link`: found through that link, else the
 * cache, else decoded; the link then points at it.
 */
static struct block *same_page_successor(struct hart *h, struct block *b, uint64_t pc, unsigned link,
                                         const int32_t *labels)
{
    uintptr_t host = (b->host_pc & ~(uintptr_t)0xfff) | (pc & 0xfff);
    struct block *next = b->next[link];
    if (next && block_valid(h, next, host))
        return next;
    next = cached_block(h, host, pc, b->page, labels);
    b->next[link] = next;
    return next;
}

/* The block for pc, decoding it if needed; NULL after a fetch exception. */
static struct block *block_lookup(struct hart *h, uint64_t pc, const int32_t *labels)
{
    const struct tlb_entry *e = &h->tlb[mmu_fetch_ctx(h)].fetch[(pc >> 12) & (TLB_SIZE - 1)];
    const uint8_t *host;
    if (likely(tlb_hit(e, pc, 2)))
        host = (const uint8_t *)(uintptr_t)(pc + e->addend);
    else if (!(host = mmu_fetch_host(h, pc)))
        return NULL;
    return cached_block(h, (uintptr_t)host, pc, (size_t)(host - h->ram->host) >> 12, labels);
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

/* Runs an OP_SLOW instruction at h->arch.pc through the reference executor. */
static enum exec_result exec_slow(struct hart *h, const struct dinsn *d)
{
    /* A compressed one keeps its 16 bits in rd/rs1, for an illegal-instruction tval. */
    uint32_t raw = d->len == 2 ? (uint32_t)d->rd | (uint32_t)d->rs1 << 8 : (uint32_t)d->imm;
    return exec_one(h, (uint32_t)d->imm, raw, d->len);
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

static enum exec_exit run_traced(struct hart *h, uint64_t budget)
{
    while (budget--) {
        bool stop;
        enum exec_exit e = after_exec(h, step_one(h), &stop);
        if (stop)
            return e;
    }
    return EXEC_BUDGET;
}

enum exec_exit interp_run(struct hart *h, uint64_t budget)
{
    static const int32_t labels[OP_COUNT] = {
#define LABEL(name) (int32_t)(&&op_##name - &&op_SLOW),
        OPS(LABEL)
#undef LABEL
    };
    if (unlikely(h->trace))
        return run_traced(h, budget);

    uint64_t *x = h->arch.x;
    uint64_t executed = 0, pc, vpage;
    unsigned link;
    struct block *b;
    while (executed < budget) {
        b = block_lookup(h, h->arch.pc, labels);
        if (unlikely(!b)) {
            /* Fetch fault, pc now at the handler. It counts against the budget, so that
             * a guest whose trap vector faults too still returns to the run loop. */
            executed++;
            continue;
        }
    run_block:
        pc = h->arch.pc;
        vpage = pc & ~0xfffULL;
        const struct dinsn *d = b->insns;
        if (!b->code && h->jit && ++b->runs >= h->jit_hot_runs)
            translate_block(h, b);
        if (b->code) {
            uint64_t r = b->code(h, x, pc, budget - executed);
            unsigned n = JIT_RETIRED(r);
            h->arch.instret += n;
            executed += n;
            if (JIT_EXIT_KIND(r) == JIT_EXIT_FAULT) {
                h->jit_fault = false;
                executed++; /* the faulting instruction, as in the interpreter */
                continue;
            }
            if (JIT_EXIT_KIND(r) == JIT_EXIT_SLOW) {
                bool stop;
                enum exec_exit e = after_exec(h, exec_slow(h, h->jit_exit_insn), &stop);
                executed++;
                if (stop)
                    return e;
                continue;
            }
            if (JIT_LINK(r) && executed < budget) {
                b = same_page_successor(h, h->jit_exit_block, h->arch.pc, JIT_LINK(r) - 1, labels);
                goto run_block;
            }
            continue;
        }
        if (unlikely(d->handler == labels[OP_END])) { /* an instruction crossing a page boundary */
            bool stop;
            enum exec_exit e = after_exec(h, step_one(h), &stop);
            executed++;
            if (stop)
                return e;
            continue;
        }
        uint64_t v;

#define DISPATCH() goto *(const void *)((const char *)&&op_SLOW + d->handler)
#define NEXT() do { pc += d->len; d++; DISPATCH(); } while (0)
/* Retires the instructions before d (d itself not included). */
#define RETIRE_BEFORE() \
    do { unsigned n_ = (unsigned)(d - b->insns); h->arch.instret += n_; executed += n_; } while (0)
#define ALU(name, expr) op_##name: x[d->rd] = (expr); NEXT();
#define LOAD(name, fn) op_##name: \
        h->arch.pc = pc; \
        if (unlikely(!fn(h, x[d->rs1] + d->imm, &v))) goto fault; \
        x[d->rd] = v; x[0] = 0; NEXT();
#define STORE(name, size) op_##name: \
        h->arch.pc = pc; \
        if (unlikely(!mem_store(h, x[d->rs1] + d->imm, size, x[d->rs2]))) goto fault; \
        NEXT();
#define BRANCH(name, cond) op_##name: \
        if (cond) { pc += (int64_t)d->imm; link = BLOCK_LINK_TAKEN; goto block_done; } \
        pc += d->len; link = BLOCK_LINK_NEXT; goto block_done;

        DISPATCH();
    op_NOP: NEXT();
    ALU(LUI, (int64_t)d->imm)
    ALU(AUIPC, pc + (int64_t)d->imm)
    op_JAL:
        x[d->rd] = pc + d->len;
        x[0] = 0;
        pc += (int64_t)d->imm;
        link = BLOCK_LINK_TAKEN;
        goto block_done;
    op_JALR: {
        uint64_t target = (x[d->rs1] + d->imm) & ~1ULL;
        x[d->rd] = pc + d->len;
        x[0] = 0;
        pc = target;
        link = BLOCK_LINK_TAKEN;
        goto block_done;
    }
    BRANCH(BEQ, x[d->rs1] == x[d->rs2])
    BRANCH(BNE, x[d->rs1] != x[d->rs2])
    BRANCH(BLT, (int64_t)x[d->rs1] < (int64_t)x[d->rs2])
    BRANCH(BGE, (int64_t)x[d->rs1] >= (int64_t)x[d->rs2])
    BRANCH(BLTU, x[d->rs1] < x[d->rs2])
    BRANCH(BGEU, x[d->rs1] >= x[d->rs2])
    LOAD(LB, mem_load_i8)
    LOAD(LH, mem_load_i16)
    LOAD(LW, mem_load_i32)
    LOAD(LD, mem_load_u64)
    LOAD(LBU, mem_load_u8)
    LOAD(LHU, mem_load_u16)
    LOAD(LWU, mem_load_u32)
    STORE(SB, 1)
    STORE(SH, 2)
    STORE(SW, 4)
    STORE(SD, 8)
    ALU(ADDI, x[d->rs1] + (int64_t)d->imm)
    ALU(SLTI, (int64_t)x[d->rs1] < (int64_t)d->imm)
    ALU(SLTIU, x[d->rs1] < (uint64_t)(int64_t)d->imm)
    ALU(XORI, x[d->rs1] ^ (int64_t)d->imm)
    ALU(ORI, x[d->rs1] | (int64_t)d->imm)
    ALU(ANDI, x[d->rs1] & (int64_t)d->imm)
    ALU(SLLI, x[d->rs1] << d->imm)
    ALU(SRLI, x[d->rs1] >> d->imm)
    ALU(SRAI, (int64_t)x[d->rs1] >> d->imm)
    ALU(ADDIW, sx32(x[d->rs1] + d->imm))
    ALU(SLLIW, sx32((uint32_t)x[d->rs1] << d->imm))
    ALU(SRLIW, sx32((uint32_t)x[d->rs1] >> d->imm))
    ALU(SRAIW, sx32((int32_t)x[d->rs1] >> d->imm))
    ALU(ADD, x[d->rs1] + x[d->rs2])
    ALU(SUB, x[d->rs1] - x[d->rs2])
    ALU(SLL, x[d->rs1] << (x[d->rs2] & 63))
    ALU(SLT, (int64_t)x[d->rs1] < (int64_t)x[d->rs2])
    ALU(SLTU, x[d->rs1] < x[d->rs2])
    ALU(XOR, x[d->rs1] ^ x[d->rs2])
    ALU(SRL, x[d->rs1] >> (x[d->rs2] & 63))
    ALU(SRA, (int64_t)x[d->rs1] >> (x[d->rs2] & 63))
    ALU(OR, x[d->rs1] | x[d->rs2])
    ALU(AND, x[d->rs1] & x[d->rs2])
    ALU(ADDW, sx32(x[d->rs1] + x[d->rs2]))
    ALU(SUBW, sx32(x[d->rs1] - x[d->rs2]))
    ALU(SLLW, sx32((uint32_t)x[d->rs1] << (x[d->rs2] & 31)))
    ALU(SRLW, sx32((uint32_t)x[d->rs1] >> (x[d->rs2] & 31)))
    ALU(SRAW, sx32((int32_t)x[d->rs1] >> (x[d->rs2] & 31)))
    ALU(MUL, x[d->rs1] * x[d->rs2])
    ALU(MULH, mulh64(x[d->rs1], x[d->rs2]))
    ALU(MULHSU, mulhsu64(x[d->rs1], x[d->rs2]))
    ALU(MULHU, mulhu64(x[d->rs1], x[d->rs2]))
    ALU(DIV, div64(x[d->rs1], x[d->rs2]))
    ALU(DIVU, x[d->rs2] ? x[d->rs1] / x[d->rs2] : ~0ULL)
    ALU(REM, rem64(x[d->rs1], x[d->rs2]))
    ALU(REMU, x[d->rs2] ? x[d->rs1] % x[d->rs2] : x[d->rs1])
    ALU(MULW, sx32((uint32_t)x[d->rs1] * (uint32_t)x[d->rs2]))
    ALU(DIVW, divw32(x[d->rs1], x[d->rs2]))
    ALU(DIVUW, (uint32_t)x[d->rs2] ? sx32((uint32_t)x[d->rs1] / (uint32_t)x[d->rs2]) : ~0ULL)
    ALU(REMW, remw32(x[d->rs1], x[d->rs2]))
    ALU(REMUW, (uint32_t)x[d->rs2] ? sx32((uint32_t)x[d->rs1] % (uint32_t)x[d->rs2]) : sx32(x[d->rs1]))
    ALU(SH1ADD, (x[d->rs1] << 1) + x[d->rs2])
    ALU(SH2ADD, (x[d->rs1] << 2) + x[d->rs2])
    ALU(SH3ADD, (x[d->rs1] << 3) + x[d->rs2])
    ALU(ADDUW, (x[d->rs1] & 0xffffffffULL) + x[d->rs2])

    op_END:
        /* Fell off the block's end (size limit or page end): continue at pc. */
        RETIRE_BEFORE();
        h->arch.pc = pc;
        link = BLOCK_LINK_NEXT;
        goto chain;
    op_SLOW: {
        RETIRE_BEFORE();
        h->arch.pc = pc;
        bool stop;
        enum exec_exit e = after_exec(h, exec_slow(h, d), &stop);
        executed++;
        if (stop)
            return e;
        continue;
    }
    fault:
        /* The load/store raised an exception: pc is at the handler; d did not retire but
         * counts against the budget (a trap loop must not keep the run loop waiting). */
        RETIRE_BEFORE();
        executed++;
        continue;
    block_done:
        d++;
        RETIRE_BEFORE();
        h->arch.pc = pc;
    chain:
        if (executed < budget && (pc & ~0xfffULL) == vpage) {
            /* Chain to a same-page successor without a TLB and cache lookup. */
            b = same_page_successor(h, b, pc, link, labels);
            goto run_block;
        }
    }
    return EXEC_BUDGET;
}
