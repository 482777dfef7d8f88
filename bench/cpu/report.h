/*
 * The last lines every bench/cpu program prints (bench/cpu.sh reads them): its checksum
 * and the retired-instruction count (minstret). Bare metal, with tests/baremetal/crt.S.
 */
#ifndef RACKVM_BENCH_REPORT_H
#define RACKVM_BENCH_REPORT_H

#include <stdint.h>

void uart_puts(const char *s);
void uart_puthex(uint64_t v);
void uart_putdec(uint64_t v);

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
