#include "cli/cmd_rack.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rack/client.h"
#include "rack/rack_file.h"
#include "rack/supervisor.h"

#define CALL_MS 15000   /* ps asks all VMs for stats at once (2 s); the rest is slack under load */
#define DOWN_WAIT_S 120
#define DETACH_WAIT_S 30
#define DETACH_KEY 0x1d   /* Ctrl-]: not Ctrl-A, which the guest's console may want */

void cmd_rack_usage(FILE *out)
{
    fputs("usage: rackvm rack COMMAND [NAME] [-f FILE] [--state-dir DIR]\n"
          "\n"
          "  up [FILE] [-d]       start the rack's networks and VMs and supervise them in\n"
          "                       the foreground, printing state changes (Ctrl-C: down);\n"
          "                       -d/--detach: in the background, printing to DIR/rack.log\n"
          "  ps                   name, state, pid, uptime, restarts, CPU%, RSS, disk and\n"
          "                       net KiB, last exit of each VM; then each network's\n"
          "                       switch: state, pid, restarts, last exit\n"
          "  logs NAME [--follow] the VM's console output (-F/--follow: keep printing)\n"
          "  console NAME         attach to the VM's serial console; Ctrl-] detaches\n"
          "  start|stop|restart|pause|resume NAME|--all\n"
          "                       stop: the guest is asked to power off, then forced\n"
          "  down                 stop every VM cleanly, then the rack\n"
          "\n"
          "  -f, --file FILE      the rack file (default rack.yaml)\n"
          "  --state-dir DIR      where the rack keeps its sockets and logs (default\n"
          "                       .FILE.rack next to the rack file)\n"
          "\n"
          "Every command is also a JSON request on DIR/rack.sock, one a line:\n"
          "{\"command\": \"stop\", \"name\": \"web\"}\n",
          out);
}

enum { OPT_STATE_DIR = 256, OPT_ALL, OPT_HELP };

static const struct option rack_options[] = {
    { "file", required_argument, NULL, 'f' },
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "follow", no_argument, NULL, 'F' },
    { "detach", no_argument, NULL, 'd' },
    { "all", no_argument, NULL, OPT_ALL },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* The default state directory: .BASENAME.rack beside the rack file. */
static void default_state_dir(const char *file, char *out, size_t len)
{
    char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];
    snprintf(a, sizeof(a), "%s", file);
    snprintf(b, sizeof(b), "%s", file);
    if (!realpath(dirname(a), dir))
        snprintf(dir, sizeof(dir), ".");
    if (snprintf(out, len, "%s/.%s.rack", dir, basename(b)) >= (int)len)
        snprintf(out, len, ".rack");
}

/* One request on the rack's socket: the answer, or NULL after saying why. */
static json_t *call(const char *state_dir, json_t *request)
{
    char path[PATH_MAX], err[512];
    rack_socket_path(state_dir, path, sizeof(path));
    json_t *answer = request ? rack_call(path, request, CALL_MS, err, sizeof(err)) : NULL;
    json_decref(request);
    if (!answer) {
        fprintf(stderr, "rackvm: rack: %s (is the rack up? rackvm rack up FILE)\n", err);
        return NULL;
    }
    if (!json_is_true(json_object_get(answer, "ok"))) {
        fprintf(stderr, "rackvm: rack: %s\n", json_string_value(json_object_get(answer, "error")));
        json_decref(answer);
        return NULL;
    }
    return answer;
}

static void print_duration(double s, char *out, size_t len)
{
    unsigned t = (unsigned)s;
    if (t >= 3600)
        snprintf(out, len, "%uh%02um", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, len, "%um%02us", t / 60, t % 60);
    else
        snprintf(out, len, "%us", t);
}

static int ps(const char *state_dir)
{
    json_t *answer = call(state_dir, json_pack("{s:s}", "command", "ps"));
    if (!answer)
        return 1;
    printf("%-16s %-9s %7s %8s %8s %6s %8s %15s %15s  %s\n", "NAME", "STATE", "PID", "UPTIME",
           "RESTARTS", "CPU%", "RSS(MiB)", "DISK R/W(KiB)", "NET RX/TX(KiB)", "LAST EXIT");
    size_t i;
    json_t *vm;
    json_array_foreach(json_object_get(answer, "vms"), i, vm) {
        char uptime[32] = "-", cpu[16] = "-", rss[16] = "-";
        int pid = (int)json_integer_value(json_object_get(vm, "pid"));
        if (pid)
            print_duration(json_number_value(json_object_get(vm, "uptime")), uptime, sizeof(uptime));
        if (json_object_get(vm, "cpu_percent"))
            snprintf(cpu, sizeof(cpu), "%.1f", json_number_value(json_object_get(vm, "cpu_percent")));
        if (json_object_get(vm, "rss_bytes"))
            snprintf(rss, sizeof(rss), "%.1f",
                     (double)json_integer_value(json_object_get(vm, "rss_bytes")) / (1 << 20));
        char disk[40] = "-", net[40] = "-";
        if (json_object_get(vm, "disk_read_bytes"))
            snprintf(disk, sizeof(disk), "%lld/%lld",
                     json_integer_value(json_object_get(vm, "disk_read_bytes")) >> 10,
                     json_integer_value(json_object_get(vm, "disk_written_bytes")) >> 10);
        if (json_object_get(vm, "net_rx_bytes"))
            snprintf(net, sizeof(net), "%lld/%lld",
                     json_integer_value(json_object_get(vm, "net_rx_bytes")) >> 10,
                     json_integer_value(json_object_get(vm, "net_tx_bytes")) >> 10);
        char pidtext[16] = "-";
        if (pid)
            snprintf(pidtext, sizeof(pidtext), "%d", pid);
        const char *last = json_string_value(json_object_get(vm, "last_exit"));
        printf("%-16s %-9s %7s %8s %8d %6s %8s %15s %15s  %s\n",
               json_string_value(json_object_get(vm, "name")),
               json_string_value(json_object_get(vm, "state")), pidtext, uptime,
               (int)json_integer_value(json_object_get(vm, "restarts")), cpu, rss, disk, net,
               last && *last ? last : "-");
    }
    json_array_foreach(json_object_get(answer, "networks"), i, vm) {
        char pidtext[16] = "-";
        int pid = (int)json_integer_value(json_object_get(vm, "pid"));
        if (pid)
            snprintf(pidtext, sizeof(pidtext), "%d", pid);
        const char *last = json_string_value(json_object_get(vm, "last_exit"));
        printf("network %-8s %-9s %7s %8s %8d %6s %8s %15s %15s  %s\n",
               json_string_value(json_object_get(vm, "name")),
               json_string_value(json_object_get(vm, "state")), pidtext, "-",
               (int)json_integer_value(json_object_get(vm, "restarts")), "-", "-", "-", "-",
               last && *last ? last : "-");
    }
    const char *unlimited = json_string_value(json_object_get(answer, "limits_not_enforced"));
    if (unlimited)
        printf("limits not enforced: %s\n", unlimited);
    json_decref(answer);
    return 0;
}

/* Copies path from offset *pos to stdout; false when it cannot be opened. */
static bool copy_from(const char *path, off_t *pos)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    if (fseeko(f, *pos, SEEK_SET) == 0) {
        char buf[16384];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
            fwrite(buf, 1, n, stdout);
            *pos += (off_t)n;
        }
    }
    fclose(f);
    fflush(stdout);
    return true;
}

static int logs(const char *state_dir, const char *name, bool follow)
{
    json_t *answer = call(state_dir, json_pack("{s:s,s:s}", "command", "logs", "name", name));
    if (!answer)
        return 1;
    char path[PATH_MAX], old[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s", json_string_value(json_object_get(answer, "path")));
    json_decref(answer);
    snprintf(old, sizeof(old), "%s.1", path);
    off_t pos = 0;
    copy_from(old, &pos);
    pos = 0;
    copy_from(path, &pos);
    struct stat st;
    ino_t ino = stat(path, &st) == 0 ? st.st_ino : 0;
    while (follow) {
        usleep(200000);
        /* Rotated: the rest of the old file, then the new one from its start. */
        if (stat(path, &st) == 0 && st.st_ino != ino) {
            copy_from(old, &pos);
            ino = st.st_ino;
            pos = 0;
        }
        copy_from(path, &pos);
    }
    return 0;
}

/* Relays between the terminal and the VM's console socket until Ctrl-] or either end
 * closes. The terminal is raw meanwhile, so keys such as Ctrl-C reach the guest. */
static int console(const char *state_dir, const char *name)
{
    json_t *answer = call(state_dir, json_pack("{s:s,s:s}", "command", "logs", "name", name));
    if (!answer)
        return 1;
    json_decref(answer);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int len = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.console", state_dir, name);
    int fd = len > 0 && (size_t)len < sizeof(addr.sun_path) ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
        fprintf(stderr, "rackvm: rack console: %s: %s\n", addr.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    struct termios saved, raw;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
    if (tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    fprintf(stderr, "[attached to %s's console; Ctrl-] detaches]\r\n", name);
    char buf[4096];
    bool attached = true;
    while (attached) {
        struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            attached = n > 0 && write(STDOUT_FILENO, buf, (size_t)n) == n;
        }
        if (attached && p[0].revents) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            char *key = n > 0 ? memchr(buf, DETACH_KEY, (size_t)n) : NULL;
            size_t len = key ? (size_t)(key - buf) : n > 0 ? (size_t)n : 0;
            attached = n > 0 && !key;
            if (len && send(fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
                attached = false;
        }
    }
    if (tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    fprintf(stderr, "\r\n[detached from %s's console]\n", name);
    close(fd);
    return 0;
}

/* down: asks, then waits until the rack's socket is gone (every VM has ended). */
static int down(const char *state_dir)
{
    json_t *answer = call(state_dir, json_pack("{s:s}", "command", "down"));
    if (!answer)
        return 1;
    json_decref(answer);
    char path[PATH_MAX];
    rack_socket_path(state_dir, path, sizeof(path));
    struct stat st;
    for (unsigned i = 0; i < DOWN_WAIT_S * 10; i++) {
        if (stat(path, &st) < 0) {
            printf("rack down\n");
            return 0;
        }
        usleep(100000);
    }
    fprintf(stderr, "rackvm: rack: still going down after %d s\n", DOWN_WAIT_S);
    return 1;
}

/* -d: the supervisor goes on in a new session, its output in STATE/rack.log; this
 * process waits until the rack's socket answers (or the supervisor gave up). */
static int detach(const struct rack_file *rf, const char *state_dir, const char *exe)
{
    char log_path[PATH_MAX + 16], sock[PATH_MAX];
    snprintf(log_path, sizeof(log_path), "%s/rack.log", state_dir);
    rack_socket_path(state_dir, sock, sizeof(sock));
    int log_fd = -1;
    if ((mkdir(state_dir, 0755) < 0 && errno != EEXIST) ||
        (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) < 0) {
        fprintf(stderr, "rackvm: rack up: %s: %s\n", log_fd < 0 ? log_path : state_dir, strerror(errno));
        return 1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDONLY);
        setsid();
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        _exit(rack_supervise(rf, state_dir, exe));
    }
    close(log_fd);
    json_t *ps = json_pack("{s:s}", "command", "ps");
    char err[256];
    int status, rc = 1;
    for (unsigned i = 0; pid > 0 && i < DETACH_WAIT_S * 10; i++) {
        json_t *answer = rack_call(sock, ps, 1000, err, sizeof(err));
        if (answer) {
            json_decref(answer);
            printf("rack up: running in the background (pid %d); its output goes to %s\n",
                   (int)pid, log_path);
            rc = 0;
            break;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "rackvm: rack up: the rack did not start; see %s\n", log_path);
            break;
        }
        usleep(100000);
    }
    if (pid < 0)
        fprintf(stderr, "rackvm: rack up: cannot detach: %s\n", strerror(errno));
    else if (rc != 0 && waitpid(pid, &status, WNOHANG) == 0)
        fprintf(stderr, "rackvm: rack up: no answer on %s after %d s; see %s\n", sock,
                DETACH_WAIT_S, log_path);
    json_decref(ps);
    return rc;
}

static int up(const char *file, const char *state_dir, bool background)
{
    char err[1024], exe[PATH_MAX];
    struct rack_file *rf = rack_file_load(file, err, sizeof(err));
    if (!rf) {
        fprintf(stderr, "rackvm: rack: %s\n", err);
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0) {
        fprintf(stderr, "rackvm: rack: cannot find the rackvm binary: %s\n", strerror(errno));
        rack_file_free(rf);
        return 1;
    }
    exe[n] = '\0';
    int rc = background ? detach(rf, state_dir, exe) : rack_supervise(rf, state_dir, exe);
    rack_file_free(rf);
    return rc;
}

/* One of start, stop, restart, pause, resume on the VM name. */
static int named_command(const char *state_dir, const char *command, const char *name)
{
    json_t *answer = call(state_dir, json_pack("{s:s,s:s}", "command", command, "name", name));
    if (!answer)
        return 1;
    const char *state = json_string_value(json_object_get(answer, "state"));
    printf("%s: %s\n", name, state ? state : "done");
    json_decref(answer);
    return 0;
}

/* The same on every VM of the rack (--all). */
static int on_all(const char *state_dir, const char *command)
{
    json_t *answer = call(state_dir, json_pack("{s:s}", "command", "ps"));
    if (!answer)
        return 1;
    int rc = 0;
    size_t i;
    json_t *vm;
    json_array_foreach(json_object_get(answer, "vms"), i, vm)
        rc |= named_command(state_dir, command, json_string_value(json_object_get(vm, "name")));
    json_decref(answer);
    return rc;
}

static const char *const named_commands[] = { "start", "stop", "restart", "pause", "resume", NULL };

int cmd_rack(int argc, char **argv)
{
    const char *file = NULL, *state_dir = NULL;
    bool follow = false, background = false, all = false;
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":f:Fd", rack_options, NULL)) != -1) {
        switch (opt) {
        case 'f': file = optarg; break;
        case 'F': follow = true; break;
        case 'd': background = true; break;
        case OPT_ALL: all = true; break;
        case OPT_STATE_DIR: state_dir = optarg; break;
        case OPT_HELP: cmd_rack_usage(stdout); return 0;
        case ':':
            fprintf(stderr, "rackvm: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "rackvm: unknown option '%s' (try rackvm rack --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        cmd_rack_usage(stderr);
        return 2;
    }
    const char *command = argv[optind++];
    const char *operand = optind < argc ? argv[optind++] : NULL;
    if (optind < argc) {
        fprintf(stderr, "rackvm: rack %s: unexpected argument '%s'\n", command, argv[optind]);
        return 2;
    }
    if (!strcmp(command, "up") && operand) {
        if (file) {
            fprintf(stderr, "rackvm: rack up: a FILE or -f FILE, not both\n");
            return 2;
        }
        file = operand;
        operand = NULL;
    }
    if (!file)
        file = "rack.yaml";
    char dir[PATH_MAX];
    if (!state_dir) {
        default_state_dir(file, dir, sizeof(dir));
        state_dir = dir;
    }
    bool on_each = false;
    for (unsigned i = 0; named_commands[i]; i++)
        on_each |= !strcmp(command, named_commands[i]);
    bool named = on_each || !strcmp(command, "logs") || !strcmp(command, "console");
    if (named != (operand != NULL || all) || (all && (operand || !on_each))) {
        fprintf(stderr, "rackvm: rack %s: %s\n", command,
                all && !on_each ? "takes no --all"
                : named ? "needs the NAME of a VM (or --all)" : "takes no NAME");
        return 2;
    }
    if (background && strcmp(command, "up")) {
        fprintf(stderr, "rackvm: rack %s: --detach is for up\n", command);
        return 2;
    }
    if (follow && strcmp(command, "logs")) {
        fprintf(stderr, "rackvm: rack %s: --follow is for logs\n", command);
        return 2;
    }
    if (!strcmp(command, "up"))
        return up(file, state_dir, background);
    if (!strcmp(command, "ps"))
        return ps(state_dir);
    if (!strcmp(command, "logs"))
        return logs(state_dir, operand, follow);
    if (!strcmp(command, "down"))
        return down(state_dir);
    if (!strcmp(command, "console"))
        return console(state_dir, operand);
    if (on_each)
        return all ? on_all(state_dir, command) : named_command(state_dir, command, operand);
    fprintf(stderr, "rackvm: rack: unknown command '%s' (try rackvm rack --help)\n", command);
    return 2;
}
