/*
 * Guest virtual memory for one hart: Sv39/Sv48/Sv57 page walks with hardware A/D
 * updating, PMP, and the software TLB. The inline fast paths below are what the
 * interpreter uses for every load, store and fetch; on a TLB miss they call the slow
 * path, which walks, checks PMP, performs MMIO, refills the TLB, or raises the
 * architectural exception (and then returns false: the caller abandons the instruction).
 */
#ifndef RACKVM_MMU_H
#define RACKVM_MMU_H

#include <string.h>

#include "cpu/hart.h"

enum access_type { ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH };

/* Where a guest-page fault came from: the guest physical address, and htinst's value. */
struct guest_fault {
    uint64_t gpa;
    uint32_t tinst;
};

/*
 * TLB context of a privilege level for data accesses (SUM gets its own context); with
 * V=1 (H extension) the VS-stage translations have contexts of their own, so that V=0
 * and V=1 translations of one address never meet.
 */
#define MMU_CTX_U 0
#define MMU_CTX_S 1
#define MMU_CTX_S_SUM 2
#define MMU_CTX_M 3
#define MMU_CTX_VU 4
#define MMU_CTX_VS 5
#define MMU_CTX_VS_SUM 6

/* Recomputes h->mmu_ctx after a change of priv, V, MPRV, MPP, MPV or SUM. */
void mmu_update_ctx(struct hart *h);

/* Fetches always use the real privilege: U -> 0, S -> 1, M -> 3; VU -> 4, VS -> 5. */
static inline unsigned mmu_fetch_ctx(const struct hart *h)
{
    return h->arch.priv == PRIV_M ? MMU_CTX_M : (unsigned)h->arch.priv + 4 * (unsigned)h->arch.virt;
}

/* Slow paths: return false after raising the exception. */
bool mmu_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *value);
bool mmu_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t value);
bool mmu_fetch_slow(struct hart *h, uint64_t va, uint32_t *insn);
/* Host address of the instruction at va (its page is RAM and executable), refilling the
 * fetch TLB; NULL after raising the fetch exception. */
const uint8_t *mmu_fetch_host(struct hart *h, uint64_t va);
/* mmu_atomic_ptr past its TLB hit path: triggers, misalignment, the page walk. */
void *mmu_atomic_ptr_slow(struct hart *h, uint64_t va, unsigned size, enum access_type access);

/*
 * HLV/HLVX/HSV (H extension): a size-byte access at va as VS or VU mode (hstatus.SPVP)
 * would make it, through vsatp and hgatp, never cached in the TLB; exec (HLVX) checks
 * execute permission instead of read, reporting load faults. False after raising the
 * exception (GVA set).
 */
bool mmu_hypervisor_access(struct hart *h, uint64_t va, unsigned size, enum access_type access, bool exec,
                           uint64_t *value);

/* Translates va for the given access without side effects on the TLB: 0 or a cause. */
int mmu_translate(struct hart *h, uint64_t va, enum access_type access, unsigned priv, uint64_t *pa);

/*
 * A debugger's translation of a data address as h sees it now (privilege, MPRV): no
 * permission checks, no A/D update, no TLB fill, no exception. false when unmapped.
 */
bool mmu_debug_translate(struct hart *h, uint64_t va, uint64_t *pa);
/*
 * Flush the translations of one page of one virtualization mode (sfence.vma with an
 * address at V=0, or at V=1 and hfence.vvma for the VS stage), or all of one mode: V=0
 * ones (through satp) or V=1 ones (through vsatp and hgatp). A nested hypervisor
 * switches vsatp and hgatp at every entry of its guest and fences them with hfence: its
 * own translations may stay.
 */
void mmu_flush_page(struct hart *h, uint64_t va, bool virt);
/* The pages of [start, start + size) of one mode: page by page while they are few. */
void mmu_flush_range(struct hart *h, uint64_t start, uint64_t size, bool virt);
void mmu_flush_mode(struct hart *h, bool virt);
/* The TLB of a new hart: empty, each context at its own table (hart.h's tlb_space). */
void mmu_tlb_init(struct hart *h);
/* satp changed from old: U's context moves to the table of the new address space
 * (hart.h's tlb_space), which keeps what it held when that space last ran; the shared
 * tables keep only global mappings (another MODE drops everything). */
void mmu_satp_changed(struct hart *h, uint64_t old);
/* sfence.vma x0, rs2 at V=0, or the SBI's remote one by ASID: drops the non-global V=0
 * translations of one ASID in [start, start + size) (size ~0: all of them), in every
 * address space cached with that ASID. */
void mmu_flush_asid(struct hart *h, uint64_t asid, uint64_t start, uint64_t size);
/* Flush what went through the G stage (hgatp's change, hfence.gvma): every V=1
 * translation and the G stage's own cache. */
void mmu_flush_gstage(struct hart *h);

/* The 8-bit configuration of PMP entry i. */
static inline unsigned pmp_cfg(const struct hart *h, unsigned i)
{
    return (h->arch.pmpcfg[i / 8] >> (8 * (i % 8))) & 0xff;
}

/* PMP check of [pa, pa+size) for privilege priv. */
bool pmp_allows(const struct hart *h, uint64_t pa, uint64_t size, enum access_type access, unsigned priv);

/*
 * Breaks any LR reservation (of any hart) on the granule at host pointer p, and wakes
 * a hart whose wrs stall waited on it. Called once the store is in memory: a hart that
 * sees its reservation gone then reads the new value (and an LR that reads the old one
 * reserved first, so it is broken here).
 */
void mmu_store_breaks_reservations(struct hart *h, const void *p);
/* A reservation was taken (delta 1) or ended (-1) on h's board: the board's count of
 * live ones (hart_platform.reservations_live) follows, except for a sole hart's. */
void mmu_reservations_count(struct hart *h, int delta);
/* Whether a store may break a reservation: any live on h's board. A sole hart's count
 * stays 0, so its own flag (on the hart's line) answers without loading the count. */
static inline bool mmu_reservations_live(const struct hart *h)
{
    return !h->platform.sole_hart && atomic_load_explicit(h->platform.reservations_live, memory_order_relaxed);
}

/* The reservation granule (hart_state.reservation) holding host address p of RAM. */
static inline uint64_t mmu_reservation_granule(const struct hart *h, const void *p)
{
    return guest_ram_gpa(h->ram, p) & ~7ULL;
}

/*
 * Ram page `page` (guest_ram's numbering) has just got its first decoded code: every
 * hart's write entries for it get TLB_CODE_PAGE, so that their stores check the code's
 * bytes. Called before the code is read (a store racing with that changes the page's
 * generation, as without the flag).
 */
void mmu_code_page_added(struct hart *h, size_t page);

/* Recomputes h->pmp_active after a change of pmpcfg, and flushes the TLB. */
void mmu_pmp_changed(struct hart *h);

/* The victim slot (hart.h) of the page at va: by page-number bits above those of its
 * slot, so that pages sharing a slot mostly get different ones. The translator's slow
 * path computes the same (jit_x86_64.c's victim_lookup). */
static inline unsigned tlb_victim_slot(uint64_t va)
{
    uint64_t vpn = va >> 12;
    return TLB_SIZE + (unsigned)((vpn ^ vpn >> TLB_BITS ^ vpn >> (TLB_BITS + 6)) & (TLB_VICTIMS - 1));
}

/* Whether entry e (va's slot) maps all of [va, va+size): the page of the access's last
 * byte is compared, so an access that crosses into the next page misses (that page has
 * another slot) without a test of its own. */
static inline bool tlb_hit(const struct tlb_entry *e, uint64_t va, unsigned size)
{
    return e->tag == ((va + size - 1) & ~0xfffULL);
}

/*
 * Host pointer for an atomic access of size bytes at va (aligned, RAM only), checked for
 * the given access (ACCESS_READ for LR, ACCESS_WRITE for SC/AMO); NULL after raising the
 * exception. Translation faults of AMOs report store/AMO causes. The TLB's hit path is
 * inline (the block engine runs every AMO through here): a misaligned address fails the
 * compare, as a miss does, and the slow path raises its fault.
 */
static inline void *mmu_atomic_ptr(struct hart *h, uint64_t va, unsigned size, enum access_type access)
{
    const struct tlb *t = h->ctx_tlb[h->mmu_ctx];
    const struct tlb_entry *e = (access == ACCESS_READ ? t->read : t->write) + ((va >> 12) & (TLB_SIZE - 1));
    /* A code page's write entry serves too: the callers report their stores themselves. */
    if (likely(!h->trigger_access &&
               (__atomic_load_n(&e->tag, __ATOMIC_RELAXED) & ~TLB_CODE_PAGE) == (va & (~0xfffULL | (size - 1)))))
        return (void *)(uintptr_t)(va + e->addend);
    return mmu_atomic_ptr_slow(h, va, size, access);
}

/* An SC or AMO stored through p (from mmu_atomic_ptr): like any store it ends other harts'
 * reservations on its granule (and wakes their stalls), and on the HTIF tohost page it acts
 * as a plain store there does. That page is never in the TLB, so translated code's inline
 * AMOs reach this through exec_amo. */
void mmu_atomic_stored(struct hart *h, const void *p);

/* name##_hit loads through the read entries of one TLB context when they hold va (false
 * otherwise: the caller takes the slow path); name also takes the slow path. */
#define DEFINE_LOAD(name, type)                                                        \
    static inline bool name##_hit(const struct tlb_entry *read, uint64_t va, uint64_t *out) \
    {                                                                                   \
        const struct tlb_entry *e = &read[(va >> 12) & (TLB_SIZE - 1)];                 \
        if (!tlb_hit(e, va, sizeof(type)))                                              \
            return false;                                                               \
        type v;                                                                         \
        memcpy(&v, (const void *)(uintptr_t)(va + e->addend), sizeof(type));            \
        *out = (uint64_t)v;                                                             \
        return true;                                                                    \
    }                                                                                   \
    static inline bool name(struct hart *h, uint64_t va, uint64_t *out)                 \
    {                                                                                   \
        if (likely(name##_hit(h->ctx_tlb[h->mmu_ctx]->read, va, out)))                  \
            return true;                                                                \
        uint64_t raw;                                                                   \
        if (!mmu_load_slow(h, va, sizeof(type), &raw))                                  \
            return false;                                                               \
        *out = (uint64_t)(type)raw;                                                     \
        return true;                                                                    \
    }
DEFINE_LOAD(mem_load_i8, int8_t)
DEFINE_LOAD(mem_load_u8, uint8_t)
DEFINE_LOAD(mem_load_i16, int16_t)
DEFINE_LOAD(mem_load_u16, uint16_t)
DEFINE_LOAD(mem_load_i32, int32_t)
DEFINE_LOAD(mem_load_u32, uint32_t)
DEFINE_LOAD(mem_load_u64, uint64_t)
#undef DEFINE_LOAD

/* The decoded loads and stores (decode.h): how they access memory, their size, and
 * whether a load sign-extends. */
#define LOAD_OPS(X) \
    X(LB, mem_load_i8, 1, true) X(LH, mem_load_i16, 2, true) X(LW, mem_load_i32, 4, true) \
    X(LD, mem_load_u64, 8, false) X(LBU, mem_load_u8, 1, false) X(LHU, mem_load_u16, 2, false) \
    X(LWU, mem_load_u32, 4, false)
#define STORE_OPS(X) X(SB, 1) X(SH, 2) X(SW, 4) X(SD, 8)

/* A store through the write entries of one TLB context when they hold va (false
 * otherwise: the caller takes the slow path). Only a page holding code has its bytes
 * compared with the code's (TLB_CODE_PAGE). */
static inline bool mem_store_hit(struct hart *h, const struct tlb_entry *write, uint64_t va, unsigned size,
                                 uint64_t value)
{
    const struct tlb_entry *e = &write[(va >> 12) & (TLB_SIZE - 1)];
    uint64_t page = (va + size - 1) & ~0xfffULL;
    /* Atomic: mmu_code_page_added may flag the entry from another hart's thread. */
    uint64_t tag = __atomic_load_n(&e->tag, __ATOMIC_RELAXED);
    bool code_page = false;
    if (unlikely(tag != page)) {
        if (tag != (page | TLB_CODE_PAGE))
            return false;
        code_page = true;
    }
    void *p = (void *)(uintptr_t)(va + e->addend);
    if (unlikely(code_page))
        guest_ram_note_store(h->ram, p, size);
    switch (size) {
    case 1: { uint8_t v = value; memcpy(p, &v, 1); break; }
    case 2: { uint16_t v = value; memcpy(p, &v, 2); break; }
    case 4: { uint32_t v = value; memcpy(p, &v, 4); break; }
    default: memcpy(p, &value, 8); break;
    }
    if (unlikely(mmu_reservations_live(h)))
        mmu_store_breaks_reservations(h, p);
    return true;
}

static inline bool mem_store(struct hart *h, uint64_t va, unsigned size, uint64_t value)
{
    return likely(mem_store_hit(h, h->ctx_tlb[h->mmu_ctx]->write, va, size, value)) ||
           mmu_store_slow(h, va, size, value);
}

/* Zicbom/Zicboz's cache block (the device tree's riscv,cbom/cboz-block-size). */
#define CACHE_BLOCK_SIZE 64

/* cbo.zero of the aligned block at va through the write TLB: false on a miss (the
 * caller stores the block's words one by one, which faults or fills the TLB). */
static inline bool mem_zero_block_hit(struct hart *h, uint64_t va)
{
    const struct tlb_entry *e = &h->ctx_tlb[h->mmu_ctx]->write[(va >> 12) & (TLB_SIZE - 1)];
    if (!tlb_hit(e, va, CACHE_BLOCK_SIZE))
        return false;
    uint8_t *p = (uint8_t *)(uintptr_t)(va + e->addend);
    guest_ram_note_store(h->ram, p, CACHE_BLOCK_SIZE);
    memset(p, 0, CACHE_BLOCK_SIZE);
    if (unlikely(mmu_reservations_live(h)))
        for (unsigned i = 0; i < CACHE_BLOCK_SIZE; i += 8)
            mmu_store_breaks_reservations(h, p + i);
    return true;
}

/* FENCE's predecessor and successor sets (bits 27:24 and 23:20): device input and output,
 * memory reads and writes. */
#define FENCE_I 8u
#define FENCE_O 4u
#define FENCE_R 2u
#define FENCE_W 1u

/* Whether FENCE insn orders earlier writes before later reads: the one order an x86 host
 * (TSO) does not keep by itself. fence.tso (fm 8) orders all but that one. */
static inline bool fence_orders_write_read(uint32_t insn)
{
    unsigned fm = insn >> 28, pred = (insn >> 24) & 15, succ = (insn >> 20) & 15;
    return fm != 8 && (pred & (FENCE_O | FENCE_W)) && (succ & (FENCE_I | FENCE_R));
}

/* FENCE insn between this hart's plain accesses to guest memory and other harts' (and
 * devices' threads'): a full barrier where it orders writes before reads, else one that
 * keeps the other orders (a compiler barrier on x86). */
static inline void mem_fence(uint32_t insn)
{
    if (fence_orders_write_read(insn))
        atomic_thread_fence(memory_order_seq_cst);
    else
        atomic_thread_fence(memory_order_acq_rel);
}

/* The host address of the size bytes at pc if the fetch TLB holds their page, else 0. */
static inline uintptr_t mem_fetch_host_hit(const struct hart *h, uint64_t pc, unsigned size)
{
    const struct tlb_entry *e = &h->ctx_tlb[mmu_fetch_ctx(h)]->fetch[(pc >> 12) & (TLB_SIZE - 1)];
    return likely(tlb_hit(e, pc, size)) ? (uintptr_t)(pc + e->addend) : 0;
}

static inline bool mem_fetch(struct hart *h, uint64_t pc, uint32_t *insn)
{
    uintptr_t host = mem_fetch_host_hit(h, pc, 4);
    if (likely(host)) {
        memcpy(insn, (const void *)host, 4);
        return true;
    }
    return mmu_fetch_slow(h, pc, insn);
}

#endif
