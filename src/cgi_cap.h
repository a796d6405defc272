/* cgi_cap: a cap on the stream processes that share one data directory.
 * Run as CGI, every open stream is a process of its own; on a hosting
 * account their number must stay bounded. Each stream holds one of `cap`
 * slots: an flock()ed file DIR/cgi-streams/N.lock. The kernel drops the
 * lock when the process exits, however it exits (kill -9 included), so a
 * slot is never lost and no daemon is needed. */
#ifndef SSELIGHT_CGI_CAP_H
#define SSELIGHT_CGI_CAP_H

#define CGI_CAP_DEFAULT 50  /* streams per data directory */
#define CGI_CAP_BUSY (-2)   /* cgi_cap_take: every slot is held */

/* Takes a free slot of DIR/cgi-streams (created, mode 0700, if missing)
 * and holds it until the process exits: returns the slot's fd (close-on-
 * exec; close it to give the slot back), CGI_CAP_BUSY when all cap slots
 * are held, or -1 with errno. cap > 0 (no cap: do not call). */
int cgi_cap_take(const char *dir, unsigned cap);

#endif
