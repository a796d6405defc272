/* auth: publisher checks. See auth.h. */
#include "auth.h"

#include <string.h>
#include <strings.h>

int auth_token_equal(const char *given, const char *want)
{
    size_t ng = strlen(given), nw = strlen(want);
    if (nw == 0)
        return 0;
    unsigned char diff = (unsigned char)(ng != nw);
    /* Walk the whole given token against want, wrapping, so the loop's
     * length depends only on what the client sent. */
    for (size_t i = 0; i < ng; i++)
        diff |= (unsigned char)(given[i] ^ want[i % nw]);
    return diff == 0;
}

int auth_addr_is_loopback(const char *addr)
{
    if (!addr)
        return 0;
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strncmp(addr, "::ffff:127.", 11) == 0;
}

const char *auth_bearer_token(const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    return authorization + 7;
}

int auth_bearer_check(const char *authorization, const char *token)
{
    const char *given = auth_bearer_token(authorization);
    if (!given)
        return 401;
    return auth_token_equal(given, token) ? 0 : 403;
}

int auth_monitor_check(const char *remote_addr, const char *authorization,
                       const char *token, const char **why)
{
    *why = NULL;
    if (auth_addr_is_loopback(remote_addr))
        return 0;
    if (!token || !*token) {
        *why = "forbidden: monitoring answers only this machine (loopback) "
               "unless SSELIGHT_METRICS_TOKEN is set";
        return 403;
    }
    int status = auth_bearer_check(authorization, token);
    if (status == 401)
        *why = "unauthorized: send Authorization: Bearer "
               "<SSELIGHT_METRICS_TOKEN>";
    else if (status == 403)
        *why = "forbidden: wrong token";
    return status;
}
