/* thread: see thread.h. */
#include "thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

int thread_start_quiet(pthread_t *t, int detached, void *(*fn)(void *),
                       void *arg)
{
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t tid;
    if (sigfillset(&all) != 0)
        return EINVAL;
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc != 0)
        return rc;
    rc = pthread_attr_init(&attr);
    if (rc == 0) {
        if (detached)
            rc = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (rc == 0)
            rc = pthread_create(t ? t : &tid, &attr, fn, arg);
        (void)pthread_attr_destroy(&attr);
    }
    if (pthread_sigmask(SIG_SETMASK, &old, NULL) != 0)
        fprintf(stderr, "thread: restoring the signal mask failed\n");
    return rc;
}
