#!/bin/bash
# The shipped HAProxy config (deploy/haproxy/sselight.cfg and
# sselight-static.lua) with the real HAProxy 2.6 (Debian package, master-
# worker mode as its systemd unit runs it) in front of both responders,
# each started by spawn-fcgi -n on its own socket (tests/lib/
# deploy_spawn.sh). Once at the site root and once under /apps/sse, the
# checks of tests/lib/deploy_checks.sh run through HAProxy; then HAProxy
# (SIGUSR1, soft stop) and the responders (SIGTERM) stop and nothing may be
# left.
#
# The host config around sselight.cfg is a frontend with the one
# use_backend line that sselight.cfg's comment gives, gzip compression for
# text/event-stream (events must still leave one by one) and "timeout
# client 3s". The rendered stream timeout ("set-timeout server 1h") is 3 s
# and the heartbeat 1 s, so the heartbeat check shows quiet streams outlive
# both timeouts. sselight.cfg loads the Lua file from @WWW@/../haproxy/, as
# in an install: @WWW@ is a directory of this test laid out the same way.
# Under /apps/sse HAProxy runs chrooted, as Debian's haproxy.cfg has it,
# with the sockets' directory and @WWW@ bound into the chroot at the same
# paths (what the docs' systemd drop-in does; here unshare -m and mount
# --bind): without them every page is 503 and every static file 404.
#
# deploy_check_no_hold guards "option http-no-delay": without it HAProxy
# sends with MSG_MORE and every event reached curl about 0.2 s late (the
# earliest of the first five events behind the responder's schedule, 10
# runs: 0.227-0.234 s without, 0.022-0.034 s with the option; the check
# allows 0.15 s).
#
# A killed client's stream: over HTTP/1 HAProxy 2.6 does not watch the
# client connection while it forwards a response, so the first write to the
# gone client succeeds and the second fails: the stream is freed at the
# second heartbeat after the client left. Over HTTP/2, "option
# abortonclose" frees it at once. Measured with a 1 s heartbeat (kill -9 of
# curl 0-0.9 s after it was subscribed, /stats polled every 0.05 s, 10 runs
# each): HTTP/1 1.09-1.99 s, HTTP/2 0.04-0.05 s (1.17-1.97 s without
# abortonclose, which changes nothing for HTTP/1). The checks allow 2
# heartbeats + 1 s and 1 s.
#
# T_DEPLOY_HAPROXY_SED: extra sed expressions applied to the rendered
# sselight.cfg, to break it on purpose, e.g.
#   's|^ *option http-no-delay||'
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"
source "$ROOT/tests/lib/deploy_spawn.sh"

HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
SNIPPET=$ROOT/deploy/haproxy/sselight.cfg
HOST_NAME=HAProxy
HOST_STOP_SIG=USR1 # soft stop
IDLE_S=3        # "timeout client" and the rendered stream "timeout server"
HB_MS=1000      # the stream responder's heartbeat
DISCONNECT_S=3.0
DISCONNECT_H2_S=1.0

deploy_spawn_require "$HAPROXY"
deploy_spawn_expect "$SNIPPET" "http-request set-timeout server 1h if sselight_stream"
deploy_spawn_expect "$SNIPPET" "#   use_backend sselight if "

host_start() {
    local prefix=$1 use chroot="" run ns=(unshare -m --propagation private)
    # @WWW@ as an install has it: www/ next to haproxy/ (the Lua file). A
    # copy, not symlinks, which would point out of the chroot below.
    mkdir -p "$D/share/www"
    cp -R "$ROOT/www/assets" "$ROOT/www/vendor" "$D/share/www/"
    ln -s "$ROOT/deploy/haproxy" "$D/share/haproxy"
    deploy_spawn_render "$SNIPPET" "$D/sselight.cfg" "$prefix" "$D/share/www" \
        "s|set-timeout server 1h|set-timeout server ${IDLE_S}s|" \
        "${T_DEPLOY_HAPROXY_SED:-}" || return 1
    # The frontend line, as the comment in sselight.cfg gives it.
    use=$(sed -n 's/^#   \(use_backend sselight if .*\)$/\1/p' "$D/sselight.cfg")
    run=("$HAPROXY" -W -db -f "$D/haproxy.cfg" -f "$D/sselight.cfg")
    if [ -n "$prefix" ]; then
        # As Debian's haproxy.cfg: a chroot, with @RUN_DIR@ and @WWW@ bound
        # into it at the same paths, as the systemd drop-in of the docs does
        # (BindPaths=, BindReadOnlyPaths=): here in a mount namespace of
        # HAProxy's own.
        chroot="chroot $D/chroot"
        mkdir -p "$D/chroot$D/run" "$D/chroot$D/share/www"
        [ "$(id -u)" = 0 ] || ns=(unshare -r -m --propagation private)
        # shellcheck disable=SC2016 # the inner script's own arguments
        run=("${ns[@]}" sh -c 'mount --bind "$1" "$3$1" && mount --bind "$2" "$3$2" &&
                               mount -o remount,bind,ro "$3$2" && shift 3 && exec "$@"' \
             sh "$D/run" "$D/share/www" "$D/chroot" "${run[@]}")
    fi
    cat > "$D/haproxy.cfg" <<EOF
global
    log stderr format raw local0 info
    maxconn 1000
    $chroot
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client ${IDLE_S}s
    timeout server ${IDLE_S}s
    timeout http-request 10s
frontend web
    bind 127.0.0.1:$PORT
    # A host that compresses everything it can, event streams too.
    compression algo gzip
    compression type text/event-stream text/html text/css text/javascript
    $use
    default_backend host
backend host
    http-request return status 404 content-type text/plain string "the host site: not found"
EOF
    deploy_spawn_host haproxy "$HAPROXY" -c -q -f "$D/haproxy.cfg" -f "$D/sselight.cfg" -- "${run[@]}"
}

host_checks() {
    local d code
    d=$(_deploy_dir)
    # sselight-static.lua: types, HEAD, and nothing outside assets/ and vendor/.
    code=$(curl -s -I --max-time 3 -o "$d/css.head" -w '%{http_code}' "$BASE_URL/assets/style.css")
    _deploy_eq "HEAD of a stylesheet is 200 (sselight-static.lua)" 200 "$code"
    _deploy_check "... with Content-Type: text/css and its Content-Length" \
        bash -c "grep -qi '^content-type: text/css' '$d/css.head' &&
                 grep -qi '^content-length: $(wc -c < "$ROOT/www/assets/style.css")' '$d/css.head'"
    _deploy_eq "a script is served byte for byte" \
        "$(md5sum < "$ROOT/www/vendor/htmx.min.js")" \
        "$(curl -s --max-time 3 "$BASE_URL/vendor/htmx.min.js" | md5sum)"
    _deploy_eq "assets/../ is 404 (--path-as-is)" 404 \
        "$(curl -s -o /dev/null --path-as-is --max-time 3 -w '%{http_code}' "$BASE_URL/assets/../../deploy/haproxy/sselight.cfg")"
    _deploy_eq "a dot file under assets/ is 404" 404 \
        "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$BASE_URL/assets/.x")"
    _deploy_eq "POST to a static file is 405" 405 \
        "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' -d x "$BASE_URL/assets/style.css")"
}

deploy_spawn_main
