/* check_notify: the contract of notify.h. notify_listen makes DIR/notify
 * (0700) and binds a datagram socket at DIR/notify/PID.sock, or fails with
 * ENAMETOOLONG when that path does not fit sun_path (108 bytes with its
 * NUL); notify_all sends to every *.sock there, counts the listeners it
 * reached and removes socket files nobody is bound to; no DIR/notify means
 * 0; notify_drain empties the socket; notify_close removes the file.
 *
 * Directories as in check_broker: a base made by the unchecked setup and
 * removed by the unchecked teardown, a fresh one inside it per test. */
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_suites.h"
#include "check_tmpdir.h"
#include "notify.h"


static int readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    ck_assert_int_ge(r, 0);
    return r == 1 && (p.revents & POLLIN);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Binds a unix datagram socket at path and closes it without unlinking:
 * the file stays, nobody listens. */
static void make_stale(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(close(fd), 0);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
}

START_TEST(test_listen_creates)
{
    struct notify_listener l;
    char want[160], sub[128];
    snprintf(sub, sizeof sub, "%s/notify", tmpdir_test);
    snprintf(want, sizeof want, "%s/notify/%ld.sock", tmpdir_test, (long)getpid());
    ck_assert(!exists(sub));

    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    ck_assert_int_ge(l.fd, 0);
    ck_assert_str_eq(l.path, want);
    struct stat st;
    ck_assert_int_eq(stat(sub, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    ck_assert_int_eq(lstat(want, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));

    /* Datagram, non-blocking. */
    int type = 0;
    socklen_t tl = sizeof type;
    ck_assert_int_eq(getsockopt(l.fd, SOL_SOCKET, SO_TYPE, &type, &tl), 0);
    ck_assert_int_eq(type, SOCK_DGRAM);
    char c;
    ck_assert_int_eq(recv(l.fd, &c, 1, 0), -1);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);

    notify_close(&l);
    ck_assert(!exists(want));
    ck_assert(exists(sub));

    /* Again, with DIR/notify already there. */
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    ck_assert(exists(want));
    notify_close(&l);
    ck_assert(!exists(want));
}
END_TEST

/* A file left at our own path (an earlier process with our pid) does not
 * stop us. */
START_TEST(test_listen_over_stale_own)
{
    char sub[128], own[160];
    snprintf(sub, sizeof sub, "%s/notify", tmpdir_test);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(own, sizeof own, "%s/%ld.sock", sub, (long)getpid());
    make_stale(own);
    struct notify_listener l;
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert(readable(l.fd, 0));
    notify_close(&l);
}
END_TEST

START_TEST(test_all_wakes_one)
{
    struct notify_listener l;
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    ck_assert(!readable(l.fd, 0));
    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert(readable(l.fd, 1000));
    notify_drain(&l);
    ck_assert(!readable(l.fd, 0));

    /* Several wake-ups, one drain. */
    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert(readable(l.fd, 1000));
    notify_drain(&l);
    ck_assert(!readable(l.fd, 0));
    notify_drain(&l); /* nothing pending: returns */
    ck_assert(exists(l.path));
    notify_close(&l);
}
END_TEST

START_TEST(test_all_removes_stale)
{
    struct notify_listener l;
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    char stale[160], other[160];
    snprintf(stale, sizeof stale, "%s/notify/999999999.sock", tmpdir_test);
    make_stale(stale);
    /* Not a *.sock name: not ours to touch. */
    snprintf(other, sizeof other, "%s/notify/README", tmpdir_test);
    FILE *f = fopen(other, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fclose(f), 0);

    ck_assert_int_eq(notify_all(tmpdir_test), 1);
    ck_assert(!exists(stale));
    ck_assert(exists(other));
    ck_assert(exists(l.path));
    ck_assert(readable(l.fd, 1000));
    notify_close(&l);

    /* Our own socket, closed without notify_close's unlink: stale too. */
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    ck_assert_int_eq(close(l.fd), 0);
    ck_assert(exists(l.path));
    ck_assert_int_eq(notify_all(tmpdir_test), 0);
    ck_assert(!exists(l.path));
}
END_TEST

START_TEST(test_all_without_dir)
{
    ck_assert_int_eq(notify_all(tmpdir_test), 0); /* dir exists, no notify/ */
    char sub[128];
    snprintf(sub, sizeof sub, "%s/notify", tmpdir_test);
    ck_assert(!exists(sub));
    char missing[128];
    snprintf(missing, sizeof missing, "%s/missing", tmpdir_test);
    ck_assert_int_eq(notify_all(missing), 0); /* nor dir itself */
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(notify_all(tmpdir_test), 0);     /* empty notify/ */
}
END_TEST

/* A dir whose DIR/notify/PID.sock is exactly total bytes long (no NUL). */
static void make_dir_for(char *out, size_t outsz, size_t total)
{
    char pid[32];
    size_t pl = (size_t)snprintf(pid, sizeof pid, "%ld", (long)getpid());
    size_t dl = total - strlen("/notify/") - pl - strlen(".sock");
    size_t pad = dl - strlen(tmpdir_test) - 1;
    ck_assert_uint_lt(dl, outsz);
    ck_assert_uint_gt(pad, 0);
    snprintf(out, outsz, "%s/", tmpdir_test);
    memset(out + strlen(tmpdir_test) + 1, 'p', pad);
    out[dl] = '\0';
    ck_assert_int_eq(mkdir(out, 0700), 0);
}

START_TEST(test_path_limit)
{
    char d[256];
    struct notify_listener l;
    ck_assert_int_eq(NOTIFY_PATH_MAX, 108);

    make_dir_for(d, sizeof d, 107); /* 107 + NUL fits sun_path */
    ck_assert_int_eq(notify_listen(&l, d), 0);
    ck_assert_uint_eq(strlen(l.path), 107);
    ck_assert(exists(l.path));
    ck_assert_int_eq(notify_all(d), 1);
    ck_assert(readable(l.fd, 1000));
    notify_close(&l);
    ck_assert(!exists(l.path));

    make_dir_for(d, sizeof d, 108); /* one more does not */
    errno = 0;
    ck_assert_int_eq(notify_listen(&l, d), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);

    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    errno = 0;
    ck_assert_int_eq(notify_listen(&l, big), -1);
    ck_assert_int_eq(errno, ENAMETOOLONG);
}
END_TEST

START_TEST(test_close_removes)
{
    struct notify_listener l;
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    char path[NOTIFY_PATH_MAX];
    strcpy(path, l.path);
    ck_assert(exists(path));
    notify_close(&l);
    ck_assert(!exists(path));
    ck_assert_int_eq(notify_all(tmpdir_test), 0);
}
END_TEST

/* A second process listening: notify_all reaches both. */
START_TEST(test_all_two_processes)
{
    int ready[2], done[2];
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct notify_listener cl;
        char c;
        close(ready[0]);
        close(done[1]);
        if (notify_listen(&cl, tmpdir_test) != 0)
            _exit(2);
        if (write(ready[1], "r", 1) != 1)
            _exit(3);
        struct pollfd p = { .fd = cl.fd, .events = POLLIN };
        int woken = poll(&p, 1, 2000) == 1;
        if (read(done[0], &c, 1) < 0) /* until the parent has counted */
            _exit(4);
        notify_close(&cl);
        _exit(woken ? 0 : 5);
    }
    close(ready[1]);
    close(done[0]);
    struct notify_listener l;
    ck_assert_int_eq(notify_listen(&l, tmpdir_test), 0);
    char c;
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(notify_all(tmpdir_test), 2);
    ck_assert(readable(l.fd, 1000));
    close(done[1]);

    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status 0x%x", status);
    close(ready[0]);
    notify_drain(&l);
    ck_assert_int_eq(notify_all(tmpdir_test), 1); /* the child's file is gone */
    notify_close(&l);
}
END_TEST

Suite *make_notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("wakeup");
    tmpdir_add_fixtures(tc);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_listen_creates);
    tcase_add_test(tc, test_listen_over_stale_own);
    tcase_add_test(tc, test_all_wakes_one);
    tcase_add_test(tc, test_all_removes_stale);
    tcase_add_test(tc, test_all_without_dir);
    tcase_add_test(tc, test_path_limit);
    tcase_add_test(tc, test_close_removes);
    tcase_add_test(tc, test_all_two_processes);
    suite_add_tcase(s, tc);
    return s;
}
