#!/bin/bash
# The shipped nginx snippet (deploy/nginx/sselight.conf) with the real nginx
# (Debian package) in front of both responders run as services would run
# them: each started by spawn-fcgi -n on its own socket (fd 0), as systemd's
# socket units do, not by the web server. Once at the site root and once
# under a URL prefix (/apps/sse, SSELIGHT_PREFIX), the server-independent
# checks of tests/lib/deploy_checks.sh run through nginx; then nginx
# (SIGQUIT) and the responders (SIGTERM) stop and nothing may be left.
#
# The host server around the snippet has gzip on for event streams and a
# "location ~ \.js$" of its own, which the snippet must not be troubled by.
# The rendered fastcgi_read_timeout is 3 s (shipped: 1 h) and the heartbeat
# 1 s, so the heartbeat check shows quiet streams outlive the timeout.
#
# SSELIGHT_CGI_DIR picks other responder binaries (the ASan builds).
# T_DEPLOY_NGINX_SED: extra sed expressions applied to the rendered snippet,
# to break it on purpose, e.g.
#   's|fastcgi_buffering off;|fastcgi_buffering on; fastcgi_ignore_headers X-Accel-Buffering;|'
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"

CGI_DIR=${SSELIGHT_CGI_DIR:-$ROOT/cgi-bin}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
SPAWN_FCGI=$(command -v spawn-fcgi || echo /usr/bin/spawn-fcgi)
SNIPPET=$ROOT/deploy/nginx/sselight.conf
IDLE_S=3        # nginx's fastcgi_read_timeout in the rendered snippet
HB_MS=1000      # the stream responder's heartbeat
NGINX_PID=""
STREAM_PID=""
PAGE_PID=""
D=""            # the current deployment's temp dir

for tool in "$NGINX" "$SPAWN_FCGI" "$CGI_DIR/stream.fcgi" "$CGI_DIR/index.fcgi"; do
    if [ ! -x "$tool" ]; then
        fail "$tool is installed (tools/setup-deps.sh test installs nginx and spawn-fcgi; make build the responders)"
        harness_finish
        exit 1
    fi
done

# Whatever happens (a failed check, timeout's SIGTERM), no server stays.
cleanup() {
    local p
    for p in $NGINX_PID $STREAM_PID $PAGE_PID; do kill -KILL "$p" 2>/dev/null; done
    [ -n "$D" ] && rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# show_logs: the deployment's logs, as comments (on failure).
show_logs() {
    local f
    for f in "$D"/logs/*; do
        [ -s "$f" ] || continue
        echo "# --- $f (copied to $OUT_DIR/$LABEL_FILE-$(basename "$f")):"
        tail -n 20 "$f" | sed 's/^/#   /'
    done
}

# deploy_start PREFIX: responders on private sockets, the snippet rendered
# for PREFIX into a minimal nginx.conf, nginx on a free port. Sets BASE_URL.
deploy_start() {
    local prefix=$1 i
    D=$(mktemp -d /tmp/sselight-n.XXXXXX)
    mkdir -m 700 "$D/run"
    mkdir -m 700 "$D/data"
    mkdir "$D/logs" "$D/tmp" "$D/html"
    PORT=$(free_port)
    BASE_URL="http://127.0.0.1:$PORT$prefix"

    # The responders, as a service manager runs them: settings from the
    # environment, the listening socket on fd 0 (spawn-fcgi -n execs them).
    (
        unset SSELIGHT_PUBLISH_TOKEN SSELIGHT_SUBSCRIBE_SECRET SSELIGHT_PREFIX
        export SSELIGHT_DATA_DIR=$D/data SSELIGHT_HEARTBEAT_MS=$HB_MS
        [ -n "$prefix" ] && export SSELIGHT_PREFIX=$prefix
        exec "$SPAWN_FCGI" -n -s "$D/run/stream.sock" -M 0600 -- "$CGI_DIR/stream.fcgi"
    ) >> "$D/logs/stream.log" 2>&1 &
    STREAM_PID=$!
    (
        unset SSELIGHT_PUBLISH_TOKEN SSELIGHT_SUBSCRIBE_SECRET SSELIGHT_PREFIX
        export SSELIGHT_DATA_DIR=$D/data
        [ -n "$prefix" ] && export SSELIGHT_PREFIX=$prefix
        exec "$SPAWN_FCGI" -n -s "$D/run/page.sock" -M 0600 -- "$CGI_DIR/index.fcgi"
    ) >> "$D/logs/page.log" 2>&1 &
    PAGE_PID=$!

    # The snippet, rendered as an admin would, with the short read timeout.
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@WWW@|$ROOT/www|g" -e "s|@RUN_DIR@|$D/run|g" \
        -e "s|fastcgi_read_timeout 1h;|fastcgi_read_timeout ${IDLE_S}s;|" \
        ${T_DEPLOY_NGINX_SED:+-e "$T_DEPLOY_NGINX_SED"} \
        "$SNIPPET" > "$D/sselight.conf"
    if grep -q '@[A-Z_]*@' "$D/sselight.conf" || ! grep -q 'fastcgi_read_timeout 1h;' "$SNIPPET"; then
        echo "# the rendered snippet still has a placeholder, or the shipped one lacks the 1h read timeout this test shortens" >&2
        return 1
    fi
    cp /etc/nginx/fastcgi_params "$D/fastcgi_params" # the snippet's "include fastcgi_params"
    {
        # nginx's workers must reach the 0600 sockets: same user as the
        # responders (the user directive is ignored when not root).
        [ "$(id -u)" = 0 ] && echo "user root root;"
        cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/logs/error.log notice;
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $D/logs/access.log;
    client_body_temp_path $D/tmp/body;
    fastcgi_temp_path $D/tmp/fastcgi;
    proxy_temp_path $D/tmp/proxy;
    uwsgi_temp_path $D/tmp/uwsgi;
    scgi_temp_path $D/tmp/scgi;
    # A host that compresses everything it can, event streams too.
    gzip on;
    gzip_min_length 1;
    gzip_types text/event-stream text/css application/javascript text/javascript;
    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;
        root $D/html;
        # A host's own regex location; sselight's requests must not land here.
        location ~ \\.js\$ { return 418; }
        include $D/sselight.conf;
    }
}
EOF
    } > "$D/nginx.conf"

    for i in $(seq 1 50); do
        [ -S "$D/run/stream.sock" ] && [ -S "$D/run/page.sock" ] && break
        sleep 0.1
    done
    if ! "$NGINX" -t -q -p "$D/" -e "$D/logs/error.log" -c "$D/nginx.conf" > "$D/logs/nginx-t.log" 2>&1; then
        echo "# nginx -t refuses the rendered config:" >&2
        sed 's/^/#   /' "$D/logs/nginx-t.log" >&2
        return 1
    fi
    setsid "$NGINX" -p "$D/" -e "$D/logs/error.log" -c "$D/nginx.conf" >> "$D/logs/nginx.out" 2>&1 &
    NGINX_PID=$!
    wait_ready "$NGINX_PID" answers "http://127.0.0.1:$PORT/" && return 0
    echo "# nginx did not answer within 10 s" >&2
    return 1
}

# deploy_stop: SIGQUIT to nginx (graceful), SIGTERM to the responders; all
# gone within 5 s, the port closed, nobody listening on the sockets, the
# stream responder's wake-up socket removed. Then the temp dir goes.
deploy_stop() {
    local workers left code f
    workers=$(pgrep -P "$NGINX_PID" 2>/dev/null | tr '\n' ' ')
    kill -QUIT "$NGINX_PID" 2>/dev/null
    kill -TERM "$STREAM_PID" "$PAGE_PID" 2>/dev/null
    left=$(wait_gone 5 "$NGINX_PID" $workers "$STREAM_PID" "$PAGE_PID")
    wait "$NGINX_PID" "$STREAM_PID" "$PAGE_PID" 2>/dev/null
    expect_eq "$LABEL: nginx (SIGQUIT), its workers and both responders (SIGTERM) exit within 5 s" "" "$left"
    [ -n "$left" ] && kill -KILL $left 2>/dev/null
    NGINX_PID="" STREAM_PID="" PAGE_PID=""
    code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$BASE_URL/"; echo " rc=$?")
    expect_eq "$LABEL: the port is closed afterwards" "000 rc=7" "$code"
    check "$LABEL: nobody listens on the FastCGI sockets any more" \
        bash -c "! ss -xl 2>/dev/null | grep -qF '$D/run/'"
    expect_eq "$LABEL: the stream responder removed its wake-up socket in the data dir" "" \
        "$(ls -A "$D/data/notify" 2>/dev/null)"
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$D"/logs/*.log 2>/dev/null; then
        fail "$LABEL: no sanitizer reports in the responders' logs" "see $OUT_DIR/$LABEL_FILE-*.log"
    else
        pass "$LABEL: no sanitizer reports in the responders' logs"
    fi
    for f in "$D"/logs/*; do cp "$f" "$OUT_DIR/$LABEL_FILE-$(basename "$f")"; done
    # The socket files belong to whoever made them (spawn-fcgi here; the
    # socket units remove theirs on stop), as does the directory.
    rm -rf "$D"
    D=""
}

# run_deployment PREFIX LABEL
run_deployment() {
    local prefix=$1 failed_before=$FAILED code
    LABEL=$2
    LABEL_FILE=$(echo "${prefix:-root}" | tr -c 'A-Za-z0-9\n' '_' | sed 's/^_*//')
    DEPLOY_LABEL=$LABEL
    DEPLOY_OUT=$OUT_DIR/$LABEL_FILE
    if ! deploy_start "$prefix"; then
        fail "$LABEL: nginx starts with the rendered snippet" "nginx error log: $OUT_DIR/$LABEL_FILE-error.log"
        show_logs
        deploy_stop
        return
    fi
    pass "$LABEL: nginx starts with the rendered snippet (nginx -t passes)"

    deploy_check_example1
    deploy_check_pubsub
    deploy_check_heartbeat "$IDLE_S"
    deploy_check_disconnect "$HB_MS"
    deploy_check_metrics

    # nginx-specific: what the host server around the snippet must not do.
    curl -sN --max-time 1.5 -H 'Accept-Encoding: gzip' -D "$DEPLOY_OUT/gz.head" \
        -o "$DEPLOY_OUT/gz.body" "$BASE_URL/sse-stream"
    check "$LABEL: with the host's gzip on, a stream is not compressed" \
        bash -c "! grep -qi '^Content-Encoding' '$DEPLOY_OUT/gz.head' && grep -q 'message number 0' '$DEPLOY_OUT/gz.body'"
    code=$(curl -s --max-time 3 -I -o "$DEPLOY_OUT/js.head" -w '%{http_code}' "$BASE_URL/events/news.js")
    expect_eq "$LABEL: the host's regex location (\\.js\$) does not take channel news.js" 200 "$code"
    check "$LABEL: ... it is an event stream" grep -qi '^Content-Type: text/event-stream' "$DEPLOY_OUT/js.head"
    head -c 200000 /dev/zero | tr '\0' 'a' > "$DEPLOY_OUT/200k.txt"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --data-binary @"$DEPLOY_OUT/200k.txt" \
        "$BASE_URL/events/big")
    expect_eq "$LABEL: a body over 128 KiB is 413 from nginx" 413 "$code"
    rm -f "$DEPLOY_OUT/200k.txt"
    expect_eq "$LABEL: a missing static file is 404" 404 \
        "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$BASE_URL/assets/nope.css")"
    if [ -n "$prefix" ]; then
        code=$(curl -s -o /dev/null --max-time 3 -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$PORT$prefix")
        expect_eq "$LABEL: $prefix without the slash redirects to $prefix/" \
            "301 http://127.0.0.1:$PORT$prefix/" "$code"
        expect_eq "$LABEL: /sse-stream outside the prefix is not sselight's (404)" 404 \
            "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "http://127.0.0.1:$PORT/sse-stream")"
    fi

    if [ "$FAILED" -gt "$failed_before" ]; then
        echo "# $LABEL failed; nginx error log: $OUT_DIR/$LABEL_FILE-error.log (responders: $LABEL_FILE-stream.log, $LABEL_FILE-page.log)"
        show_logs
    fi
    deploy_stop
}

t0=$SECONDS
run_deployment "" "nginx /"
echo "# root deployment took $((SECONDS - t0)) s"

t0=$SECONDS
run_deployment /apps/sse "nginx /apps/sse"
echo "# prefix deployment took $((SECONDS - t0)) s"

harness_finish
