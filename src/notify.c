/* notify: datagram wake-ups between processes. See notify.h. */
#include "notify.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

int notify_listen(struct notify_listener *l, const char *dir)
{
    char sub[NOTIFY_PATH_MAX];
    l->fd = -1;
    if (snprintf(sub, sizeof sub, "%s/notify", dir) >= (int)sizeof sub ||
        snprintf(l->path, sizeof l->path, "%s/notify/%ld.sock", dir,
                 (long)getpid()) >= (int)sizeof l->path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(sub, 0700) != 0 && errno != EEXIST)
        return -1;
    struct sockaddr_un sa;
    if (notify_addr(&sa, l->path) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A file left by an earlier process with our pid is stale. */
    if (unlink(l->path) != 0 && errno != ENOENT)
        goto err;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto err;
    l->fd = fd;
    return 0;
err:;
    int e = errno;
    (void)close(fd);
    errno = e;
    return -1;
}

void notify_drain(struct notify_listener *l)
{
    char b[64];
    while (recv(l->fd, b, sizeof b, 0) >= 0 || errno == EINTR)
        ;
}

void notify_close(struct notify_listener *l)
{
    if (l->fd < 0)
        return;
    if (close(l->fd) != 0)
        fprintf(stderr, "notify: close: %s\n", strerror(errno));
    if (unlink(l->path) != 0 && errno != ENOENT)
        fprintf(stderr, "notify: unlink %s: %s\n", l->path, strerror(errno));
    l->fd = -1;
}

int notify_all(const char *dir)
{
    char sub[NOTIFY_PATH_MAX], path[NOTIFY_PATH_MAX + 256];
    if (snprintf(sub, sizeof sub, "%s/notify", dir) >= (int)sizeof sub) {
        errno = ENAMETOOLONG;
        return -1;
    }
    DIR *d = opendir(sub);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        (void)closedir(d);
        errno = e;
        return -1;
    }
    int woken = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".sock") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", sub, de->d_name);
        struct sockaddr_un sa;
        if (notify_addr(&sa, path) != 0)
            continue;
        ssize_t r;
        do
            r = sendto(fd, "!", 1, 0, (struct sockaddr *)&sa, sizeof sa);
        while (r < 0 && errno == EINTR);
        if (r == 1 || errno == EAGAIN || errno == EWOULDBLOCK)
            woken++; /* EAGAIN: its queue is full, so it is awake anyway */
        else if (errno == ECONNREFUSED)
            (void)unlink(path); /* nobody listens: its process is gone */
    }
    if (close(fd) != 0 || closedir(d) != 0)
        return -1;
    return woken;
}
