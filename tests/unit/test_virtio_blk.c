/*
 * virtio-blk requests against host files that really fail: /dev/full (ENOSPC on write,
 * and fdatasync refused), a directory (EISDIR on read), /proc/self/mem at an unmapped
 * address (EIO), and an image truncated below the disk's capacity. Each failure must
 * give VIRTIO_BLK_S_IOERR with the status written, one host log line per kind naming
 * the file and the errno, and leave the backend serving later requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "unit.h"

#define RAM_SIZE 0x10000
#define HDR 0x100
#define DATA 0x1000
#define STATUS 0x200
#define SECTOR 512

#define S_OK 0
#define S_IOERR 1
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_WRITE_ZEROES 13

static struct guest_ram ram;

/* Runs one request of type on sector with len data bytes at DATA; returns the status. */
static int request(struct blk_backend *b, uint32_t type, uint64_t sector, uint32_t len)
{
    uint8_t hdr[16] = { 0 };
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memcpy(ram.host + HDR, hdr, sizeof(hdr));
    ram.host[STATUS] = 0xff;
    struct virtq_req *req = calloc(1, sizeof(*req));
    unsigned i = 0;
    req->iov[i++] = (struct iovec){ ram.host + HDR, sizeof(hdr) };
    req->nout = 1;
    req->out_len = sizeof(hdr);
    if (len && type != T_IN) {
        req->iov[i++] = (struct iovec){ ram.host + DATA, len };
        req->nout++;
        req->out_len += len;
    } else if (len) {
        req->iov[i++] = (struct iovec){ ram.host + DATA, len };
        req->nin++;
        req->in_len += len;
    }
    req->iov[i++] = (struct iovec){ ram.host + STATUS, 1 };
    req->nin++;
    req->in_len++;
    uint32_t used = 0;
    CHECK(virtio_blk_execute(b, &ram, req, &used));
    free(req);
    int status = ram.host[STATUS];
    CHECK(status == S_OK || status == S_IOERR);   /* the status byte was written */
    CHECK_EQ_U64(used, status == S_OK && type == T_IN ? len + 1 : 1);
    return status;
}

/* stderr goes to a file while a test runs, so the log lines can be counted. */
static int saved_stderr = -1, log_fd = -1;

static void capture_log(void)
{
    char path[] = "/tmp/rackvm-blk-log-XXXXXX";
    log_fd = mkstemp(path);
    CHECK(log_fd >= 0);
    unlink(path);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(log_fd, 2);
}

/* Restores stderr and checks that `want` logged lines contain both words. */
#define CHECK_LOGGED(want, word1, word2) CHECK_EQ_U64(logged_lines(want, word1, word2), want)

static int logged_lines(int want, const char *word1, const char *word2)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    static char text[8192], copy[8192];
    ssize_t n = pread(log_fd, text, sizeof(text) - 1, 0);
    close(log_fd);
    text[n > 0 ? n : 0] = 0;
    memcpy(copy, text, sizeof(copy));
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        count += strstr(line, word1) && strstr(line, word2);
    if (count != want)
        fprintf(stderr, "logged:\n%s", copy);
    return count;
}

static void open_backend(struct blk_backend *b, const char *path, bool readonly)
{
    struct disk_config cfg = { .path = path, .readonly = readonly };
    char why[256];
    CHECK(blk_backend_open(b, &cfg, why, sizeof(why)) == 0);
}

/* ENOSPC on every write, once logged; reads keep working; fdatasync fails for good. */
static void test_full_device(void)
{
    struct blk_backend b;
    open_backend(&b, "/dev/full", false);
    b.sectors = 64;
    capture_log();
    CHECK_EQ_U64(request(&b, T_OUT, 0, 4 * SECTOR), S_IOERR);
    CHECK_EQ_U64(request(&b, T_OUT, 8, SECTOR), S_IOERR);
    memset(ram.host + DATA, 0xaa, SECTOR);
    CHECK_EQ_U64(request(&b, T_IN, 0, SECTOR), S_OK);   /* /dev/full reads zeroes */
    CHECK_EQ_U64(ram.host[DATA], 0);
    CHECK_EQ_U64(request(&b, T_FLUSH, 0, 0), S_IOERR);   /* EINVAL: no fsync */
    CHECK_LOGGED(1, "/dev/full", strerror(ENOSPC));

    /* After a failed fdatasync a file that could sync still fails the flush. */
    int good = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    CHECK(good >= 0);
    int full = b.fd;
    b.fd = good;
    capture_log();
    CHECK_EQ_U64(request(&b, T_FLUSH, 0, 0), S_IOERR);
    CHECK_LOGGED(0, "flush", "");   /* already logged above */
    close(full);
    blk_backend_close(&b);
}

/* EISDIR from a directory and EIO from an unmapped page of /proc/self/mem. */
static void test_failing_reads(void)
{
    struct blk_backend b;
    open_backend(&b, "/tmp", true);
    b.sectors = 64;
    capture_log();
    CHECK_EQ_U64(request(&b, T_IN, 0, SECTOR), S_IOERR);
    CHECK_EQ_U64(request(&b, T_IN, 1, SECTOR), S_IOERR);
    CHECK_LOGGED(1, "/tmp", strerror(EISDIR));
    blk_backend_close(&b);

    /* Page 0 is never mapped, so the kernel refuses the access with EIO. */
    b = (struct blk_backend){ .fd = open("/proc/self/mem", O_RDONLY), .sectors = 64,
                              .readonly = true, .path = strdup("/proc/self/mem") };
    CHECK(b.fd >= 0);   /* blk_backend_open refuses it: it has no size */
    capture_log();
    CHECK_EQ_U64(request(&b, T_IN, 0, SECTOR), S_IOERR);
    CHECK_LOGGED(1, "/proc/self/mem", strerror(EIO));
    blk_backend_close(&b);
}

/* An image truncated under the disk: errors past the new end, no regrowth, rest intact. */
static void test_shrunk_image(void)
{
    char path[] = "/tmp/rackvm-blk-img-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    uint8_t sector[SECTOR];
    for (unsigned i = 0; i < 64; i++) {
        memset(sector, (int)i, sizeof(sector));
        CHECK(pwrite(fd, sector, sizeof(sector), i * SECTOR) == SECTOR);
    }
    close(fd);
    struct blk_backend b;
    open_backend(&b, path, false);
    CHECK_EQ_U64(b.sectors, 64);
    CHECK(truncate(path, 16 * SECTOR) == 0);

    capture_log();
    CHECK_EQ_U64(request(&b, T_IN, 40, SECTOR), S_IOERR);
    CHECK_EQ_U64(request(&b, T_IN, 15, 2 * SECTOR), S_IOERR);   /* straddles the end */
    CHECK_EQ_U64(request(&b, T_OUT, 40, SECTOR), S_IOERR);
    uint8_t range[16] = { 0 };   /* write-zeroes of sectors 30..31, past the end, fails too */
    uint64_t first = 30;
    uint32_t count = 2;
    memcpy(range, &first, 8);
    memcpy(range + 8, &count, 4);
    memcpy(ram.host + DATA, range, sizeof(range));
    CHECK_EQ_U64(request(&b, T_WRITE_ZEROES, 0, sizeof(range)), S_IOERR);
    CHECK_LOGGED(3, "past the end", path);   /* one read, one write, one write-zeroes */
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 16 * SECTOR);   /* not regrown */

    CHECK_EQ_U64(request(&b, T_IN, 15, SECTOR), S_OK);
    CHECK_EQ_U64(ram.host[DATA + SECTOR - 1], 15);
    memset(ram.host + DATA, 0x5c, SECTOR);
    CHECK_EQ_U64(request(&b, T_OUT, 3, SECTOR), S_OK);
    CHECK_EQ_U64(request(&b, T_FLUSH, 0, 0), S_OK);
    memset(ram.host + DATA, 0, SECTOR);
    CHECK_EQ_U64(request(&b, T_IN, 3, SECTOR), S_OK);
    CHECK_EQ_U64(ram.host[DATA + 7], 0x5c);
    /* Stats: every request counts, only the bytes of those that succeeded. */
    CHECK_EQ_U64(b.read_requests, 4);
    CHECK_EQ_U64(b.read_bytes, 2 * SECTOR);
    CHECK_EQ_U64(b.write_requests, 2);
    CHECK_EQ_U64(b.written_bytes, SECTOR);
    CHECK_EQ_U64(b.flush_requests, 1);
    blk_backend_close(&b);
    unlink(path);
}

int main(void)
{
    CHECK(guest_ram_init(&ram, 0, RAM_SIZE) == 0);
    test_full_device();
    test_failing_reads();
    test_shrunk_image();
    UNIT_DONE();
}
