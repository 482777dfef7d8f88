#include "host/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Writes text to dir/file (O_CREAT only matters for a directory standing in for one). */
static int write_file(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Whether the space-separated word list in file holds word. */
static bool file_has_word(const char *file, const char *word)
{
    FILE *f = fopen(file, "re");
    char token[64];
    bool found = false;
    while (f && !found && fscanf(f, "%63s", token) == 1)
        found = !strcmp(token, word);
    if (f)
        fclose(f);
    return found;
}

/* Whether the comma-separated list holds word. */
static bool list_has(const char *list, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = list; p; p = strchr(p, ',')) {
        if (*p == ',')
            p++;
        if (!strncmp(p, word, len) && (p[len] == ',' || p[len] == '\0'))
            return true;
    }
    return false;
}

/* The supervisor's cgroup paths: v2's (0::PATH) and v1's memory and cpu hierarchies'. */
struct self_paths {
    char v2[PATH_MAX], memory[PATH_MAX], cpu[PATH_MAX];
    bool has_v2, has_memory, has_cpu;
};

static void read_self(const char *self_cgroup, struct self_paths *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(self_cgroup, "re");
    char line[PATH_MAX + 128];
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path)
            continue;
        *controllers++ = '\0';
        *path++ = '\0';
        if (!strcmp(line, "0") && !*controllers) {
            s->has_v2 = true;
            snprintf(s->v2, sizeof(s->v2), "%s", path);
        }
        if (list_has(controllers, "memory")) {
            s->has_memory = true;
            snprintf(s->memory, sizeof(s->memory), "%s", path);
        }
        if (list_has(controllers, "cpu")) {
            s->has_cpu = true;
            snprintf(s->cpu, sizeof(s->cpu), "%s", path);
        }
    }
    if (f)
        fclose(f);
}

static bool join(char *out, const char *a, const char *b, const char *c)
{
    /* "/" as the supervisor's path: no doubled slash. */
    int n = snprintf(out, PATH_MAX, "%s%s/%s", a, strcmp(b, "/") ? b : "", c);
    return n > 0 && n < PATH_MAX;
}

static int make_group(const char *dir, char *why, size_t whylen)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return fail(why, whylen, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

static int open_v2(struct cgroup_host *h, const char *root, const struct self_paths *s,
                   const char *group, char *why, size_t whylen)
{
    char mount[PATH_MAX], own[PATH_MAX], file[PATH_MAX + 32];
    snprintf(file, sizeof(file), "%s/cgroup.controllers", root);
    snprintf(mount, sizeof(mount), "%s%s", root, access(file, F_OK) == 0 ? "" : "/unified");
    if (!join(own, mount, s->v2, "") || !join(h->memory_dir, mount, s->v2, group))
        return fail(why, whylen, "too long a cgroup path");
    own[strlen(own) - 1] = '\0';
    snprintf(file, sizeof(file), "%s/cgroup.controllers", own);
    if (!file_has_word(file, "memory") || !file_has_word(file, "cpu"))
        return fail(why, whylen, "cgroup v2 at %s does not offer the memory and cpu controllers",
                    own);
    /* Enabled for the rack's group here and for its VMs' groups in it. */
    if (write_file(own, "cgroup.subtree_control", "+memory +cpu") < 0)
        return fail(why, whylen, "cannot enable memory and cpu under %s: %s", own, strerror(errno));
    if (make_group(h->memory_dir, why, whylen) < 0)
        return -1;
    if (write_file(h->memory_dir, "cgroup.subtree_control", "+memory +cpu") < 0)
        return fail(why, whylen, "cannot enable memory and cpu under %s: %s", h->memory_dir,
                    strerror(errno));
    snprintf(h->cpu_dir, sizeof(h->cpu_dir), "%s", h->memory_dir);
    h->version = CGROUP_V2;
    return 0;
}

static int open_v1(struct cgroup_host *h, const char *root, const struct self_paths *s,
                   const char *group, char *why, size_t whylen)
{
    char mem_root[PATH_MAX], cpu_root[PATH_MAX];
    snprintf(mem_root, sizeof(mem_root), "%s/memory", root);
    snprintf(cpu_root, sizeof(cpu_root), "%s/cpu", root);
    if (!s->has_memory || !s->has_cpu || access(mem_root, F_OK) < 0 || access(cpu_root, F_OK) < 0)
        return fail(why, whylen, "no cgroup v1 memory and cpu hierarchies under %s", root);
    if (!join(h->memory_dir, mem_root, s->memory, group) || !join(h->cpu_dir, cpu_root, s->cpu, group))
        return fail(why, whylen, "too long a cgroup path");
    if (make_group(h->memory_dir, why, whylen) < 0)
        return -1;
    if (make_group(h->cpu_dir, why, whylen) < 0) {
        rmdir(h->memory_dir);
        return -1;
    }
    h->version = CGROUP_V1;
    return 0;
}

/* Removes dir's empty subdirectories, then dir (a cgroup whose processes are gone). */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char sub[PATH_MAX];
        if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
            snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) < (int)sizeof(sub))
            rmdir(sub);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* The groups PREFIX-PID in the directory of group_dir whose supervisor PID is gone. */
static void remove_stale(const char *group_dir, const char *prefix)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", group_dir);
    char *slash = strrchr(parent, '/');
    if (!slash)
        return;
    *slash = '\0';
    size_t len = strlen(prefix);
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, prefix, len) || e->d_name[len] != '-')
            continue;
        long pid = strtol(e->d_name + len + 1, &end, 10);
        char stale[PATH_MAX];
        /* Alive, or another user's (EPERM): kept. */
        if (*end || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(stale, sizeof(stale), "%s/%s", parent, e->d_name) < (int)sizeof(stale))
            remove_tree(stale);
    }
    if (d)
        closedir(d);
}

int cgroup_host_open(struct cgroup_host *h, const char *root, const char *self_cgroup,
                     const char *prefix, char *why, size_t whylen)
{
    memset(h, 0, sizeof(*h));
    char group[64];
    snprintf(group, sizeof(group), "%s-%d", prefix, (int)getpid());
    struct self_paths s;
    read_self(self_cgroup, &s);
    char why_v2[PATH_MAX + 128] = "";
    if (s.has_v2 && open_v2(h, root, &s, group, why_v2, sizeof(why_v2)) == 0) {
        remove_stale(h->memory_dir, prefix);
        return 0;
    }
    char why_v1[PATH_MAX + 128];
    if (open_v1(h, root, &s, group, why_v1, sizeof(why_v1)) == 0) {
        remove_stale(h->memory_dir, prefix);
        remove_stale(h->cpu_dir, prefix);
        return 0;
    }
    h->version = CGROUP_NONE;
    return fail(why, whylen, "%s%s%s", why_v2, *why_v2 ? "; " : "", why_v1);
}

void cgroup_host_close(struct cgroup_host *h)
{
    if (h->version == CGROUP_NONE)
        return;
    rmdir(h->memory_dir);
    if (h->version == CGROUP_V1)
        rmdir(h->cpu_dir);
    h->version = CGROUP_NONE;
}

static int write_limits(enum cgroup_version version, const struct cgroup_vm *vm,
                        const struct cgroup_limits *lim)
{
    char memory[32], cpu[48];
    if (version == CGROUP_V2) {
        snprintf(memory, sizeof(memory), lim->memory_bytes ? "%" PRIu64 : "max", lim->memory_bytes);
        if (lim->cpu_millis)
            snprintf(cpu, sizeof(cpu), "%u %u", lim->cpu_millis * (CGROUP_CPU_PERIOD_US / 1000),
                     CGROUP_CPU_PERIOD_US);
        else
            snprintf(cpu, sizeof(cpu), "max %u", CGROUP_CPU_PERIOD_US);
        return write_file(vm->memory_dir, "memory.max", memory) < 0 ||
               write_file(vm->cpu_dir, "cpu.max", cpu) < 0 ? -1 : 0;
    }
    snprintf(memory, sizeof(memory), lim->memory_bytes ? "%" PRIu64 : "-1", lim->memory_bytes);
    char period[16];
    snprintf(period, sizeof(period), "%u", CGROUP_CPU_PERIOD_US);
    if (lim->cpu_millis)
        snprintf(cpu, sizeof(cpu), "%u", lim->cpu_millis * (CGROUP_CPU_PERIOD_US / 1000));
    else
        snprintf(cpu, sizeof(cpu), "-1");
    return write_file(vm->memory_dir, "memory.limit_in_bytes", memory) < 0 ||
           write_file(vm->cpu_dir, "cpu.cfs_period_us", period) < 0 ||
           write_file(vm->cpu_dir, "cpu.cfs_quota_us", cpu) < 0 ? -1 : 0;
}

int cgroup_vm_create(const struct cgroup_host *h, const char *name, const struct cgroup_limits *lim,
                     struct cgroup_vm *vm, char *why, size_t whylen)
{
    *vm = (struct cgroup_vm){ .procs_fd = { -1, -1 } };
    if (h->version == CGROUP_NONE)
        return fail(why, whylen, "no cgroup hierarchy");
    if (!join(vm->memory_dir, h->memory_dir, "/", name) || !join(vm->cpu_dir, h->cpu_dir, "/", name))
        return fail(why, whylen, "too long a cgroup path");
    unsigned ndirs = h->version == CGROUP_V2 ? 1 : 2;
    const char *dirs[2] = { vm->memory_dir, vm->cpu_dir };
    for (unsigned i = 0; i < ndirs; i++) {
        char procs[PATH_MAX + 16];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[i]);
        int made = make_group(dirs[i], why, whylen);
        if (made == 0 && (vm->procs_fd[i] = open(procs, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
            made = fail(why, whylen, "%s: %s", procs, strerror(errno));
        if (made < 0) {
            cgroup_vm_remove(vm);
            return -1;
        }
    }
    if (write_limits(h->version, vm, lim) < 0) {
        fail(why, whylen, "cannot write the limits in %s: %s", vm->memory_dir, strerror(errno));
        cgroup_vm_remove(vm);
        return -1;
    }
    return 0;
}

int cgroup_vm_join(const struct cgroup_vm *vm)
{
    for (unsigned i = 0; i < 2; i++)
        if (vm->procs_fd[i] >= 0 && write(vm->procs_fd[i], "0", 1) != 1)
            return -1;
    return 0;
}

void cgroup_vm_remove(struct cgroup_vm *vm)
{
    for (unsigned i = 0; i < 2; i++) {
        if (vm->procs_fd[i] >= 0)
            close(vm->procs_fd[i]);
        vm->procs_fd[i] = -1;
    }
    if (vm->memory_dir[0])
        rmdir(vm->memory_dir);
    if (vm->cpu_dir[0] && strcmp(vm->cpu_dir, vm->memory_dir))
        rmdir(vm->cpu_dir);
    vm->memory_dir[0] = vm->cpu_dir[0] = '\0';
}
