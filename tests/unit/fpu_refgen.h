/*
 * Deterministic FP test vectors shared by test_fpu.c (run against fpu_execute) and
 * fpu_refgen_qemu.c (run on a real RISC-V core model to produce fpu_ref_hashes.h).
 * Both sides must derive identical operands, so this file is freestanding C only.
 *
 * Register convention of every generated instruction: FP sources f1, f2, f3, FP
 * destination f4, integer source x11, integer destination x12.
 */
#ifndef RACKVM_FPU_REFGEN_H
#define RACKVM_FPU_REFGEN_H

#include <stdbool.h>
#include <stdint.h>

#define REFGEN_VECTORS_PER_VARIANT 512
#define REFGEN_MAX_VARIANTS 256
#define REFGEN_SENTINEL 0x5a5a5a5a5a5a5a5aULL

struct refgen_variant {
    uint32_t insn;
    uint32_t frm;       /* written to frm before the instruction (matters for rm = 7) */
    bool src_double;    /* format of the FP operands */
};

/* State of one vector: inputs before execution, outputs after. */
struct refgen_io {
    uint64_t f1, f2, f3, f4, x11, x12, frm, fflags;
};

static inline uint64_t refgen_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint32_t refgen_op_fp(unsigned funct5, unsigned fmt, unsigned rs2, unsigned rs1,
                                    unsigned rm, unsigned rd)
{
    return (funct5 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53;
}

static inline uint32_t refgen_fma(unsigned opcode, unsigned fmt, unsigned rm)
{
    return (3u << 27) | (fmt << 25) | (2u << 20) | (1u << 15) | (rm << 12) | (4u << 7) | opcode;
}

static inline unsigned refgen_add(struct refgen_variant *v, unsigned n, uint32_t insn,
                                  uint32_t frm, bool src_double)
{
    v[n].insn = insn;
    v[n].frm = frm;
    v[n].src_double = src_double;
    return n + 1;
}

/* Adds insn (whose rm field is zero) once per static rounding mode and once dynamic. */
static inline unsigned refgen_add_rounded(struct refgen_variant *v, unsigned n, uint32_t insn,
                                          bool src_double)
{
    for (unsigned rm = 0; rm <= 4; rm++)
        n = refgen_add(v, n, insn | (rm << 12), 0, src_double);
    return refgen_add(v, n, insn | (7u << 12), 4, src_double); /* dynamic, frm = RMM */
}

static inline unsigned refgen_variants(struct refgen_variant *v)
{
    unsigned n = 0;
    for (unsigned fmt = 0; fmt <= 1; fmt++) {
        bool d = fmt == 1;
        for (unsigned op = 0; op <= 3; op++) /* fadd fsub fmul fdiv */
            n = refgen_add_rounded(v, n, refgen_op_fp(op, fmt, 2, 1, 0, 4), d);
        n = refgen_add_rounded(v, n, refgen_op_fp(0x0b, fmt, 0, 1, 0, 4), d); /* fsqrt */
        for (unsigned kind = 0; kind <= 3; kind++) {
            n = refgen_add_rounded(v, n, refgen_op_fp(0x18, fmt, kind, 1, 0, 12), d);
            n = refgen_add_rounded(v, n, refgen_op_fp(0x1a, fmt, kind, 11, 0, 4), d);
        }
        /* fcvt.s.d reads a double, fcvt.d.s a single */
        n = refgen_add_rounded(v, n, refgen_op_fp(0x08, fmt, fmt ^ 1, 1, 0, 4), !d);
        for (unsigned opcode = 0x43; opcode <= 0x4f; opcode += 4)
            n = refgen_add_rounded(v, n, refgen_fma(opcode, fmt, 0), d);
        for (unsigned rm = 0; rm <= 2; rm++) {
            n = refgen_add(v, n, refgen_op_fp(0x04, fmt, 2, 1, rm, 4), 0, d);  /* fsgnj */
            n = refgen_add(v, n, refgen_op_fp(0x14, fmt, 2, 1, rm, 12), 0, d); /* compare */
        }
        for (unsigned rm = 0; rm <= 1; rm++) {
            n = refgen_add(v, n, refgen_op_fp(0x05, fmt, 2, 1, rm, 4), 0, d);  /* fmin/fmax */
            n = refgen_add(v, n, refgen_op_fp(0x1c, fmt, 0, 1, rm, 12), 0, d); /* fmv.x, fclass */
        }
        n = refgen_add(v, n, refgen_op_fp(0x1e, fmt, 0, 11, 0, 4), 0, d); /* fmv.f.x */
    }
    return n;
}

/* Raw bits of an FP operand: specials, boundary exponents, short significands (for ties). */
static inline uint64_t refgen_fp_operand(uint64_t *state, bool dbl)
{
    static const uint64_t specials_d[] = {
        0, 0x8000000000000000ULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
        0x7ff8000000000000ULL, 0x7ff0000000000001ULL, 0xfff4000000000123ULL,
        0x0000000000000001ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL,
        0x7fefffffffffffffULL, 0x3ff0000000000000ULL, 0xbff8000000000000ULL,
        0x3fe0000000000000ULL, 0xbfe0000000000000ULL, 0x41e0000000000000ULL,
        0xc1e0000000000000ULL, 0x41f0000000000000ULL, 0x43e0000000000000ULL,
        0xc3e0000000000000ULL, 0x43f0000000000000ULL, 0x41dfffffffc00000ULL,
    };
    static const uint64_t specials_s[] = {
        0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffa00123,
        0x00000001, 0x007fffff, 0x00800000, 0x7f7fffff, 0x3f800000, 0xbfc00000,
        0x3f000000, 0xbf000000, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000,
        0xdf000000, 0x5f800000, 0x4effffff,
    };
    unsigned frac_bits = dbl ? 52 : 23, exp_bits = dbl ? 11 : 8;
    int bias = dbl ? 1023 : 127;
    uint64_t r = refgen_next(state), v;
    unsigned choice = r & 15;
    r >>= 4;
    if (choice < 3) {
        v = dbl ? specials_d[r % (sizeof specials_d / sizeof specials_d[0])]
                : specials_s[r % (sizeof specials_s / sizeof specials_s[0])];
    } else if (choice < 6) {
        v = refgen_next(state);
    } else {
        uint64_t frac = refgen_next(state) & ((1ULL << frac_bits) - 1);
        int exp;
        if (choice < 12)
            exp = bias + (int)(r % 140) - 70; /* around 1, within integer range */
        else if (choice < 14)
            exp = (int)(r % 4);                /* subnormal and smallest normals */
        else
            exp = (2 * bias) - (int)(r % 3);   /* largest finite */
        r >>= 8;
        if (r & 1) /* short significand, so ties and exact results occur */
            frac &= ~((1ULL << ((r >> 1) % frac_bits)) - 1);
        v = ((uint64_t)((r >> 8) & 1) << (frac_bits + exp_bits)) | ((uint64_t)exp << frac_bits) | frac;
    }
    if (dbl)
        return v;
    /* occasionally a single that is not NaN-boxed */
    return (refgen_next(state) & 63) == 0 ? (v & 0xffffffffULL) | 0x12345678ULL << 32
                                          : (v & 0xffffffffULL) | 0xffffffff00000000ULL;
}

static inline uint64_t refgen_int_operand(uint64_t *state)
{
    static const uint64_t specials[] = {
        0, 1, ~0ULL, 0x7fffffff, 0x80000000, 0xffffffff80000000ULL, 0xffffffff,
        0x7fffffffffffffffULL, 0x8000000000000000ULL, (1ULL << 53) + 1, (1ULL << 24) + 1,
        0xfffffffffffff800ULL, 0x00000000ffffff80ULL,
    };
    uint64_t r = refgen_next(state);
    if ((r & 3) == 0)
        return specials[(r >> 2) % (sizeof specials / sizeof specials[0])];
    unsigned width = (unsigned)((r >> 2) % 64) + 1;
    uint64_t v = refgen_next(state);
    return width == 64 ? v : v & ((1ULL << width) - 1);
}

static inline void refgen_inputs(uint64_t *state, const struct refgen_variant *v,
                                 struct refgen_io *io)
{
    io->f1 = refgen_fp_operand(state, v->src_double);
    io->f2 = refgen_fp_operand(state, v->src_double);
    io->f3 = refgen_fp_operand(state, v->src_double);
    io->x11 = refgen_int_operand(state);
    /* Same-magnitude operands make exact cancellation and equality likely. */
    if ((refgen_next(state) & 7) == 0)
        io->f2 = io->f1 ^ (refgen_next(state) & 1 ? (v->src_double ? 1ULL << 63 : 1ULL << 31) : 0);
    io->f4 = REFGEN_SENTINEL;
    io->x12 = REFGEN_SENTINEL;
    io->frm = v->frm;
    io->fflags = 0;
}

static inline uint64_t refgen_hash(uint64_t h, const struct refgen_io *io)
{
    const uint64_t outs[3] = {io->f4, io->x12, io->fflags};
    for (unsigned i = 0; i < 3; i++)
        h = (h ^ outs[i]) * 0x100000001b3ULL + (h >> 29);
    return h;
}

static inline uint64_t refgen_seed(unsigned variant)
{
    return 0x243f6a8885a308d3ULL * (variant + 1);
}

#endif
