#!/bin/bash
# make test: every test part, each bounded in time, in two lanes side by
# side (2 cores):
#   main lane:  the parts that measure timing (streams, limits, faults, the
#               browser), run one at a time; the deploy and hosting parts,
#               which mostly wait on servers, go first, while the other lane
#               is busy;
#   sanitizer lane: unit tests and responders under AddressSanitizer/UBSan,
#               the stream responder under ThreadSanitizer, the fuzzers and
#               valgrind: CPU-bound, no timing asserted beyond generous
#               bounds.
# Each part prints "ok"/"not ok" lines and ends with "NAME: N passed, N
# failed"; its log is test-output/NAME.log. A part that exits non-zero
# without counting a failure (a crash, a timeout) counts as one failure.
# The main lane prints as it goes; the sanitizer lane's output is printed
# when both are done, then every part's counts and time, then the total.
set -u
cd "$(dirname "$0")/.."
export TEST_OUT=$PWD/test-output
rm -rf "$TEST_OUT"
mkdir -p "$TEST_OUT"
RESULTS=$TEST_OUT/results.txt
: > "$RESULTS"

# run_part NAME LIMIT CMD...: runs CMD bounded by LIMIT seconds, its output
# to stdout and NAME.log; appends "NAME PASSED FAILED SECONDS" to RESULTS.
run_part() {
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$TEST_OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    local took=$((SECONDS - t0))
    echo "# $name took $took s"
    echo "$name $took" >> "$TEST_OUT/times.txt"
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
    echo "$name $p $f $took" >> "$RESULTS"
}

# Both responders built with AddressSanitizer and UBSan; any sanitizer
# report in lighttpd's log (where the responders' stderr goes) fails the
# part.
sanitizer_lane() {
    # The three front servers beyond lighttpd, nginx and Apache: waiting on
    # servers more than computing, so they even out the lanes' lengths.
    # They go first: their no-hold checks measure 0.15 s, and at the end
    # they ran beside the browser part, the heaviest of the main lane,
    # where an H2O event was once 0.2 s late on both tries.
    run_part t_deploy_haproxy 120 tests/integration/t_deploy_haproxy.sh
    run_part t_deploy_h2o 120 tests/integration/t_deploy_h2o.sh
    run_part t_deploy_caddy 120 tests/integration/t_deploy_caddy.sh
    # Check's per-test timeouts guard against hangs; sanitized code beside
    # the main lane runs a few times slower, so they are tripled here.
    run_part unit-asan 300 env CK_TIMEOUT_MULTIPLIER=3 build/check_unit_asan unit-asan
    run_part fuzz 120 tests/fuzz/run.sh --build 4
    export SSELIGHT_CGI_DIR=$PWD/build/asan/cgi-bin TEST_VARIANT=asan
    run_part t_page-asan 120 tests/integration/t_page.sh
    run_part t_page_cgi-asan 120 tests/integration/t_page_cgi.sh
    run_part t_stream-asan 180 tests/integration/t_stream.sh
    run_part t_stream_cgi-asan 120 tests/integration/t_stream_cgi.sh
    run_part t_channels-asan 180 tests/integration/t_channels.sh
    run_part t_metrics-asan 120 tests/integration/t_metrics.sh
    run_part t_limits-asan 240 tests/integration/t_limits.sh
    run_part t_hostile-asan 180 tests/integration/t_hostile.sh
    run_part t_redis-asan 180 tests/integration/t_redis.sh
    run_part t_store_stall-asan 180 tests/integration/t_store_stall.sh
    run_part t_faults-asan 240 tests/integration/t_faults.sh
    run_part t_mercure-asan 120 tests/integration/t_mercure.sh
    # The stream responder's store thread and the page responder's room
    # thread under ThreadSanitizer.
    export SSELIGHT_CGI_DIR=$PWD/build/tsan/cgi-bin TEST_VARIANT=tsan
    run_part t_stream-tsan 180 tests/integration/t_stream.sh
    run_part t_channels-tsan 180 tests/integration/t_channels.sh
    run_part t_store_stall-tsan 180 tests/integration/t_store_stall.sh
    run_part t_mercure-tsan 120 tests/integration/t_mercure.sh
    unset SSELIGHT_CGI_DIR TEST_VARIANT
    run_part t_valgrind 240 tests/integration/t_valgrind.sh
}

main_lane() {
    run_part unit 120 build/check_unit unit
    run_part t_setup_deps 60 tests/integration/t_setup_deps.sh
    run_part t_install 60 tests/integration/t_install.sh
    run_part t_docs 90 tests/integration/t_docs.sh
    run_part t_deploy_lighttpd 120 tests/integration/t_deploy_lighttpd.sh
    run_part t_deploy_lighttpd_cgi 120 tests/integration/t_deploy_lighttpd_cgi.sh
    run_part t_deploy_nginx 120 tests/integration/t_deploy_nginx.sh
    run_part t_deploy_apache 180 tests/integration/t_deploy_apache.sh
    run_part t_shared_hosting 240 tests/integration/t_shared_hosting.sh
    run_part t_redis 180 tests/integration/t_redis.sh
    run_part t_page 120 tests/integration/t_page.sh
    run_part t_page_cgi 120 tests/integration/t_page_cgi.sh
    run_part t_stream_cgi 120 tests/integration/t_stream_cgi.sh
    run_part t_run 120 tests/integration/t_run.sh
    run_part t_stream 180 tests/integration/t_stream.sh
    run_part t_channels 180 tests/integration/t_channels.sh
    run_part t_mercure 120 tests/integration/t_mercure.sh
    run_part t_mercure_clients 150 tests/integration/t_mercure_clients.sh
    run_part t_metrics 120 tests/integration/t_metrics.sh
    run_part t_limits 240 tests/integration/t_limits.sh
    run_part t_faults 240 tests/integration/t_faults.sh
    run_part t_store_stall 180 tests/integration/t_store_stall.sh
    run_part t_hostile 180 tests/integration/t_hostile.sh
    run_part browser 240 tests/browser/t_browser.sh
}

t_start=$SECONDS
sanitizer_lane > "$TEST_OUT/sanitizer-lane.out" 2>&1 &
lane_pid=$!
main_lane
wait "$lane_pid"
echo
echo "== the sanitizer lane's output (ran beside the parts above)"
cat "$TEST_OUT/sanitizer-lane.out"

echo
echo "# part passed failed seconds"
sed 's/^/# /' "$RESULTS"
total_passed=$(awk '{ s += $2 } END { print s + 0 }' "$RESULTS")
total_failed=$(awk '{ s += $3 } END { print s + 0 }' "$RESULTS")
parts=$(wc -l < "$RESULTS")
# Fewer results than run_part lines means a lane ended early.
expected=$(grep -c "^    run_part " "$0")
if [ "$parts" -ne "$expected" ]; then
    echo "not ok - $parts parts reported, expected $expected"
    total_failed=$((total_failed + 1))
fi
echo "# make test's parts took $((SECONDS - t_start)) s in all"

echo
echo "test output (logs, screenshot): $TEST_OUT"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
