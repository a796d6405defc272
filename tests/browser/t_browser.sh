#!/bin/bash
# The browser test: starts the real lighttpd (tests/lib/harness.sh), runs
# tests/browser/example1.mjs, tests/browser/examples.mjs and
# tests/browser/hostile.mjs in headless Debian chromium against it, then
# tests/browser/resume.mjs against one with a room cap of 1, then
# tests/browser/status.mjs against one with two stream processes (with
# STATUS_DOCS_PNG=docs/status.png it also copies its screenshot there), and counts their ok / not ok
# lines.
source "$(dirname "$0")/../lib/harness.sh"

server_start || { fail "lighttpd starts with lighttpd.conf"; harness_finish; exit 1; }

# run_mjs NAME SECONDS: runs tests/browser/NAME.mjs, its output to NAME.txt
# (example1 keeps its old file name, browser.txt), and counts its checks.
run_mjs() {
    local name=$1 limit=$2 txt
    txt=$OUT_DIR/$name.txt
    [ "$name" = example1 ] && txt=$OUT_DIR/browser.txt
    BASE_URL=$BASE_URL TEST_OUT=$OUT_DIR timeout "$limit" node "$ROOT/tests/browser/$name.mjs" \
        | tee "$txt"
    PASSED=$((PASSED + $(grep -c '^ok - ' "$txt")))
    FAILED=$((FAILED + $(grep -c '^not ok - ' "$txt")))
    check "$name.mjs printed its checks" grep -q '^ok - ' "$txt"
    check "$name.mjs printed its summary line" grep -Eq '^[0-9]+ passed, [0-9]+ failed$' "$txt"
}

run_mjs example1 60
check "the screenshot was saved" test -s "$OUT_DIR/example1.png"
run_mjs examples 150
for page in example2 trigger close dashboard room; do
    check "the $page screenshot was saved" test -s "$OUT_DIR/$page.png"
done
run_mjs hostile 100
check "lighttpd and both responders stop on SIGTERM" server_stop

# The room page after the extension reconnects by itself: a server whose
# room channel takes one subscriber, the page's stream cut by killing the
# stream responder (lighttpd starts it again).
SSELIGHT_MAX_CHANNEL_SUBSCRIBERS=1 server_start || fail "lighttpd starts with a channel cap of 1"
RESUME_DROP="pgrep -s $SERVER_PID -x stream.fcgi | xargs -r kill -KILL" RESUME_BLOCKERS=1 \
    run_mjs resume 100
check "lighttpd and both responders stop on SIGTERM (resume)" server_stop

# The live status page, on a server with two stream processes, so that the
# numbers it shows are sums over both. A 2 s heartbeat finds the closed
# subscribers sooner (lighttpd sees a client's close at its next write).
export SSELIGHT_HEARTBEAT_MS=2000
SSELIGHT_STREAM_PROCS=2 server_start || fail "lighttpd starts with two stream processes"
STATUS_PROCS=2 run_mjs status 100
unset SSELIGHT_HEARTBEAT_MS
check "the status screenshot was saved" test -s "$OUT_DIR/status.png"
check "lighttpd and its responders stop on SIGTERM (status)" server_stop
harness_finish
