#!/bin/bash
# deploy/lighttpd/sselight.conf included by a host lighttpd that serves a
# site of its own: sselight under /apps/sse (pages, assets, streams, the
# channels API, heartbeats against a short backend read-timeout, freed
# streams, /metrics and /status), the host's own site unchanged, the
# Example 1 page in the headless browser under the prefix, and several
# streams over one HTTP/2 connection.
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"

PREFIX_URL=/apps/sse
export SSELIGHT_HEARTBEAT_MS=1000
# The shipped include as it is, except its stream read-timeout, set short so
# the heartbeat check means something (3 s).
INC=$(mktemp /tmp/sselight-inc.XXXXXX)
sed 's/"read-timeout" => 120/"read-timeout" => 3/' "$ROOT/deploy/lighttpd/sselight.conf" > "$INC"
check "a host lighttpd with the include starts" \
    host_lighttpd_start "$PREFIX_URL" "${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}" "$ROOT/www" "$INC"

expect_eq "the host's own site is unchanged" "the host site" "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/")"
expect_eq "a path beside the prefix is the host's (404), not sselight's" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/apps/ssex")"
check "the page's URLs carry the prefix" bash -c \
    "curl -s --max-time 5 '$BASE_URL/' | grep -q 'sse-connect=\"$PREFIX_URL/sse-stream\"'"
DEPLOY_LABEL="lighttpd $PREFIX_URL"
deploy_check_example1
deploy_check_pubsub
deploy_check_heartbeat 3
deploy_check_disconnect 1000
deploy_check_metrics
unset DEPLOY_LABEL

out=$(BASE_URL=$BASE_URL timeout 20 node "$ROOT/tests/lib/h2-streams.mjs" 5)
echo "# $out"
expect_eq "HTTP/2: 5 streams share one connection and each gets the event" \
    "h2 streams 5/5 open on 1 connection, received 5/5" "$out"

BASE_URL=$BASE_URL TEST_OUT=$OUT_DIR timeout 60 node "$ROOT/tests/browser/example1.mjs" > "$OUT_DIR/example1.txt" 2>&1
rc=$?
sed 's/^/#   /' "$OUT_DIR/example1.txt" | tail -n 4
expect_eq "the headless browser runs Example 1 under $PREFIX_URL (example1.mjs)" 0 "$rc"

check "lighttpd and the responders stop on SIGTERM" server_stop
rm -f "$INC"
harness_finish
