#!/bin/bash
# The stream loop never waits on the store: the real lighttpd with the
# project's lighttpd.conf, heartbeats every 500 ms, and
#   1. another process holding SQLite's write lock for 3 s (the sqlite3
#      shell: BEGIN IMMEDIATE, sleep 3, COMMIT) while 20 publishes arrive
#      from 5 connections: /streams/ticks keeps its 1 s period (+-150 ms),
#      50 channel subscribers keep their heartbeats, a new subscription
#      starts during the lock, every publish is answered 200 after the lock
#      and reaches all 50 once, in order (tests/lib/stall-check.mjs);
#   2. the same with SSELIGHT_STORE_QUEUE=4 and 10 publishers: the publishes
#      past the queue get 503 with Retry-After and a log line, the others
#      200 after the lock, each delivered once, in order;
#   3. Redis paused with DEBUG SLEEP 3, and
#   4. Redis stopped with SIGSTOP for 3 s, then SIGCONT: the same checks as
#      1 (the new subscription excepted: it waits for Redis too);
#   5. group commit, SSELIGHT_SYNC=full: 16 publishers x 500 publishes at
#      once, every 10th a batch of 3, every 25th repeated with its key: all
#      answered, batches with consecutive ids, repeats replayed, no id twice,
#      5 subscribers with every stored event once, in order, and fewer
#      transactions than publishes in /stats (tests/lib/group-publish.mjs);
#   6. room posts while the lock is held: 6 posts to the page responder's
#      /room/messages (more than its processes), then pages: every page is
#      answered within 0.5 s (the posts wait on the room thread, not on the
#      process), each post gets 200 or 503, and each 200 is in the room's
#      history once; then 40 posts at once: those past the room queues get
#      503 at once with the reason and a log line.
source "$(dirname "$0")/../lib/harness.sh"

export SSELIGHT_HEARTBEAT_MS=500
NODE=$(command -v node)
REDIS_PID=""
REDIS_DIR=$(mktemp -d /tmp/sselight-stall.XXXXXX)
trap 'if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; fi; if [ -n "$REDIS_PID" ]; then kill -CONT "$REDIS_PID" 2>/dev/null; kill -TERM "$REDIS_PID" 2>/dev/null; fi; rm -rf "$REDIS_DIR"' EXIT

# node_checks NAME SCRIPT ARGS...: runs a checking script against
# BASE_URL, shows its lines and adds its counts to this test's.
node_checks() {
    local name=$1 script=$2 out p f
    shift 2
    out=$(BASE_URL=$BASE_URL timeout 120 "$NODE" "$ROOT/tests/lib/$script" "$@" 2>&1)
    local rc=$?
    printf '%s\n' "$out" | tee "$OUT_DIR/$name.out" | grep -v ': [0-9]* passed, [0-9]* failed$'
    p=$(printf '%s\n' "$out" | grep -c '^ok - ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name: $script exited with status $rc"
    fi
}

# section_end NAME: keeps this server's log as NAME.log, checks it for
# sanitizer reports, stops the server.
section_end() {
    server_stop || fail "$1: lighttpd and its responders stop"
    cp "$SERVER_LOG" "$OUT_DIR/$1.log"
    if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$OUT_DIR/$1.log"; then
        fail "$1: no sanitizer reports in the server log"
    fi
}

wait_db() { wait_for_line_exists "$1"; }
wait_exists() { # wait_exists FILE: up to 5 s for FILE (even empty)
    local i
    for i in $(seq 1 50); do [ -e "$1" ] && return 0; sleep 0.1; done
    return 1
}
wait_for_line_exists() {
    local i
    for i in $(seq 1 50); do [ -s "$1" ] && return 0; sleep 0.1; done
    return 1
}

# ---------------------------------------------------------------- 1
export SSELIGHT_DATA_DIR=$REDIS_DIR/data1
server_start || { fail "lighttpd starts"; harness_finish; exit 1; }
wait_db "$SSELIGHT_DATA_DIR/broker.db" || fail "the broker file exists"
lock="sqlite3 '$SSELIGHT_DATA_DIR/broker.db' 'BEGIN IMMEDIATE;' '.shell sleep 3' 'COMMIT;'"
node_checks sqlite-lock stall-check.mjs --name "sqlite lock" --stall "$lock" --start-during
check "sqlite lock: no publish failed in the log" bash -c "! grep -q 'publish of .* failed' '$SERVER_LOG'"

# ---------------------------------------------------------------- 6
marker=$OUT_DIR/room-locked
rm -f "$marker" "$OUT_DIR"/room-post-*
sqlite3 "$SSELIGHT_DATA_DIR/broker.db" 'BEGIN IMMEDIATE;' ".shell touch '$marker'; sleep 3" 'COMMIT;' \
    > "$OUT_DIR/room-lock.out" 2>&1 &
lock_pid=$!
wait_exists "$marker"
check "room: the lock is held" test -e "$marker"
post_pids=""
for i in 1 2 3 4 5 6; do
    curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -d "text=roomlock$i" \
        "$BASE_URL/room/messages" > "$OUT_DIR/room-post-$i" &
    post_pids="$post_pids $!"
done
sleep 0.3
slow=""
for i in 1 2 3 4 5; do
    got=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$BASE_URL/")
    awk -v g="$got" 'BEGIN { split(g, a, " "); exit !(a[1] == 200 && a[2] < 0.5) }' || slow="$slow [$got]"
done
expect_eq "room: pages answered 200 within 0.5 s while room posts wait for the lock" "" "$slow"
wait $post_pids "$lock_pid"
codes=$(cat "$OUT_DIR"/room-post-* | sort | uniq -c | tr -s ' ' | tr '\n' ';')
check "room: every post answered 200 or 503 ($codes)" \
    bash -c "! cat '$OUT_DIR'/room-post-* | grep -qv '^\(200\|503\)$'"
ok_posts=$(cat "$OUT_DIR"/room-post-* | grep -c '^200$')
check "room: posts waiting past the lock are stored ($ok_posts of 6)" test "$ok_posts" -ge 1
history=$(curl -s --max-time 1 "$BASE_URL/events/room?history=20" | grep -o 'roomlock[0-9]' | sort)
expect_eq "room: each post answered 200 is in the history once" \
    "$ok_posts $ok_posts" "$(printf '%s\n' "$history" | grep -c . ) $(printf '%s\n' "$history" | sort -u | grep -c .)"

# The room queue's bound: 40 posts at once during the lock, more than the
# 2 page processes queue (16 each, plus the one waiting): the rest get 503
# at once with the reason and a log line; each post answered 200 is stored
# once.
rm -f "$marker" "$OUT_DIR"/room-many-*
sqlite3 "$SSELIGHT_DATA_DIR/broker.db" 'BEGIN IMMEDIATE;' ".shell touch '$marker'; sleep 3" 'COMMIT;' \
    > "$OUT_DIR/room-lock2.out" 2>&1 &
lock_pid=$!
wait_exists "$marker" || fail "room queue: the lock is held"
post_pids=""
for i in $(seq 1 40); do
    curl -s -o "$OUT_DIR/room-many-$i.body" -w '%{http_code} %{time_total}\n' --max-time 30 \
        -d "text=roommany$i" "$BASE_URL/room/messages" > "$OUT_DIR/room-many-$i.code" &
    post_pids="$post_pids $!"
done
wait $post_pids "$lock_pid"
fast503=$(cat "$OUT_DIR"/room-many-*.code | awk '$1 == 503 && $2 < 1 { n++ } END { print n + 0 }')
check "room queue: posts past the queue get 503 at once ($fast503 within 1 s)" test "$fast503" -ge 1
check "room queue: ... saying why" grep -lq 'too many room posts waiting' "$OUT_DIR"/room-many-*.body
check "room queue: ... with a log line" grep -q 'posts already wait for the store' "$SERVER_LOG"
codes=$(cat "$OUT_DIR"/room-many-*.code | cut -d' ' -f1 | sort | uniq -c | tr -s ' ' | tr '\n' ';')
check "room queue: every post answered 200 or 503 ($codes)" \
    bash -c "! cat '$OUT_DIR'/room-many-*.code | cut -d' ' -f1 | grep -qv '^\(200\|503\)$'"
ok_posts=$(cat "$OUT_DIR"/room-many-*.code | grep -c '^200 ')
history=$(curl -s --max-time 1 "$BASE_URL/events/room?history=100" | grep -o 'roommany[0-9]*' | sort)
expect_eq "room queue: each post answered 200 is in the history once" \
    "$ok_posts $ok_posts" "$(printf '%s\n' "$history" | grep -c . ) $(printf '%s\n' "$history" | sort -u | grep -c .)"
section_end sqlite-lock

# ---------------------------------------------------------------- 2
export SSELIGHT_DATA_DIR=$REDIS_DIR/data2 SSELIGHT_STORE_QUEUE=4
server_start || { fail "lighttpd starts (queue 4)"; harness_finish; exit 1; }
wait_db "$SSELIGHT_DATA_DIR/broker.db" || fail "the broker file exists"
lock="sqlite3 '$SSELIGHT_DATA_DIR/broker.db' 'BEGIN IMMEDIATE;' '.shell sleep 3' 'COMMIT;'"
node_checks queue-full stall-check.mjs --name "queue full" --stall "$lock" --publishers 10 --pubs 20 --allow-503
check "queue full: each 503 has a log line naming SSELIGHT_STORE_QUEUE" \
    grep -q 'refused: .* store jobs pending (SSELIGHT_STORE_QUEUE)' "$SERVER_LOG"
section_end queue-full
unset SSELIGHT_STORE_QUEUE

# ---------------------------------------------------------------- 3 and 4
REDIS_PORT=$(free_port)
if redis_server_start "$REDIS_PORT" "$OUT_DIR/redis.log" --dir "$REDIS_DIR" --enable-debug-command local; then
    export SSELIGHT_BROKER=redis://127.0.0.1:$REDIS_PORT/0 SSELIGHT_DATA_DIR=$REDIS_DIR/data3
    server_start || { fail "lighttpd starts (Redis)"; harness_finish; exit 1; }
    node_checks redis-sleep stall-check.mjs --name "redis DEBUG SLEEP" \
        --stall "redis-cli -p $REDIS_PORT DEBUG SLEEP 3"
    node_checks redis-stop stall-check.mjs --name "redis SIGSTOP" \
        --stall "kill -STOP $REDIS_PID; sleep 3; kill -CONT $REDIS_PID"
    section_end redis
    unset SSELIGHT_BROKER
    kill -TERM "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; REDIS_PID=""
else
    fail "redis-server starts on port $REDIS_PORT"
fi

# ---------------------------------------------------------------- 5
export SSELIGHT_DATA_DIR=$REDIS_DIR/data5 SSELIGHT_SYNC=full
server_start || { fail "lighttpd starts (sync full)"; harness_finish; exit 1; }
node_checks group-commit group-publish.mjs --publishers 16 --per 500 --subs 5
section_end group-commit
unset SSELIGHT_SYNC

SERVER_LOG=""
harness_finish
