# shellcheck shell=bash
# A host web server in front of the two responders, each started by
# spawn-fcgi -n on a private socket (fd 0), as the systemd socket units run
# them: what the deploy tests of servers that do not start FastCGI programs
# themselves share (t_deploy_haproxy, t_deploy_h2o, t_deploy_caddy).
# Sourced after tests/lib/harness.sh and tests/lib/deploy_checks.sh.
#
# The test sets, then calls deploy_spawn_main:
#   HOST_NAME    the server's name in the check descriptions ("HAProxy")
#   HOST_STOP_SIG the signal that stops the server gracefully (QUIT, TERM...)
#   IDLE_S       the server's idle/read timeout in the rendered config
#   HB_MS        the responders' heartbeat (SSELIGHT_HEARTBEAT_MS)
#   DISCONNECT_S how long a stream may stay after kill -9 of its client
#                (deploy_check_disconnect; empty: its default)
#   DISCONNECT_H2_S  the same for a client speaking HTTP/2 (h2c, prior
#                knowledge: the host must accept it on its port); empty:
#                not checked
# and defines:
#   host_start PREFIX  renders the shipped config (deploy_spawn_render),
#                      writes the host config into $D and starts the server
#                      on 127.0.0.1:$PORT (deploy_spawn_host, which sets
#                      HOST_PID); returns 1 when the server refuses the
#                      config or does not start
#   host_checks PREFIX its own checks (may do nothing)
#
# Each deployment: the responders (deploy_spawn_responders), host_start,
# the checks of deploy_checks.sh and deploy_check_no_hold and
# deploy_check_routes below, host_checks, then deploy_spawn_stop: the
# server and both responders gone within 5 s, the port closed, nobody
# listening on the sockets, no sanitizer report in the responders' logs.
# The prefix deployment (/apps/sse) runs with SSELIGHT_PUBLISH_TOKEN set
# and publishes with it (deploy_check_token): the Authorization header must
# reach the responder.
#
# SSELIGHT_CGI_DIR picks other responder binaries (the ASan builds).

CGI_DIR=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
HOST_PID=""
STREAM_PID=""
PAGE_PID=""
D=""            # the current deployment's temp dir
DEPLOY_SPAWN_TOKEN="deploy-spawn-token-$$-$RANDOM"

# deploy_spawn_require FILE...: each is an executable, or the test fails
# and ends here.
deploy_spawn_require() {
    local tool
    for tool in "$SPAWN_FCGI" "$CGI_DIR/stream.fcgi" "$CGI_DIR/index.fcgi" "$@"; do
        if [ ! -x "$tool" ]; then
            fail "$tool is installed (the Debian package; spawn-fcgi; make build for the responders)"
            harness_finish
            exit 1
        fi
    done
}

# Whatever happens (a failed check, timeout's SIGTERM), no server stays.
deploy_spawn_cleanup() {
    local p
    for p in $HOST_PID $(deploy_spawn_host_pids) $STREAM_PID $PAGE_PID; do
        kill -KILL "$p" 2>/dev/null
    done
    [ -n "$D" ] && rm -rf "$D"
}
trap deploy_spawn_cleanup EXIT
trap 'exit 143' TERM INT

# deploy_spawn_host_pids: the server's process and its descendants.
deploy_spawn_host_pids() {
    local p c
    [ -n "$HOST_PID" ] || return 0
    p=$HOST_PID
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null); do
        echo "$c"
        pgrep -P "$c" 2>/dev/null
    done
}

# _deploy_spawn_one PIDVAR NAME PROGRAM PREFIX [VAR=VALUE...]: PROGRAM as
# a service manager runs it, in the background: settings from the
# environment (SSELIGHT_DATA_DIR, SSELIGHT_PREFIX=PREFIX, VAR=VALUE...),
# the listening socket $D/run/NAME.sock (0600) on fd 0 (spawn-fcgi -n execs
# it), its output in $D/logs/NAME.log. Its pid goes to PIDVAR.
_deploy_spawn_one() {
    local pidvar=$1 name=$2 program=$3 prefix=$4
    shift 4
    (
        unset SSELIGHT_PUBLISH_TOKEN SSELIGHT_SUBSCRIBE_SECRET SSELIGHT_PREFIX
        export SSELIGHT_DATA_DIR=$D/data
        [ -n "$prefix" ] && export SSELIGHT_PREFIX=$prefix
        for i in "$@"; do export "${i?}"; done
        exec "$SPAWN_FCGI" -n -s "$D/run/$name.sock" -M 0600 -- "$program"
    ) >> "$D/logs/$name.log" 2>&1 &
    printf -v "$pidvar" %s $!
}

# deploy_spawn_responders PREFIX [VAR=VALUE...]: a temp dir $D (run/ and
# data/ mode 0700, logs/, tmp/), a free port $PORT, BASE_URL, and the two
# responders (_deploy_spawn_one; the stream responder with the heartbeat
# HB_MS) on $D/run/stream.sock and page.sock. Returns 1 when the sockets do
# not appear within 5 s.
deploy_spawn_responders() {
    local prefix=$1 i
    shift
    D=$(mktemp -d /tmp/sselight-s.XXXXXX)
    mkdir -m 700 "$D/run" "$D/data"
    mkdir "$D/logs" "$D/tmp"
    PORT=$(free_port)
    BASE_URL="http://127.0.0.1:$PORT$prefix"
    _deploy_spawn_one STREAM_PID stream "$CGI_DIR/stream.fcgi" "$prefix" \
        SSELIGHT_HEARTBEAT_MS="$HB_MS" "$@"
    _deploy_spawn_one PAGE_PID page "$CGI_DIR/index.fcgi" "$prefix" "$@"
    for i in $(seq 1 50); do
        [ -S "$D/run/stream.sock" ] && [ -S "$D/run/page.sock" ] && return 0
        sleep 0.1
    done
    echo "# the responders' sockets did not appear within 5 s" >&2
    return 1
}

# deploy_spawn_render SRC DST PREFIX WWW [SED_EXPR...]: SRC with the three
# placeholders replaced as an admin does (@PREFIX@, @WWW@, @RUN_DIR@ =
# $D/run), then the SED_EXPRs (the test's shorter timeouts, a break on
# purpose) applied in order. Returns 1 when a placeholder is left.
deploy_spawn_render() {
    local src=$1 dst=$2 prefix=$3 www=$4 e args=()
    shift 4
    for e in "$@"; do [ -n "$e" ] && args+=(-e "$e"); done
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@WWW@|$www|g" -e "s|@RUN_DIR@|$D/run|g" \
        "${args[@]}" "$src" > "$dst"
    if grep -q '@[A-Z_]*@' "$dst"; then
        echo "# the rendered $dst still has a placeholder:" >&2
        grep -n '@[A-Z_]*@' "$dst" | sed 's/^/#   /' >&2
        return 1
    fi
}

# deploy_spawn_expect FILE STRING: the shipped FILE has STRING (what the
# test shortens or changes must be there), or the test ends here.
deploy_spawn_expect() {
    grep -qF -- "$2" "$1" && return 0
    fail "$1 has '$2' (which this test changes)"
    harness_finish
    exit 1
}

# deploy_spawn_host NAME CHECK_COMMAND... -- RUN_COMMAND...: CHECK_COMMAND
# (the server's config test) must pass, its output in $D/logs/NAME-check.log;
# then RUN_COMMAND runs in the background (output appended to
# $D/logs/NAME.log; it must exec the server, so that HOST_PID is the
# server's), until it answers on $PORT (10 s at most). Returns 1 otherwise.
deploy_spawn_host() {
    local name=$1 check=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do check+=("$1"); shift; done
    shift
    if ! "${check[@]}" > "$D/logs/$name-check.log" 2>&1; then
        echo "# $name refuses the rendered config:" >&2
        tail -n 20 "$D/logs/$name-check.log" | sed 's/^/#   /' >&2
        return 1
    fi
    "$@" >> "$D/logs/$name.log" 2>&1 &
    HOST_PID=$!
    wait_ready "$HOST_PID" answers "http://127.0.0.1:$PORT/" && return 0
    echo "# $name did not answer within 10 s" >&2
    return 1
}

# deploy_spawn_show_logs: the deployment's logs, as comments (on failure).
deploy_spawn_show_logs() {
    local f
    for f in "$D"/logs/*; do
        [ -s "$f" ] || continue
        echo "# --- $f (copied to $OUT_DIR/$LABEL_FILE-$(basename "$f")):"
        tail -n 20 "$f" | sed 's/^/#   /'
    done
}

# deploy_spawn_stop: HOST_STOP_SIG to the server, SIGTERM to the
# responders; the server's processes and both responders gone within 5 s,
# the port closed, nobody listening on the sockets, the stream responder's
# wake-up socket removed, no sanitizer reports. Then the logs are kept in
# OUT_DIR and $D goes.
deploy_spawn_stop() {
    local pids left code f
    pids=$(deploy_spawn_host_pids | tr '\n' ' ')
    [ -n "$HOST_PID" ] && kill -"$HOST_STOP_SIG" "$HOST_PID" 2>/dev/null
    kill -TERM "$STREAM_PID" "$PAGE_PID" 2>/dev/null
    # shellcheck disable=SC2086
    left=$(wait_gone 5 $pids "$STREAM_PID" "$PAGE_PID")
    # shellcheck disable=SC2086
    wait $HOST_PID "$STREAM_PID" "$PAGE_PID" 2>/dev/null
    expect_eq "$LABEL: $HOST_NAME (SIG$HOST_STOP_SIG) and both responders (SIGTERM) exit within 5 s" "" "$left"
    # shellcheck disable=SC2086
    [ -n "$left" ] && kill -KILL $left 2>/dev/null
    HOST_PID="" STREAM_PID="" PAGE_PID=""
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE_URL/"; echo " rc=$?")
    expect_eq "$LABEL: the port is closed afterwards" "000 rc=7" "$code"
    check "$LABEL: nobody listens on the FastCGI sockets any more" \
        bash -c "! ss -xl 2>/dev/null | grep -qF '$D/run/'"
    expect_eq "$LABEL: the stream responder removed its wake-up socket in the data dir" "" \
        "$(ls -A "$D/data/notify" 2>/dev/null)"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$D"/logs/stream.log "$D"/logs/page.log 2>/dev/null; then
        fail "$LABEL: no sanitizer reports in the responders' logs" "see $OUT_DIR/$LABEL_FILE-*.log"
    else
        pass "$LABEL: no sanitizer reports in the responders' logs"
    fi
    for f in "$D"/logs/*; do cp "$f" "$OUT_DIR/$LABEL_FILE-$(basename "$f")"; done
    rm -rf "$D"
    D=""
}

# _deploy_spawn_lateness [CURL_OPTION...]: GETs /sse-stream for 2.3 s and
# prints how far the earliest of its first events is behind the
# responder's schedule (event k at k * 0.5 s after the request), in
# seconds, or "none" when no event came.
_deploy_spawn_lateness() {
    local d f start
    d=$(_deploy_dir)
    f=$(mktemp "$d/hold.XXXXXX")
    start=$EPOCHREALTIME
    curl -sN --max-time 2.3 "$@" -o >(stamp_lines > "$f") "$BASE_URL/sse-stream"
    sleep 0.1 # let the stamping reader finish
    grep -F 'data:   <p>message number' "$f" |
        awk -v s="$start" '{ n = $NF; sub(/<\/p>/, "", n); late = $1 - s - 0.5 * n
                             if (min == "" || late < min) min = late }
                           END { if (min == "") print "none"; else printf "%.3f\n", min }'
    rm -f "$f"
}

# deploy_check_no_hold: two /sse-stream requests at once, one of them
# asking for gzip (curl --compressed: a host that compresses must still
# send each event on its own). In each, the earliest of the first five
# events is less than 0.15 s behind the responder's schedule. A server, or
# a kernel, that holds each write back fails it (HAProxy without
# "option http-no-delay": 0.2 s, MSG_MORE) on every try. A request that
# merely started late (0.18 s once, with gzip, beside the sanitizer lane)
# is measured once more, alone, and that second try must pass.
deploy_check_no_hold() {
    local d plain gz pid
    d=$(_deploy_dir)
    _deploy_spawn_lateness > "$d/hold.plain" &
    pid=$! # (not $! after the next line: its process substitution sets $!)
    _deploy_spawn_lateness --compressed > "$d/hold.gz"
    wait "$pid"
    plain=$(cat "$d/hold.plain") gz=$(cat "$d/hold.gz")
    _deploy_no_hold_verdict "events are not held back: the earliest is %s s behind the schedule (< 0.15 s)" "$plain"
    _deploy_no_hold_verdict "... also with Accept-Encoding: gzip (%s s)" "$gz" --compressed
}

# _deploy_no_hold_verdict FORMAT LATENESS [CURL_OPTION...]: passes when
# LATENESS is under 0.15 s, else when a second measurement with the same
# options is; FORMAT's %s shows the value(s).
_deploy_no_hold_verdict() {
    local format=$1 l=$2 again
    shift 2
    _deploy_hold_ok() { awk -v l="$1" 'BEGIN { exit !(l ~ /^[0-9]+\.[0-9]+$/ && l + 0 < 0.15) }'; }
    if ! _deploy_hold_ok "$l"; then
        again=$(_deploy_spawn_lateness "$@")
        l="$l, then $again on a second try,"
        # shellcheck disable=SC2059
        _deploy_check "$(printf "$format" "$l")" _deploy_hold_ok "$again"
        return
    fi
    # shellcheck disable=SC2059
    _deploy_check "$(printf "$format" "$l")" _deploy_hold_ok "$l"
}

# deploy_check_routes PREFIX: what the server itself answers around the
# responders: 404 for a missing static file, 413 for a body over 128 KiB
# (from the server, or from the responder, whose own limit is lower);
# with a prefix, PREFIX redirects to PREFIX/ and /sse-stream outside the
# prefix is not an event stream.
deploy_check_routes() {
    local prefix=$1 d code origin
    d=$(_deploy_dir)
    origin=$(_deploy_origin)
    _deploy_eq "a missing static file is 404" 404 \
        "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$BASE_URL/assets/nope.css")"
    head -c 200000 /dev/zero | tr '\0' 'a' > "$d/200k.txt"
    _deploy_auth_set
    # shellcheck disable=SC2154 # set by _deploy_auth_set (deploy_checks.sh)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${_deploy_auth[@]}" \
        --data-binary @"$d/200k.txt" "$BASE_URL/events/big")
    _deploy_eq "a body over 128 KiB is 413" 413 "$code"
    rm -f "$d/200k.txt"
    [ -n "$prefix" ] || return 0
    code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code} %{redirect_url}' "$origin$prefix")
    _deploy_eq "$prefix without the slash redirects to $prefix/" "301 $origin$prefix/" "$code"
    code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code} %{content_type}' "$origin/sse-stream")
    _deploy_check "/sse-stream outside the prefix is not sselight's ($code)" \
        bash -c "! grep -q 'text/event-stream' <<< '$code'"
}

# deploy_check_token: the responders have SSELIGHT_PUBLISH_TOKEN (the
# prefix deployment): a publish without it is refused, and the publishes
# of deploy_check_pubsub carry it (DEPLOY_PUBLISH_AUTH), so the server
# passes the Authorization header on.
deploy_check_token() {
    local code
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' --data-binary x "$BASE_URL/events/deploy-token")
    _deploy_check "a publish without the token is refused ($code), even from loopback" \
        bash -c "[ '$code' = 401 ] || [ '$code' = 403 ]"
    code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H "$DEPLOY_PUBLISH_AUTH" \
        --data-binary x "$BASE_URL/events/deploy-token")
    _deploy_eq "with Authorization: Bearer TOKEN it is 200 (the header reaches the responder)" 200 "$code"
}

# deploy_check_disconnect_h2 HEARTBEAT_MS LIMIT_S: deploy_check_disconnect
# with every curl speaking HTTP/2 without TLS (prior knowledge), as browsers
# speak HTTP/2 over TLS.
deploy_check_disconnect_h2() {
    local home label=$DEPLOY_LABEL
    home=$(_deploy_dir)/h2curl
    mkdir -p "$home"
    echo 'http2-prior-knowledge' > "$home/.curlrc"
    DEPLOY_LABEL="$label (HTTP/2)"
    CURL_HOME=$home deploy_check_disconnect "$1" "$2"
    DEPLOY_LABEL=$label
}

# deploy_spawn_run PREFIX LABEL: one deployment (see the top of the file).
deploy_spawn_run() {
    local prefix=$1 failed_before=$FAILED env=()
    LABEL=$2
    LABEL_FILE=$(echo "${prefix:-root}" | tr -c 'A-Za-z0-9\n' '_' | sed 's/^_*//')
    # shellcheck disable=SC2034 # read by deploy_checks.sh
    DEPLOY_LABEL=$LABEL DEPLOY_OUT=$OUT_DIR/$LABEL_FILE
    DEPLOY_PUBLISH_AUTH=""
    if [ -n "$prefix" ]; then
        env=(SSELIGHT_PUBLISH_TOKEN="$DEPLOY_SPAWN_TOKEN")
        DEPLOY_PUBLISH_AUTH="Authorization: Bearer $DEPLOY_SPAWN_TOKEN"
    fi
    if ! deploy_spawn_responders "$prefix" "${env[@]}" || ! host_start "$prefix"; then
        fail "$LABEL: $HOST_NAME starts with the rendered config" "logs: $OUT_DIR/$LABEL_FILE-*"
        deploy_spawn_show_logs
        deploy_spawn_stop
        return
    fi
    pass "$LABEL: $HOST_NAME starts with the rendered config"

    deploy_check_example1
    deploy_check_no_hold
    deploy_check_pubsub
    [ -n "$prefix" ] && deploy_check_token
    deploy_check_heartbeat "$IDLE_S"
    deploy_check_disconnect "$HB_MS" ${DISCONNECT_S:+"$DISCONNECT_S"}
    [ -n "${DISCONNECT_H2_S:-}" ] && deploy_check_disconnect_h2 "$HB_MS" "$DISCONNECT_H2_S"
    deploy_check_metrics
    deploy_check_routes "$prefix"
    host_checks "$prefix"

    if [ "$FAILED" -gt "$failed_before" ]; then
        echo "# $LABEL failed; logs: $OUT_DIR/$LABEL_FILE-*"
        deploy_spawn_show_logs
    fi
    deploy_spawn_stop
}

# deploy_spawn_main: the deployment at the site root, then under /apps/sse;
# then the summary line.
deploy_spawn_main() {
    local t0
    t0=$SECONDS
    deploy_spawn_run "" "$HOST_NAME /"
    echo "# root deployment took $((SECONDS - t0)) s"
    t0=$SECONDS
    deploy_spawn_run /apps/sse "$HOST_NAME /apps/sse"
    echo "# prefix deployment took $((SECONDS - t0)) s"
    harness_finish
}
