/*
 * Pause and resume of a whole VM (machine_pause/machine_resume) on a three-hart board:
 * hart 0 counts in memory, hart 1 sleeps in wfi, hart 2 stays HSM-stopped. Paused, the
 * counter and mtime stand still and every hart is held; resumed, the count goes on and
 * mtime goes on from where it stood; a stop request ends a paused VM. Run with the
 * interpreter and with every block translated. Then the bus's device-thread gate alone:
 * bus_pause waits for requests in flight, bus_wait_resumed blocks until bus_resume.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cpu/hart.h"
#include "machine/machine.h"
#include "rv_encode.h"
#include "unit.h"

#define BASE 0x80000000ULL
#define IDLE_CODE (BASE + 0x100)
#define COUNTER (BASE + 0x1000)

enum { T0 = 5, S0 = 8 };
#define WFI 0x10500073u

struct runner {
    struct machine *m;
    enum stop_reason why;
};

static void *run_machine(void *arg)
{
    struct runner *r = arg;
    r->why = machine_run(r->m);
    return NULL;
}

static uint64_t counter(struct machine *m)
{
    return __atomic_load_n((uint64_t *)guest_ram_ptr(&m->bus.ram, COUNTER, 8), __ATOMIC_RELAXED);
}

/* Waits up to 10 s for the counter to pass `above`. */
static bool counter_passes(struct machine *m, uint64_t above)
{
    for (int i = 0; i < 10000 && counter(m) <= above; i++)
        usleep(1000);
    return counter(m) > above;
}

static void pause_whole_vm(bool translate)
{
    const uint32_t counting[] = {
        U(1, S0, 0x17),                                  /* auipc s0, 1: COUNTER */
        I(0, S0, 3, T0, 0x03), I(1, T0, 0, T0, 0x13),    /* ld t0, 0(s0); addi t0, t0, 1 */
        S(0, T0, S0, 3), J(-12, 0),                      /* sd t0, 0(s0); j back to ld */
    };
    const uint32_t idle[] = { WFI, J(-4, 0) };
    struct machine_config cfg = { .memory_size = 16 << 20, .nharts = 3,
                                  .firmware = FIRMWARE_BUILTIN_SBI,
                                  .interpret_only = !translate, .jit_hot_runs = 1 };
    struct machine *m = machine_create(&cfg, false);
    CHECK(m != NULL);
    if (!m)
        return;
    memcpy(guest_ram_ptr(&m->bus.ram, BASE, sizeof(counting)), counting, sizeof(counting));
    memcpy(guest_ram_ptr(&m->bus.ram, IDLE_CODE, sizeof(idle)), idle, sizeof(idle));
    sbi_start_hart(m, m->harts[0], BASE, 0);
    sbi_start_hart(m, m->harts[1], IDLE_CODE, 0);

    CHECK(!machine_pause(m));  /* its harts do not run yet */
    struct runner r = { .m = m };
    pthread_t runner;
    CHECK(pthread_create(&runner, NULL, run_machine, &r) == 0);
    CHECK(counter_passes(m, 1000));

    CHECK(machine_pause(m));
    CHECK(machine_paused(m));
    uint64_t count = counter(m), mtime = machine_mtime(m);
    CHECK(hart_hold_requested(m->harts[2]) && atomic_load(&m->harts[2]->parked));
    uint64_t pc = m->harts[0]->arch.pc;
    CHECK(pc >= BASE + 4 && pc <= BASE + 16);  /* between two instructions of the loop */
    CHECK_EQ_U64(m->harts[1]->arch.pc & ~7ULL, IDLE_CODE);
    sleep(1);
    CHECK_EQ_U64(counter(m), count);
    CHECK_EQ_U64(machine_mtime(m), mtime);
    CHECK(machine_pause(m));   /* pausing a paused VM changes nothing */
    CHECK_EQ_U64(counter(m), count);

    machine_resume(m);
    CHECK(!machine_paused(m));
    /* Far less than the second spent paused: time went on from where it stood. */
    CHECK(machine_mtime(m) - mtime < MACHINE_TIMEBASE_HZ / 2);
    CHECK(counter_passes(m, count));
    machine_resume(m);         /* resuming a running VM changes nothing */

    /* A stop request ends a paused VM, and ends the pause with it. */
    CHECK(machine_pause(m));
    machine_request_stop(m, STOP_USER, 0, "test stop");
    struct timespec deadline = timespec_in(CLOCK_REALTIME, 10000000000LL);
    CHECK(pthread_timedjoin_np(runner, NULL, &deadline) == 0);
    CHECK_EQ_U64(r.why, STOP_USER);
    CHECK(!machine_paused(m));
    CHECK(!machine_pause(m));  /* a stopped VM does not pause */
    machine_destroy(m);
}

struct gate_thread {
    struct bus *bus;
    useconds_t delay;
    _Atomic bool done;
};

/* Completes the request taken before it started, after a delay. */
static void *complete_request(void *arg)
{
    struct gate_thread *g = arg;
    usleep(g->delay);
    pthread_mutex_lock(&g->bus->lock);
    atomic_store(&g->done, true);
    bus_request_done(g->bus);
    pthread_mutex_unlock(&g->bus->lock);
    return NULL;
}

/* A device thread touching device state: first waits for the bus to run. */
static void *touch_device(void *arg)
{
    struct gate_thread *g = arg;
    pthread_mutex_lock(&g->bus->lock);
    bus_wait_resumed(g->bus);
    atomic_store(&g->done, true);
    pthread_mutex_unlock(&g->bus->lock);
    return NULL;
}

static void device_gate(void)
{
    struct bus bus;
    bus_init(&bus);
    struct gate_thread request = { .bus = &bus, .delay = 100000 }, device = { .bus = &bus };
    pthread_mutex_lock(&bus.lock);
    bus_request_taken(&bus);
    pthread_mutex_unlock(&bus.lock);
    pthread_t t1, t2;
    CHECK(pthread_create(&t1, NULL, complete_request, &request) == 0);
    bus_pause(&bus);
    CHECK(atomic_load(&request.done));   /* the request in flight completed first */
    CHECK(pthread_create(&t2, NULL, touch_device, &device) == 0);
    usleep(100000);
    CHECK(!atomic_load(&device.done));   /* held at the gate while paused */
    bus_resume(&bus);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(atomic_load(&device.done));
    bus_destroy(&bus);
}

int main(void)
{
    alarm(60); /* a hart or thread that never comes back must fail the test, not hang it */
    pause_whole_vm(false);
    pause_whole_vm(true);
    device_gate();
    UNIT_DONE();
}
