/*
 * F and D arithmetic. Every operation has an exact integer soft-float path (all five
 * rounding modes, RISC-V flags, tininess after rounding). Round-to-nearest-even
 * add/sub/mul/div/sqrt/fma first try the host FPU and prove exactness with error-free
 * transforms; anything that could need more than NX (non-finite, tiny) falls back.
 * The fast path assumes the host's default FP environment (round to nearest, no
 * flush-to-zero), which nothing in rackvm changes.
 */
#include "cpu/fpu.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu/hart.h"

typedef unsigned __int128 u128;

enum { RM_RNE, RM_RTZ, RM_RDN, RM_RUP, RM_RMM, RM_DYN = 7 };

enum {
    OP_FADD = 0x00, OP_FSUB = 0x01, OP_FMUL = 0x02, OP_FDIV = 0x03,
    OP_FSGNJ = 0x04, OP_FMINMAX = 0x05, OP_FCVT_FF = 0x08, OP_FSQRT = 0x0b,
    OP_FCMP = 0x14, OP_FCVT_INT_F = 0x18, OP_FCVT_F_INT = 0x1a,
    OP_FMV_X_F = 0x1c, OP_FMV_F_X = 0x1e,
};

enum { OPC_FMADD = 0x43, OPC_FMSUB = 0x47, OPC_FNMSUB = 0x4b, OPC_FNMADD = 0x4f, OPC_OP_FP = 0x53 };

/* The host fast path relies on float/double arithmetic being evaluated in its own type. */
#define HOST_FAST_PATH (FLT_EVAL_METHOD == 0)

struct fpfmt {
    unsigned prec; /* significand bits including the hidden one */
    int emin, emax, bias;
    unsigned sign_shift;
    uint64_t inf, canonical_nan, quiet_bit;
};

static const struct fpfmt F32 = {24, -126, 127, 127, 31, 0x7f800000, 0x7fc00000, 0x00400000};
static const struct fpfmt F64 = {53, -1022, 1023, 1023, 63, 0x7ff0000000000000ULL,
                                  0x7ff8000000000000ULL, 0x0008000000000000ULL};
static const struct fpfmt F16 = {11, -14, 15, 15, 15, 0x7c00, 0x7e00, 0x0200}; /* Zfh */

/* The formats by the fmt field (and by rs2 of fcvt between formats): S, D, H. */
static const struct fpfmt *const FORMATS[3] = {&F32, &F64, &F16};


enum kind { K_ZERO, K_FINITE, K_INF, K_QNAN, K_SNAN };

/* A finite nonzero value is sig * 2^(exp - 62) with bit 62 of sig set. */
struct unpacked {
    enum kind kind;
    bool sign;
    int exp;
    uint64_t sig;
};

/* ---------- bit helpers ---------- */

static inline uint64_t sign_bit(const struct fpfmt *f) { return 1ULL << f->sign_shift; }
static inline uint64_t magnitude(const struct fpfmt *f, uint64_t v) { return v & (sign_bit(f) - 1); }
static inline bool is_nan(const struct fpfmt *f, uint64_t v) { return magnitude(f, v) > f->inf; }
static inline bool is_snan(const struct fpfmt *f, uint64_t v)
{
    return is_nan(f, v) && !(v & f->quiet_bit);
}

static inline uint64_t shift_right_jam64(uint64_t x, unsigned n)
{
    if (n == 0)
        return x;
    if (n >= 64)
        return x != 0;
    return (x >> n) | ((x << (64 - n)) != 0);
}

static inline u128 shift_right_jam128(u128 x, unsigned n)
{
    if (n == 0)
        return x;
    if (n >= 128)
        return x != 0;
    return (x >> n) | ((x << (128 - n)) != 0);
}

static inline int clz128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? __builtin_clzll(hi) : 64 + __builtin_clzll((uint64_t)x);
}

/* ---------- pack / unpack ---------- */

static struct unpacked unpack(const struct fpfmt *f, uint64_t v)
{
    unsigned frac_bits = f->prec - 1;
    uint64_t frac = v & ((1ULL << frac_bits) - 1);
    unsigned biased = (unsigned)((magnitude(f, v)) >> frac_bits);
    struct unpacked u = {.sign = (v >> f->sign_shift) & 1};

    if (biased == (unsigned)(2 * f->bias + 1)) {
        u.kind = frac == 0 ? K_INF : (v & f->quiet_bit) ? K_QNAN : K_SNAN;
    } else if (biased == 0) {
        if (frac == 0) {
            u.kind = K_ZERO;
        } else {
            int shift = __builtin_clzll(frac) - 1;
            u.kind = K_FINITE;
            u.sig = frac << shift;
            u.exp = f->emin - (shift - (int)(62 - frac_bits));
        }
    } else {
        u.kind = K_FINITE;
        u.exp = (int)biased - f->bias;
        u.sig = (frac | (1ULL << frac_bits)) << (62 - frac_bits);
    }
    return u;
}

/* Whether to add one unit in the last place, given the discarded bits `rest`. */
static inline bool round_up(unsigned rm, bool sign, uint64_t rest, uint64_t half, bool odd)
{
    switch (rm) {
    case RM_RNE: return rest > half || (rest == half && odd);
    case RM_RTZ: return false;
    case RM_RDN: return rest != 0 && sign;
    case RM_RUP: return rest != 0 && !sign;
    default:     return rest >= half; /* RMM */
    }
}

static uint64_t overflow_result(const struct fpfmt *f, bool sign, unsigned rm, uint32_t *fl)
{
    bool to_inf = rm == RM_RNE || rm == RM_RMM || (rm == RM_RDN && sign) || (rm == RM_RUP && !sign);
    *fl |= FFLAG_OF | FFLAG_NX;
    return ((uint64_t)sign << f->sign_shift) | (to_inf ? f->inf : f->inf - 1);
}

/* Rounds sig * 2^(exp - 62) (bit 62 of sig set, lower bits sticky) into format f. */
static uint64_t round_pack(const struct fpfmt *f, bool sign, int exp, uint64_t sig, unsigned rm,
                           uint32_t *fl)
{
    unsigned extra = 63 - f->prec;
    uint64_t half = 1ULL << (extra - 1), rest_mask = (1ULL << extra) - 1;
    bool tiny = false;

    if (exp > f->emax)
        return overflow_result(f, sign, rm, fl);
    if (exp < f->emin) {
        /* RISC-V detects tininess after rounding: only a carry into 2^emin escapes it. */
        tiny = exp < f->emin - 1 || (sig >> extra) != (1ULL << f->prec) - 1 ||
               !round_up(rm, sign, sig & rest_mask, half, true);
        sig = shift_right_jam64(sig, (unsigned)(f->emin - exp));
        exp = f->emin;
    }
    uint64_t rest = sig & rest_mask;
    uint64_t mant = sig >> extra;
    if (round_up(rm, sign, rest, half, mant & 1))
        mant++;
    if (rest) {
        *fl |= FFLAG_NX;
        if (tiny)
            *fl |= FFLAG_UF;
    }
    /* A carry out of the significand lands in the exponent field by itself. */
    uint64_t mag = ((uint64_t)(exp + f->bias - 1) << (f->prec - 1)) + mant;
    if (mag >= f->inf)
        return overflow_result(f, sign, rm, fl);
    return ((uint64_t)sign << f->sign_shift) | mag;
}

static inline uint64_t signed_zero(const struct fpfmt *f, bool sign)
{
    return (uint64_t)sign << f->sign_shift;
}

static inline uint64_t signed_inf(const struct fpfmt *f, bool sign)
{
    return ((uint64_t)sign << f->sign_shift) | f->inf;
}

/* NaN result for an operation whose inputs include a NaN: canonical, NV on any sNaN. */
static uint64_t nan_result(const struct fpfmt *f, const struct unpacked *a, const struct unpacked *b,
                           const struct unpacked *c, uint32_t *fl)
{
    if (a->kind == K_SNAN || (b && b->kind == K_SNAN) || (c && c->kind == K_SNAN))
        *fl |= FFLAG_NV;
    return f->canonical_nan;
}

static uint64_t invalid(const struct fpfmt *f, uint32_t *fl)
{
    *fl |= FFLAG_NV;
    return f->canonical_nan;
}

static inline bool any_nan(const struct unpacked *u) { return u->kind >= K_QNAN; }

/* ---------- soft-float arithmetic ---------- */

/*
 * Adds two finite nonzero values given as s * 2^(e - 125) with bit 125 of s set
 * (wide enough to hold an exact product for the fused multiply-add).
 */
static uint64_t add_wide(const struct fpfmt *f, bool sa, int ea, u128 ma, bool sb, int eb, u128 mb,
                         unsigned rm, uint32_t *fl)
{
    if (eb > ea || (eb == ea && mb > ma)) {
        bool ts = sa; sa = sb; sb = ts;
        int te = ea; ea = eb; eb = te;
        u128 tm = ma; ma = mb; mb = tm;
    }
    unsigned dist = (unsigned)(ea - eb);
    mb = shift_right_jam128(mb, dist > 127 ? 128 : dist);
    u128 sum;
    if (sa == sb) {
        sum = ma + mb;
    } else {
        sum = ma - mb;
        if (sum == 0)
            return signed_zero(f, rm == RM_RDN);
    }
    int top = 127 - clz128(sum);
    int exp = ea + (top - 125);
    uint64_t sig = top > 62 ? (uint64_t)shift_right_jam128(sum, (unsigned)(top - 62))
                            : (uint64_t)sum << (62 - top);
    return round_pack(f, sa, exp, sig, rm, fl);
}

static inline u128 widen(uint64_t sig) { return (u128)sig << 63; }

static uint64_t soft_add(const struct fpfmt *f, struct unpacked a, struct unpacked b, unsigned rm,
                         uint32_t *fl)
{
    if (any_nan(&a) || any_nan(&b))
        return nan_result(f, &a, &b, NULL, fl);
    if (a.kind == K_INF) {
        if (b.kind == K_INF && a.sign != b.sign)
            return invalid(f, fl);
        return signed_inf(f, a.sign);
    }
    if (b.kind == K_INF)
        return signed_inf(f, b.sign);
    if (a.kind == K_ZERO && b.kind == K_ZERO)
        return signed_zero(f, a.sign == b.sign ? a.sign : rm == RM_RDN);
    if (a.kind == K_ZERO)
        return round_pack(f, b.sign, b.exp, b.sig, rm, fl);
    if (b.kind == K_ZERO)
        return round_pack(f, a.sign, a.exp, a.sig, rm, fl);
    return add_wide(f, a.sign, a.exp, widen(a.sig), b.sign, b.exp, widen(b.sig), rm, fl);
}

static uint64_t soft_mul(const struct fpfmt *f, struct unpacked a, struct unpacked b, unsigned rm,
                         uint32_t *fl)
{
    bool sign = a.sign ^ b.sign;
    if (any_nan(&a) || any_nan(&b))
        return nan_result(f, &a, &b, NULL, fl);
    if (a.kind == K_INF || b.kind == K_INF) {
        if (a.kind == K_ZERO || b.kind == K_ZERO)
            return invalid(f, fl);
        return signed_inf(f, sign);
    }
    if (a.kind == K_ZERO || b.kind == K_ZERO)
        return signed_zero(f, sign);
    u128 prod = (u128)a.sig * b.sig; /* in [2^124, 2^126) */
    int top = 127 - clz128(prod);
    uint64_t sig = (uint64_t)shift_right_jam128(prod, (unsigned)(top - 62));
    return round_pack(f, sign, a.exp + b.exp + (top - 124), sig, rm, fl);
}

static uint64_t soft_div(const struct fpfmt *f, struct unpacked a, struct unpacked b, unsigned rm,
                         uint32_t *fl)
{
    bool sign = a.sign ^ b.sign;
    if (any_nan(&a) || any_nan(&b))
        return nan_result(f, &a, &b, NULL, fl);
    if (a.kind == K_INF)
        return b.kind == K_INF ? invalid(f, fl) : signed_inf(f, sign);
    if (b.kind == K_INF)
        return signed_zero(f, sign);
    if (b.kind == K_ZERO) {
        if (a.kind == K_ZERO)
            return invalid(f, fl);
        *fl |= FFLAG_DZ;
        return signed_inf(f, sign);
    }
    if (a.kind == K_ZERO)
        return signed_zero(f, sign);
    /* Scale the dividend so the quotient lands in [2^62, 2^63). */
    unsigned scale = a.sig >= b.sig ? 62 : 63;
    u128 num = (u128)a.sig << scale;
    uint64_t q = (uint64_t)(num / b.sig);
    bool exact = num == (u128)q * b.sig;
    return round_pack(f, sign, a.exp - b.exp - (int)(scale - 62), q | !exact, rm, fl);
}

/* floor(sqrt(n)) for n < 2^126, one result bit at a time. */
static uint64_t isqrt128(u128 n)
{
    uint64_t r = 0;
    for (int bit = 62; bit >= 0; bit--) {
        uint64_t cand = r | (1ULL << bit);
        if ((u128)cand * cand <= n)
            r = cand;
    }
    return r;
}

static uint64_t soft_sqrt(const struct fpfmt *f, struct unpacked a, unsigned rm, uint32_t *fl)
{
    if (any_nan(&a))
        return nan_result(f, &a, NULL, NULL, fl);
    if (a.kind == K_ZERO)
        return signed_zero(f, a.sign);
    if (a.sign)
        return invalid(f, fl);
    if (a.kind == K_INF)
        return f->inf;
    /* Make the exponent even; the root of sig * 2^(62 or 63) lies in [2^62, 2^63). */
    bool odd = a.exp & 1;
    u128 n = (u128)a.sig << (odd ? 63 : 62);
    uint64_t r = isqrt128(n);
    bool exact = (u128)r * r == n;
    return round_pack(f, false, (a.exp - odd) / 2, r | !exact, rm, fl);
}

/* a * b + c with one rounding; the caller has applied the negations of the variants. */
static uint64_t soft_fma(const struct fpfmt *f, struct unpacked a, struct unpacked b,
                         struct unpacked c, unsigned rm, uint32_t *fl)
{
    bool psign = a.sign ^ b.sign;
    /* Infinity times zero is invalid even when the addend is a quiet NaN. */
    if ((a.kind == K_INF && b.kind == K_ZERO) || (a.kind == K_ZERO && b.kind == K_INF)) {
        nan_result(f, &a, &b, &c, fl);
        return invalid(f, fl);
    }
    if (any_nan(&a) || any_nan(&b) || any_nan(&c))
        return nan_result(f, &a, &b, &c, fl);
    if (a.kind == K_INF || b.kind == K_INF) {
        if (c.kind == K_INF && c.sign != psign)
            return invalid(f, fl);
        return signed_inf(f, psign);
    }
    if (c.kind == K_INF)
        return signed_inf(f, c.sign);
    if (a.kind == K_ZERO || b.kind == K_ZERO) {
        if (c.kind == K_ZERO)
            return signed_zero(f, psign == c.sign ? psign : rm == RM_RDN);
        return round_pack(f, c.sign, c.exp, c.sig, rm, fl);
    }
    u128 prod = (u128)a.sig * b.sig; /* in [2^124, 2^126) */
    int pexp = a.exp + b.exp;
    if (prod >> 125)
        pexp++;
    else
        prod <<= 1;
    if (c.kind == K_ZERO) {
        uint64_t sig = (uint64_t)shift_right_jam128(prod, 63);
        return round_pack(f, psign, pexp, sig, rm, fl);
    }
    return add_wide(f, psign, pexp, prod, c.sign, c.exp, widen(c.sig), rm, fl);
}

/* ---------- comparisons, sign injection, classification ---------- */

/* a < b for non-NaN values with -0 < +0 (the order fmin/fmax use). */
static bool less_total(const struct fpfmt *f, uint64_t a, uint64_t b)
{
    bool sa = (a >> f->sign_shift) & 1, sb = (b >> f->sign_shift) & 1;
    if (sa != sb)
        return sa;
    return sa ? magnitude(f, a) > magnitude(f, b) : magnitude(f, a) < magnitude(f, b);
}

static inline bool both_zero(const struct fpfmt *f, uint64_t a, uint64_t b)
{
    return magnitude(f, a) == 0 && magnitude(f, b) == 0;
}

static uint64_t min_max(const struct fpfmt *f, uint64_t a, uint64_t b, bool max, uint32_t *fl)
{
    bool na = is_nan(f, a), nb = is_nan(f, b);
    if (is_snan(f, a) || is_snan(f, b))
        *fl |= FFLAG_NV;
    if (na && nb)
        return f->canonical_nan;
    if (na)
        return b;
    if (nb)
        return a;
    return less_total(f, a, b) != max ? a : b;
}

/* op: 0 fle, 1 flt, 2 feq; quiet (feq, Zfa's fleq/fltq) signals only on signaling NaNs. */
static uint64_t compare(const struct fpfmt *f, uint64_t a, uint64_t b, unsigned op, bool quiet,
                        uint32_t *fl)
{
    if (is_nan(f, a) || is_nan(f, b)) {
        if (!quiet || is_snan(f, a) || is_snan(f, b))
            *fl |= FFLAG_NV;
        return 0;
    }
    bool eq = a == b || both_zero(f, a, b);
    bool lt = !both_zero(f, a, b) && less_total(f, a, b);
    switch (op) {
    case 0:  return lt || eq; /* fle */
    case 1:  return lt;       /* flt */
    default: return eq;       /* feq */
    }
}

static uint64_t classify(const struct fpfmt *f, uint64_t v)
{
    struct unpacked u = unpack(f, v);
    bool subnormal = u.kind == K_FINITE && (magnitude(f, v) >> (f->prec - 1)) == 0;
    switch (u.kind) {
    case K_INF:  return u.sign ? 1u << 0 : 1u << 7;
    case K_ZERO: return u.sign ? 1u << 3 : 1u << 4;
    case K_SNAN: return 1u << 8;
    case K_QNAN: return 1u << 9;
    default:
        if (subnormal)
            return u.sign ? 1u << 2 : 1u << 5;
        return u.sign ? 1u << 1 : 1u << 6;
    }
}

/* ---------- conversions ---------- */

enum int_kind { INT_W, INT_WU, INT_L, INT_LU };

static uint64_t to_int(const struct fpfmt *f, uint64_t v, enum int_kind kind, unsigned rm,
                       uint32_t *fl)
{
    bool is_unsigned = kind == INT_WU || kind == INT_LU;
    bool wide = kind == INT_L || kind == INT_LU;
    uint64_t max_pos = is_unsigned ? (wide ? ~0ULL : 0xffffffffULL)
                                   : (wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX);
    uint64_t max_neg = is_unsigned ? 0 : (wide ? 1ULL << 63 : 1ULL << 31); /* magnitude */
    struct unpacked u = unpack(f, v);
    uint64_t result;
    bool out_of_range = false;

    if (u.kind == K_QNAN || u.kind == K_SNAN) {
        *fl |= FFLAG_NV;
        result = max_pos;
    } else if (u.kind == K_INF) {
        out_of_range = true;
    } else if (u.kind == K_ZERO) {
        result = 0;
    } else if (u.exp >= 64) {
        out_of_range = true;
    } else {
        uint64_t ipart, frac; /* frac: the fraction with its 0.5 bit at bit 63 */
        if (u.exp >= 62) {
            ipart = u.sig << (u.exp - 62);
            frac = 0;
        } else {
            unsigned shift = (unsigned)(62 - u.exp);
            ipart = shift >= 64 ? 0 : u.sig >> shift;
            frac = shift < 64 ? u.sig << (64 - shift) : shift_right_jam64(u.sig, shift - 64);
        }
        uint64_t mag = ipart + round_up(rm, u.sign, frac, 1ULL << 63, ipart & 1);
        if (u.sign ? mag > max_neg : mag > max_pos) {
            out_of_range = true;
        } else {
            if (frac)
                *fl |= FFLAG_NX;
            result = u.sign ? 0 - mag : mag;
        }
    }
    if (out_of_range) {
        *fl |= FFLAG_NV;
        result = u.sign ? 0 - max_neg : max_pos;
    }
    /* 32-bit results, unsigned ones included, are sign-extended into the register. */
    return wide ? result : (uint64_t)(int64_t)(int32_t)(uint32_t)result;
}

static uint64_t from_int(const struct fpfmt *f, uint64_t x, enum int_kind kind, unsigned rm,
                         uint32_t *fl)
{
    bool neg = false;
    uint64_t mag;
    switch (kind) {
    case INT_W:  neg = (int32_t)x < 0; mag = neg ? 0 - (uint64_t)(int64_t)(int32_t)x : (uint32_t)x; break;
    case INT_WU: mag = (uint32_t)x; break;
    case INT_L:  neg = (int64_t)x < 0; mag = neg ? 0 - x : x; break;
    default:     mag = x; break;
    }
    if (mag == 0)
        return 0;
    int lz = __builtin_clzll(mag);
    uint64_t sig = lz == 0 ? shift_right_jam64(mag, 1) : mag << (lz - 1);
    return round_pack(f, neg, 63 - lz, sig, rm, fl);
}

static uint64_t convert_float(const struct fpfmt *to, const struct fpfmt *from, uint64_t v,
                              unsigned rm, uint32_t *fl);

/* ---------- Zfa ---------- */

/* fli's constants by rs1 (1: the format's least normal, 30: +inf, 31: the canonical NaN). */
static uint64_t fli_value(const struct fpfmt *f, unsigned index)
{
    static const double values[32] = {
        -1.0, 0, 0x1p-16, 0x1p-15, 0x1p-8, 0x1p-7, 0.0625, 0.125, 0.25, 0.3125, 0.375, 0.4375,
        0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 8.0, 16.0, 128.0,
        256.0, 0x1p15, 0x1p16, 0, 0,
    };
    if (index == 1)
        return 1ULL << (f->prec - 1);
    if (index == 30)
        return f->inf;
    if (index == 31)
        return f->canonical_nan;
    double d = values[index];
    uint64_t bits64;
    memcpy(&bits64, &d, sizeof(bits64));
    uint32_t fl = 0; /* exact, but for half precision's 2^16, which overflows to inf */
    return convert_float(f, &F64, bits64, RM_RNE, &fl);
}

/* fround/froundnx: v rounded to an integral value in its own format; NX only if `exact`. */
static uint64_t round_integral(const struct fpfmt *f, uint64_t v, unsigned rm, bool inexact_flag,
                               uint32_t *fl)
{
    struct unpacked u = unpack(f, v);
    if (u.kind == K_QNAN || u.kind == K_SNAN)
        return nan_result(f, &u, NULL, NULL, fl);
    if (u.kind != K_FINITE || u.exp >= (int)f->prec - 1)
        return v; /* zero, infinity or already integral */
    uint32_t int_fl = 0;
    uint64_t n = to_int(f, v, INT_L, rm, &int_fl); /* |v| < 2^52: in range */
    if (inexact_flag)
        *fl |= int_fl & FFLAG_NX;
    return n ? from_int(f, n, INT_L, rm, fl) : signed_zero(f, u.sign);
}

/* fcvtmod.w.d: the integer part of v modulo 2^32, sign-extended; NV when NaN, infinite or
 * outside int32 (taking precedence over NX). */
static uint64_t convert_modular_w(uint64_t v, uint32_t *fl)
{
    struct unpacked u = unpack(&F64, v);
    if (u.kind == K_QNAN || u.kind == K_SNAN || u.kind == K_INF) {
        *fl |= FFLAG_NV;
        return 0;
    }
    if (u.kind == K_ZERO)
        return 0;
    uint64_t ipart;
    bool frac;
    if (u.exp >= 62) {
        ipart = u.exp - 62 < 64 ? u.sig << (u.exp - 62) : 0;
        frac = false;
    } else {
        unsigned shift = (unsigned)(62 - u.exp);
        ipart = shift < 64 ? u.sig >> shift : 0;
        frac = shift < 64 ? (u.sig << (64 - shift)) != 0 : true;
    }
    bool in_range = u.exp < 31 || (u.sign && u.exp == 31 && ipart == 1ULL << 31);
    if (!in_range)
        *fl |= FFLAG_NV;
    else if (frac)
        *fl |= FFLAG_NX;
    uint64_t r = u.sign ? 0 - ipart : ipart;
    return (uint64_t)(int64_t)(int32_t)(uint32_t)r;
}

static uint64_t convert_float(const struct fpfmt *to, const struct fpfmt *from, uint64_t v,
                              unsigned rm, uint32_t *fl)
{
    struct unpacked u = unpack(from, v);
    switch (u.kind) {
    case K_QNAN:
    case K_SNAN: return nan_result(to, &u, NULL, NULL, fl);
    case K_INF:  return signed_inf(to, u.sign);
    case K_ZERO: return signed_zero(to, u.sign);
    default:     return round_pack(to, u.sign, u.exp, u.sig, rm, fl);
    }
}

/* ---------- host fast path (round to nearest even only) ---------- */

static inline double bits_f64(uint64_t v) { double d; memcpy(&d, &v, sizeof d); return d; }
static inline uint64_t f64_bits(double d) { uint64_t v; memcpy(&v, &d, sizeof v); return v; }
static inline float bits_f32(uint64_t v) { uint32_t w = (uint32_t)v; float x; memcpy(&x, &w, sizeof x); return x; }
static inline uint64_t f32_bits(float x) { uint32_t w; memcpy(&w, &x, sizeof w); return w; }

/*
 * Each returns false when the host result might need a flag other than NX
 * (non-finite or tiny results, operands where the error term could underflow). The
 * smallest normal counts as tiny: a result rounded up to it can be tiny after rounding
 * with an unbounded exponent, which RISC-V reports as underflow.
 * Inexactness is proven with error-free transforms, so no host fenv access is needed.
 */
static bool host_add_f64(double x, double y, uint64_t *out, uint32_t *fl)
{
    double s = x + y;
    double yv = s - x;
    double err = (x - (s - yv)) + (y - yv); /* TwoSum: x + y == s + err exactly */
    if (!isfinite(s) || !isfinite(err))
        return false;
    /* A sum that lands in the subnormal range is exact, so no underflow check. */
    if (err != 0)
        *fl |= FFLAG_NX;
    *out = f64_bits(s);
    return true;
}

static bool host_add_f32(float x, float y, uint64_t *out, uint32_t *fl)
{
    float s = x + y;
    float yv = s - x;
    float err = (x - (s - yv)) + (y - yv);
    if (!isfinite(s) || !isfinite(err))
        return false;
    if (err != 0)
        *fl |= FFLAG_NX;
    *out = f32_bits(s);
    return true;
}

/* Below this magnitude the fma-computed error terms of f64 mul/div/sqrt could underflow. */
#define F64_EFT_MIN 0x1p-968

static bool host_mul_f64(double x, double y, uint64_t *out, uint32_t *fl)
{
    double p = x * y;
    if (!isfinite(p))
        return false;
    if (p == 0 && x != 0 && y != 0)
        return false;
    if (p != 0) {
        if (fabs(p) < F64_EFT_MIN)
            return false;
        if (fma(x, y, -p) != 0)
            *fl |= FFLAG_NX;
    }
    *out = f64_bits(p);
    return true;
}

static bool host_mul_f32(float x, float y, uint64_t *out, uint32_t *fl)
{
    double exact = (double)x * (double)y; /* 48 significant bits fit a double */
    float p = (float)exact;
    if (!isfinite(p))
        return false;
    if (fabsf(p) <= FLT_MIN && exact != 0)
        return false;
    if ((double)p != exact)
        *fl |= FFLAG_NX;
    *out = f32_bits(p);
    return true;
}

static bool host_div_f64(double x, double y, uint64_t *out, uint32_t *fl)
{
    double q = x / y;
    if (!isfinite(q) || !isfinite(y))
        return false;
    if (x != 0) {
        if (fabs(q) <= DBL_MIN || fabs(x) < F64_EFT_MIN)
            return false;
        /* The remainder of a correctly rounded quotient is representable. */
        if (fma(-q, y, x) != 0)
            *fl |= FFLAG_NX;
    }
    *out = f64_bits(q);
    return true;
}

static bool host_div_f32(float x, float y, uint64_t *out, uint32_t *fl)
{
    float q = x / y;
    if (!isfinite(q) || !isfinite(y))
        return false;
    if (x != 0) {
        if (fabsf(q) <= FLT_MIN)
            return false;
        if ((double)x - (double)q * (double)y != 0) /* exact in double */
            *fl |= FFLAG_NX;
    }
    *out = f32_bits(q);
    return true;
}

static bool host_sqrt_f64(double x, uint64_t *out, uint32_t *fl)
{
    if (!(x > 0 && x < INFINITY) || x < F64_EFT_MIN)
        return false;
    double r = sqrt(x);
    if (fma(-r, r, x) != 0)
        *fl |= FFLAG_NX;
    *out = f64_bits(r);
    return true;
}

static bool host_sqrt_f32(float x, uint64_t *out, uint32_t *fl)
{
    if (!(x > 0 && x < INFINITY))
        return false;
    float r = sqrtf(x);
    if ((double)r * (double)r != (double)x)
        *fl |= FFLAG_NX;
    *out = f32_bits(r);
    return true;
}

/*
 * Inexactness of a double fma via the ErrFma error-free transform (Boldo and Muller):
 * x*y + z - r is exactly gamma + a2, so it is zero exactly when their rounded sum is.
 */
static bool host_fma_f64(double x, double y, double z, uint64_t *out, uint32_t *fl)
{
    double r = fma(x, y, z);
    double p = x * y;
    if (!isfinite(r) || !isfinite(p))
        return false;
    if (p == 0) {
        if (x != 0 && y != 0)
            return false;
        *out = f64_bits(r); /* an exact zero product leaves z, or a zero whose sign IEEE fixes */
        return true;
    }
    if (fabs(p) < F64_EFT_MIN || fabs(r) <= DBL_MIN)
        return false;
    double perr = fma(x, y, -p);
    double a1 = z + perr, av = a1 - z;
    double a2 = (z - (a1 - av)) + (perr - av);
    double b1 = p + a1, bv = b1 - p;
    double b2 = (p - (b1 - bv)) + (a1 - bv);
    double gamma = (b1 - r) + b2;
    double residual = gamma + a2;
    if (!isfinite(residual))
        return false;
    if (residual != 0)
        *fl |= FFLAG_NX;
    *out = f64_bits(r);
    return true;
}

/*
 * Single fma through doubles: the product is exact, TwoSum gives the exact sum as
 * s + err, and rounding s to odd before narrowing makes the double rounding harmless.
 */
static bool host_fma_f32(float x, float y, float z, uint64_t *out, uint32_t *fl)
{
    double p = (double)x * (double)y, zd = z;
    double s = p + zd, sv = s - p;
    double err = (p - (s - sv)) + (zd - sv);
    if (!isfinite(s) || !isfinite(err))
        return false;
    if (err != 0) {
        uint64_t sb = f64_bits(s);
        if (!(sb & 1)) /* step to the odd neighbour on err's side */
            sb += (err > 0) == (s > 0) ? 1 : (uint64_t)-1;
        s = bits_f64(sb);
        *fl |= FFLAG_NX;
    }
    float r = (float)s;
    if (!isfinite(r) || (fabsf(r) <= FLT_MIN && s != 0))
        return false;
    if ((double)r != s)
        *fl |= FFLAG_NX;
    *out = f32_bits(r);
    return true;
}

static bool host_fma(bool dbl, uint64_t a, uint64_t b, uint64_t c, bool negate_product,
                     bool negate_addend, uint64_t *out, uint32_t *fl)
{
    if (!HOST_FAST_PATH)
        return false;
    if (dbl) {
        double x = bits_f64(a), z = bits_f64(c);
        return host_fma_f64(negate_product ? -x : x, bits_f64(b), negate_addend ? -z : z, out, fl);
    }
    float x = bits_f32(a), z = bits_f32(c);
    return host_fma_f32(negate_product ? -x : x, bits_f32(b), negate_addend ? -z : z, out, fl);
}

static bool host_arith(bool dbl, unsigned op, uint64_t a, uint64_t b, uint64_t *out, uint32_t *fl)
{
    if (!HOST_FAST_PATH)
        return false;
    if (dbl) {
        double x = bits_f64(a), y = bits_f64(b);
        switch (op) {
        case OP_FADD:  return host_add_f64(x, y, out, fl);
        case OP_FSUB:  return host_add_f64(x, -y, out, fl);
        case OP_FMUL:  return host_mul_f64(x, y, out, fl);
        case OP_FDIV:  return host_div_f64(x, y, out, fl);
        default:       return host_sqrt_f64(x, out, fl);
        }
    }
    float x = bits_f32(a), y = bits_f32(b);
    switch (op) {
    case OP_FADD:  return host_add_f32(x, y, out, fl);
    case OP_FSUB:  return host_add_f32(x, -y, out, fl);
    case OP_FMUL:  return host_mul_f32(x, y, out, fl);
    case OP_FDIV:  return host_div_f32(x, y, out, fl);
    default:       return host_sqrt_f32(x, out, fl);
    }
}

/* ---------- decode and execute ---------- */

/* The NaN box of a narrower format: every bit above its sign. */
static inline uint64_t nan_box(const struct fpfmt *f)
{
    return f == &F64 ? 0 : ~0ULL << (f->sign_shift + 1);
}

static inline uint64_t read_operand(const struct hart *h, const struct fpfmt *f, unsigned r)
{
    uint64_t v = h->arch.f[r], box = nan_box(f);
    /* A single or half that is not NaN-boxed reads as the canonical NaN. */
    return (v & box) == box ? v & ~box : f->canonical_nan;
}

static inline void write_fp(struct hart *h, const struct fpfmt *f, unsigned rd, uint64_t v)
{
    h->arch.f[rd] = nan_box(f) | v;
}

static inline void write_x(struct hart *h, unsigned rd, uint64_t v)
{
    if (rd)
        h->arch.x[rd] = v;
}

/* Resolves the rounding mode, or returns -1 if it is reserved (static or via frm). */
static inline int effective_rm(const struct hart *h, unsigned rm)
{
    if (rm == RM_DYN)
        rm = h->arch.frm;
    return rm <= RM_RMM ? (int)rm : -1;
}

static bool execute_fma(struct hart *h, uint32_t insn, const struct fpfmt *f)
{
    int rm = effective_rm(h, (unsigned)bits(insn, 14, 12));
    if (rm < 0)
        return false;
    unsigned opcode = insn & 0x7f;
    bool negate_product = opcode == OPC_FNMSUB || opcode == OPC_FNMADD;
    bool negate_addend = opcode == OPC_FMSUB || opcode == OPC_FNMADD;
    uint64_t a = read_operand(h, f, (unsigned)bits(insn, 19, 15));
    uint64_t b = read_operand(h, f, (unsigned)bits(insn, 24, 20));
    uint64_t c = read_operand(h, f, (unsigned)bits(insn, 31, 27));
    uint32_t fl = 0;
    uint64_t r;
    if (rm != RM_RNE || f == &F16 ||
        !host_fma(f == &F64, a, b, c, negate_product, negate_addend, &r, &fl)) {
        struct unpacked ua = unpack(f, a), ub = unpack(f, b), uc = unpack(f, c);
        ua.sign ^= negate_product;
        uc.sign ^= negate_addend;
        r = soft_fma(f, ua, ub, uc, (unsigned)rm, &fl);
    }
    write_fp(h, f, (unsigned)bits(insn, 11, 7), r);
    h->arch.fflags |= fl;
    return true;
}

/*
 * r = the operation of insn on x, y (and z) of one type, with fma_fn and sqrt_fn of that
 * type; returns false from the caller for any other instruction. key: funct5 for OP-FP,
 * 0x20 + 0..3 for fmadd, fmsub, fnmsub, fnmadd.
 */
#define PLAIN_OPERATION(key, r, x, y, z, fma_fn, sqrt_fn)                          \
    switch (key) {                                                                 \
    case OP_FADD: r = x + y; break;                                                \
    case OP_FSUB: r = x - y; break;                                                \
    case OP_FMUL: r = x * y; break;                                                \
    case OP_FDIV: r = x / y; break;                                                \
    case OP_FSQRT:                                                                 \
        if (bits(insn, 24, 20) != 0 || !(x > 0)) /* no other root is plain */      \
            return false;                                                          \
        r = sqrt_fn(x);                                                            \
        break;                                                                     \
    case 0x20: r = fma_fn(x, y, z); break;                                         \
    case 0x21: r = fma_fn(x, y, -z); break;                                        \
    case 0x22: r = fma_fn(-x, y, z); break;                                        \
    case 0x23: r = fma_fn(-x, y, -z); break;                                       \
    default: return false;                                                         \
    }

/*
 * Add, sub, mul, div, sqrt and the fused multiply-adds in S and D rounding to nearest once
 * NX has accrued: the host's result when fpu_plain_single/double accepts it (what
 * translated code does inline); false leaves the instruction to the general path,
 * which also reads a single that is not NaN-boxed as the canonical NaN.
 */
static inline bool accrued_plain(struct hart *h, uint32_t insn)
{
    unsigned rm = (unsigned)bits(insn, 14, 12), opcode = insn & 0x7f;
    if (!HOST_FAST_PATH || !(h->arch.fflags & FFLAG_NX) ||
        !(rm == RM_RNE || (rm == RM_DYN && h->arch.frm == RM_RNE)))
        return false;
    unsigned key = opcode == OPC_OP_FP ? insn >> 27 : 0x20 | ((opcode >> 2) & 3);
    const uint64_t *f = h->arch.f;
    uint64_t a = f[bits(insn, 19, 15)], b = f[bits(insn, 24, 20)], c = f[insn >> 27], v;
    switch (bits(insn, 26, 25)) {
    case 1: {
        double x = bits_f64(a), y = bits_f64(b), z = bits_f64(c), r;
        PLAIN_OPERATION(key, r, x, y, z, fma, sqrt)
        v = f64_bits(r);
        if (!fpu_plain_double(v))
            return false;
        break;
    }
    case 0: {
        /* An operand that is not NaN-boxed reads as the canonical NaN: the general path's. */
        uint64_t box = nan_box(&F32);
        if ((a & box) != box || (key != OP_FSQRT && (b & box) != box) ||
            (key >= 0x20 && (c & box) != box))
            return false;
        float x = bits_f32(a), y = bits_f32(b), z = bits_f32(c), r;
        PLAIN_OPERATION(key, r, x, y, z, fmaf, sqrtf)
        v = f32_bits(r);
        if (!fpu_plain_single((uint32_t)v))
            return false;
        v |= box;
        break;
    }
    default:
        return false;
    }
    h->arch.f[bits(insn, 11, 7)] = v;
    return true;
}

/* Everything but accrued_plain's cases; apart, so that those pay for no stack frame. */
static __attribute__((noinline)) bool execute_general(struct hart *h, uint32_t insn)
{
    unsigned fmt = (unsigned)bits(insn, 26, 25);
    if (fmt > 2)
        return false;
    const struct fpfmt *f = FORMATS[fmt];
    unsigned opcode = insn & 0x7f;
    if (opcode != OPC_OP_FP)
        return (opcode == OPC_FMADD || opcode == OPC_FMSUB || opcode == OPC_FNMSUB ||
                opcode == OPC_FNMADD) && execute_fma(h, insn, f);

    unsigned rd = (unsigned)bits(insn, 11, 7), rs1 = (unsigned)bits(insn, 19, 15);
    unsigned rs2 = (unsigned)bits(insn, 24, 20), funct3 = (unsigned)bits(insn, 14, 12);
    unsigned op = insn >> 27;
    uint32_t fl = 0;
    uint64_t r;
    int rm;

    switch (op) {
    case OP_FADD:
    case OP_FSUB:
    case OP_FMUL:
    case OP_FDIV:
    case OP_FSQRT: {
        if ((op == OP_FSQRT && rs2 != 0) || (rm = effective_rm(h, funct3)) < 0)
            return false;
        uint64_t a = read_operand(h, f, rs1), b = read_operand(h, f, rs2);
        if (rm != RM_RNE || f == &F16 || !host_arith(fmt, op, a, b, &r, &fl)) {
            struct unpacked ua = unpack(f, a), ub = unpack(f, b);
            switch (op) {
            case OP_FADD: r = soft_add(f, ua, ub, (unsigned)rm, &fl); break;
            case OP_FSUB: ub.sign = !ub.sign; r = soft_add(f, ua, ub, (unsigned)rm, &fl); break;
            case OP_FMUL: r = soft_mul(f, ua, ub, (unsigned)rm, &fl); break;
            case OP_FDIV: r = soft_div(f, ua, ub, (unsigned)rm, &fl); break;
            default:      r = soft_sqrt(f, ua, (unsigned)rm, &fl); break;
            }
        }
        write_fp(h, f, rd, r);
        break;
    }
    case OP_FSGNJ: {
        if (funct3 > 2)
            return false;
        uint64_t a = read_operand(h, f, rs1), b = read_operand(h, f, rs2), sb = sign_bit(f);
        uint64_t sign = funct3 == 0 ? b & sb : funct3 == 1 ? ~b & sb : (a ^ b) & sb;
        write_fp(h, f, rd, (a & ~sb) | sign);
        break;
    }
    case OP_FMINMAX: {
        if (funct3 > 3)
            return false;
        uint64_t a = read_operand(h, f, rs1), b = read_operand(h, f, rs2);
        if (funct3 >= 2 && (is_nan(f, a) || is_nan(f, b))) { /* Zfa fminm/fmaxm: NaN wins */
            r = f->canonical_nan;
            if (is_snan(f, a) || is_snan(f, b))
                fl |= FFLAG_NV;
        } else {
            r = min_max(f, a, b, funct3 & 1, &fl);
        }
        write_fp(h, f, rd, r);
        break;
    }
    case OP_FCVT_FF: {
        if ((rs2 == 4 || rs2 == 5) && (rm = effective_rm(h, funct3)) >= 0) { /* Zfa fround[nx] */
            write_fp(h, f, rd, round_integral(f, read_operand(h, f, rs1), (unsigned)rm, rs2 == 5, &fl));
            break;
        }
        /* fcvt.<fmt>.<rs2's format>, between different formats */
        if (rs2 > 2 || rs2 == fmt || (rm = effective_rm(h, funct3)) < 0)
            return false;
        const struct fpfmt *from = FORMATS[rs2];
        r = convert_float(f, from, read_operand(h, from, rs1), (unsigned)rm, &fl);
        write_fp(h, f, rd, r);
        break;
    }
    case OP_FCMP: /* fle flt feq, Zfa fleq fltq (funct3 4, 5) */
        if (funct3 == 3 || funct3 > 5)
            return false;
        write_x(h, rd, compare(f, read_operand(h, f, rs1), read_operand(h, f, rs2), funct3 & 3,
                               funct3 >= 2, &fl));
        break;
    case OP_FCVT_INT_F:
        if (fmt == 1 && rs2 == 8 && funct3 == RM_RTZ) { /* Zfa fcvtmod.w.d */
            write_x(h, rd, convert_modular_w(read_operand(h, f, rs1), &fl));
            break;
        }
        if (rs2 > 3 || (rm = effective_rm(h, funct3)) < 0)
            return false;
        write_x(h, rd, to_int(f, read_operand(h, f, rs1), (enum int_kind)rs2, (unsigned)rm, &fl));
        break;
    case OP_FCVT_F_INT:
        if (rs2 > 3 || (rm = effective_rm(h, funct3)) < 0)
            return false;
        write_fp(h, f, rd, from_int(f, h->arch.x[rs1], (enum int_kind)rs2, (unsigned)rm, &fl));
        break;
    case OP_FMV_X_F:
        if (rs2 != 0 || funct3 > 1)
            return false;
        if (funct3 == 1)
            r = classify(f, read_operand(h, f, rs1));
        else /* fmv.x.w/fmv.x.h move the raw low bits, boxed or not, sign-extended */
            r = sign_extend(h->arch.f[rs1], f->sign_shift + 1);
        write_x(h, rd, r);
        break;
    case OP_FMV_F_X:
        if (rs2 == 1 && funct3 == 0) { /* Zfa fli */
            write_fp(h, f, rd, fli_value(f, rs1));
            break;
        }
        if (rs2 != 0 || funct3 != 0)
            return false;
        write_fp(h, f, rd, h->arch.x[rs1] & ~nan_box(f));
        break;
    default:
        return false;
    }
    h->arch.fflags |= fl;
    return true;
}

bool fpu_execute(struct hart *h, uint32_t insn)
{
    return accrued_plain(h, insn) || execute_general(h, insn);
}
