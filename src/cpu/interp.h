/*
 * The interpreter: executes about budget instructions of one hart, returning early when
 * something needs the run loop's attention (exit_request, an interrupt the sstatus write
 * of a block's instruction enabled, wfi). Exceptions are taken inside, and so are the
 * interrupts a block's last instruction enabled; the run loop takes the others.
 */
#ifndef RACKVM_INTERP_H
#define RACKVM_INTERP_H

#include "cpu/hart.h"

enum exec_exit { EXEC_BUDGET, EXEC_CHECK_IRQ, EXEC_WFI };

enum exec_exit interp_run(struct hart *h, uint64_t budget);
/* Exactly one instruction, through the reference executor (a debugger's step). */
enum exec_exit interp_run_one(struct hart *h);

/*
 * Each hart's code buffer, reserved whole and touched as filled: when it is full every
 * translation is dropped at once (as QEMU flushes its TB cache) and hot blocks are
 * translated afresh. A Linux boot to poweroff writes about 34 MB of translations (26K
 * blocks: 32 MiB filled at its very end and 10K were translated again), the 1-hart
 * bench/guest-work.sh run 41 MB in all; 128 MiB holds such a working set several
 * times over. An idle hart gives the pages back (interp_release).
 */
#define INTERP_CODE_SIZE_DEFAULT ((size_t)128 << 20)

/*
 * The hart's decoded-block cache, with translation to host code when translate is set
 * and the host has a translator, of blocks that ran hot_runs times (0: a default), into
 * a code buffer of code_size bytes (0: INTERP_CODE_SIZE_DEFAULT): allocate (0, or -1
 * when out of memory), free, drop all.
 */
int interp_init(struct hart *h, bool translate, unsigned hot_runs, size_t code_size);
void interp_destroy(struct hart *h);
void interp_flush(struct hart *h);
/* interp_flush and every translation dropped, their memory given back to the host (an
 * idle hart's: tens of MiB that the next busy spell fills again as it needs). */
void interp_release(struct hart *h);

#endif
