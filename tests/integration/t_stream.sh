#!/bin/bash
# The stream responder's /sse-stream (the seed's Example 1), through the
# real lighttpd: headers, exact bytes, flush timing, concurrency, and
# clients that go away.
source "$(dirname "$0")/../lib/harness.sh"

server_start || { fail "lighttpd starts with lighttpd.conf"; harness_finish; exit 1; }
pass "lighttpd starts with lighttpd.conf"

# The bytes FastHTML's sse_message(Div(P(text)), event="EventName") sends:
# pretty-printed HTML, one "data: " line per HTML line, blank line to end.
expected_event() {
    printf 'event: EventName\ndata: <div>\ndata:   <p>%s</p>\ndata: </div>\n\n' "$1"
}
for i in 0 1 2 3 4 5 6 7 8 9; do expected_event "message number $i"; done > "$OUT_DIR/expected.txt"
expected_event DONE >> "$OUT_DIR/expected.txt"

# --- headers (HEAD: the head only, the response ends at once)
curl -s -I --max-time 5 -o "$OUT_DIR/head.h" "$BASE_URL/sse-stream"
check "HEAD /sse-stream is 200" grep -q '^HTTP/1.1 200' "$OUT_DIR/head.h"
check "Content-Type is text/event-stream; charset=utf-8" \
    grep -qix 'Content-Type: text/event-stream; charset=utf-8.' "$OUT_DIR/head.h"
check "Cache-Control: no-store" grep -qix 'Cache-Control: no-store.' "$OUT_DIR/head.h"
check "X-Accel-Buffering: no" grep -qix 'X-Accel-Buffering: no.' "$OUT_DIR/head.h"
check "no Content-Length on a stream" bash -c "! grep -qi '^Content-Length' '$OUT_DIR/head.h'"

# --- one full stream: exact bytes, a clean end, and when each event came.
# Each line gets a timestamp as it arrives; curl -N does not buffer.
start=$EPOCHREALTIME
curl -sN --max-time 20 -D "$OUT_DIR/get.h" -o >(stamp_lines > "$OUT_DIR/timed.txt") -w '%{http_code}' "$BASE_URL/sse-stream" > "$OUT_DIR/get.code"
curl_rc=$?
sleep 0.2 # let the timestamping reader finish
expect_eq "GET /sse-stream is 200" 200 "$(cat "$OUT_DIR/get.code")"
expect_eq "the response ends cleanly (final chunk; curl exit 0)" 0 "$curl_rc"
check "HTTP/1.1 response is chunked" grep -qi '^Transfer-Encoding: chunked' "$OUT_DIR/get.h"
cut -d' ' -f2- "$OUT_DIR/timed.txt" | sed 's/^$//' > "$OUT_DIR/body.txt"
check "the body is exactly the 11 events, byte for byte" cmp "$OUT_DIR/expected.txt" "$OUT_DIR/body.txt"
# Event times: the "data:   <p>" line of each event.
grep -F 'data:   <p>' "$OUT_DIR/timed.txt" | cut -d' ' -f1 > "$OUT_DIR/times.txt"
expect_eq "11 events were timed" 11 "$(wc -l < "$OUT_DIR/times.txt")"
first_ok=$(awk -v s="$start" 'NR==1 { print ($1 - s <= 0.4) ? "yes" : "no (" $1 - s " s)" }' "$OUT_DIR/times.txt")
expect_eq "the first event arrives within 0.4 s of the request" yes "$first_ok"
gaps=$(awk 'NR>1 { g = $1 - prev; if (g < 0.3 || g > 1.5) bad = bad sprintf(" %.3f", g) } { prev = $1 }
            END { print bad == "" ? "all between 0.3 and 1.5 s" : "out of range:" bad }' "$OUT_DIR/times.txt")
expect_eq "each event arrives on its own, 0.3-1.5 s after the last" "all between 0.3 and 1.5 s" "$gaps"

# --- 50 concurrent clients
pids=()
for i in $(seq 1 50); do
    curl -sN --max-time 20 -o "$OUT_DIR/c$i.txt" "$BASE_URL/sse-stream" &
    pids+=($!)
done
wait_all_ok=yes
for pid in "${pids[@]}"; do wait "$pid" || wait_all_ok=no; done
expect_eq "50 concurrent streams all end cleanly" yes "$wait_all_ok"
complete=0
for i in $(seq 1 50); do cmp -s "$OUT_DIR/expected.txt" "$OUT_DIR/c$i.txt" && complete=$((complete + 1)); done
expect_eq "50 concurrent clients each got all 11 events exactly" 50 "$complete"
rm -f "$OUT_DIR"/c*.txt

# --- a client that leaves mid-stream: the responder notices, others go on
curl -sN --max-time 1.2 -o "$OUT_DIR/quit.txt" "$BASE_URL/sse-stream"
check "the leaving client got the first events" grep -q 'message number 1' "$OUT_DIR/quit.txt"
# lighttpd only sees the client gone at its next write (0.5 s later), then
# closes the FastCGI connection; the responder logs what it freed.
check "the responder notices the client left and frees the stream" \
    wait_for_log "stream: /sse-stream closed after [1-9][0-9]* steps" 3
curl -sN --max-time 20 -o "$OUT_DIR/after.txt" "$BASE_URL/sse-stream"
check "the next client still gets the whole stream" cmp -s "$OUT_DIR/expected.txt" "$OUT_DIR/after.txt"

# --- wrong method, wrong path
code=$(curl -s -o "$OUT_DIR/post.b" -D "$OUT_DIR/post.h" -w '%{http_code}' -d 'x' "$BASE_URL/sse-stream")
expect_eq "POST /sse-stream is 405" 405 "$code"
check "405 has Allow: GET, HEAD" grep -qix 'Allow: GET, HEAD.' "$OUT_DIR/post.h"
code=$(curl -s -o "$OUT_DIR/nf.b" -w '%{http_code}' "$BASE_URL/sse-stream/more")
expect_eq "GET /sse-stream/more is 404" 404 "$code"
check "the 404 says why in plain text" grep -q 'not found' "$OUT_DIR/nf.b"

check "lighttpd and both responders stop on SIGTERM" server_stop
check "the stream responder logged its shutdown" wait_for_log "stream: signal 15" 1
harness_finish
