# shellcheck shell=bash
# Server-independent checks of a deployed sselight (nginx, Apache, lighttpd,
# ...), sourced after tests/lib/harness.sh (uses pass/fail/check/expect_eq,
# alive and OUT_DIR). Every check talks HTTP to BASE_URL only, which
# includes the mount prefix, if any, e.g. http://127.0.0.1:PORT/apps/sse.
#
#   deploy_check_example1          /sse-stream: 11 exact events, each flushed
#                                  on time; its headers; the page / and every
#                                  src/href in it answers 200
#   deploy_check_pubsub            subscribe, publish 3 (from loopback), ids;
#                                  resume with Last-Event-ID
#   deploy_check_heartbeat IDLE_S  a quiet stream outlives the server's idle
#                                  timeout IDLE_S twice over (heartbeats),
#                                  then still gets a publish
#   deploy_check_disconnect [HEARTBEAT_MS [LIMIT_S]]
#                                  a kill -9'd subscriber is freed in the
#                                  responder within heartbeat + 2 s, or
#                                  LIMIT_S (/stats)
#   deploy_check_metrics           /metrics is the Prometheus text format and
#                                  counts a new subscriber within 5 s (summed
#                                  over every stream process); /status is 200
#                                  and connects to PREFIX/streams/status,
#                                  which sends status events
#   deploy_metrics_until SECONDS NAME OP VALUE...
#                                  polls /metrics until the samples compare
#                                  (for checks of a test's own)
#
# Optional variables:
#   DEPLOY_PUBLISH_AUTH  a header for the publishes ("Authorization: Bearer
#                 TOKEN") where a publish token is set
#   DEPLOY_LABEL  put before every check's description (e.g. "nginx /apps/sse"),
#                 so two runs in one test are told apart
#   DEPLOY_OUT    where the checks write their files (default $OUT_DIR/deploy)
# Each check is bounded in time (every curl has --max-time); none needs
# anything but bash, curl, awk, grep and sed.

# DEPLOY_PUBLISH_AUTH: a header line for publishes, such as
# "Authorization: Bearer TOKEN", where a publish token is set.
_deploy_auth=()
_deploy_auth_set() { _deploy_auth=(); [ -n "${DEPLOY_PUBLISH_AUTH:-}" ] && _deploy_auth=(-H "$DEPLOY_PUBLISH_AUTH"); return 0; }

# _deploy_desc TEXT: TEXT with the label in front.
_deploy_desc() { echo "${DEPLOY_LABEL:+$DEPLOY_LABEL: }$1"; }
_deploy_pass() { pass "$(_deploy_desc "$1")"; }
_deploy_fail() { fail "$(_deploy_desc "$1")" "${2:-}"; }
_deploy_check() { local d=$1; shift; check "$(_deploy_desc "$d")" "$@"; }
_deploy_eq() { expect_eq "$(_deploy_desc "$1")" "$2" "$3"; }

# _deploy_dir: creates and prints the output directory.
_deploy_dir() {
    local d=${DEPLOY_OUT:-$OUT_DIR/deploy}
    mkdir -p "$d"
    echo "$d"
}

# _deploy_origin: scheme://host:port of BASE_URL.
_deploy_origin() { sed -E 's#^([a-zA-Z]+://[^/]+).*#\1#' <<< "$BASE_URL"; }

# _deploy_resolve URL: a URL found in the page at $BASE_URL/, made absolute.
# Prints nothing for a URL of another origin.
_deploy_resolve() {
    local u=$1 origin
    origin=$(_deploy_origin)
    u=${u//&amp;/&}
    case "$u" in
        "$origin"/*) echo "$u" ;;
        http://* | https://* | //*) ;;
        /*) echo "$origin$u" ;;
        *) echo "$BASE_URL/$u" ;;
    esac
}


# _deploy_ids FILE: the id: values in an SSE capture, space-separated.
_deploy_ids() { grep '^id: ' "$1" | cut -d' ' -f2 | tr -d '\r' | tr '\n' ' ' | sed 's/ $//'; }

# _deploy_chan_subs CHANNEL: the channel's subscriber count in /stats
# (empty when the channel has none).
_deploy_chan_subs() {
    curl -s --max-time 3 "$BASE_URL/stats" | grep -o "\"$1\":[0-9]*" | cut -d: -f2
}

# _deploy_stop_curl PID: ends a background curl and reaps it.
_deploy_stop_curl() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# _deploy_ex1_event TEXT: the bytes FastHTML's
# sse_message(Div(P(TEXT)), event="EventName") sends.
_deploy_ex1_event() {
    printf 'event: EventName\ndata: <div>\ndata:   <p>%s</p>\ndata: </div>\n\n' "$1"
}

deploy_check_example1() {
    local d start curl_rc code i first_ok gaps url abs n_urls bad_urls sse
    d=$(_deploy_dir)
    for i in 0 1 2 3 4 5 6 7 8 9; do _deploy_ex1_event "message number $i"; done > "$d/ex1.expected"
    _deploy_ex1_event DONE >> "$d/ex1.expected"

    # Each line is stamped as it arrives (curl -N does not buffer), so a
    # server that buffers the response shows up in the gaps.
    rm -f "$d/ex1.timed"
    start=$EPOCHREALTIME
    curl -sN --max-time 20 -D "$d/ex1.head" -o >(stamp_lines > "$d/ex1.timed") -w '%{http_code}' "$BASE_URL/sse-stream" > "$d/ex1.code"
    curl_rc=$?
    sleep 0.2 # let the stamping reader finish
    _deploy_eq "GET /sse-stream is 200" 200 "$(cat "$d/ex1.code")"
    _deploy_eq "/sse-stream ends cleanly (curl exit 0)" 0 "$curl_rc"
    _deploy_check "/sse-stream has Content-Type: text/event-stream" \
        grep -qi '^Content-Type: text/event-stream' "$d/ex1.head"
    _deploy_check "/sse-stream has Cache-Control: no-store" \
        grep -qix 'Cache-Control: no-store.\?' "$d/ex1.head"
    cut -d' ' -f2- "$d/ex1.timed" > "$d/ex1.body"
    _deploy_check "/sse-stream body is exactly the 11 events, byte for byte" \
        cmp -s "$d/ex1.expected" "$d/ex1.body"
    grep -F 'data:   <p>' "$d/ex1.timed" | cut -d' ' -f1 > "$d/ex1.times"
    _deploy_eq "11 events were timed" 11 "$(wc -l < "$d/ex1.times")"
    first_ok=$(awk -v s="$start" 'NR==1 { print ($1 - s <= 0.4) ? "yes" : "no (" $1 - s " s)" }' "$d/ex1.times")
    _deploy_eq "the first event arrives within 0.4 s of the request" yes "$first_ok"
    gaps=$(awk 'NR>1 { g = $1 - prev; if (g < 0.3 || g > 1.5) bad = bad sprintf(" %.3f", g) } { prev = $1 }
                END { print bad == "" ? "all between 0.3 and 1.5 s" : "out of range:" bad }' "$d/ex1.times")
    _deploy_eq "each event arrives on its own, 0.3-1.5 s after the last" "all between 0.3 and 1.5 s" "$gaps"

    # The page, and every URL it names.
    code=$(curl -s --max-time 5 -D "$d/page.head" -o "$d/page.html" -w '%{http_code}' "$BASE_URL/")
    _deploy_eq "GET / is 200" 200 "$code"
    _deploy_check "/ is HTML" grep -qi '^Content-Type: text/html' "$d/page.head"
    sse=$(grep -o 'sse-connect="[^"]*"' "$d/page.html" | head -n1 | cut -d'"' -f2)
    _deploy_check "the page has an sse-connect attribute" test -n "$sse"
    if [ -n "$sse" ]; then
        abs=$(_deploy_resolve "$sse")
        code=$(curl -s --max-time 5 -I -o "$d/sse-connect.head" -w '%{http_code}' "${abs:-about:blank}")
        if [ "$code" = 200 ] && grep -qi '^Content-Type: text/event-stream' "$d/sse-connect.head"; then
            _deploy_pass "sse-connect=\"$sse\" is an event stream"
        else
            _deploy_fail "sse-connect=\"$sse\" is an event stream" "HEAD $abs: $code"
        fi
    fi
    n_urls=0
    bad_urls=""
    grep -oE '(src|href)="[^"#][^"]*"' "$d/page.html" | cut -d'"' -f2 | sort -u > "$d/page.urls"
    while IFS= read -r url; do
        n_urls=$((n_urls + 1))
        abs=$(_deploy_resolve "$url")
        if [ -z "$abs" ]; then
            bad_urls="$bad_urls $url(other origin)"
            continue
        fi
        code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$abs")
        [ "$code" = 200 ] || bad_urls="$bad_urls $url($code)"
    done < "$d/page.urls"
    if [ "$n_urls" -ge 3 ] && [ -z "$bad_urls" ]; then
        _deploy_pass "all $n_urls src/href URLs of the page answer 200"
    else
        _deploy_fail "all src/href URLs of the page answer 200" \
            "$n_urls found; failing:${bad_urls:- none (expected at least the stylesheet and two scripts)}"
    fi
}

deploy_check_pubsub() {
    local d ch pid id i ids code
    _deploy_auth_set
    d=$(_deploy_dir)
    ch="deploy-ps-$$-$RANDOM"
    rm -f "$d/ps.sub" "$d/ps.resume"
    curl -sN --max-time 20 -D "$d/ps.head" -o "$d/ps.sub" "$BASE_URL/events/$ch" &
    pid=$!
    # The stream's first bytes ("retry: 3000") come when it is subscribed:
    # they also show the head and a first chunk pass through unbuffered.
    _deploy_check "a subscriber of /events/CHANNEL gets the stream's first bytes at once" \
        wait_for_line "$d/ps.sub" '^retry: ' 3
    ids=""
    for i in 1 2 3; do
        code=$(curl -s --max-time 5 -o "$d/ps.pub" -w '%{http_code}' "${_deploy_auth[@]}" \
            --data-binary "deploy event $i" "$BASE_URL/events/$ch?event=deploy")
        id=$(cat "$d/ps.pub")
        if [ "$code" != 200 ]; then
            _deploy_fail "publish $i from loopback is 200" "got $code: $(head -c 200 "$d/ps.pub")"
        fi
        ids="$ids $id"
    done
    ids=${ids# }
    # shellcheck disable=SC2086
    set -- $ids
    if [ $# -eq 3 ] && [ "$1" -ge 1 ] 2>/dev/null && [ "$2" -gt "$1" ] && [ "$3" -gt "$2" ]; then
        _deploy_pass "3 publishes answer increasing ids ($ids)"
    else
        _deploy_fail "3 publishes answer increasing ids" "got '$ids'"
        _deploy_stop_curl "$pid"
        return
    fi
    wait_for_line "$d/ps.sub" "^id: $3\$" 5
    _deploy_stop_curl "$pid"
    _deploy_eq "the subscriber got the 3 events with their ids" "$ids" "$(_deploy_ids "$d/ps.sub")"
    {
        printf 'retry: 3000\n\n'
        for i in 1 2 3; do
            printf 'event: deploy\nid: %s\ndata: deploy event %s\n\n' "${!i}" "$i"
        done
    } > "$d/ps.expected"
    # A heartbeat (": heartbeat" and its blank line) may come at any time,
    # even before the first event: it is not part of what was published.
    sed '/^: heartbeat$/,/^$/d' "$d/ps.sub" > "$d/ps.events"
    _deploy_check "... byte for byte (event name, id, data)" cmp -s "$d/ps.expected" "$d/ps.events"
    _deploy_check "the subscription has Content-Type: text/event-stream" \
        grep -qi '^Content-Type: text/event-stream' "$d/ps.head"

    curl -sN --max-time 10 -H "Last-Event-ID: $1" -o "$d/ps.resume" "$BASE_URL/events/$ch" &
    pid=$!
    wait_for_line "$d/ps.resume" "^id: $3\$" 5
    sleep 0.3 # anything more would be a duplicate
    _deploy_stop_curl "$pid"
    _deploy_eq "Last-Event-ID: $1 resumes with exactly the two after it" "$2 $3" "$(_deploy_ids "$d/ps.resume")"
    deploy_check_mercure_route
}

# deploy_check_mercure_route: /.well-known/mercure reaches the stream
# responder: with the hub off its own 404 (which names the setting), with
# it on an event stream.
deploy_check_mercure_route() {
    local d code
    d=$(_deploy_dir)
    code=$(curl -s --max-time 2 -D "$d/mercure.head" -o "$d/mercure.body" -w '%{http_code}' \
        "$BASE_URL/.well-known/mercure?topic=urn:deploy")
    if { [ "$code" = 404 ] && grep -q 'SSELIGHT_MERCURE_PUBLISHER_JWT_KEY' "$d/mercure.body"; } ||
       { [ "$code" = 200 ] && grep -qi '^Content-Type: text/event-stream' "$d/mercure.head"; }; then
        _deploy_pass "/.well-known/mercure reaches the stream responder ($code)"
    else
        _deploy_fail "/.well-known/mercure reaches the stream responder" \
            "got $code: $(head -c 120 "$d/mercure.body")"
    fi
}

# deploy_check_heartbeat IDLE_S: the caller started the responder with
# SSELIGHT_HEARTBEAT_MS well below IDLE_S, the server's read/idle timeout.
deploy_check_heartbeat() {
    local idle=$1 d ch pid id beats maxgap hold
    _deploy_auth_set
    d=$(_deploy_dir)
    ch="deploy-hb-$$-$RANDOM"
    hold=$(awk -v i="$idle" 'BEGIN { printf "%.1f", 2 * i + 0.5 }')
    rm -f "$d/hb.timed"
    curl -sN --max-time $((2 * idle + 15)) -o >(stamp_lines > "$d/hb.timed") \
        "$BASE_URL/events/$ch" &
    pid=$!
    sleep "$hold"
    if alive "$pid"; then
        _deploy_pass "a quiet stream stays open for ${hold} s (server idle timeout ${idle} s)"
    else
        _deploy_fail "a quiet stream stays open for ${hold} s (server idle timeout ${idle} s)" \
            "it ended; got: $(tr '\n' '|' < "$d/hb.timed" | head -c 300)"
    fi
    beats=$(grep -c ': heartbeat' "$d/hb.timed")
    _deploy_check "... and receives heartbeats ($beats)" test "$beats" -ge 2
    maxgap=$(awk 'NR>1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { printf "%.2f", m }' "$d/hb.timed")
    _deploy_check "... never quiet as long as the idle timeout (longest gap $maxgap s)" \
        awk -v g="$maxgap" -v i="$idle" 'BEGIN { exit !(g < i) }'
    id=$(curl -s --max-time 5 "${_deploy_auth[@]}" --data-binary "after the quiet" "$BASE_URL/events/$ch")
    _deploy_check "a publish after the quiet time reaches the subscriber (id ${id:-none})" \
        wait_for_line "$d/hb.timed" "^[0-9.]* id: ${id:-none}\$" 3
    _deploy_stop_curl "$pid"
}

# deploy_check_disconnect [HEARTBEAT_MS [LIMIT_S]]: default $SSELIGHT_HEARTBEAT_MS
# or the responder's default, 15000; LIMIT_S (seconds, tenths allowed) for
# a server that frees a departed client's stream only after some writes to
# it failed (default: heartbeat + 2 s).
deploy_check_disconnect() {
    local hb_ms=${1:-${SSELIGHT_HEARTBEAT_MS:-15000}} d ch pid i n t0 t1 limit freed
    d=$(_deploy_dir)
    ch="deploy-dc-$$-$RANDOM"
    curl -sN --max-time 60 -o /dev/null "$BASE_URL/events/$ch" &
    pid=$!
    n=""
    for i in $(seq 1 50); do
        n=$(_deploy_chan_subs "$ch")
        [ "$n" = 1 ] && break
        sleep 0.1
    done
    _deploy_eq "/stats counts a new subscriber of a channel" 1 "$n"
    limit=${2:-$(awk -v h="$hb_ms" 'BEGIN { printf "%.1f", h / 1000 + 2 }')}
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    t0=$EPOCHREALTIME
    freed=no
    while awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$limit" 'BEGIN { exit !(b - a <= l) }'; do
        n=$(_deploy_chan_subs "$ch")
        if [ -z "$n" ] || [ "$n" = 0 ]; then freed=yes; break; fi
        sleep 0.1
    done
    t1=$EPOCHREALTIME
    if [ "$freed" = yes ]; then
        _deploy_pass "after kill -9 of the client its stream is freed within $limit s ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s)"
    else
        _deploy_fail "after kill -9 of the client its stream is freed within $limit s" "/stats still counts $n"
    fi
}

# deploy_check_disconnect_procs HEARTBEAT_MS COMMAND...: the same as
# deploy_check_disconnect where streams run as CGI, one process each, and
# /stats sees only its own process: COMMAND prints the pids of the stream
# processes; the subscriber's must be gone within heartbeat + 1 s of a
# kill -9 of its client.
deploy_check_disconnect_procs() {
    local hb_ms=$1 ch pid i before new limit left
    shift
    ch="deploy-dcp-$$-$RANDOM"
    before=$("$@" | sort)
    curl -sN --max-time 60 -o /dev/null "$BASE_URL/events/$ch" &
    pid=$!
    new=""
    for i in $(seq 1 50); do
        new=$(comm -13 <(echo "$before") <("$@" | sort) | head -n 1)
        [ -n "$new" ] && break
        sleep 0.1
    done
    _deploy_check "a new subscriber runs as a process of its own" test -n "$new"
    sleep 0.5 # past its first writes
    limit=$(awk -v h="$hb_ms" 'BEGIN { printf "%.1f", h / 1000 + 1 }')
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    left=$(wait_gone "$limit" ${new:-0})
    _deploy_eq "after kill -9 of the client its stream process is gone within $limit s" "" "$left"
}

# _deploy_prefix: the path part of BASE_URL (the mount prefix; empty at
# the site root).
_deploy_prefix() { sed -E 's#^[a-zA-Z]+://[^/]+##' <<< "$BASE_URL"; }

# _deploy_metric SAMPLE FILE: the value of SAMPLE (a metric name with its
# labels, as /metrics writes them) in a /metrics capture; empty if absent.
_deploy_metric() { awk -v n="$1" '$1 == n { print $2; exit }' "$2"; }

# deploy_metrics_until SECONDS SAMPLE OP VALUE [SAMPLE OP VALUE ...]: GETs
# $BASE_URL/metrics every 0.2 s, at most SECONDS, until each SAMPLE compares
# with VALUE by OP (test's -eq, -ge, ...; integers). Returns 0 then, else 1.
# DEPLOY_METRICS_SEEN holds what the last answer said ("sample=value ...",
# "none" for a missing sample).
deploy_metrics_until() {
    local limit=$1 f end ok v i name op want
    shift
    f=$(_deploy_dir)/metrics.poll
    end=$(awk -v n="$EPOCHREALTIME" -v l="$limit" 'BEGIN { printf "%.3f", n + l }')
    while :; do
        curl -s --max-time 3 -o "$f" "$BASE_URL/metrics" || : > "$f"
        ok=yes
        DEPLOY_METRICS_SEEN=""
        for ((i = 1; i + 2 <= $#; i += 3)); do
            name=${!i}
            op=$((i + 1)); op=${!op}
            want=$((i + 2)); want=${!want}
            v=$(_deploy_metric "$name" "$f")
            DEPLOY_METRICS_SEEN="$DEPLOY_METRICS_SEEN $name=${v:-none}"
            [ -n "$v" ] && test "$v" "$op" "$want" 2>/dev/null || ok=no
        done
        DEPLOY_METRICS_SEEN=${DEPLOY_METRICS_SEEN# }
        [ "$ok" = yes ] && return 0
        awk -v n="$EPOCHREALTIME" -v e="$end" 'BEGIN { exit !(n < e) }' || return 1
        sleep 0.2
    done
}

deploy_check_metrics() {
    local d prefix ch pid code ct
    d=$(_deploy_dir)
    prefix=$(_deploy_prefix)
    rm -f "$d/metrics.txt" "$d/mx.sub" "$d/status.html" "$d/status.sse" "$d/status.head"
    code=$(curl -s --max-time 5 -o "$d/metrics.txt" -w '%{http_code} %{content_type}' "$BASE_URL/metrics")
    ct=${code#* }
    _deploy_eq "GET /metrics (from loopback) is 200" 200 "${code%% *}"
    case "$ct" in
        "text/plain; version=0.0.4"*) _deploy_pass "/metrics has Content-Type: $ct" ;;
        *) _deploy_fail "/metrics has Content-Type: text/plain; version=0.0.4" "got '$ct'" ;;
    esac
    _deploy_check "/metrics is sselight's (# HELP sselight_ first, sselight_subscribers and sselight_processes)" \
        bash -c 'head -n 1 "$1" | grep -q "^# HELP sselight_" && grep -q "^sselight_subscribers " "$1" &&
                 grep -q "^sselight_processes " "$1"' _ "$d/metrics.txt"

    # A subscriber of a channel of its own: counted in the total (summed
    # over every stream process) and by its channel's label.
    ch="deploy-mx-$$-$RANDOM"
    curl -sN --max-time 20 -o "$d/mx.sub" "$BASE_URL/events/$ch" &
    pid=$!
    if deploy_metrics_until 5 sselight_subscribers -ge 1 "sselight_channel_subscribers{channel=\"$ch\"}" -eq 1; then
        _deploy_pass "/metrics counts a new subscriber within 5 s ($DEPLOY_METRICS_SEEN)"
    else
        _deploy_fail "/metrics counts a new subscriber within 5 s" "last seen: $DEPLOY_METRICS_SEEN"
    fi
    _deploy_stop_curl "$pid"

    # The status page (page responder) and its stream (stream responder).
    code=$(curl -s --max-time 5 -o "$d/status.html" -w '%{http_code}' "$BASE_URL/status")
    _deploy_eq "GET /status (from loopback) is 200" 200 "$code"
    _deploy_check "/status has sse-connect=\"$prefix/streams/status\"" \
        grep -qF "sse-connect=\"$prefix/streams/status\"" "$d/status.html"
    curl -sN --max-time 5 -D "$d/status.head" -o "$d/status.sse" "$BASE_URL/streams/status" &
    pid=$!
    _deploy_check "$prefix/streams/status sends a status event within 3 s" \
        wait_for_line "$d/status.sse" '^event: status' 3
    _deploy_stop_curl "$pid"
    _deploy_check "... as text/event-stream" grep -qi '^Content-Type: text/event-stream' "$d/status.head"
}
