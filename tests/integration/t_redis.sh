#!/bin/bash
# The Redis Streams broker (SSELIGHT_BROKER=redis://...) through the real
# lighttpd: two sselight instances (A and B, each its own lighttpd, data dir
# and log) share one redis-server that this test starts on a free port
# (append-only file, fsync always, so a restart keeps what was acknowledged).
#   1. /stats on both: broker kind redis, target 127.0.0.1:PORT/0, connected
#   2. fan-out across instances: 3 subscribers on A and 3 on B, 40 publishes
#      alternating between A and B: each subscriber gets the 40 events once,
#      in publish order, with the same strictly increasing ids; an
#      Idempotency-Key repeated on the other instance answers the same id
#   3. resume on the other instance: a client reads 5 events from A, 10 more
#      are published, it reconnects to B with Last-Event-ID: exactly the 10
#      missed ones, then a live one
#   4. Redis stopped for 3 s while two publishers (one per instance, a key
#      per message, retrying until acknowledged) publish: 503 naming redis,
#      nothing sent during the outage acknowledged, /stats not "connected",
#      open streams keep their heartbeats; after the restart on the same
#      port and dir every subscriber on both instances has every acknowledged
#      message exactly once, in order, and /stats is "connected" again with
#      reconnects >= 1
#   5. a malformed SSELIGHT_BROKER stops the stream responder at start with a
#      "stream: SSELIGHT_BROKER ..." line (through lighttpd: 5xx, no hang;
#      and for three more bad values run directly under spawn-fcgi), while a
#      Redis that is merely down at start is not fatal
# Prints "# numbers: ..." for the outage (publishes, 503s, recovery).
source "$(dirname "$0")/../lib/harness.sh"

export SSELIGHT_HEARTBEAT_MS=500
unset SSELIGHT_DATA_DIR # each instance gets its own (server_start: SERVER_TMP/data)
NODE=$(command -v node)
REDIS_DIR=$(mktemp -d /tmp/sselight-redis.XXXXXX)
REDIS_PORT=""
REDIS_PID=""
BG=()              # background helpers (subscribers, publishers)
INSTANCES=()       # names of started lighttpd instances
declare -A I_URL I_PID I_LOG I_TMP I_PORT SUBPID

cleanup() {
    local p n running
    running=" $(jobs -p | tr '\n' ' ') " # not yet reaped: still ours
    for p in "${BG[@]}"; do
        case "$running" in *" $p "*) kill "$p" 2>/dev/null ;; esac
    done
    for n in "${INSTANCES[@]}"; do
        inst_use "$n"
        [ -n "$SERVER_PID" ] && server_kill_hard >/dev/null 2>&1
    done
    if [ -n "$REDIS_PID" ]; then
        kill -TERM "$REDIS_PID" 2>/dev/null
        [ -n "$(wait_gone 5 "$REDIS_PID")" ] && kill -KILL "$REDIS_PID" 2>/dev/null
    fi
    rm -rf "$REDIS_DIR"
}
trap cleanup EXIT

# --- redis-server: its own dir, loopback, AOF with fsync on every write
redis_start() {
    redis_server_start "$REDIS_PORT" "$OUT_DIR/redis.log" --appendonly yes \
        --appendfsync always --dir "$REDIS_DIR" --unixsocket "$REDIS_DIR/redis.sock"
}
# redis_stop: SIGTERM (a clean shutdown: the AOF is already fsynced); 1 when
# it is still alive 5 s later
redis_stop() {
    kill -TERM "$REDIS_PID" 2>/dev/null
    local left
    left=$(wait_gone 5 "$REDIS_PID")
    wait "$REDIS_PID" 2>/dev/null
    [ -z "$left" ] && REDIS_PID=""
    [ -z "$left" ]
}

# --- several lighttpd instances: server_start sets globals and writes
# $OUT_DIR/lighttpd.log, so each instance gets OUT_DIR/NAME and its globals
# are saved under its name.
inst_start() { # inst_start NAME
    local out=$OUT_DIR rc
    OUT_DIR=$out/$1
    mkdir -p "$OUT_DIR"
    server_start
    rc=$?
    OUT_DIR=$out
    INSTANCES+=("$1")
    I_URL[$1]=$BASE_URL I_PID[$1]=$SERVER_PID I_LOG[$1]=$SERVER_LOG I_TMP[$1]=$SERVER_TMP I_PORT[$1]=$PORT
    return $rc
}
inst_use() { # inst_use NAME: its globals, for server_stop and friends
    BASE_URL=${I_URL[$1]} SERVER_PID=${I_PID[$1]} SERVER_LOG=${I_LOG[$1]}
    SERVER_TMP=${I_TMP[$1]} PORT=${I_PORT[$1]}
}
inst_stop() { # inst_stop NAME: server_stop; 1 when a process is left
    local rc
    inst_use "$1"
    server_stop
    rc=$?
    I_PID[$1]=""
    return $rc
}

# --- small helpers
sub_start() { # sub_start FILE URL [CURL-ARGS...]: a subscriber in the background
    local file=$1 url=$2
    shift 2
    curl -sN --max-time 60 "$@" -o "$file" "$url" &
    BG+=($!)
    SUBPID[$file]=$!
}
sub_stop() { kill "${SUBPID[$1]}" 2>/dev/null; wait "${SUBPID[$1]}" 2>/dev/null; }
# wait_for FILE REGEX SECONDS
wait_for() {
    local i
    for i in $(seq 1 $(($3 * 10))); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
# publish URL CHANNEL DATA [QUERY]: prints the id, or HTTP-CODE:BODY when
# the answer is not 2xx
publish() {
    local out code
    out=$(curl -s --max-time 5 -w '\n%{http_code}' --data-binary "$3" "$1/events/$2${4:+?$4}")
    code=${out##*$'\n'}
    case "$code" in 2??) printf '%s\n' "${out%$'\n'*}" ;; *) printf 'HTTP-%s:%s\n' "$code" "${out%$'\n'*}" ;; esac
}
# events FILE: "ID EVENT DATA" per event of a raw SSE stream (comments and
# retry: skipped; data lines joined with \n)
events() {
    awk '/^id: / { id = substr($0, 5) } /^event: / { ev = substr($0, 8) }
         /^data: / { d = (n++ ? d "\\n" : "") substr($0, 7) }
         /^$/ { if (id != "" || n) print id, ev, d; id = ""; ev = ""; d = ""; n = 0 }' "$1"
}
# increasing: stdin holds one integer per line, strictly increasing
increasing() { awk '!/^[0-9]+$/ || (NR > 1 && $1 + 0 <= prev) { bad = 1 } { prev = $1 + 0 } END { exit bad || NR == 0 }'; }
# broker_stats URL: "kind target live reconnects error" from /stats
broker_stats() {
    curl -s --max-time 5 "$1/stats" | "$NODE" -e '
        let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => {
            try { const b = JSON.parse(s).broker;
                  console.log(b ? [b.kind, b.target, b.live, b.reconnects, JSON.stringify(b.error ?? "")].join(" ") : "no-broker-member"); }
            catch (e) { console.log("unparsable: " + s.slice(0, 80).replace(/\n/g, " ")); } });'
}
# wait_live URL REGEX SECONDS: broker_stats matches REGEX; prints the last answer
wait_live() {
    local i st=""
    for i in $(seq 1 $(($3 * 10))); do
        st=$(broker_stats "$1")
        [[ $st =~ $2 ]] && { echo "$st"; return 0; }
        sleep 0.1
    done
    echo "$st"
    return 1
}
beats() { grep -c '^: heartbeat$' "$1" 2>/dev/null; }

# ---------------------------------------------------------------- set-up
for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { fail "$tool is installed (tools/setup-deps.sh test installs redis-server)"; harness_finish; exit 1; }
done
REDIS_PORT=$(free_port)
redis_start || { fail "redis-server starts on 127.0.0.1:$REDIS_PORT"; harness_finish; exit 1; }
export SSELIGHT_BROKER=redis://127.0.0.1:$REDIS_PORT
for n in A B; do
    inst_start "$n" || { fail "lighttpd $n starts with SSELIGHT_BROKER=$SSELIGHT_BROKER"; harness_finish; exit 1; }
done
A=${I_URL[A]} B=${I_URL[B]}
echo "# redis 127.0.0.1:$REDIS_PORT in $REDIS_DIR; A $A; B $B"

# ---------------------------------------------------------------- 1 /stats
want_stats="^redis 127\\.0\\.0\\.1:$REDIS_PORT/0 connected [0-9]+ "
for n in A B; do
    st=$(wait_live "${I_URL[$n]}" "$want_stats" 3)
    check "/stats on $n: broker kind redis, target 127.0.0.1:$REDIS_PORT/0, connected ($st)" \
        test $? -eq 0
done

# ---------------------------------------------------------------- 2 fan-out
w=$OUT_DIR/fanout
rm -rf "$w"; mkdir -p "$w"
for i in 1 2 3; do
    sub_start "$w/A$i" "$A/events/fan"
    sub_start "$w/B$i" "$B/events/fan"
done
for f in A1 A2 A3 B1 B2 B3; do
    wait_for "$w/$f" '^retry: ' 5 || fail "fan-out: subscriber $f opened its stream"
done
sleep 0.5
: > "$w/expected"
for i in $(seq 1 40); do
    if [ $((i % 2)) = 1 ]; then url=$A name=message q=""; else url=$B name=even q=event=even; fi
    id=$(publish "$url" fan "fan-$i" "$q")
    echo "$id $name fan-$i" >> "$w/expected"
done
last=$(tail -n1 "$w/expected" | cut -d' ' -f1)
check "fan-out: 40 publishes alternating A and B answered ids, strictly increasing ($(head -n1 "$w/expected" | cut -d' ' -f1) ... $last)" \
    increasing < <(cut -d' ' -f1 "$w/expected")
exact=0
for f in A1 A2 A3 B1 B2 B3; do
    wait_for "$w/$f" "^id: $last\$" 10
    sleep 0.2 # an extra event (a duplicate) would show now
    sub_stop "$w/$f"
    events "$w/$f" > "$w/$f.events"
    if cmp -s "$w/expected" "$w/$f.events"; then
        exact=$((exact + 1))
    else
        echo "# fan-out: subscriber $f: $(wc -l < "$w/$f.events") events; first difference:"
        diff "$w/expected" "$w/$f.events" | head -n 4 | sed 's/^/#   /'
    fi
done
expect_eq "fan-out: each of the 6 subscribers (3 on A, 3 on B) got the 40 events once, in publish order, same ids and names" \
    6 "$exact"

# An Idempotency-Key repeated on the other instance: one event, same id.
k1=$(curl -s --max-time 5 -H 'Idempotency-Key: redis-k1' --data-binary once "$A/events/idem")
k2=$(curl -s --max-time 5 -D "$w/idem.head" -H 'Idempotency-Key: redis-k1' --data-binary twice "$B/events/idem")
replayed() { [[ $k1 =~ ^[0-9]+$ ]] && [ "$k1" = "$k2" ] && grep -qi '^Idempotent-Replayed: true' "$w/idem.head"; }
check "idempotency: the key repeated on B answers A's id ($k1 / $k2) with Idempotent-Replayed: true" replayed
curl -sN --max-time 1 -o "$w/idem" "$B/events/idem?lastEventId=0"
expect_eq "idempotency: the channel holds the event once" "$k1 message once" "$(events "$w/idem")"

# ---------------------------------------------------------------- 3 resume
w=$OUT_DIR/resume
rm -rf "$w"; mkdir -p "$w"
sub_start "$w/first" "$A/events/resume"
wait_for "$w/first" '^retry: ' 5
sleep 0.5
: > "$w/expected"
for i in $(seq 1 5); do
    if [ $((i % 2)) = 1 ]; then url=$A; else url=$B; fi
    id=$(publish "$url" resume "r-$i")
    echo "$id message r-$i" >> "$w/expected"
done
wait_for "$w/first" "^id: $id\$" 5
sub_stop "$w/first"
events "$w/first" > "$w/first.events"
expect_eq "resume: the client on A read the first 5 events" "$(cat "$w/expected")" "$(cat "$w/first.events")"
seen=$(tail -n1 "$w/first.events" | cut -d' ' -f1)
: > "$w/expected"
for i in $(seq 6 15); do
    if [ $((i % 2)) = 1 ]; then url=$A; else url=$B; fi
    id=$(publish "$url" resume "r-$i")
    echo "$id message r-$i" >> "$w/expected"
done
sub_start "$w/second" "$B/events/resume" -H "Last-Event-ID: ${seen:-0}"
wait_for "$w/second" "^id: $id\$" 5
id=$(publish "$A" resume "r-live")
echo "$id message r-live" >> "$w/expected"
wait_for "$w/second" "^id: $id\$" 5
sleep 0.2
sub_stop "$w/second"
events "$w/second" > "$w/second.events"
expect_eq "resume: on B with Last-Event-ID $seen (from A): exactly the 10 missed events, then the live one" \
    "$(cat "$w/expected")" "$(cat "$w/second.events")"

# The same Redis through its unix socket (unix:///PATH?db=0): instance U
# publishes, a subscriber on A gets the event with U's id.
SSELIGHT_BROKER="unix://$REDIS_DIR/redis.sock?db=0" inst_start U ||
    fail "lighttpd U starts with SSELIGHT_BROKER=unix://$REDIS_DIR/redis.sock?db=0"
sub_start "$w/unix" "$A/events/unix"
wait_for "$w/unix" '^retry: ' 5
sleep 0.5
id=$(publish "${I_URL[U]}" unix "via-unix")
[[ $id =~ ^[0-9]+$ ]] && wait_for "$w/unix" "^id: $id\$" 5
sub_stop "$w/unix"
expect_eq "unix socket: a publish through U (/stats: $(broker_stats "${I_URL[U]}")) reaches a subscriber on A" \
    "$id message via-unix" "$(events "$w/unix")"
check "lighttpd U stops with nothing left" inst_stop U

# ---------------------------------------------------------------- 4 outage
w=$OUT_DIR/outage
rm -rf "$w"; mkdir -p "$w"
SUBS="A1 A2 B1 B2"
for s in $SUBS; do
    if [ "${s:0:1}" = A ]; then url=$A; else url=$B; fi
    sub_start "$w/$s" "$url/events/outage"
done
for s in $SUBS; do wait_for "$w/$s" '^retry: ' 5 || fail "outage: subscriber $s opened its stream"; done
sleep 0.5
PUBS=()
for n in A B; do
    BASE_URL=${I_URL[$n]} timeout 60 "$NODE" "$ROOT/tests/lib/fault-publisher.mjs" \
        --mode events --channel outage --count 100 --rate 20 --prefix "$n-" \
        --progress "$w/pub$n.progress" --timeout-ms 50000 > "$w/pub$n.out" 2>&1 &
    PUBS+=($!); BG+=($!)
done
wait_for "$w/pubA.progress" '^ack 30 ' 10
wait_for "$w/pubB.progress" '^ack 30 ' 10
check "outage: redis-server stops (SIGTERM) while both publishers are at message 30+" redis_stop
t_down=$EPOCHREALTIME
for s in $SUBS; do eval "beats0_$s=$(beats "$w/$s")"; done

# A publish now: 503 with a one-line plain-text reason that names redis.
code=$(curl -s -o "$w/probe.body" -D "$w/probe.head" -w '%{http_code}' --max-time 5 \
    --data-binary probe "$A/events/probe")
refused() { [ "$code" = 503 ] && grep -qi redis "$w/probe.body" && grep -qi '^Content-Type: text/plain' "$w/probe.head"; }
check "outage: a publish answers 503 with a plain-text reason naming redis (answer $code: $(head -c 100 "$w/probe.body"))" refused
for n in A B; do
    st=$(wait_live "${I_URL[$n]}" '^redis [^ ]+ (connecting|down) ' 2)
    check "outage: /stats on $n says the broker is not connected ($st)" test $? -eq 0
done
# A Redis that is down when an instance starts is not fatal: D starts now.
inst_start D
check "outage: lighttpd D starts while Redis is down, its responders stay up (stream.fcgi: $(inst_use D; server_procs stream.fcgi | tr '\n' ' '))" \
    test -n "$(inst_use D; server_procs stream.fcgi)"
sleep "$(awk -v t="$t_down" -v now="$EPOCHREALTIME" 'BEGIN { d = t + 3 - now; print (d > 0 ? d : 0) }')"
ok=0 msg=""
for s in $SUBS; do
    b0="beats0_$s"
    b=$(( $(beats "$w/$s") - ${!b0} ))
    msg="$msg $s:$b"
    alive "${SUBPID[$w/$s]}" && [ "$b" -ge 3 ] && ok=$((ok + 1))
done
expect_eq "outage: all 4 streams stay open and get heartbeats during the 3 s (new heartbeats per stream:$msg)" 4 "$ok"
t_up=$EPOCHREALTIME
check "outage: redis-server restarts on the same port and dir" redis_start
t_back=$EPOCHREALTIME

ok=0
for i in "${!PUBS[@]}"; do wait "${PUBS[$i]}" && ok=$((ok + 1)); done
sed -n 's/^# /# outage: /p' "$w/pubA.out" "$w/pubB.out"
expect_eq "outage: both publishers got every one of their 100 messages acknowledged (retrying with the same key)" 2 "$ok"
n503=$(cat "$w/pubA.progress" "$w/pubB.progress" | awk '$1 == "retry" && $3 == "503"' | wc -l)
nretry=$(cat "$w/pubA.progress" "$w/pubB.progress" | awk '$1 == "retry"' | wc -l)
check "outage: the publishers met the outage: answers 503 ($n503 of $nretry retries)" test "$n503" -ge 1
# An acknowledgement for a request sent after Redis was gone and answered
# before it was back cannot have been stored in Redis.
early=$(cat "$w/pubA.progress" "$w/pubB.progress" |
    awk -v d="$t_down" -v u="$t_up" '$1 == "ack" && $6 > d && $5 < u { printf " %s(id %s)", $2, $3 }')
expect_eq "outage: nothing sent while Redis was down was acknowledged before it was back" "" "$early"

# Every acknowledged message, in id order: what each subscriber must hold.
for n in A B; do
    awk -v p="$n-" '$1 == "ack" { printf "%s message %s%04d\n", $3, p, $2 }' "$w/pub$n.progress"
done | sort -n > "$w/expected"
last=$(tail -n1 "$w/expected" | cut -d' ' -f1)
exact=0
for s in $SUBS; do
    wait_for "$w/$s" "^id: $last\$" 10
    sleep 0.2
    sub_stop "$w/$s"
    events "$w/$s" > "$w/$s.events"
    if cmp -s "$w/expected" "$w/$s.events"; then
        exact=$((exact + 1))
    else
        echo "# outage: subscriber $s: $(wc -l < "$w/$s.events") events of $(wc -l < "$w/expected"); first difference:"
        diff "$w/expected" "$w/$s.events" | head -n 4 | sed 's/^/#   /'
    fi
done
expect_eq "outage: each of the 4 subscribers (2 on A, 2 on B) has all $(wc -l < "$w/expected") acknowledged messages once, in order, same ids" \
    4 "$exact"
# Reconnect backoff is at most 2 s; the publishers retry every 0.1-0.2 s.
for n in A B; do
    d=$(awk -v u="$t_up" -v b="$t_back" '$1 == "ack" && $5 > u { printf "%.2f", $5 - b; exit }' "$w/pub$n.progress")
    check "outage: publishing through $n works again ${d:-never} s after Redis answers (backoff at most 2 s)" \
        awk -v d="${d:-99}" 'BEGIN { exit !(d <= 3) }'
done
for n in A B; do
    st=$(wait_live "${I_URL[$n]}" '^redis [^ ]+ connected [1-9][0-9]* ' 5)
    check "outage: /stats on $n: connected again, reconnects >= 1 ($st)" test $? -eq 0
done
st=$(wait_live "${I_URL[D]}" '^redis [^ ]+ connected ' 5)
id=$(publish "${I_URL[D]}" late "from-D")
curl -sN --max-time 1 -o "$w/late" "$A/events/late?lastEventId=0"
expect_eq "outage: D, started while Redis was down, connects ($st) and its publish is stored" \
    "$id message from-D" "$(events "$w/late")"
check "lighttpd D stops with nothing left" inst_stop D
echo "# numbers: outage: published 200 over A and B, acknowledged $(wc -l < "$w/expected"); 503 answers $n503, retries $nretry; Redis down $(awk -v d="$t_down" -v u="$t_up" 'BEGIN { printf "%.2f", u - d }') s; subscribers exact $exact/4"

# ---------------------------------------------------------------- 5 bad SSELIGHT_BROKER
# Through lighttpd: the stream responder refuses to start. lighttpd then
# either stops at start ("spawning gw failed", when it sees the child exit
# while it waits for it) or keeps running and answers 5xx for the stream
# routes; both are a clear failure, and the log has the reason.
export SSELIGHT_BROKER=redis://127.0.0.1:notaport
if inst_start C 2>/dev/null; then
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${I_URL[C]}/events/x")
else
    code="lighttpd stopped at start"
fi
check "bad SSELIGHT_BROKER ($SSELIGHT_BROKER): lighttpd refuses to start or /events/x answers 5xx, no hang (answer $code)" \
    test "${code:0:1}" = 5 -o "$code" = "lighttpd stopped at start"
inst_use C
wait_for_log '^stream: SSELIGHT_BROKER' 3
line=$(grep -m1 '^stream: SSELIGHT_BROKER' "$SERVER_LOG")
check "... and lighttpd's log has 'stream: SSELIGHT_BROKER ...' naming the port (${line:-no such line})" \
    grep -qi port <<< "$line"
check "lighttpd C stops with nothing left" inst_stop C

# The stream responder alone (spawn-fcgi -n: the socket on fd 0, as lighttpd
# gives it): more bad values exit at start with the reason; a Redis that is
# down (nothing listens on the port) is not a reason to exit.
SPAWN_FCGI=$(command -v spawn-fcgi)
if [ -n "$SPAWN_FCGI" ]; then
    w=$OUT_DIR/direct
    rm -rf "$w"; mkdir -p "$w/data"
    # direct VALUE: runs stream.fcgi with SSELIGHT_BROKER=VALUE for at most
    # 2 s; prints "exited RC" or "running"; its stderr in $w/err
    direct() {
        rm -f "$w/sock"
        SSELIGHT_BROKER=$1 SSELIGHT_DATA_DIR=$w/data "$SPAWN_FCGI" -n -s "$w/sock" -- \
            "${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}/stream.fcgi" >/dev/null 2>"$w/err" &
        local p=$!
        if [ -n "$(wait_gone 2 "$p")" ]; then
            echo running
            kill -TERM "$p"
            [ -n "$(wait_gone 3 "$p")" ] && kill -KILL "$p"
            wait "$p" 2>/dev/null
        else
            wait "$p"
            echo "exited $?"
        fi
    }
    for bad in 'redis://' 'redis://127.0.0.1:notaport' 'mysql://x'; do
        r=$(direct "$bad")
        refused_start() { [ "${r%% *}" = exited ] && [ "$r" != "exited 0" ] && grep -q '^stream: SSELIGHT_BROKER' "$w/err"; }
        check "stream.fcgi with SSELIGHT_BROKER=$bad exits at start with 'stream: SSELIGHT_BROKER ...' on stderr ($r: $(head -n1 "$w/err"))" \
            refused_start
    done
    down=$(free_port)
    r=$(direct "redis://127.0.0.1:$down")
    expect_eq "stream.fcgi with a Redis that is down (127.0.0.1:$down) keeps running (it retries)" running "$r"
else
    pass "bad SSELIGHT_BROKER values run directly # SKIP spawn-fcgi is not installed"
fi

# ---------------------------------------------------------------- the end
for n in A B; do
    check "lighttpd $n stops with nothing left" inst_stop "$n"
done
check "redis-server stops with nothing left" redis_stop
# harness_finish looks for sanitizer reports in one server log: all of them.
for n in "${INSTANCES[@]}"; do cat "${I_LOG[$n]}"; done > "$OUT_DIR/lighttpd.log" 2>/dev/null
SERVER_LOG=$OUT_DIR/lighttpd.log SERVER_PID=""
harness_finish
