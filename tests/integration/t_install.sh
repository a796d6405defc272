#!/bin/bash
# make install DESTDIR=... PREFIX=/opt/sselight: the tree it lays out, the
# files' modes and bytes, a host lighttpd that serves sselight from the
# installed tree alone (the shipped include, the installed responders and
# web assets), the guides and man pages (man finds them in PREFIX/share/man),
# then make uninstall: no file of ours is left.
source "$(dirname "$0")/../lib/harness.sh"

DEST=$(mktemp -d /tmp/sselight-inst.XXXXXX)
P=/opt/sselight
make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=$P > "$OUT_DIR/install.log" 2>&1
check "make install DESTDIR=... PREFIX=$P succeeds" test $? -eq 0
R=$DEST$P
for f in lib/sselight/stream.fcgi lib/sselight/index.fcgi bin/sselight-pub bin/sselight-token; do
    expect_eq "$f is installed, mode 755" 755 "$(stat -c %a "$R/$f" 2>/dev/null)"
done
for f in share/sselight/www/assets/style.css share/sselight/www/assets/sse-resume.js \
         share/sselight/www/vendor/htmx.min.js \
         share/sselight/www/vendor/sse.min.js share/sselight/lighttpd/sselight.conf \
         share/doc/sselight/README.md share/doc/sselight/SECURITY.md; do
    expect_eq "$f is installed, mode 644" 644 "$(stat -c %a "$R/$f" 2>/dev/null)"
done
# Every config under deploy/ (nginx, Apache, systemd, ...) is shipped.
n=0
for f in $(cd "$ROOT" && find deploy -type f | sort); do
    n=$((n + 1))
    [ "$(stat -c %a "$R/share/sselight/${f#deploy/}" 2>/dev/null)" = 644 ] || fail "$f is installed, mode 644"
done
check "all $n files of deploy/ are installed under share/sselight, mode 644" test "$n" -ge 6
check "the installed htmx is the pinned npm file" \
    cmp -s "$R/share/sselight/www/vendor/htmx.min.js" "$ROOT/node_modules/htmx.org/dist/htmx.min.js"
check "the installed SSE extension is the pinned npm file" \
    cmp -s "$R/share/sselight/www/vendor/sse.min.js" "$ROOT/node_modules/htmx-ext-sse/dist/sse.min.js"
if ls "$R/share/sselight/systemd/"* >/dev/null 2>&1; then
    check "the systemd units name the installed paths ($P)" grep -q "$P/lib/sselight/" "$R"/share/sselight/systemd/*.service
    check "... and no /usr/local" bash -c "! grep -q /usr/local '$R'/share/sselight/systemd/*"
fi
expect_eq "the installed sselight-token runs (usage: exit 2)" 2 \
    "$("$R/bin/sselight-token" >/dev/null 2>&1; echo $?)"
v=$("$R/bin/sselight-pub" --version); rc=$?
expect_eq "the installed sselight-pub --version prints its version, exit 0" "0 sselight-pub X.Y.Z" \
    "$rc $(sed -E 's/[0-9]+\.[0-9]+\.[0-9]+$/X.Y.Z/' <<< "$v")"

# The guides and man pages.
n=0
for f in $(cd "$ROOT" && ls docs/*.md docs/*.png 2>/dev/null); do
    n=$((n + 1))
    [ "$(stat -c %a "$R/share/doc/sselight/$f" 2>/dev/null)" = 644 ] || fail "$f is installed in share/doc/sselight, mode 644"
done
check "all $n files of docs/ are installed under share/doc/sselight, mode 644" test "$n" -ge 8
for f in man1/sselight-pub.1 man1/sselight-token.1 man7/sselight.7; do
    expect_eq "share/man/$f is installed, mode 644" 644 "$(stat -c %a "$R/share/man/$f" 2>/dev/null)"
done
for page in "1 sselight-pub" "1 sselight-token" "7 sselight"; do
    set -- $page
    first=$(MANPATH="$R/share/man" MANWIDTH=80 man -P cat "$1" "$2" 2>"$OUT_DIR/man-$2.err" | grep -m1 -A1 '^NAME' | tail -n1)
    check "man $1 $2 finds the installed page and renders its NAME ('$first')" \
        grep -qE "^ +$2 (-|—) " <<< "$first"
done
check "the installed sselight(7) names the installed paths ($P), not /usr/local" \
    bash -c "grep -q '$P/lib/sselight' '$R/share/man/man7/sselight.7' && ! grep -q /usr/local '$R/share/man/man7/sselight.7'"

# A host lighttpd serving sselight from the installed tree alone.
check "a host lighttpd with the installed include starts" host_lighttpd_start /sse \
    "$R/lib/sselight" "$R/share/sselight/www" "$R/share/sselight/lighttpd/sselight.conf"
page=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/sse/")
check "the installed page is served under /sse" grep -q 'sse-connect="/sse/sse-stream"' <<< "$page"
expect_eq "its stylesheet comes from the installed www" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/sse/assets/style.css")"
expect_eq "its htmx comes from the installed www" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/sse/vendor/htmx.min.js")"
first=$(curl -sN --max-time 2 "http://127.0.0.1:$PORT/sse/sse-stream" | grep -m1 'message number 0')
expect_eq "the installed stream responder streams Example 1" "data:   <p>message number 0</p>" "$first"
check "the installed responders ran from the installed tree" bash -c \
    "for p in \$(pgrep -P $SERVER_PID); do readlink /proc/\$p/exe; done | grep -q '^$R/lib/sselight/stream.fcgi'"
check "lighttpd and the installed responders stop" server_stop

make -s -C "$ROOT" uninstall DESTDIR="$DEST" PREFIX=$P > "$OUT_DIR/uninstall.log" 2>&1
check "make uninstall succeeds" test $? -eq 0
left=$(find "$DEST" -type f | sed "s|^$DEST||")
expect_eq "make uninstall leaves no file" "" "$left"
check "... and none of its directories (lib/sselight, share/sselight, share/doc/sselight)" \
    bash -c "! ls -d '$R/lib/sselight' '$R/share/sselight' '$R/share/doc/sselight' 2>/dev/null | grep -q ."
rm -rf "$DEST"
harness_finish
