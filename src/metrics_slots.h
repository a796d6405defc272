/* metrics_slots: the counters of every stream process that shares a data
 * directory, in one memory-mapped file DIR/metrics.slots, so any of them
 * can answer for the whole instance. No daemon: each process holds one
 * slot, marked by an fcntl() lock on a byte that the kernel drops however
 * the process ends (kill -9 included). A slot whose lock is gone is
 * reclaimed by the next process that opens or reads the file, and its
 * totals are added to the file's "retired" totals first, so counters
 * summed over the instance never go down when a process exits. One
 * handle per process (fcntl locks belong to the process); the loop's
 * thread only. */
#ifndef SSELIGHT_METRICS_SLOTS_H
#define SSELIGHT_METRICS_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "query.h"

#define METRICS_SLOTS_MAX 256      /* processes one instance counts */
#define METRICS_TOP_MAX 100        /* channels a slot lists */
#define METRICS_TOP_DEFAULT 20
#define METRICS_SLOTS_FILE "metrics.slots"

struct metrics_channel {
    char name[QUERY_CHANNEL_MAX + 8]; /* NUL-terminated */
    uint64_t subscribers;
};

/* One process's latest numbers. */
struct metrics_slot {
    int64_t pid;          /* 0: the slot is free */
    int64_t started_ms;   /* wall clock, ms */
    int64_t updated_ms;   /* wall clock of the last update */
    uint32_t cgi;         /* 1: a CGI process (one request) */
    uint32_t nchannels;   /* entries used in top */
    int64_t rss_bytes;    /* -1: unknown */
    int64_t fds;          /* open file descriptors, -1: unknown */
    struct metrics_counts c;
    struct metrics_channel top[METRICS_TOP_MAX]; /* most subscribers first */
};

struct metrics_slots;

/* Opens (creating, mode 0600) DIR/metrics.slots and takes a free slot for
 * this process. Returns NULL with a reason in err: a read-only or missing
 * DIR, or every slot taken. */
struct metrics_slots *metrics_slots_open(const char *dir, char *err,
                                         size_t errlen);

/* Opens DIR/metrics.slots to read it only (sselight-pub --stats): takes
 * no slot. The file must exist. NULL with a reason in err. */
struct metrics_slots *metrics_slots_open_reader(const char *dir, char *err,
                                                size_t errlen);

/* Index of this process's slot (-1 for a reader). */
int metrics_slots_mine(const struct metrics_slots *s);

/* Copies mine (its pid and started_ms are set here) into this process's
 * slot. Returns 0, or -1 with errno when the file lock failed. */
int metrics_slots_update(struct metrics_slots *s,
                         const struct metrics_slot *mine);

/* Called for each slot in use, this process's included (mine = 1). */
typedef void metrics_slot_fn(const struct metrics_slot *slot, int mine,
                             void *arg);

/* Reclaims the slots of processes that are gone, then calls fn for every
 * slot in use and sets *retired to the totals of the processes that have
 * exited. Returns the number of slots in use, or -1 with errno. */
int metrics_slots_read(struct metrics_slots *s, struct metrics_totals *retired,
                       metrics_slot_fn *fn, void *arg);

/* The whole instance as read from the slots. */
struct metrics_instance {
    struct metrics_slot *procs;  /* the slots in use, copied */
    size_t n, cap;
    struct metrics_counts sum;   /* gauges of live processes; totals of
                                    live and exited ones */
    int broker_up;               /* every live process's broker is up */
};

/* Empties in (keeping its memory) and adds slot to it. */
void metrics_instance_reset(struct metrics_instance *in);
void metrics_instance_add(struct metrics_instance *in,
                          const struct metrics_slot *slot);

/* metrics_instance_reset, then every slot in use and the retired totals
 * into in. Returns 0 or -1 with errno. */
int metrics_instance_read(struct metrics_slots *s, struct metrics_instance *in);

void metrics_instance_free(struct metrics_instance *in);

/* Adds this process's totals to the retired totals, frees its slot and
 * closes the file. NULL does nothing. */
void metrics_slots_close(struct metrics_slots *s);

#endif
