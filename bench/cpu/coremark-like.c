/*
 * CPU-bound guest benchmark (bare metal, built with tests/baremetal/crt.S): a mix of
 * CRC, sorting, matrix multiply, linked-list walking and a branchy state machine.
 * Prints a checksum and the retired-instruction count (minstret), then exits via
 * the test finisher (crt.S's pass).
 */
#include <stddef.h>
#include <stdint.h>

#include "report.h"

#define ROUNDS 12000
#define BUF_SIZE 4096
#define SORT_N 256
#define MAT_N 16
#define LIST_N 512

const char test_name[] = "coremark-like";

static uint8_t buf[BUF_SIZE];
static int32_t sort_data[SORT_N];
static int32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];
static struct node { struct node *next; uint32_t value; } nodes[LIST_N];

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

static uint32_t crc32(const uint8_t *p, uint32_t n, uint32_t crc)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

static void quicksort(int32_t *a, int lo, int hi)
{
    while (lo < hi) {
        int32_t pivot = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                int32_t t = a[i]; a[i] = a[j]; a[j] = t;
                i++; j--;
            }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
        else { quicksort(a, i, hi); hi = j; }
    }
}

static uint32_t matmul(void)
{
    uint32_t sum = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t acc = 0;
            for (int k = 0; k < MAT_N; k++)
                acc += mat_a[i][k] * mat_b[k][j];
            mat_c[i][j] = acc;
            sum += (uint32_t)acc;
        }
    return sum;
}

static uint32_t walk_list(void)
{
    uint32_t sum = 0;
    for (struct node *n = &nodes[0]; n; n = n->next)
        sum = sum * 31 + n->value;
    return sum;
}

/* Counts tokens in the buffer: numbers, words and punctuation, byte by byte. */
static uint32_t state_machine(const uint8_t *p, uint32_t n)
{
    enum { START, NUMBER, WORD, OTHER } st = START;
    uint32_t numbers = 0, words = 0, other = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = p[i] & 0x7f;
        if (c >= '0' && c <= '9') {
            if (st != NUMBER) numbers++;
            st = NUMBER;
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
            if (st != WORD) words++;
            st = WORD;
        } else if (c == ' ' || c == '\n') {
            st = START;
        } else {
            other++;
            st = OTHER;
        }
    }
    return numbers * 65536 + words * 256 + other;
}

int main(void)
{
    uint32_t check = 0;
    for (int i = 0; i < BUF_SIZE; i++)
        buf[i] = (uint8_t)lcg();
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = (int32_t)(lcg() % 200) - 100;
            mat_b[i][j] = (int32_t)(lcg() % 200) - 100;
        }
    for (int i = 0; i < LIST_N; i++) {
        nodes[i].value = lcg();
        nodes[i].next = NULL;
    }
    /* Link the list in a scrambled order so the walk is not sequential. */
    for (int i = 0, prev = 0; i < LIST_N - 1; i++) {
        int next = (prev * 37 + 11) % LIST_N;
        if (nodes[next].next || next == 0) next = (prev + 1) % LIST_N;
        nodes[prev].next = &nodes[next];
        prev = next;
        if (next == 0) break;
    }

    for (int round = 0; round < ROUNDS; round++) {
        buf[round % BUF_SIZE] ^= (uint8_t)round;
        check ^= crc32(buf, BUF_SIZE, check);
        for (int i = 0; i < SORT_N; i++)
            sort_data[i] = (int32_t)(lcg() ^ check);
        quicksort(sort_data, 0, SORT_N - 1);
        for (int i = 1; i < SORT_N; i++)
            if (sort_data[i - 1] > sort_data[i]) check += 0x1000000;
        check += (uint32_t)sort_data[SORT_N / 2];
        mat_a[round % MAT_N][(round / MAT_N) % MAT_N] += 1;
        check = check * 3 + matmul();
        check = (check << 1 | check >> 31) ^ walk_list();
        check += state_machine(buf, BUF_SIZE);
    }

    bench_report(check);
    return 0;
}
