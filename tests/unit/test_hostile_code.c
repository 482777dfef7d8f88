/*
 * A guest that executes garbage must only ever see architectural traps: random bytes as
 * code, with random trap vectors and random register values, run through the
 * interpreter and the translator (eager). The host must survive (ASan/UBSan in CI watch
 * every access), the hart must keep retiring or trapping, and its privilege stays valid.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/csr.h"
#include "cpu/hart.h"
#include "cpu/interp.h"
#include "machine/machine.h"
#include "unit.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (16ULL << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void run_garbage(bool translate)
{
    struct machine_config cfg = { .memory_size = RAM_SIZE, .nharts = 1, .firmware = FIRMWARE_NONE,
                                  .interpret_only = !translate, .jit_hot_runs = 1 };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        return;
    struct hart *h = m->harts[0];
    uint64_t *ram = guest_ram_ptr(&m->bus.ram, RAM_BASE, RAM_SIZE);
    for (int round = 0; round < 300; round++) {
        /* Mostly code in the first 64 KiB, so that execution stays in garbage. */
        for (size_t i = 0; i < (64 << 10) / 8; i++)
            ram[i] = rng();
        hart_reset(h, RAM_BASE + (rng() & 0xfffe));
        interp_flush(h);
        for (unsigned r = 1; r < 32; r++)
            h->arch.x[r] = (rng() & 1) ? RAM_BASE + (rng() & (RAM_SIZE - 1)) : rng();
        h->arch.mtvec = RAM_BASE + (rng() & 0xfffc);
        h->arch.mstatus |= MSTATUS_FS;
        uint64_t before = h->arch.instret;
        unsigned traps = 0;
        for (int slice = 0; slice < 50 && !machine_stopping(m); slice++) {
            uint64_t mcause = h->arch.mcause;
            interp_run(h, 2000);
            traps += h->arch.mcause != mcause;
        }
        CHECK(h->arch.priv == PRIV_M || h->arch.priv == PRIV_S || h->arch.priv == PRIV_U);
        CHECK(h->arch.instret > before || traps > 0 || machine_stopping(m));
        if (machine_stopping(m)) {
            /* The garbage hit the test finisher: a new machine for the next rounds. */
            machine_destroy(m);
            m = machine_create(&cfg, false);
            CHECK(m != NULL);
            if (!m)
                return;
            h = m->harts[0];
            ram = guest_ram_ptr(&m->bus.ram, RAM_BASE, RAM_SIZE);
        }
    }
    machine_destroy(m);
}

int main(void)
{
    /* A hart that never returns to its run loop is the failure this test looks for. */
    alarm(120);
    run_garbage(false);
    run_garbage(true);
    UNIT_DONE();
}
