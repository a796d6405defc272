#!/bin/bash
# The Mercure hub with clients nobody here wrote, through the real lighttpd:
#   1. Debian's php-symfony-mercure publishes (tests/lib/mercure-publish.php:
#      Symfony's Hub and Update, unchanged) a public update with an id and
#      a type, a private one, and a public one without either; the npm
#      `eventsource` client (tests/lib/mercure-listen.mjs) gets them with
#      the ids the publisher was answered: all three with a subscribe claim
#      in Bearer, the public two without a JWT
#   2. the PHP library reports the hub's refusals: a kept id (409) and a
#      topic outside its publish claim (403)
#   3. Chromium (tests/browser/mercure.mjs): the Link header, a page
#      subscribed with the mercureAuthorization cookie and one without,
#      and the browser's own reconnect (with Last-Event-ID) after the
#      stream process is killed
source "$(dirname "$0")/../lib/harness.sh"

NODE=$(command -v node)
KEY='mercure-clients-secret-of-40-bytes-0123'
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEY
BG=()
cleanup() {
    local p
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null
}
trap cleanup EXIT

server_start || { fail "lighttpd starts with the hub on"; harness_finish; exit 1; }
HUB=$BASE_URL/.well-known/mercure
php_pub() { php "$ROOT/tests/lib/mercure-publish.php" "$HUB" "$KEY" "$@"; }

# --- 1. PHP publishes, the npm client listens -------------------------------
SUB_ALL=$("$NODE" "$ROOT/tests/lib/jwt-mint.mjs" --key "$KEY" --claims '{"mercure":{"subscribe":["*"]}}')
Q='topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D'
"$NODE" "$ROOT/tests/lib/mercure-listen.mjs" "$HUB?$Q" 2 15 "" book > "$OUT_DIR/anon.jsonl" &
BG+=($!)
ANON=$!
"$NODE" "$ROOT/tests/lib/mercure-listen.mjs" "$HUB?$Q" 3 15 "$SUB_ALL" book > "$OUT_DIR/claim.jsonl" &
BG+=($!)
CLAIM=$!
check "both eventsource clients connected" bash -c \
    "$(declare -f wait_for_line); wait_for_line '$OUT_DIR/anon.jsonl' '^# open' 10 && wait_for_line '$OUT_DIR/claim.jsonl' '^# open' 10"

id1=$(php_pub --topic https://example.com/books/1 --data 'public one' --id php-1 --type book 2>"$OUT_DIR/php.err")
expect_eq "PHP: a public update with id and type is answered its id" php-1 "$id1"
id2=$(php_pub --topic https://example.com/books/2 --data 'private two' --private 2>>"$OUT_DIR/php.err")
check "PHP: a private update is answered a generated id ($id2)" bash -c "[[ '$id2' == urn:uuid:* ]]"
id3=$(php_pub --topic https://example.com/books/3 --data 'public three' 2>>"$OUT_DIR/php.err")
check "PHP: a plain update is answered a generated id ($id3)" bash -c "[[ '$id3' == urn:uuid:* ]]"

wait "$CLAIM"; rc_claim=$?
wait "$ANON"; rc_anon=$?
expect_eq "eventsource with the subscribe claim: all three" \
    "{\"id\":\"php-1\",\"type\":\"book\",\"data\":\"public one\"} {\"id\":\"$id2\",\"type\":\"message\",\"data\":\"private two\"} {\"id\":\"$id3\",\"type\":\"message\",\"data\":\"public three\"}" \
    "$(grep '^{' "$OUT_DIR/claim.jsonl" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... it stopped after 3 events (exit $rc_claim)" 0 "$rc_claim"
expect_eq "eventsource without a JWT: the two public ones" \
    "{\"id\":\"php-1\",\"type\":\"book\",\"data\":\"public one\"} {\"id\":\"$id3\",\"type\":\"message\",\"data\":\"public three\"}" \
    "$(grep '^{' "$OUT_DIR/anon.jsonl" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "... it stopped after 2 events (exit $rc_anon)" 0 "$rc_anon"

# --- 2. refusals as the PHP library reports them ------------------------------
if php_pub --topic t --id php-1 > /dev/null 2>"$OUT_DIR/php-409.err"; then
    fail "PHP: publishing a kept id again fails"
else
    check "PHP: publishing a kept id again fails with the hub's 409" grep -q '409' "$OUT_DIR/php-409.err"
fi
if php_pub --topic urn:x --claims '{"mercure":{"publish":["https://example.com/{p}"]}}' > /dev/null 2>"$OUT_DIR/php-403.err"; then
    fail "PHP: a topic outside the publish claim fails"
else
    check "PHP: a topic outside the publish claim fails with 403" grep -q '403' "$OUT_DIR/php-403.err"
fi

# --- 3. the browser -----------------------------------------------------------
BASE_URL=$BASE_URL TEST_OUT=$OUT_DIR MERCURE_KEY=$KEY \
    MERCURE_DROP="pgrep -s $SERVER_PID -x stream.fcgi | xargs -r kill -KILL" \
    timeout 100 "$NODE" "$ROOT/tests/browser/mercure.mjs" | tee "$OUT_DIR/browser.txt"
PASSED=$((PASSED + $(grep -c '^ok - ' "$OUT_DIR/browser.txt")))
FAILED=$((FAILED + $(grep -c '^not ok - ' "$OUT_DIR/browser.txt")))
check "mercure.mjs printed its summary line" grep -Eq '^[0-9]+ passed, [0-9]+ failed$' "$OUT_DIR/browser.txt"

harness_finish
