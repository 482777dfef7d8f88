/*
 * The scalar cryptography extensions' round functions (Zkne, Zknd, Zksed), RV64 forms:
 * each takes the source registers' values and returns rd's. The S-boxes are derived
 * from their algebraic definitions at first use (once, thread-safe).
 */
#ifndef RACKVM_CRYPTO_H
#define RACKVM_CRYPTO_H

#include "common.h"

/* AES: the low half of ShiftRows of the state {b:a}, through SubBytes (es) or also
 * MixColumns (esm); ds/dsm the inverse steps; im InvMixColumns of both words of a. */
uint64_t aes64es(uint64_t a, uint64_t b);
uint64_t aes64esm(uint64_t a, uint64_t b);
uint64_t aes64ds(uint64_t a, uint64_t b);
uint64_t aes64dsm(uint64_t a, uint64_t b);
uint64_t aes64im(uint64_t a);
/* Key schedule: ks1i with round number rnum (0..10; the caller rejects others), ks2. */
uint64_t aes64ks1i(uint64_t a, unsigned rnum);
uint64_t aes64ks2(uint64_t a, uint64_t b);

/* SM4: byte bs of b through the S-box and the round (ed) or key (ks) linear layer,
 * xored into the low word of a; sign-extended. */
uint64_t sm4ed(uint64_t a, uint64_t b, unsigned bs);
uint64_t sm4ks(uint64_t a, uint64_t b, unsigned bs);

#endif
