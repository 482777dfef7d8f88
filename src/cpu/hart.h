/*
 * One RV64GC hart: architectural state, the software TLB and the run loop.
 * Each hart runs on its own host thread (hart_thread). Other threads may only touch a
 * hart through the thread-safe calls below (interrupt lines, timers, kicks).
 * The hart knows nothing of the board it sits in: it reaches it only through the
 * struct hart_platform given at creation (the bus, a time source, the M-mode ecall hook,
 * the other harts) and is told about interrupts through hart_set_irq.
 */
#ifndef RACKVM_HART_H
#define RACKVM_HART_H

#include <pthread.h>
#include <stdatomic.h>

#include "common.h"
#include "memory/bus.h"
#include "memory/guest_ram.h"

struct hart;

/* The most harts a board may have (hart_platform.reservations_live relies on it). */
#define HART_BOARD_MAX 127

enum priv { PRIV_U = 0, PRIV_S = 1, PRIV_M = 3 };

/* mip/mie bits */
#define IRQ_SSI 1
#define IRQ_VSSI 2
#define IRQ_MSI 3
#define IRQ_STI 5
#define IRQ_VSTI 6
#define IRQ_MTI 7
#define IRQ_SEI 9
#define IRQ_VSEI 10
#define IRQ_MEI 11
#define MIP_SSIP (1ULL << IRQ_SSI)
#define MIP_MSIP (1ULL << IRQ_MSI)
#define MIP_STIP (1ULL << IRQ_STI)
#define MIP_MTIP (1ULL << IRQ_MTI)
#define MIP_SEIP (1ULL << IRQ_SEI)
#define MIP_MEIP (1ULL << IRQ_MEI)
#define MIP_VSSIP (1ULL << IRQ_VSSI)
#define MIP_VSTIP (1ULL << IRQ_VSTI)
#define MIP_VSEIP (1ULL << IRQ_VSEI)
#define MIP_VS_MASK (MIP_VSSIP | MIP_VSTIP | MIP_VSEIP)

/* Exception causes */
enum exc_cause {
    EXC_INSN_MISALIGNED = 0,
    EXC_INSN_ACCESS = 1,
    EXC_ILLEGAL_INSN = 2,
    EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4,
    EXC_LOAD_ACCESS = 5,
    EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7,
    EXC_ECALL_U = 8,
    EXC_ECALL_S = 9,
    EXC_ECALL_VS = 10,
    EXC_ECALL_M = 11,
    EXC_INSN_PAGE_FAULT = 12,
    EXC_LOAD_PAGE_FAULT = 13,
    EXC_STORE_PAGE_FAULT = 15,
    EXC_INSN_GUEST_PAGE_FAULT = 20,
    EXC_LOAD_GUEST_PAGE_FAULT = 21,
    EXC_VIRTUAL_INSN = 22,
    EXC_STORE_GUEST_PAGE_FAULT = 23,
};

/* Software TLB: one table per MMU context (see mmu.h), direct-mapped. 1024 entries: with
 * 256, the kernel's own pages evicted each other through a fork/exec loop. */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_CONTEXTS 7 /* U, S, S with SUM, M, then VU, VS, VS with SUM (mmu.h) */

struct tlb_entry {
    uint64_t tag;      /* virtual page number << 12 (| TLB_CODE_PAGE), or ~0 when empty */
    uintptr_t addend;  /* host address = guest virtual address + addend */
};

/*
 * In a write entry's tag: the page holds decoded code. The inline compare of a store
 * then fails, so that only stores to such pages pay for comparing their bytes with the
 * code's (mem_store_hit, the translator's cold path); set when the entry is filled, or
 * by mmu_code_page_added when the page gets code later. Below the page bits and above
 * an access's alignment bits, which the compares keep.
 */
#define TLB_CODE_PAGE 0x800ULL

/*
 * The page walk's upper levels (V=0, one stage), by the 2 MiB region of a virtual
 * address: the deepest table its walk reached through non-leaf PTEs alone, the same for
 * every address of the region (Linux boots on Sv57: five PTE reads per 4 KiB page without
 * it). The spec lets non-leaf PTEs be cached until an sfence.vma of a whole address
 * space; one of a page orders only leaf PTEs, so it keeps them.
 */
#define WALK_CACHE_SIZE 64

struct walk_cache_entry {
    uint64_t region;   /* va >> 21, plus 1 (0: empty) */
    uint64_t table;    /* physical address of the table at level */
    unsigned level;
    bool global;       /* a G bit on the way there */
};

/*
 * Behind each table's TLB_SIZE slots, TLB_VICTIMS more that hold the entries evicted
 * from them, by a hash of their page: a page whose slot another page took is found there
 * by the slow path and swapped back, without a page walk (an idle Linux guest's every
 * tick walked about 19 times for pairs of pages that share a slot). The inline lookups
 * (this file's users and the translator's hit paths) see only the first TLB_SIZE; the
 * translator's slow path uses a victim entry where it lies (jit_x86_64.c's victim_lookup).
 */
#define TLB_VICTIMS 64
#define TLB_ENTRIES (TLB_SIZE + TLB_VICTIMS)

/* One table of the TLB: its entries by access, and which of them (bit i % 64 of word
 * i / 64, by access) may be filled, so that a flush clears only those instead of writing
 * (and evicting the host's caches with) the table whole; and which hold global mappings
 * or bare (M) translations, which a change of address space keeps. */
struct tlb {
    struct tlb_entry read[TLB_ENTRIES], write[TLB_ENTRIES], fetch[TLB_ENTRIES];
    uint64_t filled[3][TLB_ENTRIES / 64];
    uint64_t global[3][TLB_ENTRIES / 64];
    bool nonglobal; /* it may hold non-global entries */
    /* Renewed (from the hart's fetch_epoch_clock, so no two tables share one) whenever
     * entries are dropped from the table, or a page is flushed that the jump cache may
     * have found through it (its fetch entry is here, or fetch_lost): the translator's
     * jump cache (jit_emit.h) keeps a pc's find only while the fetch table and its epoch
     * are the entry's. fetch_lost: since the renewal, a fetch entry was overwritten by
     * another page's (leaving its victim slot). */
    uint64_t fetch_epoch;
    bool fetch_lost;
};

/*
 * The address spaces (satp values) whose U table stays cached while another one runs:
 * in effect a TLB tagged by ASID, without a tag in the entries (so the inline compares
 * stay as they are): a satp write points U's context at the table of the new space,
 * emptying the least recently used space's for it when it has none. The S tables (the
 * kernel's global pages, also under SUM) are shared, their non-global entries dropped
 * at each change. Keyed by the whole satp, so that a root table reused under one ASID
 * finds no entries of the old one; sfence.vma by ASID reaches every space of that ASID.
 */
#define TLB_SPACES 4
/* Tables: one per context (the current space's U table among them), then the other
 * spaces' U tables. */
#define TLB_TABLES (TLB_CONTEXTS + TLB_SPACES - 1)

struct tlb_space {
    uint64_t satp;  /* whose translations its table holds; ~0: none */
    uint64_t used;  /* when it last became current (hart's tlb_space_clock) */
    unsigned table; /* index into tlb[] */
};

/*
 * The G stage's own translations (H extension): guest-physical page to physical page,
 * by access, so that a VS-stage walk (whose every PTE address is guest-physical) and the
 * final step of a V=1 miss need no G-stage walk while hgatp's tables are fenced as they
 * were. An entry is filled only by a walk that allowed its access and set its A/D bits.
 */
#define GTLB_SIZE 256u

struct gtlb_entry {
    uint64_t gpage;      /* guest-physical page number << 12, or ~0 when empty */
    uint64_t page;       /* the physical page it maps to */
};

struct gtlb {
    struct gtlb_entry read[GTLB_SIZE], write[GTLB_SIZE], fetch[GTLB_SIZE];
};

/* The virtual addresses that cached superpage translations of one mode span in one half
 * of the address space (user or kernel): a flush of one page inside it flushes the mode
 * whole (lo > hi: none). */
struct superpage_span {
    uint64_t lo, hi;
};

#define PMP_ENTRIES 16
#define HART_TRIGGERS 2 /* Sdtrig address triggers (trigger.h) */

/* The board's side of a hart: every call may come from the hart's own thread only. */
struct hart_platform_ops {
    /* Guest-visible time (mtime), in ticks of hart_platform.timebase_hz. */
    uint64_t (*time)(void *board);
    /* Whether the VM is stopping: the hart thread then returns. */
    bool (*stopping)(void *board);
    /*
     * An ecall from S-mode that is not delegated, with pc already past it: the board's
     * M-mode services answer it (the built-in SBI). NULL: it traps to M-mode as usual.
     */
    void (*ecall)(void *board, struct hart *h);
    /* A store hit the page of *tohost_addr (the HTIF tohost word lies at pa >> 3). */
    void (*tohost_store)(void *board, uint64_t pa);
    /*
     * The hart is parked (see hart_park): returns when it should run again, having called
     * hart_unpark, or when the VM stops.
     */
    void (*park)(void *board, struct hart *h);
    /*
     * The board asked to hold the hart (hart_hold): called between two instructions,
     * outside translated code and any bus access, with the hart counted as sleeping (so
     * remote fences do not wait for it). Returns once the hart may run on or the VM
     * stops; the hart then serves pending fences before its next instruction.
     */
    void (*held)(void *board, struct hart *h);
};

struct hart_platform {
    const struct hart_platform_ops *ops;
    void *board;                 /* passed to every op */
    struct bus *bus;             /* RAM and MMIO */
    uint64_t timebase_hz;
    const uint64_t *tohost_addr; /* HTIF tohost address, 0 when none; read on each TLB fill */
    /* Every hart of the board (this one included): an LR reservation is broken by a
     * store from any of them. */
    struct hart *const *harts;
    const unsigned *nharts;
    /* LR reservations held by the board's harts: while there are some, every hart's
     * stores look for ones to break. One count for the board, on a cache line of its
     * own: taking or ending a reservation then writes one line that other harts read,
     * not one line per hart (each also written by its hart's run loop). A board has at
     * most HART_BOARD_MAX harts, each holding one reservation at most, so the count,
     * even wrapped below 0 for a moment, is 0 exactly when its low byte is: translated
     * stores read that byte alone. */
    _Atomic unsigned *reservations_live;
    /* The board's only hart: nothing else performs atomic accesses or holds reservations
     * on guest memory (devices make plain stores), so AMOs and LR/SC are plain loads and
     * stores, and reservations are neither counted nor broken by this hart's own stores. */
    bool sole_hart;
};

/* What the board chooses for a hart at creation. */
struct hart_config {
    unsigned id;             /* mhartid */
    bool translate;          /* translate hot blocks to host code when the host can */
    unsigned jit_hot_runs;   /* runs before a block is translated; 0: the default */
    size_t jit_code_size;    /* bytes of translations kept before all are dropped; 0: the default */
    bool trace;              /* every instruction through the reference executor, logged */
    bool hypervisor;         /* the H extension */
    struct hart_platform platform;
};

/*
 * A hart's architectural state: plain data (no host pointers, nothing derived), so that
 * a snapshot can write it as is and a restore can copy it back (then the caches below
 * are dropped: hart_load_state). Three fields are written by other threads: mip
 * (devices raise interrupt lines), mtimecmp (the CLINT) and reservation (another hart's
 * store breaks it). They are lock-free _Atomic uint64_t, with the representation of a
 * uint64_t, so the struct stays copyable; a snapshot reads them once every hart is parked
 * and the devices are quiet (the bus lock held), when nothing writes them any more.
 * Fields come in 8-byte groups, so the struct has no padding to leak or compare.
 */
struct hart_state {
    uint64_t pc;
    uint64_t x[32];
    uint64_t f[32];      /* F/D registers; singles are NaN-boxed */
    enum priv priv;
    unsigned id;         /* mhartid */
    uint64_t instret;

    /* --- CSRs --- */
    uint64_t mstatus;    /* sstatus is a view of it */
    uint32_t fflags, frm;
    uint64_t medeleg, mideleg;
    uint64_t mie;
    _Atomic uint64_t mip;  /* devices set MEIP/SEIP/MSIP from other threads */
    uint64_t mtvec, stvec, mepc, sepc, mcause, scause, mtval, stval;
    uint64_t mscratch, sscratch;
    uint64_t satp;
    uint64_t menvcfg, senvcfg;
    uint64_t mseccfg;    /* Zkr's USEED/SSEED */
    uint32_t mcounteren, scounteren, mcountinhibit;
    uint32_t reservation_size;   /* of the LR below */
    uint64_t pmpcfg[PMP_ENTRIES / 8];  /* pmpcfg0, pmpcfg2 (RV64: even numbers only) */
    uint64_t pmpaddr[PMP_ENTRIES];
    _Atomic uint64_t mtimecmp;   /* written by the CLINT */
    uint64_t stimecmp;           /* Sstc */
    uint64_t cycle_offset;       /* mcycle = instret + offset (writes to mcycle) */
    uint64_t instret_offset;
    /*
     * H extension (hart.hypervisor): virt is V (1 in VS and VU mode); hie and hip are
     * views of mie and mip; hvip holds the VS interrupts the hypervisor injects.
     */
    uint64_t virt;
    uint64_t hstatus, hedeleg, hideleg, hvip, hcounteren, htimedelta, htval, htinst;
    uint64_t hgatp, henvcfg, mtval2, mtinst;
    uint64_t vsstatus, vstvec, vsscratch, vsepc, vscause, vstval, vsatp, vstimecmp;
    /* Sdtrig (trigger.h): tselect indexes tdata1/tdata2 */
    uint64_t tselect, tcontrol;
    uint64_t tdata1[HART_TRIGGERS], tdata2[HART_TRIGGERS];

    /*
     * LR/SC reservation: the guest physical address of the reserved 8-byte granule, or
     * ~0 when none. Another hart's store to the granule clears it; SC also compares
     * memory with the value LR loaded, so a change made any other way makes it fail too.
     */
    _Atomic uint64_t reservation;
    uint64_t reservation_value;
};

/* Guessed translated loads (jit_emit.h) share these many guesses, by block and place. */
#define HART_LOAD_GUESSES 64

/* One guess of a translated load's host page (jit_emit.h): the guess; the mask that,
 * xored into the address, turns it into the guess's index (0 while the pages of the
 * buffer ascend with their host pages, ~0xfff while they descend); and the entry that
 * made the guess, its addend and its addend + 2 * page, which tell a wrong guess's
 * fix-up whether its page ascends or descends from that one. */
struct load_guess {
    uint64_t guess, flip, addend, mirrored_addend;
};

struct hart {
    /* First, so that the translator reaches pc and the registers with short offsets. */
    struct hart_state arch;

    /* --- caches: derived from arch and guest memory, rebuilt on demand --- */
    unsigned mmu_ctx;    /* the context of data accesses: index into ctx_tlb[] */
    struct tlb *ctx_tlb[TLB_CONTEXTS]; /* each context's table now (mmu.c) */
    struct tlb tlb[TLB_TABLES];
    struct tlb_space tlb_spaces[TLB_SPACES];
    unsigned tlb_space;        /* the current one */
    uint64_t tlb_space_clock;  /* counts changes of space, for tlb_space.used */
    uint64_t fetch_epoch_clock; /* the last tlb.fetch_epoch given out */
    struct superpage_span superpages[2][2]; /* by V (VS stage for V=1), by VA bit 63 */
    struct walk_cache_entry walk_cache[WALK_CACHE_SIZE]; /* zero: empty */
    struct gtlb gtlb;            /* with the H extension */
    bool pmp_active;             /* any PMP entry has A != OFF */
    /* Armed triggers (bit i: trigger i) that match execution / loads and stores. */
    unsigned trigger_exec, trigger_access;
    struct guest_ram *ram;        /* platform.bus->ram, for the fast paths */
    struct block_cache *blocks;   /* decoded blocks (interp.c) */
    struct jit *jit;              /* their translations, NULL when interpreting */
    unsigned jit_hot_runs;        /* runs before a block is translated */
    bool jit_fault;               /* set by a translated load/store that trapped */
    void *jit_exit_block;         /* where translated code returned: see jit.h */
    void *jit_exit_site;          /* the chain site of the exit it returned through */
    const void *jit_exit_insn;  /* leave the inner loop at the next check */
    /* Translated loads' guesses of their host page (jit_emit.h's guessed loads): only
     * guesses, checked against the TLB at every use, so nothing needs to empty them. */
    struct load_guess jit_load_guess[HART_LOAD_GUESSES];
    /* Translated accesses that may still use a victim entry where it lies before one goes
     * to the helper, which swaps it into its page's own slot (jit_x86_64.c's
     * victim_lookup): a page evicted by a one-off access is back there within 256. */
    uint8_t jit_victim_countdown;
    /* Idle release (hart.c): wfi sleep within the current window; instret when the
     * hart last entered wfi; whether it is idle: its caches were given back and its
     * blocks are not translated until it is busy again. */
    uint64_t idle_window_start_ns, idle_window_sleep_ns, instret_at_wfi;
    bool idle;

    /* --- thread control and the platform --- */
    atomic_bool exit_request;
    struct hart_platform platform;
    pthread_t thread;
    /* Bumped by every wake-up (hart.c): the hart sleeps (wfi, hart_sleep, a wrs stall)
     * in a futex wait on it that ends if it moved since the hart last looked why to wake. */
    _Atomic uint32_t wake_seq;
    _Atomic bool parked;         /* executes nothing: the platform's park hook runs instead */
    _Atomic bool hold_request;   /* hart_hold: the platform's held hook runs instead */
    _Atomic bool tlb_flush_request; /* remote sfence.vma from another hart: V=0 translations */
    pthread_mutex_t sfence_lock;    /* guards sfence_lo/hi/asid: the pages the requests */
    uint64_t sfence_lo, sfence_hi;  /* name, [lo, hi) merged (lo >= hi: none), and */
    uint64_t sfence_asid;           /* their ASID (or SFENCE_EVERY_ASID) */
    _Atomic bool hfence_request;    /* remote hfence from another hart: V=1 translations */
    _Atomic bool fence_i_request;
    _Atomic bool sleeping;          /* in wfi or stopped: executes nothing until woken */
    /* Bumped when the hart has served fence requests or gone to sleep: the harts waiting
     * for it in hart_await_fence (fence_waiters of them) sleep on it. */
    _Atomic uint32_t fence_seq;
    _Atomic unsigned fence_waiters;
    _Atomic bool wrs_stalled;       /* in hart_wrs_stall: a store breaking its reservation wakes it */
    bool trace;
    bool hypervisor;             /* the H extension (hart_config) */

    /* --- a debugger (cpu/debug.h): NULL and false when none is attached --- */
    struct debug_hart *debug;
    _Atomic bool debug_check;   /* run through debug_run: breakpoints, a step or a halt */
};

/* Sets up a hart (parked, in reset) on the platform in cfg: 0, or -1 when out of memory. */
int hart_init(struct hart *h, const struct hart_config *cfg);
void hart_destroy(struct hart *h);
/* Resets architectural state: M-mode, pc = reset_pc, a0 = hartid. */
void hart_reset(struct hart *h, uint64_t reset_pc);
/*
 * Replaces the architectural state with *s (the hart's own thread, or while it is
 * parked) and rebuilds what is derived from it: TLB context, PMP summary, TLB.
 * Decoded blocks depend on guest memory only and stay.
 */
void hart_load_state(struct hart *h, const struct hart_state *s);

/* Runs until the platform says the VM stops (thread body). */
void *hart_thread(void *hart);

/*
 * A parked hart executes nothing; its thread calls the platform's park hook instead
 * (harts are created parked: HSM stop/start/suspend is the platform's business).
 * hart_park leaves the current run loop at once; both: the hart's own thread, or any
 * thread before the hart threads start.
 */
void hart_park(struct hart *h);
void hart_unpark(struct hart *h);
/*
 * Thread-safe: hart_hold makes the hart stop at its next instruction boundary (a wfi or
 * a park hook's wait ends for it) and call the platform's held hook until hart_release.
 * It is not the guest-visible HSM stop: the board uses it to pause the whole VM.
 */
void hart_hold(struct hart *h);
void hart_release(struct hart *h);
bool hart_hold_requested(const struct hart *h);
/* Sleeps on the hart's own thread until a hart_kick (or the VM stops); fence requests
 * from other harts wait for no sleeping hart. */
void hart_sleep(struct hart *h);

/* Thread-safe: raise/lower the given mip bits and wake the hart if it sleeps in wfi. */
void hart_set_irq(struct hart *h, uint64_t mip_bits, bool level);
/* Thread-safe: wake the hart to re-check timers/interrupts/stop requests. */
void hart_kick(struct hart *h);

/* Flushes this hart's whole TLB (caller: the hart's own thread). */
void hart_tlb_flush(struct hart *h);

/* Raises a synchronous exception: sets up the trap and redirects pc. */
void hart_raise_exception(struct hart *h, uint64_t cause, uint64_t tval);
/*
 * A fault of an access to a guest virtual address tval (H: with V=1, or HLV/HSV): GVA
 * is set; gpa, a guest-page fault's guest physical address, goes to htval/mtval2 (>> 2),
 * tinst to htinst/mtinst.
 */
void hart_raise_guest_fault(struct hart *h, uint64_t cause, uint64_t tval, uint64_t gpa, uint32_t tinst);

/* xRET: restores the privilege and interrupt-enable stack, returns the new pc. */
uint64_t hart_mret(struct hart *h);
uint64_t hart_sret(struct hart *h);

/* Zihintpause's pause: the guest spins until another hart moves, so on a board of more
 * than one hart the host CPU goes to another thread first (that hart's, if it waits). */
void hart_pause(struct hart *h);
/* fence.i: makes this hart's instruction fetches see earlier stores. */
void hart_fence_i(struct hart *h);
void hart_clear_reservation(struct hart *h);
/* A remote sfence.vma's ASID when it names none: global mappings go too. */
#define SFENCE_EVERY_ASID (~0ULL)
/*
 * A remote sfence.vma on h's own thread: drops its V=0 translations of [start, start +
 * size) (all when size is 0 or -1, as the SBI has it), of one ASID's non-global mappings
 * or of every mapping (asid SFENCE_EVERY_ASID).
 */
void hart_sfence(struct hart *h, uint64_t start, uint64_t size, uint64_t asid);
/* Thread-safe: asks h for hart_sfence before it executes again; the caller then kicks
 * it and waits for tlb_flush_request to clear. */
void hart_request_sfence(struct hart *h, uint64_t start, uint64_t size, uint64_t asid);
/* Performs the TLB flushes / fence.i other harts asked of this one (its own thread only). */
void hart_serve_fence_requests(struct hart *h);
/*
 * On self's thread, after asking t for a fence (request: the flag set for it) and kicking
 * it: returns once t has served it or sleeps (then it serves it before its next
 * instruction), or the VM stops; self has then served the fences asked of it meanwhile.
 */
void hart_await_fence(struct hart *self, struct hart *t, const _Atomic bool *request);

/*
 * The interrupt the hart takes next (IRQ_*), or -1: pending and enabled in mie, allowed
 * by the privilege and global enables, M-level before S-level, and within a level in
 * the architectural order MEI, MSI, MTI, SEI, SSI, STI.
 */
int hart_pending_interrupt(const struct hart *h);
/* Takes the interrupt hart_pending_interrupt names, if any (the hart's own thread). */
void hart_take_interrupts(struct hart *h);
/* The timer interrupts' levels brought up to mtime, then hart_take_interrupts: what the
 * run loop does before a slice, for an instruction within one that may have enabled an
 * interrupt or moved a timer (the hart's own thread). */
void hart_check_interrupts(struct hart *h);

/* For the SBI's HSM suspend: whether an enabled interrupt is pending; sleep until one
 * (or a hold request, or the VM stops). */
bool hart_interrupt_pending(const struct hart *h);
void hart_wait_for_interrupt(struct hart *h);

/* How a Zawrs stall (hart_wrs_stall) ended. */
enum wrs_end {
    WRS_RESERVATION_GONE, /* another hart's store broke it, or there was none */
    WRS_INTERRUPT,        /* an interrupt pending and enabled in mie (global enables aside) */
    WRS_KICKED,           /* hart_kick: the run loop has something to serve (fence, hold, stop) */
    WRS_TIME_LIMIT,       /* limit_ns passed with the reservation still held */
};
/*
 * wrs.nto/wrs.sto (own thread): sleeps while the hart's LR reservation holds and no
 * interrupt is pending, at most limit_ns, so that the hart it waits for gets the host
 * CPU. A store that breaks the reservation wakes it (mmu_store_breaks_reservations).
 */
enum wrs_end hart_wrs_stall(struct hart *h, uint64_t limit_ns);
/* Thread-safe: ends h's stall in hart_wrs_stall (its reservation was just broken). */
void hart_wake_stall(struct hart *h);

/* Switches privilege (and V: hart_set_mode), keeping the TLB context in step. */
void hart_set_priv(struct hart *h, enum priv p);
void hart_set_mode(struct hart *h, enum priv p, bool virt);

#endif
