/* The control socket's commands on the VM of `rackvm run`: see control.h. */
#include "api/control.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devices/virtio/virtio_blk.h"
#include "devices/virtio/virtio_net.h"
#include "host/net_config.h"
#include "machine/machine.h"
#include "machine/snapshot.h"

#define NS_PER_SEC 1000000000ULL

void api_vm_init(struct api_vm *vm, unsigned shutdown_timeout)
{
    *vm = (struct api_vm){ .shutdown_timeout = shutdown_timeout, .start_ns = monotonic_ns() };
    vm->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&vm->lock, NULL);
}

void api_vm_destroy(struct api_vm *vm)
{
    if (vm->statm_fd >= 0)
        close(vm->statm_fd);
    pthread_mutex_destroy(&vm->lock);
}

void api_vm_attach(struct api_vm *vm, struct machine *m)
{
    pthread_mutex_lock(&vm->lock);
    vm->m = m;
    vm->stop_deadline_ns = 0;  /* a new boot is not the machine the stop was for */
    pthread_mutex_unlock(&vm->lock);
}

static void force_stop(struct machine *m)
{
    machine_request_stop(m, STOP_USER, 0, "stopped through the control socket");
}

int api_vm_check_deadline(struct api_vm *vm)
{
    pthread_mutex_lock(&vm->lock);
    int wait_ms = -1;
    if (vm->stop_deadline_ns && vm->m) {
        uint64_t now = monotonic_ns();
        if (now >= vm->stop_deadline_ns) {
            rvm_error("the guest did not power off within %u s of the control socket's stop: "
                      "stopping it", vm->shutdown_timeout);
            force_stop(vm->m);
            vm->stop_deadline_ns = 0;
        } else {
            wait_ms = (int)((vm->stop_deadline_ns - now + 999999) / 1000000);
        }
    }
    pthread_mutex_unlock(&vm->lock);
    return wait_ms;
}

static double seconds(uint64_t ns)
{
    return (double)ns / NS_PER_SEC;
}

static double guest_seconds(struct machine *m)
{
    return (double)machine_mtime(m) / MACHINE_TIMEBASE_HZ;
}

static const char *state_name(struct machine *m)
{
    if (!m || machine_stopping(m))
        return "stopping";
    return machine_paused(m) ? "paused" : "running";
}

/* Every command but status needs a machine; status reports "stopping" without one. */
static struct machine *need_machine(struct api_vm *vm, const char *command, char *err,
                                    size_t errlen)
{
    if (!vm->m)
        snprintf(err, errlen, "%s: no VM runs right now (it is restarting or stopping)", command);
    return vm->m;
}

static json_t *cmd_status(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    (void)request, (void)err, (void)errlen;
    struct machine *m = vm->m;
    json_t *r = json_pack("{s:s,s:f}", "state", state_name(m), "uptime",
                          seconds(monotonic_ns() - vm->start_ns));
    if (r && m) {
        json_object_set_new(r, "guest_time", json_real(guest_seconds(m)));
        json_object_set_new(r, "cpus", json_integer(m->nharts));
        json_object_set_new(r, "memory", json_integer((json_int_t)m->cfg.memory_size));
    }
    return r;
}

/* Why machine_pause(m) returned false. */
static const char *pause_failure(struct machine *m)
{
    return machine_stopping(m) ? "the VM is stopping"
                               : "a hart did not stop within 5 s (or the VM is still starting); it runs on";
}

static json_t *cmd_pause(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    (void)request;
    struct machine *m = need_machine(vm, "pause", err, errlen);
    if (!m)
        return NULL;
    if (!machine_pause(m)) {
        snprintf(err, errlen, "pause: %s", pause_failure(m));
        return NULL;
    }
    return json_pack("{s:s}", "state", "paused");
}

static json_t *cmd_resume(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    (void)request;
    struct machine *m = need_machine(vm, "resume", err, errlen);
    if (!m)
        return NULL;
    machine_resume(m);
    return json_pack("{s:s}", "state", state_name(m));
}

static const char *const stop_args[] = { "force", NULL };

static json_t *cmd_stop(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    json_t *force = json_object_get(request, "force");
    if (force && !json_is_boolean(force)) {
        snprintf(err, errlen, "stop: \"force\" must be true or false");
        return NULL;
    }
    struct machine *m = need_machine(vm, "stop", err, errlen);
    if (!m)
        return NULL;
    if (json_is_true(force) || vm->shutdown_timeout == 0 || !machine_press_power_button(m)) {
        force_stop(m);
        return json_pack("{s:s}", "stop", "forced");
    }
    vm->stop_deadline_ns = monotonic_ns() + vm->shutdown_timeout * NS_PER_SEC;
    return json_pack("{s:s,s:i}", "stop", "power-button", "timeout", (int)vm->shutdown_timeout);
}

static json_t *cmd_reset(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    (void)request;
    struct machine *m = need_machine(vm, "reset", err, errlen);
    if (!m)
        return NULL;
    /* As a guest reboot: --on-reboot decides between a fresh boot and an exit. */
    machine_request_stop(m, STOP_REBOOT, 0, "reset through the control socket");
    return json_pack("{s:b}", "restarts", m->cfg.reboot_restarts);
}

static const char *const snapshot_args[] = { "dir", "resume", NULL };

/*
 * Pauses the VM (unless it is paused already), writes the snapshot, and resumes it
 * unless "resume" is false or it was paused before. The answer gives what it cost.
 */
static json_t *cmd_snapshot(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    json_t *dir = json_object_get(request, "dir"), *resume = json_object_get(request, "resume");
    if (!json_is_string(dir) || !*json_string_value(dir)) {
        snprintf(err, errlen, "snapshot: \"dir\" must be the path of a directory");
        return NULL;
    }
    if (resume && !json_is_boolean(resume)) {
        snprintf(err, errlen, "snapshot: \"resume\" must be true or false");
        return NULL;
    }
    struct machine *m = need_machine(vm, "snapshot", err, errlen);
    if (!m)
        return NULL;
    bool was_paused = machine_paused(m);
    uint64_t start = monotonic_ns();
    if (!was_paused && !machine_pause(m)) {
        snprintf(err, errlen, "snapshot: %s", pause_failure(m));
        return NULL;
    }
    uint64_t paused = monotonic_ns();
    struct snapshot_stats stats;
    char why[1024];
    int rc = snapshot_write(m, json_string_value(dir), &stats, why, sizeof(why));
    bool resumed = !was_paused && !json_is_false(resume);
    if (resumed)
        machine_resume(m);
    if (rc < 0) {
        snprintf(err, errlen, "snapshot: %s", why);
        return NULL;
    }
    return json_pack("{s:s,s:s,s:f,s:f,s:I,s:I}", "dir", json_string_value(dir),
                     "state", state_name(m), "pause_seconds", seconds(paused - start),
                     "write_seconds", seconds(stats.write_ns),
                     "state_bytes", (json_int_t)stats.state_bytes,
                     "memory_bytes", (json_int_t)stats.memory_bytes);
}

/* Resident set size in bytes, from /proc/self/statm; 0 if unreadable. */
static uint64_t rss_bytes(int statm_fd)
{
    char text[128];
    unsigned long size = 0, resident = 0;
    ssize_t n = statm_fd >= 0 ? pread(statm_fd, text, sizeof(text) - 1, 0) : -1;
    if (n <= 0)
        return 0;
    text[n] = 0;
    if (sscanf(text, "%lu %lu", &size, &resident) != 2)
        return 0;
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static json_t *disk_stats(struct machine *m)
{
    json_t *disks = json_array();
    for (unsigned i = 0; disks && i < m->cfg.ndisks; i++) {
        struct virtio_blk_stats s;
        machine_disk_stats(m, i, &s);
        json_array_append_new(disks, json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I}", "path", m->cfg.disks[i].path,
            "read_requests", (json_int_t)s.read_requests,
            "write_requests", (json_int_t)s.write_requests,
            "flush_requests", (json_int_t)s.flush_requests,
            "read_bytes", (json_int_t)s.read_bytes,
            "written_bytes", (json_int_t)s.written_bytes));
    }
    return disks;
}

static json_t *nic_stats(struct machine *m)
{
    json_t *nics = json_array();
    for (unsigned i = 0; nics && i < m->cfg.nnets; i++) {
        struct virtio_net_stats s;
        machine_nic_stats(m, i, &s);
        char mac[18];
        net_format_mac(m->cfg.nets[i].mac, mac);
        json_array_append_new(nics, json_pack(
            "{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "mac", mac,
            "rx_packets", (json_int_t)s.rx_frames, "rx_bytes", (json_int_t)s.rx_bytes,
            "rx_dropped", (json_int_t)s.rx_dropped_too_big,
            "tx_packets", (json_int_t)s.tx_frames, "tx_bytes", (json_int_t)s.tx_bytes,
            "tx_dropped", (json_int_t)s.tx_dropped_malformed));
    }
    return nics;
}

static json_t *cmd_stats(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct api_vm *vm = ctx;
    (void)request;
    struct machine *m = need_machine(vm, "stats", err, errlen);
    if (!m)
        return NULL;
    return json_pack("{s:f,s:f,s:f,s:I,s:o,s:o}",
                     "guest_time", guest_seconds(m),
                     "uptime", seconds(monotonic_ns() - vm->start_ns),
                     "host_cpu_time", cpu_seconds(),
                     "rss_bytes", (json_int_t)rss_bytes(vm->statm_fd),
                     "disks", disk_stats(m), "nics", nic_stats(m));
}

const struct api_command control_commands[] = {
    { "status", NULL, cmd_status },
    { "pause", NULL, cmd_pause },
    { "resume", NULL, cmd_resume },
    { "stop", stop_args, cmd_stop },
    { "reset", NULL, cmd_reset },
    { "stats", NULL, cmd_stats },
    { "snapshot", snapshot_args, cmd_snapshot },
};
const size_t control_ncommands = ARRAY_SIZE(control_commands);

char *api_vm_answer(struct api_vm *vm, const char *line, size_t len)
{
    pthread_mutex_lock(&vm->lock);
    char *response = api_answer(vm, control_commands, control_ncommands, line, len);
    pthread_mutex_unlock(&vm->lock);
    return response;
}
