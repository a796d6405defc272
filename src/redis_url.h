/* redis_url: parses the SSELIGHT_BROKER address of a Redis server.
 *   redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]      TCP (HOST may be [IPv6])
 *   unix://[[USER]:PASSWORD@]/PATH[?db=DB]          unix socket
 * USER and PASSWORD may be percent-encoded. PORT defaults to 6379, DB to 0.
 * Pure parsing: no I/O, so every form and error is unit-tested. */
#ifndef SSELIGHT_REDIS_URL_H
#define SSELIGHT_REDIS_URL_H

#include <stddef.h>

#define REDIS_URL_HOST_MAX 255
#define REDIS_URL_PATH_MAX 107   /* sun_path less the NUL */
#define REDIS_URL_SECRET_MAX 255 /* user or password, decoded */
#define REDIS_URL_DB_MAX 15      /* Redis' default number of databases, less 1 */

struct redis_url {
    char host[REDIS_URL_HOST_MAX + 1]; /* "" for a unix socket */
    int port;
    char path[REDIS_URL_PATH_MAX + 1]; /* "" for TCP */
    char user[REDIS_URL_SECRET_MAX + 1];     /* "" : none (AUTH password) */
    char password[REDIS_URL_SECRET_MAX + 1]; /* "" : no AUTH */
    int db;
};

/* Fills *u from text. Returns 0, or -1 with a short reason in why (static
 * text, never containing the password). */
int redis_url_parse(const char *text, struct redis_url *u, const char **why);

/* Writes where u points without its secrets ("HOST:PORT/DB", "[::1]:6379/0",
 * "unix:PATH/DB") into out; truncates to outsz. */
void redis_url_describe(const struct redis_url *u, char *out, size_t outsz);

#endif
