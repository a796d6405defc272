/* check_cgi_cap: the CGI stream cap. Slots are taken up to the cap, then
 * CGI_CAP_BUSY; a slot given back (its fd closed) is free again; a process
 * that dies holding one, even by SIGKILL, gives it back; the lock files
 * live in DIR/cgi-streams; a directory that cannot be made is an error. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgi_cap.h"
#include "check_suites.h"
#include "check_tmpdir.h"

START_TEST(test_cap_counts)
{
    int a = cgi_cap_take(tmpdir_test, 2);
    int b = cgi_cap_take(tmpdir_test, 2);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(b, 0);
    ck_assert_int_ne(a, b);
    ck_assert_int_eq(cgi_cap_take(tmpdir_test, 2), CGI_CAP_BUSY);
    /* A larger cap finds the next file free. */
    int c = cgi_cap_take(tmpdir_test, 3);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(cgi_cap_take(tmpdir_test, 3), CGI_CAP_BUSY);
    ck_assert_int_eq(close(a), 0);
    a = cgi_cap_take(tmpdir_test, 2);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(cgi_cap_take(tmpdir_test, 3), CGI_CAP_BUSY);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/cgi-streams/2.lock", tmpdir_test);
    ck_assert_int_eq(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/cgi-streams", tmpdir_test);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    ck_assert_int_eq(close(a), 0);
    ck_assert_int_eq(close(b), 0);
    ck_assert_int_eq(close(c), 0);
}
END_TEST

START_TEST(test_cap_freed_by_kill)
{
    int ready[2];
    ck_assert_int_eq(pipe(ready), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Check's runner leaves a SIGTERM handler that kills the whole
         * test's process group; the holder must die by the default action. */
        if (signal(SIGTERM, SIG_DFL) == SIG_ERR)
            _exit(1);
        char ok = cgi_cap_take(tmpdir_test, 1) >= 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char got = 0;
    ck_assert_int_eq(read(ready[0], &got, 1), 1);
    ck_assert_int_eq(got, 'y');
    ck_assert_int_eq(cgi_cap_take(tmpdir_test, 1), CGI_CAP_BUSY);
    /* SIGTERM's default action ends the holder with no cleanup of its own,
     * like SIGKILL, but lets valgrind write its summary for the child. */
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    int fd = cgi_cap_take(tmpdir_test, 1);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(close(fd), 0);
    ck_assert_int_eq(close(ready[0]), 0);
    ck_assert_int_eq(close(ready[1]), 0);
}
END_TEST

START_TEST(test_cap_bad_dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/missing/deeper", tmpdir_test);
    errno = 0;
    ck_assert_int_eq(cgi_cap_take(path, 1), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *make_cgi_cap_suite(void)
{
    Suite *s = suite_create("cgi_cap");
    TCase *tc = tcase_create("core");
    tmpdir_add_fixtures(tc);
    tcase_add_test(tc, test_cap_counts);
    tcase_add_test(tc, test_cap_freed_by_kill);
    tcase_add_test(tc, test_cap_bad_dir);
    suite_add_tcase(s, tc);
    return s;
}
