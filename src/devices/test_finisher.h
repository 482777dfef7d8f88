/*
 * SiFive test device ("finisher"), the virt board's power control. A write of at least
 * 16 bits to offset 0 of
 *   0x5555               powers off
 *   (code << 16)|0x3333  reports failure with code
 *   0x7777               requests a reboot
 * calls the board's finish hook with the request; any other value or offset is ignored;
 * reads return 0.
 */
#ifndef RACKVM_TEST_FINISHER_H
#define RACKVM_TEST_FINISHER_H

#include "devices/device.h"

#define FINISHER_FAIL 0x3333
#define FINISHER_PASS 0x5555
#define FINISHER_RESET 0x7777
#define FINISHER_COMPATIBLE "sifive,test1\0sifive,test0\0syscon"

struct test_finisher_hooks {
    /* request: FINISHER_PASS, FINISHER_FAIL (with code) or FINISHER_RESET. */
    void (*finish)(void *ctx, unsigned request, unsigned code);
    void *ctx;
};

struct test_finisher;

/* NULL after printing why. */
struct test_finisher *test_finisher_create(const struct device_slot *slot,
                                           const struct test_finisher_hooks *hooks);
void test_finisher_destroy(struct test_finisher *t);

#endif
