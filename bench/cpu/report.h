/*
 * The lines bench/cpu programs print (bench/cpu.sh reads them): the mtime ticks of their
 * phases, then last their checksum and the retired-instruction count (minstret). Bare
 * metal, with tests/baremetal/crt.S.
 */
#ifndef RACKVM_BENCH_REPORT_H
#define RACKVM_BENCH_REPORT_H

#include <stdint.h>

void uart_puts(const char *s);
void uart_puthex(uint64_t v);
void uart_putdec(uint64_t v);

/* The virt board's mtime: 10 MHz ticks. */
static inline uint64_t bench_mtime(void)
{
    return *(volatile uint64_t *)0x0200bff8;
}

/* A "phase" line, which bench/cpu.sh prints with the figures: a part's mtime ticks. */
static inline void bench_phase_ticks(const char *name, uint64_t ticks)
{
    uart_puts("phase ");
    uart_puts(name);
    uart_puts(" ticks ");
    uart_putdec(ticks);
    uart_puts("\n");
}

static inline void bench_report(uint64_t checksum)
{
    uint64_t instret;
    __asm__ volatile("csrr %0, minstret" : "=r"(instret));
    uart_puts("checksum ");
    uart_puthex(checksum);
    uart_puts("\ninstret ");
    uart_putdec(instret);
    uart_puts("\n");
}

#endif
