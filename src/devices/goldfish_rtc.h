/*
 * Goldfish RTC at the board's window and interrupt line, as Linux's rtc-goldfish uses it:
 *   0x00 TIME_LOW    read: low half of the time in ns and latches the high half;
 *                    write: sets the low half of the time
 *   0x04 TIME_HIGH   read: the latched high half; write: sets the high half
 *   0x08 ALARM_LOW   write: arms the alarm at (ALARM_HIGH << 32 | value) ns
 *   0x0c ALARM_HIGH  high half of the next alarm
 *   0x10 IRQ_ENABLED 1 lets a fired alarm raise the interrupt
 *   0x14 CLEAR_ALARM disarms the alarm
 *   0x18 ALARM_STATUS 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT acknowledges a fired alarm
 * Time is the host wall clock (CLOCK_REALTIME) plus an offset the guest may set.
 * A timer thread fires alarms on time, taking bus->lock.
 */
#ifndef RACKVM_GOLDFISH_RTC_H
#define RACKVM_GOLDFISH_RTC_H

#include "devices/device.h"

#define GOLDFISH_RTC_COMPATIBLE "google,goldfish-rtc"

/* What a snapshot keeps of the RTC. The guest clock stays tied to the host's wall
 * clock by the offset, so a restored guest sees the real time of the restore. */
struct goldfish_rtc_state {
    uint64_t offset;        /* guest time - host wall clock, in ns (mod 2^64) */
    uint64_t alarm;         /* guest time in ns */
    uint32_t time_high;     /* latched by reading TIME_LOW */
    uint8_t alarm_armed;
    uint8_t irq_enabled;
    uint8_t irq_pending;    /* alarm fired, not yet cleared */
    uint8_t reserved;       /* keeps the struct free of padding */
};

struct goldfish_rtc;

/* NULL after printing why. */
struct goldfish_rtc *goldfish_rtc_create(const struct device_slot *slot);
/* Stops the timer thread. Call without bus->lock. */
void goldfish_rtc_destroy(struct goldfish_rtc *r);

/* Snapshot state (caller holds bus->lock). load refuses flags other than 0/1 (-1,
 * nothing changed); load and reset drive the line and re-arm the timer thread. */
void goldfish_rtc_save(const struct goldfish_rtc *r, struct goldfish_rtc_state *s);
int goldfish_rtc_load(struct goldfish_rtc *r, const struct goldfish_rtc_state *s);
void goldfish_rtc_reset(struct goldfish_rtc *r);

#endif
