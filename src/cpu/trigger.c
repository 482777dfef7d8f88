#include "cpu/trigger.h"

#include "cpu/mmu.h"

#define TYPE_SHIFT 60
#define TYPE_MCONTROL 2ULL
#define TYPE_MCONTROL6 6ULL
/* Fields mcontrol and mcontrol6 share at the same places. */
#define MC_LOAD (1ULL << 0)
#define MC_STORE (1ULL << 1)
#define MC_EXECUTE (1ULL << 2)
#define MC_U (1ULL << 3)
#define MC_S (1ULL << 4)
#define MC_M (1ULL << 6)
#define MC6_VU (1ULL << 23) /* mcontrol6 only, with H */
#define MC6_VS (1ULL << 24)
#define MC_MATCH_SHIFT 7
#define MC_MATCH_MASK (15ULL << MC_MATCH_SHIFT)
#define MC_MODES (MC_M | MC_S | MC_U | MC6_VS | MC6_VU)
#define MATCH_EQUAL 0
#define MATCH_GE 2
#define MATCH_LT 3
/* tinfo: version 1 (Sdtrig 1.0), types 2 and 6. */
#define TINFO_VALUE (1ULL << 24 | 1ULL << TYPE_MCONTROL | 1ULL << TYPE_MCONTROL6)

void trigger_reset(struct hart_state *s)
{
    s->tselect = 0;
    for (unsigned i = 0; i < HART_TRIGGERS; i++) {
        s->tdata1[i] = TYPE_MCONTROL << TYPE_SHIFT;
        s->tdata2[i] = 0;
    }
    /* M-mode triggers fire from reset, as on QEMU: M-mode programs that never heard of
     * tcontrol (riscv-tests' rv64mi-breakpoint) get their breakpoints. */
    s->tcontrol = TCONTROL_MTE;
}

void trigger_update(struct hart *h)
{
    unsigned exec = 0, access = 0;
    if (h->arch.tselect >= HART_TRIGGERS) /* a loaded state is not trusted to index */
        h->arch.tselect = 0;
    for (unsigned i = 0; i < HART_TRIGGERS; i++) {
        uint64_t t = h->arch.tdata1[i];
        if (!(t & MC_MODES))
            continue;
        if (t & MC_EXECUTE)
            exec |= 1u << i;
        if (t & (MC_LOAD | MC_STORE))
            access |= 1u << i;
    }
    h->trigger_exec = exec;
    /* Loads and stores cached in the TLB would bypass the check. */
    if (access && !h->trigger_access)
        hart_tlb_flush(h);
    h->trigger_access = access;
}

/*
 * WARL: types other than mcontrol6 become mcontrol (as on QEMU 7.2), matches other than
 * equal/ge/lt become equal, and the fields of features not implemented (Debug Mode,
 * actions but the breakpoint, data matching, sizes, chains, timing after) read zero.
 */
static uint64_t legal_tdata1(const struct hart *h, uint64_t v)
{
    uint64_t type = v >> TYPE_SHIFT == TYPE_MCONTROL6 ? TYPE_MCONTROL6 : TYPE_MCONTROL;
    uint64_t match = (v & MC_MATCH_MASK) >> MC_MATCH_SHIFT;
    if (match != MATCH_GE && match != MATCH_LT)
        match = MATCH_EQUAL;
    /* VS and VU mode bits exist in mcontrol6, with H only: mcontrol never matches in V=1 */
    uint64_t modes = MC_M | MC_S | MC_U | (type == TYPE_MCONTROL6 && h->hypervisor ? MC6_VS | MC6_VU : 0);
    return type << TYPE_SHIFT | match << MC_MATCH_SHIFT | (v & (modes | MC_EXECUTE | MC_STORE | MC_LOAD));
}

uint64_t trigger_csr_read(const struct hart *h, unsigned csr)
{
    switch (csr) {
    case CSR_TSELECT: return h->arch.tselect;
    case CSR_TDATA1: return h->arch.tdata1[h->arch.tselect];
    case CSR_TDATA2: return h->arch.tdata2[h->arch.tselect];
    case CSR_TINFO: return TINFO_VALUE;
    case CSR_TCONTROL: return h->arch.tcontrol;
    default: return 0; /* tdata3: no textra matching */
    }
}

void trigger_csr_write(struct hart *h, unsigned csr, uint64_t value)
{
    switch (csr) {
    case CSR_TSELECT:
        if (value < HART_TRIGGERS) /* a trigger that does not exist: tselect keeps its value */
            h->arch.tselect = value;
        break;
    case CSR_TDATA1:
        h->arch.tdata1[h->arch.tselect] = legal_tdata1(h, value);
        trigger_update(h);
        break;
    case CSR_TDATA2: h->arch.tdata2[h->arch.tselect] = value; break;
    case CSR_TCONTROL: h->arch.tcontrol = value & (TCONTROL_MTE | TCONTROL_MPTE); break;
    default: break; /* tdata3, tinfo: writes ignored */
    }
}

static bool mode_enabled(const struct hart *h, uint64_t tdata1)
{
    if (h->arch.virt)
        return tdata1 & (h->arch.priv == PRIV_S ? MC6_VS : MC6_VU);
    switch (h->arch.priv) {
    case PRIV_M: return (tdata1 & MC_M) && (h->arch.tcontrol & TCONTROL_MTE);
    case PRIV_S: return tdata1 & MC_S;
    default: return tdata1 & MC_U;
    }
}

/* Equal matches any byte of the access; ge and lt compare its lowest address. */
static bool address_matches(uint64_t tdata1, uint64_t tdata2, uint64_t address, unsigned size)
{
    switch ((tdata1 & MC_MATCH_MASK) >> MC_MATCH_SHIFT) {
    case MATCH_GE: return address >= tdata2;
    case MATCH_LT: return address < tdata2;
    default: return tdata2 - address < size;
    }
}

static bool fires(struct hart *h, unsigned armed, uint64_t kinds, uint64_t address, unsigned size)
{
    for (unsigned i = 0; i < HART_TRIGGERS; i++) {
        uint64_t t = h->arch.tdata1[i];
        if (((armed >> i) & 1) && (t & kinds) && mode_enabled(h, t) &&
            address_matches(t, h->arch.tdata2[i], address, size)) {
            hart_raise_exception(h, EXC_BREAKPOINT, address);
            return true;
        }
    }
    return false;
}

bool trigger_fires_at_pc(struct hart *h)
{
    return fires(h, h->trigger_exec, MC_EXECUTE, h->arch.pc, 1);
}

bool trigger_fires_on_access(struct hart *h, uint64_t va, unsigned size, bool load, bool store)
{
    return fires(h, h->trigger_access, (load ? MC_LOAD : 0) | (store ? MC_STORE : 0), va, size);
}
