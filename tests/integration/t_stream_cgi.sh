#!/bin/bash
# The stream responder run as a CGI program, with no web server: the
# request in the environment, the body on stdin, the response on stdout,
# as Apache's mod_cgi/mod_cgid and lighttpd's mod_cgi run it. Checks:
# Example 1's exact bytes, its 0.5 s pacing and the process ending with the
# stream; the channels API (publish, live delivery to a CGI subscriber
# process through the broker's wake-ups, history, Last-Event-ID and
# ?lastEventId, the URL prefix from SCRIPT_NAME, batch publish, Idempotency-Key, private channels, 413);
# heartbeats; a subscriber whose stdout is closed exits within heartbeat +
# 1 s; the Redis broker between CGI processes; the cap on concurrent CGI
# streams (503 + Retry-After, freed when a
# stream ends, even by kill -9); SIGTERM ends a stream cleanly; bad
# settings give a 500 and a log line; sselight.conf beside the program or
# named by SSELIGHT_CONFIG (the environment wins, errors name file:line); run neither as CGI nor FastCGI it
# says so. (t_shared_hosting runs the same programs under Apache.)
source "$(dirname "$0")/../lib/harness.sh"

CGI=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
STREAM=$CGI/stream.fcgi
TMP=$(mktemp -d /tmp/sselight-sc.XXXXXX)
PIDS=""
cleanup() {
    [ -n "$PIDS" ] && kill -KILL $PIDS 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

export GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1
export SSELIGHT_DATA_DIR=$TMP/data SSELIGHT_HEARTBEAT_MS=500
unset SSELIGHT_PUBLISH_TOKEN SSELIGHT_SUBSCRIBE_SECRET SSELIGHT_BROKER SSELIGHT_PREFIX
mkdir -p "$SSELIGHT_DATA_DIR"
LOG=$OUT_DIR/stderr.log
: > "$LOG"

# cgi METHOD URI [VAR=VALUE...]: runs one request, body from stdin, the
# response to stdout, the program's stderr to $LOG.
cgi() {
    local m=$1 u=$2
    shift 2
    env REQUEST_METHOD="$m" REQUEST_URI="$u" "$@" timeout 20 "$STREAM" 2>>"$LOG"
}
# status FILE: the code of a CGI response's Status line.
status() { sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$1" | tr -d '\r'; }
# publish CHANNEL TEXT [VAR=VALUE...]: prints the id the publish got.
publish() {
    local ch=$1 text=$2
    shift 2
    printf '%s' "$text" | cgi POST "/events/$ch" CONTENT_LENGTH=${#text} "$@" | tail -n 1
}
# sub_start NAME URI [VAR=VALUE...]: a subscriber process writing to
# $TMP/NAME (through a FIFO and cat, so the test can close its stdout).
sub_start() {
    local name=$1 uri=$2
    shift 2
    mkfifo "$TMP/$name.fifo"
    cat "$TMP/$name.fifo" > "$TMP/$name" &
    eval "CAT_$name=$!"
    # No timeout(1) in between: $PID_NAME is the stream process itself.
    env REQUEST_METHOD=GET REQUEST_URI="$uri" "$@" "$STREAM" \
        < /dev/null > "$TMP/$name.fifo" 2>>"$LOG" &
    eval "PID_$name=$!"
    PIDS="$PIDS $! $(eval echo \$CAT_$name)"
}
wait_for() { wait_for_line "$TMP/$1" "$2" "${3:-5}"; }
ids() { grep '^id: ' "$TMP/$1" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }

# --- Example 1: exact bytes, pacing, and the process ends with the stream
{
    printf 'Status: 200 OK\r\n'
    printf 'Content-Type: text/event-stream; charset=utf-8\r\n'
} > "$TMP/ex1.head.expected"
for i in 0 1 2 3 4 5 6 7 8 9; do
    printf 'event: EventName\ndata: <div>\ndata:   <p>message number %d</p>\ndata: </div>\n\n' "$i"
done > "$TMP/ex1.body.expected"
printf 'event: EventName\ndata: <div>\ndata:   <p>DONE</p>\ndata: </div>\n\n' >> "$TMP/ex1.body.expected"
t0=$EPOCHREALTIME
cgi GET /sse-stream < /dev/null | stamp_lines > "$TMP/ex1.stamped"
t1=$EPOCHREALTIME
cut -d' ' -f2- "$TMP/ex1.stamped" > "$TMP/ex1"
head -n 2 "$TMP/ex1" > "$TMP/ex1.head"
check "Example 1 as CGI: Status and Content-Type first" cmp "$TMP/ex1.head.expected" "$TMP/ex1.head"
check "Example 1 as CGI: no-store, X-Accel-Buffering: no" \
    bash -c "grep -q $'^Cache-Control: no-store\r\$' '$TMP/ex1' && grep -q $'^X-Accel-Buffering: no\r\$' '$TMP/ex1'"
sed '1,/^\r$/d' "$TMP/ex1" > "$TMP/ex1.body"
check "Example 1 as CGI: the eleven events, byte for byte" cmp "$TMP/ex1.body.expected" "$TMP/ex1.body"
# Each "message number" line arrives about 0.5 s after the one before.
gaps=$(grep 'message number\|DONE' "$TMP/ex1.stamped" | awk '{ if (NR > 1) printf "%.3f ", $1 - p; p = $1 }')
bad=$(awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); for (i = 1; i <= n; i++) if (a[i] < 0.35 || a[i] > 0.9) c++; print c + 0 }')
expect_eq "Example 1 as CGI: ten gaps of 0.5 s (+-) between events ($gaps)" 0 "$bad"
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", (b - a) * 10 }')
check "Example 1 as CGI: the process ends with the stream (${took}/10 s)" test "$took" -ge 45 -a "$took" -le 80

# --- publish and subscribe, each request its own process
cgi POST /events/news CONTENT_LENGTH=5 < <(printf 'first') > "$TMP/pub1"
expect_eq "POST /events/news as CGI: 200" 200 "$(status "$TMP/pub1")"
p1=$(tail -n 1 "$TMP/pub1")
check "POST answers the id" grep -q '^[0-9][0-9]*$' <<< "$p1"
sub_start live "/events/news?history=1"
check "a CGI subscriber gets the stored event (history=1)" wait_for live "^id: $p1\$"
p2=$(publish news "second")
p3=$(publish news "third" QUERY_STRING= REQUEST_URI="/events/news?event=greet")
check "live events reach the CGI subscriber (broker wake-up, no polling)" wait_for live "^id: $p3\$"
expect_eq "the subscriber got each event once, in order" "$p1 $p2 $p3" "$(ids live)"
check "the event name is kept" grep -q '^event: greet$' "$TMP/live"
check "heartbeats reach a quiet CGI stream" wait_for live '^: heartbeat$' 3

# --- a subscriber whose web server went away exits at once
eval "kill \$CAT_live"
t0=$EPOCHREALTIME
left=$(wait_gone 1.5 "$PID_live")
expect_eq "stdout closed: the stream process is gone within heartbeat + 1 s" "" "$left"
check "and says why in the log" grep -q 'subscriber of news closed.*web server closed the connection' "$LOG"

# --- resume: Last-Event-ID header and ?lastEventId, nothing twice
p4=$(publish news "fourth")
sub_start res1 "/events/news" HTTP_LAST_EVENT_ID="$p2"
check "Last-Event-ID resumes after that id" wait_for res1 "^id: $p4\$"
expect_eq "Last-Event-ID: exactly the later events" "$p3 $p4" "$(ids res1)"
sub_start res2 "/events/news?lastEventId=$p3"
check "?lastEventId resumes too" wait_for res2 "^id: $p4\$"
expect_eq "?lastEventId: exactly the later events" "$p4" "$(ids res2)"

# --- batch publish, idempotency, size limit
body=$'event: a\ndata: one\n\nevent: b\ndata: two\n\n'
printf '%s' "$body" | cgi POST /events/news CONTENT_LENGTH=${#body} CONTENT_TYPE=text/event-stream > "$TMP/batch"
expect_eq "batch publish as CGI: 200" 200 "$(status "$TMP/batch")"
b=$(sed '1,/^\r$/d' "$TMP/batch" | tr '\n' ' ' | sed 's/ $//')
check "batch publish: two consecutive ids ($b)" test "$(wc -w <<< "$b")" = 2
check "the batch reaches a live subscriber in order" wait_for res2 "^id: ${b#* }\$"
k1=$(publish news "once" HTTP_IDEMPOTENCY_KEY=key-1)
printf 'once' | cgi POST /events/news CONTENT_LENGTH=4 HTTP_IDEMPOTENCY_KEY=key-1 > "$TMP/again"
expect_eq "Idempotency-Key: the repeat answers the same id" "$k1" "$(tail -n 1 "$TMP/again")"
check "Idempotency-Key: the repeat says Idempotent-Replayed" grep -q '^Idempotent-Replayed: true' "$TMP/again"
head -c 70000 /dev/zero | tr '\0' x | cgi POST /events/news CONTENT_LENGTH=70000 > "$TMP/big"
expect_eq "a 70,000-byte publish is 413" 413 "$(status "$TMP/big")"
printf 'abc' | cgi POST /events/news CONTENT_LENGTH=3x > "$TMP/badlen"
expect_eq "a malformed CONTENT_LENGTH is 400" 400 "$(status "$TMP/badlen")"
cgi POST /events/news CONTENT_LENGTH=10 < <(printf 'short') > "$TMP/short"
expect_eq "a body cut short is 400" 400 "$(status "$TMP/short")"
printf 'x' | cgi POST /events/news CONTENT_LENGTH=1 REMOTE_ADDR=192.0.2.7 > "$TMP/remote"
expect_eq "without a token, publishing from another address is 403" 403 "$(status "$TMP/remote")"
cgi PUT /events/news < /dev/null > "$TMP/put"
expect_eq "PUT is 405" 405 "$(status "$TMP/put")"
check "405 says Allow" grep -q '^Allow: GET, HEAD, POST' "$TMP/put"

# --- the URL prefix from SCRIPT_NAME (a hosting account's .htaccess)
p5=$(publish news "fifth")
sub_start pre "/~alice/sse/events/news?lastEventId=$p4" SCRIPT_NAME=/~alice/sse/stream.fcgi
check "SCRIPT_NAME /~alice/sse/stream.fcgi: /~alice/sse/events/news is the channel" wait_for pre "^id: $p5\$"
cgi GET /~alice/sse/events/news SCRIPT_NAME=/~alice/sse/index.php < /dev/null > "$TMP/pre404"
expect_eq "a SCRIPT_NAME that does not name the program gives no prefix (404)" 404 "$(status "$TMP/pre404")"
cgi GET /~alice/sse/events/news SCRIPT_NAME=/~alice/sse/stream.fcgi SSELIGHT_PREFIX= < /dev/null > "$TMP/pre-set"
expect_eq "SSELIGHT_PREFIX, even empty, wins over SCRIPT_NAME (404)" 404 "$(status "$TMP/pre-set")"

# --- private channels
SECRET=0123456789abcdef0123456789abcdef-secret
cgi GET /events/private-alice SSELIGHT_SUBSCRIBE_SECRET=$SECRET < /dev/null > "$TMP/priv0"
expect_eq "a private channel without a token is 403" 403 "$(status "$TMP/priv0")"
tok=$(SSELIGHT_SUBSCRIBE_SECRET=$SECRET "$ROOT/cgi-bin/sselight-token" private-alice)
sub_start priv "/events/private-alice?token=$tok" SSELIGHT_SUBSCRIBE_SECRET=$SECRET
# Subscribed before the publish (a CGI process under ASan starts slowly).
wait_for priv '^retry:' || true
pp=$(publish private-alice "for alice" SSELIGHT_SUBSCRIBE_SECRET=$SECRET)
check "with its token, the private channel streams" wait_for priv "^id: $pp\$"

# --- the cap on CGI streams
kill $(eval echo \$PID_res1 \$PID_res2 \$PID_priv) 2>/dev/null
sleep 0.5
export SSELIGHT_MAX_CGI_STREAMS=2
sub_start cap1 /events/capped
sub_start cap2 /events/capped
wait_for cap1 '^retry:' && wait_for cap2 '^retry:'
cgi GET /events/capped < /dev/null > "$TMP/cap3"
expect_eq "a third stream past SSELIGHT_MAX_CGI_STREAMS=2 is 503" 503 "$(status "$TMP/cap3")"
check "the 503 has Retry-After" grep -q '^Retry-After: ' "$TMP/cap3"
check "the 503 is logged" grep -q 'all 2 CGI stream slots' "$LOG"
cgi POST /events/capped CONTENT_LENGTH=1 < <(printf 'p') > "$TMP/cap-pub"
expect_eq "publishing is not a stream: not capped" 200 "$(status "$TMP/cap-pub")"
kill -KILL "$PID_cap1"
wait "$PID_cap1" 2>/dev/null
sub_start cap4 /events/capped
check "a slot freed by kill -9 is taken again" wait_for cap4 '^retry:'
unset SSELIGHT_MAX_CGI_STREAMS

# --- SIGTERM ends a stream cleanly
kill -TERM "$PID_cap2"
left=$(wait_gone 3 "$PID_cap2")
expect_eq "SIGTERM: the stream process exits" "" "$left"
wait "$PID_cap2"
expect_eq "SIGTERM: exit status 0" 0 "$?"

# --- the Redis broker: CGI processes meet through Redis Pub/Sub
RPORT=$(free_port)
if redis_server_start "$RPORT" "$OUT_DIR/redis.log"; then
    PIDS="$PIDS $REDIS_PID"
    export SSELIGHT_BROKER=redis://127.0.0.1:$RPORT/0
    sub_start red /events/red
    wait_for red '^retry:'
    sleep 0.3 # its live connection subscribes
    rp=$(publish red "through redis")
    check "with SSELIGHT_BROKER=redis://, a CGI publish reaches a CGI subscriber" wait_for red "^id: $rp\$"
    check "... with its data" grep -q '^data: through redis$' "$TMP/red"
    unset SSELIGHT_BROKER
    kill "$(eval echo \$PID_red)" "$REDIS_PID" 2>/dev/null
else
    fail "redis-server starts for the Redis check"
fi

# --- bad settings: 500 for the client, the reason in the log
cgi GET /events/x SSELIGHT_HEARTBEAT_MS=often < /dev/null > "$TMP/bad"
expect_eq "a bad setting: 500" 500 "$(status "$TMP/bad")"
check "a bad setting: the log names it" grep -q "SSELIGHT_HEARTBEAT_MS must be a number" "$LOG"
check "a bad setting: the client is not told the details" bash -c "! grep -q HEARTBEAT '$TMP/bad'"
cgi GET /events/x SSELIGHT_METRICS_TOKEN=short-token < /dev/null > "$TMP/badtok"
expect_eq "a metrics token of 11 characters: 500" 500 "$(status "$TMP/badtok")"
check "... the log names the setting and the bounds, not the token" bash -c \
    "grep -q 'SSELIGHT_METRICS_TOKEN: metrics_token must be 16 to 255' '$LOG' && ! grep -q short-token '$LOG'"
env -u SSELIGHT_DATA_DIR REQUEST_METHOD=GET REQUEST_URI=/sse-stream "$STREAM" < /dev/null > "$TMP/nodata" 2>>"$LOG"
expect_eq "no data dir under CGI: 500" 500 "$(status "$TMP/nodata")"
check "no data dir under CGI: the log says to set data_dir" grep -q 'no data directory: set data_dir' "$LOG"
# --- the settings file: beside the program, or named by SSELIGHT_CONFIG
mkdir -p "$TMP/site" "$TMP/data2"
cp "$STREAM" "$TMP/site/stream.fcgi"
printf '# written by the test\ndata_dir = %s\nheartbeat_ms = 300\n' "$TMP/data2" > "$TMP/site/sselight.conf"
env -u SSELIGHT_DATA_DIR -u SSELIGHT_HEARTBEAT_MS REQUEST_METHOD=POST REQUEST_URI=/events/conf \
    CONTENT_LENGTH=4 "$TMP/site/stream.fcgi" < <(printf 'conf') > "$TMP/conf-pub" 2>>"$LOG"
expect_eq "sselight.conf beside the program: its data_dir is used" 200 "$(status "$TMP/conf-pub")"
check "... the broker is in that data_dir" test -f "$TMP/data2/broker.db"
env -u SSELIGHT_DATA_DIR -u SSELIGHT_HEARTBEAT_MS REQUEST_METHOD=GET REQUEST_URI=/events/conf \
    timeout 1 "$TMP/site/stream.fcgi" < /dev/null > "$TMP/conf-sub" 2>>"$LOG"
n=$(grep -c '^: heartbeat' "$TMP/conf-sub")
check "... and its heartbeat_ms (300 ms: 2 or more heartbeats in 1 s, got $n)" test "$n" -ge 2
env -u SSELIGHT_HEARTBEAT_MS REQUEST_METHOD=GET REQUEST_URI=/events/conf SSELIGHT_DATA_DIR="$TMP/data2" \
    SSELIGHT_HEARTBEAT_MS=5000 timeout 1 "$TMP/site/stream.fcgi" < /dev/null > "$TMP/conf-env" 2>>"$LOG"
expect_eq "the environment wins over the file (heartbeat 5000 ms: none in 1 s)" 0 "$(grep -c '^: heartbeat' "$TMP/conf-env")"
pid_pub=$(env -u SSELIGHT_DATA_DIR SSELIGHT_CONFIG="$TMP/site/sselight.conf" "$ROOT/cgi-bin/sselight-pub" conf "from cron" 2>>"$LOG")
env -u SSELIGHT_DATA_DIR -u SSELIGHT_HEARTBEAT_MS REQUEST_METHOD=GET REQUEST_URI="/events/conf?history=5" \
    timeout 1 "$TMP/site/stream.fcgi" < /dev/null > "$TMP/conf-hist" 2>>"$LOG"
check "sselight-pub with SSELIGHT_CONFIG publishes into that data_dir (id $pid_pub)" \
    grep -q "^id: ${pid_pub:-none}\$" "$TMP/conf-hist"
printf 'data_dir = %s\n\nheartbeat = 300\n' "$TMP/data2" > "$TMP/other.conf"
env -u SSELIGHT_DATA_DIR REQUEST_METHOD=GET REQUEST_URI=/sse-stream SSELIGHT_CONFIG="$TMP/other.conf" \
    "$TMP/site/stream.fcgi" < /dev/null > "$TMP/conf-bad" 2>>"$LOG"
expect_eq "SSELIGHT_CONFIG with an unknown key: 500" 500 "$(status "$TMP/conf-bad")"
check "... the log names the file and line" grep -qF "$TMP/other.conf:3: unknown setting 'heartbeat'" "$LOG"
env REQUEST_METHOD=GET REQUEST_URI=/sse-stream SSELIGHT_CONFIG="$TMP/missing.conf" \
    "$STREAM" < /dev/null > "$TMP/conf-missing" 2>>"$LOG"
expect_eq "SSELIGHT_CONFIG naming a missing file: 500" 500 "$(status "$TMP/conf-missing")"
check "... the log names it" grep -qF "$TMP/missing.conf: No such file or directory" "$LOG"

env -u GATEWAY_INTERFACE "$STREAM" < /dev/null > "$TMP/hand" 2> "$TMP/hand.err"
expect_eq "run by hand (not CGI, not FastCGI): exit status 2" 2 "$?"
check "run by hand: says it is a FastCGI or CGI program" grep -q 'FastCGI or CGI program' "$TMP/hand.err"

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$LOG"; then
    fail "no sanitizer reports in the responder's stderr"
else
    pass "no sanitizer reports in the responder's stderr"
fi
echo "$TEST_NAME: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
