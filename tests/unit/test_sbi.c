/*
 * The built-in SBI's hart state management through the hart's park hook: on a two-hart
 * machine, S-mode code on hart 0 starts hart 1 (which reports its a0/a1 and stops
 * itself), polls its status until it is stopped, starts it again (it sends hart 0 an
 * IPI and stops), suspends itself until that IPI arrives, and powers off.
 */
#include <string.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "machine/machine.h"
#include "rv_encode.h"
#include "unit.h"

#define BASE 0x80000000ULL
#define CODE1 (BASE + 0x1000)            /* hart 1, first start */
#define CODE2 (BASE + 0x1000 + 15 * 4)   /* hart 1, second start: auipc at word 15 */
#define DATA (BASE + 0x2008)             /* results: s0 + 4 (auipc s0 at word 1) */

enum { T0 = 5, T1 = 6, S0 = 8, A0 = 10, A1, A2, A6 = 16, A7 };
#define ECALL 0x00000073u
#define ADDI(rd, rs1, imm) I(imm, rs1, 0, rd, 0x13)
#define ADDIW(rd, rs1, imm) I(imm, rs1, 0, rd, 0x1b)
#define SD(rs2, off, rs1) S(off, rs2, rs1, 3)
/* a7 = an SBI extension ID below 2^31 whose low 12 bits are below 0x800. */
#define EXT(id) U((id) >> 12, A7, 0x37), ADDIW(A7, A7, (id) & 0xfff)
#define HSM 0x48534d
#define IPI 0x735049
#define SRST 0x53525354

/* A two-hart machine with the built-in SBI, hart 0's code at BASE and hart 1's at BASE +
 * 0x1000; NULL (a failed check) when it cannot be made. */
static struct machine *two_harts(const uint32_t *hart0, size_t size0, const uint32_t *hart1, size_t size1,
                                 bool interpret_only)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 2, .firmware = FIRMWARE_BUILTIN_SBI,
                                  .interpret_only = interpret_only };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (m) {
        memcpy(guest_ram_ptr(&m->bus.ram, BASE, size0), hart0, size0);
        memcpy(guest_ram_ptr(&m->bus.ram, BASE + 0x1000, size1), hart1, size1);
    }
    return m;
}

/*
 * A remote sfence.vma by ASID (RFENCE, its whole ASID) reaches a hart running another
 * thread: hart 1, paging in ASID 5, loads FENCED_VA (mapped to OLD_PAGE) and says so;
 * hart 0 remaps it to NEW_PAGE without a fence of its own and fences ASID 5 on hart 1;
 * hart 1's next load must see NEW_PAGE. Code and data sit in a global identity gigapage.
 */
#define ROOT (BASE + 0x10000)            /* three page-table pages */
#define OLD_PAGE (BASE + 0x20000)
#define NEW_PAGE (BASE + 0x21000)
#define FENCED_VA 0x1000ULL
#define RFENCE 0x52464e43
enum { T2 = 7, A3 = 13, A4 = 14 };
#define LD(rd, off, rs1) I(off, rs1, 3, rd, 0x03)

static void test_remote_fence_by_asid(bool interpret_only)
{
    /* s0 = BASE + 0x2004: flag 4(s0), done 12(s0), satp 20(s0), PTE address 28(s0),
     * new PTE 36(s0), hart 1's loads 44(s0) and 52(s0), the fence's error 60(s0). */
    const uint32_t hart0[] = {
        U(1, A1, 0x17),                 /* auipc a1, 1: hart 1's code */
        U(2, S0, 0x17),                 /* auipc s0, 2 */
        LD(A2, 20, S0), ADDI(A0, 0, 1), EXT(HSM), ADDI(A6, 0, 0), ECALL, /* start hart 1 */
        LD(T0, 4, S0), B(-4, 0, T0, 0), /* until it has loaded FENCED_VA */
        LD(T0, 28, S0), LD(T1, 36, S0), SD(T1, 0, T0), /* remap it, no fence */
        ADDI(A0, 0, 2), ADDI(A1, 0, 0), ADDI(A2, 0, 0), ADDI(A3, 0, -1), ADDI(A4, 0, 5),
        U((RFENCE + 0x800) >> 12, A7, 0x37), ADDIW(A7, A7, (RFENCE & 0xfff) - 0x1000),
        ADDI(A6, 0, 2), ECALL,          /* remote sfence.vma_asid: hart 1, all of ASID 5 */
        SD(A0, 60, S0), ADDI(T0, 0, 1), SD(T0, 12, S0),
        LD(T0, 52, S0), B(-4, 0, T0, 0), /* until hart 1 has loaded it again */
        EXT(SRST), ADDI(A6, 0, 0), ADDI(A0, 0, 0), ADDI(A1, 0, 0), ECALL, /* shutdown */
        J(0, 0),
    };
    const uint32_t hart1[] = {
        I(0x180, A1, 1, 0, 0x73),       /* csrw satp, a1 */
        U(1, S0, 0x17),                 /* auipc s0, 1: BASE + 0x2004 */
        U(FENCED_VA >> 12, T0, 0x37), LD(T1, 0, T0), SD(T1, 44, S0),
        ADDI(T2, 0, 1), SD(T2, 4, S0),
        LD(T2, 12, S0), B(-4, 0, T2, 0), /* until hart 0 has fenced */
        LD(T1, 0, T0), SD(T1, 52, S0),
        EXT(HSM), ADDI(A6, 0, 1), ECALL, /* stop */
        J(0, 0),
    };

    struct machine *m = two_harts(hart0, sizeof(hart0), hart1, sizeof(hart1), interpret_only);
    if (!m)
        return;
    uint8_t *ram = guest_ram_ptr(&m->bus.ram, BASE, 0x22000);
    uint64_t *pt = (uint64_t *)(ram + (ROOT - BASE));
    pt[BASE >> 30] = (BASE >> 12) << 10 | 0xef;     /* V R W X G A D */
    pt[0] = ((ROOT + 0x1000) >> 12) << 10 | 1;
    pt[512] = ((ROOT + 0x2000) >> 12) << 10 | 1;
    uint64_t *pte = &pt[1024 + (FENCED_VA >> 12)];
    *pte = (OLD_PAGE >> 12) << 10 | 0x43;           /* V R A, not global */
    uint64_t *data = (uint64_t *)(ram + 0x2008);
    data[2] = 8ULL << 60 | 5ULL << 44 | ROOT >> 12; /* Sv39, ASID 5 */
    data[3] = ROOT + 0x2000 + 8 * (FENCED_VA >> 12);
    data[4] = (NEW_PAGE >> 12) << 10 | 0x43;
    memcpy(ram + (OLD_PAGE - BASE), &(uint64_t){ 0x111 }, 8);
    memcpy(ram + (NEW_PAGE - BASE), &(uint64_t){ 0x222 }, 8);
    sbi_start_hart(m, m->harts[0], BASE, 0);

    CHECK_EQ_U64(machine_run(m), STOP_POWEROFF);
    CHECK_EQ_U64(data[7], 0);           /* the fence: SBI_SUCCESS */
    CHECK_EQ_U64(data[5], 0x111);       /* before it, the old page */
    CHECK_EQ_U64(data[6], 0x222);       /* after it, the new one */
    machine_destroy(m);
}

/*
 * Two harts fence each other at once, ROUNDS times each (remote sfence.vma of
 * everything): a hart waiting for its fence counts as sleeping, so neither waits
 * forever for the other, which waits too. Each sums its fences' errors.
 */
#define ROUNDS 500
#define ADD(rd, rs1, rs2) R(0, rs2, rs1, 0, rd, 0x33)

static void test_mutual_remote_fences(bool interpret_only)
{
    /* Both fence loops: a0 = the other hart's mask, then ROUNDS fences, errors in t1. */
#define FENCE_LOOP(mask)                                                                   \
    ADDI(T2, 0, ROUNDS), ADDI(T1, 0, 0),                                                   \
    ADDI(A0, 0, mask), ADDI(A1, 0, 0), ADDI(A2, 0, 0), ADDI(A3, 0, -1),                    \
    U((RFENCE + 0x800) >> 12, A7, 0x37), ADDIW(A7, A7, (RFENCE & 0xfff) - 0x1000),         \
    ADDI(A6, 0, 1), ECALL, ADD(T1, T1, A0), ADDI(T2, T2, -1), B(-40, 0, T2, 1)
    /* s0 = BASE + 0x2004: hart 1 done 4(s0), hart 0's errors 12(s0), hart 1's 20(s0). */
    const uint32_t hart0[] = {
        U(1, A1, 0x17),                 /* auipc a1, 1: hart 1's code */
        U(2, S0, 0x17),                 /* auipc s0, 2 */
        ADDI(A0, 0, 1), EXT(HSM), ADDI(A6, 0, 0), ECALL, /* start hart 1 */
        FENCE_LOOP(2), SD(T1, 12, S0),
        LD(T0, 4, S0), B(-4, 0, T0, 0), /* until hart 1 is done */
        EXT(SRST), ADDI(A6, 0, 0), ADDI(A0, 0, 0), ADDI(A1, 0, 0), ECALL, /* shutdown */
        J(0, 0),
    };
    const uint32_t hart1[] = {
        ADDI(0, 0, 0),
        U(1, S0, 0x17),                 /* auipc s0, 1: BASE + 0x2004 */
        FENCE_LOOP(1), SD(T1, 20, S0), ADDI(T0, 0, 1), SD(T0, 4, S0),
        J(0, 0),
    };
#undef FENCE_LOOP

    struct machine *m = two_harts(hart0, sizeof(hart0), hart1, sizeof(hart1), interpret_only);
    if (!m)
        return;
    uint8_t *ram = guest_ram_ptr(&m->bus.ram, BASE, 0x3000);
    sbi_start_hart(m, m->harts[0], BASE, 0);

    CHECK_EQ_U64(machine_run(m), STOP_POWEROFF);
    const uint64_t *data = (const uint64_t *)(ram + 0x2008);
    CHECK_EQ_U64(data[0], 1);           /* hart 1 finished its fences */
    CHECK_EQ_U64(data[1], 0);           /* every fence: SBI_SUCCESS */
    CHECK_EQ_U64(data[2], 0);
    machine_destroy(m);
}

int main(void)
{
    alarm(60); /* a hart that never wakes must fail the test, not hang it */
    const uint32_t hart0[] = {
        U(1, A1, 0x17),                 /* 0: auipc a1, 1: CODE1 */
        U(2, S0, 0x17),                 /* 1: auipc s0, 2: DATA */
        ADDI(A0, 0, 1), ADDI(A2, 0, 0x123), EXT(HSM), ADDI(A6, 0, 0), ECALL, /* start hart 1 */
        SD(A0, 4, S0),
        ADDI(A0, 0, 1), ADDI(A6, 0, 2), ECALL,   /* 9: status of hart 1 */
        ADDI(T0, 0, 1), B(-16, T0, A1, 1),        /* until STOPPED (1) */
        SD(A1, 12, S0),
        U(1, A1, 0x17),                 /* 15: auipc a1, 1: CODE2 */
        ADDI(A0, 0, 1), ADDI(A6, 0, 0), ECALL,   /* start hart 1 again */
        ADDI(A0, 0, 0), ADDI(A6, 0, 3), ECALL,   /* retentive suspend */
        SD(A0, 20, S0),
        I(0x144, 0, 2, T1, 0x73),       /* csrr t1, sip */
        SD(T1, 28, S0),
        EXT(SRST), ADDI(A6, 0, 0), ADDI(A0, 0, 0), ADDI(A1, 0, 0), ECALL, /* shutdown */
        J(0, 0),
    };

    const uint32_t hart1_first[] = {
        U(1, S0, 0x17),                 /* auipc s0, 1: BASE + 0x2000 */
        SD(A0, 8 + 32, S0), SD(A1, 8 + 40, S0),
        EXT(HSM), ADDI(A6, 0, 1), ECALL, /* stop */
        J(0, 0),
    };

    const uint32_t hart1_second[] = {
        ADDI(A0, 0, 1), ADDI(A1, 0, 0), EXT(IPI), ADDI(A6, 0, 0), ECALL, /* IPI to hart 0 */
        EXT(HSM), ADDI(A6, 0, 1), ECALL,
        J(0, 0),
    };

    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 2, .firmware = FIRMWARE_BUILTIN_SBI };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    memcpy(guest_ram_ptr(&m->bus.ram, BASE, sizeof(hart0)), hart0, sizeof(hart0));
    memcpy(guest_ram_ptr(&m->bus.ram, CODE1, sizeof(hart1_first)), hart1_first, sizeof(hart1_first));
    memcpy(guest_ram_ptr(&m->bus.ram, CODE2, sizeof(hart1_second)), hart1_second, sizeof(hart1_second));
    sbi_start_hart(m, m->harts[0], BASE, 0);

    CHECK_EQ_U64(machine_run(m), STOP_POWEROFF);
    const uint64_t *data = guest_ram_ptr(&m->bus.ram, DATA, 48);
    CHECK_EQ_U64(data[0], 0);       /* hart_start: SBI_SUCCESS */
    CHECK_EQ_U64(data[1], 1);       /* hart_get_status: STOPPED, after running */
    CHECK_EQ_U64(data[2], 0);       /* hart_suspend returned success... */
    CHECK_EQ_U64(data[3] & 2, 2);   /* ...once hart 1's IPI was pending */
    CHECK_EQ_U64(data[4], 1);       /* hart 1 started with a0 = its hartid */
    CHECK_EQ_U64(data[5], 0x123);   /* and a1 = the opaque argument */
    machine_destroy(m);

    /* With H, S-mode is HS: the guests' ecalls, guest-page faults and virtual
     * instructions are delegated to it; without H those causes stay in M. */
    for (int hypervisor = 0; hypervisor < 2; hypervisor++) {
        cfg.nharts = 1;
        cfg.hypervisor = hypervisor;
        m = machine_create(&cfg, false);
        CHECK(m != NULL);
        if (!m)
            break;
        sbi_start_hart(m, m->harts[0], BASE, 0);
        uint64_t hs_causes = 1u << 10 | 1u << 20 | 1u << 21 | 1u << 22 | 1u << 23;
        CHECK_EQ_U64(m->harts[0]->arch.medeleg & hs_causes, hypervisor ? hs_causes : 0);
        CHECK(m->harts[0]->arch.medeleg & (1u << 8)); /* ecall from U, as before */
        machine_destroy(m);
    }
    test_remote_fence_by_asid(true);
    test_remote_fence_by_asid(false);
    test_mutual_remote_fences(true);
    test_mutual_remote_fences(false);
    UNIT_DONE();
}
