#include "cpu/mmu.h"

#include "cpu/csr.h"
#include "cpu/trigger.h"
#include "memory/bus.h"

#define PTE_V (1ULL << 0)
#define PTE_R (1ULL << 1)
#define PTE_W (1ULL << 2)
#define PTE_X (1ULL << 3)
#define PTE_U (1ULL << 4)
#define PTE_G (1ULL << 5)
#define PTE_A (1ULL << 6)
#define PTE_D (1ULL << 7)
#define PTE_PPN_SHIFT 10
#define PTE_RESERVED (0x7fULL << 54)
#define PTE_PBMT (3ULL << 61)
#define PTE_N (1ULL << 63)

/* The privilege and V that loads and stores (not fetches) use: MPRV's in M-mode. */
static unsigned access_priv(const struct hart *h, enum access_type access);
static bool access_virt(const struct hart *h, enum access_type access);

void mmu_update_ctx(struct hart *h)
{
    unsigned priv = access_priv(h, ACCESS_READ);
    if (access_virt(h, ACCESS_READ))
        h->mmu_ctx = priv == PRIV_S ? ((h->arch.vsstatus & MSTATUS_SUM) ? MMU_CTX_VS_SUM : MMU_CTX_VS) : MMU_CTX_VU;
    else if (priv == PRIV_M)
        h->mmu_ctx = MMU_CTX_M;
    else if (priv == PRIV_S)
        h->mmu_ctx = (h->arch.mstatus & MSTATUS_SUM) ? MMU_CTX_S_SUM : MMU_CTX_S;
    else
        h->mmu_ctx = MMU_CTX_U;
}

/* Empties the entries of the 64 at e that bits names. */
static void tlb_drop(struct tlb_entry *e, uint64_t bits)
{
    if (bits == ~0ULL)
        memset(e, 0xff, 64 * sizeof(*e));
    else
        for (; bits; bits &= bits - 1)
            e[__builtin_ctzll(bits)].tag = ~0ULL;
}

/* The entries of table t for one access (ACCESS_READ, ACCESS_WRITE, ACCESS_FETCH). */
static struct tlb_entry *tlb_entries(struct tlb *t, unsigned access)
{
    return access == ACCESS_READ ? t->read : access == ACCESS_WRITE ? t->write : t->fetch;
}

/* Table t drops entries: what the jump cache found through it may no longer hold. */
static void fetch_epoch_renew(struct hart *h, struct tlb *t)
{
    t->fetch_epoch = ++h->fetch_epoch_clock;
    t->fetch_lost = false;
}

/* Empties the entries of t filled since it was last emptied, but those keep names (by
 * access and word, as t->global; NULL: none). */
static void tlb_drop_filled(struct hart *h, struct tlb *t, uint64_t (*keep)[TLB_ENTRIES / 64])
{
    fetch_epoch_renew(h, t);
    for (unsigned access = 0; access < 3; access++)
        for (unsigned word = 0; word < TLB_ENTRIES / 64; word++) {
            uint64_t drop = t->filled[access][word] & ~(keep ? keep[access][word] : 0);
            if (drop) {
                tlb_drop(tlb_entries(t, access) + 64 * word, drop);
                t->filled[access][word] &= ~drop;
            }
        }
    t->nonglobal = false;
}

static void tlb_clear(struct hart *h, struct tlb *t)
{
    tlb_drop_filled(h, t, NULL);
}

/* Drops t's translations that depend on satp's address space: all but global mappings
 * and M's bare translations. */
static void tlb_drop_nonglobal(struct hart *h, struct tlb *t)
{
    if (t->nonglobal)
        tlb_drop_filled(h, t, t->global);
}

/* Whether table i (of h->tlb) holds V=1 translations: the V=1 contexts' own. */
static bool table_is_virt(unsigned i)
{
    return i >= MMU_CTX_VU && i < TLB_CONTEXTS;
}

/* The V=1 tables are in use only with the H extension: flushes without it skip them. */
static bool table_in_use(const struct hart *h, unsigned i)
{
    return h->hypervisor || !table_is_virt(i);
}

static void superpages_clear(struct hart *h, bool virt)
{
    for (unsigned half = 0; half < 2; half++)
        h->superpages[virt][half] = (struct superpage_span){ .lo = ~0ULL, .hi = 0 };
}

/* A superpage translation of [base, base + offset_mask] may now be cached. */
static void superpages_note(struct hart *h, bool virt, uint64_t base, uint64_t offset_mask)
{
    struct superpage_span *span = &h->superpages[virt][base >> 63];
    if (base < span->lo)
        span->lo = base;
    if (base + offset_mask > span->hi)
        span->hi = base + offset_mask;
}

static void gtlb_clear(struct hart *h)
{
    if (h->hypervisor)
        memset(&h->gtlb, 0xff, sizeof(h->gtlb));
}

/* Empties the page walk's cache of upper levels: where a V=0 flush reaches further than
 * leaf PTEs. */
static void walk_cache_clear(struct hart *h)
{
    memset(h->walk_cache, 0, sizeof(h->walk_cache));
}

void mmu_tlb_init(struct hart *h)
{
    for (unsigned i = 0; i < TLB_TABLES; i++) {
        memset(&h->tlb[i], 0xff, offsetof(struct tlb, filled));
        fetch_epoch_renew(h, &h->tlb[i]);
    }
    for (unsigned ctx = 0; ctx < TLB_CONTEXTS; ctx++)
        h->ctx_tlb[ctx] = &h->tlb[ctx];
    for (unsigned i = 0; i < TLB_SPACES; i++)
        h->tlb_spaces[i] = (struct tlb_space){
            .satp = ~0ULL,
            .table = i ? TLB_CONTEXTS + i - 1 : MMU_CTX_U,
        };
    h->tlb_space = 0;
}

void hart_tlb_flush(struct hart *h)
{
    walk_cache_clear(h);
    superpages_clear(h, false);
    superpages_clear(h, true);
    for (unsigned i = 0; i < TLB_TABLES; i++)
        if (table_in_use(h, i))
            tlb_clear(h, &h->tlb[i]);
    gtlb_clear(h);
    /* The current space's table stays U's (translated code holds it), now that of satp
     * as it is (a loaded state sets satp without a write). */
    for (unsigned i = 0; i < TLB_SPACES; i++)
        h->tlb_spaces[i].satp = i == h->tlb_space ? h->arch.satp : ~0ULL;
}

/* Points U's context at the table of satp's space, emptying the least recently used
 * space's for it when none holds it. */
static void tlb_space_enter(struct hart *h)
{
    unsigned pick = 0;
    for (unsigned i = 0; i < TLB_SPACES; i++) {
        if (h->tlb_spaces[i].satp == h->arch.satp) {
            pick = i;
            goto found;
        }
        if (h->tlb_spaces[i].used < h->tlb_spaces[pick].used)
            pick = i;
    }
    tlb_clear(h, &h->tlb[h->tlb_spaces[pick].table]);
    h->tlb_spaces[pick].satp = h->arch.satp;
found:;
    struct tlb_space *space = &h->tlb_spaces[pick];
    space->used = ++h->tlb_space_clock;
    h->tlb_space = pick;
    h->ctx_tlb[MMU_CTX_U] = &h->tlb[space->table];
}

/* The non-global entries of the V=0 tables that every space shares: the current space's
 * (M's are all bare). */
static void shared_tables_drop_nonglobal(struct hart *h)
{
    tlb_drop_nonglobal(h, h->ctx_tlb[MMU_CTX_S]);
    tlb_drop_nonglobal(h, h->ctx_tlb[MMU_CTX_S_SUM]);
}

void mmu_satp_changed(struct hart *h, uint64_t old)
{
    /* Another MODE (or Bare) changes what every cached address means. */
    if ((old ^ h->arch.satp) >> 60)
        mmu_flush_mode(h, false);
    else {
        walk_cache_clear(h);
        shared_tables_drop_nonglobal(h);
    }
    tlb_space_enter(h);
}

void mmu_flush_mode(struct hart *h, bool virt)
{
    if (!virt)
        walk_cache_clear(h);
    superpages_clear(h, virt);
    for (unsigned i = 0; i < TLB_TABLES; i++)
        if (table_is_virt(i) == virt && table_in_use(h, i))
            tlb_clear(h, &h->tlb[i]);
}

/* A range of more pages than this is flushed whole: as Linux's own threshold for
 * sfence.vma by page. */
#define FLUSH_RANGE_PAGES 64

/* Whether [start, start + size) spans few enough pages to flush one by one: its first
 * page and their number. */
static bool few_pages(uint64_t start, uint64_t size, uint64_t *first, uint64_t *pages)
{
    *first = start & ~0xfffULL;
    *pages = (start + size - *first + 0xfff) >> 12;
    return size <= FLUSH_RANGE_PAGES << 12 && *pages <= FLUSH_RANGE_PAGES;
}

void mmu_flush_range(struct hart *h, uint64_t start, uint64_t size, bool virt)
{
    uint64_t first, pages;
    if (!few_pages(start, size, &first, &pages)) {
        mmu_flush_mode(h, virt);
        return;
    }
    for (uint64_t i = 0; i < pages; i++)
        mmu_flush_page(h, first + (i << 12), virt);
}

/* Whether satp value satp is of address space asid. */
static bool satp_has_asid(uint64_t satp, uint64_t asid)
{
    return ((satp >> SATP_ASID_SHIFT ^ asid) & SATP_ASID_MASK) == 0;
}

void mmu_flush_asid(struct hart *h, uint64_t asid, uint64_t start, uint64_t size)
{
    uint64_t first, pages;
    if (few_pages(start, size, &first, &pages)) {
        /* Every space's entries of those pages, global ones too: more than the fence
         * asks, never less. */
        for (uint64_t i = 0; i < pages; i++)
            mmu_flush_page(h, first + (i << 12), false);
        return;
    }
    for (unsigned i = 0; i < TLB_SPACES; i++) {
        const struct tlb_space *space = &h->tlb_spaces[i];
        if (satp_has_asid(space->satp, asid))
            tlb_drop_nonglobal(h, &h->tlb[space->table]);
    }
    if (satp_has_asid(h->arch.satp, asid)) {
        walk_cache_clear(h);
        shared_tables_drop_nonglobal(h);
    }
}

void mmu_flush_gstage(struct hart *h)
{
    mmu_flush_mode(h, true);
    gtlb_clear(h);
}

void mmu_flush_page(struct hart *h, uint64_t va, bool virt)
{
    /* Superpages are cached as 4 KiB pages whose other pages sit in other slots, so an
     * address that a cached superpage may cover flushes the whole mode. */
    const struct superpage_span *span = &h->superpages[virt][va >> 63];
    if (va >= span->lo && va <= span->hi) {
        mmu_flush_mode(h, virt);
        return;
    }
    /* Only that page's entries (of every space), in its slot and its victim slot: the
     * pages that share them stay. */
    uint64_t page = va & ~0xfffULL;
    const unsigned slots[2] = { (va >> 12) & (TLB_SIZE - 1), tlb_victim_slot(va) };
    for (unsigned i = 0; i < TLB_TABLES; i++)
        if (table_is_virt(i) == virt && table_in_use(h, i)) {
            bool fetched = false;
            for (unsigned access = 0; access < 3; access++)
                for (unsigned s = 0; s < 2; s++) {
                    struct tlb_entry *e = &tlb_entries(&h->tlb[i], access)[slots[s]];
                    if ((e->tag & ~TLB_CODE_PAGE) == page) {
                        e->tag = ~0ULL;
                        fetched |= access == ACCESS_FETCH;
                    }
                }
            /* a page lost from the fetch entries may be this one */
            if (fetched || h->tlb[i].fetch_lost)
                fetch_epoch_renew(h, &h->tlb[i]);
        }
}

/* ---- PMP ---- */

#define PMP_R 1
#define PMP_W 2
#define PMP_X 4
#define PMP_A_SHIFT 3
#define PMP_L 0x80

bool pmp_allows(const struct hart *h, uint64_t pa, uint64_t size, enum access_type access, unsigned priv)
{
    if (!h->pmp_active)
        return true;
    uint64_t end = pa + size;
    for (unsigned i = 0; i < PMP_ENTRIES; i++) {
        unsigned cfg = pmp_cfg(h, i);
        unsigned a = (cfg >> PMP_A_SHIFT) & 3;
        uint64_t lo, hi;
        if (a == 0)
            continue;
        if (a == 1) { /* TOR */
            lo = i ? h->arch.pmpaddr[i - 1] << 2 : 0;
            hi = h->arch.pmpaddr[i] << 2;
        } else if (a == 2) { /* NA4 */
            lo = h->arch.pmpaddr[i] << 2;
            hi = lo + 4;
        } else { /* NAPOT */
            uint64_t addr = h->arch.pmpaddr[i];
            unsigned ones = __builtin_ctzll(~addr);
            if (ones >= 54) {
                lo = 0;
                hi = ~0ULL;
            } else {
                lo = (addr & ~((1ULL << ones) - 1)) << 2;
                hi = lo + (1ULL << (ones + 3));
            }
        }
        if (end <= lo || pa >= hi)
            continue;
        if (pa < lo || end > hi)
            return false; /* partial match fails */
        if (priv == PRIV_M && !(cfg & PMP_L))
            return true;
        unsigned need = access == ACCESS_READ ? PMP_R : access == ACCESS_WRITE ? PMP_W : PMP_X;
        return (cfg & need) != 0;
    }
    return priv == PRIV_M;
}

void mmu_pmp_changed(struct hart *h)
{
    h->pmp_active = false;
    for (unsigned i = 0; i < PMP_ENTRIES; i++)
        if (pmp_cfg(h, i) & 0x18)
            h->pmp_active = true;
    hart_tlb_flush(h);
}

/* ---- page walk ---- */

static int fault_cause(enum access_type access, bool page_fault)
{
    if (access == ACCESS_FETCH)
        return page_fault ? EXC_INSN_PAGE_FAULT : EXC_INSN_ACCESS;
    if (access == ACCESS_READ)
        return page_fault ? EXC_LOAD_PAGE_FAULT : EXC_LOAD_ACCESS;
    return page_fault ? EXC_STORE_PAGE_FAULT : EXC_STORE_ACCESS;
}

/* Guest-page faults (H extension): the G stage refused the access. */
static int guest_fault_cause(enum access_type access)
{
    return access == ACCESS_FETCH ? EXC_INSN_GUEST_PAGE_FAULT
                                  : access == ACCESS_READ ? EXC_LOAD_GUEST_PAGE_FAULT : EXC_STORE_GUEST_PAGE_FAULT;
}

static bool is_guest_fault(int cause)
{
    return cause == EXC_INSN_GUEST_PAGE_FAULT || cause == EXC_LOAD_GUEST_PAGE_FAULT ||
           cause == EXC_STORE_GUEST_PAGE_FAULT;
}

/* htinst's pseudoinstructions for a VS-stage walk's own (implicit) 64-bit PTE accesses. */
#define TINST_PTE_READ 0x3000
#define TINST_PTE_WRITE 0x3020

/* One stage of translation: its root table, shape and whose permissions apply. */
struct stage {
    uint64_t root;       /* root table address; guest-physical when nested */
    unsigned levels;     /* 3, 4 or 5 */
    unsigned priv;       /* U for the G stage, whose leaves must all be U pages */
    bool sum, mxr;
    bool pbmte;          /* Svpbmt's PBMT field allowed (menvcfg, henvcfg for a VS stage) */
    bool gstage;         /* the G stage: 2 more root index bits, guest-page faults */
    bool nested;         /* a VS stage over a G stage: PTE addresses are translated */
    bool debug;          /* a debugger's walk: no permission checks, no A/D update, no
                          * superpage note for the TLB: the guest keeps no trace of it */
    bool virt;           /* a VS stage (a G stage is one of V=1 translations too) */
};

static int g_stage(struct hart *h, uint64_t gpa, enum access_type access, bool debug, uint64_t *pa);

/* The host-physical address of a PTE at table address pte_addr, for access (read, or
 * write for an A/D update); guest-page faults say where in *gf. */
static int pte_location(struct hart *h, const struct stage *st, uint64_t pte_addr, enum access_type access,
                        enum access_type pte_access, uint64_t *pte_pa, struct guest_fault *gf)
{
    *pte_pa = pte_addr;
    if (st->nested) {
        int cause = g_stage(h, pte_addr, pte_access, st->debug, pte_pa);
        if (is_guest_fault(cause)) {
            gf->gpa = pte_addr;
            gf->tinst = pte_access == ACCESS_WRITE ? TINST_PTE_WRITE : TINST_PTE_READ;
            return guest_fault_cause(access);
        }
        if (cause)
            return fault_cause(access, false);
    }
    return pmp_allows(h, *pte_pa, 8, pte_access, PRIV_S) ? 0 : fault_cause(access, false);
}

/* The page walk of one stage: 0 with *pa and *global (a G bit on the way), or the
 * exception's cause. */
static int walk(struct hart *h, const struct stage *st, uint64_t addr, enum access_type access, uint64_t *pa,
                bool *global, struct guest_fault *gf)
{
    *global = false;
    int page_fault = st->gstage ? guest_fault_cause(access) : fault_cause(access, true);
    unsigned addr_bits = 12 + 9 * st->levels;
    if (st->gstage ? addr >> (addr_bits + 2) != 0 : (uint64_t)sign_extend(addr, addr_bits) != addr)
        return page_fault;

    struct guest_ram *ram = h->ram;
    uint64_t table = st->root;
    int level = (int)st->levels - 1;
    struct walk_cache_entry *cached = NULL;
    if (!st->virt && !st->gstage && !st->debug) {
        cached = &h->walk_cache[(addr >> 21) & (WALK_CACHE_SIZE - 1)];
        if (cached->region == (addr >> 21) + 1) {
            table = cached->table;
            level = (int)cached->level;
            *global = cached->global;
        }
    }
    for (; level >= 0; level--) {
        uint64_t index_mask = st->gstage && level == (int)st->levels - 1 ? 0x7ff : 0x1ff;
        uint64_t pte_addr = table + ((addr >> (12 + 9 * level)) & index_mask) * 8, pte_pa;
        int cause = pte_location(h, st, pte_addr, access, ACCESS_READ, &pte_pa, gf);
        if (cause)
            return cause;
        _Atomic uint64_t *ptep = guest_ram_ptr(ram, pte_pa, 8);
        if (!ptep)
            return fault_cause(access, false);
    reload:;
        uint64_t pte = atomic_load_explicit(ptep, memory_order_relaxed);
        if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || (pte & PTE_RESERVED))
            return page_fault;
        uint64_t pbmt = pte & PTE_PBMT;
        if (pbmt && (pbmt == PTE_PBMT || !st->pbmte))
            return page_fault;
        uint64_t ppn = (pte >> PTE_PPN_SHIFT) & ((1ULL << 44) - 1);
        *global |= (pte & PTE_G) != 0; /* a global table maps only global pages */
        if (!(pte & (PTE_R | PTE_X))) {
            if (pte & (PTE_A | PTE_D | PTE_U | PTE_PBMT | PTE_N))
                return page_fault;
            table = ppn << 12;
            if (cached && level > 0)
                *cached = (struct walk_cache_entry){ .region = (addr >> 21) + 1, .table = table,
                                                     .level = (unsigned)level - 1, .global = *global };
            continue;
        }
        /* Leaf. */
        if (level > 0 && (ppn & ((1ULL << (9 * level)) - 1)))
            return page_fault; /* misaligned superpage */
        /* Svnapot: a 4 KiB leaf with N and ppn[3:0] = 1000 maps 64 KiB; other uses are reserved. */
        bool napot = pte & PTE_N;
        if (napot && (level > 0 || (ppn & 0xf) != 8))
            return page_fault;
        if (st->debug) {
            uint64_t offset_mask = napot ? 0xffff : (1ULL << (12 + 9 * level)) - 1;
            *pa = ((ppn << 12) & ~offset_mask) | (addr & offset_mask);
            return 0;
        }
        bool user_page = pte & PTE_U;
        if (st->priv == PRIV_U && !user_page)
            return page_fault;
        if (st->priv == PRIV_S && user_page && (access == ACCESS_FETCH || !st->sum))
            return page_fault;
        bool ok;
        if (access == ACCESS_FETCH)
            ok = pte & PTE_X;
        else if (access == ACCESS_READ)
            ok = (pte & PTE_R) || (st->mxr && (pte & PTE_X));
        else
            ok = pte & PTE_W;
        if (!ok)
            return page_fault;
        uint64_t want = PTE_A | (access == ACCESS_WRITE ? PTE_D : 0);
        if ((pte & want) != want) {
            uint64_t written_pa;
            if ((cause = pte_location(h, st, pte_addr, access, ACCESS_WRITE, &written_pa, gf)))
                return cause;
            /* Hardware A/D update: atomic against other harts' walks and guest stores. */
            if (!atomic_compare_exchange_strong(ptep, &pte, pte | want))
                goto reload;
            guest_ram_note_store(ram, (const void *)ptep, 8); /* a write like any other */
        }
        uint64_t offset_mask = napot ? 0xffff : (1ULL << (12 + 9 * level)) - 1;
        /* (A G-stage superpage needs no note: only hfence.gvma drops G-stage
         * translations, and it drops every V=1 one.) */
        if ((level > 0 || napot) && !st->gstage)
            superpages_note(h, st->virt, addr & ~offset_mask, offset_mask);
        *pa = ((ppn << 12) & ~offset_mask) | (addr & offset_mask);
        return 0;
    }
    return page_fault;
}

/* The G stage of hgatp (Sv39x4/Sv48x4/Sv57x4 or Bare): guest-physical to physical. */
static int g_stage(struct hart *h, uint64_t gpa, enum access_type access, bool debug, uint64_t *pa)
{
    unsigned mode = h->arch.hgatp >> 60;
    if (mode == SATP_MODE_BARE) {
        *pa = gpa;
        return 0;
    }
    struct gtlb *cache = &h->gtlb;
    struct gtlb_entry *e = access == ACCESS_READ ? cache->read : access == ACCESS_WRITE ? cache->write
                                                                                         : cache->fetch;
    e += (gpa >> 12) & (GTLB_SIZE - 1);
    if (!debug && e->gpage == (gpa & ~0xfffULL)) {
        *pa = e->page | (gpa & 0xfff);
        return 0;
    }
    struct stage st = {
        .root = (h->arch.hgatp & ((1ULL << 44) - 1)) << 12,
        .levels = mode - SATP_MODE_SV39 + 3,
        .priv = PRIV_U,
        .mxr = h->arch.mstatus & MSTATUS_MXR,
        .pbmte = h->arch.menvcfg & MENVCFG_PBMTE,
        .gstage = true,
        .debug = debug,
    };
    bool global;
    int cause = walk(h, &st, gpa, access, pa, &global, NULL);
    if (!cause && !debug) {
        e->gpage = gpa & ~0xfffULL;
        e->page = *pa & ~0xfffULL;
    }
    return cause;
}

/*
 * Translation of an access by priv: one stage through satp, or with virt two: the VS
 * stage through vsatp (vsstatus's SUM, MXR from either status) and the G stage through
 * hgatp. A guest-page fault says where in *gf. *global: a V=0 translation that no satp
 * write changes (a global mapping, or M's bare one).
 */
static int translate(struct hart *h, uint64_t va, enum access_type access, unsigned priv, bool virt,
                     bool debug, uint64_t *pa, bool *global, struct guest_fault *gf)
{
    uint64_t satp = virt ? h->arch.vsatp : h->arch.satp;
    unsigned mode = satp >> 60;
    uint64_t gpa = va;
    *global = priv == PRIV_M;
    if (priv != PRIV_M && mode != SATP_MODE_BARE) {
        struct stage st = {
            .root = (satp & ((1ULL << 44) - 1)) << 12,
            .levels = mode - SATP_MODE_SV39 + 3,
            .priv = priv,
            .sum = ((virt ? h->arch.vsstatus : h->arch.mstatus) & MSTATUS_SUM) != 0,
            .mxr = ((h->arch.mstatus | (virt ? h->arch.vsstatus : 0)) & MSTATUS_MXR) != 0,
            .pbmte = ((virt ? h->arch.henvcfg : h->arch.menvcfg) & MENVCFG_PBMTE) != 0,
            .nested = virt && (h->arch.hgatp >> 60) != SATP_MODE_BARE,
            .debug = debug,
            .virt = virt,
        };
        int cause = walk(h, &st, va, access, &gpa, global, gf);
        if (cause)
            return cause;
    }
    if (!virt) {
        *pa = gpa;
        return 0;
    }
    *global = false;
    int cause = g_stage(h, gpa, access, debug, pa);
    if (is_guest_fault(cause)) {
        gf->gpa = gpa;
        gf->tinst = 0;
    }
    return cause;
}

/* Raises the exception translate() returned for the access at va. */
static void raise_translation_fault(struct hart *h, int cause, uint64_t va, const struct guest_fault *gf)
{
    if (is_guest_fault(cause))
        hart_raise_guest_fault(h, cause, va, gf->gpa, gf->tinst);
    else
        hart_raise_exception(h, cause, va);
}

int mmu_translate(struct hart *h, uint64_t va, enum access_type access, unsigned priv, uint64_t *pa)
{
    struct guest_fault gf;
    bool global;
    return translate(h, va, access, priv, false, false, pa, &global, &gf);
}

/* ---- slow paths ---- */

static unsigned access_priv(const struct hart *h, enum access_type access)
{
    if (access != ACCESS_FETCH && h->arch.priv == PRIV_M && (h->arch.mstatus & MSTATUS_MPRV))
        return (h->arch.mstatus & MSTATUS_MPP) >> MSTATUS_MPP_SHIFT;
    return h->arch.priv;
}

static bool access_virt(const struct hart *h, enum access_type access)
{
    if (access != ACCESS_FETCH && h->arch.priv == PRIV_M && (h->arch.mstatus & MSTATUS_MPRV))
        return access_priv(h, access) != PRIV_M && (h->arch.mstatus & MSTATUS_MPV);
    return h->arch.virt;
}

bool mmu_debug_translate(struct hart *h, uint64_t va, uint64_t *pa)
{
    struct guest_fault gf;
    bool global;
    return translate(h, va, ACCESS_READ, access_priv(h, ACCESS_READ), access_virt(h, ACCESS_READ), true,
                     pa, &global, &gf) == 0;
}

static bool is_htif_page(const struct hart *h, uint64_t pa)
{
    uint64_t tohost = *h->platform.tohost_addr;
    return tohost && (pa >> 12) == (tohost >> 12);
}

/* Fills t's entry `slot` for access with the page `tag` (without TLB_CODE_PAGE) at host
 * address tag + addend, global or not. */
static void tlb_set(struct hart *h, struct tlb *t, unsigned access, unsigned slot, uint64_t tag, uintptr_t addend,
                    bool global)
{
    uint64_t bit = 1ULL << (slot % 64);
    uint64_t *global_word = &t->global[access][slot / 64];
    *global_word = global ? *global_word | bit : *global_word & ~bit;
    t->filled[access][slot / 64] |= bit;
    struct tlb_entry *e = tlb_entries(t, access) + slot;
    e->tag = tag;
    e->addend = addend;
    if (access == ACCESS_WRITE) {
        /* The entry before the page's code extent: either this sees the page's code,
         * or mmu_code_page_added, which publishes the extent first, sees the entry. */
        atomic_thread_fence(memory_order_seq_cst);
        size_t page = (size_t)((uint8_t *)(uintptr_t)(tag + addend) - h->ram->host) >> 12;
        if (atomic_load_explicit(&h->ram->code_extent[page], memory_order_relaxed))
            __atomic_fetch_or(&e->tag, TLB_CODE_PAGE, __ATOMIC_RELAXED);
    }
}

/* Before t's slot `slot` for access takes page `incoming`: the other page it holds, if
 * any, moves to that page's victim slot. */
static void tlb_evict(struct hart *h, struct tlb *t, unsigned access, unsigned slot, uint64_t incoming)
{
    const struct tlb_entry *e = tlb_entries(t, access) + slot;
    uint64_t page = e->tag & ~TLB_CODE_PAGE;
    if (e->tag == ~0ULL || page == incoming)
        return;
    const struct tlb_entry *victim = tlb_entries(t, access) + tlb_victim_slot(page);
    if (access == ACCESS_FETCH && victim->tag != ~0ULL && (victim->tag & ~TLB_CODE_PAGE) != page)
        t->fetch_lost = true;
    tlb_set(h, t, access, tlb_victim_slot(page), page, e->addend, t->global[access][slot / 64] >> (slot % 64) & 1);
}

/* The host address of va when t's victim slot of its page holds it for access (NULL
 * otherwise): the entry then goes back to the page's own slot, whose entry moves to its
 * victim slot. */
static void *tlb_victim_hit(struct hart *h, struct tlb *t, unsigned access, uint64_t va)
{
    unsigned victim = tlb_victim_slot(va), slot = (va >> 12) & (TLB_SIZE - 1);
    struct tlb_entry *e = tlb_entries(t, access) + victim;
    if ((e->tag & ~TLB_CODE_PAGE) != (va & ~0xfffULL))
        return NULL;
    uintptr_t addend = e->addend;
    bool global = t->global[access][victim / 64] >> (victim % 64) & 1;
    e->tag = ~0ULL;
    tlb_evict(h, t, access, slot, va & ~0xfffULL);
    tlb_set(h, t, access, slot, va & ~0xfffULL, addend, global);
    return (void *)(uintptr_t)(va + addend);
}

/*
 * Translates and checks one access that stays within a page. On success returns the
 * host pointer for RAM, or NULL with *pa_out set for MMIO. On failure raises the
 * exception and returns NULL with *pa_out = ~0.
 */
static void *access_prepare(struct hart *h, uint64_t va, unsigned size, enum access_type access,
                            bool atomic, uint64_t *pa_out)
{
    /* What the fill below would cache (the same conditions) may be in a victim slot. */
    bool cacheable = access == ACCESS_FETCH || !h->trigger_access;
    struct tlb *t = h->ctx_tlb[access == ACCESS_FETCH ? mmu_fetch_ctx(h) : h->mmu_ctx];
    if (cacheable) {
        void *host = tlb_victim_hit(h, t, access, va);
        if (host) {
            *pa_out = guest_ram_gpa(h->ram, host);
            return host;
        }
    }
    unsigned priv = access_priv(h, access);
    uint64_t pa;
    struct guest_fault gf;
    bool global;
    int cause = translate(h, va, access, priv, access_virt(h, access), false, &pa, &global, &gf);
    if (atomic && cause == EXC_LOAD_PAGE_FAULT && access == ACCESS_WRITE)
        cause = EXC_STORE_PAGE_FAULT;
    if (cause) {
        *pa_out = ~0ULL;
        raise_translation_fault(h, cause, va, &gf);
        return NULL;
    }
    if (!pmp_allows(h, pa, size, access, priv)) {
        *pa_out = ~0ULL;
        hart_raise_exception(h, fault_cause(access, false), va);
        return NULL;
    }
    void *host = guest_ram_ptr(h->ram, pa, size);
    *pa_out = pa;
    if (!host)
        return NULL;
    /* Cache the page when every access to it would get the same PMP answer, and no
     * load/store trigger must see the accesses. */
    if (cacheable && pmp_allows(h, pa & ~0xfffULL, 0x1000, access, priv) && !is_htif_page(h, pa)) {
        unsigned slot = (va >> 12) & (TLB_SIZE - 1);
        if (!global)
            t->nonglobal = true;
        tlb_evict(h, t, access, slot, va & ~0xfffULL);
        tlb_set(h, t, access, slot, va & ~0xfffULL, (uintptr_t)host - va, global);
    }
    return host;
}

static bool access_one(struct hart *h, uint64_t va, unsigned size, enum access_type access, uint64_t *value)
{
    uint64_t pa;
    uint8_t *host = access_prepare(h, va, size, access, false, &pa);
    if (host) {
        if (access == ACCESS_WRITE) {
            guest_ram_note_store(h->ram, host, size);
            memcpy(host, value, size); /* little-endian host */
            if (mmu_reservations_live(h))
                mmu_store_breaks_reservations(h, host);
            if (is_htif_page(h, pa))
                h->platform.ops->tohost_store(h->platform.board, pa);
        } else {
            *value = 0;
            memcpy(value, host, size);
        }
        return true;
    }
    if (pa == ~0ULL)
        return false;
    /* MMIO: naturally aligned 1/2/4/8-byte accesses only. */
    bool ok = (pa & (size - 1)) == 0 && access != ACCESS_FETCH;
    if (ok) {
        if (access == ACCESS_WRITE)
            ok = bus_mmio_write(h->platform.bus, pa, size, *value);
        else
            ok = bus_mmio_read(h->platform.bus, pa, size, value);
    }
    if (!ok)
        hart_raise_exception(h, fault_cause(access, false), va);
    return ok;
}

static bool access_split(struct hart *h, uint64_t va, unsigned size, enum access_type access, uint64_t *value)
{
    if (unlikely(h->trigger_access) &&
        trigger_fires_on_access(h, va, size, access == ACCESS_READ, access == ACCESS_WRITE))
        return false;
    if ((va & 0xfff) + size <= 0x1000)
        return access_one(h, va, size, access, value);
    /* Crosses a page: performed a byte at a time, after checking the second page's
     * translation so that a fault there leaves memory untouched. */
    uint64_t pa;
    uint64_t second = (va & ~0xfffULL) + 0x1000;
    struct guest_fault gf;
    bool global;
    int cause = translate(h, second, access, access_priv(h, access), access_virt(h, access), false, &pa, &global,
                          &gf);
    if (cause) {
        raise_translation_fault(h, cause, second, &gf);
        return false;
    }
    uint8_t bytes[8];
    if (access == ACCESS_WRITE)
        memcpy(bytes, value, 8);
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = bytes[i];
        if (!access_one(h, va + i, 1, access, &b))
            return false;
        bytes[i] = b;
    }
    if (access != ACCESS_WRITE) {
        *value = 0;
        memcpy(value, bytes, size);
    }
    return true;
}

bool mmu_load_slow(struct hart *h, uint64_t va, unsigned size, uint64_t *value)
{
    return access_split(h, va, size, ACCESS_READ, value);
}

bool mmu_store_slow(struct hart *h, uint64_t va, unsigned size, uint64_t value)
{
    return access_split(h, va, size, ACCESS_WRITE, &value);
}

const uint8_t *mmu_fetch_host(struct hart *h, uint64_t va)
{
    uint64_t pa;
    const uint8_t *host = access_prepare(h, va, 2, ACCESS_FETCH, false, &pa);
    if (!host && pa != ~0ULL)
        hart_raise_exception(h, EXC_INSN_ACCESS, va);
    return host;
}

/* Host address of the 2 bytes at va through the fetch TLB, refilling it on a miss; NULL
 * after raising the fetch exception. */
static const uint8_t *fetch_half(struct hart *h, uint64_t va)
{
    uintptr_t host = mem_fetch_host_hit(h, va, 2);
    return host ? (const uint8_t *)host : mmu_fetch_host(h, va);
}

bool mmu_fetch_slow(struct hart *h, uint64_t va, uint32_t *insn)
{
    /* An instruction that straddles two pages comes here at every run (the fetch TLB
     * holds a page, not both), but its halves are in the TLB as any others (a Linux
     * fork/exec loop ran one such kernel instruction ~1,200 times a turn). */
    uint16_t lo, hi;
    const uint8_t *host = fetch_half(h, va);
    if (!host)
        return false;
    memcpy(&lo, host, 2);
    if ((lo & 3) != 3) {
        *insn = lo;
        return true;
    }
    /* The upper half: from the next page when the instruction straddles two. */
    const uint8_t *second = (va & 0xfff) != 0xffe ? host + 2 : fetch_half(h, va + 2);
    if (!second)
        return false;
    memcpy(&hi, second, 2);
    *insn = lo | (uint32_t)hi << 16;
    return true;
}

void *mmu_atomic_ptr_slow(struct hart *h, uint64_t va, unsigned size, enum access_type access)
{
    /* LR loads; SC, AMOs (which load too) and cache-block operations store. */
    if (unlikely(h->trigger_access) && trigger_fires_on_access(h, va, size, true, access == ACCESS_WRITE))
        return NULL;
    if (va & (size - 1)) {
        hart_raise_exception(h, access == ACCESS_READ ? EXC_LOAD_MISALIGNED : EXC_STORE_MISALIGNED, va);
        return NULL;
    }
    uint64_t pa;
    void *host = access_prepare(h, va, size, access, true, &pa);
    if (!host && pa != ~0ULL)
        hart_raise_exception(h, access == ACCESS_READ ? EXC_LOAD_ACCESS : EXC_STORE_ACCESS, va);
    return host;
}

void mmu_atomic_stored(struct hart *h, const void *p)
{
    if (mmu_reservations_live(h))
        mmu_store_breaks_reservations(h, p);
    uint64_t pa = h->ram->base + (uint64_t)((const uint8_t *)p - h->ram->host);
    if (is_htif_page(h, pa))
        h->platform.ops->tohost_store(h->platform.board, pa);
}

/* HLVX's faults: those of a fetch, reported as a load's. */
static int as_load_cause(int cause)
{
    switch (cause) {
    case EXC_INSN_PAGE_FAULT: return EXC_LOAD_PAGE_FAULT;
    case EXC_INSN_ACCESS: return EXC_LOAD_ACCESS;
    case EXC_INSN_GUEST_PAGE_FAULT: return EXC_LOAD_GUEST_PAGE_FAULT;
    default: return cause;
    }
}

bool mmu_hypervisor_access(struct hart *h, uint64_t va, unsigned size, enum access_type access, bool exec,
                           uint64_t *value)
{
    unsigned priv = (h->arch.hstatus & HSTATUS_SPVP) ? PRIV_S : PRIV_U;
    /* At most two pages: both translated before any byte moves, so a fault leaves memory as it was. */
    uint8_t *host[2] = { NULL, NULL };
    unsigned first = 0x1000 - (va & 0xfff) < size ? 0x1000 - (va & 0xfff) : size;
    for (unsigned part = 0; part < 2 && (part == 0 || first < size); part++) {
        uint64_t a = part ? va + first : va, pa;
        unsigned len = part ? size - first : first;
        struct guest_fault gf = { 0, 0 };
        bool global;
        int cause = translate(h, a, exec ? ACCESS_FETCH : access, priv, true, false, &pa, &global, &gf);
        if (exec)
            cause = as_load_cause(cause);
        if (!cause && (!pmp_allows(h, pa, len, access, priv) || !(host[part] = guest_ram_ptr(h->ram, pa, len))))
            cause = fault_cause(access, false); /* PMP, or not RAM: no MMIO through HLV/HSV */
        if (cause) {
            hart_raise_guest_fault(h, cause, a, gf.gpa, gf.tinst);
            return false;
        }
    }
    uint8_t bytes[8];
    if (access == ACCESS_WRITE) {
        memcpy(bytes, value, 8);
        for (unsigned part = 0; part < 2 && host[part]; part++) {
            unsigned len = part ? size - first : first;
            guest_ram_note_store(h->ram, host[part], len);
            memcpy(host[part], bytes + (part ? first : 0), len);
            if (mmu_reservations_live(h))
                mmu_store_breaks_reservations(h, host[part]);
        }
        return true;
    }
    memcpy(bytes, host[0], first);
    if (first < size)
        memcpy(bytes + first, host[1], size - first);
    *value = 0;
    memcpy(value, bytes, size);
    return true;
}

void mmu_reservations_count(struct hart *h, int delta)
{
    /* A sole hart's are not counted: no other hart's store could break them. */
    if (!h->platform.sole_hart)
        atomic_fetch_add(h->platform.reservations_live, (unsigned)delta);
}

void mmu_code_page_added(struct hart *h, size_t page)
{
    uintptr_t host_page = (uintptr_t)h->ram->host + (page << 12);
    unsigned n = *h->platform.nharts;
    atomic_thread_fence(memory_order_seq_cst); /* the extent before the entries (access_prepare) */
    for (unsigned i = 0; i < n; i++) {
        struct hart *other = h->platform.harts[i];
        for (unsigned t = 0; t < TLB_TABLES; t++) {
            if (!table_in_use(other, t))
                continue;
            struct tlb_entry *table = other->tlb[t].write;
            for (unsigned word = 0; word < TLB_ENTRIES / 64; word++) {
                /* Filled bits may lag behind another hart's fill: its own check covers it. */
                uint64_t bits = __atomic_load_n(&other->tlb[t].filled[ACCESS_WRITE][word], __ATOMIC_RELAXED);
                for (; bits; bits &= bits - 1) {
                    struct tlb_entry *e = &table[64 * word + __builtin_ctzll(bits)];
                    uint64_t tag = __atomic_load_n(&e->tag, __ATOMIC_RELAXED);
                    /* (An empty entry's tag has the flag too.) A refill that changes the
                     * tag meanwhile makes the exchange fail, and checks the extent itself. */
                    if (!(tag & TLB_CODE_PAGE) && tag + __atomic_load_n(&e->addend, __ATOMIC_RELAXED) == host_page)
                        __atomic_compare_exchange_n(&e->tag, &tag, tag | TLB_CODE_PAGE, false, __ATOMIC_RELAXED,
                                                    __ATOMIC_RELAXED);
                }
            }
        }
    }
}

void mmu_store_breaks_reservations(struct hart *h, const void *p)
{
    uint64_t granule = mmu_reservation_granule(h, p);
    unsigned n = *h->platform.nharts;
    atomic_thread_fence(memory_order_seq_cst); /* the store before the reservations' reads */
    for (unsigned i = 0; i < n; i++) {
        struct hart *other = h->platform.harts[i];
        uint64_t r = atomic_load(&other->arch.reservation);
        /* Whoever ends a reservation retracts it from the count (as SC and traps do),
         * or every later store would keep taking the slow path. */
        if (r == granule && atomic_compare_exchange_strong(&other->arch.reservation, &r, ~0ULL)) {
            mmu_reservations_count(h, -1);
            if (atomic_load(&other->wrs_stalled))
                hart_wake_stall(other);
        }
    }
}
