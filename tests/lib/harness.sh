# Test harness for shell tests, sourced by tests/integration/t_*.sh.
# Prints one "ok - ..." / "not ok - ..." line per check and, from
# harness_finish, "NAME: N passed, N failed". server_start runs the real
# lighttpd with the project's lighttpd.conf on a free loopback port.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# TEST_VARIANT (e.g. "asan") names a second run of the same test.
TEST_NAME=$(basename "$0" .sh)${TEST_VARIANT:+-$TEST_VARIANT}
OUT_DIR=${TEST_OUT:-$ROOT/test-output}/$TEST_NAME
mkdir -p "$OUT_DIR"
PASSED=0
FAILED=0
SERVER_PID=""
SERVER_TMP=""

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $1${2:+: $2}"; }

# check DESCRIPTION COMMAND...: passes when the command exits 0.
check() {
    local desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# contains FILE STRING: the file holds STRING literally.
contains() { grep -qF -- "$2" "$1"; }

free_port() { node "$ROOT/tests/lib/free-port.js"; }

# alive PID: the process exists and is not a zombie.
alive() {
    local stat
    stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case "$stat" in Z*) return 1 ;; esac
    return 0
}

# wait_ready PID PROBE...: runs the command PROBE... every 0.1 s until it
# succeeds (0), or until process PID has exited or 10 s have passed (1).
wait_ready() {
    local pid=$1 i
    shift
    for i in $(seq 1 100); do
        "$@" && return 0
        alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

# Probes for wait_ready. answers URL: any HTTP answer. answers_200 URL: a
# 200. redis_pong PORT: redis-server on 127.0.0.1:PORT answers PING.
answers() { curl -s -o /dev/null --max-time 1 "$1"; }
answers_200() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ]; }
redis_pong() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

# stamp_lines: copies stdin to stdout, each line prefixed with the time it
# arrived ($EPOCHREALTIME and a space). Behind curl -N, which does not
# buffer, a server that buffers a stream shows in the gaps.
stamp_lines() {
    local line
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}

# wait_gone SECONDS PID...: waits until none of the processes is alive, at
# most SECONDS (tenths allowed); prints the ones still alive then.
wait_gone() {
    local limit=$1 i p left
    shift
    for i in $(seq 1 "$(awk -v s="$limit" 'BEGIN { printf "%d", s * 10 }')"); do
        left=""
        for p in "$@"; do alive "$p" && left="$left $p"; done
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "${left# }"
}

# lighttpd runs in a session of its own: with server.max-worker its master
# stops the workers with kill(0, SIGTERM), which would hit this shell too.
# server_start: lighttpd -D with the project's lighttpd.conf; sets PORT,
# BASE_URL, SERVER_PID, SERVER_LOG. Waits until / answers (at most 10 s).
# SSELIGHT_CGI_DIR, when set, picks other responder binaries (ASan builds).
server_start() {
    SERVER_TMP=$(mktemp -d /tmp/sselight-t.XXXXXX)
    PORT=$(free_port)
    BASE_URL="http://127.0.0.1:$PORT"
    SERVER_LOG=$OUT_DIR/lighttpd.log
    : > "$SERVER_LOG"
    (cd "$ROOT" && PORT=$PORT HOST=127.0.0.1 SSELIGHT_RUN_DIR=$SERVER_TMP/run \
        SSELIGHT_DATA_DIR=${SSELIGHT_DATA_DIR:-$SERVER_TMP/data} \
        exec setsid "$(command -v lighttpd || echo /usr/sbin/lighttpd)" -D -f lighttpd.conf) \
        >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    if wait_ready "$SERVER_PID" answers "$BASE_URL/"; then
        if [ -n "${SSELIGHT_CGI_DIR:-}" ] && ! server_uses_cgi_dir "$SSELIGHT_CGI_DIR"; then
            echo "# responders do not run from SSELIGHT_CGI_DIR=$SSELIGHT_CGI_DIR" >&2
            return 1
        fi
        return 0
    fi
    echo "# lighttpd did not answer within 10 s; its log:" >&2
    sed 's/^/#   /' "$SERVER_LOG" >&2
    return 1
}

# server_backends: pids of lighttpd's responder processes.
server_backends() { pgrep -P "$SERVER_PID" 2>/dev/null || true; }

# server_stop: SIGTERM to lighttpd; it stops its responders. Returns 1 when
# lighttpd or a responder is still alive 5 s later.
server_stop() {
    [ -n "$SERVER_PID" ] || return 0
    local backends left
    backends=$(server_backends)
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    left=$(wait_gone 5 $SERVER_PID $backends)
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    rm -rf "$SERVER_TMP"
    if [ -n "$left" ]; then
        echo "# still running after stop:$left" >&2
        kill -KILL $left 2>/dev/null || true
        return 1
    fi
    return 0
}

# wait_for_line FILE PATTERN SECONDS: FILE gets a line matching PATTERN
# (a grep basic regular expression) within SECONDS.
wait_for_line() {
    local i
    for i in $(seq 1 $(($3 * 10))); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_for_log PATTERN SECONDS: the server log gets a line matching PATTERN
# (an extended regular expression).
wait_for_log() {
    local i
    for i in $(seq 1 $(($2 * 10))); do
        grep -qE -- "$1" "$SERVER_LOG" && return 0
        sleep 0.1
    done
    return 1
}

# server_uses_cgi_dir DIR: every responder lighttpd started runs from DIR.
server_uses_cgi_dir() {
    local p exe n=0
    for p in $(server_backends); do
        exe=$(readlink "/proc/$p/exe") || return 1
        case "$exe" in
            */lighttpd) ;; # a worker (server.max-worker)
            "$1"/*) n=$((n + 1)) ;;
            *) return 1 ;;
        esac
    done
    [ "$n" -gt 0 ]
}

harness_finish() {
    if [ -n "$SERVER_PID" ]; then
        server_stop || true
    fi
    # The responders' stderr goes to lighttpd's log: sanitizer reports there
    # (ASan builds) are failures even when every check passed.
    if [ -n "${SERVER_LOG:-}" ] && [ -f "$SERVER_LOG" ]; then
        if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$SERVER_LOG"; then
            fail "no sanitizer reports in $SERVER_LOG"
        else
            pass "no sanitizer reports in the server log"
        fi
    fi
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
trap 'if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; fi' EXIT

# --- helpers for fault tests (t_faults) --------------------------------------

# server_procs NAME: pids of lighttpd's processes (its session: the master,
# workers, responders, whoever started them) whose executable is NAME, e.g.
# stream.fcgi or index.fcgi.
server_procs() {
    [ -n "$SERVER_PID" ] || return 0
    local p exe
    for p in $(pgrep -s "$SERVER_PID" 2>/dev/null); do
        exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
        [ "${exe##*/}" = "$1" ] && echo "$p"
    done
    return 0
}

# stream_procs_busy PID...: how many of the stream processes PID... hold
# FastCGI connections (sockets beyond their listening and wake-up ones);
# prints each one's socket count as a comment.
stream_procs_busy() {
    local p n busy=0
    for p in "$@"; do
        n=$(find /proc/"$p"/fd -lname 'socket:*' 2>/dev/null | wc -l)
        echo "# stream process $p: $n sockets" >&2
        [ "$n" -gt 2 ] && busy=$((busy + 1))
    done
    echo "$busy"
}

# server_start_on PORT: server_start on a given port instead of a free one
# (a restart on the port clients know). lighttpd fails if it is taken.
server_start_on() {
    local saved rc
    saved=$(declare -f free_port)
    eval "free_port() { echo '$1'; }"
    server_start
    rc=$?
    eval "$saved"
    return $rc
}

# server_kill_hard: SIGKILL to lighttpd and every process of its session at
# once (a crash of the whole server); waits until they are gone (5 s).
# Returns 1 when one is still alive.
server_kill_hard() {
    [ -n "$SERVER_PID" ] || return 0
    local pids left
    pids="$SERVER_PID $(pgrep -s "$SERVER_PID" 2>/dev/null)"
    kill -KILL $pids 2>/dev/null || true
    left=$(wait_gone 5 $pids)
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    rm -rf "$SERVER_TMP"
    [ -z "$left" ] || { echo "# still running after SIGKILL:$left" >&2; return 1; }
}

# host_lighttpd_start PREFIX LIB WWW INCLUDE: a host lighttpd with a site of
# its own ("the host site" at /) that mounts sselight the way an admin does
# (deploy/lighttpd/sselight.conf): the five var.sselight_* settings, then
# INCLUDE. LIB holds the responders, WWW the web assets. Sets PORT,
# SERVER_LOG, SERVER_PID, SERVER_TMP (so server_stop works) and BASE_URL
# (with the prefix). Returns 1 when lighttpd refuses the config or does not
# answer within 10 s.
host_lighttpd_start() {
    local prefix=$1 lib=$2 www=$3 include=$4 i
    SERVER_TMP=$(mktemp -d /tmp/sselight-host.XXXXXX)
    mkdir -p "$SERVER_TMP/host" "$SERVER_TMP/run" "$SERVER_TMP/data"
    chmod 700 "$SERVER_TMP/run"
    echo 'the host site' > "$SERVER_TMP/host/index.html"
    PORT=$(free_port)
    BASE_URL="http://127.0.0.1:$PORT$prefix"
    SERVER_LOG=$OUT_DIR/lighttpd.log
    : > "$SERVER_LOG"
    cat > "$SERVER_TMP/host.conf" <<CONF
server.document-root = "$SERVER_TMP/host"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$SERVER_LOG"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".css" => "text/css", ".js" => "text/javascript" )
var.sselight_prefix   = "$prefix"
var.sselight_lib      = "$lib"
var.sselight_www      = "$www"
var.sselight_run_dir  = "$SERVER_TMP/run"
var.sselight_data_dir = "$SERVER_TMP/data"
include "$include"
CONF
    lighttpd -tt -f "$SERVER_TMP/host.conf" >>"$SERVER_LOG" 2>&1 || return 1
    (cd "$SERVER_TMP" && exec setsid lighttpd -D -f "$SERVER_TMP/host.conf") >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    wait_ready "$SERVER_PID" answers "$BASE_URL/"
}

# redis_server_start PORT LOG [REDIS-ARGS...]: a redis-server on 127.0.0.1:PORT
# in the background (its output appended to LOG), with the given extra
# arguments (--dir, --appendonly ...); sets REDIS_PID. Returns 0 once it
# answers PING (at most 10 s), 1 when it exits or does not answer.
redis_server_start() {
    local port=$1 log=$2
    shift 2
    redis-server --port "$port" --bind 127.0.0.1 --save '' "$@" >>"$log" 2>&1 &
    REDIS_PID=$!
    wait_ready "$REDIS_PID" redis_pong "$port"
}
