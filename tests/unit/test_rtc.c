/* Goldfish RTC: wall-clock time, settable time, alarms that really fire their interrupt. */
#include <time.h>

#include "cpu/hart.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "machine/machine.h"
#include "machine/virt.h"
#include "unit.h"

enum { TIME_LOW = 0x00, TIME_HIGH = 0x04, ALARM_LOW = 0x08, ALARM_HIGH = 0x0c,
       IRQ_ENABLED = 0x10, CLEAR_ALARM = 0x14, ALARM_STATUS = 0x18, CLEAR_INTERRUPT = 0x1c };

#define MS 1000000ULL

static struct machine *m;

static uint64_t rd(unsigned reg)
{
    uint64_t v = 0xdeadbeef;
    CHECK(bus_mmio_read(&m->bus, VIRT_RTC_BASE + reg, 4, &v));
    return v;
}

static void wr(unsigned reg, uint64_t v)
{
    CHECK(bus_mmio_write(&m->bus, VIRT_RTC_BASE + reg, 4, v));
}

static uint64_t rtc_now(void)
{
    uint64_t low = rd(TIME_LOW);
    return rd(TIME_HIGH) << 32 | low;
}

static uint64_t host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };
    nanosleep(&t, NULL);
}

static bool irq(void)
{
    return atomic_load(&m->harts[0]->arch.mip) & MIP_MEIP;
}

static void arm(uint64_t at)
{
    wr(ALARM_HIGH, at >> 32);
    wr(ALARM_LOW, (uint32_t)at);
}

static void test_time(void)
{
    uint64_t host = host_now(), rtc = rtc_now();
    CHECK(rtc >= host && rtc - host < 1000 * MS);

    uint64_t set = 0x0000001234000000ULL;  /* high half first, as Linux writes it */
    wr(TIME_HIGH, set >> 32);
    wr(TIME_LOW, (uint32_t)set);
    rtc = rtc_now();
    CHECK(rtc >= set && rtc - set < 1000 * MS);
    sleep_ms(20);
    CHECK(rtc_now() - rtc >= 20 * MS);     /* it keeps running from there */
}

static void test_alarm_fires(void)
{
    wr(IRQ_ENABLED, 1);
    CHECK_EQ_U64(rd(IRQ_ENABLED), 1);
    uint64_t at = rtc_now() + 30 * MS;
    arm(at);
    CHECK_EQ_U64(rd(ALARM_STATUS), 1);
    CHECK_EQ_U64(rd(ALARM_LOW), (uint32_t)at);
    CHECK_EQ_U64(rd(ALARM_HIGH), at >> 32);
    CHECK(!irq());
    int waited = 0;
    while (!irq() && waited < 2000) {
        sleep_ms(1);
        waited++;
    }
    CHECK(irq());
    CHECK(rtc_now() >= at);                /* not early */
    CHECK_EQ_U64(rd(ALARM_STATUS), 0);
    wr(CLEAR_INTERRUPT, 0);
    CHECK(!irq());
}

static void test_alarm_in_the_past(void)
{
    arm(rtc_now() - 1000 * MS);
    CHECK(irq());
    CHECK_EQ_U64(rd(ALARM_STATUS), 0);
    wr(IRQ_ENABLED, 0);                    /* masked: the line drops, the event stays */
    CHECK(!irq());
    wr(IRQ_ENABLED, 1);
    CHECK(irq());
    wr(CLEAR_INTERRUPT, 0);
    CHECK(!irq());
}

static void test_clear_alarm(void)
{
    arm(rtc_now() + 20 * MS);
    wr(CLEAR_ALARM, 1);
    CHECK_EQ_U64(rd(ALARM_STATUS), 0);
    sleep_ms(60);
    CHECK(!irq());
}

int main(void)
{
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 1 };
    m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        UNIT_DONE();
    CHECK(bus_mmio_write(&m->bus, VIRT_PLIC_BASE + 4 * VIRT_IRQ_RTC, 4, 1));
    CHECK(bus_mmio_write(&m->bus, VIRT_PLIC_BASE + 0x2000, 4, 1u << VIRT_IRQ_RTC));

    test_time();
    test_alarm_fires();
    test_alarm_in_the_past();
    test_clear_alarm();

    machine_destroy(m);
    UNIT_DONE();
}
