/* chan_index: channel -> subscribers. See chan_index.h. */
#include "chan_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define CHAN_INDEX_BUCKETS 4096 /* chains stay short for thousands of channels */

struct chan_entry {
    struct chan_entry *next_in_bucket;
    struct chan_member *members;
    size_t count;
    char name[];
};

struct chan_index {
    struct chan_entry *buckets[CHAN_INDEX_BUCKETS];
    size_t channels;
};

/* FNV-1a: channel names are short and from a small alphabet. */
static size_t chan_index_bucket(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % CHAN_INDEX_BUCKETS;
}

static struct chan_entry *chan_index_find(const struct chan_index *ix,
                                          const char *name)
{
    for (struct chan_entry *e = ix->buckets[chan_index_bucket(name)]; e;
         e = e->next_in_bucket)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

struct chan_index *chan_index_new(void)
{
    return mem_calloc(1, sizeof(struct chan_index));
}

void chan_index_free(struct chan_index *ix)
{
    free(ix);
}

void chan_index_add(struct chan_index *ix, const char *name,
                    struct chan_member *m)
{
    struct chan_entry *e = chan_index_find(ix, name);
    if (!e) {
        size_t n = strlen(name) + 1;
        e = mem_calloc(1, sizeof *e + n);
        memcpy(e->name, name, n);
        size_t b = chan_index_bucket(name);
        e->next_in_bucket = ix->buckets[b];
        ix->buckets[b] = e;
        ix->channels++;
    }
    m->chan = e;
    m->prev = NULL;
    m->next = e->members;
    if (e->members)
        e->members->prev = m;
    e->members = m;
    e->count++;
}

void chan_index_remove(struct chan_index *ix, struct chan_member *m)
{
    struct chan_entry *e = m->chan;
    if (!e)
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        e->members = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->chan = NULL;
    if (--e->count > 0)
        return;
    struct chan_entry **pp = &ix->buckets[chan_index_bucket(e->name)];
    while (*pp != e)
        pp = &(*pp)->next_in_bucket;
    *pp = e->next_in_bucket;
    ix->channels--;
    free(e);
}

const char *chan_member_name(const struct chan_member *m)
{
    return m->chan ? m->chan->name : "";
}

struct chan_member *chan_index_members(const struct chan_index *ix,
                                       const char *name)
{
    struct chan_entry *e = chan_index_find(ix, name);
    return e ? e->members : NULL;
}

size_t chan_index_count(const struct chan_index *ix, const char *name)
{
    struct chan_entry *e = chan_index_find(ix, name);
    return e ? e->count : 0;
}

size_t chan_index_channels(const struct chan_index *ix)
{
    return ix->channels;
}

void chan_index_foreach(const struct chan_index *ix,
                        void (*fn)(const char *name, size_t members, void *arg),
                        void *arg)
{
    for (size_t b = 0; b < CHAN_INDEX_BUCKETS; b++)
        for (struct chan_entry *e = ix->buckets[b]; e; e = e->next_in_bucket)
            fn(e->name, e->count, arg);
}
