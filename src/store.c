/* store: the stream responder's store thread. See store.h. */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mem.h"

#define STORE_DELIVER_MAX 256 /* done callbacks in one loop round */

struct store {
    struct loop *loop;
    struct broker *broker;        /* the thread's own connection */
    pthread_t thread;
    pthread_mutex_t mu;           /* guards the fields up to efd */
    pthread_cond_t wake;
    struct store_job *todo, *todo_tail;
    struct store_job *done, *done_tail;
    size_t pending;               /* bounded jobs not yet delivered */
    int stopping;
    int efd;                      /* the thread -> the loop */
    struct loop_io io;
    struct loop_timer more;       /* delivers what one round left */
    struct store_job *ready;      /* taken from done, not yet delivered */
    size_t queue_max;
    const char *kind;
};

struct store_job *store_job_new(enum store_op op)
{
    struct store_job *job = mem_calloc(1, sizeof *job);
    job->op = op;
    job->after = -1;
    job->in = (struct buf)BUF_INIT;
    job->text = (struct buf)BUF_INIT;
    return job;
}

void store_job_free(struct store_job *job)
{
    if (!job)
        return;
    buf_free(&job->in);
    buf_free(&job->text);
    free(job->in_ev);
    free(job->ev);
    free(job);
}

void store_job_add(struct store_job *job, const char *event, const char *data,
                   size_t len)
{
    job->in_ev = mem_realloc(job->in_ev, (job->n + 1) * sizeof *job->in_ev);
    job->in_ev[job->n].event = buf_pending(&job->in);
    buf_append(&job->in, event, strlen(event) + 1);
    job->in_ev[job->n].data = buf_pending(&job->in);
    job->in_ev[job->n].len = len;
    buf_append(&job->in, data, len);
    job->n++;
}

void store_job_set_channels(struct store_job *job, const char *const *names,
                            size_t nch)
{
    job->nch = nch;
    for (size_t i = 0; i < nch; i++)
        snprintf(job->channels[i], sizeof job->channels[i], "%s", names[i]);
}

void store_job_event(const struct store_job *job, size_t i,
                     struct broker_event *out)
{
    const struct store_event *e = &job->ev[i];
    const char *t = buf_head(&job->text);
    out->id = e->id;
    out->created_ms = e->created_ms;
    out->channel = t + e->channel;
    out->event = t + e->event;
    out->data = t + e->data;
    out->data_len = e->len;
}

/* ---- on the store thread ---------------------------------------------- */

static int store_collect(const struct broker_event *e, void *arg)
{
    struct store_job *job = arg;
    if (job->nev == job->ev_cap) {
        job->ev_cap = job->ev_cap ? job->ev_cap * 2 : 16;
        job->ev = mem_realloc(job->ev, job->ev_cap * sizeof *job->ev);
    }
    struct store_event *s = &job->ev[job->nev++];
    s->id = e->id;
    s->created_ms = e->created_ms;
    s->channel = buf_pending(&job->text);
    buf_append(&job->text, e->channel, strlen(e->channel) + 1);
    s->event = buf_pending(&job->text);
    buf_append(&job->text, e->event, strlen(e->event) + 1);
    s->data = buf_pending(&job->text);
    s->len = e->data_len;
    buf_append(&job->text, e->data, e->data_len);
    return 0;
}

static int store_fail(struct store *s, struct store_job *job)
{
    snprintf(job->error, sizeof job->error, "%s", broker_error(s->broker));
    job->rc = -1;
    return -1;
}

static void store_names(const struct store_job *job, const char **names)
{
    for (size_t i = 0; i < job->nch; i++)
        names[i] = job->channels[i];
}

static void store_run_read(struct store *s, struct store_job *job)
{
    const char *names[BROKER_CHANNELS_MAX];
    store_names(job, names);
    job->nread = broker_read_since(s->broker, job->after, names, job->nch,
                                   job->limit ? job->limit : (size_t)-1,
                                   store_collect, job);
    if (job->nread == -1)
        (void)store_fail(s, job);
}

static void store_run_subscribe(struct store *s, struct store_job *job)
{
    const char *names[BROKER_CHANNELS_MAX];
    store_names(job, names);
    if (broker_last_id(s->broker, &job->last) != 0) {
        (void)store_fail(s, job);
        return;
    }
    long long resume = job->after < job->last ? job->after : job->last;
    if (resume >= 0) {
        job->start = resume;
        for (size_t i = 0; i < job->nch; i++)
            if (broker_pruned_upto(s->broker, names[i], &job->pruned[i]) != 0)
                job->pruned[i] = 0; /* no notice; the events still come */
    } else if (job->history == 0) {
        job->start = job->last;
    } else if (broker_history_start(s->broker, names, job->nch, job->history,
                                    &job->start) != 0) {
        (void)store_fail(s, job);
        return;
    }
    if (job->start < job->last) {
        job->nread = broker_read_since(s->broker, job->start, names, job->nch,
                                       (size_t)-1, store_collect, job);
        if (job->nread < 0)
            (void)store_fail(s, job);
    }
}

/* Commits the publishes of list (up to STORE_GROUP_MAX at a time) in
 * groups, in list order. */
static void store_run_publishes(struct store *s, struct store_job **jobs,
                                size_t n)
{
    struct broker_publish group[STORE_GROUP_MAX];
    size_t evs_total = 0;
    for (size_t i = 0; i < n; i++)
        evs_total += jobs[i]->n;
    struct broker_new_event *evs = mem_calloc(evs_total ? evs_total : 1,
                                              sizeof *evs);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_job *job = jobs[i];
        const char *t = buf_head(&job->in);
        group[i] = (struct broker_publish){
            .channel = job->channels[0], .evs = evs + at, .n = job->n,
            .key = job->key[0] ? job->key : NULL,
        };
        for (size_t k = 0; k < job->n; k++, at++) {
            evs[at].event = t + job->in_ev[k].event;
            evs[at].data = t + job->in_ev[k].data;
            evs[at].len = job->in_ev[k].len;
        }
    }
    (void)broker_publish_group(s->broker, group, n);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = group[i].rc;
        jobs[i]->first_id = group[i].first_id;
        jobs[i]->n_stored = group[i].n_stored;
        if (group[i].rc < 0)
            snprintf(jobs[i]->error, sizeof jobs[i]->error, "%s",
                     broker_error(s->broker));
    }
    free(evs);
}

/* Runs a batch taken from the queue: its publishes first, grouped, then
 * the reads (which see those publishes). */
static void store_run_batch(struct store *s, struct store_job *list)
{
    struct store_job *group[STORE_GROUP_MAX];
    size_t n = 0;
    for (struct store_job *j = list; j; j = j->next) {
        if (j->op != STORE_PUBLISH)
            continue;
        group[n++] = j;
        if (n == STORE_GROUP_MAX) {
            store_run_publishes(s, group, n);
            n = 0;
        }
    }
    if (n)
        store_run_publishes(s, group, n);
    for (struct store_job *j = list; j; j = j->next)
        if (j->op == STORE_READ)
            store_run_read(s, j);
        else if (j->op == STORE_SUBSCRIBE)
            store_run_subscribe(s, j);
}

static void store_signal_loop(struct store *s)
{
    uint64_t one = 1;
    while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    /* EAGAIN: the counter is at its maximum, the loop is woken anyway. */
}

static void *store_thread(void *arg)
{
    struct store *s = arg;
    for (;;) {
        if (pthread_mutex_lock(&s->mu) != 0)
            abort();
        while (!s->todo && !s->stopping)
            if (pthread_cond_wait(&s->wake, &s->mu) != 0)
                abort();
        struct store_job *list = s->todo, *tail = s->todo_tail;
        s->todo = s->todo_tail = NULL;
        int stop = s->stopping && !list;
        if (pthread_mutex_unlock(&s->mu) != 0)
            abort();
        if (stop)
            return NULL;
        store_run_batch(s, list);
        if (pthread_mutex_lock(&s->mu) != 0)
            abort();
        if (s->done_tail)
            s->done_tail->next = list;
        else
            s->done = list;
        s->done_tail = tail;
        if (pthread_mutex_unlock(&s->mu) != 0)
            abort();
        store_signal_loop(s);
    }
}

/* ---- on the loop thread ----------------------------------------------- */

/* Takes what the thread has finished onto s->ready. */
static void store_take_done(struct store *s)
{
    if (pthread_mutex_lock(&s->mu) != 0)
        abort();
    struct store_job *list = s->done;
    s->done = s->done_tail = NULL;
    for (struct store_job *j = list; j; j = j->next)
        if (j->bounded)
            s->pending--;
    if (pthread_mutex_unlock(&s->mu) != 0)
        abort();
    if (!list)
        return;
    struct store_job **end = &s->ready;
    while (*end)
        end = &(*end)->next;
    *end = list;
}

/* Runs up to STORE_DELIVER_MAX done callbacks; the rest in a later round,
 * so a burst of completions does not hold the loop. */
static void store_deliver(struct store *s)
{
    for (size_t i = 0; s->ready && i < STORE_DELIVER_MAX; i++) {
        struct store_job *j = s->ready;
        s->ready = j->next;
        j->next = NULL;
        j->done(j, j->arg);
    }
    if (s->ready && !loop_timer_armed(&s->more))
        loop_timer_start(s->loop, &s->more, 0);
}

static void store_on_event(struct loop *loop, struct loop_io *io,
                           uint32_t events)
{
    (void)loop;
    (void)events;
    struct store *s = (struct store *)(void *)((char *)io -
                                               offsetof(struct store, io));
    uint64_t count;
    if (read(s->efd, &count, sizeof count) < 0 && errno != EAGAIN &&
        errno != EINTR)
        fprintf(stderr, "stream: store: read(eventfd): %s\n", strerror(errno));
    store_take_done(s);
    store_deliver(s);
}

static void store_on_more(struct loop *loop, struct loop_timer *t)
{
    (void)loop;
    struct store *s = (struct store *)(void *)((char *)t -
                                               offsetof(struct store, more));
    store_deliver(s);
}

struct store *store_open(struct loop *loop, const char *url, const char *dir,
                         unsigned history, size_t queue_max, char *err,
                         size_t errlen)
{
    struct store *s = mem_calloc(1, sizeof *s);
    s->loop = loop;
    s->queue_max = queue_max ? queue_max : STORE_QUEUE_DEFAULT;
    s->broker = broker_open(url, dir, history, err, errlen);
    if (!s->broker) {
        free(s);
        return NULL;
    }
    s->kind = broker_kind(s->broker);
    loop_timer_init(&s->more, store_on_more);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        snprintf(err, errlen, "store: eventfd: %s", strerror(errno));
        goto fail_broker;
    }
    if (loop_io_add(loop, &s->io, s->efd, EPOLLIN, store_on_event) != 0) {
        snprintf(err, errlen, "store: epoll: %s", strerror(errno));
        goto fail_efd;
    }
    int rc;
    if ((rc = pthread_mutex_init(&s->mu, NULL)) != 0 ||
        (rc = pthread_cond_init(&s->wake, NULL)) != 0 ||
        (rc = pthread_create(&s->thread, NULL, store_thread, s)) != 0) {
        snprintf(err, errlen, "store: starting the thread: %s", strerror(rc));
        goto fail_io;
    }
    return s;
fail_io:
    (void)loop_io_del(loop, &s->io);
fail_efd:
    (void)close(s->efd);
fail_broker:
    broker_close(s->broker);
    free(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (pthread_mutex_lock(&s->mu) != 0)
        abort();
    s->stopping = 1;
    if (pthread_cond_signal(&s->wake) != 0 ||
        pthread_mutex_unlock(&s->mu) != 0)
        abort();
    int rc = pthread_join(s->thread, NULL);
    if (rc != 0)
        fprintf(stderr, "stream: store: joining the thread: %s\n",
                strerror(rc));
    store_take_done(s);
    while (s->ready) {
        struct store_job *j = s->ready;
        s->ready = j->next;
        j->next = NULL;
        j->cancelled = 1;
        j->done(j, j->arg);
    }
    loop_timer_stop(s->loop, &s->more);
    if (loop_io_del(s->loop, &s->io) != 0)
        fprintf(stderr, "stream: store: epoll del: %s\n", strerror(errno));
    if (close(s->efd) != 0)
        fprintf(stderr, "stream: store: close(eventfd): %s\n",
                strerror(errno));
    (void)pthread_cond_destroy(&s->wake);
    (void)pthread_mutex_destroy(&s->mu);
    broker_close(s->broker);
    free(s);
}

int store_submit(struct store *s, struct store_job *job, int bounded,
                 store_done_fn *done, void *arg)
{
    job->bounded = bounded;
    job->done = done;
    job->arg = arg;
    job->next = NULL;
    if (pthread_mutex_lock(&s->mu) != 0)
        abort();
    if (bounded && s->pending >= s->queue_max) {
        if (pthread_mutex_unlock(&s->mu) != 0)
            abort();
        return -1;
    }
    if (bounded)
        s->pending++;
    if (s->todo_tail)
        s->todo_tail->next = job;
    else
        s->todo = job;
    s->todo_tail = job;
    if (pthread_cond_signal(&s->wake) != 0 ||
        pthread_mutex_unlock(&s->mu) != 0)
        abort();
    return 0;
}

size_t store_pending(const struct store *s)
{
    struct store *m = (struct store *)s;
    if (pthread_mutex_lock(&m->mu) != 0)
        abort();
    size_t n = m->pending;
    if (pthread_mutex_unlock(&m->mu) != 0)
        abort();
    return n;
}

size_t store_queue_max(const struct store *s)
{
    return s->queue_max;
}

const char *store_kind(const struct store *s)
{
    return s->kind;
}
