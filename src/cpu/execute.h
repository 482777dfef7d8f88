/*
 * The reference executor: one instruction, fully decoded from its bits, with every
 * architectural check. The block engine (interp.c) runs the common integer and memory
 * instructions itself and hands everything else here; --trace runs everything here.
 */
#ifndef RACKVM_EXECUTE_H
#define RACKVM_EXECUTE_H

#include "cpu/decode.h"
#include "cpu/hart.h"

enum exec_result {
    EXEC_NEXT,              /* retired; pc advanced */
    EXEC_TRAPPED,           /* took an exception (pc at the handler) or a hypercall */
    EXEC_CHECK_IRQ_AFTER,   /* retired; interrupts or translation may have changed */
    EXEC_WFI_AFTER,         /* retired a wfi */
};

/* insn: the 32-bit form (compressed ones expanded), raw: the bits as fetched, len: 2 or 4. */
enum exec_result exec_one(struct hart *h, uint32_t insn, uint32_t raw, unsigned len);

/* The bits as fetched of a decoded OP_SLOW or OP_FP instruction of a block: a compressed
 * one keeps its 16 bits in rd/rs1, for an illegal-instruction tval. */
static inline uint32_t dinsn_raw(const struct dinsn *d)
{
    return d->len == 2 ? (uint32_t)d->rd | (uint32_t)d->rs1 << 8 : (uint32_t)d->imm;
}

/* Runs the decoded OP_SLOW instruction d at h->arch.pc (block engine and translator). */
static inline enum exec_result exec_slow(struct hart *h, const struct dinsn *d)
{
    return exec_one(h, (uint32_t)d->imm, dinsn_raw(d), d->len);
}

/*
 * Runs the F/D/Zfh load, store or arithmetic instruction insn (OP_FP) at h->arch.pc,
 * leaving pc and instret to the caller; false when it trapped (an illegal instruction,
 * FS off included, or a load/store exception): pc is then at the handler.
 */
bool exec_fp(struct hart *h, uint32_t insn, uint32_t raw);

#endif
