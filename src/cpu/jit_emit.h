/*
 * The translator's two halves (see jit.h). jit.c, host-independent, walks a block's
 * decoded instructions and says what each does in the terms below: which integer
 * operation, which memory access with which C helper for its slow path, where control
 * goes. A host's emitter (jit_x86_64.c) turns each into that host's code, keeping the
 * hart, the register file, the block's guest pc, the retired count and the budget
 * wherever it likes. A new host adds an emitter: encodings, not RISC-V semantics.
 * Guest register operands are indices into the register file; writes to x0 never reach
 * the emitter (they decode to OP_NOP), except the link register of a jump (checked here).
 * The emitter may keep a block's busiest guest registers in host registers (see struct
 * reg_use): then the register file in memory is exact only where translated code leaves
 * the block or calls C, which is where the emitter writes them back.
 */
#ifndef RACKVM_JIT_EMIT_H
#define RACKVM_JIT_EMIT_H

#include <elf.h>

#include "cpu/block.h"
#include "cpu/hart.h"
#include "cpu/jit.h"

/* JIT_HOST_ELF_MACHINE: what perf disassembles translations as (jit.c's jitdump). */
#if defined(__x86_64__)
#define JIT_HAVE_EMITTER 1
#define JIT_HOST_ELF_MACHINE EM_X86_64
#else
#define JIT_HAVE_EMITTER 0
#define JIT_HOST_ELF_MACHINE EM_NONE
#endif

/* Instructions of one translation at most: its block's, then the trace's segments (see
 * jit_translate). A block cut at BLOCK_MAX_INSNS decodes as that many and the OP_END
 * after them, and a jump's target index is kept in an int8_t (translation.inside). With
 * BLOCK_MAX_INSNS 48 the decoding wrote past these arrays: lz77's translation never ended. */
#define JIT_MAX_INSNS 48
_Static_assert(BLOCK_MAX_INSNS < JIT_MAX_INSNS && JIT_MAX_INSNS <= INT8_MAX,
               "a translation holds its block and the OP_END after it, indexed by an int8_t");

/* The slow path of a load or store, placed after the block's code by jit_emit_cold so
 * that the hit path runs straight on: the jumps to it, the helper call for instruction
 * i at block offset off, and where it rejoins the hit path. */
struct cold_access {
    uint8_t *from[8];
    unsigned nfrom;
    unsigned i;
    int32_t off;
    const void *helper;
    uint8_t *resume;
    int8_t va;      /* the register holding the address */
    uint8_t size;   /* of the access, in bytes */
    int8_t value;   /* a store's value register, or -1 */
    int8_t dest;    /* where a load's value goes, or -1 */
    int8_t reuse;   /* the host base it reused, or -1; if one, its first jump: another page */
    int8_t guess;   /* its guess (jit_emit_access), or -1; if one, wrong_guess jumps here */
    bool directed;  /* the model of that guess: the emitter's directed_guesses */
    uint8_t *wrong_guess;
    const void *data; /* an AMO's: the helper takes (h, data) and returns rd's value; else NULL */
    uint8_t *hit;   /* with rcx = the addend (a guess, with its index) on a hit: where that lookup rejoins */
    uint8_t len;    /* a plain store's instruction length: where it leaves when its helper changed the code */
    uint32_t valid, dirty, low_word; /* the emitter's valid, dirty and low_word at the access */
};

/* Where a conditional branch taken within the block goes, or a jump forward to one of the
 * translation's instructions, placed after the block's code by jit_emit_cold: the jump to
 * it, the exit's place and link (as jit_emit_exit takes them), and the emitter's valid,
 * dirty, low_word, word_valued and stored at the branch. */
struct side_exit {
    uint8_t *from;
    unsigned retired, link;
    int32_t off, delta;
    int64_t target_offset;
    int inside;
    uint32_t valid, dirty, low_word, word_valued;
    bool stored;
};

/* Host code written into [p, end); overflow once it did not fit (then it is discarded).
 * start: where this block's translation begins (its entry sequence). stored: the block's
 * code so far may write guest memory other than through a plain store (an AMO, cbo.zero,
 * an instruction run through the reference executor): only then can its own page's code
 * have changed before its exits, which were checked on entry (a plain store changes code
 * only in its helper, after which it checks: jit_emit_access). side: the exits of taken
 * branches still to emit; cold: slow paths still to emit. host: per index into the
 * register file (x[], then f[], which hart_state lays out after it), the host register
 * holding it throughout the block, or -1 (in memory: every f[]); valid: those whose host
 * register holds their value at this point of the block (loaded where first read, or on
 * entry in a block that jumps within itself); dirty: those whose host register may differ
 * from memory there (written so far, or in a block that jumps within itself, anywhere),
 * so written back on the way out. label: where the code of each instruction begins (past
 * the loads of the host registers for the first). zero_reg, zero_end: the host's zero
 * flag says whether guest register zero_reg is 0 where the code reaches zero_end (set by
 * the operation that wrote it, carried past code known to leave the flags alone; any
 * other code moves p on). small: per index into the register file, whether its value is
 * known to lie in [0, 2^31) at this point (an andi with a non-negative mask wrote it), as
 * far back as the last instruction a jump reaches or call out that may write registers.
 * word_valued: the guest registers known to hold a W op's result (the sign extension of
 * its low word) on every path to this point; low_word: those of them whose host register
 * may hold just the low word, extended where read whole or written back, and at a jump to
 * an instruction whose label_low (the low_word its code starts with) leaves them out. A
 * jump back to a loop's head whose label_valued (the word_valued its code starts with)
 * holds a register it does not have in word_valued sets conflict: the translation is then
 * emitted again with no such head. */
struct emitter {
    uint8_t *p, *end;
    bool overflow;
    uint8_t *start;
    bool stored;
    struct side_exit side[JIT_MAX_INSNS];
    unsigned nside;
    struct cold_access cold[JIT_MAX_INSNS];
    unsigned ncold;
    int8_t host[64];
    uint32_t dirty, valid;
    uint8_t *label[JIT_MAX_INSNS];
    unsigned zero_reg;
    uint8_t *zero_end;
    uint64_t small;
    uint32_t word_valued, low_word;
    uint32_t label_low[JIT_MAX_INSNS], label_valued[JIT_MAX_INSNS];
    bool conflict;
    const _Atomic unsigned *reservations_live; /* the board's count, which stores test */
    bool sole_hart;          /* hart_platform.sole_hart: plain atomics, no reservation count */
    bool directed_guesses; /* the model of the guessed loads (jit_emit.h), else one addend */
};

/* How a block uses the guest registers: reads and writes per register (x0 left out),
 * those in loops weighing more, which registers some instruction writes, and whether it
 * jumps within its own code (then its host registers carry values from one pass to the
 * next). */
struct reg_use {
    uint32_t count[32];
    uint32_t written;
    bool loops;
};

/*
 * The translator's jump cache (one per hart, in its struct jit): by the guest pc of a
 * block's first instruction and the fetch TLB epoch (hart.h's tlb.fetch_epoch) of the
 * context it was found in, where in the code buffer its translation's body starts, and
 * guest RAM's count of code writes (guest_ram.h's code_writes) when it was filled.
 * Indirect and cross-page exits look here first: a hit needs no fetch TLB walk, only the
 * pc's hash and that count, which is in the host's cache where the target page's
 * generation often is not (a write into any code drops every entry; refills are rare
 * outside boot). An entry stays right while its epoch is the current fetch table's: that
 * table then has dropped no entry since the entry was filled through it (every flush of
 * a table, sfence.vma, satp's change of space, PMP change and snapshot restore renews
 * the epoch of the tables it touches; a flush of one page, only where the page's fetch
 * entry is, or one was lost to another page's: hart.h's tlb; another privilege or V
 * fetches through another table, with an epoch of its own), so pc still maps to the same
 * host address as far as the hart may tell: a fetch entry evicted by another page's only
 * stops being cached, and a translation the hart once cached may serve until an
 * sfence.vma. That the code there is still what was translated is the count's check
 * (stores, fence.i). Epoch 0 is never given out: jit_reset empties it with the buffer.
 */
#define JIT_JUMP_BITS 11
#define JIT_JUMP_SIZE (1u << JIT_JUMP_BITS)
struct jit_jump {
    uint64_t pc;
    uint64_t fetch_epoch; /* 0: empty */
    uint64_t code_writes; /* guest_ram's count of code writes when filled */
    uint32_t body;        /* offset of the translation's body in the code buffer */
};

/* A helper and the code buffer's shared call of it (jit_emit_helper_call). */
struct jit_helper_call {
    const void *helper;
    const uint8_t *code;
};

/* The block being translated, for exits that chain to a same-page successor, and the
 * hart's jump cache and code buffer, for those that look their target up. insns: the
 * instructions translated, the block's own then those of the trace's segments, from
 * index `traced` on (reached only by jumps, each guarded by the budget). inside: per
 * instruction, for a jump whose target is one of these instructions, that instruction's
 * index (the jump stays in the translation's code), else -1. keep, reuse: per instruction,
 * the host-base slots of its load or store (see jit_emit_access), or -1. */
struct translation {
    struct block *b;
    /* Where the code's exits read the block they report (jit_exit_block): the block
     * that now owns the translation, which may be a later decode of b (jit_translated). */
    struct block *const *owner;
    const struct dinsn *insns;
    unsigned traced;
    const _Atomic uint32_t *gen;   /* its page's code generation */
    const struct guest_ram *ram;
    struct jit_jump *jumps;
    const uint8_t *code;
    const uint8_t *lookup; /* the buffer's lookup routine (jit_emit_lookup) */
    /* the buffer's shared calls of the load and store helpers (jit_emit_helper_call), and
     * the exit of a fault in one (jit_emit_fault_exit) */
    const struct jit_helper_call *helper_calls;
    unsigned nhelper_calls;
    const uint8_t *fault_exit;
    int8_t inside[JIT_MAX_INSNS];
    int8_t keep[JIT_MAX_INSNS], reuse[JIT_MAX_INSNS];
    int8_t guess[JIT_MAX_INSNS]; /* per load, its guess (jit_emit_access), or -1 */
    bool accesses_sstatus; /* (or the other trap-handling CSRs: OP_TRAP_CSR) */
};

/* Integer operations the emitter inlines: rd = rs1 OP rs2, or rs1 OP imm. */
enum jit_alu {
    JIT_ADD, JIT_SUB, JIT_AND, JIT_OR, JIT_XOR,
    JIT_SLL, JIT_SRL, JIT_SRA,        /* shift amounts masked as RISC-V does */
    JIT_SLT, JIT_SLTU,                /* 1 or 0 */
    JIT_MUL, JIT_MULH, JIT_MULHU,     /* low product, high signed, high unsigned */
    JIT_SH1ADD, JIT_SH2ADD, JIT_SH3ADD, /* (rs1 << n) + rs2 */
    JIT_ADDUW,                        /* zero-extended low word of rs1 + rs2 */
};

/* Branch conditions on (rs1, rs2). */
enum jit_cond { JIT_EQ, JIT_NE, JIT_LT, JIT_GE, JIT_LTU, JIT_GEU };

/* The routine that looks up and returns the translation at the guest pc of an exit
 * through a register or to another page, shared by the code buffer's translations
 * (written first in it); it needs only t's jumps, code and ram. */
void jit_emit_lookup(struct emitter *e, const struct translation *t);

/* The call of a load's or store's helper, and the exit of a fault in one, shared by the
 * code buffer's translations (written after the lookup routine). */
void jit_emit_helper_call(struct emitter *e, const void *helper);
void jit_emit_fault_exit(struct emitter *e);

/* The entry sequence; a chained jump enters a block just past it. The emitter chooses
 * which guest registers to keep in host registers by their use. */
void jit_emit_prologue(struct emitter *e, const struct reg_use *use);

/* Instruction i's code begins here; joined: a jump within the translation may reach it.
 * word_results: for a joined one, guest registers that the jumps back to it should reach
 * holding a W op's result (the sign extension of a low word), which the emitter may carry
 * across them unextended where every path to it agrees (else it sets conflict), or where
 * nothing sees their upper half from here until they are written (upper_unseen); any
 * other is made whole on every path to it. */
void jit_emit_label(struct emitter *e, unsigned i, bool joined, uint32_t word_results, uint32_t upper_unseen);
/* A segment of the trace (see jit_translate) begins here: only jumps reach it, each of
 * which checks the page's code (when the code before it may have stored), as entering a
 * block does. */
void jit_emit_segment(struct emitter *e);
/* The next instruction reads the guest registers of regs: those kept in host registers
 * are loaded there unless already. It reads those of low_regs only through their low
 * word (or, a branch on one against x0, only its sign and whether it is 0). */
void jit_emit_reads(struct emitter *e, uint32_t regs, uint32_t low_regs);

/*
 * rd = rs1 op rs2. word: the 32-bit form (W instructions: operate on the low words,
 * sign-extend the result), only for ADD, SUB, SLL, SRL, SRA and MUL. extend: with word,
 * whether rd's upper half is made right; false only when nothing reads it before rd is
 * written again (rd's host register or memory then holds just the low word right).
 */
void jit_emit_alu(struct emitter *e, enum jit_alu op, bool word, bool extend, unsigned rd, unsigned rs1,
                  unsigned rs2);
/* rd = rs1 op imm: ADD (also word), AND, OR, XOR, SLT, SLTU, and shifts (also word);
 * extend as for jit_emit_alu. */
void jit_emit_alu_imm(struct emitter *e, enum jit_alu op, bool word, bool extend, unsigned rd, unsigned rs1,
                      int32_t imm);
/* rd = imm (sign-extended). */
void jit_emit_move_imm(struct emitter *e, unsigned rd, int32_t imm);
/* rd = the guest pc of the instruction at block offset off, plus delta. */
void jit_emit_pc_relative(struct emitter *e, unsigned rd, int32_t off, int32_t delta);
/* rd = fn(x[rs1], x[rs2]): an operation whose corner cases C states best. */
void jit_emit_call(struct emitter *e, unsigned rd, unsigned rs1, unsigned rs2,
                   uint64_t (*fn)(uint64_t, uint64_t));

/*
 * The load or store d (at block offset off, instruction index i), size bytes, loads
 * sign-extended when sign: the TLB hit path inline, else helper(h, va) for a load or
 * helper(h, va, value) for a store, which sets h->jit_fault after raising an exception
 * (the block then exits with JIT_EXIT_FAULT). A store's inline path must do what
 * mem_store does besides the write: defer to the helper while LR reservations are live
 * or when the bytes written overlap the page's decoded code (guest_ram.h's extent), which
 * only stores to pages holding code check (TLB_CODE_PAGE fails their tag compare). So
 * only the helper can change the code of the block's page: after it, a store leaves the
 * block for the next instruction when the page's code generation moved, and its exits
 * need no check of their own (the emitter's stored stays false).
 */
void jit_emit_access(struct emitter *e, const struct dinsn *d, unsigned i,
                     int32_t off, unsigned size, bool sign, bool store, const void *helper,
                     int keep, int reuse, int guess);

/*
 * The A extension's instruction d (funct: its operation, LR or SC) of size bytes at
 * x[rs1], at block offset off (instruction i), on the TLB's hit path. An AMO: one locked
 * host read-modify-write (x86's are full fences, as .aq and .rl at most ask), rd = the
 * old value (sign-extended from a word); a plain load and store on a sole hart
 * (hart_platform.sole_hart), as exec_atomic does, and LR and SC below with plain
 * accesses and no count. LR: the reservation taken as exec_amo takes it
 * (hart_state.reservation, the board's count), then the load. SC: when this hart's
 * reservation is for this granule and size and no other hart holds one, the reservation
 * ended, then a compare-and-swap of what LR loaded. A miss, a misaligned address, a page
 * holding code (TLB_CODE_PAGE) or other harts' live reservations leave the whole
 * instruction to helper(h, data), which returns rd's value, or sets h->jit_fault after
 * raising an exception.
 */
void jit_emit_amo(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i, int32_t off,
                  enum amo_funct funct, unsigned size, const void *helper, const void *data);

/*
 * Host bases: JIT_HOST_BASES slots for loads, each holding a current entry of the read
 * TLB (its page and addend) or none, throughout a run of translated code (the emitter
 * empties them on entry and after every helper call). keep: the slot (or -1) that load d
 * fills on its TLB hit; reuse: the slot (or -1) whose page d compares with its own (and
 * its alignment) instead of the TLB entry's, looking the TLB up and refilling the slot
 * when they differ (stores pass -1 for both). Which loads use which slot (jit.c's
 * plan_host_bases) is a guess of which share a page.
 * Only the hart's own thread writes its read entries, and only in C (helpers, the run
 * loop), never while its translated code runs: a remote sfence.vma (SBI or IPI) or
 * hfence is a request the hart serves in its run loop before it runs code again, which
 * is when the spec has it take effect (the fence is performed by the remote hart when it
 * takes the request; the caller waits for that); PMP, satp, MXR and SUM change with the
 * hart's own instructions (a helper; a change of context ends the run); reset, snapshot
 * restore and the debugger change a hart that is stopped or paused outside translated
 * code. The one write from another thread, mmu_code_page_added's TLB_CODE_PAGE, marks
 * write entries only, which is why stores keep no slot: a store through a slot filled
 * before that mark would skip the check of the code it overwrites.
 */
#define JIT_HOST_BASES 2

/* An exit's target_offset when its target lies in another page (a chain site behind a
 * guard: jit.h), or when it must be looked up each time (after fence.i or sfence.vma). */
#define JIT_TARGET_OTHER_PAGE (-1)
#define JIT_TARGET_LOOKUP (-2)

/*
 * Guessed loads: a load that neither keeps nor reuses a host base may pass guess, an
 * index into h->jit_load_guess[], whose entry predicts its TLB entry's addend from the
 * address's page, so that the host address does not wait for the TLB entry's load: on
 * the chains of dependent loads that walk a hash chain (gzip's prev[]), that load sits
 * on the critical path. The TLB entry is still loaded and its tag and addend compared
 * (exact as ever), in parallel; a wrong guess takes the entry's addend and refills the
 * guess. With the emitter's directed_guesses each guess slot learns which way the
 * buffer's guest-physical pages run as its virtual pages ascend (hart.h's struct
 * load_guess): descending, as Linux's page allocator hands out a buffer faulted in from
 * start to end from fresh free lists, the guess is addend + 2 * page + 4096 and the host
 * address the guess plus the address with its page bits flipped; ascending, as pages
 * it hands out again after another process freed them can run, the guess is the addend
 * and the host address the guess plus the address. Either way one operation on the address
 * before the load, an xor with the slot's flip mask (deriving the addend from the guess
 * took three: lz77-user 5 % and in-guest gzip 6.5 % slower). A wrong guess's fix-up
 * compares the entry with the one that made the guess: the same addend says ascending,
 * the same addend + 2 * page descending. In guest-work.sh, gzip after sha256 met
 * ascending pages: a descending-only guess was wrong 59 M times, against 3.2 M now, as
 * for gzip in a fresh VM. Else a guess is the addend, which bare metal's one mapping keeps.
 */

/*
 * Exits after `retired` instructions of the block to the guest pc at block offset off
 * plus delta, through exit link `link`. target_offset is that pc's offset in the
 * block's page, else JIT_TARGET_OTHER_PAGE or JIT_TARGET_LOOKUP: within the page, the
 * exit has a chain site (see jit.h), taken while the budget lasts and the page's code is
 * unchanged; in another page, one taken while its guard holds. A jump to
 * the translation's own instruction `inside` (or -1) needs no site: back, while the
 * budget lasts and the page's code is unchanged, it goes on in the translation's own
 * code; forward, it goes there straight, or into a segment of the trace while the budget
 * lasts.
 */
void jit_emit_exit(struct emitter *e, const struct translation *t, unsigned retired, unsigned link,
                   int32_t off, int32_t delta, int64_t target_offset, int inside);
/* jalr: rd = the pc of the next instruction (block offset next_off); exits to
 * (x[rs1] + imm) & ~1, computed before rd is written, without chaining. */
void jit_emit_exit_indirect(struct emitter *e, const struct translation *t, unsigned retired, unsigned rs1,
                            int32_t imm, unsigned rd, int32_t next_off);
/* A conditional branch at block offset off (instruction i): when cond holds, goes to off
 * + imm as jit_emit_exit does (at taken_offset in the page, or -1), or straight to the
 * block's instruction `inside` after it; else the block's code goes on with the next
 * instruction. */
void jit_emit_branch(struct emitter *e, const struct translation *t, const struct dinsn *d, unsigned i,
                     int32_t off, enum jit_cond cond, int64_t taken_offset, int inside);
/* helper(h, d) with h->arch.pc at instruction d (index i, block offset off); the helper
 * sets h->jit_fault after raising an exception (the block then exits with JIT_EXIT_FAULT). */
void jit_emit_call_insn(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, const void *helper);
/* A FENCE between the block's guest memory accesses and other threads' (harts, devices);
 * write_read: it orders earlier writes before later reads (fence_orders_write_read). */
void jit_emit_fence(struct emitter *e, bool write_read);
/* The data TLB the block's loads and stores use becomes that of h->mmu_ctx again: after a
 * call that may have changed the context (sstatus.SUM). */
void jit_emit_data_tlb_reload(struct emitter *e);
/*
 * A Zicsr access d (index i, block offset off) to a CSR that is the plain 64-bit field of
 * struct hart at offset `field` in HS and M mode: there, rd = the field and, when writes,
 * field = (src, old | src or old & ~src, as op says) & writable, src being x[rs1] or, with
 * immediate, the uimm in d->rs1. In U mode or at V=1 it calls helper(h, d) instead, as
 * jit_emit_call_insn does.
 */
void jit_emit_csr_field(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, size_t field, int op,
                        bool writes, bool immediate, uint64_t writable, const void *helper);
/*
 * A Zicsr access d (index i, block offset off) to sstatus in HS or M mode, inline while it
 * is one: rd = mstatus & SSTATUS_MASK (SD where FS is dirty); a write of the bits of
 * SSTATUS_IN_PLACE into mstatus, unless it changes SUM or MXR, or sets SIE while an
 * interrupt is pending and enabled (mip | hvip) & mie. Those, U mode and V=1 call
 * helper(h, d) as jit_emit_call_insn does, and reload the data TLB pointer after.
 */
void jit_emit_sstatus(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off, int op, bool writes,
                      bool immediate, const void *helper);
/* Exits with JIT_EXIT_SLOW before instruction d (index i, block offset off). */
void jit_emit_exit_slow(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off);
/* After the block's last exit: the exits of its taken branches and the slow paths of its
 * loads and stores, deferred so that the code not taking them runs straight on. */
void jit_emit_cold(struct emitter *e, const struct translation *t);
/* Copies n bytes of data into the code (jumped over) and returns where: what translated
 * code passes to helpers must outlive the block's cache slot, since a chained jump can
 * enter a translation after its slot has been given to another block. When the buffer
 * is full (the translation will be dropped) it returns data itself, still readable. */
const void *jit_emit_data(struct emitter *e, const void *data, size_t n);
/* Points a chain site that jit_emit_exit recorded in its block's chain_site[] at the
 * translation entered at `to` (past its entry sequence). */
void jit_emit_patch_chain(void *site, const void *to);
/* Points the chain site of an exit to another page at the translation entered at `to`,
 * guarded by the fetch TLB giving the target host address `host` and the code generation
 * *gen_at being gen. */
void jit_emit_patch_other_page(void *site, const void *to, uintptr_t host, const _Atomic uint32_t *gen_at,
                               uint32_t gen);

/* ---- F and D ---- */

/* The register-file index of FP register i: f[] follows x[] in the hart's state, so loads
 * and stores (jit_emit_access) reach FP registers through these indices. */
#define JIT_FREG(i) (32u + (i))

/*
 * Exits with JIT_EXIT_SLOW before instruction d (index i, block offset off) unless the
 * FPU is on (mstatus.FS, and vsstatus.FS in V): the run loop then raises its illegal
 * instruction. Nothing in a block turns the FPU off, so a block checks once.
 */
void jit_emit_fp_enabled_check(struct emitter *e, const struct dinsn *d, unsigned i, int32_t off);
/* mstatus.FS (and vsstatus.FS in V) = Dirty, as exec_fp does after an FP instruction. */
void jit_emit_fp_dirty(struct emitter *e);
/* Sets the upper half of FP register i (a register-file index) to ones: NaN-boxes a single. */
void jit_emit_fp_box_single(struct emitter *e, unsigned freg);

/* fused: fmadd fs1 * fs2 + fs3, fmsub fs1 * fs2 - fs3, fnmsub -(fs1 * fs2) + fs3, fnmadd
 * -(fs1 * fs2) - fs3 */
enum jit_fp_op {
    JIT_FADD, JIT_FSUB, JIT_FMUL, JIT_FDIV, JIT_FSQRT,
    JIT_FMADD, JIT_FMSUB, JIT_FNMSUB, JIT_FNMADD,
};

/*
 * fd = fs1 op fs2 (fsqrt: of fs1; fused: with fs3; register-file indices) in single or
 * double precision with the host's SSE/FMA arithmetic where that is the RISC-V result
 * with the RISC-V flags: round to nearest even (with dynamic_rm, frm is checked),
 * fflags.NX already set, singles NaN-boxed, and a result fpu_plain_single/double (fpu.h)
 * accepts. Anything else, and fused ops on a host without FMA, calls helper(h, d) as
 * jit_emit_call_insn does (d: instruction i at block offset off).
 */
void jit_emit_fp_arith(struct emitter *e, enum jit_fp_op op, bool single, unsigned fd, unsigned fs1,
                       unsigned fs2, unsigned fs3, bool dynamic_rm, const struct dinsn *d, unsigned i,
                       int32_t off, const void *helper);

#endif
