/* chan_index: which subscribers follow which channel, so fan-out visits only
 * the subscribers of an event's channel and caps can count them. Members
 * are owned by the caller (embedded in its subscriber); the index owns the
 * channel entries and frees one when its last member leaves. */
#ifndef SSELIGHT_CHAN_INDEX_H
#define SSELIGHT_CHAN_INDEX_H

#include <stddef.h>

struct chan_entry;

struct chan_member {
    void *sub;                    /* the caller's subscriber */
    struct chan_entry *chan;      /* set by chan_index_add */
    struct chan_member *prev, *next;
};

struct chan_index;

struct chan_index *chan_index_new(void);

/* Frees the index; every member must have been removed. */
void chan_index_free(struct chan_index *ix);

/* Adds m (with m->sub set) to channel name, creating the entry if needed. */
void chan_index_add(struct chan_index *ix, const char *name,
                    struct chan_member *m);

/* Removes m from its channel; frees the entry when it was the last. */
void chan_index_remove(struct chan_index *ix, struct chan_member *m);

/* The channel's name; valid while m is in the index. */
const char *chan_member_name(const struct chan_member *m);

/* The first member of channel name (follow ->next), or NULL. */
struct chan_member *chan_index_members(const struct chan_index *ix,
                                       const char *name);

/* Members of channel name. */
size_t chan_index_count(const struct chan_index *ix, const char *name);

/* Channels with at least one member. */
size_t chan_index_channels(const struct chan_index *ix);

/* Calls fn for every channel with its member count, in no set order. */
void chan_index_foreach(const struct chan_index *ix,
                        void (*fn)(const char *name, size_t members, void *arg),
                        void *arg);

#endif
