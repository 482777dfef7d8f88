/*
 * LZ77 benchmark (bare metal, built with tests/baremetal/crt.S): gzip's match finder,
 * the shape of in-guest `gzip -c` (bench/guest-work.sh), whose time is mostly
 * longest_match walking hash chains. A 32 KiB window slid over 64 KiB of buffer, hash
 * heads and chain links of 16 bits, lazy evaluation, chains cut at 128 links (32 once a
 * match is good), as gzip -6 does. The input is pseudo-random words from a small
 * vocabulary, repeating at every distance as text does (the guest's input, machine code,
 * has longer chains). Prints the checksum (of the matches and literals found) and
 * minstret.
 */
#include <stdint.h>

#include "report.h"

#define WSIZE 0x8000u
#define WMASK (WSIZE - 1)
#define HASH_BITS 15
#define HASH_MASK ((1u << HASH_BITS) - 1)
#define MIN_MATCH 3
#define MAX_MATCH 258
#define MIN_LOOKAHEAD (MAX_MATCH + MIN_MATCH + 1)
#define MAX_DIST (WSIZE - MIN_LOOKAHEAD)
#define MAX_CHAIN 128
#define GOOD_MATCH 8
#define NICE_MATCH 128
#define INPUT_BYTES (3u << 20)

static uint8_t window[2 * WSIZE];
static uint16_t prev[WSIZE], head[1u << HASH_BITS];
static unsigned strstart, lookahead, match_start, prev_length;
static uint32_t input_left = INPUT_BYTES;

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

/* Appends up to n bytes of input at p: words of 2 to 9 letters and a space, from a
 * vocabulary of 512 (each entry's last byte is its length). */
static unsigned fill(uint8_t *p, unsigned n)
{
    static uint8_t vocab[512][11];
    static int ready;
    if (!ready) {
        for (unsigned w = 0; w < 512; w++) {
            unsigned len = 2 + lcg() % 8;
            for (unsigned k = 0; k < len; k++)
                vocab[w][k] = (uint8_t)('a' + lcg() % 26);
            vocab[w][len] = ' ';
            vocab[w][10] = (uint8_t)(len + 1);
        }
        ready = 1;
    }
    unsigned done = 0;
    while (done < n && input_left) {
        const uint8_t *w = vocab[lcg() % 512];
        for (unsigned k = 0; k < w[10] && done < n && input_left; k++, input_left--)
            p[done++] = w[k];
    }
    return done;
}

/* gzip's longest_match: the longest match of the string at strstart along its chain. */
static unsigned longest_match(unsigned cur_match)
{
    unsigned chain_length = MAX_CHAIN;
    uint8_t *scan = window + strstart, *match;
    unsigned best_len = prev_length;
    unsigned limit = strstart > MAX_DIST ? strstart - MAX_DIST : 0;
    uint8_t *strend = window + strstart + MAX_MATCH;
    uint8_t scan_end1 = scan[best_len - 1], scan_end = scan[best_len];
    if (prev_length >= GOOD_MATCH)
        chain_length >>= 2;
    do {
        match = window + cur_match;
        if (match[best_len] != scan_end || match[best_len - 1] != scan_end1 || *match != *scan ||
            *++match != scan[1])
            continue;
        scan += 2, match++;
        do {
        } while (*++scan == *++match && *++scan == *++match && *++scan == *++match && *++scan == *++match &&
                 *++scan == *++match && *++scan == *++match && *++scan == *++match && *++scan == *++match &&
                 scan < strend);
        unsigned len = MAX_MATCH - (unsigned)(strend - scan);
        scan = strend - MAX_MATCH;
        if (len > best_len) {
            match_start = cur_match;
            best_len = len;
            if (len >= NICE_MATCH)
                break;
            scan_end1 = scan[best_len - 1];
            scan_end = scan[best_len];
        }
    } while ((cur_match = prev[cur_match & WMASK]) > limit && --chain_length != 0);
    return best_len;
}

/* Slides the window down by WSIZE when strstart nears its end, and reads more input. */
static void fill_window(void)
{
    unsigned more = 2 * WSIZE - lookahead - strstart;
    if (strstart >= WSIZE + MAX_DIST) {
        for (unsigned k = 0; k < WSIZE; k++)
            window[k] = window[k + WSIZE];
        match_start -= WSIZE;
        strstart -= WSIZE;
        for (unsigned k = 0; k < (1u << HASH_BITS); k++)
            head[k] = head[k] >= WSIZE ? (uint16_t)(head[k] - WSIZE) : 0;
        for (unsigned k = 0; k < WSIZE; k++)
            prev[k] = prev[k] >= WSIZE ? (uint16_t)(prev[k] - WSIZE) : 0;
        more += WSIZE;
    }
    lookahead += fill(window + strstart + lookahead, more);
}

const char test_name[] = "lz77";

int main(void)
{
    uint64_t sum = 0;
    unsigned ins_h = 0, match_length = MIN_MATCH - 1, match_available = 0;
    fill_window();
    ins_h = (window[0] << 5 ^ window[1]) & HASH_MASK;
    while (lookahead) {
        ins_h = (ins_h << 5 ^ window[strstart + MIN_MATCH - 1]) & HASH_MASK;
        unsigned hash_head = head[ins_h];
        prev[strstart & WMASK] = (uint16_t)hash_head;
        head[ins_h] = (uint16_t)strstart;
        prev_length = match_length;
        unsigned prev_match = match_start;
        match_length = MIN_MATCH - 1;
        if (hash_head && prev_length < NICE_MATCH && strstart - hash_head <= MAX_DIST) {
            match_length = longest_match(hash_head);
            if (match_length > lookahead)
                match_length = lookahead;
            if (match_length == MIN_MATCH && strstart - match_start > 4096)
                match_length = MIN_MATCH - 1;
        }
        if (prev_length >= MIN_MATCH && match_length <= prev_length) {
            sum = sum * 31 + (strstart - 1 - prev_match) * 1024 + prev_length;
            lookahead -= prev_length - 1;
            prev_length -= 2;
            do {
                strstart++;
                ins_h = (ins_h << 5 ^ window[strstart + MIN_MATCH - 1]) & HASH_MASK;
                prev[strstart & WMASK] = head[ins_h];
                head[ins_h] = (uint16_t)strstart;
            } while (--prev_length != 0);
            match_available = 0;
            match_length = MIN_MATCH - 1;
            strstart++;
        } else {
            if (match_available)
                sum = sum * 31 + window[strstart - 1];
            match_available = 1;
            strstart++;
            lookahead--;
        }
        if (lookahead < MIN_LOOKAHEAD)
            fill_window();
    }
    bench_report(sum);
    return 0;
}
