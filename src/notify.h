/* notify: cross-process wake-up for the broker. Every process that serves
 * subscribers binds a unix datagram socket in DIR/notify/; a publisher,
 * after its commit, sends one byte to each. Event-driven: no polling, and
 * a wake-up sent after the commit cannot be seen before the data is. */
#ifndef SSELIGHT_NOTIFY_H
#define SSELIGHT_NOTIFY_H

#include <stddef.h>

#define NOTIFY_PATH_MAX 108 /* sun_path */

struct notify_listener {
    int fd;                         /* non-blocking datagram socket */
    char path[NOTIFY_PATH_MAX];     /* DIR/notify/PID.sock */
};

/* Creates DIR/notify (mode 0700) and binds DIR/notify/PID.sock. Returns 0,
 * or -1 with errno (ENAMETOOLONG when the path does not fit sun_path). */
int notify_listen(struct notify_listener *l, const char *dir);

/* Reads and drops every pending wake-up. */
void notify_drain(struct notify_listener *l);

/* Closes the socket and removes its file. */
void notify_close(struct notify_listener *l);

/* Wakes every listener under DIR/notify; removes sockets nobody listens on
 * (their process is gone). Returns how many were woken, or -1 with errno
 * when the directory cannot be read (none exists yet: 0). */
int notify_all(const char *dir);

#endif
