#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct named_thread {
    const char *name;
    void *(*body)(void *);
    void *arg;
};

static void *run_named_thread(void *p)
{
    struct named_thread t = *(struct named_thread *)p;
    free(p);
    pthread_setname_np(pthread_self(), t.name);
    return t.body(t.arg);
}

int thread_start(pthread_t *thread, const char *name, void *(*body)(void *), void *arg)
{
    struct named_thread *t = malloc(sizeof(*t));
    if (!t)
        return ENOMEM;
    *t = (struct named_thread){ .name = name, .body = body, .arg = arg };
    int err = pthread_create(thread, NULL, run_named_thread, t);
    if (err)
        free(t);
    return err;
}

struct timespec timespec_in(clockid_t clock, int64_t ns)
{
    struct timespec t;
    clock_gettime(clock, &t);
    ns += t.tv_nsec;
    t.tv_sec += ns / 1000000000LL;
    t.tv_nsec = ns % 1000000000LL;
    return t;
}

uint64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void rvm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rackvm: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
