/* Snapshot directories: the sectioned state file and the sparse memory file. */
#include "machine/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cpu/hart.h"
#include "devices/clint.h"
#include "devices/goldfish_rtc.h"
#include "devices/plic.h"
#include "devices/uart16550.h"
#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_mmio.h"

#define MAGIC "RKVMSNAP"
#define TAG_LEN 8
#define PAGE 4096
#define MAX_STATE_BYTES (64u << 20)   /* far above any board's state: a bound for reading */
#define MAX_SECTIONS 256

struct file_header {
    char magic[8];
    uint32_t version, nsections;
    uint64_t length;     /* the whole file, trailer included */
    uint64_t reserved;
};

struct section_header {
    char tag[TAG_LEN];   /* NUL-padded */
    uint32_t index, length;
};

/* Section "config": what the restoring machine must match. */
struct config_section {
    uint64_t memory_size;
    uint32_t nharts, firmware, nvirtio, ndisks;
    uint32_t device_id[VIRT_VIRTIO_COUNT];
    uint64_t tohost_addr, fromhost_addr;
};

/* Section "time": the only fields that differ between two snapshots of one state. */
struct time_section {
    uint64_t mtime;         /* guest time at the snapshot, MACHINE_TIMEBASE_HZ ticks */
    uint64_t realtime_ns;   /* host wall clock when it was written */
};

/* Section "hartrun" i: whether hart i runs, and the built-in SBI's view of it. */
struct hartrun_section {
    uint32_t parked, hsm_state, suspend_type, reserved;
    uint64_t start_addr, start_arg;
};

/* Section "disk" i: the image's size, then its path (NUL-terminated). */
struct disk_section {
    uint64_t size;
};

/* ------------------------------------------------------------------ writing */

struct writer {
    uint8_t *buf;
    size_t len, cap;
    uint32_t nsections;
    bool failed;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->failed = true;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void section(struct writer *w, const char *tag, uint32_t index, const void *p, size_t n)
{
    struct section_header h = { .index = index, .length = (uint32_t)n };
    memcpy(h.tag, tag, strnlen(tag, TAG_LEN));   /* the rest stays NUL */
    put(w, &h, sizeof(h));
    put(w, p, n);
    w->nsections++;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Every section but the header's, in a fixed order. Caller holds bus->lock. */
static void write_sections(struct writer *w, struct machine *m)
{
    struct config_section cfg = {
        .memory_size = m->bus.ram.size, .nharts = m->nharts, .firmware = m->cfg.firmware,
        .nvirtio = m->nvirtio, .ndisks = m->cfg.ndisks,
        .tohost_addr = m->tohost_addr, .fromhost_addr = m->fromhost_addr,
    };
    for (unsigned i = 0; i < m->nvirtio; i++)
        cfg.device_id[i] = virtio_mmio_device_id(m->virtio[i]);
    section(w, "config", 0, &cfg, sizeof(cfg));
    struct time_section t = { .mtime = machine_mtime(m), .realtime_ns = realtime_ns() };
    section(w, "time", 0, &t, sizeof(t));
    for (unsigned i = 0; i < m->nharts; i++) {
        struct hart_state arch = m->harts[i]->arch;
        section(w, "hart", i, &arch, sizeof(arch));
        struct hartrun_section run = {
            .parked = atomic_load(&m->harts[i]->parked),
            .hsm_state = (uint32_t)atomic_load(&m->sbi[i].state),
            .suspend_type = m->sbi[i].suspend_type,
            .start_addr = m->sbi[i].start_addr, .start_arg = m->sbi[i].start_arg,
        };
        section(w, "hartrun", i, &run, sizeof(run));
    }
    struct clint_state clint;
    clint_save(m->clint, &clint);
    section(w, "clint", 0, &clint, sizeof(clint));
    struct plic_state plic;
    plic_save(m->plic, &plic);
    section(w, "plic", 0, &plic, sizeof(plic));
    struct uart_state uart;
    uart_save(m->uart, &uart);
    section(w, "uart", 0, &uart, sizeof(uart));
    struct goldfish_rtc_state rtc;
    goldfish_rtc_save(m->rtc, &rtc);
    section(w, "rtc", 0, &rtc, sizeof(rtc));
    for (unsigned i = 0; i < m->nvirtio; i++) {
        size_t n = virtio_mmio_state_size(m->virtio[i]);
        uint8_t *state = calloc(1, n);
        if (!state) {
            w->failed = true;
            return;
        }
        virtio_mmio_save(m->virtio[i], state);
        section(w, "virtio", i, state, n);
        free(state);
    }
    for (unsigned i = 0; i < m->cfg.ndisks; i++) {
        const char *path = m->cfg.disks[i].path;
        size_t n = sizeof(struct disk_section) + strlen(path) + 1;
        uint8_t *d = malloc(n);
        if (!d) {
            w->failed = true;
            return;
        }
        struct disk_section ds = { .size = virtio_blk_size(m->disks[i]) };
        memcpy(d, &ds, sizeof(ds));
        memcpy(d + sizeof(ds), path, n - sizeof(ds));
        section(w, "disk", i, d, n);
        free(d);
    }
}

static bool write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return true;
}

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (unsigned i = 0; i < PAGE / 8; i++)
        if (q[i])
            return false;
    return true;
}

/* Writes RAM into fd as a sparse file: runs of non-zero pages only. */
static bool write_memory(int fd, const struct guest_ram *ram, uint64_t *written)
{
    if (ftruncate(fd, (off_t)ram->size) < 0)
        return false;
    uint64_t run = 0, run_len = 0;
    for (uint64_t off = 0; off <= ram->size; off += PAGE) {
        bool data = off < ram->size && !page_is_zero(ram->host + off);
        if (data) {
            if (!run_len)
                run = off;
            run_len += PAGE;
            continue;
        }
        if (run_len && !write_all(fd, ram->host + run, run_len, (off_t)run))
            return false;
        *written += run_len;
        run_len = 0;
    }
    return true;
}

/* Writes to dir/name.tmp with fill, then renames it over dir/name. */
static int replace_file(const char *dir, const char *name, bool (*fill)(int fd, void *ctx),
                        void *ctx, char *err, size_t errlen)
{
    char tmp[PATH_MAX], final[PATH_MAX];
    if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= sizeof(tmp))
        return fail(err, errlen, "%s: path too long", dir);
    /* A new file, not the one a restored VM maps: the old one stays whole under it. */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(err, errlen, "%s: %s", tmp, strerror(errno));
    bool ok = fill(fd, ctx);
    int saved = errno;
    if (close(fd) < 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, final) < 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return fail(err, errlen, "%s: %s", final, strerror(saved));
    }
    return 0;
}

struct memory_fill {
    const struct guest_ram *ram;
    uint64_t written;
};

static bool fill_memory(int fd, void *ctx)
{
    struct memory_fill *f = ctx;
    return write_memory(fd, f->ram, &f->written);
}

static bool fill_state(int fd, void *ctx)
{
    const struct writer *w = ctx;
    return write_all(fd, w->buf, w->len, 0);
}

int snapshot_write(struct machine *m, const char *dir, struct snapshot_stats *stats, char *err,
                   size_t errlen)
{
    uint64_t start = monotonic_ns();
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return fail(err, errlen, "%s: %s", dir, strerror(errno));
    struct writer w = { 0 };
    struct file_header h = { .version = SNAPSHOT_VERSION };
    memcpy(h.magic, MAGIC, sizeof(h.magic));
    put(&w, &h, sizeof(h));
    pthread_mutex_lock(&m->bus.lock);
    write_sections(&w, m);
    pthread_mutex_unlock(&m->bus.lock);
    if (w.failed) {
        free(w.buf);
        return fail(err, errlen, "out of memory");
    }
    h.nsections = w.nsections;
    h.length = w.len + sizeof(uint32_t);
    memcpy(w.buf, &h, sizeof(h));
    uint32_t crc = (uint32_t)crc32(0, w.buf, (uInt)w.len);
    put(&w, &crc, sizeof(crc));

    struct memory_fill mem = { .ram = &m->bus.ram };
    int rc = replace_file(dir, SNAPSHOT_MEMORY_FILE, fill_memory, &mem, err, errlen);
    if (rc == 0)
        rc = replace_file(dir, SNAPSHOT_STATE_FILE, fill_state, &w, err, errlen);
    if (rc == 0 && stats)
        *stats = (struct snapshot_stats){ .state_bytes = w.len, .memory_bytes = mem.written,
                                          .write_ns = monotonic_ns() - start };
    free(w.buf);
    return rc;
}

/* ------------------------------------------------------------------ reading */

struct snapshot {
    uint8_t *buf;
    size_t len;
    char memory_path[PATH_MAX];
    struct config_section config;
};

/* Section (tag, index) of s, its payload and length; NULL when absent. */
static const uint8_t *find(const struct snapshot *s, const char *tag, uint32_t index,
                           uint32_t *length)
{
    size_t off = sizeof(struct file_header), end = s->len - sizeof(uint32_t);
    while (off < end) {
        struct section_header h;
        memcpy(&h, s->buf + off, sizeof(h));
        off += sizeof(h);
        if (!strncmp(h.tag, tag, TAG_LEN) && h.index == index) {
            *length = h.length;
            return s->buf + off;
        }
        off += h.length;
    }
    return NULL;
}

/* Copies section (tag, index) into out when it has exactly n bytes. */
static bool get(const struct snapshot *s, const char *tag, uint32_t index, void *out, size_t n)
{
    uint32_t length;
    const uint8_t *p = find(s, tag, index, &length);
    if (!p || length != n)
        return false;
    memcpy(out, p, n);
    return true;
}

/* Checks the sections tile the file exactly. */
static bool sections_fit(const uint8_t *buf, size_t len, uint32_t nsections)
{
    size_t off = sizeof(struct file_header), end = len - sizeof(uint32_t);
    for (uint32_t i = 0; i < nsections; i++) {
        struct section_header h;
        if (end - off < sizeof(h))
            return false;
        memcpy(&h, buf + off, sizeof(h));
        off += sizeof(h);
        if (end - off < h.length)
            return false;
        off += h.length;
    }
    return off == end;
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_STATE_BYTES) {
        fail(err, errlen, "%s: not a snapshot state file", path);
        close(fd);
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        fail(err, errlen, "%s: cannot read it", path);
        return NULL;
    }
    *len = got;
    return buf;
}

struct snapshot *snapshot_open(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, SNAPSHOT_STATE_FILE) >= sizeof(path)) {
        fail(err, errlen, "%s: path too long", dir);
        return NULL;
    }
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s) {
        fail(err, errlen, "out of memory");
        return NULL;
    }
    s->buf = read_file(path, &s->len, err, errlen);
    if (!s->buf)
        goto fail;
    struct file_header h;
    if (s->len < sizeof(h) + sizeof(uint32_t) || memcmp(s->buf, MAGIC, sizeof(h.magic))) {
        fail(err, errlen, "%s: not a rackvm snapshot (no %s header)", path, MAGIC);
        goto fail;
    }
    memcpy(&h, s->buf, sizeof(h));
    if (h.version > SNAPSHOT_VERSION || h.version == 0) {
        fail(err, errlen, "%s: snapshot format version %u; this rackvm reads version %d", path,
             h.version, SNAPSHOT_VERSION);
        goto fail;
    }
    if (h.length != s->len) {
        fail(err, errlen, "%s: %zu bytes where the header says %llu (truncated?)", path, s->len,
             (unsigned long long)h.length);
        goto fail;
    }
    uint32_t crc;
    memcpy(&crc, s->buf + s->len - sizeof(crc), sizeof(crc));
    if (crc != (uint32_t)crc32(0, s->buf, (uInt)(s->len - sizeof(crc)))) {
        fail(err, errlen, "%s: checksum mismatch (the file is corrupted)", path);
        goto fail;
    }
    if (h.nsections > MAX_SECTIONS || !sections_fit(s->buf, s->len, h.nsections) ||
        !get(s, "config", 0, &s->config, sizeof(s->config)) || s->config.nharts == 0 ||
        s->config.nharts > MACHINE_MAX_HARTS || s->config.nvirtio > VIRT_VIRTIO_COUNT ||
        s->config.memory_size % PAGE || s->config.memory_size == 0) {
        fail(err, errlen, "%s: malformed sections", path);
        goto fail;
    }
    snprintf(s->memory_path, sizeof(s->memory_path), "%s/%s", dir, SNAPSHOT_MEMORY_FILE);
    struct stat st;
    if (stat(s->memory_path, &st) < 0 || (uint64_t)st.st_size != s->config.memory_size) {
        fail(err, errlen, "%s: missing, or not the %llu bytes of guest memory the state says",
             s->memory_path, (unsigned long long)s->config.memory_size);
        goto fail;
    }
    return s;
fail:
    snapshot_close(s);
    return NULL;
}

void snapshot_close(struct snapshot *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}

uint64_t snapshot_memory_size(const struct snapshot *s)
{
    return s->config.memory_size;
}

unsigned snapshot_nharts(const struct snapshot *s)
{
    return s->config.nharts;
}

const char *snapshot_memory_path(const struct snapshot *s)
{
    return s->memory_path;
}

/* ------------------------------------------------------------------ restoring */

/* The board's devices must be the ones saved, each disk as large as it was. */
static int check_devices(struct machine *m, const struct snapshot *s, char *err, size_t errlen)
{
    const struct config_section *c = &s->config;
    if (c->firmware != (uint32_t)m->cfg.firmware)
        return fail(err, errlen, "the snapshot was taken with another --firmware kind");
    if (c->nvirtio != m->nvirtio || c->ndisks != m->cfg.ndisks)
        return fail(err, errlen, "the snapshot has %u virtio devices (%u disks); this VM has "
                    "%u (%u disks): give the options it was taken with", c->nvirtio, c->ndisks,
                    m->nvirtio, m->cfg.ndisks);
    for (unsigned i = 0; i < m->nvirtio; i++)
        if (c->device_id[i] != virtio_mmio_device_id(m->virtio[i]))
            return fail(err, errlen, "virtio slot %u: the snapshot has device type %u, this "
                        "VM %u: give the options it was taken with", i, c->device_id[i],
                        virtio_mmio_device_id(m->virtio[i]));
    for (unsigned i = 0; i < c->ndisks; i++) {
        uint32_t length;
        const uint8_t *p = find(s, "disk", i, &length);
        struct disk_section ds;
        if (!p || length <= sizeof(ds) || p[length - 1] != '\0')
            return fail(err, errlen, "disk %u: malformed section", i);
        memcpy(&ds, p, sizeof(ds));
        uint64_t size = virtio_blk_size(m->disks[i]);
        if (size != ds.size)
            return fail(err, errlen, "disk %s: %llu bytes, but the snapshot's disk %u (%s) had "
                        "%llu", m->cfg.disks[i].path, (unsigned long long)size, i,
                        (const char *)p + sizeof(ds), (unsigned long long)ds.size);
    }
    return 0;
}

/* Loads every device's section. Caller holds bus->lock. */
static int load_devices(struct machine *m, const struct snapshot *s, char *err, size_t errlen)
{
    struct clint_state clint;
    struct plic_state plic;
    struct uart_state uart;
    struct goldfish_rtc_state rtc;
    if (!get(s, "clint", 0, &clint, sizeof(clint)) || clint_load(m->clint, &clint) < 0)
        return fail(err, errlen, "the CLINT's state is missing or impossible");
    if (!get(s, "plic", 0, &plic, sizeof(plic)) || plic_load(m->plic, &plic) < 0)
        return fail(err, errlen, "the PLIC's state is missing or impossible");
    if (!get(s, "uart", 0, &uart, sizeof(uart)) || uart_load(m->uart, &uart) < 0)
        return fail(err, errlen, "the UART's state is missing or impossible");
    if (!get(s, "rtc", 0, &rtc, sizeof(rtc)) || goldfish_rtc_load(m->rtc, &rtc) < 0)
        return fail(err, errlen, "the RTC's state is missing or impossible");
    for (unsigned i = 0; i < m->nvirtio; i++) {
        uint32_t length;
        const uint8_t *p = find(s, "virtio", i, &length);
        if (!p || virtio_mmio_load(m->virtio[i], p, length) < 0)
            return fail(err, errlen, "virtio slot %u: the state is missing or impossible", i);
    }
    return 0;
}

int snapshot_restore(struct machine *m, const struct snapshot *s, char *err, size_t errlen)
{
    if (m->nharts != s->config.nharts || m->bus.ram.size != s->config.memory_size)
        return fail(err, errlen, "the machine does not have the snapshot's harts and memory");
    if (check_devices(m, s, err, errlen) < 0)
        return -1;
    struct hart_state arch[MACHINE_MAX_HARTS];
    struct hartrun_section run[MACHINE_MAX_HARTS];
    for (unsigned i = 0; i < m->nharts; i++)
        if (!get(s, "hart", i, &arch[i], sizeof(arch[i])) ||
            !get(s, "hartrun", i, &run[i], sizeof(run[i])) || arch[i].id != i ||
            arch[i].priv > PRIV_M || run[i].parked > 1)
            return fail(err, errlen, "hart %u: the state is missing or impossible", i);
    struct time_section t;
    if (!get(s, "time", 0, &t, sizeof(t)))
        return fail(err, errlen, "the time section is missing");

    pthread_mutex_lock(&m->bus.lock);
    int rc = load_devices(m, s, err, errlen);
    pthread_mutex_unlock(&m->bus.lock);
    if (rc < 0)
        return -1;
    m->tohost_addr = s->config.tohost_addr;
    m->fromhost_addr = s->config.fromhost_addr;
    for (unsigned i = 0; i < m->nharts; i++) {
        struct hart *h = m->harts[i];
        uint64_t mip = atomic_load(&h->arch.mip);  /* the lines the devices drive now */
        arch[i].mip = mip | (atomic_load(&arch[i].mip) & ~(MIP_MSIP | MIP_MEIP | MIP_SEIP));
        hart_load_state(h, &arch[i]);
        atomic_store(&m->sbi[i].state, (int)run[i].hsm_state);
        m->sbi[i].suspend_type = run[i].suspend_type;
        m->sbi[i].start_addr = run[i].start_addr;
        m->sbi[i].start_arg = run[i].start_arg;
        if (!run[i].parked)
            hart_unpark(h);
    }
    /* mtime goes on from the snapshot's: the guest sees no jump in time. */
    atomic_store(&m->boot_ns, monotonic_ns() -
                                  t.mtime * (1000000000ULL / MACHINE_TIMEBASE_HZ));
    return 0;
}
