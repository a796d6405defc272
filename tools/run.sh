#!/bin/bash
# make run: serve sselight with the project's lighttpd.conf in the
# foreground until Ctrl-C, then stop lighttpd and both responders and remove
# the private socket dir. PORT and HOST override 127.0.0.1:5010.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT=${PORT:-5010}
export HOST=${HOST:-127.0.0.1}
lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)

# Fail early, and clearly, when something already listens on the port (for
# example another make run): lighttpd would only say "Address already in use".
if node tools/port-in-use.js "$HOST" "$PORT"; then
    echo "sselight: $HOST:$PORT is already in use (another 'make run'?)." >&2
    echo "sselight: stop that server, or choose another port: make run PORT=5011" >&2
    exit 1
fi

SSELIGHT_RUN_DIR=$(mktemp -d /tmp/sselight.XXXXXX)
export SSELIGHT_RUN_DIR
lighttpd_pid=""

cleanup() {
    trap - INT TERM EXIT
    if [ -n "$lighttpd_pid" ] && kill -0 "$lighttpd_pid" 2>/dev/null; then
        # SIGTERM: lighttpd stops at once and sends SIGTERM to its backends.
        kill -TERM "$lighttpd_pid" 2>/dev/null || true
        wait "$lighttpd_pid" 2>/dev/null || true
    fi
    rm -rf "$SSELIGHT_RUN_DIR"
    echo "sselight: stopped." >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$lighttpd" -tt -f lighttpd.conf
# Its own session: with server.max-worker the master stops its workers with
# kill(0, SIGTERM), which must not reach this script. Ctrl-C reaches this
# script, and cleanup stops lighttpd, which stops the responders.
setsid "$lighttpd" -D -f lighttpd.conf &
lighttpd_pid=$!
echo "sselight: serving http://$HOST:$PORT/  (Ctrl-C stops it)"
wait "$lighttpd_pid"
