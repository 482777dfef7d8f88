/*
 * F/D arithmetic: hand-picked corner cases (rounding, flags, NaN boxing, conversions,
 * fused multiply-add) plus a differential check of ~120k generated vectors against
 * hashes recorded from QEMU's RISC-V FPU (fpu_refgen.h, fpu_ref_hashes.h).
 * Run with --dump to print every generated vector's results (see fpu_ref_regen.sh).
 */
#include <string.h>

#include "cpu/fpu.h"
#include "cpu/hart.h"
#include "fpu_refgen.h"
#include "fpu_ref_hashes.h"
#include "unit.h"

enum { FMT_S = 0, FMT_D = 1 };
enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4, DYN = 7 };
enum {
    FADD = 0x00, FSUB = 0x01, FMUL = 0x02, FDIV = 0x03, FSGNJ = 0x04, FMINMAX = 0x05,
    FCVT_FF = 0x08, FSQRT = 0x0b, FCMP = 0x14, FCVT_INT_F = 0x18, FCVT_F_INT = 0x1a,
    FMV_X_F = 0x1c, FMV_F_X = 0x1e,
};
enum { FMADD = 0x43, FMSUB = 0x47, FNMSUB = 0x4b, FNMADD = 0x4f };
enum { CVT_W, CVT_WU, CVT_L, CVT_LU };

#define BOX(x) (0xffffffff00000000ULL | (uint32_t)(x))
#define S_CANON 0xffffffff7fc00000ULL
#define D_CANON 0x7ff8000000000000ULL
#define S_ONE 0x3f800000u
#define D_ONE 0x3ff0000000000000ULL

static struct hart h;

static void reset(void)
{
    memset(&h, 0, sizeof h);
}

static uint32_t op_fp(unsigned funct5, unsigned fmt, unsigned rs2, unsigned rs1, unsigned rm,
                      unsigned rd)
{
    return (funct5 << 27) | (fmt << 25) | (rs2 << 20) | (rs1 << 15) | (rm << 12) | (rd << 7) | 0x53;
}

static uint32_t fma_insn(unsigned opcode, unsigned fmt, unsigned rm)
{
    return (3u << 27) | (fmt << 25) | (2u << 20) | (1u << 15) | (rm << 12) | (4u << 7) | opcode;
}

/* f4 = f1 op f2 (or op f1) with the given rounding mode; returns f4. */
static uint64_t binop(unsigned funct5, unsigned fmt, unsigned rm, uint64_t a, uint64_t b)
{
    /* fsqrt and fcvt between formats use rs2 as an opcode field. */
    unsigned rs2 = funct5 == FSQRT ? 0 : funct5 == FCVT_FF ? fmt ^ 1 : 2;
    h.arch.f[1] = a;
    h.arch.f[2] = b;
    CHECK(fpu_execute(&h, op_fp(funct5, fmt, rs2, 1, rm, 4)));
    return h.arch.f[4];
}

/* Same with fflags cleared first; *flags receives the flags raised. */
static uint64_t binop_flags(unsigned funct5, unsigned fmt, unsigned rm, uint64_t a, uint64_t b,
                            uint32_t *flags)
{
    h.arch.fflags = 0;
    uint64_t r = binop(funct5, fmt, rm, a, b);
    *flags = h.arch.fflags;
    return r;
}

static uint64_t to_int(unsigned fmt, unsigned kind, unsigned rm, uint64_t a, uint32_t *flags)
{
    h.arch.f[1] = a;
    h.arch.fflags = 0;
    h.arch.x[12] = 0;
    CHECK(fpu_execute(&h, op_fp(FCVT_INT_F, fmt, kind, 1, rm, 12)));
    *flags = h.arch.fflags;
    return h.arch.x[12];
}

static uint64_t from_int(unsigned fmt, unsigned kind, unsigned rm, uint64_t x, uint32_t *flags)
{
    h.arch.x[11] = x;
    h.arch.fflags = 0;
    CHECK(fpu_execute(&h, op_fp(FCVT_F_INT, fmt, kind, 11, rm, 4)));
    *flags = h.arch.fflags;
    return h.arch.f[4];
}

static uint64_t fused(unsigned opcode, unsigned fmt, unsigned rm, uint64_t a, uint64_t b,
                      uint64_t c, uint32_t *flags)
{
    h.arch.f[1] = a;
    h.arch.f[2] = b;
    h.arch.f[3] = c;
    h.arch.fflags = 0;
    CHECK(fpu_execute(&h, fma_insn(opcode, fmt, rm)));
    *flags = h.arch.fflags;
    return h.arch.f[4];
}

static void test_rounding_modes(void)
{
    static const struct {
        unsigned rm;
        uint32_t third, minus_third;
    } div_cases[] = {
        {RNE, 0x3eaaaaab, 0xbeaaaaab}, {RTZ, 0x3eaaaaaa, 0xbeaaaaaa},
        {RDN, 0x3eaaaaaa, 0xbeaaaaab}, {RUP, 0x3eaaaaab, 0xbeaaaaaa},
        {RMM, 0x3eaaaaab, 0xbeaaaaab},
    };
    uint32_t fl;
    reset();
    for (unsigned i = 0; i < ARRAY_SIZE(div_cases); i++) {
        CHECK_EQ_U64(binop_flags(FDIV, FMT_S, div_cases[i].rm, BOX(S_ONE), BOX(0x40400000), &fl),
                     BOX(div_cases[i].third));
        CHECK_EQ_U64(fl, FFLAG_NX);
        CHECK_EQ_U64(binop(FDIV, FMT_S, div_cases[i].rm, BOX(0xbf800000), BOX(0x40400000)),
                     BOX(div_cases[i].minus_third));
    }

    /* 1 + 2^-24 is a tie between 1 and 1 + 2^-23: RNE keeps the even 1, RMM goes away. */
    static const struct {
        unsigned rm;
        uint32_t pos, neg;
    } tie_cases[] = {
        {RNE, 0x3f800000, 0xbf800000}, {RTZ, 0x3f800000, 0xbf800000},
        {RDN, 0x3f800000, 0xbf800001}, {RUP, 0x3f800001, 0xbf800000},
        {RMM, 0x3f800001, 0xbf800001},
    };
    for (unsigned i = 0; i < ARRAY_SIZE(tie_cases); i++) {
        CHECK_EQ_U64(binop_flags(FADD, FMT_S, tie_cases[i].rm, BOX(S_ONE), BOX(0x33800000), &fl),
                     BOX(tie_cases[i].pos));
        CHECK_EQ_U64(fl, FFLAG_NX);
        CHECK_EQ_U64(binop(FSUB, FMT_S, tie_cases[i].rm, BOX(0xbf800000), BOX(0x33800000)),
                     BOX(tie_cases[i].neg));
    }
    /* A tie next to an odd significand: RNE and RMM agree on rounding up. */
    CHECK_EQ_U64(binop(FADD, FMT_S, RNE, BOX(0x3f800001), BOX(0x33800000)), BOX(0x3f800002));
    CHECK_EQ_U64(binop(FADD, FMT_S, RMM, BOX(0x3f800001), BOX(0x33800000)), BOX(0x3f800002));

    /* The same for doubles: 1 + 2^-53. */
    CHECK_EQ_U64(binop(FADD, FMT_D, RNE, D_ONE, 0x3ca0000000000000ULL), D_ONE);
    CHECK_EQ_U64(binop(FADD, FMT_D, RMM, D_ONE, 0x3ca0000000000000ULL), D_ONE + 1);
    CHECK_EQ_U64(binop(FADD, FMT_D, RUP, D_ONE, 0x3ca0000000000000ULL), D_ONE + 1);
    CHECK_EQ_U64(binop(FADD, FMT_D, RTZ, D_ONE, 0x3ca0000000000000ULL), D_ONE);

    /* Dynamic rounding takes frm. */
    h.arch.frm = RMM;
    CHECK_EQ_U64(binop(FADD, FMT_D, DYN, D_ONE, 0x3ca0000000000000ULL), D_ONE + 1);
    h.arch.frm = RNE;
    CHECK_EQ_U64(binop(FADD, FMT_D, DYN, D_ONE, 0x3ca0000000000000ULL), D_ONE);
    h.arch.frm = RDN;
    CHECK_EQ_U64(binop(FDIV, FMT_S, DYN, BOX(0xbf800000), BOX(0x40400000)), BOX(0xbeaaaaab));

    /* sqrt(2) in double: RNE/RUP/RMM round up, RTZ/RDN down. */
    CHECK_EQ_U64(binop(FSQRT, FMT_D, RNE, 0x4000000000000000ULL, 0), 0x3ff6a09e667f3bcdULL);
    CHECK_EQ_U64(binop(FSQRT, FMT_D, RTZ, 0x4000000000000000ULL, 0), 0x3ff6a09e667f3bccULL);
    CHECK_EQ_U64(binop(FSQRT, FMT_D, RUP, 0x4000000000000000ULL, 0), 0x3ff6a09e667f3bcdULL);
    h.arch.fflags = 0;
    CHECK_EQ_U64(binop(FSQRT, FMT_D, RNE, 0x4010000000000000ULL, 0), 0x4000000000000000ULL);
    CHECK_EQ_U64(h.arch.fflags, 0); /* sqrt(4) is exact */
}

static void test_flags(void)
{
    uint32_t fl;
    reset();
    /* Overflow: RNE goes to infinity, RTZ and the inward directed mode to the largest finite. */
    CHECK_EQ_U64(binop_flags(FMUL, FMT_D, RNE, 0x7fefffffffffffffULL, 0x4000000000000000ULL, &fl),
                 0x7ff0000000000000ULL);
    CHECK_EQ_U64(fl, FFLAG_OF | FFLAG_NX);
    CHECK_EQ_U64(binop(FMUL, FMT_D, RTZ, 0x7fefffffffffffffULL, 0x4000000000000000ULL),
                 0x7fefffffffffffffULL);
    CHECK_EQ_U64(binop(FMUL, FMT_D, RDN, 0x7fefffffffffffffULL, 0x4000000000000000ULL),
                 0x7fefffffffffffffULL);
    CHECK_EQ_U64(binop(FMUL, FMT_D, RDN, 0xffefffffffffffffULL, 0x4000000000000000ULL),
                 0xfff0000000000000ULL);
    CHECK_EQ_U64(binop_flags(FADD, FMT_S, RUP, BOX(0x7f7fffff), BOX(0x7f7fffff), &fl),
                 BOX(0x7f800000));
    CHECK_EQ_U64(fl, FFLAG_OF | FFLAG_NX);

    /* Division by zero. */
    CHECK_EQ_U64(binop_flags(FDIV, FMT_S, RNE, BOX(0xbf800000), BOX(0), &fl), BOX(0xff800000));
    CHECK_EQ_U64(fl, FFLAG_DZ);

    /* Invalid: 0/0, inf - inf, sqrt of a negative number. */
    CHECK_EQ_U64(binop_flags(FDIV, FMT_D, RNE, 0, 0, &fl), D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop_flags(FSUB, FMT_S, RNE, BOX(0x7f800000), BOX(0x7f800000), &fl), S_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop_flags(FSQRT, FMT_D, RNE, 0xbff0000000000000ULL, 0, &fl), D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop_flags(FSQRT, FMT_S, RNE, BOX(0x80000000), 0, &fl), BOX(0x80000000));
    CHECK_EQ_U64(fl, 0); /* sqrt(-0) = -0 */

    /* Underflow needs tiny and inexact: an exact subnormal result raises nothing. */
    CHECK_EQ_U64(binop_flags(FMUL, FMT_D, RNE, 0x0010000000000000ULL, 0x3fe0000000000000ULL, &fl),
                 0x0008000000000000ULL);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FMUL, FMT_S, RNE, BOX(0x00800001), BOX(0x3f000000), &fl),
                 BOX(0x00400000));
    CHECK_EQ_U64(fl, FFLAG_UF | FFLAG_NX);

    /*
     * Tininess is detected after rounding: (2^27 - 1) * (2^27 + 1) * 2^-1076 is
     * 2^-1022 * (1 - 2^-54), which RNE rounds to the smallest normal: NX without UF.
     * RTZ leaves it subnormal: UF.
     */
    uint64_t x = 0x225ffffffc000000ULL; /* (2^27 - 1) * 2^-500 */
    uint64_t y = 0x1da0000002000000ULL; /* (2^27 + 1) * 2^-576 */
    CHECK_EQ_U64(binop_flags(FMUL, FMT_D, RNE, x, y, &fl), 0x0010000000000000ULL);
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(binop_flags(FMUL, FMT_D, RTZ, x, y, &fl), 0x000fffffffffffffULL);
    CHECK_EQ_U64(fl, FFLAG_UF | FFLAG_NX);
    /* Single: 31 * 1082401 = 2^25 - 1, scaled to 2^-126 * (1 - 2^-25). */
    CHECK_EQ_U64(binop_flags(FMUL, FMT_S, RNE, BOX(0x1ef80000), BOX(0x21042108), &fl),
                 BOX(0x00800000));
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(binop_flags(FMUL, FMT_S, RDN, BOX(0x1ef80000), BOX(0x21042108), &fl),
                 BOX(0x007fffff));
    CHECK_EQ_U64(fl, FFLAG_UF | FFLAG_NX);

    /* Flags accrue onto what is already there. */
    h.arch.fflags = FFLAG_DZ;
    binop(FDIV, FMT_S, RNE, BOX(S_ONE), BOX(0x40400000));
    CHECK_EQ_U64(h.arch.fflags, FFLAG_DZ | FFLAG_NX);

    /* Exact cancellation gives +0, or -0 when rounding down. */
    CHECK_EQ_U64(binop(FSUB, FMT_D, RNE, D_ONE, D_ONE), 0);
    CHECK_EQ_U64(binop(FSUB, FMT_D, RDN, D_ONE, D_ONE), 0x8000000000000000ULL);
    CHECK_EQ_U64(binop(FADD, FMT_S, RDN, BOX(0), BOX(0x80000000)), BOX(0x80000000));
}

static void test_nan_boxing_and_canonical_nans(void)
{
    uint32_t fl;
    reset();
    /* An improperly boxed single reads as the canonical (quiet) NaN. */
    CHECK_EQ_U64(binop_flags(FADD, FMT_S, RNE, 0x000000003f800000ULL, BOX(S_ONE), &fl), S_CANON);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop(FSGNJ, FMT_S, 0, 0x00000000bf800000ULL, BOX(S_ONE)), S_CANON);
    CHECK_EQ_U64(binop(FSGNJ, FMT_S, 1, 0x00000000bf800000ULL, BOX(S_ONE)), BOX(0xffc00000));
    CHECK_EQ_U64(binop(FMINMAX, FMT_S, 0, 0xfffffffe3f800000ULL, BOX(0x40000000)), BOX(0x40000000));

    /* Results are boxed. */
    CHECK_EQ_U64(binop(FADD, FMT_S, RNE, BOX(S_ONE), BOX(S_ONE)), BOX(0x40000000));
    CHECK_EQ_U64(binop(FADD, FMT_S, RTZ, BOX(S_ONE), BOX(S_ONE)), BOX(0x40000000));

    /* NaN results are canonical whatever the payload; only sNaN inputs raise NV. */
    CHECK_EQ_U64(binop_flags(FADD, FMT_D, RNE, 0x7ff8000000001234ULL, D_ONE, &fl), D_CANON);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FMUL, FMT_D, RUP, 0xfff0000000000001ULL, D_ONE, &fl), D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop_flags(FSQRT, FMT_S, RNE, BOX(0xffc01234), 0, &fl), S_CANON);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_S, RNE, 0x7ff4000000000abcULL, 1, &fl), S_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);

    /* Sign injection moves bits, NaN payload included. */
    CHECK_EQ_U64(binop(FSGNJ, FMT_D, 2, 0x7ff0000000000123ULL, 0x8000000000000000ULL),
                 0xfff0000000000123ULL);
    CHECK_EQ_U64(binop(FSGNJ, FMT_S, 2, BOX(0xbf800000), BOX(0xc0000000)), BOX(S_ONE));
}

static void test_min_max_compare(void)
{
    uint32_t fl;
    const uint64_t qnan = BOX(0x7fc00001), snan = BOX(0x7f800001), one = BOX(S_ONE);
    const uint64_t pz = BOX(0), nz = BOX(0x80000000);
    reset();
    CHECK_EQ_U64(binop(FMINMAX, FMT_S, 0, pz, nz), nz);
    CHECK_EQ_U64(binop(FMINMAX, FMT_S, 0, nz, pz), nz);
    CHECK_EQ_U64(binop(FMINMAX, FMT_S, 1, nz, pz), pz);
    CHECK_EQ_U64(binop(FMINMAX, FMT_S, 1, pz, nz), pz);
    CHECK_EQ_U64(binop_flags(FMINMAX, FMT_S, 0, qnan, one, &fl), one);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FMINMAX, FMT_S, 1, one, snan, &fl), one);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop_flags(FMINMAX, FMT_S, 0, qnan, qnan, &fl), S_CANON);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FMINMAX, FMT_D, 1, 0x7ff0000000000001ULL, 0x7ff8000000000001ULL, &fl),
                 D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(binop(FMINMAX, FMT_D, 0, 0xc000000000000000ULL, D_ONE), 0xc000000000000000ULL);

    static const struct {
        unsigned funct3; /* 0 fle, 1 flt, 2 feq */
        uint64_t a, b, result;
        uint32_t flags;
    } cmp[] = {
        {2, BOX(0x7fc00000), BOX(S_ONE), 0, 0},
        {2, BOX(0x7f800001), BOX(S_ONE), 0, FFLAG_NV},
        {1, BOX(0x7fc00000), BOX(S_ONE), 0, FFLAG_NV},
        {0, BOX(S_ONE), BOX(0x7fc00000), 0, FFLAG_NV},
        {2, BOX(0), BOX(0x80000000), 1, 0},
        {1, BOX(0x80000000), BOX(0), 0, 0},
        {0, BOX(0), BOX(0x80000000), 1, 0},
        {1, BOX(0xbf800000), BOX(S_ONE), 1, 0},
        {1, BOX(0xc0000000), BOX(0xbf800000), 1, 0},
        {0, BOX(0x40000000), BOX(S_ONE), 0, 0},
        {2, BOX(0x7f800000), BOX(0x7f800000), 1, 0},
        {1, BOX(0xff800000), BOX(0xff7fffff), 1, 0},
    };
    for (unsigned i = 0; i < ARRAY_SIZE(cmp); i++) {
        h.arch.f[1] = cmp[i].a;
        h.arch.f[2] = cmp[i].b;
        h.arch.x[12] = 77;
        h.arch.fflags = 0;
        CHECK(fpu_execute(&h, op_fp(FCMP, FMT_S, 2, 1, cmp[i].funct3, 12)));
        CHECK_EQ_U64(h.arch.x[12], cmp[i].result);
        CHECK_EQ_U64(h.arch.fflags, cmp[i].flags);
    }
    /* Doubles, and a write to x0 that must be discarded. */
    h.arch.f[1] = D_ONE;
    h.arch.f[2] = D_ONE;
    CHECK(fpu_execute(&h, op_fp(FCMP, FMT_D, 2, 1, 2, 12)));
    CHECK_EQ_U64(h.arch.x[12], 1);
    CHECK(fpu_execute(&h, op_fp(FCMP, FMT_D, 2, 1, 2, 0)));
    CHECK_EQ_U64(h.arch.x[0], 0);
}

static void test_fclass(void)
{
    static const struct {
        uint64_t s, d;
    } classes[10] = {
        {0xff800000, 0xfff0000000000000ULL}, /* -inf */
        {0xbf800000, 0xbff0000000000000ULL}, /* -normal */
        {0x807fffff, 0x8000000000000001ULL}, /* -subnormal */
        {0x80000000, 0x8000000000000000ULL}, /* -0 */
        {0x00000000, 0x0000000000000000ULL}, /* +0 */
        {0x00000001, 0x000fffffffffffffULL}, /* +subnormal */
        {0x00800000, 0x0010000000000000ULL}, /* +normal */
        {0x7f800000, 0x7ff0000000000000ULL}, /* +inf */
        {0xff800001, 0x7ff4000000000000ULL}, /* sNaN */
        {0x7fc00000, 0xfff8000000000001ULL}, /* qNaN */
    };
    reset();
    for (unsigned i = 0; i < 10; i++) {
        h.arch.f[1] = BOX(classes[i].s);
        CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_S, 0, 1, 1, 12)));
        CHECK_EQ_U64(h.arch.x[12], 1u << i);
        h.arch.f[1] = classes[i].d;
        CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_D, 0, 1, 1, 12)));
        CHECK_EQ_U64(h.arch.x[12], 1u << i);
    }
    h.arch.f[1] = 0x00000000ff800000ULL; /* not boxed: the canonical NaN */
    CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_S, 0, 1, 1, 12)));
    CHECK_EQ_U64(h.arch.x[12], 1u << 9);
    CHECK_EQ_U64(h.arch.fflags, 0);
}

static void test_float_to_int(void)
{
    static const struct {
        unsigned fmt, kind, rm;
        uint64_t in, out;
        uint32_t flags;
    } cases[] = {
        /* NaN converts to the largest positive value, infinities saturate. */
        {FMT_S, CVT_W, RNE, BOX(0x7fc00000), 0x7fffffff, FFLAG_NV},
        {FMT_S, CVT_W, RNE, BOX(0xffc00000), 0x7fffffff, FFLAG_NV},
        {FMT_S, CVT_W, RNE, BOX(0x7f800000), 0x7fffffff, FFLAG_NV},
        {FMT_S, CVT_W, RNE, BOX(0xff800000), 0xffffffff80000000ULL, FFLAG_NV},
        {FMT_S, CVT_WU, RNE, BOX(0x7fc00000), ~0ULL, FFLAG_NV}, /* 0xffffffff sign-extended */
        {FMT_S, CVT_WU, RNE, BOX(0xff800000), 0, FFLAG_NV},
        {FMT_D, CVT_L, RNE, 0x7ff8000000000000ULL, 0x7fffffffffffffffULL, FFLAG_NV},
        {FMT_D, CVT_L, RNE, 0xfff0000000000000ULL, 0x8000000000000000ULL, FFLAG_NV},
        {FMT_D, CVT_LU, RNE, 0x7ff0000000000000ULL, ~0ULL, FFLAG_NV},
        {FMT_D, CVT_LU, RNE, 0xfff0000000000000ULL, 0, FFLAG_NV},
        {FMT_D, CVT_LU, RNE, 0x7ff4000000000000ULL, ~0ULL, FFLAG_NV},
        /* Out of range finite values. */
        {FMT_S, CVT_W, RNE, BOX(0x4f32d05e), 0x7fffffff, FFLAG_NV},            /* 3e9 */
        {FMT_S, CVT_W, RNE, BOX(0xcf32d05e), 0xffffffff80000000ULL, FFLAG_NV}, /* -3e9 */
        {FMT_D, CVT_L, RNE, 0x43e0000000000000ULL, 0x7fffffffffffffffULL, FFLAG_NV}, /* 2^63 */
        {FMT_D, CVT_L, RNE, 0xc3e0000000000000ULL, 0x8000000000000000ULL, 0},        /* -2^63 */
        {FMT_D, CVT_LU, RNE, 0x43f0000000000000ULL, ~0ULL, FFLAG_NV},                /* 2^64 */
        {FMT_D, CVT_W, RTZ, 0xc1e0000000100000ULL, 0xffffffff80000000ULL, FFLAG_NX}, /* -2^31-0.5 */
        {FMT_D, CVT_W, RDN, 0xc1e0000000100000ULL, 0xffffffff80000000ULL, FFLAG_NV},
        {FMT_D, CVT_W, RUP, 0x41dfffffffe00000ULL, 0x7fffffff, FFLAG_NV},            /* 2^31-0.5 */
        {FMT_D, CVT_W, RNE, 0x41dfffffffe00000ULL, 0x7fffffff, FFLAG_NV},            /* ties to even 2^31 */
        {FMT_D, CVT_W, RMM, 0x41dfffffffc00000ULL, 0x7fffffff, 0},                   /* 2^31-1 */
        /* Negative values into unsigned: -0.5 rounds to 0 (inexact only), -1 is invalid. */
        {FMT_S, CVT_WU, RNE, BOX(0xbf000000), 0, FFLAG_NX},
        {FMT_S, CVT_WU, RTZ, BOX(0xbf000000), 0, FFLAG_NX},
        {FMT_S, CVT_WU, RDN, BOX(0xbf000000), 0, FFLAG_NV},
        {FMT_S, CVT_WU, RMM, BOX(0xbf000000), 0, FFLAG_NV},
        {FMT_D, CVT_LU, RNE, 0xbff0000000000000ULL, 0, FFLAG_NV},
        {FMT_D, CVT_LU, RNE, 0x8000000000000000ULL, 0, 0}, /* -0 */
        /* 32-bit results are sign-extended, unsigned ones too. */
        {FMT_S, CVT_WU, RNE, BOX(0x4f32d05e), 0xffffffffb2d05e00ULL, 0},
        {FMT_S, CVT_W, RNE, BOX(0xc0b00000), 0xfffffffffffffffaULL, FFLAG_NX}, /* -5.5 -> -6 */
        {FMT_S, CVT_W, RTZ, BOX(0xc0b00000), 0xfffffffffffffffbULL, FFLAG_NX},
        {FMT_S, CVT_W, RUP, BOX(0xc0b00000), 0xfffffffffffffffbULL, FFLAG_NX},
        {FMT_S, CVT_W, RDN, BOX(0xc0b00000), 0xfffffffffffffffaULL, FFLAG_NX},
        /* Ties: 2.5 -> 2 (RNE), 3 (RMM). */
        {FMT_D, CVT_L, RNE, 0x4004000000000000ULL, 2, FFLAG_NX},
        {FMT_D, CVT_L, RMM, 0x4004000000000000ULL, 3, FFLAG_NX},
        {FMT_D, CVT_L, RMM, 0xc004000000000000ULL, (uint64_t)-3, FFLAG_NX},
        {FMT_D, CVT_LU, RNE, 0x43efffffffffffffULL, 0xfffffffffffff800ULL, 0},
        {FMT_S, CVT_L, RNE, BOX(0x00000001), 0, FFLAG_NX},
        {FMT_S, CVT_L, RUP, BOX(0x00000001), 1, FFLAG_NX},
    };
    uint32_t fl;
    reset();
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        CHECK_EQ_U64(to_int(cases[i].fmt, cases[i].kind, cases[i].rm, cases[i].in, &fl),
                     cases[i].out);
        if (fl != cases[i].flags)
            fprintf(stderr, "float_to_int case %u: flags 0x%x\n", i, fl);
        CHECK_EQ_U64(fl, cases[i].flags);
    }
    /* Flags accrue even when the destination is x0. */
    h.arch.f[1] = BOX(0x7fc00000);
    h.arch.fflags = 0;
    CHECK(fpu_execute(&h, op_fp(FCVT_INT_F, FMT_S, CVT_W, 1, RNE, 0)));
    CHECK_EQ_U64(h.arch.x[0], 0);
    CHECK_EQ_U64(h.arch.fflags, FFLAG_NV);
}

static void test_int_to_float_and_between_formats(void)
{
    uint32_t fl;
    reset();
    CHECK_EQ_U64(from_int(FMT_S, CVT_W, RNE, 0xffffffff, &fl), BOX(0xbf800000)); /* -1 */
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(from_int(FMT_S, CVT_WU, RNE, 0xffffffff, &fl), BOX(0x4f800000)); /* 2^32 */
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(from_int(FMT_S, CVT_WU, RTZ, 0xffffffff, &fl), BOX(0x4f7fffff));
    CHECK_EQ_U64(from_int(FMT_D, CVT_L, RNE, 0x8000000000000000ULL, &fl), 0xc3e0000000000000ULL);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(from_int(FMT_D, CVT_LU, RNE, ~0ULL, &fl), 0x43f0000000000000ULL);
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(from_int(FMT_S, CVT_L, RNE, (1 << 24) + 1, &fl), BOX(0x4b800000)); /* tie: even */
    CHECK_EQ_U64(from_int(FMT_S, CVT_L, RMM, (1 << 24) + 1, &fl), BOX(0x4b800001));
    CHECK_EQ_U64(from_int(FMT_S, CVT_L, RDN, (uint64_t)-((1 << 24) + 1), &fl), BOX(0xcb800001));
    CHECK_EQ_U64(from_int(FMT_D, CVT_W, RNE, 0x1234567880000000ULL, &fl), 0xc1e0000000000000ULL);
    CHECK_EQ_U64(from_int(FMT_D, CVT_WU, RNE, 0, &fl), 0);
    CHECK_EQ_U64(fl, 0);

    /* double -> single: overflow follows the rounding mode; single -> double is exact. */
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_S, RNE, 0x7e37e43c8800759cULL, 1, &fl), BOX(0x7f800000));
    CHECK_EQ_U64(fl, FFLAG_OF | FFLAG_NX);
    CHECK_EQ_U64(binop(FCVT_FF, FMT_S, RTZ, 0x7e37e43c8800759cULL, 1), BOX(0x7f7fffff));
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_S, RNE, 0x3fd5555555555555ULL, 1, &fl), BOX(0x3eaaaaab));
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_S, RNE, 0x3690000000000000ULL, 1, &fl), BOX(0));
    CHECK_EQ_U64(fl, FFLAG_UF | FFLAG_NX); /* 2^-150 ties to zero */
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_D, RNE, BOX(0x00000001), 0, &fl), 0x36a0000000000000ULL);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(binop_flags(FCVT_FF, FMT_D, RNE, BOX(0xff800001), 0, &fl), D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
}

static void test_moves(void)
{
    reset();
    h.arch.x[11] = 0x123456789abcdef0ULL;
    CHECK(fpu_execute(&h, op_fp(FMV_F_X, FMT_S, 0, 11, 0, 4)));
    CHECK_EQ_U64(h.arch.f[4], 0xffffffff9abcdef0ULL);
    CHECK(fpu_execute(&h, op_fp(FMV_F_X, FMT_D, 0, 11, 0, 5)));
    CHECK_EQ_U64(h.arch.f[5], 0x123456789abcdef0ULL);
    h.arch.f[1] = 0x0000000080000000ULL; /* fmv.x.w ignores boxing and sign-extends */
    CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_S, 0, 1, 0, 12)));
    CHECK_EQ_U64(h.arch.x[12], 0xffffffff80000000ULL);
    h.arch.f[1] = 0x7ff4000000000001ULL;
    CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_D, 0, 1, 0, 12)));
    CHECK_EQ_U64(h.arch.x[12], 0x7ff4000000000001ULL);
    CHECK(fpu_execute(&h, op_fp(FMV_X_F, FMT_D, 0, 1, 0, 0)));
    CHECK_EQ_U64(h.arch.x[0], 0);
    CHECK_EQ_U64(h.arch.fflags, 0);
}

static void test_fused_multiply_add(void)
{
    uint32_t fl;
    const uint64_t a = 0x3ff0000000400000ULL; /* 1 + 2^-30 */
    const uint64_t b = 0x3fefffffff800000ULL; /* 1 - 2^-30 */
    reset();
    /* a*b = 1 - 2^-60 rounds to 1 on its own; fused, a*b - 1 is exactly -2^-60. */
    CHECK_EQ_U64(binop(FMUL, FMT_D, RNE, a, b), D_ONE);
    CHECK_EQ_U64(fused(FMADD, FMT_D, RNE, a, b, 0xbff0000000000000ULL, &fl), 0xbc30000000000000ULL);
    CHECK_EQ_U64(fl, 0);
    CHECK_EQ_U64(fused(FMSUB, FMT_D, RNE, a, b, D_ONE, &fl), 0xbc30000000000000ULL);
    CHECK_EQ_U64(fused(FNMSUB, FMT_D, RNE, a, b, D_ONE, &fl), 0x3c30000000000000ULL);
    CHECK_EQ_U64(fused(FNMADD, FMT_D, RNE, a, b, 0xbff0000000000000ULL, &fl), 0x3c30000000000000ULL);

    /* Single: (1 + 2^-13)(1 - 2^-13) - 1 = -2^-26. */
    CHECK_EQ_U64(fused(FMADD, FMT_S, RNE, BOX(0x3f800400), BOX(0x3f7ff800), BOX(0xbf800000), &fl),
                 BOX(0xb2800000));
    CHECK_EQ_U64(fl, 0);

    /* One rounding of a sum whose product part alone would round differently: RMM tie. */
    CHECK_EQ_U64(fused(FMADD, FMT_S, RMM, BOX(S_ONE), BOX(S_ONE), BOX(0x33800000), &fl),
                 BOX(0x3f800001));
    CHECK_EQ_U64(fl, FFLAG_NX);
    CHECK_EQ_U64(fused(FMADD, FMT_S, RNE, BOX(S_ONE), BOX(S_ONE), BOX(0x33800000), &fl),
                 BOX(S_ONE));

    /* inf * 0 is invalid even with a quiet NaN addend; a zero sum's sign follows the mode. */
    CHECK_EQ_U64(fused(FMADD, FMT_D, RNE, 0x7ff0000000000000ULL, 0, D_CANON, &fl), D_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
    CHECK_EQ_U64(fused(FMADD, FMT_D, RNE, D_ONE, 0, 0x8000000000000000ULL, &fl), 0);
    CHECK_EQ_U64(fused(FMADD, FMT_D, RDN, D_ONE, 0, 0, &fl), 0);
    CHECK_EQ_U64(fused(FMADD, FMT_D, RDN, D_ONE, 0, 0x8000000000000000ULL, &fl),
                 0x8000000000000000ULL);
    CHECK_EQ_U64(fused(FNMADD, FMT_D, RNE, D_ONE, 0, 0, &fl), 0x8000000000000000ULL);
    CHECK_EQ_U64(fused(FMSUB, FMT_D, RDN, D_ONE, D_ONE, D_ONE, &fl), 0x8000000000000000ULL);
    CHECK_EQ_U64(fused(FMADD, FMT_S, RNE, BOX(0x7f800000), BOX(S_ONE), BOX(0xff800000), &fl),
                 S_CANON);
    CHECK_EQ_U64(fl, FFLAG_NV);
}

static void test_illegal_encodings(void)
{
    static struct hart before;
    const uint32_t fadd_d = op_fp(FADD, FMT_D, 2, 1, 0, 4);
    const uint32_t illegal[] = {
        fadd_d | (5u << 12),                     /* reserved static rm */
        fadd_d | (6u << 12),
        op_fp(FADD, 3, 2, 1, RNE, 4),            /* quad precision */
        op_fp(FSQRT, FMT_D, 1, 1, RNE, 4),       /* rs2 must be 0 */
        op_fp(FSGNJ, FMT_S, 2, 1, 3, 4),
        op_fp(FMINMAX, FMT_D, 2, 1, 4, 4),      /* 2, 3: Zfa fminm, fmaxm */
        op_fp(FCMP, FMT_D, 2, 1, 3, 12),
        op_fp(FCVT_INT_F, FMT_S, 4, 1, RNE, 12),
        op_fp(FCVT_F_INT, FMT_D, 5, 11, RNE, 4),
        op_fp(FCVT_FF, FMT_S, 0, 1, RNE, 4),     /* fcvt.s.s */
        op_fp(FCVT_FF, FMT_D, 1, 1, RNE, 4),     /* fcvt.d.d */
        op_fp(FCVT_FF, FMT_D, 3, 1, RNE, 4),     /* from quad */
        op_fp(FMV_X_F, FMT_S, 0, 1, 2, 12),
        op_fp(FMV_X_F, FMT_S, 1, 1, 0, 12),
        op_fp(FMV_F_X, FMT_D, 0, 11, 1, 4),
        op_fp(0x06, FMT_D, 2, 1, RNE, 4),        /* unassigned funct5 */
        op_fp(FCVT_INT_F, FMT_S, CVT_W, 1, 5, 12),
        fma_insn(FMADD, FMT_D, 6),
        fma_insn(FNMADD, 3, RNE),                /* quad */
        0x00000013,                              /* not an FP opcode at all */
    };
    reset();
    h.arch.f[1] = D_ONE;
    h.arch.f[2] = D_ONE;
    h.arch.x[11] = 5;
    h.arch.fflags = FFLAG_NX;
    before = h;
    for (unsigned i = 0; i < ARRAY_SIZE(illegal); i++) {
        CHECK(!fpu_execute(&h, illegal[i]));
        CHECK(memcmp(&h, &before, sizeof h) == 0);
    }
    /* Dynamic rounding with a reserved frm value is illegal too. */
    for (uint32_t frm = 5; frm <= 7; frm++) {
        h.arch.frm = frm;
        before = h;
        CHECK(!fpu_execute(&h, fadd_d | (DYN << 12)));
        CHECK(!fpu_execute(&h, fma_insn(FMSUB, FMT_S, DYN)));
        CHECK(!fpu_execute(&h, op_fp(FCVT_F_INT, FMT_S, CVT_L, 11, DYN, 4)));
        CHECK(memcmp(&h, &before, sizeof h) == 0);
        /* ...but instructions without a rounding mode do not look at frm. */
        CHECK(fpu_execute(&h, op_fp(FSGNJ, FMT_D, 2, 1, 0, 4)));
        CHECK(fpu_execute(&h, op_fp(FMINMAX, FMT_D, 2, 1, 1, 4)));
    }
}

/* Runs the generated vectors; returns the variants whose results differ from QEMU's. */
static unsigned run_reference_vectors(bool dump)
{
    static struct refgen_variant variants[REFGEN_MAX_VARIANTS];
    unsigned count = refgen_variants(variants), mismatches = 0;
    CHECK_EQ_U64(count, ARRAY_SIZE(fpu_ref_hashes));
    if (count != ARRAY_SIZE(fpu_ref_hashes))
        return count;
    for (unsigned v = 0; v < count; v++) {
        uint64_t state = refgen_seed(v), hash = 0;
        for (unsigned i = 0; i < REFGEN_VECTORS_PER_VARIANT; i++) {
            struct refgen_io io;
            refgen_inputs(&state, &variants[v], &io);
            reset();
            h.arch.f[1] = io.f1;
            h.arch.f[2] = io.f2;
            h.arch.f[3] = io.f3;
            h.arch.f[4] = io.f4;
            h.arch.x[11] = io.x11;
            h.arch.x[12] = io.x12;
            h.arch.frm = (uint32_t)io.frm;
            CHECK(fpu_execute(&h, variants[v].insn));
            io.f4 = h.arch.f[4];
            io.x12 = h.arch.x[12];
            io.fflags = h.arch.fflags;
            hash = refgen_hash(hash, &io);
            if (dump)
                printf("0x%03x 0x%03x 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%02" PRIx64 "\n", v, i,
                       io.f4, io.x12, io.fflags);
        }
        CHECK_EQ_U64(variants[v].insn, fpu_ref_hashes[v].insn);
        if (hash != fpu_ref_hashes[v].hash) {
            fprintf(stderr, "reference mismatch: variant %u insn 0x%08x frm %u\n", v,
                    variants[v].insn, variants[v].frm);
            mismatches++;
        }
    }
    return mismatches;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--dump") == 0) {
        run_reference_vectors(true);
        return 0;
    }
    test_rounding_modes();
    test_flags();
    test_nan_boxing_and_canonical_nans();
    test_min_max_compare();
    test_fclass();
    test_float_to_int();
    test_int_to_float_and_between_formats();
    test_moves();
    test_fused_multiply_add();
    test_illegal_encodings();
    CHECK_EQ_U64(run_reference_vectors(false), 0);
    UNIT_DONE();
}
