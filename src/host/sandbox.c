#include "host/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <malloc.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "common.h"

#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define LEAK_CHECKED_BUILD 1
#endif
#endif
#ifdef LEAK_CHECKED_BUILD
#include <sanitizer/lsan_interface.h>
#endif

/* Which VMs need a call: every one, or only those with the feature named. */
enum sandbox_need { NEED_ALWAYS, NEED_USER_NET, NEED_TAP, NEED_API_SOCKET, NEED_GDB, NEED_SWITCH_NET };

/* One allowed system call, with up to two argument conditions that must all hold. */
struct allowed_call {
    int nr;
    enum sandbox_need need;
    unsigned nargs;
    struct scmp_arg_cmp args[2];
};

#define CALL(name) { SCMP_SYS(name), NEED_ALWAYS, 0, { { 0 } } }
#define CALL_IF(name, need) { SCMP_SYS(name), need, 0, { { 0 } } }
/* Argument n equal to value. */
#define CALL_ARG(name, need, n, value) \
    { SCMP_SYS(name), need, 1, { { (n), SCMP_CMP_EQ, (value), 0 } } }
/* tgkill's first argument: replaced by this process's id when the filter is built. */
#define THIS_PROCESS (~(scmp_datum_t)0)
/* Argument n with none of the bits of mask set. */
#define CALL_ARG_NONE_OF(name, need, n, mask) \
    { SCMP_SYS(name), need, 1, { { (n), SCMP_CMP_MASKED_EQ, (mask), 0 } } }

/*
 * THE allowlist: every system call a running VM makes, found with `strace -f` over the
 * integration suite, the bare-metal programs and guest DNS queries; rt_sigreturn,
 * mremap, writev and the sanitizers' calls for the paths named beside them. Start-up (loading
 * files, creating devices, dropping privileges) comes before the filter and needs no
 * line here; a guest reboot repeats it on the files the run keeps open (fcntl's dup of a
 * disk), hence the dup and tap lines.
 */
static const struct allowed_call allowed_calls[] = {
    /* Console, disks (preadv/pwritev, a guest flush is fdatasync), loaded files, eventfds,
     * the signalfd; writev is how glibc prints a fatal error (assert, heap corruption). */
    CALL(read), CALL(write), CALL(writev), CALL(pread64), CALL(pwrite64), CALL(preadv),
    CALL(pwritev), CALL(lseek), CALL(fdatasync), CALL(close), CALL(poll),
    CALL(eventfd2), CALL(pipe2),
    /* A guest's discard and write-zeroes (virtio-blk): a hole punched or zeroed in the image. */
    CALL(fallocate),
    /* glibc's fstat(fd): a path would let the VM probe the host's file names. */
    CALL_ARG(newfstatat, NEED_ALWAYS, 3, AT_EMPTY_PATH),
    CALL_ARG(fcntl, NEED_ALWAYS, 1, F_GETFL), CALL_ARG(fcntl, NEED_ALWAYS, 1, F_SETFL),
    /* A rebooted machine's disk: a descriptor of the image the run keeps open. */
    CALL_ARG(fcntl, NEED_ALWAYS, 1, F_DUPFD_CLOEXEC),
    /* The console's terminal: isatty, and its mode put back (tcsetattr TCSANOW). */
    CALL_ARG(ioctl, NEED_ALWAYS, 1, TCGETS), CALL_ARG(ioctl, NEED_ALWAYS, 1, TCSETS),
    /* Memory: malloc (mremap: realloc of a large block), guest RAM of a rebooted machine,
     * the JIT's code buffers. */
    CALL(mmap), CALL(munmap), CALL(mprotect), CALL(madvise), CALL(mremap), CALL(brk),
    /* Threads (harts, device workers): clone only with CLONE_THREAD, so never a process.
     * clone3 hides its flags in memory the filter cannot read: it fails with ENOSYS (see
     * sandbox_enter) and glibc falls back to clone. */
    { SCMP_SYS(clone), NEED_ALWAYS, 1, { { 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD } } },
    CALL(futex), CALL(set_robust_list), CALL(rseq), CALL(exit), CALL(exit_group),
    CALL(getpid), CALL(sched_yield),
    /* A timed futex or poll that SIGSTOP/SIGCONT or a tracer's attach (strace -p, gdb)
     * interrupted is resumed by the kernel through restart_syscall. */
    CALL(restart_syscall),
    CALL_ARG(prctl, NEED_ALWAYS, 0, PR_SET_NAME),  /* a hart thread names itself */
    /* Signals: masks, the watcher thread, pthread_kill/raise to this process only (the
     * process id is filled in by sandbox_enter). */
    CALL(rt_sigprocmask), CALL(rt_sigaction), CALL(rt_sigreturn),
    /* The sanitizers' runtime, at each new thread: a signal stack, its id, and its stack
     * bounds (pthread_getattr_np reads the affinity mask). */
    CALL(sigaltstack), CALL(gettid), CALL(sched_getaffinity),
    CALL_ARG(tgkill, NEED_ALWAYS, 0, THIS_PROCESS),
    /* Time and entropy (virtio-rng, Zkr's seed CSR, random MACs). */
    CALL(clock_gettime), CALL(getrandom),
    /* libslirp rereads /etc/resolv.conf: never a new file, a truncation or an anonymous
     * temporary file. */
    CALL_ARG_NONE_OF(openat, NEED_USER_NET, 2, O_CREAT | O_TRUNC | O_TMPFILE),
    /* User networking: libslirp's sockets for guest connections and port forwards; its
     * DNS forwarder stats /etc/resolv.conf by path to see whether it changed. */
    CALL_IF(newfstatat, NEED_USER_NET),
    CALL_ARG(socket, NEED_USER_NET, 0, AF_INET), CALL_ARG(socket, NEED_USER_NET, 0, AF_INET6),
    CALL_IF(connect, NEED_USER_NET), CALL_IF(bind, NEED_USER_NET),
    CALL_IF(listen, NEED_USER_NET), CALL_IF(accept, NEED_USER_NET),
    CALL_IF(setsockopt, NEED_USER_NET), CALL_IF(getsockopt, NEED_USER_NET),
    CALL_IF(getsockname, NEED_USER_NET), CALL_IF(getpeername, NEED_USER_NET),
    CALL_IF(shutdown, NEED_USER_NET), CALL_IF(sendto, NEED_USER_NET),
    /* UDP (guest DNS): libslirp asks FIONREAD how big the datagram is, then recvmsg. */
    CALL_IF(recvfrom, NEED_USER_NET), CALL_IF(recvmsg, NEED_USER_NET),
    CALL_ARG(ioctl, NEED_USER_NET, 1, FIONREAD),
    /* A tap NIC rebuilt by a reboot attaches to its interface again. */
    CALL_ARG(ioctl, NEED_TAP, 1, TUNSETIFF),
    /* The control socket: its clients, stats' CPU time, the socket file removed at exit. */
    CALL_IF(accept4, NEED_API_SOCKET), CALL_IF(recvfrom, NEED_API_SOCKET),
    CALL_IF(sendto, NEED_API_SOCKET), CALL_IF(getrusage, NEED_API_SOCKET),
    CALL_IF(newfstatat, NEED_API_SOCKET), CALL_IF(unlink, NEED_API_SOCKET),
    /* The control socket's snapshot: creates its directory and files (O_CREAT | O_EXCL under
     * temporary names, then renamed into place), sized by ftruncate. */
    CALL_IF(openat, NEED_API_SOCKET), CALL_IF(mkdir, NEED_API_SOCKET),
    CALL_IF(rename, NEED_API_SOCKET), CALL_IF(ftruncate, NEED_API_SOCKET),
    /* A switch port: a new connection when the switch comes back; frames via recv/send. */
    CALL_ARG(socket, NEED_SWITCH_NET, 0, AF_UNIX), CALL_IF(connect, NEED_SWITCH_NET),
    CALL_IF(recvfrom, NEED_SWITCH_NET), CALL_IF(sendto, NEED_SWITCH_NET),
    /* The GDB stub: the debugger's connection, and a new listening socket per boot. */
    CALL_IF(accept, NEED_GDB), CALL_IF(recvfrom, NEED_GDB), CALL_IF(sendto, NEED_GDB),
    CALL_IF(setsockopt, NEED_GDB), CALL_ARG(socket, NEED_GDB, 0, AF_INET),
    CALL_IF(bind, NEED_GDB), CALL_IF(listen, NEED_GDB),
};

/* Names of the system calls by number, resolved before the filter so the SIGSYS handler
 * needs neither malloc nor locks. */
#define NAMED_CALLS 512
static char call_names[NAMED_CALLS][24];
static void (*blocked_hook)(void);

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

static char *append(char *p, char *end, const char *s)
{
    while (*s && p < end)
        *p++ = *s++;
    return p;
}

/* u in base 10 or 16 (with 0x), without printf, which is not async-signal-safe. */
static char *append_number(char *p, char *end, unsigned long long u, unsigned base)
{
    char digits[24];
    unsigned len = 0;
    do {
        digits[len++] = "0123456789abcdef"[u % base];
        u /= base;
    } while (u);
    if (base == 16)
        p = append(p, end, "0x");
    while (len && p < end)
        *p++ = digits[--len];
    return p;
}

/* Async-signal-safe: one line on stderr naming the call, then the documented status. */
static void on_blocked_call(int signo, siginfo_t *si, void *context)
{
    (void)signo;
    if (blocked_hook)
        blocked_hook();
    char line[224], *p = line, *end = line + sizeof(line) - 1;
    int nr = si->si_syscall;
    p = append(p, end, "\r\nrackvm: sandbox: blocked system call ");
    p = append(p, end, nr >= 0 && nr < NAMED_CALLS && call_names[nr][0] ? call_names[nr] : "?");
    p = append(p, end, " (");
    p = append_number(p, end, (unsigned)nr, 10);
    p = append(p, end, ")");
#if defined(__x86_64__)
    /* The first three arguments, still in their registers: which ioctl, which flags. */
    const greg_t *regs = ((const ucontext_t *)context)->uc_mcontext.gregs;
    const int arg_regs[] = { REG_RDI, REG_RSI, REG_RDX };
    for (unsigned i = 0; i < 3; i++) {
        p = append(p, end, i ? ", " : " with ");
        p = append_number(p, end, (unsigned long long)regs[arg_regs[i]], 16);
    }
#else
    (void)context;
#endif
    p = append(p, end, "; stopping the VM (status " STRINGIFY(SANDBOX_BLOCKED_STATUS)
                          "); please report it\n");
    ssize_t unused = write(STDERR_FILENO, line, (size_t)(p - line));
    (void)unused;
    /* The system call itself: a sanitizer's _exit would first check for leaks, making calls
     * the filter refuses. */
    syscall(SYS_exit_group, SANDBOX_BLOCKED_STATUS);
}

static bool needed(const struct sandbox_config *cfg, enum sandbox_need need)
{
    switch (need) {
    case NEED_ALWAYS: return true;
    case NEED_USER_NET: return cfg->user_net;
    case NEED_TAP: return cfg->tap;
    case NEED_API_SOCKET: return cfg->api_socket;
    case NEED_GDB: return cfg->gdb;
    case NEED_SWITCH_NET: return cfg->switch_net;
    }
    return false;
}

/* Who a root process becomes: its user, its primary group (groups[0]) and supplementary
 * groups (a rack VM's networks' groups). */
struct identity {
    uid_t uid;
    gid_t groups[1 + SANDBOX_MAX_GROUPS];
    unsigned ngroups;
};

/* "UID:GID[:GID,...]" into *id; false when it is not that form. */
static bool parse_ids(const char *user, struct identity *id)
{
    char *end;
    errno = 0;
    unsigned long uid = strtoul(user, &end, 10);
    if (user[0] < '0' || user[0] > '9' || *end != ':' || errno || uid > UINT32_MAX - 1)
        return false;
    id->uid = (uid_t)uid;
    id->ngroups = 0;
    for (const char *p = end + 1; ; p = end + 1) {
        errno = 0;
        unsigned long gid = strtoul(p, &end, 10);
        if (*p < '0' || *p > '9' || errno || gid > UINT32_MAX - 1 || id->ngroups == ARRAY_SIZE(id->groups))
            return false;
        id->groups[id->ngroups++] = (gid_t)gid;
        /* The primary group ends with ':', each supplementary one with ','. */
        if (*end == '\0')
            return true;
        if (*end != (id->ngroups == 1 ? ':' : ','))
            return false;
    }
}

/* The identity a root process takes, looked up while /etc/passwd is still reachable:
 * uid 0 for a process that keeps who it is. */
static int find_user(const char *user, struct identity *id)
{
    *id = (struct identity){ .uid = 0 };
    if (geteuid() != 0) {
        if (user) {
            rvm_error("--sandbox-user %s: rackvm must be started as root to change user", user);
            return -1;
        }
        return 0;
    }
    const char *name = user ? user : SANDBOX_DEFAULT_USER;
    if (name[0] >= '0' && name[0] <= '9') {
        if (!parse_ids(name, id)) {
            rvm_error("--sandbox-user %s: not UID:GID[:GID,...] (at most %d supplementary groups)",
                      name, SANDBOX_MAX_GROUPS);
            return -1;
        }
    } else {
        errno = 0;
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            rvm_error("sandbox: no user '%s' to drop root privileges to%s%s", name,
                      errno ? ": " : " (use --sandbox-user USER)", errno ? strerror(errno) : "");
            return -1;
        }
        *id = (struct identity){ .uid = pw->pw_uid, .groups = { pw->pw_gid }, .ngroups = 1 };
    }
    for (unsigned i = 0; i < id->ngroups; i++) {
        if (id->uid == 0 || id->groups[i] == 0) {
            rvm_error("sandbox: user '%s' is root or in group root: nothing would be dropped", name);
            return -1;
        }
    }
    return 0;
}

/* Whether gid is one of groups[0..n). */
static bool has_gid(const gid_t *groups, unsigned n, gid_t gid)
{
    for (unsigned i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

/* Root becomes id (uid 0: nothing to drop). */
static int drop_privileges(const struct identity *id)
{
    uid_t uid = id->uid;
    gid_t gid = id->groups[0];
    if (uid == 0)
        return 0;
    /* The kernel forgets a parent-death signal on a change of user; a supervisor that
     * asked for one (rackvm rack) must still take its VMs with it when it dies. */
    int death_signal = 0;
    pid_t parent = getppid();
    prctl(PR_GET_PDEATHSIG, &death_signal);
    if (setgroups(id->ngroups, id->groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        rvm_error("sandbox: cannot become uid %u: %s", (unsigned)uid, strerror(errno));
        return -1;
    }
    if (death_signal && (prctl(PR_SET_PDEATHSIG, death_signal) < 0 || getppid() != parent))
        raise(death_signal);
    uid_t r, e, s;
    gid_t rg, eg, sg, groups[1 + SANDBOX_MAX_GROUPS];
    /* The kernel keeps the groups sorted: each one asked for must be there, and no other. */
    int ngroups = getgroups(ARRAY_SIZE(groups), groups);
    bool groups_taken = ngroups == (int)id->ngroups;
    for (unsigned i = 0; groups_taken && i < id->ngroups; i++)
        groups_taken = has_gid(groups, (unsigned)ngroups, id->groups[i]);
    if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != uid || e != uid ||
        s != uid || rg != gid || eg != gid || sg != gid || !groups_taken || setuid(0) == 0) {
        rvm_error("sandbox: dropping root to uid %u did not take", (unsigned)uid);
        return -1;
    }
    return 0;
}

/*
 * An ordinary user's jail: a user namespace in which it keeps its own uid and gid, the
 * only ones mapped, and holds the capabilities that build the jail over namespaces it
 * owns (none over the host's). 1: entered; 0: this host does not allow it (said so);
 * -1 after printing why.
 */
static int enter_user_namespace(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWUSER) < 0) {
        /* EPERM: forbidden (a sysctl, a container's seccomp); ENOSPC: a limit of 0. */
        if (errno == EPERM || errno == ENOSPC || errno == EUSERS || errno == EINVAL) {
            rvm_error("--sandbox jail: this host does not let an ordinary user create a user "
                      "namespace (%s): the VM runs with seccomp and no_new_privs only", strerror(errno));
            return 0;
        }
        rvm_error("--sandbox jail: cannot create a user namespace: %s", strerror(errno));
        return -1;
    }
    if (jail_map_user(uid, gid) < 0) {
        rvm_error("--sandbox jail: cannot map this user in its user namespace: %s", strerror(errno));
        return -1;
    }
    return 1;
}

/* The starter of a jailed VM: passes on the signals sent to it (not a terminal's, which
 * reach the VM in the same process group already) and exits as the VM does. */
static _Noreturn void relay_to(pid_t vm, const sigset_t *all)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(all, &si);
        int status;
        if (sig == SIGCHLD && waitpid(vm, &status, WNOHANG) == vm)
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        if (sig > 0 && sig != SIGCHLD && si.si_code != SI_KERNEL)
            kill(vm, sig);
    }
}

/*
 * A process cannot enter a PID namespace itself (unshare(CLONE_NEWPID) moves only its
 * children): a jailed run that is not already its namespace's init (the rack starts
 * root VMs as one) forks, and the child goes on as the VM, init of a PID namespace of
 * its own. 0 in the VM, -1 after printing why; the starter never returns.
 */
static int enter_pid_namespace(void)
{
    if (getpid() == 1)
        return 0;
    sigset_t all, before;
    sigfillset(&all);
    if (unshare(CLONE_NEWPID) < 0 || sigprocmask(SIG_BLOCK, &all, &before) < 0) {
        rvm_error("sandbox: jail: cannot enter a PID namespace: %s", strerror(errno));
        return -1;
    }
    pid_t vm = fork();
    if (vm < 0) {
        rvm_error("sandbox: jail: cannot start the VM in its PID namespace: %s", strerror(errno));
        return -1;
    }
    if (vm > 0)
        relay_to(vm, &all);
    /* The VM ends with its starter (the kernel's signal, from outside, reaches an init). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || sigprocmask(SIG_SETMASK, &before, NULL) < 0) {
        rvm_error("sandbox: jail: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int sandbox_prepare(struct sandbox_config *cfg)
{
    /* Every thread allocates from the one main arena, which grows and shrinks by brk:
     * glibc opens files, which the filter forbids, to size its other arenas
     * (/sys/devices/system/cpu/online) and the first time it shrinks one of their heaps
     * (/proc/sys/vm/overcommit_memory: a VM's threads freeing their buffers at power-off
     * were stopped so). Before the second thread, which would take an arena of its own. */
    mallopt(M_ARENA_MAX, 1);
    if (!cfg->jail)
        return 0;
    char why[160];
    if (!jail_possible(why, sizeof(why))) {
        rvm_error("--sandbox jail: %s: use --sandbox on here", why);
        return -1;
    }
    if (geteuid() != 0) {
        int entered = enter_user_namespace();
        if (entered <= 0) {
            cfg->jail = false;
            return entered;
        }
    }
    /* User networking and a tap device are the host's network; the GDB stub listens again
     * on a guest reboot, which must be reachable from the host. */
    if (jail_unshare(!(cfg->user_net || cfg->tap || cfg->gdb)) < 0)
        return -1;
    return enter_pid_namespace();
}

/* --sandbox jail: the empty root, keeping what the VM still opens by path reachable. */
static int enter_jail(const struct sandbox_config *cfg)
{
    static char dirs[JAIL_MAX_KEEP][PATH_MAX];
    const char *keep[JAIL_MAX_KEEP];
    unsigned n = 0;
    if (cfg->user_net && access("/etc/resolv.conf", F_OK) == 0)
        keep[n++] = "/etc/resolv.conf";
    for (unsigned i = 0; i < ARRAY_SIZE(cfg->switch_sockets) && cfg->switch_sockets[i] &&
                         n < JAIL_MAX_KEEP; i++, n++) {
        snprintf(dirs[n], sizeof(dirs[n]), "%s", cfg->switch_sockets[i]);
        keep[n] = dirname(dirs[n]);
    }
    return jail_enter(keep, n);
}

static int add_rules(scmp_filter_ctx ctx, const struct sandbox_config *cfg)
{
    for (size_t i = 0; i < ARRAY_SIZE(allowed_calls); i++) {
        const struct allowed_call *c = &allowed_calls[i];
        if (!needed(cfg, c->need))
            continue;
        struct scmp_arg_cmp args[2] = { c->args[0], c->args[1] };
        for (unsigned a = 0; a < c->nargs; a++)
            if (args[a].datum_a == THIS_PROCESS)
                args[a].datum_a = (scmp_datum_t)getpid();
        int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, c->nr, c->nargs, args);
        if (rc < 0) {
            char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, c->nr);
            rvm_error("sandbox: cannot allow %s: %s", name ? name : "?", strerror(-rc));
            free(name);
            return -1;
        }
    }
    /* glibc tries clone3 first: ENOSYS sends it to clone, whose flags the filter checks. */
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
}

static void name_calls(void)
{
    for (int nr = 0; nr < NAMED_CALLS; nr++) {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
        if (name)
            snprintf(call_names[nr], sizeof(call_names[nr]), "%s", name);
        free(name);
    }
}

int sandbox_enter(const struct sandbox_config *cfg)
{
#ifdef LEAK_CHECKED_BUILD
    /* LeakSanitizer's check stops the world through a traced clone of the process
     * (prctl PR_GET_DUMPABLE, clone without CLONE_THREAD, ptrace), which the filter must
     * refuse: it runs now (while /proc is there, before a jail), on start-up's
     * allocations, which also turns off the one at exit.
     * The sanitizers' other checks go on under the filter. */
    __lsan_do_leak_check();
#endif
    struct identity id;
    if (find_user(cfg->user, &id) < 0 || (cfg->jail && enter_jail(cfg) < 0) ||
        drop_privileges(&id) < 0)
        return -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        rvm_error("sandbox: cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    name_calls();
    blocked_hook = cfg->on_blocked;
    struct sigaction sa = { .sa_sigaction = on_blocked_call, .sa_flags = SA_SIGINFO };
    sigemptyset(&sa.sa_mask);
    sigset_t sigsys;
    sigemptyset(&sigsys);
    sigaddset(&sigsys, SIGSYS);
    if (sigaction(SIGSYS, &sa, NULL) < 0 || pthread_sigmask(SIG_UNBLOCK, &sigsys, NULL) != 0) {
        rvm_error("sandbox: cannot catch SIGSYS: %s", strerror(errno));
        return -1;
    }
    /* A call of another architecture (int 0x80, x32) ends the whole process at once. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) {
        rvm_error("sandbox: cannot create a seccomp filter");
        return -1;
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc < 0) {
        rvm_error("sandbox: cannot configure the seccomp filter: %s", strerror(-rc));
        seccomp_release(ctx);
        return -1;
    }
    if (add_rules(ctx, cfg) < 0) {
        seccomp_release(ctx);
        return -1;
    }
    rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc < 0) {
        rvm_error("sandbox: cannot install the seccomp filter on every thread: %s", strerror(-rc));
        return -1;
    }
    return 0;
}
