/* check_suites.h: the unit-test suites of sselight, one per module.
 * check_main.c runs them all in one SRunner; each constructor lives in
 * tests/unit/check_<module>.c. */
#ifndef SSELIGHT_CHECK_SUITES_H
#define SSELIGHT_CHECK_SUITES_H

#include <check.h>

Suite *make_buf_suite(void);
Suite *make_sse_suite(void);
Suite *make_html_suite(void);
Suite *make_http_suite(void);
Suite *make_demo_suite(void);
Suite *make_page_suite(void);
Suite *make_fcgi_proto_suite(void);
Suite *make_fcgi_reader_suite(void);
Suite *make_loop_suite(void);
Suite *make_auth_suite(void);
Suite *make_subtoken_suite(void);
Suite *make_chan_index_suite(void);
Suite *make_query_suite(void);
Suite *make_utf8_suite(void);
Suite *make_broker_suite(void);
Suite *make_redis_url_suite(void);
Suite *make_notify_suite(void);
Suite *make_cgi_request_suite(void);
Suite *make_cgi_cap_suite(void);
Suite *make_config_suite(void);
Suite *make_metrics_suite(void);
Suite *make_uritpl_suite(void);
Suite *make_jwt_suite(void);
Suite *make_mercure_suite(void);

#endif
