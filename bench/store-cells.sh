#!/bin/bash
# make bench, second part: the store cells (loopback only, bounded).
#
# Stall cell: one sselight (the shipped lighttpd.conf) with STALL_SUBS
# (1000) subscribers of one channel and STALL_SUBS of /streams/ticks, a
# publisher at 10/s for 10 s (build/sse_load). 3 s after the first publish,
# for 3 s, a stall:
#   none          nothing (the baseline, SQLite broker)
#   sqlite-lock   another process holds SQLite's write lock
#                 (sqlite3 broker.db 'BEGIN IMMEDIATE;' '.shell sleep 3' 'COMMIT;')
#   none-redis    nothing (the baseline, Redis broker)
#   redis-sleep   redis-cli DEBUG SLEEP 3
#   redis-stop    SIGSTOP to redis-server, SIGCONT 3 s later
# Measured from every event the subscribers got (sse_load --events-out):
# the gaps between ticks (1000 ms when nothing stalls the loop), the
# delivery latency of messages sent outside the stall window, and for
# messages sent during it, how long after the stall ended they arrived
# (they cannot be stored before it ends).
#
# Publish throughput: 10 subscribers of one channel, 5,000 POSTs of one
# event from 16 keep-alive connections as fast as answers come (sse_load
# --publishers 16): sselight with SSELIGHT_SYNC=normal and full, and nginx +
# nchan (memory store, nothing written to disk) in the same run.
#
# Resync: RESYNC_SUBS (5000) subscribers on as many channels with the Redis
# broker; the live connection is killed 3 times; tick lateness meanwhile.
#
# Every cell STORE_RUNS (3) times, alternating the order of its sides.
# STORE_CELLS (default "stall resync throughput") picks the cells; the
# results of a partial set go to test-output/store-cells/store-partial.md.
# Writes bench/results/store-DATE.md; raw files stay in
# test-output/store-cells/.
source "$(dirname "$0")/../tests/lib/harness.sh"
source "$(dirname "$0")/lib.sh"
set -u
LOAD=$ROOT/build/sse_load
RUNS=${STORE_RUNS:-3}
SUBS=${STALL_SUBS:-1000}
STAMP=$(date -u +%Y-%m-%d)
MD=$ROOT/bench/results/store-$STAMP.md
TICK=$(getconf CLK_TCK)
case "$RUNS" in [1-5]) ;; *) echo "store-cells: STORE_RUNS is 1 to 5" >&2; exit 2 ;; esac
case "$SUBS" in [1-9]|[1-9][0-9]|[1-9][0-9][0-9]|[1-5][0-9][0-9][0-9]) ;;
    *) echo "store-cells: STALL_SUBS is 1 to 5999" >&2; exit 2 ;; esac
[ -x "$LOAD" ] || { echo "store-cells: $LOAD is missing (make build/sse_load)" >&2; exit 2; }
rm -rf "${OUT_DIR:?}"/*
STALL_ROWS=$OUT_DIR/stall.tsv
TP_ROWS=$OUT_DIR/throughput.tsv
RESYNC_ROWS=$OUT_DIR/resync.tsv
: > "$STALL_ROWS"
: > "$TP_ROWS"
: > "$RESYNC_ROWS"

REDIS_PID="" REDIS_DIR="" DATA="" rport=""
redis_stop() {
    [ -n "$REDIS_PID" ] || return 0
    kill -CONT "$REDIS_PID" 2>/dev/null
    kill -TERM "$REDIS_PID" 2>/dev/null
    [ -z "$(wait_gone 5 "$REDIS_PID")" ] || kill -KILL "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=""
}
cleanup() {
    nchan_stop
    server_stop
    redis_stop
    rm -rf "${REDIS_DIR:-/nonexistent}" "${DATA:-/nonexistent}"
}
trap cleanup EXIT

now_us() { date +%s%6N; }
cpu_s() { # CPU seconds between two tick counts
    awk -v a="$1" -v b="$2" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }'
}
# stats FILE: "p50 p99 max count" of the numbers in FILE (nearest rank)
stats() {
    sort -n "$1" | awk '{ v[NR] = $1 }
        END {
            if (!NR) { print "- - - 0"; exit }
            a = int(0.5 * NR + 0.999999); b = int(0.99 * NR + 0.999999)
            printf "%.1f %.1f %.1f %d\n", v[a], v[b], v[NR], NR
        }'
}
json_field() { grep -o "\"$2\":[0-9.]*" "$1" | head -n1 | cut -d: -f2; }

# --- the stall cell ------------------------------------------------------------
# stall_run RUN CONDITION: one row in $STALL_ROWS.
stall_run() {
    local run=$1 cond=$2 dir=$OUT_DIR/stall-$1-$2
    mkdir -p "$dir"
    DATA=$(mktemp -d /tmp/sselight-sd.XXXXXX)
    export SSELIGHT_DATA_DIR=$DATA
    case "$cond" in
        none|sqlite-lock) unset SSELIGHT_BROKER ;;
        *)
            REDIS_DIR=$(mktemp -d /tmp/sselight-sr.XXXXXX)
            rport=$(free_port)
            redis_server_start "$rport" "$dir/redis.log" --dir "$REDIS_DIR" \
                --appendonly no --enable-debug-command local ||
                { echo "store-cells: redis-server did not start; see $dir/redis.log" >&2; return 1; }
            export SSELIGHT_BROKER=redis://127.0.0.1:$rport/0
            ;;
    esac
    server_start > "$dir/start.log" 2>&1 ||
        { echo "store-cells: lighttpd did not start; see $dir/start.log" >&2; return 1; }
    local ch=stall$run$$
    "$LOAD" --port "$PORT" --sub-path /streams/ticks --pub-path /unused -n "$SUBS" -m 0 \
        --drain 15 --timeout 40 --events-out "$dir/ticks.txt" \
        > "$dir/ticks.json" 2> "$dir/ticks.err" &
    local tp=$!
    "$LOAD" --port "$PORT" --sub-path "/events/$ch" --pub-path "/events/$ch" -n "$SUBS" \
        -m 100 -r 10 --drain 10 --timeout 60 --events-out "$dir/channel.txt" \
        > "$dir/channel.json" 2> "$dir/channel.err" &
    local cp=$!
    local t0 t1
    if wait_for_line "$dir/channel.err" 'publishing' 20; then
        sleep 3
        t0=$(now_us)
        case "$cond" in
            none|none-redis) sleep 3 ;;
            sqlite-lock) sqlite3 "$DATA/broker.db" 'BEGIN IMMEDIATE;' '.shell sleep 3' 'COMMIT;' \
                > "$dir/stall.log" 2>&1 ;;
            redis-sleep) redis-cli -p "$rport" DEBUG SLEEP 3 > "$dir/stall.log" 2>&1 ;;
            redis-stop) kill -STOP "$REDIS_PID"; sleep 3; kill -CONT "$REDIS_PID" ;;
        esac
        t1=$(now_us)
    else
        echo "store-cells: $cond: the channel load never started publishing" >&2
        t0=0 t1=0
    fi
    wait "$cp" "$tp"
    curl -s --max-time 2 "$BASE_URL/stats" > "$dir/stats.json"
    server_stop
    redis_stop
    rm -rf "$DATA" "${REDIS_DIR:-/nonexistent}"
    DATA="" REDIS_DIR=""

    # ticks: each gap minus the 1000 ms period, per subscriber
    awk '{ if ($2 in last) printf "%.3f\n", ($3 - last[$2]) / 1000 - 1000; last[$2] = $3 }' \
        "$dir/ticks.txt" > "$dir/tick-late.txt"
    # channel: latency of messages sent outside the window; messages sent in
    # it: arrival after the window's end
    awk -v a="$t0" -v b="$t1" -v out="$dir/lat-outside.txt" -v late="$dir/after-end.txt" '
        $1 == "d" { if ($4 >= a && $4 <= b) printf "%.3f\n", ($5 - b) / 1000 > late
                    else printf "%.3f\n", ($5 - $4) / 1000 > out }' "$dir/channel.txt"
    : >> "$dir/after-end.txt"
    : >> "$dir/lat-outside.txt"
    local tk ol ae
    tk=$(stats "$dir/tick-late.txt"); ol=$(stats "$dir/lat-outside.txt"); ae=$(stats "$dir/after-end.txt")
    local del exp perr
    del=$(json_field "$dir/channel.json" delivered); exp=$(json_field "$dir/channel.json" expected)
    perr=$(json_field "$dir/channel.json" publish_errors)
    # run cond ticks(p50 p99 max n) outside(p50 p99 max n) after-end(p50 p99 max n) delivered expected pub_errors stall_ms
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$cond" "$tk" "$ol" "$ae" \
        "${del:-0}" "${exp:-0}" "${perr:-?}" "$(( (t1 - t0) / 1000 ))" >> "$STALL_ROWS"
    echo "store-cells: stall run $run $cond: tick lateness p50/p99/max/n $tk; outside the stall p50/p99/max ${ol% *} ms; sent during it, after its end p50/p99/max ${ae% *} ms; delivered ${del:-0}/${exp:-0}"
}

# --- the resync cell ----------------------------------------------------------------
# RESYNC_SUBS (5000) subscribers on as many channels and 500 of
# /streams/ticks, Redis broker; the live Pub/Sub connection is killed 3
# times (CLIENT KILL TYPE pubsub), 4 s apart: after each, every subscriber
# is caught up from its own last id by reads on the store thread while the
# loop goes on. Measured: tick lateness over the run.
RESYNC_SUBS=${RESYNC_SUBS:-5000}
resync_run() {
    local run=$1 dir=$OUT_DIR/resync-$1
    mkdir -p "$dir"
    DATA=$(mktemp -d /tmp/sselight-sd.XXXXXX)
    REDIS_DIR=$(mktemp -d /tmp/sselight-sr.XXXXXX)
    rport=$(free_port)
    redis_server_start "$rport" "$dir/redis.log" --dir "$REDIS_DIR" --appendonly no ||
        { echo "store-cells: redis-server did not start; see $dir/redis.log" >&2; return 1; }
    SSELIGHT_DATA_DIR=$DATA SSELIGHT_BROKER=redis://127.0.0.1:$rport/0 server_start \
        > "$dir/start.log" 2>&1 ||
        { echo "store-cells: lighttpd did not start; see $dir/start.log" >&2; return 1; }
    "$LOAD" --port "$PORT" --sub-path /streams/ticks --pub-path /unused -n 500 -m 0 \
        --drain 22 --timeout 60 --events-out "$dir/ticks.txt" \
        > "$dir/ticks.json" 2> "$dir/ticks.err" &
    local tp=$!
    "$LOAD" --port "$PORT" --sub-path "/events/rs$run" --channels "$RESYNC_SUBS" \
        --pub-path /unused -n "$RESYNC_SUBS" -m 0 --drain 18 --timeout 60 \
        > "$dir/channel.json" 2> "$dir/channel.err" &
    local cp=$! kills=0 k
    if wait_for_line "$dir/channel.err" 'publishing' 30; then
        sleep 2
        for k in 1 2 3; do
            [ "$(redis-cli -p "$rport" CLIENT KILL TYPE pubsub 2>/dev/null)" -ge 1 ] 2>/dev/null &&
                kills=$((kills + 1))
            sleep 4
        done
    fi
    curl -s --max-time 2 "$BASE_URL/stats" > "$dir/stats.json"
    wait "$cp" "$tp"
    server_stop
    redis_stop
    rm -rf "$DATA" "$REDIS_DIR"
    DATA="" REDIS_DIR=""
    awk '{ if ($2 in last) printf "%.3f\n", ($3 - last[$2]) / 1000 - 1000; last[$2] = $3 }' \
        "$dir/ticks.txt" > "$dir/tick-late.txt"
    local tk est errs subs rec
    tk=$(stats "$dir/tick-late.txt")
    est=$(json_field "$dir/channel.json" established); errs=$(json_field "$dir/channel.json" sub_errors)
    subs=$(grep -o '"subscribers":[0-9]*' "$dir/stats.json" | head -n1 | cut -d: -f2)
    rec=$(grep -o '"reconnects":[0-9]*' "$dir/stats.json" | head -n1 | cut -d: -f2)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$tk" "$kills" "${rec:--}" "${est:-0}" \
        "${errs:-?}" "${subs:--}" >> "$RESYNC_ROWS"
    echo "store-cells: resync run $run: tick lateness p50/p99/max/n $tk; $kills kills, reconnects ${rec:--}; $RESYNC_SUBS subscribers: established ${est:-0}, errors ${errs:-?}, open at the end ${subs:--}"
}

# --- the publish throughput cell ------------------------------------------------
tp_run() {
    local run=$1 side=$2 dir=$OUT_DIR/tp-$1-$2 port ch=tp$1$$ pids c0 c1
    mkdir -p "$dir"
    if [ "$side" = nchan ]; then
        nchan_start || return 1
        port=$NCHAN_PORT
        set -- --sub-path "/sub/$ch" --pub-path "/pub/$ch"
        pids=$(descendants "$NGINX_PID")
    else
        DATA=$(mktemp -d /tmp/sselight-sd.XXXXXX)
        unset SSELIGHT_BROKER
        SSELIGHT_DATA_DIR=$DATA SSELIGHT_SYNC=${side#sselight-} server_start > "$dir/start.log" 2>&1 ||
            { echo "store-cells: lighttpd did not start; see $dir/start.log" >&2; return 1; }
        port=$PORT
        set -- --sub-path "/events/$ch" --pub-path "/events/$ch"
        pids=$(descendants "$SERVER_PID")
    fi
    c0=$(cpu_ticks $pids)
    "$LOAD" --port "$port" "$@" -n 10 -m 5000 --publishers 16 --drain 10 --timeout 60 \
        > "$dir/load.json" 2> "$dir/load.err"
    c1=$(cpu_ticks $pids)
    local tx="-" group="-"
    if [ "$side" = nchan ]; then
        nchan_stop
    else
        curl -s --max-time 2 "$BASE_URL/stats" > "$dir/stats.json"
        tx=$(grep -o '"transactions":[0-9]*' "$dir/stats.json" | cut -d: -f2)
        group=$(grep -o '"largest_group":[0-9]*' "$dir/stats.json" | cut -d: -f2)
        server_stop
        rm -rf "$DATA"
        DATA=""
    fi
    local j=$dir/load.json rate p50 p99 pub del exp
    rate=$(json_field "$j" pub_per_s); p50=$(json_field "$j" rtt_p50_ms); p99=$(json_field "$j" rtt_p99_ms)
    pub=$(json_field "$j" published); del=$(json_field "$j" delivered); exp=$(json_field "$j" expected)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$side" "${rate:-0}" "${p50:--}" \
        "${p99:--}" "${pub:-0}" "${del:-0}" "${exp:-0}" "${tx:--}" "${group:--}" "$(cpu_s "$c0" "$c1")" >> "$TP_ROWS"
    echo "store-cells: throughput run $run $side: ${rate:-0} publishes/s, round trip p50 ${p50:--} p99 ${p99:--} ms, $pub published, delivered ${del:-0}/${exp:-0}, transactions ${tx:--}"
}

CELLS=${STORE_CELLS:-stall resync throughput}
# Only the whole set goes to bench/results/.
[ "$CELLS" = "stall resync throughput" ] || MD=$OUT_DIR/store-partial.md
want() { case " $CELLS " in *" $1 "*) return 0 ;; esac; return 1; }
want stall && echo "store-cells: stall cell ($SUBS channel + $SUBS tick subscribers), $RUNS runs"
want stall && for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) = 1 ]; then order="none sqlite-lock none-redis redis-sleep redis-stop"
    else order="redis-stop redis-sleep none-redis sqlite-lock none"; fi
    for cond in $order; do stall_run "$run" "$cond" || exit 1; done
done
want resync && echo "store-cells: resync ($RESYNC_SUBS subscribers on as many channels, 500 tick subscribers), $RUNS runs"
want resync && for run in $(seq 1 "$RUNS"); do resync_run "$run" || exit 1; done
want throughput && echo "store-cells: publish throughput (16 keep-alive publishers, 10 subscribers), $RUNS runs"
want throughput && for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) = 1 ]; then order="sselight-normal sselight-full nchan"
    else order="nchan sselight-full sselight-normal"; fi
    for side in $order; do tp_run "$run" "$side" || exit 1; done
done

# --- results -------------------------------------------------------------------
{
    echo "# make bench: the store cells, $STAMP"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r); $(lighttpd -v 2>&1 | head -n1 | cut -d' ' -f1), the shipped lighttpd.conf; $(redis-server --version | cut -d' ' -f3 | tr -d 'v='), SQLite $(sqlite3 --version | cut -d' ' -f1)."
    echo "Each cell $RUNS times, alternating the order of its sides; every run is shown. Raw files: test-output/store-cells/."
    echo
    echo "## Stall: $SUBS subscribers of /streams/ticks and $SUBS of one channel"
    echo
    echo "A publisher sends 100 messages at 10/s (one POST each, stamped with its send time). 3 s after the first, for 3 s, the stall named in the row. *Tick lateness* is each gap between two ticks of one subscriber minus the 1,000 ms period. *Outside* is the delivery latency of messages sent before or after the stall window; *sent during, after its end* is how long after the stall ended the messages sent during it arrived (they cannot be stored earlier). All in ms; p50 / p99 / max."
    echo
    echo "| run | stall | tick lateness p50 / p99 / max | outside p50 / p99 / max | sent during, after its end p50 / p99 / max | delivered / expected | publishes refused |"
    echo "|---|---|---|---|---|---|---|"
    awk -F'\t' '{ split($3, t, " "); split($4, o, " "); split($5, e, " ")
        printf "| %s | %s | %s / %s / %s | %s / %s / %s | %s |  %s / %s | %s |\n", $1, $2, t[1], t[2], t[3], o[1], o[2], o[3],
            ($2 ~ /^none/ ? "-" : e[1] " / " e[2] " / " e[3]), $6, $7, $8 }' "$STALL_ROWS"
    echo
    echo "Added by the stall, against the baseline of the same run and broker (p99, ms; target < 50):"
    echo
    awk -F'\t' '{ split($3, t, " "); split($4, o, " "); split($5, e, " ")
            key = $1 SUBSEP ($2 ~ /^sqlite|^none$/ ? "sqlite" : "redis")
            if ($2 ~ /^none/) { bt[key] = t[2]; bo[key] = o[2] } else { r[++n] = $0; tk[n] = t[2]; ou[n] = o[2]; ae[n] = e[2]; k[n] = key; nm[n] = $2; rn[n] = $1 } }
        END {
            for (i = 1; i <= n; i++) {
                dt = tk[i] - bt[k[i]]; do_ = ou[i] - bo[k[i]]
                worst = dt; if (do_ > worst) worst = do_; if (ae[i] > worst) worst = ae[i]
                printf "- run %s, %s: ticks %+.1f, messages outside %+.1f, messages sent during it %.1f after its end: %s\n", rn[i], nm[i], dt, do_, ae[i], (worst < 50 ? "under 50" : "over 50")
            }
        }' "$STALL_ROWS"
    echo
    echo "## Resync: $RESYNC_SUBS subscribers on $RESYNC_SUBS channels after a gap (Redis)"
    echo
    echo "500 subscribers of /streams/ticks beside them. The live Pub/Sub connection is killed 3 times, 4 s apart (\`CLIENT KILL TYPE pubsub\`); after each reconnect every subscriber is caught up from its own last id by a read on the store thread. Tick lateness over the whole run, ms (target: the loop is never held for more than 50 ms)."
    echo
    echo "| run | tick lateness p50 / p99 / max | gaps | kills | reconnects (/stats) | subscribers established / errors / open at the end |"
    echo "|---|---|---|---|---|---|"
    awk -F'\t' '{ split($2, t, " "); printf "| %s | %s / %s / %s | %s | %s | %s | %s / %s / %s |\n", $1, t[1], t[2], t[3], t[4], $3, $4, $5, $6, $7 }' "$RESYNC_ROWS"
    echo
    echo "## Publish throughput: 16 keep-alive publishers, 10 subscribers"
    echo
    echo "5,000 POSTs of one event from 16 keep-alive HTTP/1.1 connections, each sending its next POST when the answer to its previous one is complete; 10 subscribers of the channel. nginx + nchan keeps messages in memory only and writes nothing to disk; sselight stores every event in SQLite (\`SSELIGHT_SYNC=normal\`: committed to the WAL, synced at checkpoints; \`full\`: fsync at every commit, grouped). CPU is all server processes (lighttpd + responders, or nginx)."
    echo
    echo "| run | server | publishes/s | round trip p50 / p99 ms | published | delivered / expected | transactions | largest group | CPU s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s / %s | %s | %s / %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$TP_ROWS"
    echo
    awk -F'\t' '{ s[$2] = s[$2] (s[$2] ? ", " : "") int($3 + 0.5); if (!($2 in lo) || $3 < lo[$2]) lo[$2] = $3 }
        END { for (k in s) printf "- %s: %s publishes/s\n", k, s[k] }' "$TP_ROWS" | sort
} > "$MD"
echo "store-cells: wrote $MD"
cat "$MD"
