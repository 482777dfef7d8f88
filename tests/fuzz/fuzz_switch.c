/*
 * libFuzzer target: what hostile switch peers can send. The input is a list of chunks
 * (port byte, clock step byte, length byte, that many stream bytes), each fed to the
 * port's stream reader; every frame it yields goes through the switch core. Checked:
 * frames stay within the framing's limit, a frame is never sent back out of its own
 * port nor to a port not in use, and every frame is counted once as taken or dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "host/stream_framing.h"
#include "switch/switch_core.h"

#define PORTS 3

static struct switch_core sw;
static struct stream_reader readers[PORTS];
static unsigned in_port;
static uint64_t now, frames_seen[PORTS];

static void on_frame(void *opaque, const uint8_t *frame, size_t len)
{
    (void)opaque;
    unsigned out[SWITCH_MAX_PORTS];
    if (len == 0 || len > STREAM_FRAME_MAX)
        abort();
    frames_seen[in_port]++;
    unsigned n = switch_forward(&sw, in_port, frame, len, now, out);
    if (n > PORTS - 1)
        abort();
    for (unsigned i = 0; i < n; i++) {
        if (out[i] == in_port || out[i] >= PORTS)
            abort();
        switch_count_tx(&sw, out[i], len, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct switch_config cfg = switch_default_config;
    cfg.flood_burst = 8;
    cfg.flood_frames_per_s = 100;
    cfg.aging_ns = 1000000;
    switch_core_init(&sw, &cfg);
    now = 0;
    for (unsigned p = 0; p < PORTS; p++) {
        switch_port_add(&sw, 0);
        stream_reader_init(&readers[p]);
        frames_seen[p] = 0;
    }
    bool broken[PORTS] = { false };
    while (size >= 3) {
        in_port = data[0] % PORTS;
        now += (uint64_t)data[1] * 10000;
        size_t len = data[2] < size - 3 ? data[2] : size - 3;
        if (!broken[in_port] &&
            stream_reader_push(&readers[in_port], data + 3, len, on_frame, NULL) < 0)
            broken[in_port] = true;   /* the switch disconnects such a port */
        data += 3 + len;
        size -= 3 + len;
    }
    for (unsigned p = 0; p < PORTS; p++) {
        const struct switch_port_stats *s = &sw.stats[p];
        if (s->rx_frames + s->rx_dropped_rate + s->rx_dropped_malformed != frames_seen[p])
            abort();
    }
    return 0;
}
