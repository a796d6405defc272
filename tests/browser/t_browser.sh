#!/bin/bash
# The browser test: starts the real lighttpd (tests/lib/harness.sh), runs
# tests/browser/example1.mjs in headless Debian chromium against it, and
# counts its ok / not ok lines.
source "$(dirname "$0")/../lib/harness.sh"

server_start || { fail "lighttpd starts with lighttpd.conf"; harness_finish; exit 1; }
BASE_URL=$BASE_URL TEST_OUT=$OUT_DIR timeout 60 node "$ROOT/tests/browser/example1.mjs" \
    | tee "$OUT_DIR/browser.txt"
PASSED=$((PASSED + $(grep -c '^ok - ' "$OUT_DIR/browser.txt")))
FAILED=$((FAILED + $(grep -c '^not ok - ' "$OUT_DIR/browser.txt")))
check "the browser test printed its checks" grep -q '^ok - ' "$OUT_DIR/browser.txt"
check "the screenshot was saved" test -s "$OUT_DIR/example1.png"
check "lighttpd and both responders stop on SIGTERM" server_stop
harness_finish
