#!/bin/bash
# The shipped H2O snippet (deploy/h2o/sselight.conf) with the real H2O 2.2
# (Debian package) in front of both responders, each started by spawn-fcgi
# -n on its own socket (tests/lib/deploy_spawn.sh). Once at the site root
# and once under /apps/sse, the checks of tests/lib/deploy_checks.sh run
# through H2O; then H2O (SIGTERM, graceful) and the responders (SIGTERM)
# stop and nothing may be left.
#
# The host merges the snippet into its paths with "<<: !file", as the
# snippet's comment shows, and has "compress: ON" (events must still leave
# one by one); under the prefix it keeps a "/" of its own. At the root the
# snippet's last entry (the prefix redirect) is deleted, as its comment
# says. The rendered fastcgi.timeout.io of the stream routes is 3 s
# (shipped: 1 h) and the heartbeat 1 s, so the heartbeat check shows quiet
# streams outlive the timeout.
#
# A killed client's stream: H2O stops watching an HTTP/1 client connection
# once it has read the request, so it sees the client gone when a write to
# it fails, the second heartbeat after the client left. Over HTTP/2 it
# reads the connection all along and closes the FastCGI connection at once.
# Measured with a 1 s heartbeat (kill -9 of curl 0-0.9 s after it was
# subscribed, /stats polled every 0.05 s, 10 runs each): HTTP/1 1.19-2.02 s,
# HTTP/2 0.03-0.04 s. The checks allow 2 heartbeats + 1 s and 1 s.
#
# T_DEPLOY_H2O_SED: extra sed expressions applied to the rendered snippet,
# to break it on purpose, e.g. (/events to the page responder)
#   '/^"[^"]*\/events": \*sselight_stream$/d'
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"
source "$ROOT/tests/lib/deploy_spawn.sh"

H2O=$(command -v h2o || echo /usr/bin/h2o)
SNIPPET=$ROOT/deploy/h2o/sselight.conf
HOST_NAME=H2O
HOST_STOP_SIG=TERM
IDLE_S=3        # the rendered fastcgi.timeout.io of the stream routes
HB_MS=1000      # the stream responder's heartbeat
DISCONNECT_S=3.0
DISCONNECT_H2_S=1.0

deploy_spawn_require "$H2O"
deploy_spawn_expect "$SNIPPET" "fastcgi.timeout.io: 3600000"
deploy_spawn_expect "$SNIPPET" '"@PREFIX@":'

host_start() {
    local prefix=$1 root_only=""
    # At the root: without the prefix redirect (the snippet's last entry).
    [ -z "$prefix" ] && root_only='/^"":$/,$d'
    deploy_spawn_render "$SNIPPET" "$D/sselight.conf" "$prefix" "$ROOT/www" \
        "s|fastcgi.timeout.io: 3600000|fastcgi.timeout.io: $((IDLE_S * 1000))|" \
        "$root_only" "${T_DEPLOY_H2O_SED:-}" || return 1
    mkdir "$D/html"
    echo 'the host site' > "$D/html/index.html"
    {
        # The workers must reach the 0600 sockets: the responders' user
        # (started as root, H2O would switch to nobody).
        [ "$(id -u)" = 0 ] && echo "user: root"
        cat <<EOF
pid-file: $D/h2o.pid
error-log: $D/logs/error.log
access-log: $D/logs/access.log
listen:
  host: 127.0.0.1
  port: $PORT
hosts:
  default:
    # A host that compresses what it can.
    compress: ON
    paths:
      <<: !file $D/sselight.conf
EOF
        # Under a prefix the host keeps a site of its own at "/".
        [ -n "$prefix" ] && printf '      "/":\n        file.dir: %s\n' "$D/html"
    } > "$D/h2o.conf"
    deploy_spawn_host h2o "$H2O" -t -c "$D/h2o.conf" -- "$H2O" -c "$D/h2o.conf"
}

host_checks() {
    local prefix=$1
    if [ -n "$prefix" ]; then
        _deploy_eq "the host's own / is still the host's" "the host site" \
            "$(curl -s --max-time 3 "http://127.0.0.1:$PORT/")"
    fi
    _deploy_check "/eventsx is not the stream responder's (the paths match by segment)" \
        bash -c "! curl -s -o /dev/null --max-time 3 -w '%{content_type}' '$BASE_URL/eventsx' | grep -q '^text/plain'"
}

deploy_spawn_main
