# bench/lib.sh: process accounting shared by the benchmark scripts (sourced
# after tests/lib/harness.sh). Reads /proc only.
descendants() { # the pid and all below it
    local p
    echo "$1"
    for p in $(pgrep -P "$1"); do descendants "$p"; done
}
rss_kb() { # summed VmRSS of the given pids
    local p t=0 v
    for p in "$@"; do
        v=$(awk '/^VmRSS:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
cpu_ticks() { # summed user + system clock ticks of the given pids
    local p t=0 v
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' /proc/"$p"/stat 2>/dev/null)
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# nchan_start: nginx + nchan (bench/nginx-nchan.conf.in, one worker) on a
# free port; sets NCHAN_PORT, NGINX_PID. nchan_stop: stops it.
NGINX_PID=""
nchan_start() {
    NCHAN_DIR=$(mktemp -d /tmp/sselight-n.XXXXXX)
    NCHAN_PORT=$(free_port)
    local user=""
    [ "$(id -u)" = 0 ] && user="user root;"
    sed -e "s|@PORT@|$NCHAN_PORT|; s|@DIR@|$NCHAN_DIR|g; s|@USER@|$user|" \
        "$ROOT/bench/nginx-nchan.conf.in" > "$NCHAN_DIR/nginx.conf"
    nginx -c "$NCHAN_DIR/nginx.conf" -p "$NCHAN_DIR" -g 'daemon off;' \
        > "$OUT_DIR/nginx.log" 2>&1 &
    NGINX_PID=$!
    local i
    for i in $(seq 1 50); do
        curl -s -o /dev/null --max-time 1 -d x "http://127.0.0.1:$NCHAN_PORT/pub/warmup" && return 0
        sleep 0.1
    done
    echo "bench: nginx + nchan did not start; see $OUT_DIR/nginx.log" >&2
    return 1
}
nchan_stop() {
    [ -n "$NGINX_PID" ] || return 0
    kill -QUIT "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
    NGINX_PID=""
    rm -rf "$NCHAN_DIR"
}
