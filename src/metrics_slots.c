/* metrics_slots: shared per-process counters. See metrics_slots.h.
 *
 * Layout of DIR/metrics.slots: a header page (magic, layout size, the
 * retired totals), then METRICS_SLOTS_MAX slots. Locks are on byte ranges
 * that stand for things, not on the data: byte 0 is the file's mutex
 * (held for the microseconds of a claim, an update or a read), byte 1 + i
 * is held by the process in slot i for its whole life. */
#include "metrics_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"

#define METRICS_MAGIC "sslmet02"

struct metrics_header {
    char magic[8];
    uint64_t layout;                /* sizeof the whole file */
    struct metrics_totals retired;  /* of processes that exited */
};

#define METRICS_HEADER_SIZE 4096
_Static_assert(sizeof(struct metrics_header) <= METRICS_HEADER_SIZE,
               "the header fits its page");

#define METRICS_FILE_SIZE \
    (METRICS_HEADER_SIZE + (size_t)METRICS_SLOTS_MAX * sizeof(struct metrics_slot))

struct metrics_slots {
    int fd;
    int mine;
    unsigned char *map;
};

static struct metrics_header *metrics_header(struct metrics_slots *s)
{
    return (struct metrics_header *)(void *)s->map;
}

static struct metrics_slot *metrics_slot_at(struct metrics_slots *s, int i)
{
    return (struct metrics_slot *)(void *)(s->map + METRICS_HEADER_SIZE) + i;
}

/* fcntl lock of one byte: type F_WRLCK or F_UNLCK; wait or not. */
static int metrics_lock(int fd, off_t byte, short type, int wait)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                        .l_start = byte, .l_len = 1 };
    int rc;
    do
        rc = fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* 1 if another process holds byte, 0 if none, -1 with errno. */
static int metrics_held(int fd, off_t byte)
{
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = byte, .l_len = 1 };
    if (fcntl(fd, F_GETLK, &fl) != 0)
        return -1;
    return fl.l_type != F_UNLCK;
}

static int64_t metrics_wall_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The totals of a slot whose process is gone go to the retired totals;
 * the slot is then free. Under the mutex. */
static void metrics_retire(struct metrics_slots *s, struct metrics_slot *slot)
{
    metrics_totals_add(&metrics_header(s)->retired, &slot->c.t);
    memset(slot, 0, sizeof *slot);
}

/* Under the mutex: a file of another layout (or a new one) is set up
 * anew. Returns 0 or -1 with errno. */
static int metrics_prepare_file(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    struct metrics_header h;
    int fresh = (size_t)st.st_size != METRICS_FILE_SIZE;
    if (!fresh) {
        ssize_t n = pread(fd, &h, sizeof h, 0);
        if (n < 0)
            return -1;
        fresh = (size_t)n != sizeof h || memcmp(h.magic, METRICS_MAGIC, 8) != 0 ||
                h.layout != METRICS_FILE_SIZE;
    }
    if (!fresh)
        return 0;
    /* Never cut a file from under a process that has it mapped (an older
     * build still running after an upgrade): SIGBUS in that process. */
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
                        .l_start = 1, .l_len = METRICS_SLOTS_MAX };
    if (fcntl(fd, F_GETLK, &fl) != 0)
        return -1;
    if (fl.l_type != F_UNLCK) {
        errno = EBUSY;
        return -1;
    }
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)METRICS_FILE_SIZE) != 0)
        return -1;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, METRICS_MAGIC, 8);
    h.layout = METRICS_FILE_SIZE;
    return pwrite(fd, &h, sizeof h, 0) == (ssize_t)sizeof h ? 0 : -1;
}

/* Under the mutex: takes the first slot nobody holds. */
static int metrics_claim(struct metrics_slots *s)
{
    for (int i = 0; i < METRICS_SLOTS_MAX; i++) {
        if (metrics_lock(s->fd, 1 + i, F_WRLCK, 0) != 0) {
            if (errno == EAGAIN || errno == EACCES)
                continue; /* a live process holds it */
            return -1;
        }
        struct metrics_slot *slot = metrics_slot_at(s, i);
        if (slot->pid != 0)
            metrics_retire(s, slot);
        slot->pid = getpid();
        slot->started_ms = slot->updated_ms = metrics_wall_ms();
        s->mine = i;
        return 0;
    }
    errno = ENOSPC;
    return -1;
}

/* DIR/metrics.slots into path; -1 with a reason in err if too long. */
static int metrics_slots_path(const char *dir, char *path, size_t pathlen,
                              char *err, size_t errlen)
{
    if (snprintf(path, pathlen, "%s/%s", dir, METRICS_SLOTS_FILE) <
        (int)pathlen)
        return 0;
    snprintf(err, errlen, "data dir path too long");
    return -1;
}

struct metrics_slots *metrics_slots_open(const char *dir, char *err,
                                         size_t errlen)
{
    char path[4096];
    if (metrics_slots_path(dir, path, sizeof path, err, errlen) != 0)
        return NULL;
    struct metrics_slots *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->mine = -1;
    s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        free(s);
        return NULL;
    }
    const char *step = "lock";
    if (metrics_lock(s->fd, 0, F_WRLCK, 1) != 0)
        goto fail;
    step = "set up";
    if (metrics_prepare_file(s->fd) != 0)
        goto fail_locked;
    step = "mmap";
    s->map = mmap(NULL, METRICS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                  s->fd, 0);
    if (s->map == MAP_FAILED) {
        s->map = NULL;
        goto fail_locked;
    }
    step = "claim a slot of";
    if (metrics_claim(s) != 0)
        goto fail_locked;
    if (metrics_lock(s->fd, 0, F_UNLCK, 0) != 0) {
        step = "unlock";
        goto fail;
    }
    return s;
fail_locked:;
    int e = errno;
    (void)metrics_lock(s->fd, 0, F_UNLCK, 0);
    errno = e;
fail:
    snprintf(err, errlen, "%s %s: %s", step, path,
             errno == ENOSPC ? "all slots are taken"
             : errno == EBUSY ? "in use by a process of another version"
             : strerror(errno));
    if (s->map)
        (void)munmap(s->map, METRICS_FILE_SIZE);
    (void)close(s->fd);
    free(s);
    return NULL;
}

int metrics_slots_mine(const struct metrics_slots *s)
{
    return s->mine;
}

int metrics_slots_update(struct metrics_slots *s,
                         const struct metrics_slot *mine)
{
    if (metrics_lock(s->fd, 0, F_WRLCK, 1) != 0)
        return -1;
    struct metrics_slot *slot = metrics_slot_at(s, s->mine);
    int64_t pid = slot->pid, started = slot->started_ms;
    *slot = *mine;
    slot->pid = pid;
    slot->started_ms = started;
    slot->updated_ms = metrics_wall_ms();
    return metrics_lock(s->fd, 0, F_UNLCK, 0);
}

int metrics_slots_read(struct metrics_slots *s, struct metrics_totals *retired,
                       metrics_slot_fn *fn, void *arg)
{
    if (metrics_lock(s->fd, 0, F_WRLCK, 1) != 0)
        return -1;
    int used = 0;
    for (int i = 0; i < METRICS_SLOTS_MAX; i++) {
        struct metrics_slot *slot = metrics_slot_at(s, i);
        if (slot->pid == 0)
            continue;
        if (i != s->mine) {
            int held = metrics_held(s->fd, 1 + i);
            if (held < 0) {
                int e = errno;
                (void)metrics_lock(s->fd, 0, F_UNLCK, 0);
                errno = e;
                return -1;
            }
            if (!held) {
                metrics_retire(s, slot);
                continue;
            }
        }
        used++;
        if (fn)
            fn(slot, i == s->mine, arg);
    }
    if (retired)
        *retired = metrics_header(s)->retired;
    if (metrics_lock(s->fd, 0, F_UNLCK, 0) != 0)
        return -1;
    return used;
}

void metrics_instance_reset(struct metrics_instance *in)
{
    in->n = 0;
    memset(&in->sum, 0, sizeof in->sum);
    in->broker_up = 1;
}

void metrics_instance_add(struct metrics_instance *in,
                          const struct metrics_slot *slot)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? 2 * in->cap : 4;
        in->procs = mem_realloc(in->procs, in->cap * sizeof *in->procs);
    }
    in->procs[in->n++] = *slot;
    metrics_gauges_add(&in->sum.g, &slot->c.g);
    metrics_totals_add(&in->sum.t, &slot->c.t);
    if (!slot->c.g.broker_up)
        in->broker_up = 0;
}

static void metrics_instance_collect(const struct metrics_slot *slot,
                                     int mine, void *arg)
{
    (void)mine;
    metrics_instance_add(arg, slot);
}

int metrics_instance_read(struct metrics_slots *s, struct metrics_instance *in)
{
    struct metrics_totals retired;
    metrics_instance_reset(in);
    if (metrics_slots_read(s, &retired, metrics_instance_collect, in) < 0)
        return -1;
    metrics_totals_add(&in->sum.t, &retired);
    return 0;
}

void metrics_instance_free(struct metrics_instance *in)
{
    free(in->procs);
    in->procs = NULL;
    in->n = in->cap = 0;
}

struct metrics_slots *metrics_slots_open_reader(const char *dir, char *err,
                                                size_t errlen)
{
    char path[4096];
    if (metrics_slots_path(dir, path, sizeof path, err, errlen) != 0)
        return NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "open %s: %s%s", path, strerror(errno),
                 errno == ENOENT ? " (no stream process has run with this "
                                   "data directory)" : "");
        return NULL;
    }
    struct metrics_header h;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != METRICS_FILE_SIZE ||
        pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        memcmp(h.magic, METRICS_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: not a metrics file of this version", path);
        (void)close(fd);
        return NULL;
    }
    void *map = mmap(NULL, METRICS_FILE_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "mmap %s: %s", path, strerror(errno));
        (void)close(fd);
        return NULL;
    }
    struct metrics_slots *s = mem_calloc(1, sizeof *s);
    s->fd = fd;
    s->mine = -1;
    s->map = map;
    return s;
}

void metrics_slots_close(struct metrics_slots *s)
{
    if (!s)
        return;
    if (s->mine < 0) {
        /* a reader: nothing of its own to retire */
    } else if (metrics_lock(s->fd, 0, F_WRLCK, 1) == 0) {
        metrics_retire(s, metrics_slot_at(s, s->mine));
        (void)metrics_lock(s->fd, 0, F_UNLCK, 0);
    } else {
        fprintf(stderr, "metrics: lock %s: %s; this process's totals are "
                "lost\n", METRICS_SLOTS_FILE, strerror(errno));
    }
    if (munmap(s->map, METRICS_FILE_SIZE) != 0)
        fprintf(stderr, "metrics: munmap: %s\n", strerror(errno));
    if (close(s->fd) != 0)
        fprintf(stderr, "metrics: close: %s\n", strerror(errno));
    free(s);
}
