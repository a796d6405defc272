#!/bin/bash
# The page responder and the static files, through the real lighttpd.
source "$(dirname "$0")/../lib/harness.sh"

server_start || { fail "lighttpd starts with lighttpd.conf"; harness_finish; exit 1; }
pass "lighttpd starts with lighttpd.conf"

# fetch NAME CURL-ARGS...: headers to $OUT_DIR/NAME.h, body to NAME.b, prints status.
fetch() {
    local name=$1
    shift
    curl -s -o "$OUT_DIR/$name.b" -D "$OUT_DIR/$name.h" -w '%{http_code}' "$@"
}
header() { # header NAME FIELD: the value of one response header, CR stripped
    grep -i "^$2:" "$OUT_DIR/$1.h" | head -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

# --- GET / : the Example 1 page
expect_eq "GET / is 200" 200 "$(fetch index "$BASE_URL/")"
expect_eq "GET / is UTF-8 HTML" "text/html; charset=utf-8" "$(header index Content-Type)"
check "page starts with the HTML5 doctype" \
    bash -c "head -c 15 '$OUT_DIR/index.b' | grep -qx '<!DOCTYPE html>'"
check "page has the heading" contains "$OUT_DIR/index.b" "<h1>Intro SSE Example</h1>"
check "page has the seed's div with its exact attributes" contains "$OUT_DIR/index.b" \
    '<div hx-ext="sse" sse-connect="/sse-stream" sse-swap="EventName" hx-swap="beforeend show:bottom" id="sse-content">'
check "the div holds the seed's introductory paragraph" contains "$OUT_DIR/index.b" \
    "The contents of this &lt;div&gt; will be updated in real time with each SSE message received."
check "page loads htmx from our origin" contains "$OUT_DIR/index.b" '<script src="/vendor/htmx.min.js"></script>'
check "page loads the SSE extension from our origin" contains "$OUT_DIR/index.b" '<script src="/vendor/sse.min.js"></script>'
check "page links our stylesheet" contains "$OUT_DIR/index.b" '<link rel="stylesheet" href="/assets/style.css">'
check "page explains the reconnect after DONE" contains "$OUT_DIR/index.b" "reconnects and the stream starts over"
check "page loads nothing from another origin" \
    bash -c "! grep -Eq '(src|href)=\"(https?:)?//' '$OUT_DIR/index.b'"

# --- the client files: served, JavaScript, and the pinned versions
expect_eq "GET /vendor/htmx.min.js is 200" 200 "$(fetch htmx "$BASE_URL/vendor/htmx.min.js")"
expect_eq "htmx.min.js is JavaScript" "text/javascript; charset=utf-8" "$(header htmx Content-Type)"
check "htmx.min.js is htmx.org 2.0.11's dist file" cmp -s "$OUT_DIR/htmx.b" "$ROOT/node_modules/htmx.org/dist/htmx.min.js"
check "htmx.min.js says version 2.0.11" contains "$OUT_DIR/htmx.b" '"2.0.11"'
expect_eq "GET /vendor/sse.min.js is 200" 200 "$(fetch sse "$BASE_URL/vendor/sse.min.js")"
expect_eq "sse.min.js is JavaScript" "text/javascript; charset=utf-8" "$(header sse Content-Type)"
check "sse.min.js is htmx-ext-sse 2.2.4's dist file" cmp -s "$OUT_DIR/sse.b" "$ROOT/node_modules/htmx-ext-sse/dist/sse.min.js"
check "htmx-ext-sse in node_modules is 2.2.4" \
    grep -q '"version": "2.2.4"' "$ROOT/node_modules/htmx-ext-sse/package.json"
expect_eq "GET /assets/style.css is 200" 200 "$(fetch css "$BASE_URL/assets/style.css")"
expect_eq "style.css is CSS" "text/css; charset=utf-8" "$(header css Content-Type)"

# --- HEAD, 404, 405
# HEAD over a raw socket, so nothing hides bytes sent after the head.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 > "$OUT_DIR/head.raw"
exec 3<&-
check "HEAD / is 200" grep -q '^HTTP/1.1 200' "$OUT_DIR/head.raw"
check "HEAD / has the page's content type" grep -qi '^Content-Type: text/html; charset=utf-8' "$OUT_DIR/head.raw"
expect_eq "HEAD / sends nothing after the head" "" \
    "$(sed '1,/^\r$/d' "$OUT_DIR/head.raw")"
expect_eq "GET /no-such-page is 404" 404 "$(fetch nf "$BASE_URL/no-such-page")"
check "the 404 page is HTML that names the path" contains "$OUT_DIR/nf.b" "<code>/no-such-page</code>"
expect_eq "404 for a path with markup in it" 404 "$(fetch nfx "$BASE_URL/%3Cscript%3Ex")"
check "the path is escaped in the 404 page" \
    bash -c "! grep -q '<script>x' '$OUT_DIR/nfx.b' && grep -q 'not found\|Not found' '$OUT_DIR/nfx.b'"
expect_eq "POST / is 405" 405 "$(fetch post -d 'x=1' "$BASE_URL/")"
expect_eq "405 says which methods are allowed" "GET, HEAD" "$(header post Allow)"
check "405 has a short plain-text reason" \
    bash -c "grep -qi 'text/plain' '$OUT_DIR/post.h' && grep -q 'method not allowed' '$OUT_DIR/post.b'"
check "the page responder logged the 405" wait_for_log "page: 405 for POST /" 2

# --- the FastCGI sockets: only the server's user may reach them. libfcgi
# trusts its peer (a crafted params record can crash it), so nothing but
# the web server may connect.
run_dir=$SERVER_TMP/run
expect_eq "the socket directory is mode 700" 700 "$(stat -c %a "$run_dir")"
expect_eq "... owned by the server's user" "$(id -u)" "$(stat -c %u "$run_dir")"
socks=$(find "$run_dir" -type s | wc -l)
check "... and holds the responders' sockets ($socks)" test "$socks" -ge 2
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    sock=$(find "$run_dir" -type s | head -n1)
    out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups node -e '
        const s = require("net").connect(process.argv[1]);
        s.on("connect", () => { console.log("connected"); process.exit(0); });
        s.on("error", (e) => { console.log(e.code); process.exit(0); });' "$sock" 2>&1)
    expect_eq "another user cannot connect to a responder's socket" EACCES "$out"
else
    pass "# SKIP another user cannot connect (needs root to switch users)"
fi

check "lighttpd and both responders stop on SIGTERM" server_stop
harness_finish
