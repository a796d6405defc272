/* check_main: the one unit-test runner. Adds every module's suite to one
 * SRunner, runs it verbosely (fork mode as Check decides from CK_FORK),
 * then prints "LABEL: N passed, M failed" and exits non-zero if M > 0.
 * argv[1], if given, replaces the default label "unit". */
#include <stdio.h>
#include <stdlib.h>

#include "check_suites.h"

int main(int argc, char **argv)
{
    const char *label = argc > 1 ? argv[1] : "unit";

    SRunner *sr = srunner_create(make_buf_suite());
    srunner_add_suite(sr, make_sse_suite());
    srunner_add_suite(sr, make_html_suite());
    srunner_add_suite(sr, make_http_suite());
    srunner_add_suite(sr, make_demo_suite());
    srunner_add_suite(sr, make_page_suite());
    srunner_add_suite(sr, make_fcgi_proto_suite());
    srunner_add_suite(sr, make_fcgi_reader_suite());
    srunner_add_suite(sr, make_loop_suite());
    srunner_add_suite(sr, make_auth_suite());
    srunner_add_suite(sr, make_subtoken_suite());
    srunner_add_suite(sr, make_chan_index_suite());
    srunner_add_suite(sr, make_query_suite());
    srunner_add_suite(sr, make_utf8_suite());
    srunner_add_suite(sr, make_broker_suite());
    srunner_add_suite(sr, make_redis_url_suite());
    srunner_add_suite(sr, make_notify_suite());
    srunner_add_suite(sr, make_cgi_request_suite());
    srunner_add_suite(sr, make_cgi_cap_suite());
    srunner_add_suite(sr, make_config_suite());
    srunner_add_suite(sr, make_metrics_suite());
    srunner_add_suite(sr, make_uritpl_suite());
    srunner_add_suite(sr, make_jwt_suite());
    srunner_add_suite(sr, make_mercure_suite());

    srunner_run_all(sr, CK_VERBOSE);
    int run = srunner_ntests_run(sr);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    printf("%s: %d passed, %d failed\n", label, run - failed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
