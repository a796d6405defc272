/* check_redis: a redis-server per TCase. See check_redis.h. */
#include "check_redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

char redis_test_url[64];
int redis_test_port;
static pid_t redis_pid = -1;

static int redis_answers(void);

/* A port nothing listens on now: bind port 0 and read what we got. */
static int redis_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("check_redis: free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int redis_answers(void)
{
    struct timeval tv = { 0, 200 * 1000 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_test_port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

static void redis_start(void)
{
    char port[16];
    /* A server someone else runs (t_valgrind: a child started here would
     * leave valgrind a log that ends at its exec). */
    const char *given = getenv("CHECK_REDIS_PORT");
    if (given && *given) {
        redis_test_port = atoi(given);
        snprintf(redis_test_url, sizeof redis_test_url,
                 "redis://127.0.0.1:%d/0", redis_test_port);
        if (!redis_answers()) {
            fprintf(stderr, "check_redis: nothing answers on CHECK_REDIS_PORT"
                    "=%s\n", given);
            exit(1);
        }
        return;
    }
    redis_test_port = redis_free_port();
    snprintf(port, sizeof port, "%d", redis_test_port);
    snprintf(redis_test_url, sizeof redis_test_url, "redis://127.0.0.1:%d/0",
             redis_test_port);
    redis_pid = fork();
    if (redis_pid < 0) {
        perror("check_redis: fork");
        exit(1);
    }
    if (redis_pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            (void)dup2(null, STDOUT_FILENO); /* its banner; errors stay */
        execlp("redis-server", "redis-server", "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no",
               "--loglevel", "warning", "--dir", "/tmp", (char *)NULL);
        fprintf(stderr, "check_redis: cannot run redis-server: %s\n",
                strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 100; i++) { /* 10 s */
        if (redis_answers())
            return;
        if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
            fprintf(stderr, "check_redis: redis-server exited\n");
            exit(1);
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "check_redis: redis-server did not answer in 10 s\n");
    kill(redis_pid, SIGKILL);
    exit(1);
}

static void redis_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGTERM);
        while (waitpid(redis_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    redis_pid = -1;
}

const char *redis_test_command(const char *fmt, ...)
{
    static char out[256];
    struct timeval tv = { 2, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_test_port, tv);
    ck_assert_msg(c && !c->err, "connect to the test redis: %s",
                  c ? c->errstr : "out of memory");
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(r != NULL, "redis command: %s", c->errstr);
    if (r->type == REDIS_REPLY_INTEGER)
        snprintf(out, sizeof out, "%lld", r->integer);
    else if (r->type == REDIS_REPLY_NIL || r->type == REDIS_REPLY_ARRAY)
        out[0] = '\0';
    else
        snprintf(out, sizeof out, "%.*s", (int)r->len, r->str);
    freeReplyObject(r);
    redisFree(c);
    return out;
}

static void redis_flush(void)
{
    const char *r = redis_test_command("FLUSHALL");
    ck_assert_str_eq(r, "OK");
}

void redis_add_fixtures(TCase *tc)
{
    tcase_add_unchecked_fixture(tc, redis_start, redis_stop);
    tcase_add_checked_fixture(tc, redis_flush, NULL);
}
