#!/bin/bash
# make bench-mercure: what the Mercure hub costs against sselight's own
# channels API, same server, same load, same run (loopback only, not part
# of make test).
#
# One sselight (the shipped lighttpd.conf via server_start: one stream
# process, two lighttpd workers) with the hub on. Two sides, each on a
# fresh server:
#   channels: MERCURE_CELL_SUBS (10000) subscribers of /events/CH, publishes
#             POSTed to /events/CH;
#   mercure:  as many subscribers of /.well-known/mercure with a URI
#             Template selector (https://example.com/bench/{id}), publishes
#             as forms with an HS256 JWT in Authorization (build/sse_load
#             --pub-form, --pub-header), every update matched against every
#             subscriber's template.
# Then MERCURE_CELL_RATE (10/s) publishes for MERCURE_CELL_SECONDS (20 s),
# each stamped with its send time. Reported per side: deliveries, latency
# (p50, p99, max), the stream process's CPU seconds over the publishing and
# its RSS with every subscriber connected.
# MERCURE_CELL_RUNS=N (1 to 5, default 3) repeats the pair, swapping which
# side goes first. Writes bench/results/mercure-DATE.md; the raw JSON and
# logs stay in test-output/mercure-cell/.
source "$(dirname "$0")/../tests/lib/harness.sh"
source "$(dirname "$0")/lib.sh"
set -u
LOAD=$ROOT/build/sse_load
SUBS=${MERCURE_CELL_SUBS:-10000}
RATE=${MERCURE_CELL_RATE:-10}
SECS=${MERCURE_CELL_SECONDS:-20}
RUNS=${MERCURE_CELL_RUNS:-3}
MSGS=$(awk -v r="$RATE" -v s="$SECS" 'BEGIN { printf "%d", r * s }')
STAMP=$(date -u +%Y-%m-%d)
TICK=$(getconf CLK_TCK)
KEY='bench-mercure-secret-of-40-bytes-0123456'
TOPIC_SEL='https%3A%2F%2Fexample.com%2Fbench%2F%7Bid%7D'
TOPIC='https%3A%2F%2Fexample.com%2Fbench%2F1'

case "$RUNS" in [1-5]) ;; *) echo "mercure-cell: MERCURE_CELL_RUNS is 1 to 5" >&2; exit 2 ;; esac
[ -x "$LOAD" ] || { echo "mercure-cell: $LOAD is missing (make build/sse_load)" >&2; exit 2; }
BASE_OUT=$OUT_DIR
rm -rf "${BASE_OUT:?}"/*
ROWS=$BASE_OUT/rows.jsonl
: > "$ROWS"
export SSELIGHT_MERCURE_PUBLISHER_JWT_KEY=$KEY
JWT=$(node "$ROOT/tests/lib/jwt-mint.mjs" --key "$KEY" --claims '{"mercure":{"publish":["*"]}}')
secs() { awk -v a="$1" -v b="$2" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }'; }
trap 'server_stop >/dev/null 2>&1; true' EXIT
trap 'exit 130' INT TERM

# run_side SIDE RUN: a fresh server, the load, one JSON line in $ROWS.
run_side() {
    local side=$1 run=$2 stream cpu0 cpu1 rss=0 lp r sub pub extra=()
    OUT_DIR=$BASE_OUT/$side-$run
    mkdir -p "$OUT_DIR"
    server_start || { echo "mercure-cell: the server did not start" >&2; return 1; }
    stream=$(server_procs stream.fcgi | head -n 1)
    if [ "$side" = channels ]; then
        sub=/events/bench pub=/events/bench
    else
        sub="/.well-known/mercure?topic=$TOPIC_SEL" pub=/.well-known/mercure
        extra=(--pub-header "Authorization: Bearer $JWT" --pub-form "topic=$TOPIC&data=")
    fi
    echo "mercure-cell: run $run, $side: $SUBS subscribers, $MSGS messages at $RATE/s (port $PORT)"
    timeout $((SECS + 150)) "$LOAD" --port "$PORT" --sub-path "$sub" --pub-path "$pub" \
        "${extra[@]}" -n "$SUBS" -m "$MSGS" -r "$RATE" --drain 15 --timeout $((SECS + 120)) \
        > "$BASE_OUT/$side-$run.json" 2> "$BASE_OUT/$side-$run.err" &
    lp=$!
    # Publishing starts once every subscriber is in: the CPU from then on.
    for _ in $(seq 1 600); do
        grep -q "est $SUBS/$SUBS" "$BASE_OUT/$side-$run.err" 2>/dev/null && break
        alive "$lp" || break
        sleep 0.1
    done
    rss=$(rss_kb "$stream")
    cpu0=$(cpu_ticks "$stream")
    wait "$lp"
    cpu1=$(cpu_ticks "$stream")
    server_stop || echo "mercure-cell: processes left behind (killed)" >&2
    r=$(cat "$BASE_OUT/$side-$run.json")
    [ -n "$r" ] || r='{}'
    echo "{\"run\":$run,\"side\":\"$side\",\"cpu_s\":$(secs "$cpu0" "$cpu1"),\"rss_kb\":$rss,\"load\":$r}" >> "$ROWS"
    OUT_DIR=$BASE_OUT
}

for run in $(seq 1 "$RUNS"); do
    if [ $((run % 2)) = 1 ]; then order="mercure channels"; else order="channels mercure"; fi
    for side in $order; do run_side "$side" "$run" || exit 1; done
done

# --- the report ---------------------------------------------------------------
mkdir -p "$ROOT/bench/results"
REPORT=$ROOT/bench/results/mercure-$STAMP.md
node - "$ROWS" "$SUBS" "$MSGS" "$RATE" > "$REPORT" <<'EOF'
const fs = require('fs');
const [rowsFile, subs, msgs, rate] = process.argv.slice(2);
const rows = fs.readFileSync(rowsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const out = [];
out.push('# The Mercure hub against the channels API');
out.push('');
out.push(`One sselight (lighttpd.conf: one stream process, two lighttpd workers), ${subs} subscribers,`);
out.push(`${msgs} publishes at ${rate}/s, loopback, written by \`make bench-mercure\` (bench/mercure-cell.sh).`);
out.push('channels: `/events/bench`, raw POSTs. mercure: `/.well-known/mercure?topic=https://example.com/bench/{id}`');
out.push('(a URI Template matched per subscriber), form POSTs with an HS256 JWT. Each run starts a fresh server per side;');
out.push('the order alternates. CPU: the stream process, from the last subscriber in to the end; RSS: with every subscriber in.');
out.push('');
out.push('| run | side | delivered / expected | p50 ms | p99 ms | max ms | stream CPU s | stream RSS MiB |');
out.push('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const l = r.load || {};
  out.push(`| ${r.run} | ${r.side} | ${l.delivered ?? '?'} / ${l.expected ?? '?'} | ${l.p50_ms ?? '?'} | ${l.p99_ms ?? '?'} | ${l.max_ms ?? '?'} | ${r.cpu_s} | ${(r.rss_kb / 1024).toFixed(1)} |`);
}
console.log(out.join('\n'));
EOF
cat "$REPORT"
echo "mercure-cell: wrote $REPORT"
