/*
 * The sandbox, installed in forked children: a sandboxed process has Seccomp 2 and
 * NoNewPrivs 1 on every thread (and a non-root uid when started as root); what a VM does
 * still works (threads, memory, entropy, its pipes); a call outside the allowlist (exec,
 * a new file, a unix socket, fork), made from any thread, ends only that
 * process with SANDBOX_BLOCKED_STATUS and one line naming the call; calls needed by one
 * feature only (opening existing files, inet sockets, a stat by path) are allowed only
 * with it. A root child given UID:GID:GROUPS takes exactly those. A jailed child has
 * mount, IPC, UTS and (without user networking) network namespaces of its own, and sees
 * no host file but the paths it keeps (never /), in a PID namespace of its own (the
 * child forks into it); one started as an ordinary user (a root test's child becomes
 * nobody first) is in a user namespace of its own too.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "host/jail.h"
#include "host/sandbox.h"
#include "unit.h"

enum action { RUN_A_VM_S_CALLS, EXEC, CREATE_FILE, OPEN_EXISTING, INET_SOCKET, UNIX_SOCKET, FORK, STAT_PATH,
              JAIL_VIEW, THREAD_HEAP_FREED };

/* JAIL_VIEW: a directory that must stay reachable in the jail, and a file beside it. */
static char kept_dir[64] = "/tmp/rackvm-jail-XXXXXX", kept_sock[96], hidden_file[96];

static enum action child_action;
/* Who the child is before it enters the sandbox: 0, as this test; else that ordinary uid. */
static uid_t child_user;

/* Ends the child without the exit handlers of a sanitizer, whose leak check makes calls the
 * filter refuses. */
static _Noreturn void end_child(int status)
{
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}
static int ready_fd = -1, go_fd = -1;

static void *idle_thread(void *arg)
{
    return arg;
}

/* In a thread started before the sandbox, as a device worker would be: TSYNC covers it. */
static void *do_action(void *arg)
{
    (void)arg;
    char c = 0;
    if (read(go_fd, &c, 1) != 1)
        end_child(4);
    switch (child_action) {
    case RUN_A_VM_S_CALLS: {
        void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        char buf[16];
        pthread_t t;
        if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) < 0 || munmap(p, 1 << 20) < 0 ||
            getrandom(buf, sizeof(buf), 0) != sizeof(buf) ||
            pthread_create(&t, NULL, idle_thread, NULL) != 0 ||
            pthread_join(t, NULL) != 0)
            end_child(5);
        break;
    }
    case THREAD_HEAP_FREED: {
        /* Blocks under the mmap threshold, all freed: a thread arena's heap would then
         * shrink, and glibc reads /proc/sys/vm/overcommit_memory the first time it does. */
        enum { blocks = 64, size = 96 << 10 };
        char *p[blocks];
        for (unsigned i = 0; i < blocks; i++)
            if (!(p[i] = malloc(size)))
                end_child(5);
            else
                memset(p[i], 1, size);
        for (unsigned i = blocks; i-- > 0;)
            free(p[i]);
        break;
    }
    case EXEC: execl("/bin/true", "true", (char *)NULL); break;
    case CREATE_FILE: open("/tmp/rackvm-sandbox-must-not-exist", O_CREAT | O_WRONLY, 0600); break;
    case OPEN_EXISTING:
        if (open("/proc/self/stat", O_RDONLY | O_CLOEXEC) < 0)
            end_child(6);
        break;
    case INET_SOCKET:
        if (socket(AF_INET, SOCK_STREAM, 0) < 0)
            end_child(7);
        break;
    case UNIX_SOCKET: socket(AF_UNIX, SOCK_STREAM, 0); break;
    case FORK: fork(); break;
    case STAT_PATH: {
        struct stat st;
        stat("/etc/passwd", &st);
        break;
    }
    case JAIL_VIEW: {
        /* The kept socket's directory is there (the socket file too); nothing else is. */
        struct stat st;
        if (stat(kept_dir, &st) < 0 || !S_ISDIR(st.st_mode) || stat(kept_sock, &st) < 0)
            end_child(8);
        if (stat("/etc/passwd", &st) == 0 || errno != ENOENT)
            end_child(9);
        if (stat("/proc/self", &st) == 0)
            end_child(10);
        if (stat(hidden_file, &st) == 0)
            end_child(11);
        break;
    }
    }
    end_child(0);
}

struct outcome {
    int status;        /* the child's exit status, or -1 when a signal ended it */
    char err[512];     /* what it wrote on stderr */
    char proc[2048];   /* its /proc/PID/status while sandboxed */
    bool own_ns[5];    /* whether its mnt, net, ipc, user and pid namespaces differ from ours */
};

static const char *const namespaces[5] = { "mnt", "net", "ipc", "user", "pid" };

static void read_all(int fd, char *buf, size_t size)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
}

/* The child of pid (the VM a jailed run forks into its PID namespace), or 0. */
static pid_t pid_in_jail(pid_t pid)
{
    char path[64], children[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        read_all(fd, children, sizeof(children));
        close(fd);
    }
    return (pid_t)atoi(children);
}

/* Forks a child that enters the sandbox of cfg, then lets its worker thread do action. */
static struct outcome run_child(const struct sandbox_config *config, enum action action)
{
    struct sandbox_config copy = *config, *cfg = &copy;
    struct outcome o = { .status = -1 };
    int err_pipe[2], ready[2], go[2];
    if (pipe(err_pipe) < 0 || pipe(ready) < 0 || pipe(go) < 0)
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        dup2(err_pipe[1], STDERR_FILENO);
        child_action = action;
        ready_fd = ready[1];
        go_fd = go[0];
        pthread_t worker;
        /* Dumpable again, as an exec would leave an ordinary user's process: the change of
         * user hands /proc/self (its uid_map) to root. */
        if (child_user && (setgroups(0, NULL) < 0 || setresgid(child_user, child_user, child_user) < 0 ||
                           setresuid(child_user, child_user, child_user) < 0 ||
                           prctl(PR_SET_DUMPABLE, 1) < 0))
            end_child(2);
        if (sandbox_prepare(cfg) < 0)
            end_child(3);
        if (pthread_create(&worker, NULL, do_action, NULL) != 0)
            end_child(2);
        if (sandbox_enter(cfg) < 0)
            end_child(3);
        if (write(ready_fd, "r", 1) != 1)
            end_child(4);
        pthread_join(worker, NULL);
        end_child(0);
    }
    close(err_pipe[1]);
    close(ready[1]);
    close(go[0]);
    char c;
    if (read(ready[0], &c, 1) == 1) {
        /* A jail's PID namespace: the VM is the child of the process started. */
        pid_t vm = pid_in_jail(pid);
        if (!vm)
            vm = pid;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)vm);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            read_all(fd, o.proc, sizeof(o.proc));
            close(fd);
        }
        for (unsigned i = 0; i < ARRAY_SIZE(namespaces); i++) {
            char theirs[64] = "", ours[64] = "", link[64];
            snprintf(link, sizeof(link), "/proc/%d/ns/%s", (int)vm, namespaces[i]);
            CHECK(readlink(link, theirs, sizeof(theirs) - 1) > 0);
            snprintf(link, sizeof(link), "/proc/self/ns/%s", namespaces[i]);
            CHECK(readlink(link, ours, sizeof(ours) - 1) > 0);
            o.own_ns[i] = strcmp(theirs, ours) != 0;
        }
        CHECK(write(go[1], "g", 1) == 1);
    }
    read_all(err_pipe[0], o.err, sizeof(o.err));
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status))
        o.status = WEXITSTATUS(status);
    close(err_pipe[0]);
    close(ready[0]);
    close(go[1]);
    return o;
}

static void check_blocked(const struct outcome *o, const char *call)
{
    CHECK(o->status == SANDBOX_BLOCKED_STATUS);
    char expect[64];
    snprintf(expect, sizeof(expect), "rackvm: sandbox: blocked system call %s (", call);
    if (!strstr(o->err, expect)) {
        fprintf(stderr, "expected \"%s\" on stderr, got: %s\n", expect, o->err);
        unit_failures++;
    }
}

static void test_a_sandboxed_process_runs_a_vm_s_calls(void)
{
    struct sandbox_config cfg = { 0 };
    struct outcome o = run_child(&cfg, RUN_A_VM_S_CALLS);
    CHECK(o.status == 0);
    CHECK(o.err[0] == '\0');
    CHECK(strstr(o.proc, "\nSeccomp:\t2\n") != NULL);
    CHECK(strstr(o.proc, "\nNoNewPrivs:\t1\n") != NULL);
    if (geteuid() == 0) {
        CHECK(strstr(o.proc, "\nUid:\t0\t") == NULL);
        CHECK(strstr(o.proc, "\nGid:\t0\t") == NULL);
        CHECK(strstr(o.proc, "\nGroups:\t0") == NULL);
    }
}

/* A VM's threads free what they allocated (a device's buffers at power-off): that may not
 * make the C library open a file under the filter (a Debian image build's VM was stopped
 * so at its power-off, after 345 s of work). */
static void test_freeing_a_thread_s_memory_is_allowed(void)
{
    struct sandbox_config cfg = { 0 };
    struct outcome o = run_child(&cfg, THREAD_HEAP_FREED);
    CHECK(o.status == 0);
    if (o.err[0]) {
        fprintf(stderr, "unexpected on stderr: %s\n", o.err);
        unit_failures++;
    }
}

static void test_calls_outside_the_list_end_the_process_naming_them(void)
{
    struct sandbox_config cfg = { .user_net = true };
    struct outcome o = run_child(&cfg, EXEC);
    check_blocked(&o, "execve");
    o = run_child(&cfg, CREATE_FILE);
    check_blocked(&o, "openat");
    CHECK(access("/tmp/rackvm-sandbox-must-not-exist", F_OK) < 0);
    o = run_child(&cfg, UNIX_SOCKET);
    check_blocked(&o, "socket");
#if defined(__x86_64__)
    CHECK(strstr(o.err, " with 0x1, 0x1, 0x0;") != NULL);  /* AF_UNIX, SOCK_STREAM, 0 */
#endif
    o = run_child(&cfg, FORK);
    check_blocked(&o, "clone");
}

static void test_feature_calls_only_with_their_feature(void)
{
    struct sandbox_config with = { .user_net = true };
    struct sandbox_config without = { 0 };
    CHECK(run_child(&with, OPEN_EXISTING).status == 0);
    CHECK(run_child(&with, INET_SOCKET).status == 0);
    struct outcome o = run_child(&without, OPEN_EXISTING);
    check_blocked(&o, "openat");
    o = run_child(&without, INET_SOCKET);
    check_blocked(&o, "socket");
    /* libslirp's DNS forwarder stats /etc/resolv.conf; nothing else stats a path */
    CHECK(run_child(&with, STAT_PATH).status == 0);
    o = run_child(&without, STAT_PATH);
    check_blocked(&o, "newfstatat");
}

static void test_a_user_that_cannot_be_taken_is_refused(void)
{
    struct sandbox_config cfg = { .user = "rackvm-no-such-user" };
    struct outcome o = run_child(&cfg, RUN_A_VM_S_CALLS);
    CHECK(o.status == 3);
    CHECK(strstr(o.err, "rackvm-no-such-user") != NULL);
    if (geteuid() == 0) {
        cfg.user = "root";
        o = run_child(&cfg, RUN_A_VM_S_CALLS);
        CHECK(o.status == 3);
        CHECK(strstr(o.err, "nothing would be dropped") != NULL);
    }
}

/* A rack VM's ids, which no passwd or group entry names: taken as given, and checked. */
static void test_numeric_ids_are_taken_exactly(void)
{
    struct sandbox_config cfg = { .user = "1900000000:1900000000:1900000002,1900000003" };
    struct outcome o = run_child(&cfg, RUN_A_VM_S_CALLS);
    if (geteuid() != 0) {
        CHECK(o.status == 3 && strstr(o.err, "must be started as root") != NULL);
        return;
    }
    CHECK(o.status == 0);
    CHECK(strstr(o.proc, "\nUid:\t1900000000\t1900000000\t1900000000\t1900000000\n") != NULL);
    CHECK(strstr(o.proc, "\nGid:\t1900000000\t1900000000\t1900000000\t1900000000\n") != NULL);
    CHECK(strstr(o.proc, "\nGroups:\t1900000000 1900000002 1900000003 \n") != NULL);
    const char *bad[] = { "1900000000", "1900000000:", "1900000000:x", "1:2:3:4", "5:0", "0:5" };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        cfg.user = bad[i];
        o = run_child(&cfg, RUN_A_VM_S_CALLS);
        CHECK(o.status == 3);
        if (o.status != 3)
            fprintf(stderr, "--sandbox-user %s was taken\n", bad[i]);
    }
}

/* The jail of a child that is root, or an ordinary user (child_user) in a user namespace. */
static void check_jail_views(void)
{
    bool user_ns = geteuid() != 0 || child_user != 0;
    struct sandbox_config cfg = { .jail = true, .user_net = true };
    cfg.switch_sockets[0] = kept_sock;
    /* User networking needs the host's network namespace (and stats by path). */
    struct outcome o = run_child(&cfg, JAIL_VIEW);
    CHECK(o.status == 0);
    if (o.status)
        fprintf(stderr, "jailed child (uid %u): status %d, %s\n", (unsigned)child_user, o.status, o.err);
    CHECK(o.own_ns[0] && !o.own_ns[1] && o.own_ns[2] && o.own_ns[3] == user_ns && o.own_ns[4]);
    CHECK(strstr(o.proc, "\nSeccomp:\t2\n") != NULL);
    /* Without it, a network namespace of its own. */
    struct sandbox_config switch_only = { .jail = true, .switch_net = true };
    switch_only.switch_sockets[0] = kept_sock;
    o = run_child(&switch_only, RUN_A_VM_S_CALLS);
    CHECK(o.status == 0 && o.own_ns[0] && o.own_ns[1] && o.own_ns[2] && o.own_ns[3] == user_ns &&
          o.own_ns[4]);
}

static void test_a_jail_shows_only_what_it_keeps(void)
{
    struct sandbox_config cfg = { .jail = true, .user_net = true };
    char why[160];
    if (!jail_possible(why, sizeof(why))) {
        struct outcome o = run_child(&cfg, RUN_A_VM_S_CALLS);
        CHECK(o.status == 3 && strstr(o.err, "use --sandbox on here") != NULL);
        printf("skip: the jail's views: %s\n", why);
        return;
    }
    CHECK(mkdtemp(kept_dir) != NULL && chmod(kept_dir, 0755) == 0);  /* nobody passes */
    snprintf(kept_sock, sizeof(kept_sock), "%s/net.sock", kept_dir);
    snprintf(hidden_file, sizeof(hidden_file), "%s-hidden", kept_dir);
    CHECK(close(open(kept_sock, O_CREAT | O_WRONLY, 0644)) == 0);
    CHECK(close(open(hidden_file, O_CREAT | O_WRONLY, 0644)) == 0);
    /* Where this kernel lets an ordinary user have a user namespace (Debian 12 does). */
    int max_user_ns = 0;
    FILE *f = fopen("/proc/sys/user/max_user_namespaces", "r");
    if (!f || fscanf(f, "%d", &max_user_ns) != 1)
        max_user_ns = 0;
    if (f)
        fclose(f);
    if (geteuid() != 0 && max_user_ns == 0) {
        struct outcome o = run_child(&cfg, RUN_A_VM_S_CALLS);
        CHECK(o.status == 0 && strstr(o.err, "does not let an ordinary user create a user namespace"));
        CHECK(!o.own_ns[0] && !o.own_ns[3]);
    } else {
        check_jail_views();
    }
    if (geteuid() == 0 && max_user_ns > 0) {
        child_user = 65534;
        check_jail_views();
        child_user = 0;
    }
    unlink(kept_sock);
    unlink(hidden_file);
    rmdir(kept_dir);
    /* A socket directly in / would keep the whole host reachable: refused. */
    struct sandbox_config in_root = { .jail = true, .switch_net = true };
    in_root.switch_sockets[0] = "/rackvm-switch.sock";
    struct outcome o = run_child(&in_root, RUN_A_VM_S_CALLS);
    CHECK(o.status == 3 && strstr(o.err, "/ is the root directory") != NULL);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_a_sandboxed_process_runs_a_vm_s_calls();
    test_freeing_a_thread_s_memory_is_allowed();
    test_calls_outside_the_list_end_the_process_naming_them();
    test_feature_calls_only_with_their_feature();
    test_a_user_that_cannot_be_taken_is_refused();
    test_numeric_ids_are_taken_exactly();
    test_a_jail_shows_only_what_it_keeps();
    UNIT_DONE();
}
