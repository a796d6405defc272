#!/bin/bash
# Faults through the real lighttpd: nothing acknowledged is lost, and every
# subscriber ends with every message exactly once, in order.
#   1. kill -9 of the stream responder during 200 publishes to 100 resuming
#      subscribers (the publisher retries with the same Idempotency-Key),
#      then a second crash exactly between a commit and its answer
#   2. the same with the page responders during 200 room posts (form key)
#   3. acknowledged means durable: kill -9 right after the answer, kill -9
#      of the whole server; and an answer lost after the commit (the
#      responder killed at its first send after the commit): the retry with
#      the same key gets the stored id, nothing is stored twice
#   4. a data dir that cannot be written (read-only) and a full one (tmpfs):
#      503 with a reason, subscribers stay connected, then it works again
#   5. lighttpd itself restarted on the same port and data dir mid-stream
# Each scenario prints "# numbers: ..." (published, received per client,
# duplicates, recovery time, restarts observed).
# T_FAULTS_KEYS=per-attempt (or none) makes the publisher of 1, 2 and 5
# change its idempotency key on a retry: 1 and 2 must then fail.
source "$(dirname "$0")/../lib/harness.sh"

export SSELIGHT_HEARTBEAT_MS=500
NODE=$(command -v node)
MNT=""
BG=()          # background helpers (clients, publishers, watchers, strace)
DATA_DIRS=()

cleanup() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    if [ -n "$SERVER_PID" ]; then server_kill_hard >/dev/null 2>&1; fi
    if [ -n "$MNT" ]; then
        umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
        rmdir "$MNT" 2>/dev/null
    fi
    for p in "${DATA_DIRS[@]}"; do rm -rf "$p"; done
}
trap cleanup EXIT

new_data_dir() {
    SSELIGHT_DATA_DIR=$(mktemp -d /tmp/sselight-d.XXXXXX)
    export SSELIGHT_DATA_DIR
    DATA_DIRS+=("$SSELIGHT_DATA_DIR")
}
# Every server_start empties lighttpd.log: keep_log NAME saves this
# server's log (for the sanitizer check at the end, and for reading).
KEPT_LOGS=()
keep_log() {
    cp "$SERVER_LOG" "$OUT_DIR/lighttpd-$1.log" 2>/dev/null && KEPT_LOGS+=("$OUT_DIR/lighttpd-$1.log")
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# expect_list FILE PREFIX COUNT: PREFIX0001 ... one per line
expect_list() { local i; for i in $(seq 1 "$3"); do printf '%s%04d\n' "$2" "$i"; done > "$1"; }
# watch_procs NAME FILE: every 0.1 s a line "EPOCH PID...", until killed
watch_procs() {
    while :; do echo "$EPOCHREALTIME $(server_procs "$1" | tr '\n' ' ')"; sleep 0.1; done > "$2"
}
# new_pids FILE "OLD PIDS": pids seen in FILE that are not OLD, in order
new_pids() {
    awk -v old=" $2 " '{ for (i = 2; i <= NF; i++) if (index(old, " " $i " ") == 0 && !($i in s)) { s[$i]; printf "%s ", $i } }' "$1"
}
# first_seen FILE PID: EPOCH of the first sample that has PID
first_seen() { awk -v p="$2" '{ for (i = 2; i <= NF; i++) if ($i == p) { print $1; exit } }' "$1"; }
# wait_new NAME "OLD PIDS" SECONDS: a NAME process that is not one of OLD
wait_new() {
    local i p
    for i in $(seq 1 $(($3 * 10))); do
        for p in $(server_procs "$1"); do
            case " $2 " in *" $p "*) ;; *) return 0 ;; esac
        done
        sleep 0.1
    done
    return 1
}
# wait_traced PID...: each has a tracer (strace attached; from then on it
# sees every system call), at most 5 s
wait_traced() {
    local i p n
    for i in $(seq 1 50); do
        n=0
        for p in "$@"; do
            [ "$(awk '/^TracerPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" != 0 ] && n=$((n + 1))
        done
        [ "$n" -eq $# ] && return 0
        sleep 0.1
    done
    return 1
}
wait_file() { local i; for i in $(seq 1 $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
# ids_after URL LAST_ID SECONDS: "id data" lines a fresh subscriber gets
# after LAST_ID within SECONDS
ids_after() {
    curl -sN --max-time "$3" -H "Last-Event-ID: $2" "$1" |
        awk '/^id: / { id = $2 } /^data: / { d = substr($0, 7) } /^$/ { if (id != "") print id, d; id = ""; d = "" }'
}
# numbers NAME DIR RESTARTS: the scenario's numbers from the publisher's and
# the clients' output
numbers() {
    "$NODE" -e '
        const fs = require("fs");
        const [dir, name, restarts] = process.argv.slice(1);
        const r = JSON.parse(fs.readFileSync(dir + "/report.json", "utf8"));
        const pub = fs.readFileSync(dir + "/pub.out", "utf8");
        const m = /acknowledged (\d+)\/(\d+).*attempts (\d+), retries (\d+)/.exec(pub) || [];
        const recv = r.clients.map((c) => c.received);
        const dups = r.clients.reduce((a, c) => a + c.duplicates, 0);
        const miss = r.clients.reduce((a, c) => a + c.missing, 0);
        const exact = r.clients.filter((c) => c.exact).length;
        const fmt = (x) => x === null ? "none" : (x / 1000).toFixed(2);
        // The publisher: the first 200 to a request sent after each mark.
        let prog = [];
        try { prog = fs.readFileSync(dir + "/progress", "utf8").split("\n").map((l) => l.split(" ")); } catch (e) {}
        const firstAck = (t) => { const a = prog.find((p) => p[0] === "ack" && Number(p[5]) * 1000 >= t); return a ? Number(a[4]) * 1000 - t : null; };
        const rec = r.marks.map((k) => `${k.name} -> next publish acknowledged ${fmt(firstAck(k.t))} s; ` +
            (k.reopened > 0
                ? `${k.reopened} clients reopened their stream in ${fmt(k.reopen.min)}-${fmt(k.reopen.max)} s, first event on it ${fmt(k.firstEvent.min)}-${fmt(k.firstEvent.max)} s`
                : `streams stayed open, next event ${fmt(k.anyEvent.min)}-${fmt(k.anyEvent.max)} s`)).join("; ");
        console.log(`# numbers: ${name}: published ${m[2]} (acknowledged ${m[1]}, ${m[3]} attempts, ${m[4]} retries); ${r.clients.length} clients, received per client min ${Math.min(...recv)} max ${Math.max(...recv)}; exact ${exact}/${r.clients.length}; duplicates ${dups}; missing ${miss}; recovery: ${rec || "n/a"}; restarts observed ${restarts}`);
    ' "$2" "$1" "$3"
}

# kill_during_traffic NAME MODE CHANNEL PROCNAME DELAY TOKEN_RE: 100
# resuming subscribers of CHANNEL, 200 messages at 40/s (MODE events or
# room) with a key each, retried until 200. Two crashes of every PROCNAME
# process:
#   - kill -9 DELAY ms after the request of message 80 is sent (0: at once),
#     wherever that lands;
#   - from message 140 on, SIGKILL at the exact point after a commit and
#     before its answer (strace kills the responder as it opens the socket
#     for the wake-up datagram that follows every commit): the publisher
#     gets an error for a stored message and retries it with the same key.
kill_during_traffic() {
    local name=$1 mode=$2 channel=$3 proc=$4 delay=$5 token_re=$6
    local w=$OUT_DIR/$name cpid ppid wpid old old2="" new t_kill t_new restarts i p
    rm -rf "$w"; mkdir -p "$w"
    expect_list "$w/expect" "$name-" 200
    BASE_URL=$BASE_URL timeout 100 "$NODE" "$ROOT/tests/lib/resume-client.mjs" \
        --clients 100 --channel "$channel" --expect "$w/expect" ${token_re:+--token-re "$token_re"} \
        --ready "$w/ready" --done "$w/done" --marks "$w/marks" --report "$w/report.json" \
        --settle-ms 15000 --timeout-ms 90000 > "$w/client.out" 2>&1 &
    cpid=$!; BG+=("$cpid")
    wait_file "$w/ready" 20 || fail "$name: 100 subscribers connected within 20 s"
    old=$(server_procs "$proc" | tr '\n' ' ')
    watch_procs "$proc" "$w/pids" &
    wpid=$!; BG+=("$wpid")
    BASE_URL=$BASE_URL timeout 100 "$NODE" "$ROOT/tests/lib/fault-publisher.mjs" \
        --mode "$mode" --channel "$channel" --count 200 --rate "${T_FAULTS_RATE:-40}" --prefix "$name-" --keys "${T_FAULTS_KEYS:-per-message}" \
        --progress "$w/progress" --kill-at 80 --kill-delay-ms "$delay" --kill-pids "$old" --marks "$w/marks" \
        --timeout-ms 90000 > "$w/pub.out" 2>&1 &
    ppid=$!; BG+=("$ppid")
    if command -v strace >/dev/null; then
        for i in $(seq 1 300); do grep -q '^ack 140 ' "$w/progress" 2>/dev/null && break; sleep 0.05; done
        old2=$(server_procs "$proc" | tr '\n' ' ')
        local st=()
        for p in $old2; do
            strace -qq -f -p "$p" -e trace=socket -e inject=socket:signal=KILL:when=1 -o /dev/null 2>/dev/null &
            st+=($!); BG+=($!)
        done
        wait_traced $old2 || echo "# $name: strace did not attach to $old2"
        # Until a publish fails after message 140 (at most 10 s).
        for i in $(seq 1 200); do
            awk '$1 == "retry" && $2 > 140 { f = 1 } END { exit !f }' "$w/progress" && break
            sleep 0.05
        done
        for p in "${st[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        local t2
        t2=$(awk '$1 == "retry" && $2 > 140 { print $4; exit }' "$w/progress")
        [ -n "$t2" ] && echo "kill-after-commit $t2" >> "$w/marks"
        local lost
        lost=$(awk '$1 == "retry" && $2 > 140 { print $2 ": " $3; exit }' "$w/progress")
        check "$name: a responder killed after a commit lost a publish's answer (message ${lost:-none})" \
            test -n "$lost"
    fi
    wait "$ppid"
    check "$name: the publisher got 200 for all 200 messages (retrying with the same key)" \
        test $? -eq 0
    touch "$w/done"
    wait "$cpid"
    local crc=$?
    sed -n '/^# /p' "$w/pub.out" "$w/client.out"
    check "$name: 100 clients each got all 200 messages exactly once, in order" test "$crc" -eq 0
    kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
    t_kill=$(awk '$1 == "kill" { print $2; exit }' "$w/marks" 2>/dev/null)
    new=$(new_pids "$w/pids" "$old")
    restarts=$(wc -w <<< "$new")
    local gone=yes
    for p in $old; do alive "$p" && gone=no; done
    expect_eq "$name: the killed $proc ($old) is gone" yes "$gone"
    local after80=$new
    [ -n "$old2" ] && after80=$(new_pids "$w/pids" "$old $old2")
    check "$name: lighttpd started a new $proc after each crash (new pids: ${new:-none})" \
        test -n "$(new_pids "$w/pids" "$old")" -a -n "$after80"
    now=$(server_procs "$proc" | tr '\n' ' ')
    expect_eq "$name: as many $proc processes run as before the kills" "$(wc -w <<< "$old")" "$(wc -w <<< "$now")"
    if [ -n "$new" ] && [ -n "$t_kill" ]; then
        t_new=$(first_seen "$w/pids" "${new%% *}")
        echo "# $name: kill -9 of $old at $t_kill; next $proc ${new%% *} seen $(elapsed "$t_kill" "$t_new") s later; all new pids: $new"
    fi
    numbers "$name" "$w" "$restarts"
}

# ---------------------------------------------------------------- 1 and 2
new_data_dir
server_start || { fail "lighttpd starts"; harness_finish; exit 1; }
# The stream responder answers a publish in well under 1 ms: killed as
# message 80 is sent, the request meets a dead or restarting responder.
# libfcgi is slower: 1 ms after the send, the post is usually in flight.
kill_during_traffic kill-stream events faults stream.fcgi 0 ""
kill_during_traffic kill-page room room index.fcgi 1 '<span>([^<]*)</span>'
# The store holds each message once (a subscriber from the start reads it).
stored=$(ids_after "$BASE_URL/events/faults" 0 2 | awk '{ print $2 }' | sort | uniq -d | wc -l)
expect_eq "kill-stream: no message is stored twice" 0 "$stored"
stored=$(ids_after "$BASE_URL/events/faults" 0 2 | wc -l)
expect_eq "kill-stream: the channel holds exactly the 200 messages" 200 "$stored"
stored=$(ids_after "$BASE_URL/events/room" 0 2 | grep -o 'kill-page-[0-9]*' | sort | uniq -c | awk '$1 == 1' | wc -l)
expect_eq "kill-page: the room holds each of the 200 posts exactly once" 200 "$stored"
server_stop
keep_log kill

# ---------------------------------------------------------------- 3
# Acknowledged means durable: every answer with an id is followed at once by
# kill -9 of the stream responder; a room post by kill -9 of the page
# responders; the last publish by kill -9 of lighttpd and all its processes.
new_data_dir
server_start || fail "lighttpd starts (durability)"
acked=()
ok_kills=0
for k in 1 2 3 4 5; do
    id=$(curl -s --max-time 5 -H "Idempotency-Key: dur-$k" --data-binary "durable-$k" "$BASE_URL/events/dur")
    sp=$(server_procs stream.fcgi | tr '\n' ' ')
    kill -KILL $sp 2>/dev/null
    acked+=("$id durable-$k")
    wait_new stream.fcgi "$sp" 5 && ok_kills=$((ok_kills + 1))
done
expect_eq "durability: 5 publishes, each followed by kill -9 of the stream responder, which lighttpd restarts" 5 "$ok_kills"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --data-urlencode 'text=durable-room' \
    --data-urlencode 'key=dur-room' "$BASE_URL/room/messages")
ip=$(server_procs index.fcgi | tr '\n' ' ')
kill -KILL $ip 2>/dev/null
expect_eq "durability: a room post answered 200, then kill -9 of the page responders" 200 "$code"
wait_new index.fcgi "$ip" 5 || fail "durability: lighttpd restarts the page responders"
id=$(curl -s --max-time 5 -H 'Idempotency-Key: dur-last' --data-binary 'durable-last' "$BASE_URL/events/dur")
server_kill_hard
keep_log durability-1
acked+=("$id durable-last")
check "durability: the last publish answered an id before kill -9 of the whole server" \
    test -n "${id//[!0-9]/}"
server_start || fail "lighttpd starts again on the same data dir"
first=${acked[0]%% *}
want=$(printf '%s\n' "${acked[@]}")
got=$(ids_after "$BASE_URL/events/dur" $((first - 1)) 1.5)
expect_eq "durability: every acknowledged event is there after the crashes, once, in order" "$want" "$got"
got=$(ids_after "$BASE_URL/events/dur" $((id - 1)) 1)
expect_eq "durability: Last-Event-ID: id-1 gives the event acknowledged just before kill -9 of everything" \
    "$id durable-last" "$got"
check "durability: the room post acknowledged before the kill is in the room" \
    bash -c "curl -sN --max-time 1 '$BASE_URL/events/room?lastEventId=0' | grep -q '<span>durable-room</span>'"

# An answer lost after the commit: strace kills the responder at its first
# send, in any of its threads (the wake-up datagram that follows the
# commit, or the answer; the page responder posts from its room thread). The
# publisher retries with the same key and must get the stored id; the
# event must be stored once.
if command -v strace >/dev/null; then
    # lost_answer NAME PROC URL CHANNEL DATA CURL-ARGS...: prints what it saw
    lost_answer() {
        local name=$1 proc=$2 url=$3 channel=$4 data=$5
        shift 5
        local before pids p spids=() i code1 code2 code3 id2 id3 got
        before=$(ids_after "$BASE_URL/events/$channel" 0 0.7 | tail -n1 | cut -d' ' -f1)
        # No stream may be open on the responder: its heartbeat would be the
        # first send. A subscriber that has gone is freed at its next
        # heartbeat (0.5 s).
        for i in $(seq 1 30); do
            [ "$(curl -s --max-time 2 "$BASE_URL/stats" | grep -o '"subscribers":[0-9]*' | cut -d: -f2)" = 0 ] && break
            sleep 0.1
        done
        pids=$(server_procs "$proc" | tr '\n' ' ')
        for p in $pids; do
            strace -qq -f -p "$p" -e trace=sendto -e inject=sendto:signal=KILL:when=1 \
                -o /dev/null 2>"$OUT_DIR/strace-$name-$p.err" &
            spids+=($!); BG+=($!)
        done
        wait_traced $pids || echo "# $name: strace did not attach to $pids"
        code1=$(curl -s -o "$OUT_DIR/$name.1" -w '%{http_code}' --max-time 5 "$@" "$url")
        local killed=no
        for p in $pids; do alive "$p" || killed=yes; done
        for p in "${spids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
        expect_eq "$name: the responder died at its first send" yes "$killed"
        check "$name: ... during the publish, whose answer was lost (first answer: $code1, not 200)" \
            test "$code1" != 200
        wait_new "$proc" "$pids" 5 || fail "$name: lighttpd restarts $proc"
        got=$(ids_after "$BASE_URL/events/$channel" "${before:-0}" 1)
        check "$name: the event was committed before the crash (stored once: $(wc -l <<< "$got") event(s))" \
            test "$(grep -c -- "$data" <<< "$got")" = 1
        code2=$(curl -s -o "$OUT_DIR/$name.2" -D "$OUT_DIR/$name.2h" -w '%{http_code}' --max-time 5 "$@" "$url")
        code3=$(curl -s -o "$OUT_DIR/$name.3" -w '%{http_code}' --max-time 5 "$@" "$url")
        expect_eq "$name: the retry with the same key answers 200, then again 200" "200 200" "$code2 $code3"
        if [ "$proc" = stream.fcgi ]; then
            expect_eq "$name: ... with the id that was stored (both times)" \
                "$(cut -d' ' -f1 <<< "$got") $(cut -d' ' -f1 <<< "$got")" \
                "$(tr -d '\r\n' < "$OUT_DIR/$name.2") $(tr -d '\r\n' < "$OUT_DIR/$name.3")"
            echo "# $name: retry header: $(grep -i '^Idempotent-Replayed' "$OUT_DIR/$name.2h" | tr -d '\r' || echo none)"
        fi
        got=$(ids_after "$BASE_URL/events/$channel" "${before:-0}" 1)
        expect_eq "$name: after the retries the event is stored exactly once" 1 "$(grep -c -- "$data" <<< "$got")"
        expect_eq "$name: ... and nothing else was stored" 1 "$(wc -l <<< "$got")"
    }
    lost_answer lost-answer-stream stream.fcgi "$BASE_URL/events/lost" lost "lost-answer-1" \
        -H 'Idempotency-Key: lost-1' --data-binary 'lost-answer-1'
    lost_answer lost-answer-room index.fcgi "$BASE_URL/room/messages" room "lost-answer-room" \
        --data-urlencode 'text=lost-answer-room' --data-urlencode 'key=lost-room'
else
    pass "lost answer after commit # SKIP strace is not installed"
fi
server_stop
keep_log durability-2

# ---------------------------------------------------------------- 4
# A data dir that cannot be written, then a full one, on a 2 MiB tmpfs
# (root only; otherwise a plain dir, and the full case is skipped).
# disk_case DATA_DIR
disk_case() {
    local w=$OUT_DIR/disk sub subpid sp code body n i acked=() beats0 beats1 how
    mkdir -p "$w"
    export SSELIGHT_DATA_DIR=$1
    server_start || { fail "lighttpd starts on the data dir $1"; return; }
    publish_disk() { # publish_disk DATA: sets code and body
        code=$(curl -s -o "$w/pub.body" -w '%{http_code}' --max-time 5 --data-binary "$1" "$BASE_URL/events/disk")
        body=$(cat "$w/pub.body")
    }
    curl -sN --max-time 60 -o "$w/sub.txt" "$BASE_URL/events/disk" &
    subpid=$!; BG+=("$subpid")
    sleep 0.5
    for i in 1 2; do publish_disk "disk-$i"; [ "$code" = 200 ] && acked+=("$body disk-$i"); done
    expect_eq "disk: two publishes on the data dir" 2 "${#acked[@]}"
    sp=$(server_procs stream.fcgi)

    # Read-only. The kernel refuses remount,ro while a file is open for
    # writing (the broker keeps broker.db open: EBUSY), and chmod changes
    # nothing for files already open, so when remount fails the responder's
    # disk writes fail with EROFS through strace instead.
    local ro_undo=""
    if [ -n "$MNT" ] && mount -o remount,ro "$MNT" 2>"$w/remount.err"; then
        how="remount,ro"; ro_undo="mount -o remount,rw $MNT"
    elif command -v strace >/dev/null; then
        how="EROFS injected by strace into the responder's disk writes (remount,ro: $(head -n1 "$w/remount.err" 2>/dev/null | sed 's/^mount: //'))"
        strace -qq -f -p "$sp" -e trace=pwrite64,pwritev,pwritev2,ftruncate,fallocate,fsync,fdatasync \
            -e inject=pwrite64,pwritev,pwritev2,ftruncate,fallocate,fsync,fdatasync:error=EROFS \
            -o /dev/null &
        local st=$!; BG+=("$st")
        wait_traced "$sp" || echo "# strace did not attach to $sp"
        ro_undo="kill $st"
    fi
    if [ -n "$ro_undo" ]; then
        echo "# read-only: $how"
        n=$(wc -l < "$SERVER_LOG")
        beats0=$(grep -c '^: heartbeat' "$w/sub.txt")
        publish_disk "disk-ro"
        expect_eq "read-only data dir: publish answers 503" 503 "$code"
        expect_eq "... with a one-line reason ($body)" 1 "$(printf '%s\n' "$body" | grep -c .)"
        check "... and a log line" bash -c "sleep 0.3; tail -n +$((n + 1)) '$SERVER_LOG' | grep -q 'stream: 503 for POST /events/disk'"
        echo "# read-only: log: $(tail -n +$((n + 1)) "$SERVER_LOG" | grep -m1 'failed')"
        sleep 1.2
        beats1=$(grep -c '^: heartbeat' "$w/sub.txt")
        check "... the open subscriber gets heartbeats meanwhile ($((beats1 - beats0)) in 1.2 s) and stays connected" \
            bash -c "[ $((beats1 - beats0)) -ge 2 ] && kill -0 $subpid"
        $ro_undo
        [ "${ro_undo%% *}" = kill ] && { wait "${ro_undo#kill }" 2>/dev/null; sleep 0.3; }
        publish_disk "disk-3"
        expect_eq "writable again: publish answers 200" 200 "$code"
        [ "$code" = 200 ] && acked+=("$body disk-3")
        expect_eq "... from the same stream responder (no crash)" "$sp" "$(server_procs stream.fcgi)"
    else
        pass "read-only data dir # SKIP cannot remount read-only and strace is not installed"
    fi

    # Full: fill the tmpfs, then publish until the broker must grow a file.
    if [ -z "$MNT" ]; then
        pass "full data dir # SKIP not root or no tmpfs mount"
    else
        n=$(wc -l < "$SERVER_LOG")
        dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
        dd if=/dev/zero of="$MNT/filler2" bs=4k 2>/dev/null
        echo "# full: $(df -k "$MNT" | awk 'NR == 2 { print $4 " KiB free of " $2 }')"
        local codes="" got503=no other=no
        local pad d
        pad=$(head -c 2000 /dev/zero | tr '\0' x)
        for i in $(seq 1 40); do
            d="disk-full-$i-$pad"
            publish_disk "$d"
            codes="$codes $code"
            if [ "$code" = 200 ]; then acked+=("$body $d")
            elif [ "$code" = 503 ]; then got503=yes; break
            else other=yes; break; fi
        done
        echo "# full: answers:$codes"
        expect_eq "full data dir: publish answers 503 (not 200 for ever, not a crash)" "yes no" "$got503 $other"
        expect_eq "... with a one-line reason ($body)" 1 "$(printf '%s\n' "$body" | grep -c .)"
        check "... and a log line" bash -c "sleep 0.3; tail -n +$((n + 1)) '$SERVER_LOG' | grep -q 'stream: 503 for POST /events/disk'"
        echo "# full: log: $(tail -n +$((n + 1)) "$SERVER_LOG" | grep -m1 'failed')"
        check "... and the subscriber is still connected" kill -0 "$subpid"
        expect_eq "... from the same stream responder (no crash)" "$sp" "$(server_procs stream.fcgi)"
        rm -f "$MNT/filler" "$MNT/filler2"
        publish_disk "disk-4"
        expect_eq "space again: publish answers 200" 200 "$code"
        [ "$code" = 200 ] && acked+=("$body disk-4")
    fi
    sleep 0.5
    want=$(printf '%s\n' "${acked[@]}")
    got=$(ids_after "$BASE_URL/events/disk" 0 1.5)
    expect_eq "every acknowledged event is in the history, once, in order (${#acked[@]} events)" "$want" "$got"
    kill "$subpid" 2>/dev/null; wait "$subpid" 2>/dev/null
    got=$(awk '/^id: / { id = $2 } /^data: / { d = substr($0, 7) } /^$/ { if (id != "") print id, d; id = "" }' "$w/sub.txt")
    expect_eq "the subscriber that stayed connected got every acknowledged event, once, in order" "$want" "$got"
    echo "# numbers: disk: published $((${#acked[@]})) acknowledged; subscriber received $(wc -l <<< "$got"); refused with 503 while read-only or full; restarts observed 0"
    server_stop
    keep_log disk
    unset -f publish_disk
}
MNT=$(mktemp -d /tmp/sselight-m.XXXXXX)
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m,mode=0700 tmpfs "$MNT" 2>"$OUT_DIR/mount.err"; then
    disk_case "$MNT/data"
    umount "$MNT" || umount -l "$MNT"
else
    echo "# no tmpfs (uid $(id -u)): $(cat "$OUT_DIR/mount.err" 2>/dev/null)"
    rmdir "$MNT"
    MNT=""
    new_data_dir
    disk_case "$SSELIGHT_DATA_DIR"
fi
[ -n "$MNT" ] && rmdir "$MNT"
MNT=""

# ---------------------------------------------------------------- 5
# lighttpd itself stopped and started again on the same port and data dir
# while 100 clients follow a channel and a publisher publishes.
new_data_dir
server_start || fail "lighttpd starts (restart)"
w=$OUT_DIR/restart
rm -rf "$w"; mkdir -p "$w"
expect_list "$w/expect" restart- 200
BASE_URL=$BASE_URL timeout 100 "$NODE" "$ROOT/tests/lib/resume-client.mjs" \
    --clients 100 --channel restart --expect "$w/expect" --ready "$w/ready" --done "$w/done" \
    --marks "$w/marks" --report "$w/report.json" --settle-ms 15000 --timeout-ms 90000 \
    > "$w/client.out" 2>&1 &
cpid=$!; BG+=("$cpid")
wait_file "$w/ready" 20 || fail "restart: 100 subscribers connected within 20 s"
BASE_URL=$BASE_URL timeout 100 "$NODE" "$ROOT/tests/lib/fault-publisher.mjs" \
    --mode events --channel restart --count 200 --rate "${T_FAULTS_RATE:-40}" --prefix restart- --keys "${T_FAULTS_KEYS:-per-message}" \
    --progress "$w/progress" --timeout-ms 90000 > "$w/pub.out" 2>&1 &
ppid=$!; BG+=("$ppid")
for i in $(seq 1 200); do grep -q '^ack 80 ' "$w/progress" 2>/dev/null && break; sleep 0.05; done
port=$PORT
t_stop=$EPOCHREALTIME
echo "stop $t_stop" >> "$w/marks"
check "restart: lighttpd stops (SIGTERM) with 100 streams open" server_stop
keep_log restart-1
t_stopped=$EPOCHREALTIME
server_start_on "$port"
rc=$?
t_up=$EPOCHREALTIME
check "restart: a new lighttpd starts on the same port ($port) and data dir" test "$rc" -eq 0
echo "# restart: stop took $(elapsed "$t_stop" "$t_stopped") s, start $(elapsed "$t_stopped" "$t_up") s; down $(elapsed "$t_stop" "$t_up") s"
wait "$ppid"
check "restart: the publisher got 200 for all 200 messages (retrying with the same key)" test $? -eq 0
touch "$w/done"
wait "$cpid"
crc=$?
sed -n '/^# /p' "$w/pub.out" "$w/client.out"
check "restart: 100 clients each got all 200 messages exactly once, in order" test "$crc" -eq 0
numbers restart "$w" 1
stored=$(ids_after "$BASE_URL/events/restart" 0 2 | wc -l)
expect_eq "restart: the channel holds exactly the 200 messages" 200 "$stored"
server_stop

# harness_finish checks the last server's log; these are the others.
if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' "${KEPT_LOGS[@]}" /dev/null > "$OUT_DIR/sanitizer-logs.txt"; then
    fail "no sanitizer reports in the earlier servers' logs" "$(tr '\n' ' ' < "$OUT_DIR/sanitizer-logs.txt")"
else
    pass "no sanitizer reports in the earlier servers' logs (${#KEPT_LOGS[@]})"
fi
harness_finish
