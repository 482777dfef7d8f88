/*
 * A bare-metal program for gdb to debug (tests/integration/test_gdb.py), built with
 * tests/baremetal/crt.S and run with --firmware none. It calls bump() ten times, then
 * prints "MAGIC-CHANGED" if a debugger changed `magic`, and "GDB-TARGET-DONE"; main
 * returning ends the VM with status 0 through the test finisher.
 */
#include <stdint.h>

void uart_puts(const char *s);

const char test_name[] = "gdb-target";

volatile uint64_t counter;
volatile uint64_t magic = 0x1122334455667788ULL;

__attribute__((noinline)) uint64_t bump(uint64_t by)
{
    counter += by;
    return counter;
}

int main(void)
{
    for (uint64_t i = 1; i <= 10; i++)
        bump(i);
    if (magic != 0x1122334455667788ULL)
        uart_puts("MAGIC-CHANGED\n");
    uart_puts("GDB-TARGET-DONE\n");
    return 0;
}
