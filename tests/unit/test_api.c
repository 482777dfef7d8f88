/*
 * The control protocol without a VM: request checking and dispatch (api_answer) with a
 * table of test commands, the VM commands when no machine is attached, and the socket
 * server: several clients, pipelined and split requests, an over-long line, a client
 * that hangs up, one that sends without reading (read no further until it reads, while
 * another is served), and the socket file's life (stale replaced, live or foreign refused,
 * removed at the end).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/control.h"
#include "api/server.h"
#include "unit.h"

static const char *const echo_args[] = { "text", NULL };

static json_t *cmd_echo(void *ctx, json_t *request, char *err, size_t errlen)
{
    (void)ctx;
    json_t *text = json_object_get(request, "text");
    if (!json_is_string(text)) {
        snprintf(err, errlen, "echo: \"text\" must be a string");
        return NULL;
    }
    return json_pack("{s:O}", "text", text);
}

static const struct api_command test_commands[] = { { "echo", echo_args, cmd_echo } };

/* The response to line, which must contain want. */
static void check_answer(const char *line, const char *want)
{
    char *r = api_answer(NULL, test_commands, 1, line, strlen(line));
    CHECK(r != NULL);
    if (!r)
        return;
    CHECK(strchr(r, '\n') == r + strlen(r) - 1);   /* one line, newline-terminated */
    if (!strstr(r, want)) {
        fprintf(stderr, "request %s: response %s lacks %s\n", line, r, want);
        unit_failures++;
    }
    free(r);
}

static void test_dispatch(void)
{
    check_answer("{\"command\":\"echo\",\"text\":\"hi\",\"id\":[1]}",
                 "{\"ok\":true,\"text\":\"hi\",\"id\":[1]}");
    check_answer("{\"command\":\"echo\",\"text\":5,\"id\":\"a\"}",
                 "{\"ok\":false,\"error\":\"echo: \\\"text\\\" must be a string\",\"id\":\"a\"}");
    check_answer("{\"command\":\"echo\",\"txt\":\"hi\"}", "unknown argument 'txt' (arguments: text)");
    check_answer("{\"command\":\"ech\"}", "unknown command 'ech' (commands: echo)");
    check_answer("{\"command\":7}", "no \\\"command\\\" string");
    check_answer("\"status\"", "must be a JSON object");
    check_answer("{\"command\":", "not JSON");
    check_answer("\xff\xfe", "not JSON");
    check_answer("{\"command\":\"echo\",\"command\":\"echo\"}", "duplicate");

    /* The VM's commands with no machine attached. */
    struct api_vm vm;
    api_vm_init(&vm, 30);
    char *r = api_vm_answer(&vm, "{\"command\":\"status\"}", 20);
    CHECK(r && strstr(r, "\"ok\":true,\"state\":\"stopping\""));
    free(r);
    r = api_vm_answer(&vm, "{\"command\":\"pause\"}", 19);
    CHECK(r && strstr(r, "\"ok\":false,\"error\":\"pause: no VM runs right now"));
    free(r);
    r = api_vm_answer(&vm, "{\"command\":\"stop\",\"force\":\"yes\"}", 32);
    CHECK(r && strstr(r, "\"force\\\" must be true or false"));
    free(r);
    CHECK_EQ_U64(api_vm_check_deadline(&vm), (uint64_t)-1);
    api_vm_destroy(&vm);
}

static int connect_to(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_bytes(int fd, const char *text, size_t n)
{
    CHECK(send(fd, text, n, MSG_NOSIGNAL) == (ssize_t)n);
}

static void send_text(int fd, const char *text)
{
    send_bytes(fd, text, strlen(text));
}

/* Reads until `lines` newlines arrived (5 s at most); returns the text (static). */
static const char *read_lines(int fd, int lines)
{
    static char buf[8192];
    size_t len = 0;
    int seen = 0;
    while (seen < lines && len < sizeof(buf) - 1) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            seen += buf[len + i] == '\n';
        len += (size_t)n;
    }
    buf[len] = '\0';
    CHECK_EQ_U64(seen, lines);
    return buf;
}

static void test_server(void)
{
    char dir[] = "/tmp/rackvm-api-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], file[64];
    snprintf(path, sizeof(path), "%s/vm.sock", dir);
    snprintf(file, sizeof(file), "%s/plain", dir);
    struct api_vm vm;
    api_vm_init(&vm, 30);

    /* A stale socket (bound, nobody listening any more) is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    CHECK(bind(stale, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    close(stale);
    struct api_server *s = api_server_start(path, &vm);
    CHECK(s != NULL);
    if (!s)
        return;

    /* A live socket and a file that is no socket are refused, and left as they are. */
    fprintf(stderr, "(two errors about %s are expected next)\n", dir);
    CHECK(api_server_start(path, &vm) == NULL);
    int fd = open(file, O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK(api_server_start(file, &vm) == NULL);
    struct stat st;
    CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode));

    int a = connect_to(path), b = connect_to(path), quitter = connect_to(path);
    CHECK(a >= 0 && b >= 0 && quitter >= 0);
    /* Pipelined requests in one write, and one split over two writes. */
    const char two[] = "{\"command\":\"status\",\"id\":1}\n\n{\"command\":\"nope\",\"id\":2}\n{\"comm";
    send_text(a, two);
    send_text(quitter, "{\"command\":\"status\"}\n");
    close(quitter);   /* before its answer: costs nobody anything */
    const char *got = read_lines(a, 2);
    CHECK(strstr(got, "\"state\":\"stopping\"") && strstr(got, "\"id\":1}\n"));
    CHECK(strstr(got, "unknown command 'nope'") && strstr(got, "\"id\":2}\n"));
    send_text(a, "and\":\"status\"}\n");
    CHECK(strstr(read_lines(a, 1), "\"ok\":true"));

    /* An over-long line gets one error; the request after it is answered. */
    char *huge = malloc(API_MAX_REQUEST + 100);
    memset(huge, ' ', API_MAX_REQUEST + 100);
    huge[API_MAX_REQUEST + 99] = '\n';
    send_bytes(b, huge, API_MAX_REQUEST + 100);
    free(huge);
    send_text(b, "{\"command\":\"status\"}\n");
    got = read_lines(b, 2);
    CHECK(strstr(got, "longer than 65536 bytes") && strstr(got, "\"ok\":true"));

    /* A client that sends without reading: read no further once its answers pile up,
     * while another client is served; it gets every answer once it reads. */
    int flood = connect_to(path);
    CHECK(flood >= 0);
    char batch[64 * 21 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(batch, "{\"command\":\"status\"}\n");   /* 21 bytes */
    size_t bytes = 0, len = strlen(batch);
    for (int i = 0; i < 10000; i++) {
        /* Half a second without room: the server has stopped reading this client. */
        struct pollfd p = { .fd = flood, .events = POLLOUT };
        if (poll(&p, 1, 500) <= 0)
            break;
        ssize_t n = send(flood, batch + bytes % len, len - bytes % len, MSG_DONTWAIT | MSG_NOSIGNAL);
        bytes += n > 0 ? (size_t)n : 0;
    }
    size_t sent = bytes / 21;
    CHECK(sent > 5000 && sent < 640000);
    send_text(b, "{\"command\":\"status\",\"id\":5}\n");
    CHECK(strstr(read_lines(b, 1), "\"id\":5}"));
    size_t answered = 0;
    char buf[65536];
    while (answered < sent) {
        struct pollfd p = { .fd = flood, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t n = recv(flood, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            answered += buf[i] == '\n';
    }
    CHECK_EQ_U64(answered, sent);
    close(flood);

    /* A last request without a newline is answered when the client shuts its side. */
    send_text(a, "{\"command\":\"status\",\"id\":3}");
    shutdown(a, SHUT_WR);
    CHECK(strstr(read_lines(a, 1), "\"id\":3}"));
    close(a);
    close(b);

    api_server_stop(s);
    CHECK(stat(path, &st) < 0 && errno == ENOENT);   /* removed at the end */
    api_vm_destroy(&vm);
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    alarm(60);
    test_dispatch();
    test_server();
    UNIT_DONE();
}
