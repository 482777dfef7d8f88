#include "host/boot_disk.h"

#include <blkid/blkid.h>
#include <ext2fs/ext2fs.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* Where U-Boot's distro boot looks for the configuration, in its order. */
static const char *const extlinux_paths[] = { "/extlinux/extlinux.conf",
                                              "/boot/extlinux/extlinux.conf" };

/* MBR's boot indicator; GPT attribute bit 2, "legacy BIOS bootable". */
#define MBR_BOOT_FLAG 0x80
#define GPT_LEGACY_BOOTABLE (1ULL << 2)

static bool partition_bootable(blkid_partition par, bool gpt)
{
    unsigned long long flags = blkid_partition_get_flags(par);
    return gpt ? (flags & GPT_LEGACY_BOOTABLE) != 0 : flags == MBR_BOOT_FLAG;
}

/* The extlinux.conf path on the ext2/3/4 file system at byte offset, or NULL. */
static const char *find_extlinux(const char *path, unsigned long long offset)
{
    char options[64];
    snprintf(options, sizeof(options), "offset=%llu", offset);
    ext2_filsys fs;
    if (ext2fs_open2(path, options, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs) != 0)
        return NULL;
    const char *hit = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(extlinux_paths) && !hit; i++) {
        ext2_ino_t ino;
        if (ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, extlinux_paths[i], &ino) == 0)
            hit = extlinux_paths[i];
    }
    ext2fs_close_free(&fs);
    return hit;
}

int boot_disk_check(const char *path, char *found, size_t foundlen, char *err, size_t errlen)
{
    blkid_probe pr = blkid_new_probe_from_filename(path);
    if (!pr) {
        snprintf(err, errlen, "cannot read %s", path);
        return -1;
    }
    blkid_probe_enable_superblocks(pr, 0);
    blkid_probe_enable_partitions(pr, 1);
    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
    blkid_partlist list = blkid_do_safeprobe(pr) == 0 ? blkid_probe_get_partitions(pr) : NULL;
    int n = list ? blkid_partlist_numof_partitions(list) : 0;
    if (n <= 0) {
        snprintf(err, errlen, "%s has no partition table (MBR or GPT) with a partition: "
                 "nothing to boot (give --kernel, or make the image with rackvm image create)",
                 path);
        blkid_free_probe(pr);
        return -1;
    }
    blkid_parttable table = blkid_partlist_get_table(list);
    bool gpt = table && !strcmp(blkid_parttable_get_type(table), "gpt");
    bool any_bootable = false;
    for (int i = 0; i < n; i++)
        any_bootable |= partition_bootable(blkid_partlist_get_partition(list, i), gpt);

    int rc = -1;
    for (int i = 0; i < n && rc < 0; i++) {
        blkid_partition par = blkid_partlist_get_partition(list, i);
        int partno = blkid_partition_get_partno(par);
        if (any_bootable ? !partition_bootable(par, gpt) : partno != 1)
            continue;
        /* blkid counts in 512-byte sectors whatever the table's own sector size. */
        const char *conf = find_extlinux(path, (unsigned long long)blkid_partition_get_start(par) * 512);
        if (conf) {
            snprintf(found, foundlen, "partition %d: %s", partno, conf);
            rc = 0;
        }
    }
    if (rc < 0)
        snprintf(err, errlen, "%s: no %s partition holds an ext2/3/4 file system with "
                 "/extlinux/extlinux.conf or /boot/extlinux/extlinux.conf: nothing to boot",
                 path, any_bootable ? "bootable-flagged" : "first");
    blkid_free_probe(pr);
    return rc;
}
