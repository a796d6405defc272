/* stream_slot: the first member of whatever the stream responder hangs on a
 * connection (a demo stream, a channel subscriber), so the connection's
 * closed callback can release it without knowing its kind. */
#ifndef SSELIGHT_STREAM_SLOT_H
#define SSELIGHT_STREAM_SLOT_H

struct stream_slot {
    /* Frees the slot's owner; the connection is going away. why is a short
     * reason for logs, NULL when the response was ended normally. */
    void (*closed)(struct stream_slot *slot, const char *why);
};

#endif
