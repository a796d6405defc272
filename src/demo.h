/* demo: the seed's Example 1 stream, as data: what each event says and when.
 * The stream responder owns the timing; this module only formats. */
#ifndef SSELIGHT_DEMO_H
#define SSELIGHT_DEMO_H

#include "buf.h"

#define DEMO_EVENT_NAME   "EventName" /* matches sse-swap on the page */
#define DEMO_MESSAGES     10          /* "message number 0" .. 9 */
#define DEMO_EVENTS       (DEMO_MESSAGES + 1) /* the messages, then DONE */
#define DEMO_INTERVAL_MS  500         /* pause after each message */

/* The built-in demonstration streams, one per example page. */
enum demo_kind {
    DEMO_EXAMPLE1,   /* /sse-stream: 10 messages, DONE, then the response ends */
    DEMO_EXAMPLE2,   /* /streams/example2: the same, then a "close" event */
    DEMO_TICKS,      /* /streams/ticks: "tick" N every second, endless */
    DEMO_COUNTDOWN,  /* /streams/countdown: "count" 5..1, then "done", ends */
    DEMO_DASHBOARD   /* /streams/dashboard: "clock", "counter", "log" */
};

#define DEMO_STREAM_END (-1L)

/* The demo served at path, or -1 when path is no demo stream. */
int demo_lookup(const char *path);

/* The path a demo is served at (for logs). */
const char *demo_path(enum demo_kind kind);

/* Appends the events of step `step` (0, 1, ...) of a demo stream to out.
 * now is the wall clock (for the dashboard's clock). Returns the delay in ms
 * until the next step, or DEMO_STREAM_END when the stream ends after this
 * step. Step 0 is sent as the stream opens. */
long demo_step(enum demo_kind kind, unsigned step, long long now,
               struct buf *out);

/* Appends the SSE bytes of event i (0 <= i < DEMO_EVENTS): for i <
 * DEMO_MESSAGES "message number i", for the last "DONE", each as the
 * fragment <div>\n  <p>TEXT</p>\n</div> with event name DEMO_EVENT_NAME, the
 * same bytes FastHTML's sse_message(Div(P(text)), event="EventName") sends. */
void demo_append_event(struct buf *out, unsigned i);

#endif
