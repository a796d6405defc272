/* config: the settings file, sselight.conf. On a hosting account the
 * programs run as CGI under suexec, which passes no SSELIGHT_* variable, so
 * they find their settings in a file instead: $SSELIGHT_CONFIG, else
 * sselight.conf beside the program. Each line is `key = value` (blanks
 * around both ignored), or blank, or a comment starting with '#'. Each key
 * sets one environment variable (data_dir sets SSELIGHT_DATA_DIR, ...),
 * unless the environment already has it: the environment wins. Values are
 * checked here, with the same bounds as the programs apply, so a mistake
 * is reported with the file and line. */
#ifndef SSELIGHT_CONFIG_H
#define SSELIGHT_CONFIG_H

#include <stddef.h>

#define CONFIG_FILE_NAME "sselight.conf"
#define CONFIG_ENV "SSELIGHT_CONFIG"
#define CONFIG_FILE_MAX (64 * 1024) /* bytes in the file */
#define CONFIG_LINE_MAX 1024        /* bytes in one line */

/* Called for each valid setting, in file order: env is the variable the
 * key sets ("SSELIGHT_DATA_DIR"), value its value (NUL-terminated, trimmed),
 * line its line number. Both strings are valid during the call only.
 * Return 0 to go on, -1 to stop (config_parse then returns -1 with err
 * unchanged). */
typedef int config_set_fn(const char *env, const char *value, unsigned line,
                          void *arg);

/* Parses text (len bytes; NUL bytes are an error) from a file named file
 * (for messages only). Calls set for each setting. Returns 0, or -1 with a
 * one-line reason in err: "FILE:LINE: unknown setting 'x'", "FILE:LINE:
 * heartbeat_ms must be a number from 100 to 3600000, not 'abc'". A token's
 * or secret's value is never repeated in a message. No I/O. */
int config_parse(const char *text, size_t len, const char *file,
                 config_set_fn *set, void *arg, char *err, size_t errlen);

/* The environment variable a key sets, or NULL for an unknown key. */
const char *config_env_name(const char *key);

/* Reads the number setting env ("SSELIGHT_HISTORY") from the environment,
 * within the bounds the settings file applies to it: def when the variable
 * is unset or empty. Returns 0, or -1 with "ENV must be a number from MIN to
 * MAX, not 'x'" in err (also for an env that is not a number setting). */
int config_env_number(const char *env, unsigned long long def,
                      unsigned long long *out, char *err, size_t errlen);

/* Checks the setting env ("SSELIGHT_METRICS_TOKEN") as the settings file
 * checks its key: 0 when it is unset, empty or valid; otherwise -1 with
 * "ENV: <why>" in err (a secret's value is never repeated). */
int config_env_valid(const char *env, char *err, size_t errlen);

/* Finds and applies the settings file: $SSELIGHT_CONFIG when set and not
 * empty (then the file must exist), else DIR/sselight.conf, DIR being
 * program_dir or, when NULL, the directory of the running program
 * (/proc/self/exe); that one may be missing. Every setting is exported
 * with setenv(VAR, value, 0) unless VAR is set and not empty already.
 * used gets the path of the file applied, "" for none. Returns 0, or -1
 * with a one-line reason in err that names the file (and the line). */
int config_load(const char *program_dir, char *used, size_t usedlen,
                char *err, size_t errlen);

#endif
