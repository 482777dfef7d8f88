/* The cgroup writer against a temporary directory standing in for /sys/fs/cgroup: which
 * hierarchy it picks, where it nests the groups, what it writes in their files, and that
 * it removes the groups a killed supervisor left. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/cgroup.h"
#include "unit.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void dirs(const char *rel)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "mkdir -p '%s/%s'", root, rel);
    CHECK(system(path) == 0);
}

/* Whether dir/file holds text exactly. */
static bool holds(const char *dir, const char *file, const char *text)
{
    char path[PATH_MAX * 2], got[128] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
    got[n] = '\0';
    if (f)
        fclose(f);
    if (strcmp(got, text))
        fprintf(stderr, "%s holds '%s', not '%s'\n", path, got, text);
    return !strcmp(got, text);
}

static void fresh_root(void)
{
    char cmd[128];
    if (root[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        CHECK(system(cmd) == 0);
    }
    snprintf(root, sizeof(root), "/tmp/rackvm-cgroup-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
}

/* A hybrid host like this one: v2 with no controllers to speak of, v1 memory and cpu. */
static void v1(void)
{
    fresh_root();
    dirs("unified");
    dirs("memory/job/7");
    dirs("cpu");
    put("unified/cgroup.controllers", "hugetlb\n");
    put("self", "9:name=systemd:/\n4:memory:/job/7\n2:cpuacct:/\n1:cpu:/\n0::/\n");
    /* A dead supervisor's groups (pid 0x7ffffffe is never given), a live one's, another
     * prefix's. */
    dirs("memory/job/7/rack-2147483646/web");
    dirs("cpu/rack-2147483646/web");
    dirs("memory/job/7/rack-1");
    dirs("memory/job/7/other-2147483646");
    char self[PATH_MAX], why[512];
    snprintf(self, sizeof(self), "%s/self", root);
    struct cgroup_host h;
    CHECK(cgroup_host_open(&h, root, self, "rack", why, sizeof(why)) == 0);
    CHECK(h.version == CGROUP_V1);
    char want[PATH_MAX];
    snprintf(want, sizeof(want), "%s/memory/job/7/rack-%d", root, (int)getpid());
    CHECK(!strcmp(h.memory_dir, want));
    snprintf(want, sizeof(want), "%s/cpu/rack-%d", root, (int)getpid());
    CHECK(!strcmp(h.cpu_dir, want));
    snprintf(want, sizeof(want), "%s/memory/job/7/rack-2147483646", root);
    CHECK(access(want, F_OK) < 0);
    snprintf(want, sizeof(want), "%s/cpu/rack-2147483646", root);
    CHECK(access(want, F_OK) < 0);
    snprintf(want, sizeof(want), "%s/memory/job/7/rack-1", root);  /* init: alive */
    CHECK(access(want, F_OK) == 0);
    snprintf(want, sizeof(want), "%s/memory/job/7/other-2147483646", root);
    CHECK(access(want, F_OK) == 0);

    struct cgroup_vm vm;
    struct cgroup_limits lim = { 300ULL << 20, 1500 };
    CHECK(cgroup_vm_create(&h, "web", &lim, &vm, why, sizeof(why)) == 0);
    CHECK(holds(vm.memory_dir, "memory.limit_in_bytes", "314572800"));
    CHECK(holds(vm.cpu_dir, "cpu.cfs_period_us", "100000"));
    CHECK(holds(vm.cpu_dir, "cpu.cfs_quota_us", "150000"));
    snprintf(want, sizeof(want), "%s/cpu/rack-%d/web", root, (int)getpid());
    CHECK(!strcmp(vm.cpu_dir, want));
    /* The child writes "0" (itself) into both hierarchies. */
    CHECK(cgroup_vm_join(&vm) == 0);
    CHECK(holds(vm.memory_dir, "cgroup.procs", "0"));
    CHECK(holds(vm.cpu_dir, "cgroup.procs", "0"));
    cgroup_vm_remove(&vm);
    CHECK(vm.procs_fd[0] == -1 && vm.procs_fd[1] == -1);

    /* No CPU limit: the quota is -1. */
    struct cgroup_limits memory_only = { 64ULL << 20, 0 };
    CHECK(cgroup_vm_create(&h, "mail", &memory_only, &vm, why, sizeof(why)) == 0);
    CHECK(holds(vm.cpu_dir, "cpu.cfs_quota_us", "-1"));
    cgroup_vm_remove(&vm);
}

/* A v2 host whose cgroup offers memory and cpu. */
static void v2(void)
{
    fresh_root();
    dirs("svc");
    put("cgroup.controllers", "cpuset cpu io memory pids\n");
    put("svc/cgroup.controllers", "cpu memory pids\n");
    put("self", "0::/svc\n");
    char self[PATH_MAX], why[512];
    snprintf(self, sizeof(self), "%s/self", root);
    struct cgroup_host h;
    CHECK(cgroup_host_open(&h, root, self, "rack", why, sizeof(why)) == 0);
    CHECK(h.version == CGROUP_V2);
    char svc[PATH_MAX];
    snprintf(svc, sizeof(svc), "%s/svc", root);
    CHECK(holds(svc, "cgroup.subtree_control", "+memory +cpu"));
    CHECK(holds(h.memory_dir, "cgroup.subtree_control", "+memory +cpu"));
    struct cgroup_vm vm;
    struct cgroup_limits lim = { 100ULL << 20, 250 };
    CHECK(cgroup_vm_create(&h, "web", &lim, &vm, why, sizeof(why)) == 0);
    CHECK(!strcmp(vm.memory_dir, vm.cpu_dir) && vm.procs_fd[1] == -1);
    CHECK(holds(vm.memory_dir, "memory.max", "104857600"));
    CHECK(holds(vm.cpu_dir, "cpu.max", "25000 100000"));
    cgroup_vm_remove(&vm);
}

/* Neither: the reason names both. */
static void none(void)
{
    fresh_root();
    dirs("unified");
    put("unified/cgroup.controllers", "hugetlb\n");
    put("self", "0::/\n");
    char self[PATH_MAX], why[512];
    snprintf(self, sizeof(self), "%s/self", root);
    struct cgroup_host h;
    CHECK(cgroup_host_open(&h, root, self, "rack", why, sizeof(why)) < 0);
    CHECK(h.version == CGROUP_NONE);
    CHECK(strstr(why, "does not offer the memory and cpu controllers") != NULL);
    CHECK(strstr(why, "no cgroup v1 memory and cpu hierarchies") != NULL);
    struct cgroup_vm vm;
    struct cgroup_limits lim = { 1 << 20, 0 };
    CHECK(cgroup_vm_create(&h, "web", &lim, &vm, why, sizeof(why)) < 0);
}

int main(void)
{
    v1();
    v2();
    none();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
    UNIT_DONE();
}
