/* check_demo: the contract of demo.h. Event i < DEMO_MESSAGES says
 * "message number i", the last one "DONE", each framed exactly as FastHTML's
 * sse_message(Div(P(text)), event="EventName"): an "event: EventName" line,
 * the fragment "<div>\n  <p>TEXT</p>\n</div>" as three data lines, and the
 * blank line. Ten messages, then DONE, half a second apart. */
#include <stdio.h>

#include "buf.h"
#include "check_suites.h"
#include "demo.h"

START_TEST(test_constants)
{
    ck_assert_str_eq(DEMO_EVENT_NAME, "EventName");
    ck_assert_int_eq(DEMO_MESSAGES, 10);
    ck_assert_int_eq(DEMO_EVENTS, 11);
    ck_assert_int_eq(DEMO_INTERVAL_MS, 500);
}
END_TEST

START_TEST(test_event_0_exact)
{
    struct buf b = BUF_INIT;
    demo_append_event(&b, 0);
    ck_assert_str_eq(buf_head(&b),
                     "event: EventName\n"
                     "data: <div>\n"
                     "data:   <p>message number 0</p>\n"
                     "data: </div>\n"
                     "\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_event_9_exact)
{
    struct buf b = BUF_INIT;
    demo_append_event(&b, 9);
    ck_assert_str_eq(buf_head(&b),
                     "event: EventName\n"
                     "data: <div>\n"
                     "data:   <p>message number 9</p>\n"
                     "data: </div>\n"
                     "\n");
    buf_free(&b);
}
END_TEST

START_TEST(test_event_done_exact)
{
    struct buf b = BUF_INIT;
    demo_append_event(&b, DEMO_MESSAGES);
    ck_assert_str_eq(buf_head(&b),
                     "event: EventName\n"
                     "data: <div>\n"
                     "data:   <p>DONE</p>\n"
                     "data: </div>\n"
                     "\n");
    buf_free(&b);
}
END_TEST

/* Every message index, appended after earlier output. */
START_TEST(test_each_message)
{
    char want[160];
    snprintf(want, sizeof want,
             "earlier\n"
             "event: EventName\n"
             "data: <div>\n"
             "data:   <p>message number %d</p>\n"
             "data: </div>\n"
             "\n", _i);
    struct buf b = BUF_INIT;
    buf_append_str(&b, "earlier\n");
    demo_append_event(&b, (unsigned)_i);
    ck_assert_str_eq(buf_head(&b), want);
    buf_free(&b);
}
END_TEST

Suite *make_demo_suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("events");
    tcase_add_test(tc, test_constants);
    tcase_add_test(tc, test_event_0_exact);
    tcase_add_test(tc, test_event_9_exact);
    tcase_add_test(tc, test_event_done_exact);
    tcase_add_loop_test(tc, test_each_message, 0, 10);
    suite_add_tcase(s, tc);
    return s;
}
