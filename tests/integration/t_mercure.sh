#!/bin/bash
# The Mercure hub (/.well-known/mercure) through the real lighttpd and curl,
# with JWTs signed by node:crypto (tests/lib/jwt-mint.mjs), not by sselight:
#   1. off without SSELIGHT_MERCURE_PUBLISHER_JWT_KEY: 404, and pages carry
#      no Link header; on: pages carry Link: </.well-known/mercure>;
#      rel="mercure"
#   2. delivery: six subscribers (exact, template, unrelated, "*" with a
#      subscribe claim by cookie, by Bearer header, by ?authorization=) and
#      three updates (public with id/type/retry, private with two topics,
#      public with two topics): each gets exactly what its selectors and
#      its claim allow, in the documented SSE form
#   3. resume: by a custom id (header) and a generated urn:uuid (query),
#      earliest, an unknown id (live only); the head names the last kept
#      update; 409 for a kept id
#   4. every refusal with its status and reason: JWT missing, cookie-only,
#      bad signature, expired, not yet valid, alg none, no publish claim,
#      a topic outside the claim; bad forms, 415, 413, 405 with Allow, bad
#      selectors and Last-Event-ID, a bad subscriber JWT; the channels API
#      cannot name the hub's channel
#   5. RS256 with a PEM file: its tokens pass, an HS256 token signed with
#      the PEM text is refused
#   6. two stream processes: every subscriber gets every update
#   7. the Redis broker: publish, subscribe, resume by a custom id, 409
#   8. the stream program as CGI (one request, no web server): publish and
#      a bad key stopping it at start with the setting named
source "$(dirname "$0")/../lib/harness.sh"

export SSELIGHT_HEARTBEAT_MS=1000
NODE=$(command -v node)
KEY='mercure-test-secret-of-40-bytes-0123456'
HUB=/.well-known/mercure
BG=()
REDIS_PID=""
KEYDIR=$(mktemp -d /tmp/sselight-mercure.XXXXXX)

cleanup() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null
    rm -rf "$KEYDIR"
}
trap cleanup EXIT

mint() { "$NODE" "$ROOT/tests/lib/jwt-mint.mjs" "$@"; }
PUB_ALL=$(mint --key "$KEY" --claims '{"mercure":{"publish":["*"]}}')

# post TOKEN CURL-ARGS...: POSTs to the hub (form fields in CURL-ARGS);
# the body goes to $OUT_DIR/post.body, the status is printed.
post() {
    local token=$1
    shift
    curl -s -o "$OUT_DIR/post.body" -w '%{http_code}' --max-time 5 \
        ${token:+-H "Authorization: Bearer $token"} "$@" "$BASE_URL$HUB"
}
body() { cat "$OUT_DIR/post.body"; }

# refused DESC STATUS REASON TOKEN CURL-ARGS...: the publish is answered
# STATUS with a body that contains REASON.
refused() {
    local desc=$1 status=$2 reason=$3 token=$4 got
    shift 4
    got=$(post "$token" "$@")
    if [ "$got" = "$status" ] && grep -qF -- "$reason" "$OUT_DIR/post.body"; then
        pass "$desc: $status"
    else
        fail "$desc" "expected $status with '$reason', got $got: $(head -c 200 "$OUT_DIR/post.body")"
    fi
}

# sub NAME SECONDS QUERY [CURL-ARGS...]: a subscriber in the background,
# its stream in $OUT_DIR/NAME.sse.
sub() {
    local name=$1 secs=$2 query=$3
    shift 3
    : > "$OUT_DIR/$name.sse"
    curl -gsN --max-time "$secs" "$@" "$BASE_URL$HUB?$query" > "$OUT_DIR/$name.sse" 2>/dev/null &
    BG+=($!)
}
# has NAME TEXT / lacks NAME TEXT: the stream has / does not have TEXT.
has() { grep -qF -- "$2" "$OUT_DIR/$1.sse"; }
lacks() { ! grep -qF -- "$2" "$OUT_DIR/$1.sse"; }
# started NAME...: each subscriber got its stream head (the retry: line).
started() {
    local n
    for n in "$@"; do wait_for_line "$OUT_DIR/$n.sse" '^retry:' 5 || return 1; done
}
# fetch SECONDS QUERY [CURL-ARGS...]: a stream read for SECONDS, printed.
fetch() {
    local secs=$1 query=$2
    shift 2
    curl -gsN --max-time "$secs" "$@" "$BASE_URL$HUB?$query" 2>/dev/null
}
status_of() { curl -gs -o /dev/null -w '%{http_code}' --max-time 3 "$@"; }

# --- 1. off, then on ------------------------------------------------------
unset SSELIGHT_MERCURE_PUBLISHER_JWT_KEY SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY \
      SSELIGHT_MERCURE_PUBLISHER_JWT_ALG SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG
server_start || { fail "lighttpd starts without a Mercure key"; harness_finish; exit 1; }
expect_eq "hub off: GET is 404" 404 "$(status_of "$BASE_URL$HUB?topic=x")"
curl -s -o "$OUT_DIR/off.body" --max-time 3 -X POST -d topic=x "$BASE_URL$HUB"
check "hub off: the 404 names the setting" contains "$OUT_DIR/off.body" SSELIGHT_MERCURE_PUBLISHER_JWT_KEY
check "hub off: pages carry no Link header" \
    bash -c "! curl -sI --max-time 3 '$BASE_URL/' | grep -qi '^link:'"
server_stop

export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEY
server_start || { fail "lighttpd starts with a Mercure key"; harness_finish; exit 1; }
curl -sI --max-time 3 "$BASE_URL/" > "$OUT_DIR/page.head"
check "hub on: the page's Link header names the hub" \
    grep -q '^Link: </.well-known/mercure>; rel="mercure"' "$OUT_DIR/page.head"

# --- 2. delivery ----------------------------------------------------------
SUB_BOOKS=$(mint --key "$KEY" --claims '{"mercure":{"subscribe":["https://example.com/books/{id}"]}}')
SUB_NOPE=$(mint --key "$KEY" --claims '{"mercure":{"subscribe":["urn:nope"]}}')
SUB_ALL=$(mint --key "$KEY" --claims '{"mercure":{"subscribe":["*"]}}')
sub exact 4 'topic=https://example.com/books/1'
sub tmpl 4 'topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D'
sub other 4 'topic=urn:other'
sub cookie 4 'topic=*' -b "mercureAuthorization=$SUB_BOOKS"
sub header 4 'topic=*' -H "Authorization: Bearer $SUB_NOPE"
sub query 4 "topic=https://example.com/books/{id}&authorization=$SUB_ALL"
check "six subscribers started" started exact tmpl other cookie header query

expect_eq "public update with id, type and retry: 200" 200 \
    "$(post "$PUB_ALL" -d topic=https://example.com/books/1 -d type=book -d retry=1500 \
        -d id=pub-1 --data-urlencode $'data=first\nline two')"
expect_eq "the answer is the id" pub-1 "$(body)"
expect_eq "private update with two topics: 200" 200 \
    "$(post "$PUB_ALL" -d topic=https://example.com/books/2 -d topic=https://example.com/users/alice \
        -d private=on -d data=secret-2)"
PRIV_ID=$(body)
check "a generated id is urn:uuid: and a version 4 UUID ($PRIV_ID)" \
    grep -Eq '^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$OUT_DIR/post.body"
expect_eq "public update with two topics: 200" 200 \
    "$(post "$PUB_ALL" -d topic=urn:other -d topic=https://example.com/books/3 -d data=third)"
THIRD_ID=$(body)
wait_for_line "$OUT_DIR/query.sse" 'data: third' 5
wait_for_line "$OUT_DIR/other.sse" 'data: third' 5

printf 'retry: 1500\nevent: book\nid: pub-1\ndata: first\ndata: line two\n\n' > "$OUT_DIR/pub1.want"
check "the exact selector gets the first update in the documented form" \
    grep -qzF -- "$(cat "$OUT_DIR/pub1.want")" "$OUT_DIR/exact.sse"
check "the exact selector does not get books/3" lacks exact 'data: third'
check "the template selector gets books/1 and books/3" bash -c \
    "grep -q 'data: first' '$OUT_DIR/tmpl.sse' && grep -q 'data: third' '$OUT_DIR/tmpl.sse'"
check "anonymous subscribers never get the private update" bash -c \
    "! grep -q secret-2 '$OUT_DIR/exact.sse' '$OUT_DIR/tmpl.sse' '$OUT_DIR/other.sse'"
check "urn:other gets only the update that has that topic" bash -c \
    "grep -q 'data: third' '$OUT_DIR/other.sse' && ! grep -q 'data: first' '$OUT_DIR/other.sse'"
check "a cookie JWT whose claim selects books/2 gets the private update" has cookie 'data: secret-2'
check "... with its id" has cookie "id: $PRIV_ID"
check "a Bearer JWT whose claim selects nothing of it does not" lacks header secret-2
check "... but gets the public ones" bash -c "grep -q 'data: first' '$OUT_DIR/header.sse' && grep -q 'data: third' '$OUT_DIR/header.sse'"
check "an ?authorization= JWT with subscribe [*] gets the private update" has query 'data: secret-2'
n=$(grep -c '^data: third' "$OUT_DIR/query.sse")
expect_eq "an update that two topics select arrives once" 1 "$n"

# --- 3. resume ------------------------------------------------------------
fetch 1 'topic=*' -H 'Last-Event-ID: pub-1' -D "$OUT_DIR/resume1.head" > "$OUT_DIR/resume1.sse"
check "a resumed stream's head names the last kept update (Last-Event-ID: $THIRD_ID)" \
    grep -qx "Last-Event-ID: $THIRD_ID"$'\r' "$OUT_DIR/resume1.head"
check "... also as Mercure-Last-Event-ID" grep -qx "Mercure-Last-Event-ID: $THIRD_ID"$'\r' "$OUT_DIR/resume1.head"
check "Last-Event-ID: pub-1 resumes after it: the third update" contains "$OUT_DIR/resume1.sse" 'data: third'
check "... and not pub-1 itself" bash -c "! grep -q 'data: first' '$OUT_DIR/resume1.sse'"
check "... nor, anonymous, the private one" bash -c "! grep -q secret-2 '$OUT_DIR/resume1.sse'"
fetch 1 "topic=*&lastEventID=$PRIV_ID" -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/resume2.sse"
check "?lastEventID=<generated id> resumes after it" bash -c \
    "grep -q 'data: third' '$OUT_DIR/resume2.sse' && ! grep -q 'secret-2' '$OUT_DIR/resume2.sse'"
fetch 1 'topic=*&lastEventID=earliest' -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/earliest.sse"
expect_eq "earliest replays every kept update, in order" "pub-1 $PRIV_ID $THIRD_ID" \
    "$(sed -n 's/^id: //p' "$OUT_DIR/earliest.sse" | tr '\n' ' ' | sed 's/ $//')"
fetch 1 'topic=*' -H 'Last-Event-ID: never-published' > "$OUT_DIR/unknown.sse"
check "an unknown Last-Event-ID resumes live: nothing replayed" bash -c "! grep -q '^data:' '$OUT_DIR/unknown.sse'"
check "... and the log says so" wait_for_log 'Mercure Last-Event-ID is not among' 3
refused "a second update with a kept id" 409 "already kept" "$PUB_ALL" -d topic=t -d id=pub-1

# --- 4. refusals ----------------------------------------------------------
refused "publish without a JWT" 401 "publishing needs a JWT" "" -d topic=t
refused "publish with the cookie only" 401 "not the cookie" "" -b "mercureAuthorization=$PUB_ALL" -d topic=t
refused "a JWT signed with another key" 401 "unauthorized: JWT bad signature" \
    "$(mint --key "${KEY}x" --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "an expired JWT" 401 "unauthorized: JWT expired" \
    "$(mint --key "$KEY" --exp-in -10 --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "a JWT not yet valid" 401 "not yet valid" \
    "$(mint --key "$KEY" --nbf-in 600 --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "alg none" 401 "algorithm not accepted" \
    "$(mint --alg none --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "a JWT without mercure.publish" 403 "no mercure.publish claim" \
    "$(mint --key "$KEY" --claims '{"mercure":{"subscribe":["*"]}}')" -d topic=t
BOOKS_ONLY=$(mint --key "$KEY" --claims '{"mercure":{"publish":["https://example.com/books/{id}"]}}')
refused "a topic outside mercure.publish" 403 "does not select every topic" "$BOOKS_ONLY" -d topic=urn:x
refused "one of two topics outside mercure.publish" 403 "does not select every topic" "$BOOKS_ONLY" \
    -d topic=https://example.com/books/9 -d topic=urn:x
expect_eq "a topic inside mercure.publish: 200" 200 "$(post "$BOOKS_ONLY" -d topic=https://example.com/books/9)"
code=$(curl -s -o "$OUT_DIR/post.body" -w '%{http_code}' --max-time 5 -d topic=t \
    "$BASE_URL$HUB?authorization=$PUB_ALL")
check "a JWT in ?authorization= also publishes ($code)" grep -q '^urn:uuid:' "$OUT_DIR/post.body"
refused "no topic" 400 "no topic" "$PUB_ALL" -d data=x
refused "a malformed escape" 400 "bad form encoding" "$PUB_ALL" -d 'topic=a%zz'
refused "retry=abc" 400 "bad retry" "$PUB_ALL" -d topic=t -d retry=abc
refused "two ids" 400 "twice" "$PUB_ALL" -d topic=t -d id=a -d id=b
refused "17 topics" 400 "too many topics" "$PUB_ALL" $(for i in $(seq 17); do echo "-d topic=t$i"; done)
refused "a text/plain body" 415 "x-www-form-urlencoded" "$PUB_ALL" -H 'Content-Type: text/plain' -d topic=t
head -c 70000 /dev/zero | tr '\0' a > "$OUT_DIR/big.txt"
refused "a body over 65536 bytes" 413 "too large" "$PUB_ALL" -d topic=t --data-urlencode "data@$OUT_DIR/big.txt"
code=$(curl -s -D "$OUT_DIR/put.head" -o /dev/null -w '%{http_code}' --max-time 3 -X PUT "$BASE_URL$HUB")
expect_eq "PUT: 405" 405 "$code"
check "... with Allow: GET, HEAD, POST" grep -qi '^Allow: GET, HEAD, POST' "$OUT_DIR/put.head"
expect_eq "subscribe without a topic: 400" 400 "$(status_of "$BASE_URL$HUB")"
expect_eq "a malformed template selector: 400" 400 "$(status_of "$BASE_URL$HUB?topic=https://x/%7Bid")"
expect_eq "a Last-Event-ID over 255 bytes: 400" 400 \
    "$(status_of -H "Last-Event-ID: $(head -c 300 /dev/zero | tr '\0' a)" "$BASE_URL$HUB?topic=t")"
expect_eq "an expired subscriber JWT: 401" 401 \
    "$(status_of -H "Authorization: Bearer $(mint --key "$KEY" --exp-in -5 --claims '{}')" "$BASE_URL$HUB?topic=t")"
expect_eq "a subscribe claim that is not an array: 401" 401 \
    "$(status_of -b "mercureAuthorization=$(mint --key "$KEY" --claims '{"mercure":{"subscribe":"*"}}')" "$BASE_URL$HUB?topic=t")"
expect_eq "the channels API cannot subscribe to the hub's channel" 400 \
    "$(status_of "$BASE_URL/events/mercure:updates")"
expect_eq "nor publish to it" 400 "$(status_of -X POST -d x "$BASE_URL/events/mercure:updates")"
check "refusals are logged" wait_for_log 'stream: 403 for POST /.well-known/mercure: forbidden' 3
server_stop

# --- 5. RS256 from a PEM file ----------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYDIR/private.pem" 2>/dev/null
openssl pkey -in "$KEYDIR/private.pem" -pubout -out "$KEYDIR/public.pem"
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEYDIR/public.pem SSELIGHT_MERCURE_PUBLISHER_JWT_ALG=RS256
if server_start; then
    RS_ALL=$(mint --alg RS256 --key-file "$KEYDIR/private.pem" --claims '{"mercure":{"publish":["*"],"subscribe":["*"]}}')
    sub rs 3 'topic=urn:rs' -b "mercureAuthorization=$RS_ALL"
    started rs
    expect_eq "RS256: a token signed with the private key publishes" 200 \
        "$(post "$RS_ALL" -d topic=urn:rs -d private=1 -d data=rsa-private)"
    check "RS256: the subscriber's RS256 cookie gets the private update" wait_for_line "$OUT_DIR/rs.sse" 'data: rsa-private' 5
    refused "RS256: an HS256 token signed with the public PEM as secret" 401 "algorithm not accepted" \
        "$(mint --alg HS256 --key-file "$KEYDIR/public.pem" --claims '{"mercure":{"publish":["*"]}}')" -d topic=urn:rs
    server_stop
else
    fail "lighttpd starts with an RS256 key file"
fi
unset SSELIGHT_MERCURE_PUBLISHER_JWT_ALG
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEY

# --- 6. two stream processes ------------------------------------------------
if SSELIGHT_STREAM_PROCS=2 server_start; then
    for i in 1 2 3 4 5 6; do sub "p$i" 4 'topic=urn:procs:{n}'; done
    started p1 p2 p3 p4 p5 p6
    expect_eq "two stream processes run" 2 "$(server_procs stream.fcgi | wc -l)"
    for i in 1 2 3; do post "$PUB_ALL" -d "topic=urn:procs:$i" -d "data=procs-$i" > /dev/null; done
    ok=0
    for i in 1 2 3 4 5 6; do
        wait_for_line "$OUT_DIR/p$i.sse" 'data: procs-3' 5 &&
            [ "$(grep -c '^data: procs-' "$OUT_DIR/p$i.sse")" = 3 ] && ok=$((ok + 1))
    done
    expect_eq "every subscriber on either process got the 3 updates once" 6 "$ok"
    server_stop
else
    fail "lighttpd starts with two stream processes"
fi

# --- 7. the Redis broker ----------------------------------------------------
REDIS_PORT=$(free_port)
if redis_server_start "$REDIS_PORT" "$OUT_DIR/redis.log" && \
   SSELIGHT_BROKER=redis://127.0.0.1:$REDIS_PORT/0 server_start; then
    sub redis 3 'topic=urn:redis'
    started redis
    expect_eq "Redis: publish with a custom id" 200 "$(post "$PUB_ALL" -d topic=urn:redis -d id=redis-1 -d data=r1)"
    post "$PUB_ALL" -d topic=urn:redis -d id=redis-2 -d data=r2 > /dev/null
    check "Redis: the subscriber gets both" wait_for_line "$OUT_DIR/redis.sse" 'data: r2' 5
    fetch 1 'topic=urn:redis' -H 'Last-Event-ID: redis-1' > "$OUT_DIR/redis-resume.sse"
    check "Redis: resume after redis-1 gives redis-2 only" bash -c \
        "grep -q 'data: r2' '$OUT_DIR/redis-resume.sse' && ! grep -q 'data: r1' '$OUT_DIR/redis-resume.sse'"
    refused "Redis: a kept id again" 409 "already kept" "$PUB_ALL" -d topic=urn:redis -d id=redis-1
    server_stop
else
    fail "redis-server and lighttpd start with the Redis broker"
fi
[ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
REDIS_PID=""

# --- 8. the stream program as CGI ---------------------------------------------
STREAM=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}/stream.fcgi
mkdir -m 700 "$KEYDIR/cgi-data" # under CGI the data dir is not created
form='topic=urn%3Acgi&data=from+cgi&id=cgi-1'
out=$(printf '%s' "$form" | env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
    REQUEST_URI=$HUB SCRIPT_NAME=/stream.fcgi CONTENT_TYPE=application/x-www-form-urlencoded \
    CONTENT_LENGTH=${#form} HTTP_AUTHORIZATION="Bearer $PUB_ALL" REMOTE_ADDR=127.0.0.1 \
    SSELIGHT_DATA_DIR="$KEYDIR/cgi-data" SSELIGHT_MERCURE_PUBLISHER_JWT_KEY="$KEY" \
    timeout 10 "$STREAM" 2>"$OUT_DIR/cgi.err")
check "CGI: a publish is answered 200 with the id" bash -c \
    "printf '%s' \"\$1\" | grep -q '^Status: 200' && printf '%s' \"\$1\" | tail -n 1 | grep -qx 'cgi-1'" _ "$out"
out=$(env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI="$HUB?topic=t" \
    SCRIPT_NAME=/stream.fcgi SSELIGHT_DATA_DIR="$KEYDIR/cgi-data" SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=short \
    timeout 10 "$STREAM" 2>"$OUT_DIR/cgi-bad.err"); rc=$?
check "CGI: a short HS256 key stops it at start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "... with a line naming the setting" grep -q 'SSELIGHT_MERCURE_PUBLISHER_JWT_KEY: an HS256 key must be at least 32 bytes' "$OUT_DIR/cgi-bad.err"
check "... and a 500 for the client" bash -c "printf '%s' \"\$1\" | grep -q '^Status: 500'" _ "$out"

harness_finish
