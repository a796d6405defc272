#!/bin/bash
# The channels API through the real lighttpd: publish/subscribe, several
# channels on one connection, resume with Last-Event-ID, the history bound
# and its "missed" event, publisher auth, bad input, two stream-responder
# processes, the command-line publisher, and durability across a restart.
source "$(dirname "$0")/../lib/harness.sh"

sub_start() { # sub_start NAME URL [CURL-ARGS...]: a subscriber writing to $OUT_DIR/NAME
    local name=$1 url=$2
    shift 2
    curl -sN --max-time 20 "$@" -o "$OUT_DIR/$name" "$url" &
    eval "SUB_$name=\$!"
}
sub_stop() { local v="SUB_$1"; kill "${!v}" 2>/dev/null; wait "${!v}" 2>/dev/null; }
publish() { # publish CHANNEL DATA [QUERY]: prints the id
    curl -s --max-time 5 --data-binary "$2" "$BASE_URL/events/$1${3:+?$3}"
}
# ids NAME: the id: values a subscriber got, space-separated
ids() { grep '^id: ' "$OUT_DIR/$1" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }
# wait_for FILE PATTERN: up to 5 s
wait_for() {
    local i
    for i in $(seq 1 50); do grep -q -- "$2" "$OUT_DIR/$1" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}
status() { curl -s -o "$OUT_DIR/last.body" -D "$OUT_DIR/last.head" -w '%{http_code}' --max-time 5 "$@"; }

export SSELIGHT_HISTORY=5
export SSELIGHT_DATA_DIR=$(mktemp -d /tmp/sselight-d.XXXXXX)
server_start || { fail "lighttpd starts"; harness_finish; exit 1; }

# --- round trip, exact bytes
sub_start rt "$BASE_URL/events/news"
sleep 0.5
id1=$(publish news "hello")
id2=$(publish news $'two\r\nlines\rand\nmore' "event=update")
id3=$(publish news "")
check "publish returns increasing ids" test "$id1" -ge 1 -a "$id2" -gt "$id1" -a "$id3" -gt "$id2"
wait_for rt "^id: $id3\$"
sub_stop rt
{
    printf 'retry: 3000\n\n'
    printf 'event: message\nid: %s\ndata: hello\n\n' "$id1"
    printf 'event: update\nid: %s\ndata: two\ndata: lines\ndata: and\ndata: more\n\n' "$id2"
    printf 'event: message\nid: %s\ndata: \n\n' "$id3"
} > "$OUT_DIR/rt.expected"
check "a subscriber gets exactly what was published (id, event name, data lines)" \
    cmp "$OUT_DIR/rt.expected" "$OUT_DIR/rt"

# --- batch publish: a text/event-stream body, one transaction
sub_start batch "$BASE_URL/events/batch"
sleep 0.5
printf 'event: a\ndata: one\n\ndata: two\r\ndata: lines\r\n\r\n: note\nevent: b\ndata: three' \
    | curl -s --max-time 5 -H 'Content-Type: text/event-stream' --data-binary @- \
        "$BASE_URL/events/batch" > "$OUT_DIR/batch.ids"
b1=$(sed -n 1p "$OUT_DIR/batch.ids")
expect_eq "a batch answers one id per event, consecutive" \
    "$b1 $((b1 + 1)) $((b1 + 2))" "$(tr '\n' ' ' < "$OUT_DIR/batch.ids" | sed 's/ $//')"
wait_for batch "^id: $((b1 + 2))\$"
sub_stop batch
{
    printf 'retry: 3000\n\n'
    printf 'event: a\nid: %s\ndata: one\n\n' "$b1"
    printf 'event: message\nid: %s\ndata: two\ndata: lines\n\n' "$((b1 + 1))"
    printf 'event: b\nid: %s\ndata: three\n\n' "$((b1 + 2))"
} > "$OUT_DIR/batch.expected"
check "subscribers get the batch's events in order, names kept" \
    cmp "$OUT_DIR/batch.expected" "$OUT_DIR/batch"
expect_eq "a batch with a bad event name is 400" 400 \
    "$(status -H 'Content-Type: text/event-stream' --data-binary $'event: a b\ndata: x\n\n' "$BASE_URL/events/batch")"
expect_eq "a batch without data is 400" 400 \
    "$(status -H 'Content-Type: text/event-stream' --data-binary $': just a comment\n\n' "$BASE_URL/events/batch")"

# --- coalesced output: the events a stream gets in one loop round go to
# lighttpd in one write (one run of FastCGI records), not one per event.
# 20 subscribers, a batch of 5 events (SSELIGHT_HISTORY is 5 here): 100
# sends without coalescing, 20 with it.
sends() { curl -s --max-time 2 "$BASE_URL/stats" | grep -o '"sends":[0-9]*' | cut -d: -f2; }
for i in $(seq 1 20); do sub_start "coal$i" "$BASE_URL/events/coal"; done
for i in $(seq 1 20); do wait_for "coal$i" '^retry:'; done
s0=$(sends)
for i in $(seq 1 5); do printf 'data: c%d\n\n' "$i"; done \
    | curl -s --max-time 5 -H 'Content-Type: text/event-stream' --data-binary @- \
        "$BASE_URL/events/coal" > "$OUT_DIR/coal.ids"
for i in $(seq 1 20); do wait_for "coal$i" '^data: c5$'; done
s1=$(sends)
bad=""
for i in $(seq 1 20); do
    sub_stop "coal$i"
    [ "$(grep '^data: ' "$OUT_DIR/coal$i" | cut -d' ' -f2 | tr '\n' ' ')" = "c1 c2 c3 c4 c5 " ] || bad="$bad coal$i"
done
expect_eq "coalesced: 20 subscribers each got the batch's 5 events in order" "" "$bad"
check "coalesced: 100 deliveries took one write per subscriber, not one per event ($((${s1:-0} - ${s0:-0})) sends, the answers to /stats and the publish included)" \
    test -n "$s0" -a -n "$s1" -a "$((${s1:-0} - ${s0:-0}))" -le 40

# --- several channels on one connection
sub_start multi "$BASE_URL/events?channel=a&channel=b"
sleep 0.5
ia=$(publish a "to a"); ic=$(publish c "to c"); ib=$(publish b "to b")
wait_for multi "^id: $ib\$"
sub_stop multi
expect_eq "one connection follows channels a and b, not c" "$ia $ib" "$(ids multi)"

# --- resume with Last-Event-ID: nothing lost, nothing twice
r1=$(publish res "r1"); r2=$(publish res "r2")
sub_start res1 "$BASE_URL/events/res?history=2"
wait_for res1 "^id: $r2\$"
sub_stop res1
expect_eq "?history=2 starts with the last two events" "$r1 $r2" "$(ids res1)"
r3=$(publish res "r3"); r4=$(publish res "r4"); r5=$(publish res "r5")
sub_start res2 "$BASE_URL/events/res" -H "Last-Event-ID: $r2"
wait_for res2 "^id: $r5\$"
r6=$(publish res "r6")
wait_for res2 "^id: $r6\$"
sub_stop res2
expect_eq "Last-Event-ID: the missed events in order, then live ones, once each" \
    "$r3 $r4 $r5 $r6" "$(ids res2)"
sub_start res3 "$BASE_URL/events/res?lastEventId=$r4"
wait_for res3 "^id: $r6\$"
sub_stop res3
expect_eq "?lastEventId= resumes the same way" "$r5 $r6" "$(ids res3)"

n65=$(printf 'n%.0s' $(seq 65))
expect_eq "a batch event name of 65 characters is 400 (not cut and stored)" 400 \
    "$(printf 'event: %s\ndata: x\n' "$n65" | status -H 'Content-Type: text/event-stream' --data-binary @- "$BASE_URL/events/batch")"
expect_eq "publishing to the room channel over HTTP is 403" 403 \
    "$(status --data-binary '<img src=x onerror=alert(1)>' "$BASE_URL/events/room")"
check "... because the room takes HTML from its form only" grep -q 'room form only' "$OUT_DIR/last.body"

# --- Idempotency-Key: a publish sent again with its key is stored once
k1=$(curl -s --max-time 5 -H 'Idempotency-Key: order-17:a' --data-binary first "$BASE_URL/events/idem")
expect_eq "a repeated publish with the same Idempotency-Key is 200" 200 \
    "$(status -H 'Idempotency-Key: order-17:a' --data-binary again "$BASE_URL/events/idem")"
expect_eq "... answering the first publish's id" "$k1" "$(cat "$OUT_DIR/last.body")"
check "... and says it was a replay" grep -qi '^Idempotent-Replayed: true' "$OUT_DIR/last.head"
check "... with a log line" wait_for_log "repeated with a used Idempotency-Key: answered event $k1" 2
k2=$(curl -s --max-time 5 -H 'Idempotency-Key: order-18' --data-binary second "$BASE_URL/events/idem")
check "another key is another event" test "$k2" -gt "$k1"
expect_eq "a bad Idempotency-Key is 400" 400 "$(status -H 'Idempotency-Key: a b' -d x "$BASE_URL/events/idem")"
check "... with a plain-text reason" grep -q 'bad Idempotency-Key' "$OUT_DIR/last.body"
printf 'data: b1\n\ndata: b2\n' > "$OUT_DIR/kbatch.txt"
kb=$(curl -s --max-time 5 -H 'Idempotency-Key: batch-1' -H 'Content-Type: text/event-stream' \
    --data-binary @"$OUT_DIR/kbatch.txt" "$BASE_URL/events/idem" | tr '\n' ' ')
kb2=$(curl -s --max-time 5 -H 'Idempotency-Key: batch-1' -H 'Content-Type: text/event-stream' \
    --data-binary @"$OUT_DIR/kbatch.txt" "$BASE_URL/events/idem" | tr '\n' ' ')
expect_eq "a repeated keyed batch answers the same two ids" "$kb" "$kb2"
sub_start idem "$BASE_URL/events/idem?lastEventId=0"
wait_for idem "^data: b2\$"
sub_stop idem
expect_eq "the channel holds each keyed publish once" "first second b1 b2" \
    "$(grep '^data: ' "$OUT_DIR/idem" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
# The room form carries a key; the same form posted twice is one message.
curl -s --max-time 5 "$BASE_URL/room" > "$OUT_DIR/room.html"
rkey=$(grep -o 'name="key" value="[0-9a-f]*"' "$OUT_DIR/room.html" | cut -d'"' -f4)
expect_eq "the room form has a 32-hex-digit key" 32 "${#rkey}"
for t in 1 2; do
    expect_eq "room post $t with the same key answers 200" 200 \
        "$(status -d "text=twice+sent&key=$rkey" "$BASE_URL/room/messages")"
done
check "... the answer is a fresh form with a new key" bash -c \
    "grep -o 'name=\"key\" value=\"[0-9a-f]*\"' '$OUT_DIR/last.body' | grep -qv '$rkey'"
sub_start room "$BASE_URL/events/room?lastEventId=0"
sleep 1
sub_stop room
expect_eq "... and the room got the message once" 1 "$(grep -c 'twice sent' "$OUT_DIR/room")"
expect_eq "a room post with a malformed key is 422" 422 \
    "$(status -d 'text=hi&key=a%20b' "$BASE_URL/room/messages")"

# --- history bound (SSELIGHT_HISTORY=5) and the missed event
h1=$(publish hist "h1")
for i in 2 3 4 5 6 7 8; do last=$(publish hist "h$i"); done
sub_start hist "$BASE_URL/events/hist" -H "Last-Event-ID: $h1"
wait_for hist "^id: $last\$"
sub_stop hist
check "resuming past the history bound says events were missed" \
    grep -q '^event: sselight-missed$' "$OUT_DIR/hist"
check "... naming the channel and the id it resumed from" \
    grep -q "^data: {\"channel\":\"hist\",\"last_event_id\":$h1,\"missed_through\":" "$OUT_DIR/hist"
expect_eq "... then the 5 kept events" 5 "$(grep -c '^id: ' "$OUT_DIR/hist")"

# --- a Last-Event-ID this store never gave out: live events from now on
sub_start ahead "$BASE_URL/events/ahead" -H 'Last-Event-ID: 9000000000000'
sleep 0.5
a1=$(publish ahead "after-reset")
wait_for ahead "^id: $a1\$"
sub_stop ahead
check "a Last-Event-ID past the store's last id still gets new events" grep -q '^data: after-reset$' "$OUT_DIR/ahead"
check "... and the responder logs it" wait_for_log 'Last-Event-ID 9000000000000 is past the last id' 2

# --- bad input: status, plain reason, log line
expect_eq "bad channel name is 400" 400 "$(status "$BASE_URL/events/bad%20name")"
check "... with a plain-text reason" grep -q 'bad channel name' "$OUT_DIR/last.body"
check "... and a log line" wait_for_log 'stream: 400 for GET /events/bad%20name' 2
expect_eq "channel name of 65 characters is 400" 400 "$(status "$BASE_URL/events/$(printf 'x%.0s' $(seq 65))")"
code=$(status "$BASE_URL/events/..%2Fetc")
check "../ never reaches a channel (lighttpd or the responder refuses it: $code)" \
    test "$code" = 400 -o "$code" = 404
many=$(for i in $(seq 17); do printf 'channel=c%d&' "$i"; done)
expect_eq "17 channels in one subscription is 400" 400 "$(status "$BASE_URL/events?$many")"
expect_eq "/events without a channel is 400" 400 "$(status "$BASE_URL/events")"
expect_eq "garbage Last-Event-ID is 400" 400 "$(status -H 'Last-Event-ID: 12abc' "$BASE_URL/events/x")"
expect_eq "history above 100 is 400" 400 "$(status "$BASE_URL/events/x?history=101")"
head -c 65537 /dev/zero | tr '\0' 'a' > "$OUT_DIR/big.txt"
expect_eq "a body over 64 KiB is 413" 413 "$(status --data-binary @"$OUT_DIR/big.txt" "$BASE_URL/events/x")"
head -c 65536 /dev/zero | tr '\0' 'a' > "$OUT_DIR/max.txt"
expect_eq "a body of exactly 64 KiB is accepted" 200 "$(status --data-binary @"$OUT_DIR/max.txt" "$BASE_URL/events/x")"
expect_eq "invalid UTF-8 is 400" 400 "$(status --data-binary $'\xff\xfe' "$BASE_URL/events/x")"
expect_eq "an event name with a space is 400" 400 "$(status -d x "$BASE_URL/events/x?event=a%20b")"
expect_eq "an event name with CR LF is 400" 400 "$(status -d x "$BASE_URL/events/x?event=a%0D%0Aid:%201")"
expect_eq "PUT is 405" 405 "$(status -X PUT -d x "$BASE_URL/events/x")"
check "... with Allow: GET, HEAD, POST" grep -qi '^Allow: GET, HEAD, POST' "$OUT_DIR/last.head"
expect_eq "an unknown route is 404" 404 "$(status "$BASE_URL/eventsx")"

# --- the command-line publisher reaches subscribers of the running server
sub_start cli "$BASE_URL/events/cli"
sleep 0.5
pid_cli=$(printf 'from\nthe shell' | "$ROOT/cgi-bin/sselight-pub" -e cron cli)
check "sselight-pub prints an id" test -n "$pid_cli"
wait_for cli "^id: $pid_cli\$"
sub_stop cli
check "... and the subscriber gets the event" \
    grep -qz $'event: cron\nid: '"$pid_cli"$'\ndata: from\ndata: the shell' "$OUT_DIR/cli"
k_cli=$("$ROOT/cgi-bin/sselight-pub" -k nightly-2026-11-25 cli "report" 2>/dev/null)
expect_eq "sselight-pub -k with a used key prints the first id" "$k_cli" \
    "$("$ROOT/cgi-bin/sselight-pub" -k nightly-2026-11-25 cli "report again" 2>/dev/null)"
# ... and keeps a channel to SSELIGHT_HISTORY (5 here) as the server does
for i in 1 2 3 4 5 6 7; do "$ROOT/cgi-bin/sselight-pub" clihist "e$i" > /dev/null; done
expect_eq "7 events from sselight-pub with SSELIGHT_HISTORY=5: the last 5 are kept" "e3 e4 e5 e6 e7" \
    "$(curl -sN --max-time 1 "$BASE_URL/events/clihist?history=100" | sed -n 's/^data: //p' | tr '\n' ' ' | sed 's/ $//')"
out=$(SSELIGHT_HISTORY=0 "$ROOT/cgi-bin/sselight-pub" clihist x 2>&1 >/dev/null); rc=$?
expect_eq "sselight-pub refuses SSELIGHT_HISTORY=0 with the range, exit 2" \
    "2 sselight-pub: SSELIGHT_HISTORY must be a number from 1 to 1000000, not '0'" "$rc $out"

# --- private channels without a configured secret: refused
expect_eq "a private- channel without SSELIGHT_SUBSCRIBE_SECRET is 403" 403 \
    "$(status "$BASE_URL/events/private-a")"
check "... saying private channels are not enabled" grep -q 'not enabled' "$OUT_DIR/last.body"

# --- durable: a restart keeps what was published
server_stop
server_start || fail "lighttpd restarts on the same data dir"
sub_start dur "$BASE_URL/events/res?lastEventId=0"
wait_for dur "^id: $r6\$"
sub_stop dur
# History is 5 per channel: r1 was dropped when r6 came.
expect_eq "after a restart, every kept event of a channel is still there" "$r2 $r3 $r4 $r5 $r6" "$(ids dur)"
server_stop

# --- publisher token: 401 without, 403 wrong, 200 right
export SSELIGHT_PUBLISH_TOKEN=test-token-0123456789abcdef
export SSELIGHT_SUBSCRIBE_SECRET=test-secret-of-at-least-32-characters
server_start || fail "lighttpd starts with a publish token and a subscribe secret"
expect_eq "with a token configured, no Authorization is 401" 401 "$(status -d x "$BASE_URL/events/x")"
check "... with WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' "$OUT_DIR/last.head"
expect_eq "a wrong token is 403" 403 "$(status -H 'Authorization: Bearer nope-nope-nope-nope' -d x "$BASE_URL/events/x")"
expect_eq "the right token publishes" 200 "$(status -H "Authorization: Bearer $SSELIGHT_PUBLISH_TOKEN" -d x "$BASE_URL/events/x")"

# --- private channels: a signed, expiring token per channel
# otoken CHANNEL EXPIRES: a token made with openssl, not with our code
otoken() {
    printf '%s.%s' "$2" "$(printf 'sselight-subscribe\n%s\n%s' "$2" "$1" \
        | openssl dgst -sha256 -hmac "$SSELIGHT_SUBSCRIBE_SECRET" -r | cut -d' ' -f1)"
}
tok=$("$ROOT/cgi-bin/sselight-token" -t 600 private-a)
expect_eq "sselight-token's token is the documented HMAC (openssl agrees)" \
    "$(otoken private-a "${tok%%.*}")" "$tok"
expect_eq "a private channel without a token is 403" 403 "$(status "$BASE_URL/events/private-a")"
check "... with a plain-text reason" grep -q 'needs ?token=' "$OUT_DIR/last.body"
check "... and a log line" wait_for_log 'stream: 403 for GET /events/private-a' 2
sub_start priv "$BASE_URL/events/private-a?token=$tok"
sleep 0.5
pid1=$(curl -s --max-time 5 -H "Authorization: Bearer $SSELIGHT_PUBLISH_TOKEN" --data-binary secret-news "$BASE_URL/events/private-a")
wait_for priv "^id: $pid1\$"
sub_stop priv
check "with a valid token the subscriber gets the channel's events" grep -q '^data: secret-news$' "$OUT_DIR/priv"
expect_eq "an openssl-made token with a future expiry is accepted" 200 \
    "$(status -I --max-time 2 "$BASE_URL/events/private-a?token=$(otoken private-a $(( $(date +%s) + 60 )))")"
expect_eq "an expired token is 403" 403 \
    "$(status "$BASE_URL/events/private-a?token=$(otoken private-a $(( $(date +%s) - 1 )))")"
check "... saying it expired" grep -q 'token expired' "$OUT_DIR/last.body"
expect_eq "another channel's token is 403" 403 "$(status "$BASE_URL/events/private-b?token=$tok")"
check "... saying it is not valid for this channel" grep -q 'not valid for this channel' "$OUT_DIR/last.body"
bad=${tok%?}$([ "${tok: -1}" = 0 ] && echo 1 || echo 0)
expect_eq "a token with one hex digit changed is 403" 403 "$(status "$BASE_URL/events/private-a?token=$bad")"
expect_eq "a later expiry with the old signature is 403" 403 \
    "$(status "$BASE_URL/events/private-a?token=$(( ${tok%%.*} + 1000 )).${tok#*.}")"
expect_eq "a malformed token is 403" 403 "$(status "$BASE_URL/events/private-a?token=abc")"
expect_eq "with several channels, each private one needs its token" 403 \
    "$(status "$BASE_URL/events?channel=news&channel=private-a&channel=private-b&token=$tok")"
tokb=$("$ROOT/cgi-bin/sselight-token" private-b)
expect_eq "... and with both tokens it subscribes" 200 \
    "$(status -I --max-time 2 "$BASE_URL/events?channel=news&channel=private-a&channel=private-b&token=$tok&token=$tokb")"
expect_eq "channels not named private- need no token" 200 "$(status -I --max-time 2 "$BASE_URL/events/news")"
check "sselight-token refuses a channel that is not private" \
    bash -c "! '$ROOT/cgi-bin/sselight-token' news 2>/dev/null"
server_stop
unset SSELIGHT_PUBLISH_TOKEN SSELIGHT_SUBSCRIBE_SECRET

# --- two stream-responder processes: every subscriber gets every event once
export SSELIGHT_STREAM_PROCS=2
server_start || fail "lighttpd starts with two stream responders"
for i in $(seq 1 10); do sub_start "p$i" "$BASE_URL/events/procs"; done
sleep 1
procs=$(pgrep -P "$SERVER_PID" -f stream.fcgi | tr '\n' ' ')
# shellcheck disable=SC2086
expect_eq "both stream processes hold subscribers" 2 "$(stream_procs_busy $procs)"
want=""
for i in $(seq 1 20); do want="$want $(publish procs "m$i")"; done
want=${want# }
for i in $(seq 1 10); do wait_for "p$i" "^id: ${want##* }\$"; sub_stop "p$i"; done
got_all=0
for i in $(seq 1 10); do [ "$(ids "p$i")" = "$want" ] && got_all=$((got_all + 1)); done
expect_eq "10 subscribers over 2 processes each got all 20 events in order, once" 10 "$got_all"
server_stop
unset SSELIGHT_STREAM_PROCS

rm -rf "$SSELIGHT_DATA_DIR"
harness_finish
