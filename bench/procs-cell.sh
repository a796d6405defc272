#!/bin/bash
# make bench-procs: sselight with 1 and 2 stream responder processes
# (SSELIGHT_STREAM_PROCS) and 1 and 2 lighttpd workers (SSELIGHT_WORKERS),
# under the same load from build/sse_load (loopback only, bounded):
#   A: 1,000 subscribers of one channel, 3 s of messages at PROCS_RATE/s
#      (default 800, the highest rate make bench's cell 3 tries)
#   B: 10,000 subscribers of one channel, 10 messages at 2/s
# For each: p50 / p99 latency, the rate achieved, CPU seconds per 100,000
# deliveries (lighttpd + responders), and how the streams spread over the
# stream processes and the lighttpd workers (sockets each holds at the
# peak). PROCS_RUNS (1 to 5, default 2) repeats the matrix, reversing its
# order each time. Writes bench/results/procs-DATE.md; raw files stay in
# test-output/procs-cell/.
source "$(dirname "$0")/../tests/lib/harness.sh"
source "$(dirname "$0")/lib.sh"
set -u
LOAD=$ROOT/build/sse_load
RUNS=${PROCS_RUNS:-2}
RATE=${PROCS_RATE:-800}
case "$RATE" in [1-9]|[1-9][0-9]|[1-9][0-9][0-9]|1[0-9][0-9][0-9]|2000) ;;
    *) echo "procs-cell: PROCS_RATE is 1 to 2000" >&2; exit 2 ;; esac
STAMP=$(date -u +%Y-%m-%d)
MD=$ROOT/bench/results/procs-$STAMP.md
TICK=$(getconf CLK_TCK)
case "$RUNS" in [1-5]) ;; *) echo "procs-cell: PROCS_RUNS is 1 to 5" >&2; exit 2 ;; esac
[ -x "$LOAD" ] || { echo "procs-cell: $LOAD is missing (make build/sse_load)" >&2; exit 2; }
rm -rf "${OUT_DIR:?}"/*
ROWS=$OUT_DIR/rows.tsv
: > "$ROWS"
DATA=""
cleanup() { server_stop; rm -rf "${DATA:-/nonexistent}"; }
trap cleanup EXIT

named() { # named NAME: pids under lighttpd whose comm is NAME
    local p
    for p in $(descendants "$SERVER_PID"); do
        [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$1" ] && echo "$p"
    done
}
sockets() { # sockets PID: open sockets of PID
    find /proc/"$1"/fd -lname 'socket:*' 2>/dev/null | wc -l
}

# one RUN CELL PROCS WORKERS N M R
one() {
    local run=$1 cell=$2 procs=$3 workers=$4 n=$5 m=$6 r=$7
    local dir=$OUT_DIR/$run-$cell-p$procs-w$workers
    mkdir -p "$dir"
    DATA=$(mktemp -d /tmp/sselight-pd.XXXXXX)
    SSELIGHT_DATA_DIR=$DATA SSELIGHT_STREAM_PROCS=$procs SSELIGHT_WORKERS=$workers \
        server_start > "$dir/start.log" 2>&1 ||
        { echo "procs-cell: lighttpd did not start; see $dir/start.log" >&2; return 1; }
    # lighttpd starts the responders on the first request for them.
    curl -s -o /dev/null --max-time 2 "$BASE_URL/stats"
    local streams webs all p c0 c1
    streams=$(named stream.fcgi | tr '\n' ' ')
    webs=$(named lighttpd | grep -vx "$SERVER_PID" | tr '\n' ' ')
    [ -n "$webs" ] || webs=$SERVER_PID
    all="$streams $webs"
    declare -A base peak
    for p in $all; do base[$p]=$(sockets "$p"); peak[$p]=${base[$p]}; done
    c0=$(cpu_ticks $all)
    "$LOAD" --port "$PORT" --sub-path /events/pc --pub-path /events/pc -n "$n" -m "$m" -r "$r" \
        --timeout 90 > "$dir/load.json" 2> "$dir/load.err" &
    local lp=$! v
    while kill -0 "$lp" 2>/dev/null; do
        for p in $all; do
            v=$(sockets "$p")
            [ "$v" -gt "${peak[$p]}" ] && peak[$p]=$v
        done
        sleep 0.5
    done
    wait "$lp"
    c1=$(cpu_ticks $all)
    server_stop
    rm -rf "$DATA"
    DATA=""
    local spread_s="" spread_w=""
    for p in $streams; do spread_s="$spread_s$((peak[$p] - base[$p])) "; done
    for p in $webs; do spread_w="$spread_w$((peak[$p] - base[$p])) "; done
    local j=$dir/load.json f
    f() { grep -o "\"$1\":[0-9.]*" "$j" | head -n1 | cut -d: -f2; }
    local del exp p50 p99 pub ps cpu per
    del=$(f delivered); exp=$(f expected); p50=$(f p50_ms); p99=$(f p99_ms)
    pub=$(f published); ps=$(f pub_seconds)
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
    per=$(awk -v c="$cpu" -v d="${del:-0}" 'BEGIN { if (d > 0) printf "%.2f", c * 100000 / d; else print "-" }')
    local rate
    rate=$(awk -v p="${pub:-0}" -v s="${ps:-0}" 'BEGIN { if (s > 0) printf "%.0f", (p - 1) / s; else print "-" }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$cell" "$procs" \
        "$workers" "$n" "$r" "$rate" "${del:-0}" "${exp:-0}" "${p50:--}" "${p99:--}" "$cpu" "$per" \
        "${spread_s% }" "${spread_w% }" >> "$ROWS"
    echo "procs-cell: run $run cell $cell procs $procs workers $workers: delivered ${del:-0}/${exp:-0} p50 ${p50:--} p99 ${p99:--} ms, $rate/s, CPU $cpu s ($per per 100k), streams per responder [${spread_s% }], sockets per worker [${spread_w% }]"
}

configs="1 1|1 2|2 1|2 2"
for run in $(seq 1 "$RUNS"); do
    list=$configs
    [ $((run % 2)) = 0 ] && list="2 2|2 1|1 2|1 1"
    IFS='|' read -r -a cfgs <<< "$list"
    for cfg in "${cfgs[@]}"; do
        set -- $cfg
        one "$run" A "$1" "$2" 1000 $((RATE * 3)) "$RATE" || exit 1
        one "$run" B "$1" "$2" 10000 10 2 || exit 1
    done
done

{
    echo "# make bench-procs, $STAMP"
    echo
    echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r); $(lighttpd -v 2>&1 | head -n1 | cut -d' ' -f1), the shipped lighttpd.conf with SSELIGHT_STREAM_PROCS and SSELIGHT_WORKERS set per row."
    echo "Cell A: 1,000 subscribers, $((RATE * 3)) messages at $RATE/s. Cell B: 10,000 subscribers, 10 messages at 2/s. One POST per message (build/sse_load). $RUNS runs of the matrix, the order reversed each run; every run is shown."
    echo "CPU: lighttpd (all workers) + stream responders, user + system. Spread: sockets each process held at the peak beyond its start (a stream is one socket in its responder, and two in a lighttpd worker: the client's and the responder's)."
    echo
    echo "| run | cell | stream procs | lighttpd workers | N | rate offered / achieved | delivered / expected | p50 ms | p99 ms | CPU s | CPU s per 100,000 deliveries | streams per responder | sockets per worker |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 }' "$ROWS"
} > "$MD"
echo "procs-cell: wrote $MD"
cat "$MD"
