/*
 * The reference executor: one instruction, fully decoded from its bits, with every
 * architectural check. The block engine (interp.c) runs the common integer and memory
 * instructions itself and hands everything else here; --trace runs everything here.
 */
#ifndef RACKVM_EXECUTE_H
#define RACKVM_EXECUTE_H

#include "cpu/hart.h"

enum exec_result {
    EXEC_NEXT,              /* retired; pc advanced */
    EXEC_TRAPPED,           /* took an exception (pc at the handler) or a hypercall */
    EXEC_CHECK_IRQ_AFTER,   /* retired; interrupts or translation may have changed */
    EXEC_WFI_AFTER,         /* retired a wfi */
};

/* insn: the 32-bit form (compressed ones expanded), raw: the bits as fetched, len: 2 or 4. */
enum exec_result exec_one(struct hart *h, uint32_t insn, uint32_t raw, unsigned len);

#endif
