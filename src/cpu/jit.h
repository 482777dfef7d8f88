/*
 * The binary translator: turns a decoded block (block.h) into host code. A block keeps
 * its busiest guest registers in host registers, and the register file in memory
 * (hart.x) is exact wherever it leaves or calls C (a slow path, which may trap); loads
 * and stores do the MMU's TLB hit path inline (what mmu.h's mem_load/mem_store do) and
 * call the MMU for everything else, so every architectural check is the interpreter's
 * own. A translated block is entered with the hart, its register file (h->arch.x), the
 * block's guest pc and an instruction budget. The code runs on past conditional
 * branches not taken; each taken one leaves through a side exit of its own. An exit to
 * a same-page successor ends in a jump (a chain site, one per exit) that jit_chain()
 * points at the successor's translation once both are translated; taken while the
 * budget lasts and the page's code generation is still the block's (compared only when
 * the block may have written memory before that exit other than through a plain store,
 * which compares it after its helper, the one place it can change code).
 * An exit to a fixed place in another page (a jump, a taken branch, a fall-through) has
 * a chain site too, which jit_chain_other_page() points at the target's translation
 * behind a guard: the fetch TLB still maps the target to the same host address, whose
 * page's code generation is still the translation's (jit_x86_64.c's exit_other_page says why that
 * suffices); when it fails, the exit returns to the run loop, which chains it anew.
 * Any other exit (jalr, the block after fence.i or sfence.vma) looks its target up as
 * the run loop would, in a routine at the code buffer's start that each such exit calls
 * (jit_emit_lookup): the hart's jump cache by guest pc and fetch TLB epoch (jit_emit.h),
 * or else the fetch TLB of the current context and the block cache slot of the host
 * address (block.h), the translation and its code generation; on a hit, while the
 * budget lasts, the exit enters that translation without returning. So
 * whatever invalidates the run loop's lookup (TLB flushes on satp, privilege changes,
 * sfence.vma; stores into code) invalidates these jumps too. It returns how it ended:
 *   JIT_EXIT_NEXT   h->arch.pc holds the next pc; JIT_LINK says through which link of block
 *                   h->jit_exit_block it left (0: not through a chain site),
 *                   JIT_OTHER_PAGE whether to another page, and h->jit_exit_site
 *                   through which chain site, for the caller to chain it (when that is
 *                   still the block's current translation's site)
 *   JIT_EXIT_FAULT  a load/store took an exception (h->arch.pc is at the trap handler)
 *   JIT_EXIT_SLOW   reached the OP_SLOW instruction h->jit_exit_insn, h->arch.pc at it: the
 *                   caller runs it
 * with the number of instructions retired in the low 32 bits.
 * jit.c decides what each decoded op becomes; a host's emitter (jit_emit.h) provides
 * the encodings. Only x86-64 hosts have an emitter; elsewhere jit_create returns NULL
 * and the block engine interprets.
 */
#ifndef RACKVM_JIT_H
#define RACKVM_JIT_H

#include "cpu/block.h"
#include "cpu/hart.h"

enum jit_exit_kind { JIT_EXIT_NEXT = 0, JIT_EXIT_FAULT = 1, JIT_EXIT_SLOW = 2 };
#define JIT_EXIT_KIND(r) ((unsigned)((r) >> 32) & 0xf)
#define JIT_LINK(r) ((unsigned)((r) >> 36) & 3)   /* BLOCK_LINK_* + 1, or 0 */
/* Whether that link's chain site leads to another page (jit_chain_other_page). */
#define JIT_LINK_OTHER_PAGE 4
#define JIT_OTHER_PAGE(r) ((unsigned)((r) >> 36) & JIT_LINK_OTHER_PAGE)
#define JIT_RETIRED(r) ((uint32_t)(r))

struct jit;

/* The largest code buffer: translations jump to one another and to the buffer's shared
 * routines with 32-bit displacements, which reach 2 GiB either way. */
#define JIT_MAX_CODE_SIZE ((size_t)2 << 30)

/* A code buffer of code_size bytes; NULL when the host has no translator or no memory,
 * or code_size is above JIT_MAX_CODE_SIZE. */
struct jit *jit_create(size_t code_size);
void jit_destroy(struct jit *j);
/* Translates block b of hart h, at guest pc pc (perf's map names it so); NULL when the
 * buffer is full (jit_reset, then retry). */
jit_entry jit_translate(struct jit *j, struct hart *h, struct block *b, uint64_t pc);
/* The translation made earlier for b's address at b's code generation, now b's, or
 * NULL: a block decoded afresh need not be translated again. */
jit_entry jit_translated(struct jit *j, struct block *b);
/* Bytes of the code buffer written since it was last emptied. */
size_t jit_code_used(const struct jit *j);
/* Points chain site `site` (of an exit of a block's current translation) at translation
 * `to`, which must translate that exit's target block at the same code generation. */
void jit_chain(void *site, jit_entry to);
/* Points chain site `site` of an exit to another page (JIT_OTHER_PAGE) at translation `to`
 * of the block at its target, which the fetch TLB now maps to host address `host` in the
 * RAM page whose code generation *gen_at is gen, as that translation's. */
void jit_chain_other_page(void *site, jit_entry to, uintptr_t host, const _Atomic uint32_t *gen_at, uint32_t gen);

/* The bytes of translation code: the jumps in it that jit_chain() points at translated
 * same-page successors (its chain sites, one per exit) lie within them. They are the
 * last field of its record, just before it (jit.c), not in its block, whose header an
 * idle guest's ticks load cold (block.h). */
static inline uint32_t jit_code_size(jit_entry code)
{
    return ((const uint32_t *)(const void *)code)[-1];
}

/* Whether chain site `site` lies in block b's current translation: code reached through
 * a chain may translate a block whose cache slot has moved on, and only b's current
 * translation may be patched on its behalf. */
static inline bool jit_site_current(const struct block *b, const void *site)
{
    return b->code && (uintptr_t)site - (uintptr_t)b->code < jit_code_size(b->code);
}
/*
 * From now on each translation gets a line in perf's map of this process,
 * /tmp/perf-PID.map: its code's address and size, named "rv:" and the guest pc of its
 * first instruction, so that `perf report` shows where translated code comes from; and a
 * record in perf's jitdump, /tmp/jit-PID.dump, with the same and the code's bytes as
 * translated (before jit_chain patches its chain sites), timed by CLOCK_MONOTONIC, so
 * that after `perf record -k mono`, `perf inject --jit` makes each translation an ELF file
 * `perf annotate` disassembles. The files open here, before the sandbox, which then lets
 * the harts append to them (one write each); the dump stays mapped executable, which is
 * how perf record finds it. Translations dropped with the buffer keep their lines and
 * records: in the map a later line for the same address is the newer; in the dump each
 * record has its own code index and time, and perf attributes a sample to the newest
 * translation recorded before it at its address. Returns -1 with errno when it cannot
 * open or map a file.
 */
int jit_perf_map_open(void);
/* Empties the buffer: every entry returned so far becomes invalid. */
void jit_reset(struct jit *j);
/* jit_reset, and the buffer's pages given back to the host until code is written again. */
void jit_release(struct jit *j);

#endif
