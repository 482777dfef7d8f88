/*
 * FP benchmark (bare metal, built with tests/baremetal/crt.S): double-precision matrix
 * multiply, renormalised by its largest element each round (add, mul, div, abs,
 * compares). Prints the checksum (the bits of the final sum) and minstret. Built with
 * -ffp-contract=off so that the same file built for the host (bench/cpu.sh does, with
 * -DBENCH_NATIVE) computes bit for bit the same checksum.
 */
#include <stdint.h>

#define N 48
#define ROUNDS 120

static double a[N][N], b[N][N], c[N][N];

static uint32_t lcg_state = 4321;
static double lcg_unit(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return (double)(int32_t)(lcg_state >> 8 & 0xffff) / 32768.0 - 1.0;
}

static uint64_t run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = lcg_unit();
            b[i][j] = lcg_unit();
        }
    double sum = 0;
    for (int round = 0; round < ROUNDS; round++) {
        double max = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double acc = 0;
                for (int k = 0; k < N; k++)
                    acc += a[i][k] * b[k][j];
                c[i][j] = acc;
                double m = acc < 0 ? -acc : acc;
                if (m > max)
                    max = m;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                a[i][j] = c[i][j] / max;
        sum += c[round % N][(round * 7) % N] / max;
    }
    union { double d; uint64_t bits; } u = { sum };
    return u.bits;
}

#include "report.h"

const char test_name[] = "fp-matmul";

int main(void)
{
    uint64_t check = run();
    bench_report(check);
    return 0;
}
