/*
 * NS16550A UART (byte registers, regshift 0) at the board's window, on the board's
 * interrupt line. Registers: RBR/THR, IER, IIR/FCR, LCR (DLAB
 * exposes DLL/DLM), MCR (loopback), LSR, MSR, SCR. The 16-byte RX FIFO and the
 * interrupt sources (line status, received data / character timeout, THR empty, modem
 * status) follow the 16550 datasheet as Linux's 8250 and OpenSBI's uart8250 use them.
 * Transmission is instant: a THR write goes to the output sink the board gave (the
 * host console) and THR is empty again at once. State is under bus->lock.
 */
#ifndef RACKVM_UART16550_H
#define RACKVM_UART16550_H

#include <time.h>

#include "devices/device.h"

#define UART_CLOCK_HZ 3686400
#define UART_COMPATIBLE "ns16550a"

#define UART_RX_FIFO_SIZE 16

/* What a snapshot keeps of the UART: registers, RX FIFO and interrupt level. */
struct uart_state {
    uint8_t rx[UART_RX_FIFO_SIZE];
    uint32_t rx_head, rx_count;
    uint32_t rx_trigger;       /* FIFO level that raises "received data available" */
    uint8_t fifo_enabled;
    uint8_t thr_ipending;      /* THR-empty event not yet acknowledged */
    uint8_t overrun;           /* LSR OE, until LSR is read */
    uint8_t irq_level;         /* level last given to the line */
    uint8_t ier, lcr, mcr, msr, scr, dll, dlm;
    uint8_t reserved;          /* keeps the struct free of padding */
};

struct uart;

/* NULL after printing why. */
struct uart *uart_create(const struct device_slot *slot, const struct byte_sink *output);
void uart_destroy(struct uart *u);

/* Snapshot state (caller holds bus->lock). load checks *s (-1: impossible register
 * values, nothing changed) and drives the interrupt line to the saved level; reset
 * returns to the power-on state with the line low. */
void uart_save(const struct uart *u, struct uart_state *s);
int uart_load(struct uart *u, const struct uart_state *s);
void uart_reset(struct uart *u);

/*
 * Queues received bytes in the RX FIFO and returns how many fit (0 when the FIFO is
 * full, or in loopback mode where the line is disconnected). Never drops bytes: the
 * caller keeps the rest and retries. Caller holds bus->lock.
 */
size_t uart_receive(struct uart *u, const uint8_t *buf, size_t n);

/*
 * Waits (releasing bus->lock meanwhile) until the guest takes a byte from the RX FIFO,
 * the deadline (CLOCK_REALTIME) passes, or uart_wake_receiver is called.
 * Caller holds bus->lock.
 */
void uart_wait_rx_space(struct uart *u, const struct timespec *deadline);
/* Ends every uart_wait_rx_space now. Caller holds bus->lock. */
void uart_wake_receiver(struct uart *u);

#endif
