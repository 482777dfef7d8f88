/*
 * SiFive CLINT (ACLINT MSWI + MTIMER) of the virt board at VIRT_CLINT_BASE:
 *   0x0000 + 4*hart  msip: bit 0 drives the hart's MSIP
 *   0x4000 + 8*hart  mtimecmp: stored in the hart's mtimecmp; the hart compares it
 *                    against mtime itself (this device never touches MTIP)
 *   0xbff8           mtime: machine_mtime(); writes are ignored (see clint.c)
 * 4- and 8-byte accesses, including either 4-byte half of the 64-bit registers.
 * Create it after the harts (it needs m->nharts).
 */
#ifndef RACKVM_CLINT_H
#define RACKVM_CLINT_H

struct machine;
struct clint;
struct fdt_board;

struct clint *clint_create(struct machine *m);
void clint_destroy(struct clint *c);

/* Writes /soc/clint@2000000. Returns 0 or a negative libfdt error. */
int clint_fdt(struct clint *c, void *fdt, const struct fdt_board *b);

#endif
