/* check_config: the settings file. config_parse against a table of lines
 * (every key with a good and a bad value, comments, blanks, CRLF, trimming,
 * '#' and '=' inside values, unknown keys, duplicates, long lines, lines
 * without '=', NUL bytes) with the line numbers in the errors; config_load
 * with files in a scratch directory: an explicit file that is missing, a
 * default one that is missing, the environment winning, an empty variable
 * taken as unset, a bad line setting nothing, a FIFO and a directory in
 * place of the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_suites.h"
#include "check_tmpdir.h"
#include "config.h"

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* What config_parse reported: "ENV=VALUE@LINE;" per setting. */
struct seen {
    char text[2048];
};

static int record(const char *env, const char *value, unsigned line, void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s=%s@%u;", env, value, line);
    return 0;
}

static const struct {
    const char *text;
    const char *want;   /* the settings seen, or NULL when an error is due */
    const char *error;  /* a part of the error text, when one is due */
} cases[] = {
    /* every key, good */
    { "data_dir = /home/a/sse-data\n", "SSELIGHT_DATA_DIR=/home/a/sse-data@1;", NULL },
    { "broker = redis://127.0.0.1:6379/0\n", "SSELIGHT_BROKER=redis://127.0.0.1:6379/0@1;", NULL },
    { "broker =\n", "SSELIGHT_BROKER=@1;", NULL },
    { "history = 1\n", "SSELIGHT_HISTORY=1@1;", NULL },
    { "history = 1000000\n", "SSELIGHT_HISTORY=1000000@1;", NULL },
    { "sync = full\n", "SSELIGHT_SYNC=full@1;", NULL },
    { "sync = normal\n", "SSELIGHT_SYNC=normal@1;", NULL },
    { "publish_token = 0123456789abcdef\n", "SSELIGHT_PUBLISH_TOKEN=0123456789abcdef@1;", NULL },
    { "subscribe_secret = 0123456789abcdef0123456789abcdef\n",
      "SSELIGHT_SUBSCRIBE_SECRET=0123456789abcdef0123456789abcdef@1;", NULL },
    { "heartbeat_ms = 100\n", "SSELIGHT_HEARTBEAT_MS=100@1;", NULL },
    { "stream_out_max = 4096\n", "SSELIGHT_STREAM_OUT_MAX=4096@1;", NULL },
    { "write_timeout_ms = 0\n", "SSELIGHT_WRITE_TIMEOUT_MS=0@1;", NULL },
    { "max_subscribers = 10000000\n", "SSELIGHT_MAX_SUBSCRIBERS=10000000@1;", NULL },
    { "max_channel_subscribers = 5\n", "SSELIGHT_MAX_CHANNEL_SUBSCRIBERS=5@1;", NULL },
    { "max_cgi_streams = 50\n", "SSELIGHT_MAX_CGI_STREAMS=50@1;", NULL },
    { "prefix = /~alice/sse\n", "SSELIGHT_PREFIX=/~alice/sse@1;", NULL },
    { "prefix =\n", "SSELIGHT_PREFIX=@1;", NULL },
    /* every key, bad */
    { "data_dir = var\n", NULL, "f:1: data_dir must be an absolute path" },
    { "data_dir = /a/very/long/path/that/goes/on/and/on/and/on/and/on/past/eighty/bytes/of/text/xxxxxxxxxxxxxxxx\n",
      NULL, "f:1: data_dir must be an absolute path of at most 80 bytes" },
    { "broker = http://x\n", NULL, "f:1: broker: " },
    { "history = 0\n", NULL, "f:1: history must be a number from 1 to 1000000, not '0'" },
    { "history = 1e3\n", NULL, "history must be a number" },
    { "sync = always\n", NULL, "f:1: sync must be normal or full, not 'always'" },
    { "publish_token = short\n", NULL, "f:1: publish_token must be 16 to 255 characters without blanks (this one has 5)" },
    { "publish_token = has a blank in it ok\n", NULL, "with blanks" },
    { "subscribe_secret = 0123456789abcdef\n", NULL, "subscribe_secret must be 32 to 255" },
    { "heartbeat_ms = 99\n", NULL, "heartbeat_ms must be a number from 100 to 3600000, not '99'" },
    { "heartbeat_ms = -1\n", NULL, "not '-1'" },
    { "stream_out_max = 67108865\n", NULL, "stream_out_max must be a number from 4096 to 67108864" },
    { "write_timeout_ms = abc\n", NULL, "write_timeout_ms must be a number" },
    { "max_subscribers = 99999999999999999999\n", NULL, "max_subscribers must be a number" },
    { "max_channel_subscribers = \n", NULL, "max_channel_subscribers must be a number" },
    { "max_cgi_streams = 100001\n", NULL, "max_cgi_streams must be a number from 0 to 100000" },
    { "prefix = /apps/sse/\n", NULL, "f:1: prefix must be empty or like /apps/sse" },
    /* the format */
    { "", "", NULL },
    { "\n\n   \n\t\n", "", NULL },
    { "# a comment\n  # another = one\nhistory = 5\n", "SSELIGHT_HISTORY=5@3;", NULL },
    { "history=5\r\nsync=full\r\n", "SSELIGHT_HISTORY=5@1;SSELIGHT_SYNC=full@2;", NULL },
    { "  \thistory \t=\t 7 \t\n", "SSELIGHT_HISTORY=7@1;", NULL },
    { "history = 8", "SSELIGHT_HISTORY=8@1;", NULL },   /* no final newline */
    { "publish_token = abc#def=ghi-0123456789\n",
      "SSELIGHT_PUBLISH_TOKEN=abc#def=ghi-0123456789@1;", NULL },
    { "\n\nnope = 1\n", NULL, "f:3: unknown setting 'nope'" },
    { "History = 1\n", NULL, "f:1: unknown setting 'History'" },
    { "history = 1\nsync = full\nhistory = 2\n", NULL, "f:3: history is set twice (first on line 1)" },
    { "history 5\n", NULL, "f:1: expected 'key = value'" },
    { " = 5\n", NULL, "f:1: a setting without a name" },
    { "history = 5 # five\n", NULL, "f:1: history must be a number" },
};

START_TEST(test_parse_table)
{
    struct seen s = { "" };
    char err[512] = "";
    const char *text = cases[_i].text;
    int rc = config_parse(text, strlen(text), "f", record, &s, err, sizeof err);
    if (cases[_i].want) {
        ck_assert_msg(rc == 0, "case %d: error '%s'", _i, err);
        ck_assert_str_eq(s.text, cases[_i].want);
    } else {
        ck_assert_msg(rc == -1, "case %d: no error, got '%s'", _i, s.text);
        ck_assert_msg(strstr(err, cases[_i].error) != NULL,
                      "case %d: error '%s' lacks '%s'", _i, err, cases[_i].error);
        ck_assert_msg(strchr(err, '\n') == NULL, "case %d: two lines", _i);
    }
}
END_TEST

START_TEST(test_parse_secret_not_echoed)
{
    struct seen s = { "" };
    char err[512];
    const char *text = "subscribe_secret = topsecretvalue\n";
    ck_assert_int_eq(config_parse(text, strlen(text), "f", record, &s, err,
                                  sizeof err), -1);
    ck_assert_ptr_null(strstr(err, "topsecret"));
    text = "broker = redis://:hunter2hunter2@[::1\n";
    ck_assert_int_eq(config_parse(text, strlen(text), "f", record, &s, err,
                                  sizeof err), -1);
    ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(test_parse_limits)
{
    struct seen s = { "" };
    char err[512];
    char text[CONFIG_LINE_MAX + 64];
    /* A line of exactly CONFIG_LINE_MAX bytes is read; one more is not. */
    memset(text, '#', CONFIG_LINE_MAX);
    text[CONFIG_LINE_MAX] = '\n';
    ck_assert_int_eq(config_parse(text, CONFIG_LINE_MAX + 1, "f", record, &s,
                                  err, sizeof err), 0);
    memcpy(text, "history = 1\n", 12);
    memset(text + 12, '#', CONFIG_LINE_MAX + 1);
    ck_assert_int_eq(config_parse(text, 12 + CONFIG_LINE_MAX + 1, "f", record,
                                  &s, err, sizeof err), -1);
    ck_assert_str_eq(err, "f:2: line longer than 1024 bytes");
    ck_assert_int_eq(config_parse("history = 1\0", 12, "f", record, &s, err,
                                  sizeof err), -1);
    ck_assert_msg(strstr(err, "NUL byte") != NULL, "%s", err);
}
END_TEST

START_TEST(test_env_name)
{
    ck_assert_str_eq(config_env_name("data_dir"), "SSELIGHT_DATA_DIR");
    ck_assert_str_eq(config_env_name("max_cgi_streams"), "SSELIGHT_MAX_CGI_STREAMS");
    ck_assert_ptr_null(config_env_name("DATA_DIR"));
}
END_TEST

/* The variables config_load may set; cleared around each load test. */
static const char *const vars[] = { "SSELIGHT_HISTORY", "SSELIGHT_SYNC",
                                    "SSELIGHT_DATA_DIR", CONFIG_ENV };

static void clear_vars(void)
{
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_load_default_and_env)
{
    char path[256], used[512], err[512];
    clear_vars();
    /* No file beside the program: nothing happens. */
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), 0);
    ck_assert_str_eq(used, "");
    ck_assert_ptr_null(getenv("SSELIGHT_HISTORY"));

    snprintf(path, sizeof path, "%s/%s", tmpdir_test, CONFIG_FILE_NAME);
    write_file(path, "history = 42\nsync = full\ndata_dir = /srv/data\n");
    /* The environment wins; an empty variable counts as unset. */
    ck_assert_int_eq(setenv("SSELIGHT_HISTORY", "7", 1), 0);
    ck_assert_int_eq(setenv("SSELIGHT_SYNC", "", 1), 0);
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), 0);
    ck_assert_str_eq(used, path);
    ck_assert_str_eq(getenv("SSELIGHT_HISTORY"), "7");
    ck_assert_str_eq(getenv("SSELIGHT_SYNC"), "full");
    ck_assert_str_eq(getenv("SSELIGHT_DATA_DIR"), "/srv/data");
    clear_vars();
}
END_TEST

START_TEST(test_env_number)
{
    char err[256];
    unsigned long long v = 99;
    clear_vars();
    /* Unset or empty: the default. */
    ck_assert_int_eq(config_env_number("SSELIGHT_HISTORY", 0, &v, err,
                                       sizeof err), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(setenv("SSELIGHT_HISTORY", "", 1), 0);
    ck_assert_int_eq(config_env_number("SSELIGHT_HISTORY", 5, &v, err,
                                       sizeof err), 0);
    ck_assert_uint_eq(v, 5);
    /* The file's bounds, 1 to 1000000, inclusive. */
    ck_assert_int_eq(setenv("SSELIGHT_HISTORY", "1000000", 1), 0);
    ck_assert_int_eq(config_env_number("SSELIGHT_HISTORY", 0, &v, err,
                                       sizeof err), 0);
    ck_assert_uint_eq(v, 1000000);
    const char *bad[] = { "0", "1000001", "12x", "-1", " 5", "99999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(setenv("SSELIGHT_HISTORY", bad[i], 1), 0);
        ck_assert_int_eq(config_env_number("SSELIGHT_HISTORY", 0, &v, err,
                                           sizeof err), -1);
        ck_assert_msg(strstr(err, "SSELIGHT_HISTORY must be a number from 1 "
                                  "to 1000000") != NULL, "%s: %s", bad[i], err);
    }
    /* Any setting checked as the file checks it; secrets not repeated. */
    ck_assert_int_eq(setenv("SSELIGHT_HISTORY", "12x", 1), 0);
    ck_assert_int_eq(config_env_valid("SSELIGHT_HISTORY", err, sizeof err), -1);
    ck_assert_int_eq(setenv("SSELIGHT_METRICS_TOKEN", "short-secret", 1), 0);
    ck_assert_int_eq(config_env_valid("SSELIGHT_METRICS_TOKEN", err,
                                      sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "SSELIGHT_METRICS_TOKEN: metrics_token "
                                      "must be 16 to 255 characters"));
    ck_assert_ptr_null(strstr(err, "short-secret"));
    ck_assert_int_eq(setenv("SSELIGHT_METRICS_TOKEN",
                            "0123456789abcdef0123", 1), 0);
    ck_assert_int_eq(config_env_valid("SSELIGHT_METRICS_TOKEN", err,
                                      sizeof err), 0);
    ck_assert_int_eq(setenv("SSELIGHT_METRICS_TOKEN", "", 1), 0);
    ck_assert_int_eq(config_env_valid("SSELIGHT_METRICS_TOKEN", err,
                                      sizeof err), 0);
    unsetenv("SSELIGHT_METRICS_TOKEN");
    ck_assert_int_eq(config_env_valid("SSELIGHT_NOPE", err, sizeof err), -1);
    /* Only number settings. */
    ck_assert_int_eq(config_env_number("SSELIGHT_SYNC", 0, &v, err,
                                       sizeof err), -1);
    clear_vars();
}
END_TEST

START_TEST(test_load_explicit)
{
    char path[256], used[512], err[512];
    clear_vars();
    snprintf(path, sizeof path, "%s/elsewhere.conf", tmpdir_test);
    ck_assert_int_eq(setenv(CONFIG_ENV, path, 1), 0);
    /* Named but missing: an error that names it. */
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), -1);
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file") &&
                  strstr(err, CONFIG_ENV), "%s", err);
    write_file(path, "history = 9\n");
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), 0);
    ck_assert_str_eq(used, path);
    ck_assert_str_eq(getenv("SSELIGHT_HISTORY"), "9");
    /* A bad line: file and line in the error, nothing half applied. */
    unsetenv("SSELIGHT_HISTORY");
    write_file(path, "history = 3\n# ok\nheartbeat_ms = soon\n");
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), -1);
    char want[512];
    snprintf(want, sizeof want, "%s:3: heartbeat_ms must be a number", path);
    ck_assert_msg(strstr(err, want) == err, "%s", err);
    ck_assert_ptr_null(getenv("SSELIGHT_HISTORY"));
    /* A FIFO by that name: refused at once, not waited on. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), -1);
    ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
    /* A directory where the file should be. */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(config_load(tmpdir_test, used, sizeof used, err,
                                 sizeof err), -1);
    ck_assert_msg(strstr(err, "Is a directory") != NULL, "%s", err);
    clear_vars();
}
END_TEST

Suite *make_config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse_table, 0, N_OF(cases));
    tcase_add_test(tc, test_parse_secret_not_echoed);
    tcase_add_test(tc, test_parse_limits);
    tcase_add_test(tc, test_env_name);
    suite_add_tcase(s, tc);
    TCase *load = tcase_create("load");
    tmpdir_add_fixtures(load);
    tcase_add_test(load, test_load_default_and_env);
    tcase_add_test(load, test_env_number);
    tcase_add_test(load, test_load_explicit);
    suite_add_tcase(s, load);
    return s;
}
