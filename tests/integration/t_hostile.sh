#!/bin/bash
# Hostile input through the real lighttpd: bad channel and event names, line
# breaks and markup in data, bad Last-Event-ID values, oversized requests,
# wrong methods, the room form, slowloris connections, and the security
# headers. Each bad request must get a clear error (its status, a short
# one-line text/plain reason, a log line), must store nothing, and must leave
# the server serving: after every case a subscriber on another channel still
# receives a newly published event. Expected values come from README.md
# (Routes, Channels, Limits), not from what the server happens to answer.
source "$(dirname "$0")/../lib/harness.sh"

export SSELIGHT_DATA_DIR=$(mktemp -d /tmp/sselight-h.XXXXXX)

now_ms() { date +%s%3N; }
note() { echo "# $*"; }

# hit CURL-ARGS...: one request. Sets CODE and CTYPE (curl's view of the
# final response); head in $OUT_DIR/last.head, body in $OUT_DIR/last.body.
hit() {
    local meta
    : > "$OUT_DIR/last.head"
    : > "$OUT_DIR/last.body"
    meta=$(curl -s --path-as-is --max-time 10 -o "$OUT_DIR/last.body" -D "$OUT_DIR/last.head" \
        -w '%{http_code}|%{content_type}' "$@")
    CODE=${meta%%|*}
    CTYPE=${meta#*|}
}

# hit_raw REQUEST: writes REQUEST (printf format) on a raw TCP connection
# and reads the answer until the server closes it (at most 5 s). Sets CODE
# and CTYPE, and splits the answer into last.head and last.body.
hit_raw() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf "$1" >&3
    timeout 5 cat <&3 > "$OUT_DIR/last.raw"
    exec 3<&-
    sed -n '1,/^\r$/p' "$OUT_DIR/last.raw" > "$OUT_DIR/last.head"
    sed '1,/^\r$/d' "$OUT_DIR/last.raw" > "$OUT_DIR/last.body"
    if grep -qi '^Transfer-Encoding: *chunked' "$OUT_DIR/last.head"; then
        node -e '
            const fs = require("fs");
            let b = fs.readFileSync(process.argv[1]), out = [];
            for (;;) {
                const eol = b.indexOf("\r\n");
                const n = parseInt(b.subarray(0, eol).toString(), 16);
                if (!(n > 0)) break;
                out.push(b.subarray(eol + 2, eol + 2 + n));
                b = b.subarray(eol + 2 + n + 2);
            }
            fs.writeFileSync(process.argv[1], Buffer.concat(out));' "$OUT_DIR/last.body"
    fi
    CODE=$(head -n1 "$OUT_DIR/last.head" | cut -d' ' -f2)
    CTYPE=$(header Content-Type)
}

# header FIELD: the value of one header of the last response, CR stripped.
header() { grep -i "^$1:" "$OUT_DIR/last.head" | tail -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'; }

# publish CHANNEL DATA [QUERY]: prints the id. Notes each id in
# published.ids (it runs in subshells), so that "nothing else was stored"
# can be checked from the global ids.
: > "$OUT_DIR/published.ids"
publish() {
    local id
    id=$(curl -s --max-time 10 --data-binary "$2" "$BASE_URL/events/$1${3:+?$3}")
    case "$id" in '' | *[!0-9]*) echo "# publish to $1 failed: '$id'" >&2; return 1 ;; esac
    echo "$id" >> "$OUT_DIR/published.ids"
    echo "$id"
}
stored() { wc -l < "$OUT_DIR/published.ids"; }

# Subscribers write to $OUT_DIR/sub.NAME.
sub_start() { # sub_start NAME URL [CURL-ARGS...]
    local name=$1 url=$2
    shift 2
    : > "$OUT_DIR/sub.$name"
    curl -sN --max-time 120 "$@" -o "$OUT_DIR/sub.$name" "$url" &
    eval "SUB_$name=\$!"
}
sub_stop() { local v="SUB_$1"; kill "${!v}" 2>/dev/null; wait "${!v}" 2>/dev/null; }
sub_running() { local v="SUB_$1"; alive "${!v}"; }
# wait_sub NAME PATTERN [SECONDS]: the subscriber's output gets a line
# matching PATTERN (default: at most 5 s).
wait_sub() {
    local i
    for i in $(seq 1 $((${3:-5} * 50))); do
        grep -q -- "$2" "$OUT_DIR/sub.$1" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}
ids() { grep '^id: ' "$OUT_DIR/sub.$1" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }

# sse_events FILE: parses an event stream as a browser does (WHATWG
# EventSource: CR, LF and CRLF end lines; a blank line dispatches) and
# prints one line per dispatched event: TYPE<TAB>LAST-EVENT-ID<TAB>DATA-AS-JSON.
sse_events() {
    node -e '
        const text = require("fs").readFileSync(process.argv[1], "utf8");
        let type = "", data = "", id = "", hasData = false;
        for (const line of text.split(/\r\n|\r|\n/)) {
            if (line === "") {
                if (hasData) console.log([type || "message", id, JSON.stringify(data.replace(/\n$/, ""))].join("\t"));
                type = ""; data = ""; hasData = false;
                continue;
            }
            if (line.startsWith(":")) continue;
            const c = line.indexOf(":");
            const field = c < 0 ? line : line.slice(0, c);
            let value = c < 0 ? "" : line.slice(c + 1);
            if (value.startsWith(" ")) value = value.slice(1);
            if (field === "event") type = value;
            else if (field === "data") { data += value + "\n"; hasData = true; }
            else if (field === "id" && !value.includes("\0")) id = value;
        }' "$1"
}

# --- the server, and a subscriber that must keep receiving throughout
server_start || { fail "lighttpd starts"; harness_finish; exit 1; }
BACKENDS=$(server_backends | sort -n | tr '\n' ' ')
sub_start alive "$BASE_URL/events/alive" --max-time 170
wait_sub alive '^retry: ' 5 || fail "the liveness subscriber connects"

# serving: a fresh publish on channel "alive" reaches the subscriber that
# has been connected since the start. Returns 1 (with a reason on fd 3).
serving() {
    local id
    sub_running alive || { echo "the subscriber on channel alive was disconnected" >&3; return 1; }
    id=$(publish alive "ping") || { echo "publishing to channel alive failed" >&3; return 1; }
    wait_sub alive "^id: $id\$" 5 || { echo "event $id did not reach the subscriber within 5 s" >&3; return 1; }
}

# check_serving DESC
check_serving() {
    local why
    why=$( { serving; } 3>&1 ) && pass "$1" || fail "$1" "$why"
}

# check_plain DESC: the last answer is a short, one-line text/plain reason.
check_plain() {
    local size lines
    size=$(stat -c %s "$OUT_DIR/last.body")
    lines=$(tr -cd '\n' < "$OUT_DIR/last.body" | wc -c)
    if [[ "$CTYPE" == text/plain* ]] && [ "$size" -gt 0 ] && [ "$size" -lt 200 ] &&
        { [ "$lines" -eq 0 ] || { [ "$lines" -eq 1 ] && [ -z "$(tail -c1 "$OUT_DIR/last.body")" ]; }; } &&
        ! LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' < "$OUT_DIR/last.body"); then
        pass "$1"
    else
        fail "$1" "Content-Type '$CTYPE', $size bytes, $lines line breaks: $(head -c 80 "$OUT_DIR/last.body" | tr '\n' ' ')"
    fi
}

# log_since OFFSET STRING: a line holding STRING was written to the server
# log after byte OFFSET. The responders and lighttpd write their lines
# before they answer, so a short wait is plenty.
log_since() {
    local i
    for i in $(seq 1 10); do
        tail -c +$(($1 + 1)) "$SERVER_LOG" | grep -qF -- "$2" && return 0
        sleep 0.1
    done
    return 1
}
log_size() { stat -c %s "$SERVER_LOG"; }

# answered_by: a note when lighttpd answered the last request itself (both
# responders send X-Content-Type-Options on every answer; lighttpd does not).
answered_by() {
    [ -n "$(header X-Content-Type-Options)" ] ||
        note "answered by lighttpd itself, not a responder: $CODE $CTYPE, $(stat -c %s "$OUT_DIR/last.body") bytes"
}

# bad DESC STATUS LOG-STRING CURL-ARGS...: one bad request; checks its
# status, the one-line plain reason, the log line, and that the server
# still serves.
bad() {
    local desc=$1 want=$2 logstr=$3 off
    shift 3
    off=$(log_size)
    hit "$@"
    expect_eq "$desc: $want" "$want" "$CODE"
    answered_by
    check_plain "$desc: a one-line text/plain reason"
    check "$desc: a log line naming '$logstr'" log_since "$off" "$logstr"
    check_serving "$desc: the server still serves other channels"
}
# lighttpd_refuses DESC CURL-ARGS...: a request whose URL decodes to a
# control character or to bytes that are not UTF-8. lighttpd refuses it
# itself (its 400 page) before any responder sees it, and logs nothing:
# its only way to log such requests also writes their Authorization header
# to the log (SECURITY.md). What must hold: 400, from lighttpd, no
# responder involved, and the server still serves.
lighttpd_refuses() {
    local desc=$1 off
    shift
    off=$(log_size)
    hit "$@"
    expect_eq "$desc: 400" 400 "$CODE"
    check "$desc: refused by lighttpd before a responder (no responder header)" \
        test -z "$(header X-Content-Type-Options)"
    check "$desc: no responder logged it (none saw it)" \
        bash -c "! tail -c +$((off + 1)) '$SERVER_LOG' | grep -qE '^(stream|page):'"
    check_serving "$desc: the server still serves other channels"
}

# bad_raw DESC STATUS LOG-STRING REQUEST: the same over a raw socket.
bad_raw() {
    local desc=$1 want=$2 logstr=$3 off
    off=$(log_size)
    hit_raw "$4"
    expect_eq "$desc: $want" "$want" "$CODE"
    answered_by
    check_plain "$desc: a one-line text/plain reason"
    check "$desc: a log line naming '$logstr'" log_since "$off" "$logstr"
    check_serving "$desc: the server still serves other channels"
}

# Ids are global and every publish takes the next one: a marker published
# before and after a block of bad requests shows whether anything besides
# what this script published was stored in between.
mark_start() { MARK=$(publish mark "m"); MARK_STORED=$(stored); }
check_nothing_stored() {
    local m2 want
    m2=$(publish mark "m")
    want=$((MARK + $(stored) - MARK_STORED))
    expect_eq "$1: nothing was stored by the refused requests (the next id is the expected one)" "$want" "$m2"
}

# ============================================================================
# Channel names, on subscribe (GET) and publish (POST)
# ============================================================================
c65=$(printf 'c%.0s' $(seq 65))
mark_start
for name in '' "$c65" '.' 'a%2fb' '%00' 'a%0ab' '%ff' '%c0%af' 'a%20b' '%C3%A9' 'a%2Fb%2F..%2F..' '%2e'; do
    label=${name:-<empty>}
    [ "$name" = "$c65" ] && label="65 characters"
    case "$name" in
    '%00' | 'a%0ab' | '%ff' | '%c0%af')
        lighttpd_refuses "GET /events/$label" "$BASE_URL/events/$name"
        lighttpd_refuses "POST /events/$label" --data-binary x "$BASE_URL/events/$name"
        continue ;;
    esac
    bad "GET /events/$label" 400 "GET /events/$name" "$BASE_URL/events/$name"
    bad "POST /events/$label" 400 "POST /events/$name" --data-binary x "$BASE_URL/events/$name"
done
# A literal space in the request line (curl would refuse to send it).
bad_raw "GET /events/a b (raw space)" 400 "GET /events/a b" \
    'GET /events/a b HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'
bad_raw "POST /events/a b (raw space)" 400 "POST /events/a b" \
    'POST /events/a b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx'
# Dot segments: lighttpd removes them (and decodes %2e) before it picks a
# backend, so these never reach the channels API; the page responder, which
# gets the raw REQUEST_URI, answers its 404 page. What must hold: an error
# (400 or 404), never a 5xx, never a 200 or an event stream, a log line.
for p in '/events/..' '/events/../etc' '/events/%2e%2e' '/events/%2E%2E/%2E%2E/etc/passwd' '/events/../../stats'; do
    for m in GET POST; do
        off=$(log_size)
        if [ $m = GET ]; then hit "$BASE_URL$p"; else hit --data-binary x "$BASE_URL$p"; fi
        note "$m $p -> $CODE $CTYPE ($(stat -c %s "$OUT_DIR/last.body") bytes)"
        check "$m $p (dot segments) is refused with 400 or 404, not served: $CODE" \
            test "$CODE" = 400 -o "$CODE" = 404
        check "$m $p is not an event stream or a stats answer" \
            bash -c "[[ '$CTYPE' != text/event-stream* && '$CTYPE' != application/json* ]]"
        check "$m $p: a log line" log_since "$off" "$m $p"
        check_serving "$m $p: the server still serves other channels"
    done
done
check_nothing_stored "bad channel names"

# ============================================================================
# Several channels on one connection
# ============================================================================
many=$(for i in $(seq 17); do printf 'channel=c%d&' "$i"; done)
bad "GET /events with 17 channels" 400 "GET /events?channel=c1&" "$BASE_URL/events?${many%&}"
for q in 'channel=a&channel=b%20c&channel=d' 'channel=a&channel=..&channel=d' 'channel=a&channel=&channel=d' \
         "channel=a&channel=$c65" 'channel=a&channel=x%2fy' 'channel=a&channel=%0a' 'channel=a&channel=%ff'; do
    case "$q" in
    *%0a | *%ff) lighttpd_refuses "GET /events?$q (one bad among good)" "$BASE_URL/events?$q" ;;
    *) bad "GET /events?$q (one bad among good)" 400 "GET /events?$q" "$BASE_URL/events?$q" ;;
    esac
done
# Control: 16 distinct channels are allowed.
sixteen=$(for i in $(seq 16); do printf 'channel=c%d&' "$i"; done)
hit --max-time 1 "$BASE_URL/events?${sixteen%&}"
expect_eq "control: 16 channels on one connection is a stream" "200 text/event-stream" "$CODE ${CTYPE%%;*}"

# ============================================================================
# Event names on publish: refused and not stored
# ============================================================================
legit=$(publish evn "legit" "event=ok")
for e in 'a%0db' 'a%0ab' 'a%00b' 'a%0d%0aid:%205' '%0d%0a%0d%0adata:%20x' "$(printf 'e%.0s' $(seq 65))" '' 'a%20b' 'a%3Ab%0a'; do
    label=${e:-<empty>}
    [ ${#e} = 65 ] && label="65 characters"
    case "$e" in
    *%0d* | *%0a* | *%00*)
        lighttpd_refuses "POST ?event=$label" --data-binary "injected" "$BASE_URL/events/evn?event=$e" ;;
    *) bad "POST ?event=$label" 400 "POST /events/evn?event=$e" --data-binary "injected" "$BASE_URL/events/evn?event=$e" ;;
    esac
done
sub_start evn "$BASE_URL/events/evn?history=100"
wait_sub evn "^id: $legit\$" 5
sleep 0.3
sub_stop evn
expect_eq "?history=100 on that channel has only the legitimate event: one id line" "$legit" "$(ids evn)"
expect_eq "... one event: line" "event: ok" "$(grep '^event:' "$OUT_DIR/sub.evn" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... and, parsed as a browser does, one event" "$(printf 'ok\t%s\t"legit"' "$legit")" "$(sse_events "$OUT_DIR/sub.evn")"
check "... no 'injected' data anywhere" bash -c "! grep -q injected '$OUT_DIR/sub.evn'"

# ============================================================================
# Data: line breaks never make new events or fields
# ============================================================================
sub_start data "$BASE_URL/events/data"
wait_sub data '^retry: ' 5 || fail "the data subscriber connects"
printf 'a\r\nb\rc\nd' > "$OUT_DIR/d1.bin"
printf 'x\n\nevent: x\ndata: y' > "$OUT_DIR/d2.bin"
printf 'p\r\n\r\nid: 99\r\nevent: evil\r\n\r\nretry: 1\r\rq' > "$OUT_DIR/d3.bin"
printf ': comment\n\ndata: z\n\n' > "$OUT_DIR/d4.bin"
d1=$(publish data @"$OUT_DIR/d1.bin")
d2=$(publish data @"$OUT_DIR/d2.bin")
d3=$(publish data @"$OUT_DIR/d3.bin")
d4=$(publish data @"$OUT_DIR/d4.bin")
wait_sub data "^id: $d4\$" 5
sleep 0.2
sub_stop data
awk -v id="$d1" '$0 == "id: " id {on = 1; next} on && $0 == "" {exit} on' "$OUT_DIR/sub.data" > "$OUT_DIR/data1.lines"
expect_eq "a\\r\\nb\\rc\\nd arrives as exactly data: a, data: b, data: c, data: d in one event" \
    "data: a|data: b|data: c|data: d" "$(tr '\n' '|' < "$OUT_DIR/data1.lines" | sed 's/|$//')"
check "no CR byte reaches the subscriber (a lone CR is a line break to a browser)" \
    bash -c "! grep -q $'\r' '$OUT_DIR/sub.data'"
{
    printf 'message\t%s\t%s\n' "$d1" '"a\nb\nc\nd"'
    printf 'message\t%s\t%s\n' "$d2" '"x\n\nevent: x\ndata: y"'
    printf 'message\t%s\t%s\n' "$d3" '"p\n\nid: 99\nevent: evil\n\nretry: 1\n\nq"'
    printf 'message\t%s\t%s\n' "$d4" '": comment\n\ndata: z\n\n"'
} > "$OUT_DIR/data.expected"
sse_events "$OUT_DIR/sub.data" > "$OUT_DIR/data.parsed"
check "parsed as a browser does: one event per publish, the data intact, no injected event, id or retry" \
    cmp -s "$OUT_DIR/data.expected" "$OUT_DIR/data.parsed"
if ! cmp -s "$OUT_DIR/data.expected" "$OUT_DIR/data.parsed"; then
    diff "$OUT_DIR/data.expected" "$OUT_DIR/data.parsed" | sed 's/^/#   /'
fi
check "no retry: field other than the server's own" test "$(grep -c '^retry:' "$OUT_DIR/sub.data")" = 1

mark_start
printf 'a\0b' > "$OUT_DIR/nul.bin"
bad "POST data with a NUL byte" 400 "POST /events/data" --data-binary @"$OUT_DIR/nul.bin" "$BASE_URL/events/data"
for bytes in '\xff' '\xc3\x28' '\xc0\xaf' '\xed\xa0\x80' '\xe2\x82' '\xf4\x90\x80\x80' 'ok\xfe'; do
    printf "$bytes" > "$OUT_DIR/bad.bin"
    bad "POST invalid UTF-8 ($bytes)" 400 "POST /events/data" --data-binary @"$OUT_DIR/bad.bin" "$BASE_URL/events/data"
done
check_nothing_stored "NUL and invalid UTF-8"

# ============================================================================
# Last-Event-ID
# ============================================================================
l1=$(publish lid "l1"); l2=$(publish lid "l2"); l3=$(publish lid "l3")
# README: an id that is not plain digits (no sign, no leading zero, at most
# 2^53) is a 400. Past 2^53 (and past 64 bits) must not wrap around into a
# small id that replays old events.
for v in abc -1 1e3 +5 0x10 '5 6' '1.0' '5;6' 007 00 \
         9007199254740993 9223372036854775808 18446744073709551616 99999999999999999999999; do
    bad "Last-Event-ID: $v" 400 "GET /events/lid" -H "Last-Event-ID: $v" "$BASE_URL/events/lid"
    check "Last-Event-ID: $v: nothing replayed" bash -c "! grep -q '^id:' '$OUT_DIR/last.body'"
done
bad "?lastEventId= (empty)" 400 "GET /events/lid?lastEventId=" "$BASE_URL/events/lid?lastEventId="
bad "?lastEventId=abc" 400 "GET /events/lid?lastEventId=abc" "$BASE_URL/events/lid?lastEventId=abc"
bad "?lastEventId=18446744073709551617" 400 "GET /events/lid?lastEventId=18446744073709551617" \
    "$BASE_URL/events/lid?lastEventId=18446744073709551617"
# README: an id above any this store has given out (2^53 here) is read as
# the last id: nothing replayed, live events from then on, and a log line.
off=$(log_size)
sub_start future "$BASE_URL/events/lid" -H "Last-Event-ID: 9007199254740992"
wait_sub future '^retry: ' 5
l4=$(publish lid "l4")
wait_sub future "^id: $l4\$" 5
sub_stop future
expect_eq "Last-Event-ID: 2^53 (above every id): nothing replayed, then the next live event" "$l4" "$(ids future)"
check "... and a log line about it" log_since "$off" "9007199254740992"
check_serving "Last-Event-ID: 2^53: the server still serves other channels"
# " 5": the leading space is optional whitespace in HTTP (RFC 9110), not part
# of the value, so it may be read as 5; it must then resume after it.
hit --max-time 1 -H "Last-Event-ID:  $l1" "$BASE_URL/events/lid"
note "Last-Event-ID: ' $l1' -> $CODE $CTYPE"
if [ "$CODE" = 400 ]; then
    pass "Last-Event-ID with a leading space: 400"
else
    expect_eq "Last-Event-ID with a leading space: 400, or read as the number" 200 "$CODE"
    expect_eq "... and then exactly the events after it" "$l2 $l3 $l4" \
        "$(grep '^id: ' "$OUT_DIR/last.body" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
fi
# Empty: lighttpd passes no empty header to FastCGI, so this is the same
# as no header (live only). It must never replay anything.
hit --max-time 1 -H "Last-Event-ID;" "$BASE_URL/events/lid"
note "empty Last-Event-ID -> $CODE $CTYPE"
check "an empty Last-Event-ID is 400 or no resume at all: nothing replayed ($CODE)" \
    bash -c "[ '$CODE' = 400 ] || { [ '$CODE' = 200 ] && ! grep -q '^id:' '$OUT_DIR/last.body'; }"
check_serving "empty Last-Event-ID: the server still serves other channels"
# An id from another channel means "after that point in time".
a1=$(publish chanA "a1"); a2=$(publish chanA "a2"); a3=$(publish chanA "a3")
b1=$(publish chanB "b1")
a4=$(publish chanA "a4"); a5=$(publish chanA "a5")
sub_start xres "$BASE_URL/events/chanA" -H "Last-Event-ID: $b1"
wait_sub xres "^id: $a5\$" 5
sleep 0.3
sub_stop xres
expect_eq "Last-Event-ID from channel B on channel A: only A's events after it" "$a4 $a5" "$(ids xres)"
expect_eq "... with A's data" "$(printf 'message\t%s\t"a4"\nmessage\t%s\t"a5"' "$a4" "$a5")" "$(sse_events "$OUT_DIR/sub.xres")"

# ============================================================================
# Sizes, query values and methods
# ============================================================================
mark_start
head -c 65537 /dev/zero | tr '\0' 'a' > "$OUT_DIR/big.txt"
bad "POST a body of 64 KiB + 1" 413 "413 for POST /events/big" --data-binary @"$OUT_DIR/big.txt" "$BASE_URL/events/big"
head -c 204800 /dev/zero | tr '\0' 'a' > "$OUT_DIR/huge.txt"
off=$(log_size)
hit --data-binary @"$OUT_DIR/huge.txt" "$BASE_URL/events/big"
note "a 200 KiB body -> $CODE $CTYPE (README: lighttpd's server.max-request-size, 128 KiB)"
expect_eq "POST a body of 200 KiB: 413 (lighttpd's limit)" 413 "$CODE"
check "... logged" log_since "$off" "413"
check_serving "a 200 KiB body: the server still serves other channels"
check_nothing_stored "the oversized bodies"
long=$(head -c 2040 /dev/zero | tr '\0' 'a')
bad "GET /events/ + 2040 characters (path of 2048)" 414 "414 for GET /events/aaaa" "$BASE_URL/events/$long"
bad "POST /events/x?+2040 characters (URI of 2050)" 414 "414 for POST /events/x?aaaa" --data-binary x "$BASE_URL/events/x?$long"
bad "GET /+2047 characters (a page path of 2048)" 414 "414 for GET /aaaa" "$BASE_URL/${long}aaaaaaa"
# Boundary control: a URI of 2047 bytes is not "too long".
hit "$BASE_URL/${long}aaaaaa"
expect_eq "control: a URI of 2047 bytes is not 414 (404 from the page responder)" 404 "$CODE"
off=$(log_size)
hit -H "X-Big: $(head -c 20480 /dev/zero | tr '\0' 'b')" "$BASE_URL/events/x"
note "a 20 KiB request header -> $CODE $CTYPE (lighttpd answers it)"
check "a 20 KiB request header is a 4xx ($CODE)" bash -c "[ '$CODE' -ge 400 ] && [ '$CODE' -lt 500 ]"
check "... logged" log_since "$off" "$CODE"
check_serving "a 20 KiB request header: the server still serves other channels"
for h in 101 -1 abc 1e2 100000000000000000000; do
    bad "?history=$h" 400 "GET /events/x?history=$h" "$BASE_URL/events/x?history=$h"
done
for m in PUT DELETE PATCH OPTIONS; do
    bad "$m /events/x" 405 "$m /events/x" -X $m --data-binary x "$BASE_URL/events/x"
    allow=$(header Allow)
    check "$m /events/x has an Allow header listing GET, not $m ('$allow')" \
        bash -c "[[ '$allow' == *GET* && '$allow' != *$m* ]]"
done
for p in / /room; do
    bad "PUT $p" 405 "PUT $p" -X PUT --data-binary x "$BASE_URL$p"
    allow=$(header Allow)
    check "PUT $p has an Allow header listing GET, not PUT ('$allow')" \
        bash -c "[[ '$allow' == *GET* && '$allow' != *PUT* ]]"
done

# ============================================================================
# The room form
# ============================================================================
mark_start
bad "POST /room/messages as application/json" 415 "415 for POST /room/messages" \
    -H 'Content-Type: application/json' --data-binary '{"text":"hi"}' "$BASE_URL/room/messages"
bad "POST /room/messages without a Content-Type" 415 "415 for POST /room/messages" \
    -H 'Content-Type:' --data-binary 'text=hi' "$BASE_URL/room/messages"
bad "POST /room/messages over 4 KiB" 413 "413 for POST /room/messages" \
    --data-binary "text=$(head -c 4100 /dev/zero | tr '\0' 'a')" "$BASE_URL/room/messages"
# Control characters: 422 with the form and the reason (README: "the form
# with the reason (422)"), an HTML fragment for htmx to swap.
for t in 'a%01b' 'a%0d%0ab' 'a%0ab' 'a%1b%5b31m' 'a%7fb' 'a%00b' '%09'; do
    off=$(log_size)
    hit --data-binary "text=$t" "$BASE_URL/room/messages"
    expect_eq "room text '$t': 422" 422 "$CODE"
    check "room text '$t': the form comes back with a reason" \
        bash -c "grep -q 'id=\"room-form\"' '$OUT_DIR/last.body' && grep -Eq 'class=\"form-error\"[^>]*>[^<]+</p>' '$OUT_DIR/last.body'"
    check "room text '$t': a log line" log_since "$off" "422 for POST /room/messages"
    check_serving "room text '$t': the server still serves other channels"
done
check_nothing_stored "refused room posts"

# ============================================================================
# Slowloris: two connections that dribble while others are served
# ============================================================================
SLOW_SECS=9
node - "$PORT" "$SLOW_SECS" > "$OUT_DIR/slowloris.json" 2>&1 <<'JS' &
// Two connections to the server: one sends its request headers one byte
// every 2 s, the other a POST with Content-Length: 100 whose body comes one
// byte every 2 s. Prints, after SECONDS, what happened to each.
const net = require('net');
const [port, secs] = [Number(process.argv[2]), Number(process.argv[3])];
const t0 = Date.now();
const res = {};
const socks = [];
function dribble(name, head, byte) {
  const r = res[name] = { open: true, closedAfterMs: null, firstReplyMs: null, reply: '', sent: 0 };
  const s = net.connect(port, '127.0.0.1', () => {
    s.write(head); r.sent += head.length;
    const iv = setInterval(() => { if (!s.destroyed) { s.write(byte); r.sent++; } }, 2000);
    s.on('close', () => { clearInterval(iv); r.open = false; r.closedAfterMs = Date.now() - t0; });
  });
  s.on('data', (d) => { r.reply += d.toString('latin1'); if (r.firstReplyMs === null) r.firstReplyMs = Date.now() - t0; });
  s.on('error', (e) => { r.error = e.code; });
  socks.push(s);
}
dribble('headers', 'GET /events/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 'a');
dribble('body', 'POST /events/slowbody HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n', 'b');
setTimeout(() => {
  for (const r of Object.values(res)) r.reply = r.reply.split('\r\n')[0];
  console.log(JSON.stringify(res));
  for (const s of socks) s.destroy();
}, secs * 1000);
JS
SLOW_PID=$!
sleep 1
slow_ok=0
for round in 1 2 3; do
    t0=$(now_ms)
    sub_start "fast$round" "$BASE_URL/events/fast$round"
    wait_sub "fast$round" '^retry: ' 5
    t1=$(now_ms)
    id=$(publish "fast$round" "quick")
    wait_sub "fast$round" "^id: $id\$" 5
    t2=$(now_ms)
    sub_stop "fast$round"
    note "slowloris round $round: subscribe answered in $((t1 - t0)) ms, publish to delivery $((t2 - t1)) ms"
    check "while slowloris connections are open (round $round): subscribe answers within 1 s ($((t1 - t0)) ms)" \
        test $((t1 - t0)) -lt 1000
    check "while slowloris connections are open (round $round): publish to delivery within 1 s ($((t2 - t1)) ms)" \
        test $((t2 - t1)) -lt 1000
    check_serving "while slowloris connections are open (round $round): the old subscriber still receives"
    sleep 1.5
done
hit "$BASE_URL/room"
expect_eq "while slowloris connections are open: a page loads" 200 "$CODE"
wait "$SLOW_PID"
note "slowloris after ${SLOW_SECS} s: $(cat "$OUT_DIR/slowloris.json")"
check "the slowloris helper ran" grep -q '"headers"' "$OUT_DIR/slowloris.json"
check "the dribbled POST stored nothing (its body never completed)" \
    bash -c "! curl -s --max-time 2 '$BASE_URL/events/slowbody?history=100' | grep -q '^id:'"

# ============================================================================
# Response headers
# ============================================================================
for u in /events/hdr '/events?channel=a&channel=b' /sse-stream /streams/dashboard; do
    hit --max-time 1 "$BASE_URL$u"
    expect_eq "GET $u is an event stream" "text/event-stream" "${CTYPE%%;*}"
    expect_eq "GET $u: Cache-Control: no-store" "no-store" "$(header Cache-Control)"
    expect_eq "GET $u: X-Accel-Buffering: no" "no" "$(header X-Accel-Buffering)"
    expect_eq "GET $u: X-Content-Type-Options: nosniff" "nosniff" "$(header X-Content-Type-Options)"
done
# script-src (or default-src, when script-src is absent) of a CSP value
csp_script_src() {
    local d
    d=$(tr ';' '\n' <<< "$1" | sed 's/^ *//' | grep -i '^script-src ' | head -n1)
    [ -n "$d" ] || d=$(tr ';' '\n' <<< "$1" | sed 's/^ *//' | grep -i '^default-src ' | head -n1)
    echo "$d"
}
for p in / /room /dashboard /example2 /trigger /close /no-such-page; do
    hit "$BASE_URL$p"
    csp=$(header Content-Security-Policy)
    ss=$(csp_script_src "$csp")
    note "$p ($CODE): Content-Security-Policy: $csp"
    check "$p has a Content-Security-Policy with script-src 'self' ('$ss')" \
        bash -c "[[ \"\$1\" == 'script-src '* && \"\$1\" == *\"'self'\"* ]]" _ "$ss"
    check "$p: script-src allows neither 'unsafe-inline' nor 'unsafe-eval'" \
        bash -c "[ -n \"\$1\" ] && [[ \"\$1\" != *unsafe-inline* && \"\$1\" != *unsafe-eval* ]]" _ "$ss"
    expect_eq "$p: X-Content-Type-Options: nosniff" "nosniff" "$(header X-Content-Type-Options)"
    check "$p has a Referrer-Policy ('$(header Referrer-Policy)')" test -n "$(header Referrer-Policy)"
done

# ============================================================================
# Afterwards
# ============================================================================
check_serving "at the end, the first subscriber still receives"
sub_stop alive
after=$(server_backends | sort -n | tr '\n' ' ')
expect_eq "no responder crashed or was restarted (same processes as at the start)" "$BACKENDS" "$after"
check "lighttpd and the responders stop on SIGTERM" server_stop
rm -rf "$SSELIGHT_DATA_DIR"
harness_finish
