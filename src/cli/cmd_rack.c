#include "cli/cmd_rack.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rack/client.h"
#include "rack/rack_file.h"
#include "rack/supervisor.h"

#define CALL_MS 15000   /* ps asks every VM for its stats, each within 2 s */
#define DOWN_WAIT_S 120

void cmd_rack_usage(FILE *out)
{
    fputs("usage: rackvm rack COMMAND [NAME] [-f FILE] [--state-dir DIR]\n"
          "\n"
          "  up [FILE]            start the rack's networks and VMs and supervise them in\n"
          "                       the foreground, printing state changes (Ctrl-C: down)\n"
          "  ps                   name, state, pid, uptime, restarts, CPU%, RSS, last exit\n"
          "  logs NAME [--follow] the VM's console output (-F/--follow: keep printing)\n"
          "  start|stop|restart|pause|resume NAME\n"
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

enum { OPT_STATE_DIR = 256, OPT_HELP };

static const struct option rack_options[] = {
    { "file", required_argument, NULL, 'f' },
    { "state-dir", required_argument, NULL, OPT_STATE_DIR },
    { "follow", no_argument, NULL, 'F' },
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
    printf("%-16s %-9s %7s %8s %8s %6s %8s  %s\n", "NAME", "STATE", "PID", "UPTIME",
           "RESTARTS", "CPU%", "RSS(MiB)", "LAST EXIT");
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
        char pidtext[16] = "-";
        if (pid)
            snprintf(pidtext, sizeof(pidtext), "%d", pid);
        const char *last = json_string_value(json_object_get(vm, "last_exit"));
        printf("%-16s %-9s %7s %8s %8d %6s %8s  %s\n",
               json_string_value(json_object_get(vm, "name")),
               json_string_value(json_object_get(vm, "state")), pidtext, uptime,
               (int)json_integer_value(json_object_get(vm, "restarts")), cpu, rss,
               last && *last ? last : "-");
    }
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

static int up(const char *file, const char *state_dir)
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
    int rc = rack_supervise(rf, state_dir, exe);
    rack_file_free(rf);
    return rc;
}

static const char *const named_commands[] = { "start", "stop", "restart", "pause", "resume", NULL };

int cmd_rack(int argc, char **argv)
{
    const char *file = NULL, *state_dir = NULL;
    bool follow = false;
    opterr = 0;
    optind = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":f:F", rack_options, NULL)) != -1) {
        switch (opt) {
        case 'f': file = optarg; break;
        case 'F': follow = true; break;
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
    bool named = !strcmp(command, "logs");
    for (unsigned i = 0; named_commands[i]; i++)
        named |= !strcmp(command, named_commands[i]);
    if (named != (operand != NULL)) {
        fprintf(stderr, "rackvm: rack %s: %s\n", command,
                named ? "needs the NAME of a VM" : "takes no NAME");
        return 2;
    }
    if (follow && strcmp(command, "logs")) {
        fprintf(stderr, "rackvm: rack %s: --follow is for logs\n", command);
        return 2;
    }
    if (!strcmp(command, "up"))
        return up(file, state_dir);
    if (!strcmp(command, "ps"))
        return ps(state_dir);
    if (!strcmp(command, "logs"))
        return logs(state_dir, operand, follow);
    if (!strcmp(command, "down"))
        return down(state_dir);
    for (unsigned i = 0; named_commands[i]; i++) {
        if (!strcmp(command, named_commands[i])) {
            json_t *answer = call(state_dir, json_pack("{s:s,s:s}", "command", command, "name", operand));
            if (!answer)
                return 1;
            const char *state = json_string_value(json_object_get(answer, "state"));
            printf("%s: %s\n", operand, state ? state : "done");
            json_decref(answer);
            return 0;
        }
    }
    fprintf(stderr, "rackvm: rack: unknown command '%s' (try rackvm rack --help)\n", command);
    return 2;
}
