/*
 * libFuzzer target: guest memory filled from the input (descriptor table, rings,
 * indirect tables, request headers) is run through virtq_pop and every chain it accepts
 * through virtio_blk_execute against an in-memory image. Any crash, sanitizer report or
 * hang is a bug: hostile rings must end in VIRTQ_BROKEN or an error status.
 * Input: byte 0 picks the queue size (2^(b % 5), small so the rings fit in short inputs) and byte 1 the negotiated features and
 * disk mode; the rest is copied to guest RAM at guest physical address 0, where the
 * available ring, descriptor table and used ring sit close together (and may overlap).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtqueue.h"

#define RAM_SIZE 0x10000
#define DESC_ADDR 0x30
#define AVAIL_ADDR 0x0
#define USED_ADDR 0x200
#define DISK_SIZE 0x10000
#define MAX_REQUESTS 64

static struct guest_ram ram;
static struct blk_backend disk;

static void setup(void)
{
    if (guest_ram_init(&ram, 0, RAM_SIZE) < 0)
        abort();
    disk.fd = memfd_create("fuzz-disk", 0);
    if (disk.fd < 0 || ftruncate(disk.fd, DISK_SIZE) < 0)
        abort();
    disk.sectors = DISK_SIZE / 512;
    memcpy(disk.serial, "FUZZ", 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram.host)
        setup();
    if (size < 2)
        return 0;
    uint8_t size_sel = data[0], flags = data[1];
    data += 2;
    size -= 2;
    memset(ram.host, 0, RAM_SIZE);
    memcpy(ram.host, data, size < RAM_SIZE ? size : RAM_SIZE);
    disk.readonly = flags & 4;

    struct virtq q = { .ram = &ram };
    virtq_reset(&q);
    q.size = (uint16_t)(1u << (size_sel % 5));
    q.desc_addr = DESC_ADDR;
    q.avail_addr = AVAIL_ADDR;
    q.used_addr = USED_ADDR;
    q.indirect = flags & 1;
    q.event_idx = flags & 2;
    if (!virtq_enable(&q))
        return 0;

    static struct virtq_req req;
    for (int i = 0; i < MAX_REQUESTS && virtq_pop(&q, &req) == VIRTQ_GOT; i++) {
        uint32_t used_len = 0;
        if (!virtio_blk_execute(&disk, &ram, &req, &used_len))
            break;
        if (used_len > req.in_len)
            abort();   /* the device claims to have written more than it was given */
        virtq_push(&q, req.head, used_len);
        virtq_should_notify(&q);
    }
    return 0;
}
