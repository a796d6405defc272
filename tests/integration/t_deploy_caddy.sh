#!/bin/bash
# The shipped Caddy snippet (deploy/caddy/sselight.caddy) with the real
# Caddy 2.6 (Debian package) in front of both responders, each started by
# spawn-fcgi -n on its own socket (tests/lib/deploy_spawn.sh). Once at the
# site root and once under /apps/sse, the checks of tests/lib/
# deploy_checks.sh run through Caddy; then Caddy (SIGTERM, graceful) and
# the responders (SIGTERM) stop and nothing may be left.
#
# The host site imports the snippet, has "encode gzip" (events must still
# leave one by one) and, under the prefix, a handle of its own for the
# rest. Its server has an idle timeout of 3 s and accepts h2c (HTTP/2
# without TLS, for the HTTP/2 check); the admin API is off and Caddy's
# config and data dirs are in the test's temp dir. The snippet has no
# timeout that applies to streams (a fastcgi read_timeout would cut every
# stream after that time: T_DEPLOY_CADDY_SED below); the heartbeat is 1 s,
# and the heartbeat check shows quiet streams outlive the idle timeout.
#
# A killed client's stream: Caddy 2.6 goes on copying the stream after the
# client left until a write to it fails, and closes the FastCGI connection
# one heartbeat later. Measured with a 1 s heartbeat (kill -9 of curl 0-0.9 s
# after it was subscribed, /stats polled every 0.05 s, 10 runs each):
# HTTP/1 3.05-4.01 s (the fourth heartbeat after the client left), HTTP/2
# 1.08-2.04 s (the second); the same without flush_interval -1 or with
# flush_interval 50ms. The checks allow 4 and 2 heartbeats + 1 s (CPU noise beside the sanitizer lane).
#
# T_DEPLOY_CADDY_SED: extra sed expressions applied to the rendered
# snippet, to break it on purpose, e.g. (a read timeout on the streams)
#   's|^\(\t*\)transport fastcgi$|\1transport fastcgi {\n\1\tread_timeout 3s\n\1}|'
source "$(dirname "$0")/../lib/harness.sh"
source "$ROOT/tests/lib/deploy_checks.sh"
source "$ROOT/tests/lib/deploy_spawn.sh"

CADDY=$(command -v caddy || echo /usr/bin/caddy)
SNIPPET=$ROOT/deploy/caddy/sselight.caddy
HOST_NAME=Caddy
HOST_STOP_SIG=TERM
IDLE_S=3        # the host server's idle timeout
HB_MS=1000      # the stream responder's heartbeat
DISCONNECT_S=5.0
DISCONNECT_H2_S=3.0

deploy_spawn_require "$CADDY"
deploy_spawn_expect "$SNIPPET" "flush_interval -1"

host_start() {
    local prefix=$1 caddy_env
    deploy_spawn_render "$SNIPPET" "$D/sselight.caddy" "$prefix" "$ROOT/www" \
        "${T_DEPLOY_CADDY_SED:-}" || return 1
    # Caddy's home, config and data dirs (autosave.json, certificates).
    mkdir -p "$D/caddy"
    caddy_env=(HOME="$D/caddy" XDG_CONFIG_HOME="$D/caddy/config" XDG_DATA_HOME="$D/caddy/data")
    {
        cat <<EOF
{
	admin off
	auto_https off
	servers {
		protocols h1 h2c
		timeouts {
			idle ${IDLE_S}s
		}
	}
}
http://127.0.0.1:$PORT {
	# A host that compresses what it can.
	encode gzip
	import $D/sselight.caddy
EOF
        # Under a prefix the host keeps a site of its own for the rest.
        [ -n "$prefix" ] && printf '\thandle {\n\t\trespond "the host site" 200\n\t}\n'
        echo "}"
    } > "$D/Caddyfile"
    deploy_spawn_host caddy env "${caddy_env[@]}" "$CADDY" validate --adapter caddyfile --config "$D/Caddyfile" \
        -- env "${caddy_env[@]}" "$CADDY" run --adapter caddyfile --config "$D/Caddyfile"
}

host_checks() {
    local prefix=$1
    [ -n "$prefix" ] || return 0
    _deploy_eq "the host's own handle still answers outside the prefix" "the host site" \
        "$(curl -s --max-time 3 "http://127.0.0.1:$PORT/elsewhere")"
}

deploy_spawn_main
