/* virtio-blk: request parsing and execution on raw images, with a worker pool per disk. */
#include "devices/virtio/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/virtio_mmio.h"

#define SECTOR_SIZE 512
#define HEADER_SIZE 16
#define SEGMENT_SIZE 16   /* discard / write-zeroes range */

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

/* Header and status take one buffer each; the rest may be data. */
#define SEG_MAX (VIRTQ_MAX_SIZE - 2)
#define MAX_RANGE_SECTORS 0x400000u   /* 2 GiB per discard / write-zeroes range */
#define MAX_RANGES 1
#define QUEUE_SIZE VIRTQ_MAX_SIZE
#define WORKERS 2

/* Configuration space layout (5.2.4), up to write_zeroes_may_unmap. */
#define CFG_CAPACITY 0
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGNMENT 44
#define CFG_MAX_WRITE_ZEROES_SECTORS 48
#define CFG_MAX_WRITE_ZEROES_SEG 52
#define CFG_WRITE_ZEROES_MAY_UNMAP 56
#define CFG_SIZE 60

struct blk_job {
    struct blk_job *next;
    struct virtq_req req;
};

struct virtio_blk {
    struct bus *bus;
    struct virtio_mmio *vm;
    struct virtio_device_ops ops;
    struct blk_backend backend;

    /* Under bus->lock. */
    struct blk_job *queued, **queued_tail;
    unsigned nqueued;
    /* Requests left in the ring because QUEUE_SIZE jobs were in flight: see take_requests. */
    bool capped;
    /* Finished jobs kept for reuse: at most QUEUE_SIZE, the most ever in flight at once. */
    struct blk_job *free_jobs;
    unsigned running;
    bool stopping;
    pthread_cond_t work, idle;
    pthread_t workers[WORKERS];
    unsigned nworkers;
};

int blk_backend_open(struct blk_backend *b, const struct disk_config *cfg, char *why,
                     size_t whylen)
{
    *b = (struct blk_backend){ .fd = -1, .readonly = cfg->readonly };
    int rc = 0;
    b->path = strdup(cfg->path);
    if (!b->path) {
        snprintf(why, whylen, "%s: out of memory", cfg->path);
        return -ENOMEM;
    }
    size_t serial_len = cfg->serial ? strlen(cfg->serial) : 0;
    if (serial_len > VIRTIO_BLK_SERIAL_MAX) {
        snprintf(why, whylen, "%s: serial is longer than %d bytes", cfg->path,
                 VIRTIO_BLK_SERIAL_MAX);
        rc = -EINVAL;
        goto fail;
    }
    if (serial_len)
        memcpy(b->serial, cfg->serial, serial_len);
    b->fd = cfg->file.kept ? fcntl(cfg->file.fd, F_DUPFD_CLOEXEC, 0)
                           : open(cfg->path, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (b->fd < 0) {
        rc = -errno;
        if (!cfg->readonly && (rc == -EACCES || rc == -EROFS) && access(cfg->path, R_OK) == 0) {
            snprintf(why, whylen, "%s: the file is read-only", cfg->path);
            rc = -EROFS;
        } else {
            snprintf(why, whylen, "%s: %s", cfg->path, strerror(-rc));
        }
        goto fail;
    }
    off_t size = lseek(b->fd, 0, SEEK_END);
    if (size < 0) {
        rc = -errno;
        snprintf(why, whylen, "%s: cannot find its size: %s", cfg->path, strerror(-rc));
        goto fail;
    }
    b->sectors = (uint64_t)size / SECTOR_SIZE;
    return 0;
fail:
    blk_backend_close(b);
    return rc;
}

void blk_backend_close(struct blk_backend *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    free((char *)b->path);
    b->path = NULL;
}

/*
 * Logs a failed request once per (op, errno) per disk, so a full host disk gives one
 * line, not one per guest retry. err 0 means the image file ended early.
 */
static void log_failure(struct blk_backend *b, enum blk_op op, uint64_t sector, int err)
{
    static const char *const names[BLK_OPS] = { "read", "write", "flush", "discard/write-zeroes" };
    uint64_t bit = 1ULL << (err > 0 && err < 64 ? err : err ? 63 : 0);
    if (atomic_fetch_or(&b->logged[op], bit) & bit)
        return;
    const char *path = b->path ? b->path : "(unnamed)";
    char where[40] = "";
    if (op != BLK_OP_FLUSH)
        snprintf(where, sizeof(where), " at sector %" PRIu64, sector);
    if (err == 0)
        rvm_error("disk %s: %s%s is past the end of the image file (was it truncated?); "
                  "the guest gets an I/O error, repeats are not logged", path, names[op], where);
    else
        rvm_error("disk %s: %s%s failed: %s (errno %d); the guest gets an I/O error, "
                  "repeats are not logged", path, names[op], where, strerror(err), err);
}

/*
 * 0 when [pos, pos+len) lies inside the image file as it is now, -1 when the file has
 * been truncated below it, else an errno. Devices cannot shrink and have no st_size.
 */
static int check_file_size(const struct blk_backend *b, uint64_t pos, uint64_t len)
{
    struct stat st;
    if (fstat(b->fd, &st) < 0)
        return errno;
    return !S_ISREG(st.st_mode) || pos + len <= (uint64_t)st.st_size ? 0 : -1;
}

/*
 * Fills out[] with the part [off, off+len) of the byte stream described by in[0..n).
 * Returns the number of iovecs used.
 */
static unsigned iov_slice(const struct iovec *in, unsigned n, uint64_t off, uint64_t len,
                          struct iovec *out)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len; i++) {
        uint64_t seg = in[i].iov_len;
        if (off >= seg) {
            off -= seg;
            continue;
        }
        uint64_t take = seg - off < len ? seg - off : len;
        out[k++] = (struct iovec){ .iov_base = (uint8_t *)in[i].iov_base + off, .iov_len = take };
        len -= take;
        off = 0;
    }
    return k;
}

/*
 * preadv/pwritev until everything moved (short transfers continue, EINTR retries).
 * Returns 0, an errno, or -1 when the file ended first.
 */
static int transfer_all(int fd, struct iovec *iov, unsigned n, uint64_t pos, bool write)
{
    while (n) {
        ssize_t done = write ? pwritev(fd, iov, (int)n, (off_t)pos)
                             : preadv(fd, iov, (int)n, (off_t)pos);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return errno;
        if (done == 0)
            return write ? EIO : -1;
        pos += (uint64_t)done;
        while (n && (size_t)done >= iov->iov_len) {
            done -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= (size_t)done;
        }
    }
    return 0;
}

static bool in_range(const struct blk_backend *b, uint64_t sector, uint64_t count)
{
    return sector <= b->sectors && count <= b->sectors - sector;
}

/* The status for a host error err from transfer_all or check_file_size, logged. */
static uint8_t failed(struct blk_backend *b, enum blk_op op, uint64_t sector, int err)
{
    log_failure(b, op, sector, err < 0 ? 0 : err);
    return VIRTIO_BLK_S_IOERR;
}

static uint8_t do_rw(struct blk_backend *b, struct guest_ram *ram,
                     const struct virtq_req *req, uint64_t sector, bool write,
                     uint32_t *data_written)
{
    const struct iovec *segs = write ? req->iov : req->iov + req->nout;
    unsigned nsegs = write ? req->nout : req->nin;
    uint64_t skip = write ? HEADER_SIZE : 0;
    uint64_t len = write ? req->out_len - HEADER_SIZE : req->in_len - 1;
    if (len % SECTOR_SIZE || !in_range(b, sector, len / SECTOR_SIZE))
        return VIRTIO_BLK_S_IOERR;
    if (write && b->readonly)
        return VIRTIO_BLK_S_IOERR;
    enum blk_op op = write ? BLK_OP_WRITE : BLK_OP_READ;
    /* pwritev past a truncated end would silently regrow the file with a hole. */
    int err = write ? check_file_size(b, sector * SECTOR_SIZE, len) : 0;
    if (err)
        return failed(b, op, sector, err);
    struct iovec data[VIRTQ_MAX_SIZE];
    unsigned n = iov_slice(segs, nsegs, skip, len, data);
    err = transfer_all(b->fd, data, n, sector * SECTOR_SIZE, write);
    if (err)
        return failed(b, op, sector, err);
    if (!write) {
        n = iov_slice(segs, nsegs, 0, len, data);
        for (unsigned i = 0; i < n; i++)
            virtq_note_written(ram, data[i].iov_base, data[i].iov_len);
        *data_written = (uint32_t)len;
    }
    return VIRTIO_BLK_S_OK;
}

/* One discard or write-zeroes range; a file system without hole support still zeroes. */
static uint8_t do_range(struct blk_backend *b, const uint8_t seg[SEGMENT_SIZE],
                        uint32_t type)
{
    uint64_t sector;
    uint32_t count, flags;
    memcpy(&sector, seg, 8);
    memcpy(&count, seg + 8, 4);
    memcpy(&flags, seg + 12, 4);
    if (b->readonly)
        return VIRTIO_BLK_S_IOERR;
    uint32_t allowed = type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
    if (flags & ~allowed)
        return VIRTIO_BLK_S_UNSUPP;
    if (count > MAX_RANGE_SECTORS || !in_range(b, sector, count))
        return VIRTIO_BLK_S_IOERR;
    off_t pos = (off_t)(sector * SECTOR_SIZE), len = (off_t)count * SECTOR_SIZE;
    if (len == 0)
        return VIRTIO_BLK_S_OK;
    int err = check_file_size(b, (uint64_t)pos, (uint64_t)len);
    if (err)
        return failed(b, BLK_OP_RANGE, sector, err);
    int mode = type == VIRTIO_BLK_T_DISCARD || (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
                   ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                   : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    int r;
    while ((r = fallocate(b->fd, mode, pos, len)) < 0 && errno == EINTR)
        continue;
    if (r == 0)
        return VIRTIO_BLK_S_OK;
    if (errno != EOPNOTSUPP)
        return failed(b, BLK_OP_RANGE, sector, errno);
    /* Discard is only a hint; write-zeroes must still zero. */
    if (type == VIRTIO_BLK_T_DISCARD)
        return VIRTIO_BLK_S_OK;
    static const uint8_t zeroes[64 * 1024];
    for (off_t done = 0; done < len;) {
        size_t n = (size_t)(len - done < (off_t)sizeof(zeroes) ? len - done : (off_t)sizeof(zeroes));
        ssize_t w = pwrite(b->fd, zeroes, n, pos + done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return failed(b, BLK_OP_RANGE, sector, w < 0 ? errno : EIO);
        done += w;
    }
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_ranges(struct blk_backend *b, const struct virtq_req *req, uint32_t type)
{
    uint64_t len = req->out_len - HEADER_SIZE;
    if (len == 0 || len % SEGMENT_SIZE || len / SEGMENT_SIZE > MAX_RANGES)
        return VIRTIO_BLK_S_IOERR;
    for (uint64_t off = HEADER_SIZE; off < req->out_len; off += SEGMENT_SIZE) {
        uint8_t seg[SEGMENT_SIZE];
        virtq_copy_from_req(req, off, seg, sizeof(seg));
        uint8_t status = do_range(b, seg, type);
        if (status != VIRTIO_BLK_S_OK)
            return status;
    }
    return VIRTIO_BLK_S_OK;
}

/* fdatasync; once one failed, every later flush fails (see virtio_blk.h). */
static uint8_t do_flush(struct blk_backend *b)
{
    if (b->readonly)
        return VIRTIO_BLK_S_OK;
    int err = atomic_load(&b->flush_error);
    if (!err) {
        int r;
        while ((r = fdatasync(b->fd)) < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return VIRTIO_BLK_S_OK;
        err = errno;
        int none = 0;
        atomic_compare_exchange_strong(&b->flush_error, &none, err);
    }
    return failed(b, BLK_OP_FLUSH, 0, err);
}

/* Counts a request for stats: bytes_out written to the image, bytes_in read from it. */
static void count_request(struct blk_backend *b, uint32_t type, uint64_t bytes_out,
                          uint64_t bytes_in)
{
    if (type == VIRTIO_BLK_T_IN) {
        atomic_fetch_add_explicit(&b->read_requests, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->read_bytes, bytes_in, memory_order_relaxed);
    } else if (type == VIRTIO_BLK_T_OUT) {
        atomic_fetch_add_explicit(&b->write_requests, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->written_bytes, bytes_out, memory_order_relaxed);
    } else if (type == VIRTIO_BLK_T_FLUSH) {
        atomic_fetch_add_explicit(&b->flush_requests, 1, memory_order_relaxed);
    }
}

bool virtio_blk_execute(struct blk_backend *b, struct guest_ram *ram,
                        const struct virtq_req *req, uint32_t *used_len)
{
    if (req->out_len < HEADER_SIZE || req->in_len < 1)
        return false;
    uint8_t header[HEADER_SIZE];
    virtq_copy_from_req(req, 0, header, sizeof(header));
    uint32_t type;
    uint64_t sector;
    memcpy(&type, header, 4);
    memcpy(&sector, header + 8, 8);

    uint32_t data_written = 0;
    uint8_t status;
    switch (type) {
    case VIRTIO_BLK_T_IN:
        status = do_rw(b, ram, req, sector, false, &data_written);
        break;
    case VIRTIO_BLK_T_OUT:
        status = do_rw(b, ram, req, sector, true, &data_written);
        break;
    case VIRTIO_BLK_T_FLUSH:
        status = do_flush(b);
        break;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = req->in_len - 1 < VIRTIO_BLK_SERIAL_MAX ? req->in_len - 1 : VIRTIO_BLK_SERIAL_MAX;
        data_written = (uint32_t)virtq_copy_to_req(ram, req, 0, b->serial, n);
        status = VIRTIO_BLK_S_OK;
        break;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        status = do_ranges(b, req, type);
        break;
    default:
        status = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    count_request(b, type, status == VIRTIO_BLK_S_OK ? req->out_len - HEADER_SIZE : 0,
                  data_written);
    virtq_copy_to_req(ram, req, req->in_len - 1, &status, 1);
    *used_len = data_written + 1;
    return true;
}

uint64_t virtio_blk_size(const struct virtio_blk *blk)
{
    return blk->backend.sectors * SECTOR_SIZE;
}

void virtio_blk_get_stats(const struct virtio_blk *blk, struct virtio_blk_stats *s)
{
    const struct blk_backend *b = &blk->backend;
    *s = (struct virtio_blk_stats){
        .read_requests = atomic_load_explicit(&b->read_requests, memory_order_relaxed),
        .write_requests = atomic_load_explicit(&b->write_requests, memory_order_relaxed),
        .flush_requests = atomic_load_explicit(&b->flush_requests, memory_order_relaxed),
        .read_bytes = atomic_load_explicit(&b->read_bytes, memory_order_relaxed),
        .written_bytes = atomic_load_explicit(&b->written_bytes, memory_order_relaxed),
    };
}

/* A job from the free list, else a new one: a notify storm allocates nothing. */
static struct blk_job *job_get(struct virtio_blk *blk)
{
    struct blk_job *job = blk->free_jobs;
    if (!job)
        return malloc(sizeof(*job));
    blk->free_jobs = job->next;
    return job;
}

static void job_put(struct virtio_blk *blk, struct blk_job *job)
{
    job->next = blk->free_jobs;
    blk->free_jobs = job;
}

/*
 * Pops requests into jobs for the workers, at most QUEUE_SIZE in flight. A driver never
 * has more (each needs a chain of its own), but a hostile one can make one chain
 * available again and again: what it has posted beyond the cap waits in the ring, and
 * a worker that finishes a job takes more, so the guest cannot grow the job list.
 */
static void take_requests(struct virtio_blk *blk)
{
    blk->capped = false;
    while (blk->nqueued + blk->running < QUEUE_SIZE) {
        struct blk_job *job = job_get(blk);
        if (!job) {
            virtio_mmio_fail(blk->vm);
            return;
        }
        if (!virtio_mmio_pop(blk->vm, 0, &job->req)) {
            job_put(blk, job);
            return;
        }
        job->next = NULL;
        *blk->queued_tail = job;
        blk->queued_tail = &job->next;
        blk->nqueued++;
        bus_request_taken(blk->bus);
        pthread_cond_signal(&blk->work);
    }
    blk->capped = true;
}

static void *worker_thread(void *arg)
{
    struct virtio_blk *blk = arg;
    pthread_mutex_t *lock = &blk->bus->lock;
    pthread_mutex_lock(lock);
    for (;;) {
        while (!blk->queued && !blk->stopping)
            pthread_cond_wait(&blk->work, lock);
        if (blk->stopping)
            break;
        struct blk_job *job = blk->queued;
        blk->queued = job->next;
        if (!blk->queued)
            blk->queued_tail = &blk->queued;
        blk->nqueued--;
        blk->running++;
        pthread_mutex_unlock(lock);

        uint32_t used_len = 0;
        bool ok = virtio_blk_execute(&blk->backend, &blk->bus->ram, &job->req, &used_len);

        pthread_mutex_lock(lock);
        struct virtq *q = virtio_mmio_queue(blk->vm, 0);
        if (!ok) {
            virtio_mmio_fail(blk->vm);
        } else if (q) {
            virtq_push(q, job->req.head, used_len);
            virtio_mmio_used(blk->vm, 0);
        }
        job_put(blk, job);
        bus_request_done(blk->bus);
        if (--blk->running == 0)
            pthread_cond_broadcast(&blk->idle);
        if (blk->capped)
            take_requests(blk);
    }
    pthread_mutex_unlock(lock);
    return NULL;
}

static void blk_queue_notify(void *dev, unsigned qi)
{
    (void)qi;   /* the only queue */
    take_requests(dev);
}

static void drop_queued(struct virtio_blk *blk)
{
    while (blk->queued) {
        struct blk_job *job = blk->queued;
        blk->queued = job->next;
        job_put(blk, job);
        bus_request_done(blk->bus);
    }
    blk->queued_tail = &blk->queued;
    blk->nqueued = 0;
}

static void blk_reset(void *dev)
{
    struct virtio_blk *blk = dev;
    drop_queued(blk);
    /* Running requests write into guest RAM: they must end before the reset does. */
    while (blk->running)
        pthread_cond_wait(&blk->idle, &blk->bus->lock);
}

/* Lets the workers finish every queued and running job, and takes what the cap left. */
static void blk_quiesce(void *dev)
{
    struct virtio_blk *blk = dev;
    while (blk->queued || blk->running || blk->capped) {
        if (blk->capped && !blk->queued && !blk->running)
            take_requests(blk);
        if (blk->queued || blk->running)
            pthread_cond_wait(&blk->idle, &blk->bus->lock);
    }
}

/*
 * The disk has one queue, so every job belongs to it: drain them all as a device reset
 * does. The transport has already disabled the queue, so a request that finishes while
 * we wait is not completed into it.
 */
static void blk_queue_reset(void *dev, unsigned q)
{
    (void)q;
    blk_reset(dev);
}

static void put32(uint8_t *config, unsigned off, uint32_t v)
{
    memcpy(config + off, &v, 4);
}

static void blk_config_read(void *dev, uint8_t *config)
{
    struct virtio_blk *blk = dev;
    memcpy(config + CFG_CAPACITY, &blk->backend.sectors, 8);
    put32(config, CFG_SEG_MAX, SEG_MAX);
    put32(config, CFG_BLK_SIZE, SECTOR_SIZE);
    put32(config, CFG_MAX_DISCARD_SECTORS, MAX_RANGE_SECTORS);
    put32(config, CFG_MAX_DISCARD_SEG, MAX_RANGES);
    put32(config, CFG_DISCARD_ALIGNMENT, 1);
    put32(config, CFG_MAX_WRITE_ZEROES_SECTORS, MAX_RANGE_SECTORS);
    put32(config, CFG_MAX_WRITE_ZEROES_SEG, MAX_RANGES);
    config[CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
}

static void blk_destroy(void *dev)
{
    struct virtio_blk *blk = dev;
    pthread_mutex_lock(&blk->bus->lock);
    blk->stopping = true;
    pthread_cond_broadcast(&blk->work);
    pthread_mutex_unlock(&blk->bus->lock);
    for (unsigned i = 0; i < blk->nworkers; i++)
        pthread_join(blk->workers[i], NULL);
    drop_queued(blk);
    while (blk->free_jobs) {
        struct blk_job *job = blk->free_jobs;
        blk->free_jobs = job->next;
        free(job);
    }
    blk_backend_close(&blk->backend);
    pthread_cond_destroy(&blk->work);
    pthread_cond_destroy(&blk->idle);
    free(blk);
}

struct virtio_mmio *virtio_blk_create(const struct device_slot *slot,
                                      const struct disk_config *cfg, struct virtio_blk **out)
{
    struct virtio_blk *blk = calloc(1, sizeof(*blk));
    if (!blk) {
        rvm_error("out of memory");
        return NULL;
    }
    blk->bus = slot->bus;
    blk->queued_tail = &blk->queued;
    pthread_cond_init(&blk->work, NULL);
    pthread_cond_init(&blk->idle, NULL);
    char why[PATH_MAX + 128];
    if (blk_backend_open(&blk->backend, cfg, why, sizeof(why)) < 0) {
        rvm_error("disk %s", why);
        blk_destroy(blk);
        return NULL;
    }
    uint64_t features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                        (1ULL << VIRTIO_BLK_F_FLUSH);
    features |= cfg->readonly ? 1ULL << VIRTIO_BLK_F_RO
                              : (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
    blk->ops = (struct virtio_device_ops){
        .device_id = VIRTIO_ID_BLOCK,
        .num_queues = 1,
        .queue_size = QUEUE_SIZE,
        .features = features,
        .config_size = CFG_SIZE,
        .config_read = blk_config_read,
        .queue_notify = blk_queue_notify,
        .reset = blk_reset,
        .queue_reset = blk_queue_reset,
        .destroy = blk_destroy,
        .quiesce = blk_quiesce,
    };
    for (; blk->nworkers < WORKERS; blk->nworkers++) {
        int err = thread_start(&blk->workers[blk->nworkers], "blk-io", worker_thread, blk);
        if (err) {
            rvm_error("disk %s: cannot start an I/O thread: %s", cfg->path, strerror(err));
            blk_destroy(blk);
            return NULL;
        }
    }
    blk->vm = virtio_mmio_create(slot, &blk->ops, blk);
    if (!blk->vm) {
        blk_destroy(blk);
        return NULL;
    }
    if (out)
        *out = blk;
    return blk->vm;
}
