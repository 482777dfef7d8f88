/*
 * Two pages 4 MiB apart, used in turn (bare metal, built with tests/baremetal/crt.S):
 * they share a slot of a 1024-entry direct-mapped TLB, as a process's heap and stack or
 * mmap regions do when ASLR places them so. Each pass loads and stores a word of each
 * page; a TLB whose entries evict each other pays its slow path on every access. Prints
 * the loop's mtime ticks (10 MHz on the virt board), a checksum and minstret.
 */
#include <stdint.h>

#include "report.h"

#define PASSES 4000000
#define APART (4u << 20)
#define WORDS (4096 / 8)

const char test_name[] = "tlb-alias";

static uint64_t area[(APART + 4096) / 8] __attribute__((aligned(4096)));

int main(void)
{
    volatile uint64_t *a = area, *b = area + APART / 8;
    uint64_t sum = 0, start = bench_mtime();
    for (uint64_t pass = 0; pass < PASSES; pass++) {
        unsigned i = (unsigned)pass % WORDS;
        sum += a[i] ^ pass;
        sum += b[i];
        a[i] = sum;
        b[i] = sum >> 3;
    }
    bench_phase_ticks("alternating", bench_mtime() - start);
    bench_report(sum);
    return 0;
}
