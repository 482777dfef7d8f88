/*
 * rack_call_all: one request to several control sockets at once. Three servers answer
 * only once all three have been asked (so calls made one after another would each time
 * out), a fourth never answers and a fifth path has no socket: each gets its own answer
 * or its own error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rack/client.h"
#include "unit.h"

#define ANSWERING 3
#define ERRLEN 256

struct server {
    int listen_fd;
    int index;
    bool answers;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int asked;      /* answering servers that have read their request */
static bool finished;  /* the test is over: the silent server may hang up */

/* Waits under lock until cond holds or 5 s pass. */
#define WAIT_UNTIL(cond)                                                     \
    do {                                                                     \
        struct timespec until;                                               \
        clock_gettime(CLOCK_REALTIME, &until);                               \
        until.tv_sec += 5;                                                   \
        while (!(cond) && pthread_cond_timedwait(&changed, &lock, &until) == 0) \
            ;                                                                \
    } while (0)

static void *serve(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    char line[256];
    size_t got = 0;
    while (fd >= 0 && got < sizeof(line) && !memchr(line, '\n', got)) {
        ssize_t n = read(fd, line + got, sizeof(line) - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    pthread_mutex_lock(&lock);
    if (s->answers) {
        asked++;
        pthread_cond_broadcast(&changed);
        WAIT_UNTIL(asked == ANSWERING);
    } else {
        WAIT_UNTIL(finished);
    }
    pthread_mutex_unlock(&lock);
    if (fd >= 0 && s->answers) {
        char answer[64];
        int len = snprintf(answer, sizeof(answer), "{\"ok\": true, \"server\": %d}\n", s->index);
        CHECK(send(fd, answer, (size_t)len, MSG_NOSIGNAL) == len);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int listen_at(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    CHECK(listen(fd, 4) == 0);
    return fd;
}

int main(void)
{
    char dir[] = "/tmp/rackvm-client-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    enum { SERVERS = ANSWERING + 1, CALLS = SERVERS + 1 };
    char paths[CALLS][128];
    const char *path_list[CALLS];
    struct server servers[SERVERS];
    pthread_t threads[SERVERS];
    for (int i = 0; i < CALLS; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/vm%d.sock", dir, i);
        path_list[i] = paths[i];
    }
    for (int i = 0; i < SERVERS; i++) {
        servers[i] = (struct server){ listen_at(paths[i]), i, i < ANSWERING };
        CHECK(pthread_create(&threads[i], NULL, serve, &servers[i]) == 0);
    }

    json_t *request = json_pack("{s:s}", "command", "stats");
    json_t *answers[CALLS];
    static char errs[CALLS * ERRLEN];
    rack_call_all(path_list, CALLS, request, 2000, answers, errs, ERRLEN);
    for (int i = 0; i < ANSWERING; i++) {
        CHECK(answers[i] != NULL);
        if (answers[i])
            CHECK_EQ_U64(json_integer_value(json_object_get(answers[i], "server")), i);
        json_decref(answers[i]);
    }
    CHECK(answers[ANSWERING] == NULL);
    CHECK(strstr(errs + ANSWERING * ERRLEN, "no answer within 2000 ms") != NULL);
    CHECK(answers[CALLS - 1] == NULL);
    CHECK(strstr(errs + (CALLS - 1) * ERRLEN, "No such file") != NULL);

    pthread_mutex_lock(&lock);
    finished = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < SERVERS; i++) {
        pthread_join(threads[i], NULL);
        close(servers[i].listen_fd);
        unlink(paths[i]);
    }
    /* rack_call is the same code for one socket. */
    char err[ERRLEN];
    CHECK(rack_call(paths[CALLS - 1], request, 100, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "No such file") != NULL);
    json_decref(request);
    rmdir(dir);
    UNIT_DONE();
}
