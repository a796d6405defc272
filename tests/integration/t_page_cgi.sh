#!/bin/bash
# The page program run as CGI (the request in the environment, the body on
# stdin, the response on stdout), against the same program under FastCGI
# behind the real lighttpd: every page, fragment and error gets the same
# status, headers and body either way (the room form's random key aside).
# Then what only CGI has: the room post from stdin into the broker, 413 and
# 415, the URL prefix from SCRIPT_NAME, no data dir (refused, logged), a
# bad setting (500, reason in the log), stdout closed early, and run by
# hand (neither CGI nor FastCGI).
source "$(dirname "$0")/../lib/harness.sh"

CGI=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
PAGE=$CGI/index.fcgi
TMP=$(mktemp -d /tmp/sselight-pc.XXXXXX)
trap 'rm -rf "$TMP"; [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null' EXIT
LOG=$OUT_DIR/stderr.log
: > "$LOG"
DATA=$TMP/data
mkdir -p "$DATA"

# cgi METHOD URI [VAR=VALUE...]: one CGI request; body from stdin.
cgi() {
    local m=$1 u=$2
    shift 2
    env -u SSELIGHT_PREFIX GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$m" REQUEST_URI="$u" \
        REMOTE_ADDR=127.0.0.1 SSELIGHT_DATA_DIR="$DATA" "$@" timeout 10 "$PAGE" 2>>"$LOG"
}
status() { sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$1" | tr -d '\r'; }
# The room form's key is random in every answer.
nokey() { sed -E 's/name="key" value="[0-9a-f]{32}"/name="key" value="KEY"/'; }

check "lighttpd with the FastCGI page responder starts" server_start

# --- the same answers either way
# A CGI answer is "Status: ..." + headers + body; lighttpd turns the
# FastCGI one into an HTTP response. Compared: status, the header lines
# (lowercased, without what lighttpd adds) and the body.
split_cgi() { # FILE -> FILE.status FILE.headers FILE.body
    status "$1" > "$1.status"
    sed -n '2,/^\r$/p' "$1" | tr -d '\r' | sed '/^$/d' | tr 'A-Z' 'a-z' | sort > "$1.headers"
    sed '1,/^\r$/d' "$1" | nokey > "$1.body"
}
split_http() { # FILE.h FILE.b -> FILE.status FILE.headers FILE.body
    sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$1.h" | tr -d '\r' > "$1.status"
    sed -n '2,$p' "$1.h" | tr -d '\r' | sed '/^$/d' | tr 'A-Z' 'a-z' |
        grep -v -E '^(date|server|content-length|transfer-encoding|connection|accept-ranges):' | sort > "$1.headers"
    nokey < "$1.b" > "$1.body"
}
compare() { # NAME METHOD PATH
    local name=$1 m=$2 path=$3 f=$TMP/$1
    cgi "$m" "$path" < /dev/null > "$f.cgi"
    split_cgi "$f.cgi"
    case "$m" in
        HEAD) curl -s --max-time 5 -I -o /dev/null -D "$f.http.h" "$BASE_URL$path"
              : > "$f.http.b" ;;
        POST) curl -s --max-time 5 --data '' -D "$f.http.h" -o "$f.http.b" "$BASE_URL$path" ;;
        *)    curl -s --max-time 5 -X "$m" -D "$f.http.h" -o "$f.http.b" "$BASE_URL$path" ;;
    esac
    split_http "$f.http"
    if cmp -s "$f.cgi.status" "$f.http.status" && cmp -s "$f.cgi.headers" "$f.http.headers" &&
        cmp -s "$f.cgi.body" "$f.http.body"; then
        pass "$m $path: the same status ($(cat "$f.cgi.status")), headers and body as CGI and as FastCGI"
    else
        fail "$m $path: the same status, headers and body as CGI and as FastCGI" \
            "$(diff <(cat "$f.cgi.status" "$f.cgi.headers" "$f.cgi.body") \
                    <(cat "$f.http.status" "$f.http.headers" "$f.http.body") | head -5 | tr '\n' ' ')"
    fi
}
compare root GET /
compare example2 GET /example2
compare example2-start GET /example2/start
compare trigger GET /trigger
compare close GET /close
compare dashboard GET /dashboard
compare room GET /room
compare notfound GET /no/such/page
compare head HEAD /
compare post-root POST /
compare delete-room DELETE /room
expect_eq "the CGI answer of / is 200" 200 "$(cat "$TMP/root.cgi.status")"
check "the CGI answer of / carries Example 1's element" \
    grep -q 'sse-connect="/sse-stream" sse-swap="EventName"' "$TMP/root.cgi.body"
check "the CGI answer of / has a Content-Security-Policy" grep -q '^content-security-policy: ' "$TMP/root.cgi.headers"
check "HEAD as CGI: no body" test ! -s "$TMP/head.cgi.body"
long=/$(head -c 3000 /dev/zero | tr '\0' a)
cgi GET "$long" < /dev/null > "$TMP/long"
expect_eq "a 3,000-byte path as CGI is 414" 414 "$(status "$TMP/long")"
cgi GET /trigger/fragment < /dev/null > "$TMP/frag"
expect_eq "/trigger/fragment as CGI is 200" 200 "$(status "$TMP/frag")"
check "/trigger/fragment as CGI says where it came from" grep -q 'Fetched from the page responder' "$TMP/frag"

# --- the room post from stdin
form='text=hello+from+cgi&key=00112233445566778899aabbccddeeff'
printf '%s' "$form" | cgi POST /room/messages CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=${#form} > "$TMP/post"
expect_eq "a room post as CGI is 200" 200 "$(status "$TMP/post")"
check "the answer is a fresh form" grep -q 'id="room-form"' "$TMP/post"
stored=$(SSELIGHT_DATA_DIR=$DATA timeout 5 "$ROOT/cgi-bin/sselight-pub" -d "$DATA" -e probe probe x >/dev/null 2>&1;
    sqlite3 "$DATA/broker.db" "SELECT data FROM events WHERE channel = 'room'" 2>/dev/null)
check "the post is stored in the room channel, escaped and rendered" \
    grep -q '<span>hello from cgi</span>' <<< "$stored"
printf '%s' "$form" | cgi POST /room/messages CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=${#form} > "$TMP/post2"
n=$(sqlite3 "$DATA/broker.db" "SELECT count(*) FROM events WHERE channel = 'room'" 2>/dev/null)
expect_eq "the same form key posted again is stored once" 1 "$n"
head -c 5000 /dev/zero | tr '\0' a | sed 's/^/text=/' | cgi POST /room/messages \
    CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=5005 > "$TMP/big"
expect_eq "a 5,005-byte room form is 413" 413 "$(status "$TMP/big")"
printf 'text=x' | cgi POST /room/messages CONTENT_TYPE=text/plain CONTENT_LENGTH=6 > "$TMP/type"
expect_eq "a room post that is not a form is 415" 415 "$(status "$TMP/type")"
printf 'text=' | cgi POST /room/messages CONTENT_TYPE=application/x-www-form-urlencoded CONTENT_LENGTH=5 > "$TMP/empty"
expect_eq "an empty room message is 422" 422 "$(status "$TMP/empty")"

# --- the URL prefix from SCRIPT_NAME
cgi GET /~alice/sse/room SCRIPT_NAME=/~alice/sse/index.fcgi < /dev/null > "$TMP/pre"
expect_eq "SCRIPT_NAME /~alice/sse/index.fcgi: /~alice/sse/room is the room page" 200 "$(status "$TMP/pre")"
check "... and its URLs carry /~alice/sse" grep -q 'sse-connect="/~alice/sse/events/room' "$TMP/pre"
check "... every one of them" bash -c "! grep -oE '(src|href|hx-post|hx-get|sse-connect)=\"/[^\"]*\"' '$TMP/pre' | grep -v '\"/~alice/sse/'"
cgi GET /~alice/sse/room SCRIPT_NAME=/~alice/sse/other.cgi < /dev/null > "$TMP/pre404"
expect_eq "a SCRIPT_NAME that does not name the program gives no prefix (404)" 404 "$(status "$TMP/pre404")"
cgi GET /other/room SSELIGHT_PREFIX=/apps/sse < /dev/null > "$TMP/outside"
expect_eq "SSELIGHT_PREFIX=/apps/sse: /other/room is outside it (404)" 404 "$(status "$TMP/outside")"

# --- failures
printf '%s' "$form" | cgi POST /room/messages CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=${#form} SSELIGHT_DATA_DIR= > "$TMP/nodata"
expect_eq "no data dir under CGI: the room post is not stored (503 with the form)" 503 "$(status "$TMP/nodata")"
check "no data dir under CGI: the log says to set data_dir" grep -q 'room: no data directory: set data_dir' "$LOG"
cgi GET / SSELIGHT_PREFIX=apps/ < /dev/null > "$TMP/badset"
expect_eq "a bad setting as CGI: 500" 500 "$(status "$TMP/badset")"
check "a bad setting: the reason is in the log" grep -q "SSELIGHT_PREFIX must be empty or like" "$LOG"
cgi GET / SSELIGHT_METRICS_TOKEN=short-token < /dev/null > "$TMP/badtok"
expect_eq "a metrics token of 11 characters as CGI: 500" 500 "$(status "$TMP/badtok")"
check "... the log names the setting and the bounds, not the token" bash -c \
    "grep -q 'SSELIGHT_METRICS_TOKEN: metrics_token must be 16 to 255' '$LOG' && ! grep -q short-token '$LOG'"
cgi GET / SSELIGHT_HISTORY=lots < /dev/null > "$TMP/badhist"
expect_eq "SSELIGHT_HISTORY=lots as CGI: 500 (the room's broker would use it)" 500 "$(status "$TMP/badhist")"
cgi GET / < /dev/null | head -c 10 > /dev/null
expect_eq "stdout closed early: the program still exits (no hang)" 0 "${PIPESTATUS[0]}"
"$PAGE" < /dev/null > /dev/null 2> "$TMP/hand"
expect_eq "run by hand: exit status 2" 2 "$?"
check "run by hand: says it is a FastCGI or CGI program" grep -q 'FastCGI or CGI program' "$TMP/hand"

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$LOG"; then
    fail "no sanitizer reports in the program's stderr"
else
    pass "no sanitizer reports in the program's stderr"
fi
harness_finish
