/* cgi_cap: stream slots as locked files. See cgi_cap.h. */
#include "cgi_cap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int cgi_cap_take(const char *dir, unsigned cap)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/cgi-streams", dir) >=
        (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    for (unsigned i = 0; i < cap; i++) {
        if (snprintf(path, sizeof path, "%s/cgi-streams/%u.lock", dir, i) >=
            (int)sizeof path) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        int rc;
        do
            rc = flock(fd, LOCK_EX | LOCK_NB);
        while (rc != 0 && errno == EINTR);
        if (rc == 0)
            return fd;
        int e = errno;
        if (close(fd) != 0 && errno != EINTR)
            return -1;
        if (e != EWOULDBLOCK) {
            errno = e;
            return -1;
        }
    }
    return CGI_CAP_BUSY;
}
