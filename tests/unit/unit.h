/* Minimal unit-test harness: CHECK records a failure and goes on; main returns failures. */
#ifndef RACKVM_UNIT_H
#define RACKVM_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            unit_failures++;                                                            \
        }                                                                               \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                              \
    do {                                                                                \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                \
        if (a_ != b_) {                                                                 \
            fprintf(stderr, "%s:%d: %s == 0x%" PRIx64 ", expected %s == 0x%" PRIx64 "\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_);                                \
            unit_failures++;                                                            \
        }                                                                               \
    } while (0)

/* String a equals the expected b; both are shown when not. */
#define CHECK_STREQ(a, b)                                                               \
    do {                                                                                \
        const char *a_ = (a), *b_ = (b);                                                \
        if (strcmp(a_, b_) != 0) {                                                      \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, \
                    #a, a_, b_);                                                        \
            unit_failures++;                                                            \
        }                                                                               \
    } while (0)

#define UNIT_DONE()                                                                     \
    do {                                                                                \
        if (unit_failures)                                                              \
            fprintf(stderr, "%d check(s) failed\n", unit_failures);                     \
        return unit_failures ? 1 : 0;                                                   \
    } while (0)

#endif
