#!/bin/bash
# deploy/lighttpd/sselight-cgi.conf included by a host lighttpd: both
# programs run by lighttpd's mod_cgi, one process per request (each open
# stream a process of its own), under /apps/sse. The shared deploy checks
# (Example 1's bytes and timing, every page asset, pub/sub between CGI
# processes, resume, heartbeats through a short read timeout, /metrics
# summed over the CGI stream processes, /status), a killed
# client's stream process gone within heartbeat + 1 s, the stream cap, and
# nothing left running once lighttpd stops.
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"

PREFIX_URL=/apps/sse
CGI=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
export SSELIGHT_HEARTBEAT_MS=1000
# The shipped include, with heartbeats every second and a stream cap of 4
# for the cap check. (lighttpd's mod_cgi cut no quiet stream here, even
# with cgi.limits read-timeout 3: the heartbeat check still requires the
# heartbeats to arrive, and the disconnect check needs them.)
# T_CGI_BREAK=heartbeat: heartbeats every 10 s, and both checks fail.
INC=$(mktemp /tmp/sselight-inc.XXXXXX)
sed -e 's|"SSELIGHT_DATA_DIR" => var.sselight_data_dir,|&\n        "SSELIGHT_HEARTBEAT_MS" => "1000", "SSELIGHT_MAX_CGI_STREAMS" => "4",|' \
    "$ROOT/deploy/lighttpd/sselight-cgi.conf" > "$INC"
[ "${T_CGI_BREAK:-}" = heartbeat ] && sed -i 's|"SSELIGHT_HEARTBEAT_MS" => "1000"|"SSELIGHT_HEARTBEAT_MS" => "10000"|' "$INC"
check "the include sets the environment the test relies on" grep -q 'SSELIGHT_MAX_CGI_STREAMS' "$INC"
check "a host lighttpd with the CGI include starts" \
    host_lighttpd_start "$PREFIX_URL" "$CGI" "$ROOT/www" "$INC"
expect_eq "the host's own site is unchanged" "the host site" "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/")"

stream_procs() { server_procs stream.fcgi; }
DEPLOY_LABEL="lighttpd mod_cgi $PREFIX_URL"
deploy_check_example1
deploy_check_pubsub
deploy_check_heartbeat 3
deploy_check_metrics
deploy_check_disconnect_procs 1000 stream_procs
unset DEPLOY_LABEL

# The cap: four streams open, the fifth is refused until one ends.
pids=""
for i in 1 2 3 4; do
    curl -sN --max-time 20 -o /dev/null "$BASE_URL/events/capped" &
    pids="$pids $!"
done
for i in $(seq 1 50); do [ "$(stream_procs | wc -l)" -ge 4 ] && break; sleep 0.1; done
code=$(curl -s --max-time 5 -D "$OUT_DIR/cap.head" -o /dev/null -w '%{http_code}' "$BASE_URL/events/capped")
expect_eq "a fifth stream past the cap of 4 is 503" 503 "$code"
check "the 503 carries Retry-After" grep -qi '^Retry-After:' "$OUT_DIR/cap.head"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -d x "$BASE_URL/events/capped")
expect_eq "a publish is no stream: 200 at the cap" 200 "$code"
for p in $pids; do _deploy_stop_curl "$p"; done
ok=""
for i in $(seq 1 40); do
    code=$(curl -s --max-time 3 -I -o /dev/null -w '%{http_code}' "$BASE_URL/events/capped")
    [ "$code" = 200 ] && { ok=yes; break; }
    sleep 0.1
done
expect_eq "once those streams end, a stream is admitted again" yes "$ok"

left=$(stream_procs)
check "lighttpd stops on SIGTERM" server_stop
sleep 0.5
still=""
for p in $left; do alive "$p" && still="$still $p"; done
expect_eq "no stream process is left after lighttpd stops" "" "$still"
rm -f "$INC"
harness_finish
