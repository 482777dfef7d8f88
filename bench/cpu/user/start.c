/*
 * A bench/cpu program run in U mode under Sv39 (NAME-user.elf; bench/cpu.sh times
 * lz77-user): M mode maps memory as Linux gives it to a process, drops to U mode into the
 * program's main through the harness's run_in, and prints the checksum that the program's
 * bench_report hands back with an ecall. The map: the image in 4 KiB pages, identity but
 * for its zeroed data (.bss), whose pages ascend on descending physical pages as Linux's
 * page allocator hands out a buffer's pages (what the translator's guessed loads predict
 * in U mode: jit_emit.h); the rest of RAM in 2 MiB pages and the devices (UART, mtime) in
 * a gigapage, identity. Built with BENCH_PROGRAM = the program's source.
 */
#include <stdint.h>

#include "test.h"

#define main bench_program_main
#include BENCH_PROGRAM
#undef main

#define PTE_V 0x01u
#define PTE_R 0x02u
#define PTE_W 0x04u
#define PTE_X 0x08u
#define PTE_U 0x10u
#define PTE_A 0x40u
#define PTE_D 0x80u
#define PTE_USER_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_U | PTE_A | PTE_D)
#define PAGE 4096u
#define MEGAPAGE (1u << 21)
/* The physical pages of .bss, taken downwards from here (above the image's 2 MiB). */
#define BSS_PAGES_TOP (RAM_BASE + 2 * MEGAPAGE)
#define SATP_SV39 (8ull << 60)

extern char __bss_start[], __bss_end[], __image_end[];
/* tests/baremetal/crt.S: runs fn in privilege mode `mode`, returning its a0. */
uint64_t run_in(uint64_t mode, int (*fn)(void));

static uint64_t root[512] __attribute__((aligned(PAGE)));
static uint64_t ram_table[512] __attribute__((aligned(PAGE)));
static uint64_t image_table[512] __attribute__((aligned(PAGE)));

static uint64_t pte(uint64_t pa, unsigned flags)
{
    return pa >> 12 << 10 | flags;
}

int main(void)
{
    uint64_t bss_first = ((uintptr_t)__bss_start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    uint64_t bss_end = (uintptr_t)__bss_end;
    if ((uintptr_t)__image_end - RAM_BASE > MEGAPAGE)
        return 1;
    root[0] = pte(0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    root[RAM_BASE >> 30] = pte((uintptr_t)ram_table, PTE_V);
    ram_table[0] = pte((uintptr_t)image_table, PTE_V);
    for (unsigned k = 1; k < 512; k++)
        ram_table[k] = pte(RAM_BASE + (uint64_t)k * MEGAPAGE, PTE_USER_RWX);
    uint64_t below = BSS_PAGES_TOP;
    for (unsigned k = 0; k < 512; k++) {
        uint64_t va = RAM_BASE + (uint64_t)k * PAGE, pa = va;
        if (va >= bss_first && va < bss_end) {
            below -= PAGE;
            pa = below;
            for (unsigned w = 0; w < PAGE / 8; w++)
                ((volatile uint64_t *)(uintptr_t)pa)[w] = 0;
        }
        image_table[k] = pte(pa, PTE_USER_RWX);
    }
    __asm__ volatile("csrw satp, %0\n\tsfence.vma" : : "r"(SATP_SV39 | (uintptr_t)root >> 12) : "memory");
    bench_print_report(run_in(MODE_U, bench_program_main));
    return 0;
}
