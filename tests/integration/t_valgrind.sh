#!/bin/bash
# Memory errors and leaks under valgrind (memcheck):
#  1. the unit tests (build/check_unit, CK_FORK=no so valgrind sees one
#     process), one suite at a time; the utf8 suite is left out: its test of
#     all 1.1 million code points takes ~90 s under valgrind, and utf8.c
#     allocates nothing;
#  2. both responders through the real lighttpd and lighttpd.conf: wrapper
#     scripts named index.fcgi and stream.fcgi in a scratch SSELIGHT_CGI_DIR
#     exec valgrind on cgi-bin/<name>; a short run of traffic (pages, the
#     room, a channel with 20 events, /sse-stream, /stats, errors), then
#     SIGTERM, then every valgrind log must say 0 errors and 0 bytes
#     definitely lost.
# Valgrind logs: test-output/t_valgrind/unit/ and responders/.
source "$(dirname "$0")/../lib/harness.sh"

VALGRIND=$(command -v valgrind)
if [ -z "$VALGRIND" ]; then
    fail "valgrind is installed" "apt-get install valgrind"
    harness_finish
    exit 1
fi
VG_OPTS=(--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)

# vg_log_clean LOG: 0 errors and nothing definitely lost.
vg_log_clean() {
    grep -q 'ERROR SUMMARY: 0 errors' "$1" &&
        grep -Eq 'definitely lost: 0 bytes|All heap blocks were freed' "$1"
}
# vg_summary LOG: the program and its leak/error summary, as comments.
vg_summary() {
    echo "# $(basename "$1"): $(grep -m1 'Command:' "$1" | sed 's/^==[0-9]*== //')"
    grep -E 'definitely lost:|indirectly lost:|possibly lost:|still reachable:|All heap blocks were freed|ERROR SUMMARY:' "$1" |
        sed 's/^==[0-9]*== */#     /'
}
# vg_errors LOG: the first error reports with their stacks, as comments.
vg_errors() {
    sed -n '/^==[0-9]*== \(Invalid\|Conditional\|Use of\|Syscall param\|Mismatched\|Source and destination\|Argument\|[0-9,]* bytes in [0-9,]* blocks are definitely\)/,/^==[0-9]*== $/p' "$1" |
        head -n 60 | sed 's/^/#   /'
}

# --- 0. these checks can fail: a program that leaks and reads freed memory
SELF=$(mktemp -d /tmp/sselight-vg.XXXXXX)
cat > "$SELF/leak.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *volatile p = malloc(64);
    memset(p, 'x', 64);
    char *volatile q = malloc(8);
    free(q);
    volatile char c = q[1]; /* use after free */
    (void)c;
    p = NULL; /* leaked */
    return 0;
}
EOF
if cc -O0 -g -o "$SELF/leak" "$SELF/leak.c" 2>"$SELF/cc.err"; then
    "$VALGRIND" "${VG_OPTS[@]}" --log-file="$SELF/vg.log" "$SELF/leak" 2>/dev/null
    expect_eq "valgrind exits 99 for a program that leaks and reads freed memory" 99 "$?"
    check "... and the log check rejects its log" bash -c "! grep -q 'ERROR SUMMARY: 0 errors' '$SELF/vg.log' && ! grep -Eq 'definitely lost: 0 bytes|All heap blocks were freed' '$SELF/vg.log'"
else
    fail "compile the self-check program" "$(head -n3 "$SELF/cc.err")"
fi
rm -rf "$SELF"

# --- 1. the unit tests ----------------------------------------------------------
# One valgrind run per suite (CK_RUN_SUITE; this Check has no way to leave
# one suite out), suite names from the sources. Each run is bounded.
UNIT_LOGS=$OUT_DIR/unit
rm -rf "$UNIT_LOGS"
mkdir -p "$UNIT_LOGS"
: > "$OUT_DIR/unit.out"
suites=$(grep -ho 'suite_create("[A-Za-z0-9_]*")' "$ROOT"/tests/unit/check_*.c | sed 's/.*("//; s/")//' | sort -u)
start=$SECONDS
unit_passed=0
unit_failed=0
unit_bad_rc=""
# The broker suite's Redis tests need a redis-server. Started here, outside
# valgrind: started by the suite itself (fork + exec), valgrind would leave
# a log for the forked child that ends at the exec, with no summary.
REDIS_PORT=$(free_port)
: > "$OUT_DIR/redis.log"
redis_server_start "$REDIS_PORT" "$OUT_DIR/redis.log" --appendonly no \
    --loglevel warning || echo "# redis-server did not start: the broker suite's Redis tests will fail"
export CHECK_REDIS_PORT=$REDIS_PORT
for s in $suites; do
    [ "$s" = utf8 ] && continue
    CK_FORK=no CK_RUN_SUITE=$s timeout --kill-after=5 60 \
        "$VALGRIND" "${VG_OPTS[@]}" --log-file="$UNIT_LOGS/vg-$s-%p.log" \
        "$ROOT/build/check_unit" "suite $s" > "$OUT_DIR/unit-$s.out" 2>&1
    rc=$?
    cat "$OUT_DIR/unit-$s.out" >> "$OUT_DIR/unit.out"
    line=$(grep -E '^suite [A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed$' "$OUT_DIR/unit-$s.out" | tail -n1)
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<< "${line:-: 0 passed}")
    f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<< "${line:-0 failed}")
    unit_passed=$((unit_passed + p))
    unit_failed=$((unit_failed + f))
    [ "$rc" -ne 0 ] && unit_bad_rc="$unit_bad_rc $s:$rc"
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && echo "# suite $s: no test ran (not in this build of check_unit?)"
done
unset CHECK_REDIS_PORT
kill "$REDIS_PID" 2>/dev/null
wait "$REDIS_PID" 2>/dev/null
echo "# unit tests under valgrind: $unit_passed passed, $unit_failed failed in $((SECONDS - start)) s; suites:" $(grep -vx utf8 <<< "$suites")
expect_eq "unit suites under valgrind exit 0 (99 = memory errors or definite leaks, 124 = timed out)" "" "$unit_bad_rc"
check "unit tests pass under valgrind" test "$unit_passed" -gt 0 -a "$unit_failed" -eq 0
n=0
bad=0
for log in "$UNIT_LOGS"/vg-*.log; do
    [ -f "$log" ] || continue
    n=$((n + 1))
    if ! vg_log_clean "$log"; then
        bad=$((bad + 1))
        vg_summary "$log"
        vg_errors "$log"
    fi
done
# One log per suite's test process, plus one per child a test forks (the
# broker's and notify's two-process tests).
check "valgrind logs for the unit tests ($n processes)" test "$n" -ge 1
expect_eq "unit-test processes with memory errors or definite leaks" 0 "$bad"

# --- 2. the responders through lighttpd ---------------------------------------------
# lighttpd-env.sh allows only A-Z a-z 0-9 . _ - / in SSELIGHT_CGI_DIR.
CGI_DIR=$(mktemp -d /tmp/sselight-vg.XXXXXX)
VG_LOGS=$OUT_DIR/responders
rm -rf "$VG_LOGS"
mkdir -p "$VG_LOGS"
for name in index.fcgi stream.fcgi; do
    # lighttpd gives its backends only the listed environment: no PATH,
    # so valgrind is named by its full path.
    cat > "$CGI_DIR/$name" <<EOF
#!/bin/sh
exec '$VALGRIND' ${VG_OPTS[*]} --log-file='$VG_LOGS/vg-%p.log' '$ROOT/cgi-bin/$name' "\$@"
EOF
    chmod +x "$CGI_DIR/$name"
done
export SSELIGHT_CGI_DIR=$CGI_DIR
trap 'if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; fi; rm -rf "$CGI_DIR"' EXIT

# Under valgrind /proc/PID/exe is valgrind's tool, not the wrapper: this
# replaces the harness's check (for this test only) with one on the command
# line, which names the responder valgrind runs.
server_uses_cgi_dir() {
    local p exe cmd n=0
    for p in $(server_backends); do
        exe=$(readlink "/proc/$p/exe") || return 1
        case "$exe" in */lighttpd) continue ;; esac
        cmd=$(tr '\0' ' ' < "/proc/$p/cmdline")
        case "$cmd" in
            *valgrind*" $ROOT/cgi-bin/"*.fcgi*) n=$((n + 1)) ;;
            *) return 1 ;;
        esac
    done
    [ "$n" -ge 3 ]
}

if ! server_start; then
    fail "lighttpd starts with both responders under valgrind"
    harness_finish
    exit 1
fi
pass "lighttpd starts with both responders under valgrind"

status() { curl -s -o /dev/null --max-time 30 -w '%{http_code}' "$@"; }

# Pages and the room (the page responder).
expect_eq "GET / is 200" 200 "$(status "$BASE_URL/")"
expect_eq "GET /room is 200" 200 "$(status "$BASE_URL/room")"
expect_eq "GET /example2 is 200" 200 "$(status "$BASE_URL/example2")"
expect_eq "GET /no-such-page is 404" 404 "$(status "$BASE_URL/no-such-page")"
expect_eq "POST /room/messages is 200" 200 "$(status --data-urlencode 'text=hello <b>valgrind</b>' "$BASE_URL/room/messages")"
expect_eq "POST /room/messages with empty text is 422" 422 "$(status -d 'text=' "$BASE_URL/room/messages")"
expect_eq "POST /room/messages with another content type is 415" 415 \
    "$(status -H 'Content-Type: text/plain' -d 'text=x' "$BASE_URL/room/messages")"
expect_eq "POST /room/messages over 4 KiB is 413" 413 \
    "$(status --data-binary "text=$(head -c 5000 /dev/zero | tr '\0' a)" "$BASE_URL/room/messages")"
expect_eq "PUT / is 405" 405 "$(status -X PUT "$BASE_URL/")"

# A channel: subscribe, publish 20 events (one batch of 2 among them), receive them.
curl -sN --max-time 60 "$BASE_URL/events/vg?history=0" > "$OUT_DIR/sub.txt" 2>/dev/null &
SUB=$!
for i in $(seq 1 50); do
    curl -s --max-time 5 "$BASE_URL/stats" | grep -q '"subscribers":1' && break
    sleep 0.2
done
pub_ok=0
for i in $(seq 1 18); do
    [ "$(status --data-binary "event $i" "$BASE_URL/events/vg?event=step")" = 200 ] && pub_ok=$((pub_ok + 1))
done
[ "$(status -H 'Content-Type: text/event-stream' --data-binary $'data: event 19\n\nevent: step\ndata: event\ndata: 20\n\n' \
    "$BASE_URL/events/vg")" = 200 ] && pub_ok=$((pub_ok + 2))
expect_eq "20 events published" 20 "$pub_ok"
for i in $(seq 1 100); do
    [ "$(grep -c '^id: ' "$OUT_DIR/sub.txt")" -ge 20 ] && break
    sleep 0.2
done
expect_eq "the subscriber got the 20 events" 20 "$(grep -c '^id: ' "$OUT_DIR/sub.txt")"
kill "$SUB" 2>/dev/null
wait "$SUB" 2>/dev/null
# Resume after the fifth event: fifteen come back.
fifth=$(grep '^id: ' "$OUT_DIR/sub.txt" | sed -n '5s/^id: //p')
curl -sN --max-time 3 -H "Last-Event-ID: $fifth" "$BASE_URL/events?channel=vg&channel=other" > "$OUT_DIR/resume.txt" 2>/dev/null
expect_eq "a resume with Last-Event-ID gets the 15 after it" 15 "$(grep -c '^id: ' "$OUT_DIR/resume.txt")"

# The demo stream for 2 s, and /stats.
curl -sN --max-time 2 "$BASE_URL/sse-stream" > "$OUT_DIR/sse.txt" 2>/dev/null
check "/sse-stream sends events within 2 s" grep -q '^event: EventName' "$OUT_DIR/sse.txt"
expect_eq "GET /stats is 200" 200 "$(status "$BASE_URL/stats")"

# Errors from the stream responder.
expect_eq "a bad channel name is 400" 400 "$(status "$BASE_URL/events/bad%20name")"
expect_eq "a Last-Event-ID that is not digits is 400" 400 "$(status -H 'Last-Event-ID: x' "$BASE_URL/events/vg")"
expect_eq "POST /sse-stream is 405" 405 "$(status -d x "$BASE_URL/sse-stream")"
expect_eq "a publish over 64 KiB is 413" 413 \
    "$(head -c 70000 /dev/zero | tr '\0' a | status --data-binary @- "$BASE_URL/events/vg")"
expect_eq "GET /streams/none is 404" 404 "$(status "$BASE_URL/streams/none")"

# Two streams still open when the server stops: shutdown frees them too.
curl -sN --max-time 60 "$BASE_URL/events/vg" > /dev/null 2>&1 &
HELD1=$!
curl -sN --max-time 60 "$BASE_URL/streams/dashboard" > /dev/null 2>&1 &
HELD2=$!
for i in $(seq 1 50); do
    curl -s --max-time 5 "$BASE_URL/stats" > "$OUT_DIR/stats.json"
    grep -q '"demo_streams_open":1' "$OUT_DIR/stats.json" && grep -q '"subscribers":[1-9]' "$OUT_DIR/stats.json" && break
    sleep 0.2
done

# Stop: SIGTERM to lighttpd; the responders exit by design within 2 s, and
# valgrind then checks for leaks, which takes longer: up to 15 s in all.
procs="$SERVER_PID $(server_backends)"
kill -TERM "$SERVER_PID" 2>/dev/null
left=$(wait_gone 15 $procs)
expect_eq "lighttpd and the responders under valgrind exit within 15 s of SIGTERM" "" "$left"
server_stop > /dev/null 2>&1 # reaps lighttpd, kills what is left, removes its scratch dir
wait "$HELD1" "$HELD2" 2>/dev/null
# (lighttpd closes its side at the same moment, so N varies.)
check "the stream responder logged its SIGTERM shutdown" \
    grep -Eq 'signal 15: ending [0-9]+ open streams' "$SERVER_LOG"

n=0
bad=0
nstream=0
nindex=0
for log in "$VG_LOGS"/vg-*.log; do
    [ -f "$log" ] || continue
    n=$((n + 1))
    grep -q 'Command: .*/stream\.fcgi' "$log" && nstream=$((nstream + 1))
    grep -q 'Command: .*/index\.fcgi' "$log" && nindex=$((nindex + 1))
    vg_summary "$log"
    if ! vg_log_clean "$log"; then
        bad=$((bad + 1))
        vg_errors "$log"
    fi
done
check "a valgrind log from the stream responder" test "$nstream" -ge 1
check "valgrind logs from both page responders" test "$nindex" -ge 2
expect_eq "responder processes with memory errors or definite leaks (of $n)" 0 "$bad"
check "no responder exited with valgrind's error status" bash -c "! grep -Eq 'status:? 99|exit.*99' '$SERVER_LOG'"

harness_finish
