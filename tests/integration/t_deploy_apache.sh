#!/bin/bash
# The two shipped Apache configs against the real Apache 2.4 (Debian
# apache2, libapache2-mod-fcgid):
#   deploy/apache/sselight-proxy-fcgi.conf  mod_proxy_fcgi to both responders
#                                           run by spawn-fcgi on unix sockets
#   deploy/apache/sselight-fcgid.conf       mod_fcgid starts the responders
# Each is included by a minimal httpd.conf of a temporary ServerRoot, with
# the placeholders filled in and its timeouts cut to 3 s (heartbeats every
# 1 s must keep quiet streams open), at the site root and under /apps/sse.
# The shared checks of tests/lib/deploy_checks.sh run against it; then
# Apache (and the responders) stop, and no process and no listening socket
# may be left.
#
# T_DEPLOY_APACHE_ONLY=fcgid (or proxy-fcgi) runs one of the two.
# Two ways to see the checks fail, as they must (the numbers are failures):
#   T_DEPLOY_APACHE_BREAK=flush      the configs without flushpackets=on /
#                                    FcgidOutputBufferSize 0: Example 1's
#                                    timing, and every stream check
#   T_DEPLOY_APACHE_BREAK=heartbeat  heartbeats every 10 s, above the 3 s
#                                    timeouts: quiet streams are cut
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"

CGI=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
MODS=/usr/lib/apache2/modules
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
IDLE_S=3
# Apache's children run as this user (it refuses to serve as root); so do
# the responders, which must write the data directory. Not root: all of it
# runs as the caller.
if [ "$(id -u)" = 0 ]; then
    RUN_USER=nobody
    RUN_GROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
    SPAWN_USER=(-u "$RUN_USER" -g "$RUN_GROUP" -U "$RUN_USER" -G "$RUN_GROUP")
else
    RUN_USER=$(id -un)
    RUN_GROUP=$(id -gn)
    SPAWN_USER=()
fi
BREAK=${T_DEPLOY_APACHE_BREAK:-}

# Checks of this file carry the same label as the shared ones, through
# deploy_checks.sh's helpers.
t_pass() { _deploy_pass "$@"; }
t_fail() { _deploy_fail "$@"; }
t_check() { _deploy_check "$@"; }
t_eq() { _deploy_eq "$@"; }
wait_line() { wait_for_line "$@"; }
stop_curl() { _deploy_stop_curl "$@"; }

TMP=$(mktemp -d /tmp/sselight-da.XXXXXX)
chmod 755 "$TMP"
APACHE_PID=""
RESP_PIDS=""
cleanup() {
    [ -n "$APACHE_PID" ] && kill -TERM "$APACHE_PID" 2>/dev/null
    [ -n "$RESP_PIDS" ] && kill -TERM $RESP_PIDS 2>/dev/null
    sleep 0.5
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that cleanup runs (make test's timeout)

# The responders know SSELIGHT_PREFIX once both binaries carry it.
prefix_supported() {
    grep -qa SSELIGHT_PREFIX "$CGI/stream.fcgi" && grep -qa SSELIGHT_PREFIX "$CGI/index.fcgi"
}

# render MODE PREFIX DIR: DIR/sselight.conf is the shipped file for MODE
# (proxy-fcgi or fcgid) with its placeholders filled in and the test's
# short timeouts; DIR/httpd.conf a minimal server that includes it.
render() {
    local mode=$1 prefix=$2 dir=$3 mods
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@WWW@|$ROOT/www|g" -e "s|@RUN_DIR@|$dir/run|g" \
        -e "s|@CGI_DIR@|$CGI|g" -e "s|@DATA_DIR@|$dir/data|g" \
        -e "s|timeout=3600|timeout=$IDLE_S|" -e "s|^FcgidIOTimeout 3600|FcgidIOTimeout $IDLE_S|" \
        -e "s|SSELIGHT_HEARTBEAT_MS 15000|SSELIGHT_HEARTBEAT_MS $SSELIGHT_HEARTBEAT_MS|" \
        "$ROOT/deploy/apache/sselight-$mode.conf" > "$dir/sselight.conf"
    if [ "$BREAK" = flush ]; then
        sed -i -e 's| flushpackets=on||' -e '/^FcgidOutputBufferSize 0/d' "$dir/sselight.conf"
    fi
    if [ "$mode" = proxy-fcgi ]; then
        mods="proxy proxy_fcgi rewrite"
    else
        mods="fcgid"
    fi
    {
        echo "ServerRoot \"$dir\""
        echo "ServerName 127.0.0.1"
        echo "Listen 127.0.0.1:$PORT"
        for m in mpm_event authz_core mime alias env $mods; do
            echo "LoadModule ${m}_module $MODS/mod_$m.so"
        done
        cat <<CONF
User $RUN_USER
Group $RUN_GROUP
PidFile "$dir/httpd.pid"
ErrorLog "$SERVER_LOG"
LogLevel warn$([ "$mode" = fcgid ] && echo ' fcgid:info')
DefaultRuntimeDir "$dir"
Mutex "file:$dir" default
DocumentRoot "$dir/htdocs"
TypesConfig /etc/mime.types
# Client reads and writes: a quiet stream must live on its heartbeats.
Timeout $IDLE_S
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 10
MaxSpareThreads 50
CONF
        if [ "$mode" = fcgid ]; then
            # mod_fcgid makes this directory itself, owned by $RUN_USER.
            echo "FcgidIPCDir \"$dir/fcgid\""
            echo "FcgidProcessTableFile \"$dir/fcgid_shm\""
        fi
        echo "Include \"$dir/sselight.conf\""
    } > "$dir/httpd.conf"
}

# start_responders DIR PREFIX: both responders under spawn-fcgi, as
# $RUN_USER, on DIR/run/{stream,page}.sock (proxy-fcgi only).
start_responders() {
    local dir=$1 prefix=$2 name bin
    RESP_PIDS=""
    for name in stream page; do
        bin=$([ "$name" = stream ] && echo stream.fcgi || echo index.fcgi)
        (SSELIGHT_DATA_DIR=$dir/data SSELIGHT_PREFIX=$prefix \
            exec setsid "$SPAWN_FCGI" -n -s "$dir/run/$name.sock" -M 0600 \
            "${SPAWN_USER[@]}" -- "$CGI/$bin") \
            >>"$OUT_DIR/$name.log" 2>&1 &
        RESP_PIDS="$RESP_PIDS $!"
    done
    local i
    for i in $(seq 1 50); do
        [ -S "$dir/run/stream.sock" ] && [ -S "$dir/run/page.sock" ] && return 0
        sleep 0.1
    done
    return 1
}

# start_apache DIR URL: Apache in the foreground of a session of its own;
# waits until URL answers 200 (10 s).
start_apache() {
    local dir=$1 url=$2
    (exec setsid "$APACHE" -DFOREGROUND -f "$dir/httpd.conf") >>"$SERVER_LOG" 2>&1 &
    APACHE_PID=$!
    wait_ready "$APACHE_PID" answers_200 "$url"
}

# session_procs: Apache's processes (its session: parent, children, the
# fcgid process manager and the programs it spawned).
session_procs() { [ -n "$APACHE_PID" ] && pgrep -s "$APACHE_PID" 2>/dev/null; }

# procs_of NAME: processes of Apache's session whose executable is NAME.
procs_of() {
    local p exe
    for p in $(session_procs); do
        exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
        [ "${exe##*/}" = "$1" ] && echo "$p"
    done
    return 0
}

# listening_under DIR: unix sockets bound to a path under DIR that some
# process still holds.
listening_under() { awk -v d="$1/" 'index($8, d) == 1 { print $8 }' /proc/net/unix | sort -u; }

# stop_all DIR: SIGTERM to Apache and the responders; every process gone
# within 10 s, no socket under DIR still held.
stop_all() {
    local dir=$1 pids left files
    pids="$APACHE_PID $(session_procs) $RESP_PIDS"
    kill -TERM "$APACHE_PID" $RESP_PIDS 2>/dev/null
    left=$(wait_gone 10 $pids)
    wait $APACHE_PID $RESP_PIDS 2>/dev/null
    if [ -z "$left" ]; then
        t_pass "SIGTERM stops Apache$([ -n "$RESP_PIDS" ] && echo ' and both responders'), no process left"
    else
        t_fail "SIGTERM stops Apache$([ -n "$RESP_PIDS" ] && echo ' and both responders'), no process left" \
            "still running: $(ps -o pid=,args= -p "${left// /,}" | tr '\n' ';')"
        kill -KILL $left 2>/dev/null
    fi
    t_eq "no socket under the server's directory is still listening" "" \
        "$(listening_under "$dir" | tr '\n' ' ')"
    files=$(find "$dir" -type s 2>/dev/null | sed "s|^$dir/||" | tr '\n' ' ')
    [ -n "$files" ] && echo "# socket files left behind (nothing listens on them): $files"
    APACHE_PID=""
    RESP_PIDS=""
}

# fcgid_process_model: several subscribers, each on its own stream.fcgi
# process, all get one publish (the shared broker); the memory of one.
fcgid_process_model() {
    local ch="fcgid-$$-$RANDOM" pids=() i n id before got p rss pss priv
    before=$(procs_of stream.fcgi | wc -l)
    rm -f "$OUT_DIR"/fcgid-sub?.txt
    for i in 1 2 3; do
        curl -sN --max-time 15 -o "$OUT_DIR/fcgid-sub$i.txt" "$BASE_URL/events/$ch" &
        pids+=($!)
    done
    for i in 1 2 3; do wait_line "$OUT_DIR/fcgid-sub$i.txt" '^retry: ' 5; done
    n=$(procs_of stream.fcgi | wc -l)
    t_check "3 open streams are 3 stream.fcgi processes or more ($before before, $n now)" test "$n" -ge 3
    id=$(curl -s --max-time 5 --data-binary "to every process" "$BASE_URL/events/$ch")
    got=0
    for i in 1 2 3; do
        wait_line "$OUT_DIR/fcgid-sub$i.txt" "^id: ${id:-none}\$" 3 && got=$((got + 1))
    done
    t_eq "a publish (id ${id:-none}) reaches all 3, each through its own process" 3 "$got"
    # Memory of each stream process (three of them serve a stream now).
    for p in $(procs_of stream.fcgi); do
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
        pss=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
        priv=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s }' "/proc/$p/smaps_rollup" 2>/dev/null)
        echo "# stream.fcgi pid $p: RSS ${rss:-?} kB, PSS ${pss:-?} kB, private ${priv:-?} kB"
    done
    for i in "${pids[@]}"; do stop_curl "$i"; done
}

# fcgid_metrics: N subscribers at once are N busy stream.fcgi processes
# (mod_fcgid gives each process one request at a time), and /metrics,
# answered by yet another process, sums them all: sselight_processes >= 2
# and sselight_subscribers = N within 8 s (the streams of earlier checks
# may still be ending). Then /stats "processes" shows one subscriber on
# each of N processes.
fcgid_metrics() {
    local ch="fcgid-mx-$$-$RANDOM" n=4 pids=() i procs per
    rm -f "$OUT_DIR"/fcgid-mx?.txt
    for i in $(seq 1 "$n"); do
        curl -sN --max-time 25 -o "$OUT_DIR/fcgid-mx$i.txt" "$BASE_URL/events/$ch" &
        pids+=($!)
    done
    for i in $(seq 1 "$n"); do wait_line "$OUT_DIR/fcgid-mx$i.txt" '^retry: ' 5; done
    if deploy_metrics_until 8 sselight_processes -ge 2 sselight_subscribers -eq "$n" \
        "sselight_channel_subscribers{channel=\"$ch\"}" -eq "$n"; then
        t_pass "/metrics sums the stream processes: $DEPLOY_METRICS_SEEN"
    else
        t_fail "/metrics sums the stream processes (sselight_processes >= 2, sselight_subscribers = $n)" \
            "last seen: $DEPLOY_METRICS_SEEN"
    fi
    curl -s --max-time 5 -o "$OUT_DIR/fcgid-mx-stats.json" "$BASE_URL/stats"
    procs=$(grep -o '"processes":\[[^]]*\]' "$OUT_DIR/fcgid-mx-stats.json")
    # The subscriber counts of the processes that hold any, largest first.
    per=$(grep -o '"subscribers":[0-9]*' <<< "$procs" | cut -d: -f2 | grep -v '^0$' | sort -rn | tr '\n' ' ')
    echo "# mod_fcgid, $n subscribers: /stats lists $(grep -o '"pid":' <<< "$procs" | wc -l)" \
        "stream processes; those with subscribers hold: ${per:-none}"
    t_eq "/stats \"processes\": the $n subscribers are on $n processes, one each" \
        "$(printf '1 %.0s' $(seq 1 "$n"))" "$per"
    for i in "${pids[@]}"; do stop_curl "$i"; done
}

# fcgid_disconnect: the channels in /stats are those of the process that
# answers it, so deploy_check_disconnect cannot see another process's
# subscriber here. A kill -9'd client's stream must be freed within
# heartbeat + 2 s all the
# same: its process logs it (mod_fcgid sends the responders' stderr to
# Apache's error log).
fcgid_disconnect() {
    local ch="fcgid-dc-$$-$RANDOM" pid limit
    # curl -o only truncates its file when the first bytes come: an old
    # file would look like an answer.
    rm -f "$OUT_DIR/fcgid-dc.txt"
    curl -sN --max-time 30 -o "$OUT_DIR/fcgid-dc.txt" "$BASE_URL/events/$ch" &
    pid=$!
    wait_line "$OUT_DIR/fcgid-dc.txt" '^retry: ' 5
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    limit=$((SSELIGHT_HEARTBEAT_MS / 1000 + 2))
    t_check "after kill -9 of the client its stream process frees the stream within $limit s (log)" \
        wait_line "$SERVER_LOG" "stream: subscriber of $ch closed after id [0-9]*: web server closed" "$limit"
}

# fcgid_spawn_delay: how long a request waits when no stream.fcgi is idle
# (mod_fcgid starts one); reported, not checked.
fcgid_spawn_delay() {
    local ch="fcgid-sd-$$-$RANDOM" pids=() i n
    rm -f "$OUT_DIR/fcgid-spawn.txt"
    n=$(($(procs_of stream.fcgi | wc -l) + 1))
    for i in $(seq 1 "$n"); do
        curl -sN --max-time 1.5 -o /dev/null -w '%{time_starttransfer}\n' "$BASE_URL/events/$ch" \
            >> "$OUT_DIR/fcgid-spawn.txt" &
        pids+=($!)
    done
    wait "${pids[@]}"
    echo "# mod_fcgid: $n streams at once, one more than there were stream.fcgi processes;" \
        "first bytes after (s): $(sort -n "$OUT_DIR/fcgid-spawn.txt" | tr '\n' ' ')"
}

# body_limit MODE: a request body over 128 KiB never reaches a responder:
# proxy-fcgi refuses a declared Content-Length with 413 (mod_rewrite, as
# Apache does not apply LimitRequestBody to proxied requests); mod_fcgid
# answers 500 (FcgidMaxRequestLen), also for a chunked body.
body_limit() {
    local mode=$1 code want log pid
    if [ "$mode" = proxy-fcgi ]; then want=413; log=$OUT_DIR/stream.log; else want=500; log=$SERVER_LOG; fi
    code=$(head -c 200000 /dev/zero | tr '\0' a | curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        --data-binary @- "$BASE_URL/events/bodylimit")
    t_eq "a 200,000-byte POST is $want" "$want" "$code"
    if [ "$mode" = fcgid ]; then
        code=$(head -c 200000 /dev/zero | tr '\0' a | curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            -H 'Transfer-Encoding: chunked' --data-binary @- "$BASE_URL/events/bodylimit")
        t_eq "... and so is a chunked one" "$want" "$code"
    fi
    rm -f "$OUT_DIR/bodylimit.txt"
    curl -sN --max-time 5 -o "$OUT_DIR/bodylimit.txt" "$BASE_URL/events/bodylimit?history=5" &
    pid=$!
    wait_line "$OUT_DIR/bodylimit.txt" '^retry: ' 3 && sleep 0.3 # the history comes with it
    stop_curl "$pid"
    t_check "... from Apache: no responder saw it, nothing was published" \
        bash -c "! grep -q '/events/bodylimit' '$log' && grep -q '^retry:' '$OUT_DIR/bodylimit.txt' &&
                 ! grep -q '^id:' '$OUT_DIR/bodylimit.txt'"
}

# run_setup MODE PREFIX FULL: one Apache with the MODE config under
# PREFIX; FULL=1 runs every check, 0 the routing and the stream checks.
run_setup() {
    local mode=$1 prefix=$2 full=$3 dir origin t0=$SECONDS
    dir=$TMP/$mode${prefix//\//-}
    mkdir -p "$dir/htdocs" "$dir/run" "$dir/data"
    [ "$(id -u)" = 0 ] && chown "$RUN_USER:$RUN_GROUP" "$dir/run" "$dir/data"
    chmod 700 "$dir/run"
    PORT=$(free_port)
    origin="http://127.0.0.1:$PORT"
    BASE_URL="$origin$prefix"
    SERVER_LOG=$OUT_DIR/error-$mode${prefix//\//-}.log
    : > "$SERVER_LOG"
    : > "$OUT_DIR/stream.log"
    : > "$OUT_DIR/page.log"
    DEPLOY_LABEL="apache $mode ${prefix:-/}"
    # Heartbeats well below the 3 s timeouts.
    SSELIGHT_HEARTBEAT_MS=1000
    [ "$BREAK" = heartbeat ] && SSELIGHT_HEARTBEAT_MS=10000
    export SSELIGHT_HEARTBEAT_MS
    DEPLOY_OUT=$OUT_DIR/${mode}${prefix//\//-}
    render "$mode" "$prefix" "$dir"
    if ! "$APACHE" -t -f "$dir/httpd.conf" > "$OUT_DIR/configtest.log" 2>&1; then
        t_fail "apache2 -t accepts the config" "$(tr '\n' ' ' < "$OUT_DIR/configtest.log")"
        return
    fi
    t_pass "apache2 -t accepts the config"
    if [ "$mode" = proxy-fcgi ] && ! start_responders "$dir" "$prefix"; then
        t_fail "both responders listen (spawn-fcgi)" "$(cat "$OUT_DIR/stream.log" "$OUT_DIR/page.log")"
        stop_all "$dir"
        return
    fi
    if ! start_apache "$dir" "$BASE_URL/"; then
        t_fail "Apache starts and serves $BASE_URL/"
        echo "# Apache's error log:"
        sed 's/^/#   /' "$SERVER_LOG" | tail -n 40
        stop_all "$dir"
        return
    fi
    t_pass "Apache starts and serves $BASE_URL/"
    local before_failed=$FAILED

    if [ -n "$prefix" ]; then
        t_check "the page's URLs carry the prefix" \
            grep -q "sse-connect=\"$prefix/sse-stream\"" <(curl -s --max-time 5 "$BASE_URL/")
        t_eq "$prefix redirects to $prefix/" "302 $BASE_URL/" \
            "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 5 "$BASE_URL")"
        t_eq "a path beside the prefix is Apache's 404, not sselight's" 404 \
            "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${BASE_URL}x/")"
    fi
    t_eq "/eventsx goes to the page responder (404 page, HTML)" "404 text/html; charset=utf-8" \
        "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 5 "$BASE_URL/eventsx")"
    t_eq "/sse-stream/more goes to the stream responder (plain 404)" "404 text/plain; charset=utf-8" \
        "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' --max-time 5 "$BASE_URL/sse-stream/more")"
    t_eq "a missing asset is Apache's 404 (static files are Apache's)" 404 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL/assets/none.css")"

    local warm=()
    if [ "$mode" = fcgid ]; then
        # Two more /sse-stream clients beside deploy_check_example1's, so that
        # three stream.fcgi processes are idle when deploy_check_pubsub
        # starts. Otherwise its first publish waits about 1 s for mod_fcgid
        # to start a process (fcgid_spawn_delay shows it), and the stream
        # responder's heartbeat, one timer per process whose phase has
        # nothing to do with when a client subscribed, lands between the
        # subscription and the first event: deploy_check_pubsub compares the
        # stream byte for byte, heartbeats included.
        # They start 0.3 s late: the idle process is example1's.
        for i in 1 2; do
            (sleep 0.3; exec curl -sN --max-time 15 -o /dev/null "$BASE_URL/sse-stream") &
            warm+=($!)
        done
    fi
    deploy_check_example1
    [ ${#warm[@]} -gt 0 ] && wait "${warm[@]}"
    deploy_check_pubsub
    deploy_check_metrics
    if [ "$full" = 1 ]; then
        body_limit "$mode"
        deploy_check_heartbeat "$IDLE_S"
        if [ "$mode" = proxy-fcgi ]; then
            deploy_check_disconnect "$SSELIGHT_HEARTBEAT_MS"
        else
            fcgid_process_model
            fcgid_metrics
            fcgid_disconnect
            fcgid_spawn_delay
        fi
    fi
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$SERVER_LOG" "$OUT_DIR/stream.log" "$OUT_DIR/page.log"; then
        t_fail "no sanitizer reports in the logs"
    fi
    if [ "$FAILED" -gt "$before_failed" ]; then
        echo "# Apache's error log ($SERVER_LOG), last 30 lines:"
        tail -n 30 "$SERVER_LOG" | sed 's/^/#   /'
        if [ "$mode" = proxy-fcgi ]; then
            echo "# responders' logs:"
            tail -n 10 "$OUT_DIR/stream.log" "$OUT_DIR/page.log" | sed 's/^/#   /'
        fi
    fi
    local t1=$SECONDS
    stop_all "$dir"
    echo "# $DEPLOY_LABEL: $((t1 - t0)) s, stop $((SECONDS - t1)) s"
    unset DEPLOY_LABEL DEPLOY_OUT
}

[ -n "$BREAK" ] && echo "# T_DEPLOY_APACHE_BREAK=$BREAK: checks are expected to fail"
echo "# responders from $CGI"
for mode in ${T_DEPLOY_APACHE_ONLY:-proxy-fcgi fcgid}; do
    if prefix_supported; then
        run_setup "$mode" "" 0
        run_setup "$mode" /apps/sse 1
    else
        run_setup "$mode" "" 1
        pass "apache $mode /apps/sse # SKIP the responders do not know SSELIGHT_PREFIX yet"
    fi
done

harness_finish
