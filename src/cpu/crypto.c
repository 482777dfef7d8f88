#include "cpu/crypto.h"

#include <pthread.h>

static uint8_t aes_sbox[256], aes_inv_sbox[256], sm4_sbox[256];

static uint8_t gf_mul(uint8_t a, uint8_t b, unsigned poly)
{
    unsigned x = a, r = 0;
    for (; b; b >>= 1) {
        if (b & 1)
            r ^= x;
        x <<= 1;
        if (x & 0x100)
            x ^= poly;
    }
    return (uint8_t)r;
}

/* The multiplicative inverse in GF(2^8) modulo poly (0 maps to 0): x^254. */
static uint8_t gf_inv(uint8_t x, unsigned poly)
{
    uint8_t r = 1;
    for (unsigned i = 0; i < 254; i++)
        r = gf_mul(r, x, poly);
    return x ? r : 0;
}

static uint8_t rotl8(uint8_t v, unsigned s)
{
    s &= 7;
    return (uint8_t)(s ? (v << s) | (v >> (8 - s)) : v);
}

/* SM4's affine matrix: bit 7 - i of the result is the parity of x and 0xd3 rotated right by i. */
static uint8_t sm4_affine(uint8_t x)
{
    uint8_t y = 0;
    for (unsigned i = 0; i < 8; i++)
        y |= (uint8_t)(__builtin_parity(rotl8(0xd3, 8 - i) & x) << (7 - i));
    return y;
}

static void build_tables(void)
{
    for (unsigned x = 0; x < 256; x++) {
        uint8_t b = gf_inv((uint8_t)x, 0x11b);
        uint8_t s = b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ 0x63;
        aes_sbox[x] = s;
        aes_inv_sbox[s] = (uint8_t)x;
        sm4_sbox[x] = sm4_affine(gf_inv(sm4_affine((uint8_t)x) ^ 0xd3, 0x1f5)) ^ 0xd3;
    }
}

static void crypto_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, build_tables);
}

static uint8_t byte_of(uint64_t v, unsigned i)
{
    return (uint8_t)(v >> (8 * i));
}

/* Bytes 0..7 of (Inv)ShiftRows of the column-major state {b:a} (a holds bytes 0..7). */
static uint64_t shift_rows(uint64_t a, uint64_t b, bool inverse)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned row = i % 4, col = i / 4;
        unsigned from = 4 * ((col + (inverse ? 4 - row : row)) % 4) + row;
        r |= (uint64_t)(from < 8 ? byte_of(a, from) : byte_of(b, from - 8)) << (8 * i);
    }
    return r;
}

static uint64_t sub_bytes(uint64_t v, const uint8_t *box)
{
    crypto_init();
    uint64_t r = 0;
    for (unsigned i = 0; i < 8; i++)
        r |= (uint64_t)box[byte_of(v, i)] << (8 * i);
    return r;
}

/* (Inv)MixColumns of one column (byte 0 = row 0). */
static uint32_t mix_column(uint32_t c, bool inverse)
{
    static const uint8_t fwd[4] = { 2, 3, 1, 1 }, inv[4] = { 14, 11, 13, 9 };
    const uint8_t *m = inverse ? inv : fwd;
    uint32_t r = 0;
    for (unsigned row = 0; row < 4; row++) {
        uint8_t v = 0;
        for (unsigned k = 0; k < 4; k++)
            v ^= gf_mul(byte_of(c, k), m[(k + 4 - row) % 4], 0x11b);
        r |= (uint32_t)v << (8 * row);
    }
    return r;
}

static uint64_t mix_columns(uint64_t v, bool inverse)
{
    return (uint64_t)mix_column((uint32_t)(v >> 32), inverse) << 32 | mix_column((uint32_t)v, inverse);
}

uint64_t aes64es(uint64_t a, uint64_t b) { return sub_bytes(shift_rows(a, b, false), aes_sbox); }
uint64_t aes64esm(uint64_t a, uint64_t b) { return mix_columns(aes64es(a, b), false); }
uint64_t aes64ds(uint64_t a, uint64_t b) { return sub_bytes(shift_rows(a, b, true), aes_inv_sbox); }
uint64_t aes64dsm(uint64_t a, uint64_t b) { return mix_columns(aes64ds(a, b), true); }
uint64_t aes64im(uint64_t a) { return mix_columns(a, true); }

uint64_t aes64ks1i(uint64_t a, unsigned rnum)
{
    static const uint8_t rcon[11] = { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36, 0 };
    uint32_t w = (uint32_t)(a >> 32);
    if (rnum != 10)
        w = w >> 8 | w << 24; /* RotWord */
    w = (uint32_t)sub_bytes(w, aes_sbox) ^ rcon[rnum];
    return (uint64_t)w << 32 | w;
}

uint64_t aes64ks2(uint64_t a, uint64_t b)
{
    uint32_t w0 = (uint32_t)(a >> 32) ^ (uint32_t)b;
    uint32_t w1 = w0 ^ (uint32_t)(b >> 32);
    return (uint64_t)w1 << 32 | w0;
}

static uint32_t rol32c(uint32_t v, unsigned s)
{
    return s ? v << s | v >> (32 - s) : v;
}

uint64_t sm4ed(uint64_t a, uint64_t b, unsigned bs)
{
    crypto_init();
    uint32_t x = sm4_sbox[byte_of(b, bs)];
    uint32_t y = x ^ (x << 8) ^ (x << 2) ^ (x << 18) ^ ((x & 0x3f) << 26) ^ ((x & 0xc0) << 10);
    return (uint64_t)(int64_t)(int32_t)(rol32c(y, 8 * bs) ^ (uint32_t)a);
}

uint64_t sm4ks(uint64_t a, uint64_t b, unsigned bs)
{
    crypto_init();
    uint32_t x = sm4_sbox[byte_of(b, bs)];
    uint32_t y = x ^ ((x & 0x07) << 29) ^ ((x & 0xfe) << 7) ^ ((x & 0x01) << 23) ^ ((x & 0xf8) << 13);
    return (uint64_t)(int64_t)(int32_t)(rol32c(y, 8 * bs) ^ (uint32_t)a);
}
