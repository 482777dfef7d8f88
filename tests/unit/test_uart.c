/* 16550 UART: registers, DLAB, RX FIFO, LSR/IIR/MSR, loopback, interrupt line via the PLIC. */
#include <string.h>

#include "cpu/hart.h"
#include "devices/plic.h"
#include "devices/uart16550.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

static struct machine *m;

static uint64_t rd(unsigned reg)
{
    uint64_t v = 0xdeadbeef;
    CHECK(bus_mmio_read(&m->bus, VIRT_UART0_BASE + reg, 1, &v));
    return v;
}

static void wr(unsigned reg, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_UART0_BASE + reg, 1, v));
}

static size_t receive(const char *s, size_t n)
{
    pthread_mutex_lock(&m->bus.lock);
    size_t taken = uart_receive(m->uart, (const uint8_t *)s, n);
    pthread_mutex_unlock(&m->bus.lock);
    return taken;
}

/* The UART's PLIC source is enabled for hart 0's M context, so MEIP mirrors its line. */
static bool irq(void)
{
    return atomic_load(&m->harts[0]->arch.mip) & MIP_MEIP;
}

static void test_reset_state_and_scratch(void)
{
    CHECK_EQ_U64(rd(LSR), 0x60);          /* THRE | TEMT */
    CHECK_EQ_U64(rd(IIR), 0x01);
    CHECK_EQ_U64(rd(MSR), 0xb0);          /* DCD | DSR | CTS, no deltas */
    CHECK_EQ_U64(rd(IER), 0);
    wr(SCR, 0x5a);
    CHECK_EQ_U64(rd(SCR), 0x5a);
    wr(IER, 0xff);                        /* bits 4-7 do not exist (Linux's XScale probe) */
    CHECK_EQ_U64(rd(IER), 0x0f);
    wr(IER, 0);
    CHECK(!irq());
}

static void test_dlab(void)
{
    wr(LCR, 0x83);
    wr(DLL, 0x12);
    wr(DLM, 0x34);
    CHECK_EQ_U64(rd(DLL), 0x12);
    CHECK_EQ_U64(rd(DLM), 0x34);
    CHECK_EQ_U64(rd(LCR), 0x83);
    wr(LCR, 0x03);
    CHECK_EQ_U64(rd(IER), 0);             /* DLM is hidden again */
    CHECK_EQ_U64(rd(RBR), 0);             /* empty FIFO, not DLL */
    wr(LCR, 0x80);
    CHECK_EQ_U64(rd(DLL), 0x12);
    wr(LCR, 0x03);
}

static void test_fifo(void)
{
    char in[20];
    for (int i = 0; i < 20; i++)
        in[i] = (char)('a' + i);

    CHECK_EQ_U64(receive(in, 3), 1);      /* FIFOs off: one holding register */
    CHECK_EQ_U64(rd(LSR) & 1, 1);
    CHECK_EQ_U64(rd(RBR), 'a');
    CHECK_EQ_U64(rd(LSR) & 1, 0);

    wr(FCR, 0x01);
    CHECK_EQ_U64(rd(IIR), 0xc1);          /* FIFO-enabled bits, no interrupt */
    CHECK_EQ_U64(receive(in, 20), 16);    /* full FIFO takes no more; nothing dropped */
    CHECK_EQ_U64(receive(in + 16, 4), 0);
    for (int i = 0; i < 16; i++)
        CHECK_EQ_U64(rd(RBR), 'a' + i);
    CHECK_EQ_U64(rd(LSR), 0x60);
    CHECK_EQ_U64(receive(in + 16, 4), 4);
    wr(FCR, 0x03);                        /* clear RX */
    CHECK_EQ_U64(rd(LSR) & 1, 0);
    CHECK_EQ_U64(receive(in, 2), 2);
    wr(FCR, 0x00);                        /* turning the FIFOs off empties them */
    CHECK_EQ_U64(rd(LSR) & 1, 0);
    CHECK_EQ_U64(rd(IIR), 0x01);
}

static void test_rx_interrupt(void)
{
    char in[16];
    memset(in, 'x', sizeof(in));
    wr(FCR, 0xc1);                        /* trigger level 14 */
    wr(IER, 0x01);
    CHECK(!irq());
    CHECK_EQ_U64(receive(in, 2), 2);
    CHECK_EQ_U64(rd(IIR), 0xcc);          /* below the trigger: character timeout */
    CHECK(irq());
    CHECK_EQ_U64(receive(in, 12), 12);
    CHECK_EQ_U64(rd(IIR), 0xc4);          /* at the trigger: data available */
    for (int i = 0; i < 14; i++)
        rd(RBR);
    CHECK_EQ_U64(rd(IIR), 0xc1);
    CHECK(!irq());
    wr(IER, 0);
}

static void test_thre_interrupt(void)
{
    wr(IER, 0x02);                        /* enabling THRI with THR empty interrupts at once */
    CHECK_EQ_U64(rd(IIR), 0xc2);
    CHECK(!irq());                        /* that IIR read acknowledged it */
    CHECK_EQ_U64(rd(IIR), 0xc1);
    wr(THR, 'q');                         /* sent at once: THR empty again */
    CHECK(irq());
    CHECK_EQ_U64(rd(LSR), 0x60);

    CHECK_EQ_U64(receive("r", 1), 1);     /* received data outranks THR empty */
    wr(IER, 0x03);
    CHECK_EQ_U64(rd(IIR), 0xcc);
    CHECK_EQ_U64(rd(RBR), 'r');
    CHECK_EQ_U64(rd(IIR), 0xc2);
    CHECK_EQ_U64(rd(IIR), 0xc1);

    wr(THR, 's');
    wr(IER, 0x00);                        /* disabling THRI drops the request */
    CHECK(!irq());
    wr(IER, 0x02);
    CHECK(irq());
    wr(IER, 0x00);
    CHECK(!irq());
}

static void test_loopback(void)
{
    wr(FCR, 0x00);
    wr(MCR, 0x10 | 0x0a);                 /* loop, OUT2, RTS: Linux expects MSR 0x90 */
    CHECK_EQ_U64(rd(MSR) & 0xf0, 0x90);
    wr(MCR, 0x1f);
    CHECK_EQ_U64(rd(MSR), 0xf0 | 0x02);   /* DSR rose (DDSR); RI rising is no TERI */
    CHECK_EQ_U64(rd(MSR), 0xf0);          /* reading clears the deltas */

    CHECK_EQ_U64(receive("z", 1), 0);     /* the line is disconnected in loopback */
    wr(THR, 'L');
    CHECK_EQ_U64(rd(LSR), 0x61);
    CHECK_EQ_U64(rd(RBR), 'L');

    wr(IER, 0x04);                        /* line status: overrun */
    wr(THR, '1');
    wr(THR, '2');                         /* FIFOs off: the second byte overruns */
    CHECK(irq());
    CHECK_EQ_U64(rd(IIR), 0x06);
    CHECK_EQ_U64(rd(LSR), 0x63);          /* DR | OE, THRE | TEMT */
    CHECK_EQ_U64(rd(LSR), 0x61);          /* OE clears on read */
    CHECK(!irq());
    CHECK_EQ_U64(rd(RBR), '1');

    wr(IER, 0x08);                        /* modem status */
    wr(MCR, 0x10);                        /* all outputs drop: deltas (RI falling: TERI) */
    CHECK(irq());
    CHECK_EQ_U64(rd(IIR), 0x00);
    CHECK_EQ_U64(rd(MSR), 0x0f);
    CHECK(!irq());
    wr(IER, 0);
    wr(MCR, 0x00);
    CHECK_EQ_U64(rd(MSR) & 0xf0, 0xb0);
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    CHECK(bus_mmio_write(&m->bus, VIRT_PLIC_BASE + 4 * VIRT_IRQ_UART0, 4, 1));
    CHECK(bus_mmio_write(&m->bus, VIRT_PLIC_BASE + 0x2000, 4, 1u << VIRT_IRQ_UART0));

    test_reset_state_and_scratch();
    test_dlab();
    test_fifo();
    test_rx_interrupt();
    test_thre_interrupt();
    test_loopback();

    machine_destroy(m);
    UNIT_DONE();
}
