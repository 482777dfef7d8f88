/* Learning switch core: MAC table with aging, flooding, per-port policing and counters. */
#include "switch/switch_core.h"

#include <string.h>

const struct switch_config switch_default_config = {
    .aging_ns = 300ULL * 1000000000ULL,
    .port_bytes_per_s = 256ULL << 20,
    .port_burst_bytes = 4ULL << 20,
    .flood_frames_per_s = 200,
    .flood_burst = 100,
};

static void bucket_fill(struct token_bucket *b, uint64_t per_s, uint64_t burst, uint64_t now_ns)
{
    *b = (struct token_bucket){ .tokens = burst, .burst = burst, .per_s = per_s, .last_ns = now_ns };
}

/* Takes cost tokens if there are that many, after adding what the time since last earned. */
static bool bucket_take(struct token_bucket *b, uint64_t cost, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        uint64_t elapsed = now_ns - b->last_ns;
        /* Refill in whole tokens only, keeping the remainder of time for the next call. */
        uint64_t earned = elapsed >= 1000000000ULL ? b->burst
                                                   : elapsed * b->per_s / 1000000000ULL;
        if (earned) {
            b->tokens = b->tokens + earned > b->burst ? b->burst : b->tokens + earned;
            b->last_ns = now_ns;
        }
    }
    if (b->tokens < cost)
        return false;
    b->tokens -= cost;
    return true;
}

void switch_core_init(struct switch_core *sw, const struct switch_config *cfg)
{
    memset(sw, 0, sizeof(*sw));
    sw->cfg = *cfg;
}

int switch_port_add(struct switch_core *sw, uint64_t now_ns)
{
    for (unsigned p = 0; p < SWITCH_MAX_PORTS; p++) {
        if (sw->port_used[p])
            continue;
        sw->port_used[p] = true;
        sw->stats[p] = (struct switch_port_stats){ 0 };
        bucket_fill(&sw->bytes[p], sw->cfg.port_bytes_per_s, sw->cfg.port_burst_bytes, now_ns);
        bucket_fill(&sw->floods[p], sw->cfg.flood_frames_per_s, sw->cfg.flood_burst, now_ns);
        return (int)p;
    }
    return -1;
}

void switch_port_remove(struct switch_core *sw, unsigned port)
{
    sw->port_used[port] = false;
    for (unsigned s = 0; s < SWITCH_MAC_SETS; s++)
        for (unsigned w = 0; w < SWITCH_MAC_WAYS; w++)
            if (sw->table[s][w].valid && sw->table[s][w].port == port)
                sw->table[s][w].valid = false;
}

static struct switch_mac_entry *mac_set(struct switch_core *sw, const uint8_t mac[6])
{
    /* The low bytes vary most among locally administered and vendor addresses. */
    unsigned h = mac[5] ^ (unsigned)mac[4] * 31u ^ (unsigned)mac[3] * 131u ^ mac[2] ^ mac[1] ^ mac[0];
    return sw->table[h % SWITCH_MAC_SETS];
}

static bool fresh(const struct switch_core *sw, const struct switch_mac_entry *e, uint64_t now_ns)
{
    return e->valid && now_ns - e->seen_ns < sw->cfg.aging_ns;
}

int switch_lookup(struct switch_core *sw, const uint8_t mac[6], uint64_t now_ns)
{
    struct switch_mac_entry *set = mac_set(sw, mac);
    for (unsigned w = 0; w < SWITCH_MAC_WAYS; w++)
        if (fresh(sw, &set[w], now_ns) && !memcmp(set[w].mac, mac, 6))
            return set[w].port;
    return -1;
}

static void learn(struct switch_core *sw, const uint8_t mac[6], unsigned port, uint64_t now_ns)
{
    struct switch_mac_entry *set = mac_set(sw, mac), *victim = &set[0];
    for (unsigned w = 0; w < SWITCH_MAC_WAYS; w++) {
        struct switch_mac_entry *e = &set[w];
        if (e->valid && !memcmp(e->mac, mac, 6)) {
            victim = e;
            break;
        }
        if (!fresh(sw, e, now_ns))
            victim = e;
        else if (fresh(sw, victim, now_ns) && e->seen_ns < victim->seen_ns)
            victim = e;
    }
    memcpy(victim->mac, mac, 6);
    victim->port = (uint8_t)port;
    victim->valid = true;
    victim->seen_ns = now_ns;
}

unsigned switch_forward(struct switch_core *sw, unsigned in_port, const uint8_t *frame,
                        size_t len, uint64_t now_ns, unsigned *out)
{
    struct switch_port_stats *st = &sw->stats[in_port];
    const uint8_t *dst = frame, *src = frame + 6;
    if (len < ETH_HEADER_LEN || (src[0] & 1)) {
        st->rx_dropped_malformed++;
        return 0;
    }
    if (!bucket_take(&sw->bytes[in_port], len, now_ns)) {
        st->rx_dropped_rate++;
        return 0;
    }
    int to = (dst[0] & 1) ? -1 : switch_lookup(sw, dst, now_ns);
    if (to < 0 && !bucket_take(&sw->floods[in_port], 1, now_ns)) {
        st->rx_dropped_rate++;
        return 0;
    }
    learn(sw, src, in_port, now_ns);
    st->rx_frames++;
    st->rx_bytes += len;
    if (to >= 0) {
        if ((unsigned)to == in_port)
            return 0;   /* both ends on one port: the segment there already has it */
        out[0] = (unsigned)to;
        return 1;
    }
    unsigned n = 0;
    for (unsigned p = 0; p < SWITCH_MAX_PORTS; p++)
        if (sw->port_used[p] && p != in_port)
            out[n++] = p;
    return n;
}

void switch_count_tx(struct switch_core *sw, unsigned port, size_t len, bool queued)
{
    struct switch_port_stats *st = &sw->stats[port];
    if (queued) {
        st->tx_frames++;
        st->tx_bytes += len;
    } else {
        st->tx_dropped++;
    }
}
