/* Shared helpers for every layer: branch hints, bit extraction, wait deadlines, fatal errors. */
#ifndef RACKVM_COMMON_H
#define RACKVM_COMMON_H

#include <stdbool.h>
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

/* The absolute time ns from now on clock, as the timed waits of pthreads take it. */
struct timespec timespec_in(clockid_t clock, int64_t ns);

/* The host's CLOCK_MONOTONIC in nanoseconds. */
uint64_t monotonic_ns(void);

/* Formats a one-line reason into err (when errlen > 0); returns -1, for `return fail(...)`. */
int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "rackvm: <message>" to stderr. */
void rvm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
