/* check_tmpdir: scratch directories for tests that touch the file system. */
#ifndef SSELIGHT_CHECK_TMPDIR_H
#define SSELIGHT_CHECK_TMPDIR_H

#include <check.h>
#include <stddef.h>

/* Creates a fresh directory from template (ending in XXXXXX) into out;
 * aborts the test run if it cannot (nothing else could work then). */
void tmpdir_make(char *out, size_t outsz, const char *template_path);

/* Removes path and everything below it; "" is ignored. */
void tmpdir_remove(const char *path);

/* The scratch directory of the running test: made fresh before each test
 * of a TCase given to tmpdir_add_fixtures, removed after it, all inside one
 * base directory per TCase run. */
extern char tmpdir_test[96];

/* Adds those fixtures to tc. */
void tmpdir_add_fixtures(TCase *tc);

#endif
