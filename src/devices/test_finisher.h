/*
 * SiFive test device ("finisher") at VIRT_TEST_BASE, the virt board's power control.
 * A 32-bit write to offset 0 of
 *   0x5555               powers off   (STOP_POWEROFF, code 0)
 *   (code << 16)|0x3333  reports failure with code (STOP_FAIL)
 *   0x7777               requests a reboot (STOP_REBOOT)
 * Any other value or offset is ignored; reads return 0.
 */
#ifndef RACKVM_TEST_FINISHER_H
#define RACKVM_TEST_FINISHER_H

struct machine;
struct test_finisher;
struct fdt_board;

struct test_finisher *test_finisher_create(struct machine *m);
void test_finisher_destroy(struct test_finisher *t);

/* Writes /soc/test@100000 (labelled with b->test_phandle). */
int test_finisher_fdt(struct test_finisher *t, void *fdt, const struct fdt_board *b);
/* Writes the root-level /poweroff and /reboot syscon nodes that drive it. */
int test_finisher_fdt_syscon(struct test_finisher *t, void *fdt, const struct fdt_board *b);

#endif
