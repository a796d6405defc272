/* demo: the seed's Example 1 stream, as data: what each event says and when.
 * The stream responder owns the timing; this module only formats. */
#ifndef SSELIGHT_DEMO_H
#define SSELIGHT_DEMO_H

#include "buf.h"

#define DEMO_EVENT_NAME   "EventName" /* matches sse-swap on the page */
#define DEMO_MESSAGES     10          /* "message number 0" .. 9 */
#define DEMO_EVENTS       (DEMO_MESSAGES + 1) /* the messages, then DONE */
#define DEMO_INTERVAL_MS  500         /* pause after each message */

/* Appends the SSE bytes of event i (0 <= i < DEMO_EVENTS): for i <
 * DEMO_MESSAGES "message number i", for the last "DONE", each as the
 * fragment <div>\n  <p>TEXT</p>\n</div> with event name DEMO_EVENT_NAME, the
 * same bytes FastHTML's sse_message(Div(P(text)), event="EventName") sends. */
void demo_append_event(struct buf *out, unsigned i);

#endif
