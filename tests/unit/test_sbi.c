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
    UNIT_DONE();
}
