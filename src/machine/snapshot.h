/*
 * Snapshots of a whole VM (the format is documented in docs/snapshot.md): a directory
 * holding `state`, a versioned file of sections (the board's configuration, mtime, each
 * hart, each device) closed by a zlib crc32, and `memory`, guest RAM as a sparse file in
 * which only the pages that are not all zero are written. Restore maps `memory`
 * copy-on-write (MAP_PRIVATE), so pages are read lazily as the guest touches them.
 */
#ifndef RACKVM_SNAPSHOT_H
#define RACKVM_SNAPSHOT_H

#include "common.h"
#include "machine/machine.h"

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_STATE_FILE "state"
#define SNAPSHOT_MEMORY_FILE "memory"

/* What writing a snapshot cost, for the control socket and the benchmark. */
struct snapshot_stats {
    uint64_t state_bytes, memory_bytes;  /* memory_bytes: RAM pages written */
    uint64_t write_ns;
};

/*
 * Writes a snapshot of m, which must be paused (machine_pause) or have never run, into
 * dir (created if missing; an older snapshot there is replaced, each file atomically).
 * 0, or -1 with a one-line reason in err.
 */
int snapshot_write(struct machine *m, const char *dir, struct snapshot_stats *stats, char *err,
                   size_t errlen);

/* A snapshot's state file, read and checked (magic, version, length, checksum). */
struct snapshot;

/* Reads dir's state file; NULL with a one-line reason in err (missing, truncated,
 * corrupted, a newer version). */
struct snapshot *snapshot_open(const char *dir, char *err, size_t errlen);
void snapshot_close(struct snapshot *s);

/*
 * What the machine to restore into must be made with: memory size, harts and the path
 * of the memory file to map (valid while s is open).
 */
uint64_t snapshot_memory_size(const struct snapshot *s);
unsigned snapshot_nharts(const struct snapshot *s);
const char *snapshot_memory_path(const struct snapshot *s);

/*
 * Puts the state of s into m, made from the same options with the snapshot's memory
 * size, harts and memory file, never run. Refuses (-1, with the reason in err) another
 * firmware kind, other virtio devices, or a disk whose size differs from the one saved.
 * On success the harts that ran are ready to run again from where they were, and mtime
 * goes on from the snapshot's.
 */
int snapshot_restore(struct machine *m, const struct snapshot *s, char *err, size_t errlen);

#endif
