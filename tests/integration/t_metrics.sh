#!/bin/bash
# Monitoring through the real lighttpd with two stream processes: /metrics
# (Prometheus text format 0.0.4) and /stats sum every stream process that
# shares the data dir. Checks: subscriber gauges (total, by kind, by
# channel) equal what the test opened, spread over both processes; publish
# and delivery counters and the commit histogram (cumulative buckets, +Inf
# = _count, one observation per publish request, not per event);
# `promtool check metrics` accepts the output; a real Prometheus scrapes it
# and answers sselight_subscribers; kill -9 of a stream process keeps the
# summed counters from going down and drops its pid; refusals counted by
# status and reason (404, 405); HEAD and Content-Type; and the access rule
# (loopback, else SSELIGHT_METRICS_TOKEN as a Bearer token: 403/401/403/200)
# for /metrics, /stats, /streams/status and the page responder's /status,
# run as CGI programs with a non-loopback REMOTE_ADDR.
source "$(dirname "$0")/../lib/harness.sh"

CGI=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
TMP=$(mktemp -d /tmp/sselight-tm.XXXXXX)
SUB_PIDS=""
PROM_PID=""
cleanup() {
    [ -n "$SUB_PIDS" ] && kill $SUB_PIDS 2>/dev/null
    if [ -n "$PROM_PID" ]; then
        kill -TERM "$PROM_PID" 2>/dev/null
        [ -n "$(wait_gone 5 "$PROM_PID")" ] && kill -KILL "$PROM_PID" 2>/dev/null
    fi
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

unset SSELIGHT_METRICS_TOKEN SSELIGHT_METRICS_TOP_CHANNELS SSELIGHT_PUBLISH_TOKEN \
    SSELIGHT_SUBSCRIBE_SECRET SSELIGHT_BROKER SSELIGHT_PREFIX GATEWAY_INTERFACE
export SSELIGHT_STREAM_PROCS=2
export SSELIGHT_DATA_DIR=$TMP/data

# metrics FILE: GET /metrics into FILE; fails unless 200.
metrics() {
    [ "$(curl -s --max-time 3 -o "$1" -w '%{http_code}' "$BASE_URL/metrics")" = 200 ]
}
# mval FILE SAMPLE: the value of one sample (name with its labels, exactly
# as written), or nothing.
mval() { awk -v k="$2" '$1 == k { print $2; exit }' "$1"; }
# stats FILE: GET /stats into FILE; fails unless 200.
stats() {
    [ "$(curl -s --max-time 3 -o "$1" -w '%{http_code}' "$BASE_URL/stats")" = 200 ]
}
# jsq FILE EXPR: evaluates the JavaScript EXPR with j = FILE's JSON.
jsq() {
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = eval(process.argv[2]);
             console.log(typeof v === "object" ? JSON.stringify(v) : v);' "$1" "$2" 2>/dev/null
}
# hist_ok FILE NAME: NAME's buckets are in rising le order, cumulative
# (non-decreasing), end with +Inf, and +Inf equals NAME_count. Prints why not.
hist_ok() {
    awk -v n="$2" '
        index($1, n "_bucket{le=\"") == 1 {
            le = $1; sub(/^.*le="/, "", le); sub(/"}$/, "", le)
            if (last_le == "+Inf") { print "le=" le " after +Inf"; bad = 1 }
            else if (nb > 0 && le != "+Inf" && le + 0 <= last_le + 0) { print "le=" le " after le=" last_le; bad = 1 }
            if (nb > 0 && $2 + 0 < prev) { print "bucket le=" le " = " $2 " < " prev; bad = 1 }
            prev = $2 + 0; last_le = le; nb++
        }
        $1 == n "_count" { count = $2; have_count = 1 }
        END {
            if (nb < 2) { print "no buckets"; exit 1 }
            if (last_le != "+Inf") { print "last bucket is le=" last_le; exit 1 }
            if (!have_count) { print "no _count"; exit 1 }
            if (prev != count + 0) { print "+Inf bucket " prev " != _count " count; exit 1 }
            exit bad
        }' "$1"
}

server_start || { fail "lighttpd starts with SSELIGHT_STREAM_PROCS=2"; harness_finish; exit 1; }
mapfile -t STREAM_PIDS < <(server_procs stream.fcgi)
expect_eq "lighttpd runs two stream processes" 2 "${#STREAM_PIDS[@]}"

# --- a real Prometheus, started now so its start-up overlaps the next steps
PROM_PORT=$(free_port)
PROM_URL="http://127.0.0.1:$PROM_PORT"
mkdir -p "$TMP/prom"
cat > "$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: sselight
    metrics_path: /metrics
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" > "$OUT_DIR/prometheus.log" 2>&1 &
PROM_PID=$!

# --- 1. subscribers over both processes, counted exactly
# sub CHANNEL: one subscriber (curl -N) writing to $TMP/sub.K
NSUB=0
declare -A OPENED=()
sub() {
    NSUB=$((NSUB + 1))
    curl -sN --max-time 85 -o "$TMP/sub.$NSUB" "$BASE_URL/events/$1" &
    SUB_PIDS="$SUB_PIDS $!"
    echo "$1" > "$TMP/sub.$NSUB.ch"
    OPENED[$1]=$((${OPENED[$1]:-0} + 1))
}
# subs_ready: every subscriber opened so far has its retry: line (10 s).
subs_ready() {
    local i k
    for i in $(seq 1 100); do
        k=0
        for f in $(seq 1 "$NSUB"); do grep -q '^retry:' "$TMP/sub.$f" 2>/dev/null && k=$((k + 1)); done
        [ "$k" = "$NSUB" ] && return 0
        sleep 0.1
    done
    echo "# only $k of $NSUB subscribers started" >&2
    return 1
}
for i in $(seq 1 20); do sub m-alpha; done
for i in $(seq 1 12); do sub m-beta; done
for i in $(seq 1 8); do sub m-gamma; done
check "40 subscribers (20 m-alpha, 12 m-beta, 8 m-gamma) get their streams" subs_ready

# per_proc: "pid:subscribers ..." from /stats once its processes[] sum to
# NSUB (every slot refreshed: at most 5 s).
per_proc() {
    local i
    for i in $(seq 1 25); do
        if stats "$TMP/stats.json" &&
            [ "$(jsq "$TMP/stats.json" 'j.processes.reduce((a, p) => a + p.subscribers, 0)')" = "$NSUB" ]; then
            break
        fi
        sleep 0.2
    done
    jsq "$TMP/stats.json" 'j.processes.map(p => p.pid + ":" + p.subscribers).join(" ")'
}
spread=$(per_proc)
extra=0
# lighttpd balances by load; should it put every stream on one process,
# more subscribers (4 at a time, at most 40) until both have some.
while [ "$(wc -w <<< "$spread")" -lt 2 ] || grep -qE '(^| )[0-9]+:0( |$)' <<< "$spread"; do
    [ "$extra" -ge 40 ] && break
    for i in 1 2 3 4; do sub m-alpha; done
    extra=$((extra + 4))
    subs_ready || break
    spread=$(per_proc)
done
N=$NSUB
echo "# $N subscribers; per process (pid:subscribers): $spread"
check "both stream processes hold subscribers ($spread)" \
    bash -c "[ \$(wc -w <<< '$spread') = 2 ] && ! grep -qE '(^| )[0-9]+:0( |\$)' <<< '$spread'"

# poll /metrics (at most 5 s) until it shows what was opened
want_channels=$(for c in "${!OPENED[@]}"; do echo "sselight_channel_subscribers{channel=\"$c\"} ${OPENED[$c]}"; done | sort)
metrics_match() {
    metrics "$TMP/m1.txt" || return 1
    [ "$(mval "$TMP/m1.txt" sselight_subscribers)" = "$N" ] &&
        [ "$(mval "$TMP/m1.txt" sselight_processes)" = 2 ] &&
        [ "$(mval "$TMP/m1.txt" 'sselight_streams{kind="subscriber"}')" = "$N" ] &&
        [ "$(grep '^sselight_channel_subscribers{' "$TMP/m1.txt" | sort)" = "$want_channels" ]
}
for i in $(seq 1 25); do metrics_match && break; sleep 0.2; done
cp "$TMP/m1.txt" "$OUT_DIR/metrics-subscribed.txt" 2>/dev/null
expect_eq "/metrics: sselight_subscribers = $N" "$N" "$(mval "$TMP/m1.txt" sselight_subscribers)"
expect_eq "/metrics: sselight_processes = 2" 2 "$(mval "$TMP/m1.txt" sselight_processes)"
expect_eq "/metrics: sselight_streams{kind=\"subscriber\"} = $N" "$N" \
    "$(mval "$TMP/m1.txt" 'sselight_streams{kind="subscriber"}')"
expect_eq "/metrics: sselight_channel_subscribers, per channel, = the subscribers opened" \
    "$(tr '\n' ';' <<< "$want_channels")" \
    "$(grep '^sselight_channel_subscribers{' "$TMP/m1.txt" | sort | tr '\n' ';')"
expect_eq "/metrics: sselight_streams{kind=\"demo\"} = 0" 0 "$(mval "$TMP/m1.txt" 'sselight_streams{kind="demo"}')"
expect_eq "/metrics: sselight_streams_opened_total{kind=\"subscriber\"} = $N" "$N" \
    "$(mval "$TMP/m1.txt" 'sselight_streams_opened_total{kind="subscriber"}')"
stats "$TMP/stats.json"
cp "$TMP/stats.json" "$OUT_DIR/stats-subscribed.json"
expect_eq "/stats: totals.subscribers = $N" "$N" "$(jsq "$TMP/stats.json" j.totals.subscribers)"
expect_eq "/stats: the sum of processes[].subscribers = $N" "$N" \
    "$(jsq "$TMP/stats.json" 'j.processes.reduce((a, p) => a + p.subscribers, 0)')"
expect_eq "/stats: totals.processes = 2" 2 "$(jsq "$TMP/stats.json" j.totals.processes)"
expect_eq "/stats: processes[] pids are lighttpd's two stream processes" \
    "$(printf '%s\n' "${STREAM_PIDS[@]}" | sort -n | tr '\n' ' ')" \
    "$(jsq "$TMP/stats.json" 'j.processes.map(p => p.pid).sort((a, b) => a - b).join(" ") + " "')"
expect_eq "/metrics: one sselight_process_resident_memory_bytes per stream process (pid labels)" \
    "$(printf '%s\n' "${STREAM_PIDS[@]}" | sort -n | tr '\n' ' ')" \
    "$(grep -o '^sselight_process_resident_memory_bytes{pid="[0-9]*"}' "$TMP/m1.txt" | grep -o '[0-9]*' | sort -n | tr '\n' ' ')"

# sselight-pub --stats reads the same slots from the data dir, no HTTP.
"$ROOT/cgi-bin/sselight-pub" -d "$SSELIGHT_DATA_DIR" --stats > "$TMP/pubstats.txt" 2> "$TMP/pubstats.err"
expect_eq "sselight-pub --stats exits 0" 0 "$?"
cp "$TMP/pubstats.txt" "$OUT_DIR/pub-stats.txt"
check "sselight-pub --stats: 2 stream processes" grep -q ': 2 stream processes$' "$TMP/pubstats.txt"
expect_eq "sselight-pub --stats: subscribers = $N" "$N" \
    "$(awk '$1 == "subscribers" { print $2 }' "$TMP/pubstats.txt")"
expect_eq "sselight-pub --stats: one table row per stream process" \
    "$(printf '%s\n' "${STREAM_PIDS[@]}" | sort -n | tr '\n' ' ')" \
    "$(awk '$2 == "fastcgi" { print $1 }' "$TMP/pubstats.txt" | sort -n | tr '\n' ' ')"
"$ROOT/cgi-bin/sselight-pub" -d "$TMP/nowhere" --stats > /dev/null 2> "$TMP/pubstats-missing.err"
expect_eq "sselight-pub --stats without a metrics file exits 1" 1 "$?"
check "... and says why" grep -q 'no stream process has run with this data directory' "$TMP/pubstats-missing.err"

# --- 2. publish: published, delivered, the commit histogram
S=${OPENED[m-beta]}
metrics "$TMP/m2a.txt"
pub0=$(mval "$TMP/m2a.txt" sselight_events_published_total)
del0=$(mval "$TMP/m2a.txt" sselight_events_delivered_total)
com0=$(mval "$TMP/m2a.txt" sselight_publish_commit_seconds_count)
expect_eq "before any publish: sselight_events_published_total = 0" 0 "$pub0"
expect_eq "before any publish: sselight_events_delivered_total = 0" 0 "$del0"
ids=""
for i in 1 2 3 4 5; do
    ids="$ids $(curl -s --max-time 5 --data-binary "single $i" "$BASE_URL/events/m-beta")"
done
printf 'data: b1\n\ndata: b2\n\ndata: b3\n\n' | curl -s --max-time 5 -H 'Content-Type: text/event-stream' \
    --data-binary @- "$BASE_URL/events/m-beta" > "$TMP/batch.ids"
M=8
REQS=6
check "5 single publishes and a batch of 3 answer 8 ids" \
    test "$(echo $ids $(cat "$TMP/batch.ids") | wc -w)" = "$M"
want_del=$((del0 + M * S))
for i in $(seq 1 25); do
    metrics "$TMP/m2.txt" && [ "$(mval "$TMP/m2.txt" sselight_events_delivered_total)" -ge "$want_del" ] && break
    sleep 0.2
done
sleep 1.1 # every slot refreshed once more: no late extra deliveries
metrics "$TMP/m2.txt"
cp "$TMP/m2.txt" "$OUT_DIR/metrics-published.txt"
expect_eq "sselight_events_published_total = $M (5 publishes + a batch of 3)" "$M" \
    "$(mval "$TMP/m2.txt" sselight_events_published_total)"
expect_eq "sselight_events_delivered_total rose by M*S = $M*$S" "$((M * S))" \
    "$(( $(mval "$TMP/m2.txt" sselight_events_delivered_total) - del0 ))"
expect_eq "sselight_publish_commit_seconds_count = $REQS (one per publish request)" "$REQS" \
    "$(( $(mval "$TMP/m2.txt" sselight_publish_commit_seconds_count) - ${com0:-0} ))"
check "sselight_publish_commit_seconds_sum is above 0" \
    awk -v v="$(mval "$TMP/m2.txt" sselight_publish_commit_seconds_sum)" 'BEGIN { exit !(v > 0) }'
for h in sselight_publish_commit_seconds sselight_fanout_duration_seconds; do
    why=$(hist_ok "$TMP/m2.txt" "$h")
    rc=$?
    check "$h: le rising, buckets cumulative, +Inf = _count${why:+ ($why)}" test "$rc" = 0 -a -z "$why"
done
check "fanout_duration histogram has observations" \
    test "$(mval "$TMP/m2.txt" sselight_fanout_duration_seconds_count)" -gt 0
got=0
for f in $(seq 1 "$N"); do
    [ "$(cat "$TMP/sub.$f.ch")" = m-beta ] || continue
    [ "$(grep -c '^id: ' "$TMP/sub.$f")" = "$M" ] && got=$((got + 1))
done
expect_eq "each of the $S m-beta subscribers got the $M events" "$S" "$got"

# --- 3. promtool accepts the output
promtool check metrics < "$TMP/m2.txt" > "$TMP/promtool.out" 2>&1
rc=$?
cp "$TMP/promtool.out" "$OUT_DIR/promtool.out"
expect_eq "promtool check metrics exits 0" 0 "$rc"
expect_eq "promtool check metrics prints no lint problems" "" "$(cat "$TMP/promtool.out")"

# --- 4. a real Prometheus scrapes /metrics
prom_get() { curl -s --max-time 2 "$PROM_URL$1" -o "$2"; }
health=""
for i in $(seq 1 100); do # 20 s: its start-up, then the first scrape
    alive "$PROM_PID" || break
    if prom_get /api/v1/targets "$TMP/targets.json"; then
        health=$(jsq "$TMP/targets.json" 'j.data.activeTargets.map(t => t.scrapeUrl + "=" + t.health).join(" ")')
        [ "$health" = "http://127.0.0.1:$PORT/metrics=up" ] && break
    fi
    sleep 0.2
done
expect_eq "Prometheus: the /metrics target is up" "http://127.0.0.1:$PORT/metrics=up" "$health"
pval=""
for i in $(seq 1 50); do # 10 s
    prom_get '/api/v1/query?query=sselight_subscribers' "$TMP/query.json" &&
        pval=$(jsq "$TMP/query.json" 'j.data.result.map(r => r.value[1]).join(" ")')
    [ "$pval" = "$N" ] && break
    sleep 0.2
done
expect_eq "Prometheus: query sselight_subscribers = $N" "$N" "$pval"
pval=""
prom_get '/api/v1/query?query=sselight_events_published_total' "$TMP/query2.json" &&
    pval=$(jsq "$TMP/query2.json" 'j.data.result.map(r => r.value[1]).join(" ")')
expect_eq "Prometheus: query sselight_events_published_total = $M" "$M" "$pval"
kill -TERM "$PROM_PID" 2>/dev/null
left=$(wait_gone 10 "$PROM_PID")
expect_eq "Prometheus stops on SIGTERM" "" "$left"
[ -n "$left" ] && kill -KILL "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
PROM_PID=""

# --- 5. kill -9 of a stream process: counters do not go down, its pid goes
# The victim: the process that delivered the most (from /stats).
stats "$TMP/stats5.json"
victim=$(jsq "$TMP/stats5.json" 'j.processes.slice().sort((a, b) => b.delivered - a.delivered)[0].pid')
vdel=$(jsq "$TMP/stats5.json" "j.processes.find(p => p.pid == $victim).delivered")
check "the process to kill ($victim) has delivered events ($vdel)" test "${vdel:-0}" -gt 0
metrics "$TMP/m5a.txt"
before=$(mval "$TMP/m5a.txt" sselight_events_delivered_total)
pub_before=$(mval "$TMP/m5a.txt" sselight_events_published_total)
kill -KILL "$victim"
lowest=$before
lowest_pub=$pub_before
highest=$before
ok_gone=""
samples=0
for i in $(seq 1 30); do # 6 s
    sleep 0.2
    metrics "$TMP/m5.txt" || continue
    samples=$((samples + 1))
    d=$(mval "$TMP/m5.txt" sselight_events_delivered_total)
    p=$(mval "$TMP/m5.txt" sselight_events_published_total)
    [ "$d" -lt "$lowest" ] && lowest=$d
    [ "$d" -gt "$highest" ] && highest=$d
    [ "$p" -lt "$lowest_pub" ] && lowest_pub=$p
    if [ -z "$ok_gone" ] && ! grep -q "{pid=\"$victim\"}" "$TMP/m5.txt"; then
        ok_gone=$i
    fi
done
check "after kill -9: /metrics answered ($samples of 30 reads)" test "$samples" -gt 5
expect_eq "after kill -9: sselight_events_delivered_total never below $before (the dead slot's totals retired)" \
    "$before" "$lowest"
expect_eq "... nor above it: nothing was published since, so the retired totals count once" \
    "$before" "$highest"
expect_eq "after kill -9: sselight_events_published_total never below $pub_before" "$pub_before" "$lowest_pub"
check "after kill -9: the dead pid $victim leaves the pid labels${ok_gone:+ (within $((ok_gone * 2))00 ms)}" test -n "$ok_gone"
check "... and stays out of them" bash -c "! grep -q '{pid=\"$victim\"}' '$TMP/m5.txt'"
# The live stream processes and /metrics, read while lighttpd did not start
# or lose one in between (it may restart the killed one at any time).
for i in 1 2 3 4 5; do
    sleep 1.1 # every live process has written its slot
    mapfile -t now_pids < <(server_procs stream.fcgi)
    metrics "$TMP/m5.txt" || continue
    [ "$(server_procs stream.fcgi | tr '\n' ' ')" = "$(printf '%s ' "${now_pids[@]}")" ] && break
done
cp "$TMP/m5.txt" "$OUT_DIR/metrics-after-kill.txt"
echo "# stream processes after the kill: ${now_pids[*]} (lighttpd restarted one: $([ "${#now_pids[@]}" = 2 ] && echo yes || echo no))"
check "the killed process is gone" bash -c "! printf '%s\n' ${now_pids[*]} | grep -qx '$victim'"
expect_eq "after kill -9: sselight_processes = the live stream processes (${now_pids[*]})" \
    "${#now_pids[@]}" "$(mval "$TMP/m5.txt" sselight_processes)"
expect_eq "after kill -9: the pid labels are the live stream processes" \
    "$(printf '%s\n' "${now_pids[@]}" | sort -n | tr '\n' ' ')" \
    "$(grep -o '^sselight_process_resident_memory_bytes{pid="[0-9]*"}' "$TMP/m5.txt" | grep -o '[0-9]*' | sort -n | tr '\n' ' ')"
stats "$TMP/stats5b.json"
check "after kill -9: /stats processes[] does not list $victim" \
    test -z "$(jsq "$TMP/stats5b.json" "j.processes.filter(p => p.pid == $victim).map(p => p.pid).join()")"
check "after kill -9: /stats totals.delivered >= $before" \
    test "$(jsq "$TMP/stats5b.json" j.totals.delivered)" -ge "$before"

# --- 6. refusals counted by status and reason
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
refused() { mval "$1" "sselight_requests_refused_total{status=\"$2\",reason=\"$3\"}"; }
# settled FILE STATUS REASON AT-LEAST: /metrics into FILE once the refusal
# counter is at least AT-LEAST (at most 5 s), then again 1.2 s later (every
# slot written once more), so a count above it shows too.
settled() {
    local i
    for i in $(seq 1 25); do
        metrics "$1" && [ "$(refused "$1" "$2" "$3")" -ge "$4" ] && break
        sleep 0.2
    done
    sleep 1.2
    metrics "$1"
}
sleep 1.1
metrics "$TMP/m6a.txt"
r404=$(refused "$TMP/m6a.txt" 404 not_found)
r405=$(refused "$TMP/m6a.txt" 405 method_not_allowed)
r400=$(refused "$TMP/m6a.txt" 400 bad_request)
expect_eq "GET /streams/nope is 404" 404 "$(status "$BASE_URL/streams/nope")"
settled "$TMP/m6b.txt" 404 not_found $((r404 + 1))
expect_eq "a 404 adds 1 to sselight_requests_refused_total{status=\"404\",reason=\"not_found\"}" \
    1 "$(( $(refused "$TMP/m6b.txt" 404 not_found) - r404 ))"
expect_eq "... and nothing to 405" 0 "$(( $(refused "$TMP/m6b.txt" 405 method_not_allowed) - r405 ))"
expect_eq "DELETE /metrics is 405" 405 "$(status -X DELETE "$BASE_URL/metrics")"
settled "$TMP/m6c.txt" 405 method_not_allowed $((r405 + 1))
expect_eq "a 405 (DELETE /metrics) adds 1 to {status=\"405\",reason=\"method_not_allowed\"}" \
    1 "$(( $(refused "$TMP/m6c.txt" 405 method_not_allowed) - r405 ))"
expect_eq "PUT /events/x is 405" 405 "$(status -X PUT -d x "$BASE_URL/events/x")"
settled "$TMP/m6d.txt" 405 method_not_allowed $((r405 + 2))
expect_eq "a second 405 (PUT /events/x): 2 in all" \
    2 "$(( $(refused "$TMP/m6d.txt" 405 method_not_allowed) - r405 ))"
expect_eq "... 404 still +1" 1 "$(( $(refused "$TMP/m6d.txt" 404 not_found) - r404 ))"
expect_eq "... and 400 unchanged" 0 "$(( $(refused "$TMP/m6d.txt" 400 bad_request) - r400 ))"

# --- 8. HEAD and Content-Type (through lighttpd)
curl -s --max-time 3 -D "$TMP/get.head" -o /dev/null "$BASE_URL/metrics"
check "Content-Type of /metrics starts with text/plain; version=0.0.4" \
    grep -qi '^Content-Type: text/plain; version=0\.0\.4' "$TMP/get.head"
# a raw HTTP/1.0 HEAD: lighttpd closes after the answer, so whatever
# follows the head is a body that should not be there
raw_head() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf 'HEAD /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    timeout 3 cat <&3 > "$TMP/head.raw"
    exec 3<&-
}
raw_head
cp "$TMP/head.raw" "$OUT_DIR/head.raw" 2>/dev/null
expect_eq "HEAD /metrics is 200" "HTTP/1.0 200 OK" "$(head -n 1 "$TMP/head.raw" | tr -d '\r')"
expect_eq "HEAD /metrics has no body (bytes after the head)" 0 \
    "$(node -e 'const b = require("fs").readFileSync(process.argv[1]); const i = b.indexOf("\r\n\r\n");
               console.log(i < 0 ? "no end of head" : b.length - i - 4)' "$TMP/head.raw")"
check "HEAD /metrics has the same Content-Type" grep -qi '^Content-Type: text/plain; version=0\.0\.4' "$TMP/head.raw"

server_stop || fail "lighttpd and its responders stop"
kill $SUB_PIDS 2>/dev/null
wait $SUB_PIDS 2>/dev/null
SUB_PIDS=""

# --- 7. the access rule, the responders run as CGI programs
CLOG=$OUT_DIR/cgi-stderr.log
: > "$CLOG"
mkdir -p "$TMP/cgidata"
# cgi PROGRAM METHOD URI [VAR=VALUE...]: one CGI request, the response to stdout
cgi() {
    local prog=$1 m=$2 u=$3
    shift 3
    env GATEWAY_INTERFACE=CGI/1.1 SSELIGHT_DATA_DIR="$TMP/cgidata" REMOTE_ADDR=192.0.2.7 \
        REQUEST_METHOD="$m" REQUEST_URI="$u" "$@" timeout 20 "$CGI/$prog" < /dev/null 2>>"$CLOG"
}
cstatus() { sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$1" | tr -d '\r'; }
# cbody FILE: what follows the blank line after the head
cbody() { sed '1,/^\r\{0,1\}$/d' "$1"; }
one_line() { [ "$(cbody "$1" | wc -l)" = 1 ] && [ -n "$(cbody "$1")" ]; }

for path in /metrics /stats; do
    n=${path#/}
    cgi stream.fcgi GET "$path" > "$TMP/$n.none"
    expect_eq "CGI $path from 192.0.2.7, no SSELIGHT_METRICS_TOKEN: 403" 403 "$(cstatus "$TMP/$n.none")"
    check "... with a one-line reason ($(cbody "$TMP/$n.none" | head -c 60))" one_line "$TMP/$n.none"
    check "... that names loopback and the token" grep -q 'loopback.*SSELIGHT_METRICS_TOKEN' "$TMP/$n.none"
    check "... and no metrics" bash -c "! grep -q sselight_processes '$TMP/$n.none'"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 > "$TMP/$n.nohdr"
    expect_eq "CGI $path with a token set, no Authorization: 401" 401 "$(cstatus "$TMP/$n.nohdr")"
    check "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$TMP/$n.nohdr"
    check "... and a one-line reason" one_line "$TMP/$n.nohdr"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer wrong" > "$TMP/$n.wrong"
    expect_eq "CGI $path with a wrong Bearer token: 403" 403 "$(cstatus "$TMP/$n.wrong")"
    check "... with a one-line reason" one_line "$TMP/$n.wrong"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer metrics-secret-202" > "$TMP/$n.prefix"
    expect_eq "CGI $path with a prefix of the token: 403" 403 "$(cstatus "$TMP/$n.prefix")"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Basic bWV0cmljcy1zZWNyZXQtMjAyNg==" > "$TMP/$n.basic"
    expect_eq "CGI $path with Basic instead of Bearer: 401" 401 "$(cstatus "$TMP/$n.basic")"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer metrics-secret-2026" > "$TMP/$n.right"
    expect_eq "CGI $path with the right Bearer token: 200" 200 "$(cstatus "$TMP/$n.right")"
    cgi stream.fcgi GET "$path" REMOTE_ADDR=127.0.0.1 > "$TMP/$n.local"
    expect_eq "CGI $path from 127.0.0.1, no token: 200" 200 "$(cstatus "$TMP/$n.local")"
    cgi stream.fcgi GET "$path" SSELIGHT_METRICS_TOKEN=metrics-secret-2026 REMOTE_ADDR=127.0.0.1 > "$TMP/$n.local2"
    expect_eq "CGI $path from 127.0.0.1 with a token set but none sent: 200" 200 "$(cstatus "$TMP/$n.local2")"
done
check "the right token's /metrics has sselight_processes" grep -q '^sselight_processes 1' "$TMP/metrics.right"
check "the right token's /metrics has a Prometheus Content-Type" \
    grep -q '^Content-Type: text/plain; version=0\.0\.4' "$TMP/metrics.right"
check "127.0.0.1's /metrics has sselight_processes" grep -q '^sselight_processes 1' "$TMP/metrics.local"
cbody "$TMP/stats.right" > "$TMP/stats.right.json"
expect_eq "the right token's /stats: JSON with totals.processes = 1" 1 "$(jsq "$TMP/stats.right.json" j.totals.processes)"
expect_eq "... its processes[] kind is cgi" cgi "$(jsq "$TMP/stats.right.json" 'j.processes.map(p => p.kind).join()')"

cgi stream.fcgi GET /streams/status > "$TMP/ss.none"
expect_eq "CGI /streams/status from 192.0.2.7, no token: 403" 403 "$(cstatus "$TMP/ss.none")"
cgi stream.fcgi GET /streams/status SSELIGHT_METRICS_TOKEN=metrics-secret-2026 > "$TMP/ss.nohdr"
expect_eq "CGI /streams/status, token set, no header: 401" 401 "$(cstatus "$TMP/ss.nohdr")"
env GATEWAY_INTERFACE=CGI/1.1 SSELIGHT_DATA_DIR="$TMP/cgidata" REMOTE_ADDR=192.0.2.7 REQUEST_METHOD=GET \
    REQUEST_URI=/streams/status SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer metrics-secret-2026" \
    timeout 4 "$CGI/stream.fcgi" < /dev/null > "$TMP/ss.right" 2>>"$CLOG"
expect_eq "CGI /streams/status with the right token: 200" 200 "$(cstatus "$TMP/ss.right")"
check "... an event stream with a status event" grep -q '^event: status' "$TMP/ss.right"

cgi index.fcgi GET /status > "$TMP/st.none"
expect_eq "CGI index.fcgi /status from 192.0.2.7, no token: 403" 403 "$(cstatus "$TMP/st.none")"
check "... with a one-line reason" one_line "$TMP/st.none"
cgi index.fcgi GET /status SSELIGHT_METRICS_TOKEN=metrics-secret-2026 > "$TMP/st.nohdr"
expect_eq "CGI index.fcgi /status, token set, no header: 401" 401 "$(cstatus "$TMP/st.nohdr")"
cgi index.fcgi GET /status SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer nope" > "$TMP/st.wrong"
expect_eq "CGI index.fcgi /status, wrong token: 403" 403 "$(cstatus "$TMP/st.wrong")"
cgi index.fcgi GET /status SSELIGHT_METRICS_TOKEN=metrics-secret-2026 HTTP_AUTHORIZATION="Bearer metrics-secret-2026" > "$TMP/st.right"
expect_eq "CGI index.fcgi /status with the right token: 200" 200 "$(cstatus "$TMP/st.right")"
check "... the page connects to /streams/status" contains "$TMP/st.right" 'sse-connect="/streams/status"'
cgi index.fcgi GET /status REMOTE_ADDR=127.0.0.1 > "$TMP/st.local"
expect_eq "CGI index.fcgi /status from 127.0.0.1, no token: 200" 200 "$(cstatus "$TMP/st.local")"
check "... the page connects to /streams/status" contains "$TMP/st.local" 'sse-connect="/streams/status"'
check "the 403 page has no status page in it" bash -c "! grep -q 'sse-connect' '$TMP/st.none'"

# HEAD as CGI: the head, no body
cgi stream.fcgi HEAD /metrics REMOTE_ADDR=127.0.0.1 > "$TMP/head.cgi"
expect_eq "CGI HEAD /metrics: 200" 200 "$(cstatus "$TMP/head.cgi")"
expect_eq "CGI HEAD /metrics: no body" 0 "$(cbody "$TMP/head.cgi" | wc -c)"
check "CGI HEAD /metrics: Content-Type text/plain; version=0.0.4" \
    grep -q '^Content-Type: text/plain; version=0\.0\.4' "$TMP/head.cgi"

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$CLOG"; then
    fail "no sanitizer reports in the CGI programs' stderr"
else
    pass "no sanitizer reports in the CGI programs' stderr"
fi
harness_finish
