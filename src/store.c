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

/* One thread with its own broker connection and its own queue: the
 * writer takes publishes, the reader everything else, so reads go on
 * while a publish waits for another process's write lock. */
struct store_worker {
    struct store *s;
    struct broker *broker;
    pthread_t thread;
    int running;
    pthread_cond_t wake;          /* with s->mu */
    struct store_job *todo, *todo_tail;
};

struct store {
    struct loop *loop;
    struct store_worker writer, reader;
    pthread_mutex_t mu;           /* guards the workers' queues and the
                                   * fields up to efd */
    struct store_job *done, *done_tail;
    size_t pending;               /* bounded jobs not yet delivered */
    int stopping;
    int efd;                      /* the thread -> the loop */
    struct loop_io io;
    struct loop_timer more;       /* delivers what one round left */
    struct store_job *ready;      /* taken from done, not yet delivered */
    size_t queue_max;
    const char *kind;
    struct store_stats stats;     /* under mu */
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

static int store_fail(struct broker *b, struct store_job *job)
{
    snprintf(job->error, sizeof job->error, "%s", broker_error(b));
    job->rc = -1;
    return -1;
}

static void store_names(const struct store_job *job, const char **names)
{
    for (size_t i = 0; i < job->nch; i++)
        names[i] = job->channels[i];
}

static void store_run_read(struct broker *b, struct store_job *job)
{
    const char *names[BROKER_CHANNELS_MAX];
    store_names(job, names);
    job->nread = broker_read_since(b, job->after, names, job->nch,
                                   job->limit ? job->limit : (size_t)-1,
                                   store_collect, job);
    if (job->nread == -1)
        (void)store_fail(b, job);
}

static void store_run_subscribe(struct broker *b, struct store_job *job)
{
    const char *names[BROKER_CHANNELS_MAX];
    store_names(job, names);
    if (job->key[0]) {
        long long id;
        int found = broker_key_id(b, names[0], job->key, &id);
        if (found < 0) {
            (void)store_fail(b, job);
            return;
        }
        job->key_found = found;
        job->after = found ? id : -1;
        job->history = found ? 0 : 1;
    }
    if (broker_last_id(b, &job->last) != 0) {
        (void)store_fail(b, job);
        return;
    }
    long long resume = job->after < job->last ? job->after : job->last;
    if (resume >= 0) {
        job->start = resume;
        for (size_t i = 0; i < job->nch; i++)
            if (broker_pruned_upto(b, names[i], &job->pruned[i]) != 0)
                job->pruned[i] = 0; /* no notice; the events still come */
    } else if (job->history == 0) {
        job->start = job->last;
    } else if (broker_history_start(b, names, job->nch, job->history,
                                    &job->start) != 0) {
        (void)store_fail(b, job);
        return;
    }
    if (job->start < job->last) {
        job->nread = broker_read_since(b, job->start, names, job->nch,
                                       (size_t)-1, store_collect, job);
        if (job->nread < 0)
            (void)store_fail(b, job);
    }
}

/* Commits the publishes of list (up to STORE_GROUP_MAX at a time) in
 * groups, in list order. */
static void store_run_publishes(struct broker *b, struct store_job **jobs,
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
    (void)broker_publish_group(b, group, n);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = group[i].rc;
        jobs[i]->first_id = group[i].first_id;
        jobs[i]->n_stored = group[i].n_stored;
        if (group[i].rc < 0)
            snprintf(jobs[i]->error, sizeof jobs[i]->error, "%s",
                     broker_error(b));
    }
    free(evs);
}

/* Subscribers of a channel that catch up together (after a gap in the
 * live feed) mostly ask for the same read, one after another: it is made
 * once and copied. */
static int store_same_read(const struct store_job *a, const struct store_job *b)
{
    if (a->nch != b->nch || a->after != b->after || a->limit != b->limit ||
        a->nch == 0)
        return 0;
    for (size_t i = 0; i < a->nch; i++)
        if (strcmp(a->channels[i], b->channels[i]) != 0)
            return 0;
    return 1;
}

static void store_copy_read(const struct store_job *from, struct store_job *to)
{
    to->rc = from->rc;
    to->nread = from->nread;
    memcpy(to->error, from->error, sizeof to->error);
    if (from->nev) {
        to->ev = mem_realloc(to->ev, from->nev * sizeof *to->ev);
        memcpy(to->ev, from->ev, from->nev * sizeof *to->ev);
    }
    to->nev = to->ev_cap = from->nev;
    buf_reset(&to->text);
    buf_append(&to->text, buf_head(&from->text), buf_pending(&from->text));
}

static void store_count_group(struct store_stats *st, size_t n)
{
    st->publishes += n;
    st->groups++;
    if (n > st->largest_group)
        st->largest_group = n;
}

/* Runs a batch taken from the queue: its publishes first, grouped, then
 * the reads (which see those publishes). */
static void store_run_batch(struct broker *b, struct store_job *list,
                            struct store_stats *st)
{
    struct store_job *group[STORE_GROUP_MAX];
    size_t n = 0;
    for (struct store_job *j = list; j; j = j->next) {
        if (j->op != STORE_PUBLISH)
            continue;
        group[n++] = j;
        if (n == STORE_GROUP_MAX) {
            store_run_publishes(b, group, n);
            store_count_group(st, n);
            n = 0;
        }
    }
    if (n) {
        store_run_publishes(b, group, n);
        store_count_group(st, n);
    }
    const struct store_job *last_read = NULL;
    for (struct store_job *j = list; j; j = j->next)
        if (j->op == STORE_READ) {
            if (last_read && store_same_read(last_read, j)) {
                store_copy_read(last_read, j);
                continue;
            }
            store_run_read(b, j);
            last_read = j;
        } else if (j->op == STORE_SUBSCRIBE) {
            store_run_subscribe(b, j);
        }
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
    struct store_worker *w = arg;
    struct store *s = w->s;
    for (;;) {
        if (pthread_mutex_lock(&s->mu) != 0)
            abort();
        while (!w->todo && !s->stopping)
            if (pthread_cond_wait(&w->wake, &s->mu) != 0)
                abort();
        struct store_job *list = w->todo, *tail = w->todo_tail;
        w->todo = w->todo_tail = NULL;
        int stop = s->stopping && !list;
        if (pthread_mutex_unlock(&s->mu) != 0)
            abort();
        if (stop)
            return NULL;
        struct store_stats st = { 0 };
        store_run_batch(w->broker, list, &st);
        if (pthread_mutex_lock(&s->mu) != 0)
            abort();
        s->stats.publishes += st.publishes;
        s->stats.groups += st.groups;
        if (st.largest_group > s->stats.largest_group)
            s->stats.largest_group = st.largest_group;
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

/* Opens w's broker connection (waiting up to STORE_WAIT_MS a call) and
 * prepares its queue; the thread starts in store_start. */
static int store_worker_init(struct store *s, struct store_worker *w,
                             const char *url, const char *dir,
                             unsigned history, char *err, size_t errlen)
{
    w->s = s;
    w->broker = broker_open(url, dir, history, err, errlen);
    if (!w->broker)
        return -1;
    broker_set_wait_ms(w->broker, STORE_WAIT_MS);
    int rc = pthread_cond_init(&w->wake, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "store: pthread_cond_init: %s", strerror(rc));
        broker_close(w->broker);
        w->broker = NULL;
        return -1;
    }
    return 0;
}

static void store_worker_stop(struct store_worker *w)
{
    if (w->running) {
        int rc = pthread_join(w->thread, NULL);
        if (rc != 0)
            fprintf(stderr, "stream: store: joining a thread: %s\n",
                    strerror(rc));
        w->running = 0;
    }
    if (w->broker) {
        (void)pthread_cond_destroy(&w->wake);
        broker_close(w->broker);
        w->broker = NULL;
    }
}

/* Wakes both threads to finish their queues and end, and waits for them. */
static void store_stop_threads(struct store *s)
{
    if (pthread_mutex_lock(&s->mu) != 0)
        abort();
    s->stopping = 1;
    if ((s->writer.broker && pthread_cond_signal(&s->writer.wake) != 0) ||
        (s->reader.broker && pthread_cond_signal(&s->reader.wake) != 0) ||
        pthread_mutex_unlock(&s->mu) != 0)
        abort();
    store_worker_stop(&s->writer);
    store_worker_stop(&s->reader);
}

struct store *store_open(struct loop *loop, const char *url, const char *dir,
                         unsigned history, size_t queue_max, char *err,
                         size_t errlen)
{
    struct store *s = mem_calloc(1, sizeof *s);
    s->loop = loop;
    s->queue_max = queue_max ? queue_max : STORE_QUEUE_DEFAULT;
    loop_timer_init(&s->more, store_on_more);
    int rc = pthread_mutex_init(&s->mu, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "store: pthread_mutex_init: %s", strerror(rc));
        free(s);
        return NULL;
    }
    s->efd = -1;
    if (store_worker_init(s, &s->writer, url, dir, history, err, errlen) != 0 ||
        store_worker_init(s, &s->reader, url, dir, history, err, errlen) != 0)
        goto fail;
    s->kind = broker_kind(s->writer.broker);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        snprintf(err, errlen, "store: eventfd: %s", strerror(errno));
        goto fail;
    }
    if (loop_io_add(loop, &s->io, s->efd, EPOLLIN, store_on_event) != 0) {
        snprintf(err, errlen, "store: epoll: %s", strerror(errno));
        (void)close(s->efd);
        s->efd = -1;
        goto fail;
    }
    struct store_worker *ws[2] = { &s->writer, &s->reader };
    for (int i = 0; i < 2; i++) {
        rc = pthread_create(&ws[i]->thread, NULL, store_thread, ws[i]);
        if (rc != 0) {
            snprintf(err, errlen, "store: starting a thread: %s",
                     strerror(rc));
            goto fail;
        }
        ws[i]->running = 1;
    }
    return s;
fail:
    store_stop_threads(s);
    if (s->efd >= 0) {
        (void)loop_io_del(loop, &s->io);
        (void)close(s->efd);
    }
    (void)pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    store_stop_threads(s);
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
    (void)pthread_mutex_destroy(&s->mu);
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
    struct store_worker *w = job->op == STORE_PUBLISH ? &s->writer
                                                      : &s->reader;
    if (w->todo_tail)
        w->todo_tail->next = job;
    else
        w->todo = job;
    w->todo_tail = job;
    if (pthread_cond_signal(&w->wake) != 0 ||
        pthread_mutex_unlock(&s->mu) != 0)
        abort();
    return 0;
}

struct store_stats store_stats(const struct store *s)
{
    struct store *m = (struct store *)s; /* the mutex only */
    if (pthread_mutex_lock(&m->mu) != 0)
        abort();
    struct store_stats st = m->stats;
    st.pending = m->pending;
    if (pthread_mutex_unlock(&m->mu) != 0)
        abort();
    st.queue_max = m->queue_max;
    return st;
}

size_t store_queue_max(const struct store *s)
{
    return s->queue_max;
}

const char *store_kind(const struct store *s)
{
    return s->kind;
}
