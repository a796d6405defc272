/* thread: starting a helper thread that never takes the process's signals.
 * The programs leave SIGTERM and SIGINT to their main thread (libfcgi's
 * accept, the stream loop); a helper thread that received one would keep
 * the main thread from seeing it. */
#ifndef SSELIGHT_THREAD_H
#define SSELIGHT_THREAD_H

#include <pthread.h>

/* Starts fn(arg) on a new thread with every signal blocked; detached when
 * detached is set (then *t may be NULL). The caller's signal mask is left
 * as it was. Returns 0, or an errno value. */
int thread_start_quiet(pthread_t *t, int detached, void *(*fn)(void *),
                       void *arg);

#endif
