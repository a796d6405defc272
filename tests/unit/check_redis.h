/* check_redis: a real redis-server for the tests of the Redis broker. The
 * TCase's unchecked setup starts one on a free loopback port (no
 * persistence) and its teardown stops it; before each test the database is
 * emptied. Without redis-server on PATH the setup fails the run: make test
 * installs it (tools/setup-deps.sh). With CHECK_REDIS_PORT set, the server
 * already listening on that loopback port is used instead (t_valgrind). */
#ifndef SSELIGHT_CHECK_REDIS_H
#define SSELIGHT_CHECK_REDIS_H

#include <check.h>

/* "redis://127.0.0.1:PORT/0" while the TCase runs. */
extern char redis_test_url[64];
extern int redis_test_port;

/* Adds the fixtures to tc. */
void redis_add_fixtures(TCase *tc);

/* Runs a command on the test server (printf-style, hiredis format);
 * returns its reply as text (integers as digits), "" for nil; fails the
 * test on a connection error. */
const char *redis_test_command(const char *fmt, ...);

#endif
