/* Goldfish RTC: wall-clock time in ns with a settable offset, one alarm, one interrupt. */
#include "devices/goldfish_rtc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define RTC_TIME_LOW 0x00
#define RTC_TIME_HIGH 0x04
#define RTC_ALARM_LOW 0x08
#define RTC_ALARM_HIGH 0x0c
#define RTC_IRQ_ENABLED 0x10
#define RTC_CLEAR_ALARM 0x14
#define RTC_ALARM_STATUS 0x18
#define RTC_CLEAR_INTERRUPT 0x1c

#define NS_PER_SEC 1000000000ULL

struct goldfish_rtc {
    struct bus *bus;        /* its lock guards the state; paused while the VM is */
    struct irq_line irq;
    struct goldfish_rtc_state s;
    bool stopping;
    uint64_t thread_due;    /* host ns the timer thread sleeps until; UINT64_MAX: none */
    pthread_t thread;
    pthread_cond_t changed; /* waited on with bus->lock by the timer thread */
};

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t guest_ns(const struct goldfish_rtc *r)
{
    return host_ns() + r->s.offset;
}

static void update_irq(struct goldfish_rtc *r)
{
    irq_line_set(&r->irq, r->s.irq_pending && r->s.irq_enabled);
}

/* Fires the alarm if it is due. Caller holds bus->lock. */
static void check_alarm(struct goldfish_rtc *r)
{
    if (r->s.alarm_armed && guest_ns(r) >= r->s.alarm) {
        r->s.alarm_armed = false;
        r->s.irq_pending = true;
        update_irq(r);
    }
}

static void *timer_thread(void *arg)
{
    struct goldfish_rtc *r = arg;
    pthread_mutex_t *lock = &r->bus->lock;
    pthread_mutex_lock(lock);
    while (!r->stopping) {
        bus_wait_resumed(r->bus);  /* a due alarm fires on resume, not while paused */
        check_alarm(r);
        if (r->s.alarm_armed) {
            /* The deadline is on the host's realtime clock, so clock steps are honoured. */
            uint64_t due = r->s.alarm - r->s.offset;
            struct timespec deadline = { .tv_sec = (time_t)(due / NS_PER_SEC),
                                         .tv_nsec = (long)(due % NS_PER_SEC) };
            r->thread_due = due;
            pthread_cond_timedwait(&r->changed, lock, &deadline);
        } else {
            r->thread_due = UINT64_MAX;
            pthread_cond_wait(&r->changed, lock);
        }
    }
    pthread_mutex_unlock(lock);
    return NULL;
}

static uint64_t rtc_read(void *dev, uint64_t off, unsigned size)
{
    struct goldfish_rtc *r = dev;
    (void)size;
    switch (off) {
    case RTC_TIME_LOW: {
        uint64_t now = guest_ns(r);
        r->s.time_high = (uint32_t)(now >> 32);
        return (uint32_t)now;
    }
    case RTC_TIME_HIGH:
        return r->s.time_high;
    case RTC_ALARM_LOW:
        return (uint32_t)r->s.alarm;
    case RTC_ALARM_HIGH:
        return (uint32_t)(r->s.alarm >> 32);
    case RTC_IRQ_ENABLED:
        return r->s.irq_enabled;
    case RTC_ALARM_STATUS:
        return r->s.alarm_armed;
    default:
        return 0;
    }
}

/* Replaces one 32-bit half of the guest time, keeping the other. */
static void set_time_half(struct goldfish_rtc *r, unsigned shift, uint32_t value)
{
    uint64_t now = guest_ns(r);
    uint64_t wanted = (now & ~(0xffffffffULL << shift)) | ((uint64_t)value << shift);
    r->s.offset += wanted - now;
}

static void rtc_write(void *dev, uint64_t off, uint64_t value, unsigned size)
{
    struct goldfish_rtc *r = dev;
    uint32_t v = (uint32_t)value;
    (void)size;
    switch (off) {
    case RTC_TIME_LOW:
        set_time_half(r, 0, v);
        break;
    case RTC_TIME_HIGH:
        set_time_half(r, 32, v);
        break;
    case RTC_ALARM_LOW:
        r->s.alarm = (r->s.alarm & ~0xffffffffULL) | v;
        r->s.alarm_armed = true;
        check_alarm(r);
        break;
    case RTC_ALARM_HIGH:
        r->s.alarm = (r->s.alarm & 0xffffffffULL) | (uint64_t)v << 32;
        break;
    case RTC_IRQ_ENABLED:
        r->s.irq_enabled = v & 1;
        update_irq(r);
        break;
    case RTC_CLEAR_ALARM:
        r->s.alarm_armed = false;
        break;
    case RTC_CLEAR_INTERRUPT:
        r->s.irq_pending = false;
        update_irq(r);
        break;
    default:
        return;
    }
    /* Only an alarm due before the thread would wake anyway needs it: register storms
     * then cost the thread nothing. */
    if (r->s.alarm_armed && r->s.alarm - r->s.offset < r->thread_due)
        pthread_cond_signal(&r->changed);
}

static const struct mmio_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

void goldfish_rtc_save(const struct goldfish_rtc *r, struct goldfish_rtc_state *s)
{
    *s = r->s;
}

/* The timer thread re-reads the alarm; the line follows the new state. */
static void state_changed(struct goldfish_rtc *r)
{
    update_irq(r);
    pthread_cond_signal(&r->changed);
}

int goldfish_rtc_load(struct goldfish_rtc *r, const struct goldfish_rtc_state *s)
{
    if (s->alarm_armed > 1 || s->irq_enabled > 1 || s->irq_pending > 1 || s->reserved)
        return -1;
    r->s = *s;
    state_changed(r);
    return 0;
}

void goldfish_rtc_reset(struct goldfish_rtc *r)
{
    r->s = (struct goldfish_rtc_state){ 0 };
    state_changed(r);
}

struct goldfish_rtc *goldfish_rtc_create(const struct device_slot *slot)
{
    struct goldfish_rtc *r = calloc(1, sizeof(*r));
    if (!r) {
        rvm_error("rtc: out of memory");
        return NULL;
    }
    r->thread_due = UINT64_MAX;
    r->bus = slot->bus;
    r->irq = slot->irq;
    pthread_cond_init(&r->changed, NULL);
    int err = thread_start(&r->thread, "rtc", timer_thread, r);
    if (err) {
        rvm_error("rtc: cannot start timer thread: %s", strerror(err));
        pthread_cond_destroy(&r->changed);
        free(r);
        return NULL;
    }
    if (device_map(slot, &rtc_ops, r) < 0) {
        goldfish_rtc_destroy(r);
        return NULL;
    }
    return r;
}

void goldfish_rtc_destroy(struct goldfish_rtc *r)
{
    pthread_mutex_lock(&r->bus->lock);
    r->stopping = true;
    pthread_cond_signal(&r->changed);
    pthread_mutex_unlock(&r->bus->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->changed);
    free(r);
}
