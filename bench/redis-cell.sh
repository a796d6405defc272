#!/bin/bash
# make bench-redis: the Redis cell of issue 8, sselight and nginx + nchan
# side by side in the same run (loopback only, not part of make test).
#
#   sselight: two instances (the shipped lighttpd.conf via server_start, each
#     with its own SSELIGHT_DATA_DIR) with SSELIGHT_BROKER pointing at one
#     fresh redis-server.
#   nchan: two nginx instances (bench/nginx-nchan.conf.in, one worker each)
#     with nchan_redis_url + nchan_use_redis on, sharing a second fresh
#     redis-server.
#
# Each side: REDIS_CELL_SUBS (5000) subscribers to one channel on EACH
# instance, then one publisher at REDIS_CELL_RATE (10/s) for
# REDIS_CELL_SECONDS (20 s), publishes alternating between the instances,
# each stamped with its send time (build/sse_load with two --port). Every
# subscriber on both instances should get every message.
# Writes bench/results/redis-DATE.md; the raw JSON, the server and Redis
# logs stay in test-output/redis-cell/.
#
# REDIS_CELL_BROKER=sqlite checks the harness without Redis on sselight's
# side: both instances share one data dir and the default SQLite broker.
# The result then goes to test-output/redis-cell/ only, never bench/results.
# REDIS_CELL_SIDES="sselight nchan" (default) picks the sides to run. Only
# the default cell with both sides on Redis writes to bench/results/.
# REDIS_CELL_RUNS=N (1 to 5, default 1) repeats the pair N times, swapping which side
# goes first each time (single runs on a shared machine vary a lot; nchan
# most of all when other processes take CPU), one table row per run.
#
# Bounded: each load run has its own timeout, every server is stopped by
# the EXIT trap, and the Makefile wraps it all in timeout 400 s per run.
source "$(dirname "$0")/../tests/lib/harness.sh"
source "$(dirname "$0")/lib.sh"
set -u
LOAD=$ROOT/build/sse_load
SUBS=${REDIS_CELL_SUBS:-5000}
RATE=${REDIS_CELL_RATE:-10}
SECS=${REDIS_CELL_SECONDS:-20}
BROKER=${REDIS_CELL_BROKER:-redis}
SIDES=${REDIS_CELL_SIDES:-sselight nchan}
RUNS=${REDIS_CELL_RUNS:-1}
MSGS=$(awk -v r="$RATE" -v s="$SECS" 'BEGIN { printf "%d", r * s }')
STAMP=$(date -u +%Y-%m-%d)
TICK=$(getconf CLK_TCK)
CH=cell$$
RUN=1

case "$RUNS" in [1-5]) ;; *) echo "redis-cell: REDIS_CELL_RUNS is 1 to 5" >&2; exit 2 ;; esac
BASE_OUT=$OUT_DIR
rm -rf "${BASE_OUT:?}"/*   # this script's own output of an earlier run
ROWS=$BASE_OUT/rows.jsonl
: > "$ROWS"
case "$BROKER" in redis|sqlite) ;; *) echo "redis-cell: REDIS_CELL_BROKER is redis or sqlite" >&2; exit 2 ;; esac
[ -x "$LOAD" ] || { echo "redis-cell: $LOAD is missing (make build/sse_load)" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "redis-cell: redis-server is not installed" >&2; exit 2; }

# --- process accounting -----------------------------------------------------
machine_busy() { # busy ticks of all CPUs: user nice system irq softirq steal
    awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}
secs() { awk -v a="$1" -v b="$2" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }'; }

# --- redis ------------------------------------------------------------------
REDIS_PID="" REDIS_DIR=""
redis_start() { # redis_start NAME: sets REDIS_PORT, REDIS_PID, REDIS_LOG
    REDIS_DIR=$(mktemp -d /tmp/sselight-r.XXXXXX)
    REDIS_PORT=$(free_port)
    REDIS_LOG=$BASE_OUT/redis-$1-$RUN.log
    redis_server_start "$REDIS_PORT" "$REDIS_LOG" --appendonly no \
        --dir "$REDIS_DIR" --daemonize no --protected-mode yes && return 0
    echo "redis-cell: redis-server did not start; see $REDIS_LOG" >&2
    return 1
}
redis_stop() {
    [ -n "$REDIS_PID" ] || return 0
    kill -TERM "$REDIS_PID" 2>/dev/null
    [ -z "$(wait_gone 5 "$REDIS_PID")" ] || kill -KILL "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=""
    rm -rf "$REDIS_DIR"
}
redis_commands() { # total commands processed so far
    redis-cli -p "$REDIS_PORT" info stats 2>/dev/null | tr -d '\r' |
        awk -F: '$1 == "total_commands_processed" { print $2 }'
}

# --- two sselight instances (harness.sh holds one server at a time) ----------
S_PIDS=() S_TMPS=() S_PORTS=() S_LOGS=() S_DATA=()
sselight_start() { # sselight_start NAME
    OUT_DIR=$BASE_OUT/sselight-$1-$RUN
    mkdir -p "$OUT_DIR"
    local data
    if [ "$BROKER" = redis ]; then
        data=$(mktemp -d /tmp/sselight-d.XXXXXX)
    else
        data=$SHARED_DATA
    fi
    SSELIGHT_DATA_DIR=$data server_start || { OUT_DIR=$BASE_OUT; return 1; }
    S_PIDS+=("$SERVER_PID") S_TMPS+=("$SERVER_TMP") S_PORTS+=("$PORT") S_LOGS+=("$SERVER_LOG")
    [ "$BROKER" = redis ] && S_DATA+=("$data")
    SERVER_PID="" SERVER_TMP=""
    OUT_DIR=$BASE_OUT
}
sselight_stop_all() {
    local i
    for i in "${!S_PIDS[@]}"; do
        SERVER_PID=${S_PIDS[$i]} SERVER_TMP=${S_TMPS[$i]}
        server_stop || echo "redis-cell: sselight instance $i left processes behind (killed)" >&2
    done
    SERVER_PID="" SERVER_TMP=""
    for i in "${!S_DATA[@]}"; do rm -rf "${S_DATA[$i]}"; done
    S_PIDS=() S_TMPS=() S_PORTS=() S_DATA=()
}
sselight_procs() { # every process of every instance (lighttpd's sessions)
    local p
    for p in "${S_PIDS[@]}"; do echo "$p"; pgrep -s "$p" 2>/dev/null; done | sort -u
}

# --- two nginx + nchan instances -------------------------------------------------
N_PIDS=() N_DIRS=() N_PORTS=()
nchan_start() { # nchan_start NAME
    local dir port user="" i
    dir=$(mktemp -d /tmp/sselight-n.XXXXXX)
    port=$(free_port)
    [ "$(id -u)" = 0 ] && user="user root;"
    # bench/nginx-nchan.conf.in (the make bench peer, same limits) plus the
    # shared Redis for every nchan location in the server.
    sed -e "s|@PORT@|$port|; s|@DIR@|$dir|g; s|@USER@|$user|" \
        -e "/listen 127.0.0.1:/a\\        nchan_redis_url \"redis://127.0.0.1:$REDIS_PORT\";\\n        nchan_use_redis on;" \
        "$ROOT/bench/nginx-nchan.conf.in" > "$dir/nginx.conf"
    nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' > "$BASE_OUT/nginx-$1-$RUN.log" 2>&1 &
    N_PIDS+=("$!") N_DIRS+=("$dir") N_PORTS+=("$port")
    for i in $(seq 1 50); do
        curl -s -o /dev/null --max-time 1 -d x "http://127.0.0.1:$port/pub/warmup$1" && return 0
        alive "${N_PIDS[-1]}" || break
        sleep 0.1
    done
    echo "redis-cell: nginx + nchan $1 did not start; see $BASE_OUT/nginx-$1-$RUN.log and $dir/error.log" >&2
    return 1
}
nchan_stop_all() {
    local i
    for i in "${!N_PIDS[@]}"; do
        kill -QUIT "${N_PIDS[$i]}" 2>/dev/null
        [ -z "$(wait_gone 5 "${N_PIDS[$i]}")" ] || kill -KILL "${N_PIDS[$i]}" 2>/dev/null
        wait "${N_PIDS[$i]}" 2>/dev/null
        [ -f "${N_DIRS[$i]}/error.log" ] && cp "${N_DIRS[$i]}/error.log" "$BASE_OUT/nginx-error-$RUN-$i.log"
        rm -rf "${N_DIRS[$i]}"
    done
    N_PIDS=() N_DIRS=() N_PORTS=()
}
nchan_procs() {
    local p
    for p in "${N_PIDS[@]}"; do descendants "$p"; done
}

SHARED_DATA=""
cleanup() {
    sselight_stop_all
    nchan_stop_all
    redis_stop
    [ -n "$SHARED_DATA" ] && rm -rf "$SHARED_DATA"
    true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- one side ---------------------------------------------------------------
# run_side SERVER: starts its Redis and two instances, runs the load, stops
# everything, appends a JSON line to $ROWS.
run_side() {
    local side=$1 sub pub procs cpu0 rcpu0 rcmd0 lp
    redis_start "$side" || return 1
    if [ "$side" = sselight ]; then
        if [ "$BROKER" = redis ]; then
            export SSELIGHT_BROKER=redis://127.0.0.1:$REDIS_PORT
        else
            unset SSELIGHT_BROKER
            SHARED_DATA=$(mktemp -d /tmp/sselight-d.XXXXXX)
        fi
        sselight_start a && sselight_start b || return 1
        unset SSELIGHT_BROKER
        PORTS=("${S_PORTS[@]}") sub=/events/$CH pub=/events/$CH
        procs=$(sselight_procs)
    else
        nchan_start a && nchan_start b || return 1
        PORTS=("${N_PORTS[@]}") sub=/sub/$CH pub=/pub/$CH
        procs=$(nchan_procs)
    fi
    echo "redis-cell: $side: instances on ports ${PORTS[*]}, redis on $REDIS_PORT; $SUBS subscribers each, $MSGS messages at $RATE/s"
    local rss0 busy0 t0
    rss0=$(rss_kb $procs)
    cpu0=$(cpu_ticks $procs) rcpu0=$(cpu_ticks "$REDIS_PID") rcmd0=$(redis_commands)
    busy0=$(machine_busy) t0=$(date +%s.%N)
    # Drain 30 s: when the servers fall seconds behind, deliveries still
    # arriving are counted rather than cut off 5 s after the last POST.
    timeout $((SECS + 150)) "$LOAD" --port "${PORTS[0]}" --port "${PORTS[1]}" \
        --sub-path "$sub" --pub-path "$pub" -n $((SUBS * 2)) -m "$MSGS" -r "$RATE" \
        --drain 30 --timeout $((SECS + 120)) > "$BASE_OUT/$side-$RUN.json" 2> "$BASE_OUT/$side-$RUN.err" &
    lp=$!
    local peak=$rss0 r
    while alive "$lp"; do
        r=$(rss_kb $procs)
        [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.5
    done
    wait "$lp"
    local rc=$?
    local cpu rcpu rcmd keys busy wall
    cpu=$(secs "$cpu0" "$(cpu_ticks $procs)")
    rcpu=$(secs "$rcpu0" "$(cpu_ticks "$REDIS_PID")")
    busy=$(secs "$busy0" "$(machine_busy)")
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    rcmd=$(( $(redis_commands) - rcmd0 ))
    keys=$(redis-cli -p "$REDIS_PORT" --scan 2>/dev/null | sort |
        awk '{ n++; if (n <= 3) k = k (n > 1 ? ", " : "") $0 } END { printf "%d%s", n, (n ? " (" k (n > 3 ? ", ..." : "") ")" : "") }')
    redis-cli -p "$REDIS_PORT" info commandstats 2>/dev/null | tr -d '\r' > "$BASE_OUT/redis-$side-$RUN-commandstats.txt"
    tail -n 3 "$BASE_OUT/$side-$RUN.err" | sed "s/^/redis-cell: $side: /"
    [ "$rc" = 0 ] || echo "redis-cell: $side: sse_load exited $rc" >&2
    # Everything the servers logged during the run, kept for the result.
    local log="$BASE_OUT/$side-$RUN-server.log"
    if [ "$side" = sselight ]; then
        sselight_stop_all
        cat "${S_LOGS[@]}" > "$log"
        S_LOGS=()
    else
        nchan_stop_all
        cat "$BASE_OUT"/nginx-error-"$RUN"-*.log > "$log" 2>/dev/null
    fi
    redis_stop
    [ -n "$SHARED_DATA" ] && { rm -rf "$SHARED_DATA"; SHARED_DATA=""; }
    # Log lines besides starts, stops and subscribers closed at the end.
    grep -vE 'server started|server stopped|signal 15: ending|subscriber of [^ ]+ closed after id [0-9]+: web server closed the connection' \
        "$log" 2>/dev/null > "$BASE_OUT/$side-$RUN-notable.log"
    local lines
    lines=$(grep -c . "$BASE_OUT/$side-$RUN-notable.log"); lines=${lines:-0}
    # One JSON line per side: sse_load's result plus what was measured here.
    RUN=$RUN node -e '
        const fs = require("fs");
        const [file, side, cpu, rcpu, rcmd, rss, lines, keys, busy, wall, rc] = process.argv.slice(1);
        let j = {};
        try { j = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { j.error = "no result from sse_load"; }
        Object.assign(j, { side, run: +process.env.RUN, cpu_servers: +cpu, cpu_redis: +rcpu, redis_commands: +rcmd,
            rss_growth_kb: +rss, notable_lines: +lines, redis_keys: keys, machine_busy_s: +busy,
            wall_s: +wall, load_rc: +rc });
        console.log(JSON.stringify(j));
    ' "$BASE_OUT/$side-$RUN.json" "$side" "$cpu" "$rcpu" "$rcmd" "$((peak - rss0))" "$lines" "$keys" "$busy" "$wall" "$rc" >> "$ROWS"
    tail -n 1 "$ROWS" | node -e '
        const j = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(`redis-cell: ${j.side}: established ${j.established}, delivered ${j.delivered} / ${j.established * j.m}, ` +
            `POSTs answered ${j.published}/${j.m}, duplicates ${j.duplicates}, p50 ${j.p50_ms} p99 ${j.p99_ms} max ${j.max_ms} ms, ` +
            `arrival orders ${j.orders}, redis commands ${j.redis_commands}`);
    '
}

# --- run ------------------------------------------------------------------------
echo "redis-cell: broker $BROKER; sides: $SIDES; runs: $RUNS"
for s in $SIDES; do
    case "$s" in sselight|nchan) ;; *) echo "redis-cell: unknown side $s" >&2; exit 2 ;; esac
done
for RUN in $(seq 1 "$RUNS"); do
    order=$SIDES
    [ $((RUN % 2)) = 0 ] && order=$(echo "$SIDES" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }')
    for s in $order; do
        run_side "$s" || { echo "redis-cell: $s side failed to start" >&2; exit 1; }
    done
done

# --- results ------------------------------------------------------------------
# Only the issue's cell, with Redis on both sides, goes to bench/results.
if [ "$BROKER" = redis ] && [ "$SIDES" = "sselight nchan" ] &&
    [ "$SUBS/$RATE/$SECS" = 5000/10/20 ]; then
    MD=$ROOT/bench/results/redis-$STAMP.md
else
    MD=$BASE_OUT/redis-cell.md
fi
# What the responders were built from: the commit, when cgi-bin/ was built,
# and any uncommitted change in src/ (other engineers share the tree).
built=" Responders built $(date -u -r "$ROOT/cgi-bin/stream.fcgi" '+%H:%M UTC' 2>/dev/null)"
dirty=$(cd "$ROOT" && git status --porcelain -- src 2>/dev/null | awk '{ print $2 }' | tr '\n' ' ')
[ -n "$dirty" ] && built="$built; uncommitted changes in the tree at the end of the run (not necessarily in the binaries): ${dirty% }"
{
    echo "# make bench-redis, $STAMP $(date -u +%H:%M) UTC"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r). Commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null).$built."
    echo "Cell (issue 8): two instances x $SUBS subscribers to one channel ($((SUBS * 2)) streams), one publisher at $RATE/s for $SECS s ($MSGS messages), POSTs alternating between the two instances; every subscriber on both instances should get every message."
    if [ "$BROKER" = redis ]; then
        echo "sselight: two lighttpd + responder sets from the shipped lighttpd.conf, each with its own SSELIGHT_DATA_DIR, SSELIGHT_BROKER=redis://127.0.0.1:PORT on one fresh $(redis-server --version | cut -d' ' -f3 | sed 's/v=/redis-server /') (--save '' --appendonly no)."
    else
        echo "sselight: HARNESS CHECK ONLY, not the Redis broker: two instances sharing one SSELIGHT_DATA_DIR with the default SQLite broker."
    fi
    echo "nginx + nchan: two nginx $(nginx -v 2>&1 | cut -d/ -f2) with libnginx-mod-nchan $(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null), one worker each (bench/nginx-nchan.conf.in plus nchan_redis_url and nchan_use_redis on), sharing a second fresh redis-server."
    echo "Load: one build/sse_load process (bench/sse_load.c with two --port): subscriber i on instance i mod 2, publish k to instance k mod 2, each message one POST stamped with its send time; latency = receive - send over all first deliveries. Same instance = the subscriber's instance took the POST; other instance = it came through Redis from the other one."
    echo "CPU = user + system seconds during the load run of both instances' processes (web server + responders), of redis-server and of the load client; RSS growth = peak - before, both instances together."
    echo "A shared 2-core machine, and the cell itself (servers, Redis and load client) keeps most of both cores busy: latencies vary a lot between runs, nchan's most (REDIS_CELL_RUNS repeats the cell)."
    echo
    node -e '
        const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
        const v = (x) => (x === undefined || x === null ? "-" : x);
        const name = (s) => (s === "nchan" ? "nginx + nchan" : s);
        const out = [];
        const many = rows.some((r) => r.run > 1);
        out.push((many ? "| run " : "") + "| server | established | delivered / expected | POSTs answered | duplicates | p50 ms | p99 ms | max ms | same instance p50 / p99 ms | other instance p50 / p99 ms | arrival orders | CPU s servers | CPU s redis | CPU s load client | CPU s other processes |");
        out.push((many ? "|---" : "") + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (const r of rows) {
            const other = (r.machine_busy_s - r.cpu_servers - r.cpu_redis - (r.client_cpu_s || 0)).toFixed(1);
            out.push((many ? `| ${r.run} ` : "") + `| ${name(r.side)} | ${v(r.established)} | ${v(r.delivered)} / ${r.established * r.m || "-"} | ${v(r.published)} / ${v(r.m)} | ${v(r.duplicates)} | ${v(r.p50_ms)} | ${v(r.p99_ms)} | ${v(r.max_ms)} | ` +
                `${v(r.local_p50_ms)} / ${v(r.local_p99_ms)} | ${v(r.cross_p50_ms)} / ${v(r.cross_p99_ms)} | ${v(r.orders)} | ${r.cpu_servers} | ${r.cpu_redis} | ${v(r.client_cpu_s)} | ${other} |`);
        }
        out.push("");
        out.push("Expected = established x messages sent: a message whose POST got no answer may still be delivered. Arrival orders: distinct orders in which the subscribers that got every message received them (1 = all the same). CPU s other processes = busy CPU time of the whole machine during the run minus the servers, redis and the load client: other work sharing the 2 cores.");
        out.push("");
        out.push("Per side:");
        for (const r of rows) {
            const inst = (r.per_port || []).map((p, i) => `${"ab"[i]}: ${p.subs_est} subscribers, ${p.got} / ${p.subs_est * r.m} delivered, ${p.pubs_ok} POSTs answered`).join("; ");
            out.push(`- ${many ? "run " + r.run + ", " : ""}${name(r.side)}: ${inst || "-"}; subscriber errors ${v(r.sub_errors)}, publish errors ${v(r.publish_errors)}; ` +
                `deliveries after a later-numbered message ${v(r.out_of_order)} (the POSTs to the two instances do not wait for each other, so this is no broker guarantee); ` +
                `RSS growth ${r.rss_growth_kb} KB (${(r.rss_growth_kb / (r.established || 1)).toFixed(1)} KB per subscriber); load run ${r.wall_s} s; redis commands during it ${r.redis_commands}; redis keys at the end: ${r.redis_keys}; ` +
                `server log lines other than start, stop and subscribers closed at the end: ${r.notable_lines}` + (r.load_rc ? `; sse_load exited ${r.load_rc}` : ""));
        }
        console.log(out.join("\n"));
    ' "$ROWS"
    echo
    echo "Redis calls by command since each redis-server started (instance start-up, subscribes and publishes; a few INFO and SCAN are this script's), run 1:"
    for s in sselight nchan; do
        f=$BASE_OUT/redis-$s-1-commandstats.txt
        [ -s "$f" ] || continue
        echo "- $s: $(awk -F'[:,=]' '/^cmdstat_/ { printf "%s%s %s", (n++ ? ", " : ""), substr($1, 9), $3 }' "$f")"
    done
    for RUN in $(seq 1 "$RUNS"); do
        for s in sselight nchan; do
            f=$BASE_OUT/$s-$RUN-notable.log
            [ -s "$f" ] || continue
            echo
            echo "Run $RUN, $s: log lines other than start, stop and subscribers closed at the end (first 10 of $(grep -c . "$f")):"
            echo
            echo '```'
            head -n 10 "$f"
            echo '```'
        done
    done
    echo
    echo "Command: $([ "$RUNS" = 1 ] || echo "REDIS_CELL_RUNS=$RUNS ")make bench-redis (bench/redis-cell.sh). Raw JSON and logs: test-output/redis-cell/."
} > "$MD"
echo "redis-cell: wrote $MD"
cat "$MD"
