/* Shared helpers for every layer: branch hints, bit extraction, hex digits, wait deadlines, fatal
 * errors. */
#ifndef RACKVM_COMMON_H
#define RACKVM_COMMON_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Bits [hi:lo] of x, shifted down. */
static inline uint64_t bits(uint64_t x, unsigned hi, unsigned lo)
{
    return (x >> lo) & ((hi - lo == 63) ? ~0ULL : ((1ULL << (hi - lo + 1)) - 1));
}

static inline int64_t sign_extend(uint64_t x, unsigned width)
{
    unsigned shift = 64 - width;
    return (int64_t)(x << shift) >> shift;
}

/* The value of hexadecimal digit c (either case), or -1 when c is not one. */
static inline int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * pthread_create of a thread that first names itself (name: at most 15 bytes, kept by
 * the caller). Naming another thread opens /proc/self/task/N/comm, which the sandbox
 * forbids once a VM runs; a thread naming itself is one prctl. 0 or an errno value.
 */
int thread_start(pthread_t *thread, const char *name, void *(*body)(void *), void *arg);

/* The absolute time ns from now on clock, as the timed waits of pthreads take it. */
struct timespec timespec_in(clockid_t clock, int64_t ns);

/* The host's CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

/* Formats a one-line reason into err (when errlen > 0); returns -1, for `return fail(...)`. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "rackvm: <message>" to stderr. */
void rvm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A file the run opened once and keeps open until it ends (kept), so that a guest reboot
 * reads it again without an open call: a sandboxed VM may neither call open nor, as the
 * user it dropped to, have the right to open the file. Not kept: open the path.
 */
struct kept_file {
    bool kept;
    int fd;
};
static inline int kept_fd(const struct kept_file *f)
{
    return f->kept ? f->fd : -1;
}

#endif
