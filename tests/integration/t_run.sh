#!/bin/bash
# What `make run` does after the build (tools/run.sh): serves on the chosen
# port, refuses a second server on the same port with a clear message, and
# on Ctrl-C leaves no process and no socket dir behind.
source "$(dirname "$0")/../lib/harness.sh"

port=$(free_port)
log=$OUT_DIR/run.log
# setsid: its own process group, so "Ctrl-C" can go to the whole group as
# a terminal would send it.
(cd "$ROOT" && PORT=$port exec setsid tools/run.sh) > "$log" 2>&1 &
run_pid=$!
up=no
wait_ready "$run_pid" answers "http://127.0.0.1:$port/" && up=yes
expect_eq "run.sh serves on PORT=$port" yes "$up"
check "run.sh prints the URL" contains "$log" "http://127.0.0.1:$port/"
lighttpd_pid=$(pgrep -P "$run_pid" -f "lighttpd -D -f lighttpd.conf" || true)
backends=$(pgrep -P "${lighttpd_pid:-0}" -f 'cgi-bin/(stream|index)\.fcgi' | tr '\n' ' ')
run_dir=$(grep -a -o '/tmp/sselight\.[A-Za-z0-9]*' /proc/"$lighttpd_pid"/environ 2>/dev/null | head -n1)
check "lighttpd and the responders are running" test -n "$lighttpd_pid" -a -n "$backends"
check "the socket dir exists while serving" test -n "$run_dir" -a -d "$run_dir"

# A second server on the same port: a clear error, not a half-started one.
second=$(cd "$ROOT" && PORT=$port timeout 10 tools/run.sh 2>&1)
second_rc=$?
check "a second run on the same port fails" test "$second_rc" -ne 0
check "... and says the port is in use" grep -q "already in use" <<< "$second"
check "the first server still serves" curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/"

# An invalid PORT is refused with a clear message.
bad=$(cd "$ROOT" && PORT=80x timeout 10 tools/run.sh 2>&1)
check "PORT=80x is refused with a clear message" grep -q "PORT must be a number" <<< "$bad"
bad=$(cd "$ROOT" && PORT=$(free_port) SSELIGHT_WORKERS=0 timeout 10 tools/run.sh 2>&1)
check "SSELIGHT_WORKERS=0 is refused with a clear message" grep -q "SSELIGHT_WORKERS must be 1 to 16" <<< "$bad"
bad=$(cd "$ROOT" && PORT=$(free_port) SSELIGHT_STREAM_PROCS=9 timeout 10 tools/run.sh 2>&1)
check "SSELIGHT_STREAM_PROCS=9 is refused with a clear message" grep -q "SSELIGHT_STREAM_PROCS must be 1 to 8" <<< "$bad"

# Ctrl-C: SIGINT to the whole process group.
curl -sN --max-time 3 -o /dev/null "http://127.0.0.1:$port/sse-stream" &
sleep 0.5
kill -INT -- "-$run_pid"
stopped=no
for i in $(seq 1 50); do
    left=""
    for p in $run_pid $lighttpd_pid $backends; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && { stopped=yes; break; }
    sleep 0.1
done
expect_eq "Ctrl-C stops run.sh, lighttpd and both responders within 5 s" yes "$stopped"
[ -n "$left" ] && kill -KILL $left 2>/dev/null
wait "$run_pid" 2>/dev/null
check "the socket dir is removed" test -n "$run_dir" -a ! -e "$run_dir"
check "the port is free again" bash -c "! curl -s -o /dev/null --max-time 1 http://127.0.0.1:$port/"
check "run.sh says it stopped" contains "$log" "sselight: stopped."
harness_finish
