/*
 * Atomics (bare metal, built with tests/baremetal/crt.S): the kinds glibc and the
 * kernel use for locks and reference counts, each in a loop of its own on one hart:
 * amoadd.d (a counter), amoswap.w then amoand.w (a lock taken and released), amomaxu.d,
 * and an lr.d/sc.d increment. Prints each phase's mtime ticks (10 MHz on the virt
 * board), a checksum and minstret.
 */
#include <stdint.h>

#include "report.h"

#define ITERATIONS 2000000

const char test_name[] = "amo-loop";

static volatile uint64_t counter;
static volatile uint32_t lock;

static uint64_t add_loop(void)
{
    uint64_t old = 0;
    for (uint64_t i = 0; i < ITERATIONS; i++)
        __asm__ volatile("amoadd.d %0, %1, (%2)" : "=r"(old) : "r"(i), "r"(&counter) : "memory");
    return old;
}

static uint64_t lock_loop(void)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < ITERATIONS; i++) {
        uint32_t was;
        __asm__ volatile("amoswap.w.aq %0, %1, (%2)" : "=r"(was) : "r"(1), "r"(&lock) : "memory");
        sum += was;
        __asm__ volatile("amoand.w.rl x0, x0, (%0)" : : "r"(&lock) : "memory");
    }
    return sum;
}

static uint64_t max_loop(void)
{
    uint64_t old = 0;
    for (uint64_t i = 0; i < ITERATIONS; i++)
        __asm__ volatile("amomaxu.d %0, %1, (%2)" : "=r"(old) : "r"(i * 3), "r"(&counter) : "memory");
    return old;
}

static uint64_t lr_sc_loop(void)
{
    for (uint64_t i = 0; i < ITERATIONS; i++) {
        uint64_t v, failed;
        __asm__ volatile("1: lr.d %0, (%2)\n"
                         "   addi %0, %0, 1\n"
                         "   sc.d %1, %0, (%2)\n"
                         "   bnez %1, 1b\n"
                         : "=&r"(v), "=&r"(failed)
                         : "r"(&counter)
                         : "memory");
    }
    return counter;
}

static uint64_t phase(const char *name, uint64_t (*loop)(void))
{
    uint64_t start = bench_mtime();
    uint64_t result = loop();
    bench_phase_ticks(name, bench_mtime() - start);
    return result;
}

int main(void)
{
    uint64_t check = phase("amoadd", add_loop);
    check = check * 31 + phase("amoswap-amoand", lock_loop);
    check = check * 31 + phase("amomaxu", max_loop);
    check = check * 31 + phase("lr-sc", lr_sc_loop);
    bench_report(check);
    return 0;
}
