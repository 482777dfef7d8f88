/*
 * F, D and Zfh arithmetic (OP-FP and the four fused multiply-add opcodes), and Zfa,
 * IEEE-754 exact: five rounding modes (frm or static rm), accrued fflags, NaN boxing of
 * singles and halves, canonical NaNs, saturating conversions, min/max/fclass per the
 * RISC-V spec.
 * Loads and stores of FP registers live in the interpreter (they need the MMU).
 */
#ifndef RACKVM_FPU_H
#define RACKVM_FPU_H

#include "common.h"

struct hart;

/* fflags bits */
#define FFLAG_NX 0x01
#define FFLAG_UF 0x02
#define FFLAG_OF 0x04
#define FFLAG_DZ 0x08
#define FFLAG_NV 0x10

/*
 * Whether a double (a single) computed by the host's add, sub, mul, div, sqrt or fused
 * multiply-add, rounding to nearest even, is the RISC-V result with no flag but NX: a
 * result whose exponent field lies in [FPU_PLAIN_EXP_LO, FPU_PLAIN_EXP_HI_D (_S)] (finite,
 * at least twice the smallest normal) rules out NaN and infinite operands, overflow,
 * division by zero and underflow, tininess after rounding at the smallest normal
 * included. Once NX has accrued, such a result is all there is to do: fpu_execute's fast
 * path and the translator's inline arithmetic rely on this.
 */
#define FPU_PLAIN_EXP_LO 2
#define FPU_PLAIN_EXP_HI_D 0x7fe
#define FPU_PLAIN_EXP_HI_S 0xfe
static inline bool fpu_plain_double(uint64_t v)
{
    return ((v >> 52) & 0x7ff) - FPU_PLAIN_EXP_LO <= FPU_PLAIN_EXP_HI_D - FPU_PLAIN_EXP_LO;
}
static inline bool fpu_plain_single(uint32_t v)
{
    return ((v >> 23) & 0xff) - FPU_PLAIN_EXP_LO <= FPU_PLAIN_EXP_HI_S - FPU_PLAIN_EXP_LO;
}

/*
 * Executes one instruction with major opcode 0x53 (OP-FP), 0x43 (FMADD), 0x47 (FMSUB),
 * 0x4b (FNMSUB) or 0x4f (FNMADD). The caller has already checked mstatus.FS != Off and
 * marks FS dirty afterwards. Reads/writes h->arch.f[], h->arch.x[] (x0 stays 0),
 * h->arch.fflags, h->arch.frm.
 * Returns false for an illegal encoding (unknown funct, invalid rounding mode either
 * static or dynamic), in which case no state is changed.
 */
bool fpu_execute(struct hart *h, uint32_t insn);

#endif
