/*
 * Blocks of decoded instructions (decode.h), shared by the block engine (interp.c) and
 * the translator (jit_x86_64.c). A block is a straight run of at most BLOCK_MAX_INSNS instructions in
 * one guest page; it ends at a jump, at an OP_SLOW instruction (run by the reference
 * executor), or with OP_END (fall through to the next block). Conditional branches may
 * lie within it: the block engine runs on when one is not taken, the translator's code
 * ends at the first.
 */
#ifndef RACKVM_BLOCK_H
#define RACKVM_BLOCK_H

#include "cpu/decode.h"

#define BLOCK_MAX_INSNS 16

struct hart;

/* A block's translation to host code (jit.h). */
typedef uint64_t (*jit_entry)(struct hart *h, uint64_t *x, uint64_t pc, uint64_t budget);

/* Which successor link a block leaves through. */
#define BLOCK_LINK_TAKEN 0   /* taken branch, jal */
#define BLOCK_LINK_NEXT 1    /* not-taken branch, end of a block cut short */

struct block {
    uintptr_t host_pc;   /* key: host address of the first instruction; 0 = empty */
    uint32_t gen;        /* the page's code generation when decoded */
    uint32_t page;
    /*
     * Successors in the same guest page, found on earlier runs, per exit link. A
     * same-page target shares this block's translation, so only the successor's own key
     * and generation need checking before entering it.
     */
    struct block *next[2];
    jit_entry code;      /* the translation, or NULL to interpret */
    /* Per exit link, the jump in the translation that jit_chain() points at a translated
     * same-page successor (NULL: that exit does not chain). */
    void *chain_site[2];
    uint32_t runs;       /* interpreted runs so far: hot blocks get translated */
    struct dinsn insns[BLOCK_MAX_INSNS + 1];
};

/* A hart's blocks, direct-mapped by host address. 64K blocks (20 MiB per hart, touched
 * as used): a Linux guest's hot code conflicts heavily in fewer slots, and each conflict
 * costs a decode and later a translation. Translated code indexes it too (jit.h). */
#define BLOCK_CACHE_BITS 16
#define BLOCK_CACHE_SIZE (1u << BLOCK_CACHE_BITS)

struct block_cache {
    struct block blocks[BLOCK_CACHE_SIZE];
};

/* The slot of the block that starts at host address host. */
static inline struct block *block_slot(struct block_cache *c, uintptr_t host)
{
    return &c->blocks[(host >> 1) & (BLOCK_CACHE_SIZE - 1)];
}

#endif
