/* The rack supervisor: child processes, their logs, restart policies, the rack socket. */
#include "rack/supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/protocol.h"
#include "api/server.h"
#include "host/cgroup.h"
#include "host/jail.h"
#include "host/sandbox.h"
#include "rack/client.h"
#include "rack/console_relay.h"
#include "rack/restart_policy.h"

#define STOP_KILL_NS (10ULL * 1000000000)    /* after its shutdown_timeout, a VM is killed */
#define SWITCH_START_NS (5ULL * 1000000000)
/* A switch that keeps dying (its NAT's port taken, a crash on some frame) is given up on
 * after this many restarts in this many seconds, its VMs left without link. */
#define SWITCH_RESTART_COUNT 10
#define SWITCH_RESTART_WINDOW 60
#define VM_CALL_MS 2000
#define LAST_EXIT_LEN 160   /* how a VM or switch last ended, for ps */

enum member_state { VM_RUNNING, VM_STOPPING, VM_BACKOFF, VM_STOPPED, VM_FAILED };

static const char *const state_names[] = { "running", "stopping", "backoff", "stopped", "failed" };

struct member {
    const struct rack_vm *cfg;
    enum member_state state;
    pid_t pid;
    int log_pipe;                /* read end of the console pipe; -1 when none */
    struct console_relay console;  /* `rack console`; its vm_in: the VM's stdin */
    int log_fd;
    off_t log_size;
    char log_path[PATH_MAX];
    char sock_path[108];
    uint64_t started_ns, stop_sent_ns, next_start_ns;
    unsigned restarts;           /* in the rack's life */
    struct rack_backoff backoff;
    bool stop_asked, restart_asked, start_asked, paused;
    char last_exit[LAST_EXIT_LEN];
    struct cgroup_vm cgroup;     /* its limits while it runs; procs_fd -1 when none */
};

/* A network's switch: running (pid), waiting to be restarted (pid 0, next_start_ns), or
 * given up on (failed). */
struct network {
    const struct rack_network *cfg;
    pid_t pid;
    char sock_path[108];
    uint64_t started_ns, next_start_ns;
    unsigned restarts;
    struct rack_backoff backoff;
    bool failed;
    char last_exit[LAST_EXIT_LEN];
};

struct rack {
    pthread_mutex_t lock;
    const struct rack_file *rf;
    const char *state_dir, *exe;
    struct member *members;
    struct network *networks;
    int wake_fd;
    bool down;
    struct cgroup_host cgroups;  /* version CGROUP_NONE: limits not enforced, for limits_why */
    char limits_why[PATH_MAX + 256];
    bool jail;                   /* VMs run with --sandbox jail (root, and the host allows) */
    bool own_users;              /* root: each VM its own uid, each network its own group */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One state change on stdout: "HH:MM:SS message". */
static void say(const char *fmt, ...)
{
    time_t now = time(NULL);
    struct tm tm;
    char stamp[16];
    strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime_r(&now, &tm));
    printf("%s ", stamp);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void rack_socket_path(const char *state_dir, char *path, size_t len)
{
    snprintf(path, len, "%s/rack.sock", state_dir);
}

static void wake(struct rack *r)
{
    uint64_t one = 1;
    if (write(r->wake_fd, &one, sizeof(one)) < 0)
        errno = 0;  /* already pending: the loop wakes anyway */
}

/* ---- children ---- */

/* Forks and execs argv with stdin in_fd (-1: /dev/null) and stdout+stderr on out_fd, in
 * a process group of its own, killed if the supervisor dies; in a PID namespace of its
 * own when own_pids (it is its namespace's init: the supervisor's signals still reach
 * it, as it handles or blocks them), which an ordinary user's supervisor creates in a
 * user namespace mapping only that user. Returns the pid, or -1. */
static pid_t spawn(char *const argv[], int in_fd, int out_fd, bool own_pids,
                   const struct cgroup_vm *cgroup)
{
    int stdin_fd = in_fd >= 0 ? fcntl(in_fd, F_DUPFD_CLOEXEC, 0) : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (stdin_fd < 0)
        return -1;
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int flags = CLONE_NEWPID | (uid != 0 ? CLONE_NEWUSER : 0);
    /* clone as fork does it (no new stack: the child runs on a copy of this one). */
    pid_t pid = own_pids ? (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL)
                         : fork();
    if (pid == 0) {
        if (own_pids && uid != 0 && jail_map_user(uid, gid) < 0)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        /* Before exec: guest RAM is charged to the VM's group from its first page. */
        if (cgroup && cgroup_vm_join(cgroup) < 0)
            _exit(126);
        dup2(stdin_fd, STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        dup2(out_fd, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    close(stdin_fd);
    return pid;
}

/* argv built by pushes; strings are malloc'd and freed by args_free. */
struct args {
    char *v[64];
    unsigned n;
};

static void args_push(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void args_push(struct args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (a->n < ARRAY_SIZE(a->v) - 1 && vasprintf(&a->v[a->n], fmt, ap) >= 0)
        a->n++;
    va_end(ap);
}

static void args_free(struct args *a)
{
    for (unsigned i = 0; i < a->n; i++)
        free(a->v[i]);
}

static void open_log(struct member *m)
{
    struct stat st;
    if (m->log_fd < 0) {
        m->log_fd = open(m->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        m->log_size = m->log_fd >= 0 && fstat(m->log_fd, &st) == 0 ? st.st_size : 0;
    }
}

/* Copies what the VM printed into its log, rotating it at RACK_LOG_MAX. */
static void drain_log(struct member *m)
{
    char buf[16384];
    ssize_t n;
    while (m->log_pipe >= 0 && (n = read(m->log_pipe, buf, sizeof(buf))) > 0) {
        if (m->log_size + n > RACK_LOG_MAX && m->log_fd >= 0) {
            char old[PATH_MAX + 8];
            snprintf(old, sizeof(old), "%s.1", m->log_path);
            rename(m->log_path, old);
            close(m->log_fd);
            m->log_fd = -1;
        }
        open_log(m);
        if (m->log_fd >= 0 && write(m->log_fd, buf, (size_t)n) == n)
            m->log_size += n;
        console_relay_output(&m->console, buf, (size_t)n);
    }
}

/* --sandbox-user UID:GID[:GID,...]: VM i's own ids, then the group of each of its networks. */
_Static_assert(SANDBOX_MAX_GROUPS >= RACK_MAX_NICS, "a group per network of a VM");
static void push_vm_user(struct args *a, const struct rack_file *rf, unsigned i)
{
    const struct rack_vm *vm = &rf->vms[i];
    char user[32 + 12 * RACK_MAX_NICS];
    size_t used = (size_t)snprintf(user, sizeof(user), "%u:%u", (unsigned)rack_vm_id(rf, i),
                                   (unsigned)rack_vm_id(rf, i));
    unsigned groups = 0;
    for (unsigned n = 0; n < vm->nnics; n++) {
        bool seen = false;
        for (unsigned k = 0; k < n; k++)
            seen |= vm->nics[k].network == vm->nics[n].network;
        if (!seen)
            used += (size_t)snprintf(user + used, sizeof(user) - used, "%c%u", groups++ ? ',' : ':',
                                     (unsigned)rack_network_gid(rf, vm->nics[n].network));
    }
    args_push(a, "--sandbox-user"), args_push(a, "%s", user);
}

static void start_member(struct rack *r, struct member *m)
{
    const struct rack_vm *vm = m->cfg;
    struct args a = { .n = 0 };
    args_push(&a, "%s", r->exe);
    args_push(&a, "run");
    if (vm->kernel)
        args_push(&a, "--kernel"), args_push(&a, "%s", vm->kernel);
    if (vm->initrd)
        args_push(&a, "--initrd"), args_push(&a, "%s", vm->initrd);
    if (vm->cmdline)
        args_push(&a, "--cmdline"), args_push(&a, "%s", vm->cmdline);
    if (vm->firmware)
        args_push(&a, "--firmware"), args_push(&a, "%s", vm->firmware);
    args_push(&a, "--memory"), args_push(&a, "%u", vm->memory_mib);
    args_push(&a, "--cpus"), args_push(&a, "%u", vm->cpus);
    args_push(&a, "--jit-cache-mib"), args_push(&a, "%u", RACK_JIT_MIB_PER_CPU);
    for (unsigned i = 0; i < vm->ndisks; i++)
        args_push(&a, "--disk"), args_push(&a, "path=%s%s", vm->disks[i].path,
                                           vm->disks[i].readonly ? ",readonly=on" : "");
    /* Its switch may be restarting, or die between this spawn and the VM's connect: the
     * NIC then starts with its link down and connects once the switch listens. */
    for (unsigned i = 0; i < vm->nnics; i++)
        args_push(&a, "--net"), args_push(&a, "switch=%s,missing=link-down%s%s",
                                          r->networks[vm->nics[i].network].sock_path,
                                          vm->nics[i].mac ? ",mac=" : "",
                                          vm->nics[i].mac ? vm->nics[i].mac : "");
    args_push(&a, "--api-socket"), args_push(&a, "%s", m->sock_path);
    args_push(&a, "--on-reboot"), args_push(&a, "exit");
    args_push(&a, "--shutdown-timeout"), args_push(&a, "%u", vm->shutdown_timeout);
    bool root = geteuid() == 0;
    if (r->jail)
        args_push(&a, "--sandbox"), args_push(&a, "jail");
    if (r->own_users)
        push_vm_user(&a, r->rf, (unsigned)(m - r->members));
    int fds[2], in[2] = { -1, -1 };
    pid_t pid = -1;
    char why[sizeof(m->last_exit) - 32];
    if (r->cgroups.version != CGROUP_NONE) {
        struct cgroup_limits lim = { (uint64_t)vm->limit_memory_mib << 20, vm->limit_cpu_millis };
        if (cgroup_vm_create(&r->cgroups, vm->name, &lim, &m->cgroup, why, sizeof(why)) < 0) {
            args_free(&a);
            snprintf(m->last_exit, sizeof(m->last_exit), "could not limit it: %s", why);
            m->state = VM_FAILED;
            say("%s: %s", vm->name, m->last_exit);
            return;
        }
    }
    if (pipe2(fds, O_CLOEXEC) == 0) {
        if (pipe2(in, O_CLOEXEC) == 0) {
            pid = spawn(a.v, in[0], fds[1], root || r->jail,
                        m->cgroup.procs_fd[0] >= 0 ? &m->cgroup : NULL);
            close(in[0]);
        }
        close(fds[1]);
        if (pid < 0) {
            close(fds[0]);
            if (in[1] >= 0)
                close(in[1]);
        }
    }
    args_free(&a);
    m->paused = false;
    if (pid < 0) {
        cgroup_vm_remove(&m->cgroup);
        snprintf(m->last_exit, sizeof(m->last_exit), "could not start: %s", strerror(errno));
        m->state = VM_FAILED;
        say("%s: %s", vm->name, m->last_exit);
        return;
    }
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    m->log_pipe = fds[0];
    m->console.vm_in = in[1];
    m->pid = pid;
    m->state = VM_RUNNING;
    m->started_ns = monotonic_ns();
    say("%s: running (pid %d)", vm->name, (int)pid);
}

/* The back-off before a restart (ms), or -1 with last_exit (LAST_EXIT_LEN bytes) become
 * why it is given up on: the budget of restarts in window_s is spent. */
static int64_t restart_delay(struct rack_backoff *b, uint64_t started_ns, uint64_t now,
                             unsigned window_s, char *last_exit)
{
    unsigned recent;
    int64_t delay_ms = rack_backoff_next(b, started_ns, now, &recent);
    if (delay_ms < 0) {
        char why[LAST_EXIT_LEN];
        snprintf(why, sizeof(why), "%s", last_exit);
        snprintf(last_exit, LAST_EXIT_LEN, "gave up after %u restarts in %u s; last: %.100s",
                 recent, window_s, why);
    }
    return delay_ms;
}

/* The back-off and the restart budget after an end that the policy restarts. */
static void schedule_restart(struct member *m, uint64_t now)
{
    const struct rack_vm *vm = m->cfg;
    int64_t delay_ms = restart_delay(&m->backoff, m->started_ns, now, vm->restart_window, m->last_exit);
    if (delay_ms < 0) {
        m->state = VM_FAILED;
        say("%s: failed: %s", vm->name, m->last_exit);
        return;
    }
    m->next_start_ns = now + (uint64_t)delay_ms * 1000000;
    m->state = VM_BACKOFF;
    m->restarts++;
    say("%s: restarting in %.1f s", vm->name, (double)delay_ms / 1000);
}

static void member_exited(struct rack *r, struct member *m, int status)
{
    enum rack_end end = rack_end_of(status, m->last_exit, sizeof(m->last_exit));
    say("%s: exited: %s", m->cfg->name, m->last_exit);
    drain_log(m);
    close(m->log_pipe);
    m->log_pipe = -1;
    close(m->console.vm_in);
    m->console.vm_in = -1;
    m->pid = 0;
    m->paused = false;
    /* A sandboxed VM may not remove its socket file itself. */
    unlink(m->sock_path);
    cgroup_vm_remove(&m->cgroup);
    if (m->restart_asked && !r->down) {
        m->restart_asked = m->stop_asked = false;
        m->state = VM_BACKOFF;      /* started by run_timers at once */
        m->next_start_ns = monotonic_ns();
        return;
    }
    if (m->stop_asked || r->down) {
        m->state = VM_STOPPED;
        return;
    }
    if (rack_policy_restarts(m->cfg->restart, end))
        schedule_restart(m, monotonic_ns());
    else
        m->state = end == RACK_END_POWEROFF ? VM_STOPPED : VM_FAILED;
}

static bool start_network(struct rack *r, struct network *n);

/* A switch that ended on its own is restarted on the same socket, after the VMs' back-off,
 * and its VMs reconnect to it by themselves (net_stream retries every second). */
static void schedule_network_restart(struct network *n, uint64_t now)
{
    int64_t delay_ms = restart_delay(&n->backoff, n->started_ns, now, SWITCH_RESTART_WINDOW,
                                     n->last_exit);
    if (delay_ms < 0) {
        n->failed = true;
        say("network %s: failed: %s; its VMs have no link", n->cfg->name, n->last_exit);
        return;
    }
    n->next_start_ns = now + (uint64_t)delay_ms * 1000000;
    say("network %s: restarting its switch in %.1f s; its VMs have no link until then",
        n->cfg->name, (double)delay_ms / 1000);
}

static void network_exited(struct rack *r, struct network *n, int status)
{
    rack_end_of(status, n->last_exit, sizeof(n->last_exit));
    n->pid = 0;
    if (r->down)
        return;
    say("network %s: its switch ended: %s", n->cfg->name, n->last_exit);
    schedule_network_restart(n, monotonic_ns());
}

static void reap(struct rack *r)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < r->rf->nvms; i++)
            if (r->members[i].pid == pid)
                member_exited(r, &r->members[i], status);
        for (unsigned i = 0; i < r->rf->nnetworks; i++)
            if (r->networks[i].pid == pid)
                network_exited(r, &r->networks[i], status);
    }
}

/* The VM asked to power off answered (answer: its reply to "stop", NULL when it did not
 * answer): one that refused or did not answer gets SIGTERM, which does the same. */
static void member_stopping(struct member *m, json_t *answer)
{
    if (!json_is_true(json_object_get(answer, "ok")))
        kill(m->pid, SIGTERM);
    m->state = VM_STOPPING;
    m->stop_sent_ns = monotonic_ns();
    say("%s: stopping", m->cfg->name);
}

/* Whether the VM has a process to stop; one waiting for its restart is stopped here. */
static bool member_needs_stop(struct member *m)
{
    if (m->state == VM_BACKOFF)
        m->state = VM_STOPPED;
    return m->state == VM_RUNNING;
}

/* Asks the VM to power off (its stop: the power button, forced after its shutdown
 * timeout). */
static void stop_member(struct member *m)
{
    if (!member_needs_stop(m))
        return;
    char err[256];
    json_t *req = json_pack("{s:s}", "command", "stop");
    json_t *answer = req ? rack_call(m->sock_path, req, VM_CALL_MS, err, sizeof(err)) : NULL;
    json_decref(req);
    member_stopping(m, answer);
    json_decref(answer);
}

/* Sends command to every running VM at once (a rack of 50 on a loaded host answers
 * within one VM_CALL_MS, not fifty): answers[i] for members[i], NULL where the VM is not
 * running or did not answer. */
static void call_running(struct rack *r, const char *command, json_t **answers)
{
    unsigned n = r->rf->nvms, k = 0;
    const char **paths = calloc(n, sizeof(*paths));
    json_t **got = calloc(n, sizeof(*got));
    char *errs = calloc(n, 256);
    json_t *req = json_pack("{s:s}", "command", command);
    for (unsigned i = 0; i < n; i++) {
        answers[i] = NULL;
        if (paths && r->members[i].state == VM_RUNNING)
            paths[k++] = r->members[i].sock_path;
    }
    if (paths && got && errs && req) {
        rack_call_all(paths, k, req, VM_CALL_MS, got, errs, 256);
        for (unsigned i = 0, j = 0; i < n; i++)
            if (r->members[i].state == VM_RUNNING)
                answers[i] = got[j++];
    }
    json_decref(req);
    free(errs);
    free(got);
    free(paths);
}

static void begin_down(struct rack *r)
{
    if (!r->down)
        say("rack: going down");
    r->down = true;
    unsigned n = r->rf->nvms;
    json_t **answers = calloc(n, sizeof(*answers));
    for (unsigned i = 0; i < n; i++)
        member_needs_stop(&r->members[i]);
    if (answers)
        call_running(r, "stop", answers);
    for (unsigned i = 0; i < n; i++) {
        if (r->members[i].state == VM_RUNNING)
            member_stopping(&r->members[i], answers ? answers[i] : NULL);
        if (answers)
            json_decref(answers[i]);
    }
    free(answers);
}

/* Starts what is due, kills what ignored its stop; returns the poll timeout (ms, -1: none). */
static int run_timers(struct rack *r)
{
    uint64_t now = monotonic_ns(), next = UINT64_MAX;
    for (unsigned i = 0; i < r->rf->nnetworks && !r->down; i++) {
        struct network *n = &r->networks[i];
        if (n->pid || n->failed)
            continue;
        if (now >= n->next_start_ns) {
            n->restarts++;
            if (!start_network(r, n)) {
                /* A start that failed was no stable run: the back-off goes on doubling. */
                n->started_ns = now = monotonic_ns();
                schedule_network_restart(n, now);
            }
        }
        if (!n->pid && !n->failed && n->next_start_ns < next)
            next = n->next_start_ns;
    }
    for (unsigned i = 0; i < r->rf->nvms; i++) {
        struct member *m = &r->members[i];
        if (m->start_asked) {
            m->start_asked = false;
            if (m->state == VM_STOPPED || m->state == VM_FAILED || m->state == VM_BACKOFF) {
                m->state = VM_BACKOFF;
                m->next_start_ns = now;
            }
        }
        if (m->state == VM_BACKOFF) {
            if (now >= m->next_start_ns)
                start_member(r, m);
            else if (m->next_start_ns < next)
                next = m->next_start_ns;
        }
        if (m->state == VM_STOPPING) {
            uint64_t kill_at = m->stop_sent_ns + STOP_KILL_NS +
                               (uint64_t)m->cfg->shutdown_timeout * 1000000000;
            if (now >= kill_at) {
                say("%s: did not stop in time: killing it", m->cfg->name);
                kill(m->pid, SIGKILL);
                m->stop_sent_ns = now;
            } else if (kill_at < next) {
                next = kill_at;
            }
        }
    }
    return next == UINT64_MAX ? -1 : next <= now ? 0 : (int)((next - now) / 1000000 + 1);
}

static bool all_down(const struct rack *r)
{
    for (unsigned i = 0; i < r->rf->nvms; i++)
        if (r->members[i].pid)
            return false;
    return true;
}

/* ---- the control socket's commands (under r->lock) ---- */

static const char *const name_arg[] = { "name", NULL };

static struct member *find_member(struct rack *r, json_t *request, const char *command,
                                  char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(request, "name"));
    if (!name) {
        fail(err, errlen, "%s: needs \"name\", a VM of the rack", command);
        return NULL;
    }
    for (unsigned i = 0; i < r->rf->nvms; i++)
        if (!strcmp(r->members[i].cfg->name, name))
            return &r->members[i];
    fail(err, errlen, "%s: no VM named '%s' in this rack", command, name);
    return NULL;
}

/* o[name] = the sum of field over the VM's devices (its stats' disks or nics). */
static void add_counters(json_t *o, json_t *devices, const char *field, const char *name)
{
    json_int_t sum = 0;
    size_t i;
    json_t *d;
    json_array_foreach(devices, i, d)
        sum += json_integer_value(json_object_get(d, field));
    json_object_set_new(o, name, json_integer(sum));
}

/* The VM's line in ps; stats is its answer to "stats" (NULL: none). */
static json_t *member_json(struct member *m, json_t *stats)
{
    uint64_t now = monotonic_ns();
    double uptime = m->pid ? (double)(now - m->started_ns) / 1e9 : 0;
    json_t *o = json_pack("{s:s,s:s,s:i,s:f,s:i,s:s,s:s}", "name", m->cfg->name,
                          "state", m->paused ? "paused" : state_names[m->state],
                          "pid", (int)m->pid, "uptime", uptime, "restarts", (int)m->restarts,
                          "last_exit", m->last_exit, "restart", rack_restart_name(m->cfg->restart));
    json_t *limits = json_pack("{s:I,s:b}", "memory_bytes", (json_int_t)m->cfg->limit_memory_mib << 20,
                               "enforced", m->cgroup.procs_fd[0] >= 0);
    if (limits && m->cfg->limit_cpu_millis)
        json_object_set_new(limits, "cpu", json_real(m->cfg->limit_cpu_millis / 1000.0));
    if (o && limits)
        json_object_set_new(o, "limits", limits);
    else
        json_decref(limits);
    if (o && stats) {
        json_t *cpu = json_object_get(stats, "host_cpu_time");
        json_t *rss = json_object_get(stats, "rss_bytes");
        if (json_is_number(cpu) && uptime > 0)
            json_object_set_new(o, "cpu_percent", json_real(100 * json_number_value(cpu) / uptime));
        if (json_is_integer(rss))
            json_object_set(o, "rss_bytes", rss);
        add_counters(o, json_object_get(stats, "disks"), "read_bytes", "disk_read_bytes");
        add_counters(o, json_object_get(stats, "disks"), "written_bytes", "disk_written_bytes");
        add_counters(o, json_object_get(stats, "nics"), "rx_bytes", "net_rx_bytes");
        add_counters(o, json_object_get(stats, "nics"), "tx_bytes", "net_tx_bytes");
    }
    return o;
}

static json_t *network_json(const struct network *n)
{
    const char *state = n->pid ? "running" : n->failed ? "failed" : "restarting";
    return json_pack("{s:s,s:s,s:i,s:i,s:s}", "name", n->cfg->name, "state", state,
                     "pid", (int)n->pid, "restarts", (int)n->restarts, "last_exit", n->last_exit);
}

static json_t *cmd_ps(void *ctx, json_t *request, char *err, size_t errlen)
{
    (void)request, (void)err, (void)errlen;
    struct rack *r = ctx;
    json_t *list = json_array(), *nets = json_array();
    json_t **stats = calloc(r->rf->nvms, sizeof(*stats));
    if (stats)
        call_running(r, "stats", stats);
    for (unsigned i = 0; i < r->rf->nvms; i++) {
        if (list)
            json_array_append_new(list, member_json(&r->members[i], stats ? stats[i] : NULL));
        if (stats)
            json_decref(stats[i]);
    }
    free(stats);
    for (unsigned i = 0; nets && i < r->rf->nnetworks; i++)
        json_array_append_new(nets, network_json(&r->networks[i]));
    if (!list || !nets) {
        json_decref(list);
        json_decref(nets);
        return NULL;
    }
    json_t *answer = json_pack("{s:o,s:o,s:b}", "vms", list, "networks", nets, "down", r->down);
    if (answer && r->cgroups.version == CGROUP_NONE)
        json_object_set_new(answer, "limits_not_enforced", json_string(r->limits_why));
    return answer;
}

static json_t *cmd_logs(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct rack *r = ctx;
    struct member *m = find_member(r, request, "logs", err, errlen);
    return m ? json_pack("{s:s}", "path", m->log_path) : NULL;
}

static json_t *cmd_start(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct rack *r = ctx;
    struct member *m = find_member(r, request, "start", err, errlen);
    if (!m)
        return NULL;
    if (r->down) {
        fail(err, errlen, "start: the rack is going down");
        return NULL;
    }
    if (m->state == VM_RUNNING || m->state == VM_STOPPING) {
        fail(err, errlen, "start: %s is %s", m->cfg->name, state_names[m->state]);
        return NULL;
    }
    /* A start by hand is a fresh budget. */
    rack_backoff_reset(&m->backoff);
    m->stop_asked = false;
    m->start_asked = true;
    wake(r);
    return json_pack("{s:s}", "state", "starting");
}

static json_t *cmd_stop(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct rack *r = ctx;
    struct member *m = find_member(r, request, "stop", err, errlen);
    if (!m)
        return NULL;
    m->stop_asked = true;
    m->restart_asked = false;
    stop_member(m);
    return json_pack("{s:s}", "state", state_names[m->state]);
}

static json_t *cmd_restart(void *ctx, json_t *request, char *err, size_t errlen)
{
    struct rack *r = ctx;
    struct member *m = find_member(r, request, "restart", err, errlen);
    if (!m)
        return NULL;
    if (m->state != VM_RUNNING)
        return cmd_start(ctx, request, err, errlen);
    m->restart_asked = true;
    stop_member(m);
    return json_pack("{s:s}", "state", state_names[m->state]);
}

/* pause and resume: the VM's own request, its answer passed on. */
static json_t *forward(struct rack *r, json_t *request, const char *command, char *err, size_t errlen)
{
    struct member *m = find_member(r, request, command, err, errlen);
    if (!m)
        return NULL;
    if (m->state != VM_RUNNING) {
        fail(err, errlen, "%s: %s is %s", command, m->cfg->name, state_names[m->state]);
        return NULL;
    }
    json_t *req = json_pack("{s:s}", "command", command);
    json_t *answer = req ? rack_call(m->sock_path, req, VM_CALL_MS, err, errlen) : NULL;
    json_decref(req);
    if (answer && !json_is_true(json_object_get(answer, "ok"))) {
        fail(err, errlen, "%s: %s", m->cfg->name, json_string_value(json_object_get(answer, "error")));
        json_decref(answer);
        return NULL;
    }
    if (answer) {
        m->paused = !strcmp(command, "pause");
        json_object_del(answer, "ok");
    }
    return answer;
}

static json_t *cmd_pause(void *ctx, json_t *request, char *err, size_t errlen)
{
    return forward(ctx, request, "pause", err, errlen);
}

static json_t *cmd_resume(void *ctx, json_t *request, char *err, size_t errlen)
{
    return forward(ctx, request, "resume", err, errlen);
}

static json_t *cmd_down(void *ctx, json_t *request, char *err, size_t errlen)
{
    (void)request, (void)err, (void)errlen;
    struct rack *r = ctx;
    begin_down(r);
    wake(r);
    return json_pack("{s:s}", "state", "going down");
}

static const struct api_command rack_commands[] = {
    { "ps", NULL, cmd_ps },
    { "logs", name_arg, cmd_logs },
    { "start", name_arg, cmd_start },
    { "stop", name_arg, cmd_stop },
    { "restart", name_arg, cmd_restart },
    { "pause", name_arg, cmd_pause },
    { "resume", name_arg, cmd_resume },
    { "down", NULL, cmd_down },
};

static char *rack_answer(void *ctx, const char *line, size_t len)
{
    struct rack *r = ctx;
    pthread_mutex_lock(&r->lock);
    char *answer = api_answer(r, rack_commands, ARRAY_SIZE(rack_commands), line, len);
    pthread_mutex_unlock(&r->lock);
    return answer;
}

/* ---- start-up ---- */

static bool socket_answers(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Starts network n's switch and waits until it listens; false after saying why. A restart
 * appends to the log of the switch before it. */
static bool start_network(struct rack *r, struct network *n)
{
    char log_path[PATH_MAX];
    snprintf(log_path, sizeof(log_path), "%s/net-%s.log", r->state_dir, n->cfg->name);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_CLOEXEC | (n->restarts ? O_APPEND : O_TRUNC),
                      0640);
    if (log_fd < 0) {
        rvm_error("rack: %s: %s", log_path, strerror(errno));
        return false;
    }
    struct args a = { .n = 0 };
    args_push(&a, "%s", r->exe);
    args_push(&a, "switch");
    args_push(&a, "--listen"), args_push(&a, "%s", n->sock_path);
    if (r->own_users)
        args_push(&a, "--socket-group"),
            args_push(&a, "%u", (unsigned)rack_network_gid(r->rf, (unsigned)(n - r->networks)));
    if (n->cfg->uplink) {
        char uplink[4096] = "user";
        size_t used = strlen(uplink);
        for (unsigned h = 0; h < n->cfg->nhostfwd && used < sizeof(uplink); h++)
            used += (size_t)snprintf(uplink + used, sizeof(uplink) - used, ",hostfwd=%s",
                                     n->cfg->hostfwd[h]);
        args_push(&a, "--uplink"), args_push(&a, "%s", uplink);
    }
    n->pid = spawn(a.v, -1, log_fd, false, NULL);
    args_free(&a);
    close(log_fd);
    uint64_t deadline = monotonic_ns() + SWITCH_START_NS;
    int status;
    while (n->pid > 0 && !socket_answers(n->sock_path)) {
        if (waitpid(n->pid, &status, WNOHANG) == n->pid || monotonic_ns() > deadline) {
            rvm_error("rack: network %s: its switch did not start; %s says:", n->cfg->name, log_path);
            FILE *f = fopen(log_path, "r");
            char line[512];
            while (f && fgets(line, sizeof(line), f))
                fprintf(stderr, "  %s", line);
            if (f)
                fclose(f);
            kill(n->pid, SIGKILL);
            waitpid(n->pid, &status, 0);
            n->pid = 0;
            return false;
        }
        usleep(20000);
    }
    n->started_ns = monotonic_ns();
    say("network %s: switch running (pid %d)%s", n->cfg->name, (int)n->pid,
        n->cfg->uplink ? " with a NAT uplink" : "");
    return n->pid > 0;
}

static void stop_networks(struct rack *r)
{
    for (unsigned i = 0; i < r->rf->nnetworks; i++) {
        struct network *n = &r->networks[i];
        if (n->pid > 0) {
            int status;
            kill(n->pid, SIGTERM);
            waitpid(n->pid, &status, 0);
            n->pid = 0;
        }
    }
}

/* Blocks SIGCHLD, SIGINT and SIGTERM and takes them on a signalfd; before any thread. */
static int signals_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Whether a subordinate-id file (/etc/subuid, /etc/subgid: "NAME:FIRST:COUNT" lines, the
 * ranges rootless containers map) gives out any of [first, first + count); says which. */
static bool subids_overlap(const char *path, unsigned first, unsigned count)
{
    FILE *f = fopen(path, "re");
    char line[512], name[256];
    unsigned long start, n;
    bool overlap = false;
    while (f && !overlap && fgets(line, sizeof(line), f)) {
        overlap = sscanf(line, "%255[^:]:%lu:%lu", name, &start, &n) == 3 &&
                  start < (unsigned long)first + count && start + n > first;
        if (overlap)
            rvm_error("rack: users: %s gives %s ids %lu-%lu, which the rack's ids %u-%u overlap: "
                      "choose another first_id", path, name, start, start + n - 1, first,
                      first + count - 1);
    }
    if (f)
        fclose(f);
    return overlap;
}

/* A root rack's ids (rack_file.h) must be no one's yet: another user's files or processes
 * would be its VMs' to reach. */
static bool ids_free(const struct rack_file *rf)
{
    unsigned first = rf->first_id, count = rack_ids_used(rf);
    for (unsigned id = first; id - first < count; id++) {
        struct passwd *pw = getpwuid(id);
        struct group *gr = pw ? NULL : getgrgid(id);
        if (pw || gr) {
            rvm_error("rack: users: id %u is already %s %s's: choose another first_id (the "
                      "rack takes %u ids from first_id %u)", id, pw ? "user" : "group",
                      pw ? pw->pw_name : gr->gr_name, count, first);
            return false;
        }
    }
    return !subids_overlap("/etc/subuid", first, count) && !subids_overlap("/etc/subgid", first, count);
}

/* A VM opens its disks before it drops root, so they need no right of its user: a disk
 * that every user may read or write is open to the other VMs' users too. */
static void warn_open_disks(const struct rack_vm *vm)
{
    struct stat st;
    for (unsigned d = 0; d < vm->ndisks; d++)
        if (stat(vm->disks[d].path, &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)))
            say("rack: %s's disk %s is %s by every user (mode %03o), so by the other VMs' users "
                "too: chmod o-rw it", vm->name, vm->disks[d].path,
                st.st_mode & S_IWOTH ? "writable" : "readable", (unsigned)(st.st_mode & 0777));
}

static bool prepare(struct rack *r)
{
    const struct rack_file *rf = r->rf;
    if (mkdir(r->state_dir, 0755) < 0 && errno != EEXIST) {
        rvm_error("rack: state directory %s: %s", r->state_dir, strerror(errno));
        return false;
    }
    /* The VMs drop to unprivileged users and reconnect to the switches from there: they
     * may pass through, not list. What the rack creates (logs, sockets) is root's alone. */
    chmod(r->state_dir, 0711);
    umask(077);
    if (r->own_users && !ids_free(rf))
        return false;
    char path[PATH_MAX];
    rack_socket_path(r->state_dir, path, sizeof(path));
    if (socket_answers(path)) {
        rvm_error("rack: %s: a rack is already up with this state directory", path);
        return false;
    }
    /* Each network's socket in a directory of its own: a jailed VM keeps only its own
     * networks' directories reachable, so it cannot even name another network's socket. */
    for (unsigned i = 0; i < rf->nnetworks; i++) {
        r->networks[i].cfg = &rf->networks[i];
        if (rack_backoff_init(&r->networks[i].backoff, SWITCH_RESTART_COUNT, SWITCH_RESTART_WINDOW) < 0) {
            rvm_error("rack: out of memory");
            return false;
        }
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/net-%s", r->state_dir, rf->networks[i].name);
        int n = snprintf(r->networks[i].sock_path, sizeof(r->networks[i].sock_path),
                         "%s/switch.sock", dir);
        if (n < 0 || (size_t)n >= sizeof(r->networks[i].sock_path)) {
            rvm_error("rack: state directory %s: too long a path for network %s's socket",
                      r->state_dir, rf->networks[i].name);
            return false;
        }
        /* Root: only the network's VMs (its group) pass, to its socket (0660 in the group). */
        if ((mkdir(dir, 0750) < 0 && errno != EEXIST) || chmod(dir, 0750) < 0 ||
            (r->own_users && chown(dir, 0, rack_network_gid(rf, i)) < 0)) {
            rvm_error("rack: %s: %s", dir, strerror(errno));
            return false;
        }
    }
    for (unsigned i = 0; i < rf->nvms; i++) {
        struct member *m = &r->members[i];
        snprintf(m->log_path, sizeof(m->log_path), "%s/%s.log", r->state_dir, rf->vms[i].name);
        int n = snprintf(m->sock_path, sizeof(m->sock_path), "%s/%s.sock", r->state_dir,
                         rf->vms[i].name);
        if (n < 0 || (size_t)n >= sizeof(m->sock_path)) {
            rvm_error("rack: state directory %s: too long a path for VM %s's socket",
                      r->state_dir, rf->vms[i].name);
            return false;
        }
        char console[PATH_MAX], err[PATH_MAX + 64];
        snprintf(console, sizeof(console), "%s/%s.console", r->state_dir, rf->vms[i].name);
        if (console_relay_open(&m->console, console, err, sizeof(err)) < 0) {
            rvm_error("rack: VM %s's console: %s", rf->vms[i].name, err);
            return false;
        }
        if (rack_backoff_init(&m->backoff, rf->vms[i].restart_count, rf->vms[i].restart_window) < 0) {
            rvm_error("rack: out of memory");
            return false;
        }
        if (r->own_users)
            warn_open_disks(&rf->vms[i]);
    }
    return true;
}

/* The main loop: signals, console pipes, timers, until down and every VM has ended. */
static void supervise(struct rack *r, int sig_fd)
{
    unsigned nvms = r->rf->nvms;
    enum { PER_VM = 2 + RACK_CONSOLE_CLIENTS };  /* its console pipe, its relay's fds */
    struct pollfd *fds = calloc(2 + nvms * PER_VM, sizeof(*fds));
    if (!fds)
        return;
    pthread_mutex_lock(&r->lock);
    while (!(r->down && all_down(r))) {
        int timeout = run_timers(r);
        fds[0] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
        fds[1] = (struct pollfd){ .fd = r->wake_fd, .events = POLLIN };
        unsigned nrelay[nvms];
        for (unsigned i = 0; i < nvms; i++) {
            struct pollfd *vm_fds = &fds[2 + i * PER_VM];
            vm_fds[0] = (struct pollfd){ .fd = r->members[i].log_pipe, .events = POLLIN };
            nrelay[i] = console_relay_pollfds(&r->members[i].console, vm_fds + 1);
            for (unsigned j = 1 + nrelay[i]; j < PER_VM; j++)
                vm_fds[j] = (struct pollfd){ .fd = -1 };
        }
        pthread_mutex_unlock(&r->lock);
        int n = poll(fds, 2 + nvms * PER_VM, timeout);
        pthread_mutex_lock(&r->lock);
        if (n < 0 && errno != EINTR)
            break;
        struct signalfd_siginfo si;
        while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
            if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
                begin_down(r);
        }
        uint64_t count;
        if (fds[1].revents && read(r->wake_fd, &count, sizeof(count)) < 0)
            errno = 0;
        for (unsigned i = 0; i < nvms; i++) {
            struct pollfd *vm_fds = &fds[2 + i * PER_VM];
            if (vm_fds[0].revents & POLLIN)
                drain_log(&r->members[i]);
            console_relay_serve(&r->members[i].console, vm_fds + 1, nrelay[i]);
        }
        /* A SIGCHLD may be merged with others or come before its console's last bytes. */
        reap(r);
    }
    pthread_mutex_unlock(&r->lock);
    free(fds);
}

int rack_supervise(const struct rack_file *rf, const char *state_dir, const char *rackvm_exe)
{
    struct rack r = { .rf = rf, .state_dir = state_dir, .exe = rackvm_exe, .wake_fd = -1 };
    pthread_mutex_init(&r.lock, NULL);
    r.members = calloc(rf->nvms, sizeof(*r.members));
    r.networks = calloc(rf->nnetworks + 1, sizeof(*r.networks));
    /* Before anything can fail: the clean-up below closes what these hold. */
    for (unsigned i = 0; r.members && i < rf->nvms; i++)
        r.members[i] = (struct member){ .cfg = &rf->vms[i], .state = VM_STOPPED, .log_pipe = -1,
                                        .log_fd = -1, .console = { .listen_fd = -1, .vm_in = -1 },
                                        .cgroup = { .procs_fd = { -1, -1 } } };
    int sig_fd = signals_fd();
    int rc = 1;
    struct api_server *server = NULL;
    if (!r.members || !r.networks || sig_fd < 0 || (r.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rvm_error("rack: cannot start: %s", strerror(errno));
        goto out;
    }
    r.own_users = geteuid() == 0;
    if (!prepare(&r))
        goto out;
    /* An ordinary user's VMs are jailed in user namespaces of their own, where allowed. */
    char why[160];
    r.jail = jail_possible(why, sizeof(why)) &&
             (geteuid() == 0 || jail_user_namespace_allowed(why, sizeof(why)));
    if (!r.jail)
        say("rack: VMs not jailed (namespaces and an empty root): %s", why);
    if (cgroup_host_open(&r.cgroups, "/sys/fs/cgroup", "/proc/self/cgroup", "rackvm", r.limits_why,
                         sizeof(r.limits_why)) < 0)
        say("rack: limits not enforced: %s", r.limits_why);
    else
        say("rack: limits through cgroup %s in %s", r.cgroups.version == CGROUP_V2 ? "v2" : "v1",
            r.cgroups.memory_dir);
    for (unsigned i = 0; i < rf->nnetworks; i++)
        if (!start_network(&r, &r.networks[i]))
            goto out;
    char path[PATH_MAX];
    rack_socket_path(state_dir, path, sizeof(path));
    const struct api_handler handler = { rack_answer, NULL, &r };
    if (!(server = api_server_start_handler(path, &handler)))
        goto out;
    say("rack: control socket %s", path);
    pthread_mutex_lock(&r.lock);
    for (unsigned i = 0; i < rf->nvms; i++)
        start_member(&r, &r.members[i]);
    pthread_mutex_unlock(&r.lock);
    supervise(&r, sig_fd);
    rc = 0;
out:
    api_server_stop(server);
    stop_networks(&r);
    for (unsigned i = 0; r.members && i < rf->nvms; i++) {
        struct member *m = &r.members[i];
        if (m->pid > 0) {
            kill(m->pid, SIGKILL);
            waitpid(m->pid, NULL, 0);
        }
        if (m->log_pipe >= 0)
            close(m->log_pipe);
        if (m->console.vm_in >= 0)
            close(m->console.vm_in);
        console_relay_close(&m->console);
        cgroup_vm_remove(&m->cgroup);
        if (m->log_fd >= 0)
            close(m->log_fd);
        rack_backoff_free(&m->backoff);
    }
    cgroup_host_close(&r.cgroups);
    for (unsigned i = 0; r.networks && i < rf->nnetworks; i++)
        rack_backoff_free(&r.networks[i].backoff);
    if (rc == 0)
        say("rack: down");
    free(r.members);
    free(r.networks);
    if (sig_fd >= 0)
        close(sig_fd);
    if (r.wake_fd >= 0)
        close(r.wake_fd);
    pthread_mutex_destroy(&r.lock);
    return rc;
}
