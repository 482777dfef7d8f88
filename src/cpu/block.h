/*
 * Blocks of decoded instructions (decode.h), shared by the block engine (interp.c) and
 * the translator (jit_x86_64.c). A block is a straight run of at most BLOCK_MAX_INSNS instructions in
 * one guest page; it ends at a jump, at an OP_SLOW instruction (run by the reference
 * executor), or with OP_END (fall through to the next block). Conditional branches may
 * lie within it: both engines run on when one is not taken (the translator's code leaves
 * through a side exit of its own for each taken one).
 */
#ifndef RACKVM_BLOCK_H
#define RACKVM_BLOCK_H

#include "cpu/decode.h"

#define BLOCK_MAX_INSNS 16

struct hart;

/* A block's translation to host code (jit.h). */
typedef uint64_t (*jit_entry)(struct hart *h, uint64_t *x, uint64_t pc, uint64_t budget);

/* Which successor link a block leaves through. */
#define BLOCK_LINK_TAKEN 0   /* jump; taken branch in translated code, and past the first ones */
#define BLOCK_LINK_NEXT 1    /* not-taken branch, end of a block cut short */
/* In the interpreter, the first conditional branches of a block each have a link of
 * their own (decode.h: a branch's rd names it): a block with two branches taken in
 * turn would otherwise relink at each run. */
#define BLOCK_LINK_BRANCH 2
#define BLOCK_BRANCH_LINKS 3
#define BLOCK_LINKS (BLOCK_LINK_BRANCH + BLOCK_BRANCH_LINKS)

/*
 * An instruction of a block, as the interpreter runs it: its decoded form (decode.h)
 * shrunk to 8 bytes, so that an idle guest's ticks, which find their blocks cold in the
 * host's caches, load fewer lines. handler is its handler in interp_run (an index into
 * its table, so blocks hold no code pointers). Its place in the block is its index there;
 * its distance in bytes from the block's first instruction, `at`, is kept where the
 * handler reads no register: in rs2 (a store's: in rd). jal and auipc hold at + imm in
 * imm, and jal and jalr the distance of the instruction after them (their link value) in
 * rs2. A conditional branch holds what its taken exit needs in `branch` instead of imm
 * (one back to its block's start, with a loop handler, holds in target the handler its
 * block's first instruction runs with when it loops). A jump to its own page, with an
 * in-page handler, keeps in a byte it does not read (a branch's rd, a jal's rs1) the
 * handler its successor started with (interp.c's IN_PAGE_JUMP).
 * OP_SLOW, OP_FP, OP_FENCE, OP_CBO_ZERO, OP_AMO and OP_TRAP_CSR keep the instruction in
 * imm, and OP_SLOW and OP_FP its first 16 bits as fetched in rd and rs1 (block_insn_raw).
 */
struct block_insn {
    union {
        int32_t imm;
        struct {
            int16_t target;    /* at + imm */
            uint8_t link;      /* the block link (BLOCK_LINK_*) it leaves through */
            uint8_t ordinal;   /* its index + 1: the instructions retired when it is taken */
        } branch;
    };
    uint8_t handler, rd, rs1, rs2;
};

/* The bits as fetched of an OP_SLOW, OP_FP or OP_FETCH_FENCE block_insn: all 32 of an
 * uncompressed one. */
static inline uint32_t block_insn_raw(const struct block_insn *d)
{
    uint32_t first = (uint32_t)d->rd | (uint32_t)d->rs1 << 8;
    return (first & 3) == 3 ? (uint32_t)d->imm : first;
}

struct block {
    uintptr_t host_pc;   /* key: host address of the first instruction; 0 = empty */
    uint32_t gen;        /* the page's code generation when decoded */
    uint32_t page;
    /*
     * Per exit link, the successor found on its last run. One in the same guest page
     * shares this block's translation, so only its own key and generation need checking
     * before entering it; one in another page (a call, a return, the block after a slow
     * instruction) is checked against the host address the fetch TLB gives for pc. A
     * block that ends in a call to another page has no fall-through exit: that link
     * names the block its callee last returned to. Each is the successor's distance in
     * bytes from this block (block_next), both in the cache's one mapping: so a header
     * takes 48 bytes, not 72 (a translation's size is kept with its code: jit_code_size),
     * and an idle guest's ticks, whose blocks are cold in the host's caches and average
     * 4 instructions, load a quarter fewer bytes.
     */
    int32_t next[BLOCK_LINKS];
    uint16_t runs;       /* interpreted runs so far: hot blocks get translated */
    uint8_t capacity;    /* how many instructions its place in the pool holds */
    /* How many nops it starts with, which the interpreter steps over when it enters: the
     * guest kernel's every function starts with two (ftrace's patch site). */
    uint8_t entry;
    jit_entry code;      /* the translation, or NULL to interpret */
    struct block_insn insns[];
};

_Static_assert(sizeof(struct block) == 48, "a block's header is 48 bytes");

/* The block b's exit `link` leads to, and pointing it at next. */
static inline struct block *block_next(const struct block *b, unsigned link)
{
    return (struct block *)((uintptr_t)b + (intptr_t)b->next[link]);
}

static inline void block_link(struct block *b, unsigned link, const struct block *next)
{
    b->next[link] = (int32_t)((intptr_t)next - (intptr_t)b);
}

/* The bytes of a block with room for capacity instructions. */
static inline size_t block_bytes(unsigned capacity)
{
    return sizeof(struct block) + capacity * sizeof(struct block_insn);
}

/*
 * A hart's blocks, by host address in 64K slots, four-way set-associative: a Linux
 * guest's hot code conflicts heavily in fewer or direct-mapped slots (an idle guest's
 * ticks, ~3400 blocks, decoded ~34 afresh at every tick when direct-mapped; a fork/exec
 * loop decoded 42 % fewer blocks with four ways than with two), and each conflict costs
 * a decode (its translation is found again: jit_translated). A set's slots are in order
 * of use: the first holds its most recently used block, the one translated code looks
 * up inline (jit.h). A slot points at its block in a pool where blocks are packed in the
 * order first decoded, each in the bytes its instructions take, so that the blocks an
 * idle guest's ticks run one after another lie close together (a quarter of a MiB after
 * an idle Linux guest's caches were given back, where a block each took 280 bytes). A
 * miss decodes over the block of the set's least recently used slot where its place is
 * large enough, else into a new place. The pool is two halves (after the block no link
 * matches, block_unlinked), blocks placed in one: when it is full, every block and
 * translation is dropped and the other half is filled afresh, so that the block the run
 * loop still runs (and the links it sets) stay where they were until the half is full
 * again. The whole cache is one mapping, touched as used, that is empty when zero (a
 * release gives its pages back).
 */
#define BLOCK_CACHE_BITS 16
#define BLOCK_CACHE_SIZE (1u << BLOCK_CACHE_BITS)
#define BLOCK_CACHE_WAYS 4
#define BLOCK_CACHE_SETS (BLOCK_CACHE_SIZE / BLOCK_CACHE_WAYS)

/* How many calls to another page the interpreter keeps the calling blocks of. */
#define BLOCK_CALLERS 16

struct block_cache {
    struct block *slots[BLOCK_CACHE_SIZE];   /* NULL: never used */
    /* The blocks of the latest calls to another page, a ring that returns pop (NULL:
     * none); a return goes on through its caller's fall-through link. */
    struct block *callers[BLOCK_CALLERS];
    /* The block whose slow instruction last returned to the run loop (a CSR write that
     * may unmask an interrupt, sret, mret, wfi; NULL: none): the next run enters through
     * its fall-through link, as it would had it not returned. */
    struct block *resume;
    uint32_t callers_top;
    uint32_t pool_half;         /* the half blocks are placed in */
    uint32_t pool_used;         /* its bytes taken */
    uint32_t pool_half_bytes;   /* the size of a half; 0: BLOCK_POOL_HALF (tests set less) */
    /* The block no link matches and the two halves follow in the mapping. */
};

/* A half holds every slot's block at 8 instructions. */
#define BLOCK_POOL_HALF ((uint32_t)(BLOCK_CACHE_SIZE * (sizeof(struct block) + 9 * sizeof(struct block_insn))))
#define BLOCK_CACHE_BYTES (sizeof(struct block_cache) + sizeof(struct block) + 2 * (size_t)BLOCK_POOL_HALF)
_Static_assert(BLOCK_CACHE_BYTES < INT32_MAX, "links (block_next) span the whole cache");
/* Where the cache starts: a host huge page's start (interp_init). */
#define BLOCK_CACHE_ALIGN ((size_t)2 << 20)

static inline uint32_t block_pool_half(const struct block_cache *c)
{
    return c->pool_half_bytes ? c->pool_half_bytes : BLOCK_POOL_HALF;
}

/* Where a block's exits point before they are first taken: a block that matches no host
 * address (its host_pc is 0, as the mapping is when fresh), so that following a link
 * needs no null check. */
static inline struct block *block_unlinked(struct block_cache *c)
{
    return (struct block *)(c + 1);
}

/* The block at byte offset `offset` of the half blocks are placed in. */
static inline struct block *block_in_pool(struct block_cache *c, size_t offset)
{
    return (struct block *)((uint8_t *)(block_unlinked(c) + 1) + (size_t)c->pool_half * block_pool_half(c) + offset);
}

/* Every block placed in the current half, in the order placed: from block_pool_first
 * (NULL when none) through block_pool_next (NULL after the last). */
static inline struct block *block_pool_first(struct block_cache *c)
{
    return c->pool_used ? block_in_pool(c, 0) : NULL;
}

static inline struct block *block_pool_next(struct block_cache *c, struct block *b)
{
    size_t at = (size_t)((uint8_t *)b - (uint8_t *)block_in_pool(c, 0)) + block_bytes(b->capacity);
    return at < c->pool_used ? block_in_pool(c, at) : NULL;
}

/* The set's slots for the block that starts at host address host. Bits 1-14 of the
 * address (its page offset and 3 bits of its page number), folded with those from bit 16
 * up: hot code 32 KiB apart would otherwise share a set (a fork/exec loop decoded a
 * third more of its blocks afresh). */
#define BLOCK_SET_FOLD 16
static inline struct block **block_set(struct block_cache *c, uintptr_t host)
{
    return &c->slots[(((host >> 1) ^ (host >> BLOCK_SET_FOLD)) & (BLOCK_CACHE_SETS - 1)) * BLOCK_CACHE_WAYS];
}

#endif
