/* check_cgi_request: CGI detection (fd 0 a socket or not, GATEWAY_INTERFACE)
 * and the body reader against pipes: exact CONTENT_LENGTH, a body past the
 * bound (kept up to it, the rest drained), input ending early, a malformed
 * CONTENT_LENGTH, and a body read to end of file. fd 0 and the environment
 * are restored after each test (the suite also runs with CK_FORK=no). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "cgi_request.h"
#include "check_suites.h"

/* A pipe whose read end holds len bytes of p, then end of file. */
static int pipe_with(const char *p, size_t len)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], p, len), (ssize_t)len);
    ck_assert_int_eq(close(fds[1]), 0);
    return fds[0];
}

/* Runs cgi_request_is_cgi with fd 0 replaced by fd (closed here) and
 * GATEWAY_INTERFACE set to gw (NULL: unset). */
static int is_cgi_with(int fd, const char *gw)
{
    int saved = dup(0);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fd, 0), 0);
    ck_assert_int_eq(close(fd), 0);
    char *old = getenv("GATEWAY_INTERFACE");
    char *keep = old ? strdup(old) : NULL;
    if (gw)
        ck_assert_int_eq(setenv("GATEWAY_INTERFACE", gw, 1), 0);
    else
        ck_assert_int_eq(unsetenv("GATEWAY_INTERFACE"), 0);
    int r = cgi_request_is_cgi();
    if (keep)
        ck_assert_int_eq(setenv("GATEWAY_INTERFACE", keep, 1), 0);
    else
        ck_assert_int_eq(unsetenv("GATEWAY_INTERFACE"), 0);
    free(keep);
    ck_assert_int_eq(dup2(saved, 0), 0);
    ck_assert_int_eq(close(saved), 0);
    return r;
}

START_TEST(test_is_cgi)
{
    ck_assert_int_eq(is_cgi_with(pipe_with("", 0), "CGI/1.1"), 1);
    ck_assert_int_eq(is_cgi_with(open("/dev/null", O_RDONLY), "CGI/1.1"), 1);
    /* No GATEWAY_INTERFACE, or not CGI's: run by hand, not by a server. */
    ck_assert_int_eq(is_cgi_with(pipe_with("", 0), NULL), 0);
    ck_assert_int_eq(is_cgi_with(pipe_with("", 0), "FastCGI"), 0);
    /* mod_cgid's CGI programs get a connected socket as stdin. */
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ck_assert_int_eq(is_cgi_with(sv[0], "CGI/1.1"), 1);
    ck_assert_int_eq(close(sv[1]), 0);
    /* A listening socket on fd 0 is what a FastCGI server hands over. */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/sselight-cr-%ld.sock",
             (long)getpid());
    (void)unlink(sa.sun_path);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(unlink(sa.sun_path), 0);
    ck_assert_int_eq(is_cgi_with(l, "CGI/1.1"), 0);
}
END_TEST

START_TEST(test_body_exact)
{
    struct buf b = BUF_INIT;
    int big = -1;
    int fd = pipe_with("hello=world&x=1", 15);
    ck_assert_int_eq(cgi_request_read_body(fd, "15", 64, &b, &big), 0);
    ck_assert_int_eq(big, 0);
    ck_assert_uint_eq(buf_pending(&b), 15);
    ck_assert_mem_eq(buf_head(&b), "hello=world&x=1", 15);
    ck_assert_int_eq(close(fd), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_body_stops_at_length)
{
    /* Bytes past CONTENT_LENGTH are not the body's and are not read. */
    struct buf b = BUF_INIT;
    int big;
    int fd = pipe_with("abcdefgh", 8);
    ck_assert_int_eq(cgi_request_read_body(fd, "3", 64, &b, &big), 0);
    ck_assert_uint_eq(buf_pending(&b), 3);
    ck_assert_mem_eq(buf_head(&b), "abc", 3);
    char rest[8];
    ck_assert_int_eq(read(fd, rest, sizeof rest), 5);
    ck_assert_int_eq(close(fd), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_body_too_large_is_drained)
{
    char big_body[40000];
    memset(big_body, 'x', sizeof big_body);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    /* More than a pipe holds: only a reader that drains lets this finish. */
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < 4; i++)
            if (write(fds[1], big_body, sizeof big_body) !=
                (ssize_t)sizeof big_body)
                _exit(1);
        _exit(0);
    }
    ck_assert_int_eq(close(fds[1]), 0);
    struct buf b = BUF_INIT;
    int big = 0;
    ck_assert_int_eq(cgi_request_read_body(fds[0], "160000", 1000, &b, &big),
                     0);
    ck_assert_int_eq(big, 1);
    ck_assert_uint_eq(buf_pending(&b), 1000);
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 0); /* all of it was read */
    ck_assert_int_eq(close(fds[0]), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_body_ends_early)
{
    struct buf b = BUF_INIT;
    int big;
    int fd = pipe_with("abc", 3);
    errno = 0;
    ck_assert_int_eq(cgi_request_read_body(fd, "10", 64, &b, &big), -1);
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_int_eq(close(fd), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_body_bad_length)
{
    static const char *const bad[] = { "-1", "+3", " 3", "3 ", "0x10", "abc",
                                       "99999999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf b = BUF_INIT;
        int big;
        int fd = pipe_with("abc", 3);
        errno = 0;
        ck_assert_msg(cgi_request_read_body(fd, bad[i], 64, &b, &big) == -1 &&
                          errno == EINVAL, "CONTENT_LENGTH '%s'", bad[i]);
        ck_assert_uint_eq(buf_pending(&b), 0);
        ck_assert_int_eq(close(fd), 0);
        buf_free(&b);
    }
}
END_TEST

START_TEST(test_body_to_eof)
{
    struct buf b = BUF_INIT;
    int big;
    int fd = pipe_with("no length given", 15);
    ck_assert_int_eq(cgi_request_read_body(fd, NULL, 64, &b, &big), 0);
    ck_assert_uint_eq(buf_pending(&b), 15);
    ck_assert_int_eq(close(fd), 0);
    buf_reset(&b);
    fd = pipe_with("0123456789", 10);
    ck_assert_int_eq(cgi_request_read_body(fd, "", 4, &b, &big), 0);
    ck_assert_int_eq(big, 1);
    ck_assert_uint_eq(buf_pending(&b), 4);
    ck_assert_int_eq(close(fd), 0);
    buf_reset(&b);
    /* CONTENT_LENGTH 0: nothing is read, even with input waiting. */
    fd = pipe_with("x", 1);
    ck_assert_int_eq(cgi_request_read_body(fd, "0", 4, &b, &big), 0);
    ck_assert_uint_eq(buf_pending(&b), 0);
    ck_assert_int_eq(close(fd), 0);
    buf_free(&b);
}
END_TEST

START_TEST(test_program_name)
{
    /* This test runs in check_unit or check_unit_asan. */
    const char *p = cgi_request_program();
    ck_assert_msg(strcmp(p, "check_unit") == 0 ||
                  strcmp(p, "check_unit_asan") == 0, "program '%s'", p);
    ck_assert_ptr_eq(cgi_request_program(), p);
}
END_TEST

START_TEST(test_write_all)
{
    /* More than a pipe holds at once, read by a child: every byte arrives. */
    static char data[200000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)('a' + i % 26);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[1]);
        size_t got = 0, bad = 0;
        char chunk[4096];
        ssize_t n;
        while ((n = read(fds[0], chunk, sizeof chunk)) > 0) {
            for (ssize_t k = 0; k < n; k++)
                bad += chunk[k] != (char)('a' + (got + (size_t)k) % 26);
            got += (size_t)n;
        }
        _exit(got == sizeof data && bad == 0 ? 0 : 1);
    }
    ck_assert_int_eq(close(fds[0]), 0);
    ck_assert_int_eq(cgi_request_write_all(fds[1], data, sizeof data), 0);
    ck_assert_int_eq(close(fds[1]), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* A reader that is gone: EPIPE (SIGPIPE ignored here). */
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(close(fds[0]), 0);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    errno = 0;
    ck_assert_int_eq(cgi_request_write_all(fds[1], "x", 1), -1);
    ck_assert_int_eq(errno, EPIPE);
    signal(SIGPIPE, old);
    ck_assert_int_eq(close(fds[1]), 0);
}
END_TEST

Suite *make_cgi_request_suite(void)
{
    Suite *s = suite_create("cgi_request");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_is_cgi);
    tcase_add_test(tc, test_body_exact);
    tcase_add_test(tc, test_body_stops_at_length);
    tcase_add_test(tc, test_body_too_large_is_drained);
    tcase_add_test(tc, test_body_ends_early);
    tcase_add_test(tc, test_body_bad_length);
    tcase_add_test(tc, test_body_to_eof);
    tcase_add_test(tc, test_program_name);
    tcase_add_test(tc, test_write_all);
    suite_add_tcase(s, tc);
    return s;
}
