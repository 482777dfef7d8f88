/*
 * The switch core (learning, flooding, aging, counters, policing) and the stream framing
 * against a hostile peer (lengths 0 and above the maximum, frames cut short).
 */
#include <string.h>

#include "host/stream_framing.h"
#include "switch/switch_core.h"
#include "unit.h"

#define SEC 1000000000ULL

static const uint8_t A[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t B[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t C[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

static size_t frame(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6], size_t len)
{
    memset(buf, 0, len);
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    return len;
}

static unsigned fwd(struct switch_core *sw, unsigned in, const uint8_t dst[6],
                    const uint8_t src[6], uint64_t now, unsigned *out)
{
    uint8_t buf[64];
    return switch_forward(sw, in, buf, frame(buf, dst, src, 60), now, out);
}

static void test_learning_and_flooding(void)
{
    struct switch_core sw;
    unsigned out[SWITCH_MAX_PORTS];
    switch_core_init(&sw, &switch_default_config);
    int p0 = switch_port_add(&sw, 0), p1 = switch_port_add(&sw, 0), p2 = switch_port_add(&sw, 0);
    CHECK(p0 == 0 && p1 == 1 && p2 == 2);

    /* Unknown B: flooded to every other port; A is learned on 0. */
    CHECK_EQ_U64(fwd(&sw, 0, B, A, 1, out), 2);
    CHECK(out[0] == 1 && out[1] == 2);
    CHECK_EQ_U64(switch_lookup(&sw, A, 1), 0);
    /* B answers from port 1: goes to port 0 only, and B is learned. */
    CHECK_EQ_U64(fwd(&sw, 1, A, B, 2, out), 1);
    CHECK_EQ_U64(out[0], 0);
    CHECK_EQ_U64(fwd(&sw, 0, B, A, 3, out), 1);
    CHECK_EQ_U64(out[0], 1);
    /* Broadcast and multicast always flood. */
    CHECK_EQ_U64(fwd(&sw, 2, BCAST, C, 4, out), 2);
    CHECK_EQ_U64(fwd(&sw, 2, MCAST, C, 5, out), 2);
    /* A moves to port 2: frames follow it. */
    CHECK_EQ_U64(fwd(&sw, 2, BCAST, A, 6, out), 2);
    CHECK_EQ_U64(fwd(&sw, 1, A, B, 7, out), 1);
    CHECK_EQ_U64(out[0], 2);
    /* Destination on the port it came from: filtered. */
    CHECK_EQ_U64(fwd(&sw, 2, A, C, 8, out), 0);
    /* A port that leaves takes its MACs with it. */
    switch_port_remove(&sw, 2);
    CHECK_EQ_U64(switch_lookup(&sw, A, 9), (uint64_t)-1);
    CHECK_EQ_U64(fwd(&sw, 1, A, B, 10, out), 1);   /* flooded to the one port left */
    CHECK_EQ_U64(out[0], 0);

    /* Counters: port 1 sent 3 frames of 60 bytes. */
    CHECK_EQ_U64(sw.stats[1].rx_frames, 3);
    CHECK_EQ_U64(sw.stats[1].rx_bytes, 180);
    switch_count_tx(&sw, 0, 60, true);
    switch_count_tx(&sw, 0, 60, false);
    CHECK_EQ_U64(sw.stats[0].tx_frames, 1);
    CHECK_EQ_U64(sw.stats[0].tx_bytes, 60);
    CHECK_EQ_U64(sw.stats[0].tx_dropped, 1);
}

static void test_aging_and_table_bound(void)
{
    struct switch_core sw;
    unsigned out[SWITCH_MAX_PORTS];
    struct switch_config cfg = switch_default_config;
    cfg.aging_ns = 10 * SEC;
    cfg.flood_frames_per_s = cfg.flood_burst = 1000000;
    switch_core_init(&sw, &cfg);
    switch_port_add(&sw, 0);
    switch_port_add(&sw, 0);
    fwd(&sw, 0, BCAST, A, 0, out);
    CHECK_EQ_U64(switch_lookup(&sw, A, 9 * SEC), 0);
    CHECK_EQ_U64(switch_lookup(&sw, A, 10 * SEC), (uint64_t)-1);
    CHECK_EQ_U64(fwd(&sw, 1, A, B, 10 * SEC, out), 1);   /* aged out: flooded again */

    /* Far more MACs than entries: the table stays its size and keeps the newest. */
    uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, 0 };
    for (unsigned i = 0; i < 4 * SWITCH_MAC_SETS * SWITCH_MAC_WAYS; i++) {
        mac[3] = (uint8_t)(i >> 16), mac[4] = (uint8_t)(i >> 8), mac[5] = (uint8_t)i;
        fwd(&sw, 0, BCAST, mac, 11 * SEC + i, out);
    }
    CHECK_EQ_U64(switch_lookup(&sw, mac, 12 * SEC), 0);
}

static void test_policing(void)
{
    struct switch_core sw;
    unsigned out[SWITCH_MAX_PORTS];
    struct switch_config cfg = switch_default_config;
    cfg.flood_frames_per_s = 100;
    cfg.flood_burst = 10;
    cfg.port_bytes_per_s = 6000;
    cfg.port_burst_bytes = 1200;
    switch_core_init(&sw, &cfg);
    switch_port_add(&sw, 0);
    switch_port_add(&sw, 0);
    switch_port_add(&sw, 0);

    /* Port 0 floods broadcasts: 10 pass (the burst), the rest are dropped at port 0. */
    unsigned passed = 0;
    for (int i = 0; i < 50; i++)
        passed += fwd(&sw, 0, BCAST, A, 1, out) != 0;
    CHECK_EQ_U64(passed, 10);
    CHECK_EQ_U64(sw.stats[0].rx_dropped_rate, 40);
    /* Port 1 is not charged for port 0's flood. */
    CHECK_EQ_U64(fwd(&sw, 1, BCAST, B, 1, out), 2);
    /* 100 ms later port 0 has earned 10 more flooded frames. */
    passed = 0;
    for (int i = 0; i < 50; i++)
        passed += fwd(&sw, 0, BCAST, A, 1 + SEC / 10, out) != 0;
    CHECK_EQ_U64(passed, 10);

    /* Known unicast is limited by bytes: the 1200-byte burst was spent above by 20 x 60
     * (frames dropped for the flood budget still paid for their bytes). */
    CHECK_EQ_U64(fwd(&sw, 0, B, A, 2 + SEC / 10, out), 0);
    CHECK_EQ_U64(fwd(&sw, 0, B, A, 2 + SEC / 10 + SEC / 100, out), 1);   /* 60 bytes earned */
    CHECK_EQ_U64(out[0], 1);
    CHECK_EQ_U64(fwd(&sw, 2, B, C, 2 + SEC / 10 + SEC / 100, out), 1);   /* port 2 unaffected */
}

static void test_malformed_frames(void)
{
    struct switch_core sw;
    unsigned out[SWITCH_MAX_PORTS];
    uint8_t buf[64];
    switch_core_init(&sw, &switch_default_config);
    switch_port_add(&sw, 0);
    switch_port_add(&sw, 0);
    CHECK_EQ_U64(switch_forward(&sw, 0, buf, frame(buf, B, A, 13), 0, out), 0);
    CHECK_EQ_U64(fwd(&sw, 0, B, MCAST, 0, out), 0);   /* a multicast source is never learned */
    CHECK_EQ_U64(sw.stats[0].rx_dropped_malformed, 2);
    CHECK_EQ_U64(switch_lookup(&sw, MCAST, 0), (uint64_t)-1);
}

struct collected {
    unsigned frames;
    size_t last_len;
    uint8_t last_first;
};

static void collect(void *opaque, const uint8_t *frame, size_t len)
{
    struct collected *c = opaque;
    c->frames++;
    c->last_len = len;
    c->last_first = frame[0];
}

static struct stream_reader reader;

static void test_stream_reader(void)
{
    struct collected c = { 0 };
    /* Two frames split at every possible point: byte by byte. */
    uint8_t bytes[] = { 0, 0, 0, 3, 7, 8, 9, 0, 0, 0, 0, 0, 0, 0, 2, 5, 6 };
    stream_reader_init(&reader);
    for (size_t i = 0; i < sizeof(bytes); i++)
        CHECK_EQ_U64(stream_reader_push(&reader, &bytes[i], 1, collect, &c), 0);
    CHECK_EQ_U64(c.frames, 2);
    CHECK_EQ_U64(c.last_len, 2);
    CHECK_EQ_U64(c.last_first, 5);
    CHECK_EQ_U64(reader.empty_frames, 1);   /* the length-0 frame between them */
    CHECK_EQ_U64(stream_reader_pending(&reader), 0);

    /* Truncated: a header and half a frame, then the peer's end of stream. */
    uint8_t cut[] = { 0, 0, 0, 10, 1, 2, 3 };
    CHECK_EQ_U64(stream_reader_push(&reader, cut, sizeof(cut), collect, &c), 0);
    CHECK_EQ_U64(c.frames, 2);
    CHECK_EQ_U64(stream_reader_pending(&reader), 7);
    uint8_t half_header[] = { 0, 0 };
    stream_reader_init(&reader);
    stream_reader_push(&reader, half_header, 2, collect, &c);
    CHECK_EQ_U64(stream_reader_pending(&reader), 2);

    /* Too long to be a frame: 65536 + 4096 + 1, and 0xffffffff. */
    static const uint8_t too_long[][4] = { { 0, 1, 0x10, 1 }, { 0xff, 0xff, 0xff, 0xff } };
    for (unsigned i = 0; i < 2; i++) {
        stream_reader_init(&reader);
        CHECK_EQ_U64(stream_reader_push(&reader, too_long[i], 4, collect, &c), (uint64_t)-1);
    }
    /* The largest allowed length is accepted. */
    static uint8_t biggest[4 + STREAM_FRAME_MAX] = { 0, 1, 0x10, 0 };
    stream_reader_init(&reader);
    CHECK_EQ_U64(stream_reader_push(&reader, biggest, sizeof(biggest), collect, &c), 0);
    CHECK_EQ_U64(c.last_len, STREAM_FRAME_MAX);
}

static void test_stream_writer(void)
{
    struct stream_writer w;
    uint8_t f[100] = { 42 };
    CHECK_EQ_U64(stream_writer_init(&w, 250), 0);
    CHECK(stream_writer_queue(&w, f, 100));
    CHECK(stream_writer_queue(&w, f, 100));
    CHECK(!stream_writer_queue(&w, f, 100));   /* whole frames only: 208 + 104 > 250 */
    CHECK_EQ_U64(w.len, 208);
    CHECK(w.buf[0] == 0 && w.buf[3] == 100 && w.buf[4] == 42);
    CHECK(!stream_writer_queue(&w, f, 0));
    stream_writer_free(&w);
}

int main(void)
{
    test_learning_and_flooding();
    test_aging_and_table_bound();
    test_policing();
    test_malformed_frames();
    test_stream_reader();
    test_stream_writer();
    UNIT_DONE();
}
