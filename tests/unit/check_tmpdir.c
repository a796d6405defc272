/* check_tmpdir: scratch directories. See check_tmpdir.h. */
#include "check_tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void tmpdir_make(char *out, size_t outsz, const char *template_path)
{
    if ((size_t)snprintf(out, outsz, "%s", template_path) >= outsz ||
        !mkdtemp(out)) {
        fprintf(stderr, "tmpdir: mkdtemp %s: %s\n", template_path,
                strerror(errno));
        abort();
    }
}

static int tmpdir_remove_one(const char *path, const struct stat *st,
                             int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0)
        fprintf(stderr, "tmpdir: remove %s: %s\n", path, strerror(errno));
    return 0;
}

void tmpdir_remove(const char *path)
{
    if (path[0])
        (void)nftw(path, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char tmpdir_test[96];
static char tmpdir_base[64];

static void tmpdir_base_setup(void)
{
    tmpdir_make(tmpdir_base, sizeof tmpdir_base, "/tmp/cktXXXXXX");
}

static void tmpdir_base_teardown(void)
{
    tmpdir_remove(tmpdir_base);
}

static void tmpdir_test_setup(void)
{
    snprintf(tmpdir_test, sizeof tmpdir_test, "%s/tXXXXXX", tmpdir_base);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir_test));
}

static void tmpdir_test_teardown(void)
{
    tmpdir_remove(tmpdir_test);
}

void tmpdir_add_fixtures(TCase *tc)
{
    tcase_add_unchecked_fixture(tc, tmpdir_base_setup, tmpdir_base_teardown);
    tcase_add_checked_fixture(tc, tmpdir_test_setup, tmpdir_test_teardown);
}
