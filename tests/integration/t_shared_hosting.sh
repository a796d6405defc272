#!/bin/bash
# sselight on a hosting account: the real Apache 2.4 from Debian with
# mod_userdir and AllowOverride FileInfo Options, a user created for the
# test (removed after), and `make install-shared` run AS THAT USER into
# ~/public_html/sse, its data in ~/sselight-data. No server config names
# sselight: everything comes from the installed .htaccess and sselight.conf.
# Three hosts:
#   suexec  mod_cgid + mod_suexec (apache2-suexec-pristine): the programs
#           run as the user
#   cgid    mod_cgid without suexec (the web space mapped by an Alias, as
#           Apache applies suexec to every UserDir request once suexec is
#           installed): they run as www-data (the data dir is made writable
#           for it, as the installer says)
#   fcgid   mod_fcgid loaded too, UserDir, no mod_suexec: the page program
#           under mod_fcgid, the stream program still as CGI, both run by
#           suexec as the user
# Each runs the shared deploy checks under /~USER/sse (Example 1's bytes and
# timing, every page asset, pub/sub with the installed token, resume, a
# quiet stream kept by heartbeats, /metrics summed over the CGI stream
# processes and /status, a killed client's stream process gone within
# heartbeat + 1 s), and: the settings file, the data dir and
# .htaccess cannot be downloaded, the stream cap gives 503 with
# Retry-After, the programs run as the user under suexec, and no process of
# the user is left once Apache stops. Under suexec also Chromium: Example 1
# and the room page resuming by id after a 503 (tests/browser/resume.mjs).
#
# T_SHARED_ONLY=suexec|cgid|fcgid runs one host. T_SHARED_BREAK=htaccess
# installs an .htaccess without the stream rules, T_SHARED_BREAK=listing
# one that lets Apache list assets/ and vendor/, T_SHARED_BREAK=filterchain
# one that keeps the host's compression filter on streams (the checks must
# fail).
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"

APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
HB_MS=1000
CAP=3

if [ "$(id -u)" != 0 ]; then
    echo "# t_shared_hosting creates a user and starts Apache as root: skipped when not root"
    fail "t_shared_hosting needs root (CI runs as root)"
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    exit 1
fi

TUSER=sselt$$
TMP=$(mktemp -d /tmp/sselight-sh.XXXXXX)
chmod 755 "$TMP"
APACHE_PID=""
cleanup() {
    [ -n "$APACHE_PID" ] && kill -TERM "$APACHE_PID" 2>/dev/null
    sleep 0.3
    pkill -KILL -u "$TUSER" 2>/dev/null
    userdel -r "$TUSER" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

check "a hosting user is created (useradd -m $TUSER)" useradd -m -s /bin/sh "$TUSER"
HOMEDIR=$(getent passwd "$TUSER" | cut -d: -f6)
as_user() { runuser -u "$TUSER" -- "$@"; }

# The user builds nothing: a copy of the built tree, readable by anyone,
# stands for a tree built on another machine of the same release.
SRC=$TMP/src
mkdir -p "$SRC/tests/fuzz"
cp -r "$ROOT/Makefile" "$ROOT/tools" "$ROOT/deploy" "$ROOT/www" "$SRC/"
cp "$ROOT/tests/fuzz/fuzz.mk" "$SRC/tests/fuzz/"
mkdir -p "$SRC/cgi-bin"
cp "${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}/index.fcgi" "${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}/stream.fcgi" \
    "$ROOT/cgi-bin/sselight-pub" "$SRC/cgi-bin/"
chmod -R a+rX "$SRC"

as_user mkdir -p "$HOMEDIR/public_html"
echo "<p>alice's own page</p>" | as_user tee "$HOMEDIR/public_html/index.html" > /dev/null
SITE=$HOMEDIR/public_html/sse
DATA=$HOMEDIR/sselight-data
as_user make -s -C "$SRC" install-shared TO="$SITE" DATA="$DATA" > "$OUT_DIR/install.out" 2>&1
expect_eq "make install-shared as the user succeeds" 0 "$?"
sed 's/^/#   /' "$OUT_DIR/install.out"
check "it prints the URL" grep -q "http://HOST/~$TUSER/sse/" "$OUT_DIR/install.out"
TOKEN=$(sed -n 's/^publish_token = //p' "$SITE/sselight.conf")
check "it prints the token it wrote" grep -q "Token: *$TOKEN" "$OUT_DIR/install.out"
check "sselight.conf is mode 0600, the user's" test "$(stat -c '%a %U' "$SITE/sselight.conf")" = "600 $TUSER"
check "the data dir is mode 0700" test "$(stat -c '%a' "$DATA")" = 700
check "the programs are 0755, the user's" test "$(stat -c '%a %U' "$SITE/stream.fcgi")" = "755 $TUSER"
check "nothing in the site is writable by group or others" \
    test -z "$(find "$SITE" -perm /022 ! -type l)"
as_user make -s -C "$SRC" install-shared TO="$SITE" DATA="$SITE/data" > "$OUT_DIR/install-bad.out" 2>&1
expect_eq "a DATA inside the web space is refused" 1 "$(grep -c 'inside the web space' "$OUT_DIR/install-bad.out")"
as_user make -s -C "$SRC" install-shared TO="$SITE" DATA="$HOMEDIR/public_html/data" > /dev/null 2>&1
expect_eq "a DATA elsewhere in public_html is refused too" 2 "$?"
# A public_html that is a link to the real document root: a DATA given
# through the real path is inside the web space all the same.
as_user mkdir -p "$HOMEDIR/alt/real"
as_user ln -s real "$HOMEDIR/alt/public_html"
as_user make -s -C "$SRC" install-shared TO="$HOMEDIR/alt/public_html/sse" DATA="$HOMEDIR/alt/real/data" > /dev/null 2>&1
expect_eq "a DATA in the real directory behind a linked public_html is refused" 2 "$?"
check "... and not created" test ! -e "$HOMEDIR/alt/real/data"
as_user rm -rf "$HOMEDIR/alt"
check "a refused install leaves no data dir in the web space" test ! -e "$SITE/data" -a ! -e "$HOMEDIR/public_html/data"
as_user make -s -C "$SRC" install-shared TO="$SITE" DATA="$DATA" > "$OUT_DIR/install2.out" 2>&1
check "installing again keeps sselight.conf and its token" \
    bash -c "grep -q 'keeping' '$OUT_DIR/install2.out' && grep -q 'publish_token = $TOKEN' '$SITE/sselight.conf'"
# Publishing from the account (a cron job): the command install-shared
# printed, run as the user, straight into the broker in DATA.
pubcmd=$(sed -n "s/^ *SSELIGHT_CONFIG=\([^ ]*\) \([^ ]*\) news 'hello'$/\1 \2/p" "$OUT_DIR/install.out")
check "it prints the sselight-pub command with the settings file" test "$pubcmd" = "$SITE/sselight.conf $SRC/cgi-bin/sselight-pub"
CRON_ID=$(as_user env SSELIGHT_CONFIG="$SITE/sselight.conf" "$SRC/cgi-bin/sselight-pub" cronchan 'from cron' 2>&1)
check "sselight-pub as the user with SSELIGHT_CONFIG publishes ($CRON_ID)" test -n "$CRON_ID" -a -z "${CRON_ID//[0-9]/}"
# The test's settings: 1 s heartbeats, a cap of 3 streams.
printf 'heartbeat_ms = %s\nmax_cgi_streams = %s\n' "$HB_MS" "$CAP" | as_user tee -a "$SITE/sselight.conf" > /dev/null
# --- Mercure: the hub's key, from the settings file as a hosting account
# sets it (the checks are in run_variant, suexec host only) ---------------
MKEY='hosting-mercure-secret-of-40-bytes-0123'
printf 'mercure_publisher_jwt_key = %s\n' "$MKEY" | as_user tee -a "$SITE/sselight.conf" > /dev/null
# --- end Mercure ---------------------------------------------------------
case "${T_SHARED_BREAK:-}" in
    htaccess) sed -i '/stream\.fcgi \[L\]/d' "$SITE/.htaccess" ;;
    filterchain) sed -i '/FilterChain/d' "$SITE/.htaccess" ;;
    listing) sed -i '/^RewriteRule ^(assets|vendor).?\$ - \[F,END\]$/d' "$SITE/.htaccess" ;;
esac

# apache_start VARIANT: a private Apache for one host kind.
apache_start() {
    local v=$1 dir=$TMP/apache-$1 mods
    mkdir -p "$dir/logs" "$dir/fcgid"
    chown www-data "$dir/fcgid"
    PORT=$(free_port)
    mods="mpm_event authz_core authz_host mime dir autoindex alias env setenvif filter deflate rewrite userdir cgid"
    case "$v" in
        suexec) mods="$mods suexec" ;;
        fcgid) mods="$mods fcgid" ;;
    esac
    {
        echo "ServerRoot $dir"
        echo "ServerName 127.0.0.1"
        echo "Listen 127.0.0.1:$PORT"
        echo "PidFile $dir/httpd.pid"
        echo "ErrorLog $dir/logs/error.log"
        echo "LogLevel warn"
        echo "DefaultRuntimeDir $dir"
        echo "Mutex file:$dir"
        echo "ScriptSock $dir/cgid.sock"
        echo "User www-data"
        echo "Group www-data"
        for m in $mods; do echo "LoadModule ${m}_module $MODS/mod_$m.so"; done
        echo "TypesConfig /etc/mime.types"
        echo "DocumentRoot $dir"
        if [ "$v" = cgid ]; then
            # Apache turns suexec on for every UserDir request once the
            # suexec binary is installed; an Alias to the same directory
            # is a host that runs CGI programs as its own user.
            echo "Alias /~$TUSER $HOMEDIR/public_html"
        else
            echo "UserDir public_html"
            echo "UserDir disabled root"
        fi
        # A host that lists directories. The fcgid host allows the least
        # the .htaccess needs: Options=ExecCGI.
        echo "<Directory /home/*/public_html>"
        if [ "$v" = fcgid ]; then
            echo "    AllowOverride FileInfo Options=ExecCGI"
        else
            echo "    AllowOverride FileInfo Options"
        fi
        echo "    Options SymLinksIfOwnerMatch Indexes"
        echo "    Require all granted"
        echo "</Directory>"
        echo "DirectoryIndex index.html"
        # A host that compresses what it can (Debian's deflate.conf, plus
        # event streams: without the .htaccess's FilterChain, every event
        # would be held back, even from curl asking for no compression).
        echo "AddOutputFilterByType DEFLATE text/html text/plain text/css application/javascript text/event-stream"
        if [ "$v" = fcgid ]; then
            echo "FcgidIPCDir $dir/fcgid"
            echo "FcgidProcessTableFile $dir/fcgid/shm"
            echo "FcgidIOTimeout 30"
        fi
    } > "$dir/httpd.conf"
    "$APACHE" -t -f "$dir/httpd.conf" > "$dir/configtest.log" 2>&1 || { cat "$dir/configtest.log"; return 1; }
    "$APACHE" -f "$dir/httpd.conf" -DFOREGROUND >> "$dir/logs/error.log" 2>&1 &
    APACHE_PID=$!
    APACHE_LOG=$dir/logs/error.log
    BASE_URL="http://127.0.0.1:$PORT/~$TUSER/sse"
    wait_ready "$APACHE_PID" answers "http://127.0.0.1:$PORT/~$TUSER/"
}

apache_stop() {
    kill -TERM "$APACHE_PID" 2>/dev/null
    wait_gone 10 "$APACHE_PID" > /dev/null
    wait "$APACHE_PID" 2>/dev/null
    APACHE_PID=""
}

# The stream processes of this site only: run as www-data (the cgid host),
# other tests' stream processes on the machine would count too.
user_streams() {
    local p
    for p in $(pgrep -x stream.fcgi -u "$1" 2>/dev/null); do
        [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SITE/stream.fcgi" ] && echo "$p"
    done
    return 0
}

run_variant() {
    local v=$1 owner code n i pids
    DEPLOY_LABEL="$v /~$TUSER/sse"
    owner=$TUSER
    [ "$v" = cgid ] && owner=www-data
    # Without suexec the programs run as www-data: the data dir must let it
    # in (what install-shared prints).
    if [ "$owner" = www-data ]; then
        as_user chmod -R a+rwX "$DATA"
        as_user chmod 0644 "$SITE/sselight.conf"
    else
        as_user chmod 0700 "$DATA"
        as_user chmod 0600 "$SITE/sselight.conf"
    fi
    if ! apache_start "$v"; then
        fail "$DEPLOY_LABEL: Apache starts"
        return
    fi
    pass "$DEPLOY_LABEL: Apache starts"
    expect_eq "$DEPLOY_LABEL: the user's own page is unchanged" "<p>alice's own page</p>" \
        "$(curl -s --max-time 5 "http://127.0.0.1:$PORT/~$TUSER/")"
    # Publishing needs the token from sselight.conf.
    export DEPLOY_PUBLISH_AUTH="Authorization: Bearer $TOKEN"
    deploy_check_example1
    deploy_check_pubsub
    deploy_check_heartbeat 3
    deploy_check_metrics
    stream_pids() { user_streams "$owner"; }
    deploy_check_disconnect_procs "$HB_MS" stream_pids
    unset DEPLOY_PUBLISH_AUTH

    # A browser asks for gzip: the stream must still leave uncompressed,
    # each event at once (mod_deflate would hold them back).
    curl -sN --max-time 3 -H 'Accept-Encoding: gzip, deflate' -D "$OUT_DIR/gzip.head" \
        "$BASE_URL/events/cronchan?history=5" > "$OUT_DIR/cron.sse" 2>/dev/null
    check "$DEPLOY_LABEL: a stream asked for with Accept-Encoding: gzip is not compressed" \
        bash -c "! grep -qi '^Content-Encoding' '$OUT_DIR/gzip.head' && grep -q 'data: from cron' '$OUT_DIR/cron.sse'"
    check "$DEPLOY_LABEL: a subscriber gets what sselight-pub published from the account" grep -q 'data: from cron' "$OUT_DIR/cron.sse"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d x "$BASE_URL/events/news")
    expect_eq "$DEPLOY_LABEL: a publish without the token is 401" 401 "$code"
    for path in sselight.conf SSELIGHT.CONF .htaccess .htaccess%00 sselight.conf%00 \
        sselight.conf/ ./sselight.conf %73selight.conf stream.fcgi index.fcgi; do
        code=$(curl -s -o "$OUT_DIR/leak" -w '%{http_code}' --path-as-is --max-time 5 "$BASE_URL/$path")
        if grep -q "$TOKEN" "$OUT_DIR/leak" || grep -q 'data_dir' "$OUT_DIR/leak"; then
            fail "$DEPLOY_LABEL: /$path does not give the settings away" "$code, with the token"
        else
            case "$code" in 403|404) pass "$DEPLOY_LABEL: /$path is refused ($code)" ;;
                *) fail "$DEPLOY_LABEL: /$path is refused" "$code" ;; esac
        fi
    done
    for path in assets/ vendor/ assets vendor; do
        code=$(curl -s -o "$OUT_DIR/listing" -w '%{http_code}' --max-time 5 "$BASE_URL/$path")
        if grep -q 'Index of' "$OUT_DIR/listing"; then
            fail "$DEPLOY_LABEL: /$path is not listed" "$code, a listing"
        else
            case "$code" in 301|403|404) pass "$DEPLOY_LABEL: /$path is not listed ($code)" ;;
                *) fail "$DEPLOY_LABEL: /$path is not listed" "$code" ;; esac
        fi
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/~$TUSER/sselight-data/broker.db")
    check "$DEPLOY_LABEL: the broker is outside the web space ($code)" test "$code" = 404
    check "$DEPLOY_LABEL: ... and exists" test -f "$DATA/broker.db"

    if [ "$owner" = "$TUSER" ]; then
        check "$DEPLOY_LABEL: suexec ran the programs as $TUSER (suexec.log)" \
            grep -q "uid: ([0-9]*/$TUSER).*cmd: stream.fcgi" /var/log/apache2/suexec.log
    fi

    # The cap: CAP streams open, the next one is 503 with Retry-After.
    # Streams of the checks above may still hold slots while they notice
    # their client left (up to a heartbeat): wait until they are gone. A
    # blocker holds its slot once its 200 headers arrived (a process count
    # alone also counts one still starting, or one about to answer 503).
    left=$(wait_gone "$(awk -v h="$HB_MS" 'BEGIN { print h / 1000 + 3 }')" $(user_streams "$owner"))
    expect_eq "$DEPLOY_LABEL: earlier stream processes are gone before the cap check" "" "$left"
    pids=""
    for i in $(seq 1 "$CAP"); do
        rm -f "$OUT_DIR/cap$i.head"
        curl -sN --max-time 20 -D "$OUT_DIR/cap$i.head" -o /dev/null "$BASE_URL/events/capped" &
        pids="$pids $!"
    done
    for i in $(seq 1 100); do
        n=$(cat "$OUT_DIR"/cap[0-9]*.head 2>/dev/null | grep -c '^HTTP/[0-9.]* 200')
        [ "$n" -ge "$CAP" ] && break
        sleep 0.1
    done
    expect_eq "$DEPLOY_LABEL: $CAP streams up to the cap are 200" "$CAP" "$n"
    code=$(curl -s -D "$OUT_DIR/cap.head" -o /dev/null -w '%{http_code}' --max-time 5 "$BASE_URL/events/capped")
    expect_eq "$DEPLOY_LABEL: stream $((CAP + 1)) past max_cgi_streams = $CAP is 503" 503 "$code"
    check "$DEPLOY_LABEL: ... with Retry-After" grep -qi '^Retry-After:' "$OUT_DIR/cap.head"
    for p in $pids; do _deploy_stop_curl "$p"; done

    if [ "$v" = suexec ]; then
        # --- Mercure (suexec host) -------------------------------------------
        # The Mercure hub as CGI: Debian's php-symfony-mercure publishes to
        # /~USER/sse/.well-known/mercure, a curl subscriber gets the update
        # with the publisher's id, and a resume by that id gets what came
        # after. The cap's streams must be gone first (one slot each).
        wait_gone "$(awk -v h="$HB_MS" 'BEGIN { print h / 1000 + 3 }')" $(user_streams "$owner") > /dev/null
        MHUB=$BASE_URL/.well-known/mercure
        curl -sI --max-time 5 "$BASE_URL/" > "$OUT_DIR/mercure-page.head"
        check "$DEPLOY_LABEL: pages name the hub (Link: </~$TUSER/sse/.well-known/mercure>)" \
            grep -q "^Link: </~$TUSER/sse/.well-known/mercure>; rel=\"mercure\"" "$OUT_DIR/mercure-page.head"
        : > "$OUT_DIR/mercure.sse"
        curl -sN --max-time 8 "$MHUB?topic=urn:hosting" > "$OUT_DIR/mercure.sse" 2>/dev/null &
        mpid=$!
        wait_for_line "$OUT_DIR/mercure.sse" '^retry:' 5
        mid=$(php "$ROOT/tests/lib/mercure-publish.php" "$MHUB" "$MKEY" --topic urn:hosting \
            --data 'from php' --id host-1 2>"$OUT_DIR/mercure-php.err")
        expect_eq "$DEPLOY_LABEL: the PHP publisher is answered its id through CGI" host-1 "$mid"
        check "$DEPLOY_LABEL: the CGI subscriber gets the update with that id" \
            bash -c "$(declare -f wait_for_line); wait_for_line '$OUT_DIR/mercure.sse' '^data: from php' 5 && grep -qx 'id: host-1' '$OUT_DIR/mercure.sse'"
        _deploy_stop_curl "$mpid"
        php "$ROOT/tests/lib/mercure-publish.php" "$MHUB" "$MKEY" --topic urn:hosting \
            --data 'second' --id host-2 > /dev/null 2>>"$OUT_DIR/mercure-php.err"
        curl -sN --max-time 2 -H 'Last-Event-ID: host-1' "$MHUB?topic=urn:hosting" > "$OUT_DIR/mercure-resume.sse" 2>/dev/null
        check "$DEPLOY_LABEL: resuming after host-1 through CGI gives host-2 only" \
            bash -c "grep -qx 'id: host-2' '$OUT_DIR/mercure-resume.sse' && ! grep -q 'id: host-1' '$OUT_DIR/mercure-resume.sse'"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -d topic=t "$MHUB")
        expect_eq "$DEPLOY_LABEL: a Mercure publish without a JWT is 401" 401 "$code"
        # --- end Mercure -----------------------------------------------------

        # The browser under /~USER/sse: Example 1, and the room page that
        # resumes by id after being refused at the stream cap.
        BASE_URL=$BASE_URL TEST_OUT=$OUT_DIR/browser timeout 60 node "$ROOT/tests/browser/example1.mjs" \
            > "$OUT_DIR/example1.txt" 2>&1
        expect_eq "$DEPLOY_LABEL: Chromium runs Example 1 (example1.mjs)" 0 "$?"
        sed 's/^/#   /' "$OUT_DIR/example1.txt" | grep -v '^#   ok' | tail -n 5
        RESUME_DROP="pkill -KILL -x stream.fcgi -u $TUSER" RESUME_BLOCKERS=$CAP BASE_URL=$BASE_URL \
            TEST_OUT=$OUT_DIR/browser timeout 100 node "$ROOT/tests/browser/resume.mjs" > "$OUT_DIR/resume.txt" 2>&1
        expect_eq "$DEPLOY_LABEL: the room resumes by id after a 503 at the cap, nothing twice (resume.mjs)" 0 "$?"
        sed 's/^/#   /' "$OUT_DIR/resume.txt" | grep -v '^#   ok' | tail -n 6
    fi

    apache_stop
    left=$(wait_gone "$(awk -v h="$HB_MS" 'BEGIN { print h / 1000 + 2 }')" $(user_streams "$owner") $(pgrep -u "$TUSER" 2>/dev/null))
    expect_eq "$DEPLOY_LABEL: no process of the user (or stream process) is left after Apache stops" "" "$left"
    unset DEPLOY_LABEL
}

for v in suexec cgid fcgid; do
    [ -n "${T_SHARED_ONLY:-}" ] && [ "$T_SHARED_ONLY" != "$v" ] && continue
    run_variant "$v"
done

if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP"/apache-*/logs/error.log 2>/dev/null; then
    fail "no sanitizer reports in Apache's logs"
fi
cp "$TMP"/apache-*/logs/error.log "$OUT_DIR/" 2>/dev/null
for f in "$TMP"/apache-*/logs/error.log; do cp "$f" "$OUT_DIR/$(basename "$(dirname "$(dirname "$f")")").log" 2>/dev/null; done
echo "$TEST_NAME: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
