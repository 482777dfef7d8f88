/*
 * Code and data on one page (bare metal, built with tests/baremetal/crt.S): the same
 * counting loop run twice, once storing to a word 256 bytes past its own code, in the
 * same 4 KiB page, once storing to a word on a data page. A translator that treats
 * every store to a page holding translated code as a possible code change slows the
 * first down; self-modifying-code checks should not. Prints each phase's mtime ticks
 * (10 MHz on the virt board), a checksum and minstret.
 */
#include <stdint.h>

#include "report.h"

#define ITERATIONS 3000000

const char test_name[] = "code-data";

/* a0 = iterations, a1 = the counter's address; returns the counter. Same code twice. */
#define COUNT_LOOP(name)          \
    ".globl " name "\n"           \
    name ":\n"                    \
    "1: ld t1, 0(a1)\n"           \
    "   addi t1, t1, 3\n"         \
    "   xor t2, t1, a0\n"         \
    "   add t1, t1, t2\n"         \
    "   srli t1, t1, 1\n"         \
    "   sd t1, 0(a1)\n"           \
    "   addi a0, a0, -1\n"        \
    "   bnez a0, 1b\n"            \
    "   ld a0, 0(a1)\n"           \
    "   ret\n"
__asm__(".pushsection .text.codedata, \"ax\", @progbits\n"
        ".balign 4096\n"
        COUNT_LOOP("count_shared")
        ".balign 256\n"
        ".globl shared_counter\n"
        "shared_counter: .dword 0\n"
        ".balign 4096\n"
        ".popsection\n"
        ".text\n"
        COUNT_LOOP("count_apart"));

uint64_t count_shared(uint64_t iterations, volatile uint64_t *counter);
uint64_t count_apart(uint64_t iterations, volatile uint64_t *counter);
extern volatile uint64_t shared_counter;
static volatile uint64_t apart_counter;

static uint64_t phase(const char *name, uint64_t (*loop)(uint64_t, volatile uint64_t *),
                      volatile uint64_t *counter)
{
    uint64_t start = bench_mtime();
    uint64_t result = loop(ITERATIONS, counter);
    bench_phase_ticks(name, bench_mtime() - start);
    return result;
}

int main(void)
{
    uint64_t check = phase("same-page", count_shared, &shared_counter);
    check ^= phase("separate-page", count_apart, &apart_counter) << 1;
    bench_report(check);
    return 0;
}
