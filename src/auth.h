/* auth: who may publish. Pure checks, no I/O. */
#ifndef SSELIGHT_AUTH_H
#define SSELIGHT_AUTH_H

/* 1 if given equals want; takes the same time whatever prefix matches, so
 * response times say nothing about the token. want must not be empty. */
int auth_token_equal(const char *given, const char *want);

/* 1 if addr (REMOTE_ADDR as the web server passes it) is a loopback
 * address: 127.0.0.0/8, ::1, or ::ffff:127.x.x.x. */
int auth_addr_is_loopback(const char *addr);

/* What follows "Bearer " in authorization (the header's value, may be
 * NULL), or NULL when it names another scheme or none. The scheme name is
 * matched without regard to case (RFC 9110, 11.1). */
const char *auth_bearer_token(const char *authorization);

/* The "Authorization: Bearer TOKEN" check shared by publishing and the
 * monitoring routes: 0 when authorization (the header's value, may be
 * NULL) carries token (not empty), else 401 (no bearer token sent, or
 * another scheme) or 403 (the wrong token). The scheme name is matched
 * without regard to case (RFC 9110, 11.1). */
int auth_bearer_check(const char *authorization, const char *token);

/* Who may see the monitoring routes (/metrics, /stats, /status): loopback
 * always; others only with "Authorization: Bearer TOKEN" where token is
 * SSELIGHT_METRICS_TOKEN (NULL or "": none set). Returns 0 when allowed,
 * else the status to answer (401: no bearer token sent; 403: no token set
 * or the wrong one) with *why, a one-line reason. */
int auth_monitor_check(const char *remote_addr, const char *authorization,
                       const char *token, const char **why);

#endif
