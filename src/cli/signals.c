/* Host signals for `rackvm run`: a watcher thread turns them into power-button presses and stops. */
#include "cli/signals.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "host/console.h"
#include "machine/machine.h"

/* A stop forced by a signal that has not ended the VM after this long (a hart or device
 * thread stuck in the host) ends the process: a signal must always end rackvm. */
#define FORCED_EXIT_GRACE_S 10

static struct {
    pthread_mutex_t lock;      /* guards m and forced_status against the watcher */
    struct machine *m;
    int forced_status;
    unsigned timeout_s;
    bool hup_is_term;
    int sig_fd, quit_fd;
    pthread_t thread;
    bool running;
    /* The pending power-off request: its signal and when it expires (watcher only). */
    int asked_by;
    struct timespec deadline;
    /* After a forced stop: when the process exits whether or not the VM stopped. */
    bool forced;
    struct timespec exit_deadline;
} w = { .lock = PTHREAD_MUTEX_INITIALIZER, .sig_fd = -1, .quit_fd = -1 };

static int64_t ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* Stops the current machine, and any machine attached later (watcher only). */
static void force_stop(int signo)
{
    if (!w.forced) {
        w.forced = true;
        clock_gettime(CLOCK_MONOTONIC, &w.exit_deadline);
        w.exit_deadline.tv_sec += FORCED_EXIT_GRACE_S;
    }
    pthread_mutex_lock(&w.lock);
    w.forced_status = 128 + signo;
    if (w.m)
        machine_request_stop(w.m, STOP_SIGNAL, w.forced_status, "stopped by a signal");
    pthread_mutex_unlock(&w.lock);
}

static void take_signal(int signo)
{
    if ((signo == SIGHUP && !w.hup_is_term) || signals_forced_status())
        return;
    const char *name = sigabbrev_np(signo);
    if (w.asked_by) {
        rvm_error("second signal (SIG%s): forcing the exit now (status %d)", name, 128 + w.asked_by);
        force_stop(w.asked_by);
        return;
    }
    pthread_mutex_lock(&w.lock);
    bool asked = w.m && w.timeout_s > 0 && machine_press_power_button(w.m);
    pthread_mutex_unlock(&w.lock);
    if (!asked) {
        rvm_error("SIG%s: the guest cannot be asked to power off (%s); stopping it now (status %d)",
                  name, w.timeout_s ? "no power button, no driver for it, or the VM is stuck"
                                    : "--shutdown-timeout 0", 128 + signo);
        force_stop(signo);
        return;
    }
    w.asked_by = signo;
    clock_gettime(CLOCK_MONOTONIC, &w.deadline);
    w.deadline.tv_sec += w.timeout_s;
    rvm_error("SIG%s: pressed the guest's power button; forcing the exit in %u s, or at a "
              "second SIGINT or SIGTERM", name, w.timeout_s);
}

static void *watcher(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd fds[2] = { { .fd = w.sig_fd, .events = POLLIN },
                                 { .fd = w.quit_fd, .events = POLLIN } };
        if (w.forced && ms_until(&w.exit_deadline) <= 0) {
            rvm_error("the VM did not stop within %d s of the forced stop (a thread stuck in "
                      "the host): exiting now (status %d)", FORCED_EXIT_GRACE_S, w.forced_status);
            console_restore_terminal();
            _exit(w.forced_status);
        }
        int64_t left = w.asked_by ? ms_until(&w.deadline) : w.forced ? ms_until(&w.exit_deadline) : -1;
        if (w.asked_by && left <= 0) {
            rvm_error("the guest did not power off within %u s of SIG%s: forcing the exit "
                      "(status %d)", w.timeout_s, sigabbrev_np(w.asked_by), 128 + w.asked_by);
            force_stop(w.asked_by);
            w.asked_by = 0;
            continue;
        }
        if (poll(fds, 2, left > INT32_MAX ? INT32_MAX : (int)left) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        struct signalfd_siginfo si;
        if ((fds[0].revents & POLLIN) && read(w.sig_fd, &si, sizeof(si)) == sizeof(si))
            take_signal((int)si.ssi_signo);
    }
    return NULL;
}

int signals_start(unsigned timeout_s, bool console_is_terminal)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    w.timeout_s = timeout_s;
    w.hup_is_term = console_is_terminal;
    w.sig_fd = signalfd(-1, &set, SFD_CLOEXEC);
    w.quit_fd = eventfd(0, EFD_CLOEXEC);
    if (w.sig_fd < 0 || w.quit_fd < 0) {
        rvm_error("cannot watch for signals: %s", strerror(errno));
        signals_stop();
        return -1;
    }
    int err = pthread_create(&w.thread, NULL, watcher, NULL);
    if (err) {
        rvm_error("cannot start the signal watcher: %s", strerror(err));
        signals_stop();
        return -1;
    }
    w.running = true;
    return 0;
}

void signals_attach(struct machine *m)
{
    pthread_mutex_lock(&w.lock);
    w.m = m;
    /* A stop forced between two machines (a guest reboot) stops the next one too. */
    if (m && w.forced_status)
        machine_request_stop(m, STOP_SIGNAL, w.forced_status, "stopped by a signal");
    pthread_mutex_unlock(&w.lock);
}

int signals_forced_status(void)
{
    pthread_mutex_lock(&w.lock);
    int status = w.forced_status;
    pthread_mutex_unlock(&w.lock);
    return status;
}

void signals_stop(void)
{
    if (w.running) {
        uint64_t one = 1;
        if (write(w.quit_fd, &one, sizeof(one)) == sizeof(one))
            pthread_join(w.thread, NULL);
        w.running = false;
    }
    if (w.sig_fd >= 0)
        close(w.sig_fd);
    if (w.quit_fd >= 0)
        close(w.quit_fd);
    w.sig_fd = w.quit_fd = -1;
}
