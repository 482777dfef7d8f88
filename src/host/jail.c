#include "host/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Where the new root is built, in the private mount namespace: a directory every Linux
 * has, and hidden from the host by that namespace. */
#define BUILD_DIR "/tmp"
#define JAIL_MOUNT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* path absolute: as is; relative: under cwd. false when it does not fit. */
static bool absolute(const char *cwd, const char *path, char *out, size_t len)
{
    int n = path[0] == '/' ? snprintf(out, len, "%s", path) : snprintf(out, len, "%s/%s", cwd, path);
    return n > 0 && (size_t)n < len;
}

/* mkdir -p of BUILD_DIR + path; the last component too when last_too. */
static int make_dirs(const char *path, bool last_too)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), BUILD_DIR "%s", path) >= (int)sizeof(dir))
        return -1;
    size_t base = strlen(BUILD_DIR);
    for (char *p = dir + base + 1; ; p++) {
        if (*p == '/' || (*p == '\0' && last_too)) {
            char c = *p;
            *p = '\0';
            /* 0755 whatever the umask (a rack's is 077): the dropped user passes through. */
            if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || chmod(dir, 0755) < 0)
                return -1;
            *p = c;
        }
        if (!*p)
            return 0;
    }
}

/* Bind-mounts the file or directory open as fd at BUILD_DIR + target, read-only. */
static int keep(int fd, const char *target)
{
    struct stat st;
    char source[64], at[PATH_MAX];
    snprintf(source, sizeof(source), "/proc/self/fd/%d", fd);
    if (fstat(fd, &st) < 0 || make_dirs(target, S_ISDIR(st.st_mode)) < 0 ||
        snprintf(at, sizeof(at), BUILD_DIR "%s", target) >= (int)sizeof(at))
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        int placeholder = open(at, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (placeholder < 0)
            return -1;
        close(placeholder);
    }
    if (mount(source, at, NULL, MS_BIND, NULL) < 0)
        return -1;
    return mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | JAIL_MOUNT_FLAGS, NULL);
}

/* Whether fd is the host's root directory: keeping it would keep everything. */
static bool is_host_root(int fd)
{
    struct stat kept, root;
    return fstat(fd, &kept) < 0 || stat("/", &root) < 0 ||
           (kept.st_dev == root.st_dev && kept.st_ino == root.st_ino);
}

/* The empty root with the kept paths, pivoted into; the old root detached. */
static int build_root(const char *const keep_paths[], const char *cwd, const int *fds,
                      char (*targets)[PATH_MAX], unsigned nkeep)
{
    if (mount("rackvm-jail", BUILD_DIR, "tmpfs", JAIL_MOUNT_FLAGS, "size=64k,mode=0755") < 0) {
        rvm_error("sandbox: jail: cannot mount its root: %s", strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < nkeep; i++) {
        if (keep(fds[i], targets[i]) < 0) {
            rvm_error("sandbox: jail: cannot keep %s reachable: %s", keep_paths[i], strerror(errno));
            return -1;
        }
    }
    if (make_dirs(cwd, true) < 0 || chdir(BUILD_DIR) < 0 ||
        syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0 ||
        mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | JAIL_MOUNT_FLAGS, NULL) < 0 ||
        chdir(cwd) < 0) {
        rvm_error("sandbox: jail: cannot enter its root: %s", strerror(errno));
        return -1;
    }
    return 0;
}

bool jail_possible(char *why, size_t len)
{
    /* mountinfo lists only the mounts reachable from this process's root: in a chroot,
     * none has / as its mount point. */
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096], point[PATH_MAX];
    bool root_mounted = false;
    while (f && !root_mounted && fgets(line, sizeof(line), f))
        root_mounted = sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && !strcmp(point, "/");
    if (f)
        fclose(f);
    if (!f)
        snprintf(why, len, "/proc/self/mountinfo cannot be read (is /proc mounted?)");
    else if (!root_mounted)
        snprintf(why, len, "/ is not a mount point (rackvm runs in a chroot?), so the jail's "
                 "mounts could not be kept from the host's");
    return root_mounted;
}

/* Writes text to a file of /proc/self; false on failure, with errno. */
static bool write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
    return ok;
}

int jail_map_user(uid_t uid, gid_t gid)
{
    char uid_map[32], gid_map[32];
    snprintf(uid_map, sizeof(uid_map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    snprintf(gid_map, sizeof(gid_map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    /* setgroups denied first: the kernel takes an unprivileged gid_map only then. */
    return write_proc("/proc/self/setgroups", "deny") && write_proc("/proc/self/uid_map", uid_map) &&
           write_proc("/proc/self/gid_map", gid_map) ? 0 : -1;
}

bool jail_user_namespace_allowed(char *why, size_t len)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno & 0xff);
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    snprintf(why, len, "this host does not let an ordinary user create a user namespace (%s)",
             strerror(pid < 0 ? errno : WIFEXITED(status) ? WEXITSTATUS(status) : EINTR));
    return false;
}

int jail_unshare(bool own_network)
{
    int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (own_network ? CLONE_NEWNET : 0);
    if (unshare(flags) < 0) {
        rvm_error("sandbox: jail: cannot enter new namespaces: %s", strerror(errno));
        return -1;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        rvm_error("sandbox: jail: cannot make the mounts private: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int jail_enter(const char *const keep_paths[], unsigned nkeep)
{
    char cwd[PATH_MAX];
    char targets[JAIL_MAX_KEEP][PATH_MAX];
    int fds[JAIL_MAX_KEEP];
    if (nkeep > JAIL_MAX_KEEP) {
        rvm_error("sandbox: jail: more than %d paths to keep", JAIL_MAX_KEEP);
        return -1;
    }
    if (!getcwd(cwd, sizeof(cwd))) {
        rvm_error("sandbox: jail: where am I: %s", strerror(errno));
        return -1;
    }
    /* Opened in the new namespace (a bind mount takes only its own namespace's mounts),
     * before the new root covers them. */
    unsigned opened = 0;
    int rc = 0;
    for (; opened < nkeep; opened++) {
        const char *path = keep_paths[opened];
        errno = ENAMETOOLONG;
        if (!absolute(cwd, path, targets[opened], sizeof(targets[opened])) ||
            (fds[opened] = open(path, O_PATH | O_CLOEXEC)) < 0) {
            rvm_error("sandbox: jail: %s: %s", path, strerror(errno));
            rc = -1;
            break;
        }
        if (is_host_root(fds[opened])) {
            rvm_error("sandbox: jail: %s is the root directory, which would keep every host "
                      "file reachable: put the socket in a directory of its own", path);
            close(fds[opened]);
            rc = -1;
            break;
        }
    }
    if (rc == 0)
        rc = build_root(keep_paths, cwd, fds, targets, nkeep);
    for (unsigned i = 0; i < opened; i++)
        close(fds[i]);
    return rc;
}
