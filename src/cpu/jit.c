/*
 * The host-independent half of the translator (see jit.h and jit_emit.h): the code
 * buffer, the C helpers translated code calls, and the mapping of each decoded op onto
 * the emitter's operations. Semantics come from alu.h and mmu.h, as for the other
 * engines; only encodings live in the emitter.
 */
#include "cpu/jit.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cpu/alu.h"
#include "cpu/decode.h"
#include "cpu/execute.h"
#include "cpu/jit_emit.h"
#include "cpu/mmu.h"
#include "memory/guest_ram.h"

/* perf's map and jitdump of this process (jit_perf_map_open), or -1: written by every
 * hart, one line or record per write. */
static int perf_map_fd = -1, jitdump_fd = -1;
/* The pid perf sees, that of /proc's PID namespace (the host's): inside --sandbox jail's
 * own namespace, getpid() is another. */
static uint32_t perf_pid;
/* The jitdump's code index of the next translation: unique, as the spec asks. */
static _Atomic uint64_t jitdump_next_index;

/* perf's jitdump format (tools/perf/Documentation/jitdump-specification.txt); its
 * timestamps are CLOCK_MONOTONIC's (monotonic_ns), the clock of `perf record -k mono`. */
#define JITDUMP_MAGIC 0x4A695444u /* "JiTD" */
#define JITDUMP_VERSION 1
#define JITDUMP_CODE_LOAD 0
struct jitdump_header {
    uint32_t magic, version, total_size, elf_mach, pad1, pid;
    uint64_t timestamp, flags;
};
/* Followed by the name, with its NUL, and the code's bytes. */
struct jitdump_code_load {
    uint32_t id, total_size;
    uint64_t timestamp;
    uint32_t pid, tid;
    uint64_t vma, code_addr, code_size, code_index;
};

/* The jitdump's header, and its mapping that perf record sees (kept for the process's
 * life): perf inject --jit finds the file by that mapping's name. */
static int jitdump_open(const char *path)
{
    jitdump_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (jitdump_fd < 0)
        return -1;
    atomic_store(&jitdump_next_index, 0);
    const struct jitdump_header header = { .magic = JITDUMP_MAGIC, .version = JITDUMP_VERSION,
                                           .total_size = sizeof(header), .elf_mach = JIT_HOST_ELF_MACHINE,
                                           .pid = perf_pid, .timestamp = monotonic_ns() };
    if (write(jitdump_fd, &header, sizeof(header)) != (ssize_t)sizeof(header))
        return -1;
    void *marker = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_EXEC, MAP_PRIVATE, jitdump_fd, 0);
    return marker == MAP_FAILED ? -1 : 0;
}

int jit_perf_map_open(void)
{
    char self[32], path[64];
    ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    perf_pid = n > 0 ? (uint32_t)atoi(self) : (uint32_t)getpid();
    snprintf(path, sizeof(path), "/tmp/perf-%u.map", perf_pid);
    perf_map_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (perf_map_fd < 0)
        return -1;
    snprintf(path, sizeof(path), "/tmp/jit-%u.dump", perf_pid);
    return jitdump_open(path);
}

#if JIT_HAVE_EMITTER

/*
 * Each translation's record, just before its code in the buffer. A block evicted from its
 * cache set (block.h) and decoded afresh at the same address and code generation finds
 * its translation again through the index instead of being translated once more: in a
 * fork-heavy guest that churn wrote ~1 MiB of duplicate code per second.
 */
struct translation_record {
    struct translation_record *next;   /* in its index bucket */
    uintptr_t host_pc;
    struct block *owner;               /* the block it serves now: its exits report it */
    uint32_t gen, size;                /* size: last, where jit_code_size finds it */
};
_Static_assert(offsetof(struct translation_record, size) + sizeof(uint32_t) == sizeof(struct translation_record),
               "a translation's size lies just before its code");

/* Names the size bytes of host code at code for perf: a translation "rv:<guest pc>", or
 * the buffer's lookup routine; a line of its map and a record of its jitdump with the
 * bytes as written now (before jit_chain patches any). One write each, as harts append at
 * once; a failed one (a full disk) loses its entry. */
static void perf_note_code(const void *code, uint32_t size, const char *name)
{
    char line[64];
    int len = snprintf(line, sizeof(line), "%lx %x %s\n", (unsigned long)(uintptr_t)code, size, name);
    ssize_t written = write(perf_map_fd, line, (size_t)len);
    size_t name_size = strlen(name) + 1;
    struct jitdump_code_load load = {
        .id = JITDUMP_CODE_LOAD, .total_size = (uint32_t)(sizeof(load) + name_size + size),
        .timestamp = monotonic_ns(), .pid = perf_pid, .tid = (uint32_t)gettid(),
        .vma = (uintptr_t)code, .code_addr = (uintptr_t)code, .code_size = size,
        .code_index = atomic_fetch_add_explicit(&jitdump_next_index, 1, memory_order_relaxed),
    };
    const struct iovec parts[] = { { &load, sizeof(load) }, { (void *)name, name_size }, { (void *)code, size } };
    written = writev(jitdump_fd, parts, 3);
    (void)written;
}

/* Loads' and stores' helpers, at most one each (op_translation). */
#define COUNT_OP(...) +1
enum { JIT_HELPER_CALLS = 0 LOAD_OPS(COUNT_OP) STORE_OPS(COUNT_OP) };
#undef COUNT_OP

struct jit {
    uint8_t *buf;
    size_t size, used;
    /* Records by host address, at most one per address (the newest generation's). */
    struct translation_record **index;
    size_t index_size;
    /* line-aligned, so that no entry spans two of the host's cache lines */
    _Alignas(64) struct jit_jump jumps[JIT_JUMP_SIZE];
    const uint8_t *lookup; /* at the buffer's start once used: jit_emit_lookup */
    struct jit_helper_call helper_calls[JIT_HELPER_CALLS]; /* after it: the loads' and stores' helpers' */
    unsigned nhelper_calls;
    const uint8_t *fault_exit;
};

/* One bucket per 4 KiB of code buffer: ~3 translations per bucket when it is full. */
#define JIT_INDEX_BYTES_PER_BUCKET 4096

static struct translation_record **index_bucket(const struct jit *j, uintptr_t host_pc)
{
    return &j->index[((host_pc >> 1) * 0x9e3779b97f4a7c15ull >> 32) & (j->index_size - 1)];
}

/* Files rec in the index, in place of an older generation's record at its address. */
static void index_insert(struct jit *j, struct translation_record *rec)
{
    struct translation_record **bucket = index_bucket(j, rec->host_pc);
    for (struct translation_record **p = bucket; *p; p = &(*p)->next)
        if ((*p)->host_pc == rec->host_pc) {
            *p = (*p)->next;
            break;
        }
    rec->next = *bucket;
    *bucket = rec;
}

jit_entry jit_translated(struct jit *j, struct block *b)
{
    for (struct translation_record *rec = *index_bucket(j, b->host_pc); rec; rec = rec->next)
        if (rec->host_pc == b->host_pc) {
            if (rec->gen != b->gen)
                return NULL;
            rec->owner = b;
            return (jit_entry)(void *)(rec + 1);
        }
    return NULL;
}

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
 * An OP_SLOW instruction that only computes, loads or stores (bit manipulation beyond Zba
 * and Zbb's one-operand ops, Zicbom's cache-block operations): it cannot change
 * privilege, translation or the code cache, so
 * translated code runs it through the reference executor in place and goes on to the
 * next block, instead of returning to the run loop for it. (fence.i has an op of its own.)
 */
static bool slow_in_place(const struct dinsn *d)
{
    uint32_t insn = (uint32_t)d->imm;
    switch (insn & 0x7f) {
    case 0x2f: case 0x13: case 0x1b: case 0x33: case 0x3b: case 0x0f:
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

static void jit_cbo_zero_insn(struct hart *h, const struct dinsn *d)
{
    if (!exec_cbo_zero(h, h->arch.x[d->rs1], (uint32_t)d->imm))
        h->jit_fault = true; /* trapped: pc is at the handler */
}

static void jit_amo_insn(struct hart *h, const struct dinsn *d)
{
    if (!exec_amo(h, (uint32_t)d->imm))
        h->jit_fault = true; /* trapped: pc is at the handler */
}

/* The slow path of an inline AMO (jit_emit_amo): rd's value after it. */
static uint64_t jit_amo_access(struct hart *h, const struct dinsn *d)
{
    jit_amo_insn(h, d);
    return h->arch.x[d->rd];
}

/* An in-place OP_SLOW, OP_RDTIME or OP_FETCH_FENCE instruction. */
static void jit_slow_insn(struct hart *h, const struct dinsn *d)
{
    enum exec_result r = exec_slow(h, (uint32_t)d->imm, dinsn_raw(d));
    if (r == EXEC_NEXT) {
        h->arch.instret--; /* exec_one counted it; so does the block's retired count */
        return;
    }
    /* Trapped (pc at the handler), or may have unmasked a pending interrupt, taken here
     * as the run loop would: the block exits as after a fault (having counted itself). */
    if (r == EXEC_CHECK_IRQ_AFTER)
        hart_take_interrupts(h);
    h->jit_fault = true;
}

/* An OP_TRAP_CSR instruction where it is not inline (translate_trap_csr). Only its write
 * changes the data TLB context (sstatus.SUM): its translation then loads the context's
 * TLB again. */
static void jit_trap_csr_insn(struct hart *h, const struct dinsn *d)
{
    uint64_t mstatus = h->arch.mstatus, vsstatus = h->arch.vsstatus;
    enum exec_result r = exec_trap_csr(h, (uint32_t)d->imm);
    bool mxr_moved = ((mstatus ^ h->arch.mstatus) | (vsstatus ^ h->arch.vsstatus)) & MSTATUS_MXR;
    if (r == EXEC_NEXT && !mxr_moved)
        return;
    /* Trapped (pc at the handler), or a write that flushed the TLB (MXR) or unmasked a
     * pending interrupt, taken here as the run loop would: the block exits as after a
     * fault, the instruction counted and pc past it. */
    if (r != EXEC_TRAPPED) {
        h->arch.pc += 4;
        h->arch.instret++;
    }
    if (r == EXEC_CHECK_IRQ_AFTER)
        hart_take_interrupts(h);
    h->jit_fault = true;
}

/* ---- translation ---- */

/* Whether an instruction before index i is an FP one (OP_FP), other than a store when
 * stores_too is false. */
static bool fp_before(const struct dinsn *insns, unsigned i, bool stores_too)
{
    for (unsigned k = 0; k < i; k++)
        if (insns[k].op == OP_FP && (stores_too || (insns[k].imm & 0x7f) != 0x27))
            return true;
    return false;
}

/* Whether FP instruction i may leave the FS check (stores_too) or the dirty marking to an
 * earlier one: not in a translation that accesses sstatus, which may turn FS off or clean
 * between any two of them on some path through its jumps. */
static bool fp_done_before(const struct translation *t, unsigned i, bool stores_too)
{
    return !t->accesses_sstatus && fp_before(t->insns, i, stores_too);
}

/* Whether an FP instruction is flw, fld, fsw or fsd (store: one of the last two). */
static bool fp_access(uint32_t insn, bool *store)
{
    unsigned opcode = insn & 0x7f, f3 = insn_funct3(insn);
    *store = opcode == 0x27;
    return (opcode == 0x07 || opcode == 0x27) && (f3 == 2 || f3 == 3);
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
    bool store;
    if (!fp_done_before(t, i, true))
        jit_emit_fp_enabled_check(e, d, i, off);
    if (fp_access(insn, &store)) {
        struct dinsn access = { .rd = JIT_FREG(insn_rd(insn)), .rs1 = insn_rs1(insn),
                                .rs2 = JIT_FREG(insn_rs2(insn)),
                                .imm = (int32_t)(store ? insn_imm_s(insn) : insn_imm_i(insn)), .len = d->len };
        const void *helper = store ? (f3 == 3 ? (const void *)jit_store_SD : (const void *)jit_store_SW)
                                   : (f3 == 3 ? (const void *)jit_load_LD : (const void *)jit_load_LWU);
        jit_emit_access(e, &access, i, off, 1u << f3, false, store, helper, t->keep[i], t->reuse[i], -1);
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
    if (opcode != 0x27 && !fp_done_before(t, i, false))
        jit_emit_fp_dirty(e);
}

/* Offset in the block's page of the instruction at block offset off, plus delta;
 * JIT_TARGET_OTHER_PAGE when that leaves the page. */
static int64_t page_offset(const struct translation *t, int32_t off, int64_t delta)
{
    int64_t o = (int64_t)(t->b->host_pc & 0xfff) + off + delta;
    return o >= 0 && o < 0x1000 ? o : JIT_TARGET_OTHER_PAGE;
}

/*
 * The index of the instruction at block offset target, among the n of insns (at block
 * offsets offs[]), that a jump at index i may go to within the translation's code; -1
 * when none. A jump forward must not skip an FP instruction: the first checks that the
 * FPU is on and marks it dirty for those after it (translate_fp).
 */
static int insn_inside(const struct dinsn *insns, const int32_t *offs, unsigned n, unsigned i, int64_t target)
{
    for (unsigned k = 0; k < n; k++) {
        if (offs[k] != target || insns[k].op == OP_END)
            continue;
        for (unsigned s = i + 1; s < k; s++)
            if (insns[s].op == OP_FP)
                return -1;
        return (int)k;
    }
    return -1;
}

/*
 * What the translator makes of each op: the one description from which both an
 * instruction's code (translate_one) and the guest registers it reads and writes
 * (insn_registers) follow.
 */
enum insn_kind {
    KIND_SLOW,      /* OP_SLOW: in place when slow_in_place, else to the run loop; ends the block */
    KIND_END,       /* falls through to the next block (or to an instruction of the trace) */
    KIND_NOP,
    KIND_LUI,       /* rd = imm */
    KIND_AUIPC,     /* rd = pc + imm */
    KIND_JAL,       /* rd = the next pc; ends the block */
    KIND_JALR,      /* rd = the next pc, to x[rs1] + imm; ends the block */
    KIND_BRANCH,    /* on cond(x[rs1], x[rs2]) */
    KIND_LOAD,      /* rd = size bytes at x[rs1] + imm, sign-extended when sign */
    KIND_STORE,     /* size bytes of x[rs2] at x[rs1] + imm */
    KIND_ALU_IMM,   /* rd = x[rs1] alu imm (word: the W form) */
    KIND_ALU,       /* rd = x[rs1] alu x[rs2] (word: the W form) */
    KIND_CALL,      /* rd = fn(x[rs1], x[rs2]) */
    KIND_FP,        /* translate_fp: its loads and stores read the integer base rs1 of the instruction */
    KIND_FENCE,     /* a host barrier as the fence's orders need */
    KIND_CBO_ZERO,  /* exec_cbo_zero in place */
    KIND_AMO,       /* inline (insn_amo_defined), else exec_amo in place: rd written in the
                       register file */
    KIND_TRAP_CSR,  /* inline, else jit_trap_csr_insn (rdtime: jit_slow_insn) in place:
                       rd written in the register file */
    KIND_FETCH_FENCE, /* jit_slow_insn in place, then on through the fetch TLB */
};

struct op_translation {
    uint8_t kind;                         /* enum insn_kind */
    uint8_t how;                          /* KIND_ALU*: enum jit_alu; KIND_BRANCH: enum jit_cond; KIND_LOAD/STORE: size */
    bool word;                            /* KIND_ALU*: the W form; KIND_LOAD: sign-extended */
    const void *helper;                   /* KIND_LOAD/STORE: the slow path */
    uint64_t (*fn)(uint64_t, uint64_t);   /* KIND_CALL */
};

/* Entries of op_translation: an op of a kind, with its operation or condition (`how`),
 * in its W form; a call of an alu.h function. */
#define KIND(k) { .kind = KIND_##k }
#define HOW(k, op) { .kind = KIND_##k, .how = JIT_##op }
#define WORD(k, op) { .kind = KIND_##k, .how = JIT_##op, .word = true }
#define CALL(name) { .kind = KIND_CALL, .fn = alu_##name }
static const struct op_translation op_translation[OP_COUNT] = {
    [OP_SLOW] = KIND(SLOW), [OP_END] = KIND(END), [OP_NOP] = KIND(NOP), [OP_LUI] = KIND(LUI),
    [OP_AUIPC] = KIND(AUIPC), [OP_JAL] = KIND(JAL), [OP_JALR] = KIND(JALR), [OP_FP] = KIND(FP),
    [OP_FENCE] = KIND(FENCE), [OP_CBO_ZERO] = KIND(CBO_ZERO), [OP_AMO] = KIND(AMO),
    [OP_TRAP_CSR] = KIND(TRAP_CSR), [OP_RDTIME] = KIND(TRAP_CSR), [OP_FETCH_FENCE] = KIND(FETCH_FENCE),
    [OP_BEQ] = HOW(BRANCH, EQ), [OP_BNE] = HOW(BRANCH, NE), [OP_BLT] = HOW(BRANCH, LT),
    [OP_BGE] = HOW(BRANCH, GE), [OP_BLTU] = HOW(BRANCH, LTU), [OP_BGEU] = HOW(BRANCH, GEU),
#define LOAD_KIND(name, fn, size, sign) \
    [OP_##name] = { .kind = KIND_LOAD, .how = size, .word = sign, .helper = (const void *)jit_load_##name },
    LOAD_OPS(LOAD_KIND)
#undef LOAD_KIND
#define STORE_KIND(name, size) \
    [OP_##name] = { .kind = KIND_STORE, .how = size, .helper = (const void *)jit_store_##name },
    STORE_OPS(STORE_KIND)
#undef STORE_KIND
    [OP_ADDI] = HOW(ALU_IMM, ADD), [OP_ANDI] = HOW(ALU_IMM, AND), [OP_ORI] = HOW(ALU_IMM, OR),
    [OP_XORI] = HOW(ALU_IMM, XOR), [OP_SLTI] = HOW(ALU_IMM, SLT), [OP_SLTIU] = HOW(ALU_IMM, SLTU),
    [OP_SLLI] = HOW(ALU_IMM, SLL), [OP_SRLI] = HOW(ALU_IMM, SRL), [OP_SRAI] = HOW(ALU_IMM, SRA),
    [OP_ADDIW] = WORD(ALU_IMM, ADD), [OP_SLLIW] = WORD(ALU_IMM, SLL), [OP_SRLIW] = WORD(ALU_IMM, SRL),
    [OP_SRAIW] = WORD(ALU_IMM, SRA),
    [OP_ADD] = HOW(ALU, ADD), [OP_SUB] = HOW(ALU, SUB), [OP_AND] = HOW(ALU, AND), [OP_OR] = HOW(ALU, OR),
    [OP_XOR] = HOW(ALU, XOR), [OP_SLL] = HOW(ALU, SLL), [OP_SRL] = HOW(ALU, SRL), [OP_SRA] = HOW(ALU, SRA),
    [OP_SLT] = HOW(ALU, SLT), [OP_SLTU] = HOW(ALU, SLTU), [OP_MUL] = HOW(ALU, MUL), [OP_MULH] = HOW(ALU, MULH),
    [OP_MULHU] = HOW(ALU, MULHU), [OP_SH1ADD] = HOW(ALU, SH1ADD), [OP_SH2ADD] = HOW(ALU, SH2ADD),
    [OP_SH3ADD] = HOW(ALU, SH3ADD), [OP_ADDUW] = HOW(ALU, ADDUW),
    [OP_ADDW] = WORD(ALU, ADD), [OP_SUBW] = WORD(ALU, SUB), [OP_SLLW] = WORD(ALU, SLL),
    [OP_SRLW] = WORD(ALU, SRL), [OP_SRAW] = WORD(ALU, SRA), [OP_MULW] = WORD(ALU, MUL),
    [OP_MULHSU] = CALL(MULHSU), [OP_DIV] = CALL(DIV), [OP_DIVU] = CALL(DIVU), [OP_REM] = CALL(REM),
    [OP_REMU] = CALL(REMU), [OP_DIVW] = CALL(DIVW), [OP_DIVUW] = CALL(DIVUW), [OP_REMW] = CALL(REMW),
    [OP_REMUW] = CALL(REMUW), [OP_CLZ] = CALL(CLZ), [OP_CTZ] = CALL(CTZ), [OP_CPOP] = CALL(CPOP),
    [OP_SEXTB] = CALL(SEXTB), [OP_SEXTH] = CALL(SEXTH), [OP_ORCB] = CALL(ORCB), [OP_REV8] = CALL(REV8),
};
#undef KIND
#undef HOW
#undef WORD
#undef CALL

static const struct op_translation *translation_of(const struct dinsn *d)
{
    return &op_translation[d->op < OP_COUNT ? d->op : OP_SLOW];
}

/* The guest registers instruction d reads and writes (x0 left out); returns whether d
 * ends the block's code. */
static bool insn_registers(const struct dinsn *d, uint32_t *reads, uint32_t *writes)
{
    /* Only the kinds below hold register numbers in rd, rs1 and rs2 (OP_SLOW and OP_FP
     * keep instruction bits there). */
#define RS1 (1u << d->rs1)
#define RS2 (1u << d->rs2)
#define RD (1u << d->rd)
    uint32_t r = 0, w = 0;
    bool ends = false;
    switch ((enum insn_kind)translation_of(d)->kind) {
    case KIND_LOAD: case KIND_ALU_IMM: r = RS1, w = RD; break;
    case KIND_STORE: case KIND_BRANCH: r = RS1 | RS2; break;
    case KIND_ALU: case KIND_CALL: r = RS1 | RS2, w = RD; break;
    case KIND_LUI: case KIND_AUIPC: w = RD; break;
    case KIND_JAL: w = RD, ends = true; break;
    case KIND_JALR: r = RS1, w = RD, ends = true; break;
    case KIND_FP: /* FP loads and stores read their integer base; the rest go through memory */
        if ((d->imm & 0x5f) == 0x07)
            r = 1u << insn_rs1((uint32_t)d->imm);
        break;
    /* The calls read and write the register file, as written back and reloaded around them. */
    case KIND_NOP: case KIND_FENCE: case KIND_CBO_ZERO: break;
    case KIND_AMO:
        if (insn_amo_defined((uint32_t)d->imm))
            r = RS1 | RS2, w = RD;
        break;
    case KIND_TRAP_CSR: /* inline in HS and M mode (translate_trap_csr): rs1 unless uimm */
        if (d->op == OP_TRAP_CSR)
            r = (d->imm >> 12 & 4) ? 0 : RS1, w = RD;
        break;
    case KIND_SLOW: case KIND_END: case KIND_FETCH_FENCE: ends = true; break;
    }
#undef RS1
#undef RS2
#undef RD
    *reads = r & ~1u;
    *writes = w & ~1u;
    return ends;
}

/* How many times more an instruction counts per loop of the block it lies in (the
 * innermost loops' registers matter most), up to MAX_WEIGHT. */
#define LOOP_WEIGHT 8
#define MAX_WEIGHT 4096

/* Whether an ALU op reads a register only through its low word: a W op, an andi with a
 * non-negative mask (its result's upper half is clear whatever the source's), or zext.w
 * (add.uw with x0). */
static bool reads_low_word(const struct dinsn *d)
{
    const struct op_translation *o = translation_of(d);
    return ((o->kind == KIND_ALU || o->kind == KIND_ALU_IMM) && o->word) ||
           (d->op == OP_ANDI && d->imm >= 0) || (d->op == OP_ADDUW && d->rs2 == 0);
}

/* The registers instruction d reads only through their low word (or, a branch on one
 * against x0, only for its sign and whether it is 0): there a W op's result may stand
 * unextended (jit_emit_reads). */
static uint32_t low_word_reads(const struct dinsn *d)
{
    const struct op_translation *o = translation_of(d);
    if (reads_low_word(d))
        return ((1u << d->rs1) | (o->kind == KIND_ALU ? 1u << d->rs2 : 0)) & ~1u;
    if (o->kind == KIND_BRANCH && d->rs2 == 0 && o->how != JIT_LTU && o->how != JIT_GEU)
        return (1u << d->rs1) & ~1u;
    return 0;
}

/*
 * For instruction k, which a jump back reaches (a loop's head), the registers that hold
 * a W op's result where the loop's code, taken in order from k, reaches the last such
 * jump: written by a W op and read since only through their low word (low_word_reads).
 * At an instruction after k that jumps reach, those of its own head (head_low: found
 * first for the later ones). The emitter carries these across the head unextended where
 * every path into it brings them as W results (jit_emit_label).
 */
static uint32_t word_results_at_head(const struct dinsn *insns, const uint32_t *reads, const uint32_t *writes,
                                     const int8_t *inside, const bool *joined, const uint32_t *head_low,
                                     unsigned n, unsigned k)
{
    unsigned last = k;
    bool back = false;
    for (unsigned j = k; j < n; j++)
        if (inside[j] == (int)k)
            last = j, back = true;
    uint32_t low = 0;
    for (unsigned i = k; back && i <= last; i++) {
        const struct op_translation *o = translation_of(&insns[i]);
        if (i > k && joined[i])
            low = head_low[i];
        low &= ~(reads[i] & ~low_word_reads(&insns[i]));
        if ((o->kind == KIND_ALU || o->kind == KIND_ALU_IMM) && o->word)
            low |= writes[i];
        else if (o->kind == KIND_FP || (o->kind == KIND_AMO && !insn_amo_defined((uint32_t)insns[i].imm)) || o->kind == KIND_TRAP_CSR)
            low = 0; /* run in C, which may write any register */
        else
            low &= ~writes[i];
    }
    return low;
}

/* Whether the translation runs d in place among host registers: an ALU op, lui, auipc or a
 * nop, which neither leaves the code, calls out nor traps (so nothing writes back). */
static bool stays_in_registers(const struct dinsn *d)
{
    unsigned kind = translation_of(d)->kind;
    return kind == KIND_ALU || kind == KIND_ALU_IMM || kind == KIND_LUI || kind == KIND_AUIPC || kind == KIND_NOP;
}

/* The registers of regs whose upper half nothing sees from instruction k on: ALU ops
 * read them only through their low word until one writes them (nothing exits or calls
 * out meanwhile). A loop's head may take these as W results whatever value the paths
 * into it bring. */
static uint32_t upper_unseen_from(const struct dinsn *insns, unsigned k, uint32_t regs)
{
    uint32_t unseen = 0;
    for (unsigned r = 1; r < 32; r++) {
        for (unsigned j = k; regs >> r & 1; j++) {
            uint32_t reads, writes;
            if (!stays_in_registers(&insns[j]))
                break;
            insn_registers(&insns[j], &reads, &writes);
            if (reads >> r & 1 & ~(low_word_reads(&insns[j]) >> r))
                break;
            if (writes >> r & 1) {
                unseen |= 1u << r;
                break;
            }
        }
    }
    return unseen;
}

/* Whether the upper half of what instruction insns[i] writes to rd goes unread: the ALU
 * ops after it (nothing that can exit or call out, so no write-back either) overwrite rd
 * before any reads it but through its low word in doing so. Every run of instructions
 * ends in one that ends the block, where the scan stops. */
static bool upper_half_unread(const struct dinsn *insns, unsigned i)
{
    unsigned rd = insns[i].rd;
    for (unsigned j = i + 1;; j++) {
        const struct dinsn *d = &insns[j];
        uint32_t reads, writes;
        if (!stays_in_registers(d))
            return false;
        insn_registers(d, &reads, &writes);
        if (reads >> rd & 1)
            return d->rd == rd && reads_low_word(d);
        if (writes >> rd & 1)
            return true;
    }
}

/*
 * rv64gc's zero extension of a word (Zba's zext.w, which the baseline lacks), slli rd, rs,
 * 32 and later srli rd, rd, 32, becomes add.uw rd, rs, x0 at the first and a nop at the
 * second: one host mov instead of a copy and two shifts. Only where nothing in between
 * reads or writes rd, can leave the code or call out, and no jump lands after the slli
 * up to the srli: none of those would see rd's shifted value then. reads and writes
 * follow the instructions.
 */
static void fuse_zero_extensions(struct dinsn *insns, unsigned n, const bool *joined, uint32_t *reads,
                                 uint32_t *writes)
{
    for (unsigned i = 0; i < n; i++) {
        struct dinsn *d = &insns[i];
        if (d->op != OP_SLLI || d->imm != 32)
            continue;
        for (unsigned j = i + 1; j < n && !joined[j]; j++) {
            const struct dinsn *s = &insns[j];
            if (!stays_in_registers(s))
                break;
            if (!((reads[j] | writes[j]) >> d->rd & 1))
                continue;
            if (s->op == OP_SRLI && s->imm == 32 && s->rs1 == d->rd && s->rd == d->rd) {
                *d = (struct dinsn){ .op = OP_ADDUW, .rd = d->rd, .rs1 = d->rs1, .len = d->len };
                insns[j] = (struct dinsn){ .op = OP_NOP, .len = s->len };
                reads[j] = writes[j] = 0;
            }
            break;
        }
    }
}

/* The trap-handling CSRs inline in HS and M mode: sscratch, sepc, scause and stval are
 * plain fields of the hart there (csr_trap_access), and sstatus is mstatus's fields. */
static void translate_trap_csr(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off)
{
    uint32_t insn = (uint32_t)d->imm;
    unsigned csr = insn >> 20, f3 = insn_funct3(insn);
    bool writes = (f3 & 3) == CSR_OP_WRITE || d->rs1 != 0;
    size_t field;
    switch (csr) {
    case CSR_SSCRATCH: field = offsetof(struct hart, arch.sscratch); break;
    case CSR_SEPC: field = offsetof(struct hart, arch.sepc); break;
    case CSR_SCAUSE: field = offsetof(struct hart, arch.scause); break;
    case CSR_STVAL: field = offsetof(struct hart, arch.stval); break;
    default: /* sstatus */
        jit_emit_sstatus(e, d, i, off, (int)(f3 & 3), writes, f3 & 4, (const void *)jit_trap_csr_insn);
        return;
    }
    jit_emit_csr_field(e, d, i, off, field, (int)(f3 & 3), writes, f3 & 4, csr_trap_field_writable(csr),
                       (const void *)jit_trap_csr_insn);
}

/* Translates one instruction (whether it ends the block, insn_registers says). */
static void translate_one(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                          int32_t off)
{
    const struct op_translation *o = translation_of(d);
    switch ((enum insn_kind)o->kind) {
    case KIND_NOP: return;
    case KIND_LUI: jit_emit_move_imm(e, d->rd, d->imm); return;
    case KIND_AUIPC: jit_emit_pc_relative(e, d->rd, off, d->imm); return;
    case KIND_JAL:
        if (d->rd)
            jit_emit_pc_relative(e, d->rd, off, d->len);
        jit_emit_exit(e, t, i + 1, BLOCK_LINK_TAKEN, off, d->imm, page_offset(t, off, d->imm), t->inside[i]);
        return;
    case KIND_JALR: jit_emit_exit_indirect(e, t, i + 1, d->rs1, d->imm, d->rd, off + d->len); return;
    case KIND_BRANCH:
        jit_emit_branch(e, t, d, i, off, (enum jit_cond)o->how, page_offset(t, off, d->imm), t->inside[i]);
        return;
    case KIND_STORE: /* checks the code itself, after its helper (jit_emit_access) */
    case KIND_LOAD:
        jit_emit_access(e, d, i, off, o->how, o->word, o->kind == KIND_STORE, o->helper, t->keep[i],
                        t->reuse[i], t->guess[i]);
        return;
    case KIND_ALU_IMM:
        jit_emit_alu_imm(e, (enum jit_alu)o->how, o->word, !o->word || !upper_half_unread(t->insns, i), d->rd,
                         d->rs1, d->imm);
        return;
    case KIND_ALU:
        jit_emit_alu(e, (enum jit_alu)o->how, o->word, !o->word || !upper_half_unread(t->insns, i), d->rd,
                     d->rs1, d->rs2);
        return;
    case KIND_CALL: jit_emit_call(e, d->rd, d->rs1, d->rs2, o->fn); return;
    case KIND_END: jit_emit_exit(e, t, i, BLOCK_LINK_NEXT, off, 0, page_offset(t, off, 0), t->inside[i]); return;
    case KIND_FP: translate_fp(e, t, d, i, off); return;
    case KIND_FENCE: jit_emit_fence(e, fence_orders_write_read((uint32_t)d->imm)); return;
    case KIND_AMO:
        e->stored = true;
        if (insn_amo_defined((uint32_t)d->imm)) {
            jit_emit_amo(e, t, d, i, off, (enum amo_funct)insn_amo_funct((uint32_t)d->imm),
                         insn_funct3((uint32_t)d->imm) == 2 ? 4 : 8, (const void *)jit_amo_access,
                         jit_emit_data(e, d, sizeof(*d)));
            return;
        }
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_amo_insn);
        return;
    case KIND_CBO_ZERO:
        e->stored = true;
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off,
                           (const void *)jit_cbo_zero_insn);
        return;
    case KIND_TRAP_CSR:
        if (d->op == OP_TRAP_CSR)
            translate_trap_csr(e, jit_emit_data(e, d, sizeof(*d)), i, off);
        else
            jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_slow_insn);
        return;
    case KIND_FETCH_FENCE:
        /* No chain to the next block in this page: the fence may have remapped the page. */
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_slow_insn);
        jit_emit_exit(e, t, i + 1, BLOCK_LINK_NEXT, off, d->len, JIT_TARGET_LOOKUP, -1);
        return;
    case KIND_SLOW:
        if (!slow_in_place(d))
            break;
        e->stored = true;
        jit_emit_call_insn(e, jit_emit_data(e, d, sizeof(*d)), i, off, (const void *)jit_slow_insn);
        jit_emit_exit(e, t, i + 1, BLOCK_LINK_NEXT, off, d->len, page_offset(t, off, d->len), -1);
        return;
    }
    jit_emit_exit_slow(e, jit_emit_data(e, d, sizeof(*d)), i, off);
}

/*
 * Appends to the n instructions of insns (at block offsets offs[], the block starting at
 * page offset start of the page at host address page) a segment of the trace: the
 * instructions from page offset `at` on, decoded as a block is, up to a jump or a slow
 * instruction, or an OP_END where it falls through to one already there (a jump to it),
 * into the next page, or after BLOCK_MAX_INSNS. Returns the new count; n when the segment
 * holds an FP instruction (the first FP instruction checks and marks the FPU for those
 * after it: a jump could skip it).
 */
static unsigned append_segment(const uint8_t *page, unsigned start, unsigned at, struct dinsn *insns,
                               int32_t *offs, unsigned n)
{
    for (unsigned k = n;; k++) {
        struct dinsn *d = &insns[k];
        bool ends = false;
        *d = (struct dinsn){ .op = OP_END };
        offs[k] = (int32_t)at - (int32_t)start;
        unsigned len = 0;
        if (k - n < BLOCK_MAX_INSNS && k + 1 < JIT_MAX_INSNS && insn_inside(insns, offs, k, k, offs[k]) < 0)
            len = decode_in_page(page, at, d, &ends);
        if (!len)
            return k + 1;
        if (d->op == OP_FP)
            return n;
        if (ends && translation_of(d)->kind != KIND_BRANCH)
            return k + 1;
        at += len;
    }
}

/* Whether the segment of insns[from, to) jumps to one of insns[0, to) (as an OP_END
 * falling through to one does): whether it rejoins the trace rather than leave it. */
static bool rejoins(const struct dinsn *insns, const int32_t *offs, unsigned from, unsigned to)
{
    for (unsigned k = from; k < to; k++) {
        unsigned kind = translation_of(&insns[k])->kind;
        int64_t target = (int64_t)offs[k] + (kind == KIND_END ? 0 : insns[k].imm);
        if ((kind == KIND_JAL || kind == KIND_BRANCH || kind == KIND_END) &&
            insn_inside(insns, offs, to, k, target) >= 0)
            return true;
    }
    return false;
}

/*
 * Traces on past the block: each jump forward (a taken branch, jal) to another place of
 * the page brings the code there into the translation as a segment, so that a loop whose
 * body spans taken branches and jumps runs as one piece of host code with its registers
 * held. A jump back is left out: it mostly closes a loop, whose head has a translation
 * of its own that holds the loop without this block's code before it; so is a segment
 * that never rejoins the trace (a loop's exit): it would only add code.
 * A segment's bytes are claimed as the page's code once decoded (guest_ram_code_extend:
 * just those, since a store into the claimed range costs the page's translations) and
 * decoded again: a store that came between changed them, or changes the page's code
 * generation from then on. No segment is kept when the decodings differ or the
 * generation changed since the block's decoding. Returns the count of instructions with
 * the segments.
 */
static unsigned trace_segments(struct hart *h, const struct block *b, struct dinsn *insns, int32_t *offs, unsigned n)
{
    unsigned traced = n, start = b->host_pc & 0xfff;
    const uint8_t *page = (const uint8_t *)(b->host_pc & ~(uintptr_t)0xfff);
    if (fp_before(insns, n, true))
        return n;
    for (unsigned i = 0; i < n && n + 1 < JIT_MAX_INSNS; i++) {
        unsigned kind = translation_of(&insns[i])->kind;
        int64_t at = (int64_t)start + offs[i] + insns[i].imm;
        if ((kind != KIND_JAL && kind != KIND_BRANCH) || insns[i].imm <= 0 || at >= 0x1000 ||
            insn_inside(insns, offs, n, i, at - start) >= 0)
            continue;
        unsigned end = append_segment(page, start, (unsigned)at, insns, offs, n);
        if (end == n || !rejoins(insns, offs, n, end))
            continue;
        const struct dinsn *last = &insns[end - 1];
        if (guest_ram_code_extend(h->ram, b->page, (unsigned)at, start + offs[end - 1] + last->len))
            mmu_code_page_added(h, b->page);
        struct dinsn again[JIT_MAX_INSNS];
        int32_t again_offs[JIT_MAX_INSNS];
        memcpy(again, insns, n * sizeof(*insns));
        memcpy(again_offs, offs, n * sizeof(*offs));
        if (append_segment(page, start, (unsigned)at, again, again_offs, n) != end ||
            memcmp(again + n, insns + n, (end - n) * sizeof(*insns)))
            return traced;
        n = end;
    }
    return atomic_load(&h->ram->code_gen[b->page]) == b->gen ? n : traced;
}

/* Whether d is a load (integer or FP): then its base register. */
static bool load_of(const struct dinsn *d, unsigned *base)
{
    unsigned kind = translation_of(d)->kind;
    bool store;
    *base = d->rs1;
    if (kind == KIND_FP) {
        *base = insn_rs1((uint32_t)d->imm);
        return fp_access((uint32_t)d->imm, &store) && !store;
    }
    return kind == KIND_LOAD;
}

/* Whether d steps register r by a constant (addi r, r, imm): a pointer walking memory. */
static bool steps(const struct dinsn *d, unsigned r)
{
    const struct op_translation *o = translation_of(d);
    return o->kind == KIND_ALU_IMM && o->how == JIT_ADD && !o->word && d->rd == r && d->rs1 == r;
}

/* Whether instruction j is in a loop of the translation whose innermost, from the jump
 * back at its last instruction to its first, leaves register r alone or only steps it. */
static bool walks_in_loop(const struct translation *t, unsigned n, const uint32_t *writes, unsigned j, unsigned r)
{
    int first = -1, last = 0;
    for (int i = (int)j; i < (int)n; i++)
        if (t->inside[i] >= 0 && t->inside[i] <= (int)j && (first < 0 || i - t->inside[i] < last - first))
            first = t->inside[i], last = i;
    if (first < 0)
        return false;
    for (int i = first; i <= last; i++)
        if (writes[i] >> r & 1 && !steps(&t->insns[i], r))
            return false;
    return true;
}

/*
 * Which loads use which host bases (jit_emit_access), by the guess that loads through
 * one base register stay in one page. A load in a loop of the translation through one of
 * its first JIT_HOST_BASES base registers that its innermost loop leaves alone or only
 * steps (a pointer walking an array) compares with that register's slot on every pass
 * (the slot stays filled from one to the next). A base the loop computes otherwise (an
 * index added, a pointer loaded) lands on another page too often: the compare would then
 * mispredict and refill where the TLB lookup alone hits. Any other load reuses the slot
 * an earlier one filled through the same base register, unwritten since, with only
 * integer arithmetic, branches not taken, loads, stores and inline FP arithmetic between
 * (so the entry is most likely still there). A place a jump reaches, or the start of a
 * trace's segment, starts afresh. Such a load takes a free slot (else the one used
 * longest ago), filled only if a later load reuses it.
 */
static void plan_host_bases(struct translation *t, unsigned n, const bool *joined, const bool *ends,
                            const uint32_t *writes)
{
    int8_t loop_slot[32];
    bool walking[JIT_MAX_INSNS];
    unsigned loop_slots = 0, base;
    memset(loop_slot, -1, sizeof(loop_slot));
    for (unsigned i = 0; i < n; i++) {
        walking[i] = load_of(&t->insns[i], &base) && walks_in_loop(t, n, writes, i, base);
        if (walking[i] && loop_slot[base] < 0 && loop_slots < JIT_HOST_BASES)
            loop_slot[base] = (int8_t)loop_slots++;
    }
    struct {
        bool live;
        unsigned base, keeper, used;
    } slot[JIT_HOST_BASES] = { 0 };
    for (unsigned i = 0; i < n; i++) {
        const struct dinsn *d = &t->insns[i];
        unsigned kind = translation_of(d)->kind;
        bool load = load_of(d, &base), store;
        bool passes = load || kind == KIND_STORE || kind == KIND_NOP || kind == KIND_LUI || kind == KIND_AUIPC ||
                      kind == KIND_BRANCH || kind == KIND_ALU_IMM || kind == KIND_ALU ||
                      (kind == KIND_FP && (fp_access((uint32_t)d->imm, &store) || inline_fp_op((uint32_t)d->imm) >= 0));
        t->keep[i] = t->reuse[i] = -1;
        if (joined[i] || (i >= t->traced && (i == t->traced || ends[i - 1])))
            for (int k = 0; k < JIT_HOST_BASES; k++)
                slot[k].live = false;
        if (walking[i] && loop_slot[base] >= 0) {
            t->reuse[i] = loop_slot[base];
        } else if (load) {
            /* Within the slots loops leave. */
            int first = (int)loop_slots, k = first, oldest = first;
            while (k < JIT_HOST_BASES && !(slot[k].live && slot[k].base == base))
                k++;
            if (k < JIT_HOST_BASES) {
                t->reuse[i] = (int8_t)k;
                t->keep[slot[k].keeper] = (int8_t)k;
            } else if (first < JIT_HOST_BASES) {
                for (k = first; k < JIT_HOST_BASES && slot[k].live; k++)
                    if (slot[k].used < slot[oldest].used)
                        oldest = k;
                k = k < JIT_HOST_BASES ? k : oldest;
                slot[k].live = true, slot[k].base = base, slot[k].keeper = i;
            }
            if (k < JIT_HOST_BASES)
                slot[k].used = i;
        }
        for (int k = 0; k < JIT_HOST_BASES; k++)
            if (!passes || writes[i] >> slot[k].base & 1)
                slot[k].live = false;
    }
}

/* Whether instruction j lies in a loop of the translation: a jump back over it. */
static bool in_loop(const struct translation *t, unsigned n, unsigned j)
{
    for (unsigned i = j; i < n; i++)
        if (t->inside[i] >= 0 && t->inside[i] <= (int)j)
            return true;
    return false;
}

/* Which loads guess their addend (jit_emit_access): the integer loads in a loop of the
 * translation that use no host base, where a dependent chain of loads may wait on each
 * one's TLB entry, in code translated in U mode (user buffers: pages in runs) or M
 * mode (bare metal: one addend); their guesses spread over h->jit_load_guess by block
 * and index. S mode's accesses mix the kernel's linear map, vmalloc and user pages. */
static void plan_load_guesses(struct translation *t, unsigned n, enum priv priv)
{
    for (unsigned i = 0; i < n; i++) {
        bool guessed = priv != PRIV_S && translation_of(&t->insns[i])->kind == KIND_LOAD && t->keep[i] < 0 &&
                       t->reuse[i] < 0 && in_loop(t, n, i);
        t->guess[i] = guessed ? (int8_t)(((t->b->host_pc >> 1) + i) % HART_LOAD_GUESSES) : -1;
    }
}

/* Writes the buffer's shared routines at its start, the lookup routine first, then the
 * exit of a fault in a load's or store's helper and the calls of those helpers; false
 * when they do not fit. */
static bool emit_shared(struct jit *j, const struct translation *t)
{
    struct emitter e = { .p = j->buf, .end = j->buf + j->size, .start = j->buf };
    jit_emit_lookup(&e, t);
    uint8_t *slow_paths = e.p;
    j->fault_exit = e.p;
    jit_emit_fault_exit(&e);
    j->nhelper_calls = 0;
    for (unsigned op = 0; op < OP_COUNT; op++) {
        const void *helper = op_translation[op].helper;
        bool known = !helper;
        for (unsigned k = 0; k < j->nhelper_calls; k++)
            known |= j->helper_calls[k].helper == helper;
        if (known || j->nhelper_calls == JIT_HELPER_CALLS)
            continue;
        j->helper_calls[j->nhelper_calls++] = (struct jit_helper_call){ .helper = helper, .code = e.p };
        jit_emit_helper_call(&e, helper);
    }
    if (e.overflow)
        return false;
    j->lookup = j->buf;
    j->used = (size_t)(e.p - j->buf + 15) & ~(size_t)15;
    if (perf_map_fd >= 0) {
        perf_note_code(j->buf, (uint32_t)(slow_paths - j->buf), "jit:lookup");
        perf_note_code(slow_paths, (uint32_t)(e.p - slow_paths), "jit:slow-path");
    }
    return true;
}

jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b, uint64_t pc)
{
    if (j->used == 0 && !emit_shared(j, &(struct translation){ .ram = h->ram, .jumps = j->jumps, .code = j->buf }))
        return NULL;
    struct translation_record *rec = (struct translation_record *)(void *)(j->buf + j->used);
    if (j->size - j->used < sizeof(*rec))
        return NULL;
    struct emitter e;
    struct dinsn insns[JIT_MAX_INSNS];
    int32_t offs[JIT_MAX_INSNS];
    struct translation t = { .b = b, .owner = &rec->owner, .insns = insns, .gen = &h->ram->code_gen[b->page],
                             .ram = h->ram, .jumps = j->jumps, .code = j->buf, .lookup = j->lookup };
    t.helper_calls = j->helper_calls;
    t.nhelper_calls = j->nhelper_calls;
    t.fault_exit = j->fault_exit;
    uint8_t *entry = (uint8_t *)(rec + 1);
    struct reg_use use = { 0 };
    uint32_t reads[JIT_MAX_INSNS], writes[JIT_MAX_INSNS];
    bool ends[JIT_MAX_INSNS];
    /* The block's instructions, decoded afresh as its decoder did (the block keeps the
     * interpreter's smaller form): its bytes are claimed as code, so a store that changed
     * them since also changed the generation b and this translation hold. */
    unsigned n = 0, start = b->host_pc & 0xfff;
    const uint8_t *page = (const uint8_t *)(b->host_pc & ~(uintptr_t)0xfff);
    for (int32_t off = 0;; n++) {
        bool ends;
        unsigned len = n < BLOCK_MAX_INSNS ? decode_in_page(page, start + (unsigned)off, &insns[n], &ends) : 0;
        if (!len)
            insns[n] = (struct dinsn){ .op = OP_END };
        offs[n] = off;
        if (insn_registers(&insns[n], &reads[n], &writes[n])) {
            n++;
            break;
        }
        off += (int32_t)len;
    }
    t.traced = n;
    n = trace_segments(h, b, insns, offs, n);
    for (unsigned i = 0; i < n; i++) {
        ends[i] = insn_registers(&insns[i], &reads[i], &writes[i]);
        t.accesses_sstatus |= insns[i].op == OP_TRAP_CSR;
    }
    /* Jumps within the translation's code carry its host registers along, as a loop on
     * the block does: all of them then stay loaded throughout. The instructions a jump
     * back repeats weigh more in the choice of those registers. */
    unsigned weight[JIT_MAX_INSNS];
    for (unsigned i = 0; i < n; i++)
        weight[i] = 1;
    for (unsigned i = 0; i < n; i++) {
        const struct dinsn *d = &insns[i];
        unsigned kind = translation_of(d)->kind;
        bool jumps = kind == KIND_JAL || kind == KIND_BRANCH || kind == KIND_END;
        int64_t target = (int64_t)offs[i] + (kind == KIND_END ? 0 : d->imm);
        t.inside[i] = (int8_t)(jumps ? insn_inside(insns, offs, n, i, target) : -1);
        use.loops |= t.inside[i] >= 0;
        for (int k = t.inside[i]; k >= 0 && k <= (int)i; k++)
            weight[k] = weight[k] < MAX_WEIGHT ? weight[k] * LOOP_WEIGHT : MAX_WEIGHT;
    }
    bool joined[JIT_MAX_INSNS] = { false };
    for (unsigned i = 0; i < n; i++)
        if (t.inside[i] >= 0)
            joined[t.inside[i]] = true;
    fuse_zero_extensions(insns, n, joined, reads, writes);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned r = 1; r < 32; r++)
            use.count[r] += weight[i] * ((reads[i] >> r & 1) + (writes[i] >> r & 1));
        use.written |= writes[i];
    }
    uint32_t head_low[JIT_MAX_INSNS] = { 0 }, head_unseen[JIT_MAX_INSNS] = { 0 };
    for (unsigned k = n; k-- > 0;) {
        if (joined[k]) {
            head_low[k] = word_results_at_head(insns, reads, writes, t.inside, joined, head_low, n, k);
            head_unseen[k] = upper_unseen_from(insns, k, head_low[k]);
        }
    }
    plan_host_bases(&t, n, joined, ends, writes);
    plan_load_guesses(&t, n, h->arch.priv);
    for (;;) {
        e = (struct emitter){ .p = entry, .end = j->buf + j->size, .start = entry,
                              .directed_guesses = h->arch.priv == PRIV_U,
                              .reservations_live = h->platform.reservations_live,
                              .sole_hart = h->platform.sole_hart };
        jit_emit_prologue(&e, &use);
        for (unsigned i = 0; i < n; i++) {
            if (i >= t.traced && (i == t.traced || ends[i - 1]))
                jit_emit_segment(&e);
            jit_emit_label(&e, i, joined[i], head_low[i], head_unseen[i]);
            jit_emit_reads(&e, reads[i], low_word_reads(&insns[i]));
            translate_one(&e, &t, &insns[i], i, offs[i]);
        }
        jit_emit_cold(&e, &t);
        if (!e.conflict)
            break;
        /* A jump back brought some loop's head a register other than as a W op's result
         * (a helper wrote it, say): every head takes them whole this time. */
        memset(head_low, 0, sizeof(head_low));
    }
    if (e.overflow)
        return NULL;
    *rec = (struct translation_record){ .host_pc = b->host_pc, .owner = b, .gen = b->gen,
                                        .size = (uint32_t)(e.p - entry) };
    index_insert(j, rec);
    j->used = (size_t)(e.p - j->buf + 15) & ~(size_t)15;
    if (perf_map_fd >= 0) {
        char name[24];
        snprintf(name, sizeof(name), "rv:%llx", (unsigned long long)pc);
        perf_note_code(entry, rec->size, name);
    }
    return (jit_entry)(void *)entry;
}

struct jit *jit_create(size_t code_size)
{
    if (code_size > JIT_MAX_CODE_SIZE)
        return NULL;
    struct jit *j = aligned_alloc(_Alignof(struct jit), sizeof(*j));
    if (!j)
        return NULL;
    memset(j, 0, sizeof(*j));
    j->buf = mmap(NULL, code_size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (j->buf == MAP_FAILED) {
        free(j);
        return NULL;
    }
    /* In huge pages: a Linux boot translates tens of MiB of code, whose 4K pages would
     * each cost a fault when first written and a host TLB entry when run. (Linux places
     * a mapping whose size is a multiple of 2 MiB at a huge page.) */
    madvise(j->buf, code_size, MADV_HUGEPAGE);
    j->size = code_size;
    j->index_size = 1;
    while (j->index_size < code_size / JIT_INDEX_BYTES_PER_BUCKET)
        j->index_size <<= 1;
    /* Mapped: resident only as buckets are used, and jit_release gives it back. */
    j->index = mmap(NULL, j->index_size * sizeof(*j->index), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (j->index == MAP_FAILED) {
        munmap(j->buf, j->size);
        free(j);
        return NULL;
    }
    return j;
}

void jit_destroy(struct jit *j)
{
    if (!j)
        return;
    munmap(j->buf, j->size);
    munmap(j->index, j->index_size * sizeof(*j->index));
    free(j);
}

size_t jit_code_used(const struct jit *j)
{
    return j->used;
}

void jit_chain(void *site, jit_entry to)
{
    jit_emit_patch_chain(site, (const void *)to);
}

void jit_chain_other_page(void *site, jit_entry to, uintptr_t host, const _Atomic uint32_t *gen_at, uint32_t gen)
{
    jit_emit_patch_other_page(site, (const void *)to, host, gen_at, gen);
}

void jit_reset(struct jit *j)
{
    j->used = 0;
    memset(j->jumps, 0, sizeof(j->jumps));
    memset(j->index, 0, j->index_size * sizeof(*j->index));
}

void jit_release(struct jit *j)
{
    j->used = 0;
    memset(j->jumps, 0, sizeof(j->jumps));
    madvise(j->buf, j->size, MADV_DONTNEED);
    madvise(j->index, j->index_size * sizeof(*j->index), MADV_DONTNEED);
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

jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b, uint64_t pc)
{
    (void)j, (void)h, (void)b, (void)pc;
    return NULL;
}

jit_entry jit_translated(struct jit *j, struct block *b)
{
    (void)j, (void)b;
    return NULL;
}

size_t jit_code_used(const struct jit *j)
{
    (void)j;
    return 0;
}

void jit_chain(void *site, jit_entry to)
{
    (void)site, (void)to;
}

void jit_chain_other_page(void *site, jit_entry to, uintptr_t host, const _Atomic uint32_t *gen_at, uint32_t gen)
{
    (void)site, (void)to, (void)host, (void)gen_at, (void)gen;
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
