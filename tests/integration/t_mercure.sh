#!/bin/bash
# The Mercure hub (/.well-known/mercure) through the real lighttpd and curl,
# with JWTs signed by node:crypto (tests/lib/jwt-mint.mjs), not by sselight:
#   1. off without SSELIGHT_MERCURE_PUBLISHER_JWT_KEY: 404, and pages carry
#      no Link header; on: pages carry Link: </.well-known/mercure>;
#      rel="mercure"
#   2. delivery: nine subscribers (exact, template, unrelated, anonymous
#      "*", claims by cookie, by Bearer header and by ?authorization=, a
#      claim that selects the update's other topic, a claim without a
#      matching selector) and four updates (public with id/type/retry,
#      private with two topics, public with two topics, public on a path
#      the template must not match): each gets exactly what its selectors
#      and its claim allow, once, in the documented SSE form (event: and
#      retry: only when given); the publish answer is the id alone, in
#      text/plain; the stream is 200 text/event-stream
#   3. resume: a new subscription starts live; by a custom id (header and
#      query) and a generated urn:uuid (query), earliest (with and without
#      a claim), an unknown id (live only, then live updates); the head
#      names the last kept update; 409 for a kept id (custom and generated)
#   4. every refusal with its status and its one-line text/plain reason:
#      JWT missing, cookie-only, bad signature, expired, not yet valid,
#      alg none, wrong alg (all "unauthorized: JWT ..."), no publish claim,
#      a topic outside the claim; bad forms, 415, 413 (65536 bytes pass),
#      405 for PUT and DELETE with Allow, no topic, bad template selector,
#      Last-Event-ID with a control character or over 255 bytes (255
#      pass), bad subscriber JWTs; the channels API cannot name the hub's
#      channel
#   5. RS256 with a PEM file: its tokens pass, an HS256 token signed with
#      the PEM text is refused; RS256 with the PEM text in the setting and
#      a subscriber key and alg of their own (HS256)
#   6. two stream processes, both holding subscribers: every subscriber
#      gets every update once
#   7. the Redis broker: publish, subscribe, resume by a custom id (header
#      and query), 409
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
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYDIR/private.pem" 2>/dev/null
openssl pkey -in "$KEYDIR/private.pem" -pubout -out "$KEYDIR/public.pem"
check "openssl made an RSA key pair" test -s "$KEYDIR/private.pem" -a -s "$KEYDIR/public.pem"

# post TOKEN CURL-ARGS...: POSTs to the hub (form fields in CURL-ARGS); the
# head goes to $OUT_DIR/post.head, the body to $OUT_DIR/post.body, the
# status is printed.
post() {
    local token=$1
    shift
    curl -s -o "$OUT_DIR/post.body" -D "$OUT_DIR/post.head" -w '%{http_code}' --max-time 5 \
        ${token:+-H "Authorization: Bearer $token"} "$@" "$BASE_URL$HUB"
}
body() { cat "$OUT_DIR/post.body"; }

# reply_is DESC STATUS REASON CURL-ARGS...: the request (its URL among
# CURL-ARGS) is answered STATUS with a one-line text/plain body that
# contains REASON, or starts with it when REASON begins with "^".
reply_is() {
    local desc=$1 status=$2 reason=$3 got why=""
    shift 3
    got=$(curl -gs -o "$OUT_DIR/reply.body" -D "$OUT_DIR/reply.head" -w '%{http_code}' \
        --max-time 5 "$@")
    if [ "$got" != "$status" ]; then
        why="status $got"
    elif [ "${reason:0:1}" = "^" ]; then
        [ "$(head -c $((${#reason} - 1)) "$OUT_DIR/reply.body")" = "${reason:1}" ] ||
            why="body does not start with '${reason:1}'"
    elif ! grep -qF -- "$reason" "$OUT_DIR/reply.body"; then
        why="body lacks '$reason'"
    fi
    if [ -z "$why" ] && ! grep -qi '^Content-Type: text/plain' "$OUT_DIR/reply.head"; then
        why="not text/plain"
    fi
    if [ -z "$why" ] && [ "$(wc -l < "$OUT_DIR/reply.body")" != 1 ]; then
        why="not one line"
    fi
    if [ -z "$why" ]; then
        pass "$desc: $status"
    else
        fail "$desc" "expected $status with '$reason': $why: $(head -c 200 "$OUT_DIR/reply.body")"
    fi
}
# refused DESC STATUS REASON TOKEN CURL-ARGS...: a publish with TOKEN (none
# when empty) is answered as reply_is says.
refused() {
    local desc=$1 status=$2 reason=$3 token=$4
    shift 4
    reply_is "$desc" "$status" "$reason" ${token:+-H "Authorization: Bearer $token"} "$@" \
        "$BASE_URL$HUB"
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
# block FILE ID: the SSE event in FILE whose id is ID, its lines as sent
block() { awk -v RS= -v id="id: $2" '{ n = split($0, l, "\n"); for (i = 1; i <= n; i++) if (l[i] == id) { print; exit } }' "$1"; }
# ids FILE: the id: values in FILE, space-separated
ids() { sed -n 's/^id: //p' "$1" | tr '\n' ' ' | sed 's/ $//'; }
# count FILE LINE: how many lines of FILE are exactly LINE
count() { grep -cxF -- "$2" "$1"; }

# --- 1. off, then on ------------------------------------------------------
unset SSELIGHT_MERCURE_PUBLISHER_JWT_KEY SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY \
      SSELIGHT_MERCURE_PUBLISHER_JWT_ALG SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG
server_start || { fail "lighttpd starts without a Mercure key"; harness_finish; exit 1; }
expect_eq "hub off: GET is 404" 404 "$(status_of "$BASE_URL$HUB?topic=x")"
reply_is "hub off: POST is 404 naming the setting" 404 SSELIGHT_MERCURE_PUBLISHER_JWT_KEY \
    -H "Authorization: Bearer $PUB_ALL" -d topic=x "$BASE_URL$HUB"
curl -sI --max-time 3 "$BASE_URL/" > "$OUT_DIR/page-off.head"
check "hub off: the page answers 200 and carries no Link header" bash -c \
    "head -n1 '$OUT_DIR/page-off.head' | grep -q ' 200' && ! grep -qi '^link:' '$OUT_DIR/page-off.head'"
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
sub exact 5 'topic=https://example.com/books/1' -D "$OUT_DIR/exact.head"
sub tmpl 5 'topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D'
sub other 5 'topic=urn:other'
sub star 5 'topic=*'
sub cookie 5 'topic=*' -b "mercureAuthorization=$SUB_BOOKS"
sub header 5 'topic=*' -H "Authorization: Bearer $SUB_NOPE"
sub query 5 "topic=https://example.com/books/{id}&authorization=$SUB_ALL"
# The private update's topics are books/2 and users/alice: "cross" selects
# users/alice, its claim books/2; "claimonly" has a claim for all but
# selects neither topic.
sub cross 5 'topic=https://example.com/users/alice' -H "Authorization: Bearer $SUB_BOOKS"
sub claimonly 5 'topic=urn:other' -H "Authorization: Bearer $SUB_ALL"
check "nine subscribers started" started exact tmpl other star cookie header query cross claimonly
check "the stream is 200 text/event-stream" bash -c \
    "head -n1 '$OUT_DIR/exact.head' | grep -q ' 200' && grep -qi '^Content-Type: text/event-stream' '$OUT_DIR/exact.head'"

expect_eq "public update with id, type and retry: 200" 200 \
    "$(post "$PUB_ALL" -d topic=https://example.com/books/1 -d type=book -d retry=1500 \
        -d id=pub-1 --data-urlencode $'data=first\nline two')"
check "the answer is the id alone, no newline" cmp -s <(printf pub-1) "$OUT_DIR/post.body"
check "... in text/plain" grep -qi '^Content-Type: text/plain' "$OUT_DIR/post.head"
expect_eq "private update with two topics: 200" 200 \
    "$(post "$PUB_ALL" -d topic=https://example.com/books/2 -d topic=https://example.com/users/alice \
        -d private=on -d data=secret-2)"
PRIV_ID=$(body)
check "a generated id is urn:uuid: and a version 4 UUID ($PRIV_ID)" \
    grep -Eqx 'urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}' "$OUT_DIR/post.body"
expect_eq "public update with two topics: 200" 200 \
    "$(post "$PUB_ALL" -d topic=urn:other -d topic=https://example.com/books/3 -d data=third)"
THIRD_ID=$(body)
expect_eq "public update on books/1/reviews: 200" 200 \
    "$(post "$PUB_ALL" -d topic=https://example.com/books/1/reviews -d data=reviews)"
REVIEWS_ID=$(body)
check "generated ids differ" test "$PRIV_ID" != "$THIRD_ID" -a "$THIRD_ID" != "$REVIEWS_ID"
wait_for_line "$OUT_DIR/star.sse" '^data: reviews$' 5
for n in other query claimonly; do wait_for_line "$OUT_DIR/$n.sse" '^data: third$' 5; done
wait_for_line "$OUT_DIR/cross.sse" '^data: secret-2$' 5
sleep 0.2 # an update sent twice or to the wrong subscriber would show now

expect_eq "the exact selector gets the first update in the documented form" \
    "$(printf 'retry: 1500\nevent: book\nid: pub-1\ndata: first\ndata: line two')" \
    "$(block "$OUT_DIR/exact.sse" pub-1)"
expect_eq "the exact selector gets that update only" pub-1 "$(ids "$OUT_DIR/exact.sse")"
expect_eq "an update without type and retry has no event: and no retry: line" \
    "$(printf 'id: %s\ndata: third' "$THIRD_ID")" "$(block "$OUT_DIR/tmpl.sse" "$THIRD_ID")"
expect_eq "the template selector gets books/1 and books/3, not books/1/reviews" \
    "pub-1 $THIRD_ID" "$(ids "$OUT_DIR/tmpl.sse")"
expect_eq "an anonymous * gets every public update, not the private one" \
    "pub-1 $THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/star.sse")"
expect_eq "urn:other gets only the update that has that topic" "$THIRD_ID" "$(ids "$OUT_DIR/other.sse")"
check "no anonymous subscriber gets the private update" bash -c \
    "! grep -q secret-2 '$OUT_DIR/exact.sse' '$OUT_DIR/tmpl.sse' '$OUT_DIR/other.sse' '$OUT_DIR/star.sse'"
expect_eq "a cookie JWT whose claim selects books/2 gets the private update, with the public ones" \
    "pub-1 $PRIV_ID $THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/cookie.sse")"
expect_eq "... and the private update's data" 1 "$(count "$OUT_DIR/cookie.sse" 'data: secret-2')"
expect_eq "a Bearer JWT whose claim selects neither topic gets the public updates only" \
    "pub-1 $THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/header.sse")"
expect_eq "an ?authorization= JWT with subscribe [*] gets the private update (template selector)" \
    "pub-1 $PRIV_ID $THIRD_ID" "$(ids "$OUT_DIR/query.sse")"
expect_eq "a Bearer JWT whose claim selects one topic, the selector the other: gets it" \
    "$PRIV_ID" "$(ids "$OUT_DIR/cross.sse")"
expect_eq "a claim for * without a matching topic selector: the public update only" \
    "$THIRD_ID" "$(ids "$OUT_DIR/claimonly.sse")"
expect_eq "an update that two topics select arrives once" 1 "$(count "$OUT_DIR/query.sse" 'data: third')"

# --- 3. resume ------------------------------------------------------------
fetch 1 'topic=*' -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/fresh.sse"
check "a subscription without Last-Event-ID starts live: nothing replayed" \
    bash -c "! grep -q '^data:' '$OUT_DIR/fresh.sse'"
fetch 1 'topic=*' -H 'Last-Event-ID: pub-1' -D "$OUT_DIR/resume1.head" > "$OUT_DIR/resume1.sse"
check "a resumed stream's head names the last kept update (Last-Event-ID: $REVIEWS_ID)" \
    grep -qx "Last-Event-ID: $REVIEWS_ID"$'\r' "$OUT_DIR/resume1.head"
check "... also as Mercure-Last-Event-ID" grep -qx "Mercure-Last-Event-ID: $REVIEWS_ID"$'\r' "$OUT_DIR/resume1.head"
expect_eq "Last-Event-ID: pub-1 (anonymous) resumes with the public updates after it" \
    "$THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/resume1.sse")"
fetch 1 'topic=*&lastEventID=pub-1' -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/resume1q.sse"
expect_eq "?lastEventID=pub-1 with a claim resumes with every update after it" \
    "$PRIV_ID $THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/resume1q.sse")"
fetch 1 "topic=*&lastEventID=$PRIV_ID" -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/resume2.sse"
expect_eq "?lastEventID=<generated id> resumes after it" \
    "$THIRD_ID $REVIEWS_ID" "$(ids "$OUT_DIR/resume2.sse")"
fetch 1 'topic=*&lastEventID=earliest' -b "mercureAuthorization=$SUB_ALL" > "$OUT_DIR/earliest.sse"
expect_eq "earliest replays every kept update, in order" "pub-1 $PRIV_ID $THIRD_ID $REVIEWS_ID" \
    "$(ids "$OUT_DIR/earliest.sse")"
fetch 1 'topic=https://example.com/books/{id}' -H 'Last-Event-ID: earliest' > "$OUT_DIR/earliest-anon.sse"
expect_eq "earliest, anonymous, template selector: the public updates it selects" \
    "pub-1 $THIRD_ID" "$(ids "$OUT_DIR/earliest-anon.sse")"
sub unknown 4 'topic=*' -H 'Last-Event-ID: never-published'
started unknown
post "$PUB_ALL" -d topic=urn:after -d id=after-unknown -d data=after > /dev/null
wait_for_line "$OUT_DIR/unknown.sse" '^data: after$' 5
expect_eq "an unknown Last-Event-ID resumes live: nothing replayed, the next update arrives" \
    after-unknown "$(ids "$OUT_DIR/unknown.sse")"
check "... and the log says so" wait_for_log 'Mercure Last-Event-ID is not among' 3
refused "a second update with a kept custom id" 409 "already kept" "$PUB_ALL" -d topic=t -d id=pub-1
refused "a second update with a kept generated id" 409 "already kept" "$PUB_ALL" -d topic=t \
    --data-urlencode "id=$PRIV_ID"

# --- 4. refusals ----------------------------------------------------------
refused "publish without a JWT" 401 "publishing needs a JWT" "" -d topic=t
check "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$OUT_DIR/reply.head"
refused "publish with the cookie only" 401 "not the cookie" "" -b "mercureAuthorization=$PUB_ALL" -d topic=t
refused "a JWT signed with another key" 401 "^unauthorized: JWT" \
    "$(mint --key "${KEY}x" --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "an expired JWT" 401 "^unauthorized: JWT" \
    "$(mint --key "$KEY" --exp-in -10 --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "a JWT not yet valid" 401 "^unauthorized: JWT" \
    "$(mint --key "$KEY" --nbf-in 600 --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "alg none" 401 "^unauthorized: JWT" \
    "$(mint --alg none --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "alg none in the header of an HS256-signed JWT" 401 "^unauthorized: JWT" \
    "$(mint --key "$KEY" --header-alg none --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
refused "an RS256 JWT where HS256 is configured (wrong alg)" 401 "^unauthorized: JWT" \
    "$(mint --alg RS256 --key-file "$KEYDIR/private.pem" --claims '{"mercure":{"publish":["*"]}}')" -d topic=t
expect_eq "an expiry and nbf in range publish" 200 \
    "$(post "$(mint --key "$KEY" --exp-in 60 --nbf-in -5 --claims '{"mercure":{"publish":["*"]}}')" -d topic=t)"
refused "a JWT without mercure.publish" 403 "no mercure.publish claim" \
    "$(mint --key "$KEY" --claims '{"mercure":{"subscribe":["*"]}}')" -d topic=t
BOOKS_ONLY=$(mint --key "$KEY" --claims '{"mercure":{"publish":["https://example.com/books/{id}"]}}')
refused "a topic outside mercure.publish" 403 "does not select every topic" "$BOOKS_ONLY" -d topic=urn:x
refused "one of two topics outside mercure.publish" 403 "does not select every topic" "$BOOKS_ONLY" \
    -d topic=https://example.com/books/9 -d topic=urn:x
expect_eq "a topic inside mercure.publish: 200" 200 "$(post "$BOOKS_ONLY" -d topic=https://example.com/books/9)"
code=$(curl -s -o "$OUT_DIR/post.body" -w '%{http_code}' --max-time 5 -d topic=t \
    "$BASE_URL$HUB?authorization=$PUB_ALL")
check "a JWT in ?authorization= also publishes ($code)" grep -qx 'urn:uuid:[-0-9a-f]*' "$OUT_DIR/post.body"
refused "no topic" 400 "no topic" "$PUB_ALL" -d data=x
refused "a malformed escape" 400 "bad form encoding" "$PUB_ALL" -d 'topic=a%zz'
refused "retry=abc" 400 "bad retry" "$PUB_ALL" -d topic=t -d retry=abc
refused "two ids" 400 "twice" "$PUB_ALL" -d topic=t -d id=a -d id=b
refused "17 topics" 400 "too many topics" "$PUB_ALL" $(for i in $(seq 17); do echo "-d topic=t$i"; done)
expect_eq "16 topics: 200" 200 "$(post "$PUB_ALL" $(for i in $(seq 16); do echo "-d topic=t$i"; done))"
refused "a text/plain body" 415 "x-www-form-urlencoded" "$PUB_ALL" -H 'Content-Type: text/plain' -d topic=t
head -c 70000 /dev/zero | tr '\0' a > "$OUT_DIR/big.txt"
refused "a body over 65536 bytes" 413 "too large" "$PUB_ALL" -d topic=t --data-urlencode "data@$OUT_DIR/big.txt"
{ printf 'topic=t&data='; head -c $((65536 - 13)) /dev/zero | tr '\0' a; } > "$OUT_DIR/max.form"
expect_eq "a body of exactly 65536 bytes: 200" 200 "$(post "$PUB_ALL" --data-binary @"$OUT_DIR/max.form")"
for m in PUT DELETE; do
    reply_is "$m" 405 "method not allowed" -X "$m" "$BASE_URL$HUB"
    check "... with Allow: GET, HEAD, POST" grep -qi '^Allow: GET, HEAD, POST' "$OUT_DIR/reply.head"
done
reply_is "subscribe without a topic" 400 "no topic" "$BASE_URL$HUB"
reply_is "a malformed template selector" 400 "bad topic selector" "$BASE_URL$HUB?topic=https://x/%7Bid"
reply_is "a Last-Event-ID with a control character (a tab)" 400 "bad Last-Event-ID" \
    -H $'Last-Event-ID: a\tb' "$BASE_URL$HUB?topic=t"
reply_is "a Last-Event-ID over 255 bytes" 400 "bad Last-Event-ID" \
    -H "Last-Event-ID: $(head -c 256 /dev/zero | tr '\0' a)" "$BASE_URL$HUB?topic=t"
reply_is "a ?lastEventID= over 255 bytes" 400 "bad Last-Event-ID" \
    "$BASE_URL$HUB?topic=t&lastEventID=$(head -c 256 /dev/zero | tr '\0' a)"
expect_eq "a Last-Event-ID of 255 bytes: 200" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
        -H "Last-Event-ID: $(head -c 255 /dev/zero | tr '\0' a)" "$BASE_URL$HUB?topic=t")"
reply_is "a subscriber JWT signed with another key" 401 "^unauthorized: JWT" \
    -H "Authorization: Bearer $(mint --key "${KEY}x" --claims '{"mercure":{"subscribe":["*"]}}')" "$BASE_URL$HUB?topic=t"
reply_is "an expired subscriber JWT in the cookie" 401 "^unauthorized: JWT" \
    -b "mercureAuthorization=$(mint --key "$KEY" --exp-in -5 --claims '{"mercure":{"subscribe":["*"]}}')" "$BASE_URL$HUB?topic=t"
reply_is "a subscriber JWT with alg none in ?authorization=" 401 "^unauthorized: JWT" \
    "$BASE_URL$HUB?topic=t&authorization=$(mint --alg none --claims '{"mercure":{"subscribe":["*"]}}')"
reply_is "a subscribe claim that is not an array" 401 "mercure.subscribe claim is not an array" \
    -b "mercureAuthorization=$(mint --key "$KEY" --claims '{"mercure":{"subscribe":"*"}}')" "$BASE_URL$HUB?topic=t"
reply_is "the channels API cannot subscribe to the hub's channel" 400 "bad channel name" \
    "$BASE_URL/events/mercure:updates"
reply_is "nor publish to it" 400 "bad channel name" -X POST -d x "$BASE_URL/events/mercure:updates"
check "refusals are logged" wait_for_log 'stream: 403 for POST /.well-known/mercure: forbidden' 3
server_stop

# --- 5. RS256 ---------------------------------------------------------------
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEYDIR/public.pem SSELIGHT_MERCURE_PUBLISHER_JWT_ALG=RS256
RS_ALL=$(mint --alg RS256 --key-file "$KEYDIR/private.pem" --claims '{"mercure":{"publish":["*"],"subscribe":["*"]}}')
if server_start; then
    sub rs 4 'topic=urn:rs' -b "mercureAuthorization=$RS_ALL"
    started rs
    expect_eq "RS256 (PEM file): a token signed with the private key publishes" 200 \
        "$(post "$RS_ALL" -d topic=urn:rs -d private=1 -d data=rsa-private)"
    check "RS256: the subscriber's RS256 cookie gets the private update" wait_for_line "$OUT_DIR/rs.sse" '^data: rsa-private$' 5
    refused "RS256: an HS256 token signed with the public PEM text as secret" 401 "^unauthorized: JWT" \
        "$(mint --alg HS256 --key-file "$KEYDIR/public.pem" --claims '{"mercure":{"publish":["*"]}}')" -d topic=urn:rs
    refused "RS256: a token signed with another RSA key" 401 "^unauthorized: JWT" \
        "$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYDIR/other.pem" 2>/dev/null
           mint --alg RS256 --key-file "$KEYDIR/other.pem" --claims '{"mercure":{"publish":["*"]}}')" -d topic=urn:rs
    server_stop
else
    fail "lighttpd starts with an RS256 key file"
fi
# The PEM text itself in the setting; subscribers with a key of their own.
SUB_KEY='mercure-subscriber-secret-of-40-bytes-01'
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$(cat "$KEYDIR/public.pem")
export SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY=$SUB_KEY SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG=HS256
if server_start; then
    sub rs2 4 'topic=urn:rs2' -b "mercureAuthorization=$(mint --key "$SUB_KEY" --claims '{"mercure":{"subscribe":["*"]}}')"
    started rs2
    expect_eq "RS256 (PEM text): a token signed with the private key publishes" 200 \
        "$(post "$RS_ALL" -d topic=urn:rs2 -d private=1 -d data=rsa-text)"
    check "a subscriber with an HS256 JWT of SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY gets the private update" \
        wait_for_line "$OUT_DIR/rs2.sse" '^data: rsa-text$' 5
    reply_is "the publisher's RS256 JWT as a subscriber JWT (alg HS256 configured)" 401 "^unauthorized: JWT" \
        -H "Authorization: Bearer $RS_ALL" "$BASE_URL$HUB?topic=t"
    refused "an HS256 JWT of the subscriber key cannot publish" 401 "^unauthorized: JWT" \
        "$(mint --key "$SUB_KEY" --claims '{"mercure":{"publish":["*"]}}')" -d topic=urn:rs2
    server_stop
else
    fail "lighttpd starts with an RS256 PEM text and an HS256 subscriber key"
fi
unset SSELIGHT_MERCURE_PUBLISHER_JWT_ALG SSELIGHT_MERCURE_SUBSCRIBER_JWT_KEY SSELIGHT_MERCURE_SUBSCRIBER_JWT_ALG
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEY

# --- 6. two stream processes ------------------------------------------------
if SSELIGHT_STREAM_PROCS=2 server_start; then
    for i in $(seq 1 8); do sub "p$i" 5 'topic=urn:procs:{n}'; done
    started p1 p2 p3 p4 p5 p6 p7 p8
    procs=$(server_procs stream.fcgi)
    expect_eq "two stream processes run" 2 "$(echo "$procs" | wc -w)"
    # shellcheck disable=SC2086
    expect_eq "both stream processes hold subscribers" 2 "$(stream_procs_busy $procs)"
    want=""
    for i in 1 2 3 4 5 6; do
        post "$PUB_ALL" -d "topic=urn:procs:$i" -d "data=procs-$i" > /dev/null
        want="$want $(body)"
    done
    want=${want# }
    ok=0
    for i in $(seq 1 8); do
        wait_for_line "$OUT_DIR/p$i.sse" '^data: procs-6$' 5
        [ "$(ids "$OUT_DIR/p$i.sse")" = "$want" ] && ok=$((ok + 1))
    done
    expect_eq "every subscriber on either process got the 6 updates once, in order" 8 "$ok"
    server_stop
else
    fail "lighttpd starts with two stream processes"
fi

# --- 7. the Redis broker ----------------------------------------------------
REDIS_PORT=$(free_port)
if redis_server_start "$REDIS_PORT" "$OUT_DIR/redis.log" && \
   SSELIGHT_BROKER=redis://127.0.0.1:$REDIS_PORT/0 server_start; then
    sub redis 4 'topic=urn:redis'
    started redis
    expect_eq "Redis: publish with a custom id" 200 "$(post "$PUB_ALL" -d topic=urn:redis -d id=redis-1 -d data=r1)"
    post "$PUB_ALL" -d topic=urn:redis -d id=redis-2 -d data=r2 > /dev/null
    post "$PUB_ALL" -d topic=urn:redis -d id=redis-3 -d data=r3 > /dev/null
    wait_for_line "$OUT_DIR/redis.sse" '^data: r3$' 5
    expect_eq "Redis: the subscriber gets the three" "redis-1 redis-2 redis-3" "$(ids "$OUT_DIR/redis.sse")"
    fetch 1 'topic=urn:redis' -H 'Last-Event-ID: redis-1' > "$OUT_DIR/redis-resume.sse"
    expect_eq "Redis: Last-Event-ID: redis-1 resumes with redis-2 and redis-3" \
        "redis-2 redis-3" "$(ids "$OUT_DIR/redis-resume.sse")"
    fetch 1 'topic=urn:redis&lastEventID=redis-2' > "$OUT_DIR/redis-resume-q.sse"
    expect_eq "Redis: ?lastEventID=redis-2 resumes with redis-3" "redis-3" "$(ids "$OUT_DIR/redis-resume-q.sse")"
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
