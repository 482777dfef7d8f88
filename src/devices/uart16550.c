/* NS16550A: registers, RX FIFO, interrupt identification, loopback. */
#include "devices/uart16550.h"

#include <pthread.h>
#include <stdlib.h>

enum uart_reg { REG_RBR_THR_DLL, REG_IER_DLM, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_RDI 0x01   /* received data available */
#define IER_THRI 0x02  /* THR empty */
#define IER_RLSI 0x04  /* receiver line status */
#define IER_MSI 0x08   /* modem status */
#define IER_MASK 0x0f  /* upper bits read 0: Linux probes bit 6 to detect XScale UARTs */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80


struct uart {
    pthread_mutex_t *lock;     /* bus->lock */
    struct irq_line irq;
    struct byte_sink output;
    struct uart_state s;
    pthread_cond_t rx_space;   /* waited on with bus->lock */
};

static unsigned rx_capacity(const struct uart *u)
{
    return u->s.fifo_enabled ? UART_RX_FIFO_SIZE : 1; /* 16450 mode holds one byte */
}

static uint8_t lsr(const struct uart *u)
{
    return (u->s.rx_count ? LSR_DR : 0) | (u->s.overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
}

/*
 * Interrupt identification in the datasheet's priority order. Data below the FIFO
 * trigger level is reported as a character timeout at once: input arrives from the
 * host in bursts, so waiting four character times would only add latency.
 */
static uint8_t iir(const struct uart *u)
{
    uint8_t id = IIR_NO_INT;
    if ((u->s.ier & IER_RLSI) && u->s.overrun)
        id = IIR_RLSI;
    else if ((u->s.ier & IER_RDI) && u->s.rx_count)
        id = u->s.fifo_enabled && u->s.rx_count < u->s.rx_trigger ? IIR_TIMEOUT : IIR_RDI;
    else if ((u->s.ier & IER_THRI) && u->s.thr_ipending)
        id = IIR_THRI;
    else if ((u->s.ier & IER_MSI) && (u->s.msr & MSR_DELTAS))
        id = IIR_MSI;
    return id | (u->s.fifo_enabled ? IIR_FIFO_ENABLED : 0);
}

static void update_irq(struct uart *u)
{
    bool level = !(iir(u) & IIR_NO_INT);
    if (level != u->s.irq_level) {
        u->s.irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

static void rx_push(struct uart *u, uint8_t byte)
{
    u->s.rx[(u->s.rx_head + u->s.rx_count) % UART_RX_FIFO_SIZE] = byte;
    u->s.rx_count++;
}

static void rx_clear(struct uart *u)
{
    u->s.rx_head = u->s.rx_count = 0;
    pthread_cond_broadcast(&u->rx_space);
}

/* Modem status lines: in loopback they mirror MCR's outputs, else the host is "connected". */
static void update_msr(struct uart *u)
{
    uint8_t status = MSR_DCD | MSR_DSR | MSR_CTS;
    if (u->s.mcr & MCR_LOOP)
        status = (u->s.mcr & MCR_RTS ? MSR_CTS : 0) | (u->s.mcr & MCR_DTR ? MSR_DSR : 0) |
                 (u->s.mcr & MCR_OUT1 ? MSR_RI : 0) | (u->s.mcr & MCR_OUT2 ? MSR_DCD : 0);
    uint8_t changed = status ^ (u->s.msr & ~MSR_DELTAS);
    uint8_t deltas = (changed & MSR_CTS ? MSR_DCTS : 0) | (changed & MSR_DSR ? MSR_DDSR : 0) |
                     (changed & MSR_DCD ? MSR_DDCD : 0) |
                     ((changed & MSR_RI) && !(status & MSR_RI) ? MSR_TERI : 0);
    u->s.msr = status | (u->s.msr & MSR_DELTAS) | deltas;
}

static void transmit(struct uart *u, uint8_t byte)
{
    if (u->s.mcr & MCR_LOOP) {
        if (u->s.rx_count < rx_capacity(u))
            rx_push(u, byte);
        else
            u->s.overrun = true;
    } else {
        byte_sink_write(&u->output, &byte, 1);
    }
    u->s.thr_ipending = true; /* the byte left at once: THR is empty again */
}

static void write_fcr(struct uart *u, uint8_t v)
{
    static const unsigned triggers[4] = { 1, 4, 8, 14 };
    bool enable = v & FCR_ENABLE;
    if (enable != u->s.fifo_enabled) {
        /* Switching the FIFOs on or off empties them. */
        rx_clear(u);
        u->s.fifo_enabled = enable;
    }
    if (!enable)
        return; /* the other bits only take effect with the FIFOs enabled */
    if (v & FCR_CLEAR_RX)
        rx_clear(u);
    u->s.rx_trigger = triggers[v >> FCR_TRIGGER_SHIFT];
}

static uint64_t uart_read(void *dev, uint64_t off, unsigned size)
{
    struct uart *u = dev;
    uint8_t v = 0;
    (void)size;
    switch (off) {
    case REG_RBR_THR_DLL:
        if (u->s.lcr & LCR_DLAB) {
            v = u->s.dll;
        } else if (u->s.rx_count) {
            v = u->s.rx[u->s.rx_head];
            u->s.rx_head = (u->s.rx_head + 1) % UART_RX_FIFO_SIZE;
            u->s.rx_count--;
            pthread_cond_broadcast(&u->rx_space);
        }
        break;
    case REG_IER_DLM:
        v = u->s.lcr & LCR_DLAB ? u->s.dlm : u->s.ier;
        break;
    case REG_IIR_FCR:
        v = iir(u);
        if ((v & ~IIR_FIFO_ENABLED) == IIR_THRI)
            u->s.thr_ipending = false; /* reading IIR acknowledges THR empty */
        break;
    case REG_LCR:
        v = u->s.lcr;
        break;
    case REG_MCR:
        v = u->s.mcr;
        break;
    case REG_LSR:
        v = lsr(u);
        u->s.overrun = false;
        break;
    case REG_MSR:
        v = u->s.msr;
        u->s.msr &= ~MSR_DELTAS;
        break;
    case REG_SCR:
        v = u->s.scr;
        break;
    default:
        break;
    }
    update_irq(u);
    return v;
}

static void uart_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct uart *u = dev;
    uint8_t v = (uint8_t)value;
    (void)size;
    switch (off) {
    case REG_RBR_THR_DLL:
        if (u->s.lcr & LCR_DLAB)
            u->s.dll = v;
        else
            transmit(u, v);
        break;
    case REG_IER_DLM:
        if (u->s.lcr & LCR_DLAB) {
            u->s.dlm = v;
        } else {
            uint8_t old = u->s.ier;
            u->s.ier = v & IER_MASK;
            /* Enabling THRI while THR is empty (always, here) raises the interrupt. */
            if ((u->s.ier ^ old) & IER_THRI)
                u->s.thr_ipending = u->s.ier & IER_THRI;
        }
        break;
    case REG_IIR_FCR:
        write_fcr(u, v);
        break;
    case REG_LCR:
        u->s.lcr = v;
        break;
    case REG_MCR:
        u->s.mcr = v & MCR_MASK;
        update_msr(u);
        break;
    case REG_SCR:
        u->s.scr = v;
        break;
    default:
        break; /* LSR and MSR are read-only */
    }
    update_irq(u);
}

static const struct mmio_ops uart_ops = { .read = uart_read, .write = uart_write };

size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n)
{
    if (u->s.mcr & MCR_LOOP)
        return 0;
    size_t done = 0;
    while (done < n && u->s.rx_count < rx_capacity(u))
        rx_push(u, buf[done++]);
    update_irq(u);
    return done;
}

void uart_wait_rx_space(struct uart *u, const struct timespec *deadline)
{
    pthread_cond_timedwait(&u->rx_space, u->lock, deadline);
}

void uart_wake_receiver(struct uart *u)
{
    pthread_cond_broadcast(&u->rx_space);
}

/* The registers at power-on: FIFOs off, trigger level 1, modem lines up and unchanged. */
static void power_on_state(struct uart *u)
{
    u->s = (struct uart_state){ .rx_trigger = 1 };
    update_msr(u);
    u->s.msr &= ~MSR_DELTAS; /* the lines were up from the start */
}

void uart_save(const struct uart *u, struct uart_state *s)
{
    *s = u->s;
}

int uart_load(struct uart *u, const struct uart_state *s)
{
    bool trigger_ok = s->rx_trigger == 1 || s->rx_trigger == 4 || s->rx_trigger == 8 ||
                      s->rx_trigger == 14;
    if (s->rx_head >= UART_RX_FIFO_SIZE || s->rx_count > UART_RX_FIFO_SIZE || !trigger_ok ||
        (s->mcr & ~MCR_MASK) || (s->ier & ~IER_MASK))
        return -1;
    u->s = *s;
    irq_line_set(&u->irq, u->s.irq_level);
    pthread_cond_broadcast(&u->rx_space);
    return 0;
}

void uart_reset(struct uart *u)
{
    power_on_state(u);
    irq_line_set(&u->irq, false);
    pthread_cond_broadcast(&u->rx_space);
}

struct uart *uart_create(const struct device_slot *slot, const struct byte_sink *output)
{
    struct uart *u = calloc(1, sizeof(*u));
    if (!u) {
        rvm_error("uart: out of memory");
        return NULL;
    }
    u->lock = &slot->bus->lock;
    u->irq = slot->irq;
    u->output = *output;
    u->s.rx_trigger = 1;
    update_msr(u);
    u->s.msr &= ~MSR_DELTAS; /* the lines were up from the start */
    pthread_cond_init(&u->rx_space, NULL);
    if (device_map(slot, &uart_ops, u) < 0) {
        pthread_cond_destroy(&u->rx_space);
        free(u);
        return NULL;
    }
    return u;
}

void uart_destroy(struct uart *u)
{
    pthread_cond_destroy(&u->rx_space);
    free(u);
}
