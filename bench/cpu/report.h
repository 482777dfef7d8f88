/*
 * The lines bench/cpu programs print (bench/cpu.sh reads them): the mtime ticks of their
 * phases, then last their checksum and the retired-instruction count (minstret). Bare
 * metal, with tests/baremetal/crt.S; or, with -DBENCH_NATIVE, a host program (no minstret).
 */
#ifndef RACKVM_BENCH_REPORT_H
#define RACKVM_BENCH_REPORT_H

#include <stdint.h>

#ifdef BENCH_NATIVE
/* The same program built for the host (bench/cpu.sh times it beside the emulators): the
 * same lines on stdout, and mtime's 10 MHz ticks from the host's monotonic clock. */
#include <stdio.h>
#include <time.h>

static inline void uart_puts(const char *s)
{
    fputs(s, stdout);
}

static inline void uart_puthex(uint64_t v)
{
    printf("0x%016llx", (unsigned long long)v);
}

static inline void uart_putdec(uint64_t v)
{
    printf("%llu", (unsigned long long)v);
}

static inline uint64_t bench_mtime(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 10000000 + (uint64_t)t.tv_nsec / 100;
}
#else
void uart_puts(const char *s);
void uart_puthex(uint64_t v);
void uart_putdec(uint64_t v);

/* The virt board's mtime: 10 MHz ticks. */
static inline uint64_t bench_mtime(void)
{
    return *(volatile uint64_t *)0x0200bff8;
}
#endif

/* A "phase" line, which bench/cpu.sh prints with the figures: a part's mtime ticks. */
static inline void bench_phase_ticks(const char *name, uint64_t ticks)
{
    uart_puts("phase ");
    uart_puts(name);
    uart_puts(" ticks ");
    uart_putdec(ticks);
    uart_puts("\n");
}

/* The checksum and minstret lines, in M mode (or on the host). */
static inline void bench_print_report(uint64_t checksum)
{
    uart_puts("checksum ");
    uart_puthex(checksum);
    uart_puts("\n");
#ifndef BENCH_NATIVE
    uint64_t instret;
    __asm__ volatile("csrr %0, minstret" : "=r"(instret));
    uart_puts("instret ");
    uart_putdec(instret);
    uart_puts("\n");
#endif
}

#ifdef BENCH_USER
#include "test.h"

/* In U mode (bench/cpu/user/start.c): the checksum goes back to M mode, which prints it;
 * the ecall ends the program's run as its main's return would (the harness's run_in). */
static inline void bench_report(uint64_t checksum)
{
    register uint64_t a0 __asm__("a0") = checksum;
    register uint64_t a7 __asm__("a7") = RUNIN_MAGIC;
    __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
    __builtin_unreachable();
}
#else
static inline void bench_report(uint64_t checksum)
{
    bench_print_report(checksum);
}
#endif

#endif
