#!/bin/bash
# make soak: a churn soak of the real server (not part of make test).
# Starts lighttpd with the project's lighttpd.conf on a free port and a
# scratch data dir, then runs bench/churn-load.mjs: 200 long-lived
# subscribers that must get every event, ~100 short subscriber connections
# per second (closed, reset, or dropped early), ~20 published events per
# second, for SOAK_SECONDS (default 600) after a 10 s warm-up. It measures
# open fds and RSS of every server process (lighttpd master and workers,
# stream.fcgi, index.fcgi) and /stats at start and end, prints the table and
# the pass criteria and writes bench/results/churn-DATE.md.
#   SOAK_SECONDS=60 bench/churn-soak.sh       (or: make soak SOAK_SECONDS=60)
# Other knobs, passed through to the load: LONG_LIVED, CHANNELS, CHURN_RATE,
# PUB_RATE, PAGE_RATE, WARMUP_SECONDS; RESULT_MD (the result file);
# SOAK_NOTE (a line added to the result file).
# Bounded: the whole run is killed after SOAK_SECONDS + 60 s; a trap stops
# the load, lighttpd and the responders, and checks that none is left.
set -u
SOAK_SECONDS=${SOAK_SECONDS:-600}
case "$SOAK_SECONDS" in
    ''|*[!0-9]*) echo "churn-soak: SOAK_SECONDS must be a number of seconds" >&2; exit 2 ;;
esac
export SOAK_SECONDS
if [ -z "${CHURN_SOAK_BOUNDED:-}" ]; then
    export CHURN_SOAK_BOUNDED=1
    exec timeout --foreground --kill-after=15 $((SOAK_SECONDS + 60)) "$0" "$@"
fi

# lighttpd's log goes to a scratch dir: make test (run by others on the same
# tree) empties test-output/ when it starts. A copy lands there at the end.
SOAK_TMP=$(mktemp -d /tmp/sselight-soak.XXXXXX)
export TEST_OUT=$SOAK_TMP/out
source "$(dirname "$0")/../tests/lib/harness.sh"
export SSELIGHT_DATA_DIR=$SOAK_TMP/data
RESULTS=$ROOT/bench/results
mkdir -p "$RESULTS"
export RESULT_MD=${RESULT_MD:-$RESULTS/churn-$(date -u +%Y-%m-%d).md}
NODE_PID=""
PIDS=""
RC=1

cleanup() {
    trap - EXIT INT TERM
    local i left="" p
    if [ -n "$NODE_PID" ] && alive "$NODE_PID"; then
        kill -TERM "$NODE_PID" 2>/dev/null
        [ -n "$(wait_gone 2 "$NODE_PID")" ] && kill -KILL "$NODE_PID" 2>/dev/null
    fi
    [ -n "$NODE_PID" ] && wait "$NODE_PID" 2>/dev/null
    if [ -n "$SERVER_PID" ]; then
        server_stop || echo "# lighttpd or a responder needed SIGKILL"
    fi
    for p in $PIDS $NODE_PID; do alive "$p" && left="$left $p"; done
    if [ -n "$left" ]; then
        kill -KILL $left 2>/dev/null
        echo "FAIL - processes left after stop:$left (killed)"
        RC=1
    else
        echo "PASS - no process left (lighttpd, workers, responders, load)"
    fi
    if [ -f "${SERVER_LOG:-}" ]; then
        mkdir -p "$ROOT/test-output/churn-soak"
        cp "$SERVER_LOG" "$ROOT/test-output/churn-soak/lighttpd.log" 2>/dev/null &&
            echo "lighttpd log: test-output/churn-soak/lighttpd.log"
    fi
    rm -rf "$SOAK_TMP"
    echo "churn-soak: $([ "$RC" -eq 0 ] && echo PASS || echo FAIL)"
    exit "$RC"
}
trap cleanup EXIT
trap 'echo "churn-soak: stopped (signal or the $((SOAK_SECONDS + 60)) s limit)"; exit 124' INT TERM

server_start || exit 1
PIDS="$SERVER_PID $(server_backends)"
echo "lighttpd $SERVER_PID on $BASE_URL; children: $(server_backends | tr '\n' ' ')"

SOAK_COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)
[ -n "$(git -C "$ROOT" status --porcelain -- src 2>/dev/null)" ] && SOAK_COMMIT="$SOAK_COMMIT + uncommitted changes in src/"
export SOAK_COMMIT
BASE_URL=$BASE_URL SERVER_PID=$SERVER_PID node "$ROOT/bench/churn-load.mjs" &
NODE_PID=$!
wait "$NODE_PID"
RC=$?
NODE_PID=""

# What the server logged, by kind (numbers folded), for the result file.
{
    echo
    echo "Server log (lighttpd + responders' stderr), $(wc -l < "$SERVER_LOG") lines, by kind:"
    echo
    echo '```'
    sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}: //; s/[0-9]+/N/g; s/(subscriber of )[A-Za-z0-9_.-]+/\1CH/' "$SERVER_LOG" |
        sort | uniq -c | sort -rn | head -n 15
    echo '```'
} | tee -a "$RESULT_MD"
exit "$RC"
