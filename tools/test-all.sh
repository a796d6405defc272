#!/bin/bash
# make test: every test part in turn, each bounded in time. Each part prints
# "ok"/"not ok" lines and ends with "NAME: N passed, N failed"; this sums
# them into the final line. A part that exits non-zero without counting a
# failure (a crash, a timeout) counts as one failure.
set -u
cd "$(dirname "$0")/.."
export TEST_OUT=$PWD/test-output
rm -rf "$TEST_OUT"
mkdir -p "$TEST_OUT"

total_passed=0
total_failed=0

run_part() {
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$TEST_OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "# $name took $((SECONDS - t0)) s"
    echo "$name $((SECONDS - t0))" >> "$TEST_OUT/times.txt"
    local summary p=0 f=0
    summary=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed$' "$TEST_OUT/$name.log" | tail -n1)
    if [ -n "$summary" ]; then
        p=$(sed -E 's/^([A-Za-z0-9_-]+: )?([0-9]+) passed.*/\2/' <<< "$summary")
        f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "$summary")
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc$([ "$rc" -eq 124 ] && echo ' (timed out)')"
        f=1
    fi
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
}

run_part unit 120 build/check_unit unit
run_part unit-asan 300 build/check_unit_asan unit-asan
run_part fuzz 120 tests/fuzz/run.sh --build 4
run_part t_page 120 tests/integration/t_page.sh
run_part t_page_cgi 120 tests/integration/t_page_cgi.sh
run_part t_stream 180 tests/integration/t_stream.sh
run_part t_stream_cgi 120 tests/integration/t_stream_cgi.sh
run_part t_channels 180 tests/integration/t_channels.sh
run_part t_limits 240 tests/integration/t_limits.sh
run_part t_faults 240 tests/integration/t_faults.sh
run_part t_hostile 180 tests/integration/t_hostile.sh
run_part t_deploy_lighttpd 120 tests/integration/t_deploy_lighttpd.sh
run_part t_deploy_lighttpd_cgi 120 tests/integration/t_deploy_lighttpd_cgi.sh
run_part t_install 60 tests/integration/t_install.sh
run_part t_deploy_nginx 120 tests/integration/t_deploy_nginx.sh
run_part t_deploy_apache 180 tests/integration/t_deploy_apache.sh
run_part t_shared_hosting 240 tests/integration/t_shared_hosting.sh
run_part t_redis 180 tests/integration/t_redis.sh
# Both responders again, built with AddressSanitizer and UBSan; any
# sanitizer report in lighttpd's log (where the responders' stderr goes)
# fails the part.
export SSELIGHT_CGI_DIR=$PWD/build/asan/cgi-bin TEST_VARIANT=asan
run_part t_page-asan 120 tests/integration/t_page.sh
run_part t_page_cgi-asan 120 tests/integration/t_page_cgi.sh
run_part t_stream-asan 180 tests/integration/t_stream.sh
run_part t_stream_cgi-asan 120 tests/integration/t_stream_cgi.sh
run_part t_channels-asan 180 tests/integration/t_channels.sh
run_part t_limits-asan 240 tests/integration/t_limits.sh
run_part t_hostile-asan 180 tests/integration/t_hostile.sh
run_part t_redis-asan 180 tests/integration/t_redis.sh
unset SSELIGHT_CGI_DIR TEST_VARIANT
run_part t_setup_deps 60 tests/integration/t_setup_deps.sh
run_part t_run 120 tests/integration/t_run.sh
run_part browser 120 tests/browser/t_browser.sh
run_part t_valgrind 240 tests/integration/t_valgrind.sh

echo
echo "test output (logs, screenshot): $TEST_OUT"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
